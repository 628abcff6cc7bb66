/* IKEv2 message parser and builder (RFC 7296 3). See msg.h.
 *
 * Parsing: every length is checked against the bytes left before anything
 * behind it is read; each payload body is parsed through a sub-cursor that
 * ends exactly where the payload ends, so a body parser cannot read into
 * the next payload. */
#include "ikev2/msg.h"

#include <openssl/crypto.h>
#include <string.h>

#include "crypto/cipher.h"

static const char *const err_names[IKEV2_ERR_COUNT] = {
    [IKEV2_OK] = "ok",
    [IKEV2_ERR_TRUNCATED_HEADER] = "truncated header",
    [IKEV2_ERR_BAD_VERSION] = "bad major version",
    [IKEV2_ERR_LENGTH_MISMATCH] = "length mismatch",
    [IKEV2_ERR_TOO_LONG] = "message too long",
    [IKEV2_ERR_PAYLOAD_TRUNCATED] = "payload header truncated",
    [IKEV2_ERR_PAYLOAD_LENGTH] = "bad payload length",
    [IKEV2_ERR_TRAILING_DATA] = "trailing data",
    [IKEV2_ERR_TOO_MANY_PAYLOADS] = "too many payloads",
    [IKEV2_ERR_UNSUPPORTED_CRITICAL] = "unsupported critical payload",
    [IKEV2_ERR_SK_NOT_LAST] = "encrypted payload not last",
    [IKEV2_ERR_BAD_SA] = "malformed SA payload",
    [IKEV2_ERR_BAD_SPI_SIZE] = "bad SPI size",
    [IKEV2_ERR_TOO_MANY_PROPOSALS] = "too many proposals or transforms",
    [IKEV2_ERR_BAD_KE] = "malformed KE payload",
    [IKEV2_ERR_BAD_NONCE] = "bad nonce length",
    [IKEV2_ERR_BAD_ID] = "malformed ID payload",
    [IKEV2_ERR_BAD_CERT] = "malformed CERT/CERTREQ payload",
    [IKEV2_ERR_BAD_AUTH] = "malformed AUTH payload",
    [IKEV2_ERR_BAD_NOTIFY] = "malformed notify payload",
    [IKEV2_ERR_BAD_DELETE] = "malformed delete payload",
    [IKEV2_ERR_BAD_TS] = "malformed traffic selector",
    [IKEV2_ERR_BAD_SK] = "malformed encrypted payload",
    [IKEV2_ERR_BAD_SKF] = "malformed encrypted fragment",
    [IKEV2_ERR_BAD_CP] = "malformed configuration payload",
    [IKEV2_ERR_BUILD] = "cannot build message",
    [IKEV2_ERR_DECRYPT] = "integrity check or padding failed",
};

const char *ikev2_err_str(enum ikev2_err e)
{
	if ((unsigned)e >= IKEV2_ERR_COUNT || !err_names[e])
		return "unknown error";
	return err_names[e];
}

/* ================================================================
 * Parsing
 * ================================================================ */

static bool view_rest(struct cur *c, struct ikev2_bytes *b)
{
	b->len = cur_left(c);
	return cur_view(c, &b->p, b->len);
}

/* SPI sizes allowed per protocol (3.3.1): IKE 0 (IKE_SA_INIT) or 8
 * (rekeying the IKE SA), ESP/AH 4. */
static bool spi_size_ok(uint8_t proto, uint8_t len)
{
	if (proto == IKEV2_PROTO_IKE)
		return len == 0 || len == 8;
	if (proto == IKEV2_PROTO_ESP || proto == IKEV2_PROTO_AH)
		return len == 4;
	return false;
}

/* Transform attributes (3.3.5): only Key Length is defined for IKEv2, in
 * TV format (AF=1). Anything else makes the SA payload unparseable. */
static enum ikev2_err parse_xform_attrs(struct cur *c, struct ikev2_transform *xf)
{
	while (cur_left(c)) {
		uint16_t type, val;

		if (!cur_u16(c, &type) || !cur_u16(c, &val))
			return IKEV2_ERR_BAD_SA;
		if (type != (IKEV2_ATTR_AF | IKEV2_ATTR_KEY_LENGTH) || xf->key_bits || !val)
			return IKEV2_ERR_BAD_SA;
		xf->key_bits = val;
	}
	return IKEV2_OK;
}

/*  Transform substructure (3.3.2):
 * | Last Substruc |   RESERVED    |        Transform Length       |
 * |Transform Type |   RESERVED    |          Transform ID         |
 * ~                      Transform Attributes                     ~
 */
static enum ikev2_err parse_xform(struct cur *c, bool last, struct ikev2_transform *xf)
{
	uint8_t more, res, type, res2;
	uint16_t len, id;
	struct cur sub;

