#!/bin/bash
# Manual keying, IPComp DEFLATE before ESP (RFC 3173), compressible payload: see tests/netns/manual.sh for what is checked.
. "$(dirname "$0")/manual.sh"
manual_scenario ipcomp esp "$HA" "$HB" "$HB4" "$HA4" text
finish
