/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_keys.c: key generation, sizes, refusals, storage encodings and
 * public attributes, checked against OpenSSL on the other side and
 * against published values (AES KCV of the zero key: FIPS-197 style
 * AES-128(0,0) = 66e94bd4...).
 */
#include <stdio.h>

#include <openssl/core_names.h>
#include <openssl/pem.h>

#include "test_mech_util.h"
#include "crypto/keys_int.h"

static void
test_secret_generation(void **state)
{
	struct cf_key *k = NULL;
	uint8_t v[1024];
	size_t n;
	CK_ULONG ul;
	size_t sizes[] = { 16, 24, 32 };
	unsigned i;

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_int_equal(cf_key_generate_secret(CKK_AES, sizes[i], &k),
		    0);
		assert_int_equal(cf_key_class(k), CKO_SECRET_KEY);
		assert_int_equal(cf_key_type(k), CKK_AES);
		assert_int_equal(cf_key_bits(k), sizes[i] * 8);
		n = sizeof(ul);
		assert_int_equal(cf_key_get_attr(k, CKA_VALUE_LEN,
		    (uint8_t *)&ul, &n), 0);
		assert_int_equal(ul, sizes[i]);
		n = sizeof(v);
		assert_int_equal(cf_key_get_attr(k, CKA_VALUE, v, &n),
		    COFFER_E_ATTR_SENSITIVE);
		cf_key_free(k);
	}
	assert_int_equal(cf_key_generate_secret(CKK_AES, 20, &k),
	    COFFER_E_KEY_SIZE);
	assert_null(k);
	assert_int_equal(cf_key_generate_secret(CKK_GENERIC_SECRET, 1, &k), 0);
	cf_key_free(k);
	assert_int_equal(cf_key_generate_secret(CKK_GENERIC_SECRET, 800, &k),
	    0);
	n = sizeof(v);
	assert_int_equal(cf_key_serialize(k, v, &n), 0);
	assert_int_equal(n, 800);
	cf_key_free(k);
	assert_int_equal(cf_key_generate_secret(CKK_GENERIC_SECRET, 801, &k),
	    COFFER_E_KEY_SIZE);
	assert_int_equal(cf_key_generate_secret(CKK_GENERIC_SECRET, 0, &k),
	    COFFER_E_KEY_SIZE);
	/* 3DES refused clearly */
	assert_int_equal(cf_key_generate_secret(CKK_DES3, 24, &k),
	    COFFER_E_MECHANISM);
	assert_int_equal(cf_key_generate_secret(CKK_DES, 8, &k),
	    COFFER_E_MECHANISM);
	assert_int_equal(cf_key_generate_secret(CKK_RSA, 16, &k),
	    COFFER_E_KEY_TYPE);
}

static void
test_check_value(void **state)
{
	struct cf_key *k;
	uint8_t kcv[3], want[3], md[20];
	size_t n = sizeof(kcv);

	(void)state;
	/* AES-128 with the zero key on the zero block = 66e94bd4ef8a2c3b...
	 * (published, e.g. FIPS-197 derived test tables). */
	k = secret_from_hex(CKK_AES, "00000000000000000000000000000000");
	assert_int_equal(cf_key_get_attr(k, CKA_CHECK_VALUE, kcv, &n), 0);
	assert_int_equal(n, 3);
	unhex("66e94b", want, sizeof(want));
	assert_memory_equal(kcv, want, 3);
	cf_key_free(k);
	/* Generic secret: first 3 bytes of SHA-1(value), computed by EVP */
	k = secret_from_hex(CKK_GENERIC_SECRET, "0102030405");
	n = sizeof(kcv);
	assert_int_equal(cf_key_get_attr(k, CKA_CHECK_VALUE, kcv, &n), 0);
	assert_int_equal(EVP_Digest("\x01\x02\x03\x04\x05", 5, md, NULL,
	    EVP_sha1(), NULL), 1);
	assert_memory_equal(kcv, md, 3);
	/* buffer conventions */
	n = 0;
	assert_int_equal(cf_key_get_attr(k, CKA_CHECK_VALUE, NULL, &n), 0);
	assert_int_equal(n, 3);
	n = 2;
	assert_int_equal(cf_key_get_attr(k, CKA_CHECK_VALUE, kcv, &n),
	    COFFER_E_BUFFER_TOO_SMALL);
	assert_int_equal(n, 3);
	n = sizeof(kcv);
	assert_int_equal(cf_key_get_attr(k, CKA_MODULUS, kcv, &n),
	    COFFER_E_ATTRIBUTE);
	cf_key_free(k);
}

