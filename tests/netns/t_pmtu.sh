#!/bin/bash
# A WAN link whose MTU is below what a full tunnel packet needs (RFC 4301
# 8.2): the inner MTU is 1400 (ipsec0), but gwA-gwB's link takes 1400
# bytes, and a 1400-byte packet sealed in native ESP AES-GCM needs 1456.
# Before, every such packet was dropped (EMSGSIZE) and TCP stalled.
# - the path MTU is asked when an SA is installed (shown before any
#   packet), so an SA's first packet, even a large one, fits: none is lost
#   (manual SAs, and IKEv2 SAs whose trigger and reply are full-size);
# - a packet with DF gets ICMP "fragmentation needed" naming the largest
#   packet that fits (1346 = 1400 - 20 outer - 8 ESP - 8 IV - 2 trailer
#   - 16 ICV, padded to 4): ping -M do says so, and a ping of exactly
#   that size passes while one byte more does not;
# - a packet without DF is fragmented before encryption and arrives whole;
# - a TCP transfer hostA -> hostB (the hosts' PMTU discovery, from the
#   ICMP) and back completes with matching SHA-256;
# - the WAN MTU lowered under a running SA (as an ICMP from a router on
#   the path would lower the kernel's path MTU): the first send refused
#   for size teaches the new MTU (logged), ICMP then names 1246;
# - IPv6 over IPv6: ICMPv6 "packet too big" (1326: a 40-byte outer header);
# - IKEv2 (examples/ikev2-map): 1400-byte pings without DF every 50 ms
#   across `rekey crypto ipsec sa`: the new outbound SAs start with the
#   path MTU of the ones they replace, so none is lost and no send is
#   refused for size (before, the first packet on each new SA was).
# Counters: show crypto ipsec sa detail (text and JSON).
. "$(dirname "$0")/lib.sh"
lib_init
need_daemon
topo_up
for ns in "$GA" "$GB"; do ip -n "$ns" link set wan0 mtu 1400; done

start_esprit "$GA" "$EX/manual-esp-gcm-gwA.cfg" || bail "gwA"
start_esprit "$GB" "$EX/manual-esp-gcm-gwB.cfg" || bail "gwB"
dp() { sa_get "$1" "d[\"dataplane\"][\"$2\"]"; }

info "== the path MTU is asked when the SA is installed: the first packet, large, fits"
pmtu_shown() { cli "$1" show crypto ipsec sa | grep -q "path mtu $2 "; }
check "gwA and gwB show path mtu 1400 before any packet" \
	eval 'pmtu_shown "$GA" 1400 && pmtu_shown "$GB" 1400'
check "the first packet, a 1400-byte ping without DF, passes (fragmented before encryption)" \
	nsx "$HA" ping -c 1 -W 2 -M dont -s 1372 "$HB4"
check_ping "$HA" "$HB4"

info "== DF set: ICMP fragmentation needed"
out=$(nsx "$HA" ping -c 1 -W 2 -M do -s 1372 "$HB4" 2>&1)
sed 's/^/#   /' <<<"$out" | head -4
check "ping -M do 1400 bytes: frag needed, mtu = 1346" grep -q "mtu = 1346" <<<"$out"
check "a 1346-byte packet with DF passes" \
	nsx "$HA" ping -c 2 -W 2 -M do -s $((1346 - 28)) "$HB4"
# the host now knows the 1346 (its route cache): clear it to test the edge
nsx "$HA" ip route flush cache
check "1347 bytes with DF do not" eval '! nsx "$HA" ping -c 1 -W 2 -M do -s $((1347 - 28)) "$HB4" >/dev/null 2>&1'

info "== DF clear: fragmented before encryption"
nsx "$HA" ip route flush cache # forget the 1346 hostA learned: it would fragment itself
check "ping -M dont 1400 bytes passes (fragmented before encryption)" \
	nsx "$HA" ping -c 3 -W 2 -M dont -s 1372 "$HB4"
