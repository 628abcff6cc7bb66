#!/bin/bash
# `crypto engine cpus LIST`: worker i runs on the i-th CPU of the list,
# set at start and changed live; a CPU espritd may not run on is refused
# and changes nothing.
# - gwA starts with 2 workers on its last CPU: both worker threads
#   (espritd-w0, espritd-w1) have that CPU alone, show crypto engine
#   says so (text and JSON), and the tunnel carries traffic;
# - configure `crypto engine cpus FIRST,LAST` (2 CPUs or more): worker 0
#   on the first, worker 1 on the last;
# - a CPU outside espritd's set: configure refused naming it and the set,
#   espritd -t refuses the file, a reload refuses it; pinning and running
#   config unchanged; a malformed list refused at the list;
# - `no crypto engine cpus`: both back on every CPU espritd started with.
. "$(dirname "$0")/lib.sh"
lib_init
need_daemon
topo_up

# the CPUs espritd was started with (the test's own set)
START=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
read -r FIRST LAST BAD <<<"$("$PY" -c '
import sys
cpus = []
for part in sys.argv[1].split(","):
    lo, _, hi = part.partition("-")
    cpus += range(int(lo), int(hi or lo) + 1)
print(cpus[0], cpus[-1], next(c for c in range(1024) if c not in cpus))' "$START")"
info "this process runs on CPUs $START: first $FIRST, last $LAST, not allowed $BAD"

# worker_cpus NS: "w0=LIST w1=LIST" from /proc (the worker threads' names)
worker_cpus() {
	local pid t out=""
	pid=$(pgrep -P "${DAEMON_PID[$1]}" espritd | head -1)
	for t in /proc/"$pid"/task/*; do
		case $(cat "$t/comm") in
		espritd-w*) out+="$(sed 's/espritd-//' "$t/comm")=$(sed -n \
			's/^Cpus_allowed_list:[[:space:]]*//p' "$t/status") " ;;
		esac
	done
	tr ' ' '\n' <<<"$out" | sort | tr '\n' ' ' | sed 's/^ *//; s/ *$//'
}

CFG=$TMP/gwA.cfg
sed "s/^hostname \(.*\)$/hostname \1\ncrypto engine workers 2\ncrypto engine cpus $LAST/" \
	"$EX/manual-esp-gcm-gwA.cfg" >"$CFG"
start_esprit "$GA" "$CFG" || bail "gwA"
start_esprit "$GB" "$EX/manual-esp-gcm-gwB.cfg" || bail "gwB"
check_ping "$HA" "$HB4"
check "both workers on CPU $LAST ($(worker_cpus "$GA"))" \
	[ "$(worker_cpus "$GA")" = "w0=$LAST w1=$LAST" ]
check "gwB's workers run on any CPU ($(worker_cpus "$GB"))" \
	[ "$(worker_cpus "$GB")" = "w0=$START w1=$START" ]
text=$(cli "$GA" show crypto engine)
sed 's/^/#   /' <<<"$text"
check "show crypto engine: cpu $LAST in both worker rows" \
	eval '[ "$(grep -cE "^ +[01] +$LAST +[0-9]" <<<"$text")" = 2 ]'
check "show crypto engine on gwB: any" \
	eval '[ "$(cli "$GB" show crypto engine | grep -cE "^ +[01] +any +[0-9]")" = 2 ]'
cli "$GA" --json show crypto engine >"$TMP/engine.json"
check "JSON per_worker[].cpu is $LAST for both" \
	[ "$("$PY" -c 'import json,sys; print(*[w["cpu"] for w in json.load(open(sys.argv[1]))["per_worker"]])' "$TMP/engine.json")" = "$LAST $LAST" ]
check "show running-config has the line" \
	grep -qx "crypto engine cpus $LAST" <<<"$(cli "$GA" show running-config)"
check_transfer "$HA" "$HB" "$HB4" 5000000

if [ "$FIRST" != "$LAST" ]; then
	info "== live: crypto engine cpus $FIRST,$LAST"
	printf 'crypto engine cpus %s,%s\n' "$FIRST" "$LAST" | cli "$GA" configure >"$TMP/c1.out" 2>&1
	check "worker 0 on $FIRST, worker 1 on $LAST ($(worker_cpus "$GA"))" \
		[ "$(worker_cpus "$GA")" = "w0=$FIRST w1=$LAST" ]
	check_ping "$HA" "$HB4"
else
	skip "one CPU only: no second CPU to move worker 1 to"
fi
before=$(worker_cpus "$GA")

info "== CPU $BAD is not one espritd may use"
printf 'crypto engine cpus %s\n' "$BAD" | cli "$GA" configure >"$TMP/c2.out" 2>&1
sed 's/^/#   /' "$TMP/c2.out"
check "configure refused, naming CPU $BAD and the set $START" \
	grep -q "CPU $BAD is not one espritd may run on (it was started on CPUs $START)" "$TMP/c2.out"
check "pinning unchanged ($(worker_cpus "$GA"))" [ "$(worker_cpus "$GA")" = "$before" ]
check "running config unchanged" \
	not_grep -x "crypto engine cpus $BAD" <<<"$(cli "$GA" show running-config)"
sed -i "s/^crypto engine cpus .*/crypto engine cpus $BAD/" "$CFG"
out=$(timeout 30 "$BIN/espritd" -t -f "$CFG" 2>&1)
rc=$?
sed 's/^/#   /' <<<"$out"
check "espritd -t refuses the file (rc=$rc) naming it and CPU $BAD" \
	eval '[ "$rc" = 1 ] && grep -q "^$CFG: crypto engine cpus: CPU $BAD is not" <<<"$out"'
cli "$GA" reload config >"$TMP/c3.out" 2>&1
check "reload config refused too, pinning unchanged" \
	eval 'grep -q "CPU $BAD is not one" "$TMP/c3.out" && [ "$(worker_cpus "$GA")" = "$before" ]'
printf 'crypto engine cpus 3-1\n' | cli "$GA" configure >"$TMP/c4.out" 2>&1
sed 's/^/#   /' "$TMP/c4.out"
check "a malformed list is refused at the list" \
	eval 'grep -q "expected a CPU list" "$TMP/c4.out" && [ "$(worker_cpus "$GA")" = "$before" ]'

info "== no crypto engine cpus"
printf 'no crypto engine cpus\n' | cli "$GA" configure >"$TMP/c5.out" 2>&1
check "both workers back on CPUs $START ($(worker_cpus "$GA"))" \
	[ "$(worker_cpus "$GA")" = "w0=$START w1=$START" ]
check_ping "$HA" "$HB4"
stop_esprit "$GA"
stop_esprit "$GB"
finish
