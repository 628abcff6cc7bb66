/* libFuzzer harness: frag.c over arbitrary packets. Input: 2 bytes of MTU,
 * then the packet. Whatever ip4_frag_plan accepts must cut into fragments
 * within the MTU whose payloads put back together are the packet's; the
 * ICMP builders must stay within their buffer and quote only the packet;
 * an IPv6 packet cut by ip6_frag_build must come back whole. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t frag[65536 + 64], re[65536];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ip4_frag_plan fp;
	uint8_t msg[ICMP_TOO_BIG_MAX];
	size_t mtu, len, n, got = 0;

	if (size < 2)
		return 0;
	mtu = (size_t)data[0] << 8 | data[1];
	data += 2;
	len = size - 2;
	n = icmp4_frag_needed(data, len, (uint16_t)mtu, msg);
	if (n > 8 + 60 + 8 || (n && memcmp(msg + 8, data, n - 8) != 0))
		abort();
	n = icmp6_packet_too_big(data, len, (uint32_t)mtu, msg);
	if (n > ICMP_TOO_BIG_MAX || (n && memcmp(msg + 8, data, n - 8) != 0))
		abort();
	n = ip6_frag_count(len, mtu);
	for (unsigned i = 0; i < n && n <= 65536 / 8; i++) {
		size_t fl = ip6_frag_build(data, len, mtu, 7, i, frag);

		if (fl > mtu || fl < 48 || got + (fl - 48) > len - 40 ||
		    memcmp(frag + 48, data + 40 + got, fl - 48) != 0)
			abort();
		got += fl - 48;
	}
	if (n && got != len - 40)
		abort();
	got = 0;
	if (!ip4_frag_plan(data, len, mtu, &fp))
		return 0;
	if (fp.nfrag == 0 || fp.chunk == 0 || fp.chunk % 8 || fp.hlen > len)
		abort();
	for (unsigned i = 0; i < fp.nfrag; i++) {
		size_t fl = ip4_frag_build(data, len, &fp, i, frag), fhl = (size_t)(frag[0] & 0xf) * 4;

		if (fl > mtu || fl < fhl || got + (fl - fhl) > len - fp.hlen)
			abort();
		memcpy(re + got, frag + fhl, fl - fhl);
		got += fl - fhl;
	}
	if (got != len - fp.hlen || memcmp(re, data + fp.hlen, got) != 0)
		abort();
	return 0;
}
