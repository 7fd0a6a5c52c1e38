/*
 * A fake monitor for the live view's tests: see fake_monitor.h. The
 * statistics are computed here the simple way (Welford for the deviation,
 * mean absolute difference for the jitter); loss causes and path changes
 * are set by the scenario, not inferred.
 */
#include "fake_monitor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double ht_mon_rtt_stdev_us(const struct ht_mon_rtt *r)
{
	return r->count > 1 ? sqrt(r->m2 / (r->count - 1)) : 0.0;
}

uint64_t ht_monitor_rounds_done(const ht_monitor *m) { return m->rounds_done; }
int ht_monitor_first_ttl(const ht_monitor *m) { return m->first_ttl; }
int ht_monitor_last_ttl(const ht_monitor *m) { return m->last_ttl; }
int ht_monitor_dest_ttl(const ht_monitor *m) { return m->dest_ttl; }
bool ht_monitor_paused(const ht_monitor *m) { return m->paused; }
const char *ht_monitor_rate_limit_warning(const ht_monitor *m) { return m->warning; }
const struct ht_monitor_config *ht_monitor_config(const ht_monitor *m) { return &m->cfg; }

const struct ht_mon_hop *ht_monitor_hop(const ht_monitor *m, int ttl)
{
	if (ttl < 1 || ttl > FAKE_MAX_TTL || !m->have[ttl])
		return NULL;
	return &m->hops[ttl];
}

int ht_monitor_changes(const ht_monitor *m, const struct ht_mon_path_change **out)
{
	*out = m->changes;
	return m->nchanges;
}

ht_monitor *fake_new(void)
{
	ht_monitor *m = calloc(1, sizeof(*m));
	m->cfg.interval_us = 1000000;
	m->cfg.flows = 1;
	m->first_ttl = 1;
	return m;
}

static void rtt_add(struct ht_mon_rtt *r, uint32_t v)
{
	if (r->count) {
		uint32_t d = v > r->prev_us ? v - r->prev_us : r->prev_us - v;
		r->jitter_us += (d - r->jitter_us) / r->count;
	}
	r->count++;
	r->last_us = v;
	r->prev_us = v;
	if (r->count == 1 || v < r->best_us)
		r->best_us = v;
	if (v > r->worst_us)
		r->worst_us = v;
	double delta = v - r->mean_us;
	r->mean_us += delta / r->count;
	r->m2 += delta * (v - r->mean_us);
}

static struct ht_mon_addr *addr_slot(struct ht_mon_addr *a, int *n, const ht_addr *x)
{
	for (int i = 0; i < *n; i++)
		if (ht_addr_equal(&a[i].addr, x))
			return &a[i];
	if (*n >= HT_MON_MAX_ADDRS)
		return NULL;
	memset(&a[*n], 0, sizeof(a[*n]));
	a[*n].addr = *x;
	return &a[(*n)++];
}

static void addr_add(struct ht_mon_addr *s, uint64_t round, uint32_t rtt)
{
	if (!s->received)
		s->first_round = round;
	s->last_round = round;
	s->received++;
	rtt_add(&s->rtt, rtt);
	s->hist[round % HT_MON_HISTORY] = rtt;
	s->last.from = s->addr;
	s->last.kind = HT_REPLY_TIME_EXCEEDED;
}

void fake_sample(ht_monitor *m, uint64_t round, int ttl, int flow, const char *addr,
                 uint32_t rtt_us)
{
	struct ht_mon_hop *h = &m->hops[ttl];

	if (!m->have[ttl]) {
		memset(h, 0, sizeof(*h));
		h->ttl = ttl;
		m->have[ttl] = true;
	}
	if (ttl > m->last_ttl)
		m->last_ttl = ttl;
	h->sent++;
	h->flow[flow].sent++;
	if (!addr) {
		h->lost_hist[round % HT_MON_HISTORY] = 1;
		return;
	}
	ht_addr a;
	ht_addr_parse(addr, &a);
	h->received++;
	h->flow[flow].received++;
	struct ht_mon_addr *s = addr_slot(h->addrs, &h->naddrs, &a);
	if (s)
		addr_add(s, round, rtt_us);
	s = addr_slot(h->flow[flow].addrs, &h->flow[flow].naddrs, &a);
	if (s)
		addr_add(s, round, rtt_us);
}

/*
 * Seven hops to 192.0.2.80: hop 2 loses every 4th reply but later hops do
 * not (reply-side), hop 3 balances two flows over two routers, hop 4 is
 * silent, hop 5 changes from 198.51.100.5 to 198.51.100.55 at round 6,
 * and hop 6 carries an MPLS label.
 */
void fake_scenario(ht_monitor *m, uint64_t rounds, uint64_t start_us)
{
	m->cfg.flows = 2;
	for (uint64_t r = 1; r <= rounds; r++) {
		for (int fl = 0; fl < 2; fl++) {
			uint32_t j = (uint32_t)((r * 7 + (uint64_t)fl * 3) % 10) * 100;
			fake_sample(m, r, 1, fl, "192.168.1.1", 400 + j / 4);
			fake_sample(m, r, 2, fl, r % 4 == 0 ? NULL : "10.0.0.1", 5000 + j);
			fake_sample(m, r, 3, fl, fl ? "203.0.113.9" : "203.0.113.3", 9000 + j);
			fake_sample(m, r, 4, fl, NULL, 0);
			fake_sample(m, r, 5, fl, r < 6 ? "198.51.100.5" : "198.51.100.55", 12000 + j);
			fake_sample(m, r, 6, fl, "198.51.100.6", 15000 + j);
			fake_sample(m, r, 7, fl, "192.0.2.80", 15500 + j);
		}
	}
	m->rounds_done = rounds;
	m->dest_ttl = 7;
	m->hops[2].cause = HT_MON_CAUSE_REPLY_ONLY;
	m->hops[2].cause_confidence = 0.97;
	m->hops[4].cause = HT_MON_CAUSE_UNKNOWN;
	struct ht_mon_addr *a6 = &m->hops[6].addrs[0];
	a6->last.n_mpls = 1;
	a6->last.mpls[0] = (struct ht_mpls){.label = 24001, .tc = 0, .s = 1, .ttl = 1};
	a6->last.has_ifinfo = true;
	a6->last.if_index = 5;
	strcpy(a6->last.if_name, "ge-0/0/1");
	if (rounds >= 6) {
		m->hops[5].changed = true;
		struct ht_mon_path_change *c = &m->changes[m->nchanges++];
		c->round = 6;
		c->at_us = start_us + 5 * 1000000;
		c->ttl = 5;
		ht_addr_parse("198.51.100.5", &c->gone);
		ht_addr_parse("198.51.100.55", &c->came);
	}
}
