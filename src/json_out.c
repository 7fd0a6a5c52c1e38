/*
 * JSON and JSON-lines output. See json_out.h and docs/json-schema.md.
 */
#include "json_out.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

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

/*
 * ---- The writer ----
 *
 * Each line (or document) is written into a buffer as it is walked, then
 * out with one write: no tree of values, no allocation per value. The
 * bytes are jansson's (what this file used to build and dump): members in
 * the order written, JSON_COMPACT (',' and ':') or JSON_INDENT(2) (a new
 * line and two spaces per level, ": "), integers as %lld, reals as "%.10g"
 * with ".0" added when that reads as an integer. Strings that are not plain
 * ASCII go through jansson, which validates and escapes them. A member
 * whose value jansson would refuse (a string of invalid UTF-8, a real that
 * is not finite) is left out, as it was.
 */
#define JW_DEPTH 16

/* The first buffer is the caller's (on its stack); a longer text moves to
 * the heap. */
struct jw {
	char *b;
	size_t len, cap;
	char *stack;
	bool oom;
	int indent;            /* spaces per level; 0: compact */
	int depth;
	bool any[JW_DEPTH];    /* the container at this depth has a member */
};

static bool jw_grow(struct jw *w, size_t more)
{
	size_t cap = w->cap * 2 > w->len + more ? w->cap * 2 : w->len + more + 256;
	char *n = w->b == w->stack ? malloc(cap) : realloc(w->b, cap);

	if (!n) {
		w->oom = true;
		return false;
	}
	if (w->b == w->stack)
		memcpy(n, w->stack, w->len);
	w->b = n;
	w->cap = cap;
	return true;
}

static void jw_put(struct jw *w, const char *s, size_t n)
{
	if (w->oom || (w->len + n > w->cap && !jw_grow(w, n)))
		return;
	memcpy(w->b + w->len, s, n);
	w->len += n;
}

static void jw_putc(struct jw *jb, char c)
{
	jw_put(jb, &c, 1);
}

static void jw_newline(struct jw *jb, int depth)
{
	static const char spaces[] = "                                ";
	int n = depth * jb->indent;

	jw_putc(jb, '\n');
	while (n > 0) {
		int k = n < (int)sizeof(spaces) - 1 ? n : (int)sizeof(spaces) - 1;
		jw_put(jb, spaces, (size_t)k);
		n -= k;
	}
}

/* Before a member or an element: the separator from the one before. */
static void jw_sep(struct jw *jb)
{
	if (jb->any[jb->depth])
		jw_putc(jb, ',');
	jb->any[jb->depth] = true;
	if (jb->indent)
		jw_newline(jb, jb->depth);
}

/* A member's key: one of ours, plain ASCII, written as it is. */
static void jw_key(struct jw *jb, const char *k)
{
	size_t n = strlen(k);

	jw_sep(jb);
	if (jb->oom || (jb->len + n + 4 > jb->cap && !jw_grow(jb, n + 4)))
		return;
	char *o = jb->b + jb->len;
	o[0] = '"';
	memcpy(o + 1, k, n);
	o[n + 1] = '"';
	o[n + 2] = ':';
	o[n + 3] = ' ';
	jb->len += n + (jb->indent ? 4 : 3);
}

/* Open a container as a member (k) or as an element (k NULL). */
static void jw_open(struct jw *jb, const char *k, char c)
{
	if (k)
		jw_key(jb, k);
	else if (jb->depth > 0 || jb->len)
		jw_sep(jb);
	jw_putc(jb, c);
	if (jb->depth + 1 >= JW_DEPTH) {
		jb->oom = true;
		return;
	}
	jb->any[++jb->depth] = false;
}

static void jw_close(struct jw *jb, char c)
{
	if (jb->depth <= 0)
		return;
	if (jb->any[jb->depth--] && jb->indent)
		jw_newline(jb, jb->depth);
	jw_putc(jb, c);
}

static void set_int(struct jw *jb, const char *k, long long v)
{
	char buf[24], *e = buf + sizeof(buf), *p = e;
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10));
	if (v < 0)
		*--p = '-';
	jw_key(jb, k);
	jw_put(jb, p, (size_t)(e - p));
}

static void set_bool(struct jw *jb, const char *k, bool v)
{
	jw_key(jb, k);
	if (v)
		jw_put(jb, "true", 4);
	else
		jw_put(jb, "false", 5);
}

