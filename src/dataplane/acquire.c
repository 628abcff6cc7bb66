/* Acquire rate limiting: "interesting traffic starts IKE", but a flood of
 * packets for a policy with no SA must not become a flood of acquires. At
 * most one per policy (reqid) per interval, whichever worker sees it. */
#include <stdlib.h>
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

/* ---- the acquire queue ---------------------------------------------------
 * RFC 4301 5.2 leaves it to the implementation what happens to a packet
 * that needs an SA that does not exist yet; ARCHITECTURE.md says: queue it
 * (bounded) and send it once the SA is up, so the first packet of a flow
 * (a single ping, a TCP SYN) is not lost to the negotiation. */

void acqq_init(struct acq_queue *q)
{
	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->lock, NULL);
}

void acqq_list_free(struct acqq_pkt *l)
{
	while (l) {
		struct acqq_pkt *next = l->next;
		free(l);
		l = next;
	}
}

void acqq_destroy(struct acq_queue *q)
{
	acqq_list_free(q->head);
	q->head = q->tail = NULL;
	q->n = 0;
	pthread_mutex_destroy(&q->lock);
}

static void cnt_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/* Under q->lock: would one more packet of len bytes for reqid fit? */
static bool acqq_fits(const struct acq_queue *q, uint32_t reqid, size_t len)
{
	unsigned n = 0;
	size_t bytes = 0;

	if (q->n >= ACQQ_TOTAL_PKTS || q->bytes + len > ACQQ_TOTAL_BYTES)
		return false;
	for (const struct acqq_pkt *e = q->head; e; e = e->next) {
		if (e->reqid != reqid)
			continue;
		n++;
		bytes += e->len;
	}
	return n < ACQQ_REQID_PKTS && bytes + len <= ACQQ_REQID_BYTES;
}

bool acqq_push(struct acq_queue *q, uint32_t reqid, unsigned origin, const uint8_t *d,
	       size_t len, uint64_t now, bool *was_empty)
{
	struct acqq_pkt *e = NULL;
	bool ok;

	*was_empty = false;
	if (len > ACQQ_REQID_BYTES)
		goto full;
	e = malloc(sizeof(*e) + len);
	if (!e)
		goto full;
	e->next = NULL;
	e->reqid = reqid;
	e->origin = origin;
	e->t_ns = now;
	e->len = len;
	memcpy(e->data, d, len);
	pthread_mutex_lock(&q->lock);
	ok = acqq_fits(q, reqid, len);
	if (ok) {
		*was_empty = !q->head;
		if (q->tail)
			q->tail->next = e;
		else
			q->head = e;
		q->tail = e;
		q->bytes += len;
		__atomic_store_n(&q->n, q->n + 1, __ATOMIC_RELAXED);
		cnt_add(&q->queued, 1);
	} else {
		cnt_add(&q->overflow, 1);
	}
	pthread_mutex_unlock(&q->lock);
	if (!ok)
		free(e);
	return ok;
full:
	pthread_mutex_lock(&q->lock);
	cnt_add(&q->overflow, 1);
	pthread_mutex_unlock(&q->lock);
	return false;
}

struct acqq_pkt *acqq_take(struct acq_queue *q, uint64_t now, acqq_ready_fn ready, void *arg,
			   unsigned *expired)
{
	struct acqq_pkt *out = NULL, **out_tail = &out, **pp, *e;

	pthread_mutex_lock(&q->lock);
	q->tail = NULL;
	for (pp = &q->head; (e = *pp) != NULL;) {
		bool old = now - e->t_ns >= ACQQ_TIMEOUT_NS && now >= e->t_ns;
		/* per packet: a policy's children may each hold a part of it */
		bool take = !old && ready && ready(e, arg);

		if (!old && !take) {
			q->tail = e;
			pp = &e->next;
			continue;
		}
		*pp = e->next;
		q->bytes -= e->len;
		__atomic_store_n(&q->n, q->n - 1, __ATOMIC_RELAXED);
		e->next = NULL;
		if (old) {
			cnt_add(&q->expired, 1);
			(*expired)++;
			free(e);
			continue;
		}
		cnt_add(&q->flushed, 1);
		*out_tail = e;
		out_tail = &e->next;
	}
	pthread_mutex_unlock(&q->lock);
	return out;
}