	if (!cur_u8(c, &more) || !cur_u8(c, &res) || !cur_u16(c, &len))
		return IKEV2_ERR_BAD_SA;
	if (len < IKEV2_XFORM_HDR_LEN || len - 4u > cur_left(c))
		return IKEV2_ERR_BAD_SA;
	if (more != (last ? IKEV2_XFORM_LAST : IKEV2_XFORM_MORE))
		return IKEV2_ERR_BAD_SA;
	cur_sub(c, &sub, len - 4u);
	if (!cur_u8(&sub, &type) || !cur_u8(&sub, &res2) || !cur_u16(&sub, &id))
		return IKEV2_ERR_BAD_SA;
	memset(xf, 0, sizeof(*xf));
	xf->type = type;
	xf->id = id;
	return parse_xform_attrs(&sub, xf);
}

/*  Proposal substructure (3.3.1):
 * | Last Substruc |   RESERVED    |         Proposal Length       |
 * | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
 * ~                        SPI (variable)                         ~
 * ~                        <Transforms>                           ~
 */
static enum ikev2_err parse_proposal(struct ikev2_msg *m, struct cur *c, bool *last,
                                     struct ikev2_proposal *p)
{
	uint8_t more, res;
	uint16_t len;
	struct cur sub;
	enum ikev2_err e;

	if (!cur_u8(c, &more) || !cur_u8(c, &res) || !cur_u16(c, &len))
		return IKEV2_ERR_BAD_SA;
	if (len < IKEV2_PROP_HDR_LEN || len - 4u > cur_left(c))
		return IKEV2_ERR_BAD_SA;
	if (more != IKEV2_PROP_LAST && more != IKEV2_PROP_MORE)
		return IKEV2_ERR_BAD_SA;
	*last = more == IKEV2_PROP_LAST;
	cur_sub(c, &sub, len - 4u);
	memset(p, 0, sizeof(*p));
	if (!cur_u8(&sub, &p->num) || !cur_u8(&sub, &p->proto) || !cur_u8(&sub, &p->spi_len) ||
	    !cur_u8(&sub, &p->n_xf))
		return IKEV2_ERR_BAD_SA;
	if (!spi_size_ok(p->proto, p->spi_len))
		return IKEV2_ERR_BAD_SPI_SIZE;
	if (!cur_bytes(&sub, p->spi, p->spi_len) || p->n_xf == 0)
		return IKEV2_ERR_BAD_SA;
	if (p->n_xf > IKEV2_MAX_TRANSFORMS || m->n_xf + p->n_xf > IKEV2_POOL_TRANSFORMS)
		return IKEV2_ERR_TOO_MANY_PROPOSALS;
	p->xf = &m->xfs[m->n_xf];
	m->n_xf += p->n_xf;
	for (uint8_t i = 0; i < p->n_xf; i++) {
		e = parse_xform(&sub, i + 1 == p->n_xf, &p->xf[i]);
		if (e)
			return e;
	}
	return cur_left(&sub) ? IKEV2_ERR_BAD_SA : IKEV2_OK;
}

/* SA payload (3.3): proposals numbered 1, 2, ... (a number may repeat
 * for AND-ed protocols); the last one says so. A response carries the one
 * accepted proposal under the number it was offered with (3.3.1: "the
 * responder MUST ... keep the same proposal number"), so the first number
 * may be anything from 1 up; after it, numbers repeat or grow by one. */
static enum ikev2_err parse_sa(struct ikev2_msg *m, struct cur *c, struct ikev2_sa *sa)
{
	bool last = false;
	enum ikev2_err e;

	sa->prop = &m->props[m->n_prop];
	sa->n_prop = 0;
	while (!last) {
		struct ikev2_proposal *p;
		uint8_t prev;

		if (sa->n_prop >= IKEV2_MAX_PROPOSALS || m->n_prop >= IKEV2_POOL_PROPOSALS)
			return IKEV2_ERR_TOO_MANY_PROPOSALS;
		p = &m->props[m->n_prop++];
		e = parse_proposal(m, c, &last, p);
		if (e)
			return e;
		if (sa->n_prop == 0) {
			if (p->num == 0)
				return IKEV2_ERR_BAD_SA;
		} else {
			prev = sa->prop[sa->n_prop - 1].num;
			if (p->num != prev && p->num != prev + 1)
				return IKEV2_ERR_BAD_SA;
		}
		sa->n_prop++;
	}
	return cur_left(c) ? IKEV2_ERR_BAD_SA : IKEV2_OK;
}

/* KE (3.4): DH Group Num | RESERVED | Key Exchange Data */
static enum ikev2_err parse_ke(struct cur *c, struct ikev2_ke *ke)
{
	uint16_t res;

	if (!cur_u16(c, &ke->group) || !cur_u16(c, &res) || !view_rest(c, &ke->data) ||
	    ke->data.len == 0)
		return IKEV2_ERR_BAD_KE;
	return IKEV2_OK;
}

