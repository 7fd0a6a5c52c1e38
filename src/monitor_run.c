/* hoptrace --live / --report / -c (monitor_run.h). */
#include "monitor_run.h"

#include "json_out.h"
#include "live.h"
#include "report.h"

#include "hoptrace/monitor.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REDRAW_US 200000 /* the live view: at most 5 frames a second from probes */
#define HP_MAX 256       /* --hop-ping: addresses pinged */

/* --hop-ping: one router address, pinged once a round. */
struct hp {
	ht_addr addr;
	uint32_t sent, received;
	double sum_us;
	uint32_t id;         /* the engine trace of the ping in flight, or 0 */
	ht_io_trace *iot;
};

struct ht_monrun {
	struct ht_monrun_args a;
	struct ht_config cfg;
	ht_dns *dns;
	ht_engine *e;
	ht_io_mux *mux;
	ht_io_trace *flow[HT_MON_MAX_FLOWS];
	ht_monitor *m;
	struct ht_live *lv;
	struct ht_io_watch dnsw;
	char start_utc[32];
	uint64_t start_us, next_draw;
	bool dirty, quit;
	int status;
	struct hp hp[HP_MAX];
	int nhp;
	bool hp_off;         /* the sockets cannot ping: said once, then off */
};

static const char *name_of(void *u, const ht_addr *a)
{
	struct ht_monrun *r = u;

	if (!r->dns)
		return NULL;
	ht_dns_ptr_request(r->dns, a);
	return ht_dns_ptr_lookup(r->dns, a);
}

int ht_monrun_prepare(struct ht_monrun **out, const struct ht_monrun_args *a, char *err,
                      size_t errlen)
{
	struct ht_monrun *r = calloc(1, sizeof(*r));
	int rc;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->a = *a;
	r->cfg = a->o->cfg;
	if (a->o->live) {
		const struct ht_live_opts lo = {
			.target = a->host,
			.dst = r->cfg.dst,
			.method = r->cfg.method,
			.flows = a->o->flows,
			.numeric = a->o->numeric,
			.extensions = a->o->extensions,
			.name = name_of,
			.name_u = r,
			.start_us = ht_now_us(),
		};
		if ((rc = ht_live_install_signals()) < 0 || (rc = ht_live_open(&r->lv, &lo)) < 0) {
			snprintf(err, errlen, "%s",
			         rc == -ENOTTY ? "--live needs a terminal (standard input and output)"
			                       : "cannot start the live view");
			free(r);
			return rc;
		}
	}
	*out = r;
	return 0;
}

/* ---- --jsonl: one event per line ---- */

static void jsonl_line(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));

	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		fflush(stdout);
		free(s);
	}
	json_decref(o);
}

static void jsonl_event(struct ht_monrun *r, const struct ht_mon_event *ev)
{
	char now[32], buf[INET6_ADDRSTRLEN];
	json_t *o = json_object();

	ht_utc_iso(now, sizeof(now));
	switch (ev->type) {
	case HT_MON_EV_ROUND_START:
		json_object_set_new(o, "type", json_string("round_start"));
		break;
	case HT_MON_EV_ROUND_DONE:
		json_object_set_new(o, "type", json_string("round_done"));
		json_object_set_new(o, "probes", json_integer(ht_monitor_probes_round(r->m,
		                                                                      ev->round)));
		break;
	case HT_MON_EV_PROBE: {
		const struct ht_probe *p = ev->probe;
		json_object_set_new(o, "type", json_string("probe"));
		json_object_set_new(o, "flow", json_integer(ev->flow + 1));
		json_object_set_new(o, "ttl", json_integer(p->ttl));
		json_object_set_new(o, "idx", json_integer(p->idx));
		if (p->state == HT_PROBE_REPLIED) {
			const char *name = name_of(r, &p->reply.from);
			json_object_set_new(o, "addr", json_string(ht_addr_str(&p->reply.from, buf,
			                                                        sizeof(buf))));
			if (name && !r->a.o->numeric)
				json_object_set_new(o, "name", json_string(name));
			json_object_set_new(o, "rtt_ms", json_real(p->rtt_us / 1000.0));
			json_object_set_new(o, "reached", json_boolean(p->reached));
		} else {
			json_object_set_new(o, "state", json_string("timeout"));
			if (p->rate_limited)
				json_object_set_new(o, "rate_limited", json_true());
		}
		break;
	}
	case HT_MON_EV_PATH_CHANGE: {
		const struct ht_mon_path_change *c = ev->change;
		json_object_set_new(o, "type", json_string("path_change"));
		json_object_set_new(o, "ttl", json_integer(c->ttl));
		if (c->gone.family)
			json_object_set_new(o, "gone", json_string(ht_addr_str(&c->gone, buf,
			                                                       sizeof(buf))));
		if (c->came.family)
			json_object_set_new(o, "came", json_string(ht_addr_str(&c->came, buf,
			                                                       sizeof(buf))));
		break;
	}
	default:
		json_decref(o);
		return;
	}
	json_object_set_new(o, "round", json_integer((json_int_t)ev->round));
	json_object_set_new(o, "time", json_string(now));
	jsonl_line(o);
}

