#!/bin/bash
# A router between the gateways whose link towards gwB takes less than a
# sealed full-size packet (RFC 4301 8.2.1): gwA's own WAN link is 1500,
# so the path MTU is known only from the router's ICMP "fragmentation
# needed". gwA must map that message to its SAs to that peer and apply it
# at once, whichever way it sends (raw socket, AF_XDP, ESP-in-UDP).
#
#   hostA -- gwA wan0 198.18.1.2 == in0 198.18.1.1 [rt] 198.18.0.1 out0 (MTU 1300) == wan0 198.18.0.2 gwB -- hostB
#
# For each way of sending (examples/manual-esp-gcm with gwA's WAN moved):
# - the SA starts with path mtu 1500 (all gwA's kernel knows);
# - a 1400-byte ping with DF is lost at the router, which answers gwA
#   with "fragmentation needed, mtu 1300"; gwA logs the message, counts
#   it (pmtu_icmp_rx) and shows path mtu 1300 at once, without another
#   packet sent (AF_XDP: before the fix nothing ever taught it, and every
#   full-size packet with DF was lost for the 10 minutes until the SA
#   asked the kernel again);
# - the next ping with DF gets "frag needed, mtu = 1246" (1300 - 54, or
#   1238 in UDP) from gwA, and a ping of that size passes;
# - a 1400-byte ping without DF passes (fragmented before encryption);
# - TCP hostA -> hostB completes (the host's PMTU discovery).
# Then forged messages: one quoting an SPI gwA does not send with, one
# for a peer gwA has no SA to: counted as ignored (pmtu_icmp_ignored),
# path mtu unchanged; one naming 300 bytes: taken as 552, the floor the
# kernel also applies (net.ipv4.route.min_pmtu).
# crypto ipsec df-bit clear: the 1400-byte pings with DF pass, fragmented
# by the router (its FragOKs), and gwA never hears of the smaller MTU;
# then `df-bit set` by a live configure (shown in the running config,
# logged): a ping without DF, sealed with DF, is dropped by the router,
# whose ICMP teaches gwA 1300, and the next ones are fragmented before
# encryption.
# Last, IPv6 over IPv6 (examples/manual-ipv6, the router's link 1400):
# the router's ICMPv6 "packet too big" teaches gwA 1400 (logged), the next
# 1400-byte ping gets "mtu = 1326" from gwA, 1326 bytes and TCP pass.
. "$(dirname "$0")/lib.sh"
lib_init
need_daemon

NT=esp-$$-rt
GA4W=198.18.1.2 NT4_IN=198.18.1.1 NT4_OUT=198.18.0.1 # GB4=198.18.0.2 (lib.sh)
topo_nat_links "$GA4W"
ip -n "$GB" route add 198.18.1.0/24 via $NT4_OUT || bail "gwB route to gwA's WAN"
ip -n "$NT" link set out0 mtu 1300
ip -n "$GB" link set wan0 mtu 1300
check "plain path: gwA reaches gwB through the router" nsx "$GA" ping -c 1 -W 2 "$GB4"

sed -e "s/198\.18\.0\.1\b/$GA4W/g" "$EX/manual-esp-gcm-gwA.cfg" >"$TMP/gwA.cfg"
sed -e "s/set peer 198\.18\.0\.1$/set peer $GA4W/" "$EX/manual-esp-gcm-gwB.cfg" >"$TMP/gwB.cfg"
check "configs: gwA at $GA4W, gwB's peer $GA4W" eval \
	'! grep -q "198.18.0.1" "$TMP/gwA.cfg" && grep -q "set peer $GA4W" "$TMP/gwB.cfg"'

pmtu_of() { # NS: the path mtu of each SA group (JSON), None if unknown
	cli "$1" --json show crypto ipsec sa | "$PY" -c 'import json,sys
d=json.load(sys.stdin)
print(" ".join(str(s.get("path_mtu")) for s in d.get("sas",[])))'
}
dp() { sa_get "$1" "d[\"dataplane\"][\"$2\"]"; }

# forge WHY UDP MTU: an ICMP "fragmentation needed" sent by the router to
# gwA, quoting an ESP packet (ESP-in-UDP if UDP=1) from gwA to gwB with
# gwA's outbound SPI (WHY=ours), another SPI (spi) or to another peer.
forge() {
	nsx "$NT" "$PY" - "$1" "$2" "$3" "$GA4W" "$GB4" <<'EOF' || bail "forged ICMP"
import socket, struct, sys
why, udp, mtu, ga, gb = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3]), sys.argv[4], sys.argv[5]
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
dst = gb if why != "peer" else "198.18.0.77"
spi = 0x1001 if why != "spi" else 0xdead
l4 = (struct.pack("!HHHH", 4500, 4500, 1436, 0) if udp else b"") + struct.pack("!II", spi, 9)
inner = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 1456, 1, 0x4000, 63, 17 if udp else 50, 0,
                    socket.inet_aton(ga), socket.inet_aton(dst)) + l4
icmp = struct.pack("!BBHHH", 3, 4, 0, 0, mtu) + inner
icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).sendto(icmp, (ga, 0))
EOF
}

