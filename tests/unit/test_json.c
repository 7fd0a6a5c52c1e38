/*
 * JSON output (src/json_out.c): hand-built events in, exact bytes out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "json_out.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static ht_addr a4(const char *s)
{
	ht_addr a;
	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, s, &a.u.v4), 1);
	return a;
}

static ht_addr a6(const char *s)
{
	ht_addr a;
	memset(&a, 0, sizeof(a));
	a.family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, s, &a.u.v6), 1);
	return a;
}

/* A fixed configuration, independent of whatever the defaults become. */
static void test_cfg(struct ht_config *c)
{
	memset(c, 0, sizeof(*c));
	c->family = AF_INET;
	c->method = HT_METHOD_UDP;
	c->dst = a4("198.18.0.9");
	c->first_ttl = 1;
	c->max_ttl = 30;
	c->nqueries = 2;
	c->window = 60;
	c->gap_limit = 5;
	c->wait_max_us = 5000000;
	c->wait_here = 3.0;
	c->wait_near = 10.0;
	c->wait_min_us = 20000;
	c->wait_far = 4.0;
	c->wait_far_us = 500000;
	c->wait_far_min_us = 750000;
	c->wait_slow_us = 300000;
	c->recheck_us = 1000000;
	c->packet_len = 60;
}

static const char *names(void *u, const ht_addr *a)
{
	(void)u;
	ht_addr r1 = a4("198.18.0.1");
	if (a->family == AF_INET && a->u.v4.s_addr == r1.u.v4.s_addr)
		return "r1.example.net";
	return NULL;
}

/* With HT_JSON_DUMP_DIR set, every output is also written there (as
 * NAME.json for documents, NAME.jsonl for lines) for the schema check. */
static void dump_out(const char *name, bool lines, const char *buf)
{
	const char *dir = getenv("HT_JSON_DUMP_DIR");
	if (!dir)
		return;
	char path[512];
	snprintf(path, sizeof(path), "%s/%s.%s", dir, name, lines ? "jsonl" : "json");
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(buf, f);
	fclose(f);
}

struct run {
	char *buf;
	size_t len;
	FILE *f;
	struct ht_json *j;
	struct ht_probe p[4];
	struct ht_hop h[2];
};

static void ev_probe(struct ht_json *j, enum ht_event_type t, const struct ht_probe *p)
{
	struct ht_event ev = {.type = t, .probe = p};
	ht_json_on_event(j, &ev);
}

static void ev_hop(struct ht_json *j, const struct ht_hop *h)
{
	struct ht_event ev = {.type = HT_EV_HOP_DONE, .hop = h};
	ht_json_on_event(j, &ev);
}

/*
 * Two hops, two probes each: hop 1 answers once (time exceeded) and is
 * silent once; hop 2 is the destination (port unreachable) and a
 * duplicate reply came in for one probe.
 */
