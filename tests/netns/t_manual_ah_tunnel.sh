#!/bin/bash
# Manual keying, AH HMAC tunnel (RFC 4302): see tests/netns/manual.sh for what is checked.
. "$(dirname "$0")/manual.sh"
manual_scenario ah-tunnel ah
finish
