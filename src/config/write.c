/* show running-config and write memory. The text comes from the writer
 * functions of the command table, in table order: one canonical form, so
 * that load -> write -> load -> write is byte-identical. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/grammar.h"
#include "lib/secret.h"

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
		char *p = realloc(b->p, cap);

		if (!p) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

void write_submode(struct sbuf *b, const struct config *c, int mode, const void *obj)
{
	for (size_t i = 0; i < cfg_ncmds; i++)
		if (cfg_cmds[i].mode == mode && cfg_cmds[i].write)
			cfg_cmds[i].write(b, c, obj);
}

char *config_write(const struct config *c)
{
	struct sbuf b = {0};

	write_submode(&b, c, MODE_GLOBAL, NULL);
	sbuf_printf(&b, "end\n");
	if (b.failed) {
		if (b.p)
			secret_wipe(b.p, b.cap);
		free(b.p);
		return NULL;
	}
	return b.p;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int fsync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, ret = -1;

	if (!copy)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		ret = fsync(fd);
		close(fd);
	}
	free(copy);
	return ret;
}

/* write memory: the new text goes to a temporary file in the same
 * directory, is synced, the old file is kept as PATH.bak (a hard link, so
 * PATH never disappears), and the temporary file is renamed over PATH.
 * The file holds manual keys: mode 0600. */
int config_save(const struct config *c, const char *path)
{
	char tmp[4096], bak[4096];
	char *text = config_write(c);
	int fd = -1, ret = -1, saved;

	if (!text) {
		errno = ENOMEM;
		return -1;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= (int)sizeof(tmp) ||
	    snprintf(bak, sizeof(bak), "%s.bak", path) >= (int)sizeof(bak)) {
		errno = ENAMETOOLONG;
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0)
		goto out;
	if (write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		goto out_unlink;
	}
	fd = -1;
	if (unlink(bak) < 0 && errno != ENOENT)
		goto out_unlink;
	if (link(path, bak) < 0 && errno != ENOENT && rename(path, bak) < 0)
		goto out_unlink;
	if (rename(tmp, path) < 0)
		goto out_unlink;
	ret = fsync_dir(path);
	goto out;
out_unlink:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
out:
	secret_wipe(text, strlen(text));
	free(text);
	return ret;
}
