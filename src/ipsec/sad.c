/* Security Association Database (RFC 4301 4.4.2).
 *
 * Two fixed-size hash tables of singly linked buckets: inbound SAs keyed
 * by (SPI, protocol) -- RFC 4301 4.1 lets a receiver pick SPIs unique per
 * protocol, which we do -- and outbound SAs keyed by (reqid, protocol),
 * i.e. by the policy they serve. An SA is on exactly one list (through
 * sa->next_hash).
 *
 * Concurrency: readers (data-plane workers) walk the lists under
 * rcu_read_lock (liburcu default flavour = memb, link with -lurcu); they
 * never lock. Writers (the main thread) serialise on sad->lock, publish
 * with rcu_assign_pointer, and free unlinked SAs with call_rcu, so a delete
 * may even come from inside a read-side critical section. sad_free waits
 * for those callbacks with rcu_barrier.
 */
#include "ipsec/sad.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <urcu.h>

#include "crypto/alg.h"
#include "crypto/cipher.h"
#include "crypto/mb.h"
#include "lib/log.h"
#include "lib/mem.h"

#define SAD_BITS 10
#define SAD_BUCKETS (1u << SAD_BITS)

_Static_assert(sizeof(struct rcu_head_opaque) == sizeof(struct rcu_head),
	       "sa.h rcu_head_opaque must match liburcu's struct rcu_head");
_Static_assert(alignof(struct rcu_head_opaque) >= alignof(struct rcu_head),
	       "sa.h rcu_head_opaque alignment");

struct sad {
	pthread_mutex_t lock; /* serialises writers; readers use RCU */
	unsigned nworkers;
	unsigned count;       /* under lock; read with an atomic load */
	sad_expire_fn expire_fn; /* set before the workers start */
	void *expire_arg;
	struct sa *in[SAD_BUCKETS];  /* (spi, proto) */
	struct sa *out[SAD_BUCKETS]; /* (reqid, proto) */
};

static unsigned bucket(uint32_t key, uint8_t proto)
{
	uint32_t h = (key ^ (uint32_t)proto << 24) * 0x9e3779b1u;
	return h >> (32 - SAD_BITS);
}

struct sad *sad_new(unsigned nworkers)
{
	struct sad *sad = calloc(1, sizeof(*sad));

	if (!sad)
		return NULL;
	if (pthread_mutex_init(&sad->lock, NULL) != 0) {
		free(sad);
		return NULL;
	}
	sad->nworkers = nworkers ? nworkers : 1;
	return sad;
}

/* ---- validation (nothing is allocated before the parameters are sane) ---- */

static int bad(const struct sa_params *p, const char *why)
{
	log_err("SA %.63s %s spi 0x%08x: %s", p->name, p->dir == SA_DIR_IN ? "in" : "out",
		p->spi, why);
	return -1;
}

static int check_encr_key(const struct sa_params *p, const struct encr_alg *e)
{
	size_t want;

	if (!encr_key_bits_ok(e, p->encr_key_bits))
		return bad(p, "key size not allowed for the encryption algorithm");
	want = encr_keymat_len(e, p->encr_key_bits);
	if (want == 0)
		return p->encr_key && p->encr_key->len ? bad(p, "null encryption takes no key") : 0;
	if (!p->encr_key || p->encr_key->len != want) {
		log_err("SA %.63s spi 0x%08x: %s needs %zu bytes of key (and salt), got %zu",
			p->name, p->spi, e->name, want, p->encr_key ? p->encr_key->len : 0);
		return -1;
	}
	return 0;
}

static int check_integ_key(const struct sa_params *p, const struct integ_alg *a)
{
	if (!p->integ_key || p->integ_key->len != a->key_len) {
		log_err("SA %.63s spi 0x%08x: %s needs a %u-byte key, got %zu", p->name, p->spi,
			a->name, a->key_len, p->integ_key ? p->integ_key->len : 0);
		return -1;
	}
	return 0;
}

