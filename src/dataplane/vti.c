/* Route-based virtual tunnel interfaces (see internal.h "route-based VTIs"
 * and dp.h): `interface Tunnel101` with `tunnel protection ipsec profile`
 * is a TUN device of that name; everything routed into it uses the SA pair
 * of its reqid (selectors any/any), with no SPD lookup. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dataplane/internal.h"

#define VTI_DEL_WAIT_MS 2000

const struct dp_vti *dp_vti_of_reqid(const struct dp *dp, uint32_t reqid)
{
	if (!__atomic_load_n(&dp->nvti, __ATOMIC_RELAXED))
		return NULL;
	for (unsigned i = 0; i < DP_VTI_MAX; i++) {
		const struct dp_vti *v = &dp->vti[i];
		if (__atomic_load_n(&v->used, __ATOMIC_ACQUIRE) && v->pol.reqid == reqid)
			return v;
	}
	return NULL;
}

/* Under vti_lock. */
static struct dp_vti *vti_find(struct dp *dp, const char *name)
{
	for (unsigned i = 0; i < DP_VTI_MAX; i++)
		if (dp->vti[i].used && strcmp(dp->vti[i].tun.name, name) == 0)
			return &dp->vti[i];
	return NULL;
}

/* Tell every worker the slots changed; returns the new generation. */
static unsigned vti_publish(struct dp *dp)
{
	unsigned gen = __atomic_add_fetch(&dp->vti_gen, 1, __ATOMIC_RELEASE);

	for (unsigned i = 0; dp->workers && i < dp->nworkers; i++)
		dp_worker_kick(dp, i);
	return gen;
}

/* Every running worker has rebuilt its poll set from generation gen (so
 * none polls or writes a slot removed before it). */
static bool vti_workers_caught_up(struct dp *dp, unsigned gen)
{
	for (unsigned i = 0; dp->workers && i < dp->nworkers; i++) {
		struct dp_worker *w = &dp->workers[i];
		if (w->started && (int)(__atomic_load_n(&w->vti_gen_seen, __ATOMIC_ACQUIRE) - gen) < 0)
			return false;
	}
	return true;
}

static void vti_wait(struct dp *dp, unsigned gen)
{
	const struct timespec ms = {0, 1000000};

	for (int i = 0; i < VTI_DEL_WAIT_MS; i++) {
		if (vti_workers_caught_up(dp, gen))
			return;
		nanosleep(&ms, NULL);
	}
	log_warn("dp: workers slow to release a tunnel interface; closing it anyway");
}

static void vti_policy(struct policy *pol, const char *name, uint32_t reqid)
{
	memset(pol, 0, sizeof(*pol));
	pol->reqid = reqid;
	pol->action = POLICY_PROTECT;
	pol->mode = IPSEC_MODE_TUNNEL;
	ts_any(&pol->sel, AF_INET);
	snprintf(pol->name, sizeof(pol->name), "%s", name);
}

int dp_vti_add(struct dp *dp, const char *name, uint32_t reqid, uint32_t mtu)
{
	struct dp_vti *v = NULL;
	int ret = -1;

	if (!name[0] || strlen(name) >= sizeof(v->tun.name)) {
		log_err("dp: tunnel interface name '%s' is not a valid device name", name);
		return -1;
	}
	pthread_mutex_lock(&dp->vti_lock);
	for (unsigned i = 0; i < DP_VTI_MAX; i++) {
		struct dp_vti *s = &dp->vti[i];
		if (s->used && (strcmp(s->tun.name, name) == 0 || s->pol.reqid == reqid)) {
			log_err("dp: tunnel interface %s: name or reqid 0x%x already in use", name,
				reqid);
			goto out;
		}
		if (!s->used && !v)
			v = s;
	}
	if (!v) {
		log_err("dp: %s: more than %d tunnel interfaces", name, DP_VTI_MAX);
		goto out;
	}
	/* No vnet header: the kernel segments and checksums for us (VTI
	 * traffic is not the bulk path the main TUN is tuned for). */
	if (tun_open(&v->tun, name, mtu ? mtu : DP_TUN_MTU_DEFAULT,
		     dp->cfg.no_multiqueue ? 1 : dp->nworkers, false, false, false) < 0)
		goto out;
	if (dp->cfg.tun_qlen && tun_set_qlen(&v->tun, dp->cfg.tun_qlen) < 0) {
		tun_close(&v->tun);
		goto out;
	}
	if (!dp->cfg.no_sysctl)
		route_sysctl_setup(v->tun.name);
	vti_policy(&v->pol, v->tun.name, reqid);
	__atomic_store_n(&v->used, true, __ATOMIC_RELEASE);
	__atomic_add_fetch(&dp->nvti, 1, __ATOMIC_RELAXED);
	vti_publish(dp);
	log_info("dp: tunnel interface %s (reqid 0x%x) up", v->tun.name, reqid);
	ret = 0;
out:
	pthread_mutex_unlock(&dp->vti_lock);
	return ret;
}

