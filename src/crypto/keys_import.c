/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys_import.c: public keys from PKCS#11 components and the attributes of
 * X.509 certificates (see keys_import.h). Keys are built with
 * EVP_PKEY_fromdata and checked (EC points on the curve); certificates are
 * parsed with d2i_X509, never trusted or verified here.
 */
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "coffer/coffer_err.h"
#include "keys_import.h"
#include "keys_int.h"

static int
from_params(const char *type, OSSL_PARAM *params, EVP_PKEY **out)
{
	EVP_PKEY_CTX *ctx = NULL;
	int rc = COFFER_E_ATTRIBUTE;

	*out = NULL;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL) {
		rc = COFFER_E_CRYPTO;
		goto out;
	}
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		*out = NULL;
		goto out;
	}
	rc = 0;
 out:
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

int
cf_key_import_rsa_public(const uint8_t *n, size_t n_len, const uint8_t *e,
    size_t e_len, struct cf_key **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	BIGNUM *bn = NULL, *be = NULL;
	EVP_PKEY *pkey = NULL;
	int bits, rc = COFFER_E_ATTRIBUTE;

	*out = NULL;
	if (n == NULL || e == NULL || n_len == 0 || e_len == 0 ||
	    n_len > CF_IMPORT_RSA_MAX_BITS / 8 + 1 || e_len > n_len)
		return COFFER_E_ATTRIBUTE;
	if ((bn = BN_bin2bn(n, (int)n_len, NULL)) == NULL ||
	    (be = BN_bin2bn(e, (int)e_len, NULL)) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	bits = BN_num_bits(bn);
	if (bits < 1024 || bits > CF_IMPORT_RSA_MAX_BITS || !BN_is_odd(bn) ||
	    !BN_is_odd(be) || BN_is_one(be) || BN_cmp(be, bn) >= 0)
		goto out;
	rc = COFFER_E_NOMEM;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((rc = from_params("RSA", params, &pkey)) != 0)
		goto out;
	rc = cf_key_new_pkey(CKO_PUBLIC_KEY, pkey, out);	/* takes pkey */
	pkey = NULL;
 out:
	EVP_PKEY_free(pkey);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	ERR_clear_error();
	return rc;
}

/*
 * The OpenSSL key type ("EC", "ED25519", "ED448") and, for EC, the group
 * name of a CKA_EC_PARAMS value.
 */
static int
params_curve(const uint8_t *p, size_t len, const char **type,
    const char **group)
{
	ASN1_OBJECT *obj = NULL;
	const unsigned char *q = p;
	int nid;

	*type = *group = NULL;
	if (p == NULL || len < 2 || len > 64)
		return COFFER_E_ATTRIBUTE;
	/* PrintableString form (PKCS#11 3.0 §2.3.5), Edwards curves. */
	if (p[0] == 0x13 && p[1] == len - 2) {
		if (len - 2 == 12 && memcmp(p + 2, "edwards25519", 12) == 0)
			*type = "ED25519";
		else if (len - 2 == 10 && memcmp(p + 2, "edwards448", 10) == 0)
			*type = "ED448";
		return *type != NULL ? 0 : COFFER_E_ATTRIBUTE;
	}
	if (p[0] != 0x06 ||
	    d2i_ASN1_OBJECT(&obj, &q, (long)len) == NULL ||
	    q != p + len) {
		ASN1_OBJECT_free(obj);
		ERR_clear_error();
		return COFFER_E_ATTRIBUTE;
	}
	nid = OBJ_obj2nid(obj);
	ASN1_OBJECT_free(obj);
	if (nid == NID_ED25519)
		*type = "ED25519";
	else if (nid == NID_ED448)
		*type = "ED448";
	else if (nid != NID_undef && (*group = OBJ_nid2sn(nid)) != NULL)
		*type = "EC";
	return *type != NULL ? 0 : COFFER_E_ATTRIBUTE;
}

static int
ec_from_point(const char *type, const char *group, const uint8_t *pt,
    size_t pt_len, EVP_PKEY **out)
{
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *chk = NULL;
	size_t i = 0;
	int rc;

	*out = NULL;
	if (group != NULL)
		params[i++] = OSSL_PARAM_construct_utf8_string(
		    OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
	params[i++] = OSSL_PARAM_construct_octet_string(
	    OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, pt_len);
	params[i] = OSSL_PARAM_construct_end();
	if ((rc = from_params(type, params, out)) != 0)
		return rc;
	if (group == NULL)
		return 0;
	/*
	 * fromdata decodes the point; check it is on the curve and not
	 * infinity. No order check (point x n, a scalar multiplication):
	 * a key on a curve outside keys.c's table is refused afterwards
	 * (cf_key_new_pkey), and every curve of the table has cofactor 1
	 * (test_mech_wrap test_curves_cofactor_one), so its other points
	 * all have order n.
	 */
	if ((chk = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL)) == NULL ||
	    EVP_PKEY_public_check_quick(chk) != 1) {
		EVP_PKEY_free(*out);
		*out = NULL;
		rc = chk == NULL ? COFFER_E_NOMEM : COFFER_E_ATTRIBUTE;
	}
	EVP_PKEY_CTX_free(chk);
	ERR_clear_error();
	return rc;
}

int
cf_key_import_ec_public(const uint8_t *params, size_t params_len,
    const uint8_t *point, size_t point_len, struct cf_key **out)
{
	const char *type, *group;
	EVP_PKEY *pkey = NULL;
	size_t inner = 0, h = 0;
	int rc;

	*out = NULL;
	if ((rc = params_curve(params, params_len, &type, &group)) != 0)
		return rc;
	if (point == NULL || point_len < 2 || point_len > 200)
		return COFFER_E_ATTRIBUTE;
	/* DER OCTET STRING (short or one-byte long length)? */
	if (point[0] == 0x04 && point[1] < 0x80 &&
	    (size_t)point[1] == point_len - 2) {
		h = 2;
		inner = point[1];
	} else if (point[0] == 0x04 && point[1] == 0x81 && point_len > 3 &&
	    point[2] >= 0x80 && (size_t)point[2] == point_len - 3) {
		h = 3;
		inner = point[2];
	}
	rc = COFFER_E_ATTRIBUTE;
	if (h > 0 && inner > 0)
		rc = ec_from_point(type, group, point + h, inner, &pkey);
	/* A raw point (it may look like an OCTET STRING header by chance:
	 * then the wrapped reading fails and the raw one is tried). */
	if (rc != 0)
		rc = ec_from_point(type, group, point, point_len, &pkey);
	if (rc != 0)
		return COFFER_E_ATTRIBUTE;
	if ((rc = cf_key_new_pkey(CKO_PUBLIC_KEY, pkey, out)) ==
	    COFFER_E_KEY_TYPE)
		rc = COFFER_E_ATTRIBUTE;	/* a curve Coffer does not use */
	return rc;
}

void
cf_cert_info_clear(struct cf_cert_info *ci)
{
	OPENSSL_free(ci->subject);
	OPENSSL_free(ci->issuer);
	OPENSSL_free(ci->serial);
	OPENSSL_free(ci->spki);
	*ci = (struct cf_cert_info){0};
}

int
cf_cert_x509_info(const uint8_t *der, size_t len, struct cf_cert_info *ci)
{
	const unsigned char *p = der;
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	X509 *x = NULL;
	int n, rc = COFFER_E_ATTRIBUTE;

	*ci = (struct cf_cert_info){0};
	if (der == NULL || len == 0 || len > 65536)
		return COFFER_E_ATTRIBUTE;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL || p != der + len)
		goto out;
	rc = COFFER_E_NOMEM;
	ci->subject = NULL;
	if ((n = i2d_X509_NAME(X509_get_subject_name(x), &ci->subject)) <= 0)
		goto out;
	ci->subject_len = (size_t)n;
	if ((n = i2d_X509_NAME(X509_get_issuer_name(x), &ci->issuer)) <= 0)
		goto out;
	ci->issuer_len = (size_t)n;
	if ((n = i2d_ASN1_INTEGER(X509_get0_serialNumber(x),
	    &ci->serial)) <= 0)
		goto out;
	ci->serial_len = (size_t)n;
	if ((n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &ci->spki)) <= 0)
		goto out;
	ci->spki_len = (size_t)n;
	rc = COFFER_E_CRYPTO;
	if (EVP_Digest(der, len, md, &mdlen, EVP_sha1(), NULL) != 1 ||
	    mdlen < sizeof(ci->check))
		goto out;
	memcpy(ci->check, md, sizeof(ci->check));
	rc = 0;
 out:
	X509_free(x);
	ERR_clear_error();
	if (rc != 0)
		cf_cert_info_clear(ci);
	return rc;
}
