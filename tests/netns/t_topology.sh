#!/bin/bash
# The four-namespace topology of lib.sh with plain routing and no IPsec:
# checks the harness itself (addresses, forwarding, IPv4 and IPv6, TCP
# transfer with SHA-256, WAN capture), so that a failing IPsec scenario
# is not a broken test bed.
#
#   hostA (198.19.1.2) -- (198.19.1.1) gwA (198.18.0.1) ==WAN== (198.18.0.2) gwB (198.19.2.1) -- hostB (198.19.2.2)
#   IPv6: 2001:db8:1::/64 -- gwA (2001:db8:ff::1) ==WAN== (2001:db8:ff::2) gwB -- 2001:db8:2::/64
. "$(dirname "$0")/lib.sh"
lib_init
topo_up
check "gateways have no route to the remote site before topo_plain_routes" ping_fails "$HA" "$HB4"
topo_plain_routes
check_ping "$HA" "$HB4"
check_ping "$HB" "$HA4"
check_ping "$HA" "$HB6"
check_ping "$HB" "$HA6"
capture_start "$GA" wan0 "$TMP/wan.pcap" 128 || bail "dumpcap on gwA wan0"
check_transfer "$HA" "$HB" "$HB4" 4000000
check_transfer "$HB" "$HA" "$HA6" 4000000
capture_stop
n=$(tshark_count "$TMP/wan.pcap" "ip.src==$HA4 && tcp")
check "capture sees the clear-text TCP from hostA on the WAN ($n packets)" num_gt "$n" 100
finish
