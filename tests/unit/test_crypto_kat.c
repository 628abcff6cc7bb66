/* Known-answer tests for every ESP/AH/IKE algorithm in src/crypto:
 * RFC vectors typed into tables here, and Wycheproof JSON files read from
 * $ESPRIT_VECTORS (../shared/vectors by default). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cipher.h"
#include "crypto/mb.h"
#include <malloc.h>
#ifdef __SANITIZE_ADDRESS__
size_t __sanitizer_get_current_allocated_bytes(void); /* the ASan runtime's */
#endif
#include "crypto/mac_raw.h"

/* ---- helpers ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Hex to bytes, skipping blanks (vectors are typed as in the RFCs).
 * Returns a malloc'd buffer (at least 1 byte) and its length. */
static uint8_t *unhex(const char *s, size_t *len)
{
	uint8_t *out = malloc(strlen(s) / 2 + 1);
	size_t n = 0;
	int hi = -1;

	assert_non_null(out);
	for (; *s; s++) {
		int v;

		if (isspace((unsigned char)*s))
			continue;
		v = hexval((unsigned char)*s);
		assert_true(v >= 0);
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	assert_true(hi < 0);
	*len = n;
	return out;
}

static const char *vectors_dir(void)
{
	const char *d = getenv("ESPRIT_VECTORS");

	return d && *d ? d : "../shared/vectors";
}

static struct json_object *load_json(const char *name)
{
	char path[512];
	struct json_object *j;

	snprintf(path, sizeof(path), "%s/wycheproof/testvectors_v1/%s", vectors_dir(), name);
	j = json_object_from_file(path);
	if (!j)
		fail_msg("cannot read %s", path);
	return j;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	return json_object_get_string(v);
}

static int jint(struct json_object *o, const char *key)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	return json_object_get_int(v);
}

/* ---- non-AEAD ciphers ---- */

struct cipher_kat {
	const char *what;
	uint16_t id;
	uint16_t bits;
	const char *key; /* key || salt */
	const char *iv;
	const char *pt;
	const char *ct;
};

