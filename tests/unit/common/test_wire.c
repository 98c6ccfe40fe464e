/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_wire.c: the incremental frame decoder. Frames are built by hand
 * (not with cf_frame_hdr) so the test does not trust the code under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "coffer/coffer_err.h"
#include "common/wire.h"

/* Frame "hello": 00 00 00 05 'h' 'e' 'l' 'l' 'o'. */
static const uint8_t frame1[] = { 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o' };
static const uint8_t frame2[] = { 0, 0, 1, 0 };	/* 256 bytes follow */

static void
test_hdr(void **state)
{
	uint8_t h[4];

	(void)state;
	cf_frame_hdr(h, 5);
	assert_memory_equal(h, frame1, 4);
	cf_frame_hdr(h, 0x01020304);
	assert_memory_equal(h, "\x01\x02\x03\x04", 4);
}

static void
test_whole(void **state)
{
	struct cf_frame_dec d;
	uint8_t *f;
	size_t used, n;

	(void)state;
	cf_frame_dec_init(&d, 1024);
	assert_int_equal(cf_frame_dec_feed(&d, frame1, sizeof(frame1), &used,
	    &f, &n), 0);
	assert_int_equal(used, sizeof(frame1));
	assert_non_null(f);
	assert_int_equal(n, 5);
	assert_memory_equal(f, "hello", 5);
	free(f);
	cf_frame_dec_reset(&d);
}

/* Every strict prefix of a valid frame yields no frame, and all of it is
 * consumed (buffered); the rest then completes the frame. */
static void
test_every_truncation(void **state)
{
	struct cf_frame_dec d;
	uint8_t *f;
	size_t cut, used, n;

	(void)state;
	for (cut = 0; cut < sizeof(frame1); cut++) {
		cf_frame_dec_init(&d, 1024);
		assert_int_equal(cf_frame_dec_feed(&d, frame1, cut, &used, &f,
		    &n), 0);
		assert_null(f);
		assert_int_equal(n, 0);
		assert_int_equal(used, cut);
		assert_int_equal(cf_frame_dec_feed(&d, frame1 + cut,
		    sizeof(frame1) - cut, &used, &f, &n), 0);
		assert_int_equal(used, sizeof(frame1) - cut);
		assert_non_null(f);
		assert_int_equal(n, 5);
		assert_memory_equal(f, "hello", 5);
		free(f);
		cf_frame_dec_reset(&d);
	}
	/* Abandoning a partial frame frees it (ASan/LSan would complain). */
	cf_frame_dec_init(&d, 1024);
	assert_int_equal(cf_frame_dec_feed(&d, frame1, 6, &used, &f, &n), 0);
	assert_null(f);
	cf_frame_dec_reset(&d);
	assert_null(d.payload);
}

static void
test_byte_by_byte_multi(void **state)
{
	uint8_t stream[sizeof(frame1) + 4 + 256 + sizeof(frame1)];
	struct cf_frame_dec d;
	uint8_t *f;
	size_t i, used, n, off, got = 0;

	(void)state;
	off = 0;
	memcpy(stream + off, frame1, sizeof(frame1));
	off += sizeof(frame1);
	memcpy(stream + off, frame2, 4);
	off += 4;
	for (i = 0; i < 256; i++)
		stream[off++] = (uint8_t)i;
	memcpy(stream + off, frame1, sizeof(frame1));
	off += sizeof(frame1);
	assert_int_equal(off, sizeof(stream));

	/* One byte at a time. */
	cf_frame_dec_init(&d, 1024);
	for (i = 0; i < sizeof(stream); i++) {
		assert_int_equal(cf_frame_dec_feed(&d, stream + i, 1, &used,
		    &f, &n), 0);
		assert_int_equal(used, 1);
		if (f != NULL) {
			got++;
			if (got == 2) {
				assert_int_equal(n, 256);
				assert_int_equal(f[255], 255);
			} else
				assert_memory_equal(f, "hello", 5);
			free(f);
		}
	}
	assert_int_equal(got, 3);
	cf_frame_dec_reset(&d);

	/* All at once: the caller loops on *used. */
	got = 0;
	cf_frame_dec_init(&d, 1024);
	for (off = 0; off < sizeof(stream); off += used) {
		assert_int_equal(cf_frame_dec_feed(&d, stream + off,
		    sizeof(stream) - off, &used, &f, &n), 0);
		assert_true(used > 0);
		assert_non_null(f);
		got++;
		assert_int_equal(n, got == 2 ? 256 : 5);
		free(f);
	}
	assert_int_equal(got, 3);
	cf_frame_dec_reset(&d);
}

static void
test_toobig(void **state)
{
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 'x' };
	static const uint8_t over[] = { 0, 0, 0, 17 };
	struct cf_frame_dec d;
	uint8_t *f;
	size_t used, n;
#ifndef __SANITIZE_ADDRESS__
	struct mallinfo2 before, after;
#endif

	(void)state;
	cf_frame_dec_init(&d, 16);
#ifndef __SANITIZE_ADDRESS__
	before = mallinfo2();
#endif
	assert_int_equal(cf_frame_dec_feed(&d, huge, sizeof(huge), &used, &f,
	    &n), COFFER_E_TOOBIG);
#ifndef __SANITIZE_ADDRESS__
	after = mallinfo2();
	/* Nothing near 4 GiB was ever requested (mmap'd or not). */
	assert_true(after.hblkhd <= before.hblkhd);
	assert_true(after.uordblks <= before.uordblks + 1024);
#endif
	assert_null(d.payload);
	assert_null(f);
	assert_int_equal(n, 0);
	assert_true(used <= 4);
	/* The error is sticky: more bytes never yield a frame. */
	assert_int_equal(cf_frame_dec_feed(&d, frame1, sizeof(frame1), &used,
	    &f, &n), COFFER_E_TOOBIG);
	assert_null(f);
	assert_int_equal(used, 0);
	assert_null(d.payload);
	cf_frame_dec_reset(&d);
	/* After reset the decoder works again. */
	assert_int_equal(cf_frame_dec_feed(&d, frame1, sizeof(frame1), &used,
	    &f, &n), 0);
	assert_non_null(f);
	free(f);

	/* One over the max, fed byte by byte. */
	cf_frame_dec_init(&d, 16);
	assert_int_equal(cf_frame_dec_feed(&d, over, 3, &used, &f, &n), 0);
	assert_int_equal(cf_frame_dec_feed(&d, over + 3, 1, &used, &f, &n),
	    COFFER_E_TOOBIG);
	assert_null(d.payload);
	cf_frame_dec_reset(&d);

	/* Exactly max is accepted. */
	cf_frame_dec_init(&d, 5);
	assert_int_equal(cf_frame_dec_feed(&d, frame1, sizeof(frame1), &used,
	    &f, &n), 0);
	assert_non_null(f);
	free(f);
	cf_frame_dec_init(&d, 4);
	assert_int_equal(cf_frame_dec_feed(&d, frame1, sizeof(frame1), &used,
	    &f, &n), COFFER_E_TOOBIG);
	assert_null(d.payload);
}

static void
test_zero_len(void **state)
{
	static const uint8_t zero[] = { 0, 0, 0, 0, 0, 0, 0, 1, 'a' };
	struct cf_frame_dec d;
	uint8_t *f;
	size_t used, n;

	(void)state;
	cf_frame_dec_init(&d, 1024);
	assert_int_equal(cf_frame_dec_feed(&d, zero, sizeof(zero), &used, &f,
	    &n), COFFER_E_FORMAT);
	assert_null(f);
	assert_null(d.payload);
	assert_int_equal(cf_frame_dec_feed(&d, zero + 4, sizeof(zero) - 4,
	    &used, &f, &n), COFFER_E_FORMAT);
	assert_null(f);
	/* Empty feeds are harmless. */
	cf_frame_dec_reset(&d);
	assert_int_equal(cf_frame_dec_feed(&d, NULL, 0, &used, &f, &n), 0);
	assert_int_equal(used, 0);
	assert_null(f);
	cf_frame_dec_reset(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hdr),
		cmocka_unit_test(test_whole),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_byte_by_byte_multi),
		cmocka_unit_test(test_toobig),
		cmocka_unit_test(test_zero_len),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
