/*
 * The session scheduler against a fake network and a fake clock: exact
 * hops, stop reasons, probe counts and completion times.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "hoptrace/hoptrace.h"

#define MAXP 4096

/* A linear path: hop t (1-based) answers after t * per_hop_us, from
 * 198.18.<t>.1; the destination sits at hop `len`. */
struct world {
	int len;
	uint32_t per_hop_us;
	bool silent[64];        /* hop never answers */
	bool drop[MAXP];        /* this seq is lost */
	enum ht_reply_kind dst_kind;
	enum ht_annot dst_annot; /* with HT_REPLY_UNREACH */
	int dst_budget;          /* destination answers at most this many; -1 = unlimited */
	bool dst_silent;
	/* pending replies */
	struct ht_reply q[MAXP];
	int nq;
	int sent;
	int sent_ttl[MAXP];
	uint64_t now;
	int ndups;               /* send each reply this many extra times */
	int step_at;             /* hops from here on answer step_us later (0: none) */
	uint32_t step_us;
	bool reverse;            /* hop t answers after (len - t + 1) * per_hop_us */
	uint32_t slow_us[64];    /* router t's time-exceeded leaves this much late */
	/* Every node limits its ICMP errors as Linux does: a bucket of
	 * rl_burst tokens refilled at one per second, kept across sessions
	 * (rl_burst 0: no limit). */
	int rl_burst;
	double tok[64];
	uint64_t tok_us[64];
	bool tok_init[64];
};

/* Linux's per-source ICMP error budget (inet_peer_xrlim_allow). */
static bool rl_allow(struct world *w, int hop)
{
	if (!w->rl_burst)
		return true;
	if (!w->tok_init[hop]) {
		w->tok_init[hop] = true;
		w->tok[hop] = w->rl_burst;
		w->tok_us[hop] = w->now;
	}
	w->tok[hop] += (double)(w->now - w->tok_us[hop]) / 1e6;
	if (w->tok[hop] > w->rl_burst)
		w->tok[hop] = w->rl_burst;
	w->tok_us[hop] = w->now;
	if (w->tok[hop] < 1.0)
		return false;
	w->tok[hop] -= 1.0;
	return true;
}

static void hop_addr(int ttl, ht_addr *a)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "198.18.%d.1", ttl);
	a->family = AF_INET;
	inet_pton(AF_INET, buf, &a->u.v4);
}

static int fake_send(void *ctx, uint16_t seq, uint8_t ttl, uint64_t *tx)
{
	struct world *w = ctx;
	struct ht_reply r = {0};
	int hop = ttl < w->len ? ttl : w->len;

	*tx = w->now;
	w->sent_ttl[w->sent++] = ttl;
	if (w->drop[seq])
		return 0;
	if (ttl < w->len) {
		if (w->silent[ttl] || !rl_allow(w, hop))
			return 0;
		r.kind = HT_REPLY_TIME_EXCEEDED;
		r.icmp_type = 11;
	} else {
		if (w->dst_silent)
			return 0;
		if (w->dst_budget == 0)
			return 0;
		if (w->dst_budget > 0)
			w->dst_budget--;
		if (w->dst_kind != HT_REPLY_ECHO_REPLY && !rl_allow(w, hop))
			return 0;
		r.kind = w->dst_kind;
		r.annot = w->dst_kind == HT_REPLY_UNREACH ? w->dst_annot : HT_ANN_NONE;
	}
	hop_addr(hop, &r.from);
	r.seq = seq;
	r.rx_us = w->now + (uint64_t)(w->reverse ? w->len - hop + 1 : hop) * w->per_hop_us;
	if (w->step_at && hop >= w->step_at)
		r.rx_us += w->step_us;
	if (ttl < w->len)
		r.rx_us += w->slow_us[ttl];
	for (int d = 0; d <= w->ndups; d++)
		w->q[w->nq++] = r;
	return 0;
}

static const struct ht_io_ops fake_ops = {.send_probe = fake_send};

