/* Unit tests for the data-plane runtime pieces that need no root and no
 * namespace: the packet pool, the acquire rate limiter, NAT-T datagram
 * classification (RFC 3948), the IPv6 header rebuild for raw sockets, the
 * receive post-processing (ancillary data), and ESP-in-UDP send/receive
 * over a real loopback UDP socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/internal.h"
#include "lib/cursor.h"

/* ---- pool -------------------------------------------------------------- */

static void test_pool_exhaust_and_return(void **state)
{
	(void)state;
	struct pkt_pool pp;
	struct pkt *got[8];

	assert_int_equal(pkt_pool_init(&pp, 8), 0);
	for (int i = 0; i < 8; i++) {
		got[i] = pkt_pool_get(&pp);
		assert_non_null(got[i]);
		assert_int_equal(got[i]->off, PKT_HEADROOM);
		assert_int_equal(got[i]->len, 0);
		assert_int_equal(got[i]->cap, PKT_BUF_SIZE);
		for (int j = 0; j < i; j++) { /* distinct, non-overlapping buffers */
			uint8_t *a = got[i]->buf, *b = got[j]->buf;
			assert_true(a + PKT_BUF_SIZE <= b || b + PKT_BUF_SIZE <= a);
		}
	}
	assert_null(pkt_pool_get(&pp));
	got[3]->off = 7;
	got[3]->len = 99;
	pkt_pool_put(&pp, got[3]);
	struct pkt *again = pkt_pool_get(&pp);
	assert_ptr_equal(again, got[3]);
	assert_int_equal(again->off, PKT_HEADROOM); /* reset on get */
	assert_int_equal(again->len, 0);
	assert_null(pkt_pool_get(&pp));
	for (int i = 0; i < 8; i++)
		pkt_pool_put(&pp, got[i]);
	assert_int_equal(pp.nfree, 8);
	pkt_pool_destroy(&pp);
}

static void test_pool_rejects_foreign_and_double_put(void **state)
{
	(void)state;
	struct pkt_pool pp;
	struct pkt foreign = {0};

	assert_int_equal(pkt_pool_init(&pp, 2), 0);
	struct pkt *a = pkt_pool_get(&pp);
	pkt_pool_put(&pp, &foreign);
	assert_int_equal(pp.nfree, 1);
	pkt_pool_put(&pp, a);
	pkt_pool_put(&pp, a); /* double put: the stack must not overflow */
	assert_int_equal(pp.nfree, 2);
	pkt_pool_put(&pp, NULL);
	assert_int_equal(pp.nfree, 2);
	pkt_pool_destroy(&pp);
	assert_int_equal(pkt_pool_init(&pp, 0), -1);
}

/* ---- acquire rate limit ------------------------------------------------- */

static void test_acquire_once_per_interval(void **state)
{
	(void)state;
	struct acq_limit al;
	const uint64_t s = 1000000000ull;

	acq_limit_init(&al, s);
	assert_true(acq_limit_allow(&al, 10, 5 * s));
	assert_false(acq_limit_allow(&al, 10, 5 * s + 1));
	assert_false(acq_limit_allow(&al, 10, 6 * s - 1));
	assert_true(acq_limit_allow(&al, 11, 5 * s + 2)); /* another policy */
	assert_true(acq_limit_allow(&al, 10, 6 * s));
	assert_false(acq_limit_allow(&al, 10, 6 * s + 10));
	acq_limit_destroy(&al);
}

/* Differential: against a naive per-reqid map, the table may allow more
 * (slot eviction) but never suppresses an acquire the naive map allows. */
static void test_acquire_never_over_suppresses(void **state)
{
	(void)state;
	struct acq_limit al;
	uint64_t last[2000];
	bool seen[2000] = {false};
	uint64_t t = 1;

	acq_limit_init(&al, 100);
	for (unsigned i = 0; i < 20000; i++) {
		uint32_t reqid = (i * 7919u) % 2000;
		bool naive = !seen[reqid] || t - last[reqid] >= 100;
		bool got = acq_limit_allow(&al, reqid, t);
		if (naive)
			assert_true(got);
		if (got) {
			seen[reqid] = true;
			last[reqid] = t;
		}
		t += 3;
	}
	acq_limit_destroy(&al);
}

