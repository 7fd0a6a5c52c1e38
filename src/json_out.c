/*
 * JSON and JSON-lines output. See json_out.h and docs/json-schema.md.
 */
#include "json_out.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

/* RTTs are whole microseconds below 2^32, so ten significant digits
 * print every one of them exactly in milliseconds (4294967.295). */
#define REAL_FLAGS JSON_REAL_PRECISION(10)

struct hop_copy {
	int ttl;
	bool reached;
	bool skipped;
	int nprobes;
	struct ht_probe *probes;
};

struct ht_json {
	FILE *f;
	struct ht_json_opts o;
	struct ht_config cfg;
	char target[256];
	char start[32]; /* batch: wall-clock start, UTC */
	bool have_t0;
	uint64_t t0; /* send time of the first probe: "sent_ms" is relative to it */
	struct hop_copy *hops;
	int nhops, capHops;
	bool have_stop;
	enum ht_stop_reason reason;
	int last_ttl;
	int error;
	bool io_error;
	bool nomem;
	/* Lines mode: addresses that answered in this trace. A name that
	 * resolves late (say, during the next trace of a batch) is written
	 * only if it belongs to this trace. */
	ht_addr *seen;
	int nseen, capseen;
};

static bool was_seen(const struct ht_json *j, const ht_addr *a)
{
	for (int i = 0; i < j->nseen; i++)
		if (ht_addr_equal(&j->seen[i], a))
			return true;
	return false;
}

static void see_addr(struct ht_json *j, const ht_addr *a)
{
	if (was_seen(j, a))
		return;
	if (j->nseen == j->capseen) {
		int cap = j->capseen ? j->capseen * 2 : 16;
		ht_addr *n = cap <= 4096 ? realloc(j->seen, (size_t)cap * sizeof(*n)) : NULL;
		if (!n)
			return;
		j->seen = n;
		j->capseen = cap;
	}
	j->seen[j->nseen++] = *a;
}

const char *ht_json_method_name(enum ht_method m)
{
	switch (m) {
	case HT_METHOD_UDP:
		return "udp";
	case HT_METHOD_ICMP:
		return "icmp";
	case HT_METHOD_TCP:
		return "tcp";
	}
	return "unknown";
}

const char *ht_json_kind_name(enum ht_reply_kind k)
{
	switch (k) {
	case HT_REPLY_NONE:
		return "none";
	case HT_REPLY_TIME_EXCEEDED:
		return "time_exceeded";
	case HT_REPLY_UNREACH:
		return "unreach";
	case HT_REPLY_PORT_UNREACH:
		return "port_unreach";
	case HT_REPLY_PTB:
		return "packet_too_big";
	case HT_REPLY_ECHO_REPLY:
		return "echo_reply";
	case HT_REPLY_TCP_SYNACK:
		return "tcp_synack";
	case HT_REPLY_TCP_RST:
		return "tcp_rst";
	case HT_REPLY_UDP_REPLY:
		return "udp_reply";
	case HT_REPLY_PARAM_PROBLEM:
		return "param_problem";
	case HT_REPLY_OTHER:
		return "other";
	}
	return "other";
}

const char *ht_json_state_name(enum ht_probe_state s)
{
	switch (s) {
	case HT_PROBE_UNSENT:
		return "unsent";
	case HT_PROBE_SENT:
		return "sent";
	case HT_PROBE_REPLIED:
		return "reply";
	case HT_PROBE_TIMEOUT:
		return "timeout";
	case HT_PROBE_CANCELLED:
		return "cancelled";
	}
	return "unknown";
}

const char *ht_json_stop_name(enum ht_stop_reason r)
{
	switch (r) {
	case HT_STOP_NONE:
		return "none";
	case HT_STOP_REACHED:
		return "reached";
	case HT_STOP_UNREACH:
		return "unreachable";
	case HT_STOP_MAX_TTL:
		return "max_ttl";
	case HT_STOP_GAP:
		return "gap_limit";
	case HT_STOP_ERROR:
		return "error";
	}
	return "none";
}

