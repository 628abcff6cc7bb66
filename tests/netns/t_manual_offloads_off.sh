#!/bin/bash
# The ESP AES-GCM manual scenario (tests/netns/manual.sh) with every
# data-plane offload turned off by configuration (`no crypto engine
# offload multiqueue|tso|udp-gso|udp-gro|tun-gro|batch-crypto|uso|ipsec-mb`):
# the slow path must be as correct as the fast one (transfers with
# SHA-256, no drops), each daemon logs that it started with the offloads
# off and `show crypto engine` says so (no intel-ipsec-mb: OpenSSL does
# AES-GCM), and nothing is coalesced.
. "$(dirname "$0")/manual.sh"
OFF=$(mktemp -d /tmp/esprit-offloads.XXXXXX)
for side in gwA gwB; do
	{
		for o in multiqueue tso udp-gso udp-gro tun-gro batch-crypto uso ipsec-mb; do
			echo "no crypto engine offload $o"
		done
		cat "$EX/manual-esp-gcm-$side.cfg"
	} >"$OFF/manual-esp-gcm-$side.cfg"
done
EX=$OFF MANUAL_OFFLOADS=off manual_scenario esp-gcm esp
for ns in "$GA" "$GB"; do
	check "${ns##*-} started with every offload off" \
		grep -q "offloads: 1 TUN queue(s), TSO off, USO off, UDP GSO off, UDP GRO off, TUN GRO off, batch crypto off" "${DAEMON_LOG[$ns]}"
done
eng=$(cli "$GA" show crypto engine)
check "show crypto engine says so" \
	grep -q "offloads: multiqueue off, TSO off, USO off, UDP GSO off, UDP GRO off, TUN GRO off, batch crypto off" \
	<<<"$eng"
check "and that OpenSSL alone does the crypto (no intel-ipsec-mb)" \
	eval 'grep -q "^  crypto: OpenSSL" <<<"$eng" && ! grep -q "intel-ipsec-mb" <<<"$eng"'
for ns in "$GA" "$GB"; do
	check "${ns##*-} did not start intel-ipsec-mb" \
		not_grep -q "crypto: intel-ipsec-mb" "${DAEMON_LOG[$ns]}"
done
gw=$(sa_get "$GB" 'd["dataplane"]["tun_gro_writes"]')
check "gwB coalesced nothing ($gw superpackets)" num_eq "$gw" 0
rm -rf "$OFF"
finish
