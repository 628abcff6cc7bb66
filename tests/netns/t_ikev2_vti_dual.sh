#!/bin/bash
# IPv4 and IPv6 in one IKEv2 child SA: route-based tunnels with `tunnel
# mode ipsec dual-overlay` (examples/ikev2-vti-dual-gw{A,B}.cfg) over an
# IPv4 WAN. Tunnel102 has an IPv4 and an IPv6 address, `ip route` and
# `ipv6 route` send each site's prefix into it; the first (IPv6) packet
# starts IKE, and the one child SA negotiated carries the selector pairs
# 0.0.0.0/0 <-> 0.0.0.0/0 and ::/0 <-> ::/0 (RFC 7296 section 2.9, two TS
# each in TSi and TSr) on both gateways. Pings and SHA-256-checked TCP
# transfers in both families both ways go through that one SA pair
# (counters), the WAN carries only IPv4 ESP (no clear text of either
# family), and shutdown removes the device and its routes.
#
#   hostA 198.19.1.2 2001:db8:1::2 -- gwA (198.18.0.1) ==WAN== (198.18.0.2) gwB -- hostB 198.19.2.2 2001:db8:2::2
#              Tunnel102 198.19.255.5/30 2001:db8:fe::1/64 <== ESP ==> 198.19.255.6/30 2001:db8:fe::2/64
. "$(dirname "$0")/lib.sh"
lib_init
need_daemon
topo_up
capture_start "$GA" wan0 "$TMP/wan.pcap"
start_esprit "$GA" "$EX/ikev2-vti-dual-gwA.cfg" || bail "gwA did not start"
start_esprit "$GB" "$EX/ikev2-vti-dual-gwB.cfg" || bail "gwB did not start"

has_addr() { ip -n "$1" -o addr show dev Tunnel102 2>/dev/null | grep -q "inet6\? $2"; }
has_route() { ip -n "$1" "$2" route show "$3" 2>/dev/null | grep -q "dev Tunnel102"; }
check "gwA Tunnel102 has 198.19.255.5/30" has_addr "$GA" 198.19.255.5/30
check "gwA Tunnel102 has 2001:db8:fe::1/64" has_addr "$GA" 2001:db8:fe::1/64
check "gwB Tunnel102 has 2001:db8:fe::2/64" has_addr "$GB" 2001:db8:fe::2/64
check "gwA routes 198.19.2.0/24 into Tunnel102" has_route "$GA" -4 198.19.2.0/24
check "gwA routes 2001:db8:2::/64 into Tunnel102" has_route "$GA" -6 2001:db8:2::/64
check "gwB routes 2001:db8:1::/64 into Tunnel102" has_route "$GB" -6 2001:db8:1::/64

# The first IPv6 packet starts IKE (acquire on the tunnel) and is answered.
check "first ping6 hostA -> hostB through the tunnel is answered" \
	eval 'nsx "$HA" ping -6 -q -c 1 -W 5 "$HB6" >/dev/null 2>&1'
check "gwA's IKE SA is READY" wait_for 10 ike_ready "$GA"
check "gwB's IKE SA is READY" wait_for 10 ike_ready "$GB"

# one_child NS: one SA group, one inbound and one outbound ESP SA, whose
# selectors are any IPv4 and any IPv6; prints what differs.
one_child() {
	local f=$TMP/child-${1##*-}.json
	cli "$1" --json show crypto ipsec sa >"$f" || { echo "no JSON"; return 1; }
	"$PY" - "$f" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
sas, bad = d.get("sas", []), []
if len(sas) != 1:
    bad.append("%d SA groups" % len(sas))
for g in sas:
    ids = sorted((i["local"], i["remote"]) for i in g["idents"])
    if ids != [("0.0.0.0/0", "0.0.0.0/0"), ("::/0", "::/0")]:
        bad.append("idents %s" % ids)
    for dirn in ("inbound", "outbound"):
        esp = [s for s in g.get(dirn, []) if s["proto"] == "esp"]
        if len(esp) != 1 or esp[0]["mode"] != "tunnel":
            bad.append("%s: %s" % (dirn, [(s["proto"], s["mode"]) for s in g.get(dirn, [])]))
print("; ".join(bad))
PYEOF
}
for ns in "$GA" "$GB"; do
	r=$(one_child "$ns")
	check "${ns##*-}: one child SA pair, selectors 0.0.0.0/0 and ::/0 both ways${r:+ ($r)}" \
		eval '[ -z "$r" ]'
done
cli "$GA" show crypto ipsec sa | sed -n '1,12p' | sed 's/^/#   /'
check "gwA's show names the ipsec profile's transform set (esp-gcm 256)" \
	eval 'cli "$GA" show crypto ipsec sa | grep -q "transform: esp-gcm 256 ,"'

check_ping "$HA" "$HB4"
check_ping "$HB" "$HA4"
check_ping "$HA" "$HB6"
check_ping "$HB" "$HA6"
check "gwA pings gwB's tunnel address 2001:db8:fe::2" \
	eval 'nsx "$GA" ping -6 -q -c 2 -W 2 2001:db8:fe::2 >/dev/null'
check_transfer "$HA" "$HB" "$HB4" 2000000
check_transfer "$HA" "$HB" "$HB6" 2000000
check_transfer "$HB" "$HA" "$HA6" 1000000
ea=$(sa_get "$GA" 'sum_g("pkts_encaps")'); db=$(sa_get "$GB" 'sum_g("pkts_decaps")')
check "gwA encaps $ea > 0 and gwB decaps $db ~ it (both families, one SA)" \
	eval 'num_gt "$ea" 1000 && num_close "$ea" "$db"'
eb=$(sa_get "$GB" 'sum_g("pkts_encaps")'); da=$(sa_get "$GA" 'sum_g("pkts_decaps")')
check "gwB encaps $eb > 0 and gwA decaps $da ~ it" eval 'num_gt "$eb" 0 && num_close "$eb" "$da"'
dr=$(sa_get "$GB" 'drops_total()')
check "gwB dropped nothing ($dr)" eval '[ "$dr" = 0 ]'

capture_stop
esp=$(tshark_count "$TMP/wan.pcap" "ip.proto == 50")
clear6=$(tshark_count "$TMP/wan.pcap" "ipv6.addr == 2001:db8:1::2 or ipv6.addr == 2001:db8:2::2")
clear4=$(tshark_count "$TMP/wan.pcap" "ip.addr == 198.19.1.2 or ip.addr == 198.19.2.2")
check "the WAN carries IPv4 ESP ($esp frames)" num_gt "$esp" 1000
check "no clear-text IPv6 site traffic on the WAN ($clear6)" eval '[ "$clear6" = 0 ]'
check "no clear-text IPv4 site traffic on the WAN ($clear4)" eval '[ "$clear4" = 0 ]'

stop_esprit "$GA"
stop_esprit "$GB"
check "gwA: no Tunnel102 left" eval '! ip -n "$GA" -o link show dev Tunnel102 >/dev/null 2>&1'
check "gwA: no route to 2001:db8:2::/64 left" eval '[ -z "$(ip -n "$GA" -6 route show 2001:db8:2::/64)" ]'
finish
