#include "lib/secret.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

struct secret *secret_new(size_t len)
{
	struct secret *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->p = calloc(1, len ? len : 1);
	if (!s->p) {
		free(s);
		return NULL;
	}
	s->len = len;
	return s;
}

struct secret *secret_from(const void *p, size_t len)
{
	struct secret *s = secret_new(len);
	if (s && len)
		memcpy(s->p, p, len);
	return s;
}

struct secret *secret_dup(const struct secret *s)
{
	return s ? secret_from(s->p, s->len) : NULL;
}

void secret_free(struct secret *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s->p, s->len);
	free(s->p);
	free(s);
}

void secret_wipe(void *p, size_t len)
{
	OPENSSL_cleanse(p, len);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

struct secret *secret_from_hex(const char *hex)
{
	size_t n;
	struct secret *s;

	if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
		hex += 2;
	n = strlen(hex);
	if (n == 0 || n % 2)
		return NULL;
	s = secret_new(n / 2);
	if (!s)
		return NULL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			secret_free(s);
			return NULL;
		}
		s->p[i] = (uint8_t)(hi << 4 | lo);
	}
	return s;
}
