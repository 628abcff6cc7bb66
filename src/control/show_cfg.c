/* Show commands that read only the running configuration: show crypto
 * map, show crypto ipsec transform-set, show access-lists, show
 * running-config, show version. Layouts follow IOS. */
#include <json-c/json.h>
#include <openssl/opensslv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/model.h"
#include "control/internal.h"
#include "ipsec/sad.h"
#include "dataplane/dp.h"

#define ESPRIT_VERSION_STR "0.1.0"

static const struct config *running(struct ctl_ctx *x)
{
	return x->ops->running(x->ops->arg);
}

/* ---- access-list entries ------------------------------------------------ */

/* Forms as recorded by the parser (model.h: 0 any, 1 host, 2 addr +
 * wildcard, 3 prefix) and port operators (0 none, 1 eq, 2 range, 3 gt,
 * 4 lt). */
static void ace_addr(struct strbuf *b, const struct ip_prefix *pf, uint8_t form)
{
	char a[IP_ADDR_STRLEN], mask[IP_ADDR_STRLEN];

	switch (form) {
	case 0:
		strbuf_printf(b, " any");
		break;
	case 1:
		strbuf_printf(b, " host %s", ip_addr_str(&pf->addr, a));
		break;
	case 2:
		ip_len_to_mask(pf->len, true, mask);
		strbuf_printf(b, " %s %s", ip_addr_str(&pf->addr, a), mask);
		break;
	default:
		strbuf_printf(b, " %s/%u", ip_addr_str(&pf->addr, a), pf->len);
		break;
	}
}

static void ace_ports(struct strbuf *b, uint16_t lo, uint16_t hi, uint8_t op)
{
	if (op == 1)
		strbuf_printf(b, " eq %u", lo);
	else if (op == 2)
		strbuf_printf(b, " range %u %u", lo, hi);
	else if (op == 3)
		strbuf_printf(b, " gt %u", lo - 1u);
	else if (op == 4)
		strbuf_printf(b, " lt %u", hi + 1u);
}

void ctl_ace_format(struct strbuf *b, const struct cfg_acl *l, const struct cfg_ace *a)
{
	uint8_t pr = a->ts.proto;

	strbuf_printf(b, "%s", a->permit ? "permit" : "deny");
	if (pr == 0)
		strbuf_printf(b, " %s", l->ipv6 ? "ipv6" : "ip");
	else if (pr == 6 || pr == 17)
		strbuf_printf(b, " %s", pr == 6 ? "tcp" : "udp");
	else if (pr == (l->ipv6 ? 58 : 1))
		strbuf_printf(b, " icmp");
	else
		strbuf_printf(b, " %u", pr);
	ace_addr(b, &a->ts.src, a->src_form);
	ace_ports(b, a->ts.sport_lo, a->ts.sport_hi, a->sport_op);
	ace_addr(b, &a->ts.dst, a->dst_form);
	ace_ports(b, a->ts.dport_lo, a->ts.dport_hi, a->dport_op);
}

static const char *acl_kind(const struct cfg_acl *l)
{
	return l->ipv6 ? "IPv6 access list" : "Extended IP access list";
}

static struct json_object *acl_json(const struct cfg_acl *l)
{
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();

	json_object_object_add(o, "name", json_object_new_string(l->name));
	json_object_object_add(o, "ipv6", json_object_new_boolean(l->ipv6));
	for (unsigned i = 0; i < l->n; i++) {
		struct json_object *e = json_object_new_object();
		struct strbuf t = {0};

		ctl_ace_format(&t, l, &l->aces[i]);
		json_object_object_add(e, "seq", json_object_new_int64(l->aces[i].seq));
		json_object_object_add(e, "text", json_object_new_string(t.p ? t.p : ""));
		json_object_object_add(e, "permit", json_object_new_boolean(l->aces[i].permit));
		json_object_array_add(arr, e);
		strbuf_free(&t);
	}
	json_object_object_add(o, "entries", arr);
	return o;
}

