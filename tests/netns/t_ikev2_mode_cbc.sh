#!/bin/bash
# IKEv2 child SA: ESP AES-CBC-256 + HMAC-SHA-256-128, tunnel mode; IKE
# AES-CBC-256/SHA-256, group 14; PFS group 14 on an operator child rekey.
# See tests/netns/ikev2_modes.sh for what is checked.
. "$(dirname "$0")/ikev2_modes.sh"
M_IKE_ENC=aes-cbc-256 M_IKE_INTEG=sha256 M_IKE_PRF=sha256 M_IKE_GROUP=14
M_TS="esp-aes 256 esp-sha256-hmac" M_PFS=group14
X_IKE="aes-cbc 256 prf-hmac-sha256 hmac-sha256-128 14"
X_PROTO=esp X_ENCR=aes-cbc X_BITS=256 X_INTEG=hmac-sha256-128 X_ESN=true
X_SA=aes-cbc-256/hmac-sha256-128/esn
ikev2_mode_scenario
finish
