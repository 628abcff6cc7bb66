#!/bin/bash
# IKEv2 COOKIE (RFC 7296 section 2.6) between two esprit gateways,
# crypto-map style, from examples/ikev2-map-gwA.cfg / -gwB.cfg; gwB's
# configuration gets `crypto ikev2 cookie-challenge 2` (sed into $TMP):
# the responder asks for a cookie once 2 half-open IKE SAs (IKE_SA_INIT
# answered, IKE_AUTH not yet received) exist (the comparison is
# half-open >= threshold, src/ikev2/sa_init.c cookie_needed).
#
#   hostA -- gwA (198.18.0.1) ==WAN, captured== (198.18.0.2) gwB -- hostB
#   plus a fake initiator (python, plain UDP socket) in gwA's namespace on
#   198.18.0.1:<high port>: it sends minimal valid IKE_SA_INIT requests
#   (AES-GCM-256/SHA-384/group 19 proposal, KE = the P-256 base point,
#   random nonce and SPI) and never continues, so each answered one leaves
#   a half-open SA on gwB.
#
# Half-open SAs are observed as gwB's `show crypto ikev2 sa` (JSON)
# entries with status IN-NEG and role Responder; cookie drops (requests
# with a wrong cookie) as gwB's log line "dropped message: wrong cookie"
# (the engine's V2_DROP_COOKIE counter is not in any show output).
#
# Phase 1, below the threshold: one fake request is answered in full
#   (SA, KE, Nr; 1 half-open SA on gwB); then hostA's traffic starts gwA's
#   IKE: no COOKIE anywhere in the capture, gwA sends IKE_SA_INIT once,
#   the SAs come up, traffic flows. `clear crypto ikev2 sa` on gwB removes
#   everything, half-open SAs included.
# Phase 2, at the threshold: two fake requests are answered in full (2
#   half-open); the next one gets only N(COOKIE) (SPIr zero, no state: still
#   2 half-open); its retry with a corrupted cookie gets a COOKIE again,
#   is counted as a cookie drop and creates no state; its retry with the
#   right cookie is answered in full (3 half-open). Then gwA's real
#   IKE_SA_INIT is answered with N(COOKIE) only, gwA retries with the
#   COOKIE notify as its first payload, the same SPIi, the cookie it was
#   given and the rest of the message unchanged; gwA logs the retry, the
#   SAs come up and traffic flows both ways.
# Phase 3: after `clear crypto ikev2 sa` on gwB (no half-open SA left), a
#   fresh fake request is answered in full again.
# Both daemons must then exit cleanly.
. "$(dirname "$0")/lib.sh"
lib_init
need_daemon
command -v tshark >/dev/null || skip "needs tshark"
command -v dumpcap >/dev/null || skip "needs dumpcap"
topo_up

THRESH=2
sed -e "/^hostname /a crypto ikev2 cookie-challenge $THRESH" "$EX/ikev2-map-gwB.cfg" >"$TMP/gwB.cfg"
check "gwB's configuration asks for cookies at $THRESH half-open SAs" \
	grep -qx "crypto ikev2 cookie-challenge $THRESH" "$TMP/gwB.cfg"

# ---- the fake initiator -------------------------------------------------------
cat >"$TMP/ikefake.py" <<'EOF'
# ikefake.py SRC DST SPORT new|flow: IKE_SA_INIT requests that are never
# continued. "new": one fresh request. "flow": a fresh request, then (if a
# COOKIE came back) the same request with a corrupted cookie, then with
# the right one. Prints one word per answer: full, cookie, none or
# other(...).
import os, socket, struct, sys

src, dst, sport, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
# the P-256 base point: a valid public value (the exchange never goes on)
GX = bytes.fromhex("6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296")
GY = bytes.fromhex("4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5")

def gen(np, body):
    return struct.pack("!BBH", np, 0, 4 + len(body)) + body

def transform(last, ttype, tid, attr=b""):
    body = struct.pack("!B", ttype) + b"\0" + struct.pack("!H", tid) + attr
    return struct.pack("!BBH", 0 if last else 3, 0, 8 + len(attr)) + body

