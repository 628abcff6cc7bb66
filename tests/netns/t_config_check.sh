#!/bin/bash
# `espritd -t` makes every check espritd makes when it applies a
# configuration (it used to stop after the SA/policy build, so a
# configuration it called OK could still be refused at start), and a
# guide's IKEv1 configuration gets a message an engineer can act on:
# - the guide's crypto map (IKEv1: crypto isakmp policy/key, a map with no
#   ikev2-profile): refused at the crypto map line, saying IKEv1 is not
#   implemented; each isakmp block is warned about by its first words,
#   and the isakmp key itself is never printed;
# - the guide's VTI seed: refused by -t as by espritd (ipsec profile
#   without set ikev2-profile), and espritd does not start with it;
# - every IKEv2 and manual example passes -t.
# No traffic: the namespaces only host the refused start.
. "$(dirname "$0")/lib.sh"
lib_init
need_daemon

V1=$TMP/ikev1.cfg
cat >"$V1" <<'EOF'
hostname R1
crypto isakmp policy 10
 encr aes 256
 authentication pre-share
 group 14
crypto isakmp key esprit-not-a-real-key-4711 address 198.18.0.2
crypto ipsec transform-set TS esp-aes 256 esp-sha-hmac
 mode tunnel
access-list 101 permit ip 198.19.1.0 0.0.0.255 198.19.2.0 0.0.0.255
crypto map VPN 10 ipsec-isakmp
 set peer 198.18.0.2
 set transform-set TS
 match address 101
interface wan0
 ip address 198.18.0.1 255.255.255.0
 crypto map VPN
EOF
out=$(timeout 30 "$BIN/espritd" -t -f "$V1" 2>&1)
rc=$?
sed 's/^/#   /' <<<"$out"
check "espritd -t refuses the guide's IKEv1 crypto map (rc=$rc)" eval '[ "$rc" = 1 ]'
check "at the crypto map line ($V1:10)" grep -q "ikev1.cfg:10:" <<<"$out"
check "saying what is missing and that IKEv1 is not implemented" \
	eval 'grep -q "has no \`set ikev2-profile\`" <<<"$out" && grep -q "IKEv1, which is not implemented yet" <<<"$out"'
check "each isakmp block is named in a warning" \
	eval 'grep -q "\`crypto isakmp policy ...\` is kept but not used" <<<"$out" && grep -q "\`crypto isakmp key ...\` is kept but not used" <<<"$out"'
check "the isakmp key is never printed" not_grep -q "esprit-not-a-real-key-4711" <<<"$out"
check "no sanitizer report" not_grep -qE "Sanitizer|runtime error" <<<"$out"

SEED=$EX/seed-ios-vti-preshare.cfg
out=$(timeout 30 "$BIN/espritd" -t -f "$SEED" 2>&1)
rc=$?
check "espritd -t refuses the VTI seed (rc=$rc), as the daemon does" eval '[ "$rc" = 1 ]'
check "with the daemon's reason" grep -q "ipsec profile ipsec-preshare needs set ikev2-profile" <<<"$out"
check "no sanitizer report (the refused configuration is freed)" \
	not_grep -qE "Sanitizer|runtime error" <<<"$out"
ip netns add "$GA" && nsx "$GA" ip link set lo up
out=$(nsx "$GA" timeout 20 "$BIN/espritd" -f "$SEED" -s "$TMP/seed.sock" 2>&1)
rc=$?
check "espritd does not start with it either (rc=$rc)" eval '[ "$rc" != 0 ] && [ "$rc" != 124 ]'
check "and says the same" grep -q "ipsec profile ipsec-preshare needs set ikev2-profile" <<<"$out"

bad=""
for f in "$EX"/ikev2-*.cfg "$EX"/manual-*.cfg; do
	timeout 30 "$BIN/espritd" -t -f "$f" >"$TMP/t.out" 2>&1 || bad="$bad $(basename "$f")"
done
check "every IKEv2 and manual example passes espritd -t${bad:+ (not:$bad)}" [ -z "$bad" ]
finish
