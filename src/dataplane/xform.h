/* Packet transforms: ESP (RFC 4303), AH (RFC 4302), IPComp (RFC 3173) and
 * UDP encapsulation (RFC 3948), applied per policy bundle. Pure functions
 * over packet buffers: no sockets, no threads; the worker (worker.c) reads
 * packets, calls these, and writes the results. */
#ifndef ESPRIT_DATAPLANE_XFORM_H
#define ESPRIT_DATAPLANE_XFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipsec/sad.h"
#include "ipsec/spd.h"

/* A packet buffer with headroom for outer headers and tailroom for the ESP
 * trailer and ICV. Buffers come from a per-worker pool; the transforms
 * only move off/len within [0, cap). */
#define PKT_HEADROOM 256
#define PKT_TAILROOM 256
#define PKT_MAX_DATA 65535
#define PKT_BUF_SIZE (PKT_HEADROOM + PKT_MAX_DATA + PKT_TAILROOM)

struct pkt {
	uint8_t *buf; /* owned by the pool */
	size_t cap;
	size_t off;   /* start of packet data */
	size_t len;
};

static inline uint8_t *pkt_data(const struct pkt *p)
{
	return p->buf + p->off;
}

/* Result of an outbound transform: where to send the packet. */
struct xform_out {
	struct ip_addr src, dst; /* outer addresses */
	bool udp;                /* ESP-in-UDP: send bytes from udp_payload_off on the UDP socket */
	uint16_t sport, dport;
	size_t udp_payload_off;  /* offset in the packet of the ESP header when udp */
	const struct sa *sa;     /* the outermost SA (borrowed, RCU) */
	bool seal_failed;        /* deferred seal failed (xform_seal_pending): drop it */
	size_t max_inner;        /* XFORM_TOO_BIG: the longest packet that fits the path MTU */
	bool pmtu_ask;           /* sa's path MTU was never asked or is past its time: the
				    caller asks the kernel once the packet is sent */
	uint32_t frag_mtu;       /* not 0: sealed though over the path MTU (an IPv6 packet of
				    at most 1280 bytes, RFC 8200 5): the caller sends the
				    sealed packet in fragments of at most frag_mtu bytes */
};

/* The path MTU to the peer of SA sa is mtu (asked of the kernel, or a send
 * failed for size; 0: not known): later packets of sa are checked against
 * it, and xform_output asks for it again (o->pmtu_ask) after ttl_s
 * seconds. */
void xform_learn_path_mtu(const struct sa *sa, uint32_t mtu, uint64_t ttl_s);

/* Where an inbound packet came from. */
struct xform_in {
	bool udp;               /* arrived on the UDP encapsulation socket */
	struct ip_addr src, dst;
	uint16_t sport, dport;
};

/* Per-worker scratch (IPComp zlib streams, a second buffer). Created once
 * per worker. */
struct xform_scratch;
struct xform_scratch *xform_scratch_new(void);
/* How what this scratch seals next treats the outer DF bit (enum
 * dp_df_bit: crypto ipsec df-bit) and IPv4 packets without DF over the
 * path MTU (frag_after: crypto ipsec fragmentation after-encryption). */
void xform_set_frag_rules(struct xform_scratch *s, unsigned mode, bool frag_after);
void xform_scratch_free(struct xform_scratch *s);

/* Batch sealing: after this, xform_output may leave an ESP packet of an
 * AES-CBC+HMAC SA with its header, IV and trailer written but not yet
 * encrypted or authenticated; xform_seal_pending() seals every such
 * packet (several at once with the multi-buffer library, crypto/mb.h)
 * and must run before any of them is sent. It returns how many failed:
 * their xform_out.seal_failed is set and they must be dropped. The
 * xform_out of a pending packet must stay where it was until then.
 * False if the library or the CPU cannot (nothing is deferred then). */
bool xform_defer_enable(struct xform_scratch *s);
unsigned xform_seal_pending(struct xform_scratch *s);
unsigned xform_pending(const struct xform_scratch *s); /* packets waiting */

