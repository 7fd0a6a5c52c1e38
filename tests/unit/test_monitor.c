/*
 * The monitor: rounds of probes on an engine, driven by a virtual clock
 * through a fake network. The network answers after a round trip that
 * grows with the TTL; per test it can rate-limit a router as Linux does
 * (a burst of 6 ICMP errors, then 1 per second), drop probes from a TTL on
 * (forwarding loss), balance one hop over three routers by flow, change a
 * hop's router at some time, delay one reply past its round, or drop one
 * chosen probe. Replies go to the trace their flow's I/O context is bound
 * to at the time they arrive, as the I/O layer does.
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

#include "hoptrace/monitor.h"

#define T0 1000000ull
#define SEC 1000000ull
#define MAXTTL 64

struct pend {
	uint64_t at;
	int flow;
	struct ht_reply r;
};

struct sendrec {
	uint64_t at;
	int flow;
	int ttl;
	uint16_t seq;
};

static struct net {
	uint64_t now, due;
	struct pend *q;
	size_t nq, capq;
	ht_engine *e;
	ht_monitor *m;
	uint32_t bound[HT_MON_MAX_FLOWS];

	int dist;
	uint32_t per_hop_us;
	struct {
		bool limited;
		uint64_t tokens, last;
	} rl[MAXTTL];
	int lb_ttl;
	int change_ttl;
	uint64_t change_at;
	int fwd_ttl;
	unsigned fwd_pct;
	uint64_t rng;
	int late_ttl;
	bool late_done;
	int drop_ttl, drop_nth;
	int sends_ttl[MAXTTL];

	struct sendrec *log;
	size_t nlog, caplog;
	uint64_t round_at[4096];
	uint64_t nrounds;
	int nchanges_ev, nprobe_ev, nrounds_done_ev;
} net;

static void q_push(const struct pend *p)
{
	size_t i;

	if (net.nq == net.capq) {
		net.capq = net.capq ? net.capq * 2 : 1024;
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

static void v4(ht_addr *a, uint32_t host)
{
	a->family = AF_INET;
	a->u.v4.s_addr = htonl(host);
}

static uint32_t router_ip(int ttl, int flow)
{
	if (ttl == net.change_ttl && net.now >= net.change_at)
		return 0x0a090001u | (uint32_t)ttl << 8; /* 10.9.<ttl>.1 */
	if (ttl == net.lb_ttl)
		return (0x0a000001u + (uint32_t)(flow % 3)) | (uint32_t)ttl << 8;
	return 0x0a000001u | (uint32_t)ttl << 8; /* 10.0.<ttl>.1 */
}

static unsigned rnd100(void)
{
	net.rng ^= net.rng << 13;
	net.rng ^= net.rng >> 7;
	net.rng ^= net.rng << 17;
	return (unsigned)(net.rng % 100);
}

/* Linux's inet_peer_xrlim_allow: tokens in time, a burst of 6 s, 1 s each. */
static bool limiter_allows(int ttl)
{
	uint64_t tok = net.rl[ttl].tokens + (net.now - net.rl[ttl].last);

	if (tok > 6 * SEC)
		tok = 6 * SEC;
	net.rl[ttl].last = net.now;
	if (tok >= SEC) {
		net.rl[ttl].tokens = tok - SEC;
		return true;
	}
	net.rl[ttl].tokens = tok;
	return false;
}

