/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_buf.c: cf_rd getters against hand-written big-endian encodings
 * (truncation at every prefix, oversize lengths, trailing data) and the
 * cf_buf writer (exact bytes, max_size, secret buffers in the secure heap).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/crypto.h>

#include "coffer/coffer_err.h"
#include "common/buf.h"
#include "common/secmem.h"

/* Independent, hand-written encoding of one record with every field type. */
static const uint8_t enc[] = {
	0xab,					/* u8 */
	0x12, 0x34,				/* u16 */
	0xde, 0xad, 0xbe, 0xef,			/* u32 */
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,	/* u64 */
	0x00, 0x00, 0x00, 0x03, 'x', 'y', 'z',	/* bytes */
	0x00, 0x00, 0x00, 0x02, 'h', 'i',	/* str */
	0x00, 0x00, 0x00, 0x04, 0xca, 0xfe, 0xba, 0xbe,	/* sub { u32 } */
	0x00, 0x00, 0x00, 0x00,			/* empty bytes */
	0x55, 0x66,				/* raw 2 */
};

/*
 * Parses enc step by step. Every failing getter must leave the offset where
 * it was and zero its outputs. Returns the first error, or 0.
 */
static int
parse(struct cf_rd *rd, int check_values)
{
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	const uint8_t *p;
	size_t n, off;
	char *s;
	struct cf_rd sub;
	int rc;

#define STEP(call, zero_check)						\
	do {								\
		off = rd->off;						\
		if ((rc = (call)) != 0) {				\
			assert_int_equal(rd->off, off);			\
			zero_check;					\
			return rc;					\
		}							\
	} while (0)

	STEP(cf_rd_u8(rd, &u8), assert_int_equal(u8, 0));
	STEP(cf_rd_u16(rd, &u16), assert_int_equal(u16, 0));
	STEP(cf_rd_u32(rd, &u32), assert_int_equal(u32, 0));
	STEP(cf_rd_u64(rd, &u64), assert_int_equal(u64, 0));
	STEP(cf_rd_bytes(rd, 16, &p, &n),
	    assert_null(p); assert_int_equal(n, 0));
	if (check_values) {
		assert_int_equal(u8, 0xab);
		assert_int_equal(u16, 0x1234);
		assert_int_equal(u32, 0xdeadbeefu);
		assert_true(u64 == 0x0102030405060708ull);
		assert_int_equal(n, 3);
		assert_memory_equal(p, "xyz", 3);
	}
	STEP(cf_rd_str(rd, 16, &s), assert_null(s));
	if (check_values)
		assert_string_equal(s, "hi");
	free(s);
	STEP(cf_rd_sub(rd, 16, &sub),
	    assert_null(sub.p); assert_int_equal(sub.len, 0));
	assert_int_equal(cf_rd_u32(&sub, &u32), 0);
	assert_int_equal(u32, 0xcafebabeu);
	assert_int_equal(cf_rd_end(&sub), 0);
	STEP(cf_rd_bytes(rd, 16, &p, &n), assert_null(p));
	if (check_values)
		assert_int_equal(n, 0);
	STEP(cf_rd_raw(rd, 2, &p), assert_null(p));
	if (check_values)
		assert_memory_equal(p, "\x55\x66", 2);
#undef STEP
	return 0;
}

static void
test_rd_all(void **state)
{
	struct cf_rd rd = CF_RD_INIT(enc, sizeof(enc));

	(void)state;
	assert_int_equal(parse(&rd, 1), 0);
	assert_int_equal(rd.off, sizeof(enc));
	assert_int_equal(cf_rd_end(&rd), 0);
}

static void
test_rd_every_prefix(void **state)
{
	size_t cut;

	(void)state;
	for (cut = 0; cut < sizeof(enc); cut++) {
		/* A heap copy of exactly cut bytes, so ASan sees overreads. */
		uint8_t *c = malloc(cut > 0 ? cut : 1);
		struct cf_rd rd = CF_RD_INIT(c, cut);

		assert_non_null(c);
		memcpy(c, enc, cut);
		assert_int_equal(parse(&rd, 0), COFFER_E_SHORT);
		assert_true(rd.off <= cut);
		free(c);
	}
}

static void
test_rd_trailing(void **state)
{
	uint8_t x[sizeof(enc) + 1];
	struct cf_rd rd = CF_RD_INIT(x, sizeof(x));
	uint8_t v;

	(void)state;
	memcpy(x, enc, sizeof(enc));
	x[sizeof(enc)] = 0;
	assert_int_equal(parse(&rd, 1), 0);
	assert_int_equal(cf_rd_end(&rd), COFFER_E_TRAILING);
	assert_int_equal(cf_rd_u8(&rd, &v), 0);
	assert_int_equal(cf_rd_end(&rd), 0);
	assert_int_equal(cf_rd_u8(&rd, &v), COFFER_E_SHORT);
	assert_int_equal(rd.off, sizeof(x));
}

