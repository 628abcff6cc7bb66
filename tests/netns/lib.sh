#!/bin/bash
# Shared helpers for the namespace scenarios (tests/netns/t_*.sh).
# Source it; it never runs anything by itself except the checks in
# lib_init (root, ip netns).
#
# Topology (four namespaces, unique per run: esp-PID-hA, -gA, -gB, -hB):
#
#   hostA                gwA                              gwB                 hostB
#   lan0 ------------- lan0   wan0 ================== wan0   lan0 ------------ lan0
#   198.19.1.2/24   198.19.1.1  198.18.0.1/24   198.18.0.2/24  198.19.2.1  198.19.2.2/24
#   2001:db8:1::2/64 2001:db8:1::1  2001:db8:ff::1/64  2001:db8:ff::2/64  2001:db8:2::1  2001:db8:2::2/64
#
#   hostA, hostB: default routes (v4, v6) via their gateway.
#   gwA, gwB: ip_forward=1 (v4 and v6), rp_filter=0, and NO route to the
#   remote site: only espritd's routes (ACL destinations -> ipsec0, in the
#   main table, or in table 220 behind its rule) can carry site-to-site traffic, so nothing crosses the WAN in clear text
#   if the daemon is not doing its job. topo_plain_routes adds plain
#   routes for checking the topology itself without IPsec.
#
# The interface names (wan0, lan0) are the ones examples/manual-*.cfg use.
#
# Environment: ESPRIT_BIN (build dir holding espritd and esprit; default
# build/asan), ESPRIT_SRC (source dir), ESPRIT_KEEP=1 keeps the temp dir.
#
# Reporting is TAP-like: "ok N - what" / "not ok N - what", and finish
# prints "N passed, N failed" and exits 1 if anything failed.

set -u

