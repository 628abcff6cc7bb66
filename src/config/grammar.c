/* The command table: every configuration command, in show running-config
 * order. The apply and write functions live in cmd_*.c. */
#include <string.h>

#include "config/cmds.h"
#include "config/grammar.h"

/* IOS transform names (crypto ipsec transform-set). */
#define XF_SIZE "[{128|192|256}]"
#define XF                                                                                         \
	"{esp-des|esp-3des|esp-aes " XF_SIZE "|esp-aes-ctr " XF_SIZE "|esp-gcm " XF_SIZE            \
	"|esp-gcm-icv8 " XF_SIZE "|esp-gcm-icv12 " XF_SIZE "|esp-gmac " XF_SIZE                     \
	"|esp-chacha20-poly1305|esp-null|esp-md5-hmac|esp-sha-hmac"                                 \
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
#define PFS                                                                                        \
	"{group1|group2|group5|group14|group15|group16|group17|group18|group19|group20|group21"     \
	"|group31|group32}"

/* IKEv2 proposal lists (several per line, in preference order). */
#define R1(x) "[" x "]"
#define R2(x) "[" x " " R1(x) "]"
#define R3(x) "[" x " " R2(x) "]"
#define R4(x) "[" x " " R3(x) "]"
#define R5(x) "[" x " " R4(x) "]"
#define R6(x) "[" x " " R5(x) "]"
#define R7(x) "[" x " " R6(x) "]"
#define R8(x) "[" x " " R7(x) "]"
#define R9(x) "[" x " " R8(x) "]"
#define R10(x) "[" x " " R9(x) "]"
#define R11(x) "[" x " " R10(x) "]"
#define R12(x) "[" x " " R11(x) "]"
#define IKE_ENCR                                                                                   \
	"{aes-cbc-128|aes-cbc-192|aes-cbc-256|3des|aes-gcm-128|aes-gcm-256|aes-gcm-128-icv8"           \
	"|aes-gcm-128-icv12|aes-gcm-256-icv8|aes-gcm-256-icv12|chacha20-poly1305}"
#define IKE_INTEG "{sha1|md5|sha256|sha384|sha512|aes-xcbc-mac|aes-cmac}"
#define IKE_GROUP "{1|2|5|14|15|16|17|18|19|20|21|31|32}"
#define IKE_ID "{address ADDR|fqdn WORD|email WORD|key-id WORD}"
#define IKE_MATCH_ID                                                                               \
	"{address {A.B.C.D [A.B.C.D]|X:X::X/M}|fqdn [domain] WORD|email [domain] WORD|key-id WORD}"
#define DPD "dpd <10-3600> <2-60> {on-demand|periodic}"