struct log {
	int hops[256];
	int nhops;
	enum ht_stop_reason reason;
	int last_ttl;
	int trace_done;
};

static void on_event(void *u, const struct ht_event *ev)
{
	struct log *l = u;
	if (ev->type == HT_EV_HOP_DONE) {
		l->hops[l->nhops++] = ev->hop->ttl;
		assert_true(ev->hop->done);
	} else if (ev->type == HT_EV_TRACE_DONE) {
		l->reason = ev->reason;
		l->last_ttl = ev->last_ttl;
		l->trace_done++;
	}
}

static void world_init(struct world *w, int len, uint32_t per_hop_us)
{
	memset(w, 0, sizeof(*w));
	w->len = len;
	w->per_hop_us = per_hop_us;
	w->dst_kind = HT_REPLY_PORT_UNREACH;
	w->dst_budget = -1;
	w->now = 1000000;
}

/* Defaults, but no rate cap: these tests time the waits to the
 * microsecond, and the default cap paces probes 10 us apart
 * (test_pps_is_paced and test_budget.c test the pacing). */
static void cfg_init(struct ht_config *c)
{
	ht_config_defaults(c);
	c->pps = 0;
	assert_int_equal(ht_addr_parse("198.18.200.1", &c->dst), 0);
}

/* Drive the session until done; returns the elapsed virtual time. */
static uint64_t run(ht_session *s, struct world *w)
{
	uint64_t start = w->now;
	int guard = 0;

	assert_int_equal(ht_session_tick(s, w->now), 0);
	while (!ht_session_done(s)) {
		uint64_t t = ht_session_next_wakeup(s);
		int first = -1;
		for (int i = 0; i < w->nq; i++)
			if (first < 0 || w->q[i].rx_us < w->q[first].rx_us)
				first = i;
		if (first >= 0 && w->q[first].rx_us <= t) {
			struct ht_reply r = w->q[first];
			w->q[first] = w->q[--w->nq];
			w->now = r.rx_us;
			ht_session_input(s, &r, w->now);
		} else {
			assert_true(t != UINT64_MAX);
			w->now = t > w->now ? t : w->now;
		}
		assert_int_equal(ht_session_tick(s, w->now), 0);
		assert_true(++guard < 100000);
	}
	return w->now - start;
}

/* Start a session on world w and drive it to the end. */
static ht_session *trace(struct ht_config *c, struct world *w, struct log *l, uint64_t *took)
{
	ht_session *s;
	uint64_t t;

	assert_int_equal(ht_session_new(&s, c, &fake_ops, w, on_event, l), 0);
	t = run(s, w);
	if (took)
		*took = t;
	return s;
}

static void test_linear_path_one_round_trip(void **st)
{
	struct world w;
	struct ht_config c;
	struct log l = {0};
	ht_session *s;
	struct ht_session_stats stats;
	uint64_t took;
	(void)st;

	world_init(&w, 9, 10000); /* 9 hops, 10 ms per hop: 90 ms to the destination */
	cfg_init(&c);
	s = trace(&c, &w, &l, &took);
	assert_int_equal(l.trace_done, 1);
	assert_int_equal(l.reason, HT_STOP_REACHED);
	assert_int_equal(l.last_ttl, 9);
	assert_int_equal(l.nhops, 9);
	for (int i = 0; i < 9; i++)
		assert_int_equal(l.hops[i], i + 1);
	/* Every probe in flight at once: done when the destination answers. */
	assert_int_equal(took, 90000);
	for (int t = 1; t <= 9; t++) {
		const struct ht_hop *h = ht_session_hop(s, t);
		ht_addr want;
		hop_addr(t, &want);
		assert_int_equal(h->nprobes, 3);
		for (int k = 0; k < 3; k++) {
			assert_int_equal(h->probes[k].state, HT_PROBE_REPLIED);
			assert_true(ht_addr_equal(&h->probes[k].reply.from, &want));
			assert_int_equal(h->probes[k].rtt_us, (uint32_t)t * 10000);
		}
		assert_int_equal(h->reached, t == 9);
	}
	ht_session_stats(s, &stats);
	assert_int_equal(stats.probes_sent, 90);
	/* Replies still queued when the destination line completed are not waited for. */
	assert_true(stats.replies_matched >= 27);
	assert_int_equal(stats.probes_past_dst, 63);
	/* Hop-major send order: all of TTL t before any of TTL t+1. */
	for (int i = 1; i < w.sent; i++)
		assert_true(w.sent_ttl[i] >= w.sent_ttl[i - 1]);
	ht_session_free(s);
}

