/* Network sockets of the data plane.
 *
 * Receive: raw sockets for native ESP (50) and AH (51), IPv4 and IPv6, and
 * the NAT-T UDP socket (RFC 3948) on IPv4 and IPv6. IPv4 raw sockets return
 * the IP header; IPv6 raw sockets do not (RFC 3542 3), so the fixed header
 * is rebuilt from the ancillary data: xform_input always sees an outer IP
 * header for native packets.
 *
 * Send: IPPROTO_RAW sockets (header included: IP_HDRINCL is implied for
 * IPv4, IPV6_HDRINCL set for IPv6) carry native ESP/AH; the UDP sockets
 * carry ESP-in-UDP and IKE on the NAT-T port. Every sending socket has
 * SO_MARK = fwmark so that policy routing sends our packets by the main
 * table, never back into the TUN (route.c).
 *
 * Receive sockets stay blocking; workers read with MSG_DONTWAIT after
 * poll() (several workers poll the same fds: the losers see EAGAIN).
 * Sends block when the socket buffer is full, which is back-pressure on
 * the worker rather than a silent drop. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/sock_diag.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/internal.h"
#include "lib/cursor.h"

#ifndef IPV6_HDRINCL
#define IPV6_HDRINCL 36
#endif

static void set_bufs(int fd, bool rx);

static int sock_new(int af, int type, int proto, const char *what)
{
	int fd = socket(af, type | SOCK_CLOEXEC, proto);

	if (fd < 0)
		log_err("dp: socket %s: %s", what, strerror(errno));
	else
		set_bufs(fd, proto != IPPROTO_RAW);
	return fd;
}

static int set_int(int fd, int level, int opt, int v, const char *what)
{
	if (setsockopt(fd, level, opt, &v, sizeof(v)) < 0) {
		log_err("dp: setsockopt %s: %s", what, strerror(errno));
		return -1;
	}
	return 0;
}

static int set_mark(int fd, uint32_t mark)
{
	return set_int(fd, SOL_SOCKET, SO_MARK, (int)mark, "SO_MARK");
}

/* Room for bursts: a worker busy sealing a 64 KB superpacket must not
 * lose what arrives meanwhile (the default 208 KB holds ~150 packets).
 * SO_RCVBUFFORCE (CAP_NET_ADMIN) passes net.core.rmem_max; without the
 * capability the plain option is capped there. Best effort. */