/* s between quotes, as it is: only for text that needs no escape. */
static void jw_quoted(struct jw *jb, const char *s, size_t n)
{
	if (jb->oom || (jb->len + n + 2 > jb->cap && !jw_grow(jb, n + 2)))
		return;
	jb->b[jb->len] = '"';
	memcpy(jb->b + jb->len + 1, s, n);
	jb->b[jb->len + n + 1] = '"';
	jb->len += n + 2;
}

/* Printable ASCII without '"' or '\\': jansson writes it unchanged. */
static bool plain_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			return false;
	}
	return true;
}

/* A string member. Plain ASCII (addresses, nearly every name) is written
 * as it is; anything else is jansson's to judge and escape: invalid UTF-8
 * is refused (the member left out), the rest dumped as jansson dumps it. */
static void set_strn(struct jw *jb, const char *k, const char *s, size_t n)
{
	if (!s)
		return;
	if (plain_ascii(s, n)) {
		jw_key(jb, k);
		jw_quoted(jb, s, n);
		return;
	}
	json_t *v = json_stringn(s, n);
	char *d = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;

	if (d) {
		jw_key(jb, k);
		jw_put(jb, d, strlen(d));
	} else if (v) {
		jb->oom = true;
	}
	free(d);
	json_decref(v);
}

static void set_cstr(struct jw *jb, const char *k, const char *s)
{
	if (s)
		set_strn(jb, k, s, strlen(s));
}

/* One of our own names (a kind, a state, a method): ASCII that needs no
 * escape, written as it is. */
static void set_name(struct jw *jb, const char *k, const char *s)
{
	jw_key(jb, k);
	jw_quoted(jb, s, strlen(s));
}

/* Strings from the network or the user are sanitised before they are
 * written (valid UTF-8 only, and nothing for the reader's terminal). */
static void set_str(struct jw *jb, const char *k, const char *s)
{
	char buf[512];
	size_t n = ht_sanitize(buf, sizeof(buf), s, strlen(s));
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	buf[n] = '\0';
	set_strn(jb, k, buf, n);
}

static void set_addr(struct jw *jb, const char *k, const ht_addr *a)
{
	char buf[INET6_ADDRSTRLEN];
	if (a->family == AF_INET) {
		/* Dotted quad, as inet_ntop writes it. */
		const uint8_t *b = (const uint8_t *)&a->u.v4;
		char *o = buf;
		for (int i = 0; i < 4; i++) {
			unsigned v = b[i];
			if (i)
				*o++ = '.';
			if (v >= 100)
				*o++ = (char)('0' + v / 100);
			if (v >= 10)
				*o++ = (char)('0' + v / 10 % 10);
			*o++ = (char)('0' + v % 10);
		}
		*o = '\0';
		set_name(jb, k, buf);
	} else if (a->family == AF_INET6) {
		if (inet_ntop(a->family, &a->u, buf, sizeof(buf)))
			set_name(jb, k, buf);
	}
}

/* A real as jansson writes it with JSON_REAL_PRECISION(10). */
static void set_real(struct jw *jb, const char *k, double v)
{
	char buf[40];
	int n;

	if (!isfinite(v))
		return;
	n = snprintf(buf, sizeof(buf), "%.10g", v);
	if (n < 0 || (size_t)n + 3 >= sizeof(buf))
		return;
	if (!strchr(buf, '.') && !strchr(buf, 'e')) {
		memcpy(buf + n, ".0", 3);
		n += 2;
	}
	/* No '+' and no leading zeros in an exponent. */
	char *e = strchr(buf, 'e');
	if (e) {
		char *from = e + 1, *to = e + 1;
		if (*from == '-')
			from++, to++;
		else if (*from == '+')
			from++;
		while (*from == '0')
			from++;
		memmove(to, from, strlen(from) + 1);
		n = (int)strlen(buf);
	}
	jw_key(jb, k);
	jw_put(jb, buf, (size_t)n);
}

/* Milliseconds from whole microseconds: below 10^10 us the ten significant
 * digits print the value exactly, so the decimal is written directly. */
static void set_ms(struct jw *jb, const char *k, uint64_t us)
{
	char buf[32], *e = buf + sizeof(buf), *p = e;
	uint64_t frac = us % 1000, whole = us / 1000;

	if (us >= 10000000000ull) {
		set_real(jb, k, (double)us / 1000.0);
		return;
	}
	if (frac) {
		int digits = 3;
		while (frac % 10 == 0) {
			frac /= 10;
			digits--;
		}
		while (digits--) {
			*--p = (char)('0' + frac % 10);
			frac /= 10;
		}
	} else {
		*--p = '0';
	}
	*--p = '.';
	do
		*--p = (char)('0' + whole % 10);
	while ((whole /= 10));
	jw_key(jb, k);
	jw_put(jb, p, (size_t)(e - p));
}

