#!/bin/bash
# IKE fragmentation (RFC 7383) against a real peer: esprit (gwA) <->
# strongSwan (gwB), AES-GCM-256/group 19, PFS 19, tunnel. To make the PSK
# IKE_AUTH messages of both directions longer than the fragment sizes,
# both sides use FQDN identities of 63 characters and gwB's side of the
# child has eight /24 (198.19.2.0 ... 198.19.9.0; gwB holds an address in
# each, which kernel-libipsec needs for its routes): eight TSr (or TSi)
# each way. Fragment sizes (of the IP datagram): esprit `fragmentation
# mtu 300` in its ikev2 profile, strongSwan `charon.fragment_size = 320`.
# strongSwan's kernel-libipsec floats to UDP 4500 (it fakes NAT
# detection), so IKE_AUTH crosses with the non-ESP marker. Everything is
# read from a capture on gwB's WAN with tshark (no malformed packet in any).
#
# 1. strongSwan `fragmentation = yes`, esprit initiates: both IKE_SA_INIT
#    messages announce IKEV2_FRAGMENTATION_SUPPORTED (16430); the IKE_AUTH
#    request (gwA) and response (gwB) each go as Encrypted Fragment
#    payloads only (SKF, type 53), fragments 1..n of n with n >= 2, the
#    SKF Next Payload set in fragment 1 only (2.5); every IKE datagram of
#    gwA but IKE_SA_INIT is <= 300 bytes (IP length), gwB's <= 320, none
#    is IP-fragmented; each side logs the reassembly; the child comes up,
#    pings and 2 MB TCP both ways; esprit deletes.
# 2. The same with strongSwan initiating (swanctl --initiate): request
#    from gwB, response from gwA in SKF; strongSwan deletes.
# 3. `fragmentation = accept` on strongSwan (announces support, never
#    fragments its own messages), esprit initiates: gwA's IKE_AUTH goes in
#    SKF, gwB's response whole (one SK message > 320 bytes), esprit
#    takes it; the child comes up.
# 4. `fragmentation = no` on strongSwan: gwB does not announce support,
#    (a) esprit initiates: it announces, but sends its IKE_AUTH whole
#    (one SK message > 300 bytes), no SKF on the wire at all;
#    (b) strongSwan initiates without the notify: esprit's IKE_SA_INIT
#    response must not carry it either (2.3) and its IKE_AUTH response
#    goes whole. The child comes up both times.
# 5. Retransmission of fragmented messages (2.6.1), nftables dropping one
#    fragment once on the receiving gateway (after the capture point):
#    (a) esprit initiates, gwB's response fragment 1 is lost: esprit sends
#    its request again, all fragments, strongSwan its response: two whole
#    sets each way; (b) strongSwan initiates, esprit's response fragment 2
#    is lost: strongSwan resends its 3 request fragments, esprit answers
#    the first only (two sets of its response, not four). SAs come up.
. "$(dirname "$0")/lib.sh"
iop_init
[ "$GWA_IMPL" = esprit ] || skip "esprit's IKE fragmentation: gwA must be esprit"
command -v tshark >/dev/null || skip "needs tshark"
command -v nft >/dev/null || skip "needs nft (nftables)"
prop_set gcm

MTU_A=300  # esprit: fragmentation mtu (IP datagram)
MTU_B=320  # strongSwan: charon.fragment_size (IP datagram)
# FQDN identities of 63 characters (the longest word esprit's parser takes).
IDA=gwa.$(printf 'a%.0s' $(seq 44)).esprit.example
IDB=gwb.$(printf 'b%.0s' $(seq 46)).swan.example
# gwB's side of the child: eight /24 (198.19.2.0 ... 198.19.9.0; hostB is
# on the first), so IKE_AUTH carries eight TSr (or TSi) each way.
ts_b() { echo 198.19.{2..9}.0/24 | tr ' ' ','; }

# ---- configurations ------------------------------------------------------------

# gwB: lib.sh's files, plus fragment_size and `fragmentation = $1`, FQDN ids.
swan_frag_conf() {
	swan_write_conf B
	sed -i "s/^  install_routes = yes$/&\n  fragment_size = $MTU_B/" "$RUNDIR/B/strongswan.conf"
	swan_write_swanctl B "$GB4" "$GA4" "$(ts_b)" "$(ts_a)" "$IDB" "$IDA"
	sed -i "s/^    encap = yes$/&\n    fragmentation = $1/" "$RUNDIR/B/swanctl.conf"
	grep -q "fragmentation = $1" "$RUNDIR/B/swanctl.conf" &&
		grep -q "fragment_size = $MTU_B" "$RUNDIR/B/strongswan.conf"
}