static const struct cipher_kat cipher_kats[] = {
	/* RFC 3602 4, cases 1-5 */
	{"rfc3602 #1", ENCR_AES_CBC, 128, "06a9214036b8a15b512e03d534120006",
	 "3dafba429d9eb430b422da802c9fac41", "53696e676c6520626c6f636b206d7367",
	 "e353779c1079aeb82708942dbe77181a"},
	{"rfc3602 #2", ENCR_AES_CBC, 128, "c286696d887c9aa0611bbb3e2025a45a",
	 "562e17996d093d28ddb3ba695a2e6f58",
	 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	 "d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1"},
	{"rfc3602 #3", ENCR_AES_CBC, 128, "6c3ea0477630ce21a2ce334aa746c2cd",
	 "c782dc4c098c66cbd9cd27d825682c81",
	 "5468697320697320612034382d62797465206d657373616765202865786163746c792033"
	 "2041455320626c6f636b7329",
	 "d0a02b3836451753d493665d33f0e8862dea54cdb293abc7506939276772f8d5021c19216b"
	 "ad525c8579695d83ba2684"},
	{"rfc3602 #4", ENCR_AES_CBC, 128, "56e47a38c5598974bc46903dba290349",
	 "8ce82eefbea0da3c44699ed7db51b7d9",
	 "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	 "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf",
	 "c30e32ffedc0774e6aff6af0869f71aa0f3af07a9a31a9c684db207eb0ef8e4e"
	 "35907aa632c3ffdf868bb7b29d3d46ad83ce9f9a102ee99d49a53e87f4c3da55"},
	{"rfc3602 #5", ENCR_AES_CBC, 128, "90d382b4 10eeba7a d938c46c ec1a82bf",
	 "e96e8c08 ab465763 fd098d45 dd3ff893",
	 "08000ebd a70a0000 8e9c083d b95b0700 08090a0b 0c0d0e0f 10111213 14151617"
	 "18191a1b 1c1d1e1f 20212223 24252627 28292a2b 2c2d2e2f 30313233 34353637"
	 "01020304 05060708 090a0b0c 0d0e0e01",
	 "f663c25d 325c18c6 a9453e19 4e120849 a4870b66 cc6b9965 330013b4 898dc856"
	 "a4699e52 3a55db08 0b59ec3a 8e4b7e52 775b07d1 db34ed9c 538ab50c 551b874a"
	 "a269add0 47ad2d59 13ac19b7 cfbad4a6"},
	/* NIST SP 800-38A F.2.3 and F.2.5, first block */
	{"sp800-38a cbc-192", ENCR_AES_CBC, 192,
	 "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b", "000102030405060708090a0b0c0d0e0f",
	 "6bc1bee22e409f96e93d7e117393172a", "4f021db243bc633d7178183a9fa071e8"},
	{"sp800-38a cbc-256", ENCR_AES_CBC, 256,
	 "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
	 "000102030405060708090a0b0c0d0e0f", "6bc1bee22e409f96e93d7e117393172a",
	 "f58c4c04d6e5f1ba779eabfb5f7bfbd6"},
	/* RFC 3686 6, vectors 1-9: key || nonce */
	{"rfc3686 #1", ENCR_AES_CTR, 128, "AE6852F8121067CC4BF7A5765577F39E 00000030",
	 "0000000000000000", "53696E676C6520626C6F636B206D7367",
	 "E4095D4FB7A7B3792D6175A3261311B8"},
	{"rfc3686 #2", ENCR_AES_CTR, 128, "7E24067817FAE0D743D6CE1F32539163 006CB6DB",
	 "C0543B59DA48D90B", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
	 "5104A106168A72D9790D41EE8EDAD388EB2E1EFC46DA57C8FCE630DF9141BE28"},
	{"rfc3686 #3", ENCR_AES_CTR, 128, "7691BE035E5020A8AC6E618529F9A0DC 00E0017B",
	 "27777F3F4A1786F0",
	 "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F20212223",
	 "C1CF48A89F2FFDD9CF4652E9EFDB72D74540A42BDE6D7836D59A5CEAAEF3105325B2072F"},
	{"rfc3686 #4", ENCR_AES_CTR, 192, "16AF5B145FC9F579C175F93E3BFB0EED863D06CCFDB78515 00000048",
	 "36733C147D6D93CB", "53696E676C6520626C6F636B206D7367",
	 "4B55384FE259C9C84E7935A003CBE928"},
	{"rfc3686 #5", ENCR_AES_CTR, 192, "7C5CB2401B3DC33C19E7340819E0F69C678C3DB8E6F6A91A 0096B03B",
	 "020C6EADC2CB500D", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
	 "453243FC609B23327EDFAAFA7131CD9F8490701C5AD4A79CFC1FE0FF42F4FB00"},
	{"rfc3686 #6", ENCR_AES_CTR, 192, "02BF391EE8ECB159B959617B0965279BF59B60A786D3E0FE 0007BDFD",
	 "5CBD60278DCC0912",
	 "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F20212223",
	 "96893FC55E5C722F540B7DD1DDF7E758D288BC95C69165884536C811662F2188ABEE0935"},
	{"rfc3686 #7", ENCR_AES_CTR, 256,
	 "776BEFF2851DB06F4C8A0542C8696F6C6A81AF1EEC96B4D37FC1D689E6C1C104 00000060",
	 "DB5672C97AA8F0B2", "53696E676C6520626C6F636B206D7367",
	 "145AD01DBF824EC7560863DC71E3E0C0"},
	{"rfc3686 #8", ENCR_AES_CTR, 256,
	 "F6D66D6BD52D59BB0796365879EFF886C66DD51A5B6A99744B50590C87A23884 00FAAC24",
	 "C1585EF15A43D875", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
	 "F05E231B3894612C49EE000B804EB2A9B8306B508F839D6A5530831D9344AF1C"},
	{"rfc3686 #9", ENCR_AES_CTR, 256,
	 "FF7A617CE69148E4F1726E2F43581DE2AA62D9F805532EDFF1EED687FB54153D 001CC5B7",
	 "51A51D70A1C11148",
	 "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F20212223",
	 "EB6C52821D0BBBF7CE7594462ACA4FAAB407DF866569FD07F48CC0B583D6071F1EC0E6B8"},
	/* FIPS 81 appendix C (CBC): "Now is the time for all " */
	{"fips81 des-cbc", ENCR_DES, 64, "0123456789abcdef", "1234567890abcdef",
	 "4e6f77206973207468652074696d6520666f7220616c6c20",
	 "e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6"},
	/* NIST SP 800-67 rev1 B.1 (ECB: "The qufck brown fox jump"), one block
	 * at a time: CBC of one block under a zero IV is ECB. */
	{"sp800-67 3des #1", ENCR_3DES, 192, "0123456789ABCDEF23456789ABCDEF01456789ABCDEF0123",
	 "0000000000000000", "5468652071756663", "a826fd8ce53b855f"},
	{"sp800-67 3des #2", ENCR_3DES, 192, "0123456789ABCDEF23456789ABCDEF01456789ABCDEF0123",
	 "0000000000000000", "6b2062726f776e20", "cce21c8112256fe6"},
	{"sp800-67 3des #3", ENCR_3DES, 192, "0123456789ABCDEF23456789ABCDEF01456789ABCDEF0123",
	 "0000000000000000", "666f78206a756d70", "68d5c05dd9b6b900"},
	/* RFC 2410: NULL is the identity */
	{"rfc2410 null", ENCR_NULL, 0, "", "", "00112233445566", "00112233445566"},
};

static void run_cipher_kat(const struct cipher_kat *k, bool encrypt)
{
	size_t klen, ivlen, ptlen, ctlen;
	uint8_t *key = unhex(k->key, &klen), *iv = unhex(k->iv, &ivlen);
	uint8_t *pt = unhex(k->pt, &ptlen), *ct = unhex(k->ct, &ctlen);
	const uint8_t *in = encrypt ? pt : ct, *want = encrypt ? ct : pt;
	uint8_t buf[256];
	struct cipher *c = cipher_new(k->id, k->bits, key, klen, encrypt);

	assert_non_null(c);
	assert_int_equal(ptlen, ctlen);
	assert_true(ptlen <= sizeof(buf));
	assert_int_equal(ivlen, cipher_alg(c)->iv_len);
	/* twice: the second packet must not inherit state from the first */
	for (int round = 0; round < 2; round++) {
		memcpy(buf, in, ptlen);
		assert_int_equal(cipher_crypt(c, iv, buf, ptlen), 0);
		if (memcmp(buf, want, ptlen) != 0)
			fail_msg("%s: %s mismatch (round %d)", k->what, encrypt ? "encrypt" : "decrypt",
				 round);
	}
	cipher_free(c);
	free(key);
	free(iv);
	free(pt);
	free(ct);
}

static void test_cipher_kats(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cipher_kats) / sizeof(cipher_kats[0]); i++) {
		run_cipher_kat(&cipher_kats[i], true);
		run_cipher_kat(&cipher_kats[i], false);
	}
}

/* Single DES is run as 3DES with K1 = K2 = K3: check the equivalence on
 * a multi-block message with the 3DES algorithm itself. */
