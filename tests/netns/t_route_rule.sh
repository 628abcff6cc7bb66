#!/bin/bash
# Where the protected prefixes are routed (src/dataplane/route.c):
# - no prefix covers a peer: in the main table, no policy rule (every
#   routing lookup of the gateway stays the kernel's fast one);
# - `configure` adds an ACL line whose destination covers the peer: the
#   routes move, live, to table 220 behind "not fwmark 0x5e5e lookup 220",
#   show crypto engine says why, and the tunnel keeps carrying ESP (the
#   ESP to the peer is not routed into the tunnel; the SAs reinstalled for
#   the new selector go on from their sequence numbers, so the unchanged
#   peer accepts them);
# - the operator's own route for a protected prefix in the main table is
#   never replaced: esprit puts the rule in instead, and the operator's
#   route is still there after esprit stops;
# - transport mode (the prefix is the peer): the rule from the start.
. "$(dirname "$0")/lib.sh"
lib_init
need_daemon
topo_up

rule_in() { ip -n "$1" rule show | grep -q "not from all fwmark 0x5e5e lookup 220"; }
no_rule() { ! ip -n "$1" rule show | grep -q "fwmark 0x5e5e"; }
route_main() { ip -n "$1" route show table main | grep -q "^$2 dev ipsec0"; }
route_220() { ip -n "$1" route show table 220 | grep -q "^$2 dev ipsec0"; }
eng_get() { # NS PYEXPR over d = show crypto engine's JSON
	cli "$1" --json show crypto engine >"$TMP/engine.json" && json_eval "$TMP/engine.json" "$2"
}
encaps() { sa_get "$1" 'sum_g("pkts_encaps")'; }

info "== no prefix covers the peer: main table, no rule"
start_esprit "$GA" "$EX/manual-esp-gcm-gwA.cfg" || bail "gwA"
start_esprit "$GB" "$EX/manual-esp-gcm-gwB.cfg" || bail "gwB"
check_ping "$HA" "$HB4"
check "gwA: no policy rule" no_rule "$GA"
check "gwA: 198.19.2.0/24 dev ipsec0 in the main table" route_main "$GA" 198.19.2.0/24
check "gwA: table 220 is empty" [ -z "$(ip -n "$GA" route show table 220)" ]
text=$(cli "$GA" show crypto engine)
check "show crypto engine: prefixes in the main table" \
	grep -q "protected prefixes in the main table (no policy rule)" <<<"$text"
check "JSON route_rule is false, route_table 254" \
	eval '[ "$(eng_get "$GA" "d[\"route_rule\"]")" = False ] &&
	      [ "$(eng_get "$GA" "d[\"route_table\"]")" = 254 ]'

info "== configure: an ACL line whose destination covers the peer"
e0=$(encaps "$GA")
printf 'access-list 101 permit ip 198.19.1.0 0.0.0.255 198.18.0.0 0.0.0.255\n' |
	cli "$GA" configure >"$TMP/conf.out" 2>&1
check "configure accepted" not_grep "%" "$TMP/conf.out"
check "gwA: the rule is in" rule_in "$GA"
check "gwA: both prefixes in table 220" \
	eval 'route_220 "$GA" 198.19.2.0/24 && route_220 "$GA" 198.18.0.0/24'
check "gwA: none left in the main table" \
	eval '! ip -n "$GA" route show table main | grep -q "dev ipsec0"'
text=$(cli "$GA" show crypto engine)
echo "$text" | grep fwmark | sed 's/^/#   /'
check "show crypto engine names the peer and the prefix" \
	grep -q 'behind the rule "not fwmark 0x5e5e" (protected prefix 198.18.0.0/24 covers peer 198.18.0.2)' <<<"$text"
check "JSON route_rule is true, route_table 220" \
	eval '[ "$(eng_get "$GA" "d[\"route_rule\"]")" = True ] &&
	      [ "$(eng_get "$GA" "d[\"route_table\"]")" = 220 ]'
check "the log says why" grep -q "route: protected prefixes moved to table 220" "${DAEMON_LOG[$GA]}"
# The ACL line changed the SAs' selectors, so gwA reinstalled them; with
# the same SPIs and keys they go on from their sequence numbers (RFC 4303
# 3.3.3): gwB's unchanged inbound SA takes the next packets (from 1 again,
# it dropped them all as replays).
check "gwA's reinstalled SAs go on from their sequence numbers" \
	grep -q "outbound SA with SPI 0x1001 reinstalled with the same keys: goes on from sequence number [1-9]" \
	"${DAEMON_LOG[$GA]}"
capture_start "$GA" wan0 "$TMP/wan.pcap" 40 || bail "dumpcap on gwA wan0"
check_ping "$HA" "$HB4"
check_transfer "$HA" "$HB" "$HB4" 2000000 random
capture_stop
n=$(tshark_count "$TMP/wan.pcap" esp)
check "the WAN still carries ESP ($n frames)" num_gt "$n" 100
check "gwA's outbound SA kept sealing ($e0 -> $(encaps "$GA"))" num_gt "$(encaps "$GA")" $((e0 + 100))
stop_esprit "$GA"
stop_esprit "$GB"

info "== the operator's route for a protected prefix is kept"
ip -n "$GA" route add blackhole 198.19.2.0/24
start_esprit "$GA" "$EX/manual-esp-gcm-gwA.cfg" || bail "gwA"
start_esprit "$GB" "$EX/manual-esp-gcm-gwB.cfg" || bail "gwB"
check "gwA: the rule is in" rule_in "$GA"
check "gwA: 198.19.2.0/24 in table 220" route_220 "$GA" 198.19.2.0/24
check "show crypto engine says the main table already routes it" \
	grep -q "(the main table already routes 198.19.2.0/24)" <<<"$(cli "$GA" show crypto engine)"
check_ping "$HA" "$HB4"
stop_esprit "$GA"
check "the operator's blackhole route is still there" \
	eval 'ip -n "$GA" route show table main | grep -q "^blackhole 198.19.2.0/24"'
ip -n "$GA" route del blackhole 198.19.2.0/24
stop_esprit "$GB"

info "== transport mode: the protected prefix is the peer"
start_esprit "$GA" "$EX/manual-transport-gwA.cfg" || bail "gwA"
start_esprit "$GB" "$EX/manual-transport-gwB.cfg" || bail "gwB"
check "gwA: the rule is in from the start" rule_in "$GA"
check "show crypto engine names the peer" \
	grep -q "(protected prefix 198.18.0.2/32 covers peer 198.18.0.2)" \
	<<<"$(cli "$GA" show crypto engine)"
check_ping "$GA" "$GB4"
stop_esprit "$GA"
stop_esprit "$GB"
finish