static int fake_send(void *ctx, uint16_t seq, uint8_t ttl, uint64_t *tx)
{
	int f = (int)(uintptr_t)ctx;
	bool dst = ttl >= net.dist;
	struct pend p = {0};

	*tx = net.now;
	if (net.nlog == net.caplog) {
		net.caplog = net.caplog ? net.caplog * 2 : 4096;
		net.log = realloc(net.log, net.caplog * sizeof(*net.log));
		assert_non_null(net.log);
	}
	net.log[net.nlog++] = (struct sendrec){.at = net.now, .flow = f, .ttl = ttl, .seq = seq};
	if (ttl < MAXTTL && ++net.sends_ttl[ttl] == net.drop_nth && ttl == net.drop_ttl)
		return 0;
	if (net.fwd_ttl && ttl >= net.fwd_ttl && rnd100() < net.fwd_pct)
		return 0;
	if (!dst && net.rl[ttl].limited && !limiter_allows(ttl))
		return 0;
	p.flow = f;
	p.r.seq = seq;
	if (dst) {
		p.r.kind = HT_REPLY_PORT_UNREACH;
		p.r.reply_ttl = (uint8_t)(64 - net.dist + 1);
		v4(&p.r.from, 0xc0000201u);
	} else {
		p.r.kind = HT_REPLY_TIME_EXCEEDED;
		v4(&p.r.from, router_ip(ttl, f));
	}
	p.at = net.now + (uint64_t)(dst ? net.dist : ttl) * net.per_hop_us;
	if (ttl == net.late_ttl && !net.late_done) {
		p.at += 1300000;
		net.late_done = true;
	}
	p.r.rx_us = p.at;
	q_push(&p);
	return 0;
}

static const struct ht_io_ops fake_ops = {.send_probe = fake_send};

static void on_engine(void *u, const struct ht_event *ev)
{
	(void)u;
	assert_true(ht_monitor_on_engine_event(net.m, ev));
}

static void on_mon(void *u, const struct ht_mon_event *ev)
{
	(void)u;
	switch (ev->type) {
	case HT_MON_EV_TRACE_START:
		assert_int_equal(ev->trace, ht_monitor_flow_trace(net.m, ev->flow));
		net.bound[ev->flow] = ev->trace;
		break;
	case HT_MON_EV_ROUND_START:
		assert_int_equal(ev->round, net.nrounds + 1);
		net.round_at[net.nrounds++ % 4096] = ev->at_us;
		break;
	case HT_MON_EV_ROUND_DONE:
		net.nrounds_done_ev++;
		break;
	case HT_MON_EV_PATH_CHANGE:
		assert_non_null(ev->change);
		net.nchanges_ev++;
		break;
	case HT_MON_EV_PROBE:
		assert_non_null(ev->probe);
		net.nprobe_ev++;
		break;
	}
}

/* A fresh network with the destination at dist, and the monitor's config
 * defaults (the caller changes them, then calls mon_start). */
static void net_init(struct ht_monitor_config *c, int dist)
{
	free(net.q);
	free(net.log);
	memset(&net, 0, sizeof(net));
	net.now = T0;
	net.dist = dist;
	net.per_hop_us = 1000;
	net.rng = 88172645463325252ull;
	ht_monitor_config_defaults(c);
	c->trace.dst.family = AF_INET;
	c->trace.dst.u.v4.s_addr = htonl(0xc0000201u);
	for (int t = 0; t < MAXTTL; t++)
		net.rl[t].tokens = 6 * SEC;
}

static void mon_start(const struct ht_monitor_config *c)
{
	struct ht_monitor_io io = {.ops = &fake_ops};

	for (int f = 0; f < HT_MON_MAX_FLOWS; f++)
		io.ctx[f] = (void *)(uintptr_t)f;
	assert_int_equal(ht_engine_new(&net.e, 0, on_engine, NULL), 0);
	assert_int_equal(ht_monitor_new(&net.m, c, net.e, &io, on_mon, NULL), 0);
	net.due = ht_monitor_tick(net.m, net.now);
}

static void mon_end(void)
{
	ht_monitor_free(net.m);
	ht_engine_free(net.e);
	net.m = NULL;
	net.e = NULL;
}