/* ---- --hop-ping ---- */

static struct hp *hp_find(struct ht_monrun *r, const ht_addr *a)
{
	for (int i = 0; i < r->nhp; i++)
		if (ht_addr_equal(&r->hp[i].addr, a))
			return &r->hp[i];
	return NULL;
}

static bool hp_stats(void *u, const ht_addr *a, uint32_t *sent, uint32_t *received,
                     double *mean_us)
{
	struct hp *h = hp_find(u, a);

	if (!h)
		return false;
	*sent = h->sent;
	*received = h->received;
	*mean_us = h->received ? h->sum_us / h->received : 0;
	return true;
}

/* One echo request to a, as a trace of one probe with a TTL of 64 on the
 * engine (the same budget), unless one is still in flight. */
static void hp_ping(struct ht_monrun *r, const ht_addr *a)
{
	struct hp *h = hp_find(r, a);
	struct ht_config c = r->cfg;
	char err[256];
	int rc;

	if (!h) {
		if (r->nhp == HP_MAX)
			return;
		h = &r->hp[r->nhp++];
		*h = (struct hp){.addr = *a};
	}
	if (h->id)
		return;
	c.method = HT_METHOD_ICMP;
	c.dst = *a;
	c.first_ttl = c.max_ttl = 64;
	c.nqueries = 1;
	c.window = 0;
	c.port = 0;
	c.sport = 0;
	c.packet_len = 0;
	c.classic = false;
	c.recheck_us = 0;
	c.send_gap_us = 0;
	c.wait_max_us = r->a.o->interval_us < 1000000 ? (uint32_t)r->a.o->interval_us : 1000000;
	if (c.wait_max_us < 1000)
		c.wait_max_us = 1000;
	c.seq_base = 0;
	if ((rc = ht_io_trace_open(r->mux, &c, &h->iot, err, sizeof(err))) < 0) {
		if (!r->hp_off && !r->lv)
			fprintf(stderr, "hoptrace: --hop-ping is off: %s\n", err[0] ? err : strerror(-rc));
		r->hp_off = true;
		return;
	}
	if (ht_engine_start(r->e, &c, ht_io_ops(), ht_io_trace_ctx(h->iot), ht_now_us(), &h->id) < 0) {
		ht_io_trace_close(h->iot);
		h->iot = NULL;
		h->id = 0;
		return;
	}
	ht_io_trace_bind(h->iot, h->id);
}

/* An engine event of a ping: true if it was one. */
static bool hp_event(struct ht_monrun *r, const struct ht_event *ev)
{
	struct hp *h = NULL;

	for (int i = 0; i < r->nhp && !h; i++)
		if (r->hp[i].id && r->hp[i].id == ev->trace)
			h = &r->hp[i];
	if (!h)
		return false;
	if (ev->type == HT_EV_PROBE_DONE) {
		const struct ht_probe *p = ev->probe;
		h->sent++;
		if (p->state == HT_PROBE_REPLIED && p->reply.kind == HT_REPLY_ECHO_REPLY &&
		    ht_addr_equal(&p->reply.from, &h->addr)) {
			h->received++;
			h->sum_us += p->rtt_us;
		}
	} else if (ev->type == HT_EV_TRACE_DONE) {
		ht_io_trace_close(h->iot);
		h->iot = NULL;
		h->id = 0;
	}
	return true;
}