int ctl_show_access_lists(struct ctl_ctx *x, const struct ctl_args *a)
{
	const struct config *c = running(x);
	const char *only = ctl_args_after(a, "access-lists");
	struct json_object *arr = x->json ? json_object_new_array() : NULL;

	for (unsigned i = 0; i < c->nacls; i++) {
		const struct cfg_acl *l = &c->acls[i];

		if (only && strcmp(only, l->name) != 0)
			continue;
		if (arr) {
			json_object_array_add(arr, acl_json(l));
			continue;
		}
		strbuf_printf(x->out, "%s %s\n", acl_kind(l), l->name);
		for (unsigned k = 0; k < l->n; k++) {
			strbuf_printf(x->out, "    %u ", l->aces[k].seq);
			ctl_ace_format(x->out, l, &l->aces[k]);
			strbuf_printf(x->out, "\n");
		}
	}
	if (arr) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "access_lists", arr);
		ctl_json_out(x, o);
	}
	return 0;
}

/* ---- transform sets ------------------------------------------------------ */

static void ts_words(struct strbuf *b, const struct cfg_transform_set *ts)
{
	for (unsigned i = 0; i < ts->nwords; i++)
		strbuf_printf(b, "%s%s", i ? " " : "", ts->words[i]);
}

static const char *mode_name(uint8_t mode)
{
	return mode == IPSEC_MODE_TRANSPORT ? "Transport" : "Tunnel";
}

static struct json_object *ts_json(const struct cfg_transform_set *ts)
{
	struct json_object *o = json_object_new_object(), *w = json_object_new_array();

	json_object_object_add(o, "name", json_object_new_string(ts->name));
	for (unsigned i = 0; i < ts->nwords; i++)
		json_object_array_add(w, json_object_new_string(ts->words[i]));
	json_object_object_add(o, "transforms", w);
	json_object_object_add(o, "mode",
			       json_object_new_string(ts->mode == IPSEC_MODE_TRANSPORT ? "transport"
										 : "tunnel"));
	return o;
}

int ctl_show_transform_set(struct ctl_ctx *x, const struct ctl_args *a)
{
	const struct config *c = running(x);
	const char *only = ctl_args_after(a, "transform-set");
	struct json_object *arr = x->json ? json_object_new_array() : NULL;

	for (unsigned i = 0; i < c->nsets; i++) {
		const struct cfg_transform_set *ts = &c->sets[i];

		if (only && strcmp(only, ts->name) != 0)
			continue;
		if (arr) {
			json_object_array_add(arr, ts_json(ts));
			continue;
		}
		strbuf_printf(x->out, "Transform set %s: { ", ts->name);
		ts_words(x->out, ts);
		strbuf_printf(x->out, "  }\n   will negotiate = { %s,  },\n\n",
			      mode_name(ts->mode));
	}
	if (arr) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "transform_sets", arr);
		ctl_json_out(x, o);
	}
	return 0;
}

/* ---- crypto maps ------------------------------------------------------------ */

/* Interfaces a map is applied to: `interface X` / `crypto map M`, and the
 * interface or address of `crypto map M local-address`. */
static void map_interfaces(const struct config *c, const char *map, struct strbuf *b,
			   struct json_object *arr)
{
	const struct cfg_map_binding *bd = config_map_binding(c, map);
	char a[IP_ADDR_STRLEN];

	for (unsigned i = 0; i < c->nifs; i++) {
		if (strcmp(c->ifs[i].crypto_map, map) != 0)
			continue;
		if (arr)
			json_object_array_add(arr, json_object_new_string(c->ifs[i].name));
		else
			strbuf_printf(b, "\t\t%s\n", c->ifs[i].name);
	}
	if (!bd)
		return;
	const char *what = bd->ifname[0] ? bd->ifname : ip_addr_str(&bd->local, a);
	if (arr)
		json_object_array_add(arr, json_object_new_string(what));
	else
		strbuf_printf(b, "\t\t%s (local-address)\n", what);
}

