/* Configuration defaults and validation. */
#include "hoptrace/hoptrace.h"

#include <errno.h>
#include <sys/socket.h>

void ht_config_defaults(struct ht_config *c)
{
	*c = (struct ht_config){0};
	c->family = AF_INET;
	c->method = HT_METHOD_UDP;
	c->first_ttl = 1;
	c->max_ttl = 30;
	c->nqueries = 3;
	c->window = 0; /* 0: max_ttl * nqueries, every probe of a trace at once */
	c->gap_limit = 5;
	/* Paced 10 us apart: a whole 30-hop trace (90 probes) leaves within
	 * 0.9 ms, while a runaway loop or a batch cannot flood a link. */
	c->pps = 100000;
	c->wait_max_us = 5000000;
	c->wait_here = 3.0;
	c->wait_near = 1.3;
	c->wait_min_us = 50000;
	c->wait_far = 4.0;
	c->wait_far_us = 500000;
	/* A geostationary hop adds ~600 ms behind a LAN of 1 ms hops. */
	c->wait_far_min_us = 750000;
	/* Routers answer from a slow control plane: 100-300 ms later than the
	 * hops behind them is common. */
	c->wait_slow_us = 300000;
	/* Linux refills its per-source ICMP error budget at 1 per second. */
	c->recheck_us = 1000000;
	c->tos = 0;
}

int ht_config_validate(const struct ht_config *c, const char **msg)
{
	const char *m = NULL;

	if (c->family != AF_INET && c->family != AF_INET6)
		m = "address family must be IPv4 or IPv6";
	else if (c->dst.family != c->family)
		m = "destination address does not match the address family";
	else if (c->src.family != 0 && c->src.family != c->family)
		m = "source address does not match the address family";
	else if (c->method != HT_METHOD_UDP && c->method != HT_METHOD_ICMP &&
	         c->method != HT_METHOD_TCP)
		m = "unknown probe method";
	else if (c->first_ttl < 1 || c->first_ttl > HT_MAX_TTL)
		m = "first TTL (-f) must be between 1 and 255";
	else if (c->max_ttl < 1 || c->max_ttl > HT_MAX_TTL)
		m = "max TTL (-m) must be between 1 and 255";
	else if (c->first_ttl > c->max_ttl)
		m = "first TTL (-f) must not exceed max TTL (-m)";
	else if (c->nqueries < 1 || c->nqueries > HT_MAX_QUERIES)
		m = "probes per hop (-q) must be between 1 and 10";
	else if (c->window < 0 || c->window > 65535)
		m = "window (-N) must be between 1 and 65535";
	else if (c->gap_limit < 1 || c->gap_limit > HT_MAX_TTL)
		m = "gap limit must be between 1 and 255";
	else if (c->wait_max_us < 1000 || c->wait_max_us > 60000000)
		m = "max wait (-w) must be between 0.001 and 60 seconds";
	else if (!(c->wait_here >= 0 && c->wait_here <= 1000) ||
	         !(c->wait_near >= 0 && c->wait_near <= 1000) ||
	         !(c->wait_far >= 0 && c->wait_far <= 1000))
		m = "wait factors (-w) must be between 0 and 1000";
	else if (c->wait_slow_us > 10000000)
		m = "slow hop allowance (--slow) must be at most 10 seconds";
	else if (c->recheck_us > 10000000)
		m = "second look delay (--recheck) must be at most 10 seconds";
	else if (c->tos < 0 || c->tos > 255)
		m = "TOS (-t) must be between 0 and 255";
	else if (c->send_gap_us > 10000000)
		m = "send wait (-z) must be at most 10 seconds";
	if (m) {
		if (msg)
			*msg = m;
		return -EINVAL;
	}
	return 0;
}
