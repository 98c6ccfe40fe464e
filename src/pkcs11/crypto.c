/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crypto.c: encrypt, decrypt, sign, verify, digest, key generation,
 * wrapping, derivation and random numbers.
 *
 * C_*Init opens a libcoffer operation on the node (so key and mechanism
 * errors come from Init, as PKCS#11 expects). Output-length rules (PKCS#11
 * 2.40 §5.2): a call with a NULL output buffer or a too small one computes
 * the result once, keeps it in the session and returns its length (with
 * CKR_BUFFER_TOO_SMALL for a short buffer) leaving the operation active;
 * the next call returns the kept result. Any other error ends the
 * operation. C_*Init with a NULL mechanism cancels an active operation
 * (PKCS#11 3.0 §5.8).
 */
#include <stdlib.h>
#include <string.h>

#include "p11.h"

static const int op_kind[P11_NOPS] = { COFFER_OP_ENCRYPT, COFFER_OP_DECRYPT,
    COFFER_OP_SIGN, COFFER_OP_VERIFY, COFFER_OP_DIGEST };

static void
res_clear(struct p11_op *op)
{
	if (op->res != NULL) {
		explicit_bzero(op->res, op->res_len);
		free(op->res);
	}
	op->res = NULL;
	op->res_len = 0;
	op->have_res = false;
}

void
p11_op_end(struct p11_op *op)
{
	coffer_op_free(op->cop);
	res_clear(op);
	*op = (struct p11_op){ 0 };
}

/* Keeps a copy of a libcoffer output (a || b) as the pending result. */
static CK_RV
res_keep(struct p11_op *op, uint8_t *a, size_t alen, uint8_t *b, size_t blen)
{
	CK_RV rv = CKR_OK;

	res_clear(op);
	if (alen + blen > 0) {
		if ((op->res = malloc(alen + blen)) == NULL) {
			rv = CKR_HOST_MEMORY;
			goto out;
		}
		if (alen > 0)
			memcpy(op->res, a, alen);
		if (blen > 0)
			memcpy(op->res + alen, b, blen);
	}
	op->res_len = alen + blen;
	op->have_res = true;
 out:
	coffer_free(a, alen);
	coffer_free(b, blen);
	return rv;
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

static CK_RV
op_init(CK_SESSION_HANDLE h, int which, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE key)
{
	struct p11_session *s;
	struct p11_op *op;
	struct coffer_op *cop = NULL;
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
	rc = coffer_op_init(s->slot->client, op_kind[which], m,
	    which == P11_OP_DIGEST ? 0 : key, &cop);
	if (rc != 0) {
		p11_log(P11_LOG_DEBUG, "op init kind=%d mech=0x%lx key=0x%lx: %s",
		    op_kind[which], m->mechanism, key, coffer_errname(rc));
		rv = op_rv(which, rc);
		goto out;
	}
	*op = (struct p11_op){ .active = true, .cop = cop,
	    .mech = m->mechanism };
 out:
	p11_session_put(s);
	return rv;
}

/* Single-part C_Encrypt, C_Decrypt, C_Sign, C_Digest. */
static CK_RV
op_single(CK_SESSION_HANDLE h, int which, CK_BYTE_PTR in, CK_ULONG inlen,
    CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	struct p11_session *s;
	struct p11_op *op;
	uint8_t *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
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
	if (op->multi) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	if (outlen == NULL || (in == NULL && inlen > 0)) {
		rv = CKR_ARGUMENTS_BAD;
		p11_op_end(op);
		goto out;
	}
	if (!op->have_res) {
		rc = coffer_op_update(op->cop, in, inlen, &a, &alen);
		if (rc == 0)
			rc = coffer_op_final(op->cop, &b, &blen);
		if (rc != 0) {
			coffer_free(a, alen);
			rv = op_rv(which, rc);
			p11_op_end(op);
			goto out;
		}
		if ((rv = res_keep(op, a, alen, b, blen)) != CKR_OK) {
			p11_op_end(op);
			goto out;
		}
	}
	rv = deliver(op, out, outlen, &done);
	if (done)
		p11_op_end(op);
 out:
	p11_session_put(s);
	return rv;
}

/* C_EncryptUpdate, C_DecryptUpdate (with output) and C_SignUpdate,
 * C_VerifyUpdate, C_DigestUpdate (out == outlen == NULL). */
static CK_RV
op_update(CK_SESSION_HANDLE h, int which, CK_BYTE_PTR in, CK_ULONG inlen,
    CK_BYTE_PTR out, CK_ULONG_PTR outlen, bool has_out)
{
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
	if (op->have_res && !op->multi) {
		/* A single-part result is pending. */
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	if ((has_out && outlen == NULL) || (in == NULL && inlen > 0)) {
		rv = CKR_ARGUMENTS_BAD;
		p11_op_end(op);
		goto out;
	}
	if (!op->have_res) {
		if ((rc = coffer_op_update(op->cop, in, inlen, &a, &alen)) !=
		    0) {
			rv = op_rv(which, rc);
			p11_op_end(op);
			goto out;
		}
		op->multi = true;
		if (!has_out) {
			coffer_free(a, alen);
			goto out;
		}
		if ((rv = res_keep(op, a, alen, NULL, 0)) != CKR_OK) {
			p11_op_end(op);
			goto out;
		}
	}
	rv = deliver(op, out, outlen, &done);
	if (done)
		res_clear(op);
 out:
	p11_session_put(s);
	return rv;
}

/* C_EncryptFinal, C_DecryptFinal, C_SignFinal, C_DigestFinal. */
static CK_RV
op_final(CK_SESSION_HANDLE h, int which, CK_BYTE_PTR out,
    CK_ULONG_PTR outlen)
{
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
	if (outlen == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		p11_op_end(op);
		goto out;
	}
	if (!op->have_res) {
		if ((rc = coffer_op_final(op->cop, &a, &alen)) != 0) {
			rv = op_rv(which, rc);
			p11_op_end(op);
			goto out;
		}
		op->multi = true;
		if ((rv = res_keep(op, a, alen, NULL, 0)) != CKR_OK) {
			p11_op_end(op);
			goto out;
		}
	}
	rv = deliver(op, out, outlen, &done);
	if (done)
		p11_op_end(op);
 out:
	p11_session_put(s);
	return rv;
}

/* C_Verify (data != NULL or single) and C_VerifyFinal. */
static CK_RV
op_verify(CK_SESSION_HANDLE h, bool single, CK_BYTE_PTR in, CK_ULONG inlen,
    CK_BYTE_PTR sig, CK_ULONG siglen)
{
	struct p11_session *s;
	struct p11_op *op;
	uint8_t *a = NULL;
	size_t alen = 0;
	int rc = 0;
	CK_RV rv;

	if ((rv = p11_session_get(h, &s)) != CKR_OK)
		return rv;
	op = &s->ops[P11_OP_VERIFY];
	if (!op->active) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto out;
	}
	if (single && op->multi) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	if (sig == NULL || (single && in == NULL && inlen > 0)) {
		rv = CKR_ARGUMENTS_BAD;
		p11_op_end(op);
		goto out;
	}
	if (single)
		rc = coffer_op_update(op->cop, in, inlen, &a, &alen);
	coffer_free(a, alen);
	if (rc == 0)
		rc = coffer_op_verify_final(op->cop, sig, siglen);
	rv = op_rv(P11_OP_VERIFY, rc);
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
	return op_single(h, P11_OP_ENCRYPT, in, inlen, out, outlen);
}

CK_RV
C_EncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG inlen,
    CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	return op_update(h, P11_OP_ENCRYPT, in, inlen, out, outlen, true);
}

CK_RV
C_EncryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	return op_final(h, P11_OP_ENCRYPT, out, outlen);
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
	return op_single(h, P11_OP_DECRYPT, in, inlen, out, outlen);
}

