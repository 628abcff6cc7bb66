/* The simplest userspace tunnel there is, as a floor for the bench: one
 * thread, blocking poll() on a TUN device and a UDP socket, one packet per
 * system call each way (read TUN, seal with AES-128-GCM, send; receive,
 * open, write TUN). No offloads, no batching, no replay window, no SAs:
 * whatever latency or packet rate it reaches is what this machine gives
 * any userspace data plane that works one packet at a time (issue 4: "a
 * minimal relay that reads TUN and writes UDP one packet per syscall").
 * Not a product: a fixed key from the command line, for bench/run.sh only.
 *
 *   relay TUN LOCAL_IPV4 PEER_IPV4 PORT KEYHEX32 [a|b]
 *
 * Wire format: an 8-byte sequence number (the GCM nonce's last 8 bytes;
 * side a counts from 0, side b from 2^63 so the nonces never meet), the
 * ciphertext, a 16-byte tag. Built with: cc -O2 relay.c -lcrypto */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXPKT 65536
#define SEQ 8
#define TAG 16

static EVP_CIPHER_CTX *enc, *dec;

static int tun_open(const char *name)
{
	struct ifreq ifr = {0};
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);

	if (fd < 0)
		return -1;
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int udp_open(const char *local, const char *peer, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct sockaddr_in b = a;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	if (fd < 0 || inet_pton(AF_INET, local, &a.sin_addr) != 1 ||
	    inet_pton(AF_INET, peer, &b.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    connect(fd, (struct sockaddr *)&b, sizeof(b)) < 0)
		return -1;
	return fd;
}

static void nonce(uint8_t iv[12], const uint8_t seq[SEQ])
{
	memset(iv, 0, 4);
	memcpy(iv + 4, seq, SEQ);
}

/* in (len bytes) -> out: seq, ciphertext, tag. Returns the length. */
static int seal(uint64_t seq, const uint8_t *in, int len, uint8_t *out)
{
	uint8_t iv[12];
	int n;

	for (int i = 0; i < SEQ; i++)
		out[i] = (uint8_t)(seq >> (56 - 8 * i));
	nonce(iv, out);
	if (!EVP_EncryptInit_ex(enc, NULL, NULL, NULL, iv) ||
	    !EVP_EncryptUpdate(enc, out + SEQ, &n, in, len) ||
	    !EVP_EncryptFinal_ex(enc, out + SEQ + n, &n) ||
	    !EVP_CIPHER_CTX_ctrl(enc, EVP_CTRL_GCM_GET_TAG, TAG, out + SEQ + len))
		return -1;
	return SEQ + len + TAG;
}

/* The inverse; -1 if the tag does not match. */
static int open_pkt(uint8_t *in, int len, uint8_t *out)
{
	uint8_t iv[12];
	int n, body = len - SEQ - TAG;

	if (body <= 0)
		return -1;
	nonce(iv, in);
	if (!EVP_DecryptInit_ex(dec, NULL, NULL, NULL, iv) ||
	    !EVP_DecryptUpdate(dec, out, &n, in + SEQ, body) ||
	    !EVP_CIPHER_CTX_ctrl(dec, EVP_CTRL_GCM_SET_TAG, TAG, in + SEQ + body) ||
	    EVP_DecryptFinal_ex(dec, out + n, &n) <= 0)
		return -1;
	return body;
}

int main(int argc, char **argv)
{
	static uint8_t a[MAXPKT], b[MAXPKT + SEQ + TAG];
	uint8_t key[16];
	uint64_t seq, bad = 0;
	struct pollfd pf[2];
	int tun, udp;

	if (argc < 6 || strlen(argv[5]) != 32) {
		fprintf(stderr, "usage: relay TUN LOCAL_IPV4 PEER_IPV4 PORT KEYHEX32 [a|b]\n");
		return 2;
	}
	for (int i = 0; i < 16; i++)
		sscanf(argv[5] + 2 * i, "%2hhx", &key[i]);
	seq = argc > 6 && argv[6][0] == 'b' ? 1ull << 63 : 0;
	enc = EVP_CIPHER_CTX_new();
	dec = EVP_CIPHER_CTX_new();
	if (!EVP_EncryptInit_ex(enc, EVP_aes_128_gcm(), NULL, key, NULL) ||
	    !EVP_DecryptInit_ex(dec, EVP_aes_128_gcm(), NULL, key, NULL))
		return 1;
	tun = tun_open(argv[1]);
	udp = udp_open(argv[2], argv[3], atoi(argv[4]));
	if (tun < 0 || udp < 0) {
		perror("relay: tun/udp");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	pf[0] = (struct pollfd){.fd = tun, .events = POLLIN};
	pf[1] = (struct pollfd){.fd = udp, .events = POLLIN};
	for (;;) {
		ssize_t n;
		int m;

		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			return 1;
		if (pf[0].revents & POLLIN)
			while ((n = read(tun, a, sizeof(a))) > 0)
				if ((m = seal(seq++, a, (int)n, b)) > 0)
					send(udp, b, (size_t)m, 0);
		if (pf[1].revents & POLLIN)
			while ((n = recv(udp, b, sizeof(b), 0)) > 0) {
				if ((m = open_pkt(b, (int)n, a)) > 0)
					(void)!write(tun, a, (size_t)m);
				else if (++bad % 1000 == 1)
					fprintf(stderr, "relay: %llu packets failed to open\n",
						(unsigned long long)bad);
			}
	}
}