/* ---- NAT-T classification ----------------------------------------------- */

static void test_udp_classify(void **state)
{
	(void)state;
	const uint8_t ka[] = {0xff};
	const uint8_t zero1[] = {0x00};
	const uint8_t ike[] = {0, 0, 0, 0, 0x11, 0x22, 0x33};
	const uint8_t marker_only[] = {0, 0, 0, 0};
	const uint8_t esp[] = {0, 0, 0x10, 0x01, 0, 0, 0, 1};
	const uint8_t short_esp[] = {0, 0, 0x10, 0x01, 0, 0, 0};

	assert_int_equal(udp_classify(ka, sizeof(ka)), UDP_KEEPALIVE);
	assert_int_equal(udp_classify(zero1, sizeof(zero1)), UDP_BAD);
	assert_int_equal(udp_classify(ike, sizeof(ike)), UDP_IKE);
	assert_int_equal(udp_classify(marker_only, sizeof(marker_only)), UDP_BAD);
	assert_int_equal(udp_classify(esp, sizeof(esp)), UDP_ESP);
	assert_int_equal(udp_classify(short_esp, sizeof(short_esp)), UDP_BAD);
	assert_int_equal(udp_classify(esp, 0), UDP_BAD);
}

/* ---- IPv6 header rebuild ------------------------------------------------ */

static void test_ip6_hdr_rebuild(void **state)
{
	(void)state;
	static uint8_t buf[PKT_BUF_SIZE];
	struct pkt p = {.buf = buf, .cap = sizeof(buf), .off = PKT_HEADROOM, .len = 300};
	struct ip_addr s, d;
	uint8_t *h;

	assert_true(ip_addr_parse("2001:db8::1", &s));
	assert_true(ip_addr_parse("2001:db8::2", &d));
	memset(buf + PKT_HEADROOM, 0xab, 300);
	assert_true(ip6_hdr_rebuild(&p, &s, &d, 50, 63));
	assert_int_equal(p.off, PKT_HEADROOM - 40);
	assert_int_equal(p.len, 340);
	h = pkt_data(&p);
	assert_int_equal(h[0], 0x60);
	assert_int_equal(h[1] | h[2] | h[3], 0);
	assert_int_equal(get_be16(h + 4), 300); /* payload length */
	assert_int_equal(h[6], 50);
	assert_int_equal(h[7], 63);
	assert_memory_equal(h + 8, s.b, 16);
	assert_memory_equal(h + 24, d.b, 16);
	assert_int_equal(h[40], 0xab);

	/* No headroom, wrong family: refused, packet untouched. */
	struct pkt q = {.buf = buf, .cap = sizeof(buf), .off = 39, .len = 10};
	assert_false(ip6_hdr_rebuild(&q, &s, &d, 50, 1));
	assert_int_equal(q.off, 39);
	struct ip_addr v4;
	assert_true(ip_addr_parse("198.18.0.1", &v4));
	assert_false(ip6_hdr_rebuild(&p, &v4, &d, 50, 1));
}

/* ---- receive post-processing ------------------------------------------- */

struct rx_fixture {
	struct mmsghdr m;
	struct iovec iov;
	struct rx_meta meta;
	struct pkt p;
	uint8_t *buf;
};

static void rx_setup(struct rx_fixture *f)
{
	static uint8_t buf[PKT_BUF_SIZE];
	memset(f, 0, sizeof(*f));
	f->p.buf = buf;
	f->p.cap = sizeof(buf);
	sock_rx_prepare(&f->m, &f->iov, &f->meta, &f->p);
}

static void rx_from(struct rx_fixture *f, const char *addr, uint16_t port)
{
	struct ip_addr a;
	assert_true(ip_addr_parse(addr, &a));
	f->m.msg_hdr.msg_namelen = ip_addr_to_sockaddr(&a, port, &f->meta.from);
}

