/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys.c: key material objects: generation (with a pairwise-consistency
 * test for every asymmetric key), storage encoding (raw / PKCS#8 / SPKI),
 * and the public attributes PKCS#11 exposes (modulus, EC point, KCV...).
 * Secret values live in the OpenSSL secure heap and are wiped on free.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "coffer/coffer_err.h"
#include "keys_int.h"

/* CKA_EC_PARAMS values we accept, with the OpenSSL group name. */
static const struct curve {
	const char	*name;		/* OpenSSL group or key type name */
	CK_KEY_TYPE	 type;
	const uint8_t	*der;
	size_t		 der_len;
	const char	*alias;		/* PKCS#11 3.0 printable name */
} curves[] = {
#define D(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })
	{ "P-224", CKK_EC, D(0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x21), "secp224r1" },
	{ "P-256", CKK_EC, D(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03,
	    0x01, 0x07), "prime256v1" },
	{ "P-384", CKK_EC, D(0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22), "secp384r1" },
	{ "P-521", CKK_EC, D(0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23), "secp521r1" },
	{ "secp256k1", CKK_EC, D(0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a), "secp256k1" },
	{ "ED25519", CKK_EC_EDWARDS, D(0x06, 0x03, 0x2b, 0x65, 0x70), "edwards25519" },
	{ "ED448", CKK_EC_EDWARDS, D(0x06, 0x03, 0x2b, 0x65, 0x71), "edwards448" },
#undef D
};
#define NCURVES (sizeof(curves) / sizeof(curves[0]))

static const struct curve *
curve_by_name(const char *n)
{
	size_t i;

	for (i = 0; i < NCURVES; i++)
		if (OPENSSL_strcasecmp(n, curves[i].name) == 0 ||
		    OPENSSL_strcasecmp(n, curves[i].alias) == 0)
			return &curves[i];
	/* OpenSSL reports NIST curves by their SEC names too. */
	if (OPENSSL_strcasecmp(n, "secp256r1") == 0)
		return &curves[1];
	return NULL;
}

static const struct curve *
curve_by_params(const uint8_t *p, size_t len)
{
	size_t i, n;

	for (i = 0; i < NCURVES; i++)
		if (len == curves[i].der_len &&
		    memcmp(p, curves[i].der, len) == 0)
			return &curves[i];
	/* PrintableString (0x13) form, PKCS#11 3.0 §2.3.5. */
	if (len >= 2 && p[0] == 0x13 && p[1] == len - 2) {
		for (i = 0; i < NCURVES; i++) {
			n = strlen(curves[i].alias);
			if (curves[i].type == CKK_EC_EDWARDS && n == len - 2 &&
			    memcmp(p + 2, curves[i].alias, n) == 0)
				return &curves[i];
		}
	}
	return NULL;
}

int
cf_out_copy(const uint8_t *src, size_t n, uint8_t *out, size_t *out_len)
{
	if (out == NULL) {
		*out_len = n;
		return 0;
	}
	if (*out_len < n) {
		*out_len = n;
		return COFFER_E_BUFFER_TOO_SMALL;
	}
	if (n > 0)
		memcpy(out, src, n);
	*out_len = n;
	return 0;
}

int
cf_sbuf_put(struct cf_sbuf *b, const uint8_t *p, size_t n)
{
	uint8_t *np;
	size_t ncap;

	if (n == 0)
		return 0;
	if (n > SIZE_MAX / 2 - b->len)
		return COFFER_E_TOOBIG;
	if (b->len + n > b->cap) {
		/*
		 * Grow by copy: never realloc (STYLE.md). This holds data
		 * (plaintext, messages), not keys, and may be large, so it
		 * lives on the normal heap and is wiped on every move.
		 */
		ncap = b->cap ? b->cap : 256;
		while (ncap < b->len + n)
			ncap *= 2;
		if ((np = OPENSSL_malloc(ncap)) == NULL)
			return COFFER_E_NOMEM;
		if (b->len > 0)
			memcpy(np, b->p, b->len);
		OPENSSL_clear_free(b->p, b->cap);
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

void
cf_sbuf_free(struct cf_sbuf *b)
{
	OPENSSL_clear_free(b->p, b->cap);
	b->p = NULL;
	b->len = b->cap = 0;
}

int
cf_key_new_secret(CK_KEY_TYPE type, const uint8_t *v, size_t len,
    struct cf_key **out)
{
	struct cf_key *k;

	*out = NULL;
	if ((k = OPENSSL_zalloc(sizeof(*k))) == NULL)
		return COFFER_E_NOMEM;
	if ((k->secret = OPENSSL_secure_malloc(len ? len : 1)) == NULL) {
		OPENSSL_free(k);
		return COFFER_E_NOMEM;
	}
	if (len > 0)
		memcpy(k->secret, v, len);
	k->secret_len = len;
	k->cls = CKO_SECRET_KEY;
	k->type = type;
	*out = k;
	return 0;
}

int
cf_key_new_pkey(CK_OBJECT_CLASS cls, EVP_PKEY *pkey, struct cf_key **out)
{
	struct cf_key *k;
	char name[64];
	int id;

	*out = NULL;
	if ((k = OPENSSL_zalloc(sizeof(*k))) == NULL) {
		EVP_PKEY_free(pkey);
		return COFFER_E_NOMEM;
	}
	k->cls = cls;
	k->pkey = pkey;
	k->ctx_mu_ok = pthread_mutex_init(&k->ctx_mu, NULL) == 0;
	id = EVP_PKEY_get_base_id(pkey);
	if (id == EVP_PKEY_RSA)
		k->type = CKK_RSA;
	else if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448)
		k->type = CKK_EC_EDWARDS;
	else if (id == EVP_PKEY_EC) {
		/* Only the curves of the table are usable. */
		if (cf_ec_group_name(pkey, name, sizeof(name)) != 0 ||
		    curve_by_name(name) == NULL) {
			cf_key_free(k);
			return COFFER_E_KEY_TYPE;
		}
		k->type = CKK_EC;
	} else {
		cf_key_free(k);
		return COFFER_E_KEY_TYPE;
	}
	*out = k;
	return 0;
}

EVP_PKEY_CTX *
cf_key_sign_ctx_get(const struct cf_key *ck)
{
	struct cf_key *k = (struct cf_key *)ck;	/* the pool is a cache */
	EVP_PKEY_CTX *pc = NULL;

	if (k->ctx_mu_ok) {
		pthread_mutex_lock(&k->ctx_mu);
		if (k->nsign_ctx > 0) {
			pc = k->sign_ctx[--k->nsign_ctx];
			k->sign_ctx[k->nsign_ctx] = NULL;
		}
		pthread_mutex_unlock(&k->ctx_mu);
		if (pc != NULL)
			return pc;
	}
	if ((pc = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL)) == NULL)
		return NULL;
	if (EVP_PKEY_sign_init(pc) != 1) {
		EVP_PKEY_CTX_free(pc);
		return NULL;
	}
	return pc;
}

void
cf_key_sign_ctx_put(const struct cf_key *ck, EVP_PKEY_CTX *pc)
{
	struct cf_key *k = (struct cf_key *)ck;	/* the pool is a cache */

	if (pc == NULL)
		return;
	if (k->ctx_mu_ok) {
		pthread_mutex_lock(&k->ctx_mu);
		if (k->nsign_ctx < CF_KEY_SIGN_CTXS) {
			k->sign_ctx[k->nsign_ctx++] = pc;
			pc = NULL;
		}
		pthread_mutex_unlock(&k->ctx_mu);
	}
	EVP_PKEY_CTX_free(pc);
}

void
cf_key_free(struct cf_key *k)
{
	unsigned i;

	if (k == NULL)
		return;
	for (i = 0; i < k->nsign_ctx; i++)
		EVP_PKEY_CTX_free(k->sign_ctx[i]);
	if (k->ctx_mu_ok)
		pthread_mutex_destroy(&k->ctx_mu);
	if (k->secret != NULL)
		OPENSSL_secure_clear_free(k->secret, k->secret_len ?
		    k->secret_len : 1);
	EVP_PKEY_free(k->pkey);
	OPENSSL_clear_free(k, sizeof(*k));
}

CK_OBJECT_CLASS
cf_key_class(const struct cf_key *k)
{
	return k->cls;
}

CK_KEY_TYPE
cf_key_type(const struct cf_key *k)
{
	return k->type;
}

size_t
cf_key_bits(const struct cf_key *k)
{
	int id;

	if (k->pkey == NULL)
		return k->secret_len * 8;
	id = EVP_PKEY_get_base_id(k->pkey);
	if (id == EVP_PKEY_ED25519)
		return 255;
	if (id == EVP_PKEY_ED448)
		return 448;
	return (size_t)EVP_PKEY_get_bits(k->pkey);
}

size_t
cf_ec_scalar_len(const EVP_PKEY *pkey)
{
	return ((size_t)EVP_PKEY_get_bits(pkey) + 7) / 8;
}

int
cf_ec_group_name(const EVP_PKEY *pkey, char *buf, size_t len)
{
	size_t n = 0;

	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
	    buf, len, &n) != 1) {
		ERR_clear_error();
		return COFFER_E_KEY_TYPE;
	}
	return 0;
}

