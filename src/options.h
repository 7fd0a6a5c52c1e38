/* Command line of the hoptrace program. */
#ifndef HT_OPTIONS_H
#define HT_OPTIONS_H

#include "hoptrace/hoptrace.h"
#include "io/io.h"

#include <stdbool.h>
#include <stddef.h>

#define HT_PARALLEL_DEFAULT 64
#define HT_PARALLEL_MAX 4096

struct ht_opts {
	struct ht_config cfg;
	const char *host;      /* the target as typed (NULL with --batch) */
	const char *batch;     /* --batch FILE ("-": standard input) */
	int parallel;          /* --parallel N: traces of a batch in flight (default 64) */
	const char *resume;    /* --resume FILE: a --jsonl result file (with --batch --jsonl) */
	bool no_distance;      /* --no-distance: a batch trace does not learn its distance first */
	bool no_stopset;       /* --no-stopset: nor stops at hops other traces saw (Doubletree) */
	bool no_predict;       /* --no-predict: nor sends its distance probe at its neighbours'
	                        *   distance (FlashRoute) */
	int family_forced;     /* AF_INET / AF_INET6 from -4/-6, else 0 */
	bool port_given;
	bool pps_given;        /* --pps was on the command line */
	bool window_given;     /* -N was on the command line */
	bool numeric;          /* -n */
	bool extensions;       /* -e: show MPLS and interface extensions */
	bool json;             /* --json */
	bool jsonl;            /* --jsonl */
	bool stats;            /* --stats: probe counts to stderr at the end */
	bool no_sandbox;       /* --no-sandbox */
	bool debug_status;     /* --debug-status: print /proc/self/status after setup */
	struct ht_io_opts io;
	const char *src_text;  /* -s as typed */

	/* The monitor (--live, --report, -c): rounds of probes, statistics. */
	bool monitor;          /* one of --live, --report, -c was given */
	bool live;             /* --live: the ncurses view */
	bool report;           /* --report (also the default output of -c N) */
	bool report_wide;      /* --report-wide: names in full */
	const char *report_format; /* --report-format text|json|csv (default text) */
	uint32_t count;        /* -c N: rounds (0: until stopped; --report default 10) */
	uint64_t interval_us;  /* -i / --interval with a monitor (default 1 s) */
	bool interval_given;
	int flows;             /* --flows N (default 1) */
	bool hop_ping;         /* --hop-ping: also ping each router's address every round */
	bool nqueries_given;   /* -q was given (a monitor defaults to 1 per round) */
};

enum {
	HT_OPTS_RUN = 0,
	HT_OPTS_EXIT_OK = 1, /* --help or --version was printed */
};

/*
 * Parse argv. Returns HT_OPTS_RUN, HT_OPTS_EXIT_OK, or a negative errno
 * with a one-line message (no trailing newline) in err.
 */
int ht_opts_parse(struct ht_opts *o, int argc, char **argv, char *err, size_t errlen);

/*
 * Limits for a user other than root running a privileged install (setuid
 * or file capabilities), in the spirit of ping's limits for non-root users:
 * at most HT_USER_MAX_PPS probes per second and HT_USER_MAX_WINDOW in
 * flight. Asking for more (or for --pps 0, no limit) is refused; the
 * defaults are lowered to fit. Returns 0, or -EPERM with a one-line
 * message in err.
 */
#define HT_USER_MAX_PPS 1000
#define HT_USER_MAX_WINDOW 300
int ht_opts_user_limits(struct ht_opts *o, char *err, size_t errlen);
/* The shortest round interval for a user other than root (as mtr). */
#define HT_USER_MIN_INTERVAL_US 1000000u
/* A monitor's interval, checked for a non-root user: 0 or -EPERM. */
int ht_opts_monitor_limits(struct ht_opts *o, bool root, char *err, size_t errlen);

/* Parse a decimal integer in [min, max], the whole string. */
int ht_parse_int(const char *s, long min, long max, long *out);
/* Parse a non-negative decimal number in [min, max]. */
int ht_parse_double(const char *s, double min, double max, double *out);

#endif