static void rx_cmsg_v6(struct rx_fixture *f, const char *dst, int hops)
{
	struct msghdr *mh = &f->m.msg_hdr;
	struct in6_pktinfo pi = {.ipi6_ifindex = 3};
	struct ip_addr d;
	struct cmsghdr *c;

	assert_true(ip_addr_parse(dst, &d));
	pi.ipi6_addr = d.v6;
	mh->msg_controllen = CMSG_SPACE(sizeof(pi)) + (hops >= 0 ? CMSG_SPACE(sizeof(int)) : 0);
	c = CMSG_FIRSTHDR(mh);
	c->cmsg_level = IPPROTO_IPV6;
	c->cmsg_type = IPV6_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	if (hops >= 0) {
		c = CMSG_NXTHDR(mh, c);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_HOPLIMIT;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &hops, sizeof(hops));
	}
}

static void test_rx_raw6_rebuilds_header(void **state)
{
	(void)state;
	struct rx_fixture f;
	struct xform_in in;
	char b[IP_ADDR_STRLEN];

	rx_setup(&f);
	rx_from(&f, "2001:db8::a", 0);
	rx_cmsg_v6(&f, "2001:db8::b", 17);
	memcpy(pkt_data(&f.p), "\x00\x00\x12\x34\x00\x00\x00\x01", 8); /* AH-ish bytes */
	f.m.msg_len = 24;
	assert_true(sock_rx_finish(RX_RAW6_AH, &f.m, &f.p, &in));
	assert_false(in.udp);
	assert_string_equal(ip_addr_str(&in.src, b), "2001:db8::a");
	assert_string_equal(ip_addr_str(&in.dst, b), "2001:db8::b");
	assert_int_equal(f.p.len, 64);
	assert_int_equal(pkt_data(&f.p)[6], 51); /* next header: AH */
	assert_int_equal(pkt_data(&f.p)[7], 17);
	assert_int_equal(get_be16(pkt_data(&f.p) + 4), 24);
	assert_memory_equal(pkt_data(&f.p) + 40, "\x00\x00\x12\x34", 4);

	/* Without IPV6_PKTINFO there is no destination: refused. */
	rx_setup(&f);
	rx_from(&f, "2001:db8::a", 0);
	f.m.msg_hdr.msg_controllen = 0;
	f.m.msg_len = 24;
	assert_false(sock_rx_finish(RX_RAW6_ESP, &f.m, &f.p, &in));

	/* Truncated datagrams are refused. */
	rx_setup(&f);
	rx_from(&f, "2001:db8::a", 0);
	rx_cmsg_v6(&f, "2001:db8::b", 64);
	f.m.msg_len = 24;
	f.m.msg_hdr.msg_flags = MSG_TRUNC;
	assert_false(sock_rx_finish(RX_RAW6_ESP, &f.m, &f.p, &in));
}

static void test_rx_raw4_reads_header(void **state)
{
	(void)state;
	struct rx_fixture f;
	struct xform_in in;
	char b[IP_ADDR_STRLEN];
	const uint8_t ip[28] = {0x45, 0, 0, 28, 0, 0, 0, 0, 64, 50, 0, 0, 198, 18, 0, 1,
				198, 18, 0, 2, 0, 0, 0x10, 0, 0, 0, 0, 1};

	rx_setup(&f);
	rx_from(&f, "198.18.0.1", 0);
	memcpy(pkt_data(&f.p), ip, sizeof(ip));
	f.m.msg_len = sizeof(ip);
	assert_true(sock_rx_finish(RX_RAW4_ESP, &f.m, &f.p, &in));
	assert_int_equal(f.p.off, PKT_HEADROOM); /* header kept as received */
	assert_int_equal(f.p.len, sizeof(ip));
	assert_string_equal(ip_addr_str(&in.src, b), "198.18.0.1");
	assert_string_equal(ip_addr_str(&in.dst, b), "198.18.0.2");

	/* Not IPv4, or shorter than a header: refused. */
	pkt_data(&f.p)[0] = 0x65;
	assert_false(sock_rx_finish(RX_RAW4_ESP, &f.m, &f.p, &in));
	pkt_data(&f.p)[0] = 0x45;
	f.m.msg_len = 19;
	assert_false(sock_rx_finish(RX_RAW4_ESP, &f.m, &f.p, &in));
}