def request(spi_i, ni, cookie=None):
    xf = (transform(False, 1, 20, struct.pack("!HH", 0x800E, 256)) +  # ENCR AES-GCM-16 256
          transform(False, 2, 6) +                                     # PRF HMAC-SHA2-384
          transform(True, 4, 19))                                      # DH 19
    prop = struct.pack("!BBHBBBB", 0, 0, 8 + len(xf), 1, 1, 0, 3) + xf
    pls = [(33, prop),
           (34, struct.pack("!HH", 19, 0) + GX + GY),
           (40, ni)]
    if cookie is not None:
        pls.insert(0, (41, struct.pack("!BBH", 0, 0, 16390) + cookie))
    out = b""
    for i, (t, body) in enumerate(pls):
        nxt = pls[i + 1][0] if i + 1 < len(pls) else 0
        out += gen(nxt, body)
    hdr = spi_i + b"\0" * 8 + struct.pack("!BBBBII", pls[0][0], 0x20, 34, 0x08, 0, 28 + len(out))
    return hdr + out

def parse(msg):
    if len(msg) < 28:
        return None
    spi_r = msg[8:16]
    np, flags = msg[16], msg[19]
    off, pls = 28, []
    while np and off + 4 <= len(msg):
        nxt, _, plen = struct.unpack("!BBH", msg[off:off + 4])
        body = msg[off + 4:off + plen]
        ntype = struct.unpack("!H", body[2:4])[0] if np == 41 else None
        data = body[4 + body[1]:] if np == 41 else None
        pls.append((np, ntype, data))
        np, off = nxt, off + plen
    return spi_r, flags, pls

def classify(reply):
    if reply is None:
        return "none", None
    p = parse(reply)
    if p is None:
        return "other(short)", None
    spi_r, flags, pls = p
    types = [t for t, _, _ in pls]
    if types == [41] and pls[0][1] == 16390 and spi_r == b"\0" * 8 and flags & 0x20:
        return "cookie", pls[0][2]
    if 33 in types and 34 in types and 40 in types and spi_r != b"\0" * 8 and flags & 0x20 \
            and not any(n == 16390 for _, n, _ in pls):
        return "full", None
    return "other(%s)" % ",".join("%d/%s" % (t, n) for t, n, _ in pls), None

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, sport))
s.settimeout(5)

def exchange(pkt):
    s.sendto(pkt, (dst, 500))
    try:
        while True:
            d, a = s.recvfrom(65535)
            if a[0] == dst and d[:8] == pkt[:8]:
                return d
    except socket.timeout:
        return None

spi_i, ni = os.urandom(8), os.urandom(32)
kind, cookie = classify(exchange(request(spi_i, ni)))
print(kind)
if mode == "flow" and kind == "cookie":
    bad = cookie[:-1] + bytes([cookie[-1] ^ 0x55])
    print(classify(exchange(request(spi_i, ni, bad)))[0])
    print(classify(exchange(request(spi_i, ni, cookie)))[0])
sys.stdout.flush()
EOF
FAKE_PORT=$((40000 + $$ % 20000))
fake() { # new|flow: the answers, one word per line
	FAKE_PORT=$((FAKE_PORT + 1))
	nsx "$GA" timeout 30 "$PY" "$TMP/ikefake.py" "$GA4" "$GB4" "$FAKE_PORT" "$1" 2>"$TMP/fake.err"
}

# gwB's half-open SAs: responder entries still negotiating
half_open() {
	ike_json "$GB" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(sum(1 for s in d["ike_sas"] if s["status"]=="IN-NEG" and s["role"]=="Responder"))'
}
cookie_drops() { grep -c 'dropped message: wrong cookie' "${DAEMON_LOG[$GB]}"; }
count() { tshark_count "$1" "$2"; }
fields() { # FILE FILTER FIELDS...
	local f=$1 flt=$2 a=() x
	shift 2
	for x in "$@"; do a+=(-e "$x"); done
	timeout 120 tshark -n -r "$f" -Y "$flt" -T fields -E separator=' ' -E occurrence=a -E aggregator=, "${a[@]}" 2>/dev/null
}