/* RFC 4303 3.2: ESP needs confidentiality or integrity (or both); a
 * combined-mode algorithm brings its own integrity and must not be paired
 * with a separate one (RFC 4106 4, RFC 8221 2). */
static int check_esp(const struct sa_params *p)
{
	const struct encr_alg *e = encr_alg_find(p->encr_id);
	const struct integ_alg *a = NULL;

	if (p->encr_id == ENCR_NONE)
		return bad(p, "ESP needs an encryption algorithm (use null for integrity only)");
	if (!e)
		return bad(p, "unknown encryption algorithm");
	if (p->integ_id != AUTH_NONE) {
		a = integ_alg_find(p->integ_id);
		if (!a)
			return bad(p, "unknown integrity algorithm");
		if (e->aead)
			return bad(p, "combined-mode encryption must not have an integrity algorithm");
	}
	if (e->id == ENCR_NULL && !a)
		return bad(p, "ESP with neither encryption nor integrity");
	if (!e->aead && !a)
		log_warn("SA %.63s spi 0x%08x: ESP without integrity (RFC 4303 3.2: "
			 "confidentiality only is vulnerable to active attacks)",
			 p->name, p->spi);
	if (check_encr_key(p, e) < 0)
		return -1;
	return a ? check_integ_key(p, a) : 0;
}

static int check_ah(const struct sa_params *p)
{
	const struct integ_alg *a = integ_alg_find(p->integ_id);

	if (p->encr_id != ENCR_NONE)
		return bad(p, "AH does not encrypt: no encryption algorithm allowed");
	if (p->integ_id == AUTH_NONE)
		return bad(p, "AH needs an integrity algorithm");
	if (!a)
		return bad(p, "unknown integrity algorithm");
	return check_integ_key(p, a);
}

static int check_params(const struct sa_params *p)
{
	if (p->dir != SA_DIR_IN && p->dir != SA_DIR_OUT)
		return bad(p, "bad direction");
	if (p->mode != IPSEC_MODE_TUNNEL && p->mode != IPSEC_MODE_TRANSPORT)
		return bad(p, "bad mode");
	if (p->sel.n > TS_LIST_MAX)
		return bad(p, "too many selectors");
	if (p->src.af && p->dst.af && p->src.af != p->dst.af)
		return bad(p, "outer source and destination of different families");
	if (p->hard_bytes && p->soft_bytes > p->hard_bytes)
		return bad(p, "soft byte lifetime above the hard one");
	if (p->hard_packets && p->soft_packets > p->hard_packets)
		return bad(p, "soft packet lifetime above the hard one");
	switch (p->proto) {
	case IPSEC_PROTO_ESP:
	case IPSEC_PROTO_AH:
		/* RFC 4303 2.1: SPIs 1..255 are reserved, 0 is never sent */
		if (p->spi < 256)
			return bad(p, "SPI values 0-255 are reserved");
		return p->proto == IPSEC_PROTO_ESP ? check_esp(p) : check_ah(p);
	case IPSEC_PROTO_COMP:
		/* RFC 3173 3.3: the CPI is 16 bits; 0 is not a valid CPI */
		if (p->spi == 0 || p->spi > 0xffff)
			return bad(p, "IPComp CPI must be 1-65535");
		if (p->encr_id != ENCR_NONE || p->integ_id != AUTH_NONE)
			return bad(p, "IPComp takes no encryption or integrity algorithm");
		return 0;
	default:
		return bad(p, "unknown protocol");
	}
}

/* ---- SA construction and destruction ---- */

static void sa_destroy(struct sa *sa)
{
	if (sa->wk) {
		for (unsigned w = 0; w < sa->nworkers; w++) {
			cipher_free(sa->wk[w].cipher);
			mac_free(sa->wk[w].mac);
		}
		free(sa->wk);
	}
	mb_key_free(sa->mbk);
	free(sa->stats);
	replay_free(sa->replay);
	pthread_spin_destroy(&sa->replay_lock);
	secret_free(sa->encr_key);
	secret_free(sa->integ_key);
	free(sa);
}

