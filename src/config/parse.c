/* The configuration parser: lines -> tokens -> the command table, with IOS
 * modes. A line that is not valid in the current sub-mode is tried in
 * global mode (the implicit exit that lets unindented configs from the
 * vendor guides load). The first error stops the load. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/grammar.h"

#define CFG_FILE_MAX (16u << 20)

struct line_toks {
	unsigned n;
	char t[CFG_MAX_TOKENS + 1][128];
	unsigned col[CFG_MAX_TOKENS + 1];
};

int pctx_err(struct pctx *p, int tok, const char *fmt, ...)
{
	va_list ap;

	p->err_tok = tok;
	va_start(ap, fmt);
	vsnprintf(p->err_msg, sizeof(p->err_msg), fmt, ap);
	va_end(ap);
	return -1;
}

int mtok_find(const struct cmd_match *m, const char *kw)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->t[i].kw && strcmp(m->t[i].kw, kw) == 0)
			return (int)i;
	return -1;
}

bool mtok_is(const struct cmd_match *m, unsigned i, const char *kw)
{
	return i < m->n && m->t[i].kw && strcmp(m->t[i].kw, kw) == 0;
}

static void err_at(struct cfg_error *err, int kind, unsigned col, const char *tok,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void err_at(struct cfg_error *err, int kind, unsigned col, const char *tok,
		   const char *fmt, ...)
{
	va_list ap;

	err->kind = kind;
	err->col = col;
	snprintf(err->token, sizeof(err->token), "%s", tok);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/* Split on blanks; columns are 1-based. */
static int tokenize(const char *s, struct line_toks *lt, struct cfg_error *err)
{
	const char *start = s;

	lt->n = 0;
	while (*s) {
		size_t k = 0;
		unsigned col;

		if (isspace((unsigned char)*s)) {
			s++;
			continue;
		}
		col = (unsigned)(s - start) + 1;
		if (lt->n > CFG_MAX_TOKENS) {
			err_at(err, CFG_ERR_INVALID, col, "", "too many words on one line");
			return -1;
		}
		while (*s && !isspace((unsigned char)*s)) {
			if (k == sizeof(lt->t[0]) - 1) {
				err_at(err, CFG_ERR_INVALID, col, "", "word too long");
				return -1;
			}
			lt->t[lt->n][k++] = *s++;
		}
		lt->t[lt->n][k] = '\0';
		lt->col[lt->n++] = col;
	}
	return 0;
}

bool config_line_is_exec(const char *line, const char **exec)
{
	while (isspace((unsigned char)*line))
		line++;
	if (strncasecmp(line, "do", 2) != 0 || !isspace((unsigned char)line[2]))
		return false;
	line += 2;
	while (isspace((unsigned char)*line))
		line++;
	if (exec)
		*exec = line;
	return *line != '\0';
}

/* ---- one line ------------------------------------------------------- */

static void join_from(const struct line_toks *lt, unsigned from, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned i = from; i < lt->n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i > from ? " " : "", lt->t[i]);
}

/* Inside an opaque block: indented lines, and unindented lines whose first
 * word is not a global command, belong to the block. */
static bool opaque_owns(const struct line_toks *lt, unsigned first, bool indented)
{
	struct cmd_match m;
	struct cfg_error e;
	unsigned reached;

	if (indented)
		return true;
	if (grammar_match(MODE_GLOBAL, (char(*)[128])lt->t[first], &lt->col[first], 1, true, &m,
			  &e, &reached) == 0)
		return false;
	return reached == 0 && e.kind != CFG_ERR_AMBIGUOUS;
}

static int opaque_line(struct pctx *p, const struct line_toks *lt, struct cfg_error *err)
{
	struct config *c = p->cfg;
	char buf[1024];
	unsigned end = (unsigned)p->opaque_idx + 1;

	buf[0] = ' ';
	join_from(lt, 0, buf + 1, sizeof(buf) - 1);
	while (end < c->nopaque && c->opaque[end][0] == ' ') {
		if (strcmp(c->opaque[end], buf) == 0)
			return 0; /* already there */
		end++;
	}
	if (cfg_opaque_add(c, buf, (int)end) < 0) {
		err_at(err, CFG_ERR_INVALID, 1, "", "out of memory");
		return -1;
	}
	return 0;
}

