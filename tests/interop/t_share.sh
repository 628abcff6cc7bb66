#!/bin/bash
# One IKE SA per peer for several crypto map entries (as IOS), against
# strongSwan (AES-GCM-256, group 19, PFS 19, tunnel). hostB has a second
# site, 198.19.3.2/24 on a second link (lan1) behind gwB (198.19.3.1), as
# in t_trigger.sh. gwA has two crypto map entries for the one peer gwB,
# with the same IKEv2 profile: VPN 10 (198.19.1.0/24 -> 198.19.2.0/24)
# and VPN 20 (198.19.1.0/24 -> 198.19.3.0/24). esprit initiates on
# pings of hostA throughout; IKE messages are counted on gwB's WAN (a
# capture per phase, tshark: IKE_SA_INIT and CREATE_CHILD_SA requests
# sent by gwA) and in esprit's trace (`debug crypto ikev2 peer`).
#
# 1. gwB has ONE connection "lab" with both children, "net2"
#    (198.19.2.0/24 === 198.19.1.0/24) and "net3" (198.19.3.0/24 ===
#    198.19.1.0/24).
#    a. hostA pings 198.19.2.2: esprit initiates for VPN 10 (IKE_SA_INIT,
#       IKE_AUTH; the pings answered from the third echo on), gwB installs
#       net2, esprit shows one IKE SA (VPN 10) and one SA group (seq 10).
#    b. hostA pings 198.19.3.2 (entry 20): esprit logs "ikev2 VPN 20: a
#       Child SA on the IKE SA of VPN 10 (the same peer)" and sends ONE
#       CREATE_CHILD_SA (a new child, no REKEY_SA) on VPN 10's IKE SA and
#       no IKE_SA_INIT (trace; the WAN capture of 1. counts one
#       IKE_SA_INIT request and one CREATE_CHILD_SA request from gwA);
#       charon takes child config "net3" on that IKE SA; gwB shows net2
#       and net3 INSTALLED on the same single IKE SA (same #id as in a.);
#       esprit one IKE SA (VPN 10) and two SA groups, seq 10 (> .2.0/24)
#       and seq 20 (> .3.0/24). Pings both ways to and from both of
#       hostB's addresses, 1 MB TCP hostA -> each, no clear text on the
#       WAN; afterwards still one IKE SA on each side.
# 2. `rekey crypto ipsec sa` on gwA: both children get new SPIs (two
#    CREATE_CHILD_SA with REKEY_SA, no IKE_SA_INIT), entry 20's child
#    stays under seq 20 and on the same IKE SA (gwB: same #id, still one;
#    esprit: one IKE SA VPN 10); pings to both addresses.
# 3. `clear crypto ikev2 sa`; gwB now has TWO connections for the same
#    peer, identities and PSK: "c2" with child net2 and "c3" with net3.
#    a. hostA pings 198.19.2.2: IKE SA for VPN 10, gwB's c2 with net2.
#    b. gwB unloads c2 (its IKE SA and net2 stay, bound to c2's config):
#       strongSwan 5.9.8 picks an IKE_AUTH's peer config by the identities
#       alone, the first of equal ones, so with c2 loaded VPN 20's own IKE
#       SA would land on c2 too and get TS_UNACCEPTABLE in IKE_AUTH.
#       hostA pings 198.19.3.2: esprit asks for VPN 20's child on c2's IKE
#       SA (CREATE_CHILD_SA), charon answers TS_UNACCEPTABLE (its log and
#       esprit's trace), esprit logs (notice) "ikev2 VPN 20: the peer did
#       not take this entry's Child SA on the IKE SA of VPN 10 (its
#       policies for the two are separate connections): VPN 20 gets an
#       IKE SA of its own" and initiates a second IKE SA (IKE_SA_INIT
#       traced under VPN 20; the WAN capture of 3. counts two IKE_SA_INIT
#       requests from gwA), whose IKE_AUTH carries no INITIAL_CONTACT;
#       gwB: c2 (the same #id as in a.) and c3 ESTABLISHED, net2 and net3
#       INSTALLED, no IKE SA destroyed as a duplicate ("destroying
#       duplicate IKE_SA" count unchanged); esprit: IKE SAs VPN 10 and
#       VPN 20, SA groups seq 10 and seq 20. Pings both ways to and from
#       both addresses, 1 MB TCP hostA -> 198.19.3.2, no clear text.
#    c. more pings to 198.19.3.2 send no CREATE_CHILD_SA (WAN, trace).
#    d. gwB terminates c3; a ping to 198.19.3.2 has esprit start a new IKE
#       SA for VPN 20 right away (IKE_SA_INIT under VPN 20, no
#       CREATE_CHILD_SA request on VPN 10's IKE SA, no TS_UNACCEPTABLE):
#       entry 20 keeps IKE SAs of its own; c2's IKE SA untouched; pings.
#    `clear crypto ikev2 sa`: no SA left on either side.
# espritd exits 0 with no sanitizer report; no namespace of the run is
# left. An esprit that opens an IKE SA per entry fails 1.b (two
# IKE_SA_INIT, two IKE SAs, no log line) and 2., and 3.b's log line.
# About 60 s.
. "$(dirname "$0")/lib.sh"
iop_init
[ "$GWA_IMPL" = esprit ] || skip "the scenario checks esprit's choice of IKE SA for a crypto map entry"
command -v dumpcap >/dev/null || skip "needs dumpcap"
command -v tshark >/dev/null || skip "needs tshark"
prop_set gcm

