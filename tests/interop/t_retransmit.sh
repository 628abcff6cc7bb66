#!/bin/bash
# IKEv2 retransmission (RFC 7296 sections 2.1 and 2.4) against strongSwan,
# in both roles (AES-GCM-256, PRF-SHA256, group 19, tunnel), when one IKE
# message is lost on the WAN. The initiator must send the same request
# again, with the same message ID, until it is answered; the responder
# must keep its last response and send it again, unchanged, when that
# request comes again, without processing the request a second time.
# A loss is an nftables rule in the receiving gateway's namespace (input
# hook, UDP 4500, non-ESP marker, IKE exchange type and response flag
# matched as raw bytes): the first such message from the peer is dropped
# and remembered in a dynamic set, the later ones pass; the rule's
# counter must say exactly one was lost. Every phase is captured on gwA's
# wan0, which sees both directions before either drop point.
# espritd retransmits after 0.5 s (doubling), charon after 2 s
# (lib.sh: retransmit_timeout = 2). charon deletes the inbound SA of a
# rekeyed child 1 s after the rekey here (charon.delete_rekeyed_delay = 1,
# strongSwan's default 5), so the old SPIs leave gwB's list (the "gwB: the
# child has new SPIs" checks below) about 1 s after the rekey instead of 5.
#   0. control, no loss: gwA (esprit) initiates, gwB (strongSwan) rekeys
#      the child, gwB initiates: one IKE_AUTH request and one response
#      each time, one CREATE_CHILD_SA request and response, nobody logs a
#      retransmission (the negative case of every capture check below).
#   1. esprit initiates, its first IKE_AUTH request is lost: esprit logs
#      the retransmission of request 1; the capture holds the request
#      twice, byte for byte the same, message ID 1, 0.4 s or more apart;
#      charon parsed it once and answered once; the SA comes up (one IKE
#      and one child SA each side), traffic passes.
#   2. esprit initiates, strongSwan's first IKE_AUTH response is lost:
#      esprit retransmits the identical request, charon logs that it
#      answers a retransmit with its stored response and parsed the
#      request once; the two responses on the wire are identical; one
#      IKE SA and one child SA each side; traffic passes.
#   3. strongSwan initiates, esprit's first IKE_AUTH response is lost:
#      charon retransmits request 1 (identical bytes); esprit logs
#      "retransmitted request 1, resending response" once, sends the same
#      bytes again, installs the child once, has one IKE SA and one child
#      SA (gwB too); traffic passes.
#   4. strongSwan rekeys the child (swanctl --rekey --child net) and
#      esprit's first CREATE_CHILD_SA response is lost: the same checks
#      for that exchange; esprit installs one new child SA, not two, and
#      ends with one child SA whose SPIs are gwB's.
#   5. esprit rekeys the child (`rekey crypto ipsec sa`) and strongSwan's
#      first CREATE_CHILD_SA response is lost: esprit retransmits the
#      identical request, charon answers from its stored response and
#      parsed the request once; one new child SA each side.
# In phases 1-5 esprit's IKE drop counters (show crypto ikev2 stats) must
# not move: a retransmitted request is answered, not dropped.
. "$(dirname "$0")/lib.sh"
iop_init
command -v tshark >/dev/null || skip "needs tshark"
command -v dumpcap >/dev/null || skip "needs dumpcap"
command -v nft >/dev/null || skip "needs nft (nftables)"
[ "$GWA_IMPL" = esprit ] || skip "esprit-only scenario (its logs and show commands are checked)"
prop_set gcm
XFER=1000000

# ---- losing one message ------------------------------------------------------------
# Offsets in the UDP datagram (nft @th counts bits from the UDP header):
# header 8 bytes, non-ESP marker 4, then the IKE header: exchange type at
# byte 30 (bit 240), flags at byte 31 (bit 248), message ID at 32 (bit 256).
EX_AUTH=35 EX_CCS=36

# lose NS EXCH REQ|RESP: NS drops the first message of exchange EXCH of
# that kind arriving on UDP 4500 from each source address; the rest pass.
lose() {
	local ns=$1 ex=$2 r m
	[ "$3" = RESP ] && r=0x20 || r=0x00
	m="udp dport 4500 @th,64,32 0 @th,240,8 $ex @th,248,8 & 0x20 == $r"
	nsx "$ns" nft -f - <<EOF
table ip retx {
	set seen {
		type ipv4_addr
		flags dynamic
	}
	chain input {
		type filter hook input priority -10; policy accept;
		$m ip saddr @seen counter accept comment "passed"
		$m add @seen { ip saddr } counter drop comment "lost"
	}
}
EOF
}
# nft_count NS passed|lost: that rule's packet counter
nft_count() {
	nsx "$1" nft list chain ip retx input 2>/dev/null |
		sed -n "s/.*counter packets \([0-9]*\) bytes.*comment \"$2\".*/\1/p"
}
unlose() { nsx "$1" nft delete table ip retx; }

