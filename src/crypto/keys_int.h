/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys_int.h: the layout of struct cf_key and helpers shared by the files
 * of the crypto engine (keys.c, ops*.c, selftest.c). Not for use outside
 * src/crypto.
 */
#ifndef CF_CRYPTO_KEYS_INT_H
#define CF_CRYPTO_KEYS_INT_H

#include <pthread.h>
#include <stdbool.h>

#include <openssl/evp.h>

#include "keys.h"

#define CF_KEY_SIGN_CTXS 8	/* prepared ECDSA contexts kept per key */

struct cf_key {
	CK_OBJECT_CLASS	 cls;
	CK_KEY_TYPE	 type;
	uint8_t		*secret;	/* secure heap, secret keys only */
	size_t		 secret_len;
	EVP_PKEY	*pkey;		/* asymmetric keys only */
	/* EC keys: signing contexts already through EVP_PKEY_sign_init,
	 * reused across operations (and threads, one at a time); freed with
	 * the key. */
	pthread_mutex_t	 ctx_mu;
	bool		 ctx_mu_ok;
	EVP_PKEY_CTX	*sign_ctx[CF_KEY_SIGN_CTXS];
	unsigned	 nsign_ctx;
};

/* An EC key's prepared signing context: one from the key's pool, or a new
 * one; NULL on failure. (The pool is a cache: a const key's pool changes,
 * under its own lock.) Give it back with cf_key_sign_ctx_put after a
 * successful signature, EVP_PKEY_CTX_free it after a failed one. */
EVP_PKEY_CTX *cf_key_sign_ctx_get(const struct cf_key *k);
void cf_key_sign_ctx_put(const struct cf_key *k, EVP_PKEY_CTX *pc);

/* Builds a secret key object from bytes (copied into the secure heap). */
int cf_key_new_secret(CK_KEY_TYPE type, const uint8_t *v, size_t len,
    struct cf_key **out);
/* Takes ownership of pkey (freed on error too). */
int cf_key_new_pkey(CK_OBJECT_CLASS cls, EVP_PKEY *pkey, struct cf_key **out);

/* PKCS#11 output-buffer convention: copies src if it fits. */
int cf_out_copy(const uint8_t *src, size_t n, uint8_t *out, size_t *out_len);

/* Field/order size in bytes of an EC key (r and s of ECDSA). */
size_t cf_ec_scalar_len(const EVP_PKEY *pkey);
/* OpenSSL group name of an EC key into buf; 0 or COFFER_E_KEY_TYPE. */
int cf_ec_group_name(const EVP_PKEY *pkey, char *buf, size_t len);

/* Secure growable buffer for accumulated input and buffered output. */
struct cf_sbuf {
	uint8_t	*p;
	size_t	 len;
	size_t	 cap;
};
int cf_sbuf_put(struct cf_sbuf *b, const uint8_t *p, size_t n);
void cf_sbuf_free(struct cf_sbuf *b);

#endif
