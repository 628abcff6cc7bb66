/* SAD: install/lookup/delete, parameter checks (with what the log says),
 * lifetimes and expire events, counters, state machine, and RCU readers
 * racing a writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <urcu.h>

#include "crypto/alg.h"
#include "crypto/cipher.h"
#include "ipsec/sad.h"
#include "lib/log.h"

#define NW 3 /* workers */

static struct secret *key(size_t len, uint8_t fill)
{
	struct secret *s = secret_new(len);
	memset(s->p, fill, len);
	return s;
}

/* ESP AES-GCM-16 128 (16 key + 4 salt bytes) */
static struct sa_params gcm(uint32_t spi, uint8_t dir, struct secret *k)
{
	struct sa_params p;
	memset(&p, 0, sizeof(p));
	p.spi = spi;
	p.proto = IPSEC_PROTO_ESP;
	p.dir = dir;
	p.mode = IPSEC_MODE_TUNNEL;
	ip_addr_parse(dir == SA_DIR_IN ? "198.18.0.1" : "198.18.0.2", &p.dst);
	ip_addr_parse(dir == SA_DIR_IN ? "198.18.0.2" : "198.18.0.1", &p.src);
	p.encr_id = ENCR_AES_GCM_16;
	p.encr_key_bits = 128;
	p.encr_key = k;
	p.replay_window = dir == SA_DIR_IN ? 64 : 0;
	p.reqid = 10;
	snprintf(p.name, sizeof(p.name), "MAP 10");
	return p;
}

/* Capture log lines written to stderr while fn runs. */
static char logbuf[8192];

static void capture_begin(int *saved, FILE **tmp)
{
	fflush(stderr);
	*tmp = tmpfile();
	*saved = dup(2);
	dup2(fileno(*tmp), 2);
}

static const char *capture_end(int saved, FILE *tmp)
{
	size_t n;
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(logbuf, 1, sizeof(logbuf) - 1, tmp);
	logbuf[n] = 0;
	fclose(tmp);
	return logbuf;
}

/* Install must fail, log `why`, and never print the key (0xab bytes). */
static void expect_reject(struct sad *sad, const struct sa_params *p, const char *why)
{
	int saved;
	FILE *tmp;
	unsigned before = sad_count(sad);

	capture_begin(&saved, &tmp);
	int r = sad_install(sad, p);
	const char *log = capture_end(saved, tmp);
	if (r != -1 || !strstr(log, why))
		fail_msg("expected rejection '%s', got %d, log: %s", why, r, log);
	assert_null(strstr(log, "abab"));
	assert_null(strstr(log, "ABAB"));
	assert_int_equal(sad_count(sad), before);
}

static void test_install_lookup(void **state)
{
	(void)state;
	struct sad *sad = sad_new(NW);
	struct secret *k = key(20, 0xab), *ik = key(32, 0xcd), *ck = key(16, 0xef);
	struct sa_params in = gcm(0x1000, SA_DIR_IN, k), out = gcm(0x2000, SA_DIR_OUT, k);
	struct sa_params cbc = gcm(0x3000, SA_DIR_IN, ck), ah = gcm(0x4000, SA_DIR_IN, NULL),
			 comp = gcm(0x2, SA_DIR_IN, NULL);

	cbc.encr_id = ENCR_AES_CBC;
	cbc.integ_id = AUTH_HMAC_SHA2_256_128;
	cbc.integ_key = ik;
	cbc.replay_window = 0;
	ah.proto = IPSEC_PROTO_AH;
	ah.encr_id = ENCR_NONE;
	ah.integ_id = AUTH_HMAC_SHA2_256_128;
	ah.integ_key = ik;
	comp.proto = IPSEC_PROTO_COMP;
	comp.encr_id = ENCR_NONE;
	comp.encr_key = NULL;

	assert_int_equal(sad_install(sad, &in), 0);
	assert_int_equal(sad_install(sad, &out), 0);
	assert_int_equal(sad_install(sad, &cbc), 0);
	assert_int_equal(sad_install(sad, &ah), 0);
	assert_int_equal(sad_install(sad, &comp), 0);
	assert_int_equal(sad_count(sad), 5);
	/* the caller's keys may go away: the SAD copied them */
	secret_free(k);
	secret_free(ik);
	secret_free(ck);

	rcu_read_lock();
	struct sa *sa = sad_lookup_in(sad, 0x1000, IPSEC_PROTO_ESP);
	assert_non_null(sa);
	assert_int_equal(sa->p.spi, 0x1000);
	assert_null(sa->p.encr_key);
	assert_non_null(sa->encr_key);
	assert_int_equal(sa->encr_key->len, 20);
	assert_int_equal(sa->encr_key->p[19], 0xab);
	assert_int_equal(sa->nworkers, NW);
	for (unsigned w = 0; w < NW; w++) {
		assert_non_null(sa->wk[w].cipher);
		assert_null(sa->wk[w].mac); /* AEAD */
		assert_int_equal((uintptr_t)&sa->stats[w] % 64, 0);
		assert_int_equal((uintptr_t)&sa->wk[w] % 64, 0);
	}
	assert_non_null(sa->replay);
	assert_int_equal(replay_size(sa->replay), 64);
	assert_int_equal(sa_state_get(sa), SA_MATURE);
	assert_null(sad_lookup_in(sad, 0x1000, IPSEC_PROTO_AH));
	assert_null(sad_lookup_in(sad, 0x1001, IPSEC_PROTO_ESP));
	/* outbound SAs are found by policy, not SPI */
	assert_null(sad_lookup_in(sad, 0x2000, IPSEC_PROTO_ESP));
	sa = sad_lookup_out(sad, 10, IPSEC_PROTO_ESP);
	assert_non_null(sa);
	assert_int_equal(sa->p.spi, 0x2000);
	assert_null(sa->replay);
	assert_null(sad_lookup_out(sad, 11, IPSEC_PROTO_ESP));
	sa = sad_lookup_in(sad, 0x3000, IPSEC_PROTO_ESP);
	assert_non_null(sa->wk[NW - 1].cipher);
	assert_non_null(sa->wk[NW - 1].mac);
	assert_null(sa->replay);
	sa = sad_lookup_in(sad, 0x4000, IPSEC_PROTO_AH);
	assert_null(sa->wk[0].cipher);
	assert_non_null(sa->wk[0].mac);
	sa = sad_lookup_in(sad, 0x2, IPSEC_PROTO_COMP);
	assert_null(sa->wk[0].cipher);
	assert_null(sa->wk[0].mac);
	rcu_read_unlock();
	sad_free(sad);
}