SRC=${ESPRIT_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BIN=${ESPRIT_BIN:-$SRC/build/asan}
case $BIN in /*) ;; *) BIN=$SRC/$BIN ;; esac
EX=$SRC/examples
T_NAME=$(basename "$0" .sh)

HA=esp-$$-hA
GA=esp-$$-gA
GB=esp-$$-gB
HB=esp-$$-hB
ALL_NS=("$HA" "$GA" "$GB" "$HB")

HA4=198.19.1.2 GA4_LAN=198.19.1.1 GA4=198.18.0.1
HB4=198.19.2.2 GB4_LAN=198.19.2.1 GB4=198.18.0.2
HA6=2001:db8:1::2 GA6_LAN=2001:db8:1::1 GA6=2001:db8:ff::1
HB6=2001:db8:2::2 GB6_LAN=2001:db8:2::1 GB6=2001:db8:ff::2

T_PASS=0
T_FAIL=0
T_N=0
TMP=
declare -A DAEMON_PID=()   # namespace -> pid of the espritd wrapper
declare -A DAEMON_LOG=()   # namespace -> log file
declare -A DAEMON_SOCK=()  # namespace -> control socket
BG_PIDS=()                 # other background helpers (captures, listeners)
CAP_PID=

# ---- reporting ---------------------------------------------------------------

ok() {
	T_N=$((T_N + 1)) T_PASS=$((T_PASS + 1))
	echo "ok $T_N - $*"
}

not_ok() {
	T_N=$((T_N + 1)) T_FAIL=$((T_FAIL + 1))
	echo "not ok $T_N - $*"
}

# check DESCRIPTION COMMAND...: ok if the command succeeds.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; return 1; fi
}

info() { echo "# $*"; }

skip() {
	echo "1..0 # SKIP $T_NAME: $*"
	exit 77
}

# Abort the scenario (later steps make no sense): counts as a failure.
bail() {
	not_ok "$*"
	finish
}

show_logs() {
	local ns
	for ns in "${!DAEMON_LOG[@]}"; do
		echo "# ---- espritd log ($ns): ${DAEMON_LOG[$ns]} (last 60 lines)"
		tail -n 60 "${DAEMON_LOG[$ns]}" 2>/dev/null | sed 's/^/#   /'
	done
}

finish() {
	trap - EXIT
	[ "$T_FAIL" -gt 0 ] && show_logs
	cleanup
	echo "1..$T_N"
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ] && [ "$T_PASS" -gt 0 ]
	exit $?
}

# ---- setup and teardown ------------------------------------------------------

lib_init() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	command -v ip >/dev/null || skip "needs ip(8)"
	[ -c /dev/net/tun ] || skip "no /dev/net/tun"
	ip netns add "esp-$$-probe" 2>/dev/null || skip "ip netns does not work"
	ip netns del "esp-$$-probe"
	TMP=$(mktemp -d "/tmp/esprit-$T_NAME.XXXXXX")
	PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || PY=python3
	trap 'on_exit' EXIT
	trap 'exit 130' INT TERM
	echo "# $T_NAME: namespaces $HA $GA $GB $HB, files in $TMP"
}

# Require the binaries (the scenario makes no sense without them).
need_daemon() {
	[ -x "$BIN/espritd" ] || skip "no $BIN/espritd (build it first)"
	if [ ! -x "$BIN/esprit" ]; then
		info "no $BIN/esprit yet: using the python control-socket client"
	fi
}

on_exit() {
	local rc=$?
	[ "$T_FAIL" -gt 0 ] && show_logs
	cleanup
	exit $rc
}

stop_bg() {
	local p
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${BG_PIDS[@]}"; do
		timeout 5 tail -s 0.1 --pid="$p" -f /dev/null 2>/dev/null || kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	BG_PIDS=()
}

cleanup() {
	local ns p
	for ns in "${!DAEMON_PID[@]}"; do
		p=${DAEMON_PID[$ns]}
		kill -TERM "$p" 2>/dev/null
		timeout 10 tail -s 0.1 --pid="$p" -f /dev/null 2>/dev/null || kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
		unset "DAEMON_PID[$ns]"
	done
	[ -n "$CAP_PID" ] && kill "$CAP_PID" 2>/dev/null && wait "$CAP_PID" 2>/dev/null
	CAP_PID=
	stop_bg
	for ns in "${ALL_NS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "$TMP" ] && [ -d "$TMP" ]; then
		if [ "${ESPRIT_KEEP:-0}" = 1 ]; then
			echo "# kept $TMP"
		else
			rm -rf "$TMP"
		fi
	fi
	TMP=
}

nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

sysctl_ns() { nsx "$1" sysctl -qw "$2" >/dev/null; }

# veth_pair NS1 IF1 NS2 IF2: created directly inside the namespaces, so
# the names never clash with anything outside.
veth_pair() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
}

topo_up() {
	local ns
	for ns in "${ALL_NS[@]}"; do
		ip netns add "$ns" || bail "ip netns add $ns"
		ip -n "$ns" link set lo up
		sysctl_ns "$ns" net.ipv6.conf.all.accept_dad=0
		sysctl_ns "$ns" net.ipv6.conf.default.accept_dad=0
	done
	veth_pair "$HA" lan0 "$GA" lan0 || bail "veth hostA-gwA"
	veth_pair "$GA" wan0 "$GB" wan0 || bail "veth gwA-gwB"
	veth_pair "$GB" lan0 "$HB" lan0 || bail "veth gwB-hostB"

	ip -n "$HA" addr add $HA4/24 dev lan0
	ip -n "$HA" addr add $HA6/64 dev lan0 nodad
	ip -n "$GA" addr add $GA4_LAN/24 dev lan0
	ip -n "$GA" addr add $GA6_LAN/64 dev lan0 nodad
	ip -n "$GA" addr add $GA4/24 dev wan0
	ip -n "$GA" addr add $GA6/64 dev wan0 nodad
	ip -n "$GB" addr add $GB4/24 dev wan0
	ip -n "$GB" addr add $GB6/64 dev wan0 nodad
	ip -n "$GB" addr add $GB4_LAN/24 dev lan0
	ip -n "$GB" addr add $GB6_LAN/64 dev lan0 nodad
	ip -n "$HB" addr add $HB4/24 dev lan0
	ip -n "$HB" addr add $HB6/64 dev lan0 nodad
	for ns in "${ALL_NS[@]}"; do
		ip -n "$ns" link set lan0 up 2>/dev/null
		ip -n "$ns" link set wan0 up 2>/dev/null
	done
	ip -n "$HA" route add default via $GA4_LAN
	ip -n "$HA" -6 route add default via $GA6_LAN
	ip -n "$HB" route add default via $GB4_LAN
	ip -n "$HB" -6 route add default via $GB6_LAN
	for ns in "$GA" "$GB"; do
		sysctl_ns "$ns" net.ipv4.ip_forward=1
		sysctl_ns "$ns" net.ipv6.conf.all.forwarding=1
		sysctl_ns "$ns" net.ipv4.conf.all.rp_filter=0
		sysctl_ns "$ns" net.ipv4.conf.default.rp_filter=0
	done
}

# topo_nat_links GA_WAN: the four namespaces plus $NT, a NAT box between
# gwA and gwB (IPv4 only), without its nftables rules (the caller's):
#   hostA -- gwA wan0 GA_WAN == in0 $NT4_IN  nat  out0 $NT4_OUT == gwB wan0 $GB4 -- hostB
# gwA routes gwB's segment through the NAT; gwB has no route behind it.
topo_nat_links() {
	local ns i gawan=$1
	ALL_NS+=("$NT")
	for ns in "${ALL_NS[@]}"; do
		ip netns add "$ns" || bail "ip netns add $ns"
		ip -n "$ns" link set lo up
	done
	veth_pair "$HA" lan0 "$GA" lan0 || bail "veth hostA-gwA"
	veth_pair "$GA" wan0 "$NT" in0 || bail "veth gwA-nat"
	veth_pair "$NT" out0 "$GB" wan0 || bail "veth nat-gwB"
	veth_pair "$GB" lan0 "$HB" lan0 || bail "veth gwB-hostB"
	ip -n "$HA" addr add $HA4/24 dev lan0
	ip -n "$GA" addr add $GA4_LAN/24 dev lan0
	ip -n "$GA" addr add "$gawan"/24 dev wan0
	ip -n "$NT" addr add $NT4_IN/24 dev in0
	ip -n "$NT" addr add $NT4_OUT/24 dev out0
	ip -n "$GB" addr add $GB4/24 dev wan0
	ip -n "$GB" addr add $GB4_LAN/24 dev lan0
	ip -n "$HB" addr add $HB4/24 dev lan0
	for ns in "${ALL_NS[@]}"; do
		for i in lan0 wan0 in0 out0; do ip -n "$ns" link set "$i" up 2>/dev/null; done
	done
	ip -n "$HA" route add default via $GA4_LAN
	ip -n "$HB" route add default via $GB4_LAN
	ip -n "$GA" route add 198.18.0.0/24 via $NT4_IN
	for ns in "$GA" "$GB" "$NT"; do
		sysctl_ns "$ns" net.ipv4.ip_forward=1
		sysctl_ns "$ns" net.ipv4.conf.all.rp_filter=0
		sysctl_ns "$ns" net.ipv4.conf.default.rp_filter=0
	done
}

# Plain routing between the sites (no IPsec): only for checking the
# topology; the IPsec scenarios never call it.
topo_plain_routes() {
	ip -n "$GA" route add 198.19.2.0/24 via $GB4
	ip -n "$GB" route add 198.19.1.0/24 via $GA4
	ip -n "$GA" -6 route add 2001:db8:2::/64 via $GB6
	ip -n "$GB" -6 route add 2001:db8:1::/64 via $GA6
}

# ---- the daemon --------------------------------------------------------------

# start_esprit NS CONFIG [extra espritd args]: espritd in the foreground
# under timeout, log to $TMP/espritd-NS.log, control socket
# $TMP/NS.sock; returns once the socket answers (or fails).
start_esprit() {
	local ns=$1 cfg=$2 i
	shift 2
	local log=$TMP/espritd-${ns##*-}.log sock=$TMP/${ns##*-}.sock
	[ -f "$cfg" ] || { not_ok "start espritd in $ns: no config $cfg"; return 1; }
	DAEMON_LOG[$ns]=$log
	DAEMON_SOCK[$ns]=$sock
	rm -f "$sock"
	echo "# espritd -f $cfg in $ns" >>"$log"
	# --foreground: timeout then forwards our SIGTERM to espritd only,
	# not a second time to its process group (a second SIGTERM arriving
	# while espritd shuts down kills it before it has cleaned up).
	ip netns exec "$ns" timeout --foreground -s TERM 600 "$BIN/espritd" -f "$cfg" -d -s "$sock" "$@" \
		>>"$log" 2>&1 </dev/null &
	DAEMON_PID[$ns]=$!
	for i in $(seq 100); do
		if ! kill -0 "${DAEMON_PID[$ns]}" 2>/dev/null; then
			wait "${DAEMON_PID[$ns]}"
			not_ok "start espritd in $ns ($(basename "$cfg")): exited with $?"
			unset "DAEMON_PID[$ns]"
			return 1
		fi
		if [ -S "$sock" ] && cli "$ns" show version >/dev/null 2>&1; then
			ok "espritd in ${ns##*-} answers ($(basename "$cfg"))"
			return 0
		fi
		sleep 0.1
	done
	not_ok "espritd in $ns did not answer on $sock within 10 s"
	return 1
}

# stop_esprit NS: SIGTERM; must exit 0 within 10 s with no sanitizer
# report, and leave no TUN device or table-220 routes behind.
stop_esprit() {
	local ns=$1 p rc
	p=${DAEMON_PID[$ns]:-}
	[ -n "$p" ] || { not_ok "stop espritd in $ns: not running"; return 1; }
	kill -TERM "$p"
	if ! timeout 10 tail -s 0.1 --pid="$p" -f /dev/null; then
		kill -KILL "$p" 2>/dev/null
		not_ok "espritd in ${ns##*-} did not exit within 10 s of SIGTERM"
	fi
	wait "$p"
	rc=$?
	unset "DAEMON_PID[$ns]"
	check "espritd in ${ns##*-} exits 0 on SIGTERM (rc=$rc)" [ "$rc" = 0 ]
	check "espritd in ${ns##*-}: no sanitizer report" \
		not_grep -E 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "${DAEMON_LOG[$ns]}"
	check "espritd in ${ns##*-}: no TUN device, no table 220 and no rule left" no_leftovers "$ns"
}

not_grep() { ! grep -q "$@"; }

no_leftovers() {
	local ns=$1
	! ip -n "$ns" -o link show type tun 2>/dev/null | grep -q . &&
		[ -z "$(ip -n "$ns" route show table 220 2>/dev/null)" ] &&
		[ -z "$(ip -n "$ns" -6 route show table 220 2>/dev/null)" ] &&
		! ip -n "$ns" rule show 2>/dev/null | grep -q "fwmark 0x5e5e" &&
		! ip -n "$ns" -6 rule show 2>/dev/null | grep -q "fwmark 0x5e5e"
}

# The control-socket client used when $BIN/esprit is not built yet; it
# speaks the protocol of src/control/server.c ("T|J line\n" -> output,
# NUL, status, prompt).
write_pyclient() {
	cat >"$TMP/ctl.py" <<'EOF'
import socket, sys
sock, mode, line = sys.argv[1], sys.argv[2], " ".join(sys.argv[3:])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sock)
s.sendall(("%s %s\n" % (mode, line)).encode())
buf = b""
while b"\0" not in buf or not buf.endswith(b"\n"):
    d = s.recv(65536)
    if not d:
        break
    buf += d
out, _, tail = buf.partition(b"\0")
sys.stdout.write(out.decode(errors="replace"))
sys.exit(0 if tail[:1] == b"0" else 1)
EOF
}

# cli NS [--json] WORDS...: one command on NS's daemon.
cli() {
	local ns=$1 json=
	shift
	local sock=${DAEMON_SOCK[$ns]:-$TMP/${ns##*-}.sock}
	if [ "${1:-}" = --json ]; then json=1; shift; fi
	if [ -x "$BIN/esprit" ]; then
		nsx "$ns" timeout 15 "$BIN/esprit" --socket "$sock" ${json:+--json} "$@"
	else
		[ -f "$TMP/ctl.py" ] || write_pyclient
		nsx "$ns" timeout 15 "$PY" "$TMP/ctl.py" "$sock" "$([ -n "$json" ] && echo J || echo T)" "$@"
	fi
}

# ---- counters from `esprit --json show crypto ipsec sa detail` ---------------

# sa_snapshot NS FILE: save the JSON.
sa_snapshot() {
	cli "$1" --json show crypto ipsec sa detail >"$2" 2>"$2.err"
}

# sa_get NS PYEXPR: evaluate a python expression over d (the JSON) and
# helpers: sum_g(field) over the SA groups, drop(name) = that drop reason
# summed over groups and the data plane (not attributable to an SA).
sa_get() {
	local ns=$1 expr=$2 f=$TMP/sa-${1##*-}.json
	sa_snapshot "$ns" "$f" || { echo "ERR"; return 1; }
	json_eval "$f" "$expr"
}

json_eval() {
	"$PY" - "$1" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
sas = d.get("sas", [])
def sum_g(f):
    return sum(int(g.get(f, 0)) for g in sas)
def drop(n):
    v = sum(int(g.get("drops", {}).get(n, 0)) for g in sas)
    return v + int(d.get("dataplane", {}).get("drops", {}).get(n, 0))
def drops_total():
    t = sum(sum(int(x) for x in g.get("drops", {}).values()) for g in sas)
    return t + sum(int(x) for x in d.get("dataplane", {}).get("drops", {}).values())
print(eval(sys.argv[2]))
EOF
}

# Small numeric assertions; VALUE may be "ERR".
num_gt() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -gt "$2" ]; }
num_ge() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ]; }
num_eq() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -eq "$2" ]; }
# equal-ish: differ by at most max(5, 1%)
num_close() {
	[[ $1 =~ ^[0-9]+$ ]] && [[ $2 =~ ^[0-9]+$ ]] || return 1
	local d=$(($1 - $2)) m=$(($1 / 100))
	[ $d -lt 0 ] && d=$((-d))
	[ $m -lt 5 ] && m=5
	[ $d -le $m ]
}

# check_sa_counters: gwA's encaps ~ gwB's decaps and the other way, all
# non-zero, no drops at all on either side.
check_sa_counters() {
	local ea da eb db xa xb
	ea=$(sa_get "$GA" 'sum_g("pkts_encaps")')
	da=$(sa_get "$GA" 'sum_g("pkts_decaps")')
	eb=$(sa_get "$GB" 'sum_g("pkts_encaps")')
	db=$(sa_get "$GB" 'sum_g("pkts_decaps")')
	xa=$(sa_get "$GA" 'drops_total()')
	xb=$(sa_get "$GB" 'drops_total()')
	check "gwA encaps $ea > 0 and gwB decaps $db ~ it" eval 'num_gt "$ea" 0 && num_close "$ea" "$db"'
	check "gwB encaps $eb > 0 and gwA decaps $da ~ it" eval 'num_gt "$eb" 0 && num_close "$eb" "$da"'
	check "no drops counted (gwA $xa, gwB $xb)" eval 'num_eq "$xa" 0 && num_eq "$xb" 0'
}

# ---- traffic ------------------------------------------------------------------

# ping_ok NS DST [COUNT]: at most one lost.
ping_ok() {
	local ns=$1 dst=$2 n=${3:-5} out got
	out=$(nsx "$ns" timeout 30 ping -n -c "$n" -i 0.2 -W 2 "$dst" 2>&1)
	got=$(echo "$out" | sed -n 's/.* \([0-9]\+\) received.*/\1/p')
	[ -n "$got" ] && [ "$got" -ge $((n - 1)) ] && return 0
	echo "$out" | tail -n 3 | sed 's/^/#   /'
	return 1
}

