/*
 * The stop set: Doubletree's local stop set (Donnet et al., "Efficient
 * algorithms for large-scale topology discovery", SIGMETRICS 2005). A
 * trace probing backward from its start TTL stops below the first hop whose
 * address an earlier trace from this vantage point already saw: the path
 * from here to that router is a tree, and it has been traced.
 *
 * An open-addressing hash set (linear probing) of addresses, kept at most
 * half full, doubling from 64 slots up to the bound; a full set refuses new
 * addresses rather than evicting (what it holds still stops traces). The
 * hash is keyed: the addresses come from the network, and an unkeyed hash
 * would let a hostile path choose addresses that all collide.
 */
#include "hoptrace/hoptrace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct slot {
	uint8_t used;
	uint8_t family; /* 4 or 6 */
	uint8_t a[16];  /* IPv4: 4 bytes, the rest zero */
};

struct ht_stopset {
	struct slot *t;
	size_t cap;     /* a power of two */
	size_t n;
	size_t max;
	uint64_t key;
};

static uint64_t mix(uint64_t x)
{
	/* splitmix64's finaliser */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* The address as a slot key; false for family 0 (or unknown). */
static bool to_slot(const ht_addr *a, struct slot *s)
{
	memset(s, 0, sizeof(*s));
	s->used = 1;
	if (a->family == AF_INET) {
		s->family = 4;
		memcpy(s->a, &a->u.v4, 4);
	} else if (a->family == AF_INET6) {
		s->family = 6;
		memcpy(s->a, &a->u.v6, 16);
	} else {
		return false;
	}
	return true;
}

static size_t hash(const struct ht_stopset *ss, const struct slot *k)
{
	uint64_t w0, w1;

	memcpy(&w0, k->a, 8);
	memcpy(&w1, k->a + 8, 8);
	return (size_t)mix(mix(w0 ^ ss->key) ^ w1 ^ ((uint64_t)k->family << 56)) & (ss->cap - 1);
}

static bool same(const struct slot *x, const struct slot *y)
{
	return x->family == y->family && memcmp(x->a, y->a, sizeof(x->a)) == 0;
}

/* The slot holding k, or the empty slot where it would go. */
static struct slot *find(const struct ht_stopset *ss, const struct slot *k)
{
	size_t i = hash(ss, k);

	while (ss->t[i].used && !same(&ss->t[i], k))
		i = (i + 1) & (ss->cap - 1);
	return &ss->t[i];
}

int ht_stopset_new(struct ht_stopset **out, size_t max_entries, uint64_t key)
{
	struct ht_stopset *ss;

	*out = NULL;
	if (max_entries == 0)
		max_entries = HT_STOPSET_DEFAULT_MAX;
	if (max_entries > HT_STOPSET_LIMIT)
		return -EINVAL;
	ss = calloc(1, sizeof(*ss));
	if (!ss)
		return -ENOMEM;
	ss->cap = 64;
	ss->max = max_entries;
	ss->key = key;
	ss->t = calloc(ss->cap, sizeof(*ss->t));
	if (!ss->t) {
		free(ss);
		return -ENOMEM;
	}
	*out = ss;
	return 0;
}

void ht_stopset_free(struct ht_stopset *ss)
{
	if (!ss)
		return;
	free(ss->t);
	free(ss);
}

static int grow(struct ht_stopset *ss)
{
	struct slot *old = ss->t;
	size_t ocap = ss->cap;

	ss->t = calloc(ocap * 2, sizeof(*ss->t));
	if (!ss->t) {
		ss->t = old;
		return -ENOMEM;
	}
	ss->cap = ocap * 2;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].used)
			*find(ss, &old[i]) = old[i];
	free(old);
	return 0;
}

int ht_stopset_add(struct ht_stopset *ss, const ht_addr *a)
{
	struct slot k, *s;
	int rc;

	if (!to_slot(a, &k))
		return -EINVAL;
	s = find(ss, &k);
	if (s->used)
		return 0;
	if (ss->n >= ss->max)
		return -ENOSPC;
	if ((ss->n + 1) * 2 > ss->cap) {
		rc = grow(ss);
		if (rc < 0)
			return rc;
		s = find(ss, &k);
	}
	*s = k;
	ss->n++;
	return 1;
}

bool ht_stopset_has(const struct ht_stopset *ss, const ht_addr *a)
{
	struct slot k;

	if (!to_slot(a, &k))
		return false;
	return find(ss, &k)->used;
}

size_t ht_stopset_count(const struct ht_stopset *ss)
{
	return ss->n;
}
