/* IKEv2 message trace for `debug crypto ikev2 [peer ADDR]`: one log line
 * per message, with every payload decoded the way an operator reads a
 * capture ("SA(ESP#1 aes-gcm-16-256/no-esn) TSi(198.19.1.0/24)").
 *
 * Never key material: KE shows the group and length, Nonce and AUTH only
 * their length (and the AUTH method), notify data only its length except
 * for the few notifies whose data is a plain number. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crypto/dh.h"
#include "ikev2/engine.h"
#include "lib/log.h"

struct tbuf {
	char s[2048];
	size_t o;
};

static void put(struct tbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct tbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->o >= sizeof(b->s) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->s + b->o, sizeof(b->s) - b->o, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->o += (size_t)n < sizeof(b->s) - b->o ? (size_t)n : sizeof(b->s) - 1 - b->o;
}

static const char *exch_name(uint8_t x)
{
	switch (x) {
	case IKEV2_EXCH_IKE_SA_INIT: return "IKE_SA_INIT";
	case IKEV2_EXCH_IKE_AUTH: return "IKE_AUTH";
	case IKEV2_EXCH_CREATE_CHILD_SA: return "CREATE_CHILD_SA";
	case IKEV2_EXCH_INFORMATIONAL: return "INFORMATIONAL";
	case IKEV2_EXCH_IKE_INTERMEDIATE: return "IKE_INTERMEDIATE";
	default: return NULL;
	}
}

static const char *notify_name(uint16_t t)
{
	static const struct {
		uint16_t t;
		const char *n;
	} names[] = {
		{IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD, "UNSUPPORTED_CRITICAL_PAYLOAD"},
		{IKEV2_N_INVALID_IKE_SPI, "INVALID_IKE_SPI"},
		{IKEV2_N_INVALID_MAJOR_VERSION, "INVALID_MAJOR_VERSION"},
		{IKEV2_N_INVALID_SYNTAX, "INVALID_SYNTAX"},
		{IKEV2_N_INVALID_MESSAGE_ID, "INVALID_MESSAGE_ID"},
		{IKEV2_N_INVALID_SPI, "INVALID_SPI"},
		{IKEV2_N_NO_PROPOSAL_CHOSEN, "NO_PROPOSAL_CHOSEN"},
		{IKEV2_N_INVALID_KE_PAYLOAD, "INVALID_KE_PAYLOAD"},
		{IKEV2_N_AUTHENTICATION_FAILED, "AUTHENTICATION_FAILED"},
		{IKEV2_N_SINGLE_PAIR_REQUIRED, "SINGLE_PAIR_REQUIRED"},
		{IKEV2_N_NO_ADDITIONAL_SAS, "NO_ADDITIONAL_SAS"},
		{IKEV2_N_INTERNAL_ADDRESS_FAILURE, "INTERNAL_ADDRESS_FAILURE"},
		{IKEV2_N_FAILED_CP_REQUIRED, "FAILED_CP_REQUIRED"},
		{IKEV2_N_TS_UNACCEPTABLE, "TS_UNACCEPTABLE"},
		{IKEV2_N_INVALID_SELECTORS, "INVALID_SELECTORS"},
		{IKEV2_N_TEMPORARY_FAILURE, "TEMPORARY_FAILURE"},
		{IKEV2_N_CHILD_SA_NOT_FOUND, "CHILD_SA_NOT_FOUND"},
		{IKEV2_N_INITIAL_CONTACT, "INITIAL_CONTACT"},
		{IKEV2_N_SET_WINDOW_SIZE, "SET_WINDOW_SIZE"},
		{IKEV2_N_ADDITIONAL_TS_POSSIBLE, "ADDITIONAL_TS_POSSIBLE"},
		{IKEV2_N_IPCOMP_SUPPORTED, "IPCOMP_SUPPORTED"},
		{IKEV2_N_NAT_DETECTION_SOURCE_IP, "NAT_DETECTION_SOURCE_IP"},
		{IKEV2_N_NAT_DETECTION_DESTINATION_IP, "NAT_DETECTION_DESTINATION_IP"},
		{IKEV2_N_COOKIE, "COOKIE"},
		{IKEV2_N_USE_TRANSPORT_MODE, "USE_TRANSPORT_MODE"},
		{IKEV2_N_REKEY_SA, "REKEY_SA"},
		{IKEV2_N_ESP_TFC_PADDING_NOT_SUPPORTED, "ESP_TFC_PADDING_NOT_SUPPORTED"},
		{IKEV2_N_NON_FIRST_FRAGMENTS_ALSO, "NON_FIRST_FRAGMENTS_ALSO"},
		{IKEV2_N_MOBIKE_SUPPORTED, "MOBIKE_SUPPORTED"},
		{IKEV2_N_MULTIPLE_AUTH_SUPPORTED, "MULTIPLE_AUTH_SUPPORTED"},
		{IKEV2_N_REDIRECT_SUPPORTED, "REDIRECT_SUPPORTED"},
		{IKEV2_N_CHILDLESS_IKEV2_SUPPORTED, "CHILDLESS_IKEV2_SUPPORTED"},
		{IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED, "IKEV2_FRAGMENTATION_SUPPORTED"},
		{IKEV2_N_SIGNATURE_HASH_ALGORITHMS, "SIGNATURE_HASH_ALGORITHMS"},
		{IKEV2_N_INTERMEDIATE_EXCHANGE_SUPPORTED, "INTERMEDIATE_EXCHANGE_SUPPORTED"},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].t == t)
			return names[i].n;
	return NULL;
}

static const char *proto_name(uint8_t p)
{
	return p == IKEV2_PROTO_IKE ? "IKE" : p == IKEV2_PROTO_ESP ? "ESP" :
	       p == IKEV2_PROTO_AH ? "AH" : "?";
}

static void put_sa(struct tbuf *b, const struct ikev2_sa *sa)
{
	char nb[48];

	put(b, "SA(");
	for (uint8_t k = 0; k < sa->n_prop; k++) {
		const struct ikev2_proposal *p = &sa->prop[k];

		put(b, "%s%s#%u", k ? " | " : "", proto_name(p->proto), p->num);
		if (p->spi_len == 4)
			put(b, " spi %02x%02x%02x%02x", p->spi[0], p->spi[1], p->spi[2], p->spi[3]);
		for (uint8_t i = 0; i < p->n_xf; i++)
			put(b, "%s%s", i ? "/" : " ", v2_xf_name(&p->xf[i], nb, sizeof(nb)));
	}
	put(b, ")");
}

static void put_id(struct tbuf *b, const char *tag, const struct ikev2_id *id)
{
	char a[IP_ADDR_STRLEN];
	size_t len = id->data.len;

	switch (id->type) {
	case IKEV2_ID_IPV4_ADDR:
	case IKEV2_ID_IPV6_ADDR:
		if (len == 4 || len == 16) {
			inet_ntop(len == 4 ? AF_INET : AF_INET6, id->data.p, a, sizeof(a));
			put(b, "%s(%s %s)", tag, len == 4 ? "IPV4" : "IPV6", a);
			return;
		}
		break;
	case IKEV2_ID_FQDN:
	case IKEV2_ID_RFC822_ADDR:
		/* printable only: a name is not a secret, but a terminal is fragile */
		put(b, "%s(%s ", tag, id->type == IKEV2_ID_FQDN ? "FQDN" : "EMAIL");
		for (size_t i = 0; i < len && i < 128; i++) {
			uint8_t c = id->data.p[i];
			put(b, "%c", c >= 0x20 && c < 0x7f ? c : '?');
		}
		put(b, ")");
		return;
	case IKEV2_ID_KEY_ID:
		put(b, "%s(KEY_ID ", tag);
		for (size_t i = 0; i < len && i < 64; i++)
			put(b, "%02x", id->data.p[i]);
		put(b, ")");
		return;
	}
	put(b, "%s(type %u, %zu bytes)", tag, id->type, len);
}

