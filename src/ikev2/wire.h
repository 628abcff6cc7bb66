/* IKEv2 on the wire (RFC 7296 3, RFC 7383 2.5): every IANA number the
 * codec knows, the fixed layouts and the limits. Read this file and you
 * know the message format; msg.h turns it into structs.
 *
 * All multi-byte fields are big-endian. Offsets are from the start of the
 * structure they belong to.
 */
#ifndef ESPRIT_IKEV2_WIRE_H
#define ESPRIT_IKEV2_WIRE_H

#include <stdint.h>

/* ---- IKE header (RFC 7296 3.1) ----
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       IKE SA Initiator's SPI                  |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       IKE SA Responder's SPI                  |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                          Message ID                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                            Length                             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Flags: X X R V I X X X (bit 3 = Initiator, bit 4 = Version, bit 5 =
 * Response, counting from the most significant bit as bit 0).
 */
#define IKEV2_HDR_LEN 28
#define IKEV2_HDR_OFF_SPI_I 0
#define IKEV2_HDR_OFF_SPI_R 8
#define IKEV2_HDR_OFF_NEXT 16
#define IKEV2_HDR_OFF_VERSION 17
#define IKEV2_HDR_OFF_EXCHANGE 18
#define IKEV2_HDR_OFF_FLAGS 19
#define IKEV2_HDR_OFF_MSGID 20
#define IKEV2_HDR_OFF_LENGTH 24

#define IKEV2_VERSION 0x20 /* major 2, minor 0 */
#define IKEV2_MAJOR(v) ((uint8_t)((v) >> 4))

enum ikev2_hdr_flag {
	IKEV2_FLAG_INITIATOR = 0x08,
	IKEV2_FLAG_VERSION = 0x10, /* "could speak a higher major version" */
	IKEV2_FLAG_RESPONSE = 0x20,
};

/* ---- Generic payload header (RFC 7296 3.2) ----
 *
 *  0                   1                   2                   3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Payload Length includes this header.
 */
#define IKEV2_GEN_HDR_LEN 4
#define IKEV2_CRITICAL 0x80

/* ---- Limits (ours) ---- */
#define IKEV2_MAX_MSG_LEN 65535u /* the Length field could say more; we do not */
#define IKEV2_MAX_PAYLOADS 64
#define IKEV2_MAX_PROPOSALS 16
#define IKEV2_MAX_TRANSFORMS 32 /* per proposal */
#define IKEV2_MAX_TS 16         /* per TSi/TSr */
#define IKEV2_MAX_SPI_LEN 8     /* IKE SPI; ESP/AH use 4 */
#define IKEV2_NONCE_MIN 16      /* RFC 7296 3.9 */
#define IKEV2_NONCE_MAX 256

/* Exchange types (RFC 7296 3.1; IKE_INTERMEDIATE RFC 9242) */
enum ikev2_exchange {
	IKEV2_EXCH_IKE_SA_INIT = 34,
	IKEV2_EXCH_IKE_AUTH = 35,
	IKEV2_EXCH_CREATE_CHILD_SA = 36,
	IKEV2_EXCH_INFORMATIONAL = 37,
	IKEV2_EXCH_IKE_SESSION_RESUME = 38, /* RFC 5723 */
	IKEV2_EXCH_IKE_INTERMEDIATE = 43,   /* RFC 9242 */
};

/* Payload types (RFC 7296 3.2; SKF RFC 7383 2.5) */
enum ikev2_payload {
	IKEV2_PL_NONE = 0,
	IKEV2_PL_SA = 33,
	IKEV2_PL_KE = 34,
	IKEV2_PL_IDI = 35,
	IKEV2_PL_IDR = 36,
	IKEV2_PL_CERT = 37,
	IKEV2_PL_CERTREQ = 38,
	IKEV2_PL_AUTH = 39,
	IKEV2_PL_NONCE = 40,
	IKEV2_PL_NOTIFY = 41,
	IKEV2_PL_DELETE = 42,
	IKEV2_PL_VENDOR = 43,
	IKEV2_PL_TSI = 44,
	IKEV2_PL_TSR = 45,
	IKEV2_PL_SK = 46,
	IKEV2_PL_CP = 47,
	IKEV2_PL_EAP = 48,
	IKEV2_PL_SKF = 53,
};

