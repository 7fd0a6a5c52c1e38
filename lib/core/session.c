/*
 * The trace session: which probe to send when, which reply belongs to
 * which probe, when to give up on a silent probe, and when the trace is
 * over. No sockets and no clocks of its own: time comes in as arguments,
 * probes go out through struct ht_io_ops, results go out as events.
 *
 * Probes are laid out hop-major: index i = (ttl - first_ttl) * nqueries +
 * idx, and the probe sequence number is cfg.seq_base + the index (modulo
 * 2^16; seq_base 0 by default; second looks and the distance probe keep
 * their offsets from it, and replies are matched after subtracting it). Sending in index order
 * means every probe of TTL t leaves before any probe of TTL t+1, so when
 * probes overshoot the destination, the destination's ICMP rate limiter
 * (burst 6 on Linux) spends its budget on the probes at the true distance,
 * which arrive first.
 *
 * A second look: Linux (and most routers) rate-limit the ICMP errors they
 * send to one source (Linux: a burst of 6, then 1 per second), so a trace
 * run right after another can find hops and the destination mute. When a
 * trace has gone quiet and the evidence allows rate limiting (the
 * destination not reached, a hop answering some probes but not others, or
 * several mute hops), each mute hop in question is probed once more, no
 * sooner than recheck_us after its first probe: a limiter has refilled by
 * then, a silent router or a firewall has not. Mute hops are held back from
 * the event stream until that is settled, so a hop is reported once, with
 * its final answers. A second look reuses the hop's last slot with the
 * sequence number nprobes + index.
 *
 * Probe economy (cfg.no_overshoot, learn_distance, use_stopset; for batch
 * traces, off by default): TTLs are released rather than all sent at once.
 * Probes of TTLs in [lo_rel, hi_rel] may leave, in index order (hop-major).
 * hi_rel, the forward frontier, is the highest TTL known not to be past the
 * destination: the start TTL, the distance estimate, one past the highest
 * TTL that answered time exceeded, and past that one TTL further for each
 * TTL that stayed silent for its whole wait (a guess: a silent destination
 * is possible; counted in probes_unproven). Without no_overshoot it is
 * max_ttl. lo_rel walks backward from the start TTL (use_stopset) one TTL
 * at a time, each after the one above it has answered or timed out, and
 * stops at the first TTL whose replies came from an address in the stop
 * set: the hops below it are skipped (cancelled, reported with skipped
 * set). The distance probe (learn_distance) goes first, alone, to max_ttl,
 * with the sequence number 2 * nprobes; it is no hop's probe and has no
 * events. But when the distance table (distmap) predicts a distance P from
 * the destination's neighbours, it goes to P instead, as hop P's first
 * probe (its slot, its sequence number, its events): whatever answers, that
 * is hop P's real answer. The destination: P is the start as the reply TTL
 * allows; a router: the path is longer, the trace starts at P and goes
 * forward one proven TTL at a time; silence: as when a distance probe goes
 * unanswered. econ_update() recomputes all this from the probes' states
 * after every change. A trace puts its distance into the table as soon as
 * it is proven (the destination answered at H, a router at H - 1).
 */
#include "hoptrace/hoptrace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct ht_session {
	struct ht_config cfg;
	const struct ht_io_ops *io;
	void *io_ctx;
	ht_event_cb cb;
	void *cb_user;

	int nhops;            /* max_ttl - first_ttl + 1 */
	int nprobes;          /* nhops * nqueries */
	struct ht_probe *probes;
	struct ht_hop *hops;
	bool *abandoned;      /* sent, but no longer waited for */
	bool *queued;         /* in the second-look queue */
	bool *rechecked;      /* per hop: it had its second look */
	int *rq;              /* second-look queue: probe indices ... */
	uint64_t *rq_at;      /* ... and the earliest time each may leave */
	int nrq;
	bool decided;         /* no more second looks: mute hops are final */

	int next_send;        /* index of the next probe to send */
	int inflight;         /* sent, still waited for */
	uint64_t last_send_us;
	bool sent_any;
	struct ht_budget own_budget; /* cfg.pps, when no shared budget is given */
	struct ht_budget *budget;    /* the budget probes are paced by */
	uint32_t id;                 /* trace id carried by every event */
	uint64_t retry_us;    /* after -EAGAIN from the I/O layer */

	int stop_ttl;         /* lowest TTL that reached or was unreachable; 0 unknown */
	enum ht_stop_reason stop_reason;
	int next_report;      /* next TTL whose HOP_DONE is due */
	int last_ttl;         /* last TTL reported */
	bool done;
	int error;

	struct ht_session_stats stats;

	/* Probe economy (see the top of the file). */
	bool econ;            /* any of no_overshoot, learn_distance, use_stopset */
	struct ht_stopset *stopset;
	enum { DIST_OFF, DIST_UNSENT, DIST_WAIT, DIST_DONE } dist;
	struct ht_probe dprobe; /* the distance probe */
	int dist_est;         /* distance estimate d; 0 unknown */
	int dist_safe;        /* TTLs up to this are safe by the distance probe; 0 none */
	bool planned;         /* start_ttl fixed; TTLs are being released */
	int start_ttl;        /* forward from here, backward below (use_stopset) */
	int lo_rel, hi_rel;   /* TTLs in [lo_rel, hi_rel] may be sent */
	int proven;           /* TTLs up to this are known short of the destination */
	int skip_below;       /* hops below this were skipped (stop set); 0 none */
	bool *hit;            /* per hop: a reply came from an address in the stop set */
	/* Largest reply RTT per hop, and its running maxima from the first hop
	 * up (pre) and from the last hop down (suf): a probe's deadline reads
	 * them in O(1) instead of scanning every probe (3 * nhops entries). */
	uint32_t *rtt_hop, *rtt_pre, *rtt_suf;
	struct ht_distmap *distmap; /* neighbours' distances: predictions in, ours out */
	int predicted;        /* the distance probe went at this TTL, as that hop's
	                       * first probe; 0: at max_ttl, as dprobe */
	bool learnt;          /* our proven distance is in distmap */
};

static int ttl_index(const ht_session *s, int ttl)
{
	return ttl - s->cfg.first_ttl;
}

/* The distance probe sent at a predicted TTL: that hop's first probe. */
static struct ht_probe *pred_probe(const ht_session *s)
{
	return &s->probes[ttl_index(s, s->predicted) * s->cfg.nqueries];
}

/* How long the distance probe is waited for: it has no RTT to scale by, so
 * the floor of the FAR wait (enough for a geostationary hop), never beyond
 * MAX. */