/* ---- Small builders that tolerate allocation failure ---- */

static void set(json_t *o, const char *k, json_t *v)
{
	if (o)
		json_object_set_new(o, k, v);
	else
		json_decref(v);
}

static void set_int(json_t *o, const char *k, long long v)
{
	set(o, k, json_integer(v));
}

/* Strings from the network or the user are sanitised before they reach
 * jansson (which insists on valid UTF-8) and the reader's terminal. */
static void set_str(json_t *o, const char *k, const char *s)
{
	char buf[512];
	size_t n = ht_sanitize(buf, sizeof(buf), s, strlen(s));
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	buf[n] = '\0';
	set(o, k, json_stringn(buf, n));
}

static void set_addr(json_t *o, const char *k, const ht_addr *a)
{
	char buf[INET6_ADDRSTRLEN];
	if (a->family == AF_INET || a->family == AF_INET6) {
		if (inet_ntop(a->family, &a->u, buf, sizeof(buf)))
			set(o, k, json_string(buf));
	}
}

static void set_ms(json_t *o, const char *k, uint64_t us)
{
	set(o, k, json_real((double)us / 1000.0));
}

static int dump(struct ht_json *j, json_t *v, size_t flags)
{
	if (!v) {
		j->nomem = true;
		return -ENOMEM;
	}
	if (j->o.trace_id)
		json_object_set_new(v, "trace", json_integer(j->o.trace_id));
	/* One string, one write: jansson's stream dumper writes token by
	 * token, which dominated a busy batch's time. */
	char *text = json_dumps(v, flags | REAL_FLAGS);
	int rc = text && fputs(text, j->f) != EOF ? 0 : -1;
	free(text);
	json_decref(v);
	if (rc < 0 || fputc('\n', j->f) == EOF || fflush(j->f) == EOF) {
		j->io_error = true;
		return -EIO;
	}
	return 0;
}

/* ---- Objects ---- */

static json_t *reply_obj(const struct ht_reply *r)
{
	json_t *o = json_object();
	set(o, "kind", json_string(ht_json_kind_name(r->kind)));
	if (r->kind != HT_REPLY_TCP_SYNACK && r->kind != HT_REPLY_TCP_RST &&
	    r->kind != HT_REPLY_UDP_REPLY) {
		set_int(o, "icmp_type", r->icmp_type);
		set_int(o, "icmp_code", r->icmp_code);
	}
	if (r->annot != HT_ANN_NONE) {
		char buf[32];
		set(o, "annot", json_string(ht_annot_str(r, buf, sizeof(buf))));
	}
	if (r->mtu)
		set_int(o, "mtu", r->mtu);
	if (r->reply_ttl)
		set_int(o, "reply_ttl", r->reply_ttl);
	if (r->has_quoted_ttl)
		set_int(o, "quoted_ttl", r->quoted_ttl);
	if (r->has_quoted_tos)
		set_int(o, "quoted_tos", r->quoted_tos);
	if (r->n_mpls) {
		json_t *a = json_array();
		for (int i = 0; i < r->n_mpls && i < HT_MAX_MPLS; i++) {
			json_t *m = json_object();
			set_int(m, "label", r->mpls[i].label);
			set_int(m, "tc", r->mpls[i].tc);
			set(m, "s", json_boolean(r->mpls[i].s));
			set_int(m, "ttl", r->mpls[i].ttl);
			if (a)
				json_array_append_new(a, m);
			else
				json_decref(m);
		}
		set(o, "mpls", a);
	}
	if (r->has_ifinfo) {
		json_t *i = json_object();
		if (r->if_index)
			set_int(i, "index", r->if_index);
		set_addr(i, "addr", &r->if_addr);
		if (r->if_name[0])
			set_str(i, "name", r->if_name);
		if (r->if_mtu)
			set_int(i, "mtu", r->if_mtu);
		set(o, "ifinfo", i);
	}
	return o;
}