const struct cfg_cmd cfg_cmds[] = {
	/* ---- global, in canonical order ---- */
	{MODE_GLOBAL, "hostname WORD", "Set system's network name", -1, cmd_hostname,
	 wr_hostname},
	{MODE_GLOBAL, "esprit {tunnel-interface WORD|control-socket WORD}",
	 "esprit daemon settings", -1, cmd_esprit, wr_esprit},
	{MODE_GLOBAL, "crypto engine workers <0-1024>", "Data-plane worker threads (0 = one per core)",
	 -1, cmd_workers, wr_workers},
	{MODE_GLOBAL, "crypto engine queue-length <16-65536>",
	 "Packets each queue of the tunnel devices holds for the workers (default 500)", -1,
	 cmd_queue_len, wr_queue_len},
	{MODE_GLOBAL, "crypto engine cpus WORD",
	 "CPUs the workers run on, one each in order (a list: 0-3,6; no = any CPU)", -1, cmd_cpus,
	 wr_cpus},
	{MODE_GLOBAL,
	 "crypto engine offload {multiqueue|tso|udp-gso|udp-gro|tun-gro|batch-crypto|uso|ipsec-mb}",
	 "Data-plane offload (on by default; `no` turns it off, read at start-up)", -1,
	 cmd_offload, wr_offload},
	{MODE_GLOBAL, "crypto engine offload xdp-tx",
	 "Send native ESP/AH with AF_XDP, past the kernel's IP output (off by default; read at "
	 "start-up)",
	 -1, cmd_offload_xdp_tx, wr_offload_xdp_tx},
	{MODE_GLOBAL, "key config-key password-encrypt WORD",
	 "Master key for type 6 (encrypted) pre-shared keys", -1, cmd_master_key, wr_master_key},
	{MODE_GLOBAL, "password encryption aes", "Encrypt pre-shared keys (type 6)", -1,
	 cmd_password_encryption, wr_password_encryption},
	{MODE_GLOBAL, "crypto ikev2 defaults {modern|ios-legacy}",
	 "Contents of the default IKEv2 proposal and policy", -1, cmd_ikev2_defaults,
	 wr_ikev2_defaults},
	{MODE_GLOBAL, "crypto ikev2 proposal WORD", "Define IKEv2 proposals", MODE_IKEV2_PROPOSAL,
	 cmd_ikev2_proposal, wr_ikev2_proposal},
	{MODE_GLOBAL, "crypto ikev2 policy WORD", "Define IKEv2 policies", MODE_IKEV2_POLICY,
	 cmd_ikev2_policy, wr_ikev2_policy},
	{MODE_GLOBAL, "crypto ikev2 keyring WORD", "Define IKEv2 keyrings", MODE_IKEV2_KEYRING,
	 cmd_ikev2_keyring, wr_ikev2_keyring},
	{MODE_GLOBAL, "crypto ikev2 profile WORD", "Define IKEv2 profiles", MODE_IKEV2_PROFILE,
	 cmd_ikev2_profile_def, wr_ikev2_profile_def},
	{MODE_GLOBAL, "crypto ikev2 cookie-challenge <1-1000>",
	 "Half-open IKE SAs before a COOKIE is requested (RFC 7296 section 2.6)", -1,
	 cmd_ikev2_cookie, wr_ikev2_cookie},
	{MODE_GLOBAL, "crypto ikev2 " DPD, "Dead peer detection (RFC 7296 section 2.4)", -1,
	 cmd_ikev2_dpd, wr_ikev2_dpd},
	{MODE_GLOBAL, "crypto ikev2 nat keepalive <5-3600>", "NAT keepalive interval (RFC 3948)", -1,
	 cmd_ikev2_nat, wr_ikev2_nat},
	{MODE_GLOBAL, "crypto ikev2 fragmentation [mtu <68-1500>]",
	 "IKE fragmentation (RFC 7383)", -1, cmd_ikev2_frag, wr_ikev2_frag},
	{MODE_GLOBAL, "crypto ikev2 limit max-in-negotiation-sa <1-100000>",
	 "Limit IKE SAs in negotiation", -1, cmd_ikev2_limit, wr_ikev2_limit},
	{MODE_GLOBAL, "crypto ipsec security-association {" SA_REPLAY "|" SA_LIFETIME "}",
	 "Security association parameters", -1, cmd_ipsec_sa, wr_ipsec_sa},
	{MODE_GLOBAL, "crypto ipsec nat-transparency udp-encapsulation",
	 "UDP encapsulation of ESP (RFC 3948)", -1, cmd_nat_t, wr_nat_t},
	{MODE_GLOBAL, "crypto ipsec df-bit {clear|set|copy}",
	 "Handle DF bit for the encapsulating header", -1, cmd_df_bit, wr_df_bit},
	{MODE_GLOBAL, "crypto ipsec fragmentation {before-encryption|after-encryption}",
	 "Fragmentation of packets over the path MTU", -1, cmd_frag, wr_frag},
	{MODE_GLOBAL, "crypto ipsec transform-set WORD " XF " [" XF " [" XF " [" XF "]]]",
	 "Define transform and settings", MODE_TRANS, cmd_transform_set, wr_transform_set},
	{MODE_GLOBAL, "crypto ipsec profile WORD", "Configure an ipsec policy profile",
	 MODE_IPSEC_PROFILE, cmd_ipsec_profile, wr_ipsec_profile},
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
	 "crypto {isakmp LINE|keyring LINE|pki LINE}",
	 "Kept verbatim (not modelled yet)", MODE_OPAQUE, cmd_opaque, wr_opaque},
	{MODE_GLOBAL, "exit", "Exit from configure mode", -1, cmd_exit, NULL},
	{MODE_GLOBAL, "end", "Exit from configure mode", -1, cmd_exit, NULL},

	/* ---- crypto ipsec transform-set NAME ... ---- */
	{MODE_TRANS, "mode {tunnel|transport}", "encapsulation mode (transport/tunnel)", -1,
	 cmd_trans_mode, wr_trans_mode},

	/* ---- crypto map NAME SEQ ... ---- */
	{MODE_MAP, "set peer ADDR", "Allowed Encryption/Decryption peer", -1, cmd_set_peer,
	 wr_set_peer},
	{MODE_MAP, "set transform-set WORD " R5("WORD"),
	 "Specify list of transform sets in priority order", -1,
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
	{MODE_MAP, "set pfs " PFS, "Specify pfs settings", -1, cmd_pfs, wr_pfs},
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
	{MODE_IF, "tunnel mode ipsec {ipv4|ipv6|dual-overlay}", "tunnel encapsulation method", -1,
	 cmd_tun_mode, wr_tun_mode},
	{MODE_IF, "tunnel protection ipsec profile WORD", "Enable tunnel protection", -1,
	 cmd_tun_prot, wr_tun_prot},
	{MODE_IF, "shutdown", "Shutdown the selected interface", -1, cmd_shutdown, wr_shutdown},

	/* ---- crypto ikev2 proposal NAME ---- */
	{MODE_IKEV2_PROPOSAL, "encryption " IKE_ENCR " " R7(IKE_ENCR),
	 "Set encryption algorithm(s), in order of preference", -1, cmd_prop_encr, wr_prop_encr},
	{MODE_IKEV2_PROPOSAL, "integrity " IKE_INTEG " " R6(IKE_INTEG),
	 "Set integrity algorithm(s), in order of preference", -1, cmd_prop_integ, wr_prop_integ},
	{MODE_IKEV2_PROPOSAL, "prf " IKE_INTEG " " R6(IKE_INTEG),
	 "Set pseudo-random function(s), in order of preference", -1, cmd_prop_prf, wr_prop_prf},
	{MODE_IKEV2_PROPOSAL, "group " IKE_GROUP " " R12(IKE_GROUP),
	 "Set Diffie-Hellman group(s), in order of preference", -1, cmd_prop_group, wr_prop_group},

	/* ---- crypto ikev2 policy NAME ---- */
	{MODE_IKEV2_POLICY, "proposal WORD", "Specify proposal", -1, cmd_pol_proposal,
	 wr_pol_proposal},
	{MODE_IKEV2_POLICY, "match address local ADDR", "Local address", -1, cmd_pol_local,
	 wr_pol_local},
	{MODE_IKEV2_POLICY, "match fvrf any", "Match any front door VRF", -1, cmd_pol_fvrf,
	 wr_pol_fvrf},

	/* ---- crypto ikev2 keyring NAME ---- */
	{MODE_IKEV2_KEYRING, "peer WORD", "Configure a peer and enter keyring peer mode",
	 MODE_IKEV2_PEER, cmd_kr_peer, wr_kr_peer},
	/* ---- peer NAME (inside a keyring) ---- */
	{MODE_IKEV2_PEER, "address {A.B.C.D [A.B.C.D]|X:X::X/M}", "Peer address", -1,
	 cmd_peer_addr, wr_peer_addr},
	{MODE_IKEV2_PEER, "identity " IKE_ID, "Peer identity", -1, cmd_peer_id, wr_peer_id},
	{MODE_IKEV2_PEER, "pre-shared-key [{local|remote}] [{0|6}] KEY", "Pre-shared key", -1,
	 cmd_peer_psk, wr_peer_psk},

	/* ---- crypto ikev2 profile NAME ---- */
	{MODE_IKEV2_PROFILE, "match identity remote " IKE_MATCH_ID, "Match remote identity", -1,
	 cmd_prof_match_id, wr_prof_match_id},
	{MODE_IKEV2_PROFILE, "match certificate WORD", "Match a certificate map", -1,
	 cmd_prof_match_cert, wr_prof_match_cert},
	{MODE_IKEV2_PROFILE, "match address local ADDR", "Local address", -1, cmd_prof_local,
	 wr_prof_local},
	{MODE_IKEV2_PROFILE, "identity local " IKE_ID, "Local identity", -1, cmd_prof_id,
	 wr_prof_id},
	{MODE_IKEV2_PROFILE,
	 "authentication {local|remote} {pre-share [key [{0|6}] KEY]|rsa-sig|ecdsa-sig}",
	 "Authentication method", -1, cmd_prof_auth, wr_prof_auth},
	{MODE_IKEV2_PROFILE, "keyring local WORD", "Keyring for pre-shared keys", -1,
	 cmd_prof_keyring, wr_prof_keyring},
	{MODE_IKEV2_PROFILE, "pki trustpoint WORD", "PKI trustpoint", -1, cmd_prof_pki,
	 wr_prof_pki},
	{MODE_IKEV2_PROFILE, DPD " [{clear|hold|restart}]", "Dead peer detection", -1,
	 cmd_prof_dpd, wr_prof_dpd},
	{MODE_IKEV2_PROFILE, "lifetime <120-86400>", "IKE SA lifetime in seconds", -1,
	 cmd_prof_lifetime, wr_prof_lifetime},
	{MODE_IKEV2_PROFILE, "nat keepalive <5-3600>", "NAT keepalive interval", -1, cmd_prof_nat,
	 wr_prof_nat},
	{MODE_IKEV2_PROFILE, "fragmentation mtu <68-1500>", "IKE fragment size (RFC 7383)", -1,
	 cmd_prof_frag, wr_prof_frag},

	/* ---- crypto ipsec profile NAME ---- */
	{MODE_IPSEC_PROFILE, "set transform-set WORD " R5("WORD"),
	 "Specify list of transform sets in priority order", -1,
	 cmd_ipp_ts, wr_ipp_ts},
	{MODE_IPSEC_PROFILE, "set ikev2-profile WORD", "Specify ikev2 Profile", -1,
	 cmd_ipp_ikev2, wr_ipp_ikev2},
	{MODE_IPSEC_PROFILE, "set isakmp-profile WORD", "Specify isakmp Profile", -1,
	 cmd_ipp_isakmp, wr_ipp_isakmp},
	{MODE_IPSEC_PROFILE, "set pfs " PFS, "Specify pfs settings", -1, cmd_ipp_pfs, wr_ipp_pfs},
	{MODE_IPSEC_PROFILE, "set security-association " SA_LIFETIME,
	 "Security association parameters", -1, cmd_ipp_sa, wr_ipp_sa},
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
	{"dual-overlay", "IPv4 and IPv6 over one IPsec SA pair"},
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
	{"ikev2", "Configure IKEv2 server"},
	{"pki", "Public Key components (kept verbatim)"},
	{"aes-cbc-128", "AES-CBC-128"},
	{"aes-cbc-192", "AES-CBC-192"},
	{"aes-cbc-256", "AES-CBC-256"},
	{"3des", "Triple DES, legacy"},
	{"aes-gcm-128", "AES-GCM-128 (combined mode, no integrity)"},
	{"aes-gcm-256", "AES-GCM-256 (combined mode, no integrity)"},
	{"aes-gcm-128-icv8", "AES-GCM-128 with an 8-byte ICV (RFC 5282)"},
	{"aes-gcm-128-icv12", "AES-GCM-128 with a 12-byte ICV (RFC 5282)"},
	{"aes-gcm-256-icv8", "AES-GCM-256 with an 8-byte ICV (RFC 5282)"},
	{"aes-gcm-256-icv12", "AES-GCM-256 with a 12-byte ICV (RFC 5282)"},
	{"chacha20-poly1305", "ChaCha20-Poly1305 (RFC 7634), no integrity"},
	{"sha1", "SHA-1 (HMAC variant)"},
	{"md5", "MD5 (HMAC variant), weak"},
	{"sha256", "SHA-256 (HMAC variant)"},
	{"sha384", "SHA-384 (HMAC variant)"},
	{"sha512", "SHA-512 (HMAC variant)"},
	{"aes-xcbc-mac", "AES-XCBC-MAC"},
	{"aes-cmac", "AES-CMAC"},
	{"pre-share", "Pre-shared key"},
	{"rsa-sig", "RSA signature"},
	{"ecdsa-sig", "ECDSA signature"},
	{"on-demand", "DPD only when traffic is sent and none received"},
	{"periodic", "DPD at every interval"},
	{"ios-legacy", "The IOS default proposal (aes-cbc-128 3des, sha1 md5, group 5 2)"},
	{"modern", "AES-GCM/AES-CBC, SHA-2, groups 19 20 21 31 14"},
	{"ipsec-manual", "IPSec w/manually established security associations"},
	{"ipsec-isakmp", "IPSec w/ISAKMP"},
	{"local-address", "Interface to use for local address for this crypto map"},
	{"esp-des", "ESP transform using DES cipher (56 bits), weak"},
	{"esp-3des", "ESP transform using 3DES(EDE) cipher (168 bits), legacy"},
	{"esp-aes", "ESP transform using AES-CBC cipher"},
	{"esp-aes-ctr", "ESP transform using AES-CTR cipher (RFC 3686)"},
	{"esp-gcm", "ESP transform using GCM cipher (RFC 4106)"},
	{"esp-gcm-icv8", "ESP transform using GCM cipher with an 8-byte ICV (RFC 4106)"},
	{"esp-gcm-icv12", "ESP transform using GCM cipher with a 12-byte ICV (RFC 4106)"},
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
