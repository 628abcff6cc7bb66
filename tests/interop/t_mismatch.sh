#!/bin/bash
# Misconfiguration against strongSwan: how esprit fails and what it tells
# the operator. esprit on gwA keeps one configuration (IKE AES-GCM-16-256 /
# PRF-SHA256 / ECP-256, ESP aes-gcm-256 + PFS 19, ACL 198.19.1.0/24 <->
# 198.19.2.0/24, PSK); strongSwan on gwB is loaded (swanctl --load-all)
# with one wrong setting per case, and each case is run with strongSwan
# initiating (swanctl --initiate, must fail) and with esprit initiating
# (acquire from a ping of hostA):
#  1. no common IKE proposal (strongSwan aes128-sha256-modp3072, and in 1c
#     aes256gcm16-prfsha256-modp3072: only the DH group differs): the
#     responder answers IKE_SA_INIT with NO_PROPOSAL_CHOSEN (notify 14);
#     esprit as responder logs both sides' proposals transform by
#     transform and names the type without a match ("no common encryption",
#     "no common DH group"); as initiator it logs the peer's refusal and
#     what it offered; no IKE SA on either side.
#  2. no common ESP proposal (strongSwan esp aes128-sha256): IKE_AUTH
#     response with NO_PROPOSAL_CHOSEN; the IKE SA stays up on both sides
#     (RFC 7296 2.21.2) with no Child SA; esprit's log names the refusal
#     and, as responder, both sides' child proposals.
#  3. wrong PSK on strongSwan's side (with `debug crypto ikev2` on):
#     AUTHENTICATION_FAILED (notify 24); esprit says the peer's AUTH did not
#     verify (responder) or that the peer refused ours (initiator), both
#     hinting at the key; no SA; neither key appears in esprit's log.
#  4. strongSwan's remote_ts 198.19.5.0/24, outside esprit's ACL:
#     TS_UNACCEPTABLE (notify 38); the IKE SA stays, no Child SA; esprit's
#     log says TS_UNACCEPTABLE and names the selectors (the peer's and its
#     own as responder, the ones it proposed as initiator).
#  5. strongSwan's configuration corrected and reloaded: the tunnel comes
#     up with each side initiating and traffic passes; espritd exits 0
#     without a sanitizer report.
# Each refusal is also checked on the wire: a capture of IKE on gwA's WAN,
# decrypted by tshark with the IKE keys from charon's log (ike level 4),
# must carry the notify in the right response, and charon's log must show
# its side of the story.
# The initiator checks of 1b, 2b and 4b (esprit lists the proposals it
# offered, the selectors it proposed) found that esprit as initiator
# logged only the notify name (bf7b91f added the rest).
. "$(dirname "$0")/lib.sh"
iop_init
command -v tshark >/dev/null || skip "needs tshark"
command -v dumpcap >/dev/null || skip "needs dumpcap"
prop_set gcm

# charon logs the IKE keys at ike level 4 (for tshark).
eval "$(declare -f swan_write_conf | sed '1s/^swan_write_conf/iop_swan_write_conf/')"
swan_write_conf() {
	iop_swan_write_conf "$@"
	sed -i 's/^      ike = 2$/      ike = 4/' "$RUNDIR/$1/strongswan.conf"
}

iop_setup
ELOG=${DAEMON_LOG[$GA]}
SLOG=$RUNDIR/B/charon.log
GOOD_PSK=$PSK
BAD_PSK=strongswan-side-wrong-psk-4711
WS=$TMP/wireshark
mkdir -p "$WS"

# ---- helpers ---------------------------------------------------------------------

# gwb_conf NAME VAR=VALUE...: swanctl.conf for gwB with the changes
# (SW_IKE, SW_ESP, PSK, LTS, RTS), loaded with swanctl --load-all.
gwb_conf() {
	local name=$1 f=$RUNDIR/B/swanctl-$1.conf
	shift
	(
		LTS=$(ts_b) RTS=$(ts_a)
		for kv in "$@"; do export "$kv"; done
		swan_write_swanctl B "$GB4" "$GA4" "$LTS" "$RTS" "$GB4" "$GA4"
	)
	mv "$RUNDIR/B/swanctl.conf" "$f"
	check "$name: gwB loads its configuration" sw B --load-all --file "$f"
}