static int
secret_len_ok(CK_KEY_TYPE type, size_t len)
{
	switch (type) {
	case CKK_AES:
		if (len != 16 && len != 24 && len != 32)
			return COFFER_E_KEY_SIZE;
		return 0;
	case CKK_GENERIC_SECRET:
		if (len < CF_GENERIC_MIN_LEN || len > CF_GENERIC_MAX_LEN)
			return COFFER_E_KEY_SIZE;
		return 0;
	case CKK_DES:
	case CKK_DES2:
	case CKK_DES3:
		/* Refused on purpose: 3DES is deprecated (SP 800-131A r2). */
		return COFFER_E_MECHANISM;
	default:
		return COFFER_E_KEY_TYPE;
	}
}

int
cf_key_generate_secret(CK_KEY_TYPE type, size_t len, struct cf_key **out)
{
	uint8_t *v = NULL;
	int rc;

	*out = NULL;
	if ((rc = secret_len_ok(type, len)) != 0)
		return rc;
	if ((v = OPENSSL_secure_malloc(len)) == NULL)
		return COFFER_E_NOMEM;
	if (RAND_priv_bytes(v, (int)len) != 1) {
		ERR_clear_error();
		rc = COFFER_E_CRYPTO;
		goto out;
	}
	rc = cf_key_new_secret(type, v, len, out);
 out:
	OPENSSL_secure_clear_free(v, len);
	return rc;
}

