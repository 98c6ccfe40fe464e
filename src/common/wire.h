/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wire.h: framing of the client protocol: uint32 big-endian length ||
 * payload, with a hard maximum. The decoder is incremental (bytes arrive
 * in arbitrary pieces) and never allocates more than the announced length
 * after checking it against the maximum.
 */
#ifndef CF_WIRE_H
#define CF_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define CF_FRAME_HDR 4
#define CF_MAX_FRAME_DEFAULT (4u * 1024 * 1024 + 64 * 1024)
#define CF_MAX_FRAME_LIMIT (64u * 1024 * 1024)

struct cf_frame_dec {
	size_t max;		/* maximum payload length */
	uint8_t hdr[4];
	size_t hdr_have;
	uint8_t *payload;	/* malloc'd once the header is complete */
	size_t want;		/* payload length */
	size_t have;
};

void cf_frame_dec_init(struct cf_frame_dec *, size_t max);
/* Frees a partial payload. */
void cf_frame_dec_reset(struct cf_frame_dec *);
/*
 * Feeds up to len bytes. Sets *used to the bytes consumed. When a whole
 * frame is available, *frame and *frame_len receive it (malloc'd, caller frees)
 * and the decoder is ready for the next one; otherwise *frame is NULL.
 * Errors: COFFER_E_TOOBIG (announced length > max; nothing allocated; the
 * stream must be closed), COFFER_E_NOMEM. A zero-length frame is
 * COFFER_E_FORMAT.
 */
int cf_frame_dec_feed(struct cf_frame_dec *, const uint8_t *data, size_t len,
    size_t *used, uint8_t **frame, size_t *frame_len);

/* Writes the 4-byte header for a payload of len bytes. */
void cf_frame_hdr(uint8_t hdr[4], uint32_t len);

#endif
