#!/bin/bash
# A manually keyed SA's sender counter survives a restart of espritd
# (RFC 4303 3.3.3: with anti-replay, "the sequence number counter at the
# sender MUST be correctly maintained across local reboots, etc., until
# the key is replaced"). gwB keeps running, with its inbound SA's replay
# window past everything gwA sent; were gwA to start again from 1, gwB
# would drop every packet as a replay.
# - `clear crypto sa` on gwA: its inbound SA gets a new replay window, its
#   outbound SA goes on from its counter (no nonce reuse under the same
#   key), gwB counts no replay;
# - clean stop of gwA: <socket>.seq holds the exact number; the restarted
#   gwA goes on from it, ping and TCP pass at once, gwB counts no replay;
# - gwA killed (SIGKILL, no clean stop): the file held a reservation
#   ahead of what was sent, so the restarted gwA starts above it and gwB
#   still accepts its packets;
# - gwA restarted with a new outbound SPI under the same key (gwB's
#   inbound SPI changed with it): the counter is the key's ("until the key
#   is replaced"), so gwA goes on from the saved number, found by the key's
#   fingerprint; from 1 it would repeat AES-GCM nonces. tshark reads the
#   sequence numbers on the WAN.
. "$(dirname "$0")/lib.sh"
lib_init
need_daemon
topo_up

SEQ=$TMP/gA.seq
saved() { sed -n 's/^esp 0x00001001 198.18.0.2 \([0-9]*\) key=[0-9a-f]\{16\}$/\1/p' "$SEQ" 2>/dev/null; }
replays() { sa_get "$GB" 'drop("replay")'; }

start_esprit "$GA" "$EX/manual-esp-gcm-gwA.cfg" || bail "gwA"
start_esprit "$GB" "$EX/manual-esp-gcm-gwB.cfg" || bail "gwB"
check "gwA reserved numbers ahead in $SEQ at start ($(saved))" num_gt "$(saved)" 1000000
check "gwA warns that a manual GCM SA must never repeat a sequence number" grep -q \
	"crypto map VPN 10 (ipsec-manual): aes-gcm-16 with static keys takes the sequence number as its IV" \
	"${DAEMON_LOG[$GA]}"
check_ping "$HA" "$HB4"
check_transfer "$HA" "$HB" "$HB4" 3000000 random
sent=$(sa_get "$GA" 'sum_g("pkts_encaps")')
info "gwA sent $sent packets on its outbound SA"

info "== clear crypto sa on gwA: the outbound SA keeps its counter"
# The key stays the same: from 1 again, gwA would repeat AES-GCM nonces
# (the IV is the sequence number; RFC 4106 section 2) and gwB, which
# cleared nothing, would drop every packet as a replay.
r0=$(replays)
check "clear crypto sa on gwA" cli "$GA" clear crypto sa
check "gwA logged what it re-installed" grep -q \
	"crypto SAs cleared: 1 inbound manual SAs re-installed .* outbound SAs go on from their sequence numbers" \
	"${DAEMON_LOG[$GA]}"
check_ping "$HA" "$HB4"
check_transfer "$HA" "$HB" "$HB4" 2000000 random
check "gwB counted no replay drop after the clear ($r0 -> $(replays))" num_eq "$(replays)" "$r0"
sent=$(sa_get "$GA" 'sum_g("pkts_encaps")')
info "gwA sent $sent packets on its outbound SA"

info "== clean stop and start of gwA"
stop_esprit "$GA"
check "the file holds the exact number at a clean stop ($(saved), sent $sent)" \
	eval '[ "$(saved)" -ge "$sent" ] && [ "$(saved)" -lt $((sent + 100)) ]'
n=$(saved)
start_esprit "$GA" "$EX/manual-esp-gcm-gwA.cfg" || bail "gwA"
check "gwA goes on from sequence number $n (log)" \
	grep -q "VPN 10: outbound SA with SPI 0x1001 goes on from sequence number $n, saved by the previous run" \
	"${DAEMON_LOG[$GA]}"
r0=$(replays)
check_ping "$HA" "$HB4"
check_transfer "$HA" "$HB" "$HB4" 2000000 random
check "gwB counted no replay drop ($r0 -> $(replays))" num_eq "$(replays)" "$r0"

info "== gwA killed: the reservation"
last=$((n + $(sa_get "$GA" 'sum_g("pkts_encaps")'))) # the last number gwA sent
# DAEMON_PID is timeout(1)'s: kill espritd itself, its child.
pkill -KILL -P "${DAEMON_PID[$GA]}" espritd
wait "${DAEMON_PID[$GA]}" 2>/dev/null
wait_for 10 eval '! ip -n "$GA" link show ipsec0 >/dev/null 2>&1'
unset "DAEMON_PID[$GA]"
n=$(saved)
check "the file held a number above the last one gwA sent ($n > $last)" num_gt "$n" "$last"
start_esprit "$GA" "$EX/manual-esp-gcm-gwA.cfg" || bail "gwA"
check "gwA goes on from the reservation $n (log)" \
	grep -q "goes on from sequence number $n, saved by the previous run" "${DAEMON_LOG[$GA]}"
r0=$(replays)
check_ping "$HA" "$HB4"
check "gwB counted no replay drop after the crash ($r0 -> $(replays))" num_eq "$(replays)" "$r0"

info "== a new SPI under the same key"
check_ping "$HA" "$HB4"
stop_esprit "$GA"
n=$(saved)
check "the file is readable by root only" eval '[ "$(stat -c %a "$SEQ")" = 600 ]'
check "the file holds a fingerprint, not the key" eval \
	'! grep -q 64df77d067448985 "$SEQ" && grep -q "key=[0-9a-f]\{16\}$" "$SEQ"'
sed 's/outbound esp 4097 /outbound esp 4099 /' "$EX/manual-esp-gcm-gwA.cfg" >"$TMP/gA-spi.cfg"
sed 's/inbound esp 4097 /inbound esp 4099 /' "$EX/manual-esp-gcm-gwB.cfg" >"$TMP/gB-spi.cfg"
stop_esprit "$GB"
start_esprit "$GB" "$TMP/gB-spi.cfg" || bail "gwB"
start_esprit "$GA" "$TMP/gA-spi.cfg" || bail "gwA"
check "gwA's SA with SPI 0x1003 goes on from $n, the same key's number (log)" \
	grep -q "VPN 10: outbound SA with SPI 0x1003 goes on from sequence number $n, saved by the previous run" \
	"${DAEMON_LOG[$GA]}"
pcap=$TMP/spi.pcap
capture_start "$GB" wan0 "$pcap" 262144 "ip proto 50" || bail "dumpcap"
check_ping "$HA" "$HB4"
wait_for 5 capture_has "$pcap" "esp.spi == 0x00001003"
capture_stop
first=$(timeout 60 tshark -n -r "$pcap" -Y "esp.spi == 0x00001003" -T fields -e esp.sequence \
	2>/dev/null | head -1)
check "on the wire, SPI 0x1003 starts above $n (tshark: ${first:-none})" num_gt "${first:-0}" "$n"
stop_esprit "$GA"
stop_esprit "$GB"
finish