/* Sign then verify a fixed message; RSA also encrypts and decrypts
 * (FIPS 140-3 IG 10.3.A: one PCT per use the key may serve). */
int
cf_key_pairwise_test(const struct cf_key *k)
{
	static const uint8_t msg[] = "coffer pairwise consistency test";
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	const EVP_MD *md = NULL;
	uint8_t *sig = NULL, *ct = NULL, *pt = NULL;
	size_t siglen = 0, ctlen = 0, ptlen = 0;
	int rc = COFFER_E_SELFTEST;

	if (k == NULL || k->pkey == NULL || k->cls != CKO_PRIVATE_KEY)
		return COFFER_E_KEY_TYPE;
	if (k->type != CKK_EC_EDWARDS)
		md = EVP_sha256();
	if ((mctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestSignInit_ex(mctx, NULL, md ? "SHA256" : NULL, NULL,
	    NULL, k->pkey, NULL) != 1 ||
	    EVP_DigestSign(mctx, NULL, &siglen, msg, sizeof(msg)) != 1 ||
	    (sig = OPENSSL_malloc(siglen)) == NULL ||
	    EVP_DigestSign(mctx, sig, &siglen, msg, sizeof(msg)) != 1)
		goto out;
	EVP_MD_CTX_free(mctx);
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(mctx, NULL, md ? "SHA256" : NULL, NULL,
	    NULL, k->pkey, NULL) != 1 ||
	    EVP_DigestVerify(mctx, sig, siglen, msg, sizeof(msg)) != 1)
		goto out;
	if (k->type == CKK_RSA) {
		if ((pctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey,
		    NULL)) == NULL ||
		    EVP_PKEY_encrypt_init(pctx) != 1 ||
		    EVP_PKEY_CTX_set_rsa_padding(pctx,
		    RSA_PKCS1_OAEP_PADDING) != 1 ||
		    EVP_PKEY_encrypt(pctx, NULL, &ctlen, msg, sizeof(msg)) != 1 ||
		    (ct = OPENSSL_malloc(ctlen)) == NULL ||
		    EVP_PKEY_encrypt(pctx, ct, &ctlen, msg, sizeof(msg)) != 1)
			goto out;
		ptlen = ctlen;
		if ((pt = OPENSSL_malloc(ptlen)) == NULL ||
		    EVP_PKEY_decrypt_init(pctx) != 1 ||
		    EVP_PKEY_CTX_set_rsa_padding(pctx,
		    RSA_PKCS1_OAEP_PADDING) != 1 ||
		    EVP_PKEY_decrypt(pctx, pt, &ptlen, ct, ctlen) != 1 ||
		    ptlen != sizeof(msg) || memcmp(pt, msg, ptlen) != 0)
			goto out;
	}
	rc = 0;
 out:
	if (rc != 0)
		ERR_clear_error();
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_CTX_free(pctx);
	OPENSSL_free(sig);
	OPENSSL_free(ct);
	OPENSSL_clear_free(pt, ptlen);
	return rc;
}

