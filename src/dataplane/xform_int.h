/* Internals shared by the transforms (esp.c, ah.c, ipcomp.c, xform.c).
 * Private to src/dataplane; the worker sees only xform.h. */
#ifndef ESPRIT_DATAPLANE_XFORM_INT_H
#define ESPRIT_DATAPLANE_XFORM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "crypto/mb.h"
#include "dataplane/xform.h"

/* IP protocol numbers the transforms care about (IANA "Protocol Numbers"). */
enum {
	IPPROTO_NUM_HOPOPTS = 0,
	IPPROTO_NUM_IPIP = 4,
	IPPROTO_NUM_UDP = 17,
	IPPROTO_NUM_IPV6 = 41,
	IPPROTO_NUM_ROUTING = 43,
	IPPROTO_NUM_FRAGMENT = 44,
	IPPROTO_NUM_ESP = 50,
	IPPROTO_NUM_AH = 51,
	IPPROTO_NUM_NONE = 59,
	IPPROTO_NUM_DSTOPTS = 60,
	IPPROTO_NUM_COMP = 108,
};

#define IPV4_HDR_LEN 20
#define IPV6_HDR_LEN 40
#ifndef IPV6_MIN_MTU
#define IPV6_MIN_MTU 1280 /* every IPv6 link carries it (RFC 8200 5) */
#endif
#define UDP_HDR_LEN 8
#define ESP_HDR_LEN 8   /* SPI, sequence number (RFC 4303 2) */
#define AH_HDR_LEN 12   /* next, len, reserved, SPI, sequence (RFC 4302 2) */
#define IPCOMP_HDR_LEN 4 /* next, flags, CPI (RFC 3173 2.2) */
#define XFORM_HDR_MAX 1024 /* IP header + extension headers + AH we handle */
#define XFORM_ICV_MAX 64
#define IPCOMP_MIN_LEN 90 /* below this, compression rarely pays (RFC 3173 2.2) */
#define OUTER_TTL 64

/* An ESP packet whose encryption and ICV wait for the batch (esp.c). */
struct esp_pending {
	struct sa *sa;       /* borrowed (RCU), as the batch entry's */
	unsigned worker;
	uint8_t *esph;
	size_t clen;         /* payload + padding + trailer */
	uint64_t seq;
	bool *failed;        /* set if sealing fails: the packet must not go out */
};

/* An inbound ESP packet whose ICV was computed ahead, with others
 * (xform_preverify_*). */
#define XFORM_PREVER_MAX 32
struct esp_prever {
	const struct sa *sa;  /* the SA it was computed for (borrowed, RCU) */
	uint8_t *esph;        /* where the ESP header was */
	size_t len;           /* bytes covered by the ICV (without seq-hi) */
	bool esn;             /* seq-hi was covered too: */
	uint32_t seq_hi;      /* the one the replay window gave then */
	uint8_t icv[32];      /* the ICV it should carry (HMAC-SHA-512-256 at most) */
	bool done;            /* computed (the library reported success) */
};

/* Outbound SAs one worker may hold between two sends: two per packet of a
 * full batch (AH and ESP) and a few more for packets that failed. */
#define XFORM_HELD_MAX 160

struct xform_scratch {
	z_stream def, inf;
	bool def_ok, inf_ok;
	uint16_t ip_id;             /* outer IPv4 identification, per worker */
	uint8_t df_bit;             /* enum dp_df_bit, set by the worker (crypto ipsec df-bit) */
	bool frag_after;            /* crypto ipsec fragmentation after-encryption */
	uint8_t hdr[XFORM_HDR_MAX]; /* AH: zeroed copy of IP header + AH */
	uint8_t buf[PKT_MAX_DATA];  /* IPComp output */
	/* Batch sealing (xform_defer_enable): outbound ESP packets of SAs
	 * with an mb_key are sealed together by xform_seal_pending(). */
	struct mb_mgr *mb;          /* NULL: every packet is sealed at once */
	bool *defer_failed;         /* set by xform_output for the packet at hand */
	unsigned npend;
	struct esp_pending pend[MB_MAX_JOBS];
	/* Inbound: ICVs computed together (xform_preverify_run); prever_cur
	 * is the one the next xform_input may use. */
	unsigned nprever;
	struct esp_prever prever[XFORM_PREVER_MAX];
	const struct esp_prever *prever_cur;
	/* Outbound SAs whose sending turn this worker holds (until
	 * xform_release), and the one another worker holds when xform_output
	 * returned XFORM_SA_BUSY. */
	unsigned nheld;
	struct sa *held[XFORM_HELD_MAX];
	struct sa *busy;
};