check "ping -M dont 8000 bytes passes" nsx "$HA" ping -c 2 -W 2 -M dont -s 8000 "$HB4"
check "gwA counted fragmented packets ($(dp "$GA" pmtu_fragmented))" \
	num_ge "$(dp "$GA" pmtu_fragmented)" 5
check "gwA counted ICMP sent ($(dp "$GA" pmtu_icmp_sent))" num_ge "$(dp "$GA" pmtu_icmp_sent)" 1

info "== TCP both ways"
check_transfer "$HA" "$HB" "$HB4" 5000000
check_transfer "$HB" "$HA" "$HA4" 5000000
check "gwB knows the path MTU too" pmtu_shown "$GB" 1400

text=$(cli "$GA" show crypto ipsec sa detail)
sed -n '/path mtu/p' <<<"$text" | sed 's/^/#   /'
check "show crypto ipsec sa detail names the path MTU and the counters" \
	eval 'grep -q "path mtu 1400" <<<"$text" && grep -q "fragmented before encryption" <<<"$text"'

info "== the path shrinks under the SA: a send refused for size teaches it"
for ns in "$GA" "$GB"; do ip -n "$ns" link set wan0 mtu 1300; done
nsx "$HA" ip route flush cache
nsx "$HA" ping -c 2 -W 2 -M dont -s 1372 "$HB4" >/dev/null 2>&1 # may be lost: they teach
check "gwA logs the path MTU it learned" \
	wait_for 5 grep -q "path MTU to $GB4 is 1300" "${DAEMON_LOG[$GA]}"
check "gwB logs it (the echo reply)" \
	wait_for 5 grep -q "path MTU to $GA4 is 1300" "${DAEMON_LOG[$GB]}"
check "gwA shows path mtu 1300" pmtu_shown "$GA" 1300
out=$(nsx "$HA" ping -c 1 -W 2 -M do -s 1372 "$HB4" 2>&1)
check "ping -M do 1400 bytes: frag needed, mtu = 1246" grep -q "mtu = 1246" <<<"$out"
check "ping -M dont 1400 bytes passes again" nsx "$HA" ping -c 2 -W 2 -M dont -s 1372 "$HB4"
stop_esprit "$GA"
stop_esprit "$GB"
for ns in "$GA" "$GB"; do ip -n "$ns" link set wan0 mtu 1400; done

info "== IPv6 over IPv6 (examples/manual-ipv6): ICMPv6 packet too big"
start_esprit "$GA" "$EX/manual-ipv6-gwA.cfg" || bail "gwA v6"
start_esprit "$GB" "$EX/manual-ipv6-gwB.cfg" || bail "gwB v6"
check_ping "$HA" "$HB6"
check "gwA shows path mtu 1400 (IPv6)" wait_for 5 pmtu_shown "$GA" 1400
out=$(nsx "$HA" ping -6 -c 1 -W 2 -M do -s 1352 "$HB6" 2>&1)
sed 's/^/#   /' <<<"$out" | head -4
# 1400 - 40 outer - 8 ESP - 8 IV - 16 ICV - 2 trailer, padded to 4
check "ping -6 1400 bytes: packet too big, mtu = 1326" grep -q "mtu = 1326\|mtu=1326" <<<"$out"
check "a 1326-byte IPv6 packet passes" nsx "$HA" ping -6 -c 2 -W 2 -s $((1326 - 48)) "$HB6"
check_transfer "$HA" "$HB" "$HB6" 3000000
check "gwA counted ICMPv6 sent ($(dp "$GA" pmtu_icmp_sent))" num_ge "$(dp "$GA" pmtu_icmp_sent)" 1
stop_esprit "$GA"
stop_esprit "$GB"