/* ---- ESP-in-UDP over a real loopback socket ----------------------------- */

static int udp4_bound(uint16_t *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int one = 1, fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static void test_udp_send_and_receive(void **state)
{
	(void)state;
	struct dp_socks s;
	uint16_t pa, pb;
	int a = udp4_bound(&pa), bfd = udp4_bound(&pb);
	static uint8_t buf[PKT_BUF_SIZE];
	struct pkt p = {.buf = buf, .cap = sizeof(buf), .off = PKT_HEADROOM, .len = 36};
	struct xform_out o = {.udp = true, .udp_payload_off = 28};
	struct rx_fixture f;
	struct xform_in in;
	char str[IP_ADDR_STRLEN];
	const uint8_t esp[8] = {0xc0, 0xff, 0xee, 0x01, 0, 0, 0, 7};

	memset(&s, 0xff, sizeof(s)); /* every fd -1 */
	s.rx[RX_UDP4] = a;
	s.natt_port = pa;
	/* What xform_output leaves: outer IPv4 + UDP header, then ESP. Only
	 * the bytes from udp_payload_off go on the UDP socket. */
	memset(pkt_data(&p), 0x11, 28);
	memcpy(pkt_data(&p) + 28, esp, sizeof(esp));
	assert_true(ip_addr_parse("127.0.0.1", &o.src));
	assert_true(ip_addr_parse("127.0.0.1", &o.dst));
	o.dport = pb;
	assert_int_equal(sock_send(&s, &p, &o), DROP_NONE);

	rx_setup(&f);
	assert_int_equal(recvmmsg(bfd, &f.m, 1, 0, NULL), 1);
	assert_true(sock_rx_finish(RX_UDP4, &f.m, &f.p, &in));
	assert_true(in.udp);
	assert_int_equal(in.sport, pa);
	assert_string_equal(ip_addr_str(&in.dst, str), "127.0.0.1");
	assert_int_equal(f.p.len, sizeof(esp));
	assert_memory_equal(pkt_data(&f.p), esp, sizeof(esp));
	assert_int_equal(udp_classify(pkt_data(&f.p), f.p.len), UDP_ESP);

	/* Bad offset, and no socket for the family: dropped, not sent. */
	o.udp_payload_off = 37;
	assert_int_equal(sock_send(&s, &p, &o), DROP_INTERNAL);
	o.udp_payload_off = 28;
	assert_true(ip_addr_parse("::1", &o.dst));
	assert_int_equal(sock_send(&s, &p, &o), DROP_INTERNAL);
	close(a);
	close(bfd);
}

/* ---- crypto engine cpus (affinity.c) ------------------------------------ */

static int park_fd[2];

static void *parked(void *arg)
{
	char c;

	(void)arg;
	return read(park_fd[0], &c, 1) < 0 ? NULL : NULL;
}

/* The CPU set of worker i's thread, as a list. */
static const char *thread_cpus(struct dp *dp, unsigned i, char *buf)
{
	cpu_set_t s;
	uint64_t m[CPULIST_WORDS] = {0};

	assert_int_equal(pthread_getaffinity_np(dp->workers[i].thread, sizeof(s), &s), 0);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &s))
			cpulist_set(m, (unsigned)c);
	return cpulist_str(m, buf, CPULIST_STRLEN);
}

/* Three workers (parked threads): one CPU for all, two CPUs taken in turn,
 * back to any; a CPU the process may not use is refused and changes
 * nothing. Runs without root: a thread may narrow its own process's set. */