/* Where the IP header ends and the protected part begins. */
struct iphdr_info {
	uint8_t ver;     /* 4 or 6 */
	size_t hlen;     /* IP header plus the IPv6 extension headers before AH/ESP */
	size_t nh_off;   /* offset of the next-header byte that names what follows hlen */
	uint8_t nh;      /* that protocol */
	size_t tot_len;  /* from the header's length field */
};

/* Parse the header of the packet in d[0..len). transport_split selects the
 * IPv6 rule for where ESP/AH is inserted on output (RFC 4303 3.1.1: after
 * hop-by-hop, routing, fragment, and destination options that precede a
 * routing header); otherwise (input) every hop-by-hop, routing and
 * destination options header is skipped. False if malformed. */
bool iphdr_parse(const uint8_t *d, size_t len, bool transport_split, struct iphdr_info *h);
/* Write the length fields of a packet of len bytes (IPv4 total length and
 * header checksum, IPv6 payload length). */
void iphdr_set_len(uint8_t *d, size_t len);
uint16_t ip_csum(const uint8_t *d, size_t len, uint32_t sum);

/* Next outbound sequence number (RFC 4303 3.3.3, RFC 4302 3.3.2): never
 * cycles; DROP_SEQ_OVERFLOW at 2^32-1 (2^64-1 with ESN) and the SA is dead. */
enum dp_drop xform_seq_next(struct sa *sa, uint64_t *seq);
/* Anti-replay (RFC 4303 3.4.3) around the SA's window, under replay_lock. */
enum dp_drop xform_replay_check(struct sa *sa, uint32_t seq_lo, uint64_t *seq_full);
enum dp_drop xform_replay_update(struct sa *sa, uint64_t seq_full);

/* ESP (esp.c). esp_encap: p holds the payload to protect (what nh names);
 * prepends the ESP header and IV, appends padding, trailer and ICV.
 * esp_decap: p starts at the ESP header of an SA already looked up by SPI;
 * leaves the payload in p and its protocol in *nh. */
enum dp_drop esp_encap(struct sa *sa, unsigned worker, struct xform_scratch *s, struct pkt *p,
			uint8_t nh);
/* Seal what esp_encap deferred (s->npend packets): together with the
 * multi-buffer library when there are MB_MIN_BATCH or more, else one by
 * one. Returns how many failed (their *failed is set). */
unsigned esp_seal_pending(struct xform_scratch *s);
enum dp_drop esp_decap(struct sa *sa, unsigned worker, const struct xform_scratch *s,
			struct pkt *p, uint8_t *nh);
/* ICV (or AEAD tag) length of an ESP SA, 0 if none. */
size_t esp_icv_len(const struct sa *sa);
/* The ESP header, IV, len bytes of payload padded, trailer and ICV. */
size_t esp_len_for(const struct sa *sa, size_t len);

/* AH (ah.c), over a whole IP packet whose header is hlen bytes long and
 * names the next protocol at nh_off. ah_encap inserts AH after hlen;
 * ah_decap verifies and removes the AH at hlen. */
/* The AH header with its padded ICV (RFC 4302 2.6). */
size_t ah_len(const struct sa *sa, bool v6);
enum dp_drop ah_encap(struct sa *sa, unsigned worker, struct xform_scratch *s, struct pkt *p,
		      size_t hlen, size_t nh_off);
enum dp_drop ah_decap(struct sa *sa, unsigned worker, struct xform_scratch *s, struct pkt *p,
		      size_t hlen, size_t nh_off);

/* IPComp (ipcomp.c). ipcomp_compress: p holds the payload named by *nh;
 * returns true if it was compressed (IPComp header prepended, *nh = 108).
 * ipcomp_decompress: p starts at the IPComp header; leaves the payload in
 * p (at most room bytes after p->off) and its protocol in *nh. */
bool ipcomp_compress(struct sa *sa, struct xform_scratch *s, struct pkt *p, uint8_t *nh);
enum dp_drop ipcomp_decompress(struct xform_scratch *s, struct pkt *p, size_t room, uint8_t *nh);
bool ipcomp_init(struct xform_scratch *s);
void ipcomp_fini(struct xform_scratch *s);

#endif
