/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crypto.c: encrypt, decrypt, sign, verify, digest, key generation,
 * wrapping, derivation and random numbers.
 *
 * Round trips: C_*Init checks what can be checked locally (the slot lists
 * the mechanism for this function; the parameter structure has the right
 * size and consistent pointers) and keeps a deep copy of the mechanism and
 * the key handle; it sends nothing. A single-part call (C_Sign, C_Encrypt,
 * C_Verify, ...) is then one request (coffer_sign, ...); the first
 * C_*Update opens the node's multi-part operation; C_*Final without an
 * update is a one-shot over empty input. Errors the node finds in the key
 * (CKR_KEY_HANDLE_INVALID, CKR_KEY_TYPE_INCONSISTENT,
 * CKR_KEY_FUNCTION_NOT_PERMITTED, ...) therefore come from the first call
 * after C_*Init, and end the operation (docs/INTEGRATIONS.md).
 *
 * Output-length rules (PKCS#11 3.0 §5.2): a call with a NULL output buffer
 * or a too small one computes the result once, keeps it in the session and
 * returns its length (with CKR_BUFFER_TOO_SMALL for a short buffer),
 * leaving the operation active; the next call of the same function hands
 * out the kept result, which is then wiped. Any other error ends the
 * operation. C_*Init with a NULL mechanism cancels an active operation.
 *
 * AES-GCM with a node-made IV: CK_GCM_PARAMS.ulIvBits ==
 * COFFER_GCM_GENERATE_IV, pIv a 12-byte buffer; the node's IV is written
 * there by the call that computes the first output (the app's buffer must
 * stay valid until then).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "p11.h"

#define GCM_IV_LEN 12

enum step { ST_SINGLE = 1, ST_UPDATE, ST_FINAL };

/* Per operation kind: libcoffer kind and the CKF_ flag the mechanism
 * needs in the slot's list. */
static const struct {
	int kind;
	CK_FLAGS flag;
} op_tab[P11_NOPS] = {
	[P11_OP_ENCRYPT] = { COFFER_OP_ENCRYPT, CKF_ENCRYPT },
	[P11_OP_DECRYPT] = { COFFER_OP_DECRYPT, CKF_DECRYPT },
	[P11_OP_SIGN] = { COFFER_OP_SIGN, CKF_SIGN },
	[P11_OP_VERIFY] = { COFFER_OP_VERIFY, CKF_VERIFY },
	[P11_OP_DIGEST] = { COFFER_OP_DIGEST, CKF_DIGEST },
};

static void
res_clear(struct p11_op *op)
{
	coffer_free(op->res, op->res_len);
	op->res = NULL;
	op->res_len = 0;
	op->have_res = false;
	op->res_step = 0;
}

void
p11_op_end(struct p11_op *op)
{
	coffer_op_free(op->cop);
	coffer_mech_free(op->mech);
	res_clear(op);
	*op = (struct p11_op){ 0 };
}

/* Hands the pending result out; *done when it was delivered. */
static CK_RV
deliver(struct p11_op *op, CK_BYTE_PTR out, CK_ULONG_PTR outlen, bool *done)
{
	*done = false;
	if (out == NULL) {
		*outlen = op->res_len;
		return CKR_OK;
	}
	if (*outlen < op->res_len) {
		*outlen = op->res_len;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (op->res_len > 0)
		memcpy(out, op->res, op->res_len);
	*outlen = op->res_len;
	*done = true;
	return CKR_OK;
}

/* rc → CKR_* in the context of operation `which`. */
static CK_RV
op_rv(int which, int rc)
{
	CK_RV rv = p11_rv_from_rc(rc);

	if (rv == CKR_OBJECT_HANDLE_INVALID)
		return CKR_KEY_HANDLE_INVALID;
	if (which == P11_OP_DECRYPT && rv == CKR_DATA_LEN_RANGE)
		return CKR_ENCRYPTED_DATA_LEN_RANGE;
	if (which == P11_OP_DECRYPT && rv == CKR_DATA_INVALID)
		return CKR_ENCRYPTED_DATA_INVALID;
	if (which == P11_OP_VERIFY && rv == CKR_DATA_LEN_RANGE)
		return CKR_SIGNATURE_LEN_RANGE;
	return rv;
}

/*
 * For CKM_AES_GCM encryption with ulIvBits == COFFER_GCM_GENERATE_IV:
 * *gen is set to the parameters libcoffer takes (no IV: the node makes
 * one) and *iv_out to the app's buffer. CKR_MECHANISM_PARAM_INVALID if the
 * convention is asked for but not followed.
 */
static CK_RV
gcm_gen(int which, const CK_MECHANISM *m, CK_GCM_PARAMS *gen, bool *use,
    CK_BYTE **iv_out)
{
	const CK_GCM_PARAMS *g = m->pParameter;

	*use = false;
	*iv_out = NULL;
	if (m->mechanism != CKM_AES_GCM || g == NULL ||
	    m->ulParameterLen != sizeof(*g) ||
	    g->ulIvBits != COFFER_GCM_GENERATE_IV)
		return CKR_OK;
	if (which != P11_OP_ENCRYPT || g->pIv == NULL ||
	    g->ulIvLen != GCM_IV_LEN)
		return CKR_MECHANISM_PARAM_INVALID;
	*gen = *g;
	gen->pIv = NULL;
	gen->ulIvLen = 0;
	gen->ulIvBits = 0;
	*use = true;
	*iv_out = g->pIv;
	return CKR_OK;
}

static CK_RV
op_init(CK_SESSION_HANDLE h, int which, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE key)
{
	struct p11_session *s;
	struct p11_op *op;
	CK_MECHANISM gm, *copy = NULL;
	CK_GCM_PARAMS gp;
	CK_BYTE *iv_out = NULL;
	bool gen;
	int rc;
	CK_RV rv;

	if ((rv = p11_session_get(h, &s)) != CKR_OK)
		return rv;
	op = &s->ops[which];
	if (m == NULL) {
		p11_op_end(op);
		goto out;
	}
	if (op->active) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	if (m->pParameter == NULL && m->ulParameterLen > 0) {
		rv = CKR_MECHANISM_PARAM_INVALID;
		goto out;
	}
	if (which != P11_OP_DIGEST && key == CK_INVALID_HANDLE) {
		rv = CKR_KEY_HANDLE_INVALID;
		goto out;
	}
	if ((rv = p11_mech_check(s->slot, m->mechanism,
	    op_tab[which].flag)) != CKR_OK)
		goto out;
	if ((rv = gcm_gen(which, m, &gp, &gen, &iv_out)) != CKR_OK)
		goto out;
	gm = (CK_MECHANISM){ m->mechanism, &gp, sizeof(gp) };
	if ((rc = coffer_mech_dup(gen ? &gm : m, &copy)) != 0) {
		p11_log(P11_LOG_DEBUG, "op init kind=%d mech=0x%lx: %s",
		    op_tab[which].kind, m->mechanism, coffer_errname(rc));
		rv = p11_rv_from_rc(rc);
		goto out;
	}
	*op = (struct p11_op){ .active = true, .mech = copy,
	    .key = which == P11_OP_DIGEST ? 0 : key, .iv_out = iv_out };
 out:
	p11_session_put(s);
	return rv;
}

/* Copies the node-made GCM IV of the open operation to the app, once. */
static int
iv_from_op(struct p11_op *op)
{
	uint8_t iv[16];
	size_t n = sizeof(iv);
	int rc;

	if (op->iv_out == NULL)
		return 0;
	if ((rc = coffer_op_iv(op->cop, iv, &n)) != 0)
		return rc;
	if (n == 0)
		return 0;	/* not known yet */
	if (n != GCM_IV_LEN)
		return COFFER_E_PROTO;
	memcpy(op->iv_out, iv, n);
	op->iv_out = NULL;
	return 0;
}

/* The one request of a single-part operation (verify: *out unused). */
static int
one_shot(struct p11_session *s, int which, struct p11_op *op,
    const uint8_t *in, size_t inlen, const uint8_t *sig, size_t siglen,
    uint8_t **out, size_t *outlen)
{
	struct coffer_client *c = s->slot->client;
	uint8_t iv[16];
	size_t ivlen = sizeof(iv);
	int rc;

	switch (which) {
	case P11_OP_ENCRYPT:
		if (op->iv_out == NULL)
			return coffer_encrypt(c, op->mech, op->key, in, inlen,
			    out, outlen);
		rc = coffer_encrypt_iv(c, op->mech, op->key, in, inlen, out,
		    outlen, iv, &ivlen);
		if (rc == 0 && ivlen != GCM_IV_LEN) {
			coffer_free(*out, *outlen);
			*out = NULL;
			*outlen = 0;
			rc = COFFER_E_PROTO;
		}
		if (rc == 0) {
			memcpy(op->iv_out, iv, GCM_IV_LEN);
			op->iv_out = NULL;
		}
		return rc;
	case P11_OP_DECRYPT:
		return coffer_decrypt(c, op->mech, op->key, in, inlen, out,
		    outlen);
	case P11_OP_SIGN:
		return coffer_sign(c, op->mech, op->key, in, inlen, out,
		    outlen);
	case P11_OP_VERIFY:
		return coffer_verify(c, op->mech, op->key, in, inlen, sig,
		    siglen);
	case P11_OP_DIGEST:
		return coffer_digest(c, op->mech, in, inlen, out, outlen);
	}
	return COFFER_E_INTERNAL;
}

/* One step of the node's multi-part operation, opened on first use. */
static int
multi_step(struct p11_session *s, int which, struct p11_op *op,
    enum step st, const uint8_t *in, size_t inlen, const uint8_t *sig,
    size_t siglen, uint8_t **out, size_t *outlen)
{
	int rc;

	if (op->cop == NULL) {
		if ((rc = coffer_op_init(s->slot->client, op_tab[which].kind,
		    op->mech, op->key, &op->cop)) != 0)
			return rc;
		if ((rc = iv_from_op(op)) != 0)
			return rc;
	}
	if (st == ST_UPDATE)
		rc = coffer_op_update(op->cop, in, inlen, out, outlen);
	else if (which == P11_OP_VERIFY)
		rc = coffer_op_verify_final(op->cop, sig, siglen);
	else
		rc = coffer_op_final(op->cop, out, outlen);
	if (rc == 0)
		rc = iv_from_op(op);
	return rc;
}

/*
 * Every data call of every operation kind: C_Encrypt/Decrypt/Sign/Digest
 * (ST_SINGLE), C_Verify (ST_SINGLE with sig), C_*Update (ST_UPDATE; output
 * only for encrypt and decrypt), C_*Final (ST_FINAL; C_VerifyFinal with
 * sig).
 */
static CK_RV
op_step(CK_SESSION_HANDLE h, int which, enum step st, CK_BYTE_PTR in,
    CK_ULONG inlen, CK_BYTE_PTR out, CK_ULONG_PTR outlen, CK_BYTE_PTR sig,
    CK_ULONG siglen)
{
	bool verify = which == P11_OP_VERIFY;
	bool has_out = !verify && (st != ST_UPDATE ||
	    which == P11_OP_ENCRYPT || which == P11_OP_DECRYPT);
	struct p11_session *s;
	struct p11_op *op;
	uint8_t *a = NULL;
	size_t alen = 0;
	bool done;
	int rc;
	CK_RV rv;

	if ((rv = p11_session_get(h, &s)) != CKR_OK)
		return rv;
	op = &s->ops[which];
	if (!op->active) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto out;
	}
	/* Single-part after an update, or a different call while a result
	 * is pending: the operation stays as it is. */
	if ((st == ST_SINGLE && op->multi) ||
	    (op->have_res && op->res_step != (int)st)) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	if ((has_out && outlen == NULL) || (in == NULL && inlen > 0) ||
	    (verify && st != ST_UPDATE && sig == NULL)) {
		rv = CKR_ARGUMENTS_BAD;
		p11_op_end(op);
		goto out;
	}
	if (!op->have_res) {
		if (st == ST_UPDATE || op->multi)
			rc = multi_step(s, which, op, st, in, inlen, sig,
			    siglen, &a, &alen);
		else
			rc = one_shot(s, which, op, in, inlen, sig, siglen,
			    &a, &alen);
		if (st == ST_UPDATE)
			op->multi = true;
		if (rc != 0) {
			rv = op_rv(which, rc);
			p11_op_end(op);
			goto out;
		}
		if (!has_out) {
			coffer_free(a, alen);
			if (st != ST_UPDATE)
				p11_op_end(op);
			goto out;
		}
		op->res = a;
		op->res_len = alen;
		op->have_res = true;
		op->res_step = (int)st;
	}
	rv = deliver(op, out, outlen, &done);
	if (done && st == ST_UPDATE)
		res_clear(op);
	else if (done)
		p11_op_end(op);
 out:
	p11_session_put(s);
	return rv;
}

CK_RV
C_EncryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return op_init(h, P11_OP_ENCRYPT, m, k);
}

