/* The configuration model: what the IOS-style text means, as plain data.
 * The parser (parse.c, driven by the command table in grammar.c) builds a
 * struct config; the writer (write.c) prints it back as canonical text;
 * the daemon's reconciler turns it into SAs, policies, TUN devices and
 * routes. A config is immutable once loaded: a change builds a new one. */
#ifndef ESPRIT_CONFIG_MODEL_H
#define ESPRIT_CONFIG_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipsec/ts.h"
#include "lib/addr.h"
#include "lib/secret.h"

#define CFG_NAME_MAX 64

/* ---- access lists ---------------------------------------------------- */
struct cfg_ace {
	bool permit;
	struct ts ts;       /* proto 0 = ip; ports as ranges ("eq 80" -> 80..80) */
	char remark[128];   /* unused for now */
	/* How the entry was written, for show running-config: */
	uint8_t src_form, dst_form; /* 0 any, 1 host, 2 addr+wildcard, 3 prefix (ipv6) */
	uint8_t sport_op, dport_op; /* 0 none, 1 eq, 2 range, 3 gt, 4 lt, 5 neq(unsupported) */
	unsigned line;              /* source line, for messages */
	uint32_t seq;               /* sequence number (10, 20, ... unless given) */
};

struct cfg_acl {
	char name[CFG_NAME_MAX]; /* "101" for numbered lists */
	bool numbered;
	bool ipv6;
	unsigned n;
	struct cfg_ace *aces; /* owned */
};

/* ---- transform sets -------------------------------------------------- */
struct cfg_transform_set {
	char name[CFG_NAME_MAX];
	uint16_t esp_encr;     /* enum encr_id, ENCR_NONE if no ESP cipher */
	uint16_t esp_key_bits; /* 0 = the algorithm's default */
	uint16_t esp_integ;    /* enum integ_id, AUTH_NONE if none */
	uint16_t ah_integ;     /* AH integrity, AUTH_NONE if no AH */
	bool comp_deflate;     /* IPComp */
	bool has_esp;          /* esp-* transform present (esp-null counts) */
	uint8_t mode;          /* enum ipsec_mode; IOS default: tunnel */
	/* The transform words as written, in order, for show running-config. */
	char words[6][24];
	unsigned nwords;
	unsigned line;
};

/* ---- crypto maps ----------------------------------------------------- */
struct cfg_session_key {
	bool set;
	uint32_t spi;
	struct secret *cipher; /* owned; NULL if none */
	struct secret *auth;   /* owned; NULL if none */
	unsigned line;         /* source line of the set session-key command */
};

struct cfg_map_entry {
	char map[CFG_NAME_MAX];
	uint32_t seq;
	bool manual;           /* ipsec-manual vs ipsec-isakmp */
	struct ip_addr peer;
	char transform_set[CFG_NAME_MAX];
	char acl[CFG_NAME_MAX];
	/* set session-key inbound|outbound esp|ah */
	struct cfg_session_key esp_in, esp_out, ah_in, ah_out;
	int32_t replay_window; /* -1 = global default, 0 = disabled, else size */
	bool per_host;         /* set security-association level per-host */
	uint64_t lifetime_kb;  /* 0 = global default */
	uint64_t lifetime_s;
	char ikev2_profile[CFG_NAME_MAX];
	uint16_t pfs_group;    /* 0 = none */
	unsigned line;
	unsigned ts_line, acl_line; /* lines of set transform-set / match address */
};

struct cfg_map_binding { /* crypto map NAME local-address ADDR / interface */
	char map[CFG_NAME_MAX];
	struct ip_addr local; /* outside address the map is applied to */
	char ifname[CFG_NAME_MAX];
};

/* ---- interfaces (outside address; Tunnel interfaces come with IKE) --- */
struct cfg_interface {
	char name[CFG_NAME_MAX];
	/* ip address A M / ipv6 address P/L. Unlike other prefixes, the host
	 * bits are KEPT: addr.addr is the interface's own address. len 0 and
	 * af 0 when not configured. */
	struct ip_prefix addr;
	struct ip_prefix addr6;
	char crypto_map[CFG_NAME_MAX];
	/* tunnel (VTI) fields, used from the IKEv2 issue on */
	struct ip_addr tun_src, tun_dst;
	uint8_t tun_mode_af; /* AF_INET / AF_INET6 for tunnel mode ipsec ipv4|ipv6 */
	char tun_protection[CFG_NAME_MAX];
	bool shutdown;
	unsigned line;
};

