/* IKE fragmentation (RFC 7383): the fragment size for an SA, and the
 * bounded reassembly of received SKF fragments.
 *
 *   HDR(msgid n), SKF{1/3 | IV | E(first part) | ICV}  -->
 *   HDR(msgid n), SKF{2/3 | ...}  -->
 *   HDR(msgid n), SKF{3/3 | ...}  -->     the message is processed whole
 *
 * Each fragment is verified and decrypted on its own (2.6) before it is
 * kept, so nobody without the keys can fill our buffers. Fragments are
 * kept only for the message ID we are waiting for (the caller checked it
 * against the window), at most V2_FRAG_MAX of them and V2_FRAG_BYTES in
 * all, for V2_FRAG_TIMEOUT_MS.
 */
#include <stdlib.h>
#include <string.h>

#include "ikev2/engine.h"
#include "lib/log.h"

#define IP4_UDP_HDRS (20 + 8)
#define IP6_UDP_HDRS (40 + 8)
#define NON_ESP_MARKER 4
#define FRAG_MIN 256 /* never cut into pieces smaller than this */

size_t v2_frag_mtu(const struct v2_sa *sa)
{
	size_t mtu = sa->conn->frag_mtu, hdrs;

	/* 2.3: only when both announced IKEV2_FRAGMENTATION_SUPPORTED */
	if (!sa->frag_ok || !mtu)
		return 0;
	/* 2.5.1: without a configured size, 576 for IPv4 and 1280 for IPv6 */
	if (mtu == IKE_FRAG_MTU_DEFAULT)
		mtu = sa->remote.af == AF_INET6 ? 1280 : 576;
	/* 2.5.1: the limit is for the IP datagram carrying the fragment */
	hdrs = sa->remote.af == AF_INET6 ? IP6_UDP_HDRS : IP4_UDP_HDRS;
	if (sa->lport == IKE_NATT_PORT || sa->rport == IKE_NATT_PORT)
		hdrs += NON_ESP_MARKER;
	mtu = mtu > hdrs ? mtu - hdrs : 0;
	return mtu < FRAG_MIN ? FRAG_MIN : mtu;
}

void v2_frag_clear(struct v2_frags *f)
{
	for (unsigned i = 0; i < V2_FRAG_MAX; i++) {
		if (f->part[i]) {
			secret_wipe(f->part[i], f->part_len[i]);
			free(f->part[i]);
		}
	}
	memset(f, 0, sizeof(*f));
}

/* A fragment of another message than the one being collected, or a
 * stale collection: start over. A retransmission cut into more pieces
 * (smaller MTU, 2.6.1) also starts over; one with fewer is dropped. */
static bool frag_fits(struct v2_sa *sa, const struct ikev2_msg *m, uint16_t total)
{
	struct v2_frags *f = &sa->frags;
	bool resp = m->hdr.flags & IKEV2_FLAG_RESPONSE;
	uint64_t now = v2_now(sa->eng);

	if (f->active && (f->msgid != m->hdr.msgid || f->response != resp ||
			  now - f->started_ms > V2_FRAG_TIMEOUT_MS))
		v2_frag_clear(f);
	if (f->active && total < f->total) {
		v2_drop(sa->eng, V2_DROP_UNEXPECTED, "fragment of an older transmission");
		return false;
	}
	if (f->active && total > f->total)
		v2_frag_clear(f);
	if (!f->active) {
		f->active = true;
		f->response = resp;
		f->msgid = m->hdr.msgid;
		f->total = total;
		f->started_ms = now;
	}
	return true;
}

/* All there: the inner payloads, in order, appended to m. */
static int frag_assemble(struct v2_sa *sa, struct ikev2_msg *m, uint8_t **plain)
{
	struct v2_frags *f = &sa->frags;
	size_t off = 0, bytes = f->bytes;
	uint8_t first = f->inner_next;

	*plain = malloc(bytes ? bytes : 1);
	if (!*plain) {
		v2_frag_clear(f);
		return -1;
	}
	for (unsigned i = 0; i < f->total; i++) {
		memcpy(*plain + off, f->part[i], f->part_len[i]);
		off += f->part_len[i];
	}
	log_debug("ikev2 %s: message %u reassembled from %u fragments, %zu bytes",
		  sa->conn->name, f->msgid, f->total, bytes);
	v2_frag_clear(f);
	if (ikev2_msg_parse_inner(m, *plain, bytes, first)) {
		v2_drop(sa->eng, V2_DROP_PARSE, "reassembled payloads malformed");
		return -1;
	}
	return 1;
}

int v2_frag_input(struct v2_sa *sa, struct ikev2_msg *m, const uint8_t *buf, size_t len,
		  uint8_t **plain)
{
	const struct ikev2_pl *skf = ikev2_msg_find(m, IKEV2_PL_SKF);
	struct v2_frags *f = &sa->frags;
	uint16_t num = skf->u.sk.frag_num, total = skf->u.sk.frag_total;
	uint8_t *p;
	size_t plen;

	if (!sa->enc_in || !sa->conn->frag_mtu) {
		v2_drop(sa->eng, V2_DROP_UNEXPECTED, "fragment, but fragmentation is off");
		return -1;
	}
	if (total > V2_FRAG_MAX) {
		v2_drop(sa->eng, V2_DROP_UNEXPECTED, "too many fragments");
		return -1;
	}
	/* 2.6: the ICV is checked before the fragment may change anything:
	 * one that does not verify is silently discarded, and must not clear
	 * the fragments collected so far nor raise the expected Total
	 * Fragments (frag_fits), or one forged packet blocks the exchange. */
	p = malloc(skf->u.sk.body_len);
	if (!p)
		return -1;
	if (ikev2_sk_decrypt(buf, len, &skf->u.sk, sa->enc_in, sa->mac_in, p, &plen)) {
		v2_drop(sa->eng, V2_DROP_DECRYPT, "SKF does not verify");
		free(p);
		return -1;
	}
	if (!frag_fits(sa, m, total)) {
		secret_wipe(p, plen);
		free(p);
		return -1;
	}
	if (f->part[num - 1]) { /* a duplicate (retransmission) */
		secret_wipe(p, plen);
		free(p);
		return 0;
	}
	if (f->bytes + plen > V2_FRAG_BYTES) {
		v2_drop(sa->eng, V2_DROP_UNEXPECTED, "fragmented message too long");
		secret_wipe(p, plen);
		free(p);
		v2_frag_clear(f);
		return -1;
	}
	f->part[num - 1] = p;
	f->part_len[num - 1] = plen;
	f->bytes += plen;
	f->have++;
	if (num == 1) /* 2.5: only fragment 1 names the first inner payload */
		f->inner_next = skf->u.sk.inner_next;
	return f->have < f->total ? 0 : frag_assemble(sa, m, plain);
}
