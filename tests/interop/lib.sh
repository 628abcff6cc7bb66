#!/bin/bash
# Interop scenarios against strongSwan (tests/interop/t_*.sh). Source it.
#
# It builds on tests/netns/lib.sh (four-namespace topology, reporting,
# espritd start/stop, cli, ping and TCP helpers) and adds:
#   - strongSwan charon-systemd per namespace (kernel-libipsec: userspace
#     ESP on its own TUN ipsec0, always ESP-in-UDP on port 4500),
#     configured and driven through swanctl over a per-instance VICI socket;
#   - a five-namespace NAT topology (hostA - gwA - nat - gwB - hostB);
#   - config generators for both peers from one proposal name
#     (gcm | cbc | 3des | chacha), mode and lifetimes;
#   - "gwA" abstraction: gwA runs espritd (default) or, with
#     INTEROP_GWA=strongswan, a second charon. The latter validates the
#     strongSwan side, the namespace plumbing and the scenarios themselves
#     without esprit's IKE engine.
#
# gwB always runs strongSwan. Connection "lab", child "net".
#
# Environment: as tests/netns/lib.sh (ESPRIT_BIN, ESPRIT_KEEP), plus
# INTEROP_GWA=esprit|strongswan, INTEROP_CORPUS=DIR (write the captured
# IKE messages as fuzz corpus files into DIR).

IOP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ ! -f "$IOP_DIR/../netns/lib.sh" ]; then
	echo "1..0 # SKIP $(basename "$0" .sh): no tests/netns/lib.sh"
	exit 77
fi
# shellcheck source=../netns/lib.sh
. "$IOP_DIR/../netns/lib.sh"

GWA_IMPL=${INTEROP_GWA:-esprit}
NT=esp-$$-nat
RUNDIR=/run/esp-$$
PSK=esprit-interop-psk-0123456789
CHARON=/usr/sbin/charon-systemd
NAT_MODE=0
# Outside address of the NAT box, gwA's address behind it.
NT4_OUT=198.18.0.3 NT4_IN=198.18.1.254 GA4_NAT=198.18.1.1

declare -A SWAN_PID=() # instance (A|B) -> pid
declare -A SWAN_NS=()  # instance -> namespace

# ---- cleanup and logs (wrap the netns versions) ------------------------------

eval "$(declare -f cleanup | sed '1s/^cleanup/netns_cleanup/')"
eval "$(declare -f show_logs | sed '1s/^show_logs/netns_show_logs/')"

cleanup() {
	local s p
	for s in "${!SWAN_PID[@]}"; do
		p=${SWAN_PID[$s]}
		kill -TERM "$p" 2>/dev/null
		timeout 10 tail -s 0.1 --pid="$p" -f /dev/null 2>/dev/null || kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
		unset "SWAN_PID[$s]"
	done
	netns_cleanup
	ip netns del "$NT" 2>/dev/null
	rm -rf "$RUNDIR"
}

show_logs() {
	local s
	netns_show_logs
	for s in A B; do
		[ -f "$RUNDIR/$s/charon.log" ] || continue
		echo "# ---- charon log (gw$s): $RUNDIR/$s/charon.log (last ${IOP_LOG_LINES:-80} lines, no vici chatter)"
		grep -v 'vici client' "$RUNDIR/$s/charon.log" | tail -n "${IOP_LOG_LINES:-80}" | sed 's/^/#   /'
		[ "${ESPRIT_KEEP:-0}" = 1 ] && [ -n "$TMP" ] && cp "$RUNDIR/$s/charon.log" "$TMP/charon-gw$s.log"
	done
}

iop_init() {
	lib_init
	[ -x "$CHARON" ] || skip "no $CHARON (apt-get install charon-systemd strongswan-swanctl libcharon-extra-plugins libstrongswan-extra-plugins)"
	command -v swanctl >/dev/null || skip "no swanctl"
	[ -f /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ] ||
		skip "no kernel-libipsec plugin (libcharon-extra-plugins)"
	if [ "$GWA_IMPL" = esprit ]; then
		need_daemon
	fi
	command -v socat >/dev/null || skip "no socat"
	mkdir -p "$RUNDIR"
	info "gwA runs $GWA_IMPL, gwB runs strongSwan ($(swanctl --version 2>/dev/null | head -1))"
}

