/*
 * Ground truth: for every host, what a flow-stable trace through the
 * scenario must see, hop by hop. It follows the engine's rules (engine.c)
 * without sending anything: at a load balancer every next hop that the
 * engine could pick is taken, so where the path depends on the probe's
 * flow a TTL lists every address that may answer.
 *
 * One JSON line per host:
 *   {"target":"198.19.0.5","family":4,"method":"udp",
 *    "hops":[{"ttl":1,"addr":"198.18.0.2"},{"ttl":2,"addr":null},
 *            {"ttl":3,"addrs":["198.18.1.1","198.18.2.1"]},...],
 *    "reached":true,"end":"reached"}
 * See tests/sim/README.md for every key.
 */
#include "sim.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define T_MAXANS 64
#define T_TARGET (-2) /* the family member being traced, as a "node" */

struct answers {
	int n;
	uint8_t a[T_MAXANS][16];
	bool null; /* a probe may go unanswered (silent, dropped) */
	bool loss, rl;
};

static void ans_add(struct answers *s, const void *addr, size_t alen)
{
	if (!addr) {
		s->null = true;
		return;
	}
	for (int i = 0; i < s->n; i++)
		if (memcmp(s->a[i], addr, alen) == 0)
			return;
	if (s->n < T_MAXANS)
		memcpy(s->a[s->n++], addr, alen);
}

static void ans_merge(struct answers *d, const struct answers *s, size_t alen)
{
	for (int i = 0; i < s->n; i++)
		ans_add(d, s->a[i], alen);
	d->null |= s->null;
	d->loss |= s->loss;
	d->rl |= s->rl;
}

static unsigned pbit(int proto)
{
	return proto == IPPROTO_UDP ? SIM_P_UDP : proto == IPPROTO_TCP ? SIM_P_TCP : SIM_P_ICMP;
}

static const void *addr_of(const struct sim_node *n, int family)
{
	if (family == AF_INET)
		return n->has4 ? (const void *)&n->a4 : NULL;
	return n->has6 ? (const void *)&n->a6 : NULL;
}

/* Would node n send an ICMP error for this protocol? (engine.c send_error) */
static bool errs(const struct sim_node *n, int proto, const void *src)
{
	return src && !n->silent && (n->answer & pbit(proto));
}

enum end { E_NONE = 0, E_REACHED = 1, E_UNREACH = 2, E_SILENT = 4 };

struct trace {
	const struct sim_scenario *sc;
	int family, proto;
	size_t alen;
	const struct sim_node *tgt; /* the destination as a node */
	unsigned ends;              /* E_* of the branches that ended */
	char unreach[32];           /* the first unreachable kind seen */
	struct answers term;        /* answers of branches that ended: they repeat */
};

static void unreach_name(enum sim_act a, char *out, size_t cap)
{
	switch (a) {
	case SIM_ACT_HOST_UNREACH:
		snprintf(out, cap, "host");
		break;
	case SIM_ACT_NET_UNREACH:
		snprintf(out, cap, "net");
		break;
	case SIM_ACT_PROHIB:
		snprintf(out, cap, "prohib");
		break;
	case SIM_ACT_PROTO_UNREACH:
		snprintf(out, cap, "proto");
		break;
	default:
		if (a >= SIM_ACT_ERR && a <= SIM_ACT_ERR_LAST)
			snprintf(out, cap, "err:%u:%u", (unsigned)((a - SIM_ACT_ERR) >> 8),
			         (unsigned)((a - SIM_ACT_ERR) & 0xff));
		else
			snprintf(out, cap, "other");
	}
}

/* What the destination answers, node n speaking for it (n == t->tgt but
 * for fake-dest). Into `a`; returns the E_* kind. engine.c dest_answer. */