/* Run the clock up to `until` (or until the monitor is done). */
static void drive(uint64_t until)
{
	long guard = 0;

	for (;;) {
		uint64_t w = ht_engine_next_wakeup(net.e);
		uint64_t r = net.nq ? net.q[0].at : UINT64_MAX;
		uint64_t t = w < r ? w : r;

		if (net.due < t)
			t = net.due;
		if (ht_monitor_done(net.m) || t == UINT64_MAX || t > until)
			break;
		if (t > net.now)
			net.now = t;
		if (r <= net.now) {
			struct pend p = q_pop();
			if (net.bound[p.flow]) {
				int rc = ht_engine_input(net.e, net.bound[p.flow], &p.r, net.now);
				assert_true(rc == 0 || rc == -ENOENT);
			}
		} else if (w <= net.now) {
			assert_int_equal(ht_engine_tick(net.e, net.now), 0);
		}
		net.due = ht_monitor_tick(net.m, net.now);
		assert_true(++guard < 50000000L);
	}
	if (!ht_monitor_done(net.m) && until != UINT64_MAX && net.now < until)
		net.now = until;
}

static const struct ht_mon_hop *hop(int ttl)
{
	const struct ht_mon_hop *h = ht_monitor_hop(net.m, ttl);

	assert_non_null(h);
	assert_int_equal(h->ttl, ttl);
	return h;
}

/* Rounds every interval; -c 6 ends after 6 rounds; round 1 is a one-shot
 * trace, rounds 2+ send exactly dist probes, never past the destination. */
static void test_rounds_and_economy(void **st)
{
	struct ht_monitor_config c;
	uint64_t r2;
	(void)st;

	net_init(&c, 8);
	c.rounds = 6;
	mon_start(&c);
	drive(UINT64_MAX);
	assert_true(ht_monitor_done(net.m));
	assert_int_equal(ht_monitor_rounds_done(net.m), 6);
	assert_int_equal(net.nrounds, 6);
	assert_int_equal(net.nrounds_done_ev, 6);
	assert_int_equal(ht_monitor_tick(net.m, net.now + 10 * SEC), UINT64_MAX);
	for (uint64_t k = 0; k < 6; k++)
		assert_int_equal(net.round_at[k], T0 + k * SEC);
	assert_int_equal(ht_monitor_dest_ttl(net.m), 8);
	assert_int_equal(ht_monitor_last_ttl(net.m), 8);
	assert_int_equal(ht_monitor_probes_round(net.m, 1), 30); /* one-shot, -m 30 */
	for (uint64_t r = 2; r <= 6; r++)
		assert_int_equal(ht_monitor_probes_round(net.m, r), 8);
	assert_int_equal(ht_monitor_probes_sent(net.m), 30 + 5 * 8);
	r2 = net.round_at[1];
	for (size_t i = 0; i < net.nlog; i++)
		if (net.log[i].at >= r2)
			assert_true(net.log[i].ttl <= 8);
	for (int t = 1; t <= 8; t++) {
		const struct ht_mon_hop *h = hop(t);
		assert_int_equal(h->sent, 6);
		assert_int_equal(h->received, 6);
		assert_int_equal(h->naddrs, 1);
		assert_int_equal(h->cause, HT_MON_CAUSE_NONE);
		assert_false(h->changed);
		assert_int_equal(h->addrs[0].rtt.count, 6);
		assert_int_equal(h->addrs[0].rtt.best_us, (uint32_t)t * 1000);
		assert_int_equal(h->addrs[0].rtt.worst_us, (uint32_t)t * 1000);
		assert_true(h->addrs[0].rtt.jitter_us < 1e-9);
		assert_true(ht_mon_rtt_stdev_us(&h->addrs[0].rtt) < 1e-6);
		assert_int_equal(h->addrs[0].hist[3], (uint32_t)t * 1000);
		assert_int_equal(h->addrs[0].reached, t == 8);
	}
	assert_int_equal(hop(9)->sent, 0);
	assert_null(ht_monitor_rate_limit_warning(net.m));
	assert_int_equal(net.nprobe_ev, 6 * 8);
	assert_int_equal(net.nchanges_ev, 0);
	mon_end();
}