/* Under vti_lock, or with the workers stopped. */
static void vti_remove(struct dp *dp, struct dp_vti *v)
{
	__atomic_store_n(&v->used, false, __ATOMIC_RELEASE);
	__atomic_sub_fetch(&dp->nvti, 1, __ATOMIC_RELAXED);
	vti_wait(dp, vti_publish(dp));
	log_info("dp: tunnel interface %s removed", v->tun.name);
	tun_close(&v->tun);
	memset(v, 0, sizeof(*v));
	for (unsigned i = 0; i < TUN_MAX_QUEUES; i++)
		v->tun.fd[i] = -1;
}

int dp_vti_del(struct dp *dp, const char *name)
{
	struct dp_vti *v;

	pthread_mutex_lock(&dp->vti_lock);
	v = vti_find(dp, name);
	if (v)
		vti_remove(dp, v);
	pthread_mutex_unlock(&dp->vti_lock);
	return v ? 0 : -1;
}

void dp_vti_del_all(struct dp *dp)
{
	for (unsigned i = 0; i < DP_VTI_MAX; i++)
		if (dp->vti[i].used)
			vti_remove(dp, &dp->vti[i]);
}

int dp_vti_ifindex(struct dp *dp, const char *name)
{
	struct dp_vti *v;
	int idx;

	pthread_mutex_lock(&dp->vti_lock);
	v = vti_find(dp, name);
	idx = v ? v->tun.ifindex : 0;
	pthread_mutex_unlock(&dp->vti_lock);
	return idx;
}

static int vti_addr(struct dp *dp, const char *name, const struct ip_prefix *a, bool add)
{
	int idx = dp_vti_ifindex(dp, name);

	if (!idx) {
		log_err("dp: no tunnel interface %s", name);
		return -1;
	}
	return tun_addr_change(idx, a, add);
}

int dp_vti_addr_add(struct dp *dp, const char *name, const struct ip_prefix *a)
{
	return vti_addr(dp, name, a, true);
}

int dp_vti_addr_del(struct dp *dp, const char *name, const struct ip_prefix *a)
{
	return vti_addr(dp, name, a, false);
}

static int vti_route(struct dp *dp, const char *name, const struct ip_prefix *dst, bool add)
{
	int idx = dp_vti_ifindex(dp, name);

	if (!idx) {
		if (!add) /* the device took its routes with it */
			return 0;
		log_err("dp: no tunnel interface %s", name);
		return -1;
	}
	if (!dp->routes_ready)
		return -1;
	return route_set_dev(&dp->routes, idx, dst, add);
}

int dp_vti_route_add(struct dp *dp, const char *name, const struct ip_prefix *dst)
{
	return vti_route(dp, name, dst, true);
}

int dp_vti_route_del(struct dp *dp, const char *name, const struct ip_prefix *dst)
{
	return vti_route(dp, name, dst, false);
}

int dp_set_queue_len(struct dp *dp, uint32_t qlen)
{
	uint32_t n = tun_qlen_in_force(qlen);
	int ret = tun_set_qlen(&dp->tun, n);

	pthread_mutex_lock(&dp->vti_lock);
	dp->cfg.tun_qlen = qlen;
	for (unsigned i = 0; i < DP_VTI_MAX; i++)
		if (dp->vti[i].used && tun_set_qlen(&dp->vti[i].tun, n) < 0)
			ret = -1;
	pthread_mutex_unlock(&dp->vti_lock);
	if (ret == 0)
		log_info("dp: tunnel device queues hold %u packets", n);
	return ret;
}
