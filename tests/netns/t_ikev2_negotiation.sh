#!/bin/bash
# IKEv2 negotiation outcomes between two esprit gateways (issue 3): what
# is chosen, what is refused, and that every refusal is logged with its
# cause. Each case writes its own pair of configurations into $TMP (from
# examples/ikev2-map-gw{A,B}.cfg: crypto map, PSK, IKE_SA_INIT started by
# a ping hostA -> hostB through gwA's acquire), starts fresh daemons and
# stops them at the end (clean exit, no sanitizer report, nothing left).
#
#   hostA (198.19.1.2) -- (198.19.1.1) gwA (198.18.0.1) ==WAN== (198.18.0.2) gwB (198.19.2.1) -- hostB (198.19.2.2)
#                                      2001:db8:ff::1 ==WAN== 2001:db8:ff::2   (case 3b: IKE and ESP over IPv6)
#
# gwA is always the initiator, gwB the responder.
#  1 proposals: two proposals with two or three transforms per type on
#    both sides, in opposite orders. The responder picks by ITS OWN order
#    (src/ikev2/proposal.c; RFC 7296 2.7 leaves the choice to the
#    responder): its first proposal that fits, and in it its first
#    transform of each type that the initiator offers (as strongSwan does
#    by default; not compared with IOS here). Exception: the DH group of
#    the initiator's KE wins when both allow it (no INVALID_KE_PAYLOAD
#    round trip). gwA offers GCM then CBC proposals, gwB prefers CBC:
#    both sides' `show crypto ikev2 sa` JSON say aes-cbc-256, integrity
#    and PRF sha512 (gwB's first), group 19 (gwA's KE, gwB lists 14 first);
#    the trace shows gwB answering with gwA's proposal #2.
#  2 INVALID_KE_PAYLOAD (RFC 7296 1.2): gwA offers groups 14 then 19 and
#    sends a group 14 KE, gwB accepts only 19: the capture shows two
#    IKE_SA_INIT requests (KE group 14, then 19) and a response with notify
#    17 carrying group 19; the SA is READY with DH 19.
#  3 identities (RFC 7296 3.5): a) gwA FQDN, gwB RFC822 (email) over IPv4;
#    b) over IPv6 (WAN 2001:db8:ff::/64, IPv6 ACL), gwA KEY_ID, gwB its
#    IPv6 address; each side has `match identity remote` for the other's.
#    SA READY, ping through the tunnel (IPv6 in b), the IKEv2 trace shows
#    the identities as sent, and `show crypto ikev2 sa [detail]` (JSON
#    local_id/remote_id, text "Local id:"/"Remote id:") shows them.
#  4 wrong PSK (with `debug crypto ikev2` on both sides): no SA; gwB logs
#    AUTHENTICATION_FAILED naming gwA's ID (ipv4:198.18.0.1), the method
#    and where the key came from ("keyring KR peer gwA"); gwA logs that the
#    peer refused its authentication and as which ID; no IKE or child SA;
#    neither PSK appears in any log. 4b: gwB requires fqdn:gwa.example.net
#    and gets ipv4:198.18.0.1: the log names both.
#  5 no common encryption (gwA aes-gcm-128, gwB aes-gcm-256): no SA; gwB's
#    NO_PROPOSAL_CHOSEN log lists the offered and the accepted proposals
#    transform by transform (both ciphers appear) and names the type that
#    has nothing in common ("no common encryption"); the capture shows
#    notify 14; gwA logs the refusal; no IKE SA on either side.
#  6 narrowing (RFC 7296 2.9): gwA proposes the ping's selectors first,
#    then 198.19.0.0/23 <-> 198.19.2.0/23,
#    gwB's ACL is 198.19.2.0/24 <-> 198.19.1.0/24: the child SA is narrowed
#    to gwB's selectors on both sides (`show crypto ipsec sa` JSON
#    local/remote ident) and hostA <-> hostB traffic flows. Then gwB's ACL
#    is disjoint (198.19.3.0/24): TS_UNACCEPTABLE (logged by both, with the
#    selectors on gwB), no child SA; the IKE SA stays up (2.21.2: a failed
#    first Child SA does not tear the IKE SA down) on both sides with 0
#    child SAs; more traffic makes gwA try again with CREATE_CHILD_SA over
#    the same IKE SA (10 s after the refusal), refused the same way.
#  7 several transform sets on the crypto map (`set transform-set GCM128
#    CBC`, IOS: up to six in order of preference): gwA offers one child
#    proposal per set (the IKE_AUTH trace shows ESP#1 aes-gcm-16-128 and
#    ESP#2 aes-cbc-256/hmac-sha256-128), gwB has only the CBC set: the child
#    SA is AES-CBC-256/SHA-256 on both sides, and gwA's `show crypto ipsec
#    sa` names the set that was chosen ("esp-aes 256 esp-sha256-hmac"), not
#    the first one; traffic flows.
. "$(dirname "$0")/lib.sh"
lib_init
need_daemon
command -v tshark >/dev/null || skip "needs tshark"
command -v dumpcap >/dev/null || skip "needs dumpcap"
topo_up