/* Notify message types (RFC 7296 3.10.1 and later RFCs) */
enum ikev2_notify_type {
	/* errors, 0..16383 */
	IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD = 1,
	IKEV2_N_INVALID_IKE_SPI = 4,
	IKEV2_N_INVALID_MAJOR_VERSION = 5,
	IKEV2_N_INVALID_SYNTAX = 7,
	IKEV2_N_INVALID_MESSAGE_ID = 9,
	IKEV2_N_INVALID_SPI = 11,
	IKEV2_N_NO_PROPOSAL_CHOSEN = 14,
	IKEV2_N_INVALID_KE_PAYLOAD = 17,
	IKEV2_N_AUTHENTICATION_FAILED = 24,
	IKEV2_N_SINGLE_PAIR_REQUIRED = 34,
	IKEV2_N_NO_ADDITIONAL_SAS = 35,
	IKEV2_N_INTERNAL_ADDRESS_FAILURE = 36,
	IKEV2_N_FAILED_CP_REQUIRED = 37,
	IKEV2_N_TS_UNACCEPTABLE = 38,
	IKEV2_N_INVALID_SELECTORS = 39,
	IKEV2_N_TEMPORARY_FAILURE = 43,
	IKEV2_N_CHILD_SA_NOT_FOUND = 44,
	IKEV2_N_ERROR_MAX = 16383,
	/* status, 16384.. */
	IKEV2_N_INITIAL_CONTACT = 16384,
	IKEV2_N_SET_WINDOW_SIZE = 16385,
	IKEV2_N_ADDITIONAL_TS_POSSIBLE = 16386,
	IKEV2_N_IPCOMP_SUPPORTED = 16387,
	IKEV2_N_NAT_DETECTION_SOURCE_IP = 16388,
	IKEV2_N_NAT_DETECTION_DESTINATION_IP = 16389,
	IKEV2_N_COOKIE = 16390,
	IKEV2_N_USE_TRANSPORT_MODE = 16391,
	IKEV2_N_HTTP_CERT_LOOKUP_SUPPORTED = 16392,
	IKEV2_N_REKEY_SA = 16393,
	IKEV2_N_ESP_TFC_PADDING_NOT_SUPPORTED = 16394,
	IKEV2_N_NON_FIRST_FRAGMENTS_ALSO = 16395,
	IKEV2_N_MOBIKE_SUPPORTED = 16396,                /* RFC 4555 */
	IKEV2_N_ADDITIONAL_IP4_ADDRESS = 16397,          /* RFC 4555 */
	IKEV2_N_ADDITIONAL_IP6_ADDRESS = 16398,          /* RFC 4555 */
	IKEV2_N_NO_ADDITIONAL_ADDRESSES = 16399,         /* RFC 4555 */
	IKEV2_N_UPDATE_SA_ADDRESSES = 16400,             /* RFC 4555 */
	IKEV2_N_COOKIE2 = 16401,                         /* RFC 4555 */
	IKEV2_N_NO_NATS_ALLOWED = 16402,                 /* RFC 4555 */
	IKEV2_N_AUTH_LIFETIME = 16403,                   /* RFC 4478 */
	IKEV2_N_MULTIPLE_AUTH_SUPPORTED = 16404,         /* RFC 4739 */
	IKEV2_N_ANOTHER_AUTH_FOLLOWS = 16405,            /* RFC 4739 */
	IKEV2_N_REDIRECT_SUPPORTED = 16406,              /* RFC 5685 */
	IKEV2_N_REDIRECT = 16407,                        /* RFC 5685 */
	IKEV2_N_REDIRECTED_FROM = 16408,                 /* RFC 5685 */
	IKEV2_N_TICKET_LT_OPAQUE = 16409,                /* RFC 5723 */
	IKEV2_N_TICKET_REQUEST = 16410,                  /* RFC 5723 */
	IKEV2_N_TICKET_ACK = 16411,                      /* RFC 5723 */
	IKEV2_N_TICKET_NACK = 16412,                     /* RFC 5723 */
	IKEV2_N_TICKET_OPAQUE = 16413,                   /* RFC 5723 */
	IKEV2_N_EAP_ONLY_AUTHENTICATION = 16417,         /* RFC 5998 */
	IKEV2_N_CHILDLESS_IKEV2_SUPPORTED = 16418,       /* RFC 6023 */
	IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED = 16430,   /* RFC 7383 */
	IKEV2_N_SIGNATURE_HASH_ALGORITHMS = 16431,       /* RFC 7427 */
	IKEV2_N_INTERMEDIATE_EXCHANGE_SUPPORTED = 16438, /* RFC 9242 */
};

