/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops_wrap.c: keys from keys: wrap/unwrap (RFC 3394, RFC 5649, AES-GCM,
 * RSA-OAEP, RSA PKCS#1 v1.5, RSA-AES) and derive (ECDH with null or
 * ANSI X9.63 KDF, SP 800-108 counter-mode KDF). Key values pass through
 * buffers in the secure heap and are wiped; every unwrap failure is the
 * one code COFFER_E_WRAPPED_KEY.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "coffer/coffer_err.h"
#include "keys_int.h"
#include "mech.h"
#include "ops_int.h"

/* The bytes a wrap carries: raw secret or PKCS#8 DER (secure heap). */
static int
key_bytes(const struct cf_key *k, uint8_t **v, size_t *len)
{
	int rc;

	*v = NULL;
	if (k->cls != CKO_SECRET_KEY && k->cls != CKO_PRIVATE_KEY)
		return COFFER_E_KEY_TYPE;
	if ((rc = cf_key_serialize(k, NULL, len)) != 0)
		return rc;
	if ((*v = OPENSSL_secure_malloc(*len)) == NULL)
		return COFFER_E_NOMEM;
	if ((rc = cf_key_serialize(k, *v, len)) != 0) {
		OPENSSL_secure_clear_free(*v, *len);
		*v = NULL;
	}
	return rc;
}