int
cf_key_generate_rsa(unsigned bits, const uint8_t *e, size_t e_len,
    struct cf_key **out)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *bn = NULL;
	int rc;

	*out = NULL;
	if (bits < CF_RSA_MIN_BITS || bits > CF_RSA_MAX_BITS ||
	    bits % CF_RSA_STEP_BITS != 0)
		return COFFER_E_KEY_SIZE;
	if (e == NULL)
		bn = BN_new();
	else
		bn = BN_bin2bn(e, (int)e_len, NULL);
	if (bn == NULL)
		return COFFER_E_NOMEM;
	if (e == NULL) {
		if (BN_set_word(bn, 65537) != 1) {
			rc = COFFER_E_NOMEM;
			goto out;
		}
	} else if (e_len > 8 || !BN_is_odd(bn) ||
	    BN_cmp(bn, BN_value_one()) <= 0 || BN_num_bits(bn) < 17) {
		/* CloudHSM rule: odd and at least 65537. */
		rc = COFFER_E_ATTRIBUTE;
		goto out;
	}
	rc = COFFER_E_CRYPTO;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_keygen_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) != 1 ||
	    EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, bn) != 1 ||
	    EVP_PKEY_generate(ctx, &pkey) != 1)
		goto out;
	if ((rc = cf_key_new_pkey(CKO_PRIVATE_KEY, pkey, out)) != 0) {
		pkey = NULL;
		goto out;
	}
	pkey = NULL;
	if ((rc = cf_key_pairwise_test(*out)) != 0) {
		cf_key_free(*out);
		*out = NULL;
	}
 out:
	if (rc != 0)
		ERR_clear_error();
	BN_free(bn);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

static int
generate_curve(const struct curve *c, struct cf_key **out)
{
	EVP_PKEY *pkey = NULL;
	int rc;

	*out = NULL;
	if (c->type == CKK_EC)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", c->name);
	else
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, c->name);
	if (pkey == NULL) {
		ERR_clear_error();
		return COFFER_E_CRYPTO;
	}
	if ((rc = cf_key_new_pkey(CKO_PRIVATE_KEY, pkey, out)) != 0)
		return rc;
	if ((rc = cf_key_pairwise_test(*out)) != 0) {
		cf_key_free(*out);
		*out = NULL;
	}
	return rc;
}

int
cf_key_generate_ec(const uint8_t *ec_params, size_t ec_params_len,
    struct cf_key **out)
{
	const struct curve *c;

	*out = NULL;
	if (ec_params == NULL ||
	    (c = curve_by_params(ec_params, ec_params_len)) == NULL)
		return COFFER_E_ATTRIBUTE;
	return generate_curve(c, out);
}

int
cf_key_generate_ec_name(const char *curve, struct cf_key **out)
{
	const struct curve *c;

	*out = NULL;
	if (curve == NULL || (c = curve_by_name(curve)) == NULL)
		return COFFER_E_ATTRIBUTE;
	return generate_curve(c, out);
}

