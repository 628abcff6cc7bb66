#!/bin/bash
# tshark as an independent checker of what esprit puts on the wire: a
# capture on the WAN veth during a ping and a TCP transfer, decrypted by
# tshark with the SA keys from the example configs, must show the inner
# ICMP and TCP packets between the hosts (198.19.1.2 <-> 198.19.2.2) and
# no failed ICV check (tshark checks HMAC and GCM tags: "[correct]"). Done for ESP AES-256-CBC + HMAC-SHA-256-128
# (RFC 3602, RFC 4868) and for ESP AES-GCM-256 with a 16-octet ICV
# (RFC 4106; the tshark key is the 32-byte key followed by the 4-byte salt).
# Then AES-GCM again with `crypto engine offload xdp-tx` on gwA: its ESP
# leaves through AF_XDP (a frame esprit built, Ethernet header and IPv4
# checksum included), so the capture is on gwB's wan0, where the kernel
# received it (gwA's own capture point does not see AF_XDP frames).
#
#   hostA (198.19.1.2) -- (198.19.1.1) gwA (198.18.0.1) ==WAN== (198.18.0.2) gwB (198.19.2.1) -- hostB (198.19.2.2)
#                                              ^ dumpcap on gwA wan0
. "$(dirname "$0")/lib.sh"

# cfg_key CFG DIR PROTO: "SPI CIPHERHEX [AUTHHEX]" from a
# `set session-key DIR PROTO SPI cipher HEX [authenticator HEX]` line.
cfg_key() {
	awk -v dir="$2" -v proto="$3" '
		$1 == "set" && $2 == "session-key" && $3 == dir && $4 == proto {
			out = $5
			for (i = 6; i <= NF; i++)
				if ($i == "cipher" || $i == "authenticator")
					out = out " " $(i + 1)
			print out
			exit
		}' "$1"
}

# uat SRC DST SPI ENCR KEY AUTH AUTHKEY: one tshark esp_sa record.
uat() {
	printf 'uat:esp_sa:"IPv4","%s","%s","0x%08x","%s","0x%s","%s","%s"' \
		"$1" "$2" "$3" "$4" "$5" "$6" "${7:+0x$7}"
}

