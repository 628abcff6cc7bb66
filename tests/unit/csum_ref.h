/* A reference Internet checksum (RFC 1071) for the data-plane unit tests,
 * written the slow, obvious way and independent of src/dataplane's. */
#ifndef ESPRIT_TESTS_CSUM_REF_H
#define ESPRIT_TESTS_CSUM_REF_H

#include <stddef.h>
#include <stdint.h>

/* The 16-bit big-endian words of d[0..len) added to sum (odd tail padded). */
static inline uint32_t naive_sum(const uint8_t *d, size_t len, uint32_t sum)
{
	for (size_t i = 0; i < len; i += 2)
		sum += (uint32_t)(d[i] << 8) | (i + 1 < len ? d[i + 1] : 0);
	return sum;
}

/* End-around carry down to 16 bits. */
static inline uint16_t naive_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

#endif
