/* Anti-replay window (RFC 4303 3.4.3 + Appendix A, RFC 6479 bitmap):
 * directed cases for the edges, then a differential test against a naive
 * reference (a set of every number seen + top). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "ipsec/replay.h"

#define TWO32 (1ull << 32)

/* The receive path: check, "verify the ICV", update. */
static bool recv_seq(struct replay_window *w, uint64_t full)
{
	uint64_t inferred = 0;
	if (!replay_check(w, (uint32_t)full, &inferred))
		return false;
	if (inferred != full)
		return false; /* the ICV would not verify */
	return replay_update(w, full);
}

static void test_sizes(void **state)
{
	(void)state;
	assert_null(replay_new(0, false));
	assert_null(replay_new(31, false));
	uint32_t ok[] = {32, 64, 100, 1024, 4096, 65536};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct replay_window *w = replay_new(ok[i], true);
		assert_non_null(w);
		assert_int_equal(replay_size(w), ok[i]);
		assert_int_equal(replay_top(w), 0);
		replay_free(w);
	}
}

/* Window [top - W + 1, top]: top - W + 1 is in, top - W is out. */
static void check_edge(uint32_t size, bool esn, uint64_t top)
{
	struct replay_window *w = replay_new(size, esn);
	uint64_t full;

	assert_non_null(w);
	assert_true(replay_update(w, top));
	assert_int_equal(replay_top(w), top);
	assert_true(replay_check(w, (uint32_t)(top - size + 1), &full));
	assert_int_equal(full, top - size + 1);
	if (esn) {
		/* with ESN, left of the window means the next 2^32 subspace
		 * (RFC 4303 A2.2); the ICV check would then fail */
		assert_true(replay_check(w, (uint32_t)(top - size), &full));
		assert_int_equal(full, top - size + TWO32);
	} else {
		assert_false(replay_check(w, (uint32_t)(top - size), &full));
	}
	assert_false(replay_check(w, (uint32_t)top, &full)); /* seen */
	assert_true(replay_check(w, (uint32_t)(top - 1), &full));
	assert_true(replay_update(w, top - size + 1));
	assert_false(replay_update(w, top - size + 1));
	assert_false(replay_update(w, top - size));
	replay_free(w);
}

static void test_window_edge(void **state)
{
	(void)state;
	uint32_t sizes[] = {32, 64, 65, 100, 127, 128, 1000, 4096, 65536};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		check_edge(sizes[i], false, 100000);
		check_edge(sizes[i], false, 100000 + 63);
		check_edge(sizes[i], true, 100000 + 64);
		check_edge(sizes[i], true, 7 * TWO32 + 100000 + 5);
	}
}

static void test_duplicates(void **state)
{
	(void)state;
	struct replay_window *w = replay_new(64, false);
	uint64_t full;
	assert_true(recv_seq(w, 5));
	assert_false(replay_check(w, 5, &full));
	assert_false(replay_update(w, 5));
	assert_true(recv_seq(w, 3));
	assert_false(recv_seq(w, 3));
	assert_true(recv_seq(w, 4));
	assert_false(recv_seq(w, 4));
	assert_int_equal(replay_top(w), 5);
	/* check does not change the window */
	assert_true(replay_check(w, 6, &full));
	assert_true(replay_check(w, 6, &full));
	assert_int_equal(replay_top(w), 5);
	replay_free(w);
}

/* Seq 0 is never valid (RFC 4303 3.3.3), with or without ESN at start. */
static void test_zero_rejected(void **state)
{
	(void)state;
	uint64_t full;
	struct replay_window *w = replay_new(64, false);
	assert_false(replay_check(w, 0, &full));
	assert_false(replay_update(w, 0));
	replay_free(w);
	w = replay_new(64, true);
	assert_false(replay_check(w, 0, &full));
	/* at the start of an ESN SA a number just below 2^32 would be Seqh -1 */
	assert_false(replay_check(w, 0xffffffffu, &full));
	assert_true(replay_check(w, 1, &full));
	assert_int_equal(full, 1);
	replay_free(w);
}

/* Fill a window, then jump ahead by various distances, including whole
 * multiples of the ring (64 * 2^k): stale bits must never show through. */
static void test_far_jumps(void **state)
{
	(void)state;
	uint32_t sizes[] = {32, 100, 1024, 4096};
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint32_t size = sizes[s];
		struct replay_window *w = replay_new(size, false);
		uint64_t top = 0;
		for (unsigned k = 0; k < 16; k++) {
			uint64_t jump = k < 13 ? 64ull << k : (uint64_t)size + k;
			for (uint64_t i = top + 1; i <= top + size; i++)
				assert_true(recv_seq(w, i));
			top += size;
			assert_false(recv_seq(w, top - size / 2));
			top += jump;
			assert_true(recv_seq(w, top));
			/* everything in the new window except top is unseen */
			for (uint64_t i = top - size + 1; i < top; i++) {
				uint64_t full;
				/* numbers up to the old top were all seen */
				bool seen = i <= top - jump;
				assert_int_equal(replay_check(w, (uint32_t)i, &full), !seen);
			}
			assert_false(recv_seq(w, top - size));
		}
		replay_free(w);
	}
}

