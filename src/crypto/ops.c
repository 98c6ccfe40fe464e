/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops.c: streaming encrypt/decrypt/sign/verify/digest by PKCS#11 mechanism
 * (mech.h). Guarantees: no unauthenticated GCM plaintext is released
 * before the tag is checked; every secret-dependent decryption failure
 * gives one error code (COFFER_E_ENCRYPTED_DATA); MACs compare in constant
 * time; an op that failed cannot be continued; all state is wiped on free.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "coffer/coffer_err.h"
#include "keys_int.h"
#include "mech.h"
#include "ops_int.h"

enum kind {
	K_CIPHER = 1,	/* AES ECB/CBC/CBC_PAD/CTR */
	K_GCM,
	K_RSA_CRYPT,	/* RSA PKCS#1 v1.5, OAEP, raw: single-part */
	K_HASH_SIGN,	/* hash-and-sign RSA/PSS/ECDSA: streaming */
	K_RAW_SIGN,	/* RSA_PKCS/PSS/X_509, ECDSA, EdDSA: single-part */
	K_MAC,		/* HMAC, CMAC */
	K_DIGEST,
};

#define EDDSA_MAX_MSG	((size_t)1 << 30)
#define GCM_MAX_IV	128

struct cf_op {
	enum kind		 kind;
	enum cf_purpose		 purpose;
	CK_MECHANISM_TYPE	 mech;
	const struct cf_key	*key;
	int			 dead;		/* error or finished */
	/* AES */
	EVP_CIPHER_CTX		*cctx;
	size_t			 held;		/* bytes buffered inside EVP */
	int			 pad;
	uint8_t			 iv[GCM_MAX_IV];
	size_t			 iv_len;
	int			 ctr_limited;
	uint64_t		 ctr_bytes_left;
	size_t			 tag_len;
	uint8_t			 tail[16];	/* GCM decrypt: last bytes seen */
	size_t			 tail_len;
	/* RSA and raw input */
	struct cf_sbuf		 in;
	size_t			 max_in;
	int			 padding;
	char			 md[16];	/* hash name, "" for none */
	char			 mgf1[16];
	int			 saltlen;
	uint8_t			*label;
	size_t			 label_len;
	EVP_MD_CTX		*mctx;
	EVP_MAC_CTX		*mac;
	size_t			 mac_len;
	/* the final output, computed once, handed out when it fits */
	struct cf_sbuf		 pend;
	int			 pend_ready;
};

const char *
cf_hash_name(CK_MECHANISM_TYPE m)
{
	switch (m) {
	case CKM_SHA_1:
		return "SHA1";
	case CKM_SHA224:
		return "SHA224";
	case CKM_SHA256:
		return "SHA256";
	case CKM_SHA384:
		return "SHA384";
	case CKM_SHA512:
		return "SHA512";
	case CKM_SHA3_224:
		return "SHA3-224";
	case CKM_SHA3_256:
		return "SHA3-256";
	case CKM_SHA3_384:
		return "SHA3-384";
	case CKM_SHA3_512:
		return "SHA3-512";
	default:
		return NULL;
	}
}

const char *
cf_mgf_name(CK_ULONG mgf)
{
	switch (mgf) {
	case CKG_MGF1_SHA1:
		return "SHA1";
	case CKG_MGF1_SHA224:
		return "SHA224";
	case CKG_MGF1_SHA256:
		return "SHA256";
	case CKG_MGF1_SHA384:
		return "SHA384";
	case CKG_MGF1_SHA512:
		return "SHA512";
	default:
		return NULL;
	}
}

/* The hash a hash-and-sign or MAC mechanism uses (CKM_SHA*). */
static CK_MECHANISM_TYPE
mech_hash(CK_MECHANISM_TYPE m)
{
	switch (m) {
	case CKM_SHA1_RSA_PKCS:
	case CKM_SHA1_RSA_PKCS_PSS:
	case CKM_ECDSA_SHA1:
	case CKM_SHA_1_HMAC:
	case CKM_SHA_1_HMAC_GENERAL:
		return CKM_SHA_1;
	case CKM_SHA224_RSA_PKCS:
	case CKM_SHA224_RSA_PKCS_PSS:
	case CKM_ECDSA_SHA224:
	case CKM_SHA224_HMAC:
	case CKM_SHA224_HMAC_GENERAL:
		return CKM_SHA224;
	case CKM_SHA256_RSA_PKCS:
	case CKM_SHA256_RSA_PKCS_PSS:
	case CKM_ECDSA_SHA256:
	case CKM_SHA256_HMAC:
	case CKM_SHA256_HMAC_GENERAL:
		return CKM_SHA256;
	case CKM_SHA384_RSA_PKCS:
	case CKM_SHA384_RSA_PKCS_PSS:
	case CKM_ECDSA_SHA384:
	case CKM_SHA384_HMAC:
	case CKM_SHA384_HMAC_GENERAL:
		return CKM_SHA384;
	case CKM_SHA512_RSA_PKCS:
	case CKM_SHA512_RSA_PKCS_PSS:
	case CKM_ECDSA_SHA512:
	case CKM_SHA512_HMAC:
	case CKM_SHA512_HMAC_GENERAL:
		return CKM_SHA512;
	default:
		return CK_UNAVAILABLE_INFORMATION;
	}
}

size_t
cf_hash_len(const char *name)
{
	EVP_MD *md;
	int n;

	if ((md = EVP_MD_fetch(NULL, name, NULL)) == NULL) {
		ERR_clear_error();
		return 0;
	}
	n = EVP_MD_get_size(md);
	EVP_MD_free(md);
	return n > 0 ? (size_t)n : 0;
}

const char *
cf_aes_name(size_t keylen, const char *mode, char *buf, size_t len)
{
	snprintf(buf, len, "AES-%zu-%s", keylen * 8, mode);
	return buf;
}

size_t
cf_rsa_len(const struct cf_key *k)
{
	return ((size_t)EVP_PKEY_get_bits(k->pkey) + 7) / 8;
}

/* Fails unless a PKCS#11 parameter block has exactly the expected size. */
static int
param_is(const CK_MECHANISM *m, size_t size)
{
	if (size == 0)
		return (m->pParameter == NULL || m->ulParameterLen == 0) ? 0 :
		    COFFER_E_MECH_PARAM;
	if (m->pParameter == NULL || m->ulParameterLen != size)
		return COFFER_E_MECH_PARAM;
	return 0;
}

static int
purpose_flag(enum cf_purpose p, CK_FLAGS *f)
{
	switch (p) {
	case CF_ENCRYPT:
		*f = CF_MF_ENCRYPT;
		return 0;
	case CF_DECRYPT:
		*f = CF_MF_DECRYPT;
		return 0;
	case CF_SIGN:
		*f = CF_MF_SIGN;
		return 0;
	case CF_VERIFY:
		*f = CF_MF_VERIFY;
		return 0;
	case CF_DIGEST:
		*f = CF_MF_DIGEST;
		return 0;
	}
	return COFFER_E_INVAL;
}