static void test_worker_cpus(void **state)
{
	struct dp dp;
	uint64_t m[CPULIST_WORDS] = {0};
	char start[CPULIST_STRLEN], got[CPULIST_STRLEN], err[256];
	int c0, c1, out;

	(void)state;
	memset(&dp, 0, sizeof(dp));
	dp.nworkers = 3;
	dp.workers = calloc(dp.nworkers, sizeof(*dp.workers));
	assert_non_null(dp.workers);
	assert_int_equal(pipe(park_fd), 0);
	for (unsigned i = 0; i < dp.nworkers; i++)
		assert_int_equal(pthread_create(&dp.workers[i].thread, NULL, parked, NULL), 0);
	dp_affinity_init(&dp);
	cpulist_str(dp.start_cpus, start, sizeof(start));
	c0 = cpulist_next(dp.start_cpus, 0);
	c1 = cpulist_next(dp.start_cpus, c0 + 1);
	assert_true(c0 >= 0);
	for (unsigned i = 0; i < dp.nworkers; i++)
		assert_int_equal(dp_worker_cpu(&dp, i), -1);

	cpulist_set(m, (unsigned)c0); /* one CPU: every worker on it */
	assert_int_equal(dp_set_cpus(&dp, m, err, sizeof(err)), 0);
	for (unsigned i = 0; i < dp.nworkers; i++) {
		char want[12];
		snprintf(want, sizeof(want), "%d", c0);
		assert_string_equal(thread_cpus(&dp, i, got), want);
		assert_int_equal(dp_worker_cpu(&dp, i), c0);
	}
	if (c1 >= 0) { /* two: 0 -> c0, 1 -> c1, 2 -> c0 again */
		cpulist_set(m, (unsigned)c1);
		assert_int_equal(dp_set_cpus(&dp, m, err, sizeof(err)), 0);
		assert_int_equal(dp_worker_cpu(&dp, 0), c0);
		assert_int_equal(dp_worker_cpu(&dp, 1), c1);
		assert_int_equal(dp_worker_cpu(&dp, 2), c0);
		assert_int_equal(atoi(thread_cpus(&dp, 1, got)), c1);
	}
	/* a CPU outside the process's set: refused, named, nothing changed */
	for (out = 0; out < CPULIST_MAX && cpulist_next(dp.start_cpus, out) == out; out++)
		;
	assert_true(out < CPULIST_MAX);
	memset(m, 0, sizeof(m));
	cpulist_set(m, (unsigned)out);
	assert_int_equal(dp_check_cpus(NULL, m, err, sizeof(err)), -1);
	assert_int_equal(dp_set_cpus(&dp, m, err, sizeof(err)), -1);
	print_message("%s\n", err);
	snprintf(got, sizeof(got), "CPU %d is not one espritd may run on", out);
	assert_non_null(strstr(err, got));
	assert_non_null(strstr(err, start));
	assert_int_equal(dp_worker_cpu(&dp, 0), c0);
	assert_int_equal(atoi(thread_cpus(&dp, 0, got)), c0);
	/* none: every worker back on the CPUs the process started with */
	memset(m, 0, sizeof(m));
	assert_int_equal(dp_set_cpus(&dp, m, err, sizeof(err)), 0);
	for (unsigned i = 0; i < dp.nworkers; i++) {
		assert_string_equal(thread_cpus(&dp, i, got), start);
		assert_int_equal(dp_worker_cpu(&dp, i), -1);
	}
	assert_int_equal(dp_check_cpus(NULL, dp.start_cpus, err, sizeof(err)), 0);

	assert_int_equal(write(park_fd[1], "xyz", 3), 3);
	for (unsigned i = 0; i < dp.nworkers; i++)
		pthread_join(dp.workers[i].thread, NULL);
	close(park_fd[0]);
	close(park_fd[1]);
	free(dp.workers);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_exhaust_and_return),
		cmocka_unit_test(test_pool_rejects_foreign_and_double_put),
		cmocka_unit_test(test_acquire_once_per_interval),
		cmocka_unit_test(test_acquire_never_over_suppresses),
		cmocka_unit_test(test_udp_classify),
		cmocka_unit_test(test_ip6_hdr_rebuild),
		cmocka_unit_test(test_rx_raw6_rebuilds_header),
		cmocka_unit_test(test_rx_raw4_reads_header),
		cmocka_unit_test(test_udp_send_and_receive),
		cmocka_unit_test(test_worker_cpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
