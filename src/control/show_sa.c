/* show crypto ipsec sa, clear crypto sa [counters].
 *
 * The SAD is read with sad_foreach into a snapshot (the callback holds the
 * SAD's writer lock, so it only copies), then grouped per policy (reqid:
 * one crypto map entry or one tunnel interface) and printed in the IOS
 * layout, one block per crypto map entry with its inbound and outbound
 * ESP, AH and IPComp ("pcp") SAs. Keys are never read here. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/model.h"
#include "control/internal.h"
#include "crypto/alg.h"
#include "dataplane/dp.h"
#include "ipsec/sad.h"
#include "lib/log.h"

struct snap {
	struct sa_params p; /* key pointers are NULL (sa.h) */
	struct sa_stats st;
	int state;
	uint64_t install_time, total_bytes, retire_at;
	uint32_t path_mtu; /* asked or learned by the data plane; 0: not known */
};

struct snaps {
	struct snap *v;
	unsigned n, cap;
	bool failed;
};

static void snap_one(struct sa *sa, void *arg)
{
	struct snaps *s = arg;
	struct snap *sn;

	if (s->n == s->cap) {
		unsigned cap = s->cap ? 2 * s->cap : 16;
		struct snap *v = realloc(s->v, cap * sizeof(*v));
		if (!v) {
			s->failed = true;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	sn = &s->v[s->n++];
	sn->p = sa->p;
	sn->p.encr_key = sn->p.integ_key = NULL;
	sa_stats_sum(sa, &sn->st);
	sn->state = sa_state_get(sa);
	sn->install_time = sa->install_time;
	sn->retire_at = __atomic_load_n(&sa->retire_at, __ATOMIC_RELAXED);
	sn->p.standby = __atomic_load_n(&sa->p.standby, __ATOMIC_RELAXED);
	sn->total_bytes = __atomic_load_n(&sa->total_bytes, __ATOMIC_RELAXED);
	sn->path_mtu = __atomic_load_n(&sa->path_mtu, __ATOMIC_RELAXED);
}

/* Selectors in a stable order (show only: by their text). */
static int sel_cmp(const struct ts_list *x, const struct ts_list *y)
{
	char a[TS_STRLEN], b[TS_STRLEN];

	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	for (unsigned i = 0; i < x->n; i++) {
		int c = strcmp(ts_str(&x->ts[i], a, sizeof(a)), ts_str(&y->ts[i], b, sizeof(b)));

		if (c)
			return c;
	}
	return 0;
}

/* By entry, then by child SA (a policy may have several, each for a part
 * of its ACL: RFC 7296 2.9), then inbound before outbound. */
static int snap_cmp(const void *a, const void *b)
{
	const struct snap *x = a, *y = b;
	int c = strcmp(x->p.name, y->p.name);

	if (c)
		return c;
	if (x->p.reqid != y->p.reqid)
		return x->p.reqid < y->p.reqid ? -1 : 1;
	c = sel_cmp(&x->p.sel, &y->p.sel);
	if (c)
		return c;
	if (x->p.dir != y->p.dir)
		return x->p.dir < y->p.dir ? -1 : 1;
	if (x->p.proto != y->p.proto)
		return x->p.proto < y->p.proto ? -1 : 1;
	return x->p.spi < y->p.spi ? -1 : x->p.spi > y->p.spi;
}

/* ---- one group (crypto map entry) ---------------------------------------- */

struct group {
	const struct snap *sa;
	unsigned n;
	char map[72];      /* struct sa_params name: map (or interface) [+ " SEQ"] */
	uint32_t seq;
	bool is_map; /* name is "MAP SEQ" */
	const struct cfg_map_entry *entry;
	const struct cfg_transform_set *ts;
	struct ip_addr local, peer;
	uint16_t peer_port; /* UDP encapsulation: the peer's port (NAT'ed); 0 = native */
	char ifname[CFG_NAME_MAX];
	uint32_t replay_window;
	/* IOS counters */
	uint64_t encaps, encrypt, digest, decaps, decrypt, verify;
	uint64_t compressed, decompressed, not_compressed, compr_failed, decompr_failed;
	uint64_t send_errors, recv_errors;
	uint64_t drops[DROP__COUNT];
	uint32_t out_spi;
	uint32_t path_mtu; /* of the outbound SA carrying traffic; 0: not known */
	bool has_out_spi, out_standby;
};

/* "VPN 10" -> map VPN, seq 10; anything else (a tunnel interface) is
 * its own name with seq 0. */
static void parse_name(const char *name, struct group *g)
{
	const char *sp = strrchr(name, ' ');
	char *end;
	unsigned long seq;

	g->is_map = false;
	g->seq = 0;
	snprintf(g->map, sizeof(g->map), "%s", name);
	if (!sp || sp == name)
		return;
	seq = strtoul(sp + 1, &end, 10);
	if (*end || end == sp + 1 || seq > 65535)
		return;
	g->is_map = true;
	g->seq = (uint32_t)seq;
	snprintf(g->map, sizeof(g->map), "%.*s", (int)(sp - name), name);
}

static void group_interface(const struct config *c, struct group *g)
{
	const struct cfg_map_binding *b = g->is_map ? config_map_binding(c, g->map) : NULL;

	if (!g->is_map) {
		/* an interface name: shorter than CFG_NAME_MAX */
		snprintf(g->ifname, sizeof(g->ifname), "%.*s", CFG_NAME_MAX - 1, g->map);
		return;
	}
	if (b && b->ifname[0]) {
		snprintf(g->ifname, sizeof(g->ifname), "%s", b->ifname);
		return;
	}
	for (unsigned i = 0; i < c->nifs; i++)
		if (strcmp(c->ifs[i].crypto_map, g->map) == 0) {
			snprintf(g->ifname, sizeof(g->ifname), "%s", c->ifs[i].name);
			return;
		}
	snprintf(g->ifname, sizeof(g->ifname), "%s", c->tun_ifname[0] ? c->tun_ifname : "ipsec0");
}

static bool has_integrity(const struct sa_params *p)
{
	const struct encr_alg *a = encr_alg_find(p->encr_id);

	if (p->proto == IPSEC_PROTO_AH)
		return true;
	return p->proto == IPSEC_PROTO_ESP && (p->integ_id != AUTH_NONE || (a && a->aead));
}

static bool has_encryption(const struct sa_params *p)
{
	const struct encr_alg *a = encr_alg_find(p->encr_id);

	return p->proto == IPSEC_PROTO_ESP && p->encr_id != ENCR_NULL &&
	       p->encr_id != ENCR_NONE && !(a && a->auth_only);
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static void count_sa(struct group *g, const struct snap *s)
{
	const struct sa_params *p = &s->p;
	bool out = p->dir == SA_DIR_OUT;
	uint64_t drops = 0;

	for (int d = 1; d < DROP__COUNT; d++) {
		g->drops[d] += s->st.drops[d];
		drops += s->st.drops[d];
	}
	if (out)
		g->send_errors += drops;
	else
		g->recv_errors += drops;
	if (p->proto == IPSEC_PROTO_COMP) {
		if (out) {
			g->compressed += s->st.compressed;
			g->not_compressed += s->st.not_compressed;
			g->compr_failed += s->st.drops[DROP_COMP];
		} else {
			g->decompressed += s->st.compressed ? s->st.compressed : s->st.packets;
			g->decompr_failed += s->st.drops[DROP_COMP];
		}
		return;
	}
	if (out) {
		g->encaps = max64(g->encaps, s->st.packets);
		if (has_encryption(p))
			g->encrypt += s->st.packets;
		if (has_integrity(p))
			g->digest = max64(g->digest, s->st.packets);
	} else {
		g->decaps = max64(g->decaps, s->st.packets);
		if (has_encryption(p))
			g->decrypt += s->st.packets;
		if (has_integrity(p))
			g->verify = max64(g->verify, s->st.packets);
	}
}

/* Whether SA p was made from transform set ts (its protocol, cipher, key
 * size and integrity). */
static bool ts_made(const struct cfg_transform_set *ts, const struct sa_params *p)
{
	if (p->proto == IPSEC_PROTO_AH)
		return ts->ah_integ == p->integ_id;
	if (p->proto != IPSEC_PROTO_ESP || !ts->has_esp)
		return false;
	return ts->esp_encr == p->encr_id && ts->esp_integ == p->integ_id &&
	       (!ts->esp_key_bits || ts->esp_key_bits == p->encr_key_bits);
}

/* Of the entry's transform sets (several are proposals: IKE chose one),
 * the one the group's ESP or AH SA was negotiated from. */
static const struct cfg_transform_set *group_ts(const struct config *c,
						const struct cfg_ts_list *l, const struct group *g)
{
	for (unsigned k = 0; k < g->n; k++) {
		if (g->sa[k].p.proto == IPSEC_PROTO_COMP)
			continue;
		for (unsigned i = 0; i < l->n; i++) {
			const struct cfg_transform_set *ts = config_transform_set(c, l->name[i]);
			if (ts && ts_made(ts, &g->sa[k].p))
				return ts;
		}
		break;
	}
	return NULL;
}

static void group_build(const struct config *c, struct group *g)
{
	parse_name(g->sa[0].p.name, g);
	for (unsigned i = 0; i < c->nmaps && g->is_map; i++)
		if (strcmp(c->maps[i].map, g->map) == 0 && c->maps[i].seq == g->seq)
			g->entry = &c->maps[i];
	if (g->entry) {
		g->ts = group_ts(c, &g->entry->ts, g);
	} else if (!g->is_map) { /* a tunnel interface: its ipsec profile's sets */
		for (unsigned i = 0; i < c->nifs && !g->ts; i++) {
			const struct cfg_ipsec_profile *ip =
				strcmp(c->ifs[i].name, g->map) == 0
					? config_ipsec_profile(c, c->ifs[i].tun_protection)
					: NULL;
			g->ts = ip ? group_ts(c, &ip->ts, g) : NULL;
		}
	}
	group_interface(c, g);
	for (unsigned i = 0; i < g->n; i++) {
		const struct snap *s = &g->sa[i];

		if (s->p.dir == SA_DIR_OUT) {
			g->local = s->p.src;
			g->peer = s->p.dst;
			if (s->p.encap_dport)
				g->peer_port = s->p.encap_dport;
			/* the one carrying traffic: a standby SA only if alone */
			if (s->p.proto != IPSEC_PROTO_COMP &&
			    (!g->has_out_spi || (g->out_standby && !s->p.standby))) {
				g->out_spi = s->p.spi;
				g->path_mtu = s->path_mtu;
				g->has_out_spi = true;
				g->out_standby = s->p.standby;
			}
		} else {
			if (!g->peer.af)
				g->peer = s->p.src;
			if (!g->local.af)
				g->local = s->p.dst;
			/* inbound: the peer sends from encap_sport (RFC 3948) */
			if (!g->peer_port && s->p.encap_sport)
				g->peer_port = s->p.encap_sport;
			if (s->p.proto != IPSEC_PROTO_COMP)
				g->replay_window = max64(g->replay_window, s->p.replay_window) &
						   0xffffffffu;
		}
		count_sa(g, s);
	}
}

/* ---- text ---------------------------------------------------------------- */

static const char *proto_word(uint8_t proto)
{
	return proto == IPSEC_PROTO_ESP ? "esp" : proto == IPSEC_PROTO_AH ? "ah" : "pcp";
}

/* The transform words of the set that belong to this SA's protocol
 * ("esp-aes esp-sha-hmac" for ESP, "ah-sha-hmac" for AH, "comp-lzs" for
 * IPComp); from the algorithm registry when no set is known. */
static void transform_text(const struct group *g, const struct sa_params *p, struct strbuf *b)
{
	const char *pfx = p->proto == IPSEC_PROTO_ESP ? "esp-" :
			  p->proto == IPSEC_PROTO_AH  ? "ah-" : "comp-";
	size_t start = b->len;

	if (g->ts) {
		bool prev = false;
		for (unsigned i = 0; i < g->ts->nwords; i++) {
			const char *w = g->ts->words[i];
			/* "esp-aes 256": a key size goes with the word before it */
			bool take = strncmp(w, pfx, strlen(pfx)) == 0 ||
				    (prev && w[0] >= '0' && w[0] <= '9');
			prev = take;
			if (take)
				strbuf_printf(b, "%s%s", b->len > start ? " " : "", w);
		}
		if (b->len > start)
			return;
	}
	if (p->proto == IPSEC_PROTO_COMP) {
		strbuf_printf(b, "comp-deflate");
		return;
	}
	const struct encr_alg *e = encr_alg_find(p->encr_id);
	const struct integ_alg *i = integ_alg_find(p->integ_id);
	if (p->proto == IPSEC_PROTO_ESP && e)
		strbuf_printf(b, "esp-%s", e->name);
	if (i)
		strbuf_printf(b, "%s%s-%s", b->len > start ? " " : "", pfx, i->name);
	if (b->len == start)
		strbuf_printf(b, "%s", proto_word(p->proto));
}

static const char *state_text(int st)
{
	switch (st) {
	case SA_LARVAL:
		return "PENDING";
	case SA_MATURE:
		return "ACTIVE";
	case SA_SOFT_EXPIRED:
		return "ACTIVE(REKEYING)";
	case SA_HARD_EXPIRED:
		return "EXPIRED";
	default:
		return "DELETED";
	}
}

/* After a rekey (ipsec/sad.h): the old inbound SA deleted a few seconds
 * from now; the new outbound SA waiting for the peer's DELETE of the old. */
static const char *status_text(const struct snap *s)
{
	if (s->state < SA_HARD_EXPIRED && s->retire_at)
		return "RETIRING";
	if (s->state < SA_HARD_EXPIRED && s->p.standby)
		return "STANDBY";
	return state_text(s->state);
}

static void ident_text(struct strbuf *b, const struct ip_prefix *pf, uint8_t proto,
		       uint16_t lo, uint16_t hi)
{
	char a[IP_ADDR_STRLEN], m[IP_ADDR_STRLEN];
	unsigned port = lo == hi ? lo : 0;

	if (pf->addr.af == AF_INET6) {
		strbuf_printf(b, "(%s/%u/%u/%u)", ip_addr_str(&pf->addr, a), pf->len, proto, port);
		return;
	}
	ip_len_to_mask(pf->addr.af ? pf->len : 0, false, m);
	strbuf_printf(b, "(%s/%s/%u/%u)", pf->addr.af ? ip_addr_str(&pf->addr, a) : "0.0.0.0", m,
		      proto, port);
}

/* Lifetimes: manual SAs have none in time (IOS prints "no sa timing"). */
static void timing_text(struct strbuf *b, const struct snap *s)
{
	const struct sa_params *p = &s->p;
	uint64_t now = now_ns() / 1000000000ull, kb = 0, secs = 0;

	if (!p->hard_bytes && !p->hard_seconds) {
		strbuf_printf(b, "        no sa timing\n");
		return;
	}
	if (p->hard_bytes)
		kb = p->hard_bytes > s->total_bytes ? (p->hard_bytes - s->total_bytes) / 1024 : 0;
	if (p->hard_seconds)
		secs = p->hard_seconds > now - s->install_time
			       ? p->hard_seconds - (now - s->install_time)
			       : 0;
	strbuf_printf(b, "        sa timing: remaining key lifetime (k/sec): (%llu/%llu)\n",
		      (unsigned long long)kb, (unsigned long long)secs);
}

static void sa_text(struct strbuf *b, const struct group *g, const struct snap *s)
{
	const struct sa_params *p = &s->p;

	strbuf_printf(b, "      spi: 0x%X(%u)\n", p->spi, p->spi);
	strbuf_printf(b, "        transform: ");
	transform_text(g, p, b);
	strbuf_printf(b, " ,\n");
	strbuf_printf(b, "        in use settings ={%s, %s}\n",
		      p->mode == IPSEC_MODE_TRANSPORT ? "Transport" : "Tunnel",
		      p->encap_dport ? "UDP-Encaps, " : "");
	strbuf_printf(b, "        crypto map: %s\n", g->map);
	timing_text(b, s);
	if (p->proto != IPSEC_PROTO_COMP) {
		strbuf_printf(b, "        replay detection support: %s\n",
			      g->replay_window ? "Y" : "N");
		if (g->replay_window)
			strbuf_printf(b, "        replay window size: %u\n", g->replay_window);
	}
	strbuf_printf(b, "        Status: %s\n", status_text(s));
}

static void sa_list_text(struct strbuf *b, const struct group *g, uint8_t dir, uint8_t proto)
{
	strbuf_printf(b, "     %s %s sas:\n", dir == SA_DIR_IN ? "inbound" : "outbound",
		      proto_word(proto));
	for (unsigned i = 0; i < g->n; i++)
		if (g->sa[i].p.dir == dir && g->sa[i].p.proto == proto)
			sa_text(b, g, &g->sa[i]);
	strbuf_printf(b, "\n");
}

/* IOS-style names of the per-SA drop counters (detail). */
static const char *const drop_label[DROP__COUNT] = {
	[DROP_NO_SA] = "#pkts no sa",
	[DROP_REPLAY] = "#pkts replay failed",
	[DROP_ICV] = "#pkts verify failed",
	[DROP_BAD_PAD] = "#pkts bad padding",
	[DROP_POLICY] = "#pkts policy mismatch",
	[DROP_MALFORMED] = "#pkts malformed",
	[DROP_SEQ_OVERFLOW] = "#pkts sequence overflow",
	[DROP_HARD_EXPIRED] = "#pkts lifetime expired",
	[DROP_NO_POLICY] = "#pkts no policy",
	[DROP_DISCARD] = "#pkts discarded",
	[DROP_COMP] = "#pkts decompress failed",
	[DROP_NO_OUT_SA] = "#pkts no outbound sa",
	[DROP_TOO_BIG] = "#pkts too big",
	[DROP_INTERNAL] = "#pkts internal errors",
};

static const char *drop_text(int d)
{
	return drop_label[d] ? drop_label[d] : dp_drop_name((enum dp_drop)d);
}

static void drops_text(struct strbuf *b, const uint64_t *drops, const char *indent)
{
	for (int d = 1; d < DROP__COUNT; d++)
		strbuf_printf(b, "%s%s (%s): %llu\n", indent, drop_text(d),
			      dp_drop_name((enum dp_drop)d), (unsigned long long)drops[d]);
}

/* What becomes of packets over the path MTU, as the running configuration
 * says (crypto ipsec fragmentation, crypto ipsec df-bit; xform.c
 * cut_after). */
static const char *pmtu_rule(const struct config *c)
{
	bool after = c && c->frag_after, clear = c && c->df_bit == DP_DF_CLEAR;

	if (after && clear)
		return "larger packets fragmented after encryption";
	if (after)
		return "larger packets fragmented after encryption, or refused with ICMP when "
		       "they set DF";
	if (clear)
		return "larger packets fragmented before encryption, or after it when they set DF";
	return "larger packets fragmented before encryption, or refused with ICMP when they "
	       "set DF";
}

static void group_text(struct strbuf *b, const struct group *g, bool detail, const char *rule)
{
	char l[IP_ADDR_STRLEN], r[IP_ADDR_STRLEN];
	const struct ts_list *sel = &g->sa[0].p.sel;

	strbuf_printf(b, "interface: %s\n", g->ifname);
	strbuf_printf(b, "    Crypto map tag: %s, local addr %s\n\n", g->map,
		      ip_addr_str(&g->local, l));
	strbuf_printf(b, "   protected vrf: (none)\n");
	for (unsigned i = 0; i < sel->n; i++) {
		const struct ts *t = &sel->ts[i];
		strbuf_printf(b, "   local  ident (addr/mask/prot/port): ");
		ident_text(b, &t->src, t->proto, t->sport_lo, t->sport_hi);
		strbuf_printf(b, "\n   remote ident (addr/mask/prot/port): ");
		ident_text(b, &t->dst, t->proto, t->dport_lo, t->dport_hi);
		strbuf_printf(b, "\n");
	}
	strbuf_printf(b, "   current_peer %s port %u\n", ip_addr_str(&g->peer, r),
		      g->peer_port ? g->peer_port : 500);
	strbuf_printf(b, "     PERMIT, flags={origin_is_acl,}\n");
	strbuf_printf(b,
		      "    #pkts encaps: %llu, #pkts encrypt: %llu, #pkts digest: %llu\n"
		      "    #pkts decaps: %llu, #pkts decrypt: %llu, #pkts verify: %llu\n"
		      "    #pkts compressed: %llu, #pkts decompressed: %llu\n"
		      "    #pkts not compressed: %llu, #pkts compr. failed: %llu\n"
		      "    #pkts not decompressed: 0, #pkts decompress failed: %llu\n"
		      "    #send errors %llu, #recv errors %llu\n",
		      (unsigned long long)g->encaps, (unsigned long long)g->encrypt,
		      (unsigned long long)g->digest, (unsigned long long)g->decaps,
		      (unsigned long long)g->decrypt, (unsigned long long)g->verify,
		      (unsigned long long)g->compressed, (unsigned long long)g->decompressed,
		      (unsigned long long)g->not_compressed, (unsigned long long)g->compr_failed,
		      (unsigned long long)g->decompr_failed, (unsigned long long)g->send_errors,
		      (unsigned long long)g->recv_errors);
	if (detail)
		drops_text(b, g->drops, "    ");
	strbuf_printf(b, "\n     local crypto endpt.: %s, remote crypto endpt.: %s\n", l, r);
	if (g->path_mtu)
		strbuf_printf(b, "     path mtu %u (%s)\n", g->path_mtu, rule);
	else
		strbuf_printf(b, "     path mtu: not known yet (no route to the peer; asked "
				 "at the next packet)\n");
	if (g->has_out_spi)
		strbuf_printf(b, "     current outbound spi: 0x%X(%u)\n", g->out_spi, g->out_spi);
	else
		strbuf_printf(b, "     current outbound spi: 0x0(0)\n");
	strbuf_printf(b, "     PFS (Y/N): %s, DH group: %s\n\n",
		      g->entry && g->entry->pfs_group ? "Y" : "N", "none");
	for (uint8_t dir = SA_DIR_IN; dir <= SA_DIR_OUT; dir++) {
		sa_list_text(b, g, dir, IPSEC_PROTO_ESP);
		sa_list_text(b, g, dir, IPSEC_PROTO_AH);
		sa_list_text(b, g, dir, IPSEC_PROTO_COMP);
	}
}

/* ---- JSON --------------------------------------------------------------- */

static struct json_object *u64(uint64_t v)
{
	return json_object_new_int64((int64_t)v);
}

static struct json_object *sa_json(const struct group *g, const struct snap *s)
{
	struct json_object *o = json_object_new_object(), *dr = json_object_new_object();
	struct strbuf t = {0};

	transform_text(g, &s->p, &t);
	json_object_object_add(o, "proto", json_object_new_string(proto_word(s->p.proto)));
	json_object_object_add(o, "spi", u64(s->p.spi));
	json_object_object_add(o, "transform", json_object_new_string(t.p ? t.p : ""));
	json_object_object_add(o, "mode", json_object_new_string(
						  s->p.mode == IPSEC_MODE_TRANSPORT ? "transport"
										    : "tunnel"));
	json_object_object_add(o, "udp_encap", json_object_new_boolean(s->p.encap_dport != 0));
	if (s->p.proto != IPSEC_PROTO_COMP) {
		/* what the SA runs (negotiated by IKE), not the transform-set words */
		const struct encr_alg *ea = encr_alg_find(s->p.encr_id);
		const struct integ_alg *ia = integ_alg_find(s->p.integ_id);

		if (s->p.proto == IPSEC_PROTO_ESP) {
			json_object_object_add(o, "encryption",
					       json_object_new_string(ea ? ea->name : "none"));
			json_object_object_add(o, "key_bits",
					       u64(s->p.encr_key_bits ? s->p.encr_key_bits
						   : ea ? ea->fixed_key_bits : 0));
		}
		json_object_object_add(o, "integrity", json_object_new_string(ia ? ia->name : "none"));
		json_object_object_add(o, "esn", json_object_new_boolean(s->p.esn));
	}
	json_object_object_add(o, "replay_window",
			       u64(s->p.proto == IPSEC_PROTO_COMP ? 0 : g->replay_window));
	json_object_object_add(o, "packets", u64(s->st.packets));
	json_object_object_add(o, "bytes", u64(s->st.bytes));
	json_object_object_add(o, "hard_bytes", u64(s->p.hard_bytes));
	json_object_object_add(o, "hard_seconds", u64(s->p.hard_seconds));
	json_object_object_add(o, "status", json_object_new_string(status_text(s)));
	for (int d = 1; d < DROP__COUNT; d++)
		json_object_object_add(dr, dp_drop_name((enum dp_drop)d), u64(s->st.drops[d]));
	json_object_object_add(o, "drops", dr);
	strbuf_free(&t);
	return o;
}

static struct json_object *ident_json(const struct ts *t)
{
	struct json_object *o = json_object_new_object();
	char b[IP_ADDR_STRLEN + 8];

	json_object_object_add(o, "local", json_object_new_string(
						   t->src.addr.af ? ip_prefix_str(&t->src, b) : "any"));
	json_object_object_add(o, "remote", json_object_new_string(
						    t->dst.addr.af ? ip_prefix_str(&t->dst, b) : "any"));
	json_object_object_add(o, "proto", json_object_new_int(t->proto));
	snprintf(b, sizeof(b), "%u-%u", t->sport_lo, t->sport_hi);
	json_object_object_add(o, "local_ports", json_object_new_string(b));
	snprintf(b, sizeof(b), "%u-%u", t->dport_lo, t->dport_hi);
	json_object_object_add(o, "remote_ports", json_object_new_string(b));
	return o;
}

static struct json_object *group_json(const struct group *g)
{
	struct json_object *o = json_object_new_object(), *in = json_object_new_array(),
			   *out = json_object_new_array(), *ids = json_object_new_array(),
			   *dr = json_object_new_object();
	const struct ts_list *sel = &g->sa[0].p.sel;
	char a[IP_ADDR_STRLEN];

	json_object_object_add(o, "interface", json_object_new_string(g->ifname));
	json_object_object_add(o, "map", json_object_new_string(g->map));
	json_object_object_add(o, "seq", u64(g->seq));
	json_object_object_add(o, "local_addr", json_object_new_string(ip_addr_str(&g->local, a)));
	json_object_object_add(o, "peer", json_object_new_string(ip_addr_str(&g->peer, a)));
	json_object_object_add(o, "peer_port", json_object_new_int(g->peer_port ? g->peer_port : 500));
	for (unsigned i = 0; i < sel->n; i++)
		json_object_array_add(ids, ident_json(&sel->ts[i]));
	json_object_object_add(o, "idents", ids);
	if (sel->n) {
		json_object_object_add(o, "local_ident", json_object_get(json_object_object_get(
							json_object_array_get_idx(ids, 0), "local")));
		json_object_object_add(o, "remote_ident", json_object_get(json_object_object_get(
							 json_object_array_get_idx(ids, 0), "remote")));
	}
#define C(name) json_object_object_add(o, #name, u64(g->name))
	json_object_object_add(o, "pkts_encaps", u64(g->encaps));
	json_object_object_add(o, "pkts_encrypt", u64(g->encrypt));
	json_object_object_add(o, "pkts_digest", u64(g->digest));
	json_object_object_add(o, "pkts_decaps", u64(g->decaps));
	json_object_object_add(o, "pkts_decrypt", u64(g->decrypt));
	json_object_object_add(o, "pkts_verify", u64(g->verify));
	json_object_object_add(o, "pkts_compressed", u64(g->compressed));
	json_object_object_add(o, "pkts_decompressed", u64(g->decompressed));
	json_object_object_add(o, "pkts_not_compressed", u64(g->not_compressed));
	json_object_object_add(o, "pkts_compr_failed", u64(g->compr_failed));
	json_object_object_add(o, "pkts_decompress_failed", u64(g->decompr_failed));
	C(send_errors);
	C(recv_errors);
#undef C
	for (int d = 1; d < DROP__COUNT; d++)
		json_object_object_add(dr, dp_drop_name((enum dp_drop)d), u64(g->drops[d]));
	json_object_object_add(o, "drops", dr);
	json_object_object_add(o, "current_outbound_spi", u64(g->out_spi));
	json_object_object_add(o, "path_mtu", g->path_mtu ? u64(g->path_mtu) : NULL);
	json_object_object_add(o, "replay_window", u64(g->replay_window));
	for (unsigned i = 0; i < g->n; i++)
		json_object_array_add(g->sa[i].p.dir == SA_DIR_IN ? in : out,
				      sa_json(g, &g->sa[i]));
	json_object_object_add(o, "inbound", in);
	json_object_object_add(o, "outbound", out);
	return o;
}

/* ---- data-plane global counters (detail) ----------------------------------- */

static void dp_text(struct strbuf *b, const struct dp_global_stats *st)
{
	strbuf_printf(b, "Data plane (not attributable to an SA):\n"
			 "    tunnel rx %llu, tunnel tx %llu, network rx %llu, network tx %llu\n"
			 "    ignored link-scope %llu, NAT keepalives %llu, IKE on NAT-T port "
			 "%llu, acquires %llu\n",
		      (unsigned long long)st->tun_rx, (unsigned long long)st->tun_tx,
		      (unsigned long long)st->net_rx, (unsigned long long)st->net_tx,
		      (unsigned long long)st->tun_ignored,
		      (unsigned long long)st->natt_keepalive_rx, (unsigned long long)st->ike_rx,
		      (unsigned long long)st->acquires);
	strbuf_printf(b, "    coalesced into tunnel superpackets: %llu packets in %llu writes\n",
		      (unsigned long long)st->tun_gro_pkts, (unsigned long long)st->tun_gro_writes);
	strbuf_printf(b, "    multi-buffer batches: sealed %llu packets in %llu, verified %llu "
			 "in %llu\n",
		      (unsigned long long)st->mb_pkts, (unsigned long long)st->mb_batches,
		      (unsigned long long)st->mb_in_pkts, (unsigned long long)st->mb_in_batches);
	strbuf_printf(b, "    over the path MTU: fragmented before encryption %llu, after %llu, "
			 "ICMP too big sent %llu\n",
		      (unsigned long long)st->pmtu_fragmented,
		      (unsigned long long)st->pmtu_fragmented_after,
		      (unsigned long long)st->pmtu_icmp_sent);
	strbuf_printf(b, "    path MTU messages from routers: applied %llu, ignored %llu\n",
		      (unsigned long long)st->pmtu_icmp_rx, (unsigned long long)st->pmtu_icmp_ignored);
	if (st->xdp_tx || st->xdp_tx_busy || st->xdp_tx_raw)
		strbuf_printf(b, "    sent with AF_XDP (xdp-tx): %llu; on the raw socket for want of "
				 "a next hop %llu, of a free frame %llu\n",
			      (unsigned long long)st->xdp_tx, (unsigned long long)st->xdp_tx_raw,
			      (unsigned long long)st->xdp_tx_busy);
	strbuf_printf(b, "    waiting for an SA: queued %llu, sent %llu, expired %llu, "
			 "queue full %llu\n",
		      (unsigned long long)st->acq_queued, (unsigned long long)st->acq_flushed,
		      (unsigned long long)st->acq_expired, (unsigned long long)st->acq_overflow);
	strbuf_printf(b, "    dropped by the kernel before a worker read them: tunnel queue "
			 "full %llu, socket buffer full %llu (queues of %u packets)\n",
		      (unsigned long long)st->tun_queue_drops,
		      (unsigned long long)st->sock_buffer_drops, st->tun_qlen);
	drops_text(b, st->drops, "    ");
}

static struct json_object *dp_json(const struct dp_global_stats *st)
{
	struct json_object *o = json_object_new_object(), *dr = json_object_new_object();

	json_object_object_add(o, "tun_rx", u64(st->tun_rx));
	json_object_object_add(o, "tun_tx", u64(st->tun_tx));
	json_object_object_add(o, "net_rx", u64(st->net_rx));
	json_object_object_add(o, "net_tx", u64(st->net_tx));
	json_object_object_add(o, "tun_ignored", u64(st->tun_ignored));
	json_object_object_add(o, "natt_keepalive_rx", u64(st->natt_keepalive_rx));
	json_object_object_add(o, "ike_rx", u64(st->ike_rx));
	json_object_object_add(o, "acquires", u64(st->acquires));
	json_object_object_add(o, "tun_gro_writes", u64(st->tun_gro_writes));
	json_object_object_add(o, "tun_gro_pkts", u64(st->tun_gro_pkts));
	json_object_object_add(o, "mb_batches", u64(st->mb_batches));
	json_object_object_add(o, "mb_pkts", u64(st->mb_pkts));
	json_object_object_add(o, "mb_in_batches", u64(st->mb_in_batches));
	json_object_object_add(o, "mb_in_pkts", u64(st->mb_in_pkts));
	json_object_object_add(o, "pmtu_fragmented", u64(st->pmtu_fragmented));
	json_object_object_add(o, "pmtu_icmp_sent", u64(st->pmtu_icmp_sent));
	json_object_object_add(o, "pmtu_fragmented_after", u64(st->pmtu_fragmented_after));
	json_object_object_add(o, "pmtu_icmp_rx", u64(st->pmtu_icmp_rx));
	json_object_object_add(o, "pmtu_icmp_ignored", u64(st->pmtu_icmp_ignored));
	json_object_object_add(o, "xdp_tx", u64(st->xdp_tx));
	json_object_object_add(o, "xdp_tx_busy", u64(st->xdp_tx_busy));
	json_object_object_add(o, "xdp_tx_raw", u64(st->xdp_tx_raw));
	json_object_object_add(o, "acq_queued", u64(st->acq_queued));
	json_object_object_add(o, "acq_flushed", u64(st->acq_flushed));
	json_object_object_add(o, "acq_expired", u64(st->acq_expired));
	json_object_object_add(o, "acq_overflow", u64(st->acq_overflow));
	json_object_object_add(o, "tun_queue_drops", u64(st->tun_queue_drops));
	json_object_object_add(o, "sock_buffer_drops", u64(st->sock_buffer_drops));
	json_object_object_add(o, "tun_queue_len", u64(st->tun_qlen));
	for (int d = 1; d < DROP__COUNT; d++)
		json_object_object_add(dr, dp_drop_name((enum dp_drop)d), u64(st->drops[d]));
	json_object_object_add(o, "drops", dr);
	return o;
}

/* ---- the commands ---------------------------------------------------------- */

int ctl_show_crypto_ipsec_sa(struct ctl_ctx *x, const struct ctl_args *a)
{
	const struct config *c = x->ops->running(x->ops->arg);
	struct sad *sad = x->ops->sad(x->ops->arg);
	struct dp *dp = x->ops->dp ? x->ops->dp(x->ops->arg) : NULL;
	const char *peer_s = ctl_args_after(a, "peer");
	bool detail = ctl_args_has(a, "detail");
	struct json_object *arr = x->json ? json_object_new_array() : NULL;
	struct snaps s = {0};
	struct ip_addr peer = {0};

	if (peer_s && !ip_addr_parse(peer_s, &peer))
		return 1;
	if (sad)
		sad_foreach(sad, snap_one, &s);
	if (s.n)
		qsort(s.v, s.n, sizeof(*s.v), snap_cmp);
	for (unsigned i = 0; i < s.n;) {
		struct group g;
		unsigned k = i;

		while (k < s.n && s.v[k].p.reqid == s.v[i].p.reqid &&
		       strcmp(s.v[k].p.name, s.v[i].p.name) == 0 &&
		       sel_cmp(&s.v[k].p.sel, &s.v[i].p.sel) == 0)
			k++;
		memset(&g, 0, sizeof(g));
		g.sa = &s.v[i];
		g.n = k - i;
		i = k;
		group_build(c, &g);
		if (peer_s && !ip_addr_eq(&peer, &g.peer))
			continue;
		if (arr)
			json_object_array_add(arr, group_json(&g));
		else
			group_text(x->out, &g, detail, pmtu_rule(c));
	}
	if (s.failed)
		strbuf_printf(x->out, "%% Out of memory: some SAs are not shown\n");
	if (arr) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "sas", arr);
		if (detail && dp) {
			struct dp_global_stats st;
			dp_stats(dp, &st);
			json_object_object_add(o, "dataplane", dp_json(&st));
		}
		ctl_json_out(x, o);
	} else if (detail && dp) {
		struct dp_global_stats st;
		dp_stats(dp, &st);
		dp_text(x->out, &st);
	}
	free(s.v);
	return 0;
}

int ctl_clear_crypto_sa_counters(struct ctl_ctx *x, const struct ctl_args *a)
{
	struct sad *sad = x->ops->sad(x->ops->arg);
	struct dp *dp = x->ops->dp ? x->ops->dp(x->ops->arg) : NULL;
	(void)a;

	if (sad)
		sad_clear_counters(sad);
	if (dp)
		dp_clear_stats(dp);
	log_info("crypto SA counters cleared from the control socket");
	return 0;
}

/* Manual SAs have nothing to renegotiate: clearing them deletes the
 * inbound ones and installs them again from the running configuration,
 * with new replay windows and counters, as IOS does. The outbound ones
 * keep their sequence numbers: the key stays the same, and a counter
 * started again from 1 would repeat the nonces of AES-GCM, GMAC, CTR and
 * ChaCha20-Poly1305, whose IV is the sequence number ("the same nonce and
 * key combination MUST NOT be used more than once", RFC 4106 section 2;
 * RFC 3686 2.1), and have the peer's replay window drop every packet
 * until the counter passes where it was (RFC 4303 3.3.3). */
int ctl_clear_crypto_sa(struct ctl_ctx *x, const struct ctl_args *a)
{
	struct sad *sad = x->ops->sad(x->ops->arg);
	struct config *c = config_dup(x->ops->running(x->ops->arg));
	char err[1024];
	unsigned n;
	(void)a;

	if (!c) {
		strbuf_printf(x->out, "%% Out of memory\n");
		return 1;
	}
	/* Manual SAs only: IKE's children are IKE's (clear crypto session /
	 * clear crypto ikev2 sa remove those). */
	n = sad ? sad_flush_origin(sad, SA_ORIGIN_MANUAL, true) : 0;

	if (x->ops->apply(x->ops->arg, c, err, sizeof(err)) < 0) {
		strbuf_printf(x->out, "%% Re-installing the SAs failed: %s\n", err);
		return 1;
	}
	log_notice("crypto SAs cleared: %u inbound manual SAs re-installed from the running "
		   "configuration with new replay windows; outbound SAs go on from their "
		   "sequence numbers (the same key must not repeat them)", n);
	return 0;
}
