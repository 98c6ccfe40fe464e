/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_obj_wire.c: libcoffer's PKCS#11 <-> wire conversions: templates to
 * wire (CK_ULONG as 8-byte big-endian, CK_BBOOL one byte, allowed-mechanism
 * arrays, length checks, pass-through of unknown types), the
 * C_GetAttributeValue semantics of reading a crafted ObjGetAttrsResp
 * (length query, short buffer, sensitive, invalid, rc precedence, malformed
 * answers), and every mechanism parameter structure including bad lengths
 * and NULL pointers; converted mechanisms are packed and unpacked with
 * protobuf-c to check what actually goes on the wire.
 */
#include <coffer/coffer_objects.h>	/* first: p11-kit's macros */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/objwire.h"
#include "common/p11attr.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define UNAVAIL CK_UNAVAILABLE_INFORMATION

static const uint8_t be4[8] = { 0, 0, 0, 0, 0, 0, 0, 4 };

/* --- templates to wire -------------------------------------------------- */

static void
test_tmpl_ulong_bool_bytes(void **state)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_ULONG vlen = (CK_ULONG)0x0102030405060708ULL;
	CK_BBOOL t = CK_TRUE, f = CK_FALSE;
	char label[] = "my key";
	CK_ULONG unk = 0xa1b2;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_VALUE_LEN, &vlen, sizeof(vlen) },
		{ CKA_TOKEN, &t, sizeof(t) },
		{ CKA_SENSITIVE, &f, sizeof(f) },
		{ CKA_LABEL, label, strlen(label) },
		{ CKA_ID, NULL, 0 },
		{ 0x80001234UL, &unk, sizeof(unk) },	/* unknown: as is */
	};
	static const uint8_t vbe[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct cf_tmpl_wire w;

	(void)state;
	assert_int_equal(cf_tmpl_to_wire(tmpl, NELEM(tmpl), &w), 0);
	assert_int_equal(w.n, NELEM(tmpl));
	assert_ptr_equal(w.ptrs[0], &w.attrs[0]);
	assert_int_equal(w.attrs[0].type, CKA_CLASS);
	assert_int_equal(w.attrs[0].value.len, 8);
	assert_memory_equal(w.attrs[0].value.data, be4, 8);
	assert_int_equal(w.attrs[1].value.len, 8);
	assert_memory_equal(w.attrs[1].value.data, vbe, 8);
	assert_int_equal(w.attrs[2].value.len, 1);
	assert_int_equal(w.attrs[2].value.data[0], 1);
	assert_int_equal(w.attrs[3].value.len, 1);
	assert_int_equal(w.attrs[3].value.data[0], 0);
	assert_int_equal(w.attrs[4].value.len, 6);
	assert_memory_equal(w.attrs[4].value.data, "my key", 6);
	assert_int_equal(w.attrs[5].type, CKA_ID);
	assert_int_equal(w.attrs[5].value.len, 0);
	assert_int_equal(w.attrs[6].type, 0x80001234UL);
	assert_int_equal(w.attrs[6].value.len, sizeof(unk));
	assert_memory_equal(w.attrs[6].value.data, &unk, sizeof(unk));
	cf_tmpl_wire_clear(&w);
	assert_null(w.attrs);
	assert_int_equal(w.n, 0);

	assert_int_equal(cf_tmpl_to_wire(NULL, 0, &w), 0);
	assert_int_equal(w.n, 0);
	assert_int_equal(cf_tmpl_to_wire(NULL, 1, &w), COFFER_E_INVAL);
}

static void
test_tmpl_allowed_mechs(void **state)
{
	CK_MECHANISM_TYPE m[2] = { CKM_AES_GCM, CKM_SHA256_HMAC };
	CK_ATTRIBUTE a = { CKA_ALLOWED_MECHANISMS, m, sizeof(m) };
	static const uint8_t want[16] = {
		0, 0, 0, 0, 0, 0, 0x10, 0x87, 0, 0, 0, 0, 0, 0, 0x02, 0x51,
	};
	struct cf_tmpl_wire w;

	(void)state;
	assert_int_equal(cf_tmpl_to_wire(&a, 1, &w), 0);
	assert_int_equal(w.attrs[0].value.len, 16);
	assert_memory_equal(w.attrs[0].value.data, want, 16);
	cf_tmpl_wire_clear(&w);
	a.ulValueLen = sizeof(m[0]) + 1;
	assert_int_equal(cf_tmpl_to_wire(&a, 1, &w), COFFER_E_ATTRIBUTE);
	assert_null(w.attrs);
}

