/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objects_tmpl.c: the PKCS#11 3.0 attribute rules, enforced in the node.
 *
 *   - which attributes an object of each class (and key type) has;
 *   - which ones a caller may give when making an object, and which are
 *     computed (LOCAL, KEY_GEN_MECHANISM, ALWAYS_SENSITIVE,
 *     NEVER_EXTRACTABLE, the public values of the key);
 *   - defaults (CloudHSM/SoftHSM-like, see docs/PROTOCOL.md);
 *   - which ones C_SetAttributeValue may change: SENSITIVE only to true,
 *     EXTRACTABLE only to false, WRAP_WITH_TRUSTED only to true,
 *     COPYABLE/DESTROYABLE only to false, nothing on a non-modifiable
 *     object, CKA_TRUSTED only by a CO;
 *   - what C_GetAttributeValue returns: never a key value or a private
 *     component, whatever SENSITIVE and EXTRACTABLE say (keys leave the
 *     node only wrapped).
 *
 * C_CreateObject makes data objects, X.509 certificates and public keys
 * (as CKA_PUBLIC_KEY_INFO or by components). Secret and private keys are
 * refused with COFFER_E_TEMPLATE (CKR_TEMPLATE_INCONSISTENT): they enter
 * only through unwrap, so a key value never crosses the wire in clear.
 */
#include <p11-kit/pkcs11.h>

#include <stdlib.h>
#include <string.h>

#include "coffer/coffer_err.h"
#include "common/p11attr.h"
#include "common/secmem.h"
#include "crypto/keys.h"
#include "crypto/keys_import.h"
#include "hsm/objects.h"

/* Classes. */
#define C_D	0x1u	/* data */
#define C_S	0x2u	/* secret key */
#define C_PR	0x4u	/* private key */
#define C_PU	0x8u	/* public key */
#define C_C	0x10u	/* certificate (X.509 only) */
#define C_K	(C_S | C_PR | C_PU)
#define C_ALL	(C_D | C_K | C_C)

/* Flags. */
#define F_GIVE	0x01u	/* caller may give it when making an object */
#define F_MOD	0x02u	/* C_SetAttributeValue may change it */
#define F_UP	0x04u	/* ... only false -> true */
#define F_DOWN	0x08u	/* ... only true -> false */
#define F_RSA	0x10u	/* RSA keys only */
#define F_EC	0x20u	/* EC and Edwards keys only */
#define F_SENS	0x40u	/* exists but is never returned */
#define F_GEN	0x80u	/* caller may give it to key generation only */
#define F_LEN	0x100u	/* secret key length: generate, unwrap, derive */
#define F_IMP	0x200u	/* public key component: C_CreateObject only */

struct rule {
	uint64_t type;
	unsigned cls;
	unsigned flags;
};

