/* udpspray: UDP packets-per-second over many destinations, for the
 * esprit-1k benchmark contender (bench/run.sh builds it with cc).
 *
 *   udpspray send ADDRFILE PORT LEN SECS [SRCFILE]
 *                                          one sendto() per datagram, as fast
 *                                          as the socket takes them, cycling
 *                                          round-robin over the IPv4 addresses
 *                                          in ADDRFILE (one per line); prints
 *                                          "sent N". With SRCFILE, one
 *                                          sendmsg() per datagram whose source
 *                                          address (IP_PKTINFO, must be local)
 *                                          cycles over SRCFILE's addresses.
 *   udpspray sendgso ADDR PORT LEN SECS NSEG
 *                                          one sendto() per NSEG datagrams of
 *                                          LEN bytes to ADDR, as one UDP GSO
 *                                          superpacket (UDP_SEGMENT = LEN:
 *                                          how QUIC stacks send); prints
 *                                          "sent N" (datagrams)
 *   udpspray recv PORT SECS                one recv() per datagram on
 *                                          0.0.0.0:PORT; stops 1 s after the
 *                                          last datagram (or after SECS);
 *                                          prints "received N"
 *   udpspray recvgro PORT SECS             the same with UDP_GRO on, as QUIC
 *                                          stacks receive: one recvmsg() may
 *                                          return several datagrams of one
 *                                          flow, coalesced by the kernel; the
 *                                          UDP_GRO control message gives their
 *                                          size, so N still counts datagrams
 *
 * It does what `iperf3 -u -b 0 -l LEN` does for one destination (a blocking
 * socket, one system call per datagram on both ends, the receiver counts
 * what the application reads), but spreads consecutive datagrams over all
 * the destinations, so with one crypto map entry per destination every
 * packet needs its own SPD and SAD lookup. iperf3 cannot: one client talks
 * to one address. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t load(const char *file, int port, struct sockaddr_in **out)
{
	struct sockaddr_in *dst = NULL;
	size_t n = 0, cap = 0;
	char line[128];
	FILE *f = fopen(file, "r");

	if (!f) {
		perror(file);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, " \t\r\n")] = 0;
		if (!line[0])
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			dst = realloc(dst, cap * sizeof(*dst));
			if (!dst)
				return 0;
		}
		memset(&dst[n], 0, sizeof(dst[n]));
		dst[n].sin_family = AF_INET;
		dst[n].sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, line, &dst[n].sin_addr) != 1) {
			fprintf(stderr, "udpspray: bad address '%s'\n", line);
			return 0;
		}
		n++;
	}
	fclose(f);
	if (!n)
		fprintf(stderr, "udpspray: no addresses in %s\n", file);
	*out = dst;
	return n;
}

static int do_send(const char *file, int port, size_t len, double secs, const char *srcfile)
{
	struct sockaddr_in *dst = NULL, *src = NULL;
	size_t n = load(file, port, &dst), ns = 0, i = 0, j = 0;
	unsigned long long sent = 0, errs = 0;
	char *buf;
	int fd;

	if (!n || (srcfile && !(ns = load(srcfile, 0, &src))))
		return 1;
	buf = calloc(1, len ? len : 1);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || !buf) {
		perror("socket");
		return 1;
	}
	double end = now() + secs;
	for (;;) {
		for (int k = 0; k < 256; k++) {
			memcpy(buf, &sent, len < sizeof(sent) ? len : sizeof(sent));
			ssize_t r;
			if (ns) {
				union {
					char b[CMSG_SPACE(sizeof(struct in_pktinfo))];
					struct cmsghdr align;
				} c;
				struct iovec iov = { .iov_base = buf, .iov_len = len };
				struct msghdr m = { .msg_name = &dst[i], .msg_namelen = sizeof(dst[i]),
						    .msg_iov = &iov, .msg_iovlen = 1,
						    .msg_control = c.b, .msg_controllen = sizeof(c.b) };
				struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
				struct in_pktinfo pi = { .ipi_spec_dst = src[j].sin_addr };
				memset(c.b, 0, sizeof(c.b));
				cm->cmsg_level = IPPROTO_IP;
				cm->cmsg_type = IP_PKTINFO;
				cm->cmsg_len = CMSG_LEN(sizeof(pi));
				memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
				r = sendmsg(fd, &m, 0);
				if (++j == ns)
					j = 0;
			} else {
				r = sendto(fd, buf, len, 0, (struct sockaddr *)&dst[i], sizeof(dst[i]));
			}
			if (r < 0)
				errs++; /* ENOBUFS / ECONNREFUSED from an ICMP error: keep going */
			else
				sent++;
			if (++i == n)
				i = 0;
		}
		if (now() >= end)
			break;
	}
	printf("sent %llu errors %llu destinations %zu sources %zu\n", sent, errs, n, ns ? ns : 1);
	return 0;
}

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h */
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