/* Write the buffer as one line (or document) and flush. */
static int jw_emit(struct ht_json *j, struct jw *jb)
{
	int rc = 0;

	if (jb->oom) {
		j->nomem = true;
		rc = -ENOMEM;
	} else {
		jw_putc(jb, '\n');
		if (jb->oom) {
			j->nomem = true;
			rc = -ENOMEM;
		} else if (fwrite(jb->b, 1, jb->len, j->f) != jb->len || fflush(j->f) == EOF) {
			j->io_error = true;
			rc = -EIO;
		}
	}
	if (jb->b != jb->stack)
		free(jb->b);
	return rc;
}

#define JW_DECLARE(name, ind)                                                               \
	char name##_stack[2048];                                                                 \
	struct jw name = {.b = name##_stack, .cap = sizeof(name##_stack), .stack = name##_stack,   \
	                  .indent = (ind)}

/* The end of a top-level object: the batch's trace id last, then out. */
static int dump(struct ht_json *j, struct jw *jb)
{
	if (j->o.trace_id)
		set_int(jb, "trace", j->o.trace_id);
	jw_close(jb, '}');
	return jw_emit(j, jb);
}

/* ---- Objects ---- */

static void reply_obj(struct jw *jb, const struct ht_reply *r)
{
	jw_open(jb, "reply", '{');
	set_name(jb, "kind", ht_json_kind_name(r->kind));
	if (r->kind != HT_REPLY_TCP_SYNACK && r->kind != HT_REPLY_TCP_RST &&
	    r->kind != HT_REPLY_UDP_REPLY) {
		set_int(jb, "icmp_type", r->icmp_type);
		set_int(jb, "icmp_code", r->icmp_code);
	}
	if (r->annot != HT_ANN_NONE) {
		char buf[32];
		set_cstr(jb, "annot", ht_annot_str(r, buf, sizeof(buf)));
	}
	if (r->mtu)
		set_int(jb, "mtu", r->mtu);
	if (r->reply_ttl)
		set_int(jb, "reply_ttl", r->reply_ttl);
	if (r->has_quoted_ttl)
		set_int(jb, "quoted_ttl", r->quoted_ttl);
	if (r->has_quoted_tos)
		set_int(jb, "quoted_tos", r->quoted_tos);
	if (r->n_mpls) {
		jw_open(jb, "mpls", '[');
		for (int i = 0; i < r->n_mpls && i < HT_MAX_MPLS; i++) {
			jw_open(jb, NULL, '{');
			set_int(jb, "label", r->mpls[i].label);
			set_int(jb, "tc", r->mpls[i].tc);
			set_bool(jb, "s", r->mpls[i].s);
			set_int(jb, "ttl", r->mpls[i].ttl);
			jw_close(jb, '}');
		}
		jw_close(jb, ']');
	}
	if (r->has_ifinfo) {
		jw_open(jb, "ifinfo", '{');
		if (r->if_index)
			set_int(jb, "index", r->if_index);
		set_addr(jb, "addr", &r->if_addr);
		if (r->if_name[0])
			set_str(jb, "name", r->if_name);
		if (r->if_mtu)
			set_int(jb, "mtu", r->if_mtu);
		jw_close(jb, '}');
	}
	jw_close(jb, '}');
}

/* The fields of one probe, shared by documents and probe_done lines. */
static void probe_fields(struct ht_json *j, struct jw *jb, const struct ht_probe *p)
{
	set_int(jb, "seq", p->seq);
	set_int(jb, "idx", p->idx);
	set_name(jb, "state", ht_json_state_name(p->state));
	if (p->state == HT_PROBE_UNSENT || p->state == HT_PROBE_CANCELLED)
		return;
	if (j->have_t0 && p->sent_us >= j->t0)
		set_ms(jb, "sent_ms", p->sent_us - j->t0);
	if (p->second_look)
		set_bool(jb, "second_look", true);
	if (p->rate_limited)
		set_bool(jb, "rate_limited", true);
	if (p->state != HT_PROBE_REPLIED)
		return;
	set_addr(jb, "addr", &p->reply.from);
	const char *name = j->o.name_fn ? j->o.name_fn(j->o.name_u, &p->reply.from) : NULL;
	if (name)
		set_str(jb, "name", name);
	set_ms(jb, "rtt_ms", p->rtt_us);
	set_bool(jb, "reached", p->reached);
	if (p->dups)
		set_int(jb, "dups", p->dups);
	reply_obj(jb, &p->reply);
}

