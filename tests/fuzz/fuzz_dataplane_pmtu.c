/* libFuzzer harness: pmtu.c's parsers of ICMP "fragmentation needed" and
 * ICMPv6 "packet too big" over arbitrary bytes. Input: one byte choosing
 * the parser (even: IPv4 with the IP header, odd: ICMPv6), then the
 * message. What is accepted must name an MTU (IPv4: not 0), a quoted
 * source and destination of the parser's family, and ESP or AH. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "dataplane/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ip_addr from = {.af = AF_INET6};
	struct pmtu_msg m;
	enum pmtu_parse r;
	bool v6;

	if (size < 1)
		return 0;
	v6 = data[0] & 1;
	r = v6 ? icmp6_pmtu_parse(data + 1, size - 1, &from, &m)
	       : icmp4_pmtu_parse(data + 1, size - 1, &m);
	if (r != PMTU_OK && r != PMTU_NOT && r != PMTU_FOREIGN && r != PMTU_BAD)
		abort();
	if (r != PMTU_OK)
		return 0;
	if (m.src.af != (v6 ? AF_INET6 : AF_INET) || m.dst.af != m.src.af)
		abort();
	if ((!v6 && m.mtu == 0) || (m.proto != 50 && m.proto != 51) || (m.udp && m.proto != 50))
		abort();
	return 0;
}
