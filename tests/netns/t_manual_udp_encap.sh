#!/bin/bash
# Manual keying, ESP-in-UDP (RFC 3948) forced by nat-transparency udp-encapsulation: see tests/netns/manual.sh for what is checked.
. "$(dirname "$0")/manual.sh"
manual_scenario udp-encap "udp.port == 4500"
finish
