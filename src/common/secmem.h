/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secmem.h: secret memory. Secrets live in the OpenSSL secure heap
 * (mlocked, guarded, excluded from core dumps) and are wiped on free.
 */
#ifndef CF_SECMEM_H
#define CF_SECMEM_H

#include <stddef.h>

/*
 * Initializes the secure heap (size bytes, power of two) and process
 * hygiene: PR_SET_DUMPABLE 0, RLIMIT_CORE 0. Fails closed: returns
 * COFFER_E_INTERNAL unless CRYPTO_secure_malloc_init() returned exactly 1.
 * Called once by cofferd main; libraries call cf_secmem_init_lib().
 */
int cf_secmem_init_process(size_t heap_size);
/* For libcoffer: initializes the secure heap if nobody has (best effort,
 * never fails the host process); never changes process limits. */
void cf_secmem_init_lib(void);

void *cf_malloc_secret(size_t n);		/* zeroed; NULL on OOM */
void cf_free_secret(void *p, size_t n);		/* cleanse + free; NULL-safe */
char *cf_strdup_secret(const char *s);		/* NULL on OOM or NULL s */
void cf_free_secret_str(char *s);		/* cleanse strlen+1 + free */
void cf_cleanse(void *p, size_t n);		/* explicit_bzero, NULL-safe */

#endif
