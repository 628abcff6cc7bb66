#!/bin/bash
# Route-based IPv4 tunnel interface (VTI) of esprit (gwA) against a
# policy-based strongSwan (gwB), AES-GCM-256/group 19, PFS 19. gwA is IOS
# style: `interface Tunnel0` / `tunnel mode ipsec ipv4` / `tunnel
# protection ipsec profile VTI` and `ip route 198.19.2.0 255.255.255.0
# Tunnel0`, so it proposes 0.0.0.0/0 both ways; gwB is what a network
# engineer writes for a site behind a VTI: local_ts = 198.19.2.0/24,
# remote_ts = 198.19.1.0/24. Checked:
#   1. Tunnel0 exists with its address and the route into it, no SA yet.
#   2. hostA's ping through the route starts IKE (acquire; the first echo
#      is answered). esprit's IKE_AUTH offers the ping's selector first
#      (RFC 7296 2.9), then TSi = TSr = 0.0.0.0/0, and
#      takes strongSwan's narrowing to its prefixes (RFC 7296 2.9): both
#      sides show 198.19.1.0/24 <=> 198.19.2.0/24, esprit on Tunnel0.
#      Pings and 5 MB TCP both ways, no clear text on the WAN; Tunnel0's
#      kernel counters and the Tunnel0 entry of `show crypto ipsec sa`
#      move with it, and match gwB's: 20 pings are exactly +20 everywhere,
#      the bulk gwA encaps = gwB in + gwB's UDP receive-buffer drops, gwA
#      decaps = gwB out. A packet routed into Tunnel0 from outside the
#      narrowed selectors (gwA's own ping, source 198.19.255.9) must not be
#      sent on the SA (RFC 4301 5.1; gwB would discard it, 5.2): esprit
#      counts it as policy-mismatch, gwB's SA never sees it.
#      esprit deletes: both sides drop the SAs, Tunnel0 and its route stay.
#   3. swanctl --initiate on gwB: esprit, responder, narrows its any/any to
#      strongSwan's TSi/TSr exactly; same selector, traffic, counter checks.
#   4. Negative control: a /32 route to hostB outside the tunnel on gwA
#      puts hostA's pings on the WAN in clear text (the capture that must
#      stay empty above sees them) and Tunnel0's counters stand still;
#      removed, traffic is protected again. strongSwan deletes, esprit
#      drops its SAs; espritd stops cleanly and takes Tunnel0 and its route.
. "$(dirname "$0")/lib.sh"
iop_init
prop_set gcm
MODE=tunnel
TUN=Tunnel0
TUN_ADDR=198.19.255.9

# gwA's config: lib.sh's IKEv2 part (proposal, keyring, profile,
# transform set), then the tunnel interface instead of the crypto map.
eval "$(declare -f esprit_write_conf | sed '1s/^esprit_write_conf/esprit_write_conf_map/')"
esprit_write_conf() {
	esprit_write_conf_map "$1"
	sed -i '/^ip access-list extended/,$d' "$1"
	cat >>"$1" <<EOF
crypto ipsec profile VTI
 set transform-set TS
 set ikev2-profile PROF
 set security-association lifetime seconds $CHILD_LIFE
 set pfs group$ES_PFS
!
interface wan0
 ip address $GA4 255.255.255.0
!
interface lan0
 ip address $GA4_LAN 255.255.255.0
!
interface $TUN
 ip address $TUN_ADDR 255.255.255.252
 tunnel source $GA4
 tunnel mode ipsec ipv4
 tunnel destination $GB4
 tunnel protection ipsec profile VTI
!
ip route 198.19.2.0 255.255.255.0 $TUN
end
EOF
}

iop_setup
# The IKE message trace (selectors as ranges) in espritd's log.
cli "$GA" debug crypto ikev2 peer $GB4 >/dev/null