CK_RV
C_Encrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG inlen,
    CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	return op_step(h, P11_OP_ENCRYPT, ST_SINGLE, in, inlen, out, outlen,
	    NULL, 0);
}

CK_RV
C_EncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG inlen,
    CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	return op_step(h, P11_OP_ENCRYPT, ST_UPDATE, in, inlen, out, outlen,
	    NULL, 0);
}

CK_RV
C_EncryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	return op_step(h, P11_OP_ENCRYPT, ST_FINAL, NULL, 0, out, outlen,
	    NULL, 0);
}

CK_RV
C_DecryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return op_init(h, P11_OP_DECRYPT, m, k);
}

CK_RV
C_Decrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG inlen,
    CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	return op_step(h, P11_OP_DECRYPT, ST_SINGLE, in, inlen, out, outlen,
	    NULL, 0);
}

CK_RV
C_DecryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG inlen,
    CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	return op_step(h, P11_OP_DECRYPT, ST_UPDATE, in, inlen, out, outlen,
	    NULL, 0);
}

CK_RV
C_DecryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	return op_step(h, P11_OP_DECRYPT, ST_FINAL, NULL, 0, out, outlen,
	    NULL, 0);
}

CK_RV
C_DigestInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m)
{
	return op_init(h, P11_OP_DIGEST, m, 0);
}

