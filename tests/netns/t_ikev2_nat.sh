#!/bin/bash
# IKEv2 between two esprit gateways with a NAT between them (NAT traversal,
# RFC 7296 2.23 and RFC 3948). Configs are generated from
# examples/ikev2-map-gw*.cfg (PSK, AES-GCM-256, group 19, PFS, on-demand
# DPD 10 s) with gwA's WAN moved behind the NAT and `nat keepalive 5`.
#
#   hostA ---- gwA wan0 ===== in0 [nat] out0 ===== wan0 gwB ---- hostB
#   198.19.1.2     198.18.1.2     198.18.1.1 | 198.18.0.1    198.18.0.2     198.19.2.2
#
# The nat namespace (esp-PID-nat) masquerades everything gwA sends out of
# out0 to 198.18.0.1, UDP to source ports 40000-40999 (random), and
# forwards nothing inbound that conntrack does not know. gwA identifies
# as its own address 198.18.1.2; gwB knows gwA's peer address as the
# NAT's 198.18.0.1 (keyring and `set peer`) and requires the identity
# 198.18.1.2. Both NAT sides are captured (dumpcap on in0 and out0).
#
# Phases:
#  1. hostA -> hostB traffic starts IKE (acquire on gwA). Both IKE SAs
#     READY with NAT-T detected (JSON nat_t, "NAT-T is detected" in show
#     crypto ikev2 sa detail), gwA talks 4500 -> 4500, gwB sees the peer
#     at 198.18.0.1 with a NAT'ed port in 40000-40999; the child SAs are
#     UDP-encapsulated, gwB's with the peer at that port (show crypto ipsec
#     sa JSON peer/peer_port). Pings both ways, TCP transfers with SHA-256
#     both ways. gwB counts NAT keepalives received (natt_keepalive_rx).
#  2. NAT mapping change: the NAT's UDP port range becomes 41000-41999
#     and its conntrack table is flushed (conntrack -F). With hostA still
#     pinging, gwA's packets get a new external port; gwB's replies to
#     the old port die at the NAT until gwA's on-demand DPD (an
#     authenticated IKE message from the new port) makes gwB follow the
#     peer's port (RFC 7296 2.23; esprit follows authenticated IKE
#     messages only, not ESP): gwB's IKE SA remote_port moves into
#     41000-41999, its log says the Child SA is now encapsulated to that
#     port, show crypto ipsec sa (JSON peer_port, text current_peer ...
#     port) shows it, the child SPIs are unchanged (ports updated in
#     place, no rekey); on the wire gwA's ESP leaves the NAT from the new
#     port, gwB sent to the old one until it followed and only to the new
#     one after; pings both ways and a transfer work again.
#  3. `rekey crypto ipsec sa` on gwA: new child SPIs on both sides, still
#     UDP-encapsulated, gwB's new outbound SPI seen on the wire as
#     ESP-in-UDP to the new NAT port; pings both ways.
#  4. `rekey crypto ikev2 sa` on gwA: a new IKE SA on both sides, still
#     NAT-T with gwB's remote_port the new NAT port, old IKE SA gone,
#     keepalives continue; pings both ways and a transfer.
#  5. Captures (both sides of the NAT): IKE_SA_INIT on UDP 500 carries
#     NAT_DETECTION_SOURCE_IP and NAT_DETECTION_DESTINATION_IP both ways
#     (on the public side from the NAT's address and a port other than
#     500); every other IKE message (IKE_AUTH, CREATE_CHILD_SA,
#     INFORMATIONAL) is on UDP 4500; nothing else on 500; ESP only as
#     ESP-in-UDP on 4500, no raw ESP (IP protocol 50) at all; NAT
#     keepalives (one 0xff octet, RFC 3948 2.3) from gwA 4500 -> 4500 at
#     5 s intervals (4-7.5 s accepted), none from gwB (not behind a NAT);
#     no private 198.18.1.x address on the public side.
#  6. Both daemons exit cleanly (no sanitizer report, nothing left).
. "$(dirname "$0")/lib.sh"
lib_init
need_daemon
command -v nft >/dev/null || skip "needs nft (scripts/deps.sh)"
command -v conntrack >/dev/null || skip "needs conntrack (scripts/deps.sh)"
command -v dumpcap >/dev/null && command -v tshark >/dev/null || skip "needs tshark/dumpcap"
command -v socat >/dev/null || skip "needs socat"

