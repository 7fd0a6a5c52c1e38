/*
 * The simulation engine: walks each probe through the scenario's graph,
 * decides who answers and how, and schedules the answer at the time the
 * path's delays say it arrives back at the prober.
 */
#include "sim.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* ---- timer heap ---- */

static bool before(const struct sim_out *a, const struct sim_out *b)
{
	return a->at_us < b->at_us || (a->at_us == b->at_us && a->order < b->order);
}

int sim_heap_push(struct sim_heap *h, struct sim_out *o)
{
	if (h->n == h->cap) {
		size_t nc = h->cap ? h->cap * 2 : 256;
		struct sim_out **nv = realloc(h->v, nc * sizeof(*nv));
		if (!nv)
			return -1;
		h->v = nv;
		h->cap = nc;
	}
	size_t i = h->n++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!before(o, h->v[p]))
			break;
		h->v[i] = h->v[p];
		i = p;
	}
	h->v[i] = o;
	return 0;
}

struct sim_out *sim_heap_pop(struct sim_heap *h)
{
	if (!h->n)
		return NULL;
	struct sim_out *top = h->v[0];
	struct sim_out *last = h->v[--h->n];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && before(h->v[c + 1], h->v[c]))
			c++;
		if (!before(h->v[c], last))
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n)
		h->v[i] = last;
	return top;
}

void sim_heap_free(struct sim_heap *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i]);
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

/* ---- engine ---- */

int sim_engine_init(struct sim_engine *e, struct sim_scenario *sc)
{
	memset(e, 0, sizeof(*e));
	e->sc = sc;
	e->ipid = (uint16_t)sim_mix(sc->seed);
	for (int i = 0; i < sc->nnodes; i++) {
		struct sim_bucket *b = &sc->nodes[i].rl;
		b->tokens = b->burst;
		b->last_us = 0;
		sc->nodes[i].rr = 0;
	}
	for (int f = 0; f < sc->nfam; f++) {
		struct sim_family *fm = &sc->fam[f];
		free(fm->rl);
		fm->rl = NULL;
		if (!fm->tmpl.rl.on)
			continue;
		fm->rl = malloc(fm->count * sizeof(*fm->rl));
		if (!fm->rl)
			return -1;
		for (uint32_t m = 0; m < fm->count; m++) {
			fm->rl[m] = fm->tmpl.rl;
			fm->rl[m].tokens = fm->rl[m].burst;
			fm->rl[m].last_us = 0;
		}
	}
	return 0;
}

void sim_engine_free(struct sim_engine *e)
{
	sim_heap_free(&e->heap);
	free(e->ct);
	e->ct = NULL;
	e->nct = e->cap_ct = 0;
}

/* A probe as the engine sees it. */
struct pkt {
	const uint8_t *b;
	size_t len, hl;
	int family;
	uint8_t proto, ttl, tos;
	bool df;
	uint32_t flowlabel;
	const uint8_t *src, *dst; /* raw addresses inside b */
	const uint8_t *l4;
	size_t l4len;
};

struct rng {
	uint64_t s;
};

static uint64_t rnext(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return sim_mix(r->s);
}

static double runif(struct rng *r)
{
	return (double)(rnext(r) >> 11) * (1.0 / 9007199254740992.0);
}

static int32_t rjitter(struct rng *r, uint32_t j)
{
	if (!j)
		return 0;
	return (int32_t)(rnext(r) % (2 * (uint64_t)j + 1)) - (int32_t)j;
}

static uint16_t g16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void p16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static const void *node_addr(const struct sim_node *n, int family)
{
	if (family == AF_INET)
		return n->has4 ? (const void *)&n->a4 : NULL;
	return n->has6 ? (const void *)&n->a6 : NULL;
}

static unsigned proto_bit(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_UDP:
		return SIM_P_UDP;
	case IPPROTO_TCP:
		return SIM_P_TCP;
	default:
		return SIM_P_ICMP;
	}
}

static uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static int parse_probe(struct pkt *p, const uint8_t *b, size_t len)
{
	memset(p, 0, sizeof(*p));
	p->b = b;
	if (len < 20)
		return -1;
	if (b[0] >> 4 == 4) {
		size_t hl = (size_t)(b[0] & 0x0f) * 4;
		size_t tl = g16(b + 2);
		if (hl < 20 || tl < hl || tl > len)
			return -1;
		if (g16(b + 6) & 0x1fff)
			return -1; /* a non-first fragment: nothing to answer */
		p->family = AF_INET;
		p->len = tl;
		p->hl = hl;
		p->tos = b[1];
		p->df = (b[6] & 0x40) != 0;
		p->ttl = b[8];
		p->proto = b[9];
		p->src = b + 12;
		p->dst = b + 16;
	} else if (b[0] >> 4 == 6) {
		if (len < 40 || (size_t)g16(b + 4) + 40 > len)
			return -1;
		p->family = AF_INET6;
		p->len = (size_t)g16(b + 4) + 40;
		p->hl = 40;
		p->tos = (uint8_t)((b[0] & 0x0f) << 4 | b[1] >> 4);
		p->flowlabel = (uint32_t)(b[1] & 0x0f) << 16 | g16(b + 2);
		p->df = true;
		p->ttl = b[7];
		p->proto = b[6];
		p->src = b + 8;
		p->dst = b + 24;
	} else {
		return -1;
	}
	p->l4 = b + p->hl;
	p->l4len = p->len - p->hl;
	switch (p->proto) {
	case IPPROTO_UDP:
		return p->l4len >= 8 ? 0 : -1;
	case IPPROTO_TCP:
		/* Only connection attempts are probes. */
		return p->l4len >= 20 && (p->l4[13] & 0x17) == 0x02 ? 0 : -1;
	case IPPROTO_ICMP:
		return p->family == AF_INET && p->l4len >= 8 && p->l4[0] == 8 ? 0 : -1;
	case IPPROTO_ICMPV6:
		return p->family == AF_INET6 && p->l4len >= 8 && p->l4[0] == 128 ? 0 : -1;
	}
	return -1;
}