static void
test_rsa_generation(void **state)
{
	struct cf_key *k = NULL, *pub = NULL, *k2 = NULL;
	uint8_t mod[512], e[8], der[4096];
	size_t n, mlen, dlen;
	CK_ULONG bits;
	EVP_PKEY *pk;
	BIGNUM *bn = NULL;
	uint8_t e3[] = { 3 };

	(void)state;
	assert_int_equal(cf_key_generate_rsa(2000, NULL, 0, &k),
	    COFFER_E_KEY_SIZE);
	assert_int_equal(cf_key_generate_rsa(1024, NULL, 0, &k),
	    COFFER_E_KEY_SIZE);
	assert_int_equal(cf_key_generate_rsa(4352, NULL, 0, &k),
	    COFFER_E_KEY_SIZE);
	assert_int_equal(cf_key_generate_rsa(2048, e3, 1, &k),
	    COFFER_E_ATTRIBUTE);
	assert_int_equal(cf_key_generate_rsa(2304, NULL, 0, &k), 0);
	assert_int_equal(cf_key_type(k), CKK_RSA);
	assert_int_equal(cf_key_class(k), CKO_PRIVATE_KEY);
	assert_int_equal(cf_key_bits(k), 2304);
	n = sizeof(bits);
	assert_int_equal(cf_key_get_attr(k, CKA_MODULUS_BITS, (uint8_t *)&bits,
	    &n), 0);
	assert_int_equal(bits, 2304);
	n = sizeof(e);
	assert_int_equal(cf_key_get_attr(k, CKA_PUBLIC_EXPONENT, e, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(e, "\x01\x00\x01", 3);
	mlen = sizeof(mod);
	assert_int_equal(cf_key_get_attr(k, CKA_MODULUS, mod, &mlen), 0);
	assert_int_equal(mlen, 288);
	n = sizeof(mod);
	assert_int_equal(cf_key_get_attr(k, CKA_PRIVATE_EXPONENT, mod, &n),
	    COFFER_E_ATTR_SENSITIVE);
	/* other side: the SPKI parses and carries the same modulus */
	pk = ossl_pub(k);
	assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N,
	    &bn), 1);
	{
		uint8_t m2[512];

		assert_int_equal(BN_bn2bin(bn, m2), (int)mlen);
		/* mod was overwritten above only on success paths: refetch */
		n = sizeof(mod);
		assert_int_equal(cf_key_get_attr(k, CKA_MODULUS, mod, &n), 0);
		assert_memory_equal(m2, mod, mlen);
	}
	BN_free(bn);
	EVP_PKEY_free(pk);
	/* PKCS#8 round trip */
	dlen = sizeof(der);
	assert_int_equal(cf_key_serialize(k, der, &dlen), 0);
	pk = ossl_priv(k);
	EVP_PKEY_free(pk);
	assert_int_equal(cf_key_deserialize(CKO_PRIVATE_KEY, CKK_RSA, der,
	    dlen, &k2), 0);
	assert_int_equal(cf_key_bits(k2), 2304);
	cf_key_free(k2);
	assert_int_equal(cf_key_deserialize(CKO_PRIVATE_KEY, CKK_EC, der,
	    dlen, &k2), COFFER_E_KEY_TYPE);
	der[dlen / 2] ^= 0xff;
	der[5] ^= 0xff;
	assert_int_not_equal(cf_key_deserialize(CKO_PRIVATE_KEY, CKK_RSA, der,
	    dlen, &k2), 0);
	assert_int_equal(cf_key_deserialize(CKO_PRIVATE_KEY, CKK_RSA, der,
	    10, &k2), COFFER_E_FORMAT);
	/* public object */
	assert_int_equal(cf_key_public(k, &pub), 0);
	assert_int_equal(cf_key_class(pub), CKO_PUBLIC_KEY);
	assert_int_equal(cf_key_pairwise_test(pub), COFFER_E_KEY_TYPE);
	assert_int_equal(cf_key_pairwise_test(k), 0);
	cf_key_free(pub);
	cf_key_free(k);
}

