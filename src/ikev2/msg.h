/* IKEv2 message codec (RFC 7296 3): bytes <-> plain structs.
 *
 * Parsing validates every length before it reads (OpenIKED's
 * validate-then-parse) and fills a struct ikev2_msg whose byte fields are
 * views into the caller's buffer (borrowed: valid while that buffer is).
 * The meaning (which payloads an exchange allows, lengths vs. negotiated
 * algorithms) is checked by the exchange code, not here (STYLE.md 7).
 *
 * Building takes the same structs and produces exactly the wire format, so
 * that ikev2_msg_parse(ikev2_msg_build(m)) gives back m.
 *
 * The Encrypted payload (SK, 3.14) and its fragments (SKF, RFC 7383) are
 * kept as bounds; ikev2_sk_decrypt() turns one into plaintext and
 * ikev2_msg_parse_inner() appends the inner payloads to the message.
 */
#ifndef ESPRIT_IKEV2_MSG_H
#define ESPRIT_IKEV2_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ikev2/wire.h"
#include "lib/cursor.h"

struct cipher;
struct mac;

/* Why a message was refused: counted and logged by the caller. */
enum ikev2_err {
	IKEV2_OK = 0,
	IKEV2_ERR_TRUNCATED_HEADER,     /* fewer than 28 bytes */
	IKEV2_ERR_BAD_VERSION,          /* major version is not 2 */
	IKEV2_ERR_LENGTH_MISMATCH,      /* header Length != bytes received */
	IKEV2_ERR_TOO_LONG,             /* over IKEV2_MAX_MSG_LEN */
	IKEV2_ERR_PAYLOAD_TRUNCATED,    /* generic header does not fit */
	IKEV2_ERR_PAYLOAD_LENGTH,       /* Payload Length < 4 or past the end */
	IKEV2_ERR_TRAILING_DATA,        /* bytes after the last payload */
	IKEV2_ERR_TOO_MANY_PAYLOADS,    /* over IKEV2_MAX_PAYLOADS */
	IKEV2_ERR_UNSUPPORTED_CRITICAL, /* unknown payload with C bit (2.5) */
	IKEV2_ERR_SK_NOT_LAST,          /* SK/SKF must be the last payload (3.14) */
	IKEV2_ERR_BAD_SA,               /* proposal/transform structure */
	IKEV2_ERR_BAD_SPI_SIZE,         /* SPI size vs. protocol (3.3.1) */
	IKEV2_ERR_TOO_MANY_PROPOSALS,   /* over our limits */
	IKEV2_ERR_BAD_KE,
	IKEV2_ERR_BAD_NONCE, /* not 16..256 bytes (3.9) */
	IKEV2_ERR_BAD_ID,
	IKEV2_ERR_BAD_CERT,
	IKEV2_ERR_BAD_AUTH,
	IKEV2_ERR_BAD_NOTIFY,
	IKEV2_ERR_BAD_DELETE,
	IKEV2_ERR_BAD_TS,
	IKEV2_ERR_BAD_SK,
	IKEV2_ERR_BAD_SKF, /* fragment number 0 or > total */
	IKEV2_ERR_BAD_CP,
	IKEV2_ERR_BUILD,   /* builder: no room or bad input */
	IKEV2_ERR_DECRYPT, /* ICV mismatch or bad padding */
	IKEV2_ERR_COUNT
};

const char *ikev2_err_str(enum ikev2_err e);

struct ikev2_hdr {
	uint8_t spi_i[8];
	uint8_t spi_r[8];
	uint8_t next;     /* first payload, enum ikev2_payload */
	uint8_t version;  /* IKEV2_VERSION */
	uint8_t exchange; /* enum ikev2_exchange */
	uint8_t flags;    /* enum ikev2_hdr_flag */
	uint32_t msgid;
	uint32_t length; /* parse: as received; build: computed */
};

/* A borrowed byte range. */
struct ikev2_bytes {
	const uint8_t *p;
	size_t len;
};

struct ikev2_transform {
	uint8_t type; /* enum ikev2_transform_type */
	uint16_t id;
	uint16_t key_bits; /* Key Length attribute (3.3.5), 0 = absent */
};

struct ikev2_proposal {
	uint8_t num;   /* Proposal Num, 1.. */
	uint8_t proto; /* enum ikev2_proto */
	uint8_t spi_len;
	uint8_t spi[IKEV2_MAX_SPI_LEN];
	uint8_t n_xf;
	struct ikev2_transform *xf; /* parse: into the message's pool */
};

struct ikev2_sa {
	uint8_t n_prop;
	struct ikev2_proposal *prop;
};

struct ikev2_ke {
	uint16_t group; /* enum dh_group_id */
	struct ikev2_bytes data;
};

struct ikev2_id {
	uint8_t type; /* enum ikev2_id_type */
	struct ikev2_bytes data;
};

struct ikev2_cert { /* CERT and CERTREQ, kept raw */
	uint8_t encoding;
	struct ikev2_bytes data;
};

struct ikev2_auth {
	uint8_t method; /* enum ikev2_auth_method */
	struct ikev2_bytes data;
};

struct ikev2_notify {
	uint8_t proto; /* 0 unless the notify is about an SA */
	uint8_t spi_len;
	uint8_t spi[IKEV2_MAX_SPI_LEN];
	uint16_t type; /* enum ikev2_notify_type */
	struct ikev2_bytes data;
};

