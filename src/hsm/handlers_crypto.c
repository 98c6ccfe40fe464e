/* SPDX-License-Identifier: Apache-2.0 */
/*
 * handlers_crypto.c: cryptographic operations (issue 3): one-shot and
 * multi-part encrypt/decrypt/sign/verify/digest, wrap, unwrap, derive,
 * random bytes and the mechanism list.
 *
 * Guarantees: wire Mechanism parameters are converted into the PKCS#11
 * structures the engine takes (src/crypto/mech.h) after checking that the
 * parameter kind fits the mechanism; keys are used only by callers they
 * are visible to and only for the purposes their usage attributes allow;
 * a key leaves only wrapped, only by its owner, only if CKA_EXTRACTABLE,
 * and with a CKA_TRUSTED wrapping key if CKA_WRAP_WITH_TRUSTED; plaintext
 * buffers are cleansed after the response is packed.
 */
#include <p11-kit/pkcs11.h>	/* before coffer.pb-c.h: see p11ext.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/coffer_err.h"
#include "common/log.h"
#include "common/p11attr.h"
#include "common/p11ext.h"
#include "common/secmem.h"
#include "crypto/keys.h"
#include "crypto/mech.h"
#include "hsm/handlers.h"
#include "hsm/node.h"
#include "hsm/objects.h"
#include "hsm/objects_local.h"

#define RANDOM_MAX (1024 * 1024)
#define KDF_MAX_PARAMS CF_P11EXT_KDF_MAX_PARAMS

#ifndef CKM_SHA3_224_RSA_PKCS_PSS
#define CKM_SHA3_224_RSA_PKCS_PSS 0x6bUL
#endif

/* --- mechanisms ----------------------------------------------------------- */

struct mechbuf {
	CK_MECHANISM m;
	union {
		CK_RSA_PKCS_PSS_PARAMS pss;
		CK_RSA_PKCS_OAEP_PARAMS oaep;
		CK_GCM_PARAMS gcm;
		CK_AES_CTR_PARAMS ctr;
		CK_ECDH1_DERIVE_PARAMS ecdh;
		CK_SP800_108_KDF_PARAMS kdf;
		cf_rsa_aes_key_wrap_params ra;
		cf_mac_general_params mac;
	} u;
	CK_RSA_PKCS_OAEP_PARAMS oaep2;
	CK_PRF_DATA_PARAM prf[KDF_MAX_PARAMS];
	CK_SP800_108_COUNTER_FORMAT cfmt[KDF_MAX_PARAMS];
	CK_SP800_108_DKM_LENGTH_FORMAT dfmt[KDF_MAX_PARAMS];
};

/* The parameter kind each mechanism takes (none when absent). */
static int
param_case(CK_MECHANISM_TYPE t, bool *optional)
{
	*optional = false;
	switch (t) {
	case CKM_AES_CBC:
	case CKM_AES_CBC_PAD:
		return COFFER__MECHANISM__PARAMS_IV;
	case CKM_AES_KEY_WRAP:
	case CKM_AES_KEY_WRAP_PAD:
	case CKM_AES_KEY_WRAP_KWP:
		*optional = true;
		return COFFER__MECHANISM__PARAMS_IV;
	case CKM_RSA_PKCS_PSS:
	case CKM_SHA1_RSA_PKCS_PSS:
	case CKM_SHA224_RSA_PKCS_PSS:
	case CKM_SHA256_RSA_PKCS_PSS:
	case CKM_SHA384_RSA_PKCS_PSS:
	case CKM_SHA512_RSA_PKCS_PSS:
		return COFFER__MECHANISM__PARAMS_PSS;
	case CKM_RSA_PKCS_OAEP:
		return COFFER__MECHANISM__PARAMS_OAEP;
	case CKM_AES_GCM:
		return COFFER__MECHANISM__PARAMS_GCM;
	case CKM_AES_CTR:
		return COFFER__MECHANISM__PARAMS_CTR;
	case CKM_ECDH1_DERIVE:
		return COFFER__MECHANISM__PARAMS_ECDH1;
	case CKM_SP800_108_COUNTER_KDF:
		return COFFER__MECHANISM__PARAMS_KBKDF;
	case CKM_RSA_AES_KEY_WRAP:
		return COFFER__MECHANISM__PARAMS_RSA_AES;
	case CKM_SHA_1_HMAC_GENERAL:
	case CKM_SHA224_HMAC_GENERAL:
	case CKM_SHA256_HMAC_GENERAL:
	case CKM_SHA384_HMAC_GENERAL:
	case CKM_SHA512_HMAC_GENERAL:
	case CKM_AES_CMAC_GENERAL:
		return COFFER__MECHANISM__PARAMS_MAC_LEN;
	case CKM_EDDSA:
		*optional = true;
		return COFFER__MECHANISM__PARAMS_EDDSA;
	default:
		return COFFER__MECHANISM__PARAMS__NOT_SET;
	}
}