NT=esp-$$-nat
GA4W=198.18.1.2 NT4_IN=198.18.1.1 NT4_OUT=198.18.0.1 # GB4=198.18.0.2 (lib.sh)
KA_EVERY=5

# ---- topology: lib.sh's four namespaces, gwA's WAN behind the NAT -------------

topo_nat_links "$GA4W"

# nat_rules LO HI: masquerade out of out0, UDP source ports in LO-HI.
nat_rules() {
	nsx "$NT" nft -f - <<EOF
flush ruleset ip
table ip nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "out0" meta l4proto udp counter masquerade to :$1-$2 random
		oifname "out0" counter masquerade
	}
}
table ip filter {
	chain forward {
		type filter hook forward priority 0; policy drop;
		iifname "in0" accept
		ct state established,related accept
	}
}
EOF
}
nat_rules 40000 40999 || bail "nftables masquerade in $NT"

# Two captures (before and after the NAT). lib.sh's capture_start keeps
# one pid in CAP_PID: take it over after each start.
CAPS=()
cap_start() {
	capture_start "$NT" "$1" "$2" 512 || return 1
	CAPS+=("$CAP_PID")
	BG_PIDS+=("$CAP_PID")
	CAP_PID=
}
cap_stop_all() {
	local p
	sleep 0.5
	for p in "${CAPS[@]}"; do kill -INT "$p" 2>/dev/null; done
	for p in "${CAPS[@]}"; do wait "$p" 2>/dev/null; done
	CAPS=()
	BG_PIDS=()
}
PRIV=$TMP/nat-in0.pcap PUB=$TMP/nat-out0.pcap
cap_start in0 "$PRIV" || bail "capture on the NAT's in0"
cap_start out0 "$PUB" || bail "capture on the NAT's out0"

# ---- configurations from the examples --------------------------------------------

# gwA: its WAN address is 198.18.1.2 (policy, local identity, interface).
sed -e "s/198\.18\.0\.1\b/$GA4W/g" \
	-e "s/^ lifetime 28800$/ lifetime 28800\n nat keepalive $KA_EVERY/" \
	"$EX/ikev2-map-gwA.cfg" >"$TMP/gwA.cfg"
# gwB: the peer is the NAT's address (keyring, set peer), its identity
# gwA's own address.
sed -e "s/identity address 198\.18\.0\.1$/identity address $GA4W/" \
	-e "s/match identity remote address 198\.18\.0\.1 /match identity remote address $GA4W /" \
	-e "s/^ lifetime 28800$/ lifetime 28800\n nat keepalive $KA_EVERY/" \
	"$EX/ikev2-map-gwB.cfg" >"$TMP/gwB.cfg"
check "gwA config: behind the NAT, nat keepalive $KA_EVERY" eval \
	'grep -q "match address local $GA4W" "$TMP/gwA.cfg" && grep -q "nat keepalive $KA_EVERY" "$TMP/gwA.cfg" && ! grep -q "198.18.0.1" "$TMP/gwA.cfg"'
check "gwB config: peer $NT4_OUT, identity $GA4W" eval \
	'grep -q "set peer $NT4_OUT" "$TMP/gwB.cfg" && grep -q "identity address $GA4W" "$TMP/gwB.cfg" && grep -q "match identity remote address $GA4W " "$TMP/gwB.cfg"'

start_esprit "$GA" "$TMP/gwA.cfg" || bail "gwA did not start"
start_esprit "$GB" "$TMP/gwB.cfg" || bail "gwB did not start"

# ---- helpers ---------------------------------------------------------------------