static void test_in_order_long_run(void **state)
{
	(void)state;
	struct replay_window *w = replay_new(1024, false);
	for (uint64_t i = 1; i <= 300000; i++) {
		assert_true(recv_seq(w, i));
		if (i % 997 == 0) {
			assert_false(recv_seq(w, i));
			assert_false(recv_seq(w, i - 500));
		}
	}
	assert_int_equal(replay_top(w), 300000);
	replay_free(w);
}

static void test_random_order_within_window(void **state)
{
	(void)state;
	uint32_t size = 4096;
	struct replay_window *w = replay_new(size, true);
	uint64_t *perm = malloc(size * sizeof(*perm));
	uint64_t base = 0;
	srand(42);
	for (int round = 0; round < 20; round++) {
		for (uint32_t i = 0; i < size; i++)
			perm[i] = base + 1 + i;
		for (uint32_t i = size - 1; i > 0; i--) {
			uint32_t j = (uint32_t)rand() % (i + 1);
			uint64_t t = perm[i];
			perm[i] = perm[j];
			perm[j] = t;
		}
		/* the highest first so that every number is inside the window */
		assert_true(recv_seq(w, base + size));
		for (uint32_t i = 0; i < size; i++) {
			if (perm[i] == base + size)
				continue;
			assert_true(recv_seq(w, perm[i]));
			assert_false(recv_seq(w, perm[i]));
		}
		base += size;
	}
	free(perm);
	replay_free(w);
}

static void test_esn_wrap(void **state)
{
	(void)state;
	uint64_t full;
	struct replay_window *w = replay_new(64, true);

	assert_true(replay_update(w, 0xfffffffeull));
	assert_true(recv_seq(w, 0xffffffffull));
	/* seq_lo wraps to 0: Seqh is incremented (RFC 4303 A2.2 case A) */
	assert_true(replay_check(w, 0, &full));
	assert_int_equal(full, TWO32);
	assert_true(replay_update(w, full));
	assert_int_equal(replay_top(w), TWO32);
	/* late packets of the old subspace are still inferred as Th - 1 */
	assert_false(replay_check(w, 0xffffffffu, &full)); /* seen */
	assert_true(replay_check(w, 0xfffffff0u, &full));
	assert_int_equal(full, 0xfffffff0ull);
	replay_free(w);

	/* without ESN there is no next subspace: 0 after 2^32 - 1 is rejected */
	w = replay_new(64, false);
	assert_true(replay_update(w, 0xffffffffull));
	assert_false(replay_check(w, 0, &full));
	assert_false(replay_update(w, TWO32));
	assert_true(replay_check(w, 0xfffffff0u, &full));
	replay_free(w);
}

/* RFC 4303 A2.2, both cases, with the window straddling 2^32. */
static void test_esn_inference(void **state)
{
	(void)state;
	uint64_t full;
	struct replay_window *w = replay_new(64, true);

	/* Case B: top = 2^32 + 10, Bl = 10 - 64 + 1 = 0xffffffcb */
	assert_true(replay_update(w, TWO32 + 10));
	assert_true(replay_check(w, 0xfffffff0u, &full));
	assert_int_equal(full, 0xfffffff0ull); /* Th - 1, inside the window */
	assert_true(replay_check(w, 0xffffffcbu, &full));
	assert_int_equal(full, 0xffffffcbull); /* exactly Bl: the left edge */
	assert_true(replay_check(w, 0xffffffcau, &full));
	assert_int_equal(full, TWO32 + 0xffffffcaull); /* < Bl: Th, far ahead */
	assert_true(replay_check(w, 5, &full));
	assert_int_equal(full, TWO32 + 5);
	assert_true(replay_check(w, 20, &full));
	assert_int_equal(full, TWO32 + 20);
	replay_free(w);

	/* Case A: top = 3 * 2^32 + 1000, Bl = 937 */
	w = replay_new(64, true);
	assert_true(replay_update(w, 3 * TWO32 + 1000));
	assert_true(replay_check(w, 950, &full));
	assert_int_equal(full, 3 * TWO32 + 950);
	assert_true(replay_check(w, 937, &full));
	assert_int_equal(full, 3 * TWO32 + 937);
	assert_true(replay_check(w, 936, &full));
	assert_int_equal(full, 4 * TWO32 + 936); /* Th + 1 */
	assert_true(replay_check(w, 2000, &full));
	assert_int_equal(full, 3 * TWO32 + 2000);
	replay_free(w);
}

