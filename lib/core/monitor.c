/*
 * The monitor (include/hoptrace/monitor.h): rounds of probes to one target
 * on an engine, and their statistics. No sockets, no printing, time as an
 * argument.
 *
 * Rounds. Round r starts when it is due and the previous round is over
 * (every flow's trace has ended); it is due one interval after the previous
 * round started, so two rounds never start less than an interval apart and
 * a round that runs long pushes the next one back rather than overlapping
 * it. Each round starts one engine trace per flow, with the wire sequence
 * numbers from a base of its own (cfg.seq_base, cycling through the 16-bit
 * space in steps of one round's span, a multiple of nqueries so that
 * seq % nqueries, and with it a Paris flow's ports, stay the same).
 *  - Round 1 is a one-shot trace as configured (all TTLs at once up to
 *    max_ttl, second looks as --recheck says): it learns the path.
 *  - From round 2 on, flow f probes TTLs first_ttl .. D_f only, where D_f is
 *    the TTL at which its destination answered (or an unreachable stopped
 *    it) in the latest round that told, else its highest TTL that ever
 *    answered + gap_limit (first_ttl - 1 + gap_limit if none), capped by
 *    max_ttl. When the TTL D_f answers time exceeded, the path got longer:
 *    D_f is forgotten and the next round uses the second rule. Rounds >= 2
 *    send exactly (D_f - first_ttl + 1) * nqueries probes: no second looks
 *    (recheck 0), no distance probe, no gap-limit stop (the path is known).
 *  - Spread: the probes of a round >= 2 leave hop-major, evenly spaced over
 *    the first half of the interval (send_gap_us = interval / (2 n), n the
 *    probes of the flow's round); each is waited for at most
 *    max(interval / 2, 2 x the largest mean RTT of any hop, wait_min_us),
 *    never beyond wait_max_us, so on a path that answers within half an
 *    interval every round is over before the next is due.
 *
 * Statistics are taken from HOP_DONE events (a hop is final then: a late
 * reply to a probe that had timed out may still turn it into a reply before
 * its hop is reported), so a probe in flight is never counted as lost. A
 * second look's first probe, unanswered, counts as one more probe sent and
 * lost at its hop.
 */
#include "hoptrace/monitor.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A hop's address set counts as stable after this many rounds without a
 * new address; only then is a new address recorded as a path change. */
#define MON_STABLE_ROUNDS 3
/* Fewer probes than this at a hop: its loss cause is UNKNOWN. */
#define MON_MIN_SAMPLES 5
/* z for 95 % (two-sided) Wilson score intervals. */
#define MON_Z 1.959964

struct mflow {
	uint32_t trace;    /* running trace, 0 none */
	int dest_ttl;      /* where the destination (or an unreachable) stopped it; 0 unknown */
	int last_resp;     /* highest TTL that ever answered; 0 none */
	int round_max;     /* max_ttl of its current (or last) round */
	int round_te_max;  /* highest TTL answering time exceeded this round */
};

struct mhop {
	uint64_t stable_since; /* round the current stable stretch began; 0 none */
	uint64_t last_answer;  /* last round the hop answered */
};

struct ht_monitor {
	struct ht_monitor_config cfg;
	ht_engine *e;
	struct ht_monitor_io io;
	ht_mon_event_cb cb;
	void *cb_user;

	int first, nhops;
	struct ht_mon_hop *hops;
	struct mhop *hx;
	struct mflow fl[HT_MON_MAX_FLOWS];

	uint64_t round;       /* rounds started */
	uint64_t rounds_done;
	int nrunning;         /* flows whose trace of the current round runs */
	uint64_t round_start_us;
	uint64_t next_due;
	bool started;
	bool paused;
	int error;

	uint32_t seq_stride, seq_slots;

	struct ht_mon_path_change *chg;
	int nchg, capchg;

	uint32_t sent_total;
	uint32_t round_sent[HT_MON_HISTORY];
	uint64_t round_tag[HT_MON_HISTORY];