HB3=198.19.3.2 GB3_LAN=198.19.3.1

# charon's cfg log at level 2: the child config choice ("found matching
# child config", "looking for a child config for ...").
eval "$(declare -f swan_write_conf | sed '1s/^swan_write_conf/iop_swan_write_conf/')"
swan_write_conf() {
	iop_swan_write_conf "$@"
	sed -i 's/^      cfg = 1$/      cfg = 2/' "$RUNDIR/$1/strongswan.conf"
	grep -q '^      cfg = 2$' "$RUNDIR/$1/strongswan.conf" || bail "sed did not set cfg = 2 for gw$1"
}

# The check of the namespaces comes after the lib's cleanup (in finish,
# before the totals).
eval "$(declare -f cleanup | sed '1s/^cleanup/iop_cleanup/')"
cleanup() {
	iop_cleanup
	if [ "${NS_CHECK:-0}" = 1 ]; then
		NS_CHECK=0
		check "no namespace of this run left (ip netns list)" eval '! ip netns list | grep -q "^esp-$$-"'
	fi
}

# ---- configs ---------------------------------------------------------------------

# gwA: two entries for the same peer and profile.
esprit_write_conf() {
	cat >"$1" <<EOF
! generated by tests/interop ($T_NAME)
hostname gwA
crypto ikev2 proposal P1
 encryption $ES_ENC
 prf $ES_PRF
 group $ES_GROUP
!
crypto ikev2 policy POL
 proposal P1
 match address local $GA4
!
crypto ikev2 keyring KR
 peer gwB
  address $GB4
  identity address $GB4
  pre-shared-key $PSK
 !
!
crypto ikev2 profile PROF
 match identity remote address $GB4 255.255.255.255
 identity local address $GA4
 authentication local pre-share
 authentication remote pre-share
 keyring local KR
 dpd 10 3 on-demand
 lifetime $IKE_LIFE
!
crypto ipsec transform-set TS $ES_TS
 mode tunnel
!
ip access-list extended NET2
 permit ip 198.19.1.0 0.0.0.255 198.19.2.0 0.0.0.255
!
ip access-list extended NET3
 permit ip 198.19.1.0 0.0.0.255 198.19.3.0 0.0.0.255
!
$(es_entry 10 NET2)
$(es_entry 20 NET3)
interface wan0
 ip address $GA4 255.255.255.0
 crypto map VPN
!
interface lan0
 ip address $GA4_LAN 255.255.255.0
!
end
EOF
}