# begin NAME: logs from here on, a fresh IKE capture on gwA's WAN.
begin() {
	CASE=$1
	ES_FROM=$(($(wc -l <"$ELOG") + 1))
	SW_FROM=$(($(wc -l <"$SLOG") + 1))
	PCAP=$TMP/$1.pcap
	capture_start "$GA" wan0 "$PCAP" 65535 "udp port 500 or (udp port 4500 and udp[8:4] = 0)" ||
		not_ok "$1: capture on gwA's WAN"
}
es_log() { tail -n +"$ES_FROM" "$ELOG"; }
sw_log() { tail -n +"$SW_FROM" "$SLOG"; }
es_has() { es_log | grep -E -q -- "$1"; }
sw_has() { sw_log | grep -E -q -- "$1"; }
# es_line ERE1 ERE2: one line of esprit's log (this case) matches both.
es_line() { es_log | grep -E -- "$1" | grep -E -q -- "$2"; }

# IKE keys of every IKE SA charon made (its log at ike level 4: SPIs from
# the NAT-D input, Sk_e*/Sk_a* dumps) as tshark's ikev2_decryption_table.
ike_keys() {
	"$PY" - "$SLOG" >"$WS/ikev2_decryption_table" <<'EOF'
import re, sys
names = {"aes256gcm16": "AES-GCM-256 with 16 octet ICV [RFC5282]"}
head = re.compile(r'^\S+ \S+\[IKE\] <([^>]+)> (natd_chunk|Sk_ei secret|Sk_er secret) => \d+ bytes')
dump = re.compile(r'^\S+ \S+\[IKE\] <([^>]+)>\s+\d+: ((?:[0-9A-F]{2} )+)')
anyl = re.compile(r'^\S+ \S+\[\w+\] <([^>]+)> ')
cur, reading = {}, {}
for line in open(sys.argv[1], errors="replace"):
    m = head.match(line)
    if m:
        cur.setdefault(m.group(1), {})[m.group(2)] = ""
        reading[m.group(1)] = m.group(2)
        continue
    m = dump.match(line)
    if m and m.group(1) in reading:
        cur[m.group(1)][reading[m.group(1)]] += m.group(2).replace(" ", "").lower()
        continue
    m = anyl.match(line)
    if not m or m.group(1) not in reading:
        continue
    tag = m.group(1)
    what = reading.pop(tag)
    d = cur[tag]
    c = d.get("natd_chunk", "")
    if what == "natd_chunk" and len(c) >= 32 and c[16:32] != "0" * 16:
        d["spis"] = c[:32]
    if what == "Sk_er secret" and "spis" in d:
        print('%s,%s,%s,%s,"%s",,,"NONE [RFC4306]"' % (d["spis"][:16], d["spis"][16:],
              d["Sk_ei secret"], d["Sk_er secret"], names["aes256gcm16"]))
        cur[tag] = {"spis": d["spis"]}
EOF
}

# end: stop the capture, keys for tshark.
end() {
	capture_stop
	ike_keys
	info "$CASE: $(wc -l <"$WS/ikev2_decryption_table") IKE key sets for tshark"
}

# wire FILTER: packets of this case's capture matching FILTER (decrypted).
wire() {
	WIRESHARK_CONFIG_DIR=$WS timeout 60 tshark -n -r "$PCAP" -Y "$1" 2>/dev/null | wc -l
}

# check_notify EXCH FROM TYPE NAME: the capture has a response of exchange
# EXCH (34 IKE_SA_INIT, 35 IKE_AUTH) from FROM carrying notify TYPE.
check_notify() {
	local n
	n=$(wire "isakmp.exchangetype == $1 && isakmp.flag_r == 1 && ip.src == $2 && isakmp.notify.msgtype == $3")
	check "$CASE: on the wire: $([ "$1" = 34 ] && echo IKE_SA_INIT || echo IKE_AUTH) response from $2 with $4 ($3) ($n)" \
		num_ge "$n" 1
}