	int last_shown;
	char warn[200];
	bool warn_on;
};

void ht_monitor_config_defaults(struct ht_monitor_config *c)
{
	*c = (struct ht_monitor_config){0};
	ht_config_defaults(&c->trace);
	c->trace.nqueries = 1; /* as mtr: one probe per hop per round */
	c->interval_us = 1000000;
	c->flows = 1;
	c->rounds = 0;
}

double ht_mon_rtt_stdev_us(const struct ht_mon_rtt *r)
{
	if (r->count < 2)
		return 0;
	return sqrt(r->m2 / (double)(r->count - 1));
}

static void rtt_add(struct ht_mon_rtt *r, uint32_t us)
{
	double d;

	if (r->count == 0 || us < r->best_us)
		r->best_us = us;
	if (us > r->worst_us)
		r->worst_us = us;
	r->count++;
	d = (double)us - r->mean_us;
	r->mean_us += d / r->count;
	r->m2 += d * ((double)us - r->mean_us);
	if (r->count > 1) {
		double j = us > r->prev_us ? us - r->prev_us : r->prev_us - us;
		r->jitter_us += (j - r->jitter_us) / (r->count - 1);
	}
	r->prev_us = us;
	r->last_us = us;
}

static void emit(ht_monitor *m, struct ht_mon_event *ev)
{
	if (m->cb)
		m->cb(m->cb_user, ev);
}

int ht_monitor_new(ht_monitor **out, const struct ht_monitor_config *c, ht_engine *e,
                   const struct ht_monitor_io *io, ht_mon_event_cb cb, void *cb_user)
{
	ht_monitor *m;
	uint32_t span;
	int rc;

	*out = NULL;
	if (!c || !e || !io || !io->ops || c->flows < 1 || c->flows > HT_MON_MAX_FLOWS ||
	    c->interval_us < 1000 || c->interval_us > 3600ull * 1000000)
		return -EINVAL;
	rc = ht_config_validate(&c->trace, NULL);
	if (rc < 0)
		return rc;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->cfg = *c;
	m->e = e;
	m->io = *io;
	m->cb = cb;
	m->cb_user = cb_user;
	m->first = c->trace.first_ttl;
	m->nhops = c->trace.max_ttl - c->trace.first_ttl + 1;
	m->hops = calloc((size_t)m->nhops, sizeof(*m->hops));
	m->hx = calloc((size_t)m->nhops, sizeof(*m->hx));
	if (!m->hops || !m->hx) {
		ht_monitor_free(m);
		return -ENOMEM;
	}
	for (int i = 0; i < m->nhops; i++)
		m->hops[i].ttl = m->first + i;
	/* A round's sequence numbers: probes, second looks, the distance probe
	 * (2 n + 1), rounded up to a multiple of nqueries. */
	span = 2u * (uint32_t)(m->nhops * c->trace.nqueries) + 1;
	span = (span + (uint32_t)c->trace.nqueries - 1) / (uint32_t)c->trace.nqueries *
	       (uint32_t)c->trace.nqueries;
	m->seq_stride = span;
	m->seq_slots = 65536u / span;
	/* A router answers only its own TTL: it sees nqueries * flows probes a
	 * round; Linux sustains 1 ICMP error a second per source (after a
	 * burst of 6). */
	if ((uint64_t)c->trace.nqueries * (uint64_t)c->flows * 1000000u > c->interval_us) {
		double per_s = (double)c->trace.nqueries * c->flows * 1e6 / (double)c->interval_us;
		snprintf(m->warn, sizeof(m->warn),
		         "each router gets %.3g probes/s (-q x --flows / -i), more than the 1/s "
		         "Linux answers after a burst of 6: loss figures include ICMP rate limiting",
		         per_s);
		m->warn_on = true;
	}
	*out = m;
	return 0;
}

void ht_monitor_free(ht_monitor *m)
{
	if (!m)
		return;
	for (int f = 0; f < HT_MON_MAX_FLOWS; f++)
		if (m->fl[f].trace)
			(void)ht_engine_stop(m->e, m->fl[f].trace);
	free(m->hops);
	free(m->hx);
	free(m->chg);
	free(m);
}

