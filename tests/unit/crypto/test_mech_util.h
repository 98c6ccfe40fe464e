/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_mech_util.h: helpers for the crypto engine tests: hex decoding and
 * moving keys to "the other side" (plain OpenSSL EVP) through their
 * storage encodings.
 */
#ifndef TEST_MECH_UTIL_H
#define TEST_MECH_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "coffer/coffer_err.h"
#include "crypto/keys.h"
#include "crypto/mech.h"

static inline size_t
unhex(const char *h, uint8_t *out, size_t max)
{
	size_t n = strlen(h) / 2, i;
	unsigned v;

	assert_true(n <= max);
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* The public half as an OpenSSL EVP_PKEY (via SubjectPublicKeyInfo). */
static inline EVP_PKEY *
ossl_pub(const struct cf_key *k)
{
	struct cf_key *pub = NULL;
	uint8_t der[4096];
	size_t n = sizeof(der);
	const unsigned char *p = der;
	EVP_PKEY *pk;

	assert_int_equal(cf_key_public(k, &pub), 0);
	assert_int_equal(cf_key_serialize(pub, der, &n), 0);
	cf_key_free(pub);
	pk = d2i_PUBKEY(NULL, &p, (long)n);
	assert_non_null(pk);
	return pk;
}

/* The private key as an OpenSSL EVP_PKEY (via PKCS#8). */
static inline EVP_PKEY *
ossl_priv(const struct cf_key *k)
{
	uint8_t der[4096];
	size_t n = sizeof(der);
	const unsigned char *p = der;
	EVP_PKEY *pk;

	assert_int_equal(cf_key_serialize(k, der, &n), 0);
	pk = d2i_AutoPrivateKey(NULL, &p, (long)n);
	assert_non_null(pk);
	return pk;
}

/* A Coffer key from an OpenSSL private key (test import via PKCS#8). */
static inline struct cf_key *
from_ossl_priv(EVP_PKEY *pk)
{
	unsigned char *der = NULL;
	struct cf_key *k = NULL;
	int n = i2d_PrivateKey(pk, &der);

	assert_true(n > 0);
	/* i2d_PrivateKey gives the traditional form for RSA/EC: re-encode */
	OPENSSL_free(der);
	der = NULL;
	{
		PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pk);

		assert_non_null(p8);
		n = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
		PKCS8_PRIV_KEY_INFO_free(p8);
	}
	assert_true(n > 0);
	assert_int_equal(cf_key_deserialize(CKO_PRIVATE_KEY,
	    CK_UNAVAILABLE_INFORMATION, der, (size_t)n, &k), 0);
	OPENSSL_free(der);
	return k;
}

static inline struct cf_key *
secret_from_hex(CK_KEY_TYPE t, const char *h)
{
	uint8_t v[1024];
	size_t n = unhex(h, v, sizeof(v));
	struct cf_key *k = NULL;

	assert_int_equal(cf_key_deserialize(CKO_SECRET_KEY, t, v, n, &k), 0);
	return k;
}

#endif
