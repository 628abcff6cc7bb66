#!/bin/bash
# Manual keying, ESP AES-GCM-256 tunnel (RFC 4106): see tests/netns/manual.sh for what is checked.
. "$(dirname "$0")/manual.sh"
manual_scenario esp-gcm esp
finish