struct ikev2_delete {
	uint8_t proto;
	uint8_t spi_len; /* 0 for IKE, 4 for ESP/AH */
	uint16_t n_spi;
	struct ikev2_bytes spis; /* n_spi * spi_len bytes */
};

struct ikev2_ts {
	uint8_t type;    /* enum ikev2_ts_type */
	uint8_t ipproto; /* 0 = any */
	uint16_t start_port;
	uint16_t end_port;
	uint8_t start[16]; /* IPv4 in the first 4 bytes */
	uint8_t end[16];
};

struct ikev2_tsp {
	uint8_t n_ts;
	struct ikev2_ts *ts;
};

struct ikev2_cp {
	uint8_t type;             /* enum ikev2_cfg_type */
	struct ikev2_bytes attrs; /* validated TLV list; see ikev2_cp_attr_next */
};

/* SK (3.14) and SKF (RFC 7383 2.5). */
struct ikev2_sk {
	uint8_t inner_next;  /* first inner payload (0 in SKF with number > 1) */
	uint16_t frag_num;   /* SKF only */
	uint16_t frag_total; /* SKF only */
	size_t hdr_off;      /* offset of the generic header in the message */
	size_t body_off;     /* offset of the IV in the message */
	size_t body_len;     /* IV + ciphertext + ICV */
};

struct ikev2_pl {
	uint8_t type;            /* enum ikev2_payload (or unknown) */
	bool critical;           /* C bit as received / to send */
	bool inner;              /* came from inside SK */
	struct ikev2_bytes body; /* parse: everything after the generic header */
	union {
		struct ikev2_sa sa;
		struct ikev2_ke ke;
		struct ikev2_bytes nonce; /* also V, EAP and unknown payloads */
		struct ikev2_id id;
		struct ikev2_cert cert;
		struct ikev2_auth auth;
		struct ikev2_notify n;
		struct ikev2_delete d;
		struct ikev2_tsp ts;
		struct ikev2_cp cp;
		struct ikev2_sk sk;
	} u;
};

#define IKEV2_POOL_PROPOSALS 32
#define IKEV2_POOL_TRANSFORMS 256
#define IKEV2_POOL_TS 64

struct ikev2_msg {
	struct ikev2_hdr hdr;
	size_t n_pl;
	struct ikev2_pl pl[IKEV2_MAX_PAYLOADS];
	/* storage for the parsed substructures the payloads point into */
	size_t n_prop, n_xf, n_ts;
	struct ikev2_proposal props[IKEV2_POOL_PROPOSALS];
	struct ikev2_transform xfs[IKEV2_POOL_TRANSFORMS];
	struct ikev2_ts tss[IKEV2_POOL_TS];
};

/* Parse a whole datagram (without the non-ESP marker). On error *m is
 * partly filled and must not be used. */
enum ikev2_err ikev2_msg_parse(const uint8_t *buf, size_t len, struct ikev2_msg *m);

/* Parse decrypted inner payloads (starting with type `first`) and append
 * them to m, marked inner. The views point into `plain`. */
enum ikev2_err ikev2_msg_parse_inner(struct ikev2_msg *m, const uint8_t *plain, size_t len,
                                     uint8_t first);

/* First payload of `type` (outer or inner), or NULL. */
const struct ikev2_pl *ikev2_msg_find(const struct ikev2_msg *m, uint8_t type);
/* First notify of `type`, or NULL. */
const struct ikev2_notify *ikev2_msg_find_notify(const struct ikev2_msg *m, uint16_t type);

/* Next CP attribute: false at the end. The list was validated by parse. */
bool ikev2_cp_attr_next(struct cur *c, uint16_t *type, struct ikev2_bytes *value);

/* Build the payloads pl[0..n) (no IKE header): the generic headers'
 * Next Payload fields chain them, the last one gets 0. An SK/SKF entry
 * (which must be last) is written from its raw body (IV, ciphertext, ICV
 * as received): that is how a parsed message is re-emitted unchanged. */
enum ikev2_err ikev2_payloads_build(const struct ikev2_pl *pl, size_t n, struct wcur *w);

/* Build a complete unencrypted message (header + payloads). hdr.next and
 * hdr.length are computed. */
enum ikev2_err ikev2_msg_build(const struct ikev2_msg *m, struct wcur *w);

/* Build a complete message whose payloads are all inside one SK (or, if
 * frag_total > 0, one SKF fragment frag_num/frag_total) payload:
 * header | SK header | IV | E(plain | padding | pad length) | ICV.
 * `plain` is the inner payload chain (ikev2_payloads_build) starting with
 * type `inner_first`. enc encrypts; integ is NULL for AEAD (RFC 5282: AAD
 * = IKE header .. SK header), else the ICV covers the whole message
 * (3.14). The IV is random. */
enum ikev2_err ikev2_sk_encrypt(const struct ikev2_hdr *hdr, uint8_t inner_first, uint16_t frag_num,
                                uint16_t frag_total, const uint8_t *plain, size_t plain_len,
                                struct cipher *enc, struct mac *integ, struct wcur *w);

/* Verify and decrypt the SK/SKF payload `sk` of the message `buf`
 * (the bytes that were parsed). Writes the inner payload bytes, without
 * padding, to out (room: at least sk->body_len); *out_len = their length.
 * Checks the ICV before decrypting (non-AEAD) with CRYPTO_memcmp. */
enum ikev2_err ikev2_sk_decrypt(const uint8_t *buf, size_t len, const struct ikev2_sk *sk,
                                struct cipher *dec, struct mac *integ, uint8_t *out,
                                size_t *out_len);

#endif
