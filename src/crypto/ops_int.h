/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops_int.h: helpers shared by ops.c, ops_wrap.c and selftest.c. Not for
 * use outside src/crypto.
 */
#ifndef CF_CRYPTO_OPS_INT_H
#define CF_CRYPTO_OPS_INT_H

#include "keys_int.h"
#include "mech.h"

/* OpenSSL digest name of CKM_SHA_1..CKM_SHA3_512, NULL if none. */
const char *cf_hash_name(CK_MECHANISM_TYPE m);
/* OpenSSL digest name of a CKG_MGF1_* value, NULL if none. */
const char *cf_mgf_name(CK_ULONG mgf);
size_t cf_hash_len(const char *name);
/* "AES-<bits>-<mode>" into buf. */
const char *cf_aes_name(size_t keylen, const char *mode, char *buf,
    size_t len);
size_t cf_rsa_len(const struct cf_key *k);
int cf_check_key(const struct cf_mech_info *mi, const struct cf_key *k,
    enum cf_purpose p);
int cf_ecdsa_der_to_raw(const uint8_t *der, size_t der_len, size_t n,
    uint8_t *raw);

#endif
