#!/bin/bash
# Driver for the IKEv2 child-SA mode scenarios (tests/netns/t_ikev2_mode_*.sh):
# two espritd gateways negotiate one child SA with IKEv2 (PSK) from
# configurations generated per mode out of examples/ikev2-map-gw{A,B}.cfg
# (IKE proposal, transform set and mode, access list, PFS group, outer
# address family are replaced; the rest is the example). Then:
#   - traffic from the protected side starts IKE (acquire); both IKE SAs
#     are READY, and `show crypto ikev2 sa` shows the configured IKE
#     encryption, key size, PRF, integrity and DH group;
#   - `show crypto ipsec sa` (JSON) on both gateways shows the child SA as
#     negotiated and installed, not as configured: protocol (ESP/AH),
#     encryption and key size, integrity, ESN, mode, and an IPComp SA pair
#     with a negotiated CPI (RFC 3173: 256..61439) when the mode has one;
#     the selectors (one ident per ACL line);
#   - the IKE_AUTH request and response in gwA's `debug crypto ikev2`
#     trace carry the offer/choice and the USE_TRANSPORT_MODE /
#     IPCOMP_SUPPORTED notifies the mode needs (and not the others);
#   - ping both ways, TCP transfers both ways whose SHA-256 matches;
#   - a capture on the WAN shows the mode's protocol (ESP 50 / AH 51),
#     no clear-text site traffic (outside AH, which does not encrypt), and
#     for IPComp fewer ESP bytes than payload bytes (compressed inside ESP);
#   - encaps on one side ~ decaps on the other, no drops except the
#     acquire's no-outbound-sa;
#   - an operator child rekey (`rekey crypto ipsec sa`, unless M_REKEY=0):
#     CREATE_CHILD_SA carries the PFS group in its SA and a KE payload of
#     that group both ways (no KE without `set pfs`), new SPIs replace the
#     old ones on both sides with the same negotiated parameters, and
#     traffic (and compression) still flows, counters still agree;
#   - both daemons stop cleanly (no sanitizer report, nothing left).
# A mode IKEv2 cannot negotiate (X_REFUSED, e.g. an AH+ESP bundle) must
# instead be refused by `espritd -t` and at start, at the line that names
# the transform set.
#
#   hostA (198.19.1.2) -- (198.19.1.1) gwA (198.18.0.1) ==WAN== (198.18.0.2) gwB (198.19.2.1) -- hostB (198.19.2.2)
#   IPv6: 2001:db8:1::2 -- gwA (2001:db8:ff::1) ==WAN== (2001:db8:ff::2) gwB -- 2001:db8:2::2
#   M_SEL=two adds 198.19.11.2 (hostA) / 198.19.12.2 (hostB), reached through
#   the same gateways and a second ACL line.
#
# A t_ikev2_mode_*.sh sets these, then calls ikev2_mode_scenario:
#   M_IKE_ENC M_IKE_INTEG M_IKE_PRF M_IKE_GROUP   IKE proposal lines ("" = no line)
#   M_TS M_MODE                                   transform set words, mode
#   M_PFS                                         "groupN" or "" (no set pfs)
#   M_FAMILY 4|6                                  inner and outer family
#   M_SEL sites|gateways|two                      ACL: the two LANs, the two
#                                                 gateways (transport), or two lines
#   expectations:
#   X_IKE "encryption keysize prf integrity group" as show crypto ikev2 sa names them
#   X_PROTO esp|ah, X_ENCR (e.g. aes-cbc; ESP only), X_BITS, X_INTEG (or none),
#   X_ESN true|false, X_COMP 0|1, X_MODE tunnel|transport
#   X_SA   the child SA as gwA's trace prints it in the IKE_AUTH response
#   X_WARN regexes, one a line, gwA's log must match (weak-algorithm warnings)
#   M_REKEY 0: no operator child rekey (default 1)
#   X_REFUSED the configuration must be refused with this message (nothing runs)
#   Defaults: the example's (IKE aes-gcm-256/sha384/group 19, esp-gcm 256,
#   tunnel, pfs group19, IPv4 sites); 2 MB from the protected side, 1 MB back.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# gen_cfg A|B OUT: the example for that side with the mode's parts replaced.
gen_cfg() {
	local side=$1 out=$2
	M_SIDE=$side "$PY" - "$EX/ikev2-map-gw$side.cfg" "$out" <<'EOF'
import os, re, sys
src, out = sys.argv[1], sys.argv[2]
e = os.environ
side = e["M_SIDE"]
v6 = e["M_FAMILY"] == "6"
me, peer = ("198.18.0.1", "198.18.0.2") if side == "A" else ("198.18.0.2", "198.18.0.1")
me6, peer6 = ("2001:db8:ff::1", "2001:db8:ff::2") if side == "A" else ("2001:db8:ff::2", "2001:db8:ff::1")
lines = open(src).read().split("\n")
res = []
skip_acl = False
for l in lines:
    if skip_acl:
        if l.startswith(" permit"):
            continue
        skip_acl = False
    if l.startswith(" encryption "):
        res.append(" encryption " + e["M_IKE_ENC"])
        if e["M_IKE_INTEG"]:
            res.append(" integrity " + e["M_IKE_INTEG"])
        continue
    if l.startswith(" prf "):
        if e["M_IKE_PRF"]:
            res.append(" prf " + e["M_IKE_PRF"])
        continue
    if l.startswith(" group "):
        res.append(" group " + e["M_IKE_GROUP"])
        continue
    if l.startswith("crypto ipsec transform-set TS "):
        res.append("crypto ipsec transform-set TS " + e["M_TS"])
        continue
    if l == " mode tunnel":
        res.append(" mode " + e["M_MODE"])
        continue
    if l.startswith(" set pfs "):
        if e["M_PFS"]:
            res.append(" set pfs " + e["M_PFS"])
        continue
    if l == "ip access-list extended VPN-TRAFFIC":
        skip_acl = True
        l1, l2 = ("1", "2") if side == "A" else ("2", "1")
        sel = e["M_SEL"]
        if v6:
            res.append("ipv6 access-list VPN-TRAFFIC")
            if sel == "gateways":
                res.append(" permit ipv6 host %s host %s" % (me6, peer6))
            else:
                res.append(" permit ipv6 2001:db8:%s::/64 2001:db8:%s::/64" % (l1, l2))
        else:
            res.append(l)
            if sel == "gateways":
                res.append(" permit ip host %s host %s" % (me, peer))
            else:
                res.append(" permit ip 198.19.%s.0 0.0.0.255 198.19.%s.0 0.0.0.255" % (l1, l2))
            if sel == "two":
                res.append(" permit ip 198.19.1%s.0 0.0.0.255 198.19.1%s.0 0.0.0.255" % (l1, l2))
        continue
    if v6:
        # the outer family: IKE and the SAs between the v6 WAN addresses
        l = l.replace("match address local " + me, "match address local " + me6)
        l = l.replace("address " + peer + " 255.255.255.255", "address " + peer6 + "/128")
        l = l.replace("  address " + peer, "  address " + peer6 + "/128")
        l = l.replace("identity address " + peer, "identity address " + peer6)
        l = l.replace("identity local address " + me, "identity local address " + me6)
        l = l.replace("set peer " + peer, "set peer " + peer6)
        # dual stack: the interfaces keep their IPv4 address
        l = re.sub(r"^( ip address 198\.18\.0\.\d+ 255\.255\.255\.0)$", r"\1\n ipv6 address %s/64" % me6, l)
        l = re.sub(r"^( ip address 198\.19\.(\d)\.1 255\.255\.255\.0)$", r"\1\n ipv6 address 2001:db8:\2::1/64", l)
    res.append(l)
open(out, "w").write("\n".join(res))
EOF
}

