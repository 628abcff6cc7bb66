#!/bin/bash
# Dead peer detection (RFC 7296 2.4) against strongSwan (AES-GCM-256,
# group 19, tunnel). gwA (esprit) runs `dpd 10 2 periodic restart`: an
# empty INFORMATIONAL request when nothing protected came from gwB for
# 10 s, an unanswered one sent five times in all, gwB dead 5 x 2 s after
# the first send (at most 10 + 5 x 2 = 20 s after it went silent), then
# esprit initiates again by itself (docs/configuration.md). gwB (strongSwan)
# starts with no dpd_delay, later dpd_delay = 2s; its child has
# dpd_action = clear. All IKE messages are captured on gwB's WAN.
#   1. esprit probes: gwA initiates, then idle: esprit sends an empty
#      INFORMATIONAL request, strongSwan parses it ("[ ]") and answers; on
#      the wire one request from gwA and one response from gwB, and no
#      INFORMATIONAL request from gwB (its DPD is off: the control for 3.).
#   2. esprit detects a dead strongSwan: charon is stopped (SIGSTOP) right
#      after the answer; the next periodic DPD goes out 10 s later, five
#      sends of one message ID, none answered, each gap at least 1.3 times
#      the one before (2.4: "retransmission times MUST increase
#      exponentially"; esprit up to now sends them 2 s apart); gwA
#      declares gwB dead within 20 s (+4) of the stop and 10 s after that DPD, logs
#      action restart, removes its child SAs and sends IKE_SA_INIT at once.
#      charon continues (SIGCONT): the IKE SA and the child come back with
#      no host traffic, strongSwan keeps one IKE SA; pings and 5 MB TCP
#      both ways.
#   3. strongSwan probes: gwB reloads with dpd_delay = 2s, deletes the IKE
#      SA and initiates a new one; 13 s idle: gwB sends INFORMATIONAL
#      requests (charon: "sending DPD request"), each answered by gwA on
#      the wire; esprit sends no DPD of its own (the requests are fresh
#      protected messages: 2.4); both keep the SAs, pings both ways.
#   4. strongSwan detects a dead esprit: espritd is stopped (SIGSTOP);
#      charon's DPD request goes unanswered (4 sends of one message ID),
#      charon gives up and removes its SAs (dpd_action = clear) within 35 s.
#      gwB's strongswan.conf has retransmit_base = 1.3 (strongSwan's
#      default 1.8) next to lib.sh's retransmit_timeout = 2 and
#      retransmit_tries = 3: the sends are 2, 2.6 and 3.4 s apart and charon
#      gives up 4.4 s after the last, 12.4 s after the first (23.7 s with
#      1.8). espritd continues and must exit cleanly on SIGTERM.
# About 80 s.
. "$(dirname "$0")/lib.sh"
iop_init
[ "$GWA_IMPL" = esprit ] || skip "esprit's DPD settings and log: gwA must be esprit"
prop_set gcm

ES_DPD="dpd 10 2 periodic restart"
SW_DPD=0 # gwB's dpd_delay in seconds; 0 = none (strongSwan's default)

# gwA's generated profile gets ES_DPD instead of `dpd 10 3 on-demand`;
# gwB's connection gets dpd_delay when SW_DPD is set.
eval "$(declare -f esprit_write_conf | sed '1s/^esprit_write_conf/iop_esprit_write_conf/')"
esprit_write_conf() {
	iop_esprit_write_conf "$1"
	sed -i "s/^ dpd .*/ $ES_DPD/" "$1"
	grep -q "^ $ES_DPD\$" "$1" || bail "sed did not put '$ES_DPD' into gwA's config"
}
eval "$(declare -f swan_write_swanctl | sed '1s/^swan_write_swanctl/iop_swan_write_swanctl/')"
swan_write_swanctl() {
	iop_swan_write_swanctl "$@"
	[ "$SW_DPD" = 0 ] && return 0
	sed -i "s/^    encap = yes\$/&\n    dpd_delay = ${SW_DPD}s/" "$RUNDIR/$1/swanctl.conf"
	grep -q "^    dpd_delay = ${SW_DPD}s\$" "$RUNDIR/$1/swanctl.conf" ||
		bail "sed did not put dpd_delay into gw$1's swanctl.conf"
}

