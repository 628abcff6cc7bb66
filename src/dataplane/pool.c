/* Per-worker packet pool: a fixed set of buffers, no malloc per packet.
 * Only the owning worker thread touches a pool, so there is no lock. */
#include <stdlib.h>
#include <string.h>

#include "dataplane/internal.h"

int pkt_pool_init(struct pkt_pool *pp, unsigned n)
{
	memset(pp, 0, sizeof(*pp));
	if (n == 0)
		return -1;
	pp->pkts = calloc(n, sizeof(*pp->pkts));
	pp->free = calloc(n, sizeof(*pp->free));
	pp->mem = malloc((size_t)n * PKT_BUF_SIZE);
	if (!pp->pkts || !pp->free || !pp->mem) {
		pkt_pool_destroy(pp);
		return -1;
	}
	pp->n = n;
	for (unsigned i = 0; i < n; i++) {
		pp->pkts[i].buf = pp->mem + (size_t)i * PKT_BUF_SIZE;
		pp->pkts[i].cap = PKT_BUF_SIZE;
		pp->free[i] = &pp->pkts[i];
	}
	pp->nfree = n;
	return 0;
}

void pkt_pool_destroy(struct pkt_pool *pp)
{
	free(pp->pkts);
	free(pp->free);
	free(pp->mem);
	memset(pp, 0, sizeof(*pp));
}

struct pkt *pkt_pool_get(struct pkt_pool *pp)
{
	struct pkt *p;

	if (pp->nfree == 0)
		return NULL;
	p = pp->free[--pp->nfree];
	p->off = PKT_HEADROOM;
	p->len = 0;
	return p;
}

void pkt_pool_put(struct pkt_pool *pp, struct pkt *p)
{
	/* A packet that is not ours, or a double put, is a bug: keep the
	 * pool consistent rather than corrupting the free stack. */
	if (!p || p < pp->pkts || p >= pp->pkts + pp->n || pp->nfree >= pp->n)
		return;
	pp->free[pp->nfree++] = p;
}
