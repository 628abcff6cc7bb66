/* Fuzz xform_input with native ESP packets (outer IPv4 or IPv6 header
 * first). Fixed SAs installed once: see fuzz_dataplane_common.h. The
 * first input byte selects native (even) or UDP-encapsulated (odd). */
#include "fuzz_dataplane_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xform_in xi = {0};

	if (size < 1)
		return 0;
	xi.udp = data[0] & 1;
	ip_addr_parse("192.0.2.2", &xi.src);
	ip_addr_parse("192.0.2.1", &xi.dst);
	xi.sport = xi.dport = 4500;
	fuzz_xform_input(data + 1, size - 1, &xi);
	return 0;
}
