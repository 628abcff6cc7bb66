/* The data plane as the daemon sees it: start it with a SAD, an SPD and a
 * description of the devices and sockets, stop it, read its global counters.
 * Worker threads are internal. No globals: everything hangs off struct dp,
 * so several workers (and several instances, in tests) can coexist.
 *
 * Routing and marking (route.c has the details):
 *   - every protected destination prefix (dp_route_add) is a route pointing
 *     at the TUN device, in the main table as long as none covers a peer
 *     (dp_route_outer, dp_sa_installed) and the main table has no route of
 *     its own for it; otherwise, from then on, in a dedicated table
 *     (dp_config.route_table, default 220) behind one rule per address
 *     family, "not fwmark MARK lookup TABLE" (preference
 *     dp_config.rule_pref, default 220), which sends every packet that does
 *     not carry the mark through that table first; what the table does not
 *     match falls through to the main table as usual. The rule is not put
 *     in by default because it makes every routing lookup of the host walk
 *     the rules (and validate sources in full): a quarter of the bench's
 *     throughput;
 *   - every socket the data plane sends on carries SO_MARK = fwmark, so the
 *     ESP/AH/UDP packets it emits skip the rule and use the main table: they
 *     never loop back into the TUN, even when a protected prefix covers the
 *     peer's own address. The IKE sockets of the daemon must set the same
 *     SO_MARK for the same reason. */
#ifndef ESPRIT_DATAPLANE_DP_H
#define ESPRIT_DATAPLANE_DP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipsec/sad.h"
#include "ipsec/spd.h"
#include "lib/cpulist.h"

#define DP_FWMARK_DEFAULT 0x5e5e /* SO_MARK on our own packets */
#define DP_ROUTE_TABLE_DEFAULT 220
#define DP_RULE_PREF_DEFAULT 220
#define DP_TUN_MTU_DEFAULT 1400
#define DP_TUN_QLEN_DEFAULT 500 /* the kernel's for a TUN device (TUN_READQ_SIZE) */
#define DP_NATT_PORT_DEFAULT 4500

/* Zero fields take the defaults above (workers 0 = one per core). */
struct dp_config {
	char tun_name[16];     /* "ipsec0" */
	uint32_t tun_mtu;      /* inner MTU, default 1400 */
	unsigned workers;      /* 0 = one per core */
	uint32_t fwmark;       /* SO_MARK value; policy routing keeps marked packets off the TUN */
	uint16_t natt_port;    /* UDP port for ESP-in-UDP, 4500 */
	bool udp_encap_listen; /* open the UDP 4500 socket */
	uint32_t route_table;  /* table for protected prefixes, default 220 */
	uint32_t rule_pref;    /* preference of the "not fwmark" rule, default 220 */
	bool no_sysctl;        /* tests: leave ip_forward / rp_filter alone */
	uint32_t tun_qlen;     /* packets per TUN queue (txqueuelen); 0 = kernel default */
	/* Offloads, all on by default; each can be turned off for debugging
	 * (the environment variable ESPRIT_DP_OFFLOADS=0 turns all off).
	 *   no_multiqueue: one TUN queue and one set of sockets, so one worker;
	 *   no_tso: no TCP superpackets from the TUN (IFF_VNET_HDR stays);
	 *   no_gso: one sendmsg per ESP-in-UDP packet (sendmmsg batches stay);
	 *   no_gro: no UDP_GRO on the NAT-T sockets;
	 *   no_tun_gro: decrypted TCP segments written to the TUN one by one
	 *   (not coalesced into superpackets, gro.c);
	 *   no_batch_crypto: every ESP packet sealed on its own with OpenSSL
	 *   (no multi-buffer AES-CBC+HMAC, crypto/mb.h);
	 *   no_uso: no UDP superpackets from the TUN, and decrypted UDP
	 *   datagrams are not coalesced for it (TCP is unaffected). */
	bool no_multiqueue, no_tso, no_gso, no_gro, no_tun_gro, no_batch_crypto, no_uso;
	/* Off by default (crypto engine offload xdp-tx): native ESP/AH sent
	 * with AF_XDP (xsk.c), past netfilter and the sending device's
	 * qdisc and packet taps. */
	bool xdp_tx;
};

