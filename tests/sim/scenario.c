/*
 * Scenario files. Sections start with a line "[name]":
 *   [info]     free text
 *   [network]  the simulated network (see tests/sim/README.md)
 *   [command]  the command to run inside the namespace (one line)
 *   [expect]   expected standard output (RTTs as ~N placeholders)
 *   [stderr]   expected standard error
 *   [exit]     expected exit status
 *   [record]   assertions on the probes the simulator received
 */
#include "sim.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

bool sim_addr4_allowed(struct in_addr a)
{
	/* 198.18.0.0/15 */
	return (ntohl(a.s_addr) & 0xfffe0000u) == 0xc6120000u;
}

bool sim_addr6_allowed(const struct in6_addr *a)
{
	/* 2001:db8::/32 */
	return a->s6_addr[0] == 0x20 && a->s6_addr[1] == 0x01 && a->s6_addr[2] == 0x0d &&
	       a->s6_addr[3] == 0xb8;
}

int sim_node_find(const struct sim_scenario *sc, const char *name)
{
	for (int i = 0; i < sc->nnodes; i++)
		if (strcmp(sc->nodes[i].name, name) == 0)
			return i;
	return -1;
}

int sim_family_find(const struct sim_scenario *sc, const char *name)
{
	for (int i = 0; i < sc->nfam; i++)
		if (strcmp(sc->fam[i].name, name) == 0)
			return i;
	return -1;
}

static uint64_t get64(const uint8_t *b)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

static void put64(uint8_t *b, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}

void sim_family_member(const struct sim_scenario *sc, int f, uint32_t m, struct sim_node *out)
{
	const struct sim_family *fm = &sc->fam[f];
	*out = fm->tmpl;
	if (out->has4)
		out->a4.s_addr = htonl(ntohl(fm->tmpl.a4.s_addr) + m);
	if (out->has6)
		put64(out->a6.s6_addr + 8, get64(fm->tmpl.a6.s6_addr + 8) + m);
	snprintf(out->name, sizeof(out->name), "%.20s#%u", fm->name, m);
}

int sim_family_parents(const struct sim_scenario *sc, int f, uint32_t m, int *out)
{
	const struct sim_family *fm = &sc->fam[f];
	int n = 0;
	if (fm->nbehind)
		out[n++] = fm->behind[m % (uint32_t)fm->nbehind];
	for (int i = 0; i < fm->nparent; i++)
		if (!n || out[0] != fm->parent[i])
			out[n++] = fm->parent[i];
	return n;
}

/* Address order: family, then the address bytes. */
static int ix_cmp_key(const struct sim_addr_ix *x, int af, const uint8_t *a)
{
	if (x->af != af)
		return x->af < af ? -1 : 1;
	return memcmp(x->key, a, af == 4 ? 4 : 16);
}

static int ix_cmp(const void *pa, const void *pb)
{
	const struct sim_addr_ix *a = pa, *b = pb;
	int c = ix_cmp_key(a, b->af, b->key);
	if (c)
		return c;
	/* Equal addresses: nodes before families, then definition order. */
	if ((a->fam >= 0) != (b->fam >= 0))
		return a->fam >= 0 ? 1 : -1;
	return a->node != b->node ? (a->node < b->node ? -1 : 1) : (a->fam < b->fam ? -1 : 1);
}

/* How far a lies past the start of entry x (same family, a >= key);
 * false when a is beyond its range. */
static bool ix_within(const struct sim_addr_ix *x, const uint8_t *a, uint32_t *off)
{
	if (x->af == 4) {
		uint32_t k = (uint32_t)x->key[0] << 24 | (uint32_t)x->key[1] << 16 |
		             (uint32_t)x->key[2] << 8 | x->key[3];
		uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
		if (v - k >= x->count)
			return false;
		*off = v - k;
		return true;
	}
	if (memcmp(x->key, a, 8) != 0)
		return false;
	uint64_t d = get64(a + 8) - get64(x->key + 8);
	if (d >= x->count)
		return false;
	*off = (uint32_t)d;
	return true;
}

bool sim_lookup(const struct sim_scenario *sc, int family, const uint8_t *a, struct sim_target *t)
{
	int af = family == AF_INET ? 4 : 6;
	size_t lo = 0, hi = sc->nix;
	/* The last entry that starts at or before a. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ix_cmp_key(&sc->ix[mid], af, a) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return false;
	const struct sim_addr_ix *x = &sc->ix[lo - 1];
	uint32_t off;
	if (x->af != af || !ix_within(x, a, &off))
		return false;
	t->node = x->node;
	t->fam = x->fam;
	t->member = off;
	return true;
}

int sim_each_host(const struct sim_scenario *sc, int family,
                  int (*fn)(void *user, const struct sim_target *t, const uint8_t *addr),
                  void *user)
{
	struct sim_node n;
	int rc;
	for (int i = 1; i < sc->nnodes; i++) {
		const struct sim_node *nd = &sc->nodes[i];
		struct sim_target t = {.node = i, .fam = -1};
		if (!nd->host)
			continue;
		if (family == AF_INET && nd->has4 && (rc = fn(user, &t, (const uint8_t *)&nd->a4)))
			return rc;
		if (family == AF_INET6 && nd->has6 && (rc = fn(user, &t, nd->a6.s6_addr)))
			return rc;
	}
	for (int f = 0; f < sc->nfam; f++) {
		if (!(family == AF_INET ? sc->fam[f].tmpl.has4 : sc->fam[f].tmpl.has6))
			continue;
		for (uint32_t m = 0; m < sc->fam[f].count; m++) {
			struct sim_target t = {.node = -1, .fam = f, .member = m};
			sim_family_member(sc, f, m, &n);
			if ((rc = fn(user, &t,
			             family == AF_INET ? (const uint8_t *)&n.a4 : n.a6.s6_addr)))
				return rc;
		}
	}
	return 0;
}

struct parser {
	struct sim_scenario *sc;
	int line;
	char *err;
	size_t errlen;
	struct sim_node rdef, hdef; /* defaults for routers and hosts */
};