ping_fails() {
	! nsx "$1" timeout 15 ping -n -c 3 -i 0.2 -W 1 "$2" >/dev/null 2>&1
}

check_ping() {
	check "ping ${1##*-} -> $2" ping_ok "$@"
}

# make_payload FILE BYTES KIND: random (incompressible) or text
# (compressible, but not a single repeated byte).
make_payload() {
	local f=$1 n=$2 kind=${3:-random}
	case $kind in
	random) head -c "$n" /dev/urandom >"$f" ;;
	text)
		"$PY" - "$f" "$n" <<'EOF'
import sys, random
f, n = sys.argv[1], int(sys.argv[2])
words = b"the quick brown fox jumps over a lazy dog esprit ipsec tunnel payload".split()
r = random.Random(4)
out = bytearray()
while len(out) < n:
    out += b" ".join(r.choice(words) for _ in range(12)) + b"\n"
open(f, "wb").write(out[:n])
EOF
		;;
	esac
}

# tcp_transfer SRC_NS DST_NS DST_ADDR BYTES [random|text]: socat from SRC
# to a listener on DST; the SHA-256 received must match what was sent.
TCP_PORT=5001
tcp_transfer() {
	local src=$1 dst=$2 addr=$3 bytes=$4 kind=${5:-random}
	local in=$TMP/xfer.in out=$TMP/xfer.out lp i t0 t1 hs hr listen conn
	TCP_PORT=$((TCP_PORT + 1))
	make_payload "$in" "$bytes" "$kind"
	rm -f "$out"
	if [[ $addr == *:* ]]; then
		listen="TCP6-LISTEN:$TCP_PORT,bind=[$addr],reuseaddr"
		conn="TCP6:[$addr]:$TCP_PORT,connect-timeout=10"
	else
		listen="TCP4-LISTEN:$TCP_PORT,bind=$addr,reuseaddr"
		conn="TCP4:$addr:$TCP_PORT,connect-timeout=10"
	fi
	nsx "$dst" timeout 180 socat -u "$listen" "CREATE:$out" 2>"$TMP/socat-l.err" &
	lp=$!
	for i in $(seq 50); do
		nsx "$dst" ss -ltnH "sport = :$TCP_PORT" 2>/dev/null | grep -q . && break
		sleep 0.1
	done
	t0=$(date +%s.%N)
	if ! nsx "$src" timeout 170 socat -u "OPEN:$in" "$conn" 2>"$TMP/socat-c.err"; then
		sed 's/^/#   /' "$TMP/socat-c.err"
		kill "$lp" 2>/dev/null
		wait "$lp" 2>/dev/null
		return 1
	fi
	wait "$lp"
	t1=$(date +%s.%N)
	hs=$(sha256sum <"$in" | cut -d' ' -f1)
	hr=$(sha256sum <"$out" 2>/dev/null | cut -d' ' -f1)
	info "$bytes bytes ($kind) ${src##*-} -> $addr in $(echo "$t1 - $t0" | bc 2>/dev/null || echo '?') s," \
		"received $(stat -c %s "$out" 2>/dev/null || echo 0)"
	rm -f "$in" "$out"
	[ "$hs" = "$hr" ]
}

