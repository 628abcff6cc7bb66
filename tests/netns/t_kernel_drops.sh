#!/bin/bash
# Loss the workers did not see is still counted: `show crypto ipsec sa
# detail` reports what the kernel dropped before a worker read it
# (dataplane.tun_queue_drops, .sock_buffer_drops). Manual ESP AES-GCM;
# one gateway's espritd is frozen (SIGSTOP) while hostA sends 64-byte
# datagrams one per packet, then thawed:
# - gwA frozen: the kernel routes the datagrams into gwA's TUN, whose
#   queue fills; the rest are TUN queue drops on gwA;
# - gwB frozen: gwA seals everything, gwB's receive socket buffer fills;
#   the rest are socket buffer drops on gwB.
# Each time every datagram lost is accounted for by the two gateways'
# counters and hostB's own socket (sent = received + counted), and
# `clear crypto sa counters` zeroes them.
. "$(dirname "$0")/lib.sh"
lib_init
need_daemon
topo_up

dp_get() { sa_get "$1" "d[\"dataplane\"][\"$2\"]"; }
drops() { # NS: tunnel-queue and socket-buffer drops, summed
	echo $(($(dp_get "$1" tun_queue_drops) + $(dp_get "$1" sock_buffer_drops)))
}

start_esprit "$GA" "$EX/manual-esp-gcm-gwA.cfg" || bail "gwA"
start_esprit "$GB" "$EX/manual-esp-gcm-gwB.cfg" || bail "gwB"
check_ping "$HA" "$HB4"
for ns in "$GA" "$GB"; do
	check "${ns##*-}: no kernel drops after the ping" num_eq "$(drops "$ns")" 0
done

info "== gwA frozen: its TUN queue overflows"
N=3000
freeze_send "$GA" $N $N
tq=$(dp_get "$GA" tun_queue_drops)
other=$(($(dp_get "$GA" sock_buffer_drops) + $(drops "$GB") + rdrop))
check "gwA counts the TUN queue drops ($tq; hostB got $got of $N)" \
	eval 'num_gt "$tq" 1000 && num_gt "$got" 0'
check "every lost datagram is counted ($N sent = $got received + $tq + $other)" \
	num_eq "$N" $((got + tq + other))
text=$(cli "$GA" show crypto ipsec sa detail)
check "show crypto ipsec sa detail names them" \
	grep -q "dropped by the kernel before a worker read them: tunnel queue full $tq," <<<"$text"

info "== gwB frozen: its socket buffer overflows"
for ns in "$GA" "$GB"; do
	cli "$ns" clear crypto sa counters >/dev/null
	check "${ns##*-}: clear crypto sa counters zeroes the kernel drops" \
		num_eq "$(drops "$ns")" 0
done
# more than gwB's receive buffer holds (8 MB asked, ~1 KB per packet),
# paced so that gwA keeps up
N=40000
freeze_send "$GB" $N 100
sb=$(dp_get "$GB" sock_buffer_drops)
other=$(($(drops "$GA") + $(dp_get "$GB" tun_queue_drops) + rdrop))
check "gwB counts the socket buffer drops ($sb; hostB got $got of $N)" \
	eval 'num_gt "$sb" 0 && num_gt "$got" 0'
check "every lost datagram is counted ($N sent = $got received + $sb + $other)" \
	num_eq "$N" $((got + sb + other))

stop_esprit "$GA"
stop_esprit "$GB"
finish
