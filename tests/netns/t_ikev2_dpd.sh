#!/bin/bash
# IKEv2 dead peer detection (RFC 7296 2.4) between two esprit gateways,
# crypto-map style, configs generated from examples/ikev2-map-gw{A,B}.cfg
# with the profile's `dpd` line replaced (gwA: `dpd 10 2 MODE ACTION`;
# gwB: no DPD, so that only gwA's liveness checks are on the wire).
#
#   hostA (198.19.1.2) -- (198.19.1.1) gwA (198.18.0.1) ==WAN== (198.18.0.2) gwB (198.19.2.1) -- hostB (198.19.2.2)
#                                       espritd  <-- IKEv2 UDP 500 -->  espritd
#
# What the code does (src/ikev2/info.c, src/ike/ike.c, src/daemon/ike_glue.c):
# - A DPD is an empty INFORMATIONAL request, due `interval` s after the
#   last cryptographically protected message from the peer (an IKE message,
#   or, polled once a second from the SA counters, an authenticated inbound
#   packet on a Child SA). periodic: always; on-demand: only when packets
#   went out on the Child SAs and nothing came back since (an inbound
#   packet answers what went out before it).
# - IOS `dpd INTERVAL RETRY`: an unanswered DPD request is sent five
#   times in all within 5 * RETRY (10) s, the gaps growing by 1.5 (RFC 7296
#   2.4: 0.76, 1.14, 1.71, 2.56 s), and the peer is declared dead at the
#   end of them: 10 s after the first send. So a killed peer is
#   declared dead at most interval + 5 * retry = 20 s = interval * retry
#   after it died (periodic), or 10 s after the first DPD that outbound
#   traffic triggers (on-demand, idle > interval).
# - On death the IKE SA and its Child SAs are removed (2.4: "the IKE SA
#   and all Child SAs ... are deleted"). Then: clear = nothing more;
#   hold = nothing more either: a crypto map's policies stay installed, so
#   matching traffic triggers a new negotiation (acquire) in both cases,
#   the action differs only in the log; restart = gwA initiates a new IKE
#   SA (with its Child SA) right away, without traffic.
#
# gwB "dies" by kill -9 of its espritd (its namespace stays, nothing
# answers on UDP 500); a new espritd then starts in the same namespace.
#
# The three parts run in parallel, each on its own four namespaces (the
# script runs itself with ESPRIT_DPD_PART=clear|restart|hold; set it to
# run one part alone):
#  clear   (dpd 10 2 periodic clear): idle, empty INFORMATIONAL requests
#          go out periodically and are answered ("DPD answered"); gwB
#          killed: the next periodic DPD is retransmitted 4 times, the
#          gaps growing, and gwA
#          declares gwB dead within the bound above, logging action clear;
#          show crypto ikev2 sa and ipsec sa are empty; no re-initiation
#          without traffic; a new espritd starts in gwB's namespace and
#          traffic brings the tunnel back.
#  restart (dpd 10 2 periodic restart): gwB killed; after the death gwA
#          sends IKE_SA_INIT by itself; gwB started again; the IKE SA and
#          the Child SA come back with no host traffic; ping works.
#  hold    (dpd 10 2 on-demand hold): traffic both ways, then idle
#          longer than the interval: no DPD at all; gwB killed: still no
#          DPD while idle; a ping from hostA (out, nothing back) triggers
#          a DPD within a few seconds and the death 10 s later (action
#          hold); SAs removed, nothing re-initiated while idle; gwB
#          started again, traffic from hostA renegotiates; ping works.
# About 75 s in all (each part 60-75 s).
. "$(dirname "$0")/lib.sh"

PART=${ESPRIT_DPD_PART:-}

# ---- parent: run the parts in parallel, merge their TAP output ------------------

