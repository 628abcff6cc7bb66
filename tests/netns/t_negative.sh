#!/bin/bash
# What esprit must refuse, and count:
#  (a) a wrong key on one side: nothing gets through, and the receiver
#      counts ICV (verify) failures (RFC 4303 3.4.4);
#  (b) a captured ESP packet sent again is dropped and counted as a
#      replay (RFC 4303 3.4.3);
#  (c) truncated and garbage ESP and AH packets (random lengths 0..100,
#      random bytes, valid SPIs followed by garbage, truncated real
#      packets) are all dropped and counted, and afterwards the daemon
#      still answers and traffic still flows.
# Packets are injected from gwA with python3 raw sockets (no scapy).
#
#   hostA (198.19.1.2) -- (198.19.1.1) gwA (198.18.0.1) ==WAN== (198.18.0.2) gwB (198.19.2.1) -- hostB (198.19.2.2)
#                                              ^ capture + injection here   ^ counts drops
. "$(dirname "$0")/lib.sh"

write_inject() {
	cat >"$TMP/inject.py" <<'PYEOF'
# inject.py replay PCAP SRC DST COUNT: send the first ESP packet SRC->DST
#   of the pcap COUNT times (IPPROTO_RAW: the IP header as captured).
# inject.py garbage DST SEED N PCAP: N ESP and N AH packets of garbage;
#   prints how many were sent, and how many of them were ESP shorter than
#   an SPI (4 bytes).
import random, socket, struct, sys

def pcap_packets(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    link = struct.unpack(end + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(end + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if link == 1:           # Ethernet
            if frame[12:14] != b"\x08\x00":
                continue
            frame = frame[14:]
        yield frame

def first_esp(path, src, dst):
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    for ip in pcap_packets(path):
        if len(ip) > 28 and ip[0] >> 4 == 4 and ip[9] == 50 and ip[12:16] == s and ip[16:20] == d:
            return ip
    sys.exit("no ESP packet %s -> %s in %s" % (src, dst, path))

def replay(path, src, dst, count):
    ip = first_esp(path, src, dst)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for _ in range(count):
        s.sendto(ip, (dst, 0))
    print(count)

def garbage(dst, seed, n, path, esp_spi, ah_spi):
    r = random.Random(seed)
    real = None
    if path:
        ip = first_esp(path, "198.18.0.1", dst)
        real = ip[(ip[0] & 15) * 4:]
    sent = short = 0
    for proto, spi in ((50, esp_spi), (51, ah_spi)):
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
        for i in range(n):
            kind = i % 4
            if kind == 0:           # random bytes, random length 0..100
                p = bytes(r.getrandbits(8) for _ in range(r.randint(0, 100)))
            elif kind == 1:         # valid SPI, then garbage
                body = bytes(r.getrandbits(8) for _ in range(r.randint(0, 96)))
                if proto == 50:
                    p = struct.pack(">II", spi, r.randint(1, 1 << 31)) + body
                else:               # AH: next header, payload len, reserved, SPI, seq
                    p = struct.pack(">BBHII", 4, r.randint(0, 255), 0, spi,
                                    r.randint(1, 1 << 31)) + body
            elif kind == 2:         # valid SPI, truncated header
                p = struct.pack(">I", spi)[:r.randint(0, 4)] if proto == 50 else \
                    struct.pack(">BBHI", 4, 4, 0, spi)[:r.randint(0, 8)]
            else:                   # a real packet, truncated or with a bit flipped
                if real is not None and proto == 50:
                    p = bytearray(real[:r.randint(0, len(real) - 1)]) if i % 8 == 3 else bytearray(real)
                    if i % 8 == 7 and len(p) > 8:
                        p[r.randint(8, len(p) - 1)] ^= 1 << r.randint(0, 7)
                    p = bytes(p)
                else:
                    p = bytes(r.getrandbits(8) for _ in range(r.randint(1, 100)))
            s.sendto(p, (dst, 0))
            sent += 1
            short += proto == 50 and len(p) < 4
    print(sent, short)

mode = sys.argv[1]
if mode == "replay":
    replay(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
else:
    garbage(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5],
            int(sys.argv[6]), int(sys.argv[7]))
PYEOF
}

inject() { nsx "$GA" timeout 30 "$PY" "$TMP/inject.py" "$@"; }

lib_init
need_daemon
topo_up
write_inject
GCM_A=$EX/manual-esp-gcm-gwA.cfg
GCM_B=$EX/manual-esp-gcm-gwB.cfg

# ---- (a) wrong key -----------------------------------------------------------
info "---- (a) gwB's inbound key differs from gwA's outbound key"
# Flip the first hex digit of the key on gwB's inbound ESP line.
sed -E '/set session-key inbound esp/ s/(cipher )(.)/\1X\2/; s/cipher X0/cipher 1/; s/cipher X[1-9a-f]/cipher 0/' \
	"$GCM_B" >"$TMP/wrongkey-gwB.cfg"
check "the generated gwB config differs in one key" \
	eval '[ "$(diff "$GCM_B" "$TMP/wrongkey-gwB.cfg" | grep -c "^>")" = 1 ]'
start_esprit "$GA" "$GCM_A" || bail "gwA did not start"
start_esprit "$GB" "$TMP/wrongkey-gwB.cfg" || bail "gwB did not start"
check "ping hA -> $HB4 fails with a wrong key" ping_fails "$HA" "$HB4"
icv=$(sa_get "$GB" 'drop("icv-failure")')
dec=$(sa_get "$GB" 'sum_g("pkts_decaps")')
enc=$(sa_get "$GA" 'sum_g("pkts_encaps")')
check "gwB counts ICV failures ($icv) for what gwA sent ($enc)" eval 'num_gt "$icv" 0 && num_close "$icv" "$enc"'
check "gwB decapsulated nothing ($dec)" num_eq "$dec" 0
cli "$GB" show crypto ipsec sa detail >"$TMP/detail-a.txt" 2>&1
vf=$(sed -n 's/.*#pkts verify failed[^0-9]*\([0-9]\+\).*/\1/p' "$TMP/detail-a.txt" | head -1)
check "show crypto ipsec sa detail on gwB: #pkts verify failed $vf" num_gt "${vf:-x}" 0
stop_esprit "$GA"
stop_esprit "$GB"

# ---- (b) replay ----------------------------------------------------------------
info "---- (b) a captured ESP packet sent again"
start_esprit "$GA" "$GCM_A" || bail "gwA did not start"
start_esprit "$GB" "$GCM_B" || bail "gwB did not start"
capture_start "$GA" wan0 "$TMP/wan.pcap" 2000 "ip proto 50" || bail "dumpcap on gwA wan0"
check_ping "$HA" "$HB4"
capture_stop
r0=$(sa_get "$GB" 'drop("replay")')
d0=$(sa_get "$GB" 'sum_g("pkts_decaps")')
check "re-injected a captured ESP packet 3 times" eval 'inject replay "$TMP/wan.pcap" "$GA4" "$GB4" 3 >/dev/null'
sleep 0.5
r1=$(sa_get "$GB" 'drop("replay")')
d1=$(sa_get "$GB" 'sum_g("pkts_decaps")')
check "gwB counts 3 replays ($r0 -> $r1)" eval 'num_eq "$r1" $((r0 + 3))'
check "gwB decapsulated none of them ($d0 -> $d1)" eval 'num_eq "$d1" "$d0"'

# ---- (c) garbage -------------------------------------------------------------
# garbage_round LABEL ESP_SPI AH_SPI: 40 ESP + 40 AH packets; every one
# counted as a drop on gwB; then the daemon answers and pings work.
garbage_round() {
	local label=$1 esp_spi=$2 ah_spi=$3 t0 t1 sent short c0 c1
	t0=$(sa_get "$GB" 'drops_total()')
	c0=$(sa_get "$GB" 'sum_g("pkts_decaps")')
	read -r sent short < <(inject garbage "$GB4" "$RANDOM" 40 "$TMP/wan.pcap" "$esp_spi" "$ah_spi")
	check "$label: sent $sent garbage ESP/AH packets at gwB ($short ESP shorter than an SPI)" \
		num_eq "${sent:-x}" 80
	sleep 0.5
	t1=$(sa_get "$GB" 'drops_total()')
	c1=$(sa_get "$GB" 'sum_g("pkts_decaps")')
	cli "$GB" --json show crypto ipsec sa detail >"$TMP/garbage-$label.json"
	info "$label: drops on gwB $t0 -> $t1: $(json_eval "$TMP/garbage-$label.json" \
		'{k: drop(k) for k in ("no-sa","malformed","icv-failure","replay","policy-mismatch","bad-padding") if drop(k)}')"
	# ESP of fewer than 4 bytes never reaches the daemon: the SPI-steering
	# socket filter (sock_bpf_raw4_esp, src/dataplane/sock.c) cannot load
	# an SPI and drops it in the kernel, uncounted. Everything else must
	# be counted exactly once.
	check "$label: every garbage packet with an SPI counted as a drop on gwB ($t0 -> $t1, sent $sent - $short short)" \
		eval 'num_eq "$t1" $((t0 + ${sent:-0} - ${short:-0}))'
	check "$label: none decapsulated ($c0 -> $c1)" eval 'num_eq "$c1" "$c0"'
	check "$label: gwB daemon still running" kill -0 "${DAEMON_PID[$GB]}"
	check "$label: gwB still answers on its control socket" eval 'cli "$GB" show version >/dev/null'
	check_ping "$HA" "$HB4"
	check_ping "$HB" "$HA4"
}
info "---- (c) garbage ESP/AH at gwB (ESP GCM SAs; SPI 4097 valid, no AH SA)"
garbage_round esp-gcm 4097 4197
stop_esprit "$GA"
stop_esprit "$GB"

info "---- (c) garbage ESP/AH at gwB (AH+ESP bundle: ESP 4097 and AH 4197 valid)"
start_esprit "$GA" "$EX/manual-ah-esp-gwA.cfg" || bail "gwA did not start"
start_esprit "$GB" "$EX/manual-ah-esp-gwB.cfg" || bail "gwB did not start"
check_ping "$HA" "$HB4"
garbage_round ah-esp 4097 4197
stop_esprit "$GA"
stop_esprit "$GB"
finish