static void test_rejects(void **state)
{
	(void)state;
	struct sad *sad = sad_new(1);
	struct secret *k = key(20, 0xab), *k16 = key(16, 0xab), *ik = key(20, 0xab);
	struct sa_params p;

	assert_int_equal(sad_install(sad, (p = gcm(0x1000, SA_DIR_IN, k), &p)), 0);
	expect_reject(sad, &p, "duplicate inbound SPI");
	p = gcm(0x1001, SA_DIR_IN, k16);
	expect_reject(sad, &p, "needs 20 bytes");
	p = gcm(0x1001, SA_DIR_IN, k), p.encr_id = 99;
	expect_reject(sad, &p, "unknown encryption algorithm");
	p = gcm(0x1001, SA_DIR_IN, k), p.encr_key_bits = 100;
	expect_reject(sad, &p, "key size not allowed");
	p = gcm(0x1001, SA_DIR_IN, k), p.integ_id = AUTH_HMAC_SHA1_96, p.integ_key = ik;
	expect_reject(sad, &p, "combined-mode");
	p = gcm(0x1001, SA_DIR_IN, NULL), p.encr_id = ENCR_NULL, p.encr_key_bits = 0;
	expect_reject(sad, &p, "neither encryption nor integrity");
	p = gcm(0x1001, SA_DIR_IN, NULL), p.encr_id = ENCR_NULL, p.encr_key_bits = 0;
	p.integ_id = 77, p.integ_key = ik;
	expect_reject(sad, &p, "unknown integrity algorithm");
	p = gcm(0x1001, SA_DIR_IN, NULL), p.encr_id = ENCR_NULL, p.encr_key_bits = 0;
	p.integ_id = AUTH_HMAC_SHA2_256_128, p.integ_key = ik; /* 20 bytes, needs 32 */
	expect_reject(sad, &p, "needs a 32-byte key");
	p = gcm(0x1001, SA_DIR_IN, NULL), p.encr_id = ENCR_NONE;
	expect_reject(sad, &p, "ESP needs an encryption algorithm");
	p = gcm(0x1001, SA_DIR_IN, k), p.proto = IPSEC_PROTO_AH;
	expect_reject(sad, &p, "AH does not encrypt");
	p = gcm(0x1001, SA_DIR_IN, NULL), p.proto = IPSEC_PROTO_AH, p.encr_id = ENCR_NONE;
	expect_reject(sad, &p, "AH needs an integrity algorithm");
	p = gcm(200, SA_DIR_IN, k);
	expect_reject(sad, &p, "reserved");
	p = gcm(0x10000, SA_DIR_IN, NULL), p.proto = IPSEC_PROTO_COMP, p.encr_id = ENCR_NONE;
	expect_reject(sad, &p, "CPI");
	p = gcm(0x1001, SA_DIR_IN, k), p.replay_window = 16;
	expect_reject(sad, &p, "replay window");
	p = gcm(0x1001, SA_DIR_IN, k), p.proto = 99;
	expect_reject(sad, &p, "unknown protocol");
	p = gcm(0x1001, SA_DIR_IN, k), p.soft_bytes = 10, p.hard_bytes = 5;
	expect_reject(sad, &p, "soft byte lifetime");
	/* outbound duplicates: same SPI towards the same peer */
	p = gcm(0x2000, SA_DIR_OUT, k);
	assert_int_equal(sad_install(sad, &p), 0);
	p.reqid = 99;
	expect_reject(sad, &p, "duplicate outbound SPI");
	assert_int_equal(sad_count(sad), 2);
	/* integrity-only ESP (NULL encryption) is fine */
	struct secret *ik32 = key(32, 0xab);
	p = gcm(0x1001, SA_DIR_IN, NULL), p.encr_id = ENCR_NULL, p.encr_key_bits = 0;
	p.integ_id = AUTH_HMAC_SHA2_256_128, p.integ_key = ik32;
	assert_int_equal(sad_install(sad, &p), 0);
	secret_free(ik32);
	secret_free(k);
	secret_free(k16);
	secret_free(ik);
	sad_free(sad);
}

