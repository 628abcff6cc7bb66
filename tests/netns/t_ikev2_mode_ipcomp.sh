#!/bin/bash
# IKEv2 child SA: IPComp (DEFLATE, N(IPCOMP_SUPPORTED) with a CPI both
# ways) with ESP AES-CBC-128 + HMAC-SHA-512-256, tunnel mode; compressible
# payload, fewer ESP bytes on the WAN than payload bytes; IKE AES-CBC-256/
# SHA-384 with MODP group 15, PFS group 19. See tests/netns/ikev2_modes.sh.
. "$(dirname "$0")/ikev2_modes.sh"
M_IKE_ENC=aes-cbc-256 M_IKE_INTEG=sha384 M_IKE_PRF=sha384 M_IKE_GROUP=15
M_TS="comp-deflate esp-aes esp-sha512-hmac" M_PFS=group19
X_IKE="aes-cbc 256 prf-hmac-sha384 hmac-sha384-192 15"
X_PROTO=esp X_ENCR=aes-cbc X_BITS=128 X_INTEG=hmac-sha512-256 X_COMP=1
X_SA=aes-cbc-128/hmac-sha512-256/esn
ikev2_mode_scenario
finish
