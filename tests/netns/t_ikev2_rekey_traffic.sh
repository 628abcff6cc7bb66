#!/bin/bash
# IKEv2 rekeying under traffic, esprit <-> esprit, crypto-map style from
# examples/ikev2-map-gwA.cfg / -gwB.cfg (PSK, AES-GCM-256, group 19, PFS).
#
#   hostA (198.19.1.2) -- (198.19.1.1) gwA (198.18.0.1) ==WAN== (198.18.0.2) gwB (198.19.2.1) -- hostB (198.19.2.2)
#                                       espritd  <-- IKEv2 UDP 500 -->  espritd
#
# Phase 1 (operator rekeys, make-before-break): a ping brings the tunnel
# up; a rate-limited TCP stream hostA -> hostB (random bytes, SHA-256
# computed by both ends) runs while, one after the other,
#   1. gwA rekeys the Child SA      (`rekey crypto ipsec sa`, initiator)
#   2. gwB rekeys the IKE SA        (`rekey crypto ikev2 sa`, responder)
#   3. gwB rekeys the Child SA
#   4. gwA rekeys the IKE SA
# After each: once settled, each side has exactly one IKE SA (READY, the
# same SPIs on both sides) and exactly one inbound and one outbound ESP
# SA (gwA's outbound SPI == gwB's inbound and the other way round); a
# Child rekey gives two new child SPIs and keeps the IKE SPIs, an IKE
# rekey gives new IKE SPIs and keeps the child SPIs (the Child SAs move
# to the new IKE SA, RFC 7296 2.8). The stream is still running after
# step 4 (so it crossed all four), then completes with the same SHA-256
# and length on both ends. A monitor polls `show crypto ipsec sa detail`
# on both gateways throughout (per-SA drop counters vanish with the SA):
# no drop may be counted, no-sa included: the responder keeps sending on
# the old SA until the initiator's DELETE of it arrives (RFC 7296 2.8 "MAY
# defer"; before, it switched as soon as it had answered, and the
# initiator dropped what arrived before it had processed the answer), and
# each side keeps its old inbound SA a few seconds after the DELETE for
# packets still in flight (before: 3-90 no-sa drops per rekey). TCP
# would recover anyway (the SHA-256 check);
# the count of hostA's TCP retransmissions is shown.
#
# Phase 2 (volume lifetime): both daemons restarted with `set
# security-association lifetime kilobytes 2560` (the minimum; soft limit
# 90%) on the crypto map; a 20 MB transfer must make the soft byte
# lifetime fire several times (the monitor sees several child SPI pairs,
# the logs show "CREATE_CHILD_SA (rekey) sent"), the tunnel ends settled
# (one IKE SA, one agreeing child pair) and the SHA-256 matches.
#
# Both daemons are stopped at the end of each phase (clean exit, no
# sanitizer report, nothing left behind).
. "$(dirname "$0")/lib.sh"
lib_init
need_daemon
topo_up

cfg_gen() { # SIDE(A|B) EXTRA-MAP-LINE -> config path
	local f=$TMP/gw$1-$2.cfg
	case $2 in
	plain) cp "$EX/ikev2-map-gw$1.cfg" "$f" ;;
	volume) sed 's/^ set security-association lifetime seconds 3600$/&\n set security-association lifetime kilobytes 2560/' \
		"$EX/ikev2-map-gw$1.cfg" >"$f" ;;
	esac
	echo "$f"
}

wait_for() { # SECONDS CMD...
	local t=$1 i
	shift
	for i in $(seq $((t * 5))); do "$@" && return 0; sleep 0.2; done
	return 1
}

# ---- state of both gateways -----------------------------------------------



# settled_after KIND OLD: settled, and KIND (ike|child) changed while the
# other stayed.
settled_after() {
	local kind=$1 old=$2
	state_now
	[[ $STATE == OK* ]] || return 1
	case $kind in
	ike) [ "$(ike_of "$STATE")" != "$(ike_of "$old")" ] ;;
	child) [ "$(child_of "$STATE")" != "$(child_of "$old")" ] ;;
	esac
}