static void test_delete_flush_rekey(void **state)
{
	(void)state;
	struct sad *sad = sad_new(2);
	struct secret *k = key(20, 0x11);
	struct sa_params p;
	struct ip_addr other;

	for (uint32_t i = 0; i < 100; i++) {
		p = gcm(0x10000 + i, SA_DIR_IN, k);
		assert_int_equal(sad_install(sad, &p), 0);
	}
	p = gcm(0x500, SA_DIR_OUT, k);
	assert_int_equal(sad_install(sad, &p), 0);
	p = gcm(0x501, SA_DIR_OUT, k); /* rekeyed: same reqid, newer */
	assert_int_equal(sad_install(sad, &p), 0);
	assert_int_equal(sad_count(sad), 102);

	rcu_read_lock();
	assert_int_equal(sad_lookup_out(sad, 10, IPSEC_PROTO_ESP)->p.spi, 0x501);
	rcu_read_unlock();

	ip_addr_parse("192.0.2.1", &other);
	assert_int_equal(sad_delete(sad, 0x10005, IPSEC_PROTO_ESP, &other), -1);
	assert_int_equal(sad_delete(sad, 0x10005, IPSEC_PROTO_AH, NULL), -1);
	assert_int_equal(sad_delete(sad, 0x10005, IPSEC_PROTO_ESP, &p.src), 0); /* our address */
	assert_int_equal(sad_delete(sad, 0x10005, IPSEC_PROTO_ESP, NULL), -1);
	assert_int_equal(sad_delete(sad, 0x10006, IPSEC_PROTO_ESP, NULL), 0);
	assert_int_equal(sad_count(sad), 100);
	rcu_read_lock();
	assert_null(sad_lookup_in(sad, 0x10005, IPSEC_PROTO_ESP));
	assert_non_null(sad_lookup_in(sad, 0x10007, IPSEC_PROTO_ESP));
	rcu_read_unlock();

	/* the new outbound SA hard-expires: the older one is used again */
	rcu_read_lock();
	struct sa *newer = sad_lookup_out(sad, 10, IPSEC_PROTO_ESP);
	assert_true(sa_state_change(newer, SA_HARD_EXPIRED));
	assert_int_equal(sad_lookup_out(sad, 10, IPSEC_PROTO_ESP)->p.spi, 0x500);
	rcu_read_unlock();
	/* deleting the old one by SPI and peer address */
	assert_int_equal(sad_delete(sad, 0x500, IPSEC_PROTO_ESP, &p.dst), 0);
	rcu_read_lock();
	assert_null(sad_lookup_out(sad, 10, IPSEC_PROTO_ESP));
	rcu_read_unlock();

	sad_flush(sad);
	assert_int_equal(sad_count(sad), 0);
	rcu_read_lock();
	assert_null(sad_lookup_in(sad, 0x10007, IPSEC_PROTO_ESP));
	rcu_read_unlock();
	/* the SPIs are free again */
	p = gcm(0x10007, SA_DIR_IN, k);
	assert_int_equal(sad_install(sad, &p), 0);
	secret_free(k);
	sad_free(sad);
}

/* A rekeyed outbound SA starts with the path MTU known for the SA of its
 * reqid and peer that it replaces (the newest); an SA to another peer, of
 * another reqid, or inbound starts without one. */