/* Ni/Nr (3.9): 16..256 bytes. */
static enum ikev2_err parse_nonce(struct cur *c, struct ikev2_bytes *n)
{
	view_rest(c, n);
	if (n->len < IKEV2_NONCE_MIN || n->len > IKEV2_NONCE_MAX)
		return IKEV2_ERR_BAD_NONCE;
	return IKEV2_OK;
}

/* One-byte type, three reserved bytes, data (ID 3.5, AUTH 3.8, CP 3.15). */
static bool parse_type_rsvd3(struct cur *c, uint8_t *type, struct ikev2_bytes *data)
{
	return cur_u8(c, type) && cur_skip(c, 3) && view_rest(c, data);
}

static enum ikev2_err parse_id(struct cur *c, struct ikev2_id *id)
{
	if (!parse_type_rsvd3(c, &id->type, &id->data) || id->data.len == 0)
		return IKEV2_ERR_BAD_ID;
	return IKEV2_OK;
}

static enum ikev2_err parse_auth(struct cur *c, struct ikev2_auth *a)
{
	if (!parse_type_rsvd3(c, &a->method, &a->data) || a->data.len == 0)
		return IKEV2_ERR_BAD_AUTH;
	return IKEV2_OK;
}

/* CERT (3.6) / CERTREQ (3.7): Encoding | data. */
static enum ikev2_err parse_cert(struct cur *c, struct ikev2_cert *cert)
{
	if (!cur_u8(c, &cert->encoding) || !view_rest(c, &cert->data))
		return IKEV2_ERR_BAD_CERT;
	return IKEV2_OK;
}

/*  Notify (3.10):
 * |  Protocol ID  |   SPI Size    |      Notify Message Type      |
 * ~                Security Parameter Index (SPI)                 ~
 * ~                       Notification Data                       ~
 */
static enum ikev2_err parse_notify(struct cur *c, struct ikev2_notify *n)
{
	if (!cur_u8(c, &n->proto) || !cur_u8(c, &n->spi_len) || !cur_u16(c, &n->type))
		return IKEV2_ERR_BAD_NOTIFY;
	if (n->spi_len > IKEV2_MAX_SPI_LEN || !cur_bytes(c, n->spi, n->spi_len))
		return IKEV2_ERR_BAD_NOTIFY;
	view_rest(c, &n->data);
	return IKEV2_OK;
}

/*  Delete (3.11):
 * | Protocol ID   |   SPI Size    |          Num of SPIs          |
 * ~               Security Parameter Index(es) (SPI)              ~
 * IKE: SPI size 0 and no SPIs; ESP/AH: SPI size 4.
 */
static enum ikev2_err parse_delete(struct cur *c, struct ikev2_delete *d)
{
	if (!cur_u8(c, &d->proto) || !cur_u8(c, &d->spi_len) || !cur_u16(c, &d->n_spi))
		return IKEV2_ERR_BAD_DELETE;
	if (d->proto == IKEV2_PROTO_IKE) {
		if (d->spi_len != 0 || d->n_spi != 0)
			return IKEV2_ERR_BAD_DELETE;
	} else if (d->proto != IKEV2_PROTO_ESP && d->proto != IKEV2_PROTO_AH) {
		return IKEV2_ERR_BAD_DELETE;
	} else if (d->spi_len != 4 || d->n_spi == 0) {
		return IKEV2_ERR_BAD_DELETE;
	}
	view_rest(c, &d->spis);
	if (d->spis.len != (size_t)d->n_spi * d->spi_len)
		return IKEV2_ERR_BAD_DELETE;
	return IKEV2_OK;
}

/*  Traffic selector (3.13.1):
 * |   TS Type     |IP Protocol ID*|       Selector Length         |
 * |           Start Port*         |           End Port*           |
 * ~                         Starting Address*                     ~
 * ~                         Ending Address*                       ~
 */
static enum ikev2_err parse_one_ts(struct cur *c, struct ikev2_ts *ts)
{
	uint16_t len;
	size_t alen;

	memset(ts, 0, sizeof(*ts));
	if (!cur_u8(c, &ts->type) || !cur_u8(c, &ts->ipproto) || !cur_u16(c, &len))
		return IKEV2_ERR_BAD_TS;
	if (ts->type == IKEV2_TS_IPV4_ADDR_RANGE && len == IKEV2_TS4_LEN)
		alen = 4;
	else if (ts->type == IKEV2_TS_IPV6_ADDR_RANGE && len == IKEV2_TS6_LEN)
		alen = 16;
	else
		return IKEV2_ERR_BAD_TS;
	if (!cur_u16(c, &ts->start_port) || !cur_u16(c, &ts->end_port) ||
	    !cur_bytes(c, ts->start, alen) || !cur_bytes(c, ts->end, alen))
		return IKEV2_ERR_BAD_TS;
	return IKEV2_OK;
}

/* TSi/TSr (3.13): Number of TSs | RESERVED (3) | selectors */
static enum ikev2_err parse_ts(struct ikev2_msg *m, struct cur *c, struct ikev2_tsp *tsp)
{
	enum ikev2_err e;