/* Rounds 2+ spread their probes evenly over the first half of the
 * interval, hop-major; a path that never reaches its destination is probed
 * up to the last responder + gap_limit. */
static void test_spread(void **st)
{
	struct ht_monitor_config c;
	size_t first = SIZE_MAX, n = 0;
	(void)st;

	net_init(&c, 6);
	c.trace.nqueries = 2;
	c.rounds = 3;
	mon_start(&c);
	drive(UINT64_MAX);
	for (size_t i = 0; i < net.nlog; i++) {
		if (net.log[i].at < net.round_at[1] || net.log[i].at >= net.round_at[2])
			continue;
		if (first == SIZE_MAX)
			first = i;
		n++;
	}
	assert_int_equal(n, 12);
	assert_int_equal(net.log[first].at, net.round_at[1]);
	for (size_t i = first + 1; i < first + n; i++) {
		assert_int_equal(net.log[i].at - net.log[i - 1].at, SEC / 2 / 12);
		assert_true(net.log[i].ttl >= net.log[i - 1].ttl);
	}
	for (int t = 1; t <= 6; t++)
		assert_int_equal(hop(t)->sent, 6);
	mon_end();

	/* A silent destination: rounds 2+ go to the last responder (4) + 5. */
	net_init(&c, 60);
	c.trace.max_ttl = 30;
	c.rounds = 3;
	net.fwd_ttl = 5;
	net.fwd_pct = 100;
	mon_start(&c);
	drive(UINT64_MAX);
	assert_int_equal(ht_monitor_dest_ttl(net.m), 0);
	assert_int_equal(ht_monitor_probes_round(net.m, 2), 9);
	assert_int_equal(ht_monitor_probes_round(net.m, 3), 9);
	mon_end();
}

/* A router limited as Linux is (burst 6, then 1/s): at the default 1
 * round/s it answers every probe; at -i 0.1 it loses most, and the loss is
 * attributed to the reply side, with the warning. */
static void test_rate_limit(void **st)
{
	struct ht_monitor_config c;
	const struct ht_mon_hop *h;
	const char *w;
	(void)st;

	net_init(&c, 6);
	net.rl[3].limited = true;
	c.rounds = 30;
	mon_start(&c);
	drive(UINT64_MAX);
	for (int t = 1; t <= 6; t++) {
		assert_int_equal(hop(t)->sent, 30);
		assert_int_equal(hop(t)->received, 30);
	}
	assert_null(ht_monitor_rate_limit_warning(net.m));
	mon_end();

	net_init(&c, 6);
	net.rl[3].limited = true;
	c.rounds = 300;
	c.interval_us = 100000;
	mon_start(&c);
	drive(UINT64_MAX);
	w = ht_monitor_rate_limit_warning(net.m);
	assert_non_null(w);
	assert_null(strchr(w, '\n'));
	assert_non_null(strstr(w, "rate limiting"));
	/* Rounds keep to the interval: every probe is settled in it. */
	for (uint64_t k = 1; k < 300; k++)
		assert_int_equal(net.round_at[k] - net.round_at[k - 1], 100000);
	h = hop(3);
	assert_int_equal(h->sent, 300);
	assert_true(h->received < 300 / 2);
	assert_int_equal(h->cause, HT_MON_CAUSE_REPLY_ONLY);
	assert_true(h->cause_confidence > 0.5);
	for (int t = 1; t <= 6; t++) {
		if (t == 3)
			continue;
		assert_int_equal(hop(t)->received, 300);
		assert_int_equal(hop(t)->cause, HT_MON_CAUSE_NONE);
	}
	mon_end();
}

