/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secmem.c: secret memory and process hygiene.
 *
 * cofferd fails closed: it refuses to start unless the OpenSSL secure heap
 * (mlocked, guard pages, MADV_DONTDUMP) is really in place. Libraries only
 * try; when the heap is not available OpenSSL's secure allocator falls back
 * to ordinary malloc, and secrets are still wiped on free.
 */
#include <pthread.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <openssl/crypto.h>

#include "coffer/coffer_err.h"
#include "common/secmem.h"

/* Library default: 256 KiB, enough for session keys and passwords. */
#define LIB_HEAP_SIZE (256 * 1024)
#define MIN_ALLOC 16

int
cf_secmem_init_process(size_t heap_size)
{
	struct rlimit rl = { 0, 0 };

	if (heap_size == 0 || (heap_size & (heap_size - 1)) != 0)
		return COFFER_E_INVAL;
	/*
	 * 1 means the arena is mapped and mlocked; 2 means it exists but is
	 * not locked, and 0 means there is none. Only 1 is acceptable. An
	 * arena set up earlier in this process (a test harness) is kept.
	 */
	if (!CRYPTO_secure_malloc_initialized() &&
	    CRYPTO_secure_malloc_init(heap_size, MIN_ALLOC) != 1)
		return COFFER_E_INTERNAL;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return COFFER_E_INTERNAL;
	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		return COFFER_E_INTERNAL;
	return 0;
}

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void
lib_init(void)
{
	if (!CRYPTO_secure_malloc_initialized())
		(void)CRYPTO_secure_malloc_init(LIB_HEAP_SIZE, MIN_ALLOC);
}

void
cf_secmem_init_lib(void)
{
	(void)pthread_once(&lib_once, lib_init);
}

void *
cf_malloc_secret(size_t n)
{
	if (n == 0)
		n = 1;
	return OPENSSL_secure_zalloc(n);
}

void
cf_free_secret(void *p, size_t n)
{
	if (p == NULL)
		return;
	OPENSSL_secure_clear_free(p, n);
}

char *
cf_strdup_secret(const char *s)
{
	size_t n;
	char *c;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	if ((c = OPENSSL_secure_malloc(n)) == NULL)
		return NULL;
	memcpy(c, s, n);
	return c;
}

void
cf_free_secret_str(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_secure_clear_free(s, strlen(s) + 1);
}

/*
 * glibc's explicit_bzero: a memset the compiler may not remove, at memset
 * speed (OPENSSL_cleanse stores a byte or word at a time: 5x slower on a
 * MiB, which showed in the bulk-data profiles).
 */
void
cf_cleanse(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}
