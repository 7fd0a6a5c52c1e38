/*
 * The classic layout, as Debian's traceroute prints it: the TTL, then for
 * each probe the address (and name) whenever it differs from the previous
 * reply on the line, the RTT with three decimals, an annotation, or `*`.
 */
#include "text_out.h"

#include <inttypes.h>
#include <string.h>

void ht_text_header(const struct ht_text_out *t, const char *target, const ht_addr *dst,
                    int max_ttl, size_t packet_len)
{
	char addr[INET6_ADDRSTRLEN];
	char name[256];

	ht_sanitize(name, sizeof(name), target, strlen(target));
	fprintf(t->out, "hoptrace to %s (%s), %d hops max, %zu byte packets\n", name,
	        ht_addr_str(dst, addr, sizeof(addr)), max_ttl, packet_len);
	fflush(t->out);
}

static void print_ext(const struct ht_text_out *t, const struct ht_reply *r)
{
	char addr[INET6_ADDRSTRLEN];

	if (r->n_mpls) {
		fputs(" <MPLS:", t->out);
		for (int i = 0; i < r->n_mpls; i++)
			fprintf(t->out, "%sL=%" PRIu32 ",E=%u,S=%u,T=%u", i ? "/" : "",
			        r->mpls[i].label, r->mpls[i].tc, r->mpls[i].s, r->mpls[i].ttl);
		fputc('>', t->out);
	}
	if (r->has_ifinfo) {
		fputs(" <INC:", t->out);
		bool sep = false;
		if (r->if_index) {
			fprintf(t->out, "index=%" PRIu32, r->if_index);
			sep = true;
		}
		if (r->if_addr.family) {
			fprintf(t->out, "%saddr=%s", sep ? "," : "",
			        ht_addr_str(&r->if_addr, addr, sizeof(addr)));
			sep = true;
		}
		if (r->if_name[0]) {
			fprintf(t->out, "%sname=%s", sep ? "," : "", r->if_name);
			sep = true;
		}
		if (r->if_mtu)
			fprintf(t->out, "%smtu=%" PRIu32, sep ? "," : "", r->if_mtu);
		fputc('>', t->out);
	}
}

void ht_text_hop(const struct ht_text_out *t, const struct ht_hop *h)
{
	const ht_addr *prev = NULL;
	char addr[INET6_ADDRSTRLEN];
	char ann[32];

	fprintf(t->out, "%2d ", h->ttl);
	if (h->skipped) {
		/* A batch's stop set: earlier traces from here went through
		 * the hop after this one, so this one was not probed again. */
		fputs(" (not probed: on an earlier trace's path)\n", t->out);
		return;
	}
	for (int k = 0; k < h->nprobes; k++) {
		const struct ht_probe *p = &h->probes[k];
		const struct ht_reply *r = &p->reply;

		if (p->state != HT_PROBE_REPLIED) {
			fputs(" *", t->out);
			continue;
		}
		if (!prev || !ht_addr_equal(prev, &r->from)) {
			const char *name = NULL;
			ht_addr_str(&r->from, addr, sizeof(addr));
			if (!t->numeric && t->name)
				name = t->name(t->name_u, &r->from);
			if (t->numeric)
				fprintf(t->out, " %s", addr);
			else
				fprintf(t->out, " %s (%s)", name ? name : addr, addr);
			if (t->extensions)
				print_ext(t, r);
			prev = &r->from;
		}
		fprintf(t->out, "  %u.%03u ms", p->rtt_us / 1000, p->rtt_us % 1000);
		ht_annot_str(r, ann, sizeof(ann));
		if (ann[0])
			fprintf(t->out, " %s", ann);
	}
	fputc('\n', t->out);
	fflush(t->out);
}

/* "1-8, 10" from the TTLs in order. */
static size_t add_range(char *buf, size_t used, size_t len, int lo, int hi, bool first)
{
	int n;

	if (used >= len)
		return used;
	if (lo == hi)
		n = snprintf(buf + used, len - used, "%s%d", first ? "" : ", ", lo);
	else
		n = snprintf(buf + used, len - used, "%s%d-%d", first ? "" : ", ", lo, hi);
	return n < 0 ? len : used + (size_t)n;
}

void ht_text_note(const struct ht_text_out *t, const ht_session *s)
{
	int total = 0, nhops = 0, lo = 0, hi = 0;
	char hops[160] = "";
	size_t used = 0;

	for (int ttl = 1; ttl <= ht_session_last_ttl(s); ttl++) {
		const struct ht_hop *h = ht_session_hop(s, ttl);
		if (!h || !h->rate_limited)
			continue;
		total += h->rate_limited;
		nhops++;
		if (hi && ttl == hi + 1) {
			hi = ttl;
			continue;
		}
		if (hi)
			used = add_range(hops, used, sizeof(hops), lo, hi, used == 0);
		lo = hi = ttl;
	}
	if (!total)
		return;
	add_range(hops, used, sizeof(hops), lo, hi, used == 0);
	fprintf(t->out,
	        "note: %d of the * (hop%s %s) are ICMP rate limiting, not loss: the same hop%s "
	        "answered other probes\n",
	        total, nhops > 1 ? "s" : "", hops, nhops > 1 ? "s" : "");
	fflush(t->out);
}
