/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seal.h: protection of replicated data at rest and the cluster key.
 *
 * - The cluster key (32 random bytes, secure heap) seals every raft log
 *   entry and snapshot with AES-256-GCM (cf_sealbox_*).
 * - A seal backend protects the cluster key on disk. Backend "file": a
 *   0600 key-encryption-key file (32 random bytes) and the cluster key
 *   wrapped under it with AES-256-GCM in <data_dir>/cluster-key.sealed.
 *   Passphrase/Shamir and TPM backends implement the same struct later.
 *
 * Sealed blob layout (docs/ARCHITECTURE.md):
 *   "CFS1" | u8 kind | u64 BE index | u8[12] nonce | ciphertext | u8[16] tag
 * AAD = the first 25 bytes (magic, kind, index, nonce); the nonce is 96
 * random bits per seal. kind: 1 = log entry, 2 = snapshot,
 * 3 = wrapped cluster key. index binds an entry to its raft log position
 * (0 for snapshots and wrapped keys).
 */
#ifndef CF_SEAL_H
#define CF_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define CF_CLUSTER_KEY_LEN 32
#define CF_SEAL_OVERHEAD (4 + 1 + 8 + 12 + 16)

enum cf_seal_kind {
	CF_SEAL_ENTRY = 1,
	CF_SEAL_SNAPSHOT = 2,
	CF_SEAL_CLUSTER_KEY = 3,
};

/* Seals plain into out (caller-provided, n + CF_SEAL_OVERHEAD bytes). */
int cf_sealbox_seal(const uint8_t key[CF_CLUSTER_KEY_LEN], int kind,
    uint64_t index, const uint8_t *plain, size_t n, uint8_t *out);
/*
 * Opens a sealed blob. *plain is malloc'd (n - CF_SEAL_OVERHEAD bytes;
 * caller wipes and frees with cf_free_secret when it holds secrets).
 * Errors: COFFER_E_FORMAT (too short, bad magic), COFFER_E_INTEGRITY (kind
 * or index mismatch, tag failure).
 */
int cf_sealbox_open(const uint8_t key[CF_CLUSTER_KEY_LEN], int kind,
    uint64_t index, const uint8_t *in, size_t n, uint8_t **plain,
    size_t *plain_len);

/*
 * Loads the cluster key through the file seal backend, creating the KEK
 * file and the sealed key if create is non-zero and they do not exist.
 * *key is in the secure heap (free with cf_free_secret(key, 32)).
 * Errors: COFFER_E_NOTFOUND (missing and !create), COFFER_E_INTEGRITY
 * (tampered sealed key or wrong KEK), COFFER_E_IO, COFFER_E_POLICY (KEK
 * file readable by group/other).
 */
int cf_seal_file_load_cluster_key(const char *kek_path, const char *sealed_path,
    int create, uint8_t **key);
/* Crypto-erases: overwrites and unlinks the KEK and sealed key files. */
int cf_seal_file_destroy(const char *kek_path, const char *sealed_path);

#endif