. "$(dirname "$0")/site3.sh"
# sw_ikes: gwB's ESTABLISHED IKE SAs, "conn#id" each, sorted, space-separated.
sw_ikes() {
	sw_list B | sed -n 's/^\([A-Za-z0-9_-]*\): \(#[0-9]*\), ESTABLISHED.*/\1\2/p' | sort | tr '\n' ' ' | sed 's/ $//'
}
sw_ike_n() { sw_list B | grep -c "^[A-Za-z0-9_-]*: #[0-9]*, ESTABLISHED"; }
sw_none() { ! sw_list B | grep -q "^[A-Za-z0-9_-]*: #"; }
# sw_in CHILD: gwB's inbound SPIs of that child.
sw_in() {
	sw_list B | awk -v c="$1" '
		/^  [A-Za-z0-9_-]+: #[0-9]+, reqid/ { cur = $1; sub(":", "", cur); next }
		/^[^ ]/ { cur = "" }
		cur == c && $1 == "in" { sub(",", "", $2); print $2 }' | sort | tr '\n' ' ' | sed 's/ $//'
}
# sw_parent CHILD: the "conn#id" of the IKE SA that carries CHILD.
sw_parent() {
	sw_list B | awk -v c="$1" '
		/^[A-Za-z0-9_-]+: #[0-9]+, / { ike = $1 $2; sub(":", "", ike); sub(",", "", ike); next }
		/^  [A-Za-z0-9_-]+: #[0-9]+, reqid [0-9]+, INSTALLED/ { n = $1; sub(":", "", n); if (n == c) print ike }'
}

# es_sa: esprit's SA groups (one per child) with inbound SAs, "MAP SEQ
# LOCAL>REMOTE[,...]" one per line, sorted.
es_sa() {
	cli "$GA" --json show crypto ipsec sa 2>/dev/null | "$PY" -c '
import json, sys
for g in json.load(sys.stdin).get("sas", []):
    if g.get("inbound"):
        print(g["map"], g["seq"], ",".join("%s>%s" % (i["local"], i["remote"]) for i in g["idents"]))' |
		sort
}
es_sa_is() { [ "$(es_sa)" = "$1" ]; }
TWO_GROUPS="VPN 10 198.19.1.0/24>198.19.2.0/24
VPN 20 198.19.1.0/24>198.19.3.0/24"
# es_spis REMOTE: inbound SPIs (sorted, space-separated) of the groups
# whose first selector goes to REMOTE, each as "SEQ:SPI".
es_spis() {
	cli "$GA" --json show crypto ipsec sa 2>/dev/null | "$PY" -c '
import json, sys
print(" ".join(sorted("%d:%08x" % (g["seq"], s["spi"]) for g in json.load(sys.stdin).get("sas", [])
                      if g.get("remote_ident") == sys.argv[1] for s in g.get("inbound", []))))' "$1"
}
# es_ike: connection names of esprit's READY IKE SAs, one per line, sorted.
es_ike() {
	cli "$GA" --json show crypto ikev2 sa 2>/dev/null | "$PY" -c '
import json, sys
for s in json.load(sys.stdin).get("ike_sas", []):
    if s["status"] == "READY":
        print(s["connection"])' | sort
}
es_ike_is() { [ "$(es_ike)" = "$1" ]; }
es_none() { esprit_no_sa && [ -z "$(es_ike)" ]; }

# Logs from a mark on: esprit's (with the trace of `debug crypto ikev2
# peer`) and charon's.
ELOG="" SLOG=$RUNDIR/B/charon.log
mark() { ES_FROM=$(($(wc -l <"$ELOG") + 1)) SW_FROM=$(($(wc -l <"$SLOG") + 1)); }
es_log() { tail -n +"$ES_FROM" "$ELOG"; }
sw_log() { tail -n +"$SW_FROM" "$SLOG"; }
es_has() { es_log | grep -qF -- "$1"; }
# es_traces DIR EXCH KIND [CONN]: esprit's trace lines of those messages.
es_traces() { es_log | grep -E "ikev2 trace ${4:-VPN [0-9]+}: $1 .* $2 $3 "; }
es_ntraces() { es_traces "$@" | grep -c .; }
sw_has() { sw_log | grep -qE -- "$1"; }
dup_n() { grep -c "destroying duplicate IKE_SA" "$SLOG"; }
show_both() {
	sw_list B | grep -E "^[A-Za-z0-9_-]+: #|^  [A-Za-z0-9_-]+: #|^ +(local|remote) " | sed 's/^/#   gwB: /'
	es_sa | sed 's/^/#   gwA SA: /'
	es_ike | sed 's/^/#   gwA IKE SA: /'
}

