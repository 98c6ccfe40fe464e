/* SPDX-License-Identifier: Apache-2.0 */
/*
 * p11attr.c: the kind (wire encoding) of every PKCS#11 attribute Coffer
 * knows, shared by libcoffer and the node. An attribute missing from the
 * table is CF_AK_UNKNOWN: the node refuses it (COFFER_E_ATTRIBUTE).
 */
#include <p11-kit-1/p11-kit/pkcs11.h>

#include "coffer/coffer_err.h"
#include "common/p11attr.h"

#define CKA_COFFER_OWNER_ (CKA_VENDOR_DEFINED | 0x434F0001UL)
#define CKA_COFFER_SHARED_ (CKA_VENDOR_DEFINED | 0x434F0002UL)

#define A(t, k) { t, #t, k }

static const struct {
	uint64_t type;
	const char *name;
	int kind;
} table[] = {
	A(CKA_CLASS, CF_AK_ULONG),
	A(CKA_TOKEN, CF_AK_BOOL),
	A(CKA_PRIVATE, CF_AK_BOOL),
	A(CKA_LABEL, CF_AK_STRING),
	A(CKA_APPLICATION, CF_AK_STRING),
	A(CKA_VALUE, CF_AK_BYTES),
	A(CKA_OBJECT_ID, CF_AK_BYTES),
	A(CKA_CERTIFICATE_TYPE, CF_AK_ULONG),
	A(CKA_ISSUER, CF_AK_BYTES),
	A(CKA_SERIAL_NUMBER, CF_AK_BYTES),
	A(CKA_TRUSTED, CF_AK_BOOL),
	A(CKA_CERTIFICATE_CATEGORY, CF_AK_ULONG),
	A(CKA_CHECK_VALUE, CF_AK_BYTES),
	A(CKA_KEY_TYPE, CF_AK_ULONG),
	A(CKA_SUBJECT, CF_AK_BYTES),
	A(CKA_ID, CF_AK_BYTES),
	A(CKA_SENSITIVE, CF_AK_BOOL),
	A(CKA_ENCRYPT, CF_AK_BOOL),
	A(CKA_DECRYPT, CF_AK_BOOL),
	A(CKA_WRAP, CF_AK_BOOL),
	A(CKA_UNWRAP, CF_AK_BOOL),
	A(CKA_SIGN, CF_AK_BOOL),
	A(CKA_SIGN_RECOVER, CF_AK_BOOL),
	A(CKA_VERIFY, CF_AK_BOOL),
	A(CKA_VERIFY_RECOVER, CF_AK_BOOL),
	A(CKA_DERIVE, CF_AK_BOOL),
	A(CKA_START_DATE, CF_AK_DATE),
	A(CKA_END_DATE, CF_AK_DATE),
	A(CKA_MODULUS, CF_AK_BYTES),
	A(CKA_MODULUS_BITS, CF_AK_ULONG),
	A(CKA_PUBLIC_EXPONENT, CF_AK_BYTES),
	A(CKA_PRIVATE_EXPONENT, CF_AK_BYTES),
	A(CKA_PRIME_1, CF_AK_BYTES),
	A(CKA_PRIME_2, CF_AK_BYTES),
	A(CKA_EXPONENT_1, CF_AK_BYTES),
	A(CKA_EXPONENT_2, CF_AK_BYTES),
	A(CKA_COEFFICIENT, CF_AK_BYTES),
	A(CKA_PUBLIC_KEY_INFO, CF_AK_BYTES),
	A(CKA_PRIME, CF_AK_BYTES),
	A(CKA_SUBPRIME, CF_AK_BYTES),
	A(CKA_BASE, CF_AK_BYTES),
	A(CKA_VALUE_LEN, CF_AK_ULONG),
	A(CKA_EXTRACTABLE, CF_AK_BOOL),
	A(CKA_LOCAL, CF_AK_BOOL),
	A(CKA_NEVER_EXTRACTABLE, CF_AK_BOOL),
	A(CKA_ALWAYS_SENSITIVE, CF_AK_BOOL),
	A(CKA_KEY_GEN_MECHANISM, CF_AK_ULONG),
	A(CKA_MODIFIABLE, CF_AK_BOOL),
	A(CKA_COPYABLE, CF_AK_BOOL),
	A(CKA_DESTROYABLE, CF_AK_BOOL),
	A(CKA_EC_PARAMS, CF_AK_BYTES),
	A(CKA_EC_POINT, CF_AK_BYTES),
	A(CKA_ALWAYS_AUTHENTICATE, CF_AK_BOOL),
	A(CKA_WRAP_WITH_TRUSTED, CF_AK_BOOL),
	A(CKA_HASH_OF_SUBJECT_PUBLIC_KEY, CF_AK_BYTES),
	A(CKA_HASH_OF_ISSUER_PUBLIC_KEY, CF_AK_BYTES),
	A(CKA_NAME_HASH_ALGORITHM, CF_AK_ULONG),
	A(CKA_URL, CF_AK_STRING),
	A(CKA_ALLOWED_MECHANISMS, CF_AK_MECHS),
	{ CKA_COFFER_OWNER_, "CKA_COFFER_OWNER", CF_AK_STRING },
	{ CKA_COFFER_SHARED_, "CKA_COFFER_SHARED", CF_AK_STRING },
};

static int
find(uint64_t type)
{
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (table[i].type == type)
			return (int)i;
	}
	return -1;
}

int
cf_attr_kind(uint64_t type)
{
	int i = find(type);

	return i < 0 ? CF_AK_UNKNOWN : table[i].kind;
}

const char *
cf_attr_name(uint64_t type)
{
	int i = find(type);

	return i < 0 ? NULL : table[i].name;
}

int
cf_attr_get_ulong(const uint8_t *v, size_t n, uint64_t *out)
{
	uint64_t x = 0;
	size_t i;

	*out = 0;
	if (n != 8 || v == NULL)
		return COFFER_E_ATTRIBUTE;
	for (i = 0; i < 8; i++)
		x = (x << 8) | v[i];
	*out = x;
	return 0;
}

void
cf_attr_put_ulong(uint64_t v, uint8_t out[8])
{
	int i;

	for (i = 7; i >= 0; i--) {
		out[i] = (uint8_t)v;
		v >>= 8;
	}
}

int
cf_attr_get_bool(const uint8_t *v, size_t n, int *out)
{
	*out = 0;
	/* CK_BBOOL: any non-zero byte is true (PKCS#11 3.0 §3.1). */
	if (n != 1 || v == NULL)
		return COFFER_E_ATTRIBUTE;
	*out = v[0] != 0;
	return 0;
}