	if (!cur_u8(c, &tsp->n_ts) || !cur_skip(c, 3) || tsp->n_ts == 0)
		return IKEV2_ERR_BAD_TS;
	if (tsp->n_ts > IKEV2_MAX_TS || m->n_ts + tsp->n_ts > IKEV2_POOL_TS)
		return IKEV2_ERR_BAD_TS;
	tsp->ts = &m->tss[m->n_ts];
	m->n_ts += tsp->n_ts;
	for (uint8_t i = 0; i < tsp->n_ts; i++) {
		e = parse_one_ts(c, &tsp->ts[i]);
		if (e)
			return e;
	}
	return cur_left(c) ? IKEV2_ERR_BAD_TS : IKEV2_OK;
}

bool ikev2_cp_attr_next(struct cur *c, uint16_t *type, struct ikev2_bytes *value)
{
	uint16_t t, len;

	if (!cur_left(c) || !cur_u16(c, &t) || !cur_u16(c, &len))
		return false;
	value->len = len;
	if (!cur_view(c, &value->p, len))
		return false;
	*type = t & 0x7fff; /* top bit reserved (3.15.1) */
	return true;
}

/* CP (3.15): CFG Type | RESERVED (3) | attributes, each
 * R|Attribute Type (15) | Length | Value. */
static enum ikev2_err parse_cp(struct cur *c, struct ikev2_cp *cp)
{
	struct cur attrs;
	struct ikev2_bytes v;
	uint16_t t;

	if (!parse_type_rsvd3(c, &cp->type, &cp->attrs))
		return IKEV2_ERR_BAD_CP;
	attrs = cur_init(cp->attrs.p, cp->attrs.len);
	while (ikev2_cp_attr_next(&attrs, &t, &v))
		;
	return cur_ok(&attrs) && !cur_left(&attrs) ? IKEV2_OK : IKEV2_ERR_BAD_CP;
}

/* SKF (RFC 7383 2.5): Fragment Number | Total Fragments | IV | ... */
static enum ikev2_err parse_skf(struct cur *c, struct ikev2_sk *sk)
{
	if (!cur_u16(c, &sk->frag_num) || !cur_u16(c, &sk->frag_total))
		return IKEV2_ERR_BAD_SKF;
	if (sk->frag_num == 0 || sk->frag_num > sk->frag_total)
		return IKEV2_ERR_BAD_SKF;
	return IKEV2_OK;
}

static bool payload_known(uint8_t type)
{
	return (type >= IKEV2_PL_SA && type <= IKEV2_PL_EAP) || type == IKEV2_PL_SKF;
}

static enum ikev2_err parse_body(struct ikev2_msg *m, struct ikev2_pl *pl, struct cur *c)
{
	switch (pl->type) {
	case IKEV2_PL_SA:
		return parse_sa(m, c, &pl->u.sa);
	case IKEV2_PL_KE:
		return parse_ke(c, &pl->u.ke);
	case IKEV2_PL_IDI:
	case IKEV2_PL_IDR:
		return parse_id(c, &pl->u.id);
	case IKEV2_PL_CERT:
	case IKEV2_PL_CERTREQ:
		return parse_cert(c, &pl->u.cert);
	case IKEV2_PL_AUTH:
		return parse_auth(c, &pl->u.auth);
	case IKEV2_PL_NONCE:
		return parse_nonce(c, &pl->u.nonce);
	case IKEV2_PL_NOTIFY:
		return parse_notify(c, &pl->u.n);
	case IKEV2_PL_DELETE:
		return parse_delete(c, &pl->u.d);
	case IKEV2_PL_TSI:
	case IKEV2_PL_TSR:
		return parse_ts(m, c, &pl->u.ts);
	case IKEV2_PL_CP:
		return parse_cp(c, &pl->u.cp);
	case IKEV2_PL_SKF:
		return parse_skf(c, &pl->u.sk);
	case IKEV2_PL_SK: /* bounds only: parse_sk() */
		return IKEV2_OK;
	default: /* V, EAP and unknown non-critical: raw */
		view_rest(c, &pl->u.nonce);
		return IKEV2_OK;
	}
}

/* The encrypted payload must be the last one (3.14); inside it there is
 * no further SK or SKF. */
static enum ikev2_err parse_sk(struct ikev2_pl *pl, uint8_t next, size_t hdr_off, bool inner,
                               const struct cur *rest)
{
	struct ikev2_sk *sk = &pl->u.sk;
	size_t extra = pl->type == IKEV2_PL_SKF ? IKEV2_SKF_HDR_LEN : 0;

	if (inner)
		return IKEV2_ERR_BAD_SK;
	if (cur_left(rest))
		return IKEV2_ERR_SK_NOT_LAST;
	sk->inner_next = next;
	sk->hdr_off = hdr_off;
	sk->body_off = hdr_off + IKEV2_GEN_HDR_LEN + extra;
	sk->body_len = pl->body.len - extra;
	if (sk->body_len == 0)
		return pl->type == IKEV2_PL_SKF ? IKEV2_ERR_BAD_SKF : IKEV2_ERR_BAD_SK;
	return IKEV2_OK;
}

