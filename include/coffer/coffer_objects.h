/* SPDX-License-Identifier: Apache-2.0 */
/*
 * coffer_objects.h: libcoffer's object and cryptography API (issue 3).
 *
 * Shaped after PKCS#11 3.0 so that the PKCS#11 module is a thin layer:
 * templates are CK_ATTRIBUTE arrays with native CK_ULONG/CK_BBOOL values,
 * mechanisms are CK_MECHANISM with the standard parameter structures
 * (CK_GCM_PARAMS, CK_RSA_PKCS_PSS_PARAMS, CK_RSA_PKCS_OAEP_PARAMS,
 * CK_AES_CTR_PARAMS, CK_ECDH1_DERIVE_PARAMS, CK_SP800_108_KDF_PARAMS,
 * CK_RSA_AES_KEY_WRAP_PARAMS, CK_EDDSA_PARAMS, a CK_ULONG for *_GENERAL
 * MACs, a 16-byte IV for CBC). libcoffer checks ulParameterLen against the
 * structure and converts to the wire form (proto/coffer.proto).
 * Include path: `pkg-config --cflags p11-kit-1`.
 *
 * Handles are 64-bit and cluster-wide for token objects (CKA_TOKEN true);
 * session objects (CKA_TOKEN false) live on the node that made them,
 * belong to this client and die with its last connection to that node;
 * libcoffer pins calls that use them to that node.
 *
 * Outputs (*out buffers and handle arrays) are malloc'd; free them with
 * coffer_free(), which wipes. All functions are thread-safe on a client.
 */
#ifndef COFFER_OBJECTS_H
#define COFFER_OBJECTS_H

#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

#include <coffer/coffer.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Vendor attributes. */
#define CKA_COFFER_OWNER (CKA_VENDOR_DEFINED | 0x434F0001UL)	/* UTF-8 */
#define CKA_COFFER_SHARED (CKA_VENDOR_DEFINED | 0x434F0002UL)	/* "a,b" */

/* Cleanses n bytes (if n > 0) and frees p; NULL-safe. */
void coffer_free(void *p, size_t n);

/*
 * AES-GCM encryption with an IV made by the node, returned to the caller
 * (the CloudHSM convention, made explicit): CK_GCM_PARAMS with pIv an
 * output buffer, ulIvLen 12 and ulIvBits COFFER_GCM_GENERATE_IV. The
 * PKCS#11 module writes the node's IV into pIv (docs/INTEGRATIONS.md).
 * libcoffer itself takes pIv NULL, ulIvLen 0 and returns the IV through
 * coffer_encrypt_iv() or coffer_op_iv().
 */
#define COFFER_GCM_GENERATE_IV ((CK_ULONG)0x434F4956UL)

/*
 * Deep copy of a mechanism and its parameter structure (and the buffers it
 * points to), checked as the wire conversion checks it: COFFER_E_MECH_PARAM
 * for a wrong ulParameterLen or inconsistent pointers, COFFER_E_MECHANISM
 * for SP 800-108 parameters (derivations are never kept). Free with
 * coffer_mech_free(), which wipes.
 */
int coffer_mech_dup(const CK_MECHANISM *mech, CK_MECHANISM **out);
void coffer_mech_free(CK_MECHANISM *);

/* --- objects ------------------------------------------------------------ */
int coffer_generate_key(struct coffer_client *, const CK_MECHANISM *mech,
    const CK_ATTRIBUTE *tmpl, size_t n, uint64_t *handle);
int coffer_generate_key_pair(struct coffer_client *, const CK_MECHANISM *mech,
    const CK_ATTRIBUTE *pub_tmpl, size_t npub, const CK_ATTRIBUTE *priv_tmpl,
    size_t npriv, uint64_t *pub, uint64_t *priv);
/* Public keys and data objects (secret/private keys only via unwrap). */
int coffer_create_object(struct coffer_client *, const CK_ATTRIBUTE *tmpl,
    size_t n, uint64_t *handle);
int coffer_copy_object(struct coffer_client *, uint64_t handle,
    const CK_ATTRIBUTE *tmpl, size_t n, uint64_t *new_handle);
