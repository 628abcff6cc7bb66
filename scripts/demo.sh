#!/bin/bash
# make demo: two esprit gateways between two sites, in network namespaces.
#
#   hostA (198.19.1.2) -- (198.19.1.1) gwA (198.18.0.1) ==WAN== (198.18.0.2) gwB (198.19.2.1) -- hostB (198.19.2.2)
#
# Part 1: site-to-site with a crypto map and IKEv2 (examples/ikev2-map-gw*.cfg):
#         the first ping from hostA starts IKE; a few MB cross the tunnel.
# Part 2: site-to-site with tunnel interfaces (examples/ikev2-vti-gw*.cfg).
# Part 3: manual keying, no IKE (examples/manual-esp-gcm-gw*.cfg).
# Each part prints `show crypto ikev2 sa` and `show crypto ipsec sa` from
# gwA. Everything is removed at the end.
#
# usage: scripts/demo.sh BUILD_DIR
BUILD=${1:-build/release}
SRC=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
export ESPRIT_BIN=$BUILD ESPRIT_SRC=$SRC
T_NAME=demo
. "$SRC/tests/netns/lib.sh"
lib_init

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m%s\033[0m\n' "gwA# $*"; cli "$GA" "$@"; }

stop_daemons() {
	local ns p
	for ns in "${!DAEMON_PID[@]}"; do
		p=${DAEMON_PID[$ns]}
		kill -TERM "$p" 2>/dev/null
		timeout 10 tail --pid="$p" -f /dev/null 2>/dev/null
		wait "$p" 2>/dev/null
		unset "DAEMON_PID[$ns]"
	done
}

part() { # TITLE CFG-PREFIX
	say "$1"
	start_esprit "$GA" "$EX/$2-gwA.cfg" || return 1
	start_esprit "$GB" "$EX/$2-gwB.cfg" || return 1
	echo "hostA# ping -c 4 198.19.2.2"
	nsx "$HA" ping -c 4 -i 0.3 -W 3 "$HB4" | sed 's/^/  /'
	echo "hostA -> hostB: 8 MB over TCP"
	check_transfer "$HA" "$HB" "$HB4" 8000000
	run show crypto ikev2 sa 2>/dev/null
	run show crypto ipsec sa
	stop_daemons
}

say "topology: hostA - gwA ==WAN== gwB - hostB (namespaces $HA $GA $GB $HB)"
topo_up
part "Part 1: crypto map, IKEv2 with a pre-shared key" ikev2-map
part "Part 2: tunnel interfaces (route-based VTI), IKEv2" ikev2-vti
part "Part 3: crypto map, manually keyed ESP (AES-GCM-256)" manual-esp-gcm
say "cleaning up"
finish
