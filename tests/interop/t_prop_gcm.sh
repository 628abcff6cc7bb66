#!/bin/bash
# esprit (gwA) <-> strongSwan (gwB), IKE AES-GCM-16-256/PRF-SHA256/ECP-256
# (group 19), ESP aes256gcm16 with PFS group 19, tunnel mode. esprit as
# initiator (acquire from a ping), then as responder (swanctl --initiate);
# pings and 5 MB TCP both ways each time; DELETE from each side.
. "$(dirname "$0")/lib.sh"
iop_init
prop_set gcm
scenario_two_roles
finish
