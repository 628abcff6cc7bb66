#!/bin/bash
# One crypto map entry on gwA, two on gwB, several child SAs (RFC 7296 2.9):
#
#   hostA 198.19.1.2 -- gwA == WAN == gwB -- hostB 198.19.2.2 and 198.19.3.2
#
# gwA's ACL covers both of hostB's subnets: 198.19.1.0/24 -> 198.19.2.0/23.
# gwB has entry 10 for 198.19.2.0/24 and entry 20 for 198.19.3.0/24 (both
# with gwA as peer, one IKEv2 profile). Checked:
#   1. A ping to 198.19.3.2 starts IKE: gwA's IKE_AUTH proposes the ping's
#      selectors first (198.19.1.2 <-> 198.19.3.2, ICMP), and gwB picks
#      entry 20, whose ACL holds them, though entry 10 comes first: the
#      child is 198.19.1.0/24 <-> 198.19.3.0/24 on both sides, the ping is
#      answered.
#   2. A ping to 198.19.2.2 is outside that child: gwA's data plane finds
#      no SA whose selectors hold it and acquires; gwA asks for a second
#      child on the same IKE SA (CREATE_CHILD_SA, the ping's selectors
#      first) and gwB gives it to entry 10. Both pings pass, each side has
#      one IKE SA and two child SAs, gwB shows one under each entry, and
#      gwA's packets to each subnet leave on the SA for it (counters).
#   3. TCP to both of hostB's addresses, SHA-256 checked.
#   4. `rekey crypto ipsec sa` on gwA: both children get new SPIs, each
#      keeps its entry at gwB; pings pass.
#   5. Entry 20, whose IKE SA carries both children at gwB, removed from
#      gwB's running configuration (`configure`): the IKE SA goes on as
#      entry 10's (logged), gwB deletes entry 20's child with a DELETE, the
#      other child stays; pings to 198.19.2.2 still pass.
#   6. No drops other than the acquires' on either side (checked last).
#   7. `set security-association level per-host` added to gwA's entry
#      live, its IKE SA cleared: pings to 198.19.2.2 and 198.19.2.3 each get
#      their own child (198.19.1.2/32 <-> that host), both under gwB's
#      entry 10 on one IKE SA; TCP.
#   8. gwB initiates (per-host off again, entry 20 back by `configure`,
#      the IKE SAs cleared): a ping from hostB's 198.19.2.2 starts entry
#      10's IKE SA; one from 198.19.3.2 gets entry 20's child on that IKE
#      SA with a CREATE_CHILD_SA (logged), one IKE SA on each side, gwB
#      shows a child under each entry; TCP from hostB. Cleared again,
#      pings from both addresses at once: one IKE SA, a child each.
# (Phase 6 runs last.)
. "$(dirname "$0")/lib.sh"
lib_init
need_daemon
topo_up

HB4_3=198.19.3.2
ip -n "$GB" addr add 198.19.3.1/24 dev lan0 || bail "gwB 198.19.3.1"
ip -n "$HB" addr add $HB4_3/24 dev lan0 || bail "hostB $HB4_3"

CA=$TMP/children-gwA.cfg CB=$TMP/children-gwB.cfg
sed 's/^ permit ip 198.19.1.0 0.0.0.255 198.19.2.0 0.0.0.255$/ permit ip 198.19.1.0 0.0.0.255 198.19.2.0 0.0.1.255/' \
	"$EX/ikev2-map-gwA.cfg" >"$CA"
check "gwA's ACL covers 198.19.2.0/23" grep -q "198.19.2.0 0.0.1.255" "$CA"
"$PY" - "$EX/ikev2-map-gwB.cfg" "$CB" <<'EOF' || bail "gwB config"
import sys
s = open(sys.argv[1]).read()
acl = "ip access-list extended VPN-TRAFFIC\n permit ip 198.19.2.0 0.0.0.255 198.19.1.0 0.0.0.255\n!\n"
assert acl in s
s = s.replace(acl, acl + "ip access-list extended VPN-TRAFFIC-3\n"
              " permit ip 198.19.3.0 0.0.0.255 198.19.1.0 0.0.0.255\n!\n")