# ---- topologies ----------------------------------------------------------------

# Five namespaces: gwA's WAN is 198.18.1.1/24 behind a NAT box that
# masquerades it to 198.18.0.3 on the 198.18.0.0/24 segment of gwB.
#
#   hostA -- gwA wan0 198.18.1.1 == nat in0 198.18.1.254 | out0 198.18.0.3 == gwB wan0 198.18.0.2 -- hostB
topo_nat_up() {
	NAT_MODE=1
	topo_nat_links "$GA4_NAT"
	command -v nft >/dev/null || bail "no nft (apt-get install nftables)"
	nsx "$NT" nft -f - <<EOF || bail "nftables masquerade in $NT"
table ip nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "out0" counter masquerade
	}
}
EOF
	# Nothing from outside reaches the inside unless conntrack knows it.
	nsx "$NT" nft -f - <<EOF || bail "nftables filter in $NT"
table ip filter {
	chain forward {
		type filter hook forward priority 0; policy drop;
		iifname "in0" accept
		ct state established,related accept
	}
}
EOF
}

# gwA's own WAN address and the address gwB sees it as.
gwa_addr() { [ "$NAT_MODE" = 1 ] && echo $GA4_NAT || echo $GA4; }
gwa_seen() { [ "$NAT_MODE" = 1 ] && echo $NT4_OUT || echo $GA4; }

# ---- proposals -----------------------------------------------------------------

# prop_set NAME: sets the strongSwan proposal strings and the esprit
# proposal / transform-set / PFS lines for one suite.
prop_set() {
	case $1 in
	gcm) # AES-GCM-16-256, ECP-256 (group 19)
		SW_IKE=aes256gcm16-prfsha256-ecp256 SW_ESP=aes256gcm16-ecp256
		ES_ENC=aes-gcm-256 ES_INTEG= ES_PRF=sha256 ES_GROUP=19
		ES_TS="esp-gcm 256" ES_PFS=19 ;;
	cbc) # AES-CBC-256 / HMAC-SHA2-256, MODP-2048 (group 14)
		SW_IKE=aes256-sha256-modp2048 SW_ESP=aes256-sha256-modp2048
		ES_ENC=aes-cbc-256 ES_INTEG=sha256 ES_PRF= ES_GROUP=14
		ES_TS="esp-aes 256 esp-sha256-hmac" ES_PFS=14 ;;
	3des) # 3DES / HMAC-SHA1, MODP-1024 (group 2)
		SW_IKE=3des-sha1-modp1024 SW_ESP=3des-sha1-modp1024
		ES_ENC=3des ES_INTEG=sha1 ES_PRF= ES_GROUP=2
		ES_TS="esp-3des esp-sha-hmac" ES_PFS=2 ;;
	chacha) # ChaCha20-Poly1305, Curve25519 (group 31)
		SW_IKE=chacha20poly1305-prfsha256-curve25519 SW_ESP=chacha20poly1305-curve25519
		ES_ENC=chacha20-poly1305 ES_INTEG= ES_PRF=sha256 ES_GROUP=31
		ES_TS="esp-chacha20-poly1305" ES_PFS=31 ;;
	gcm-icv) # short-ICV AES-GCM (RFC 5282 / RFC 4106 section 8), ECP-384 (group 20)
		SW_IKE=aes128gcm12-prfsha256-ecp384 SW_ESP=aes128gcm8-ecp384
		ES_ENC=aes-gcm-128-icv12 ES_INTEG= ES_PRF=sha256 ES_GROUP=20
		ES_TS="esp-gcm-icv8 128" ES_PFS=20 ;;
	*) bail "unknown proposal $1" ;;
	esac
	PROP=$1
}

# Defaults a scenario may change before writing the configs.
MODE=tunnel          # tunnel | transport | dual (IPv4 + IPv6 in one tunnel-mode child)
CHILD_LIFE=3600      # seconds (esprit minimum is 120)
IKE_LIFE=28800
prop_set gcm