/* Inbound batches (after xform_defer_enable): xform_preverify_add queues
 * the ICV of an ESP packet (native, or UDP-encapsulated and classified as
 * ESP) of an AES-CBC+HMAC SA, and returns its slot (or -1: nothing
 * queued, xform_input will compute it); with ESN it asks the replay
 * window for seq-hi now, and the ICV is used only if xform_input infers
 * the same. xform_preverify_run
 * computes every queued ICV at once (crypto/mb.h). Before xform_input on
 * such a packet (when run returned non-zero: it does nothing for fewer
 * than MB_MIN_BATCH), xform_preverify_use(s, slot) lets it compare with the
 * computed ICV instead of computing it; it is used for that one call
 * only, and only if the packet still starts at the same place and the SA
 * is the same one. xform_preverify_reset ends the batch (before the
 * packet buffers are reused). The packets must not change in between. */
int xform_preverify_add(struct sad *sad, struct xform_scratch *s, struct pkt *p,
			const struct xform_in *in);
unsigned xform_preverify_run(struct xform_scratch *s);
void xform_preverify_use(struct xform_scratch *s, int slot);
void xform_preverify_reset(struct xform_scratch *s);

/* Outbound. p holds a clear IP packet (from the TUN device); pol is the
 * PROTECT policy it matched. Applies IPComp (if the bundle has a COMP SA
 * and compression helps), ESP and/or AH in the policy's mode. On success
 * p holds the complete outer IP packet (IPv4 or IPv6 header included,
 * plus the UDP header when UDP-encapsulated), ready for a raw socket with
 * IP_HDRINCL/IPV6_HDRINCL, and *o says where it goes. On failure returns
 * the reason. Counting: xform counts packets/bytes of every SA it applied
 * and every drop it can attribute to an SA on that SA's stats[worker]
 * itself; the caller counts a drop globally only when o->sa is NULL
 * (DROP_NO_OUT_SA). */
/* Not a drop: xform_output's answer when another worker holds the sending
 * turn of an SA the packet needs (p is untouched). The caller sends what
 * it has (xform_release), waits its turn (xform_wait_turn), and calls
 * xform_output again. */
#define XFORM_SA_BUSY ((enum dp_drop)DROP__COUNT)
/* Not a drop either: with its SAs' overhead the packet would exceed the
 * path MTU the data plane learned for the peer (sa->path_mtu; RFC 4301
 * 8.2). p is untouched and o->max_inner is the longest packet that fits;
 * the caller fragments p before encryption (IPv4 without DF) or answers
 * the sender with ICMP "fragmentation needed" / ICMPv6 "packet too big"
 * and drops it. */
#define XFORM_TOO_BIG ((enum dp_drop)(DROP__COUNT + 1))

/* One worker at a time takes sequence numbers of an outbound SA: from
 * xform_output on the first packet until the packets are sent. So the
 * SA's packets leave in sequence order, and the peer's replay window
 * never sees one that a worker only delayed (two workers sealing packets
 * of one SA would otherwise interleave on the wire by a batch or more,
 * beyond a 64-packet window). After sending: xform_release gives back
 * every turn the worker holds (do it also when nothing was sent). */
void xform_release(struct xform_scratch *s);
/* Holding no turn (after xform_release): wait for the busy SA's turn, in
 * the order the workers asked (a ticket lock: no worker starves). */
void xform_wait_turn(struct xform_scratch *s, unsigned worker);

/* Seal p with pol's SAs. f: p's flow, to choose among the policy's child
 * SAs the one whose selectors hold it (none: DROP_NO_OUT_SA, a new child
 * is needed); NULL: the policy's newest SA, and p outside its selectors is
 * dropped and counted on it as DROP_POLICY. */
enum dp_drop xform_output(struct sad *sad, const struct policy *pol, const struct flow *f,
			  unsigned worker, struct xform_scratch *s, struct pkt *p,
			  struct xform_out *o);

/* Inbound. For native ESP/AH p starts at the outer IP header (the worker
 * rebuilds the fixed IPv6 header for IPv6 raw sockets, which strip it); for
 * UDP-encapsulated ESP (in->udp) p starts at the ESP header. Verifies,
 * decrypts and strips every layer of the bundle (AH, ESP, IPComp), checks
 * the result against the SA's selectors, and leaves the clear IP packet in
 * p for the TUN device. *sa_out is the SA that was applied last (or the
 * one that dropped the packet), or NULL. As for output, drops with an SA
 * are already counted on it; the caller counts only those with
 * *sa_out == NULL (DROP_NO_SA, malformed outer headers) globally. */
enum dp_drop xform_input(struct sad *sad, unsigned worker, struct xform_scratch *s,
			 struct pkt *p, const struct xform_in *in, struct sa **sa_out);

#endif
