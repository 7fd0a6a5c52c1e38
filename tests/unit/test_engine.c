/*
 * The engine: many traces at once on one budget. A fake network answers
 * every probe after a round trip that depends on its TTL; each trace has
 * its own destination distance. Checked: every trace ends with the right
 * hops and its own events, 10,000 traces in flight at once, the shared
 * budget holds in every window across all traces, traces share it round
 * robin, ids of finished traces find nothing, and a trace can be started
 * from the event callback.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "hoptrace/hoptrace.h"

#define MAXT 10000

struct pend {
	uint64_t at;
	uint32_t trace; /* index in net.tr */
	struct ht_reply r;
};

struct tr {
	uint32_t id;
	int dist;          /* destination at this TTL */
	int hops_done;     /* HOP_DONE events seen */
	int next_ttl;      /* TTL the next HOP_DONE must carry */
	int done;          /* TRACE_DONE events */
	enum ht_stop_reason reason;
	int last_ttl;
	int sent;
	uint64_t first_tx;
};

static struct net {
	uint64_t now;
	struct pend *q;    /* binary heap on at */
	size_t nq, capq;
	struct tr tr[MAXT + 8];
	uint32_t ntr;
	uint64_t *tx;      /* every send time, in order */
	size_t ntx, captx;
	ht_engine *e;
	int start_more;    /* traces to start from the callback */
	struct ht_config cfg;
	uint32_t per_hop_us;
} net;

static void q_push(const struct pend *p)
{
	size_t i;

	if (net.nq == net.capq) {
		net.capq = net.capq ? net.capq * 2 : 4096;
		net.q = realloc(net.q, net.capq * sizeof(*net.q));
		assert_non_null(net.q);
	}
	i = net.nq++;
	net.q[i] = *p;
	while (i > 0 && net.q[(i - 1) / 2].at > net.q[i].at) {
		struct pend x = net.q[i];
		net.q[i] = net.q[(i - 1) / 2];
		net.q[(i - 1) / 2] = x;
		i = (i - 1) / 2;
	}
}

static struct pend q_pop(void)
{
	struct pend top = net.q[0];
	size_t i = 0;

	net.q[0] = net.q[--net.nq];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < net.nq && net.q[l].at < net.q[m].at)
			m = l;
		if (r < net.nq && net.q[r].at < net.q[m].at)
			m = r;
		if (m == i)
			break;
		struct pend x = net.q[i];
		net.q[i] = net.q[m];
		net.q[m] = x;
		i = m;
	}
	return top;
}

static void hop_addr(uint32_t trace, int ttl, bool dst, ht_addr *a)
{
	a->family = AF_INET;
	/* Routers are shared (198.18.<ttl>.1), destinations are not. */
	a->u.v4.s_addr = dst ? htonl(0xc6130000u + trace) : htonl(0xc6120001u | (uint32_t)ttl << 8);
}

static int fake_send(void *ctx, uint16_t seq, uint8_t ttl, uint64_t *tx)
{
	uint32_t k = (uint32_t)(uintptr_t)ctx;
	struct tr *t = &net.tr[k];
	struct pend p = {0};
	bool dst = ttl >= t->dist;

	*tx = net.now;
	if (!t->sent++)
		t->first_tx = net.now;
	if (net.ntx == net.captx) {
		net.captx = net.captx ? net.captx * 2 : 65536;
		net.tx = realloc(net.tx, net.captx * sizeof(*net.tx));
		assert_non_null(net.tx);
	}
	net.tx[net.ntx++] = net.now;
	p.trace = k;
	p.r.seq = seq;
	p.r.kind = dst ? HT_REPLY_PORT_UNREACH : HT_REPLY_TIME_EXCEEDED;
	hop_addr(k, dst ? t->dist : ttl, dst, &p.r.from);
	p.at = net.now + (uint64_t)(dst ? t->dist : ttl) * net.per_hop_us;
	p.r.rx_us = p.at;
	q_push(&p);
	return 0;
}

static const struct ht_io_ops fake_ops = {.send_probe = fake_send};

