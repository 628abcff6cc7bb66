/* show crypto ikev2 stats: engine-wide IKEv2 figures (IOS has a command of
 * this name): SAs, half-open SAs against the cookie threshold, COOKIE
 * challenges sent, and dropped messages by reason. */
#include <json-c/json.h>

#include "control/internal.h"
#include "ikev2/ikev2.h"

int ctl_show_crypto_ikev2_stats(struct ctl_ctx *x, const struct ctl_args *a)
{
	struct ikev2 *e = x->ops->ikev2 ? x->ops->ikev2(x->ops->arg) : NULL;
	struct ikev2_stats st;
	uint64_t total = 0;

	(void)a;
	if (!e) {
		strbuf_printf(x->out, "%% IKEv2 is not running\n");
		return 1;
	}
	ikev2_get_stats(e, &st);
	for (int d = 0; d < V2_DROP__COUNT; d++)
		total += st.drops[d];
	if (x->json) {
		struct json_object *o = json_object_new_object(), *dr = json_object_new_object();

		json_object_object_add(o, "ike_sas", json_object_new_int64(st.sas));
		json_object_object_add(o, "established", json_object_new_int64(st.established));
		json_object_object_add(o, "half_open", json_object_new_int64(st.half_open));
		json_object_object_add(o, "cookie_threshold",
				       json_object_new_int64(st.cookie_threshold));
		json_object_object_add(o, "cookies_sent",
				       json_object_new_int64((int64_t)st.cookies_sent));
		for (int d = 0; d < V2_DROP__COUNT; d++)
			json_object_object_add(dr, ikev2_drop_name((enum ikev2_drop)d),
					       json_object_new_int64((int64_t)st.drops[d]));
		json_object_object_add(o, "drops", dr);
		ctl_json_out(x, o);
		return 0;
	}
	strbuf_printf(x->out, "Crypto IKEv2 SA Statistics\n");
	strbuf_printf(x->out, "  Total IKEv2 SA Count: %u, established: %u\n", st.sas,
		      st.established);
	if (st.cookie_threshold)
		strbuf_printf(x->out, "  In-negotiation (half-open) SAs: %u, cookie challenge at %u\n",
			      st.half_open, st.cookie_threshold);
	else
		strbuf_printf(x->out, "  In-negotiation (half-open) SAs: %u, cookie challenge off\n",
			      st.half_open);
	strbuf_printf(x->out, "  Cookie challenges sent: %llu\n",
		      (unsigned long long)st.cookies_sent);
	strbuf_printf(x->out, "  Dropped messages: %llu\n", (unsigned long long)total);
	for (int d = 0; d < V2_DROP__COUNT; d++)
		if (st.drops[d])
			strbuf_printf(x->out, "    %-14s %llu\n", ikev2_drop_name((enum ikev2_drop)d),
				      (unsigned long long)st.drops[d]);
	return 0;
}