static void test_rekey_inherits_path_mtu(void **state)
{
	struct sad *sad = sad_new(2);
	struct secret *k = key(20, 0x11);
	struct sa_params p;
	struct sa *sa;

	(void)state;
	p = gcm(0x500, SA_DIR_OUT, k);
	assert_int_equal(sad_install(sad, &p), 0);
	rcu_read_lock();
	sa = sad_lookup_out(sad, 10, IPSEC_PROTO_ESP);
	assert_int_equal(sa->path_mtu, 0);
	sa->path_mtu_until = 12345;
	sa->path_mtu = 1400;
	rcu_read_unlock();

	p = gcm(0x501, SA_DIR_OUT, k); /* the rekey */
	assert_int_equal(sad_install(sad, &p), 0);
	rcu_read_lock();
	sa = sad_lookup_out(sad, 10, IPSEC_PROTO_ESP);
	assert_int_equal(sa->p.spi, 0x501);
	assert_int_equal(sa->path_mtu, 1400);
	assert_int_equal(sa->path_mtu_until, 12345);
	sa->path_mtu = 1300; /* learned on the new one: the next rekey takes this */
	rcu_read_unlock();
	p = gcm(0x502, SA_DIR_OUT, k);
	assert_int_equal(sad_install(sad, &p), 0);
	rcu_read_lock();
	assert_int_equal(sad_lookup_out(sad, 10, IPSEC_PROTO_ESP)->path_mtu, 1300);
	rcu_read_unlock();

	p = gcm(0x600, SA_DIR_OUT, k);
	p.reqid = 11; /* another policy */
	assert_int_equal(sad_install(sad, &p), 0);
	p = gcm(0x601, SA_DIR_OUT, k);
	ip_addr_parse("192.0.2.99", &p.dst); /* another peer */
	assert_int_equal(sad_install(sad, &p), 0);
	rcu_read_lock();
	assert_int_equal(sad_lookup_out(sad, 11, IPSEC_PROTO_ESP)->path_mtu, 0);
	assert_int_equal(sad_lookup_out(sad, 10, IPSEC_PROTO_ESP)->p.spi, 0x601);
	assert_int_equal(sad_lookup_out(sad, 10, IPSEC_PROTO_ESP)->path_mtu, 0);
	rcu_read_unlock();
	secret_free(k);
	sad_free(sad);
}

/* The path MTU asked when an SA is installed (dp_sa_installed) is set on
 * a new SA, but not over one the SA has already (inherited on a rekey, or
 * learned since); unknown SPIs, other peers and inbound SAs are refused. */
static void test_seed_path_mtu(void **state)
{
	struct sad *sad = sad_new(1);
	struct secret *k = key(20, 0x12);
	struct sa_params p, q;
	struct sa *sa;

	(void)state;
	p = gcm(0x700, SA_DIR_OUT, k);
	assert_int_equal(sad_install(sad, &p), 0);
	q = p;
	ip_addr_parse("192.0.2.99", &q.dst);
	assert_int_equal(sad_seed_path_mtu(sad, &q, 1400, 50), -1); /* another peer */
	q = p;
	q.spi = 0x701;
	assert_int_equal(sad_seed_path_mtu(sad, &q, 1400, 50), -1); /* another SPI */
	q = p;
	q.proto = IPSEC_PROTO_AH;
	assert_int_equal(sad_seed_path_mtu(sad, &q, 1400, 50), -1); /* another protocol */
	assert_int_equal(sad_seed_path_mtu(sad, &p, 1400, 50), 0);
	rcu_read_lock();
	sa = sad_lookup_out(sad, 10, IPSEC_PROTO_ESP);
	assert_int_equal(sa->path_mtu, 1400);
	assert_int_equal(sa->path_mtu_until, 50);
	rcu_read_unlock();
	assert_int_equal(sad_seed_path_mtu(sad, &p, 1500, 60), 1);
	p = gcm(0x701, SA_DIR_OUT, k); /* a rekey: inherits 1400, keeps it */
	assert_int_equal(sad_install(sad, &p), 0);
	assert_int_equal(sad_seed_path_mtu(sad, &p, 1500, 60), 1);
	rcu_read_lock();
	assert_int_equal(sad_lookup_out(sad, 10, IPSEC_PROTO_ESP)->path_mtu, 1400);
	rcu_read_unlock();
	p = gcm(0x800, SA_DIR_IN, k);
	assert_int_equal(sad_install(sad, &p), 0);
	assert_int_equal(sad_seed_path_mtu(sad, &p, 1400, 50), -1); /* inbound */
	secret_free(k);
	sad_free(sad);
}

