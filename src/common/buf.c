/* SPDX-License-Identifier: Apache-2.0 */
/*
 * buf.c: bounded reader (cf_rd) and bounded writer (cf_buf).
 *
 * Reader getters are all-or-nothing: on any error the offset is unchanged
 * and the outputs are zero/NULL. Length checks compare against the bytes
 * left (never off + len), so they cannot wrap. A writer never grows past
 * its max_size (COFFER_E_TOOBIG, buffer unchanged). Every writer grows by
 * allocate-copy-cleanse, never realloc, so no stale copy of its contents
 * is left behind; a secret writer's blocks come from the OpenSSL secure
 * heap. Bytes between len and the capacity are always zero.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "coffer/coffer_err.h"
#include "common/secmem.h"
#include "common/buf.h"

#define BUF_INITIAL 64
/* Used when a caller passes max_size 0: still a hard limit. */
#define BUF_DEFAULT_MAX (64u * 1024 * 1024)

struct cf_buf {
	uint8_t *d;		/* never NULL after cf_buf_new */
	size_t len;
	size_t cap;
	size_t max;
	int secret;
};

/* --- reader ------------------------------------------------------------ */

/* Takes n bytes or nothing. */
static int
take(struct cf_rd *rd, size_t n, const uint8_t **p)
{
	*p = NULL;
	if (rd == NULL || rd->off > rd->len)
		return COFFER_E_INVAL;
	if (n > cf_rd_left(rd))
		return COFFER_E_SHORT;
	*p = rd->p + rd->off;
	rd->off += n;
	return 0;
}

int
cf_rd_u8(struct cf_rd *rd, uint8_t *v)
{
	const uint8_t *p;
	int rc;

	*v = 0;
	if ((rc = take(rd, 1, &p)) != 0)
		return rc;
	*v = p[0];
	return 0;
}

int
cf_rd_u16(struct cf_rd *rd, uint16_t *v)
{
	const uint8_t *p;
	int rc;

	*v = 0;
	if ((rc = take(rd, 2, &p)) != 0)
		return rc;
	*v = (uint16_t)((uint16_t)p[0] << 8 | p[1]);
	return 0;
}

int
cf_rd_u32(struct cf_rd *rd, uint32_t *v)
{
	const uint8_t *p;
	int rc;

	*v = 0;
	if ((rc = take(rd, 4, &p)) != 0)
		return rc;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
	return 0;
}

int
cf_rd_u64(struct cf_rd *rd, uint64_t *v)
{
	const uint8_t *p;
	uint64_t x = 0;
	int i, rc;

	*v = 0;
	if ((rc = take(rd, 8, &p)) != 0)
		return rc;
	for (i = 0; i < 8; i++)
		x = x << 8 | p[i];
	*v = x;
	return 0;
}

int
cf_rd_raw(struct cf_rd *rd, size_t n, const uint8_t **p)
{
	return take(rd, n, p);
}

int
cf_rd_bytes(struct cf_rd *rd, size_t max, const uint8_t **p, size_t *n)
{
	struct cf_rd save;
	uint32_t len;
	int rc;

	*p = NULL;
	*n = 0;
	if (rd == NULL)
		return COFFER_E_INVAL;
	save = *rd;
	if ((rc = cf_rd_u32(rd, &len)) != 0)
		return rc;
	if (len > max) {
		*rd = save;
		return COFFER_E_TOOBIG;
	}
	if ((rc = take(rd, len, p)) != 0) {
		*rd = save;
		return rc;
	}
	*n = len;
	return 0;
}

int
cf_rd_str(struct cf_rd *rd, size_t max, char **s)
{
	struct cf_rd save;
	const uint8_t *p;
	size_t n;
	char *c;
	int rc;

	*s = NULL;
	if (rd == NULL)
		return COFFER_E_INVAL;
	save = *rd;
	if ((rc = cf_rd_bytes(rd, max, &p, &n)) != 0)
		return rc;
	if (n > 0 && memchr(p, '\0', n) != NULL) {
		*rd = save;
		return COFFER_E_FORMAT;
	}
	if ((c = malloc(n + 1)) == NULL) {
		*rd = save;
		return COFFER_E_NOMEM;
	}
	if (n > 0)
		memcpy(c, p, n);
	c[n] = '\0';
	*s = c;
	return 0;
}

int
cf_rd_sub(struct cf_rd *rd, size_t max, struct cf_rd *sub)
{
	const uint8_t *p;
	size_t n;
	int rc;

	sub->p = NULL;
	sub->len = 0;
	sub->off = 0;
	if ((rc = cf_rd_bytes(rd, max, &p, &n)) != 0)
		return rc;
	sub->p = p;
	sub->len = n;
	return 0;
}

int
cf_rd_end(const struct cf_rd *rd)
{
	if (rd == NULL || rd->off > rd->len)
		return COFFER_E_INVAL;
	return cf_rd_left(rd) == 0 ? 0 : COFFER_E_TRAILING;
}

/* --- writer ------------------------------------------------------------ */

static uint8_t *
blk_alloc(int secret, size_t n)
{
	return secret ? OPENSSL_secure_zalloc(n) : calloc(1, n);
}

static void
blk_free(int secret, uint8_t *p, size_t n)
{
	if (p == NULL)
		return;
	if (secret) {
		OPENSSL_secure_clear_free(p, n);
	} else {
		cf_cleanse(p, n);
		free(p);
	}
}