static void
bin(const ProtobufCBinaryData *b, CK_BYTE_PTR *p, CK_ULONG *n)
{
	*p = b->len > 0 ? b->data : NULL;
	*n = b->len;
}

static int
oaep_from_pb(const Coffer__OaepParams *w, CK_RSA_PKCS_OAEP_PARAMS *o)
{
	if (w == NULL)
		return COFFER_E_MECH_PARAM;
	o->hashAlg = w->hash_alg;
	o->mgf = w->mgf;
	o->source = w->source;
	o->pSourceData = w->label.len > 0 ? w->label.data : NULL;
	o->ulSourceDataLen = w->label.len;
	return 0;
}

static uint64_t
be64(const uint8_t *p)
{
	uint64_t v;

	(void)cf_attr_get_ulong(p, 8, &v);
	return v;
}

static int
kdf_from_pb(const Coffer__Sp800108Params *w, struct mechbuf *b)
{
	size_t i;

	if (w == NULL || w->n_data > KDF_MAX_PARAMS)
		return COFFER_E_MECH_PARAM;
	b->u.kdf.prfType = w->prf_type;
	b->u.kdf.ulNumberOfDataParams = w->n_data;
	b->u.kdf.pDataParams = w->n_data > 0 ? b->prf : NULL;
	for (i = 0; i < w->n_data; i++) {
		const Coffer__PrfDataParam *d = w->data[i];
		const uint8_t *v = d->value.data;
		size_t n = d->value.len;

		b->prf[i].type = d->type;
		switch (d->type) {
		case CK_SP800_108_ITERATION_VARIABLE:
		case CK_SP800_108_OPTIONAL_COUNTER:
			if (n == 0)
				break;
			if (n != CF_P11EXT_COUNTER_FORMAT_WIRE)
				return COFFER_E_MECH_PARAM;
			b->cfmt[i].bLittleEndian = v[0] != 0;
			b->cfmt[i].ulWidthInBits = be64(v + 1);
			b->prf[i].pValue = &b->cfmt[i];
			b->prf[i].ulValueLen = sizeof(b->cfmt[i]);
			break;
		case CK_SP800_108_DKM_LENGTH:
			if (n != CF_P11EXT_DKM_FORMAT_WIRE)
				return COFFER_E_MECH_PARAM;
			b->dfmt[i].dkmLengthMethod = be64(v);
			b->dfmt[i].bLittleEndian = v[8] != 0;
			b->dfmt[i].ulWidthInBits = be64(v + 9);
			b->prf[i].pValue = &b->dfmt[i];
			b->prf[i].ulValueLen = sizeof(b->dfmt[i]);
			break;
		case CK_SP800_108_BYTE_ARRAY:
			if (n == 0)
				return COFFER_E_MECH_PARAM;
			b->prf[i].pValue = (void *)v;
			b->prf[i].ulValueLen = n;
			break;
		default:
			return COFFER_E_MECH_PARAM;
		}
	}
	return 0;
}

/*
 * Wire Mechanism -> CK_MECHANISM in b (pointers into w, which must
 * outlive the use). COFFER_E_MECHANISM for an absent mechanism,
 * COFFER_E_MECH_PARAM when the parameters do not fit it.
 */