es_ike_count() { cli "$GA" --json show crypto ikev2 sa 2>/dev/null | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["ike_sas"]))'; }
# es_ike_ready0: one IKE SA, READY, with no Child SA.
es_ike_ready0() {
	[ "$(cli "$GA" --json show crypto ikev2 sa 2>/dev/null | "$PY" -c '
import json, sys
s = json.load(sys.stdin)["ike_sas"]
print(len(s) == 1 and s[0]["status"] == "READY" and int(s[0]["child_sas"]) == 0)')" = True ]
}
es_no_ike() { [ "$(es_ike_count)" = 0 ]; }

# gwA initiates: a ping of hostA matching the ACL (it fails: no tunnel).
kick() { nsx "$HA" timeout 5 ping -n -c 2 -i 0.5 -W 1 "$HB4" >/dev/null 2>&1; return 0; }

# reset: no SA on either side before the next case.
reset() {
	sw B --terminate --ike lab --timeout 10 || true
	cli "$GA" clear crypto ikev2 sa >>"$TMP/cli.out" 2>&1
	wait_for 10 eval 'es_no_ike && sw_no_sa B' || not_ok "SAs left over after $CASE"
}

# no_sa_both: neither side has an IKE SA nor a Child SA.
check_no_sa() {
	check "$CASE: no IKE SA on gwA (esprit)" wait_for 10 es_no_ike
	check "$CASE: no SA on gwB (strongSwan)" wait_for 10 sw_no_sa B
	check "$CASE: no Child SA installed on gwA" esprit_no_sa
}

# IKE SA up on both sides, no Child SA.
check_ike_only() {
	check "$CASE: gwA's IKE SA stays READY with 0 Child SAs (RFC 7296 2.21.2)" wait_for 5 es_ike_ready0
	check "$CASE: gwB's IKE SA stays ESTABLISHED" sw_ike_up B
	check "$CASE: gwB has no Child SA" eval '! sw_child_up B'
	check "$CASE: no Child SA installed on gwA" esprit_no_sa
	check "$CASE: traffic does not pass" ping_fails "$HA" "$HB4"
}

# ---- 1: no common IKE proposal --------------------------------------------------------
info "== 1a. no common IKE proposal, strongSwan initiates (aes128-sha256-modp3072)"
gwb_conf "1a" SW_IKE=aes128-sha256-modp3072
begin 1a
check "1a: swanctl --initiate fails" eval '! gwb_initiate'
check "1a: esprit logs NO_PROPOSAL_CHOSEN" wait_for 5 es_has "NO_PROPOSAL_CHOSEN: peer offered 1 proposals, we accept 1"
check "1a: esprit lists strongSwan's proposal (aes-cbc-128, sha256, modp3072)" \
	es_line "peer proposal 1 \(proto 1\): " "aes-cbc-128/.*sha256.*modp3072|aes-cbc-128/.*modp3072.*sha256"
check "1a: esprit lists its own proposal (aes-gcm-16-256, prf sha256, ecp256)" \
	es_line "local proposal 1 \(proto 1\): " "aes-gcm-16-256/prf-hmac-sha256/ecp256"
check "1a: esprit names the transform type without a match" \
	es_line "peer proposal 1 vs local proposal 1: " "no common encryption"
check "1a: charon logs the NO_PROPOSAL_CHOSEN it got" sw_has "received NO_PROPOSAL_CHOSEN notify error"
end
check_notify 34 "$GA4" 14 NO_PROPOSAL_CHOSEN
check "1a: no IKE_AUTH on the wire" num_eq "$(wire "isakmp.exchangetype == 35")" 0
check_no_sa
reset

info "== 1b. no common IKE proposal, esprit initiates"
begin 1b
kick
check "1b: esprit logs strongSwan's refusal" \
	wait_for 10 es_has "IKE_SA_INIT refused by peer: notify 14 \(NO_PROPOSAL_CHOSEN\)"
# esprit never sees the responder's proposals: it must at least list its own
check "1b: esprit's log lists the IKE proposal it offered (aes-gcm-16-256/prf-hmac-sha256/ecp256)" \
	eval 'es_line "local proposal 1 \(proto 1\): " "aes-gcm-16-256/prf-hmac-sha256/ecp256" && ! es_has "peer offered"'
check "1b: charon logs both sides' proposals" \
	eval 'sw_has "received proposals: IKE:AES_GCM_16_256/PRF_HMAC_SHA2_256/ECP_256" &&
		sw_has "configured proposals: IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_3072"'
end
check_notify 34 "$GB4" 14 NO_PROPOSAL_CHOSEN
check_no_sa
reset

info "== 1c. only the DH group differs (strongSwan modp3072), strongSwan initiates"
gwb_conf "1c" SW_IKE=aes256gcm16-prfsha256-modp3072
begin 1c
check "1c: swanctl --initiate fails" eval '! gwb_initiate'
check "1c: esprit names the DH group as the type without a match" \
	wait_for 5 es_line "peer proposal 1 vs local proposal 1: " "no common DH group"
check "1c: and not the encryption" eval '! es_has "no common encryption"'
end
check_notify 34 "$GA4" 14 NO_PROPOSAL_CHOSEN
check_no_sa
reset

# ---- 2: no common ESP proposal --------------------------------------------------------
info "== 2a. no common ESP proposal, strongSwan initiates (esp aes128-sha256)"
gwb_conf "2a" SW_ESP=aes128-sha256-ecp256
begin 2a
check "2a: swanctl --initiate fails (no Child SA)" eval '! gwb_initiate'
check "2a: esprit logs NO_PROPOSAL_CHOSEN for the child" wait_for 5 es_has "NO_PROPOSAL_CHOSEN: peer offered 1 proposals, we accept 1"
check "2a: esprit lists strongSwan's ESP proposal (aes-cbc-128, hmac-sha256-128)" \
	es_line "peer proposal 1 \(proto 3\): " "aes-cbc-128/hmac-sha256-128"
check "2a: esprit lists its own ESP proposal (aes-gcm-16-256)" \
	es_line "local proposal 1 \(proto 3\): " "aes-gcm-16-256"
check "2a: esprit names the transform type without a match" \
	es_line "peer proposal 1 vs local proposal 1: " "no common encryption"
check "2a: charon logs the refusal and keeps the IKE SA" \
	eval 'sw_has "received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built" && sw_has "failed to establish CHILD_SA, keeping IKE_SA"'
end
check_notify 35 "$GA4" 14 NO_PROPOSAL_CHOSEN
n=$(wire "isakmp.exchangetype == 35 && isakmp.flag_r == 1 && ip.src == $GA4 && isakmp.auth.method == 2")
check "2a: on the wire: that IKE_AUTH response carries gwA's AUTH (the IKE SA is made) ($n)" num_ge "$n" 1
check_ike_only
reset

info "== 2b. no common ESP proposal, esprit initiates"
begin 2b
kick
check "2b: esprit logs strongSwan's refusal of the child" \
	wait_for 10 es_has "Child SA refused by peer: NO_PROPOSAL_CHOSEN"
check "2b: esprit's log lists the ESP proposal it offered (aes-gcm-16-256)" \
	eval 'es_line "local proposal 1 \(proto 3\): " "aes-gcm-16-256" && ! es_has "peer offered"'
check "2b: charon logs both sides' ESP proposals" \
	eval 'sw_has "received proposals: ESP:AES_GCM_16_256" && sw_has "configured proposals: ESP:AES_CBC_128/HMAC_SHA2_256_128"'
end
check_notify 35 "$GB4" 14 NO_PROPOSAL_CHOSEN
check_ike_only
reset

# ---- 3: wrong PSK ---------------------------------------------------------------------
info "== 3a. wrong PSK on strongSwan's side, strongSwan initiates (debug crypto ikev2 on)"
cli "$GA" debug crypto ikev2 >>"$TMP/cli.out" 2>&1
gwb_conf "3a" PSK=$BAD_PSK
check "3a: gwB's file has the other key" grep -q "$BAD_PSK" "$RUNDIR/B/swanctl-3a.conf"
begin 3a
check "3a: swanctl --initiate fails" eval '! gwb_initiate'
check "3a: esprit says strongSwan's AUTH does not verify, naming the peer and the key's origin" \
	wait_for 5 es_line "AUTHENTICATION_FAILED: peer ipv4:198\.18\.0\.2, method pre-shared key" \
	"AUTH does not verify with the key of keyring KR peer gwB"
check "3a: and hints at the keys" es_line "AUTHENTICATION_FAILED" "different keys"
check "3a: charon logs the AUTHENTICATION_FAILED it got" sw_has "received AUTHENTICATION_FAILED notify error"
end
check_notify 35 "$GA4" 24 AUTHENTICATION_FAILED
check_no_sa
reset

info "== 3b. wrong PSK, esprit initiates"
begin 3b
kick
check "3b: esprit says strongSwan refused its PSK authentication (as ipv4:198.18.0.1)" \
	wait_for 10 es_line "AUTHENTICATION_FAILED" "refused our pre-shared key authentication as ipv4:198\.18\.0\.1"
check "3b: and hints at the key" es_line "AUTHENTICATION_FAILED" "wrong key"
check "3b: charon logs the MAC mismatch" sw_has "but MAC mismatched"
end
check_notify 35 "$GB4" 24 AUTHENTICATION_FAILED
check_no_sa
check "3: neither key appears in esprit's log (debug on)" \
	eval '! grep -F -q -e "$GOOD_PSK" -e "$BAD_PSK" "$ELOG"'
cli "$GA" undebug all >>"$TMP/cli.out" 2>&1
reset

# ---- 4: traffic selectors ---------------------------------------------------------------
info "== 4a. strongSwan's remote_ts 198.19.5.0/24 (outside esprit's ACL), strongSwan initiates"
gwb_conf "4a" RTS=198.19.5.0/24
begin 4a
check "4a: swanctl --initiate fails (no Child SA)" eval '! gwb_initiate'
check "4a: esprit logs TS_UNACCEPTABLE" wait_for 5 es_has "TS_UNACCEPTABLE: the peer's selectors do not intersect ours"
check "4a: esprit names strongSwan's selectors" \
	es_has "peer proposed TSi 198\.19\.2\.0/24; TSr 198\.19\.5\.0/24\$"
check "4a: esprit names its own selectors" \
	es_has "our selectors \(local -> remote\): 198\.19\.1\.0/24 -> 198\.19\.2\.0/24\$"
check "4a: charon logs the TS_UNACCEPTABLE it got" sw_has "received TS_UNACCEPTABLE notify, no CHILD_SA built"
end
check_notify 35 "$GA4" 38 TS_UNACCEPTABLE
check_ike_only
reset

info "== 4b. the same, esprit initiates"
begin 4b
kick
check "4b: esprit logs strongSwan's refusal" wait_for 10 es_has "Child SA refused by peer: TS_UNACCEPTABLE"
check "4b: esprit's log names the selectors it proposed (198.19.1.0/24 -> 198.19.2.0/24)" \
	eval 'es_line "propos|selector" "198\.19\.1\.0/24 -> 198\.19\.2\.0/24" && ! es_has "peer proposed TSi"'
# esprit's ping started it: its selectors come first (RFC 7296 2.9)
check "4b: charon logs the selectors it could not accept (the ping's, then the ACL's)" \
	sw_has "traffic selectors 198\.19\.2\.2/32\[icmp\] 198\.19\.2\.0/24 === 198\.19\.1\.2/32\[icmp\] 198\.19\.1\.0/24 unacceptable"
end
check_notify 35 "$GB4" 38 TS_UNACCEPTABLE
check_ike_only
reset

# ---- 5: corrected configuration ---------------------------------------------------------
info "== 5. strongSwan's configuration corrected: the tunnel comes up"
gwb_conf "5" SW_IKE=$SW_IKE
up_by gwb
check_ping "$HA" "$HB4"
check_ping "$HB" "$HA4"
down_by gwb
up_by gwa
check_ping "$HB" "$HA4"
down_by gwa
stop_esprit "$GA"
finish