static const struct {
	const char *name;
	const char *oid;
	CK_KEY_TYPE type;
	size_t point_len;	/* raw point / public key */
} curves[] = {
	{ "P-224", "06052b81040021", CKK_EC, 57 },
	{ "P-256", "06082a8648ce3d030107", CKK_EC, 65 },
	{ "P-384", "06052b81040022", CKK_EC, 97 },
	{ "P-521", "06052b81040023", CKK_EC, 133 },
	{ "secp256k1", "06052b8104000a", CKK_EC, 65 },
	{ "Ed25519", "06032b6570", CKK_EC_EDWARDS, 32 },
	{ "Ed448", "06032b6571", CKK_EC_EDWARDS, 57 },
};

static void
test_ec_generation(void **state)
{
	struct cf_key *k = NULL, *k2 = NULL;
	uint8_t oid[16], got[256], raw[256], der[1024];
	size_t ol, n, rl, dl, h;
	unsigned i;
	EVP_PKEY *pk;

	(void)state;
	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
		ol = unhex(curves[i].oid, oid, sizeof(oid));
		assert_int_equal(cf_key_generate_ec(oid, ol, &k), 0);
		assert_int_equal(cf_key_type(k), curves[i].type);
		n = sizeof(got);
		assert_int_equal(cf_key_get_attr(k, CKA_EC_PARAMS, got, &n), 0);
		assert_int_equal(n, ol);
		assert_memory_equal(got, oid, ol);
		/* EC point: DER OCTET STRING of the point OpenSSL sees */
		n = sizeof(got);
		assert_int_equal(cf_key_get_attr(k, CKA_EC_POINT, got, &n), 0);
		pk = ossl_pub(k);
		rl = sizeof(raw);
		if (curves[i].type == CKK_EC)
			assert_int_equal(EVP_PKEY_get_octet_string_param(pk,
			    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, raw, rl, &rl),
			    1);
		else
			assert_int_equal(EVP_PKEY_get_raw_public_key(pk, raw,
			    &rl), 1);
		assert_int_equal(rl, curves[i].point_len);
		if (curves[i].type == CKK_EC)
			assert_int_equal(raw[0], 0x04); /* uncompressed */
		h = rl >= 128 ? 3 : 2;
		assert_int_equal(n, rl + h);
		assert_int_equal(got[0], 0x04);
		if (h == 3)
			assert_int_equal(got[1], 0x81);
		assert_int_equal(got[h - 1], rl);
		assert_memory_equal(got + h, raw, rl);
		EVP_PKEY_free(pk);
		/* PKCS#8 round trip keeps the key */
		dl = sizeof(der);
		assert_int_equal(cf_key_serialize(k, der, &dl), 0);
		assert_int_equal(cf_key_deserialize(CKO_PRIVATE_KEY,
		    curves[i].type, der, dl, &k2), 0);
		n = sizeof(raw);
		assert_int_equal(cf_key_get_attr(k2, CKA_EC_POINT, raw, &n), 0);
		assert_int_equal(n, rl + h);
		assert_memory_equal(raw, got, n);
		cf_key_free(k2);
		cf_key_free(k);
		/* by name too */
		assert_int_equal(cf_key_generate_ec_name(curves[i].name, &k),
		    0);
		cf_key_free(k);
	}
	/* PKCS#11 3.0 printable-string form for Edwards curves */
	assert_int_equal(cf_key_generate_ec((const uint8_t *)
	    "\x13\x0c" "edwards25519", 14, &k), 0);
	assert_int_equal(cf_key_bits(k), 255);
	cf_key_free(k);
	/* unknown curve (P-192, 1.2.840.10045.3.1.1) */
	ol = unhex("06082a8648ce3d030101", oid, sizeof(oid));
	assert_int_equal(cf_key_generate_ec(oid, ol, &k), COFFER_E_ATTRIBUTE);
	assert_null(k);
	assert_int_equal(cf_key_generate_ec_name("brainpoolP256r1", &k),
	    COFFER_E_ATTRIBUTE);
}

