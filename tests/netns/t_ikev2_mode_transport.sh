#!/bin/bash
# IKEv2 child SA: ESP AES-GCM-128 (16-byte ICV) in transport mode between
# the two gateways (ACL host gwA host gwB, traffic gateway to gateway,
# N(USE_TRANSPORT_MODE) both ways); IKE AES-GCM-128, group 19; no PFS (the
# rekey's CREATE_CHILD_SA has no KE). See tests/netns/ikev2_modes.sh.
. "$(dirname "$0")/ikev2_modes.sh"
M_IKE_ENC=aes-gcm-128 M_IKE_PRF=sha256 M_IKE_GROUP=19
M_TS="esp-gcm 128" M_MODE=transport M_SEL=gateways M_PFS=
X_IKE="aes-gcm-16 128 prf-hmac-sha256 None 19"
X_PROTO=esp X_ENCR=aes-gcm-16 X_BITS=128 X_INTEG=none X_SA=aes-gcm-16-128/esn
ikev2_mode_scenario
finish