static void
test_tmpl_bad(void **state)
{
	CK_ULONG ul = 4;
	uint32_t u32 = 4;
	CK_BBOOL b = CK_TRUE;
	CK_ATTRIBUTE inner = { CKA_SIGN, &b, sizeof(b) };
	CK_ATTRIBUTE ok = { CKA_LABEL, "x", 1 };
	CK_ATTRIBUTE bad[] = {
		{ CKA_CLASS, &u32, sizeof(u32) },	/* 4-byte CK_ULONG */
		{ CKA_CLASS, NULL, sizeof(CK_ULONG) },
		{ CKA_CLASS, &ul, 0 },
		{ CKA_KEY_TYPE, &ul, sizeof(ul) + 1 },
		{ CKA_TOKEN, &ul, sizeof(ul) },		/* BBOOL too long */
		{ CKA_TOKEN, NULL, 0 },
		{ CKA_LABEL, NULL, 3 },			/* NULL with length */
		{ CKA_WRAP_TEMPLATE, &inner, sizeof(inner) },
	};
	CK_ATTRIBUTE two[2];
	struct cf_tmpl_wire w;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(bad); i++) {
		assert_int_equal(cf_tmpl_to_wire(&bad[i], 1, &w),
		    COFFER_E_ATTRIBUTE);
		assert_null(w.attrs);
		assert_int_equal(w.n, 0);
		/* A bad one after a good one: everything is released. */
		two[0] = ok;
		two[1] = bad[i];
		assert_int_equal(cf_tmpl_to_wire(two, 2, &w),
		    COFFER_E_ATTRIBUTE);
		assert_null(w.attrs);
	}
	assert_int_equal(cf_tmpl_to_wire(&ok, CF_TMPL_MAX + 1, &w),
	    COFFER_E_INVAL);
}

/* --- wire to native (C_GetAttributeValue) ------------------------------ */

struct fake {
	Coffer__ObjGetAttrsResp resp;
	Coffer__AttrResult r[8];
	Coffer__AttrResult *p[8];
};

static void
fake_add(struct fake *f, uint64_t type, const void *v, size_t n, int status)
{
	size_t i = f->resp.n_attrs;

	coffer__attr_result__init(&f->r[i]);
	f->r[i].type = type;
	f->r[i].value.data = (uint8_t *)v;
	f->r[i].value.len = n;
	f->r[i].status = status;
	f->p[i] = &f->r[i];
	f->resp.attrs = f->p;
	f->resp.n_attrs = i + 1;
}

static const uint8_t one = 1;

/* class=4, token=1, label="hello", value sensitive, 0x8abc invalid. */
static void
fake_std(struct fake *f)
{
	coffer__obj_get_attrs_resp__init(&f->resp);
	fake_add(f, CKA_CLASS, be4, 8, 0);
	fake_add(f, CKA_TOKEN, &one, 1, 0);
	fake_add(f, CKA_LABEL, "hello", 5, 0);
	fake_add(f, CKA_VALUE, NULL, 0, COFFER_E_ATTR_SENSITIVE);
	fake_add(f, 0x8abcUL, NULL, 0, COFFER_E_ATTRIBUTE);
}

static void
test_get_lengths(void **state)
{
	struct fake f;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, NULL, 0 },
		{ CKA_TOKEN, NULL, 0 },
		{ CKA_LABEL, NULL, 0 },
		{ CKA_VALUE, NULL, 0 },
		{ 0x8abcUL, NULL, 0 },
	};

	(void)state;
	fake_std(&f);
	/* Sensitive wins over invalid; every attribute is processed. */
	assert_int_equal(cf_attrs_from_wire(&f.resp, t, NELEM(t)),
	    COFFER_E_ATTR_SENSITIVE);
	assert_int_equal(t[0].ulValueLen, sizeof(CK_ULONG));	/* not 8 */
	assert_int_equal(t[1].ulValueLen, sizeof(CK_BBOOL));
	assert_int_equal(t[2].ulValueLen, 5);
	assert_true(t[3].ulValueLen == UNAVAIL);
	assert_true(t[4].ulValueLen == UNAVAIL);
}

static void
test_get_values(void **state)
{
	struct fake f;
	CK_OBJECT_CLASS cls = 99;
	CK_BBOOL tok = 7;
	char label[16] = { 0 };
	CK_ATTRIBUTE t[3] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_TOKEN, &tok, sizeof(tok) },
		{ CKA_LABEL, label, sizeof(label) },	/* bigger than needed */
	};

	(void)state;
	fake_std(&f);
	f.resp.n_attrs = 3;
	assert_int_equal(cf_attrs_from_wire(&f.resp, t, 3), 0);
	assert_true(cls == CKO_SECRET_KEY);
	assert_int_equal(t[0].ulValueLen, sizeof(CK_ULONG));
	assert_int_equal(tok, CK_TRUE);
	assert_int_equal(t[1].ulValueLen, 1);
	assert_memory_equal(label, "hello", 5);
	assert_int_equal(label[5], 0);
	assert_int_equal(t[2].ulValueLen, 5);
}

