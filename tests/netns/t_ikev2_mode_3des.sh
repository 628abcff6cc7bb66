#!/bin/bash
# IKEv2 child SA: ESP 3DES-CBC + HMAC-SHA1-96, tunnel mode; IKE 3DES/SHA1
# with MODP group 2 and PFS group 5 (legacy: the daemon warns, RFC 8247 /
# RFC 8221). See tests/netns/ikev2_modes.sh for what is checked.
. "$(dirname "$0")/ikev2_modes.sh"
M_IKE_ENC=3des M_IKE_INTEG=sha1 M_IKE_PRF=sha1 M_IKE_GROUP=2
M_TS="esp-3des esp-sha-hmac" M_PFS=group5
X_IKE="3des 192 prf-hmac-sha1 hmac-sha1-96 2"
X_PROTO=esp X_ENCR=3des X_BITS=192 X_INTEG=hmac-sha1-96 X_SA=3des/hmac-sha1-96/esn
X_WARN="IKEv2 proposal GCM: 3des is legacy
IKEv2 proposal GCM: group 2 is weak
transform set TS: esp-3des is legacy
crypto map VPN 10: pfs group5 is weak"
ikev2_mode_scenario
finish
