#!/bin/bash
# esprit (gwA) <-> strongSwan (gwB), IKE ChaCha20-Poly1305/PRF-SHA256/Curve25519 (group 31), ESP chacha20poly1305 with PFS group 31,
# tunnel mode. esprit as initiator, then as responder; pings and 5 MB TCP
# both ways each time; DELETE from each side.
. "$(dirname "$0")/lib.sh"
iop_init
prop_set chacha
scenario_two_roles
finish