# scenario LABEL EXTRA_CONFIG_LINE INNER_MAX UDP
scenario() {
	local label=$1 extra=$2 inner=$3 udp=$4 out before
	info "== $label"
	nsx "$GA" ip route flush cache
	nsx "$HA" ip route flush cache
	printf '%s\n' "$extra" >"$TMP/extra.cfg"
	cat "$TMP/gwA.cfg" "$TMP/extra.cfg" | sed '/^end$/d' >"$TMP/gwA-run.cfg"
	cat "$TMP/gwB.cfg" "$TMP/extra.cfg" | sed '/^end$/d' >"$TMP/gwB-run.cfg"
	start_esprit "$GA" "$TMP/gwA-run.cfg" || bail "gwA ($label)"
	start_esprit "$GB" "$TMP/gwB-run.cfg" || bail "gwB ($label)"
	check_ping "$HA" "$HB4"
	check "$label: gwA starts with path mtu 1500 ($(pmtu_of "$GA"))" eval '[ "$(pmtu_of "$GA")" = 1500 ]'
	nsx "$HA" ping -c 1 -W 1 -M do -s 1372 "$HB4" >/dev/null 2>&1 # lost at the router: it teaches gwA
	check "$label: the router's ICMP taught gwA path mtu 1300 with no other packet" \
		wait_for 3 eval '[ "$(pmtu_of "$GA")" = 1300 ]'
	check "$label: gwA logs the message" \
		grep -q "path MTU to $GB4 is 1300: ICMP from $NT4_IN" "${DAEMON_LOG[$GA]}"
	check "$label: gwA counted it (pmtu_icmp_rx $(dp "$GA" pmtu_icmp_rx))" num_ge "$(dp "$GA" pmtu_icmp_rx)" 1
	out=$(nsx "$HA" ping -c 1 -W 2 -M do -s 1372 "$HB4" 2>&1)
	check "$label: ping -M do 1400 bytes: frag needed, mtu = $inner" grep -q "mtu = $inner" <<<"$out"
	check "$label: a $inner-byte packet with DF passes" nsx "$HA" ping -c 2 -W 2 -M do -s $((inner - 28)) "$HB4"
	nsx "$HA" ip route flush cache
	check "$label: 1400 bytes without DF pass" nsx "$HA" ping -c 2 -W 2 -M dont -s 1372 "$HB4"
	check_transfer "$HA" "$HB" "$HB4" 3000000

	# Forged messages, from the router's address (gwA takes them from any
	# router on the path), quoting gwA's packet as this scenario sends it.
	before=$(dp "$GA" pmtu_icmp_ignored)
	forge spi "$udp" 1280    # an SPI gwA does not send with
	forge peer "$udp" 1280   # a peer gwA has no SA to
	check "$label: a message naming another SPI or peer is counted as ignored" \
		wait_for 3 eval 'num_ge "$(dp "$GA" pmtu_icmp_ignored)" $((before + 2))'
	check "$label: and changes nothing: path mtu 1300" eval '[ "$(pmtu_of "$GA")" = 1300 ]'
	forge ours "$udp" 300    # below the kernel's floor
	check "$label: an MTU of 300 is taken as the floor, 552" wait_for 3 eval '[ "$(pmtu_of "$GA")" = 552 ]'
	check "$label: logged as raised to the floor" \
		grep -q "path MTU to $GB4 is 552: ICMP from $NT4_IN, raised to the floor" "${DAEMON_LOG[$GA]}"
	stop_esprit "$GA"
	stop_esprit "$GB"
}

# gwA's outbound SPI is 4097 (0x1001) in examples/manual-esp-gcm-gwA.cfg
grep -q "outbound esp 4097 " "$TMP/gwA.cfg" || bail "the example's outbound SPI changed"
# AES-GCM-256 native: 1300 - 20 - 8 - 8 - 16 - 2 = 1246 (a multiple of 4)
scenario "raw socket" "" 1246 0
scenario "AF_XDP" "crypto engine offload xdp-tx" 1246 0
# ESP-in-UDP: 8 more bytes (1238)
scenario "ESP-in-UDP" "crypto ipsec nat-transparency udp-encapsulation" 1238 1

# crypto ipsec df-bit (IOS's global form): the outer DF bit.
info "== crypto ipsec df-bit clear, then set (configure, live)"
frag_oks() { nsx "$NT" awk '/^Ip: [0-9]/{print $18}' /proc/net/snmp; } # FragOKs
nsx "$GA" ip route flush cache
nsx "$HA" ip route flush cache
sed '/^end$/d' "$TMP/gwA.cfg" >"$TMP/gwA-df.cfg"
echo "crypto ipsec df-bit clear" >>"$TMP/gwA-df.cfg"
start_esprit "$GA" "$TMP/gwA-df.cfg" || bail "gwA (df-bit clear)"
start_esprit "$GB" "$TMP/gwB.cfg" || bail "gwB (df-bit)"
check "show crypto engine: outer IPv4 DF bit: clear" \
	grep -q "outer IPv4 DF bit: clear" <<<"$(cli "$GA" show crypto engine)"