static int
mech_from_pb(const Coffer__Mechanism *w, struct mechbuf *b)
{
	bool optional;
	int want, rc;

	*b = (struct mechbuf){0};
	if (w == NULL)
		return COFFER_E_MECHANISM;
	b->m.mechanism = w->type;
	/* An unsupported mechanism is that, whatever its parameters say
	 * (CKR_MECHANISM_INVALID, not CKR_MECHANISM_PARAM_INVALID). */
	if (cf_mech_info(w->type) == NULL)
		return COFFER_E_MECHANISM;
	want = param_case(w->type, &optional);
	if ((int)w->params_case == COFFER__MECHANISM__PARAMS__NOT_SET) {
		if (want == COFFER__MECHANISM__PARAMS__NOT_SET || optional)
			return 0;
		/* CBC without IV, GCM without parameters, ... */
		return COFFER_E_MECH_PARAM;
	}
	if ((int)w->params_case != want)
		return COFFER_E_MECH_PARAM;
	switch (w->params_case) {
	case COFFER__MECHANISM__PARAMS_IV:
		b->m.pParameter = w->iv.len > 0 ? w->iv.data : NULL;
		b->m.ulParameterLen = w->iv.len;
		return 0;
	case COFFER__MECHANISM__PARAMS_PSS:
		b->u.pss.hashAlg = w->pss->hash_alg;
		b->u.pss.mgf = w->pss->mgf;
		b->u.pss.sLen = w->pss->salt_len;
		b->m.pParameter = &b->u.pss;
		b->m.ulParameterLen = sizeof(b->u.pss);
		return 0;
	case COFFER__MECHANISM__PARAMS_OAEP:
		if ((rc = oaep_from_pb(w->oaep, &b->u.oaep)) != 0)
			return rc;
		b->m.pParameter = &b->u.oaep;
		b->m.ulParameterLen = sizeof(b->u.oaep);
		return 0;
	case COFFER__MECHANISM__PARAMS_GCM:
		bin(&w->gcm->iv, &b->u.gcm.pIv, &b->u.gcm.ulIvLen);
		b->u.gcm.ulIvBits = w->gcm->iv_bits != 0 ? w->gcm->iv_bits :
		    w->gcm->iv.len * 8;
		bin(&w->gcm->aad, &b->u.gcm.pAAD, &b->u.gcm.ulAADLen);
		b->u.gcm.ulTagBits = w->gcm->tag_bits;
		b->m.pParameter = &b->u.gcm;
		b->m.ulParameterLen = sizeof(b->u.gcm);
		return 0;
	case COFFER__MECHANISM__PARAMS_CTR:
		if (w->ctr->cb.len != sizeof(b->u.ctr.cb))
			return COFFER_E_MECH_PARAM;
		b->u.ctr.ulCounterBits = w->ctr->counter_bits;
		memcpy(b->u.ctr.cb, w->ctr->cb.data, sizeof(b->u.ctr.cb));
		b->m.pParameter = &b->u.ctr;
		b->m.ulParameterLen = sizeof(b->u.ctr);
		return 0;
	case COFFER__MECHANISM__PARAMS_ECDH1:
		if (w->ecdh1->public_data.len == 0)
			return COFFER_E_MECH_PARAM;
		b->u.ecdh.kdf = w->ecdh1->kdf;
		bin(&w->ecdh1->shared_data, &b->u.ecdh.pSharedData,
		    &b->u.ecdh.ulSharedDataLen);
		bin(&w->ecdh1->public_data, &b->u.ecdh.pPublicData,
		    &b->u.ecdh.ulPublicDataLen);
		b->m.pParameter = &b->u.ecdh;
		b->m.ulParameterLen = sizeof(b->u.ecdh);
		return 0;
	case COFFER__MECHANISM__PARAMS_KBKDF:
		if ((rc = kdf_from_pb(w->kbkdf, b)) != 0)
			return rc;
		b->m.pParameter = &b->u.kdf;
		b->m.ulParameterLen = sizeof(b->u.kdf);
		return 0;
	case COFFER__MECHANISM__PARAMS_RSA_AES:
		if ((rc = oaep_from_pb(w->rsa_aes->oaep, &b->oaep2)) != 0)
			return rc;
		b->u.ra.ulAESKeyBits = w->rsa_aes->aes_key_bits;
		b->u.ra.pOAEPParams = &b->oaep2;
		b->m.pParameter = &b->u.ra;
		b->m.ulParameterLen = sizeof(b->u.ra);
		return 0;
	case COFFER__MECHANISM__PARAMS_MAC_LEN:
		b->u.mac = w->mac_len;
		b->m.pParameter = &b->u.mac;
		b->m.ulParameterLen = sizeof(b->u.mac);
		return 0;
	case COFFER__MECHANISM__PARAMS_EDDSA:
		/* The engine signs pure EdDSA only: no prehash, no context. */
		if (w->eddsa->ph_flag || w->eddsa->context.len > 0)
			return COFFER_E_MECH_PARAM;
		return 0;
	default:
		return COFFER_E_MECH_PARAM;
	}
}

/* --- operations ----------------------------------------------------------- */

static int
kind_purpose(int kind, enum cf_purpose *p, uint64_t *usage)
{
	switch (kind) {
	case COFFER__CRYPTO_KIND__CRYPTO_ENCRYPT:
		*p = CF_ENCRYPT;
		*usage = CKA_ENCRYPT;
		return 0;
	case COFFER__CRYPTO_KIND__CRYPTO_DECRYPT:
		*p = CF_DECRYPT;
		*usage = CKA_DECRYPT;
		return 0;
	case COFFER__CRYPTO_KIND__CRYPTO_SIGN:
		*p = CF_SIGN;
		*usage = CKA_SIGN;
		return 0;
	case COFFER__CRYPTO_KIND__CRYPTO_VERIFY:
		*p = CF_VERIFY;
		*usage = CKA_VERIFY;
		return 0;
	case COFFER__CRYPTO_KIND__CRYPTO_DIGEST:
		*p = CF_DIGEST;
		*usage = 0;
		return 0;
	default:
		return COFFER_E_INVAL;
	}
}

