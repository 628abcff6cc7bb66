/* SPD: first match in priority order, directed cases, a differential test
 * of the indexed lookup against a naive linear scan, and RCU readers
 * racing table replacements. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu.h>

#include "ipsec/spd.h"

static struct policy pol(uint32_t reqid, uint32_t prio, const char *src, const char *dst,
			 uint8_t proto, uint16_t dport)
{
	struct policy p;
	memset(&p, 0, sizeof(p));
	p.reqid = reqid;
	p.priority = prio;
	p.action = POLICY_PROTECT;
	ts_any(&p.sel, 0);
	if (src)
		assert_true(ip_prefix_parse(src, &p.sel.src));
	if (dst)
		assert_true(ip_prefix_parse(dst, &p.sel.dst));
	p.sel.proto = proto;
	if (dport)
		p.sel.dport_lo = p.sel.dport_hi = dport;
	snprintf(p.name, sizeof(p.name), "MAP %u", reqid);
	return p;
}

static struct flow flow(const char *src, const char *dst, uint8_t proto, uint16_t dport)
{
	struct flow f;
	memset(&f, 0, sizeof(f));
	assert_true(ip_addr_parse(src, &f.src));
	assert_true(ip_addr_parse(dst, &f.dst));
	f.proto = proto;
	f.sport = 40000;
	f.dport = dport;
	return f;
}

static uint32_t lookup_reqid(struct spd *spd, const struct flow *f)
{
	uint32_t r;
	rcu_read_lock();
	const struct policy *p = spd_lookup(spd, f);
	r = p ? p->reqid : 0;
	rcu_read_unlock();
	return r;
}

static void test_first_match(void **state)
{
	(void)state;
	struct spd *spd = spd_new();
	struct flow f = flow("10.1.0.5", "10.2.0.5", 6, 443);

	assert_int_equal(lookup_reqid(spd, &f), 0); /* empty: nothing */
	assert_int_equal(spd_count(spd), 0);
	struct policy p[] = {
		pol(1, 30, "10.1.0.0/16", "10.2.0.0/16", 0, 0),
		pol(2, 20, "10.1.0.0/16", "10.2.0.0/24", 6, 443),
		pol(3, 20, "10.1.0.0/16", "10.2.0.0/16", 6, 0), /* same prio, later */
		pol(4, 10, "10.9.0.0/16", "10.2.0.0/16", 0, 0),
		pol(5, 40, NULL, NULL, 0, 0), /* any family, anything */
		pol(6, 5, "2001:db8:1::/48", "2001:db8:2::/48", 17, 0),
	};
	assert_int_equal(spd_replace(spd, p, 6), 0);
	assert_int_equal(spd_count(spd), 6);
	/* prio 10 (reqid 4) does not match the source; prio 20: 2 before 3 */
	assert_int_equal(lookup_reqid(spd, &f), 2);
	f.dport = 80;
	assert_int_equal(lookup_reqid(spd, &f), 3);
	f.proto = 17;
	assert_int_equal(lookup_reqid(spd, &f), 1);
	f = flow("192.0.2.1", "192.0.2.2", 1, 0x0800);
	assert_int_equal(lookup_reqid(spd, &f), 5);
	f = flow("2001:db8:1::1", "2001:db8:2::1", 17, 53);
	assert_int_equal(lookup_reqid(spd, &f), 6);
	f.proto = 6;
	assert_int_equal(lookup_reqid(spd, &f), 5);

	/* replaced as a whole */
	struct policy q[] = {pol(7, 1, "10.1.0.0/16", "10.2.0.0/16", 0, 0)};
	assert_int_equal(spd_replace(spd, q, 1), 0);
	f = flow("10.1.0.5", "10.2.0.5", 6, 443);
	assert_int_equal(lookup_reqid(spd, &f), 7);
	f = flow("2001:db8:1::1", "2001:db8:2::1", 17, 53);
	assert_int_equal(lookup_reqid(spd, &f), 0);
	assert_int_equal(spd_replace(spd, NULL, 0), 0);
	assert_int_equal(spd_count(spd), 0);
	spd_free(spd);
}

/* ---- differential ---- */

static const char *const v4_pool[] = {"10.0.0.0", "10.1.0.0", "10.1.2.0", "10.1.2.128",
				      "192.168.0.0", "0.0.0.0"};