# IKE on gwB's WAN (UDP 500, and 4500 with the non-ESP marker), one
# capture file per phase.
wan_start() { # NAME
	WAN_PCAP=$TMP/ike-$1.pcap
	iop_capture_start "$WAN_PCAP"
}
wan_stop() { iop_capture_stop; }
# wan_req EXCHANGE-TYPE: requests of that type sent by gwA in the capture.
wan_req() {
	timeout 60 tshark -n -r "$WAN_PCAP" -Y "ip.src == $GA4 && isakmp.exchangetype == $1 && isakmp.flag_r == 0" \
		2>/dev/null | wc -l
}
# wan_list: the capture's IKE messages, one line each.
wan_list() {
	timeout 60 tshark -n -r "$WAN_PCAP" -T fields -e ip.src -e isakmp.exchangetype -e isakmp.flag_r \
		-e isakmp.messageid 2>/dev/null | awk '$2 != "" { printf "%s exch %s %s mid %s\n", $1, $2, ($3 == 1 || $3 == "True" ? "response" : "request"), $4 }'
}

# ---- traffic ------------------------------------------------------------------------

# answered NS DST: the icmp_seq numbers answered of 6 echoes 0.5 s apart.
answered() {
	nsx "$1" timeout 20 ping -n -c 6 -i 0.5 -W 2 "$2" 2>/dev/null |
		sed -n 's/.*icmp_seq=\([0-9]*\).*/\1/p' | sort -n | uniq | tr '\n' ' ' | sed 's/ $//'
}
# ping_from NS SRC DST: at most one of 5 lost, from source SRC.
ping_from() {
	local out got
	out=$(nsx "$1" timeout 30 ping -n -c 5 -i 0.2 -W 2 -I "$2" "$3" 2>&1)
	got=$(echo "$out" | sed -n 's/.* \([0-9]\+\) received.*/\1/p')
	[ -n "$got" ] && [ "$got" -ge 4 ] && return 0
	echo "$out" | tail -n 3 | sed 's/^/#   /'
	return 1
}
# traffic_both: pings hostA <-> both of hostB's addresses, 1 MB TCP hostA
# -> each, nothing in clear on the WAN.
traffic_both() {
	local c
	clear_cap_start || info "no clear-text capture (dumpcap)"
	check_ping "$HA" "$HB4"
	check "ping hB $HB4 -> $HA4" ping_from "$HB" "$HB4" "$HA4"
	check_ping "$HA" "$HB3"
	check "ping hB $HB3 -> $HA4" ping_from "$HB" "$HB3" "$HA4"
	check_transfer "$HA" "$HB" "$HB4" 1000000
	check_transfer "$HA" "$HB" "$HB3" 1000000
	c=$(clear_cap_stop)
	check "no clear-text site traffic on the WAN ($c packets)" num_eq "$c" 0
}

# ---- setup ------------------------------------------------------------------------

topo_up
topo_site3
gwb_start || bail "gwB start"
gwa_start || bail "gwA start"
ELOG=${DAEMON_LOG[$GA]}
cli "$GA" debug crypto ikev2 peer $GB4 >/dev/null || bail "debug crypto ikev2 peer $GB4"
NS_CHECK=1
check "gwA: show crypto map lists VPN 10 and VPN 20" eval '[ "$(cli "$GA" --json show crypto map | "$PY" -c "
import json, sys
print(\" \".join(\"%s-%s\" % (m[\"map\"], m[\"seq\"]) for m in json.load(sys.stdin)[\"crypto_maps\"]))")" = "VPN-10 VPN-20" ]'

# ==== 1. one strongSwan connection with both children =================================

info "== 1.a hostA pings 198.19.2.2: esprit initiates for VPN 10 (gwB: connection lab, children net2 and net3)"
check "no SA before the ping" eval 'es_none && sw_none'
wan_start p1 || info "no IKE capture (dumpcap)"
mark
got=$(answered "$HA" "$HB4")
info "echoes answered: ${got:-none} (of 1..6)"
check "the pings to 198.19.2.2 are answered from the third echo on ($got)" eval '[[ " $got" == *" 3 4 5 6" ]]'
check "esprit sent IKE_SA_INIT and IKE_AUTH for VPN 10 (trace)" \
	eval '[ "$(es_ntraces "->" IKE_SA_INIT request "VPN 10")" = 1 ] && [ "$(es_ntraces "->" IKE_AUTH request "VPN 10")" = 1 ]'