static void
test_get_small_and_precedence(void **state)
{
	struct fake f;
	CK_OBJECT_CLASS cls = 99;
	char label[4] = "zzz";
	uint8_t tiny[4];
	CK_BBOOL tok = 7;
	CK_ATTRIBUTE t[5];

	(void)state;
	/* Too small only: BUFFER_TOO_SMALL, the others still written. */
	fake_std(&f);
	f.resp.n_attrs = 3;
	t[0] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	t[1] = (CK_ATTRIBUTE){ CKA_TOKEN, &tok, sizeof(tok) };
	t[2] = (CK_ATTRIBUTE){ CKA_LABEL, label, sizeof(label) };
	assert_int_equal(cf_attrs_from_wire(&f.resp, t, 3),
	    COFFER_E_BUFFER_TOO_SMALL);
	assert_true(t[2].ulValueLen == UNAVAIL);
	assert_memory_equal(label, "zzz", 4);		/* untouched */
	assert_true(cls == CKO_SECRET_KEY);
	assert_int_equal(tok, 1);

	/* A CK_ULONG needs sizeof(CK_ULONG) natively, not the wire's 8. */
	fake_std(&f);
	f.resp.n_attrs = 1;
	t[0] = (CK_ATTRIBUTE){ CKA_CLASS, tiny, sizeof(tiny) };
	assert_int_equal(cf_attrs_from_wire(&f.resp, t, 1),
	    COFFER_E_BUFFER_TOO_SMALL);
	assert_true(t[0].ulValueLen == UNAVAIL);

	/* Invalid beats too small. */
	coffer__obj_get_attrs_resp__init(&f.resp);
	fake_add(&f, CKA_LABEL, "hello", 5, 0);
	fake_add(&f, 0x8abcUL, NULL, 0, COFFER_E_ATTRIBUTE);
	t[0] = (CK_ATTRIBUTE){ CKA_LABEL, label, sizeof(label) };
	t[1] = (CK_ATTRIBUTE){ 0x8abcUL, tiny, sizeof(tiny) };
	assert_int_equal(cf_attrs_from_wire(&f.resp, t, 2),
	    COFFER_E_ATTRIBUTE);
	assert_true(t[0].ulValueLen == UNAVAIL);
	assert_true(t[1].ulValueLen == UNAVAIL);

	/* Sensitive beats both, whatever the order. */
	coffer__obj_get_attrs_resp__init(&f.resp);
	fake_add(&f, 0x8abcUL, NULL, 0, COFFER_E_ATTRIBUTE);
	fake_add(&f, CKA_LABEL, "hello", 5, 0);
	fake_add(&f, CKA_VALUE, NULL, 0, COFFER_E_ATTR_SENSITIVE);
	t[0] = (CK_ATTRIBUTE){ 0x8abcUL, tiny, sizeof(tiny) };
	t[1] = (CK_ATTRIBUTE){ CKA_LABEL, label, sizeof(label) };
	t[2] = (CK_ATTRIBUTE){ CKA_VALUE, tiny, sizeof(tiny) };
	assert_int_equal(cf_attrs_from_wire(&f.resp, t, 3),
	    COFFER_E_ATTR_SENSITIVE);
	assert_true(t[0].ulValueLen == UNAVAIL);
	assert_true(t[1].ulValueLen == UNAVAIL);
	assert_true(t[2].ulValueLen == UNAVAIL);

	/* Sensitive with a NULL pValue is still unavailable. */
	coffer__obj_get_attrs_resp__init(&f.resp);
	fake_add(&f, CKA_VALUE, NULL, 0, COFFER_E_ATTR_SENSITIVE);
	t[0] = (CK_ATTRIBUTE){ CKA_VALUE, NULL, 0 };
	assert_int_equal(cf_attrs_from_wire(&f.resp, t, 1),
	    COFFER_E_ATTR_SENSITIVE);
	assert_true(t[0].ulValueLen == UNAVAIL);
}

static void
test_get_exact_and_mechs(void **state)
{
	static const uint8_t w[16] = {
		0, 0, 0, 0, 0, 0, 0x10, 0x87, 0, 0, 0, 0, 0, 0, 0x02, 0x51,
	};
	CK_MECHANISM_TYPE m[2] = { 0, 0 };
	char label[5];
	struct fake f;
	CK_ATTRIBUTE t[2] = {
		{ CKA_ALLOWED_MECHANISMS, NULL, 0 },
		{ CKA_LABEL, label, sizeof(label) },	/* exactly */
	};

	(void)state;
	coffer__obj_get_attrs_resp__init(&f.resp);
	fake_add(&f, CKA_ALLOWED_MECHANISMS, w, 16, 0);
	fake_add(&f, CKA_LABEL, "hello", 5, 0);
	assert_int_equal(cf_attrs_from_wire(&f.resp, t, 2), 0);
	assert_int_equal(t[0].ulValueLen, 2 * sizeof(CK_MECHANISM_TYPE));
	t[0].pValue = m;
	assert_int_equal(cf_attrs_from_wire(&f.resp, t, 2), 0);
	assert_true(m[0] == CKM_AES_GCM);
	assert_true(m[1] == CKM_SHA256_HMAC);
	assert_memory_equal(label, "hello", 5);
	assert_int_equal(t[1].ulValueLen, 5);
}

static void
test_get_malformed(void **state)
{
	static const uint8_t four[4] = { 0, 0, 0, 4 };
	CK_OBJECT_CLASS cls;
	CK_BBOOL b;
	struct fake f;
	CK_ATTRIBUTE t[2] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_TOKEN, &b, sizeof(b) },
	};

	(void)state;
	fake_std(&f);
	assert_int_equal(cf_attrs_from_wire(&f.resp, t, 2), COFFER_E_PROTO);
	f.resp.n_attrs = 1;
	assert_int_equal(cf_attrs_from_wire(&f.resp, t, 2), COFFER_E_PROTO);
	f.resp.n_attrs = 2;
	t[1].type = CKA_LABEL;				/* type mismatch */
	assert_int_equal(cf_attrs_from_wire(&f.resp, t, 2), COFFER_E_PROTO);
	t[1].type = CKA_TOKEN;
	assert_int_equal(cf_attrs_from_wire(&f.resp, t, 2), 0);
	/* A CK_ULONG that is not 8 bytes on the wire. */
	coffer__obj_get_attrs_resp__init(&f.resp);
	fake_add(&f, CKA_CLASS, four, 4, 0);
	assert_int_equal(cf_attrs_from_wire(&f.resp, t, 1), COFFER_E_PROTO);
	coffer__obj_get_attrs_resp__init(&f.resp);
	fake_add(&f, CKA_TOKEN, four, 2, 0);
	t[0].type = CKA_TOKEN;
	assert_int_equal(cf_attrs_from_wire(&f.resp, t, 1), COFFER_E_PROTO);
	assert_int_equal(cf_attrs_from_wire(NULL, t, 1), COFFER_E_PROTO);
}