/*
 * The public half of pkey as a new key of the same type. EC: the curve
 * and point form are copied (EVP_PKEY_copy_parameters shares the group;
 * an import by group name built it anew, 11 % of an EC session key
 * pair; the point form is the key's, which an import would reset to
 * uncompressed), then the point is set. RSA, EdDSA: the public
 * parameters are exported and imported (EVP_PKEY_todata /
 * EVP_PKEY_fromdata). An SPKI round trip did this before: an encoder and
 * a decoder context, ~100 us each in OpenSSL 3.0.
 */
static EVP_PKEY *
public_pkey(EVP_PKEY *pkey)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pub = NULL;
	uint8_t pt[160];	/* P-521 uncompressed: 133 */
	size_t ptl = 0;

	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
		if ((pub = EVP_PKEY_new()) == NULL ||
		    EVP_PKEY_copy_parameters(pub, pkey) != 1 ||
		    EVP_PKEY_get_octet_string_param(pkey,
		    OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &ptl) != 1 ||
		    EVP_PKEY_set1_encoded_public_key(pub, pt, ptl) != 1) {
			EVP_PKEY_free(pub);
			pub = NULL;
		}
		ERR_clear_error();
		return pub;
	}
	if (EVP_PKEY_todata(pkey, EVP_PKEY_PUBLIC_KEY, &params) != 1 ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL,
	    EVP_PKEY_get0_type_name(pkey), NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pub, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		EVP_PKEY_free(pub);
		pub = NULL;
	}
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pub;
}

int
cf_key_public(const struct cf_key *k, struct cf_key **out)
{
	EVP_PKEY *pub;

	*out = NULL;
	if (k->pkey == NULL)
		return COFFER_E_KEY_TYPE;
	/* The copy carries no private part: only public parameters are
	 * exported. */
	if ((pub = public_pkey(k->pkey)) == NULL)
		return COFFER_E_CRYPTO;
	return cf_key_new_pkey(CKO_PUBLIC_KEY, pub, out);
}

/*
 * SubjectPublicKeyInfo DER of an EC (named curve) or EdDSA key, put
 * together by OpenSSL's ASN.1 code (X509_PUBKEY_set0_param,
 * i2d_X509_PUBKEY) from the key's curve and public value, without an
 * encoder context (i2d_PUBKEY's, ~100 us in OpenSSL 3.0). The unit test
 * checks it byte for byte against i2d_PUBKEY for every curve. 1 with
 * *der (OPENSSL_free) and *n; 0 for other keys (RSA: i2d_PUBKEY); -1 on
 * error.
 */
static int
spki_direct(const struct cf_key *k, uint8_t **der, int *n)
{
	uint8_t pubv[160];	/* P-521 uncompressed: 133 */
	char group[64];
	size_t len = sizeof(pubv);
	X509_PUBKEY *xp = NULL;
	ASN1_OBJECT *alg, *par = NULL;
	unsigned char *penc;
	int ptype = V_ASN1_UNDEF, nid;

	*der = NULL;
	*n = 0;
	if (k->type == CKK_EC) {
		if (EVP_PKEY_get_utf8_string_param(k->pkey,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
		    NULL) != 1 || (nid = OBJ_txt2nid(group)) == NID_undef ||
		    (par = OBJ_nid2obj(nid)) == NULL ||
		    EVP_PKEY_get_octet_string_param(k->pkey,
		    OSSL_PKEY_PARAM_PUB_KEY, pubv, sizeof(pubv), &len) != 1) {
			ERR_clear_error();
			return 0;
		}
		alg = OBJ_nid2obj(NID_X9_62_id_ecPublicKey);
		ptype = V_ASN1_OBJECT;
	} else if (k->type == CKK_EC_EDWARDS) {
		if ((nid = OBJ_txt2nid(EVP_PKEY_get0_type_name(k->pkey))) ==
		    NID_undef || EVP_PKEY_get_raw_public_key(k->pkey, pubv,
		    &len) != 1) {
			ERR_clear_error();
			return 0;
		}
		alg = OBJ_nid2obj(nid);
	} else
		return 0;
	if (alg == NULL || (xp = X509_PUBKEY_new()) == NULL ||
	    (penc = OPENSSL_memdup(pubv, len)) == NULL) {
		X509_PUBKEY_free(xp);
		return -1;
	}
	/* On success xp owns penc (the OIDs are OpenSSL's static ones). */
	if (X509_PUBKEY_set0_param(xp, alg, ptype, par, penc,
	    (int)len) != 1) {
		OPENSSL_free(penc);
		X509_PUBKEY_free(xp);
		ERR_clear_error();
		return -1;
	}
	*n = i2d_X509_PUBKEY(xp, der);
	X509_PUBKEY_free(xp);
	if (*n <= 0) {
		ERR_clear_error();
		*der = NULL;
		return -1;
	}
	return 1;
}

