#!/bin/bash
# IKEv2 rekey collisions (RFC 7296 2.8.1 Child SAs, 2.8.2 IKE SA), esprit
# <-> esprit, crypto-map style from examples/ikev2-map-gwA.cfg / -gwB.cfg.
#
#   hostA (198.19.1.2) -- (198.19.1.1) gwA (198.18.0.1) ==WAN== (198.18.0.2) gwB (198.19.2.1) -- hostB (198.19.2.2)
#                                       espritd  <-- IKEv2 UDP 500 -->  espritd
#
# A ping brings the tunnel up. Then 5 rounds of simultaneous IKE SA
# rekeys and 5 rounds of simultaneous Child SA rekeys: `rekey crypto
# ikev2 sa` / `rekey crypto ipsec sa` is sent to both daemons at once (two
# background CLI commands). So that the two CREATE_CHILD_SA requests cross
# every time and not only when the timing happens to be right, nftables
# on each gateway first drops incoming IKE requests and responses (ESP
# passes): the test checks that each side's request was dropped at the
# other (both outstanding), then lets requests through and checks that
# each side answered the other's while its own was outstanding (the
# answers dropped), then lets responses through; the retransmitted
# requests get the cached answers (RFC 7296 2.1). After each round, once
# settled:
#   - exactly one IKE SA per side, READY, the same SPIs on both sides,
#     and new ones (IKE rounds) or the same ones (Child rounds);
#   - exactly one inbound and one outbound ESP SA per side, gwA's
#     outbound SPI == gwB's inbound and the other way round, new SPIs
#     (Child rounds) or the same ones (IKE rounds);
#   - the logs of that round show the collision seen and resolved by the
#     lowest-nonce rule, once on each side: one daemon logs "...collision:
#     ours has the lowest nonce, deleting it" (or, when the winner's
#     DELETE of the old SA overtook its answer, "...the peer deleted the
#     old SA first"), the other "...the peer's has the lowest nonce, it
#     deletes it" (or "...collision resolved" when the loser's DELETE of
#     its new SA came first); no refusals, no errors;
#   - ping hostA <-> hostB works.
# Then both daemons stop cleanly (no sanitizer report, nothing left).
. "$(dirname "$0")/lib.sh"
lib_init
need_daemon
topo_up
start_esprit "$GA" "$EX/ikev2-map-gwA.cfg" || bail "gwA did not start"
start_esprit "$GB" "$EX/ikev2-map-gwB.cfg" || bail "gwB did not start"

wait_for() { # SECONDS CMD...
	local t=$1 i
	shift
	for i in $(seq $((t * 5))); do "$@" && return 0; sleep 0.2; done
	return 1
}


settled_after() { # KIND OLD: settled with new KIND SPIs
	state_now
	[[ $STATE == OK* ]] || return 1
	case $1 in
	ike) [ "$(ike_of "$STATE")" != "$(ike_of "$2")" ] ;;
	child) [ "$(child_of "$STATE")" != "$(child_of "$2")" ] ;;
	esac
}

log_lines() { wc -l <"${DAEMON_LOG[$1]}"; }
log_since() { tail -n +$(($2 + 1)) "${DAEMON_LOG[$1]}"; }

# To make the two requests cross every time, not just when the timing is
# lucky: nftables on each gateway drops incoming IKE requests (chain req)
# and responses (chain resp; the R flag, bit 0x20 of the IKE header's
# flags octet, UDP payload offset 19). ESP is not touched.
command -v nft >/dev/null || skip "needs nft(8)"
for ns in "$GA" "$GB"; do
	nsx "$ns" nft -f - <<'EOF' || skip "nftables does not work here"
table inet rk {
	chain req { }
	chain resp { }
	chain in {
		type filter hook input priority 0; policy accept;
		udp dport 500 @th,216,8 & 0x20 == 0x00 jump req
		udp dport 500 @th,216,8 & 0x20 == 0x20 jump resp
	}
}
EOF
done
block() { nsx "$1" nft add rule inet rk "$2" counter drop; }
unblock() { nsx "$1" nft flush chain inet rk "$2"; }
dropped() { # NS CHAIN: packets the chain dropped
	nsx "$1" nft list chain inet rk "$2" | sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | head -n 1
}
ge1() { [ "$(dropped "$1" "$2")" -ge 1 ] 2>/dev/null; }

