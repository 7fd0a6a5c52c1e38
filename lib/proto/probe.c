/*
 * The IPv4 header of a probe (we send with IP_HDRINCL). The transport
 * part around it is a method's (ht_probe_build, lib/method/probe.c).
 * IPv6 probes have no header of ours; the kernel writes it.
 */
#include "proto/proto.h"

#include "proto/bytes.h"

#include <string.h>

#define IP4_HDR 20

/*
 * IPv4 header, 20 bytes, no options:
 *   version 4, IHL 5 | TOS | total length | ID |
 *   DF flag per flow, offset 0 | TTL | protocol | header checksum |
 *   source | destination.
 * Linux fills the checksum and total length itself on IP_HDRINCL
 * sockets, but we compute them so the bytes are exactly what goes out.
 */
void ht_ip4_header(const struct ht_flow *f, uint8_t proto, uint16_t ip_id, uint8_t ttl,
                   uint8_t *ip, size_t total)
{
	ip[0] = 0x45;
	ip[1] = f->tos;
	ht_wr16(ip + 2, (uint16_t)total);
	ht_wr16(ip + 4, ip_id);
	ht_wr16(ip + 6, f->dont_fragment ? 0x4000 : 0);
	ip[8] = ttl;
	ip[9] = proto;
	ht_wr16(ip + 10, 0);
	memcpy(ip + 12, &f->src.u.v4, 4);
	memcpy(ip + 16, &f->dst.u.v4, 4);
	ht_wr16(ip + 10, ht_csum(ip, IP4_HDR));
}
