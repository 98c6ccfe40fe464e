/* SPDX-License-Identifier: Apache-2.0 */
/*
 * identity.c: the cluster identity key (ECDSA P-256), its bootstrap
 * self-signed certificate, its CSR, and the check of the certificate the
 * customer's CA signed. The private key leaves this file only as PKCS#8 DER
 * in the secure heap; every temporary copy is cleansed.
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "coffer/coffer_err.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/util.h"
#include "crypto/identity.h"

#define CERT_DAYS (10L * 365)
#define MAX_PEM (256 * 1024)

/* cluster ids become CN and DNS SAN: a conservative DNS-label charset, so
 * nothing can be injected into the extension configuration string. */
static int
valid_cluster_id(const char *id)
{
	size_t i, n;

	if (id == NULL)
		return 0;
	n = strlen(id);
	if (n == 0 || n > 63)
		return 0;
	for (i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

static void
set_err(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
}

static int
key_to_der(EVP_PKEY *pkey, uint8_t **der, size_t *der_len)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	uint8_t *buf = NULL, *p;
	int len, rc = COFFER_E_CRYPTO;

	*der = NULL;
	*der_len = 0;
	if ((p8 = EVP_PKEY2PKCS8(pkey)) == NULL)
		goto out;
	if ((len = i2d_PKCS8_PRIV_KEY_INFO(p8, NULL)) <= 0)
		goto out;
	if ((buf = cf_malloc_secret((size_t)len)) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	p = buf;
	if (i2d_PKCS8_PRIV_KEY_INFO(p8, &p) != len)
		goto out;
	*der = buf;
	*der_len = (size_t)len;
	buf = NULL;
	rc = 0;
 out:
	if (buf != NULL)
		cf_free_secret(buf, (size_t)len);
	PKCS8_PRIV_KEY_INFO_free(p8);	/* clears the key octets */
	return rc;
}

static int
der_to_key(const uint8_t *der, size_t der_len, EVP_PKEY **out)
{
	const unsigned char *p = der;

	*out = NULL;
	if (der == NULL || der_len == 0 || der_len > 65536)
		return COFFER_E_INVAL;
	if ((*out = d2i_AutoPrivateKey(NULL, &p, (long)der_len)) == NULL) {
		ERR_clear_error();
		return COFFER_E_FORMAT;
	}
	return 0;
}

/* Copies a memory BIO's contents into a malloc'd NUL-terminated string. */
static int
bio_to_str(BIO *bio, char **out)
{
	char *data;
	long n;

	*out = NULL;
	if ((n = BIO_get_mem_data(bio, &data)) <= 0)
		return COFFER_E_CRYPTO;
	if ((*out = malloc((size_t)n + 1)) == NULL)
		return COFFER_E_NOMEM;
	memcpy(*out, data, (size_t)n);
	(*out)[n] = '\0';
	return 0;
}

static X509_NAME *
make_name(const char *cn)
{
	X509_NAME *name;

	if ((name = X509_NAME_new()) == NULL)
		return NULL;
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"Coffer", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) != 1) {
		X509_NAME_free(name);
		return NULL;
	}
	return name;
}

static int
add_cert_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3 = {0};
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1;
}