static uint64_t dist_deadline(const ht_session *s)
{
	uint64_t w = s->cfg.wait_far_min_us;

	if (w == 0 || w > s->cfg.wait_max_us)
		w = s->cfg.wait_max_us;
	return (s->predicted ? pred_probe(s) : &s->dprobe)->sent_us + w;
}

static void emit(ht_session *s, const struct ht_event *ev)
{
	struct ht_event e = *ev;

	e.trace = s->id;
	if (s->cb)
		s->cb(s->cb_user, &e);
}

int ht_session_new(ht_session **out, const struct ht_config *cfg, const struct ht_io_ops *io,
                   void *io_ctx, ht_event_cb cb, void *cb_user)
{
	const char *msg;
	ht_session *s;
	int rc;

	*out = NULL;
	rc = ht_config_validate(cfg, &msg);
	if (rc < 0)
		return rc;
	if (!io || !io->send_probe)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	if (s->cfg.window == 0)
		s->cfg.window = (cfg->max_ttl - cfg->first_ttl + 1) * cfg->nqueries;
	s->io = io;
	s->io_ctx = io_ctx;
	s->cb = cb;
	s->cb_user = cb_user;
	s->nhops = cfg->max_ttl - cfg->first_ttl + 1;
	s->nprobes = s->nhops * cfg->nqueries;
	s->probes = calloc((size_t)s->nprobes, sizeof(*s->probes));
	s->hops = calloc((size_t)s->nhops, sizeof(*s->hops));
	s->abandoned = calloc((size_t)s->nprobes, sizeof(*s->abandoned));
	s->queued = calloc((size_t)s->nprobes, sizeof(*s->queued));
	s->rechecked = calloc((size_t)s->nhops, sizeof(*s->rechecked));
	s->rq = calloc((size_t)s->nprobes, sizeof(*s->rq));
	s->rq_at = calloc((size_t)s->nprobes, sizeof(*s->rq_at));
	s->hit = calloc((size_t)s->nhops, sizeof(*s->hit));
	s->rtt_hop = calloc(3 * (size_t)s->nhops, sizeof(*s->rtt_hop));
	if (!s->probes || !s->hops || !s->abandoned || !s->queued || !s->rechecked || !s->rq ||
	    !s->rq_at || !s->hit || !s->rtt_hop) {
		ht_session_free(s);
		return -ENOMEM;
	}
	for (int i = 0; i < s->nprobes; i++) {
		s->probes[i].seq = (uint16_t)(cfg->seq_base + i);
		s->probes[i].ttl = (uint8_t)(cfg->first_ttl + i / cfg->nqueries);
		s->probes[i].idx = (uint8_t)(i % cfg->nqueries);
	}
	for (int h = 0; h < s->nhops; h++) {
		s->hops[h].ttl = cfg->first_ttl + h;
		s->hops[h].nprobes = cfg->nqueries;
		s->hops[h].probes = &s->probes[h * cfg->nqueries];
	}
	s->rtt_pre = s->rtt_hop + s->nhops;
	s->rtt_suf = s->rtt_pre + s->nhops;
	ht_budget_init(&s->own_budget, cfg->pps);
	s->budget = &s->own_budget;
	s->decided = cfg->recheck_us == 0;
	s->next_report = cfg->first_ttl;
	s->econ = cfg->no_overshoot || cfg->learn_distance || cfg->use_stopset;
	s->dist = cfg->learn_distance ? DIST_UNSENT : DIST_OFF;
	/* Past the second looks' range (nprobes + index): 2 * 2550 at most. */
	s->dprobe.seq = (uint16_t)(cfg->seq_base + 2 * s->nprobes);
	s->dprobe.ttl = (uint8_t)cfg->max_ttl;
	*out = s;
	return 0;
}

void ht_session_free(ht_session *s)
{
	if (!s)
		return;
	free(s->probes);
	free(s->hops);
	free(s->abandoned);
	free(s->queued);
	free(s->rechecked);
	free(s->rq);
	free(s->rq_at);
	free(s->hit);
	free(s->rtt_hop);
	free(s);
}

/* The TTL beyond which nothing is needed any more. */
static int limit_ttl(const ht_session *s)
{
	return s->stop_ttl ? s->stop_ttl : s->cfg.max_ttl;
}

static int last_responder(const ht_session *s)
{
	for (int t = limit_ttl(s); t >= s->cfg.first_ttl; t--) {
		const struct ht_probe *p = &s->probes[ttl_index(s, t) * s->cfg.nqueries];
		for (int k = 0; k < s->cfg.nqueries; k++)
			if (p[k].state == HT_PROBE_REPLIED)
				return t;
	}
	return 0;
}

/* A probe replied in p->rtt_us: raise its hop's maximum and the running
 * maxima that cover it. */
static void note_rtt(ht_session *s, const struct ht_probe *p)
{
	int h = ttl_index(s, p->ttl);
	uint32_t r = p->rtt_us;

	if (r <= s->rtt_hop[h])
		return;
	s->rtt_hop[h] = r;
	for (int i = h; i < s->nhops && s->rtt_pre[i] < r; i++)
		s->rtt_pre[i] = r;
	for (int i = h; i >= 0 && s->rtt_suf[i] < r; i--)
		s->rtt_suf[i] = r;
}

/* Largest RTT among replies from hops in [lo, hi]; 0 if none. */
static uint32_t max_rtt(const ht_session *s, int lo, int hi)
{
	uint32_t m = 0;

	if (lo < s->cfg.first_ttl)
		lo = s->cfg.first_ttl;
	if (hi > s->cfg.max_ttl)
		hi = s->cfg.max_ttl;
	if (lo > hi)
		return 0;
	int a = ttl_index(s, lo), b = ttl_index(s, hi);
	if (a == 0)
		return s->rtt_pre[b];
	if (b == s->nhops - 1)
		return s->rtt_suf[a];
	for (int i = a; i <= b; i++)
		if (s->rtt_hop[i] > m)
			m = s->rtt_hop[i];
	return m;
}

static uint64_t scaled(double factor, uint32_t rtt, uint32_t floor_us)
{
	double v = factor * (double)rtt;

	if (v < floor_us)
		v = floor_us;
	return (uint64_t)v;
}