static void
test_public_import(void **state)
{
	EVP_PKEY *pk;
	BIO *b;
	char *pem;
	long plen;
	struct cf_key *k = NULL;
	uint8_t pt[128];
	size_t n = sizeof(pt);

	(void)state;
	/* a key made by OpenSSL, given as PEM */
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	assert_non_null(pk);
	b = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PUBKEY(b, pk), 1);
	plen = BIO_get_mem_data(b, &pem);
	assert_int_equal(cf_key_import_public((uint8_t *)pem, (size_t)plen,
	    &k), 0);
	assert_int_equal(cf_key_class(k), CKO_PUBLIC_KEY);
	assert_int_equal(cf_key_type(k), CKK_EC);
	assert_int_equal(cf_key_bits(k), 384);
	assert_int_equal(cf_key_get_attr(k, CKA_EC_POINT, pt, &n), 0);
	assert_int_equal(n, 99);
	n = sizeof(pt);
	assert_int_equal(cf_key_get_attr(k, CKA_VALUE, pt, &n),
	    COFFER_E_ATTRIBUTE);
	assert_int_equal(cf_key_pairwise_test(k), COFFER_E_KEY_TYPE);
	cf_key_free(k);
	BIO_free(b);
	EVP_PKEY_free(pk);
	assert_int_equal(cf_key_import_public((const uint8_t *)"garbage", 7,
	    &k), COFFER_E_FORMAT);
	/* unsupported curve via import */
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "brainpoolP256r1");
	assert_non_null(pk);
	{
		unsigned char *der = NULL;
		int dl = i2d_PUBKEY(pk, &der);

		assert_int_equal(cf_key_import_public(der, (size_t)dl, &k),
		    COFFER_E_KEY_TYPE);
		OPENSSL_free(der);
	}
	EVP_PKEY_free(pk);
}

/* Coffer's SPKI of k's public half, and OpenSSL's (i2d_PUBKEY through its
 * encoder) of the same key decoded by OpenSSL: the same bytes. */