/* After a round: ping every router address seen (not the destination). */
static void hp_round(struct ht_monrun *r)
{
	if (r->hp_off || r->quit || !r->a.o->hop_ping)
		return;
	for (int t = ht_monitor_first_ttl(r->m); t <= ht_monitor_last_ttl(r->m); t++) {
		const struct ht_mon_hop *h = ht_monitor_hop(r->m, t);
		for (int k = 0; h && k < h->naddrs; k++)
			if (!h->addrs[k].reached && !ht_addr_equal(&h->addrs[k].addr, &r->cfg.dst))
				hp_ping(r, &h->addrs[k].addr);
	}
}

/* ---- event plumbing ---- */

static void on_monitor(void *u, const struct ht_mon_event *ev)
{
	struct ht_monrun *r = u;

	if (ev->type == HT_MON_EV_TRACE_START && ev->flow >= 0 && ev->flow < HT_MON_MAX_FLOWS &&
	    r->flow[ev->flow]) {
		ht_io_trace_bind(r->flow[ev->flow], ev->trace);
		return;
	}
	if (r->a.o->jsonl)
		jsonl_event(r, ev);
	if (ev->type == HT_MON_EV_ROUND_DONE || ev->type == HT_MON_EV_PATH_CHANGE)
		r->next_draw = 0;
	if (ev->type == HT_MON_EV_ROUND_DONE)
		hp_round(r);
	r->dirty = true;
}

static void on_engine(void *u, const struct ht_event *ev)
{
	struct ht_monrun *r = u;

	if (hp_event(r, ev))
		return;
	if (r->m)
		ht_monitor_on_engine_event(r->m, ev);
	if (ev->type == HT_EV_PROBE_DONE && r->dns && ev->probe->state == HT_PROBE_REPLIED)
		ht_dns_ptr_request(r->dns, &ev->probe->reply.from);
	if (ev->type == HT_EV_TRACE_DONE && ev->reason == HT_STOP_ERROR && !r->status) {
		fprintf(stderr, "hoptrace: sending probes failed: %s\n",
		        strerror(ev->error < 0 ? -ev->error : EIO));
		r->status = 1;
		r->quit = true;
	}
}

static void stop_all(struct ht_monrun *r)
{
	for (int i = 0; i < r->nhp; i++)
		if (r->hp[i].id) {
			ht_engine_stop(r->e, r->hp[i].id);
			ht_io_trace_close(r->hp[i].iot);
			r->hp[i].id = 0;
			r->hp[i].iot = NULL;
		}
	for (int f = 0; f < r->a.o->flows; f++) {
		uint32_t id = ht_monitor_flow_trace(r->m, f);
		if (id)
			ht_engine_stop(r->e, id);
	}
}

static int collect(void *u, struct pollfd *pfd, int max, uint64_t *deadline)
{
	struct ht_monrun *r = u;
	uint64_t now = ht_now_us(), next;
	int n = 0;

	if (!r->quit) {
		next = ht_monitor_tick(r->m, now);
		if (next < *deadline)
			*deadline = next;
	}
	if (r->quit)
		stop_all(r);
	if (r->dns) {
		n = r->dnsw.collect(r->dnsw.u, pfd, max, deadline);
		if (n < 0)
			n = 0;
	}
	if (r->lv && n + 2 <= max) {
		pfd[n++] = (struct pollfd){.fd = ht_live_fd(r->lv), .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = ht_live_signal_fd(r->lv), .events = POLLIN};
		if (r->dirty) {
			uint64_t at = r->next_draw > now ? r->next_draw : now;
			if (at < *deadline)
				*deadline = at;
		}
	}
	return n;
}

static void process(void *u, const struct pollfd *pfd, int n, uint64_t now)
{
	struct ht_monrun *r = u;
	int nd = r->lv ? n - 2 : n;

	if (r->dns && nd > 0)
		r->dnsw.process(r->dnsw.u, pfd, nd, now);
	if (r->lv) {
		unsigned act = 0;
		if (n >= 2 && (pfd[n - 2].revents || pfd[n - 1].revents))
			act = ht_live_key(r->lv);
		if (act & HT_LIVE_QUIT)
			r->quit = true;
		if (act & HT_LIVE_PAUSE)
			ht_monitor_pause(r->m, !ht_monitor_paused(r->m));
		if (act & HT_LIVE_RESET)
			ht_monitor_reset(r->m);
		if (act)
			r->next_draw = 0;
		if (!r->quit && (act || (r->dirty && now >= r->next_draw))) {
			ht_live_draw(r->lv, r->m, now);
			r->dirty = false;
			r->next_draw = now + REDRAW_US;
		}
	}
}

