/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys.h: key material objects of the crypto engine (issue 3).
 *
 * A struct cf_key holds the value of one PKCS#11 key object: a secret key
 * (AES, generic secret) as raw bytes in the OpenSSL secure heap, or an
 * asymmetric key (RSA, EC, EdDSA) as an EVP_PKEY. Attributes other than
 * the ones derived from the value (label, id, usage flags...) belong to the
 * object store, not here. Values are wiped when the object is freed.
 *
 * Output buffers follow the PKCS#11 convention everywhere in this engine:
 * with out == NULL the function stores the needed length in *out_len and
 * returns 0; with a buffer that is too small it stores the needed length
 * and returns COFFER_E_BUFFER_TOO_SMALL; otherwise it writes and stores the
 * length written.
 *
 * Thread safety: a cf_key is immutable after creation and may be used by
 * several threads at once; cf_key_free must not race with its users.
 */
#ifndef CF_CRYPTO_KEYS_H
#define CF_CRYPTO_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

struct cf_key;

/* Limits (CloudHSM figures, issue 3). */
#define CF_RSA_MIN_BITS		2048
#define CF_RSA_MAX_BITS		4096
#define CF_RSA_STEP_BITS	256
#define CF_GENERIC_MIN_LEN	1
#define CF_GENERIC_MAX_LEN	800

/*
 * Generates a secret key. type is CKK_AES (len 16, 24 or 32) or
 * CKK_GENERIC_SECRET (len 1..800). CKK_DES/DES2/DES3 return
 * COFFER_E_MECHANISM (3DES is refused on purpose); other types
 * COFFER_E_KEY_TYPE; a bad length COFFER_E_KEY_SIZE.
 */
int cf_key_generate_secret(CK_KEY_TYPE type, size_t len, struct cf_key **out);

/*
 * Generates an RSA key pair; *out is the private key (it carries the public
 * half: see cf_key_public). bits: 2048..4096 in steps of 256, else
 * COFFER_E_KEY_SIZE. e/e_len: big-endian public exponent, NULL for 65537;
 * must be odd and >= 65537 (COFFER_E_ATTRIBUTE otherwise). A pairwise
 * consistency test runs before the key is returned (COFFER_E_SELFTEST).
 */
int cf_key_generate_rsa(unsigned bits, const uint8_t *e, size_t e_len,
    struct cf_key **out);

/*
 * Generates an EC or Edwards key pair from a PKCS#11 CKA_EC_PARAMS value:
 * the DER OID of P-224, P-256, P-384, P-521, secp256k1, Ed25519 (1.3.101.112)
 * or Ed448 (1.3.101.113), or the DER PrintableString "edwards25519" /
 * "edwards448" (PKCS#11 3.0). Unknown curves: COFFER_E_ATTRIBUTE.
 * Pairwise consistency test as above.
 */
int cf_key_generate_ec(const uint8_t *ec_params, size_t ec_params_len,
    struct cf_key **out);
/* Same with an OpenSSL/SEC curve name: "P-256", "secp256k1", "Ed25519"... */
int cf_key_generate_ec_name(const char *curve, struct cf_key **out);

/* Runs the pairwise-consistency test on a private key (0 or
 * COFFER_E_SELFTEST). Called by every generate function. */
int cf_key_pairwise_test(const struct cf_key *priv);

/* New public-key object holding the public half of priv (or a copy of a
 * public key). COFFER_E_KEY_TYPE for secret keys. */
int cf_key_public(const struct cf_key *priv, struct cf_key **out);

/*
 * Storage form (the value the object store seals and replicates):
 * secret keys: the raw value; private keys: PKCS#8 PrivateKeyInfo DER;
 * public keys: SubjectPublicKeyInfo DER. cf_key_serialize follows the
 * output-buffer convention above; the caller must wipe the bytes of a
 * secret or private key.
 */
int cf_key_serialize(const struct cf_key *k, uint8_t *out, size_t *out_len);
/* cls: CKO_SECRET_KEY (type needed: CKK_AES/CKK_GENERIC_SECRET, length
 * checked), CKO_PRIVATE_KEY or CKO_PUBLIC_KEY (type may be
 * CK_UNAVAILABLE_INFORMATION; if given it must match). Bad encodings:
 * COFFER_E_FORMAT; a type mismatch: COFFER_E_KEY_TYPE. */
int cf_key_deserialize(CK_OBJECT_CLASS cls, CK_KEY_TYPE type,
    const uint8_t *in, size_t in_len, struct cf_key **out);
/* Imports a public key from SubjectPublicKeyInfo DER or PEM. */
int cf_key_import_public(const uint8_t *in, size_t in_len,
    struct cf_key **out);

void cf_key_free(struct cf_key *k);	/* NULL-safe; wipes the value */

CK_OBJECT_CLASS cf_key_class(const struct cf_key *k);
CK_KEY_TYPE cf_key_type(const struct cf_key *k);
/* Size in bits: secret value bits, RSA modulus bits, EC field bits,
 * 255/448 for Ed25519/Ed448. */
size_t cf_key_bits(const struct cf_key *k);

/*
 * Public (non-sensitive) attribute values, encoded as PKCS#11 does:
 *   CKA_MODULUS, CKA_PUBLIC_EXPONENT	big-endian bytes (RSA)
 *   CKA_MODULUS_BITS, CKA_VALUE_LEN	CK_ULONG, native byte order
 *   CKA_EC_PARAMS			DER OID (EC and Edwards)
 *   CKA_EC_POINT			DER OCTET STRING of the uncompressed
 *					point (EC) or of the raw public key (Ed)
 *   CKA_CHECK_VALUE			3 bytes: AES-ECB(K, 0^16) for AES,
 *					SHA-1(K) for generic secret (PKCS#11 3.0)
 *   CKA_KEY_TYPE, CKA_CLASS		CK_ULONG
 *   CKA_PUBLIC_KEY_INFO			SubjectPublicKeyInfo DER of the
 *					public half (private or public key)
 * CKA_VALUE and private components return COFFER_E_ATTR_SENSITIVE;
 * attributes that do not apply to the key COFFER_E_ATTRIBUTE.
 * Output-buffer convention as above.
 */
int cf_key_get_attr(const struct cf_key *k, CK_ATTRIBUTE_TYPE attr,
    uint8_t *out, size_t *out_len);

#endif