/* --- mechanisms --------------------------------------------------------- */

/* Packs the converted mechanism and unpacks it with protobuf-c. */
static Coffer__Mechanism *
roundtrip(const struct cf_mech_wire *mw)
{
	uint8_t buf[4096];
	size_t n = coffer__mechanism__get_packed_size(&mw->m);
	Coffer__Mechanism *m;

	assert_true(n <= sizeof(buf));
	assert_int_equal(coffer__mechanism__pack(&mw->m, buf), n);
	m = coffer__mechanism__unpack(NULL, n, buf);
	assert_non_null(m);
	return m;
}

static int
conv(CK_MECHANISM_TYPE t, void *p, CK_ULONG n, struct cf_mech_wire *mw)
{
	CK_MECHANISM m = { t, p, n };

	return cf_mech_to_wire(&m, mw);
}

static void
test_mech_none(void **state)
{
	struct cf_mech_wire mw;
	Coffer__Mechanism *m;
	uint8_t junk[4] = { 0 };

	(void)state;
	assert_int_equal(conv(CKM_SHA256, NULL, 0, &mw), 0);
	m = roundtrip(&mw);
	assert_int_equal(m->type, CKM_SHA256);
	assert_int_equal(m->params_case, COFFER__MECHANISM__PARAMS__NOT_SET);
	coffer__mechanism__free_unpacked(m, NULL);
	assert_int_equal(conv(CKM_AES_KEY_GEN, junk, sizeof(junk), &mw),
	    COFFER_E_MECH_PARAM);
	assert_int_equal(conv(CKM_SHA256, NULL, 4, &mw), COFFER_E_MECH_PARAM);
	assert_int_equal(cf_mech_to_wire(NULL, &mw), COFFER_E_INVAL);
	/* Unknown mechanisms without parameters go to the node. */
	assert_int_equal(conv(0x8000abcdUL, NULL, 0, &mw), 0);
	assert_int_equal(mw.m.type, 0x8000abcdUL);
}

static void
test_mech_iv(void **state)
{
	uint8_t iv[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	    16 };
	struct cf_mech_wire mw;
	Coffer__Mechanism *m;

	(void)state;
	assert_int_equal(conv(CKM_AES_CBC_PAD, iv, 16, &mw), 0);
	m = roundtrip(&mw);
	assert_int_equal(m->params_case, COFFER__MECHANISM__PARAMS_IV);
	assert_int_equal(m->iv.len, 16);
	assert_memory_equal(m->iv.data, iv, 16);
	coffer__mechanism__free_unpacked(m, NULL);
	assert_int_equal(conv(CKM_AES_CBC, iv, 8, &mw), COFFER_E_MECH_PARAM);
	assert_int_equal(conv(CKM_AES_CBC, iv, 17, &mw), COFFER_E_MECH_PARAM);
	assert_int_equal(conv(CKM_AES_CBC, NULL, 16, &mw),
	    COFFER_E_MECH_PARAM);
	assert_int_equal(conv(CKM_AES_CBC, NULL, 0, &mw), COFFER_E_MECH_PARAM);

	/* Key wrap: optional IV of 8 (RFC 3394) or 4 (RFC 5649) bytes. */
	assert_int_equal(conv(CKM_AES_KEY_WRAP, NULL, 0, &mw), 0);
	assert_int_equal(mw.m.params_case, COFFER__MECHANISM__PARAMS__NOT_SET);
	assert_int_equal(conv(CKM_AES_KEY_WRAP, iv, 8, &mw), 0);
	assert_int_equal(mw.m.params_case, COFFER__MECHANISM__PARAMS_IV);
	assert_int_equal(mw.m.iv.len, 8);
	assert_int_equal(conv(CKM_AES_KEY_WRAP, iv, 4, &mw),
	    COFFER_E_MECH_PARAM);
	assert_int_equal(conv(CKM_AES_KEY_WRAP_KWP, iv, 4, &mw), 0);
	assert_int_equal(mw.m.iv.len, 4);
	assert_int_equal(conv(CKM_AES_KEY_WRAP_PAD, iv, 8, &mw),
	    COFFER_E_MECH_PARAM);
}

