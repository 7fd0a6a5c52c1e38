/*
 * Probe economy for batch traces (struct ht_config.no_overshoot,
 * learn_distance, use_stopset) against a fake network and a fake clock:
 * exactly which TTLs leave in which order, that none leaves past the
 * destination, the distance estimate from the reply TTL, and a stop set
 * shared by traces run one after another on an engine.
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
 * ip[t] (198.18.<t>.1 when 0); the destination sits at hop `len` and
 * answers with TTL dst_reply_ttl. */
struct world {
	int len;
	uint32_t per_hop_us;
	uint32_t ip[64];
	bool silent[64];
	bool dst_silent;
	uint8_t dst_reply_ttl;
	struct ht_reply q[MAXP];
	int nq;
	int sent;
	int sent_ttl[MAXP];
	int sent_seq[MAXP];
	uint64_t now;
};

static void hop_addr(const struct world *w, int ttl, ht_addr *a)
{
	a->family = AF_INET;
	a->u.v4.s_addr = htonl(w->ip[ttl] ? w->ip[ttl] : 0xc6120001u | (uint32_t)ttl << 8);
}

static int fake_send(void *ctx, uint16_t seq, uint8_t ttl, uint64_t *tx)
{
	struct world *w = ctx;
	struct ht_reply r = {0};
	int hop = ttl < w->len ? ttl : w->len;

	*tx = w->now;
	w->sent_seq[w->sent] = seq;
	w->sent_ttl[w->sent++] = ttl;
	if (ttl < w->len) {
		if (w->silent[ttl])
			return 0;
		r.kind = HT_REPLY_TIME_EXCEEDED;
		r.reply_ttl = (uint8_t)(255 - ttl + 1);
	} else {
		if (w->dst_silent)
			return 0;
		r.kind = HT_REPLY_PORT_UNREACH;
		r.reply_ttl = w->dst_reply_ttl;
	}
	hop_addr(w, hop, &r.from);
	r.seq = seq;
	r.rx_us = w->now + (uint64_t)hop * w->per_hop_us;
	w->q[w->nq++] = r;
	return 0;
}

static const struct ht_io_ops fake_ops = {.send_probe = fake_send};

struct log {
	const struct world *w; /* when set: every reported probe was sent at its hop's TTL */
	int hops[256];
	bool skipped[256];
	int nhops;
	enum ht_stop_reason reason;
	int last_ttl;
	int trace_done;
	struct ht_session_stats stats; /* engine runs: read at TRACE_DONE */
	int distance;
	ht_engine *e;
};

static void on_event(void *u, const struct ht_event *ev)
{
	struct log *l = u;

	if (ev->type == HT_EV_HOP_DONE) {
		assert_true(ev->hop->done);
		for (int k = 0; l->w && k < ev->hop->nprobes; k++) {
			const struct ht_probe *p = &ev->hop->probes[k];
			int j = l->w->sent - 1;

			if (p->state != HT_PROBE_REPLIED && p->state != HT_PROBE_TIMEOUT)
				continue;
			while (j >= 0 && l->w->sent_seq[j] != p->seq)
				j--;
			if (j < 0 || l->w->sent_ttl[j] != ev->hop->ttl)
				fail_msg("hop %d reports probe seq %u, %s", ev->hop->ttl, p->seq,
				         j < 0 ? "never sent" : "sent at another TTL");
		}
		l->skipped[l->nhops] = ev->hop->skipped;
		if (ev->hop->skipped)
			for (int k = 0; k < ev->hop->nprobes; k++)
				assert_int_equal(ev->hop->probes[k].state, HT_PROBE_CANCELLED);
		l->hops[l->nhops++] = ev->hop->ttl;
	} else if (ev->type == HT_EV_TRACE_DONE) {
		l->reason = ev->reason;
		l->last_ttl = ev->last_ttl;
		l->trace_done++;
		if (l->e) {
			const ht_session *s = ht_engine_session(l->e, ev->trace);
			assert_non_null(s);
			ht_session_stats(s, &l->stats);
			l->distance = ht_session_distance(s);
		}
	} else {
		/* The distance probe has no events: every probe seen is a hop's. */
		assert_true(ev->probe->seq < 2 * 30 * 3);
	}
}

static void world_init(struct world *w, int len, uint32_t per_hop_us)
{
	memset(w, 0, sizeof(*w));
	w->len = len;
	w->per_hop_us = per_hop_us;
	w->dst_reply_ttl = (uint8_t)(64 - (len - 1));
	w->now = 1000000;
}

/* Defaults (no rate cap: times are exact) plus the economy flags. */
static void cfg_init(struct ht_config *c, bool no_overshoot, bool learn, bool stopset)
{
	ht_config_defaults(c);
	c->pps = 0;
	c->no_overshoot = no_overshoot;
	c->learn_distance = learn;
	c->use_stopset = stopset;
	assert_int_equal(ht_addr_parse("198.18.200.1", &c->dst), 0);
}

/* The earliest pending reply, or -1. */
static int first_reply(const struct world *w)
{
	int first = -1;

	for (int i = 0; i < w->nq; i++)
		if (first < 0 || w->q[i].rx_us < w->q[first].rx_us)
			first = i;
	return first;
}

