#!/bin/bash
# The manual-keying scenarios (tests/netns/t_manual_*.sh): two espritd
# gateways loaded with examples/manual-NAME-gwA.cfg / -gwB.cfg, then
#   - ping both ways, and a TCP transfer of 20 MB (and 5 MB back) whose
#     SHA-256 matches on arrival;
#   - a capture on the WAN veth shows the expected protocol (ESP, AH,
#     ESP-in-UDP 4500) and no clear-text site traffic;
#   - both daemons count what the other sent, and drop nothing.
#
#   hostA (198.19.1.2) -- (198.19.1.1) gwA (198.18.0.1) ==WAN== (198.18.0.2) gwB (198.19.2.1) -- hostB (198.19.2.2)
#   IPv6: 2001:db8:1::2 -- gwA (2001:db8:ff::1) ==WAN== (2001:db8:ff::2) gwB -- 2001:db8:2::2
#
# usage (from a t_manual_*.sh): manual_scenario NAME WIRE [SRC DST ADDR_B ADDR_A] [KIND]
#   WIRE: the tshark filter every WAN packet of the tunnel matches (esp, ah,
#         udp.port == 4500); SRC/DST: the namespaces that talk (default
#         hostA/hostB) and their addresses; KIND: payload (random | text).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

manual_scenario() {
	local name=$1 wire=$2 src=${3:-$HA} dst=${4:-$HB} addr_b=${5:-$HB4} addr_a=${6:-$HA4}
	local kind=${7:-random} clear n
	lib_init
	need_daemon
	topo_up
	start_esprit "$GA" "$EX/manual-$name-gwA.cfg" || bail "gwA did not start"
	start_esprit "$GB" "$EX/manual-$name-gwB.cfg" || bail "gwB did not start"
	capture_start "$GA" wan0 "$TMP/wan.pcap" 160 || bail "dumpcap on gwA wan0"
	check_ping "$src" "$addr_b"
	check_ping "$dst" "$addr_a"
	check_transfer "$src" "$dst" "$addr_b" 20000000 "$kind"
	check_transfer "$dst" "$src" "$addr_a" 5000000 "$kind"
	capture_stop
	# With UDP GSO the capture sees superpackets, so count frames loosely.
	n=$(tshark_count "$TMP/wan.pcap" "$wire")
	check "the WAN carries $wire ($n frames)" num_gt "$n" 100
	# Site traffic in clear on the WAN: TCP or ICMP not inside the tunnel.
	if [ "$wire" = "udp.port == 4500" ]; then
		clear=$(tshark_count "$TMP/wan.pcap" "(tcp || icmp || icmpv6.type == 128) && !udp")
	else
		clear=$(tshark_count "$TMP/wan.pcap" "(tcp || icmp || icmpv6.type == 128) && !esp && !ah")
	fi
	check "no clear-text site traffic on the WAN ($clear packets)" num_eq "$clear" 0
	check_sa_counters
	# The receiver of the 20 MB coalesced the decrypted TCP segments into
	# TUN superpackets (gro.c), unless offloads are off for debugging.
	if [ "${ESPRIT_DP_OFFLOADS:-1}" != 0 ] && [ "${MANUAL_OFFLOADS:-on}" = on ]; then
		local gp gw
		gp=$(sa_get "$GB" 'd["dataplane"]["tun_gro_pkts"]')
		gw=$(sa_get "$GB" 'd["dataplane"]["tun_gro_writes"]')
		check "gwB wrote $gp decrypted segments as $gw superpackets" \
			eval 'num_gt "$gw" 10 && num_gt "$gp" $((2 * gw))'
	fi
	# AES-CBC + HMAC: gwA sealed the segments of TCP superpackets in
	# multi-buffer batches (crypto/mb.h) where libipsec-mb is present and
	# the offload is on, and gwB computed the ICVs of received batches
	# together (no ESN on manual SAs) before opening them.
	if [ "$name" = esp-cbc-sha256 ] && grep -q "batch crypto on" "${DAEMON_LOG[$GA]}"; then
		local mb mi
		mb=$(sa_get "$GA" 'd["dataplane"]["mb_pkts"]')
		mi=$(sa_get "$GB" 'd["dataplane"]["mb_in_pkts"]')
		check "gwA sealed $mb packets in multi-buffer batches" num_gt "$mb" 1000
		check "gwB verified $mi packets in multi-buffer batches" num_gt "$mi" 1000
	fi
	if [ "$name" = ipcomp ]; then
		local c
		c=$(sa_get "$GA" 'sum_g("pkts_compressed")')
		check "IPComp compressed packets on gwA ($c)" num_gt "$c" 1000
		c=$(sa_get "$GB" 'sum_g("pkts_decompressed")')
		check "and gwB decompressed them ($c)" num_gt "$c" 1000
	fi
}