/* SubjectPublicKeyInfo DER of k's public part, with the output-buffer
 * convention of cf_out_copy. */
static int
spki_out(const struct cf_key *k, uint8_t *out, size_t *out_len)
{
	uint8_t *der = NULL;
	int n, r = spki_direct(k, &der, &n);

	if (r < 0)
		return COFFER_E_CRYPTO;
	if (r == 0 && (n = i2d_PUBKEY(k->pkey, &der)) <= 0) {
		ERR_clear_error();
		return COFFER_E_CRYPTO;
	}
	r = cf_out_copy(der, (size_t)n, out, out_len);
	OPENSSL_free(der);
	return r;
}

int
cf_key_serialize(const struct cf_key *k, uint8_t *out, size_t *out_len)
{
	OSSL_ENCODER_CTX *ectx = NULL;
	uint8_t *der = NULL;
	size_t len = 0;
	int rc;

	if (k->cls == CKO_SECRET_KEY)
		return cf_out_copy(k->secret, k->secret_len, out, out_len);
	if (k->cls == CKO_PUBLIC_KEY)
		return spki_out(k, out, out_len);
	/* PKCS#8 PrivateKeyInfo, unencrypted; the buffer is wiped. */
	if ((ectx = OSSL_ENCODER_CTX_new_for_pkey(k->pkey,
	    OSSL_KEYMGMT_SELECT_ALL, "DER", "PrivateKeyInfo", NULL)) == NULL ||
	    OSSL_ENCODER_to_data(ectx, &der, &len) != 1) {
		ERR_clear_error();
		OSSL_ENCODER_CTX_free(ectx);
		return COFFER_E_CRYPTO;
	}
	OSSL_ENCODER_CTX_free(ectx);
	rc = cf_out_copy(der, len, out, out_len);
	OPENSSL_clear_free(der, len);
	return rc;
}

static int
decode_pkey(const char *input, const char *structure, int selection,
    const uint8_t *in, size_t in_len, EVP_PKEY **pkey)
{
	OSSL_DECODER_CTX *dctx;
	const unsigned char *p = in;
	size_t left = in_len;
	int ok;

	*pkey = NULL;
	if ((dctx = OSSL_DECODER_CTX_new_for_pkey(pkey, input, structure,
	    NULL, selection, NULL, NULL)) == NULL)
		return COFFER_E_NOMEM;
	ok = OSSL_DECODER_from_data(dctx, &p, &left);
	OSSL_DECODER_CTX_free(dctx);
	if (ok != 1 || *pkey == NULL || (left != 0 &&
	    strcmp(input, "DER") == 0)) {
		ERR_clear_error();
		EVP_PKEY_free(*pkey);
		*pkey = NULL;
		return COFFER_E_FORMAT;
	}
	return 0;
}

