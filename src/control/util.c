/* Output buffers and small helpers shared by the command handlers. */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/internal.h"

/* Grow to hold len more bytes plus a NUL. On allocation failure the
 * buffer keeps what it has: output is truncated, never corrupted. */
static bool reserve(struct strbuf *b, size_t len)
{
	size_t cap;
	char *p;

	if (b->len + len + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + len + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		return false;
	b->p = p;
	b->cap = cap;
	return true;
}

void strbuf_append(struct strbuf *b, const char *s, size_t len)
{
	if (!reserve(b, len))
		return;
	memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void strbuf_putc(struct strbuf *b, char c)
{
	strbuf_append(b, &c, 1);
}

void strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void strbuf_reset(struct strbuf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

void strbuf_free(struct strbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void ctl_json_out(struct ctl_ctx *x, struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
	strbuf_printf(x->out, "%s\n", s ? s : "null");
	json_object_put(o);
}

bool ctl_args_has(const struct ctl_args *a, const char *kw)
{
	for (unsigned i = 0; i < a->n; i++)
		if (strcmp(a->word[i], kw) == 0)
			return true;
	return false;
}

const char *ctl_args_after(const struct ctl_args *a, const char *kw)
{
	for (unsigned i = 0; i + 1 < a->n; i++)
		if (strcmp(a->word[i], kw) == 0)
			return a->val[i + 1];
	return NULL;
}