static void
test_mech_pss_oaep(void **state)
{
	CK_RSA_PKCS_PSS_PARAMS pss = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
	uint8_t lbl[3] = { 'a', 'b', 'c' };
	CK_RSA_PKCS_OAEP_PARAMS oaep = { CKM_SHA384, CKG_MGF1_SHA384,
	    CKZ_DATA_SPECIFIED, lbl, sizeof(lbl) };
	struct cf_mech_wire mw;
	Coffer__Mechanism *m;

	(void)state;
	assert_int_equal(conv(CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof(pss),
	    &mw), 0);
	m = roundtrip(&mw);
	assert_int_equal(m->params_case, COFFER__MECHANISM__PARAMS_PSS);
	assert_int_equal(m->pss->hash_alg, CKM_SHA256);
	assert_int_equal(m->pss->mgf, CKG_MGF1_SHA256);
	assert_int_equal(m->pss->salt_len, 32);
	coffer__mechanism__free_unpacked(m, NULL);
	assert_int_equal(conv(CKM_RSA_PKCS_PSS, &pss, sizeof(pss) - 1, &mw),
	    COFFER_E_MECH_PARAM);
	assert_int_equal(conv(CKM_RSA_PKCS_PSS, NULL, 0, &mw),
	    COFFER_E_MECH_PARAM);

	assert_int_equal(conv(CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep), &mw), 0);
	m = roundtrip(&mw);
	assert_int_equal(m->params_case, COFFER__MECHANISM__PARAMS_OAEP);
	assert_int_equal(m->oaep->hash_alg, CKM_SHA384);
	assert_int_equal(m->oaep->mgf, CKG_MGF1_SHA384);
	assert_int_equal(m->oaep->source, CKZ_DATA_SPECIFIED);
	assert_int_equal(m->oaep->label.len, 3);
	assert_memory_equal(m->oaep->label.data, "abc", 3);
	coffer__mechanism__free_unpacked(m, NULL);
	oaep.pSourceData = NULL;
	assert_int_equal(conv(CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep), &mw),
	    COFFER_E_MECH_PARAM);
	oaep.ulSourceDataLen = 0;
	assert_int_equal(conv(CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep), &mw), 0);
	assert_int_equal(mw.oaep.label.len, 0);
	assert_int_equal(conv(CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep) + 8,
	    &mw), COFFER_E_MECH_PARAM);
}

static void
test_mech_gcm_ctr(void **state)
{
	uint8_t iv[12] = { 0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce, 0xdb, 0xad,
	    0xde, 0xca, 0xf8, 0x88 };
	uint8_t aad[5] = { 1, 2, 3, 4, 5 };
	CK_GCM_PARAMS g = { iv, sizeof(iv), 96, aad, sizeof(aad), 128 };
	CK_AES_CTR_PARAMS ctr = { 32, { 0 } };
	struct cf_mech_wire mw;
	Coffer__Mechanism *m;

	(void)state;
	assert_int_equal(conv(CKM_AES_GCM, &g, sizeof(g), &mw), 0);
	m = roundtrip(&mw);
	assert_int_equal(m->params_case, COFFER__MECHANISM__PARAMS_GCM);
	assert_int_equal(m->gcm->iv.len, 12);
	assert_memory_equal(m->gcm->iv.data, iv, 12);
	assert_int_equal(m->gcm->iv_bits, 96);
	assert_int_equal(m->gcm->aad.len, 5);
	assert_memory_equal(m->gcm->aad.data, aad, 5);
	assert_int_equal(m->gcm->tag_bits, 128);
	coffer__mechanism__free_unpacked(m, NULL);
	/* No IV: the node generates one. */
	g.pIv = NULL;
	g.ulIvLen = 0;
	assert_int_equal(conv(CKM_AES_GCM, &g, sizeof(g), &mw), 0);
	assert_int_equal(mw.gcm.iv.len, 0);
	g.ulIvLen = 12;
	assert_int_equal(conv(CKM_AES_GCM, &g, sizeof(g), &mw),
	    COFFER_E_MECH_PARAM);
	g.pIv = iv;
	g.pAAD = NULL;
	assert_int_equal(conv(CKM_AES_GCM, &g, sizeof(g), &mw),
	    COFFER_E_MECH_PARAM);
	g.pAAD = aad;
	assert_int_equal(conv(CKM_AES_GCM, &g, sizeof(g) - 8, &mw),
	    COFFER_E_MECH_PARAM);
	assert_int_equal(conv(CKM_AES_GCM, NULL, 0, &mw), COFFER_E_MECH_PARAM);

	ctr.cb[15] = 0x42;
	assert_int_equal(conv(CKM_AES_CTR, &ctr, sizeof(ctr), &mw), 0);
	m = roundtrip(&mw);
	assert_int_equal(m->params_case, COFFER__MECHANISM__PARAMS_CTR);
	assert_int_equal(m->ctr->counter_bits, 32);
	assert_int_equal(m->ctr->cb.len, 16);
	assert_int_equal(m->ctr->cb.data[15], 0x42);
	coffer__mechanism__free_unpacked(m, NULL);
	assert_int_equal(conv(CKM_AES_CTR, &ctr, 16, &mw), COFFER_E_MECH_PARAM);
}

