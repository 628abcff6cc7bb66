#!/bin/bash
# esprit (gwA) <-> strongSwan (gwB) with the short-ICV AES-GCM transforms:
# IKE AES-GCM-12-128/PRF-SHA256/ECP-384 (group 20), ESP aes128gcm8 with PFS
# group 20, tunnel mode. esprit as initiator, then as responder; pings and
# 5 MB TCP both ways each time; DELETE from each side.
. "$(dirname "$0")/lib.sh"
iop_init
prop_set gcm-icv
scenario_two_roles
finish