/* The fields of one probe, shared by documents and probe_done lines. */
static void probe_fields(struct ht_json *j, json_t *o, const struct ht_probe *p)
{
	set_int(o, "seq", p->seq);
	set_int(o, "idx", p->idx);
	set(o, "state", json_string(ht_json_state_name(p->state)));
	if (p->state == HT_PROBE_UNSENT || p->state == HT_PROBE_CANCELLED)
		return;
	if (j->have_t0 && p->sent_us >= j->t0)
		set_ms(o, "sent_ms", p->sent_us - j->t0);
	if (p->second_look)
		set(o, "second_look", json_true());
	if (p->rate_limited)
		set(o, "rate_limited", json_true());
	if (p->state != HT_PROBE_REPLIED)
		return;
	set_addr(o, "addr", &p->reply.from);
	const char *name = j->o.name_fn ? j->o.name_fn(j->o.name_u, &p->reply.from) : NULL;
	if (name)
		set_str(o, "name", name);
	set_ms(o, "rtt_ms", p->rtt_us);
	set(o, "reached", json_boolean(p->reached));
	if (p->dups)
		set_int(o, "dups", p->dups);
	set(o, "reply", reply_obj(&p->reply));
}

static json_t *hop_obj(struct ht_json *j, json_t *o, int ttl, bool reached, bool skipped,
                       const struct ht_probe *probes, int n)
{
	set_int(o, "ttl", ttl);
	set(o, "reached", json_boolean(reached));
	if (skipped)
		set(o, "skipped", json_true());
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		json_t *p = json_object();
		probe_fields(j, p, &probes[i]);
		if (a)
			json_array_append_new(a, p);
		else
			json_decref(p);
	}
	set(o, "probes", a);
	return o;
}

static json_t *target_obj(struct ht_json *j)
{
	json_t *o = json_object();
	set_str(o, "name", j->target);
	set_addr(o, "addr", &j->cfg.dst);
	return o;
}

static json_t *source_obj(struct ht_json *j)
{
	const ht_addr *src = j->o.flow ? &j->o.flow->src : &j->cfg.src;
	if (!src->family)
		return NULL;
	json_t *o = json_object();
	set_addr(o, "addr", src);
	if (j->o.flow && j->cfg.method != HT_METHOD_ICMP && j->o.flow->sport)
		set_int(o, "port", j->o.flow->sport);
	if (j->o.flow && j->cfg.method == HT_METHOD_ICMP)
		set_int(o, "icmp_id", j->o.flow->icmp_id);
	return o;
}

static json_t *params_obj(struct ht_json *j)
{
	const struct ht_config *c = &j->cfg;
	json_t *o = json_object();
	set(o, "method", json_string(ht_json_method_name(c->method)));
	set(o, "family", json_string(c->family == AF_INET6 ? "ipv6" : "ipv4"));
	set(o, "flow", json_string(c->classic ? "classic" : "paris"));
	set_int(o, "first_ttl", c->first_ttl);
	set_int(o, "max_ttl", c->max_ttl);
	set_int(o, "queries", c->nqueries);
	set_int(o, "window", c->window);
	set_int(o, "gap_limit", c->gap_limit);
	if (c->method != HT_METHOD_ICMP) {
		unsigned port = c->port;
		if (!port && j->o.flow)
			port = j->o.flow->dport;
		if (!port)
			port = c->method == HT_METHOD_TCP ? HT_DEFAULT_TCP_PORT
			                                  : HT_DEFAULT_UDP_PORT;
		set_int(o, "port", port);
	}
	size_t len = c->packet_len;
	if (!len && j->o.flow)
		len = j->o.flow->packet_len;
	if (len)
		set_int(o, "packet_len", (long long)len);
	set_int(o, "tos", c->tos);
	set(o, "dont_fragment", json_boolean(c->dont_fragment));
	set_int(o, "pps", c->pps);
	set_int(o, "send_gap_us", c->send_gap_us);
	json_t *w = json_object();
	set_int(w, "max_us", c->wait_max_us);
	set(w, "here", json_real(c->wait_here));
	set(w, "near", json_real(c->wait_near));
	set_int(w, "min_us", c->wait_min_us);
	set(w, "far", json_real(c->wait_far));
	set_int(w, "far_us", c->wait_far_us);
	set_int(w, "far_min_us", c->wait_far_min_us);
	set_int(w, "slow_us", c->wait_slow_us);
	set_int(w, "recheck_us", c->recheck_us);
	set(o, "wait", w);
	return o;
}