static struct ht_mon_hop *hop_of(ht_monitor *m, int ttl)
{
	if (ttl < m->first || ttl >= m->first + m->nhops)
		return NULL;
	return &m->hops[ttl - m->first];
}

/* ---- rounds ---- */

static uint32_t largest_mean_rtt(const ht_monitor *m)
{
	double best = 0;

	for (int i = 0; i < m->nhops; i++)
		for (int a = 0; a < m->hops[i].naddrs; a++)
			if (m->hops[i].addrs[a].rtt.mean_us > best)
				best = m->hops[i].addrs[a].rtt.mean_us;
	return best > UINT32_MAX ? UINT32_MAX : (uint32_t)best;
}

/* The TTLs flow f probes in rounds after the first (see the top). */
static int round_max_ttl(const ht_monitor *m, const struct mflow *fl)
{
	const struct ht_config *t = &m->cfg.trace;
	int mx;

	if (fl->dest_ttl)
		mx = fl->dest_ttl;
	else
		mx = (fl->last_resp ? fl->last_resp : t->first_ttl - 1) + t->gap_limit;
	if (mx > t->max_ttl)
		mx = t->max_ttl;
	if (mx < t->first_ttl)
		mx = t->first_ttl;
	return mx;
}

static void round_config(ht_monitor *m, struct mflow *fl, struct ht_config *c)
{
	const struct ht_config *t = &m->cfg.trace;

	*c = *t;
	c->seq_base = (uint16_t)(((m->round - 1) % m->seq_slots) * m->seq_stride);
	fl->round_max = t->max_ttl;
	if (m->round > 1) {
		uint64_t half = m->cfg.interval_us / 2, wait, n;
		uint64_t mean2 = 2ull * largest_mean_rtt(m);

		fl->round_max = round_max_ttl(m, fl);
		c->max_ttl = fl->round_max;
		c->recheck_us = 0;
		c->no_overshoot = c->learn_distance = c->use_stopset = false;
		c->gap_limit = HT_MAX_TTL;
		c->window = 0;
		n = (uint64_t)(c->max_ttl - c->first_ttl + 1) * (uint64_t)c->nqueries;
		c->send_gap_us = (uint32_t)(half / n > 10000000 ? 10000000 : half / n);
		wait = half;
		if (mean2 > wait)
			wait = mean2;
		if (t->wait_min_us > wait)
			wait = t->wait_min_us;
		if (wait < 1000)
			wait = 1000;
		if (wait < c->wait_max_us)
			c->wait_max_us = (uint32_t)wait;
	}
}

static void round_clear_slot(ht_monitor *m, uint64_t r)
{
	unsigned k = (unsigned)(r % HT_MON_HISTORY);

	m->round_sent[k] = 0;
	m->round_tag[k] = r;
	for (int i = 0; i < m->nhops; i++) {
		struct ht_mon_hop *h = &m->hops[i];
		h->lost_hist[k] = 0;
		for (int a = 0; a < h->naddrs; a++)
			h->addrs[a].hist[k] = 0;
		for (int f = 0; f < m->cfg.flows; f++)
			for (int a = 0; a < h->flow[f].naddrs; a++)
				h->flow[f].addrs[a].hist[k] = 0;
	}
}

static void round_done(ht_monitor *m);

