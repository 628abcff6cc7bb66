/* configure terminal / configure replace / configure lines.
 *
 * A change is applied as a whole (ARCHITECTURE.md "Configuration model"):
 * configure-terminal lines are accumulated in the session and applied at
 * `end` (or `exit` at the top level, Ctrl-Z, or the client's EOF) with
 * config_apply_lines() on the running config, then ops->apply. A config
 * with an error applies nothing. Each line is also checked as it is typed
 * (the pending text plus the line is parsed): a syntax error is reported
 * at once and the line is not kept, as IOS refuses a bad line; errors that
 * need the whole config (an undefined transform set, missing keys) are
 * reported at `end`.
 *
 * The mode stack (for the prompt and for `?` in sub-modes) is followed
 * with src/config's help interface only: a line enters a sub-mode when the
 * help after it differs from the help of the mode it was typed in; a line
 * that is a complete command of the parent mode but not of the current
 * one leaves the sub-mode (IOS's implicit exit). */
#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/model.h"
#include "control/internal.h"

#define HELP_MAX 256

/* ---- mode stack ----------------------------------------------------------- */

/* The mode path for config_help: the lines that entered each sub-mode,
 * outermost first, joined by '\n'. depth 0 = global configuration. */
static char *mode_path(const struct ctl_session *s, unsigned depth, const char *extra)
{
	struct strbuf b = {0};

	for (unsigned i = 0; i < depth; i++)
		strbuf_printf(&b, "%s%s", i ? "\n" : "", s->mode_line[i]);
	if (extra)
		strbuf_printf(&b, "%s%s", depth ? "\n" : "", extra);
	if (!b.p)
		strbuf_printf(&b, "%s", "");
	return b.p;
}

static unsigned help_at(const char *path, const char *partial, struct cfg_help *h)
{
	return config_help(path && path[0] ? path : NULL, partial, h, HELP_MAX);
}

/* The help listing as one string, to compare modes. */
static char *help_sig(const char *path)
{
	struct cfg_help *h = calloc(HELP_MAX, sizeof(*h));
	struct strbuf b = {0};
	unsigned n;

	if (!h)
		return NULL;
	n = help_at(path, "", h);
	for (unsigned i = 0; i < n; i++)
		strbuf_printf(&b, "%s ", h[i].word);
	if (!b.p)
		strbuf_printf(&b, "%s", "");
	free(h);
	return b.p;
}

/* Is line a complete command in the mode of path? */
static bool complete_in(const char *path, const char *line)
{
	struct cfg_help *h = calloc(HELP_MAX, sizeof(*h));
	char *l = NULL;
	bool ret = false;
	unsigned n;

	if (!h || asprintf(&l, "%s ", line) < 0) {
		free(h);
		return false;
	}
	n = help_at(path, l, h);
	for (unsigned i = 0; i < n && !ret; i++)
		ret = strcmp(h[i].word, "<cr>") == 0;
	free(l);
	free(h);
	return ret;
}

static bool enters(const struct ctl_session *s, const char *line)
{
	char *cur = mode_path(s, s->depth, NULL), *cand = mode_path(s, s->depth, line);
	char *a = help_sig(cur), *b = help_sig(cand), *g = help_sig(NULL);
	bool ret = a && b && g && strcmp(a, b) != 0 && strcmp(b, g) != 0;

	free(cur);
	free(cand);
	free(a);
	free(b);
	free(g);
	return ret;
}

/* The canonical keywords of line (abbreviations expanded through the
 * grammar), for naming the sub-mode in the prompt. */
static void canonical(const struct ctl_session *s, const char *line, char *buf, size_t len)
{
	struct cfg_help *h = calloc(HELP_MAX, sizeof(*h));
	char *path = mode_path(s, s->depth, NULL), *copy = strdup(line), *save = NULL;
	struct strbuf pre = {0};

	buf[0] = '\0';
	if (!h || !path || !copy)
		goto out;
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		const char *word = w;
		unsigned n, nkw = 0;

		strbuf_printf(&pre, "%s", w);
		n = help_at(path, pre.p, h);
		for (unsigned i = 0; i < n; i++) {
			if (strcasecmp(h[i].word, w) == 0) {
				word = h[i].word;
				nkw = 1;
				break;
			}
			if (islower((unsigned char)h[i].word[0]) && nkw++ == 0)
				word = h[i].word;
		}
		if (nkw != 1)
			word = w;
		strbuf_printf(&pre, " ");
		size_t l = strlen(buf);
		snprintf(buf + l, len - l, "%s%s", l ? " " : "", word);
	}
out:
	strbuf_free(&pre);
	free(copy);
	free(path);
	free(h);
}