static const struct rule rules[] = {
	{ CKA_CLASS, C_ALL, F_GIVE },
	{ CKA_TOKEN, C_ALL, F_GIVE },
	{ CKA_PRIVATE, C_ALL, F_GIVE },
	{ CKA_MODIFIABLE, C_ALL, F_GIVE },
	{ CKA_COPYABLE, C_ALL, F_GIVE | F_MOD | F_DOWN },
	{ CKA_DESTROYABLE, C_ALL, F_GIVE | F_MOD | F_DOWN },
	{ CKA_LABEL, C_ALL, F_GIVE | F_MOD },
	{ CKA_APPLICATION, C_D, F_GIVE | F_MOD },
	{ CKA_OBJECT_ID, C_D, F_GIVE | F_MOD },
	{ CKA_VALUE, C_D, F_GIVE | F_MOD },
	{ CKA_VALUE, C_S | C_PR, F_SENS },
	{ CKA_KEY_TYPE, C_K, F_GIVE },
	{ CKA_ID, C_K, F_GIVE | F_MOD },
	{ CKA_START_DATE, C_K, F_GIVE | F_MOD },
	{ CKA_END_DATE, C_K, F_GIVE | F_MOD },
	{ CKA_DERIVE, C_K, F_GIVE | F_MOD },
	{ CKA_LOCAL, C_K, 0 },
	{ CKA_KEY_GEN_MECHANISM, C_K, 0 },
	{ CKA_ALLOWED_MECHANISMS, C_K, F_GIVE },
	{ CKA_SUBJECT, C_PR | C_PU, F_GIVE | F_MOD },
	{ CKA_ENCRYPT, C_S | C_PU, F_GIVE | F_MOD },
	{ CKA_VERIFY, C_S | C_PU, F_GIVE | F_MOD },
	{ CKA_VERIFY_RECOVER, C_PU, F_GIVE | F_MOD },
	{ CKA_WRAP, C_S | C_PU, F_GIVE | F_MOD },
	{ CKA_TRUSTED, C_S | C_PU, 0 },		/* CO only: see check_set */
	{ CKA_DECRYPT, C_S | C_PR, F_GIVE | F_MOD },
	{ CKA_SIGN, C_S | C_PR, F_GIVE | F_MOD },
	{ CKA_SIGN_RECOVER, C_PR, F_GIVE | F_MOD },
	{ CKA_UNWRAP, C_S | C_PR, F_GIVE | F_MOD },
	{ CKA_SENSITIVE, C_S | C_PR, F_GIVE | F_MOD | F_UP },
	{ CKA_EXTRACTABLE, C_S | C_PR, F_GIVE | F_MOD | F_DOWN },
	{ CKA_ALWAYS_SENSITIVE, C_S | C_PR, 0 },
	{ CKA_NEVER_EXTRACTABLE, C_S | C_PR, 0 },
	{ CKA_WRAP_WITH_TRUSTED, C_S | C_PR, F_GIVE | F_MOD | F_UP },
	{ CKA_ALWAYS_AUTHENTICATE, C_PR, F_GIVE },
	{ CKA_CHECK_VALUE, C_S, 0 },
	{ CKA_VALUE_LEN, C_S, F_LEN },
	{ CKA_MODULUS, C_PU, F_RSA | F_IMP },
	{ CKA_MODULUS, C_PR, F_RSA },
	{ CKA_MODULUS_BITS, C_PU, F_RSA | F_GEN },
	{ CKA_PUBLIC_EXPONENT, C_PU, F_RSA | F_GEN | F_IMP },
	{ CKA_PUBLIC_EXPONENT, C_PR, F_RSA | F_GEN },
	{ CKA_PRIVATE_EXPONENT, C_PR, F_RSA | F_SENS },
	{ CKA_PRIME_1, C_PR, F_RSA | F_SENS },
	{ CKA_PRIME_2, C_PR, F_RSA | F_SENS },
	{ CKA_EXPONENT_1, C_PR, F_RSA | F_SENS },
	{ CKA_EXPONENT_2, C_PR, F_RSA | F_SENS },
	{ CKA_COEFFICIENT, C_PR, F_RSA | F_SENS },
	{ CKA_EC_PARAMS, C_PU, F_EC | F_GEN | F_IMP },
	{ CKA_EC_PARAMS, C_PR, F_EC | F_GEN },
	{ CKA_EC_POINT, C_PU, F_EC | F_IMP },
	{ CKA_PUBLIC_KEY_INFO, C_PR | C_PU, 0 },	/* create: see begin */
	/* Certificates (PKCS#11 3.0 §4.6): public objects; only ID, ISSUER,
	 * SERIAL_NUMBER (and the common LABEL...) change after creation;
	 * the value is returned. CKA_CHECK_VALUE is computed (a given one
	 * must match). */
	{ CKA_CERTIFICATE_TYPE, C_C, F_GIVE },
	{ CKA_TRUSTED, C_C, 0 },		/* CO only: see check_set */
	{ CKA_CERTIFICATE_CATEGORY, C_C, F_GIVE },
	{ CKA_CHECK_VALUE, C_C, F_GIVE },
	{ CKA_START_DATE, C_C, F_GIVE },
	{ CKA_END_DATE, C_C, F_GIVE },
	{ CKA_PUBLIC_KEY_INFO, C_C, F_GIVE },
	{ CKA_SUBJECT, C_C, F_GIVE },
	{ CKA_ID, C_C, F_GIVE | F_MOD },
	{ CKA_ISSUER, C_C, F_GIVE | F_MOD },
	{ CKA_SERIAL_NUMBER, C_C, F_GIVE | F_MOD },
	{ CKA_VALUE, C_C, F_GIVE },
	{ CKA_URL, C_C, F_GIVE },
	{ CKA_HASH_OF_SUBJECT_PUBLIC_KEY, C_C, F_GIVE },
	{ CKA_HASH_OF_ISSUER_PUBLIC_KEY, C_C, F_GIVE },
	{ CKA_NAME_HASH_ALGORITHM, C_C, F_GIVE },
};