/*  Generic payload header (3.2), validated before the body is touched:
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 */
static enum ikev2_err parse_one(struct ikev2_msg *m, struct cur *c, uint8_t type, uint8_t *next,
                                bool inner, size_t base)
{
	size_t hdr_off = base + c->off;
	struct ikev2_pl *pl;
	uint8_t flags;
	uint16_t len;
	struct cur body;
	enum ikev2_err e;

	if (cur_left(c) < IKEV2_GEN_HDR_LEN)
		return IKEV2_ERR_PAYLOAD_TRUNCATED;
	cur_u8(c, next);
	cur_u8(c, &flags);
	cur_u16(c, &len);
	if (len < IKEV2_GEN_HDR_LEN || len - (size_t)IKEV2_GEN_HDR_LEN > cur_left(c))
		return IKEV2_ERR_PAYLOAD_LENGTH;
	if (m->n_pl >= IKEV2_MAX_PAYLOADS)
		return IKEV2_ERR_TOO_MANY_PAYLOADS;
	cur_sub(c, &body, len - IKEV2_GEN_HDR_LEN);
	pl = &m->pl[m->n_pl];
	memset(pl, 0, sizeof(*pl));
	pl->type = type;
	pl->critical = flags & IKEV2_CRITICAL;
	pl->inner = inner;
	pl->body.len = cur_left(&body);
	pl->body.p = cur_ptr(&body);
	/* 2.5: an unknown payload with the critical bit set is fatal. */
	if (!payload_known(type) && pl->critical)
		return IKEV2_ERR_UNSUPPORTED_CRITICAL;
	e = parse_body(m, pl, &body);
	if (!e && (type == IKEV2_PL_SK || type == IKEV2_PL_SKF)) {
		e = parse_sk(pl, *next, hdr_off, inner, c);
		*next = IKEV2_PL_NONE;
	}
	if (e)
		return e;
	m->n_pl++;
	return IKEV2_OK;
}

/* base: offset of c's first byte in the message (for SK offsets). */
static enum ikev2_err parse_chain(struct ikev2_msg *m, struct cur *c, uint8_t next, bool inner,
                                  size_t base)
{
	enum ikev2_err e;

	while (next != IKEV2_PL_NONE) {
		uint8_t type = next;

		e = parse_one(m, c, type, &next, inner, base);
		if (e)
			return e;
	}
	return cur_left(c) ? IKEV2_ERR_TRAILING_DATA : IKEV2_OK;
}

static void parse_hdr(struct cur *c, struct ikev2_hdr *h)
{
	cur_bytes(c, h->spi_i, 8);
	cur_bytes(c, h->spi_r, 8);
	cur_u8(c, &h->next);
	cur_u8(c, &h->version);
	cur_u8(c, &h->exchange);
	cur_u8(c, &h->flags);
	cur_u32(c, &h->msgid);
	cur_u32(c, &h->length);
}

enum ikev2_err ikev2_msg_parse(const uint8_t *buf, size_t len, struct ikev2_msg *m)
{
	struct cur c = cur_init(buf, len);

	memset(m, 0, sizeof(*m));
	if (len > IKEV2_MAX_MSG_LEN)
		return IKEV2_ERR_TOO_LONG;
	if (len < IKEV2_HDR_LEN)
		return IKEV2_ERR_TRUNCATED_HEADER;
	parse_hdr(&c, &m->hdr);
	if (IKEV2_MAJOR(m->hdr.version) != 2)
		return IKEV2_ERR_BAD_VERSION;
	if (m->hdr.length != len)
		return IKEV2_ERR_LENGTH_MISMATCH;
	return parse_chain(m, &c, m->hdr.next, false, 0);
}

enum ikev2_err ikev2_msg_parse_inner(struct ikev2_msg *m, const uint8_t *plain, size_t len,
                                     uint8_t first)
{
	struct cur c = cur_init(plain, len);

	return parse_chain(m, &c, first, true, 0);
}

const struct ikev2_pl *ikev2_msg_find(const struct ikev2_msg *m, uint8_t type)
{
	for (size_t i = 0; i < m->n_pl; i++)
		if (m->pl[i].type == type)
			return &m->pl[i];
	return NULL;
}

const struct ikev2_notify *ikev2_msg_find_notify(const struct ikev2_msg *m, uint16_t type)
{
	for (size_t i = 0; i < m->n_pl; i++)
		if (m->pl[i].type == IKEV2_PL_NOTIFY && m->pl[i].u.n.type == type)
			return &m->pl[i].u.n;
	return NULL;
}

/* ================================================================
 * Building
 * ================================================================ */