CK_RV
C_Digest(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG inlen,
    CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	return op_step(h, P11_OP_DIGEST, ST_SINGLE, in, inlen, out, outlen,
	    NULL, 0);
}

CK_RV
C_DigestUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG inlen)
{
	return op_step(h, P11_OP_DIGEST, ST_UPDATE, in, inlen, NULL, NULL,
	    NULL, 0);
}

CK_RV
C_DigestFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	return op_step(h, P11_OP_DIGEST, ST_FINAL, NULL, 0, out, outlen,
	    NULL, 0);
}

CK_RV
C_DigestKey(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k)
{
	struct p11_session *s;
	CK_RV rv;

	(void)k;
	if ((rv = p11_session_get(h, &s)) != CKR_OK)
		return rv;
	/* Key values never leave the node, not even into a digest. */
	rv = s->ops[P11_OP_DIGEST].active ? CKR_KEY_INDIGESTIBLE :
	    CKR_OPERATION_NOT_INITIALIZED;
	p11_session_put(s);
	return rv;
}

CK_RV
C_SignInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return op_init(h, P11_OP_SIGN, m, k);
}

CK_RV
C_Sign(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG inlen, CK_BYTE_PTR out,
    CK_ULONG_PTR outlen)
{
	return op_step(h, P11_OP_SIGN, ST_SINGLE, in, inlen, out, outlen,
	    NULL, 0);
}

