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
#include "lib/cpulist.h"
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

/* set transform-set T1 [T2 .. T6]: IOS takes up to six transform sets per
 * crypto map entry or ipsec profile, in order of preference; with IKE each
 * becomes one child SA proposal (RFC 7296 section 3.3). name[0] is the
 * first ("" when none is set). */
#define CFG_TS_PER_ENTRY 6
struct cfg_ts_list {
	char name[CFG_TS_PER_ENTRY][CFG_NAME_MAX];
	uint8_t n;
};

struct cfg_map_entry {
	char map[CFG_NAME_MAX];
	uint32_t seq;
	bool manual;           /* ipsec-manual vs ipsec-isakmp */
	struct ip_addr peer;
	struct cfg_ts_list ts;
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
	unsigned ikev2_line;        /* line of set ikev2-profile */
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
	bool tun_dual;       /* tunnel mode ipsec dual-overlay: IPv4 and IPv6 in one SA */
	char tun_protection[CFG_NAME_MAX];
	bool shutdown;
	unsigned line, tun_prot_line;
};

struct cfg_route { /* ip route PREFIX MASK IFNAME|NEXTHOP */
	struct ip_prefix dst;
	char ifname[CFG_NAME_MAX];
	struct ip_addr nexthop;
};

/* ---- IKEv2 (crypto ikev2 ...) ----------------------------------------
 * Read by the IKE engine. Lists are small fixed arrays so that a config
 * stays a plain value (copy = memcpy, apart from the PSKs). */
#define CFG_IKEV2_MAX_ALGS 16
#define CFG_IKEV2_MAX_LIST 8

/* crypto ikev2 proposal NAME: the transforms of one IKE SA proposal
 * (RFC 7296 section 3.3), each list in preference order. */
struct cfg_ikev2_proposal {
	char name[CFG_NAME_MAX];
	unsigned nencr, ninteg, nprf, ngroup;
	uint16_t encr[CFG_IKEV2_MAX_ALGS];      /* enum encr_id */
	uint16_t encr_bits[CFG_IKEV2_MAX_ALGS]; /* key length (Key Length attribute) */
	uint16_t integ[CFG_IKEV2_MAX_ALGS];     /* enum integ_id; none for AEAD */
	/* enum prf_id. Always the effective list: when no `prf` line was
	 * given it is derived from the integrity list, as IOS does. */
	uint16_t prf[CFG_IKEV2_MAX_ALGS];
	bool prf_set;                           /* a `prf` line was given */
	uint16_t group[CFG_IKEV2_MAX_ALGS];     /* enum dh_group_id */
	bool aead;                              /* the ciphers are AEAD (no integrity) */
	bool builtin;                           /* one of the default proposals */
	unsigned line, encr_line, integ_line;   /* source lines, for messages */
};

/* crypto ikev2 policy NAME. A policy without `match address local`
 * matches every local address. */
struct cfg_ikev2_policy {
	char name[CFG_NAME_MAX];
	unsigned nproposals;
	char proposals[CFG_IKEV2_MAX_LIST][CFG_NAME_MAX];
	unsigned proposal_line[CFG_IKEV2_MAX_LIST];
	unsigned nlocal;
	struct ip_addr local[CFG_IKEV2_MAX_LIST];
	bool fvrf_any;
	bool builtin;
	unsigned line;
};

enum cfg_ike_id_type {
	CFG_ID_NONE = 0,
	CFG_ID_ADDRESS, /* ID_IPV4_ADDR / ID_IPV6_ADDR */
	CFG_ID_FQDN,    /* ID_FQDN */
	CFG_ID_EMAIL,   /* ID_RFC822_ADDR */
	CFG_ID_KEY_ID,  /* ID_KEY_ID */
};

/* identity local ... / peer identity ... (RFC 7296 section 3.5) */
struct cfg_ike_id {
	uint8_t type; /* enum cfg_ike_id_type */
	struct ip_addr addr;
	char name[128];
};

struct cfg_ikev2_peer {
	char name[CFG_NAME_MAX];
	/* address A [M] | address X:X::X/M; addr.addr.af 0 = not set. The
	 * mask form is remembered for show running-config. */
	struct ip_prefix addr;
	bool addr_masked;
	struct cfg_ike_id id;
	struct secret *psk_local;  /* owned, wiped; NULL if none */
	struct secret *psk_remote; /* owned, wiped; NULL if none */
	unsigned line;
};

struct cfg_ikev2_keyring {
	char name[CFG_NAME_MAX];
	unsigned npeers;
	struct cfg_ikev2_peer *peers; /* owned */
	unsigned line;
};

/* match identity remote ... */
struct cfg_ikev2_match_id {
	uint8_t type; /* enum cfg_ike_id_type */
	bool domain;  /* fqdn domain NAME / email domain NAME: suffix match */
	struct ip_prefix addr; /* address A [M] | X:X::X/M */
	bool addr_masked;
	char name[128];
};