/* Growable output; cleansed when freed (it may hold plaintext). */
struct obuf {
	uint8_t *p;
	size_t len, cap;
};

static int
obuf_reserve(struct obuf *b, size_t extra)
{
	uint8_t *np;
	size_t nc;

	if (extra <= b->cap - b->len)
		return 0;
	if (extra > SIZE_MAX / 2 - b->len)
		return COFFER_E_NOMEM;
	nc = b->len + extra + 64;
	if ((np = malloc(nc)) == NULL)
		return COFFER_E_NOMEM;
	if (b->len > 0)
		memcpy(np, b->p, b->len);
	if (b->p != NULL) {
		cf_cleanse(b->p, b->cap);
		free(b->p);
	}
	b->p = np;
	b->cap = nc;
	return 0;
}

static void
obuf_free(struct obuf *b)
{
	if (b->p != NULL) {
		cf_cleanse(b->p, b->cap);
		free(b->p);
	}
	*b = (struct obuf){0};
}

static bool
produces_output(enum cf_purpose p)
{
	return p == CF_ENCRYPT || p == CF_DECRYPT;
}

static int
op_update(struct cf_op *op, enum cf_purpose p, const uint8_t *in, size_t n,
    struct obuf *b)
{
	size_t out;
	int rc;

	if (!produces_output(p))
		return cf_op_update(op, in, n, NULL, NULL);
	if ((rc = obuf_reserve(b, n + 32)) != 0)
		return rc;
	out = b->cap - b->len;
	rc = cf_op_update(op, in, n, b->p + b->len, &out);
	if (rc == COFFER_E_BUFFER_TOO_SMALL) {
		if ((rc = obuf_reserve(b, out)) != 0)
			return rc;
		out = b->cap - b->len;
		rc = cf_op_update(op, in, n, b->p + b->len, &out);
	}
	if (rc == 0)
		b->len += out;
	return rc;
}

static int
op_final(struct cf_op *op, struct obuf *b)
{
	size_t out = 0;
	int rc;

	if ((rc = cf_op_final(op, NULL, &out)) != 0)
		return rc;
	/*
	 * Never pass a NULL buffer below, even when nothing is expected
	 * (AES-CBC/ECB): cf_op_final takes NULL for a length query and would
	 * skip the final checks, such as a trailing partial block.
	 */
	if ((rc = obuf_reserve(b, out > 0 ? out : 1)) != 0)
		return rc;
	out = b->cap - b->len;
	if ((rc = cf_op_final(op, b->p + b->len, &out)) == 0)
		b->len += out;
	return rc;
}

struct data_resp {
	Coffer__CryptoDataResp r;
	uint8_t iv[16];
};

/* Sets a CryptoDataResp body (out is kept and cleansed after packing). */
static int
data_resp(struct cf_cmd_ctx *ctx, struct obuf *out, const struct cf_op *op)
{
	struct data_resp *d;
	size_t ivl = sizeof(d->iv);

	if ((d = cf_cmd_keep(ctx, calloc(1, sizeof(*d)))) == NULL)
		return COFFER_E_NOMEM;
	coffer__crypto_data_resp__init(&d->r);
	if (out != NULL && out->len > 0) {
		if (cf_cmd_keep_secret(ctx, out->p, out->cap) == NULL) {
			*out = (struct obuf){0};
			return COFFER_E_NOMEM;
		}
		d->r.data.data = out->p;
		d->r.data.len = out->len;
		*out = (struct obuf){0};
	}
	if (op != NULL && cf_op_get_iv(op, d->iv, &ivl) == 0 &&
	    ivl <= sizeof(d->iv)) {
		d->r.iv.data = d->iv;
		d->r.iv.len = ivl;
	}
	switch (ctx->req->body_case) {
	case COFFER__REQUEST__BODY_CRYPTO_UPDATE:
		ctx->resp->body_case = COFFER__RESPONSE__BODY_CRYPTO_UPDATE;
		ctx->resp->crypto_update = &d->r;
		break;
	case COFFER__REQUEST__BODY_CRYPTO_FINAL:
		ctx->resp->body_case = COFFER__RESPONSE__BODY_CRYPTO_FINAL;
		ctx->resp->crypto_final = &d->r;
		break;
	case COFFER__REQUEST__BODY_CRYPTO_ONE_SHOT:
		ctx->resp->body_case = COFFER__RESPONSE__BODY_CRYPTO_ONE_SHOT;
		ctx->resp->crypto_one_shot = &d->r;
		break;
	case COFFER__REQUEST__BODY_WRAP_KEY:
		ctx->resp->body_case = COFFER__RESPONSE__BODY_WRAP_KEY;
		ctx->resp->wrap_key = &d->r;
		break;
	case COFFER__REQUEST__BODY_RANDOM:
		ctx->resp->body_case = COFFER__RESPONSE__BODY_RANDOM;
		ctx->resp->random = &d->r;
		break;
	default:
		return COFFER_E_INTERNAL;
	}
	return 0;
}