static void start(uint32_t k, int dist)
{
	net.tr[k] = (struct tr){.dist = dist, .next_ttl = 1};
	net.cfg.dst.family = AF_INET;
	net.cfg.dst.u.v4.s_addr = htonl(0xc6130000u + k);
	assert_int_equal(ht_engine_start(net.e, &net.cfg, &fake_ops, (void *)(uintptr_t)k, net.now,
	                                 &net.tr[k].id),
	                 0);
	assert_int_not_equal(net.tr[k].id, 0);
}

/* Events carry the trace id; the test finds its trace through the slot
 * in the id's low bits (id_map) and checks the whole id. */
static uint32_t *id_map;  /* slot -> trace index */
static uint32_t slot_of(uint32_t id)
{
	return id & ((1u << 20) - 1);
}

static void on_event(void *u, const struct ht_event *ev)
{
	struct tr *t;
	(void)u;

	assert_int_not_equal(ev->trace, 0);
	t = &net.tr[id_map[slot_of(ev->trace)]];
	assert_int_equal(t->id, ev->trace);
	if (ev->type == HT_EV_HOP_DONE) {
		const ht_session *s = ht_engine_session(net.e, ev->trace);
		assert_non_null(s);
		assert_int_equal(ev->hop->ttl, t->next_ttl);
		t->next_ttl++;
		t->hops_done++;
		for (int k = 0; k < ev->hop->nprobes; k++) {
			ht_addr want;
			const struct ht_probe *p = &ev->hop->probes[k];
			assert_int_equal(p->state, HT_PROBE_REPLIED);
			hop_addr((uint32_t)(t - net.tr), ev->hop->ttl, ev->hop->ttl >= t->dist, &want);
			assert_true(ht_addr_equal(&p->reply.from, &want));
		}
	} else if (ev->type == HT_EV_TRACE_DONE) {
		t->done++;
		t->reason = ev->reason;
		t->last_ttl = ev->last_ttl;
		if (net.start_more > 0) {
			uint32_t k = net.ntr++;
			net.start_more--;
			start(k, 3 + (int)(k % 7));
			id_map[slot_of(net.tr[k].id)] = k;
		}
	}
}

static void net_init(uint32_t pps, uint32_t per_hop_us)
{
	free(net.q);
	free(net.tx);
	memset(&net, 0, sizeof(net));
	net.now = 1000000;
	net.per_hop_us = per_hop_us;
	ht_config_defaults(&net.cfg);
	assert_int_equal(ht_engine_new(&net.e, pps, on_event, NULL), 0);
	free(id_map);
	id_map = calloc(1u << 20, sizeof(*id_map));
	assert_non_null(id_map);
}

/* Run until every trace is over; returns the virtual time taken. */
static uint64_t drive(void)
{
	uint64_t t0 = net.now;
	long guard = 0;

	for (;;) {
		uint64_t w = ht_engine_next_wakeup(net.e);
		uint64_t r = net.nq ? net.q[0].at : UINT64_MAX;

		if (w == UINT64_MAX && r == UINT64_MAX)
			break;
		if (r <= w) {
			struct pend p = q_pop();
			if (p.at > net.now)
				net.now = p.at;
			/* Replies to finished traces are refused, not misrouted. */
			int rc = ht_engine_input(net.e, net.tr[p.trace].id, &p.r, net.now);
			assert_true(rc == 0 || rc == -ENOENT);
		} else {
			if (w > net.now)
				net.now = w;
			assert_int_equal(ht_engine_tick(net.e, net.now), 0);
		}
		assert_true(++guard < 100000000L);
	}
	return net.now - t0;
}

static void check_all_done(void)
{
	for (uint32_t k = 0; k < net.ntr; k++) {
		struct tr *t = &net.tr[k];
		assert_int_equal(t->done, 1);
		assert_int_equal(t->reason, HT_STOP_REACHED);
		assert_int_equal(t->last_ttl, t->dist);
		assert_int_equal(t->hops_done, t->dist);
	}
	assert_int_equal(ht_engine_active(net.e), 0);
}

/* 10,000 traces started at once, no cap: all in flight together, each
 * gets its own hops, the whole lot takes about one round trip. */