static void test_silent_hop_costs_little(void **st)
{
	struct world w;
	struct ht_config c;
	struct log l = {0};
	ht_session *s;
	uint64_t took;
	(void)st;

	world_init(&w, 9, 10000);
	w.silent[4] = true;
	cfg_init(&c);
	s = trace(&c, &w, &l, &took);
	assert_int_equal(l.reason, HT_STOP_REACHED);
	assert_int_equal(l.last_ttl, 9);
	for (int k = 0; k < 3; k++)
		assert_int_equal(ht_session_hop(s, 4)->probes[k].state, HT_PROBE_TIMEOUT);
	/* NEAR: the farthest RTT seen (90 ms) plus the slow-router allowance
	 * (300 ms), which is more than 1.3 * 90 ms. */
	assert_int_equal(took, 390000);
	/* A lone mute hop in a complete trace gets no second look. */
	{
		struct ht_session_stats ss;
		ht_session_stats(s, &ss);
		assert_int_equal(ss.probes_second_look, 0);
		assert_int_equal(ss.probes_rate_limited, 0);
	}
	ht_session_free(s);
}

static void test_silent_destination_gap_limit(void **st)
{
	struct world w;
	struct ht_config c;
	struct log l = {0};
	ht_session *s;
	uint64_t took;
	(void)st;

	world_init(&w, 9, 10000);
	w.dst_silent = true;
	cfg_init(&c);
	s = trace(&c, &w, &l, &took);
	assert_int_equal(l.reason, HT_STOP_GAP);
	/* Hop 8 is the last responder; 5 silent hops follow. */
	assert_int_equal(l.last_ttl, 13);
	/* FAR: 4 * 80 ms + 500 ms, then a second look at each mute hop one
	 * second after its first probe, waited for as long as the slowest
	 * reply (80 ms) plus the slow allowance (300 ms). Nothing answers it:
	 * the destination is silent, and no probe is called rate limited. */
	assert_int_equal(took, 1380000);
	{
		struct ht_session_stats ss;
		ht_session_stats(s, &ss);
		assert_int_equal(ss.probes_second_look, 5);
		assert_int_equal(ss.probes_rate_limited, 0);
		assert_int_equal(ss.probes_sent, 90 + 5);
	}
	ht_session_free(s);

	/* --recheck 0: no second look, over when the first one is. */
	world_init(&w, 9, 10000);
	w.dst_silent = true;
	cfg_init(&c);
	c.recheck_us = 0;
	s = trace(&c, &w, &l, &took);
	assert_int_equal(l.last_ttl, 13);
	assert_int_equal(took, 820000);
	ht_session_free(s);
}

static void test_unreachable_annotation_stops(void **st)
{
	struct world w;
	struct ht_config c;
	struct log l = {0};
	ht_session *s;
	(void)st;

	world_init(&w, 5, 1000);
	w.dst_kind = HT_REPLY_UNREACH;
	w.dst_annot = HT_ANN_ADMIN;
	cfg_init(&c);
	s = trace(&c, &w, &l, NULL);
	assert_int_equal(l.reason, HT_STOP_UNREACH);
	assert_int_equal(l.last_ttl, 5);
	assert_int_equal(ht_session_hop(s, 5)->probes[0].reply.annot, HT_ANN_ADMIN);
	ht_session_free(s);
}