has_link() { ip -n "$GA" -o link show dev $TUN >/dev/null 2>&1; }
has_addr() { ip -n "$GA" -o addr show dev $TUN 2>/dev/null | grep -q "inet $TUN_ADDR/30"; }
has_route() { ip -n "$GA" route show 198.19.2.0/24 2>/dev/null | grep -q "dev $TUN"; }
# Kernel counters of Tunnel0: tx = routed into it (read by esprit to seal),
# rx = written by esprit (opened packets).
tun_stat() { # tx|rx
	ip -n "$GA" -s -j link show dev $TUN 2>/dev/null |
		"$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"][sys.argv[1]]["packets"])' "$1" 2>/dev/null || echo ERR
}
# esprit's SA entry (JSON `show crypto ipsec sa detail`): PYEXPR over g, the
# one group there must be.
es_group() {
	cli "$GA" --json show crypto ipsec sa detail 2>/dev/null | "$PY" -c '
import json, sys
g = json.load(sys.stdin)["sas"]
g = g[0] if len(g) == 1 else None
print(eval(sys.argv[1]) if g else "ERR")' "$1" 2>/dev/null || echo ERR
}
es_narrowed() {
	[ "$(es_group 'g["interface"]')" = $TUN ] &&
		[ "$(es_group 'sorted((i["local"], i["remote"]) for i in g["idents"])')" = "[('198.19.1.0/24', '198.19.2.0/24')]" ]
}
sw_narrowed() {
	local l
	l=$(sw_list B)
	echo "$l" | grep -q "^ *local  198.19.2.0/24$" && echo "$l" | grep -q "^ *remote 198.19.1.0/24$"
}
# Packets of gwB's child net: in|out.
sw_pkts() { sw_list B | sed -n "s/^ *$1 *[0-9a-f]\{8\}.* \([0-9]*\) packets.*/\1/p" | head -1; }
# gwB's UDP datagrams dropped for a full receive buffer (charon's
# kernel-libipsec reads ESP-in-UDP in userspace and falls behind bursts).
sw_rcvbuf() { nsx "$GB" awk '/^Udp:/ { if (h) { print $(i); exit } for (i = 1; i <= NF; i++) if ($i == "RcvbufErrors") break; h = 1 }' /proc/net/snmp; }
# The IKE_AUTH trace line of espritd: request|response, sent (->) or received (<-).
trace_auth() { grep "ikev2 trace $TUN: $1 .* IKE_AUTH $2 " "${DAEMON_LOG[$GA]}" | tail -1; }

selectors() {
	check "gwB (strongSwan): child 198.19.2.0/24 === 198.19.1.0/24" wait_for 10 sw_narrowed
	check "gwA (esprit): SA entry on $TUN, selectors 198.19.1.0/24 <=> 198.19.2.0/24" es_narrowed
	sw_list B | grep -E "^ +(local|remote) " | sed 's/^ */#   gwB: /'
	cli "$GA" show crypto ipsec sa 2>&1 | grep -E "^interface|ident" | sed 's/^/#   gwA: /'
}

# snap: counters of both sides into S_* (Tunnel0, esprit's SA entry, gwB).
snap() {
	S_TX=$(tun_stat tx) S_RX=$(tun_stat rx)
	S_E=$(es_group 'g["pkts_encaps"]') S_D=$(es_group 'g["pkts_decaps"]')
	S_PM=$(es_group 'g["drops"]["policy-mismatch"]')
	S_IN=$(sw_pkts in) S_OUT=$(sw_pkts out) S_RB=$(sw_rcvbuf)
}
# d NAME: the growth of counter NAME since the snapshot in O_*.
d() { local a b; a=$(eval echo "\$O_$1") b=$(eval echo "\$S_$1"); [[ $a$b =~ ^[0-9]+$ ]] && echo $((b - a)) || echo ERR; }
keep() { O_TX=$S_TX O_RX=$S_RX O_E=$S_E O_D=$S_D O_PM=$S_PM O_IN=$S_IN O_OUT=$S_OUT O_RB=$S_RB; }

# traffic_counted: check_traffic with the counters of both sides around
# it, then 20 pings counted exactly.
traffic_counted() {
	snap
	keep
	check_traffic
	snap
	info "$TUN tx +$(d TX), rx +$(d RX); gwA encaps +$(d E), decaps +$(d D);" \
		"gwB in +$(d IN), out +$(d OUT), UDP receive-buffer drops +$(d RB)"
	check "$TUN kernel counters moved: tx +$(d TX), rx +$(d RX) (>= 3000 each)" \
		eval 'num_ge "$(d TX)" 3000 && num_ge "$(d RX)" 3000'
	check "esprit's $TUN SA entry moved: encaps +$(d E), decaps +$(d D) (>= 3000 each)" \
		eval 'num_ge "$(d E)" 3000 && num_ge "$(d D)" 3000'
	check "gwA encaps +$(d E) = gwB in +$(d IN) + its UDP receive-buffer drops +$(d RB)" \
		num_close "$(d E)" "$(($(d IN) + $(d RB)))"
	check "gwA decaps +$(d D) = gwB out +$(d OUT)" num_close "$(d D)" "$(d OUT)"
	keep
	nsx "$HA" timeout 10 ping -n -q -c 20 -i 0.05 -W 1 "$HB4" >/dev/null 2>&1
	snap
	check "20 pings hostA -> hostB: $TUN tx +$(d TX) rx +$(d RX), gwA encaps +$(d E) decaps +$(d D), gwB in +$(d IN) out +$(d OUT)" \
		eval '[ "$(d TX) $(d RX) $(d E) $(d D) $(d IN) $(d OUT)" = "20 20 20 20 20 20" ]'
}

