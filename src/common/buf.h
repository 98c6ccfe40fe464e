/* SPDX-License-Identifier: Apache-2.0 */
/*
 * buf.h: bounded reader (cf_rd) and bounded, optionally secret, writer
 * (cf_buf). All multi-byte integers are big-endian. Reader getters are
 * all-or-nothing: on error the offset does not move and outputs are zeroed.
 * A secret cf_buf lives in the OpenSSL secure heap, never reallocs (grows by
 * allocate-copy-cleanse) and is wiped on free.
 */
#ifndef CF_BUF_H
#define CF_BUF_H

#include <stddef.h>
#include <stdint.h>

struct cf_rd {
	const uint8_t *p;	/* input, not owned */
	size_t len;		/* total bytes */
	size_t off;		/* consumed; invariant off <= len */
};
#define CF_RD_INIT(ptr, n) { (const uint8_t *)(ptr), (n), 0 }

static inline size_t
cf_rd_left(const struct cf_rd *rd)
{
	return rd->len - rd->off;
}

int cf_rd_u8(struct cf_rd *, uint8_t *);
int cf_rd_u16(struct cf_rd *, uint16_t *);
int cf_rd_u32(struct cf_rd *, uint32_t *);
int cf_rd_u64(struct cf_rd *, uint64_t *);
/* Exactly n raw bytes, no prefix, no copy. */
int cf_rd_raw(struct cf_rd *, size_t n, const uint8_t **p);
/* u32 length || data, no copy; COFFER_E_TOOBIG if length > max. */
int cf_rd_bytes(struct cf_rd *, size_t max, const uint8_t **p, size_t *n);
/* u32 length || chars: malloc'd NUL-terminated copy; rejects embedded NUL. */
int cf_rd_str(struct cf_rd *, size_t max, char **s);
/* u32 length || nested message as a sub-reader. */
int cf_rd_sub(struct cf_rd *, size_t max, struct cf_rd *sub);
/* COFFER_E_TRAILING if bytes remain. */
int cf_rd_end(const struct cf_rd *);

struct cf_buf;
struct cf_buf *cf_buf_new(size_t max_size);		/* NULL only on OOM */
struct cf_buf *cf_buf_new_secret(size_t max_size);	/* secure heap */
void cf_buf_free(struct cf_buf *);			/* NULL-safe, wipes */
void cf_buf_reset(struct cf_buf *);			/* wipes, len = 0 */
int cf_buf_put_u8(struct cf_buf *, uint8_t);
int cf_buf_put_u16(struct cf_buf *, uint16_t);
int cf_buf_put_u32(struct cf_buf *, uint32_t);
int cf_buf_put_u64(struct cf_buf *, uint64_t);
int cf_buf_put_raw(struct cf_buf *, const void *, size_t);	/* no prefix */
int cf_buf_put_bytes(struct cf_buf *, const void *, size_t);	/* u32 len || */
int cf_buf_put_str(struct cf_buf *, const char *);		/* u32 len || */
/* Reserves n bytes at the end, returns pointer to them (len grows by n). */
int cf_buf_reserve(struct cf_buf *, size_t n, uint8_t **p);
const uint8_t *cf_buf_ptr(const struct cf_buf *);
uint8_t *cf_buf_mutable_ptr(struct cf_buf *);
size_t cf_buf_len(const struct cf_buf *);
/* Moves contents out: *p is malloc'd (or OPENSSL_secure_malloc'd for a
 * secret buffer: free with cf_free_secret); buffer becomes empty. */
int cf_buf_steal(struct cf_buf *, uint8_t **p, size_t *n);

#endif