/*
 * When to give up on a silent probe. Any evidence that its reply should
 * have come by now is enough (the smallest applicable wait wins), never
 * beyond MAX:
 *  - HERE: another probe of the same hop answered in r: wait HERE * r.
 *  - NEAR: a farther hop answered in r: a reply from nearer should have
 *    been quicker, wait NEAR * r, but for a router at least r + SLOW:
 *    many routers generate time-exceeded on a slow control plane, 100-300
 *    ms after the hops behind them have answered.
 *  - FAR: nothing farther answered yet but nearer hops did: the path may
 *    end here (silent destination, filtered tail), wait FAR * r plus a
 *    margin, and at least a floor: both keep a big delay step between two
 *    hops (an ocean, a geostationary satellite behind a LAN) from being
 *    mistaken for silence. FAR is the other side of NEAR: with NEAR off
 *    (-w MAX,HERE,0) only HERE and MAX apply, as in traceroute.
 */
static uint64_t probe_deadline(const ht_session *s, const struct ht_probe *p)
{
	const struct ht_config *c = &s->cfg;
	uint64_t wait = c->wait_max_us;
	uint32_t r;

	/* The distance probe, alone in flight, has no evidence to scale by. */
	if (s->dist == DIST_WAIT && s->predicted && p == pred_probe(s))
		return dist_deadline(s);
	r = max_rtt(s, p->ttl, p->ttl);
	if (r && c->wait_here > 0) {
		uint64_t w = scaled(c->wait_here, r, c->wait_min_us);
		if (w < wait)
			wait = w;
	}
	if (p->second_look) {
		/* The hop had its full wait already; now it only has to show it
		 * answers at all: as long as the slowest reply of the trace plus
		 * a slow control plane's allowance. */
		uint64_t w = c->wait_far_min_us;
		r = max_rtt(s, c->first_ttl, c->max_ttl);
		if (r)
			w = scaled(1.0, r, c->wait_min_us) + c->wait_slow_us;
		return p->sent_us + (w < wait ? w : wait);
	}
	r = max_rtt(s, p->ttl + 1, c->max_ttl);
	/* The destination answered the distance probe: it is farther than
	 * any hop, so its RTT is NEAR evidence for every hop. */
	if (s->dprobe.state == HT_PROBE_REPLIED && s->dprobe.reached && s->dprobe.rtt_us > r &&
	    p->ttl < c->max_ttl)
		r = s->dprobe.rtt_us;
	if (r && c->wait_near > 0) {
		/* A slow control plane may answer well after the hops behind it. */
		uint64_t w = scaled(c->wait_near, r, c->wait_min_us);
		bool router = !s->stop_ttl || p->ttl < s->stop_ttl;
		if (router && w < (uint64_t)r + c->wait_slow_us)
			w = (uint64_t)r + c->wait_slow_us;
		if (w < wait)
			wait = w;
	} else if (c->wait_far > 0 && c->wait_near > 0) {
		r = max_rtt(s, c->first_ttl, p->ttl - 1);
		if (r) {
			uint64_t w = (uint64_t)(c->wait_far * r) + c->wait_far_us;
			if (w < c->wait_far_min_us)
				w = c->wait_far_min_us;
			if (w < wait)
				wait = w;
		}
	}
	return p->sent_us + wait;
}

static bool probe_waiting(const ht_session *s, int i)
{
	return s->probes[i].state == HT_PROBE_SENT && !s->abandoned[i];
}

static void rq_push(ht_session *s, int i, uint64_t at)
{
	s->queued[i] = true;
	s->rq[s->nrq] = i;
	s->rq_at[s->nrq] = at;
	s->nrq++;
}

static void rq_remove(ht_session *s, int k)
{
	s->queued[s->rq[k]] = false;
	s->rq[k] = s->rq[s->nrq - 1];
	s->rq_at[k] = s->rq_at[s->nrq - 1];
	s->nrq--;
}

static int hop_replies(const ht_session *s, int ttl)
{
	const struct ht_probe *p = &s->probes[ttl_index(s, ttl) * s->cfg.nqueries];
	int n = 0;

	for (int k = 0; k < s->cfg.nqueries; k++)
		n += p[k].state == HT_PROBE_REPLIED;
	return n;
}

static bool hop_queued(const ht_session *s, int ttl)
{
	int base = ttl_index(s, ttl) * s->cfg.nqueries;

	for (int k = 0; k < s->cfg.nqueries; k++)
		if (s->queued[base + k])
			return true;
	return false;
}

/* Whether a hop may be reported: a mute hop waits for the decision on its
 * second look. */
static bool hop_final(const ht_session *s, int ttl)
{
	if (s->hops[ttl_index(s, ttl)].skipped)
		return true;
	if (hop_queued(s, ttl))
		return false;
	return s->decided || s->rechecked[ttl_index(s, ttl)] || hop_replies(s, ttl) > 0;
}

/* Mark the unanswered probes of a hop that a rate limiter explains: the hop
 * answered a probe sent before them (a limiter answers the first arrivals
 * and drops the rest once its burst is spent) or a second look sent after a
 * pause (its budget had refilled). Loss would not spare the earlier probe. */
static void label_hop(ht_session *s, struct ht_hop *h)
{
	struct ht_probe *p = &s->probes[ttl_index(s, h->ttl) * s->cfg.nqueries];

	h->rate_limited = 0;
	for (int k = 0; k < h->nprobes; k++) {
		if (p[k].state != HT_PROBE_TIMEOUT)
			continue;
		for (int j = 0; j < h->nprobes; j++) {
			if (p[j].state != HT_PROBE_REPLIED)
				continue;
			if (p[j].second_look || p[j].sent_us < p[k].sent_us ||
			    (p[j].sent_us == p[k].sent_us && j < k)) {
				p[k].rate_limited = true;
				break;
			}
		}
		if (p[k].rate_limited) {
			h->rate_limited++;
			s->stats.probes_rate_limited++;
		}
	}
}

static void hop_update(ht_session *s, int ttl)
{
	struct ht_hop *h = &s->hops[ttl_index(s, ttl)];
	const struct ht_probe *p = h->probes;
	bool done = true;

	h->reached = false;
	for (int k = 0; k < h->nprobes; k++) {
		if (p[k].state == HT_PROBE_UNSENT || p[k].state == HT_PROBE_SENT)
			done = false;
		if (p[k].state == HT_PROBE_REPLIED && p[k].reached)
			h->reached = true;
	}
	h->done = done;
}

static bool reply_stops(const struct ht_probe *p)
{
	if (p->state != HT_PROBE_REPLIED)
		return false;
	return p->reached || p->reply.annot != HT_ANN_NONE;
}

/* The destination (or an unreachable) has been seen at ttl: nothing past
 * it is needed. Unsent probes beyond are cancelled, sent ones abandoned. */
