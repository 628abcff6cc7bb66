#!/bin/bash
# IKEv2 child SA with two traffic selectors: two ACL lines in one crypto
# map entry (198.19.1.0/24 <-> 198.19.2.0/24 and 198.19.11.0/24 <->
# 198.19.12.0/24), one child SA, traffic on both; ESP AES-CBC-192 +
# HMAC-SHA-384-192; IKE AES-CBC-192/SHA-256 with ECP group 21, PFS group 21.
# See tests/netns/ikev2_modes.sh for what is checked.
. "$(dirname "$0")/ikev2_modes.sh"
M_IKE_ENC=aes-cbc-192 M_IKE_INTEG=sha256 M_IKE_PRF=sha256 M_IKE_GROUP=21
M_TS="esp-aes 192 esp-sha384-hmac" M_PFS=group21 M_SEL=two
X_IKE="aes-cbc 192 prf-hmac-sha256 hmac-sha256-128 21"
X_PROTO=esp X_ENCR=aes-cbc X_BITS=192 X_INTEG=hmac-sha384-192 X_SA=aes-cbc-192/hmac-sha384-192/esn
ikev2_mode_scenario
finish