static int do_sendgso(const char *addr, int port, size_t len, double secs, int nseg)
{
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	unsigned long long sent = 0, errs = 0;
	int seg = (int)len, fd = socket(AF_INET, SOCK_DGRAM, 0);
	size_t total = len * (size_t)nseg;
	char *buf = calloc(1, total ? total : 1);

	if (fd < 0 || !buf || inet_pton(AF_INET, addr, &dst.sin_addr) != 1 || nseg < 1 ||
	    setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg)) < 0) {
		perror("udpspray sendgso");
		return 1;
	}
	double end = now() + secs;
	while (now() < end) {
		for (int k = 0; k < 64; k++) {
			if (sendto(fd, buf, total, 0, (struct sockaddr *)&dst, sizeof(dst)) < 0)
				errs++;
			else
				sent += (unsigned long long)nseg;
		}
	}
	printf("sent %llu errors %llu\n", sent, errs);
	return 0;
}

#ifndef UDP_GRO
#define UDP_GRO 104 /* linux/udp.h */
#endif

/* Datagrams in one read: with UDP_GRO the kernel may hand over several
 * datagrams of gso_size bytes (the last one shorter) as one buffer. */
static unsigned long long read_one(int fd, char *buf, size_t size, int gro)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;
	int gso = 0;

	if (!gro)
		return recv(fd, buf, size, MSG_DONTWAIT) >= 0 ? 1 : 0;
	m.msg_control = ctl;
	m.msg_controllen = sizeof(ctl);
	n = recvmsg(fd, &m, MSG_DONTWAIT);
	if (n < 0)
		return 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO)
			memcpy(&gso, CMSG_DATA(c), sizeof(gso));
	if (gso <= 0 || n <= gso)
		return 1;
	return ((unsigned long long)n + (unsigned)gso - 1) / (unsigned)gso;
}

static int do_recv(int port, double secs, int gro)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	unsigned long long got = 0, k;
	char buf[65536];
	int one = 1, fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (gro && setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) < 0)) {
		perror("udpspray recv");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	double end = now() + secs;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	while (now() < end) {
		/* after the first datagram, 1 s of silence ends the run */
		int r = poll(&p, 1, got ? 1000 : 200);
		if (r < 0 && errno != EINTR)
			break;
		if (r == 0) {
			if (got)
				break;
			continue;
		}
		while ((k = read_one(fd, buf, sizeof(buf), gro)) > 0)
			got += k;
	}
	printf("received %llu\n", got);
	return 0;
}

int main(int argc, char **argv)
{
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "send"))
		return do_send(argv[2], atoi(argv[3]), (size_t)atoi(argv[4]), atof(argv[5]),
			       argc == 7 ? argv[6] : NULL);
	if (argc == 7 && !strcmp(argv[1], "sendgso"))
		return do_sendgso(argv[2], atoi(argv[3]), (size_t)atoi(argv[4]), atof(argv[5]),
				  atoi(argv[6]));
	if (argc == 4 && (!strcmp(argv[1], "recv") || !strcmp(argv[1], "recvgro")))
		return do_recv(atoi(argv[2]), atof(argv[3]), !strcmp(argv[1], "recvgro"));
	fprintf(stderr, "usage: udpspray send ADDRFILE PORT LEN SECS [SRCFILE] | "
			"udpspray sendgso ADDR PORT LEN SECS NSEG | udpspray recv|recvgro PORT SECS\n");
	return 2;
}