/* The record line is built by hand: at a few hundred thousand probes a
 * second, fprintf and inet_ntop were half the simulator's time. */
static char *put_u(char *o, uint64_t v)
{
	char t[24];
	int n = 0;
	do
		t[n++] = (char)('0' + v % 10);
	while (v /= 10);
	while (n)
		*o++ = t[--n];
	return o;
}

static char *put_s(char *o, const char *s)
{
	while (*s)
		*o++ = *s++;
	return o;
}

static char *put_a(char *o, int family, const uint8_t *a)
{
	if (family == AF_INET) {
		for (int i = 0; i < 4; i++) {
			if (i)
				*o++ = '.';
			o = put_u(o, a[i]);
		}
		return o;
	}
	char s[INET6_ADDRSTRLEN];
	inet_ntop(family, a, s, sizeof(s));
	return put_s(o, s);
}

static char *put_x16(char *o, uint16_t v)
{
	static const char hx[] = "0123456789abcdef";
	o = put_s(o, "0x");
	for (int sh = 12; sh >= 0; sh -= 4)
		*o++ = hx[(v >> sh) & 15];
	return o;
}

static void record(struct sim_engine *e, const struct pkt *p, uint64_t now)
{
	char line[320], *o = line;
	const char *pn = p->proto == IPPROTO_UDP   ? "udp"
	                 : p->proto == IPPROTO_TCP ? "tcp"
	                                           : "icmp";

	o = put_u(put_s(o, "t="), now);
	o = put_s(put_s(put_s(o, p->family == AF_INET ? " fam=4" : " fam=6"), " proto="), pn);
	o = put_a(put_s(o, " src="), p->family, p->src);
	o = put_a(put_s(o, " dst="), p->family, p->dst);
	o = put_u(put_s(o, " ttl="), p->ttl);
	o = put_u(put_s(o, " tos="), p->tos);
	if (p->family == AF_INET)
		o = put_u(put_s(o, " ipid="), g16(p->b + 4));
	else
		o = put_u(put_s(o, " flowlabel="), p->flowlabel);
	if (p->proto == IPPROTO_UDP || p->proto == IPPROTO_TCP) {
		o = put_u(put_s(o, " sport="), g16(p->l4));
		o = put_u(put_s(o, " dport="), g16(p->l4 + 2));
	} else {
		o = put_u(put_s(o, " icmpid="), g16(p->l4 + 4));
		o = put_u(put_s(o, " icmpseq="), g16(p->l4 + 6));
	}
	if (p->proto == IPPROTO_UDP)
		o = put_x16(put_s(o, " csum="), g16(p->l4 + 6));
	else if (p->proto == IPPROTO_TCP)
		o = put_u(put_s(o, " tcpseq="), (uint32_t)g16(p->l4 + 4) << 16 | g16(p->l4 + 6));
	else
		o = put_x16(put_s(o, " csum="), g16(p->l4 + 2));
	o = put_u(put_s(o, " len="), p->len);
	*o++ = '\n';
	fwrite(line, 1, (size_t)(o - line), e->record);
}

/* The probe's state as it travels: what routers so far changed. */
struct walk {
	uint8_t ttl, tos;
	bool natted;
	uint8_t nsrc[16];
	uint16_t nport;
	uint16_t l4csum; /* transport checksum after NAT */
	/* Conntrack NATs passed: the entry (index into e->ct) and the return
	 * delay accumulated up to and including that NAT's link. */
	int nct;
	struct {
		size_t slot;
		uint64_t back;
	} ct[4];
};