static void play(struct run *r, enum ht_json_mode mode, bool pretty)
{
	struct ht_config cfg;
	test_cfg(&cfg);
	r->f = open_memstream(&r->buf, &r->len);
	assert_non_null(r->f);
	struct ht_json_opts o = {.mode = mode, .pretty = pretty, .name_fn = names};
	assert_int_equal(ht_json_begin(&r->j, r->f, &o, &cfg, "dst.example"), 0);

	memset(r->p, 0, sizeof(r->p));
	for (int i = 0; i < 4; i++) {
		r->p[i].seq = (uint16_t)i;
		r->p[i].ttl = (uint8_t)(1 + i / 2);
		r->p[i].idx = (uint8_t)(i % 2);
		r->p[i].state = HT_PROBE_SENT;
		r->p[i].sent_us = 1000000 + 250 * (uint64_t)i;
		ev_probe(r->j, HT_EV_PROBE_SENT, &r->p[i]);
	}
	struct ht_probe *p = &r->p[0];
	p->state = HT_PROBE_REPLIED;
	p->rtt_us = 1234;
	p->reply.seq = 0;
	p->reply.from = a4("198.18.0.1");
	p->reply.kind = HT_REPLY_TIME_EXCEEDED;
	p->reply.icmp_type = 11;
	p->reply.reply_ttl = 255;
	p->reply.quoted_ttl = 1;
	p->reply.has_quoted_ttl = true;
	ev_probe(r->j, HT_EV_PROBE_DONE, p);

	for (int i = 2; i < 4; i++) {
		p = &r->p[i];
		p->state = HT_PROBE_REPLIED;
		p->rtt_us = 2000 + (uint32_t)i;
		p->reached = true;
		p->reply.seq = p->seq;
		p->reply.from = a4("198.18.0.9");
		p->reply.kind = HT_REPLY_PORT_UNREACH;
		p->reply.icmp_type = 3;
		p->reply.icmp_code = 3;
		p->reply.reply_ttl = 63;
		ev_probe(r->j, HT_EV_PROBE_DONE, p);
	}
	r->p[3].dups = 1;

	r->p[1].state = HT_PROBE_TIMEOUT;
	ev_probe(r->j, HT_EV_PROBE_DONE, &r->p[1]);

	r->h[0] = (struct ht_hop){.ttl = 1, .nprobes = 2, .probes = &r->p[0], .done = true};
	r->h[1] = (struct ht_hop){
	        .ttl = 2, .nprobes = 2, .probes = &r->p[2], .done = true, .reached = true};
	ev_hop(r->j, &r->h[0]);
	ev_hop(r->j, &r->h[1]);
	ht_json_name_cb(r->j, &r->p[0].reply.from, "r1.example.net");
	ht_json_name_cb(r->j, &r->p[2].reply.from, NULL); /* failed lookups say nothing */
	/* A late name for an address that did not answer in this trace (an
	 * earlier trace of a batch) is not this trace's business. */
	ht_addr other = a4("198.18.7.7");
	ht_json_name_cb(r->j, &other, "earlier-trace.example.net");

	struct ht_event done = {.type = HT_EV_TRACE_DONE, .reason = HT_STOP_REACHED, .last_ttl = 2};
	ht_json_on_event(r->j, &done);
	struct ht_session_stats st = {.probes_sent = 4,
	                              .replies_matched = 3,
	                              .replies_unmatched = 7,
	                              .replies_duplicate = 1,
	                              .probes_past_dst = 0};
	assert_int_equal(ht_json_end(r->j, &st), 0);
	fclose(r->f);
	dump_out(mode == HT_JSON_LINES ? "play"
	         : pretty              ? "play-pretty"
	                               : "play-compact",
	         mode == HT_JSON_LINES, r->buf);
}

#define PARAMS                                                                                     \
	"{\"method\":\"udp\",\"family\":\"ipv4\",\"flow\":\"paris\",\"first_ttl\":1,"              \
	"\"max_ttl\":30,\"queries\":2,\"window\":60,\"gap_limit\":5,\"port\":33434,"               \
	"\"packet_len\":60,\"tos\":0,\"dont_fragment\":false,\"pps\":0,\"send_gap_us\":0,"         \
	"\"wait\":{\"max_us\":5000000,\"here\":3.0,\"near\":10.0,\"min_us\":20000,\"far\":4.0,"    \
	"\"far_us\":500000,\"far_min_us\":750000,\"slow_us\":300000,\"recheck_us\":1000000}}"
#define TARGET "{\"name\":\"dst.example\",\"addr\":\"198.18.0.9\"}"
#define P0                                                                                         \
	"\"seq\":0,\"idx\":0,\"state\":\"reply\",\"sent_ms\":0.0,\"addr\":\"198.18.0.1\","         \
	"\"name\":\"r1.example.net\",\"rtt_ms\":1.234,\"reached\":false,"                          \
	"\"reply\":{\"kind\":\"time_exceeded\",\"icmp_type\":11,\"icmp_code\":0,"                  \
	"\"reply_ttl\":255,\"quoted_ttl\":1}"
#define P1 "\"seq\":1,\"idx\":1,\"state\":\"timeout\",\"sent_ms\":0.25"
#define P2                                                                                         \
	"\"seq\":2,\"idx\":0,\"state\":\"reply\",\"sent_ms\":0.5,\"addr\":\"198.18.0.9\","         \
	"\"rtt_ms\":2.002,\"reached\":true,\"reply\":{\"kind\":\"port_unreach\",\"icmp_type\":3,"  \
	"\"icmp_code\":3,\"reply_ttl\":63}"
