/* SA helpers shared by the SAD and the data plane: names for show and
 * logs, per-worker counter sums, and the SA state machine. */
#include "ipsec/sa.h"

#include <string.h>

#include "lib/log.h"

static const char *const drop_names[DROP__COUNT] = {
	[DROP_NONE] = "none",
	[DROP_NO_SA] = "no-sa",
	[DROP_REPLAY] = "replay",
	[DROP_ICV] = "icv-failure",
	[DROP_BAD_PAD] = "bad-padding",
	[DROP_POLICY] = "policy-mismatch",
	[DROP_MALFORMED] = "malformed",
	[DROP_SEQ_OVERFLOW] = "seq-overflow",
	[DROP_HARD_EXPIRED] = "hard-expired",
	[DROP_NO_POLICY] = "no-policy",
	[DROP_DISCARD] = "discard",
	[DROP_COMP] = "decompression",
	[DROP_NO_OUT_SA] = "no-outbound-sa",
	[DROP_TOO_BIG] = "too-big",
	[DROP_INTERNAL] = "internal",
};

const char *dp_drop_name(enum dp_drop d)
{
	if ((unsigned)d >= DROP__COUNT || !drop_names[d])
		return "unknown";
	return drop_names[d];
}

const char *sa_state_name(enum sa_state s)
{
	switch (s) {
	case SA_LARVAL:
		return "larval";
	case SA_MATURE:
		return "mature";
	case SA_SOFT_EXPIRED:
		return "soft-expired";
	case SA_HARD_EXPIRED:
		return "hard-expired";
	case SA_DEAD:
		return "dead";
	}
	return "unknown";
}

/* Readers of per-worker counters race benignly with the owning worker: a
 * sum may be a packet behind, never torn on x86-64 (aligned 64-bit). */
void sa_stats_sum(const struct sa *sa, struct sa_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned w = 0; w < sa->nworkers; w++) {
		const struct sa_stats *s = &sa->stats[w];
		out->packets += __atomic_load_n(&s->packets, __ATOMIC_RELAXED);
		out->bytes += __atomic_load_n(&s->bytes, __ATOMIC_RELAXED);
		out->compressed += __atomic_load_n(&s->compressed, __ATOMIC_RELAXED);
		out->not_compressed += __atomic_load_n(&s->not_compressed, __ATOMIC_RELAXED);
		for (int d = 0; d < DROP__COUNT; d++)
			out->drops[d] += __atomic_load_n(&s->drops[d], __ATOMIC_RELAXED);
	}
}

static bool transition_ok(enum sa_state from, enum sa_state to)
{
	switch (from) {
	case SA_LARVAL:
		return to == SA_MATURE || to == SA_DEAD;
	case SA_MATURE:
		return to == SA_SOFT_EXPIRED || to == SA_HARD_EXPIRED || to == SA_DEAD;
	case SA_SOFT_EXPIRED:
		return to == SA_HARD_EXPIRED || to == SA_DEAD;
	case SA_HARD_EXPIRED:
		return to == SA_DEAD;
	case SA_DEAD:
		return false;
	}
	return false;
}

enum sa_state sa_state_get(const struct sa *sa)
{
	return (enum sa_state)__atomic_load_n(&sa->state, __ATOMIC_ACQUIRE);
}

bool sa_state_change(struct sa *sa, enum sa_state to)
{
	int from = __atomic_load_n(&sa->state, __ATOMIC_ACQUIRE);

	do {
		if (!transition_ok((enum sa_state)from, to))
			return false;
	} while (!__atomic_compare_exchange_n(&sa->state, &from, (int)to, false,
					      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	log_info("SA %.63s %s spi 0x%08x: %s -> %s", sa->p.name,
		 sa->p.dir == SA_DIR_IN ? "in" : "out", sa->p.spi,
		 sa_state_name((enum sa_state)from), sa_state_name(to));
	return true;
}