/* Looks up the key (not for digests) and starts an engine operation. */
static int
op_start(struct cf_cmd_ctx *ctx, int kind, const Coffer__Mechanism *wm,
    uint64_t handle, struct cf_op **op, struct cf_keyref **key,
    enum cf_purpose *p)
{
	struct mechbuf *mb = NULL;
	uint64_t usage;
	int rc;

	*op = NULL;
	*key = NULL;
	if ((rc = kind_purpose(kind, p, &usage)) != 0)
		return rc;
	if ((mb = calloc(1, sizeof(*mb))) == NULL)
		return COFFER_E_NOMEM;
	if ((rc = mech_from_pb(wm, mb)) != 0) {
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "parameters do not fit %s", cf_mech_name(wm != NULL ?
		    wm->type : 0));
		goto out;
	}
	if (*p != CF_DIGEST && (rc = cf_h_key_use(ctx, handle, usage,
	    mb->m.mechanism, false, key, NULL)) != 0)
		goto out;
	rc = cf_op_init(&mb->m, *key != NULL ? cf_keyref_key(*key) : NULL,
	    *p, op);
	if (rc == COFFER_E_MECH_PARAM && mb->m.mechanism == CKM_EDDSA)
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "CKM_EDDSA takes no parameters: pure Ed25519/Ed448 only "
		    "(no Ed25519ph/Ed448ph, no context; OpenSSL 3.0)");
	else if (rc == COFFER_E_MECHANISM &&
	    cf_mech_info(mb->m.mechanism) == NULL)
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "mechanism %s is not supported",
		    cf_mech_name(mb->m.mechanism));
 out:
	if (rc != 0) {
		cf_keyref_put(*key);
		*key = NULL;
	}
	cf_cleanse(mb, sizeof(*mb));
	free(mb);
	return rc;
}

int
cf_h_crypto_one_shot(struct cf_cmd_ctx *ctx)
{
	const Coffer__CryptoOneShotReq *rq = ctx->req->crypto_one_shot;
	struct cf_keyref *key = NULL;
	struct cf_op *op = NULL;
	struct obuf out = {0};
	enum cf_purpose p;
	int rc;

	/* Not audited (the authorization table): no ctx->target to fill. */
	if ((rc = op_start(ctx, rq->kind, rq->mech, rq->key, &op, &key,
	    &p)) != 0)
		return rc;
	if ((rc = op_update(op, p, rq->data.data, rq->data.len, &out)) != 0)
		goto out;
	if (p == CF_VERIFY)
		rc = cf_op_verify_final(op, rq->signature.data,
		    rq->signature.len);
	else
		rc = op_final(op, &out);
	if (rc == 0)
		rc = data_resp(ctx, &out, op);
 out:
	obuf_free(&out);
	cf_op_free(op);
	cf_keyref_put(key);
	return rc;
}

int
cf_h_crypto_init(struct cf_cmd_ctx *ctx)
{
	const Coffer__CryptoInitReq *rq = ctx->req->crypto_init;
	struct cf_inst *in = ctx->sess->inst;
	struct cf_keyref *key = NULL;
	struct cf_op *op = NULL;
	enum cf_purpose p;
	struct {
		Coffer__CryptoInitResp r;
		uint8_t iv[16];
	} *b;
	size_t ivl;
	uint64_t id = 0;
	int rc;

	if (in == NULL)
		return COFFER_E_SESSION;
	if ((b = cf_cmd_keep(ctx, calloc(1, sizeof(*b)))) == NULL)
		return COFFER_E_NOMEM;
	if ((rc = op_start(ctx, rq->kind, rq->mech, rq->key, &op, &key,
	    &p)) != 0)
		return rc;
	coffer__crypto_init_resp__init(&b->r);
	ivl = sizeof(b->iv);
	if (cf_op_get_iv(op, b->iv, &ivl) == 0 && ivl <= sizeof(b->iv)) {
		b->r.iv.data = b->iv;
		b->r.iv.len = ivl;
	}
	/* op and key now belong to the instance (freed on error too). */
	if ((rc = cf_inst_op_add(in, rq->kind, op, key, &id)) != 0) {
		if (rc == COFFER_E_BUSY)
			snprintf(ctx->detail, sizeof(ctx->detail),
			    "too many active operations (%d)",
			    CF_MAX_OPS_PER_INSTANCE);
		return rc;
	}
	b->r.op = id;
	ctx->resp->body_case = COFFER__RESPONSE__BODY_CRYPTO_INIT;
	ctx->resp->crypto_init = &b->r;
	return 0;
}