/* 30 % of the probes lost from TTL 5 on: forwarding loss at 5 and after. */
static void test_forwarding_loss(void **st)
{
	struct ht_monitor_config c;
	(void)st;

	net_init(&c, 8);
	net.fwd_ttl = 5;
	net.fwd_pct = 30;
	c.rounds = 300;
	mon_start(&c);
	drive(UINT64_MAX);
	for (int t = 1; t <= 4; t++) {
		assert_int_equal(hop(t)->received, hop(t)->sent);
		assert_int_equal(hop(t)->cause, HT_MON_CAUSE_NONE);
		assert_true(hop(t)->cause_confidence > 0.9);
	}
	for (int t = 5; t <= 7; t++) {
		const struct ht_mon_hop *h = hop(t);
		double loss = 1.0 - (double)h->received / h->sent;
		assert_true(loss > 0.2 && loss < 0.4);
		assert_int_equal(h->cause, HT_MON_CAUSE_FORWARDING);
		assert_true(h->cause_confidence > 0.5);
	}
	assert_int_equal(hop(8)->cause, HT_MON_CAUSE_LAST_HOP);
	mon_end();
}

/* One loss in three rounds: too few samples to tell. */
static void test_few_samples(void **st)
{
	struct ht_monitor_config c;
	(void)st;

	net_init(&c, 6);
	net.drop_ttl = 3;
	net.drop_nth = 2; /* round 2's probe to TTL 3 */
	c.rounds = 3;
	mon_start(&c);
	drive(UINT64_MAX);
	assert_int_equal(hop(3)->sent, 3);
	assert_int_equal(hop(3)->received, 2);
	assert_int_equal(hop(3)->lost_hist[2], 1);
	assert_int_equal(hop(3)->lost_hist[1], 0);
	assert_int_equal(hop(3)->addrs[0].hist[2], 0);
	assert_int_equal(hop(3)->cause, HT_MON_CAUSE_UNKNOWN);
	assert_true(hop(3)->cause_confidence == 0);
	assert_int_equal(hop(4)->cause, HT_MON_CAUSE_NONE);
	mon_end();
}

/* A per-flow load balancer at TTL 3 with three branches and --flows 3:
 * three rows at that hop, one per flow; every flow's rows one address. */
static void test_load_balancer_flows(void **st)
{
	struct ht_monitor_config c;
	const struct ht_mon_hop *h;
	(void)st;

	net_init(&c, 6);
	net.lb_ttl = 3;
	c.flows = 3;
	c.rounds = 5;
	c.interval_us = 3 * SEC; /* each router: 3 probes in 3 s, the limit */
	mon_start(&c);
	drive(UINT64_MAX);
	h = hop(3);
	assert_int_equal(h->naddrs, 3);
	assert_int_equal(h->sent, 15);
	for (int f = 0; f < 3; f++) {
		assert_int_equal(h->flow[f].naddrs, 1);
		assert_int_equal(h->flow[f].sent, 5);
		assert_int_equal(h->flow[f].received, 5);
		assert_int_equal(ntohl(h->flow[f].addrs[0].addr.u.v4.s_addr), 0x0a000301u + (uint32_t)f);
		assert_int_equal(hop(2)->flow[f].naddrs, 1);
	}
	assert_int_equal(hop(2)->naddrs, 1);
	assert_false(h->changed);
	for (uint64_t r = 2; r <= 5; r++)
		assert_int_equal(ht_monitor_probes_round(net.m, r), 3 * 6);
	assert_null(ht_monitor_rate_limit_warning(net.m));
	mon_end();
	/* -q 1 --flows 3 at 1 round/s: 3 probes/s per router, the warning. */
	net_init(&c, 6);
	c.flows = 3;
	c.rounds = 1;
	mon_start(&c);
	assert_non_null(ht_monitor_rate_limit_warning(net.m));
	mon_end();
}

/* TTL 4 moves to another router 10.5 s in: one change, in round 12 (the
 * first to start after it), the two routers' statistics apart. */
