#!/bin/bash
# IKEv2 COOKIE (RFC 7296 section 2.6) against strongSwan, in both roles
# (AES-GCM-256, PRF-SHA256, group 19, tunnel). Both responders are told to
# ask for a cookie once THRESH (2) half-open responder IKE SAs exist:
#   - esprit (gwA): `crypto ikev2 cookie-challenge 2` (sed into gwA.cfg);
#     the comparison is half-open >= threshold (src/ikev2/sa_init.c);
#   - charon (gwB): `dos_protection = yes`, `cookie_threshold = 2` (global
#     count of half-open responder IKE_SAs, also >=; cookie_threshold_ip
#     keeps its default 3 and block_threshold 5, never reached here), and
#     `net = 2` logging for its "sending COOKIE notify" line.
# Half-open SAs are made by a fake initiator (python, plain UDP socket on
# an ephemeral port of the other gateway's WAN address): minimal valid
# IKE_SA_INIT requests (the suite's proposal, KE = the P-256 base point,
# random SPIi and nonce) that are never continued; both implementations
# keep such an SA 30 s.
# A capture of the IKE messages on gwB's WAN in each phase:
#   1. control, no half-open SA (cookies configured, threshold not
#      reached): gwB initiates, then gwA: no COOKIE notify on the wire,
#      each side sends its IKE_SA_INIT once, neither logs or counts a
#      cookie. This is the capture checks' negative case. It comes first:
#      charon keeps asking for cookies 10 s after its threshold was last
#      reached (COOKIE_CALMDOWN_DELAY).
#   2. esprit responder: two fake requests from gwB's address are answered
#      in full (gwA: 2 half-open); swanctl --initiate on gwB: gwA answers
#      with N(COOKIE) only (SPIr zero), gwB retries with the COOKIE notify
#      first, the same SPIi, the cookie it was given and the rest of the
#      request unchanged; gwA answers that in full; the SA comes up,
#      traffic passes; gwA counts one cookie sent, charon logs the COOKIE
#      response and its retry.
#   3. strongSwan responder: two fake requests from gwA's address are
#      answered in full (gwB lists 2 CONNECTING SAs); hostA's traffic
#      starts gwA's IKE: gwB answers with N(COOKIE) only, gwA retries with
#      COOKIE first, same SPIi, the cookie echoed, the rest byte for byte
#      unchanged; the SA comes up, traffic passes; gwA logs the retry,
#      charon logs the COOKIE it sent.
# With INTEROP_GWA=strongswan the gwA-side evidence comes from gwA's charon.
. "$(dirname "$0")/lib.sh"
iop_init
command -v tshark >/dev/null || skip "needs tshark"
command -v dumpcap >/dev/null || skip "needs dumpcap"
prop_set gcm
THRESH=2

# ---- configs: the lib's, plus the cookie settings --------------------------------
eval "$(declare -f swan_write_conf | sed '1s/^swan_write_conf/iop_swan_write_conf/')"
swan_write_conf() {
	iop_swan_write_conf "$1"
	sed -i -e "s/^charon {\$/charon {\n  dos_protection = yes\n  cookie_threshold = $THRESH/" \
		-e 's/^      ike = 2$/      ike = 2\n      net = 2/' "$RUNDIR/$1/strongswan.conf"
}
eval "$(declare -f esprit_write_conf | sed '1s/^esprit_write_conf/iop_esprit_write_conf/')"
esprit_write_conf() {
	iop_esprit_write_conf "$1"
	sed -i "/^hostname /a crypto ikev2 cookie-challenge $THRESH" "$1"
}

# charon's per-packet socket lines (net = 2) hide everything else in the log tail
show_logs() {
	local s
	netns_show_logs
	for s in A B; do
		[ -f "$RUNDIR/$s/charon.log" ] || continue
		echo "# ---- charon log (gw$s): $RUNDIR/$s/charon.log (last ${IOP_LOG_LINES:-80} lines, no vici chatter, no socket lines)"
		grep -vE 'vici client|waiting for data on sockets|\[NET\] (sending|received) packet: from [^ ]+ to [^ ]+$' \
			"$RUNDIR/$s/charon.log" | tail -n "${IOP_LOG_LINES:-80}" | sed 's/^/#   /'
		[ "${ESPRIT_KEEP:-0}" = 1 ] && [ -n "$TMP" ] && cp "$RUNDIR/$s/charon.log" "$TMP/charon-gw$s.log"
	done
}