static const struct {
	const char *prefix;
	const char *name;
} mode_names[] = {
	{"crypto map ", "config-crypto-map"},
	{"crypto ipsec transform-set ", "cfg-crypto-trans"},
	{"crypto ipsec profile ", "ipsec-profile"},
	{"crypto ikev2 proposal ", "config-ikev2-proposal"},
	{"crypto ikev2 policy ", "config-ikev2-policy"},
	{"crypto ikev2 keyring ", "config-ikev2-keyring"},
	{"crypto ikev2 profile ", "config-ikev2-profile"},
	{"crypto isakmp policy ", "config-isakmp"},
	{"crypto pki trustpoint ", "ca-trustpoint"},
	{"ip access-list extended ", "config-ext-nacl"},
	{"ipv6 access-list ", "config-ipv6-acl"},
	{"interface ", "config-if"},
	{"peer ", "config-ikev2-keyring-peer"},
};

static void push_mode(struct ctl_session *s, const char *line)
{
	char canon[512];

	if (s->depth == CTL_MODE_DEPTH)
		return;
	canonical(s, line, canon, sizeof(canon));
	s->mode_line[s->depth] = strdup(line);
	if (!s->mode_line[s->depth])
		return;
	snprintf(s->mode_name[s->depth], sizeof(s->mode_name[0]), "config-sub");
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (strncmp(canon, mode_names[i].prefix, strlen(mode_names[i].prefix)) == 0) {
			snprintf(s->mode_name[s->depth], sizeof(s->mode_name[0]), "%s",
				 mode_names[i].name);
			break;
		}
	s->depth++;
}

static void pop_mode(struct ctl_session *s)
{
	if (!s->depth)
		return;
	s->depth--;
	free(s->mode_line[s->depth]);
	s->mode_line[s->depth] = NULL;
}

static bool is_word(const char *line, const char *word, size_t min)
{
	char w[32];

	if (sscanf(line, " %31s", w) != 1 || strlen(w) < min)
		return false;
	if (strncasecmp(word, w, strlen(w)) != 0)
		return false;
	/* nothing after the word */
	line = strstr(line, w) + strlen(w);
	while (isspace((unsigned char)*line))
		line++;
	return *line == '\0';
}

static bool starts_with_no(const char *line)
{
	while (isspace((unsigned char)*line))
		line++;
	return strncasecmp(line, "no", 2) == 0 && isspace((unsigned char)line[2]);
}

/* Follow the mode after an accepted line. */
static void track_mode(struct ctl_session *s, const char *line)
{
	if (starts_with_no(line))
		return;
	while (s->depth) {
		char *cur = mode_path(s, s->depth, NULL), *up = mode_path(s, s->depth - 1, NULL);
		bool stay = complete_in(cur, line) || !complete_in(up, line);

		free(cur);
		free(up);
		if (stay)
			break;
		pop_mode(s); /* implicit exit */
	}
	if (enters(s, line))
		push_mode(s, line);
}

void ctl_session_leave_config(struct ctl_session *s)
{
	while (s->depth)
		pop_mode(s);
	s->config = false;
	s->rejected = false;
	s->npending = 0;
	strbuf_reset(&s->pending);
}

/* ---- applying ------------------------------------------------------------- */

/* Parse text on top of the running config and hand the result to the
 * daemon. Nothing changes on any error. */
static int apply_text(struct ctl_ctx *x, const char *text, bool replace, const char *name)
{
	struct cfg_error ce;
	struct config *c;
	char msg[2048];

	if (replace)
		c = config_load_buffer(name, text, &ce);
	else
		c = config_apply_lines(x->ops->running(x->ops->arg), text, &ce);
	if (!c) {
		cfg_error_format(&ce, msg, sizeof(msg));
		strbuf_printf(x->out, "%s%% Configuration not applied: nothing changed\n", msg);
		return 1;
	}
	if (x->ops->apply(x->ops->arg, c, msg, sizeof(msg)) < 0) {
		strbuf_printf(x->out, "%% %s\n%% Configuration not applied: nothing changed\n",
			      msg);
		return 1;
	}
	if (x->json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "applied", json_object_new_boolean(1));
		ctl_json_out(x, o);
	}
	return 0;
}

int ctl_config_end(struct ctl_ctx *x)
{
	int ret = 0;

	if (x->s->npending)
		ret = apply_text(x, x->s->pending.p, false, "terminal");
	ctl_session_leave_config(x->s);
	return ret;
}

int ctl_configure_terminal(struct ctl_ctx *x, const struct ctl_args *a)
{
	(void)a;
	ctl_session_leave_config(x->s);
	x->s->config = true;
	if (!x->json)
		strbuf_printf(x->out, "Enter configuration commands, one per line.  End with "
				      "CNTL/Z.\n");
	return 0;
}

int ctl_configure_lines(struct ctl_ctx *x, const struct ctl_args *a)
{
	int ret;
	(void)a;

	if (!x->s->data.len) {
		strbuf_printf(x->out, "%% No configuration lines were sent\n");
		return 1;
	}
	ret = apply_text(x, x->s->data.p, false, "terminal");
	strbuf_reset(&x->s->data);
	return ret;
}