/* ---- differential test ---- */

/* Open-addressing set of uint64 (0 = empty; 0 is never inserted). */
struct ref {
	uint64_t *slots;
	size_t mask;
	uint64_t top;
	uint32_t size;
	bool esn;
};

static size_t ref_slot(const struct ref *r, uint64_t v)
{
	size_t i = (size_t)((v * 0x9e3779b97f4a7c15ull) >> 20) & r->mask;
	while (r->slots[i] && r->slots[i] != v)
		i = (i + 1) & r->mask;
	return i;
}

/* The reference infers the full number differently from the RFC's case
 * analysis: it is the unique number congruent to seql in
 * [top - W + 1, top - W + 1 + 2^32) (what A2.2 amounts to). */
static bool ref_check(const struct ref *r, uint32_t seql, uint64_t *full)
{
	int64_t lo = (int64_t)r->top - (int64_t)r->size + 1;
	int64_t cand = seql;
	if (r->esn)
		cand = lo + (int64_t)(uint32_t)(seql - (uint32_t)lo);
	if (cand <= 0)
		return false;
	if (cand < lo)
		return false;
	if (r->slots[ref_slot(r, (uint64_t)cand)] == (uint64_t)cand)
		return false;
	*full = (uint64_t)cand;
	return true;
}

static void ref_update(struct ref *r, uint64_t full)
{
	r->slots[ref_slot(r, full)] = full;
	if (full > r->top)
		r->top = full;
}

static uint64_t rnd64(void)
{
	return (uint64_t)rand() << 33 ^ (uint64_t)rand() << 12 ^ (uint64_t)rand();
}

/* Next number the "network" delivers: mostly around the top (reordering
 * and duplicates), sometimes ahead, rarely far ahead. */
static uint64_t next_seq(const struct ref *r)
{
	uint64_t top = r->top, w = r->size;
	int dice = rand() % 100;
	uint64_t back, ahead;

	if (dice < 60) {
		back = rnd64() % (w + 70);
		return top > back ? top - back : 1;
	}
	if (dice < 95)
		ahead = 1 + rnd64() % (2 * w);
	else if (dice < 99)
		ahead = w + rnd64() % (64ull * w);
	else
		ahead = rnd64() % (r->esn ? (1ull << 31) : (1ull << 20));
	return top + ahead;
}

static void differential(uint32_t size, bool esn, uint64_t start, unsigned ops)
{
	struct replay_window *w = replay_new(size, esn);
	struct ref r = {.top = 0, .size = size, .esn = esn};
	size_t nslots = 1u << 19;
	unsigned accepted = 0, rejected = 0;

	r.slots = calloc(nslots, sizeof(uint64_t));
	r.mask = nslots - 1;
	assert_non_null(w);
	assert_non_null(r.slots);
	if (start) {
		assert_true(replay_update(w, start));
		ref_update(&r, start);
	}
	for (unsigned i = 0; i < ops; i++) {
		uint64_t seq = next_seq(&r), got = 0, want = 0;
		if (!esn && seq > UINT32_MAX)
			seq = (uint32_t)seq; /* the wire carries 32 bits */
		bool ok = replay_check(w, (uint32_t)seq, &got);
		bool ref_ok = ref_check(&r, (uint32_t)seq, &want);
		if (ok != ref_ok || (ok && got != want))
			fail_msg("size %u esn %d op %u seq %#llx: bitmap %d (%#llx) ref %d (%#llx)",
				 size, esn, i, (unsigned long long)seq, ok,
				 (unsigned long long)got, ref_ok, (unsigned long long)want);
		/* ICV "verifies" when the inference was right, minus 5% forgeries */
		if (ok && got == seq && rand() % 20) {
			assert_true(replay_update(w, got));
			ref_update(&r, got);
			accepted++;
		} else {
			rejected++;
		}
		assert_int_equal(replay_top(w), r.top);
	}
	assert_true(accepted > ops / 10 && rejected > ops / 20);
	free(r.slots);
	replay_free(w);
}

static void test_differential(void **state)
{
	(void)state;
	uint32_t sizes[] = {32, 64, 100, 1024, 4096};
	srand(4303);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		differential(sizes[i], false, 0, 100000);
		differential(sizes[i], true, 0, 100000);
		/* ESN, starting just before a 2^32 boundary */
		differential(sizes[i], true, 5 * TWO32 - 3000, 50000);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_window_edge),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_zero_rejected),
		cmocka_unit_test(test_far_jumps),
		cmocka_unit_test(test_in_order_long_run),
		cmocka_unit_test(test_random_order_within_window),
		cmocka_unit_test(test_esn_wrap),
		cmocka_unit_test(test_esn_inference),
		cmocka_unit_test(test_differential),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
