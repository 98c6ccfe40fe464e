/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rv.c: every Coffer result code has an intended CKR_* value. The
 * table below is written from the PKCS#11 2.40/3.0 definitions of each
 * CKR_*, not from rv.c; a code appended to COFFER_ERR_MAP without an entry
 * here fails the test, so each new code gets a deliberate mapping.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

#include "p11.h"

static const struct {
	int rc;
	CK_RV rv;
} expect[] = {
	{ COFFER_OK, CKR_OK },
	{ COFFER_E_NOMEM, CKR_HOST_MEMORY },
	{ COFFER_E_INVAL, CKR_ARGUMENTS_BAD },
	{ COFFER_E_SHORT, CKR_DEVICE_ERROR },
	{ COFFER_E_FORMAT, CKR_DEVICE_ERROR },
	{ COFFER_E_TOOBIG, CKR_DATA_LEN_RANGE },
	{ COFFER_E_TRAILING, CKR_DEVICE_ERROR },
	{ COFFER_E_AUTH, CKR_PIN_INCORRECT },
	{ COFFER_E_PERM, CKR_ACTION_PROHIBITED },
	{ COFFER_E_NOTFOUND, CKR_OBJECT_HANDLE_INVALID },
	{ COFFER_E_EXISTS, CKR_FUNCTION_FAILED },
	{ COFFER_E_INTERNAL, CKR_DEVICE_ERROR },
	{ COFFER_E_UNSUPPORTED, CKR_FUNCTION_NOT_SUPPORTED },
	{ COFFER_E_STATE, CKR_DEVICE_ERROR },
	{ COFFER_E_NOTLOGGEDIN, CKR_USER_NOT_LOGGED_IN },
	{ COFFER_E_LOCKED, CKR_PIN_LOCKED },
	{ COFFER_E_IO, CKR_DEVICE_ERROR },
	{ COFFER_E_CONNECT, CKR_DEVICE_REMOVED },
	{ COFFER_E_TLS, CKR_DEVICE_ERROR },
	{ COFFER_E_TIMEOUT, CKR_DEVICE_ERROR },
	{ COFFER_E_CLOSED, CKR_DEVICE_REMOVED },
	{ COFFER_E_PROTO, CKR_DEVICE_ERROR },
	{ COFFER_E_CONFIG, CKR_GENERAL_ERROR },
	{ COFFER_E_CRYPTO, CKR_FUNCTION_FAILED },
	{ COFFER_E_INTEGRITY, CKR_DEVICE_ERROR },
	{ COFFER_E_POLICY, CKR_ACTION_PROHIBITED },
	{ COFFER_E_UNAVAILABLE, CKR_DEVICE_ERROR },
	{ COFFER_E_UNKNOWN_OUTCOME, CKR_DEVICE_ERROR },
	{ COFFER_E_ZEROIZED, CKR_DEVICE_ERROR },
	{ COFFER_E_SELFTEST, CKR_DEVICE_ERROR },
	{ COFFER_E_FULL, CKR_DEVICE_MEMORY },
	{ COFFER_E_BUSY, CKR_FUNCTION_FAILED },
	{ COFFER_E_ATTRIBUTE, CKR_ATTRIBUTE_TYPE_INVALID },
	{ COFFER_E_TEMPLATE, CKR_TEMPLATE_INCONSISTENT },
	{ COFFER_E_ATTR_READONLY, CKR_ATTRIBUTE_READ_ONLY },
	{ COFFER_E_ATTR_SENSITIVE, CKR_ATTRIBUTE_SENSITIVE },
	{ COFFER_E_KEY_TYPE, CKR_KEY_TYPE_INCONSISTENT },
	{ COFFER_E_KEY_FUNCTION, CKR_KEY_FUNCTION_NOT_PERMITTED },
	{ COFFER_E_KEY_SIZE, CKR_KEY_SIZE_RANGE },
	{ COFFER_E_MECHANISM, CKR_MECHANISM_INVALID },
	{ COFFER_E_MECH_PARAM, CKR_MECHANISM_PARAM_INVALID },
	{ COFFER_E_DATA_LEN, CKR_DATA_LEN_RANGE },
	{ COFFER_E_DATA_INVALID, CKR_DATA_INVALID },
	{ COFFER_E_ENCRYPTED_DATA, CKR_ENCRYPTED_DATA_INVALID },
	{ COFFER_E_SIGNATURE, CKR_SIGNATURE_INVALID },
	{ COFFER_E_NOT_EXTRACTABLE, CKR_KEY_UNEXTRACTABLE },
	{ COFFER_E_WRAPPING_KEY, CKR_WRAPPING_KEY_TYPE_INCONSISTENT },
	{ COFFER_E_WRAPPED_KEY, CKR_WRAPPED_KEY_INVALID },
	{ COFFER_E_OP_ACTIVE, CKR_OPERATION_ACTIVE },
	{ COFFER_E_OP_NOT_INIT, CKR_OPERATION_NOT_INITIALIZED },
	{ COFFER_E_BUFFER_TOO_SMALL, CKR_BUFFER_TOO_SMALL },
	{ COFFER_E_PASSWORD_POLICY, CKR_PIN_INVALID },
	{ COFFER_E_SESSION, CKR_SESSION_CLOSED },
	{ COFFER_E_ROLE, CKR_USER_NOT_LOGGED_IN },
};
#define NEXPECT (sizeof(expect) / sizeof(expect[0]))

static void
test_every_code_mapped(void **state)
{
	size_t i, n = 0;
	int missing = 0;

#define CHECK_(name, val, msg)                                              \
	do {                                                                \
		n++;                                                        \
		for (i = 0; i < NEXPECT; i++)                               \
			if (expect[i].rc == (val))                          \
				break;                                      \
		if (i == NEXPECT) {                                         \
			print_error("no intended mapping for COFFER_%s\n",  \
			    #name);                                         \
			missing++;                                          \
		} else if (p11_rv_from_rc(val) != expect[i].rv) {           \
			print_error("COFFER_%s -> 0x%lx, want 0x%lx\n",     \
			    #name, p11_rv_from_rc(val), expect[i].rv);      \
			missing++;                                          \
		}                                                           \
	} while (0);
	COFFER_ERR_MAP(CHECK_)
#undef CHECK_
	assert_int_equal(missing, 0);
	/* No stale entries: the table covers exactly the map. */
	assert_int_equal(n, NEXPECT);
}

static void
test_only_ok_is_ok(void **state)
{
#define CHECK_(name, val, msg)                                              \
	if ((val) != 0)                                                     \
		assert_int_not_equal(p11_rv_from_rc(val), CKR_OK);
	COFFER_ERR_MAP(CHECK_)
#undef CHECK_
}

static void
test_unknown_codes(void **state)
{
	/* Future or garbage codes never read as success or as a spec
	 * value that would make a caller retry the wrong thing. */
	assert_int_equal(p11_rv_from_rc(-9999), CKR_DEVICE_ERROR);
	assert_int_equal(p11_rv_from_rc(1), CKR_DEVICE_ERROR);
	assert_int_equal(p11_rv_from_rc(-54), CKR_DEVICE_ERROR);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_code_mapped),
		cmocka_unit_test(test_only_ok_is_ok),
		cmocka_unit_test(test_unknown_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
