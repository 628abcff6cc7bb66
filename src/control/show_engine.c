/* show crypto engine: what the data plane runs with (workers, the tunnel
 * device and its queues, the offloads in force, the crypto libraries) and
 * how the traffic and the inbound SAs are spread over the workers. The
 * IOS command of that name describes the crypto hardware; ours is
 * software, so it says what an operator tunes it with (crypto engine
 * workers / cpus / queue-length / offload) and whether the load is
 * balanced. */
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <stdio.h>

#include "control/internal.h"
#include "crypto/mb.h"
#include "dataplane/dp.h"
#include "ipsec/sad.h"

/* Inbound ESP and AH SAs per receiving worker (IPComp rides inside ESP). */
#define ENGINE_MAX_SHOWN 1024
struct sa_spread {
	const struct dp *dp;
	unsigned n[ENGINE_MAX_SHOWN];
};

static void spread_visit(struct sa *sa, void *arg)
{
	struct sa_spread *s = arg;
	unsigned w;

	if (sa->p.dir != SA_DIR_IN || sa->p.proto == IPSEC_PROTO_COMP)
		return;
	w = dp_sa_rx_worker(s->dp, &sa->p);
	if (w < ENGINE_MAX_SHOWN)
		s->n[w]++;
}

static const char *on(bool b)
{
	return b ? "on" : "off";
}

static void engine_text(struct strbuf *b, struct dp *dp, const struct dp_engine *e,
			const char *mb, const struct sa_spread *sp)
{
	strbuf_printf(b, "Crypto engine: esprit software data plane, %u worker(s)\n", e->workers);
	strbuf_printf(b, "  tunnel device %s: %u queue(s) of %u packets, MTU %u; %u tunnel "
			 "interface(s)\n",
		      e->tun_name, e->queues, e->queue_len, e->mtu, e->nvti);
	strbuf_printf(b, "  offloads: multiqueue %s, TSO %s, USO %s%s, UDP GSO %s, UDP GRO %s, "
			 "TUN GRO %s, batch crypto %s, xdp-tx %s\n",
		      on(e->multiqueue), on(e->tso), on(e->uso),
		      e->uso_refused ? " (this kernel has none: Linux >= 6.2)" : "", on(e->gso),
		      on(e->gro), on(e->tun_gro), on(e->batch_crypto), on(e->xdp_tx));
	strbuf_printf(b, "  outer IPv4 DF bit: %s (crypto ipsec df-bit); fragmentation "
			 "%s-encryption\n",
		      dp_df_bit_name(e->df_bit), e->frag_after ? "after" : "before");
	strbuf_printf(b, "  crypto: %s%s%s\n", OpenSSL_version(OPENSSL_VERSION),
		      mb ? "; intel-ipsec-mb " : "", mb ? mb : "");
	if (e->natt_port)
		strbuf_printf(b, "  NAT-T UDP port %u, ", e->natt_port);
	else
		strbuf_printf(b, "  no NAT-T port, ");
	if (e->route_rule)
		strbuf_printf(b, "fwmark 0x%x; protected prefixes in table %u behind the rule "
				 "\"not fwmark 0x%x\" (%s)\n\n",
			      e->fwmark, e->route_table, e->fwmark, e->route_why);
	else
		strbuf_printf(b, "fwmark 0x%x; protected prefixes in the main table (no "
				 "policy rule)\n\n", e->fwmark);
	strbuf_printf(b, "  worker   cpu   tunnel rx   tunnel tx  network rx  network tx  "
			 "inbound SAs\n");
	for (unsigned i = 0; i < e->workers; i++) {
		struct dp_global_stats st;
		char cpu[12] = "any";
		if (dp_worker_stats(dp, i, &st) < 0)
			break;
		if (dp_worker_cpu(dp, i) >= 0)
			snprintf(cpu, sizeof(cpu), "%d", dp_worker_cpu(dp, i));
		strbuf_printf(b, "  %6u  %4s  %10llu  %10llu  %10llu  %10llu  %11u\n", i, cpu,
			      (unsigned long long)st.tun_rx, (unsigned long long)st.tun_tx,
			      (unsigned long long)st.net_rx, (unsigned long long)st.net_tx,
			      i < ENGINE_MAX_SHOWN ? sp->n[i] : 0);
	}
}

static struct json_object *jbool(bool v)
{
	return json_object_new_boolean(v);
}

