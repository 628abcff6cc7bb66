/* Shared IKE pieces: connections, identities, retransmission schedule,
 * response cache, NAT detection hashes, cookies, the IKE SA table. */
#include "ike/ike.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- connections and identities ---- */

int ike_conn_copy(struct ike_conn *dst, const struct ike_conn *src)
{
	*dst = *src;
	dst->psk_local = src->psk_local ? secret_dup(src->psk_local) : NULL;
	dst->psk_remote = src->psk_remote ? secret_dup(src->psk_remote) : NULL;
	if ((src->psk_local && !dst->psk_local) || (src->psk_remote && !dst->psk_remote)) {
		ike_conn_clear(dst);
		return -1;
	}
	if (!dst->local_port)
		dst->local_port = IKE_PORT;
	if (!dst->remote_port)
		dst->remote_port = IKE_PORT;
	return 0;
}

void ike_conn_clear(struct ike_conn *c)
{
	secret_free(c->psk_local);
	secret_free(c->psk_remote);
	c->psk_local = c->psk_remote = NULL;
}

static const char *id_type_name(uint8_t t)
{
	switch (t) {
	case IKE_ID_ANY: return "any";
	case IKE_ID_IPV4: return "ipv4";
	case IKE_ID_FQDN: return "fqdn";
	case IKE_ID_RFC822: return "email";
	case IKE_ID_IPV6: return "ipv6";
	case IKE_ID_KEY_ID: return "key-id";
	default: return "type?";
	}
}

const char *ike_id_str(const struct ike_id *id, char *buf, size_t len)
{
	char a[IP_ADDR_STRLEN];
	struct ip_addr ip = {0};
	const char *name = id_type_name(id->type);

	if ((id->type == IKE_ID_IPV4 && id->len == 4) || (id->type == IKE_ID_IPV6 && id->len == 16)) {
		ip_addr_from_raw(&ip, id->len == 4 ? AF_INET : AF_INET6, id->data);
		snprintf(buf, len, "%s:%s", name, ip_addr_str(&ip, a));
	} else if (id->type == IKE_ID_KEY_ID) {
		/* RFC 7296 3.5: opaque octets; as text when printable, else hex */
		bool text = id->len > 0;
		size_t o = (size_t)snprintf(buf, len, "%s:", name);

		for (size_t i = 0; i < id->len; i++)
			text &= id->data[i] >= 0x20 && id->data[i] < 0x7f;
		if (!text && o < len)
			o += (size_t)snprintf(buf + o, len - o, "0x");
		for (size_t i = 0; i < id->len && o + 3 < len; i++)
			o += (size_t)(text ? snprintf(buf + o, len - o, "%c", id->data[i])
					   : snprintf(buf + o, len - o, "%02x", id->data[i]));
	} else {
		/* printable subset only: the peer chose these bytes */
		size_t o = (size_t)snprintf(buf, len, "%s:", name);
		for (size_t i = 0; i < id->len && o + 1 < len; i++, o++)
			buf[o] = (id->data[i] >= 0x20 && id->data[i] < 0x7f) ? (char)id->data[i] : '?';
		if (o < len)
			buf[o] = '\0';
	}
	return buf;
}

bool ike_id_eq(const struct ike_id *a, const struct ike_id *b)
{
	return a->type == b->type && a->len == b->len && !memcmp(a->data, b->data, a->len);
}

/* ---- retransmission (RFC 7296 2.1: the initiator retransmits, the
 * responder never does; 2.4: give up after several attempts) ---- */

#define RETX_CAP_MS 60000u

static uint64_t backoff(uint32_t base, uint8_t sent)
{
	uint64_t t = base;

	for (uint8_t i = 1; i < sent && t < RETX_CAP_MS; i++)
		t *= 2;
	return t < RETX_CAP_MS ? t : RETX_CAP_MS;
}

void ike_retx_start(struct ike_retx *r, uint8_t *buf, size_t len, uint64_t now, uint32_t base_ms)
{
	ike_retx_stop(r);
	r->buf = buf;
	r->len = len;
	r->sent = 1;
	r->due_ms = now + backoff(base_ms, 1);
}

bool ike_retx_due(struct ike_retx *r, uint64_t now, uint32_t base_ms, uint8_t tries)
{
	if (!r->buf || r->sent > tries)
		return false;
	r->sent++;
	r->due_ms = now + backoff(base_ms, r->sent);
	return true;
}

void ike_retx_stop(struct ike_retx *r)
{
	free(r->buf);
	r->buf = NULL;
	r->len = 0;
	r->sent = 0;
	r->due_ms = 0;
}

int ike_resp_cache_set(struct ike_resp_cache *rc, const uint8_t *buf, size_t len, uint32_t msgid)
{
	uint8_t *copy = malloc(len);

	if (!copy)
		return -1;
	memcpy(copy, buf, len);
	ike_resp_cache_clear(rc);
	rc->buf = copy;
	rc->len = len;
	rc->msgid = msgid;
	rc->valid = true;
	return 0;
}