int
cf_h_crypto_update(struct cf_cmd_ctx *ctx)
{
	const Coffer__CryptoUpdateReq *rq = ctx->req->crypto_update;
	struct cf_inst *in = ctx->sess->inst;
	struct cf_hop *h = NULL;
	struct obuf out = {0};
	enum cf_purpose p = CF_ENCRYPT;	/* set by kind_purpose */
	uint64_t usage;
	int rc;

	if (in == NULL)
		return COFFER_E_SESSION;
	if ((rc = cf_inst_op_take(in, rq->op, &h)) != 0)
		return rc;
	(void)kind_purpose(h->kind, &p, &usage);
	rc = op_update(h->op, p, rq->data.data, rq->data.len, &out);
	if (rc == 0)
		rc = data_resp(ctx, &out, NULL);
	/* PKCS#11: an error ends the operation. */
	cf_inst_op_give(in, h, rc != 0);
	obuf_free(&out);
	return rc;
}

int
cf_h_crypto_final(struct cf_cmd_ctx *ctx)
{
	const Coffer__CryptoFinalReq *rq = ctx->req->crypto_final;
	struct cf_inst *in = ctx->sess->inst;
	struct cf_hop *h = NULL;
	struct obuf out = {0};
	int rc;

	if (in == NULL)
		return COFFER_E_SESSION;
	if ((rc = cf_inst_op_take(in, rq->op, &h)) != 0)
		return rc;
	if (h->kind == COFFER__CRYPTO_KIND__CRYPTO_VERIFY)
		rc = cf_op_verify_final(h->op, rq->signature.data,
		    rq->signature.len);
	else
		rc = op_final(h->op, &out);
	if (rc == 0)
		rc = data_resp(ctx, &out, NULL);
	cf_inst_op_give(in, h, true);
	obuf_free(&out);
	return rc;
}

int
cf_h_crypto_cancel(struct cf_cmd_ctx *ctx)
{
	struct cf_inst *in = ctx->sess->inst;
	int rc;

	if (in == NULL)
		return COFFER_E_SESSION;
	if ((rc = cf_inst_op_cancel(in, ctx->req->crypto_cancel->op)) != 0)
		return rc;
	ctx->resp->body_case = COFFER__RESPONSE__BODY_CRYPTO_CANCEL;
	ctx->resp->crypto_cancel = &cf_cmd_empty;
	return 0;
}

/* --- keys from keys ------------------------------------------------------- */

int
cf_h_wrap_key(struct cf_cmd_ctx *ctx)
{
	const Coffer__WrapKeyReq *rq = ctx->req->wrap_key;
	struct cf_keyref *wk = NULL, *tk = NULL;
	struct cf_attrs wa = {0}, ta = {0};
	struct mechbuf *mb = NULL;
	struct obuf out = {0};
	size_t n = 0;
	int rc;

	snprintf(ctx->target, sizeof(ctx->target), "%llu with %llu",
	    (unsigned long long)rq->key, (unsigned long long)rq->wrapping_key);
	if ((mb = calloc(1, sizeof(*mb))) == NULL)
		return COFFER_E_NOMEM;
	if ((rc = mech_from_pb(rq->mech, mb)) != 0)
		goto out;
	/* The key leaving: its owner only, extractable, trusted target. */
	if ((rc = cf_h_key_use(ctx, rq->key, 0, CK_UNAVAILABLE_INFORMATION,
	    true, &tk, &ta)) != 0)
		goto out;
	if (cf_attrs_ulong(&ta, CKA_CLASS, 0) == CKO_PUBLIC_KEY) {
		rc = COFFER_E_KEY_TYPE;
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "public keys are exported, not wrapped");
		goto out;
	}
	if (!cf_attrs_bool(&ta, CKA_EXTRACTABLE, false)) {
		rc = COFFER_E_NOT_EXTRACTABLE;
		goto out;
	}
	if ((rc = cf_h_key_use(ctx, rq->wrapping_key, CKA_WRAP,
	    mb->m.mechanism, false, &wk, &wa)) != 0)
		goto out;
	if (cf_attrs_bool(&ta, CKA_WRAP_WITH_TRUSTED, false) &&
	    !cf_attrs_bool(&wa, CKA_TRUSTED, false)) {
		rc = COFFER_E_WRAPPING_KEY;
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "key has CKA_WRAP_WITH_TRUSTED: the wrapping key must "
		    "be CKA_TRUSTED");
		goto out;
	}
	if (rq->wrapping_key == rq->key) {
		rc = COFFER_E_WRAPPING_KEY;
		goto out;
	}
	if ((rc = cf_wrap(&mb->m, cf_keyref_key(wk), cf_keyref_key(tk), NULL,
	    &n)) != 0 || (rc = obuf_reserve(&out, n)) != 0)
		goto out;
	n = out.cap;
	if ((rc = cf_wrap(&mb->m, cf_keyref_key(wk), cf_keyref_key(tk), out.p,
	    &n)) != 0)
		goto out;
	out.len = n;
	rc = data_resp(ctx, &out, NULL);
 out:
	if (mb != NULL)
		cf_cleanse(mb, sizeof(*mb));
	free(mb);
	obuf_free(&out);
	cf_attrs_clear(&wa);
	cf_attrs_clear(&ta);
	cf_keyref_put(wk);
	cf_keyref_put(tk);
	return rc;
}