static void test_des_is_3des_kkk(void **state)
{
	(void)state;
	size_t n;
	uint8_t *k = unhex("0123456789abcdef0123456789abcdef0123456789abcdef", &n);
	uint8_t *iv = unhex("1234567890abcdef", &n);
	uint8_t *want = unhex("e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6", &n);
	uint8_t buf[24];
	struct cipher *c = cipher_new(ENCR_3DES, 192, k, 24, true);

	assert_non_null(c);
	memcpy(buf, "Now is the time for all ", 24);
	assert_int_equal(cipher_crypt(c, iv, buf, 24), 0);
	assert_memory_equal(buf, want, 24);
	cipher_free(c);
	free(k);
	free(iv);
	free(want);
}

static void test_cipher_bad_input(void **state)
{
	(void)state;
	uint8_t key[36] = {0}, iv[16] = {0}, buf[32] = {0}, icv[16] = {0};
	struct aad aad = {.n = 4};
	struct cipher *c;

	assert_null(cipher_new(999, 128, key, 16, true));
	assert_null(cipher_new(ENCR_AES_CBC, 100, key, 16, true));
	assert_null(cipher_new(ENCR_AES_CBC, 128, key, 20, true)); /* wrong length */
	assert_null(cipher_new(ENCR_AES_GCM_16, 128, key, 16, true)); /* salt missing */
	assert_null(cipher_new(ENCR_CHACHA20_POLY1305, 128, key, 20, true));
	c = cipher_new(ENCR_AES_CBC, 0, key, 16, true); /* 0 = default 128 */
	assert_non_null(c);
	assert_int_equal(cipher_crypt(c, iv, buf, 15), -1); /* not a block multiple */
	assert_int_equal(cipher_aead(c, iv, NULL, buf, 16, icv), -1); /* not AEAD */
	cipher_free(c);
	c = cipher_new(ENCR_AES_GCM_16, 256, key, 36, true);
	assert_non_null(c);
	assert_int_equal(cipher_crypt(c, iv, buf, 16), -1); /* AEAD */
	assert_int_equal(cipher_aead(c, iv, &aad, buf, 16, icv), -1); /* 4 pieces */
	cipher_free(c);
	cipher_free(NULL);
}

/* ---- AEAD: Wycheproof ---- */

struct aead_count {
	int valid, invalid;
};

static uint16_t gcm_id(int tag_bits)
{
	switch (tag_bits) {
	case 64:
		return ENCR_AES_GCM_8;
	case 96:
		return ENCR_AES_GCM_12;
	case 128:
		return ENCR_AES_GCM_16;
	default:
		return 0;
	}
}

/* One Wycheproof AeadTest with a 12-byte nonce. Our API takes the first 4
 * bytes of the nonce as the salt (end of the keying material) and the
 * other 8 as the per-packet IV (RFC 4106 4, RFC 7634 2). */
static void run_aead_test(uint16_t id, int key_bits, struct json_object *t, struct aead_count *cnt)
{
	size_t klen, ivlen, aadlen, mlen, ctlen, taglen;
	uint8_t *key = unhex(jstr(t, "key"), &klen), *iv = unhex(jstr(t, "iv"), &ivlen);
	uint8_t *aadb = unhex(jstr(t, "aad"), &aadlen), *msg = unhex(jstr(t, "msg"), &mlen);
	uint8_t *ct = unhex(jstr(t, "ct"), &ctlen), *tag = unhex(jstr(t, "tag"), &taglen);
	const char *result = jstr(t, "result");
	int tc = jint(t, "tcId");
	uint8_t *km = malloc(klen + 4), *buf = malloc(mlen + ctlen + 1), icv[16];
	struct aad aad = {.p = {aadb}, .len = {aadlen}, .n = 1};
	struct cipher *enc, *dec;

	assert_int_equal(ivlen, 12);
	memcpy(km, key, klen);
	memcpy(km + klen, iv, 4);
	enc = cipher_new(id, (uint16_t)key_bits, km, klen + 4, true);
	dec = cipher_new(id, (uint16_t)key_bits, km, klen + 4, false);
	assert_non_null(enc);
	assert_non_null(dec);
	if (strcmp(result, "valid") == 0) {
		assert_int_equal(mlen, ctlen);
		memcpy(buf, msg, mlen);
		assert_int_equal(cipher_aead(enc, iv + 4, &aad, buf, mlen, icv), 0);
		if (memcmp(buf, ct, ctlen) || memcmp(icv, tag, taglen))
			fail_msg("tcId %d: encryption differs", tc);
		if (cipher_aead(dec, iv + 4, &aad, buf, ctlen, tag) != 0 || memcmp(buf, msg, mlen))
			fail_msg("tcId %d: valid vector does not decrypt", tc);
		cnt->valid++;
	} else if (strcmp(result, "invalid") == 0) {
		memcpy(buf, ct, ctlen);
		if (taglen != cipher_alg(dec)->icv_len ||
		    cipher_aead(dec, iv + 4, &aad, buf, ctlen, tag) == 0)
			fail_msg("tcId %d: invalid vector accepted", tc);
		cnt->invalid++;
	}
	cipher_free(enc);
	cipher_free(dec);
	free(km);
	free(buf);
	free(key);
	free(iv);
	free(aadb);
	free(msg);
	free(ct);
	free(tag);
}

static void run_aead_file(const char *file, bool chacha, struct aead_count *cnt)
{
	struct json_object *j = load_json(file), *groups;

	assert_true(json_object_object_get_ex(j, "testGroups", &groups));
	for (size_t g = 0; g < json_object_array_length(groups); g++) {
		struct json_object *grp = json_object_array_get_idx(groups, g), *tests;
		int iv_bits = jint(grp, "ivSize"), key_bits = jint(grp, "keySize");
		int tag_bits = jint(grp, "tagSize");
		uint16_t id = chacha ? ENCR_CHACHA20_POLY1305 : gcm_id(tag_bits);

		if (iv_bits != 96 || id == 0)
			continue;
		if (chacha ? (key_bits != 256 || tag_bits != 128)
			   : (key_bits != 128 && key_bits != 192 && key_bits != 256))
			continue;
		assert_true(json_object_object_get_ex(grp, "tests", &tests));
		for (size_t i = 0; i < json_object_array_length(tests); i++)
			run_aead_test(id, key_bits, json_object_array_get_idx(tests, i), cnt);
	}
	json_object_put(j);
}