static unsigned
cls_bit(uint64_t cls)
{
	switch (cls) {
	case CKO_DATA:
		return C_D;
	case CKO_SECRET_KEY:
		return C_S;
	case CKO_PRIVATE_KEY:
		return C_PR;
	case CKO_PUBLIC_KEY:
		return C_PU;
	case CKO_CERTIFICATE:
		return C_C;
	}
	return 0;
}

/* The rule for type in class cls (NULL: the attribute does not exist
 * for objects of that class and key type). */
static const struct rule *
rule_of(uint64_t type, uint64_t cls, uint64_t key_type)
{
	unsigned cb = cls_bit(cls);
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		const struct rule *r = &rules[i];

		if (r->type != type || (r->cls & cb) == 0)
			continue;
		if ((r->flags & F_RSA) && key_type != CKK_RSA)
			return NULL;
		if ((r->flags & F_EC) && key_type != CKK_EC &&
		    key_type != CKK_EC_EDWARDS)
			return NULL;
		return r;
	}
	return NULL;
}

static bool
is_gen(enum cf_tmpl_op op)
{
	return op == CF_T_GENERATE || op == CF_T_GEN_PUB ||
	    op == CF_T_GEN_PRIV;
}

/* May the caller give attribute r when making an object with op? */
static int
givable(const struct rule *r, enum cf_tmpl_op op, uint64_t cls,
    const struct cf_attr *a)
{
	if (r->flags & F_GIVE) {
		if (r->type == CKA_ALWAYS_AUTHENTICATE && a->n == 1 &&
		    a->v[0] != 0)
			return COFFER_E_ATTRIBUTE;	/* not supported */
		return 0;
	}
	/* Tools write CKA_TRUSTED=false with certificates; true is for a
	 * CO, after the fact (cf_tmpl_check_set). */
	if (r->type == CKA_TRUSTED && a->n == 1 && a->v[0] == 0)
		return 0;
	if ((r->flags & F_GEN) && op == CF_T_GEN_PUB)
		return 0;
	if ((r->flags & F_LEN) && (op == CF_T_GENERATE ||
	    op == CF_T_UNWRAP || op == CF_T_DERIVE))
		return 0;
	/* Importing a public key by its components. */
	if ((r->flags & F_IMP) && op == CF_T_CREATE)
		return 0;
	/* Importing a public key: the SubjectPublicKeyInfo is the value. */
	if (op == CF_T_CREATE && cls == CKO_PUBLIC_KEY &&
	    r->type == CKA_PUBLIC_KEY_INFO)
		return 0;
	return COFFER_E_ATTR_READONLY;
}

static int
set_default_bool(struct cf_attrs *l, uint64_t type, bool v)
{
	if (cf_attrs_find(l, type) != NULL)
		return 0;
	return cf_attrs_set_bool(l, type, v);
}

static int
set_default_empty(struct cf_attrs *l, uint64_t type)
{
	if (cf_attrs_find(l, type) != NULL)
		return 0;
	return cf_attrs_set(l, type, NULL, 0);
}

