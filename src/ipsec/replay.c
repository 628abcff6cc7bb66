/* Anti-replay window: RFC 4303 3.4.3 and Appendix A, bitmap of RFC 6479.
 *
 * The window is [top - size + 1, top]: `top` is the highest sequence
 * number whose ICV verified. The bitmap is a ring of 64-bit blocks; bit
 * (seq mod 64) of block ((seq / 64) mod nblocks) says whether seq was seen.
 * When top advances, the blocks that the window enters are cleared whole
 * (RFC 6479 section 2); nothing is shifted. One spare block beyond
 * ceil(size / 64) guarantees that every number of the exact window keeps
 * its own bit while the newest block is partly filled, so the left edge is
 * exact for any size, not only multiples of 64.
 *
 * Locking: none here. The SA's replay_lock serialises replay_update against
 * replay_check (sa.h).
 */
#include "ipsec/replay.h"

#include <stdlib.h>

#define REPLAY_MIN 32u
#define REPLAY_MAX (1u << 20) /* 128 KiB of bitmap; RFC 4303 asks for >= 32 */

struct replay_window {
	uint64_t top;     /* highest verified number (64-bit with ESN); 0 = none */
	uint32_t size;    /* W, in packets */
	uint32_t nblocks; /* power of two */
	bool esn;
	uint64_t bits[];  /* [nblocks] */
};

static uint32_t pow2_roundup(uint32_t v)
{
	uint32_t p = 1;
	while (p < v)
		p <<= 1;
	return p;
}

struct replay_window *replay_new(uint32_t size, bool esn)
{
	struct replay_window *w;
	uint32_t nblocks;

	if (size < REPLAY_MIN || size > REPLAY_MAX)
		return NULL;
	/* ceil(size / 64) blocks for the window plus one spare (RFC 6479 2.2),
	 * rounded to a power of two so that the ring index is a mask. */
	nblocks = pow2_roundup((size + 63) / 64 + 1);
	w = calloc(1, sizeof(*w) + nblocks * sizeof(uint64_t));
	if (!w)
		return NULL;
	w->size = size;
	w->nblocks = nblocks;
	w->esn = esn;
	return w;
}

void replay_free(struct replay_window *w)
{
	free(w);
}

uint64_t replay_top(const struct replay_window *w)
{
	return w->top;
}

uint32_t replay_size(const struct replay_window *w)
{
	return w->size;
}

/* RFC 4303 A2.2: infer Seqh from Seql and the window. Bl = Tl - W + 1.
 *   Case A (Tl >= W - 1): Seql >= Bl -> Th, else Th + 1.
 *   Case B (Tl <  W - 1): Seql >= Bl -> Th - 1, else Th.
 * Returns false when Seqh would leave the 64-bit space (below 0 at the
 * start of the SA, or past 2^64 - 1, which the sender must never reach). */
static bool esn_infer(const struct replay_window *w, uint32_t seql, uint64_t *full)
{
	uint32_t th = (uint32_t)(w->top >> 32);
	uint32_t tl = (uint32_t)w->top;
	uint32_t bl = tl - w->size + 1; /* mod 2^32 */
	uint32_t seqh;

	if (tl >= w->size - 1) {
		if (seql >= bl) {
			seqh = th;
		} else {
			if (th == UINT32_MAX)
				return false;
			seqh = th + 1;
		}
	} else {
		if (seql >= bl) {
			if (th == 0)
				return false; /* before the first packet of the SA */
			seqh = th - 1;
		} else {
			seqh = th;
		}
	}
	*full = (uint64_t)seqh << 32 | seql;
	return true;
}

static bool bit_is_set(const struct replay_window *w, uint64_t seq)
{
	uint64_t blk = (seq >> 6) & (w->nblocks - 1);
	return (w->bits[blk] >> (seq & 63)) & 1;
}

/* Number 0 is never sent (RFC 4303 3.3.3: the first packet has 1). Left of
 * the window means top - seq >= size. */
static bool in_window_unseen(const struct replay_window *w, uint64_t seq)
{
	if (seq == 0)
		return false;
	if (seq > w->top)
		return true;
	if (w->top - seq >= w->size)
		return false;
	return !bit_is_set(w, seq);
}

bool replay_check(const struct replay_window *w, uint32_t seq_lo, uint64_t *seq_full)
{
	uint64_t full = seq_lo;

	if (w->esn && !esn_infer(w, seq_lo, &full))
		return false;
	if (!in_window_unseen(w, full))
		return false;
	*seq_full = full;
	return true;
}

/* RFC 6479 2.3: clear the blocks between the old and the new top block;
 * at most the whole ring. */
static void advance(struct replay_window *w, uint64_t seq)
{
	uint64_t cur = w->top >> 6, nxt = seq >> 6;
	uint64_t diff = nxt - cur;

	if (diff > w->nblocks)
		diff = w->nblocks;
	for (uint64_t i = 1; i <= diff; i++)
		w->bits[(cur + i) & (w->nblocks - 1)] = 0;
	w->top = seq;
}

bool replay_update(struct replay_window *w, uint64_t seq_full)
{
	/* Without ESN only 32-bit numbers exist (RFC 4303 2.2). */
	if (!w->esn && seq_full > UINT32_MAX)
		return false;
	if (!in_window_unseen(w, seq_full))
		return false;
	if (seq_full > w->top)
		advance(w, seq_full);
	w->bits[(seq_full >> 6) & (w->nblocks - 1)] |= 1ull << (seq_full & 63);
	return true;
}