check "gwB: net2 INSTALLED (alone)" wait_for 10 sw_is net2
ike0=$(sw_parent net2)
info "gwB IKE SA: $ike0"
check "gwB: one IKE SA, lab ($ike0)" eval '[[ "$ike0" == lab#* ]] && [ "$(sw_ikes)" = "$ike0" ]'
check "gwA: one SA group, VPN 10 198.19.1.0/24 > 198.19.2.0/24; one IKE SA, VPN 10" \
	wait_for 10 eval 'es_sa_is "VPN 10 198.19.1.0/24>198.19.2.0/24" && es_ike_is "VPN 10"'

info "== 1.b hostA pings 198.19.3.2 (entry 20): a CREATE_CHILD_SA on VPN 10's IKE SA"
mark
got=$(answered "$HA" "$HB3")
info "echoes answered: ${got:-none} (of 1..6)"
check "the pings to 198.19.3.2 are answered from the third echo on ($got)" eval '[[ " $got" == *" 3 4 5 6" ]]'
es_log | grep -E "ikev2 VPN [0-9]+: " | sed 's/^/#   gwA: /'
check "gwA's log: ikev2 VPN 20: a Child SA on the IKE SA of VPN 10 (the same peer)" \
	es_has "ikev2 VPN 20: a Child SA on the IKE SA of VPN 10 (the same peer)"
es_traces '->' '[A-Z_]+' request | sed 's/^.*ikev2 trace /#   gwA sent: /'
check "esprit sent one CREATE_CHILD_SA request, a new child (no REKEY_SA), TSr 198.19.3.0/24" \
	eval '[ "$(es_ntraces "->" CREATE_CHILD_SA request)" = 1 ] && ! es_traces "->" CREATE_CHILD_SA request | grep -q REKEY_SA &&
		es_traces "->" CREATE_CHILD_SA request | grep -qE "TSr\([^)]*198\.19\.3\.0-198\.19\.3\.255"'
check "esprit sent no IKE_SA_INIT and no IKE_AUTH (trace)" \
	eval '[ "$(es_ntraces "->" IKE_SA_INIT request)" = 0 ] && [ "$(es_ntraces "->" IKE_AUTH request)" = 0 ]'
check "gwB answered it with an SA, TSi 198.19.1.0/24, TSr 198.19.3.0/24 (esprit's trace), no TS_UNACCEPTABLE" \
	eval 'es_traces "<-" CREATE_CHILD_SA response | grep -qE "SA\(.*TSi\(198\.19\.1\.0-198\.19\.1\.255\) TSr\(198\.19\.3\.0-198\.19\.3\.255\)" && ! es_log | grep -q TS_UNACCEPTABLE'
sw_log | grep -E 'found matching child config|CREATE_CHILD_SA' | sed 's/^[^>]*> */#   gwB: /'
check "charon: CREATE_CHILD_SA on lab, child config \"net3\" chosen" \
	eval 'sw_has "parsed CREATE_CHILD_SA request" && sw_has "found matching child config \"net3\""'
check "gwB: net2 and net3 INSTALLED" wait_for 10 sw_is "net2 net3"
check "gwB: net3 on the same IKE SA as net2 ($ike0), still one IKE SA" \
	eval '[ "$(sw_parent net3)" = "$ike0" ] && [ "$(sw_parent net2)" = "$ike0" ] && [ "$(sw_ikes)" = "$ike0" ]'
check "gwA: two SA groups, seq 10 (> 198.19.2.0/24) and seq 20 (> 198.19.3.0/24)" wait_for 10 es_sa_is "$TWO_GROUPS"
check "gwA: one IKE SA, VPN 10" es_ike_is "VPN 10"
show_both
traffic_both
check "after the traffic: still one IKE SA each side ($ike0, VPN 10), the same two groups" \
	eval 'es_ike_is "VPN 10" && [ "$(sw_ikes)" = "$ike0" ] && es_sa_is "$TWO_GROUPS"' || show_both