static int
defaults(uint64_t cls, struct cf_attrs *l)
{
	unsigned cb = cls_bit(cls);
	int rc = 0;

	rc |= set_default_bool(l, CKA_TOKEN, false);
	rc |= set_default_bool(l, CKA_PRIVATE, cls != CKO_PUBLIC_KEY &&
	    cls != CKO_DATA && cls != CKO_CERTIFICATE);
	rc |= set_default_bool(l, CKA_MODIFIABLE, true);
	rc |= set_default_bool(l, CKA_COPYABLE, true);
	rc |= set_default_bool(l, CKA_DESTROYABLE, true);
	rc |= set_default_empty(l, CKA_LABEL);
	if (cb == C_D) {
		rc |= set_default_empty(l, CKA_APPLICATION);
		rc |= set_default_empty(l, CKA_OBJECT_ID);
		rc |= set_default_empty(l, CKA_VALUE);
		return rc != 0 ? COFFER_E_NOMEM : 0;
	}
	if (cb == C_C) {
		rc |= set_default_bool(l, CKA_TRUSTED, false);
		rc |= cf_attrs_find(l, CKA_CERTIFICATE_CATEGORY) != NULL ? 0 :
		    cf_attrs_set_ulong(l, CKA_CERTIFICATE_CATEGORY, 0);
		rc |= cf_attrs_find(l, CKA_NAME_HASH_ALGORITHM) != NULL ? 0 :
		    cf_attrs_set_ulong(l, CKA_NAME_HASH_ALGORITHM, CKM_SHA_1);
		rc |= set_default_empty(l, CKA_ID);
		rc |= set_default_empty(l, CKA_ISSUER);
		rc |= set_default_empty(l, CKA_SERIAL_NUMBER);
		rc |= set_default_empty(l, CKA_START_DATE);
		rc |= set_default_empty(l, CKA_END_DATE);
		rc |= set_default_empty(l, CKA_URL);
		rc |= set_default_empty(l, CKA_HASH_OF_SUBJECT_PUBLIC_KEY);
		rc |= set_default_empty(l, CKA_HASH_OF_ISSUER_PUBLIC_KEY);
		return rc != 0 ? COFFER_E_NOMEM : 0;
	}
	rc |= set_default_empty(l, CKA_ID);
	rc |= set_default_empty(l, CKA_START_DATE);
	rc |= set_default_empty(l, CKA_END_DATE);
	rc |= set_default_bool(l, CKA_DERIVE, false);
	rc |= set_default_empty(l, CKA_ALLOWED_MECHANISMS);
	if (cb & (C_PR | C_PU))
		rc |= set_default_empty(l, CKA_SUBJECT);
	if (cb & (C_S | C_PU)) {
		rc |= set_default_bool(l, CKA_ENCRYPT, true);
		rc |= set_default_bool(l, CKA_VERIFY, true);
		rc |= set_default_bool(l, CKA_WRAP, true);
		rc |= set_default_bool(l, CKA_TRUSTED, false);
	}
	if (cb == C_PU)
		rc |= set_default_bool(l, CKA_VERIFY_RECOVER, false);
	if (cb & (C_S | C_PR)) {
		rc |= set_default_bool(l, CKA_DECRYPT, true);
		rc |= set_default_bool(l, CKA_SIGN, true);
		rc |= set_default_bool(l, CKA_UNWRAP, true);
		rc |= set_default_bool(l, CKA_SENSITIVE, true);
		rc |= set_default_bool(l, CKA_EXTRACTABLE, true);
		rc |= set_default_bool(l, CKA_WRAP_WITH_TRUSTED, false);
	}
	if (cb == C_PR) {
		rc |= set_default_bool(l, CKA_SIGN_RECOVER, false);
		rc |= set_default_bool(l, CKA_ALWAYS_AUTHENTICATE, false);
	}
	return rc != 0 ? COFFER_E_NOMEM : 0;
}

