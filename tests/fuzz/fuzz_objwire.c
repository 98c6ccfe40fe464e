/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_objwire.c: libFuzzer target for libcoffer's conversions between
 * native PKCS#11 structures and the wire (src/client/objwire.c) and the
 * attribute kinds they use (src/common/p11attr.c).
 *
 * Byte 0 picks the mode:
 *   0  the node's answer to ObjGetAttrs (protobuf bytes, untrusted by the
 *      client) into a template whose buffers the next bytes size;
 *   1  a native template -> cf_tmpl_to_wire -> ObjGetAttrsResp -> pack ->
 *      unpack -> cf_attrs_from_wire: the values must come back unchanged;
 *   2  a native CK_MECHANISM -> cf_mech_to_wire -> pack -> unpack, and
 *      coffer_mech_dup, whose copy must convert to the same bytes.
 * Every native buffer is a malloc of its exact stated size, so ASan sees
 * any read or write past what the application gave.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "client/objwire.h"
#include "coffer/coffer_err.h"
#include "common/p11attr.h"
#include "fuzz_input.h"

#define MAXN 32


/*
 * objwire.c's coffer_mech_dup frees with coffer_free, which lives in
 * src/client/objects.c with the whole client; the same two lines here.
 */
void
coffer_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	if (n > 0)
		OPENSSL_cleanse(p, n);
	free(p);
}


/* A malloc'd copy of the next n bytes (zero-filled past the input). */
static void *
rd_dup(struct rd *r, size_t n)
{
	uint8_t *p;
	size_t take = n < r->n ? n : r->n;

	if (n == 0)
		return NULL;
	check((p = calloc(1, n)) != NULL);
	memcpy(p, r->p, take);
	r->p += take;
	r->n -= take;
	return p;
}

static const CK_ATTRIBUTE_TYPE atypes[] = {
	CKA_CLASS, CKA_TOKEN, CKA_LABEL, CKA_VALUE, CKA_KEY_TYPE, CKA_ID,
	CKA_MODULUS_BITS, CKA_VALUE_LEN, CKA_START_DATE, CKA_ALLOWED_MECHANISMS,
	CKA_EC_PARAMS, CKA_WRAP_TEMPLATE, CKA_SENSITIVE, CKA_VENDOR_DEFINED,
	0x434F0001UL | CKA_VENDOR_DEFINED, 0x7777,
};
#define NATYPES (sizeof(atypes) / sizeof(atypes[0]))

static CK_ATTRIBUTE_TYPE
rd_atype(struct rd *r)
{
	uint8_t b = rd_u8(r);

	return b == 0xff ? rd_u64(r) : atypes[b % NATYPES];
}

static void
tmpl_free(CK_ATTRIBUTE *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(t[i].pValue);
}

/* Mode 0: an answer from the node into a caller's template. */
static void
from_wire(struct rd *r)
{
	Coffer__ObjGetAttrsResp *resp;
	CK_ATTRIBUTE t[MAXN];
	CK_ULONG cap[MAXN];
	uint8_t sizes[MAXN], flags = rd_u8(r);
	size_t i, n;
	int rc;

	for (i = 0; i < MAXN; i++)
		sizes[i] = rd_u8(r);
	if ((resp = coffer__obj_get_attrs_resp__unpack(NULL, r->n,
	    r->p)) == NULL)
		return;
	n = resp->n_attrs < MAXN ? resp->n_attrs : MAXN;
	for (i = 0; i < n; i++) {
		t[i].type = resp->attrs[i]->type;
		if ((flags & 1) && i == (size_t)(flags >> 4) % (n + 1))
			t[i].type ^= 1;
		cap[i] = sizes[i] == 0xff ? 0 : sizes[i] % 48;
		t[i].pValue = sizes[i] == 0xff ? NULL :
		    malloc(cap[i] > 0 ? cap[i] : 1);
		t[i].ulValueLen = cap[i];
	}
	rc = cf_attrs_from_wire(resp, t, n);
	if (rc != COFFER_E_PROTO && rc != COFFER_E_INTERNAL) {
		for (i = 0; i < n; i++)
			check(t[i].ulValueLen == CK_UNAVAILABLE_INFORMATION ||
			    t[i].pValue == NULL || t[i].ulValueLen <= cap[i]);
	}
	tmpl_free(t, n);
	coffer__obj_get_attrs_resp__free_unpacked(resp, NULL);
}