static void sa_reclaim(struct rcu_head *head)
{
	sa_destroy((struct sa *)((char *)head - offsetof(struct sa, rcu)));
}

/* One cipher and/or mac per worker (a context is single-threaded); the
 * ciphers of workers 1.. are clones of worker 0's, sharing what is
 * read-only (the GCM key schedule of intel-ipsec-mb: 1 KB per SA and
 * worker otherwise). */
static int sa_crypto_init(struct sa *sa)
{
	const struct sa_params *p = &sa->p;
	const uint8_t *ek = sa->encr_key ? sa->encr_key->p : NULL;
	size_t eklen = sa->encr_key ? sa->encr_key->len : 0;

	for (unsigned w = 0; w < sa->nworkers; w++) {
		if (p->proto == IPSEC_PROTO_ESP) {
			sa->wk[w].cipher = w ? cipher_clone(sa->wk[0].cipher)
					     : cipher_new(p->encr_id, p->encr_key_bits, ek, eklen,
							  p->dir == SA_DIR_OUT);
			if (!sa->wk[w].cipher)
				return -1;
		}
		if (p->integ_id != AUTH_NONE) {
			sa->wk[w].mac = mac_new(p->integ_id, sa->integ_key->p, sa->integ_key->len);
			if (!sa->wk[w].mac)
				return -1;
		}
	}
	/* AES-CBC with HMAC-SHA: also set up for multi-buffer sealing
	 * (outbound) and ICV computation (inbound) of batches (NULL where not
	 * supported: OpenSSL alone). */
	if (p->proto == IPSEC_PROTO_ESP && ek && sa->integ_key)
		sa->mbk = mb_key_new(p->encr_id, ek, eklen, p->integ_id, sa->integ_key->p,
				     sa->integ_key->len);
	return 0;
}

static struct sa *sa_create(const struct sa_params *p, unsigned nworkers)
{
	struct sa *sa = calloc(1, sizeof(*sa));

	if (!sa)
		return NULL;
	sa->p = *p;
	sa->encr_alg = encr_alg_find(p->encr_id);
	sa->integ_alg = integ_alg_find(p->integ_id);
	sa->p.encr_key = NULL; /* the SA owns copies: sa->encr_key, sa->integ_key */
	sa->p.integ_key = NULL;
	sa->p.name[sizeof(sa->p.name) - 1] = 0;
	sa->nworkers = nworkers;
	sa->state = SA_LARVAL;
	sa->install_time = now_ns() / 1000000000u;
	pthread_spin_init(&sa->replay_lock, PTHREAD_PROCESS_PRIVATE);
	if ((p->encr_key && p->encr_key->len && !(sa->encr_key = secret_dup(p->encr_key))) ||
	    (p->integ_key && !(sa->integ_key = secret_dup(p->integ_key))))
		goto fail;
	sa->wk = zalloc_aligned64(nworkers * sizeof(*sa->wk));
	sa->stats = zalloc_aligned64(nworkers * sizeof(*sa->stats));
	if (!sa->wk || !sa->stats)
		goto fail;
	if (sa_crypto_init(sa) < 0)
		goto fail;
	if (p->dir == SA_DIR_IN && p->replay_window) {
		sa->replay = replay_new(p->replay_window, p->esn);
		if (!sa->replay) {
			bad(p, "replay window size must be 32-1048576");
			goto fail;
		}
		if (p->replay_start)
			replay_update(sa->replay, p->replay_start);
	}
	sa->seq_out = p->dir == SA_DIR_OUT ? p->seq_start : 0;
	return sa;
fail:
	sa_destroy(sa);
	return NULL;
}

/* ---- tables (writers hold sad->lock) ---- */

static bool addr_match(const struct ip_addr *want, const struct ip_addr *have)
{
	return !want || !want->af || ip_addr_eq(want, have);
}