# decrypt_case NAME ENCR AUTH [xdp]: NAME selects examples/manual-NAME-gw{A,B}.cfg;
# xdp: gwA sends with AF_XDP (crypto engine offload xdp-tx), captured at gwB.
decrypt_case() {
	local name=$1 encr=$2 auth=$3 cfg_a=$EX/manual-$1-gwA.cfg cfg_b=$EX/manual-$1-gwB.cfg
	local pcap=$TMP/$name${4:-}.pcap out=$TMP/$name${4:-}.tshark spi_ab spi_ba n bad wrong at=$GA
	local -a ab ba opts
	info "---- $name: $encr / $auth${4:+ (gwA: xdp-tx, capture on gwB)}"
	if [ "${4:-}" = xdp ]; then
		{ echo "crypto engine offload xdp-tx"; cat "$cfg_a"; } >"$TMP/xdp-gwA.cfg"
		cfg_a=$TMP/xdp-gwA.cfg at=$GB name=$name-xdp
	fi
	start_esprit "$GA" "$cfg_a" || return 1
	start_esprit "$GB" "$cfg_b" || return 1
	capture_start "$at" wan0 "$pcap" || { not_ok "dumpcap on ${at##*-} wan0"; return 1; }
	check_ping "$HA" "$HB4"
	check_transfer "$HA" "$HB" "$HB4" 2000000
	capture_stop
	if [ "${4:-}" = xdp ]; then
		n=$(sa_get "$GA" 'd["dataplane"]["xdp_tx"]')
		check "$name: gwA sent its ESP with AF_XDP ($n packets)" num_gt "$n" 100
	fi
	stop_esprit "$GA"
	stop_esprit "$GB"

	read -r -a ab <<<"$(cfg_key "$cfg_a" outbound esp)"
	read -r -a ba <<<"$(cfg_key "$cfg_b" outbound esp)"
	[ ${#ab[@]} -ge 2 ] && [ ${#ba[@]} -ge 2 ] || { not_ok "$name: keys not found in the configs"; return 1; }
	spi_ab=${ab[0]} spi_ba=${ba[0]}
	opts=(-o esp.enable_encryption_decode:TRUE -o esp.enable_authentication_check:TRUE
	      -o "$(uat $GA4 $GB4 "$spi_ab" "$encr" "${ab[1]}" "$auth" "${ab[2]:-}")"
	      -o "$(uat $GB4 $GA4 "$spi_ba" "$encr" "${ba[1]}" "$auth" "${ba[2]:-}")")
	n=$(tshark_count "$pcap" esp)
	check "$name: the WAN carries ESP ($n packets)" num_gt "$n" 100
	n=$(tshark_count "$pcap" "icmp && !esp")
	check "$name: no clear-text ICMP on the WAN ($n)" num_eq "$n" 0

	n=$(tshark_count "$pcap" "esp && icmp.type == 8 && ip.src == $HA4 && ip.dst == $HB4" "${opts[@]}")
	check "$name: tshark decrypts echo requests $HA4 -> $HB4 ($n)" num_ge "$n" 4
	n=$(tshark_count "$pcap" "esp && icmp.type == 0 && ip.src == $HB4 && ip.dst == $HA4" "${opts[@]}")
	check "$name: tshark decrypts echo replies $HB4 -> $HA4 ($n)" num_ge "$n" 4
	n=$(tshark_count "$pcap" "esp && tcp.len > 1000 && ip.src == $HA4 && ip.dst == $HB4" "${opts[@]}")
	check "$name: tshark decrypts the TCP transfer hostA -> hostB ($n segments)" num_gt "$n" 100

	# Every ESP packet's ICV checked by tshark, and found correct.
	local total
	total=$(tshark_count "$pcap" esp)
	timeout 120 tshark -n -r "$pcap" -V "${opts[@]}" -Y esp >"$out" 2>&1
	bad=$(grep -c 'ESP ICV:.*\[incorrect\|\[Bad: True\]' "$out")
	n=$(grep -c 'ESP ICV:.*\[correct\]' "$out")
	check "$name: no bad ICV in tshark's view ($bad bad)" num_eq "$bad" 0
	check "$name: tshark verified every ICV as correct ($n of $total)" num_eq "$n" "$total"
	# Negative control (the checks above can fail): with a wrong key
	# (and, for CBC, a wrong authentication key) tshark decrypts
	# nothing and reports the ICVs as incorrect.
	wrong=$(echo "${ab[1]}" | sed 's/^./f/; s/^ff/0f/')
	opts[5]=$(uat $GA4 $GB4 "$spi_ab" "$encr" "$wrong" "$auth" \
		"${ab[2]:+$(echo "${ab[2]}" | sed 's/^./f/; s/^ff/0f/')}")
	n=$(tshark_count "$pcap" "esp && icmp.type == 8 && ip.src == $HA4" "${opts[@]}")
	check "$name: with a wrong key tshark decrypts nothing ($n)" num_eq "$n" 0
	timeout 120 tshark -n -r "$pcap" -V "${opts[@]}" -Y "esp && ip.src == $GA4" >"$out" 2>&1
	bad=$(grep -c 'ESP ICV:.*\[incorrect' "$out")
	check "$name: with a wrong key tshark reports bad ICVs ($bad)" num_gt "$bad" 100
}

lib_init
need_daemon
command -v tshark >/dev/null || skip "needs tshark"
topo_up
decrypt_case esp-cbc-sha256 "AES-CBC [RFC3602]" "HMAC-SHA-256-128 [RFC4868]"
decrypt_case esp-gcm "AES-GCM with 16 octet ICV [RFC4106]" "NULL"
decrypt_case esp-gcm "AES-GCM with 16 octet ICV [RFC4106]" "NULL" xdp
finish