#define SOCK_BUF_BYTES (8 << 20)
static void set_bufs(int fd, bool rx)
{
	int v = SOCK_BUF_BYTES;

	if (rx && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	if (!rx && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

static int open_raw_rx(struct dp_socks *s)
{
	s->rx[RX_RAW4_ESP] = sock_new(AF_INET, SOCK_RAW, IPPROTO_ESP, "raw4 esp");
	s->rx[RX_RAW4_AH] = sock_new(AF_INET, SOCK_RAW, IPPROTO_AH, "raw4 ah");
	if (s->rx[RX_RAW4_ESP] < 0 || s->rx[RX_RAW4_AH] < 0)
		return -1;
	/* IPv6 may be disabled on this host: then we run IPv4 only. */
	s->rx[RX_RAW6_ESP] = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ESP);
	s->rx[RX_RAW6_AH] = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_AH);
	for (int k = RX_RAW6_ESP; k <= RX_RAW6_AH; k++) {
		if (s->rx[k] < 0) {
			log_warn("dp: no IPv6 raw socket (%s): IPv4 only", strerror(errno));
			continue;
		}
		set_bufs(s->rx[k], true);
		if (set_int(s->rx[k], IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO") ||
		    set_int(s->rx[k], IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT"))
			return -1;
	}
	return 0;
}

static int open_raw_tx(struct dp_socks *s, uint32_t fwmark)
{
	s->raw4_tx = sock_new(AF_INET, SOCK_RAW, IPPROTO_RAW, "raw4 tx");
	if (s->raw4_tx < 0 || set_mark(s->raw4_tx, fwmark))
		return -1;
	s->raw6_tx = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (s->raw6_tx < 0)
		return 0; /* logged by open_raw_rx */
	if (set_int(s->raw6_tx, IPPROTO_IPV6, IPV6_HDRINCL, 1, "IPV6_HDRINCL") ||
	    set_mark(s->raw6_tx, fwmark))
		return -1;
	return 0;
}

/* <linux/icmp.h>'s ICMP_FILTER (a bit per type to drop on a raw ICMP
 * socket); that header's in6 definitions clash with glibc's. */
#ifndef ICMP_FILTER
#define ICMP_FILTER 1
#endif
struct raw_icmp_filter {
	uint32_t data;
};

/* A raw ICMP socket: it sends our "too big" messages, and would get a
 * copy of every ICMP message that arrives, so the type filter (level,
 * opt) keeps only those about the path MTU (pmtu.c reads them). -1 if it
 * cannot be had. */
static int icmp_open(int af, int proto, int level, int opt, const void *filter, socklen_t flen,
		     uint32_t fwmark)
{
	int fd = socket(af, SOCK_RAW | SOCK_CLOEXEC, proto);

	if (fd >= 0 && (setsockopt(fd, level, opt, filter, flen) < 0 || set_mark(fd, fwmark))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Only "fragmentation needed" about an ESP, AH or UDP packet reaches the
 * socket (pmtu.c reads them): the kernel drops the rest before queueing,
 * so a flood of other ICMP errors does not wake worker 0. The raw socket
 * sees the IP header first: X = IHL * 4, then the ICMP type and code,
 * and at X + 8 + 9 the quoted packet's protocol. */
static int icmp4_pmtu_filter(int fd)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
		BPF_STMT(BPF_LD | BPF_B | BPF_IND, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 3, 0, 7), /* destination unreachable */
		BPF_STMT(BPF_LD | BPF_B | BPF_IND, 1),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 4, 0, 5), /* fragmentation needed */
		BPF_STMT(BPF_LD | BPF_B | BPF_IND, 8 + 9),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 50, 2, 0), /* ESP */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 51, 1, 0), /* AH */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 17, 0, 1), /* UDP (NAT-T) */
		BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

static void open_icmp(struct dp_socks *s, uint32_t fwmark)
{
	/* ICMP_FILTER: a bit set blocks that type; 3 is destination unreachable */
	struct raw_icmp_filter f4 = {.data = ~(1u << 3)};
	struct icmp6_filter f6;

	ICMP6_FILTER_SETBLOCKALL(&f6);
	ICMP6_FILTER_SETPASS(ICMP6_PACKET_TOO_BIG, &f6);
	s->icmp4 = icmp_open(AF_INET, IPPROTO_ICMP, SOL_RAW, ICMP_FILTER, &f4, sizeof(f4), fwmark);
	s->icmp6 = icmp_open(AF_INET6, IPPROTO_ICMPV6, IPPROTO_ICMPV6, ICMP6_FILTER, &f6,
			     sizeof(f6), fwmark);
	if (s->icmp4 >= 0 && icmp4_pmtu_filter(s->icmp4) < 0)
		log_warn("dp: ICMP socket filter: %s: worker 0 reads every destination "
			 "unreachable the host gets",
			 strerror(errno));
	if (s->icmp4 < 0 || s->icmp6 < 0)
		log_warn("dp: no ICMP%s socket (%s): senders of packets too big for the path "
			 "are not told, routers' path MTU messages are not read",
			 s->icmp4 < 0 ? "" : "v6", strerror(errno));
}

uint32_t sock_path_mtu(const struct dp_socks *s, const struct ip_addr *dst)
{
	struct sockaddr_storage ss;
	socklen_t sl = ip_addr_to_sockaddr(dst, s->natt_port ? s->natt_port : 4500, &ss);
	int fd = socket(dst->af, SOCK_DGRAM | SOCK_CLOEXEC, 0), mtu = 0;
	socklen_t ml = sizeof(mtu);

	if (fd < 0)
		return 0;
	/* connect sends nothing: it looks the route up, as our packets' */
	if (set_mark(fd, s->fwmark) || connect(fd, (struct sockaddr *)&ss, sl) < 0 ||
	    getsockopt(fd, dst->af == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP,
		       dst->af == AF_INET6 ? IPV6_MTU : IP_MTU, &mtu, &ml) < 0)
		mtu = 0;
	close(fd);
	return mtu > 0 ? (uint32_t)mtu : 0;
}

int sock_icmp_send(const struct dp_socks *s, const struct ip_addr *dst, const uint8_t *msg,
		   size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = ip_addr_to_sockaddr(dst, 0, &ss);
	int fd = dst->af == AF_INET6 ? s->icmp6 : s->icmp4;

	if (fd < 0)
		return -1;
	return sendto(fd, msg, len, MSG_DONTWAIT, (struct sockaddr *)&ss, sl) < 0 ? -1 : 0;
}

static int open_udp(int af, uint32_t fwmark, uint16_t port, bool reuseport)
{
	struct ip_addr any = {.af = (uint8_t)af};
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd = socket(af, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);

	if (fd < 0)
		return -1;
	if (af == AF_INET6) {
		if (set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY") ||
		    set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO"))
			goto fail;
	} else if (set_int(fd, IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO")) {
		goto fail;
	}
	if (set_mark(fd, fwmark))
		goto fail;
	set_bufs(fd, true);
	set_bufs(fd, false);
	if (reuseport && set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT"))
		goto fail;
	sl = ip_addr_to_sockaddr(&any, port, &ss);
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		log_err("dp: bind udp %s port %u: %s", af == AF_INET ? "v4" : "v6", port,
			strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

int dp_socks_open(struct dp_socks *s, uint32_t fwmark, uint16_t natt_port, bool udp,
		  bool reuseport)
{
	for (int k = 0; k < RX__COUNT; k++)
		s->rx[k] = -1;
	s->raw4_tx = s->raw6_tx = s->icmp4 = s->icmp6 = -1;
	s->natt_port = natt_port;
	s->fwmark = fwmark;
	if (open_raw_rx(s) || open_raw_tx(s, fwmark))
		goto fail;
	open_icmp(s, fwmark);
	if (udp) {
		s->rx[RX_UDP4] = open_udp(AF_INET, fwmark, natt_port, reuseport);
		if (s->rx[RX_UDP4] < 0)
			goto fail;
		if (s->raw6_tx >= 0) {
			s->rx[RX_UDP6] = open_udp(AF_INET6, fwmark, natt_port, reuseport);
			if (s->rx[RX_UDP6] < 0)
				goto fail;
		}
	}
	return 0;
fail:
	dp_socks_close(s);
	return -1;
}

void dp_socks_close(struct dp_socks *s)
{
	for (int k = 0; k < RX__COUNT; k++) {
		if (s->rx[k] >= 0)
			close(s->rx[k]);
		s->rx[k] = -1;
	}
	if (s->raw4_tx >= 0)
		close(s->raw4_tx);
	if (s->raw6_tx >= 0)
		close(s->raw6_tx);
	if (s->icmp4 >= 0)
		close(s->icmp4);
	if (s->icmp6 >= 0)
		close(s->icmp6);
	s->raw4_tx = s->raw6_tx = s->icmp4 = s->icmp6 = -1;
}

/* ---- receive ------------------------------------------------------------ */

void sock_rx_prepare(struct mmsghdr *m, struct iovec *iov, struct rx_meta *meta,
		     struct pkt *p)
{
	p->off = PKT_HEADROOM;
	p->len = 0;
	iov->iov_base = p->buf + p->off;
	iov->iov_len = PKT_MAX_DATA;
	memset(m, 0, sizeof(*m));
	m->msg_hdr.msg_name = &meta->from;
	m->msg_hdr.msg_namelen = sizeof(meta->from);
	m->msg_hdr.msg_iov = iov;
	m->msg_hdr.msg_iovlen = 1;
	m->msg_hdr.msg_control = meta->ctl.buf;
	m->msg_hdr.msg_controllen = sizeof(meta->ctl.buf);
}

/* Destination address (and hop limit) from IP_PKTINFO / IPV6_PKTINFO /
 * IPV6_HOPLIMIT ancillary data. */
static bool rx_cmsg(const struct msghdr *mh, struct ip_addr *dst, int *hops)
{
	bool found = false;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR((struct msghdr *)mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			ip_addr_from_raw(dst, AF_INET, &pi.ipi_addr);
			found = true;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			ip_addr_from_raw(dst, AF_INET6, &pi.ipi6_addr);
			found = true;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) {
			memcpy(hops, CMSG_DATA(c), sizeof(*hops));
		}
	}
	return found;
}

/* IPv4 header (RFC 791 3.1): read the addresses through a cursor.
 *  0                   1                   2                   3
 * |Version|  IHL  |Type of Service|          Total Length         |
 * ...                  (12 octets)                               ...
 * |                       Source Address                          |
 * |                    Destination Address                        | */
static bool ip4_addrs(const struct pkt *p, struct ip_addr *src, struct ip_addr *dst)
{
	struct cur c = cur_init(pkt_data(p), p->len);
	uint8_t vihl, a[4], b[4];

	if (!cur_u8(&c, &vihl) || (vihl >> 4) != 4 || (vihl & 0xf) < 5)
		return false;
	if (!cur_skip(&c, 11) || !cur_bytes(&c, a, 4) || !cur_bytes(&c, b, 4))
		return false;
	ip_addr_from_raw(src, AF_INET, a);
	ip_addr_from_raw(dst, AF_INET, b);
	return true;
}

bool ip6_hdr_rebuild(struct pkt *p, const struct ip_addr *src, const struct ip_addr *dst,
		     uint8_t next_hdr, uint8_t hop_limit)
{
	struct wcur w;

	if (p->off < 40 || p->len > 0xffff || src->af != AF_INET6 || dst->af != AF_INET6)
		return false;
	/* RFC 8200 3: version 6, traffic class and flow label 0 (lost on raw
	 * receive; both are mutable for AH, RFC 4302 3.3.3.1.2). */
	w = wcur_init(p->buf + p->off - 40, 40);
	wcur_u32(&w, 6u << 28);
	wcur_u16(&w, (uint16_t)p->len);
	wcur_u8(&w, next_hdr);
	wcur_u8(&w, hop_limit);
	wcur_bytes(&w, src->b, 16);
	wcur_bytes(&w, dst->b, 16);
	if (w.failed)
		return false;
	p->off -= 40;
	p->len += 40;
	return true;
}

bool sock_rx_finish(enum dp_rxsock k, const struct mmsghdr *m, struct pkt *p,
		    struct xform_in *in)
{
	const struct msghdr *mh = &m->msg_hdr;
	int hops = 64;

	memset(in, 0, sizeof(*in));
	p->off = PKT_HEADROOM;
	p->len = m->msg_len;
	if (mh->msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		return false;
	if (!ip_addr_from_sockaddr(mh->msg_name, &in->src, &in->sport))
		return false;
	switch (k) {
	case RX_RAW4_ESP:
	case RX_RAW4_AH:
		return ip4_addrs(p, &in->src, &in->dst);
	case RX_RAW6_ESP:
	case RX_RAW6_AH:
		in->sport = 0;
		if (!rx_cmsg(mh, &in->dst, &hops) || hops < 0 || hops > 255)
			return false;
		return ip6_hdr_rebuild(p, &in->src, &in->dst, rxsock_proto(k), (uint8_t)hops);
	case RX_UDP4:
	case RX_UDP6:
		in->udp = true;
		return rx_cmsg(mh, &in->dst, &hops);
	default:
		return false;
	}
}

enum udp_kind udp_classify(const uint8_t *data, size_t len)
{
	struct cur c = cur_init(data, len);
	uint8_t b;
	uint32_t marker;

	/* RFC 3948 2.3: a NAT-keepalive is one octet, 0xFF. */
	if (len == 1 && cur_u8(&c, &b) && b == 0xff)
		return UDP_KEEPALIVE;
	/* RFC 3948 2.2: four zero octets (the non-ESP marker; SPI 0 is
	 * reserved, RFC 4303 2.1) then an IKE header. */
	if (!cur_u32(&c, &marker))
		return UDP_BAD;
	if (marker == 0)
		return cur_left(&c) > 0 ? UDP_IKE : UDP_BAD;
	/* ESP needs at least SPI and sequence number. */
	return cur_skip(&c, 4) ? UDP_ESP : UDP_BAD;
}

/* ---- send ------------------------------------------------------------- */

int sock_udp_send(const struct dp_socks *s, const struct ip_addr *src,
		  const struct ip_addr *dst, uint16_t dport, const struct iovec *iov, int niov)
{
	int fd = dst->af == AF_INET6 ? s->rx[RX_UDP6] : s->rx[RX_UDP4];
	struct sockaddr_storage ss;
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = {.msg_name = &ss, .msg_iov = (struct iovec *)iov,
			    .msg_iovlen = (size_t)niov};

	if (fd < 0) {
		errno = ENOTCONN;
		return -1;
	}
	mh.msg_namelen = ip_addr_to_sockaddr(dst, dport, &ss);
	if (src && src->af == dst->af && !ip_addr_is_any(src)) {
		/* Send from the SA's outer source on a multi-homed host. */
		struct cmsghdr *c;
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		c = (struct cmsghdr *)ctl.buf;
		if (dst->af == AF_INET) {
			struct in_pktinfo pi = {.ipi_spec_dst = src->v4};
			mh.msg_controllen = CMSG_SPACE(sizeof(pi));
			c->cmsg_level = IPPROTO_IP;
			c->cmsg_type = IP_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		} else {
			struct in6_pktinfo pi = {.ipi6_addr = src->v6};
			mh.msg_controllen = CMSG_SPACE(sizeof(pi));
			c->cmsg_level = IPPROTO_IPV6;
			c->cmsg_type = IPV6_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		}
	}
	return sendmsg(fd, &mh, 0) < 0 ? -1 : 0;
}

static enum dp_drop errno_drop(int e)
{
	return e == EMSGSIZE ? DROP_TOO_BIG : DROP_INTERNAL;
}

enum dp_drop sock_send(const struct dp_socks *s, const struct pkt *p,
		       const struct xform_out *o)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;

	if (o->udp) {
		struct iovec iov;
		if (o->udp_payload_off > p->len)
			return DROP_INTERNAL;
		iov.iov_base = pkt_data(p) + o->udp_payload_off;
		iov.iov_len = p->len - o->udp_payload_off;
		if (sock_udp_send(s, &o->src, &o->dst, o->dport, &iov, 1) < 0)
			return errno_drop(errno);
		return DROP_NONE;
	}
	fd = o->dst.af == AF_INET6 ? s->raw6_tx : s->raw4_tx;
	if (fd < 0)
		return DROP_INTERNAL;
	/* Port 0: for IPPROTO_RAW the header we wrote decides. */
	sl = ip_addr_to_sockaddr(&o->dst, 0, &ss);
	if (sendto(fd, pkt_data(p), p->len, 0, (struct sockaddr *)&ss, sl) < 0)
		return errno_drop(errno);
	return DROP_NONE;
}

/* ---- steering: one worker per SA ----------------------------------------- */

/* The SPI is the first word of ESP (RFC 4303 2.1); for a raw IPv4 socket
 * the filter sees the packet from the IP header, so skip IHL words first.
 * A packet too short to load is dropped by the filter (return 0). */
void sock_bpf_raw4_esp(struct sock_fprog *prog, void *insns, unsigned idx, unsigned n)
{
	struct sock_filter *f = insns;
	unsigned i = 0;

	f[i++] = (struct sock_filter)BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_IND, 0);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n);
	f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, idx, 0, 1);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0xffffffffu);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
	prog->len = (unsigned short)i;
	prog->filter = f;
}

/* SO_ATTACH_REUSEPORT_CBPF on UDP sees the datagram after the UDP header:
 * SPI % n picks the socket (the group's n sockets in bind order, worker 0
 * first). The IKE marker (SPI 0, RFC 3948 2.2) and one-octet keepalives
 * (too short to load: the program returns 0) go to worker 0. */
void sock_bpf_reuseport(struct sock_fprog *prog, void *insns, unsigned n)
{
	struct sock_filter *f = insns;
	unsigned i = 0;

	f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_A, 0);
	prog->len = (unsigned short)i;
	prog->filter = f;
}

static int attach(int fd, int opt, struct sock_fprog *prog, const char *what)
{
	if (setsockopt(fd, SOL_SOCKET, opt, prog, sizeof(*prog)) < 0) {
		log_err("dp: setsockopt %s: %s", what, strerror(errno));
		return -1;
	}
	return 0;
}

static int raw4_esp_filter(int fd, unsigned idx, unsigned n)
{
	struct sock_filter insns[SOCK_BPF_MAX_INSNS];
	struct sock_fprog prog;

	sock_bpf_raw4_esp(&prog, insns, idx, n);
	return attach(fd, SO_ATTACH_FILTER, &prog, "SO_ATTACH_FILTER");
}

/* The steering rule these sockets and programs implement (SPI % n for IPv4
 * raw ESP and ESP-in-UDP, worker 0 for the rest) is restated for show by
 * dp_sa_rx_worker (dp.c): change both together. */
int dp_socks_worker_open(const struct dp_socks *s, unsigned idx, unsigned n, uint32_t fwmark,
			 bool gro, int rx[RX__COUNT], bool own[RX__COUNT])
{
	for (int k = 0; k < RX__COUNT; k++) {
		rx[k] = s->rx[k];
		own[k] = false;
	}
	if (n > 1 && idx > 0) {
		for (int k = RX_UDP4; k <= RX_UDP6; k++) {
			if (s->rx[k] < 0)
				continue;
			rx[k] = open_udp(k == RX_UDP4 ? AF_INET : AF_INET6, fwmark, s->natt_port,
					 true);
			if (rx[k] < 0)
				return -1;
			own[k] = true;
		}
		rx[RX_RAW4_ESP] = sock_new(AF_INET, SOCK_RAW, IPPROTO_ESP, "raw4 esp");
		if (rx[RX_RAW4_ESP] < 0)
			return -1;
		own[RX_RAW4_ESP] = true;
		/* The sockets that are not steered by SPI (AH, and IPv6 raw ESP,
		 * whose header the kernel strips before a filter could see the
		 * SPI at a fixed offset) are read by worker 0 alone: two workers
		 * reading one socket reorder an SA's packets beyond its replay
		 * window (seen as replay drops under load). */
		rx[RX_RAW4_AH] = rx[RX_RAW6_ESP] = rx[RX_RAW6_AH] = -1;
	}
	if (n > 1 && rx[RX_RAW4_ESP] >= 0 && raw4_esp_filter(rx[RX_RAW4_ESP], idx, n) < 0)
		return -1;
	for (int k = RX_UDP4; gro && k <= RX_UDP6; k++)
		if (rx[k] >= 0 && set_int(rx[k], SOL_UDP, UDP_GRO, 1, "UDP_GRO"))
			return -1;
	return 0;
}

int dp_socks_steer(const struct dp_socks *s, unsigned n)
{
	struct sock_filter insns[SOCK_BPF_MAX_INSNS];
	struct sock_fprog prog;

	if (n < 2)
		return 0;
	sock_bpf_reuseport(&prog, insns, n);
	for (int k = RX_UDP4; k <= RX_UDP6; k++)
		if (s->rx[k] >= 0 &&
		    attach(s->rx[k], SO_ATTACH_REUSEPORT_CBPF, &prog, "SO_ATTACH_REUSEPORT_CBPF"))
			return -1;
	return 0;
}

size_t sock_rx_gro_size(const struct mmsghdr *m)
{
	const struct msghdr *mh = &m->msg_hdr;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR((struct msghdr *)mh, c)) {
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int v;
			memcpy(&v, CMSG_DATA(c), sizeof(v));
			return v > 0 ? (size_t)v : 0;
		}
	}
	return 0;
}