int ctl_configure_replace(struct ctl_ctx *x, const struct ctl_args *a)
{
	const char *file = ctl_args_after(a, "replace");
	struct cfg_error ce;
	struct config *c;
	char msg[2048];

	if (!file)
		return 1;
	c = config_load_file(file, &ce);
	if (!c) {
		cfg_error_format(&ce, msg, sizeof(msg));
		strbuf_printf(x->out, "%s%% Configuration not applied: nothing changed\n", msg);
		return 1;
	}
	if (x->ops->apply(x->ops->arg, c, msg, sizeof(msg)) < 0) {
		strbuf_printf(x->out, "%% %s\n%% Configuration not applied: nothing changed\n",
			      msg);
		return 1;
	}
	if (!x->json)
		strbuf_printf(x->out, "Configuration replaced from %s\n", file);
	return 0;
}

/* ---- one configure-terminal line -------------------------------------------- */

static int config_help_reply(struct ctl_ctx *x, const char *partial)
{
	struct cfg_help *h = calloc(HELP_MAX, sizeof(*h));
	char *path = mode_path(x->s, x->s->depth, NULL);
	struct json_object *arr = NULL;
	unsigned n;

	if (!h || !path) {
		free(h);
		free(path);
		return 1;
	}
	n = help_at(path, partial, h);
	if (x->json)
		arr = json_object_new_array();
	for (unsigned i = 0; i < n; i++) {
		if (arr) {
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "word", json_object_new_string(h[i].word));
			json_object_object_add(o, "help", json_object_new_string(h[i].help));
			json_object_array_add(arr, o);
		} else {
			strbuf_printf(x->out, "  %-24s %s\n", h[i].word, h[i].help);
		}
	}
	if (arr) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "help", arr);
		ctl_json_out(x, o);
	} else if (n == 0) {
		strbuf_printf(x->out, "%% Unrecognized command\n");
	}
	free(path);
	free(h);
	return n ? 0 : 1;
}

unsigned ctl_config_complete(struct ctl_ctx *x, const char *line)
{
	struct cfg_help *h = calloc(HELP_MAX, sizeof(*h));
	char *path = mode_path(x->s, x->s->depth, NULL);
	unsigned n = 0, k = 0;

	if (h && path)
		n = help_at(path, line, h);
	for (unsigned i = 0; i < n; i++) {
		/* keywords only: placeholders (WORD, A.B.C.D, <1-10>) are not text */
		if (!islower((unsigned char)h[i].word[0]))
			continue;
		strbuf_printf(x->out, "%s\n", h[i].word);
		k++;
	}
	free(path);
	free(h);
	return k;
}

/* Check the line in the context of what was typed before. */
static int check_line(struct ctl_ctx *x, const char *line)
{
	struct ctl_session *s = x->s;
	struct strbuf text = {0};
	struct cfg_error ce;
	struct config *c;
	char msg[2048];
	int ret = 0;

	strbuf_printf(&text, "%s%s\n", s->pending.p ? s->pending.p : "", line);
	c = config_apply_lines(x->ops->running(x->ops->arg), text.p ? text.p : "", &ce);
	if (c) {
		config_free(c);
	} else if (ce.kind != CFG_ERR_SEMANTIC && ce.line == s->npending + 1) {
		cfg_error_format(&ce, msg, sizeof(msg));
		strbuf_printf(x->out, "%s", msg);
		ret = 1;
	}
	strbuf_free(&text);
	return ret;
}

int ctl_config_line(struct ctl_ctx *x, const char *line)
{
	struct ctl_session *s = x->s;
	const char *cmd;
	size_t len = strlen(line);

	while (len && isspace((unsigned char)line[len - 1]))
		len--;
	if (len && line[len - 1] == '?') {
		char *p = strndup(line, len - 1);
		int ret = p ? config_help_reply(x, p) : 1;
		free(p);
		return ret;
	}
	if (config_line_is_exec(line, &cmd))
		return ctl_exec_line(x, cmd);
	if (is_word(line, "end", 3))
		return ctl_config_end(x);
	if (is_word(line, "abort", 5)) {
		ctl_session_leave_config(s);
		if (!x->json)
			strbuf_printf(x->out, "%% Configuration discarded\n");
		return 0;
	}
	if (s->depth == 0 && is_word(line, "exit", 2))
		return ctl_config_end(x);
	{
		const char *p = line;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0' || *p == '!')
			return 0;
	}
	if (check_line(x, line)) {
		s->rejected = true;
		return 1;
	}
	strbuf_printf(&s->pending, "%s\n", line);
	s->npending++;
	if (is_word(line, "exit", 2))
		pop_mode(s);
	else
		track_mode(s, line);
	return 0;
}