static void start_round(ht_monitor *m, uint64_t now)
{
	struct ht_mon_event ev = {.type = HT_MON_EV_ROUND_START, .flow = -1, .at_us = now};

	m->round++;
	m->round_start_us = now;
	m->next_due = now + m->cfg.interval_us;
	round_clear_slot(m, m->round);
	ev.round = m->round;
	emit(m, &ev);
	m->nrunning = 0;
	for (int f = 0; f < m->cfg.flows; f++) {
		struct mflow *fl = &m->fl[f];
		struct ht_config c;
		uint32_t id;
		int rc;

		round_config(m, fl, &c);
		fl->round_te_max = 0;
		rc = ht_engine_start(m->e, &c, m->io.ops, m->io.ctx[f], now, &id);
		if (rc < 0) {
			m->error = rc;
			continue;
		}
		fl->trace = id;
		m->nrunning++;
		ev = (struct ht_mon_event){.type = HT_MON_EV_TRACE_START, .round = m->round,
		                           .flow = f, .trace = id, .at_us = now};
		emit(m, &ev);
	}
	if (m->nrunning == 0)
		round_done(m);
}

uint64_t ht_monitor_tick(ht_monitor *m, uint64_t now)
{
	if (m->cfg.rounds && m->round >= m->cfg.rounds)
		return UINT64_MAX;
	if (m->paused)
		return UINT64_MAX;
	if (!m->started) {
		m->started = true;
		m->next_due = now;
	}
	if (now < m->next_due)
		return m->next_due;
	if (m->nrunning)
		return UINT64_MAX; /* due: starts when the running round ends */
	start_round(m, now);
	if (m->cfg.rounds && m->round >= m->cfg.rounds)
		return UINT64_MAX;
	return m->next_due;
}

bool ht_monitor_done(const ht_monitor *m)
{
	return m->cfg.rounds && m->rounds_done >= m->cfg.rounds && !m->nrunning;
}

void ht_monitor_pause(ht_monitor *m, bool paused)
{
	m->paused = paused;
}

bool ht_monitor_paused(const ht_monitor *m)
{
	return m->paused;
}

int ht_monitor_error(const ht_monitor *m)
{
	return m->error;
}

uint32_t ht_monitor_flow_trace(const ht_monitor *m, int flow)
{
	if (flow < 0 || flow >= m->cfg.flows)
		return 0;
	return m->fl[flow].trace;
}

void ht_monitor_reset(ht_monitor *m)
{
	for (int i = 0; i < m->nhops; i++) {
		int ttl = m->hops[i].ttl;
		memset(&m->hops[i], 0, sizeof(m->hops[i]));
		m->hops[i].ttl = ttl;
		m->hx[i] = (struct mhop){0};
	}
	m->nchg = 0;
	m->last_shown = 0;
	/* The round in flight goes on; its count starts afresh. */
	memset(m->round_sent, 0, sizeof(m->round_sent));
	memset(m->round_tag, 0, sizeof(m->round_tag));
	m->round_tag[m->round % HT_MON_HISTORY] = m->round;
	m->sent_total = 0;
}

/* ---- statistics ---- */

static struct ht_mon_addr *addr_row(struct ht_mon_addr *rows, int *n, const ht_addr *a)
{
	for (int i = 0; i < *n; i++)
		if (ht_addr_equal(&rows[i].addr, a))
			return &rows[i];
	if (*n >= HT_MON_MAX_ADDRS)
		return NULL;
	memset(&rows[*n], 0, sizeof(rows[*n]));
	rows[*n].addr = *a;
	return &rows[(*n)++];
}

static void addr_update(struct ht_mon_addr *row, const struct ht_probe *p, uint64_t r)
{
	if (!row)
		return;
	if (!row->first_round)
		row->first_round = r;
	if (row->last_round != r) {
		row->prev_round = row->last_round;
		row->last_round = r;
	}
	row->received++;
	rtt_add(&row->rtt, p->rtt_us);
	if (p->reached)
		row->reached = true;
	row->last = p->reply;
	row->hist[r % HT_MON_HISTORY] = p->rtt_us ? p->rtt_us : 1;
}

