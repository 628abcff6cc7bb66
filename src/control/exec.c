/* Exec-mode commands: one tree of words (keywords and arguments) with a
 * help line each and a handler where a command may end. The same tree
 * serves execution with IOS-style abbreviation (any unique prefix of a
 * keyword), `?` help and TAB completion. Config mode lines go to
 * confmode.c, which asks src/config's grammar instead. */
#include <ctype.h>
#include <json-c/json.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/model.h"
#include "control/internal.h"
#include "lib/addr.h"
#include "lib/log.h"

enum cnode_type { CN_KW, CN_ADDR, CN_WORD, CN_LINE };

typedef int (*ctl_fn)(struct ctl_ctx *x, const struct ctl_args *a);

struct cnode {
	const char *word; /* keyword, or the placeholder shown in help */
	int type;         /* enum cnode_type */
	const char *help;
	ctl_fn fn;        /* the command may end here */
	const struct cnode *kids;
};

/* ---- small handlers ------------------------------------------------------ */

static int do_nothing(struct ctl_ctx *x, const struct ctl_args *a)
{
	(void)x;
	(void)a;
	return 0;
}

static int do_write_memory(struct ctl_ctx *x, const struct ctl_args *a)
{
	const char *path = x->ops->config_path ? x->ops->config_path(x->ops->arg) : NULL;
	(void)a;

	if (!path || !path[0]) {
		strbuf_printf(x->out, "%% No configuration file to write to\n");
		return 1;
	}
	if (config_save(x->ops->running(x->ops->arg), path) < 0) {
		strbuf_printf(x->out, "%% Cannot write %s: %m\n", path);
		return 1;
	}
	if (x->json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "written", json_object_new_string(path));
		ctl_json_out(x, o);
	} else {
		strbuf_printf(x->out, "Building configuration...\n[OK]\n");
	}
	return 0;
}

static int do_reload_config(struct ctl_ctx *x, const struct ctl_args *a)
{
	char err[2048];
	(void)a;

	if (!x->ops->reload) {
		strbuf_printf(x->out, "%% Reload is not supported\n");
		return 1;
	}
	if (x->ops->reload(x->ops->arg, err, sizeof(err)) < 0) {
		strbuf_printf(x->out, "%s\n%% Reload failed: running configuration unchanged\n",
			      err);
		return 1;
	}
	if (!x->json)
		strbuf_printf(x->out, "Configuration reloaded\n");
	return 0;
}

static int do_debug(struct ctl_ctx *x, const struct ctl_args *a)
{
	(void)a;
	log_set_level(LOG_LVL_DEBUG);
	if (!x->json)
		strbuf_printf(x->out, "Crypto IPSEC debugging is on\n");
	return 0;
}

static int do_undebug(struct ctl_ctx *x, const struct ctl_args *a)
{
	(void)a;
	log_set_level(LOG_LVL_INFO);
	ctl_undebug_ikev2(x);
	if (!x->json)
		strbuf_printf(x->out, "All possible debugging has been turned off\n");
	return 0;
}

/* ---- the tree -------------------------------------------------------------
 * Arrays end with a NULL word; children are defined before parents. */

#define END {NULL, 0, NULL, NULL, NULL}