static struct json_object *ju64(uint64_t v)
{
	return json_object_new_int64((int64_t)v);
}

static struct json_object *engine_json(struct dp *dp, const struct dp_engine *e, const char *mb,
				       const struct sa_spread *sp)
{
	struct json_object *o = json_object_new_object(), *t = json_object_new_object(),
			   *off = json_object_new_object(), *c = json_object_new_object(),
			   *ws = json_object_new_array();

	json_object_object_add(o, "workers", ju64(e->workers));
	json_object_object_add(t, "name", json_object_new_string(e->tun_name));
	json_object_object_add(t, "queues", ju64(e->queues));
	json_object_object_add(t, "queue_length", ju64(e->queue_len));
	json_object_object_add(t, "mtu", ju64(e->mtu));
	json_object_object_add(t, "tunnel_interfaces", ju64(e->nvti));
	json_object_object_add(o, "tunnel", t);
	json_object_object_add(off, "multiqueue", jbool(e->multiqueue));
	json_object_object_add(off, "tso", jbool(e->tso));
	json_object_object_add(off, "uso", jbool(e->uso));
	json_object_object_add(off, "udp_gso", jbool(e->gso));
	json_object_object_add(off, "udp_gro", jbool(e->gro));
	json_object_object_add(off, "tun_gro", jbool(e->tun_gro));
	json_object_object_add(off, "batch_crypto", jbool(e->batch_crypto));
	json_object_object_add(off, "xdp_tx", jbool(e->xdp_tx));
	json_object_object_add(o, "offloads", off);
	json_object_object_add(o, "df_bit", json_object_new_string(dp_df_bit_name(e->df_bit)));
	json_object_object_add(o, "fragmentation",
			       json_object_new_string(e->frag_after ? "after-encryption"
								    : "before-encryption"));
	json_object_object_add(c, "openssl",
			       json_object_new_string(OpenSSL_version(OPENSSL_VERSION)));
	json_object_object_add(c, "ipsec_mb", mb ? json_object_new_string(mb) : NULL);
	json_object_object_add(o, "crypto", c);
	json_object_object_add(o, "natt_port", ju64(e->natt_port));
	json_object_object_add(o, "fwmark", ju64(e->fwmark));
	json_object_object_add(o, "route_table", ju64(e->route_rule ? e->route_table : 254));
	json_object_object_add(o, "route_rule", jbool(e->route_rule));
	json_object_object_add(o, "route_rule_reason",
			       e->route_rule ? json_object_new_string(e->route_why) : NULL);
	for (unsigned i = 0; i < e->workers; i++) {
		struct dp_global_stats st;
		struct json_object *w = json_object_new_object();
		if (dp_worker_stats(dp, i, &st) < 0) {
			json_object_put(w);
			break;
		}
		json_object_object_add(w, "cpu", dp_worker_cpu(dp, i) >= 0
							 ? ju64((uint64_t)dp_worker_cpu(dp, i))
							 : NULL); /* null: any */
		json_object_object_add(w, "tun_rx", ju64(st.tun_rx));
		json_object_object_add(w, "tun_tx", ju64(st.tun_tx));
		json_object_object_add(w, "net_rx", ju64(st.net_rx));
		json_object_object_add(w, "net_tx", ju64(st.net_tx));
		json_object_object_add(w, "inbound_sas", ju64(i < ENGINE_MAX_SHOWN ? sp->n[i] : 0));
		json_object_array_add(ws, w);
	}
	json_object_object_add(o, "per_worker", ws);
	return o;
}

int ctl_show_crypto_engine(struct ctl_ctx *x, const struct ctl_args *a)
{
	struct dp *dp = x->ops->dp ? x->ops->dp(x->ops->arg) : NULL;
	struct sad *sad = x->ops->sad ? x->ops->sad(x->ops->arg) : NULL;
	const char *mb = mb_version();
	struct sa_spread sp = {.dp = dp};
	struct dp_engine e;
	(void)a;

	if (!dp) {
		strbuf_printf(x->out, "%% The data plane is not running\n");
		return 1;
	}
	dp_engine(dp, &e);
	if (sad)
		sad_foreach(sad, spread_visit, &sp);
	if (x->json)
		ctl_json_out(x, engine_json(dp, &e, mb, &sp));
	else
		engine_text(x->out, dp, &e, mb, &sp);
	return 0;
}
