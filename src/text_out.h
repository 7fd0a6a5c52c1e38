/* The classic traceroute text layout. */
#ifndef HT_TEXT_OUT_H
#define HT_TEXT_OUT_H

#include "hoptrace/hoptrace.h"

#include <stdbool.h>
#include <stdio.h>

/* Returns the (sanitised) name of an address, or NULL to print it numerically. */
typedef const char *(*ht_name_fn)(void *u, const ht_addr *a);

struct ht_text_out {
	FILE *out;
	bool numeric;      /* -n: addresses only */
	bool extensions;   /* -e: MPLS labels and interface information */
	ht_name_fn name;
	void *name_u;
};

/* "hoptrace to NAME (ADDR), 30 hops max, 60 byte packets" */
void ht_text_header(const struct ht_text_out *t, const char *target, const ht_addr *dst,
                    int max_ttl, size_t packet_len);
/* " 3  name (addr)  1.234 ms  1.301 ms !H *" */
void ht_text_hop(const struct ht_text_out *t, const struct ht_hop *h);
/* After the last hop: one line naming the replies that ICMP rate limiting
 * suppressed, when there are any, so their `*` do not read as loss:
 * "note: 5 of the * (hops 9-13) are ICMP rate limiting, not loss: ..." */
void ht_text_note(const struct ht_text_out *t, const ht_session *s);

#endif