PSK=esprit-example-psk-not-secret

# ike_get NS PYEXPR: over s = the first IKE SA (or None) and d.
ike_get() {
	ike_json "$1" >"$TMP/ike.json" 2>/dev/null || { echo ERR; return 1; }
	"$PY" - "$TMP/ike.json" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
s = d["ike_sas"][0] if d.get("ike_sas") else None
print(eval(sys.argv[2]))
EOF
}
ike_ready() { [ "$(ike_get "$1" 's is not None and s["status"] == "READY"')" = True ]; }
ike_count() { ike_get "$1" 'len(d["ike_sas"])'; }
# child_get NS PYEXPR: over g = the first SA group of show crypto ipsec sa.
child_get() {
	cli "$1" --json show crypto ipsec sa >"$TMP/child.json" 2>/dev/null || { echo ERR; return 1; }
	"$PY" - "$TMP/child.json" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
sas = [g for g in d.get("sas", []) if g.get("inbound") or g.get("outbound")]
g = sas[0] if sas else None
print(eval(sys.argv[2]))
EOF
}
log_has() { grep -E -q -- "$2" "${DAEMON_LOG[$1]}"; }
# log_line NS ERE1 ERE2: some line matches both.
log_line() { grep -E -- "$2" "${DAEMON_LOG[$1]}" | grep -E -q -- "$3"; }

# ---- configurations -----------------------------------------------------------

# blk FILE HEADER TEXT: replace the block that starts at line HEADER (up to
# the next "!") by TEXT.
blk() {
	H=$2 T=$3 awk '$0 == ENVIRON["H"] { print ENVIRON["T"]; skip = 1; next }
		skip && /^!/ { skip = 0 } !skip' "$1" >"$1.new" && mv "$1.new" "$1"
}
# cfg NAME: fresh copies $TMP/NAME-gw{A,B}.cfg of the examples; the case
# then edits them ($CA, $CB).
cfg() {
	CA=$TMP/$1-gwA.cfg CB=$TMP/$1-gwB.cfg
	cp "$EX/ikev2-map-gwA.cfg" "$CA"
	cp "$EX/ikev2-map-gwB.cfg" "$CB"
}
start_pair() {
	# remove logs of an earlier case: each case reads only its own
	rm -f "$TMP/espritd-gA.log" "$TMP/espritd-gB.log"
	start_esprit "$GA" "$CA" || return 1
	start_esprit "$GB" "$CB" || return 1
}
stop_pair() {
	stop_esprit "$GA"
	stop_esprit "$GB"
}
kick() { nsx "$HA" ping -c 2 -i 0.5 -W 1 "${1:-$HB4}" >/dev/null 2>&1; }

