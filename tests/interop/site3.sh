# Helpers shared by t_trigger.sh and t_share.sh: hostB's second site
# (198.19.3.2/24 on a second link, lan1, behind gwB's 198.19.3.1), esprit's
# crypto map entries for gwB, strongSwan connections with children for
# hostB's sites, and views of gwB's children. Sourced after lib.sh; the
# script sets ES_PFS, CHILD_LIFE, SW_ESP, SW_IKE, HB3 and GB3_LAN.

es_entry() { # SEQ ACL
	cat <<EOF
crypto map VPN $1 ipsec-isakmp
 set peer $GB4
 set transform-set TS
 match address $2
 set security-association lifetime seconds $CHILD_LIFE
 set pfs group$ES_PFS
 set ikev2-profile PROF
!
EOF
}

# gwB: connections and children (remote_ts always hostA's site).
sw_child() { # NAME LOCAL_TS
	cat <<EOF
      $1 {
        mode = tunnel
        local_ts = $2
        remote_ts = 198.19.1.0/24
        esp_proposals = $SW_ESP
        start_action = none
        dpd_action = clear
        close_action = none
      }
EOF
}
sw_conn() { # NAME CHILDREN
	cat <<EOF
  $1 {
    version = 2
    local_addrs = $GB4
    remote_addrs = $GA4
    proposals = $SW_IKE
    encap = yes
    reauth_time = 0
    local {
      auth = psk
      id = $GB4
    }
    remote {
      auth = psk
      id = $GA4
    }
    children {
$2
    }
  }
EOF
}
sw_file() { # CONNECTIONS
	cat <<EOF
connections {
$1
}
secrets {
  ike-lab {
    id-a = $GB4
    id-b = $GA4
    secret = "$PSK"
  }
}
EOF
}

gwb_start() {
	swan_write_conf B
	sw_file "$(sw_conn lab "$(sw_child net2 198.19.2.0/24; sw_child net3 198.19.3.0/24)")" \
		>"$RUNDIR/B/swanctl.conf"
	swan_start B "$GB"
}

# hostB's second site on a second link to gwB.
topo_site3() {
	veth_pair "$GB" lan1 "$HB" lan1 || bail "veth gwB-hostB (lan1)"
	ip -n "$GB" addr add $GB3_LAN/24 dev lan1
	ip -n "$HB" addr add $HB3/24 dev lan1
	ip -n "$GB" link set lan1 up
	ip -n "$HB" link set lan1 up
	# hostB answers 198.19.3.2 through its default route (lan0)
	sysctl_ns "$HB" net.ipv4.conf.all.rp_filter=0
	sysctl_ns "$HB" net.ipv4.conf.lan1.rp_filter=0
}

# ---- views of both sides ------------------------------------------------------------

# sw_installed: names of gwB's INSTALLED children, sorted, space-separated.
sw_installed() {
	sw_list B | sed -n 's/^  \([A-Za-z0-9_-]*\): #[0-9]*, reqid [0-9]*, INSTALLED.*/\1/p' | sort | tr '\n' ' ' | sed 's/ $//'
}
sw_is() { [ "$(sw_installed)" = "$1" ]; }