start_esprit "$GA" "$EX/ikev2-map-gwA.cfg" || bail "gwA did not start"
start_esprit "$GB" "$TMP/gwB.cfg" || bail "gwB did not start"

echo "# ---- phase 1: below the threshold ($THRESH)"
r=$(fake new)
check "a fake IKE_SA_INIT is answered in full, no cookie ($r)" [ "$r" = full ]
h=$(half_open)
check "gwB lists 1 half-open SA ($h)" num_eq "$h" 1
check "gwB logged it as half-open 1" grep -q 'IKE_SA_INIT answered (.*), half-open 1$' "${DAEMON_LOG[$GB]}"
P=$TMP/c1.pcap
capture_start "$GA" wan0 "$P" || bail "capture on gwA wan0"
nsx "$HA" ping -c 3 -i 0.5 -W 2 "$HB4" >/dev/null 2>&1
check "gwA's IKE SA is READY" wait_for 20 ike_ready "$GA"
check "gwB's IKE SA is READY" wait_for 10 ike_ready "$GB"
check_ping "$HA" "$HB4"
capture_stop
check "no COOKIE notify on the wire" num_eq "$(count "$P" "isakmp.notify.msgtype == 16390")" 0
n=$(count "$P" "isakmp.exchangetype == 34 && isakmp.flag_r == 0 && ip.src == $GA4 && udp.srcport == 500")
check "gwA sent IKE_SA_INIT once ($n)" num_eq "$n" 1
check "gwA did not log a cookie retry" not_grep -q 'asks for a cookie' "${DAEMON_LOG[$GA]}"

cli "$GB" clear crypto ikev2 sa >/dev/null
check "clear crypto ikev2 sa on gwB: no IKE SA left on gwB" wait_for 10 eval '[ "$(ike_count "$GB")" = 0 ]'
check "and none on gwA" wait_for 10 eval '[ "$(ike_count "$GA")" = 0 ]'

echo "# ---- phase 2: at the threshold"
P=$TMP/c2.pcap
capture_start "$GA" wan0 "$P" || bail "capture on gwA wan0"
r1=$(fake new)
r2=$(fake new)
check "two fake IKE_SA_INITs are answered in full ($r1 $r2)" [ "$r1 $r2" = "full full" ]
h=$(half_open)
check "gwB lists $THRESH half-open SAs ($h)" num_eq "$h" "$THRESH"
d0=$(cookie_drops)
mapfile -t fl < <(fake flow)
info "fake flow: ${fl[*]}"
check "the next request gets only N(COOKIE), SPIr zero (${fl[0]:-})" [ "${fl[0]:-}" = cookie ]
check "its retry with a corrupted cookie gets a COOKIE again (${fl[1]:-})" [ "${fl[1]:-}" = cookie ]
check "its retry with the right cookie is answered in full (${fl[2]:-})" [ "${fl[2]:-}" = full ]
d1=$(cookie_drops)
check "gwB counted one cookie drop (log: $d0 -> $d1)" num_eq "$((d1 - d0))" 1
h=$(half_open)
check "neither the cookie request nor the wrong cookie made state: $((THRESH + 1)) half-open ($h)" \
	num_eq "$h" $((THRESH + 1))
