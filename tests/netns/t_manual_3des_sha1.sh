#!/bin/bash
# Manual keying, ESP 3DES + HMAC-SHA1-96 tunnel: see tests/netns/manual.sh for what is checked.
. "$(dirname "$0")/manual.sh"
manual_scenario 3des-sha1 esp
finish