int coffer_destroy_object(struct coffer_client *, uint64_t handle);
/*
 * C_GetAttributeValue semantics, per attribute: pValue NULL → ulValueLen
 * set to the length; buffer too small → ulValueLen =
 * CK_UNAVAILABLE_INFORMATION; sensitive or unextractable → ulValueLen =
 * CK_UNAVAILABLE_INFORMATION; unknown type → ulValueLen =
 * CK_UNAVAILABLE_INFORMATION. Returns 0 or, as PKCS#11 orders them,
 * COFFER_E_ATTR_SENSITIVE, COFFER_E_ATTRIBUTE, COFFER_E_BUFFER_TOO_SMALL.
 */
int coffer_get_attributes(struct coffer_client *, uint64_t handle,
    CK_ATTRIBUTE *tmpl, size_t n);
int coffer_set_attributes(struct coffer_client *, uint64_t handle,
    const CK_ATTRIBUTE *tmpl, size_t n);
/* All visible objects matching tmpl (n may be 0); *handles via coffer_free. */
int coffer_find_objects(struct coffer_client *, const CK_ATTRIBUTE *tmpl,
    size_t n, uint64_t **handles, size_t *count);
int coffer_share_key(struct coffer_client *, uint64_t handle,
    const char *username);
int coffer_unshare_key(struct coffer_client *, uint64_t handle,
    const char *username);

/* --- operations --------------------------------------------------------- */
enum coffer_op_kind {
	COFFER_OP_ENCRYPT = 1,
	COFFER_OP_DECRYPT = 2,
	COFFER_OP_SIGN = 3,
	COFFER_OP_VERIFY = 4,
	COFFER_OP_DIGEST = 5,
};

/* Multi-part operation held on the node. key is 0 for digests. */
struct coffer_op;
int coffer_op_init(struct coffer_client *, int kind, const CK_MECHANISM *mech,
    uint64_t key, struct coffer_op **out);
/* Output of update/final via *out (may be empty: *out NULL, *out_len 0). */
int coffer_op_update(struct coffer_op *, const uint8_t *in, size_t in_len,
    uint8_t **out, size_t *out_len);
int coffer_op_final(struct coffer_op *, uint8_t **out, size_t *out_len);
/* 0 or COFFER_E_SIGNATURE. */
int coffer_op_verify_final(struct coffer_op *, const uint8_t *sig,
    size_t sig_len);
/* IV the node used (e.g. generated for AES-GCM); iv_len in/out. */
int coffer_op_iv(const struct coffer_op *, uint8_t *iv, size_t *iv_len);
/* Cancels on the node if still active; NULL-safe. */
void coffer_op_free(struct coffer_op *);

/* One-shot helpers; inputs larger than one frame are streamed. For
 * AES-GCM encryption with no IV in the parameters, the generated IV is
 * written to iv/iv_len by coffer_encrypt_iv() (below). */
int coffer_encrypt(struct coffer_client *, const CK_MECHANISM *, uint64_t key,
    const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len);
/* As coffer_encrypt; iv (capacity *iv_len) receives the IV the node used
 * (e.g. generated for AES-GCM), *iv_len its length (0 if none);
 * COFFER_E_BUFFER_TOO_SMALL with *iv_len set if iv is too small. */
int coffer_encrypt_iv(struct coffer_client *, const CK_MECHANISM *,
    uint64_t key, const uint8_t *in, size_t in_len, uint8_t **out,
    size_t *out_len, uint8_t *iv, size_t *iv_len);
int coffer_decrypt(struct coffer_client *, const CK_MECHANISM *, uint64_t key,
    const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len);
int coffer_sign(struct coffer_client *, const CK_MECHANISM *, uint64_t key,
    const uint8_t *in, size_t in_len, uint8_t **sig, size_t *sig_len);
/*
 * Signs n inputs (each at most 1 MiB) with one key in one round trip per
 * window of at most 32 inputs and 64 KiB of requests: the requests are
 * pipelined on one connection (one write per window, the replies matched
 * by id; docs/PROTOCOL.md), which saves the
 * per-call round trip and wake-ups of n coffer_sign() calls
 * (docs/PERFORMANCE.md). On success
 * sig[i]/sig_len[i] receive signature i (free each with coffer_free). If
 * any input fails, the call returns that error (the detail names the
 * input), and no signature is returned. n may be 0; at most
 * COFFER_SIGN_MANY_MAX (also the limit of coffer_verify_many,
 * coffer_encrypt_many and coffer_decrypt_many). HMAC
 * mechanisms are signatures here too.
 */
#define COFFER_SIGN_MANY_MAX 256
int coffer_sign_many(struct coffer_client *, const CK_MECHANISM *,
    uint64_t key, size_t n, const uint8_t *const *in, const size_t *in_len,
    uint8_t **sig, size_t *sig_len);