struct cfg_route { /* ip route PREFIX MASK IFNAME|NEXTHOP */
	struct ip_prefix dst;
	char ifname[CFG_NAME_MAX];
	struct ip_addr nexthop;
};

/* ---- the whole configuration ---------------------------------------- */
struct config {
	char hostname[CFG_NAME_MAX];
	char source_file[256];

	/* global crypto ipsec settings */
	uint32_t replay_window;     /* default 64 (IOS); 0 = disabled */
	bool replay_disabled;
	bool udp_encap;             /* crypto ipsec nat-transparency udp-encapsulation */
	uint64_t sa_lifetime_s;     /* crypto ipsec security-association lifetime seconds (3600) */
	uint64_t sa_lifetime_kb;    /* ... kilobytes (4608000) */
	char tun_ifname[CFG_NAME_MAX]; /* data-plane TUN device for crypto maps: ipsec0 */
	char control_socket[256];  /* esprit control-socket PATH, default /run/esprit/espritd.sock */
	unsigned workers;          /* crypto engine workers N (0 = one per core) */

	unsigned nacls, nsets, nmaps, nbindings, nifs, nroutes;
	struct cfg_acl *acls;
	struct cfg_transform_set *sets;
	struct cfg_map_entry *maps;   /* sorted by (map, seq) */
	struct cfg_map_binding *bindings;
	struct cfg_interface *ifs;
	struct cfg_route *routes;

	/* Lines the parser accepted but does not model yet (e.g. crypto isakmp
	 * before the IKEv1 issue): kept verbatim so write memory loses nothing. */
	unsigned nopaque;
	char **opaque;
};

struct config *config_new(void);     /* defaults filled in */
void config_free(struct config *c);  /* wipes keys */

const struct cfg_acl *config_acl(const struct config *c, const char *name);
const struct cfg_transform_set *config_transform_set(const struct config *c, const char *name);
const struct cfg_map_binding *config_map_binding(const struct config *c, const char *map);

/* Errors: file:line:col, the offending token and what was expected. */
enum cfg_err_kind {
	CFG_ERR_INVALID = 0, /* % Invalid input detected at '^' marker. */
	CFG_ERR_AMBIGUOUS,   /* % Ambiguous command */
	CFG_ERR_INCOMPLETE,  /* % Incomplete command. */
	CFG_ERR_SEMANTIC,    /* validation: undefined names, key lengths */
	CFG_ERR_EXEC,        /* `do CMD` where only config commands apply */
};

struct cfg_error {
	int kind; /* enum cfg_err_kind */
	char file[256];
	unsigned line, col;
	char token[128];
	char msg[256];
	char text[512]; /* the offending line, for the IOS ^ marker */
};

/* Parse a whole file / buffer into a new config. Returns NULL and fills
 * *err on the first error; nothing is half-applied. Warnings (weak
 * algorithms) are logged. */
struct config *config_load_file(const char *path, struct cfg_error *err);
struct config *config_load_buffer(const char *name, const char *text, struct cfg_error *err);
/* Apply more lines (configure terminal) on a copy of base. */
struct config *config_apply_lines(const struct config *base, const char *text,
				  struct cfg_error *err);

/* `do CMD` in a config mode is an exec command. The loaders reject it
 * (CFG_ERR_EXEC); the control layer checks each configure-terminal line
 * with this first. Returns true and points *exec at CMD (borrowed from
 * line) if the line is `do CMD`. */
bool config_line_is_exec(const char *line, const char **exec);

/* Deep copy (keys duplicated) and model equality (ignores source line
 * numbers and file name). */
struct config *config_dup(const struct config *c);
bool config_equal(const struct config *a, const struct config *b);

/* Canonical text (show running-config). Caller frees. load -> write ->
 * load is the identity. */
char *config_write(const struct config *c);
/* write memory: atomically replace path (tmp, fsync, rename), keeping
 * path.bak. Returns 0 or -1 with errno. */
int config_save(const struct config *c, const char *path);

/* Validation that needs the whole config (undefined transform set, ACL,
 * missing keys for manual entries). Fills err with the line of the
 * offending entry. Called by the loaders. */
bool config_validate(const struct config *c, struct cfg_error *err);

/* The IOS-style message: "% Invalid input detected at '^' marker." with
 * the line, a caret under the column, and file:line:col. */
void cfg_error_format(const struct cfg_error *e, char *buf, size_t len);

/* Interactive help: the possible next words (with help text) after the
 * given partial line in the given mode path. Used by `?` and completion. */
struct cfg_help {
	char word[48];
	char help[96];
};
unsigned config_help(const char *mode_path, const char *partial, struct cfg_help *out,
		     unsigned max);

#endif