#define P3_NODUP                                                                                   \
	"\"seq\":3,\"idx\":1,\"state\":\"reply\",\"sent_ms\":0.75,\"addr\":\"198.18.0.9\","        \
	"\"rtt_ms\":2.003,\"reached\":true,\"reply\":{\"kind\":\"port_unreach\",\"icmp_type\":3,"  \
	"\"icmp_code\":3,\"reply_ttl\":63}"
#define P3                                                                                         \
	"\"seq\":3,\"idx\":1,\"state\":\"reply\",\"sent_ms\":0.75,\"addr\":\"198.18.0.9\","        \
	"\"rtt_ms\":2.003,\"reached\":true,\"dups\":1,\"reply\":{\"kind\":\"port_unreach\","       \
	"\"icmp_type\":3,\"icmp_code\":3,\"reply_ttl\":63}"
#define STATS                                                                                      \
	"{\"probes_sent\":4,\"replies_matched\":3,\"replies_unmatched\":7,"                        \
	"\"replies_duplicate\":1,\"probes_past_dst\":0,\"probes_second_look\":0,"           \
	"\"probes_rate_limited\":0}"

static void test_lines_exact(void **state)
{
	(void)state;
	struct run r;
	play(&r, HT_JSON_LINES, false);
	const char *want =
	        "{\"type\":\"trace_start\",\"schema\":1,\"version\":\"" HT_VERSION "\","
	        "\"target\":" TARGET ",\"parameters\":" PARAMS "}\n"
	        "{\"type\":\"probe_sent\",\"ttl\":1,\"seq\":0,\"idx\":0,\"sent_ms\":0.0}\n"
	        "{\"type\":\"probe_sent\",\"ttl\":1,\"seq\":1,\"idx\":1,\"sent_ms\":0.25}\n"
	        "{\"type\":\"probe_sent\",\"ttl\":2,\"seq\":2,\"idx\":0,\"sent_ms\":0.5}\n"
	        "{\"type\":\"probe_sent\",\"ttl\":2,\"seq\":3,\"idx\":1,\"sent_ms\":0.75}\n"
	        "{\"type\":\"probe_done\",\"ttl\":1," P0 "}\n"
	        "{\"type\":\"probe_done\",\"ttl\":2," P2 "}\n"
	        "{\"type\":\"probe_done\",\"ttl\":2," P3_NODUP "}\n"
	        "{\"type\":\"probe_done\",\"ttl\":1," P1 "}\n"
	        "{\"type\":\"hop_done\",\"ttl\":1,\"reached\":false,\"probes\":[{" P0 "},{" P1
	        "}]}\n"
	        "{\"type\":\"hop_done\",\"ttl\":2,\"reached\":true,\"probes\":[{" P2 "},{" P3
	        "}]}\n"
	        "{\"type\":\"name\",\"addr\":\"198.18.0.1\",\"name\":\"r1.example.net\"}\n"
	        "{\"type\":\"trace_done\",\"stop\":{\"reason\":\"reached\",\"last_ttl\":2},"
	        "\"stats\":" STATS "}\n";
	assert_string_equal(r.buf, want);
	free(r.buf);
}

static void test_document_exact(void **state)
{
	(void)state;
	struct run r;
	play(&r, HT_JSON_DOCUMENT, false);
	const char *want = "{\"schema\":1,\"version\":\"" HT_VERSION "\","
	                   "\"target\":" TARGET ",\"parameters\":" PARAMS ","
	                   "\"hops\":[{\"ttl\":1,\"reached\":false,\"probes\":[{" P0 "},{" P1 "}]},"
	                   "{\"ttl\":2,\"reached\":true,\"probes\":[{" P2 "},{" P3 "}]}],"
	                   "\"stop\":{\"reason\":\"reached\",\"last_ttl\":2},"
	                   "\"stats\":" STATS "}\n";
	assert_string_equal(r.buf, want);
	free(r.buf);
}