int
cf_h_unwrap_key(struct cf_cmd_ctx *ctx)
{
	const Coffer__UnwrapKeyReq *rq = ctx->req->unwrap_key;
	struct cf_attrs t = {0}, a = {0};
	struct cf_keyref *uk = NULL;
	struct cf_key *k = NULL;
	struct mechbuf *mb = NULL;
	struct cf_newobj no;
	uint8_t *mat = NULL;
	size_t mat_len = 0;
	uint64_t cls, kt, want_len, handle = 0;
	bool have_len;
	int rc;

	if ((mb = calloc(1, sizeof(*mb))) == NULL)
		return COFFER_E_NOMEM;
	if ((rc = mech_from_pb(rq->mech, mb)) != 0)
		goto out;
	if ((rc = cf_attrs_from_pb(rq->tmpl, rq->n_tmpl, &t)) != 0)
		goto out;
	cls = cf_attrs_ulong(&t, CKA_CLASS, CK_UNAVAILABLE_INFORMATION);
	kt = cf_attrs_ulong(&t, CKA_KEY_TYPE, CK_UNAVAILABLE_INFORMATION);
	if ((cls != CKO_SECRET_KEY && cls != CKO_PRIVATE_KEY) ||
	    kt == CK_UNAVAILABLE_INFORMATION) {
		rc = COFFER_E_ATTRIBUTE;
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "the template needs CKA_CLASS (secret or private key) and "
		    "CKA_KEY_TYPE");
		goto out;
	}
	if ((rc = cf_tmpl_begin(CF_T_UNWRAP, cls, kt, &t, &a)) != 0)
		goto out;
	have_len = cf_attrs_find(&a, CKA_VALUE_LEN) != NULL;
	want_len = cf_attrs_ulong(&a, CKA_VALUE_LEN, 0);
	cf_attrs_del(&a, CKA_VALUE_LEN);
	if ((rc = cf_h_key_use(ctx, rq->unwrapping_key, CKA_UNWRAP,
	    mb->m.mechanism, false, &uk, NULL)) != 0)
		goto out;
	if ((rc = cf_unwrap(&mb->m, cf_keyref_key(uk), rq->wrapped.data,
	    rq->wrapped.len, cls, kt, &k)) != 0)
		goto out;
	if (have_len && cls == CKO_SECRET_KEY &&
	    want_len * 8 != cf_key_bits(k)) {
		rc = COFFER_E_WRAPPED_KEY;
		goto out;
	}
	if ((rc = cf_tmpl_finish(CF_T_UNWRAP, 0, NULL, k, &a)) != 0 ||
	    (rc = cf_h_serialize(k, &mat, &mat_len)) != 0)
		goto out;
	no = (struct cf_newobj){ &a, mat, mat_len };
	if ((rc = cf_h_make_objects(ctx, &no, 1, &handle)) != 0)
		goto out;
	cf_h_set_handle_resp(ctx, handle);
 out:
	if (mb != NULL)
		cf_cleanse(mb, sizeof(*mb));
	free(mb);
	cf_free_secret(mat, mat_len);
	cf_key_free(k);
	cf_keyref_put(uk);
	cf_attrs_clear(&t);
	cf_attrs_clear(&a);
	return rc;
}

