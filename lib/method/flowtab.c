/*
 * The flow table: from a received packet to the trace it answers, in O(1)
 * whatever the number of traces in flight. Every concurrent trace on one
 * socket has a flow identity of its own (destination, and source port or
 * echo id: lib/io gives each trace fresh ones), and every probe carries it
 * in the part of the packet a reply quotes or echoes. ht_rx_flow_key()
 * reads that identity from a parsed reply; this table maps it to the
 * trace. The trace's own flow then decides (ht_rx_identify: sequence
 * number, run tag, checksum witnesses), so a key that is found is still
 * no more than a candidate.
 *
 * Open addressing with linear probing over a power-of-two array, at most
 * half full; deleted entries leave tombstones that the next growth or
 * rebuild sweeps away.
 */
#include "method/method.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	struct ht_flow_key key;
	void *user;
	uint8_t state; /* 0 empty, 1 used, 2 deleted */
};

struct ht_flowtab {
	struct slot *s;
	size_t cap, used, dead;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h;
}

static uint64_t key_hash(const struct ht_flow_key *k)
{
	uint64_t h = (uint64_t)k->family << 8 | (uint64_t)k->method;
	uint32_t w[4] = {0};

	if (k->family == AF_INET)
		memcpy(w, &k->dst.u.v4, 4);
	else
		memcpy(w, &k->dst.u.v6, 16);
	for (int i = 0; i < 4; i++)
		h = mix(h, w[i]);
	h = mix(h, k->method == HT_METHOD_ICMP ? k->icmp_id : k->sport);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static bool key_equal(const struct ht_flow_key *a, const struct ht_flow_key *b)
{
	if (a->family != b->family || a->method != b->method)
		return false;
	if (a->method == HT_METHOD_ICMP ? a->icmp_id != b->icmp_id : a->sport != b->sport)
		return false;
	return ht_addr_equal(&a->dst, &b->dst);
}

/* The part of a key that names a flow: the other id field is cleared. */
static struct ht_flow_key norm(const struct ht_flow_key *k)
{
	struct ht_flow_key n = {.family = k->family, .method = k->method, .dst = k->dst};

	if (k->method == HT_METHOD_ICMP)
		n.icmp_id = k->icmp_id;
	else
		n.sport = k->sport;
	return n;
}

int ht_flowtab_new(ht_flowtab **out)
{
	ht_flowtab *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return -ENOMEM;
	t->cap = 64;
	t->s = calloc(t->cap, sizeof(*t->s));
	if (!t->s) {
		free(t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

void ht_flowtab_free(ht_flowtab *t)
{
	if (!t)
		return;
	free(t->s);
	free(t);
}

static struct slot *find(const ht_flowtab *t, const struct ht_flow_key *k)
{
	size_t mask = t->cap - 1, i = (size_t)key_hash(k) & mask;

	for (size_t n = 0; n < t->cap; n++, i = (i + 1) & mask) {
		struct slot *s = &t->s[i];
		if (s->state == 0)
			return NULL;
		if (s->state == 1 && key_equal(&s->key, k))
			return s;
	}
	return NULL;
}

static int rehash(ht_flowtab *t, size_t ncap)
{
	struct slot *old = t->s;
	size_t ocap = t->cap;

	t->s = calloc(ncap, sizeof(*t->s));
	if (!t->s) {
		t->s = old;
		return -ENOMEM;
	}
	t->cap = ncap;
	t->used = 0;
	t->dead = 0;
	for (size_t i = 0; i < ocap; i++) {
		if (old[i].state != 1)
			continue;
		size_t mask = ncap - 1, j = (size_t)key_hash(&old[i].key) & mask;
		while (t->s[j].state)
			j = (j + 1) & mask;
		t->s[j] = old[i];
		t->used++;
	}
	free(old);
	return 0;
}

int ht_flowtab_add(ht_flowtab *t, const struct ht_flow_key *key, void *user)
{
	struct ht_flow_key k = norm(key);
	size_t mask, i;
	int rc;

	if (find(t, &k))
		return -EEXIST;
	if ((t->used + t->dead + 1) * 2 > t->cap) {
		size_t ncap = (t->used + 1) * 4 > t->cap ? t->cap * 2 : t->cap;
		if ((rc = rehash(t, ncap)) < 0)
			return rc;
	}
	mask = t->cap - 1;
	i = (size_t)key_hash(&k) & mask;
	while (t->s[i].state == 1)
		i = (i + 1) & mask;
	if (t->s[i].state == 2)
		t->dead--;
	t->s[i] = (struct slot){.key = k, .user = user, .state = 1};
	t->used++;
	return 0;
}

int ht_flowtab_del(ht_flowtab *t, const struct ht_flow_key *key)
{
	struct ht_flow_key k = norm(key);
	struct slot *s = find(t, &k);

	if (!s)
		return -ENOENT;
	s->state = 2;
	s->user = NULL;
	t->used--;
	t->dead++;
	return 0;
}

void *ht_flowtab_get(const ht_flowtab *t, const struct ht_flow_key *key)
{
	struct ht_flow_key k = norm(key);
	struct slot *s = find(t, &k);

	return s ? s->user : NULL;
}

size_t ht_flowtab_count(const ht_flowtab *t)
{
	return t->used;
}

/* Every key a flow's probes carry: its echo id (ICMP), or each source port
 * it sends from (one per query column for flow-stable TCP, one per probe
 * for classic TCP, else one). */
int ht_flow_keys(const struct ht_flow *f, int nprobes, struct ht_flow_key *keys, int max)
{
	int n = 1;

	if (max < 1)
		return -ENOSPC;
	keys[0] = (struct ht_flow_key){.family = f->family, .method = f->method, .dst = f->dst};
	if (f->method == HT_METHOD_ICMP) {
		keys[0].icmp_id = f->icmp_id;
		return 1;
	}
	keys[0].sport = f->sport;
	if (f->method == HT_METHOD_TCP)
		n = f->classic ? nprobes : (f->ncols > 1 ? f->ncols : 1);
	if (n > max)
		return -ENOSPC;
	for (int i = 1; i < n; i++) {
		keys[i] = keys[0];
		keys[i].sport = (uint16_t)(f->sport + i);
	}
	return n;
}