/* Mode 1: native -> wire -> bytes -> wire -> native. */
static void
roundtrip_tmpl(struct rd *r)
{
	CK_ATTRIBUTE t[MAXN], back[MAXN];
	Coffer__AttrResult res[MAXN], *resp_attrs[MAXN];
	Coffer__ObjGetAttrsResp resp = COFFER__OBJ_GET_ATTRS_RESP__INIT, *u;
	struct cf_tmpl_wire w;
	uint8_t *buf;
	size_t i, n, len, plen;
	int kind, rc;

	n = rd_u8(r) % (MAXN + 1);
	for (i = 0; i < n; i++) {
		t[i].type = rd_atype(r);
		kind = cf_attr_kind(t[i].type);
		len = rd_u8(r);
		/* mostly the right native size for the kind */
		if (!(len & 0x80) && kind == CF_AK_ULONG)
			len = sizeof(CK_ULONG);
		else if (!(len & 0x80) && kind == CF_AK_BOOL)
			len = sizeof(CK_BBOOL);
		else if (!(len & 0x80) && kind == CF_AK_MECHS)
			len = (len % 4) * sizeof(CK_ULONG);
		else
			len &= 0x3f;
		t[i].pValue = rd_dup(r, len);
		t[i].ulValueLen = len;
		if (len > 0 && (rd_u8(r) & 0x0f) == 0)
			t[i].ulValueLen = len - 1;	/* shorter than buf */
	}
	rc = cf_tmpl_to_wire(t, n, &w);
	if (rc != 0) {
		check(w.attrs == NULL && w.n == 0);
		tmpl_free(t, n);
		return;
	}
	check(w.n == n);
	for (i = 0; i < n; i++) {
		coffer__attr_result__init(&res[i]);
		check(w.ptrs[i] == &w.attrs[i]);
		res[i].type = w.attrs[i].type;
		res[i].value = w.attrs[i].value;
		resp_attrs[i] = &res[i];
	}
	resp.n_attrs = n;
	resp.attrs = n > 0 ? resp_attrs : NULL;
	plen = coffer__obj_get_attrs_resp__get_packed_size(&resp);
	check((buf = malloc(plen > 0 ? plen : 1)) != NULL);
	check(coffer__obj_get_attrs_resp__pack(&resp, buf) == plen);
	check((u = coffer__obj_get_attrs_resp__unpack(NULL, plen,
	    buf)) != NULL);
	for (i = 0; i < n; i++) {
		back[i].type = t[i].type;
		back[i].ulValueLen = t[i].ulValueLen;
		back[i].pValue = t[i].ulValueLen > 0 ?
		    malloc(t[i].ulValueLen) : NULL;
	}
	rc = cf_attrs_from_wire(u, back, n);
	check(rc == 0);
	for (i = 0; i < n; i++) {
		check(back[i].ulValueLen == t[i].ulValueLen);
		check(t[i].ulValueLen == 0 || memcmp(back[i].pValue,
		    t[i].pValue, t[i].ulValueLen) == 0);
	}
	coffer__obj_get_attrs_resp__free_unpacked(u, NULL);
	free(buf);
	tmpl_free(back, n);
	tmpl_free(t, n);
	cf_tmpl_wire_clear(&w);
}

static const CK_MECHANISM_TYPE mtypes[] = {
	CKM_AES_ECB, CKM_AES_CBC, CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_PAD,
	CKM_RSA_PKCS_PSS, CKM_RSA_PKCS_OAEP, CKM_AES_GCM, CKM_AES_CTR,
	CKM_ECDH1_DERIVE, CKM_SP800_108_COUNTER_KDF, CKM_RSA_AES_KEY_WRAP,
	CKM_SHA256_HMAC_GENERAL, CKM_EDDSA, CKM_SHA3_256_RSA_PKCS_PSS,
};
#define NMTYPES (sizeof(mtypes) / sizeof(mtypes[0]))