struct dp_global_stats {
	uint64_t tun_rx, tun_tx, net_rx, net_tx;
	uint64_t tun_ignored;       /* link-scope multicast from the kernel (MLD, IGMP) */
	uint64_t natt_keepalive_rx; /* RFC 3948 2.3 one-octet 0xff */
	uint64_t ike_rx;            /* non-ESP marker on the UDP port (RFC 3948 2.2) */
	uint64_t acquires;          /* acquire callbacks fired (after rate limiting) */
	/* Receive coalescing (gro.c): superpackets written to the TUN and
	 * the decrypted segments they carried (also counted in tun_tx). */
	uint64_t tun_gro_writes, tun_gro_pkts;
	/* Batch sealing (crypto/mb.h): batches sealed by the multi-buffer
	 * library and the ESP packets in them. */
	uint64_t mb_batches, mb_pkts;
	uint64_t mb_in_batches, mb_in_pkts; /* inbound: ICVs computed together */
	/* Packets over the path MTU learned for their peer (RFC 4301 8.2):
	 * IPv4 without DF fragmented before encryption, and the ICMP "too
	 * big" messages sent to the senders of the others (dropped). */
	uint64_t pmtu_fragmented, pmtu_icmp_sent;
	/* Packets over the path MTU sealed whole and the sealed packet
	 * fragmented by us: IPv6 ones of at most 1280 bytes (RFC 8200 5, RFC
	 * 2473 7.1), IPv4 ones under crypto ipsec fragmentation
	 * after-encryption or df-bit clear. */
	uint64_t pmtu_fragmented_after;
	/* ICMP path MTU messages received (RFC 4301 8.2.1, pmtu.c): mapped to
	 * an outbound SA and applied to its peer's SAs, or ignored (naming no
	 * SA of ours, malformed, over the rate). */
	uint64_t pmtu_icmp_rx, pmtu_icmp_ignored;
	/* The acquire queue (packets waiting for their SA): queued, sent once
	 * the SA was up, dropped after the timeout, refused (queue full; those
	 * are also counted as no-outbound-sa drops, as are the expired). */
	uint64_t acq_queued, acq_flushed, acq_expired, acq_overflow;
	/* xdp-tx: native packets sent with AF_XDP; sent on the raw socket
	 * instead for want of a free frame (busy), or of a usable next hop
	 * (raw: not resolved yet, a stale neighbour being confirmed, the
	 * cache slot held by another peer, the device's socket down). */
	uint64_t xdp_tx, xdp_tx_busy, xdp_tx_raw;
	/* Dropped by the kernel before a worker read them (the kernel's own
	 * counters, since start or the last clear; filled by dp_stats, not by
	 * the workers): packets routed into a tunnel device whose queue was
	 * full, datagrams for a receive socket whose buffer was full. Both
	 * mean the workers fell behind (load, too few cores, a burst). */
	uint64_t tun_queue_drops, sock_buffer_drops;
	uint32_t tun_qlen; /* packets each tunnel device queue holds (crypto engine queue-length) */
	uint64_t drops[DROP__COUNT]; /* drops not attributable to an SA (no SA, no policy) */
};

struct dp;

/* How many workers cfg_workers means (0 = one per online core). The
 * daemon sizes the SAD with this (sad_new(n)) before dp_start: xform uses
 * the worker index to pick per-worker crypto contexts. */
unsigned dp_workers_resolve(unsigned cfg_workers);

/* Creates the TUN device, sockets and workers, and installs the policy
 * routing rules. The SAD/SPD are borrowed (they outlive the dp); the SAD
 * must have been created with sad_new(dp_workers_resolve(cfg->workers)).
 * acquire may be NULL; it runs on a worker thread under rcu_read_lock (pol
 * and f are valid only during the call: copy what you keep, do not block),
 * at most once per second per policy. Returns NULL with a log line. */
struct dp *dp_start(const struct dp_config *cfg, struct sad *sad, struct spd *spd,
		    spd_acquire_fn acquire, void *acquire_arg);