static struct sa *find_in_locked(struct sad *sad, uint32_t spi, uint8_t proto)
{
	for (struct sa *sa = sad->in[bucket(spi, proto)]; sa; sa = sa->next_hash)
		if (sa->p.spi == spi && sa->p.proto == proto)
			return sa;
	return NULL;
}

bool sad_spi_in_use(struct sad *sad, uint32_t spi, uint8_t proto)
{
	bool used;

	pthread_mutex_lock(&sad->lock);
	used = find_in_locked(sad, spi, proto) != NULL;
	pthread_mutex_unlock(&sad->lock);
	return used;
}

static bool out_dup_locked(struct sad *sad, const struct sa_params *p)
{
	for (unsigned b = 0; b < SAD_BUCKETS; b++)
		for (struct sa *sa = sad->out[b]; sa; sa = sa->next_hash)
			if (sa->p.spi == p->spi && sa->p.proto == p->proto &&
			    ip_addr_eq(&sa->p.dst, &p->dst))
				return true;
	return false;
}

/* A new outbound SA that replaces another of its reqid to the same peer
 * (a rekey) starts with the path MTU the data plane knew for the old one
 * (RFC 4301 8.2 keeps it per peer): otherwise its first packet, usually a
 * full-size one in the middle of a flow, would be sent unchecked and lost
 * to a send refused for size when the path is small. */
static void inherit_path_mtu_locked(struct sad *sad, struct sa *sa)
{
	for (const struct sa *o = sad->out[bucket(sa->p.reqid, sa->p.proto)]; o; o = o->next_hash)
		if (o->p.reqid == sa->p.reqid && o->p.proto == sa->p.proto &&
		    ip_addr_eq(&o->p.dst, &sa->p.dst)) {
			sa->path_mtu_until = __atomic_load_n(&o->path_mtu_until, __ATOMIC_RELAXED);
			sa->path_mtu = __atomic_load_n(&o->path_mtu, __ATOMIC_RELAXED);
			return; /* newest first */
		}
}

int sad_install(struct sad *sad, const struct sa_params *p)
{
	struct sa *sa, **head;
	int ret = -1;

	if (check_params(p) < 0)
		return -1;
	sa = sa_create(p, sad->nworkers);
	if (!sa) {
		bad(p, "cannot set up the SA (crypto context or memory)");
		return -1;
	}
	pthread_mutex_lock(&sad->lock);
	if (p->dir == SA_DIR_IN && find_in_locked(sad, p->spi, p->proto)) {
		bad(p, "duplicate inbound SPI");
		goto out;
	}
	if (p->dir == SA_DIR_OUT && out_dup_locked(sad, p)) {
		bad(p, "duplicate outbound SPI for this destination");
		goto out;
	}
	sa_state_change(sa, SA_MATURE);
	if (p->dir == SA_DIR_OUT)
		inherit_path_mtu_locked(sad, sa);
	head = p->dir == SA_DIR_IN ? &sad->in[bucket(p->spi, p->proto)]
				   : &sad->out[bucket(p->reqid, p->proto)];
	/* newest first: after a rekey the new outbound SA is found first */
	sa->next_hash = *head;
	rcu_assign_pointer(*head, sa);
	__atomic_store_n(&sad->count, sad->count + 1, __ATOMIC_RELAXED);
	sa = NULL;
	ret = 0;
out:
	pthread_mutex_unlock(&sad->lock);
	if (sa)
		sa_destroy(sa);
	return ret;
}

/* Unlink *pp (readers may still be on it) and free after a grace period. */
static void unlink_locked(struct sad *sad, struct sa **pp)
{
	struct sa *sa = *pp;

	rcu_assign_pointer(*pp, sa->next_hash);
	sa_state_change(sa, SA_DEAD);
	__atomic_store_n(&sad->count, sad->count - 1, __ATOMIC_RELAXED);
	call_rcu((struct rcu_head *)&sa->rcu, sa_reclaim);
}

static bool sa_is(const struct sa *sa, uint32_t spi, uint8_t proto, const struct ip_addr *dst)
{
	return sa->p.spi == spi && sa->p.proto == proto && addr_match(dst, &sa->p.dst);
}