static void
test_mech_ecdh(void **state)
{
	uint8_t pub[65] = { 4 }, sd[3] = { 7, 8, 9 };
	CK_ECDH1_DERIVE_PARAMS e = { CKD_SHA256_KDF, sizeof(sd), sd,
	    sizeof(pub), pub };
	struct cf_mech_wire mw;
	Coffer__Mechanism *m;

	(void)state;
	assert_int_equal(conv(CKM_ECDH1_DERIVE, &e, sizeof(e), &mw), 0);
	m = roundtrip(&mw);
	assert_int_equal(m->params_case, COFFER__MECHANISM__PARAMS_ECDH1);
	assert_int_equal(m->ecdh1->kdf, CKD_SHA256_KDF);
	assert_int_equal(m->ecdh1->shared_data.len, 3);
	assert_memory_equal(m->ecdh1->shared_data.data, sd, 3);
	assert_int_equal(m->ecdh1->public_data.len, 65);
	assert_int_equal(m->ecdh1->public_data.data[0], 4);
	coffer__mechanism__free_unpacked(m, NULL);
	e.pSharedData = NULL;
	assert_int_equal(conv(CKM_ECDH1_DERIVE, &e, sizeof(e), &mw),
	    COFFER_E_MECH_PARAM);
	e.ulSharedDataLen = 0;
	assert_int_equal(conv(CKM_ECDH1_DERIVE, &e, sizeof(e), &mw), 0);
	e.pPublicData = NULL;
	assert_int_equal(conv(CKM_ECDH1_DERIVE, &e, sizeof(e), &mw),
	    COFFER_E_MECH_PARAM);
	e.pPublicData = pub;
	e.ulPublicDataLen = 0;
	assert_int_equal(conv(CKM_ECDH1_DERIVE, &e, sizeof(e), &mw),
	    COFFER_E_MECH_PARAM);
	e.ulPublicDataLen = sizeof(pub);
	assert_int_equal(conv(CKM_ECDH1_DERIVE, &e, sizeof(e) - 1, &mw),
	    COFFER_E_MECH_PARAM);
}

static void
test_mech_kbkdf(void **state)
{
	CK_SP800_108_COUNTER_FORMAT cf = { CK_FALSE, 32 };
	CK_SP800_108_DKM_LENGTH_FORMAT df = {
		CK_SP800_108_DKM_LENGTH_SUM_OF_KEYS, CK_TRUE, 16 };
	uint8_t label[4] = { 'L', 'A', 'B', 'L' };
	CK_PRF_DATA_PARAM dp[3] = {
		{ CK_SP800_108_ITERATION_VARIABLE, &cf, sizeof(cf) },
		{ CK_SP800_108_DKM_LENGTH, &df, sizeof(df) },
		{ CK_SP800_108_BYTE_ARRAY, label, sizeof(label) },
	};
	CK_SP800_108_KDF_PARAMS k = { CKM_SHA256_HMAC, 3, dp, 0, NULL };
	static const uint8_t wcf[9] = { 0, 0, 0, 0, 0, 0, 0, 0, 32 };
	static const uint8_t wdf[17] = { 0, 0, 0, 0, 0, 0, 0, 1, 1,
	    0, 0, 0, 0, 0, 0, 0, 16 };
	CK_PRF_DATA_PARAM many[CF_KBKDF_MAX_PARAMS + 1];
	CK_DERIVED_KEY dk = { NULL, 0, NULL };
	struct cf_mech_wire mw;
	Coffer__Mechanism *m;
	size_t i;

	(void)state;
	assert_int_equal(conv(CKM_SP800_108_COUNTER_KDF, &k, sizeof(k), &mw),
	    0);
	m = roundtrip(&mw);
	assert_int_equal(m->params_case, COFFER__MECHANISM__PARAMS_KBKDF);
	assert_int_equal(m->kbkdf->prf_type, CKM_SHA256_HMAC);
	assert_int_equal(m->kbkdf->n_data, 3);
	assert_int_equal(m->kbkdf->data[0]->type,
	    CK_SP800_108_ITERATION_VARIABLE);
	assert_int_equal(m->kbkdf->data[0]->value.len, 9);
	assert_memory_equal(m->kbkdf->data[0]->value.data, wcf, 9);
	assert_int_equal(m->kbkdf->data[1]->type, CK_SP800_108_DKM_LENGTH);
	assert_int_equal(m->kbkdf->data[1]->value.len, 17);
	assert_memory_equal(m->kbkdf->data[1]->value.data, wdf, 17);
	assert_int_equal(m->kbkdf->data[2]->type, CK_SP800_108_BYTE_ARRAY);
	assert_int_equal(m->kbkdf->data[2]->value.len, 4);
	assert_memory_equal(m->kbkdf->data[2]->value.data, "LABL", 4);
	coffer__mechanism__free_unpacked(m, NULL);

	/* Iteration variable without a format: sent empty. */
	dp[0].pValue = NULL;
	dp[0].ulValueLen = 0;
	assert_int_equal(conv(CKM_SP800_108_COUNTER_KDF, &k, sizeof(k), &mw),
	    0);
	assert_int_equal(mw.kbkdf.data[0]->value.len, 0);
	dp[0].pValue = &cf;
	dp[0].ulValueLen = sizeof(cf) - 1;
	assert_int_equal(conv(CKM_SP800_108_COUNTER_KDF, &k, sizeof(k), &mw),
	    COFFER_E_MECH_PARAM);
	dp[0].ulValueLen = sizeof(cf);
	dp[1].pValue = NULL;
	dp[1].ulValueLen = 0;
	assert_int_equal(conv(CKM_SP800_108_COUNTER_KDF, &k, sizeof(k), &mw),
	    COFFER_E_MECH_PARAM);
	dp[1].pValue = &df;
	dp[1].ulValueLen = sizeof(df);
	dp[2].pValue = NULL;			/* length without pointer */
	assert_int_equal(conv(CKM_SP800_108_COUNTER_KDF, &k, sizeof(k), &mw),
	    COFFER_E_MECH_PARAM);
	dp[2].pValue = label;
	dp[2].type = 0x99;			/* unknown type */
	assert_int_equal(conv(CKM_SP800_108_COUNTER_KDF, &k, sizeof(k), &mw),
	    COFFER_E_MECH_PARAM);
	dp[2].type = CK_SP800_108_BYTE_ARRAY;
	k.ulAdditionalDerivedKeys = 1;
	k.pAdditionalDerivedKeys = &dk;
	assert_int_equal(conv(CKM_SP800_108_COUNTER_KDF, &k, sizeof(k), &mw),
	    COFFER_E_MECH_PARAM);
	k.ulAdditionalDerivedKeys = 0;
	k.pDataParams = NULL;
	assert_int_equal(conv(CKM_SP800_108_COUNTER_KDF, &k, sizeof(k), &mw),
	    COFFER_E_MECH_PARAM);
	for (i = 0; i < NELEM(many); i++)
		many[i] = dp[2];
	k.pDataParams = many;
	k.ulNumberOfDataParams = NELEM(many);
	assert_int_equal(conv(CKM_SP800_108_COUNTER_KDF, &k, sizeof(k), &mw),
	    COFFER_E_MECH_PARAM);
	k.ulNumberOfDataParams = CF_KBKDF_MAX_PARAMS;
	assert_int_equal(conv(CKM_SP800_108_COUNTER_KDF, &k, sizeof(k), &mw),
	    0);
	assert_int_equal(conv(CKM_SP800_108_COUNTER_KDF, &k, sizeof(k) - 8,
	    &mw), COFFER_E_MECH_PARAM);
}

