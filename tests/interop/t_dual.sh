#!/bin/bash
# IPv4 and IPv6 in one child SA, esprit (gwA) <-> strongSwan (gwB) over an
# IPv4 WAN, AES-GCM-256/group 19. gwA is a tunnel interface with `tunnel
# mode ipsec dual-overlay` (it proposes 0.0.0.0/0 and ::/0 both ways);
# gwB's child is local_ts = 198.19.2.0/24,2001:db8:2::/64, remote_ts =
# 198.19.1.0/24,2001:db8:1::/64. esprit initiates (acquire) and must accept
# strongSwan's narrowing to the four prefixes (RFC 7296 section 2.9);
# strongSwan initiates and esprit, as responder, narrows its any/any to
# strongSwan's prefixes. Each time: both sides show one child with both
# families, pings and 5 MB TCP in IPv4 and in IPv6 both ways, no clear text
# on the WAN, DELETE from the initiator.
. "$(dirname "$0")/lib.sh"
iop_init
prop_set gcm
MODE=dual
iop_setup

# gwB's child has both families on each side.
sw_dual() { sw_list B | grep -q "local  198.19.2.0/24 2001:db8:2::/64" &&
	sw_list B | grep -q "remote 198.19.1.0/24 2001:db8:1::/64"; }
# gwA's one SA group carries the four narrowed prefixes (two selector pairs).
es_dual() {
	cli "$GA" --json show crypto ipsec sa | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
g = d["sas"]
ids = sorted((i["local"], i["remote"]) for i in g[0]["idents"]) if len(g) == 1 else []
sys.exit(ids != [("198.19.1.0/24", "198.19.2.0/24"), ("2001:db8:1::/64", "2001:db8:2::/64")])'
}
both_dual() {
	check "gwB (strongSwan): one child with 198.19.2.0/24 2001:db8:2::/64 === 198.19.1.0/24 2001:db8:1::/64" \
		wait_for 10 sw_dual
	check "gwA (esprit): one SA pair whose selectors are the IPv4 and the IPv6 site pair" es_dual
}

info "== gwA (esprit, dual-overlay) initiates; strongSwan narrows"
up_by gwa
both_dual
check_traffic
down_by gwa
info "== gwB (strongSwan) initiates; esprit narrows any/any to its prefixes"
up_by gwb
both_dual
check_traffic
down_by gwb
iop_teardown
finish