# gwA: lib.sh's config, FQDN ids, fragmentation mtu in the ikev2 profile.
esprit_frag_conf() {
	local f=$TMP/gwA.cfg
	esprit_write_conf "$f"
	sed -i -e "s/^ identity local address $GA4$/ identity local fqdn $IDA/" \
		-e "s/^  identity address $GB4$/  identity fqdn $IDB/" \
		-e "s/^ match identity remote address $GB4 255.255.255.255$/ match identity remote fqdn $IDB/" \
		-e "s/^ lifetime $IKE_LIFE$/&\n fragmentation mtu $MTU_A/" \
		-e "s/^ permit ip 198.19.1.0 0.0.0.255 198.19.2.0 0.0.0.255$/&$(
			for n in 3 4 5 6 7 8 9; do printf '\\n permit ip 198.19.1.0 0.0.0.255 198.19.%s.0 0.0.0.255' $n; done
		)/" "$f"
	grep -q "^ fragmentation mtu $MTU_A$" "$f" &&
		grep -q "^ permit ip 198.19.1.0 0.0.0.255 198.19.9.0 0.0.0.255$" "$f" &&
		grep -q "^ identity local fqdn $IDA$" "$f" &&
		grep -q "^  identity fqdn $IDB$" "$f" &&
		grep -q "^ match identity remote fqdn $IDB$" "$f"
}

# ---- capture and tshark ----------------------------------------------------------

# IKE only (500, and 4500 with the non-ESP marker), and any IP fragment.
CAPF="udp port 500 or (udp port 4500 and udp[8:4] = 0) or (ip[6:2] & 0x3fff != 0)"
cap_begin() {
	PCAP=$TMP/$1.pcap
	TSHARK_NCACHE=() # the live capture: counted on its own until cap_end
	capture_start "$GB" wan0 "$PCAP" 65535 "$CAPF" || bail "capture on gwB wan0"
	sleep 0.5 # a phase's capture once missed its whole exchange: let dumpcap settle
}
# cap_end N: stop once the live capture holds N IKE_AUTH datagrams (or
# after 10 s): dumpcap hands packets over a ring block at a time.
cap_end() {
	wait_for 10 cap_has_auth "$1" || info "the capture has fewer than $1 IKE_AUTH datagrams"
	capture_stop
	check "tshark finds no malformed IKE packet in $(basename "$PCAP")" \
		num_eq "$(count "_ws.malformed || _ws.expert.severity >= error")" 0
	info "IKE on the wire (src, IP length, exchange, R flag, next payload, fragment n/total):"
	fields "$PCAP" "$ISA" ip.src ip.len isakmp.exchangetype isakmp.flag_r isakmp.nextpayload \
		isakmp.frag.number isakmp.frag.total | sed 's/^/#   /'
	count_all "$SKF" 'ip.flags.mf == 1 || ip.frag_offset > 0' \
		"$(init_from A)" "$(init_from A) && isakmp.notify.msgtype == 16430" \
		"$(init_from B)" "$(init_from B) && isakmp.notify.msgtype == 16430" \
		"$(after_init A)" "$(after_init B)" \
		"$(msg auth req A) && $SKF" "$(msg auth req A) && !($SKF)" \
		"$(msg auth resp A) && $SKF" "$(msg auth resp A) && !($SKF)" \
		"$(msg auth req B) && $SKF" "$(msg auth req B) && !($SKF)" \
		"$(msg auth resp B) && $SKF" "$(msg auth resp B) && !($SKF)"
}

ISA='udp.port == 500 || udp.port == 4500'
# fields FILE FILTER FIELDS...: one line per matching frame
fields() {
	local f=$1 flt=$2 a=() x
	shift 2
	for x in "$@"; do a+=(-e "$x"); done
	timeout 60 tshark -n -r "$f" -Y "$flt" -T fields -E separator=' ' -E occurrence=f "${a[@]}" 2>/dev/null
}
# count FILTER: frames of $PCAP matching, from one tshark run per capture
# (count_all FILTER..., lib.sh's tshark_count_all).
count_all() { tshark_count_all "$PCAP" "$@"; }
count() { tshark_count_cached "$PCAP" "$1"; }
cap_has_auth() { num_ge "$(count "isakmp.exchangetype == 35")" "$1"; }

# Display filters: INIT/AUTH request or response sent by gwA or gwB.
msg() { # init|auth req|resp A|B
	local x r s
	x=$([ "$1" = init ] && echo 34 || echo 35)
	r=$([ "$2" = req ] && echo 0 || echo 1)
	s=$([ "$3" = A ] && echo "$GA4" || echo "$GB4")
	echo "isakmp.exchangetype == $x && isakmp.flag_r == $r && ip.src == $s"
}
SKF='isakmp.nextpayload == 53'