# A path that takes less than a sealed 1280-byte IPv6 packet: the host
# cannot go below 1280 (RFC 8200 5), so the gateway seals it whole and
# cuts the sealed packet (RFC 2473 7.1), over IPv6 (Fragment header) and
# over IPv4 (fragments without DF). Before, every such packet was dropped.
v6_under_1280() { # LABEL GWA_CFG GWB_CFG
	info "== IPv6 inside, a path under 1280 + overhead: $1"
	start_esprit "$GA" "$2" || bail "gwA $1"
	start_esprit "$GB" "$3" || bail "gwB $1"
	nsx "$HA" ip -6 route flush cache
	check_ping "$HA" "$HB6"
	check "$1: gwA shows path mtu 1300" wait_for 5 pmtu_shown "$GA" 1300
	check "$1: 1280-byte IPv6 pings pass (sealed whole, cut after)" \
		nsx "$HA" ping -6 -c 3 -W 2 -s $((1280 - 48)) "$HB6"
	out=$(nsx "$HA" ping -6 -c 1 -W 2 -s 1352 "$HB6" 2>&1)
	check "$1: ping of 1400 bytes: packet too big, mtu = 1280" grep -q "mtu = 1280\|mtu=1280" <<<"$out"
	check_transfer "$HA" "$HB" "$HB6" 3000000
	check_transfer "$HB" "$HA" "$HA6" 3000000
	check "$1: gwA counted packets cut after sealing ($(dp "$GA" pmtu_fragmented_after))" \
		num_ge "$(dp "$GA" pmtu_fragmented_after)" 3
	check "$1: no too-big drop of a 1280-byte packet on gwB (its replies were cut too)" \
		num_ge "$(dp "$GB" pmtu_fragmented_after)" 3
	stop_esprit "$GA"
	stop_esprit "$GB"
}
for ns in "$GA" "$GB"; do ip -n "$ns" link set wan0 mtu 1300; done
v6_under_1280 "over IPv6" "$EX/manual-ipv6-gwA.cfg" "$EX/manual-ipv6-gwB.cfg"
# the same SAs with IPv4 outer addresses
sed -e "s/set peer 2001:db8:ff::2/set peer $GB4/" \
	-e "s|^ ipv6 address 2001:db8:ff::1/64| ip address $GA4 255.255.255.0|" \
	"$EX/manual-ipv6-gwA.cfg" >"$TMP/v6in4-gwA.cfg"
sed -e "s/set peer 2001:db8:ff::1/set peer $GA4/" \
	-e "s|^ ipv6 address 2001:db8:ff::2/64| ip address $GB4 255.255.255.0|" \
	"$EX/manual-ipv6-gwB.cfg" >"$TMP/v6in4-gwB.cfg"
v6_under_1280 "over IPv4" "$TMP/v6in4-gwA.cfg" "$TMP/v6in4-gwB.cfg"
for ns in "$GA" "$GB"; do ip -n "$ns" link set wan0 mtu 1400; done

# IOS's crypto ipsec fragmentation after-encryption: an IPv4 packet without
# DF is sealed whole and the sealed packet fragmented (the peer's kernel
# reassembles); DF is still honoured (ICMP). Then crypto ipsec df-bit
# clear (live): a packet with DF is sealed whole and cut too.
info "== crypto ipsec fragmentation after-encryption, then df-bit clear"
nsx "$HA" ip route flush cache
sed '/^end$/d' "$EX/manual-esp-gcm-gwA.cfg" >"$TMP/after-gwA.cfg"
echo "crypto ipsec fragmentation after-encryption" >>"$TMP/after-gwA.cfg"
start_esprit "$GA" "$TMP/after-gwA.cfg" || bail "gwA after-encryption"
start_esprit "$GB" "$EX/manual-esp-gcm-gwB.cfg" || bail "gwB after-encryption"
check_ping "$HA" "$HB4"
check "show crypto engine: fragmentation after-encryption" \
	grep -q "fragmentation after-encryption" <<<"$(cli "$GA" show crypto engine)"
check "show crypto ipsec sa says so by the path mtu" \
	grep -q "path mtu 1400 (larger packets fragmented after encryption, or refused with ICMP when they set DF)" \
	<<<"$(cli "$GA" show crypto ipsec sa)"