static void put_ts(struct tbuf *b, const char *tag, const struct ikev2_tsp *t)
{
	char s[IP_ADDR_STRLEN], e[IP_ADDR_STRLEN];

	put(b, "%s(", tag);
	for (uint8_t i = 0; i < t->n_ts; i++) {
		const struct ikev2_ts *x = &t->ts[i];
		int af = x->type == IKEV2_TS_IPV6_ADDR_RANGE ? AF_INET6 : AF_INET;

		inet_ntop(af, x->start, s, sizeof(s));
		inet_ntop(af, x->end, e, sizeof(e));
		put(b, "%s%s-%s", i ? ", " : "", s, e);
		if (x->ipproto)
			put(b, " proto %u", x->ipproto);
		if (x->start_port != 0 || x->end_port != 65535)
			put(b, " port %u-%u", x->start_port, x->end_port);
	}
	put(b, ")");
}

static void put_notify(struct tbuf *b, const struct ikev2_notify *n)
{
	const char *name = notify_name(n->type);

	if (name)
		put(b, "N(%s", name);
	else
		put(b, "N(%u", n->type);
	if (n->type == IKEV2_N_INVALID_KE_PAYLOAD && n->data.len == 2)
		put(b, " group %s", dh_group_name((uint16_t)(n->data.p[0] << 8 | n->data.p[1])));
	else if (n->spi_len == 4)
		put(b, " %s spi %02x%02x%02x%02x", proto_name(n->proto), n->spi[0], n->spi[1],
		    n->spi[2], n->spi[3]);
	put(b, ")");
}