if [ -z "$PART" ]; then
	lib_init
	need_daemon
	# Interrupted: let each part clean up its namespaces and daemons
	# (lib.sh's stop_bg would SIGKILL them after 5 s).
	stop_parts() {
		local p
		for p in "${BG_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
		for p in "${BG_PIDS[@]}"; do timeout 40 tail -s 0.1 --pid="$p" -f /dev/null 2>/dev/null; done
		exit 130
	}
	trap stop_parts INT TERM
	declare -A PPID_OF=()
	for p in clear restart hold; do
		ESPRIT_DPD_PART=$p bash "$0" >"$TMP/part-$p.out" 2>&1 &
		PPID_OF[$p]=$!
		BG_PIDS+=($!)
	done
	for p in clear restart hold; do
		wait "${PPID_OF[$p]}"
		rc=$?
		while IFS= read -r line; do
			case $line in
			"ok "*) ok "[$p] ${line#* - }" ;;
			"not ok "*) not_ok "[$p] ${line#* - }" ;;
			"1..0 # SKIP"*) echo "# [$p] $line"; [ $rc = 77 ] && skip "${line#*: }" ;;
			"1.."*) ;;
			*) echo "# [$p] ${line#\# }" ;;
			esac
		done <"$TMP/part-$p.out"
		[ $rc = 0 ] || [ $rc = 1 ] || not_ok "[$p] part exited with status $rc"
	done
	BG_PIDS=()
	finish
fi

# ---- one part ---------------------------------------------------------------------

lib_init
need_daemon
topo_up

case $PART in
clear) DPD_A="dpd 10 2 periodic clear" ;;
restart) DPD_A="dpd 10 2 periodic restart" ;;
hold) DPD_A="dpd 10 2 on-demand hold" ;;
*) bail "unknown ESPRIT_DPD_PART $PART" ;;
esac
CFG_A=$TMP/gwA-dpd.cfg CFG_B=$TMP/gwB-nodpd.cfg
sed "s/^ dpd .*/ $DPD_A/" "$EX/ikev2-map-gwA.cfg" >"$CFG_A"
sed '/^ dpd /d' "$EX/ikev2-map-gwB.cfg" >"$CFG_B"
grep -q "^ $DPD_A\$" "$CFG_A" || bail "sed did not put '$DPD_A' into gwA's config"
! grep -q "^ dpd" "$CFG_B" || bail "gwB's config still has dpd"

start_esprit "$GA" "$CFG_A" || bail "gwA did not start"
start_esprit "$GB" "$CFG_B" || bail "gwB did not start"
LOG_A=${DAEMON_LOG[$GA]}
cli "$GA" debug crypto ikev2 >/dev/null

child_count() {
	cli "$1" --json show crypto ipsec sa | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(sum(len(s.get("inbound",[]))+len(s.get("outbound",[])) for s in d.get("sas",[])))'
}
# Lines of gwA's log matching a fixed string.
nlines() { grep -cF -e "$1" "$LOG_A"; }
log_ge() { [ "$(nlines "$1")" -ge "$2" ]; }
# Seconds (with ms) of the Nth (1-based) log line holding a fixed string;
# log lines start with HH:MM:SS.mmm.
log_time() {
	grep -F -e "$1" "$LOG_A" | sed -n "${2}p" |
		awk '{ split($1, t, ":"); printf "%.3f\n", t[1] * 3600 + t[2] * 60 + t[3] }'
}
# between LO HI A B: LO <= B - A <= HI (seconds, fractional).
between() { awk -v lo="$1" -v hi="$2" -v a="$3" -v b="$4" 'BEGIN { d = b - a; if (d < 0) d += 86400; exit !(a != "" && b != "" && d >= lo && d <= hi) }'; }
diff_s() { awk -v a="$1" -v b="$2" 'BEGIN { d = b - a; if (d < 0) d += 86400; printf "%.1f", d }'; }

DPD_SENT="DPD request sent"
DPD_OK="DPD answered"
DEAD="peer is not answering, IKE SA declared dead"

