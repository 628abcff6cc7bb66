#!/bin/bash
# `crypto engine queue-length N`: every queue of the TUN device (and of
# each tunnel interface) holds N packets for the workers, set at start and
# changed live by a reload or `configure`.
# - gwA starts with queue-length 1500: the device says qlen 1500, and with
#   gwA's espritd frozen (SIGSTOP) about 1500 of 3000 one-packet datagrams
#   wait in the queue and arrive when it thaws (the kernel's 500 held 500:
#   t_kernel_drops); the rest are counted as tunnel queue drops;
# - reload config with 800, then `no crypto engine queue-length`: 800,
#   then the kernel's 500, and show says so;
# - a route-based tunnel interface gets the length at creation and on
#   change.
. "$(dirname "$0")/lib.sh"
lib_init
need_daemon
topo_up

qlen() { # NS DEV: the device's txqueuelen
	ip -n "$1" -o link show dev "$2" 2>/dev/null | sed -n 's/.* qlen \([0-9]*\).*/\1/p'
}
dp_get() { sa_get "$1" "d[\"dataplane\"][\"$2\"]"; }
# with_qlen SRC N DST: SRC with "crypto engine queue-length N" after hostname
with_qlen() {
	sed "s/^hostname \(.*\)$/hostname \1\ncrypto engine queue-length $2/" "$1" >"$3"
}

CFG=$TMP/gwA.cfg
with_qlen "$EX/manual-esp-gcm-gwA.cfg" 1500 "$CFG"
start_esprit "$GA" "$CFG" || bail "gwA"
start_esprit "$GB" "$EX/manual-esp-gcm-gwB.cfg" || bail "gwB"
check_ping "$HA" "$HB4"
check "gwA's ipsec0 holds 1500 packets per queue (qlen $(qlen "$GA" ipsec0))" \
	num_eq "$(qlen "$GA" ipsec0)" 1500
check "gwB's stays at the kernel's 500" num_eq "$(qlen "$GB" ipsec0)" 500
check "show running-config has the line" \
	grep -qx "crypto engine queue-length 1500" <<<"$(cli "$GA" show running-config)"
check "JSON dataplane.tun_queue_len is 1500" num_eq "$(dp_get "$GA" tun_queue_len)" 1500

info "== gwA frozen: 1500 datagrams wait in its TUN queue"
N=3000
freeze_send "$GA" $N $N
tq=$(dp_get "$GA" tun_queue_drops)
other=$(($(dp_get "$GA" sock_buffer_drops) + $(dp_get "$GB" tun_queue_drops) +
	$(dp_get "$GB" sock_buffer_drops) + rdrop))
# A single flow goes to one queue, which holds 1500 (1493 to 1500 arrived
# in runs here).
check "hostB got about the 1500 the queue held ($got of $N; the kernel's 500 held 500)" \
	eval 'num_gt "$got" 1400 && ! num_gt "$got" 1600'
check "every lost datagram is counted ($N sent = $got received + $tq + $other)" \
	num_eq "$N" $((got + tq + other))
check "show names the queue length" \
	grep -q "tunnel queue full $tq, socket buffer full [0-9]* (queues of 1500 packets)" \
	<<<"$(cli "$GA" show crypto ipsec sa detail)"

info "== show crypto engine"
text=$(cli "$GA" show crypto engine)
echo "$text" | sed 's/^/#   /'
check "show crypto engine: 2 workers, 2 queues of 1500 packets" \
	eval 'grep -q "2 worker(s)" <<<"$text" && grep -q "ipsec0: 2 queue(s) of 1500 packets" <<<"$text"'
check "show crypto engine: the offloads in force" \
	grep -q "offloads: multiqueue on, TSO on, USO \(on\|off (this kernel has none\)" <<<"$text"
cli "$GA" --json show crypto engine >"$TMP/engine.json"
wsum=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(w["tun_rx"] for w in d["per_worker"]), len(d["per_worker"]), d["tunnel"]["queue_length"])' "$TMP/engine.json")
all=$(dp_get "$GA" tun_rx)
check "JSON per_worker: 2 workers whose tunnel reads add up to the total ($wsum; total $all)" \
	[ "$wsum" = "$all 2 1500" ]
# gwA's inbound SA has SPI 8193: steered to worker 8193 % 2 = 1, which
# then received every ESP packet (the ping replies) and worker 0 none.
spread=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join("%d/%d" % (w["inbound_sas"], w["net_rx"] > 0) for w in d["per_worker"]))' "$TMP/engine.json")
check "the inbound SA is on worker 1, which received the ESP packets (sas/received: $spread)" \
	[ "$spread" = "0/0 1/1" ]

info "== changed live"
with_qlen "$EX/manual-esp-gcm-gwA.cfg" 800 "$CFG"
check "reload config with queue-length 800" cli "$GA" reload config
check "ipsec0 now holds 800 (qlen $(qlen "$GA" ipsec0))" num_eq "$(qlen "$GA" ipsec0)" 800
printf 'no crypto engine queue-length\n' | cli "$GA" configure >"$TMP/conf.out" 2>&1
check "no crypto engine queue-length: back to the kernel's 500 (qlen $(qlen "$GA" ipsec0))" \
	num_eq "$(qlen "$GA" ipsec0)" 500
check "JSON dataplane.tun_queue_len is 500" num_eq "$(dp_get "$GA" tun_queue_len)" 500
check_ping "$HA" "$HB4"
stop_esprit "$GA"
stop_esprit "$GB"

info "== a tunnel interface"
with_qlen "$EX/ikev2-vti-gwA.cfg" 2000 "$CFG"
start_esprit "$GA" "$CFG" || bail "gwA vti"
check "Tunnel101 holds 2000 packets per queue (qlen $(qlen "$GA" Tunnel101))" \
	num_eq "$(qlen "$GA" Tunnel101)" 2000
printf 'crypto engine queue-length 64\n' | cli "$GA" configure >"$TMP/conf.out" 2>&1
check "changed live on Tunnel101 (qlen $(qlen "$GA" Tunnel101)) and ipsec0" \
	eval 'num_eq "$(qlen "$GA" Tunnel101)" 64 && num_eq "$(qlen "$GA" ipsec0)" 64'
stop_esprit "$GA"
finish