wait_for() { # SECONDS CMD...: poll until CMD succeeds or SECONDS passed
	local end=$((SECONDS + $1))
	shift
	while :; do
		"$@" && return 0
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}
# ike_get NS PYEXPR: over r, the first READY IKE SA (and d, the JSON).
ike_get() {
	cli "$1" --json show crypto ikev2 sa >"$TMP/ike-${1##*-}.json" 2>/dev/null || { echo ERR; return 1; }
	"$PY" - "$TMP/ike-${1##*-}.json" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
ready = [s for s in d.get("ike_sas", []) if s.get("status") == "READY"]
r = ready[0] if ready else {}
try:
    print(eval(sys.argv[2]))
except Exception:
    print("ERR")
EOF
}
ike_ready() { [ "$(ike_get "$1" 'len(ready)')" = 1 ]; }
# child SPIs of NS (inbound and outbound, sorted), one per line
child_spis() { sa_get "$1" '"\n".join(sorted("%s:%08x" % (k[0], int(x["spi"])) for g in sas for k in ("inbound", "outbound") for x in g.get(k, [])))'; }
child_out_spi() { sa_get "$1" '",".join("%d" % int(x["spi"]) for g in sas for x in g.get("outbound", []) if x.get("proto") == "esp")'; }
all_udp_encap() { [ "$(sa_get "$1" 'int(all(x.get("udp_encap") for g in sas for k in ("inbound", "outbound") for x in g.get(k, [])) and any(g.get("inbound") for g in sas))')" = 1 ]; }
keepalives_rx() { sa_get "$GB" 'int(d.get("dataplane", {}).get("natt_keepalive_rx", -1))'; }
in_range() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
now() { date +%s.%N; }
# tcount FILE FILTER: packets matching, from one tshark run per capture
# (count_all FILE FILTER..., lib.sh's tshark_count_all).
count_all() { tshark_count_all "$@"; }
tcount() { tshark_count_cached "$1" "$2"; }
KA='udpencap.nat_keepalive && udp.length == 9 && frame[-1] == 0xff'

# ---- 1. NAT detected, traffic through the NAT ---------------------------------------