# kill -9 gwB's espritd (not the timeout wrapper start_esprit started),
# reap the wrapper and forget it.
kill_gwb() {
	local w=${DAEMON_PID[$GB]} d
	d=$(pgrep -P "$w" | head -n 1)
	[ -n "$d" ] || return 1
	kill -KILL "$d"
	timeout 10 tail -s 0.1 --pid="$w" -f /dev/null
	wait "$w" 2>/dev/null
	unset "DAEMON_PID[$GB]"
	echo "# espritd killed (-9) here" >>"${DAEMON_LOG[$GB]}"
}

tunnel_up() {
	nsx "$HA" ping -c 3 -i 0.5 -W 2 "$HB4" >/dev/null 2>&1
	check "ping hostA -> hostB brings the tunnel up (gwA's IKE SA READY)" wait_for 20 ike_ready "$GA" ||
		bail "no tunnel"
	check_ping "$HA" "$HB4"
}

dead_with() { grep -F "$DEAD" "$LOG_A" | grep -qF "(action $1)"; }
after_death_checks() { # ACTION
	check "gwA logs the death with action $1" dead_with "$1"
	check "gwA's daemon hears of it: IKE SA gone (action $1)" grep -qF "IKE SA gone (action $1)" "$LOG_A"
}

no_sas_checks() {
	local n c
	n=$(ike_count "$GA")
	c=$(child_count "$GA")
	check "show crypto ikev2 sa on gwA is empty ($n)" [ "$n" = 0 ]
	check "show crypto ipsec sa on gwA is empty ($c child SAs)" [ "$c" = 0 ]
}

# A new espritd in gwB's namespace after kill -9: the killed one's TUN
# device is gone with its file descriptor (checked), the new one starts.
restart_gwb() {
	check "gwB's namespace: no TUN device or table 220 left by the killed espritd" no_leftovers "$GB"
	start_esprit "$GB" "$CFG_B" || bail "a new espritd did not start in gwB's namespace"
}

case $PART in
clear)
	tunnel_up
	# Idle from here: the first DPD is due 10 s after the last message
	# from gwB (the ping's replies count), and is answered.
	check "idle: gwA sends an empty INFORMATIONAL (DPD) within 15 s" wait_for 15 log_ge "$DPD_SENT" 1
	check "gwB answers it" wait_for 5 log_ge "$DPD_OK" 1
	t_ok=$(log_time "$DPD_OK" 1)
	check "it is an empty INFORMATIONAL request (exch 37, 0 payloads)" \
		grep -qE "send request exch 37 msgid [0-9]+, 0 payloads" "$LOG_A"
	kill_gwb || bail "could not kill gwB's espritd"
	t_kill=$(date +%s.%N)
	# periodic: the next DPD 10 s after the answer, 4 retransmissions 2 s
	# apart, dead 10 s after it: 20 s after the kill at most (+ slack).
	check "the next periodic DPD goes out 10 s after the last answer" wait_for 15 log_ge "$DPD_SENT" 2
	t_2=$(log_time "$DPD_SENT" 2)
	check "  ... $(diff_s "$t_ok" "$t_2") s after it (9.5..12)" between 9.5 12 "$t_ok" "$t_2"
	check "gwA declares gwB dead within 20 s (+5) of the kill" wait_for 25 log_ge "$DEAD" 1
	t_dead=$(log_time "$DEAD" 1)
	info "dead $(diff_s "$t_kill" "$(date +%s.%N)") s after the kill (by the poll)"
	check "  ... $(diff_s "$t_2" "$t_dead") s after the unanswered DPD (10: 9.5..12)" \
		between 9.5 12 "$t_2" "$t_dead"
	# the times of the second DPD and its retransmissions: each gap at
	# least 1.3 times the one before (1.5 planned)
	gaps=$(awk -v s="$DPD_SENT" 'index($0, s) { c++ } c == 2 && (index($0, s) ||
		/DPD unanswered, retransmitting \(try [2-5]\)/) { split($1, t, ":"); print t[1] * 3600 + t[2] * 60 + t[3] }' "$LOG_A" |
		awk 'NR > 1 { g = $1 - p; if (NR > 2 && g < 1.3 * pg) bad = 1; pg = g; n++ } { p = $1 }
			END { print n + 0, bad + 0 }')
	check "the DPD was retransmitted 4 times, the gaps growing (count, shrank: $gaps)" [ "$gaps" = "4 0" ]
	after_death_checks clear
	no_sas_checks
	sleep 3
	check "clear: nothing re-initiated without traffic (3 s later: $(ike_count "$GA") IKE SAs)" \
		eval '[ "$(ike_count "$GA")" = 0 ]'
	restart_gwb
	nsx "$HA" ping -c 3 -i 0.5 -W 2 "$HB4" >/dev/null 2>&1
	check "after clear, traffic matching the crypto map negotiates again" wait_for 20 ike_ready "$GA"
	check_ping "$HA" "$HB4"
	;;