static unsigned delete_in_list(struct sad *sad, struct sa **pp, uint32_t spi, uint8_t proto,
			       const struct ip_addr *dst)
{
	unsigned n = 0;

	while (*pp) {
		struct sa *sa = *pp;
		if (sa_is(sa, spi, proto, dst)) {
			unlink_locked(sad, pp);
			n++;
		} else {
			pp = &sa->next_hash;
		}
	}
	return n;
}

int sad_delete(struct sad *sad, uint32_t spi, uint8_t proto, const struct ip_addr *dst)
{
	unsigned n;

	pthread_mutex_lock(&sad->lock);
	n = delete_in_list(sad, &sad->in[bucket(spi, proto)], spi, proto, dst);
	/* outbound SAs hash by reqid: scan (deletes are rare) */
	for (unsigned b = 0; b < SAD_BUCKETS; b++)
		n += delete_in_list(sad, &sad->out[b], spi, proto, dst);
	pthread_mutex_unlock(&sad->lock);
	return n ? 0 : -1;
}

int sad_retire(struct sad *sad, uint32_t spi, uint8_t proto, const struct ip_addr *dst,
	       uint64_t now_mono_s)
{
	unsigned n = 0;

	pthread_mutex_lock(&sad->lock);
	for (struct sa *sa = sad->in[bucket(spi, proto)]; sa; sa = sa->next_hash)
		if (sa_is(sa, spi, proto, dst)) {
			__atomic_store_n(&sa->retire_at, now_mono_s + SAD_RETIRE_DELAY_S,
					 __ATOMIC_RELAXED);
			n++;
		}
	pthread_mutex_unlock(&sad->lock);
	return n ? 0 : -1;
}

int sad_activate(struct sad *sad, uint32_t spi, uint8_t proto, const struct ip_addr *dst)
{
	unsigned n = 0;

	pthread_mutex_lock(&sad->lock);
	for (unsigned b = 0; b < SAD_BUCKETS; b++) /* outbound hash by reqid */
		for (struct sa *sa = sad->out[b]; sa; sa = sa->next_hash)
			if (sa_is(sa, spi, proto, dst)) {
				__atomic_store_n(&sa->p.standby, false, __ATOMIC_RELAXED);
				n++;
			}
	pthread_mutex_unlock(&sad->lock);
	return n ? 0 : -1;
}

static unsigned set_ports_in_list(struct sa *sa, uint32_t spi, uint8_t proto, uint16_t sport,
				  uint16_t dport)
{
	unsigned n = 0;

	for (; sa; sa = sa->next_hash) {
		if (sa->p.spi != spi || sa->p.proto != proto || !sa->p.encap_dport)
			continue;
		__atomic_store_n(&sa->p.encap_sport, sport, __ATOMIC_RELAXED);
		__atomic_store_n(&sa->p.encap_dport, dport, __ATOMIC_RELAXED);
		n++;
	}
	return n;
}

int sad_set_encap_ports(struct sad *sad, uint32_t spi, uint8_t proto, uint16_t sport,
			uint16_t dport)
{
	unsigned n;

	pthread_mutex_lock(&sad->lock);
	n = set_ports_in_list(sad->in[bucket(spi, proto)], spi, proto, sport, dport);
	for (unsigned b = 0; b < SAD_BUCKETS; b++) /* outbound hash by reqid */
		n += set_ports_in_list(sad->out[b], spi, proto, sport, dport);
	pthread_mutex_unlock(&sad->lock);
	return n ? 0 : -1;
}

