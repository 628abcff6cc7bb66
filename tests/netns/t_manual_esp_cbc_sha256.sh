#!/bin/bash
# Manual keying, ESP AES-CBC-256 + HMAC-SHA-256-128 tunnel: see tests/netns/manual.sh for what is checked.
. "$(dirname "$0")/manual.sh"
manual_scenario esp-cbc-sha256 esp
finish
