/* Anti-replay window, RFC 4303 3.4.3 and Appendix A, with the bitmap of
 * RFC 6479 (no shifting: a ring of 64-bit blocks, whole blocks cleared as
 * the window advances). Sizes from 32 to at least 65536 packets. With ESN
 * (RFC 4303 A2.2) the high 32 bits of the sequence are inferred. */
#ifndef ESPRIT_IPSEC_REPLAY_H
#define ESPRIT_IPSEC_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

struct replay_window; /* opaque */

/* size: packets (rounded up to a multiple of 64 internally, window edge
 * kept exact). Returns NULL on bad size or allocation failure. */
struct replay_window *replay_new(uint32_t size, bool esn);
void replay_free(struct replay_window *w);

/* Before the ICV check: given the 32 low bits from the wire, decide if the
 * packet can be accepted and infer the full 64-bit number (for ESN, it is
 * needed to verify the ICV). Returns false for a replay or a number too far
 * left of the window. Does not change the window. */
bool replay_check(const struct replay_window *w, uint32_t seq_lo, uint64_t *seq_full);
/* After the ICV verified: mark seq as seen and advance. Returns false if it
 * was seen in the meantime (concurrent duplicate). */
bool replay_update(struct replay_window *w, uint64_t seq_full);
uint64_t replay_top(const struct replay_window *w);
uint32_t replay_size(const struct replay_window *w);

#endif