/* ---- batched send --------------------------------------------------------- */

#define TX_GSO_MAX_SEGS 64      /* UDP_MAX_SEGMENTS on older kernels */
#define TX_GSO_MAX_BYTES 65000  /* one UDP datagram before segmentation */

struct tx_msgs {
	unsigned n;
	struct mmsghdr m[DP_TX_MAX];
	int fd[DP_TX_MAX];
	unsigned first[DP_TX_MAX], cnt[DP_TX_MAX];
	struct iovec iov[DP_TX_MAX];
	struct sockaddr_storage ss[DP_TX_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl[DP_TX_MAX];
};

static bool same_flow(const struct xform_out *a, const struct xform_out *b)
{
	return a->udp && b->udp && a->dport == b->dport && ip_addr_eq(&a->dst, &b->dst) &&
	       ip_addr_eq(&a->src, &b->src);
}

/* Can entry j join message mi (UDP GSO: equal sizes, only the last shorter)? */
static bool gso_joins(const struct tx_batch *b, const struct tx_msgs *t, unsigned mi, unsigned j)
{
	unsigned f = t->first[mi], c = t->cnt[mi];
	size_t seg = t->iov[f].iov_len, total = 0;

	if (c >= TX_GSO_MAX_SEGS || !same_flow(&b->e[f].o, &b->e[j].o))
		return false;
	if (t->iov[f + c - 1].iov_len != seg || t->iov[j].iov_len > seg)
		return false;
	for (unsigned i = 0; i < c; i++)
		total += t->iov[f + i].iov_len;
	return total + t->iov[j].iov_len <= TX_GSO_MAX_BYTES;
}

static void cmsg_put(struct msghdr *mh, int level, int type, const void *v, size_t len)
{
	struct cmsghdr *c = (struct cmsghdr *)((char *)mh->msg_control + mh->msg_controllen);

	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), v, len);
	mh->msg_controllen += CMSG_SPACE(len);
}