static bool put_bytes(struct wcur *w, const struct ikev2_bytes *b)
{
	return wcur_bytes(w, b->p, b->len);
}

static bool build_xform(struct wcur *w, const struct ikev2_transform *xf, bool last)
{
	uint16_t len = IKEV2_XFORM_HDR_LEN + (xf->key_bits ? 4 : 0);

	wcur_u8(w, last ? IKEV2_XFORM_LAST : IKEV2_XFORM_MORE);
	wcur_u8(w, 0);
	wcur_u16(w, len);
	wcur_u8(w, xf->type);
	wcur_u8(w, 0);
	wcur_u16(w, xf->id);
	if (xf->key_bits) {
		wcur_u16(w, IKEV2_ATTR_AF | IKEV2_ATTR_KEY_LENGTH);
		wcur_u16(w, xf->key_bits);
	}
	return !w->failed;
}

static bool build_proposal(struct wcur *w, const struct ikev2_proposal *p, bool last)
{
	size_t start = w->off;
	uint8_t *len;

	if (p->spi_len > IKEV2_MAX_SPI_LEN || !p->n_xf)
		return false;
	wcur_u8(w, last ? IKEV2_PROP_LAST : IKEV2_PROP_MORE);
	wcur_u8(w, 0);
	len = wcur_reserve(w, 2);
	wcur_u8(w, p->num);
	wcur_u8(w, p->proto);
	wcur_u8(w, p->spi_len);
	wcur_u8(w, p->n_xf);
	wcur_bytes(w, p->spi, p->spi_len);
	for (uint8_t i = 0; i < p->n_xf; i++)
		build_xform(w, &p->xf[i], i + 1 == p->n_xf);
	if (w->failed || w->off - start > 0xffff)
		return false;
	put_be16(len, (uint16_t)(w->off - start));
	return true;
}

static bool build_sa(struct wcur *w, const struct ikev2_sa *sa)
{
	for (uint8_t i = 0; i < sa->n_prop; i++)
		if (!build_proposal(w, &sa->prop[i], i + 1 == sa->n_prop))
			return false;
	return sa->n_prop > 0;
}

static bool build_type_rsvd3(struct wcur *w, uint8_t type, const struct ikev2_bytes *data)
{
	wcur_u8(w, type);
	wcur_zero(w, 3);
	return put_bytes(w, data);
}

static bool build_notify(struct wcur *w, const struct ikev2_notify *n)
{
	if (n->spi_len > IKEV2_MAX_SPI_LEN)
		return false;
	wcur_u8(w, n->proto);
	wcur_u8(w, n->spi_len);
	wcur_u16(w, n->type);
	wcur_bytes(w, n->spi, n->spi_len);
	return put_bytes(w, &n->data);
}

static bool build_delete(struct wcur *w, const struct ikev2_delete *d)
{
	if (d->spis.len != (size_t)d->n_spi * d->spi_len)
		return false;
	wcur_u8(w, d->proto);
	wcur_u8(w, d->spi_len);
	wcur_u16(w, d->n_spi);
	return put_bytes(w, &d->spis);
}

static bool build_ts(struct wcur *w, const struct ikev2_tsp *tsp)
{
	wcur_u8(w, tsp->n_ts);
	wcur_zero(w, 3);
	for (uint8_t i = 0; i < tsp->n_ts; i++) {
		const struct ikev2_ts *ts = &tsp->ts[i];
		bool v4 = ts->type == IKEV2_TS_IPV4_ADDR_RANGE;
		size_t alen = v4 ? 4 : 16;

		if (!v4 && ts->type != IKEV2_TS_IPV6_ADDR_RANGE)
			return false;
		wcur_u8(w, ts->type);
		wcur_u8(w, ts->ipproto);
		wcur_u16(w, v4 ? IKEV2_TS4_LEN : IKEV2_TS6_LEN);
		wcur_u16(w, ts->start_port);
		wcur_u16(w, ts->end_port);
		wcur_bytes(w, ts->start, alen);
		wcur_bytes(w, ts->end, alen);
	}
	return tsp->n_ts > 0 && !w->failed;
}

/* SK/SKF re-emitted from the received body (see msg.h). */
static bool build_sk_raw(struct wcur *w, const struct ikev2_pl *pl)
{
	if (pl->type == IKEV2_PL_SKF) {
		wcur_u16(w, pl->u.sk.frag_num);
		wcur_u16(w, pl->u.sk.frag_total);
		return wcur_bytes(w, pl->body.p + IKEV2_SKF_HDR_LEN,
		                  pl->body.len - IKEV2_SKF_HDR_LEN);
	}
	return put_bytes(w, &pl->body);
}

