/* The command table: every configuration command, in show running-config
 * order. The apply and write functions live in cmd_*.c. */
#include <string.h>

#include "config/cmds.h"
#include "config/grammar.h"

/* IOS transform names (crypto ipsec transform-set). */
#define XF_SIZE "[{128|192|256}]"
#define XF                                                                                         \
	"{esp-des|esp-3des|esp-aes " XF_SIZE "|esp-aes-ctr " XF_SIZE "|esp-gcm " XF_SIZE            \
	"|esp-gmac " XF_SIZE "|esp-chacha20-poly1305|esp-null|esp-md5-hmac|esp-sha-hmac"            \
	"|esp-sha256-hmac|esp-sha384-hmac|esp-sha512-hmac|esp-aes-xcbc-mac|esp-aes-cmac"             \
	"|ah-md5-hmac|ah-sha-hmac|ah-sha256-hmac|ah-sha384-hmac|ah-sha512-hmac|comp-deflate}"

/* Access list entries: RFC-less, IOS syntax. */
#define PORTS "[{eq <0-65535>|range <0-65535> <0-65535>|gt <0-65535>|lt <0-65535>}]"
#define ADDR4 "{any|host A.B.C.D|A.B.C.D A.B.C.D}"
#define ADDR6 "{any|host X:X::X|X:X::X/M}"
#define ACE4 "{permit|deny} {ip|tcp|udp|icmp|<0-255>} " ADDR4 " " PORTS " " ADDR4 " " PORTS
#define ACE6 "{permit|deny} {ipv6|tcp|udp|icmp|<0-255>} " ADDR6 " " PORTS " " ADDR6 " " PORTS

#define SA_LIFETIME "lifetime {seconds <120-86400>|kilobytes <2560-4294967295>}"
#define SA_REPLAY "replay {window-size <32-65536>|disable}"
#define SPI "<256-4294967295>"

