/* espritd internals: the daemon's state and the reconciler that turns a
 * configuration into policies, SAs and routes. */
#ifndef ESPRIT_DAEMON_DAEMON_H
#define ESPRIT_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/model.h"
#include "dataplane/dp.h"
#include "ipsec/sad.h"
#include "ipsec/spd.h"
#include "config/reconcile.h"
#include "config/seqstate.h"

struct daemon {
	struct config *running;      /* owned */
	char config_path[4096];
	char socket_path[256];
	bool socket_from_cmdline;
	struct sad *sad;             /* owned */
	struct spd *spd;             /* owned */
	struct dp *dp;               /* owned */
	struct event_base *base;
	struct ctl_server *ctl;
	struct ike_glue *ike;        /* owned */
	struct reconcile_target rt; /* sad/spd/dp mirrored here, routes owned */
	struct seqstate seqst;      /* manual SAs' sequence numbers, in <socket>.seq */
	bool seq_open;
};

#endif
