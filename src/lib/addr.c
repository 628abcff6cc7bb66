#include "lib/addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool ip_addr_parse(const char *s, struct ip_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, &out->v4) == 1) {
		out->af = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, &out->v6) == 1) {
		out->af = AF_INET6;
		return true;
	}
	return false;
}

const char *ip_addr_str(const struct ip_addr *a, char *buf)
{
	if (!a->af || !inet_ntop(a->af, a->b, buf, IP_ADDR_STRLEN))
		strcpy(buf, "-");
	return buf;
}

size_t ip_addr_len(const struct ip_addr *a)
{
	return a->af == AF_INET ? 4 : a->af == AF_INET6 ? 16 : 0;
}

bool ip_addr_eq(const struct ip_addr *a, const struct ip_addr *b)
{
	return a->af == b->af && memcmp(a->b, b->b, ip_addr_len(a)) == 0;
}

void ip_addr_from_raw(struct ip_addr *a, int af, const void *raw)
{
	memset(a, 0, sizeof(*a));
	a->af = (uint8_t)af;
	memcpy(a->b, raw, af == AF_INET ? 4 : 16);
}

bool ip_addr_is_any(const struct ip_addr *a)
{
	static const uint8_t zero[16];
	return !a->af || memcmp(a->b, zero, ip_addr_len(a)) == 0;
}

static void clear_host_bits(struct ip_prefix *p)
{
	size_t n = ip_addr_len(&p->addr);
	for (size_t i = 0; i < n; i++) {
		int keep = (int)p->len - (int)(i * 8);
		if (keep <= 0)
			p->addr.b[i] = 0;
		else if (keep < 8)
			p->addr.b[i] &= (uint8_t)(0xff << (8 - keep));
	}
}

void ip_prefix_set(struct ip_prefix *p, const struct ip_addr *a, uint8_t len)
{
	p->addr = *a;
	p->len = len;
	clear_host_bits(p);
}

bool ip_prefix_parse(const char *s, struct ip_prefix *out)
{
	char tmp[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	struct ip_addr a;
	long len;
	char *end;

	if (n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	if (!ip_addr_parse(tmp, &a))
		return false;
	if (slash) {
		len = strtol(slash + 1, &end, 10);
		if (*end || end == slash + 1 || len < 0 || (size_t)len > ip_addr_len(&a) * 8)
			return false;
	} else {
		len = (long)ip_addr_len(&a) * 8;
	}
	ip_prefix_set(out, &a, (uint8_t)len);
	return true;
}

bool ip_mask_to_len(const char *mask, bool wildcard, uint8_t *len)
{
	struct in_addr m;
	uint32_t v;
	uint8_t n = 0;

	if (inet_pton(AF_INET, mask, &m) != 1)
		return false;
	v = ntohl(m.s_addr);
	if (wildcard)
		v = ~v;
	while (n < 32 && (v & (0x80000000u >> n)))
		n++;
	if (n < 32 && (v << n) != 0)
		return false; /* not contiguous */
	*len = n;
	return true;
}

void ip_len_to_mask(uint8_t len, bool wildcard, char *buf)
{
	uint32_t v = len ? 0xffffffffu << (32 - len) : 0;
	struct in_addr m;
	if (wildcard)
		v = ~v;
	m.s_addr = htonl(v);
	inet_ntop(AF_INET, &m, buf, IP_ADDR_STRLEN);
}

/* Per packet (selector checks): whole bytes, then the masked rest; the
 * prefix's host bits are zero (ip_prefix_set). */
bool ip_prefix_contains(const struct ip_prefix *p, const struct ip_addr *a)
{
	size_t full = p->len / 8;
	unsigned rest = p->len % 8;

	if (p->addr.af != a->af)
		return false;
	if (memcmp(p->addr.b, a->b, full) != 0)
		return false;
	return !rest || ((a->b[full] ^ p->addr.b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

const char *ip_prefix_str(const struct ip_prefix *p, char *buf)
{
	char a[IP_ADDR_STRLEN];
	snprintf(buf, IP_ADDR_STRLEN + 4, "%s/%u", ip_addr_str(&p->addr, a), p->len);
	return buf;
}

socklen_t ip_addr_to_sockaddr(const struct ip_addr *a, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->af == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;
		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		s->sin_addr = a->v4;
		return sizeof(*s);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	s6->sin6_addr = a->v6;
	return sizeof(*s6);
}

bool ip_addr_from_sockaddr(const struct sockaddr *sa, struct ip_addr *a, uint16_t *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
		ip_addr_from_raw(a, AF_INET, &s->sin_addr);
		if (port)
			*port = ntohs(s->sin_port);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		ip_addr_from_raw(a, AF_INET6, &s6->sin6_addr);
		if (port)
			*port = ntohs(s6->sin6_port);
		return true;
	}
	return false;
}