static void test_gcm_wycheproof(void **state)
{
	(void)state;
	struct aead_count cnt = {0, 0};

	run_aead_file("aes_gcm_test.json", false, &cnt);
	print_message("aes-gcm: %d valid, %d invalid vectors\n", cnt.valid, cnt.invalid);
	assert_true(cnt.valid >= 50);
	assert_true(cnt.invalid >= 10);
}

static void test_chacha_wycheproof(void **state)
{
	(void)state;
	struct aead_count cnt = {0, 0};

	run_aead_file("chacha20_poly1305_test.json", true, &cnt);
	print_message("chacha20-poly1305: %d valid, %d invalid vectors\n", cnt.valid, cnt.invalid);
	assert_true(cnt.valid >= 50);
	assert_true(cnt.invalid >= 10);
}

/* draft-mcgrew-gcm-test-01 4: AES-GCM-ESP with an extended sequence
 * number; AAD = SPI || seq-hi || seq-lo in three pieces (RFC 4106 5). */
static void test_gcm_esp_esn(void **state)
{
	(void)state;
	size_t n, ptlen, ctlen;
	uint8_t *km = unhex("abbccddef00112233445566778899aab decaf888", &n);
	uint8_t *iv = unhex("cafedebaceface74", &n);
	uint8_t *pt = unhex("4500004933ba00007f119106c3fb1d10c2b1d326c02831ce0035dd7b800302d5"
			    "00004e20001e8c18d75b81dc91baa0476b91b924b280389d92c963bac046ec95"
			    "9b6266c04722b14923010101",
			    &ptlen);
	uint8_t *ct = unhex("18a6fd42f72cbf4ab2a2ea901f73d814e3e7f243d95412e1c349c1d2fbec168f"
			    "9190feebaf2cb01984e65863965d7472b79da345e0e780191f0d2f0e0f496c22"
			    "6f2127b27db35724e7845d68651f57e65f354f75ff17015769623436",
			    &ctlen);
	const uint8_t spi[] = {0, 0, 1, 0}, hi[] = {0, 0, 0, 0}, lo[] = {0, 0, 0, 1};
	struct aad aad = {.p = {spi, hi, lo}, .len = {4, 4, 4}, .n = 3};
	struct cipher *e = cipher_new(ENCR_AES_GCM_16, 128, km, 20, true);
	struct cipher *d = cipher_new(ENCR_AES_GCM_16, 128, km, 20, false);
	uint8_t buf[128], icv[16];

	assert_non_null(e);
	assert_non_null(d);
	assert_int_equal(ptlen + 16, ctlen);
	memcpy(buf, pt, ptlen);
	assert_int_equal(cipher_aead(e, iv, &aad, buf, ptlen, icv), 0);
	assert_memory_equal(buf, ct, ptlen);
	assert_memory_equal(icv, ct + ptlen, 16);
	assert_int_equal(cipher_aead(d, iv, &aad, buf, ptlen, icv), 0);
	assert_memory_equal(buf, pt, ptlen);
	/* a different seq-hi must not verify */
	aad.p[1] = lo;
	memcpy(buf, ct, ptlen);
	assert_int_equal(cipher_aead(d, iv, &aad, buf, ptlen, ct + ptlen), -1);
	cipher_free(e);
	cipher_free(d);
	free(km);
	free(iv);
	free(pt);
	free(ct);
}

/* draft-mcgrew-gcm-test-01 4: AES-GMAC-ESP (RFC 4543): SPI || seq || IV
 * || payload all authenticated, nothing encrypted. */
static void test_gmac_esp(void **state)
{
	(void)state;
	size_t n, plen;
	uint8_t *km = unhex("4c80cdefbb5d10da906ac73c3613a634 22433c64", &n);
	uint8_t *hdr = unhex("00004321 00000007", &n);
	uint8_t *iv = unhex("0000000000000000", &n);
	uint8_t *payload = unhex("45000030da3a00008001df3bc0a80005c0a800010800c6cd0200070061626364"
				 "65666768696a6b6c6d6e6f707172737401020201",
				 &plen);
	uint8_t *want = unhex("f2a9a836e155106aa8dcd618e4099aaa", &n);
	struct aad aad = {.p = {hdr, iv}, .len = {8, 8}, .n = 2};
	struct cipher *e = cipher_new(ENCR_NULL_AUTH_AES_GMAC, 128, km, 20, true);
	struct cipher *d = cipher_new(ENCR_NULL_AUTH_AES_GMAC, 128, km, 20, false);
	uint8_t buf[64], icv[16];

	assert_non_null(e);
	assert_non_null(d);
	assert_int_equal(plen, 52);
	memcpy(buf, payload, plen);
	assert_int_equal(cipher_aead(e, iv, &aad, buf, plen, icv), 0);
	assert_memory_equal(icv, want, 16);
	assert_memory_equal(buf, payload, plen); /* not encrypted */
	assert_int_equal(cipher_aead(d, iv, &aad, buf, plen, icv), 0);
	buf[3] ^= 1;
	assert_int_equal(cipher_aead(d, iv, &aad, buf, plen, icv), -1);
	cipher_free(e);
	cipher_free(d);
	free(km);
	free(hdr);
	free(iv);
	free(payload);
	free(want);
}

