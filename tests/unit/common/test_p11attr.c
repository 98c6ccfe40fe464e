/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_p11attr.c: attribute kinds and the wire encoding of CK_ULONG and
 * CK_BBOOL values (proto/coffer.proto, Attribute).
 */
#include <p11-kit-1/p11-kit/pkcs11.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "coffer/coffer_err.h"
#include "common/p11attr.h"

static void
test_kinds(void **st)
{
	assert_int_equal(cf_attr_kind(CKA_CLASS), CF_AK_ULONG);
	assert_int_equal(cf_attr_kind(CKA_VALUE_LEN), CF_AK_ULONG);
	assert_int_equal(cf_attr_kind(CKA_KEY_GEN_MECHANISM), CF_AK_ULONG);
	assert_int_equal(cf_attr_kind(CKA_TOKEN), CF_AK_BOOL);
	assert_int_equal(cf_attr_kind(CKA_WRAP_WITH_TRUSTED), CF_AK_BOOL);
	assert_int_equal(cf_attr_kind(CKA_LABEL), CF_AK_STRING);
	assert_int_equal(cf_attr_kind(CKA_ID), CF_AK_BYTES);
	assert_int_equal(cf_attr_kind(CKA_EC_POINT), CF_AK_BYTES);
	assert_int_equal(cf_attr_kind(CKA_START_DATE), CF_AK_DATE);
	assert_int_equal(cf_attr_kind(CKA_ALLOWED_MECHANISMS), CF_AK_MECHS);
	assert_int_equal(cf_attr_kind(CKA_VENDOR_DEFINED | 0x434F0001UL),
	    CF_AK_STRING);
	assert_int_equal(cf_attr_kind(CKA_VENDOR_DEFINED | 0x434F0002UL),
	    CF_AK_STRING);
	/* Array attributes and unknown types are not Coffer's. */
	assert_int_equal(cf_attr_kind(CKA_WRAP_TEMPLATE), CF_AK_UNKNOWN);
	assert_int_equal(cf_attr_kind(0x7fff1234), CF_AK_UNKNOWN);
	assert_string_equal(cf_attr_name(CKA_LABEL), "CKA_LABEL");
	assert_string_equal(cf_attr_name(CKA_VENDOR_DEFINED | 0x434F0001UL),
	    "CKA_COFFER_OWNER");
	assert_null(cf_attr_name(0x7fff1234));
}

static void
test_ulong_bool(void **st)
{
	static const uint8_t be[8] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
	    0x07, 0x08 };
	uint8_t out[8];
	uint64_t v;
	int b;

	assert_int_equal(cf_attr_get_ulong(be, 8, &v), 0);
	assert_true(v == 0x0102030405060708ULL);
	cf_attr_put_ulong(0x0102030405060708ULL, out);
	assert_memory_equal(out, be, 8);
	assert_int_equal(cf_attr_get_ulong(be, 4, &v), COFFER_E_ATTRIBUTE);
	assert_int_equal(cf_attr_get_ulong(be, 9, &v), COFFER_E_ATTRIBUTE);
	assert_int_equal(cf_attr_get_bool((const uint8_t *)"\x01", 1, &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(cf_attr_get_bool((const uint8_t *)"\x00", 1, &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(cf_attr_get_bool((const uint8_t *)"\xff", 1, &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(cf_attr_get_bool((const uint8_t *)"\x01\x00", 2, &b),
	    COFFER_E_ATTRIBUTE);
	assert_int_equal(cf_attr_get_bool(NULL, 0, &b), COFFER_E_ATTRIBUTE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_ulong_bool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