# ---- 1: several transforms per type, responder's order --------------------------
info "case 1: proposal selection by the responder's local preference"
cfg prefs
blk "$CA" "crypto ikev2 proposal GCM" "crypto ikev2 proposal GCM
 encryption aes-gcm-128 aes-gcm-256
 prf sha256 sha384
 group 19 14
!
crypto ikev2 proposal CBC
 encryption aes-cbc-128 aes-cbc-256
 integrity sha256 sha384 sha512
 group 19 14"
blk "$CA" "crypto ikev2 policy POL" "crypto ikev2 policy POL
 proposal GCM
 proposal CBC
 match address local 198.18.0.1"
blk "$CB" "crypto ikev2 proposal GCM" "crypto ikev2 proposal GCM
 encryption aes-gcm-256 aes-gcm-128
 prf sha384 sha256
 group 14 19
!
crypto ikev2 proposal CBC
 encryption aes-cbc-256 aes-cbc-128
 integrity sha512 sha384 sha256
 group 14 19"
blk "$CB" "crypto ikev2 policy POL" "crypto ikev2 policy POL
 proposal CBC
 proposal GCM
 match address local 198.18.0.2"
if start_pair; then
	cli "$GA" debug crypto ikev2 >/dev/null
	kick
	check "case 1: IKE SA READY on gwA" wait_for 15 ike_ready "$GA"
	check "case 1: IKE SA READY on gwB" wait_for 5 ike_ready "$GB"
	for ns in "$GA" "$GB"; do
		got=$(ike_get "$ns" '"%s/%s/%s/%s/%s" % (s["encryption"], s["keysize"], s["integrity"], s["prf"], s["dh_group"]) if s else None')
		info "${ns##*-} chose $got"
		check "case 1: ${ns##*-}: gwB's first proposal (CBC), its first cipher (AES-CBC-256)" \
			eval '[ "$(ike_get "$ns" "s[\"encryption\"].lower().startswith(\"aes-cbc\") and s[\"keysize\"] == 256")" = True ]'
		check "case 1: ${ns##*-}: gwB's first integrity and PRF (SHA-512)" \
			eval '[ "$(ike_get "$ns" "\"512\" in s[\"integrity\"] and \"512\" in s[\"prf\"]")" = True ]'
		check "case 1: ${ns##*-}: DH 19, the initiator's KE (allowed by gwB, not its first)" \
			eval '[ "$(ike_get "$ns" "s[\"dh_group\"]")" = 19 ]'
	done
	check "case 1: gwA offered both proposals (GCM first)" \
		log_line "$GA" "IKE_SA_INIT request 0" "SA\(IKE#1 aes-gcm-16-128/aes-gcm-16-256/.* \| IKE#2 aes-cbc-128/aes-cbc-256/"
	check "case 1: gwB answered with its choice from gwA's proposal 2" \
		log_line "$GA" "IKE_SA_INIT response 0" "SA\(IKE#2 aes-cbc-256/prf-hmac-sha512/hmac-sha512-256/ecp256\)"
	check "case 1: one KE only (no INVALID_KE_PAYLOAD round trip)" \
		eval '[ "$(grep -c "IKE_SA_INIT request 0" "${DAEMON_LOG[$GA]}")" = 1 ]'
	check_ping "$HA" "$HB4"
fi
stop_pair

