/*
 * The distance table: for each IPv4 /24 and IPv6 /48, the largest distance
 * (in hops) a trace from this vantage point has proven to a destination in
 * it. A batch trace whose destination has such neighbours sends its
 * distance probe at that TTL instead of max_ttl (FlashRoute, Huang et al.,
 * IMC 2020, predicts a /24's distance from its neighbours' the same way).
 *
 * Why the largest: a prediction that is too long costs what no prediction
 * costs (the probe goes past the destination like a max_ttl distance probe
 * and its reply TTL gives the distance), one that is too short costs a
 * round trip per missing hop. Why /24 and /48: the smallest prefixes
 * routed between networks, inside which hosts nearly always share their
 * last router; a /64 would be one link, but target lists rarely hold two
 * addresses of one /64.
 *
 * Bounded: a set-associative hash table of 8-byte slots, 8 ways a set,
 * doubling while more than half full up to a fixed number of slots; a
 * full set then drops its oldest entry. A list of millions of targets
 * streamed through a batch keeps the prefixes it traced last. The hash is
 * keyed (the distances come from the network).
 */
#include "hoptrace/hoptrace.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define WAYS 8
#define KEY_MASK ((UINT64_C(1) << 56) - 1)
#define DIST_SHIFT 56

struct ht_distmap {
	uint64_t *t;    /* slots: 0 empty, else distance << 56 | key */
	size_t cap;     /* slots, a power of two, at least WAYS */
	size_t limit;   /* cap never grows beyond this */
	size_t n;
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

/* The prefix of a as a key: family in bits 48-49 (never 0), prefix below. */
static bool key_of(const ht_addr *a, uint64_t *k)
{
	if (a->family == AF_INET) {
		*k = UINT64_C(1) << 48 | ntohl(a->u.v4.s_addr) >> (32 - HT_DISTMAP_PREFIX4);
		return true;
	}
	if (a->family == AF_INET6) {
		uint64_t p = 0;

		for (int i = 0; i < HT_DISTMAP_PREFIX6 / 8; i++)
			p = p << 8 | a->u.v6.s6_addr[i];
		*k = UINT64_C(2) << 48 | p;
		return true;
	}
	return false;
}

static uint64_t *set_of(const struct ht_distmap *dm, uint64_t k)
{
	size_t sets = dm->cap / WAYS;

	return &dm->t[(size_t)(mix(k ^ dm->key) & (sets - 1)) * WAYS];
}

/* Put k with distance d into its set (k not there): the first empty way,
 * or, the set full, in place of the oldest (way 0). 1: a new entry; 0: one
 * was dropped for it. */
static int put(struct ht_distmap *dm, uint64_t k, int d)
{
	uint64_t *set = set_of(dm, k);

	for (int w = 0; w < WAYS; w++)
		if (!set[w]) {
			set[w] = (uint64_t)d << DIST_SHIFT | k;
			return 1;
		}
	memmove(set, set + 1, (WAYS - 1) * sizeof(*set));
	set[WAYS - 1] = (uint64_t)d << DIST_SHIFT | k;
	return 0;
}

int ht_distmap_new(struct ht_distmap **out, size_t max_entries, uint64_t key)
{
	struct ht_distmap *dm;
	size_t limit = 64;

	*out = NULL;
	if (max_entries == 0)
		max_entries = HT_DISTMAP_DEFAULT_MAX;
	if (max_entries > HT_DISTMAP_LIMIT)
		return -EINVAL;
	while (limit < max_entries)
		limit *= 2;
	dm = calloc(1, sizeof(*dm));
	if (!dm)
		return -ENOMEM;
	dm->cap = 64;
	dm->limit = limit;
	dm->key = key;
	dm->t = calloc(dm->cap, sizeof(*dm->t));
	if (!dm->t) {
		free(dm);
		return -ENOMEM;
	}
	*out = dm;
	return 0;
}

void ht_distmap_free(struct ht_distmap *dm)
{
	if (!dm)
		return;
	free(dm->t);
	free(dm);
}

static int grow(struct ht_distmap *dm)
{
	uint64_t *old = dm->t;
	size_t ocap = dm->cap;

	dm->t = calloc(ocap * 2, sizeof(*dm->t));
	if (!dm->t) {
		dm->t = old;
		return -ENOMEM;
	}
	dm->cap = ocap * 2;
	dm->n = 0;
	/* Way by way, oldest first, so each set keeps its order. */
	for (size_t i = 0; i < ocap; i++)
		if (old[i])
			dm->n += (size_t)put(dm, old[i] & KEY_MASK, (int)(old[i] >> DIST_SHIFT));
	free(old);
	return 0;
}

int ht_distmap_learn(struct ht_distmap *dm, const ht_addr *a, int distance)
{
	uint64_t k, *set;

	if (!key_of(a, &k) || distance < 1 || distance > HT_MAX_TTL)
		return -EINVAL;
	set = set_of(dm, k);
	for (int w = 0; w < WAYS; w++)
		if (set[w] && (set[w] & KEY_MASK) == k) {
			if ((int)(set[w] >> DIST_SHIFT) >= distance)
				return 0;
			set[w] = (uint64_t)distance << DIST_SHIFT | k;
			return 1;
		}
	if ((dm->n + 1) * 2 > dm->cap && dm->cap < dm->limit) {
		int rc = grow(dm);
		if (rc < 0)
			return rc;
	}
	dm->n += (size_t)put(dm, k, distance);
	return 1;
}

int ht_distmap_predict(const struct ht_distmap *dm, const ht_addr *a)
{
	const uint64_t *set;
	uint64_t k;

	if (!dm || !key_of(a, &k))
		return 0;
	set = set_of(dm, k);
	for (int w = 0; w < WAYS; w++)
		if (set[w] && (set[w] & KEY_MASK) == k)
			return (int)(set[w] >> DIST_SHIFT);
	return 0;
}

size_t ht_distmap_count(const struct ht_distmap *dm)
{
	return dm->n;
}