__attribute__((format(printf, 2, 3))) static int perr(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p->err, p->errlen, "%s:%d: ", p->sc->path[0] ? p->sc->path : "scenario",
	                 p->line);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < p->errlen)
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Parse an address of either family; refuses anything outside the two
 * documentation/benchmark ranges so a scenario can never route real
 * addresses. */
static int parse_addr(struct parser *p, const char *s, int *family, struct in_addr *a4,
                      struct in6_addr *a6)
{
	if (inet_pton(AF_INET, s, a4) == 1) {
		if (!sim_addr4_allowed(*a4))
			return perr(p, "address %s is outside 198.18.0.0/15: refused", s);
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a6) == 1) {
		if (!sim_addr6_allowed(a6))
			return perr(p, "address %s is outside 2001:db8::/32: refused", s);
		*family = AF_INET6;
		return 0;
	}
	return perr(p, "bad address '%s'", s);
}

/* "10ms", "1.5ms", "250us", "2s"; a bare number is milliseconds. */
static int parse_time(struct parser *p, const char *s, uint64_t *us)
{
	char *end;
	double v = strtod(s, &end);
	double mult = 1000;

	if (end == s || !(v >= 0))
		return perr(p, "bad time '%s'", s);
	if (strcmp(end, "us") == 0)
		mult = 1;
	else if (strcmp(end, "ms") == 0 || *end == 0)
		mult = 1000;
	else if (strcmp(end, "s") == 0)
		mult = 1e6;
	else
		return perr(p, "bad time unit in '%s'", s);
	/* An hour at most: also keeps the conversion below defined (inf, or
	 * 1e300 s, would not fit a uint64_t; found by fuzz_scenario). */
	if (!(v * mult <= 3600e6))
		return perr(p, "time '%s' out of range (at most 1 hour)", s);
	*us = (uint64_t)(v * mult + 0.5);
	return 0;
}

static int parse_frac(struct parser *p, const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s)
		return perr(p, "bad fraction '%s'", s);
	if (*end == '%')
		v /= 100;
	else if (*end)
		return perr(p, "bad fraction '%s'", s);
	if (!(v >= 0 && v <= 1)) /* also refuses "nan" */
		return perr(p, "fraction out of range '%s'", s);
	*out = v;
	return 0;
}

static int parse_uint(struct parser *p, const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (end == s || *end || errno || v > max || s[0] == '-')
		return perr(p, "bad number '%s' (0..%lu)", s, max);
	*out = v;
	return 0;
}

static int parse_act(struct parser *p, const char *s, enum sim_act *a)
{
	static const struct {
		const char *n;
		enum sim_act a;
	} t[] = {
		{"default", SIM_ACT_DEFAULT},   {"silent", SIM_ACT_SILENT},
		{"unreach", SIM_ACT_PORT_UNREACH}, {"port", SIM_ACT_PORT_UNREACH},
		{"echo", SIM_ACT_ECHO},         {"synack", SIM_ACT_SYNACK},
		{"rst", SIM_ACT_RST},           {"prohib", SIM_ACT_PROHIB},
		{"host", SIM_ACT_HOST_UNREACH}, {"net", SIM_ACT_NET_UNREACH},
		{"proto", SIM_ACT_PROTO_UNREACH}, {"none", SIM_ACT_DEFAULT},
		{"dns", SIM_ACT_DNS},
	};
	unsigned long ty, co;
	char *end;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i].n) == 0) {
			*a = t[i].a;
			return 0;
		}
	/* err:TYPE:CODE, an ICMP error of that type and code, sent as is in
	 * either family, so the scenario picks the numbers of the family it
	 * traces: destination unreachable, time exceeded or parameter problem
	 * (IPv4 3, 11, 12; ICMPv6 1, 3, 4). */
	if (strncmp(s, "err:", 4) == 0) {
		errno = 0;
		ty = isdigit((unsigned char)s[4]) ? strtoul(s + 4, &end, 10) : 0;
		if (isdigit((unsigned char)s[4]) && *end == ':' && !errno) {
			const char *cs = end + 1;
			co = isdigit((unsigned char)*cs) ? strtoul(cs, &end, 10) : 0;
			if (isdigit((unsigned char)*cs) && !*end && !errno && co <= 255 &&
			    (ty == 1 || ty == 3 || ty == 4 || ty == 11 || ty == 12)) {
				*a = (enum sim_act)(SIM_ACT_ERR + (ty << 8 | co));
				return 0;
			}
		}
		return perr(p, "bad action '%s' (err:TYPE:CODE, TYPE 1 3 4 11 12, CODE 0..255)", s);
	}
	return perr(p, "unknown action '%s'", s);
}

static int parse_protos(struct parser *p, char *s, unsigned *out)
{
	unsigned m = 0;
	if (strcmp(s, "none") == 0) {
		*out = 0;
		return 0;
	}
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		if (strcmp(tok, "udp") == 0)
			m |= SIM_P_UDP;
		else if (strcmp(tok, "icmp") == 0)
			m |= SIM_P_ICMP;
		else if (strcmp(tok, "tcp") == 0)
			m |= SIM_P_TCP;
		else if (strcmp(tok, "all") == 0)
			m |= SIM_P_ALL;
		else
			return perr(p, "unknown protocol '%s'", tok);
	}
	*out = m;
	return 0;
}

