/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_selftest.c: the power-up KATs pass, report a failing test by name,
 * and cover every algorithm family.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "coffer/coffer_err.h"
#include "crypto/selftest.h"

static void
test_all_pass(void **state)
{
	char name[64] = "x";

	(void)state;
	assert_int_equal(cf_selftest_run(name, sizeof(name)), 0);
	assert_string_equal(name, "");
	assert_true(cf_selftest_count() >= 20);
	assert_null(cf_selftest_name(cf_selftest_count()));
}

static void
test_failure_is_reported(void **state)
{
	char name[64] = "";
	size_t i;

	(void)state;
	for (i = 0; i < cf_selftest_count(); i++) {
		cf_selftest_force_fail(cf_selftest_name(i));
		assert_int_equal(cf_selftest_run(name, sizeof(name)),
		    COFFER_E_SELFTEST);
		assert_string_equal(name, cf_selftest_name(i));
	}
	cf_selftest_force_fail(NULL);
	assert_int_equal(cf_selftest_run(NULL, 0), 0);
}

/*
 * Every algorithm family of docs/MECHANISMS.md has its own KAT, by the
 * name users see ("failed: <name>"); forcing each one fails the run and
 * names it, which also proves the entry is in the table.
 */
static const char *const families[] = {
	"AES-ECB", "AES-CBC", "AES-CTR", "AES-GCM", "AES-KW", "AES-KWP",
	"AES-CMAC", "HMAC-SHA2", "HMAC-SHA1", "SHA-1/2", "SHA-3", "Ed25519",
	"Ed448", "RSA-PKCS1-SHA256", "RSA-OAEP", "RSA-PSS", "ECDSA-P256",
	"ECDSA-P384", "ECDH-P256", "KBKDF",
};
#define NFAMILIES (sizeof(families) / sizeof(families[0]))

static void
test_every_family_named(void **state)
{
	char name[64];
	size_t i, j;

	(void)state;
	assert_true(cf_selftest_count() >= NFAMILIES);
	for (i = 0; i < NFAMILIES; i++) {
		for (j = 0; j < cf_selftest_count(); j++)
			if (strcmp(cf_selftest_name(j), families[i]) == 0)
				break;
		assert_true(j < cf_selftest_count());
		name[0] = '\0';
		cf_selftest_force_fail(families[i]);
		assert_int_equal(cf_selftest_run(name, sizeof(name)),
		    COFFER_E_SELFTEST);
		assert_string_equal(name, families[i]);
	}
	/* an unknown name fails nothing */
	cf_selftest_force_fail("no such KAT");
	assert_int_equal(cf_selftest_run(name, sizeof(name)), 0);
	assert_string_equal(name, "");
	cf_selftest_force_fail(NULL);
}

/* Names are unique, so "failed: <name>" is unambiguous. */
static void
test_names_unique(void **state)
{
	size_t i, j, n = cf_selftest_count();

	(void)state;
	for (i = 0; i < n; i++) {
		assert_non_null(cf_selftest_name(i));
		for (j = i + 1; j < n; j++)
			assert_string_not_equal(cf_selftest_name(i),
			    cf_selftest_name(j));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_pass),
		cmocka_unit_test(test_failure_is_reported),
		cmocka_unit_test(test_every_family_named),
		cmocka_unit_test(test_names_unique),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