static const struct cnode n_sa_detail[] = {
	{"detail", CN_KW, "Crypto IPSec SA detailed information", ctl_show_crypto_ipsec_sa, NULL},
	END,
};
static const struct cnode n_sa_peer_addr[] = {
	{"A.B.C.D", CN_ADDR, "IP (v4 or v6) address of the peer", ctl_show_crypto_ipsec_sa,
	 n_sa_detail},
	END,
};
static const struct cnode n_sa_opts[] = {
	{"detail", CN_KW, "Crypto IPSec SA detailed information", ctl_show_crypto_ipsec_sa, NULL},
	{"peer", CN_KW, "Information for SAs with this peer", NULL, n_sa_peer_addr},
	END,
};
static const struct cnode n_word_ts[] = {
	{"WORD", CN_WORD, "Transform set tag", ctl_show_transform_set, NULL},
	END,
};
static const struct cnode n_show_ipsec[] = {
	{"sa", CN_KW, "IPSEC SA table", ctl_show_crypto_ipsec_sa, n_sa_opts},
	{"transform-set", CN_KW, "Crypto transform sets", ctl_show_transform_set, n_word_ts},
	END,
};
static const struct cnode n_map_tag_word[] = {
	{"WORD", CN_WORD, "Crypto map tag", ctl_show_crypto_map, NULL},
	END,
};
static const struct cnode n_show_map[] = {
	{"tag", CN_KW, "Crypto map tag", NULL, n_map_tag_word},
	END,
};
static const struct cnode n_ikev2_sa_opts[] = {
	{"detail", CN_KW, "Detailed IKEv2 SA information", ctl_show_crypto_ikev2_sa, NULL},
	END,
};
static const struct cnode n_show_ikev2[] = {
	{"sa", CN_KW, "Crypto IKEv2 security associations", ctl_show_crypto_ikev2_sa,
	 n_ikev2_sa_opts},
	{"stats", CN_KW, "IKEv2 statistics (half-open SAs, cookies, drops)",
	 ctl_show_crypto_ikev2_stats, NULL},
	END,
};
static const struct cnode n_show_crypto[] = {
	{"engine", CN_KW, "Data-plane workers, queues, offloads and load",
	 ctl_show_crypto_engine, NULL},
	{"ikev2", CN_KW, "Show IKEv2 information", NULL, n_show_ikev2},
	{"ipsec", CN_KW, "Show IPSEC policy", NULL, n_show_ipsec},
	{"map", CN_KW, "Crypto maps", ctl_show_crypto_map, n_show_map},
	{"session", CN_KW, "Crypto session information", ctl_show_crypto_session, NULL},
	END,
};
static const struct cnode n_acl_word[] = {
	{"WORD", CN_WORD, "Access list name or number", ctl_show_access_lists, NULL},
	END,
};
static const struct cnode n_show[] = {
	{"access-lists", CN_KW, "List access lists", ctl_show_access_lists, n_acl_word},
	{"crypto", CN_KW, "Encryption module", NULL, n_show_crypto},
	{"running-config", CN_KW, "Current operating configuration", ctl_show_running, NULL},
	{"version", CN_KW, "System hardware and software status", ctl_show_version, NULL},
	END,
};
static const struct cnode n_clear_sa[] = {
	{"counters", CN_KW, "Reset the SA counters", ctl_clear_crypto_sa_counters, NULL},
	END,
};
static const struct cnode n_clear_ike_peer_addr[] = {
	{"A.B.C.D", CN_ADDR, "IP (v4 or v6) address of the peer", ctl_clear_crypto_ikev2_sa, NULL},
	END,
};
static const struct cnode n_clear_ike_sa_opts[] = {
	{"peer", CN_KW, "Clear SAs with this peer", NULL, n_clear_ike_peer_addr},
	END,
};
static const struct cnode n_clear_ikev2[] = {
	{"sa", CN_KW, "Clear IKEv2 SAs (sends DELETE)", ctl_clear_crypto_ikev2_sa,
	 n_clear_ike_sa_opts},
	END,
};
static const struct cnode n_clear_crypto[] = {
	{"ikev2", CN_KW, "Clear IKEv2 state", NULL, n_clear_ikev2},
	{"sa", CN_KW, "Clear all IPSEC security associations", ctl_clear_crypto_sa, n_clear_sa},
	{"session", CN_KW, "Clear crypto sessions (IKE and IPsec SAs)", ctl_clear_crypto_session,
	 NULL},
	END,
};
static const struct cnode n_clear[] = {
	{"crypto", CN_KW, "Encryption module", NULL, n_clear_crypto},
	END,
};
static const struct cnode n_rekey_peer_addr[] = {
	{"A.B.C.D", CN_ADDR, "IP (v4 or v6) address of the peer", ctl_rekey_crypto_sa, NULL},
	END,
};
static const struct cnode n_rekey_sa_opts[] = {
	{"peer", CN_KW, "Rekey SAs with this peer", NULL, n_rekey_peer_addr},
	END,
};
static const struct cnode n_rekey_ikev2[] = {
	{"sa", CN_KW, "Rekey IKEv2 SAs now (CREATE_CHILD_SA)", ctl_rekey_crypto_sa, n_rekey_sa_opts},
	END,
};
static const struct cnode n_rekey_ipsec[] = {
	{"sa", CN_KW, "Rekey the IKEv2-negotiated IPSEC SAs now", ctl_rekey_crypto_sa,
	 n_rekey_sa_opts},
	END,
};
static const struct cnode n_rekey_crypto[] = {
	{"ikev2", CN_KW, "IKEv2 SAs", NULL, n_rekey_ikev2},
	{"ipsec", CN_KW, "IPSEC SAs", NULL, n_rekey_ipsec},
	END,
};
static const struct cnode n_rekey[] = {
	{"crypto", CN_KW, "Encryption module", NULL, n_rekey_crypto},
	END,
};
static const struct cnode n_file[] = {
	{"FILE", CN_WORD, "Configuration file to load (replaces the running config)",
	 ctl_configure_replace, NULL},
	END,
};
static const struct cnode n_configure[] = {
	{"lines", CN_KW, "Apply the lines sent before (esprit configure < FILE)",
	 ctl_configure_lines, NULL},
	{"replace", CN_KW, "Replace the running config with a file", NULL, n_file},
	{"terminal", CN_KW, "Configure from the terminal", ctl_configure_terminal, NULL},
	END,
};
static const struct cnode n_write[] = {
	{"memory", CN_KW, "Write to the configuration file", do_write_memory, NULL},
	END,
};
static const struct cnode n_reload[] = {
	{"config", CN_KW, "Reload the configuration file (as SIGHUP)", do_reload_config, NULL},
	END,
};
static const struct cnode n_debug_ikev2_peer[] = {
	{"A.B.C.D", CN_ADDR, "IP (v4 or v6) address of the peer", ctl_debug_ikev2, NULL},
	END,
};
static const struct cnode n_debug_ikev2[] = {
	{"peer", CN_KW, "Trace only the messages of this peer", NULL, n_debug_ikev2_peer},
	END,
};
static const struct cnode n_debug_crypto[] = {
	{"ikev2", CN_KW, "IKEv2 processing (message trace, never keys)", ctl_debug_ikev2,
	 n_debug_ikev2},
	{"ipsec", CN_KW, "IPSEC processing", do_debug, NULL},
	END,
};
static const struct cnode n_debug[] = {
	{"crypto", CN_KW, "Cryptographic subsystem", NULL, n_debug_crypto},
	END,
};
static const struct cnode n_all[] = {
	{"all", CN_KW, "Disable all debugging", do_undebug, NULL},
	END,
};
static const struct cnode n_no[] = {
	{"debug", CN_KW, "Disable debugging functions", NULL, n_all},
	END,
};
static const struct cnode n_line[] = {
	{"LINE", CN_LINE, "Terminal parameters (ignored)", do_nothing, NULL},
	END,
};
static const struct cnode n_root[] = {
	{"clear", CN_KW, "Reset functions", NULL, n_clear},
	{"configure", CN_KW, "Enter configuration mode", NULL, n_configure},
	{"debug", CN_KW, "Debugging functions", NULL, n_debug},
	{"exit", CN_KW, "Exit from the EXEC", do_nothing, NULL},
	{"no", CN_KW, "Disable debugging functions", NULL, n_no},
	{"rekey", CN_KW, "Rekey security associations now", NULL, n_rekey},
	{"reload", CN_KW, "Reload the configuration", NULL, n_reload},
	{"show", CN_KW, "Show running system information", NULL, n_show},
	{"terminal", CN_KW, "Set terminal line parameters", do_nothing, n_line},
	{"undebug", CN_KW, "Disable debugging functions", NULL, n_all},
	{"write", CN_KW, "Write running configuration to memory", NULL, n_write},
	END,
};

