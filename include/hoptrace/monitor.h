/*
 * hoptrace monitor: rounds of probes to one target, for the live view and
 * the reports (an mtr / trippy replacement that says what its numbers
 * mean). Built on the engine (hoptrace.h): every round is one engine trace
 * per flow identity; the monitor owns the schedule of rounds and the
 * statistics. No sockets, no printing, time as an argument.
 *
 * Round schedule:
 *  - round r starts when it is due and round r-1 is over (every flow's
 *    trace has ended); it is due one interval after round r-1 started. So
 *    rounds of a flow never overlap, two rounds never start less than an
 *    interval apart, and a round that runs long pushes the next one back
 *    (the front end calls ht_monitor_tick after engine events too);
 *  - round 1 is a one-shot trace (all TTLs at once, up to max_ttl; it may
 *    send probes past the destination, as a one-shot trace does, and keeps
 *    --recheck's second looks: it learns the path);
 *  - from round 2 on, the path length is known: flow f probes first_ttl ..
 *    D_f, D_f the TTL at which the destination answered (or an unreachable
 *    stopped the trace) in the latest round that told; else the highest TTL
 *    that ever answered + gap_limit (first_ttl - 1 + gap_limit if none);
 *    never beyond max_ttl. When TTL D_f answers time exceeded, the path got
 *    longer: D_f is forgotten and the second rule applies. Such a round
 *    sends exactly (D_f - first_ttl + 1) * nqueries probes: no second looks
 *    (recheck_us 0), no distance probe, no gap-limit stop;
 *  - a round's probes (rounds >= 2) leave hop-major, evenly spaced over the
 *    first half of the interval (send_gap_us = interval / (2 n), n probes
 *    in the flow's round); each is waited for at most max(interval / 2,
 *    2 x the largest mean RTT of any hop, wait_min_us), never beyond
 *    wait_max_us: on a path that answers within half an interval every
 *    round is settled before the next is due. A router answers only its
 *    own TTL, so it sees nqueries * flows probes per interval: with the
 *    defaults (1 probe per hop, 1 flow, 1 s) Linux's ICMP limit (a burst of
 *    6, then 1 per second per source) is never what the view measures. When
 *    nqueries * flows * 1 s > interval (more than 1 probe per second at a
 *    router), ht_monitor_rate_limit_warning() says so;
 *  - every flow keeps its identity (its I/O context: source port, echo id)
 *    for the whole run, so per-flow statistics follow one load-balanced
 *    branch. Each round's traces number their probes from a base of their
 *    own (struct ht_config.seq_base: (round - 1) x span, cycling through the
 *    16-bit space; span = 2 n + 1 of round 1 rounded up to a multiple of
 *    nqueries), so a late reply to one round is never taken for another's.
 *    A new round runs as a new engine trace: HT_MON_EV_TRACE_START (and
 *    ht_monitor_flow_trace) tell the front end which trace the flow's
 *    replies now go to (ht_io_trace_bind).
 *
 * Statistics, per hop (TTL), per address seen at that hop (one row each,
 * never blended) and, with flows > 1, per flow: sent, received, loss,
 * last / best / worst / mean RTT, standard deviation, jitter (mean absolute
 * difference of consecutive RTTs, RFC 3550 style), and a history of the
 * last HT_MON_HISTORY rounds. They are taken when a hop is final (its
 * HOP_DONE event): sent counts probes that were answered or timed out, a
 * probe in flight is not yet lost; a second look's unanswered first probe
 * counts as one more probe sent and lost. Probes past the destination
 * (round 1) count in ht_monitor_probes_sent/_round only.
 *
 * Loss attribution, per hop, after every round, from 95 % Wilson score
 * intervals of the loss ([lo, hi] for this hop's k lost of n, L = k / n;
 * [lo', hi'] for each later hop that answered at least once):
 *  - k = 0: NONE, confidence 1 - hi;
 *  - no later hop answered: LAST_HOP, confidence lo / L;
 *  - n < 5: UNKNOWN, confidence 0;
 *  - min hi' < lo (some later hop loses significantly less): REPLY_ONLY
 *    (ICMP rate limiting, control-plane policy), confidence
 *    (lo - min hi') / L;
 *  - else min lo' > 0 (every later hop loses too, not significantly less):
 *    FORWARDING, confidence min(1, min lo' / L);
 *  - else UNKNOWN, 0.
 * Confidences are in 0..1 and grow with the samples.
 *
 * Path changes: a hop whose address set had been stable (no new address)
 * for 3 rounds answers from an address that did not answer during that
 * stretch (or ever): the change is recorded with the round, the round's
 * start time, the address that came and one that answered in the hop's
 * previous answering round but not now (gone, family 0 if none).
 *
 * Reset forgets every statistic (rows, counts, history, changes, probe
 * counts); the path learnt (D_f, the last responders) and the round
 * numbering stay.
 */
