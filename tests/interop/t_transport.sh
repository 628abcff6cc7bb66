#!/bin/bash
# Transport mode, esprit (gwA) <-> strongSwan (gwB), AES-GCM-256/group 19,
# selectors = the two gateways' own addresses.
#
# strongSwan's kernel-libipsec (the only ESP strongSwan has here: the
# kernel has no ESP) does tunnel mode only: it refuses to install a
# transport SA ("IPsec SA: unsupported mode"). So traffic cannot be
# tested against strongSwan; what is tested is the IKE negotiation:
# strongSwan initiates with USE_TRANSPORT_MODE (RFC 7296 1.3.1), gwA must
# accept transport mode (gwB then reaches the SAD install, which libipsec
# refuses), and the IKE SA is up on both sides; then esprit initiates the
# same way. Set INTEROP_TRANSPORT_TRAFFIC=1 to try traffic anyway.
. "$(dirname "$0")/lib.sh"
iop_init
prop_set gcm
MODE=transport
iop_setup

# Whichever charon gets to install first logs it (with esprit on gwA: gwB).
agreed_transport() { cat "$RUNDIR"/?/charon.log | grep -q "IPsec SA: unsupported mode"; }
sa_mode_ok() {
	# gwA, if esprit, must show an SA in transport mode (or none if it
	# already processed strongSwan's delete of the failed child).
	[ "$GWA_IMPL" != esprit ] && return 0
	cli "$GA" show crypto ipsec sa 2>/dev/null | grep -q "in use settings ={Transport" ||
		grep -qE "Child SA .* transport installed" "${DAEMON_LOG[$GA]}"
}

info "== gwB (strongSwan) initiates transport mode"
gwb_initiate
check "gwB: IKE SA established with gwA ($GWA_IMPL)" wait_for 10 sw_ike_up B
check "transport mode agreed (strongSwan reached its SAD install: 'unsupported mode')" wait_for 10 agreed_transport
check "gwA negotiated transport mode" sa_mode_ok
gwa_show
down_by gwb
info "== gwA ($GWA_IMPL) initiates transport mode"
if [ "$GWA_IMPL" = esprit ]; then
	nsx "$GA" timeout 10 ping -n -c 3 -i 0.5 -W 1 "$GB4" >/dev/null 2>&1
else
	gwa_initiate
fi
check "gwB: IKE SA established with gwA after gwA's initiation" wait_for 15 sw_ike_up B
gwa_show
if [ "${INTEROP_TRANSPORT_TRAFFIC:-0}" = 1 ]; then
	check_traffic
fi
down_by gwa
iop_teardown
finish