/*
 * Verifies n (input, signature) pairs with one key, pipelined like
 * coffer_sign_many. Returns 0 when every pair got an answer: result[i] is
 * then 0 (valid), COFFER_E_SIGNATURE (invalid) or the node's error for
 * that pair; a local failure (arguments, connection, protocol) is
 * returned and copied into every result[i].
 */
int coffer_verify_many(struct coffer_client *, const CK_MECHANISM *,
    uint64_t key, size_t n, const uint8_t *const *in, const size_t *in_len,
    const uint8_t *const *sig, const size_t *sig_len, int *result);
/*
 * Encrypts n messages (each at most 1 MiB) with one key, pipelined like
 * coffer_sign_many. Each message needs an IV of its own, so the mechanism
 * either takes none (CKM_AES_ECB, CKM_RSA_PKCS, CKM_RSA_PKCS_OAEP) or lets
 * the node draw one per message: CKM_AES_GCM with pIv NULL. A mechanism
 * carrying an IV or counter block (CBC, CBC-PAD, CTR, GCM with pIv) is
 * refused with COFFER_E_MECH_PARAM: the n messages would share it.
 * out[i]/out_len[i] receive ciphertext i (GCM: with its tag; free each
 * with coffer_free). iv[i], a buffer of iv_len[i] bytes (12 is enough for
 * GCM), receives the IV the node drew for message i, and iv_len[i] its
 * length; iv and iv_len may be NULL only with a mechanism without IV.
 * Fails as a whole like coffer_sign_many, naming the failing input.
 */
int coffer_encrypt_many(struct coffer_client *, const CK_MECHANISM *,
    uint64_t key, size_t n, const uint8_t *const *in, const size_t *in_len,
    uint8_t **out, size_t *out_len, uint8_t *const *iv, size_t *iv_len);
/*
 * Decrypts n ciphertexts (each at most 1 MiB + 1 KiB: a 1 MiB message
 * with its tag or padding) with one key, pipelined.
 * iv[i]/iv_len[i] give message i its IV, in place of the mechanism's
 * (GCM's pIv, the CBC/CBC-PAD IV, CTR's 16-byte counter block; the
 * mechanism's own parameters must still be well formed: CBC needs a
 * 16-byte placeholder, GCM may leave pIv NULL); the other parameters
 * (GCM's AAD and tag length, CTR's counter bits) are shared.
 * iv and iv_len NULL: the mechanism as given for every message. Returns 0
 * when every message got an answer: result[i] is then 0 with
 * out[i]/out_len[i] the plaintext (free with coffer_free), or the node's
 * error for that message (e.g. a GCM tag that does not verify) with
 * out[i] NULL. A local failure (arguments, connection, protocol) is
 * returned and copied into every result[i].
 */
int coffer_decrypt_many(struct coffer_client *, const CK_MECHANISM *,
    uint64_t key, size_t n, const uint8_t *const *in, const size_t *in_len,
    const uint8_t *const *iv, const size_t *iv_len, uint8_t **out,
    size_t *out_len, int *result);
int coffer_verify(struct coffer_client *, const CK_MECHANISM *, uint64_t key,
    const uint8_t *in, size_t in_len, const uint8_t *sig, size_t sig_len);
int coffer_digest(struct coffer_client *, const CK_MECHANISM *,
    const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len);
int coffer_wrap_key(struct coffer_client *, const CK_MECHANISM *,
    uint64_t wrapping_key, uint64_t key, uint8_t **out, size_t *out_len);
int coffer_unwrap_key(struct coffer_client *, const CK_MECHANISM *,
    uint64_t unwrapping_key, const uint8_t *wrapped, size_t wrapped_len,
    const CK_ATTRIBUTE *tmpl, size_t n, uint64_t *handle);
int coffer_derive_key(struct coffer_client *, const CK_MECHANISM *,
    uint64_t base_key, const CK_ATTRIBUTE *tmpl, size_t n, uint64_t *handle);
int coffer_random(struct coffer_client *, uint8_t *out, size_t len);

struct coffer_mech_info {
	uint64_t type;		/* CKM_* */
	uint64_t min_key;	/* CK_MECHANISM_INFO semantics */
	uint64_t max_key;
	uint64_t flags;		/* CKF_* */
};
int coffer_mechanisms(struct coffer_client *, struct coffer_mech_info **list,
    size_t *n);

#ifdef __cplusplus
}
#endif
#endif