enum cfg_ike_auth { CFG_AUTH_NONE = 0, CFG_AUTH_PSK, CFG_AUTH_RSA_SIG, CFG_AUTH_ECDSA_SIG };
enum cfg_dpd_mode { CFG_DPD_OFF = 0, CFG_DPD_ON_DEMAND, CFG_DPD_PERIODIC };
enum cfg_dpd_action { CFG_DPD_CLEAR = 0, CFG_DPD_HOLD, CFG_DPD_RESTART };

struct cfg_dpd {
	uint32_t interval, retry; /* seconds; interval 0 = off */
	uint8_t mode;             /* enum cfg_dpd_mode */
	uint8_t action;           /* enum cfg_dpd_action (esprit) */
};

#define CFG_IKEV2_DEF_LIFETIME 86400

struct cfg_ikev2_profile {
	char name[CFG_NAME_MAX];
	unsigned nmatch;
	struct cfg_ikev2_match_id match[CFG_IKEV2_MAX_LIST];
	char match_cert[CFG_NAME_MAX];       /* match certificate MAP (PKI issue) */
	struct cfg_ike_id local_id;          /* identity local; NONE = our address */
	uint8_t auth_local, auth_remote;     /* enum cfg_ike_auth */
	struct secret *auth_local_psk;       /* authentication local pre-share key K */
	struct secret *auth_remote_psk;      /* authentication remote pre-share key K */
	char keyring[CFG_NAME_MAX];          /* keyring local NAME */
	char trustpoint[CFG_NAME_MAX];       /* pki trustpoint NAME (PKI issue) */
	struct cfg_dpd dpd;                  /* interval 0: the global setting */
	uint32_t lifetime_s;                 /* IKE SA lifetime, 120..86400 */
	uint32_t nat_keepalive;              /* 0: the global setting */
	uint32_t frag_mtu;                   /* 0: the global setting */
	unsigned nlocal;
	struct ip_addr local[CFG_IKEV2_MAX_LIST]; /* match address local */
	unsigned line, keyring_line;
};

/* crypto ipsec profile NAME (tunnel protection; IKE-negotiated child SAs) */
struct cfg_ipsec_profile {
	char name[CFG_NAME_MAX];
	struct cfg_ts_list ts;
	char ikev2_profile[CFG_NAME_MAX];
	char isakmp_profile[CFG_NAME_MAX]; /* IKEv1, kept as a name for now */
	uint16_t pfs_group;                /* 0 = none */
	uint64_t lifetime_s, lifetime_kb;  /* 0 = global default */
	unsigned line, ts_line, ikev2_line;
};

/* IKE-wide settings (crypto ikev2 cookie-challenge, dpd, nat keepalive,
 * fragmentation, limit, defaults). */
enum cfg_ikev2_defaults { CFG_IKEV2_DEFAULTS_MODERN = 0, CFG_IKEV2_DEFAULTS_IOS_LEGACY };

struct cfg_ikev2_global {
	uint32_t cookie_challenge;  /* half-open SAs before COOKIE is asked; 0 = never */
	struct cfg_dpd dpd;
	uint32_t nat_keepalive;     /* seconds; 0 = off */
	bool fragmentation;         /* RFC 7383 */
	uint32_t frag_mtu;          /* 0 = default (576 IPv4 / 1280 IPv6) */
	uint32_t max_in_negotiation; /* 0 = no limit */
	uint8_t defaults;           /* enum cfg_ikev2_defaults */
	bool no_default_proposal, no_default_policy; /* no crypto ikev2 proposal|policy default */
};

/* ---- the whole configuration ---------------------------------------- */
/* Data-plane offloads, all on by default (`no crypto engine offload X`
 * turns one off, for debugging; read at start-up). */
enum {
	CFG_OFFLOAD_MULTIQUEUE = 1u << 0, /* a TUN queue and sockets per worker */
	CFG_OFFLOAD_TSO = 1u << 1,        /* TCP superpackets from the TUN */
	CFG_OFFLOAD_UDP_GSO = 1u << 2,    /* UDP_SEGMENT on send */
	CFG_OFFLOAD_UDP_GRO = 1u << 3,    /* UDP_GRO on receive */
	CFG_OFFLOAD_TUN_GRO = 1u << 4,    /* decrypted TCP coalesced for the TUN */
	CFG_OFFLOAD_BATCH_CRYPTO = 1u << 5, /* multi-buffer AES-CBC+HMAC seals */
	CFG_OFFLOAD_USO = 1u << 6,        /* UDP superpackets from/to the TUN */
	CFG_OFFLOAD_IPSEC_MB = 1u << 7,   /* intel-ipsec-mb for AES-GCM and batches */
};
#define CFG_OFFLOAD_N 8
extern const char *const cfg_offload_names[CFG_OFFLOAD_N];

