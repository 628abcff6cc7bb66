#!/bin/bash
# Traffic selectors of the triggering packet (RFC 7296 section 2.9) and
# the choice among several crypto map entries for one peer, against
# strongSwan (AES-GCM-256, group 19, PFS 19, tunnel). hostB has a second
# site, 198.19.3.2/24 on a second link (lan1) behind gwB (198.19.3.1).
# esprit's profile runs `dpd 10 2 periodic restart`.
#
# A. esprit initiates, strongSwan is narrower. gwA has ONE crypto map entry
#    (VPN 10, `permit ip 198.19.1.0 0.0.0.255 198.19.2.0 0.0.1.255`, i.e.
#    198.19.2.0/23); gwB has one connection with two children, "net2"
#    (198.19.2.0/24 === 198.19.1.0/24) listed first and "net3"
#    (198.19.3.0/24 === 198.19.1.0/24).
#    1. hostA pings 198.19.3.2: the acquire starts IKE and the pings are
#       answered (from the third echo on, at the latest). esprit's
#       IKE_AUTH carries first the packet's selector in TSi and TSr
#       (198.19.1.2/32 and 198.19.3.2/32, ICMP, all "ports" as the ACL
#       line), then the ACL's: esprit's own trace, and charon's log
#       ("looking for a child config for 198.19.3.2/32[icmp] 198.19.2.0/23
#       === 198.19.1.2/32[icmp] 198.19.1.0/24": strongSwan's TSr first, it
#       is the responder). strongSwan scores child configs by how the
#       received selectors fit theirs, so the /32 makes "net3" win over
#       "net2" (3+7 against 1+7 here); it answers 198.19.1.0/24 ===
#       198.19.3.0/24, one selector pair (it drops the /32 inside the /24
#       itself). Both sides show exactly that pair (esprit under VPN 10);
#       pings both ways (hostB from 198.19.3.2) and 1 MB TCP
#       hostA -> 198.19.3.2, no clear text on the WAN.
#    4. (run right after 1.) hostA pings hostB's 198.19.2.2, inside the ACL but
#       outside net3: esprit's data plane finds no child of VPN 10 holding
#       the flow and acquires, and esprit asks for a second child on the
#       SAME IKE SA: one CREATE_CHILD_SA (no REKEY_SA, no IKE_SA_INIT) with
#       198.19.1.2/32 and 198.19.2.2/32 (ICMP) first in TSi/TSr, then the
#       ACL's (esprit's trace; charon "looking for a child config for
#       198.19.2.2/32[icmp] 198.19.2.0/23 === 198.19.1.2/32[icmp] ...",
#       "net2" wins 3+7 against 1+7). gwB: net2 and net3 on its one IKE SA
#       (same #id); esprit: one IKE SA (VPN 10) and two SA groups, one per
#       child (198.19.2.0/24 and 198.19.3.0/24). The pings to 198.19.2.2
#       are answered (from the third echo on, at the latest), 198.19.3.2
#       still, and 198.19.2.2 -> hostA; 10 pings to either address raise
#       esprit's outbound packet counter of that address's group by 10 and
#       leave the other's alone (each subnet on its own SA).
#    The controls 2. and 3. run with the two children of 4.: that makes
#    2. check both rekeys and makes 3. start from two children (the restart
#    must still give exactly one, net2, on a new IKE SA) without losing
#    what they control.
#    2. Negative control, child rekeys (`rekey crypto ipsec sa`, not
#       started by a packet, both children of 4.): the two CREATE_CHILD_SA
#       requests (REKEY_SA) carry each SA's selectors only, no /32
#       (esprit's trace; charon's "received:" lines); both children stay.
#    3. Negative control, an initiation without a packet: charon is stopped
#       (SIGSTOP), esprit's periodic DPD declares gwB dead and (action
#       restart) initiates by itself; charon continues (and drops its old
#       IKE SA with both children on INITIAL_CONTACT). That IKE_AUTH has
#       no /32 in TSi/TSr (esprit's trace, charon's "looking for a child
#       config for 198.19.2.0/23 === 198.19.1.0/24"), and strongSwan, with
#       nothing to tell its children apart, takes the first: "net2", both
#       sides 198.19.1.0/24 === 198.19.2.0/24, and hostA reaches hostB
#       198.19.2.2. So the /32 of 1. is what made strongSwan pick net3.
# B. strongSwan initiates (swanctl --initiate --child X, the child in
#    IKE_AUTH), esprit responds with two crypto map entries for the same
#    peer, identity and profile: VPN 10 (198.19.1.0/24 -> 198.19.2.0/24)
#    and VPN 20 (198.19.1.0/24 -> 198.19.3.0/24). gwB loads five
#    connections, each with one child (remote_ts 198.19.1.0/24):
#    1. "net3" (local_ts 198.19.3.0/24): IKE_AUTH succeeds (no
#       TS_UNACCEPTABLE: esprit used to take the first entry in config
#       order), both sides install 198.19.3.0/24 === 198.19.1.0/24,
#       esprit's IKE SA and SA group are VPN 20; pings hostA <-> 198.19.3.2
#       both ways, no clear text on the WAN. strongSwan terminates.
#    2. "net2" (198.19.2.0/24) in its own IKE SA: VPN 10, pings hostA <->
#       hostB 198.19.2.2.
#    3. "both32" (local_ts 198.19.3.0/24, 198.19.2.0/24: both entries
#       intersect, the FIRST pair lies in VPN 20 only): esprit picks VPN 20
#       and narrows to 198.19.3.0/24 (strongSwan accepts the narrowing);
#       pings to 198.19.3.2.
#    4. "both23" (198.19.2.0/24, 198.19.3.0/24), the control of 3.: the
#       first pair is in VPN 10 now, and esprit takes VPN 10, narrowed to
#       198.19.2.0/24.
#    5. "wide3" (198.19.3.0/24 and the range 198.19.3.128-198.19.4.255,
#       which strongSwan does not fold into the /24): VPN 20; narrowed to
#       its ACL the range is 198.19.3.128-198.19.3.255, inside 198.19.3.0/24,
#       and is left out: esprit answers one TSi, 198.19.3.0/24.
#    After each case's traffic both sides still have that one SA pair and
#    one IKE SA: a ping outside the pair would have had esprit start a
#    second IKE SA for the other entry by an acquire (an esprit without
#    this change got B.3's ping through that way, on the wrong entry's SA).
#    strongSwan terminates each; esprit must drop its SAs.
# C. strongSwan brings up ONE connection "labc" with both children against
#    esprit's two entries of B (VPN 10 -> .2.0/24, VPN 20 -> .3.0/24):
#    1. `swanctl --initiate --ike labc --child net2` (IKE_AUTH, VPN 10),
#       then `--child net3`: strongSwan asks for it with a CREATE_CHILD_SA
#       on the existing IKE SA (esprit's trace: no IKE_SA_INIT/IKE_AUTH, no
#       REKEY_SA; TSi 198.19.3.0/24), which esprit accepts for the other
#       entry (log "ikev2 VPN 10: the peer asks for the traffic of VPN 20:
#       Child SA for that entry on this IKE SA"; before: TS_UNACCEPTABLE).
#       Both children on both sides, one IKE SA each (esprit's is VPN 10),
#       esprit's groups are seq 10 (.2.0/24) and seq 20 (.3.0/24); pings
#       both ways to both of hostB's addresses, no clear text.
#    2. `swanctl --rekey --child net3`: new SPIs on both sides, still under
#       VPN 20 at esprit, net2's SPI unchanged, same IKE SA; pings.
#    3. `no crypto map VPN 20` in esprit's running config (`configure`):
#       esprit DELETEs net3 (INFORMATIONAL with D(ESP)), charon processes
#       it ("received DELETE for ESP CHILD_SA", "closing CHILD_SA net3"),
#       net2 and the IKE SA stay on both sides (the IKE SA was VPN 10's,
#       so no hand-over is logged), pings to 198.19.2.2 both ways.
#       strongSwan terminates; esprit drops everything.
# espritd exits 0 with no sanitizer report; no namespace of the run is
# left. The phases run in the order A.1, A.4, A.2, A.3, B, C.
# What strongSwan 5.9.8 does here, found while writing this: as responder
# it folds selectors contained in others itself (its answer in A.1 is one
# pair), and as initiator it proposes its configured selectors with those
# inside another left out (a /32 next to its /24 is never sent), so
# esprit's own folding is seen only with B.5's range. kernel-libipsec has
# no acquires ("could not find an outbound IPsec SA for reqid {1},
# dropping packet" for a start_action = trap child), so strongSwan cannot
# initiate on a packet here, and its initiator-side 2.9 selector is not
# tested. It brings up a connection's further children with
# CREATE_CHILD_SA on the IKE SA it has (C.1), and as responder picks the
# child config for a CREATE_CHILD_SA the same way as in IKE_AUTH (A.4).
# About 95 s.
. "$(dirname "$0")/lib.sh"
iop_init
[ "$GWA_IMPL" = esprit ] || skip "the scenarios check esprit's selectors and crypto map choice"
command -v dumpcap >/dev/null || skip "needs dumpcap"
command -v tshark >/dev/null || skip "needs tshark"
prop_set gcm

