#!/bin/bash
# Independent check of the wire format: capture on the WAN veth while
# traffic crosses manually keyed ESP tunnels, then have tshark decrypt the
# capture with the SA keys from the example configurations and show the
# inner packets. Run for AES-CBC + HMAC-SHA-256 and for AES-GCM-256.
#
#   hostA (198.19.1.2) -- gwA (198.18.0.1) ==WAN, captured== (198.18.0.2) gwB -- hostB (198.19.2.2)
. "$(dirname "$0")/lib.sh"
lib_init
need_daemon
command -v tshark >/dev/null || skip "no tshark"

# uat:esp_sa entries for both SAs of gwA's config: outbound (gwA -> gwB)
# and inbound (gwB -> gwA). tshark wants GCM keys with their salt.
esp_sa_uat() { # CFG ENCR_NAME AUTH_NAME
	"$PY" - "$@" <<'PYEOF'
import re, sys
cfg, encr, auth = sys.argv[1:4]
text = open(cfg).read()
out = []
for d, spi, ck, ak in re.findall(r"set session-key (inbound|outbound) esp (\d+) cipher ([0-9a-fA-F]+)(?: authenticator ([0-9a-fA-F]+))?", text):
    src, dst = ("198.18.0.1", "198.18.0.2") if d == "outbound" else ("198.18.0.2", "198.18.0.1")
    a = "0x" + ak if ak else ""
    out.append('"IPv4","%s","%s","0x%08x","%s","0x%s","%s","%s"' % (src, dst, int(spi), encr, ck, auth, a))
print("\n".join(out))
PYEOF
}

decrypt_check() { # NAME ENCR_NAME AUTH_NAME
	local name=$1 cfg=$EX/manual-$1-gwA.cfg uat n bad
	topo_up
	start_esprit "$GA" "$cfg" || return
	start_esprit "$GB" "$EX/manual-$name-gwB.cfg" || return
	capture_start "$GA" wan0 "$TMP/$name.pcap" 2000 || bail "dumpcap on gwA wan0"
	check_ping "$HA" "$HB4"
	check_transfer "$HA" "$HB" "$HB4" 300000
	capture_stop
	uat=$(esp_sa_uat "$cfg" "$2" "$3")
	local opts=(-o esp.enable_encryption_decode:TRUE -o esp.enable_authentication_check:TRUE)
	while IFS= read -r line; do opts+=(-o "uat:esp_sa:$line"); done <<<"$uat"
	n=$(tshark_count "$TMP/$name.pcap" "esp && icmp && ip.src == $HA4 && ip.dst == $HB4" "${opts[@]}")
	check "$name: tshark decrypts the ESP and finds hostA's ICMP inside ($n packets)" num_ge "$n" 4
	n=$(tshark_count "$TMP/$name.pcap" "esp && icmp && ip.src == $HB4 && ip.dst == $HA4" "${opts[@]}")
	check "$name: and hostB's replies ($n packets)" num_ge "$n" 4
	n=$(tshark_count "$TMP/$name.pcap" "esp && tcp && ip.dst == $HB4" "${opts[@]}")
	check "$name: and the inner TCP transfer ($n packets)" num_gt "$n" 50
	bad=$(timeout 120 tshark -n -r "$TMP/$name.pcap" "${opts[@]}" -V 2>/dev/null | grep -c "Authentication checking: Bad\|\[Bad\]")
	check "$name: no ICV that tshark finds bad ($bad)" num_eq "$bad" 0
	# Without the keys the payload stays opaque: the check can fail.
	n=$(tshark_count "$TMP/$name.pcap" "esp && icmp")
	check "$name: without keys tshark sees no inner ICMP ($n)" num_eq "$n" 0
	cleanup
	TMP=$(mktemp -d "/tmp/esprit-$T_NAME.XXXXXX")
}

decrypt_check esp-cbc-sha256 "AES-CBC [RFC3602]" "HMAC-SHA-256-128 [RFC4868]"
decrypt_check esp-gcm "AES-GCM with 16 octet ICV [RFC4106]" "NULL"
finish