# gwB's charon retransmits with growing gaps as before, only by 1.3 (see 4.).
eval "$(declare -f swan_write_conf | sed '1s/^swan_write_conf/iop_swan_write_conf/')"
swan_write_conf() {
	iop_swan_write_conf "$@"
	sed -i 's/^  retransmit_timeout = 2$/&\n  retransmit_base = 1.3/' "$RUNDIR/$1/strongswan.conf"
	grep -q "^  retransmit_base = 1.3$" "$RUNDIR/$1/strongswan.conf" ||
		bail "sed did not put retransmit_base into gw$1's strongswan.conf"
}

IKE_FILTER="udp port 500 or (udp port 4500 and udp[8:4] = 0)"
iop_setup
LOG_A=${DAEMON_LOG[$GA]}
LOG_B=$RUNDIR/B/charon.log
cli "$GA" debug crypto ikev2 >/dev/null

DPD_SENT="DPD request sent"
DPD_OK="DPD answered"
DEAD="peer is not answering, IKE SA declared dead"

nlines() { grep -cF -e "$2" "$1"; }
log_ge() { [ "$(nlines "$LOG_A" "$1")" -ge "$2" ]; }
# Seconds of the day (with ms) of the Nth line of gwA's log holding a
# fixed string (esprit's lines start with HH:MM:SS.mmm), and of now.
log_time() {
	grep -F -e "$1" "$LOG_A" | sed -n "${2}p" |
		awk '{ split($1, t, ":"); printf "%.3f\n", t[1] * 3600 + t[2] * 60 + t[3] }'
}
now_s() { date +%T.%N | awk '{ split($1, t, ":"); printf "%.3f\n", t[1] * 3600 + t[2] * 60 + t[3] }'; }
# between LO HI A B: LO <= B - A <= HI (seconds, fractional).
between() { awk -v lo="$1" -v hi="$2" -v a="$3" -v b="$4" 'BEGIN { d = b - a; if (d < 0) d += 86400; exit !(a != "" && b != "" && d >= lo && d <= hi) }'; }
diff_s() { awk -v a="$1" -v b="$2" 'BEGIN { d = b - a; if (d < 0) d += 86400; printf "%.1f", d }'; }

# The pid of a daemon under its timeout wrapper.
child_of_wrapper() { pgrep -P "$1" | head -n 1; }

# ike_msgs PCAP [FILTER]: one line per IKE message on the wire:
# "EPOCH SRC EXCHANGE R MSGID" (R: 1 = response).
ike_msgs() {
	timeout 60 tshark -n -r "$1" -Y "isakmp${2:+ && ($2)}" -T fields -E occurrence=f \
		-e frame.time_epoch -e ip.src -e isakmp.exchangetype -e isakmp.flag_r -e isakmp.messageid \
		2>/dev/null | awk '{ r = ($4 == "1" || $4 == "True") ? 1 : 0; print $1, $2, $3, r, $5 + 0 }'
}
# count_msgs FILE SRC EXCH R [MSGID]: lines of an ike_msgs listing.
count_msgs() {
	awk -v s="$2" -v x="$3" -v r="$4" -v m="${5:-}" \
		'$2 == s && $3 == x && $4 == r && (m == "" || $5 == m) { n++ } END { print n + 0 }' "$1"
}
one_ike_sa_b() { [ "$(sw_ike_ids B | wc -l)" = 1 ]; }
both_up() { esprit_child_up && sw_child_up B; }

info "== 1. esprit probes an idle strongSwan (gwA: $ES_DPD; gwB: no dpd_delay)"
capture_start "$GB" wan0 "$TMP/p12.pcap" 65535 "$IKE_FILTER" || bail "no IKE capture on gwB"
up_by gwa
check_ping "$HA" "$HB4"
check_ping "$HB" "$HA4"
# Idle from here: the DPD is due 10 s after the last protected packet
# from gwB (the ping replies count).
check "idle: gwA sends a DPD within 14 s" wait_for 14 log_ge "$DPD_SENT" 1
check "gwB answers it" wait_for 5 log_ge "$DPD_OK" 1
# 2. starts here: stop charon right after the answer.
CHARON_B=$(child_of_wrapper "${SWAN_PID[B]}")
[ -n "$CHARON_B" ] || bail "no charon process under ${SWAN_PID[B]}"
kill -STOP "$CHARON_B"
t_stop=$(now_s) e_stop=$(date +%s.%N)
t_ok=$(log_time "$DPD_OK" 1)
info "charon (pid $CHARON_B) stopped $(diff_s "$t_ok" "$t_stop") s after the DPD answer"
check "gwA's DPD is an empty INFORMATIONAL request (exch 37, 0 payloads)" \
	grep -qE "send request exch 37 msgid [0-9]+, 0 payloads" "$LOG_A"
