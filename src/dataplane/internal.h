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
#include <linux/virtio_net.h>

/* virtio 1.2 5.1.6.2: UDP segmentation (Linux 4.18); not in Debian 12's
 * headers. */
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

#include "dataplane/dp.h"
#include "dataplane/xform.h"
#include "lib/log.h"

/* Packets per batch read from one fd before moving to the next (fairness),
 * and the size of each worker's packet pool. recvmmsg uses one buffer per
 * message of a batch. */
#define DP_BATCH 32
/* A TUN superpacket is cut into up to 64 KB / MSS segments (about 48 at
 * MTU 1400), each held in its own buffer until the batch is sent. */
#define DP_TX_MAX 64
#define DP_RXQ_MAX 32 /* received packets opened together (worker.c rxq_run) */
#define DP_POOL_SIZE (DP_BATCH + DP_TX_MAX + 64 + 2) /* + GRO_HOLD */
/* How long a path MTU learned from a failed send holds (the kernel's
 * net.ipv4.route.mtu_expires default). */
#define DP_PMTU_TTL_S 600

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

/* ---- acquire queue (acquire.c) ----------------------------------------
 * ARCHITECTURE "no SA: queue the packet (bounded) and send an ACQUIRE":
 * packets that found a PROTECT policy (or a VTI) without an outbound SA
 * wait here, copied, until an outbound SA for their reqid exists (then a
 * worker sends them through xform_output) or ACQQ_TIMEOUT_NS passes.
 * Bounded per reqid and overall; shared by every worker (slow path: one
 * mutex, a malloc per queued packet). Order is kept (one FIFO). */
#define ACQQ_REQID_PKTS 16
#define ACQQ_REQID_BYTES 65536
#define ACQQ_TOTAL_PKTS 256
#define ACQQ_TOTAL_BYTES (1024 * 1024)
#define ACQQ_TIMEOUT_NS 5000000000ull

struct acqq_pkt {
	struct acqq_pkt *next;
	uint32_t reqid;
	unsigned origin; /* 0: the main TUN (SPD lookup again); i + 1: VTI slot i */
	uint64_t t_ns;   /* when queued */
	size_t len;
	uint8_t data[];
};

struct acq_queue {
	pthread_mutex_t lock;
	struct acqq_pkt *head, *tail;
	unsigned n;      /* atomic store under lock: read lock-free by acqq_pending */
	size_t bytes;
	/* Counters (relaxed atomic stores under lock, read by dp_stats). */
	uint64_t queued, flushed, expired, overflow;
};

void acqq_init(struct acq_queue *q);
void acqq_destroy(struct acq_queue *q); /* frees what is still queued */
/* Copy len bytes of d. False if a bound would be exceeded (the caller
 * drops the packet; counted as overflow). *was_empty says whether the queue
 * was empty before (the caller then wakes the worker that drains it). */
bool acqq_push(struct acq_queue *q, uint32_t reqid, unsigned origin, const uint8_t *d,
	       size_t len, uint64_t now, bool *was_empty);
/* Unlink and return (in FIFO order) every packet that ready() says has an
 * SA now (counted as flushed); packets older than ACQQ_TIMEOUT_NS are
 * freed (counted as expired, *expired += n). ready may be NULL (only
 * expiry). The caller sends and then frees the list (acqq_list_free). */
typedef bool (*acqq_ready_fn)(const struct acqq_pkt *e, void *arg);
struct acqq_pkt *acqq_take(struct acq_queue *q, uint64_t now, acqq_ready_fn ready, void *arg,
			   unsigned *expired);
void acqq_list_free(struct acqq_pkt *l);
static inline bool acqq_pending(const struct acq_queue *q)
{
	return __atomic_load_n(&q->n, __ATOMIC_RELAXED) != 0;
}

/* ---- TUN (tun.c) ------------------------------------------------------ */
/* One fd per queue: with IFF_MULTI_QUEUE each worker owns queue[i] (the
 * kernel picks a queue per flow, so a flow's packets stay in order on one
 * worker). With IFF_VNET_HDR every read and write starts with a
 * virtio_net_hdr (TUN_VNET_LEN bytes); with TSO the kernel hands us TCP
 * superpackets of up to 64 KB (gso.c cuts them). */
