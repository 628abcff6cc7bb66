#!/usr/bin/env bash
# Install the Debian packages esprit needs to build, test and demo.
# Idempotent: installs only what is missing. Run as root on Debian 12.
set -euo pipefail

BUILD_PKGS=(build-essential cmake pkg-config clang llvm libclang-rt-14-dev
  libssl-dev libevent-dev liburcu-dev libnl-3-dev libnl-route-3-dev
  zlib1g-dev libcmocka-dev libjson-c-dev libedit-dev)
TEST_PKGS=(iproute2 iputils-ping iperf3 tshark nftables conntrack socat netcat-openbsd ethtool
  python3 procps psmisc)
PEER_PKGS=(strongswan-swanctl charon-systemd libcharon-extra-plugins
  libstrongswan-extra-plugins libstrongswan-standard-plugins wireguard-tools
  wireguard-go)

# intel-ipsec-mb (batch CBC+HMAC sealing) is packaged for amd64 only.
[ "$(dpkg --print-architecture)" = amd64 ] && BUILD_PKGS+=(libipsec-mb-dev)

want=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}")
case "${1:-}" in
  --peers|--all) want+=("${PEER_PKGS[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages: ${missing[*]} (run as root to install)" >&2
  exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