/* One context carries many packets: after a forged packet is rejected,
 * the next good one still decrypts. */
static void test_aead_context_reuse(void **state)
{
	(void)state;
	static const uint16_t ids[] = {ENCR_AES_GCM_8, ENCR_AES_GCM_12, ENCR_AES_GCM_16,
				       ENCR_CHACHA20_POLY1305};
	uint8_t km[36], iv[8], pkt[3][100], orig[3][100], icv[3][16], aadb[8];
	struct aad aad = {.p = {aadb}, .len = {8}, .n = 1};

	for (size_t a = 0; a < sizeof(ids) / sizeof(ids[0]); a++) {
		uint16_t bits = ids[a] == ENCR_CHACHA20_POLY1305 ? 256 : 256;
		struct cipher *e, *d;

		assert_int_equal(crypto_random(km, sizeof(km)), 0);
		assert_int_equal(crypto_random(aadb, sizeof(aadb)), 0);
		e = cipher_new(ids[a], bits, km, 36, true);
		d = cipher_new(ids[a], bits, km, 36, false);
		assert_non_null(e);
		assert_non_null(d);
		for (int i = 0; i < 3; i++) {
			assert_int_equal(crypto_random(orig[i], sizeof(orig[i])), 0);
			memcpy(pkt[i], orig[i], sizeof(pkt[i]));
			iv[7] = (uint8_t)i;
			assert_int_equal(cipher_aead(e, iv, &aad, pkt[i], 97, icv[i]), 0);
		}
		iv[7] = 1;
		pkt[1][5] ^= 0x40; /* forged */
		assert_int_equal(cipher_aead(d, iv, &aad, pkt[1], 97, icv[1]), -1);
		for (int i = 0; i < 3; i += 2) {
			iv[7] = (uint8_t)i;
			assert_int_equal(cipher_aead(d, iv, &aad, pkt[i], 97, icv[i]), 0);
			assert_memory_equal(pkt[i], orig[i], 97);
		}
		cipher_free(e);
		cipher_free(d);
	}
}

/* ---- MACs ---- */

struct mac_count {
	int valid, invalid, ipsec;
};

static uint16_t hmac_integ(const char *digest)
{
	if (strcmp(digest, "SHA1") == 0)
		return AUTH_HMAC_SHA1_96;
	if (strcmp(digest, "SHA256") == 0)
		return AUTH_HMAC_SHA2_256_128;
	if (strcmp(digest, "SHA384") == 0)
		return AUTH_HMAC_SHA2_384_192;
	return AUTH_HMAC_SHA2_512_256;
}

/* Also run the test through the IPsec API when key and tag sizes are the
 * ones an integrity algorithm uses (e.g. HMAC-SHA-256-128: 32, 16). */
static void run_hmac_ipsec(const char *digest, struct json_object *t, bool valid,
			   struct mac_count *cnt)
{
	const struct integ_alg *a = integ_alg_find(hmac_integ(digest));
	size_t klen, mlen, tlen;
	uint8_t *key = unhex(jstr(t, "key"), &klen), *msg = unhex(jstr(t, "msg"), &mlen);
	uint8_t *tag = unhex(jstr(t, "tag"), &tlen);
	struct aad piece = {.p = {msg}, .len = {mlen}, .n = 1};
	struct mac *m;

	if (klen == a->key_len && tlen == a->icv_len) {
		m = mac_new(a->id, key, klen);
		assert_non_null(m);
		if (mac_verify(m, &piece, tag) != valid)
			fail_msg("%s tcId %d: mac_verify disagrees", digest, jint(t, "tcId"));
		mac_free(m);
		cnt->ipsec++;
	}
	free(key);
	free(msg);
	free(tag);
}

static void run_hmac_test(const char *digest, struct json_object *t, struct mac_count *cnt)
{
	size_t klen, mlen, tlen, n;
	uint8_t *key = unhex(jstr(t, "key"), &klen), *msg = unhex(jstr(t, "msg"), &mlen);
	uint8_t *tag = unhex(jstr(t, "tag"), &tlen), out[MAC_MAX_LEN];
	struct aad piece = {.p = {msg}, .len = {mlen}, .n = 1};
	const char *result = jstr(t, "result");
	struct mac *m = mac_new_raw(MAC_KIND_HMAC, digest, key, klen);
	bool valid = strcmp(result, "valid") == 0;

	assert_non_null(m);
	n = mac_compute_full(m, &piece, out);
	assert_true(n >= tlen);
	if ((memcmp(out, tag, tlen) == 0) != valid)
		fail_msg("%s tcId %d: expected %s", digest, jint(t, "tcId"), result);
	valid ? cnt->valid++ : cnt->invalid++;
	mac_free(m);
	run_hmac_ipsec(digest, t, valid, cnt);
	free(key);
	free(msg);
	free(tag);
}

static void run_hmac_file(const char *file, const char *digest)
{
	struct json_object *j = load_json(file), *groups;
	struct mac_count cnt = {0, 0, 0};

	assert_true(json_object_object_get_ex(j, "testGroups", &groups));
	for (size_t g = 0; g < json_object_array_length(groups); g++) {
		struct json_object *grp = json_object_array_get_idx(groups, g), *tests;

		assert_true(json_object_object_get_ex(grp, "tests", &tests));
		for (size_t i = 0; i < json_object_array_length(tests); i++)
			run_hmac_test(digest, json_object_array_get_idx(tests, i), &cnt);
	}
	json_object_put(j);
	print_message("hmac-%s: %d valid, %d invalid, %d through the IPsec API\n", digest,
		      cnt.valid, cnt.invalid, cnt.ipsec);
	assert_true(cnt.valid >= 20);
	assert_true(cnt.invalid >= 10);
}

