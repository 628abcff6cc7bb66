#!/bin/bash
# IKE fragmentation (RFC 7383) between two esprit gateways, crypto-map
# style. The configurations are examples/ikev2-map-gwA.cfg / -gwB.cfg,
# edited by sed into $TMP so that the encrypted messages are large:
#   - the ACL has 8 lines (198.19.1.0/24 -> 198.19.2.0/24 ... 198.19.9.0/24,
#     mirrored on gwB): IKE_AUTH and the child rekey carry 8 TSr (or TSi);
#   - the IKE policy has two proposals with several transforms each (the
#     same on both sides, so GCM/sha384/group 19 is still chosen): the IKE
#     SA rekey request carries them all;
#   - a fragment size of 300 bytes: `crypto ikev2 fragmentation mtu 300`
#     (global) on gwA, `fragmentation mtu 300` in the ikev2 profile on gwB.
#
#   hostA (198.19.1.2) -- gwA (198.18.0.1) ==WAN, captured== (198.18.0.2) gwB -- hostB (198.19.2.2)
#
# Phase 1, both sides fragment (capture on gwA's wan0, read with tshark):
#   - IKE_SA_INIT request and response both carry the notify
#     IKEV2_FRAGMENTATION_SUPPORTED (16430);
#   - IKE_AUTH request and response are sent as Encrypted Fragment
#     payloads (SKF, type 53: the IKE header's next payload), at least two
#     each, numbered 1..n of n; the receiver logs the reassembly;
#   - no IKE datagram other than IKE_SA_INIT (which RFC 7383 cannot
#     fragment) is larger than 300 bytes, and none is IP-fragmented;
#   - the SAs come up and traffic flows both ways;
#   - `rekey crypto ipsec sa` (CREATE_CHILD_SA with PFS KE and 8 TS) and
#     `rekey crypto ikev2 sa` (CREATE_CHILD_SA with all IKE proposals):
#     each request goes as SKF fragments of <= 300 bytes, the new SA
#     replaces the old one and traffic still flows.
# Phase 2, only gwA enables fragmentation (gwB has no fragmentation line):
#   - gwA announces support, gwB does not (RFC 7383 2.3), so neither side
#     fragments: IKE_AUTH goes whole (larger than 300 bytes), no SKF at
#     all, and since it fits the link the SAs come up and traffic flows.
# Phase 3, IPv6 WAN: the same configurations with the peers, identities
#   and keyring on 2001:db8:ff::/64, an IPv6 ACL, and wan0 dual-stack (it
#   keeps its IPv4 address: the IKE local address must be the IPv6 one),
#   fragment size 320: the IKE_AUTH request goes in SKF fragments, every
#   IPv6 IKE datagram except IKE_SA_INIT is <= 320 bytes (IPv6 header
#   included), traffic flows both ways.
# Each phase stops the daemons: they must exit cleanly.
. "$(dirname "$0")/lib.sh"
lib_init
need_daemon
command -v tshark >/dev/null || skip "needs tshark"
command -v dumpcap >/dev/null || skip "needs dumpcap"
topo_up

MTU=300

# the SPIs of the READY IKE SAs, sorted, one line
ike_spis() {
	ike_json "$1" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(sorted(s["spi_i"]+s["spi_r"] for s in d["ike_sas"] if s["status"]=="READY")))'
}
# the inbound child SPIs, sorted, one line
child_spis() {
	cli "$1" --json show crypto ipsec sa | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(sorted(str(x.get("spi")) for s in d.get("sas",[]) for x in s.get("inbound",[]))))'
}
# replaced FN NS OLD: FN's list is non-empty and holds none of OLD's words
replaced() {
	local v w
	v=$($1 "$2")
	[ -n "$v" ] || return 1
	for w in $3; do [[ " $v " == *" $w "* ]] && return 1; done
	return 0
}