static void account(ht_monitor *m, int f, const struct ht_probe *p)
{
	struct ht_mon_hop *h = hop_of(m, p->ttl);
	struct mflow *fl = &m->fl[f];
	uint64_t r = m->round;
	unsigned k = (unsigned)(r % HT_MON_HISTORY);

	if (!h || (p->state != HT_PROBE_REPLIED && p->state != HT_PROBE_TIMEOUT))
		return;
	if (p->ttl > m->last_shown)
		m->last_shown = p->ttl;
	if (p->second_look) {
		/* Its slot's first probe went unanswered. */
		h->sent++;
		h->flow[f].sent++;
		h->lost_hist[k] = 1;
		if (p->state == HT_PROBE_REPLIED)
			h->rate_limited++;
	}
	h->sent++;
	h->flow[f].sent++;
	if (p->state == HT_PROBE_TIMEOUT) {
		h->lost_hist[k] = 1;
		if (p->rate_limited)
			h->rate_limited++;
		return;
	}
	h->received++;
	h->flow[f].received++;
	addr_update(addr_row(h->addrs, &h->naddrs, &p->reply.from), p, r);
	addr_update(addr_row(h->flow[f].addrs, &h->flow[f].naddrs, &p->reply.from), p, r);
	if (p->ttl > fl->last_resp)
		fl->last_resp = p->ttl;
	if (p->reply.kind == HT_REPLY_TIME_EXCEEDED && p->ttl > fl->round_te_max)
		fl->round_te_max = p->ttl;
}

static void wilson(uint32_t k, uint32_t n, double *lo, double *hi)
{
	double z2 = MON_Z * MON_Z, p, den, c, half;

	if (n == 0) {
		*lo = 0;
		*hi = 1;
		return;
	}
	p = (double)k / n;
	den = 1 + z2 / n;
	c = (p + z2 / (2.0 * n)) / den;
	half = MON_Z * sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / den;
	*lo = k == 0 ? 0 : (c - half < 0 ? 0 : c - half);
	*hi = k == n ? 1 : (c + half > 1 ? 1 : c + half);
}