int
cf_tmpl_begin(enum cf_tmpl_op op, uint64_t cls, uint64_t key_type,
    const struct cf_attrs *tmpl, struct cf_attrs *out)
{
	const struct cf_attr *a;
	const struct rule *r;
	uint64_t v;
	size_t i;
	int rc;

	*out = (struct cf_attrs){0};
	if ((a = cf_attrs_find(tmpl, CKA_CLASS)) != NULL) {
		if (cf_attr_get_ulong(a->v, a->n, &v) != 0)
			return COFFER_E_ATTRIBUTE;
		if (cls == CK_UNAVAILABLE_INFORMATION)
			cls = v;
		else if (v != cls)
			return COFFER_E_ATTRIBUTE;	/* inconsistent */
	}
	if ((a = cf_attrs_find(tmpl, CKA_KEY_TYPE)) != NULL) {
		if (cf_attr_get_ulong(a->v, a->n, &v) != 0)
			return COFFER_E_ATTRIBUTE;
		if (key_type == CK_UNAVAILABLE_INFORMATION)
			key_type = v;
		else if (v != key_type)
			return COFFER_E_ATTRIBUTE;
	}
	if (cls_bit(cls) == 0)
		return COFFER_E_ATTRIBUTE;
	/* C_CreateObject makes public keys, certificates and data objects
	 * only: secret and private keys enter through unwrap (keys never
	 * travel in clear). */
	if (op == CF_T_CREATE && (cls == CKO_SECRET_KEY ||
	    cls == CKO_PRIVATE_KEY))
		return COFFER_E_TEMPLATE;
	if (cls == CKO_CERTIFICATE) {
		if (op != CF_T_CREATE && op != CF_T_COPY)
			return COFFER_E_TEMPLATE;
		if (key_type != CK_UNAVAILABLE_INFORMATION)
			return COFFER_E_TEMPLATE;
		a = cf_attrs_find(tmpl, CKA_CERTIFICATE_TYPE);
		if (a == NULL)
			return COFFER_E_TEMPLATE;	/* incomplete */
		if (cf_attr_get_ulong(a->v, a->n, &v) != 0 || v != CKC_X_509)
			return COFFER_E_ATTRIBUTE;	/* value invalid */
		a = cf_attrs_find(tmpl, CKA_VALUE);
		if (a == NULL || a->n == 0)
			return COFFER_E_TEMPLATE;	/* no URL-only certs */
	} else if (cls != CKO_DATA && key_type == CK_UNAVAILABLE_INFORMATION)
		return COFFER_E_ATTRIBUTE;
	for (i = 0; i < tmpl->n; i++) {
		a = &tmpl->a[i];
		if (cf_attr_kind(a->type) == CF_AK_UNKNOWN)
			return COFFER_E_ATTRIBUTE;
		if ((r = rule_of(a->type, cls, key_type)) == NULL) {
			/* The vendor attributes exist but are not given. */
			if (a->type == CKA_COFFER_OWNER_ ||
			    a->type == CKA_COFFER_SHARED_)
				return COFFER_E_ATTR_READONLY;
			return COFFER_E_ATTRIBUTE;
		}
		if ((rc = givable(r, op, cls, a)) != 0)
			return rc;
		/* CKA_TRUSTED is set by a CO after the fact, never here. */
		if ((rc = cf_attrs_set(out, a->type, a->v, a->n)) != 0)
			goto fail;
	}
	rc = COFFER_E_NOMEM;
	if (cf_attrs_set_ulong(out, CKA_CLASS, cls) != 0 ||
	    (cls != CKO_DATA && cls != CKO_CERTIFICATE &&
	    cf_attrs_set_ulong(out, CKA_KEY_TYPE, key_type) != 0))
		goto fail;
	if ((rc = defaults(cls, out)) != 0)
		goto fail;
	return 0;
 fail:
	cf_attrs_clear(out);
	return rc;
}

