/* Traffic selectors and packet flows: what a crypto ACL entry, an IKEv2
 * TS payload and an SA's selectors have in common. */
#ifndef ESPRIT_IPSEC_TS_H
#define ESPRIT_IPSEC_TS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"

/* One selector: protocol (0 = any), source and destination prefixes and
 * port ranges (0..65535 = any). For ICMP, ports carry type/code as IKEv2
 * does (type in the high byte). */
struct ts {
	uint8_t proto;
	struct ip_prefix src, dst;
	uint16_t sport_lo, sport_hi;
	uint16_t dport_lo, dport_hi;
};

#define TS_LIST_MAX 16
struct ts_list {
	unsigned n;
	struct ts ts[TS_LIST_MAX];
};

/* The 5-tuple of a clear packet. */
struct flow {
	struct ip_addr src, dst;
	uint8_t proto;
	uint16_t sport, dport; /* 0 if not TCP/UDP/SCTP; ICMP: type<<8|code in dport */
	/* Non-initial fragment: the ports are not in the packet (RFC 4301
	 * 4.4.1.1 "OPAQUE"); such a flow matches only selectors whose port
	 * ranges are the whole 0..65535. */
	bool opaque;
};

/* Parse the outer header of a clear IP packet (v4 or v6, skipping IPv6
 * extension headers) through the cursor. False if malformed. */
bool flow_from_packet(const uint8_t *pkt, size_t len, struct flow *f);
/* Selector semantics: proto 0 = any; a prefix whose af is 0 matches any
 * address of either family; ports are inclusive ranges. For ICMP and
 * ICMPv6 the type/code (type << 8 | code) is compared with the dport
 * range in both directions (it is not a port pair: never swapped) and the
 * sport range must contain 0. */
bool ts_match(const struct ts *t, const struct flow *f);
/* Match with src/dst swapped (inbound check against outbound selectors). */
bool ts_match_reverse(const struct ts *t, const struct flow *f);
bool ts_list_match(const struct ts_list *l, const struct flow *f, bool reverse);
void ts_any(struct ts *t, int af);
/* "198.18.1.0/24 -> 198.18.2.0/24 proto 6 dport 80" (ranges that are
 * 0..65535 and proto 0 are left out). Returns buf. */
const char *ts_str(const struct ts *t, char *buf, size_t len);
#define TS_STRLEN 160
/* The same for a flow: "198.18.1.1:1024 -> 198.18.2.1:80 proto 6". */
const char *flow_str(const struct flow *f, char *buf, size_t len);

#endif