static void test_path_change(void **st)
{
	struct ht_monitor_config c;
	const struct ht_mon_path_change *pc;
	const struct ht_mon_hop *h;
	(void)st;

	net_init(&c, 6);
	net.change_ttl = 4;
	net.change_at = T0 + 10 * SEC + SEC / 2;
	c.rounds = 20;
	mon_start(&c);
	drive(UINT64_MAX);
	assert_int_equal(ht_monitor_changes(net.m, &pc), 1);
	assert_int_equal(net.nchanges_ev, 1);
	assert_int_equal(pc[0].round, 12);
	assert_int_equal(pc[0].at_us, T0 + 11 * SEC);
	assert_int_equal(pc[0].ttl, 4);
	assert_int_equal(ntohl(pc[0].gone.u.v4.s_addr), 0x0a000401u);
	assert_int_equal(ntohl(pc[0].came.u.v4.s_addr), 0x0a090401u);
	h = hop(4);
	assert_true(h->changed);
	assert_int_equal(h->naddrs, 2);
	assert_int_equal(h->addrs[0].received, 11);
	assert_int_equal(h->addrs[1].received, 9);
	assert_int_equal(h->addrs[1].first_round, 12);
	assert_int_equal(h->received, 20);
	for (int t = 1; t <= 6; t++)
		assert_int_equal(hop(t)->changed, t == 4);
	mon_end();
}

/* A reply to round 1 that comes during round 2 is not taken for round 2's
 * probe with the same index (the rounds' sequence numbers differ). */
static void test_late_reply(void **st)
{
	struct ht_monitor_config c;
	const struct ht_mon_hop *h;
	uint16_t s1 = 0, s2 = 0;
	(void)st;

	net_init(&c, 5);
	net.late_ttl = 2;
	c.rounds = 3;
	mon_start(&c);
	drive(UINT64_MAX);
	h = hop(2);
	assert_int_equal(h->sent, 3);
	assert_int_equal(h->received, 2);
	assert_int_equal(h->addrs[0].rtt.worst_us, 2000);
	assert_int_equal(h->addrs[0].hist[1], 0);
	assert_int_equal(h->addrs[0].hist[2], 2000);
	for (size_t i = 0; i < net.nlog; i++) {
		if (net.log[i].ttl != 2)
			continue;
		if (net.log[i].at < net.round_at[1])
			s1 = net.log[i].seq;
		else if (net.log[i].at < net.round_at[2])
			s2 = net.log[i].seq;
	}
	assert_int_not_equal(s1, s2);
	mon_end();
}

/* The rounds' sequence bases cycle through the 16-bit space: with -m 255
 * -q 10 a round spans 5,101 numbers, so round 13 wraps; every round still
 * matches its replies, and seq % nqueries stays the probe's column. */
static void test_seq_wrap(void **st)
{
	struct ht_monitor_config c;
	(void)st;

	net_init(&c, 4);
	c.trace.max_ttl = 255;
	c.trace.nqueries = 10;
	c.interval_us = 10 * SEC; /* -q 10: keep each router at 1/s */
	c.rounds = 30;
	mon_start(&c);
	drive(UINT64_MAX);
	assert_null(ht_monitor_rate_limit_warning(net.m));
	for (int t = 1; t <= 4; t++) {
		assert_int_equal(hop(t)->sent, 300);
		assert_int_equal(hop(t)->received, 300);
		assert_int_equal(hop(t)->addrs[0].rtt.worst_us, (uint32_t)t * 1000);
	}
	for (size_t i = 0; i < net.nlog; i++)
		if (net.log[i].at >= net.round_at[1])
			assert_int_equal(net.log[i].seq % 10, (i - 2550) % 10);
	for (uint64_t r = 2; r <= 30; r++)
		assert_int_equal(ht_monitor_probes_round(net.m, r), 40);
	mon_end();
}

/* Pause holds rounds back, resume starts one at once, reset forgets the
 * statistics but keeps the path (the next round still stops at dist). */
