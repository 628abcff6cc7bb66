/* Bounds-checked cursors for reading and writing wire data.
 *
 * Every byte that comes from the network is read through a struct cur
 * allocated on the caller's stack (STYLE.md 6). Reads past the end fail
 * closed: the read returns false, leaves the output untouched, and marks
 * the cursor as failed so that a chain of reads can be checked once.
 * Multi-byte integers are network byte order (big-endian) unless the name
 * says otherwise.
 */
#ifndef ESPRIT_LIB_CURSOR_H
#define ESPRIT_LIB_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cur {
	const uint8_t *p; /* borrowed: valid while the packet buffer is */
	size_t len;
	size_t off;
	bool failed;
};

static inline struct cur cur_init(const void *p, size_t len)
{
	struct cur c = {.p = p, .len = len, .off = 0, .failed = false};
	return c;
}

static inline size_t cur_left(const struct cur *c)
{
	return c->failed ? 0 : c->len - c->off;
}

static inline bool cur_ok(const struct cur *c)
{
	return !c->failed;
}

/* Current position (for computing offsets, never for reading). */
static inline const uint8_t *cur_ptr(const struct cur *c)
{
	return c->p + c->off;
}

bool cur_u8(struct cur *c, uint8_t *v);
bool cur_u16(struct cur *c, uint16_t *v);
bool cur_u32(struct cur *c, uint32_t *v);
bool cur_u64(struct cur *c, uint64_t *v);
bool cur_bytes(struct cur *c, void *dst, size_t n);
bool cur_skip(struct cur *c, size_t n);
/* Borrow n bytes in place: *out points into the buffer. */
bool cur_view(struct cur *c, const uint8_t **out, size_t n);
/* Split off the next n bytes as a sub-cursor (e.g. one payload). */
bool cur_sub(struct cur *c, struct cur *sub, size_t n);
/* Peek without consuming. */
bool cur_peek_u8(const struct cur *c, size_t at, uint8_t *v);

/* Writer over a caller-owned buffer; same fail-closed rule. */
struct wcur {
	uint8_t *p;
	size_t cap;
	size_t off;
	bool failed;
};

static inline struct wcur wcur_init(void *p, size_t cap)
{
	struct wcur w = {.p = p, .cap = cap, .off = 0, .failed = false};
	return w;
}

bool wcur_u8(struct wcur *w, uint8_t v);
bool wcur_u16(struct wcur *w, uint16_t v);
bool wcur_u32(struct wcur *w, uint32_t v);
bool wcur_u64(struct wcur *w, uint64_t v);
bool wcur_bytes(struct wcur *w, const void *src, size_t n);
bool wcur_zero(struct wcur *w, size_t n);
/* Reserve n bytes and return where they are (to fill in a length later). */
uint8_t *wcur_reserve(struct wcur *w, size_t n);

/* Unchecked helpers for fixed offsets the caller has already validated. */
static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}
static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