static bool build_body(struct wcur *w, const struct ikev2_pl *pl)
{
	switch (pl->type) {
	case IKEV2_PL_SA:
		return build_sa(w, &pl->u.sa);
	case IKEV2_PL_KE:
		wcur_u16(w, pl->u.ke.group);
		wcur_u16(w, 0);
		return put_bytes(w, &pl->u.ke.data);
	case IKEV2_PL_IDI:
	case IKEV2_PL_IDR:
		return build_type_rsvd3(w, pl->u.id.type, &pl->u.id.data);
	case IKEV2_PL_CERT:
	case IKEV2_PL_CERTREQ:
		wcur_u8(w, pl->u.cert.encoding);
		return put_bytes(w, &pl->u.cert.data);
	case IKEV2_PL_AUTH:
		return build_type_rsvd3(w, pl->u.auth.method, &pl->u.auth.data);
	case IKEV2_PL_NOTIFY:
		return build_notify(w, &pl->u.n);
	case IKEV2_PL_DELETE:
		return build_delete(w, &pl->u.d);
	case IKEV2_PL_TSI:
	case IKEV2_PL_TSR:
		return build_ts(w, &pl->u.ts);
	case IKEV2_PL_CP:
		return build_type_rsvd3(w, pl->u.cp.type, &pl->u.cp.attrs);
	case IKEV2_PL_SK:
	case IKEV2_PL_SKF:
		return build_sk_raw(w, pl);
	default: /* Nonce, V, EAP, unknown */
		return put_bytes(w, &pl->u.nonce);
	}
}

static uint8_t chain_next(const struct ikev2_pl *pl, size_t i, size_t n)
{
	if (pl[i].type == IKEV2_PL_SK || pl[i].type == IKEV2_PL_SKF)
		return pl[i].u.sk.inner_next;
	return i + 1 < n ? pl[i + 1].type : IKEV2_PL_NONE;
}

enum ikev2_err ikev2_payloads_build(const struct ikev2_pl *pl, size_t n, struct wcur *w)
{
	for (size_t i = 0; i < n; i++) {
		size_t start = w->off;
		uint8_t *len;
		bool sk = pl[i].type == IKEV2_PL_SK || pl[i].type == IKEV2_PL_SKF;

		if (sk && i + 1 != n)
			return IKEV2_ERR_BUILD;
		wcur_u8(w, chain_next(pl, i, n));
		wcur_u8(w, pl[i].critical ? IKEV2_CRITICAL : 0);
		len = wcur_reserve(w, 2);
		if (!build_body(w, &pl[i]) || w->failed || w->off - start > 0xffff)
			return IKEV2_ERR_BUILD;
		put_be16(len, (uint16_t)(w->off - start));
	}
	return IKEV2_OK;
}

static uint8_t *build_hdr(struct wcur *w, const struct ikev2_hdr *h, uint8_t next)
{
	uint8_t *len;

	wcur_bytes(w, h->spi_i, 8);
	wcur_bytes(w, h->spi_r, 8);
	wcur_u8(w, next);
	wcur_u8(w, h->version);
	wcur_u8(w, h->exchange);
	wcur_u8(w, h->flags);
	wcur_u32(w, h->msgid);
	len = wcur_reserve(w, 4);
	return w->failed ? NULL : len;
}

enum ikev2_err ikev2_msg_build(const struct ikev2_msg *m, struct wcur *w)
{
	size_t start = w->off, n = 0;
	uint8_t *len;
	enum ikev2_err e;

	/* Inner payloads belong inside an SK built by ikev2_sk_encrypt. */
	while (n < m->n_pl && !m->pl[n].inner)
		n++;
	len = build_hdr(w, &m->hdr, n ? m->pl[0].type : IKEV2_PL_NONE);
	if (!len)
		return IKEV2_ERR_BUILD;
	e = ikev2_payloads_build(m->pl, n, w);
	if (e)
		return e;
	if (w->off - start > IKEV2_MAX_MSG_LEN)
		return IKEV2_ERR_BUILD;
	put_be32(len, (uint32_t)(w->off - start));
	return IKEV2_OK;
}

/* ================================================================
 * Encrypted payload (3.14, RFC 5282, RFC 7383)
 * ================================================================ */

#define ICV_MAX 64

struct sk_params {
	size_t iv_len, block, icv_len;
	bool aead;
};

static bool sk_params(struct cipher *c, struct mac *integ, struct sk_params *sp)
{
	const struct encr_alg *a = cipher_alg(c);

	if (!a || a->auth_only)
		return false;
	sp->aead = a->aead;
	sp->iv_len = a->iv_len;
	sp->block = a->block_len ? a->block_len : 1;
	if (a->aead) {
		sp->icv_len = a->icv_len;
		return integ == NULL;
	}
	if (!integ || !mac_alg(integ))
		return false;
	sp->icv_len = mac_alg(integ)->icv_len;
	return sp->icv_len <= ICV_MAX;
}

/* 3.14: Padding makes (payloads | padding | pad length) a multiple of
 * the block size. */
static size_t pad_len(size_t plain_len, size_t block)
{
	return (block - (plain_len + 1) % block) % block;
}