# Traffic selectors: tunnel = the two sites, transport = the gateways.
# dual: both sites' IPv4 and IPv6 prefixes in the one child.
ts_a() {
	case $MODE in
	transport) echo "$(gwa_addr)/32" ;;
	dual) echo 198.19.1.0/24,2001:db8:1::/64 ;;
	*) echo 198.19.1.0/24 ;;
	esac
}
ts_b() {
	case $MODE in
	transport) echo "$GB4/32" ;;
	dual) echo 198.19.2.0/24,2001:db8:2::/64 ;;
	*) echo 198.19.2.0/24 ;;
	esac
}
sw_mode() { [ "$MODE" = transport ] && echo transport || echo tunnel; }

# ---- strongSwan ------------------------------------------------------------------

# swan_write_conf INST: strongswan.conf for instance A (gwA) or B (gwB).
swan_write_conf() {
	local d=$RUNDIR/$1
	mkdir -p "$d"
	cat >"$d/strongswan.conf" <<EOF
charon-systemd {
  journal {
    default = -1
  }
}
charon {
  load = random nonce openssl pem pkcs1 x509 pubkey aes sha1 sha2 hmac gcm chapoly kdf curve25519 kernel-libipsec kernel-netlink socket-default vici updown
  install_routes = yes
  retransmit_tries = 3
  retransmit_timeout = 2
  plugins {
    vici {
      socket = unix://$d/charon.vici
    }
  }
  filelog {
    f {
      path = $d/charon.log
      default = 1
      ike = 2
      knl = 2
      cfg = 1
      ike_name = yes
      flush_line = yes
      time_format = %T
    }
  }
}
EOF
}

# swan_write_swanctl INST ME PEER LTS RTS MYID PEERID: swanctl.conf.
# PEER may be %any (a responder behind no fixed address).
swan_write_swanctl() {
	local d=$RUNDIR/$1 child_rekey ike_rekey cl=${SW_CHILD_LIFE:-$CHILD_LIFE} il=${SW_IKE_LIFE:-$IKE_LIFE}
	child_rekey=$((cl * 9 / 10))
	ike_rekey=$((il * 9 / 10))
	cat >"$d/swanctl.conf" <<EOF
connections {
  lab {
    version = 2
    local_addrs = $2
    remote_addrs = $3
    proposals = $SW_IKE
    encap = yes
    rekey_time = ${ike_rekey}s
    reauth_time = 0
    over_time = $((il / 10))s
    local {
      auth = psk
      id = $6
    }
    remote {
      auth = psk
      id = $7
    }
    children {
      net {
        mode = $(sw_mode)
        local_ts = $4
        remote_ts = $5
        esp_proposals = $SW_ESP
        rekey_time = ${child_rekey}s
        life_time = ${cl}s
        start_action = none
        dpd_action = clear
        close_action = none
      }
    }
  }
}
secrets {
  ike-lab {
    id-a = $6
    id-b = $7
    secret = "$PSK"
  }
}
EOF
}

# swan_start INST NS: charon in NS, wait for its VICI socket, load config.
swan_start() {
	local s=$1 ns=$2 d=$RUNDIR/$1 i
	SWAN_NS[$s]=$ns
	# Not through a shell function: $! must be the process itself (ip
	# netns exec execs timeout, which forwards SIGTERM to charon).
	STRONGSWAN_CONF=$d/strongswan.conf ip netns exec "$ns" timeout -s TERM 900 "$CHARON" \
		>"$d/charon.out" 2>&1 </dev/null &
	SWAN_PID[$s]=$!
	for i in $(seq 100); do
		[ -S "$d/charon.vici" ] && break
		kill -0 "${SWAN_PID[$s]}" 2>/dev/null || break
		sleep 0.1
	done
	if ! [ -S "$d/charon.vici" ]; then
		not_ok "charon in gw$s: no VICI socket"
		return 1
	fi
	check "charon in gw$s loads its swanctl.conf" sw "$s" --load-all --file "$d/swanctl.conf"
}

# sw INST SWANCTL-ARGS...: swanctl on instance INST (command first, then --uri).
sw() {
	local s=$1 cmd=$2
	shift 2
	nsx "${SWAN_NS[$s]}" timeout 40 swanctl "$cmd" --uri "unix://$RUNDIR/$s/charon.vici" "$@" \
		>>"$RUNDIR/$s/swanctl.out" 2>&1
}