# mkcfg SIDE(A|B) OUT GLOBAL_FRAG_LINE PROFILE_FRAG_LINE [v6]
mkcfg() {
	local side=$1 out=$2 gfrag=$3 pfrag=$4 v6=${5:-} n
	local acl=$TMP/acl-$side.txt
	{
		[ -n "$gfrag" ] && echo "$gfrag"
		cat <<'EOF'
crypto ikev2 proposal CBC
 encryption aes-cbc-256 aes-cbc-128
 integrity sha512 sha384 sha256
 group 19 20 21 14
!
EOF
	} >"$TMP/glob-$side.txt"
	echo "${pfrag}" >"$TMP/prof-$side.txt"
	: >"$acl"
	for n in 3 4 5 6 7 8 9; do
		if [ "$side" = A ]; then
			echo " permit ip 198.19.1.0 0.0.0.255 198.19.$n.0 0.0.0.255" >>"$acl"
		else
			echo " permit ip 198.19.$n.0 0.0.0.255 198.19.1.0 0.0.0.255" >>"$acl"
		fi
	done
	sed -e "/^hostname /r $TMP/glob-$side.txt" \
		-e "/^ lifetime 28800$/r $TMP/prof-$side.txt" \
		-e "/^ permit ip 198.19.[12].0 0.0.0.255 198.19.[12].0 0.0.0.255$/r $acl" \
		-e 's/^ encryption aes-gcm-256$/ encryption aes-gcm-256 aes-gcm-128/' \
		-e 's/^ prf sha384$/ prf sha384 sha256 sha512/' \
		-e 's/^ group 19$/ group 19 20 21 14/' \
		-e 's/^ proposal GCM$/ proposal GCM\n proposal CBC/' \
		"$EX/ikev2-map-gw$side.cfg" >"$out"
	if [ -n "$v6" ]; then
		v6cfg "$side" "$out"
	fi
	sed -i '/^$/d' "$out"
}

# IPv6 WAN: the peers and identities on 2001:db8:ff::/64, an IPv6 ACL
# for the sites (the crypto map carries IPv6 traffic only).
v6cfg() {
	local side=$1 f=$2 me peer lnet rnet old_me old_peer
	if [ "$side" = A ]; then
		me=$GA6 peer=$GB6 lnet=2001:db8:1::/64 rnet=2001:db8:2::/64 old_me=$GA4 old_peer=$GB4
	else
		me=$GB6 peer=$GA6 lnet=2001:db8:2::/64 rnet=2001:db8:1::/64 old_me=$GB4 old_peer=$GA4
	fi
	sed -i -e "s/^ match address local $old_me$/ match address local $me/" \
		-e "s/^  address $old_peer$/  address $peer\/128/" \
		-e "s/^  identity address $old_peer$/  identity address $peer/" \
		-e "s/^ match identity remote address $old_peer 255.255.255.255$/ match identity remote address $peer\/128/" \
		-e "s/^ identity local address $old_me$/ identity local address $me/" \
		-e "s/^ set peer $old_peer$/ set peer $peer/" \
		-e "s/^ match address VPN-TRAFFIC$/ match address VPN6/" \
		-e "s/^ ip address $old_me 255.255.255.0$/ ip address $old_me 255.255.255.0\n ipv6 address $me\/64/" \
		"$f"
	{
		echo "ipv6 access-list VPN6"
		echo " permit ipv6 $lnet $rnet"
		echo "!"
	} >"$TMP/acl6-$side.txt"
	sed -i "/^hostname /r $TMP/acl6-$side.txt" "$f"
}

# ---- tshark helpers over a capture ------------------------------------------
ISA='udp.port == 500 || udp.port == 4500'
# fields FILE FILTER FIELDS...: one line per matching frame
fields() {
	local f=$1 flt=$2 a=() x
	shift 2
	for x in "$@"; do a+=(-e "$x"); done
	timeout 120 tshark -n -r "$f" -Y "$flt" -T fields -E separator=' ' -E occurrence=a -E aggregator=, "${a[@]}" 2>/dev/null
}
# count FILE FILTER: frames matching, from one tshark run per capture
# (count_all FILE FILTER..., lib.sh's tshark_count_all).
count_all() { tshark_count_all "$@"; }
count() { tshark_count_cached "$1" "$2"; }
# IKE datagrams but IKE_SA_INIT (check_small)
AFTER_INIT="($ISA) && isakmp.exchangetype != 34"