int
cf_identity_generate(const char *cluster_id, uint8_t **der, size_t *der_len,
    char **cert_pem)
{
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	X509_NAME *name = NULL;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;
	BIO *bio = NULL;
	char san[80];
	int rc = COFFER_E_CRYPTO;

	*der = NULL;
	*der_len = 0;
	*cert_pem = NULL;
	if (!valid_cluster_id(cluster_id))
		return COFFER_E_INVAL;
	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL) {
		log_ssl_error("P-256 key generation failed");
		goto out;
	}
	if ((x = X509_new()) == NULL || X509_set_version(x, X509_VERSION_3) != 1)
		goto fail;
	if ((bn = BN_new()) == NULL || BN_rand(bn, 127, BN_RAND_TOP_ANY,
	    BN_RAND_BOTTOM_ANY) != 1 ||
	    (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    X509_set_serialNumber(x, serial) != 1)
		goto fail;
	if (X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), (int)CERT_DAYS, 0,
	    NULL) == NULL)
		goto fail;
	if ((name = make_name(cluster_id)) == NULL ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_set_pubkey(x, pkey) != 1)
		goto fail;
	snprintf(san, sizeof(san), "DNS:%s", cluster_id);
	if (!add_cert_ext(x, NID_basic_constraints, "critical,CA:FALSE") ||
	    !add_cert_ext(x, NID_key_usage, "critical,digitalSignature") ||
	    !add_cert_ext(x, NID_ext_key_usage, "serverAuth") ||
	    !add_cert_ext(x, NID_subject_key_identifier, "hash") ||
	    !add_cert_ext(x, NID_subject_alt_name, san))
		goto fail;
	if (X509_sign(x, pkey, EVP_sha256()) <= 0)
		goto fail;
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(bio, x) != 1)
		goto fail;
	if ((rc = bio_to_str(bio, cert_pem)) != 0)
		goto out;
	if ((rc = key_to_der(pkey, der, der_len)) != 0) {
		free(*cert_pem);
		*cert_pem = NULL;
		goto out;
	}
	rc = 0;
	goto out;
 fail:
	log_ssl_error("bootstrap certificate");
	rc = COFFER_E_CRYPTO;
 out:
	BIO_free(bio);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return rc;
}

int
cf_identity_csr(const uint8_t *der, size_t der_len, const char *cluster_id,
    char **csr_pem)
{
	EVP_PKEY *pkey = NULL;
	X509_REQ *req = NULL;
	X509_NAME *name = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *ext = NULL;
	BIO *bio = NULL;
	char san[80];
	int rc;

	*csr_pem = NULL;
	if (!valid_cluster_id(cluster_id))
		return COFFER_E_INVAL;
	if ((rc = der_to_key(der, der_len, &pkey)) != 0)
		return rc;
	rc = COFFER_E_CRYPTO;
	if ((req = X509_REQ_new()) == NULL ||
	    X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1)
		goto fail;
	if ((name = make_name(cluster_id)) == NULL ||
	    X509_REQ_set_subject_name(req, name) != 1 ||
	    X509_REQ_set_pubkey(req, pkey) != 1)
		goto fail;
	snprintf(san, sizeof(san), "DNS:%s", cluster_id);
	if ((exts = sk_X509_EXTENSION_new_null()) == NULL ||
	    (ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
	    san)) == NULL || sk_X509_EXTENSION_push(exts, ext) <= 0)
		goto fail;
	ext = NULL;
	if (X509_REQ_add_extensions(req, exts) != 1)
		goto fail;
	if (X509_REQ_sign(req, pkey, EVP_sha256()) <= 0)
		goto fail;
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509_REQ(bio, req) != 1)
		goto fail;
	rc = bio_to_str(bio, csr_pem);
	goto out;
 fail:
	log_ssl_error("CSR");
	rc = COFFER_E_CRYPTO;
 out:
	BIO_free(bio);
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(name);
	X509_REQ_free(req);
	EVP_PKEY_free(pkey);
	return rc;
}

/* Reads every certificate of a PEM string; COFFER_E_FORMAT if none. */
static int
read_certs(const char *pem, STACK_OF(X509) **out)
{
	STACK_OF(X509) *sk = NULL;
	BIO *bio = NULL;
	X509 *x;
	int rc = COFFER_E_FORMAT;

	*out = NULL;
	if (pem == NULL || *pem == '\0' || strlen(pem) > MAX_PEM)
		return COFFER_E_FORMAT;
	if ((sk = sk_X509_new_null()) == NULL ||
	    (bio = BIO_new_mem_buf(pem, -1)) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_push(sk, x) <= 0) {
			X509_free(x);
			rc = COFFER_E_NOMEM;
			goto out;
		}
		if (sk_X509_num(sk) > 16)
			goto out;
	}
	ERR_clear_error();	/* end of input */
	if (sk_X509_num(sk) == 0)
		goto out;
	*out = sk;
	sk = NULL;
	rc = 0;
 out:
	BIO_free(bio);
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

