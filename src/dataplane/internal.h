/* Data-plane runtime internals: struct dp, workers, the packet pool, and
 * the TUN/socket/route helpers. Private to src/dataplane (dp.c, tun.c,
 * sock.c, route.c, worker.c, pool.c, acquire.c). */
#ifndef ESPRIT_DATAPLANE_INTERNAL_H
#define ESPRIT_DATAPLANE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dataplane/dp.h"
#include "dataplane/xform.h"
#include "lib/log.h"

/* Packets per batch read from one fd before moving to the next (fairness),
 * and the size of each worker's packet pool. recvmmsg uses one buffer per
 * message of a batch. */
#define DP_BATCH 32
#define DP_POOL_SIZE DP_BATCH

/* ---- packet pool (pool.c) ---------------------------------------------
 * A fixed set of PKT_BUF_SIZE buffers owned by one worker: no malloc per
 * packet, no locking (only the owning thread touches it). */
struct pkt_pool {
	unsigned n, nfree;
	struct pkt *pkts;   /* [n] */
	struct pkt **free;  /* stack of free packets, [n] */
	uint8_t *mem;       /* n * PKT_BUF_SIZE */
};

int pkt_pool_init(struct pkt_pool *pp, unsigned n);
void pkt_pool_destroy(struct pkt_pool *pp);
/* A packet with off = PKT_HEADROOM, len = 0; NULL if the pool is empty. */
struct pkt *pkt_pool_get(struct pkt_pool *pp);
void pkt_pool_put(struct pkt_pool *pp, struct pkt *p);
/* Room for packet data from p->off to the end of the buffer. */
static inline size_t pkt_room(const struct pkt *p)
{
	return p->cap - p->off;
}

/* ---- acquire rate limiting (acquire.c) --------------------------------
 * At most one acquire per policy (reqid) per interval; shared by every
 * worker (slow path: a mutex). A small direct-mapped table: two reqids in
 * one slot evict each other, which can only make acquires more frequent,
 * never suppress one for longer than the interval. */
#define ACQ_SLOTS 256
struct acq_limit {
	pthread_mutex_t lock;
	uint64_t interval_ns;
	struct {
		uint32_t reqid;
		bool used;
		uint64_t last_ns;
	} slot[ACQ_SLOTS];
};

void acq_limit_init(struct acq_limit *al, uint64_t interval_ns);
void acq_limit_destroy(struct acq_limit *al);
/* True if an acquire for reqid may be sent at time now (and records it). */
bool acq_limit_allow(struct acq_limit *al, uint32_t reqid, uint64_t now);

/* ---- TUN (tun.c) ------------------------------------------------------ */
/* One fd per queue; today a single queue (IFF_TUN|IFF_NO_PI). With
 * IFF_MULTI_QUEUE each worker would own queue[i] (and IFF_VNET_HDR would
 * bring GSO batches): the struct already carries an array for that. */
#define TUN_MAX_QUEUES 1
struct tun {
	char name[16];
	int ifindex;
	unsigned nqueues;
	int fd[TUN_MAX_QUEUES];
};

/* Creates the device, sets its MTU and brings it up (libnl). */
int tun_open(struct tun *t, const char *name, uint32_t mtu);
/* Closes every queue: a non-persistent TUN device disappears with them. */
void tun_close(struct tun *t);
/* Which queue a worker reads and writes. */
static inline int tun_fd_for(const struct tun *t, unsigned worker)
{
	return t->fd[worker % t->nqueues];
}

/* ---- sockets (sock.c) ------------------------------------------------- */
enum dp_rxsock {
	RX_RAW4_ESP, RX_RAW4_AH, RX_RAW6_ESP, RX_RAW6_AH, RX_UDP4, RX_UDP6, RX__COUNT
};

struct dp_socks {
	int rx[RX__COUNT]; /* -1 if not open; the UDP sockets also send */
	int raw4_tx, raw6_tx; /* IPPROTO_RAW, header included */
	uint16_t natt_port;
};

int dp_socks_open(struct dp_socks *s, uint32_t fwmark, uint16_t natt_port, bool udp);
void dp_socks_close(struct dp_socks *s);
static inline bool rxsock_is_udp(enum dp_rxsock k)
{
	return k == RX_UDP4 || k == RX_UDP6;
}
static inline bool rxsock_is_v6(enum dp_rxsock k)
{
	return k == RX_RAW6_ESP || k == RX_RAW6_AH || k == RX_UDP6;
}
static inline uint8_t rxsock_proto(enum dp_rxsock k)
{
	return (k == RX_RAW4_AH || k == RX_RAW6_AH) ? 51 : 50;
}