wan_stop
wan_list | sed 's/^/#   WAN: /'
n=$(wan_req 34) m=$(wan_req 36)
check "WAN (phase 1): one IKE_SA_INIT request from gwA ($n)" num_eq "$n" 1
check "WAN (phase 1): one CREATE_CHILD_SA request from gwA ($m)" num_eq "$m" 1

# ==== 2. esprit rekeys: entry 20's child stays on the shared IKE SA ===================

info "== 2. gwA: rekey crypto ipsec sa (both children)"
old20=$(es_spis 198.19.3.0/24) old10=$(es_spis 198.19.2.0/24) oldb=$(sw_in net3)
info "gwA inbound SPIs: $old10 $old20; gwB net3 in: $oldb"
mark
check "gwA: rekey crypto ipsec sa" eval 'cli "$GA" rekey crypto ipsec sa >>"$TMP/cli.out" 2>&1'
check "gwA: entry 20's child has a new inbound SPI (was $old20), still seq 20" \
	wait_for 15 eval 'n20=$(es_spis 198.19.3.0/24); [[ "$n20" =~ ^20:[0-9a-f]{8}$ ]] && [ "$n20" != "$old20" ]'
check "gwA: entry 10's child has a new inbound SPI (was $old10), still seq 10" \
	wait_for 15 eval 'n10=$(es_spis 198.19.2.0/24); [[ "$n10" =~ ^10:[0-9a-f]{8}$ ]] && [ "$n10" != "$old10" ]'
check "gwB: net3 has a new inbound SPI (was $oldb)" \
	wait_for 10 eval 'nb=$(sw_in net3); [ -n "$nb" ] && [[ " $nb " != *" $oldb "* ]]'
check "esprit's two CREATE_CHILD_SA requests carry REKEY_SA; no IKE_SA_INIT" \
	eval '[ "$(es_traces "->" CREATE_CHILD_SA request | grep -c "N(REKEY_SA")" = 2 ] && [ "$(es_ntraces "->" IKE_SA_INIT request)" = 0 ]'
check "gwB: net2 and net3 INSTALLED, both on the same one IKE SA ($ike0)" \
	wait_for 10 eval 'sw_is "net2 net3" && [ "$(sw_parent net3)" = "$ike0" ] && [ "$(sw_parent net2)" = "$ike0" ] && [ "$(sw_ikes)" = "$ike0" ]'
check "gwA: groups seq 10 and seq 20 as before, one IKE SA VPN 10" \
	wait_for 10 eval 'es_sa_is "$TWO_GROUPS" && es_ike_is "VPN 10"'
check_ping "$HA" "$HB3"
check_ping "$HA" "$HB4"

# ==== 3. two strongSwan connections for the same peer ==================================

info "== 3. gwB: connections c2 (net2) and c3 (net3), same peer, identities and PSK"
check "gwA: clear crypto ikev2 sa" eval 'cli "$GA" clear crypto ikev2 sa >>"$TMP/cli.out" 2>&1'
check "no SA left on either side" wait_for 15 eval 'es_none && sw_none'
sw_file "$(sw_conn c2 "$(sw_child net2 198.19.2.0/24)"
	sw_conn c3 "$(sw_child net3 198.19.3.0/24)")" >"$RUNDIR/B/swanctl-3.conf"
check "gwB loads connections c2 and c3 (instead of lab)" sw B --load-all --file "$RUNDIR/B/swanctl-3.conf"
d0=$(dup_n)
wan_start p3 || info "no IKE capture (dumpcap)"

info "== 3.a hostA pings 198.19.2.2: IKE SA for VPN 10, gwB's c2"
mark
got=$(answered "$HA" "$HB4")
info "echoes answered: ${got:-none} (of 1..6)"
check "the pings to 198.19.2.2 are answered from the third echo on ($got)" eval '[[ " $got" == *" 3 4 5 6" ]]'
check "gwB: net2 INSTALLED (alone)" wait_for 10 sw_is net2
ike2=$(sw_parent net2)
info "gwB IKE SA: $ike2"
check "gwB: one IKE SA, c2 ($ike2)" eval '[[ "$ike2" == c2#* ]] && [ "$(sw_ikes)" = "$ike2" ]'
check "gwA: one SA group (seq 10), one IKE SA (VPN 10)" \
	wait_for 10 eval 'es_sa_is "VPN 10 198.19.1.0/24>198.19.2.0/24" && es_ike_is "VPN 10"'