# IKE datagrams (IP total length) of all but IKE_SA_INIT: the largest
max_len() { # FILE IPLENFIELD
	fields "$1" "($ISA) && isakmp.exchangetype != 34" "$2" | sort -n | tail -n 1
}

# fragments of one direction and exchange: "n/total" per frame must be
# complete: every message (msgid) has fragments 1..total, each total >= 2
frags_complete() { # FILE FILTER
	fields "$1" "$2 && isakmp.nextpayload == 53" isakmp.messageid isakmp.frag.number isakmp.frag.total |
		"$PY" -c '
import sys
msgs = {}
for line in sys.stdin:
    p = line.split()
    if len(p) < 3:
        continue
    msgs.setdefault(p[0], set()).add((int(p[1]), int(p[2])))
ok = bool(msgs)
for m, s in msgs.items():
    tot = {t for _, t in s}
    nums = {n for n, _ in s}
    good = len(tot) == 1 and min(tot) >= 2 and nums == set(range(1, min(tot) + 1))
    print("# msgid %s: fragments %s" % (m, sorted(s)))
    ok = ok and good
sys.exit(0 if ok else 1)'
}

# phase_up TAG CAPTURE-NS DST4/6: capture, traffic, SAs READY
phase_up() {
	local pcap=$1 hb=$2 ha=$3
	capture_start "$GA" wan0 "$pcap" || bail "capture on gwA wan0"
	nsx "$HA" ping -c 3 -i 0.5 -W 2 "$hb" >/dev/null 2>&1
	check "gwA's IKE SA is READY" wait_for 20 ike_ready "$GA"
	check "gwB's IKE SA is READY" wait_for 10 ike_ready "$GB"
	check_ping "$HA" "$hb"
	check_ping "$HB" "$ha"
	capture_stop
}

# check_small PCAP IPLENFIELD LIMIT [NOTE]: IKE datagrams (but IKE_SA_INIT) <= LIMIT
check_small() {
	local pcap=$1 fld=$2 lim=$3 note=${4:-} n m
	n=$(count "$pcap" "$AFTER_INIT")
	m=$(max_len "$pcap" "$fld")
	check "every IKE datagram after IKE_SA_INIT is <= $lim bytes$note ($n datagrams, largest ${m:-none})" \
		eval 'num_gt "$n" 0 && num_ge "$lim" "${m:-99999}"'
}

echo "# ---- phase 1: both sides fragment ($MTU bytes)"
mkcfg A "$TMP/gwA.cfg" "crypto ikev2 fragmentation mtu $MTU" ""
mkcfg B "$TMP/gwB.cfg" "" " fragmentation mtu $MTU"
start_esprit "$GA" "$TMP/gwA.cfg" || bail "gwA did not start"
start_esprit "$GB" "$TMP/gwB.cfg" || bail "gwB did not start"
P=$TMP/p1.pcap
phase_up "$P" "$HB4" "$HA4"
info "IKE on the wire (src, IP length, exchange, next payload, fragment n/total):"
fields "$P" "$ISA" ip.src ip.len isakmp.exchangetype isakmp.nextpayload isakmp.frag.number isakmp.frag.total | sed 's/^/#   /'
I="isakmp.exchangetype == 34 && isakmp.flag_r == 0 && ip.src == $GA4"
R="isakmp.exchangetype == 34 && isakmp.flag_r == 1 && ip.src == $GB4"
AI="isakmp.exchangetype == 35 && isakmp.flag_r == 0 && ip.src == $GA4"
AR="isakmp.exchangetype == 35 && isakmp.flag_r == 1 && ip.src == $GB4"
count_all "$P" "$I && isakmp.notify.msgtype == 16430" "$R && isakmp.notify.msgtype == 16430" \
	"$AI && isakmp.nextpayload != 53" "$AR && isakmp.nextpayload != 53" "$AFTER_INIT" \
	"ip.flags.mf == 1 || ip.frag_offset > 0"