/* Per-message receive state for recvmmsg: the name and control buffers. */
struct rx_meta {
	struct sockaddr_storage from;
	union {
		char buf[128];
		struct cmsghdr align;
	} ctl;
};

/* Fill msgs[i] to receive into pkts[i] (at off PKT_HEADROOM). */
void sock_rx_prepare(struct mmsghdr *m, struct iovec *iov, struct rx_meta *meta,
		     struct pkt *p);
/* After recvmmsg: turn message m of socket kind k into a packet ready
 * for xform_input and fill *in. For IPv6 raw sockets this rebuilds the
 * fixed IPv6 header in the headroom. Returns false for malformed input. */
bool sock_rx_finish(enum dp_rxsock k, const struct mmsghdr *m, struct pkt *p,
		    struct xform_in *in);

/* IPv6 raw sockets never return the IPv6 header (RFC 3542 3); build
 * the fixed 40-octet header (RFC 8200 3) just before p->off and extend p. */
bool ip6_hdr_rebuild(struct pkt *p, const struct ip_addr *src, const struct ip_addr *dst,
		     uint8_t next_hdr, uint8_t hop_limit);

/* What a datagram on the NAT-T port is (RFC 3948 2.2, 2.3). */
enum udp_kind { UDP_KEEPALIVE, UDP_IKE, UDP_ESP, UDP_BAD };
enum udp_kind udp_classify(const uint8_t *p, size_t len);

/* Send the result of xform_output: ESP-in-UDP from o->udp_payload_off on
 * the UDP socket, native on the raw socket. Returns 0, or the drop reason. */
enum dp_drop sock_send(const struct dp_socks *s, const struct pkt *p,
		       const struct xform_out *o);
int sock_udp_send(const struct dp_socks *s, const struct ip_addr *src,
		  const struct ip_addr *dst, uint16_t dport, const struct iovec *iov, int niov);

/* ---- routes (route.c) ------------------------------------------------- */
struct nl_sock;
struct dp_route_set {
	pthread_mutex_t lock; /* protects everything below */
	struct nl_sock *nl;
	uint32_t table, pref, fwmark;
	int ifindex;
	bool rule4, rule6;    /* installed */
	unsigned n, cap;
	struct ip_prefix *routes; /* what we added, for flush */
};

int route_set_init(struct dp_route_set *rs, int ifindex, uint32_t table, uint32_t pref,
		   uint32_t fwmark);
void route_set_destroy(struct dp_route_set *rs); /* flushes routes, removes rules */
int route_set_add(struct dp_route_set *rs, const struct ip_prefix *dst, const struct ip_addr *src);
int route_set_del(struct dp_route_set *rs, const struct ip_prefix *dst);
void route_set_flush(struct dp_route_set *rs);
/* /proc/sys writes: rp_filter off on the TUN, forwarding on. */
void route_sysctl_setup(const char *tun_name);
/* Open a NETLINK_ROUTE socket (tun.c uses it too). */
struct nl_sock *route_nl_open(void);

/* ---- workers and the dp (worker.c, dp.c) ------------------------------ */
/* Counters of one worker: written by that worker only (relaxed atomic
 * stores so readers are race-free), summed by dp_stats. */
struct dp_worker_stats {
	struct dp_global_stats s;
} __attribute__((aligned(64)));

struct dp;

struct dp_worker {
	struct dp *dp;
	unsigned idx;
	pthread_t thread;
	bool started;
	struct pkt_pool pool;
	struct xform_scratch *scratch;
	struct dp_worker_stats stats;
};

struct dp {
	struct dp_config cfg;
	struct sad *sad;  /* borrowed */
	struct spd *spd;  /* borrowed */
	spd_acquire_fn acquire;
	void *acquire_arg;
	dp_ike_fn ike_fn; /* atomic pointer; see dp_set_ike_handler */
	void *ike_arg;
	struct acq_limit acq;
	struct tun tun;
	struct dp_socks socks;
	struct dp_route_set routes;
	bool routes_ready;
	int wake_fd;      /* eventfd: readable = stop */
	bool stopping;    /* atomic */
	unsigned nworkers;
	struct dp_worker *workers; /* [nworkers] */
	/* Rate limits for drop logs, shared by the workers. */
	struct ratelimit rl_drop, rl_io;
};

void *dp_worker_main(void *arg);

static inline void stat_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

#endif