static void test_max_ttl_when_nothing_reached(void **st)
{
	struct world w;
	struct ht_config c;
	struct log l = {0};
	ht_session *s;
	(void)st;

	world_init(&w, 40, 1000);
	cfg_init(&c);
	c.max_ttl = 6;
	s = trace(&c, &w, &l, NULL);
	assert_int_equal(l.reason, HT_STOP_MAX_TTL);
	assert_int_equal(l.last_ttl, 6);
	assert_int_equal(w.sent, 18);
	ht_session_free(s);
}

static void test_rate_limited_destination_gets_its_replies(void **st)
{
	struct world w;
	struct ht_config c;
	struct log l = {0};
	ht_session *s;
	(void)st;

	/* Linux: a burst of 6 port unreachables. Hop-major order spends it
	 * on the probes at the true distance. */
	world_init(&w, 9, 10000);
	w.dst_budget = 6;
	cfg_init(&c);
	s = trace(&c, &w, &l, NULL);
	assert_int_equal(l.reason, HT_STOP_REACHED);
	assert_int_equal(l.last_ttl, 9);
	for (int k = 0; k < 3; k++)
		assert_int_equal(ht_session_hop(s, 9)->probes[k].state, HT_PROBE_REPLIED);
	ht_session_free(s);
}

static void test_window_limits_inflight(void **st)
{
	struct world w;
	struct ht_config c;
	struct log l = {0};
	ht_session *s;
	struct ht_session_stats stats;
	(void)st;

	world_init(&w, 9, 10000);
	cfg_init(&c);
	c.window = 6; /* two hops at a time */
	s = trace(&c, &w, &l, NULL);
	assert_int_equal(l.reason, HT_STOP_REACHED);
	assert_int_equal(l.last_ttl, 9);
	ht_session_stats(s, &stats);
	/* The window slides as replies come back: few probes past the end. */
	assert_true(stats.probes_past_dst <= 6);
	ht_session_free(s);
}

static void test_duplicates_and_unmatched(void **st)
{
	struct world w;
	struct ht_config c;
	struct log l = {0};
	ht_session *s;
	struct ht_session_stats stats;
	struct ht_reply bogus = {0};
	(void)st;

	world_init(&w, 3, 1000);
	w.ndups = 1;
	cfg_init(&c);
	c.max_ttl = 3;
	assert_int_equal(ht_session_new(&s, &c, &fake_ops, &w, on_event, &l), 0);
	bogus.seq = 60000;
	assert_int_equal(ht_session_input(s, &bogus, w.now), -ENOENT);
	/* A reply for a probe never sent. */
	bogus.seq = 1;
	assert_int_equal(ht_session_input(s, &bogus, w.now), -ENOENT);
	run(s, &w);
	assert_int_equal(l.last_ttl, 3);
	ht_session_stats(s, &stats);
	assert_int_equal(stats.replies_unmatched, 2);
	assert_true(stats.replies_duplicate >= 6);
	for (int t = 1; t <= 3; t++)
		for (int k = 0; k < 3; k++)
			assert_int_equal(ht_session_hop(s, t)->probes[k].rtt_us, (uint32_t)t * 1000);
	ht_session_free(s);
}

static void test_lost_probe_here_wait(void **st)
{
	struct world w;
	struct ht_config c;
	struct log l = {0};
	ht_session *s;
	uint64_t took;
	(void)st;

	world_init(&w, 4, 10000);
	w.drop[11] = true; /* the last probe to the destination */
	cfg_init(&c);
	s = trace(&c, &w, &l, &took);
	assert_int_equal(l.last_ttl, 4);
	assert_int_equal(ht_session_hop(s, 4)->probes[2].state, HT_PROBE_TIMEOUT);
	/* Probes past the destination answered at 40 ms: NEAR 1.3 * 40 ms (the
	 * slow-router allowance is for routers, not for the destination). */
	assert_int_equal(took, 52000);
	/* The destination answered the two probes before it: the pattern of a
	 * rate limiter whose burst ran out, and so it is marked. */
	assert_true(ht_session_hop(s, 4)->probes[2].rate_limited);
	assert_int_equal(ht_session_hop(s, 4)->rate_limited, 1);
	ht_session_free(s);
}

