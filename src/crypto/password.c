/* SPDX-License-Identifier: Apache-2.0 */
/*
 * password.c: scrypt password verifiers through EVP_KDF (RFC 7914).
 *
 * Only salt, parameters and the 32-byte KDF output are ever kept. The
 * check recomputes the KDF into a secure-heap buffer and compares it with
 * CRYPTO_memcmp; every intermediate is wiped on every path.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "coffer/coffer_err.h"
#include "common/secmem.h"
#include "common/util.h"
#include "crypto/password.h"

/* Bounds that keep a replicated verifier from making us burn memory. */
#define PW_N_MAX (1u << 20)
#define PW_RP_MAX (1u << 30)

static int
params_ok(const struct cf_pw_params *pp)
{
	if (pp == NULL || pp->n < 2 || pp->n > PW_N_MAX ||
	    (pp->n & (pp->n - 1)) != 0)
		return 0;
	if (pp->r == 0 || pp->p == 0 ||
	    (uint64_t)pp->r * pp->p >= PW_RP_MAX)
		return 0;
	return 1;
}

int
cf_pw_scrypt(const uint8_t *pw, size_t pwlen, const uint8_t *salt,
    size_t saltlen, const struct cf_pw_params *pp, uint8_t *out,
    size_t outlen)
{
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[6], *q = params;
	uint64_t n;
	uint32_t r, p;
	int rc = COFFER_E_INTERNAL;

	if (out == NULL || outlen == 0 || (pwlen > 0 && pw == NULL) ||
	    (saltlen > 0 && salt == NULL))
		return COFFER_E_INVAL;
	OPENSSL_cleanse(out, outlen);
	if (!params_ok(pp))
		return COFFER_E_INVAL;
	n = pp->n;
	r = pp->r;
	p = pp->p;
	/* OpenSSL wants non-NULL octet pointers even for empty strings. */
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
	    (void *)(pwlen > 0 ? pw : (const uint8_t *)""), pwlen);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)(saltlen > 0 ? salt : (const uint8_t *)""), saltlen);
	*q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	*q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
	*q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
	*q = OSSL_PARAM_construct_end();

	if ((kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL)) == NULL ||
	    (kctx = EVP_KDF_CTX_new(kdf)) == NULL) {
		rc = COFFER_E_CRYPTO;
		goto out;
	}
	if (EVP_KDF_derive(kctx, out, outlen, params) != 1) {
		OPENSSL_cleanse(out, outlen);
		rc = COFFER_E_CRYPTO;
		goto out;
	}
	rc = 0;
 out:
	EVP_KDF_CTX_free(kctx);	/* clears the KDF's copy of the password */
	EVP_KDF_free(kdf);
	return rc;
}

int
cf_pw_make(const char *pw, size_t pwlen, const struct cf_pw_params *pp,
    struct cf_pw_verifier *out)
{
	struct cf_pw_verifier v = {0};
	int rc = COFFER_E_INTERNAL;

	if (out == NULL)
		return COFFER_E_INVAL;
	cf_cleanse(out, sizeof(*out));
	if (pw == NULL && pwlen > 0)
		return COFFER_E_INVAL;
	if (!params_ok(pp))
		return COFFER_E_INVAL;
	v.params = *pp;
	if ((rc = cf_random(v.salt, sizeof(v.salt))) != 0)
		goto out;
	if ((rc = cf_pw_scrypt((const uint8_t *)pw, pwlen, v.salt,
	    sizeof(v.salt), &v.params, v.hash, sizeof(v.hash))) != 0)
		goto out;
	*out = v;
	rc = 0;
 out:
	cf_cleanse(&v, sizeof(v));
	return rc;
}

int
cf_pw_check(const char *pw, size_t pwlen, const struct cf_pw_verifier *v)
{
	uint8_t *calc = NULL;
	int rc = COFFER_E_INTERNAL;

	if (v == NULL || (pw == NULL && pwlen > 0))
		return COFFER_E_INVAL;
	if ((calc = cf_malloc_secret(CF_PW_HASH_LEN)) == NULL)
		return COFFER_E_NOMEM;
	if ((rc = cf_pw_scrypt((const uint8_t *)pw, pwlen, v->salt,
	    sizeof(v->salt), &v->params, calc, CF_PW_HASH_LEN)) != 0)
		goto out;
	rc = CRYPTO_memcmp(calc, v->hash, CF_PW_HASH_LEN) == 0 ? 0 :
	    COFFER_E_AUTH;
 out:
	cf_free_secret(calc, CF_PW_HASH_LEN);
	return rc;
}

int
cf_pw_policy(const char *pw, size_t pwlen, size_t min, size_t max)
{
	if (pw == NULL && pwlen > 0)
		return COFFER_E_INVAL;
	if (pwlen < min || pwlen > max)
		return COFFER_E_PASSWORD_POLICY;
	if (pwlen > 0 && memchr(pw, '\0', pwlen) != NULL)
		return COFFER_E_PASSWORD_POLICY;
	return 0;
}
