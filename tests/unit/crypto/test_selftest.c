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
	assert_true(cf_selftest_count() >= 14);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_pass),
		cmocka_unit_test(test_failure_is_reported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