static void set_stop(ht_session *s, int ttl, enum ht_stop_reason why)
{
	if (s->stop_ttl && s->stop_ttl <= ttl) {
		/* Reached beats unreachable at the same TTL. */
		if (s->stop_ttl == ttl && why == HT_STOP_REACHED)
			s->stop_reason = why;
		return;
	}
	s->stop_ttl = ttl;
	s->stop_reason = why;
	for (int i = 0; i < s->nprobes; i++) {
		struct ht_probe *p = &s->probes[i];
		if (p->ttl <= ttl)
			continue;
		if (p->state == HT_PROBE_UNSENT) {
			p->state = HT_PROBE_CANCELLED;
		} else if (probe_waiting(s, i)) {
			s->abandoned[i] = true;
			s->inflight--;
		}
	}
}

/* The routers this trace saw answer time exceeded go into the stop set when
 * it is over, not as they answer: then an address in the set always comes
 * from a trace that has walked every TTL below it (down to the set, or to
 * first_ttl), and neither this trace's own probes nor a trace running
 * alongside, its walk still under way, can cut a backward walk short. */
static void stopset_fill(ht_session *s)
{
	if (!s->cfg.use_stopset || !s->stopset)
		return;
	for (int i = 0; i < s->nprobes; i++) {
		const struct ht_probe *p = &s->probes[i];
		if (p->state == HT_PROBE_REPLIED && p->reply.kind == HT_REPLY_TIME_EXCEEDED)
			(void)ht_stopset_add(s->stopset, &p->reply.from);
	}
	if (s->dprobe.state == HT_PROBE_REPLIED &&
	    s->dprobe.reply.kind == HT_REPLY_TIME_EXCEEDED)
		(void)ht_stopset_add(s->stopset, &s->dprobe.reply.from);
}

static void finish(ht_session *s, enum ht_stop_reason why, int err)
{
	struct ht_event ev = {.type = HT_EV_TRACE_DONE};

	if (s->done)
		return;
	if (why != HT_STOP_ERROR)
		stopset_fill(s);
	s->done = true;
	s->stop_reason = why;
	s->error = err;
	while (s->nrq)
		rq_remove(s, 0);
	if (s->dist == DIST_UNSENT || s->dist == DIST_WAIT)
		s->dist = DIST_DONE;
	/* Nothing more will be sent or waited for. */
	for (int i = 0; i < s->nprobes; i++) {
		if (s->probes[i].state == HT_PROBE_UNSENT)
			s->probes[i].state = HT_PROBE_CANCELLED;
		else if (probe_waiting(s, i)) {
			s->abandoned[i] = true;
			s->inflight--;
		}
	}
	ev.reason = why;
	ev.last_ttl = s->last_ttl;
	ev.error = err;
	emit(s, &ev);
}

/* Report finished hops strictly in TTL order and decide whether the trace
 * is over. */
static void advance(ht_session *s)
{
	while (!s->done && s->next_report <= limit_ttl(s)) {
		int ttl = s->next_report;
		struct ht_hop *h = &s->hops[ttl_index(s, ttl)];
		struct ht_event ev = {.type = HT_EV_HOP_DONE, .hop = h};
		int lr;

		hop_update(s, ttl);
		if (!h->done || !hop_final(s, ttl))
			return;
		label_hop(s, h);
		emit(s, &ev);
		s->last_ttl = ttl;
		s->next_report++;
		if (s->stop_ttl == ttl) {
			finish(s, s->stop_reason, 0);
			return;
		}
		/* Gap limit: this many silent hops in a row past the last
		 * responder (or from the start) end the trace. */
		lr = last_responder(s);
		if (!h->skipped && lr < ttl &&
		    ttl - (lr ? lr : s->cfg.first_ttl - 1) >= s->cfg.gap_limit) {
			finish(s, HT_STOP_GAP, 0);
			return;
		}
	}
	if (!s->done && s->next_report > limit_ttl(s))
		finish(s, s->stop_ttl ? s->stop_reason : HT_STOP_MAX_TTL, 0);
}

static void probe_done(ht_session *s, struct ht_probe *p)
{
	struct ht_event ev = {.type = HT_EV_PROBE_DONE, .probe = p};

	emit(s, &ev);
}

static void expire(ht_session *s, uint64_t now)
{
	if (s->dist == DIST_WAIT && dist_deadline(s) <= now) {
		if (s->predicted) {
			/* A hop's probe that timed out: what the walk makes of it
			 * is up to econ_update(). */
			int i = ttl_index(s, s->predicted) * s->cfg.nqueries;

			if (probe_waiting(s, i)) {
				s->probes[i].state = HT_PROBE_TIMEOUT;
				s->inflight--;
				probe_done(s, &s->probes[i]);
			}
		} else {
			s->dprobe.state = HT_PROBE_TIMEOUT;
		}
		s->dist = DIST_DONE;
	}
	for (int i = 0; i < s->nprobes; i++) {
		struct ht_probe *p = &s->probes[i];
		if (!probe_waiting(s, i) || p->ttl > limit_ttl(s))
			continue;
		if (probe_deadline(s, p) <= now) {
			p->state = HT_PROBE_TIMEOUT;
			s->inflight--;
			probe_done(s, p);
		}
	}
}

/* ---- probe economy ---- */

/* Every probe of the hop replied or timed out. */
static bool hop_settled(const ht_session *s, int ttl)
{
	const struct ht_probe *p = &s->probes[ttl_index(s, ttl) * s->cfg.nqueries];

	for (int k = 0; k < s->cfg.nqueries; k++)
		if (p[k].state != HT_PROBE_REPLIED && p[k].state != HT_PROBE_TIMEOUT)
			return false;
	return true;
}

/* Whether probes of this TTL may leave now. */
static bool released(const ht_session *s, int ttl)
{
	if (!s->econ)
		return true;
	return s->planned && ttl >= s->lo_rel && ttl <= s->hi_rel;
}

/* The hops below ttl are not probed: ttl answered from an address in the
 * stop set, and earlier traces from here traced the path up to it. */
static void skip_below(ht_session *s, int ttl)
{
	s->skip_below = ttl;
	for (int t = s->cfg.first_ttl; t < ttl; t++) {
		struct ht_probe *p = &s->probes[ttl_index(s, t) * s->cfg.nqueries];

		s->hops[ttl_index(s, t)].skipped = true;
		for (int k = 0; k < s->cfg.nqueries; k++)
			if (p[k].state == HT_PROBE_UNSENT) {
				p[k].state = HT_PROBE_CANCELLED;
				s->stats.probes_saved_stopset++;
			}
	}
}