static double clamp01(double v)
{
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

/*
 * Loss attribution, from the last hop backward in one pass (the later hops'
 * smallest Wilson bounds carried along). For hop t with k of n probes lost
 * (loss L = k / n, 95 % Wilson interval [lo, hi]), over the later hops that
 * answered at least once (their intervals [lo', hi']):
 *  - k = 0: NONE, confidence 1 - hi (how sure its loss is small);
 *  - no later hop answered: LAST_HOP, confidence lo / L;
 *  - n < MON_MIN_SAMPLES: UNKNOWN, 0;
 *  - the later hop with the smallest upper bound (k' of n' lost) loses
 *    significantly less (loses_less: a one-sided two-proportion test at
 *    5 %, and at most half the rate): REPLY_ONLY, confidence 1 - P(X <=
 *    k') with X binomial(n', L): how unlikely that hop's few losses would
 *    be if this hop's loss were forwarding loss reaching it;
 *  - else, every later hop lost probes too (min lo' > 0): FORWARDING,
 *    confidence min(1, min lo' / L): the share of the loss shown to persist
 *    at every later hop;
 *  - else UNKNOWN, 0.
 */
/* P(X <= k) for X binomial(n, p), by the terms' recurrence (no libm). */
static double binom_cdf(uint32_t k, uint32_t n, double p)
{
	double term = 1, sum;

	if (p <= 0)
		return 1;
	if (p >= 1)
		return k >= n ? 1 : 0;
	for (uint32_t i = 0; i < n; i++)
		term *= 1 - p; /* (1-p)^n; underflows to 0 for large n: fine */
	sum = term;
	for (uint32_t i = 0; i < k && i < n; i++) {
		term *= (double)(n - i) / (double)(i + 1) * p / (1 - p);
		sum += term;
	}
	return sum > 1 ? 1 : sum;
}

/* Whether a later hop (k2 of n2 lost) loses significantly less than this
 * one (k1 of n1): a one-sided two-proportion z-test at 5 % (z > 1.645),
 * and at most half the loss rate (rate limiting or a reply policy leaves
 * later hops far cleaner; forwarding loss that varies a little between
 * hops must not read as reply-side loss). */
static bool loses_less(uint32_t k1, uint32_t n1, uint32_t k2, uint32_t n2)
{
	double p1 = (double)k1 / n1, p2 = (double)k2 / n2;
	double p = (double)(k1 + k2) / (double)(n1 + n2);
	double se = sqrt(p * (1 - p) * (1.0 / n1 + 1.0 / n2));

	if (p2 > p1 / 2 || se <= 0)
		return false;
	return (p1 - p2) / se > 1.645;
}

static void attribute(ht_monitor *m)
{
	double min_hi = 2, min_lo = 2;
	uint32_t min_k = 0, min_n = 0; /* the later hop with the smallest hi */
	bool later = false;

	for (int i = m->nhops - 1; i >= 0; i--) {
		struct ht_mon_hop *h = &m->hops[i];
		uint32_t n = h->sent, k = n >= h->received ? n - h->received : 0;
		double lo, hi, L;

		if (n == 0) {
			h->cause = HT_MON_CAUSE_NONE;
			h->cause_confidence = 0;
			continue;
		}
		wilson(k, n, &lo, &hi);
		L = (double)k / n;
		if (k == 0) {
			h->cause = HT_MON_CAUSE_NONE;
			h->cause_confidence = 1 - hi;
		} else if (!later) {
			h->cause = HT_MON_CAUSE_LAST_HOP;
			h->cause_confidence = clamp01(lo / L);
		} else if (n < MON_MIN_SAMPLES) {
			h->cause = HT_MON_CAUSE_UNKNOWN;
			h->cause_confidence = 0;
		} else if (min_n && loses_less(k, n, min_k, min_n)) {
			h->cause = HT_MON_CAUSE_REPLY_ONLY;
			h->cause_confidence = clamp01(1 - binom_cdf(min_k, min_n, L));
		} else if (min_lo > 0) {
			h->cause = HT_MON_CAUSE_FORWARDING;
			h->cause_confidence = clamp01(min_lo / L);
		} else {
			h->cause = HT_MON_CAUSE_UNKNOWN;
			h->cause_confidence = 0;
		}
		if (h->received > 0) {
			later = true;
			if (hi < min_hi) {
				min_hi = hi;
				min_k = k;
				min_n = n;
			}
			if (lo < min_lo)
				min_lo = lo;
		}
	}
}

/* Path changes: a hop whose address set had been stable for
 * MON_STABLE_ROUNDS rounds answers from an address that had not answered
 * during that stretch (or ever). */
static void detect_changes(ht_monitor *m, uint64_t r)
{
	for (int i = 0; i < m->nhops; i++) {
		struct ht_mon_hop *h = &m->hops[i];
		struct mhop *x = &m->hx[i];
		const struct ht_mon_addr *came = NULL, *gone = NULL;
		bool answered = false;

		for (int a = 0; a < h->naddrs; a++) {
			const struct ht_mon_addr *row = &h->addrs[a];
			if (row->last_round != r)
				continue;
			answered = true;
			if (!came && (row->first_round == r || row->prev_round < x->stable_since))
				came = row;
		}
		if (!answered)
			continue;
		if (came && x->stable_since && r - x->stable_since >= MON_STABLE_ROUNDS) {
			struct ht_mon_path_change pc = {.round = r, .at_us = m->round_start_us,
			                                .ttl = h->ttl, .came = came->addr};
			struct ht_mon_event ev = {.type = HT_MON_EV_PATH_CHANGE, .round = r,
			                          .flow = -1, .at_us = m->round_start_us};

			for (int a = 0; a < h->naddrs && !gone; a++)
				if (h->addrs[a].last_round == x->last_answer && x->last_answer != r)
					gone = &h->addrs[a];
			if (gone)
				pc.gone = gone->addr;
			if (m->nchg == m->capchg) {
				int nc = m->capchg ? 2 * m->capchg : 16;
				struct ht_mon_path_change *p = realloc(m->chg, (size_t)nc * sizeof(*p));
				if (!p) {
					m->error = -ENOMEM;
					continue;
				}
				m->chg = p;
				m->capchg = nc;
			}
			m->chg[m->nchg++] = pc;
			h->changed = true;
			ev.change = &m->chg[m->nchg - 1];
			emit(m, &ev);
		}
		if (came || !x->stable_since)
			x->stable_since = r;
		x->last_answer = r;
	}
}

static void round_done(ht_monitor *m)
{
	struct ht_mon_event ev = {.type = HT_MON_EV_ROUND_DONE, .round = m->round, .flow = -1,
	                          .at_us = m->round_start_us};

	m->rounds_done++;
	detect_changes(m, m->round);
	attribute(m);
	emit(m, &ev);
}

static int flow_of(const ht_monitor *m, uint32_t trace)
{
	if (!trace)
		return -1;
	for (int f = 0; f < m->cfg.flows; f++)
		if (m->fl[f].trace == trace)
			return f;
	return -1;
}

bool ht_monitor_on_engine_event(ht_monitor *m, const struct ht_event *ev)
{
	int f = flow_of(m, ev->trace);
	struct mflow *fl;

	if (f < 0)
		return false;
	fl = &m->fl[f];
	switch (ev->type) {
	case HT_EV_PROBE_SENT:
		m->sent_total++;
		m->round_sent[m->round % HT_MON_HISTORY]++;
		break;
	case HT_EV_PROBE_DONE:
		break; /* counted when its hop is final */
	case HT_EV_HOP_DONE:
		if (ev->hop->skipped)
			break;
		for (int k = 0; k < ev->hop->nprobes; k++) {
			const struct ht_probe *p = &ev->hop->probes[k];
			struct ht_mon_event me = {.type = HT_MON_EV_PROBE, .round = m->round, .flow = f,
			                          .trace = ev->trace, .at_us = p->sent_us, .probe = p};

			if (p->state != HT_PROBE_REPLIED && p->state != HT_PROBE_TIMEOUT)
				continue;
			account(m, f, p);
			emit(m, &me);
		}
		break;
	case HT_EV_TRACE_DONE:
		if (ev->reason == HT_STOP_REACHED || ev->reason == HT_STOP_UNREACH) {
			fl->dest_ttl = ev->last_ttl;
		} else if (fl->dest_ttl && fl->round_te_max >= fl->dest_ttl) {
			/* Time exceeded where the destination was: the path got longer. */
			fl->dest_ttl = 0;
		}
		fl->trace = 0;
		if (--m->nrunning == 0)
			round_done(m);
		break;
	}
	return true;
}

/* ---- results ---- */

uint64_t ht_monitor_rounds_done(const ht_monitor *m)
{
	return m->rounds_done;
}

int ht_monitor_first_ttl(const ht_monitor *m)
{
	return m->first;
}

int ht_monitor_last_ttl(const ht_monitor *m)
{
	return m->last_shown;
}

int ht_monitor_dest_ttl(const ht_monitor *m)
{
	int d = 0;

	for (int f = 0; f < m->cfg.flows; f++)
		if (m->fl[f].dest_ttl > d)
			d = m->fl[f].dest_ttl;
	return d;
}

const struct ht_mon_hop *ht_monitor_hop(const ht_monitor *m, int ttl)
{
	if (ttl < m->first || ttl >= m->first + m->nhops)
		return NULL;
	return &m->hops[ttl - m->first];
}

int ht_monitor_changes(const ht_monitor *m, const struct ht_mon_path_change **out)
{
	*out = m->chg;
	return m->nchg;
}

uint32_t ht_monitor_probes_sent(const ht_monitor *m)
{
	return m->sent_total;
}

uint32_t ht_monitor_probes_round(const ht_monitor *m, uint64_t round)
{
	unsigned k = (unsigned)(round % HT_MON_HISTORY);

	return m->round_tag[k] == round ? m->round_sent[k] : 0;
}

const char *ht_monitor_rate_limit_warning(const ht_monitor *m)
{
	return m->warn_on ? m->warn : NULL;
}

const struct ht_monitor_config *ht_monitor_config(const ht_monitor *m)
{
	return &m->cfg;
}