static int parse_lb(struct parser *p, char *s, struct sim_node *n)
{
	char *fields = strchr(s, ':');
	if (fields)
		*fields++ = 0;
	if (strcmp(s, "packet") == 0) {
		n->lb = SIM_LB_PACKET;
		return 0;
	}
	if (strcmp(s, "flow") != 0)
		return perr(p, "lb must be flow, flow:FIELDS or packet");
	n->lb = SIM_LB_FLOW;
	if (!fields)
		return 0;
	n->hash = 0;
	for (char *tok = strtok(fields, ","); tok; tok = strtok(NULL, ",")) {
		if (strcmp(tok, "src") == 0)
			n->hash |= SIM_H_SRC;
		else if (strcmp(tok, "dst") == 0)
			n->hash |= SIM_H_DST;
		else if (strcmp(tok, "proto") == 0)
			n->hash |= SIM_H_PROTO;
		else if (strcmp(tok, "ports") == 0)
			n->hash |= SIM_H_PORTS;
		else if (strcmp(tok, "flowlabel") == 0)
			n->hash |= SIM_H_FLOWLABEL;
		else if (strcmp(tok, "tos") == 0)
			n->hash |= SIM_H_TOS;
		else if (strcmp(tok, "csum") == 0)
			n->hash |= SIM_H_L4CSUM;
		else
			return perr(p, "unknown hash field '%s'", tok);
	}
	return 0;
}

/* Copy a name, turning \\xHH escapes into any byte (hostile names: escape
 * sequences, control bytes, invalid UTF-8) and \\rN,C into N copies of
 * the character C (overlong names). */
static void unescape(char *dst, size_t cap, const char *v)
{
	size_t k = 0;
	for (const char *c = v; *c && k + 1 < cap; c++) {
		unsigned hv, rep;
		int used = -1; /* set by %n only if the ',' matched too */
		if (c[0] == '\\' && c[1] == 'x' && c[2] && c[3] &&
		    sscanf(c + 2, "%2x", &hv) == 1) {
			dst[k++] = (char)hv;
			c += 3;
		} else if (c[0] == '\\' && c[1] == 'r' &&
		           sscanf(c + 2, "%u,%n", &rep, &used) == 1 && used > 0 && c[2 + used]) {
			for (unsigned r = 0; r < rep && k + 1 < cap; r++)
				dst[k++] = c[2 + used];
			c += 2 + used;
		} else {
			dst[k++] = *c;
		}
	}
	dst[k] = 0;
}

