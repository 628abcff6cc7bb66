#!/bin/bash
# IKEv2 child SA over IPv6 carrying IPv6: IKE between the gateways' v6 WAN
# addresses, ipv6 access-list between the v6 LANs; ESP AES-GCM-256, tunnel
# mode; IKE AES-GCM-256 with Curve448 (group 32), PFS group 32. The
# gateways' wan0 keeps its IPv4 address too (dual stack).
# See tests/netns/ikev2_modes.sh for what is checked.
. "$(dirname "$0")/ikev2_modes.sh"
M_FAMILY=6 M_IKE_ENC=aes-gcm-256 M_IKE_PRF=sha512 M_IKE_GROUP=32
M_TS="esp-gcm 256" M_PFS=group32
X_IKE="aes-gcm-16 256 prf-hmac-sha512 None 32"
X_PROTO=esp X_ENCR=aes-gcm-16 X_BITS=256 X_INTEG=none X_SA=aes-gcm-16-256/esn
ikev2_mode_scenario
finish
