/* libFuzzer harness: the receive coalescing of gro.c over arbitrary
 * decrypted packets (TCP segments, UDP datagrams). The input is up to 8
 * packets, each prefixed by a 2-byte big-endian length. Whatever gro_parse accepts is merged the way
 * the worker does; the superpacket must then be one that gso.c (the
 * kernel's view) accepts and cuts into exactly as many segments with the
 * same payload bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NPKT 8
static uint8_t pkt[NPKT][PKT_MAX_DATA];
static uint8_t big[65536 + 64], seg[PKT_MAX_DATA];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len[NPKT], n = 0, blen, have;
	struct gro_seg s0, s;
	struct virtio_net_hdr vh;
	struct gso_info g;
	unsigned k = 1;
	uint8_t flags;

	while (n < NPKT && size >= 2) {
		size_t l = (size_t)data[0] << 8 | data[1];
		data += 2;
		size -= 2;
		if (l > size || l > PKT_MAX_DATA)
			l = size < PKT_MAX_DATA ? size : PKT_MAX_DATA;
		memcpy(pkt[n], data, l);
		len[n++] = l;
		data += l;
		size -= l;
	}
	if (!n || !gro_parse(pkt[0], len[0], &s0))
		return 0;
	if (s0.hdr_len + s0.payload != len[0] || !s0.payload)
		abort();
	memcpy(big, pkt[0], len[0]);
	blen = len[0];
	have = s0.payload;
	flags = s0.flags;
	while (k < n && gro_parse(pkt[k], len[k], &s) &&
	       gro_can_append(pkt[0], &s0, have, pkt[k], &s)) {
		if (blen + s.payload > sizeof(big))
			abort(); /* gro_can_append must keep it under 64 KB */
		memcpy(big + blen, pkt[k] + s.hdr_len, s.payload);
		blen += s.payload;
		have += s.payload;
		flags |= s.flags;
		k++;
		if (s.payload < s0.payload)
			break;
	}
	if (k == 1)
		return 0;
	gro_finish(big, &s0, have, flags, &vh);
	if (s0.hdr_len + s0.payload > PKT_MAX_DATA)
		return 0; /* gso.c's segment buffer bound; the kernel has none */
	if (!gso_parse(big, blen, vh.gso_type, vh.gso_size, &g) || g.nseg != k)
		abort();
	for (unsigned i = 0; i < k; i++) {
		size_t l = gso_segment_build(big, blen, &g, i, seg);
		size_t plen = i ? len[i] - s0.hdr_len : s0.payload;
		if (l != s0.hdr_len + plen || memcmp(seg + s0.hdr_len, pkt[i] + s0.hdr_len, plen))
			abort();
	}
	return 0;
}
