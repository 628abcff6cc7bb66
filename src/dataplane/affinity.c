/* crypto engine cpus: which CPU each worker runs on. The kernel does the
 * pinning (pthread_setaffinity_np); this file decides worker i -> CPU and
 * refuses a CPU the daemon was not started on (a cpuset or taskset limit),
 * so a bad list changes nothing. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "dataplane/internal.h"

/* The CPUs this process may run on now. */
static void cpus_allowed(uint64_t out[CPULIST_WORDS])
{
	cpu_set_t s;

	memset(out, 0, CPULIST_WORDS * sizeof(*out));
	if (sched_getaffinity(0, sizeof(s), &s) < 0) {
		log_warn("dp: sched_getaffinity: %s; assuming every CPU", strerror(errno));
		CPU_ZERO(&s);
		for (int c = 0; c < CPU_SETSIZE; c++)
			CPU_SET(c, &s);
	}
	for (int c = 0; c < CPU_SETSIZE && c < CPULIST_MAX; c++)
		if (CPU_ISSET(c, &s))
			cpulist_set(out, (unsigned)c);
}

void dp_affinity_init(struct dp *dp)
{
	cpus_allowed(dp->start_cpus);
	for (unsigned i = 0; i < dp->nworkers; i++)
		dp->workers[i].cpu = -1;
}

int dp_check_cpus(const struct dp *dp, const uint64_t mask[CPULIST_WORDS], char *err,
		  size_t errlen)
{
	char avail[CPULIST_STRLEN];
	uint64_t now[CPULIST_WORDS];
	const uint64_t *start = dp ? dp->start_cpus : now;

	if (!dp)
		cpus_allowed(now);
	for (int c = cpulist_next(mask, 0); c >= 0; c = cpulist_next(mask, c + 1))
		if (!cpulist_has(start, (unsigned)c)) {
			snprintf(err, errlen,
				 "crypto engine cpus: CPU %d is not one espritd may run on "
				 "(it was started on CPUs %s)",
				 c, cpulist_str(start, avail, sizeof(avail)));
			return -1;
		}
	return 0;
}

static void set_of(const uint64_t *mask, cpu_set_t *s)
{
	CPU_ZERO(s);
	for (int c = cpulist_next(mask, 0); c >= 0 && c < CPU_SETSIZE; c = cpulist_next(mask, c + 1))
		CPU_SET(c, s);
}

int dp_set_cpus(struct dp *dp, const uint64_t mask[CPULIST_WORDS], char *err, size_t errlen)
{
	int c = cpulist_next(mask, 0);
	unsigned used = 0;

	if (dp_check_cpus(dp, mask, err, errlen) < 0)
		return -1;
	for (unsigned i = 0; i < dp->nworkers; i++) {
		struct dp_worker *w = &dp->workers[i];
		cpu_set_t s;
		int e;

		set_of(dp->start_cpus, &s);
		if (c >= 0) {
			CPU_ZERO(&s);
			CPU_SET(c, &s);
		}
		e = pthread_setaffinity_np(w->thread, sizeof(s), &s);
		if (e) {
			snprintf(err, errlen, "crypto engine cpus: worker %u on CPU %d: %s", i, c,
				 strerror(e));
			return -1;
		}
		w->cpu = c;
		if (c >= 0) {
			used++;
			c = cpulist_next(mask, c + 1);
			if (c < 0)
				c = cpulist_next(mask, 0);
		}
	}
	if (cpulist_next(mask, 0) >= 0) {
		char s[CPULIST_STRLEN];
		unsigned listed = 0;
		for (int k = cpulist_next(mask, 0); k >= 0; k = cpulist_next(mask, k + 1))
			listed++;
		log_info("dp: %u worker(s) pinned to CPUs %s", dp->nworkers,
			 cpulist_str(mask, s, sizeof(s)));
		if (listed > used)
			log_warn("dp: crypto engine cpus lists %u CPUs for %u worker(s): the last %u "
				 "stay unused (crypto engine workers sets how many run)",
				 listed, dp->nworkers, listed - used);
	} else {
		log_info("dp: workers run on any CPU");
	}
	return 0;
}

int dp_worker_cpu(const struct dp *dp, unsigned i)
{
	return dp->workers && i < dp->nworkers ? dp->workers[i].cpu : -1;
}