static uint16_t csum_update(uint16_t c, const uint8_t *old, const uint8_t *new, size_t n)
{
	/* RFC 1624: HC' = ~(~HC + ~m + m') over 16-bit words. */
	uint32_t s = (uint16_t)~c;
	for (size_t i = 0; i + 1 < n; i += 2) {
		s += (uint16_t)~g16(old + i);
		s += g16(new + i);
	}
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static int l4csum_off(uint8_t proto)
{
	return proto == IPPROTO_UDP ? 6 : proto == IPPROTO_TCP ? 16 : 2;
}

/* Apply node n's source NAT to the walking probe. */
static void do_nat(struct walk *w, const struct pkt *p, const struct sim_node *n)
{
	size_t alen = p->family == AF_INET ? 4 : 16;
	const void *na = p->family == AF_INET ? (const void *)&n->nat4 : (const void *)&n->nat6;
	uint8_t oldp[2], newp[2];
	bool pseudo = !(p->family == AF_INET && p->proto == IPPROTO_ICMP);
	bool zero_udp = p->family == AF_INET && p->proto == IPPROTO_UDP && w->l4csum == 0;

	if (pseudo && !zero_udp)
		w->l4csum = csum_update(w->l4csum, w->nsrc, na, alen);
	memcpy(w->nsrc, na, alen);
	if (n->nat_port) {
		p16(oldp, w->nport);
		p16(newp, n->nat_port);
		if (!zero_udp)
			w->l4csum = csum_update(w->l4csum, oldp, newp, 2);
		w->nport = n->nat_port;
	}
	if (p->proto == IPPROTO_UDP && w->l4csum == 0 && !zero_udp)
		w->l4csum = 0xffff;
	w->natted = true;
}

/*
 * Connection tracking at a `conntrack` NAT, for TCP, reduced to what
 * Linux (nf_conntrack behind MASQUERADE) does to a tracer's SYNs, as
 * measured on the netns lab:
 *  - a SYN opens an entry for its 5-tuple (as it reaches the NAT), or
 *    joins the entry already open for it (SYNs on one tuple sent back to
 *    back share one entry);
 *  - an answer from the far side (SYN-ACK or RST) is translated back only
 *    while the entry is open; the first RST closes it, so later answers on
 *    the tuple (RST or SYN-ACK) are not translated back and are lost;
 *  - a SYN that reaches the NAT after the entry was closed opens a fresh
 *    one, whose answers pass again;
 *  - ICMP errors about the tuple (time exceeded, unreachable) are related
 *    and always pass; UDP and ICMP are not tracked.
 * Times are the simulated times the packets pass the NAT. Entries are
 * judged in the order the probes arrive, which with jitter may differ from
 * the order their answers pass.
 */
static void ct_pass(struct sim_engine *e, struct walk *w, const struct pkt *p, int node,
                    uint64_t at, uint64_t back)
{
	size_t alen = p->family == AF_INET ? 4 : 16, i;
	uint16_t dport = g16(p->l4 + 2);

	if (w->nct >= (int)(sizeof(w->ct) / sizeof(w->ct[0])))
		return;
	for (i = 0; i < e->nct; i++) {
		struct sim_ct *t = &e->ct[i];
		if (t->node == node && t->family == p->family && t->sport == w->nport &&
		    t->dport == dport && !memcmp(t->src, w->nsrc, alen) &&
		    !memcmp(t->dst, p->dst, alen))
			break;
	}
	if (i == e->nct) {
		if (e->nct == e->cap_ct) {
			size_t cap = e->cap_ct ? e->cap_ct * 2 : 64;
			struct sim_ct *v = realloc(e->ct, cap * sizeof(*v));
			if (!v)
				return;
			e->ct = v;
			e->cap_ct = cap;
		}
		struct sim_ct *t = &e->ct[e->nct++];
		memset(t, 0, sizeof(*t));
		t->node = node;
		t->family = p->family;
		memcpy(t->src, w->nsrc, alen);
		memcpy(t->dst, p->dst, alen);
		t->sport = w->nport;
		t->dport = dport;
		t->closed_at = UINT64_MAX;
	} else if (e->ct[i].closed_at <= at) {
		e->ct[i].closed_at = UINT64_MAX; /* closed earlier: a fresh entry */
	}
	w->ct[w->nct].slot = i;
	w->ct[w->nct].back = back;
	w->nct++;
}

/* The far side's TCP answer (RST or SYN-ACK), leaving the destination at
 * time `left` with the whole return delay `back` ahead of it, meets the
 * conntrack NATs of its probe from the nearest to the destination on.
 * False when one of them has no open entry for it. */
static bool ct_answer(struct sim_engine *e, const struct walk *w, uint64_t left, uint64_t back,
                      bool rst)
{
	for (int k = w->nct - 1; k >= 0; k--) {
		struct sim_ct *t = &e->ct[w->ct[k].slot];
		uint64_t at = left + (back - w->ct[k].back);
		if (t->closed_at <= at)
			return false;
		if (rst)
			t->closed_at = at;
	}
	return true;
}

/* The probe as it arrived at the current node: TTL, TOS and NAT applied.
 * `quote_ttl` replaces the TTL. NAT is undone on addresses and ports the
 * way a NAT translates the inner packet of an ICMP error, but the
 * transport checksum keeps its translated value (what real NATs leave). */
static size_t arrived(const struct pkt *p, const struct walk *w, uint8_t quote_ttl, uint8_t *q,
                      size_t cap)
{
	size_t n = p->len < cap ? p->len : cap;
	memcpy(q, p->b, n);
	if (p->family == AF_INET) {
		q[1] = w->tos;
		q[8] = quote_ttl;
		sim_ip4_csum(q);
	} else {
		q[0] = (uint8_t)(0x60 | w->tos >> 4);
		q[1] = (uint8_t)((q[1] & 0x0f) | (w->tos & 0x0f) << 4);
		q[7] = quote_ttl;
	}
	if (w->natted) {
		int off = l4csum_off(p->proto);
		if (p->hl + (size_t)off + 2 <= n)
			p16(q + p->hl + off, w->l4csum);
	}
	return n;
}

static struct sim_out *out_new(struct sim_engine *e, size_t len, uint64_t at)
{
	struct sim_out *o = malloc(sizeof(*o) + len);
	if (!o)
		return NULL;
	o->at_us = at;
	o->order = e->order++;
	o->len = (uint32_t)len;
	return o;
}

static void emit(struct sim_engine *e, const uint8_t *b, size_t len, uint64_t at)
{
	struct sim_out *o;
	if (!len || !(o = out_new(e, len, at)))
		return;
	memcpy(o->data, b, len);
	if (sim_heap_push(&e->heap, o))
		free(o);
	else
		e->st.replies++;
}

static bool ratelimit_ok(struct sim_bucket *b, uint64_t t)
{
	if (!b->on)
		return true;
	if (t > b->last_us) {
		b->tokens += (double)(t - b->last_us) * b->rate / 1e6;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
		b->last_us = t;
	}
	if (b->tokens >= 1) {
		b->tokens -= 1;
		return true;
	}
	return false;
}

/* ICMP type/code for an action, per family. */
static bool act_icmp(enum sim_act a, int family, uint8_t *type, uint8_t *code)
{
	bool v4 = family == AF_INET;
	*type = v4 ? 3 : 1;
	if (a >= SIM_ACT_ERR && a <= SIM_ACT_ERR_LAST) {
		*type = (uint8_t)((a - SIM_ACT_ERR) >> 8);
		*code = (uint8_t)(a - SIM_ACT_ERR);
		return true;
	}
	switch (a) {
	case SIM_ACT_PORT_UNREACH:
		*code = v4 ? 3 : 4;
		return true;
	case SIM_ACT_PROHIB:
		*code = v4 ? 13 : 1;
		return true;
	case SIM_ACT_HOST_UNREACH:
		*code = v4 ? 1 : 3;
		return true;
	case SIM_ACT_NET_UNREACH:
		*code = 0;
		return true;
	case SIM_ACT_PROTO_UNREACH:
		if (v4) {
			*code = 2;
		} else {
			*type = 4; /* parameter problem: unrecognized next header */
			*code = 1;
		}
		return true;
	default:
		return false;
	}
}

struct ctx {
	struct sim_engine *e;
	const struct pkt *p;
	struct walk *w;
	struct rng *r;
	uint64_t now, fwd, back;
	int depth;
	uint8_t buf[2048];
	uint8_t quote[1600];
};

/* The forger's addresses (SIM_FORGER4, SIM_FORGER6) as bytes. */
static const uint8_t forger4[4] = {198, 19, 66, 6};
static const uint8_t forger6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x06, 0x66, 0, 0,
                                    0,    0,    0,    0,    0,    0,    0, 6};

