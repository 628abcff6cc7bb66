#!/bin/bash
# Rekeys against strongSwan (AES-GCM-256, group 19, PFS 19, tunnel):
#   1. gwB (strongSwan) rekeys the child: swanctl --rekey --child net
#   2. gwB rekeys the IKE SA: swanctl --rekey --ike lab
#   3. gwA rekeys the child, 4. gwA rekeys the IKE SA: with esprit on gwA
#      `rekey crypto ipsec sa` and `rekey crypto ikev2 sa` (the same
#      CREATE_CHILD_SA exchanges its lifetimes start; the timers themselves
#      are tested on a virtual clock in tests/exchange); with
#      INTEROP_GWA=strongswan, swanctl --rekey on gwA.
# After each: both sides show the child with new SPIs (the old ones gone
# on gwB), gwB counts who sent the CREATE_CHILD_SA request, pings both
# ways. A 5 MB TCP transfer each way at the start and at the end.
. "$(dirname "$0")/lib.sh"
iop_init
prop_set gcm
iop_setup
up_by gwa
check_traffic

# Requests gwB received (parsed) / sent (generating) of CREATE_CHILD_SA.
ccs_rx() { grep -c "parsed CREATE_CHILD_SA request" "$RUNDIR/B/charon.log"; }
# spis_changed OLD: gwB's inbound SPIs now are disjoint from OLD and
# the child is installed.
spis_changed() {
	local now
	now=$(sw_child_spis B)
	[ -n "$now" ] && sw_child_up B && [ -z "$(comm -12 <(echo "$1") <(echo "$now"))" ]
}
ike_changed() {
	local now
	now=$(sw_ike_ids B)
	[ -n "$now" ] && [ "$now" != "$1" ] && [ "$(echo "$now" | wc -l)" = 1 ]
}
gwa_spis_changed() {
	local now
	now=$(gwa_child_spis)
	[ -n "$now" ] && [ -z "$(comm -12 <(echo "$1") <(echo "$now"))" ]
}
after_rekey() {
	check "$1: both sides still show the child" eval 'gwa_child_up && sw_child_up B'
	check_ping "$HA" "$HB4"
	check_ping "$HB" "$HA4"
}

info "== 1. gwB rekeys the child"
old=$(sw_child_spis B) olda=$(gwa_child_spis)
check "swanctl --rekey --child net on gwB" sw B --rekey --child net
check "gwB: child has new SPIs (was $(echo $old))" wait_for 15 spis_changed "$old"
check "gwA: child has new inbound SPIs (was $(echo $olda))" wait_for 15 gwa_spis_changed "$olda"
after_rekey "child rekey by gwB"

info "== 2. gwB rekeys the IKE SA"
oldi=$(sw_ike_ids B) rx=$(ccs_rx)
check "swanctl --rekey --ike lab on gwB" sw B --rekey --ike lab
check "gwB: one IKE SA, new unique id (was $oldi)" wait_for 15 ike_changed "$oldi"
after_rekey "IKE rekey by gwB"

info "== 3./4. gwA rekeys the child and the IKE SA"
old=$(sw_child_spis B) oldi=$(sw_ike_ids B) rx=$(ccs_rx)
check "gwA starts a child rekey" gwa_rekey_child
check "gwB: child has new SPIs (was $(echo $old))" wait_for 15 spis_changed "$old"
check "gwA starts an IKE SA rekey" gwa_rekey_ike
check "gwB: one IKE SA, new unique id (was $oldi)" wait_for 15 ike_changed "$oldi"
rx2=$(ccs_rx)
check "gwB received gwA's CREATE_CHILD_SA requests ($rx -> $rx2)" [ "$rx2" -ge $((rx + 2)) ]
after_rekey "rekeys by gwA"
check_traffic
gwa_show
down_by gwa
iop_teardown
finish