/* ---- tokens ---------------------------------------------------------------- */

struct toks {
	unsigned n;
	char *t[CTL_MAX_WORDS];
	unsigned off[CTL_MAX_WORDS]; /* offset in the original line */
	char buf[CTL_LINE_MAX + 1];
};

/* Split on blanks. Returns false when there are too many words or the
 * line is too long (both are operator errors, not crashes). */
static bool tokenize(const char *line, struct toks *tk)
{
	size_t len = strlen(line);
	size_t i = 0;

	tk->n = 0;
	if (len > CTL_LINE_MAX)
		return false;
	memcpy(tk->buf, line, len + 1);
	while (i < len) {
		while (i < len && isspace((unsigned char)tk->buf[i]))
			tk->buf[i++] = '\0';
		if (i == len)
			break;
		if (tk->n == CTL_MAX_WORDS)
			return false;
		tk->t[tk->n] = &tk->buf[i];
		tk->off[tk->n++] = (unsigned)i;
		while (i < len && !isspace((unsigned char)tk->buf[i]))
			i++;
	}
	return true;
}

/* ---- matching -------------------------------------------------------------- */

enum merr { M_OK, M_INVALID, M_AMBIGUOUS, M_INCOMPLETE };

struct mres {
	const struct cnode *node; /* last node matched, NULL = none */
	int err;                  /* enum merr */
	unsigned err_tok;
	char cands[256];          /* ambiguous: the candidates */
	struct ctl_args args;
};