/* Recompute the lengths and checksums of a crafted packet after an edit. */
static void fix_error(int family, uint8_t *b, size_t len)
{
	if (family == AF_INET) {
		p16(b + 2, (uint16_t)len);
		sim_ip4_csum(b);
	} else {
		p16(b + 4, (uint16_t)(len - 40));
	}
	sim_l4_csum(b, len);
}

/* Make packet b come from the forger, checksums fixed. */
static void from_forger(int family, uint8_t *b, size_t len)
{
	if (family == AF_INET)
		memcpy(b + 12, forger4, 4);
	else
		memcpy(b + 8, forger6, 16);
	fix_error(family, b, len);
}

/* Emit b (len bytes, an edited copy of a genuine packet) from the forger. */
static void emit_forged(struct sim_engine *e, int family, uint8_t *b, size_t len, uint64_t at)
{
	from_forger(family, b, len);
	emit(e, b, len, at);
}

/*
 * The genuine error b with its RFC 4884 extension structure made to lie
 * (kind is one SIM_X_EXT* bit), into f. Returns the length, 0 when b has
 * no extension structure to spoil (then only SIM_X_EXT applies).
 */
static size_t spoil_ext(int family, unsigned kind, const uint8_t *b, size_t len, uint8_t *f)
{
	size_t iphl = family == AF_INET ? 20 : 40;
	size_t words = family == AF_INET ? b[iphl + 5] : b[iphl + 4];
	size_t ext = iphl + 8 + words * (family == AF_INET ? 4 : 8);

	memcpy(f, b, len);
	if (kind == SIM_X_EXT) {
		/* The RFC 4884 length field points past the end. */
		f[iphl + (family == AF_INET ? 5 : 4)] = 0xff;
		fix_error(family, f, len);
		return len;
	}
	if (!words || ext + 8 > len)
		return 0;
	if (kind == SIM_X_EXTSUM) {
		f[ext + 2] ^= 0x5a;
	} else {
		/* Object length 0, or longer than what is left of the packet;
		 * the structure's checksum is made right so only the length lies. */
		p16(f + ext + 4, kind == SIM_X_EXT0 ? 0 : (uint16_t)(len - ext - 4 + 4));
		f[ext + 2] = f[ext + 3] = 0;
		uint32_t sum = 0;
		for (size_t i = ext; i < len; i += 2)
			sum += (uint32_t)f[i] << 8 | (i + 1 < len ? f[i + 1] : 0);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		p16(f + ext + 2, (uint16_t)~sum);
	}
	fix_error(family, f, len);
	return len;
}

/*
 * Forged variants of the genuine error b (len bytes) from node n, sent
 * just before it so that they arrive first. Each must be rejected by the
 * tracer; none may turn into a hop, an annotation or a crash. All but the
 * bad-checksum one come from the forger's address, so a forgery accepted
 * by mistake shows as a wrong hop.
 */