sw_list() { # INST: swanctl --list-sas output
	nsx "${SWAN_NS[$1]}" timeout 20 swanctl --list-sas --uri "unix://$RUNDIR/$1/charon.vici" 2>/dev/null
}

# sw_child_up INST: child "net" INSTALLED.
sw_child_up() { sw_list "$1" | grep -q "net: #[0-9]*, reqid [0-9]*, INSTALLED"; }
sw_ike_up() { sw_list "$1" | grep -q "lab: #[0-9]*, ESTABLISHED"; }
sw_no_sa() { ! sw_list "$1" | grep -q "lab: #"; }
# Inbound SPIs of child net (one per line), IKE SA SPIs "#n" as well.
sw_child_spis() { sw_list "$1" | sed -n 's/^ *in  \([0-9a-f]\{8\}\).*/\1/p' | sort; }
sw_ike_ids() { sw_list "$1" | sed -n 's/^lab: \(#[0-9]*\), ESTABLISHED.*/\1/p' | sort; }
sw_child_desc() { sw_list "$1" | sed -n 's/^ *net: #[0-9]*, reqid [0-9]*, INSTALLED, //p' | head -1; }
sw_ike_desc() { sw_list "$1" | grep -m1 -E '^  [A-Z0-9_]+(-[0-9]+)?/' | sed 's/^ *//'; }

# ---- esprit ----------------------------------------------------------------------

# esprit_write_conf FILE: gwA's config in IOS syntax (mirrors
# examples/ikev2-map-gwA.cfg) from the current proposal, mode, lifetimes.
esprit_write_conf() {
	local f=$1 me peer wanmask=255.255.255.0 acl
	me=$(gwa_addr)
	peer=$GB4
	if [ "$MODE" = transport ]; then
		acl=" permit ip host $me host $peer"
	else
		acl=" permit ip 198.19.1.0 0.0.0.255 198.19.2.0 0.0.0.255"
	fi
	{
		echo "! generated by tests/interop ($T_NAME): proposal $PROP, mode $MODE"
		echo "hostname gwA"
		echo "crypto ikev2 proposal P1"
		echo " encryption $ES_ENC"
		[ -n "$ES_INTEG" ] && echo " integrity $ES_INTEG"
		[ -n "$ES_PRF" ] && echo " prf $ES_PRF"
		echo " group $ES_GROUP"
		echo "!"
		cat <<EOF
crypto ikev2 policy POL
 proposal P1
 match address local $me
!
crypto ikev2 keyring KR
 peer gwB
  address $peer
  identity address $peer
  pre-shared-key $PSK
 !
!
crypto ikev2 profile PROF
 match identity remote address $peer 255.255.255.255
 identity local address $me
 authentication local pre-share
 authentication remote pre-share
 keyring local KR
 dpd 10 3 on-demand
 lifetime $IKE_LIFE
!
crypto ipsec transform-set TS $ES_TS
 mode $(sw_mode)
!
EOF
		if [ "$MODE" = dual ]; then
			esprit_vti_dual "$me" "$peer"
		else
			cat <<EOF
ip access-list extended VPN-TRAFFIC
$acl
!
crypto map VPN 10 ipsec-isakmp
 set peer $peer
 set transform-set TS
 match address VPN-TRAFFIC
 set security-association lifetime seconds $CHILD_LIFE
 set pfs group$ES_PFS
 set ikev2-profile PROF
!
interface wan0
 ip address $me $wanmask
 crypto map VPN
!
interface lan0
 ip address 198.19.1.1 255.255.255.0
!
end
EOF
		fi
	} >"$f"
}

# The rest of gwA's config for MODE=dual: a tunnel interface with `tunnel
# mode ipsec dual-overlay` (child selectors 0.0.0.0/0 and ::/0, which
# strongSwan narrows to its two prefixes), routes of both families into it.
esprit_vti_dual() {
	cat <<EOF
crypto ipsec profile DUAL
 set transform-set TS
 set ikev2-profile PROF
 set security-association lifetime seconds $CHILD_LIFE
 set pfs group$ES_PFS
!
interface wan0
 ip address $1 255.255.255.0
!
interface lan0
 ip address 198.19.1.1 255.255.255.0
!
interface Tunnel102
 ip address 198.19.255.5 255.255.255.252
 ipv6 address 2001:db8:fe::1/64
 tunnel source $1
 tunnel mode ipsec dual-overlay
 tunnel destination $2
 tunnel protection ipsec profile DUAL
!
ip route 198.19.2.0 255.255.255.0 Tunnel102
ipv6 route 2001:db8:2::/64 Tunnel102
end
EOF
}

