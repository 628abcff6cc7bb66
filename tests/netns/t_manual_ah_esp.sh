#!/bin/bash
# Manual keying, AH + ESP bundle in one transform set: see tests/netns/manual.sh for what is checked.
. "$(dirname "$0")/manual.sh"
manual_scenario ah-esp ah
finish
