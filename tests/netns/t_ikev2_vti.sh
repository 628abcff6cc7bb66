#!/bin/bash
# IKEv2 between two esprit gateways, route-based (VTI), from the example
# configurations examples/ikev2-vti-gwA.cfg / -gwB.cfg: `interface
# Tunnel101` with `tunnel protection ipsec profile VTI` is a TUN device of
# that name with its address; `ip route ... Tunnel101` routes the remote
# site into it; the first packet into the tunnel starts IKE (acquire with
# the tunnel's reqid, packet queued), the child SA is any <-> any, traffic
# flows both ways, and shutdown removes the device and its routes.
#
#   hostA (198.19.1.2) -- (198.19.1.1) gwA (198.18.0.1) ==WAN== (198.18.0.2) gwB (198.19.2.1) -- hostB (198.19.2.2)
#                        Tunnel101 198.19.255.1/30  <== ESP ==>  Tunnel101 198.19.255.2/30
. "$(dirname "$0")/lib.sh"
lib_init
need_daemon
topo_up
start_esprit "$GA" "$EX/ikev2-vti-gwA.cfg" || bail "gwA did not start"
start_esprit "$GB" "$EX/ikev2-vti-gwB.cfg" || bail "gwB did not start"

ping1() { nsx "$HA" ping -q -c 1 -W 5 "$HB4" >/dev/null 2>&1; }
has_link() { ip -n "$1" -o link show dev Tunnel101 >/dev/null 2>&1; }
has_addr() { ip -n "$1" -o addr show dev Tunnel101 2>/dev/null | grep -q "inet $2"; }
has_route() { ip -n "$1" route show "$2" 2>/dev/null | grep -q "dev Tunnel101"; }

check "gwA has a Tunnel101 device" has_link "$GA"
check "gwB has a Tunnel101 device" has_link "$GB"
check "gwA Tunnel101 has 198.19.255.1/30" has_addr "$GA" 198.19.255.1/30
check "gwB Tunnel101 has 198.19.255.2/30" has_addr "$GB" 198.19.255.2/30
check "gwA routes 198.19.2.0/24 into Tunnel101" has_route "$GA" 198.19.2.0/24
check "gwB routes 198.19.1.0/24 into Tunnel101" has_route "$GB" 198.19.1.0/24

# The very first ping starts IKE and is answered (acquire queue).
check "first ping hostA -> hostB through the tunnel is answered" \
	ping1
check "gwA's IKE SA is READY" wait_for 10 ike_ready "$GA"
check "gwB's IKE SA is READY" wait_for 10 ike_ready "$GB"
check_ping "$HA" "$HB4"
check_ping "$HB" "$HA4"
check "gwA pings gwB's tunnel address 198.19.255.2" eval 'nsx "$GA" ping -q -c 2 -W 2 198.19.255.2 >/dev/null'
check "gwB pings gwA's tunnel address 198.19.255.1" eval 'nsx "$GB" ping -q -c 2 -W 2 198.19.255.1 >/dev/null'
check_transfer "$HA" "$HB" "$HB4" 5000000
ea=$(sa_get "$GA" 'sum_g("pkts_encaps")'); db=$(sa_get "$GB" 'sum_g("pkts_decaps")')
check "gwA encaps $ea > 0 and gwB decaps $db ~ it" eval 'num_gt "$ea" 0 && num_close "$ea" "$db"'
# Packets the daemon wrote into the device are "rx" for the kernel.
tun_rx() { ip -n "$1" -s -j link show dev Tunnel101 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["packets"])'; }
rb=$(tun_rx "$GB")
check "gwB delivered decrypted packets on Tunnel101 ($rb)" num_gt "$rb" 0
cli "$GA" show crypto ikev2 sa | sed 's/^/#   /'

stop_esprit "$GA"
stop_esprit "$GB"
check "gwA: no Tunnel101 left" eval '! has_link "$GA"'
check "gwA: no route to 198.19.2.0/24 left" eval '[ -z "$(ip -n "$GA" route show 198.19.2.0/24)" ]'
check "gwB: no route to 198.19.1.0/24 left" eval '[ -z "$(ip -n "$GB" route show 198.19.1.0/24)" ]'
finish