# ---- 2: INVALID_KE_PAYLOAD and the retry --------------------------------------
info "case 2: INVALID_KE_PAYLOAD, retry with the group the responder asks for"
cfg invke
sed -i 's/^ group 19$/ group 14 19/' "$CA"
if start_pair; then
	capture_start "$GA" wan0 "$TMP/invke.pcap" 65535 "udp port 500" || not_ok "case 2: capture"
	kick
	check "case 2: IKE SA READY on gwA" wait_for 20 ike_ready "$GA"
	check "case 2: IKE SA READY on gwB" wait_for 5 ike_ready "$GB"
	check "case 2: DH group 19 on gwA" eval '[ "$(ike_get "$GA" "s[\"dh_group\"]")" = 19 ]'
	check "case 2: DH group 19 on gwB" eval '[ "$(ike_get "$GB" "s[\"dh_group\"]")" = 19 ]'
	capture_stop
	f=$TMP/invke.pcap
	n14=$(tshark_count "$f" "isakmp.exchangetype == 34 && isakmp.flag_r == 0 && isakmp.key_exchange.dh_group == 14")
	n17=$(tshark_count "$f" "isakmp.exchangetype == 34 && isakmp.flag_r == 1 && isakmp.notify.msgtype == 17")
	g17=$(timeout 60 tshark -n -r "$f" -Y "isakmp.notify.msgtype == 17" -T fields -e isakmp.notify.data 2>/dev/null | head -n 1)
	n19=$(tshark_count "$f" "isakmp.exchangetype == 34 && isakmp.flag_r == 0 && isakmp.key_exchange.dh_group == 19")
	r19=$(tshark_count "$f" "isakmp.exchangetype == 34 && isakmp.flag_r == 1 && isakmp.key_exchange.dh_group == 19")
	check "case 2: first IKE_SA_INIT carries a group 14 KE ($n14)" num_eq "$n14" 1
	check "case 2: gwB answers INVALID_KE_PAYLOAD (notify 17) ($n17)" num_eq "$n17" 1
	check "case 2: the notify asks for group 19 (data $g17)" eval '[ "$g17" = 0013 ]'
	check "case 2: gwA retries with a group 19 KE ($n19) and gwB accepts it ($r19)" \
		eval 'num_eq "$n19" 1 && num_eq "$r19" 1'
	check "case 2: gwA logs the retry" log_has "$GA" "INVALID_KE_PAYLOAD: retrying with ecp256"
	check "case 2: gwB logs why (KE 14, wants 19)" log_has "$GB" "KE is 14, we want ecp256: INVALID_KE_PAYLOAD"
	check_ping "$HA" "$HB4"
fi
stop_pair

# ---- 3: identity types ------------------------------------------------------------
info "case 3a: FQDN and RFC822 identities"
cfg ids4
sed -i -e 's/^ identity local address 198.18.0.1$/ identity local fqdn gwa.example.net/' \
	-e 's/^ match identity remote address 198.18.0.2 255.255.255.255$/ match identity remote email gwb@example.net/' "$CA"
sed -i -e 's/^ identity local address 198.18.0.2$/ identity local email gwb@example.net/' \
	-e 's/^ match identity remote address 198.18.0.1 255.255.255.255$/ match identity remote fqdn gwa.example.net/' "$CB"
if start_pair; then
	cli "$GA" debug crypto ikev2 >/dev/null
	kick
	check "case 3a: IKE SA READY on gwA" wait_for 15 ike_ready "$GA"
	check "case 3a: IKE SA READY on gwB" wait_for 5 ike_ready "$GB"
	check "case 3a: gwA sent IDi FQDN gwa.example.net" log_has "$GA" "IKE_AUTH request 1 \[ IDi\(FQDN gwa.example.net\)"
	check "case 3a: gwB answered IDr RFC822 gwb@example.net" log_has "$GA" "IKE_AUTH response 1 \[ IDr\(EMAIL gwb@example.net\)"
	check "case 3a: gwB authenticated fqdn:gwa.example.net" log_has "$GB" "peer fqdn:gwa.example.net authenticated with pre-shared key"
	for ns in "$GA" "$GB"; do
		check "case 3a: ${ns##*-}: show crypto ikev2 sa JSON has both identities" \
			eval '[ "$(ike_get "$ns" "\" \".join(sorted([s[\"local_id\"], s[\"remote_id\"]]))")" = "email:gwb@example.net fqdn:gwa.example.net" ]'
	done
	cli "$GA" show crypto ikev2 sa detail >"$TMP/detail.txt"
	check "case 3a: show crypto ikev2 sa detail names them" \
		eval 'grep -q "Local id: fqdn:gwa.example.net" "$TMP/detail.txt" && grep -q "Remote id: email:gwb@example.net" "$TMP/detail.txt"'
	check_ping "$HA" "$HB4"
