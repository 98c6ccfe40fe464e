/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_identity.c: the cluster identity key, bootstrap certificate, CSR
 * and CA-signed certificate check. The other side (the customer CA, the
 * verification of CSR and fingerprint) is done with OpenSSL directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "coffer/coffer_err.h"
#include "common/secmem.h"
#include "crypto/identity.h"

#define CLUSTER_ID "cluster-7f3a.coffer"

struct ca {
	EVP_PKEY *key;
	X509 *cert;
	char *pem;
};

static char *
x509_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	assert_non_null(b);
	assert_int_equal(PEM_write_bio_X509(b, x), 1);
	n = BIO_get_mem_data(b, &data);
	out = calloc(1, (size_t)n + 1);
	memcpy(out, data, (size_t)n);
	BIO_free(b);
	return out;
}

static X509 *
pem_x509(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

	BIO_free(b);
	assert_non_null(x);
	return x;
}

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *v)
{
	X509V3_CTX c;
	X509_EXTENSION *e;

	X509V3_set_ctx(&c, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &c, nid, v);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

static void
set_serial_validity(X509 *x, long serial)
{
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
}

static void
ca_make(struct ca *ca, const char *cn)
{
	X509_NAME *n;

	ca->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(ca->key);
	ca->cert = X509_new();
	X509_set_version(ca->cert, 2);
	set_serial_validity(ca->cert, 1);
	n = X509_get_subject_name(ca->cert);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(ca->cert, n);
	X509_set_pubkey(ca->cert, ca->key);
	add_ext(ca->cert, ca->cert, NID_basic_constraints, "critical,CA:TRUE");
	add_ext(ca->cert, ca->cert, NID_key_usage, "critical,keyCertSign,cRLSign");
	assert_true(X509_sign(ca->cert, ca->key, EVP_sha256()) > 0);
	ca->pem = x509_pem(ca->cert);
}

static void
ca_free(struct ca *ca)
{
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	free(ca->pem);
}

/* The customer's CA signs the CSR (as `coffer ca sign` would). */
static char *
ca_sign(struct ca *ca, const char *csr_pem)
{
	BIO *b = BIO_new_mem_buf(csr_pem, -1);
	X509_REQ *req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	X509 *x = X509_new();
	char *pem;

	assert_non_null(req);
	X509_set_version(x, 2);
	set_serial_validity(x, 42);
	X509_set_subject_name(x, X509_REQ_get_subject_name(req));
	X509_set_issuer_name(x, X509_get_subject_name(ca->cert));
	X509_set_pubkey(x, X509_REQ_get0_pubkey(req));
	add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE");
	add_ext(x, ca->cert, NID_subject_alt_name, "DNS:" CLUSTER_ID);
	assert_true(X509_sign(x, ca->key, EVP_sha256()) > 0);
	pem = x509_pem(x);
	X509_free(x);
	X509_REQ_free(req);
	BIO_free(b);
	return pem;
}

static EVP_PKEY *
der_key(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	PKCS8_PRIV_KEY_INFO *p8;
	EVP_PKEY *k;

	/* Must be PKCS#8 PrivateKeyInfo. */
	p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
	assert_non_null(p8);
	assert_ptr_equal(p, der + len);
	k = EVP_PKCS82PKEY(p8);
	PKCS8_PRIV_KEY_INFO_free(p8);
	assert_non_null(k);
	return k;
}

static void
test_generate(void **state)
{
	uint8_t *der = NULL;
	size_t der_len = 0;
	char *pem = NULL;
	EVP_PKEY *k, *pub;
	X509 *x;
	GENERAL_NAMES *san;
	const GENERAL_NAME *gn;
	char name[128];

	assert_int_equal(cf_identity_generate(CLUSTER_ID, &der, &der_len,
	    &pem), 0);
	k = der_key(der, der_len);
	assert_true(EVP_PKEY_is_a(k, "EC"));
	assert_int_equal(EVP_PKEY_get_bits(k), 256);
	x = pem_x509(pem);
	pub = X509_get0_pubkey(x);
	assert_int_equal(EVP_PKEY_eq(pub, k), 1);
	assert_int_equal(X509_verify(x, pub), 1);	/* self-signed */
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
	    name, sizeof(name));
	assert_string_equal(name, CLUSTER_ID);
	san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	assert_non_null(san);
	assert_int_equal(sk_GENERAL_NAME_num(san), 1);
	gn = sk_GENERAL_NAME_value(san, 0);
	assert_int_equal(gn->type, GEN_DNS);
	assert_string_equal((const char *)ASN1_STRING_get0_data(gn->d.dNSName),
	    CLUSTER_ID);
	GENERAL_NAMES_free(san);
	/* About ten years. */
	{
		int days = 0, secs = 0;
		assert_int_equal(ASN1_TIME_diff(&days, &secs,
		    X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
		assert_true(days >= 3640 && days <= 3660);
	}
	/* Injection through the id is refused. */
	{
		uint8_t *d2 = NULL;
		size_t l2 = 0;
		char *p2 = NULL;
		assert_int_equal(cf_identity_generate("a,DNS:evil.com", &d2,
		    &l2, &p2), COFFER_E_INVAL);
		assert_null(d2);
		assert_null(p2);
	}
	X509_free(x);
	EVP_PKEY_free(k);
	cf_free_secret(der, der_len);
	free(pem);
}

static void
test_csr_sign_check(void **state)
{
	uint8_t *der = NULL, *der2 = NULL;
	size_t der_len = 0, der2_len = 0;
	char *boot = NULL, *boot2 = NULL, *csr = NULL, *csr2 = NULL;
	char *signed1, *signed_other_ca, *signed_key2, *chain;
	char err[256];
	struct ca ca, other;
	BIO *b;
	X509_REQ *req;
	EVP_PKEY *k;

	assert_int_equal(cf_identity_generate(CLUSTER_ID, &der, &der_len,
	    &boot), 0);
	assert_int_equal(cf_identity_generate(CLUSTER_ID, &der2, &der2_len,
	    &boot2), 0);
	assert_int_equal(cf_identity_csr(der, der_len, CLUSTER_ID, &csr), 0);

	/* The CSR verifies and carries the identity key. */
	b = BIO_new_mem_buf(csr, -1);
	req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(req);
	assert_int_equal(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)), 1);
	k = der_key(der, der_len);
	assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), k), 1);
	EVP_PKEY_free(k);
	{
		STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
		assert_non_null(exts);
		assert_true(X509v3_get_ext_by_NID(exts, NID_subject_alt_name,
		    -1) >= 0);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	}
	X509_REQ_free(req);

	ca_make(&ca, "Customer Root CA");
	ca_make(&other, "Another CA");
	signed1 = ca_sign(&ca, csr);
	signed_other_ca = ca_sign(&other, csr);
	assert_int_equal(cf_identity_csr(der2, der2_len, CLUSTER_ID, &csr2), 0);
	signed_key2 = ca_sign(&ca, csr2);

	assert_int_equal(cf_identity_check_cert(der, der_len, signed1, ca.pem,
	    err, sizeof(err)), 0);
	/* A certificate for another key. */
	assert_int_equal(cf_identity_check_cert(der, der_len, signed_key2,
	    ca.pem, err, sizeof(err)), COFFER_E_INVAL);
	assert_true(strlen(err) > 0);
	/* A certificate from another CA than the anchor. */
	assert_int_equal(cf_identity_check_cert(der, der_len, signed_other_ca,
	    ca.pem, err, sizeof(err)), COFFER_E_AUTH);
	assert_non_null(strstr(err, "chain"));
	/* The anchor must be a CA: the bootstrap (CA:FALSE) cert is not. */
	assert_int_equal(cf_identity_check_cert(der, der_len, signed1, boot,
	    err, sizeof(err)), COFFER_E_INVAL);
	/* Self-signed bootstrap cert as "its own anchor" is not a CA. */
	assert_int_equal(cf_identity_check_cert(der, der_len, boot, boot,
	    err, sizeof(err)), COFFER_E_INVAL);
	/* Garbage. */
	assert_int_equal(cf_identity_check_cert(der, der_len, "not a pem",
	    ca.pem, err, sizeof(err)), COFFER_E_FORMAT);
	assert_int_equal(cf_identity_check_cert(der, der_len, signed1, "",
	    err, sizeof(err)), COFFER_E_FORMAT);
	/* The leaf followed by an unrelated cert still checks the leaf. */
	chain = calloc(1, strlen(signed1) + strlen(other.pem) + 1);
	strcpy(chain, signed1);
	strcat(chain, other.pem);
	assert_int_equal(cf_identity_check_cert(der, der_len, chain, ca.pem,
	    err, sizeof(err)), 0);
	free(chain);

	ca_free(&ca);
	ca_free(&other);
	free(signed1);
	free(signed_other_ca);
	free(signed_key2);
	free(csr);
	free(csr2);
	free(boot);
	free(boot2);
	cf_free_secret(der, der_len);
	cf_free_secret(der2, der2_len);
}

static void
test_fingerprint(void **state)
{
	uint8_t *der = NULL, *cder = NULL;
	size_t der_len = 0;
	char *pem = NULL, fp[65], want[65];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	X509 *x;
	int n;

	assert_int_equal(cf_identity_generate(CLUSTER_ID, &der, &der_len,
	    &pem), 0);
	assert_int_equal(cf_identity_fingerprint(pem, fp), 0);
	/* What `openssl x509 -fingerprint -sha256` prints, without colons. */
	x = pem_x509(pem);
	n = i2d_X509(x, &cder);
	assert_true(n > 0);
	assert_int_equal(EVP_Digest(cder, (size_t)n, md, &mdlen,
	    EVP_sha256(), NULL), 1);
	assert_int_equal(mdlen, 32);
	for (i = 0; i < 32; i++)
		snprintf(want + 2 * i, 3, "%02x", md[i]);
	assert_string_equal(fp, want);
	assert_int_equal(strlen(fp), 64);
	assert_int_equal(cf_identity_fingerprint("junk", fp), COFFER_E_FORMAT);
	OPENSSL_free(cder);
	X509_free(x);
	free(pem);
	cf_free_secret(der, der_len);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_csr_sign_check),
		cmocka_unit_test(test_fingerprint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