check "1400-byte pings without DF pass" nsx "$HA" ping -c 3 -W 2 -M dont -s 1372 "$HB4"
check "sealed whole and cut after (pmtu_fragmented_after $(dp "$GA" pmtu_fragmented_after), before 0)" \
	eval 'num_ge "$(dp "$GA" pmtu_fragmented_after)" 3 && num_eq "$(dp "$GA" pmtu_fragmented)" 0'
out=$(nsx "$HA" ping -c 1 -W 2 -M do -s 1372 "$HB4" 2>&1)
check "DF still honoured: frag needed, mtu = 1346" grep -q "mtu = 1346" <<<"$out"
printf 'crypto ipsec df-bit clear\n' | cli "$GA" configure >"$TMP/conf.out" 2>&1
check "configure crypto ipsec df-bit clear accepted" not_grep "%" "$TMP/conf.out"
check "show crypto ipsec sa: larger packets fragmented after encryption" \
	grep -q "path mtu 1400 (larger packets fragmented after encryption)" <<<"$(cli "$GA" show crypto ipsec sa)"
nsx "$HA" ip route flush cache
f0=$(dp "$GA" pmtu_fragmented_after)
check "df-bit clear: 1400-byte pings with DF pass" nsx "$HA" ping -c 3 -W 2 -M do -s 1372 "$HB4"
check "cut after sealing ($f0 -> $(dp "$GA" pmtu_fragmented_after))" \
	num_ge "$(dp "$GA" pmtu_fragmented_after)" $((f0 + 3))
check_transfer "$HA" "$HB" "$HB4" 3000000
stop_esprit "$GA"
stop_esprit "$GB"

info "== IKEv2: a rekeyed SA starts with the path MTU of the one it replaces"
start_esprit "$GA" "$EX/ikev2-map-gwA.cfg" || bail "gwA ikev2"
start_esprit "$GB" "$EX/ikev2-map-gwB.cfg" || bail "gwB ikev2"
# starts IKE with a full-size packet: gwA holds it until the SA is
# installed, gwB's first packet on its new SA is the full-size reply
nsx "$HA" ping -c 3 -i 0.5 -W 2 -M dont -s 1372 "$HB4" >/dev/null 2>&1
check "the IKE SA is up" wait_for 10 ike_ready "$GA"
check "the first packets of the new SAs, full-size, were not refused for size (too-big drops)" \
	eval 'num_eq "$(sa_get "$GA" "drop(\"too-big\")")" 0 && num_eq "$(sa_get "$GB" "drop(\"too-big\")")" 0'
check_ping "$HA" "$HB4"
check "gwA and gwB show path mtu 1400" eval 'pmtu_shown "$GA" 1400 && pmtu_shown "$GB" 1400'
out_spis() {
	cli "$1" --json show crypto ipsec sa | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(sorted(str(x.get("spi")) for s in d.get("sas",[]) for x in s.get("outbound",[]))))'
}
old=$(out_spis "$GA")
nsx "$HA" ping -c 60 -i 0.05 -W 2 -M dont -s 1372 "$HB4" >"$TMP/rekey-ping.txt" 2>&1 &
pid=$!
sleep 1
cli "$GA" rekey crypto ipsec sa >/dev/null
wait $pid
sed -n '/packets transmitted/p' "$TMP/rekey-ping.txt" | sed 's/^/#   /'
new=$(out_spis "$GA")
check "the rekey replaced gwA's outbound SA ($old -> $new)" eval '[ -n "$new" ] && [ "$new" != "$old" ]'
check "60 of 60 1400-byte pings answered across the rekey" \
	grep -q "60 packets transmitted, 60 received" "$TMP/rekey-ping.txt"
check "no send refused for size on gwA or gwB (too-big drops)" \
	eval 'num_eq "$(sa_get "$GA" "drop(\"too-big\")")" 0 && num_eq "$(sa_get "$GB" "drop(\"too-big\")")" 0'
stop_esprit "$GA"
stop_esprit "$GB"
finish