restart)
	tunnel_up
	kill_gwb || bail "could not kill gwB's espritd"
	check "gwA declares gwB dead within 20 s (+5) of the kill" wait_for 25 log_ge "$DEAD" 1
	after_death_checks restart
	INIT="-> $GB4[500] IKE_SA_INIT request 0 ["
	check "restart: gwA sends IKE_SA_INIT again by itself" wait_for 5 log_ge "$INIT" 2
	t_init=$(log_time "$INIT" 2)
	t_dead=$(log_time "$DEAD" 1)
	check "  ... right after the death ($(diff_s "$t_dead" "$t_init") s)" between 0 1 "$t_dead" "$t_init"
	restart_gwb
	# No host traffic from here on until the tunnel is up.
	check "the IKE SA comes back without traffic" wait_for 30 ike_ready "$GA"
	c=$(child_count "$GA")
	check "  ... with its Child SAs ($c)" [ "$c" -ge 2 ]
	check "gwB has the IKE SA too" ike_ready "$GB"
	check_ping "$HA" "$HB4"
	check_ping "$HB" "$HA4"
	;;
hold)
	tunnel_up
	# on-demand: traffic both ways, then idle for longer than the
	# interval: no DPD at all (what went out was answered).
	check_ping "$HA" "$HB4" 12
	sleep 12
	n=$(nlines "$DPD_SENT")
	check "on-demand: no DPD request during traffic and 12 s idle after it ($n)" [ "$n" = 0 ]
	kill_gwb || bail "could not kill gwB's espritd"
	sleep 1
	check "no DPD after the kill without traffic either ($(nlines "$DPD_SENT"))" [ "$(nlines "$DPD_SENT")" = 0 ]
	# Outbound traffic with nothing coming back: a DPD (gwA polls the SA
	# counters once a second; the last message from gwB is > 10 s old).
	ping_fails "$HA" "$HB4"
	check "traffic out with nothing back triggers a DPD within 5 s" wait_for 5 log_ge "$DPD_SENT" 1
	t_1=$(log_time "$DPD_SENT" 1)
	check "gwA declares gwB dead 10 s after it (+5)" wait_for 16 log_ge "$DEAD" 1
	t_dead=$(log_time "$DEAD" 1)
	check "  ... $(diff_s "$t_1" "$t_dead") s after the DPD (9.5..12)" between 9.5 12 "$t_1" "$t_dead"
	after_death_checks hold
	no_sas_checks
	sleep 3
	check "hold: nothing re-initiated while idle (3 s later: $(ike_count "$GA") IKE SAs)" \
		eval '[ "$(ike_count "$GA")" = 0 ]'
	restart_gwb
	nsx "$HA" ping -c 3 -i 0.5 -W 2 "$HB4" >/dev/null 2>&1
	check "hold: traffic matching the policy negotiates again" wait_for 20 ike_ready "$GA"
	check_ping "$HA" "$HB4"
	check_ping "$HB" "$HA4"
	;;
esac
stop_esprit "$GA"
stop_esprit "$GB"
check "gwA: no sanitizer report" not_grep -E 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$LOG_A"
finish