#ifndef HOPTRACE_MONITOR_H
#define HOPTRACE_MONITOR_H

#include "hoptrace/hoptrace.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HT_MON_HISTORY 256   /* rounds of history kept per hop and address */
#define HT_MON_MAX_FLOWS 16  /* --flows */
#define HT_MON_MAX_ADDRS 16  /* addresses kept per hop (and per flow at a hop) */

struct ht_monitor_config {
	struct ht_config trace; /* target, method, ports, first/max TTL; nqueries:
	                         * probes per hop per round (default 1) */
	uint64_t interval_us;   /* a round every interval (-i; default 1 s) */
	int flows;              /* flow identities probed each round (default 1) */
	uint32_t rounds;        /* stop after this many rounds (-c); 0: until stopped */
};

void ht_monitor_config_defaults(struct ht_monitor_config *c);

/* How a round's trace is sent: the front end opens one I/O context per
 * flow (a flow identity that stays for the whole run) and gives it here. */
struct ht_monitor_io {
	const struct ht_io_ops *ops;
	void *ctx[HT_MON_MAX_FLOWS];
};

enum ht_mon_loss_cause {
	HT_MON_CAUSE_NONE = 0,      /* no loss at this hop */
	HT_MON_CAUSE_UNKNOWN,       /* loss, too few samples to tell */
	HT_MON_CAUSE_FORWARDING,    /* the loss persists at every later hop */
	HT_MON_CAUSE_REPLY_ONLY,    /* later hops lose less: rate limiting / policy */
	HT_MON_CAUSE_LAST_HOP,      /* loss at the last hop seen: nothing later to compare */
};

/* RTT statistics of a set of replies (microseconds). */
struct ht_mon_rtt {
	uint32_t count;
	uint32_t last_us, best_us, worst_us;
	double mean_us;
	double m2;              /* sum of squared deviations (Welford) */
	double jitter_us;       /* mean |rtt_i - rtt_i-1| */
	uint32_t prev_us;
};
double ht_mon_rtt_stdev_us(const struct ht_mon_rtt *r);

/* One address at one hop (all flows together, or one flow). */
struct ht_mon_addr {
	ht_addr addr;
	uint32_t received;        /* replies from this address */
	struct ht_mon_rtt rtt;
	uint64_t first_round, last_round;
	uint64_t prev_round;      /* the round it answered before last_round, 0 none */
	bool reached;             /* it is the destination (answered as such) */
	struct ht_reply last;     /* the last reply (annotations, MPLS, interface) */
	/* History: per round, the RTT in us, or 0 no reply from this address
	 * in that round (the ring is indexed by round % HT_MON_HISTORY). */
	uint32_t hist[HT_MON_HISTORY];
};

struct ht_mon_path_change {
	uint64_t round;
	uint64_t at_us;           /* monotonic time of the round that showed it */
	int ttl;
	ht_addr gone, came;       /* family 0: none */
};

/* One hop (TTL): all flows together, and per flow. */
struct ht_mon_hop {
	int ttl;
	uint32_t sent, received;  /* probes sent to this TTL, replies */
	uint32_t rate_limited;    /* timeouts marked rate limited by the session */
	int naddrs;
	struct ht_mon_addr addrs[HT_MON_MAX_ADDRS];
	struct {
		uint32_t sent, received;
		int naddrs;
		struct ht_mon_addr addrs[HT_MON_MAX_ADDRS];
	} flow[HT_MON_MAX_FLOWS];
	/* Loss history per round: bit set = at least one probe of the round
	 * to this TTL went unanswered (ring by round % HT_MON_HISTORY). */
	uint8_t lost_hist[HT_MON_HISTORY];
	enum ht_mon_loss_cause cause;
	double cause_confidence;  /* 0..1 */
	bool changed;             /* its address set changed during the run */
};