/* Pointer fields of the parameter block, freed after use. */
struct owned {
	void	*p[2 * MAXN + 4];
	size_t	 n;
};

static void *
own(struct owned *o, void *p)
{
	if (o->n < sizeof(o->p) / sizeof(o->p[0]))
		o->p[o->n++] = p;
	else
		free(p);
	return p;
}

/* Length byte then bytes; with the top bit, a NULL pointer. */
static void *
rd_ptr(struct rd *r, struct owned *o, CK_ULONG *len)
{
	uint8_t b = rd_u8(r);

	*len = b & 0x3f;
	if (b & 0x80)
		return NULL;
	return own(o, rd_dup(r, *len > 0 ? *len : 1));
}

static CK_RSA_PKCS_OAEP_PARAMS *
rd_oaep(struct rd *r, struct owned *o)
{
	CK_RSA_PKCS_OAEP_PARAMS *p;

	p = own(o, rd_dup(r, sizeof(*p)));
	p->pSourceData = rd_ptr(r, o, &p->ulSourceDataLen);
	return p;
}

static void
mech_params(struct rd *r, CK_MECHANISM *m, struct owned *o)
{
	CK_GCM_PARAMS *g;
	CK_ECDH1_DERIVE_PARAMS *e;
	CK_SP800_108_KDF_PARAMS *k;
	CK_RSA_AES_KEY_WRAP_PARAMS *ra;
	CK_EDDSA_PARAMS *ed;
	CK_PRF_DATA_PARAM *d;
	size_t i, sz;

	switch (m->mechanism) {
	case CKM_RSA_PKCS_OAEP:
		m->pParameter = rd_oaep(r, o);
		sz = sizeof(CK_RSA_PKCS_OAEP_PARAMS);
		break;
	case CKM_AES_GCM:
		m->pParameter = g = own(o, rd_dup(r, sizeof(*g)));
		g->pIv = rd_ptr(r, o, &g->ulIvLen);
		g->pAAD = rd_ptr(r, o, &g->ulAADLen);
		sz = sizeof(*g);
		break;
	case CKM_ECDH1_DERIVE:
		m->pParameter = e = own(o, rd_dup(r, sizeof(*e)));
		e->pSharedData = rd_ptr(r, o, &e->ulSharedDataLen);
		e->pPublicData = rd_ptr(r, o, &e->ulPublicDataLen);
		sz = sizeof(*e);
		break;
	case CKM_SP800_108_COUNTER_KDF:
		m->pParameter = k = own(o, rd_dup(r, sizeof(*k)));
		k->ulAdditionalDerivedKeys = rd_u8(r) == 0xff;
		k->pAdditionalDerivedKeys = NULL;
		k->ulNumberOfDataParams = rd_u8(r) % (MAXN + 2);
		k->pDataParams = own(o, calloc(k->ulNumberOfDataParams + 1,
		    sizeof(*d)));
		for (i = 0; i < k->ulNumberOfDataParams; i++) {
			d = &k->pDataParams[i];
			d->type = rd_u8(r) % 6;
			sz = rd_u8(r);
			if (sz & 0x40) {
				d->ulValueLen = sz & 0x3f;
			} else if (d->type == CK_SP800_108_DKM_LENGTH) {
				d->ulValueLen =
				    sizeof(CK_SP800_108_DKM_LENGTH_FORMAT);
			} else {
				d->ulValueLen =
				    sizeof(CK_SP800_108_COUNTER_FORMAT);
			}
			d->pValue = sz & 0x80 ? NULL : own(o,
			    rd_dup(r, d->ulValueLen ? d->ulValueLen : 1));
		}
		sz = sizeof(*k);
		break;
	case CKM_RSA_AES_KEY_WRAP:
		m->pParameter = ra = own(o, rd_dup(r, sizeof(*ra)));
		ra->pOAEPParams = rd_u8(r) & 1 ? NULL : rd_oaep(r, o);
		sz = sizeof(*ra);
		break;
	case CKM_EDDSA:
		m->pParameter = ed = own(o, rd_dup(r, sizeof(*ed)));
		ed->pContextData = rd_ptr(r, o, &ed->ulContextDataLen);
		sz = sizeof(*ed);
		break;
	default:
		/* flat: IVs, PSS, CTR, MAC length */
		sz = rd_u8(r) % 64;
		m->pParameter = sz > 0 ? own(o, rd_dup(r, sz)) : NULL;
		break;
	}
	m->ulParameterLen = sz;
	/* Now and then a length that does not match the block. */
	i = rd_u8(r);
	if (i == 0xfe)
		m->ulParameterLen = sz > 0 ? sz - 1 : 0;
	else if (i == 0xfd)
		m->pParameter = NULL;
	else if (i == 0xfc)
		m->ulParameterLen = 0;
}