static json_t *stop_obj(struct ht_json *j)
{
	json_t *o = json_object();
	set(o, "reason", json_string(ht_json_stop_name(j->reason)));
	set_int(o, "last_ttl", j->last_ttl);
	if (j->reason == HT_STOP_ERROR && j->error)
		set(o, "error", json_string(strerror(j->error < 0 ? -j->error : j->error)));
	return o;
}

static json_t *stats_obj(const struct ht_session_stats *st)
{
	json_t *o = json_object();
	set_int(o, "probes_sent", st->probes_sent);
	set_int(o, "replies_matched", st->replies_matched);
	set_int(o, "replies_unmatched", st->replies_unmatched);
	set_int(o, "replies_duplicate", st->replies_duplicate);
	set_int(o, "probes_past_dst", st->probes_past_dst);
	set_int(o, "probes_second_look", st->probes_second_look);
	set_int(o, "probes_rate_limited", st->probes_rate_limited);
	if (st->probes_distance || st->probes_unproven || st->probes_saved_stopset) {
		set_int(o, "probes_distance", st->probes_distance);
		set_int(o, "probes_unproven", st->probes_unproven);
		set_int(o, "probes_saved_stopset", st->probes_saved_stopset);
		set_int(o, "probes_predicted", st->probes_predicted);
		set_int(o, "predicted_right", st->predicted_right);
	}
	return o;
}

static json_t *line(const char *type)
{
	json_t *o = json_object();
	set(o, "type", json_string(type));
	return o;
}

/* ---- API ---- */

void ht_utc_iso(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	size_t k;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	k = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + k, len - k, ".%03ldZ", ts.tv_nsec / 1000000);
}

int ht_json_begin(struct ht_json **out, FILE *f, const struct ht_json_opts *o,
                  const struct ht_config *cfg, const char *target_name)
{
	*out = NULL;
	struct ht_json *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->f = f;
	j->o = *o;
	j->cfg = *cfg;
	size_t n = ht_sanitize(j->target, sizeof(j->target), target_name ? target_name : "",
	                       target_name ? strlen(target_name) : 0);
	j->target[n < sizeof(j->target) ? n : sizeof(j->target) - 1] = '\0';
	if (o->trace_id)
		ht_utc_iso(j->start, sizeof(j->start));
	*out = j;
	if (o->mode == HT_JSON_LINES) {
		json_t *l = line("trace_start");
		set_int(l, "schema", HT_JSON_SCHEMA_VERSION);
		set(l, "version", json_string(HT_VERSION));
		set(l, "target", target_obj(j));
		if (j->start[0])
			set(l, "start", json_string(j->start));
		set(l, "source", source_obj(j));
		set(l, "parameters", params_obj(j));
		dump(j, l, JSON_COMPACT);
	}
	return 0;
}

static void keep_hop(struct ht_json *j, const struct ht_hop *h)
{
	if (j->nhops == j->capHops) {
		int ncap = j->capHops ? j->capHops * 2 : 32;
		struct hop_copy *n = realloc(j->hops, (size_t)ncap * sizeof(*n));
		if (!n) {
			j->nomem = true;
			return;
		}
		j->hops = n;
		j->capHops = ncap;
	}
	struct hop_copy *c = &j->hops[j->nhops];
	c->ttl = h->ttl;
	c->reached = h->reached;
	c->skipped = h->skipped;
	c->nprobes = 0;
	c->probes = NULL;
	if (h->nprobes > 0) {
		c->probes = malloc((size_t)h->nprobes * sizeof(*c->probes));
		if (!c->probes) {
			j->nomem = true;
			return;
		}
		memcpy(c->probes, h->probes, (size_t)h->nprobes * sizeof(*c->probes));
		c->nprobes = h->nprobes;
	}
	j->nhops++;
}