# rekey_step NS WHAT(ike|child): operator rekey, then the checks.
rekey_step() {
	local ns=$1 kind=$2 who=gw${1##*-g} old=$STATE cmd
	[ "$kind" = ike ] && cmd="rekey crypto ikev2 sa" || cmd="rekey crypto ipsec sa"
	check "$who: '$cmd' accepted" eval 'cli "$ns" $cmd | grep -q "Rekeying 1 "'
	if ! wait_for 30 settled_after "$kind" "$old"; then
		not_ok "$who $kind rekey: not settled with new $kind SPIs within 30 s ($STATE)"
		return 1
	fi
	ok "$who $kind rekey settled: one IKE SA and one child pair per side, both sides agree ($STATE)"
	if [ "$kind" = ike ]; then
		check "IKE SPIs changed ($(ike_of "$old") -> $(ike_of "$STATE")), child SPIs kept" \
			[ "$(child_of "$STATE")" = "$(child_of "$old")" ]
	else
		check "child SPIs changed ($(child_of "$old") -> $(child_of "$STATE")), IKE SPIs kept" \
			[ "$(ike_of "$STATE")" = "$(ike_of "$old")" ]
	fi
}

# ---- a long TCP stream with SHA-256 at both ends --------------------------

cat >"$TMP/stream.py" <<'EOF'
# stream.py recv ADDR PORT OUT TIMEOUT | send ADDR PORT OUT RATE STOPFILE MAXBYTES MAXSEC
# OUT gets "BYTES SHA256" once the stream is over.
import hashlib, os, socket, sys, time
mode, addr, port, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
h, n = hashlib.sha256(), 0
if mode == "recv":
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port)); ls.listen(1); ls.settimeout(float(sys.argv[5]))
    c, _ = ls.accept(); c.settimeout(60)
    while True:
        b = c.recv(65536)
        if not b:
            break
        h.update(b); n += len(b)
    c.close()
else:
    rate, stop, maxb, maxs = float(sys.argv[5]), sys.argv[6], int(sys.argv[7]), float(sys.argv[8])
    s = socket.create_connection((addr, port), timeout=10); s.settimeout(60)
    t0 = time.time()
    while n < maxb and not os.path.exists(stop) and time.time() - t0 < maxs:
        b = os.urandom(min(16384, maxb - n))
        s.sendall(b); h.update(b); n += len(b)
        ahead = n / rate - (time.time() - t0)
        if ahead > 0:
            time.sleep(ahead)
    s.shutdown(socket.SHUT_WR)
    while s.recv(4096):
        pass
    s.close()
open(out + ".tmp", "w").write("%d %s\n" % (n, h.hexdigest()))
os.rename(out + ".tmp", out)
EOF

PORT=5100
RX_PID= TX_PID=
# stream_start BYTES-PER-S MAXBYTES MAXSEC: hostA -> hostB, in the background.
stream_start() {
	local i
	PORT=$((PORT + 1))
	rm -f "$TMP/rx.res" "$TMP/tx.res" "$TMP/stop"
	nsx "$HB" timeout 170 "$PY" "$TMP/stream.py" recv "$HB4" $PORT "$TMP/rx.res" 30 \
		2>"$TMP/rx.err" &
	RX_PID=$!
	for i in $(seq 50); do
		nsx "$HB" ss -ltnH "sport = :$PORT" 2>/dev/null | grep -q . && break
		sleep 0.1
	done
	nsx "$HA" timeout 170 "$PY" "$TMP/stream.py" send "$HB4" $PORT "$TMP/tx.res" "$1" \
		"$TMP/stop" "$2" "$3" 2>"$TMP/tx.err" &
	TX_PID=$!
}
stream_running() { kill -0 "$TX_PID" 2>/dev/null && [ ! -e "$TMP/tx.res" ]; }
stream_up() { nsx "$HB" ss -tnH state established "sport = :$PORT" 2>/dev/null | wc -l; }
# stream_end SECONDS: stop the sender, wait (bounded) for both ends.
stream_end() {
	touch "$TMP/stop"
	timeout "$1" tail -s 0.1 --pid="$TX_PID" -f /dev/null
	timeout 10 tail -s 0.1 --pid="$RX_PID" -f /dev/null
	kill "$TX_PID" "$RX_PID" 2>/dev/null
	wait "$TX_PID" 2>/dev/null
	wait "$RX_PID" 2>/dev/null
	TX_RES=$(cat "$TMP/tx.res" 2>/dev/null)
	RX_RES=$(cat "$TMP/rx.res" 2>/dev/null)
	sed 's/^/#   sender: /' "$TMP/tx.err"
	sed 's/^/#   receiver: /' "$TMP/rx.err"
	info "sent: ${TX_RES:-nothing}; received: ${RX_RES:-nothing}"
}
# log_since NS LINES: the daemon log after its first LINES lines.
log_since() { tail -n +$(($2 + 1)) "${DAEMON_LOG[$1]}"; }
retrans() { nsx "$HA" nstat -az TcpRetransSegs 2>/dev/null | awk '$1 == "TcpRetransSegs" { print $2 }'; }

# ---- monitor: snapshots of both gateways' SAs during the stream -------------

