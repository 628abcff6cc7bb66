/* Shared by the data-plane fuzz harnesses and the corpus generator
 * (tests/unit/test_dataplane_corpus.c): one SAD with fixed inbound SAs,
 * installed once, with well-known keys, so that the corpus files (real
 * packets made by the encap path with the same keys) get past the ICV
 * and the fuzzer explores the decapsulated side too.
 *
 *   SPI 0x100: ESP AES-CBC-128 + HMAC-SHA1-96, tunnel
 *   SPI 0x101: ESP AES-GCM-16-256, ESN, tunnel, UDP-encapsulated
 *   SPI 0x102: ESP NULL + HMAC-SHA256-128, transport
 *   SPI 0x103: ESP ChaCha20-Poly1305, tunnel
 *   SPI 0x104: ESP AES-CBC-128 + HMAC-SHA256-128, ESN, tunnel (alone: the
 *              batch ICV path of fuzz_dataplane_esp)
 *   SPI 0x200: AH HMAC-SHA256-128, transport (bundled with ESP 0x100)
 *   SPI 0x201: AH HMAC-SHA1-96, tunnel
 *   CPI 0x300: IPComp deflate (bundled with ESP 0x103)
 */
#ifndef ESPRIT_FUZZ_DATAPLANE_COMMON_H
#define ESPRIT_FUZZ_DATAPLANE_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu.h>

#include "crypto/alg.h"
#include "dataplane/xform.h"
#include "ipsec/sad.h"
#include "lib/log.h"
#include "lib/secret.h"

struct fuzz_sa {
	uint32_t spi;
	uint8_t proto, mode;
	uint16_t encr, key_bits, integ;
	bool esn;
	uint16_t encap;
	uint32_t reqid;
};

static const struct fuzz_sa fuzz_sas[] = {
	{0x100, IPSEC_PROTO_ESP, IPSEC_MODE_TUNNEL, ENCR_AES_CBC, 128, AUTH_HMAC_SHA1_96, false, 0, 1},
	{0x101, IPSEC_PROTO_ESP, IPSEC_MODE_TUNNEL, ENCR_AES_GCM_16, 256, 0, true, 4500, 2},
	{0x102, IPSEC_PROTO_ESP, IPSEC_MODE_TRANSPORT, ENCR_NULL, 0, AUTH_HMAC_SHA2_256_128, false, 0, 3},
	{0x103, IPSEC_PROTO_ESP, IPSEC_MODE_TUNNEL, ENCR_CHACHA20_POLY1305, 0, 0, false, 0, 4},
	{0x104, IPSEC_PROTO_ESP, IPSEC_MODE_TUNNEL, ENCR_AES_CBC, 128, AUTH_HMAC_SHA2_256_128, true, 0,
	 6},
	{0x200, IPSEC_PROTO_AH, IPSEC_MODE_TUNNEL, 0, 0, AUTH_HMAC_SHA2_256_128, false, 0, 1},
	{0x201, IPSEC_PROTO_AH, IPSEC_MODE_TUNNEL, 0, 0, AUTH_HMAC_SHA1_96, false, 0, 5},
	{0x300, IPSEC_PROTO_COMP, IPSEC_MODE_TUNNEL, 0, 0, 0, false, 0, 4},
};
#define FUZZ_NSAS (sizeof(fuzz_sas) / sizeof(fuzz_sas[0]))

static inline struct secret *fuzz_key(size_t len, uint32_t spi)
{
	struct secret *k = secret_new(len ? len : 1);

	if (!k)
		abort();
	k->len = len;
	for (size_t i = 0; i < len; i++)
		k->p[i] = (uint8_t)(i + spi);
	return k;
}

/* Install every SA of the table in dir. Outbound SAs use the table's
 * reqid; replay windows are off inbound so that the corpus replays. */
static inline void fuzz_sad_fill(struct sad *sad, uint8_t dir)
{
	for (size_t i = 0; i < FUZZ_NSAS; i++) {
		const struct fuzz_sa *f = &fuzz_sas[i];
		const struct encr_alg *ea = encr_alg_find(f->encr);
		const struct integ_alg *ia = integ_alg_find(f->integ);
		struct sa_params p;
		struct secret *ek = NULL, *ik = NULL;

		memset(&p, 0, sizeof(p));
		p.spi = f->spi;
		p.proto = f->proto;
		p.dir = dir;
		p.mode = f->mode;
		ip_addr_parse(dir == SA_DIR_OUT ? "192.0.2.1" : "192.0.2.2", &p.src);
		ip_addr_parse(dir == SA_DIR_OUT ? "192.0.2.2" : "192.0.2.1", &p.dst);
		p.encap_sport = p.encap_dport = f->encap;
		p.encr_id = f->encr;
		if (ea) {
			uint16_t kb = f->key_bits ? f->key_bits : encr_key_bits_default(ea);
			p.encr_key_bits = kb;
			ek = fuzz_key(encr_keymat_len(ea, kb), f->spi);
			p.encr_key = ek;
		}
		p.integ_id = f->integ;
		if (ia) {
			ik = fuzz_key(ia->key_len, f->spi + 1);
			p.integ_key = ik;
		}
		p.esn = f->esn;
		p.reqid = f->reqid;
		snprintf(p.name, sizeof(p.name), "fuzz %x", f->spi);
		if (sad_install(sad, &p) != 0)
			abort();
		secret_free(ek);
		secret_free(ik);
	}
}

static struct sad *fuzz_sad;
static struct xform_scratch *fuzz_scratch;
static uint8_t *fuzz_buf;

static inline void fuzz_init(void)
{
	if (fuzz_sad)
		return;
	log_setup("fuzz", false, false, LOG_LVL_ERR);
	rcu_register_thread();
	fuzz_sad = sad_new(1);
	fuzz_scratch = xform_scratch_new();
	fuzz_buf = malloc(PKT_BUF_SIZE);
	if (!fuzz_sad || !fuzz_scratch || !fuzz_buf)
		abort();
	fuzz_sad_fill(fuzz_sad, SA_DIR_IN);
}

static inline enum dp_drop fuzz_xform_input(const uint8_t *data, size_t size,
					    const struct xform_in *xi)
{
	struct pkt p = {.buf = NULL, .cap = PKT_BUF_SIZE, .off = PKT_HEADROOM, .len = size};
	struct sa *sa;
	enum dp_drop r;

	fuzz_init();
	if (size > PKT_MAX_DATA)
		return DROP_TOO_BIG;
	p.buf = fuzz_buf;
	memcpy(p.buf + p.off, data, size);
	rcu_read_lock();
	r = xform_input(fuzz_sad, 0, fuzz_scratch, &p, xi, &sa);
	rcu_read_unlock();
	return r;
}

#endif