static void send_hostile(struct sim_engine *e, const struct sim_node *n, int family,
                         const uint8_t *b, size_t len, uint64_t at)
{
	size_t iphl = family == AF_INET ? 20 : 40;
	size_t q = iphl + 8;                         /* quoted IP header */
	size_t qhl = family == AF_INET ? (size_t)(b[q] & 0x0f) * 4 : 40;
	size_t l4 = q + qhl;                         /* quoted transport header */
	size_t qdst = family == AF_INET ? q + 16 : q + 24;
	size_t qsrc = family == AF_INET ? q + 12 : q + 8;
	size_t alast = family == AF_INET ? 3 : 15;   /* last byte of an address */
	uint8_t qproto = family == AF_INET ? b[q + 9] : b[q + 6];
	uint8_t f[2048];

	if (!len || len > sizeof(f) || l4 + 8 > len)
		return;
	if (n->hostile & SIM_X_BADSUM) {
		memcpy(f, b, len);
		f[iphl + 2] ^= 0x5a;
		emit(e, f, len, at);
	}
	if ((n->hostile & SIM_X_IHL) && family == AF_INET) {
		memcpy(f, b, len);
		f[q] = (uint8_t)((f[q] & 0xf0) | 4);
		emit_forged(e, family, f, len, at);
	}
	if (n->hostile & SIM_X_TLEN) {
		/* A quoted length shorter than the headers the quote shows. */
		memcpy(f, b, len);
		p16(f + q + (family == AF_INET ? 2 : 4), family == AF_INET ? 12 : 4);
		emit_forged(e, family, f, len, at);
	}
	if (n->hostile & SIM_X_PROTO) {
		memcpy(f, b, len);
		f[q + (family == AF_INET ? 9 : 6)] = qproto == IPPROTO_UDP ? IPPROTO_TCP : IPPROTO_UDP;
		emit_forged(e, family, f, len, at);
	}
	if (n->hostile & SIM_X_DST) {
		memcpy(f, b, len);
		f[qdst + alast] ^= 0x01;
		emit_forged(e, family, f, len, at);
	}
	if (n->hostile & SIM_X_OTHERSRC) {
		memcpy(f, b, len);
		f[qsrc + alast] ^= 0x40;
		emit_forged(e, family, f, len, at);
	}
	if (n->hostile & SIM_X_TRUNC) {
		size_t cut = l4 + 4;
		memcpy(f, b, cut);
		f[iphl + (family == AF_INET ? 5 : 4)] = 0; /* no RFC 4884 length */
		emit_forged(e, family, f, cut, at);
	}
	if (n->hostile & SIM_X_IPTRUNC) {
		size_t cut = q + (family == AF_INET ? 12 : 20);
		memcpy(f, b, cut);
		f[iphl + (family == AF_INET ? 5 : 4)] = 0;
		emit_forged(e, family, f, cut, at);
	}
	if (n->hostile & SIM_X_SEQ) {
		/* Every field that can carry a probe's sequence number, flipped
		 * to a probe far out of the range a trace sends. */
		memcpy(f, b, len);
		if (family == AF_INET)
			f[q + 4] ^= 0x40; /* IP ID */
		f[l4 + 6] ^= 0x40;    /* UDP checksum / ICMP sequence / TCP sequence (low) */
		if (l4 + 10 <= len)
			f[l4 + 8] ^= 0x40; /* first payload word */
		emit_forged(e, family, f, len, at);
	}
	if (n->hostile & SIM_X_FLOOD) {
		unsigned nf = n->flood_n ? n->flood_n : SIM_FLOOD_DEFAULT;
		memcpy(f, b, len);
		for (unsigned k = 0; k < nf; k++) {
			f[qdst + alast] = (uint8_t)(b[qdst + alast] + 1 + k % 250);
			f[l4 + 0] = (uint8_t)k; /* another source port */
			f[l4 + 1] = (uint8_t)(k >> 8);
			emit_forged(e, family, f, len, at);
		}
	}
}

/*
 * Hostile variants of a destination's own answer (echo reply, SYN-ACK or
 * RST; b is genuine, len bytes): a wrong checksum, a sequence (echo) or
 * acknowledgement (TCP) never sent, the same answer from the forger, a
 * flood of answers to other flows; and, after it, duplicates.
 */
static void send_hostile_answer(struct sim_engine *e, const struct sim_node *n, int family,
                                const uint8_t *b, size_t len, uint64_t at)
{
	size_t hl = family == AF_INET ? 20 : 40;
	uint8_t proto = family == AF_INET ? b[9] : b[6];
	bool tcp = proto == IPPROTO_TCP, udp = proto == IPPROTO_UDP;
	uint8_t f[2048];

	if (!len || len > sizeof(f) || len < hl + 8 || (tcp && len < hl + 20) ||
	    (udp && len < hl + 10))
		return;
	if (n->hostile & SIM_X_BADSUM) {
		memcpy(f, b, len);
		f[hl + (tcp ? 16 : udp ? 6 : 2)] ^= 0x5a;
		emit(e, f, len, at);
	}
	if (n->hostile & SIM_X_SEQ) {
		memcpy(f, b, len);
		if (tcp || udp)
			f[hl + 8] ^= 0x40; /* acknowledgement number / echoed payload */
		else
			f[hl + 6] ^= 0x40; /* echo sequence */
		fix_error(family, f, len);
		emit(e, f, len, at);
	}
	if (n->hostile & SIM_X_OTHERSRC) {
		memcpy(f, b, len);
		emit_forged(e, family, f, len, at);
	}
	if (n->hostile & SIM_X_FLOOD) {
		unsigned nf = n->flood_n ? n->flood_n : SIM_FLOOD_DEFAULT;
		memcpy(f, b, len);
		for (unsigned k = 0; k < nf; k++) {
			/* Another echo id, or another destination port. */
			f[hl + (tcp || udp ? 2 : 4)] ^= (uint8_t)(1 + k % 255);
			fix_error(family, f, len);
			emit(e, f, len, at);
			memcpy(f, b, len);
		}
	}
}

/* Send an ICMP error from node n (source address src). */
static void send_error(struct ctx *c, const struct sim_node *n, const void *src, uint8_t type,
                       uint8_t code, uint32_t mtu, uint8_t qttl, bool ext)
{
	struct sim_engine *e = c->e;
	uint64_t at = c->now + c->fwd;

	if (!src || n->silent || !(n->answer & proto_bit(c->p->proto)))
		return;
	/* Redirects have their own limit in Linux, not the error bucket. */
	if (type != 5 && !ratelimit_ok((struct sim_bucket *)&n->rl, at)) {
		e->st.dropped_rl++;
		return;
	}
	size_t ql = arrived(c->p, c->w, qttl, c->quote, sizeof(c->quote));
	struct sim_icmp_err pe = {
		.family = c->p->family,
		.type = type,
		.code = code,
		.mtu = mtu,
		.src = src,
		.dst = c->p->src,
		.ttl = (uint8_t)(n->init_ttl > c->depth - 1 ? n->init_ttl - (c->depth - 1) : 1),
		.quote = c->quote,
		.quote_len = ql,
		.quote_l4 = n->quote,
		.ext = ext && (n->nmpls || n->ifinfo) ? n : NULL,
		.ipid = e->ipid++,
	};
	size_t len = sim_craft_icmp_error(&pe, c->buf, sizeof(c->buf));
	uint64_t when = c->now + c->fwd + c->back;

	if (n->hostile)
		send_hostile(e, n, c->p->family, c->buf, len, when);
	if (len && (n->hostile & SIM_X_REPLACE)) {
		/* The genuine error goes out only as one whose extensions lie. */
		uint8_t f[2048];
		for (unsigned k = SIM_X_EXT; k <= SIM_X_EXTSUM; k <<= 1) {
			size_t fl;
			if ((n->hostile & k & SIM_X_REPLACE) && len <= sizeof(f) &&
			    (fl = spoil_ext(c->p->family, k, c->buf, len, f)))
				emit(e, f, fl, when);
		}
	} else if (len) {
		emit(e, c->buf, len, when);
	}
	if (len && (n->hostile & SIM_X_DUP))
		emit(e, c->buf, len, when + 1);
	if (len && (n->hostile & SIM_X_LATE))
		emit(e, c->buf, len, when + 3000000);
}

