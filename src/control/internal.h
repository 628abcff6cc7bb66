/* Internal to src/control: the session, the exec command tree and the
 * handlers of the show/clear/config commands. */
#ifndef ESPRIT_CONTROL_INTERNAL_H
#define ESPRIT_CONTROL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/control.h"

#define CTL_LINE_MAX 8192 /* one request line, bytes */
#define CTL_MAX_WORDS 32
#define CTL_MODE_DEPTH 4 /* nested config sub-modes (keyring -> peer) */

struct ctl_session {
	bool config;                       /* in configure-terminal mode */
	unsigned depth;                    /* sub-mode depth, 0 = (config) */
	char *mode_line[CTL_MODE_DEPTH];   /* the line that entered each sub-mode */
	char mode_name[CTL_MODE_DEPTH][32]; /* prompt suffix: "config-crypto-map" */
	struct strbuf pending;             /* accepted configure-terminal lines */
	unsigned npending;
	bool rejected;                     /* a line of this session was refused */
	struct strbuf data;                /* `configure lines` text (+ requests) */
};

/* What a handler gets. */
struct ctl_ctx {
	const struct ctl_ops *ops;
	struct ctl_session *s;
	bool json;
	struct strbuf *out;
};

/* The matched words of an exec command: canonical keywords, or the
 * argument text for placeholders; rest is the raw text after a LINE. */
struct ctl_args {
	unsigned n;
	const char *word[CTL_MAX_WORDS]; /* canonical keyword or placeholder */
	const char *val[CTL_MAX_WORDS];  /* the token as typed */
	const char *rest;
};

bool ctl_args_has(const struct ctl_args *a, const char *kw);
/* The value of the argument that follows keyword kw, or NULL. */
const char *ctl_args_after(const struct ctl_args *a, const char *kw);

/* strbuf helpers */
void strbuf_putc(struct strbuf *b, char c);
void strbuf_append(struct strbuf *b, const char *s, size_t len);
void strbuf_reset(struct strbuf *b);

/* JSON: add a json_object (json-c) as the command's output. */
struct json_object;
void ctl_json_out(struct ctl_ctx *x, struct json_object *o);

/* show_engine.c */
int ctl_show_crypto_engine(struct ctl_ctx *x, const struct ctl_args *a);

/* show_sa.c */
int ctl_show_crypto_ipsec_sa(struct ctl_ctx *x, const struct ctl_args *a);
int ctl_clear_crypto_sa(struct ctl_ctx *x, const struct ctl_args *a);
int ctl_clear_crypto_sa_counters(struct ctl_ctx *x, const struct ctl_args *a);

/* show_ike.c */
int ctl_show_crypto_ikev2_sa(struct ctl_ctx *x, const struct ctl_args *a);
int ctl_show_crypto_session(struct ctl_ctx *x, const struct ctl_args *a);
int ctl_clear_crypto_ikev2_sa(struct ctl_ctx *x, const struct ctl_args *a);
int ctl_clear_crypto_session(struct ctl_ctx *x, const struct ctl_args *a);
int ctl_rekey_crypto_sa(struct ctl_ctx *x, const struct ctl_args *a);
/* show_ike_stats.c */
int ctl_show_crypto_ikev2_stats(struct ctl_ctx *x, const struct ctl_args *a);
int ctl_debug_ikev2(struct ctl_ctx *x, const struct ctl_args *a);
void ctl_undebug_ikev2(struct ctl_ctx *x);

/* show_cfg.c */
int ctl_show_crypto_map(struct ctl_ctx *x, const struct ctl_args *a);
int ctl_show_transform_set(struct ctl_ctx *x, const struct ctl_args *a);
int ctl_show_access_lists(struct ctl_ctx *x, const struct ctl_args *a);
int ctl_show_running(struct ctl_ctx *x, const struct ctl_args *a);
int ctl_show_version(struct ctl_ctx *x, const struct ctl_args *a);
/* "permit ip 198.19.1.0 0.0.0.255 198.19.2.0 0.0.0.255" */
struct cfg_acl;
struct cfg_ace;
void ctl_ace_format(struct strbuf *b, const struct cfg_acl *l, const struct cfg_ace *a);

/* confmode.c */
int ctl_configure_terminal(struct ctl_ctx *x, const struct ctl_args *a);
int ctl_configure_replace(struct ctl_ctx *x, const struct ctl_args *a);
int ctl_configure_lines(struct ctl_ctx *x, const struct ctl_args *a);
int ctl_config_line(struct ctl_ctx *x, const char *line);
unsigned ctl_config_complete(struct ctl_ctx *x, const char *line);
/* Apply pending lines (end / EOF). */
int ctl_config_end(struct ctl_ctx *x);
void ctl_session_leave_config(struct ctl_session *s);

/* exec.c */
int ctl_exec_line(struct ctl_ctx *x, const char *line);

#endif