T0=$(now)
nsx "$HA" ping -c 3 -i 0.5 -W 2 "$HB4" >/dev/null 2>&1
check "ping hostA -> hostB starts IKE: gwA's IKE SA is READY" wait_for 15 ike_ready "$GA"
check "gwB's IKE SA is READY too" wait_for 5 ike_ready "$GB"
T_UP=$(now)
for ns in "$GA" "$GB"; do
	n=${ns##*-}
	v=$(ike_get "$ns" 'r["nat_t"]')
	check "$n: IKE SA reports NAT-T (nat_t=$v)" [ "$v" = True ]
	check "$n: show crypto ikev2 sa detail says NAT-T is detected" eval \
		'cli "$ns" show crypto ikev2 sa detail | grep -q "NAT-T is detected"'
done
v=$(ike_get "$GA" '"%s %s/%s %s/%s" % (r["role"], r["local"], r["local_port"], r["remote"], r["remote_port"])')
check "gwA: initiator, $GA4W/4500 <-> $GB4/4500 ($v)" [ "$v" = "Initiator $GA4W/4500 $GB4/4500" ]
v=$(ike_get "$GB" '"%s %s/%s %s" % (r["role"], r["local"], r["local_port"], r["remote"])')
check "gwB: responder on $GB4/4500, peer at the NAT $NT4_OUT ($v)" [ "$v" = "Responder $GB4/4500 $NT4_OUT" ]
P1=$(ike_get "$GB" 'r["remote_port"]')
check "gwB: peer's port $P1 is a NAT'ed one (40000-40999)" in_range "$P1" 40000 40999
v=$(sa_get "$GB" '"%s/%s" % (sas[0]["peer"], sas[0]["peer_port"])')
check "gwB: child SAs' peer is the NAT $NT4_OUT/$P1 ($v)" [ "$v" = "$NT4_OUT/$P1" ]
v=$(sa_get "$GA" '"%s/%s" % (sas[0]["peer"], sas[0]["peer_port"])')
check "gwA: child SAs' peer is $GB4/4500 ($v)" [ "$v" = "$GB4/4500" ]
check "gwA: child SAs are UDP-encapsulated" all_udp_encap "$GA"
check "gwB: child SAs are UDP-encapsulated" all_udp_encap "$GB"
check_ping "$HA" "$HB4"
check_ping "$HB" "$HA4"
check_transfer "$HA" "$HB" "$HB4" 8000000
check_transfer "$HB" "$HA" "$HA4" 3000000
# At least three keepalive intervals on the wire before the NAT changes.
check "gwB received NAT keepalives from gwA (>= 3)" wait_for 25 eval 'num_ge "$(keepalives_rx)" 3'
T_NAT=$(now)

# ---- 2. the NAT mapping changes: gwB follows the peer's new port -------------------

spis_b=$(child_spis "$GB") ike_b=$(ike_get "$GB" 'r["spi_i"]')
nat_rules 41000 41999 || bail "nftables: new port range"
check "conntrack -F on the NAT box" eval 'nsx "$NT" conntrack -F >/dev/null 2>&1'
# hostA keeps sending: gwA's ESP (and keepalives) get the new external
# port; gwA hears nothing back until gwB follows (on-demand DPD, 10 s).
ip netns exec "$HA" timeout 60 ping -n -i 0.5 -W 1 "$HB4" >/dev/null 2>&1 &
bgping=$!
check "gwB's IKE SA follows the peer to a port in 41000-41999" \
	wait_for 45 eval 'in_range "$(ike_get "$GB" "r[\"remote_port\"]")" 41000 41999'
kill "$bgping" 2>/dev/null
wait "$bgping" 2>/dev/null
P2=$(ike_get "$GB" 'r["remote_port"]')
info "NAT port for gwA's 4500: $P1 -> $P2"
v=$(ike_get "$GB" '"%s %s" % (r["spi_i"], r["nat_t"])')
check "gwB: same IKE SA, READY, still NAT-T ($v)" [ "$v" = "$ike_b True" ]
check "gwB log: Child SA now encapsulated to port $P2" \
	wait_for 5 grep -q "now encapsulated to port $P2" "${DAEMON_LOG[$GB]}"
check "gwB: child SPIs unchanged (ports moved in place, no rekey)" \
	eval '[ -n "$spis_b" ] && [ "$(child_spis "$GB")" = "$spis_b" ]'
check "gwB: child SAs still UDP-encapsulated" all_udp_encap "$GB"
v=$(sa_get "$GB" '"%s/%s" % (sas[0]["peer"], sas[0]["peer_port"])')
check "gwB: show crypto ipsec sa JSON: peer $NT4_OUT/$P2 ($v)" [ "$v" = "$NT4_OUT/$P2" ]
check "gwB: show crypto ipsec sa: current_peer $NT4_OUT port $P2" eval \
	'cli "$GB" show crypto ipsec sa | grep -q "current_peer $NT4_OUT port $P2\$"'
check_ping "$HA" "$HB4"
check_ping "$HB" "$HA4"
check_transfer "$HB" "$HA" "$HA4" 2000000
T_CHILD=$(now)

# ---- 3. child SA rekey through the NAT ------------------------------------------------

old_a=$(child_spis "$GA") old_b=$(child_spis "$GB")
check "rekey crypto ipsec sa on gwA" eval 'cli "$GA" rekey crypto ipsec sa >/dev/null'
spis_new() { # NS OLD: SPIs present and none of the old ones left
	local cur
	cur=$(child_spis "$1")
	[ -n "$cur" ] && [ "$cur" != ERR ] && [ -z "$(comm -12 <(echo "$2") <(echo "$cur"))" ]
}
check "gwA: new child SPIs, old ones gone" wait_for 20 spis_new "$GA" "$old_a"
check "gwB: new child SPIs, old ones gone" wait_for 20 spis_new "$GB" "$old_b"
check "gwA: new child SAs UDP-encapsulated" all_udp_encap "$GA"
check "gwB: new child SAs UDP-encapsulated" all_udp_encap "$GB"
check_ping "$HA" "$HB4"
check_ping "$HB" "$HA4"
out_b=$(child_out_spi "$GB")
T_IKE=$(now)

# ---- 4. IKE SA rekey through the NAT --------------------------------------------------

old_ike=$(ike_get "$GB" 'r["spi_i"]')
check "rekey crypto ikev2 sa on gwA" eval 'cli "$GA" rekey crypto ikev2 sa >/dev/null'
ike_rekeyed() { # NS: exactly one IKE SA, READY, with a new SPI
	[ "$(ike_get "$1" 'len(d["ike_sas"])')" = 1 ] && ike_ready "$1" &&
		[ "$(ike_get "$1" 'r["spi_i"]')" != "$old_ike" ]
}
check "gwB: one IKE SA with a new SPI, old one deleted" wait_for 20 ike_rekeyed "$GB"
check "gwA: one IKE SA with a new SPI, old one deleted" wait_for 20 ike_rekeyed "$GA"
v=$(ike_get "$GB" '"%s %s/%s" % (r["nat_t"], r["remote"], r["remote_port"])')
check "gwB: new IKE SA is NAT-T with the peer at $NT4_OUT/$P2 ($v)" [ "$v" = "True $NT4_OUT/$P2" ]
v=$(ike_get "$GA" '"%s %s/%s" % (r["nat_t"], r["local_port"], r["remote_port"])')
check "gwA: new IKE SA is NAT-T on 4500/4500 ($v)" [ "$v" = "True 4500/4500" ]
ka=$(keepalives_rx)
check_ping "$HA" "$HB4"
check_ping "$HB" "$HA4"
check_transfer "$HA" "$HB" "$HB4" 4000000
check "NAT keepalives continue under the new IKE SA" \
	wait_for $((KA_EVERY * 3)) eval 'num_gt "$(keepalives_rx)" "$ka"'
T_END=$(now)

stop_esprit "$GA"
stop_esprit "$GB"
cap_stop_all

# ---- 5. the wire, on both sides of the NAT ---------------------------------------------

NATD='isakmp.notify.msgtype == 16388 && isakmp.notify.msgtype == 16389'
# The filters of the checks below, counted in one run per capture (keep
# them in step: a filter missing here is only counted on its own).
for side in PRIV PUB; do
	if [ $side = PRIV ]; then src="ip.src == $GA4W && udp.srcport == 4500"; else src="ip.src == $NT4_OUT"; fi
	flt=("isakmp.exchangetype == 35 && udp.port == 4500"
		"isakmp.exchangetype == 36 && udp.port == 4500"
		"isakmp.exchangetype == 37 && udp.port == 4500"
		"isakmp && isakmp.exchangetype != 34 && !(udp.port == 4500)"
		"udp.port == 500 && !(isakmp.exchangetype == 34)"
		"ip.proto == 50"
		"esp && udp.port == 4500"
		"$KA && $src && ip.dst == $GB4 && udp.dstport == 4500"
		"ip.src == $GB4 && udp.length == 9")
	if [ $side = PRIV ]; then
		flt+=("ip.src == $GA4W && udp.srcport == 500 && udp.dstport == 500 && isakmp.exchangetype == 34 && $NATD"
			"ip.src == $GB4 && udp.srcport == 500 && udp.dstport == 500 && isakmp.exchangetype == 34 && $NATD")
	else
		flt+=("ip.src == $NT4_OUT && udp.srcport != 500 && udp.dstport == 500 && isakmp.exchangetype == 34 && $NATD"
			"ip.src == $GB4 && udp.srcport == 500 && isakmp.exchangetype == 34 && $NATD"
			"ip.addr == 198.18.1.0/24"
			"$KA && ip.src == $NT4_OUT && udp.srcport >= 41000 && udp.srcport <= 41999 && frame.time_epoch >= $T_IKE"
			"esp && ip.src == $NT4_OUT && udp.srcport == $P2 && frame.time_epoch >= $T_NAT && frame.time_epoch < $T_CHILD"
			"esp && ip.src == $GB4 && udp.dstport == $P1 && frame.time_epoch >= $T_NAT"
			"esp && ip.src == $GB4 && udp.dstport == $P2 && frame.time_epoch >= $T_CHILD"
			"esp && ip.src == $GB4 && udp.dstport == $P1 && frame.time_epoch >= $T_CHILD")
		[ -n "$out_b" ] && flt+=("esp.spi in {${out_b//,/ }} && ip.src == $GB4 && udp.dstport == $P2")
	fi
	count_all "${!side}" "${flt[@]}"
done
n=$(tcount "$PRIV" "ip.src == $GA4W && udp.srcport == 500 && udp.dstport == 500 && isakmp.exchangetype == 34 && $NATD")
check "private side: IKE_SA_INIT request 500 -> 500 with both NAT_DETECTION notifies ($n)" num_ge "$n" 1
n=$(tcount "$PRIV" "ip.src == $GB4 && udp.srcport == 500 && udp.dstport == 500 && isakmp.exchangetype == 34 && $NATD")
check "private side: IKE_SA_INIT response with both NAT_DETECTION notifies ($n)" num_ge "$n" 1
n=$(tcount "$PUB" "ip.src == $NT4_OUT && udp.srcport != 500 && udp.dstport == 500 && isakmp.exchangetype == 34 && $NATD")
check "public side: IKE_SA_INIT request from the NAT's address and a NAT'ed port ($n)" num_ge "$n" 1
n=$(tcount "$PUB" "ip.src == $GB4 && udp.srcport == 500 && isakmp.exchangetype == 34 && $NATD")
check "public side: IKE_SA_INIT response with both NAT_DETECTION notifies ($n)" num_ge "$n" 1
n=$(tcount "$PUB" "ip.addr == 198.18.1.0/24")
check "public side: no private 198.18.1.x address ($n packets)" num_eq "$n" 0
for side in PRIV PUB; do
	f=${!side}
	n=$(tcount "$f" "isakmp.exchangetype == 35 && udp.port == 4500")
	check "$side: IKE_AUTH on UDP 4500 ($n)" num_ge "$n" 2
	n=$(tcount "$f" "isakmp.exchangetype == 36 && udp.port == 4500")
	check "$side: CREATE_CHILD_SA (rekeys) on UDP 4500 ($n)" num_ge "$n" 4
	n=$(tcount "$f" "isakmp.exchangetype == 37 && udp.port == 4500")
	check "$side: INFORMATIONAL on UDP 4500 ($n)" num_ge "$n" 2
	n=$(tcount "$f" "isakmp && isakmp.exchangetype != 34 && !(udp.port == 4500)")
	check "$side: no IKE message other than IKE_SA_INIT off port 4500 ($n)" num_eq "$n" 0
	n=$(tcount "$f" "udp.port == 500 && !(isakmp.exchangetype == 34)")
	check "$side: nothing but IKE_SA_INIT on port 500 ($n)" num_eq "$n" 0
	n=$(tcount "$f" "ip.proto == 50")
	check "$side: no raw ESP (IP protocol 50) at all ($n)" num_eq "$n" 0
	# (UDP GSO: one captured packet may be a superpacket of several)
	n=$(tcount "$f" "esp && udp.port == 4500")
	check "$side: ESP-in-UDP on port 4500 ($n packets)" num_gt "$n" 200
	if [ $side = PRIV ]; then src="ip.src == $GA4W && udp.srcport == 4500"; else src="ip.src == $NT4_OUT"; fi
	n=$(tcount "$f" "$KA && $src && ip.dst == $GB4 && udp.dstport == 4500")
	check "$side: NAT keepalives gwA -> gwB:4500 ($n)" num_ge "$n" 5
	n=$(tcount "$f" "ip.src == $GB4 && udp.length == 9")
	check "$side: no keepalive from gwB, which is not behind a NAT ($n)" num_eq "$n" 0
done
# The keepalive interval, before the NAT change (one IKE SA, one timer).
kas=$(timeout 60 tshark -n -r "$PRIV" -Y "$KA && ip.src == $GA4W && frame.time_epoch >= $T_UP && frame.time_epoch <= $T_NAT" \
	-T fields -e frame.time_epoch 2>/dev/null)
iv=$(echo "$kas" | awk 'NR > 1 { printf "%.1f ", $1 - p } { p = $1 }')
info "keepalive intervals before the NAT change: $iv"
check "gwA sends keepalives every $KA_EVERY s (intervals: $iv)" eval \
	'[ "$(echo "$iv" | wc -w)" -ge 2 ] && echo "$iv" | awk "{ for (i = 1; i <= NF; i++) if (\$i < 4.0 || \$i > 7.5) exit 1 }"'
n=$(tcount "$PUB" "$KA && ip.src == $NT4_OUT && udp.srcport >= 41000 && udp.srcport <= 41999 && frame.time_epoch >= $T_IKE")
check "public side: keepalives from the new NAT port after the IKE rekey ($n)" num_ge "$n" 1
# The NAT change really happened on the wire: gwA's ESP left the NAT from
# the new port, and gwB went on sending to the old one until it followed.
n=$(tcount "$PUB" "esp && ip.src == $NT4_OUT && udp.srcport == $P2 && frame.time_epoch >= $T_NAT && frame.time_epoch < $T_CHILD")
check "public side: gwA's ESP-in-UDP from the new NAT port $P2 after the change ($n)" num_gt "$n" 5
n=$(tcount "$PUB" "esp && ip.src == $GB4 && udp.dstport == $P1 && frame.time_epoch >= $T_NAT")
check "public side: gwB's ESP to the old port $P1 until it followed ($n)" num_ge "$n" 1
# gwB's ESP goes to the new port once it has followed the peer.
n=$(tcount "$PUB" "esp && ip.src == $GB4 && udp.dstport == $P2 && frame.time_epoch >= $T_CHILD")
check "public side: gwB's ESP-in-UDP goes to the new NAT port $P2 ($n)" num_gt "$n" 10
n=$(tcount "$PUB" "esp && ip.src == $GB4 && udp.dstport == $P1 && frame.time_epoch >= $T_CHILD")
check "public side: none to the old port $P1 after the move ($n)" num_eq "$n" 0
if [ -n "$out_b" ]; then
	n=$(tcount "$PUB" "esp.spi in {${out_b//,/ }} && ip.src == $GB4 && udp.dstport == $P2")
	check "public side: gwB's rekeyed child (SPI $out_b) is ESP-in-UDP to port $P2 ($n)" num_gt "$n" 5
else
	not_ok "gwB's outbound SPI after the child rekey unknown"
fi
finish
