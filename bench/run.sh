#!/usr/bin/env bash
# esprit benchmark: the same four-namespace topology for every contender,
# run in turn, 3 runs each, one table at the end.
#
#   hostA 198.19.1.2 --- 198.19.1.1 gwA 198.18.0.1 ===== 198.18.0.2 gwB 198.19.2.1 --- 198.19.2.2 hostB
#
# Contenders: plain routed veth (the ceiling), esprit (manual AES-128-GCM
# SA, and AES-128-CBC+HMAC-SHA256), strongSwan 5.9 with kernel-libipsec
# (userspace ESP, AES-128-GCM, IKEv2 PSK), wireguard-go, a minimal relay
# (bench/relay.c: the floor of any userspace tunnel here); esprit-1k: a
# generated crypto map of 1 and of 1000 manually keyed entries with the
# traffic spread over them (bench/udpspray.c, parallel iperf3), checked
# through `esprit --json show crypto ipsec sa` (see bench/README.md).
# Metrics: TCP Gbit/s (iperf3 10 s), UDP packets/s received at 1400 B and
# 64 B (iperf3: one sendto per datagram; "1400 B" is the IP packet, a
# 1372-byte payload, so it fits every contender's inner MTU unfragmented), 64-byte UDP packets/s from a
# sender that uses UDP GSO and a receiver that uses UDP GRO (bench/udpspray
# sendgso: 64 datagrams per sendto with UDP_SEGMENT; recvgro: UDP_GRO on,
# as QUIC stacks send and receive), ping RTT (ms), CPU% of the whole box
# during the TCP run.
#
# usage: bench/run.sh BUILD_DIR [--quick] [--only NAME,...]
set -euo pipefail
BUILD=${1:-build/release}; shift || true
RUNS=3; SECS=10; ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) RUNS=1; SECS=3 ;;
    --only) ONLY=$2; shift ;;
  esac
  shift
done
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (network namespaces)"; exit 1; }
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$BUILD" && pwd)
P=eb$$
NS_HA=$P-hA NS_GA=$P-gA NS_GB=$P-gB NS_HB=$P-hB
RUN=/run/esprit-bench-$$
mkdir -p "$RUN"
RESULTS=$RUN/results.tsv
: >"$RESULTS"

ex() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

topo_up() {
  for n in $NS_HA $NS_GA $NS_GB $NS_HB; do ip netns add "$n"; ex "$n" ip link set lo up; done
  ip link add a0 netns $NS_HA type veth peer name a1 netns $NS_GA
  ip link add w0 netns $NS_GA type veth peer name w1 netns $NS_GB
  ip link add b0 netns $NS_GB type veth peer name b1 netns $NS_HB
  ex $NS_HA ip addr add 198.19.1.2/24 dev a0
  ex $NS_GA ip addr add 198.19.1.1/24 dev a1
  ex $NS_GA ip addr add 198.18.0.1/24 dev w0
  ex $NS_GB ip addr add 198.18.0.2/24 dev w1
  ex $NS_GB ip addr add 198.19.2.1/24 dev b0
  ex $NS_HB ip addr add 198.19.2.2/24 dev b1
  for x in "$NS_HA a0" "$NS_GA a1" "$NS_GA w0" "$NS_GB w1" "$NS_GB b0" "$NS_HB b1"; do
    set -- $x; ex "$1" ip link set "$2" up
  done
  ex $NS_HA ip route add default via 198.19.1.1
  ex $NS_HB ip route add default via 198.19.2.1
  for g in $NS_GA $NS_GB; do ex "$g" sysctl -qw net.ipv4.ip_forward=1; done
}

topo_plain_routes() {
  ex $NS_GA ip route add 198.19.2.0/24 via 198.18.0.2
  ex $NS_GB ip route add 198.19.1.0/24 via 198.18.0.1
}

topo_down() {
  for n in $NS_HA $NS_GA $NS_GB $NS_HB; do
    ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null || true
  done
  sleep 0.3
  for n in $NS_HA $NS_GA $NS_GB $NS_HB; do
    ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$n" 2>/dev/null || true
  done
}
cleanup() { topo_down; rm -rf "$RUN"; }
trap cleanup EXIT

# The UDP1400 column: 1400-byte IP packets, i.e. 1372 bytes of UDP payload
# (20 IP + 8 UDP). A 1400-byte payload would make 1428-byte packets, which
# every tunnel here (inner MTU 1400, wireguard-go 1420) sends as two
# fragments and plain veth (MTU 1500) does not: the column measured that
# until 2026-12-06.
UDP1400_PAYLOAD=1372