CK_RV
C_SignUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG inlen)
{
	return op_step(h, P11_OP_SIGN, ST_UPDATE, in, inlen, NULL, NULL,
	    NULL, 0);
}

CK_RV
C_SignFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	return op_step(h, P11_OP_SIGN, ST_FINAL, NULL, 0, out, outlen,
	    NULL, 0);
}

CK_RV
C_VerifyInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return op_init(h, P11_OP_VERIFY, m, k);
}

CK_RV
C_Verify(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG inlen,
    CK_BYTE_PTR sig, CK_ULONG siglen)
{
	return op_step(h, P11_OP_VERIFY, ST_SINGLE, in, inlen, NULL, NULL,
	    sig, siglen);
}

CK_RV
C_VerifyUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG inlen)
{
	return op_step(h, P11_OP_VERIFY, ST_UPDATE, in, inlen, NULL, NULL,
	    NULL, 0);
}

CK_RV
C_VerifyFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG siglen)
{
	return op_step(h, P11_OP_VERIFY, ST_FINAL, NULL, 0, NULL, NULL, sig,
	    siglen);
}

CK_RV
C_SessionCancel(CK_SESSION_HANDLE h, CK_FLAGS flags)
{
	static const CK_FLAGS f[P11_NOPS] = { CKF_ENCRYPT, CKF_DECRYPT,
	    CKF_SIGN, CKF_VERIFY, CKF_DIGEST };
	struct p11_session *s;
	size_t i;
	CK_RV rv;

	if ((rv = p11_session_get(h, &s)) != CKR_OK)
		return rv;
	for (i = 0; i < P11_NOPS; i++)
		if (flags & f[i])
			p11_op_end(&s->ops[i]);
	if (flags & CKF_FIND_OBJECTS) {
		free(s->found);
		s->found = NULL;
		s->nfound = s->found_pos = 0;
		s->find_active = false;
	}
	p11_session_put(s);
	return CKR_OK;
}