check "charon parsed an empty INFORMATIONAL request and answered it" \
	eval 'grep -qE "parsed INFORMATIONAL request [0-9]+ \[ \]" "$LOG_B" &&
		grep -qE "generating INFORMATIONAL response [0-9]+ \[ \]" "$LOG_B"'

info "== 2. charon stopped: esprit declares gwB dead, restarts"
check "the next periodic DPD goes out 10 s after the answer" wait_for 13 log_ge "$DPD_SENT" 2
t_2=$(log_time "$DPD_SENT" 2)
check "  ... $(diff_s "$t_ok" "$t_2") s after it (9.5..12)" between 9.5 12 "$t_ok" "$t_2"
check "gwA declares gwB dead within 10 + 5 x 2 s (+4) of the stop" wait_for 25 log_ge "$DEAD" 1
t_dead=$(log_time "$DEAD" 1)
info "dead $(diff_s "$t_stop" "$t_dead") s after the stop, $(diff_s "$t_2" "$t_dead") s after the unanswered DPD"
check "  ... at most 24 s after the stop ($(diff_s "$t_stop" "$t_dead"))" between 0 24 "$t_stop" "$t_dead"
check "  ... 10 s (9.5..12) after the first unanswered DPD ($(diff_s "$t_2" "$t_dead"))" \
	between 9.5 12 "$t_2" "$t_dead"
check "gwA logs the death with action restart" eval 'grep -F "$DEAD" "$LOG_A" | grep -qF "(action restart)"'
check "gwA's daemon removes the IKE SA (IKE SA gone, action restart)" grep -qF "IKE SA gone (action restart)" "$LOG_A"
check "gwA has no child SA left" esprit_no_sa
check "gwA has no READY IKE SA" eval '! ike_ready "$GA"'
check "restart: gwA sends IKE_SA_INIT by itself (seen on gwB's WAN)" \
	wait_for 5 capture_has "$TMP/p12.pcap" \
	"frame.time_epoch > $e_stop && ip.src == $GA4 && isakmp.exchangetype == 34 && isakmp.flag_r == 0"
t_cont=$(date +%s.%N)
kill -CONT "$CHARON_B"
info "charon continued $(diff_s "$t_stop" "$(now_s)") s after the stop"
check "the IKE SA and the child come back without host traffic" wait_for 20 both_up
check "gwB keeps one IKE SA (the old one replaced: $(echo $(sw_ike_ids B)))" wait_for 10 one_ike_sa_b
gwa_show
check_traffic
capture_stop
ike_msgs "$TMP/p12.pcap" "frame.time_epoch < $t_cont" >"$TMP/p12.txt"
sed 's/^/#   wire: /' "$TMP/p12.txt"
m1=$(awk -v s="$GA4" '$2 == s && $3 == 37 && $4 == 0 { print $5; exit }' "$TMP/p12.txt")
m2=$(awk -v s="$GA4" -v a="${m1:-x}" '$2 == s && $3 == 37 && $4 == 0 && $5 != a { print $5; exit }' "$TMP/p12.txt")
n=$(count_msgs "$TMP/p12.txt" "$GA4" 37 0 "${m1:-x}") r=$(count_msgs "$TMP/p12.txt" "$GB4" 37 1 "${m1:-x}")
check "wire: first DPD (msgid ${m1:-none}) sent once by gwA ($n), answered once by gwB ($r)" \
	eval '[ "$n" = 1 ] && [ "$r" = 1 ]'
n=$(count_msgs "$TMP/p12.txt" "$GA4" 37 0 "${m2:-x}") r=$(count_msgs "$TMP/p12.txt" "$GB4" 37 1 "${m2:-x}")
check "wire: DPD to the stopped charon (msgid ${m2:-none}) sent 5 times ($n), never answered ($r)" \
	eval '[ "$n" = 5 ] && [ "$r" = 0 ]'