int
cf_key_deserialize(CK_OBJECT_CLASS cls, CK_KEY_TYPE type, const uint8_t *in,
    size_t in_len, struct cf_key **out)
{
	EVP_PKEY *pkey = NULL;
	int rc;

	*out = NULL;
	if (in == NULL)
		return COFFER_E_INVAL;
	switch (cls) {
	case CKO_SECRET_KEY:
		if ((rc = secret_len_ok(type, in_len)) != 0)
			return rc;
		return cf_key_new_secret(type, in, in_len, out);
	case CKO_PRIVATE_KEY:
		rc = decode_pkey("DER", "PrivateKeyInfo",
		    OSSL_KEYMGMT_SELECT_KEYPAIR, in, in_len, &pkey);
		break;
	case CKO_PUBLIC_KEY:
		rc = decode_pkey("DER", "SubjectPublicKeyInfo",
		    OSSL_KEYMGMT_SELECT_PUBLIC_KEY, in, in_len, &pkey);
		break;
	default:
		return COFFER_E_KEY_TYPE;
	}
	if (rc != 0)
		return rc;
	if ((rc = cf_key_new_pkey(cls, pkey, out)) != 0)
		return rc;
	if (type != CK_UNAVAILABLE_INFORMATION && type != (*out)->type) {
		cf_key_free(*out);
		*out = NULL;
		return COFFER_E_KEY_TYPE;
	}
	return 0;
}

int
cf_key_import_public(const uint8_t *in, size_t in_len, struct cf_key **out)
{
	EVP_PKEY *pkey = NULL;
	int rc;

	*out = NULL;
	if (in == NULL)
		return COFFER_E_INVAL;
	if (in_len > 10 && memcmp(in, "-----BEGIN", 10) == 0)
		rc = decode_pkey("PEM", "SubjectPublicKeyInfo",
		    OSSL_KEYMGMT_SELECT_PUBLIC_KEY, in, in_len, &pkey);
	else
		rc = decode_pkey("DER", "SubjectPublicKeyInfo",
		    OSSL_KEYMGMT_SELECT_PUBLIC_KEY, in, in_len, &pkey);
	if (rc != 0)
		return rc;
	return cf_key_new_pkey(CKO_PUBLIC_KEY, pkey, out);
}

static int
bn_attr(const struct cf_key *k, const char *name, uint8_t *out,
    size_t *out_len)
{
	BIGNUM *bn = NULL;
	uint8_t *tmp = NULL;
	int n, rc;

	if (EVP_PKEY_get_bn_param(k->pkey, name, &bn) != 1) {
		ERR_clear_error();
		return COFFER_E_CRYPTO;
	}
	n = BN_num_bytes(bn);
	if ((tmp = OPENSSL_malloc(n > 0 ? (size_t)n : 1)) == NULL) {
		BN_free(bn);
		return COFFER_E_NOMEM;
	}
	BN_bn2bin(bn, tmp);
	rc = cf_out_copy(tmp, (size_t)n, out, out_len);
	OPENSSL_free(tmp);
	BN_free(bn);
	return rc;
}

static int
ulong_attr(CK_ULONG v, uint8_t *out, size_t *out_len)
{
	return cf_out_copy((const uint8_t *)&v, sizeof(v), out, out_len);
}

/* DER OCTET STRING around the public point (PKCS#11 CKA_EC_POINT). */
static int
ec_point_attr(const struct cf_key *k, uint8_t *out, size_t *out_len)
{
	uint8_t pt[200], der[210];
	size_t n = 0, h = 0;
	const char *pname = OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY;

	if (k->type == CKK_EC_EDWARDS)
		pname = OSSL_PKEY_PARAM_PUB_KEY;
	if (EVP_PKEY_get_octet_string_param(k->pkey, pname, pt, sizeof(pt),
	    &n) != 1) {
		ERR_clear_error();
		return COFFER_E_CRYPTO;
	}
	der[h++] = 0x04;
	if (n >= 128)
		der[h++] = 0x81;
	der[h++] = (uint8_t)n;
	memcpy(der + h, pt, n);
	return cf_out_copy(der, h + n, out, out_len);
}