check "IKE_SA_INIT request announces IKEV2_FRAGMENTATION_SUPPORTED" \
	num_eq "$(count "$P" "$I && isakmp.notify.msgtype == 16430")" 1
check "IKE_SA_INIT response announces IKEV2_FRAGMENTATION_SUPPORTED" \
	num_eq "$(count "$P" "$R && isakmp.notify.msgtype == 16430")" 1
check "IKE_AUTH request: only SKF payloads, fragments 1..n of n, n >= 2" \
	eval 'num_eq "$(count "$P" "$AI && isakmp.nextpayload != 53")" 0 && frags_complete "$P" "$AI"'
check "IKE_AUTH response: only SKF payloads, fragments 1..n of n, n >= 2" \
	eval 'num_eq "$(count "$P" "$AR && isakmp.nextpayload != 53")" 0 && frags_complete "$P" "$AR"'
check_small "$P" ip.len "$MTU"
check "no IKE datagram is IP-fragmented" \
	num_eq "$(count "$P" "ip.flags.mf == 1 || ip.frag_offset > 0")" 0
check "gwB logged the reassembly of IKE_AUTH (message 1)" \
	grep -q 'message 1 reassembled from [0-9]* fragments' "${DAEMON_LOG[$GB]}"
check "gwA logged the reassembly of IKE_AUTH (message 1)" \
	grep -q 'message 1 reassembled from [0-9]* fragments' "${DAEMON_LOG[$GA]}"

echo "# ---- phase 1b: child SA rekey, fragmented"
old=$(child_spis "$GA")
info "gwA inbound child SPIs before: $old"
P=$TMP/p1b.pcap
capture_start "$GA" wan0 "$P" || bail "capture on gwA wan0"
cli "$GA" rekey crypto ipsec sa | sed 's/^/#   /'
check "rekey crypto ipsec sa: gwA's inbound child SA replaced" wait_for 20 replaced child_spis "$GA" "$old"
check_ping "$HA" "$HB4"
capture_stop
fields "$P" "$ISA" ip.src ip.len isakmp.exchangetype isakmp.nextpayload isakmp.frag.number isakmp.frag.total | sed 's/^/#   /'
CI="isakmp.exchangetype == 36 && isakmp.flag_r == 0 && ip.src == $GA4"
count_all "$P" "$CI && isakmp.nextpayload != 53" "$AFTER_INIT"
check "CREATE_CHILD_SA (child rekey) request: SKF fragments 1..n of n, n >= 2" \
	eval 'num_eq "$(count "$P" "$CI && isakmp.nextpayload != 53")" 0 && frags_complete "$P" "$CI"'
check_small "$P" ip.len "$MTU"

echo "# ---- phase 1c: IKE SA rekey, fragmented"
old=$(ike_spis "$GA")
P=$TMP/p1c.pcap
capture_start "$GA" wan0 "$P" || bail "capture on gwA wan0"
cli "$GA" rekey crypto ikev2 sa | sed 's/^/#   /'
check "rekey crypto ikev2 sa: gwA's IKE SA replaced" wait_for 20 replaced ike_spis "$GA" "$old"
check_ping "$HA" "$HB4"
capture_stop
fields "$P" "$ISA" ip.src ip.len isakmp.exchangetype isakmp.nextpayload isakmp.frag.number isakmp.frag.total | sed 's/^/#   /'
count_all "$P" "$CI && isakmp.nextpayload != 53" "$AFTER_INIT"
check "CREATE_CHILD_SA (IKE rekey) request: SKF fragments 1..n of n, n >= 2" \
	eval 'num_eq "$(count "$P" "$CI && isakmp.nextpayload != 53")" 0 && frags_complete "$P" "$CI"'