const struct cfg_cmd cfg_cmds[] = {
	/* ---- global, in canonical order ---- */
	{MODE_GLOBAL, "hostname WORD", "Set system's network name", -1, cmd_hostname,
	 wr_hostname},
	{MODE_GLOBAL, "esprit {tunnel-interface WORD|control-socket WORD}",
	 "esprit daemon settings", -1, cmd_esprit, wr_esprit},
	{MODE_GLOBAL, "crypto engine workers <0-1024>", "Data-plane worker threads (0 = one per core)",
	 -1, cmd_workers, wr_workers},
	{MODE_GLOBAL, "crypto ipsec security-association {" SA_REPLAY "|" SA_LIFETIME "}",
	 "Security association parameters", -1, cmd_ipsec_sa, wr_ipsec_sa},
	{MODE_GLOBAL, "crypto ipsec nat-transparency udp-encapsulation",
	 "UDP encapsulation of ESP (RFC 3948)", -1, cmd_nat_t, wr_nat_t},
	{MODE_GLOBAL, "crypto ipsec transform-set WORD " XF " [" XF " [" XF " [" XF "]]]",
	 "Define transform and settings", MODE_TRANS, cmd_transform_set, wr_transform_set},
	{MODE_GLOBAL, "ip access-list extended WORD", "Extended Access List", MODE_ACL, cmd_acl,
	 wr_acl},
	{MODE_GLOBAL, "ipv6 access-list WORD", "Configure IPv6 access lists", MODE_ACL6, cmd_acl6,
	 wr_acl6},
	{MODE_GLOBAL, "access-list {<100-199>|<2000-2699>} " ACE4,
	 "Add an extended access list entry", -1, cmd_acl_numbered, wr_acl_numbered},
	{MODE_GLOBAL, "crypto map WORD <1-65535> [{ipsec-manual|ipsec-isakmp}]",
	 "Enter a crypto map", MODE_MAP, cmd_map, wr_map},
	{MODE_GLOBAL, "crypto map WORD local-address {ADDR|WORD}",
	 "Interface or address to use for local address for this crypto map", -1,
	 cmd_map_local, wr_map_local},
	{MODE_GLOBAL, "interface WORD", "Select an interface to configure", MODE_IF, cmd_interface,
	 wr_interface},
	{MODE_GLOBAL, "ip route A.B.C.D A.B.C.D {A.B.C.D|WORD}", "Establish static routes", -1,
	 cmd_route, wr_route},
	{MODE_GLOBAL, "ipv6 route X:X::X/M {X:X::X|WORD}", "Establish static IPv6 routes", -1,
	 cmd_route6, wr_route6},
	{MODE_GLOBAL,
	 "crypto {isakmp LINE|keyring LINE|ikev2 LINE|pki LINE|ipsec profile LINE}",
	 "Kept verbatim (not modelled yet)", MODE_OPAQUE, cmd_opaque, wr_opaque},
	{MODE_GLOBAL, "exit", "Exit from configure mode", -1, cmd_exit, NULL},
	{MODE_GLOBAL, "end", "Exit from configure mode", -1, cmd_exit, NULL},

	/* ---- crypto ipsec transform-set NAME ... ---- */
	{MODE_TRANS, "mode {tunnel|transport}", "encapsulation mode (transport/tunnel)", -1,
	 cmd_trans_mode, wr_trans_mode},

	/* ---- crypto map NAME SEQ ... ---- */
	{MODE_MAP, "set peer ADDR", "Allowed Encryption/Decryption peer", -1, cmd_set_peer,
	 wr_set_peer},
	{MODE_MAP, "set transform-set WORD", "Specify list of transform sets in priority order", -1,
	 cmd_set_ts, wr_set_ts},
	{MODE_MAP, "match address WORD", "Match address of packets to encrypt", -1,
	 cmd_match_address, wr_match_address},
	{MODE_MAP,
	 "set session-key {inbound|outbound} {esp " SPI " {cipher HEX [authenticator HEX]"
	 "|authenticator HEX}|ah " SPI " HEX}",
	 "Specify a session key for manual keying", -1, cmd_session_key, wr_session_key},
	{MODE_MAP,
	 "set security-association {" SA_REPLAY "|level per-host|" SA_LIFETIME "}",
	 "Security association parameters", -1, cmd_map_sa, wr_map_sa},
	{MODE_MAP,
	 "set pfs {group1|group2|group5|group14|group15|group16|group19|group20|group21|group24}",
	 "Specify pfs settings", -1, cmd_pfs, wr_pfs},
	{MODE_MAP, "set ikev2-profile WORD", "Specify ikev2 Profile", -1, cmd_ikev2_profile,
	 wr_ikev2_profile},

	/* ---- ip access-list extended NAME ---- */
	{MODE_ACL, "[<1-2147483647>] " ACE4, "Access list entry", -1, cmd_ace, wr_ace},
	/* ---- ipv6 access-list NAME ---- */
	{MODE_ACL6, "[<1-2147483647>] " ACE6, "IPv6 access list entry", -1, cmd_ace6, wr_ace},

	/* ---- interface NAME ---- */
	{MODE_IF, "ip address A.B.C.D A.B.C.D", "Set the IP address of an interface", -1,
	 cmd_if_addr, wr_if_addr},
	{MODE_IF, "ipv6 address X:X::X/M", "Set the IPv6 address of an interface", -1,
	 cmd_if_addr6, wr_if_addr6},
	{MODE_IF, "crypto map WORD", "Assign a Crypto Map", -1, cmd_if_map, wr_if_map},
	{MODE_IF, "tunnel source ADDR", "source of tunnel packets", -1, cmd_tun_src, wr_tun_src},
	{MODE_IF, "tunnel destination ADDR", "destination of tunnel", -1, cmd_tun_dst, wr_tun_dst},
	{MODE_IF, "tunnel mode ipsec {ipv4|ipv6}", "tunnel encapsulation method", -1, cmd_tun_mode,
	 wr_tun_mode},
	{MODE_IF, "tunnel protection ipsec profile WORD", "Enable tunnel protection", -1,
	 cmd_tun_prot, wr_tun_prot},
	{MODE_IF, "shutdown", "Shutdown the selected interface", -1, cmd_shutdown, wr_shutdown},
};

const size_t cfg_ncmds = sizeof(cfg_cmds) / sizeof(cfg_cmds[0]);