/* RFC 3394 ("WRAP") or RFC 5649 ("WRAP-PAD") with an AES key. */
static int
aes_kw(const uint8_t *kek, size_t kek_len, const char *mode, int enc,
    const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len)
{
	EVP_CIPHER *c = NULL;
	EVP_CIPHER_CTX *x = NULL;
	char name[32];
	int n = 0, f = 0, rc = enc ? COFFER_E_CRYPTO : COFFER_E_WRAPPED_KEY;

	if (in_len > INT32_MAX)
		return COFFER_E_DATA_LEN;
	cf_aes_name(kek_len, mode, name, sizeof(name));
	if ((c = EVP_CIPHER_fetch(NULL, name, NULL)) == NULL ||
	    (x = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex2(x, c, kek, NULL, enc, NULL) != 1)
		goto out;
	if (EVP_CipherUpdate(x, out, &n, in, (int)in_len) != 1 || n < 0 ||
	    EVP_CipherFinal_ex(x, out + n, &f) != 1)
		goto out;
	*out_len = (size_t)n + (size_t)f;
	rc = 0;
 out:
	ERR_clear_error();
	EVP_CIPHER_CTX_free(x);
	EVP_CIPHER_free(c);
	return rc;
}

static int
wrap_len_ok(CK_MECHANISM_TYPE m, size_t len)
{
	if (m == CKM_AES_KEY_WRAP && (len < 16 || len % 8 != 0))
		return COFFER_E_KEY_SIZE;
	return 0;
}

static int
check_wrap_key(const CK_MECHANISM *m, const struct cf_key *wk, CK_FLAGS f,
    const struct cf_mech_info **mi)
{
	if (m == NULL || wk == NULL)
		return COFFER_E_INVAL;
	if ((*mi = cf_mech_info(m->mechanism)) == NULL ||
	    ((*mi)->flags & f) == 0)
		return COFFER_E_MECHANISM;
	if (cf_check_key(*mi, wk, f == CF_MF_WRAP ? CF_ENCRYPT :
	    CF_DECRYPT) != 0)
		return COFFER_E_WRAPPING_KEY;
	return 0;
}

int
cf_wrap(const CK_MECHANISM *m, const struct cf_key *wk,
    const struct cf_key *key, uint8_t *out, size_t *out_len)
{
	const struct cf_mech_info *mi;
	const cf_rsa_aes_key_wrap_params *ra;
	CK_MECHANISM sub;
	struct cf_key *eph = NULL;
	struct cf_op *op = NULL;
	uint8_t *v = NULL, *buf = NULL;
	size_t vlen = 0, blen = 0, n, k, t;
	int rc;

	if (key == NULL || out_len == NULL)
		return COFFER_E_INVAL;
	if ((rc = check_wrap_key(m, wk, CF_MF_WRAP, &mi)) != 0)
		return rc;
	if ((rc = key_bytes(key, &v, &vlen)) != 0)
		return rc;
	blen = vlen + 2 * cf_key_bits(wk) / 8 + 64;
	if ((buf = OPENSSL_secure_malloc(blen)) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	n = blen;
	switch (m->mechanism) {
	case CKM_AES_KEY_WRAP:
	case CKM_AES_KEY_WRAP_PAD:
	case CKM_AES_KEY_WRAP_KWP:
		if (m->pParameter != NULL || m->ulParameterLen != 0) {
			rc = COFFER_E_MECH_PARAM;
			goto out;
		}
		if ((rc = wrap_len_ok(m->mechanism, vlen)) != 0 ||
		    (rc = aes_kw(wk->secret, wk->secret_len,
		    m->mechanism == CKM_AES_KEY_WRAP ? "WRAP" : "WRAP-PAD", 1,
		    v, vlen, buf, &n)) != 0)
			goto out;
		break;
	case CKM_AES_GCM:
		if ((rc = cf_op_init(m, wk, CF_ENCRYPT, &op)) != 0)
			goto out;
		t = 0;
		if (((const CK_GCM_PARAMS *)m->pParameter)->iv_ptr == NULL) {
			/* generated IV travels in front */
			t = 12;
			if ((rc = cf_op_get_iv(op, buf, &t)) != 0)
				goto out;
		}
		n = blen - t;
		if ((rc = cf_op_update(op, v, vlen, buf + t, &n)) != 0)
			goto out;
		k = blen - t - n;
		if ((rc = cf_op_final(op, buf + t + n, &k)) != 0)
			goto out;
		n = t + n + k;
		break;
	case CKM_RSA_PKCS:
	case CKM_RSA_PKCS_OAEP:
		if (key->cls != CKO_SECRET_KEY) {
			rc = COFFER_E_KEY_TYPE;
			goto out;
		}
		if ((rc = cf_encrypt(m, wk, v, vlen, buf, &n)) != 0)
			goto out;
		break;
	case CKM_RSA_AES_KEY_WRAP:
		if (m->pParameter == NULL ||
		    m->ulParameterLen != sizeof(*ra)) {
			rc = COFFER_E_MECH_PARAM;
			goto out;
		}
		ra = m->pParameter;
		if (ra->pOAEPParams == NULL || (ra->ulAESKeyBits != 128 &&
		    ra->ulAESKeyBits != 192 && ra->ulAESKeyBits != 256)) {
			rc = COFFER_E_MECH_PARAM;
			goto out;
		}
		/* PKCS#11 §2.1.21: OAEP(ephemeral AES) || KWP(eph, key) */
		if ((rc = cf_key_generate_secret(CKK_AES,
		    ra->ulAESKeyBits / 8, &eph)) != 0)
			goto out;
		sub.mechanism = CKM_RSA_PKCS_OAEP;
		sub.pParameter = ra->pOAEPParams;
		sub.ulParameterLen = sizeof(CK_RSA_PKCS_OAEP_PARAMS);
		if ((rc = cf_encrypt(&sub, wk, eph->secret, eph->secret_len,
		    buf, &n)) != 0)
			goto out;
		k = blen - n;
		if ((rc = aes_kw(eph->secret, eph->secret_len, "WRAP-PAD", 1,
		    v, vlen, buf + n, &k)) != 0)
			goto out;
		n += k;
		break;
	default:
		rc = COFFER_E_MECHANISM;
		goto out;
	}
	rc = cf_out_copy(buf, n, out, out_len);
 out:
	ERR_clear_error();
	cf_op_free(op);
	cf_key_free(eph);
	if (v != NULL)
		OPENSSL_secure_clear_free(v, vlen);
	if (buf != NULL)
		OPENSSL_secure_clear_free(buf, blen);
	return rc;
}

int
cf_unwrap(const CK_MECHANISM *m, const struct cf_key *uk, const uint8_t *in,
    size_t in_len, CK_OBJECT_CLASS cls, CK_KEY_TYPE type, struct cf_key **out)
{
	const struct cf_mech_info *mi;
	const cf_rsa_aes_key_wrap_params *ra;
	const CK_GCM_PARAMS *g;
	CK_GCM_PARAMS g2;
	CK_MECHANISM sub;
	struct cf_key *eph = NULL;
	uint8_t *buf = NULL, ek[32];
	size_t blen = 0, n, k, ekl = sizeof(ek);
	int rc;

	*out = NULL;
	if (in == NULL || (cls != CKO_SECRET_KEY && cls != CKO_PRIVATE_KEY))
		return COFFER_E_INVAL;
	if ((rc = check_wrap_key(m, uk, CF_MF_UNWRAP, &mi)) != 0)
		return rc;
	blen = in_len + 64;
	if ((buf = OPENSSL_secure_malloc(blen)) == NULL)
		return COFFER_E_NOMEM;
	n = blen;
	rc = COFFER_E_WRAPPED_KEY;
	switch (m->mechanism) {
	case CKM_AES_KEY_WRAP:
	case CKM_AES_KEY_WRAP_PAD:
	case CKM_AES_KEY_WRAP_KWP:
		if (m->pParameter != NULL || m->ulParameterLen != 0) {
			rc = COFFER_E_MECH_PARAM;
			goto out;
		}
		if (in_len < 16 || in_len % 8 != 0)
			goto out;
		if (aes_kw(uk->secret, uk->secret_len,
		    m->mechanism == CKM_AES_KEY_WRAP ? "WRAP" : "WRAP-PAD", 0,
		    in, in_len, buf, &n) != 0)
			goto out;
		break;
	case CKM_AES_GCM:
		if (m->pParameter == NULL ||
		    m->ulParameterLen != sizeof(CK_GCM_PARAMS)) {
			rc = COFFER_E_MECH_PARAM;
			goto out;
		}
		g = m->pParameter;
		g2 = *g;
		if (g->iv_ptr == NULL) {
			if (in_len < 12)
				goto out;
			g2.iv_ptr = (unsigned char *)(uintptr_t)in;
			g2.iv_len = 12;
			in += 12;
			in_len -= 12;
		}
		sub.mechanism = CKM_AES_GCM;
		sub.pParameter = &g2;
		sub.ulParameterLen = sizeof(g2);
		if ((rc = cf_decrypt(&sub, uk, in, in_len, buf, &n)) != 0) {
			if (rc != COFFER_E_MECH_PARAM)
				rc = COFFER_E_WRAPPED_KEY;
			goto out;
		}
		break;
	case CKM_RSA_PKCS:
	case CKM_RSA_PKCS_OAEP:
		if (cf_decrypt(m, uk, in, in_len, buf, &n) != 0)
			goto out;
		break;
	case CKM_RSA_AES_KEY_WRAP:
		if (m->pParameter == NULL ||
		    m->ulParameterLen != sizeof(*ra)) {
			rc = COFFER_E_MECH_PARAM;
			goto out;
		}
		ra = m->pParameter;
		if (ra->pOAEPParams == NULL) {
			rc = COFFER_E_MECH_PARAM;
			goto out;
		}
		k = cf_rsa_len(uk);
		if (in_len <= k)
			goto out;
		sub.mechanism = CKM_RSA_PKCS_OAEP;
		sub.pParameter = ra->pOAEPParams;
		sub.ulParameterLen = sizeof(CK_RSA_PKCS_OAEP_PARAMS);
		if (cf_decrypt(&sub, uk, in, k, ek, &ekl) != 0 ||
		    ekl != ra->ulAESKeyBits / 8 ||
		    cf_key_deserialize(CKO_SECRET_KEY, CKK_AES, ek, ekl,
		    &eph) != 0 ||
		    aes_kw(eph->secret, eph->secret_len, "WRAP-PAD", 0, in + k,
		    in_len - k, buf, &n) != 0)
			goto out;
		break;
	default:
		rc = COFFER_E_MECHANISM;
		goto out;
	}
	if (cf_key_deserialize(cls, type, buf, n, out) != 0) {
		rc = COFFER_E_WRAPPED_KEY;
		goto out;
	}
	rc = 0;
 out:
	ERR_clear_error();
	OPENSSL_cleanse(ek, sizeof(ek));
	cf_key_free(eph);
	OPENSSL_secure_clear_free(buf, blen);
	return rc;
}

/* ------------------------------------------------------------------ */

/*
 * The peer point: raw (04||X||Y, or compressed) or a DER OCTET STRING
 * around it, as a public key on base's curve. The curve comes from base
 * (EVP_PKEY_copy_parameters shares its group; building the group again
 * from its name took 9 % of a derivation). The point must decode on that
 * curve and not be the point at infinity (EVP_PKEY_public_check_quick).
 * OpenSSL's full check would also multiply it by the group order, a
 * second scalar multiplication as dear as the derivation, that cannot
 * fail here: every EC key is on a curve of keys.c's table
 * (cf_key_new_pkey refuses others), all of cofactor 1, so every point on
 * the curve but infinity has order n. test_mech_wrap
 * (test_curves_cofactor_one) asks Coffer for a key on every curve OpenSSL
 * knows and checks the cofactor of each one it takes.
 */
static int
peer_key(const struct cf_key *base, const uint8_t *pd, size_t pdl,
    EVP_PKEY **peer)
{
	EVP_PKEY_CTX *c = NULL;
	EVP_PKEY *k = NULL;
	size_t fl = cf_ec_scalar_len(base->pkey), hl;
	int rc = COFFER_E_MECH_PARAM;

	*peer = NULL;
	if (pd == NULL || pdl < 3)
		return COFFER_E_MECH_PARAM;
	if (!(pd[0] == 0x04 && pdl == 2 * fl + 1) && pd[0] == 0x04) {
		/* DER: 04 len | 04 81 len */
		hl = (pd[1] & 0x80) ? 2 + (pd[1] & 0x7f) : 2;
		if (hl > 3 || pdl <= hl)
			return COFFER_E_MECH_PARAM;
		pd += hl;
		pdl -= hl;
	}
	if (EVP_PKEY_get_base_id(base->pkey) != EVP_PKEY_EC)
		return COFFER_E_KEY_TYPE;
	if ((k = EVP_PKEY_new()) == NULL ||
	    EVP_PKEY_copy_parameters(k, base->pkey) != 1) {
		rc = COFFER_E_CRYPTO;
		goto out;
	}
	if (EVP_PKEY_set1_encoded_public_key(k, pd, pdl) != 1 ||
	    (c = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL)) == NULL ||
	    EVP_PKEY_public_check_quick(c) != 1)
		goto out;
	*peer = k;
	k = NULL;
	rc = 0;
out:
	ERR_clear_error();
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(k);
	return rc;
}

static int
derive_ecdh(const CK_MECHANISM *m, const struct cf_key *base, CK_KEY_TYPE type,
    size_t len, struct cf_key **out)
{
	const CK_ECDH1_DERIVE_PARAMS *p;
	EVP_PKEY_CTX *c = NULL;
	EVP_PKEY *peer = NULL;
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *kc = NULL;
	OSSL_PARAM prm[4], *pp = prm;
	const char *h = NULL;
	uint8_t *z = NULL, *dk = NULL;
	size_t zl = 0;
	int rc;

	if (m->pParameter == NULL || m->ulParameterLen != sizeof(*p))
		return COFFER_E_MECH_PARAM;
	p = m->pParameter;
	switch (p->kdf) {
	case CKD_NULL:
		if (p->shared_data_len != 0)
			return COFFER_E_MECH_PARAM;
		break;
	case CKD_SHA1_KDF:
		h = "SHA1";
		break;
	case CKD_SHA224_KDF:
		h = "SHA224";
		break;
	case CKD_SHA256_KDF:
		h = "SHA256";
		break;
	case CKD_SHA384_KDF:
		h = "SHA384";
		break;
	case CKD_SHA512_KDF:
		h = "SHA512";
		break;
	default:
		return COFFER_E_MECH_PARAM;
	}
	if (p->shared_data_len > 0 && p->shared_data == NULL)
		return COFFER_E_MECH_PARAM;
	if ((rc = peer_key(base, p->public_data, p->public_data_len,
	    &peer)) != 0)
		return rc;
	rc = COFFER_E_CRYPTO;
	if ((c = EVP_PKEY_CTX_new_from_pkey(NULL, base->pkey, NULL)) == NULL ||
	    EVP_PKEY_derive_init(c) != 1)
		goto out;
	/* peer_key checked the point (no order check: see there) */
	if (EVP_PKEY_derive_set_peer_ex(c, peer, 0) != 1) {
		rc = COFFER_E_MECH_PARAM;
		goto out;
	}
	if (EVP_PKEY_derive(c, NULL, &zl) != 1 ||
	    (z = OPENSSL_secure_malloc(zl)) == NULL ||
	    EVP_PKEY_derive(c, z, &zl) != 1)
		goto out;
	if (h == NULL) {
		if (len > zl) {
			rc = COFFER_E_KEY_SIZE;
			goto out;
		}
		/* a shorter key drops the leading bytes of Z (PKCS#11:
		 * "truncation removes bytes from the leading end"), as
		 * SoftHSMv2 does */
		rc = cf_key_deserialize(CKO_SECRET_KEY, type, z + (zl - len),
		    len, out);
		goto out;
	}
	/* ANSI X9.63 KDF (SEC 1 §3.6.1) */
	if ((dk = OPENSSL_secure_malloc(len ? len : 1)) == NULL)
		goto out;
	*pp++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)(uintptr_t)h, 0);
	*pp++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z, zl);
	if (p->shared_data_len > 0)
		*pp++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
		    p->shared_data, p->shared_data_len);
	*pp = OSSL_PARAM_construct_end();
	if (len == 0 || len > CF_GENERIC_MAX_LEN) {
		rc = COFFER_E_KEY_SIZE;
		goto out;
	}
	if ((kdf = EVP_KDF_fetch(NULL, "X963KDF", NULL)) == NULL ||
	    (kc = EVP_KDF_CTX_new(kdf)) == NULL ||
	    EVP_KDF_derive(kc, dk, len, prm) != 1)
		goto out;
	rc = cf_key_deserialize(CKO_SECRET_KEY, type, dk, len, out);
 out:
	ERR_clear_error();
	EVP_KDF_CTX_free(kc);
	EVP_KDF_free(kdf);
	if (z != NULL)
		OPENSSL_secure_clear_free(z, zl);
	if (dk != NULL)
		OPENSSL_secure_clear_free(dk, len ? len : 1);
	EVP_PKEY_free(peer);
	EVP_PKEY_CTX_free(c);
	return rc;
}

