/*
 * Internet checksum (RFC 1071).
 *
 * Sums are kept as unfolded 32-bit partial sums of big-endian 16-bit
 * words so that pieces (pseudo-header, header, payload) can be added in
 * any order; only the last piece may have an odd length. ht_csum_fold()
 * returns the value to store in a checksum field, as a host-order number
 * to be written big-endian (the byte order of the words it summed).
 */
#include "proto/proto.h"

#include "proto/bytes.h"

#include <netinet/in.h>
#include <sys/socket.h>

uint32_t ht_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t acc = sum;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		acc += ht_rd16(p + i);
	if (len & 1)
		acc += (uint32_t)p[len - 1] << 8;
	/* Fold the carries back in so the result fits 32 bits unchanged in
	 * ones-complement value. */
	while (acc >> 32)
		acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

uint16_t ht_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t ht_csum(const void *data, size_t len)
{
	return ht_csum_fold(ht_csum_add(0, data, len));
}

uint32_t ht_csum_pseudo(const ht_addr *src, const ht_addr *dst, uint8_t proto, uint32_t len)
{
	uint32_t sum = 0;

	if (src->family == AF_INET6) {
		sum = ht_csum_add(sum, &src->u.v6, 16);
		sum = ht_csum_add(sum, &dst->u.v6, 16);
		/* RFC 8200 8.1: 32-bit upper-layer length, 24 zero bits, next header. */
		sum += len >> 16;
		sum += len & 0xffff;
		sum += proto;
	} else {
		sum = ht_csum_add(sum, &src->u.v4, 4);
		sum = ht_csum_add(sum, &dst->u.v4, 4);
		sum += proto;
		sum += len & 0xffff;
	}
	return sum;
}