/* The distance probe, sent at a predicted TTL, was answered time exceeded. */
static bool pred_router(const ht_session *s)
{
	const struct ht_probe *p;

	if (!s->predicted)
		return false;
	p = pred_probe(s);
	return p->state == HT_PROBE_REPLIED && p->reply.kind == HT_REPLY_TIME_EXCEEDED;
}

/* Fix the start TTL once the distance probe is settled (or at once
 * without one). With the stop set: the distance estimate, else
 * HT_STOPSET_START_TTL, but with no_overshoot never beyond what is known
 * to be safe (first_ttl when nothing is known: no backward part then).
 * Without the stop set the trace starts at first_ttl. */
static void plan(ht_session *s)
{
	const struct ht_config *c = &s->cfg;
	int h = c->first_ttl;

	s->planned = true;
	if (c->use_stopset && s->stopset) {
		int safe = s->dist_safe > c->first_ttl ? s->dist_safe : c->first_ttl;

		h = s->dist_est ? s->dist_est : HT_STOPSET_START_TTL;
		/* The predicted distance probe met a router: start there. */
		if (!s->dist_est && pred_router(s))
			h = s->predicted;
		if (c->no_overshoot && h > safe)
			h = safe;
		if (h > limit_ttl(s))
			h = limit_ttl(s);
		if (h < c->first_ttl)
			h = c->first_ttl;
		if (h > c->max_ttl)
			h = c->max_ttl;
	}
	s->start_ttl = h;
	s->lo_rel = h > c->first_ttl ? h - 1 : h;
	s->hi_rel = h;
	s->proven = h;
	/* That router is in the stop set: an earlier trace walked every hop
	 * below it, as below any other hop found there. */
	if (c->use_stopset && s->stopset && h == s->predicted && pred_router(s) &&
	    ht_stopset_has(s->stopset, &pred_probe(s)->reply.from)) {
		skip_below(s, h);
		s->lo_rel = h;
	}
}

/* Recompute which TTLs may leave from the evidence so far. */
static void econ_update(ht_session *s)
{
	const struct ht_config *c = &s->cfg;
	int f, te = 0;

	if (!s->econ || s->done || s->dist == DIST_UNSENT || s->dist == DIST_WAIT)
		return;
	if (!s->planned)
		plan(s);
	/* Backward: one TTL at a time, each once the one above is settled. */
	while (!s->skip_below && s->lo_rel < s->start_ttl && hop_settled(s, s->lo_rel)) {
		if (s->hit[ttl_index(s, s->lo_rel)]) {
			skip_below(s, s->lo_rel);
			break;
		}
		if (s->lo_rel == c->first_ttl)
			break;
		s->lo_rel--;
	}
	/* Forward. */
	if (!c->no_overshoot) {
		s->hi_rel = c->max_ttl;
		s->proven = c->max_ttl;
		return;
	}
	for (int i = s->nprobes - 1; i >= 0 && !te; i--)
		if (s->probes[i].state == HT_PROBE_REPLIED &&
		    s->probes[i].reply.kind == HT_REPLY_TIME_EXCEEDED)
			te = s->probes[i].ttl;
	f = s->start_ttl;
	if (s->dist_safe > f)
		f = s->dist_safe;
	if (te + 1 > f)
		f = te + 1;
	if (f > c->max_ttl)
		f = c->max_ttl;
	if (f > s->proven)
		s->proven = f;
	/* A TTL that stayed silent for its whole wait is not the destination
	 * as far as anyone can tell: the next one may go, as a guess. */
	while (f < c->max_ttl && hop_settled(s, f))
		f++;
	if (f > s->hi_rel)
		s->hi_rel = f;
}

/* The main sequence has a probe to send (or to cancel on the way). */
static bool main_pending(const ht_session *s)
{
	if (!s->econ)
		return s->next_send < s->nprobes;
	if (s->dist == DIST_UNSENT)
		return true;
	if (!s->planned || s->done)
		return false;
	for (int t = s->lo_rel; t <= s->hi_rel && t <= limit_ttl(s); t++) {
		const struct ht_probe *p = &s->probes[ttl_index(s, t) * s->cfg.nqueries];
		for (int k = 0; k < s->cfg.nqueries; k++)
			if (p[k].state == HT_PROBE_UNSENT)
				return true;
	}
	return false;
}

/* Gap limit applied before sending: no point probing beyond a run of
 * gap_limit hops that are already known to be silent. */
static bool beyond_gap(const ht_session *s, int ttl)
{
	int lr = last_responder(s);
	int silent = 0;

	for (int t = (lr ? lr + 1 : s->cfg.first_ttl); t < ttl; t++) {
		const struct ht_hop *h = &s->hops[ttl_index(s, t)];
		bool all_timeout = true;
		for (int k = 0; k < h->nprobes; k++)
			if (h->probes[k].state != HT_PROBE_TIMEOUT)
				all_timeout = false;
		silent = all_timeout ? silent + 1 : 0;
		if (silent >= s->cfg.gap_limit)
			return true;
	}
	return false;
}

static uint64_t send_gap(const ht_session *s)
{
	return s->cfg.send_gap_us;
}

/* Earliest time any probe may leave as far as the window and the send gap
 * go (and the rate budget, when with_budget), or UINT64_MAX if none may. */
static uint64_t gate_time_b(const ht_session *s, bool with_budget)
{
	uint64_t t = 0;

	if (s->done || s->inflight >= s->cfg.window)
		return UINT64_MAX;
	if (s->sent_any && send_gap(s))
		t = s->last_send_us + send_gap(s);
	if (with_budget && ht_budget_ready(s->budget) > t)
		t = ht_budget_ready(s->budget);
	if (s->retry_us > t)
		t = s->retry_us;
	return t;
}

static uint64_t gate_time(const ht_session *s)
{
	return gate_time_b(s, true);
}

/* The earliest second look due, or UINT64_MAX. */
static uint64_t rq_due(const ht_session *s)
{
	uint64_t t = UINT64_MAX;

	for (int i = 0; i < s->nrq; i++)
		if (s->rq_at[i] < t)
			t = s->rq_at[i];
	return t;
}

/* Earliest time the next probe may leave, or UINT64_MAX if it may not. */
static uint64_t next_send_time_b(const ht_session *s, bool with_budget)
{
	uint64_t g = gate_time_b(s, with_budget), t;

	if (g == UINT64_MAX)
		return g;
	if (main_pending(s))
		return g;
	t = rq_due(s);
	return t == UINT64_MAX ? t : (t > g ? t : g);
}

/* Hand one probe to the I/O layer, as a second look at its slot when second
 * is true. 1: sent; 0: not now (try again later); negative: a hard error. */
