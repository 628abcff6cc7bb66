/* IPv4/IPv6 addresses and prefixes. */
#ifndef ESPRIT_LIB_ADDR_H
#define ESPRIT_LIB_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ip_addr {
	uint8_t af; /* AF_INET, AF_INET6, or 0 for "unset" */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t b[16];
	};
};

struct ip_prefix {
	struct ip_addr addr; /* host bits are zero */
	uint8_t len;         /* 0..32 or 0..128 */
};

#define IP_ADDR_STRLEN 46 /* INET6_ADDRSTRLEN */

bool ip_addr_parse(const char *s, struct ip_addr *out);
/* Writes into buf (at least IP_ADDR_STRLEN); returns buf. */
const char *ip_addr_str(const struct ip_addr *a, char *buf);
bool ip_addr_eq(const struct ip_addr *a, const struct ip_addr *b);
size_t ip_addr_len(const struct ip_addr *a); /* 4, 16 or 0 */
void ip_addr_from_raw(struct ip_addr *a, int af, const void *raw);
bool ip_addr_is_any(const struct ip_addr *a);

/* "198.18.1.0/24" or "2001:db8::/32"; host bits are cleared. */
bool ip_prefix_parse(const char *s, struct ip_prefix *out);
/* A dotted mask ("255.255.255.0") or IOS wildcard ("0.0.0.255") to a
 * length; false if the mask is not contiguous. */
bool ip_mask_to_len(const char *mask, bool wildcard, uint8_t *len);
void ip_len_to_mask(uint8_t len, bool wildcard, char *buf); /* IPv4 only */
bool ip_prefix_contains(const struct ip_prefix *p, const struct ip_addr *a);
void ip_prefix_set(struct ip_prefix *p, const struct ip_addr *a, uint8_t len);
/* "198.18.1.0/24" */
const char *ip_prefix_str(const struct ip_prefix *p, char *buf);

/* sockaddr conversions */
socklen_t ip_addr_to_sockaddr(const struct ip_addr *a, uint16_t port, struct sockaddr_storage *ss);
bool ip_addr_from_sockaddr(const struct sockaddr *sa, struct ip_addr *a, uint16_t *port);

#endif