/* Router 4 sends its time-exceeded from a slow control plane, 150 ms and
 * then 290 ms after the hops behind it have answered: it is shown with its
 * real RTT, not as silence. */
static void test_slow_router_is_shown(void **st)
{
	static const uint32_t late[] = {150000, 290000};
	(void)st;

	for (unsigned i = 0; i < sizeof(late) / sizeof(late[0]); i++) {
		struct world w;
		struct ht_config c;
		struct log l = {0};
		ht_session *s;
		uint64_t took;

		world_init(&w, 9, 10000);
		w.slow_us[4] = late[i];
		cfg_init(&c);
		s = trace(&c, &w, &l, &took);
		assert_int_equal(l.reason, HT_STOP_REACHED);
		assert_int_equal(l.last_ttl, 9);
		for (int k = 0; k < 3; k++) {
			const struct ht_probe *p = &ht_session_hop(s, 4)->probes[k];
			assert_int_equal(p->state, HT_PROBE_REPLIED);
			assert_int_equal(p->rtt_us, 40000 + late[i]);
		}
		/* Done when router 4's replies are in. */
		assert_int_equal(took, 40000 + late[i]);
		ht_session_free(s);
	}
}

/* Three default traces back to back, every node limiting its ICMP errors
 * as Linux does (a burst of 6, then 1 per second, kept across runs). Run 1
 * sees everything; in runs 2 and 3 the budgets run dry. Every hop and the
 * destination still show in every run, and every reply missing from them
 * is marked as rate limiting. */
static void test_back_to_back_runs_are_truthful(void **st)
{
	struct world w;
	(void)st;

	world_init(&w, 9, 10000);
	w.rl_burst = 6;
	for (int run = 1; run <= 3; run++) {
		struct ht_config c;
		struct log l = {0};
		struct ht_session_stats ss;
		ht_session *s;
		int missing = 0;

		cfg_init(&c);
		w.nq = 0; /* replies the last run left unread */
		s = trace(&c, &w, &l, NULL);
		assert_int_equal(l.reason, HT_STOP_REACHED);
		assert_int_equal(l.last_ttl, 9);
		assert_int_equal(l.nhops, 9);
		for (int t = 1; t <= 9; t++) {
			const struct ht_hop *h = ht_session_hop(s, t);
			int replied = 0;
			for (int k = 0; k < 3; k++) {
				const struct ht_probe *p = &h->probes[k];
				if (p->state == HT_PROBE_REPLIED) {
					ht_addr want;
					hop_addr(t, &want);
					assert_true(ht_addr_equal(&p->reply.from, &want));
					replied++;
				} else {
					assert_int_equal(p->state, HT_PROBE_TIMEOUT);
					assert_true(p->rate_limited);
					missing++;
				}
			}
			assert_true(replied >= 1);
			assert_int_equal(h->rate_limited, 3 - replied);
		}
		ht_session_stats(s, &ss);
		assert_int_equal(ss.probes_rate_limited, (uint32_t)missing);
		if (run == 1) {
			assert_int_equal(missing, 0);
			assert_int_equal(ss.probes_second_look, 0);
		} else {
			assert_true(missing > 0);
		}
		ht_session_free(s);
		w.now += 1000; /* the next run starts right away */
	}
}