int sad_seed_path_mtu(struct sad *sad, const struct sa_params *p, uint32_t mtu, uint64_t until_s)
{
	int ret = -1;

	pthread_mutex_lock(&sad->lock);
	for (struct sa *sa = sad->out[bucket(p->reqid, p->proto)]; sa; sa = sa->next_hash) {
		if (sa->p.spi != p->spi || sa->p.proto != p->proto || !ip_addr_eq(&sa->p.dst, &p->dst))
			continue;
		ret = __atomic_load_n(&sa->path_mtu_until, __ATOMIC_RELAXED) ? 1 : 0;
		if (!ret) {
			__atomic_store_n(&sa->path_mtu_until, until_s, __ATOMIC_RELAXED);
			__atomic_store_n(&sa->path_mtu, mtu, __ATOMIC_RELEASE);
		}
		break;
	}
	pthread_mutex_unlock(&sad->lock);
	return ret;
}

void sad_flush(struct sad *sad)
{
	pthread_mutex_lock(&sad->lock);
	for (unsigned b = 0; b < SAD_BUCKETS; b++) {
		while (sad->in[b])
			unlink_locked(sad, &sad->in[b]);
		while (sad->out[b])
			unlink_locked(sad, &sad->out[b]);
	}
	pthread_mutex_unlock(&sad->lock);
}

/* Remove the SAs of one origin only (clear crypto sa for manual SAs,
 * leaving IKE's children to IKE); with in_only, only inbound ones. */
unsigned sad_flush_origin(struct sad *sad, uint8_t origin, bool in_only)
{
	unsigned n = 0;

	pthread_mutex_lock(&sad->lock);
	for (unsigned b = 0; b < SAD_BUCKETS; b++) {
		struct sa **heads[2] = {&sad->in[b], &sad->out[b]};
		for (int k = 0; k < (in_only ? 1 : 2); k++) {
			struct sa **pp = heads[k];
			while (*pp) {
				if ((*pp)->p.origin == origin) {
					unlink_locked(sad, pp);
					n++;
				} else {
					pp = &(*pp)->next_hash;
				}
			}
		}
	}
	pthread_mutex_unlock(&sad->lock);
	return n;
}

void sad_free(struct sad *sad)
{
	if (!sad)
		return;
	sad_flush(sad);
	rcu_barrier(); /* every sa_reclaim has run */
	pthread_mutex_destroy(&sad->lock);
	free(sad);
}

/* ---- readers ---- */

struct sa *sad_lookup_in(struct sad *sad, uint32_t spi, uint8_t proto)
{
	struct sa *sa = rcu_dereference(sad->in[bucket(spi, proto)]);

	for (; sa; sa = rcu_dereference(sa->next_hash))
		if (sa->p.spi == spi && sa->p.proto == proto)
			return sa;
	return NULL;
}

struct sa *sad_lookup_out_flow(struct sad *sad, uint32_t reqid, uint8_t proto,
			       const struct flow *f)
{
	struct sa *sa = rcu_dereference(sad->out[bucket(reqid, proto)]), *standby = NULL;

	for (; sa; sa = rcu_dereference(sa->next_hash)) {
		if (sa->p.reqid != reqid || sa->p.proto != proto)
			continue;
		if (sa_state_get(sa) >= SA_HARD_EXPIRED)
			continue;
		if (f && sa->p.sel.n && !ts_list_match(&sa->p.sel, f, false))
			continue; /* another child of the policy (narrowed elsewhere) */
		if (!__atomic_load_n(&sa->p.standby, __ATOMIC_RELAXED))
			return sa;
		standby = sa; /* newest first: ends on the oldest standby */
	}
	return standby;
}

struct sa *sad_lookup_out(struct sad *sad, uint32_t reqid, uint8_t proto)
{
	return sad_lookup_out_flow(sad, reqid, proto, NULL);
}

static void foreach_locked(struct sad *sad, sad_visit_fn fn, void *arg)
{
	for (unsigned b = 0; b < SAD_BUCKETS; b++) {
		for (struct sa *sa = sad->in[b]; sa; sa = sa->next_hash)
			fn(sa, arg);
		for (struct sa *sa = sad->out[b]; sa; sa = sa->next_hash)
			fn(sa, arg);
	}
}

void sad_foreach(struct sad *sad, sad_visit_fn fn, void *arg)
{
	pthread_mutex_lock(&sad->lock);
	foreach_locked(sad, fn, arg);
	pthread_mutex_unlock(&sad->lock);
}