#define TUN_MAX_QUEUES 64
#define TUN_VNET_LEN ((size_t)sizeof(struct virtio_net_hdr))
struct tun {
	char name[16];
	int ifindex;
	unsigned nqueues;
	bool vnet;  /* IFF_VNET_HDR: reads/writes carry a virtio_net_hdr */
	bool tso;   /* TUNSETOFFLOAD TSO4/6 accepted: reads may be superpackets */
	bool uso;   /* USO4/6 too: reads may be UDP superpackets (GSO_UDP_L4) */
	int fd[TUN_MAX_QUEUES];
};

/* Creates the device with nqueues queues (1 = no IFF_MULTI_QUEUE), with
 * IFF_VNET_HDR and TSO / USO offloads if vnet/tso/uso, sets its MTU and
 * brings it up (libnl). Falls back to fewer queues/offloads if the kernel
 * refuses. */
int tun_open(struct tun *t, const char *name, uint32_t mtu, unsigned nqueues, bool vnet,
	     bool tso, bool uso);
/* Sets the length of each queue (txqueuelen), live. 0 or -1 (logged). */
int tun_set_qlen(const struct tun *t, uint32_t qlen);
/* Closes every queue: a non-persistent TUN device disappears with them. */
void tun_close(struct tun *t);
/* Add or delete an interface address (prefix with the host bits kept, as
 * in `ip address A M`) on ifindex (libnl). 0 or -1 (logged). */
int tun_addr_change(int ifindex, const struct ip_prefix *a, bool add);
/* Which queue a worker reads and writes. */
static inline int tun_fd_for(const struct tun *t, unsigned worker)
{
	return t->fd[worker % t->nqueues];
}

/* ---- segmentation and checksums (gso.c) -------------------------------- */
struct gso_info {
	bool v6;
	bool udp;       /* GSO_UDP_L4: datagrams, else TCP segments */
	size_t l3_len;  /* IP header */
	size_t hdr_len; /* IP + TCP/UDP headers, copied into every segment */
	size_t mss;     /* TCP or UDP payload per segment (gso_size) */
	unsigned nseg;
};

uint64_t gso_csum_add(const uint8_t *d, size_t len, uint64_t sum);
uint16_t gso_csum_fold(uint64_t sum);
/* VIRTIO_NET_HDR_F_NEEDS_CSUM on a packet that is not a superpacket:
 * finish the L4 checksum. False if the offsets are out of the packet. */
bool gso_csum_complete(uint8_t *d, size_t len, size_t csum_start, size_t csum_offset);
/* A TCP superpacket (gso_type VIRTIO_NET_HDR_GSO_TCPV4/6) of len bytes. */
bool gso_parse(const uint8_t *d, size_t len, uint8_t gso_type, uint16_t gso_size,
	       struct gso_info *g);
size_t gso_segment_build(const uint8_t *d, size_t len, const struct gso_info *g, unsigned i,
			 uint8_t *out);

/* ---- packets too big for the path MTU (frag.c) ------------------------- */
/* How an IPv4 packet without DF is cut into fragments of at most mtu
 * bytes. The packet may itself be a fragment (off0, mf). */
struct ip4_frag_plan {
	size_t hlen;      /* the packet's header: the first fragment's */
	size_t hlen_rest; /* the later fragments': only the copied options */
	size_t chunk;     /* payload bytes per fragment (a multiple of 8) */
	size_t off0;      /* the packet's own fragment offset, bytes */
	bool mf;          /* the packet's own more-fragments flag */
	unsigned nfrag;
	uint8_t opts[40]; /* the copied options, padded */
};
/* False if d[0..len) is not an IPv4 packet without DF whose length
 * field says len and that carries a payload, or mtu cannot hold its
 * header and 8 bytes. */