static void
test_mech_rsa_aes_mac_eddsa(void **state)
{
	CK_RSA_PKCS_OAEP_PARAMS oaep = { CKM_SHA256, CKG_MGF1_SHA256,
	    CKZ_DATA_SPECIFIED, NULL, 0 };
	CK_RSA_AES_KEY_WRAP_PARAMS ra = { 256, &oaep };
	CK_MAC_GENERAL_PARAMS ml = 16;
	uint32_t ml32 = 16;
	uint8_t ctx[2] = { 'c', 'x' };
	CK_EDDSA_PARAMS ed = { CK_TRUE, sizeof(ctx), ctx };
	struct cf_mech_wire mw;
	Coffer__Mechanism *m;

	(void)state;
	assert_int_equal(conv(CKM_RSA_AES_KEY_WRAP, &ra, sizeof(ra), &mw), 0);
	m = roundtrip(&mw);
	assert_int_equal(m->params_case, COFFER__MECHANISM__PARAMS_RSA_AES);
	assert_int_equal(m->rsa_aes->aes_key_bits, 256);
	assert_non_null(m->rsa_aes->oaep);
	assert_int_equal(m->rsa_aes->oaep->hash_alg, CKM_SHA256);
	assert_int_equal(m->rsa_aes->oaep->mgf, CKG_MGF1_SHA256);
	coffer__mechanism__free_unpacked(m, NULL);
	ra.pOAEPParams = NULL;
	assert_int_equal(conv(CKM_RSA_AES_KEY_WRAP, &ra, sizeof(ra), &mw),
	    COFFER_E_MECH_PARAM);
	assert_int_equal(conv(CKM_RSA_AES_KEY_WRAP, &ra, 8, &mw),
	    COFFER_E_MECH_PARAM);

	assert_int_equal(conv(CKM_SHA256_HMAC_GENERAL, &ml, sizeof(ml), &mw),
	    0);
	m = roundtrip(&mw);
	assert_int_equal(m->params_case, COFFER__MECHANISM__PARAMS_MAC_LEN);
	assert_int_equal(m->mac_len, 16);
	coffer__mechanism__free_unpacked(m, NULL);
	assert_int_equal(conv(CKM_AES_CMAC_GENERAL, &ml, sizeof(ml), &mw), 0);
	assert_int_equal(mw.m.mac_len, 16);
	assert_int_equal(conv(CKM_AES_CMAC_GENERAL, &ml32, sizeof(ml32), &mw),
	    sizeof(ml32) == sizeof(CK_ULONG) ? 0 : COFFER_E_MECH_PARAM);
	assert_int_equal(conv(CKM_SHA_1_HMAC_GENERAL, NULL, 0, &mw),
	    COFFER_E_MECH_PARAM);
	/* The non-general HMAC takes no parameter. */
	assert_int_equal(conv(CKM_SHA256_HMAC, &ml, sizeof(ml), &mw),
	    COFFER_E_MECH_PARAM);

	assert_int_equal(conv(CKM_EDDSA, NULL, 0, &mw), 0);
	assert_int_equal(mw.m.params_case, COFFER__MECHANISM__PARAMS__NOT_SET);
	assert_int_equal(conv(CKM_EDDSA, &ed, sizeof(ed), &mw), 0);
	m = roundtrip(&mw);
	assert_int_equal(m->params_case, COFFER__MECHANISM__PARAMS_EDDSA);
	assert_true(m->eddsa->ph_flag);
	assert_int_equal(m->eddsa->context.len, 2);
	assert_memory_equal(m->eddsa->context.data, "cx", 2);
	coffer__mechanism__free_unpacked(m, NULL);
	ed.pContextData = NULL;
	assert_int_equal(conv(CKM_EDDSA, &ed, sizeof(ed), &mw),
	    COFFER_E_MECH_PARAM);
	assert_int_equal(conv(CKM_EDDSA, &ed, 1, &mw), COFFER_E_MECH_PARAM);
}