static int run_apply(struct pctx *p, struct cmd_match *m, bool neg, struct cfg_error *err)
{
	const struct cfg_cmd *cmd = &cfg_cmds[m->cmd];

	p->err_tok = -1;
	for (unsigned i = 0; i < m->n; i++) {
		if (m->t[i].type == TT_WORD && strlen(m->t[i].text) >= CFG_NAME_MAX) {
			err_at(err, CFG_ERR_INVALID, m->t[i].col, m->t[i].text,
			       "names are at most %d characters", CFG_NAME_MAX - 1);
			return -1;
		}
	}
	if (cmd->apply(p, m, neg) == 0)
		return 0;
	if (p->err_tok < 0 || (unsigned)p->err_tok >= m->n) {
		const struct mtok *last = &m->t[m->n ? m->n - 1 : 0];

		err_at(err, CFG_ERR_INCOMPLETE,
		       m->n ? last->col + (unsigned)strlen(last->text) + 1 : 1, "", "%s",
		       p->err_msg);
		return -1;
	}
	err_at(err, CFG_ERR_SEMANTIC, m->t[p->err_tok].col, m->t[p->err_tok].text, "%s",
	       p->err_msg);
	return -1;
}

/* Try the current sub-mode, then global mode (implicit exit). On failure
 * report the error that got furthest into the line. */
static int dispatch(struct pctx *p, struct line_toks *lt, unsigned first, bool neg,
		    struct cfg_error *err)
{
	struct cmd_match *m = malloc(sizeof(*m));
	struct cfg_error e2;
	unsigned r1 = 0, r2 = 0, n = lt->n - first;
	char(*toks)[128] = (char(*)[128])lt->t[first];
	int ret = -1;

	if (!m) {
		err_at(err, CFG_ERR_INVALID, 1, "", "out of memory");
		return -1;
	}
	if (p->mode != MODE_GLOBAL && p->mode != MODE_OPAQUE &&
	    grammar_match(p->mode, toks, &lt->col[first], n, neg, m, err, &r1) == 0) {
		ret = run_apply(p, m, neg, err);
		goto out;
	}
	/* a nested sub-mode (keyring peer) falls back to its parent first */
	if (cfg_mode_parent(p->mode) >= 0) {
		struct cfg_error e3;
		unsigned r3 = 0;

		if (grammar_match(cfg_mode_parent(p->mode), toks, &lt->col[first], n, neg, m, &e3,
				  &r3) == 0) {
			p->mode = cfg_mode_parent(p->mode);
			ret = run_apply(p, m, neg, err);
			goto out;
		}
		if (r3 > r1) {
			*err = e3;
			r1 = r3;
		}
	}
	e2 = *err;
	if (grammar_match(MODE_GLOBAL, toks, &lt->col[first], n, neg, m, err, &r2) == 0) {
		p->mode = MODE_GLOBAL;
		ret = run_apply(p, m, neg, err);
		goto out;
	}
	if (p->mode != MODE_GLOBAL && p->mode != MODE_OPAQUE && r1 >= r2)
		*err = e2;
out:
	free(m);
	return ret;
}

static int parse_line(struct pctx *p, const char *line, struct line_toks *lt,
		      struct cfg_error *err)
{
	bool indented = isspace((unsigned char)line[0]);
	const char *s = line;
	unsigned first = 0;
	bool neg;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0' || *s == '!' || *s == '#')
		return 0;
	if (tokenize(line, lt, err) < 0)
		return -1;
	if (strcasecmp(lt->t[0], "do") == 0) {
		err_at(err, CFG_ERR_EXEC, lt->col[0], lt->t[0],
		       "'do' runs an exec command: not applicable in a configuration");
		return -1;
	}
	neg = strcasecmp(lt->t[0], "no") == 0;
	first = neg ? 1 : 0;
	if (neg && lt->n == 1) {
		err_at(err, CFG_ERR_INCOMPLETE, lt->col[0] + 3, "", "incomplete command");
		return -1;
	}
	if (p->mode == MODE_OPAQUE && opaque_owns(lt, first, indented))
		return opaque_line(p, lt, err);
	return dispatch(p, lt, first, neg, err);
}

