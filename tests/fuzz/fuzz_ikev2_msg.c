/* libFuzzer harness: ikev2_msg_parse over arbitrary bytes. A message that
 * parses is built again and the result parsed again: the builder must
 * accept whatever the parser accepted, and build(parse(build(parse(x))))
 * must equal build(parse(x)) (the first build drops reserved bits). If an
 * SK payload's plaintext were available the inner chain would go through
 * ikev2_msg_parse_inner: we feed it the SK body as if it were plaintext. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ikev2/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ikev2_msg m1, m2;
static uint8_t out1[IKEV2_MAX_MSG_LEN], out2[IKEV2_MAX_MSG_LEN];

static void fuzz_inner(void)
{
	const struct ikev2_pl *sk = &m1.pl[m1.n_pl - 1];

	if (sk->type != IKEV2_PL_SK || !sk->body.len)
		return;
	/* Inner payloads are parsed from attacker bytes after decryption;
	 * take the ciphertext as a stand-in. */
	(void)ikev2_msg_parse_inner(&m1, sk->body.p, sk->body.len, sk->u.sk.inner_next);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wcur w1 = wcur_init(out1, sizeof(out1));
	struct wcur w2 = wcur_init(out2, sizeof(out2));
	enum ikev2_err e;

	e = ikev2_msg_parse(data, size, &m1);
	if (ikev2_err_str(e) == NULL)
		abort();
	if (e != IKEV2_OK)
		return 0;
	if (m1.n_pl > IKEV2_MAX_PAYLOADS || m1.hdr.length != size)
		abort();
	/* round trip */
	if (ikev2_msg_build(&m1, &w1) != IKEV2_OK)
		abort();
	if (w1.off > size) /* only reserved bits can change, never grow */
		abort();
	if (ikev2_msg_parse(out1, w1.off, &m2) != IKEV2_OK || m2.n_pl != m1.n_pl)
		abort();
	if (ikev2_msg_build(&m2, &w2) != IKEV2_OK || w2.off != w1.off ||
	    memcmp(out1, out2, w1.off) != 0)
		abort();
	if (m1.n_pl)
		fuzz_inner();
	return 0;
}