static const struct {
	const char *kw, *help;
} kw_help[] = {
	{"crypto", "Encryption module"},
	{"ipsec", "Configure IPSec policy"},
	{"map", "Enter a crypto map"},
	{"ip", "Global IP configuration subcommands"},
	{"ipv6", "Global IPv6 configuration commands"},
	{"access-list", "Add an access list entry"},
	{"interface", "Select an interface to configure"},
	{"transform-set", "Define transform and settings"},
	{"security-association", "Security association parameters"},
	{"nat-transparency", "IPsec NAT transparency model"},
	{"udp-encapsulation", "UDP encapsulation of IPsec protocols"},
	{"replay", "Set replay checking"},
	{"window-size", "Set replay window size"},
	{"disable", "Disable replay checking"},
	{"lifetime", "security association duration"},
	{"seconds", "Security association duration in seconds"},
	{"kilobytes", "Security association duration in kilobytes encrypted"},
	{"isakmp", "Configure ISAKMP policy (kept verbatim)"},
	{"ikev2", "Configure IKEv2 (kept verbatim)"},
	{"keyring", "Key ring commands (kept verbatim)"},
	{"pki", "Public Key components (kept verbatim)"},
	{"profile", "Configure an ipsec policy profile (kept verbatim)"},
	{"ipsec-manual", "IPSec w/manually established security associations"},
	{"ipsec-isakmp", "IPSec w/ISAKMP"},
	{"local-address", "Interface to use for local address for this crypto map"},
	{"esp-des", "ESP transform using DES cipher (56 bits), weak"},
	{"esp-3des", "ESP transform using 3DES(EDE) cipher (168 bits), legacy"},
	{"esp-aes", "ESP transform using AES-CBC cipher"},
	{"esp-aes-ctr", "ESP transform using AES-CTR cipher (RFC 3686)"},
	{"esp-gcm", "ESP transform using GCM cipher (RFC 4106)"},
	{"esp-gmac", "ESP transform using GMAC cipher, no encryption (RFC 4543)"},
	{"esp-chacha20-poly1305", "ESP transform using ChaCha20-Poly1305 (RFC 7634)"},
	{"esp-null", "ESP transform w/o cipher"},
	{"esp-md5-hmac", "ESP transform using HMAC-MD5 auth, weak"},
	{"esp-sha-hmac", "ESP transform using HMAC-SHA auth"},
	{"esp-sha256-hmac", "ESP transform using HMAC-SHA256 auth"},
	{"esp-sha384-hmac", "ESP transform using HMAC-SHA384 auth"},
	{"esp-sha512-hmac", "ESP transform using HMAC-SHA512 auth"},
	{"esp-aes-xcbc-mac", "ESP transform using AES-XCBC-MAC auth"},
	{"esp-aes-cmac", "ESP transform using AES-CMAC auth"},
	{"ah-md5-hmac", "AH-HMAC-MD5 transform, weak"},
	{"ah-sha-hmac", "AH-HMAC-SHA transform"},
	{"ah-sha256-hmac", "AH-HMAC-SHA256 transform"},
	{"ah-sha384-hmac", "AH-HMAC-SHA384 transform"},
	{"ah-sha512-hmac", "AH-HMAC-SHA512 transform"},
	{"comp-deflate", "IP Compression using the Deflate algorithm (RFC 2394)"},
	{"128", "128 bit keys"},
	{"192", "192 bit keys"},
	{"256", "256 bit keys"},
	{"tunnel", "tunnel (datagram encapsulation)"},
	{"transport", "transport (payload encapsulation)"},
	{"peer", "Allowed Encryption/Decryption peer"},
	{"session-key", "Specify a session key for manual keying"},
	{"inbound", "Specify an inbound session key"},
	{"outbound", "Specify an outbound session key"},
	{"esp", "Specify an ESP key"},
	{"ah", "Specify an AH key"},
	{"cipher", "Specify an ESP cipher key"},
	{"authenticator", "Specify an ESP authenticator key"},
	{"permit", "Specify packets to forward"},
	{"deny", "Specify packets to reject"},
	{"any", "Any host or network"},
	{"host", "A single host address"},
	{"eq", "Match only packets on a given port number"},
	{"range", "Match only packets in the range of port numbers"},
	{"gt", "Match only packets with a greater port number"},
	{"lt", "Match only packets with a lower port number"},
	{"exit", "Exit from the current mode"},
	{"end", "Exit from configure mode"},
	{"no", "Negate a command or set its defaults"},
	{"do", "To run exec commands in config mode"},
};

const char *cfg_kw_help(const char *kw, int cmd)
{
	for (size_t i = 0; i < sizeof(kw_help) / sizeof(kw_help[0]); i++)
		if (strcmp(kw_help[i].kw, kw) == 0)
			return kw_help[i].help;
	return cmd >= 0 && (size_t)cmd < cfg_ncmds ? cfg_cmds[cmd].help : "";
}