static void test_hmac_wycheproof(void **state)
{
	(void)state;
	run_hmac_file("hmac_sha1_test.json", "SHA1");
	run_hmac_file("hmac_sha256_test.json", "SHA256");
	run_hmac_file("hmac_sha384_test.json", "SHA384");
	run_hmac_file("hmac_sha512_test.json", "SHA512");
}

struct mac_kat {
	const char *what;
	uint16_t id;
	const char *key;
	const char *msg;
	const char *icv; /* truncated, as on the wire */
};

static const struct mac_kat mac_kats[] = {
	/* RFC 2202 2 (HMAC-MD5), cases 1 and 3: 16-byte keys as in ESP */
	{"rfc2202 md5 #1", AUTH_HMAC_MD5_96, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
	 "9294727a3638bb1c13f48ef8"},
	{"rfc2202 md5 #3", AUTH_HMAC_MD5_96, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	 "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	 "dddddddddddddddddd",
	 "56be34521d144c88dbb8c733"},
	/* RFC 2202 3 (HMAC-SHA-1), case 1 */
	{"rfc2202 sha1 #1", AUTH_HMAC_SHA1_96, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
	 "4869205468657265", "b617318655057264e28bc0b6"},
	/* RFC 4868 2.7.2 */
	{"rfc4868 AUTH256-1", AUTH_HMAC_SHA2_256_128,
	 "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
	 "198a607eb44bfbc69903a0f1cf2bbdc5"},
	{"rfc4868 AUTH256-2", AUTH_HMAC_SHA2_256_128,
	 "4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665",
	 "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
	 "167f928588c5cc2eef8e3093caa0e87c"},
	{"rfc4868 AUTH384-2", AUTH_HMAC_SHA2_384_192,
	 "4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665"
	 "4a6566654a6566654a6566654a656665",
	 "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
	 "2c7353974f1842fd66d53c452ca42122b28c0b594cfb184d"},
	{"rfc4868 AUTH512-1", AUTH_HMAC_SHA2_512_256,
	 "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
	 "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
	 "4869205468657265",
	 "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8"},
	/* RFC 3566 4.6, test cases 1-6 (7 is built in test_mac_kats) */
	{"rfc3566 #1", AUTH_AES_XCBC_96, "000102030405060708090a0b0c0d0e0f", "",
	 "75f0251d528ac01c4573dfd5"},
	{"rfc3566 #2", AUTH_AES_XCBC_96, "000102030405060708090a0b0c0d0e0f", "000102",
	 "5b376580ae2f19afe7219cee"},
	{"rfc3566 #3", AUTH_AES_XCBC_96, "000102030405060708090a0b0c0d0e0f",
	 "000102030405060708090a0b0c0d0e0f", "d2a246fa349b68a79998a439"},
	{"rfc3566 #4", AUTH_AES_XCBC_96, "000102030405060708090a0b0c0d0e0f",
	 "000102030405060708090a0b0c0d0e0f10111213", "47f51b4564966215b8985c63"},
	{"rfc3566 #5", AUTH_AES_XCBC_96, "000102030405060708090a0b0c0d0e0f",
	 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	 "f54f0ec8d2b9f3d36807734b"},
	{"rfc3566 #6", AUTH_AES_XCBC_96, "000102030405060708090a0b0c0d0e0f",
	 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021",
	 "becbb3bccdb518a30677d548"},
	/* RFC 4493 4, examples 1-4, truncated to 96 bits (RFC 4494 2.1) */
	{"rfc4493 #1", AUTH_AES_CMAC_96, "2b7e151628aed2a6abf7158809cf4f3c", "",
	 "bb1d6929e95937287fa37d12"},
	{"rfc4493 #2", AUTH_AES_CMAC_96, "2b7e151628aed2a6abf7158809cf4f3c",
	 "6bc1bee22e409f96e93d7e117393172a", "070a16b46b4d4144f79bdd9d"},
	{"rfc4493 #3", AUTH_AES_CMAC_96, "2b7e151628aed2a6abf7158809cf4f3c",
	 "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411",
	 "dfa66747de9ae63030ca3261"},
	{"rfc4493 #4", AUTH_AES_CMAC_96, "2b7e151628aed2a6abf7158809cf4f3c",
	 "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
	 "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
	 "51f0bebf7e3b9d92fc497417"},
};

/* Compute over the message split in three pieces at (a, b): every split
 * must give the same ICV (the pieces API is how ESN AAD gets in). */
static void check_mac_split(struct mac *m, const uint8_t *msg, size_t len, const uint8_t *want,
			    const char *what)
{
	uint8_t icv[32];

	for (size_t a = 0; a <= len; a += 5) {
		for (size_t b = a; b <= len; b += 7) {
			struct aad p = {.p = {msg, msg + a, msg + b},
					.len = {a, b - a, len - b},
					.n = 3};

			assert_int_equal(mac_compute(m, &p, icv), 0);
			if (memcmp(icv, want, mac_alg(m)->icv_len) != 0)
				fail_msg("%s: split at %zu/%zu differs", what, a, b);
		}
	}
}

static void run_mac_kat(const struct mac_kat *k)
{
	size_t klen, mlen, ilen;
	uint8_t *key = unhex(k->key, &klen), *msg = unhex(k->msg, &mlen);
	uint8_t *want = unhex(k->icv, &ilen), icv[32], bad[32];
	struct aad piece = {.p = {msg}, .len = {mlen}, .n = 1};
	struct mac *m = mac_new(k->id, key, klen);

	assert_non_null(m);
	assert_int_equal(ilen, mac_alg(m)->icv_len);
	for (int round = 0; round < 2; round++) { /* the context is reusable */
		assert_int_equal(mac_compute(m, &piece, icv), 0);
		if (memcmp(icv, want, ilen) != 0)
			fail_msg("%s: ICV mismatch (round %d)", k->what, round);
	}
	assert_true(mac_verify(m, &piece, want));
	memcpy(bad, want, ilen);
	bad[ilen - 1] ^= 1;
	assert_false(mac_verify(m, &piece, bad));
	check_mac_split(m, msg, mlen, want, k->what);
	mac_free(m);
	free(key);
	free(msg);
	free(want);
}

