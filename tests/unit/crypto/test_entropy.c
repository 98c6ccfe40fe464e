/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_entropy.c: SP 800-90B continuous tests: a stuck source trips the
 * RCT, a biased one (no long runs) trips the APT, a good sequence and the
 * real getrandom source pass, and failures latch.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/rand.h>

#include "coffer/coffer_err.h"
#include "crypto/entropy.h"

static void
test_rct_trips_on_stuck(void **state)
{
	struct cf_entropy e;
	uint8_t s[16];

	(void)state;
	cf_entropy_init(&e);
	/* 7 identical samples are tolerated ... */
	memset(s, 0xaa, 7);
	s[7] = 0x55;
	assert_int_equal(cf_entropy_feed(&e, s, 8), 0);
	/* ... the 8th in a row is not */
	memset(s, 0x42, 8);
	assert_int_equal(cf_entropy_feed(&e, s, 8), COFFER_E_SELFTEST);
	assert_int_equal(cf_entropy_health(&e), CF_ENTROPY_FAILED_RCT);
	/* latched, even for good data */
	s[0] = 1;
	assert_int_equal(cf_entropy_feed(&e, s, 1), COFFER_E_SELFTEST);
}

static void
test_apt_trips_on_bias(void **state)
{
	struct cf_entropy e;
	uint8_t s[512];
	size_t i;

	(void)state;
	/* value 0x00 every 14th sample (37 per window), never twice in a
	 * row: no RCT failure, but too frequent for the APT */
	for (i = 0; i < sizeof(s); i++)
		s[i] = (i % 14 == 0) ? 0 : (uint8_t)(1 + i % 251);
	cf_entropy_init(&e);
	assert_int_equal(cf_entropy_feed(&e, s, sizeof(s)), COFFER_E_SELFTEST);
	assert_int_equal(cf_entropy_health(&e), CF_ENTROPY_FAILED_APT);
	/* 35 occurrences per window is still fine */
	for (i = 0; i < sizeof(s); i++)
		s[i] = (i % 15 == 0 && i < 15 * 35) ? 0 : (uint8_t)(1 + i % 251);
	cf_entropy_init(&e);
	assert_int_equal(cf_entropy_feed(&e, s, sizeof(s)), 0);
}

static void
test_good_sequences_pass(void **state)
{
	struct cf_entropy e;
	uint8_t s[4096];
	size_t i;
	enum cf_entropy_health h;

	(void)state;
	/* a counter: every byte value equally often, no runs */
	for (i = 0; i < sizeof(s); i++)
		s[i] = (uint8_t)i;
	cf_entropy_init(&e);
	assert_int_equal(cf_entropy_feed(&e, s, sizeof(s)), 0);
	assert_int_equal(cf_entropy_health(&e), CF_ENTROPY_OK);
	assert_int_equal(RAND_bytes(s, sizeof(s)), 1);
	assert_int_equal(cf_entropy_feed(&e, s, sizeof(s)), 0);
	/* the real source */
	assert_int_equal(cf_entropy_check(1 << 16, &h), 0);
	assert_int_equal(h, CF_ENTROPY_OK);
	assert_int_equal(cf_entropy_global_health(), CF_ENTROPY_OK);
	assert_string_equal(cf_entropy_health_name(CF_ENTROPY_FAILED_APT),
	    "failed: adaptive proportion test");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rct_trips_on_stuck),
		cmocka_unit_test(test_apt_trips_on_bias),
		cmocka_unit_test(test_good_sequences_pass),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