check_transfer() {
	check "TCP $4 bytes ${1##*-} -> $3, SHA-256 matches" tcp_transfer "$@"
}

# freeze_send NS N EVERY: hostA sends N 64-byte datagrams to hostB port
# 9000 (tests/netns/udp_gso.py), one per packet, with a 2 ms pause after
# every EVERY, while espritd in NS is stopped (SIGSTOP); sets got
# (received intact by hostB) and rdrop (dropped on hostB's socket).
freeze_send() {
	local ns=$1 n=$2 every=$3 pid rp ug="$ESPRIT_SRC/tests/netns/udp_gso.py"
	pid=$(pgrep -P "${DAEMON_PID[$ns]}" -x espritd)
	nsx "$HB" timeout 90 "$PY" "$ug" recv 9000 64 3 >"$TMP/recv.out" &
	rp=$!
	sleep 0.5
	kill -STOP "$pid"
	nsx "$HA" timeout 60 "$PY" "$ug" send "$HB4" 9000 64 1 "$n" "$every" >/dev/null
	sleep 0.5
	kill -CONT "$pid"
	wait "$rp"
	got=$(awk '{print $2}' "$TMP/recv.out")
	rdrop=$(awk '{print $6}' "$TMP/recv.out")
	got=${got:-0} rdrop=${rdrop:-0}
}