bool ip4_frag_plan(const uint8_t *d, size_t len, size_t mtu, struct ip4_frag_plan *fp);
/* Fragment i (0 <= i < nfrag) into out (at least mtu bytes): its length. */
size_t ip4_frag_build(const uint8_t *d, size_t len, const struct ip4_frag_plan *fp, unsigned i,
		      uint8_t *out);
/* A sealed IPv6 packet d (fixed header only, as our outer headers are) cut
 * by its source into fragments of at most mtu bytes (RFC 8200 4.5): how
 * many (0: not possible), and fragment i (0 <= i < count) into out (at
 * least mtu bytes), identification id. */
size_t ip6_frag_count(size_t len, size_t mtu);
size_t ip6_frag_build(const uint8_t *d, size_t len, size_t mtu, uint32_t id, unsigned i,
		      uint8_t *out);
/* The ICMP message (from its type on) that tells the sender of packet d
 * that mtu is the most the path takes: out needs 8 + 60 + 8 bytes for
 * IPv4, 1240 for IPv6. 0: not to be answered (an ICMP error, a non-first
 * fragment, a multicast or unspecified address) or not a packet. */
size_t icmp4_frag_needed(const uint8_t *d, size_t len, uint16_t mtu, uint8_t *out);
size_t icmp6_packet_too_big(const uint8_t *d, size_t len, uint32_t mtu, uint8_t *out);
#define ICMP_TOO_BIG_MAX 1240

/* ---- path MTU messages received (pmtu.c) ----------------------------------- */
/* What an ICMP "fragmentation needed" or ICMPv6 "packet too big" says
 * about a packet we sent. */
struct pmtu_msg {
	struct ip_addr from;     /* the router that sent it */
	struct ip_addr src, dst; /* the quoted packet's: us, the peer */
	uint32_t mtu;            /* the next-hop MTU it names */
	uint8_t proto;           /* ESP or AH (ESP for ESP-in-UDP) */
	bool udp;                /* ESP-in-UDP: sport, dport */
	uint16_t sport, dport;
	uint32_t spi;            /* 0: not quoted (UDP with 8 bytes only) */
};
enum pmtu_parse {
	PMTU_OK,
	PMTU_NOT,     /* another ICMP type or code */
	PMTU_FOREIGN, /* quotes a packet that is not ESP, AH or UDP */
	PMTU_BAD,     /* malformed: lengths, checksum, quoted header, MTU 0 */
};
/* d: the IPv4 packet as a raw socket returns it (header included). */
enum pmtu_parse icmp4_pmtu_parse(const uint8_t *d, size_t len, struct pmtu_msg *m);
/* d: the ICMPv6 message (no IPv6 header); from: its source. */
enum pmtu_parse icmp6_pmtu_parse(const uint8_t *d, size_t len, const struct ip_addr *from,
				 struct pmtu_msg *m);
struct dp_worker;
/* Worker 0: read what waits on an ICMP socket and apply it. */
void pmtu_icmp_rx(struct dp_worker *w, int fd, bool v6);

/* ---- receive coalescing (gro.c) ---------------------------------------- */
/* A decrypted TCP segment that may join a superpacket. */
struct gro_seg {
	bool v6;
	bool udp;        /* a UDP datagram (flags and seq unused) */
	bool df;         /* IPv4 DF (always for TCP) */
	uint16_t ip_id;  /* IPv4 identification */
	uint8_t flags;   /* TCP flags */
	size_t l3_len;   /* IP header */
	size_t hdr_len;  /* IP + TCP headers */
	size_t payload;  /* TCP payload bytes */
	uint32_t seq;
};
bool gro_parse(const uint8_t *d, size_t len, struct gro_seg *s);
/* May b follow the run that starts with a and holds `have` payload bytes? */
bool gro_can_append(const uint8_t *a, const struct gro_seg *sa, size_t have,
		    const uint8_t *b, const struct gro_seg *sb);
/* Rewrite a's headers for the whole run and fill the virtio_net_hdr. */
void gro_finish(uint8_t *d, const struct gro_seg *s, size_t total_payload, uint8_t flags,
		struct virtio_net_hdr *vh);
