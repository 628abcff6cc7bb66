/* Small allocation helpers shared by the layers above. */
#ifndef ESPRIT_LIB_MEM_H
#define ESPRIT_LIB_MEM_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* n bytes, zeroed, on a 64-byte boundary (one cache line: per-worker
 * slots that must not share a line, key structures that SIMD code loads
 * aligned). Free with free(). NULL on allocation failure. */
static inline void *zalloc_aligned64(size_t n)
{
	size_t size = (n + 63) & ~(size_t)63;
	void *p = aligned_alloc(64, size);

	if (p)
		memset(p, 0, size);
	return p;
}

#endif