struct config {
	char hostname[CFG_NAME_MAX];
	char source_file[256];

	/* global crypto ipsec settings */
	uint32_t replay_window;     /* default 64 (IOS); 0 = disabled */
	bool replay_disabled;
	bool udp_encap;             /* crypto ipsec nat-transparency udp-encapsulation */
	uint8_t df_bit;             /* crypto ipsec df-bit: enum dp_df_bit (0: copy) */
	bool frag_after;            /* crypto ipsec fragmentation after-encryption */
	uint64_t sa_lifetime_s;     /* crypto ipsec security-association lifetime seconds (3600) */
	uint64_t sa_lifetime_kb;    /* ... kilobytes (4608000) */
	char tun_ifname[CFG_NAME_MAX]; /* data-plane TUN device for crypto maps: ipsec0 */
	char control_socket[256];  /* esprit control-socket PATH, default /run/esprit/espritd.sock */
	unsigned workers;          /* crypto engine workers N (0 = one per core) */
	unsigned offload_off;      /* no crypto engine offload X: CFG_OFFLOAD_* bits */
	bool xdp_tx;               /* crypto engine offload xdp-tx (off by default) */
	uint32_t queue_len;        /* crypto engine queue-length N (0 = the kernel's 500) */
	/* crypto engine cpus LIST: bit n = CPU n; worker i runs on the i-th
	 * CPU listed (modulo their number); none set = not pinned */
	uint64_t cpus[CPULIST_WORDS];

	unsigned nacls, nsets, nmaps, nbindings, nifs, nroutes;
	struct cfg_acl *acls;
	struct cfg_transform_set *sets;
	struct cfg_map_entry *maps;   /* sorted by (map, seq) */
	struct cfg_map_binding *bindings;
	struct cfg_interface *ifs;
	struct cfg_route *routes;

	/* IKEv2 and IPsec profiles. The default proposals/policy are entries
	 * with builtin set (see config_ikev2_policy_select). */
	struct cfg_ikev2_global ikev2;
	unsigned nikev2_proposals, nikev2_policies, nikev2_keyrings, nikev2_profiles;
	unsigned nipsec_profiles;
	struct cfg_ikev2_proposal *ikev2_proposals;
	struct cfg_ikev2_policy *ikev2_policies;
	struct cfg_ikev2_keyring *ikev2_keyrings;
	struct cfg_ikev2_profile *ikev2_profiles;
	struct cfg_ipsec_profile *ipsec_profiles;

	/* key config-key password-encrypt MASTER / password encryption aes:
	 * type 6 pre-shared keys (see docs/configuration.md). */
	struct secret *master_key; /* owned; NULL if not set */
	bool password_encryption;

	/* Lines the parser accepted but does not model yet (e.g. crypto isakmp
	 * before the IKEv1 issue): kept verbatim so write memory loses nothing. */
	unsigned nopaque;
	char **opaque;
};

struct config *config_new(void);     /* defaults filled in */
void config_free(struct config *c);  /* wipes keys */

const struct cfg_acl *config_acl(const struct config *c, const char *name);
const struct cfg_transform_set *config_transform_set(const struct config *c, const char *name);
bool cfg_ts_list_eq(const struct cfg_ts_list *a, const struct cfg_ts_list *b);
const struct cfg_map_binding *config_map_binding(const struct config *c, const char *map);

/* IKEv2 lookups by name; NULL if not defined. "default" finds the default
 * proposal/policy unless removed with `no crypto ikev2 proposal|policy
 * default`. Pointers are borrowed, valid while c lives. */
const struct cfg_ikev2_proposal *config_ikev2_proposal(const struct config *c, const char *name);
const struct cfg_ikev2_policy *config_ikev2_policy(const struct config *c, const char *name);
const struct cfg_ikev2_keyring *config_ikev2_keyring(const struct config *c, const char *name);
const struct cfg_ikev2_profile *config_ikev2_profile(const struct config *c, const char *name);
const struct cfg_ipsec_profile *config_ipsec_profile(const struct config *c, const char *name);
/* The policy for an IKE SA on local address `local` (NULL: any): first a
 * policy whose match address local lists it, then the first policy with no
 * local match, then the default policy. NULL if none applies. */
const struct cfg_ikev2_policy *config_ikev2_policy_select(const struct config *c,
							   const struct ip_addr *local);
/* A keyring peer for a remote address (longest prefix wins) or, if addr is
 * NULL, for a remote identity (exact match). NULL if none. */
const struct cfg_ikev2_peer *config_ikev2_keyring_peer(const struct cfg_ikev2_keyring *k,
							const struct ip_addr *addr,
							const struct cfg_ike_id *id);

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