/* Make-before-break (sad.h): a standby outbound SA is passed over while
 * an older usable SA of its reqid exists, used when none is left, and
 * taken once activated; a retired inbound SA still decrypts until
 * sad_tick reaches its delay, then it is gone. */
static void test_standby_retire(void **state)
{
	(void)state;
	struct sad *sad = sad_new(1);
	struct secret *k = key(20, 0x33);
	struct sa_params p;
	struct ip_addr other;
	uint64_t t0;

	p = gcm(0x600, SA_DIR_OUT, k);
	assert_int_equal(sad_install(sad, &p), 0);
	p = gcm(0x601, SA_DIR_OUT, k);
	p.standby = true;
	assert_int_equal(sad_install(sad, &p), 0);
	rcu_read_lock();
	assert_int_equal(sad_lookup_out(sad, 10, IPSEC_PROTO_ESP)->p.spi, 0x600);
	rcu_read_unlock();
	/* the old one goes without the peer's DELETE: the standby takes over */
	assert_int_equal(sad_delete(sad, 0x600, IPSEC_PROTO_ESP, NULL), 0);
	rcu_read_lock();
	assert_int_equal(sad_lookup_out(sad, 10, IPSEC_PROTO_ESP)->p.spi, 0x601);
	rcu_read_unlock();
	/* a newer standby again waits behind 0x601, until activated */
	p = gcm(0x602, SA_DIR_OUT, k);
	p.standby = true;
	assert_int_equal(sad_install(sad, &p), 0);
	rcu_read_lock();
	assert_int_equal(sad_lookup_out(sad, 10, IPSEC_PROTO_ESP)->p.spi, 0x601);
	rcu_read_unlock();
	ip_addr_parse("192.0.2.1", &other);
	assert_int_equal(sad_activate(sad, 0x602, IPSEC_PROTO_ESP, &other), -1);
	assert_int_equal(sad_activate(sad, 0x699, IPSEC_PROTO_ESP, NULL), -1);
	assert_int_equal(sad_activate(sad, 0x602, IPSEC_PROTO_ESP, &p.dst), 0);
	rcu_read_lock();
	assert_int_equal(sad_lookup_out(sad, 10, IPSEC_PROTO_ESP)->p.spi, 0x602);
	rcu_read_unlock();

	p = gcm(0x700, SA_DIR_IN, k);
	assert_int_equal(sad_install(sad, &p), 0);
	rcu_read_lock();
	t0 = sad_lookup_in(sad, 0x700, IPSEC_PROTO_ESP)->install_time;
	rcu_read_unlock();
	assert_int_equal(sad_retire(sad, 0x700, IPSEC_PROTO_ESP, &other, t0), -1);
	assert_int_equal(sad_retire(sad, 0x701, IPSEC_PROTO_ESP, NULL, t0), -1);
	assert_int_equal(sad_retire(sad, 0x700, IPSEC_PROTO_ESP, &p.dst, t0), 0);
	sad_tick(sad, t0 + SAD_RETIRE_DELAY_S - 1);
	rcu_read_lock();
	assert_non_null(sad_lookup_in(sad, 0x700, IPSEC_PROTO_ESP));
	rcu_read_unlock();
	/* a retiring SA's SPI is not free for a new SA (inbound only, per proto) */
	assert_true(sad_spi_in_use(sad, 0x700, IPSEC_PROTO_ESP));
	assert_false(sad_spi_in_use(sad, 0x700, IPSEC_PROTO_AH));
	assert_false(sad_spi_in_use(sad, 0x602, IPSEC_PROTO_ESP));
	sad_tick(sad, t0 + SAD_RETIRE_DELAY_S);
	rcu_read_lock();
	assert_null(sad_lookup_in(sad, 0x700, IPSEC_PROTO_ESP));
	assert_non_null(sad_lookup_out(sad, 10, IPSEC_PROTO_ESP)); /* others stay */
	rcu_read_unlock();
	assert_false(sad_spi_in_use(sad, 0x700, IPSEC_PROTO_ESP));
	assert_int_equal(sad_count(sad), 2);
	secret_free(k);
	sad_free(sad);
}

/* ---- lifetimes ---- */

struct events {
	unsigned soft, hard;
	uint32_t spi;
};

static void on_expire(const struct sa *sa, enum expire_kind kind, void *arg)
{
	struct events *e = arg;
	e->spi = sa->p.spi;
	if (kind == EXPIRE_SOFT)
		__atomic_add_fetch(&e->soft, 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&e->hard, 1, __ATOMIC_RELAXED);
}

/* NAT mapping change: encapsulation ports change in place, for SAs that
 * are UDP-encapsulated only; sequence numbers stay. */