static void put_delete(struct tbuf *b, const struct ikev2_delete *d)
{
	put(b, "D(%s", proto_name(d->proto));
	for (uint16_t i = 0; i < d->n_spi && i < 8 && d->spi_len == 4; i++) {
		const uint8_t *p = d->spis.p + 4 * i;
		put(b, " %02x%02x%02x%02x", p[0], p[1], p[2], p[3]);
	}
	put(b, ")");
}

static void put_pl(struct tbuf *b, const struct ikev2_pl *p)
{
	switch (p->type) {
	case IKEV2_PL_SA: put_sa(b, &p->u.sa); break;
	case IKEV2_PL_KE:
		put(b, "KE(%s, %zu bytes)", dh_group_name(p->u.ke.group), p->u.ke.data.len);
		break;
	case IKEV2_PL_NONCE: put(b, "No(%zu bytes)", p->u.nonce.len); break;
	case IKEV2_PL_IDI: put_id(b, "IDi", &p->u.id); break;
	case IKEV2_PL_IDR: put_id(b, "IDr", &p->u.id); break;
	case IKEV2_PL_AUTH:
		put(b, "AUTH(%s)", p->u.auth.method == IKEV2_AUTH_SHARED_KEY_MIC ? "PSK" :
				   p->u.auth.method == IKEV2_AUTH_RSA_SIG ? "RSA" : "sig");
		break;
	case IKEV2_PL_NOTIFY: put_notify(b, &p->u.n); break;
	case IKEV2_PL_DELETE: put_delete(b, &p->u.d); break;
	case IKEV2_PL_TSI: put_ts(b, "TSi", &p->u.ts); break;
	case IKEV2_PL_TSR: put_ts(b, "TSr", &p->u.ts); break;
	case IKEV2_PL_CERT: put(b, "CERT"); break;
	case IKEV2_PL_CERTREQ: put(b, "CERTREQ"); break;
	case IKEV2_PL_VENDOR: put(b, "V"); break;
	case IKEV2_PL_CP: put(b, "CP"); break;
	case IKEV2_PL_EAP: put(b, "EAP"); break;
	case IKEV2_PL_SK: put(b, "SK"); break;
	case IKEV2_PL_SKF: put(b, "SKF(%u/%u)", p->u.sk.frag_num, p->u.sk.frag_total); break;
	default: put(b, "PL%u", p->type); break;
	}
}

bool v2_trace_on(const struct ikev2 *e, const struct ip_addr *peer)
{
	if (e->trace == V2_TRACE_ALL)
		return true;
	return e->trace == V2_TRACE_PEER && peer && ip_addr_eq(peer, &e->trace_peer);
}

void v2_trace(const struct ikev2 *e, const char *conn, const struct ip_addr *peer, uint16_t port,
	      bool sent, const struct ikev2_hdr *h, const struct ikev2_pl *pl, size_t n,
	      size_t bytes)
{
	static struct tbuf b; /* main thread only */
	char a[IP_ADDR_STRLEN];
	const char *x = exch_name(h->exchange);

	if (!v2_trace_on(e, peer))
		return;
	b.o = 0;
	b.s[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		/* SK is the container; its contents follow in pl[] once decrypted */
		if (pl[i].type == IKEV2_PL_SK)
			continue;
		if (b.o)
			put(&b, " ");
		put_pl(&b, &pl[i]);
	}
	if (!x) {
		static char num[16];
		snprintf(num, sizeof(num), "exchange %u", h->exchange);
		x = num;
	}
	log_info("ikev2 trace %s: %s %s[%u] %s %s %u [ %s ] (%zu bytes)", conn ? conn : "-",
		 sent ? "->" : "<-", ip_addr_str(peer, a), port, x,
		 (h->flags & IKEV2_FLAG_RESPONSE) ? "response" : "request", h->msgid, b.s, bytes);
}

void ikev2_set_trace(struct ikev2 *e, bool on, const struct ip_addr *peer)
{
	e->trace = !on ? V2_TRACE_OFF : peer ? V2_TRACE_PEER : V2_TRACE_ALL;
	if (peer)
		e->trace_peer = *peer;
}