static unsigned dest_outcome(struct trace *t, const struct sim_node *n, struct answers *a)
{
	const struct sim_node *d = t->tgt;
	const void *src = addr_of(d, t->family);
	enum sim_act act;

	switch (t->proto) {
	case IPPROTO_UDP:
		act = d->act_udp ? d->act_udp : SIM_ACT_PORT_UNREACH;
		break;
	case IPPROTO_TCP:
		act = d->act_tcp ? d->act_tcp : SIM_ACT_RST;
		break;
	default:
		act = d->act_icmp ? d->act_icmp : SIM_ACT_ECHO;
	}
	if (n->rloss > 0)
		a->loss = true;
	if (act == SIM_ACT_SILENT)
		goto silent;
	bool err = act == SIM_ACT_PORT_UNREACH || act == SIM_ACT_PROHIB ||
	           act == SIM_ACT_HOST_UNREACH || act == SIM_ACT_NET_UNREACH ||
	           act == SIM_ACT_PROTO_UNREACH || (act >= SIM_ACT_ERR && act <= SIM_ACT_ERR_LAST);
	if (err) {
		if (!errs(n, t->proto, src))
			goto silent;
		if (n->rl.on)
			a->rl = true;
		ans_add(a, src, t->alen);
		if (act == SIM_ACT_PORT_UNREACH)
			return E_REACHED;
		if (!t->unreach[0])
			unreach_name(act, t->unreach, sizeof(t->unreach));
		return E_UNREACH;
	}
	bool icmp = t->proto != IPPROTO_UDP && t->proto != IPPROTO_TCP;
	bool answers = (act == SIM_ACT_ECHO && t->proto != IPPROTO_TCP) ||
	               (act == SIM_ACT_DNS && t->proto == IPPROTO_UDP) ||
	               ((act == SIM_ACT_SYNACK || act == SIM_ACT_RST) && t->proto == IPPROTO_TCP);
	(void)icmp;
	if (!answers || !src)
		goto silent;
	ans_add(a, src, t->alen);
	return E_REACHED;
silent:
	ans_add(a, NULL, 0);
	return E_SILENT;
}

struct dst {
	int node, npar;
	int par[SIM_MAX_NEXT + 1];
};

static bool leads(const struct sim_scenario *sc, int x, const struct dst *d)
{
	const uint8_t *r = sc->reach + (size_t)x * (size_t)sc->nnodes;
	if (d->node >= 0)
		return x == d->node || r[d->node];
	for (int i = 0; i < d->npar; i++)
		if (x == d->par[i] || r[d->par[i]])
			return true;
	return false;
}

/* Every next hop the engine might pick from s (engine.c pick_next), both
 * before and after a `change`. */
static int candidates(const struct sim_scenario *sc, int s, const struct dst *d, int *out)
{
	const struct sim_node *n = &sc->nodes[s];
	int nc = 0;
	for (int i = 0; i < d->npar; i++)
		if (d->par[i] == s) {
			out[0] = T_TARGET;
			return 1;
		}
	for (int set = 0; set < 2; set++) {
		const int *nx = set ? n->next2 : n->next;
		int nn = set ? n->nnext2 : n->nnext, k = 0;
		for (int i = 0; i < nn; i++)
			if (leads(sc, nx[i], d))
				out[nc + k++] = nx[i];
		if (!k)
			for (int i = 0; i < nn; i++)
				out[nc + k++] = nx[i];
		nc += k;
	}
	return nc;
}

static void put_addr(FILE *out, int family, const uint8_t *a)
{
	char s[INET6_ADDRSTRLEN];
	inet_ntop(family, a, s, sizeof(s));
	fprintf(out, "\"%s\"", s);
}

