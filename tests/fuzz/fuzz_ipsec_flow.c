/* libFuzzer harness: flow_from_packet over arbitrary bytes, then the
 * selector matchers over the result (they must not read out of bounds or
 * disagree with themselves). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ipsec/ts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flow f;
	struct ts any;
	char buf[TS_STRLEN];

	if (!flow_from_packet(data, size, &f))
		return 0;
	if (f.src.af != f.dst.af || (f.opaque && (f.sport || f.dport)))
		abort();
	ts_any(&any, f.src.af);
	/* "any" of the packet's family matches both ways */
	if (!ts_match(&any, &f) || !ts_match_reverse(&any, &f))
		abort();
	flow_str(&f, buf, sizeof(buf));
	return 0;
}