static void test_set_encap_ports(void **state)
{
	(void)state;
	struct sad *sad = sad_new(2);
	struct secret *k = key(20, 0x22);
	struct sa_params p = gcm(0x700, SA_DIR_OUT, k), q = gcm(0x701, SA_DIR_IN, k);
	struct sa *sa;

	p.encap_sport = p.encap_dport = 4500;
	q.encap_sport = 44500;
	q.encap_dport = 4500;
	assert_int_equal(sad_install(sad, &p), 0);
	assert_int_equal(sad_install(sad, &q), 0);
	rcu_read_lock();
	sa = sad_lookup_out(sad, 10, IPSEC_PROTO_ESP);
	sa->seq_out = 77;
	rcu_read_unlock();

	assert_int_equal(sad_set_encap_ports(sad, 0x700, IPSEC_PROTO_ESP, 4500, 45123), 0);
	assert_int_equal(sad_set_encap_ports(sad, 0x701, IPSEC_PROTO_ESP, 45123, 4500), 0);
	assert_int_equal(sad_set_encap_ports(sad, 0x999, IPSEC_PROTO_ESP, 1, 2), -1);
	assert_int_equal(sad_set_encap_ports(sad, 0x700, IPSEC_PROTO_AH, 1, 2), -1);
	rcu_read_lock();
	sa = sad_lookup_out(sad, 10, IPSEC_PROTO_ESP);
	assert_int_equal(sa->p.encap_dport, 45123);
	assert_int_equal(sa->seq_out, 77); /* same SA, not a re-install */
	assert_int_equal(sad_lookup_in(sad, 0x701, IPSEC_PROTO_ESP)->p.encap_sport, 45123);
	rcu_read_unlock();

	/* A native (not encapsulated) SA is never switched to UDP. */
	struct sa_params n = gcm(0x702, SA_DIR_IN, k);
	assert_int_equal(sad_install(sad, &n), 0);
	assert_int_equal(sad_set_encap_ports(sad, 0x702, IPSEC_PROTO_ESP, 1, 2), -1);
	sad_free(sad);
	secret_free(k);
}

static void test_lifetime_packets_bytes(void **state)
{
	(void)state;
	struct sad *sad = sad_new(1);
	struct secret *k = key(20, 0x22);
	struct sa_params p = gcm(0x700, SA_DIR_OUT, k);
	struct events ev = {0};
	struct sa *sa;

	p.soft_packets = 5;
	p.hard_packets = 8;
	sad_set_expire_cb(sad, on_expire, &ev);
	assert_int_equal(sad_install(sad, &p), 0);
	rcu_read_lock();
	sa = sad_lookup_out(sad, 10, IPSEC_PROTO_ESP);
	for (int i = 1; i <= 8; i++) {
		assert_true(sad_account(sad, sa, 100));
		assert_int_equal(ev.soft, i >= 5);
		assert_int_equal(ev.hard, i >= 8);
	}
	assert_int_equal(ev.spi, 0x700);
	assert_false(sad_account(sad, sa, 100));
	assert_false(sad_account(sad, sa, 100));
	assert_int_equal(ev.soft, 1);
	assert_int_equal(ev.hard, 1);
	assert_int_equal(sa_state_get(sa), SA_HARD_EXPIRED);
	/* a hard-expired outbound SA is not handed out */
	assert_null(sad_lookup_out(sad, 10, IPSEC_PROTO_ESP));
	rcu_read_unlock();

	/* bytes; one packet crossing both limits fires soft then hard */
	memset(&ev, 0, sizeof(ev));
	p = gcm(0x701, SA_DIR_IN, k);
	p.soft_bytes = 1000;
	p.hard_bytes = 1500;
	assert_int_equal(sad_install(sad, &p), 0);
	rcu_read_lock();
	sa = sad_lookup_in(sad, 0x701, IPSEC_PROTO_ESP);
	assert_true(sad_account(sad, sa, 999));
	assert_int_equal(ev.soft, 0);
	assert_false(sad_account(sad, sa, 600)); /* 1599 > 1500 */
	assert_int_equal(ev.soft, 1);
	assert_int_equal(ev.hard, 1);
	assert_int_equal(sa->total_packets, 2);
	assert_int_equal(sa->total_bytes, 1599);
	rcu_read_unlock();

	/* unlimited */
	p = gcm(0x702, SA_DIR_IN, k);
	assert_int_equal(sad_install(sad, &p), 0);
	rcu_read_lock();
	sa = sad_lookup_in(sad, 0x702, IPSEC_PROTO_ESP);
	for (int i = 0; i < 1000; i++)
		assert_true(sad_account(sad, sa, 1 << 20));
	rcu_read_unlock();
	assert_int_equal(ev.hard, 1);
	secret_free(k);
	sad_free(sad);
}

