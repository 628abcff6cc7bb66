/* Security associations: what IKE or manual keying installs (struct
 * sa_params) and what the data plane keeps per SA (struct sa).
 * This is the seam of ARCHITECTURE.md: the data plane sees only this, the
 * SAD and the SPD; IKE and config see only sa_params, policies and the
 * acquire/expire callbacks. */
#ifndef ESPRIT_IPSEC_SA_H
#define ESPRIT_IPSEC_SA_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "crypto/alg.h"
#include "ipsec/replay.h"
#include "ipsec/ts.h"
#include "lib/addr.h"
#include "lib/secret.h"

enum ipsec_proto {
	IPSEC_PROTO_ESP = 50,
	IPSEC_PROTO_AH = 51,
	IPSEC_PROTO_COMP = 108, /* IPComp; spi holds the CPI */
};

enum ipsec_mode { IPSEC_MODE_TUNNEL = 0, IPSEC_MODE_TRANSPORT = 1 };
enum sa_dir { SA_DIR_IN = 0, SA_DIR_OUT = 1 };

/* Drop reasons (STYLE.md 10): every dropped packet is counted under one. */
enum dp_drop {
	DROP_NONE = 0,
	DROP_NO_SA,        /* inbound SPI unknown */
	DROP_REPLAY,       /* duplicate or left of the window */
	DROP_ICV,          /* integrity check failed */
	DROP_BAD_PAD,      /* ESP padding/trailer invalid */
	DROP_POLICY,       /* packet does not match the SA's selectors (in: decapsulated; out: a
			    * tunnel interface's or map's packet outside a narrowed child) */
	DROP_MALFORMED,    /* truncated or garbage header */
	DROP_SEQ_OVERFLOW, /* outbound sequence number would wrap */
	DROP_HARD_EXPIRED, /* lifetime reached */
	DROP_NO_POLICY,    /* packet routed to us but no crypto map entry matches */
	DROP_DISCARD,      /* policy says discard (e.g. deny in a map with no SA) */
	DROP_COMP,         /* IPComp decompression failed */
	DROP_NO_OUT_SA,    /* policy matched but no outbound SA (queued/acquire) */
	DROP_TOO_BIG,      /* result exceeds the buffer / MTU */
	DROP_INTERNAL,     /* crypto library error, allocation */
	DROP__COUNT
};
const char *dp_drop_name(enum dp_drop d);

/* Who installed an SA: the reconciler manages only manual SAs and leaves
 * those of a key manager (IKE) alone. */
enum sa_origin { SA_ORIGIN_KEYMGR = 0, SA_ORIGIN_MANUAL = 1 };

/* What gets installed. Keys are owned by the caller; sad_install copies. */
struct sa_params {
	uint32_t spi; /* host order; the CPI for IPSEC_PROTO_COMP */
	uint8_t proto;  /* enum ipsec_proto */
	uint8_t dir;    /* enum sa_dir */
	uint8_t mode;   /* enum ipsec_mode */
	struct ip_addr src, dst;    /* outer addresses (tunnel endpoints or hosts) */
	uint16_t encap_sport;       /* UDP encapsulation (RFC 3948); 0 = native */
	uint16_t encap_dport;
	uint16_t encr_id;           /* enum encr_id (ESP) */
	uint16_t encr_key_bits;
	const struct secret *encr_key; /* key || salt */
	uint16_t integ_id;          /* enum integ_id (ESP or AH) */
	const struct secret *integ_key;
	bool esn;                   /* RFC 4303 2.2.1 / RFC 4304 */
	uint32_t replay_window;     /* packets; 0 = anti-replay disabled */
	uint64_t soft_bytes, hard_bytes;     /* 0 = unlimited */
	uint64_t soft_packets, hard_packets; /* 0 = unlimited */
	uint64_t soft_seconds, hard_seconds; /* 0 = unlimited (manual SAs) */
	uint32_t reqid;             /* the policy (crypto map entry / tunnel) it serves */
	/* Inner selectors, always written local -> remote as in the crypto
	 * ACL, for both directions: an outbound packet matches with
	 * ts_list_match(sel, f, false), an inbound (decapsulated) packet with
	 * ts_list_match(sel, f, true). */
	struct ts_list sel;
	char name[72];              /* "MAP 10" or "Tunnel101", for show (63 + " 65535") */
	uint8_t origin;             /* enum sa_origin */
	/* Outbound only: a rekey responder's new SA, held back while an
	 * older usable SA of the same reqid exists (sad_lookup_out) until
	 * sad_activate; see ipsec/sad.h "make-before-break". */
	bool standby;
	/* A manual SA reinstalled with the same SPI and keys (only its
	 * selectors, lifetimes or name changed) goes on from where its
	 * predecessor was: "the sequence number counter at the sender MUST be
	 * correctly maintained ... until the key is replaced" (RFC 4303 3.3.3),
	 * else the peer, whose SA did not change, drops everything as replays.
	 * 0 for a new SA. */
	uint64_t seq_start;    /* outbound: the last sequence number sent */
	uint64_t replay_start; /* inbound: the highest sequence number seen */
};

