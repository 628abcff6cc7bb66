/* Fuzz xform_input with native ESP packets (outer IPv4 or IPv6 header
 * first). Fixed SAs installed once: see fuzz_dataplane_common.h. The
 * first input byte selects native (bit 0 clear) or UDP-encapsulated (bit
 * 0 set), and with bit 1 the batch path of a worker: MB_MIN_BATCH copies
 * of the packet, each in its own buffer, have their ICVs computed
 * together (xform_preverify_*, which parses the packet first) before each
 * is opened; the copies must come out of it unchanged. */
#include "fuzz_dataplane_common.h"

#include "crypto/mb.h"

static struct xform_scratch *mb_scratch;
static uint8_t *mb_bufs;

static void fuzz_batch(const uint8_t *data, size_t size, const struct xform_in *xi)
{
	struct pkt p[MB_MIN_BATCH];
	int slot[MB_MIN_BATCH];
	struct sa *sa;

	fuzz_init();
	if (!mb_scratch) {
		mb_scratch = xform_scratch_new();
		mb_bufs = malloc((size_t)MB_MIN_BATCH * PKT_BUF_SIZE);
		if (!mb_scratch || !mb_bufs)
			abort();
		xform_defer_enable(mb_scratch); /* false without the library: then -1 slots */
	}
	if (size > PKT_MAX_DATA)
		return;
	rcu_read_lock();
	for (unsigned i = 0; i < MB_MIN_BATCH; i++) {
		p[i] = (struct pkt){.buf = mb_bufs + (size_t)i * PKT_BUF_SIZE, .cap = PKT_BUF_SIZE,
				    .off = PKT_HEADROOM, .len = size};
		memcpy(pkt_data(&p[i]), data, size);
		slot[i] = xform_preverify_add(fuzz_sad, mb_scratch, &p[i], xi);
	}
	xform_preverify_run(mb_scratch);
	for (unsigned i = 0; i < MB_MIN_BATCH; i++) {
		if (memcmp(pkt_data(&p[i]), data, size) != 0)
			abort(); /* the computation must leave the packet as it was */
		xform_preverify_use(mb_scratch, slot[i]);
		xform_input(fuzz_sad, 0, mb_scratch, &p[i], xi, &sa);
	}
	xform_preverify_reset(mb_scratch);
	rcu_read_unlock();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xform_in xi = {0};

	if (size < 1)
		return 0;
	xi.udp = data[0] & 1;
	ip_addr_parse("192.0.2.2", &xi.src);
	ip_addr_parse("192.0.2.1", &xi.dst);
	xi.sport = xi.dport = 4500;
	if (data[0] & 2)
		fuzz_batch(data + 1, size - 1, &xi);
	else
		fuzz_xform_input(data + 1, size - 1, &xi);
	return 0;
}
