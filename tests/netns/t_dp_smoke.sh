#!/bin/bash
# Data-plane smoke test: two namespaces, one manually keyed ESP SA pair
# each way (tests/tools/dp_pair), ping across, native ESP then ESP-in-UDP.
#
#   ns A                                         ns B
#   lo 198.18.1.1/32                             lo 198.18.2.1/32
#   esp0 (TUN) <- main: 198.18.2.0/24            esp0 (TUN) <- main: 198.18.1.0/24
#   (no policy rule: no prefix covers the peer)   (the same)
#   va 198.18.0.1/30 ----------- veth ---------- vb 198.18.0.2/30
#
# ping -I 198.18.1.1 198.18.2.1 in A: main table -> esp0 -> dp_pair (A) ->
# ESP 198.18.0.1 -> 198.18.0.2 -> raw socket in B -> decrypt -> esp0 (B) ->
# delivered; the reply comes back the same way. After dp_pair exits, no
# rule and no TUN device may be left. (The rule and table 220, used when a
# prefix covers a peer, are checked by t_route_rule.)
#
# Needs root and ip(8); exits 77 (skip) otherwise. ESPRIT_BIN: build dir
# (dp_pair is built there if missing), ESPRIT_SRC: source dir.
set -u
SRC=${ESPRIT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${ESPRIT_BIN:-$SRC/build}
A=dpsA-$$
B=dpsB-$$
TMP=$(mktemp -d)
PIDS=()

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; for f in "$TMP"/*.log; do echo "--- $f"; cat "$f"; done; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root"
command -v ip >/dev/null || skip "needs ip(8)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"

build_dp_pair() {
	local cflags="-std=gnu11 -D_GNU_SOURCE -g -I$SRC/src"
	if grep -q '^ESPRIT_SANITIZE:BOOL=ON' "$BIN/CMakeCache.txt" 2>/dev/null; then
		cflags="$cflags -fsanitize=address,undefined"
	fi
	for l in dataplane ipsec crypto lib; do
		[ -f "$BIN/libesprit_$l.a" ] || return 1
	done
	# shellcheck disable=SC2046,SC2086
	cc $cflags -o "$TMP/dp_pair" "$SRC/tests/tools/dp_pair.c" \
		"$BIN/libesprit_dataplane.a" "$BIN/libesprit_ipsec.a" \
		"$BIN/libesprit_crypto.a" "$BIN/libesprit_lib.a" \
		$(pkg-config --libs openssl liburcu libnl-3.0 libnl-route-3.0 zlib) -lpthread
}
if [ -x "$BIN/dp_pair" ]; then
	DP_PAIR=$BIN/dp_pair
else
	build_dp_pair 2>"$TMP/build.log" || { cat "$TMP/build.log"; skip "cannot build dp_pair"; }
	DP_PAIR=$TMP/dp_pair
fi

ip netns add "$A" || skip "ip netns add failed"
ip netns add "$B"
ip -n "$A" link set lo up
ip -n "$B" link set lo up
ip link add va netns "$A" type veth peer name vb netns "$B"
ip -n "$A" addr add 198.18.0.1/30 dev va
ip -n "$B" addr add 198.18.0.2/30 dev vb
ip -n "$A" link set va up
ip -n "$B" link set vb up
ip -n "$A" addr add 198.18.1.1/32 dev lo
ip -n "$B" addr add 198.18.2.1/32 dev lo

# start_pair MODE-FLAGS: one dp_pair per namespace, wait for "ready".
start_pair() {
	local flags=$1
	ip netns exec "$A" timeout 60 "$DP_PAIR" -t esp0 -l 198.18.0.1 -r 198.18.0.2 \
		-L 198.18.1.0/24 -R 198.18.2.0/24 -o 0x1001 -i 0x2002 -w 2 $flags \
		>"$TMP/a.out" 2>"$TMP/a.log" &
	PIDS+=($!)
	ip netns exec "$B" timeout 60 "$DP_PAIR" -t esp0 -l 198.18.0.2 -r 198.18.0.1 \
		-L 198.18.2.0/24 -R 198.18.1.0/24 -o 0x2002 -i 0x1001 -w 1 $flags \
		>"$TMP/b.out" 2>"$TMP/b.log" &
	PIDS+=($!)
	for _ in $(seq 50); do
		grep -q ready "$TMP/a.out" && grep -q ready "$TMP/b.out" && return 0
		sleep 0.1
	done
	fail "dp_pair did not start ($flags)"
}

# SIGTERM both; each must exit 0 (clean dp_stop; no sanitizer report).
stop_pair() {
	local rc=0
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" || rc=$?; done
	PIDS=()
	[ "$rc" = 0 ] || fail "dp_pair exited with $rc"
}

check_clean() {
	for ns in "$A" "$B"; do
		ip -n "$ns" rule show | grep -q "fwmark 0x5e5e" && fail "rule left in $ns"
		ip -n "$ns" link show esp0 >/dev/null 2>&1 && fail "esp0 left in $ns"
	done
	return 0
}

run_mode() {
	local name=$1 flags=$2
	start_pair "$flags"
	ip -n "$A" rule show | grep -q "fwmark 0x5e5e" &&
		fail "$name: a policy rule in A, no prefix covers the peer: $(ip -n "$A" rule show)"
	ip -n "$A" route show table main | grep -q "198.18.2.0/24 dev esp0" ||
		fail "$name: no route in A's main table"
	ip netns exec "$A" timeout 10 ping -c 3 -i 0.2 -W 2 -I 198.18.1.1 198.18.2.1 \
		>"$TMP/ping.log" 2>&1 || fail "$name: ping through the tunnel"
	# On B's NAT-T port: a NAT-keepalive (RFC 3948 2.3) and an IKE
	# message behind the non-ESP marker (2.2): counted, not decrypted.
	ip netns exec "$A" bash -c 'printf "\xff" >/dev/udp/198.18.0.2/4500;
		printf "\x00\x00\x00\x00ike!" >/dev/udp/198.18.0.2/4500'
	sleep 0.2
	stop_pair
	grep -q "keepalive 1 ike 1" "$TMP/b.out" || fail "$name: keepalive/IKE not counted"
	grep -q "net_tx [1-9]" "$TMP/a.out" || fail "$name: A sent no ESP"
	grep -q "tun_tx [1-9]" "$TMP/b.out" || fail "$name: B decapsulated nothing"
	check_clean
	echo "ok: $name"
	cat "$TMP/a.out" "$TMP/b.out"
	[ -n "${DP_SMOKE_VERBOSE:-}" ] && grep -h drop "$TMP/a.log" "$TMP/b.log"
}

# No outbound SA in A: pings wait in the acquire queue and are dropped
# (no-out-sa) after its 5 s timeout; A fires one acquire for the policy,
# not one per packet (rate limit: 1/s/policy).
run_acquire() {
	start_pair "-n"
	ip netns exec "$A" timeout 5 ping -c 3 -i 0.2 -W 1 -I 198.18.1.1 198.18.2.1 \
		>"$TMP/ping.log" 2>&1 && fail "acquire: ping passed without an SA"
	sleep 5
	stop_pair
	grep -q "acquires 1$" "$TMP/a.out" || fail "acquire: expected exactly one acquire"
	grep -q "drop no-outbound-sa 3" "$TMP/a.out" || fail "acquire: expected 3 no-out-sa drops"
	check_clean
	echo "ok: acquire"
}

run_mode "native ESP" ""
run_mode "ESP in UDP 4500" "-u"
run_acquire
echo "PASS"