fi
stop_pair

info "case 3b: over IPv6, KEY_ID and IPv6 address identities"
cfg ids6
for f in "$CA" "$CB"; do
	blk "$f" "ip access-list extended VPN-TRAFFIC" "ipv6 access-list VPN6"
	sed -i -e 's/^ match address VPN-TRAFFIC$/ match address VPN6/' \
		-e 's/^ ip address 198\.18\.0\.\([12]\) 255.255.255.0$/ ipv6 address 2001:db8:ff::\1\/64/' \
		-e 's/^ match address local 198\.18\.0\.\([12]\)$/ match address local 2001:db8:ff::\1/' \
		-e 's/^  address 198\.18\.0\.\([12]\)$/  address 2001:db8:ff::\1\/128/' \
		-e 's/^  identity address 198\.18\.0\.\([12]\)$/  identity address 2001:db8:ff::\1/' \
		-e 's/^ set peer 198\.18\.0\.\([12]\)$/ set peer 2001:db8:ff::\1/' "$f"
done
sed -i -e 's/^ipv6 access-list VPN6$/&\n permit ipv6 2001:db8:1::\/64 2001:db8:2::\/64/' \
	-e 's/^ identity local address 198.18.0.1$/ identity local key-id gwa-key-17/' \
	-e 's/^ match identity remote address 198.18.0.2 255.255.255.255$/ match identity remote address 2001:db8:ff::2\/128/' "$CA"
sed -i -e 's/^ipv6 access-list VPN6$/&\n permit ipv6 2001:db8:2::\/64 2001:db8:1::\/64/' \
	-e '/^ identity local address 198.18.0.2$/d' \
	-e 's/^ match identity remote address 198.18.0.1 255.255.255.255$/ match identity remote key-id gwa-key-17/' "$CB"
if start_pair; then
	cli "$GA" debug crypto ikev2 >/dev/null
	nsx "$HA" ping -6 -c 2 -i 0.5 -W 1 "$HB6" >/dev/null 2>&1
	check "case 3b: IKE SA READY on gwA" wait_for 15 ike_ready "$GA"
	check "case 3b: IKE SA READY on gwB" wait_for 5 ike_ready "$GB"
	check "case 3b: IKE over IPv6 (gwA's peer $GB6)" eval '[ "$(ike_get "$GA" "s[\"remote\"]")" = "$GB6" ]'
	# "gwa-key-17" in hex
	check "case 3b: gwA sent IDi KEY_ID gwa-key-17" log_has "$GA" "IKE_AUTH request 1 \[ IDi\(KEY_ID 6777612d6b65792d3137\)"
	check "case 3b: gwB answered IDr IPv6 $GB6 (its address, the default)" \
		log_has "$GA" "IKE_AUTH response 1 \[ IDr\(IPV6 $GB6\)"
	check "case 3b: gwA authenticated ipv6:$GB6" log_has "$GA" "peer ipv6:$GB6 authenticated with pre-shared key"
	check "case 3b: gwB authenticated gwA's key-id" log_has "$GB" "peer key-id:gwa-key-17 authenticated with pre-shared key"
	check "case 3b: gwB's show crypto ikev2 sa JSON has both identities" \
		eval '[ "$(ike_get "$GB" "s[\"local_id\"] + \" \" + s[\"remote_id\"]")" = "ipv6:$GB6 key-id:gwa-key-17" ]'
	check_ping "$HA" "$HB6"
	check_ping "$HB" "$HA6"
fi
stop_pair