/* Wakes and joins the workers, closes sockets, removes routes and rules,
 * removes the TUN device. NULL is fine. */
void dp_stop(struct dp *dp);
void dp_stats(struct dp *dp, struct dp_global_stats *out);
void dp_clear_stats(struct dp *dp);
int dp_tun_ifindex(const struct dp *dp);
/* `crypto engine queue-length`: the length of every queue of the TUN and
 * of the tunnel interfaces (and of those added later), changed live; 0 =
 * DP_TUN_QLEN_DEFAULT. Main thread. 0, or -1 if a device refused (logged;
 * the others are changed). */
int dp_set_queue_len(struct dp *dp, uint32_t qlen);
/* `crypto engine cpus`: worker i runs on the i-th CPU of mask (modulo
 * their number); an empty mask lets every worker run on any CPU espritd
 * was started on. dp_check_cpus refuses (-1, a message in err) a CPU
 * outside those (dp NULL: outside the CPUs the caller may run on now, for
 * espritd -t), before anything changes; dp_set_cpus checks, then pins.
 * Main thread. */
int dp_check_cpus(const struct dp *dp, const uint64_t mask[CPULIST_WORDS], char *err,
		  size_t errlen);
int dp_set_cpus(struct dp *dp, const uint64_t mask[CPULIST_WORDS], char *err, size_t errlen);
/* The CPU worker i is pinned to; -1: any (or no worker i). */
int dp_worker_cpu(const struct dp *dp, unsigned i);
unsigned dp_nworkers(const struct dp *dp);
/* Worker i's own counters (the SA-independent ones dp_stats sums; the
 * kernel drop and acquire-queue fields stay 0). -1 if there is no worker
 * i. */
int dp_worker_stats(const struct dp *dp, unsigned i, struct dp_global_stats *out);

/* crypto ipsec df-bit: the DF bit of the outer IPv4 header of tunnel mode
 * packets. COPY: from the inner IPv4 header (set for an inner IPv6
 * packet); CLEAR: never (routers on the path may fragment the sealed
 * packet); SET: always. */
enum dp_df_bit { DP_DF_COPY, DP_DF_CLEAR, DP_DF_SET };
/* Takes effect with the next packet each worker reads; logged if changed. */
void dp_set_df_bit(struct dp *dp, enum dp_df_bit mode);
/* crypto ipsec fragmentation after-encryption: an IPv4 packet without DF
 * over the path MTU is sealed whole and the sealed packet fragmented,
 * instead of fragmented before encryption (the default, as on IOS). Same
 * timing as dp_set_df_bit. */
void dp_set_frag_after(struct dp *dp, bool after);
const char *dp_df_bit_name(enum dp_df_bit mode); /* "copy", "clear", "set" */

/* What the data plane runs with (`show crypto engine`): the offloads in
 * force, which may be fewer than configured (the kernel refused one). */
struct dp_engine {
	char tun_name[16];
	unsigned workers, queues, nvti;
	uint32_t queue_len, mtu, fwmark, route_table;
	bool route_rule;     /* prefixes in route_table behind the rule (else: main) */
	char route_why[160]; /* why the rule is in */
	uint16_t natt_port; /* 0: not listening */
	bool multiqueue, tso, uso, gso, gro, tun_gro, batch_crypto, xdp_tx;
	bool uso_refused; /* asked for, but this kernel has no TUN USO (< 6.2) */
	enum dp_df_bit df_bit;
	bool frag_after;
};
void dp_engine(const struct dp *dp, struct dp_engine *e);
/* The worker that receives the packets of inbound SA p (for show). */
unsigned dp_sa_rx_worker(const struct dp *dp, const struct sa_params *p);

/* IKE messages that arrive on the NAT-T UDP port (RFC 3948 2.2: after the
 * four-octet non-ESP marker). msg excludes the marker. Runs on a worker
 * thread; msg is valid only during the call. Set it once, before traffic
 * flows (or accept that a message racing the update is dropped). With no
 * handler, such messages are counted (ike_rx) and dropped. */
