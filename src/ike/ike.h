/* What both IKE versions share: the environment an IKE engine runs in
 * (network, clock, randomness, data plane), the connection configuration
 * the daemon fills from the configuration model, and small helpers
 * (retransmission schedule, NAT detection hashes, cookies).
 *
 * The engine owns no socket, no event loop and no SAD: the daemon passes
 * received datagrams in, calls ike_tick-style functions when the time
 * returned by the engine's next_timeout has come, and gets datagrams,
 * SA installs and deletes out through struct ike_env. Tests replace every
 * callback (STYLE.md 17) and drive time by hand.
 */
#ifndef ESPRIT_IKE_IKE_H
#define ESPRIT_IKE_IKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipsec/sa.h"
#include "ipsec/ts.h"
#include "lib/addr.h"
#include "lib/secret.h"

#define IKE_PORT 500
#define IKE_NATT_PORT 4500 /* RFC 7296 2.23; the daemon adds/strips the non-ESP marker */

/* The world outside the engine. All callbacks get `ctx` first. The engine
 * never blocks; every callback returns quickly. */
struct ike_env {
	void *ctx;
	/* One IKE datagram, without the 4-byte non-ESP marker (the daemon
	 * adds it when sport or dport is 4500). Returns 0 or -1. */
	int (*send)(void *ctx, const uint8_t *msg, size_t len, const struct ip_addr *src,
		    uint16_t sport, const struct ip_addr *dst, uint16_t dport);
	uint64_t (*now_ms)(void *ctx); /* monotonic milliseconds */
	int (*random)(void *ctx, void *buf, size_t len); /* SPIs, nonces */
	/* Child SA to the data plane (keys borrowed for the call). 0 or -1. */
	int (*sa_install)(void *ctx, const struct sa_params *p);
	int (*sa_delete)(void *ctx, uint32_t spi, uint8_t proto, const struct ip_addr *dst);
	/* Optional: a connection's IKE SA went up (up = true) or died (DPD,
	 * delete, give-up). `action` is enum ike_dpd_action on death, so the
	 * daemon can keep a trap policy (hold); restart is done by the engine. */
	void (*conn_event)(void *ctx, const char *conn, bool up, int action);
	/* Optional: a NAT-keepalive (RFC 3948 4: one 0xff byte in UDP, no
	 * non-ESP marker) from src, our port 4500, to dst:dport. 0 or -1. */
	int (*send_keepalive)(void *ctx, const struct ip_addr *src, const struct ip_addr *dst,
			      uint16_t dport);
	/* Optional: the peer's NAT mapping moved; change the UDP encapsulation
	 * ports of an installed Child SA in place (sport/dport as in
	 * sa_params for that SA's direction). 0 or -1. */
	int (*sa_update_encap)(void *ctx, uint32_t spi, uint8_t proto, uint16_t sport,
			       uint16_t dport);
	/* Optional, make-before-break after a rekey (ipsec/sad.h): delete an
	 * inbound SA a few seconds from now (sad_retire) instead of at once;
	 * let a standby outbound SA carry traffic (sad_activate). 0 or -1.
	 * Without them the engine deletes at once and installs no standby. */
	int (*sa_retire)(void *ctx, uint32_t spi, uint8_t proto, const struct ip_addr *dst);
	int (*sa_activate)(void *ctx, uint32_t spi, uint8_t proto, const struct ip_addr *dst);
	/* Optional: does an installed inbound SA (in any state, also one
	 * retiring) use this SPI (CPI for IPSEC_PROTO_COMP)? The engine draws
	 * another one then; without it only its own children are checked. */
	bool (*spi_in_use)(void *ctx, uint32_t spi, uint8_t proto);
};

/* Identities (RFC 7296 3.5). type 0 in a remote identity means "any". */
enum ike_id_type {
	IKE_ID_ANY = 0,
	IKE_ID_IPV4 = 1,   /* = IKEV2_ID_IPV4_ADDR */
	IKE_ID_FQDN = 2,
	IKE_ID_RFC822 = 3,
	IKE_ID_IPV6 = 5,
	IKE_ID_KEY_ID = 11,
};

#define IKE_ID_MAX 255
struct ike_id {
	uint8_t type; /* enum ike_id_type */
	uint8_t len;
	uint8_t data[IKE_ID_MAX]; /* address bytes, or the string without NUL */
};

/* Writes a printable form ("fqdn:gw.example", "ipv4:198.51.100.1"). */
const char *ike_id_str(const struct ike_id *id, char *buf, size_t len);
bool ike_id_eq(const struct ike_id *a, const struct ike_id *b);
#define IKE_ID_STRLEN 300