typedef struct ht_monitor ht_monitor;

/* Events the monitor reports (besides the engine's): a round started or
 * finished, a path change. For --jsonl streams and screens to refresh. */
enum ht_mon_event_type {
	HT_MON_EV_ROUND_START = 1,
	HT_MON_EV_PROBE,           /* one probe of a round is done (ev->probe) */
	HT_MON_EV_ROUND_DONE,
	HT_MON_EV_PATH_CHANGE,
	HT_MON_EV_TRACE_START,     /* flow ev->flow's round runs as engine trace ev->trace:
	                            * the front end binds io->ctx[flow] to it
	                            * (ht_io_trace_bind) before its next engine tick */
};
struct ht_mon_event {
	enum ht_mon_event_type type;
	uint64_t round;
	int flow;                  /* -1 for events of the whole round */
	uint32_t trace;            /* HT_MON_EV_TRACE_START, HT_MON_EV_PROBE */
	uint64_t at_us;
	const struct ht_probe *probe;          /* HT_MON_EV_PROBE */
	const struct ht_mon_path_change *change; /* HT_MON_EV_PATH_CHANGE */
};
typedef void (*ht_mon_event_cb)(void *user, const struct ht_mon_event *ev);

/* A monitor on engine e (its budget paces the probes). */
int ht_monitor_new(ht_monitor **out, const struct ht_monitor_config *c, ht_engine *e,
                   const struct ht_monitor_io *io, ht_mon_event_cb cb, void *cb_user);
/* Stops the traces it runs on e: free the monitor before the engine. */
void ht_monitor_free(ht_monitor *m);
/* Feed every engine event to the monitor (the front end's engine callback
 * calls this for traces the monitor started). Returns true if it was one. */
bool ht_monitor_on_engine_event(ht_monitor *m, const struct ht_event *ev);
/* Start rounds that are due at now; returns the next time a round is due
 * (UINT64_MAX when the last round has started, while paused, or while a
 * due round waits for the previous one to end: call it again after every
 * engine tick or input; it is O(1) when nothing is due). Negative errno
 * from starting a trace is kept in ht_monitor_error(). */
uint64_t ht_monitor_tick(ht_monitor *m, uint64_t now_us);
int ht_monitor_error(const ht_monitor *m);
/* The engine trace flow `flow` runs now (0: none): replies to that flow's
 * I/O context go to this trace (see HT_MON_EV_TRACE_START). */
uint32_t ht_monitor_flow_trace(const ht_monitor *m, int flow);
/* No round running and no more to start (-c N reached). */
bool ht_monitor_done(const ht_monitor *m);
void ht_monitor_pause(ht_monitor *m, bool paused);
bool ht_monitor_paused(const ht_monitor *m);
/* Forget every statistic (the 'r' key); the path learnt stays. */
void ht_monitor_reset(ht_monitor *m);

/* Results, valid until the next tick or engine event. */
uint64_t ht_monitor_rounds_done(const ht_monitor *m);
int ht_monitor_first_ttl(const ht_monitor *m);
int ht_monitor_last_ttl(const ht_monitor *m);   /* highest TTL shown */
int ht_monitor_dest_ttl(const ht_monitor *m);   /* the destination's TTL, 0 unknown */
const struct ht_mon_hop *ht_monitor_hop(const ht_monitor *m, int ttl);
int ht_monitor_changes(const ht_monitor *m, const struct ht_mon_path_change **out);
uint32_t ht_monitor_probes_sent(const ht_monitor *m);          /* all rounds */
uint32_t ht_monitor_probes_round(const ht_monitor *m, uint64_t round); /* one round (kept for
                                                               * the last HT_MON_HISTORY) */
/* Non-NULL when the schedule asks more of a router than common ICMP
 * limits allow (then loss figures include rate limiting): a one-line text. */
const char *ht_monitor_rate_limit_warning(const ht_monitor *m);
const struct ht_monitor_config *ht_monitor_config(const ht_monitor *m);

#ifdef __cplusplus
}
#endif
#endif