MON_PID=
mon_start() {
	rm -rf "$TMP/mon"
	mkdir -p "$TMP/mon"
	(
		i=0
		while [ ! -e "$TMP/mon/stop" ] && [ $i -lt 2000 ]; do
			i=$((i + 1))
			cli "$GA" --json show crypto ipsec sa detail >"$TMP/mon/A.$i.json" 2>/dev/null
			cli "$GB" --json show crypto ipsec sa detail >"$TMP/mon/B.$i.json" 2>/dev/null
			sleep 0.1
		done
	) &
	MON_PID=$!
}
mon_stop() {
	touch "$TMP/mon/stop"
	timeout 20 tail -s 0.1 --pid="$MON_PID" -f /dev/null
	kill "$MON_PID" 2>/dev/null
	wait "$MON_PID" 2>/dev/null
	cli "$GA" --json show crypto ipsec sa detail >"$TMP/mon/A.final.json" 2>/dev/null
	cli "$GB" --json show crypto ipsec sa detail >"$TMP/mon/B.final.json" 2>/dev/null
}
# mon_eval EXPR: over every snapshot: pairs[side] = set of (in, out) SPIs
# seen, drops[side] = {reason: max per SA summed over SAs + data plane}.
mon_eval() {
	"$PY" - "$TMP/mon" "$1" <<'EOF'
import glob, json, os, sys
d, expr = sys.argv[1], sys.argv[2]
spis = {"A": {"in": set(), "out": set()}, "B": {"in": set(), "out": set()}}
sa_drops = {"A": {}, "B": {}}  # (dir, spi) -> {reason: max}
dp = {"A": {}, "B": {}}
snaps = {"A": 0, "B": 0}
status = {"A": set(), "B": set()}  # (direction, Status) pairs seen
for f in sorted(glob.glob(os.path.join(d, "*.json"))):
    side = os.path.basename(f)[0]
    try:
        j = json.load(open(f))
    except Exception:
        continue
    snaps[side] += 1
    for g in j.get("sas", []):
        for dr in ("inbound", "outbound"):
            for x in g.get(dr, []):
                if x["proto"] != "esp":
                    continue
                spis[side]["in" if dr == "inbound" else "out"].add(x["spi"])
                status[side].add((dr, x.get("status")))
                m = sa_drops[side].setdefault((dr, x["spi"]), {})
                for k, v in x.get("drops", {}).items():
                    m[k] = max(m.get(k, 0), int(v))
    for k, v in j.get("dataplane", {}).get("drops", {}).items():
        dp[side][k] = max(dp[side].get(k, 0), int(v))
def drops(side):
    t = dict(dp[side])
    for m in sa_drops[side].values():
        for k, v in m.items():
            t[k] = t.get(k, 0) + v
    return {k: v for k, v in t.items() if v}
print(eval(expr))
EOF
}

# ---- phase 1: operator rekeys under traffic -----------------------------------

start_esprit "$GA" "$(cfg_gen A plain)" || bail "gwA did not start"
start_esprit "$GB" "$(cfg_gen B plain)" || bail "gwB did not start"
nsx "$HA" ping -c 3 -i 0.5 -W 2 "$HB4" >/dev/null 2>&1
wait_for 15 eval 'state_now; [[ $STATE == OK* ]]'
check "tunnel up and settled after the first ping ($STATE)" eval '[[ $STATE == OK* ]]'
check_ping "$HA" "$HB4"
# Drops so far (the acquire may count no-outbound-sa): later ones are new.
sa_snapshot "$GA" "$TMP/dropsA0.json"
sa_snapshot "$GB" "$TMP/dropsB0.json"
d0a=$(json_eval "$TMP/dropsA0.json" 'drops_total()')
d0b=$(json_eval "$TMP/dropsB0.json" 'drops_total()')
info "drops before the stream: gwA $d0a, gwB $d0b"
r0=$(retrans)

mon_start
stream_start 2000000 400000000 150
check "TCP stream hostA -> hostB is running" wait_for 10 eval '[ "$(stream_up)" -ge 1 ]'
sleep 1
rekey_step "$GA" child
sleep 1
rekey_step "$GB" ike
sleep 1
rekey_step "$GB" child
sleep 1
rekey_step "$GA" ike
sleep 1
check "the stream was still running after the four rekeys" stream_running
check "ping hostB -> hostA works after the rekeys" ping_ok "$HB" "$HA4"
stream_end 60
mon_stop
r1=$(retrans)
check "stream completed: SHA-256 and length received match what was sent" \
	eval '[ -n "$TX_RES" ] && [ "$TX_RES" = "$RX_RES" ] && [ "${TX_RES%% *}" -gt 4000000 ]'
info "monitor: $(mon_eval 'snaps') snapshots; SPIs seen: gwA $(mon_eval 'dict((k, sorted(v)) for k, v in spis["A"].items())')"
check "the monitor saw 3 child SPI pairs per side (2 child rekeys)" \
	eval '[ "$(mon_eval "[len(spis[s][d]) for s in \"AB\" for d in (\"in\",\"out\")]")" = "[3, 3, 3, 3]" ]'