info "== 1. $TUN before any traffic"
check "gwA has a $TUN device" has_link
check "gwA $TUN has $TUN_ADDR/30" has_addr
check "gwA routes 198.19.2.0/24 into $TUN" has_route
check "no SA before traffic" esprit_no_sa

info "== 2. hostA's traffic into $TUN starts it; strongSwan narrows"
check "first ping hostA -> hostB (acquire) is answered" \
	eval 'nsx "$HA" ping -n -q -c 1 -W 5 "$HB4" >/dev/null 2>&1'
check_both_see_sa
gwa_show
info "$(trace_auth '->' request | sed 's/.*\(TSi(.*\)\].*/gwA proposed \1/')"
info "$(trace_auth '<-' response | sed 's/.*\(TSi(.*\)\].*/gwB answered \1/')"
check "gwA (initiator) proposed the ping's selector, then TSi = TSr = 0.0.0.0/0 (RFC 7296 2.9)" eval \
	'trace_auth "->" request | grep -q "TSi($HA4-$HA4 proto 1, 0.0.0.0-255.255.255.255) TSr($HB4-$HB4 proto 1, 0.0.0.0-255.255.255.255) \]"'
check "gwB narrowed to TSi 198.19.1.0/24, TSr 198.19.2.0/24" eval \
	'trace_auth "<-" response | grep -q "TSi(198.19.1.0-198.19.1.255) TSr(198.19.2.0-198.19.2.255) \]"'
selectors
traffic_counted

# gwA's own packet into Tunnel0: source 198.19.255.9, outside the child.
keep
snap
keep
nsx "$GA" ping -n -q -c 3 -i 0.2 -W 1 "$HB4" >/dev/null 2>&1
sleep 0.5
snap
check "gwA's ping $TUN_ADDR -> $HB4 (outside the narrowed SA) is not sent on it: gwA encaps +$(d E), gwB in +$(d IN)" \
	eval '[ "$(d E) $(d IN)" = "0 0" ]'
check "esprit counts it as policy-mismatch on the $TUN SA (+$(d PM))" eval '[ "$(d PM)" = 3 ]'
grep "discarding inbound IP packet $TUN_ADDR" "$RUNDIR/B/charon.log" | sed 's/^/#   gwB: /'

down_by gwa
check "$TUN and its route stay after the delete" eval 'has_link && has_route'

info "== 3. gwB (strongSwan) initiates; esprit narrows any/any"
up_by gwb
info "$(trace_auth '<-' request | sed 's/.*\(TSi(.*) TSr([^)]*)\).*/gwB proposed \1/')"
info "$(trace_auth '->' response | sed 's/.*\(TSi(.*\)\].*/gwA answered \1/')"
check "gwA (responder) answered TSi 198.19.2.0/24, TSr 198.19.1.0/24" eval \
	'trace_auth "->" response | grep -q "TSi(198.19.2.0-198.19.2.255) TSr(198.19.1.0-198.19.1.255) \]"'
selectors
traffic_counted

info "== 4. negative control: a route to hostB outside $TUN"
ip -n "$GA" route add "$HB4/32" via "$GB4" dev wan0
snap
keep
clear_cap_start || info "no clear-text capture (dumpcap)"
nsx "$HA" timeout 10 ping -n -q -c 3 -i 0.2 -W 1 "$HB4" >/dev/null 2>&1
c=$(clear_cap_stop)
snap
check "the WAN capture sees hostA's pings in clear text ($c packets)" num_ge "$c" 3
check "$TUN tx +$(d TX), esprit encaps +$(d E): the pings bypassed the tunnel" \
	eval '[ "$(d TX) $(d E)" = "0 0" ]'
ip -n "$GA" route del "$HB4/32" via "$GB4" dev wan0
check_traffic 1000000
down_by gwb
iop_teardown
stop_esprit "$GA"
check "gwA: no route to 198.19.2.0/24 left" eval '[ -z "$(ip -n "$GA" route show 198.19.2.0/24)" ]'
info "$SECONDS s"
finish