# strongSwan 5.9.8 picks the peer config of an IKE_AUTH by the identities
# alone, the first of equal ones: with c2 still loaded, VPN 20's own IKE SA
# lands on c2 as well and gets TS_UNACCEPTABLE in IKE_AUTH (found writing
# this). gwB therefore unloads c2 now; with start_action none its IKE SA and
# net2 stay, bound to c2's config (children net2 only).
info "== 3.b gwB unloads c2 (its IKE SA stays), then hostA pings 198.19.3.2"
sw_file "$(sw_conn c3 "$(sw_child net3 198.19.3.0/24)")" >"$RUNDIR/B/swanctl-3b.conf"
check "gwB loads c3 alone (c2 unloaded)" sw B --load-all --file "$RUNDIR/B/swanctl-3b.conf"
check "gwB: c2's IKE SA ($ike2) and net2 still there" eval '[ "$(sw_ikes)" = "$ike2" ] && sw_is net2'
mark
got=$(answered "$HA" "$HB3")
info "echoes answered: ${got:-none} (of 1..6)"
check "the pings to 198.19.3.2 are answered, the last three at least ($got)" eval '[[ " $got" == *" 4 5 6" ]]'
es_log | grep -E "ikev2 VPN [0-9]+: " | sed 's/^/#   gwA: /'
es_traces '[<>-]+' '[A-Z_]+' '(request|response)' | sed 's/^.*ikev2 trace /#   gwA trace: /'
check "esprit asked for the child on VPN 10's IKE SA first (log: a Child SA on the IKE SA of VPN 10)" \
	es_has "ikev2 VPN 20: a Child SA on the IKE SA of VPN 10 (the same peer)"
check "esprit sent one CREATE_CHILD_SA request (no REKEY_SA) with TSr 198.19.3.0/24" \
	eval '[ "$(es_ntraces "->" CREATE_CHILD_SA request)" = 1 ] && ! es_traces "->" CREATE_CHILD_SA request | grep -q REKEY_SA &&
		es_traces "->" CREATE_CHILD_SA request | grep -qE "TSr\([^)]*198\.19\.3\.0-198\.19\.3\.255"'
sw_log | grep -E 'no acceptable traffic selectors|looking for a child config|TS_UNACCEPT|CREATE_CHILD_SA' | sed 's/^[^>]*> */#   gwB: /'
check "charon answered the CREATE_CHILD_SA with TS_UNACCEPTABLE (its log)" \
	sw_has "generating CREATE_CHILD_SA response [0-9]+ \[ N\(TS_UNACCEPT\) \]"
check "esprit received TS_UNACCEPTABLE in the CREATE_CHILD_SA response (trace)" \
	eval 'es_traces "<-" CREATE_CHILD_SA response | grep -q "TS_UNACCEPTABLE"'
check "gwA's log: ikev2 VPN 20: the peer did not take this entry's Child SA ... VPN 20 gets an IKE SA of its own" \
	es_has "ikev2 VPN 20: the peer did not take this entry's Child SA on the IKE SA of VPN 10 (its policies for the two are separate connections): VPN 20 gets an IKE SA of its own"
check "esprit sent IKE_SA_INIT and IKE_AUTH for VPN 20 (trace)" \
	eval '[ "$(es_ntraces "->" IKE_SA_INIT request "VPN 20")" = 1 ] && [ "$(es_ntraces "->" IKE_AUTH request "VPN 20")" = 1 ]'
check "VPN 20's IKE_AUTH request carries no INITIAL_CONTACT" \
	eval 'es_traces "->" IKE_AUTH request "VPN 20" | grep -q . && ! es_traces "->" IKE_AUTH request "VPN 20" | grep -q INITIAL_CONTACT'