static const char *const v6_pool[] = {"2001:db8::", "2001:db8:1::", "2001:db8:1:2::", "::"};

static void rnd_prefix(struct ip_prefix *p, bool v6)
{
	struct ip_addr a;
	int r = rand();
	if (v6) {
		ip_addr_parse(v6_pool[r % 4], &a);
		static const uint8_t lens[] = {0, 32, 48, 64, 128};
		ip_prefix_set(p, &a, lens[(r >> 4) % 5]);
	} else {
		ip_addr_parse(v4_pool[r % 6], &a);
		static const uint8_t lens[] = {0, 8, 16, 24, 25, 32};
		ip_prefix_set(p, &a, lens[(r >> 4) % 6]);
	}
}

static void rnd_addr(struct ip_addr *a, bool v6)
{
	int r = rand();
	ip_addr_parse(v6 ? v6_pool[r % 4] : v4_pool[r % 6], a);
	/* perturb low bytes so that some addresses fall outside long prefixes */
	if (rand() % 2)
		a->b[ip_addr_len(a) - 1] = (uint8_t)rand();
	if (rand() % 4 == 0)
		a->b[ip_addr_len(a) - 2] = (uint8_t)rand();
}

static struct policy rnd_policy(uint32_t id)
{
	struct policy p;
	bool v6 = rand() % 3 == 0;
	memset(&p, 0, sizeof(p));
	p.reqid = id;
	p.priority = (uint32_t)(rand() % 50); /* many ties */
	ts_any(&p.sel, v6 ? AF_INET6 : AF_INET);
	if (rand() % 10 == 0) {
		ts_any(&p.sel, 0); /* any family */
	} else {
		rnd_prefix(&p.sel.src, v6);
		rnd_prefix(&p.sel.dst, v6);
	}
	static const uint8_t protos[] = {0, 0, 6, 17, 1};
	p.sel.proto = protos[rand() % 5];
	if (rand() % 3 == 0) {
		p.sel.dport_lo = (uint16_t)(rand() % 100);
		p.sel.dport_hi = (uint16_t)(p.sel.dport_lo + rand() % 50);
	}
	return p;
}

/* The reference: stable insertion sort by priority, then a linear scan. */
static const struct policy *ref_lookup(const struct policy *sorted, unsigned n,
				       const struct flow *f)
{
	for (unsigned i = 0; i < n; i++)
		if (ts_match(&sorted[i].sel, f))
			return &sorted[i];
	return NULL;
}

static void ref_sort(struct policy *p, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		struct policy k = p[i];
		unsigned j = i;
		while (j > 0 && p[j - 1].priority > k.priority) {
			p[j] = p[j - 1];
			j--;
		}
		p[j] = k;
	}
}

static void differential(unsigned n, unsigned nflows)
{
	struct spd *spd = spd_new();
	struct policy *p = calloc(n ? n : 1, sizeof(*p)), *sorted = calloc(n ? n : 1, sizeof(*p));
	unsigned hits = 0;

	for (unsigned i = 0; i < n; i++)
		p[i] = rnd_policy(i + 1);
	memcpy(sorted, p, n * sizeof(*p));
	ref_sort(sorted, n);
	assert_int_equal(spd_replace(spd, p, n), 0);
	for (unsigned i = 0; i < nflows; i++) {
		struct flow f;
		bool v6 = rand() % 3 == 0;
		memset(&f, 0, sizeof(f));
		rnd_addr(&f.src, v6);
		rnd_addr(&f.dst, v6);
		static const uint8_t protos[] = {6, 17, 1, 47};
		f.proto = protos[rand() % 4];
		f.sport = (uint16_t)rand();
		f.dport = (uint16_t)(rand() % 160);
		const struct policy *want = ref_lookup(sorted, n, &f);
		uint32_t got = lookup_reqid(spd, &f);
		if (got != (want ? want->reqid : 0)) {
			char buf[TS_STRLEN];
			fail_msg("n=%u flow %s: index %u, reference %u", n,
				 flow_str(&f, buf, sizeof(buf)), got, want ? want->reqid : 0);
		}
		hits += want != NULL;
	}
	if (n >= 100)
		assert_true(hits > nflows / 4); /* the flows do hit policies */
	free(p);
	free(sorted);
	spd_free(spd);
}

