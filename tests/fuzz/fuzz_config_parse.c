/* The config parser on arbitrary text: config_load_buffer, then (if it
 * loaded) config_write and a reload of the written text, which must load
 * and write back identically (load -> write -> load is the identity). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/model.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg_error err;
	struct config *c, *c2;
	char *text, *out, *out2;

	if (size > 65536)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0'; /* a NUL inside ends the buffer, as in a C string */
	log_set_level(LOG_LVL_ERR); /* weak-algorithm warnings are expected */
	c = config_load_buffer("fuzz", text, &err);
	free(text);
	if (!c)
		return 0;
	out = config_write(c);
	if (out) {
		c2 = config_load_buffer("fuzz-written", out, &err);
		if (!c2 || !config_equal(c, c2))
			abort(); /* what we write must load back to the same model */
		out2 = config_write(c2);
		if (!out2 || strcmp(out, out2) != 0)
			abort();
		free(out2);
		config_free(c2);
	}
	free(out);
	config_free(c);
	return 0;
}