# ---- 4: wrong PSK; a wrong identity ---------------------------------------------
info "case 4: wrong pre-shared key"
cfg psk
BADPSK=esprit-wrong-psk-on-gwB-xyzzy
sed -i "s/^  pre-shared-key $PSK\$/  pre-shared-key $BADPSK/" "$CB"
check "case 4: gwB's config has the other key" grep -q "$BADPSK" "$CB"
if start_pair; then
	cli "$GA" debug crypto ikev2 >/dev/null
	cli "$GB" debug crypto ikev2 >/dev/null
	kick
	check "case 4: gwB logs AUTHENTICATION_FAILED" wait_for 15 log_has "$GB" "AUTHENTICATION_FAILED"
	check "case 4: gwB's log names gwA's ID, the method and the key's origin" \
		log_line "$GB" "AUTHENTICATION_FAILED: peer ipv4:198\.18\.0\.1, method pre-shared key" "keyring KR peer gwA"
	check "case 4: gwA logs that gwB refused its authentication" \
		wait_for 10 log_line "$GA" "AUTHENTICATION_FAILED" "refused our pre-shared key .*ipv4:198\.18\.0\.1"
	check "case 4: no IKE SA on gwA" wait_for 10 eval '[ "$(ike_count "$GA")" = 0 ]'
	check "case 4: no IKE SA on gwB" wait_for 5 eval '[ "$(ike_count "$GB")" = 0 ]'
	check "case 4: no child SA on gwB" eval '[ "$(child_get "$GB" "g")" = None ]'
	check "case 4: traffic does not pass" ping_fails "$HA" "$HB4"
fi
stop_pair
check "case 4: neither PSK in any log (debug on)" \
	eval '! grep -q -e "$PSK" -e "$BADPSK" "$TMP/espritd-gA.log" "$TMP/espritd-gB.log"'

info "case 4b: identity other than the one required"
cfg badid
sed -i 's/^ match identity remote address 198.18.0.1 255.255.255.255$/ match identity remote fqdn gwa.example.net/' "$CB"
if start_pair; then
	kick
	check "case 4b: gwB logs AUTHENTICATION_FAILED naming the ID it got and the one it wants" \
		wait_for 15 log_line "$GB" "AUTHENTICATION_FAILED" "ipv4:198\.18\.0\.1.*fqdn:gwa\.example\.net"
	check "case 4b: no IKE SA on gwA" wait_for 10 eval '[ "$(ike_count "$GA")" = 0 ]'
fi
stop_pair

# ---- 5: no common encryption --------------------------------------------------------
info "case 5: proposal mismatch (no common encryption)"
cfg noprop
sed -i 's/^ encryption aes-gcm-256$/ encryption aes-gcm-128/' "$CA"
if start_pair; then
	capture_start "$GB" wan0 "$TMP/noprop.pcap" 65535 "udp port 500" || not_ok "case 5: capture"
	kick
	check "case 5: gwB logs NO_PROPOSAL_CHOSEN" wait_for 15 log_has "$GB" "NO_PROPOSAL_CHOSEN"
	check "case 5: gwB's log lists the peer's proposal with aes-gcm-16-128" \
		log_line "$GB" "peer proposal 1 " "aes-gcm-16-128/prf-hmac-sha384/ecp256"
	check "case 5: gwB's log lists its own proposal with aes-gcm-16-256" \
		log_line "$GB" "local proposal 1 " "aes-gcm-16-256/prf-hmac-sha384/ecp256"
	check "case 5: gwB's log names the transform type without a match" \
		log_line "$GB" "peer proposal 1 " "no common encryption"
	check "case 5: gwA logs the refusal" wait_for 10 log_has "$GA" "notify 14 \(NO_PROPOSAL_CHOSEN\)"
	f="isakmp.exchangetype == 34 && isakmp.flag_r == 1 && isakmp.notify.msgtype == 14"
	# gwA has the answer, so it left gwB: give dumpcap the time to write it
	# (it once missed it under the load of the parallel tier)
	wait_for 5 capture_has "$TMP/noprop.pcap" "$f" || true
	capture_stop
	n=$(tshark_count "$TMP/noprop.pcap" "$f")
	check "case 5: the capture has gwB's NO_PROPOSAL_CHOSEN ($n)" num_ge "$n" 1
	check "case 5: no IKE SA on gwA" wait_for 10 eval '[ "$(ike_count "$GA")" = 0 ]'
	check "case 5: no IKE SA on gwB" eval '[ "$(ike_count "$GB")" = 0 ]'
