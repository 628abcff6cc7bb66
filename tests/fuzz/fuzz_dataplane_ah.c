/* Fuzz xform_input with native AH packets (outer IPv4 or IPv6 header
 * first, AH inside, maybe ESP inside that). Fixed SAs installed once: see
 * fuzz_dataplane_common.h. */
#include "fuzz_dataplane_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xform_in xi = {0};

	fuzz_xform_input(data, size, &xi);
	return 0;
}