/* --pps 1 with 2550 probes: one probe leaves, the next a second later. */
static void test_pps_is_paced(void **st)
{
	struct world w;
	struct ht_config c;
	ht_session *s;
	struct log l = {0};
	uint64_t t0;
	(void)st;

	world_init(&w, 255, 1000);
	w.dst_silent = true;
	cfg_init(&c);
	c.pps = 1;
	c.max_ttl = 255;
	c.nqueries = 10;
	c.gap_limit = 255;
	assert_int_equal(ht_session_new(&s, &c, &fake_ops, &w, on_event, &l), 0);
	assert_int_equal(ht_session_tick(s, w.now), 0);
	assert_int_equal(w.sent, 1);
	assert_int_equal(ht_session_tick(s, w.now + 999999), 0);
	assert_int_equal(w.sent, 1);
	assert_int_equal(ht_session_next_wakeup(s), w.now + 1000000);
	assert_int_equal(ht_session_tick(s, w.now + 1000000), 0);
	assert_int_equal(w.sent, 2);
	ht_session_free(s);

	/* The default 100000/s paces a whole 30-hop trace 10 us apart: one
	 * probe per tick at the same instant, the next due 10 us later; the
	 * 90 probes leave within 0.9 ms. */
	world_init(&w, 9, 10000);
	ht_config_defaults(&c);
	assert_int_equal(c.pps, 100000);
	assert_int_equal(ht_addr_parse("198.18.200.1", &c.dst), 0);
	assert_int_equal(ht_session_new(&s, &c, &fake_ops, &w, on_event, &l), 0);
	t0 = w.now;
	assert_int_equal(ht_session_tick(s, w.now), 0);
	assert_int_equal(w.sent, 1);
	assert_int_equal(ht_session_tick(s, w.now), 0);
	assert_int_equal(w.sent, 1);
	assert_int_equal(ht_session_next_wakeup(s), t0 + 10);
	for (int i = 1; i < 90; i++)
		assert_int_equal(ht_session_tick(s, t0 + 10 * (uint64_t)i), 0);
	assert_int_equal(w.sent, 90);
	ht_session_free(s);

	/* 1000/s: one every millisecond, no burst at the start. */
	world_init(&w, 9, 10000);
	cfg_init(&c);
	c.pps = 1000;
	assert_int_equal(ht_session_new(&s, &c, &fake_ops, &w, on_event, &l), 0);
	assert_int_equal(ht_session_tick(s, w.now), 0);
	assert_int_equal(w.sent, 1);
	assert_int_equal(ht_session_tick(s, w.now + 5001), 0);
	assert_int_equal(w.sent, 2);
	ht_session_free(s);
}

/* A geostationary satellite behind a fast first hop: hop 1 answers in
 * 1 ms, everything from hop 2 on 600 ms later. No hop may be given up
 * before its reply comes (the FAR wait has a floor). */
static void test_satellite_step_is_not_silence(void **st)
{
	struct world w;
	struct ht_config c;
	struct log l = {0};
	ht_session *s;
	(void)st;

	world_init(&w, 5, 1000);
	w.step_at = 2;
	w.step_us = 600000;
	cfg_init(&c);
	s = trace(&c, &w, &l, NULL);
	assert_int_equal(l.reason, HT_STOP_REACHED);
	assert_int_equal(l.last_ttl, 5);
	for (int t = 1; t <= 5; t++)
		for (int k = 0; k < 3; k++) {
			const struct ht_probe *p = &ht_session_hop(s, t)->probes[k];
			assert_int_equal(p->state, HT_PROBE_REPLIED);
			assert_int_equal(p->rtt_us, (uint32_t)t * 1000 + (t >= 2 ? 600000 : 0));
		}
	ht_session_free(s);
}

/* A 4-hop path whose destination never answers, traced to TTL 6 with a
 * gap limit of 2 and MAX 2 s; HERE and NEAR as given. Returns the time
 * the trace took. */
static uint64_t silent_dest_took(double here, double near)
{
	struct world w;
	struct ht_config c;
	struct log l = {0};
	ht_session *s;
	uint64_t took;

	world_init(&w, 4, 1000);
	w.dst_silent = true;
	cfg_init(&c);
	c.max_ttl = 6;
	c.gap_limit = 2;
	c.wait_max_us = 2000000;
	c.wait_here = here;
	c.wait_near = near;
	c.recheck_us = 0; /* the waits alone */
	s = trace(&c, &w, &l, &took);
	assert_int_equal(l.reason, HT_STOP_GAP);
	assert_int_equal(l.last_ttl, 5);
	ht_session_free(s);
	return took;
}