/* Node n answers as the destination `dst` would (n == dst unless fake). */
static void dest_answer(struct ctx *c, const struct sim_node *n, const struct sim_node *dst)
{
	const struct pkt *p = c->p;
	enum sim_act a;
	uint8_t type, code;
	uint8_t ttl = (uint8_t)(dst->init_ttl > c->depth - 1 ? dst->init_ttl - (c->depth - 1) : 1);
	const void *src = node_addr(dst, p->family);
	/* The remaining TTL is what a host quotes. */
	uint8_t qttl = c->w->ttl;

	switch (p->proto) {
	case IPPROTO_UDP:
		a = dst->act_udp ? dst->act_udp : SIM_ACT_PORT_UNREACH;
		break;
	case IPPROTO_TCP:
		a = dst->act_tcp ? dst->act_tcp : SIM_ACT_RST;
		break;
	default:
		a = dst->act_icmp ? dst->act_icmp : SIM_ACT_ECHO;
		break;
	}
	if (a == SIM_ACT_SILENT)
		return;
	if (act_icmp(a, p->family, &type, &code)) {
		send_error(c, n, src, type, code, 0, qttl, false);
		return;
	}
	size_t len = 0;
	if (a == SIM_ACT_DNS && p->proto == IPPROTO_UDP) {
		/* Like BIND, Unbound and dnsmasq: a datagram whose flags say it
		 * is a response (QR) is dropped unanswered. */
		size_t hl = p->family == AF_INET ? (size_t)(p->b[0] & 0x0f) * 4 : 40;
		if (p->len < hl + 8 + 3 || (p->b[hl + 8 + 2] & 0x80))
			return;
	}
	if (a == SIM_ACT_ECHO && (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6))
		len = sim_craft_echo_reply(p->b, p->len, ttl, c->e->ipid++, c->buf, sizeof(c->buf));
	else if ((a == SIM_ACT_ECHO || a == SIM_ACT_DNS) && p->proto == IPPROTO_UDP)
		len = sim_craft_udp_reply(p->b, p->len, a == SIM_ACT_DNS ? 2 : SIZE_MAX, ttl,
		                          c->e->ipid++, c->buf, sizeof(c->buf));
	else if ((a == SIM_ACT_SYNACK || a == SIM_ACT_RST) && p->proto == IPPROTO_TCP)
		len = sim_craft_tcp_reply(p->b, p->len, a == SIM_ACT_SYNACK, (uint32_t)rnext(c->r),
		                          ttl, c->e->ipid++, c->buf, sizeof(c->buf));
	if (len && p->family == AF_INET && src)
		memcpy(c->buf + 12, src, 4), sim_ip4_csum(c->buf), sim_l4_csum(c->buf, len);
	else if (len && src)
		memcpy(c->buf + 8, src, 16), sim_l4_csum(c->buf, len);
	uint64_t when = c->now + c->fwd + c->back;
	if (len && p->proto == IPPROTO_TCP &&
	    !ct_answer(c->e, c->w, c->now + c->fwd, c->back, a == SIM_ACT_RST)) {
		c->e->st.dropped_ct++;
		return;
	}
	if (n->hostile)
		send_hostile_answer(c->e, n, p->family, c->buf, len, when);
	emit(c->e, c->buf, len, when);
	if (len && (n->hostile & SIM_X_DUP))
		emit(c->e, c->buf, len, when + 1);
	if (len && (n->hostile & SIM_X_LATE))
		emit(c->e, c->buf, len, when + 3000000);
}

/* Where a probe is going: a node, or a family member, which hangs off
 * the routers par[0..npar). */
struct dest {
	int node;
	int npar;
	int par[SIM_MAX_NEXT + 1];
};

static bool leads_to(const struct sim_scenario *sc, int x, const struct dest *d)
{
	const uint8_t *r = sc->reach + (size_t)x * (size_t)sc->nnodes;
	if (d->node >= 0)
		return x == d->node || r[d->node];
	for (int i = 0; i < d->npar; i++)
		if (x == d->par[i] || r[d->par[i]])
			return true;
	return false;
}