/* Pretty output is the same document, indented, and parses back. */
static void test_document_pretty(void **state)
{
	(void)state;
	struct run r;
	play(&r, HT_JSON_DOCUMENT, true);
	assert_non_null(strstr(r.buf, "{\n  \"schema\": 1,\n  \"version\": "));
	assert_non_null(strstr(r.buf, "\n      \"probes\": [\n"));
	json_error_t e;
	json_t *doc = json_loads(r.buf, 0, &e);
	assert_non_null(doc);
	json_t *hops = json_object_get(doc, "hops");
	assert_int_equal(json_array_size(hops), 2);
	json_t *p0 = json_array_get(json_object_get(json_array_get(hops, 0), "probes"), 0);
	assert_string_equal(json_string_value(json_object_get(p0, "name")), "r1.example.net");
	assert_true(json_real_value(json_object_get(p0, "rtt_ms")) == 1.234);
	json_decref(doc);
	free(r.buf);
}

/* Every optional reply field: PTB with an MTU, MPLS, RFC 5837, IPv6. */
static void test_reply_fields(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct ht_config cfg;
	test_cfg(&cfg);
	cfg.family = AF_INET6;
	cfg.method = HT_METHOD_ICMP;
	cfg.classic = true;
	cfg.dst = a6("2001:db8::9");
	cfg.packet_len = 0; /* unknown: omitted */
	struct ht_json *j;
	struct ht_json_opts o = {.mode = HT_JSON_LINES};
	assert_int_equal(ht_json_begin(&j, f, &o, &cfg, "v6.example"), 0);

	struct ht_probe p;
	memset(&p, 0, sizeof(p));
	p.seq = 7;
	p.ttl = 3;
	p.idx = 1;
	p.state = HT_PROBE_REPLIED;
	p.sent_us = 5;
	p.rtt_us = 4294967295u;
	p.reply.from = a6("2001:db8::3");
	p.reply.kind = HT_REPLY_PTB;
	p.reply.annot = HT_ANN_FRAG;
	p.reply.icmp_type = 2;
	p.reply.mtu = 1280;
	p.reply.quoted_tos = 0x20;
	p.reply.has_quoted_tos = true;
	p.reply.n_mpls = 2;
	p.reply.mpls[0] = (struct ht_mpls){.label = 16005, .tc = 0, .s = 0, .ttl = 1};
	p.reply.mpls[1] = (struct ht_mpls){.label = 1048575, .tc = 7, .s = 1, .ttl = 255};
	p.reply.has_ifinfo = true;
	p.reply.if_index = 12;
	p.reply.if_addr = a6("2001:db8:ff::1");
	strcpy(p.reply.if_name, "ge-0/0/1");
	p.reply.if_mtu = 9000;
	ev_probe(j, HT_EV_PROBE_DONE, &p);
	/* Any other ICMP error: !<type-code>. */
	p.reply = (struct ht_reply){.from = a6("2001:db8::4"),
	                            .kind = HT_REPLY_PARAM_PROBLEM,
	                            .annot = HT_ANN_TYPE,
	                            .icmp_type = 4,
	                            .icmp_code = 2};
	ev_probe(j, HT_EV_PROBE_DONE, &p);
	/* TCP replies carry no ICMP type. */
	p.reply = (struct ht_reply){.from = a6("2001:db8::9"), .kind = HT_REPLY_TCP_RST};
	p.rtt_us = 1;
	p.reached = true;
	ev_probe(j, HT_EV_PROBE_DONE, &p);
	struct ht_event done = {.type = HT_EV_TRACE_DONE,
	                        .reason = HT_STOP_ERROR,
	                        .last_ttl = 3,
	                        .error = -ENETUNREACH};
	ht_json_on_event(j, &done);
	assert_int_equal(ht_json_end(j, NULL), 0);
	fclose(f);
	dump_out("reply-fields", true, buf);

	const char *want =
	        "{\"type\":\"trace_start\",\"schema\":1,\"version\":\"" HT_VERSION "\","
	        "\"target\":{\"name\":\"v6.example\",\"addr\":\"2001:db8::9\"},"
	        "\"parameters\":{\"method\":\"icmp\",\"family\":\"ipv6\",\"flow\":\"classic\","
	        "\"first_ttl\":1,\"max_ttl\":30,\"queries\":2,\"window\":60,\"gap_limit\":5,"
	        "\"tos\":0,\"dont_fragment\":false,\"pps\":0,\"send_gap_us\":0,"
	        "\"wait\":{\"max_us\":5000000,\"here\":3.0,\"near\":10.0,\"min_us\":20000,\"far\":"
	        "4.0,\"far_us\":500000,\"far_min_us\":750000,\"slow_us\":300000,\"recheck_us\":"
	        "1000000}}}\n"
	        "{\"type\":\"probe_done\",\"ttl\":3,\"seq\":7,\"idx\":1,\"state\":\"reply\","
	        "\"addr\":\"2001:db8::3\",\"rtt_ms\":4294967.295,\"reached\":false,"
	        "\"reply\":{\"kind\":\"packet_too_big\",\"icmp_type\":2,\"icmp_code\":0,"
	        "\"annot\":\"!F-1280\",\"mtu\":1280,\"quoted_tos\":32,"
	        "\"mpls\":[{\"label\":16005,\"tc\":0,\"s\":false,\"ttl\":1},"
	        "{\"label\":1048575,\"tc\":7,\"s\":true,\"ttl\":255}],"
	        "\"ifinfo\":{\"index\":12,\"addr\":\"2001:db8:ff::1\",\"name\":\"ge-0/0/1\","
	        "\"mtu\":9000}}}\n"
	        "{\"type\":\"probe_done\",\"ttl\":3,\"seq\":7,\"idx\":1,\"state\":\"reply\","
	        "\"addr\":\"2001:db8::4\",\"rtt_ms\":4294967.295,\"reached\":false,"
	        "\"reply\":{\"kind\":\"param_problem\",\"icmp_type\":4,\"icmp_code\":2,"
	        "\"annot\":\"!<4-2>\"}}\n"
	        "{\"type\":\"probe_done\",\"ttl\":3,\"seq\":7,\"idx\":1,\"state\":\"reply\","
	        "\"addr\":\"2001:db8::9\",\"rtt_ms\":0.001,\"reached\":true,"
	        "\"reply\":{\"kind\":\"tcp_rst\"}}\n"
	        "{\"type\":\"trace_done\",\"stop\":{\"reason\":\"error\",\"last_ttl\":3,"
	        "\"error\":\"Network is unreachable\"}}\n";
	assert_string_equal(buf, want);
	free(buf);
}