/* A hop's members, into the object open in jb. */
static void hop_fields(struct ht_json *j, struct jw *jb, int ttl, bool reached, bool skipped,
                       const struct ht_probe *probes, int n)
{
	set_int(jb, "ttl", ttl);
	set_bool(jb, "reached", reached);
	if (skipped)
		set_bool(jb, "skipped", true);
	jw_open(jb, "probes", '[');
	for (int i = 0; i < n; i++) {
		jw_open(jb, NULL, '{');
		probe_fields(j, jb, &probes[i]);
		jw_close(jb, '}');
	}
	jw_close(jb, ']');
}

static void target_obj(struct ht_json *j, struct jw *jb)
{
	jw_open(jb, "target", '{');
	set_str(jb, "name", j->target);
	set_addr(jb, "addr", &j->cfg.dst);
	jw_close(jb, '}');
}

static void source_obj(struct ht_json *j, struct jw *jb)
{
	const ht_addr *src = j->o.flow ? &j->o.flow->src : &j->cfg.src;
	if (!src->family)
		return;
	jw_open(jb, "source", '{');
	set_addr(jb, "addr", src);
	if (j->o.flow && j->cfg.method != HT_METHOD_ICMP && j->o.flow->sport)
		set_int(jb, "port", j->o.flow->sport);
	if (j->o.flow && j->cfg.method == HT_METHOD_ICMP)
		set_int(jb, "icmp_id", j->o.flow->icmp_id);
	jw_close(jb, '}');
}

static void params_obj(struct ht_json *j, struct jw *jb)
{
	const struct ht_config *c = &j->cfg;
	jw_open(jb, "parameters", '{');
	set_name(jb, "method", ht_json_method_name(c->method));
	set_name(jb, "family", c->family == AF_INET6 ? "ipv6" : "ipv4");
	set_name(jb, "flow", c->classic ? "classic" : "paris");
	set_int(jb, "first_ttl", c->first_ttl);
	set_int(jb, "max_ttl", c->max_ttl);
	set_int(jb, "queries", c->nqueries);
	set_int(jb, "window", c->window);
	set_int(jb, "gap_limit", c->gap_limit);
	if (c->method != HT_METHOD_ICMP) {
		unsigned port = c->port;
		if (!port && j->o.flow)
			port = j->o.flow->dport;
		if (!port)
			port = c->method == HT_METHOD_TCP ? HT_DEFAULT_TCP_PORT
			                                  : HT_DEFAULT_UDP_PORT;
		set_int(jb, "port", port);
	}
	size_t len = c->packet_len;
	if (!len && j->o.flow)
		len = j->o.flow->packet_len;
	if (len)
		set_int(jb, "packet_len", (long long)len);
	set_int(jb, "tos", c->tos);
	set_bool(jb, "dont_fragment", c->dont_fragment);
	set_int(jb, "pps", c->pps);
	set_int(jb, "send_gap_us", c->send_gap_us);
	jw_open(jb, "wait", '{');
	set_int(jb, "max_us", c->wait_max_us);
	set_real(jb, "here", c->wait_here);
	set_real(jb, "near", c->wait_near);
	set_int(jb, "min_us", c->wait_min_us);
	set_real(jb, "far", c->wait_far);
	set_int(jb, "far_us", c->wait_far_us);
	set_int(jb, "far_min_us", c->wait_far_min_us);
	set_int(jb, "slow_us", c->wait_slow_us);
	set_int(jb, "recheck_us", c->recheck_us);
	jw_close(jb, '}');
	jw_close(jb, '}');
}

static void stop_obj(struct ht_json *j, struct jw *jb)
{
	jw_open(jb, "stop", '{');
	set_name(jb, "reason", ht_json_stop_name(j->reason));
	set_int(jb, "last_ttl", j->last_ttl);
	if (j->reason == HT_STOP_ERROR && j->error)
		set_cstr(jb, "error", strerror(j->error < 0 ? -j->error : j->error));
	jw_close(jb, '}');
}

