/* Unit tests for the acquire queue (acquire.c): bounds per reqid and
 * overall, FIFO order, flush only of reqids whose SA is ready, expiry
 * after ACQQ_TIMEOUT_NS, counters; and the VTI lookup by reqid (vti.c)
 * on a dp built by hand (no devices). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/internal.h"

#define T0 1000000000000ull

static bool ready_set(const struct acqq_pkt *e, void *arg)
{
	const uint32_t *ok = arg; /* zero-terminated list */

	for (; *ok; ok++)
		if (*ok == e->reqid)
			return true;
	return false;
}

static unsigned list_len(const struct acqq_pkt *l)
{
	unsigned n = 0;

	for (; l; l = l->next)
		n++;
	return n;
}

static void test_push_take_fifo(void **state)
{
	(void)state;
	struct acq_queue q;
	uint8_t d[100];
	uint32_t ready[] = {7, 0};
	unsigned expired = 0;
	bool empty;
	struct acqq_pkt *l;

	acqq_init(&q);
	assert_false(acqq_pending(&q));
	for (int i = 0; i < 3; i++) {
		memset(d, i, sizeof(d));
		assert_true(acqq_push(&q, 7, 0, d, sizeof(d), T0, &empty));
		assert_true(empty == (i == 0));
		assert_true(acqq_push(&q, 9, 2, d, 50, T0, &empty));
		assert_false(empty);
	}
	assert_true(acqq_pending(&q));
	/* Nothing is ready: nothing comes out, nothing expires. */
	l = acqq_take(&q, T0 + 1000, NULL, NULL, &expired);
	assert_null(l);
	assert_int_equal(expired, 0);
	/* reqid 7 ready: its three, in order, with their origin and bytes. */
	l = acqq_take(&q, T0 + 1000, ready_set, ready, &expired);
	assert_int_equal(list_len(l), 3);
	for (const struct acqq_pkt *e = l; e; e = e->next) {
		static int i;
		assert_int_equal(e->reqid, 7);
		assert_int_equal(e->origin, 0);
		assert_int_equal(e->len, 100);
		assert_int_equal(e->data[0], i++);
	}
	acqq_list_free(l);
	assert_int_equal(q.n, 3);
	assert_int_equal(q.bytes, 150);
	assert_int_equal(q.flushed, 3);
	assert_int_equal(q.queued, 6);
	/* The rest still queued; a new packet goes after them (tail kept). */
	assert_true(acqq_push(&q, 9, 2, d, 10, T0, &empty));
	assert_false(empty);
	ready[0] = 9;
	l = acqq_take(&q, T0 + 2000, ready_set, ready, &expired);
	assert_int_equal(list_len(l), 4);
	assert_int_equal(l->origin, 2);
	acqq_list_free(l);
	assert_false(acqq_pending(&q));
	assert_int_equal(q.bytes, 0);
	/* Empty again: the next push says so (the worker must be woken). */
	assert_true(acqq_push(&q, 9, 2, d, 10, T0, &empty));
	assert_true(empty);
	acqq_destroy(&q);
}

static void test_bounds_per_reqid(void **state)
{
	(void)state;
	struct acq_queue q;
	static uint8_t d[ACQQ_REQID_BYTES + 1];
	bool empty;

	acqq_init(&q);
	for (int i = 0; i < ACQQ_REQID_PKTS; i++)
		assert_true(acqq_push(&q, 1, 0, d, 10, T0, &empty));
	assert_false(acqq_push(&q, 1, 0, d, 10, T0, &empty)); /* 17th packet */
	assert_true(acqq_push(&q, 2, 0, d, 10, T0, &empty));  /* another reqid fits */
	assert_int_equal(q.overflow, 1);
	/* Bytes: 64 KB per reqid. */
	assert_true(acqq_push(&q, 3, 0, d, ACQQ_REQID_BYTES - 100, T0, &empty));
	assert_false(acqq_push(&q, 3, 0, d, 101, T0, &empty));
	assert_true(acqq_push(&q, 3, 0, d, 100, T0, &empty));
	assert_false(acqq_push(&q, 4, 0, d, ACQQ_REQID_BYTES + 1, T0, &empty));
	assert_int_equal(q.overflow, 3);
	acqq_destroy(&q);
}

static void test_bounds_total(void **state)
{
	(void)state;
	struct acq_queue q;
	uint8_t d[64];
	bool empty;
	uint32_t reqid = 1;
	unsigned ok = 0;

	acqq_init(&q);
	/* Many reqids, one packet each: the global packet cap applies. */
	for (unsigned i = 0; i < ACQQ_TOTAL_PKTS + 10; i++)
		ok += acqq_push(&q, reqid++, 0, d, sizeof(d), T0, &empty);
	assert_int_equal(ok, ACQQ_TOTAL_PKTS);
	assert_int_equal(q.n, ACQQ_TOTAL_PKTS);
	assert_int_equal(q.overflow, 10);
	acqq_destroy(&q);
}

static void test_expiry(void **state)
{
	(void)state;
	struct acq_queue q;
	uint8_t d[10] = {0};
	uint32_t ready[] = {5, 0};
	unsigned expired = 0;
	bool empty;
	struct acqq_pkt *l;

	acqq_init(&q);
	assert_true(acqq_push(&q, 5, 0, d, 10, T0, &empty));
	assert_true(acqq_push(&q, 6, 0, d, 10, T0 + 2000000000ull, &empty));
	/* Just before the timeout: nothing expires. */
	l = acqq_take(&q, T0 + ACQQ_TIMEOUT_NS - 1, NULL, NULL, &expired);
	assert_null(l);
	assert_int_equal(expired, 0);
	/* At the timeout the first one is gone, even though its SA is ready
	 * now (it waited too long to be useful), the second stays. */
	l = acqq_take(&q, T0 + ACQQ_TIMEOUT_NS, ready_set, ready, &expired);
	assert_null(l);
	assert_int_equal(expired, 1);
	assert_int_equal(q.expired, 1);
	assert_int_equal(q.n, 1);
	/* The survivor still flushes when its SA appears. */
	ready[0] = 6;
	l = acqq_take(&q, T0 + ACQQ_TIMEOUT_NS, ready_set, ready, &expired);
	assert_int_equal(list_len(l), 1);
	assert_int_equal(l->reqid, 6);
	acqq_list_free(l);
	/* Queued again after the expiry: accepted (the per-reqid count is of
	 * what is queued, not of what was). */
	assert_true(acqq_push(&q, 5, 0, d, 10, T0 + ACQQ_TIMEOUT_NS, &empty));
	acqq_destroy(&q); /* frees what is left (ASan checks) */
}

static void test_vti_of_reqid(void **state)
{
	(void)state;
	struct dp *dp = calloc(1, sizeof(*dp));

	assert_non_null(dp);
	assert_null(dp_vti_of_reqid(dp, 42));
	dp->vti[3].pol.reqid = 42;
	assert_null(dp_vti_of_reqid(dp, 42)); /* not used yet */
	dp->vti[3].used = true;
	dp->nvti = 1;
	assert_ptr_equal(dp_vti_of_reqid(dp, 42), &dp->vti[3]);
	assert_null(dp_vti_of_reqid(dp, 43));
	dp->vti[3].used = false;
	assert_null(dp_vti_of_reqid(dp, 42));
	free(dp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_push_take_fifo),
		cmocka_unit_test(test_bounds_per_reqid),
		cmocka_unit_test(test_bounds_total),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_vti_of_reqid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