static void test_mac_kats(void **state)
{
	(void)state;
	uint8_t key[16], msg[1000] = {0}, icv[12];
	struct aad piece = {.p = {msg}, .len = {sizeof(msg)}, .n = 1};
	size_t n;
	uint8_t *want = unhex("f0dafee895db30253761103b", &n);
	struct mac *m;

	for (size_t i = 0; i < sizeof(mac_kats) / sizeof(mac_kats[0]); i++)
		run_mac_kat(&mac_kats[i]);
	/* RFC 3566 4.6 test case #7: 1000 zero bytes */
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	m = mac_new(AUTH_AES_XCBC_96, key, 16);
	assert_non_null(m);
	assert_int_equal(mac_compute(m, &piece, icv), 0);
	assert_memory_equal(icv, want, 12);
	mac_free(m);
	free(want);
}

/* HMAC-MD5 with the 4-byte key "Jefe" (RFC 2202 case 2) needs the raw
 * interface: ESP keys are always 16 bytes. */
static void test_hmac_md5_short_key(void **state)
{
	(void)state;
	size_t n;
	uint8_t *want = unhex("750c783e6ab0b503eaa86e310a5db738", &n), out[MAC_MAX_LEN];
	const char *msg = "what do ya want for nothing?";
	struct aad piece = {.p = {(const uint8_t *)msg}, .len = {strlen(msg)}, .n = 1};
	struct mac *m = mac_new_raw(MAC_KIND_HMAC, "MD5", (const uint8_t *)"Jefe", 4);

	assert_non_null(m);
	assert_int_equal(mac_compute_full(m, &piece, out), 16);
	assert_memory_equal(out, want, 16);
	mac_free(m);
	free(want);
	assert_null(mac_new(AUTH_HMAC_MD5_96, (const uint8_t *)"Jefe", 4));
	assert_null(mac_new(999, out, 16));
}

/* ---- PRF and prf+ ---- */

struct prf_kat {
	const char *what;
	uint16_t id;
	const char *key;
	const char *data;
	const char *out;
};