static bool accepts(const struct cnode *c, const char *tok)
{
	struct ip_addr a;

	switch (c->type) {
	case CN_ADDR:
		return ip_addr_parse(tok, &a);
	case CN_WORD:
	case CN_LINE:
		return true;
	default:
		return false;
	}
}

/* Pick the child of kids that tok selects: an exact keyword, else the one
 * keyword it abbreviates, else an argument that accepts it. */
static const struct cnode *pick(const struct cnode *kids, const char *tok, struct mres *r)
{
	const struct cnode *found = NULL;
	size_t tl = strlen(tok);
	unsigned nfound = 0;

	for (const struct cnode *c = kids; c && c->word; c++)
		if (c->type == CN_KW && strcasecmp(c->word, tok) == 0)
			return c;
	r->cands[0] = '\0';
	for (const struct cnode *c = kids; c && c->word; c++) {
		if (c->type != CN_KW || strncasecmp(c->word, tok, tl) != 0)
			continue;
		found = c;
		nfound++;
		size_t l = strlen(r->cands);
		snprintf(r->cands + l, sizeof(r->cands) - l, "%s%s", l ? ", " : "", c->word);
	}
	if (nfound > 1) {
		r->err = M_AMBIGUOUS;
		return NULL;
	}
	if (found)
		return found;
	for (const struct cnode *c = kids; c && c->word; c++)
		if (c->type != CN_KW && accepts(c, tok))
			return c;
	r->err = M_INVALID;
	return NULL;
}

/* Walk the first n tokens. */
static void match(const char *line, const struct toks *tk, unsigned n, struct mres *r)
{
	const struct cnode *kids = n_root;

	memset(r, 0, sizeof(*r));
	for (unsigned i = 0; i < n; i++) {
		const struct cnode *c = pick(kids, tk->t[i], r);

		if (!c) {
			r->err_tok = i;
			return;
		}
		r->node = c;
		r->args.word[r->args.n] = c->word;
		r->args.val[r->args.n++] = tk->t[i];
		if (c->type == CN_LINE) {
			r->args.rest = line + tk->off[i];
			return;
		}
		kids = c->kids;
	}
	if (!r->node || !r->node->fn) {
		r->err = M_INCOMPLETE;
		r->err_tok = n;
	}
}

static void report(const char *line, const struct toks *tk, const struct mres *r,
		   struct strbuf *out)
{
	switch (r->err) {
	case M_AMBIGUOUS:
		strbuf_printf(out, "%% Ambiguous command:  \"%s\" (%s)\n", line, r->cands);
		break;
	case M_INCOMPLETE:
		strbuf_printf(out, "%% Incomplete command.\n");
		break;
	default:
		strbuf_printf(out, "%s\n%*s^\n%% Invalid input detected at '^' marker.\n", line,
			      (int)(r->err_tok < tk->n ? tk->off[r->err_tok] : strlen(line)), "");
		break;
	}
}

/* ---- help and completion ---------------------------------------------------- */

/* The children of the node the complete words lead to, and the partial
 * last word (NULL if the line ends in a blank). Returns false if the
 * complete words do not match. */
static bool help_kids(const char *line, struct toks *tk, const struct cnode **kids,
		      const char **partial)
{
	size_t len = strlen(line);
	bool part = len && !isspace((unsigned char)line[len - 1]);
	unsigned full;
	struct mres r;

	if (!tokenize(line, tk))
		return false;
	full = part && tk->n ? tk->n - 1 : tk->n;
	*partial = part && tk->n ? tk->t[tk->n - 1] : NULL;
	if (full == 0) {
		*kids = n_root;
		return true;
	}
	match(line, tk, full, &r);
	if (r.err != M_OK && r.err != M_INCOMPLETE)
		return false;
	if (r.node->type == CN_LINE)
		return false;
	*kids = r.node->kids;
	/* "<cr>" is offered by the caller when r.node->fn is set */
	return true;
}

static const struct cnode *node_of(const char *line, struct toks *tk)
{
	struct mres r;

	if (!tokenize(line, tk) || tk->n == 0)
		return NULL;
	match(line, tk, tk->n, &r);
	return r.err == M_OK || r.err == M_INCOMPLETE ? r.node : NULL;
}

