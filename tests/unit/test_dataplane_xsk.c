/* AF_XDP transmit (src/dataplane/xsk.c) on a veth pair in a network
 * namespace of our own (xa 198.18.0.1 -- xb 198.18.0.2, made with ip(8)):
 * frames built as the data plane builds them (Ethernet + IPv4) sent on xa
 * reach a UDP socket on xb's address intact and in order, many
 * more of them than the UMEM has frames (so frames come back through the
 * completion ring and are used again), with nothing left pending; the
 * next-hop lookup refuses a local route. Needs root (unshare, AF_XDP):
 * skipped otherwise. */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <netlink/netlink.h>

#include "dataplane/internal.h"
#include "dataplane/xform_int.h"
#include "lib/cursor.h"

#define PORT 9999
#define NPKT 6000 /* about 3 times the UMEM's frames */
#define BATCH 32
#define PAYLOAD 200

static bool have_ns;
static uint8_t xb_mac[6];

static int setup(void **state)
{
	struct ifreq ifr = {0};
	int fd;

	(void)state;
	if (unshare(CLONE_NEWNET) < 0)
		return 0; /* not root: the tests skip */
	/* xb takes packets from its own subnet's other local address */
	if (system("ip link set lo up && ip link add xa type veth peer name xb && "
	           "ip addr add 198.18.0.1/24 dev xa && ip addr add 198.18.0.2/24 dev xb && "
	           "ip link set xa up && ip link set xb up && "
	           "sysctl -qw net.ipv4.conf.xb.accept_local=1 net.ipv4.conf.all.rp_filter=0 "
	           "net.ipv4.conf.xb.rp_filter=0") != 0)
		return 0;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "xb");
	if (fd >= 0 && ioctl(fd, SIOCGIFHWADDR, &ifr) == 0) {
		memcpy(xb_mac, ifr.ifr_hwaddr.sa_data, 6);
		have_ns = true;
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

/* An IPv4/UDP packet 198.18.0.1 -> 198.18.0.2:PORT carrying seq. */
static size_t build(uint8_t *p, uint32_t seq)
{
	size_t len = IPV4_HDR_LEN + 8 + PAYLOAD;

	memset(p, 0, len);
	p[0] = 0x45;
	put_be16(p + 2, (uint16_t)len);
	p[8] = 64;
	p[9] = IPPROTO_UDP;
	p[12] = p[16] = 198;
	p[13] = p[17] = 18;
	p[15] = 1;
	p[19] = 2;
	put_be16(p + 10, ip_csum(p, IPV4_HDR_LEN, 0));
	put_be16(p + IPV4_HDR_LEN, 40000);
	put_be16(p + IPV4_HDR_LEN + 2, PORT);
	put_be16(p + IPV4_HDR_LEN + 4, (uint16_t)(8 + PAYLOAD));
	for (size_t i = 0; i < PAYLOAD; i++)
		p[IPV4_HDR_LEN + 8 + i] = (uint8_t)(seq + i);
	memcpy(p + IPV4_HDR_LEN + 8, &seq, sizeof(seq));
	return len;
}

static int udp_sink(void)
{
	struct sockaddr_in a = {
	    .sin_family = AF_INET, .sin_port = htons(PORT), .sin_addr.s_addr = htonl(0xc6120002)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), big = 4 << 20;

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Reads what is there (waiting up to 1 s for the first): checks each
 * datagram is the next one. */
static unsigned drain(int fd, uint32_t *next)
{
	uint8_t buf[2048];
	unsigned got = 0;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	while (poll(&pfd, 1, got ? 0 : 1000) > 0) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		uint32_t seq;

		if (n < 0)
			break;
		assert_int_equal(n, PAYLOAD);
		memcpy(&seq, buf, sizeof(seq));
		assert_int_equal(seq, *next);
		for (size_t i = sizeof(seq); i < PAYLOAD; i++)
			assert_int_equal(buf[i], (uint8_t)(seq + i));
		(*next)++;
		got++;
	}
	return got;
}

static void test_xsk_tx_veth(void **state)
{
	static uint8_t pkts[BATCH][IPV4_HDR_LEN + 8 + PAYLOAD];
	uint8_t eth[ETH_HDR_LEN] = {[12] = 0x08}; /* to xb, from any */
	struct xsk_frame f[BATCH];
	uint32_t sent = 0, next = 0;
	struct xsk_tx *x;
	char why[128];
	int fd;

	(void)state;
	if (!have_ns)
		skip();
	memcpy(eth, xb_mac, 6);
	x = xsk_tx_open((int)if_nametoindex("xa"), why, sizeof(why));
	if (!x)
		print_message("xsk_tx_open: %s\n", why);
	assert_non_null(x);
	fd = udp_sink();
	while (sent < NPKT) {
		unsigned took;
		int err;

		for (unsigned i = 0; i < BATCH; i++)
			f[i] = (struct xsk_frame){
			    .eth = eth, .data = pkts[i], .len = (uint32_t)build(pkts[i], sent + i)};
		took = xsk_tx_send(x, f, BATCH, &err);
		assert_int_equal(err, 0);
		assert_true(took > 0); /* frames come back: the ring never stays full */
		sent += took;
		drain(fd, &next);
	}
	for (int i = 0; i < 50 && next < sent; i++) {
		if (xsk_tx_pending(x))
			xsk_tx_kick(x);
		drain(fd, &next);
	}
	assert_int_equal(next, sent); /* every one, in order, intact */
	assert_false(xsk_tx_pending(x));
	/* a frame larger than the UMEM's is refused, not cut */
	{
		static uint8_t huge[5000];
		struct xsk_frame h = {.eth = eth, .data = huge, .len = sizeof(huge)};
		int err;

		assert_int_equal(xsk_tx_send(x, &h, 1, &err), 0);
	}
	xsk_tx_close(x);
	close(fd);
}

static void test_next_hop_local(void **state)
{
	struct nl_sock *nl;
	struct ip_addr a = {.af = AF_INET};
	uint8_t eth[ETH_HDR_LEN];
	const char *why = NULL;
	bool confirmed;
	int ifindex = 0;

	(void)state;
	if (!have_ns)
		skip();
	nl = route_nl_open();
	assert_non_null(nl);
	nl_socket_disable_auto_ack(nl);
	a.v4.s_addr = htonl(INADDR_LOOPBACK);
	/* a local route: not something to send to the wire */
	assert_int_equal(xsk_next_hop(nl, &a, 0, &ifindex, eth, &confirmed, &why), -1);
	assert_non_null(why);
	assert_non_null(strstr(why, "route"));
	a.v4.s_addr = htonl(0xc6130063); /* 198.19.0.99: no route at all here */
	assert_int_equal(xsk_next_hop(nl, &a, 0, &ifindex, eth, &confirmed, &why), -1);
	/* and the socket still answers the next request (one reply each) */
	a.v4.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(xsk_next_hop(nl, &a, 0, &ifindex, eth, &confirmed, &why), -1);
	assert_non_null(strstr(why, "route"));
	nl_socket_free(nl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_xsk_tx_veth),
	    cmocka_unit_test(test_next_hop_local),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