# ---- the fake initiator ----------------------------------------------------------
cat >"$TMP/ikefake.py" <<'EOF'
# ikefake.py SRC DST N: N fresh IKE_SA_INIT requests from SRC (ephemeral
# port) to DST:500, never continued. One word per answer: full, cookie,
# none or other(payload/notify list).
import os, socket, struct, sys

src, dst, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
# the P-256 base point: a valid public value (the exchange never goes on)
GX = bytes.fromhex("6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296")
GY = bytes.fromhex("4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5")

def gen(np, body):
    return struct.pack("!BBH", np, 0, 4 + len(body)) + body

def transform(last, ttype, tid, attr=b""):
    body = struct.pack("!B", ttype) + b"\0" + struct.pack("!H", tid) + attr
    return struct.pack("!BBH", 0 if last else 3, 0, 8 + len(attr)) + body

def request(spi_i, ni):
    xf = (transform(False, 1, 20, struct.pack("!HH", 0x800E, 256)) +  # ENCR AES-GCM-16 256
          transform(False, 2, 5) +                                     # PRF HMAC-SHA2-256
          transform(True, 4, 19))                                      # DH 19
    prop = struct.pack("!BBHBBBB", 0, 0, 8 + len(xf), 1, 1, 0, 3) + xf
    pls = [(33, prop), (34, struct.pack("!HH", 19, 0) + GX + GY), (40, ni)]
    out = b""
    for i, (t, body) in enumerate(pls):
        out += gen(pls[i + 1][0] if i + 1 < len(pls) else 0, body)
    return spi_i + b"\0" * 8 + struct.pack("!BBBBII", 33, 0x20, 34, 0x08, 0, 28 + len(out)) + out

def classify(msg):
    if msg is None:
        return "none"
    if len(msg) < 28:
        return "other(short)"
    spi_r, np, flags, off, pls = msg[8:16], msg[16], msg[19], 28, []
    while np and off + 4 <= len(msg):
        nxt, _, plen = struct.unpack("!BBH", msg[off:off + 4])
        body = msg[off + 4:off + plen]
        pls.append((np, struct.unpack("!H", body[2:4])[0] if np == 41 else None))
        np, off = nxt, off + plen
    types = [t for t, _ in pls]
    if types == [41] and pls[0][1] == 16390 and spi_r == b"\0" * 8 and flags & 0x20:
        return "cookie"
    if 33 in types and 34 in types and 40 in types and spi_r != b"\0" * 8 and flags & 0x20 \
            and 16390 not in [n for _, n in pls]:
        return "full"
    return "other(%s)" % ",".join("%d/%s" % p for p in pls)

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
s.settimeout(5)
for _ in range(count):
    pkt = request(os.urandom(8), os.urandom(32))
    s.sendto(pkt, (dst, 500))
    reply = None
    try:
        while reply is None:
            d, a = s.recvfrom(65535)
            if a[0] == dst and d[:8] == pkt[:8]:
                reply = d
    except socket.timeout:
        pass
    print(classify(reply))
    sys.stdout.flush()
EOF
# fake NS SRC DST N: the answers on one line
fake() { nsx "$1" timeout 40 "$PY" "$TMP/ikefake.py" "$2" "$3" "$4" 2>>"$TMP/fake.err" | tr '\n' ' ' | sed 's/ $//'; }