/* A public value of key as the wire form of attribute type. */
static int
put_key_attr(struct cf_attrs *l, const struct cf_key *k, uint64_t type)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	CK_ULONG ul;
	int rc;

	if ((rc = cf_key_get_attr(k, type, NULL, &n)) != 0)
		return rc;
	if (cf_attr_kind(type) == CF_AK_ULONG) {
		if (n != sizeof(ul))
			return COFFER_E_INTERNAL;
		if ((rc = cf_key_get_attr(k, type, (uint8_t *)&ul, &n)) != 0)
			return rc;
		return cf_attrs_set_ulong(l, type, ul);
	}
	if ((buf = malloc(n > 0 ? n : 1)) == NULL)
		return COFFER_E_NOMEM;
	if ((rc = cf_key_get_attr(k, type, buf, &n)) == 0)
		rc = cf_attrs_set(l, type, buf, n);
	free(buf);
	return rc;
}

/* Put v as type unless the caller gave a value (any value: PKCS#11 has
 * the application supply SUBJECT, ISSUER... and does not check them). */
static int
put_missing(struct cf_attrs *l, uint64_t type, const uint8_t *v, size_t n)
{
	const struct cf_attr *a = cf_attrs_find(l, type);

	if (a != NULL && a->n > 0)
		return 0;
	return cf_attrs_set(l, type, v, n);
}

/* An X.509 certificate: what can be read from CKA_VALUE. */
static int
finish_cert(struct cf_attrs *l)
{
	const struct cf_attr *v = cf_attrs_find(l, CKA_VALUE);
	const struct cf_attr *cv;
	struct cf_cert_info ci;
	int rc;

	if (v == NULL || v->n == 0)
		return COFFER_E_TEMPLATE;
	if ((rc = cf_cert_x509_info(v->v, v->n, &ci)) != 0)
		goto out;
	cv = cf_attrs_find(l, CKA_CHECK_VALUE);
	if (cv != NULL && cv->n > 0 && (cv->n != sizeof(ci.check) ||
	    memcmp(cv->v, ci.check, sizeof(ci.check)) != 0)) {
		rc = COFFER_E_TEMPLATE;
		goto out;
	}
	if ((rc = cf_attrs_set(l, CKA_CHECK_VALUE, ci.check,
	    sizeof(ci.check))) != 0 ||
	    (rc = put_missing(l, CKA_SUBJECT, ci.subject,
	    ci.subject_len)) != 0 ||
	    (rc = put_missing(l, CKA_ISSUER, ci.issuer, ci.issuer_len)) != 0 ||
	    (rc = put_missing(l, CKA_SERIAL_NUMBER, ci.serial,
	    ci.serial_len)) != 0 ||
	    (rc = put_missing(l, CKA_PUBLIC_KEY_INFO, ci.spki,
	    ci.spki_len)) != 0)
		goto out;
 out:
	cf_cert_info_clear(&ci);
	return rc;
}

int
cf_tmpl_finish(enum cf_tmpl_op op, uint64_t gen_mech,
    const struct cf_attrs *base, const struct cf_key *key,
    struct cf_attrs *l)
{
	uint64_t cls = cf_attrs_ulong(l, CKA_CLASS, CKO_DATA);
	uint64_t kt = cf_attrs_ulong(l, CKA_KEY_TYPE, 0);
	bool sens, extr, as, ne;
	int rc;