i = s.index("crypto map VPN 10 ipsec-isakmp")
j = s.index("!\n", i) + 2
entry = s[i:j].replace("VPN 10", "VPN 20").replace("VPN-TRAFFIC", "VPN-TRAFFIC-3")
s = s[:j] + entry + s[j:]
open(sys.argv[2], "w").write(s)
EOF
check "gwB has entries 10 and 20" eval 'grep -q "^crypto map VPN 20 ipsec-isakmp" "$CB" && grep -q "match address VPN-TRAFFIC-3" "$CB"'

# groups NS PYEXPR: over gs = the SA groups of show crypto ipsec sa that
# hold SAs.
groups() {
	cli "$1" --json show crypto ipsec sa >"$TMP/groups.json" 2>/dev/null || { echo ERR; return 1; }
	"$PY" - "$TMP/groups.json" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
gs = [g for g in d.get("sas", []) if g.get("inbound") or g.get("outbound")]
def sel(g):
    return g["local_ident"] + " " + g["remote_ident"]
def spis(g):
    return sorted(s["spi"] for s in g.get("inbound", []))
def encaps(remote):
    return sum(s["packets"] for g in gs if g["remote_ident"] == remote for s in g.get("outbound", []))
print(eval(sys.argv[2]))
EOF
}
ike_n() { ike_json "$1" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["ike_sas"]))'; }
log_has() { grep -E -q -- "$2" "${DAEMON_LOG[$1]}"; }

start_esprit "$GA" "$CA" || bail "gwA"
start_esprit "$GB" "$CB" || bail "gwB"
cli "$GA" debug crypto ikev2 >/dev/null

info "== 1: the first packet's selectors choose gwB's entry"
check "a ping to $HB4_3 is answered (the acquire starts IKE)" \
	eval 'nsx "$HA" ping -n -q -c 3 -i 0.3 -W 3 "$HB4_3" >/dev/null'
check "gwA proposed the ping's selectors first" \
	log_has "$GA" "IKE_AUTH request 1 .*TSi\(198\.19\.1\.2-198\.19\.1\.2 proto 1, 198\.19\.1\.0-198\.19\.1\.255\) TSr\(198\.19\.3\.2-198\.19\.3\.2 proto 1, 198\.19\.2\.0-198\.19\.3\.255\)"
check "gwB chose entry 20 (its ACL holds them)" \
	eval '[ "$(groups "$GB" "[(g[\"seq\"], sel(g)) for g in gs]")" = "[(20, '"'198.19.3.0/24 198.19.1.0/24'"')]" ]'
check "gwA's child is 198.19.1.0/24 <-> 198.19.3.0/24" \
	eval '[ "$(groups "$GA" "[sel(g) for g in gs]")" = "['"'198.19.1.0/24 198.19.3.0/24'"']" ]'

info "== 2: a packet outside the child asks for another one"
check "a ping to $HB4 is answered (a second child)" \
	eval 'nsx "$HA" ping -n -q -c 3 -i 0.3 -W 3 "$HB4" >/dev/null'
check "gwA sent CREATE_CHILD_SA with the ping's selectors first" \
	log_has "$GA" "CREATE_CHILD_SA request 2 .*TSi\(198\.19\.1\.2-198\.19\.1\.2 proto 1, 198\.19\.1\.0-198\.19\.1\.255\) TSr\(198\.19\.2\.2-198\.19\.2\.2 proto 1, 198\.19\.2\.0-198\.19\.3\.255\)"
check "gwB logged the child for entry 10 on the IKE SA of entry 20" \
	log_has "$GB" "ikev2 VPN 20: the peer asks for the traffic of VPN 10"
check "one IKE SA on each side" eval '[ "$(ike_n "$GA")" = 1 ] && [ "$(ike_n "$GB")" = 1 ]'
check "gwB: one child under each entry" \
	eval '[ "$(groups "$GB" "sorted((g[\"seq\"], sel(g)) for g in gs)")" = "[(10, '"'198.19.2.0/24 198.19.1.0/24'"'), (20, '"'198.19.3.0/24 198.19.1.0/24'"')]" ]'
check "gwA: two children of its one entry" \
	eval '[ "$(groups "$GA" "sorted(sel(g) for g in gs)")" = "['"'198.19.1.0/24 198.19.2.0/24', '198.19.1.0/24 198.19.3.0/24'"']" ]'