int
cf_h_derive_key(struct cf_cmd_ctx *ctx)
{
	const Coffer__DeriveKeyReq *rq = ctx->req->derive_key;
	struct cf_attrs t = {0}, a = {0}, ba = {0};
	struct cf_keyref *bk = NULL;
	struct cf_key *k = NULL;
	struct mechbuf *mb = NULL;
	struct cf_newobj no;
	uint8_t *mat = NULL;
	size_t mat_len = 0;
	uint64_t kt, len, handle = 0;
	int rc;

	if ((mb = calloc(1, sizeof(*mb))) == NULL)
		return COFFER_E_NOMEM;
	if ((rc = mech_from_pb(rq->mech, mb)) != 0)
		goto out;
	if ((rc = cf_attrs_from_pb(rq->tmpl, rq->n_tmpl, &t)) != 0)
		goto out;
	kt = cf_attrs_ulong(&t, CKA_KEY_TYPE, CK_UNAVAILABLE_INFORMATION);
	if ((kt != CKK_AES && kt != CKK_GENERIC_SECRET) ||
	    cf_attrs_find(&t, CKA_VALUE_LEN) == NULL) {
		rc = COFFER_E_ATTRIBUTE;
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "the template needs CKA_KEY_TYPE (AES or generic secret) "
		    "and CKA_VALUE_LEN");
		goto out;
	}
	if ((rc = cf_tmpl_begin(CF_T_DERIVE, CKO_SECRET_KEY, kt, &t, &a)) != 0)
		goto out;
	len = cf_attrs_ulong(&a, CKA_VALUE_LEN, 0);
	cf_attrs_del(&a, CKA_VALUE_LEN);
	if (len == 0 || len > CF_GENERIC_MAX_LEN) {
		rc = COFFER_E_KEY_SIZE;
		goto out;
	}
	if ((rc = cf_h_key_use(ctx, rq->base_key, CKA_DERIVE,
	    mb->m.mechanism, false, &bk, &ba)) != 0)
		goto out;
	if ((rc = cf_derive(&mb->m, cf_keyref_key(bk), kt, (size_t)len,
	    &k)) != 0)
		goto out;
	if ((rc = cf_tmpl_finish(CF_T_DERIVE, 0, &ba, k, &a)) != 0 ||
	    (rc = cf_h_serialize(k, &mat, &mat_len)) != 0)
		goto out;
	no = (struct cf_newobj){ &a, mat, mat_len };
	if ((rc = cf_h_make_objects(ctx, &no, 1, &handle)) != 0)
		goto out;
	cf_h_set_handle_resp(ctx, handle);
 out:
	if (mb != NULL)
		cf_cleanse(mb, sizeof(*mb));
	free(mb);
	cf_free_secret(mat, mat_len);
	cf_key_free(k);
	cf_keyref_put(bk);
	cf_attrs_clear(&t);
	cf_attrs_clear(&a);
	cf_attrs_clear(&ba);
	return rc;
}

/* --- random, mechanisms --------------------------------------------------- */

int
cf_h_random(struct cf_cmd_ctx *ctx)
{
	uint32_t len = ctx->req->random->len;
	struct obuf out = {0};
	int rc;

	if (len > RANDOM_MAX)
		return COFFER_E_TOOBIG;
	if (len > 0) {
		if ((rc = obuf_reserve(&out, len)) != 0)
			return rc;
		if ((rc = cf_random_priv(out.p, len)) != 0) {
			obuf_free(&out);
			return rc;
		}
		out.len = len;
	}
	rc = data_resp(ctx, &out, NULL);
	obuf_free(&out);
	return rc;
}

int
cf_h_mech_list(struct cf_cmd_ctx *ctx)
{
	const struct cf_mech_info *ml;
	Coffer__MechListResp *r;
	Coffer__MechInfo *mi, **mp;
	size_t i, n = 0;
	uint8_t *mem;

	ml = cf_mech_list(&n);
	mem = calloc(1, sizeof(*r) + (n + 1) * (sizeof(*mi) + sizeof(*mp)));
	if (cf_cmd_keep(ctx, mem) == NULL)
		return COFFER_E_NOMEM;
	r = (Coffer__MechListResp *)mem;
	mi = (Coffer__MechInfo *)(r + 1);
	mp = (Coffer__MechInfo **)(mi + n + 1);
	coffer__mech_list_resp__init(r);
	for (i = 0; i < n; i++) {
		coffer__mech_info__init(&mi[i]);
		mi[i].type = ml[i].mech;
		mi[i].min_key = ml[i].min_key;
		mi[i].max_key = ml[i].max_key;
		mi[i].flags = ml[i].flags & ~(uint64_t)CF_MF_SINGLE;
		mp[i] = &mi[i];
	}
	r->n_mechs = n;
	r->mechs = mp;
	ctx->resp->body_case = COFFER__RESPONSE__BODY_MECH_LIST;
	ctx->resp->mech_list = r;
	return 0;
}
