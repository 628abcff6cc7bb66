#!/bin/bash
# IKEv2 and an AH+ESP transform set: IKEv2 negotiates no AH+ESP bundle (RFC
# 7296 section 1.7; each Child SA is one protocol), so espritd refuses the
# configuration at the crypto map's set transform-set line, with -t and at
# start (it used to leave AH out of the proposal silently and run ESP
# only). AH+ESP with manual keys: t_manual_ah_esp. See ikev2_modes.sh.
. "$(dirname "$0")/ikev2_modes.sh"
M_TS="ah-sha-hmac esp-aes 192 esp-sha-hmac"
X_REFUSED="transform set has AH and ESP: IKEv2 negotiates no AH+ESP bundle"
ikev2_mode_scenario
finish
