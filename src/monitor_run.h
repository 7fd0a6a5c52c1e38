/*
 * hoptrace --live / --report / -c: the monitor (include/hoptrace/monitor.h)
 * on the engine and the mux, with its outputs: the live view (live.h), a
 * report at the end (report.h) or, with --jsonl, one timestamped event per
 * line. Every flow is one traced flow identity (a source port or echo id)
 * kept for the whole run; the monitor starts a new engine trace per flow
 * each round and the flow's I/O is bound to it.
 */
#ifndef HT_SRC_MONITOR_RUN_H
#define HT_SRC_MONITOR_RUN_H

#include "dns.h"
#include "options.h"

#include "io/io.h"

struct ht_monrun;

struct ht_monrun_args {
	const struct ht_opts *o;  /* options (o->cfg with dst and family set) */
	ht_io *io;                /* the target's family's sockets */
	const char *host;         /* as typed */
};

/* Before the sandbox: what needs the terminal (the live view: terminfo,
 * terminal modes, signal handlers). 0, or -errno with one line in err. */
int ht_monrun_prepare(struct ht_monrun **out, const struct ht_monrun_args *a, char *err,
                      size_t errlen);
/* After it: the rounds, then the report. dns may be NULL (-n). Returns
 * the exit status: 0, 1 (probing failed), or 128 + a signal that ended a
 * live view. */
int ht_monrun_run(struct ht_monrun *r, ht_dns *dns);
void ht_monrun_free(struct ht_monrun *r);

#endif
