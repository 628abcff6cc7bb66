#!/bin/bash
# Manual keying, ESP transport mode, gateway to gateway: see tests/netns/manual.sh for what is checked.
. "$(dirname "$0")/manual.sh"
manual_scenario transport esp "$GA" "$GB" "$GB4" "$GA4"
finish