static int node_opt(struct parser *p, struct sim_node *n, char *opt)
{
	char *v = strchr(opt, '=');
	unsigned long u;
	uint64_t t;
	int fam;
	struct in_addr a4;
	struct in6_addr a6;

	if (v)
		*v++ = 0;
	if (!v) {
		if (strcmp(opt, "silent") == 0)
			n->silent = true;
		else if (strcmp(opt, "ratelimit") == 0) {
			n->rl.on = true;
			n->rl.burst = 6;
			n->rl.rate = 1;
		} else if (strcmp(opt, "fake-dest") == 0)
			n->fake_dest = true;
		else if (strcmp(opt, "redirect") == 0)
			n->redirect = true;
		else if (strcmp(opt, "conntrack") == 0)
			n->conntrack = true;
		else
			return perr(p, "unknown option '%s'", opt);
		return 0;
	}
	if (strcmp(opt, "v4") == 0 || strcmp(opt, "v6") == 0 || strcmp(opt, "addr") == 0) {
		if (parse_addr(p, v, &fam, &a4, &a6))
			return -1;
		if (fam == AF_INET) {
			n->has4 = true;
			n->a4 = a4;
		} else {
			n->has6 = true;
			n->a6 = a6;
		}
	} else if (strcmp(opt, "name") == 0) {
		unescape(n->ptr, sizeof(n->ptr), v);
	} else if (strcmp(opt, "hostile") == 0) {
		static const char *const kinds[] = {
			"badsum", "ihl",   "dst",     "trunc", "seq",  "ext",    "dup",     "late",
			"flood",  "othersrc", "tlen", "proto", "iptrunc", "ext0", "extlong", "extsum"};
		for (char *save = NULL, *tok = strtok_r(v, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			size_t k;
			/* flood:N sets how many forged errors go with each genuine one. */
			if (strncmp(tok, "flood:", 6) == 0) {
				if (parse_uint(p, tok + 6, 100000, &u) || u == 0)
					return perr(p, "bad flood count '%s'", tok + 6);
				n->flood_n = (unsigned)u;
				tok[5] = 0;
			}
			for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
				if (strcmp(tok, kinds[k]) == 0)
					break;
			if (k == sizeof(kinds) / sizeof(kinds[0]))
				return perr(p, "unknown hostile kind '%s'", tok);
			n->hostile |= 1u << k;
		}
	} else if (strcmp(opt, "delay") == 0) {
		if (parse_time(p, v, &t))
			return -1;
		n->delay_us = (uint32_t)t;
	} else if (strcmp(opt, "late") == 0) {
		if (parse_time(p, v, &t))
			return -1;
		n->late_us = (uint32_t)t;
	} else if (strcmp(opt, "jitter") == 0) {
		if (parse_time(p, v, &t))
			return -1;
		n->jitter_us = (uint32_t)t;
	} else if (strcmp(opt, "loss") == 0) {
		return parse_frac(p, v, &n->loss);
	} else if (strcmp(opt, "rloss") == 0) {
		return parse_frac(p, v, &n->rloss);
	} else if (strcmp(opt, "ratelimit") == 0) {
		if (strcmp(v, "off") == 0) {
			n->rl.on = false;
			return 0;
		}
		char *slash = strchr(v, '/');
		if (!slash)
			return perr(p, "ratelimit=BURST/RATE_PER_S");
		*slash = 0;
		n->rl.on = true;
		n->rl.burst = strtod(v, NULL);
		n->rl.rate = strtod(slash + 1, NULL);
		if (!(n->rl.burst >= 1 && n->rl.burst <= 1e6) ||
		    !(n->rl.rate >= 0 && n->rl.rate <= 1e9))
			return perr(p, "bad ratelimit (burst 1-1000000, rate 0-1000000000 per s)");
	} else if (strcmp(opt, "answer") == 0) {
		return parse_protos(p, v, &n->answer);
	} else if (strcmp(opt, "ttl") == 0) {
		if (parse_uint(p, v, 255, &u))
			return -1;
		n->init_ttl = (uint8_t)u;
	} else if (strcmp(opt, "quote") == 0) {
		if (strcmp(v, "full") == 0)
			n->quote = 0;
		else if (parse_uint(p, v, 65535, &u))
			return -1;
		else
			n->quote = (int)u;
	} else if (strcmp(opt, "qttl") == 0) {
		if (parse_uint(p, v, 1, &u))
			return -1;
		n->qttl = (int)u;
	} else if (strcmp(opt, "mpls") == 0) {
		n->nmpls = 0;
		for (char *tok = strtok(v, ","); tok; tok = strtok(NULL, ",")) {
			if (n->nmpls == SIM_MAX_MPLS)
				return perr(p, "too many MPLS labels");
			struct sim_mpls *m = &n->mpls[n->nmpls++];
			char *e = NULL;
			m->label = (uint32_t)strtoul(tok, &e, 10);
			m->exp = 0;
			m->ttl = 1;
			if (*e == '/') {
				m->exp = (uint8_t)strtoul(e + 1, &e, 10);
				if (*e == '/')
					m->ttl = (uint8_t)strtoul(e + 1, &e, 10);
			}
			if (*e || m->label > 0xfffff || m->exp > 7)
				return perr(p, "bad MPLS entry (LABEL[/EXP[/TTL]])");
		}
	} else if (strcmp(opt, "ifindex") == 0) {
		if (parse_uint(p, v, 0xffffffffUL, &u))
			return -1;
		n->ifinfo = true;
		n->ifindex = (uint32_t)u;
	} else if (strcmp(opt, "ifname") == 0) {
		n->ifinfo = true;
		unescape(n->ifname, sizeof(n->ifname), v);
	} else if (strcmp(opt, "ifmtu") == 0) {
		if (parse_uint(p, v, 0xffffffffUL, &u))
			return -1;
		n->ifinfo = true;
		n->ifmtu = (uint32_t)u;
	} else if (strcmp(opt, "ext") == 0) {
		if (strcmp(v, "rfc4884") == 0)
			n->ext_form = SIM_EXT_RFC4884;
		else if (strcmp(v, "legacy") == 0)
			n->ext_form = SIM_EXT_LEGACY;
		else
			return perr(p, "ext must be rfc4884 or legacy");
	} else if (strcmp(opt, "tos") == 0) {
		if (parse_uint(p, v, 255, &u))
			return -1;
		n->tos = (int)u;
	} else if (strcmp(opt, "nat") == 0) {
		if (parse_addr(p, v, &fam, &a4, &a6))
			return -1;
		n->nat = true;
		if (fam == AF_INET)
			n->nat4 = a4;
		else
			n->nat6 = a6;
	} else if (strcmp(opt, "natport") == 0) {
		if (parse_uint(p, v, 65535, &u))
			return -1;
		n->nat_port = (uint16_t)u;
	} else if (strcmp(opt, "mtu") == 0) {
		if (parse_uint(p, v, 65535, &u) || (u && u < 68))
			return u < 68 ? perr(p, "mtu must be >= 68") : -1;
		n->mtu = (uint32_t)u;
	} else if (strcmp(opt, "unreach") == 0) {
		return parse_act(p, v, &n->unreach);
	} else if (strcmp(opt, "udp") == 0) {
		return parse_act(p, v, &n->act_udp);
	} else if (strcmp(opt, "icmp") == 0) {
		return parse_act(p, v, &n->act_icmp);
	} else if (strcmp(opt, "tcp") == 0) {
		return parse_act(p, v, &n->act_tcp);
	} else if (strcmp(opt, "lb") == 0) {
		return parse_lb(p, v, n);
	} else {
		return perr(p, "unknown option '%s'", opt);
	}
	return 0;
}

static void node_init(struct sim_node *n, bool host)
{
	memset(n, 0, sizeof(*n));
	n->host = host;
	n->answer = SIM_P_ALL;
	/* Routers commonly answer with 255 (Cisco, Juniper), hosts with 64. */
	n->init_ttl = host ? 64 : 255;
	n->qttl = -1;
	n->tos = -1;
	n->hash = SIM_H_SRC | SIM_H_DST | SIM_H_PROTO | SIM_H_PORTS;
}

static int add_link(struct parser *p, int from, int to)
{
	struct sim_node *n = &p->sc->nodes[from];
	for (int i = 0; i < n->nnext; i++)
		if (n->next[i] == to)
			return 0;
	if (n->nnext == SIM_MAX_NEXT)
		return perr(p, "too many next hops from %s", n->name);
	n->next[n->nnext++] = to;
	return 0;
}

static int add_parent(struct parser *p, int f, int node)
{
	struct sim_family *fm = &p->sc->fam[f];
	for (int i = 0; i < fm->nparent; i++)
		if (fm->parent[i] == node)
			return 0;
	if (fm->nparent == SIM_MAX_NEXT)
		return perr(p, "too many routers in front of host family %s", fm->name);
	fm->parent[fm->nparent++] = node;
	return 0;
}

static int lookup(struct parser *p, const char *name)
{
	int i = sim_node_find(p->sc, name);
	if (i < 0)
		return perr(p, "unknown node '%s'", name), -1;
	return i;
}

#define MAXW 64

/* Split on blanks; returns the number of words. */
static int split(char *s, char **w, int max)
{
	int n = 0;
	while (*s) {
		while (*s && isspace((unsigned char)*s))
			s++;
		if (!*s || *s == '#')
			break;
		if (n == max)
			return -1;
		w[n++] = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
		if (*s)
			*s++ = 0;
	}
	return n;
}

/* "hosts NAME COUNT v4=A [v6=A] [behind=R1,R2,...] OPTIONS...": COUNT hosts
 * at consecutive addresses from A (each family given), each with the node
 * options of a host; member i hangs off router behind[i % nbehind]. */
static int hosts_line(struct parser *p, char **w, int n)
{
	struct sim_scenario *sc = p->sc;
	unsigned long count;
	struct sim_family *fm;

	if (sim_node_find(sc, w[1]) >= 0 || sim_family_find(sc, w[1]) >= 0)
		return perr(p, "node '%s' defined twice", w[1]);
	if (parse_uint(p, w[2], SIM_MAX_FAMILY_HOSTS, &count) || count == 0)
		return perr(p, "hosts NAME COUNT ...: COUNT must be 1..%u", SIM_MAX_FAMILY_HOSTS);
	if (sc->nfam == SIM_MAX_FAMILIES)
		return perr(p, "too many host families");
	fm = realloc(sc->fam, (size_t)(sc->nfam + 1) * sizeof(*fm));
	if (!fm)
		return perr(p, "out of memory");
	sc->fam = fm;
	fm = &sc->fam[sc->nfam];
	memset(fm, 0, sizeof(*fm));
	snprintf(fm->name, sizeof(fm->name), "%s", w[1]);
	fm->count = (uint32_t)count;
	fm->tmpl = p->hdef;
	for (int i = 3; i < n; i++) {
		if (strncmp(w[i], "behind=", 7) == 0) {
			for (char *save = NULL, *tok = strtok_r(w[i] + 7, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				int r = lookup(p, tok);
				if (r < 0)
					return -1;
				if (fm->nbehind == SIM_MAX_NEXT)
					return perr(p, "behind= takes at most %d routers", SIM_MAX_NEXT);
				fm->behind[fm->nbehind++] = r;
			}
			continue;
		}
		if (strncmp(w[i], "name=", 5) == 0)
			return perr(p, "hosts: name= is not supported for host families");
		if (node_opt(p, &fm->tmpl, w[i]))
			return -1;
	}
	if (!fm->tmpl.has4 && !fm->tmpl.has6)
		return perr(p, "host family '%s' has no address", w[1]);
	if (fm->tmpl.has4) {
		struct in_addr last = {htonl(ntohl(fm->tmpl.a4.s_addr) + (uint32_t)count - 1)};
		if (!sim_addr4_allowed(last) || ntohl(last.s_addr) < ntohl(fm->tmpl.a4.s_addr))
			return perr(p, "host family '%s' runs out of 198.18.0.0/15", w[1]);
	}
	if (fm->tmpl.has6 && get64(fm->tmpl.a6.s6_addr + 8) + (count - 1) <
	                         get64(fm->tmpl.a6.s6_addr + 8))
		return perr(p, "host family '%s': the addresses must not carry into the /64", w[1]);
	snprintf(fm->tmpl.name, sizeof(fm->tmpl.name), "%s", w[1]);
	fm->tmpl.host = true;
	sc->nfam++;
	return 0;
}

static int net_line(struct parser *p, char *line)
{
	struct sim_scenario *sc = p->sc;
	char *w[MAXW];
	int n = split(line, w, MAXW);
	int fam;
	struct in_addr a4;
	struct in6_addr a6;
	unsigned long u;

	if (n < 0)
		return perr(p, "too many words");
	if (n == 0)
		return 0;
	if (strcmp(w[0], "prober") == 0) {
		for (int i = 1; i < n; i++) {
			if (parse_addr(p, w[i], &fam, &a4, &a6))
				return -1;
			if (fam == AF_INET) {
				sc->has4 = true;
				sc->prober4 = a4;
			} else {
				sc->has6 = true;
				sc->prober6 = a6;
			}
		}
	} else if (strcmp(w[0], "seed") == 0 && n == 2) {
		sc->seed = strtoull(w[1], NULL, 0);
	} else if (strcmp(w[0], "timeout") == 0 && n == 2) {
		if (parse_uint(p, w[1], 3600, &u))
			return -1;
		sc->timeout_s = (unsigned)u;
	} else if (strcmp(w[0], "run-as") == 0 && n == 2) {
		snprintf(sc->run_as, sizeof(sc->run_as), "%s", w[1]);
	} else if (strcmp(w[0], "sysctl") == 0 && n >= 3) {
		if (sc->nsysctl == 16)
			return perr(p, "too many sysctls");
		if (strncmp(w[1], "net.", 4) != 0 || strstr(w[1], ".."))
			return perr(p, "only net.* sysctls (namespace-local) may be set");
		snprintf(sc->sysctl_key[sc->nsysctl], sizeof(sc->sysctl_key[0]), "%s", w[1]);
		char *v = sc->sysctl_val[sc->nsysctl];
		v[0] = 0;
		for (int i = 2; i < n; i++) {
			size_t l = strlen(v);
			snprintf(v + l, sizeof(sc->sysctl_val[0]) - l, "%s%s", i > 2 ? " " : "", w[i]);
		}
		sc->nsysctl++;
	} else if (strcmp(w[0], "flood") == 0 && n >= 2 && n <= 4) {
		if (parse_uint(p, w[1], 10000000, &u) || u == 0)
			return perr(p, "flood RATE [4|6] [quote=ADDR]: bad rate '%s'", w[1]);
		sc->flood_pps = (unsigned)u;
		sc->flood_family = AF_INET;
		for (int i = 2; i < n; i++) {
			if (strcmp(w[i], "4") == 0 || strcmp(w[i], "6") == 0) {
				sc->flood_family = w[i][0] == '6' ? AF_INET6 : AF_INET;
			} else if (strncmp(w[i], "quote=", 6) == 0) {
				/* The errors quote probes to this address (the trace's
				 * destination): they pass a tracer's kernel filter. */
				if (parse_addr(p, w[i] + 6, &fam, &a4, &a6))
					return -1;
				if (fam == AF_INET)
					sc->flood_quote4 = a4, sc->flood_has_quote4 = true;
				else
					sc->flood_quote6 = a6, sc->flood_has_quote6 = true;
			} else {
				return perr(p, "flood RATE [4|6] [quote=ADDR]: bad word '%s'", w[i]);
			}
		}
		if (sc->flood_family == AF_INET ? sc->flood_has_quote6 : sc->flood_has_quote4)
			return perr(p, "flood: quote=ADDR must be of the flood's family");
	} else if (strcmp(w[0], "dns") == 0 && n == 2) {
		if (parse_addr(p, w[1], &fam, &a4, &a6))
			return -1;
		if (fam != AF_INET)
			return perr(p, "dns resolver must be IPv4");
		sc->dns = true;
		sc->dns4 = a4;
	} else if ((strcmp(w[0], "router") == 0 || strcmp(w[0], "host") == 0) && n >= 2) {
		bool host = w[0][0] == 'h';
		if (sim_node_find(sc, w[1]) >= 0 || sim_family_find(sc, w[1]) >= 0)
			return perr(p, "node '%s' defined twice", w[1]);
		if (sc->nnodes == SIM_MAX_NODES)
			return perr(p, "too many nodes");
		struct sim_node *nd = &sc->nodes[sc->nnodes];
		*nd = host ? p->hdef : p->rdef;
		snprintf(nd->name, sizeof(nd->name), "%s", w[1]);
		for (int i = 2; i < n; i++)
			if (node_opt(p, nd, w[i]))
				return -1;
		if (!nd->has4 && !nd->has6)
			return perr(p, "node '%s' has no address", w[1]);
		sc->nnodes++;
	} else if (strcmp(w[0], "hosts") == 0 && n >= 3) {
		return hosts_line(p, w, n);
	} else if (strcmp(w[0], "defaults") == 0 && n >= 2) {
		/* "defaults router|host OPTS": applies to nodes defined later. */
		struct sim_node *d;
		if (strcmp(w[1], "router") == 0)
			d = &p->rdef;
		else if (strcmp(w[1], "host") == 0)
			d = &p->hdef;
		else
			return perr(p, "defaults router|host OPTIONS");
		for (int i = 2; i < n; i++)
			if (node_opt(p, d, w[i]))
				return -1;
	} else if (strcmp(w[0], "link") == 0 && n >= 3) {
		if (sim_family_find(sc, w[1]) >= 0)
			return perr(p, "host family '%s' cannot lead anywhere", w[1]);
		int from = lookup(p, w[1]);
		if (from < 0)
			return -1;
		for (int i = 2; i < n; i++) {
			int f = sim_family_find(sc, w[i]);
			if (f >= 0) {
				if (add_parent(p, f, from))
					return -1;
				continue;
			}
			int to = lookup(p, w[i]);
			if (to < 0 || add_link(p, from, to))
				return -1;
		}
	} else if (strcmp(w[0], "path") == 0 && n >= 2) {
		/* path A B {C D} E: consecutive groups fully linked. */
		int prev[SIM_MAX_NEXT], nprev = 0;
		int cur[SIM_MAX_NEXT], ncur;
		for (int i = 1; i < n; i++) {
			ncur = 0;
			if (w[i][0] == '{') {
				char *s = w[i] + 1;
				for (;;) {
					size_t l = strlen(s);
					bool last = l && s[l - 1] == '}';
					if (last)
						s[l - 1] = 0;
					if (*s) {
						if (ncur == SIM_MAX_NEXT)
							return perr(p, "group too large");
						if ((cur[ncur++] = lookup(p, s)) < 0)
							return -1;
					}
					if (last)
						break;
					if (++i >= n)
						return perr(p, "unterminated {group}");
					s = w[i];
				}
			} else if (i == n - 1 && sim_family_find(sc, w[i]) >= 0) {
				/* A host family ends a path: it hangs off the last group. */
				int f = sim_family_find(sc, w[i]);
				for (int a = 0; a < nprev; a++)
					if (add_parent(p, f, prev[a]))
						return -1;
				break;
			} else {
				if ((cur[0] = lookup(p, w[i])) < 0)
					return -1;
				ncur = 1;
			}
			for (int a = 0; a < nprev; a++)
				for (int b = 0; b < ncur; b++)
					if (add_link(p, prev[a], cur[b]))
						return -1;
			memcpy(prev, cur, sizeof(cur));
			nprev = ncur;
		}
	} else if (strcmp(w[0], "change") == 0 && n >= 4) {
		/* change NODE after=N|after=Tms TO... */
		int from = lookup(p, w[1]);
		if (from < 0)
			return -1;
		struct sim_node *nd = &sc->nodes[from];
		if (strncmp(w[2], "after=", 6) != 0)
			return perr(p, "change NODE after=NPROBES|after=TIME NEXT...");
		const char *v = w[2] + 6;
		size_t l = strlen(v);
		if (l && isdigit((unsigned char)v[l - 1])) {
			if (parse_uint(p, v, 1UL << 40, &u))
				return -1;
			nd->change_probes = u;
		} else {
			uint64_t t;
			if (parse_time(p, v, &t))
				return -1;
			nd->change_us = t ? t : 1;
		}
		for (int i = 3; i < n; i++) {
			int to = lookup(p, w[i]);
			if (to < 0)
				return -1;
			if (nd->nnext2 == SIM_MAX_NEXT)
				return perr(p, "too many next hops");
			nd->next2[nd->nnext2++] = to;
		}
	} else {
		return perr(p, "unknown or malformed statement '%s'", w[0]);
	}
	return 0;
}

static void compute_reach(struct sim_scenario *sc)
{
	int n = sc->nnodes;
	int *stack = malloc(sizeof(int) * (size_t)n * (2 * SIM_MAX_NEXT + 1));
	free(sc->reach);
	sc->reach = calloc((size_t)n * (size_t)n, 1);
	if (!sc->reach || !stack) {
		free(stack);
		return;
	}
	for (int a = 0; a < n; a++) {
		uint8_t *r = sc->reach + (size_t)a * (size_t)n;
		int sp = 0;
		stack[sp++] = a;
		while (sp) {
			int x = stack[--sp];
			const struct sim_node *nd = &sc->nodes[x];
			for (int i = 0; i < nd->nnext + nd->nnext2; i++) {
				int y = i < nd->nnext ? nd->next[i] : nd->next2[i - nd->nnext];
				if (!r[y]) {
					r[y] = 1;
					stack[sp++] = y;
				}
			}
		}
	}
	free(stack);
}

/* Sort every node address and family range into sc->ix. Two nodes with one
 * address: the first defined owns it (as before the index). A family may
 * share no address with anything. */
static int build_index(struct sim_scenario *sc, char *err, size_t errlen)
{
	size_t cap = (size_t)sc->nnodes * 2 + (size_t)sc->nfam * 2, n = 0, k = 0;
	struct sim_addr_ix *v = calloc(cap ? cap : 1, sizeof(*v));

	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 1; i < sc->nnodes; i++) {
		const struct sim_node *nd = &sc->nodes[i];
		if (nd->has4)
			v[n] = (struct sim_addr_ix){.af = 4, .count = 1, .node = i, .fam = -1},
			memcpy(v[n++].key, &nd->a4, 4);
		if (nd->has6)
			v[n] = (struct sim_addr_ix){.af = 6, .count = 1, .node = i, .fam = -1},
			memcpy(v[n++].key, &nd->a6, 16);
	}
	for (int f = 0; f < sc->nfam; f++) {
		const struct sim_family *fm = &sc->fam[f];
		if (fm->tmpl.has4)
			v[n] = (struct sim_addr_ix){.af = 4, .count = fm->count, .node = -1, .fam = f},
			memcpy(v[n++].key, &fm->tmpl.a4, 4);
		if (fm->tmpl.has6)
			v[n] = (struct sim_addr_ix){.af = 6, .count = fm->count, .node = -1, .fam = f},
			memcpy(v[n++].key, &fm->tmpl.a6, 16);
	}
	qsort(v, n, sizeof(*v), ix_cmp);
	for (size_t i = 0; i < n; i++) {
		uint32_t off;
		if (k && v[k - 1].af == v[i].af && ix_within(&v[k - 1], v[i].key, &off)) {
			const struct sim_addr_ix *a = &v[k - 1], *b = &v[i];
			if (a->fam < 0 && b->fam < 0)
				continue; /* the same address twice: the first node keeps it */
			char s[INET6_ADDRSTRLEN];
			inet_ntop(b->af == 4 ? AF_INET : AF_INET6, b->key, s, sizeof(s));
			snprintf(err, errlen, "%s: %s %s overlaps %s %s at %s", sc->path,
			         a->fam >= 0 ? "host family" : "node",
			         a->fam >= 0 ? sc->fam[a->fam].name : sc->nodes[a->node].name,
			         b->fam >= 0 ? "host family" : "node",
			         b->fam >= 0 ? sc->fam[b->fam].name : sc->nodes[b->node].name, s);
			free(v);
			return -1;
		}
		v[k++] = v[i];
	}
	free(sc->ix);
	sc->ix = v;
	sc->nix = k;
	for (int f = 0; f < sc->nfam; f++) {
		struct sim_family *fm = &sc->fam[f];
		free(fm->rl);
		fm->rl = NULL;
		if (!fm->nbehind && !fm->nparent) {
			snprintf(err, errlen, "%s: host family %s hangs off no router (behind=, link, path)",
			         sc->path, fm->name);
			return -1;
		}
	}
	return 0;
}

static int append(char **dst, const char *line)
{
	size_t a = *dst ? strlen(*dst) : 0, b = strlen(line);
	char *n = realloc(*dst, a + b + 2);
	if (!n)
		return -1;
	memcpy(n + a, line, b);
	n[a + b] = '\n';
	n[a + b + 1] = 0;
	*dst = n;
	return 0;
}

int sim_scenario_parse(struct sim_scenario *sc, const char *text, char *err, size_t errlen)
{
	struct parser p = {.sc = sc, .err = err, .errlen = errlen};
	char *copy = strdup(text);
	char *save = NULL, *line;
	enum { S_NONE, S_INFO, S_NET, S_CMD, S_EXPECT, S_STDERR, S_EXIT, S_RECORD } sec = S_NONE;
	int rc = 0;

	if (!copy)
		return -1;
	sc->nnodes = 0;
	sc->nfam = 0;
	sc->expect_exit = -1;
	sc->timeout_s = 60;
	sc->seed = 1;
	node_init(&p.rdef, false);
	node_init(&p.hdef, true);
	/* Node 0 is the prober: the start of every path. */
	node_init(&sc->nodes[0], false);
	snprintf(sc->nodes[0].name, sizeof(sc->nodes[0].name), "prober");
	sc->nnodes = 1;

	/* strsep keeps empty lines, which matter inside [expect]. */
	save = copy;
	while ((line = strsep(&save, "\n")) != NULL) {
		p.line++;
		size_t l = strlen(line);
		if (l && line[l - 1] == '\r')
			line[--l] = 0;
		if (line[0] == '[' && l > 2 && line[l - 1] == ']') {
			char *name = line + 1;
			line[l - 1] = 0;
			if (strcmp(name, "info") == 0)
				sec = S_INFO;
			else if (strcmp(name, "network") == 0)
				sec = S_NET;
			else if (strcmp(name, "command") == 0)
				sec = S_CMD;
			else if (strcmp(name, "expect") == 0) {
				sec = S_EXPECT;
				if (!sc->expect)
					sc->expect = strdup("");
			} else if (strcmp(name, "stderr") == 0) {
				sec = S_STDERR;
				if (!sc->expect_stderr)
					sc->expect_stderr = strdup("");
			} else if (strcmp(name, "exit") == 0)
				sec = S_EXIT;
			else if (strcmp(name, "record") == 0)
				sec = S_RECORD;
			else {
				rc = perr(&p, "unknown section [%s]", name);
				break;
			}
			continue;
		}
		switch (sec) {
		case S_NONE:
		case S_INFO:
			break;
		case S_NET:
			rc = net_line(&p, line);
			break;
		case S_CMD: {
			char *s = line;
			while (isspace((unsigned char)*s))
				s++;
			if (*s == 0 || *s == '#')
				break;
			if (sc->command) {
				rc = perr(&p, "[command] takes one line");
				break;
			}
			sc->command = strdup(s);
			break;
		}
		case S_EXPECT:
			rc = append(&sc->expect, line);
			break;
		case S_STDERR:
			rc = append(&sc->expect_stderr, line);
			break;
		case S_EXIT: {
			unsigned long u;
			char *s = line;
			while (isspace((unsigned char)*s))
				s++;
			if (*s == 0 || *s == '#')
				break;
			rc = parse_uint(&p, s, 255, &u);
			sc->expect_exit = (int)u;
			break;
		}
		case S_RECORD: {
			char *s = line;
			while (isspace((unsigned char)*s))
				s++;
			if (*s && *s != '#')
				rc = append(&sc->record_checks, s);
			break;
		}
		}
		if (rc)
			break;
	}
	free(copy);
	if (rc)
		return -1;
	/* Trailing blank lines of a section are layout, not expectation. */
	for (char **t = &sc->expect; t; t = t == &sc->expect ? &sc->expect_stderr : NULL) {
		if (!*t)
			continue;
		size_t l = strlen(*t);
		while (l >= 2 && (*t)[l - 1] == '\n' && (*t)[l - 2] == '\n')
			(*t)[--l] = 0;
		if (l == 1 && (*t)[0] == '\n')
			(*t)[0] = 0;
	}
	if (!sc->has4 && !sc->has6) {
		/* The conventional prober addresses. */
		inet_pton(AF_INET, "198.18.0.1", &sc->prober4);
		inet_pton(AF_INET6, "2001:db8::1", &sc->prober6);
		sc->has4 = sc->has6 = true;
	}
	/* The prober's node carries its addresses, for completeness. */
	sc->nodes[0].has4 = sc->has4;
	sc->nodes[0].a4 = sc->prober4;
	sc->nodes[0].has6 = sc->has6;
	sc->nodes[0].a6 = sc->prober6;
	compute_reach(sc);
	if (!sc->reach) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return build_index(sc, err, errlen);
}

int sim_scenario_load(struct sim_scenario *sc, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, len = 0;
	int rc;

	snprintf(sc->path, sizeof(sc->path), "%s", path);
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 16384;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			buf = nb;
		}
		size_t r = fread(buf + len, 1, 4096, f);
		len += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[len] = 0;
	rc = sim_scenario_parse(sc, buf, err, errlen);
	free(buf);
	return rc;
}

void sim_scenario_free(struct sim_scenario *sc)
{
	free(sc->reach);
	for (int f = 0; f < sc->nfam; f++)
		free(sc->fam[f].rl);
	free(sc->fam);
	free(sc->ix);
	sc->fam = NULL;
	sc->ix = NULL;
	sc->nfam = 0;
	sc->nix = 0;
	free(sc->command);
	free(sc->expect);
	free(sc->expect_stderr);
	free(sc->record_checks);
	sc->reach = NULL;
	sc->command = sc->expect = sc->expect_stderr = sc->record_checks = NULL;
}
