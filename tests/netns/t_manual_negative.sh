#!/bin/bash
# Bad input from the network is dropped and counted, and the daemon lives:
#   1. a wrong key on one side: nothing gets through, ICV failures counted;
#   2. a captured ESP packet re-injected on the WAN: dropped as a replay;
#   3. truncated and garbage ESP and AH packets (random lengths, random
#      SPIs and the real SPI with garbage): dropped and counted, the
#      daemon still answers and traffic still flows.
#
#   hostA (198.19.1.2) -- gwA (198.18.0.1) ==WAN== (198.18.0.2) gwB -- hostB (198.19.2.2)
. "$(dirname "$0")/lib.sh"
lib_init
need_daemon

drop_b() { sa_get "$GB" "drop(\"$1\")"; }

# ---- 1. wrong key -------------------------------------------------------
topo_up
# gwB's inbound ESP authenticator key differs from gwA's outbound one in
# its last hex digit, so every ICV fails.
"$PY" - "$EX/manual-esp-cbc-sha256-gwB.cfg" >"$TMP/wrongkey-gwB.cfg" <<'PYEOF'
import re, sys
def flip(m):
    k = m.group(2)
    return m.group(1) + k[:-1] + "%x" % ((int(k[-1], 16) + 1) % 16)
for line in open(sys.argv[1]):
    if "set session-key inbound esp" in line:
        line = re.sub(r"(authenticator )([0-9a-fA-F]+)", flip, line)
    sys.stdout.write(line)
PYEOF
check "the wrong-key config differs from the example" \
	eval '! cmp -s "$TMP/wrongkey-gwB.cfg" "$EX/manual-esp-cbc-sha256-gwB.cfg"'
start_esprit "$GA" "$EX/manual-esp-cbc-sha256-gwA.cfg" || bail "gwA"
start_esprit "$GB" "$TMP/wrongkey-gwB.cfg" || bail "gwB"
check "with a wrong key no ping gets through" ping_fails "$HA" "$HB4"
icv=$(drop_b icv-failure)
check "gwB counts ICV failures ($icv)" num_ge "$icv" 3
dec=$(sa_get "$GB" 'sum_g("pkts_decaps")')
check "gwB decapsulated nothing ($dec)" num_eq "$dec" 0
cleanup
TMP=$(mktemp -d "/tmp/esprit-$T_NAME.XXXXXX")

# ---- 2 and 3: replay and garbage -----------------------------------------
topo_up
start_esprit "$GA" "$EX/manual-esp-cbc-sha256-gwA.cfg" || bail "gwA"
start_esprit "$GB" "$EX/manual-esp-cbc-sha256-gwB.cfg" || bail "gwB"
capture_start "$GA" wan0 "$TMP/wan.pcap" 2000 "esp and src host $GA4" || bail "dumpcap"
check_ping "$HA" "$HB4" 3
capture_stop
# The first captured ESP packet, as raw IPv4 bytes (dumpcap -P writes
# classic pcap: 24-byte file header, 16-byte record headers, Ethernet).
"$PY" - "$TMP/wan.pcap" "$TMP/esp.bin" <<'PYEOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
if len(data) > 40 and struct.unpack_from("<I", data, 0)[0] == 0xa1b2c3d4:
    caplen = struct.unpack_from("<I", data, 24 + 8)[0]
    frame = data[40:40 + caplen]
    open(sys.argv[2], "wb").write(frame[14:])
PYEOF
check "extracted one captured ESP packet" test -s "$TMP/esp.bin"
before=$(drop_b replay)
cat >"$TMP/inject.py" <<'PYEOF'
import os, random, socket, struct, sys
dst = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
def send(pkt):
    s.sendto(pkt, (dst, 0))
def ip4(proto, payload, src="198.18.0.1"):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), random.randrange(65536), 0,
                      64, proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    return hdr + payload
mode = sys.argv[2]
if mode == "replay":
    pkt = open(sys.argv[3], "rb").read()
    for _ in range(5):
        send(pkt)
elif mode == "garbage":
    spi = int(sys.argv[3])
    r = random.Random(7)
    n = 0
    for proto in (50, 51):
        for length in range(0, 100):
            send(ip4(proto, bytes(r.randrange(256) for _ in range(length)))); n += 1
            body = struct.pack("!II", spi, 100000 + length) + bytes(r.randrange(256) for _ in range(length))
            if proto == 51:
                body = struct.pack("!BBH", 50, max(0, min(255, length // 4)), 0) + body
            send(ip4(proto, body[:8 + length])); n += 1
    print(n)
PYEOF
nsx "$GA" "$PY" "$TMP/inject.py" "$GB4" replay "$TMP/esp.bin"
sleep 0.5
after=$(drop_b replay)
check "5 re-injected copies of a captured packet are dropped as replays ($before -> $after)" \
	eval '[ "$after" -ge $((before + 5)) ]'
sent=$(nsx "$GA" "$PY" "$TMP/inject.py" "$GB4" garbage 4097) # gwB's inbound SPI
sleep 1
total=$(sa_get "$GB" 'drops_total()')
check "gwB counted the $sent garbage packets as drops ($total)" num_ge "$total" $((sent * 9 / 10))
mal=$(drop_b malformed); nosa=$(drop_b no-sa); icv=$(drop_b icv-failure)
info "drops by reason: malformed $mal, no-sa $nosa, icv-failure $icv, replay $(drop_b replay)"
check "malformed, unknown-SPI and ICV drops all counted" \
	eval 'num_gt "$mal" 0 && num_gt "$nosa" 0 && num_gt "$icv" 0'
check "gwB still answers the CLI" eval 'cli "$GB" show version >/dev/null'
check "gwB's daemon is still running" kill -0 "${DAEMON_PID[$GB]}"
check_ping "$HA" "$HB4"
finish
