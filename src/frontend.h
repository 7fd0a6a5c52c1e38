/*
 * Front ends: what turns a trace's events into output. One entry per
 * output format (text, json, jsonl) in ht_frontends[]; the program picks
 * one by name and drives it:
 *
 *   open() once, then per trace begin(), event() for each session event,
 *   end() once the trace (and its session) is over, and close() at exit.
 *
 * Every per-trace call carries the trace's id (any uint32_t the caller
 * picks, unique among the traces in flight), so a front end can keep
 * several traces apart when they run at once. A single trace is written
 * as its events come. In a batch (ctx.batch) traces run at once: each
 * one's output is kept in memory and written whole, and flushed, once the
 * trace ends (so traces never interleave, and a run that is killed loses
 * only the traces not written yet): --jsonl the moment it ends (each line
 * carries the trace's id), text and --json in the order the traces began,
 * which is the list's. Names are those known by the end (no wait: the
 * other traces are still being timed).
 */
#ifndef HT_SRC_FRONTEND_H
#define HT_SRC_FRONTEND_H

#include "dns.h"
#include "hoptrace/hoptrace.h"
#include "io/io.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What every trace shares: where to write and how. */
struct ht_fe_ctx {
	FILE *out;
	ht_dns *dns;     /* reverse names, or NULL (-n, or no resolver) */
	bool numeric;    /* -n */
	bool extensions; /* -e */
	bool batch;      /* --batch: many traces at once, each written when it ends */
};

/* One trace about to start. */
struct ht_fe_trace {
	const char *host;             /* the target as given */
	const struct ht_config *cfg;  /* what its session runs with (dst set) */
	const struct ht_flow *flow;   /* source address and ports in use */
};

struct ht_frontend {
	const char *name;
	/* Returns 0 and the front end's state in *fe, or a negative errno. */
	int (*open)(void **fe, const struct ht_fe_ctx *ctx);
	/* Start trace id (before its session exists). Returns 0, or a negative
	 * errno with a one-line message in err; end() is then not called. */
	int (*begin)(void *fe, uint32_t trace_id, const struct ht_fe_trace *t, char *err,
	             size_t errlen);
	void (*event)(void *fe, uint32_t trace_id, const struct ht_event *ev);
	/*
	 * Finish trace id. s is its session after the run (NULL when it never
	 * started: the trace is then closed as it is), st its statistics (or
	 * NULL). Returns 0, or a negative errno when writing failed.
	 */
	int (*end)(void *fe, uint32_t trace_id, const ht_session *s,
	           const struct ht_session_stats *st);
	void (*close)(void *fe);
	/* Batch: traces that ended but wait to be written (text and --json
	 * keep the list's order: a trace waits for those begun before it). */
	size_t (*held)(void *fe);
};

/* The table, ended by an entry with a NULL name. */
extern const struct ht_frontend ht_frontends[];

/* The entry called name ("text", "json", "jsonl"), or NULL. */
const struct ht_frontend *ht_frontend_find(const char *name);

#endif
