/*
 * hoptrace public API.
 *
 * The core never prints and never opens a socket. A front end fills a
 * struct ht_config, creates a session with an I/O table (how to send one
 * probe) and an event callback, then feeds the session the clock and the
 * replies it receives. Every front end (text, JSON, JSON lines, batch)
 * consumes the same event stream.
 *
 * Time is always a monotonic clock in microseconds (CLOCK_MONOTONIC);
 * the I/O layer converts kernel receive timestamps to that clock.
 * Functions return 0 or a negative errno-style code.
 */
#ifndef HOPTRACE_HOPTRACE_H
#define HOPTRACE_HOPTRACE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HT_VERSION "0.1.0"

#define HT_MAX_TTL 255
#define HT_MAX_QUERIES 10
#define HT_MAX_MPLS 8
#define HT_DEFAULT_UDP_PORT 33434
#define HT_DEFAULT_TCP_PORT 80

/* An IPv4 or IPv6 address; family 0 means "none". */
typedef struct ht_addr {
	int family; /* AF_INET, AF_INET6 or 0 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} u;
} ht_addr;

enum ht_method {
	HT_METHOD_UDP = 0,
	HT_METHOD_ICMP,
	HT_METHOD_TCP,
};

/* What the user asked for. ht_config_defaults() fills every field. */
struct ht_config {
	int family;            /* AF_INET or AF_INET6 (must match dst) */
	enum ht_method method;
	ht_addr dst;
	ht_addr src;           /* family 0: the kernel chooses */
	uint16_t port;         /* destination port; 0: method default */
	uint16_t sport;        /* source port; 0: chosen by the I/O layer */
	int first_ttl;         /* -f, default 1 */
	int max_ttl;           /* -m, default 30 */
	int nqueries;          /* -q, default 3 */
	int window;            /* -N, probes in flight; default max_ttl*nqueries */
	int gap_limit;         /* silent hops past the last responder; default 5 */
	uint32_t pps;          /* global packets/s cap; 0 = unlimited */
	uint32_t send_gap_us;  /* -z, minimum gap between two probes */
	uint32_t wait_max_us;  /* -w MAX: hard maximum wait for a reply */
	double wait_here;      /* -w ,HERE: multiple of this hop's RTT */
	double wait_near;      /* -w ,,NEAR: multiple of farther hops' RTT */
	uint32_t wait_min_us;  /* floor for the HERE/NEAR adaptive waits */
	double wait_far;       /* hops past the farthest responder: multiple of the */
	uint32_t wait_far_us;  /*   largest RTT seen, plus this, */
	uint32_t wait_far_min_us; /*   and never less than this (a satellite hop) */
	uint32_t wait_slow_us; /* --slow: a silent hop is waited for this much longer
	                        *   than farther hops took (a slow control plane) */
	uint32_t recheck_us;   /* --recheck: a silent hop that may be ICMP rate limited
	                        *   gets one more probe this long after its first
	                        *   (a limiter's refill period); 0: never */
	int tos;               /* -t, IPv4 TOS / IPv6 traffic class */
	bool dont_fragment;    /* -F */
	bool classic;          /* --classic: vary ports per probe */
	size_t packet_len;     /* total IP packet length; 0: method default */
	uint16_t seq_base;     /* wire sequence number of probe index 0 (modulo 2^16;
	                        *   second looks and the distance probe keep their
	                        *   offsets from it); default 0. The monitor moves it
	                        *   on from round to round, so a late reply to one
	                        *   round is never taken for another's */
	/*
	 * Probe economy, for batch traces (all off by default: a single trace
	 * sends every TTL at once and finishes in one round trip). See
	 * docs/design.md, "Probe economy (batch)".
	 */
	bool no_overshoot;     /* never send a TTL that may be past the destination:
	                        *   TTL t+1 leaves once TTL t answered time exceeded
	                        *   (or stayed silent for its whole wait: a guess,
	                        *   counted in probes_unproven) */
	bool learn_distance;   /* first one probe at max_ttl (or at the distance
	                        *   predicted from neighbours: ht_session_set_distmap);
	                        *   the destination's reply TTL gives its distance d
	                        *   (initial TTL 64, 128 or 255), and TTLs up to d
	                        *   count as safe */
	bool use_stopset;      /* Doubletree: start at d (or HT_STOPSET_START_TTL),
	                        *   go backward one TTL at a time and stop below the
	                        *   first hop already in the stop set (needs
	                        *   ht_session_set_stopset / ht_engine_set_stopset) */
};

/* use_stopset without a distance estimate starts the trace here (clamped to
 * [first_ttl, max_ttl]); with no_overshoot it starts at first_ttl instead,
 * the only TTL known not to be past the destination. */
#define HT_STOPSET_START_TTL 8

void ht_config_defaults(struct ht_config *cfg);
/* Check ranges and consistency; on error returns -EINVAL and, when msg is
 * not NULL, points it at a static one-line explanation. */
int ht_config_validate(const struct ht_config *cfg, const char **msg);

/* Annotation of one reply, as classic traceroute prints it. */
enum ht_annot {
	HT_ANN_NONE = 0,  /* time exceeded, or reached (port unreach / echo reply / SYN-ACK / RST) */
	HT_ANN_HOST,      /* !H host unreachable */
	HT_ANN_NET,       /* !N network unreachable */
	HT_ANN_PROTO,     /* !P protocol unreachable */
	HT_ANN_SRCROUTE,  /* !S source route failed */
	HT_ANN_FRAG,      /* !F-<mtu> fragmentation needed / packet too big */
	HT_ANN_ADMIN,     /* !X communication administratively prohibited */
	HT_ANN_HOSTPREC,  /* !V host precedence violation */
	HT_ANN_PRECCUT,   /* !C precedence cutoff */
	HT_ANN_OTHER,     /* !<code> any other unreachable code */
	HT_ANN_TYPE,      /* !<type-code> any other ICMP error (parameter problem ...) */
};

enum ht_reply_kind {
	HT_REPLY_NONE = 0,
	HT_REPLY_TIME_EXCEEDED, /* ICMP time exceeded in transit */
	HT_REPLY_UNREACH,       /* destination unreachable other than port (see annot) */
	HT_REPLY_PORT_UNREACH,  /* port unreachable: the UDP probe reached its host */
	HT_REPLY_PTB,           /* frag needed (v4) / packet too big (v6); mtu set */
	HT_REPLY_ECHO_REPLY,    /* ICMP echo reply */
	HT_REPLY_TCP_SYNACK,
	HT_REPLY_TCP_RST,
	HT_REPLY_UDP_REPLY,     /* a UDP service at the destination answered */
	HT_REPLY_PARAM_PROBLEM,
	HT_REPLY_OTHER,
};

struct ht_mpls {
	uint32_t label; /* 20 bits */
	uint8_t tc;     /* 3 bits */
	uint8_t s;      /* bottom of stack */
	uint8_t ttl;
};

/*
 * A reply as the I/O layer hands it to the core: already decoded and tied
 * to a probe sequence number (from the quoted packet, the echo reply, the
 * TCP acknowledgement, or the unprivileged socket it arrived on).
 */
struct ht_reply {
	uint16_t seq;          /* probe sequence number this reply answers */
	ht_addr from;          /* who sent the reply */
	uint64_t rx_us;        /* monotonic receive time (kernel stamp) */
	enum ht_reply_kind kind;
	enum ht_annot annot;
	uint8_t icmp_type, icmp_code;
	uint8_t reply_ttl;     /* TTL/hop limit of the reply itself; 0 unknown */
	uint8_t quoted_ttl;    /* TTL left in the quoted probe; 0 unknown */
	bool has_quoted_ttl;
	uint8_t quoted_tos;    /* TOS/traffic class in the quote */
	bool has_quoted_tos;
	uint16_t mtu;          /* for HT_REPLY_PTB, 0 if not given */
	uint8_t n_mpls;
	struct ht_mpls mpls[HT_MAX_MPLS];
	/* RFC 5837 interface information, when present. */
	bool has_ifinfo;
	uint32_t if_index;     /* 0 if absent */
	ht_addr if_addr;
	char if_name[64];      /* sanitised, NUL terminated, may be empty */
	uint32_t if_mtu;
};

enum ht_probe_state {
	HT_PROBE_UNSENT = 0,
	HT_PROBE_SENT,
	HT_PROBE_REPLIED,
	HT_PROBE_TIMEOUT,
	HT_PROBE_CANCELLED, /* never sent: the trace ended before it was needed */
};

/* One probe and what became of it. */
struct ht_probe {
	uint16_t seq;
	uint8_t ttl;
	uint8_t idx;           /* 0..nqueries-1 within its hop */
	enum ht_probe_state state;
	uint64_t sent_us;      /* monotonic */
	uint32_t rtt_us;       /* valid when state == HT_PROBE_REPLIED */
	uint32_t dups;         /* duplicate replies seen and ignored */
	struct ht_reply reply; /* valid when state == HT_PROBE_REPLIED */
	bool reached;          /* the reply says the destination was reached */
	/* A second look: this slot's first probe went unanswered and this is a
	 * later one sent to the same hop (sequence number seq, sent_us its own). */
	bool second_look;
	/* No reply, and the evidence says an ICMP rate limiter suppressed it:
	 * the same hop answered a probe sent before it (the limiter's burst was
	 * spent) or a second look after a pause (its budget had refilled). */
	bool rate_limited;
};

/* One TTL: its probes in send order. */
struct ht_hop {
	int ttl;
	int nprobes;
	const struct ht_probe *probes;
	bool done;    /* every probe replied, timed out or cancelled */
	bool reached; /* some probe reached the destination at this TTL */
	int rate_limited; /* probes marked rate_limited (set when the hop is reported) */
	/* Not probed: below a hop in the stop set, which earlier traces from
	 * here traced (use_stopset). Its probes are HT_PROBE_CANCELLED. */
	bool skipped;
};

enum ht_stop_reason {
	HT_STOP_NONE = 0,
	HT_STOP_REACHED,   /* the destination answered */
	HT_STOP_UNREACH,   /* an ICMP unreachable stopped the trace */
	HT_STOP_MAX_TTL,   /* -m reached */
	HT_STOP_GAP,       /* gap_limit silent hops past the last responder */
	HT_STOP_ERROR,     /* sending failed */
};

enum ht_event_type {
	HT_EV_PROBE_SENT = 1,
	HT_EV_PROBE_DONE,  /* replied or timed out (see probe->state) */
	HT_EV_HOP_DONE,    /* emitted strictly in TTL order */
	HT_EV_TRACE_DONE,
};

struct ht_event {
	enum ht_event_type type;
	const struct ht_probe *probe; /* PROBE_SENT, PROBE_DONE */
	const struct ht_hop *hop;     /* HOP_DONE */
	enum ht_stop_reason reason;   /* TRACE_DONE */
	int last_ttl;                 /* TRACE_DONE: last TTL reported */
	int error;                    /* TRACE_DONE with HT_STOP_ERROR */
	uint32_t trace;               /* the trace's id (ht_engine_start); 0 outside
	                               * an engine unless ht_session_set_id set one */
};

typedef void (*ht_event_cb)(void *user, const struct ht_event *ev);

/* How the core sends: the I/O layer builds and sends probe `seq` with
 * `ttl` and stores the monotonic send time in *tx_us. Returns 0 or a
 * negative errno; -EAGAIN/-ENOBUFS mean "try again later". */
struct ht_io_ops {
	int (*send_probe)(void *ctx, uint16_t seq, uint8_t ttl, uint64_t *tx_us);
};

typedef struct ht_session ht_session;

int ht_session_new(ht_session **out, const struct ht_config *cfg,
                   const struct ht_io_ops *io, void *io_ctx,
                   ht_event_cb cb, void *cb_user);
void ht_session_free(ht_session *s);

/* Send what is due and expire what is overdue at time now. */
int ht_session_tick(ht_session *s, uint64_t now_us);
/* Feed one decoded reply: the I/O layer has already matched it to a probe
 * (lib/proto parses, lib/method identifies the probe) and r->seq names it.
 * Replies whose seq is no outstanding probe are counted and ignored. */
int ht_session_input(ht_session *s, const struct ht_reply *r, uint64_t now_us);
/* Absolute monotonic time of the next thing to do; UINT64_MAX if none. */
uint64_t ht_session_next_wakeup(const ht_session *s);
bool ht_session_done(const ht_session *s);

/* Results, valid until ht_session_free(). */
const struct ht_hop *ht_session_hop(const ht_session *s, int ttl);
int ht_session_last_ttl(const ht_session *s);
enum ht_stop_reason ht_session_stop_reason(const ht_session *s);

/*
 * The packet-rate budget (lib/core/budget.c): probes are paced, never
 * burst. A probe may leave no sooner than 1/pps after the previous one, so
 * every half-open window [t, t + w) holds at most ceil(pps * w) probes, for
 * every w at once; a late probe gives the schedule no credit. pps 0: no
 * cap. One budget may be shared by many sessions (ht_engine does).
 */
struct ht_budget {
	uint32_t pps;
	bool started;
	uint64_t origin_us;  /* times below are relative to this */
	uint64_t tat;        /* when the next probe may leave, in 1/pps us */
	uint64_t sent;       /* probes spent */
};
void ht_budget_init(struct ht_budget *b, uint32_t pps);
/* Earliest monotonic time the next probe may leave (0: now). */
uint64_t ht_budget_ready(const struct ht_budget *b);
/* A probe left at now (call only when ht_budget_ready() <= now). */
void ht_budget_spend(struct ht_budget *b, uint64_t now);
/* ht_budget_spend() if a probe may leave at now; false if not. */
bool ht_budget_take(struct ht_budget *b, uint64_t now);

/* Pace this session by b (shared with others) instead of its own cfg.pps
 * budget; NULL returns to its own. */
void ht_session_set_budget(ht_session *s, struct ht_budget *b);
/* Tag every event of this session with id (struct ht_event.trace). */
void ht_session_set_id(ht_session *s, uint32_t id);
/* For a scheduler that hands out the budget itself: the next timer
 * (a deadline, a second look, a send gap) after now, leaving out a probe
 * that could leave at now but for the budget: then ht_session_wants_send()
 * is true. */
uint64_t ht_session_next_timer(const ht_session *s, uint64_t now);
bool ht_session_wants_send(const ht_session *s, uint64_t now);

struct ht_session_stats {
	uint32_t probes_sent;
	uint32_t replies_matched;
	uint32_t replies_unmatched; /* matched no probe: other traffic, spoofing */
	uint32_t replies_duplicate;
	uint32_t probes_past_dst;   /* sent with a TTL beyond the destination (not the
	                             * distance probe, which may go there by design) */
	uint32_t probes_second_look; /* sent again to a silent hop after --recheck */
	uint32_t probes_rate_limited; /* unanswered, marked as ICMP rate limiting */
	/* Probe economy (struct ht_config.no_overshoot and after): */
	uint32_t probes_distance;   /* distance probes (learn_distance), also in
	                             * probes_sent; one at max_ttl is never a hop
	                             * probe, a predicted one is (below) */
	uint32_t probes_unproven;   /* sent with no_overshoot at a TTL not known to be
	                             * short of the destination (past a silent hop) */
	uint32_t probes_saved_stopset; /* not sent: their hops were skipped */
	uint32_t probes_predicted;  /* distance probes sent at a neighbour's distance
	                             * (ht_session_set_distmap) rather than max_ttl,
	                             * also in probes_distance; each is its hop's
	                             * first probe */
	uint32_t predicted_right;   /* of those, the destination answered that probe
	                             * (not a second look in its slot) and at no
	                             * lower TTL */
};
void ht_session_stats(const ht_session *s, struct ht_session_stats *st);
/* The destination's distance learnt by the distance probe (learn_distance),
 * 0 if unknown (off, no answer, or no reply TTL). */
int ht_session_distance(const ht_session *s);
/* The destination's distance as the trace proved it, 0 if not (yet): it
 * answered at TTL H and a router answered time exceeded at H - 1 (or H is
 * 1). What ht_distmap_learn() is given. */
int ht_session_proven_distance(const ht_session *s);

/*
 * The stop set (lib/core/stopset.c; Doubletree's local stop set): router
 * addresses seen answering time exceeded from this vantage point, shared by
 * every trace of a batch. A hash set of ht_addr holding at most max_entries
 * (0: HT_STOPSET_DEFAULT_MAX; at most HT_STOPSET_LIMIT); when full, new
 * addresses are refused (-ENOSPC) and the set keeps stopping traces at the
 * ones it has. key seeds the hash (draw it at random: the addresses come from
 * the network). The table is kept at most half full and doubles: 36 to 72
 * bytes an address.
 */
#define HT_STOPSET_DEFAULT_MAX 262144
#define HT_STOPSET_LIMIT (1u << 24)
struct ht_stopset;
int ht_stopset_new(struct ht_stopset **out, size_t max_entries, uint64_t key);
void ht_stopset_free(struct ht_stopset *ss);
/* 1: added; 0: already there; -ENOSPC: full; -EINVAL: family 0; -ENOMEM. */
int ht_stopset_add(struct ht_stopset *ss, const ht_addr *a);
bool ht_stopset_has(const struct ht_stopset *ss, const ht_addr *a);
size_t ht_stopset_count(const struct ht_stopset *ss);
/* The stop set this session reads and fills when cfg.use_stopset (NULL:
 * none, and use_stopset changes nothing). Call before the first tick. */
void ht_session_set_stopset(ht_session *s, struct ht_stopset *ss);

/*
 * The distance table (lib/core/distmap.c): for each IPv4 /24 and IPv6 /48,
 * the largest distance a trace from this vantage point proved to a
 * destination in it (ht_session_proven_distance), shared by every trace of
 * a batch. A trace whose destination's prefix has one sends its distance
 * probe at that TTL, as its hop's first probe, instead of at max_ttl
 * (docs/design.md, "Probe economy (batch)"); a distance outside the
 * trace's [first_ttl, max_ttl] is no prediction. Bounded: at most max_entries
 * prefixes (0: HT_DISTMAP_DEFAULT_MAX; rounded up to a power of two; at most
 * HT_DISTMAP_LIMIT), 8 bytes each; when full, a prefix pushes out an older
 * one. key seeds the hash.
 */
#define HT_DISTMAP_PREFIX4 24
#define HT_DISTMAP_PREFIX6 48
#define HT_DISTMAP_DEFAULT_MAX 262144
#define HT_DISTMAP_LIMIT (1u << 24)
struct ht_distmap;
int ht_distmap_new(struct ht_distmap **out, size_t max_entries, uint64_t key);
void ht_distmap_free(struct ht_distmap *dm);
/* Record a proven distance (1-255) of a's prefix; the prefix keeps the
 * largest. 1: new or raised; 0: no change; -EINVAL; -ENOMEM. */
int ht_distmap_learn(struct ht_distmap *dm, const ht_addr *a, int distance);
/* The distance predicted for a (its prefix's), 0 if none. */
int ht_distmap_predict(const struct ht_distmap *dm, const ht_addr *a);
size_t ht_distmap_count(const struct ht_distmap *dm);
/* The table this session predicts its distance probe's TTL from (with
 * cfg.learn_distance) and records its proven distance in (NULL: none). The
 * prediction is read when the distance probe leaves. Call before the first
 * tick. */
void ht_session_set_distmap(ht_session *s, struct ht_distmap *dm);

/*
 * The engine (lib/core/engine.c): many traces at once in one process, all
 * paced by one budget of pps probes per second (0: no cap). Each trace is a
 * session with its own config (cfg->pps is ignored) and its own I/O
 * context; every event carries the trace's id (struct ht_event.trace).
 * The front end feeds replies to the trace they belong to (the I/O layer
 * finds it from the probe's identity) and ticks the engine at
 * ht_engine_next_wakeup(). A finished trace is freed right after its
 * TRACE_DONE event: read its results (ht_engine_session) from the event
 * callback. The callback may start traces, not stop them.
 */
typedef struct ht_engine ht_engine;

struct ht_engine_stats {
	uint64_t traces_started;
	uint64_t traces_done;
	uint64_t probes_sent;
	uint64_t replies_stale; /* for a trace that is over or never was */
};

int ht_engine_new(ht_engine **out, uint32_t pps, ht_event_cb cb, void *cb_user);
void ht_engine_free(ht_engine *e);
/* Start a trace at time now; its id in *id (never 0). */
int ht_engine_start(ht_engine *e, const struct ht_config *cfg, const struct ht_io_ops *io,
                    void *io_ctx, uint64_t now, uint32_t *id);
/* The stop set given to every trace started after this call (NULL: none);
 * the engine does not own it. */
void ht_engine_set_stopset(ht_engine *e, struct ht_stopset *ss);
/* The distance table given to every trace started after this call (NULL:
 * none); the engine does not own it. */
void ht_engine_set_distmap(ht_engine *e, struct ht_distmap *dm);
/* Drop a trace without a TRACE_DONE event; -ENOENT for an unknown id. */
int ht_engine_stop(ht_engine *e, uint32_t id);
/* Feed a reply to trace id; -ENOENT when that trace is over. */
int ht_engine_input(ht_engine *e, uint32_t id, const struct ht_reply *r, uint64_t now);
int ht_engine_tick(ht_engine *e, uint64_t now);
uint64_t ht_engine_next_wakeup(const ht_engine *e);
size_t ht_engine_active(const ht_engine *e);
/* The session of a running trace (NULL once it is over). */
const ht_session *ht_engine_session(const ht_engine *e, uint32_t id);
const struct ht_budget *ht_engine_budget(const ht_engine *e);
void ht_engine_stats(const ht_engine *e, struct ht_engine_stats *st);

/* Helpers shared by every front end. */
int ht_addr_parse(const char *text, ht_addr *out);           /* numeric only */
const char *ht_addr_str(const ht_addr *a, char *buf, size_t len);
bool ht_addr_equal(const ht_addr *a, const ht_addr *b);
/* "!H", "!F-1280", "!<13>", "!<12-0>" ...; "" for HT_ANN_NONE. */
const char *ht_annot_str(const struct ht_reply *r, char *buf, size_t len);
/* Copy src into dst replacing control bytes, DEL, C1 controls, invalid
 * UTF-8 and invisible or text-reordering code points (bidi controls,
 * zero-width characters, U+FEFF, tag characters) by '?' so that the result
 * is safe to print on a terminal and shows what it says. */
size_t ht_sanitize(char *dst, size_t dstlen, const char *src, size_t srclen);

#ifdef __cplusplus
}
#endif
#endif