static int
check_value(const struct cf_key *k, uint8_t *out, size_t *out_len)
{
	static const uint8_t zero[16];
	uint8_t blk[32];
	EVP_CIPHER_CTX *c = NULL;
	EVP_CIPHER *ciph = NULL;
	unsigned int mdlen = 0;
	int n = 0, rc = COFFER_E_CRYPTO;

	if (k->type == CKK_AES) {
		const char *nm = k->secret_len == 16 ? "AES-128-ECB" :
		    k->secret_len == 24 ? "AES-192-ECB" : "AES-256-ECB";

		if ((ciph = EVP_CIPHER_fetch(NULL, nm, NULL)) == NULL ||
		    (c = EVP_CIPHER_CTX_new()) == NULL ||
		    EVP_EncryptInit_ex2(c, ciph, k->secret, NULL, NULL) != 1 ||
		    EVP_CIPHER_CTX_set_padding(c, 0) != 1 ||
		    EVP_EncryptUpdate(c, blk, &n, zero, 16) != 1 || n != 16)
			goto out;
	} else if (k->type == CKK_GENERIC_SECRET) {
		if (EVP_Digest(k->secret, k->secret_len, blk, &mdlen,
		    EVP_sha1(), NULL) != 1)
			goto out;
	} else {
		return COFFER_E_ATTRIBUTE;
	}
	rc = cf_out_copy(blk, 3, out, out_len);
 out:
	if (rc == COFFER_E_CRYPTO)
		ERR_clear_error();
	OPENSSL_cleanse(blk, sizeof(blk));
	EVP_CIPHER_CTX_free(c);
	EVP_CIPHER_free(ciph);
	return rc;
}

int
cf_key_get_attr(const struct cf_key *k, CK_ATTRIBUTE_TYPE attr, uint8_t *out,
    size_t *out_len)
{
	const struct curve *c;
	char name[64];
	int id;

	switch (attr) {
	case CKA_CLASS:
		return ulong_attr(k->cls, out, out_len);
	case CKA_KEY_TYPE:
		return ulong_attr(k->type, out, out_len);
	case CKA_VALUE:
		if (k->cls == CKO_PUBLIC_KEY)
			return COFFER_E_ATTRIBUTE;
		return COFFER_E_ATTR_SENSITIVE;
	case CKA_PRIVATE_EXPONENT:
	case CKA_PRIME_1:
	case CKA_PRIME_2:
	case CKA_EXPONENT_1:
	case CKA_EXPONENT_2:
	case CKA_COEFFICIENT:
		if (k->type != CKK_RSA || k->cls != CKO_PRIVATE_KEY)
			return COFFER_E_ATTRIBUTE;
		return COFFER_E_ATTR_SENSITIVE;
	case CKA_VALUE_LEN:
		if (k->cls != CKO_SECRET_KEY)
			return COFFER_E_ATTRIBUTE;
		return ulong_attr(k->secret_len, out, out_len);
	case CKA_CHECK_VALUE:
		if (k->cls != CKO_SECRET_KEY)
			return COFFER_E_ATTRIBUTE;
		return check_value(k, out, out_len);
	case CKA_MODULUS:
		if (k->type != CKK_RSA)
			return COFFER_E_ATTRIBUTE;
		return bn_attr(k, OSSL_PKEY_PARAM_RSA_N, out, out_len);
	case CKA_PUBLIC_EXPONENT:
		if (k->type != CKK_RSA)
			return COFFER_E_ATTRIBUTE;
		return bn_attr(k, OSSL_PKEY_PARAM_RSA_E, out, out_len);
	case CKA_MODULUS_BITS:
		if (k->type != CKK_RSA)
			return COFFER_E_ATTRIBUTE;
		return ulong_attr(cf_key_bits(k), out, out_len);
	case CKA_EC_PARAMS:
		if (k->type == CKK_EC) {
			if (cf_ec_group_name(k->pkey, name, sizeof(name)) != 0)
				return COFFER_E_CRYPTO;
			c = curve_by_name(name);
		} else if (k->type == CKK_EC_EDWARDS) {
			id = EVP_PKEY_get_base_id(k->pkey);
			c = curve_by_name(id == EVP_PKEY_ED25519 ? "ED25519" :
			    "ED448");
		} else {
			return COFFER_E_ATTRIBUTE;
		}
		if (c == NULL)
			return COFFER_E_INTERNAL;
		return cf_out_copy(c->der, c->der_len, out, out_len);
	case CKA_EC_POINT:
		if (k->type != CKK_EC && k->type != CKK_EC_EDWARDS)
			return COFFER_E_ATTRIBUTE;
		return ec_point_attr(k, out, out_len);
	case CKA_PUBLIC_KEY_INFO:
		if (k->pkey == NULL)
			return COFFER_E_ATTRIBUTE;
		return spki_out(k, out, out_len);
	default:
		return COFFER_E_ATTRIBUTE;
	}
}
