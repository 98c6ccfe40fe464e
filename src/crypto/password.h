/* SPDX-License-Identifier: Apache-2.0 */
/*
 * password.h: password verifiers (scrypt through EVP_KDF). Passwords are
 * never stored; only salt, parameters and the 32-byte KDF output.
 */
#ifndef CF_PASSWORD_H
#define CF_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

#define CF_PW_HASH_LEN 32
#define CF_PW_SALT_LEN 16

struct cf_pw_params {
	uint64_t n;	/* scrypt N, power of two; default 16384 */
	uint32_t r;	/* default 8 */
	uint32_t p;	/* default 1 */
};

struct cf_pw_verifier {
	struct cf_pw_params params;
	uint8_t salt[CF_PW_SALT_LEN];
	uint8_t hash[CF_PW_HASH_LEN];
};

/* Raw scrypt (for test vectors): out of outlen bytes. */
int cf_pw_scrypt(const uint8_t *pw, size_t pwlen, const uint8_t *salt,
    size_t saltlen, const struct cf_pw_params *, uint8_t *out, size_t outlen);
/* New random salt + hash. */
int cf_pw_make(const char *pw, size_t pwlen, const struct cf_pw_params *,
    struct cf_pw_verifier *out);
/* 0 if pw matches (constant-time compare), COFFER_E_AUTH if not. */
int cf_pw_check(const char *pw, size_t pwlen, const struct cf_pw_verifier *);
/* Policy: min..max length, no NUL; COFFER_E_PASSWORD_POLICY. */
int cf_pw_policy(const char *pw, size_t pwlen, size_t min, size_t max);

#endif