static int truth_one(const struct sim_scenario *sc, FILE *out, int family, const struct sim_target *tg,
                     const uint8_t *addr, int proto, int max_ttl)
{
	struct sim_node member;
	struct dst d = {.node = tg->node};
	struct trace t = {.sc = sc, .family = family, .proto = proto,
	                  .alen = family == AF_INET ? 4 : 16};
	int nn = sc->nnodes;
	uint8_t *cur = calloc((size_t)nn * 4, 1);
	int cand[2 * SIM_MAX_NEXT];

	if (!cur)
		return -1;
	uint8_t *nxt = cur + nn, *lossy = cur + 2 * nn, *nlossy = cur + 3 * nn;
	if (tg->fam >= 0) {
		sim_family_member(sc, tg->fam, tg->member, &member);
		d.npar = sim_family_parents(sc, tg->fam, tg->member, d.par);
		t.tgt = &member;
	} else {
		t.tgt = &sc->nodes[tg->node];
	}
	fprintf(out, "{\"target\":");
	put_addr(out, family, addr);
	fprintf(out, ",\"family\":%d,\"method\":\"%s\",\"hops\":[", family == AF_INET ? 4 : 6,
	        proto == IPPROTO_UDP ? "udp" : proto == IPPROTO_TCP ? "tcp" : "icmp");
	cur[SIM_PROBER] = 1;
	bool open = true;
	for (int ttl = 1; ttl <= max_ttl && open; ttl++) {
		struct answers a = {0};
		open = false;
		memset(nxt, 0, (size_t)nn);
		memset(nlossy, 0, (size_t)nn);
		/* Branches that ended closer answer probes with higher TTLs too. */
		ans_merge(&a, &t.term, t.alen);
		for (int s = 0; s < nn; s++) {
			if (!cur[s])
				continue;
			int nc = candidates(sc, s, &d, cand);
			if (!nc) { /* a dead end: dropped from here on */
				ans_add(&t.term, NULL, 0);
				ans_add(&a, NULL, 0);
				t.ends |= E_SILENT;
				continue;
			}
			for (int i = 0; i < nc; i++) {
				int x = cand[i];
				bool tgt = x == T_TARGET || x == d.node;
				const struct sim_node *n = tgt ? t.tgt : &sc->nodes[x];
				bool lost = lossy[s] || n->loss > 0;
				struct answers one = {0};
				if (n->loss >= 1 || (tgt && n->rloss >= 1)) {
					/* A black hole: everything is dropped here. */
					ans_add(&t.term, NULL, 0);
					ans_add(&a, NULL, 0);
					t.ends |= E_SILENT;
					continue;
				}
				if (lost)
					one.loss = true;
				if (!tgt && n->rloss >= 1) {
					/* It forwards but never answers. */
					ans_add(&a, NULL, 0);
					nxt[x] = 1;
					nlossy[x] |= lost;
					open = true;
					continue;
				}
				if (tgt) {
					t.ends |= dest_outcome(&t, n, &one);
					ans_merge(&t.term, &one, t.alen);
					ans_merge(&a, &one, t.alen);
					continue;
				}
				const void *src = addr_of(n, family);
				if (n->rloss > 0)
					one.loss = true;
				if (n->rl.on)
					one.rl = true;
				if (n->unreach != SIM_ACT_DEFAULT) {
					/* engine.c: the route lookup's unreachable wins. */
					ans_add(&one, errs(n, proto, src) ? src : NULL, t.alen);
					if (errs(n, proto, src)) {
						t.ends |= E_UNREACH;
						if (!t.unreach[0])
							unreach_name(n->unreach, t.unreach, sizeof(t.unreach));
					} else {
						t.ends |= E_SILENT;
					}
					ans_merge(&t.term, &one, t.alen);
					ans_merge(&a, &one, t.alen);
					continue;
				}
				if (n->fake_dest)
					dest_outcome(&t, n, &one);
				else
					ans_add(&one, errs(n, proto, src) ? src : NULL, t.alen);
				ans_merge(&a, &one, t.alen);
				nxt[x] = 1;
				nlossy[x] |= lost;
				open = true;
			}
		}
		fprintf(out, "%s{\"ttl\":%d,", ttl > 1 ? "," : "", ttl);
		if (a.n + a.null == 1) {
			fprintf(out, "\"addr\":");
			if (a.n)
				put_addr(out, family, a.a[0]);
			else
				fprintf(out, "null");
		} else {
			fprintf(out, "\"addrs\":[");
			for (int i = 0; i < a.n; i++) {
				if (i)
					fputc(',', out);
				put_addr(out, family, a.a[i]);
			}
			if (a.null)
				fprintf(out, "%snull", a.n ? "," : "");
			fputc(']', out);
		}
		if (a.loss)
			fprintf(out, ",\"loss\":true");
		if (a.rl)
			fprintf(out, ",\"ratelimit\":true");
		fputc('}', out);
		memcpy(cur, nxt, (size_t)nn);
		memcpy(lossy, nlossy, (size_t)nn);
	}
	const char *end = open                        ? "open"
	                  : t.ends == E_REACHED       ? "reached"
	                  : t.ends == E_UNREACH       ? "unreach"
	                  : t.ends == E_SILENT        ? "silent"
	                                              : "mixed";
	fprintf(out, "],\"reached\":%s,\"end\":\"%s\"", !open && t.ends == E_REACHED ? "true" : "false",
	        end);
	if (t.unreach[0])
		fprintf(out, ",\"unreach\":\"%s\"", t.unreach);
	fprintf(out, "}\n");
	free(cur);
	return 0;
}

struct each {
	const struct sim_scenario *sc;
	FILE *out;
	int family, proto, max_ttl;
};

static int each_cb(void *user, const struct sim_target *t, const uint8_t *addr)
{
	struct each *e = user;
	return truth_one(e->sc, e->out, e->family, t, addr, e->proto, e->max_ttl);
}

int sim_truth(const struct sim_scenario *sc, FILE *out, int family, int proto, int max_ttl)
{
	struct each e = {sc, out, family, proto, max_ttl};
	return sim_each_host(sc, family, each_cb, &e);
}

int sim_truth_addr(const struct sim_scenario *sc, FILE *out, int family, const uint8_t *a,
                   int proto, int max_ttl)
{
	struct sim_target t;
	if (!sim_lookup(sc, family, a, &t))
		return -1;
	return truth_one(sc, out, family, &t, a, proto, max_ttl);
}