# ---- capture on the WAN --------------------------------------------------------

# capture_start NS IFACE FILE [SNAPLEN] [FILTER]: dumpcap to a pcap file.
capture_start() {
	local ns=$1 ifc=$2 f=$3 snap=${4:-262144} filter=${5:-}
	local i
	# Not through nsx: a backgrounded shell function is a subshell, and
	# capture_stop's SIGINT would stop at it instead of reaching dumpcap.
	# ip netns exec execs timeout, which forwards the signal to dumpcap.
	ip netns exec "$ns" timeout 300 dumpcap -q -P -i "$ifc" -s "$snap" ${filter:+-f "$filter"} \
		-w "$f" 2>"$f.err" &
	CAP_PID=$!
	for i in $(seq 50); do
		# dumpcap says so as it starts its capture loop; a packet in
		# the next moments was seen missing once (t_ikefrag): wait a bit
		grep -q "Capturing on" "$f.err" 2>/dev/null && { sleep 0.2; return 0; }
		kill -0 "$CAP_PID" 2>/dev/null || break
		sleep 0.1
	done
	sed 's/^/#   /' "$f.err"
	return 1
}

# capture_stop: ends the capture. dumpcap reads the kernel's TPACKET_V3
# ring a block at a time, and a block is handed over when it fills or its
# timer (dumpcap's 250 ms read timeout) fires: a packet in a block that is
# not handed over when dumpcap stops is lost. So wait longer than that
# timer; a check that needs one packet from the live file should wait for
# it with capture_has first (under the load of the parallel netns tier the
# timer can fire late).
capture_stop() {
	[ -n "$CAP_PID" ] || return 0
	sleep 0.5
	kill -INT "$CAP_PID" 2>/dev/null
	wait "$CAP_PID" 2>/dev/null
	CAP_PID=
}