static bool offered(const struct cnode *c, const char *partial)
{
	if (!partial)
		return true;
	if (c->type == CN_KW)
		return strncasecmp(c->word, partial, strlen(partial)) == 0;
	return accepts(c, partial);
}

static int exec_help(const char *line, bool json, struct strbuf *out)
{
	struct toks *tk = malloc(sizeof(*tk));
	const struct cnode *kids = NULL, *at = NULL;
	const char *partial = NULL;
	struct json_object *arr = json ? json_object_new_array() : NULL;
	int ret = 1;

	if (!tk)
		goto out;
	if (!help_kids(line, tk, &kids, &partial)) {
		strbuf_printf(out, "%% Unrecognized command\n");
		goto out;
	}
	for (const struct cnode *c = kids; c && c->word; c++) {
		if (!offered(c, partial))
			continue;
		if (arr) {
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "word", json_object_new_string(c->word));
			json_object_object_add(o, "help", json_object_new_string(c->help));
			json_object_array_add(arr, o);
		} else {
			strbuf_printf(out, "  %-16s %s\n", c->word, c->help);
		}
	}
	if (!partial && line[0] && (at = node_of(line, tk)) && at->fn) {
		if (arr) {
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "word", json_object_new_string("<cr>"));
			json_object_object_add(o, "help", json_object_new_string(""));
			json_object_array_add(arr, o);
		} else {
			strbuf_printf(out, "  <cr>\n");
		}
	}
	ret = 0;
out:
	if (arr) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "help", arr);
		if (ret == 0) {
			const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
			strbuf_printf(out, "%s\n", s);
		}
		json_object_put(o);
	}
	free(tk);
	return ret;
}

static unsigned exec_complete(const char *line, struct strbuf *out)
{
	struct toks *tk = malloc(sizeof(*tk));
	const struct cnode *kids = NULL;
	const char *partial = NULL;
	unsigned n = 0;

	if (!tk || !help_kids(line, tk, &kids, &partial))
		goto out;
	for (const struct cnode *c = kids; c && c->word; c++) {
		if (c->type != CN_KW)
			continue;
		if (partial && strncasecmp(c->word, partial, strlen(partial)) != 0)
			continue;
		strbuf_printf(out, "%s\n", c->word);
		n++;
	}
out:
	free(tk);
	return n;
}

/* ---- execution -------------------------------------------------------------- */

static bool blank_or_comment(const char *line)
{
	while (isspace((unsigned char)*line))
		line++;
	return *line == '\0' || *line == '!' || *line == '#';
}

static bool ends_in_help(const char *line, size_t *len)
{
	size_t l = strlen(line);

	while (l && isspace((unsigned char)line[l - 1]))
		l--;
	*len = l ? l - 1 : 0;
	return l && line[l - 1] == '?';
}

/* Output modifiers (IOS): `| include RE`, `| exclude RE`, `| begin RE`,
 * POSIX extended regular expressions, applied to text output only. */
enum filter { F_INCLUDE, F_EXCLUDE, F_BEGIN };

static int parse_filter(const char *spec, int *kind, regex_t *re, struct strbuf *out)
{
	static const char *const names[] = {"include", "exclude", "begin"};
	char word[16];
	int n = 0, found = -1;

	while (isspace((unsigned char)*spec))
		spec++;
	if (sscanf(spec, "%15s%n", word, &n) != 1) {
		strbuf_printf(out, "%% Incomplete command.\n");
		return -1;
	}
	for (int i = 0; i < 3; i++)
		if (strncasecmp(names[i], word, strlen(word)) == 0)
			found = found < 0 ? i : -2;
	spec += n;
	while (isspace((unsigned char)*spec))
		spec++;
	if (found < 0 || !*spec) {
		strbuf_printf(out, "%% Invalid output modifier: use | include, exclude or begin "
				   "REGEX\n");
		return -1;
	}
	if (regcomp(re, spec, REG_EXTENDED | REG_NOSUB) != 0) {
		strbuf_printf(out, "%% Invalid regular expression: %s\n", spec);
		return -1;
	}
	*kind = found;
	return 0;
}

static void apply_filter(const char *text, int kind, const regex_t *re, struct strbuf *out)
{
	bool begun = false;

	while (text && *text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);
		char *l = strndup(text, len);
		bool m = l && regexec(re, l, 0, NULL, 0) == 0;

		if (kind == F_BEGIN && m)
			begun = true;
		if ((kind == F_INCLUDE && m) || (kind == F_EXCLUDE && l && !m) ||
		    (kind == F_BEGIN && begun))
			strbuf_printf(out, "%s\n", l);
		free(l);
		text += len + (nl ? 1 : 0);
	}
}