/* One IKE SA proposal: every combination of the listed transforms is
 * acceptable; lists are in local order of preference. encr_bits[k] is the
 * key length of encr[k] (0 = fixed-size algorithm). integ is empty with
 * AEAD ciphers. */
#define IKE_XF_MAX 8
struct ike_proposal {
	uint8_t n_encr, n_integ, n_prf, n_dh;
	uint16_t encr[IKE_XF_MAX], encr_bits[IKE_XF_MAX];
	uint16_t integ[IKE_XF_MAX];
	uint16_t prf[IKE_XF_MAX];
	uint16_t dh[IKE_XF_MAX]; /* the first one is used for the first KE */
};

/* One Child SA proposal (ESP or AH). */
struct ike_child_proposal {
	uint8_t proto; /* IPSEC_PROTO_ESP or IPSEC_PROTO_AH */
	uint8_t n_encr, n_integ;
	uint16_t encr[IKE_XF_MAX], encr_bits[IKE_XF_MAX];
	uint16_t integ[IKE_XF_MAX];
};

enum ike_dpd_mode { IKE_DPD_OFF = 0, IKE_DPD_ON_DEMAND, IKE_DPD_PERIODIC };
enum ike_dpd_action { IKE_DPD_CLEAR = 0, IKE_DPD_HOLD, IKE_DPD_RESTART };

#define IKE_CONN_NAME_MAX 72 /* a 63-character map name, a space, a 5-digit sequence */
#define IKE_MAX_PROPOSALS 8

struct ike_child_cfg {
	/* Selectors local -> remote, as in the crypto ACL (sa_params.sel):
	 * TSi/TSr of the initiator are the src/dst of these entries. */
	struct ts_list sel;
	struct ike_child_proposal props[IKE_MAX_PROPOSALS];
	uint8_t n_props;
	uint8_t mode;      /* enum ipsec_mode */
	bool ipcomp;       /* offer/accept IPCOMP_SUPPORTED (DEFLATE) */
	bool esn;          /* ESN allowed (offered first); otherwise only "no ESN" */
	uint16_t pfs_group; /* 0 = no PFS in CREATE_CHILD_SA */
	uint32_t soft_seconds, hard_seconds; /* 0 = unlimited */
	uint64_t soft_kbytes, hard_kbytes;
	uint32_t reqid;
	uint32_t replay_window; /* packets */
	/* set security-association level per-host: as initiator, a child per
	 * host pair (the triggering packet's addresses, the ACL line's
	 * protocol and ports) instead of one for the whole ACL */
	bool per_host;
};

/* A connection: what the daemon builds from crypto map entry + ikev2
 * profile + keyring. The engine copies it (ike_conn_copy) and owns the
 * copy; the PSKs are duplicated. */
struct ike_conn {
	char name[IKE_CONN_NAME_MAX];
	uint8_t version; /* 2 */
	struct ip_addr local, remote; /* remote af 0: any peer (responder only) */
	uint16_t local_port, remote_port; /* 0 = 500 */
	struct ike_id local_id;  /* type 0: our address */
	struct ike_id remote_id; /* type 0: any */
	struct secret *psk_local;  /* signs our AUTH; owned */
	struct secret *psk_remote; /* verifies the peer's; NULL = psk_local */
	/* where the key that verifies the peer comes from, for logs
	 * ("keyring KR peer gwA", "ikev2 profile P"); never the key */
	char psk_remote_from[160];
	struct ike_proposal ike_props[IKE_MAX_PROPOSALS];
	uint8_t n_ike_props;
	uint32_t ike_lifetime_s; /* IKE SA rekey; 0 = never */
	struct ike_child_cfg child;
	uint32_t dpd_interval_s; /* 0 = off */
	/* IOS `dpd INTERVAL RETRY`: an unanswered DPD request is sent
	 * V2_DPD_SENDS times in all within V2_DPD_SENDS * RETRY s, the gaps
	 * growing exponentially (RFC 7296 2.4; v2_dpd_wait_ms), and the peer
	 * is dead at the end of them: death by INTERVAL + 5 * RETRY, which is
	 * within INTERVAL * RETRY for every allowed pair; 0 = the exponential
	 * schedule of other requests. */
	uint8_t dpd_retry_s;
	uint8_t dpd_mode, dpd_action;
	uint32_t nat_keepalive_s; /* behind a NAT: keepalive interval; 0 = 20 s */
	uint16_t frag_mtu; /* RFC 7383: fragment above this size; 0 = off */
#define IKE_FRAG_MTU_DEFAULT 0xffff /* frag_mtu: 576 (IPv4) or 1280 (IPv6) */
	/* A protected tunnel interface (VTI): its child (any <-> any) is told
	 * apart from another tunnel's to the same peer only by its IKE SA, so
	 * it never shares one with another entry (v2_conn_shares_ike_sa). */
	bool route_based;
};