static void test_ten_thousand_in_flight(void **st)
{
	struct ht_engine_stats es;
	uint64_t took;
	(void)st;

	net_init(0, 1000);
	net.cfg.max_ttl = 12;
	for (uint32_t k = 0; k < MAXT; k++) {
		start(k, 2 + (int)(k % 9));
		id_map[slot_of(net.tr[k].id)] = k;
	}
	net.ntr = MAXT;
	assert_int_equal(ht_engine_active(net.e), MAXT);
	took = drive();
	check_all_done();
	ht_engine_stats(net.e, &es);
	assert_int_equal(es.traces_started, MAXT);
	assert_int_equal(es.traces_done, MAXT);
	assert_int_equal(es.probes_sent, (uint64_t)MAXT * 12 * 3);
	/* The farthest destination is 10 ms away; sending 360,000 probes
	 * takes no virtual time without a cap. */
	assert_true(took < 200000);
	/* A finished trace's id finds nothing. */
	assert_null(ht_engine_session(net.e, net.tr[5].id));
	struct ht_reply r = {0};
	assert_int_equal(ht_engine_input(net.e, net.tr[5].id, &r, net.now), -ENOENT);
	ht_engine_free(net.e);
}

/* One budget for all traces: 200 traces, --pps 20000: no window of 100 ms
 * or 1 s holds more than the cap allows, and the run takes as long as the
 * probes need at that rate. */
static void test_one_budget_for_all(void **st)
{
	uint64_t took, n;
	(void)st;

	net_init(20000, 1000);
	for (uint32_t k = 0; k < 200; k++) {
		start(k, 3 + (int)(k % 5));
		id_map[slot_of(net.tr[k].id)] = k;
	}
	net.ntr = 200;
	took = drive();
	check_all_done();
	n = net.ntx;
	/* Paced, each trace learns where its destination is before its
	 * probes past it are due: those are never sent. */
	assert_true(n >= 200 * 5 * 3);
	assert_true(n < 200 * 30 * 3);
	for (uint64_t w = 100000; w <= 1000000; w += 900000) {
		size_t j = 0;
		for (size_t i = 0; i < n; i++) {
			while (j < n && net.tx[j] < net.tx[i] + w)
				j++;
			assert_true(j - i <= (20000 * w + 999999) / 1000000);
		}
	}
	/* n probes at 20,000/s: (n - 1) * 50 us of sending at least, and the
	 * budget is not left idle while probes wait. */
	assert_true(took >= (n - 1) * 50);
	assert_true(took < (n - 1) * 50 + 20000);
	ht_engine_free(net.e);
}

/* Traces share a tight budget round robin: with 50 traces and 1,000/s,
 * every trace has sent its first probe within the first 51 budget slots
 * (the first trace ticked takes the first slot, then queues with the
 * others). */
static void test_round_robin(void **st)
{
	(void)st;

	net_init(1000, 1000);
	for (uint32_t k = 0; k < 50; k++) {
		start(k, 4);
		id_map[slot_of(net.tr[k].id)] = k;
	}
	net.ntr = 50;
	drive();
	check_all_done();
	for (uint32_t k = 0; k < 50; k++)
		if (net.tr[k].first_tx > 1000000 + 50000)
			fail_msg("trace %u first sent at %llu", k, (unsigned long long)net.tr[k].first_tx);
	ht_engine_free(net.e);
}

/* A trace started from the TRACE_DONE callback runs like any other
 * (the batch keeps --parallel traces in flight this way). */
static void test_start_from_callback(void **st)
{
	(void)st;

	net_init(0, 500);
	net.start_more = 300;
	for (uint32_t k = 0; k < 4; k++) {
		start(k, 5);
		id_map[slot_of(net.tr[k].id)] = k;
	}
	net.ntr = 4;
	drive();
	assert_int_equal(net.ntr, 304);
	check_all_done();
	ht_engine_free(net.e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ten_thousand_in_flight),
		cmocka_unit_test(test_one_budget_for_all),
		cmocka_unit_test(test_round_robin),
		cmocka_unit_test(test_start_from_callback),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	free(net.q);
	free(net.tx);
	free(id_map);
	return rc;
}
