/* Internal to src/config: the command table and the matcher that walks it.
 *
 * Every command is one entry of cfg_cmds[] (grammar.c): the mode it lives
 * in, a pattern, a help line, the function that applies it to the model and
 * the function that writes it back. Patterns use the Quagga/IOS notation:
 *
 *   word          a keyword; any unique prefix is accepted ("cry" = crypto)
 *   {a|b c|d}     one of the alternatives
 *   [a b]         optional
 *   WORD          a name              <lo-hi>   a number in that range
 *   A.B.C.D       an IPv4 address     X:X::X    an IPv6 address
 *   ADDR          IPv4 or IPv6        X:X::X/M  an IPv6 prefix
 *   HEX           hex key             LINE      the rest of the line
 *   KEY           a pre-shared key (a word, up to 127 characters)
 *
 * The table order is also the canonical order of show running-config.
 */
#ifndef ESPRIT_CONFIG_GRAMMAR_H
#define ESPRIT_CONFIG_GRAMMAR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/model.h"

enum cfg_mode {
	MODE_GLOBAL,
	MODE_TRANS,  /* cfg-crypto-trans */
	MODE_MAP,    /* config-crypto-map */
	MODE_ACL,    /* config-ext-nacl */
	MODE_ACL6,   /* config-ipv6-acl */
	MODE_IF,     /* config-if */
	MODE_IKEV2_PROPOSAL, /* config-ikev2-proposal */
	MODE_IKEV2_POLICY,   /* config-ikev2-policy */
	MODE_IKEV2_KEYRING,  /* config-ikev2-keyring */
	MODE_IKEV2_PEER,     /* config-ikev2-keyring-peer (inside a keyring) */
	MODE_IKEV2_PROFILE,  /* config-ikev2-profile */
	MODE_IPSEC_PROFILE,  /* ipsec-profile */
	MODE_OPAQUE, /* a block kept verbatim (crypto isakmp, pki, ...) */
	MODE_COUNT,
};

enum tok_type {
	TT_KW,
	TT_WORD,
	TT_NUM,
	TT_IPV4,
	TT_IPV6,
	TT_ADDR,
	TT_PREFIX6,
	TT_HEX,
	TT_LINE,
	TT_KEY, /* a pre-shared key: a word with no name-length limit */
};

#define CFG_MAX_TOKENS 40

/* One input token after matching: its text, the canonical keyword when it
 * matched a keyword (so "cry" reads as "crypto"), its argument type. */
struct mtok {
	char text[128];
	const char *kw;
	uint8_t type; /* enum tok_type */
	unsigned col; /* 1-based */
};

struct cmd_match {
	int cmd; /* index in cfg_cmds */
	unsigned n;
	struct mtok t[CFG_MAX_TOKENS];
};

/* A growable string for the writer. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool failed;
};
void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The current sub-mode object, found again by name on every line (the
 * arrays of struct config move when they grow). */
struct pctx {
	struct config *cfg;
	int mode;            /* enum cfg_mode */
	char name[CFG_NAME_MAX]; /* set / map / acl / interface name */
	uint32_t seq;        /* crypto map seq */
	char sub[CFG_NAME_MAX]; /* keyring peer name (MODE_IKEV2_PEER) */
	int opaque_idx;      /* header line of the current opaque block */
	unsigned line;       /* current source line */
	const char *raw;     /* current source line text */
	/* an apply error: token index and message */
	int err_tok;
	char err_msg[256];
};

struct cfg_cmd {
	int mode;          /* enum cfg_mode */
	const char *pattern;
	const char *help;
	int enters;        /* sub-mode entered, or -1 */
	/* 0 on success; -1 with pctx_err() called. neg: the `no` form, with
	 * possibly only a prefix of the pattern's tokens. */
	int (*apply)(struct pctx *p, const struct cmd_match *m, bool neg);
	/* Write the command for obj (NULL in global mode; the set, map entry,
	 * ACL or interface for sub-modes). */
	void (*write)(struct sbuf *b, const struct config *c, const void *obj);
};