static void test_differential(void **state)
{
	(void)state;
	srand(4301);
	differential(0, 100);
	differential(1, 2000);
	differential(10, 5000);
	differential(100, 20000);
	differential(1000, 20000);
	for (int i = 0; i < 50; i++)
		differential((unsigned)(rand() % 40), 500);
}

/* A hub: 1000 policies with one destination, one source host each (the
 * shape that a destination-only index scans linearly), then a catch-all
 * for the source /16. Every host finds its own policy. */
static void test_hub_same_destination(void **state)
{
	struct spd *spd = spd_new();
	struct policy *p = calloc(1001, sizeof(*p));
	char a[32];

	(void)state;
	for (unsigned i = 0; i < 1001; i++) {
		ts_any(&p[i].sel, AF_INET);
		p[i].reqid = i + 1;
		p[i].priority = i;
		assert_true(ip_prefix_parse("198.19.1.2/32", &p[i].sel.dst));
		snprintf(a, sizeof(a), i < 1000 ? "198.19.%u.%u/32" : "198.19.0.0/16",
			 4 + i / 250, i % 250 + 1);
		assert_true(ip_prefix_parse(a, &p[i].sel.src));
	}
	assert_int_equal(spd_replace(spd, p, 1001), 0);
	for (unsigned i = 0; i < 1000; i++) {
		struct flow f = {.proto = 17, .sport = 1000, .dport = 2000};
		snprintf(a, sizeof(a), "198.19.%u.%u", 4 + i / 250, i % 250 + 1);
		assert_true(ip_addr_parse(a, &f.src));
		assert_true(ip_addr_parse("198.19.1.2", &f.dst));
		assert_int_equal(lookup_reqid(spd, &f), i + 1);
		f.src.b[3] = 251; /* a host of the /16 with no policy of its own */
		assert_int_equal(lookup_reqid(spd, &f), 1001);
	}
	free(p);
	spd_free(spd);
}

/* ---- RCU: lookups while the table is replaced ---- */

static volatile int stop;

static void *reader(void *arg)
{
	struct spd *spd = arg;
	struct flow f = flow("10.1.0.5", "10.2.0.5", 6, 443);
	rcu_register_thread();
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		rcu_read_lock();
		const struct policy *p = spd_lookup(spd, &f);
		/* every table version has a matching policy with its name set */
		if (!p || strncmp(p->name, "MAP ", 4) != 0)
			abort();
		rcu_read_unlock();
	}
	rcu_unregister_thread();
	return NULL;
}

static void test_rcu_replace(void **state)
{
	(void)state;
	struct spd *spd = spd_new();
	struct policy p[20];
	pthread_t th[2];

	for (unsigned i = 0; i < 20; i++)
		p[i] = pol(i + 1, i, "10.1.0.0/16", "10.2.0.0/16", 0, 0);
	assert_int_equal(spd_replace(spd, p, 20), 0);
	stop = 0;
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, reader, spd);
	for (unsigned v = 0; v < 300; v++) {
		for (unsigned i = 0; i < 20; i++)
			p[i].reqid = v * 100 + i + 1;
		assert_int_equal(spd_replace(spd, p, 1 + v % 20), 0);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	spd_free(spd);
}

static void count_pol(const struct policy *p, void *arg)
{
	uint32_t *last = arg;
	assert_true(p->priority >= *last);
	*last = p->priority;
}

static void test_foreach_order(void **state)
{
	(void)state;
	struct spd *spd = spd_new();
	struct policy p[50];
	uint32_t last = 0;
	for (unsigned i = 0; i < 50; i++)
		p[i] = pol(i + 1, (uint32_t)(rand() % 10), "10.0.0.0/8", "10.0.0.0/8", 0, 0);
	assert_int_equal(spd_replace(spd, p, 50), 0);
	spd_foreach(spd, count_pol, &last);
	spd_free(spd);
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
		cmocka_unit_test(test_first_match),
		cmocka_unit_test(test_differential),
		cmocka_unit_test(test_hub_same_destination),
		cmocka_unit_test(test_rcu_replace),
		cmocka_unit_test(test_foreach_order),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
