/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ecdsa_der.c: the ECDSA signature reader (DER from OpenSSL to the
 * PKCS#11 r||s form) against OpenSSL's own decoder, d2i_ECDSA_SIG, on
 * OpenSSL-made signatures of every curve, on edge values made by
 * i2d_ECDSA_SIG, and on malformed encodings, which must all be refused.
 */
#include <openssl/ec.h>
#include <openssl/rand.h>

#include "test_mech_util.h"
#include "crypto/ops_int.h"

#define MAXN 66

/* What OpenSSL makes of the DER: r||s, each n bytes; -1 if refused. */
static int
openssl_raw(const uint8_t *der, size_t len, size_t n, uint8_t *raw)
{
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *sig;
	int rc = -1;

	if ((sig = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL)
		return -1;
	ECDSA_SIG_get0(sig, &r, &s);
	if (p == der + len && BN_bn2binpad(r, raw, (int)n) == (int)n &&
	    BN_bn2binpad(s, raw + n, (int)n) == (int)n)
		rc = 0;
	ECDSA_SIG_free(sig);
	return rc;
}

static void
check_curve(const char *curve, size_t n)
{
	uint8_t md[64], der[160], want[2 * MAXN], got[2 * MAXN];
	EVP_PKEY *pk = EVP_EC_gen(curve);
	EVP_PKEY_CTX *c;
	size_t len, full;
	int i, shortv = 0;

	assert_non_null(pk);
	assert_non_null(c = EVP_PKEY_CTX_new(pk, NULL));
	assert_int_equal(EVP_PKEY_sign_init(c), 1);
	for (i = 0; i < 400; i++) {
		assert_int_equal(RAND_bytes(md, 32), 1);
		len = sizeof(der);
		assert_int_equal(EVP_PKEY_sign(c, der, &len, md, 32), 1);
		assert_int_equal(openssl_raw(der, len, n, want), 0);
		assert_int_equal(cf_ecdsa_der_to_raw(der, len, n, got), 0);
		assert_memory_equal(got, want, 2 * n);
		/* r or s shorter than n, or with a sign byte */
		full = 2 * (2 + n);
		full += full < 128 ? 2 : 3;
		if (len != full)
			shortv++;
	}
	/* 800 values: some need a sign byte or are short on any curve */
	assert_true(shortv > 0);
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(pk);
}

static void
test_openssl_signatures(void **state)
{
	(void)state;
	check_curve("P-224", 28);
	check_curve("P-256", 32);
	check_curve("P-384", 48);
	check_curve("secp256k1", 32);
	/* P-521 signatures are > 127 bytes of content: the 0x81 length */
	check_curve("P-521", 66);
}

/* DER made by i2d_ECDSA_SIG from r and s given in hex. */
static size_t
make_der(const char *rh, const char *sh, uint8_t *der)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *p = der;
	int len;

	assert_non_null(sig);
	assert_true(BN_hex2bn(&r, rh) > 0);
	assert_true(BN_hex2bn(&s, sh) > 0);
	assert_int_equal(ECDSA_SIG_set0(sig, r, s), 1);
	len = i2d_ECDSA_SIG(sig, &p);
	assert_true(len > 0);
	ECDSA_SIG_free(sig);
	return (size_t)len;
}

static void
test_edge_values(void **state)
{
	static const struct {
		const char *r, *s;
		size_t n;
		int ok;
	} v[] = {
		{ "0", "0", 32, 1 },
		{ "1", "7F", 32, 1 },
		{ "80", "FF", 32, 1 },		/* sign bytes */
		{ "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
		    "8000000000000000000000000000000000000000000000000000000000000000",
		    32, 1 },			/* n bytes + sign byte */
		{ "010000000000000000000000000000000000000000000000000000000000000000",
		    "1", 32, 0 },		/* r is n + 1 bytes */
		{ "1", "1", 1, 1 },
		{ "100", "1", 1, 0 },
	};
	uint8_t der[160], want[2 * MAXN], got[2 * MAXN];
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		len = make_der(v[i].r, v[i].s, der);
		if (v[i].ok) {
			assert_int_equal(openssl_raw(der, len, v[i].n, want),
			    0);
			assert_int_equal(cf_ecdsa_der_to_raw(der, len,
			    v[i].n, got), 0);
			assert_memory_equal(got, want, 2 * v[i].n);
		} else {
			assert_int_equal(cf_ecdsa_der_to_raw(der, len,
			    v[i].n, got), COFFER_E_CRYPTO);
		}
	}
}

static void
test_malformed(void **state)
{
	static const struct {
		const char *hex;
		const char *why;
	} bad[] = {
		{ "", "empty" },
		{ "30", "no length" },
		{ "3000", "empty sequence" },
		{ "3106020101020101", "SET, not SEQUENCE" },
		{ "3006020101020101" "00", "a byte after the sequence" },
		{ "3007020101020101" "00", "a byte after s" },
		{ "3005020101020101", "sequence length too short" },
		{ "3007020101020101", "sequence length too long" },
		{ "3006030101020101", "r is not an INTEGER" },
		{ "3006020101040101", "s is not an INTEGER" },
		{ "3006020181020101", "negative r" },
		{ "3006020101020180", "negative s" },
		{ "300702020001020101", "r not minimal" },
		{ "300702020000020101", "r zero, not minimal" },
		{ "3006020701020101", "r longer than the sequence" },
		{ "30050203010101", "no s" },
		{ "30050200020101", "r of length 0" },
		{ "308106020101020101", "long-form length under 128" },
		{ "30820006020101020101", "two length bytes" },
		{ "3007028101" "01020101", "long-form INTEGER length" },
		{ "3004020101" "02", "s without length" },
	};
	uint8_t der[64], raw[2 * MAXN];
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = unhex(bad[i].hex, der, sizeof(der));
		if (cf_ecdsa_der_to_raw(der, len, 32, raw) != COFFER_E_CRYPTO)
			fail_msg("accepted: %s (%s)", bad[i].why, bad[i].hex);
	}
	/* the valid one these were made from */
	len = unhex("3006020101020101", der, sizeof(der));
	assert_int_equal(cf_ecdsa_der_to_raw(der, len, 32, raw), 0);
	assert_int_equal(raw[31], 1);
	assert_int_equal(raw[63], 1);
	/* every truncation of it is refused */
	for (i = 0; i < len; i++)
		assert_int_equal(cf_ecdsa_der_to_raw(der, i, 32, raw),
		    COFFER_E_CRYPTO);
	assert_int_equal(cf_ecdsa_der_to_raw(NULL, len, 32, raw),
	    COFFER_E_CRYPTO);
	assert_int_equal(cf_ecdsa_der_to_raw(der, len, 32, NULL),
	    COFFER_E_CRYPTO);
	assert_int_equal(cf_ecdsa_der_to_raw(der, len, 0, raw),
	    COFFER_E_CRYPTO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openssl_signatures),
		cmocka_unit_test(test_edge_values),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