/* Decrypted packets held for the TUN until the end of a receive batch. */
#define GRO_HOLD 64
struct gro_held {
	struct pkt *p;
	const struct tun *t;
	bool owned; /* returned to the pool by the flush */
};

/* ---- sockets (sock.c) ------------------------------------------------- */
enum dp_rxsock {
	RX_RAW4_ESP, RX_RAW4_AH, RX_RAW6_ESP, RX_RAW6_AH, RX_UDP4, RX_UDP6, RX__COUNT
};

struct dp_socks {
	int rx[RX__COUNT]; /* -1 if not open; the UDP sockets also send */
	int raw4_tx, raw6_tx; /* IPPROTO_RAW, header included */
	/* ICMP "too big" to senders; receive only "fragmentation needed" and
	 * "packet too big" (pmtu.c, worker 0) */
	int icmp4, icmp6;
	uint32_t fwmark;
	uint16_t natt_port;
};

/* The path MTU the kernel knows to dst (routes and learned PMTU; our
 * packets' fwmark picks the route), 0 if it cannot say. Three system
 * calls: for the rare packet that failed for size. */
uint32_t sock_path_mtu(const struct dp_socks *s, const struct ip_addr *dst);
/* Send ICMP message msg (type on) to dst; the kernel chooses the source
 * and (ICMPv6) fills the checksum. 0 or -1. */
int sock_icmp_send(const struct dp_socks *s, const struct ip_addr *dst, const uint8_t *msg,
		   size_t len);

/* reuseport: the UDP sockets join an SO_REUSEPORT group (several workers). */
int dp_socks_open(struct dp_socks *s, uint32_t fwmark, uint16_t natt_port, bool udp,
		  bool reuseport);
void dp_socks_close(struct dp_socks *s);

/* Per-worker receive sockets (steering): worker idx of n gets its own
 * UDP sockets in the SO_REUSEPORT group of the NAT-T port (idx > 0; worker
 * 0 has s->rx) and its own raw IPv4 ESP socket (every raw socket gets a
 * copy of each packet, so each carries a filter that keeps SPI % n == idx).
 * Kinds it does not own are the shared fds of s (own[k] false). Then
 * dp_socks_steer (once every worker's sockets exist) makes the kernel pick
 * the UDP socket of worker SPI % n. One SA is then handled by one worker:
 * its packets stay in order and its replay window sees no contention.
 * gro: UDP_GRO on the UDP sockets. Returns 0 or -1 (logged). */
int dp_socks_worker_open(const struct dp_socks *s, unsigned idx, unsigned n, uint32_t fwmark,
			 bool gro, int rx[RX__COUNT], bool own[RX__COUNT]);
int dp_socks_steer(const struct dp_socks *s, unsigned n);
/* Datagrams the kernel dropped on a receive socket since it was opened
 * (its buffer was full: SO_MEMINFO's SK_MEMINFO_DROPS); 0 if unknown. */
uint64_t sock_rx_drops(int fd);
/* Classic BPF programs (exposed for tests): keep IPv4 ESP with
 * SPI % n == idx; pick reuseport socket SPI % n. */
struct sock_fprog;
void sock_bpf_raw4_esp(struct sock_fprog *prog, void *insns, unsigned idx, unsigned n);
void sock_bpf_reuseport(struct sock_fprog *prog, void *insns, unsigned n);
#define SOCK_BPF_MAX_INSNS 8
/* The UDP_GRO segment size of a received datagram, 0 if not coalesced. */
size_t sock_rx_gro_size(const struct mmsghdr *m);

/* A batch of sealed packets for the network, sent by sock_send_batch:
 * consecutive ESP-in-UDP packets to the same peer and of the same size
 * (the last may be shorter) go in one sendmsg with UDP_SEGMENT (UDP GSO)
 * when gso; everything else one message each, one sendmmsg per socket run.
 * The packets stay owned by the caller until the call returns. */