a2=$(groups "$GA" 'encaps("198.19.2.0/24")') a3=$(groups "$GA" 'encaps("198.19.3.0/24")')
nsx "$HA" ping -n -q -c 10 -i 0.1 -W 2 "$HB4_3" >/dev/null
check "10 pings to $HB4_3 left on the 198.19.3.0/24 SA only ($a3 -> $(groups "$GA" 'encaps("198.19.3.0/24")'), $a2 -> $(groups "$GA" 'encaps("198.19.2.0/24")'))" \
	eval '[ "$(groups "$GA" "encaps(\"198.19.3.0/24\")")" = $((a3 + 10)) ] && [ "$(groups "$GA" "encaps(\"198.19.2.0/24\")")" = "$a2" ]'
check_ping "$HB" "$HA4"

info "== 3: TCP to both"
check_transfer "$HA" "$HB" "$HB4" 2000000 random
check_transfer "$HA" "$HB" "$HB4_3" 2000000 random

info "== 4: rekey of both children"
spa=$(groups "$GA" 'sorted(x for g in gs for x in spis(g))')
check "rekey crypto ipsec sa on gwA" cli "$GA" rekey crypto ipsec sa
check "both children have new SPIs on gwA" \
	wait_for 15 eval '"$PY" -c "import sys; a=$spa; b=$(groups "$GA" "sorted(x for g in gs for x in spis(g))"); sys.exit(not (len(b) == 2 and not set(a) & set(b)))"'
check "gwB still has one child under each entry" \
	wait_for 10 eval '[ "$(groups "$GB" "sorted(g[\"seq\"] for g in gs)")" = "[10, 20]" ]'
check_ping "$HA" "$HB4"
check_ping "$HA" "$HB4_3"

info "== 5: entry 20 removed from gwB"
check "no crypto map VPN 20 on gwB" \
	eval 'printf "no crypto map VPN 20\n" | cli "$GB" configure >/dev/null'
check "gwA deleted the 198.19.3.0/24 child (gwB's DELETE)" \
	wait_for 10 eval '[ "$(groups "$GA" "[sel(g) for g in gs]")" = "['"'198.19.1.0/24 198.19.2.0/24'"']" ]'
check "gwB's IKE SA goes on as entry 10's (log)" \
	log_has "$GB" "ikev2 VPN 20: removed; its IKE SA goes on for VPN 10, whose children it carries"
check "gwB keeps the IKE SA and entry 10's child" \
	eval '[ "$(ike_n "$GB")" = 1 ] && [ "$(groups "$GB" "[g[\"seq\"] for g in gs]")" = "[10]" ]'
check_ping "$HA" "$HB4"

info "== 7: per-host on gwA"
# IOS `set security-association level per-host`: a child per host pair
# (the packet's addresses, the ACL line's protocol and ports).
ip -n "$HB" addr add 198.19.2.3/24 dev lan0 || bail "hostB 198.19.2.3"
check "set security-association level per-host on gwA (configure)" \
	eval 'printf "crypto map VPN 10\n set security-association level per-host\n" | cli "$GA" configure >/dev/null'
check "the running config has it" \
	eval 'cli "$GA" show running-config | grep -q "^ set security-association level per-host$"'
cli "$GA" clear crypto ikev2 sa >/dev/null
wait_for 10 eval '[ "$(ike_n "$GA")" = 0 ]'
for h in $HB4 198.19.2.3; do
	check "a ping to $h is answered" eval 'nsx "$HA" ping -n -q -c 3 -i 0.3 -W 3 "$h" >/dev/null'
done
check "gwA: one child per host pair" \
	eval '[ "$(groups "$GA" "sorted(sel(g) for g in gs)")" = "['"'198.19.1.2/32 198.19.2.2/32', '198.19.1.2/32 198.19.2.3/32'"']" ]'
check "gwB: both under entry 10, one IKE SA" \
	eval '[ "$(groups "$GB" "sorted((g[\"seq\"], sel(g)) for g in gs)")" = "[(10, '"'198.19.2.2/32 198.19.1.2/32'"'), (10, '"'198.19.2.3/32 198.19.1.2/32'"')]" ] && [ "$(ike_n "$GB")" = 1 ]'