static void
put_int(uint8_t *b, uint64_t v, unsigned bits, int little)
{
	unsigned i, n = bits / 8;

	for (i = 0; i < n; i++) {
		uint8_t byte = (uint8_t)(v >> (8 * i));

		if (little)
			b[i] = byte;
		else
			b[n - 1 - i] = byte;
	}
}

/*
 * SP 800-108 §5.1 counter mode: K(i) = PRF(KI, data params with [i]
 * and [L] in place), result = K(1) || ... truncated to L bits. The
 * PKCS#11 3.0 §2.42 data-parameter list gives the layout.
 */
static int
derive_kbkdf(const CK_MECHANISM *m, const struct cf_key *base,
    CK_KEY_TYPE type, size_t len, struct cf_key **out)
{
	const CK_SP800_108_KDF_PARAMS *p;
	const CK_SP800_108_COUNTER_FORMAT *cf = NULL;
	const CK_SP800_108_DKM_LENGTH_FORMAT *df;
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *mc = NULL, *mi = NULL;
	OSSL_PARAM prm[2];
	uint8_t blk[EVP_MAX_MD_SIZE], num[8], *dk = NULL;
	char name[32];
	size_t h, nblk, i, j, done = 0, got;
	uint64_t dkm;
	int rc = COFFER_E_MECH_PARAM, ncounters = 0;

	if (m->pParameter == NULL || m->ulParameterLen != sizeof(*p))
		return COFFER_E_MECH_PARAM;
	p = m->pParameter;
	if (p->ulAdditionalDerivedKeys != 0 || p->ulNumberOfDataParams == 0 ||
	    p->pDataParams == NULL)
		return COFFER_E_MECH_PARAM;
	if (len == 0 || len > CF_GENERIC_MAX_LEN)
		return COFFER_E_KEY_SIZE;
	if (p->prfType == CKM_AES_CMAC) {
		if (base->type != CKK_AES)
			return COFFER_E_KEY_TYPE;
		cf_aes_name(base->secret_len, "CBC", name, sizeof(name));
		prm[0] = OSSL_PARAM_construct_utf8_string(
		    OSSL_MAC_PARAM_CIPHER, name, 0);
		h = 16;
		mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
	} else {
		const char *hn = NULL;

		switch (p->prfType) {
		case CKM_SHA_1_HMAC:
			hn = "SHA1";
			break;
		case CKM_SHA224_HMAC:
			hn = "SHA224";
			break;
		case CKM_SHA256_HMAC:
			hn = "SHA256";
			break;
		case CKM_SHA384_HMAC:
			hn = "SHA384";
			break;
		case CKM_SHA512_HMAC:
			hn = "SHA512";
			break;
		default:
			return COFFER_E_MECH_PARAM;
		}
		if (base->type != CKK_GENERIC_SECRET && base->type != CKK_AES)
			return COFFER_E_KEY_TYPE;
		snprintf(name, sizeof(name), "%s", hn);
		prm[0] = OSSL_PARAM_construct_utf8_string(
		    OSSL_MAC_PARAM_DIGEST, name, 0);
		h = cf_hash_len(hn);
		mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	}
	prm[1] = OSSL_PARAM_construct_end();
	nblk = (len + h - 1) / h;
	/* Validate the data params before any PRF call. */
	for (j = 0; j < p->ulNumberOfDataParams; j++) {
		const CK_PRF_DATA_PARAM *d = &p->pDataParams[j];

		switch (d->type) {
		case CK_SP800_108_ITERATION_VARIABLE:
			if (d->ulValueLen != sizeof(*cf) || d->pValue == NULL)
				goto out;
			cf = d->pValue;
			if (cf->ulWidthInBits == 0 || cf->ulWidthInBits > 32 ||
			    cf->ulWidthInBits % 8 != 0)
				goto out;
			/* the counter must not wrap (§5.1, n <= 2^r - 1) */
			if (cf->ulWidthInBits < 32 && nblk >
			    ((size_t)1 << cf->ulWidthInBits) - 1)
				goto out;
			ncounters++;
			break;
		case CK_SP800_108_DKM_LENGTH:
			if (d->ulValueLen != sizeof(*df) || d->pValue == NULL)
				goto out;
			df = d->pValue;
			if (df->ulWidthInBits == 0 || df->ulWidthInBits > 64 ||
			    df->ulWidthInBits % 8 != 0 ||
			    (df->dkmLengthMethod !=
			    CK_SP800_108_DKM_LENGTH_SUM_OF_KEYS &&
			    df->dkmLengthMethod !=
			    CK_SP800_108_DKM_LENGTH_SUM_OF_SEGMENTS))
				goto out;
			break;
		case CK_SP800_108_BYTE_ARRAY:
			if (d->ulValueLen > 0 && d->pValue == NULL)
				goto out;
			break;
		default:
			/* OPTIONAL_COUNTER is for feedback/pipeline modes */
			goto out;
		}
	}
	if (ncounters != 1)
		goto out;
	rc = COFFER_E_CRYPTO;
	if ((dk = OPENSSL_secure_malloc(nblk * h)) == NULL)
		goto out;
	if (mac == NULL || (mc = EVP_MAC_CTX_new(mac)) == NULL ||
	    EVP_MAC_init(mc, base->secret, base->secret_len, prm) != 1)
		goto out;
	for (i = 1; i <= nblk; i++) {
		if ((mi = EVP_MAC_CTX_dup(mc)) == NULL)
			goto out;
		for (j = 0; j < p->ulNumberOfDataParams; j++) {
			const CK_PRF_DATA_PARAM *d = &p->pDataParams[j];
			const uint8_t *dp = d->pValue;
			size_t dl = d->ulValueLen;

			if (d->type == CK_SP800_108_ITERATION_VARIABLE) {
				cf = d->pValue;
				put_int(num, i, (unsigned)cf->ulWidthInBits,
				    cf->bLittleEndian);
				dp = num;
				dl = cf->ulWidthInBits / 8;
			} else if (d->type == CK_SP800_108_DKM_LENGTH) {
				df = d->pValue;
				dkm = df->dkmLengthMethod ==
				    CK_SP800_108_DKM_LENGTH_SUM_OF_KEYS ?
				    (uint64_t)len * 8 : (uint64_t)nblk * h * 8;
				put_int(num, dkm, (unsigned)df->ulWidthInBits,
				    df->bLittleEndian);
				dp = num;
				dl = df->ulWidthInBits / 8;
			}
			if (dl > 0 && EVP_MAC_update(mi, dp, dl) != 1)
				goto out;
		}
		if (EVP_MAC_final(mi, blk, &got, sizeof(blk)) != 1 || got != h)
			goto out;
		memcpy(dk + done, blk, h);
		done += h;
		EVP_MAC_CTX_free(mi);
		mi = NULL;
	}
	rc = cf_key_deserialize(CKO_SECRET_KEY, type, dk, len, out);
 out:
	ERR_clear_error();
	OPENSSL_cleanse(blk, sizeof(blk));
	EVP_MAC_CTX_free(mi);
	EVP_MAC_CTX_free(mc);
	EVP_MAC_free(mac);
	if (dk != NULL)
		OPENSSL_secure_clear_free(dk, nblk * h);
	return rc;
}

int
cf_derive(const CK_MECHANISM *m, const struct cf_key *base, CK_KEY_TYPE type,
    size_t len, struct cf_key **out)
{
	*out = NULL;
	if (m == NULL || base == NULL)
		return COFFER_E_INVAL;
	if (type != CKK_AES && type != CKK_GENERIC_SECRET)
		return type == CKK_DES3 || type == CKK_DES ||
		    type == CKK_DES2 ? COFFER_E_MECHANISM : COFFER_E_KEY_TYPE;
	switch (m->mechanism) {
	case CKM_ECDH1_DERIVE:
		if (base->type != CKK_EC || base->cls != CKO_PRIVATE_KEY)
			return COFFER_E_KEY_TYPE;
		return derive_ecdh(m, base, type, len, out);
	case CKM_SP800_108_COUNTER_KDF:
		if (base->cls != CKO_SECRET_KEY)
			return COFFER_E_KEY_TYPE;
		return derive_kbkdf(m, base, type, len, out);
	default:
		return COFFER_E_MECHANISM;
	}
}