/* coffer_mech_dup: a deep copy the caller's buffers can be freed under. */
static void
test_mech_dup(void **state)
{
	CK_BYTE *iv = malloc(12), *aad = malloc(3), *label = malloc(4);
	CK_GCM_PARAMS *gp = malloc(sizeof(*gp));
	CK_RSA_PKCS_OAEP_PARAMS op = { CKM_SHA256, CKG_MGF1_SHA256,
	    CKZ_DATA_SPECIFIED, NULL, 4 };
	CK_MECHANISM m, *c = NULL;
	const CK_GCM_PARAMS *cg;
	const CK_RSA_PKCS_OAEP_PARAMS *co;
	CK_BYTE cbc_iv[16] = { 1, 2, 3 };
	CK_SP800_108_KDF_PARAMS kp = { 0 };

	(void)state;
	assert_non_null(iv);
	assert_non_null(aad);
	assert_non_null(label);
	assert_non_null(gp);
	memcpy(iv, "abcdefghijkl", 12);
	memcpy(aad, "xyz", 3);
	memcpy(label, "LBL!", 4);
	*gp = (CK_GCM_PARAMS){ iv, 12, 96, aad, 3, 128 };
	m = (CK_MECHANISM){ CKM_AES_GCM, gp, sizeof(*gp) };
	assert_int_equal(coffer_mech_dup(&m, &c), 0);
	/* Free (and scribble over) the originals first. */
	memset(iv, 0, 12);
	memset(aad, 0, 3);
	memset(gp, 0, sizeof(*gp));
	free(iv);
	free(aad);
	free(gp);
	assert_int_equal(c->mechanism, CKM_AES_GCM);
	assert_int_equal(c->ulParameterLen, sizeof(CK_GCM_PARAMS));
	cg = c->pParameter;
	assert_int_equal(cg->ulIvLen, 12);
	assert_int_equal(cg->ulIvBits, 96);
	assert_int_equal(cg->ulAADLen, 3);
	assert_int_equal(cg->ulTagBits, 128);
	assert_memory_equal(cg->pIv, "abcdefghijkl", 12);
	assert_memory_equal(cg->pAAD, "xyz", 3);
	coffer_mech_free(c);

	op.pSourceData = label;
	m = (CK_MECHANISM){ CKM_RSA_PKCS_OAEP, &op, sizeof(op) };
	assert_int_equal(coffer_mech_dup(&m, &c), 0);
	memset(label, 0, 4);
	free(label);
	co = c->pParameter;
	assert_ptr_not_equal(co, &op);
	assert_int_equal(co->hashAlg, CKM_SHA256);
	assert_int_equal(co->ulSourceDataLen, 4);
	assert_memory_equal(co->pSourceData, "LBL!", 4);
	coffer_mech_free(c);

	m = (CK_MECHANISM){ CKM_AES_CBC, cbc_iv, sizeof(cbc_iv) };
	assert_int_equal(coffer_mech_dup(&m, &c), 0);
	assert_ptr_not_equal(c->pParameter, cbc_iv);
	assert_memory_equal(c->pParameter, cbc_iv, 16);
	coffer_mech_free(c);

	m = (CK_MECHANISM){ CKM_SHA256_RSA_PKCS, NULL, 0 };
	assert_int_equal(coffer_mech_dup(&m, &c), 0);
	assert_null(c->pParameter);
	coffer_mech_free(c);

	/* The same checks as the wire form. */
	c = (CK_MECHANISM *)&m;
	m = (CK_MECHANISM){ CKM_AES_CBC, cbc_iv, 15 };
	assert_int_equal(coffer_mech_dup(&m, &c), COFFER_E_MECH_PARAM);
	assert_null(c);
	m = (CK_MECHANISM){ CKM_SHA256_RSA_PKCS, cbc_iv, 4 };
	assert_int_equal(coffer_mech_dup(&m, &c), COFFER_E_MECH_PARAM);
	m = (CK_MECHANISM){ CKM_SP800_108_COUNTER_KDF, &kp, sizeof(kp) };
	assert_int_equal(coffer_mech_dup(&m, &c), COFFER_E_MECHANISM);
	assert_int_equal(coffer_mech_dup(NULL, &c), COFFER_E_INVAL);
	coffer_mech_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tmpl_ulong_bool_bytes),
		cmocka_unit_test(test_tmpl_allowed_mechs),
		cmocka_unit_test(test_tmpl_bad),
		cmocka_unit_test(test_get_lengths),
		cmocka_unit_test(test_get_values),
		cmocka_unit_test(test_get_small_and_precedence),
		cmocka_unit_test(test_get_exact_and_mechs),
		cmocka_unit_test(test_get_malformed),
		cmocka_unit_test(test_mech_none),
		cmocka_unit_test(test_mech_iv),
		cmocka_unit_test(test_mech_pss_oaep),
		cmocka_unit_test(test_mech_gcm_ctr),
		cmocka_unit_test(test_mech_ecdh),
		cmocka_unit_test(test_mech_kbkdf),
		cmocka_unit_test(test_mech_dup),
		cmocka_unit_test(test_mech_rsa_aes_mac_eddsa),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