/* Destination, source address and GSO size of message mi. */
static void msg_finish(const struct tx_batch *b, struct tx_msgs *t, unsigned mi)
{
	const struct xform_out *o = &b->e[t->first[mi]].o;
	struct msghdr *mh = &t->m[mi].msg_hdr;

	mh->msg_iov = &t->iov[t->first[mi]];
	mh->msg_iovlen = t->cnt[mi];
	mh->msg_name = &t->ss[mi];
	mh->msg_namelen = ip_addr_to_sockaddr(&o->dst, o->udp ? o->dport : 0, &t->ss[mi]);
	if (!o->udp)
		return;
	mh->msg_control = t->ctl[mi].buf;
	if (o->src.af == o->dst.af && !ip_addr_is_any(&o->src)) {
		if (o->dst.af == AF_INET) {
			struct in_pktinfo pi = {.ipi_spec_dst = o->src.v4};
			cmsg_put(mh, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
		} else {
			struct in6_pktinfo pi = {.ipi6_addr = o->src.v6};
			cmsg_put(mh, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
		}
	}
	if (t->cnt[mi] > 1) {
		uint16_t seg = (uint16_t)t->iov[t->first[mi]].iov_len;
		cmsg_put(mh, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg));
	}
	if (!mh->msg_controllen)
		mh->msg_control = NULL;
}

/* Entry i as an iovec and the socket it goes on; false if it cannot go. */
static bool ent_prepare(const struct dp_socks *s, const struct tx_ent *e, struct iovec *iov,
			int *fd)
{
	bool v6 = e->o.dst.af == AF_INET6;

	if (e->o.udp) {
		if (e->o.udp_payload_off > e->p->len)
			return false;
		iov->iov_base = pkt_data(e->p) + e->o.udp_payload_off;
		iov->iov_len = e->p->len - e->o.udp_payload_off;
		*fd = v6 ? s->rx[RX_UDP6] : s->rx[RX_UDP4];
	} else {
		iov->iov_base = pkt_data(e->p);
		iov->iov_len = e->p->len;
		*fd = v6 ? s->raw6_tx : s->raw4_tx;
	}
	return *fd >= 0;
}

static void msgs_build(const struct dp_socks *s, const struct tx_batch *b, bool gso,
		       struct tx_msgs *t, enum dp_drop res[DP_TX_MAX])
{
	t->n = 0;
	for (unsigned j = 0; j < b->n; j++) {
		int fd;
		unsigned mi = t->n - 1;

		res[j] = DROP_NONE;
		if (b->e[j].xdp)
			continue; /* sent already (xsk_worker_send) */
		if (!ent_prepare(s, &b->e[j], &t->iov[j], &fd)) {
			res[j] = DROP_INTERNAL;
			continue;
		}
		if (gso && t->n && t->fd[mi] == fd && t->first[mi] + t->cnt[mi] == j &&
		    gso_joins(b, t, mi, j)) {
			t->cnt[mi]++;
			continue;
		}
		mi = t->n++;
		memset(&t->m[mi], 0, sizeof(t->m[mi]));
		t->fd[mi] = fd;
		t->first[mi] = j;
		t->cnt[mi] = 1;
	}
	for (unsigned mi = 0; mi < t->n; mi++)
		msg_finish(b, t, mi);
}

/* Segments of GSO message mi longer than the path MTU to its peer: the
 * kernel refuses those with EINVAL (udp_send_skb), not EMSGSIZE. */
static bool gso_over_mtu(const struct dp_socks *s, const struct tx_batch *b,
			 const struct tx_msgs *t, unsigned mi)
{
	const struct xform_out *o = &b->e[t->first[mi]].o;
	size_t hdr = (o->dst.af == AF_INET6 ? 40 : 20) + sizeof(struct udphdr);
	uint32_t mtu = sock_path_mtu(s, &o->dst);

	return mtu && t->iov[t->first[mi]].iov_len + hdr > mtu;
}

static void msg_fail(const struct dp_socks *s, const struct tx_batch *b, struct tx_msgs *t,
		     unsigned mi, int err, bool *gso, enum dp_drop res[DP_TX_MAX])
{
	/* A GSO message too big for the path: each packet is (the worker
	 * learns the path MTU from it, as from EMSGSIZE), GSO stays on. */
	if (t->cnt[mi] > 1 && err == EINVAL && *gso && gso_over_mtu(s, b, t, mi))
		err = EMSGSIZE;
	/* EIO/EINVAL on a GSO message: the route's device cannot take it
	 * (no checksum offload, or too many segments for this kernel). */
	if (t->cnt[mi] > 1 && (err == EIO || err == EINVAL) && *gso) {
		log_warn("dp: UDP GSO refused (%s): sending without it", strerror(err));
		*gso = false;
	}
	for (unsigned i = 0; i < t->cnt[mi]; i++)
		res[t->first[mi] + i] = errno_drop(err);
}

unsigned sock_send_batch(const struct dp_socks *s, const struct tx_batch *b, bool *gso,
			 enum dp_drop res[DP_TX_MAX])
{
	struct tx_msgs t;
	unsigned a = 0, sent = 0;

	msgs_build(s, b, *gso, &t, res);
	while (a < t.n) {
		unsigned z = a + 1;
		int r;

		while (z < t.n && t.fd[z] == t.fd[a])
			z++;
		r = sendmmsg(t.fd[a], &t.m[a], z - a, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			msg_fail(s, b, &t, a, errno, gso, res);
			a++;
			continue;
		}
		for (int i = 0; i < r; i++)
			sent += t.cnt[a + (unsigned)i];
		a += (unsigned)r;
		if (a < z) { /* message a failed; errno is not reported: retry it alone */
			r = sendmmsg(t.fd[a], &t.m[a], 1, 0);
			if (r == 1)
				sent += t.cnt[a];
			else
				msg_fail(s, b, &t, a, errno, gso, res);
			a++;
		}
	}
	return sent;
}

uint64_t sock_rx_drops(int fd)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mi);

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &len) < 0 ||
	    len < (SK_MEMINFO_DROPS + 1) * sizeof(mi[0]))
		return 0;
	return mi[SK_MEMINFO_DROPS];
}