# frags_complete FILTER: SKF frames of FILTER form whole sets: every
# message ID has fragments 1..total, one total, total >= 2.
frags_complete() {
	fields "$PCAP" "$1 && $SKF" isakmp.messageid isakmp.frag.number isakmp.frag.total |
		"$PY" -c '
import sys
msgs = {}
for line in sys.stdin:
    p = line.split()
    if len(p) == 3:
        msgs.setdefault(p[0], set()).add((int(p[1]), int(p[2])))
ok = bool(msgs)
for m, s in msgs.items():
    tot = {t for _, t in s}
    good = len(tot) == 1 and min(tot) >= 2 and {n for n, _ in s} == set(range(1, min(tot) + 1))
    print("#   msgid %s: fragments %s" % (m, sorted(s)))
    ok = ok and good
sys.exit(0 if ok else 1)'
}

# largest IP datagram of FILTER
max_len() { fields "$PCAP" "$1" ip.len | sort -n | tail -n 1; }

# IKE_SA_INIT messages from A|B; IKE datagrams from A|B but IKE_SA_INIT
init_from() { echo "isakmp.exchangetype == 34 && ip.src == $([ "$1" = A ] && echo "$GA4" || echo "$GB4")"; }
after_init() { echo "($ISA) && isakmp.exchangetype != 34 && ip.src == $([ "$1" = A ] && echo "$GA4" || echo "$GB4")"; }

# check_announce A|B yes|no, for each IKE_SA_INIT message seen from that side
check_announce() {
	local side=$1 want=$2 n k
	n=$(count "$(init_from "$side")")
	k=$(count "$(init_from "$side") && isakmp.notify.msgtype == 16430")
	if [ "$want" = yes ]; then
		check "gw$side's IKE_SA_INIT announces IKEV2_FRAGMENTATION_SUPPORTED ($k of $n)" \
			eval 'num_gt "$n" 0 && num_eq "$k" "$n"'
	else
		check "gw$side's IKE_SA_INIT does not announce IKEV2_FRAGMENTATION_SUPPORTED ($k of $n)" \
			eval 'num_gt "$n" 0 && num_eq "$k" 0'
	fi
}

# check_skf WHAT FILTER: only SKF frames, a complete set of >= 2
check_skf() {
	local flt=$2 n w
	n=$(count "$flt && $SKF")
	w=$(count "$flt && !($SKF)")
	check "$1 went as $n SKF fragments (1..n of n, n >= 2), $w whole" \
		eval 'num_eq "$w" 0 && frags_complete "$flt"'
	check "$1: SKF Next Payload is the first inner payload in fragment 1, 0 in the others" \
		skf_next_ok "$flt"
}

# skf_next_ok FILTER: RFC 7383 2.5: the SKF payload's Next Payload names
# the first inner payload in fragment 1 and is 0 in the others.
skf_next_ok() {
	timeout 60 tshark -n -r "$PCAP" -Y "$1 && $SKF" -T fields -E separator=' ' \
		-e isakmp.frag.number -e isakmp.nextpayload 2>/dev/null |
		"$PY" -c '
import sys
frames = [l.split() for l in sys.stdin if len(l.split()) == 2]
bad = []
for num, nps in frames:
    n = nps.split(",")
    # header next payload (53), then the SKF payload own Next Payload
    if len(n) < 2 or n[0] != "53" or (n[1] == "0") != (num != "1"):
        bad.append("%s:%s" % (num, nps))
print("#   SKF fragment number: next payloads (header, SKF): %s" % " ".join("%s:%s" % tuple(f) for f in frames))
sys.exit(0 if frames and not bad else 1)'
}

# check_whole WHAT FILTER LIMIT: one SK message, larger than LIMIT, no SKF
check_whole() {
	local lim=$3 l n
	n=$(count "$2 && $SKF")
	l=$(fields "$PCAP" "$2 && isakmp.nextpayload == 46" ip.len)
	check "$1 went whole (one SK message of ${l:-no} bytes > $lim, $n SKF)" \
		eval 'num_eq "$n" 0 && [ "$(echo $l | wc -w)" = 1 ] && num_gt "$l" "$lim"'
}

