#!/usr/bin/env bash
# Make libreswan (pluto, whack) available for tests/interop/t_libreswan.sh
# WITHOUT installing the Debian package: it conflicts with strongSwan's
# (strongswan-libcharon, strongswan-starter), which the other interop
# tests need. Idempotent; run as root on Debian 12.
#
#   - `apt-get download libreswan` into $LIBRESWAN_CACHE
#     (default /var/cache/esprit-libreswan),
#   - `dpkg -x` it into $LIBRESWAN_ROOT (default /opt/esprit-libreswan),
#   - apt-get install only those of its Depends that are missing
#     (libnss3-tools, libldns3, ...), `apt-get update -qq` first only then.
#
# Nothing of the package is placed in /usr or /etc: pluto runs from the
# unpacked tree, inside its own mount namespace where the test overlays
# $LIBRESWAN_ROOT/usr/libexec on /usr/libexec (pluto runs
# /usr/libexec/ipsec/addconn).
#
# Prints the root of the tree on stdout and exits 0 when pluto can run;
# exits 1 with the reason on stderr otherwise.
#   --check   only check, download or install nothing.
set -euo pipefail

ROOT=${LIBRESWAN_ROOT:-/opt/esprit-libreswan}
CACHE=${LIBRESWAN_CACHE:-/var/cache/esprit-libreswan}
CHECK_ONLY=0
[ "${1:-}" = --check ] && CHECK_ONLY=1

die() { echo "libreswan.sh: $*" >&2; exit 1; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# Ready: the tree is unpacked and every shared library pluto and whack
# need resolves, and certutil (libnss3-tools) is there.
ready() {
	local b
	[ -x "$ROOT/usr/libexec/ipsec/pluto" ] && [ -x "$ROOT/usr/libexec/ipsec/whack" ] || return 1
	[ -x "$ROOT/usr/libexec/ipsec/addconn" ] || return 1
	command -v certutil >/dev/null || return 1
	for b in pluto whack addconn; do
		ldd "$ROOT/usr/libexec/ipsec/$b" 2>/dev/null | grep -q "not found" && return 1
	done
	return 0
}

if ready; then
	echo "$ROOT"
	exit 0
fi
[ "$CHECK_ONLY" = 1 ] && die "not ready in $ROOT (run scripts/libreswan.sh as root)"
[ "$(id -u)" = 0 ] || die "needs root"
command -v apt-get >/dev/null && command -v dpkg >/dev/null || die "needs apt-get and dpkg (Debian)"
export DEBIAN_FRONTEND=noninteractive

updated=0
apt_update_once() {
	[ "$updated" = 1 ] && return 0
	apt-get update -qq >/dev/null 2>&1 || die "apt-get update failed"
	updated=1
}

# 1. The .deb, in the cache.
mkdir -p "$CACHE"
deb=$(ls -t "$CACHE"/libreswan_*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
	if ! apt-cache show libreswan >/dev/null 2>&1; then
		apt_update_once
		apt-cache show libreswan >/dev/null 2>&1 || die "no libreswan package in the apt sources"
	fi
	(cd "$CACHE" && apt-get download -qq libreswan >/dev/null 2>&1) ||
		{ apt_update_once; (cd "$CACHE" && apt-get download -qq libreswan >/dev/null 2>&1); } ||
		die "apt-get download libreswan failed"
	deb=$(ls -t "$CACHE"/libreswan_*.deb 2>/dev/null | head -1 || true)
	[ -n "$deb" ] || die "apt-get download libreswan left no .deb in $CACHE"
fi

# 2. Unpacked tree (fresh each time it is not ready: a half-unpacked tree
# from an interrupted run is replaced).
ver=$(dpkg-deb -f "$deb" Version)
if ! [ -x "$ROOT/usr/libexec/ipsec/pluto" ] || [ "$(cat "$ROOT/.version" 2>/dev/null)" != "$ver" ]; then
	rm -rf "$ROOT.tmp"
	mkdir -p "$ROOT.tmp"
	dpkg -x "$deb" "$ROOT.tmp" || die "dpkg -x $deb failed"
	echo "$ver" >"$ROOT.tmp/.version"
	rm -rf "$ROOT"
	mv "$ROOT.tmp" "$ROOT"
fi

# 3. Its dependencies that are missing (first alternative of each).
missing=()
depends=$(dpkg-deb -f "$deb" Depends)
IFS=',' read -ra deps <<<"$depends"
for d in "${deps[@]}"; do
	alt_ok=0 first=
	IFS='|' read -ra alts <<<"$d"
	for a in "${alts[@]}"; do
		a=$(echo "$a" | sed 's/([^)]*)//; s/:any//; s/[[:space:]]//g')
		[ -n "$a" ] || continue
		[ -n "$first" ] || first=$a
		if installed "$a"; then alt_ok=1; break; fi
	done
	[ "$alt_ok" = 1 ] || [ -z "$first" ] || missing+=("$first")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "libreswan.sh: installing libreswan's missing dependencies: ${missing[*]}" >&2
	if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
		apt_update_once
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
			die "apt-get install ${missing[*]} failed"
	fi
fi

ready || die "unpacked $deb into $ROOT but pluto still cannot run (ldd: $(ldd "$ROOT/usr/libexec/ipsec/pluto" 2>&1 | grep 'not found' | tr '\n' ' '))"
echo "$ROOT"
