/* esprit-cryptobench: per-packet cost of esprit's ESP transforms next to a
 * plain OpenSSL EVP loop, on one core, same process.
 *
 *   esprit-cryptobench [-n PACKETS] [-l LEN]
 *
 * For each algorithm it installs one outbound and one inbound SA (tunnel
 * mode, IPv4, worker 0) and times:
 *   seal: xform_output on an LEN-byte IPv4/UDP packet (SPD/SAD already
 *         resolved to the policy; includes sequence number, padding, outer
 *         header, counters and lifetime accounting);
 *   open: xform_input on a packet sealed beforehand (anti-replay off so the
 *         same packet can be opened again; includes the selector check);
 *   evp:  EVP_EncryptInit/Update/Final of LEN bytes with an 8-byte AAD and
 *         a 16-byte tag (AES-128-GCM only): the floor for the seal.
 * Prints ns/packet and the payload rate in Gbit/s (LEN * 8 / ns). The
 * numbers say how much of a tunnel's budget the crypto takes; the rest is
 * the kernel path (TUN, sockets). */
#include <getopt.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <urcu.h>

#include "crypto/alg.h"
#include "dataplane/xform.h"
#include "lib/cursor.h"
#include "lib/log.h"

struct algo {
	const char *name;
	uint16_t encr_id, encr_bits, integ_id;
	size_t encr_keylen, integ_keylen;
};