static uint64_t run(ht_session *s, struct world *w)
{
	uint64_t start = w->now;
	int guard = 0;

	assert_int_equal(ht_session_tick(s, w->now), 0);
	while (!ht_session_done(s)) {
		uint64_t t = ht_session_next_wakeup(s);
		int first = first_reply(w);

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

/* The TTLs sent, in order, are exactly want[0..n-1]. */
static void assert_sent(const struct world *w, const int *want, int n)
{
	for (int i = 0; i < n && i < w->sent; i++)
		if (w->sent_ttl[i] != want[i])
			fail_msg("probe %d left with TTL %d, expected %d", i, w->sent_ttl[i],
			         want[i]);
	assert_int_equal(w->sent, n);
}

/* want[] for TTLs lo..hi, nq probes each, hop-major, after `pre` entries. */
static int fill(int *want, int pre, int lo, int hi, int nq)
{
	for (int t = lo; t <= hi; t++)
		for (int k = 0; k < nq; k++)
			want[pre++] = t;
	return pre;
}

/* No probe left past the destination but the distance probe (the first,
 * with TTL max_ttl and seq 2 * nprobes) when there is one. */
static void assert_no_overshoot(const struct world *w, bool distance_probe, int max_ttl)
{
	for (int i = 0; i < w->sent; i++) {
		if (distance_probe && i == 0) {
			assert_int_equal(w->sent_ttl[0], max_ttl);
			assert_int_equal(w->sent_seq[0], 2 * max_ttl * 3);
			continue;
		}
		if (w->sent_ttl[i] > w->len)
			fail_msg("probe %d left with TTL %d past the destination at %d", i,
			         w->sent_ttl[i], w->len);
	}
}

static void assert_hops_in_order(const struct log *l, int n)
{
	assert_int_equal(l->nhops, n);
	for (int i = 0; i < n; i++)
		assert_int_equal(l->hops[i], i + 1);
}

static void test_defaults_off(void **st)
{
	struct ht_config c;
	(void)st;

	ht_config_defaults(&c);
	assert_false(c.no_overshoot);
	assert_false(c.learn_distance);
	assert_false(c.use_stopset);
}

/* Rule 1 alone: TTL t+1 leaves when TTL t has answered time exceeded. A
 * 9-hop path, 10 ms a hop: TTL t leaves at 10 ms * (1 + ... + t-1), the
 * destination answers at 360 + 90 ms. */
static void test_no_overshoot_one_ttl_at_a_time(void **st)
{
	struct world w;
	struct ht_config c;
	struct log l = {0};
	struct ht_session_stats ss;
	ht_session *s;
	uint64_t took;
	int want[64], n;
	(void)st;

	world_init(&w, 9, 10000);
	cfg_init(&c, true, false, false);
	s = trace(&c, &w, &l, &took);
	n = fill(want, 0, 1, 9, 3);
	assert_sent(&w, want, n);
	assert_no_overshoot(&w, false, 30);
	assert_int_equal(took, 450000);
	assert_int_equal(l.reason, HT_STOP_REACHED);
	assert_int_equal(l.last_ttl, 9);
	assert_hops_in_order(&l, 9);
	ht_session_stats(s, &ss);
	assert_int_equal(ss.probes_sent, 27);
	assert_int_equal(ss.probes_past_dst, 0);
	assert_int_equal(ss.probes_unproven, 0);
	assert_int_equal(ss.probes_distance, 0);
	ht_session_free(s);
}

/* Rule 2: the distance probe's reply TTL gives d (64 - 8, 128 - 15,
 * 255 - 3: 9, 16, 4 hops); then TTLs 1..d leave at once. Two round trips,
 * not one probe past the destination. */
static void test_distance_estimates(void **st)
{
	static const struct {
		uint8_t reply_ttl;
		int len;
	} cases[] = {{64 - 8, 9}, {128 - 15, 16}, {255 - 3, 4}};
	(void)st;

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct world w;
		struct ht_config c;
		struct log l = {0};
		struct ht_session_stats ss;
		ht_session *s;
		uint64_t took;
		int want[128], n;

		world_init(&w, cases[i].len, 10000);
		w.dst_reply_ttl = cases[i].reply_ttl;
		cfg_init(&c, true, true, false);
		s = trace(&c, &w, &l, &took);
		assert_int_equal(ht_session_distance(s), cases[i].len);
		want[0] = 30;
		n = fill(want, 1, 1, cases[i].len, 3);
		assert_sent(&w, want, n);
		assert_no_overshoot(&w, true, 30);
		assert_int_equal(took, 2 * (uint64_t)cases[i].len * 10000);
		assert_int_equal(l.reason, HT_STOP_REACHED);
		assert_hops_in_order(&l, cases[i].len);
		ht_session_stats(s, &ss);
		assert_int_equal(ss.probes_distance, 1);
		assert_int_equal(ss.probes_sent, 1 + 3 * cases[i].len);
		assert_int_equal(ss.probes_past_dst, 0);
		assert_int_equal(ss.probes_unproven, 0);
		/* Its reply is no hop's result: nothing at TTL 30. */
		for (int k = 0; k < 3; k++)
			assert_int_equal(ht_session_hop(s, 30)->probes[k].state,
			                 HT_PROBE_CANCELLED);
		assert_false(ht_session_hop(s, 30)->reached);
		ht_session_free(s);
	}
}

/* An asymmetric reverse path two hops longer: d = 11 for a destination at
 * 9. TTLs 10 and 11 went out with the rest (6 probes past the destination,
 * counted); the results are still those of a 9-hop path. */
static void test_distance_too_high(void **st)
{
	struct world w;
	struct ht_config c;
	struct log l = {0};
	struct ht_session_stats ss;
	ht_session *s;
	uint64_t took;
	int want[64], n;
	(void)st;

	world_init(&w, 9, 10000);
	w.dst_reply_ttl = 64 - 10;
	cfg_init(&c, true, true, false);
	s = trace(&c, &w, &l, &took);
	assert_int_equal(ht_session_distance(s), 11);
	want[0] = 30;
	n = fill(want, 1, 1, 11, 3);
	assert_sent(&w, want, n);
	assert_int_equal(took, 180000);
	assert_int_equal(l.reason, HT_STOP_REACHED);
	assert_int_equal(l.last_ttl, 9);
	assert_hops_in_order(&l, 9);
	for (int t = 1; t <= 9; t++) {
		ht_addr want_a;
		hop_addr(&w, t, &want_a);
		for (int k = 0; k < 3; k++) {
			const struct ht_probe *p = &ht_session_hop(s, t)->probes[k];
			assert_int_equal(p->state, HT_PROBE_REPLIED);
			assert_true(ht_addr_equal(&p->reply.from, &want_a));
		}
	}
	assert_true(ht_session_hop(s, 9)->reached);
	ht_session_stats(s, &ss);
	assert_int_equal(ss.probes_past_dst, 6);
	assert_int_equal(ss.probes_unproven, 0);
	ht_session_free(s);
}

/* Two hops shorter: d = 7 for a destination at 9. TTLs 1..7 at once, then
 * 8 once 7 answered time exceeded, then 9: 90 + 70 + 80 + 90 ms. */
static void test_distance_too_low(void **st)
{
	struct world w;
	struct ht_config c;
	struct log l = {0};
	struct ht_session_stats ss;
	ht_session *s;
	uint64_t took;
	int want[64], n;
	(void)st;

	world_init(&w, 9, 10000);
	w.dst_reply_ttl = 64 - 6;
	cfg_init(&c, true, true, false);
	s = trace(&c, &w, &l, &took);
	assert_int_equal(ht_session_distance(s), 7);
	want[0] = 30;
	n = fill(want, 1, 1, 9, 3);
	assert_sent(&w, want, n);
	assert_no_overshoot(&w, true, 30);
	assert_int_equal(took, 330000);
	assert_int_equal(l.reason, HT_STOP_REACHED);
	assert_hops_in_order(&l, 9);
	ht_session_stats(s, &ss);
	assert_int_equal(ss.probes_past_dst, 0);
	assert_int_equal(ss.probes_unproven, 0);
	ht_session_free(s);
}

/* The destination never answers: the distance probe is given up after the
 * FAR floor (750 ms) and the trace falls back to rule 1 from TTL 1. Hops
 * 1..8 answer; TTL 9 (the silent destination) is waited for (FAR: 4 * 80
 * ms + 500 ms) and then TTLs 10..13 go out one after another as guesses,
 * until the gap limit (5) ends the trace. */
static void test_silent_destination(void **st)
{
	struct world w;
	struct ht_config c;
	struct log l = {0};
	struct ht_session_stats ss;
	ht_session *s;
	uint64_t took;
	int want[64], n;
	(void)st;

	world_init(&w, 9, 10000);
	w.dst_silent = true;
	cfg_init(&c, true, true, false);
	c.recheck_us = 0;
	s = trace(&c, &w, &l, &took);
	assert_int_equal(ht_session_distance(s), 0);
	want[0] = 30;
	n = fill(want, 1, 1, 13, 3);
	assert_sent(&w, want, n);
	assert_int_equal(l.reason, HT_STOP_GAP);
	assert_int_equal(l.last_ttl, 13);
	assert_hops_in_order(&l, 13);
	/* 750 ms, 360 ms up to TTL 9, then five silent TTLs of 820 ms each. */
	assert_int_equal(took, 750000 + 360000 + 5 * 820000);
	ht_session_stats(s, &ss);
	assert_int_equal(ss.probes_distance, 1);
	assert_int_equal(ss.probes_unproven, 12);
	assert_int_equal(ss.probes_sent, 1 + 39);
	ht_session_free(s);

	/* The destination answers, but without a reply TTL: rule 1 from TTL 1,
	 * and still nothing past it. */
	world_init(&w, 5, 10000);
	w.dst_reply_ttl = 0;
	cfg_init(&c, true, true, false);
	memset(&l, 0, sizeof(l));
	s = trace(&c, &w, &l, &took);
	assert_int_equal(ht_session_distance(s), 0);
	want[0] = 30;
	n = fill(want, 1, 1, 5, 3);
	assert_sent(&w, want, n);
	assert_no_overshoot(&w, true, 30);
	assert_int_equal(l.reason, HT_STOP_REACHED);
	assert_int_equal(took, 50000 + 10000 * (1 + 2 + 3 + 4 + 5));
	ht_session_free(s);
}

/* A silent router at TTL 4 in the forward extension: TTL 5 leaves once TTL
 * 4 has had its whole wait (FAR floor, 750 ms), counted as a guess. With
 * the distance learnt, hop 4 is one of the TTLs sent at once and costs
 * only its NEAR wait (the destination's 90 ms + 300 ms). */
static void test_silent_hop_forward(void **st)
{
	struct world w;
	struct ht_config c;
	struct log l = {0};
	struct ht_session_stats ss;
	ht_session *s;
	uint64_t took;
	int want[64], n;
	(void)st;

	world_init(&w, 9, 10000);
	w.silent[4] = true;
	cfg_init(&c, true, false, false);
	s = trace(&c, &w, &l, &took);
	n = fill(want, 0, 1, 9, 3);
	assert_sent(&w, want, n);
	assert_no_overshoot(&w, false, 30);
	assert_int_equal(l.reason, HT_STOP_REACHED);
	assert_hops_in_order(&l, 9);
	for (int k = 0; k < 3; k++)
		assert_int_equal(ht_session_hop(s, 4)->probes[k].state, HT_PROBE_TIMEOUT);
	/* 10 + 20 + 30 ms to TTL 4, 750 ms for it, then 50 + ... + 90 ms. */
	assert_int_equal(took, 60000 + 750000 + 350000);
	ht_session_stats(s, &ss);
	assert_int_equal(ss.probes_unproven, 3);
	assert_int_equal(ss.probes_past_dst, 0);
	ht_session_free(s);

	world_init(&w, 9, 10000);
	w.silent[4] = true;
	cfg_init(&c, true, true, false);
	memset(&l, 0, sizeof(l));
	s = trace(&c, &w, &l, &took);
	want[0] = 30;
	n = fill(want, 1, 1, 9, 3);
	assert_sent(&w, want, n);
	assert_no_overshoot(&w, true, 30);
	assert_int_equal(took, 90000 + 390000);
	ht_session_stats(s, &ss);
	assert_int_equal(ss.probes_unproven, 0);
	ht_session_free(s);
}

/* The TTL at which each new TTL was first sent, in order. */
static int first_sends(const struct world *w, int *order)
{
	bool seen[256] = {false};
	int n = 0;

	for (int i = 0; i < w->sent; i++)
		if (!seen[w->sent_ttl[i]]) {
			seen[w->sent_ttl[i]] = true;
			order[n++] = w->sent_ttl[i];
		}
	return n;
}

/* The stop set on one session, empty at first. With the distance (9): TTL
 * 9 forward and 8 backward at once, then 7, 6 ... 1 one at a time; every
 * router goes into the set. Without anything (use_stopset alone) the start
 * is HT_STOPSET_START_TTL: 8..30 at once (overshoot allowed), 7 with them,
 * then 6 ... 1. With no_overshoot but no distance it starts at 1: no
 * backward part. */
static void test_stopset_one_session(void **st)
{
	struct ht_stopset *set;
	struct world w;
	struct ht_config c;
	struct log l = {0};
	struct ht_session_stats ss;
	ht_session *s;
	uint64_t took;
	int order[64], n;
	(void)st;

	assert_int_equal(ht_stopset_new(&set, 0, 0x1234), 0);
	world_init(&w, 9, 10000);
	cfg_init(&c, true, true, true);
	assert_int_equal(ht_session_new(&s, &c, &fake_ops, &w, on_event, &l), 0);
	ht_session_set_stopset(s, set);
	took = run(s, &w);
	{
		static const int want[] = {30, 8, 8, 8, 9, 9, 9, 7, 7, 7, 6, 6, 6, 5, 5, 5,
		                           4, 4, 4, 3, 3, 3, 2, 2, 2, 1, 1, 1};
		assert_sent(&w, want, (int)(sizeof(want) / sizeof(want[0])));
	}
	assert_no_overshoot(&w, true, 30);
	/* 90 ms, then each backward TTL one round trip to it: 80 + 70 + ... + 10. */
	assert_int_equal(took, 90000 + 360000);
	assert_int_equal(l.reason, HT_STOP_REACHED);
	assert_hops_in_order(&l, 9);
	for (int i = 0; i < 9; i++)
		assert_false(l.skipped[i]);
	assert_int_equal(ht_stopset_count(set), 8);
	ht_session_stats(s, &ss);
	assert_int_equal(ss.probes_saved_stopset, 0);
	ht_session_free(s);
	ht_stopset_free(set);

	assert_int_equal(ht_stopset_new(&set, 0, 0x1234), 0);
	world_init(&w, 12, 1000);
	cfg_init(&c, false, false, true);
	memset(&l, 0, sizeof(l));
	assert_int_equal(ht_session_new(&s, &c, &fake_ops, &w, on_event, &l), 0);
	ht_session_set_stopset(s, set);
	run(s, &w);
	n = first_sends(&w, order);
	{
		static const int want[] = {7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
		                           22, 23, 24, 25, 26, 27, 28, 29, 30, 6, 5, 4, 3, 2, 1};
		assert_int_equal(n, (int)(sizeof(want) / sizeof(want[0])));
		for (int i = 0; i < n; i++)
			assert_int_equal(order[i], want[i]);
	}
	assert_int_equal(l.reason, HT_STOP_REACHED);
	assert_hops_in_order(&l, 12);
	ht_session_free(s);
	ht_stopset_free(set);

	assert_int_equal(ht_stopset_new(&set, 0, 0x1234), 0);
	world_init(&w, 6, 1000);
	cfg_init(&c, true, false, true);
	memset(&l, 0, sizeof(l));
	assert_int_equal(ht_session_new(&s, &c, &fake_ops, &w, on_event, &l), 0);
	ht_session_set_stopset(s, set);
	run(s, &w);
	{
		int want[32];
		assert_sent(&w, want, fill(want, 0, 1, 6, 3));
	}
	assert_int_equal(ht_stopset_count(set), 5);
	ht_session_free(s);
	ht_stopset_free(set);
}

/* Engine runs: one trace at a time, each to its end, all sharing a stop
 * set set on the engine. */
static struct log elog;

static void engine_trace(ht_engine *e, struct world *w, const struct ht_config *c,
                         uint64_t *took)
{
	uint32_t id;
	uint64_t t0 = w->now;
	long guard = 0;

	memset(&elog, 0, sizeof(elog));
	elog.e = e;
	assert_int_equal(ht_engine_start(e, c, &fake_ops, w, w->now, &id), 0);
	while (ht_engine_active(e)) {
		uint64_t t = ht_engine_next_wakeup(e);
		int first = first_reply(w);

		if (first >= 0 && w->q[first].rx_us <= t) {
			struct ht_reply r = w->q[first];
			w->q[first] = w->q[--w->nq];
			w->now = r.rx_us;
			ht_engine_input(e, id, &r, w->now);
		} else {
			assert_true(t != UINT64_MAX);
			w->now = t > w->now ? t : w->now;
			assert_int_equal(ht_engine_tick(e, w->now), 0);
		}
		assert_true(++guard < 100000);
	}
	assert_int_equal(elog.trace_done, 1);
	*took = w->now - t0;
}

/* Three destinations from one vantage point: A (9 hops) and B (10 hops)
 * share routers 1..6, then branch; C (12 hops) is behind B's routers 7 and
 * 8. A is traced in full (TTL 9 and 8, then 7 down to 1). B probes 10 and
 * 9, then 8, 7, and 6, which A saw: hops 1..5 are skipped (15 probes
 * saved), reported in order with skipped set, and the gap limit (5) does
 * not take them for silence. C probes 12, 11, 10, 9 and 8 (B's): 1..7
 * skipped, 21 probes saved. No trace sends a probe past its destination. */
static void test_stopset_shared_on_engine(void **st)
{
	struct ht_stopset *set;
	ht_engine *e;
	struct world w;
	struct ht_config c;
	uint64_t took;
	(void)st;

	assert_int_equal(ht_stopset_new(&set, 0, 42), 0);
	assert_int_equal(ht_engine_new(&e, 0, on_event, &elog), 0);
	ht_engine_set_stopset(e, set);
	cfg_init(&c, true, true, true);

	/* A */
	world_init(&w, 9, 10000);
	for (int t = 7; t <= 9; t++)
		w.ip[t] = 0xc6130001u | (uint32_t)t << 8; /* 198.19.t.1 */
	engine_trace(e, &w, &c, &took);
	{
		static const int want[] = {30, 8, 8, 8, 9, 9, 9, 7, 7, 7, 6, 6, 6, 5, 5, 5,
		                           4, 4, 4, 3, 3, 3, 2, 2, 2, 1, 1, 1};
		assert_sent(&w, want, (int)(sizeof(want) / sizeof(want[0])));
	}
	assert_no_overshoot(&w, true, 30);
	assert_int_equal(elog.reason, HT_STOP_REACHED);
	assert_hops_in_order(&elog, 9);
	assert_int_equal(elog.distance, 9);
	assert_int_equal(elog.stats.probes_saved_stopset, 0);
	assert_int_equal(ht_stopset_count(set), 8);

	/* B */
	world_init(&w, 10, 10000);
	for (int t = 7; t <= 10; t++)
		w.ip[t] = 0xc6150001u | (uint32_t)t << 8; /* 198.21.t.1 */
	engine_trace(e, &w, &c, &took);
	{
		static const int want[] = {30, 9, 9, 9, 10, 10, 10, 8, 8, 8, 7, 7, 7, 6, 6, 6};
		assert_sent(&w, want, (int)(sizeof(want) / sizeof(want[0])));
	}
	assert_no_overshoot(&w, true, 30);
	/* 100 ms, then 90, 80, 70 and 60 ms backward. */
	assert_int_equal(took, 100000 + 300000);
	assert_int_equal(elog.reason, HT_STOP_REACHED);
	assert_int_equal(elog.last_ttl, 10);
	assert_hops_in_order(&elog, 10);
	for (int i = 0; i < 10; i++)
		assert_int_equal(elog.skipped[i], i + 1 <= 5);
	assert_int_equal(elog.stats.probes_saved_stopset, 15);
	assert_int_equal(elog.stats.probes_sent, 16);
	assert_int_equal(elog.stats.probes_distance, 1);
	assert_int_equal(ht_stopset_count(set), 11);

	/* C */
	world_init(&w, 12, 10000);
	for (int t = 7; t <= 8; t++)
		w.ip[t] = 0xc6150001u | (uint32_t)t << 8; /* B's */
	for (int t = 9; t <= 12; t++)
		w.ip[t] = 0xc6160001u | (uint32_t)t << 8; /* 198.22.t.1 */
	engine_trace(e, &w, &c, &took);
	{
		static const int want[] = {30, 11, 11, 11, 12, 12, 12, 10, 10, 10,
		                           9,  9,  9,  8,  8,  8};
		assert_sent(&w, want, (int)(sizeof(want) / sizeof(want[0])));
	}
	assert_no_overshoot(&w, true, 30);
	assert_int_equal(elog.reason, HT_STOP_REACHED);
	assert_hops_in_order(&elog, 12);
	for (int i = 0; i < 12; i++)
		assert_int_equal(elog.skipped[i], i + 1 <= 7);
	assert_int_equal(elog.stats.probes_saved_stopset, 21);
	assert_int_equal(ht_stopset_count(set), 14);

	/* A trace started after the set is taken off the engine reads none. */
	ht_engine_set_stopset(e, NULL);
	world_init(&w, 10, 10000);
	for (int t = 7; t <= 10; t++)
		w.ip[t] = 0xc6150001u | (uint32_t)t << 8;
	engine_trace(e, &w, &c, &took);
	assert_int_equal(elog.stats.probes_saved_stopset, 0);
	{
		int want[64];
		want[0] = 30;
		assert_sent(&w, want, fill(want, 1, 1, 10, 3));
	}
	assert_int_equal(ht_stopset_count(set), 14);

	ht_engine_free(e);
	ht_stopset_free(set);
}

/* use_stopset alone starts at TTL 8; a destination at 5 is found by the
 * backward walk: 8..30 and 7, 6 reach it, each lowering the stop TTL, and
 * the trace ends at 5 with hops 1..5 in order. */
static void test_stopset_destination_below_start(void **st)
{
	struct ht_stopset *set;
	struct world w;
	struct ht_config c;
	struct log l = {0};
	ht_session *s;
	int order[64], n;
	(void)st;

	assert_int_equal(ht_stopset_new(&set, 0, 9), 0);
	world_init(&w, 5, 1000);
	cfg_init(&c, false, false, true);
	assert_int_equal(ht_session_new(&s, &c, &fake_ops, &w, on_event, &l), 0);
	ht_session_set_stopset(s, set);
	run(s, &w);
	n = first_sends(&w, order);
	assert_true(n >= 5);
	assert_int_equal(order[0], 7);
	assert_int_equal(order[n - 5], 5);
	assert_int_equal(order[n - 1], 1);
	assert_int_equal(l.reason, HT_STOP_REACHED);
	assert_int_equal(l.last_ttl, 5);
	assert_hops_in_order(&l, 5);
	assert_true(ht_session_hop(s, 5)->reached);
	assert_int_equal(ht_stopset_count(set), 4);
	ht_session_free(s);
	ht_stopset_free(set);
}

/* Two traces in flight together behind the same routers 1..6: neither
 * sees the other's routers in the set before it is over, so both walk
 * down to TTL 1 and nothing goes untraced; a third, started after, skips. */
static struct world cw[3];
static struct log tlog[3];
static uint32_t cid[3];
static ht_engine *ce;

static void on_cevent(void *u, const struct ht_event *ev)
{
	(void)u;
	for (int k = 0; k < 3; k++)
		if (cid[k] == ev->trace) {
			if (ev->type == HT_EV_TRACE_DONE) {
				ht_session_stats(ht_engine_session(ce, ev->trace), &tlog[k].stats);
				tlog[k].trace_done++;
			} else if (ev->type == HT_EV_HOP_DONE) {
				tlog[k].skipped[tlog[k].nhops] = ev->hop->skipped;
				tlog[k].hops[tlog[k].nhops++] = ev->hop->ttl;
			}
		}
}

static void test_stopset_concurrent_traces(void **st)
{
	struct ht_stopset *set;
	struct ht_config c;
	uint32_t *id = cid;
	long guard = 0;
	(void)st;

	memset(cid, 0, sizeof(cid));
	assert_int_equal(ht_stopset_new(&set, 0, 5), 0);
	assert_int_equal(ht_engine_new(&ce, 0, on_cevent, NULL), 0);
	ht_engine_set_stopset(ce, set);
	cfg_init(&c, true, true, true);
	memset(tlog, 0, sizeof(tlog));
	for (int k = 0; k < 3; k++) {
		world_init(&cw[k], 9, 10000);
		for (int t = 7; t <= 9; t++)
			cw[k].ip[t] = (0xc6130001u + ((uint32_t)k << 16)) | (uint32_t)t << 8;
	}
	for (int k = 0; k < 3; k++) {
		if (k == 2) {
			/* The third starts once the first two are over. */
			while (ht_engine_active(ce)) {
				uint64_t t = ht_engine_next_wakeup(ce);
				int best = -1, f = -1;
				for (int j = 0; j < 2; j++) {
					int i = first_reply(&cw[j]);
					if (i >= 0 && (best < 0 || cw[j].q[i].rx_us <
					                               cw[best].q[f].rx_us)) {
						best = j;
						f = i;
					}
				}
				if (best >= 0 && cw[best].q[f].rx_us <= t) {
					struct ht_reply r = cw[best].q[f];
					cw[best].q[f] = cw[best].q[--cw[best].nq];
					cw[0].now = cw[1].now = r.rx_us;
					ht_engine_input(ce, id[best], &r, r.rx_us);
				} else {
					assert_true(t != UINT64_MAX);
					if (t > cw[0].now)
						cw[0].now = cw[1].now = t;
					assert_int_equal(ht_engine_tick(ce, cw[0].now), 0);
				}
				assert_true(++guard < 100000);
			}
			cw[2].now = cw[0].now;
		}
		assert_int_equal(ht_engine_start(ce, &c, &fake_ops, &cw[k], cw[k].now, &id[k]), 0);
	}
	while (ht_engine_active(ce)) {
		uint64_t t = ht_engine_next_wakeup(ce);
		int i = first_reply(&cw[2]);
		if (i >= 0 && cw[2].q[i].rx_us <= t) {
			struct ht_reply r = cw[2].q[i];
			cw[2].q[i] = cw[2].q[--cw[2].nq];
			cw[2].now = r.rx_us;
			ht_engine_input(ce, id[2], &r, r.rx_us);
		} else {
			assert_true(t != UINT64_MAX);
			if (t > cw[2].now)
				cw[2].now = t;
			assert_int_equal(ht_engine_tick(ce, cw[2].now), 0);
		}
		assert_true(++guard < 100000);
	}
	for (int k = 0; k < 3; k++) {
		assert_int_equal(tlog[k].trace_done, 1);
		assert_hops_in_order(&tlog[k], 9);
		assert_no_overshoot(&cw[k], true, 30);
	}
	assert_int_equal(tlog[0].stats.probes_saved_stopset, 0);
	assert_int_equal(tlog[1].stats.probes_saved_stopset, 0);
	assert_int_equal(cw[0].sent, 1 + 27);
	assert_int_equal(cw[1].sent, 1 + 27);
	/* The third: 8 and 9, then 7 (its own), then 6 (shared): 1..5 skipped. */
	assert_int_equal(tlog[2].stats.probes_saved_stopset, 15);
	assert_int_equal(cw[2].sent, 1 + 12);
	for (int i = 0; i < 9; i++)
		assert_int_equal(tlog[2].skipped[i], i + 1 <= 5);
	/* 6 shared routers, and routers 7 and 8 of each of the three paths. */
	assert_int_equal(ht_stopset_count(set), 6 + 3 * 2);
	ht_engine_free(ce);
	ht_stopset_free(set);
}

/* The set itself: IPv4 and IPv6 apart, duplicates, the bound, growth. */
static void test_stopset_api(void **st)
{
	struct ht_stopset *set;
	ht_addr a, b, z = {0};
	(void)st;

	assert_int_equal(ht_stopset_new(&set, HT_STOPSET_LIMIT + 1, 0), -EINVAL);
	assert_null(set);
	assert_int_equal(ht_stopset_new(&set, 1000, 7), 0);
	assert_int_equal(ht_addr_parse("192.0.2.1", &a), 0);
	assert_int_equal(ht_addr_parse("::ffff:192.0.2.1", &b), 0);
	assert_false(ht_stopset_has(set, &a));
	assert_int_equal(ht_stopset_add(set, &a), 1);
	assert_int_equal(ht_stopset_add(set, &a), 0);
	assert_true(ht_stopset_has(set, &a));
	assert_false(ht_stopset_has(set, &b));
	assert_int_equal(ht_stopset_add(set, &b), 1);
	assert_int_equal(ht_stopset_add(set, &z), -EINVAL);
	assert_false(ht_stopset_has(set, &z));
	for (uint32_t i = 0; i < 2000; i++) {
		ht_addr x = {.family = AF_INET};
		int rc;
		x.u.v4.s_addr = htonl(0x0a000000u + i);
		rc = ht_stopset_add(set, &x);
		/* a and b are in: room for 998 more. */
		assert_int_equal(rc, i < 998 ? 1 : -ENOSPC);
	}
	assert_int_equal(ht_stopset_count(set), 1000);
	for (uint32_t i = 0; i < 998; i++) {
		ht_addr x = {.family = AF_INET};
		x.u.v4.s_addr = htonl(0x0a000000u + i);
		assert_true(ht_stopset_has(set, &x));
	}
	assert_true(ht_stopset_has(set, &a));
	assert_true(ht_stopset_has(set, &b));
	ht_stopset_free(set);
}

/* ---- distance prediction from neighbours (struct ht_distmap) ---- */

/* A stop set holding w's routers at TTLs lo..hi. */
static struct ht_stopset *stopset_with(const struct world *w, int lo, int hi)
{
	struct ht_stopset *ss;

	assert_int_equal(ht_stopset_new(&ss, 0, 77), 0);
	for (int t = lo; t <= hi; t++) {
		ht_addr a;
		hop_addr(w, t, &a);
		assert_int_equal(ht_stopset_add(ss, &a), 1);
	}
	return ss;
}

/* A distance table knowing `d` for the neighbour `nb` (none when d is 0). */
static struct ht_distmap *distmap_with(const char *nb, int d)
{
	struct ht_distmap *dm;
	ht_addr a;

	assert_int_equal(ht_distmap_new(&dm, 0, 3), 0);
	if (d) {
		assert_int_equal(ht_addr_parse(nb, &a), 0);
		assert_int_equal(ht_distmap_learn(dm, &a, d), 1);
	}
	return dm;
}

/* One session on a distance table and a stop set; every hop it reports is
 * checked against the probes w saw leave. */
static ht_session *ptrace(const struct ht_config *c, struct world *w, struct log *l,
                          struct ht_distmap *dm, struct ht_stopset *ss, uint64_t *took)
{
	ht_session *s;
	uint64_t t;

	memset(l, 0, sizeof(*l));
	l->w = w;
	assert_int_equal(ht_session_new(&s, c, &fake_ops, w, on_event, l), 0);
	ht_session_set_distmap(s, dm);
	ht_session_set_stopset(s, ss);
	t = run(s, w);
	if (took)
		*took = t;
	return s;
}

static int predicted_of(const struct ht_distmap *dm, const char *text)
{
	ht_addr a;

	assert_int_equal(ht_addr_parse(text, &a), 0);
	return ht_distmap_predict(dm, &a);
}

/* The prediction is right: a neighbour (198.18.200.77) was 9 hops away,
 * and so is the destination. The distance probe leaves at TTL 9 as hop 9's
 * first probe; the destination answers it, so TTL 8 (and hop 9's other
 * probes) follow, and router 8, in the stop set, ends the walk. -q 1: 2
 * probes in all (a distance probe at max_ttl, TTL 9 and TTL 8 made 3);
 * -q 3: 6 (7). */
static void test_predict_right(void **st)
{
	(void)st;

	for (int nq = 1; nq <= 3; nq += 2) {
		struct ht_distmap *dm = distmap_with("198.18.200.77", 9);
		struct ht_stopset *ss;
		struct world w;
		struct ht_config c;
		struct log l;
		struct ht_session_stats ss_st;
		ht_session *s;
		uint64_t took;
		int want[16], n;

		world_init(&w, 9, 10000);
		ss = stopset_with(&w, 1, 8);
		cfg_init(&c, true, true, true);
		c.nqueries = nq;
		s = ptrace(&c, &w, &l, dm, ss, &took);
		want[0] = 9;
		n = fill(want, 1, 8, 8, nq);
		n = fill(want, n, 9, 9, nq - 1);
		assert_sent(&w, want, n);
		/* Hop 9's first probe, by its sequence number. */
		assert_int_equal(w.sent_seq[0], 8 * nq);
		assert_int_equal(took, nq == 1 ? 170000 : 180000);
		assert_int_equal(l.reason, HT_STOP_REACHED);
		assert_hops_in_order(&l, 9);
		for (int i = 0; i < 9; i++)
			assert_int_equal(l.skipped[i], i + 1 <= 7);
		assert_int_equal(ht_session_hop(s, 9)->probes[0].state, HT_PROBE_REPLIED);
		assert_true(ht_session_hop(s, 9)->probes[0].reached);
		assert_int_equal(ht_session_distance(s), 9);
		assert_int_equal(ht_session_proven_distance(s), 9);
		ht_session_stats(s, &ss_st);
		assert_int_equal(ss_st.probes_sent, n);
		assert_int_equal(ss_st.probes_distance, 1);
		assert_int_equal(ss_st.probes_predicted, 1);
		assert_int_equal(ss_st.predicted_right, 1);
		assert_int_equal(ss_st.probes_past_dst, 0);
		assert_int_equal(ss_st.probes_unproven, 0);
		assert_int_equal(ss_st.probes_saved_stopset, 7 * nq);
		ht_session_free(s);
		ht_stopset_free(ss);
		ht_distmap_free(dm);
	}
}

/* Too short: 7 predicted, the destination at 9. Router 7 answers the
 * distance probe (hop 7's real probe): the path is longer, so TTL 8 may
 * go, and 9 once 8 answered time exceeded; the walk back starts at 6 and
 * stops there (in the stop set). 4 probes, 4 round trips in sequence
 * (70 + 80 + 90 ms; 6 answers meanwhile). With router 7 itself in the
 * set, the hops below it are skipped at once: 3 probes. The proven 9
 * replaces the 7. */
static void test_predict_too_short(void **st)
{
	(void)st;

	for (int in_set = 6; in_set <= 7; in_set++) {
		struct ht_distmap *dm = distmap_with("198.18.200.77", 7);
		struct ht_stopset *ss;
		struct world w;
		struct ht_config c;
		struct log l;
		struct ht_session_stats ss_st;
		ht_session *s;
		uint64_t took;

		world_init(&w, 9, 10000);
		ss = stopset_with(&w, 1, in_set);
		cfg_init(&c, true, true, true);
		c.nqueries = 1;
		s = ptrace(&c, &w, &l, dm, ss, &took);
		if (in_set == 6) {
			static const int want[] = {7, 6, 8, 9};
			assert_sent(&w, want, 4);
		} else {
			static const int want[] = {7, 8, 9};
			assert_sent(&w, want, 3);
		}
		assert_no_overshoot(&w, false, 30);
		assert_int_equal(took, 240000);
		assert_int_equal(l.reason, HT_STOP_REACHED);
		assert_hops_in_order(&l, 9);
		for (int i = 0; i < 9; i++)
			assert_int_equal(l.skipped[i], i + 1 < in_set);
		assert_int_equal(ht_session_hop(s, 7)->probes[0].reply.kind, HT_REPLY_TIME_EXCEEDED);
		ht_session_stats(s, &ss_st);
		assert_int_equal(ss_st.probes_sent, in_set == 6 ? 4 : 3);
		assert_int_equal(ss_st.probes_predicted, 1);
		assert_int_equal(ss_st.predicted_right, 0);
		assert_int_equal(ss_st.probes_unproven, 0);
		assert_int_equal(ss_st.probes_past_dst, 0);
		assert_int_equal(ht_session_distance(s), 0);
		assert_int_equal(ht_session_proven_distance(s), 9);
		assert_int_equal(predicted_of(dm, "198.18.200.3"), 9);
		ht_session_free(s);
		ht_stopset_free(ss);
		ht_distmap_free(dm);
	}
}

/* Too long: 11 predicted, the destination at 9. It answers the distance
 * probe (the one probe past it, as a max_ttl one would be), its reply TTL
 * gives 9, and the trace goes on as without a prediction: 9 and 8, router
 * 8 in the set. 3 probes (-q 3: 7); hop 11 is never reported, its other
 * probes never sent, and the distance probe is not counted past the
 * destination. The table keeps the larger 11. */
static void test_predict_too_long(void **st)
{
	(void)st;

	for (int nq = 1; nq <= 3; nq += 2) {
		struct ht_distmap *dm = distmap_with("198.18.200.77", 11);
		struct ht_stopset *ss;
		struct world w;
		struct ht_config c;
		struct log l;
		struct ht_session_stats ss_st;
		ht_session *s;
		uint64_t took;
		int want[16], n;

		world_init(&w, 9, 10000);
		ss = stopset_with(&w, 1, 8);
		cfg_init(&c, true, true, true);
		c.nqueries = nq;
		s = ptrace(&c, &w, &l, dm, ss, &took);
		want[0] = 11;
		n = fill(want, 1, 8, 9, nq);
		assert_sent(&w, want, n);
		assert_int_equal(w.sent_seq[0], 10 * nq);
		for (int i = 1; i < w.sent; i++)
			assert_true(w.sent_ttl[i] <= 9);
		assert_int_equal(took, 180000);
		assert_int_equal(l.reason, HT_STOP_REACHED);
		assert_int_equal(l.last_ttl, 9);
		assert_hops_in_order(&l, 9);
		assert_int_equal(ht_session_distance(s), 9);
		assert_int_equal(ht_session_proven_distance(s), 9);
		ht_session_stats(s, &ss_st);
		assert_int_equal(ss_st.probes_sent, n);
		assert_int_equal(ss_st.probes_distance, 1);
		assert_int_equal(ss_st.probes_predicted, 1);
		assert_int_equal(ss_st.predicted_right, 0);
		assert_int_equal(ss_st.probes_past_dst, 0);
		assert_int_equal(predicted_of(dm, "198.18.200.3"), 11);
		ht_session_free(s);
		ht_stopset_free(ss);
		ht_distmap_free(dm);
	}
}

/* A silent destination where a neighbour answered at 9: the distance
 * probe at 9 is waited for as long as one at max_ttl (750 ms), then the
 * trace falls back as without an answer: TTL 1 up, one at a time. Hop 9
 * already had its probe (silent): 10 follows 8 at once, then 11, 12, 13
 * as guesses until the gap limit. 13 probes (with a max_ttl distance
 * probe, 14), one FAR wait less; hop 9 is reported with the probe sent
 * at TTL 9. Nothing is learnt. */
static void test_predict_silent_destination(void **st)
{
	struct ht_distmap *dm = distmap_with("198.18.200.77", 9);
	struct ht_stopset *ss;
	struct world w;
	struct ht_config c;
	struct log l;
	struct ht_session_stats ss_st;
	ht_session *s;
	uint64_t took;
	(void)st;

	world_init(&w, 9, 10000);
	w.dst_silent = true;
	ss = stopset_with(&w, 1, 8);
	cfg_init(&c, true, true, true);
	c.nqueries = 1;
	c.recheck_us = 0;
	s = ptrace(&c, &w, &l, dm, ss, &took);
	{
		static const int want[] = {9, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13};
		assert_sent(&w, want, 13);
	}
	assert_int_equal(took, 750000 + 360000 + 4 * 820000);
	assert_int_equal(l.reason, HT_STOP_GAP);
	assert_hops_in_order(&l, 13);
	assert_int_equal(ht_session_hop(s, 9)->probes[0].state, HT_PROBE_TIMEOUT);
	ht_session_stats(s, &ss_st);
	assert_int_equal(ss_st.probes_sent, 13);
	assert_int_equal(ss_st.probes_distance, 1);
	assert_int_equal(ss_st.probes_predicted, 1);
	assert_int_equal(ss_st.predicted_right, 0);
	assert_int_equal(ss_st.probes_unproven, 4);
	assert_int_equal(ht_session_proven_distance(s), 0);
	assert_int_equal(ht_distmap_count(dm), 1);
	assert_int_equal(predicted_of(dm, "198.18.200.3"), 9);
	ht_session_free(s);
	ht_stopset_free(ss);
	ht_distmap_free(dm);
}

/* No neighbour known (only one in another /24): exactly the trace without
 * a table (test_stopset_one_session). It proves its distance, so the next
 * trace into its /24 uses it: 6 probes instead of 28, every hop below 8
 * skipped (its routers went into the set). A path whose hop below the
 * destination is silent proves nothing and teaches the table nothing. */
static void test_predict_no_neighbour(void **st)
{
	struct ht_distmap *dm = distmap_with("198.18.201.77", 4);
	struct ht_stopset *ss;
	struct world w;
	struct ht_config c;
	struct log l;
	struct ht_session_stats ss_st;
	ht_session *s;
	uint64_t took;
	(void)st;

	assert_int_equal(ht_stopset_new(&ss, 0, 1), 0);
	world_init(&w, 9, 10000);
	cfg_init(&c, true, true, true);
	s = ptrace(&c, &w, &l, dm, ss, &took);
	{
		static const int want[] = {30, 8, 8, 8, 9, 9, 9, 7, 7, 7, 6, 6, 6, 5, 5, 5,
		                           4, 4, 4, 3, 3, 3, 2, 2, 2, 1, 1, 1};
		assert_sent(&w, want, (int)(sizeof(want) / sizeof(want[0])));
	}
	assert_int_equal(w.sent_seq[0], 2 * 30 * 3);
	assert_int_equal(took, 90000 + 360000);
	assert_hops_in_order(&l, 9);
	ht_session_stats(s, &ss_st);
	assert_int_equal(ss_st.probes_distance, 1);
	assert_int_equal(ss_st.probes_predicted, 0);
	assert_int_equal(ss_st.predicted_right, 0);
	ht_session_free(s);
	assert_int_equal(ht_distmap_count(dm), 2);
	assert_int_equal(predicted_of(dm, "198.18.200.200"), 9);
	assert_int_equal(predicted_of(dm, "198.18.201.1"), 4);

	world_init(&w, 9, 10000);
	assert_int_equal(ht_addr_parse("198.18.200.200", &c.dst), 0);
	s = ptrace(&c, &w, &l, dm, ss, &took);
	{
		static const int want[] = {9, 8, 8, 8, 9, 9};
		assert_sent(&w, want, 6);
	}
	assert_hops_in_order(&l, 9);
	for (int i = 0; i < 9; i++)
		assert_int_equal(l.skipped[i], i + 1 <= 7);
	ht_session_stats(s, &ss_st);
	assert_int_equal(ss_st.predicted_right, 1);
	ht_session_free(s);

	/* Hop 8 silent: the destination answers at 9, but 8 is not proven
	 * short of it. */
	ht_distmap_free(dm);
	dm = distmap_with(NULL, 0);
	world_init(&w, 9, 10000);
	w.silent[8] = true;
	s = ptrace(&c, &w, &l, dm, NULL, NULL);
	assert_int_equal(l.reason, HT_STOP_REACHED);
	assert_int_equal(ht_session_distance(s), 9);
	assert_int_equal(ht_session_proven_distance(s), 0);
	assert_int_equal(ht_distmap_count(dm), 0);
	ht_session_free(s);
	/* A destination at TTL 1 needs no time exceeded below it. */
	world_init(&w, 1, 10000);
	s = ptrace(&c, &w, &l, dm, NULL, NULL);
	assert_int_equal(ht_session_proven_distance(s), 1);
	assert_int_equal(predicted_of(dm, "198.18.200.1"), 1);
	ht_session_free(s);
	ht_distmap_free(dm);
	ht_stopset_free(ss);

	/* A prediction beyond max_ttl is none: the probe goes to max_ttl. */
	dm = distmap_with("198.18.200.77", 9);
	world_init(&w, 5, 10000);
	c.max_ttl = 8;
	s = ptrace(&c, &w, &l, dm, NULL, NULL);
	assert_int_equal(w.sent_ttl[0], 8);
	assert_int_equal(w.sent_seq[0], 2 * 8 * 3);
	ht_session_stats(s, &ss_st);
	assert_int_equal(ss_st.probes_predicted, 0);
	assert_int_equal(l.reason, HT_STOP_REACHED);
	ht_session_free(s);
	ht_distmap_free(dm);
}

/* On an engine, a trace's distance goes into the table as soon as it is
 * proven, not when the trace is over: a neighbour started while the first
 * trace still walks back sends its distance probe at the learnt TTL. */
static struct world pw[2];
static struct log plog[2];
static uint32_t pid_[2];

static void on_pevent(void *u, const struct ht_event *ev)
{
	(void)u;
	for (int k = 0; k < 2; k++)
		if (pid_[k] && pid_[k] == ev->trace) {
			on_event(&plog[k], ev);
			if (ev->type == HT_EV_TRACE_DONE)
				ht_session_stats(ht_engine_session(plog[k].e, ev->trace),
				                 &plog[k].stats);
		}
}

/* One step of an engine running the traces of pw[0..n-1]: the earliest
 * reply, or a tick. */
static void pstep(ht_engine *e, int n)
{
	uint64_t t = ht_engine_next_wakeup(e), now = pw[0].now;
	int best = -1, f = -1;

	for (int j = 0; j < n; j++) {
		int i = first_reply(&pw[j]);
		if (i >= 0 && (best < 0 || pw[j].q[i].rx_us < pw[best].q[f].rx_us)) {
			best = j;
			f = i;
		}
	}
	if (best >= 0 && pw[best].q[f].rx_us <= t) {
		struct ht_reply r = pw[best].q[f];
		pw[best].q[f] = pw[best].q[--pw[best].nq];
		now = r.rx_us > now ? r.rx_us : now;
		for (int j = 0; j < 2; j++)
			pw[j].now = now;
		ht_engine_input(e, pid_[best], &r, now);
	} else {
		assert_true(t != UINT64_MAX);
		now = t > now ? t : now;
		for (int j = 0; j < 2; j++)
			pw[j].now = now;
		assert_int_equal(ht_engine_tick(e, now), 0);
	}
}

static void test_predict_engine_learns_early(void **st)
{
	struct ht_distmap *dm;
	struct ht_stopset *ss;
	struct ht_config c;
	ht_engine *e;
	long guard = 0;
	(void)st;

	assert_int_equal(ht_distmap_new(&dm, 0, 11), 0);
	assert_int_equal(ht_stopset_new(&ss, 0, 12), 0);
	assert_int_equal(ht_engine_new(&e, 0, on_pevent, NULL), 0);
	ht_engine_set_stopset(e, ss);
	ht_engine_set_distmap(e, dm);
	memset(pid_, 0, sizeof(pid_));
	memset(plog, 0, sizeof(plog));
	cfg_init(&c, true, true, true);
	c.nqueries = 1;
	for (int k = 0; k < 2; k++) {
		world_init(&pw[k], 9, 10000);
		plog[k].w = &pw[k];
		plog[k].e = e;
	}
	assert_int_equal(ht_engine_start(e, &c, &fake_ops, &pw[0], pw[0].now, &pid_[0]), 0);
	while (!predicted_of(dm, "198.18.200.2")) {
		pstep(e, 1);
		assert_true(++guard < 100000);
	}
	/* Proven when the destination answered at 9 (router 8 had answered
	 * time exceeded): 90 + 90 ms in; the walk back goes on. */
	assert_int_equal(pw[0].now, 1000000 + 180000);
	assert_int_equal(ht_engine_active(e), 1);
	assert_int_equal(predicted_of(dm, "198.18.200.2"), 9);
	assert_int_equal(ht_addr_parse("198.18.200.2", &c.dst), 0);
	assert_int_equal(ht_engine_start(e, &c, &fake_ops, &pw[1], pw[1].now, &pid_[1]), 0);
	while (ht_engine_active(e)) {
		pstep(e, 2);
		assert_true(++guard < 100000);
	}
	for (int k = 0; k < 2; k++) {
		assert_int_equal(plog[k].trace_done, 1);
		assert_int_equal(plog[k].reason, HT_STOP_REACHED);
		assert_hops_in_order(&plog[k], 9);
	}
	assert_int_equal(pw[0].sent, 1 + 9);
	assert_int_equal(plog[0].stats.probes_predicted, 0);
	/* The second: 9 at once, then back from 8; the first trace ends (its
	 * routers enter the set) before its TTL 6 answers: 4 probes. */
	assert_int_equal(pw[1].sent_ttl[0], 9);
	assert_int_equal(pw[1].sent_seq[0], 8);
	{
		static const int want[] = {9, 8, 7, 6};
		assert_sent(&pw[1], want, 4);
	}
	assert_int_equal(plog[1].stats.probes_predicted, 1);
	assert_int_equal(plog[1].stats.predicted_right, 1);
	ht_engine_free(e);
	ht_stopset_free(ss);
	ht_distmap_free(dm);
}

/* The table: prefixes (/24, /48), families apart, the largest distance
 * kept, bad input refused, and its bound. */
static void test_distmap_api(void **st)
{
	struct ht_distmap *dm;
	ht_addr a, z = {0};
	(void)st;

	assert_int_equal(ht_distmap_new(&dm, HT_DISTMAP_LIMIT + 1, 0), -EINVAL);
	assert_null(dm);
	dm = distmap_with("198.18.200.1", 9);
	assert_int_equal(predicted_of(dm, "198.18.200.255"), 9);
	assert_int_equal(predicted_of(dm, "198.18.201.1"), 0);
	assert_int_equal(predicted_of(dm, "::ffff:198.18.200.1"), 0);
	assert_int_equal(ht_addr_parse("198.18.200.9", &a), 0);
	assert_int_equal(ht_distmap_learn(dm, &a, 7), 0);
	assert_int_equal(predicted_of(dm, "198.18.200.1"), 9);
	assert_int_equal(ht_distmap_learn(dm, &a, 12), 1);
	assert_int_equal(predicted_of(dm, "198.18.200.1"), 12);
	assert_int_equal(ht_distmap_learn(dm, &a, 0), -EINVAL);
	assert_int_equal(ht_distmap_learn(dm, &a, 256), -EINVAL);
	assert_int_equal(ht_distmap_learn(dm, &z, 5), -EINVAL);
	assert_int_equal(ht_distmap_predict(dm, &z), 0);
	assert_int_equal(ht_distmap_predict(NULL, &a), 0);
	assert_int_equal(ht_addr_parse("2001:db8:1::1", &a), 0);
	assert_int_equal(ht_distmap_learn(dm, &a, 255), 1);
	assert_int_equal(predicted_of(dm, "2001:db8:1:ffff::9"), 255);
	assert_int_equal(predicted_of(dm, "2001:db8:2::1"), 0);
	assert_int_equal(ht_distmap_count(dm), 2);
	ht_distmap_free(dm);

	/* Bounded at 1000 (1024 slots): 100,000 /24s leave at most 1024, and
	 * the last ones learnt are there. */
	assert_int_equal(ht_distmap_new(&dm, 1000, 99), 0);
	for (uint32_t i = 0; i < 100000; i++) {
		a.family = AF_INET;
		a.u.v4.s_addr = htonl(0x0a000001u + (i << 8));
		assert_true(ht_distmap_learn(dm, &a, (int)(i % 30) + 1) == 1);
	}
	assert_true(ht_distmap_count(dm) <= 1024);
	assert_true(ht_distmap_count(dm) > 900);
	for (uint32_t i = 100000 - 8; i < 100000; i++) {
		a.u.v4.s_addr = htonl(0x0a000001u + (i << 8));
		assert_int_equal(ht_distmap_predict(dm, &a), (int)(i % 30) + 1);
	}
	ht_distmap_free(dm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_off),
		cmocka_unit_test(test_no_overshoot_one_ttl_at_a_time),
		cmocka_unit_test(test_distance_estimates),
		cmocka_unit_test(test_distance_too_high),
		cmocka_unit_test(test_distance_too_low),
		cmocka_unit_test(test_silent_destination),
		cmocka_unit_test(test_silent_hop_forward),
		cmocka_unit_test(test_stopset_one_session),
		cmocka_unit_test(test_stopset_shared_on_engine),
		cmocka_unit_test(test_stopset_destination_below_start),
		cmocka_unit_test(test_stopset_concurrent_traces),
		cmocka_unit_test(test_stopset_api),
		cmocka_unit_test(test_predict_right),
		cmocka_unit_test(test_predict_too_short),
		cmocka_unit_test(test_predict_too_long),
		cmocka_unit_test(test_predict_silent_destination),
		cmocka_unit_test(test_predict_no_neighbour),
		cmocka_unit_test(test_predict_engine_learns_early),
		cmocka_unit_test(test_distmap_api),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