# capture_has FILE FILTER: the capture being written has a packet matching
# FILTER (use with wait_for before capture_stop).
capture_has() {
	[ "$(tshark_count "$1" "$2")" -ge 1 ] 2>/dev/null
}

# tshark_count FILE FILTER [tshark options...]: packets matching.
tshark_count() {
	local f=$1 flt=$2
	shift 2
	timeout 120 tshark -n -r "$f" "$@" -Y "$flt" 2>/dev/null | wc -l
}

# tshark_count_all FILE FILTER...: counts the frames of FILE matching each
# FILTER in one tshark run, for tshark_count_cached. A tshark run costs
# about 0.4 s before it reads the first packet, more than a test's capture
# takes to read. tshark -z io,stat,0,FILTER,... gives per filter the frames
# it matches, which is what `tshark -Y FILTER | wc -l` counts. Forgets the
# numbers of the previous call (a capture file may be written again).
declare -A TSHARK_NCACHE=()
tshark_count_all() {
	local file=$1 out f i nums=()
	shift
	TSHARK_NCACHE=()
	for f in "$@"; do [[ $f == *,* ]] && return 0; done
	out=$(IFS=,; timeout 120 tshark -n -r "$file" -q -z "io,stat,0,$*" 2>/dev/null) || return 0
	# the row: | interval | frames | bytes | frames | bytes | ... | (then
	# blank padding when the filters are wider than the numbers)
	read -r -a nums <<<"$(awk -F'|' '/ <> / { for (i = 3; i < NF && $i ~ /^ *[0-9]+ *$/; i += 2) printf "%d ", $i; exit }' <<<"$out")"
	[ "${#nums[@]}" = $# ] || return 0
	i=0
	for f in "$@"; do TSHARK_NCACHE[$file|$f]=${nums[$i]} i=$((i + 1)); done
}

# tshark_count_cached FILE FILTER: tshark_count, from tshark_count_all's
# numbers when it has them. It has none for a filter not in its list or
# with a comma, for a capture whose frames all have one timestamp (io,stat
# prints no row then), or after any tshark error: that one is counted on
# its own.
tshark_count_cached() {
	if [ -n "${TSHARK_NCACHE[$1|$2]+set}" ]; then
		echo "${TSHARK_NCACHE[$1|$2]}"
	else
		tshark_count "$1" "$2"
	fi
}

# ---- IKEv2 helpers -------------------------------------------------------------

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds (0) or
# SECONDS pass (1).
wait_for() { # SECONDS CMD...
	local t=$1 i
	shift
	for i in $(seq $((t * 10))); do "$@" && return 0; sleep 0.1; done
	return 1
}

# ike_json NS: `show crypto ikev2 sa` as JSON; ike_ready NS: some IKE SA of
# NS is READY; ike_count NS: how many IKE SAs NS has.
ike_json() { cli "$1" --json show crypto ikev2 sa; }
ike_ready() {
	ike_json "$1" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if any(s["status"]=="READY" for s in d["ike_sas"]) else 1)'
}
ike_count() {
	ike_json "$1" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["ike_sas"]))'
}

# state_now: STATE="OK ike=SPIi/SPIr child=AOUT/AIN" when gwA and gwB are
# settled on one IKE SA and one crossing ESP pair (tests/netns/ikev2_state.py),
# else "WAIT why"; ike_of/child_of STATE: the IKE / child part.
STATE=
state_now() {
	cli "$GA" --json show crypto ikev2 sa >"$TMP/ia.json" 2>/dev/null
	cli "$GB" --json show crypto ikev2 sa >"$TMP/ib.json" 2>/dev/null
	cli "$GA" --json show crypto ipsec sa >"$TMP/sa.json" 2>/dev/null
	cli "$GB" --json show crypto ipsec sa >"$TMP/sb.json" 2>/dev/null
	STATE=$("$PY" "$SRC/tests/netns/ikev2_state.py" "$TMP/ia.json" "$TMP/ib.json" "$TMP/sa.json" "$TMP/sb.json")
}
ike_of() { local s=${1#OK ike=}; echo "${s%% *}"; }
child_of() { echo "${1##*child=}"; }
