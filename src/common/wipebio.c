/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wipebio.c: see wipebio.h. Reads: bytes come from the read-ahead buffer
 * while it holds some (each copied byte is wiped there); a request at
 * least as large as the buffer goes straight from the next BIO to the
 * caller. Writes: gathered in the buffer; a write that does not fit
 * first sends what is held, and one at least as large as the buffer goes
 * straight to the next BIO. Retries (non-blocking sockets) are passed
 * through with the next BIO's retry flags; nothing is lost: a write
 * returns how much it took, the held bytes stay until sent.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "common/secmem.h"
#include "common/wipebio.h"

struct wb {
	unsigned char *ib, *ob;
	size_t size;
	size_t ioff, ilen;		/* unread bytes: ib[ioff, ioff+ilen) */
	size_t ooff, olen;		/* unsent bytes: ob[ooff, ooff+olen) */
};

static BIO_METHOD *wb_meth;

static void
wb_take(struct wb *w, unsigned char *out, size_t n)
{
	memcpy(out, w->ib + w->ioff, n);
	cf_cleanse(w->ib + w->ioff, n);
	w->ioff += n;
	w->ilen -= n;
	if (w->ilen == 0)
		w->ioff = 0;
}

static int
wb_read(BIO *b, char *out, size_t outl, size_t *readbytes)
{
	struct wb *w = BIO_get_data(b);
	BIO *next = BIO_next(b);
	size_t n;
	int r;

	*readbytes = 0;
	BIO_clear_retry_flags(b);
	if (w == NULL || next == NULL || out == NULL)
		return 0;
	if (w->ilen == 0) {
		if (outl >= w->size) {
			r = BIO_read(next, out, outl > 0x7fffffff ?
			    0x7fffffff : (int)outl);
			if (r <= 0) {
				BIO_copy_next_retry(b);
				return 0;
			}
			*readbytes = (size_t)r;
			return 1;
		}
		r = BIO_read(next, w->ib, (int)w->size);
		if (r <= 0) {
			BIO_copy_next_retry(b);
			return 0;
		}
		w->ioff = 0;
		w->ilen = (size_t)r;
	}
	n = outl < w->ilen ? outl : w->ilen;
	wb_take(w, (unsigned char *)out, n);
	*readbytes = n;
	return 1;
}

/* Sends what the buffer holds: 1 when empty, 0 (retry flags set) if not. */
static int
wb_drain(BIO *b, struct wb *w)
{
	BIO *next = BIO_next(b);
	int r;

	while (w->olen > 0) {
		r = BIO_write(next, w->ob + w->ooff, w->olen > 0x7fffffff ?
		    0x7fffffff : (int)w->olen);
		if (r <= 0) {
			BIO_copy_next_retry(b);
			return 0;
		}
		cf_cleanse(w->ob + w->ooff, (size_t)r);
		w->ooff += (size_t)r;
		w->olen -= (size_t)r;
	}
	w->ooff = 0;
	return 1;
}

static int
wb_write(BIO *b, const char *in, size_t inl, size_t *written)
{
	struct wb *w = BIO_get_data(b);
	BIO *next = BIO_next(b);
	int r;

	*written = 0;
	BIO_clear_retry_flags(b);
	if (w == NULL || next == NULL || in == NULL)
		return 0;
	if (w->ooff + w->olen + inl <= w->size) {
		memcpy(w->ob + w->ooff + w->olen, in, inl);
		w->olen += inl;
		*written = inl;
		return 1;
	}
	if (!wb_drain(b, w))
		return 0;
	if (inl < w->size) {
		memcpy(w->ob, in, inl);
		w->olen = inl;
		*written = inl;
		return 1;
	}
	r = BIO_write(next, in, inl > 0x7fffffff ? 0x7fffffff : (int)inl);
	if (r <= 0) {
		BIO_copy_next_retry(b);
		return 0;
	}
	*written = (size_t)r;
	return 1;
}

static long
wb_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct wb *w = BIO_get_data(b);
	BIO *next = BIO_next(b);

	if (w == NULL)
		return 0;
	switch (cmd) {
	case BIO_CTRL_PENDING:
		return (long)w->ilen;
	case BIO_CTRL_WPENDING:
		return (long)w->olen;
	case BIO_CTRL_FLUSH:
		BIO_clear_retry_flags(b);
		if (next == NULL)
			return w->olen == 0;
		if (!wb_drain(b, w))
			return 0;
		return BIO_ctrl(next, cmd, num, ptr);
	default:
		return next != NULL ? BIO_ctrl(next, cmd, num, ptr) : 0;
	}
}

static int
wb_create(BIO *b)
{
	BIO_set_data(b, NULL);
	BIO_set_init(b, 1);
	return 1;
}

static int
wb_destroy(BIO *b)
{
	struct wb *w = BIO_get_data(b);

	if (w != NULL) {
		cf_cleanse(w->ib, w->size);
		cf_cleanse(w->ob, w->size);
		OPENSSL_free(w->ib);
		OPENSSL_free(w->ob);
		OPENSSL_free(w);
		BIO_set_data(b, NULL);
	}
	return 1;
}

static void
wb_init_meth(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_FILTER,
	    "coffer wiping buffer");

	if (m == NULL)
		return;
	if (BIO_meth_set_read_ex(m, wb_read) != 1 ||
	    BIO_meth_set_write_ex(m, wb_write) != 1 ||
	    BIO_meth_set_ctrl(m, wb_ctrl) != 1 ||
	    BIO_meth_set_create(m, wb_create) != 1 ||
	    BIO_meth_set_destroy(m, wb_destroy) != 1) {
		BIO_meth_free(m);
		return;
	}
	wb_meth = m;
}

BIO *
cf_wipebio_new(size_t size)
{
	static CRYPTO_ONCE once = CRYPTO_ONCE_STATIC_INIT;
	struct wb *w;
	BIO *b;

	if (size == 0 || size > 0x7fffffff ||
	    !CRYPTO_THREAD_run_once(&once, wb_init_meth) || wb_meth == NULL)
		return NULL;
	if ((w = OPENSSL_zalloc(sizeof(*w))) == NULL)
		return NULL;
	w->size = size;
	if ((w->ib = OPENSSL_malloc(size)) == NULL ||
	    (w->ob = OPENSSL_malloc(size)) == NULL ||
	    (b = BIO_new(wb_meth)) == NULL) {
		OPENSSL_free(w->ib);
		OPENSSL_free(w->ob);
		OPENSSL_free(w);
		return NULL;
	}
	BIO_set_data(b, w);
	return b;
}
