/* Acquire rate limiting: "interesting traffic starts IKE", but a flood of
 * packets for a policy with no SA must not become a flood of acquires. At
 * most one per policy (reqid) per interval, whichever worker sees it. */
#include <string.h>

#include "dataplane/internal.h"

void acq_limit_init(struct acq_limit *al, uint64_t interval_ns)
{
	memset(al, 0, sizeof(*al));
	pthread_mutex_init(&al->lock, NULL);
	al->interval_ns = interval_ns;
}

void acq_limit_destroy(struct acq_limit *al)
{
	pthread_mutex_destroy(&al->lock);
}

static unsigned slot_of(uint32_t reqid)
{
	/* Fibonacci hashing: reqids are often small consecutive numbers. */
	return (unsigned)((reqid * 2654435761u) >> 24) % ACQ_SLOTS;
}

bool acq_limit_allow(struct acq_limit *al, uint32_t reqid, uint64_t now)
{
	unsigned i = slot_of(reqid);
	bool ok = true;

	pthread_mutex_lock(&al->lock);
	if (al->slot[i].used && al->slot[i].reqid == reqid &&
	    now - al->slot[i].last_ns < al->interval_ns)
		ok = false;
	if (ok) {
		al->slot[i].used = true;
		al->slot[i].reqid = reqid;
		al->slot[i].last_ns = now;
	}
	pthread_mutex_unlock(&al->lock);
	return ok;
}
