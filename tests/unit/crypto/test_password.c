/* SPDX-License-Identifier: Apache-2.0 */
/* test_password.c: scrypt (RFC 7914 section 12 vectors) and verifiers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "coffer/coffer_err.h"
#include "crypto/password.h"

static void
test_rfc7914(void **state)
{
	static const uint8_t v2[64] = {
		0xfd, 0xba, 0xbe, 0x1c, 0x9d, 0x34, 0x72, 0x00,
		0x78, 0x56, 0xe7, 0x19, 0x0d, 0x01, 0xe9, 0xfe,
		0x7c, 0x6a, 0xd7, 0xcb, 0xc8, 0x23, 0x78, 0x30,
		0xe7, 0x73, 0x76, 0x63, 0x4b, 0x37, 0x31, 0x62,
		0x2e, 0xaf, 0x30, 0xd9, 0x2e, 0x22, 0xa3, 0x88,
		0x6f, 0xf1, 0x09, 0x27, 0x9d, 0x98, 0x30, 0xda,
		0xc7, 0x27, 0xaf, 0xb9, 0x4a, 0x83, 0xee, 0x6d,
		0x83, 0x60, 0xcb, 0xdf, 0xa2, 0xcc, 0x06, 0x40,
	};
	static const uint8_t v3[64] = {
		0x70, 0x23, 0xbd, 0xcb, 0x3a, 0xfd, 0x73, 0x48,
		0x46, 0x1c, 0x06, 0xcd, 0x81, 0xfd, 0x38, 0xeb,
		0xfd, 0xa8, 0xfb, 0xba, 0x90, 0x4f, 0x8e, 0x3e,
		0xa9, 0xb5, 0x43, 0xf6, 0x54, 0x5d, 0xa1, 0xf2,
		0xd5, 0x43, 0x29, 0x55, 0x61, 0x3f, 0x0f, 0xcf,
		0x62, 0xd4, 0x97, 0x05, 0x24, 0x2a, 0x9a, 0xf9,
		0xe6, 0x1e, 0x85, 0xdc, 0x0d, 0x65, 0x1e, 0x40,
		0xdf, 0xcf, 0x01, 0x7b, 0x45, 0x57, 0x58, 0x87,
	};
	static const uint8_t v1_head[8] = {
		0x77, 0xd6, 0x57, 0x62, 0x38, 0x65, 0x7b, 0x20,
	};
	struct cf_pw_params p2 = { 1024, 8, 16 }, p3 = { 16384, 8, 1 };
	struct cf_pw_params p1 = { 16, 1, 1 };
	uint8_t out[64];

	(void)state;
	assert_int_equal(cf_pw_scrypt((const uint8_t *)"password", 8,
	    (const uint8_t *)"NaCl", 4, &p2, out, sizeof(out)), 0);
	assert_memory_equal(out, v2, sizeof(v2));
	assert_int_equal(cf_pw_scrypt((const uint8_t *)"pleaseletmein", 13,
	    (const uint8_t *)"SodiumChloride", 14, &p3, out, sizeof(out)), 0);
	assert_memory_equal(out, v3, sizeof(v3));
	/* Section 12, first vector: empty password and salt. */
	assert_int_equal(cf_pw_scrypt(NULL, 0, NULL, 0, &p1, out, sizeof(out)),
	    0);
	assert_memory_equal(out, v1_head, sizeof(v1_head));
}

static void
test_bad_params(void **state)
{
	struct cf_pw_params bad[] = {
		{ 0, 8, 1 }, { 1, 8, 1 }, { 1000, 8, 1 }, { 1024, 0, 1 },
		{ 1024, 8, 0 }, { 1ull << 40, 8, 1 },
	};
	uint8_t out[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cf_pw_scrypt((const uint8_t *)"x", 1,
		    (const uint8_t *)"y", 1, &bad[i], out, sizeof(out)),
		    COFFER_E_INVAL);
	assert_int_equal(cf_pw_scrypt((const uint8_t *)"x", 1,
	    (const uint8_t *)"y", 1, NULL, out, sizeof(out)), COFFER_E_INVAL);
}

static void
test_make_check(void **state)
{
	struct cf_pw_params p = { 1024, 8, 1 };
	struct cf_pw_verifier v, w, z = { { 0 }, { 0 }, { 0 } };
	uint8_t out[CF_PW_HASH_LEN];

	(void)state;
	assert_int_equal(cf_pw_make("correct horse", 13, &p, &v), 0);
	assert_true(v.params.n == 1024 && v.params.r == 8 && v.params.p == 1);
	assert_memory_not_equal(v.salt, z.salt, sizeof(v.salt));
	/* The stored hash is plain scrypt over the stored salt. */
	assert_int_equal(cf_pw_scrypt((const uint8_t *)"correct horse", 13,
	    v.salt, sizeof(v.salt), &p, out, sizeof(out)), 0);
	assert_memory_equal(out, v.hash, sizeof(out));

	assert_int_equal(cf_pw_check("correct horse", 13, &v), 0);
	assert_int_equal(cf_pw_check("correct horsf", 13, &v), COFFER_E_AUTH);
	assert_int_equal(cf_pw_check("correct hors", 12, &v), COFFER_E_AUTH);
	assert_int_equal(cf_pw_check("", 0, &v), COFFER_E_AUTH);
	/* Length is explicit: bytes after pwlen do not count. */
	assert_int_equal(cf_pw_check("correct horse battery", 13, &v), 0);

	/* Same password, fresh salt, different hash. */
	assert_int_equal(cf_pw_make("correct horse", 13, &p, &w), 0);
	assert_memory_not_equal(v.salt, w.salt, sizeof(v.salt));
	assert_memory_not_equal(v.hash, w.hash, sizeof(v.hash));

	/* A tampered verifier rejects the right password. */
	w = v;
	w.hash[31] ^= 1;
	assert_int_equal(cf_pw_check("correct horse", 13, &w), COFFER_E_AUTH);
	w = v;
	w.salt[0] ^= 1;
	assert_int_equal(cf_pw_check("correct horse", 13, &w), COFFER_E_AUTH);
	/* A corrupt parameter set is an error, not a match. */
	w = v;
	w.params.n = 0;
	assert_int_not_equal(cf_pw_check("correct horse", 13, &w), 0);
}

static void
test_policy(void **state)
{
	(void)state;
	assert_int_equal(cf_pw_policy("abcdefgh", 8, 8, 16), 0);
	assert_int_equal(cf_pw_policy("abcdefghijklmnop", 16, 8, 16), 0);
	assert_int_equal(cf_pw_policy("abcdefg", 7, 8, 16),
	    COFFER_E_PASSWORD_POLICY);
	assert_int_equal(cf_pw_policy("abcdefghijklmnopq", 17, 8, 16),
	    COFFER_E_PASSWORD_POLICY);
	assert_int_equal(cf_pw_policy("abcd\0efgh", 9, 8, 16),
	    COFFER_E_PASSWORD_POLICY);
	assert_int_equal(cf_pw_policy("", 0, 8, 16), COFFER_E_PASSWORD_POLICY);
	assert_int_equal(cf_pw_policy("", 0, 0, 16), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7914),
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_make_check),
		cmocka_unit_test(test_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