static void
test_rd_oversize(void **state)
{
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 'a', 'b' };
	static const uint8_t five[] = { 0, 0, 0, 5, 'a', 'b', 'c', 'd', 'e' };
	struct cf_rd rd = CF_RD_INIT(huge, sizeof(huge));
	struct cf_rd sub;
	const uint8_t *p;
	size_t n;
	char *s;

	(void)state;
	/* Over the caller's cap: TOOBIG, nothing consumed. */
	assert_int_equal(cf_rd_bytes(&rd, 1024, &p, &n), COFFER_E_TOOBIG);
	assert_int_equal(rd.off, 0);
	assert_null(p);
	assert_int_equal(cf_rd_str(&rd, 1024, &s), COFFER_E_TOOBIG);
	assert_null(s);
	assert_int_equal(cf_rd_sub(&rd, 1024, &sub), COFFER_E_TOOBIG);
	assert_int_equal(rd.off, 0);
	/* Under the cap but longer than the input: SHORT, nothing consumed. */
	assert_int_equal(cf_rd_bytes(&rd, SIZE_MAX, &p, &n), COFFER_E_SHORT);
	assert_int_equal(rd.off, 0);
	assert_int_equal(cf_rd_raw(&rd, SIZE_MAX, &p), COFFER_E_SHORT);
	assert_int_equal(rd.off, 0);
	/* Exactly at the cap is fine; one below is not. */
	rd = (struct cf_rd)CF_RD_INIT(five, sizeof(five));
	assert_int_equal(cf_rd_bytes(&rd, 4, &p, &n), COFFER_E_TOOBIG);
	assert_int_equal(cf_rd_bytes(&rd, 5, &p, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(cf_rd_end(&rd), 0);
}

static void
test_rd_str_nul(void **state)
{
	static const uint8_t bad[] = { 0, 0, 0, 3, 'a', 0, 'b' };
	static const uint8_t empty[] = { 0, 0, 0, 0 };
	struct cf_rd rd = CF_RD_INIT(bad, sizeof(bad));
	char *s;

	(void)state;
	assert_int_equal(cf_rd_str(&rd, 16, &s), COFFER_E_FORMAT);
	assert_null(s);
	assert_int_equal(rd.off, 0);
	rd = (struct cf_rd)CF_RD_INIT(empty, sizeof(empty));
	assert_int_equal(cf_rd_str(&rd, 16, &s), 0);
	assert_string_equal(s, "");
	free(s);
}

static void
test_buf_write(void **state)
{
	struct cf_buf *b = cf_buf_new(1024);
	struct cf_rd rd;
	uint8_t *p, v;
	size_t n;

	(void)state;
	assert_non_null(b);
	assert_int_equal(cf_buf_len(b), 0);
	assert_int_equal(cf_buf_put_u8(b, 0xab), 0);
	assert_int_equal(cf_buf_put_u16(b, 0x1234), 0);
	assert_int_equal(cf_buf_put_u32(b, 0xdeadbeef), 0);
	assert_int_equal(cf_buf_put_u64(b, 0x0102030405060708ull), 0);
	assert_int_equal(cf_buf_put_bytes(b, "xyz", 3), 0);
	assert_int_equal(cf_buf_put_str(b, "hi"), 0);
	assert_int_equal(cf_buf_put_u32(b, 4), 0);
	assert_int_equal(cf_buf_reserve(b, 4, &p), 0);
	p[0] = 0xca, p[1] = 0xfe, p[2] = 0xba, p[3] = 0xbe;
	assert_int_equal(cf_buf_put_bytes(b, NULL, 0), 0);
	assert_int_equal(cf_buf_put_raw(b, "\x55\x66", 2), 0);
	assert_int_equal(cf_buf_len(b), sizeof(enc));
	assert_memory_equal(cf_buf_ptr(b), enc, sizeof(enc));
	cf_buf_mutable_ptr(b)[0] = 0xac;
	assert_int_equal(cf_buf_ptr(b)[0], 0xac);

	assert_int_equal(cf_buf_steal(b, &p, &n), 0);
	assert_int_equal(n, sizeof(enc));
	assert_int_equal(p[0], 0xac);
	assert_memory_equal(p + 1, enc + 1, sizeof(enc) - 1);
	free(p);
	assert_int_equal(cf_buf_len(b), 0);
	/* Still usable after steal. */
	assert_int_equal(cf_buf_put_u8(b, 7), 0);
	rd = (struct cf_rd)CF_RD_INIT(cf_buf_ptr(b), cf_buf_len(b));
	assert_int_equal(cf_rd_u8(&rd, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(cf_rd_end(&rd), 0);
	cf_buf_reset(b);
	assert_int_equal(cf_buf_len(b), 0);
	cf_buf_free(b);
	cf_buf_free(NULL);
}

static void
test_buf_max(void **state)
{
	struct cf_buf *b = cf_buf_new(10);
	uint8_t *p;

	(void)state;
	assert_non_null(b);
	assert_int_equal(cf_buf_put_u64(b, 1), 0);
	/* Every put that would cross max fails and changes nothing. */
	assert_int_equal(cf_buf_put_u32(b, 1), COFFER_E_TOOBIG);
	assert_int_equal(cf_buf_put_bytes(b, "", 0), COFFER_E_TOOBIG);
	assert_int_equal(cf_buf_put_str(b, "a"), COFFER_E_TOOBIG);
	assert_int_equal(cf_buf_reserve(b, SIZE_MAX, &p), COFFER_E_TOOBIG);
	assert_null(p);
	assert_int_equal(cf_buf_put_raw(b, "abc", 3), COFFER_E_TOOBIG);
	assert_int_equal(cf_buf_len(b), 8);
	assert_int_equal(cf_buf_put_u16(b, 0x0102), 0);
	assert_int_equal(cf_buf_len(b), 10);
	assert_int_equal(cf_buf_put_u8(b, 1), COFFER_E_TOOBIG);
	assert_memory_equal(cf_buf_ptr(b), "\0\0\0\0\0\0\0\1\1\2", 10);
	cf_buf_free(b);
}

static void
test_buf_secret(void **state)
{
	enum { MAX = 10000 };
	struct cf_buf *b = cf_buf_new_secret(MAX);
	uint8_t chunk[97], *p;
	size_t i, n;

	(void)state;
	assert_non_null(b);
	assert_true(CRYPTO_secure_allocated(cf_buf_ptr(b)));
	/* Grow through many reallocations; contents must survive each. */
	for (i = 0; i + sizeof(chunk) <= MAX; i += sizeof(chunk)) {
		size_t k;

		for (k = 0; k < sizeof(chunk); k++)
			chunk[k] = (uint8_t)(i + k);
		assert_int_equal(cf_buf_put_raw(b, chunk, sizeof(chunk)), 0);
		assert_true(CRYPTO_secure_allocated(cf_buf_ptr(b)));
	}
	for (n = 0; n < i; n++)
		assert_int_equal(cf_buf_ptr(b)[n], (uint8_t)n);
	assert_int_equal(cf_buf_reserve(b, MAX - i, &p), 0);
	assert_int_equal(cf_buf_len(b), MAX);
	for (n = 0; n < MAX - i; n++)	/* reserved bytes are zeroed */
		assert_int_equal(p[n], 0);
	assert_int_equal(cf_buf_put_u8(b, 0), COFFER_E_TOOBIG);
	assert_int_equal(cf_buf_len(b), MAX);

	assert_int_equal(cf_buf_steal(b, &p, &n), 0);
	assert_int_equal(n, MAX);
	assert_true(CRYPTO_secure_allocated(p));
	assert_int_equal(p[5], 5);
	cf_free_secret(p, n);
	assert_true(CRYPTO_secure_allocated(cf_buf_ptr(b)));
	assert_int_equal(cf_buf_put_str(b, "pin"), 0);
	cf_buf_reset(b);
	assert_int_equal(cf_buf_len(b), 0);
	cf_buf_free(b);
}

/* cf_cleanse zeroes exactly the bytes asked, at any alignment; NULL-safe. */
static void
test_cleanse(void **state)
{
	enum { N = 1 << 20 };
	uint8_t *p = malloc(N + 64), *w;
	struct cf_buf *b;
	size_t off, len, i;

	(void)state;
	assert_non_null(p);
	for (off = 0; off < 9; off++) {
		for (len = 0; len < 70; len += 23) {
			memset(p, 0xA5, 200);
			cf_cleanse(p + off, len);
			for (i = 0; i < 200; i++)
				assert_int_equal(p[i], i >= off &&
				    i < off + len ? 0 : 0xA5);
		}
	}
	memset(p, 0x5A, N + 64);
	cf_cleanse(p + 3, N);
	assert_int_equal(p[2], 0x5A);
	for (i = 3; i < N + 3; i++)
		if (p[i] != 0)
			fail_msg("byte %zu not wiped", i);
	assert_int_equal(p[N + 3], 0x5A);
	cf_cleanse(NULL, 10);
	cf_cleanse(p, 0);
	free(p);

	/* cf_buf_reset wipes what was written. */
	b = cf_buf_new(0);
	assert_non_null(b);
	assert_int_equal(cf_buf_put_str(b, "hunter2"), 0);
	w = cf_buf_mutable_ptr(b);
	cf_buf_reset(b);
	for (i = 0; i < 11; i++)
		assert_int_equal(w[i], 0);
	cf_buf_free(b);
}

static int
setup(void **state)
{
	(void)state;
	/* Same path as cofferd: the heap must really be there. */
	return cf_secmem_init_process(1 << 18) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rd_all),
		cmocka_unit_test(test_rd_every_prefix),
		cmocka_unit_test(test_rd_trailing),
		cmocka_unit_test(test_rd_oversize),
		cmocka_unit_test(test_rd_str_nul),
		cmocka_unit_test(test_buf_write),
		cmocka_unit_test(test_buf_max),
		cmocka_unit_test(test_buf_secret),
		cmocka_unit_test(test_cleanse),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