# 2.4: "retransmission times MUST increase exponentially": each gap
# between the sends at least 1.3 times the one before.
gaps=$(awk -v s="$GA4" -v m="${m2:-x}" '$2 == s && $3 == 37 && $4 == 0 && $5 == m { print $1 }' "$TMP/p12.txt" |
	awk 'NR > 1 { g = $1 - p; printf "%s%.2f", n++ ? " " : "", g; if (NR > 2 && g < 1.3 * pg) bad = 1; pg = g }
		{ p = $1 } END { if (n != 4 || bad) printf " BAD" }')
check "wire: its retransmission gaps grow exponentially (2.4: $gaps s)" not_grep BAD <<<"$gaps"
n=$(count_msgs "$TMP/p12.txt" "$GB4" 37 0)
check "wire: no INFORMATIONAL request from gwB (its DPD is off: $n)" [ "$n" = 0 ]

info "== 3. strongSwan probes esprit (gwB: dpd_delay = 2s)"
SW_DPD=2
swan_write_swanctl B "$GB4" "$(gwa_seen)" "$(ts_b)" "$(ts_a)" "$GB4" "$(gwa_addr)"
check "gwB reloads its connection with dpd_delay = 2s" sw B --load-all --file "$RUNDIR/B/swanctl.conf"
down_by gwb
capture_start "$GB" wan0 "$TMP/p3.pcap" 65535 "$IKE_FILTER" || bail "no IKE capture on gwB"
up_by gwb
check_ping "$HA" "$HB4"
check_ping "$HB" "$HA4"
es0=$(nlines "$LOG_A" "$DPD_SENT") sw0=$(nlines "$LOG_B" "sending DPD request")
sleep 13
es1=$(nlines "$LOG_A" "$DPD_SENT") sw1=$(nlines "$LOG_B" "sending DPD request")
check "charon sent DPD requests during 13 s idle ($((sw1 - sw0)))" [ $((sw1 - sw0)) -ge 4 ]
check "esprit sent no DPD of its own: gwB's requests prove it alive ($((es1 - es0)))" [ "$es1" = "$es0" ]
check "both sides keep the SAs" both_up
check_ping "$HA" "$HB4"
check_ping "$HB" "$HA4"
capture_stop
ike_msgs "$TMP/p3.pcap" >"$TMP/p3.txt"
nq=$(count_msgs "$TMP/p3.txt" "$GB4" 37 0) nr=$(count_msgs "$TMP/p3.txt" "$GA4" 37 1)
check "wire: INFORMATIONAL requests from gwB ($nq >= 4), each answered by gwA ($nr)" \
	eval '[ "$nq" -ge 4 ] && [ "$nr" = "$nq" ]'
n=$(count_msgs "$TMP/p3.txt" "$GA4" 37 0)
check "wire: no INFORMATIONAL request from gwA ($n)" [ "$n" = 0 ]

info "== 4. espritd stopped: strongSwan declares gwA dead (dpd_action = clear)"
ESPRITD_A=$(child_of_wrapper "${DAEMON_PID[$GA]}")
[ -n "$ESPRITD_A" ] || bail "no espritd under ${DAEMON_PID[$GA]}"
capture_start "$GB" wan0 "$TMP/p4.pcap" 65535 "$IKE_FILTER" || bail "no IKE capture on gwB"
g0=$(nlines "$LOG_B" "giving up after")
kill -STOP "$ESPRITD_A"
t0=$(date +%s) e_stop4=$(date +%s.%N)
check "gwB removes its SAs within 35 s" wait_for 35 sw_no_sa B
info "gwB's SAs gone $(($(date +%s) - t0)) s after espritd stopped"
check "charon logs that gwA stopped answering (giving up after retransmits)" \
	[ "$(nlines "$LOG_B" "giving up after")" -gt "$g0" ]
t_cont=$(date +%s.%N)
kill -CONT "$ESPRITD_A"
capture_stop
# Once continued, espritd answers the four queued copies (2.1: the cached
# response to each retransmission): only what came before counts. The
# DPD is the one gwB sent (again) after the stop: charon probes every 2 s,
# so the capture may also hold one it sent and gwA answered just before.
ike_msgs "$TMP/p4.pcap" "frame.time_epoch < $t_cont" >"$TMP/p4.txt"
sed 's/^/#   wire: /' "$TMP/p4.txt"
m=$(awk -v s="$GB4" -v t="$e_stop4" '$2 == s && $3 == 37 && $4 == 0 && $1 > t { print $5; exit }' "$TMP/p4.txt")
n=$(count_msgs "$TMP/p4.txt" "$GB4" 37 0 "${m:-x}") r=$(count_msgs "$TMP/p4.txt" "$GA4" 37 1 "${m:-x}")
check "wire: gwB's DPD (msgid ${m:-none}) sent 4 times ($n), not answered while stopped ($r)" \
	eval '[ "$n" = 4 ] && [ "$r" = 0 ]'
stop_esprit "$GA"
iop_teardown
info "$SECONDS s"
finish
