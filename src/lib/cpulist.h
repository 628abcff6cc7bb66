/* CPU lists as taskset and /sys write them ("0-3,6") and the bit masks
 * behind them: bit n of mask[n / 64] is CPU n. */
#ifndef ESPRIT_LIB_CPULIST_H
#define ESPRIT_LIB_CPULIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CPULIST_MAX 1024 /* CPUs a list can name (glibc's CPU_SETSIZE) */
#define CPULIST_WORDS (CPULIST_MAX / 64)
#define CPULIST_STRLEN 4096 /* the longest list: every other CPU of 1024 */

/* N or N-M joined by commas, each CPU below CPULIST_MAX. false (mask
 * untouched) if s is not such a list. */
bool cpulist_parse(const char *s, uint64_t mask[CPULIST_WORDS]);
static inline bool cpulist_has(const uint64_t mask[CPULIST_WORDS], unsigned cpu)
{
	return cpu < CPULIST_MAX && (mask[cpu / 64] & (1ull << (cpu % 64)));
}
/* The next CPU in mask at or after from, or -1. */
int cpulist_next(const uint64_t mask[CPULIST_WORDS], int from);
static inline void cpulist_set(uint64_t mask[CPULIST_WORDS], unsigned cpu)
{
	if (cpu < CPULIST_MAX)
		mask[cpu / 64] |= 1ull << (cpu % 64);
}
/* The list, ranges joined ("" for an empty mask); returns buf. */
const char *cpulist_str(const uint64_t mask[CPULIST_WORDS], char *buf, size_t len);

#endif
