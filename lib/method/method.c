/* Method table lookup and helpers shared by the methods. */
#include "method/method.h"

#include "proto/bytes.h"

#include <errno.h>
#include <sys/socket.h>

const struct ht_method_ops *ht_method_ops(enum ht_method m)
{
	switch (m) {
	case HT_METHOD_UDP:
		return &ht_method_udp;
	case HT_METHOD_ICMP:
		return &ht_method_icmp;
	case HT_METHOD_TCP:
		return &ht_method_tcp;
	}
	return NULL;
}

size_t ht_flow_l4_len(const struct ht_flow *f)
{
	size_t iphdr = f->family == AF_INET6 ? 40 : 20;
	size_t len = f->packet_len ? f->packet_len : (f->family == AF_INET6 ? 80 : 60);

	return len > iphdr ? len - iphdr : 0;
}

uint32_t ht_flow_pseudo(const struct ht_flow *f, uint8_t proto, size_t l4_len)
{
	return ht_csum_pseudo(&f->src, &f->dst, proto, (uint32_t)l4_len);
}

int ht_tag_check(const struct ht_flow *f, const uint8_t *word)
{
	uint32_t t = ht_rd32(word);

	return t == 0 || t == f->tag ? 0 : -ENOENT;
}