static int pick_next(struct sim_engine *e, struct sim_node *n, const struct pkt *p,
                     const struct walk *w, const struct dest *target, uint64_t now)
{
	const struct sim_scenario *sc = e->sc;
	const int *nx = n->next;
	int nn = n->nnext;
	int cand[SIM_MAX_NEXT], nc = 0;

	if ((n->change_probes && e->nprobes > n->change_probes) ||
	    (n->change_us && now >= n->change_us)) {
		nx = n->next2;
		nn = n->nnext2;
	}
	for (int i = 0; i < nn; i++)
		if (leads_to(sc, nx[i], target))
			cand[nc++] = nx[i];
	if (nc == 0) {
		/* Nothing leads to the target: follow the routes anyway, which
		 * is how a routing loop or a black hole behaves. */
		for (int i = 0; i < nn; i++)
			cand[nc++] = nx[i];
	}
	if (nc == 0)
		return -1;
	if (nc == 1)
		return cand[0];
	if (n->lb == SIM_LB_PACKET)
		return cand[n->rr++ % (unsigned)nc];

	size_t alen = p->family == AF_INET ? 4 : 16;
	uint64_t h = 0xcbf29ce484222325ULL ^ sim_mix(sc->seed + (uint64_t)(n - sc->nodes));
	if (n->hash & SIM_H_SRC)
		h = hash_bytes(h, w->natted ? w->nsrc : p->src, alen);
	if (n->hash & SIM_H_DST)
		h = hash_bytes(h, p->dst, alen);
	if (n->hash & SIM_H_PROTO)
		h = hash_bytes(h, &p->proto, 1);
	if (n->hash & SIM_H_PORTS) {
		uint8_t b[4];
		memcpy(b, p->l4, 4);
		if (w->natted && p->proto != IPPROTO_ICMP && p->proto != IPPROTO_ICMPV6)
			p16(b, w->nport);
		h = hash_bytes(h, b, 4);
	}
	if (n->hash & SIM_H_FLOWLABEL) {
		uint8_t b[4] = {0, (uint8_t)(p->flowlabel >> 16), (uint8_t)(p->flowlabel >> 8),
		                (uint8_t)p->flowlabel};
		h = hash_bytes(h, b, 4);
	}
	if (n->hash & SIM_H_TOS)
		h = hash_bytes(h, &w->tos, 1);
	if (n->hash & SIM_H_L4CSUM) {
		uint8_t b[2];
		p16(b, w->natted ? w->l4csum : g16(p->l4 + l4csum_off(p->proto)));
		h = hash_bytes(h, b, 2);
		if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6)
			h = hash_bytes(h, p->l4 + 4, 2); /* echo id */
	}
	return cand[sim_mix(h) % (uint64_t)nc];
}

int sim_engine_input(struct sim_engine *e, const uint8_t *b, size_t len, uint64_t now)
{
	struct sim_scenario *sc = e->sc;
	struct pkt p;
	struct walk w;
	struct rng r;
	struct ctx *c;
	static __thread struct ctx cbuf;

	if (parse_probe(&p, b, len)) {
		e->st.other++;
		return 0;
	}
	/* DNS questions to the simulated resolver are answered directly. */
	if (sc->dns && p.family == AF_INET && p.proto == IPPROTO_UDP &&
	    memcmp(p.dst, &sc->dns4, 4) == 0 && g16(p.l4 + 2) == 53) {
		uint8_t out[1500];
		size_t n = sim_dns_reply(sc, p.b, p.len, out, sizeof(out));
		e->st.dns++;
		emit(e, out, n, now + 200);
		return 0;
	}
	e->nprobes++;
	e->st.probes++;
	if (e->record)
		record(e, &p, now);

	r.s = sim_mix(sc->seed ^ (e->nprobes * 0xd1342543de82ef95ULL));
	memset(&w, 0, sizeof(w));
	w.ttl = p.ttl;
	w.tos = p.tos;
	memcpy(w.nsrc, p.src, p.family == AF_INET ? 4 : 16);
	w.nport = g16(p.l4);
	w.l4csum = g16(p.l4 + l4csum_off(p.proto));

	struct sim_target tg;
	struct dest dst;
	/* A family member is made from its family's template for this probe;
	 * its rate limit bucket is its own and is copied back afterwards. */
	static __thread struct sim_node member;
	struct sim_bucket *member_rl = NULL;
	struct sim_node *tnode;

	if (!sim_lookup(sc, p.family, p.dst, &tg))
		return 0; /* no such host: a black hole */
	dst.node = tg.node;
	dst.npar = 0;
	if (tg.fam >= 0) {
		sim_family_member(sc, tg.fam, tg.member, &member);
		dst.npar = sim_family_parents(sc, tg.fam, tg.member, dst.par);
		if (sc->fam[tg.fam].rl) {
			member_rl = &sc->fam[tg.fam].rl[tg.member];
			member.rl = *member_rl;
		}
		tnode = &member;
	} else {
		tnode = &sc->nodes[tg.node];
	}

	c = &cbuf;
	c->e = e;
	c->p = &p;
	c->w = &w;
	c->r = &r;
	c->now = now;
	c->fwd = c->back = 0;
	c->depth = 0;

	int cur = SIM_PROBER;
	while (c->depth < 512) {
		bool at_target = false;
		int nx = -1;
		/* A family member is one step past any router it hangs off. */
		for (int i = 0; i < dst.npar; i++)
			if (cur == dst.par[i])
				at_target = true;
		if (!at_target) {
			nx = pick_next(e, &sc->nodes[cur], &p, &w, &dst, now);
			if (nx < 0)
				return 0;
			at_target = nx == dst.node;
		}
		struct sim_node *n = at_target ? tnode : &sc->nodes[nx];
		cur = nx;
		c->depth++;
		int64_t f = (int64_t)n->delay_us + rjitter(&r, n->jitter_us);
		int64_t bk = (int64_t)n->delay_us + rjitter(&r, n->jitter_us);
		c->fwd += f > 0 ? (uint64_t)f : 0;
		c->back += bk > 0 ? (uint64_t)bk : 0;
		if (n->loss > 0 && runif(&r) < n->loss) {
			e->st.dropped_loss++;
			return 0;
		}
		bool rlost = n->rloss > 0 && runif(&r) < n->rloss;
		if (at_target) {
			if (rlost)
				return 0;
			dest_answer(c, n, n);
			if (member_rl)
				*member_rl = member.rl;
			return 0;
		}
		const void *src = node_addr(n, p.family);
		uint8_t type, code;
		/* Like Linux, the route lookup comes first: an unreachable
		 * answer wins over an expiring TTL. */
		if (act_icmp(n->unreach, p.family, &type, &code)) {
			if (!rlost)
				send_error(c, n, src, type, code, 0, w.ttl, false);
			return 0;
		}
		if (w.ttl <= 1) {
			if (rlost)
				return 0;
			if (n->fake_dest) {
				dest_answer(c, n, tnode);
				return 0;
			}
			uint8_t qt = n->qttl >= 0 ? (uint8_t)n->qttl : w.ttl;
			/* A slow control plane: its time-exceeded leaves late. */
			c->back += n->late_us;
			send_error(c, n, src, p.family == AF_INET ? 11 : 3, 0, 0, qt, true);
			return 0;
		}
		if (n->mtu && p.len > n->mtu && p.df) {
			if (!rlost)
				send_error(c, n, src, p.family == AF_INET ? 3 : 2,
				           p.family == AF_INET ? 4 : 0, n->mtu, w.ttl, false);
			return 0;
		}
		if (n->redirect && p.family == AF_INET && !rlost)
			send_error(c, n, src, 5, 1, 0, w.ttl, false);
		w.ttl--;
		if (n->tos >= 0)
			w.tos = (uint8_t)n->tos;
		if (n->nat) {
			if (n->conntrack && p.proto == IPPROTO_TCP)
				ct_pass(e, &w, &p, nx, now + c->fwd, c->back);
			do_nat(&w, &p, n);
		}
	}
	return 0;
}