# The same from show crypto ikev2 stats (JSON).
stat() { cli "$GB" --json show crypto ikev2 stats | "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
check "show crypto ikev2 stats: half_open $((THRESH + 1)) ($(stat 'd["half_open"]'))" \
	num_eq "$(stat 'd["half_open"]')" $((THRESH + 1))
check "  ... cookie_threshold $THRESH, cookies_sent 2 ($(stat 'd["cookies_sent"]'))" \
	eval 'num_eq "$(stat "d[\"cookie_threshold\"]")" $THRESH && num_eq "$(stat "d[\"cookies_sent\"]")" 2'
check "  ... drops wrong-cookie 1 ($(stat 'd["drops"]["wrong-cookie"]'))" \
	num_eq "$(stat 'd["drops"]["wrong-cookie"]')" 1
check "  ... and the text form says so" eval 'cli "$GB" show crypto ikev2 stats | grep -q "cookie challenge at $THRESH"'
nsx "$HA" ping -c 3 -i 0.5 -W 2 "$HB4" >/dev/null 2>&1
check "gwA's IKE SA is READY" wait_for 20 ike_ready "$GA"
check "gwB's IKE SA is READY" wait_for 10 ike_ready "$GB"
check_ping "$HA" "$HB4"
check_ping "$HB" "$HA4"
capture_stop
check "gwA logged the cookie retry" grep -q 'responder asks for a cookie, retrying' "${DAEMON_LOG[$GA]}"
# gwA's own exchange: UDP 500 on both ends
RQ="isakmp.exchangetype == 34 && isakmp.flag_r == 0 && ip.src == $GA4 && udp.srcport == 500"
RS="isakmp.exchangetype == 34 && isakmp.flag_r == 1 && ip.src == $GB4 && udp.dstport == 500"
info "gwA's IKE_SA_INIT exchange (src, SPIi, SPIr, next payload, notify types):"
fields "$P" "$RQ || $RS" ip.src isakmp.ispi isakmp.rspi isakmp.nextpayload isakmp.notify.msgtype | sed 's/^/#   /'
check "gwB answered gwA's first IKE_SA_INIT with N(COOKIE) only" \
	num_eq "$(count "$P" "$RS && isakmp.nextpayload == 41 && isakmp.notify.msgtype == 16390 && isakmp.rspi == 00:00:00:00:00:00:00:00")" 1
check "and its retry with a full response (SA, no COOKIE)" \
	num_eq "$(count "$P" "$RS && isakmp.nextpayload == 33 && !(isakmp.notify.msgtype == 16390)")" 1
# (isakmp.nextpayload lists the header's next payload, then each payload's)
mapfile -t rq < <(fields "$P" "$RQ" isakmp.ispi isakmp.nextpayload)
check "gwA sent IKE_SA_INIT twice: without, then with the cookie first (${rq[*]})" \
	eval '[ ${#rq[@]} = 2 ] && [[ "${rq[0]#* }" == 33,34,* ]] && [[ "${rq[1]#* }" == 41,33,34,* ]]'
check "the retry keeps the SPIi" eval '[ ${#rq[@]} = 2 ] && [ "${rq[0]%% *}" = "${rq[1]%% *}" ] && [ -n "${rq[0]%% *}" ]'
given=$(fields "$P" "$RS && isakmp.notify.msgtype == 16390" isakmp.notify.data)
echoed=$(fields "$P" "$RQ" isakmp.notify.data | sed -n 2p | cut -d, -f1)
check "the retry carries the cookie it was given (${#given} hex digits)" \
	eval '[ -n "$given" ] && [ "$given" = "$echoed" ]'
# 2.6: everything after the COOKIE notify is the first request unchanged
same_rest() {
	fields "$P" "$RQ" udp.payload | "$PY" -c '
import sys
a, b = [bytes.fromhex(l.strip().replace(":", "")) for l in sys.stdin][:2]
clen = int.from_bytes(b[30:32], "big")       # the COOKIE notify payload length
sys.exit(0 if a[28:] == b[28 + clen:] and a[:16] == b[:16] else 1)'
}
check "the retry's payloads after the COOKIE are the first request's, byte for byte" same_rest

echo "# ---- phase 3: cleared, below the threshold again"
cli "$GB" clear crypto ikev2 sa >/dev/null
check "clear crypto ikev2 sa on gwB: no half-open SA left" wait_for 10 eval '[ "$(ike_count "$GB")" = 0 ]'
r=$(fake new)
check "a fresh fake IKE_SA_INIT is answered in full again ($r)" [ "$r" = full ]

stop_esprit "$GA"
stop_esprit "$GB"
finish
