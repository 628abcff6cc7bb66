#!/bin/bash
# Packets over the path MTU against a real peer: esprit (gwA) <->
# strongSwan (gwB), AES-GCM-256/group 19, IPv4 and IPv6 in one child SA
# (MODE=dual: gwA's tunnel interface), WAN links of 1300 bytes (a sealed
# 1400-byte packet does not fit). strongSwan's kernel-libipsec sends and
# takes ESP in UDP, so what gwA cuts after sealing reaches gwB as UDP
# fragments that gwB's kernel must put back together for charon.
#
# - `crypto ipsec fragmentation after-encryption` on gwA: 1400-byte pings
#   without DF hostA -> hostB pass, gwA counts them as cut after sealing
#   (pmtu_fragmented_after) and none as fragmented before encryption;
# - IPv6 packets of 1280 bytes (which a host cannot make smaller) pass,
#   cut after sealing too;
# - `crypto ipsec df-bit clear` by a live configure: 1400-byte pings with
#   DF pass, cut after sealing;
# - TCP both ways in IPv4 and IPv6 (the hosts' path MTU discovery).
. "$(dirname "$0")/lib.sh"
iop_init
[ "$GWA_IMPL" = esprit ] || skip "esprit's path MTU handling: gwA must be esprit"
prop_set gcm
MODE=dual

topo_up
gwb_start || bail "gwB start"
esprit_write_conf "$TMP/gwA.cfg"
sed -i 's/^end$/crypto ipsec fragmentation after-encryption\nend/' "$TMP/gwA.cfg"
start_esprit "$GA" "$TMP/gwA.cfg" || bail "gwA start"
for ns in "$GA" "$GB"; do ip -n "$ns" link set wan0 mtu 1300; done
dp() { sa_get "$GA" "d[\"dataplane\"][\"$1\"]"; }

up_by gwa
check_ping "$HA" "$HB4"
check "1400-byte pings without DF pass (after-encryption)" \
	nsx "$HA" ping -c 3 -W 2 -M dont -s 1372 "$HB4"
check "gwA cut them after sealing ($(dp pmtu_fragmented_after)), none before ($(dp pmtu_fragmented))" \
	eval 'num_ge "$(dp pmtu_fragmented_after)" 3 && num_eq "$(dp pmtu_fragmented)" 0'
f0=$(dp pmtu_fragmented_after)
check "1280-byte IPv6 pings pass" nsx "$HA" ping -6 -c 3 -W 2 -s $((1280 - 48)) "$HB6"
check "gwA cut them after sealing ($f0 -> $(dp pmtu_fragmented_after))" \
	num_ge "$(dp pmtu_fragmented_after)" $((f0 + 3))
printf 'crypto ipsec df-bit clear\n' | cli "$GA" configure >"$TMP/conf.out" 2>&1
check "configure crypto ipsec df-bit clear accepted" not_grep "%" "$TMP/conf.out"
nsx "$HA" ip route flush cache
f0=$(dp pmtu_fragmented_after)
check "df-bit clear: 1400-byte pings with DF pass" nsx "$HA" ping -c 3 -W 2 -M do -s 1372 "$HB4"
check "gwA cut them after sealing ($f0 -> $(dp pmtu_fragmented_after))" \
	num_ge "$(dp pmtu_fragmented_after)" $((f0 + 3))
check_traffic 3000000
down_by gwa
finish
