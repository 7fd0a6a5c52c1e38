/*
 * Reports of a monitor run (-c N --report, --report-format): the numbers
 * the live view shows, as a table like `mtr --report` (text), one JSON
 * document, or CSV rows. Read only through monitor.h's accessors.
 *
 * Text: one row per hop and address (a hop where two addresses answered
 * has two rows; the hop's loss, sent count and cause are on its first),
 * then the path changes, the rate-limit warning when the schedule asks
 * more of a router than common ICMP limits allow, and with --flows a
 * table per flow. Loss% is the hop's (a lost probe does not say which
 * address would have answered); Rcv and the RTT columns are the
 * address's own. Cause: "fwd" the loss persists at every later hop
 * (forwarding loss), "reply" later hops lose less (the router drops or
 * rate-limits its own replies; forwarding is fine), "?" too few samples,
 * "last" nothing later to compare, with the confidence in percent.
 */
#ifndef HT_SRC_REPORT_H
#define HT_SRC_REPORT_H

#include "hoptrace/monitor.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum ht_report_format {
	HT_REPORT_TEXT = 0,
	HT_REPORT_JSON,
	HT_REPORT_CSV,
};

struct ht_report_opts {
	enum ht_report_format format;
	bool wide;                 /* text: names in full */
	bool numeric;              /* -n: addresses only */
	bool extensions;           /* -e: MPLS labels, interface names */
	const char *target;        /* as typed */
	/* The (sanitised) name of a, or NULL. */
	const char *(*name)(void *u, const ht_addr *a);
	void *name_u;
	const char *start_utc;     /* wall-clock start, ISO 8601 */
	uint64_t start_us;         /* monotonic start: path changes' times are
	                            * printed as seconds after it (0: not) */
	/* --hop-ping: echo requests sent straight to a hop's address, and the
	 * replies (with their mean RTT in us); false when it was not pinged. */
	bool (*ping)(void *u, const ht_addr *a, uint32_t *sent, uint32_t *received,
	             double *mean_us);
	void *ping_u;
};

/* Write the report of m to f. Returns 0 or -EIO. */
int ht_report_write(FILE *f, const ht_monitor *m, const struct ht_report_opts *o);

/* Short cause text for a hop ("fwd", "reply", "?", "last", "-"). */
const char *ht_report_cause(enum ht_mon_loss_cause c);

#endif