typedef void (*dp_ike_fn)(const uint8_t *msg, size_t len, const struct ip_addr *src,
			  uint16_t sport, const struct ip_addr *dst, uint16_t dport, void *arg);
void dp_set_ike_handler(struct dp *dp, dp_ike_fn fn, void *arg);
/* Send an IKE message from the NAT-T socket (it owns UDP natt_port): the
 * non-ESP marker is prepended here. src may be NULL or unset (kernel
 * picks). Returns 0 or -1 with errno. Thread safe. */
int dp_natt_send_ike(struct dp *dp, const struct ip_addr *src, const struct ip_addr *dst,
		     uint16_t dport, const uint8_t *msg, size_t len);
/* A NAT-keepalive (RFC 3948 2.3: one 0xff octet) from the NAT-T socket. */
int dp_natt_send_keepalive(struct dp *dp, const struct ip_addr *src, const struct ip_addr *dst,
			   uint16_t dport);

/* Routes and policy routing (route.c, libnl): route each protected
 * destination prefix into the TUN device through the dedicated table;
 * see the comment at the top of this file. Thread safe (one netlink socket
 * under a mutex); called from the main thread. Return 0 or -1 (logged). */
int dp_route_add(struct dp *dp, const struct ip_prefix *dst);
/* Same, with a preferred source address for traffic the gateway itself
 * originates towards dst (transport mode, or a gateway's own pings into a
 * tunnel): the kernel would otherwise pick an address outside the policy.
 * If the route cannot be added with src (not a local address), it is added
 * without it and a warning is logged. src may be NULL. */
int dp_route_add_src(struct dp *dp, const struct ip_prefix *dst, const struct ip_addr *src);
int dp_route_del(struct dp *dp, const struct ip_prefix *dst);
/* addr is a peer (what names it in the log: "peer of crypto map M 10"):
 * esprit's own packets go there, so no protected prefix may route it into
 * the TUN. If one does (now or when added later), the routes move to the
 * dedicated table behind the rule. Call it for every configured peer
 * before adding routes. 0, or -1 if the move failed (logged). */
int dp_route_outer(struct dp *dp, const struct ip_addr *addr, const char *what);
void dp_routes_flush(struct dp *dp); /* every route this dp added */

/* An SA was installed (the key manager and the manual SAs' loader call it
 * after sad_install). Outbound: the path MTU to its peer is asked now, so
 * that its very first packet, if too large for the path, is dealt with
 * before it is sealed (RFC 4301 8.2); packets queued for it are sent now
 * rather than at the next periodic look (100 ms). Thread safe, does not
 * block (one socket, a route lookup); NULL dp is a no-op. */
void dp_sa_installed(struct dp *dp, const struct sa_params *p);

/* Route-based VTIs (ARCHITECTURE "Outbound, route-based"): a TUN device
 * `name` (IFNAMSIZ) whose packets are protected with the outbound SA of
 * reqid, without an SPD lookup (policy any/any, tunnel mode); inbound SAs
 * with that reqid write the decrypted packets to it. No SA yet: queued and
 * acquired with a policy named after the device. Multi-queue like the main
 * TUN. Main thread; 0 or -1 (logged; duplicate name or reqid, no slot). */
int dp_vti_add(struct dp *dp, const char *name, uint32_t reqid, uint32_t mtu);
/* Removes the device (and with it its addresses and routes). Waits until
 * no worker uses it (normally one poll wake-up). 0, or -1 if unknown. */
int dp_vti_del(struct dp *dp, const char *name);
/* `ip address A M` on the device (host bits kept). 0 or -1. */
int dp_vti_addr_add(struct dp *dp, const char *name, const struct ip_prefix *a);
int dp_vti_addr_del(struct dp *dp, const char *name, const struct ip_prefix *a);
/* `ip route PREFIX MASK name`: main table, dev name. 0 or -1. */
int dp_vti_route_add(struct dp *dp, const char *name, const struct ip_prefix *dst);
int dp_vti_route_del(struct dp *dp, const char *name, const struct ip_prefix *dst);
int dp_vti_ifindex(struct dp *dp, const char *name); /* 0 if unknown */

#endif
