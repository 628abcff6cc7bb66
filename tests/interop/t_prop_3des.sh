#!/bin/bash
# esprit (gwA) <-> strongSwan (gwB), IKE 3DES/HMAC-SHA1/MODP-1024 (group 2), ESP 3des-sha1 with PFS group 2,
# tunnel mode. esprit as initiator, then as responder; pings and 5 MB TCP
# both ways each time; DELETE from each side.
. "$(dirname "$0")/lib.sh"
iop_init
prop_set 3des
scenario_two_roles
finish