HB3=198.19.3.2 GB3_LAN=198.19.3.1
ES_PHASE=A

# charon's cfg log at level 2: the child config choice and the selectors
# it received ("looking for a child config for ...", "received: ...").
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

# gwA: phase A one entry whose ACL covers both of gwB's sites, phase B two
# entries for the same peer.
esprit_write_conf() {
	local f=$1
	cat >"$f" <<EOF
! generated by tests/interop ($T_NAME), phase $ES_PHASE
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
 dpd 10 2 periodic restart
 lifetime $IKE_LIFE
!
crypto ipsec transform-set TS $ES_TS
 mode tunnel
!
EOF
	if [ "$ES_PHASE" = A ]; then
		cat >>"$f" <<EOF
ip access-list extended SITES
 permit ip 198.19.1.0 0.0.0.255 198.19.2.0 0.0.1.255
!
EOF
		es_entry 10 SITES >>"$f"
	else
		cat >>"$f" <<EOF
ip access-list extended NET2
 permit ip 198.19.1.0 0.0.0.255 198.19.2.0 0.0.0.255
!
ip access-list extended NET3
 permit ip 198.19.1.0 0.0.0.255 198.19.3.0 0.0.0.255
!
EOF
		{
			es_entry 10 NET2
			es_entry 20 NET3
		} >>"$f"
	fi
	cat >>"$f" <<EOF
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
# sw_ts CHILD: "LOCAL === REMOTE" of that child (one line each, joined).
sw_ts() {
	sw_list B | awk -v c="$1" '
		/^  [A-Za-z0-9_-]+: #[0-9]+, reqid/ { cur = $1; sub(":", "", cur); next }
		/^[^ ]/ { cur = "" }
		cur == c && $1 == "local" { l = l (l == "" ? "" : ",") $2 }
		cur == c && $1 == "remote" { r = r (r == "" ? "" : ",") $2 }
		END { print l " === " r }'
}
sw_ike_n() { sw_list B | grep -c "^[A-Za-z0-9_-]*: #[0-9]*, ESTABLISHED"; }
sw_none() { ! sw_list B | grep -q "^[A-Za-z0-9_-]*: #"; }

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
# es_out REMOTE: esprit's outbound packets of the SA groups whose first
# selector goes to REMOTE ("remote_ident"), summed over their outbound SAs.
es_out() {
	cli "$GA" --json show crypto ipsec sa 2>/dev/null | "$PY" -c '
import json, sys
print(sum(s["packets"] for g in json.load(sys.stdin).get("sas", [])
          if g.get("remote_ident") == sys.argv[1] for s in g.get("outbound", [])))' "$1"
}
# es_spis REMOTE: inbound SPIs (sorted, space-separated) of the groups
# whose first selector goes to REMOTE, each as "SEQ:SPI".
es_spis() {
	cli "$GA" --json show crypto ipsec sa 2>/dev/null | "$PY" -c '
import json, sys
print(" ".join(sorted("%d:%08x" % (g["seq"], s["spi"]) for g in json.load(sys.stdin).get("sas", [])
                      if g.get("remote_ident") == sys.argv[1] for s in g.get("inbound", []))))' "$1"
}
es_sa_is() { [ "$(es_sa)" = "$1" ]; }
# es_ike: connection names of esprit's READY IKE SAs, one per line.
es_ike() {
	cli "$GA" --json show crypto ikev2 sa 2>/dev/null | "$PY" -c '
import json, sys
for s in json.load(sys.stdin).get("ike_sas", []):
    if s["status"] == "READY":
        print(s["connection"])'
}
es_ike_is() { [ "$(es_ike)" = "$1" ]; }
es_none() { esprit_no_sa && [ -z "$(es_ike)" ]; }

# Logs from a mark on: esprit's (trace of `debug crypto ikev2 peer`) and
# charon's.
ELOG="" SLOG=$RUNDIR/B/charon.log
mark() { ES_FROM=$(($(wc -l <"$ELOG") + 1)) SW_FROM=$(($(wc -l <"$SLOG") + 1)); }
es_log() { tail -n +"$ES_FROM" "$ELOG"; }
sw_log() { tail -n +"$SW_FROM" "$SLOG"; }
# es_trace DIR EXCH KIND: esprit's last trace line of that message.
es_trace() { es_log | grep -E "ikev2 trace VPN [0-9]+: $1 .* $2 $3 " | tail -1; }
es_trace_has() { es_trace "$1" "$2" "$3" | grep -qE -- "$4"; }
# es_traces DIR EXCH KIND: all of them.
es_traces() { es_log | grep -E "ikev2 trace VPN [0-9]+: $1 .* $2 $3 "; }
sw_has() { sw_log | grep -qE -- "$1"; }
sw_line() { sw_log | grep -E -- "$1" | tail -1; }
show_both() {
	sw_list B | grep -E "^[A-Za-z0-9_-]+: #|^  [A-Za-z0-9_-]+: #|^ +(local|remote) " | sed 's/^/#   gwB: /'
	es_sa | sed 's/^/#   gwA SA: /'
	es_ike | sed 's/^/#   gwA IKE SA: /'
}

# ---- traffic ------------------------------------------------------------------------

# answered NS DST [ping options]: the icmp_seq numbers answered of 6
# echoes 0.5 s apart, space-separated.
answered() {
	local ns=$1 dst=$2
	shift 2
	nsx "$ns" timeout 20 ping -n -c 6 -i 0.5 -W 2 "$@" "$dst" 2>/dev/null |
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

# traffic_site3: pings hostA <-> 198.19.3.2 both ways, 1 MB TCP hostA ->
# 198.19.3.2, nothing in clear on the WAN.
traffic_site3() {
	local c
	clear_cap_start || info "no clear-text capture (dumpcap)"
	check_ping "$HA" "$HB3"
	check "ping hB 198.19.3.2 -> $HA4" ping_from "$HB" "$HB3" "$HA4"
	[ "${1:-}" = tcp ] && check_transfer "$HA" "$HB" "$HB3" 1000000
	c=$(clear_cap_stop)
	check "no clear-text site traffic on the WAN ($c packets)" num_eq "$c" 0
}
traffic_site2() {
	check_ping "$HA" "$HB4"
	check "ping hB $HB4 -> $HA4" ping_from "$HB" "$HB4" "$HA4"
}

# ---- setup ------------------------------------------------------------------------

topo_up
topo_site3
gwb_start || bail "gwB start"
gwa_start || bail "gwA start"
ELOG=${DAEMON_LOG[$GA]}
cli "$GA" debug crypto ikev2 peer $GB4 >/dev/null || bail "debug crypto ikev2 peer $GB4"
NS_CHECK=1

# ==== A. esprit initiates on a packet, strongSwan's children are narrower =====

info "== A.1 hostA pings 198.19.3.2: the acquire starts IKE (gwA one entry for 198.19.2.0/23)"
check "no SA before the ping" eval 'es_none && sw_none'
mark
clear_cap_start || info "no clear-text capture (dumpcap)"
got=$(answered "$HA" "$HB3")
info "echoes answered: ${got:-none} (of 1..6)"
check "the pings to 198.19.3.2 are answered from the third echo on ($got)" \
	eval '[[ " $got" == *" 3 4 5 6" ]]'
c=$(clear_cap_stop)
check "no clear-text site traffic on the WAN during the acquire ($c packets)" num_eq "$c" 0
req=$(es_trace '->' IKE_AUTH request)
info "gwA sent: $(echo "$req" | grep -o 'TSi(.*) TSr([^)]*)')"
check "esprit's IKE_AUTH request: TSi = 198.19.1.2/32 ICMP first, then the ACL's 198.19.1.0/24" \
	es_trace_has '->' IKE_AUTH request 'TSi\(198\.19\.1\.2-198\.19\.1\.2 proto 1, 198\.19\.1\.0-198\.19\.1\.255\)'
check "esprit's IKE_AUTH request: TSr = 198.19.3.2/32 ICMP first, then the ACL's 198.19.2.0/23" \
	es_trace_has '->' IKE_AUTH request 'TSr\(198\.19\.3\.2-198\.19\.3\.2 proto 1, 198\.19\.2\.0-198\.19\.3\.255\)'
look=$(sw_line "looking for a child config for ")
info "gwB: ${look#*> }"
sw_log | grep -E 'candidate "|found matching child config' | sed 's/^[^>]*> */#   gwB: /'
# charon is the responder: its TSr (our TSr) first, then === its TSi
check "charon received TSr 198.19.3.2/32[icmp] first, then 198.19.2.0/23" \
	sw_has "looking for a child config for 198\.19\.3\.2/32\[icmp\] 198\.19\.2\.0/23 === "
check "charon received TSi 198.19.1.2/32[icmp] first, then 198.19.1.0/24" \
	sw_has "looking for a child config for .* === 198\.19\.1\.2/32\[icmp\] 198\.19\.1\.0/24\$"
check "charon chose child config \"net3\" (not the first, \"net2\")" sw_has 'found matching child config "net3"'
check "gwB: only child net3 INSTALLED" wait_for 10 sw_is net3
check "gwB: net3 is 198.19.3.0/24 === 198.19.1.0/24" eval '[ "$(sw_ts net3)" = "198.19.3.0/24 === 198.19.1.0/24" ]'
check "gwB answered TSi 198.19.1.0/24, TSr 198.19.3.0/24 (esprit's trace)" \
	es_trace_has '<-' IKE_AUTH response 'TSi\(198\.19\.1\.0-198\.19\.1\.255\) TSr\(198\.19\.3\.0-198\.19\.3\.255\) \]'
check "gwA: one SA group, VPN 10, selectors 198.19.1.0/24 > 198.19.3.0/24 only" \
	wait_for 10 es_sa_is "VPN 10 198.19.1.0/24>198.19.3.0/24"
check "gwA: its IKE SA is VPN 10" es_ike_is "VPN 10"
show_both
traffic_site3 tcp

info "== A.4 hostA pings 198.19.2.2, outside net3: esprit asks for a second child on the IKE SA"
ike0=$(sw_ike_ids B)
mark
got=$(answered "$HA" "$HB4")
info "echoes answered: ${got:-none} (of 1..6)"
check "the pings to 198.19.2.2 are answered from the third echo on ($got)" \
	eval '[[ " $got" == *" 3 4 5 6" ]]'
req=$(es_trace '->' CREATE_CHILD_SA request)
info "gwA sent: $(echo "$req" | grep -o '\[ .* \]')"
check "esprit sent one CREATE_CHILD_SA request for a new child (no REKEY_SA), and no IKE_SA_INIT" \
	eval '[ "$(es_traces "->" CREATE_CHILD_SA request | wc -l)" = 1 ] && [ -n "$req" ] && ! echo "$req" | grep -q REKEY_SA && [ -z "$(es_traces "->" IKE_SA_INIT request)" ]'
check "esprit's CREATE_CHILD_SA request: TSi = 198.19.1.2/32 ICMP first, then the ACL's 198.19.1.0/24" \
	es_trace_has '->' CREATE_CHILD_SA request 'TSi\(198\.19\.1\.2-198\.19\.1\.2 proto 1, 198\.19\.1\.0-198\.19\.1\.255\)'
check "esprit's CREATE_CHILD_SA request: TSr = 198.19.2.2/32 ICMP first, then the ACL's 198.19.2.0/23" \
	es_trace_has '->' CREATE_CHILD_SA request 'TSr\(198\.19\.2\.2-198\.19\.2\.2 proto 1, 198\.19\.2\.0-198\.19\.3\.255\)'
look=$(sw_line "looking for a child config for ")
info "gwB: ${look#*> }"
sw_log | grep -E 'candidate "|found matching child config' | sed 's/^[^>]*> */#   gwB: /'
check "charon received 198.19.2.2/32[icmp] and 198.19.1.2/32[icmp] first" \
	sw_has "looking for a child config for 198\.19\.2\.2/32\[icmp\] 198\.19\.2\.0/23 === 198\.19\.1\.2/32\[icmp\] 198\.19\.1\.0/24\$"
check "charon chose child config \"net2\"" sw_has 'found matching child config "net2"'
check "gwB answered TSi 198.19.1.0/24, TSr 198.19.2.0/24 (esprit's trace)" \
	es_trace_has '<-' CREATE_CHILD_SA response 'TSi\(198\.19\.1\.0-198\.19\.1\.255\) TSr\(198\.19\.2\.0-198\.19\.2\.255\) \]'
check "gwB: net2 and net3 INSTALLED (net2 198.19.2.0/24, net3 198.19.3.0/24)" \
	wait_for 10 eval 'sw_is "net2 net3" && [ "$(sw_ts net2)" = "198.19.2.0/24 === 198.19.1.0/24" ] && [ "$(sw_ts net3)" = "198.19.3.0/24 === 198.19.1.0/24" ]'
check "gwB: on the same one IKE SA (lab $ike0)" eval '[ -n "$ike0" ] && [ "$(sw_ike_ids B)" = "$ike0" ] && [ "$(sw_ike_n)" = 1 ]'
check "gwA: two SA groups of VPN 10, 198.19.1.0/24 > 198.19.2.0/24 and > 198.19.3.0/24" \
	wait_for 10 es_sa_is "VPN 10 198.19.1.0/24>198.19.2.0/24
VPN 10 198.19.1.0/24>198.19.3.0/24"
check "gwA: one IKE SA, VPN 10" es_ike_is "VPN 10"
check "gwA's log: no TS_UNACCEPTABLE, no child deleted" eval '! es_log | grep -qiE "TS_UNACCEPTABLE|D\(ESP"'
show_both
check_ping "$HA" "$HB3"
check "ping hB $HB4 -> $HA4" ping_from "$HB" "$HB4" "$HA4"
# each subnet's traffic on its own SA: 10 echoes raise only that group's
# outbound counter, by 10
for dst in "$HB4 198.19.2.0/24 198.19.3.0/24" "$HB3 198.19.3.0/24 198.19.2.0/24"; do
	set -- $dst
	a=$(es_out "$2") o=$(es_out "$3")
	ans=$(nsx "$HA" timeout 20 ping -n -c 10 -i 0.1 -W 2 "$1" 2>/dev/null | sed -n 's/.* \([0-9]\+\) received.*/\1/p')
	a2=$(es_out "$2") o2=$(es_out "$3")
	check "10 pings to $1 ($ans answered) leave on the $2 SA: +$((a2 - a)) there ($a -> $a2), +$((o2 - o)) on $3" \
		eval '[ "$ans" = 10 ] && [ $((a2 - a)) = 10 ] && [ "$o2" = "$o" ]'
done

info "== A.2 negative control: esprit rekeys both children (no packet): no /32"
mark
old=$(esprit_inbound_spis | sort -u)
check "gwA: rekey crypto ipsec sa" eval 'cli "$GA" rekey crypto ipsec sa >>"$TMP/cli.out" 2>&1'
check "gwA: two new inbound SPIs (were $(echo $old))" \
	wait_for 15 eval 'spis_now=$(esprit_inbound_spis | sort -u); [ "$(echo "$spis_now" | grep -c .)" = 2 ] && [ -z "$(comm -12 <(echo "$old") <(echo "$spis_now"))" ]'
es_traces '->' CREATE_CHILD_SA request | grep -o '\[ .* \]' | sed 's/^/#   gwA sent: /'
check "esprit's two CREATE_CHILD_SA requests (REKEY_SA): TSi 198.19.1.0/24 with TSr 198.19.3.0/24, and with TSr 198.19.2.0/24, only" \
	eval '[ "$(es_traces "->" CREATE_CHILD_SA request | grep -c "N(REKEY_SA")" = 2 ] &&
		es_traces "->" CREATE_CHILD_SA request | grep -qE "TSi\(198\.19\.1\.0-198\.19\.1\.255\) TSr\(198\.19\.3\.0-198\.19\.3\.255\) " &&
		es_traces "->" CREATE_CHILD_SA request | grep -qE "TSi\(198\.19\.1\.0-198\.19\.1\.255\) TSr\(198\.19\.2\.0-198\.19\.2\.255\) "'
sw_log | grep -E 'received: ' | sed 's/^[^>]*> */#   gwB: /'
check "charon received the SAs' selectors for the rekeys" \
	eval 'sw_has "config: 198\.19\.3\.0/24, received: 198\.19\.3\.0/24 => " && sw_has "config: 198\.19\.2\.0/24, received: 198\.19\.2\.0/24 => " && sw_has "config: 198\.19\.1\.0/24, received: 198\.19\.1\.0/24 => "'
check "charon received no /32 selector for the rekeys" eval '! sw_has "received: [0-9.]+/32"'
check "gwB: still net2 and net3, same selectors, one IKE SA" \
	wait_for 10 eval 'sw_is "net2 net3" && [ "$(sw_ts net3)" = "198.19.3.0/24 === 198.19.1.0/24" ] && [ "$(sw_ts net2)" = "198.19.2.0/24 === 198.19.1.0/24" ] && [ "$(sw_ike_n)" = 1 ]'
check "gwA: still two SA groups of VPN 10, > 198.19.2.0/24 and > 198.19.3.0/24" es_sa_is "VPN 10 198.19.1.0/24>198.19.2.0/24
VPN 10 198.19.1.0/24>198.19.3.0/24"
check_ping "$HA" "$HB3"
check_ping "$HA" "$HB4"

info "== A.3 negative control: esprit initiates without a packet (DPD restart)"
CHARON_B=$(pgrep -P "${SWAN_PID[B]}" | head -n 1)
[ -n "$CHARON_B" ] || bail "no charon process under ${SWAN_PID[B]}"
mark
kill -STOP "$CHARON_B"
t0=$SECONDS
check "gwA declares gwB dead and restarts (within 35 s)" \
	wait_for 35 eval 'es_log | grep -qF "IKE SA declared dead (action restart)"'
info "dead $((SECONDS - t0)) s after charon stopped"
check "gwA sends IKE_SA_INIT by itself" wait_for 5 eval 'es_log | grep -q "ikev2 trace VPN 10: -> .* IKE_SA_INIT request"'
kill -CONT "$CHARON_B"
check "the tunnel comes back without host traffic: gwB child net2 INSTALLED" wait_for 20 sw_is net2
req=$(es_trace '->' IKE_AUTH request)
info "gwA sent: $(echo "$req" | grep -o 'TSi(.*) TSr([^)]*)')"
check "esprit's IKE_AUTH request (no packet): TSi 198.19.1.0/24, TSr 198.19.2.0/23 only" \
	es_trace_has '->' IKE_AUTH request 'TSi\(198\.19\.1\.0-198\.19\.1\.255\) TSr\(198\.19\.2\.0-198\.19\.3\.255\) \]'
look=$(sw_line "looking for a child config for ")
info "gwB: ${look#*> }"
sw_log | grep -E 'candidate "|found matching child config' | sed 's/^[^>]*> */#   gwB: /'
check "charon received no /32: looking for a child config for 198.19.2.0/23 === 198.19.1.0/24" \
	sw_has "looking for a child config for 198\.19\.2\.0/23 === 198\.19\.1\.0/24\$"
check "charon chose the first child config, \"net2\"" sw_has 'found matching child config "net2"'
check "gwB: net2 is 198.19.2.0/24 === 198.19.1.0/24, one IKE SA, a new one (not $ike0, whose two children are gone)" \
	wait_for 10 eval '[ "$(sw_ts net2)" = "198.19.2.0/24 === 198.19.1.0/24" ] && [ "$(sw_ike_n)" = 1 ] && [ "$(sw_ike_ids B)" != "$ike0" ]'
check "gwA: one SA group, VPN 10, selectors 198.19.1.0/24 > 198.19.2.0/24" \
	wait_for 10 es_sa_is "VPN 10 198.19.1.0/24>198.19.2.0/24"
show_both
check_ping "$HA" "$HB4"

# ==== B. strongSwan initiates, esprit has two entries for the peer ============

info "== B. gwA: entries VPN 10 (-> 198.19.2.0/24) and VPN 20 (-> 198.19.3.0/24), one peer"
check "gwA: clear crypto ikev2 sa" eval 'cli "$GA" clear crypto ikev2 sa >>"$TMP/cli.out" 2>&1'
check "no SA left on either side" wait_for 15 eval 'es_none && sw_none'
ES_PHASE=B
esprit_write_conf "$TMP/gwA-B.cfg"
check "gwA: configure replace with the two entries" \
	eval 'cli "$GA" configure replace "$TMP/gwA-B.cfg" >>"$TMP/cli.out" 2>&1'
check "gwA: show crypto map lists VPN 10 and VPN 20" eval '[ "$(cli "$GA" --json show crypto map | "$PY" -c "
import json, sys
print(\" \".join(\"%s-%s\" % (m[\"map\"], m[\"seq\"]) for m in json.load(sys.stdin)[\"crypto_maps\"]))")" = "VPN-10 VPN-20" ]'
sw_file "$(sw_conn lab3 "$(sw_child net3 198.19.3.0/24)"
	sw_conn lab2 "$(sw_child net2 198.19.2.0/24)"
	sw_conn labx "$(sw_child both32 198.19.3.0/24,198.19.2.0/24)"
	sw_conn laby "$(sw_child both23 198.19.2.0/24,198.19.3.0/24)"
	sw_conn labw "$(sw_child wide3 198.19.3.0/24,198.19.3.128-198.19.4.255)")" >"$RUNDIR/B/swanctl-B.conf"
check "gwB loads connections lab3, lab2, labx, laby, labw" sw B --load-all --file "$RUNDIR/B/swanctl-B.conf"

# b_case CHILD CONN SEQ LOCAL: gwB initiates CHILD; esprit must land on
# VPN SEQ with hostA's site and LOCAL (gwB's side after narrowing).
b_case() {
	local child=$1 conn=$2 seq=$3 loc=$4
	mark
	check "gwB: swanctl --initiate --ike $conn --child $child succeeds" \
		sw B --initiate --ike "$conn" --child "$child" --timeout 20
	check "gwB: $child INSTALLED as $loc === 198.19.1.0/24" \
		wait_for 10 eval 'sw_is "$child" && [ "$(sw_ts "$child")" = "$loc === 198.19.1.0/24" ]'
	check "gwA: one SA group, VPN $seq, selectors 198.19.1.0/24 > $loc" \
		wait_for 10 es_sa_is "VPN $seq 198.19.1.0/24>$loc"
	check "gwA: its IKE SA is VPN $seq" es_ike_is "VPN $seq"
	check "gwA's log: no TS_UNACCEPTABLE" eval '! es_log | grep -q TS_UNACCEPTABLE'
	info "gwB proposed: $(es_trace '<-' IKE_AUTH request | grep -o 'TSi(.*) TSr([^)]*)')"
	info "gwA answered: $(es_trace '->' IKE_AUTH response | grep -o 'TSi(.*) TSr([^)]*)')"
	show_both
}
# b_same SEQ LOCAL: after the traffic, still the one SA pair and IKE SA
# (a packet outside it would have started another IKE SA by an acquire).
b_same() {
	local seq=$1 loc=$2
	check "the traffic used that SA: gwA still VPN $seq only, gwB one IKE SA" \
		eval 'es_sa_is "VPN $seq 198.19.1.0/24>$loc" && es_ike_is "VPN $seq" && [ "$(sw_ike_n)" = 1 ]' ||
		show_both
}
b_down() {
	local ike
	check "gwB: swanctl --terminate --ike $1" sw B --terminate --ike "$1" --timeout 20
	check "gwA drops its SAs, gwB has none" wait_for 15 eval 'es_none && sw_none' && return 0
	# whatever is left must not spoil the next case
	for ike in $(sw_list B | sed -n 's/^\([A-Za-z0-9_-]*\): #.*/\1/p' | sort -u); do
		sw B --terminate --ike "$ike" --timeout 10
	done
	cli "$GA" clear crypto ikev2 sa >>"$TMP/cli.out" 2>&1
	wait_for 15 eval 'es_none && sw_none' || info "SAs still left after $1"
}

info "== B.1 gwB initiates net3 (198.19.3.0/24) alone: VPN 20"
b_case net3 lab3 20 198.19.3.0/24
check "gwA answered TSi 198.19.3.0/24, TSr 198.19.1.0/24" \
	es_trace_has '->' IKE_AUTH response 'TSi\(198\.19\.3\.0-198\.19\.3\.255\) TSr\(198\.19\.1\.0-198\.19\.1\.255\) \]'
traffic_site3
b_same 20 198.19.3.0/24
b_down lab3

info "== B.2 gwB initiates net2 (198.19.2.0/24) in its own IKE SA: VPN 10"
b_case net2 lab2 10 198.19.2.0/24
traffic_site2
b_same 10 198.19.2.0/24
b_down lab2

info "== B.3 gwB initiates both32 (198.19.3.0/24 first, then 198.19.2.0/24): VPN 20, narrowed"
b_case both32 labx 20 198.19.3.0/24
check "gwB proposed TSi 198.19.3.0/24 first (esprit's trace)" \
	es_trace_has '<-' IKE_AUTH request 'TSi\(198\.19\.3\.0-198\.19\.3\.255, 198\.19\.2\.0-198\.19\.2\.255\)'
check_ping "$HA" "$HB3"
b_same 20 198.19.3.0/24
b_down labx

info "== B.4 control: both23 (198.19.2.0/24 first): VPN 10, narrowed"
b_case both23 laby 10 198.19.2.0/24
check "gwB proposed TSi 198.19.2.0/24 first (esprit's trace)" \
	es_trace_has '<-' IKE_AUTH request 'TSi\(198\.19\.2\.0-198\.19\.2\.255, 198\.19\.3\.0-198\.19\.3\.255\)'
check_ping "$HA" "$HB4"
b_same 10 198.19.2.0/24
b_down laby

info "== B.5 wide3 (198.19.3.0/24, 198.19.3.128-198.19.4.255): VPN 20, one selector"
b_case wide3 labw 20 198.19.3.0/24
check "gwB proposed both, the range not inside the /24 (esprit's trace)" \
	es_trace_has '<-' IKE_AUTH request 'TSi\(198\.19\.3\.0-198\.19\.3\.255, 198\.19\.3\.128-198\.19\.4\.255\)'
check "gwA answered one TSi, 198.19.3.0/24 (198.19.3.128-255 inside it left out), TSr 198.19.1.0/24" \
	es_trace_has '->' IKE_AUTH response 'TSi\(198\.19\.3\.0-198\.19\.3\.255\) TSr\(198\.19\.1\.0-198\.19\.1\.255\) \]'
check_ping "$HA" "$HB3"
b_same 20 198.19.3.0/24
b_down labw

# ==== C. strongSwan brings up both children on one IKE SA ======================

info "== C. gwB: connection labc with children net2 and net3; net2 in IKE_AUTH, then net3"
sw_file "$(sw_conn labc "$(sw_child net2 198.19.2.0/24; sw_child net3 198.19.3.0/24)")" >"$RUNDIR/B/swanctl-C.conf"
check "gwB loads connection labc alone (children net2, net3)" sw B --load-all --file "$RUNDIR/B/swanctl-C.conf"
# sw_ike_c: gwB's labc IKE SAs, "#n" each, space-separated.
sw_ike_c() { sw_list B | sed -n 's/^labc: \(#[0-9]*\), ESTABLISHED.*/\1/p' | sort | tr '\n' ' ' | sed 's/ $//'; }
# sw_in CHILD: gwB's inbound SPIs of that child.
sw_in() {
	sw_list B | awk -v c="$1" '
		/^  [A-Za-z0-9_-]+: #[0-9]+, reqid/ { cur = $1; sub(":", "", cur); next }
		/^[^ ]/ { cur = "" }
		cur == c && $1 == "in" { sub(",", "", $2); print $2 }' | sort | tr '\n' ' ' | sed 's/ $//'
}
mark
check "gwB: swanctl --initiate --ike labc --child net2 succeeds" \
	sw B --initiate --ike labc --child net2 --timeout 20
check "gwB: net2 INSTALLED as 198.19.2.0/24 === 198.19.1.0/24" \
	wait_for 10 eval 'sw_is net2 && [ "$(sw_ts net2)" = "198.19.2.0/24 === 198.19.1.0/24" ]'
check "gwA: one SA group, VPN 10, 198.19.1.0/24 > 198.19.2.0/24; its IKE SA is VPN 10" \
	wait_for 10 eval 'es_sa_is "VPN 10 198.19.1.0/24>198.19.2.0/24" && es_ike_is "VPN 10"'
ike0=$(sw_ike_c)
info "gwB IKE SA: labc $ike0"
mark
check "gwB: swanctl --initiate --ike labc --child net3 succeeds" \
	sw B --initiate --ike labc --child net3 --timeout 20
req=$(es_trace '<-' CREATE_CHILD_SA request)
info "gwB sent: $(echo "$req" | grep -o '\[ .* \]')"
info "gwA answered: $(es_trace '->' CREATE_CHILD_SA response | grep -o '\[ .* \]')"
check "net3 came as CREATE_CHILD_SA (new child, no REKEY_SA) on the existing IKE SA, no new IKE_SA_INIT" \
	eval '[ -n "$req" ] && ! echo "$req" | grep -q REKEY_SA && [ -z "$(es_traces "<-" IKE_SA_INIT request)" ] && [ -z "$(es_traces "<-" IKE_AUTH request)" ]'
check "gwB proposed TSi 198.19.3.0/24, TSr 198.19.1.0/24" \
	es_trace_has '<-' CREATE_CHILD_SA request 'TSi\(198\.19\.3\.0-198\.19\.3\.255\) TSr\(198\.19\.1\.0-198\.19\.1\.255\)'
check "gwA accepted it: TSi 198.19.3.0/24, TSr 198.19.1.0/24 in the response, no TS_UNACCEPTABLE" \
	eval 'es_trace_has "->" CREATE_CHILD_SA response "SA\(.*TSi\(198\.19\.3\.0-198\.19\.3\.255\) TSr\(198\.19\.1\.0-198\.19\.1\.255\) " && ! es_log | grep -q TS_UNACCEPTABLE'
es_log | grep -F "asks for the traffic of" | sed 's/^/#   gwA: /'
check "gwA's log: ikev2 VPN 10: the peer asks for the traffic of VPN 20: Child SA for that entry on this IKE SA" \
	eval 'es_log | grep -qF "ikev2 VPN 10: the peer asks for the traffic of VPN 20: Child SA for that entry on this IKE SA"'
check "gwB: net2 and net3 INSTALLED, on the same one IKE SA (labc $ike0)" \
	wait_for 10 eval 'sw_is "net2 net3" && [ "$(sw_ts net3)" = "198.19.3.0/24 === 198.19.1.0/24" ] && [ -n "$ike0" ] && [ "$(sw_ike_c)" = "$ike0" ] && [ "$(sw_ike_n)" = 1 ]'
check "gwA: the .3 child under VPN 20, the .2 child under VPN 10" \
	wait_for 10 es_sa_is "VPN 10 198.19.1.0/24>198.19.2.0/24
VPN 20 198.19.1.0/24>198.19.3.0/24"
check "gwA: one IKE SA, VPN 10" es_ike_is "VPN 10"
show_both
traffic_site2
traffic_site3
# a packet outside the children would have had esprit start another IKE
# SA for VPN 20 by an acquire (an esprit without the change got the .3
# pings through that way)
check "after the traffic: still one IKE SA each side (labc $ike0, VPN 10), the same two groups" \
	eval 'es_ike_is "VPN 10" && [ "$(sw_ike_c)" = "$ike0" ] && [ "$(sw_ike_n)" = 1 ] && es_sa_is "VPN 10 198.19.1.0/24>198.19.2.0/24
VPN 20 198.19.1.0/24>198.19.3.0/24"' || show_both

info "== C.2 gwB rekeys net3, the child of VPN 20 on VPN 10's IKE SA"
old_a=$(es_spis 198.19.3.0/24) old_b=$(sw_in net3) keep_a=$(es_spis 198.19.2.0/24)
mark
check "gwB: swanctl --rekey --ike labc --child net3" sw B --rekey --ike labc --child net3
check "gwB: net3 has a new inbound SPI (was $old_b), still INSTALLED with net2" \
	wait_for 10 eval 'nb=$(sw_in net3); [ -n "$nb" ] && [[ " $nb " != *" $old_b "* ]] && sw_is "net2 net3"'
check "gwA: the .3 child has a new inbound SPI (was $old_a), still under VPN 20" \
	wait_for 10 eval 'na=$(es_spis 198.19.3.0/24); [[ "$na" =~ ^20:[0-9a-f]{8}$ ]] && [ "$na" != "$old_a" ]'
check "gwA: the .2 child kept its SPI ($keep_a)" eval '[ "$(es_spis 198.19.2.0/24)" = "$keep_a" ]'
check "the rekey was a CREATE_CHILD_SA with REKEY_SA from gwB" \
	eval 'es_trace "<-" CREATE_CHILD_SA request | grep -q "N(REKEY_SA"'
check "gwA: groups VPN 10 > .2.0/24 and VPN 20 > .3.0/24, one IKE SA VPN 10; gwB the same IKE SA" \
	wait_for 10 eval 'es_sa_is "VPN 10 198.19.1.0/24>198.19.2.0/24
VPN 20 198.19.1.0/24>198.19.3.0/24" && es_ike_is "VPN 10" && [ "$(sw_ike_c)" = "$ike0" ] && [ "$(sw_ike_n)" = 1 ]'
check_ping "$HA" "$HB3"
check "ping hB 198.19.3.2 -> $HA4" ping_from "$HB" "$HB3" "$HA4"

info "== C.3 gwA removes entry 20 from its running config: net3 deleted, the IKE SA and net2 stay"
mark
check "gwA: printf 'no crypto map VPN 20' | esprit configure" \
	eval 'printf "no crypto map VPN 20\n" | cli "$GA" configure >>"$TMP/cli.out" 2>&1'
check "gwA: show crypto map lists VPN 10 only" eval '[ "$(cli "$GA" --json show crypto map | "$PY" -c "
import json, sys
print(\" \".join(\"%s-%s\" % (m[\"map\"], m[\"seq\"]) for m in json.load(sys.stdin)[\"crypto_maps\"]))")" = "VPN-10" ]'
check "gwA sent an INFORMATIONAL DELETE of ESP" \
	wait_for 10 eval 'es_traces "->" INFORMATIONAL request | grep -q "D(ESP"'
sw_log | grep -E "received DELETE|closing CHILD_SA" | sed 's/^[^>]*> */#   gwB: /'
check "charon processed the DELETE: received DELETE for ESP CHILD_SA, closing net3" \
	wait_for 10 eval 'sw_has "received DELETE for ESP CHILD_SA" && sw_has "closing CHILD_SA net3"'
check "gwB: net3 gone, net2 INSTALLED, the same IKE SA (labc $ike0)" \
	wait_for 10 eval 'sw_is net2 && [ "$(sw_ike_c)" = "$ike0" ] && [ "$(sw_ike_n)" = 1 ]'
check "gwA: one SA group, VPN 10 > 198.19.2.0/24" wait_for 10 es_sa_is "VPN 10 198.19.1.0/24>198.19.2.0/24"
check "gwA: its IKE SA (VPN 10's all along, no hand-over logged) goes on" \
	eval 'es_ike_is "VPN 10" && ! es_log | grep -q "removed; its IKE SA goes on"'
show_both
traffic_site2
check "gwB: swanctl --terminate --ike labc" sw B --terminate --ike labc --timeout 20
check "gwA drops its SAs, gwB has none" wait_for 15 eval 'es_none && sw_none'

stop_esprit "$GA"
info "$T_NAME: $SECONDS s"
finish