struct tx_ent {
	struct pkt *p;
	struct xform_out o;
	bool xdp; /* sent by AF_XDP (xsk_worker_send): sock_send_batch skips it */
};
struct tx_batch {
	unsigned n;
	struct tx_ent e[DP_TX_MAX];
};
/* res[i]: DROP_NONE or why entry i was not sent. Returns how many were
 * sent. *gso is cleared if the kernel refuses UDP GSO (then those packets
 * are dropped once, and later batches go without). */
unsigned sock_send_batch(const struct dp_socks *s, const struct tx_batch *b, bool *gso,
			 enum dp_drop res[DP_TX_MAX]);
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
struct dp_route {
	struct ip_prefix dst;
	struct ip_addr src; /* preferred source, af 0: none */
};

/* Where the protected prefixes are routed (route.c): in the main table
 * while none covers an address esprit's own packets go to (a peer), else
 * in table T behind the "not fwmark" rule (ruled; one way: it stays until
 * the set is destroyed). */
struct dp_route_set {
	pthread_mutex_t lock; /* protects everything below */
	struct nl_sock *nl;
	uint32_t table, pref, fwmark;
	int ifindex;
	bool ruled;           /* routes in table T, rules installed */
	bool rule4, rule6;    /* installed */
	unsigned n, cap;
	struct dp_route *routes; /* what we added, for flush and the move to T */
	unsigned nouter, capouter;
	struct ip_addr *outer; /* peers: addresses that must not be routed into the TUN */
	char why[160];         /* why ruled */
};

int route_set_init(struct dp_route_set *rs, int ifindex, uint32_t table, uint32_t pref,
		   uint32_t fwmark);
void route_set_destroy(struct dp_route_set *rs); /* flushes routes, removes rules */
int route_set_add(struct dp_route_set *rs, const struct ip_prefix *dst, const struct ip_addr *src);
int route_set_del(struct dp_route_set *rs, const struct ip_prefix *dst);
void route_set_flush(struct dp_route_set *rs);
/* addr is a peer (what: for the log, "peer of crypto map M 10"): if a
 * protected prefix covers it, or a later one does, the routes move to
 * table T behind the rule. 0, or -1 if that move failed (logged). */
int route_set_outer(struct dp_route_set *rs, const struct ip_addr *addr, const char *what);
/* The routes move to table T behind the rule now (why: for the log and
 * show). 0 or -1 (logged). */
int route_set_use_rule(struct dp_route_set *rs, const char *why);
/* Which scheme is in force (why: "" while in the main table). */
bool route_set_ruled(struct dp_route_set *rs, char *why, size_t whylen);
/* A route PREFIX dev IFINDEX in the main table (VTI routes, `ip route P M
 * TunnelN`), on the set's netlink socket. Not remembered: the device's
 * removal takes its routes with it. 0 or -1 (logged). */
int route_set_dev(struct dp_route_set *rs, int ifindex, const struct ip_prefix *dst, bool add);
/* /proc/sys writes: rp_filter off on the TUN, forwarding on. */
void route_sysctl_setup(const char *tun_name);
/* Open a NETLINK_ROUTE socket (tun.c uses it too). */
struct nl_sock *route_nl_open(void);
/* Sum of the TX drops of the links (a TUN device counts there the packets
 * routed into it that found its queue full); links that are gone count 0.
 * Returns 0, or -1 if netlink failed. */
int route_links_tx_dropped(const int *ifindex, unsigned n, uint64_t *sum);

/* ---- route-based VTIs (vti.c) ------------------------------------------
 * `interface TunnelN` with tunnel protection: a TUN device of that name.
 * What the kernel routes into it is protected with the outbound SA of its
 * reqid (policy any/any, tunnel mode, no SPD lookup); what arrives on an
 * inbound SA of that reqid is written to it. Slots are filled by the main
 * thread (dp_vti_add/del, under vti_lock); workers read a slot only when
 * `used` (acquire load). A deleted slot's fds are closed only once every
 * worker has passed the top of its loop (vti_gen handshake), so no worker
 * still polls or writes them. */