/* Engine-wide settings. */
struct ike_global {
	unsigned cookie_threshold; /* half-open SAs before cookies (2.6); 0 = always */
	bool cookies_off;
	uint32_t retransmit_base_ms;  /* first timeout; 0 = 500 */
	uint8_t retransmit_tries;     /* give up after; 0 = 5 */
	uint32_t half_open_timeout_ms; /* responder: drop after; 0 = 30 s */
};

/* Deep copy (PSKs duplicated). Returns 0 or -1. */
int ike_conn_copy(struct ike_conn *dst, const struct ike_conn *src);
void ike_conn_clear(struct ike_conn *c); /* frees the PSKs */

/* ---- retransmission (RFC 7296 2.1, 2.4) ----
 * Exponential back-off: timeout n = base * 2^n, capped at 60 s. After
 * `tries` retransmissions without an answer the peer is given up. */
struct ike_retx {
	uint8_t *buf; /* owned: the request exactly as sent */
	size_t len;
	uint8_t sent;     /* how many times it was sent */
	uint64_t due_ms;  /* next retransmission or give-up; 0 = idle */
};

void ike_retx_start(struct ike_retx *r, uint8_t *buf, size_t len, uint64_t now,
		    uint32_t base_ms); /* takes ownership of buf */
/* At due_ms: true = send again (and the next due is set); false = give up. */
bool ike_retx_due(struct ike_retx *r, uint64_t now, uint32_t base_ms, uint8_t tries);
void ike_retx_stop(struct ike_retx *r);

/* Response cache (2.1): the last response sent, for retransmitted requests. */
struct ike_resp_cache {
	uint8_t *buf; /* owned */
	size_t len;
	uint32_t msgid;
	bool valid;
};
int ike_resp_cache_set(struct ike_resp_cache *rc, const uint8_t *buf, size_t len, uint32_t msgid);
void ike_resp_cache_clear(struct ike_resp_cache *rc);

/* ---- NAT detection (RFC 7296 2.23) ----
 * SHA-1(SPIi | SPIr | IP | Port), 20 bytes. spi_r is all zero in the
 * IKE_SA_INIT request. */
#define IKE_NATD_LEN 20
int ike_natd_hash(const uint8_t spi_i[8], const uint8_t spi_r[8], const struct ip_addr *a,
		  uint16_t port, uint8_t out[IKE_NATD_LEN]);

/* ---- Cookies (RFC 7296 2.6) ----
 * Cookie = <VersionIDofSecret> | Hash(Ni | IPi | SPIi | <secret>): 4 +
 * 32 bytes (SHA-256). The secret is rotated by ike_cookie_rotate; the
 * previous one stays valid. */
#define IKE_COOKIE_LEN 36
struct ike_cookie_secret {
	uint32_t version;
	uint8_t cur[32], prev[32];
	bool have_prev;
};
int ike_cookie_rotate(struct ike_cookie_secret *s, const uint8_t fresh[32]);
int ike_cookie_make(const struct ike_cookie_secret *s, const uint8_t *ni, size_t ni_len,
		    const struct ip_addr *ip, const uint8_t spi_i[8], uint8_t out[IKE_COOKIE_LEN]);
bool ike_cookie_check(const struct ike_cookie_secret *s, const uint8_t *ni, size_t ni_len,
		      const struct ip_addr *ip, const uint8_t spi_i[8], const uint8_t *cookie,
		      size_t len);
void ike_cookie_wipe(struct ike_cookie_secret *s);

/* ---- IKE SA table: hash by our own SPI, plus a count of half-open SAs ----
 * Entries are embedded in the version's SA struct (intrusive). */
struct ike_sa_entry {
	uint8_t spi[8]; /* our SPI */
	struct ike_sa_entry *next;
};

#define IKE_SA_BUCKETS 256
struct ike_sa_table {
	struct ike_sa_entry *b[IKE_SA_BUCKETS];
	unsigned count;
	unsigned half_open; /* responder SAs between IKE_SA_INIT and IKE_AUTH */
};

void ike_sa_table_add(struct ike_sa_table *t, struct ike_sa_entry *e);
void ike_sa_table_del(struct ike_sa_table *t, struct ike_sa_entry *e);
struct ike_sa_entry *ike_sa_table_find(const struct ike_sa_table *t, const uint8_t spi[8]);

#endif
