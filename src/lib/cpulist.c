#include "lib/cpulist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

bool cpulist_parse(const char *s, uint64_t mask[CPULIST_WORDS])
{
	uint64_t m[CPULIST_WORDS] = {0};

	for (;;) {
		char *end;
		unsigned long lo, hi;

		if (!digit(*s))
			return false;
		lo = hi = strtoul(s, &end, 10);
		if (*end == '-') {
			if (!digit(end[1]))
				return false;
			hi = strtoul(end + 1, &end, 10);
		}
		if (hi >= CPULIST_MAX || lo > hi)
			return false;
		for (unsigned long c = lo; c <= hi; c++)
			cpulist_set(m, (unsigned)c);
		if (*end == '\0')
			break;
		if (*end != ',')
			return false;
		s = end + 1;
	}
	memcpy(mask, m, sizeof(m));
	return true;
}

int cpulist_next(const uint64_t mask[CPULIST_WORDS], int from)
{
	for (int c = from < 0 ? 0 : from; c < CPULIST_MAX; c++)
		if (cpulist_has(mask, (unsigned)c))
			return c;
	return -1;
}

const char *cpulist_str(const uint64_t mask[CPULIST_WORDS], char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int lo = cpulist_next(mask, 0); lo >= 0 && off < len;) {
		int hi = lo;
		while (cpulist_next(mask, hi + 1) == hi + 1)
			hi++;
		if (hi == lo)
			off += (size_t)snprintf(buf + off, len - off, "%s%d", off ? "," : "", lo);
		else
			off += (size_t)snprintf(buf + off, len - off, "%s%d-%d", off ? "," : "", lo, hi);
		lo = cpulist_next(mask, hi + 1);
	}
	return buf;
}