/* Does the key fit the mechanism and the purpose? */
int
cf_check_key(const struct cf_mech_info *mi, const struct cf_key *k,
    enum cf_purpose p)
{
	if (mi->key_type == CK_UNAVAILABLE_INFORMATION)
		return 0;
	if (k == NULL || k->type != mi->key_type)
		return COFFER_E_KEY_TYPE;
	if (k->type == CKK_AES || k->type == CKK_GENERIC_SECRET)
		return k->cls == CKO_SECRET_KEY ? 0 : COFFER_E_KEY_TYPE;
	/* Private operations need the private key; public ones take either
	 * (an EVP_PKEY private key carries its public half). */
	if ((p == CF_DECRYPT || p == CF_SIGN) && k->cls != CKO_PRIVATE_KEY)
		return COFFER_E_KEY_TYPE;
	if (k->cls != CKO_PRIVATE_KEY && k->cls != CKO_PUBLIC_KEY)
		return COFFER_E_KEY_TYPE;
	return 0;
}

/* ------------------------------------------------------------------ */

static int
init_cipher(struct cf_op *op, const CK_MECHANISM *m)
{
	const CK_AES_CTR_PARAMS *ctr;
	EVP_CIPHER *ciph = NULL;
	const char *mode;
	char name[32];
	unsigned bits;
	uint64_t v;
	size_t i;
	int rc;

	switch (m->mechanism) {
	case CKM_AES_ECB:
		mode = "ECB";
		if ((rc = param_is(m, 0)) != 0)
			return rc;
		break;
	case CKM_AES_CBC:
	case CKM_AES_CBC_PAD:
		mode = "CBC";
		if ((rc = param_is(m, 16)) != 0)
			return rc;
		memcpy(op->iv, m->pParameter, 16);
		op->iv_len = 16;
		op->pad = m->mechanism == CKM_AES_CBC_PAD;
		break;
	case CKM_AES_CTR:
		mode = "CTR";
		if ((rc = param_is(m, sizeof(*ctr))) != 0)
			return rc;
		ctr = m->pParameter;
		if (ctr->counter_bits == 0 || ctr->counter_bits > 128)
			return COFFER_E_MECH_PARAM;
		memcpy(op->iv, ctr->cb, 16);
		op->iv_len = 16;
		/*
		 * PKCS#11 §2.14.4: the counter is the low counter_bits of the
		 * block and must not wrap. OpenSSL increments all 128 bits,
		 * so bound the data to what the counter can count.
		 */
		bits = (unsigned)ctr->counter_bits;
		if (bits < 60) {
			v = 0;
			for (i = 8; i < 16; i++)
				v = (v << 8) | ctr->cb[i];
			v &= ((uint64_t)1 << bits) - 1;
			op->ctr_limited = 1;
			op->ctr_bytes_left = (((uint64_t)1 << bits) - v) * 16;
		}
		break;
	default:
		return COFFER_E_MECHANISM;
	}
	cf_aes_name(op->key->secret_len, mode, name, sizeof(name));
	rc = COFFER_E_CRYPTO;
	if ((ciph = EVP_CIPHER_fetch(NULL, name, NULL)) == NULL ||
	    (op->cctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex2(op->cctx, ciph, op->key->secret,
	    op->iv_len ? op->iv : NULL, op->purpose == CF_ENCRYPT, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(op->cctx, op->pad) != 1)
		goto out;
	rc = 0;
 out:
	EVP_CIPHER_free(ciph);
	return rc;
}

static int
gcm_tag_ok(CK_ULONG bits)
{
	/* SP 800-38D §5.2.1.2 */
	return bits == 32 || bits == 64 || (bits >= 96 && bits <= 128 &&
	    bits % 8 == 0);
}

static int
init_gcm(struct cf_op *op, const CK_MECHANISM *m)
{
	const CK_GCM_PARAMS *g;
	EVP_CIPHER *ciph = NULL;
	OSSL_PARAM prm[2];
	size_t ivlen;
	char name[32];
	int n, rc;

	if ((rc = param_is(m, sizeof(*g))) != 0)
		return rc;
	g = m->pParameter;
	if (!gcm_tag_ok(g->tag_bits) || (g->aad_len > 0 &&
	    g->aad_ptr == NULL) || g->aad_len > INT_MAX)
		return COFFER_E_MECH_PARAM;
	op->tag_len = g->tag_bits / 8;
	if (g->iv_ptr == NULL) {
		/* Node-generated IV (SP 800-38D §8.2.2 RBG construction). */
		if (op->purpose != CF_ENCRYPT ||
		    (g->iv_len != 0 && g->iv_len != 12))
			return COFFER_E_MECH_PARAM;
		op->iv_len = 12;
		if (RAND_bytes(op->iv, 12) != 1)
			return COFFER_E_CRYPTO;
	} else {
		if (g->iv_len == 0 || g->iv_len > GCM_MAX_IV)
			return COFFER_E_MECH_PARAM;
		op->iv_len = g->iv_len;
		memcpy(op->iv, g->iv_ptr, op->iv_len);
	}
	ivlen = op->iv_len;
	prm[0] = OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN,
	    &ivlen);
	prm[1] = OSSL_PARAM_construct_end();
	cf_aes_name(op->key->secret_len, "GCM", name, sizeof(name));
	rc = COFFER_E_CRYPTO;
	if ((ciph = EVP_CIPHER_fetch(NULL, name, NULL)) == NULL ||
	    (op->cctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex2(op->cctx, ciph, NULL, NULL,
	    op->purpose == CF_ENCRYPT, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_params(op->cctx, prm) != 1 ||
	    EVP_CipherInit_ex2(op->cctx, NULL, op->key->secret, op->iv,
	    op->purpose == CF_ENCRYPT, NULL) != 1)
		goto out;
	if (g->aad_len > 0 && EVP_CipherUpdate(op->cctx, NULL, &n, g->aad_ptr,
	    (int)g->aad_len) != 1)
		goto out;
	rc = 0;
 out:
	EVP_CIPHER_free(ciph);
	return rc;
}

static int
init_oaep(struct cf_op *op, const CK_RSA_PKCS_OAEP_PARAMS *o)
{
	const char *h, *g;

	if ((h = cf_hash_name(o->hash_alg)) == NULL ||
	    (g = cf_mgf_name(o->mgf)) == NULL ||
	    o->hash_alg == CKM_SHA3_224 || o->hash_alg == CKM_SHA3_256 ||
	    o->hash_alg == CKM_SHA3_384 || o->hash_alg == CKM_SHA3_512)
		return COFFER_E_MECH_PARAM;
	if (o->source != 0 && o->source != CKZ_DATA_SPECIFIED)
		return COFFER_E_MECH_PARAM;
	if (o->source_data_len > 0) {
		if (o->source_data == NULL || o->source_data_len > 65536)
			return COFFER_E_MECH_PARAM;
		if ((op->label = OPENSSL_memdup(o->source_data,
		    o->source_data_len)) == NULL)
			return COFFER_E_NOMEM;
		op->label_len = o->source_data_len;
	}
	snprintf(op->md, sizeof(op->md), "%s", h);
	snprintf(op->mgf1, sizeof(op->mgf1), "%s", g);
	op->padding = RSA_PKCS1_OAEP_PADDING;
	return 0;
}

static int
init_pss(struct cf_op *op, const CK_MECHANISM *m, CK_MECHANISM_TYPE want)
{
	const CK_RSA_PKCS_PSS_PARAMS *p;
	const char *h, *g;
	size_t hl, k;
	int rc;

	if ((rc = param_is(m, sizeof(*p))) != 0)
		return rc;
	p = m->pParameter;
	if ((h = cf_hash_name(p->hash_alg)) == NULL ||
	    (g = cf_mgf_name(p->mgf)) == NULL ||
	    (want != CK_UNAVAILABLE_INFORMATION && p->hash_alg != want))
		return COFFER_E_MECH_PARAM;
	hl = cf_hash_len(h);
	k = cf_rsa_len(op->key);
	/* RFC 8017 §9.1.1: emLen >= hLen + sLen + 2 */
	if (hl == 0 || p->s_len > k || k < hl + p->s_len + 2)
		return COFFER_E_MECH_PARAM;
	snprintf(op->md, sizeof(op->md), "%s", h);
	snprintf(op->mgf1, sizeof(op->mgf1), "%s", g);
	op->saltlen = (int)p->s_len;
	op->padding = RSA_PKCS1_PSS_PADDING;
	return 0;
}

/* Applies padding, hashes and label to a PKEY ctx set up for the op. */
static int
setup_pctx(struct cf_op *op, EVP_PKEY_CTX *pc)
{
	if (op->key->type != CKK_RSA)
		return 0;
	if (EVP_PKEY_CTX_set_rsa_padding(pc, op->padding) != 1)
		return COFFER_E_CRYPTO;
	if (op->padding == RSA_PKCS1_PSS_PADDING) {
		if ((op->kind == K_RAW_SIGN &&
		    EVP_PKEY_CTX_set_signature_md(pc,
		    EVP_get_digestbyname(op->md)) != 1) ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md_name(pc, op->mgf1, NULL) != 1 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, op->saltlen) != 1)
			return COFFER_E_CRYPTO;
	}
	if (op->padding == RSA_PKCS1_OAEP_PADDING) {
		uint8_t *l = NULL;

		if (EVP_PKEY_CTX_set_rsa_oaep_md_name(pc, op->md, NULL) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md_name(pc, op->mgf1, NULL) != 1)
			return COFFER_E_CRYPTO;
		if (op->label_len > 0) {
			if ((l = OPENSSL_memdup(op->label,
			    op->label_len)) == NULL)
				return COFFER_E_NOMEM;
			/* set0 takes ownership of l */
			if (EVP_PKEY_CTX_set0_rsa_oaep_label(pc, l,
			    (int)op->label_len) != 1) {
				OPENSSL_free(l);
				return COFFER_E_CRYPTO;
			}
		}
	}
	return 0;
}

static int
init_rsa_crypt(struct cf_op *op, const CK_MECHANISM *m)
{
	size_t k = cf_rsa_len(op->key), hl;
	int rc;

	op->kind = K_RSA_CRYPT;
	switch (m->mechanism) {
	case CKM_RSA_PKCS:
		if ((rc = param_is(m, 0)) != 0)
			return rc;
		op->padding = RSA_PKCS1_PADDING;
		op->max_in = op->purpose == CF_ENCRYPT ? k - 11 : k;
		return 0;
	case CKM_RSA_X_509:
		if ((rc = param_is(m, 0)) != 0)
			return rc;
		op->padding = RSA_NO_PADDING;
		op->max_in = k;
		return 0;
	case CKM_RSA_PKCS_OAEP:
		if ((rc = param_is(m, sizeof(CK_RSA_PKCS_OAEP_PARAMS))) != 0)
			return rc;
		if ((rc = init_oaep(op, m->pParameter)) != 0)
			return rc;
		hl = cf_hash_len(op->md);
		if (k < 2 * hl + 2)
			return COFFER_E_KEY_SIZE;
		op->max_in = op->purpose == CF_ENCRYPT ? k - 2 * hl - 2 : k;
		return 0;
	}
	return COFFER_E_MECHANISM;
}

static int
init_sign(struct cf_op *op, const CK_MECHANISM *m)
{
	EVP_PKEY_CTX *pc = NULL;
	CK_MECHANISM_TYPE h;
	int rc;

	op->padding = RSA_PKCS1_PADDING;
	switch (m->mechanism) {
	case CKM_RSA_PKCS:
		op->kind = K_RAW_SIGN;
		op->max_in = cf_rsa_len(op->key) - 11;
		return param_is(m, 0);
	case CKM_RSA_X_509:
		op->kind = K_RAW_SIGN;
		op->padding = RSA_NO_PADDING;
		op->max_in = cf_rsa_len(op->key);
		return param_is(m, 0);
	case CKM_RSA_PKCS_PSS:
		op->kind = K_RAW_SIGN;
		if ((rc = init_pss(op, m, CK_UNAVAILABLE_INFORMATION)) != 0)
			return rc;
		op->max_in = cf_hash_len(op->md);
		return 0;
	case CKM_ECDSA:
		op->kind = K_RAW_SIGN;
		op->max_in = 1024;
		return param_is(m, 0);
	case CKM_EDDSA:
		/* Pure EdDSA only: no CK_EDDSA_PARAMS (prehash/context). */
		op->kind = K_RAW_SIGN;
		op->max_in = EDDSA_MAX_MSG;
		return param_is(m, 0);
	default:
		break;
	}
	h = mech_hash(m->mechanism);
	op->kind = K_HASH_SIGN;
	snprintf(op->md, sizeof(op->md), "%s", cf_hash_name(h));
	switch (m->mechanism) {
	case CKM_SHA1_RSA_PKCS_PSS:
	case CKM_SHA224_RSA_PKCS_PSS:
	case CKM_SHA256_RSA_PKCS_PSS:
	case CKM_SHA384_RSA_PKCS_PSS:
	case CKM_SHA512_RSA_PKCS_PSS:
		if ((rc = init_pss(op, m, h)) != 0)
			return rc;
		break;
	default:
		if ((rc = param_is(m, 0)) != 0)
			return rc;
	}
	if ((op->mctx = EVP_MD_CTX_new()) == NULL)
		return COFFER_E_NOMEM;
	if (op->purpose == CF_SIGN) {
		if (EVP_DigestSignInit_ex(op->mctx, &pc, op->md, NULL, NULL,
		    op->key->pkey, NULL) != 1)
			return COFFER_E_CRYPTO;
	} else if (EVP_DigestVerifyInit_ex(op->mctx, &pc, op->md, NULL, NULL,
	    op->key->pkey, NULL) != 1)
		return COFFER_E_CRYPTO;
	return setup_pctx(op, pc);
}

static int
init_mac(struct cf_op *op, const CK_MECHANISM *m)
{
	EVP_MAC *mac = NULL;
	OSSL_PARAM prm[2];
	char name[32];
	size_t full;
	int general, rc;

	general = m->mechanism == CKM_AES_CMAC_GENERAL ||
	    m->mechanism == CKM_SHA_1_HMAC_GENERAL ||
	    m->mechanism == CKM_SHA224_HMAC_GENERAL ||
	    m->mechanism == CKM_SHA256_HMAC_GENERAL ||
	    m->mechanism == CKM_SHA384_HMAC_GENERAL ||
	    m->mechanism == CKM_SHA512_HMAC_GENERAL;
	op->kind = K_MAC;
	if (m->mechanism == CKM_AES_CMAC ||
	    m->mechanism == CKM_AES_CMAC_GENERAL) {
		full = 16;
		cf_aes_name(op->key->secret_len, "CBC", name, sizeof(name));
		prm[0] = OSSL_PARAM_construct_utf8_string(
		    OSSL_MAC_PARAM_CIPHER, name, 0);
		mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
	} else {
		snprintf(op->md, sizeof(op->md), "%s",
		    cf_hash_name(mech_hash(m->mechanism)));
		full = cf_hash_len(op->md);
		prm[0] = OSSL_PARAM_construct_utf8_string(
		    OSSL_MAC_PARAM_DIGEST, op->md, 0);
		mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	}
	prm[1] = OSSL_PARAM_construct_end();
	op->mac_len = full;
	if (general) {
		CK_ULONG want;

		if ((rc = param_is(m, sizeof(cf_mac_general_params))) != 0)
			goto out;
		want = *(const cf_mac_general_params *)m->pParameter;
		if (want == 0 || want > full) {
			rc = COFFER_E_MECH_PARAM;
			goto out;
		}
		op->mac_len = want;
	} else if ((rc = param_is(m, 0)) != 0)
		goto out;
	rc = COFFER_E_CRYPTO;
	if (mac == NULL || (op->mac = EVP_MAC_CTX_new(mac)) == NULL ||
	    EVP_MAC_init(op->mac, op->key->secret, op->key->secret_len,
	    prm) != 1)
		goto out;
	rc = 0;
 out:
	EVP_MAC_free(mac);
	return rc;
}

int
cf_op_init(const CK_MECHANISM *m, const struct cf_key *key,
    enum cf_purpose purpose, struct cf_op **out)
{
	const struct cf_mech_info *mi;
	struct cf_op *op = NULL;
	CK_FLAGS need;
	int rc;

	*out = NULL;
	if (m == NULL || purpose_flag(purpose, &need) != 0)
		return COFFER_E_INVAL;
	if ((mi = cf_mech_info(m->mechanism)) == NULL ||
	    (mi->flags & need) == 0)
		return COFFER_E_MECHANISM;
	if (purpose != CF_DIGEST && (rc = cf_check_key(mi, key,
	    purpose)) != 0)
		return rc;
	if ((op = OPENSSL_zalloc(sizeof(*op))) == NULL)
		return COFFER_E_NOMEM;
	op->purpose = purpose;
	op->mech = m->mechanism;
	op->key = key;
	switch (m->mechanism) {
	case CKM_AES_ECB:
	case CKM_AES_CBC:
	case CKM_AES_CBC_PAD:
	case CKM_AES_CTR:
		op->kind = K_CIPHER;
		rc = init_cipher(op, m);
		break;
	case CKM_AES_GCM:
		op->kind = K_GCM;
		rc = init_gcm(op, m);
		break;
	default:
		if (purpose == CF_DIGEST) {
			op->kind = K_DIGEST;
			snprintf(op->md, sizeof(op->md), "%s",
			    cf_hash_name(m->mechanism));
			rc = param_is(m, 0);
			if (rc == 0 && ((op->mctx = EVP_MD_CTX_new()) == NULL ||
			    EVP_DigestInit_ex2(op->mctx,
			    EVP_get_digestbyname(op->md), NULL) != 1))
				rc = COFFER_E_CRYPTO;
		} else if (mi->key_type == CKK_GENERIC_SECRET ||
		    m->mechanism == CKM_AES_CMAC ||
		    m->mechanism == CKM_AES_CMAC_GENERAL)
			rc = init_mac(op, m);
		else if (purpose == CF_ENCRYPT || purpose == CF_DECRYPT)
			rc = init_rsa_crypt(op, m);
		else
			rc = init_sign(op, m);
	}
	if (rc != 0) {
		ERR_clear_error();
		cf_op_free(op);
		return rc;
	}
	*out = op;
	return 0;
}

void
cf_op_free(struct cf_op *op)
{
	if (op == NULL)
		return;
	EVP_CIPHER_CTX_free(op->cctx);
	EVP_MD_CTX_free(op->mctx);
	EVP_MAC_CTX_free(op->mac);
	OPENSSL_free(op->label);
	cf_sbuf_free(&op->in);
	cf_sbuf_free(&op->pend);
	OPENSSL_clear_free(op, sizeof(*op));
}

int
cf_op_get_iv(const struct cf_op *op, uint8_t *iv, size_t *iv_len)
{
	if (op->iv_len == 0)
		return COFFER_E_MECHANISM;
	return cf_out_copy(op->iv, op->iv_len, iv, iv_len);
}

/* ------------------------------------------------------------------ */

/* Bytes a cipher update writes for in_len more bytes. */
static size_t
cipher_update_len(const struct cf_op *op, size_t in_len)
{
	size_t total = op->held + in_len;

	if (op->mech == CKM_AES_CTR)
		return in_len;
	if (op->purpose == CF_DECRYPT && op->pad)
		return total == 0 ? 0 : ((total - 1) / 16) * 16;
	return (total / 16) * 16;
}

static int
update_cipher(struct cf_op *op, const uint8_t *in, size_t in_len,
    uint8_t *out, size_t *out_len)
{
	size_t need = cipher_update_len(op, in_len), done = 0;
	int n;

	if (out == NULL) {
		*out_len = need;
		return 0;
	}
	if (*out_len < need) {
		*out_len = need;
		return COFFER_E_BUFFER_TOO_SMALL;
	}
	if (op->ctr_limited) {
		if (in_len > op->ctr_bytes_left)
			return COFFER_E_DATA_LEN;
		op->ctr_bytes_left -= in_len;
	}
	/* EVP takes int lengths: feed in chunks. */
	while (in_len > 0) {
		size_t c = in_len > (1u << 30) ? (1u << 30) : in_len;

		if (EVP_CipherUpdate(op->cctx, out + done, &n, in,
		    (int)c) != 1)
			return COFFER_E_CRYPTO;
		done += (size_t)n;
		in += c;
		in_len -= c;
	}
	if (done != need)
		return COFFER_E_INTERNAL;
	*out_len = done;
	return 0;
}

static int
update_gcm(struct cf_op *op, const uint8_t *in, size_t in_len, uint8_t *out,
    size_t *out_len)
{
	uint8_t tmp[4096];
	size_t avail, c;
	int n;

	if (op->purpose == CF_ENCRYPT) {
		if (out == NULL) {
			*out_len = in_len;
			return 0;
		}
		if (*out_len < in_len) {
			*out_len = in_len;
			return COFFER_E_BUFFER_TOO_SMALL;
		}
		*out_len = 0;
		while (in_len > 0) {
			c = in_len > (1u << 30) ? (1u << 30) : in_len;
			if (EVP_EncryptUpdate(op->cctx, out, &n, in,
			    (int)c) != 1 || (size_t)n != c)
				return COFFER_E_CRYPTO;
			out += c;
			in += c;
			in_len -= c;
			*out_len += c;
		}
		return 0;
	}
	/*
	 * Decrypt: the last tag_len bytes of the stream are the tag, so keep
	 * them back in tail; plaintext is held in op->pend until cf_op_final
	 * has checked the tag (SP 800-38D §7.2 step 8).
	 */
	if (out_len != NULL)
		*out_len = 0;
	if (op->tail_len + in_len <= op->tag_len) {
		/* in may be NULL when in_len is 0 (an empty update) */
		if (in_len > 0)
			memcpy(op->tail + op->tail_len, in, in_len);
		op->tail_len += in_len;
		return 0;
	}
	/* release = bytes of tail||in that are surely ciphertext */
	avail = op->tail_len + in_len - op->tag_len;
	c = avail < op->tail_len ? avail : op->tail_len;
	if (c > 0) {
		if (EVP_DecryptUpdate(op->cctx, tmp, &n, op->tail,
		    (int)c) != 1 || cf_sbuf_put(&op->pend, tmp, (size_t)n) != 0)
			goto fail;
		memmove(op->tail, op->tail + c, op->tail_len - c);
		op->tail_len -= c;
		avail -= c;
	}
	while (avail > 0) {
		c = avail < sizeof(tmp) ? avail : sizeof(tmp);
		if (EVP_DecryptUpdate(op->cctx, tmp, &n, in, (int)c) != 1 ||
		    cf_sbuf_put(&op->pend, tmp, (size_t)n) != 0)
			goto fail;
		in += c;
		in_len -= c;
		avail -= c;
	}
	/* what is left of in, with what is left of tail, is tag_len bytes */
	if (in_len > 0)
		memcpy(op->tail + op->tail_len, in, in_len);
	op->tail_len += in_len;
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return 0;
 fail:
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return COFFER_E_CRYPTO;
}

int
cf_op_update(struct cf_op *op, const uint8_t *in, size_t in_len,
    uint8_t *out, size_t *out_len)
{
	int rc = 0;
	size_t zero = 0;

	if (op == NULL || op->dead)
		return COFFER_E_OP_NOT_INIT;
	if (in == NULL && in_len > 0)
		return COFFER_E_INVAL;
	if (out_len == NULL)
		out_len = &zero;
	switch (op->kind) {
	case K_CIPHER:
		rc = update_cipher(op, in, in_len, out, out_len);
		if (rc == 0 && out != NULL && op->mech != CKM_AES_CTR)
			op->held = (op->held + in_len) - *out_len;
		break;
	case K_GCM:
		rc = update_gcm(op, in, in_len, out, out_len);
		break;
	case K_RSA_CRYPT:
	case K_RAW_SIGN:
		*out_len = 0;
		if (in_len > op->max_in - op->in.len ||
		    op->in.len > op->max_in) {
			rc = COFFER_E_DATA_LEN;
			break;
		}
		rc = cf_sbuf_put(&op->in, in, in_len);
		break;
	case K_HASH_SIGN:
		*out_len = 0;
		if (op->purpose == CF_SIGN)
			rc = EVP_DigestSignUpdate(op->mctx, in, in_len) == 1 ?
			    0 : COFFER_E_CRYPTO;
		else
			rc = EVP_DigestVerifyUpdate(op->mctx, in, in_len) ==
			    1 ? 0 : COFFER_E_CRYPTO;
		break;
	case K_MAC:
		*out_len = 0;
		rc = EVP_MAC_update(op->mac, in, in_len) == 1 ? 0 :
		    COFFER_E_CRYPTO;
		break;
	case K_DIGEST:
		*out_len = 0;
		rc = EVP_DigestUpdate(op->mctx, in, in_len) == 1 ? 0 :
		    COFFER_E_CRYPTO;
		break;
	}
	if (rc != 0 && rc != COFFER_E_BUFFER_TOO_SMALL) {
		ERR_clear_error();
		op->dead = 1;
	}
	return rc;
}

/* ------------------------------------------------------------------ */

/*
 * ECDSA DER <-> r||s (PKCS#11 §2.3.1: r and s, each of the order size).
 *
 * The DER here is OpenSSL's own signature, read on every ECDSA signing;
 * d2i_ECDSA_SIG's template decoder and two BIGNUMs cost ~4,000
 * instructions, this strict reader ~200 (callgrind). It accepts exactly
 * SEQUENCE { INTEGER r, INTEGER s } in minimal DER with nothing after it,
 * r and s positive and at most n bytes; anything else is an error. The
 * unit test checks it against d2i_ECDSA_SIG on OpenSSL's signatures.
 */
static int
der_read_len(const uint8_t **pp, const uint8_t *e, size_t *len)
{
	const uint8_t *p = *pp;

	if (p >= e)
		return -1;
	if (*p < 0x80) {
		*len = *p;
		*pp = p + 1;
		return 0;
	}
	/* one length byte is enough for P-521; it must be needed (>= 128) */
	if (*p != 0x81 || e - p < 2 || p[1] < 0x80)
		return -1;
	*len = p[1];
	*pp = p + 2;
	return 0;
}

static int
der_uint(const uint8_t **pp, const uint8_t *e, size_t n, uint8_t *out)
{
	const uint8_t *p = *pp;
	size_t len, i;

	if (p >= e || *p++ != 0x02 || der_read_len(&p, e, &len) != 0 ||
	    len == 0 || (size_t)(e - p) < len)
		return -1;
	if (p[0] & 0x80)
		return -1;			/* negative */
	if (p[0] == 0 && len > 1) {
		if (!(p[1] & 0x80))
			return -1;		/* not minimal */
		p++;
		len--;
	}
	if (len > n)
		return -1;
	for (i = 0; i < n - len; i++)
		out[i] = 0;
	memcpy(out + (n - len), p, len);
	*pp = p + len;
	return 0;
}

int
cf_ecdsa_der_to_raw(const uint8_t *der, size_t der_len, size_t n,
    uint8_t *raw)
{
	const uint8_t *p = der, *e = der + der_len;
	size_t len;

	if (der == NULL || raw == NULL || n == 0 || der_len < 2 ||
	    *p++ != 0x30 || der_read_len(&p, e, &len) != 0 ||
	    (size_t)(e - p) != len ||
	    der_uint(&p, e, n, raw) != 0 || der_uint(&p, e, n, raw + n) != 0 ||
	    p != e)
		return COFFER_E_CRYPTO;
	return 0;
}

static int
ecdsa_raw_to_der(const uint8_t *raw, size_t n, uint8_t **der, size_t *len)
{
	ECDSA_SIG *s;
	BIGNUM *r, *ss;
	int l;

	*der = NULL;
	if ((s = ECDSA_SIG_new()) == NULL)
		return COFFER_E_NOMEM;
	r = BN_bin2bn(raw, (int)n, NULL);
	ss = BN_bin2bn(raw + n, (int)n, NULL);
	if (r == NULL || ss == NULL || ECDSA_SIG_set0(s, r, ss) != 1) {
		BN_free(r);
		BN_free(ss);
		ECDSA_SIG_free(s);
		return COFFER_E_NOMEM;
	}
	l = i2d_ECDSA_SIG(s, der);
	ECDSA_SIG_free(s);
	if (l <= 0)
		return COFFER_E_CRYPTO;
	*len = (size_t)l;
	return 0;
}

static size_t
sig_len(const struct cf_op *op)
{
	switch (op->key->type) {
	case CKK_RSA:
		return cf_rsa_len(op->key);
	case CKK_EC:
		return 2 * cf_ec_scalar_len(op->key->pkey);
	case CKK_EC_EDWARDS:
		return EVP_PKEY_get_base_id(op->key->pkey) == EVP_PKEY_ED25519 ?
		    64 : 114;
	default:
		return op->mac_len;
	}
}

/* Upper bound of what cf_op_final writes. */
static size_t
final_bound(const struct cf_op *op)
{
	switch (op->kind) {
	case K_CIPHER:
		return op->pad ? 16 : 0;
	case K_GCM:
		return op->purpose == CF_ENCRYPT ? op->tag_len : op->pend.len;
	case K_RSA_CRYPT:
		return cf_rsa_len(op->key);
	case K_DIGEST:
		return cf_hash_len(op->md);
	default:
		return sig_len(op);
	}
}

/* Left-pads the accumulated input to k bytes (raw RSA). */
static int
pad_left(struct cf_op *op, size_t k, uint8_t **buf)
{
	if ((*buf = OPENSSL_zalloc(k)) == NULL)
		return COFFER_E_NOMEM;
	if (op->in.len > 0)
		memcpy(*buf + (k - op->in.len), op->in.p, op->in.len);
	return 0;
}

static int
pkey_op(struct cf_op *op, int which, const uint8_t *in, size_t in_len)
{
	EVP_PKEY_CTX *pc = NULL;
	uint8_t *o = NULL;
	size_t olen = 0;
	int rc, ok = 0;
	/* ECDSA has no per-operation parameters: its prepared contexts are
	 * kept with the key (the context setup is ~7 % of a P-256 sign). */
	bool pooled = which == CF_SIGN && op->key->type == CKK_EC;

	if (pooled) {
		if ((pc = cf_key_sign_ctx_get(op->key)) == NULL)
			return COFFER_E_CRYPTO;
	} else {
		if ((pc = EVP_PKEY_CTX_new_from_pkey(NULL, op->key->pkey,
		    NULL)) == NULL)
			return COFFER_E_NOMEM;
		ok = which == CF_ENCRYPT ? EVP_PKEY_encrypt_init(pc) :
		    which == CF_DECRYPT ? EVP_PKEY_decrypt_init(pc) :
		    EVP_PKEY_sign_init(pc);
		rc = COFFER_E_CRYPTO;
		if (ok != 1 || (rc = setup_pctx(op, pc)) != 0)
			goto out;
	}
	olen = cf_rsa_len(op->key) + 256;
	if ((o = OPENSSL_malloc(olen)) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	if (which == CF_ENCRYPT)
		ok = EVP_PKEY_encrypt(pc, o, &olen, in, in_len);
	else if (which == CF_DECRYPT)
		ok = EVP_PKEY_decrypt(pc, o, &olen, in, in_len);
	else
		ok = EVP_PKEY_sign(pc, o, &olen, in, in_len);
	if (ok != 1) {
		/* One code for all decryption failures: no oracle. */
		rc = which == CF_DECRYPT ? COFFER_E_ENCRYPTED_DATA :
		    op->padding == RSA_NO_PADDING ? COFFER_E_DATA_INVALID :
		    COFFER_E_CRYPTO;
		goto out;
	}
	if (op->key->type == CKK_EC) {
		size_t n = cf_ec_scalar_len(op->key->pkey);
		uint8_t raw[2 * 66];

		if ((rc = cf_ecdsa_der_to_raw(o, olen, n, raw)) != 0)
			goto out;
		rc = cf_sbuf_put(&op->pend, raw, 2 * n);
	} else
		rc = cf_sbuf_put(&op->pend, o, olen);
 out:
	OPENSSL_clear_free(o, cf_rsa_len(op->key) + 256);
	if (pooled && ok == 1)
		cf_key_sign_ctx_put(op->key, pc);
	else
		EVP_PKEY_CTX_free(pc);
	return rc;
}

static int
compute_final(struct cf_op *op)
{
	uint8_t buf[256], *p = NULL;
	size_t len = 0, k;
	unsigned int ul = 0;
	int n = 0, rc = COFFER_E_CRYPTO;

	switch (op->kind) {
	case K_CIPHER:
		if (op->purpose == CF_DECRYPT && op->pad && op->held != 16)
			return COFFER_E_DATA_LEN;
		if (!op->pad && op->held != 0)
			return COFFER_E_DATA_LEN;
		if (op->purpose == CF_DECRYPT) {
			if (EVP_DecryptFinal_ex(op->cctx, buf, &n) != 1)
				return COFFER_E_ENCRYPTED_DATA;
		} else if (EVP_EncryptFinal_ex(op->cctx, buf, &n) != 1)
			return COFFER_E_CRYPTO;
		rc = cf_sbuf_put(&op->pend, buf, (size_t)n);
		break;
	case K_GCM:
		if (op->purpose == CF_ENCRYPT) {
			OSSL_PARAM prm[2];

			prm[0] = OSSL_PARAM_construct_octet_string(
			    OSSL_CIPHER_PARAM_AEAD_TAG, buf, op->tag_len);
			prm[1] = OSSL_PARAM_construct_end();
			if (EVP_EncryptFinal_ex(op->cctx, buf + 32, &n) != 1 ||
			    EVP_CIPHER_CTX_get_params(op->cctx, prm) != 1)
				return COFFER_E_CRYPTO;
			rc = cf_sbuf_put(&op->pend, buf, op->tag_len);
		} else {
			OSSL_PARAM prm[2];

			if (op->tail_len != op->tag_len)
				return COFFER_E_DATA_LEN;
			prm[0] = OSSL_PARAM_construct_octet_string(
			    OSSL_CIPHER_PARAM_AEAD_TAG, op->tail, op->tag_len);
			prm[1] = OSSL_PARAM_construct_end();
			if (EVP_CIPHER_CTX_set_params(op->cctx, prm) != 1)
				return COFFER_E_CRYPTO;
			if (EVP_DecryptFinal_ex(op->cctx, buf, &n) != 1) {
				/* never release unauthenticated plaintext */
				cf_sbuf_free(&op->pend);
				return COFFER_E_ENCRYPTED_DATA;
			}
			rc = 0;
		}
		break;
	case K_RSA_CRYPT:
		k = cf_rsa_len(op->key);
		if (op->purpose == CF_DECRYPT && op->in.len != k)
			return COFFER_E_DATA_LEN;
		if (op->padding == RSA_NO_PADDING) {
			if ((rc = pad_left(op, k, &p)) != 0)
				return rc;
			rc = pkey_op(op, op->purpose, p, k);
			OPENSSL_clear_free(p, k);
		} else
			rc = pkey_op(op, op->purpose, op->in.p, op->in.len);
		break;
	case K_RAW_SIGN:
		if (op->key->type == CKK_EC_EDWARDS) {
			EVP_MD_CTX *m = EVP_MD_CTX_new();

			len = sizeof(buf);
			if (m != NULL && EVP_DigestSignInit_ex(m, NULL, NULL,
			    NULL, NULL, op->key->pkey, NULL) == 1 &&
			    EVP_DigestSign(m, buf, &len, op->in.p ? op->in.p :
			    (const uint8_t *)"", op->in.len) == 1)
				rc = cf_sbuf_put(&op->pend, buf, len);
			EVP_MD_CTX_free(m);
			break;
		}
		if (op->padding == RSA_PKCS1_PSS_PADDING &&
		    op->in.len != op->max_in)
			return COFFER_E_DATA_LEN;
		/* Raw PKCS#1 v1.5 of nothing: OpenSSL signs it but never
		 * verifies it, so neither side accepts it. */
		if (op->key->type == CKK_RSA &&
		    op->padding == RSA_PKCS1_PADDING && op->in.len == 0)
			return COFFER_E_DATA_LEN;
		if (op->padding == RSA_NO_PADDING) {
			k = cf_rsa_len(op->key);
			if ((rc = pad_left(op, k, &p)) != 0)
				return rc;
			rc = pkey_op(op, CF_SIGN, p, k);
			OPENSSL_clear_free(p, k);
		} else
			rc = pkey_op(op, CF_SIGN, op->in.p ? op->in.p :
			    (const uint8_t *)"", op->in.len);
		break;
	case K_HASH_SIGN:
		len = 0;
		if (EVP_DigestSignFinal(op->mctx, NULL, &len) != 1 ||
		    (p = OPENSSL_malloc(len)) == NULL)
			return COFFER_E_CRYPTO;
		if (EVP_DigestSignFinal(op->mctx, p, &len) != 1) {
			OPENSSL_free(p);
			return COFFER_E_CRYPTO;
		}
		if (op->key->type == CKK_EC) {
			size_t sn = cf_ec_scalar_len(op->key->pkey);

			if ((rc = cf_ecdsa_der_to_raw(p, len, sn, buf)) == 0)
				rc = cf_sbuf_put(&op->pend, buf, 2 * sn);
		} else
			rc = cf_sbuf_put(&op->pend, p, len);
		OPENSSL_free(p);
		break;
	case K_MAC:
		if (EVP_MAC_final(op->mac, buf, &len, sizeof(buf)) != 1)
			return COFFER_E_CRYPTO;
		rc = cf_sbuf_put(&op->pend, buf, op->mac_len);
		break;
	case K_DIGEST:
		if (EVP_DigestFinal_ex(op->mctx, buf, &ul) != 1)
			return COFFER_E_CRYPTO;
		rc = cf_sbuf_put(&op->pend, buf, ul);
		break;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

int
cf_op_final(struct cf_op *op, uint8_t *out, size_t *out_len)
{
	int rc;

	if (op == NULL || op->dead)
		return COFFER_E_OP_NOT_INIT;
	if (op->purpose == CF_VERIFY)
		return COFFER_E_INVAL;
	if (out == NULL && !op->pend_ready) {
		*out_len = final_bound(op);
		return 0;
	}
	if (!op->pend_ready) {
		if ((rc = compute_final(op)) != 0) {
			ERR_clear_error();
			op->dead = 1;
			return rc;
		}
		op->pend_ready = 1;
	}
	if ((rc = cf_out_copy(op->pend.p, op->pend.len, out, out_len)) != 0 ||
	    out == NULL)
		return rc;
	op->dead = 1;
	cf_sbuf_free(&op->pend);
	return 0;
}

int
cf_op_verify_final(struct cf_op *op, const uint8_t *sig, size_t slen)
{
	EVP_PKEY_CTX *pc = NULL;
	EVP_MD_CTX *m = NULL;
	uint8_t *der = NULL, *p = NULL, *rec = NULL;
	size_t dlen = 0, k, rlen;
	int rc = COFFER_E_SIGNATURE;

	if (op == NULL || op->dead)
		return COFFER_E_OP_NOT_INIT;
	if (op->purpose != CF_VERIFY)
		return COFFER_E_INVAL;
	op->dead = 1;
	if (sig == NULL || slen != sig_len(op))
		goto out;
	if (op->kind == K_MAC) {
		if ((rc = compute_final(op)) != 0)
			goto out;
		rc = CRYPTO_memcmp(op->pend.p, sig, slen) == 0 ? 0 :
		    COFFER_E_SIGNATURE;
		goto out;
	}
	if (op->key->type == CKK_EC) {
		if ((rc = ecdsa_raw_to_der(sig, slen / 2, &der, &dlen)) != 0)
			goto out;
		sig = der;
		slen = dlen;
		rc = COFFER_E_SIGNATURE;
	}
	if (op->kind == K_HASH_SIGN) {
		if (EVP_DigestVerifyFinal(op->mctx, sig, slen) == 1)
			rc = 0;
		goto out;
	}
	/* K_RAW_SIGN */
	if (op->key->type == CKK_EC_EDWARDS) {
		if ((m = EVP_MD_CTX_new()) != NULL &&
		    EVP_DigestVerifyInit_ex(m, NULL, NULL, NULL, NULL,
		    op->key->pkey, NULL) == 1 &&
		    EVP_DigestVerify(m, sig, slen, op->in.p ? op->in.p :
		    (const uint8_t *)"", op->in.len) == 1)
			rc = 0;
		goto out;
	}
	if (op->padding == RSA_PKCS1_PSS_PADDING && op->in.len != op->max_in) {
		rc = COFFER_E_DATA_LEN;
		goto out;
	}
	if ((pc = EVP_PKEY_CTX_new_from_pkey(NULL, op->key->pkey,
	    NULL)) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	if (op->padding == RSA_NO_PADDING) {
		/* Raw RSA: recover and compare with the zero-padded input. */
		k = cf_rsa_len(op->key);
		rlen = k;
		if (pad_left(op, k, &p) != 0 || (rec = OPENSSL_malloc(k)) ==
		    NULL || EVP_PKEY_verify_recover_init(pc) != 1 ||
		    setup_pctx(op, pc) != 0 ||
		    EVP_PKEY_verify_recover(pc, rec, &rlen, sig, slen) != 1)
			goto out;
		if (rlen == k && CRYPTO_memcmp(rec, p, k) == 0)
			rc = 0;
		goto out;
	}
	if (op->key->type == CKK_RSA && op->padding == RSA_PKCS1_PADDING &&
	    op->in.len == 0) {
		rc = COFFER_E_DATA_LEN;		/* as when signing */
		goto out;
	}
	if (EVP_PKEY_verify_init(pc) != 1 || setup_pctx(op, pc) != 0)
		goto out;
	if (EVP_PKEY_verify(pc, sig, slen, op->in.p ? op->in.p :
	    (const uint8_t *)"", op->in.len) == 1)
		rc = 0;
 out:
	ERR_clear_error();
	if (p != NULL)
		OPENSSL_clear_free(p, cf_rsa_len(op->key));
	if (rec != NULL)
		OPENSSL_clear_free(rec, cf_rsa_len(op->key));
	OPENSSL_free(der);
	EVP_MD_CTX_free(m);
	EVP_PKEY_CTX_free(pc);
	return rc;
}

/* ------------------------------------------------------------------ */

/* init, update, final into a buffer of the right size. */
static int
one_shot(const CK_MECHANISM *m, const struct cf_key *key,
    enum cf_purpose purpose, const uint8_t *in, size_t in_len,
    uint8_t *out, size_t *out_len)
{
	struct cf_op *op = NULL;
	struct cf_sbuf acc = { 0 };
	uint8_t *tmp = NULL;
	size_t n, tmp_len = 0;
	int rc;

	if (out_len == NULL)
		return COFFER_E_INVAL;
	if ((rc = cf_op_init(m, key, purpose, &op)) != 0)
		return rc;
	if (out == NULL) {
		/* Length query: an upper bound, nothing computed. */
		switch (op->kind) {
		case K_CIPHER:
			*out_len = in_len + (op->pad ? 16 : 0);
			break;
		case K_GCM:
			*out_len = in_len + (purpose == CF_ENCRYPT ?
			    op->tag_len : 0);
			break;
		default:
			*out_len = final_bound(op);
		}
		goto out;
	}
	tmp_len = in_len + 16;
	if ((tmp = OPENSSL_malloc(tmp_len ? tmp_len : 1)) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	n = tmp_len;
	if ((rc = cf_op_update(op, in, in_len, tmp, &n)) != 0 ||
	    (rc = cf_sbuf_put(&acc, tmp, n)) != 0)
		goto out;
	if (!op->pend_ready) {
		if ((rc = compute_final(op)) != 0) {
			ERR_clear_error();
			goto out;
		}
		op->pend_ready = 1;
	}
	if ((rc = cf_sbuf_put(&acc, op->pend.p, op->pend.len)) != 0)
		goto out;
	rc = cf_out_copy(acc.p, acc.len, out, out_len);
 out:
	OPENSSL_clear_free(tmp, tmp_len ? tmp_len : 1);
	cf_sbuf_free(&acc);
	cf_op_free(op);
	return rc;
}

int
cf_encrypt(const CK_MECHANISM *m, const struct cf_key *key, const uint8_t *in,
    size_t in_len, uint8_t *out, size_t *out_len)
{
	return one_shot(m, key, CF_ENCRYPT, in, in_len, out, out_len);
}

int
cf_decrypt(const CK_MECHANISM *m, const struct cf_key *key, const uint8_t *in,
    size_t in_len, uint8_t *out, size_t *out_len)
{
	return one_shot(m, key, CF_DECRYPT, in, in_len, out, out_len);
}

int
cf_sign(const CK_MECHANISM *m, const struct cf_key *key, const uint8_t *in,
    size_t in_len, uint8_t *sig, size_t *sig_len)
{
	return one_shot(m, key, CF_SIGN, in, in_len, sig, sig_len);
}

int
cf_digest(const CK_MECHANISM *m, const uint8_t *in, size_t in_len,
    uint8_t *out, size_t *out_len)
{
	return one_shot(m, NULL, CF_DIGEST, in, in_len, out, out_len);
}

int
cf_verify(const CK_MECHANISM *m, const struct cf_key *key, const uint8_t *in,
    size_t in_len, const uint8_t *sig, size_t sig_len)
{
	struct cf_op *op = NULL;
	int rc;

	if ((rc = cf_op_init(m, key, CF_VERIFY, &op)) != 0)
		return rc;
	if ((rc = cf_op_update(op, in, in_len, NULL, NULL)) == 0)
		rc = cf_op_verify_final(op, sig, sig_len);
	cf_op_free(op);
	return rc;
}

int
cf_random_priv(uint8_t *out, size_t len)
{
	while (len > 0) {
		size_t c = len > (1u << 30) ? (1u << 30) : len;

		if (RAND_priv_bytes(out, (int)c) != 1) {
			ERR_clear_error();
			return COFFER_E_CRYPTO;
		}
		out += c;
		len -= c;
	}
	return 0;
}
