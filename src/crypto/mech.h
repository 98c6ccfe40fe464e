/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech.h: cryptographic operations of the engine, by PKCS#11 mechanism.
 *
 * Mechanisms and their parameters are PKCS#11 3.0 CK_MECHANISM values
 * (p11-kit's pkcs11.h, plus the 3.0 definitions it lacks, below), so the
 * node and the PKCS#11 module pass them through unchanged. Operations
 * stream: cf_op_init / cf_op_update / cf_op_final with no size limit for
 * AES modes, MACs, digests and hash-and-sign; single-part mechanisms
 * (raw RSA/ECDSA, EdDSA, RSA encryption) accumulate their input.
 *
 * Output buffers: PKCS#11 convention (see keys.h): out == NULL queries the
 * length (an upper bound for cf_op_final of decryptions), a short buffer
 * gives COFFER_E_BUFFER_TOO_SMALL with the needed length and leaves the
 * operation as it was, so the call can be repeated.
 *
 * Errors: mechanism unknown, refused (3DES) or not allowed for the purpose:
 * COFFER_E_MECHANISM; key class/type wrong for the mechanism:
 * COFFER_E_KEY_TYPE; key size out of range: COFFER_E_KEY_SIZE; bad
 * parameter block, IV, tag or counter length: COFFER_E_MECH_PARAM; bad
 * input length (plaintext or ciphertext): COFFER_E_DATA_LEN; every
 * decryption failure that depends on the secret (padding, GCM tag, OAEP
 * and PKCS#1 decoding): the single code COFFER_E_ENCRYPTED_DATA, so there
 * is no padding oracle; bad signature or MAC: COFFER_E_SIGNATURE.
 *
 * Thread safety: a cf_op is used by one thread at a time; different ops
 * may share a key.
 */
#ifndef CF_CRYPTO_MECH_H
#define CF_CRYPTO_MECH_H

#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

#include "keys.h"

/* PKCS#11 3.0 definitions missing from p11-kit's pkcs11.h (one copy,
 * shared with libcoffer) */
#include "common/p11ext.h"
/* The engine's names for two parameter structures */
typedef CK_RSA_AES_KEY_WRAP_PARAMS cf_rsa_aes_key_wrap_params;
typedef CK_MAC_GENERAL_PARAMS cf_mac_general_params;

/* --- mechanism table ------------------------------------------------ */

/* What a mechanism may be used for (CKF_* of CK_MECHANISM_INFO). */
#define CF_MF_ENCRYPT	CKF_ENCRYPT
#define CF_MF_DECRYPT	CKF_DECRYPT
#define CF_MF_DIGEST	CKF_DIGEST
#define CF_MF_SIGN	CKF_SIGN
#define CF_MF_VERIFY	CKF_VERIFY
#define CF_MF_GENERATE	CKF_GENERATE
#define CF_MF_GEN_PAIR	CKF_GENERATE_KEY_PAIR
#define CF_MF_WRAP	CKF_WRAP
#define CF_MF_UNWRAP	CKF_UNWRAP
#define CF_MF_DERIVE	CKF_DERIVE
#define CF_MF_SINGLE	0x80000000UL	/* single-part only (Coffer flag) */

struct cf_mech_info {
	CK_MECHANISM_TYPE	 mech;
	const char		*name;		/* "CKM_AES_GCM" */
	CK_KEY_TYPE		 key_type;	/* CK_UNAVAILABLE_INFORMATION: none */
	CK_ULONG		 min_key;	/* bits; bytes for AES, generic, HMAC (PKCS#11) */
	CK_ULONG		 max_key;
	CK_FLAGS		 flags;		/* CF_MF_* */
};

/* NULL for mechanisms Coffer does not implement (3DES included). */
const struct cf_mech_info *cf_mech_info(CK_MECHANISM_TYPE mech);
/* The whole table: *n entries, in a stable order (for C_GetMechanismList
 * and docs/MECHANISMS.md). */
const struct cf_mech_info *cf_mech_list(size_t *n);
/* "CKM_AES_GCM", or "CKM_0x........" form into a static buffer for unknown
 * values (not thread safe for unknown values only). */
const char *cf_mech_name(CK_MECHANISM_TYPE mech);

/* --- streaming operations -------------------------------------------- */

enum cf_purpose {
	CF_ENCRYPT = 1,
	CF_DECRYPT,
	CF_SIGN,
	CF_VERIFY,
	CF_DIGEST,
};

struct cf_op;

/*
 * Starts an operation. mech->pParameter is read during init only (copied
 * as needed). key is borrowed: it must outlive the op (NULL for digests).
 * AES-GCM encryption: if the CK_GCM_PARAMS IV pointer is NULL the engine
 * makes a random 96-bit IV (ulIvLen must be 0 or 12), available through
 * cf_op_get_iv; decryption always needs the IV. Tag bits: 32, 64, 96..128
 * in steps of 8 (SP 800-38D §5.2.1.2); AAD is given in the parameters.
 */
int cf_op_init(const CK_MECHANISM *mech, const struct cf_key *key,
    enum cf_purpose purpose, struct cf_op **out);

/*
 * Feeds data. Encrypt/decrypt write what is ready to out (AES-GCM
 * decryption writes nothing until the tag is checked in cf_op_final;
 * single-part mechanisms write nothing). Sign/verify/digest: out must be
 * NULL and *out_len is set to 0 (out_len may be NULL).
 * After an error other than COFFER_E_BUFFER_TOO_SMALL the op is dead:
 * further calls return COFFER_E_OP_NOT_INIT.
 */
int cf_op_update(struct cf_op *op, const uint8_t *in, size_t in_len,
    uint8_t *out, size_t *out_len);
/* Ends encrypt/decrypt/sign/digest and writes the rest / the signature /
 * the digest. */
int cf_op_final(struct cf_op *op, uint8_t *out, size_t *out_len);
/* Ends a verify operation: 0 or COFFER_E_SIGNATURE. */
int cf_op_verify_final(struct cf_op *op, const uint8_t *sig, size_t sig_len);
/* IV in use (AES CBC/CTR/GCM), e.g. the one the engine generated. */
int cf_op_get_iv(const struct cf_op *op, uint8_t *iv, size_t *iv_len);
void cf_op_free(struct cf_op *op);	/* NULL-safe; wipes state */

/* --- one-shot helpers (init + update + final) --------------------------- */
int cf_encrypt(const CK_MECHANISM *mech, const struct cf_key *key,
    const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len);
int cf_decrypt(const CK_MECHANISM *mech, const struct cf_key *key,
    const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len);
int cf_sign(const CK_MECHANISM *mech, const struct cf_key *key,
    const uint8_t *in, size_t in_len, uint8_t *sig, size_t *sig_len);
int cf_verify(const CK_MECHANISM *mech, const struct cf_key *key,
    const uint8_t *in, size_t in_len, const uint8_t *sig, size_t sig_len);
int cf_digest(const CK_MECHANISM *mech, const uint8_t *in, size_t in_len,
    uint8_t *out, size_t *out_len);
/* Random bytes from OpenSSL's private DRBG. */
int cf_random_priv(uint8_t *out, size_t len);

/* --- keys from keys --------------------------------------------------- */

/*
 * Wraps key (secret: raw value; private: PKCS#8 DER) with wrapping_key.
 * Mechanisms: CKM_AES_KEY_WRAP (RFC 3394, value a multiple of 8, >= 16),
 * CKM_AES_KEY_WRAP_KWP and CKM_AES_KEY_WRAP_PAD (both RFC 5649),
 * CKM_AES_GCM (CK_GCM_PARAMS with IV; output ciphertext || tag; with a NULL
 * IV a random 96-bit IV is made and prepended: IV || ciphertext || tag),
 * CKM_RSA_PKCS_OAEP, CKM_RSA_PKCS (secret keys), CKM_RSA_AES_KEY_WRAP
 * (cf_rsa_aes_key_wrap_params; output OAEP(ephemeral AES key) ||
 * KWP(ephemeral, value)). Public keys cannot be wrapped (COFFER_E_KEY_TYPE).
 * Extractability is the object store's decision, not checked here.
 */
int cf_wrap(const CK_MECHANISM *mech, const struct cf_key *wrapping_key,
    const struct cf_key *key, uint8_t *out, size_t *out_len);
/*
 * Unwraps into a new key of class cls (CKO_SECRET_KEY or CKO_PRIVATE_KEY)
 * and type. Any failure to decrypt or authenticate: COFFER_E_WRAPPED_KEY
 * (one code, no oracle); a value of the wrong size or encoding for the
 * type: COFFER_E_WRAPPED_KEY too.
 */
int cf_unwrap(const CK_MECHANISM *mech, const struct cf_key *unwrapping_key,
    const uint8_t *in, size_t in_len, CK_OBJECT_CLASS cls, CK_KEY_TYPE type,
    struct cf_key **out);
/*
 * Derives a secret key of type (CKK_AES or CKK_GENERIC_SECRET) and len
 * bytes. CKM_ECDH1_DERIVE (CK_ECDH1_DERIVE_PARAMS; public data as the raw
 * uncompressed point or its DER OCTET STRING; KDF CKD_NULL, which keeps the
 * trailing len bytes of Z, or CKD_SHA1/224/256/384/512_KDF = ANSI X9.63
 * KDF with the shared data), CKM_SP800_108_COUNTER_KDF
 * (CK_SP800_108_KDF_PARAMS; PRF CKM_SHA*_HMAC with a generic secret key or
 * CKM_AES_CMAC with an AES key; data params in the caller's order:
 * exactly one ITERATION_VARIABLE (8/16/24/32 bits), optional DKM_LENGTH,
 * BYTE_ARRAYs; no additional derived keys).
 */
int cf_derive(const CK_MECHANISM *mech, const struct cf_key *base,
    CK_KEY_TYPE type, size_t len, struct cf_key **out);

#endif