static int send_one(ht_session *s, struct ht_probe *p, uint64_t now, bool second)
{
	struct ht_event ev = {.type = HT_EV_PROBE_SENT, .probe = p};
	uint16_t seq = second ? (uint16_t)(s->cfg.seq_base + s->nprobes + (p - s->probes)) : p->seq;
	uint64_t tx = now;
	int rc;

	if (gate_time(s) > now)
		return 0;
	rc = s->io->send_probe(s->io_ctx, seq, p->ttl, &tx);
	if (rc == -EAGAIN || rc == -ENOBUFS || rc == -EINTR) {
		s->retry_us = now + 1000;
		return 0;
	}
	if (rc < 0)
		return rc;
	if (second) {
		p->second_look = true;
		p->seq = seq;
		s->stats.probes_second_look++;
	}
	p->state = HT_PROBE_SENT;
	p->sent_us = tx;
	s->inflight++;
	s->last_send_us = tx > now ? tx : now; /* -z counts from the real send, as the budget does */
	s->sent_any = true;
	s->stats.probes_sent++;
	/* The budget counts from when the probe left: a tick's now can be
	 * well before its sends (work done in the tick), and pacing by it
	 * would let a late probe and the next, on time, go closer than the
	 * cap allows. */
	ht_budget_spend(s->budget, tx > now ? tx : now);
	emit(s, &ev);
	return 1;
}

/* Probes handed to the I/O layer in one tick: then the front end gets to
 * read the replies already waiting (on a short path, or loopback, they come
 * back while the burst is still being sent) before the next tick goes on. */
#define SEND_PER_TICK 16

/* The distance probe. At a TTL predicted from the destination's neighbours
 * (distmap), it is that hop's first probe, sent as such. Else at max_ttl:
 * like send_one, but no hop's probe, and no event. */
static int send_distance(ht_session *s, uint64_t now)
{
	struct ht_probe *p = &s->dprobe;
	int pred = ht_distmap_predict(s->distmap, &s->cfg.dst);
	uint64_t tx = now;
	int rc;

	if (pred >= s->cfg.first_ttl && pred <= s->cfg.max_ttl) {
		rc = send_one(s, &s->probes[ttl_index(s, pred) * s->cfg.nqueries], now, false);
		if (rc <= 0)
			return rc;
		s->predicted = pred;
		s->dist = DIST_WAIT;
		s->stats.probes_distance++;
		s->stats.probes_predicted++;
		return 1;
	}
	if (gate_time(s) > now)
		return 0;
	rc = s->io->send_probe(s->io_ctx, p->seq, p->ttl, &tx);
	if (rc == -EAGAIN || rc == -ENOBUFS || rc == -EINTR) {
		s->retry_us = now + 1000;
		return 0;
	}
	if (rc < 0)
		return rc;
	p->state = HT_PROBE_SENT;
	p->sent_us = tx;
	s->dist = DIST_WAIT;
	s->last_send_us = tx > now ? tx : now;
	s->sent_any = true;
	s->stats.probes_sent++;
	s->stats.probes_distance++;
	ht_budget_spend(s->budget, tx > now ? tx : now);
	return 1;
}

/* The main sequence under probe economy: the released TTLs, hop-major. */
static int send_released(ht_session *s, uint64_t now)
{
	int sent = 0, end;

	if (s->dist == DIST_UNSENT) {
		int rc = send_distance(s, now);
		return rc < 0 ? rc : 0;
	}
	if (!s->planned)
		return 0;
	end = ttl_index(s, s->hi_rel + 1) * s->cfg.nqueries;
	for (int i = ttl_index(s, s->lo_rel) * s->cfg.nqueries;
	     !s->done && i < end && sent < SEND_PER_TICK; i++) {
		struct ht_probe *p = &s->probes[i];
		int rc;

		if (p->state != HT_PROBE_UNSENT)
			continue;
		if (p->ttl > limit_ttl(s) || beyond_gap(s, p->ttl)) {
			p->state = HT_PROBE_CANCELLED;
			continue;
		}
		rc = send_one(s, p, now, false);
		if (rc <= 0)
			return rc;
		if (s->cfg.no_overshoot && p->ttl > s->proven)
			s->stats.probes_unproven++;
		sent++;
	}
	return 0;
}

static int send_due(ht_session *s, uint64_t now)
{
	int sent = 0;

	if (s->econ) {
		int rc = send_released(s, now);
		if (rc < 0)
			return rc;
	}
	while (!s->econ && !s->done && s->next_send < s->nprobes && sent < SEND_PER_TICK) {
		struct ht_probe *p = &s->probes[s->next_send];
		int rc;

		if (p->state != HT_PROBE_UNSENT || p->ttl > limit_ttl(s)) {
			if (p->state == HT_PROBE_UNSENT)
				p->state = HT_PROBE_CANCELLED;
			s->next_send++;
			continue;
		}
		if (beyond_gap(s, p->ttl)) {
			p->state = HT_PROBE_CANCELLED;
			s->next_send++;
			continue;
		}
		rc = send_one(s, p, now, false);
		if (rc <= 0)
			return rc;
		s->next_send++;
		sent++;
	}
	/* Second looks, once the main sequence is out. */
	for (int k = 0; !s->done && !main_pending(s) && k < s->nrq;) {
		int i = s->rq[k];
		struct ht_probe *p = &s->probes[i];
		int rc;

		/* Answered late meanwhile, or beyond the destination found since. */
		if ((p->state != HT_PROBE_TIMEOUT && p->state != HT_PROBE_UNSENT) ||
		    p->ttl > limit_ttl(s)) {
			if (p->state == HT_PROBE_UNSENT)
				p->state = HT_PROBE_CANCELLED;
			rq_remove(s, k);
			continue;
		}
		if (s->rq_at[k] > now) {
			k++;
			continue;
		}
		rc = send_one(s, p, now, p->state == HT_PROBE_TIMEOUT);
		if (rc <= 0)
			return rc;
		rq_remove(s, k);
	}
	return 0;
}

/* Nothing is in flight and nothing is left to send. */
static bool quiescent(const ht_session *s)
{
	return !s->nrq && !main_pending(s) && s->inflight == 0 && s->dist != DIST_WAIT;
}

/*
 * The trace has gone quiet: decide which mute hops get a second look. Only
 * when the evidence allows rate limiting: the destination was not reached,
 * or some hop answered part of its probes (a limiter's signature), or no hop
 * answered at all, or two or more hops before the last responder are mute.
 * A lone mute hop in an otherwise complete trace is a silent router: it is
 * not worth a second's wait. Each hop gets one second look; hops the gap
 * limit kept unprobed get their first.
 */