static uint8_t *
pack_mech(const struct cf_mech_wire *w, size_t *len)
{
	uint8_t *buf;

	*len = coffer__mechanism__get_packed_size(&w->m);
	check((buf = malloc(*len > 0 ? *len : 1)) != NULL);
	check(coffer__mechanism__pack(&w->m, buf) == *len);
	return buf;
}

/* Mode 2: a mechanism to the wire, and its deep copy. */
static void
mech(struct rd *r)
{
	struct cf_mech_wire *w, *w2;
	struct owned o = {0};
	Coffer__Mechanism *u;
	CK_MECHANISM m = {0}, *dup = NULL;
	uint8_t *a, *b;
	size_t alen, blen, i;
	int rc, rc2;

	m.mechanism = mtypes[rd_u8(r) % NMTYPES];
	mech_params(r, &m, &o);
	check((w = calloc(1, sizeof(*w))) != NULL);
	check((w2 = calloc(1, sizeof(*w2))) != NULL);
	rc = cf_mech_to_wire(&m, w);
	rc2 = coffer_mech_dup(&m, &dup);
	if (rc != 0) {
		check(rc2 != 0 && dup == NULL);
		goto out;
	}
	a = pack_mech(w, &alen);
	check((u = coffer__mechanism__unpack(NULL, alen, a)) != NULL);
	check(u->type == m.mechanism && u->params_case == w->m.params_case);
	coffer__mechanism__free_unpacked(u, NULL);
	if (rc2 == 0) {
		check(dup != NULL && dup->mechanism == m.mechanism &&
		    dup->ulParameterLen == m.ulParameterLen);
		check(cf_mech_to_wire(dup, w2) == 0);
		b = pack_mech(w2, &blen);
		check(alen == blen && memcmp(a, b, alen) == 0);
		free(b);
		coffer_mech_free(dup);
	} else {
		check(m.mechanism == CKM_SP800_108_COUNTER_KDF);
	}
	free(a);
 out:
	free(w);
	free(w2);
	for (i = 0; i < o.n; i++)
		free(o.p[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd r = { data, size };
	uint64_t v;
	uint8_t b8[8];
	int x;

	switch (rd_u8(&r) % 4) {
	case 0:
		from_wire(&r);
		break;
	case 1:
		roundtrip_tmpl(&r);
		break;
	case 2:
		mech(&r);
		break;
	default:
		/* p11attr: the kind table and the integer codecs */
		v = rd_u64(&r);
		(void)cf_attr_kind(v);
		(void)cf_attr_name(v);
		cf_attr_put_ulong(v, b8);
		check(cf_attr_get_ulong(b8, 8, &v) == 0);
		check(cf_attr_get_ulong(r.p, r.n, &v) == 0 || r.n != 8);
		check(cf_attr_get_bool(r.p, r.n, &x) == 0 || r.n != 1);
		break;
	}
	return 0;
}