	if (cls == CKO_DATA)
		return 0;
	if (cls == CKO_CERTIFICATE)
		return op == CF_T_CREATE ? finish_cert(l) : 0;
	if (key == NULL)
		return COFFER_E_INTERNAL;
	if (op != CF_T_COPY) {
		if ((rc = cf_attrs_set_bool(l, CKA_LOCAL, is_gen(op))) != 0 ||
		    (rc = cf_attrs_set_ulong(l, CKA_KEY_GEN_MECHANISM,
		    is_gen(op) ? gen_mech : CK_UNAVAILABLE_INFORMATION)) != 0)
			return rc;
	}
	if (cls == CKO_SECRET_KEY || cls == CKO_PRIVATE_KEY) {
		sens = cf_attrs_bool(l, CKA_SENSITIVE, true);
		extr = cf_attrs_bool(l, CKA_EXTRACTABLE, true);
		switch (op) {
		case CF_T_GENERATE:
		case CF_T_GEN_PRIV:
			as = sens;
			ne = !extr;
			break;
		case CF_T_DERIVE:
			/* PKCS#11 3.0 §4.9: inherited from the base key. */
			as = sens && base != NULL &&
			    cf_attrs_bool(base, CKA_ALWAYS_SENSITIVE, false);
			ne = !extr && base != NULL &&
			    cf_attrs_bool(base, CKA_NEVER_EXTRACTABLE, false);
			break;
		case CF_T_COPY:
			as = cf_attrs_bool(l, CKA_ALWAYS_SENSITIVE, false);
			ne = cf_attrs_bool(l, CKA_NEVER_EXTRACTABLE, false);
			break;
		default:
			/* Unwrapped keys were outside: never "always". */
			as = ne = false;
			break;
		}
		if ((rc = cf_attrs_set_bool(l, CKA_ALWAYS_SENSITIVE, as)) != 0 ||
		    (rc = cf_attrs_set_bool(l, CKA_NEVER_EXTRACTABLE, ne)) != 0)
			return rc;
	}
	if (op == CF_T_COPY)
		return 0;
	if (cls == CKO_SECRET_KEY) {
		if ((rc = put_key_attr(l, key, CKA_VALUE_LEN)) != 0 ||
		    (rc = put_key_attr(l, key, CKA_CHECK_VALUE)) != 0)
			return rc;
		return 0;
	}
	if (kt == CKK_RSA) {
		if ((rc = put_key_attr(l, key, CKA_MODULUS)) != 0 ||
		    (rc = put_key_attr(l, key, CKA_PUBLIC_EXPONENT)) != 0)
			return rc;
		if (cls == CKO_PUBLIC_KEY &&
		    (rc = put_key_attr(l, key, CKA_MODULUS_BITS)) != 0)
			return rc;
	} else if (kt == CKK_EC || kt == CKK_EC_EDWARDS) {
		if ((rc = put_key_attr(l, key, CKA_EC_PARAMS)) != 0)
			return rc;
		if (cls == CKO_PUBLIC_KEY &&
		    (rc = put_key_attr(l, key, CKA_EC_POINT)) != 0)
			return rc;
	}
	/* From the key itself, private or public (keys.c builds it). */
	return put_key_attr(l, key, CKA_PUBLIC_KEY_INFO);
}

static bool
same_value(const struct cf_obj *o, const struct cf_attr *a)
{
	const struct cf_attr *cur = cf_attrs_find(&o->attrs, a->type);

	return cur != NULL && cur->n == a->n &&
	    (a->n == 0 || memcmp(cur->v, a->v, a->n) == 0);
}

int
cf_tmpl_check_set(const struct cf_obj *o, const struct cf_attrs *attrs,
    int who)
{
	const struct cf_attr *a;
	const struct rule *r;
	bool cur, nv;
	size_t i;

	if (who == CF_SET_CU && !cf_attrs_bool(&o->attrs, CKA_MODIFIABLE,
	    true))
		return COFFER_E_ATTR_READONLY;
	for (i = 0; i < attrs->n; i++) {
		a = &attrs->a[i];
		if (cf_attr_kind(a->type) == CF_AK_UNKNOWN)
			return COFFER_E_ATTRIBUTE;
		if ((r = rule_of(a->type, o->cls, o->key_type)) == NULL) {
			if (a->type == CKA_COFFER_OWNER_ ||
			    a->type == CKA_COFFER_SHARED_)
				return COFFER_E_ATTR_READONLY;
			return COFFER_E_ATTRIBUTE;
		}
		if (who == CF_SET_CO) {
			if (a->type != CKA_TRUSTED)
				return COFFER_E_ROLE;
			continue;
		}
		if (same_value(o, a))
			continue;
		if (a->type == CKA_TRUSTED) {
			if (who == CF_SET_APPLY)
				continue;
			return COFFER_E_ATTR_READONLY;	/* CO only */
		}
		if ((r->flags & F_MOD) == 0)
			return COFFER_E_ATTR_READONLY;
		if (r->flags & (F_UP | F_DOWN)) {
			cur = cf_attrs_bool(&o->attrs, a->type,
			    (r->flags & F_DOWN) != 0);
			nv = a->n == 1 && a->v[0] != 0;
			if ((r->flags & F_UP) && cur && !nv)
				return COFFER_E_ATTR_READONLY;
			if ((r->flags & F_DOWN) && !cur && nv)
				return COFFER_E_ATTR_READONLY;
		}
	}
	return 0;
}