/* -w MAX,0,0: no adaptive rule at all, a lost probe is waited for MAX,
 * as traceroute -w 5,0,0 does; with the defaults it is given up sooner
 * (FAR: at the 0.75 s floor, 4 * 3 ms + 0.5 s being less). */
static void test_fixed_wait_without_near(void **st)
{
	uint64_t took;
	(void)st;

	took = silent_dest_took(0, 0);
	assert_true(took >= 2000000);
	assert_true(took < 2000000 + 10000);
	assert_int_equal(silent_dest_took(3.0, 1.3), 750000);
}

/* Replies arrive in reverse hop order (the farthest first) and twice
 * each: every probe is still matched to its own hop, with its own RTT,
 * and hops are reported in TTL order. */
static void test_reordered_replies(void **st)
{
	struct world w;
	struct ht_config c;
	struct log l = {0};
	ht_session *s;
	(void)st;

	world_init(&w, 8, 2000);
	w.reverse = true;
	w.ndups = 1;
	cfg_init(&c);
	s = trace(&c, &w, &l, NULL);
	assert_int_equal(l.reason, HT_STOP_REACHED);
	assert_int_equal(l.last_ttl, 8);
	assert_int_equal(l.nhops, 8);
	for (int t = 1; t <= 8; t++) {
		ht_addr want;
		hop_addr(t, &want);
		assert_int_equal(l.hops[t - 1], t);
		for (int k = 0; k < 3; k++) {
			const struct ht_probe *p = &ht_session_hop(s, t)->probes[k];
			assert_int_equal(p->state, HT_PROBE_REPLIED);
			assert_true(ht_addr_equal(&p->reply.from, &want));
			assert_int_equal(p->rtt_us, (uint32_t)(8 - t + 1) * 2000);
		}
	}
	ht_session_free(s);
}

static void test_config_validation(void **st)
{
	struct ht_config c;
	const char *msg = NULL;
	(void)st;

	cfg_init(&c);
	assert_int_equal(ht_config_validate(&c, &msg), 0);
	c.first_ttl = 10;
	c.max_ttl = 5;
	assert_int_equal(ht_config_validate(&c, &msg), -EINVAL);
	assert_string_equal(msg, "first TTL (-f) must not exceed max TTL (-m)");
	cfg_init(&c);
	c.nqueries = 11;
	assert_int_equal(ht_config_validate(&c, &msg), -EINVAL);
	assert_string_equal(msg, "probes per hop (-q) must be between 1 and 10");
	cfg_init(&c);
	c.family = AF_INET6;
	assert_int_equal(ht_config_validate(&c, &msg), -EINVAL);
	assert_string_equal(msg, "destination address does not match the address family");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linear_path_one_round_trip),
		cmocka_unit_test(test_silent_hop_costs_little),
		cmocka_unit_test(test_silent_destination_gap_limit),
		cmocka_unit_test(test_unreachable_annotation_stops),
		cmocka_unit_test(test_max_ttl_when_nothing_reached),
		cmocka_unit_test(test_rate_limited_destination_gets_its_replies),
		cmocka_unit_test(test_window_limits_inflight),
		cmocka_unit_test(test_duplicates_and_unmatched),
		cmocka_unit_test(test_lost_probe_here_wait),
		cmocka_unit_test(test_satellite_step_is_not_silence),
		cmocka_unit_test(test_slow_router_is_shown),
		cmocka_unit_test(test_back_to_back_runs_are_truthful),
		cmocka_unit_test(test_pps_is_paced),
		cmocka_unit_test(test_fixed_wait_without_near),
		cmocka_unit_test(test_reordered_replies),
		cmocka_unit_test(test_config_validation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