# esprit_inbound_spis: inbound SPIs (hex, one per line) from the JSON show.
esprit_inbound_spis() {
	local f=$TMP/sa-gA.json
	cli "$GA" --json show crypto ipsec sa >"$f" 2>/dev/null || return 1
	"$PY" - "$f" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for g in d.get("sas", []):
    for s in g.get("inbound", []):
        print("%08x" % int(s["spi"]))
EOF
}

esprit_child_up() { [ -n "$(esprit_inbound_spis | sort -u)" ]; }
esprit_no_sa() { local s; s=$(esprit_inbound_spis) && [ -z "$s" ]; }

# ---- gwA: either implementation ---------------------------------------------------

gwa_start() {
	if [ "$GWA_IMPL" = esprit ]; then
		esprit_write_conf "$TMP/gwA.cfg"
		start_esprit "$GA" "$TMP/gwA.cfg"
	else
		swan_write_conf A
		swan_write_swanctl A "$(gwa_addr)" "$GB4" "$(ts_a)" "$(ts_b)" "$(gwa_addr)" "$GB4"
		swan_start A "$GA"
	fi
}

gwb_start() {
	local peer_addrs
	peer_addrs=$(gwa_seen)
	[ "$NAT_MODE" = 1 ] && peer_addrs=%any
	swan_write_conf B
	swan_write_swanctl B "$GB4" "$peer_addrs" "$(ts_b)" "$(ts_a)" "$GB4" "$(gwa_addr)"
	swan_start B "$GB"
}

# Initiation by gwA: esprit on an acquire (traffic matching the ACL),
# strongSwan by swanctl --initiate.
gwa_initiate() {
	local src=$HA dst=$HB4
	if [ "$MODE" = transport ]; then src=$GA dst=$GB4; fi
	if [ "$GWA_IMPL" = esprit ]; then
		nsx "$src" timeout 10 ping -n -c 3 -i 0.5 -W 1 "$dst" >/dev/null 2>&1
		wait_for 20 gwa_child_up
	else
		sw A --initiate --child net --timeout 20
	fi
}

gwb_initiate() { sw B --initiate --child net --timeout 20; }

gwa_child_up() {
	if [ "$GWA_IMPL" = esprit ]; then esprit_child_up; else sw_child_up A; fi
}

gwa_no_sa() {
	if [ "$GWA_IMPL" = esprit ]; then esprit_no_sa; else sw_no_sa A; fi
}

gwa_child_spis() {
	if [ "$GWA_IMPL" = esprit ]; then esprit_inbound_spis | sort -u; else sw_child_spis A; fi
}

# IKE SA view of gwA (for the report).
gwa_show() {
	if [ "$GWA_IMPL" = esprit ]; then
		cli "$GA" show crypto ikev2 sa 2>&1 | sed 's/^/#   gwA: /'
		cli "$GA" show crypto ipsec sa 2>&1 | grep -iE "spi|transform|peer|mode|in use" | sed 's/^/#   gwA: /'
	else
		sw_list A | sed 's/^/#   gwA: /'
	fi
}

# Rekeys and deletes started by gwA: esprit's exec commands or swanctl.
gwa_delete() {
	if [ "$GWA_IMPL" = esprit ]; then
		cli "$GA" clear crypto ikev2 sa >>"$TMP/cli.out" 2>&1
	else
		sw A --terminate --ike lab --timeout 20
	fi
}

gwa_rekey_child() {
	if [ "$GWA_IMPL" = esprit ]; then
		cli "$GA" rekey crypto ipsec sa >>"$TMP/cli.out" 2>&1
	else
		sw A --rekey --child net
	fi
}

gwa_rekey_ike() {
	if [ "$GWA_IMPL" = esprit ]; then
		cli "$GA" rekey crypto ikev2 sa >>"$TMP/cli.out" 2>&1
	else
		sw A --rekey --ike lab
	fi
}

# ---- common steps --------------------------------------------------------------------