int
cf_tmpl_copy(const struct cf_obj *o, const struct cf_attrs *tmpl,
    struct cf_attrs *out)
{
	struct cf_attrs rest = {0};
	const struct cf_attr *a;
	size_t i;
	int rc;

	*out = (struct cf_attrs){0};
	if (!cf_attrs_bool(&o->attrs, CKA_COPYABLE, true))
		return COFFER_E_PERM;
	for (i = 0; i < tmpl->n; i++) {
		a = &tmpl->a[i];
		if (a->type == CKA_TOKEN || a->type == CKA_PRIVATE)
			continue;
		if (a->type == CKA_MODIFIABLE) {
			if (a->v[0] != 0 && !cf_attrs_bool(&o->attrs,
			    CKA_MODIFIABLE, true)) {
				rc = COFFER_E_ATTR_READONLY;
				goto out;
			}
			continue;
		}
		if ((rc = cf_attrs_set(&rest, a->type, a->v, a->n)) != 0)
			goto out;
	}
	/* The rest follows C_SetAttributeValue's rules, except that a
	 * non-modifiable source may still be copied. */
	if ((rc = cf_tmpl_check_set(o, &rest, CF_SET_CU)) != 0 &&
	    !(rc == COFFER_E_ATTR_READONLY && rest.n == 0))
		goto out;
	if (rest.n > 0 && !cf_attrs_bool(&o->attrs, CKA_MODIFIABLE, true)) {
		rc = COFFER_E_ATTR_READONLY;
		goto out;
	}
	for (i = 0; i < o->attrs.n; i++)
		if ((rc = cf_attrs_set(out, o->attrs.a[i].type,
		    o->attrs.a[i].v, o->attrs.a[i].n)) != 0)
			goto out;
	for (i = 0; i < tmpl->n; i++)
		if ((rc = cf_attrs_set(out, tmpl->a[i].type, tmpl->a[i].v,
		    tmpl->a[i].n)) != 0)
			goto out;
	rc = 0;
 out:
	cf_attrs_clear(&rest);
	if (rc != 0)
		cf_attrs_clear(out);
	return rc;
}

int
cf_tmpl_get(const struct cf_obj *o, uint64_t type, uint8_t *buf,
    size_t buflen, const uint8_t **v, size_t *n)
{
	const struct cf_attr *a;
	const struct rule *r;
	size_t i, len = 0, l;

	*v = NULL;
	*n = 0;
	if (type == CKA_COFFER_OWNER_) {
		*v = (const uint8_t *)o->owner;
		*n = strlen(o->owner);
		return 0;
	}
	if (type == CKA_COFFER_SHARED_) {
		for (i = 0; i < o->nshared; i++) {
			l = strlen(o->shared[i]);
			if (len + l + 1 > buflen)
				return COFFER_E_INTERNAL;
			if (i > 0)
				buf[len++] = ',';
			memcpy(buf + len, o->shared[i], l);
			len += l;
		}
		*v = buf;
		*n = len;
		return 0;
	}
	if (cf_attr_kind(type) == CF_AK_UNKNOWN)
		return COFFER_E_ATTRIBUTE;
	r = rule_of(type, o->cls, o->key_type);
	if (r != NULL && (r->flags & F_SENS))
		return COFFER_E_ATTR_SENSITIVE;
	if ((a = cf_attrs_find(&o->attrs, type)) == NULL)
		return COFFER_E_ATTRIBUTE;
	*v = a->v;
	*n = a->n;
	return 0;
}
