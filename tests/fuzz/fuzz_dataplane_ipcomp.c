/* Fuzz the IPComp decompressor. The first byte selects what the rest is:
 * even, an IPComp header and deflate data given straight to
 * ipcomp_decompress (an attacker with a valid ESP SA controls exactly
 * this); odd, a whole packet for xform_input (ESP + IPComp bundle, CPI
 * 0x300, see fuzz_dataplane_common.h). */
#include "dataplane/xform_int.h"
#include "fuzz_dataplane_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xform_in xi = {0};
	struct pkt p;
	uint8_t nh;

	if (size < 1 || size > PKT_MAX_DATA)
		return 0;
	if (data[0] & 1) {
		fuzz_xform_input(data + 1, size - 1, &xi);
		return 0;
	}
	fuzz_init();
	p.buf = fuzz_buf;
	p.cap = PKT_BUF_SIZE;
	p.off = PKT_HEADROOM;
	p.len = size - 1;
	memcpy(p.buf + p.off, data + 1, size - 1);
	if (ipcomp_decompress(fuzz_scratch, &p, PKT_MAX_DATA, &nh) == DROP_NONE &&
	    (p.off + p.len > p.cap || p.len > PKT_MAX_DATA))
		abort();
	return 0;
}