CK_RV
C_DecryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG inlen,
    CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	return op_update(h, P11_OP_DECRYPT, in, inlen, out, outlen, true);
}

CK_RV
C_DecryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	return op_final(h, P11_OP_DECRYPT, out, outlen);
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
	return op_single(h, P11_OP_DIGEST, in, inlen, out, outlen);
}

CK_RV
C_DigestUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG inlen)
{
	return op_update(h, P11_OP_DIGEST, in, inlen, NULL, NULL, false);
}

CK_RV
C_DigestFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	return op_final(h, P11_OP_DIGEST, out, outlen);
}

CK_RV
C_DigestKey(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k)
{
	struct p11_session *s;
	CK_RV rv;

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
	return op_single(h, P11_OP_SIGN, in, inlen, out, outlen);
}

CK_RV
C_SignUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG inlen)
{
	return op_update(h, P11_OP_SIGN, in, inlen, NULL, NULL, false);
}

CK_RV
C_SignFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	return op_final(h, P11_OP_SIGN, out, outlen);
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
	return op_verify(h, true, in, inlen, sig, siglen);
}

CK_RV
C_VerifyUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG inlen)
{
	return op_update(h, P11_OP_VERIFY, in, inlen, NULL, NULL, false);
}

CK_RV
C_VerifyFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG siglen)
{
	return op_verify(h, false, NULL, 0, sig, siglen);
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
	size_t off = 0, chunk;
	int rc = 0;
	CK_RV rv;

	if ((rv = p11_session_get(h, &s)) != CKR_OK)
		return rv;
	if (out == NULL && len > 0) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	while (rc == 0 && off < len) {
		chunk = len - off > 65536 ? 65536 : len - off;
		rc = coffer_random(s->slot->client, out + off, chunk);
		off += chunk;
	}
	rv = p11_rv_from_rc(rc);
 out:
	p11_session_put(s);
	return rv;
}