extern const struct cfg_cmd cfg_cmds[];
extern const size_t cfg_ncmds;

int pctx_err(struct pctx *p, int tok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Match tokens against the commands of one mode. Returns 0 and fills m,
 * or -1 and fills err (kind, col, token, msg) and *reached (how many
 * tokens were accepted before the failure, to pick the best error among
 * modes). prefix_ok: accept a prefix of a command (the `no` form). */
int grammar_match(int mode, char toks[][128], const unsigned *cols, unsigned n, bool prefix_ok,
		  struct cmd_match *m, struct cfg_error *err, unsigned *reached);
/* Possible next words after toks (the last one partial if partial). */
unsigned grammar_help(int mode, char toks[][128], unsigned n, bool partial, struct cfg_help *out,
		      unsigned max);

/* Help line for a keyword (the command's help if the keyword has none). */
const char *cfg_kw_help(const char *kw, int cmd);

/* Helpers for apply functions. */
int mtok_find(const struct cmd_match *m, const char *kw); /* index or -1 */
bool mtok_is(const struct cmd_match *m, unsigned i, const char *kw);

/* Used by the writers of entries that enter a sub-mode. */
void write_submode(struct sbuf *b, const struct config *c, int mode, const void *obj);

/* model.c helpers shared by the command functions */
struct cfg_transform_set *cfg_set_get(struct config *c, const char *name, bool create);
struct cfg_acl *cfg_acl_get(struct config *c, const char *name, bool create);
struct cfg_map_entry *cfg_map_get(struct config *c, const char *name, uint32_t seq, bool create);
struct cfg_interface *cfg_if_get(struct config *c, const char *name, bool create);
/* model_ikev2.c */
struct cfg_ikev2_proposal *cfg_ikev2_proposal_get(struct config *c, const char *name, bool create);
struct cfg_ikev2_policy *cfg_ikev2_policy_get(struct config *c, const char *name, bool create);
struct cfg_ikev2_keyring *cfg_ikev2_keyring_get(struct config *c, const char *name, bool create);
struct cfg_ikev2_peer *cfg_ikev2_peer_get(struct cfg_ikev2_keyring *k, const char *name,
					  bool create);
struct cfg_ikev2_profile *cfg_ikev2_profile_get(struct config *c, const char *name, bool create);
struct cfg_ipsec_profile *cfg_ipsec_profile_get(struct config *c, const char *name, bool create);
/* Fill the builtin default proposal(s)/policy for c->ikev2.defaults. */
void cfg_ikev2_defaults_set(struct config *c);
bool cfg_ikev2_proposal_is_pristine(const struct config *c, const struct cfg_ikev2_proposal *p);
bool cfg_ikev2_policy_is_pristine(const struct config *c, const struct cfg_ikev2_policy *p);
/* Set p->prf from p->integ unless a prf line was given. */
void cfg_ikev2_prf_derive(struct cfg_ikev2_proposal *p);
void cfg_ikev2_keyring_clear(struct cfg_ikev2_keyring *k);
void cfg_ikev2_peer_clear(struct cfg_ikev2_peer *p);
void cfg_ikev2_profile_clear(struct cfg_ikev2_profile *p);
void cfg_ikev2_free(struct config *c);
bool cfg_ikev2_dup(struct config *d, const struct config *c);
bool cfg_ikev2_equal(const struct config *a, const struct config *b);
/* The parent of a nested sub-mode (keyring peer -> keyring), or -1. */
int cfg_mode_parent(int mode);
void cfg_map_entry_clear(struct cfg_map_entry *e);
void cfg_acl_clear(struct cfg_acl *a);
void cfg_opaque_remove_block(struct config *c, unsigned idx);
int cfg_opaque_add(struct config *c, const char *line, int at);

/* Append one zeroed element to a model array (*arr of *n elements of
 * size bytes); returns it, or NULL on allocation failure. */
void *config_array_grow(void **arr, unsigned *n, size_t size);
/* malloc'd copy of n bytes; NULL for NULL or n == 0 (and on failure). */
void *config_mem_dup(const void *p, size_t n);

#endif