f0=$(frag_oks)
check "df-bit clear: 1400-byte pings with DF pass (the router fragments the sealed packets)" \
	nsx "$HA" ping -c 3 -W 2 -M do -s 1372 "$HB4"
check "the router fragmented them (FragOKs $f0 -> $(frag_oks))" num_ge "$(frag_oks)" $((f0 + 3))
check "no ICMP reached gwA: path mtu still 1500" eval '[ "$(pmtu_of "$GA")" = 1500 ]'
check_transfer "$HA" "$HB" "$HB4" 3000000
printf 'crypto ipsec df-bit set\n' | cli "$GA" configure >"$TMP/conf.out" 2>&1
check "configure accepted" not_grep "%" "$TMP/conf.out"
check "show running-config has crypto ipsec df-bit set" \
	grep -qx "crypto ipsec df-bit set" <<<"$(cli "$GA" show running-config)"
check "gwA logs the change" grep -q "crypto ipsec df-bit set" "${DAEMON_LOG[$GA]}"
nsx "$HA" ping -c 1 -W 1 -M dont -s 1372 "$HB4" >/dev/null 2>&1 # DF set outside: dropped, teaches
check "df-bit set: a ping without DF, sealed with DF, taught gwA path mtu 1300" \
	wait_for 3 eval '[ "$(pmtu_of "$GA")" = 1300 ]'
check "and 1400-byte pings without DF pass (fragmented before encryption)" \
	nsx "$HA" ping -c 2 -W 2 -M dont -s 1372 "$HB4"
stop_esprit "$GA"
stop_esprit "$GB"

info "== IPv6 over IPv6 through the router: ICMPv6 packet too big"
GA6W=2001:db8:f1::2 NT6_IN=2001:db8:f1::1 NT6_OUT=2001:db8:ff::1 # GB6=2001:db8:ff::2 (lib.sh)
ip -n "$NT" link set out0 mtu 1400 # an inner IPv6 packet must still fit 1280 (RFC 8200 5)
ip -n "$GB" link set wan0 mtu 1400
for ns in "$HA" "$GA" "$NT" "$GB" "$HB"; do sysctl_ns "$ns" net.ipv6.conf.all.forwarding=1; done
ip -n "$HA" addr add $HA6/64 dev lan0 nodad
ip -n "$GA" addr add $GA6_LAN/64 dev lan0 nodad
ip -n "$GA" addr add $GA6W/64 dev wan0 nodad
ip -n "$NT" addr add $NT6_IN/64 dev in0 nodad
ip -n "$NT" addr add $NT6_OUT/64 dev out0 nodad
ip -n "$GB" addr add $GB6/64 dev wan0 nodad
ip -n "$GB" addr add $GB6_LAN/64 dev lan0 nodad
ip -n "$HB" addr add $HB6/64 dev lan0 nodad
ip -n "$HA" -6 route add default via $GA6_LAN
ip -n "$HB" -6 route add default via $GB6_LAN
ip -n "$GA" -6 route add 2001:db8:ff::/64 via $NT6_IN
ip -n "$GB" -6 route add 2001:db8:f1::/64 via $NT6_OUT
check "plain IPv6 path: gwA reaches gwB through the router" \
	wait_for 5 nsx "$GA" ping -6 -c 1 -W 1 "$GB6"
sed -e "s/2001:db8:ff::1\b/$GA6W/g" "$EX/manual-ipv6-gwA.cfg" >"$TMP/gwA6.cfg"
sed -e "s/set peer 2001:db8:ff::1$/set peer $GA6W/" "$EX/manual-ipv6-gwB.cfg" >"$TMP/gwB6.cfg"
start_esprit "$GA" "$TMP/gwA6.cfg" || bail "gwA (IPv6)"
start_esprit "$GB" "$TMP/gwB6.cfg" || bail "gwB (IPv6)"
check_ping "$HA" "$HB6"
check "IPv6: gwA starts with path mtu 1500 ($(pmtu_of "$GA"))" eval '[ "$(pmtu_of "$GA")" = 1500 ]'
nsx "$HA" ping -6 -c 1 -W 1 -s 1352 "$HB6" >/dev/null 2>&1 # lost at the router: it teaches gwA
check "IPv6: the router's packet too big taught gwA path mtu 1400" \
	wait_for 3 eval '[ "$(pmtu_of "$GA")" = 1400 ]'
check "IPv6: gwA logs the message" \
	grep -q "path MTU to $GB6 is 1400: ICMP from $NT6_IN" "${DAEMON_LOG[$GA]}"
out=$(nsx "$HA" ping -6 -c 1 -W 2 -s 1352 "$HB6" 2>&1)
# 1400 - 40 outer - 8 ESP - 8 IV - 16 ICV - 2 trailer, padded to 4
check "IPv6: ping of 1400 bytes: packet too big, mtu = 1326" grep -q "mtu = 1326\|mtu=1326" <<<"$out"
check "IPv6: 1326 bytes pass" nsx "$HA" ping -6 -c 2 -W 2 -s $((1326 - 48)) "$HB6"
check_transfer "$HA" "$HB" "$HB6" 3000000
stop_esprit "$GA"
stop_esprit "$GB"
finish