static uint64_t entry_kb(const struct config *c, const struct cfg_map_entry *e)
{
	return e->lifetime_kb ? e->lifetime_kb : c->sa_lifetime_kb;
}

static uint64_t entry_secs(const struct config *c, const struct cfg_map_entry *e)
{
	return e->lifetime_s ? e->lifetime_s : c->sa_lifetime_s;
}

static void map_entry_text(struct strbuf *b, const struct config *c,
			   const struct cfg_map_entry *e)
{
	const struct cfg_acl *acl = config_acl(c, e->acl);
	char a[IP_ADDR_STRLEN];

	strbuf_printf(b, "Crypto Map %s %u %s\n", e->map, e->seq,
		      e->manual ? "ipsec-manual" : "ipsec-isakmp");
	strbuf_printf(b, "\tPeer = %s\n", e->peer.af ? ip_addr_str(&e->peer, a) : "(none)");
	if (acl) {
		strbuf_printf(b, "\t%s %s\n", acl_kind(acl), acl->name);
		for (unsigned k = 0; k < acl->n; k++) {
			strbuf_printf(b, "\t    access-list %s ", acl->name);
			ctl_ace_format(b, acl, &acl->aces[k]);
			strbuf_printf(b, "\n");
		}
	} else {
		strbuf_printf(b, "\tNo matching address list set.\n");
	}
	strbuf_printf(b, "\tCurrent peer: %s\n", e->peer.af ? ip_addr_str(&e->peer, a) : "(none)");
	if (e->manual && e->lifetime_kb)
		strbuf_printf(b, "\tSecurity association lifetime: %llu kilobytes (manual "
				 "keying: no time limit)\n",
			      (unsigned long long)e->lifetime_kb);
	else if (e->manual)
		strbuf_printf(b, "\tSecurity association lifetime: none (manual keying)\n");
	else
		strbuf_printf(b, "\tSecurity association lifetime: %llu kilobytes/%llu seconds\n",
			      (unsigned long long)entry_kb(c, e),
			      (unsigned long long)entry_secs(c, e));
	strbuf_printf(b, "\tPFS (Y/N): %s\n", e->pfs_group ? "Y" : "N");
	strbuf_printf(b, "\tTransform sets={ \n");
	for (unsigned i = 0; i < e->ts.n; i++) {
		const struct cfg_transform_set *ts = config_transform_set(c, e->ts.name[i]);
		if (!ts)
			continue;
		strbuf_printf(b, "\t\t%s:  { ", ts->name);
		ts_words(b, ts);
		strbuf_printf(b, "  } , \n");
	}
	strbuf_printf(b, "\t}\n");
}

static struct json_object *map_entry_json(const struct config *c, const struct cfg_map_entry *e)
{
	struct json_object *o = json_object_new_object(), *ifs = json_object_new_array();
	const struct cfg_acl *acl = config_acl(c, e->acl);
	struct json_object *sets = json_object_new_array();
	const struct cfg_transform_set *ts = config_transform_set(c, e->ts.name[0]);
	char a[IP_ADDR_STRLEN];

	for (unsigned i = 0; i < e->ts.n; i++) {
		const struct cfg_transform_set *t = config_transform_set(c, e->ts.name[i]);
		if (t)
			json_object_array_add(sets, ts_json(t));
	}
	json_object_object_add(o, "map", json_object_new_string(e->map));
	json_object_object_add(o, "seq", json_object_new_int64(e->seq));
	json_object_object_add(o, "type", json_object_new_string(e->manual ? "ipsec-manual"
									    : "ipsec-isakmp"));
	json_object_object_add(o, "peer", e->peer.af ? json_object_new_string(
							       ip_addr_str(&e->peer, a))
						     : NULL);
	json_object_object_add(o, "access_list", acl ? acl_json(acl) : NULL);
	/* the first (preferred) set, and all of them in order */
	json_object_object_add(o, "transform_set", ts ? ts_json(ts) : NULL);
	json_object_object_add(o, "transform_sets", sets);
	json_object_object_add(o, "lifetime_kb", json_object_new_int64(
							 (int64_t)(e->manual ? e->lifetime_kb
									     : entry_kb(c, e))));
	json_object_object_add(o, "lifetime_s", json_object_new_int64(
							(int64_t)(e->manual ? 0 : entry_secs(c, e))));
	json_object_object_add(o, "pfs_group", json_object_new_int(e->pfs_group));
	map_interfaces(c, e->map, NULL, ifs);
	json_object_object_add(o, "interfaces", ifs);
	return o;
}

