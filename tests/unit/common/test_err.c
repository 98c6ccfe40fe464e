/* SPDX-License-Identifier: Apache-2.0 */
/* test_err.c: the error tables generated from COFFER_ERR_MAP. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "coffer/coffer_err.h"

static const struct {
	int val;
	const char *name;
	const char *msg;
} map[] = {
#define X_(n, v, m) { (v), "COFFER_" #n, (m) },
	COFFER_ERR_MAP(X_)
#undef X_
};
#define NMAP (sizeof(map) / sizeof(map[0]))

static void
test_every_code(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < NMAP; i++) {
		const char *n = coffer_errname(map[i].val);
		const char *m = coffer_strerror(map[i].val);

		assert_non_null(n);
		assert_non_null(m);
		assert_string_equal(n, map[i].name);
		assert_string_equal(m, map[i].msg);
		assert_true(strlen(m) > 0);
		assert_true(map[i].val <= 0);
		for (j = 0; j < i; j++) {
			assert_int_not_equal(map[i].val, map[j].val);
			assert_string_not_equal(n, map[j].name);
			assert_string_not_equal(m, map[j].msg);
		}
	}
}

static void
test_known(void **state)
{
	(void)state;
	assert_string_equal(coffer_errname(COFFER_E_SHORT), "COFFER_E_SHORT");
	assert_string_equal(coffer_strerror(-3), "message truncated");
	assert_string_equal(coffer_errname(0), "COFFER_OK");
	assert_int_equal(COFFER_E_ROLE, -52);
}

static void
test_unknown(void **state)
{
	static const int bad[] = { 1, 42, -999, -1000, INT32_MIN, INT32_MAX };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_string_equal(coffer_strerror(bad[i]), "unknown error");
		assert_string_equal(coffer_errname(bad[i]), "COFFER_E_UNKNOWN");
	}
	/* Every value from the lowest code up to 0 is defined (append-only). */
	for (i = 0; i < NMAP; i++)
		assert_string_not_equal(coffer_errname(-(int)i),
		    "COFFER_E_UNKNOWN");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_code),
		cmocka_unit_test(test_known),
		cmocka_unit_test(test_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
