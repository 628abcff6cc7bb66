#!/bin/bash
# No reordering inside a flow, and no replay drop of a packet the workers
# only delayed (issue 4). Eight UDP flows share one SA, so the two workers
# of gwA seal packets of the same SA at once (their sequence numbers
# interleave on the wire); each flow is read from one TUN queue by one
# worker and gwB steers the SA to one worker. Over native ESP and over
# ESP-in-UDP, hostB checks that no datagram of a flow arrives after a
# later one, gwB's replay window drops nothing, and what was lost the
# kernel counted (a queue or buffer full; it counts a dropped superpacket
# of NSEG datagrams once).
. "$(dirname "$0")/lib.sh"
lib_init
need_daemon
topo_up
UG="$ESPRIT_SRC/tests/netns/udp_gso.py"
FLOWS=8
# per flow: 150 superpackets of 20 datagrams of 200 bytes, 2 ms pause
# after every 2nd
COUNT=150 NSEG=20 SEG=200 EVERY=2

dp_get() { sa_get "$1" "d[\"dataplane\"][\"$2\"]"; }
kdrops() { echo $(($(dp_get "$1" tun_queue_drops) + $(dp_get "$1" sock_buffer_drops))); }

for ex in esp-gcm udp-encap; do
	info "== manual-$ex: $FLOWS flows in one SA"
	start_esprit "$GA" "$EX/manual-$ex-gwA.cfg" || bail "gwA"
	start_esprit "$GB" "$EX/manual-$ex-gwB.cfg" || bail "gwB"
	check "gwA runs 2 workers" grep -q "with 2 worker(s)" "${DAEMON_LOG[$GA]}"
	check_ping "$HA" "$HB4"
	nsx "$HB" timeout 90 "$PY" "$UG" recv 9000 "$SEG" 3 >"$TMP/recv.out" &
	rp=$!
	sleep 0.5
	pids=()
	for f in $(seq "$FLOWS"); do
		nsx "$HA" timeout 60 "$PY" "$UG" send "$HB4" 9000 "$SEG" "$NSEG" "$COUNT" "$EVERY" \
			>/dev/null &
		pids+=($!)
	done
	wait "${pids[@]}"
	wait "$rp"
	read -r _ got _ bad _ rdrop _ reord <"$TMP/recv.out"
	sent=$((FLOWS * COUNT * NSEG))
	replay=$(sa_get "$GB" 'sum(int(g["drops"]["replay"]) for g in sas)')
	kd=$(($(kdrops "$GA") + $(kdrops "$GB") + ${rdrop:-0}))
	check "manual-$ex: hostB got $got of $sent intact (bad $bad)" \
		eval 'num_gt "$got" $((sent / 2)) && num_eq "$bad" 0'
	check "manual-$ex: no datagram arrived after a later one of its flow ($reord)" \
		num_eq "$reord" 0
	check "manual-$ex: gwB's replay window dropped nothing ($replay)" num_eq "$replay" 0
	check "manual-$ex: what was lost the kernel counted ($((sent - got)) datagrams lost, $kd drops counted)" \
		num_ge $((kd * NSEG)) $((sent - got))
	stop_esprit "$GA"
	stop_esprit "$GB"
done
finish