da=$(mon_eval 'drops("A")')
db=$(mon_eval 'drops("B")')
d1a=$(json_eval "$TMP/mon/A.final.json" 'drops_total()')
d1b=$(json_eval "$TMP/mon/B.final.json" 'drops_total()')
# Drops during the switch-overs: none (see the header); no-sa is counted
# apart to say which half of make-before-break failed.
nosa=$(($(mon_eval 'drops("A").get("no-sa", 0)') + $(mon_eval 'drops("B").get("no-sa", 0)')))
other=$(mon_eval 'sum(v for s in "AB" for k, v in drops(s).items() if k != "no-sa")')
check "no drop other than no-sa during the rekeys (gwA $da, gwB $db)" num_eq "$other" 0
check "no no-sa drops during the two Child rekeys (make-before-break): $nosa" num_eq "$nosa" 0
check "each side showed a replaced inbound SA as RETIRING (kept for packets in flight)" \
	eval '[ "$(mon_eval "all((\"inbound\", \"RETIRING\") in status[s] for s in \"AB\")")" = True ]'
info "hostA TCP retransmissions during the stream: $((r1 - r0)) (TcpRetransSegs $r0 -> $r1)"
state_now
check "still settled at the end ($STATE)" eval '[[ $STATE == OK* ]]'
check "each gateway logged exactly the one Child SA rekey it was told to start" \
	eval '[ "$(log_since "$GA" 0 | grep -c "CREATE_CHILD_SA (rekey) sent")" = 1 ] &&
	      [ "$(log_since "$GB" 0 | grep -c "CREATE_CHILD_SA (rekey) sent")" = 1 ]'
check "no collision and no refusal logged" \
	eval '! cat "${DAEMON_LOG[$GA]}" "${DAEMON_LOG[$GB]}" | grep -E "collision|refused|TEMPORARY_FAILURE"' 
stop_esprit "$GA"
stop_esprit "$GB"

# ---- phase 2: volume lifetime (2560 KB) -------------------------------------

offA=$(wc -l <"${DAEMON_LOG[$GA]}")
offB=$(wc -l <"${DAEMON_LOG[$GB]}")
start_esprit "$GA" "$(cfg_gen A volume)" || bail "gwA (volume) did not start"
start_esprit "$GB" "$(cfg_gen B volume)" || bail "gwB (volume) did not start"
check "the running config has the byte lifetime" \
	eval 'cli "$GA" show running-config | grep -q "set security-association lifetime kilobytes 2560"'
nsx "$HA" ping -c 3 -i 0.5 -W 2 "$HB4" >/dev/null 2>&1
wait_for 15 eval 'state_now; [[ $STATE == OK* ]]'
check "tunnel up and settled ($STATE)" eval '[[ $STATE == OK* ]]'
first=$STATE
mon_start
stream_start 4000000 20000000 120
timeout 120 tail -s 0.1 --pid="$TX_PID" -f /dev/null
stream_end 30
mon_stop
check "20 MB stream completed: SHA-256 and length match" \
	eval '[ -n "$TX_RES" ] && [ "$TX_RES" = "$RX_RES" ] && [ "${TX_RES%% *}" = 20000000 ]'
npairs=$(mon_eval 'min(len(spis[s][d]) for s in "AB" for d in ("in", "out"))')
nlog=$(($(log_since "$GA" "$offA" | grep -c "CREATE_CHILD_SA (rekey) sent") + \
	$(log_since "$GB" "$offB" | grep -c "CREATE_CHILD_SA (rekey) sent")))
info "volume rekeys: $nlog CREATE_CHILD_SA (rekey) requests logged, $npairs child SPIs seen per direction"
# 20 MB at a soft limit of 2304 KB is 8 soft expiries (the ESP overhead
# makes it a few more); allow for snapshots missing a short-lived SA.
check "the byte lifetime caused automatic Child SA rekeys ($npairs SPIs seen per direction >= 5)" \
	num_ge "$npairs" 5
check "rekeys were logged ($nlog >= 7)" num_ge "$nlog" 7
wait_for 30 eval 'state_now; [[ $STATE == OK* ]]'
check "settled at the end: one IKE SA, one agreeing child pair ($STATE)" eval '[[ $STATE == OK* ]]'
check "IKE SA unchanged by the child rekeys" eval '[ "$(ike_of "$STATE")" = "$(ike_of "$first")" ]'
check_ping "$HA" "$HB4"
da=$(mon_eval 'drops("A")')
db=$(mon_eval 'drops("B")')
other=$(mon_eval 'sum(v for s in "AB" for k, v in drops(s).items() if k != "no-sa")')
check "volume phase: no drop other than no-sa (gwA $da, gwB $db)" num_eq "$other" 0
stop_esprit "$GA"
stop_esprit "$GB"
finish