static const struct algo algos[] = {
	{"aes128gcm16", ENCR_AES_GCM_16, 128, AUTH_NONE, 20, 0},
	{"aes256gcm16", ENCR_AES_GCM_16, 256, AUTH_NONE, 36, 0},
	{"aes128cbc-sha256", ENCR_AES_CBC, 128, AUTH_HMAC_SHA2_256_128, 16, 32},
	{"chacha20poly1305", ENCR_CHACHA20_POLY1305, 256, AUTH_NONE, 36, 0},
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void report(const char *algo, const char *what, double secs, unsigned n, size_t len)
{
	double ns = secs * 1e9 / n;

	printf("  %-18s %-8s %8.0f ns/packet %7.2f Gbit/s\n", algo, what, ns,
	       (double)len * 8.0 / ns);
}

/* An IPv4/UDP packet 10.1.0.1:1000 -> 10.2.0.1:2000 of len bytes. */
static void packet_fill(uint8_t *d, size_t len)
{
	memset(d, 0xa5, len);
	memset(d, 0, 28);
	d[0] = 0x45;
	put_be16(d + 2, (uint16_t)len);
	d[8] = 64;
	d[9] = 17;
	d[12] = 10, d[13] = 1, d[15] = 1;
	d[16] = 10, d[17] = 2, d[19] = 1;
	put_be16(d + 20, 1000);
	put_be16(d + 22, 2000);
	put_be16(d + 24, (uint16_t)(len - 20));
}

static int sa_add(struct sad *sad, const struct algo *a, bool out, const struct secret *ek,
		  const struct secret *ik)
{
	struct sa_params p;

	memset(&p, 0, sizeof(p));
	p.spi = 0x1000; /* one SPI: the sealed packet opens as is */
	p.proto = IPSEC_PROTO_ESP;
	p.dir = out ? SA_DIR_OUT : SA_DIR_IN;
	p.mode = IPSEC_MODE_TUNNEL;
	ip_addr_parse("192.0.2.1", &p.src);
	ip_addr_parse("192.0.2.2", &p.dst);
	p.encr_id = a->encr_id;
	p.encr_key_bits = a->encr_bits;
	p.encr_key = ek;
	p.integ_id = a->integ_id;
	p.integ_key = a->integ_keylen ? ik : NULL;
	p.reqid = 1;
	snprintf(p.name, sizeof(p.name), "bench %s", out ? "out" : "in");
	return sad_install(sad, &p);
}

/* One SA pair of algorithm a (same SPI and keys both ways, so that a
 * sealed packet opens as is) in its own SAD, and a worker's scratch. */
struct bench_env {
	struct sad *sad;
	struct xform_scratch *s;
};

static int env_open(struct bench_env *e, const struct algo *a)
{
	static const uint8_t kb[64] = "esprit-cryptobench-key-material-not-secret-0123456789abcdef";
	struct secret *ek = secret_from(kb, a->encr_keylen);
	struct secret *ik = secret_from(kb + 8, a->integ_keylen ? a->integ_keylen : 1);
	int ret = -1;

	e->sad = sad_new(1);
	e->s = xform_scratch_new();
	if (ek && ik && e->sad && e->s && sa_add(e->sad, a, true, ek, ik) == 0 &&
	    sa_add(e->sad, a, false, ek, ik) == 0)
		ret = 0;
	secret_free(ek); /* the SAD keeps copies */
	secret_free(ik);
	return ret;
}

static void env_close(struct bench_env *e)
{
	sad_free(e->sad);
	xform_scratch_free(e->s);
}

static int bench_algo(const struct algo *a, unsigned n, size_t len)
{
	struct bench_env env;
	int envr = env_open(&env, a);
	struct sad *sad = env.sad;
	struct xform_scratch *s = env.s;
	uint8_t *buf = malloc(PKT_BUF_SIZE), *sealed = malloc(PKT_BUF_SIZE);
	struct policy pol = {.reqid = 1, .action = POLICY_PROTECT, .mode = IPSEC_MODE_TUNNEL};
	struct pkt p = {.buf = buf, .cap = PKT_BUF_SIZE};
	struct xform_out o;
	struct xform_in in = {0};
	struct sa *sa;
	size_t slen = 0, soff = 0;
	double t0;
	int ret = -1;

	if (envr < 0 || !buf || !sealed)
		goto out;
	rcu_read_lock();
	t0 = now_s();
	for (unsigned i = 0; i < n; i++) {
		p.off = PKT_HEADROOM;
		p.len = len;
		packet_fill(pkt_data(&p), 28); /* header only: the payload stays */
		put_be16(pkt_data(&p) + 2, (uint16_t)len);
		if (xform_output(sad, &pol, NULL, 0, s, &p, &o) != DROP_NONE)
			goto unlock;
	}
	report(a->name, "seal", now_s() - t0, n, len);
	/* The last sealed packet: the inbound SA has the same SPI and keys. */
	slen = p.len;
	soff = p.off;
	memcpy(sealed, p.buf, PKT_BUF_SIZE);
	t0 = now_s();
	for (unsigned i = 0; i < n; i++) {
		memcpy(buf + soff, sealed + soff, slen);
		p.off = soff;
		p.len = slen;
		if (xform_input(sad, 0, s, &p, &in, &sa) != DROP_NONE)
			goto unlock;
	}
	report(a->name, "open", now_s() - t0, n, len);
	ret = 0;
unlock:
	xform_release(s); /* the SA's sending turn, taken by the first seal */
	rcu_read_unlock();
	if (ret)
		fprintf(stderr, "cryptobench: %s failed\n", a->name);
out:
	env_close(&env);
	free(buf);
	free(sealed);
	return ret;
}

/* Seals in batches of BATCH packets, as a worker does with the segments
 * of a TCP superpacket: xform_output leaves AES-CBC+HMAC packets pending
 * and xform_seal_pending seals them together (crypto/mb.h). Prints
 * nothing for an algorithm that is not batched (AEAD) or where the
 * library is missing. */
#define BATCH 32
static int bench_batch(const struct algo *a, unsigned n, size_t len)
{
	struct bench_env env;
	int envr = env_open(&env, a);
	struct sad *sad = env.sad;
	struct xform_scratch *s = env.s;
	uint8_t *bufs = malloc((size_t)BATCH * PKT_BUF_SIZE);
	uint8_t *sealed = malloc((size_t)BATCH * PKT_BUF_SIZE);
	struct policy pol = {.reqid = 1, .action = POLICY_PROTECT, .mode = IPSEC_MODE_TUNNEL};
	struct xform_out o[BATCH];
	struct pkt sp[BATCH];
	unsigned done = 0;
	size_t soff[BATCH], slen[BATCH];
	double t0;
	int ret = -1;

	if (envr < 0 || !bufs || !sealed)
		goto out;
	ret = 0;
	if (!xform_defer_enable(s))
		goto out;
	rcu_read_lock();
	t0 = now_s();
	while (done < n) {
		for (unsigned i = 0; i < BATCH; i++) {
			struct pkt p = {.buf = bufs + (size_t)i * PKT_BUF_SIZE, .cap = PKT_BUF_SIZE,
					.off = PKT_HEADROOM, .len = len};

			packet_fill(pkt_data(&p), 28);
			put_be16(pkt_data(&p) + 2, (uint16_t)len);
			if (xform_output(sad, &pol, NULL, 0, s, &p, &o[i]) != DROP_NONE)
				ret = -1;
			soff[i] = p.off;
			slen[i] = p.len;
		}
		if (xform_pending(s) != BATCH) {
			xform_seal_pending(s);
			break; /* not batched */
		}
		if (xform_seal_pending(s) != 0)
			ret = -1;
		done += BATCH;
	}
	if (done >= n && !ret)
		report(a->name, "seal-b32", now_s() - t0, done, len);
	/* open-b32: the last batch, its ICVs computed together
	 * (xform_preverify_*), then each packet opened */
	if (done >= n && !ret) {
		struct xform_in in = {0};
		struct sa *sa;
		unsigned opened = 0;
		int slot[BATCH];

		memcpy(sealed, bufs, (size_t)BATCH * PKT_BUF_SIZE);
		t0 = now_s();
		while (opened < n && !ret) {
			for (unsigned i = 0; i < BATCH; i++) {
				sp[i] = (struct pkt){.buf = bufs + (size_t)i * PKT_BUF_SIZE,
						     .cap = PKT_BUF_SIZE};
				sp[i].off = soff[i];
				sp[i].len = slen[i];
				memcpy(sp[i].buf + soff[i], sealed + (size_t)i * PKT_BUF_SIZE + soff[i],
				       slen[i]);
				slot[i] = xform_preverify_add(sad, s, &sp[i], &in);
			}
			xform_preverify_run(s);
			for (unsigned i = 0; i < BATCH; i++) {
				xform_preverify_use(s, slot[i]);
				if (xform_input(sad, 0, s, &sp[i], &in, &sa) != DROP_NONE)
					ret = -1;
			}
			xform_preverify_reset(s);
			opened += BATCH;
		}
		if (!ret && slot[0] >= 0)
			report(a->name, "open-b32", now_s() - t0, opened, len);
	}
	xform_release(s);
	rcu_read_unlock();
out:
	if (ret)
		fprintf(stderr, "cryptobench: %s batch failed\n", a->name);
	env_close(&env);
	free(bufs);
	free(sealed);
	return ret;
}

/* The floor: one EVP AES-128-GCM context, new IV per packet. */
static int bench_evp(unsigned n, size_t len)
{
	static const uint8_t key[16] = "0123456789abcdef";
	uint8_t iv[12] = {0}, aad[8] = {0}, tag[16];
	uint8_t *data = calloc(1, len + 16);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	EVP_CIPHER *gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	int ol, ret = -1;
	double t0;

	if (!data || !ctx || !gcm || !EVP_EncryptInit_ex2(ctx, gcm, key, NULL, NULL))
		goto out;
	t0 = now_s();
	for (unsigned i = 0; i < n; i++) {
		put_be32(iv + 8, i);
		if (!EVP_EncryptInit_ex2(ctx, NULL, NULL, iv, NULL) ||
		    !EVP_EncryptUpdate(ctx, NULL, &ol, aad, sizeof(aad)) ||
		    !EVP_EncryptUpdate(ctx, data, &ol, data, (int)len) ||
		    !EVP_EncryptFinal_ex(ctx, data + ol, &ol) ||
		    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag))
			goto out;
	}
	report("evp-aes128gcm", "seal", now_s() - t0, n, len);
	ret = 0;
out:
	EVP_CIPHER_free(gcm);
	EVP_CIPHER_CTX_free(ctx);
	free(data);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned n = 200000;
	size_t len = 1400;
	int opt, ret = 0;

	while ((opt = getopt(argc, argv, "n:l:")) != -1) {
		if (opt == 'n')
			n = (unsigned)strtoul(optarg, NULL, 0);
		else if (opt == 'l')
			len = strtoul(optarg, NULL, 0);
		else {
			fprintf(stderr, "usage: esprit-cryptobench [-n PACKETS] [-l LEN]\n");
			return 2;
		}
	}
	if (n == 0 || len < 28 || len > 9000) {
		fprintf(stderr, "cryptobench: need -n > 0 and 28 <= LEN <= 9000\n");
		return 2;
	}
	log_setup("cryptobench", true, false, LOG_LVL_WARN);
	rcu_register_thread();
	printf("per-packet crypto, %zu-byte packets, %u packets, one core\n", len, n);
	ret |= bench_evp(n, len);
	for (size_t i = 0; i < sizeof(algos) / sizeof(algos[0]); i++)
		ret |= bench_algo(&algos[i], n, len) | bench_batch(&algos[i], n, len);
	rcu_unregister_thread();
	return ret ? 1 : 0;
}