void ht_json_on_event(struct ht_json *j, const struct ht_event *ev)
{
	bool lines = j->o.mode == HT_JSON_LINES;
	json_t *l;

	switch (ev->type) {
	case HT_EV_PROBE_SENT:
		if (!j->have_t0) {
			j->have_t0 = true;
			j->t0 = ev->probe->sent_us;
		}
		if (!lines)
			return;
		l = line("probe_sent");
		set_int(l, "ttl", ev->probe->ttl);
		set_int(l, "seq", ev->probe->seq);
		set_int(l, "idx", ev->probe->idx);
		if (ev->probe->sent_us >= j->t0)
			set_ms(l, "sent_ms", ev->probe->sent_us - j->t0);
		dump(j, l, JSON_COMPACT);
		return;
	case HT_EV_PROBE_DONE:
		if (!lines)
			return;
		if (ev->probe->state == HT_PROBE_REPLIED)
			see_addr(j, &ev->probe->reply.from);
		l = line("probe_done");
		set_int(l, "ttl", ev->probe->ttl);
		probe_fields(j, l, ev->probe);
		dump(j, l, JSON_COMPACT);
		return;
	case HT_EV_HOP_DONE:
		if (!lines) {
			keep_hop(j, ev->hop);
			return;
		}
		l = line("hop_done");
		hop_obj(j, l, ev->hop->ttl, ev->hop->reached, ev->hop->skipped, ev->hop->probes,
		        ev->hop->nprobes);
		dump(j, l, JSON_COMPACT);
		return;
	case HT_EV_TRACE_DONE:
		/* Written by ht_json_end(), which also knows the statistics. */
		j->have_stop = true;
		j->reason = ev->reason;
		j->last_ttl = ev->last_ttl;
		j->error = ev->error;
		return;
	}
}

void ht_json_event_cb(void *user, const struct ht_event *ev)
{
	ht_json_on_event(user, ev);
}

void ht_json_name_cb(void *user, const ht_addr *a, const char *name)
{
	struct ht_json *j = user;
	if (j->o.mode != HT_JSON_LINES || !name || !was_seen(j, a))
		return;
	json_t *l = line("name");
	set_addr(l, "addr", a);
	set_str(l, "name", name);
	dump(j, l, JSON_COMPACT);
}

int ht_json_end(struct ht_json *j, const struct ht_session_stats *st)
{
	if (!j)
		return 0;
	json_t *doc;
	size_t flags;
	if (j->o.mode == HT_JSON_LINES) {
		doc = line("trace_done");
		flags = JSON_COMPACT;
		if (j->o.trace_id)
			set(doc, "target", target_obj(j));
	} else {
		doc = json_object();
		flags = j->o.pretty ? JSON_INDENT(2) : JSON_COMPACT;
		set_int(doc, "schema", HT_JSON_SCHEMA_VERSION);
		set(doc, "version", json_string(HT_VERSION));
		set(doc, "target", target_obj(j));
		if (j->start[0])
			set(doc, "start", json_string(j->start));
		set(doc, "source", source_obj(j));
		set(doc, "parameters", params_obj(j));
		json_t *hops = json_array();
		for (int i = 0; i < j->nhops; i++) {
			json_t *h = hop_obj(j, json_object(), j->hops[i].ttl, j->hops[i].reached,
			                    j->hops[i].skipped, j->hops[i].probes, j->hops[i].nprobes);
			if (hops)
				json_array_append_new(hops, h);
			else
				json_decref(h);
		}
		set(doc, "hops", hops);
	}
	set(doc, "stop", stop_obj(j));
	if (st)
		set(doc, "stats", stats_obj(st));
	dump(j, doc, flags);

	int rc = j->io_error ? -EIO : j->nomem ? -ENOMEM : 0;
	for (int i = 0; i < j->nhops; i++)
		free(j->hops[i].probes);
	free(j->hops);
	free(j->seen);
	free(j);
	return rc;
}
