#!/bin/bash
# IKEv2 between two esprit gateways, crypto-map style, from the example
# configurations examples/ikev2-map-gwA.cfg / -gwB.cfg (PSK, AES-GCM-256,
# group 19, PFS): interesting traffic starts IKE (acquire), the IKE SA and
# the child SA come up, traffic flows both ways, and a DELETE from one side
# removes the SAs on both.
#
#   hostA (198.19.1.2) -- (198.19.1.1) gwA (198.18.0.1) ==WAN== (198.18.0.2) gwB (198.19.2.1) -- hostB (198.19.2.2)
#                                       espritd  <-- IKEv2 UDP 500 -->  espritd
. "$(dirname "$0")/lib.sh"
lib_init
need_daemon
topo_up
start_esprit "$GA" "$EX/ikev2-map-gwA.cfg" || bail "gwA did not start"
start_esprit "$GB" "$EX/ikev2-map-gwB.cfg" || bail "gwB did not start"


check "no IKE SA before any traffic" eval '[ "$(ike_count "$GA")" = 0 ]'
# The message trace for gwB only on gwA; a filter on another peer on gwB.
check "debug crypto ikev2 peer on gwA" eval 'cli "$GA" debug crypto ikev2 peer "$GB4" | grep -q "debugging is on"'
cli "$GB" debug crypto ikev2 peer 198.18.0.99 >/dev/null
# The first packets trigger the acquire; allow for the negotiation.
nsx "$HA" ping -c 3 -i 0.5 -W 2 "$HB4" >/dev/null 2>&1
check "ping hostA -> hostB starts IKE: gwA's IKE SA is READY" wait_for 10 ike_ready "$GA"
check "gwB's IKE SA is READY too" ike_ready "$GB"
check_ping "$HA" "$HB4"
check_ping "$HB" "$HA4"
check_transfer "$HA" "$HB" "$HB4" 20000000
check_transfer "$HB" "$HA" "$HA4" 5000000
ea=$(sa_get "$GA" 'sum_g("pkts_encaps")'); db=$(sa_get "$GB" 'sum_g("pkts_decaps")')
eb=$(sa_get "$GB" 'sum_g("pkts_encaps")'); da=$(sa_get "$GA" 'sum_g("pkts_decaps")')
check "gwA encaps $ea > 0 and gwB decaps $db ~ it" eval 'num_gt "$ea" 0 && num_close "$ea" "$db"'
check "gwB encaps $eb > 0 and gwA decaps $da ~ it" eval 'num_gt "$eb" 0 && num_close "$eb" "$da"'
# The packets that started IKE may be counted as no-outbound-sa (before
# the acquire queue holds them); no other drop is acceptable.
xa=$(sa_get "$GA" 'drops_total() - drop("no-outbound-sa")'); xb=$(sa_get "$GB" 'drops_total() - drop("no-outbound-sa")')
check "no drops other than the acquire's (gwA $xa, gwB $xb)" eval 'num_eq "$xa" 0 && num_eq "$xb" 0'
# The trace decodes each payload (IDs, proposals, selectors), never keys.
trace_has() { grep -F "ikev2 trace VPN 10: $1" "${DAEMON_LOG[$GA]}" | grep -qF "$2"; }
check "gwA traces IKE_SA_INIT to gwB with the proposal and group" \
	trace_has "-> $GB4[500] IKE_SA_INIT request 0 [ SA(IKE#1 aes-gcm-16-256/prf-hmac-sha384/ecp256)" "KE(ecp256, 64 bytes) No(32 bytes)"
check "gwA traces IKE_AUTH with IDi, AUTH method and selectors (the ping's first: RFC 7296 2.9)" \
	trace_has "-> $GB4[500] IKE_AUTH request 1 [ IDi(IPV4 $GA4)" "TSi($HA4-$HA4 proto 1, 198.19.1.0-198.19.1.255) TSr($HB4-$HB4 proto 1, 198.19.2.0-198.19.2.255)"
check "gwA traces gwB's IKE_AUTH response with IDr" trace_has "<- $GB4[500] IKE_AUTH response 1" "IDr(IPV4 $GB4) AUTH(PSK)"
check "gwB traces nothing (its filter names another peer)" not_grep "ikev2 trace" "${DAEMON_LOG[$GB]}"
check "no log holds the pre-shared key" eval '! grep -q esprit-example-psk "${DAEMON_LOG[$GA]}" "${DAEMON_LOG[$GB]}"'
role=$(ike_json "$GA" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["ike_sas"][0]["role"])')
check "gwA initiated (role $role)" eval '[ "$role" = Initiator ]'
check "show crypto session lists the flow" eval 'cli "$GA" show crypto session | grep -q "IPSEC FLOW: permit"'

# DELETE from gwB: gwA removes its IKE SA and child SAs too.
cli "$GB" clear crypto ikev2 sa >/dev/null
check "after clear on gwB, gwA has no IKE SA" wait_for 10 eval '[ "$(ike_count "$GA")" = 0 ]'
nchild=$(cli "$GA" --json show crypto ipsec sa | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(sum(len(s.get("inbound",[]))+len(s.get("outbound",[])) for s in d.get("sas",[])))')
check "gwA removed the child SAs ($nchild left)" eval '[ "$nchild" = 0 ]'
# Traffic brings the tunnel back.
nsx "$HA" ping -c 3 -i 0.5 -W 2 "$HB4" >/dev/null 2>&1
check "new traffic re-establishes the IKE SA" wait_for 10 ike_ready "$GA"
check_ping "$HA" "$HB4"
finish
