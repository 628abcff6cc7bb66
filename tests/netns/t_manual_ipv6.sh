#!/bin/bash
# Manual keying, IPv6 outer and inner: see tests/netns/manual.sh for what is checked.
. "$(dirname "$0")/manual.sh"
manual_scenario ipv6 esp "$HA" "$HB" "$HB6" "$HA6"
finish