void ike_resp_cache_clear(struct ike_resp_cache *rc)
{
	free(rc->buf);
	rc->buf = NULL;
	rc->len = 0;
	rc->valid = false;
}

/* ---- hashes ---- */

static int digest(const char *md, const void *const *p, const size_t *len, int n, uint8_t *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_get_digestbyname(md), NULL);

	for (int i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(ctx, p[i], len[i]);
	ok = ok && EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* 2.23: "SHA-1(SPIi | SPIr | IP | Port)", IP and port in network order. */
int ike_natd_hash(const uint8_t spi_i[8], const uint8_t spi_r[8], const struct ip_addr *a,
		  uint16_t port, uint8_t out[IKE_NATD_LEN])
{
	uint8_t pb[2] = {(uint8_t)(port >> 8), (uint8_t)port};
	const void *p[4] = {spi_i, spi_r, a->b, pb};
	size_t len[4] = {8, 8, ip_addr_len(a), 2};

	return digest("SHA1", p, len, 4, out);
}

int ike_cookie_rotate(struct ike_cookie_secret *s, const uint8_t fresh[32])
{
	memcpy(s->prev, s->cur, 32);
	s->have_prev = s->version != 0;
	memcpy(s->cur, fresh, 32);
	s->version++;
	return 0;
}

static int cookie_hash(const uint8_t secret[32], uint32_t version, const uint8_t *ni,
		       size_t ni_len, const struct ip_addr *ip, const uint8_t spi_i[8],
		       uint8_t out[IKE_COOKIE_LEN])
{
	const void *p[4] = {ni, ip->b, spi_i, secret};
	size_t len[4] = {ni_len, ip_addr_len(ip), 8, 32};

	out[0] = (uint8_t)(version >> 24);
	out[1] = (uint8_t)(version >> 16);
	out[2] = (uint8_t)(version >> 8);
	out[3] = (uint8_t)version;
	return digest("SHA256", p, len, 4, out + 4);
}

/* 2.6: Cookie = <VersionIDofSecret> | Hash(Ni | IPi | SPIi | <secret>) */
int ike_cookie_make(const struct ike_cookie_secret *s, const uint8_t *ni, size_t ni_len,
		    const struct ip_addr *ip, const uint8_t spi_i[8], uint8_t out[IKE_COOKIE_LEN])
{
	return cookie_hash(s->cur, s->version, ni, ni_len, ip, spi_i, out);
}

bool ike_cookie_check(const struct ike_cookie_secret *s, const uint8_t *ni, size_t ni_len,
		      const struct ip_addr *ip, const uint8_t spi_i[8], const uint8_t *cookie,
		      size_t len)
{
	uint8_t want[IKE_COOKIE_LEN];
	uint32_t v;
	const uint8_t *secret;

	if (len != IKE_COOKIE_LEN)
		return false;
	v = (uint32_t)cookie[0] << 24 | (uint32_t)cookie[1] << 16 | (uint32_t)cookie[2] << 8 |
	    cookie[3];
	if (v == s->version)
		secret = s->cur;
	else if (s->have_prev && v == s->version - 1)
		secret = s->prev; /* 2.6: accept the previous secret for a while */
	else
		return false;
	if (cookie_hash(secret, v, ni, ni_len, ip, spi_i, want))
		return false;
	return CRYPTO_memcmp(want, cookie, IKE_COOKIE_LEN) == 0;
}

void ike_cookie_wipe(struct ike_cookie_secret *s)
{
	OPENSSL_cleanse(s, sizeof(*s));
}

/* ---- SA table ---- */

static unsigned spi_bucket(const uint8_t spi[8])
{
	uint32_t h = 2166136261u; /* FNV-1a: our SPIs are random anyway */

	for (int i = 0; i < 8; i++)
		h = (h ^ spi[i]) * 16777619u;
	return h % IKE_SA_BUCKETS;
}

void ike_sa_table_add(struct ike_sa_table *t, struct ike_sa_entry *e)
{
	unsigned b = spi_bucket(e->spi);

	e->next = t->b[b];
	t->b[b] = e;
	t->count++;
}

void ike_sa_table_del(struct ike_sa_table *t, struct ike_sa_entry *e)
{
	struct ike_sa_entry **pp = &t->b[spi_bucket(e->spi)];

	for (; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			e->next = NULL;
			t->count--;
			return;
		}
}

struct ike_sa_entry *ike_sa_table_find(const struct ike_sa_table *t, const uint8_t spi[8])
{
	for (struct ike_sa_entry *e = t->b[spi_bucket(spi)]; e; e = e->next)
		if (!memcmp(e->spi, spi, 8))
			return e;
	return NULL;
}