size_t sim_flood_packet(const struct sim_scenario *sc, int family, uint64_t i, uint8_t *out,
                        size_t cap)
{
	uint64_t r = sim_mix(sc->seed ^ (i * 0x9e3779b97f4a7c15ULL) ^ 0xf100dULL);
	bool v4 = family == AF_INET;
	uint8_t probe[64], other[16], from[16];
	size_t hl = v4 ? 20 : 40;
	const uint8_t *me = v4 ? (const uint8_t *)&sc->prober4 : sc->prober6.s6_addr;
	unsigned kind = (unsigned)(r >> 56) % 3;
	bool quote = v4 ? sc->flood_has_quote4 : sc->flood_has_quote6;

	if (cap < 1280 || !(v4 ? sc->has4 : sc->has6))
		return 0;
	/* Far ends no trace goes to: 198.19.0.0/16 past .66, 2001:db8:ff::/48. */
	if (v4) {
		other[0] = 198, other[1] = 19, other[2] = (uint8_t)(100 + (r >> 8) % 150),
		other[3] = (uint8_t)(1 + (r >> 16) % 254);
		from[0] = 198, from[1] = 19, from[2] = (uint8_t)(100 + (r >> 24) % 150),
		from[3] = (uint8_t)(1 + (r >> 32) % 254);
	} else {
		static const uint8_t pfx[6] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0xff};
		memcpy(other, pfx, 6), memcpy(from, pfx, 6);
		for (int k = 6; k < 16; k++) {
			other[k] = (uint8_t)(r >> (k * 3));
			from[k] = (uint8_t)(r >> (k * 3 + 1));
		}
	}
	if (quote) {
		/* Errors about probes to the trace's destination, from
		 * elsewhere (kind 0) or from the destination itself (kind 1). */
		kind %= 2;
		if (v4)
			memcpy(other, &sc->flood_quote4, 4);
		else
			memcpy(other, sc->flood_quote6.s6_addr, 16);
	}
	if (kind == 2) {
		/* An echo reply from somebody we never pinged. */
		size_t l4 = 8 + 32;
		memset(out, 0, hl + l4);
		if (v4) {
			out[0] = 0x45, out[8] = 60, out[9] = IPPROTO_ICMP;
			memcpy(out + 12, from, 4), memcpy(out + 16, me, 4);
		} else {
			out[0] = 0x60, out[6] = IPPROTO_ICMPV6, out[7] = 60;
			memcpy(out + 8, from, 16), memcpy(out + 24, me, 16);
		}
		out[hl] = v4 ? 0 : 129;
		p16(out + hl + 4, (uint16_t)(r >> 20));
		p16(out + hl + 6, (uint16_t)(r >> 4));
		fix_error(family, out, hl + l4);
		return hl + l4;
	}
	/* A UDP packet of ours to somewhere else, quoted by a time exceeded
	 * (kind 0) or a port unreachable from that somewhere (kind 1). */
	size_t plen = hl + 8 + 12;
	memset(probe, 0, plen);
	if (v4) {
		probe[0] = 0x45, probe[8] = 1, probe[9] = IPPROTO_UDP;
		memcpy(probe + 12, me, 4), memcpy(probe + 16, other, 4);
	} else {
		probe[0] = 0x60, probe[6] = IPPROTO_UDP, probe[7] = 1;
		memcpy(probe + 8, me, 16), memcpy(probe + 24, other, 16);
	}
	p16(probe + hl, (uint16_t)(1024 + (r >> 40) % 60000));
	p16(probe + hl + 2, (uint16_t)(33434 + (r >> 48) % 100));
	fix_error(family, probe, plen);
	struct sim_icmp_err pe = {
		.family = family,
		.type = kind == 0 ? (v4 ? 11 : 3) : (v4 ? 3 : 1),
		.code = kind == 0 ? 0 : (v4 ? 3 : 4),
		.src = kind == 0 ? (const void *)from : (const void *)other,
		.dst = me,
		.ttl = 250,
		.quote = probe,
		.quote_len = plen,
		.ipid = (uint16_t)r,
	};
	return sim_craft_icmp_error(&pe, out, cap);
}