# check_sizes A|B LIMIT: every IKE datagram from that side but IKE_SA_INIT <= LIMIT
check_sizes() {
	local lim=$2 n m
	n=$(count "$(after_init "$1")")
	m=$(max_len "$(after_init "$1")")
	check "gw$1's IKE datagrams after IKE_SA_INIT are <= $2 bytes ($n, largest ${m:-none})" \
		eval 'num_gt "$n" 0 && num_ge "$lim" "${m:-99999}"'
}

no_ip_frags() {
	check "no IKE datagram is IP-fragmented" num_eq "$(count 'ip.flags.mf == 1 || ip.frag_offset > 0')" 0
}

# reassembly log lines so far: esprit (IKE_AUTH is message 1), charon
ra_a() { grep -c 'message 1 reassembled from [0-9]* fragments' "${DAEMON_LOG[$GA]}"; }
ra_b() { grep -c 'reassembled fragmented IKE message' "$RUNDIR/B/charon.log"; }

# sw_reload MODE: gwB's connection again with fragmentation = MODE
sw_reload() {
	local fm=$1
	swan_write_swanctl B "$GB4" "$GA4" "$(ts_b)" "$(ts_a)" "$IDB" "$IDA"
	sed -i "s/^    encap = yes$/&\n    fragmentation = $1/" "$RUNDIR/B/swanctl.conf"
	check "gwB reloads its connection with fragmentation = $1" \
		eval 'grep -q "fragmentation = $fm" "$RUNDIR/B/swanctl.conf" && sw B --load-all --file "$RUNDIR/B/swanctl.conf"'
}

# check_sets WHAT FILTER N: the SKF frames of FILTER are N complete sets
# of one message: fragments 1..total of total (>= 2), each sent N times.
check_sets() {
	local flt=$2 sets=$3
	check "$1 went as $sets complete sets of SKF fragments" eval 'fragsets "$flt" "$sets"'
}
fragsets() {
	fields "$PCAP" "$1 && $SKF" isakmp.messageid isakmp.frag.number isakmp.frag.total |
		"$PY" -c '
import sys
want = int(sys.argv[1])
frames = [l.split() for l in sys.stdin if len(l.split()) == 3]
ids = {f[0] for f in frames}
tots = {int(f[2]) for f in frames}
print("#   SKF frames (n/total): %s" % " ".join("%s/%s" % (f[1], f[2]) for f in frames))
ok = len(ids) == 1 and len(tots) == 1 and min(tots) >= 2
if ok:
    t = min(tots)
    ok = all(sum(1 for f in frames if int(f[1]) == n) == want for n in range(1, t + 1))
sys.exit(0 if ok else 1)' "$2"
}

