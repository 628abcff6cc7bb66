/* The seed corpora of the data-plane fuzz harnesses are real packets made
 * by xform_output with the fixed SAs of tests/fuzz/fuzz_dataplane_common.h.
 * This test checks that every committed corpus file still decapsulates
 * (so the fuzzers start past the ICV), and with ESPRIT_WRITE_CORPUS=1 it
 * (re)writes them:
 *   ESPRIT_WRITE_CORPUS=1 ./test_dataplane_corpus   (from the source dir)
 * File formats: esp/ first byte 0 = native packet follows, 1 = UDP payload
 * (ESP header first), 2 = native, through the batch ICV path; ah/ native packets; ipcomp/ first byte 0 = IPComp
 * header + deflate data, 1 = native packet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>

#include "../fuzz/fuzz_dataplane_common.h"
#include "dataplane/xform_int.h"
#include "lib/cursor.h"

static const char *corpus_dir(void)
{
	const char *src = getenv("ESPRIT_SRC");
	static char buf[512];

	snprintf(buf, sizeof(buf), "%s/tests/fuzz/corpus", src ? src : ".");
	return buf;
}

static size_t inner_make(uint8_t *d, int af, size_t plen)
{
	size_t hl = af == 4 ? 20 : 40, len = hl + 8 + plen;

	memset(d, 0, hl + 8);
	if (af == 4) {
		d[0] = 0x45;
		put_be16(d + 2, (uint16_t)len);
		d[8] = 64;
		d[9] = 17;
		inet_pton(AF_INET, "10.1.0.1", d + 12);
		inet_pton(AF_INET, "10.2.0.1", d + 16);
		put_be16(d + 10, ip_csum(d, 20, 0));
	} else {
		d[0] = 0x60;
		put_be16(d + 4, (uint16_t)(len - 40));
		d[6] = 17;
		d[7] = 64;
		inet_pton(AF_INET6, "2001:db8:1::1", d + 8);
		inet_pton(AF_INET6, "2001:db8:2::1", d + 24);
	}
	put_be16(d + hl, 1000);
	put_be16(d + hl + 2, 53);
	put_be16(d + hl + 4, (uint16_t)(8 + plen));
	for (size_t i = 0; i < plen; i++)
		d[hl + 8 + i] = (uint8_t)("corpus data "[i % 12]);
	return len;
}

static void file_write(const char *sub, const char *name, uint8_t prefix, bool use_prefix,
		       const uint8_t *d, size_t len)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", corpus_dir(), sub, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	if (use_prefix)
		fputc(prefix, f);
	assert_int_equal(fwrite(d, 1, len, f), len);
	fclose(f);
}

static void gen_one(struct sad *out, struct xform_scratch *s, uint32_t reqid, uint8_t mode,
		    int af, size_t plen, const char *sub, const char *name, int fmt)
{
	static uint8_t buf[PKT_BUF_SIZE];
	struct pkt p = {.buf = buf, .cap = PKT_BUF_SIZE, .off = PKT_HEADROOM};
	struct policy pol = {.reqid = reqid, .action = POLICY_PROTECT, .mode = mode};
	struct xform_out o;
	enum dp_drop r;

	p.len = inner_make(pkt_data(&p), af, plen);
	rcu_read_lock();
	r = xform_output(out, &pol, NULL, 0, s, &p, &o);
	xform_release(s); /* as a worker does once the packet is sent */
	rcu_read_unlock();
	assert_int_equal(r, DROP_NONE);
	if (fmt == 0) /* plain native packet */
		file_write(sub, name, 0, false, pkt_data(&p), p.len);
	else if (o.udp)
		file_write(sub, name, 1, true, pkt_data(&p) + o.udp_payload_off,
			   p.len - o.udp_payload_off);
	else
		file_write(sub, name, fmt == 1 ? 0 : fmt == 3 ? 2 : 1, true, pkt_data(&p), p.len);
}