/* Protocol IDs in proposals, notifies and deletes (RFC 7296 3.3.1) */
enum ikev2_proto {
	IKEV2_PROTO_NONE = 0,
	IKEV2_PROTO_IKE = 1,
	IKEV2_PROTO_AH = 2,
	IKEV2_PROTO_ESP = 3,
};

/* Transform types (RFC 7296 3.3.2). The IDs of types 1-3 are the
 * enums of crypto/alg.h; type 4 are those of crypto/dh.h. */
enum ikev2_transform_type {
	IKEV2_TRANS_ENCR = 1,
	IKEV2_TRANS_PRF = 2,
	IKEV2_TRANS_INTEG = 3,
	IKEV2_TRANS_DH = 4, /* "Key Exchange Method" since RFC 9370 */
	IKEV2_TRANS_ESN = 5,
};

enum ikev2_esn {
	IKEV2_ESN_NO = 0,
	IKEV2_ESN_YES = 1,
};

/* Transform attributes (RFC 7296 3.3.5): AF bit set = TV format. */
#define IKEV2_ATTR_AF 0x8000
enum ikev2_attr_type {
	IKEV2_ATTR_KEY_LENGTH = 14, /* on the wire as 0x800e */
};

/* Identification types (RFC 7296 3.5) */
enum ikev2_id_type {
	IKEV2_ID_IPV4_ADDR = 1,
	IKEV2_ID_FQDN = 2,
	IKEV2_ID_RFC822_ADDR = 3,
	IKEV2_ID_IPV6_ADDR = 5,
	IKEV2_ID_DER_ASN1_DN = 9,
	IKEV2_ID_DER_ASN1_GN = 10,
	IKEV2_ID_KEY_ID = 11,
};

/* Certificate encodings (RFC 7296 3.6) */
enum ikev2_cert_encoding {
	IKEV2_CERT_X509_SIG = 4,
	IKEV2_CERT_HASH_URL_X509 = 12,
	IKEV2_CERT_HASH_URL_BUNDLE = 13,
};

/* Authentication methods (RFC 7296 3.8, RFC 7427) */
enum ikev2_auth_method {
	IKEV2_AUTH_RSA_SIG = 1,
	IKEV2_AUTH_SHARED_KEY_MIC = 2,
	IKEV2_AUTH_DSS_SIG = 3,
	IKEV2_AUTH_ECDSA_256 = 9,          /* RFC 4754 */
	IKEV2_AUTH_ECDSA_384 = 10,         /* RFC 4754 */
	IKEV2_AUTH_ECDSA_521 = 11,         /* RFC 4754 */
	IKEV2_AUTH_DIGITAL_SIGNATURE = 14, /* RFC 7427 */
};

/* Traffic selector types (RFC 7296 3.13.1) */
enum ikev2_ts_type {
	IKEV2_TS_IPV4_ADDR_RANGE = 7,
	IKEV2_TS_IPV6_ADDR_RANGE = 8,
};

/* Configuration payload (RFC 7296 3.15) */
enum ikev2_cfg_type {
	IKEV2_CFG_REQUEST = 1,
	IKEV2_CFG_REPLY = 2,
	IKEV2_CFG_SET = 3,
	IKEV2_CFG_ACK = 4,
};