/* --- keys ---------------------------------------------------------------- */
static CK_RV
key_rv(int rc)
{
	CK_RV rv = p11_rv_from_rc(rc);

	if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_DATA_INVALID)
		return rv == CKR_DATA_INVALID ? CKR_TEMPLATE_INCONSISTENT : rv;
	if (rv == CKR_OBJECT_HANDLE_INVALID)
		return CKR_KEY_HANDLE_INVALID;
	return rv;
}

/* The object exists and is visible (one request). */
static bool
key_exists(struct p11_session *s, CK_OBJECT_HANDLE h)
{
	CK_OBJECT_CLASS cls;
	CK_ATTRIBUTE a = { CKA_CLASS, &cls, sizeof(cls) };

	return coffer_get_attributes(s->slot->client, h, &a, 1) !=
	    COFFER_E_NOTFOUND;
}

CK_RV
C_GenerateKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR t,
    CK_ULONG n, CK_OBJECT_HANDLE_PTR phKey)
{
	struct p11_session *s;
	uint64_t k = 0;
	bool tok;
	CK_RV rv;

	if ((rv = p11_session_get(h, &s)) != CKR_OK)
		return rv;
	if (m == NULL || phKey == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if ((rv = p11_tmpl_check(t, n)) != CKR_OK)
		goto out;
	tok = p11_tmpl_is_token(t, n);
	if (tok && !(s->flags & CKF_RW_SESSION)) {
		rv = CKR_SESSION_READ_ONLY;
		goto out;
	}
	rv = key_rv(coffer_generate_key(s->slot->client, m, t, n, &k));
	if (rv == CKR_OK) {
		*phKey = k;
		if (!tok)
			p11_session_track(s, k);
	}
 out:
	p11_session_put(s);
	return rv;
}

CK_RV
C_GenerateKeyPair(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_ATTRIBUTE_PTR pt, CK_ULONG npt, CK_ATTRIBUTE_PTR vt, CK_ULONG nvt,
    CK_OBJECT_HANDLE_PTR phPub, CK_OBJECT_HANDLE_PTR phPriv)
{
	struct p11_session *s;
	uint64_t pub = 0, priv = 0;
	bool ptok, vtok;
	CK_RV rv;

	if ((rv = p11_session_get(h, &s)) != CKR_OK)
		return rv;
	if (m == NULL || phPub == NULL || phPriv == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if ((rv = p11_tmpl_check(pt, npt)) != CKR_OK ||
	    (rv = p11_tmpl_check(vt, nvt)) != CKR_OK)
		goto out;
	ptok = p11_tmpl_is_token(pt, npt);
	vtok = p11_tmpl_is_token(vt, nvt);
	if ((ptok || vtok) && !(s->flags & CKF_RW_SESSION)) {
		rv = CKR_SESSION_READ_ONLY;
		goto out;
	}
	rv = key_rv(coffer_generate_key_pair(s->slot->client, m, pt, npt, vt,
	    nvt, &pub, &priv));
	if (rv == CKR_OK) {
		*phPub = pub;
		*phPriv = priv;
		if (!ptok)
			p11_session_track(s, pub);
		if (!vtok)
			p11_session_track(s, priv);
	}
 out:
	p11_session_put(s);
	return rv;
}

CK_RV
C_WrapKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE wk,
    CK_OBJECT_HANDLE k, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	struct p11_session *s;
	uint8_t *w = NULL;
	size_t wlen = 0;
	int rc;
	CK_RV rv;

	if ((rv = p11_session_get(h, &s)) != CKR_OK)
		return rv;
	if (m == NULL || outlen == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (wk == CK_INVALID_HANDLE) {
		rv = CKR_WRAPPING_KEY_HANDLE_INVALID;
		goto out;
	}
	if (k == CK_INVALID_HANDLE) {
		rv = CKR_KEY_HANDLE_INVALID;
		goto out;
	}
	/* Wrapping is cheap and stateless: recomputed on the retry. */
	if ((rc = coffer_wrap_key(s->slot->client, m, wk, k, &w, &wlen)) !=
	    0) {
		rv = key_rv(rc);
		/* Which of the two keys is missing (error path only). */
		if (rv == CKR_KEY_HANDLE_INVALID && !key_exists(s, wk))
			rv = CKR_WRAPPING_KEY_HANDLE_INVALID;
		goto out;
	}
	if (out == NULL) {
		*outlen = wlen;
	} else if (*outlen < wlen) {
		*outlen = wlen;
		rv = CKR_BUFFER_TOO_SMALL;
	} else {
		memcpy(out, w, wlen);
		*outlen = wlen;
	}
 out:
	coffer_free(w, wlen);
	p11_session_put(s);
	return rv;
}

CK_RV
C_UnwrapKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE uk,
    CK_BYTE_PTR wrapped, CK_ULONG wlen, CK_ATTRIBUTE_PTR t, CK_ULONG n,
    CK_OBJECT_HANDLE_PTR phKey)
{
	struct p11_session *s;
	uint64_t k = 0;
	bool tok;
	int rc;
	CK_RV rv;

	if ((rv = p11_session_get(h, &s)) != CKR_OK)
		return rv;
	if (m == NULL || wrapped == NULL || phKey == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if ((rv = p11_tmpl_check(t, n)) != CKR_OK)
		goto out;
	if (uk == CK_INVALID_HANDLE) {
		rv = CKR_UNWRAPPING_KEY_HANDLE_INVALID;
		goto out;
	}
	tok = p11_tmpl_is_token(t, n);
	if (tok && !(s->flags & CKF_RW_SESSION)) {
		rv = CKR_SESSION_READ_ONLY;
		goto out;
	}
	rc = coffer_unwrap_key(s->slot->client, m, uk, wrapped, wlen, t, n, &k);
	rv = key_rv(rc);
	if (rv == CKR_KEY_HANDLE_INVALID)
		rv = CKR_UNWRAPPING_KEY_HANDLE_INVALID;
	else if (rv == CKR_WRAPPING_KEY_TYPE_INCONSISTENT)
		rv = CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT;
	if (rv == CKR_OK) {
		*phKey = k;
		if (!tok)
			p11_session_track(s, k);
	}
 out:
	p11_session_put(s);
	return rv;
}

CK_RV
C_DeriveKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE bk,
    CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR phKey)
{
	struct p11_session *s;
	uint64_t k = 0;
	bool tok;
	CK_RV rv;

	if ((rv = p11_session_get(h, &s)) != CKR_OK)
		return rv;
	if (m == NULL || phKey == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if ((rv = p11_tmpl_check(t, n)) != CKR_OK)
		goto out;
	if (bk == CK_INVALID_HANDLE) {
		rv = CKR_KEY_HANDLE_INVALID;
		goto out;
	}
	tok = p11_tmpl_is_token(t, n);
	if (tok && !(s->flags & CKF_RW_SESSION)) {
		rv = CKR_SESSION_READ_ONLY;
		goto out;
	}
	rv = key_rv(coffer_derive_key(s->slot->client, m, bk, t, n, &k));
	if (rv == CKR_OK) {
		*phKey = k;
		if (!tok)
			p11_session_track(s, k);
	}
 out:
	p11_session_put(s);
	return rv;
}

CK_RV
C_SeedRandom(CK_SESSION_HANDLE h, CK_BYTE_PTR seed, CK_ULONG len)
{
	struct p11_session *s;
	CK_RV rv;

	if ((rv = p11_session_get(h, &s)) != CKR_OK)
		return rv;
	/* The node's DRBG takes no caller entropy. */
	rv = seed == NULL && len > 0 ? CKR_ARGUMENTS_BAD :
	    CKR_RANDOM_SEED_NOT_SUPPORTED;
	p11_session_put(s);
	return rv;
}

CK_RV
C_GenerateRandom(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG len)
{
	struct p11_session *s;
	CK_RV rv;

	if ((rv = p11_session_get(h, &s)) != CKR_OK)
		return rv;
	if (out == NULL && len > 0) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	/* libcoffer asks for up to 1 MiB per request (the node's limit for
	 * one RandomReq; the answer fits the 4 MiB frame). */
	if (len > 0)
		rv = p11_rv_from_rc(coffer_random(s->slot->client, out, len));
 out:
	p11_session_put(s);
	return rv;
}