# ---- evidence helpers ------------------------------------------------------------
IKEF="udp port 500 or (udp port 4500 and udp[8:4] = 0)"
count() { tshark_count "$1" "$2"; }
fields() { # FILE FILTER FIELDS...
	local f=$1 flt=$2 a=() x
	shift 2
	for x in "$@"; do a+=(-e "$x"); done
	timeout 120 tshark -n -r "$f" -Y "$flt" -T fields -E separator=' ' -E occurrence=a -E aggregator=, "${a[@]}" 2>/dev/null
}
cblog() { grep -v 'vici client' "$RUNDIR/B/charon.log"; }
# cblog_since N: gwB's log after its first N lines (of cblog)
cblog_since() { cblog | tail -n +$(($1 + 1)); }
# gwA's log, whichever implementation
galog() {
	if [ "$GWA_IMPL" = esprit ]; then cat "${DAEMON_LOG[$GA]}"; else grep -v 'vici client' "$RUNDIR/A/charon.log"; fi
}
# esprit's `show crypto ikev2 stats` (JSON), one python expression over d
gstat() { cli "$GA" --json show crypto ikev2 stats | "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# COOKIE responses gwA sent: esprit's counter, or charon's log lines
gwa_cookies_sent() {
	if [ "$GWA_IMPL" = esprit ]; then gstat 'd["cookies_sent"]'; else galog | grep -c 'sending COOKIE notify'; fi
}
gwa_half_open() {
	if [ "$GWA_IMPL" = esprit ]; then gstat 'd["half_open"]'; else sw_half_open A; fi
}
# the line an initiator logs when told to come back with a cookie
gwa_retry_re() {
	if [ "$GWA_IMPL" = esprit ]; then echo 'responder asks for a cookie, retrying'; else echo 'parsed IKE_SA_INIT response 0 \[ N\(COOKIE\) \]'; fi
}
# charon's half-open SAs have no peer config yet: "(unnamed): #N, CONNECTING"
sw_half_open() { sw_list "$1" | grep -cE '^[^ ].*: #[0-9]+, CONNECTING'; }
gwb_half_open() { sw_half_open B; }
gwb_ike_created() { cblog | grep -c "$GA4 is initiating an IKE_SA"; }
n_lines() { grep -cE "$1"; }

# msgs PCAP FILTER: the distinct messages in capture order (a
# retransmission repeats the bytes and is left out), one a line:
# SPIi|SPIr|next payloads|notify types|notify data|UDP payload (hex).
msgs() {
	timeout 120 tshark -n -r "$1" -Y "$2" -T fields -E separator='|' -E occurrence=a -E aggregator=, \
		-e isakmp.ispi -e isakmp.rspi -e isakmp.nextpayload -e isakmp.notify.msgtype \
		-e isakmp.notify.data -e udp.payload 2>/dev/null | awk -F'|' '$6 != "" && !seen[$6]++'
}
f() { echo "$2" | cut -d'|' -f"$1"; } # f N MSG: field N of a msgs line
nmsgs() { msgs "$@" | wc -l; }

# check_cookie_exchange PCAP INITIATOR_ADDR RESPONDER_ADDR WHO: the
# initiator's IKE_SA_INIT (port 500 to 500) was answered with N(COOKIE)
# only, then retried with the cookie first, the same SPIi, the cookie it
# was given, the rest of the request unchanged, and answered in full.
check_cookie_exchange() {
	local p=$1 ia=$2 ra=$3 who=$4 rq rs m
	local RQ="isakmp.exchangetype == 34 && isakmp.flag_r == 0 && ip.src == $ia && udp.srcport == 500 && udp.dstport == 500"
	local RS="isakmp.exchangetype == 34 && isakmp.flag_r == 1 && ip.src == $ra && udp.srcport == 500 && udp.dstport == 500"
	info "$who's IKE_SA_INIT exchange (src, SPIi, SPIr, next payloads, notify types):"
	fields "$p" "$RQ || $RS" ip.src isakmp.ispi isakmp.rspi isakmp.nextpayload isakmp.notify.msgtype | sed 's/^/#   /'
	mapfile -t rq < <(msgs "$p" "$RQ")
	mapfile -t rs < <(msgs "$p" "$RS")
	check "$who: the first answer is N(COOKIE) only, SPIr zero ($(f 2 "${rs[0]:-}") $(f 3 "${rs[0]:-}") $(f 4 "${rs[0]:-}"))" \
		eval '[ "$(f 2 "${rs[0]:-}")" = 0000000000000000 ] && [ "$(f 3 "${rs[0]:-}")" = 41,0 ] && [ "$(f 4 "${rs[0]:-}")" = 16390 ]'
	check "$who: the second, and last, answer has SA, KE, Nr and no COOKIE (${#rs[@]} answers)" \
		eval '[ ${#rs[@]} = 2 ] && [[ "$(f 3 "${rs[1]}")" == 33,34,*,40,* ]] && [[ ",$(f 4 "${rs[1]}")," != *,16390,* ]]'
	check "$who: sends IKE_SA_INIT twice, without then with the COOKIE first ($(f 3 "${rq[0]:-}") / $(f 3 "${rq[1]:-}"))" \
		eval '[ ${#rq[@]} = 2 ] && [[ "$(f 3 "${rq[0]}")" == 33,34,* ]] && [[ "$(f 3 "${rq[1]}")" == 41,33,34,* ]]'
	check "$who: the retry keeps the SPIi ($(f 1 "${rq[0]:-}") $(f 1 "${rq[1]:-}"))" \
		eval '[ ${#rq[@]} = 2 ] && [ -n "$(f 1 "${rq[0]}")" ] && [ "$(f 1 "${rq[0]}")" = "$(f 1 "${rq[1]}")" ]'
	m=$(f 5 "${rs[0]:-}")
	check "$who: the retry carries the cookie it was given (${#m} hex digits)" \
		eval '[ -n "$m" ] && [ "$m" = "$(f 5 "${rq[1]:-}" | cut -d, -f1)" ]'
	check "$who: the retry's payloads after the COOKIE are the first request's, byte for byte" \
		same_rest "$(f 6 "${rq[0]:-}")" "$(f 6 "${rq[1]:-}")"
	check "$who: no other COOKIE notify between the gateways (1 in the answer, 1 in the retry)" \
		num_eq "$(nmsgs "$p" "isakmp.notify.msgtype == 16390 && udp.srcport == 500 && udp.dstport == 500")" 2
}
# same_rest HEX1 HEX2 (2.6): the second request is the first with a COOKIE
# notify put in front (header next payload 41, the notify's next payload
# the first's), the same header otherwise (length aside).
same_rest() {
	"$PY" - "$1" "$2" <<'PYEOF'
import sys
try:
    a, b = [bytes.fromhex(x.replace(":", "")) for x in sys.argv[1:3]]
except ValueError:
    sys.exit(1)
if len(a) < 28 or len(b) < 36:
    sys.exit(1)
clen = int.from_bytes(b[30:32], "big")   # the COOKIE notify payload length
sys.exit(0 if b[16] == 41 and b[28] == a[16] and a[:16] == b[:16] and a[17:24] == b[17:24]
         and a[28:] == b[28 + clen:] else 1)
PYEOF
}

iop_setup
check "gwB's strongswan.conf: dos_protection, cookie_threshold = $THRESH" \
	eval 'grep -qx "  cookie_threshold = $THRESH" "$RUNDIR/B/strongswan.conf" && grep -qx "  dos_protection = yes" "$RUNDIR/B/strongswan.conf"'
if [ "$GWA_IMPL" = esprit ]; then
	check "gwA's config: crypto ikev2 cookie-challenge $THRESH" grep -qx "crypto ikev2 cookie-challenge $THRESH" "$TMP/gwA.cfg"
	check "gwA: show crypto ikev2 stats says threshold $THRESH, 0 half-open, 0 cookies sent" \
		eval '[ "$(gstat "d[\"cookie_threshold\"], d[\"half_open\"], d[\"cookies_sent\"]")" = "$THRESH 0 0" ]'
fi

# ---- 1. control: cookies configured, no half-open SA -----------------------------
info "== 1. control: below the threshold, no cookie either way"
P=$TMP/c1.pcap
capture_start "$GB" wan0 "$P" 65535 "$IKEF" || bail "capture on gwB wan0"
up_by gwb
down_by gwb
up_by gwa
down_by gwa
capture_stop
n=$(nmsgs "$P" "isakmp.exchangetype == 34")
check "the capture holds both IKE_SA_INIT exchanges ($n distinct messages)" num_eq "$n" 4
check "no COOKIE notify on the wire" num_eq "$(count "$P" "isakmp.notify.msgtype == 16390")" 0
n=$(nmsgs "$P" "isakmp.exchangetype == 34 && isakmp.flag_r == 0 && ip.src == $GB4")
check "gwB sent one IKE_SA_INIT ($n)" num_eq "$n" 1
n=$(nmsgs "$P" "isakmp.exchangetype == 34 && isakmp.flag_r == 0 && ip.src == $GA4")
check "gwA sent one IKE_SA_INIT ($n)" num_eq "$n" 1
c=$(gwa_cookies_sent)
check "gwA sent no COOKIE ($c)" num_eq "$c" 0
check "gwB logged no COOKIE sent or received" not_grep -qE 'COOKIE' "$RUNDIR/B/charon.log"
check "gwA logged no cookie retry" eval '! galog | grep -qE "$(gwa_retry_re)"'

# ---- 2. gwA responder asks gwB for a cookie --------------------------------------
info "== 2. gwA ($GWA_IMPL) responder demands a cookie from strongSwan"
P=$TMP/c2.pcap
capture_start "$GB" wan0 "$P" 65535 "$IKEF" || bail "capture on gwB wan0"
r=$(fake "$GB" "$GB4" "$GA4" $THRESH)
check "$THRESH fake IKE_SA_INITs from gwB's address are answered in full ($r)" [ "$r" = "full full" ]
h=$(gwa_half_open)
check "gwA has $THRESH half-open SAs ($h)" num_eq "$h" $THRESH
c0=$(gwa_cookies_sent) L=$(cblog | wc -l)
up_by gwb
check_traffic 2000000
capture_stop
check_cookie_exchange "$P" "$GB4" "$GA4" "gwB (strongSwan) initiating"
c1=$(gwa_cookies_sent)
check "gwA sent one COOKIE ($c0 -> $c1)" eval 'num_eq "$c1" $((c0 + 1))'
[ "$GWA_IMPL" = esprit ] &&
	check "gwA logged the retry answered with half-open $((THRESH + 1))" \
		grep -qE "IKE_SA_INIT answered \(.*\), half-open $((THRESH + 1))\$" "${DAEMON_LOG[$GA]}"
[ "$GWA_IMPL" = esprit ] && cli "$GA" show crypto ikev2 stats 2>&1 | sed 's/^/#   gwA: /'
cblog_since "$L" | grep -E 'IKE_SA_INIT (request|response) 0|COOKIE' | sed 's/^/#   gwB: /'
check "gwB logged the N(COOKIE) response" \
	eval 'cblog_since "$L" | grep -q "parsed IKE_SA_INIT response 0 \[ N(COOKIE) \]" &&
		cblog_since "$L" | grep -q "received COOKIE notify"'
check "gwB logged its retry with the COOKIE first" \
	eval 'cblog_since "$L" | grep -q "generating IKE_SA_INIT request 0 \[ N(COOKIE) SA KE No "'
down_by gwb

# ---- 3. strongSwan responder asks gwA for a cookie -------------------------------
info "== 3. strongSwan responder demands a cookie from gwA ($GWA_IMPL)"
P=$TMP/c3.pcap
capture_start "$GB" wan0 "$P" 65535 "$IKEF" || bail "capture on gwB wan0"
s0=$(cblog | n_lines 'sending COOKIE notify') k0=$(gwb_ike_created) L=$(cblog | wc -l)
r=$(fake "$GA" "$GA4" "$GB4" $THRESH)
check "$THRESH fake IKE_SA_INITs from gwA's address are answered in full ($r)" [ "$r" = "full full" ]
h=$(gwb_half_open)
check "gwB lists $THRESH half-open (CONNECTING) IKE SAs ($h)" num_eq "$h" $THRESH
up_by gwa
check_traffic 2000000
capture_stop
check_cookie_exchange "$P" "$GA4" "$GB4" "gwA ($GWA_IMPL) initiating"
s1=$(cblog | n_lines 'sending COOKIE notify') k1=$(gwb_ike_created)
check "gwB logged one COOKIE sent to gwA ($s0 -> $s1)" eval 'num_eq "$s1" $((s0 + 1)) && cblog | grep -q "sending COOKIE notify to $GA4"'
check "gwB created IKE_SAs only for the fakes and gwA's retry ($k0 -> $k1)" eval 'num_eq "$k1" $((k0 + THRESH + 1))'
galog | grep -E "$(gwa_retry_re)" | sed 's/^/#   gwA: /'
check "gwA logged the cookie retry once" eval '[ "$(galog | n_lines "$(gwa_retry_re)")" = 1 ]'
cblog_since "$L" | grep -E 'COOKIE' | sed 's/^/#   gwB: /'
check "gwB parsed gwA's retry with the COOKIE first" \
	eval 'cblog_since "$L" | grep -q "parsed IKE_SA_INIT request 0 \[ N(COOKIE) SA KE No "'
down_by gwa
iop_teardown
info "$T_NAME: ${SECONDS} s"
finish