check "gwB: net2 and net3 INSTALLED" wait_for 10 sw_is "net2 net3"
ike3=$(sw_parent net3)
info "gwB IKE SAs: $(sw_ikes)"
check "gwB: c2 ($ike2) and c3 ($ike3) ESTABLISHED, net2 on c2's, net3 on c3's" \
	eval '[[ "$ike3" == c3#* ]] && [ "$(sw_ikes)" = "$ike2 $ike3" ] && [ "$(sw_parent net2)" = "$ike2" ]'
n=$(dup_n)
check "gwB destroyed no IKE SA as a duplicate ($d0 -> $n)" [ "$n" = "$d0" ]
check "gwA: IKE SAs VPN 10 and VPN 20" wait_for 10 es_ike_is "VPN 10
VPN 20"
check "gwA: two SA groups, seq 10 (> 198.19.2.0/24) and seq 20 (> 198.19.3.0/24)" wait_for 10 es_sa_is "$TWO_GROUPS"
show_both
traffic_both

info "== 3.c more pings to 198.19.3.2: no new CREATE_CHILD_SA"
mark
check_ping "$HA" "$HB3"
check "esprit sent no CREATE_CHILD_SA and no IKE_SA_INIT since 3.b (trace)" \
	eval '[ "$(es_ntraces "->" CREATE_CHILD_SA request)" = 0 ] && [ "$(es_ntraces "->" IKE_SA_INIT request)" = 0 ]'
wan_stop
wan_list | sed 's/^/#   WAN: /'
n=$(wan_req 34) m=$(wan_req 36)
check "WAN (phase 3.a-c): two IKE_SA_INIT requests from gwA ($n)" num_eq "$n" 2
check "WAN (phase 3.a-c): one CREATE_CHILD_SA request from gwA, the refused one ($m)" num_eq "$m" 1
check "gwB: still c2 ($ike2) and c3 ($ike3)" eval '[ "$(sw_ikes)" = "$ike2 $ike3" ]'

info "== 3.d gwB terminates c3; the next ping to 198.19.3.2 starts an IKE SA of VPN 20's own at once"
check "gwB: swanctl --terminate --ike c3" sw B --terminate --ike c3 --timeout 20
check "gwA: VPN 20's IKE SA and child gone, VPN 10's stay" \
	wait_for 15 eval 'es_ike_is "VPN 10" && es_sa_is "VPN 10 198.19.1.0/24>198.19.2.0/24"'
mark
got=$(answered "$HA" "$HB3")
info "echoes answered: ${got:-none} (of 1..6)"
check "the pings to 198.19.3.2 are answered from the third echo on ($got)" eval '[[ " $got" == *" 3 4 5 6" ]]'
es_traces '->' '[A-Z_]+' request | sed 's/^.*ikev2 trace /#   gwA sent: /'
check "esprit sent IKE_SA_INIT for VPN 20 and no CREATE_CHILD_SA, no TS_UNACCEPTABLE" \
	eval '[ "$(es_ntraces "->" IKE_SA_INIT request "VPN 20")" = 1 ] && [ "$(es_ntraces "->" CREATE_CHILD_SA request)" = 0 ] && ! es_log | grep -q TS_UNACCEPTABLE'
check "gwB: c2 ($ike2) and a new c3 IKE SA, net2 and net3 INSTALLED" \
	wait_for 10 eval 'sw_is "net2 net3" && i3=$(sw_parent net3) && [[ "$i3" == c3#* ]] && [ "$i3" != "$ike3" ] && [ "$(sw_ikes)" = "$ike2 $i3" ]'
check "gwA: IKE SAs VPN 10 and VPN 20, groups seq 10 and seq 20" \
	wait_for 10 eval 'es_ike_is "VPN 10
VPN 20" && es_sa_is "$TWO_GROUPS"'
n=$(dup_n)
check "gwB destroyed no IKE SA as a duplicate ($d0 -> $n)" [ "$n" = "$d0" ]
check_ping "$HA" "$HB3"
check_ping "$HA" "$HB4"

check "gwA: clear crypto ikev2 sa" eval 'cli "$GA" clear crypto ikev2 sa >>"$TMP/cli.out" 2>&1'
check "no SA left on either side" wait_for 15 eval 'es_none && sw_none'

stop_esprit "$GA"
info "$T_NAME: $SECONDS s"
finish