wait_for() { # SECONDS CMD...: bounded by the clock, not a number of tries
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.2
	done
}

# ike_desc NS: "encryption keysize prf integrity group" of the first IKE SA.
ike_desc() {
	ike_json "$1" | "$PY" -c 'import json,sys; s=json.load(sys.stdin)["ike_sas"][0]; print(s["encryption"], s["keysize"], s["prf"], s["integrity"], s["dh_group"])'
}

# child_check NS: the installed child SAs against the X_* expectations;
# prints what differs (nothing when all is as expected).
child_check() {
	local f=$TMP/child-${1##*-}.json
	cli "$1" --json show crypto ipsec sa >"$f" || { echo "no JSON"; return 1; }
	X_NSEL=$( [ "$M_SEL" = two ] && echo 2 || echo 1) "$PY" - "$f" <<'EOF'
import json, os, sys
d = json.load(open(sys.argv[1]))
e = os.environ
bad = []
sas = d.get("sas", [])
if len(sas) != 1:
    bad.append("%d SA groups" % len(sas))
for g in sas:
    if len(g["idents"]) != int(e["X_NSEL"]):
        bad.append("%d idents, want %s" % (len(g["idents"]), e["X_NSEL"]))
    for dirn in ("inbound", "outbound"):
        lst = g.get(dirn, [])
        main = [s for s in lst if s["proto"] == e["X_PROTO"]]
        comp = [s for s in lst if s["proto"] not in ("esp", "ah")]
        other = [s for s in lst if s["proto"] in ("esp", "ah") and s["proto"] != e["X_PROTO"]]
        if len(main) != 1:
            bad.append("%s: %d %s SAs" % (dirn, len(main), e["X_PROTO"]))
        if other:
            bad.append("%s: unexpected %s SA" % (dirn, other[0]["proto"]))
        for s in main:
            want = {"mode": e["X_MODE"], "integrity": e["X_INTEG"], "esn": e["X_ESN"] == "true",
                    "status": "ACTIVE"}
            if e["X_PROTO"] == "esp":
                want["encryption"] = e["X_ENCR"]
                want["key_bits"] = int(e["X_BITS"])
            for k, v in want.items():
                if s.get(k) != v:
                    bad.append("%s %s: %s=%r, want %r" % (dirn, s["proto"], k, s.get(k), v))
        if e["X_COMP"] == "1":
            if len(comp) != 1:
                bad.append("%s: %d IPComp SAs" % (dirn, len(comp)))
            for s in comp:
                if not 256 <= int(s["spi"]) <= 61439:
                    bad.append("%s IPComp CPI %s outside 256..61439" % (dirn, s["spi"]))
        elif comp:
            bad.append("%s: unexpected IPComp SA" % dirn)
print("; ".join(bad))
sys.exit(1 if bad else 0)
EOF
}

# spis NS: the child SA's SPIs (inbound outbound) of the mode's protocol.
spis() {
	cli "$1" --json show crypto ipsec sa | X_PROTO=$X_PROTO "$PY" -c '
import json, os, sys
d = json.load(sys.stdin); p = os.environ["X_PROTO"]
print(" ".join(str(s["spi"]) for g in d["sas"] for k in ("inbound", "outbound") for s in g[k] if s["proto"] == p))'
}

# trace_line EXCH DIR: gwA's trace of its EXCH request (DIR=->) or of
# gwB's response (DIR=<-); the last one.
trace_line() {
	grep -F "ikev2 trace VPN 10: $2 $WAN_B[500] $1 " "${DAEMON_LOG[$GA]}" | tail -n 1
}

# check_counters WHEN: encaps on one side ~ decaps on the other, no drops
# but the acquire's.
check_counters() {
	local ea da eb db xa xb fa=$TMP/cnt-gA.json fb=$TMP/cnt-gB.json
	local e='sum_g("pkts_encaps"), sum_g("pkts_decaps"), drops_total() - drop("no-outbound-sa")'
	sa_snapshot "$GA" "$fa"
	sa_snapshot "$GB" "$fb"
	read -r ea da xa < <(json_eval "$fa" "' '.join(map(str, ($e)))")
	read -r eb db xb < <(json_eval "$fb" "' '.join(map(str, ($e)))")
	check "$1: gwA encaps $ea > 0 and gwB decaps $db ~ it" eval 'num_gt "$ea" 0 && num_close "$ea" "$db"'
	check "$1: gwB encaps $eb > 0 and gwA decaps $da ~ it" eval 'num_gt "$eb" 0 && num_close "$eb" "$da"'
	check "$1: no drops other than the acquire's (gwA $xa, gwB $xb)" eval 'num_eq "$xa" 0 && num_eq "$xb" 0'
	if [ "$X_COMP" = 1 ]; then
		read -r ea < <(json_eval "$fa" 'sum_g("pkts_compressed")')
		read -r db < <(json_eval "$fb" 'sum_g("pkts_decompressed")')
		check "$1: IPComp: gwA compressed $ea packets, gwB decompressed $db" \
			eval 'num_gt "$ea" 100 && num_close "$ea" "$db"'
	fi
}

# A mode IKEv2 cannot negotiate: the configuration must be refused (at
# load and by -t), naming the line, instead of running something else.
refused_scenario() {
	local out rc line
	gen_cfg A "$TMP/gwA.cfg"
	out=$(timeout 30 "$BIN/espritd" -t -f "$TMP/gwA.cfg" 2>&1)
	rc=$?
	head -n 4 <<<"$out" | sed "s/^/#   /"
	check "espritd -t refuses the configuration (rc=$rc)" eval '[ "$rc" != 0 ] && [ "$rc" != 124 ]'
	check "with: $X_REFUSED" grep -qF "$X_REFUSED" <<<"$out"
	line=$(grep -n '^ set transform-set' "$TMP/gwA.cfg" | cut -d: -f1)
	check "at the set transform-set line ($line)" grep -q ":$line:" <<<"$out"
	topo_up
	out=$(nsx "$GA" timeout 20 "$BIN/espritd" -f "$TMP/gwA.cfg" -s "$TMP/refused.sock" 2>&1)
	rc=$?
	check "espritd does not start with it (rc=$rc)" eval '[ "$rc" != 0 ] && [ "$rc" != 124 ]'
	check "and says why" grep -qF "$X_REFUSED" <<<"$out"
}

ikev2_mode_scenario() {
	local src dst addr_b addr_a ip wire n clear t x sent_a
	: "${M_IKE_ENC=aes-gcm-256}" "${M_IKE_INTEG=}" "${M_IKE_PRF=sha384}" "${M_IKE_GROUP=19}"
	: "${M_TS=esp-gcm 256}" "${M_MODE=tunnel}" "${M_PFS=group19}" "${M_FAMILY=4}" "${M_SEL=sites}"
	: "${X_PROTO=esp}" "${X_ENCR=}" "${X_BITS=0}" "${X_INTEG=none}" "${X_ESN=true}"
	: "${X_COMP=0}" "${X_MODE=$M_MODE}" "${X_SA=}" "${X_WARN=}" "${X_IKE=}" "${M_REKEY=1}"
	: "${M_BYTES=2000000}"
	# the PFS group as the trace names it
	case $M_PFS in
	group2) X_PFS=modp1024 ;; group5) X_PFS=modp1536 ;; group14) X_PFS=modp2048 ;;
	group15) X_PFS=modp3072 ;; group19) X_PFS=ecp256 ;; group20) X_PFS=ecp384 ;;
	group21) X_PFS=ecp521 ;; group31) X_PFS=curve25519 ;; group32) X_PFS=curve448 ;;
	*) X_PFS=$M_PFS ;;
	esac
	export "${!M_@}" "${!X_@}"
	lib_init
	need_daemon
	if [ -n "${X_REFUSED:-}" ]; then
		refused_scenario
		return
	fi
	command -v socat >/dev/null || skip "needs socat"
	command -v tshark >/dev/null || skip "needs tshark"
	topo_up
	if [ "$M_FAMILY" = 6 ]; then WAN_A=$GA6 WAN_B=$GB6 ip=ipv6; else WAN_A=$GA4 WAN_B=$GB4 ip=ip; fi
	case $M_SEL/$M_FAMILY in
	gateways/4) src=$GA dst=$GB addr_b=$GB4 addr_a=$GA4 ;;
	gateways/6) src=$GA dst=$GB addr_b=$GB6 addr_a=$GA6 ;;
	*/6) src=$HA dst=$HB addr_b=$HB6 addr_a=$HA6 ;;
	*) src=$HA dst=$HB addr_b=$HB4 addr_a=$HA4 ;;
	esac
	if [ "$M_SEL" = two ]; then
		# second site subnets, the hosts pick them as source for each other
		ip -n "$HA" addr add 198.19.11.2/24 dev lan0
		ip -n "$GA" addr add 198.19.11.1/24 dev lan0
		ip -n "$HB" addr add 198.19.12.2/24 dev lan0
		ip -n "$GB" addr add 198.19.12.1/24 dev lan0
		ip -n "$HA" route add 198.19.12.0/24 via $GA4_LAN src 198.19.11.2
		ip -n "$HB" route add 198.19.11.0/24 via $GB4_LAN src 198.19.12.2
	fi
	gen_cfg A "$TMP/gwA.cfg"
	gen_cfg B "$TMP/gwB.cfg"
	start_esprit "$GA" "$TMP/gwA.cfg" || bail "gwA did not start"
	start_esprit "$GB" "$TMP/gwB.cfg" || bail "gwB did not start"
	cli "$GA" debug crypto ikev2 >/dev/null
	capture_start "$GA" wan0 "$TMP/wan.pcap" 200 || bail "dumpcap on gwA wan0"

	# The first packets trigger the acquire; allow for the negotiation.
	nsx "$src" ping -n -c 3 -i 0.5 -W 2 "$addr_b" >/dev/null 2>&1
	check "traffic starts IKE: gwA's IKE SA is READY" wait_for 15 ike_ready "$GA" ||
		bail "no IKE SA; mode not negotiated"
	check "gwB's IKE SA is READY" wait_for 5 ike_ready "$GB"
	if [ -n "$X_IKE" ]; then
		t=$(ike_desc "$GA")
		check "gwA's IKE SA: $t (want $X_IKE)" [ "$t" = "$X_IKE" ]
		t=$(ike_desc "$GB")
		check "gwB's IKE SA: $t (want $X_IKE)" [ "$t" = "$X_IKE" ]
	fi
	check "gwA's child SA is as negotiated: $X_PROTO $X_ENCR $X_BITS $X_INTEG esn=$X_ESN comp=$X_COMP $X_MODE" \
		eval 'x=$(child_check "$GA") || { info "$x"; false; }'
	check "gwB's child SA is the same" eval 'x=$(child_check "$GB") || { info "$x"; false; }'
	t=$(trace_line IKE_AUTH '<-')
	local re="SA\(${X_PROTO^^}#1 spi [0-9a-f]+ ${X_SA}\)"
	check "gwB chose $X_SA in its IKE_AUTH response" eval '[[ $t =~ $re ]]'
	x=$(trace_line IKE_AUTH '->')
	for n in USE_TRANSPORT_MODE IPCOMP_SUPPORTED; do
		if { [ $n = USE_TRANSPORT_MODE ] && [ "$X_MODE" = transport ]; } ||
			{ [ $n = IPCOMP_SUPPORTED ] && [ "$X_COMP" = 1 ]; }; then
			check "N($n) in gwA's IKE_AUTH request and gwB's response" \
				eval '[[ $x == *"N($n"* && $t == *"N($n"* ]]'
		else
			check "no N($n) in the IKE_AUTH exchange" eval '[[ $x != *"N($n"* && $t != *"N($n"* ]]'
		fi
	done
	local w
	while IFS= read -r w; do
		[ -n "$w" ] && check "gwA's daemon warns: $w" grep -qE "$w" "${DAEMON_LOG[$GA]}"
	done <<<"$X_WARN"

	check_ping "$src" "$addr_b"
	check_ping "$dst" "$addr_a"
	local kind=random
	[ "$X_COMP" = 1 ] && kind=text
	check_transfer "$src" "$dst" "$addr_b" "$M_BYTES" "$kind"
	sent_a=$M_BYTES
	check_transfer "$dst" "$src" "$addr_a" $((M_BYTES / 2)) "$kind"
	if [ "$M_SEL" = two ]; then
		check_ping "$HA" 198.19.12.2
		check_ping "$HB" 198.19.11.2
		check_transfer "$HA" "$HB" 198.19.12.2 "$M_BYTES" "$kind"
	fi

	check_counters "after the transfers"
	# AES-CBC + HMAC with batch crypto (crypto/mb.h): both gateways sealed
	# TCP segments in batches and computed received ICVs in batches, ESN
	# (seq-hi in the ICV) included.
	if [ "$X_ENCR" = aes-cbc ] && [[ $X_INTEG == hmac-sha* ]] &&
		grep -q "batch crypto on" "${DAEMON_LOG[$GB]}"; then
		local mb mi
		mb=$(sa_get "$GA" 'd["dataplane"]["mb_pkts"]')
		mi=$(sa_get "$GB" 'd["dataplane"]["mb_in_pkts"]')
		check "gwA sealed $mb packets in batches, gwB verified $mi in batches (esn=$X_ESN)" \
			eval 'num_gt "$mb" 500 && num_gt "$mi" 500'
	fi

	if [ "$M_REKEY" = 1 ]; then
		local old new
		old=$(spis "$GA")
		cli "$GA" rekey crypto ipsec sa >/dev/null
		rekeyed() { new=$(spis "$GA"); [ -n "$new" ] && [ "$new" != "$old" ] && [ "$(wc -w <<<"$new")" = 2 ]; }
		check "operator rekey: gwA's child SA has new SPIs (was $old)" wait_for 15 rekeyed
		info "new SPIs $new"
		# gwA's replaced inbound SA is gone (5 s after the DELETE); gwB
		# retired its own when the DELETE came, but deletes it on its own
		# once-a-second tick, up to a second later
		check "gwB deleted the replaced inbound SA too (RETIRING, then gone)" \
			wait_for 5 eval '! cli "$GB" show crypto ipsec sa detail | grep -q RETIRING'
		t=$(trace_line CREATE_CHILD_SA '->')
		x=$(trace_line CREATE_CHILD_SA '<-')
		if [ -n "$M_PFS" ]; then
			# 1.3.1 / 3.3.2: the D-H transform in the SA and a KE of that group
			check "PFS: CREATE_CHILD_SA request offers $X_PFS and carries KE($X_PFS)" \
				eval '[[ $t == *"/$X_PFS/"* && $t == *"KE($X_PFS, "* ]]'
			check "PFS: gwB's response chose $X_PFS and carries KE($X_PFS)" \
				eval '[[ $x == *"/$X_PFS/"* && $x == *"KE($X_PFS, "* ]]'
		else
			check "no PFS: CREATE_CHILD_SA without KE both ways" \
				eval '[ -n "$t" ] && [ -n "$x" ] && [[ $t != *"KE("* && $x != *"KE("* ]]'
		fi
		check "the rekeyed child SA keeps the negotiated parameters (gwA)" \
			eval 'x=$(child_check "$GA") || { info "$x"; false; }'
		check "and on gwB, with the new SPIs" \
			eval 'x=$(child_check "$GB") && [ "$(spis "$GB")" != "$old" ] || { info "$x"; false; }'
		check_ping "$dst" "$addr_a"
		check_transfer "$src" "$dst" "$addr_b" $((M_BYTES / 2)) "$kind"
		sent_a=$((sent_a + M_BYTES / 2))
		check_counters "after the rekey"
	fi
	capture_stop

	# One tshark pass: source, length, protocol stack (and the ICMPv6 type,
	# to tell echo from neighbour discovery) of every frame.
	timeout 120 tshark -n -r "$TMP/wan.pcap" -T fields -E separator='|' -E occurrence=f \
		-e ip.src -e ipv6.src -e frame.len -e frame.protocols -e icmpv6.type \
		>"$TMP/wan.txt" 2>/dev/null
	if [ "$X_PROTO" = ah ]; then wire=ah; else wire=esp; fi
	wan() { # AWK-CONDITION over src, len, pr (protocols), t6: frames matching
		awk -F'|' "{ src = \$1 != \"\" ? \$1 : \$2; len = \$3; pr = \$4; t6 = \$5 }
			$1 { n++ } END { print n + 0 }" "$TMP/wan.txt"
	}
	n=$(wan "src == \"$WAN_A\" && pr ~ /:$wire(:|\$)/")
	check "the WAN carries $wire from gwA ($n frames)" num_gt "$n" 100
	n=$(wan "src == \"$WAN_B\" && pr ~ /:$wire(:|\$)/")
	check "the WAN carries $wire from gwB ($n frames)" num_gt "$n" 50
	x=$([ "$wire" = ah ] && echo esp || echo ah)
	n=$(wan "pr ~ /:$x(:|\$)/")
	check "and no $x ($n frames)" num_eq "$n" 0
	# Site traffic in clear: TCP, ICMP or ICMPv6 echo not inside ESP or AH
	# (IKE is UDP; the links' own ICMPv6, neighbour discovery and MLD, is
	# not site traffic).
	clear=$(wan "pr !~ /:(esp|ah)(:|\$)/ && (pr ~ /:(tcp|icmp)(:|\$)/ || (pr ~ /:icmpv6/ && t6 ~ /^12[89]\$/))")
	check "no clear-text site traffic on the WAN ($clear packets)" num_eq "$clear" 0
	if [ "$X_COMP" = 1 ]; then
		local wb
		wb=$(awk -F'|' -v a="$WAN_A" '($1 == a || $2 == a) && $4 ~ /:esp$/ { s += $3 }
			END { print s + 0 }' "$TMP/wan.txt")
		# gwA sent M_BYTES (plus M_BYTES/2 after a rekey) of text, and ACKs
		check "IPComp: gwA sent $wb ESP bytes for $sent_a payload bytes (compressed)" \
			eval '[ "$wb" -gt 0 ] && [ "$wb" -lt "$sent_a" ]'
	fi
	check "no error logged" eval '! grep -E "cannot install|not installed|refused|NO_PROPOSAL|TS_UNACCEPTABLE" "${DAEMON_LOG[$GA]}" "${DAEMON_LOG[$GB]}" | sed "s/^/#   /" | grep -q .'
	stop_esprit "$GA"
	stop_esprit "$GB"
}