/* Run every line of text on c. 0, or -1 with err filled (file, line, text). */
static int parse_text(struct config *c, const char *file, const char *text,
		      struct cfg_error *err)
{
	struct pctx p = {.cfg = c, .mode = MODE_GLOBAL};
	struct line_toks *lt = malloc(sizeof(*lt));
	char line[1024];
	int ret = 0;

	if (!lt) {
		err_at(err, CFG_ERR_INVALID, 1, "", "out of memory");
		return -1;
	}
	for (const char *s = text; *s && ret == 0;) {
		size_t n = strcspn(s, "\n");

		p.line++;
		if (n >= sizeof(line)) {
			snprintf(err->text, sizeof(err->text), "%.*s", (int)(sizeof(err->text) - 1), s);
			err_at(err, CFG_ERR_INVALID, 1, "", "line too long");
			err->line = p.line;
			ret = -1;
			break;
		}
		memcpy(line, s, n);
		line[n] = '\0';
		if (n && line[n - 1] == '\r')
			line[n - 1] = '\0';
		s += n + (s[n] == '\n');
		p.raw = line;
		ret = parse_line(&p, line, lt, err);
		if (ret < 0) {
			err->line = p.line;
			snprintf(err->text, sizeof(err->text), "%.511s", line);
		}
	}
	free(lt);
	if (ret < 0)
		snprintf(err->file, sizeof(err->file), "%s", file);
	return ret;
}

/* Validation errors name a line and a token: find the text and column. */
static void locate(struct cfg_error *err, const char *text)
{
	const char *s = text;
	size_t n, tl = strlen(err->token);

	for (unsigned l = 1; l < err->line && s; l++) {
		s = strchr(s, '\n');
		s = s ? s + 1 : NULL;
	}
	if (!s || !err->line)
		return;
	n = strcspn(s, "\r\n");
	snprintf(err->text, sizeof(err->text), "%.*s", (int)n, s);
	err->col = 1;
	for (const char *q = err->text; tl && *q; q++) {
		bool start = q == err->text || isspace((unsigned char)q[-1]);
		bool hex0x = start && strncasecmp(q, "0x", 2) == 0;

		const char *w = hex0x && strncasecmp(q, err->token, tl) != 0 ? q + 2 : q;
		/* a token that filled err->token may have been cut short */
		bool end = tl == sizeof(err->token) - 1 || w[tl] == '\0' ||
			   isspace((unsigned char)w[tl]);

		if (start && end && strncasecmp(w, err->token, tl) == 0) {
			err->col = (unsigned)(q - err->text) + 1;
			break;
		}
	}
}

static struct config *finish(struct config *c, const char *file, const char *text, int ret,
			     struct cfg_error *err)
{
	if (ret == 0 && !config_validate(c, err)) {
		snprintf(err->file, sizeof(err->file), "%s", file);
		locate(err, text);
		ret = -1;
	}
	if (ret < 0) {
		config_free(c);
		return NULL;
	}
	return c;
}

struct config *config_load_buffer(const char *name, const char *text, struct cfg_error *err)
{
	struct config *c = config_new();

	memset(err, 0, sizeof(*err));
	if (!c) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return NULL;
	}
	snprintf(c->source_file, sizeof(c->source_file), "%s", name);
	return finish(c, name, text, parse_text(c, name, text, err), err);
}

struct config *config_apply_lines(const struct config *base, const char *text,
				  struct cfg_error *err)
{
	struct config *c = config_dup(base);

	memset(err, 0, sizeof(*err));
	if (!c) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return NULL;
	}
	return finish(c, "terminal", text, parse_text(c, "terminal", text, err), err);
}

struct config *config_load_file(const char *path, struct cfg_error *err)
{
	FILE *f = fopen(path, "r");
	struct config *c = NULL;
	char *buf = NULL;
	size_t n = 0;