/* Counters the show command prints, one set per worker, summed on show
 * (written by one thread only: no atomics on the hot path). */
struct sa_stats {
	uint64_t packets, bytes;       /* encaps/decaps (post-crypto) */
	uint64_t compressed, not_compressed; /* IPComp */
	uint64_t drops[DROP__COUNT];
} __attribute__((aligned(64)));

struct cipher;
struct mac;
struct mb_key;

/* Per-worker crypto state: one context each, set up at install time. */
struct sa_crypto {
	struct cipher *cipher;
	struct mac *mac;
} __attribute__((aligned(64)));

enum sa_state { SA_LARVAL, SA_MATURE, SA_SOFT_EXPIRED, SA_HARD_EXPIRED, SA_DEAD };

struct sa {
	struct sa_params p;         /* keys pointers in p are NULL: see keys below */
	/* p.encr_id / p.integ_id looked up once (per packet otherwise);
	 * NULL for ENCR_NONE / AUTH_NONE */
	const struct encr_alg *encr_alg;
	const struct integ_alg *integ_alg;
	struct secret *encr_key, *integ_key; /* owned */
	struct sa_crypto *wk;       /* [nworkers] */
	struct mb_key *mbk;         /* AES-CBC+HMAC: batch seal / ICV (crypto/mb.h); NULL: none */
	struct sa_stats *stats;     /* [nworkers] */
	unsigned nworkers;
	uint64_t seq_out;           /* next outbound sequence number - 1; atomic add */
	/* Outbound: the turn to take sequence numbers and send (a ticket
	 * lock; dataplane/xform.h xform_output, xform_release). tx_holder is
	 * the worker index + 1 of the holder, 0 = none. All atomic. */
	uint32_t tx_next, tx_serving, tx_holder;
	struct replay_window *replay; /* inbound; NULL if disabled */
	pthread_spinlock_t replay_lock; /* protects replay (workers share it) */
	uint64_t install_time;      /* CLOCK_MONOTONIC seconds */
	uint64_t retire_at;         /* CLOCK_MONOTONIC seconds, 0 = none; atomic (sad_retire) */
	int state;                  /* enum sa_state, atomic */
	uint64_t total_bytes, total_packets; /* atomic; for lifetimes */
	/* Outbound: the path MTU to the peer, learned by the data plane when a
	 * send failed for size (0: none learned; the route's MTU is then big
	 * enough), and until when it holds (CLOCK_MONOTONIC seconds; then it
	 * is tried again, as the kernel's own PMTU entries expire). Atomic. */
	uint32_t path_mtu;
	uint64_t path_mtu_until;
	struct sa *next_hash;       /* SAD internal */
	struct rcu_head_opaque { void *a, *b; } rcu; /* SAD internal (struct rcu_head) */
};

/* Sum per-worker stats into *out. */
void sa_stats_sum(const struct sa *sa, struct sa_stats *out);
const char *sa_state_name(enum sa_state s);

/* The one place an SA changes state (STYLE.md 9). Allowed:
 *   LARVAL -> MATURE | DEAD
 *   MATURE -> SOFT_EXPIRED | HARD_EXPIRED | DEAD
 *   SOFT_EXPIRED -> HARD_EXPIRED | DEAD
 *   HARD_EXPIRED -> DEAD
 * Atomic (compare-and-swap): when several threads race for the same
 * transition exactly one gets true, so an event tied to it fires once.
 * Logs old -> new; returns false (and changes nothing) if the transition
 * is not allowed from the current state. */
bool sa_state_change(struct sa *sa, enum sa_state to);
enum sa_state sa_state_get(const struct sa *sa);

#endif