enum ikev2_cfg_attr {
	IKEV2_CFG_INTERNAL_IP4_ADDRESS = 1,
	IKEV2_CFG_INTERNAL_IP4_NETMASK = 2,
	IKEV2_CFG_INTERNAL_IP4_DNS = 3,
	IKEV2_CFG_INTERNAL_IP4_NBNS = 4,
	IKEV2_CFG_INTERNAL_IP4_DHCP = 6,
	IKEV2_CFG_APPLICATION_VERSION = 7,
	IKEV2_CFG_INTERNAL_IP6_ADDRESS = 8,
	IKEV2_CFG_INTERNAL_IP6_DNS = 10,
	IKEV2_CFG_INTERNAL_IP6_DHCP = 12,
	IKEV2_CFG_INTERNAL_IP4_SUBNET = 13,
	IKEV2_CFG_SUPPORTED_ATTRIBUTES = 14,
	IKEV2_CFG_INTERNAL_IP6_SUBNET = 15,
};

/* ---- Payload bodies (after the generic header) ----
 *
 * Proposal substructure (RFC 7296 3.3.1), inside SA:
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Last Substruc |   RESERVED    |         Proposal Length       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                        SPI (variable)                         ~
 * ~                        <Transforms>                           ~
 * Last Substruc: 0 = last, 2 = more.
 */
#define IKEV2_PROP_HDR_LEN 8
#define IKEV2_PROP_MORE 2
#define IKEV2_PROP_LAST 0

/* Transform substructure (RFC 7296 3.3.2):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Last Substruc |   RESERVED    |        Transform Length       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Transform Type |   RESERVED    |          Transform ID         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                      Transform Attributes                     ~
 * Last Substruc: 0 = last, 3 = more.
 */
#define IKEV2_XFORM_HDR_LEN 8
#define IKEV2_XFORM_MORE 3
#define IKEV2_XFORM_LAST 0

/* KE (3.4): DH Group Num (2) | RESERVED (2) | Key Exchange Data */
#define IKEV2_KE_HDR_LEN 4
/* ID (3.5): ID Type (1) | RESERVED (3) | Identification Data */
#define IKEV2_ID_HDR_LEN 4
/* CERT (3.6) / CERTREQ (3.7): Encoding (1) | Data */
#define IKEV2_CERT_HDR_LEN 1
/* AUTH (3.8): Auth Method (1) | RESERVED (3) | Authentication Data */
#define IKEV2_AUTH_HDR_LEN 4
/* N (3.10): Protocol ID (1) | SPI Size (1) | Notify Type (2) | SPI | Data */
#define IKEV2_N_HDR_LEN 4
/* D (3.11): Protocol ID (1) | SPI Size (1) | Num of SPIs (2) | SPIs */
#define IKEV2_D_HDR_LEN 4
/* TS (3.13): Number of TSs (1) | RESERVED (3) | <Traffic Selectors> */
#define IKEV2_TS_HDR_LEN 4
/* One selector (3.13.1): TS Type (1) | IP Protocol ID (1) | Selector
 * Length (2) | Start Port (2) | End Port (2) | Start Address | End Address */
#define IKEV2_TS4_LEN 16
#define IKEV2_TS6_LEN 40
/* CP (3.15): CFG Type (1) | RESERVED (3) | attributes, each
 * R|Attribute Type (15 bits) (2) | Length (2) | Value */
#define IKEV2_CP_HDR_LEN 4
#define IKEV2_CP_ATTR_HDR_LEN 4
/* SKF (RFC 7383 2.5): Fragment Number (2) | Total Fragments (2) | IV... */
#define IKEV2_SKF_HDR_LEN 4

/* Encrypted payload (3.14): IV | Encrypted IKE payloads | Padding |
 * Pad Length (1) | Integrity Checksum Data. Padding and Pad Length are
 * encrypted; the ICV covers the whole message up to the ICV. */

#endif
