/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wire.c: incremental decoder for uint32 big-endian length || payload
 * frames. The payload buffer is allocated only after the whole header has
 * arrived and the announced length has been checked against the maximum,
 * so a peer cannot make us allocate more than max bytes per connection.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "coffer/coffer_err.h"
#include "common/secmem.h"
#include "common/wire.h"

void
cf_frame_dec_init(struct cf_frame_dec *d, size_t max)
{
	/* 0 means the default; nothing may exceed the hard limit. */
	if (max == 0)
		max = CF_MAX_FRAME_DEFAULT;
	d->max = max > CF_MAX_FRAME_LIMIT ? CF_MAX_FRAME_LIMIT : max;
	d->hdr_have = 0;
	d->payload = NULL;
	d->want = 0;
	d->have = 0;
}

void
cf_frame_dec_reset(struct cf_frame_dec *d)
{
	if (d->payload != NULL) {
		cf_cleanse(d->payload, d->want);
		free(d->payload);
	}
	d->payload = NULL;
	d->hdr_have = 0;
	d->want = 0;
	d->have = 0;
}

int
cf_frame_dec_feed(struct cf_frame_dec *d, const uint8_t *data, size_t len,
    size_t *used, uint8_t **frame, size_t *frame_len)
{
	size_t off = 0, n;
	uint32_t flen;
	int rc = 0;

	*used = 0;
	*frame = NULL;
	*frame_len = 0;
	if (len > 0 && data == NULL)
		return COFFER_E_INVAL;

	if (d->hdr_have < CF_FRAME_HDR) {
		n = CF_FRAME_HDR - d->hdr_have;
		if (n > len)
			n = len;
		if (n > 0)
			memcpy(d->hdr + d->hdr_have, data, n);
		d->hdr_have += n;
		off += n;
		if (d->hdr_have < CF_FRAME_HDR)
			goto out;
	}
	/*
	 * Header complete but no payload buffer: a new frame, or a stream on
	 * which we already failed. Rechecking the header here makes errors
	 * sticky until cf_frame_dec_reset (and lets NOMEM be retried).
	 */
	if (d->payload == NULL) {
		flen = (uint32_t)d->hdr[0] << 24 | (uint32_t)d->hdr[1] << 16 |
		    (uint32_t)d->hdr[2] << 8 | (uint32_t)d->hdr[3];
		if (flen == 0) {
			rc = COFFER_E_FORMAT;
			goto out;
		}
		if (flen > d->max) {
			rc = COFFER_E_TOOBIG;
			goto out;
		}
		if ((d->payload = malloc(flen)) == NULL) {
			rc = COFFER_E_NOMEM;
			goto out;
		}
		d->want = flen;
		d->have = 0;
	}

	n = d->want - d->have;
	if (n > len - off)
		n = len - off;
	if (n > 0)
		memcpy(d->payload + d->have, data + off, n);
	d->have += n;
	off += n;
	if (d->have == d->want) {
		*frame = d->payload;
		*frame_len = d->want;
		d->payload = NULL;
		d->hdr_have = 0;
		d->want = 0;
		d->have = 0;
	}
 out:
	*used = off;
	return rc;
}

void
cf_frame_hdr(uint8_t hdr[4], uint32_t len)
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
}