static bool more(void *u)
{
	struct ht_monrun *r = u;

	return !r->quit && !ht_monitor_done(r->m);
}

/* After the last round: the pings still in flight end on their own (the
 * loop runs until the engine is idle); nothing else to do here. */

int ht_monrun_run(struct ht_monrun *r, ht_dns *dns)
{
	const struct ht_opts *o = r->a.o;
	struct ht_monitor_config mc;
	struct ht_monitor_io mio = {.ops = ht_io_ops()};
	struct ht_io_watch w = {.collect = collect, .process = process, .u = r};
	char err[512] = "";
	int rc;

	r->dns = dns;
	if (dns)
		ht_dns_watch(dns, &r->dnsw);
	ht_monitor_config_defaults(&mc);
	mc.trace = r->cfg;
	mc.interval_us = o->interval_us;
	mc.flows = o->flows;
	mc.rounds = o->count;
	if ((rc = ht_engine_new(&r->e, r->cfg.pps, on_engine, r)) < 0 ||
	    (rc = ht_io_mux_new(&r->mux, r->cfg.family == AF_INET ? r->a.io : NULL,
	                        r->cfg.family == AF_INET6 ? r->a.io : NULL)) < 0) {
		fprintf(stderr, "hoptrace: cannot start: %s\n", strerror(-rc));
		return 1;
	}
	for (int f = 0; f < o->flows; f++) {
		if ((rc = ht_io_trace_open(r->mux, &r->cfg, &r->flow[f], err, sizeof(err))) < 0) {
			fprintf(stderr, "hoptrace: %s\n", err[0] ? err : strerror(-rc));
			return 1;
		}
		mio.ctx[f] = ht_io_trace_ctx(r->flow[f]);
	}
	if ((rc = ht_monitor_new(&r->m, &mc, r->e, &mio, on_monitor, r)) < 0) {
		const char *why = NULL;
		ht_config_validate(&mc.trace, &why);
		fprintf(stderr, "hoptrace: %s\n", why ? why : strerror(-rc));
		return 2;
	}
	ht_utc_iso(r->start_utc, sizeof(r->start_utc));
	r->start_us = ht_now_us();
	rc = ht_io_mux_run(r->mux, r->e, &w, more, r);
	if (rc < 0 && !r->status) {
		fprintf(stderr, "hoptrace: %s\n", strerror(-rc));
		r->status = 1;
	}
	if (r->lv) {
		int sig;
		ht_live_close(r->lv);
		r->lv = NULL;
		sig = ht_live_signal_caught();
		if (sig)
			return 128 + sig;
		return r->status;
	}
	if (o->report && !o->jsonl) {
		const struct ht_report_opts ro = {
			.format = !strcmp(o->report_format, "json")  ? HT_REPORT_JSON
			          : !strcmp(o->report_format, "csv") ? HT_REPORT_CSV
			                                             : HT_REPORT_TEXT,
			.wide = o->report_wide,
			.numeric = o->numeric,
			.extensions = o->extensions,
			.target = r->a.host,
			.name = dns ? name_of : NULL,
			.name_u = r,
			.start_utc = r->start_utc,
			.start_us = r->start_us,
			.ping = o->hop_ping ? hp_stats : NULL,
			.ping_u = r,
		};
		/* Names still on their way get a moment. */
		if (dns)
			ht_dns_wait(dns, ht_now_us() + HT_DNS_HOLD_BUDGET_US);
		if (ht_report_write(stdout, r->m, &ro) < 0 && !r->status)
			r->status = 1;
	}
	return r->status;
}

void ht_monrun_free(struct ht_monrun *r)
{
	if (!r)
		return;
	if (r->lv)
		ht_live_close(r->lv);
	ht_monitor_free(r->m);
	ht_engine_free(r->e);
	ht_io_mux_free(r->mux);
	free(r);
}