static int exec_filtered(struct ctl_ctx *x, const char *line, const char *bar)
{
	struct strbuf tmp = {0};
	struct ctl_ctx y = *x;
	char *cmd = strndup(line, (size_t)(bar - line));
	regex_t re;
	int kind, ret;

	if (!cmd || parse_filter(bar + 1, &kind, &re, x->out) < 0) {
		free(cmd);
		return 1;
	}
	y.out = &tmp;
	ret = ctl_exec_line(&y, cmd);
	if (x->json || ret)
		strbuf_append(x->out, tmp.p ? tmp.p : "", tmp.len);
	else
		apply_filter(tmp.p, kind, &re, x->out);
	regfree(&re);
	strbuf_free(&tmp);
	free(cmd);
	return ret;
}

int ctl_exec_line(struct ctl_ctx *x, const char *line)
{
	struct toks *tk;
	struct mres r;
	size_t hl;
	int ret = 1;

	if (blank_or_comment(line))
		return 0;
	if (strchr(line, '|') && strlen(line) <= CTL_LINE_MAX)
		return exec_filtered(x, line, strchr(line, '|'));
	if (ends_in_help(line, &hl)) {
		char *l = strndup(line, hl);
		ret = l ? exec_help(l, x->json, x->out) : 1;
		free(l);
		return ret;
	}
	tk = malloc(sizeof(*tk));
	if (!tk) {
		strbuf_printf(x->out, "%% Out of memory\n");
		return 1;
	}
	if (!tokenize(line, tk)) {
		strbuf_printf(x->out, "%% Command too long\n");
		goto out;
	}
	match(line, tk, tk->n, &r);
	if (r.err != M_OK) {
		report(line, tk, &r, x->out);
		goto out;
	}
	ret = r.node->fn(x, &r.args) ? 1 : 0;
out:
	free(tk);
	return ret;
}

/* ---- public entry points ------------------------------------------------------ */

struct ctl_session *ctl_session_new(void)
{
	return calloc(1, sizeof(struct ctl_session));
}

void ctl_session_free(struct ctl_session *s)
{
	if (!s)
		return;
	ctl_session_leave_config(s);
	strbuf_free(&s->pending);
	strbuf_free(&s->data);
	free(s);
}

bool ctl_session_in_config(const struct ctl_session *s)
{
	return s->config;
}

int ctl_session_data_add(struct ctl_session *s, const char *line)
{
	size_t len = strlen(line);

	if (s->data.len + len + 1 > CTL_DATA_MAX)
		return -1;
	strbuf_append(&s->data, line, len);
	strbuf_putc(&s->data, '\n');
	return 0;
}

void ctl_session_prompt(const struct ctl_ops *ops, const struct ctl_session *s, char *buf,
			size_t len)
{
	const struct config *c = ops && ops->running ? ops->running(ops->arg) : NULL;
	const char *host = c && c->hostname[0] ? c->hostname : "esprit";

	if (!s->config)
		snprintf(buf, len, "%s#", host);
	else if (s->depth == 0)
		snprintf(buf, len, "%s(config)#", host);
	else
		snprintf(buf, len, "%s(%s)#", host, s->mode_name[s->depth - 1]);
}

int ctl_exec(const struct ctl_ops *ops, struct ctl_session *s, const char *line, bool json,
	     struct strbuf *out)
{
	struct ctl_ctx x = {ops, s, json, out};

	if (!out->p)
		strbuf_printf(out, "%s", ""); /* callers may rely on out->p */
	if (s->config)
		return ctl_config_line(&x, line);
	return ctl_exec_line(&x, line);
}

unsigned ctl_complete(const struct ctl_ops *ops, struct ctl_session *s, const char *line,
		      struct strbuf *out)
{
	struct ctl_ctx x = {ops, s, false, out};
	const char *cmd;

	if (!s->config)
		return exec_complete(line, out);
	if (config_line_is_exec(line, &cmd) || (strncasecmp(line, "do ", 3) == 0 &&
						 (cmd = line + 3)))
		return exec_complete(cmd, out);
	return ctl_config_complete(&x, line);
}

int ctl_session_eof(const struct ctl_ops *ops, struct ctl_session *s, struct strbuf *out)
{
	struct ctl_ctx x = {ops, s, false, out};

	if (!s->config)
		return 0;
	return ctl_config_end(&x);
}
