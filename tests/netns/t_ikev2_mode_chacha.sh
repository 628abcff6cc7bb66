#!/bin/bash
# IKEv2 child SA: ESP ChaCha20-Poly1305 (RFC 7634), tunnel mode; IKE
# ChaCha20-Poly1305 with PRF SHA-256 and Curve25519 (group 31), PFS group
# 31 on an operator child rekey. See tests/netns/ikev2_modes.sh.
. "$(dirname "$0")/ikev2_modes.sh"
M_IKE_ENC=chacha20-poly1305 M_IKE_PRF=sha256 M_IKE_GROUP=31
M_TS="esp-chacha20-poly1305" M_PFS=group31
X_IKE="chacha20-poly1305 256 prf-hmac-sha256 None 31"
X_PROTO=esp X_ENCR=chacha20-poly1305 X_BITS=256 X_INTEG=none X_SA=chacha20-poly1305/esn
ikev2_mode_scenario
finish