static void decide(ht_session *s, uint64_t now)
{
	const struct ht_config *c = &s->cfg;
	int lr = last_responder(s), mute_before = 0, hi, n = 0;
	bool partial = false, reached = s->stop_ttl != 0;

	for (int t = c->first_ttl; t <= limit_ttl(s); t++) {
		const struct ht_probe *p = &s->probes[ttl_index(s, t) * c->nqueries];
		int replies = hop_replies(s, t), sent = 0;

		for (int k = 0; k < c->nqueries; k++)
			sent += p[k].state == HT_PROBE_REPLIED || p[k].state == HT_PROBE_TIMEOUT;
		if (replies > 0 && replies < sent)
			partial = true;
		if (t < lr && replies == 0 && sent > 0)
			mute_before++;
	}
	if (reached && !partial && lr != 0 && mute_before < 2) {
		s->decided = true;
		return;
	}
	hi = reached ? s->stop_ttl - 1 : (lr ? lr : c->first_ttl - 1) + c->gap_limit;
	if (hi > c->max_ttl)
		hi = c->max_ttl;
	for (int t = c->first_ttl; t <= hi; t++) {
		int h = ttl_index(s, t), base = h * c->nqueries, slot = -1;
		uint64_t first = UINT64_MAX;

		if (s->rechecked[h] || hop_replies(s, t) > 0 || s->hops[h].skipped ||
		    !released(s, t))
			continue;
		s->rechecked[h] = true;
		for (int k = 0; k < c->nqueries; k++) {
			struct ht_probe *p = &s->probes[base + k];
			if (p->state == HT_PROBE_TIMEOUT) {
				slot = base + k;
				if (p->sent_us < first)
					first = p->sent_us;
			}
		}
		if (slot >= 0) {
			uint64_t at = first + c->recheck_us;
			rq_push(s, slot, at > now ? at : now);
			n++;
			continue;
		}
		/* Never probed (the gap limit stopped it): a first look now. */
		for (int k = 0; k < c->nqueries; k++) {
			struct ht_probe *p = &s->probes[base + k];
			if (p->state == HT_PROBE_CANCELLED) {
				p->state = HT_PROBE_UNSENT;
				rq_push(s, base + k, now);
				n++;
			}
		}
	}
	if (!n)
		s->decided = true;
}

/* After anything changed: report what is final, and settle a quiet trace.
 * Second looks it queues leave now when send is true, else at the next tick
 * (a reply is being handed in: no sending from inside the receive path). */
static int settle(ht_session *s, uint64_t now, bool send)
{
	econ_update(s);
	advance(s);
	while (!s->done && !s->decided && quiescent(s)) {
		decide(s, now);
		if (send) {
			int rc = send_due(s, now);
			if (rc < 0)
				return rc;
		}
		econ_update(s);
		advance(s);
	}
	if (s->econ && !s->done && s->decided && quiescent(s)) {
		/* Nothing in flight can release what is left: it is never sent. */
		for (int i = 0; i < s->nprobes; i++)
			if (s->probes[i].state == HT_PROBE_UNSENT)
				s->probes[i].state = HT_PROBE_CANCELLED;
		advance(s);
	}
	return 0;
}

int ht_session_tick(ht_session *s, uint64_t now)
{
	int rc;

	if (s->done)
		return 0;
	expire(s, now);
	econ_update(s);
	advance(s);
	rc = send_due(s, now);
	if (rc >= 0)
		rc = settle(s, now, true);
	if (rc < 0) {
		finish(s, HT_STOP_ERROR, rc);
		return rc;
	}
	return 0;
}

static bool reply_reaches(enum ht_reply_kind k)
{
	return k == HT_REPLY_PORT_UNREACH || k == HT_REPLY_ECHO_REPLY || k == HT_REPLY_TCP_SYNACK ||
	       k == HT_REPLY_TCP_RST || k == HT_REPLY_UDP_REPLY;
}

/* The destination's distance from the TTL its reply arrived with, as
 * FlashRoute does: it started at the smallest usual initial TTL (64, 128,
 * 255) not below what is left, and lost one per hop after the first. */
static int distance_of(uint8_t reply_ttl)
{
	int initial = reply_ttl <= 64 ? 64 : reply_ttl <= 128 ? 128 : 255;

	return initial - reply_ttl + 1;
}

/* What the first reply to the distance probe (p: at max_ttl, or at a
 * predicted TTL) says, in time or late (then it can still raise the forward
 * frontier; the start TTL stays). The destination: the distance from the
 * reply TTL, but no farther than where it answered. A router: every TTL up
 * to p's is short of the destination. */
static void distance_learn(ht_session *s, const struct ht_probe *p)
{
	const struct ht_config *c = &s->cfg;

	if (p->reached && p->reply.reply_ttl) {
		int d = distance_of(p->reply.reply_ttl);

		if (d < c->first_ttl)
			d = c->first_ttl;
		if (d > p->ttl)
			d = p->ttl;
		s->dist_est = d;
		if (d > s->dist_safe)
			s->dist_safe = d;
	} else if (p->reply.kind == HT_REPLY_TIME_EXCEEDED && p->ttl > s->dist_safe) {
		s->dist_safe = p->ttl;
	}
	s->dist = DIST_DONE;
}

/* A reply to the distance probe sent at max_ttl. */
static int distance_input(ht_session *s, const struct ht_reply *r, uint64_t now)
{
	struct ht_probe *p = &s->dprobe;

	if (p->state == HT_PROBE_REPLIED) {
		p->dups++;
		s->stats.replies_duplicate++;
		return 0;
	}
	if ((p->state != HT_PROBE_SENT && p->state != HT_PROBE_TIMEOUT) || r->rx_us < p->sent_us) {
		s->stats.replies_unmatched++;
		return -ENOENT;
	}
	p->state = HT_PROBE_REPLIED;
	p->reply = *r;
	p->rtt_us = (uint32_t)(r->rx_us - p->sent_us > UINT32_MAX ? UINT32_MAX
	                                                            : r->rx_us - p->sent_us);
	p->reached = reply_reaches(r->kind);
	s->stats.replies_matched++;
	distance_learn(s, p);
	if (!s->done)
		settle(s, now, false);
	return 0;
}