#define DP_VTI_MAX 16
struct dp_vti {
	bool used;          /* atomic */
	struct tun tun;
	struct policy pol;  /* reqid, PROTECT, tunnel mode, selectors any */
};

/* The VTI whose reqid this is, or NULL. Under rcu_read_lock in a worker. */
const struct dp_vti *dp_vti_of_reqid(const struct dp *dp, uint32_t reqid);
/* dp_stop, after the workers are joined: remove every VTI device. */
void dp_vti_del_all(struct dp *dp);

/* ---- AF_XDP transmit (xsk.c; crypto engine offload xdp-tx) ------------- */
#define ETH_HDR_LEN 14
struct xsk_tx;
struct nl_sock;
struct xsk_frame {
	const uint8_t *eth; /* ETH_HDR_LEN bytes */
	const uint8_t *data;
	uint32_t len;
};
/* An AF_XDP socket transmitting on ifindex's queue 0 (copy mode), or NULL
 * with why (the step and errno) filled. */
struct xsk_tx *xsk_tx_open(int ifindex, char *why, size_t whylen);
void xsk_tx_close(struct xsk_tx *x);
/* Copies frames f[0..n) into the UMEM and has the kernel send them. Thread
 * safe (a mutex). Returns how many were taken (a prefix: the others
 * found no free frame or ring slot, or were too long); *err is set when
 * the kick failed (ENETDOWN etc.: later calls take nothing). */
unsigned xsk_tx_send(struct xsk_tx *x, const struct xsk_frame *f, unsigned n, int *err);
/* Descriptors still waiting in the TX ring (the kernel said EAGAIN):
 * xsk_tx_kick sends them (the worker's next loop). */
bool xsk_tx_pending(struct xsk_tx *x);
void xsk_tx_kick(struct xsk_tx *x);
/* The device and Ethernet header (next hop's address, ours, ethertype) of
 * a packet to dst sent with fwmark mark: a unicast route with one next
 * hop, a valid neighbour entry (*confirmed: reachable or static, not
 * stale), an Ethernet device. -1 otherwise, *why saying which (send it
 * the raw way). */
int xsk_next_hop(struct nl_sock *nl, const struct ip_addr *dst, uint32_t mark, int *ifindex,
		 uint8_t eth[ETH_HDR_LEN], bool *confirmed, const char **why);

/* Per worker: the next hop of each recent peer (a direct-mapped cache,
 * asked again after XSK_HOP_TTL_S, or XSK_HOP_RETRY_S when it could not be
 * resolved). A slot is not taken from a peer before its time is up: a
 * second peer of the slot goes the raw way meanwhile (xdp_tx_raw). */
#define XSK_HOPS 256
#define XSK_HOP_TTL_S 5
#define XSK_HOP_RETRY_S 1
struct xsk_hop {
	struct ip_addr dst;
	uint64_t until_s;     /* now_coarse_s; 0: empty */
	struct xsk_tx *x;     /* NULL: send it the raw way */
	uint8_t eth[ETH_HDR_LEN];
};
/* The devices with an AF_XDP socket (opened by the first worker that
 * needs one, under dp->xsk_lock; closed by dp_stop). */
#define DP_XSK_DEVS 8
struct dp_xsk_dev {
	int ifindex;          /* 0: free slot */
	struct xsk_tx *x;     /* NULL: could not be opened (logged; tried again at retry_s) */
	uint64_t retry_s;
};
#define DP_XSK_RETRY_S 5
struct dp_worker;
/* Sends the native (not UDP) ESP/AH packets of b that have a resolved next
 * hop with AF_XDP and marks them (e->xdp); returns how many. The others
 * stay for sock_send_batch. */