static void corpus_generate(void)
{
	struct sad *out = sad_new(1);
	struct xform_scratch *s = xform_scratch_new();
	static uint8_t buf[PKT_BUF_SIZE];
	struct pkt p = {.buf = buf, .cap = PKT_BUF_SIZE, .off = PKT_HEADROOM};
	uint8_t nh = IPPROTO_NUM_IPIP;

	fuzz_sad_fill(out, SA_DIR_OUT);
	/* esp: fmt 1 = prefix 0 native / 1 udp */
	gen_one(out, s, 1, IPSEC_MODE_TUNNEL, 4, 40, "ah", "ah_esp_cbc_v4", 0);
	gen_one(out, s, 1, IPSEC_MODE_TUNNEL, 6, 100, "ah", "ah_esp_cbc_v6", 0);
	gen_one(out, s, 5, IPSEC_MODE_TUNNEL, 4, 30, "ah", "ah_only_v4", 0);
	gen_one(out, s, 5, IPSEC_MODE_TUNNEL, 6, 30, "ah", "ah_only_v6", 0);
	gen_one(out, s, 2, IPSEC_MODE_TUNNEL, 4, 60, "esp", "esp_gcm_esn_udp_v4", 1);
	gen_one(out, s, 2, IPSEC_MODE_TUNNEL, 6, 10, "esp", "esp_gcm_esn_udp_v6", 1);
	gen_one(out, s, 3, IPSEC_MODE_TRANSPORT, 4, 25, "esp", "esp_null_transport_v4", 1);
	gen_one(out, s, 3, IPSEC_MODE_TRANSPORT, 6, 25, "esp", "esp_null_transport_v6", 1);
	gen_one(out, s, 4, IPSEC_MODE_TUNNEL, 4, 20, "esp", "esp_chacha_v4", 1);
	gen_one(out, s, 6, IPSEC_MODE_TUNNEL, 4, 80, "esp", "esp_cbc_esn_batch_v4", 3);
	gen_one(out, s, 4, IPSEC_MODE_TUNNEL, 4, 500, "ipcomp", "esp_chacha_comp_v4", 2);
	gen_one(out, s, 4, IPSEC_MODE_TUNNEL, 6, 900, "ipcomp", "esp_chacha_comp_v6", 2);
	/* a bare IPComp payload */
	p.len = inner_make(pkt_data(&p), 4, 400);
	rcu_read_lock();
	assert_true(ipcomp_compress(sad_lookup_out(out, 4, IPSEC_PROTO_COMP), s, &p, &nh));
	rcu_read_unlock();
	file_write("ipcomp", "raw_deflate_v4", 0, true, pkt_data(&p), p.len);
	xform_scratch_free(s);
	sad_free(out);
}

static unsigned corpus_check(const char *sub)
{
	char path[1024];
	unsigned n = 0;
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "%s/%s", corpus_dir(), sub);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d))) {
		uint8_t data[4096], nh;
		struct xform_in xi = {0};
		size_t len;
		FILE *f;
		enum dp_drop r;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s", corpus_dir(), sub, e->d_name);
		f = fopen(path, "rb");
		assert_non_null(f);
		len = fread(data, 1, sizeof(data), f);
		fclose(f);
		assert_true(len > 1);
		if (!strcmp(sub, "ah")) {
			r = fuzz_xform_input(data, len, &xi);
		} else if (!strcmp(sub, "esp") || data[0] == 1) {
			xi.udp = data[0] == 1 && !strcmp(sub, "esp"); /* 2: native */
			ip_addr_parse("192.0.2.2", &xi.src);
			ip_addr_parse("192.0.2.1", &xi.dst);
			r = fuzz_xform_input(data + 1, len - 1, &xi);
		} else {
			struct pkt p = {.buf = fuzz_buf, .cap = PKT_BUF_SIZE, .off = PKT_HEADROOM,
					.len = len - 1};
			memcpy(pkt_data(&p), data + 1, len - 1);
			r = ipcomp_decompress(fuzz_scratch, &p, PKT_MAX_DATA, &nh);
		}
		if (r != DROP_NONE)
			fail_msg("%s: %s", path, dp_drop_name(r));
		n++;
	}
	closedir(d);
	return n;
}

static void test_corpus(void **state)
{
	(void)state;
	fuzz_init();
	if (getenv("ESPRIT_WRITE_CORPUS"))
		corpus_generate();
	assert_true(corpus_check("esp") >= 3);
	assert_true(corpus_check("ah") >= 3);
	assert_true(corpus_check("ipcomp") >= 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
