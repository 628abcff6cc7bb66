/* Interop probe and KAT recorder: a minimal IKEv2 initiator made only of
 * the codec (ikev2/msg.h), DH (crypto/dh.h), key derivation and PSK AUTH
 * (ikev2/keys.h), run against strongSwan as responder by
 * tools/ike_strongswan_kat.sh. It does IKE_SA_INIT and IKE_AUTH (PSK
 * "esprit-test-psk", IDi a.example) and verifies the responder's AUTH.
 *
 * Usage: ike_strongswan_kat ENCR KEYBITS INTEG GROUP PRF  (IANA numbers)
 * Env: KAT_DIR=prefix  fixed DH private key, SPIi and Ni; the messages are
 *                      written to prefix_1..4 (fragmented responses to
 *                      prefix_4_N): tests/unit/test_ikev2_keys.c's data.
 *      FRAG=1          send IKE_AUTH as two RFC 7383 fragments.
 * Not part of the build; a development tool. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "crypto/alg.h"
#include "crypto/cipher.h"
#include "crypto/dh.h"
#include "ikev2/keys.h"
#include "ikev2/msg.h"

#define DIE(...)                                                                                   \
	do {                                                                                       \
		fprintf(stderr, __VA_ARGS__);                                                      \
		fprintf(stderr, "\n");                                                             \
		exit(1);                                                                           \
	} while (0)

static int sock;
static struct sockaddr_in peer;

static size_t xchg(const uint8_t *out, size_t n, uint8_t *in, size_t cap)
{
	ssize_t r;

	if (sendto(sock, out, n, 0, (struct sockaddr *)&peer, sizeof(peer)) != (ssize_t)n)
		DIE("send");
	r = recv(sock, in, cap, 0);
	if (r <= 0)
		DIE("recv timeout");
	return (size_t)r;
}

int main(int argc, char **argv)
{
	uint16_t encr = argc > 1 ? (uint16_t)atoi(argv[1]) : ENCR_AES_CBC;
	uint16_t bits = argc > 2 ? (uint16_t)atoi(argv[2]) : 256;
	uint16_t integ = argc > 3 ? (uint16_t)atoi(argv[3]) : AUTH_HMAC_SHA2_256_128;
	uint16_t group = argc > 4 ? (uint16_t)atoi(argv[4]) : DH_ECP_256;
	uint16_t prfid = argc > 5 ? (uint16_t)atoi(argv[5]) : PRF_HMAC_SHA2_256;
	static const char psk[] = "esprit-test-psk";
	static struct ikev2_msg m, r;
	static uint8_t msg1[4096], msg2[4096], msg3[4096], msg4[4096], plain[4096], dec[4096];
	size_t n1, n2, n3, n4, pl, dl, publen = DH_MAX_PUBLIC_LEN, authlen;
	uint8_t ni[32], pub[DH_MAX_PUBLIC_LEN], authv[64], esp_spi[4] = {0xc0, 1, 2, 3};
	struct ikev2_transform xf[4] = {{IKEV2_TRANS_ENCR, encr, bits},
	                                {IKEV2_TRANS_PRF, prfid, 0},
	                                {IKEV2_TRANS_INTEG, integ, 0},
	                                {IKEV2_TRANS_DH, group, 0}};
	struct ikev2_proposal prop = {.num = 1, .proto = IKEV2_PROTO_IKE, .n_xf = 4, .xf = xf};
	struct ikev2_transform exf[2] = {{IKEV2_TRANS_ENCR, ENCR_AES_GCM_16, 128},
	                                 {IKEV2_TRANS_ESN, 0, 0}};
	struct ikev2_proposal eprop = {
	    .num = 1, .proto = IKEV2_PROTO_ESP, .spi_len = 4, .n_xf = 2, .xf = exf};
	struct ikev2_ts tsi = {7, 0, 0, 65535, {10, 1, 0, 0}, {10, 1, 255, 255}};
	struct ikev2_ts tsr = {7, 0, 0, 65535, {10, 2, 0, 0}, {10, 2, 255, 255}};
	uint8_t idi[4 + 9] = {IKEV2_ID_FQDN, 0, 0, 0, 'a', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e'};
	const struct ikev2_pl *p, *ke, *nr, *sk, *idr, *auth;
	struct ikev2_algs algs = {prfid, encr, bits, integ};
	struct ikev2_keys keys;
	struct secret *gir = NULL;
	static const uint8_t priv19[32] = {0xC8, 0x8F, 0x01, 0xF5, 0x10, 0xD9, 0xAC, 0x3F,
	                                   0x70, 0xA2, 0x92, 0xDA, 0xA2, 0x31, 0x6D, 0xE5,
	                                   0x44, 0xE9, 0xAA, 0xB8, 0xAF, 0xE8, 0x40, 0x49,
	                                   0xC6, 0x2A, 0x9C, 0x57, 0x86, 0x2D, 0x14, 0x33};
	uint8_t priv31[32];
	const char *kat = getenv("KAT_DIR");
	bool fragmented = false;
	struct dh *dh;
	struct wcur w;
	struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(500)};
	struct timeval tv = {3, 0};
	struct cipher *ce, *cd;
	struct mac *mi = NULL, *mr = NULL;
	enum ikev2_err e;

	for (int i = 0; i < 32; i++)
		priv31[i] = (uint8_t)(0x40 + i);
	if (kat)
		dh = dh_new_with_private(group, group == 19 ? priv19 : priv31, 32);
	else
		dh = dh_new(group);
	memcpy(eprop.spi, esp_spi, 4);
	if (encr == ENCR_AES_GCM_16) {
		xf[2] = xf[3];
		prop.n_xf = 3;
		algs.integ = 0;
		integ = 0;
	}
	sock = socket(AF_INET, SOCK_DGRAM, 0);
	inet_pton(AF_INET, "198.51.100.1", &me.sin_addr);
	if (bind(sock, (struct sockaddr *)&me, sizeof(me)))
		DIE("bind");
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	peer.sin_family = AF_INET;
	peer.sin_port = htons(500);
	inet_pton(AF_INET, "198.51.100.2", &peer.sin_addr);

	/* IKE_SA_INIT { SA, KEi, Ni } --> */
	memset(&m, 0, sizeof(m));
	crypto_random(m.hdr.spi_i, 8);
	crypto_random(ni, sizeof(ni));
	if (kat) {
		for (int i = 0; i < 8; i++)
			m.hdr.spi_i[i] = (uint8_t)(0xe0 + i);
		for (int i = 0; i < 32; i++)
			ni[i] = (uint8_t)(0x10 + i);
	}
	m.hdr.version = IKEV2_VERSION;
	m.hdr.exchange = IKEV2_EXCH_IKE_SA_INIT;
	m.hdr.flags = IKEV2_FLAG_INITIATOR;
	dh_public(dh, pub, &publen);
	m.pl[0].type = IKEV2_PL_SA;
	m.pl[0].u.sa.n_prop = 1;
	m.pl[0].u.sa.prop = &prop;
	m.pl[1].type = IKEV2_PL_KE;
	m.pl[1].u.ke.group = group;
	m.pl[1].u.ke.data.p = pub;
	m.pl[1].u.ke.data.len = publen;
	m.pl[2].type = IKEV2_PL_NONCE;
	m.pl[2].u.nonce.p = ni;
	m.pl[2].u.nonce.len = sizeof(ni);
	m.pl[3].type = IKEV2_PL_NOTIFY;
	m.pl[3].u.n.type = IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED;
	m.n_pl = 4;
	w = wcur_init(msg1, sizeof(msg1));
	if (ikev2_msg_build(&m, &w))
		DIE("build 1");
	n1 = w.off;
	n2 = xchg(msg1, n1, msg2, sizeof(msg2));
	/* <-- IKE_SA_INIT { SA, KEr, Nr } */
	if ((e = ikev2_msg_parse(msg2, n2, &r)))
		DIE("parse 2: %s", ikev2_err_str(e));
	for (size_t i = 0; i < r.n_pl; i++)
		if (r.pl[i].type == IKEV2_PL_NOTIFY)
			printf("resp notify %u\n", r.pl[i].u.n.type);
	ke = ikev2_msg_find(&r, IKEV2_PL_KE);
	nr = ikev2_msg_find(&r, IKEV2_PL_NONCE);
	if (!ke || !nr)
		DIE("no KE/Nr");
	if (dh_shared(dh, ke->u.ke.data.p, ke->u.ke.data.len, &gir))
		DIE("dh_shared");
	if (ikev2_keys_derive(&algs, gir, ni, sizeof(ni), nr->u.nonce.p, nr->u.nonce.len,
	                      r.hdr.spi_i, r.hdr.spi_r, &keys))
		DIE("derive");
	printf("IKE_SA_INIT ok, group %u, Nr %zu bytes\n", group, nr->u.nonce.len);

	/* IKE_AUTH { IDi, AUTH, SAi2, TSi, TSr } --> (in SK) */
	if (ikev2_auth_psk(prfid, (const uint8_t *)psk, strlen(psk), msg1, n1, nr->u.nonce.p,
	                   nr->u.nonce.len, keys.sk_pi, idi, sizeof(idi), authv, &authlen))
		DIE("auth");
	memset(&m.pl, 0, sizeof(m.pl));
	m.pl[0].type = IKEV2_PL_IDI;
	m.pl[0].u.id.type = IKEV2_ID_FQDN;
	m.pl[0].u.id.data.p = idi + 4;
	m.pl[0].u.id.data.len = sizeof(idi) - 4;
	m.pl[1].type = IKEV2_PL_AUTH;
	m.pl[1].u.auth.method = IKEV2_AUTH_SHARED_KEY_MIC;
	m.pl[1].u.auth.data.p = authv;
	m.pl[1].u.auth.data.len = authlen;
	m.pl[2].type = IKEV2_PL_SA;
	m.pl[2].u.sa.n_prop = 1;
	m.pl[2].u.sa.prop = &eprop;
	m.pl[3].type = IKEV2_PL_TSI;
	m.pl[3].u.ts.n_ts = 1;
	m.pl[3].u.ts.ts = &tsi;
	m.pl[4].type = IKEV2_PL_TSR;
	m.pl[4].u.ts.n_ts = 1;
	m.pl[4].u.ts.ts = &tsr;
	w = wcur_init(plain, sizeof(plain));
	if (ikev2_payloads_build(m.pl, 5, &w))
		DIE("build inner");
	pl = w.off;
	memcpy(m.hdr.spi_r, r.hdr.spi_r, 8);
	m.hdr.exchange = IKEV2_EXCH_IKE_AUTH;
	m.hdr.msgid = 1;
	ce = cipher_new(encr, bits, keys.sk_ei->p, keys.sk_ei->len, true);
	cd = cipher_new(encr, bits, keys.sk_er->p, keys.sk_er->len, false);
	if (integ) {
		mi = mac_new(integ, keys.sk_ai->p, keys.sk_ai->len);
		mr = mac_new(integ, keys.sk_ar->p, keys.sk_ar->len);
	}
	if (getenv("FRAG")) {
		/* RFC 7383: two fragments, first carries the inner Next Payload */
		size_t half = pl / 2;
		w = wcur_init(msg3, sizeof(msg3));
		if (ikev2_sk_encrypt(&m.hdr, IKEV2_PL_IDI, 1, 2, plain, half, ce, mi, &w))
			DIE("encrypt f1");
		if (sendto(sock, msg3, w.off, 0, (struct sockaddr *)&peer, sizeof(peer)) < 0)
			DIE("send f1");
		w = wcur_init(msg3, sizeof(msg3));
		if (ikev2_sk_encrypt(&m.hdr, 0, 2, 2, plain + half, pl - half, ce, mi, &w))
			DIE("encrypt f2");
		printf("sent IKE_AUTH as 2 SKF fragments\n");
	} else {
		w = wcur_init(msg3, sizeof(msg3));
		if (ikev2_sk_encrypt(&m.hdr, IKEV2_PL_IDI, 0, 0, plain, pl, ce, mi, &w))
			DIE("encrypt");
	}
	n3 = w.off;
	n4 = xchg(msg3, n3, msg4, sizeof(msg4));
	/* <-- IKE_AUTH { IDr, AUTH, ... } */
	{
		static uint8_t frags[16][2048];
		size_t flen[16] = {0}, got = 0, total = 1, all = 0;
		uint8_t first = 0;
		static uint8_t joined[8192];

		fragmented = false;

		for (;;) {
			if ((e = ikev2_msg_parse(msg4, n4, &r)))
				DIE("parse 4: %s", ikev2_err_str(e));
			sk = ikev2_msg_find(&r, IKEV2_PL_SK);
			if (!sk)
				sk = ikev2_msg_find(&r, IKEV2_PL_SKF);
			if (!sk)
				DIE("no SK/SKF");
			if ((e = ikev2_sk_decrypt(msg4, n4, &sk->u.sk, cd, mr, dec, &dl)))
				DIE("decrypt: %s", ikev2_err_str(e));
			if (sk->type == IKEV2_PL_SK) {
				first = sk->u.sk.inner_next;
				memcpy(frags[0], dec, dl);
				flen[0] = dl;
				break;
			}
			fragmented = true;
			printf("SKF %u/%u decrypted (%zu bytes)\n", sk->u.sk.frag_num,
			       sk->u.sk.frag_total, dl);
			total = sk->u.sk.frag_total;
			if (sk->u.sk.frag_num == 1)
				first = sk->u.sk.inner_next;
			memcpy(frags[sk->u.sk.frag_num - 1], dec, dl);
			if (kat) {
				char path[512];
				FILE *f;
				snprintf(path, sizeof(path), "%s_4_%u", kat, sk->u.sk.frag_num);
				f = fopen(path, "wb");
				fwrite(msg4, 1, n4, f);
				fclose(f);
			}
			flen[sk->u.sk.frag_num - 1] = dl;
			if (++got == total)
				break;
			{
				ssize_t rr = recv(sock, msg4, sizeof(msg4), 0);
				if (rr <= 0)
					DIE("recv frag");
				n4 = (size_t)rr;
			}
		}
		for (size_t i = 0; i < total; i++) {
			memcpy(joined + all, frags[i], flen[i]);
			all += flen[i];
		}
		memcpy(dec, joined, all);
		dl = all;
		r.n_pl = 0;
		if ((e = ikev2_msg_parse_inner(&r, dec, dl, first)))
			DIE("parse inner: %s", ikev2_err_str(e));
	}
	for (size_t i = 0; i < r.n_pl; i++) {
		p = &r.pl[i];
		printf("  payload %u%s", p->type, p->inner ? " (inner)" : "");
		if (p->type == IKEV2_PL_NOTIFY)
			printf(" notify %u", p->u.n.type);
		printf("\n");
	}
	idr = ikev2_msg_find(&r, IKEV2_PL_IDR);
	auth = ikev2_msg_find(&r, IKEV2_PL_AUTH);
	if (!idr || !auth)
		DIE("no IDr/AUTH");
	/* responder signs message 2 with Ni and SK_pr */
	if (ikev2_auth_psk(prfid, (const uint8_t *)psk, strlen(psk), msg2, n2, ni, sizeof(ni),
	                   keys.sk_pr, idr->body.p, idr->body.len, authv, &authlen))
		DIE("auth r");
	if (authlen != auth->u.auth.data.len || CRYPTO_memcmp(authv, auth->u.auth.data.p, authlen))
		DIE("responder AUTH does NOT verify");
	printf("IKE_AUTH ok: responder AUTH verified (%zu bytes)\n", authlen);
	if (kat) {
		const uint8_t *msgs[4] = {msg1, msg2, msg3, msg4};
		size_t lens[4] = {n1, n2, n3, n4};
		for (int i = 0; i < (fragmented ? 3 : 4); i++) {
			char path[512];
			FILE *f;
			snprintf(path, sizeof(path), "%s_%d", kat, i + 1);
			f = fopen(path, "wb");
			fwrite(msgs[i], 1, lens[i], f);
			fclose(f);
		}
	}
	return 0;
}