unsigned xsk_worker_send(struct dp_worker *w, struct tx_batch *b);
void xsk_worker_fini(struct dp_worker *w);
void dp_xsk_close_all(struct dp *dp);

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
	int cpu;                /* the CPU it is pinned to (crypto engine cpus), -1: any */
	struct pkt_pool pool;
	struct xform_scratch *scratch;
	int rx[RX__COUNT];      /* the sockets this worker polls (see dp_socks_worker_open) */
	bool rx_own[RX__COUNT]; /* opened for this worker: closed with it */
	bool gso;               /* UDP GSO on send (cleared if the kernel refuses it) */
	struct tx_batch tx;     /* sealed packets waiting for sock_send_batch */
	bool gro;               /* coalesce decrypted TCP into TUN superpackets */
	bool gro_udp;           /* and UDP datagrams (GSO_UDP_L4) */
	unsigned nheld;
	struct gro_held held[GRO_HOLD]; /* decrypted, waiting for gro_flush */
	/* Received, not yet opened: their ICVs are computed together first
	 * (xform_preverify_*) when batch crypto is on. */
	bool prever;
	unsigned nrxq;
	struct rx_ent {
		struct pkt *p;
		struct xform_in in;
		bool owned;
	} rxq[DP_RXQ_MAX];
	int kick_fd;            /* eventfd: VTI set changed / acquire queue work (worker 0) */
	struct nl_sock *nl;     /* xdp-tx: next-hop lookups (xsk.c), opened when first needed */
	struct xsk_hop hops[XSK_HOPS];
	struct xsk_tx *xsk_wait; /* xdp-tx: a socket with descriptors left to kick, or NULL */
	unsigned vti_gen_seen;  /* atomic: the dp->vti_gen this worker polls */
	uint64_t acqq_next_ns;  /* worker 0: next look at the acquire queue */
	uint32_t frag_id;       /* IPv6 Fragment header identification (send_cut): the last used */
	uint64_t pmtu_sec;      /* worker 0: path MTU messages taken this second */
	unsigned pmtu_left;
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
	struct acq_queue acqq;
	struct tun tun;
	pthread_mutex_t vti_lock; /* main-thread side of the VTI slots */
	unsigned vti_gen;         /* atomic: bumped on every VTI add/del */
	unsigned nvti;            /* atomic: slots in use (fast path when 0) */
	struct dp_vti vti[DP_VTI_MAX];
	struct dp_socks socks;
	struct dp_route_set routes;
	bool routes_ready;
	bool tso, gso, gro; /* offloads in use (dp_config no_* and ESPRIT_DP_OFFLOADS) */
	bool batch_crypto;  /* some worker seals in multi-buffer batches */
	bool xdp_tx;        /* native ESP/AH sent with AF_XDP (crypto engine offload xdp-tx) */
	unsigned df_bit;    /* atomic: enum dp_df_bit (crypto ipsec df-bit) */
	bool frag_after;    /* atomic: crypto ipsec fragmentation after-encryption */
	pthread_mutex_t xsk_lock;
	struct dp_xsk_dev xsk[DP_XSK_DEVS];
	int wake_fd;      /* eventfd: readable = stop */
	bool stopping;    /* atomic */
	unsigned nworkers;
	struct dp_worker *workers; /* [nworkers] */
	uint64_t start_cpus[CPULIST_WORDS]; /* the CPUs espritd was started on (affinity.c) */
	/* The kernel's drop counters at the last clear (dp_clear_stats). */
	uint64_t kdrop_base_tun, kdrop_base_sock;
	/* Rate limits for drop logs, shared by the workers. */
	struct ratelimit rl_drop, rl_io;
	struct ratelimit rl_icmp; /* ICMP "too big" messages sent (worker.c too_big) */
};

void *dp_worker_main(void *arg);
/* Records the CPUs the daemon may run on (before any worker starts). */
void dp_affinity_init(struct dp *dp);
/* Wake worker i (its kick eventfd). Thread safe. */
void dp_worker_kick(struct dp *dp, unsigned i);

/* The queue length in force for a configured one (0: the kernel's). */
static inline uint32_t tun_qlen_in_force(uint32_t configured)
{
	return configured ? configured : DP_TUN_QLEN_DEFAULT;
}

static inline void stat_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

#endif