# wait_for SECONDS CMD...: poll every 0.2 s.
wait_for() {
	local n=$(($1 * 5))
	shift
	while [ $n -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}

# both_see_sa: the child is installed on both sides, and their SPIs are
# each other's (gwA's inbound SPIs appear on gwB as outbound and so on
# is implied by traffic; here: both non-empty).
check_both_see_sa() {
	check "gwA ($GWA_IMPL) shows the child SA" wait_for 10 gwa_child_up
	check "gwB (strongSwan) shows the child SA INSTALLED" wait_for 10 sw_child_up B
	info "gwB: $(sw_child_desc B)"
	info "gwB IKE: $(sw_ike_desc B)"
}

# A second capture on gwB's WAN of anything carrying the sites' addresses
# in clear: tunnel-mode traffic must only cross as ESP-in-UDP.
clear_cap_start() {
	CLEAR_PCAP=$TMP/clear-$T_N.pcap
	ip netns exec "$GB" timeout 300 dumpcap -q -P -i wan0 -s 96 -f "net 198.19.0.0/16 or net 2001:db8::/44" \
		-w "$CLEAR_PCAP" 2>"$CLEAR_PCAP.err" </dev/null &
	CLEAR_PID=$!
	BG_PIDS+=("$CLEAR_PID")
	wait_for 5 grep -q "Capturing on" "$CLEAR_PCAP.err"
}

clear_cap_stop() { # prints the packet count
	sleep 0.3
	kill -TERM "$CLEAR_PID" 2>/dev/null
	timeout 10 tail -s 0.1 --pid="$CLEAR_PID" -f /dev/null 2>/dev/null || kill -KILL "$CLEAR_PID" 2>/dev/null
	wait "$CLEAR_PID" 2>/dev/null
	timeout 60 tshark -n -r "$CLEAR_PCAP" 2>/dev/null | wc -l
}

# check_traffic [BYTES]: pings both ways and a TCP transfer each way.
check_traffic() {
	local n=${1:-5000000} c
	if [ "$MODE" != transport ]; then
		clear_cap_start || info "no clear-text capture (dumpcap)"
		check_traffic_run "$n"
		c=$(clear_cap_stop)
		check "no clear-text site traffic on the WAN ($c packets)" num_eq "$c" 0
	else
		check_traffic_run "$n"
	fi
}

check_traffic_run() {
	local n=$1
	if [ "$MODE" = transport ]; then
		check_ping "$GA" "$GB4"
		check_ping "$GB" "$(gwa_addr)"
		check_transfer "$GA" "$GB" "$GB4" "$n"
		[ "$NAT_MODE" = 1 ] || check_transfer "$GB" "$GA" "$(gwa_addr)" "$n"
	else
		check_ping "$HA" "$HB4"
		check_ping "$HB" "$HA4"
		check_transfer "$HA" "$HB" "$HB4" "$n"
		check_transfer "$HB" "$HA" "$HA4" "$n"
	fi
	if [ "$MODE" = dual ]; then
		check_ping "$HA" "$HB6"
		check_ping "$HB" "$HA6"
		check_transfer "$HA" "$HB" "$HB6" "$n"
		check_transfer "$HB" "$HA" "$HA6" "$n"
	fi
}

# iop_capture_start [PCAP]: capture the IKE messages on gwB's WAN (UDP 500
# and 4500) into PCAP ($TMP/ike.pcap). Only IKE: port 500, and port 4500
# with the non-ESP marker (RFC 3948 2.2).
iop_capture_start() {
	local f=${1:-$TMP/ike.pcap}
	ip netns exec "$GB" timeout 600 dumpcap -q -P -i wan0 -s 65535 \
		-f "udp port 500 or (udp port 4500 and udp[8:4] = 0)" \
		-w "$f" 2>"$f.err" </dev/null &
	IKE_CAP_PID=$!
	BG_PIDS+=("$IKE_CAP_PID")
	wait_for 5 grep -q "Capturing on" "$f.err"
}

iop_capture_stop() {
	sleep 0.5
	kill -TERM "$IKE_CAP_PID" 2>/dev/null
	timeout 10 tail -s 0.1 --pid="$IKE_CAP_PID" -f /dev/null 2>/dev/null || kill -KILL "$IKE_CAP_PID" 2>/dev/null
	wait "$IKE_CAP_PID" 2>/dev/null
}

# iop_corpus_save PREFIX: every IKE message of the capture (non-ESP
# marker stripped on 4500, ESP and keepalives skipped) as a corpus file
# $INTEROP_CORPUS/PREFIX_NN_EXCHANGE_{req,resp}.
iop_corpus_save() {
	local prefix=$1 dir=${INTEROP_CORPUS:-}
	[ -n "$dir" ] || return 0
	mkdir -p "$dir"
	timeout 60 tshark -n -r "$TMP/ike.pcap" -T fields -e udp.srcport -e udp.dstport -e udp.payload \
		2>/dev/null >"$TMP/ike.txt"
	"$PY" - "$TMP/ike.txt" "$dir" "$prefix" <<'EOF'
import sys
src, out, prefix = sys.argv[1:4]
names = {34: "ike_sa_init", 35: "ike_auth", 36: "create_child_sa", 37: "informational"}
n = 0
for line in open(src):
    f = line.split()
    if len(f) < 3:
        continue
    sp, dp, hx = int(f[0]), int(f[1]), f[2].replace(":", "")
    b = bytes.fromhex(hx)
    if 4500 in (sp, dp):
        if len(b) < 5 or b[:4] != b"\0\0\0\0":
            continue  # ESP or NAT keepalive
        b = b[4:]
    if len(b) < 28 or b[17] != 0x20:
        continue  # not IKEv2
    ex, flags = b[18], b[19]
    kind = "resp" if flags & 0x20 else "req"
    n += 1
    fn = "%s/%s_%02d_%s_%s" % (out, prefix, n, names.get(ex, "x%d" % ex), kind)
    open(fn, "wb").write(b)
print(n)
EOF
}

# ---- scenarios ----------------------------------------------------------------------

# up_by WHO: gwa|gwb initiates; then both must show the child SA.
up_by() {
	if [ "$1" = gwa ]; then
		check "gwA ($GWA_IMPL) initiates: child SA up" gwa_initiate
	else
		check "gwB (strongSwan) initiates: swanctl --initiate --child net" gwb_initiate
	fi
	check_both_see_sa
	gwa_show
}

# down_by WHO: gwa|gwb deletes the IKE SA; the other side must drop it too.
down_by() {
	if [ "$1" = gwa ]; then
		check "gwA ($GWA_IMPL) deletes the IKE SA" gwa_delete
		check "gwB (strongSwan) removed its SAs after gwA's DELETE" wait_for 15 sw_no_sa B
		check "gwA has no child SA left" wait_for 15 gwa_no_sa
	else
		check "gwB (strongSwan) deletes: swanctl --terminate --ike lab" sw B --terminate --ike lab --timeout 20
		check "gwA ($GWA_IMPL) removed its SAs after gwB's DELETE" wait_for 15 gwa_no_sa
		check "gwB has no SA left" wait_for 15 sw_no_sa B
	fi
}

# scenario_two_roles: gwA initiates, traffic, gwA deletes; gwB initiates,
# traffic, gwB deletes. Uses the current proposal and mode.
scenario_two_roles() {
	iop_setup
	info "== gwA ($GWA_IMPL) as initiator, $PROP, $MODE"
	up_by gwa
	check_traffic
	down_by gwa
	info "== gwA ($GWA_IMPL) as responder, $PROP, $MODE"
	up_by gwb
	check_traffic
	down_by gwb
	iop_teardown
}

# iop_setup: topology, both peers, and the IKE capture (for the corpus).
iop_setup() {
	if [ "$NAT_MODE" = 1 ]; then topo_nat_up; else topo_up; fi
	[ -n "${INTEROP_CORPUS:-}" ] && { iop_capture_start || info "no IKE capture"; }
	gwb_start || bail "gwB start"
	gwa_start || bail "gwA start"
}

iop_teardown() {
	local n
	[ -n "${INTEROP_CORPUS:-}" ] || return 0
	iop_capture_stop
	n=$(iop_corpus_save "${INTEROP_CORPUS_PREFIX:-${GWA_IMPL}_$T_NAME}")
	info "$n IKE messages saved to $INTEROP_CORPUS"
}
