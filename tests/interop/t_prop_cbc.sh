#!/bin/bash
# esprit (gwA) <-> strongSwan (gwB), IKE AES-CBC-256/HMAC-SHA2-256/MODP-2048 (group 14), ESP aes256-sha256 with PFS group 14,
# tunnel mode. esprit as initiator, then as responder; pings and 5 MB TCP
# both ways each time; DELETE from each side.
. "$(dirname "$0")/lib.sh"
iop_init
prop_set cbc
scenario_two_roles
finish