check_transfer "$HA" "$HB" 198.19.2.3 1000000 random

info "== 8: gwB initiates for both its entries: one IKE SA"
# IOS keeps one IKE SA per peer for all the crypto map entries naming it:
# entry 20's packet finds entry 10's IKE SA up and gets its child there
# (CREATE_CHILD_SA), not a second IKE SA.
check "gwA back to one child for its whole ACL (no per-host, configure)" \
	eval 'printf "crypto map VPN 10\n no set security-association level per-host\n" | cli "$GA" configure >/dev/null'
"$PY" - "$CB" "$TMP/entry20.txt" <<'EOF' || bail "entry 20's lines"
import sys
s = open(sys.argv[1]).read()
i = s.index("crypto map VPN 20 ipsec-isakmp")
open(sys.argv[2], "w").write(s[i:s.index("!\n", i)])
EOF
check "entry 20 back on gwB (configure)" eval 'cli "$GB" configure <"$TMP/entry20.txt" >/dev/null'
cli "$GB" clear crypto ikev2 sa >/dev/null
check "no IKE SA left" wait_for 10 eval '[ "$(ike_n "$GA")" = 0 ] && [ "$(ike_n "$GB")" = 0 ]'
check "a ping from hostB $HB4 to hostA is answered (gwB starts entry 10)" \
	eval 'nsx "$HB" ping -n -q -c 3 -i 0.3 -W 3 -I "$HB4" "$HA4" >/dev/null'
check "a ping from hostB $HB4_3 to hostA is answered (entry 20)" \
	eval 'nsx "$HB" ping -n -q -c 3 -i 0.3 -W 3 -I "$HB4_3" "$HA4" >/dev/null'
check "gwB asked for entry 20's child on entry 10's IKE SA (log)" \
	log_has "$GB" "ikev2 VPN 20: a Child SA on the IKE SA of VPN 10 \(the same peer\)"
check "one IKE SA on each side" eval '[ "$(ike_n "$GA")" = 1 ] && [ "$(ike_n "$GB")" = 1 ]'
check "gwB: one child under each entry" \
	eval '[ "$(groups "$GB" "sorted((g[\"seq\"], sel(g)) for g in gs)")" = "[(10, '"'198.19.2.0/24 198.19.1.0/24'"'), (20, '"'198.19.3.0/24 198.19.1.0/24'"')]" ]'
check_transfer "$HB" "$HA" "$HA4" 1000000 random
# Both entries' packets at once (a gateway starting): the second entry's
# acquire waits for the first one's IKE SA, then gets its child on it.
cli "$GB" clear crypto ikev2 sa >/dev/null
check "no IKE SA left" wait_for 10 eval '[ "$(ike_n "$GA")" = 0 ] && [ "$(ike_n "$GB")" = 0 ]'
nsx "$HB" ping -n -q -c 3 -i 0.3 -W 3 -I "$HB4" "$HA4" >"$TMP/p8a.txt" 2>&1 &
p8=$!
nsx "$HB" ping -n -q -c 3 -i 0.3 -W 3 -I "$HB4_3" "$HA4" >"$TMP/p8b.txt" 2>&1
wait "$p8"
check "pings from both of hostB's addresses at once are answered" \
	eval 'grep -q " 0% packet loss\| [12] received" "$TMP/p8a.txt" && grep -q " 0% packet loss\| [12] received" "$TMP/p8b.txt"'
check "one IKE SA on each side for the two entries" eval '[ "$(ike_n "$GA")" = 1 ] && [ "$(ike_n "$GB")" = 1 ]'
check "gwB: one child under each entry" \
	wait_for 5 eval '[ "$(groups "$GB" "sorted(g[\"seq\"] for g in gs)")" = "[10, 20]" ]'

info "== 6: drops"
xa=$(sa_get "$GA" 'drops_total() - drop("no-outbound-sa")')
xb=$(sa_get "$GB" 'drops_total() - drop("no-outbound-sa")')
check "no drops other than the acquires' (gwA $xa, gwB $xb)" eval 'num_eq "$xa" 0 && num_eq "$xb" 0'
stop_esprit "$GA"
stop_esprit "$GB"
finish