/* Untrusted strings (the target as typed, interface names, names from a
 * lookup callback) come out as valid JSON without control bytes. */
static const char *hostile_names(void *u, const ht_addr *a)
{
	(void)u;
	(void)a;
	return "\x1b]0;owned\x07r1\xff\xfe.example";
}

static void test_hostile_strings(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct ht_config cfg;
	test_cfg(&cfg);
	struct ht_json *j;
	struct ht_json_opts o = {.mode = HT_JSON_DOCUMENT, .name_fn = hostile_names};
	assert_int_equal(ht_json_begin(&j, f, &o, &cfg, "evil\x1b[2J\xc3("), 0);
	struct ht_probe p;
	memset(&p, 0, sizeof(p));
	p.ttl = 1;
	p.state = HT_PROBE_REPLIED;
	p.reply.from = a4("198.18.0.1");
	p.reply.kind = HT_REPLY_TIME_EXCEEDED;
	p.reply.icmp_type = 11;
	p.reply.has_ifinfo = true;
	strcpy(p.reply.if_name, "eth\x1b[31m0\x80");
	struct ht_hop h = {.ttl = 1, .nprobes = 1, .probes = &p, .done = true};
	ev_hop(j, &h);
	assert_int_equal(ht_json_end(j, NULL), 0);
	fclose(f);
	dump_out("hostile", false, buf);

	/* No raw control byte anywhere, and jansson (which rejects invalid
	 * UTF-8) reads it back. */
	for (size_t i = 0; i < len; i++)
		assert_true((unsigned char)buf[i] >= 0x20 || buf[i] == '\n');
	assert_null(strstr(buf, "\\u001b"));
	assert_null(strstr(buf, "\\u0007"));
	json_error_t e;
	json_t *doc = json_loads(buf, 0, &e);
	assert_non_null(doc);
	const char *t = json_string_value(json_object_get(json_object_get(doc, "target"), "name"));
	assert_non_null(t);
	assert_non_null(strstr(t, "evil"));
	assert_null(strchr(t, 0x1b));
	json_t *p0 = json_array_get(
	        json_object_get(json_array_get(json_object_get(doc, "hops"), 0), "probes"), 0);
	const char *n = json_string_value(json_object_get(p0, "name"));
	assert_non_null(n);
	assert_non_null(strstr(n, ".example"));
	assert_null(strchr(n, 0x1b));
	assert_null(strchr(n, 0x07));
	json_decref(doc);
	free(buf);
}