int ctl_show_crypto_map(struct ctl_ctx *x, const struct ctl_args *a)
{
	const struct config *c = running(x);
	const char *only = ctl_args_after(a, "tag");
	struct json_object *arr = x->json ? json_object_new_array() : NULL;

	for (unsigned i = 0; i < c->nmaps; i++) {
		const struct cfg_map_entry *e = &c->maps[i];
		bool last = i + 1 == c->nmaps || strcmp(c->maps[i + 1].map, e->map) != 0;

		if (only && strcmp(only, e->map) != 0)
			continue;
		if (arr) {
			json_object_array_add(arr, map_entry_json(c, e));
			continue;
		}
		map_entry_text(x->out, c, e);
		strbuf_printf(x->out, "\n");
		if (last) {
			strbuf_printf(x->out, "\tInterfaces using crypto map %s:\n", e->map);
			map_interfaces(c, e->map, x->out, NULL);
			strbuf_printf(x->out, "\n");
		}
	}
	if (arr) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "crypto_maps", arr);
		ctl_json_out(x, o);
	}
	return 0;
}

/* ---- running-config and version ---------------------------------------------- */

int ctl_show_running(struct ctl_ctx *x, const struct ctl_args *a)
{
	char *text = config_write(running(x));
	(void)a;

	if (!text) {
		strbuf_printf(x->out, "%% Out of memory\n");
		return 1;
	}
	if (x->json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "running_config", json_object_new_string(text));
		ctl_json_out(x, o);
	} else {
		strbuf_printf(x->out, "Building configuration...\n\nCurrent configuration : %zu "
				      "bytes\n!\n%s",
			      strlen(text), text);
	}
	free(text);
	return 0;
}

int ctl_show_version(struct ctl_ctx *x, const struct ctl_args *a)
{
	const struct config *c = running(x);
	struct sad *sad = x->ops->sad ? x->ops->sad(x->ops->arg) : NULL;
	struct dp *dp = x->ops->dp ? x->ops->dp(x->ops->arg) : NULL;
	const char *path = x->ops->config_path ? x->ops->config_path(x->ops->arg) : "";
	unsigned nsa = sad ? sad_count(sad) : 0, nw = dp ? dp_nworkers(dp) : 0;
	(void)a;

	if (x->json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "version", json_object_new_string(ESPRIT_VERSION_STR));
		json_object_object_add(o, "openssl", json_object_new_string(OPENSSL_VERSION_TEXT));
		json_object_object_add(o, "hostname", json_object_new_string(c->hostname));
		json_object_object_add(o, "config_file", json_object_new_string(path ? path : ""));
		json_object_object_add(o, "sas", json_object_new_int64(nsa));
		json_object_object_add(o, "workers", json_object_new_int64(nw));
		ctl_json_out(x, o);
		return 0;
	}
	strbuf_printf(x->out,
		      "esprit IPsec Software, Version %s\n"
		      "Crypto library: %s\n\n"
		      "%s: configuration file %s\n"
		      "%u security associations installed, %u data-plane workers\n",
		      ESPRIT_VERSION_STR, OPENSSL_VERSION_TEXT,
		      c->hostname[0] ? c->hostname : "esprit", path && path[0] ? path : "(none)",
		      nsa, nw);
	return 0;
}