static const struct prf_kat prf_kats[] = {
	/* RFC 4434 2.1 */
	{"rfc4434 key16", PRF_AES128_XCBC, "000102030405060708090a0b0c0d0e0f",
	 "000102030405060708090a0b0c0d0e0f10111213", "47f51b4564966215b8985c63055ed308"},
	{"rfc4434 key10", PRF_AES128_XCBC, "00010203040506070809",
	 "000102030405060708090a0b0c0d0e0f10111213", "0fa087af7d866e7653434e602fdde835"},
	{"rfc4434 key18", PRF_AES128_XCBC, "000102030405060708090a0b0c0d0e0fedcb",
	 "000102030405060708090a0b0c0d0e0f10111213", "8cd3c93ae598a9803006ffb67c40e9e4"},
	/* RFC 4615 4 */
	{"rfc4615 key18", PRF_AES128_CMAC, "000102030405060708090a0b0c0d0e0fedcb",
	 "000102030405060708090a0b0c0d0e0f10111213", "84a348a4a45d235babfffc0d2b4da09a"},
	{"rfc4615 key16", PRF_AES128_CMAC, "000102030405060708090a0b0c0d0e0f",
	 "000102030405060708090a0b0c0d0e0f10111213", "980ae87b5f4c9c5214f5b6a8455e4c2d"},
	{"rfc4615 key10", PRF_AES128_CMAC, "00010203040506070809",
	 "000102030405060708090a0b0c0d0e0f10111213", "290d9e112edb09ee141fcf64c0b72f3d"},
	/* RFC 4868 2.7.1 PRF-1 and PRF-2 */
	{"rfc4868 PRF-1 sha256", PRF_HMAC_SHA2_256, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
	 "4869205468657265", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
	{"rfc4868 PRF-2 sha256", PRF_HMAC_SHA2_256, "4a656665",
	 "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
	 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
	/* RFC 2202 2 case 2 (HMAC-MD5) and 3 case 2 (HMAC-SHA-1) */
	{"rfc2202 md5 #2", PRF_HMAC_MD5, "4a656665",
	 "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
	 "750c783e6ab0b503eaa86e310a5db738"},
	{"rfc2202 sha1 #2", PRF_HMAC_SHA1, "4a656665",
	 "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
	 "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
};

static void test_prf_kats(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(prf_kats) / sizeof(prf_kats[0]); i++) {
		const struct prf_kat *k = &prf_kats[i];
		size_t klen, dlen, olen;
		uint8_t *key = unhex(k->key, &klen), *data = unhex(k->data, &dlen);
		uint8_t *want = unhex(k->out, &olen), out[64];

		assert_int_equal(prf_out_len(k->id), olen);
		assert_int_equal(prf(k->id, key, klen, data, dlen, out), 0);
		if (memcmp(out, want, olen) != 0)
			fail_msg("%s: PRF output mismatch", k->what);
		free(key);
		free(data);
		free(want);
	}
	assert_int_equal(prf_out_len(999), 0);
}

/* prf+ (RFC 7296 2.13) against a hand computation with prf():
 * T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n). */
static void check_prf_plus(uint16_t id, size_t want_len)
{
	uint8_t key[20], seed[40], out[300], ref[300], t[64], in[64 + 40 + 1];
	size_t blk = prf_out_len(id), done = 0, tlen = 0;

	assert_int_equal(crypto_random(key, sizeof(key)), 0);
	assert_int_equal(crypto_random(seed, sizeof(seed)), 0);
	assert_int_equal(prf_plus(id, key, sizeof(key), seed, sizeof(seed), out, want_len), 0);
	for (uint8_t n = 1; done < want_len; n++) {
		size_t take = want_len - done < blk ? want_len - done : blk;

		memcpy(in, t, tlen);
		memcpy(in + tlen, seed, sizeof(seed));
		in[tlen + sizeof(seed)] = n;
		assert_int_equal(prf(id, key, sizeof(key), in, tlen + sizeof(seed) + 1, t), 0);
		tlen = blk;
		memcpy(ref + done, t, take);
		done += take;
	}
	assert_memory_equal(out, ref, want_len);
}

static void test_prf_plus(void **state)
{
	(void)state;
	uint8_t key[16] = {0}, big[8];

	check_prf_plus(PRF_HMAC_SHA2_256, 100);
	check_prf_plus(PRF_HMAC_SHA1, 20);
	check_prf_plus(PRF_HMAC_SHA2_512, 300);
	check_prf_plus(PRF_AES128_XCBC, 37);
	check_prf_plus(PRF_AES128_CMAC, 64);
	/* the counter is one octet: at most 255 blocks */
	assert_int_equal(prf_plus(PRF_AES128_XCBC, key, 16, key, 16, big, 255 * 16 + 1), -1);
	assert_int_equal(prf_plus(999, key, 16, key, 16, big, 8), -1);
}

static void test_random(void **state)
{
	(void)state;
	uint8_t a[32] = {0}, b[32] = {0};

	assert_int_equal(crypto_random(a, sizeof(a)), 0);
	assert_int_equal(crypto_random(b, sizeof(b)), 0);
	assert_memory_not_equal(a, b, sizeof(a));
}

/* Bytes allocated by this process now (ASan has its own allocator). */
static size_t heap_in_use(void)
{
#ifdef __SANITIZE_ADDRESS__
	return __sanitizer_get_current_allocated_bytes();
#else
	return mallinfo2().uordblks;
#endif
}

/* cipher_clone (one cipher per worker): a clone encrypts exactly as a
 * cipher made from the key, keeps working after its original is freed
 * (ASan checks the sharing), and with intel-ipsec-mb shares the GCM key
 * schedule instead of copying it (1 KB per SA and worker). */
static void test_cipher_clone(void **state)
{
	(void)state;
	static const uint16_t ids[] = {ENCR_NULL, ENCR_DES, ENCR_3DES, ENCR_AES_CBC, ENCR_AES_CTR,
				       ENCR_AES_GCM_8, ENCR_AES_GCM_16, ENCR_NULL_AUTH_AES_GMAC,
				       ENCR_CHACHA20_POLY1305};
	uint8_t key[64], iv[16] = {7}, a[64], b[64], ta[16], tb[16], spi[8] = {1};
	struct aad aad = {.p = {spi}, .len = {8}, .n = 1};

	for (size_t k = 0; k < sizeof(key); k++)
		key[k] = (uint8_t)(k * 13 + 5);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		const struct encr_alg *al = encr_alg_find(ids[i]);
		size_t klen = encr_keymat_len(al, 0);
		struct cipher *orig = cipher_new(ids[i], 0, key, klen, true);
		struct cipher *ref = cipher_new(ids[i], 0, key, klen, true);
		struct cipher *clone;

		assert_non_null(orig);
		assert_non_null(ref);
		clone = cipher_clone(orig);
		assert_non_null(clone);
		cipher_free(orig);
		for (int p = 0; p < 3; p++) {
			memset(a, p, sizeof(a));
			memset(b, p, sizeof(b));
			if (al->aead) {
				assert_int_equal(cipher_aead(clone, iv, &aad, a, sizeof(a), ta), 0);
				assert_int_equal(cipher_aead(ref, iv, &aad, b, sizeof(b), tb), 0);
				assert_memory_equal(ta, tb, al->icv_len);
			} else {
				assert_int_equal(cipher_crypt(clone, iv, a, sizeof(a)), 0);
				assert_int_equal(cipher_crypt(ref, iv, b, sizeof(b)), 0);
			}
			if (memcmp(a, b, sizeof(a)) != 0)
				fail_msg("%s: the clone encrypts differently", al->name);
		}
		cipher_free(clone);
		cipher_free(ref);
	}
	if (mb_version()) {
		struct cipher *g = cipher_new(ENCR_AES_GCM_16, 256, key, 36, true), *c;
		size_t before = heap_in_use(), grew;

		assert_non_null(g);
		c = cipher_clone(g);
		assert_non_null(c);
		grew = heap_in_use() - before;
		if (grew >= 1008)
			fail_msg("a GCM clone allocated %zu bytes: the key schedule was copied", grew);
		cipher_free(c);
		cipher_free(g);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cipher_kats),
		cmocka_unit_test(test_des_is_3des_kkk),
		cmocka_unit_test(test_cipher_bad_input),
		cmocka_unit_test(test_gcm_wycheproof),
		cmocka_unit_test(test_chacha_wycheproof),
		cmocka_unit_test(test_gcm_esp_esn),
		cmocka_unit_test(test_gmac_esp),
		cmocka_unit_test(test_aead_context_reuse),
		cmocka_unit_test(test_cipher_clone),
		cmocka_unit_test(test_hmac_wycheproof),
		cmocka_unit_test(test_mac_kats),
		cmocka_unit_test(test_hmac_md5_short_key),
		cmocka_unit_test(test_prf_kats),
		cmocka_unit_test(test_prf_plus),
		cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
