/* Key material. A struct secret owns its bytes and wipes them when freed
 * (STYLE.md 12). Never log the contents. */
#ifndef ESPRIT_LIB_SECRET_H
#define ESPRIT_LIB_SECRET_H

#include <stddef.h>
#include <stdint.h>

struct secret {
	size_t len;
	uint8_t *p;
};

/* Allocate len bytes (zeroed). Returns NULL on allocation failure. */
struct secret *secret_new(size_t len);
struct secret *secret_from(const void *p, size_t len);
struct secret *secret_dup(const struct secret *s);
/* Wipe and free; NULL is fine. */
void secret_free(struct secret *s);
/* Wipe a stack or heap buffer that held key material. */
void secret_wipe(void *p, size_t len);

/* Parse hex ("0x" prefix optional, no separators) into a new secret.
 * Returns NULL if the text is not even-length hex. */
struct secret *secret_from_hex(const char *hex);

#endif