# ---- evidence ------------------------------------------------------------------------
IKEF="udp port 500 or (udp port 4500 and udp[8:4] = 0)"
# one line per IKE message of the capture: time src msgid payload(hex)
rows() { # PCAP EXCH REQ|RESP SRC
	local r
	[ "$3" = RESP ] && r=1 || r=0
	timeout 120 tshark -n -r "$1" \
		-Y "isakmp.exchangetype == $2 && isakmp.flag_r == $r && ip.src == $4" \
		-T fields -E separator=' ' -e frame.time_relative -e ip.src -e isakmp.messageid -e udp.payload 2>/dev/null | tr -d :
}
nrows() { rows "$@" | wc -l; }
# same_twice PCAP EXCH KIND SRC [MSGID]: exactly two such messages, the
# same bytes (and message ID MSGID if given)
same_twice() {
	local -a r
	mapfile -t r < <(rows "$@" | awk '{print $3, $4}')
	[ ${#r[@]} = 2 ] && [ -n "${r[0]#* }" ] && [ "${r[0]}" = "${r[1]}" ] || return 1
	[ -z "${5:-}" ] || [ $((${r[0]%% *})) = "$5" ]
}
# gap PCAP EXCH KIND SRC: seconds between the first two
gap() { rows "$@" | awk 'NR == 1 {t = $1} NR == 2 {printf "%.2f", $1 - t}'; }
show_rows() { # PCAP EXCH KIND SRC: for the report
	rows "$@" | while read -r t s id p; do
		printf '#   %s %s %s msgid %s, %d bytes, digest %s\n' "$t" "$s" "$3" "$id" $((${#p} / 2)) \
			"$(echo "$p" | sha1sum | cut -c1-12)"
	done
}

ELOG() { cat "${DAEMON_LOG[$GA]}"; }
CLOG() { grep -v 'vici client' "$RUNDIR/B/charon.log"; }
# mark: remember the length of both logs; elog/clog: the lines since
mark() { EL=$(ELOG | wc -l) CL=$(CLOG | wc -l); }
elog() { ELOG | tail -n +$((EL + 1)); }
clog() { CLOG | tail -n +$((CL + 1)); }
n_of() { grep -cE "$1"; } # stdin: lines matching

# SA counts on each side
esprit_ikes() { ike_count "$GA"; }
esprit_children() { esprit_inbound_spis | sort -u | grep -c .; }
sw_ikes() { sw_list B | grep -cE '^lab: #[0-9]+, '; }
sw_children() { sw_list B | grep -cE '^ *net: #[0-9]+, reqid [0-9]+, INSTALLED'; }
# check_one_each WHAT: one IKE SA and one child SA on each side
check_one_each() {
	local a b c d
	a=$(esprit_ikes) b=$(esprit_children) c=$(sw_ikes) d=$(sw_children)
	check "$1: one IKE SA and one child SA on each side (gwA $a/$b, gwB $c/$d)" \
		eval 'num_eq "$a" 1 && num_eq "$b" 1 && num_eq "$c" 1 && num_eq "$d" 1'
}
# the child SPIs cross: gwA's inbound SPI is gwB's outbound one
spis_cross() {
	local a b
	a=$(esprit_inbound_spis | sort -u)
	b=$(sw_list B | sed -n 's/^ *out \([0-9a-f]\{8\}\).*/\1/p' | sort -u)
	[ -n "$a" ] && [ "$a" = "$b" ]
}

# IKE messages esprit dropped (show crypto ikev2 stats, every reason): a
# retransmitted request is answered from the cache, not dropped
edrops() { cli "$GA" --json show crypto ikev2 stats | "$PY" -c 'import json,sys; print(sum(json.load(sys.stdin)["drops"].values()))'; }
check_no_drops() {
	local n
	n=$(edrops)
	check "gwA dropped no IKE message in this phase ($D0 -> $n)" eval 'num_eq "$n" "$D0"'
}

# phase_start NAME: capture on gwA's wan0, log marks, esprit's drop count
phase_start() {
	P=$TMP/$1.pcap
	mark
	D0=$(edrops)
	capture_start "$GA" wan0 "$P" 65535 "$IKEF" || bail "capture on gwA wan0"
}

retx_req_re() { echo "retransmitting request $1 \\(try 2\\)"; }
resend_re() { echo "retransmitted request $1, resending response"; }

# gwB's charon: delete_rekeyed_delay = 1 (see above).
eval "$(declare -f swan_write_conf | sed '1s/^swan_write_conf/iop_swan_write_conf/')"
swan_write_conf() {
	iop_swan_write_conf "$@"
	sed -i 's/^  retransmit_timeout = 2$/&\n  delete_rekeyed_delay = 1/' "$RUNDIR/$1/strongswan.conf"
	grep -q "^  delete_rekeyed_delay = 1$" "$RUNDIR/$1/strongswan.conf" ||
		bail "sed did not put delete_rekeyed_delay into gw$1's strongswan.conf"
}

iop_setup
sw_logs_ok=$(grep -c 'ike = 2' "$RUNDIR/B/strongswan.conf")
check "gwB's charon logs IKE at level 2 and retransmits after 2 s" \
	eval '[ "$sw_logs_ok" = 1 ] && grep -q "retransmit_timeout = 2" "$RUNDIR/B/strongswan.conf"'

# ---- 0. control ------------------------------------------------------------------------
info "== 0. control: no loss"
phase_start c0
up_by gwa
check_ping "$HA" "$HB4"
old=$(sw_child_spis B)
check "swanctl --rekey --child net on gwB" sw B --rekey --child net
check "gwB: the child has new SPIs" wait_for 15 eval '[ -n "$(sw_child_spis B)" ] && [ -z "$(comm -12 <(echo "$old") <(sw_child_spis B))" ]'
down_by gwa
up_by gwb
down_by gwb
capture_stop
na=$(nrows "$P" $EX_AUTH REQ $GA4) nb=$(nrows "$P" $EX_AUTH RESP $GB4)
check "gwA initiating: one IKE_AUTH request, one response on the wire ($na, $nb)" eval 'num_eq "$na" 1 && num_eq "$nb" 1'
na=$(nrows "$P" $EX_AUTH REQ $GB4) nb=$(nrows "$P" $EX_AUTH RESP $GA4)
check "gwB initiating: one IKE_AUTH request, one response on the wire ($na, $nb)" eval 'num_eq "$na" 1 && num_eq "$nb" 1'
na=$(nrows "$P" $EX_CCS REQ $GB4) nb=$(nrows "$P" $EX_CCS RESP $GA4)
check "gwB's child rekey: one CREATE_CHILD_SA request, one response ($na, $nb)" eval 'num_eq "$na" 1 && num_eq "$nb" 1'
n=$(elog | n_of 'retransmitting request|retransmitted request')
check "gwA logged no retransmission ($n)" num_eq "$n" 0
n=$(clog | n_of 'retransmit')
check "gwB logged no retransmission ($n)" num_eq "$n" 0

# ---- 1. esprit's IKE_AUTH request lost ----------------------------------------------
info "== 1. gwA (esprit) initiates, its first IKE_AUTH request is lost"
lose "$GB" $EX_AUTH REQ || bail "nft rule in gwB"
phase_start c1
up_by gwa
capture_stop
lost=$(nft_count "$GB" lost) passed=$(nft_count "$GB" passed)
unlose "$GB"
check "gwB lost one IKE_AUTH request, let the next pass ($lost, $passed)" eval 'num_eq "$lost" 1 && num_eq "$passed" 1'
show_rows "$P" $EX_AUTH REQ $GA4
show_rows "$P" $EX_AUTH RESP $GB4
check "gwA sent IKE_AUTH request 1 twice, the same bytes" same_twice "$P" $EX_AUTH REQ $GA4 1
g=$(gap "$P" $EX_AUTH REQ $GA4)
check "gwA waited before retransmitting (${g:-?} s >= 0.4)" eval '[ -n "$g" ] && awk "BEGIN {exit !($g >= 0.4)}"'
n=$(nrows "$P" $EX_AUTH RESP $GB4)
check "gwB answered once ($n)" num_eq "$n" 1
n=$(elog | n_of "$(retx_req_re 1)")
check "gwA logged the retransmission of request 1 ($n)" num_eq "$n" 1
n=$(clog | n_of 'parsed IKE_AUTH request 1 ')
check "gwB parsed IKE_AUTH request 1 once ($n)" num_eq "$n" 1
check_no_drops
check_one_each "after the lost request"
check "the child SPIs cross (gwA inbound = gwB outbound)" spis_cross
check_traffic $XFER
down_by gwa

# ---- 2. strongSwan's IKE_AUTH response lost -----------------------------------------
info "== 2. gwA (esprit) initiates, gwB's first IKE_AUTH response is lost"
lose "$GA" $EX_AUTH RESP || bail "nft rule in gwA"
phase_start c2
up_by gwa
capture_stop
lost=$(nft_count "$GA" lost) passed=$(nft_count "$GA" passed)
unlose "$GA"
check "gwA lost one IKE_AUTH response, let the next pass ($lost, $passed)" eval 'num_eq "$lost" 1 && num_eq "$passed" 1'
show_rows "$P" $EX_AUTH REQ $GA4
show_rows "$P" $EX_AUTH RESP $GB4
check "gwA sent IKE_AUTH request 1 twice, the same bytes" same_twice "$P" $EX_AUTH REQ $GA4 1
check "gwB sent its IKE_AUTH response 1 twice, the same bytes" same_twice "$P" $EX_AUTH RESP $GB4 1
n=$(elog | n_of "$(retx_req_re 1)")
check "gwA logged the retransmission of request 1 ($n)" num_eq "$n" 1
clog | grep -E 'retransmit|IKE_AUTH' | sed 's/^/#   gwB: /'
n=$(clog | n_of 'received retransmit of request with ID 1, retransmitting response')
check "gwB answered the retransmit from its stored response ($n)" num_eq "$n" 1
n=$(clog | n_of 'parsed IKE_AUTH request 1 ')
check "gwB parsed IKE_AUTH request 1 once ($n)" num_eq "$n" 1
n=$(elog | n_of 'Child SA .* installed')
check "gwA installed the child once ($n)" num_eq "$n" 1
check_no_drops
check_one_each "after the lost response"
check "the child SPIs cross (gwA inbound = gwB outbound)" spis_cross
check_traffic $XFER
down_by gwa

# ---- 3. esprit's IKE_AUTH response lost ---------------------------------------------
info "== 3. gwB (strongSwan) initiates, gwA's first IKE_AUTH response is lost"
lose "$GB" $EX_AUTH RESP || bail "nft rule in gwB"
phase_start c3
up_by gwb
capture_stop
lost=$(nft_count "$GB" lost) passed=$(nft_count "$GB" passed)
unlose "$GB"
check "gwB lost one IKE_AUTH response, let the next pass ($lost, $passed)" eval 'num_eq "$lost" 1 && num_eq "$passed" 1'
show_rows "$P" $EX_AUTH REQ $GB4
show_rows "$P" $EX_AUTH RESP $GA4
check "gwB sent IKE_AUTH request 1 twice, the same bytes" same_twice "$P" $EX_AUTH REQ $GB4 1
check "gwA sent its IKE_AUTH response 1 twice, the same bytes" same_twice "$P" $EX_AUTH RESP $GA4 1
n=$(clog | n_of 'retransmit 1 of request with message ID 1')
check "gwB logged its retransmission of request 1 ($n)" num_eq "$n" 1
n=$(clog | n_of 'parsed IKE_AUTH response 1 ')
check "gwB parsed IKE_AUTH response 1 once ($n)" num_eq "$n" 1
elog | grep -E 'retransmit|installed|authenticated' | sed 's/^/#   gwA: /'
n=$(elog | n_of "$(resend_re 1)")
check "gwA logged one resent response to request 1 ($n)" num_eq "$n" 1
n=$(elog | n_of 'authenticated with pre-shared key')
check "gwA authenticated the peer once ($n)" num_eq "$n" 1
n=$(elog | n_of 'Child SA .* installed')
check "gwA installed the child once ($n)" num_eq "$n" 1
check_no_drops
check_one_each "after the lost response"
check "the child SPIs cross (gwA inbound = gwB outbound)" spis_cross
check_traffic $XFER

# ---- 4. esprit's CREATE_CHILD_SA response lost --------------------------------------
info "== 4. gwB (strongSwan) rekeys the child, gwA's first CREATE_CHILD_SA response is lost"
old=$(sw_child_spis B) olda=$(esprit_inbound_spis | sort -u)
lose "$GB" $EX_CCS RESP || bail "nft rule in gwB"
phase_start c4
check "swanctl --rekey --child net on gwB" sw B --rekey --child net
check "gwB: the child has new SPIs (was $(echo $old))" \
	wait_for 15 eval 'sw_child_up B && [ -n "$(sw_child_spis B)" ] && [ -z "$(comm -12 <(echo "$old") <(sw_child_spis B))" ]'
check "gwA: the old inbound SA $olda is gone, one child left" \
	wait_for 15 eval '[ "$(esprit_children)" = 1 ] && [ "$(esprit_inbound_spis | sort -u)" != "$olda" ]'
capture_stop
lost=$(nft_count "$GB" lost) passed=$(nft_count "$GB" passed)
unlose "$GB"
check "gwB lost one CREATE_CHILD_SA response, let the next pass ($lost, $passed)" eval 'num_eq "$lost" 1 && num_eq "$passed" 1'
show_rows "$P" $EX_CCS REQ $GB4
show_rows "$P" $EX_CCS RESP $GA4
mid=$(rows "$P" $EX_CCS REQ $GB4 | awk 'NR == 1 {print $3}')
mid=$((${mid:-0}))
check "gwB sent CREATE_CHILD_SA request $mid twice, the same bytes" same_twice "$P" $EX_CCS REQ $GB4 "$mid"
check "gwA sent its CREATE_CHILD_SA response $mid twice, the same bytes" same_twice "$P" $EX_CCS RESP $GA4 "$mid"
n=$(clog | n_of "retransmit 1 of request with message ID $mid\$")
check "gwB logged its retransmission of request $mid ($n)" num_eq "$n" 1
elog | grep -E 'retransmit|installed|replaced|deleted' | sed 's/^/#   gwA: /'
n=$(elog | n_of "$(resend_re "$mid")")
check "gwA logged one resent response to request $mid ($n)" num_eq "$n" 1
n=$(elog | n_of 'Child SA .* installed')
check "gwA installed one new child SA, not two ($n)" num_eq "$n" 1
check_no_drops
check_one_each "after the lost rekey response"
check "the child SPIs cross (gwA inbound = gwB outbound)" spis_cross
check_ping "$HA" "$HB4"
check_ping "$HB" "$HA4"

# ---- 5. strongSwan's CREATE_CHILD_SA response lost ----------------------------------
info "== 5. gwA (esprit) rekeys the child, gwB's first CREATE_CHILD_SA response is lost"
old=$(sw_child_spis B) olda=$(esprit_inbound_spis | sort -u)
lose "$GA" $EX_CCS RESP || bail "nft rule in gwA"
phase_start c5
check "gwA starts a child rekey (rekey crypto ipsec sa)" gwa_rekey_child
check "gwB: the child has new SPIs (was $(echo $old))" \
	wait_for 15 eval 'sw_child_up B && [ "$(sw_children)" = 1 ] && [ -z "$(comm -12 <(echo "$old") <(sw_child_spis B))" ]'
check "gwA: the old inbound SA $olda is gone, one child left" \
	wait_for 15 eval '[ "$(esprit_children)" = 1 ] && [ "$(esprit_inbound_spis | sort -u)" != "$olda" ]'
capture_stop
lost=$(nft_count "$GA" lost) passed=$(nft_count "$GA" passed)
unlose "$GA"
check "gwA lost one CREATE_CHILD_SA response, let the next pass ($lost, $passed)" eval 'num_eq "$lost" 1 && num_eq "$passed" 1'
show_rows "$P" $EX_CCS REQ $GA4
show_rows "$P" $EX_CCS RESP $GB4
mid=$(rows "$P" $EX_CCS REQ $GA4 | awk 'NR == 1 {print $3}')
mid=$((${mid:-0}))
check "gwA sent CREATE_CHILD_SA request $mid twice, the same bytes" same_twice "$P" $EX_CCS REQ $GA4 "$mid"
check "gwB sent its CREATE_CHILD_SA response $mid twice, the same bytes" same_twice "$P" $EX_CCS RESP $GB4 "$mid"
n=$(elog | n_of "$(retx_req_re "$mid")")
check "gwA logged the retransmission of request $mid ($n)" num_eq "$n" 1
clog | grep -E 'retransmit|CREATE_CHILD_SA' | sed 's/^/#   gwB: /'
n=$(clog | n_of "received retransmit of request with ID $mid, retransmitting response")
check "gwB answered the retransmit from its stored response ($n)" num_eq "$n" 1
n=$(clog | n_of "parsed CREATE_CHILD_SA request $mid ")
check "gwB parsed CREATE_CHILD_SA request $mid once ($n)" num_eq "$n" 1
n=$(elog | n_of 'Child SA .* installed')
check "gwA installed one new child SA, not two ($n)" num_eq "$n" 1
check_no_drops
check_one_each "after the lost rekey response"
check "the child SPIs cross (gwA inbound = gwB outbound)" spis_cross
check_ping "$HA" "$HB4"
check_ping "$HB" "$HA4"
gwa_show
down_by gwb
iop_teardown
info "$T_NAME: ${SECONDS} s"
finish
