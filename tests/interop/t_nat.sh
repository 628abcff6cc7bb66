#!/bin/bash
# NAT between the gateways: hostA - gwA - nat - gwB - hostB. The 'nat'
# namespace masquerades gwA (198.18.1.1) to 198.18.0.3 with nftables and
# forwards nothing inbound that conntrack does not know. gwA (esprit, id
# 198.18.1.1) initiates to gwB (strongSwan, remote_addrs %any); gwB must
# see gwA's IKE and ESP-in-UDP come from the NAT's address and port.
# Pings and 5 MB TCP both ways; gwB rekeys the child and the IKE SA
# through the NAT mapping; DELETE from gwB; gwA initiates again and
# deletes.
. "$(dirname "$0")/lib.sh"
iop_init
prop_set gcm
NAT_MODE=1
iop_setup

behind_nat() { sw_list B | grep -q "remote '$GA4_NAT' @ $NT4_OUT\["; }
info "== gwA ($GWA_IMPL) behind NAT initiates"
up_by gwa
check "gwB sees gwA ($GA4_NAT) at the NAT's address $NT4_OUT" behind_nat
info "gwB: $(sw_list B | grep -m1 "remote '")"
check_traffic
masq=$(nsx "$NT" nft list chain ip nat postrouting 2>/dev/null | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
check "the NAT box masqueraded the flows ($masq new connections)" num_gt "${masq:-x}" 0

info "== gwB rekeys the child and the IKE SA through the NAT"
old=$(sw_child_spis B) oldi=$(sw_ike_ids B)
check "swanctl --rekey --child net on gwB" sw B --rekey --child net
spis_changed() {
	local now
	now=$(sw_child_spis B)
	[ -n "$now" ] && sw_child_up B && [ -z "$(comm -12 <(echo "$1") <(echo "$now"))" ]
}
check "gwB: child has new SPIs" wait_for 15 spis_changed "$old"
check "swanctl --rekey --ike lab on gwB" sw B --rekey --ike lab
check "gwB: new IKE SA" wait_for 15 eval '[ -n "$(sw_ike_ids B)" ] && [ "$(sw_ike_ids B)" != "$oldi" ]'
check "both sides still show the child" eval 'gwa_child_up && sw_child_up B'
check_ping "$HA" "$HB4"
check_ping "$HB" "$HA4"
down_by gwb

info "== gwA initiates again, then deletes"
up_by gwa
check_ping "$HA" "$HB4"
check_ping "$HB" "$HA4"
down_by gwa
iop_teardown
finish