# drop_once NS SRC N: NS's input drops the first IKE_AUTH (35) SKF fragment
# number N from SRC on port 4500 (offsets in the IKE message, after the
# UDP header and the 4-byte non-ESP marker: next payload 16, exchange
# type 18, SKF fragment number 32).
drop_once() {
	nsx "$1" nft -f - <<EOF || bail "nftables in $1"
table inet ikefrag {
	chain input {
		type filter hook input priority 0; policy accept;
		ip saddr $2 udp sport 4500 @th,64,32 0 @th,224,8 53 @th,240,8 35 @th,352,16 $3 limit rate 1/hour burst 1 packets counter drop
	}
}
EOF
}
dropped() { nsx "$1" nft list table inet ikefrag 2>/dev/null | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'; }
undrop() { nsx "$1" nft delete table inet ikefrag; }

# ---- setup -----------------------------------------------------------------------

topo_up
# strongSwan (kernel-libipsec) routes each local selector from an address
# inside it: give gwB one in each of its extra /24.
for n in 3 4 5 6 7 8 9; do ip -n "$GB" addr add 198.19.$n.1/24 dev lan0; done
swan_frag_conf yes || bail "gwB configuration"
swan_start B "$GB" || bail "gwB start"
esprit_frag_conf || bail "gwA configuration"
start_esprit "$GA" "$TMP/gwA.cfg" || bail "gwA start"
info "identities: gwA fqdn $IDA, gwB fqdn $IDB (${#IDA} characters)"

# ---- 1. both fragment, esprit initiates --------------------------------------------
info "== 1. fragmentation on both sides (gwA $MTU_A, gwB $MTU_B), esprit initiates"
a0=$(ra_a) b0=$(ra_b)
cap_begin p1
up_by gwa
cap_end 4
check_announce A yes
check_announce B yes
check_skf "gwA's IKE_AUTH request" "$(msg auth req A)"
check_skf "gwB's IKE_AUTH response" "$(msg auth resp B)"
check_sizes A "$MTU_A"
check_sizes B "$MTU_B"
no_ip_frags
check "gwB (charon) reassembled gwA's request ($b0 -> $(ra_b))" num_gt "$(ra_b)" "$b0"
check "gwA (esprit) reassembled gwB's response ($a0 -> $(ra_a))" num_gt "$(ra_a)" "$a0"
check "gwB shows the peer identity $IDA" eval 'sw_list B | grep -qF "$IDA"'
check_traffic 2000000
down_by gwa

# ---- 2. both fragment, strongSwan initiates ----------------------------------------
info "== 2. fragmentation on both sides, strongSwan initiates"
a0=$(ra_a) b0=$(ra_b)
cap_begin p2
up_by gwb
cap_end 5
check_announce B yes
check_announce A yes
check_skf "gwB's IKE_AUTH request" "$(msg auth req B)"
check_skf "gwA's IKE_AUTH response" "$(msg auth resp A)"
check_sizes A "$MTU_A"
check_sizes B "$MTU_B"
no_ip_frags
check "gwA (esprit) reassembled gwB's request ($a0 -> $(ra_a))" num_gt "$(ra_a)" "$a0"
check "gwB (charon) reassembled gwA's response ($b0 -> $(ra_b))" num_gt "$(ra_b)" "$b0"
check_traffic 2000000
down_by gwb

# ---- 3. strongSwan accepts fragments but sends none ---------------------------------
info "== 3. strongSwan fragmentation = accept, esprit initiates"
sw_reload accept
a0=$(ra_a) b0=$(ra_b)
cap_begin p3
up_by gwa
cap_end 3
check_announce A yes
check_announce B yes
check_skf "gwA's IKE_AUTH request" "$(msg auth req A)"
check_whole "gwB's IKE_AUTH response" "$(msg auth resp B)" "$MTU_B"
check_sizes A "$MTU_A"
check "gwB (charon) reassembled gwA's request ($b0 -> $(ra_b))" num_gt "$(ra_b)" "$b0"
check_ping "$HA" "$HB4"
check_ping "$HB" "$HA4"
down_by gwa

# ---- 4. strongSwan without fragmentation --------------------------------------------
info "== 4a. strongSwan fragmentation = no, esprit initiates"
sw_reload no
cap_begin p4a
up_by gwa
cap_end 2
check_announce A yes
check_announce B no
check "no SKF payload on the wire ($(count "$SKF"))" num_eq "$(count "$SKF")" 0
check_whole "gwA's IKE_AUTH request" "$(msg auth req A)" "$MTU_A"
check_whole "gwB's IKE_AUTH response" "$(msg auth resp B)" "$MTU_B"
check_ping "$HA" "$HB4"
check_ping "$HB" "$HA4"
down_by gwa

info "== 4b. strongSwan fragmentation = no, strongSwan initiates"
cap_begin p4b
up_by gwb
cap_end 2
check_announce B no
check_announce A no
check "no SKF payload on the wire ($(count "$SKF"))" num_eq "$(count "$SKF")" 0
check_whole "gwA's IKE_AUTH response" "$(msg auth resp A)" "$MTU_A"
check_ping "$HA" "$HB4"
check_ping "$HB" "$HA4"
down_by gwb

# ---- 5. a lost fragment: retransmissions (RFC 7383 2.6.1) --------------------------
info "== 5a. fragmentation on both sides, esprit initiates, gwB's first response fragment lost once"
sw_reload yes
drop_once "$GA" "$GB4" 1
cap_begin p5a
up_by gwa
cap_end 8
check "gwA's input dropped one packet (gwB's IKE_AUTH response fragment 1)" num_eq "$(dropped "$GA")" 1
check_sets "gwA's IKE_AUTH request (esprit retransmits all fragments)" "$(msg auth req A)" 2
check_sets "gwB's IKE_AUTH response (sent again for the retransmission)" "$(msg auth resp B)" 2
check_sizes A "$MTU_A"
check_ping "$HA" "$HB4"
check_ping "$HB" "$HA4"
down_by gwa
undrop "$GA"

info "== 5b. fragmentation on both sides, strongSwan initiates, gwA's last response fragment lost once"
drop_once "$GB" "$GA4" 2
cap_begin p5b
up_by gwb
cap_end 10
check "gwB's input dropped one packet (gwA's IKE_AUTH response fragment 2)" num_eq "$(dropped "$GB")" 1
check_sets "gwB's IKE_AUTH request (strongSwan retransmits all fragments)" "$(msg auth req B)" 2
check_sets "gwA's IKE_AUTH response (sent again on fragment 1 only)" "$(msg auth resp A)" 2
check_ping "$HA" "$HB4"
check_ping "$HB" "$HA4"
down_by gwb
undrop "$GB"
stop_esprit "$GA"
finish