fi
stop_pair

# ---- 6: narrowing, then disjoint selectors ----------------------------------------------
info "case 6a: the responder narrows, the initiator accepts"
cfg narrow
sed -i 's/^ permit ip 198.19.1.0 0.0.0.255 198.19.2.0 0.0.0.255$/ permit ip 198.19.0.0 0.0.1.255 198.19.2.0 0.0.1.255/' "$CA"
check "case 6a: gwA proposes the wider selectors" grep -q "198.19.0.0 0.0.1.255 198.19.2.0 0.0.1.255" "$CA"
if start_pair; then
	cli "$GA" debug crypto ikev2 >/dev/null
	kick
	check "case 6a: IKE SA READY on gwA" wait_for 15 ike_ready "$GA"
	check "case 6a: gwA proposed the ping's selectors, then 198.19.0.0/23 <-> 198.19.2.0/23" \
		log_has "$GA" "IKE_AUTH request 1 .*TSi\(198\.19\.1\.2-198\.19\.1\.2 proto 1, 198\.19\.0\.0-198\.19\.1\.255\) TSr\(198\.19\.2\.2-198\.19\.2\.2 proto 1, 198\.19\.2\.0-198\.19\.3\.255\)"
	check "case 6a: gwB narrowed to 198.19.1.0/24 <-> 198.19.2.0/24" \
		log_has "$GA" "IKE_AUTH response 1 .*TSi\(198\.19\.1\.0-198\.19\.1\.255\) TSr\(198\.19\.2\.0-198\.19\.2\.255\)"
	check "case 6a: gwA's child SA is the narrowed one" \
		wait_for 5 eval '[ "$(child_get "$GA" "g[\"local_ident\"] + \" \" + g[\"remote_ident\"]")" = "198.19.1.0/24 198.19.2.0/24" ]'
	check "case 6a: gwB's child SA has its own selectors" \
		eval '[ "$(child_get "$GB" "g[\"local_ident\"] + \" \" + g[\"remote_ident\"]")" = "198.19.2.0/24 198.19.1.0/24" ]'
	check_ping "$HA" "$HB4"
	check_ping "$HB" "$HA4"
	check_transfer "$HA" "$HB" "$HB4" 2000000
fi
stop_pair