static bool sk_seal(const struct sk_params *sp, struct cipher *enc, struct mac *integ, uint8_t *msg,
                    size_t iv_off, size_t enc_len)
{
	uint8_t *iv = msg + iv_off, *data = iv + sp->iv_len, *icv = data + enc_len;
	struct aad a = {.n = 1};

	if (crypto_random(iv, sp->iv_len))
		return false;
	if (sp->aead) {
		/* RFC 5282 5.1: A = IKE header .. end of the SK payload header. */
		a.p[0] = msg;
		a.len[0] = iv_off;
		return cipher_aead(enc, iv, &a, data, enc_len, icv) == 0;
	}
	if (cipher_crypt(enc, iv, data, enc_len))
		return false;
	a.p[0] = msg;
	a.len[0] = (size_t)(icv - msg); /* 3.14: the whole message up to the ICV */
	return mac_compute(integ, &a, icv) == 0;
}

enum ikev2_err ikev2_sk_encrypt(const struct ikev2_hdr *hdr, uint8_t inner_first, uint16_t frag_num,
                                uint16_t frag_total, const uint8_t *plain, size_t plain_len,
                                struct cipher *enc, struct mac *integ, struct wcur *w)
{
	bool frag = frag_total > 0;
	size_t start = w->off, sk_hdr = IKEV2_GEN_HDR_LEN + (frag ? IKEV2_SKF_HDR_LEN : 0u);
	struct sk_params sp;
	size_t pad, enc_len, total;
	uint8_t *msg, *data, *len;

	if (!sk_params(enc, integ, &sp) || (frag && (!frag_num || frag_num > frag_total)))
		return IKEV2_ERR_BUILD;
	pad = pad_len(plain_len, sp.block);
	enc_len = plain_len + pad + 1;
	total = IKEV2_HDR_LEN + sk_hdr + sp.iv_len + enc_len + sp.icv_len;
	if (total > IKEV2_MAX_MSG_LEN || w->failed || w->cap - w->off < total)
		return IKEV2_ERR_BUILD;
	msg = w->p + start;
	len = build_hdr(w, hdr, frag ? IKEV2_PL_SKF : IKEV2_PL_SK);
	if (!len)
		return IKEV2_ERR_BUILD;
	put_be32(len, (uint32_t)total);
	wcur_u8(w, inner_first);
	wcur_u8(w, 0);
	wcur_u16(w, (uint16_t)(total - IKEV2_HDR_LEN));
	if (frag) {
		wcur_u16(w, frag_num);
		wcur_u16(w, frag_total);
	}
	wcur_reserve(w, sp.iv_len);
	data = wcur_reserve(w, enc_len);
	wcur_reserve(w, sp.icv_len);
	if (w->failed)
		return IKEV2_ERR_BUILD;
	memcpy(data, plain, plain_len);
	memset(data + plain_len, 0, pad);
	data[plain_len + pad] = (uint8_t)pad;
	if (!sk_seal(&sp, enc, integ, msg, IKEV2_HDR_LEN + sk_hdr, enc_len))
		return IKEV2_ERR_BUILD;
	return IKEV2_OK;
}

enum ikev2_err ikev2_sk_decrypt(const uint8_t *buf, size_t len, const struct ikev2_sk *sk,
                                struct cipher *dec, struct mac *integ, uint8_t *out,
                                size_t *out_len)
{
	uint8_t icv[ICV_MAX];
	const uint8_t *iv, *ct;
	struct sk_params sp;
	struct aad a = {.n = 1};
	size_t ct_len;
	bool ok;

	if (!sk_params(dec, integ, &sp) || sp.icv_len > ICV_MAX)
		return IKEV2_ERR_BUILD;
	if (sk->body_off > len || sk->body_len > len - sk->body_off ||
	    sk->body_len < sp.iv_len + sp.icv_len + 1)
		return IKEV2_ERR_BAD_SK;
	iv = buf + sk->body_off;
	ct = iv + sp.iv_len;
	ct_len = sk->body_len - sp.iv_len - sp.icv_len;
	if (ct_len % sp.block && !sp.aead)
		return IKEV2_ERR_BAD_SK;
	memcpy(icv, ct + ct_len, sp.icv_len);
	memcpy(out, ct, ct_len);
	a.p[0] = buf;
	if (sp.aead) {
		a.len[0] = sk->body_off;
		ok = cipher_aead(dec, iv, &a, out, ct_len, icv) == 0;
	} else {
		a.len[0] = (size_t)(ct + ct_len - buf);
		ok = mac_verify(integ, &a, icv) && cipher_crypt(dec, iv, out, ct_len) == 0;
	}
	/* 3.14: Pad Length is the last decrypted byte. */
	if (!ok || out[ct_len - 1] >= ct_len) {
		OPENSSL_cleanse(out, ct_len);
		return IKEV2_ERR_DECRYPT;
	}
	*out_len = ct_len - out[ct_len - 1] - 1u;
	return IKEV2_OK;
}
