#!/bin/bash
# `crypto engine offload xdp-tx`: native ESP sent with AF_XDP (src/dataplane/
# xsk.c) instead of the raw socket, on both gateways.
# - the ESP AES-GCM manual scenario (tests/netns/manual.sh: pings, 20 MB
#   and 5 MB TCP with SHA-256, ESP and no clear text on the WAN, counters
#   agree, nothing dropped), with the offload on;
# - both daemons say so (start-up log, the device's AF_XDP socket,
#   `show crypto engine`) and gwA sent most of its packets with AF_XDP
#   (show crypto ipsec sa detail / JSON xdp_tx);
# - what AF_XDP sends is what the receiving side's kernel sees: a capture
#   on gwB's WAN counts gwA's ESP (the sender's own capture point does not
#   see AF_XDP frames: docs/dataplane.md);
# - gwA's neighbour entry for gwB flushed (and the workers' 5-second cache
#   expired): the next packets go on the raw socket (the kernel resolves
#   gwB again), then AF_XDP again; no ping lost;
# - IPv6 over IPv6 (examples/manual-ipv6) with the offload: ping and 3 MB
#   TCP, sent with AF_XDP;
# - IKEv2 (examples/ikev2-map): the negotiated SAs take the same path (3 MB
#   TCP), and show running-config keeps the line.
. "$(dirname "$0")/manual.sh"
XDP=$(mktemp -d /tmp/esprit-xdp.XXXXXX)
for f in manual-esp-gcm-gwA manual-esp-gcm-gwB manual-ipv6-gwA manual-ipv6-gwB ikev2-map-gwA \
	ikev2-map-gwB; do
	{
		echo "crypto engine offload xdp-tx"
		cat "$EX/$f.cfg"
	} >"$XDP/$f.cfg"
done
EX0=$EX
EX=$XDP manual_scenario esp-gcm esp
dp() { sa_get "$1" "d[\"dataplane\"][\"$2\"]"; }

for ns in "$GA" "$GB"; do
	check "${ns##*-} started with xdp-tx on" grep -q "batch crypto [a-z]*, xdp-tx on" "${DAEMON_LOG[$ns]}"
	check "${ns##*-} opened an AF_XDP socket on its WAN device" \
		grep -q "sent with AF_XDP (copy mode, queue 0)" "${DAEMON_LOG[$ns]}"
done
check "show crypto engine says xdp-tx on" eval 'cli "$GA" show crypto engine | grep -q "xdp-tx on"'
check "and its JSON" eval 'cli "$GA" --json show crypto engine | grep -q "\"xdp_tx\": *true"'
xa=$(dp "$GA" xdp_tx)
na=$(dp "$GA" net_tx)
check "gwA sent $xa of its $na packets with AF_XDP (most)" eval 'num_gt "$xa" $((na / 2))'
check "gwB sent with AF_XDP too ($(dp "$GB" xdp_tx))" num_gt "$(dp "$GB" xdp_tx)" 100
check "show crypto ipsec sa detail prints the AF_XDP line" \
	eval 'cli "$GA" show crypto ipsec sa detail | grep -q "sent with AF_XDP (xdp-tx): [1-9]"'

info "== the receiving side sees gwA's AF_XDP frames"
capture_start "$GB" wan0 "$TMP/wanb.pcap" 160 || bail "dumpcap on gwB wan0"
check "20 pings hostA -> hostB" nsx "$HA" ping -c 20 -i 0.05 -W 2 "$HB4"
capture_stop
n=$(tshark_count "$TMP/wanb.pcap" "esp && ip.src == 198.18.0.1")
check "gwB's WAN captured gwA's ESP ($n packets)" num_ge "$n" 20

info "== neighbour flushed on gwA: raw socket first, then AF_XDP again"
x0=$(dp "$GA" xdp_tx)
n0=$(dp "$GA" net_tx)
ip -n "$GA" neigh flush dev wan0
sleep 6 # past the workers' next-hop cache (5 s): they must ask the kernel again
check "30 pings, none lost" nsx "$HA" ping -c 30 -i 0.1 -W 2 -q "$HB4"
check "gwA resolved gwB again (the raw socket's packets had the kernel do it)" \
	eval 'ip -n "$GA" neigh show dev wan0 | grep -q "198.18.0.2 .*lladdr"'
x1=$(dp "$GA" xdp_tx)
n1=$(dp "$GA" net_tx)
check "some packets went on the raw socket ($((n1 - n0 - x1 + x0)) of $((n1 - n0)))" \
	num_gt "$((n1 - n0 - x1 + x0))" 0
check "and AF_XDP took over again ($x0 -> $x1)" num_gt "$x1" "$((x0 + 5))"
check "gwA counted them as sent raw for want of a next hop (xdp_tx_raw $(dp "$GA" xdp_tx_raw))" \
	num_ge "$(dp "$GA" xdp_tx_raw)" "$((n1 - n0 - x1 + x0))"
stop_esprit "$GA"
stop_esprit "$GB"

info "== IPv6 over IPv6 with xdp-tx"
start_esprit "$GA" "$XDP/manual-ipv6-gwA.cfg" || bail "gwA v6"
start_esprit "$GB" "$XDP/manual-ipv6-gwB.cfg" || bail "gwB v6"
check_ping "$HA" "$HB6"
check_transfer "$HA" "$HB" "$HB6" 3000000
check "gwA sent IPv6 ESP with AF_XDP ($(dp "$GA" xdp_tx))" num_gt "$(dp "$GA" xdp_tx)" 100
check "gwB too ($(dp "$GB" xdp_tx))" num_gt "$(dp "$GB" xdp_tx)" 50
check_sa_counters
stop_esprit "$GA"
stop_esprit "$GB"

info "== IKEv2 (examples/ikev2-map) with xdp-tx: negotiated SAs, the same path"
start_esprit "$GA" "$XDP/ikev2-map-gwA.cfg" || bail "gwA ikev2"
start_esprit "$GB" "$XDP/ikev2-map-gwB.cfg" || bail "gwB ikev2"
nsx "$HA" ping -c 3 -i 0.5 -W 2 "$HB4" >/dev/null 2>&1 # starts IKE
check "the IKE SA is up" wait_for 10 ike_ready "$GA"
check_ping "$HA" "$HB4"
check_transfer "$HA" "$HB" "$HB4" 3000000
check "gwA sent with AF_XDP ($(dp "$GA" xdp_tx))" num_gt "$(dp "$GA" xdp_tx)" 100
check "show running-config keeps the line" \
	eval 'cli "$GA" show running-config | grep -q "^crypto engine offload xdp-tx$"'
stop_esprit "$GA"
stop_esprit "$GB"
EX=$EX0
rm -rf "$XDP"
finish
