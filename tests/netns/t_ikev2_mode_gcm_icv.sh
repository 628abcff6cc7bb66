#!/bin/bash
# IKEv2 with the short-ICV AES-GCM transforms (RFC 4106 section 8, RFC
# 5282): IKE encrypted with AES-GCM-128 and a 12-byte ICV (transform 19),
# the child ESP SA with AES-GCM-128 and an 8-byte ICV (transform 18), PFS
# group 20. See tests/netns/ikev2_modes.sh.
. "$(dirname "$0")/ikev2_modes.sh"
M_IKE_ENC=aes-gcm-128-icv12 M_IKE_PRF=sha256 M_IKE_GROUP=20
M_TS="esp-gcm-icv8 128" M_PFS=group20
X_IKE="aes-gcm-12 128 prf-hmac-sha256 None 20"
X_PROTO=esp X_ENCR=aes-gcm-8 X_BITS=128 X_INTEG=none X_SA=aes-gcm-8-128/esn
ikev2_mode_scenario
finish
