/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objwire.c: native PKCS#11 templates and mechanisms <-> wire messages.
 *
 * Guarantees: CK_ULONG values cross the wire as 8-byte big-endian and
 * CK_BBOOL as one byte whatever the platform (proto/coffer.proto, Attribute);
 * every length and pointer in a parameter block is checked before it is
 * read; attribute values copied for the wire are wiped when cleared; reading
 * attributes follows C_GetAttributeValue exactly (every attribute is
 * processed, CK_UNAVAILABLE_INFORMATION marks the ones that could not be
 * returned, the rc is the most important of the failures).
 */
#include "client/objwire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/secmem.h"
#include "common/p11attr.h"

static int
attr_kind(uint64_t type)
{
	return cf_attr_kind(type);
}

/* --- templates ---------------------------------------------------------- */

static void
put_be64(uint64_t v, uint8_t *out)
{
	int i;

	for (i = 7; i >= 0; i--) {
		out[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t
get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* One native attribute to wire; the value is copied. */
static int
one_to_wire(const CK_ATTRIBUTE *a, Coffer__Attribute *w)
{
	CK_ULONG one;
	size_t i, cnt, wlen;
	uint8_t *buf = NULL;
	int kind;

	coffer__attribute__init(w);
	w->type = a->type;
	if (a->pValue == NULL && a->ulValueLen != 0)
		return COFFER_E_ATTRIBUTE;
	if ((kind = attr_kind(a->type)) < 0)
		return COFFER_E_INTERNAL;
	switch (kind) {
	case CF_AK_ULONG:
		if (a->ulValueLen != sizeof(CK_ULONG) || a->pValue == NULL)
			return COFFER_E_ATTRIBUTE;
		wlen = 8;
		break;
	case CF_AK_BOOL:
		if (a->ulValueLen != sizeof(CK_BBOOL) || a->pValue == NULL)
			return COFFER_E_ATTRIBUTE;
		wlen = 1;
		break;
	case CF_AK_MECHS:
		if (a->ulValueLen % sizeof(CK_ULONG) != 0)
			return COFFER_E_ATTRIBUTE;
		cnt = a->ulValueLen / sizeof(CK_ULONG);
		wlen = cnt * 8;
		break;
	default:
		/* Attribute arrays hold pointers: nothing to send. */
		if (a->type & CKF_ARRAY_ATTRIBUTE)
			return COFFER_E_ATTRIBUTE;
		wlen = a->ulValueLen;
		break;
	}
	if (wlen == 0)
		return 0;
	if ((buf = malloc(wlen)) == NULL)
		return COFFER_E_NOMEM;
	switch (kind) {
	/* The application's buffer need not be aligned: memcpy */
	case CF_AK_ULONG:
		memcpy(&one, a->pValue, sizeof(one));
		put_be64(one, buf);
		break;
	case CF_AK_MECHS:
		for (i = 0; i < wlen / 8; i++) {
			memcpy(&one, (const uint8_t *)a->pValue +
			    i * sizeof(CK_ULONG), sizeof(one));
			put_be64(one, buf + 8 * i);
		}
		break;
	default:
		memcpy(buf, a->pValue, wlen);
		break;
	}
	w->value.data = buf;
	w->value.len = wlen;
	return 0;
}

int
cf_tmpl_to_wire(const CK_ATTRIBUTE *tmpl, size_t n, struct cf_tmpl_wire *out)
{
	size_t i;
	int rc = COFFER_E_INTERNAL;

	out->attrs = NULL;
	out->ptrs = NULL;
	out->n = 0;
	if (n == 0)
		return 0;
	if (tmpl == NULL || n > CF_TMPL_MAX)
		return COFFER_E_INVAL;
	if ((out->attrs = calloc(n, sizeof(*out->attrs))) == NULL ||
	    (out->ptrs = calloc(n, sizeof(*out->ptrs))) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		out->n = i + 1;		/* clear() frees what was made */
		if ((rc = one_to_wire(&tmpl[i], &out->attrs[i])) != 0)
			goto out;
		out->ptrs[i] = &out->attrs[i];
	}
	rc = 0;
out:
	if (rc != 0)
		cf_tmpl_wire_clear(out);
	return rc;
}

void
cf_tmpl_wire_clear(struct cf_tmpl_wire *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; t->attrs != NULL && i < t->n; i++) {
		if (t->attrs[i].value.data != NULL) {
			cf_cleanse(t->attrs[i].value.data,
			    t->attrs[i].value.len);
			free(t->attrs[i].value.data);
		}
	}
	free(t->attrs);
	free(t->ptrs);
	t->attrs = NULL;
	t->ptrs = NULL;
	t->n = 0;
}

/*
 * Native length of a wire value of attribute type; COFFER_E_PROTO when the
 * wire value is not well-formed for its kind.
 */
static int
native_len(uint64_t type, size_t wlen, size_t *out)
{
	switch (attr_kind(type)) {
	case -1:
		return COFFER_E_INTERNAL;
	case CF_AK_ULONG:
		if (wlen != 8)
			return COFFER_E_PROTO;
		*out = sizeof(CK_ULONG);
		return 0;
	case CF_AK_BOOL:
		if (wlen != 1)
			return COFFER_E_PROTO;
		*out = sizeof(CK_BBOOL);
		return 0;
	case CF_AK_MECHS:
		if (wlen % 8 != 0)
			return COFFER_E_PROTO;
		*out = wlen / 8 * sizeof(CK_ULONG);
		return 0;
	default:
		*out = wlen;
		return 0;
	}
}

static int
value_from_wire(uint64_t type, const uint8_t *w, size_t wlen, void *dst)
{
	CK_ULONG one;
	uint64_t v;
	size_t i;

	switch (attr_kind(type)) {
	/* dst is the application's buffer, maybe unaligned: memcpy */
	case CF_AK_ULONG:
		v = get_be64(w);
		if (v > (uint64_t)(CK_ULONG)-1)
			return COFFER_E_PROTO;
		one = (CK_ULONG)v;
		memcpy(dst, &one, sizeof(one));
		return 0;
	case CF_AK_MECHS:
		for (i = 0; i < wlen / 8; i++) {
			v = get_be64(w + 8 * i);
			if (v > (uint64_t)(CK_ULONG)-1)
				return COFFER_E_PROTO;
			one = (CK_ULONG)v;
			memcpy((uint8_t *)dst + i * sizeof(CK_ULONG), &one,
			    sizeof(one));
		}
		return 0;
	default:
		if (wlen > 0)
			memcpy(dst, w, wlen);
		return 0;
	}
}

int
cf_attrs_from_wire(const Coffer__ObjGetAttrsResp *resp, CK_ATTRIBUTE *tmpl,
    size_t n)
{
	const Coffer__AttrResult *r;
	bool sensitive = false, invalid = false, small = false;
	size_t i, len;
	int rc;

	if (n > 0 && tmpl == NULL)
		return COFFER_E_INVAL;
	if (resp == NULL || resp->n_attrs != n)
		return COFFER_E_PROTO;
	for (i = 0; i < n; i++) {
		r = resp->attrs[i];
		if (r == NULL || r->type != (uint64_t)tmpl[i].type)
			return COFFER_E_PROTO;
	}
	for (i = 0; i < n; i++) {
		r = resp->attrs[i];
		if (r->status == COFFER_E_ATTR_SENSITIVE) {
			tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			sensitive = true;
			continue;
		}
		if (r->status != 0) {
			/* E_ATTRIBUTE (type invalid) or anything unexpected. */
			tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			invalid = true;
			continue;
		}
		if ((rc = native_len(r->type, r->value.len, &len)) != 0)
			return rc;
		if (tmpl[i].pValue == NULL) {
			tmpl[i].ulValueLen = len;
			continue;
		}
		if (tmpl[i].ulValueLen < len) {
			tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			small = true;
			continue;
		}
		if ((rc = value_from_wire(r->type, r->value.data, r->value.len,
		    tmpl[i].pValue)) != 0)
			return rc;
		tmpl[i].ulValueLen = len;
	}
	/* PKCS#11 3.0 §5.7 C_GetAttributeValue: sensitive, invalid, small. */
	if (sensitive)
		return COFFER_E_ATTR_SENSITIVE;
	if (invalid)
		return COFFER_E_ATTRIBUTE;
	if (small)
		return COFFER_E_BUFFER_TOO_SMALL;
	return 0;
}

/* --- mechanisms --------------------------------------------------------- */

enum pkind {
	P_NONE = 0,	/* no parameters */
	P_IV16,		/* 16-byte IV (CBC) */
	P_WRAP_IV8,	/* optional 8-byte IV (RFC 3394) */
	P_WRAP_IV4,	/* optional 4-byte IV (RFC 5649) */
	P_PSS,
	P_OAEP,
	P_GCM,
	P_CTR,
	P_ECDH1,
	P_KBKDF,
	P_RSA_AES,
	P_MAC_LEN,
	P_EDDSA,
};

static const struct {
	CK_MECHANISM_TYPE type;
	enum pkind kind;
} ptable[] = {
	{ CKM_AES_CBC, P_IV16 },
	{ CKM_AES_CBC_PAD, P_IV16 },
	{ CKM_AES_KEY_WRAP, P_WRAP_IV8 },
	{ CKM_AES_KEY_WRAP_PAD, P_WRAP_IV4 },
	{ CKM_AES_KEY_WRAP_KWP, P_WRAP_IV4 },
	{ CKM_RSA_PKCS_PSS, P_PSS },
	{ CKM_SHA1_RSA_PKCS_PSS, P_PSS },
	{ CKM_SHA224_RSA_PKCS_PSS, P_PSS },
	{ CKM_SHA256_RSA_PKCS_PSS, P_PSS },
	{ CKM_SHA384_RSA_PKCS_PSS, P_PSS },
	{ CKM_SHA512_RSA_PKCS_PSS, P_PSS },
	{ CKM_SHA3_224_RSA_PKCS_PSS, P_PSS },
	{ CKM_SHA3_256_RSA_PKCS_PSS, P_PSS },
	{ CKM_SHA3_384_RSA_PKCS_PSS, P_PSS },
	{ CKM_SHA3_512_RSA_PKCS_PSS, P_PSS },
	{ CKM_RSA_PKCS_OAEP, P_OAEP },
	{ CKM_AES_GCM, P_GCM },
	{ CKM_AES_CTR, P_CTR },
	{ CKM_ECDH1_DERIVE, P_ECDH1 },
	{ CKM_ECDH1_COFACTOR_DERIVE, P_ECDH1 },
	{ CKM_SP800_108_COUNTER_KDF, P_KBKDF },
	{ CKM_RSA_AES_KEY_WRAP, P_RSA_AES },
	{ CKM_SHA_1_HMAC_GENERAL, P_MAC_LEN },
	{ CKM_SHA224_HMAC_GENERAL, P_MAC_LEN },
	{ CKM_SHA256_HMAC_GENERAL, P_MAC_LEN },
	{ CKM_SHA384_HMAC_GENERAL, P_MAC_LEN },
	{ CKM_SHA512_HMAC_GENERAL, P_MAC_LEN },
	{ CKM_SHA3_224_HMAC_GENERAL, P_MAC_LEN },
	{ CKM_SHA3_256_HMAC_GENERAL, P_MAC_LEN },
	{ CKM_SHA3_384_HMAC_GENERAL, P_MAC_LEN },
	{ CKM_SHA3_512_HMAC_GENERAL, P_MAC_LEN },
	{ CKM_AES_CMAC_GENERAL, P_MAC_LEN },
	{ CKM_EDDSA, P_EDDSA },
};

static enum pkind
param_kind(CK_MECHANISM_TYPE t)
{
	size_t i;

	for (i = 0; i < sizeof(ptable) / sizeof(ptable[0]); i++)
		if (ptable[i].type == t)
			return ptable[i].kind;
	return P_NONE;
}

/* A (pointer, length) pair is usable: NULL only with length 0. */
#define PTR_OK(p, n) ((p) != NULL || (n) == 0)

static void
set_bin(ProtobufCBinaryData *b, const void *p, size_t n)
{
	b->data = n > 0 ? (uint8_t *)p : NULL;
	b->len = n;
}

static int
oaep_to_wire(const CK_RSA_PKCS_OAEP_PARAMS *p, Coffer__OaepParams *w)
{
	if (p == NULL || !PTR_OK(p->pSourceData, p->ulSourceDataLen))
		return COFFER_E_MECH_PARAM;
	w->hash_alg = p->hashAlg;
	w->mgf = p->mgf;
	w->source = p->source;
	set_bin(&w->label, p->pSourceData, p->ulSourceDataLen);
	return 0;
}

static int
kbkdf_to_wire(const CK_SP800_108_KDF_PARAMS *p, struct cf_mech_wire *out)
{
	const CK_PRF_DATA_PARAM *d;
	const CK_SP800_108_COUNTER_FORMAT *cf;
	const CK_SP800_108_DKM_LENGTH_FORMAT *df;
	Coffer__PrfDataParam *w;
	uint8_t *b;
	size_t i;

	if (p->ulAdditionalDerivedKeys != 0 ||
	    p->ulNumberOfDataParams > CF_KBKDF_MAX_PARAMS ||
	    (p->ulNumberOfDataParams > 0 && p->pDataParams == NULL))
		return COFFER_E_MECH_PARAM;
	out->kbkdf.prf_type = p->prfType;
	for (i = 0; i < p->ulNumberOfDataParams; i++) {
		d = &p->pDataParams[i];
		w = &out->prf[i];
		b = out->prfbuf[i];
		coffer__prf_data_param__init(w);
		w->type = d->type;
		if (!PTR_OK(d->pValue, d->ulValueLen))
			return COFFER_E_MECH_PARAM;
		switch (d->type) {
		case CK_SP800_108_ITERATION_VARIABLE:
		case CK_SP800_108_OPTIONAL_COUNTER:
			if (d->pValue == NULL)
				break;
			if (d->ulValueLen != sizeof(*cf))
				return COFFER_E_MECH_PARAM;
			cf = d->pValue;
			b[0] = cf->bLittleEndian;
			put_be64(cf->ulWidthInBits, b + 1);
			set_bin(&w->value, b, CF_P11EXT_COUNTER_FORMAT_WIRE);
			break;
		case CK_SP800_108_DKM_LENGTH:
			if (d->pValue == NULL || d->ulValueLen != sizeof(*df))
				return COFFER_E_MECH_PARAM;
			df = d->pValue;
			put_be64(df->dkmLengthMethod, b);
			b[8] = df->bLittleEndian;
			put_be64(df->ulWidthInBits, b + 9);
			set_bin(&w->value, b, CF_P11EXT_DKM_FORMAT_WIRE);
			break;
		case CK_SP800_108_BYTE_ARRAY:
			set_bin(&w->value, d->pValue, d->ulValueLen);
			break;
		default:
			return COFFER_E_MECH_PARAM;
		}
		out->prfp[i] = w;
	}
	out->kbkdf.n_data = p->ulNumberOfDataParams;
	out->kbkdf.data = p->ulNumberOfDataParams > 0 ? out->prfp : NULL;
	return 0;
}

/* ulParameterLen must be exactly the structure and the pointer set. */
#define NEED(type)							\
	do {								\
		if (mech->pParameter == NULL ||				\
		    mech->ulParameterLen != sizeof(type))		\
			return COFFER_E_MECH_PARAM;			\
	} while (0)

int
cf_mech_to_wire(const CK_MECHANISM *mech, struct cf_mech_wire *out)
{
	const CK_RSA_PKCS_PSS_PARAMS *pss;
	const CK_GCM_PARAMS *gcm;
	const CK_AES_CTR_PARAMS *ctr;
	const CK_ECDH1_DERIVE_PARAMS *ecdh;
	const CK_RSA_AES_KEY_WRAP_PARAMS *ra;
	const CK_EDDSA_PARAMS *ed;
	enum pkind k;
	bool none;
	int rc;

	coffer__mechanism__init(&out->m);
	coffer__pss_params__init(&out->pss);
	coffer__oaep_params__init(&out->oaep);
	coffer__gcm_params__init(&out->gcm);
	coffer__ctr_params__init(&out->ctr);
	coffer__ecdh1_params__init(&out->ecdh1);
	coffer__sp800108_params__init(&out->kbkdf);
	coffer__rsa_aes_wrap_params__init(&out->rsa_aes);
	coffer__eddsa_params__init(&out->eddsa);
	if (mech == NULL)
		return COFFER_E_INVAL;
	out->m.type = mech->mechanism;
	if (!PTR_OK(mech->pParameter, mech->ulParameterLen))
		return COFFER_E_MECH_PARAM;
	none = mech->ulParameterLen == 0;
	k = param_kind(mech->mechanism);
	switch (k) {
	case P_NONE:
		if (!none)
			return COFFER_E_MECH_PARAM;
		return 0;
	case P_IV16:
		if (mech->ulParameterLen != 16)
			return COFFER_E_MECH_PARAM;
		out->m.params_case = COFFER__MECHANISM__PARAMS_IV;
		set_bin(&out->m.iv, mech->pParameter, 16);
		return 0;
	case P_WRAP_IV8:
	case P_WRAP_IV4:
		if (none)
			return 0;
		if (mech->ulParameterLen != (k == P_WRAP_IV8 ? 8u : 4u))
			return COFFER_E_MECH_PARAM;
		out->m.params_case = COFFER__MECHANISM__PARAMS_IV;
		set_bin(&out->m.iv, mech->pParameter, mech->ulParameterLen);
		return 0;
	case P_PSS:
		NEED(CK_RSA_PKCS_PSS_PARAMS);
		pss = mech->pParameter;
		out->pss.hash_alg = pss->hashAlg;
		out->pss.mgf = pss->mgf;
		out->pss.salt_len = pss->sLen;
		out->m.params_case = COFFER__MECHANISM__PARAMS_PSS;
		out->m.pss = &out->pss;
		return 0;
	case P_OAEP:
		NEED(CK_RSA_PKCS_OAEP_PARAMS);
		if ((rc = oaep_to_wire(mech->pParameter, &out->oaep)) != 0)
			return rc;
		out->m.params_case = COFFER__MECHANISM__PARAMS_OAEP;
		out->m.oaep = &out->oaep;
		return 0;
	case P_GCM:
		NEED(CK_GCM_PARAMS);
		gcm = mech->pParameter;
		if (!PTR_OK(gcm->pIv, gcm->ulIvLen) ||
		    !PTR_OK(gcm->pAAD, gcm->ulAADLen))
			return COFFER_E_MECH_PARAM;
		set_bin(&out->gcm.iv, gcm->pIv, gcm->ulIvLen);
		out->gcm.iv_bits = gcm->ulIvBits;
		set_bin(&out->gcm.aad, gcm->pAAD, gcm->ulAADLen);
		out->gcm.tag_bits = gcm->ulTagBits;
		out->m.params_case = COFFER__MECHANISM__PARAMS_GCM;
		out->m.gcm = &out->gcm;
		return 0;
	case P_CTR:
		NEED(CK_AES_CTR_PARAMS);
		ctr = mech->pParameter;
		out->ctr.counter_bits = ctr->ulCounterBits;
		set_bin(&out->ctr.cb, ctr->cb, sizeof(ctr->cb));
		out->m.params_case = COFFER__MECHANISM__PARAMS_CTR;
		out->m.ctr = &out->ctr;
		return 0;
	case P_ECDH1:
		NEED(CK_ECDH1_DERIVE_PARAMS);
		ecdh = mech->pParameter;
		if (ecdh->pPublicData == NULL || ecdh->ulPublicDataLen == 0 ||
		    !PTR_OK(ecdh->pSharedData, ecdh->ulSharedDataLen))
			return COFFER_E_MECH_PARAM;
		out->ecdh1.kdf = ecdh->kdf;
		set_bin(&out->ecdh1.shared_data, ecdh->pSharedData,
		    ecdh->ulSharedDataLen);
		set_bin(&out->ecdh1.public_data, ecdh->pPublicData,
		    ecdh->ulPublicDataLen);
		out->m.params_case = COFFER__MECHANISM__PARAMS_ECDH1;
		out->m.ecdh1 = &out->ecdh1;
		return 0;
	case P_KBKDF:
		NEED(CK_SP800_108_KDF_PARAMS);
		if ((rc = kbkdf_to_wire(mech->pParameter, out)) != 0)
			return rc;
		out->m.params_case = COFFER__MECHANISM__PARAMS_KBKDF;
		out->m.kbkdf = &out->kbkdf;
		return 0;
	case P_RSA_AES:
		NEED(CK_RSA_AES_KEY_WRAP_PARAMS);
		ra = mech->pParameter;
		if ((rc = oaep_to_wire(ra->pOAEPParams, &out->oaep)) != 0)
			return rc;
		out->rsa_aes.aes_key_bits = ra->ulAESKeyBits;
		out->rsa_aes.oaep = &out->oaep;
		out->m.params_case = COFFER__MECHANISM__PARAMS_RSA_AES;
		out->m.rsa_aes = &out->rsa_aes;
		return 0;
	case P_MAC_LEN:
		NEED(CK_MAC_GENERAL_PARAMS);
		out->m.params_case = COFFER__MECHANISM__PARAMS_MAC_LEN;
		out->m.mac_len = *(const CK_MAC_GENERAL_PARAMS *)
		    mech->pParameter;
		return 0;
	case P_EDDSA:
		/* Pure EdDSA takes no parameters; CK_EDDSA_PARAMS optional. */
		if (none)
			return 0;
		NEED(CK_EDDSA_PARAMS);
		ed = mech->pParameter;
		if (!PTR_OK(ed->pContextData, ed->ulContextDataLen))
			return COFFER_E_MECH_PARAM;
		out->eddsa.ph_flag = ed->phFlag != CK_FALSE;
		set_bin(&out->eddsa.context, ed->pContextData,
		    ed->ulContextDataLen);
		out->m.params_case = COFFER__MECHANISM__PARAMS_EDDSA;
		out->m.eddsa = &out->eddsa;
		return 0;
	}
	return COFFER_E_MECH_PARAM;
}

/* --- deep copies of mechanisms ------------------------------------------ */

/* A copied mechanism: one block, cleansed and freed as a whole. */
struct mech_copy {
	size_t total;
	CK_MECHANISM m;
};

#define ALIGN16(n) (((n) + 15) & ~(size_t)15)

/* Appends n bytes of p to the block at *off; returns the copy or NULL. */
static void *
put(uint8_t *base, size_t *off, const void *p, size_t n)
{
	uint8_t *d;

	if (n == 0 || p == NULL)
		return NULL;
	d = base + *off;
	memcpy(d, p, n);
	*off += ALIGN16(n);
	return d;
}

int
coffer_mech_dup(const CK_MECHANISM *mech, CK_MECHANISM **out)
{
	struct cf_mech_wire *mw = NULL;
	const CK_GCM_PARAMS *gcm = NULL;
	const CK_RSA_PKCS_OAEP_PARAMS *oaep = NULL;
	const CK_EDDSA_PARAMS *ed = NULL;
	const CK_ECDH1_DERIVE_PARAMS *ecdh = NULL;
	const CK_RSA_AES_KEY_WRAP_PARAMS *ra = NULL;
	struct mech_copy *mc = NULL;
	uint8_t *base;
	size_t total, off;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (mech == NULL || out == NULL)
		return COFFER_E_INVAL;
	/* The same checks as the wire conversion. */
	if ((mw = calloc(1, sizeof(*mw))) == NULL)
		return COFFER_E_NOMEM;
	rc = cf_mech_to_wire(mech, mw);
	free(mw);
	if (rc != 0)
		return rc;
	total = ALIGN16(sizeof(*mc)) + ALIGN16(mech->ulParameterLen);
	switch (mech->ulParameterLen > 0 ? param_kind(mech->mechanism) :
	    P_NONE) {
	case P_GCM:
		gcm = mech->pParameter;
		total += ALIGN16(gcm->ulIvLen) + ALIGN16(gcm->ulAADLen);
		break;
	case P_OAEP:
		oaep = mech->pParameter;
		total += ALIGN16(oaep->ulSourceDataLen);
		break;
	case P_EDDSA:
		ed = mech->pParameter;
		total += ALIGN16(ed->ulContextDataLen);
		break;
	case P_ECDH1:
		ecdh = mech->pParameter;
		total += ALIGN16(ecdh->ulSharedDataLen) +
		    ALIGN16(ecdh->ulPublicDataLen);
		break;
	case P_RSA_AES:
		ra = mech->pParameter;
		oaep = ra->pOAEPParams;
		total += ALIGN16(sizeof(*oaep)) +
		    ALIGN16(oaep->ulSourceDataLen);
		break;
	case P_KBKDF:
		/* Nested arrays; a derivation is never kept for later. */
		return COFFER_E_MECHANISM;
	default:
		break;		/* flat structure or bytes */
	}
	if ((mc = calloc(1, total)) == NULL)
		return COFFER_E_NOMEM;
	mc->total = total;
	base = (uint8_t *)mc;
	off = ALIGN16(sizeof(*mc));
	mc->m.mechanism = mech->mechanism;
	mc->m.ulParameterLen = mech->ulParameterLen;
	mc->m.pParameter = put(base, &off, mech->pParameter,
	    mech->ulParameterLen);
	if (gcm != NULL) {
		CK_GCM_PARAMS *g = mc->m.pParameter;

		g->pIv = put(base, &off, gcm->pIv, gcm->ulIvLen);
		g->pAAD = put(base, &off, gcm->pAAD, gcm->ulAADLen);
	} else if (ra != NULL) {
		CK_RSA_AES_KEY_WRAP_PARAMS *r = mc->m.pParameter;
		CK_RSA_PKCS_OAEP_PARAMS *o;

		o = put(base, &off, oaep, sizeof(*oaep));
		o->pSourceData = put(base, &off, oaep->pSourceData,
		    oaep->ulSourceDataLen);
		r->pOAEPParams = o;
	} else if (oaep != NULL) {
		CK_RSA_PKCS_OAEP_PARAMS *o = mc->m.pParameter;

		o->pSourceData = put(base, &off, oaep->pSourceData,
		    oaep->ulSourceDataLen);
	} else if (ed != NULL) {
		CK_EDDSA_PARAMS *e = mc->m.pParameter;

		e->pContextData = put(base, &off, ed->pContextData,
		    ed->ulContextDataLen);
	} else if (ecdh != NULL) {
		CK_ECDH1_DERIVE_PARAMS *e = mc->m.pParameter;

		e->pSharedData = put(base, &off, ecdh->pSharedData,
		    ecdh->ulSharedDataLen);
		e->pPublicData = put(base, &off, ecdh->pPublicData,
		    ecdh->ulPublicDataLen);
	}
	*out = &mc->m;
	return 0;
}

void
coffer_mech_free(CK_MECHANISM *m)
{
	struct mech_copy *mc;

	if (m == NULL)
		return;
	mc = (struct mech_copy *)((uint8_t *)m -
	    offsetof(struct mech_copy, m));
	coffer_free(mc, mc->total);
}