static void clear_one(struct sa *sa, void *arg)
{
	(void)arg;
	/* races with the owning workers' increments: a packet counted at
	 * the same instant may survive the clear, which is acceptable */
	memset(sa->stats, 0, sa->nworkers * sizeof(*sa->stats));
}

void sad_clear_counters(struct sad *sad)
{
	sad_foreach(sad, clear_one, NULL);
}

unsigned sad_count(struct sad *sad)
{
	return __atomic_load_n(&sad->count, __ATOMIC_RELAXED);
}

/* ---- lifetimes (RFC 4301 4.4.2.1: soft warns the key manager, hard ends
 * the SA) ---- */

void sad_set_expire_cb(struct sad *sad, sad_expire_fn fn, void *arg)
{
	sad->expire_fn = fn;
	sad->expire_arg = arg;
}

static void fire(struct sad *sad, struct sa *sa, enum expire_kind kind)
{
	enum sa_state to = kind == EXPIRE_SOFT ? SA_SOFT_EXPIRED : SA_HARD_EXPIRED;

	/* only the thread that wins the transition reports it */
	if (sa_state_change(sa, to) && sad->expire_fn)
		sad->expire_fn(sa, kind, sad->expire_arg);
}

static bool reached(uint64_t limit, uint64_t v)
{
	return limit && v >= limit;
}

bool sad_account(struct sad *sad, struct sa *sa, uint64_t bytes)
{
	uint64_t pk, by;
	const struct sa_params *p = &sa->p;

	if (sa_state_get(sa) >= SA_HARD_EXPIRED)
		return false;
	pk = __atomic_add_fetch(&sa->total_packets, 1, __ATOMIC_RELAXED);
	by = __atomic_add_fetch(&sa->total_bytes, bytes, __ATOMIC_RELAXED);
	if (sa_state_get(sa) == SA_MATURE &&
	    (reached(p->soft_packets, pk) || reached(p->soft_bytes, by)))
		fire(sad, sa, EXPIRE_SOFT);
	if (reached(p->hard_packets, pk) || reached(p->hard_bytes, by)) {
		fire(sad, sa, EXPIRE_HARD);
		/* the packet that lands exactly on the limit still counts */
		if ((p->hard_packets && pk > p->hard_packets) ||
		    (p->hard_bytes && by > p->hard_bytes))
			return false;
	}
	return true;
}

static void tick_one(struct sad *sad, struct sa *sa, uint64_t now)
{
	uint64_t age = now > sa->install_time ? now - sa->install_time : 0;
	uint64_t retire = __atomic_load_n(&sa->retire_at, __ATOMIC_RELAXED);
	enum sa_state st = sa_state_get(sa);

	if (retire && now >= retire) {
		sad_delete(sad, sa->p.spi, sa->p.proto, &sa->p.dst);
		return;
	}
	if (st == SA_MATURE && reached(sa->p.soft_seconds, age))
		fire(sad, sa, EXPIRE_SOFT);
	if (st < SA_HARD_EXPIRED && reached(sa->p.hard_seconds, age))
		fire(sad, sa, EXPIRE_HARD);
}

/* Walks under rcu_read_lock rather than the writer lock, so that the
 * expire callback may delete or install SAs (deletes use call_rcu, and an
 * unlinked SA keeps its next pointer, so the walk goes on safely). */
void sad_tick(struct sad *sad, uint64_t now_mono_s)
{
	rcu_read_lock();
	for (unsigned b = 0; b < SAD_BUCKETS; b++) {
		struct sa *sa;
		for (sa = rcu_dereference(sad->in[b]); sa; sa = rcu_dereference(sa->next_hash))
			tick_one(sad, sa, now_mono_s);
		for (sa = rcu_dereference(sad->out[b]); sa; sa = rcu_dereference(sa->next_hash))
			tick_one(sad, sa, now_mono_s);
	}
	rcu_read_unlock();
}