int ht_session_proven_distance(const ht_session *s)
{
	int h = s->stop_ttl;
	const struct ht_probe *p;

	if (!h || s->stop_reason != HT_STOP_REACHED)
		return 0;
	if (h == 1)
		return 1;
	if (h - 1 < s->cfg.first_ttl)
		return 0;
	p = &s->probes[ttl_index(s, h - 1) * s->cfg.nqueries];
	for (int k = 0; k < s->cfg.nqueries; k++)
		if (p[k].state == HT_PROBE_REPLIED && p[k].reply.kind == HT_REPLY_TIME_EXCEEDED)
			return h;
	return 0;
}

/* Our distance into the table as soon as it is proven, for the traces to
 * the same prefix that start (or send their distance probe) after. */
static void record_distance(ht_session *s)
{
	int d;

	if (!s->distmap || s->learnt)
		return;
	d = ht_session_proven_distance(s);
	if (d) {
		(void)ht_distmap_learn(s->distmap, &s->cfg.dst, d);
		s->learnt = true;
	}
}

int ht_session_input(ht_session *s, const struct ht_reply *r, uint64_t now)
{
	struct ht_probe *p;

	/* Wire sequence numbers start at seq_base (modulo 2^16). */
	int i = (uint16_t)(r->seq - s->cfg.seq_base);
	bool second = false;

	if (s->dist != DIST_OFF && i == 2 * s->nprobes)
		return distance_input(s, r, now);

	/* A second look carries nprobes + index; the first look's sequence
	 * number no longer names a slot that was probed again. */
	if (i >= s->nprobes) {
		i -= s->nprobes;
		second = true;
	}
	if (i >= s->nprobes || s->probes[i].second_look != second) {
		s->stats.replies_unmatched++;
		return -ENOENT;
	}
	p = &s->probes[i];
	if (p->state == HT_PROBE_REPLIED) {
		p->dups++;
		s->stats.replies_duplicate++;
		return 0;
	}
	/* A reply can only answer a probe that left before it arrived. A
	 * late reply still counts while its hop has not been reported. */
	if ((p->state != HT_PROBE_SENT && p->state != HT_PROBE_TIMEOUT) || r->rx_us < p->sent_us ||
	    (p->state == HT_PROBE_TIMEOUT && p->ttl < s->next_report)) {
		s->stats.replies_unmatched++;
		return -ENOENT;
	}
	if (p->state == HT_PROBE_SENT && !s->abandoned[i])
		s->inflight--;
	s->abandoned[i] = false;
	p->state = HT_PROBE_REPLIED;
	p->reply = *r;
	p->rtt_us = (uint32_t)(r->rx_us - p->sent_us > UINT32_MAX ? UINT32_MAX
	                                                            : r->rx_us - p->sent_us);
	p->reached = reply_reaches(r->kind);
	note_rtt(s, p);
	s->stats.replies_matched++;
	if (s->predicted && p == pred_probe(s))
		distance_learn(s, p);
	/* Below the start TTL, a known address ends the backward walk. */
	if (s->cfg.use_stopset && s->stopset && s->planned && p->ttl < s->start_ttl &&
	    ht_stopset_has(s->stopset, &r->from))
		s->hit[ttl_index(s, p->ttl)] = true;
	if (!s->done) {
		probe_done(s, p);
		if (reply_stops(p))
			set_stop(s, p->ttl, p->reached ? HT_STOP_REACHED : HT_STOP_UNREACH);
		settle(s, now, false);
	}
	record_distance(s);
	return 0;
}

/* The next thing to do: a send (held by the budget only when with_budget;
 * without it, a send already due at now is left out: the caller hands out
 * the budget) or a probe's deadline. */
static uint64_t next_wakeup_b(const ht_session *s, bool with_budget, uint64_t now)
{
	uint64_t t;

	if (s->done)
		return UINT64_MAX;
	t = next_send_time_b(s, with_budget);
	if (!with_budget && t <= now)
		t = UINT64_MAX;
	if (s->dist == DIST_WAIT && dist_deadline(s) < t)
		t = dist_deadline(s);
	for (int i = 0; i < s->nprobes; i++) {
		if (!probe_waiting(s, i) || s->probes[i].ttl > limit_ttl(s))
			continue;
		uint64_t d = probe_deadline(s, &s->probes[i]);
		if (d < t)
			t = d;
	}
	return t;
}

uint64_t ht_session_next_wakeup(const ht_session *s)
{
	return next_wakeup_b(s, true, 0);
}

uint64_t ht_session_next_timer(const ht_session *s, uint64_t now)
{
	return next_wakeup_b(s, false, now);
}

bool ht_session_wants_send(const ht_session *s, uint64_t now)
{
	return !s->done && next_send_time_b(s, false) <= now;
}

void ht_session_set_budget(ht_session *s, struct ht_budget *b)
{
	s->budget = b ? b : &s->own_budget;
}

void ht_session_set_id(ht_session *s, uint32_t id)
{
	s->id = id;
}

void ht_session_set_stopset(ht_session *s, struct ht_stopset *ss)
{
	s->stopset = ss;
}

void ht_session_set_distmap(ht_session *s, struct ht_distmap *dm)
{
	s->distmap = dm;
}

int ht_session_distance(const ht_session *s)
{
	return s->dist_est;
}

bool ht_session_done(const ht_session *s)
{
	return s->done;
}

const struct ht_hop *ht_session_hop(const ht_session *s, int ttl)
{
	if (ttl < s->cfg.first_ttl || ttl > s->cfg.max_ttl)
		return NULL;
	return &s->hops[ttl_index(s, ttl)];
}

int ht_session_last_ttl(const ht_session *s)
{
	return s->last_ttl;
}

enum ht_stop_reason ht_session_stop_reason(const ht_session *s)
{
	return s->stop_reason;
}

void ht_session_stats(const ht_session *s, struct ht_session_stats *st)
{
	const struct ht_probe *pred = s->predicted ? pred_probe(s) : NULL;

	*st = s->stats;
	st->probes_past_dst = 0;
	/* Answered by the predicted probe itself, not by a second look that
	 * took its slot after it went unanswered. */
	st->predicted_right = pred && !pred->second_look && pred->reached &&
	                      s->stop_ttl == s->predicted;
	/* The distance probe goes past the destination by design: it is
	 * counted in probes_distance, not here, wherever it went. */
	if (s->stop_ttl)
		for (int i = 0; i < s->nprobes; i++)
			if (s->probes[i].ttl > s->stop_ttl && &s->probes[i] != pred &&
			    (s->probes[i].state == HT_PROBE_SENT ||
			     s->probes[i].state == HT_PROBE_REPLIED ||
			     s->probes[i].state == HT_PROBE_TIMEOUT))
				st->probes_past_dst++;
}
