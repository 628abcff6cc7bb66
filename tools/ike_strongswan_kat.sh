#!/usr/bin/env bash
# Run tools/ike_strongswan_kat.c against strongSwan's charon in two network
# namespaces, for each algorithm set below, and (with KAT=1) record the
# messages that tests/unit/test_ikev2_keys.c replays.
#
#   ikc-a (initiator: esprit codec)           ikc-b (responder: charon)
#   ikc-va 198.51.100.1/24  <--- veth --->  ikc-vb 198.51.100.2/24
#
# Needs root, charon-systemd and swanctl (Debian strongswan packages), and
# a build dir with libesprit_{ikev2,crypto,lib}.a: BUILD=build/h-... .
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/debug}
W=$(mktemp -d /tmp/ike-ss.XXXXXX)
command -v /usr/sbin/charon-systemd >/dev/null || { echo "no charon-systemd"; exit 77; }

cleanup() {
	[ -f "$W/charon.pid" ] && kill "$(cat "$W/charon.pid")" 2>/dev/null || true
	sleep 1
	ip netns del ikc-a 2>/dev/null || true
	ip netns del ikc-b 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT

SAN=
if nm "$BUILD/libesprit_lib.a" 2>/dev/null | grep __asan_init >/dev/null; then
	SAN="-fsanitize=address,undefined"
	export ASAN_OPTIONS=detect_leaks=0
fi
gcc -std=gnu11 -O1 -g $SAN -Isrc tools/ike_strongswan_kat.c -o "$W/init" \
	"$BUILD/libesprit_ikev2.a" "$BUILD/libesprit_crypto.a" "$BUILD/libesprit_lib.a" \
	-lssl -lcrypto

ip netns add ikc-a
ip netns add ikc-b
ip link add ikc-va netns ikc-a type veth peer name ikc-vb netns ikc-b
ip -n ikc-a addr add 198.51.100.1/24 dev ikc-va
ip -n ikc-b addr add 198.51.100.2/24 dev ikc-vb
for n in a b; do ip -n ikc-$n link set lo up; done
ip -n ikc-a link set ikc-va up
ip -n ikc-b link set ikc-vb up

# fragment_size = 120 makes charon fragment its IKE_AUTH response (RFC 7383)
cat > "$W/strongswan.conf" <<CONF
charon-systemd {
  install_routes = no
  install_virtual_ip = no
  fragment_size = ${FRAGMENT_SIZE:-1280}
  plugins {
    kernel-libipsec { load = no }
    vici { socket = unix://$W/vici }
  }
  journal { default = -1 }
}
CONF
cat > "$W/swanctl.conf" <<'CONF'
connections { c { local_addrs = 198.51.100.2
  remote_addrs = 198.51.100.1
  proposals = aes256-sha256-ecp256, aes128-sha1-ecp256, aes256-sha512-ecp256, aes128-aesxcbc-prfaesxcbc-ecp256, aes128-aescmac-prfaescmac-ecp256, aes256-sha384-ecp384, aes256-sha256-ecp521-curve448-modp2048-modp3072-modp4096-modp8192-modp1536-modp1024, aes256gcm16-prfsha512-x25519, chacha20poly1305-prfsha256-x25519
  fragmentation = yes
  local { auth = psk
    id = b.example }
  remote { auth = psk
    id = a.example }
  children { ch { esp_proposals = aes128gcm16
    start_action = none } } } }
secrets { ike-1 { id-1 = a.example
  id-2 = b.example
  secret = "esprit-test-psk" } }
CONF
ip netns exec ikc-b env STRONGSWAN_CONF="$W/strongswan.conf" /usr/sbin/charon-systemd \
	>/dev/null 2>&1 &
echo $! > "$W/charon.pid"
for _ in $(seq 50); do [ -S "$W/vici" ] && break; sleep 0.1; done
swanctl --load-all --file "$W/swanctl.conf" --uri "unix://$W/vici" >/dev/null 2>&1

# ENCR KEYBITS INTEG GROUP PRF (IANA transform IDs)
fail=0
while read -r args; do
	if out=$(ip netns exec ikc-a "$W/init" $args 2>&1); then
		echo "ok   $args: ${out##*$'\n'}"
	else
		echo "FAIL $args: ${out##*$'\n'}"
		fail=1
	fi
done <<'SETS'
12 256 12 19 5
12 128 2 19 2
12 256 14 19 7
12 128 5 19 4
12 128 8 19 8
12 256 13 20 6
12 256 12 21 5
12 256 12 32 5
12 256 12 14 5
12 256 12 18 5
12 256 12 2 5
20 256 0 31 7
28 0 0 31 5
SETS
# our IKE_AUTH request in two SKF fragments (RFC 7383)
for args in "12 256 12 19 5" "20 256 0 31 7"; do
	if out=$(FRAG=1 ip netns exec ikc-a "$W/init" $args 2>&1); then
		echo "ok   $args (SKF request): ${out##*$'\n'}"
	else
		echo "FAIL $args (SKF request): ${out##*$'\n'}"
		fail=1
	fi
done
# KAT=1 re-records the test data: run once as is (cbc, gcm) and once with
# FRAGMENT_SIZE=120 (skf: charon's response in fragments).
if [ "${KAT:-0}" = 1 ]; then
	out=$PWD/tests/fuzz/corpus/msg
	if [ "${FRAGMENT_SIZE:-1280}" -lt 200 ]; then
		KAT_DIR=$out/strongswan_kat_skf ip netns exec ikc-a "$W/init" 20 256 0 31 7
	else
		KAT_DIR=$out/strongswan_kat_cbc ip netns exec ikc-a "$W/init" 12 256 12 19 5
		KAT_DIR=$out/strongswan_kat_gcm ip netns exec ikc-a "$W/init" 20 256 0 31 7
	fi
fi
exit $fail