nsx "$HA" ping -c 3 -i 0.5 -W 2 "$HB4" >/dev/null 2>&1
wait_for 15 eval 'state_now; [[ $STATE == OK* ]]'
check "tunnel up and settled after the first ping ($STATE)" eval '[[ $STATE == OK* ]]'
# collide KIND ROUND
collide() {
	local kind=$1 r=$2 cmd old=$STATE oa ob pa pb ra rb pfx n_win n_lose errs ns
	[ "$kind" = ike ] && cmd="rekey crypto ikev2 sa" || cmd="rekey crypto ipsec sa"
	oa=$(log_lines "$GA")
	ob=$(log_lines "$GB")
	for ns in "$GA" "$GB"; do block "$ns" req; block "$ns" resp; done
	# both together, in the background; wait for these two only
	cli "$GA" $cmd >"$TMP/cliA.out" 2>&1 &
	pa=$!
	cli "$GB" $cmd >"$TMP/cliB.out" 2>&1 &
	pb=$!
	wait "$pa"
	ra=$?
	wait "$pb"
	rb=$?
	# 1. each side's request was dropped at the other: both are pending
	wait_for 10 eval 'ge1 "$GA" req && ge1 "$GB" req'
	check "$kind round $r: both requests sent before either was received" \
		eval 'ge1 "$GA" req && ge1 "$GB" req'
	# 2. let the retransmitted requests in: each side answers the peer's
	#    request while its own is outstanding (the answers are dropped)
	for ns in "$GA" "$GB"; do unblock "$ns" req; done
	wait_for 10 eval 'ge1 "$GA" resp && ge1 "$GB" resp'
	check "$kind round $r: each side answered the other's request while its own was outstanding" \
		eval 'ge1 "$GA" resp && ge1 "$GB" resp'
	# 3. the next retransmissions get the cached answers (2.1)
	for ns in "$GA" "$GB"; do unblock "$ns" resp; done
	check "$kind round $r: both '$cmd' accepted (rc $ra/$rb: $(tr '\n' ' ' <"$TMP/cliA.out")/ $(tr '\n' ' ' <"$TMP/cliB.out"))" \
		eval '[ $ra = 0 ] && [ $rb = 0 ] && grep -q "Rekeying 1 " "$TMP/cliA.out" && grep -q "Rekeying 1 " "$TMP/cliB.out"'
	if wait_for 30 settled_after "$kind" "$old"; then
		ok "$kind round $r: settled, one IKE SA and one child pair per side, both sides agree ($STATE)"
	else
		not_ok "$kind round $r: not settled with new $kind SPIs within 30 s ($STATE)"
		return 1
	fi
	if [ "$kind" = ike ]; then
		check "$kind round $r: child SPIs unchanged by the IKE rekeys" \
			[ "$(child_of "$STATE")" = "$(child_of "$old")" ]
		pfx="IKE rekey collision"
	else
		check "$kind round $r: IKE SPIs unchanged by the Child rekeys" \
			[ "$(ike_of "$STATE")" = "$(ike_of "$old")" ]
		pfx=": rekey collision"
	fi
	(log_since "$GA" "$oa"; log_since "$GB" "$ob") | grep "$pfx" >"$TMP/coll.log"
	# the side whose new SA survives / the side that deletes its own
	n_win=$(grep -cE "$pfx: the peer's has the lowest nonce, it deletes it|$pfx resolved" "$TMP/coll.log")
	n_lose=$(grep -cE "$pfx: ours has the lowest nonce, deleting it|$pfx: the peer deleted the old (IKE )?SA first" "$TMP/coll.log")
	check "$kind round $r: collision seen and resolved once on each side ($(sed 's/.*collision: *//' "$TMP/coll.log" | tr '\n' ';'))" \
		eval '[ "$n_win" = 1 ] && [ "$n_lose" = 1 ] &&
		      [ "$(log_since "$GA" "$oa" | grep -c "$pfx")" = 1 ] &&
		      [ "$(log_since "$GB" "$ob" | grep -c "$pfx")" = 1 ]'
	errs=$( (log_since "$GA" "$oa"; log_since "$GB" "$ob") | grep -E "refused|TEMPORARY_FAILURE|cannot|error|\[err\]" | head -n 3)
	check "$kind round $r: no refusal or error logged${errs:+ ($errs)}" [ -z "$errs" ]
	check "$kind round $r: ping hostA -> hostB" ping_ok "$HA" "$HB4" 3
	check "$kind round $r: ping hostB -> hostA" ping_ok "$HB" "$HA4" 3
}

for r in 1 2 3 4 5; do collide ike $r || bail "ike round $r left the SAs unsettled"; done
for r in 1 2 3 4 5; do collide child $r || bail "child round $r left the SAs unsettled"; done

state_now
check "still settled at the end ($STATE)" eval '[[ $STATE == OK* ]]'
check_ping "$HA" "$HB4"
stop_esprit "$GA"
stop_esprit "$GB"
finish
