/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_wipebio.c: the wiping buffer BIO over OpenSSL memory BIOs: bytes
 * come out in order through small and large reads and writes, pending
 * counts, writes wait for a flush, an empty non-blocking source is a
 * retry (not EOF), EOF is EOF, and a sink that refuses leaves the held
 * bytes to be sent later.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/rand.h>

#include "common/wipebio.h"

#define SZ 64

static void
test_reads(void **state)
{
	unsigned char src[1000], got[1000];
	size_t n, off = 0, want;
	BIO *mem, *w;

	(void)state;
	assert_int_equal(RAND_bytes(src, sizeof(src)), 1);
	mem = BIO_new_mem_buf(src, sizeof(src));
	w = cf_wipebio_new(SZ);
	assert_non_null(mem);
	assert_non_null(w);
	w = BIO_push(w, mem);
	assert_int_equal(BIO_ctrl_pending(w), 0);
	/* 4 bytes: the buffer reads SZ ahead and holds the rest. */
	assert_int_equal(BIO_read_ex(w, got, 4, &n), 1);
	assert_int_equal(n, 4);
	assert_int_equal(BIO_ctrl_pending(w), SZ - 4);
	off = 4;
	/* Mixed sizes, some larger than the buffer (read straight). */
	while (off < sizeof(src)) {
		want = (off % 3 == 0) ? 200 : 7;
		if (want > sizeof(src) - off)
			want = sizeof(src) - off;
		assert_int_equal(BIO_read_ex(w, got + off, want, &n), 1);
		assert_true(n > 0 && n <= want);
		off += n;
	}
	assert_memory_equal(got, src, sizeof(src));
	assert_int_equal(BIO_ctrl_pending(w), 0);
	/* EOF: no data, no retry. */
	assert_int_equal(BIO_read_ex(w, got, 4, &n), 0);
	assert_false(BIO_should_retry(w));
	BIO_free_all(w);
}

static void
test_retry_read(void **state)
{
	unsigned char got[8];
	size_t n;
	BIO *mem = BIO_new(BIO_s_mem()), *w = cf_wipebio_new(SZ);

	(void)state;
	assert_non_null(mem);
	assert_non_null(w);
	BIO_set_mem_eof_return(mem, -1);	/* empty = "try again" */
	w = BIO_push(w, mem);
	assert_int_equal(BIO_read_ex(w, got, sizeof(got), &n), 0);
	assert_true(BIO_should_retry(w));
	assert_true(BIO_should_read(w));
	assert_int_equal(BIO_write(mem, "abcdefgh", 8), 8);
	assert_int_equal(BIO_read_ex(w, got, sizeof(got), &n), 1);
	assert_int_equal(n, 8);
	assert_memory_equal(got, "abcdefgh", 8);
	BIO_free_all(w);
}

static void
test_writes(void **state)
{
	unsigned char src[700], *p;
	size_t n, off = 0, chunk;
	long len;
	BIO *mem = BIO_new(BIO_s_mem()), *w = cf_wipebio_new(SZ);

	(void)state;
	assert_non_null(mem);
	assert_non_null(w);
	assert_int_equal(RAND_bytes(src, sizeof(src)), 1);
	w = BIO_push(w, mem);
	/* Small writes stay in the buffer until a flush. */
	assert_int_equal(BIO_write_ex(w, src, 10, &n), 1);
	assert_int_equal(n, 10);
	assert_int_equal(BIO_ctrl_wpending(w), 10);
	assert_int_equal(BIO_ctrl_pending(mem), 0);
	off = 10;
	/* Sizes below, at and above the buffer's, in order. */
	while (off < sizeof(src)) {
		chunk = off % 2 ? 150 : 30;
		if (chunk > sizeof(src) - off)
			chunk = sizeof(src) - off;
		assert_int_equal(BIO_write_ex(w, src + off, chunk, &n), 1);
		assert_true(n > 0);
		off += n;
	}
	assert_int_equal(BIO_flush(w), 1);
	assert_int_equal(BIO_ctrl_wpending(w), 0);
	len = BIO_get_mem_data(mem, (char **)&p);
	assert_int_equal(len, sizeof(src));
	assert_memory_equal(p, src, sizeof(src));
	BIO_free_all(w);
}

/* A sink that refuses (a full non-blocking socket): the held bytes are
 * kept and leave on a later flush, none lost or duplicated. */
static int refuse;

static int
sink_write(BIO *b, const char *in, int inl)
{
	BIO_clear_retry_flags(b);
	if (refuse) {
		BIO_set_retry_write(b);
		return -1;
	}
	return BIO_write((BIO *)BIO_get_data(b), in, inl);
}

static long
sink_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int
sink_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static void
test_refusing_sink(void **state)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() |
	    BIO_TYPE_SOURCE_SINK, "test sink");
	BIO *mem = BIO_new(BIO_s_mem()), *sink, *w;
	unsigned char src[100], *p;
	size_t n;

	(void)state;
	assert_non_null(m);
	assert_int_equal(BIO_meth_set_write(m, sink_write), 1);
	assert_int_equal(BIO_meth_set_ctrl(m, sink_ctrl), 1);
	assert_int_equal(BIO_meth_set_create(m, sink_create), 1);
	sink = BIO_new(m);
	assert_non_null(sink);
	BIO_set_data(sink, mem);
	w = BIO_push(cf_wipebio_new(SZ), sink);
	assert_non_null(w);
	assert_int_equal(RAND_bytes(src, sizeof(src)), 1);
	refuse = 1;
	assert_int_equal(BIO_write_ex(w, src, 40, &n), 1);	/* held */
	assert_int_equal(BIO_flush(w), 0);
	assert_true(BIO_should_retry(w));
	/* Does not fit with the held 40: must send them first: refused. */
	assert_int_equal(BIO_write_ex(w, src + 40, 60, &n), 0);
	assert_true(BIO_should_retry(w));
	assert_int_equal(BIO_ctrl_wpending(w), 40);
	refuse = 0;
	assert_int_equal(BIO_write_ex(w, src + 40, 60, &n), 1);
	assert_int_equal(n, 60);
	assert_int_equal(BIO_flush(w), 1);
	assert_int_equal(BIO_get_mem_data(mem, (char **)&p), 100);
	assert_memory_equal(p, src, 100);
	BIO_free_all(w);
	BIO_free(mem);
	BIO_meth_free(m);
}

static void
test_bad_args(void **state)
{
	(void)state;
	assert_null(cf_wipebio_new(0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads),
		cmocka_unit_test(test_retry_read),
		cmocka_unit_test(test_writes),
		cmocka_unit_test(test_refusing_sink),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