/* A document for a trace that sent nothing is still complete. */
static void test_empty_trace(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct ht_config cfg;
	test_cfg(&cfg);
	cfg.method = HT_METHOD_TCP;
	cfg.port = 443;
	struct ht_json *j;
	struct ht_json_opts o = {.mode = HT_JSON_DOCUMENT};
	assert_int_equal(ht_json_begin(&j, f, &o, &cfg, "198.18.0.9"), 0);
	assert_int_equal(ht_json_end(j, NULL), 0);
	fclose(f);
	dump_out("empty", false, buf);
	assert_non_null(strstr(buf, "\"method\":\"tcp\""));
	assert_non_null(strstr(buf, "\"port\":443,"));
	assert_non_null(
	        strstr(buf, "\"hops\":[],\"stop\":{\"reason\":\"none\",\"last_ttl\":0}}\n"));
	free(buf);
}

/*
 * The output is written directly, not dumped by jansson: jansson reading
 * it back and dumping it again (same flags) must give the same bytes,
 * line by line in lines mode, the whole document otherwise.
 */
static void assert_jansson_bytes(const char *buf, bool lines, bool pretty)
{
	size_t flags = (pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_REAL_PRECISION(10);
	const char *p = buf;

	while (*p) {
		const char *end = lines ? strchr(p, '\n') : p + strlen(p) - 1;
		assert_non_null(end);
		assert_int_equal(*end, '\n');
		size_t n = (size_t)(end - p);
		json_error_t e;
		json_t *v = json_loadb(p, n, 0, &e);
		assert_non_null(v);
		char *again = json_dumps(v, flags);
		assert_non_null(again);
		if (strlen(again) != n || memcmp(again, p, n) != 0)
			fail_msg("jansson writes\n%s\nnot\n%.*s", again, (int)n, p);
		free(again);
		json_decref(v);
		p = end + 1;
	}
}

static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

static const char *odd_names(void *u, const ht_addr *a)
{
	static const char *const n[] = {"a\"b\\c.example", "\xc3\xa9t\xc3\xa9.example", NULL,
	                                "\xf0\x9f\x98\x80/x"};
	(void)u;
	return n[a->u.v4.s_addr % 4];
}

static void test_jansson_format(void **state)
{
	(void)state;
	struct run r;

	play(&r, HT_JSON_LINES, false);
	assert_jansson_bytes(r.buf, true, false);
	free(r.buf);
	play(&r, HT_JSON_DOCUMENT, false);
	assert_jansson_bytes(r.buf, false, false);
	free(r.buf);
	play(&r, HT_JSON_DOCUMENT, true);
	assert_jansson_bytes(r.buf, false, true);
	free(r.buf);

	/* Every optional field, odd strings, reals of every size. */
	uint32_t seed = 1;
	for (int round = 0; round < 300; round++) {
		enum ht_json_mode mode = round % 3 == 0 ? HT_JSON_LINES : HT_JSON_DOCUMENT;
		bool pretty = round % 3 == 2;
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		struct ht_config cfg;
		test_cfg(&cfg);
		cfg.method = (enum ht_method)(lcg(&seed) % 3);
		cfg.wait_here = (double)lcg(&seed) / 1e6;
		cfg.wait_near = (double)lcg(&seed) * 1e9;
		cfg.wait_far = 1.0 / (1 + lcg(&seed) % 1000);
		struct ht_flow flow;
		memset(&flow, 0, sizeof(flow));
		flow.src = a4("198.18.0.100");
		flow.sport = (uint16_t)lcg(&seed);
		flow.icmp_id = (uint16_t)lcg(&seed);
		struct ht_json_opts o = {.mode = mode, .pretty = pretty, .name_fn = odd_names,
		                         .flow = &flow, .trace_id = round % 2 ? lcg(&seed) : 0};
		struct ht_json *j;
		assert_int_equal(ht_json_begin(&j, f, &o, &cfg, "t\"\\\xc3\xa9"), 0);
		struct ht_probe p[6];
		memset(p, 0, sizeof(p));
		for (int i = 0; i < 6; i++) {
			struct ht_reply *y = &p[i].reply;
			p[i].seq = (uint16_t)lcg(&seed);
			p[i].ttl = (uint8_t)(1 + i / 2);
			p[i].idx = (uint8_t)(i % 2);
			p[i].state = (enum ht_probe_state)(lcg(&seed) % 5);
			/* Up to about 3.7 hours after the first probe: beyond 10^10 us
			 * the milliseconds take an exponent. */
			p[i].sent_us = 1000000 + (i ? (uint64_t)lcg(&seed) * (1u << (lcg(&seed) % 20)) : 0);
			p[i].rtt_us = lcg(&seed) * (lcg(&seed) % 256);
			p[i].dups = lcg(&seed) % 3;
			p[i].reached = lcg(&seed) % 2;
			p[i].second_look = lcg(&seed) % 2;
			p[i].rate_limited = lcg(&seed) % 2;
			y->from = a4(i % 2 ? "198.18.0.1" : "198.18.0.2");
			y->from.u.v4.s_addr += lcg(&seed) % 4;
			y->kind = (enum ht_reply_kind)(lcg(&seed) % (HT_REPLY_OTHER + 1));
			y->annot = (enum ht_annot)(lcg(&seed) % 3);
			y->icmp_type = (uint8_t)lcg(&seed);
			y->mtu = (uint16_t)(lcg(&seed) % 2 ? 1400 : 0);
			y->reply_ttl = (uint8_t)lcg(&seed);
			y->has_quoted_ttl = lcg(&seed) % 2;
			y->has_quoted_tos = lcg(&seed) % 2;
			y->n_mpls = (uint8_t)(lcg(&seed) % 3);
			y->mpls[0].label = lcg(&seed) & 0xfffff;
			y->mpls[1].s = true;
			y->has_ifinfo = lcg(&seed) % 2;
			y->if_index = lcg(&seed) % 2 ? 7 : 0;
			y->if_addr = lcg(&seed) % 2 ? a6("2001:db8::1") : (ht_addr){0};
			strcpy(y->if_name, lcg(&seed) % 2 ? "e\"0\\" : "");
			y->if_mtu = lcg(&seed) % 2 ? 9000 : 0;
			ev_probe(j, HT_EV_PROBE_SENT, &p[i]);
			ev_probe(j, HT_EV_PROBE_DONE, &p[i]);
		}
		for (int h = 0; h < 3; h++) {
			struct ht_hop hop = {.ttl = h + 1, .nprobes = 2, .probes = &p[2 * h],
			                     .reached = h == 2, .skipped = lcg(&seed) % 4 == 0};
			ev_hop(j, &hop);
		}
		ht_json_name_cb(j, &p[1].reply.from, "late\"name\\");
		struct ht_event done = {.type = HT_EV_TRACE_DONE,
		                        .reason = (enum ht_stop_reason)(lcg(&seed) % 6),
		                        .last_ttl = 3, .error = -EHOSTUNREACH};
		ht_json_on_event(j, &done);
		struct ht_session_stats st = {.probes_sent = lcg(&seed), .probes_distance = round % 2};
		assert_int_equal(ht_json_end(j, round % 4 ? &st : NULL), 0);
		fclose(f);
		assert_jansson_bytes(buf, mode == HT_JSON_LINES, pretty);
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_lines_exact),     cmocka_unit_test(test_document_exact),
	        cmocka_unit_test(test_document_pretty), cmocka_unit_test(test_reply_fields),
	        cmocka_unit_test(test_hostile_strings), cmocka_unit_test(test_empty_trace),
	        cmocka_unit_test(test_jansson_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
