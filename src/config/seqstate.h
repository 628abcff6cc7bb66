/* The outbound sequence numbers of manual SAs, kept in a file across
 * restarts of espritd. RFC 4303 3.3.3 (and RFC 4302 2.5): with anti-replay
 * on a manually keyed SA, "the sequence number counter at the sender MUST
 * be correctly maintained across local reboots, etc., until the key is
 * replaced"; a sender that starts again from 1 has every packet dropped as
 * a replay by a peer that did not restart.
 *
 * The file holds one line per manual outbound SA: protocol, SPI, peer, a
 * sequence number at or above the last one sent, and the SA's key
 * fingerprint. While espritd runs it holds a reservation (sent +
 * SEQSTATE_MARGIN, written again before the SA gets there), so that after
 * a crash the SA starts above anything it sent; at a clean stop, the
 * exact number.
 *
 * The counter belongs to the key, not to the SPI ("until the key is
 * replaced"): a restart whose configuration gave an SA a new SPI but kept
 * its key must go on from the old number, else the SA repeats AES-GCM/
 * CTR/ChaCha20 nonces, which are its sequence numbers (RFC 4106 3.1). So
 * an SA takes the highest number saved for its SPI and peer or for its
 * key. The fingerprint is a truncated SHA-256 of a label and the keys
 * (seqstate_keyid), not the key; the file is written mode 0600. Resuming
 * a new key's counter from a higher number is harmless. Lines without a
 * fingerprint (files of earlier versions) match by SPI alone. */
#ifndef ESPRIT_CONFIG_SEQSTATE_H
#define ESPRIT_CONFIG_SEQSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipsec/sa.h"

struct sad;

#define SEQSTATE_MARGIN (1ull << 22) /* numbers reserved ahead: 4M packets */

#define SEQSTATE_KEYID_LEN 8

struct seq_saved {
	uint8_t proto;
	uint32_t spi;
	struct ip_addr dst;
	uint64_t seq;
	bool have_keyid;
	uint8_t keyid[SEQSTATE_KEYID_LEN];
};

struct seqstate {
	char path[4200];
	struct seq_saved *saved; /* read at start: for the first apply */
	unsigned nsaved;
	struct seq_saved *written; /* what the file says now */
	unsigned nwritten;
};

/* Where espritd keeps the file: with the default control socket
 * (default_sock), in SEQSTATE_DIR (espritd.sock -> /var/lib/esprit/
 * espritd.seq), which survives reboots, unlike /run; with another socket
 * (-s, tests), beside it (/tmp/x/gA.sock -> /tmp/x/gA.seq). */
#define SEQSTATE_DIR "/var/lib/esprit"
void seqstate_path(const char *sock, const char *default_sock, char *out, size_t len);

/* Reads path (a missing file is no state; bad lines are skipped and
 * logged). Returns 0, or -1 on allocation failure. */
int seqstate_open(struct seqstate *st, const char *path);
void seqstate_close(struct seqstate *st);
/* The first apply has used what was read: forget it. */
void seqstate_saved_done(struct seqstate *st);
/* The key fingerprint of an SA with these algorithms and keys (either key
 * may be NULL). Returns false if it cannot be computed (no digest). */
bool seqstate_keyid(uint8_t proto, uint16_t encr_id, const struct secret *encr_key,
		    uint16_t integ_id, const struct secret *integ_key,
		    uint8_t out[SEQSTATE_KEYID_LEN]);
/* The saved number for this outbound SA (the highest of those saved for
 * its SPI and peer or for its key), or 0. */
uint64_t seqstate_find(const struct seqstate *st, const struct sa_params *p);
/* Once a second: rewrites the file if a manual outbound SA is missing from
 * it or has come within half the margin of its reservation. final: at a
 * clean stop, the exact numbers. Returns 0, or -1 (logged, rate-limited by
 * the caller's tick). */
int seqstate_sync(struct seqstate *st, struct sad *sad, bool final);

#endif