static void test_lifetime_seconds(void **state)
{
	(void)state;
	struct sad *sad = sad_new(1);
	struct secret *k = key(20, 0x22);
	struct sa_params p = gcm(0x800, SA_DIR_IN, k);
	struct events ev = {0};
	uint64_t t0;

	p.soft_seconds = 10;
	p.hard_seconds = 20;
	sad_set_expire_cb(sad, on_expire, &ev);
	assert_int_equal(sad_install(sad, &p), 0);
	rcu_read_lock();
	t0 = sad_lookup_in(sad, 0x800, IPSEC_PROTO_ESP)->install_time;
	rcu_read_unlock();
	sad_tick(sad, t0 + 9);
	assert_int_equal(ev.soft + ev.hard, 0);
	sad_tick(sad, t0 + 10);
	sad_tick(sad, t0 + 11);
	assert_int_equal(ev.soft, 1);
	assert_int_equal(ev.hard, 0);
	sad_tick(sad, t0 + 25);
	sad_tick(sad, t0 + 26);
	assert_int_equal(ev.hard, 1);
	rcu_read_lock();
	struct sa *sa = sad_lookup_in(sad, 0x800, IPSEC_PROTO_ESP);
	assert_false(sad_account(sad, sa, 1));
	rcu_read_unlock();
	secret_free(k);
	sad_free(sad);
}

/* Hard limit under concurrent workers: exactly hard_packets pass, and
 * each event fires once. */
struct racer {
	struct sad *sad;
	unsigned passed;
};

static void *race_account(void *arg)
{
	struct racer *r = arg;
	rcu_register_thread();
	for (int i = 0; i < 20000; i++) {
		rcu_read_lock();
		struct sa *sa = sad_lookup_in(r->sad, 0x900, IPSEC_PROTO_ESP);
		if (sa && sad_account(r->sad, sa, 10))
			r->passed++;
		rcu_read_unlock();
	}
	rcu_unregister_thread();
	return NULL;
}