static void stats_obj(struct jw *jb, const struct ht_session_stats *st)
{
	jw_open(jb, "stats", '{');
	set_int(jb, "probes_sent", st->probes_sent);
	set_int(jb, "replies_matched", st->replies_matched);
	set_int(jb, "replies_unmatched", st->replies_unmatched);
	set_int(jb, "replies_duplicate", st->replies_duplicate);
	set_int(jb, "probes_past_dst", st->probes_past_dst);
	set_int(jb, "probes_second_look", st->probes_second_look);
	set_int(jb, "probes_rate_limited", st->probes_rate_limited);
	if (st->probes_distance || st->probes_unproven || st->probes_saved_stopset) {
		set_int(jb, "probes_distance", st->probes_distance);
		set_int(jb, "probes_unproven", st->probes_unproven);
		set_int(jb, "probes_saved_stopset", st->probes_saved_stopset);
		set_int(jb, "probes_predicted", st->probes_predicted);
		set_int(jb, "predicted_right", st->predicted_right);
	}
	jw_close(jb, '}');
}

/* A line: its object opened with its type first. */
static void line(struct jw *jb, const char *type)
{
	jw_open(jb, NULL, '{');
	set_name(jb, "type", type);
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
		JW_DECLARE(l, 0);
		line(&l, "trace_start");
		set_int(&l, "schema", HT_JSON_SCHEMA_VERSION);
		set_cstr(&l, "version", HT_VERSION);
		target_obj(j, &l);
		if (j->start[0])
			set_cstr(&l, "start", j->start);
		source_obj(j, &l);
		params_obj(j, &l);
		dump(j, &l);
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

	switch (ev->type) {
	case HT_EV_PROBE_SENT: {
		if (!j->have_t0) {
			j->have_t0 = true;
			j->t0 = ev->probe->sent_us;
		}
		if (!lines)
			return;
		JW_DECLARE(l, 0);
		line(&l, "probe_sent");
		set_int(&l, "ttl", ev->probe->ttl);
		set_int(&l, "seq", ev->probe->seq);
		set_int(&l, "idx", ev->probe->idx);
		if (ev->probe->sent_us >= j->t0)
			set_ms(&l, "sent_ms", ev->probe->sent_us - j->t0);
		dump(j, &l);
		return;
	}
	case HT_EV_PROBE_DONE: {
		if (!lines)
			return;
		if (ev->probe->state == HT_PROBE_REPLIED)
			see_addr(j, &ev->probe->reply.from);
		JW_DECLARE(l, 0);
		line(&l, "probe_done");
		set_int(&l, "ttl", ev->probe->ttl);
		probe_fields(j, &l, ev->probe);
		dump(j, &l);
		return;
	}
	case HT_EV_HOP_DONE: {
		if (!lines) {
			keep_hop(j, ev->hop);
			return;
		}
		JW_DECLARE(l, 0);
		line(&l, "hop_done");
		hop_fields(j, &l, ev->hop->ttl, ev->hop->reached, ev->hop->skipped,
		           ev->hop->probes, ev->hop->nprobes);
		dump(j, &l);
		return;
	}
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
	JW_DECLARE(l, 0);
	line(&l, "name");
	set_addr(&l, "addr", a);
	set_str(&l, "name", name);
	dump(j, &l);
}

int ht_json_end(struct ht_json *j, const struct ht_session_stats *st)
{
	if (!j)
		return 0;
	bool lines = j->o.mode == HT_JSON_LINES;
	JW_DECLARE(doc, !lines && j->o.pretty ? 2 : 0);
	if (lines) {
		line(&doc, "trace_done");
		if (j->o.trace_id)
			target_obj(j, &doc);
	} else {
		jw_open(&doc, NULL, '{');
		set_int(&doc, "schema", HT_JSON_SCHEMA_VERSION);
		set_cstr(&doc, "version", HT_VERSION);
		target_obj(j, &doc);
		if (j->start[0])
			set_cstr(&doc, "start", j->start);
		source_obj(j, &doc);
		params_obj(j, &doc);
		jw_open(&doc, "hops", '[');
		for (int i = 0; i < j->nhops; i++) {
			jw_open(&doc, NULL, '{');
			hop_fields(j, &doc, j->hops[i].ttl, j->hops[i].reached, j->hops[i].skipped,
			           j->hops[i].probes, j->hops[i].nprobes);
			jw_close(&doc, '}');
		}
		jw_close(&doc, ']');
	}
	stop_obj(j, &doc);
	if (st)
		stats_obj(&doc, st);
	dump(j, &doc);

	int rc = j->io_error ? -EIO : j->nomem ? -ENOMEM : 0;
	for (int i = 0; i < j->nhops; i++)
		free(j->hops[i].probes);
	free(j->hops);
	free(j->seen);
	free(j);
	return rc;
}