cpu_ticks() { awk '/^cpu /{print $2+$3+$4+$6+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }

median() { sort -g | awk '{a[NR]=$1} END{if(NR==0){print "nan"} else print a[int((NR+1)/2)]}'; }

# gso64: 64-byte datagrams/s received by hostB (UDP_GRO on) from a UDP GSO
# sender. The receiving application reads coalesced datagrams, so the
# column measures what the tunnel carries, not one recv() per datagram
# (the iperf3 UDP64 column measures that).
gso64() {
  ex $NS_HB timeout $((SECS + 20)) "$RUN/udpspray" recvgro 5400 $((SECS + 15)) >"$RUN/gso.rx" 2>&1 &
  local rx=$!
  for _ in $(seq 50); do grep -q ready "$RUN/gso.rx" && break; sleep 0.1; done
  ex $NS_HA timeout $((SECS + 15)) "$RUN/udpspray" sendgso 198.19.2.2 5400 64 "$SECS" 64 >"$RUN/gso.tx" 2>&1 || true
  wait $rx || true
  [ -n "${BENCH_VERBOSE:-}" ] && echo "    udpspray sendgso 64 B: $(cat "$RUN/gso.tx"); $(grep received "$RUN/gso.rx")" >&2
  awk -v s="$SECS" '/^received/{printf "%.0f", $2/s; f=1} END{if(!f) print "nan"}' "$RUN/gso.rx"
}

# measure NAME: runs the metrics against hostB from hostA, RUNS times.
measure() {
  local name=$1 tcp=() cpu=() u1400=() u64=() png=() g64=()
  [ -x "$RUN/udpspray" ] || cc -O2 -o "$RUN/udpspray" "$SRC/bench/udpspray.c"
  ex $NS_HB iperf3 -s -D -1 >/dev/null 2>&1 || true
  if ! ex $NS_HA ping -c 3 -W 2 -i 0.2 198.19.2.2 >/dev/null 2>&1; then
    echo "  $name: no connectivity, skipped"; printf '%s\tFAIL\n' "$name" >>"$RESULTS"; return
  fi
  for r in $(seq "$RUNS"); do
    ex $NS_HB pkill iperf3 2>/dev/null || true
    ex $NS_HB iperf3 -s -D >/dev/null 2>&1; sleep 0.3
    read -r b0 t0 < <(cpu_ticks)
    local g; g=$(ex $NS_HA timeout $((SECS + 15)) iperf3 -c 198.19.2.2 -t "$SECS" -J 2>/dev/null \
      | python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.3f" % (d["end"]["sum_received"]["bits_per_second"]/1e9))' 2>/dev/null || echo nan)
    read -r b1 t1 < <(cpu_ticks)
    tcp+=("$g"); cpu+=("$(awk -v a=$((b1-b0)) -v b=$((t1-t0)) 'BEGIN{printf "%.0f", b? 100*a/b : 0}')")
    for len in $UDP1400_PAYLOAD 64; do
      local pps; pps=$(ex $NS_HA timeout $((SECS + 15)) iperf3 -c 198.19.2.2 -u -b 0 -l $len -t "$SECS" -J 2>/dev/null \
        | python3 -c 'import json,sys; d=json.load(sys.stdin); s=d["end"]["sum"]; print("%.0f" % ((s["packets"]-s["lost_packets"])/s["seconds"]))' 2>/dev/null || echo nan)
      if [ $len = $UDP1400_PAYLOAD ]; then u1400+=("$pps"); else u64+=("$pps"); fi
    done
    png+=("$(ex $NS_HA ping -c 20 -i 0.05 -q 198.19.2.2 2>/dev/null | awk -F/ '/^rtt/{print $5}')")
    g64+=("$(gso64)")
  done
  ex $NS_HB pkill iperf3 2>/dev/null || true
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" \
    "$(printf '%s\n' "${tcp[@]}" | median)" "$(printf '%s\n' "${u1400[@]}" | median)" \
    "$(printf '%s\n' "${u64[@]}" | median)" "$(printf '%s\n' "${png[@]}" | median)" \
    "$(printf '%s\n' "${cpu[@]}" | median)" "$(printf '%s\n' "${g64[@]}" | median)" >>"$RESULTS"
  tail -1 "$RESULTS" | awk -F'\t' '{printf "  %-22s TCP %s Gbit/s, UDP1400 %s pps, UDP64 %s pps, ping %s ms, CPU %s%%, UDP64 GSO/GRO %s pps\n",$1,$2,$3,$4,$5,$6,$7}'
}

want() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }

# ---- contenders ---------------------------------------------------------

bench_plain() {
  topo_up; topo_plain_routes
  measure plain-veth
  topo_down
}

esprit_cfg() { # SIDE ENCR AUTH
  local side=$1 encr=$2 auth=$3 me peer lnet rnet kin kout
  local k1=$4 k2=$5
  if [ "$side" = A ]; then me=198.18.0.1 peer=198.18.0.2 lnet=198.19.1.0 rnet=198.19.2.0 kin=$k2 kout=$k1 spin=4097 spout=4096
  else me=198.18.0.2 peer=198.18.0.1 lnet=198.19.2.0 rnet=198.19.1.0 kin=$k1 kout=$k2 spin=4096 spout=4097; fi
  local ain="" aout=""
  if [ -n "$auth" ]; then ain=" authenticator $6"; aout=" authenticator $6"; fi
  cat <<CFG
hostname gw$side
${BENCH_WORKERS:+crypto engine workers $BENCH_WORKERS}
${BENCH_CPUS:+crypto engine cpus $BENCH_CPUS}
${BENCH_EXTRA:+$(printf '%s\n' "$BENCH_EXTRA" | tr ';' '\n')}
crypto ipsec transform-set T $encr $auth
 mode tunnel
access-list 101 permit ip $lnet 0.0.0.255 $rnet 0.0.0.255
crypto map VPN 10 ipsec-manual
 set peer $peer
 set transform-set T
 match address 101
 set session-key inbound esp $spin cipher $kin$ain
 set session-key outbound esp $spout cipher $kout$aout
crypto map VPN local-address $me
${ESPRIT_UDP:+crypto ipsec nat-transparency udp-encapsulation}
CFG
}

bench_esprit() { # NAME ENCR AUTH KEYLEN
  local name=$1 encr=$2 auth=$3 klen=$4
  local k1 k2 ak
  k1=$(openssl rand -hex "$klen"); k2=$(openssl rand -hex "$klen"); ak=$(openssl rand -hex 32)
  topo_up
  esprit_cfg A "$encr" "$auth" "$k1" "$k2" "$ak" >"$RUN/gwA.cfg"
  esprit_cfg B "$encr" "$auth" "$k1" "$k2" "$ak" >"$RUN/gwB.cfg"
  ex $NS_GA "$BUILD/espritd" -f "$RUN/gwA.cfg" -s "$RUN/gwA.sock" >"$RUN/gwA.log" 2>&1 &
  ex $NS_GB "$BUILD/espritd" -f "$RUN/gwB.cfg" -s "$RUN/gwB.sock" >"$RUN/gwB.log" 2>&1 &
  for _ in $(seq 50); do [ -S "$RUN/gwA.sock" ] && [ -S "$RUN/gwB.sock" ] && break; sleep 0.1; done
  measure "$name"
  if [ -n "${BENCH_KEEP:-}" ]; then # a directory: keep the daemons' logs and counters
    mkdir -p "$BENCH_KEEP"
    for g in A B; do
      cp "$RUN/gw$g.log" "$BENCH_KEEP/$name-gw$g.log"
      ex "$(eval echo \$NS_G$g)" "$BUILD/esprit" -s "$RUN/gw$g.sock" show crypto ipsec sa detail \
        >"$BENCH_KEEP/$name-gw$g.sa" 2>&1 || true
    done
  fi
  topo_down
}

# ---- esprit-1k: 1000 manually keyed crypto map entries ------------------
#
# One crypto map, sequence numbers 1..N (N = SA_N, default 1000), entry i
# with its own named ACL S<i> (permit ip host 198.19.1.2 host ADDR(i) on gwA,
# the mirror on gwB), its own inbound and outbound SPI (0x10000+i from gwA
# to gwB, 0x20000+i back) and its own random AES-128-GCM keys. ADDR(i) =
# 198.19.(4 + i/250).(1 + i%250): 198.19.4.1 .. 198.19.7.250 for i < 1000,
# on hostB's lo, routed by gwB to hostB.
# ADDR_N: how many hostB addresses the traffic is spread over, in every
# run (the 1-SA baseline too: its single entry covers them all).
SA_N=${BENCH_SA_N:-1000}
ADDR_N=$SA_N
sa_addr() { echo "198.19.$((4 + $1 / 250)).$((1 + $1 % 250))"; }

esprit_cfg_many() { # OUTDIR N ADDRS: writes OUTDIR/gwA.cfg, OUTDIR/gwB.cfg, OUTDIR/addrs
  python3 - "$1" "$2" "$3" <<'EOF'
import os, sys
out, n, na = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
addr = lambda i: "198.19.%d.%d" % (4 + i // 250, 1 + i % 250)
ent = [(addr(i), 0x10000 + i, os.urandom(20).hex(), 0x20000 + i, os.urandom(20).hex())
       for i in range(n)]
# the traffic goes to na addresses; one entry (the baseline) covers them all
open(os.path.join(out, "addrs"), "w").write("".join(addr(i) + "\n" for i in range(na)))
if n == 1:
    ent[0] = ("198.19.4.0 0.0.3.255",) + ent[0][1:]
for side in "AB":
    me, peer = ("198.18.0.1", "198.18.0.2") if side == "A" else ("198.18.0.2", "198.18.0.1")
    L = ["hostname gw" + side, "crypto ipsec transform-set T esp-gcm 128", " mode tunnel"]
    if os.environ.get("BENCH_WORKERS"):
        L.insert(1, "crypto engine workers " + os.environ["BENCH_WORKERS"])
    if os.environ.get("BENCH_CPUS"):
        L.insert(1, "crypto engine cpus " + os.environ["BENCH_CPUS"])
    for x in reversed(os.environ.get("BENCH_EXTRA", "").split(";")):
        if x.strip():
            L.insert(1, x.strip())
    for i, (h, _, _, _, _) in enumerate(ent):
        h = h if " " in h else "host " + h
        pair = ("host 198.19.1.2 " + h) if side == "A" else ("%s host 198.19.1.2" % h)
        L += ["ip access-list extended S%04d" % i, " permit ip " + pair]
    for i, (h, sab, kab, sba, kba) in enumerate(ent):
        sin, kin, sout, kout = (sba, kba, sab, kab) if side == "A" else (sab, kab, sba, kba)
        L += ["crypto map VPN %d ipsec-manual" % (i + 1), " set peer " + peer,
              " set transform-set T", " match address S%04d" % i,
              " set session-key inbound esp %d cipher %s" % (sin, kin),
              " set session-key outbound esp %d cipher %s" % (sout, kout)]
    L.append("crypto map VPN local-address " + me)
    with open(os.path.join(out, "gw%s.cfg" % side), "w") as f:
        f.write("\n".join(L) + "\n")
EOF
}

# sa_summary NS SOCK OUT: "installed in-SAs out-SAs, in-SAs with packets,
# out-SAs with packets, packets in, packets out, drops" from the JSON.
sa_summary() {
  ex "$1" timeout 20 "$BUILD/esprit" --socket "$2" --json show crypto ipsec sa >"$3" 2>/dev/null || true
  python3 - "$3" <<'EOF'
import json, sys
try:
    sas = json.load(open(sys.argv[1])).get("sas", [])
except Exception:
    sas = []
ins = [x for g in sas for x in g.get("inbound", []) if x.get("proto") == "esp"]
outs = [x for g in sas for x in g.get("outbound", []) if x.get("proto") == "esp"]
drops = sum(int(v) for g in sas for v in g.get("drops", {}).values())
print(len(ins), len(outs), sum(1 for x in ins if x.get("packets", 0) > 0),
      sum(1 for x in outs if x.get("packets", 0) > 0),
      sum(x.get("packets", 0) for x in ins), sum(x.get("packets", 0) for x in outs), drops)
EOF
}

# measure_1k NAME: like measure, but the traffic is spread over the
# ADDR_N hostB addresses (over the SAs: one per address, or the baseline's
# one for all). TCP: TCP_P parallel iperf3 clients, each to its own hostB
# address (spread evenly over them, first and last included) and its own
# server port; the sum of the receivers' rates. UDP: bench/udpspray, one
# datagram to each address in turn, received datagrams/s counted by the
# application on hostB. Ping: to the last address.
TCP_P=${BENCH_TCP_P:-8}
measure_1k() {
  local name=$1 tcp=() cpu=() u1400=() u64=() png=() rev=() dsts=() k last
  last=$(sa_addr $((ADDR_N - 1)))
  for k in $(seq 0 $((TCP_P - 1))); do dsts+=("$(sa_addr $(( TCP_P > 1 ? k * (ADDR_N - 1) / (TCP_P - 1) : 0 )))"); done
  for a in "$(sa_addr 0)" "$(sa_addr $((ADDR_N / 2)))" "$last"; do
    if ! ex $NS_HA ping -c 3 -W 2 -i 0.2 "$a" >/dev/null 2>&1; then
      echo "  $name: no connectivity to $a, skipped"; printf '%s\tFAIL\n' "$name" >>"$RESULTS"; return 1
    fi
  done
  for r in $(seq "$RUNS"); do
    ex $NS_HB pkill iperf3 2>/dev/null || true
    for k in $(seq 0 $((TCP_P - 1))); do ex $NS_HB iperf3 -s -D -p $((5201 + k)) >/dev/null 2>&1; done
    sleep 0.3
    read -r b0 t0 < <(cpu_ticks)
    local pids=()
    for k in $(seq 0 $((TCP_P - 1))); do
      ex $NS_HA timeout $((SECS + 15)) iperf3 -c "${dsts[$k]}" -p $((5201 + k)) -t "$SECS" -J \
        >"$RUN/tcp1k.$k.json" 2>/dev/null &
      pids+=($!)
    done
    wait "${pids[@]}" || true
    read -r b1 t1 < <(cpu_ticks)
    tcp+=("$(python3 - "$RUN"/tcp1k.*.json <<'EOF'
import json, sys
try:
    print("%.3f" % (sum(json.load(open(f))["end"]["sum_received"]["bits_per_second"] for f in sys.argv[1:]) / 1e9))
except Exception:
    print("nan")
EOF
)")
    rm -f "$RUN"/tcp1k.*.json
    cpu+=("$(awk -v a=$((b1-b0)) -v b=$((t1-t0)) 'BEGIN{printf "%.0f", b? 100*a/b : 0}')")
    for len in $UDP1400_PAYLOAD 64; do
      ex $NS_HB timeout $((SECS + 20)) "$RUN/udpspray" recv 5300 $((SECS + 15)) >"$RUN/spray.rx" 2>&1 &
      local rx=$!
      for _ in $(seq 50); do grep -q ready "$RUN/spray.rx" && break; sleep 0.1; done
      ex $NS_HA timeout $((SECS + 15)) "$RUN/udpspray" send "$RUN/1k/addrs" 5300 $len "$SECS" >"$RUN/spray.tx" 2>&1 || true
      wait $rx || true
      local pps; pps=$(awk -v s="$SECS" '/^received/{printf "%.0f", $2/s; f=1} END{if(!f) print "nan"}' "$RUN/spray.rx")
      [ -n "${BENCH_VERBOSE:-}" ] && echo "    udpspray $len B: $(cat "$RUN/spray.tx"); $(grep received "$RUN/spray.rx")"
      if [ $len = $UDP1400_PAYLOAD ]; then u1400+=("$pps"); else u64+=("$pps"); fi
    done
    # reverse: hostB -> hostA, 64 B, each datagram from the next of the N
    # addresses (gwB's outbound policies all have the same destination,
    # hostA, and differ only in the source)
    echo 198.19.1.2 >"$RUN/1k/hosta"
    ex $NS_HA timeout $((SECS + 20)) "$RUN/udpspray" recv 5300 $((SECS + 15)) >"$RUN/spray.rx" 2>&1 &
    local rx=$!
    for _ in $(seq 50); do grep -q ready "$RUN/spray.rx" && break; sleep 0.1; done
    ex $NS_HB timeout $((SECS + 15)) "$RUN/udpspray" send "$RUN/1k/hosta" 5300 64 "$SECS" "$RUN/1k/addrs" >"$RUN/spray.tx" 2>&1 || true
    wait $rx || true
    rev+=("$(awk -v s="$SECS" '/^received/{printf "%.0f", $2/s; f=1} END{if(!f) print "nan"}' "$RUN/spray.rx")")
    [ -n "${BENCH_VERBOSE:-}" ] && echo "    udpspray reverse 64 B: $(cat "$RUN/spray.tx"); $(grep received "$RUN/spray.rx")"
    png+=("$(ex $NS_HA ping -c 20 -i 0.05 -q "$last" 2>/dev/null | awk -F/ '/^rtt/{print $5}')")
  done
  ex $NS_HB pkill iperf3 2>/dev/null || true
  printf '#rev\t%s\t%s\n' "$name" "$(printf '%s\n' "${rev[@]}" | median)" >>"$RESULTS"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" \
    "$(printf '%s\n' "${tcp[@]}" | median)" "$(printf '%s\n' "${u1400[@]}" | median)" \
    "$(printf '%s\n' "${u64[@]}" | median)" "$(printf '%s\n' "${png[@]}" | median)" \
    "$(printf '%s\n' "${cpu[@]}" | median)" >>"$RESULTS"
  tail -1 "$RESULTS" | awk -F'\t' '{printf "  %-22s TCP %s Gbit/s, UDP1400 %s pps, UDP64 %s pps, ping %s ms, CPU %s%%\n",$1,$2,$3,$4,$5,$6}'
  echo "  $name reverse UDP64 (hostB -> hostA, $ADDR_N sources): $(printf '%s\n' "${rev[@]}" | median) pps"
}

bench_esprit_1k() { # NAME N
  local name=$1 SA_N=$2 s g t0 ta tb sa sb
  [ -x "$RUN/udpspray" ] || cc -O2 -o "$RUN/udpspray" "$SRC/bench/udpspray.c" ||
    { echo "  $name: cannot build udpspray"; return; }
  rm -rf "$RUN/1k"; mkdir -p "$RUN/1k"
  esprit_cfg_many "$RUN/1k" "$SA_N" "$ADDR_N"
  topo_up
  # hostB answers on all N addresses; gwB routes them to hostB
  sed 's|.*|addr add &/32 dev lo|' "$RUN/1k/addrs" | ex $NS_HB ip -batch -
  ex $NS_GB ip route add 198.19.4.0/22 via 198.19.2.2
  # load time: espritd start -> "configuration applied" logged and all N
  # SA pairs visible through the control socket, per gateway
  t0=$(date +%s%N)
  ex $NS_GA "$BUILD/espritd" -f "$RUN/1k/gwA.cfg" -s "$RUN/gwA.sock" >"$RUN/gwA.log" 2>&1 &
  ex $NS_GB "$BUILD/espritd" -f "$RUN/1k/gwB.cfg" -s "$RUN/gwB.sock" >"$RUN/gwB.log" 2>&1 &
  ta="" tb=""
  for _ in $(seq 600); do # 30 s at most
    s=$(date +%s%N)
    [ -z "$ta" ] && grep -q "configuration applied" "$RUN/gwA.log" && ta=$(( (s - t0) / 1000000 ))
    [ -z "$tb" ] && grep -q "configuration applied" "$RUN/gwB.log" && tb=$(( (s - t0) / 1000000 ))
    [ -n "$ta" ] && [ -n "$tb" ] && break
    sleep 0.05
  done
  sa=$(sa_summary $NS_GA "$RUN/gwA.sock" "$RUN/saA.json")
  sb=$(sa_summary $NS_GB "$RUN/gwB.sock" "$RUN/saB.json")
  echo "  config: $SA_N crypto map entries ($(wc -l <"$RUN/1k/gwA.cfg") lines); loaded and applied in gwA ${ta:-?} ms, gwB ${tb:-?} ms (both daemons starting at once on $(nproc) cores)"
  grep -h "configuration applied" "$RUN/gwA.log" "$RUN/gwB.log" | sed 's/^/    /'
  set -- $sa; local ia=$1 oa=$2; set -- $sb; local ib=$1 ob=$2
  echo "  installed ESP SAs: gwA $ia in / $oa out, gwB $ib in / $ob out (want $SA_N each)"
  printf '#note\tconfig load (%s entries): gwA %s ms, gwB %s ms\n' "$SA_N" "${ta:-?}" "${tb:-?}" >>"$RESULTS"
  if [ "$ia" != "$SA_N" ] || [ "$oa" != "$SA_N" ] || [ "$ib" != "$SA_N" ] || [ "$ob" != "$SA_N" ]; then
    echo "  $name: not all $SA_N SA pairs installed, skipped"; printf '%s\tFAIL\n' "$name" >>"$RESULTS"
    topo_down; return
  fi
  if measure_1k "$name"; then
    # honesty check: the traffic really went through the N SAs
    sa=$(sa_summary $NS_GA "$RUN/gwA.sock" "$RUN/saA.json")
    sb=$(sa_summary $NS_GB "$RUN/gwB.sock" "$RUN/saB.json")
    set -- $sa; local a_in_act=$3 a_out_act=$4 a_in_p=$5 a_out_p=$6 a_drops=$7
    set -- $sb; local b_in_act=$3 b_out_act=$4 b_in_p=$5 b_out_p=$6 b_drops=$7
    echo "  SAs that carried packets: gwA out $a_out_act/$SA_N, gwB in $b_in_act/$SA_N;" \
      "reverse: gwB out $b_out_act/$SA_N, gwA in $a_in_act/$SA_N"
    if [ "$a_out_act" != "$SA_N" ] || [ "$b_in_act" != "$SA_N" ] || [ "$b_out_act" != "$SA_N" ] ||
       [ "$a_in_act" != "$SA_N" ]; then
      echo "  $name: traffic did not cross all $SA_N SAs: row marked failed"
      sed -i "s/^$name\t.*/$name\tFAIL/" "$RESULTS"
    fi
    printf '#note\t%s: SAs with packets: gwA out %s/%s, gwB in %s/%s, gwB out %s/%s, gwA in %s/%s\n' \
      "$name" "$a_out_act" "$SA_N" "$b_in_act" "$SA_N" "$b_out_act" "$SA_N" "$a_in_act" "$SA_N" >>"$RESULTS"
    if [ -n "${BENCH_VERBOSE:-}" ]; then
      echo "    gwA: ESP packets in $a_in_p, out $a_out_p, SA drops $a_drops"
      echo "    gwB: ESP packets in $b_in_p, out $b_out_p, SA drops $b_drops"
      python3 - "$RUN/saA.json" <<'EOF'
import json, sys
sas = json.load(open(sys.argv[1]))["sas"]
p = sorted(x["packets"] for g in sas for x in g.get("outbound", []))
print("    gwA outbound packets per SA: min %d, median %d, max %d" % (p[0], p[len(p) // 2], p[-1]))
EOF
    fi
  fi
  topo_down
}

# The data plane alone, without the daemon: tests/tools/dp_pair (one
# manually keyed AES-128-GCM SA pair, fixed test key) in each gateway.
# FLAGS: -u for ESP-in-UDP 4500; -w N workers.
bench_esprit_dp() { # NAME FLAGS
  local name=$1 flags=$2
  [ -x "$BUILD/dp_pair" ] || { echo "  $name: $BUILD/dp_pair not built, skipped"; return; }
  topo_up
  ex $NS_GA "$BUILD/dp_pair" -t esp0 -l 198.18.0.1 -r 198.18.0.2 -L 198.19.1.0/24 \
    -R 198.19.2.0/24 -o 0x1001 -i 0x2002 $flags >"$RUN/dpA.out" 2>"$RUN/dpA.log" &
  ex $NS_GB "$BUILD/dp_pair" -t esp0 -l 198.18.0.2 -r 198.18.0.1 -L 198.19.2.0/24 \
    -R 198.19.1.0/24 -o 0x2002 -i 0x1001 $flags >"$RUN/dpB.out" 2>"$RUN/dpB.log" &
  for _ in $(seq 50); do grep -q ready "$RUN/dpA.out" && grep -q ready "$RUN/dpB.out" && break; sleep 0.1; done
  measure "$name"
  topo_down
  [ -n "${BENCH_VERBOSE:-}" ] && cat "$RUN/dpA.out" "$RUN/dpB.out"
  return 0
}

swan_conf() { # NAME
  local d=$RUN/$1; mkdir -p "$d"
  cat >"$d/strongswan.conf" <<CONF
charon-systemd { journal { default = -1 } }
charon {
  load = random nonce openssl pem pkcs1 x509 pubkey aes sha1 sha2 hmac gcm kdf curve25519 kernel-libipsec kernel-netlink socket-default vici updown
  install_routes = yes
  plugins { vici { socket = unix://$d/charon.vici } }
  filelog { f { path = $d/charon.log  default = 1  flush_line = yes } }
}
CONF
}

swan_swanctl() { # ME PEER LNET RNET MYID PEERID
  cat <<CONF
connections {
  lab {
    version = 2
    local_addrs = $1
    remote_addrs = $2
    proposals = aes128gcm16-prfsha256-x25519
    encap = yes
    local {
      auth = psk
      id = $5
    }
    remote {
      auth = psk
      id = $6
    }
    children {
      net {
        mode = tunnel
        local_ts = $3
        remote_ts = $4
        esp_proposals = aes128gcm16
        start_action = none
      }
    }
  }
}
secrets {
  ike-lab {
    id-a = gwA
    id-b = gwB
    secret = "bench-psk-$$"
  }
}
CONF
}

bench_strongswan() {
  topo_up
  swan_conf A; swan_conf B
  swan_swanctl 198.18.0.1 198.18.0.2 198.19.1.0/24 198.19.2.0/24 gwA gwB >"$RUN/A/swanctl.conf"
  swan_swanctl 198.18.0.2 198.18.0.1 198.19.2.0/24 198.19.1.0/24 gwB gwA >"$RUN/B/swanctl.conf"
  for s in A B; do
    local ns=$NS_GA; [ $s = B ] && ns=$NS_GB
    STRONGSWAN_CONF=$RUN/$s/strongswan.conf ex "$ns" /usr/sbin/charon-systemd >/dev/null 2>&1 &
  done
  for s in A B; do
    local ns=$NS_GA; [ $s = B ] && ns=$NS_GB
    for _ in $(seq 50); do [ -S "$RUN/$s/charon.vici" ] && break; sleep 0.1; done
    ex "$ns" swanctl --load-all --uri "unix://$RUN/$s/charon.vici" --file "$RUN/$s/swanctl.conf" >"$RUN/$s/load.log" 2>&1
  done
  ex $NS_GA timeout 30 swanctl --initiate --uri "unix://$RUN/A/charon.vici" --child net --timeout 20 >/dev/null || true
  measure strongswan-libipsec
  topo_down
}

bench_wireguard() {
  topo_up
  local ka kb
  ka=$(wg genkey); kb=$(wg genkey)
  # Foreground under our control (its daemon mode leaves a socket nobody
  # answers inside a namespace); UAPI sockets are shared: unique names.
  echo "$ka" >"$RUN/wa.key"; echo "$kb" >"$RUN/wb.key"
  ex $NS_GA wireguard-go -f "wa$$" >"$RUN/wa.log" 2>&1 &
  ex $NS_GB wireguard-go -f "wb$$" >"$RUN/wb.log" 2>&1 &
  for _ in $(seq 50); do [ -S "/var/run/wireguard/wa$$.sock" ] && [ -S "/var/run/wireguard/wb$$.sock" ] && break; sleep 0.1; done
  ex $NS_GA timeout 10 wg set "wa$$" private-key "$RUN/wa.key" listen-port 51820 \
    peer "$(echo "$kb" | wg pubkey)" endpoint 198.18.0.2:51820 allowed-ips 198.19.2.0/24
  ex $NS_GB timeout 10 wg set "wb$$" private-key "$RUN/wb.key" listen-port 51820 \
    peer "$(echo "$ka" | wg pubkey)" endpoint 198.18.0.1:51820 allowed-ips 198.19.1.0/24
  ex $NS_GA ip link set "wa$$" mtu 1420 up; ex $NS_GB ip link set "wb$$" mtu 1420 up
  ex $NS_GA ip route add 198.19.2.0/24 dev "wa$$"
  ex $NS_GB ip route add 198.19.1.0/24 dev "wb$$"
  measure wireguard-go
  topo_down
  rm -f "/var/run/wireguard/wa$$.sock" "/var/run/wireguard/wb$$.sock"
}

bench_relay() {
  # The floor of a userspace tunnel on this machine: bench/relay.c, one
  # thread, one packet per system call, AES-128-GCM, nothing else.
  [ -x "$RUN/relay" ] || cc -O2 -o "$RUN/relay" "$SRC/bench/relay.c" -lcrypto
  topo_up
  local key; key=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  ex $NS_GA "$RUN/relay" rl0 198.18.0.1 198.18.0.2 5555 "$key" a >"$RUN/ra.log" 2>&1 &
  ex $NS_GB "$RUN/relay" rl0 198.18.0.2 198.18.0.1 5555 "$key" b >"$RUN/rb.log" 2>&1 &
  for _ in $(seq 50); do grep -q ready "$RUN/ra.log" && grep -q ready "$RUN/rb.log" && break; sleep 0.1; done
  ex $NS_GA ip link set rl0 mtu 1400 up; ex $NS_GB ip link set rl0 mtu 1400 up
  ex $NS_GA ip route add 198.19.2.0/24 dev rl0
  ex $NS_GB ip route add 198.19.1.0/24 dev rl0
  measure relay-floor-aes128gcm
  topo_down
}

bench_crypto() {
  # Per-packet crypto cost: esprit's ESP seal of a 1400-byte packet against a
  # plain OpenSSL EVP AES-128-GCM loop, same machine, same run.
  if [ -x "$BUILD/esprit-cryptobench" ]; then
    "$BUILD/esprit-cryptobench" | tee "$RUN/crypto.txt"
  else
    echo "  (esprit-cryptobench not built: per-packet crypto cost skipped)"
  fi
}

echo "esprit benchmark: $(nproc) cores, $(awk -F: '/model name/{print $2; exit}' /proc/cpuinfo | sed 's/^ *//'), kernel $(uname -r)"
echo "runs: $RUNS x ${SECS}s"
want plain && { echo "== plain routed veth"; bench_plain; }
want esprit && { echo "== esprit AES-128-GCM (manual SA)"; bench_esprit esprit-aes128gcm "esp-gcm 128" "" 20; }
want esprit-xdp && { echo "== esprit AES-128-GCM (manual SA), native ESP sent with AF_XDP (crypto engine offload xdp-tx)"; BENCH_EXTRA="crypto engine offload xdp-tx${BENCH_EXTRA:+;$BENCH_EXTRA}" bench_esprit esprit-aes128gcm-xdp "esp-gcm 128" "" 20; }
want esprit-udp && { echo "== esprit AES-128-GCM (manual SA), ESP-in-UDP 4500"; ESPRIT_UDP=1 bench_esprit esprit-aes128gcm-udp "esp-gcm 128" "" 20; }
# merge_runs NAME: the rows (and #rev lines) that NAME's runs appended,
# replaced by one with each column's median (FAIL if any run failed).
merge_runs() {
  python3 - "$RESULTS" "$1" <<'EOF'
import sys
path, name = sys.argv[1], sys.argv[2]
lines = open(path).read().splitlines()
rows = [l.split("\t") for l in lines if l.split("\t")[0] == name]
revs = [l.split("\t")[2] for l in lines if l.startswith("#rev\t" + name + "\t")]
def med(xs):
    v = sorted(float(x) for x in xs if x not in ("nan", ""))
    return str(v[(len(v) - 1) // 2]) if v else "nan"  # as median() above
if any(len(r) < 3 for r in rows):
    row = name + "\tFAIL"
else:
    row = "\t".join([name] + [med(c) for c in zip(*[r[1:] for r in rows])])
out, done = [], False
for l in lines:
    f = l.split("\t")
    if f[0] == name or (f[0] == "#rev" and f[1] == name):
        if not done:
            out += ["#rev\t%s\t%s" % (name, med(revs)), row]
            done = True
        continue
    out.append(l)
open(path, "w").write("\n".join(out) + "\n")
EOF
}

want esprit-1k && {
  # The two rows alternate run by run (1 SA, N SAs, 1 SA, ...), each run
  # with freshly started daemons, so that the drift of this box over the
  # minutes of the pair falls on both rows alike; each row is the median
  # of its runs.
  for r in $(seq "$RUNS"); do
    echo "== esprit AES-128-GCM, 1 manual SA for all $ADDR_N addresses (baseline: same traffic, same tools), run $r/$RUNS"
    RUNS=1 bench_esprit_1k esprit-1sa-aes128gcm 1
    echo "== esprit AES-128-GCM, $SA_N manual SAs, traffic spread over them, run $r/$RUNS"
    RUNS=1 bench_esprit_1k "esprit-${SA_N}sa-aes128gcm" "$SA_N"
  done
  merge_runs esprit-1sa-aes128gcm
  merge_runs "esprit-${SA_N}sa-aes128gcm"
}
want esprit-cbc && { echo "== esprit AES-128-CBC + HMAC-SHA256"; bench_esprit esprit-aes128cbc-sha256 "esp-aes 128" "esp-sha256-hmac" 16; }
want esprit-cbc-xdp && { echo "== esprit AES-128-CBC + HMAC-SHA256, native ESP sent with AF_XDP"; BENCH_EXTRA="crypto engine offload xdp-tx${BENCH_EXTRA:+;$BENCH_EXTRA}" bench_esprit esprit-aes128cbc-sha256-xdp "esp-aes 128" "esp-sha256-hmac" 16; }
want esprit-cbc-udp && { echo "== esprit AES-128-CBC + HMAC-SHA256, ESP-in-UDP 4500"; ESPRIT_UDP=1 bench_esprit esprit-aes128cbc-sha256-udp "esp-aes 128" "esp-sha256-hmac" 16; }
want esprit-dp && { echo "== esprit data plane (dp_pair) AES-128-GCM, native ESP"; bench_esprit_dp esprit-dp-aes128gcm ""; }
want esprit-dp-udp && { echo "== esprit data plane (dp_pair) AES-128-GCM, ESP-in-UDP 4500"; bench_esprit_dp esprit-dp-aes128gcm-udp "-u"; }
want strongswan && { echo "== strongSwan kernel-libipsec AES-128-GCM"; bench_strongswan; }
want wireguard && { echo "== wireguard-go"; bench_wireguard; }
want relay && { echo "== minimal relay (bench/relay.c: one packet per system call, AES-128-GCM): the floor"; bench_relay; }
want crypto && { echo "== per-packet crypto cost"; bench_crypto; }

echo
python3 "$SRC/bench/table.py" "$RESULTS"