static void test_lifetime_race(void **state)
{
	(void)state;
	struct sad *sad = sad_new(4);
	struct secret *k = key(20, 0x22);
	struct sa_params p = gcm(0x900, SA_DIR_IN, k);
	struct events ev = {0};
	struct racer r[4];
	pthread_t th[4];
	unsigned total = 0;

	p.soft_packets = 10000;
	p.hard_packets = 50000;
	sad_set_expire_cb(sad, on_expire, &ev);
	assert_int_equal(sad_install(sad, &p), 0);
	for (int i = 0; i < 4; i++) {
		r[i] = (struct racer){.sad = sad};
		pthread_create(&th[i], NULL, race_account, &r[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		total += r[i].passed;
	}
	assert_int_equal(total, 50000);
	assert_int_equal(ev.soft, 1);
	assert_int_equal(ev.hard, 1);
	secret_free(k);
	sad_free(sad);
}

/* ---- counters, names, states ---- */

static void count_sa(struct sa *sa, void *arg)
{
	(void)sa;
	(*(unsigned *)arg)++;
}

static void test_counters_and_names(void **state)
{
	(void)state;
	struct sad *sad = sad_new(NW);
	struct secret *k = key(20, 0x33);
	struct sa_params p = gcm(0xa00, SA_DIR_IN, k);
	struct sa_stats sum;
	unsigned n = 0;

	assert_int_equal(sad_install(sad, &p), 0);
	p = gcm(0xa01, SA_DIR_OUT, k);
	assert_int_equal(sad_install(sad, &p), 0);
	rcu_read_lock();
	struct sa *sa = sad_lookup_in(sad, 0xa00, IPSEC_PROTO_ESP);
	for (unsigned w = 0; w < NW; w++) {
		sa->stats[w].packets = w + 1;
		sa->stats[w].bytes = 100 * (w + 1);
		sa->stats[w].drops[DROP_REPLAY] = 2;
	}
	sa_stats_sum(sa, &sum);
	assert_int_equal(sum.packets, 6);
	assert_int_equal(sum.bytes, 600);
	assert_int_equal(sum.drops[DROP_REPLAY], 2 * NW);
	assert_int_equal(sum.drops[DROP_ICV], 0);
	rcu_read_unlock();
	sad_clear_counters(sad);
	rcu_read_lock();
	sa_stats_sum(sad_lookup_in(sad, 0xa00, IPSEC_PROTO_ESP), &sum);
	rcu_read_unlock();
	assert_int_equal(sum.packets, 0);
	assert_int_equal(sum.drops[DROP_REPLAY], 0);
	sad_foreach(sad, count_sa, &n);
	assert_int_equal(n, 2);

	/* every drop reason has its own name */
	for (int i = 0; i < DROP__COUNT; i++) {
		assert_string_not_equal(dp_drop_name((enum dp_drop)i), "unknown");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(dp_drop_name((enum dp_drop)i),
						dp_drop_name((enum dp_drop)j));
	}
	assert_string_equal(dp_drop_name(DROP_REPLAY), "replay");
	assert_string_equal(dp_drop_name(DROP_ICV), "icv-failure");
	assert_string_equal(dp_drop_name(DROP__COUNT), "unknown");
	assert_string_equal(sa_state_name(SA_SOFT_EXPIRED), "soft-expired");
	secret_free(k);
	sad_free(sad);
}

static void test_state_machine(void **state)
{
	(void)state;
	struct sa sa;
	memset(&sa, 0, sizeof(sa));
	sa.state = SA_LARVAL;
	assert_false(sa_state_change(&sa, SA_SOFT_EXPIRED));
	assert_true(sa_state_change(&sa, SA_MATURE));
	assert_false(sa_state_change(&sa, SA_MATURE));
	assert_false(sa_state_change(&sa, SA_LARVAL));
	assert_true(sa_state_change(&sa, SA_SOFT_EXPIRED));
	assert_false(sa_state_change(&sa, SA_SOFT_EXPIRED));
	assert_true(sa_state_change(&sa, SA_HARD_EXPIRED));
	assert_false(sa_state_change(&sa, SA_SOFT_EXPIRED));
	assert_true(sa_state_change(&sa, SA_DEAD));
	assert_false(sa_state_change(&sa, SA_MATURE));
	assert_int_equal(sa_state_get(&sa), SA_DEAD);
}

/* ---- RCU: readers look up and read SAs while the writer installs and
 * deletes them; ASan catches any use after free ---- */

static volatile int stop_readers;

static void *reader(void *arg)
{
	struct sad *sad = arg;
	unsigned long hits = 0;
	rcu_register_thread();
	while (!__atomic_load_n(&stop_readers, __ATOMIC_RELAXED)) {
		rcu_read_lock();
		for (uint32_t spi = 0x100; spi < 0x110; spi++) {
			struct sa *sa = sad_lookup_in(sad, spi, IPSEC_PROTO_ESP);
			if (sa) {
				assert_int_equal(sa->p.spi, spi);
				assert_int_equal(sa->encr_key->len, 20);
				hits += sa->wk[0].cipher != NULL;
			}
		}
		struct sa *o = sad_lookup_out(sad, 10, IPSEC_PROTO_ESP);
		if (o)
			hits += o->stats[0].packets == 0;
		rcu_read_unlock();
	}
	rcu_unregister_thread();
	return (void *)hits;
}

static void test_rcu_readers(void **state)
{
	(void)state;
	struct sad *sad = sad_new(1);
	struct secret *k = key(20, 0x44);
	pthread_t th[2];
	struct sa_params p;

	log_set_level(LOG_LVL_ERR); /* state changes log at info */
	stop_readers = 0;
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, reader, sad);
	for (int round = 0; round < 300; round++) {
		for (uint32_t spi = 0x100; spi < 0x110; spi++) {
			p = gcm(spi, SA_DIR_IN, k);
			assert_int_equal(sad_install(sad, &p), 0);
		}
		p = gcm(0x5000 + (uint32_t)round, SA_DIR_OUT, k);
		assert_int_equal(sad_install(sad, &p), 0);
		for (uint32_t spi = 0x100; spi < 0x110; spi += 2)
			assert_int_equal(sad_delete(sad, spi, IPSEC_PROTO_ESP, NULL), 0);
		if (round % 3 == 0)
			sad_flush(sad);
		else
			for (uint32_t spi = 0x101; spi < 0x110; spi += 2)
				sad_delete(sad, spi, IPSEC_PROTO_ESP, NULL);
	}
	__atomic_store_n(&stop_readers, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	log_set_level(LOG_LVL_INFO);
	secret_free(k);
	sad_free(sad);
}

static int setup(void **state)
{
	(void)state;
	rcu_register_thread();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rcu_unregister_thread();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_install_lookup),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_delete_flush_rekey),
		cmocka_unit_test(test_set_encap_ports),
		cmocka_unit_test(test_rekey_inherits_path_mtu),
		cmocka_unit_test(test_seed_path_mtu),
		cmocka_unit_test(test_standby_retire),
		cmocka_unit_test(test_lifetime_packets_bytes),
		cmocka_unit_test(test_lifetime_seconds),
		cmocka_unit_test(test_lifetime_race),
		cmocka_unit_test(test_counters_and_names),
		cmocka_unit_test(test_state_machine),
		cmocka_unit_test(test_rcu_readers),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
