/*
 * JSON output of a trace, written directly (byte for byte what jansson
 * would dump: see json_out.c). Two modes:
 *
 *  HT_JSON_DOCUMENT (--json): one JSON document per trace, written by
 *      ht_json_end() after the trace (and the wait for names) is over.
 *  HT_JSON_LINES (--jsonl): one compact JSON object per line, written and
 *      flushed as each event happens: trace_start, probe_sent,
 *      probe_done, hop_done, name, trace_done.
 *
 * Every field is documented in docs/json-schema.md and checked by
 * docs/hoptrace.schema.json; keep the three in sync.
 *
 * Usage: ht_json_begin() before the session; give ht_json_event_cb and
 * the context to ht_session_new(); with DNS, give ht_json_name_cb to
 * ht_dns_on_done() and ht_dns_name_cb (dns.h) as the lookup; after the
 * trace, wait for names, then ht_json_end() with the session's stats.
 */
#ifndef HT_SRC_JSON_OUT_H
#define HT_SRC_JSON_OUT_H

#include "hoptrace/hoptrace.h"
#include "proto/proto.h"

#include <stdbool.h>
#include <stdio.h>

/* Bumped when a field changes meaning or goes away (adding is free). */
#define HT_JSON_SCHEMA_VERSION 1

enum ht_json_mode {
	HT_JSON_DOCUMENT = 0,
	HT_JSON_LINES,
};

/* Returns the (already sanitised) name of a, or NULL if none is known. */
typedef const char *(*ht_json_name_fn)(void *u, const ht_addr *a);

struct ht_json_opts {
	enum ht_json_mode mode;
	bool pretty;             /* document mode: indent by 2 (else compact) */
	ht_json_name_fn name_fn; /* NULL: no names (-n) */
	void *name_u;
	const struct ht_flow *flow; /* optional: source address and ports in use */
	/* A batch (--batch): the trace's id, written as "trace" on every line
	 * (and in the document), the wall-clock start as "start" (UTC, ISO
	 * 8601 with milliseconds) on trace_start and the document, and the
	 * target again on trace_done, so that each trace's lines can be told
	 * apart and a finished trace recognised (--resume). 0: none. */
	uint32_t trace_id;
};

struct ht_json;

/*
 * Start the output for one trace to f. cfg is what the session runs with;
 * target_name is what the user typed (sanitised here). In lines mode the
 * trace_start line is written at once. Returns 0 or a negative errno.
 */
int ht_json_begin(struct ht_json **out, FILE *f, const struct ht_json_opts *o,
                  const struct ht_config *cfg, const char *target_name);
/* Feed one session event. */
void ht_json_on_event(struct ht_json *j, const struct ht_event *ev);
/* Same, with the signature of ht_event_cb (user is the struct ht_json). */
void ht_json_event_cb(void *user, const struct ht_event *ev);
/* A reverse lookup finished (name NULL: failed). Lines mode writes a
 * "name" event for successes; document mode ignores it (it asks name_fn
 * at the end). Signature of ht_dns_done_fn. */
void ht_json_name_cb(void *user, const ht_addr *a, const char *name);
/*
 * Finish: document mode writes the whole document, lines mode the
 * trace_done line. st may be NULL (no "stats"). Frees j. Returns 0, or
 * -EIO if writing failed.
 */
int ht_json_end(struct ht_json *j, const struct ht_session_stats *st);

/* The wall-clock time now, UTC, ISO 8601 with milliseconds
 * ("2026-11-29T14:00:00.123Z"); len at least 25. */
void ht_utc_iso(char *buf, size_t len);

/* Names used in the output (exposed for the text printer and tests). */
const char *ht_json_method_name(enum ht_method m);
const char *ht_json_kind_name(enum ht_reply_kind k);
const char *ht_json_state_name(enum ht_probe_state s);
const char *ht_json_stop_name(enum ht_stop_reason r);

#endif
