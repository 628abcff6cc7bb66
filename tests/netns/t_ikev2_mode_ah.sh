#!/bin/bash
# IKEv2 child SA: AH alone (HMAC-SHA-256-128), tunnel mode: the WAN carries
# AH (protocol 51) and no ESP; IKE AES-CBC-128/SHA-512 with ECP group 20,
# PFS group 20. See tests/netns/ikev2_modes.sh for what is checked.
. "$(dirname "$0")/ikev2_modes.sh"
M_IKE_ENC=aes-cbc-128 M_IKE_INTEG=sha512 M_IKE_PRF=sha512 M_IKE_GROUP=20
M_TS="ah-sha256-hmac" M_PFS=group20
X_IKE="aes-cbc 128 prf-hmac-sha512 hmac-sha512-256 20"
X_PROTO=ah X_INTEG=hmac-sha256-128 X_SA=hmac-sha256-128/esn
ikev2_mode_scenario
finish
