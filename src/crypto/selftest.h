/* SPDX-License-Identifier: Apache-2.0 */
/*
 * selftest.h: power-up known-answer tests of the crypto engine (FIPS 140-3
 * style). Every algorithm family the engine offers is run through the
 * engine's own entry points against published vectors; a failure must put
 * the node in ERROR (the caller's job).
 */
#ifndef CF_CRYPTO_SELFTEST_H
#define CF_CRYPTO_SELFTEST_H

#include <stddef.h>

/*
 * Runs every KAT. Returns 0, or COFFER_E_SELFTEST with the name of the
 * first failing test copied (NUL-terminated, truncated to len) into
 * failed_name when it is not NULL. Thread safe; takes well under a second.
 */
int cf_selftest_run(char *failed_name, size_t len);

/* Number of KATs and the name of KAT i (for `hsm info` reporting). */
size_t cf_selftest_count(void);
const char *cf_selftest_name(size_t i);

/* Test hook: makes KAT `name` fail (NULL: none), to prove failures are
 * detected. Not for production use. */
void cf_selftest_force_fail(const char *name);

#endif