	memset(err, 0, sizeof(*err));
	snprintf(err->file, sizeof(err->file), "%s", path);
	if (!f) {
		snprintf(err->msg, sizeof(err->msg), "cannot open: %s", strerror(errno));
		return NULL;
	}
	buf = malloc(CFG_FILE_MAX + 1);
	if (buf)
		n = fread(buf, 1, CFG_FILE_MAX + 1, f);
	if (!buf || ferror(f) || n > CFG_FILE_MAX || memchr(buf, '\0', n)) {
		snprintf(err->msg, sizeof(err->msg), "cannot read (too large, binary or I/O error)");
		goto out;
	}
	buf[n] = '\0';
	c = config_load_buffer(path, buf, err);
out:
	fclose(f);
	free(buf);
	return c;
}

/* ---- errors --------------------------------------------------------- */

static const char *err_header(int kind)
{
	switch (kind) {
	case CFG_ERR_AMBIGUOUS:
		return "% Ambiguous command";
	case CFG_ERR_INCOMPLETE:
		return "% Incomplete command.";
	case CFG_ERR_EXEC:
		return "% Exec command in configuration";
	default:
		return "% Invalid input detected at '^' marker.";
	}
}

void cfg_error_format(const struct cfg_error *e, char *buf, size_t len)
{
	size_t off;
	char text[sizeof(e->text)];

	off = (size_t)snprintf(buf, len, "%s:%u:%u: %s\n", e->file, e->line, e->col,
			       err_header(e->kind));
	if (off < len && e->text[0]) {
		/* tabs as spaces, so that the caret lines up */
		snprintf(text, sizeof(text), "%s", e->text);
		for (char *t = text; *t; t++)
			if (*t == '\t')
				*t = ' ';
		off += (size_t)snprintf(buf + off, len - off, "   %s\n   %*s^\n", text,
					(int)(e->col ? e->col - 1 : 0), "");
	}
	if (off < len)
		snprintf(buf + off, len - off, "%s\n", e->msg);
}

/* ---- help ------------------------------------------------------------ */

static int mode_of(const char *mode_path)
{
	struct line_toks *lt = malloc(sizeof(*lt));
	struct cmd_match *m = malloc(sizeof(*m));
	struct cfg_error e;
	unsigned reached;
	int mode = MODE_GLOBAL;

	if (lt && m && mode_path && tokenize(mode_path, lt, &e) == 0 && lt->n &&
	    grammar_match(MODE_GLOBAL, lt->t, lt->col, lt->n, false, m, &e, &reached) == 0 &&
	    cfg_cmds[m->cmd].enters >= 0)
		mode = cfg_cmds[m->cmd].enters;
	free(lt);
	free(m);
	return mode;
}

static void help_extra(struct cfg_help *out, unsigned *n, unsigned max, int mode, const char *pfx)
{
	static const char *const words[] = {"no", "do", "exit", "end"};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (*n >= max || strncasecmp(words[i], pfx, strlen(pfx)) != 0)
			continue;
		if (mode == MODE_GLOBAL && i >= 2)
			continue; /* already in the global table */
		snprintf(out[*n].word, sizeof(out[0].word), "%s", words[i]);
		snprintf(out[*n].help, sizeof(out[0].help), "%s", cfg_kw_help(words[i], -1));
		(*n)++;
	}
}

unsigned config_help(const char *mode_path, const char *partial, struct cfg_help *out,
		     unsigned max)
{
	struct line_toks *lt = malloc(sizeof(*lt));
	struct cfg_error e;
	int mode = mode_of(mode_path);
	size_t plen = partial ? strlen(partial) : 0;
	bool part = plen && !isspace((unsigned char)partial[plen - 1]);
	unsigned first = 0, n = 0;

	if (!lt || tokenize(partial ? partial : "", lt, &e) < 0)
		goto out;
	if (lt->n && strcasecmp(lt->t[0], "no") == 0 && (lt->n > 1 || !part))
		first = 1;
	n = grammar_help(mode, (char(*)[128])lt->t[first], lt->n - first, part, out, max);
	if (lt->n - first == 0 || (lt->n - first == 1 && part && first == 0))
		help_extra(out, &n, max, mode, part ? lt->t[lt->n - 1] : "");
out:
	free(lt);
	return n;
}
