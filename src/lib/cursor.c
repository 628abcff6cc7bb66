#include "lib/cursor.h"

#include <string.h>

static bool need(struct cur *c, size_t n)
{
	if (c->failed || n > c->len - c->off) {
		c->failed = true;
		return false;
	}
	return true;
}

bool cur_u8(struct cur *c, uint8_t *v)
{
	if (!need(c, 1))
		return false;
	*v = c->p[c->off++];
	return true;
}

bool cur_u16(struct cur *c, uint16_t *v)
{
	if (!need(c, 2))
		return false;
	*v = get_be16(c->p + c->off);
	c->off += 2;
	return true;
}

bool cur_u32(struct cur *c, uint32_t *v)
{
	if (!need(c, 4))
		return false;
	*v = get_be32(c->p + c->off);
	c->off += 4;
	return true;
}

bool cur_u64(struct cur *c, uint64_t *v)
{
	uint32_t hi = 0, lo = 0;
	if (!need(c, 8))
		return false;
	cur_u32(c, &hi);
	cur_u32(c, &lo);
	*v = (uint64_t)hi << 32 | lo;
	return true;
}

bool cur_bytes(struct cur *c, void *dst, size_t n)
{
	if (!need(c, n))
		return false;
	if (n)
		memcpy(dst, c->p + c->off, n);
	c->off += n;
	return true;
}

bool cur_skip(struct cur *c, size_t n)
{
	if (!need(c, n))
		return false;
	c->off += n;
	return true;
}

bool cur_view(struct cur *c, const uint8_t **out, size_t n)
{
	if (!need(c, n))
		return false;
	*out = c->p + c->off;
	c->off += n;
	return true;
}

bool cur_sub(struct cur *c, struct cur *sub, size_t n)
{
	if (!need(c, n))
		return false;
	*sub = cur_init(c->p + c->off, n);
	c->off += n;
	return true;
}

bool cur_peek_u8(const struct cur *c, size_t at, uint8_t *v)
{
	if (c->failed || at >= c->len - c->off)
		return false;
	*v = c->p[c->off + at];
	return true;
}

static bool wneed(struct wcur *w, size_t n)
{
	if (w->failed || n > w->cap - w->off) {
		w->failed = true;
		return false;
	}
	return true;
}

bool wcur_u8(struct wcur *w, uint8_t v)
{
	if (!wneed(w, 1))
		return false;
	w->p[w->off++] = v;
	return true;
}

bool wcur_u16(struct wcur *w, uint16_t v)
{
	if (!wneed(w, 2))
		return false;
	put_be16(w->p + w->off, v);
	w->off += 2;
	return true;
}

bool wcur_u32(struct wcur *w, uint32_t v)
{
	if (!wneed(w, 4))
		return false;
	put_be32(w->p + w->off, v);
	w->off += 4;
	return true;
}

bool wcur_u64(struct wcur *w, uint64_t v)
{
	if (!wneed(w, 8))
		return false;
	wcur_u32(w, (uint32_t)(v >> 32));
	wcur_u32(w, (uint32_t)v);
	return true;
}

bool wcur_bytes(struct wcur *w, const void *src, size_t n)
{
	if (!wneed(w, n))
		return false;
	if (n)
		memcpy(w->p + w->off, src, n);
	w->off += n;
	return true;
}

bool wcur_zero(struct wcur *w, size_t n)
{
	if (!wneed(w, n))
		return false;
	memset(w->p + w->off, 0, n);
	w->off += n;
	return true;
}

uint8_t *wcur_reserve(struct wcur *w, size_t n)
{
	uint8_t *at;
	if (!wneed(w, n))
		return NULL;
	at = w->p + w->off;
	w->off += n;
	return at;
}
