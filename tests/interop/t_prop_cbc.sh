#!/bin/bash
# esprit (gwA) <-> strongSwan (gwB), IKE AES-CBC-256/HMAC-SHA2-256/MODP-2048 (group 14), ESP aes256-sha256 with PFS group 14,
# tunnel mode. esprit as initiator, then as responder; pings and 5 MB TCP
# both ways each time; DELETE from each side. Where libipsec-mb is
# installed esprit seals the segments of TCP superpackets in multi-buffer
# batches (crypto/mb.h): strongSwan must accept every one of them; and it
# computes the ICVs of strongSwan's packets in batches before opening them.
. "$(dirname "$0")/lib.sh"
iop_init
prop_set cbc

mb_check() {
	[ "$GWA_IMPL" = esprit ] && grep -q "batch crypto on" "${DAEMON_LOG[$GA]}" || return 0
	local mb mi
	mb=$(sa_get "$GA" 'd["dataplane"]["mb_pkts"]')
	mi=$(sa_get "$GA" 'd["dataplane"]["mb_in_pkts"]')
	check "esprit sealed $mb packets in multi-buffer batches, strongSwan opened them" \
		num_gt "$mb" "${1:-1000}"
	check "esprit verified $mi of strongSwan's packets in multi-buffer batches" \
		num_gt "$mi" "${1:-1000}"
}

iop_setup
info "== gwA ($GWA_IMPL) as initiator, $PROP, $MODE"
up_by gwa
check_traffic
mb_check 1000
down_by gwa
info "== gwA ($GWA_IMPL) as responder, $PROP, $MODE"
up_by gwb
check_traffic
mb_check 2000
down_by gwb
iop_teardown
finish