static struct cf_buf *
buf_new(size_t max_size, int secret)
{
	struct cf_buf *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->max = max_size == 0 ? BUF_DEFAULT_MAX : max_size;
	b->secret = secret;
	b->cap = b->max < BUF_INITIAL ? b->max : BUF_INITIAL;
	if (b->cap == 0)
		b->cap = 1;
	if ((b->d = blk_alloc(secret, b->cap)) == NULL) {
		free(b);
		return NULL;
	}
	return b;
}

struct cf_buf *
cf_buf_new(size_t max_size)
{
	return buf_new(max_size, 0);
}

struct cf_buf *
cf_buf_new_secret(size_t max_size)
{
	return buf_new(max_size, 1);
}

void
cf_buf_free(struct cf_buf *b)
{
	if (b == NULL)
		return;
	blk_free(b->secret, b->d, b->cap);
	free(b);
}

void
cf_buf_reset(struct cf_buf *b)
{
	if (b == NULL)
		return;
	cf_cleanse(b->d, b->cap);
	b->len = 0;
}

/* Makes room for n more bytes: all-or-nothing. */
static int
ensure(struct cf_buf *b, size_t n)
{
	size_t need, ncap;
	uint8_t *nd;

	if (b == NULL)
		return COFFER_E_INVAL;
	if (n > b->max - b->len)
		return COFFER_E_TOOBIG;
	need = b->len + n;
	if (need <= b->cap)
		return 0;
	ncap = b->cap;
	while (ncap < need)
		ncap = ncap > b->max / 2 ? b->max : ncap * 2;
	if ((nd = blk_alloc(b->secret, ncap)) == NULL)
		return COFFER_E_NOMEM;
	memcpy(nd, b->d, b->len);
	blk_free(b->secret, b->d, b->cap);
	b->d = nd;
	b->cap = ncap;
	return 0;
}

int
cf_buf_reserve(struct cf_buf *b, size_t n, uint8_t **p)
{
	int rc;

	*p = NULL;
	if ((rc = ensure(b, n)) != 0)
		return rc;
	*p = b->d + b->len;
	b->len += n;
	return 0;
}

int
cf_buf_put_raw(struct cf_buf *b, const void *v, size_t n)
{
	uint8_t *p;
	int rc;

	if (n > 0 && v == NULL)
		return COFFER_E_INVAL;
	if ((rc = cf_buf_reserve(b, n, &p)) != 0)
		return rc;
	if (n > 0)
		memcpy(p, v, n);
	return 0;
}

int
cf_buf_put_u8(struct cf_buf *b, uint8_t v)
{
	return cf_buf_put_raw(b, &v, 1);
}

int
cf_buf_put_u16(struct cf_buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	return cf_buf_put_raw(b, x, sizeof(x));
}

int
cf_buf_put_u32(struct cf_buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v };

	return cf_buf_put_raw(b, x, sizeof(x));
}

int
cf_buf_put_u64(struct cf_buf *b, uint64_t v)
{
	uint8_t x[8];
	int i;

	for (i = 7; i >= 0; i--) {
		x[i] = (uint8_t)v;
		v >>= 8;
	}
	return cf_buf_put_raw(b, x, sizeof(x));
}

int
cf_buf_put_bytes(struct cf_buf *b, const void *v, size_t n)
{
	uint8_t *p;
	int rc;

	if (n > 0 && v == NULL)
		return COFFER_E_INVAL;
	if (n > UINT32_MAX)
		return COFFER_E_TOOBIG;
	if (b == NULL)
		return COFFER_E_INVAL;
	if (n > SIZE_MAX - 4)
		return COFFER_E_TOOBIG;
	/* One reservation, so a failure leaves no half-written prefix. */
	if ((rc = cf_buf_reserve(b, 4 + n, &p)) != 0)
		return rc;
	p[0] = (uint8_t)(n >> 24);
	p[1] = (uint8_t)(n >> 16);
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
	if (n > 0)
		memcpy(p + 4, v, n);
	return 0;
}

int
cf_buf_put_str(struct cf_buf *b, const char *s)
{
	if (s == NULL)
		return COFFER_E_INVAL;
	return cf_buf_put_bytes(b, s, strlen(s));
}

const uint8_t *
cf_buf_ptr(const struct cf_buf *b)
{
	return b->d;
}

uint8_t *
cf_buf_mutable_ptr(struct cf_buf *b)
{
	return b->d;
}

size_t
cf_buf_len(const struct cf_buf *b)
{
	return b == NULL ? 0 : b->len;
}

int
cf_buf_steal(struct cf_buf *b, uint8_t **p, size_t *n)
{
	uint8_t *nd;
	size_t ncap;

	*p = NULL;
	*n = 0;
	if (b == NULL)
		return COFFER_E_INVAL;
	/* The buffer needs a fresh block to stay usable; take it first. */
	ncap = b->max < BUF_INITIAL ? b->max : BUF_INITIAL;
	if (ncap == 0)
		ncap = 1;
	if ((nd = blk_alloc(b->secret, ncap)) == NULL)
		return COFFER_E_NOMEM;
	/* Bytes past len are zero, so handing over the whole block is safe. */
	*p = b->d;
	*n = b->len;
	b->d = nd;
	b->cap = ncap;
	b->len = 0;
	return 0;
}