check_small "$P" ip.len "$MTU"
stop_esprit "$GA"
stop_esprit "$GB"

echo "# ---- phase 2: only gwA enables fragmentation"
mkcfg A "$TMP/gwA.cfg" "crypto ikev2 fragmentation mtu $MTU" ""
mkcfg B "$TMP/gwB.cfg" "" ""
check "gwB's configuration has no fragmentation line" not_grep -q fragmentation "$TMP/gwB.cfg"
start_esprit "$GA" "$TMP/gwA.cfg" || bail "gwA did not start"
start_esprit "$GB" "$TMP/gwB.cfg" || bail "gwB did not start"
P=$TMP/p2.pcap
phase_up "$P" "$HB4" "$HA4"
fields "$P" "$ISA" ip.src ip.len isakmp.exchangetype isakmp.nextpayload isakmp.frag.number isakmp.frag.total | sed 's/^/#   /'
count_all "$P" "$I && isakmp.notify.msgtype == 16430" "$R" "$R && isakmp.notify.msgtype == 16430" \
	"isakmp.nextpayload == 53"
check "IKE_SA_INIT request (gwA) announces IKEV2_FRAGMENTATION_SUPPORTED" \
	num_eq "$(count "$P" "$I && isakmp.notify.msgtype == 16430")" 1
check "IKE_SA_INIT response (gwB) does not" \
	eval 'num_eq "$(count "$P" "$R")" 1 && num_eq "$(count "$P" "$R && isakmp.notify.msgtype == 16430")" 0'
check "no SKF payload at all" num_eq "$(count "$P" "isakmp.nextpayload == 53")" 0
n=$(fields "$P" "$AI && isakmp.nextpayload == 46" ip.len)
check "IKE_AUTH request went whole (one SK message of $n bytes > $MTU)" \
	eval '[ "$(echo $n | wc -w)" = 1 ] && num_gt "$n" "$MTU"'
stop_esprit "$GA"
stop_esprit "$GB"

echo "# ---- phase 3: IPv6 WAN, both sides fragment (320 bytes)"
MTU6=320
mkcfg A "$TMP/gwA.cfg" "crypto ikev2 fragmentation mtu $MTU6" "" v6
mkcfg B "$TMP/gwB.cfg" "" " fragmentation mtu $MTU6" v6
start_esprit "$GA" "$TMP/gwA.cfg" || bail "gwA did not start"
start_esprit "$GB" "$TMP/gwB.cfg" || bail "gwB did not start"
P=$TMP/p3.pcap
phase_up "$P" "$HB6" "$HA6"
fields "$P" "$ISA" ipv6.src ipv6.plen isakmp.exchangetype isakmp.nextpayload isakmp.frag.number isakmp.frag.total | sed 's/^/#   /'
AI6="isakmp.exchangetype == 35 && isakmp.flag_r == 0 && ipv6.src == $GA6"
AR6="isakmp.exchangetype == 35 && isakmp.flag_r == 1 && ipv6.src == $GB6"
count_all "$P" "$AI6 && isakmp.nextpayload != 53" "$AR6" "$AFTER_INIT"
check "IPv6: IKE_AUTH request in SKF fragments 1..n of n" \
	eval 'num_eq "$(count "$P" "$AI6 && isakmp.nextpayload != 53")" 0 && frags_complete "$P" "$AI6"'
# (the response, with one TS each way, fits in 320 bytes and goes whole)
check "IPv6: IKE_AUTH response seen" num_gt "$(count "$P" "$AR6")" 0
# ipv6.plen excludes the 40-byte IPv6 header
check_small "$P" ipv6.plen $((MTU6 - 40)) " of IPv6 payload ($MTU6 with the header)"
stop_esprit "$GA"
stop_esprit "$GB"
finish