info "case 6b: disjoint selectors: TS_UNACCEPTABLE"
cfg disjoint
sed -i 's/^ permit ip 198.19.2.0 0.0.0.255 198.19.1.0 0.0.0.255$/ permit ip 198.19.3.0 0.0.0.255 198.19.1.0 0.0.0.255/' "$CB"
check "case 6b: gwB's ACL is 198.19.3.0/24 <-> 198.19.1.0/24" grep -q "198.19.3.0 0.0.0.255 198.19.1.0" "$CB"
if start_pair; then
	kick
	check "case 6b: gwB logs TS_UNACCEPTABLE" wait_for 15 log_has "$GB" "TS_UNACCEPTABLE"
	check "case 6b: gwB's log lists the peer's selectors" \
		log_has "$GB" "peer proposed TSi 198\.19\.1\.2/32 proto 1, 198\.19\.1\.0/24; TSr 198\.19\.2\.2/32 proto 1, 198\.19\.2\.0/24\$"
	check "case 6b: gwB's log lists its own selectors" \
		log_has "$GB" "our selectors \(local -> remote\): 198\.19\.3\.0/24 -> 198\.19\.1\.0/24\$"
	check "case 6b: gwA logs the refusal" wait_for 10 log_has "$GA" "Child SA refused by peer: TS_UNACCEPTABLE"
	check "case 6b: gwA's IKE SA stays READY" ike_ready "$GA"
	check "case 6b: gwB's IKE SA stays READY" ike_ready "$GB"
	check "case 6b: with no child SA (gwA)" eval '[ "$(ike_get "$GA" "s[\"child_sas\"]")" = 0 ]'
	check "case 6b: with no child SA (gwB)" eval '[ "$(ike_get "$GB" "s[\"child_sas\"]")" = 0 ]'
	check "case 6b: no IPsec SA installed on gwA" eval '[ "$(child_get "$GA" "g")" = None ]'
	check "case 6b: traffic does not pass" ping_fails "$HA" "$HB4"
	# more traffic: a new acquire tries the Child SA again, with
	# CREATE_CHILD_SA over the same IKE SA, once 10 s have passed since
	# the refusal (not at every acquire), and is refused again
	check "case 6b: the next acquire retries over the same IKE SA and is refused again" \
		wait_for 25 eval 'kick; [ "$(grep -c "Child SA refused by peer: TS_UNACCEPTABLE" "${DAEMON_LOG[$GA]}")" -ge 2 ]'
	check "case 6b: gwA still has one IKE SA, READY" eval '[ "$(ike_count "$GA")" = 1 ] && ike_ready "$GA"'
fi
stop_pair

# ---- 7: several transform sets ------------------------------------------------------
info "case 7: two transform sets on gwA's crypto map, gwB accepts only the second"
cfg twosets
blk "$CA" "crypto ipsec transform-set TS esp-gcm 256" "crypto ipsec transform-set GCM128 esp-gcm 128
 mode tunnel
!
crypto ipsec transform-set CBC esp-aes 256 esp-sha256-hmac
 mode tunnel"
sed -i 's/^ set transform-set TS$/ set transform-set GCM128 CBC/' "$CA"
blk "$CB" "crypto ipsec transform-set TS esp-gcm 256" "crypto ipsec transform-set CBC esp-aes 256 esp-sha256-hmac
 mode tunnel"
sed -i 's/^ set transform-set TS$/ set transform-set CBC/' "$CB"
check "case 7: gwA's crypto map lists GCM128 then CBC" grep -q "^ set transform-set GCM128 CBC$" "$CA"
if start_pair; then
	cli "$GA" debug crypto ikev2 >/dev/null
	kick
	check "case 7: IKE SA READY on gwA" wait_for 15 ike_ready "$GA"
	check "case 7: gwA offered one child proposal per set, in order" \
		log_has "$GA" "IKE_AUTH request 1 .*SA\(ESP#1 spi [0-9a-f]+ aes-gcm-16-128/[a-z/-]* \| ESP#2 spi [0-9a-f]+ aes-cbc-256/hmac-sha256-128/"
	check "case 7: gwB chose the CBC proposal (ESP#2)" \
		log_has "$GA" "IKE_AUTH response 1 .*SA\(ESP#2 spi [0-9a-f]+ aes-cbc-256/hmac-sha256-128"
	for ns in "$GA" "$GB"; do
		check "case 7: ${ns##*-}: the child SA is AES-CBC-256 with HMAC-SHA-256" \
			wait_for 5 eval '[ "$(child_get "$ns" "(g[\"outbound\"][0][\"encryption\"], g[\"outbound\"][0][\"key_bits\"], g[\"outbound\"][0][\"integrity\"])")" = "('"'aes-cbc', 256, 'hmac-sha256-128'"')" ]'
	done
	check "case 7: gwA's show names the chosen set's transforms" \
		eval 'cli "$GA" show crypto ipsec sa | grep -q "transform: esp-aes 256 esp-sha256-hmac"'
	check_ping "$HA" "$HB4"
	check_ping "$HB" "$HA4"
fi
stop_pair

finish