int
cf_identity_check_cert(const uint8_t *der, size_t der_len,
    const char *cert_pem, const char *trust_anchor_pem, char *err,
    size_t errlen)
{
	STACK_OF(X509) *certs = NULL, *anchors = NULL;
	X509_STORE *store = NULL;
	X509_STORE_CTX *sctx = NULL;
	EVP_PKEY *pkey = NULL;
	X509 *cert = NULL;
	char msg[160];
	int i, rc;

	set_err(err, errlen, "");
	if ((rc = read_certs(cert_pem, &certs)) != 0) {
		set_err(err, errlen, "certificate is not valid PEM");
		goto out;
	}
	if ((rc = read_certs(trust_anchor_pem, &anchors)) != 0) {
		set_err(err, errlen, "trust anchor is not valid PEM");
		goto out;
	}
	if ((rc = der_to_key(der, der_len, &pkey)) != 0) {
		set_err(err, errlen, "cluster identity key unavailable");
		rc = COFFER_E_INTERNAL;
		goto out;
	}
	/* The leaf; intermediates may follow it (untrusted chain). */
	cert = sk_X509_shift(certs);
	if (X509_check_private_key(cert, pkey) != 1) {
		ERR_clear_error();
		set_err(err, errlen,
		    "certificate does not match the cluster identity key");
		rc = COFFER_E_INVAL;
		goto out;
	}
	if (X509_check_ca(sk_X509_value(anchors, 0)) == 0) {
		set_err(err, errlen, "trust anchor is not a CA certificate");
		rc = COFFER_E_INVAL;
		goto out;
	}
	rc = COFFER_E_NOMEM;
	if ((store = X509_STORE_new()) == NULL ||
	    (sctx = X509_STORE_CTX_new()) == NULL)
		goto out;
	for (i = 0; i < sk_X509_num(anchors); i++) {
		if (X509_STORE_add_cert(store, sk_X509_value(anchors, i)) != 1)
			goto out;
	}
	if (X509_STORE_CTX_init(sctx, store, cert, certs) != 1)
		goto out;
	if (X509_verify_cert(sctx) != 1) {
		snprintf(msg, sizeof(msg),
		    "certificate does not chain to the trust anchor: %s",
		    X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(sctx)));
		set_err(err, errlen, msg);
		ERR_clear_error();
		rc = COFFER_E_AUTH;
		goto out;
	}
	rc = 0;
 out:
	X509_free(cert);
	X509_STORE_CTX_free(sctx);
	X509_STORE_free(store);
	EVP_PKEY_free(pkey);
	sk_X509_pop_free(certs, X509_free);
	sk_X509_pop_free(anchors, X509_free);
	return rc;
}

int
cf_identity_fingerprint(const char *cert_pem, char out[65])
{
	BIO *bio = NULL;
	X509 *x = NULL;
	unsigned char *d = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int n, rc = COFFER_E_FORMAT;

	out[0] = '\0';
	if (cert_pem == NULL || strlen(cert_pem) > MAX_PEM)
		return COFFER_E_FORMAT;
	if ((bio = BIO_new_mem_buf(cert_pem, -1)) == NULL)
		return COFFER_E_NOMEM;
	if ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		ERR_clear_error();
		goto out;
	}
	if ((n = i2d_X509(x, &d)) <= 0) {
		rc = COFFER_E_CRYPTO;
		goto out;
	}
	if (EVP_Digest(d, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32) {
		rc = COFFER_E_CRYPTO;
		goto out;
	}
	cf_hex(md, 32, out);
	rc = 0;
 out:
	OPENSSL_free(d);
	X509_free(x);
	BIO_free(bio);
	return rc;
}
