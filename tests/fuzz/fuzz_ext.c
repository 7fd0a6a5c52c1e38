/*
 * libFuzzer target: ICMP extension parsing (RFC 4884 structure, RFC 4950
 * MPLS, RFC 5837 interface information).
 *
 * Input: byte 0: bit 0 family, bit 1 "fix the extension checksum" (so
 * mutations get past it and into the object parser); the rest is the
 * ICMP message starting at its type byte.
 */
#include "proto/proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ht_reply r;
	uint8_t *msg;
	size_t len, off;
	int family, rc;
	uint16_t c;
	size_t i;

	if (size < 1)
		return 0;
	family = (data[0] & 1) ? AF_INET6 : AF_INET;
	len = size - 1;
	msg = malloc(len ? len : 1);
	if (!msg)
		return 0;
	if (len)
		memcpy(msg, data + 1, len);

	if ((data[0] & 2) && len >= 8) {
		/* Where the structure would be: explicit length or legacy. */
		size_t words = family == AF_INET ? msg[5] : msg[4];
		off = words ? 8 + words * (family == AF_INET ? 4 : 8) : 8 + 128;
		if (off + 4 <= len) {
			msg[off + 2] = msg[off + 3] = 0;
			c = ht_csum(msg + off, len - off);
			msg[off + 2] = (uint8_t)(c >> 8);
			msg[off + 3] = (uint8_t)c;
		}
	}

	memset(&r, 0x5a, sizeof(r));
	rc = ht_icmp_ext_parse(family, msg, len, &r);
	if (rc != 0 && rc != -EINVAL)
		abort();
	if (r.n_mpls > HT_MAX_MPLS || !memchr(r.if_name, '\0', sizeof(r.if_name)))
		abort();
	if (rc == -EINVAL && (r.n_mpls || r.has_ifinfo))
		abort(); /* no partial data on error */
	for (i = 0; i < r.n_mpls; i++)
		if (r.mpls[i].label > 0xfffff || r.mpls[i].tc > 7 || r.mpls[i].s > 1)
			abort();
	free(msg);
	return 0;
}
