#!/bin/bash
# The acquire queue (ARCHITECTURE "no SA: queue the packet (bounded) and
# send an ACQUIRE"), IKEv2 crypto maps from examples/ikev2-map-gwA.cfg /
# -gwB.cfg:
#   1. with no peer, the packets that wait for an SA are dropped after the
#      queue's timeout (5 s) and counted as no-outbound-sa;
#   2. with the peer up, the FIRST ping (ping -c 1) from hostA already gets
#      its answer: it waits on gwA while IKE runs and is sent when the
#      child SA is installed; nothing is dropped for want of an SA.
#
#   hostA (198.19.1.2) -- (198.19.1.1) gwA (198.18.0.1) ==WAN== (198.18.0.2) gwB (198.19.2.1) -- hostB (198.19.2.2)
. "$(dirname "$0")/lib.sh"
lib_init
need_daemon
topo_up

ping1() { nsx "$HA" ping -q -c 1 -W 5 "$HB4" >/dev/null 2>&1; }
ike_ready() {
	cli "$1" --json show crypto ikev2 sa | "$PY" -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if any(s["status"]=="READY" for s in d["ike_sas"]) else 1)'
}
nosa() { sa_get "$1" 'drop("no-outbound-sa")'; }
acquires() { sa_get "$1" 'd["dataplane"]["acquires"]'; }

# 1. No peer: queued, then expired.
start_esprit "$GA" "$EX/ikev2-map-gwA.cfg" || bail "gwA did not start"
nsx "$HA" ping -q -c 3 -i 0.2 -W 1 "$HB4" >/dev/null 2>&1
n0=$(nosa "$GA")
check "while IKE has no answer, the 3 packets wait: no-outbound-sa drops $n0 = 0" num_eq "$n0" 0
sleep 6
n1=$(nosa "$GA")
check "after the 5 s timeout they are dropped: no-outbound-sa $n1 = 3" num_eq "$n1" 3
stop_esprit "$GA"

# 2. Peer up: the first packet is answered.
start_esprit "$GA" "$EX/ikev2-map-gwA.cfg" || bail "gwA did not start"
start_esprit "$GB" "$EX/ikev2-map-gwB.cfg" || bail "gwB did not start"
check "the first ping hostA -> hostB (ping -c 1 -W 5) is answered" \
	ping1
check "gwA's IKE SA is READY" ike_ready "$GA"
a=$(acquires "$GA")
check "gwA fired an acquire ($a)" num_ge "$a" 1
q=$(sa_get "$GA" 'int(d["dataplane"]["acq_queued"])'); f=$(sa_get "$GA" 'int(d["dataplane"]["acq_flushed"])')
check "show crypto ipsec sa detail: queued $q, sent $f once the SA was up" \
	eval 'num_ge "$q" 1 && num_eq "$f" "$q"'
n=$(nosa "$GA"); m=$(nosa "$GB")
check "no packet dropped for want of an SA (gwA $n, gwB $m)" eval 'num_eq "$n" 0 && num_eq "$m" 0'
ea=$(sa_get "$GA" 'sum_g("pkts_encaps")'); db=$(sa_get "$GB" 'sum_g("pkts_decaps")')
check "the queued packet went through ESP: gwA encaps $ea >= 1, gwB decaps $db" \
	eval 'num_ge "$ea" 1 && num_eq "$db" "$ea"'
# A burst before the SA exists: every packet of a short flood waits and goes.
cli "$GA" clear crypto ikev2 sa >/dev/null
sleep 1
out=$(nsx "$HA" ping -c 5 -i 0.01 -W 5 "$HB4" 2>&1)
recv=$(echo "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
check "after clear, 5 pings sent at once before the SA: $recv answered" num_eq "$recv" 5
check_ping "$HB" "$HA4"
stop_esprit "$GA"
stop_esprit "$GB"
finish