static void
check_spki(const struct cf_key *k, EVP_PKEY *want_of)
{
	struct cf_key *pub = NULL;
	uint8_t got[2048];
	unsigned char *want = NULL;
	size_t n = sizeof(got);
	int wn;

	assert_int_equal(cf_key_public(k, &pub), 0);
	assert_int_equal(cf_key_class(pub), CKO_PUBLIC_KEY);
	assert_int_equal(cf_key_type(pub), cf_key_type(k));
	assert_int_equal(cf_key_bits(pub), cf_key_bits(k));
	assert_int_equal(cf_key_pairwise_test(pub), COFFER_E_KEY_TYPE);
	/* no private part came along: OpenSSL exports none */
	{
		OSSL_PARAM *prm = NULL;

		assert_int_equal(EVP_PKEY_todata(pub->pkey, EVP_PKEY_KEYPAIR,
		    &prm), 1);
		assert_null(OSSL_PARAM_locate(prm, OSSL_PKEY_PARAM_PRIV_KEY));
		assert_null(OSSL_PARAM_locate(prm, OSSL_PKEY_PARAM_RSA_D));
		assert_non_null(OSSL_PARAM_locate(prm,
		    OSSL_PKEY_PARAM_PUB_KEY) != NULL ? prm :
		    OSSL_PARAM_locate(prm, OSSL_PKEY_PARAM_RSA_N));
		OSSL_PARAM_free(prm);
		assert_int_equal(EVP_PKEY_todata(k->pkey, EVP_PKEY_KEYPAIR,
		    &prm), 1);
		assert_true(cf_key_class(k) != CKO_PRIVATE_KEY ||
		    OSSL_PARAM_locate(prm, OSSL_PKEY_PARAM_PRIV_KEY) != NULL ||
		    OSSL_PARAM_locate(prm, OSSL_PKEY_PARAM_RSA_D) != NULL);
		OSSL_PARAM_free(prm);
	}
	assert_int_equal(cf_key_serialize(pub, got, &n), 0);
	wn = i2d_PUBKEY(want_of, &want);
	assert_true(wn > 0);
	assert_int_equal(n, (size_t)wn);
	assert_memory_equal(got, want, n);
	/* CKA_PUBLIC_KEY_INFO of the key itself (private or public) */
	{
		uint8_t attr[2048];
		size_t an = sizeof(attr);

		assert_int_equal(cf_key_get_attr(k, CKA_PUBLIC_KEY_INFO, attr,
		    &an), 0);
		assert_int_equal(an, n);
		assert_memory_equal(attr, want, n);
	}
	/* the public half of a public key is itself */
	{
		struct cf_key *pub2 = NULL;
		uint8_t again[2048];
		size_t n2 = sizeof(again);

		assert_int_equal(cf_key_public(pub, &pub2), 0);
		assert_int_equal(cf_key_serialize(pub2, again, &n2), 0);
		assert_int_equal(n2, n);
		assert_memory_equal(again, got, n);
		cf_key_free(pub2);
	}
	OPENSSL_free(want);
	cf_key_free(pub);
}

/*
 * The public half and its SubjectPublicKeyInfo are made without
 * OpenSSL's encoder and decoder contexts (keys.c): byte for byte what
 * i2d_PUBKEY makes, for every curve, RSA, and an EC public key imported
 * with a compressed point.
 */
static void
test_public_spki(void **state)
{
	struct cf_key *k = NULL;
	uint8_t oid[16], got[512];
	unsigned char *der = NULL;
	size_t ol, n;
	unsigned i;
	EVP_PKEY *pk;
	int dl;

	(void)state;
	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
		ol = unhex(curves[i].oid, oid, sizeof(oid));
		assert_int_equal(cf_key_generate_ec(oid, ol, &k), 0);
		pk = ossl_priv(k);
		check_spki(k, pk);
		EVP_PKEY_free(pk);
		cf_key_free(k);
	}
	assert_int_equal(cf_key_generate_rsa(2048, NULL, 0, &k), 0);
	pk = ossl_priv(k);
	check_spki(k, pk);
	EVP_PKEY_free(pk);
	cf_key_free(k);
	/* secret keys have none */
	assert_int_equal(cf_key_generate_secret(CKK_AES, 32, &k), 0);
	n = sizeof(got);
	assert_int_equal(cf_key_get_attr(k, CKA_PUBLIC_KEY_INFO, got, &n),
	    COFFER_E_ATTRIBUTE);
	cf_key_free(k);

	/* compressed point: kept as imported */
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(pk);
	assert_int_equal(EVP_PKEY_set_utf8_string_param(pk,
	    OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed"), 1);
	dl = i2d_PUBKEY(pk, &der);
	assert_int_equal(dl, 59);	/* 26-byte header, 33-byte point */
	assert_int_equal(cf_key_import_public(der, (size_t)dl, &k), 0);
	n = sizeof(got);
	assert_int_equal(cf_key_serialize(k, got, &n), 0);
	assert_int_equal(n, (size_t)dl);
	assert_memory_equal(got, der, n);
	check_spki(k, pk);
	cf_key_free(k);
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret_generation),
		cmocka_unit_test(test_check_value),
		cmocka_unit_test(test_rsa_generation),
		cmocka_unit_test(test_public_spki),
		cmocka_unit_test(test_ec_generation),
		cmocka_unit_test(test_public_import),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