static void test_pause_reset(void **st)
{
	struct ht_monitor_config c;
	const struct ht_mon_path_change *pc;
	size_t sends;
	uint64_t rounds;
	(void)st;

	net_init(&c, 6);
	mon_start(&c);
	drive(T0 + 3 * SEC + SEC / 2);
	assert_int_equal(net.nrounds, 4);
	ht_monitor_pause(net.m, true);
	assert_true(ht_monitor_paused(net.m));
	drive(T0 + 4 * SEC);
	sends = net.nlog;
	rounds = net.nrounds;
	drive(T0 + 9 * SEC);
	assert_int_equal(net.nlog, sends);
	assert_int_equal(net.nrounds, rounds);
	assert_false(ht_monitor_done(net.m));
	ht_monitor_pause(net.m, false);
	net.due = ht_monitor_tick(net.m, net.now);
	assert_int_equal(net.nrounds, rounds + 1);
	assert_int_equal(net.round_at[rounds], T0 + 9 * SEC);
	drive(T0 + 10 * SEC + SEC / 2);
	assert_int_equal(hop(1)->sent, 6);
	ht_monitor_reset(net.m);
	assert_int_equal(hop(1)->sent, 0);
	assert_int_equal(hop(1)->naddrs, 0);
	assert_int_equal(ht_monitor_changes(net.m, &pc), 0);
	assert_int_equal(ht_monitor_probes_sent(net.m), 0);
	assert_int_equal(ht_monitor_dest_ttl(net.m), 6);
	drive(T0 + 11 * SEC + SEC / 2);
	assert_int_equal(ht_monitor_probes_round(net.m, net.nrounds), 6);
	assert_int_equal(ht_monitor_probes_sent(net.m), 6);
	for (int t = 1; t <= 6; t++) {
		assert_int_equal(hop(t)->sent, 1);
		assert_int_equal(hop(t)->received, 1);
	}
	assert_int_equal(ht_monitor_last_ttl(net.m), 6);
	mon_end();
}

/* Bad configurations are refused. */
static void test_config(void **st)
{
	struct ht_monitor_config c;
	struct ht_monitor_io io = {.ops = &fake_ops};
	ht_monitor *m;
	ht_engine *e;
	(void)st;

	net_init(&c, 6);
	assert_int_equal(c.trace.nqueries, 1);
	assert_int_equal(c.interval_us, SEC);
	assert_int_equal(c.flows, 1);
	assert_int_equal(c.trace.seq_base, 0);
	assert_int_equal(ht_engine_new(&e, 0, NULL, NULL), 0);
	c.flows = 0;
	assert_int_equal(ht_monitor_new(&m, &c, e, &io, NULL, NULL), -EINVAL);
	c.flows = HT_MON_MAX_FLOWS + 1;
	assert_int_equal(ht_monitor_new(&m, &c, e, &io, NULL, NULL), -EINVAL);
	c.flows = 1;
	c.trace.max_ttl = 0;
	assert_int_equal(ht_monitor_new(&m, &c, e, &io, NULL, NULL), -EINVAL);
	c.trace.max_ttl = 30;
	assert_int_equal(ht_monitor_new(&m, &c, e, &io, NULL, NULL), 0);
	assert_int_equal(ht_monitor_config(m)->flows, 1);
	assert_null(ht_monitor_hop(m, 31));
	assert_null(ht_monitor_hop(m, 0));
	ht_monitor_free(m);
	ht_engine_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rounds_and_economy),
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_forwarding_loss),
		cmocka_unit_test(test_few_samples),
		cmocka_unit_test(test_load_balancer_flows),
		cmocka_unit_test(test_path_change),
		cmocka_unit_test(test_late_reply),
		cmocka_unit_test(test_seq_wrap),
		cmocka_unit_test(test_pause_reset),
		cmocka_unit_test(test_config),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	free(net.q);
	free(net.log);
	return rc;
}
