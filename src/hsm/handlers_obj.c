/* SPDX-License-Identifier: Apache-2.0 */
/*
 * handlers_obj.c: object handlers (issue 3): generate, create, copy,
 * destroy, get/set attributes, find, share. Token objects are proposed
 * as log entries (EntObj*); session objects stay in this node's client
 * instance (objects_local.h).
 *
 * Authorization beyond the command table (CU only, except CO for
 * CKA_TRUSTED): an object is visible to its owner and the users it is
 * shared with; anything else gets COFFER_E_NOTFOUND (no existence
 * oracle). Only the owner may modify, share, copy, wrap or destroy;
 * shared users get COFFER_E_PERM.
 */
#include <p11-kit/pkcs11.h>	/* before coffer.pb-c.h: see p11ext.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coffer/coffer_err.h"
#include "common/log.h"
#include "common/p11attr.h"
#include "common/secmem.h"
#include "crypto/keys.h"
#include "crypto/keys_import.h"
#include "crypto/mech.h"
#include "hsm/handlers.h"
#include "hsm/node.h"
#include "hsm/objects.h"
#include "hsm/objects_local.h"
#include "hsm/state.h"

#define FIND_DEFAULT 1000
#define FIND_MAX 10000
#define GET_MAX 256

static bool
is_session(uint64_t handle)
{
	return (handle & CF_SESSION_HANDLE_BIT) != 0;
}

static uint64_t
max_objects(const struct cf_node *node)
{
	return node->cfg.max_objects != 0 ? node->cfg.max_objects :
	    CF_MAX_OBJECTS_DEFAULT;
}

/* A looked-up object with its store's lock held. */
struct oref {
	struct cf_obj *o;
	struct cf_state *st;		/* token: read lock held */
	struct cf_inst *inst;		/* session: instance lock held */
};

static void
oref_put(struct oref *r)
{
	if (r->st != NULL)
		cf_state_unlock(r->st);
	if (r->inst != NULL)
		cf_inst_unlock(r->inst);
	*r = (struct oref){0};
}

/* Finds handle, visible to the caller; locks its store. */
static int
oref_get(struct cf_cmd_ctx *ctx, uint64_t handle, struct oref *r)
{
	*r = (struct oref){0};
	if (is_session(handle)) {
		if (ctx->sess->inst == NULL)
			return COFFER_E_NOTFOUND;
		r->inst = ctx->sess->inst;
		cf_inst_lock(r->inst);
		r->o = cf_objstore_get(cf_inst_objects(r->inst), handle);
	} else {
		r->st = ctx->node->state;
		cf_state_rdlock(r->st);
		r->o = cf_objstore_get(cf_state_objects(r->st), handle);
	}
	if (r->o == NULL || !cf_obj_visible(r->o, ctx->user)) {
		oref_put(r);
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "no object %llu visible to %s", (unsigned long long)handle,
		    ctx->user);
		return COFFER_E_NOTFOUND;
	}
	return 0;
}

static int
owner_only(struct cf_cmd_ctx *ctx, const struct cf_obj *o)
{
	if (cf_obj_is_owner(o, ctx->user))
		return 0;
	snprintf(ctx->detail, sizeof(ctx->detail),
	    "object %llu is shared with %s, who may only use it",
	    (unsigned long long)o->handle, ctx->user);
	return COFFER_E_PERM;
}

static bool
mech_allowed(const struct cf_obj *o, uint64_t mech)
{
	const struct cf_attr *a = cf_attrs_find(&o->attrs,
	    CKA_ALLOWED_MECHANISMS);
	uint64_t m;
	size_t i;

	if (a == NULL || a->n == 0)
		return true;
	for (i = 0; i + 8 <= a->n; i += 8) {
		if (cf_attr_get_ulong(a->v + i, 8, &m) == 0 && m == mech)
			return true;
	}
	return false;
}

static int
copy_attrs(const struct cf_attrs *from, struct cf_attrs *to)
{
	size_t i;
	int rc;

	*to = (struct cf_attrs){0};
	for (i = 0; i < from->n; i++) {
		if ((rc = cf_attrs_set(to, from->a[i].type, from->a[i].v,
		    from->a[i].n)) != 0) {
			cf_attrs_clear(to);
			return rc;
		}
	}
	return 0;
}

/*
 * CKA_START_DATE / CKA_END_DATE (CK_DATE "YYYYMMDD", empty when unset):
 * a key is usable only from its start date to its end date inclusive,
 * compared with today's date in UTC. A malformed date refuses the key
 * (fail closed). PKCS#11 calls the dates informational; Coffer enforces
 * them (docs/MECHANISMS.md). Called with the object held.
 */
static int
key_dates_ok(struct cf_cmd_ctx *ctx, uint64_t handle,
    const struct cf_attrs *a)
{
	static const uint64_t which[2] = { CKA_START_DATE, CKA_END_DATE };
	const struct cf_attr *d[2];
	char today[16] = "", v[9];
	struct tm tm;
	time_t now;
	size_t i, j;

	for (i = 0; i < 2; i++)
		if ((d[i] = cf_attrs_find(a, which[i])) != NULL &&
		    d[i]->n == 0)
			d[i] = NULL;
	if (d[0] == NULL && d[1] == NULL)
		return 0;		/* the usual case: no dates */
	now = time(NULL);
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(today, sizeof(today), "%Y%m%d", &tm) != 8)
		return COFFER_E_INTERNAL;
	for (i = 0; i < 2; i++) {
		if (d[i] == NULL)
			continue;
		for (j = 0; j < d[i]->n && j < 8; j++)
			v[j] = d[i]->v[j] >= '0' && d[i]->v[j] <= '9' ?
			    (char)d[i]->v[j] : '?';
		v[j] = '\0';
		if (d[i]->n != 8 || strchr(v, '?') != NULL ||
		    (i == 0 && strcmp(today, v) < 0) ||
		    (i == 1 && strcmp(today, v) > 0)) {
			snprintf(ctx->detail, sizeof(ctx->detail),
			    "key %llu: %s %s (today %s): key use not permitted",
			    (unsigned long long)handle,
			    i == 0 ? "starts" : "ended", v, today);
			return COFFER_E_KEY_FUNCTION;
		}
	}
	return 0;
}

int
cf_h_key_use(struct cf_cmd_ctx *ctx, uint64_t handle, uint64_t usage,
    uint64_t mech, bool owner, struct cf_keyref **key,
    struct cf_attrs *attrs)
{
	struct oref r;
	int rc;

	*key = NULL;
	if (attrs != NULL)
		*attrs = (struct cf_attrs){0};
	if ((rc = oref_get(ctx, handle, &r)) != 0)
		return rc;
	if (owner && (rc = owner_only(ctx, r.o)) != 0)
		goto out;
	if (r.o->cls == CKO_DATA || r.o->cls == CKO_CERTIFICATE) {
		rc = COFFER_E_KEY_TYPE;
		goto out;
	}
	if (usage != 0 && !cf_attrs_bool(&r.o->attrs, usage, false)) {
		rc = COFFER_E_KEY_FUNCTION;
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "key %llu: %s is false", (unsigned long long)handle,
		    cf_attr_name(usage));
		goto out;
	}
	if (mech != CK_UNAVAILABLE_INFORMATION && !mech_allowed(r.o, mech)) {
		rc = COFFER_E_MECHANISM;
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "key %llu: mechanism not in CKA_ALLOWED_MECHANISMS",
		    (unsigned long long)handle);
		goto out;
	}
	/* Validity dates bind every use; usage 0 is the key being wrapped */
	if (usage != 0 && (rc = key_dates_ok(ctx, handle, &r.o->attrs)) != 0)
		goto out;
	if (attrs != NULL && (rc = copy_attrs(&r.o->attrs, attrs)) != 0)
		goto out;
	if ((rc = cf_obj_key(r.o, key)) != 0 && attrs != NULL)
		cf_attrs_clear(attrs);
 out:
	oref_put(&r);
	return rc;
}

int
cf_h_serialize(const void *kp, uint8_t **out, size_t *out_len)
{
	const struct cf_key *k = kp;
	uint8_t *buf = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	*out_len = 0;
	if ((rc = cf_key_serialize(k, NULL, &n)) != 0)
		return rc;
	if ((buf = cf_malloc_secret(n)) == NULL)
		return COFFER_E_NOMEM;
	if ((rc = cf_key_serialize(k, buf, &n)) != 0) {
		cf_free_secret(buf, n);
		return rc;
	}
	*out = buf;
	*out_len = n;
	return 0;
}

/* --- making objects ------------------------------------------------------- */

/* A record pointing at nobj's data (arrays in *mem: free()). */
static int
record_of(const struct cf_newobj *no, const char *owner,
    Coffer__ObjectRecord *r, void **mem)
{
	Coffer__Attribute *as, **ap;
	const struct cf_attrs *l = no->attrs;
	size_t i;

	coffer__object_record__init(r);
	*mem = calloc(1, (l->n + 1) * (sizeof(*as) + sizeof(*ap)));
	if (*mem == NULL)
		return COFFER_E_NOMEM;
	as = *mem;
	ap = (Coffer__Attribute **)(as + l->n + 1);
	for (i = 0; i < l->n; i++) {
		coffer__attribute__init(&as[i]);
		as[i].type = l->a[i].type;
		as[i].value.data = l->a[i].v;
		as[i].value.len = l->a[i].n;
		ap[i] = &as[i];
	}
	r->owner = (char *)owner;
	r->n_attrs = l->n;
	r->attrs = ap;
	r->material.data = (uint8_t *)no->material;
	r->material.len = no->material_len;
	return 0;
}

int
cf_h_make_objects(struct cf_cmd_ctx *ctx, const struct cf_newobj *objs,
    size_t n, uint64_t *handles)
{
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntObjCreate oc = COFFER__ENT_OBJ_CREATE__INIT;
	Coffer__ObjectRecord recs[2], *rp[2];
	struct cf_obj *o[2] = { NULL, NULL };
	void *mem[2] = { NULL, NULL };
	size_t i, ntok = 0, nses = 0, cur;
	uint64_t first = 0;
	struct cf_inst *in = ctx->sess->inst;
	int rc = COFFER_E_INTERNAL;

	if (n == 0 || n > 2)
		return COFFER_E_INTERNAL;
	for (i = 0; i < n; i++) {
		handles[i] = 0;
		if ((rc = record_of(&objs[i], ctx->user, &recs[i],
		    &mem[i])) != 0)
			goto out;
		if (cf_attrs_bool(objs[i].attrs, CKA_TOKEN, false))
			rp[ntok++] = &recs[i];
		else
			nses++;
	}
	/* Session objects first: they are the ones that can fail cheaply. */
	if (nses > 0) {
		if (in == NULL) {
			rc = COFFER_E_SESSION;
			goto out;
		}
		for (i = 0; i < n; i++) {
			if (cf_attrs_bool(objs[i].attrs, CKA_TOKEN, false))
				continue;
			if ((rc = cf_obj_from_pb(&recs[i],
			    cf_inst_new_handle(in), &o[i])) != 0)
				goto out;
		}
		cf_inst_lock(in);
		if (cf_objstore_count(cf_inst_objects(in)) + nses >
		    CF_MAX_SESSION_OBJECTS)
			rc = COFFER_E_FULL;
		else {
			rc = 0;
			for (i = 0; i < n && rc == 0; i++) {
				if (o[i] == NULL)
					continue;
				handles[i] = o[i]->handle;
				if ((rc = cf_objstore_insert(
				    cf_inst_objects(in), o[i])) == 0)
					o[i] = NULL;
			}
		}
		cf_inst_unlock(in);
		if (rc != 0)
			goto undo;
	}
	if (ntok > 0) {
		cf_state_rdlock(ctx->node->state);
		cur = cf_objstore_count(cf_state_objects(ctx->node->state));
		cf_state_unlock(ctx->node->state);
		if (cur + ntok > max_objects(ctx->node))
			rc = COFFER_E_FULL;
		else {
			oc.n_objs = ntok;
			oc.objs = rp;
			oc.max_objects = (uint32_t)max_objects(ctx->node);
			e.body_case = COFFER__LOG_ENTRY__BODY_OBJ_CREATE;
			e.obj_create = &oc;
			rc = cf_cmd_propose(ctx, &e, &first);
		}
		if (rc == COFFER_E_FULL)
			snprintf(ctx->detail, sizeof(ctx->detail),
			    "token object limit (%llu) reached",
			    (unsigned long long)max_objects(ctx->node));
		if (rc != 0)
			goto undo;
		for (i = 0; i < n; i++)
			if (cf_attrs_bool(objs[i].attrs, CKA_TOKEN, false))
				handles[i] = first++;
	}
	rc = 0;
	goto out;
 undo:
	for (i = 0; i < n; i++) {
		if (is_session(handles[i]) && handles[i] != 0 && in != NULL) {
			cf_inst_lock(in);
			(void)cf_objstore_remove(cf_inst_objects(in),
			    handles[i]);
			cf_inst_unlock(in);
		}
		handles[i] = 0;
	}
 out:
	for (i = 0; i < n; i++) {
		cf_obj_free(o[i]);
		free(mem[i]);
	}
	if (rc == 0)
		snprintf(ctx->target, sizeof(ctx->target), "%llu",
		    (unsigned long long)handles[0]);
	return rc;
}

static int
parse_tmpl(struct cf_cmd_ctx *ctx, Coffer__Attribute **a, size_t n,
    struct cf_attrs *out)
{
	int rc;

	if ((rc = cf_attrs_from_pb(a, n, out)) != 0)
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "template: unknown attribute, bad value size or "
		    "duplicate");
	return rc;
}

static void
tmpl_detail(struct cf_cmd_ctx *ctx, int rc, const char *which)
{
	if (rc == COFFER_E_ATTRIBUTE)
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "%s template: attribute invalid or inconsistent for this "
		    "object", which);
	else if (rc == COFFER_E_ATTR_READONLY)
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "%s template: attribute may not be set by the caller",
		    which);
}

static void
set_handle_resp(struct cf_cmd_ctx *ctx, uint64_t handle)
{
	static __thread Coffer__ObjHandleResp r;

	coffer__obj_handle_resp__init(&r);
	r.handle = handle;
	switch (ctx->req->body_case) {
	case COFFER__REQUEST__BODY_OBJ_GENERATE_KEY:
		ctx->resp->body_case = COFFER__RESPONSE__BODY_OBJ_GENERATE_KEY;
		ctx->resp->obj_generate_key = &r;
		break;
	case COFFER__REQUEST__BODY_OBJ_CREATE:
		ctx->resp->body_case = COFFER__RESPONSE__BODY_OBJ_CREATE;
		ctx->resp->obj_create = &r;
		break;
	case COFFER__REQUEST__BODY_OBJ_COPY:
		ctx->resp->body_case = COFFER__RESPONSE__BODY_OBJ_COPY;
		ctx->resp->obj_copy = &r;
		break;
	case COFFER__REQUEST__BODY_UNWRAP_KEY:
		ctx->resp->body_case = COFFER__RESPONSE__BODY_UNWRAP_KEY;
		ctx->resp->unwrap_key = &r;
		break;
	case COFFER__REQUEST__BODY_DERIVE_KEY:
		ctx->resp->body_case = COFFER__RESPONSE__BODY_DERIVE_KEY;
		ctx->resp->derive_key = &r;
		break;
	default:
		break;
	}
}

void
cf_h_set_handle_resp(struct cf_cmd_ctx *ctx, uint64_t handle)
{
	set_handle_resp(ctx, handle);
}

static int
no_params(const Coffer__Mechanism *m)
{
	return m->params_case == COFFER__MECHANISM__PARAMS__NOT_SET ? 0 :
	    COFFER_E_MECH_PARAM;
}

int
cf_h_obj_generate_key(struct cf_cmd_ctx *ctx)
{
	const Coffer__ObjGenerateKeyReq *rq = ctx->req->obj_generate_key;
	struct cf_attrs t = {0}, a = {0};
	struct cf_key *k = NULL;
	struct cf_newobj no = {0};
	uint8_t *mat = NULL;
	size_t mat_len = 0;
	uint64_t kt, len, handle = 0;
	int rc;

	if (rq->mech == NULL)
		return COFFER_E_MECHANISM;
	switch (rq->mech->type) {
	case CKM_AES_KEY_GEN:
		kt = CKK_AES;
		break;
	case CKM_GENERIC_SECRET_KEY_GEN:
		kt = CKK_GENERIC_SECRET;
		break;
	case CKM_DES_KEY_GEN:
	case CKM_DES2_KEY_GEN:
	case CKM_DES3_KEY_GEN:
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "DES and 3DES are not supported");
		return COFFER_E_MECHANISM;
	default:
		return COFFER_E_MECHANISM;
	}
	if ((rc = no_params(rq->mech)) != 0)
		return rc;
	if ((rc = parse_tmpl(ctx, rq->tmpl, rq->n_tmpl, &t)) != 0)
		goto out;
	if ((rc = cf_tmpl_begin(CF_T_GENERATE, CKO_SECRET_KEY, kt, &t,
	    &a)) != 0) {
		tmpl_detail(ctx, rc, "key");
		goto out;
	}
	len = cf_attrs_ulong(&a, CKA_VALUE_LEN, 0);
	if (cf_attrs_find(&a, CKA_VALUE_LEN) == NULL) {
		rc = COFFER_E_ATTRIBUTE;
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "CKA_VALUE_LEN (bytes) is required");
		goto out;
	}
	cf_attrs_del(&a, CKA_VALUE_LEN);
	if (len > 1024) {
		rc = COFFER_E_KEY_SIZE;
		goto out;
	}
	if ((rc = cf_key_generate_secret(kt, (size_t)len, &k)) != 0)
		goto out;
	if ((rc = cf_tmpl_finish(CF_T_GENERATE, rq->mech->type, NULL, k,
	    &a)) != 0 || (rc = cf_h_serialize(k, &mat, &mat_len)) != 0)
		goto out;
	no.attrs = &a;
	no.material = mat;
	no.material_len = mat_len;
	if ((rc = cf_h_make_objects(ctx, &no, 1, &handle)) != 0)
		goto out;
	set_handle_resp(ctx, handle);
 out:
	cf_free_secret(mat, mat_len);
	cf_key_free(k);
	cf_attrs_clear(&t);
	cf_attrs_clear(&a);
	return rc;
}

int
cf_h_obj_generate_key_pair(struct cf_cmd_ctx *ctx)
{
	const Coffer__ObjGenerateKeyPairReq *rq =
	    ctx->req->obj_generate_key_pair;
	static __thread Coffer__ObjKeyPairResp resp;
	struct cf_attrs pt = {0}, st = {0}, pa = {0}, sa = {0};
	struct cf_key *priv = NULL, *pub = NULL;
	struct cf_newobj no[2];
	const struct cf_attr *x;
	uint8_t *pm = NULL, *sm = NULL;
	size_t pm_len = 0, sm_len = 0;
	uint64_t kt, bits, h[2] = { 0, 0 };
	int rc;

	if (rq->mech == NULL)
		return COFFER_E_MECHANISM;
	if ((rc = no_params(rq->mech)) != 0)
		return rc;
	if ((rc = parse_tmpl(ctx, rq->pub_tmpl, rq->n_pub_tmpl, &pt)) != 0 ||
	    (rc = parse_tmpl(ctx, rq->priv_tmpl, rq->n_priv_tmpl, &st)) != 0)
		goto out;
	switch (rq->mech->type) {
	case CKM_RSA_PKCS_KEY_PAIR_GEN:
		kt = CKK_RSA;
		if ((x = cf_attrs_find(&pt, CKA_MODULUS_BITS)) == NULL) {
			rc = COFFER_E_ATTRIBUTE;
			snprintf(ctx->detail, sizeof(ctx->detail),
			    "CKA_MODULUS_BITS is required");
			goto out;
		}
		bits = cf_attrs_ulong(&pt, CKA_MODULUS_BITS, 0);
		if (bits > CF_RSA_MAX_BITS) {
			rc = COFFER_E_KEY_SIZE;
			goto out;
		}
		x = cf_attrs_find(&pt, CKA_PUBLIC_EXPONENT);
		/* Check the templates before the expensive part. */
		if ((rc = cf_tmpl_begin(CF_T_GEN_PUB, CKO_PUBLIC_KEY, kt, &pt,
		    &pa)) != 0) {
			tmpl_detail(ctx, rc, "public key");
			goto out;
		}
		if ((rc = cf_tmpl_begin(CF_T_GEN_PRIV, CKO_PRIVATE_KEY, kt,
		    &st, &sa)) != 0) {
			tmpl_detail(ctx, rc, "private key");
			goto out;
		}
		rc = cf_key_generate_rsa((unsigned)bits,
		    x != NULL && x->n > 0 ? x->v : NULL, x != NULL ? x->n : 0,
		    &priv);
		break;
	case CKM_EC_KEY_PAIR_GEN:
	case CKM_EC_EDWARDS_KEY_PAIR_GEN:
		if ((x = cf_attrs_find(&pt, CKA_EC_PARAMS)) == NULL ||
		    x->n == 0) {
			rc = COFFER_E_ATTRIBUTE;
			snprintf(ctx->detail, sizeof(ctx->detail),
			    "CKA_EC_PARAMS is required");
			goto out;
		}
		if ((rc = cf_key_generate_ec(x->v, x->n, &priv)) != 0)
			goto out;
		kt = cf_key_type(priv);
		if ((rq->mech->type == CKM_EC_EDWARDS_KEY_PAIR_GEN) !=
		    (kt == CKK_EC_EDWARDS)) {
			rc = COFFER_E_ATTRIBUTE;
			snprintf(ctx->detail, sizeof(ctx->detail),
			    "CKA_EC_PARAMS does not fit the mechanism");
			goto out;
		}
		if ((rc = cf_tmpl_begin(CF_T_GEN_PUB, CKO_PUBLIC_KEY, kt, &pt,
		    &pa)) != 0) {
			tmpl_detail(ctx, rc, "public key");
			goto out;
		}
		if ((rc = cf_tmpl_begin(CF_T_GEN_PRIV, CKO_PRIVATE_KEY, kt,
		    &st, &sa)) != 0) {
			tmpl_detail(ctx, rc, "private key");
			goto out;
		}
		break;
	case CKM_DSA_KEY_PAIR_GEN:
	case CKM_DH_PKCS_KEY_PAIR_GEN:
	default:
		rc = COFFER_E_MECHANISM;
		goto out;
	}
	if (rc != 0)
		goto out;
	/* The generation parameters come back from the key itself. */
	cf_attrs_del(&pa, CKA_MODULUS_BITS);
	cf_attrs_del(&pa, CKA_PUBLIC_EXPONENT);
	cf_attrs_del(&pa, CKA_EC_PARAMS);
	if ((rc = cf_key_public(priv, &pub)) != 0 ||
	    (rc = cf_tmpl_finish(CF_T_GEN_PUB, rq->mech->type, NULL, pub,
	    &pa)) != 0 ||
	    (rc = cf_tmpl_finish(CF_T_GEN_PRIV, rq->mech->type, NULL, priv,
	    &sa)) != 0 ||
	    (rc = cf_h_serialize(pub, &pm, &pm_len)) != 0 ||
	    (rc = cf_h_serialize(priv, &sm, &sm_len)) != 0)
		goto out;
	no[0] = (struct cf_newobj){ &pa, pm, pm_len };
	no[1] = (struct cf_newobj){ &sa, sm, sm_len };
	if ((rc = cf_h_make_objects(ctx, no, 2, h)) != 0)
		goto out;
	coffer__obj_key_pair_resp__init(&resp);
	resp.pub = h[0];
	resp.priv = h[1];
	ctx->resp->body_case = COFFER__RESPONSE__BODY_OBJ_GENERATE_KEY_PAIR;
	ctx->resp->obj_generate_key_pair = &resp;
 out:
	cf_free_secret(pm, pm_len);
	cf_free_secret(sm, sm_len);
	cf_key_free(priv);
	cf_key_free(pub);
	cf_attrs_clear(&pt);
	cf_attrs_clear(&st);
	cf_attrs_clear(&pa);
	cf_attrs_clear(&sa);
	return rc;
}

/*
 * The key of a C_CreateObject public key template: CKA_PUBLIC_KEY_INFO
 * (SubjectPublicKeyInfo DER or PEM), or the components (RSA: CKA_MODULUS
 * and CKA_PUBLIC_EXPONENT; EC and Edwards: CKA_EC_PARAMS and
 * CKA_EC_POINT). The given values are removed from a: cf_tmpl_finish
 * puts them back, as the key encodes them.
 */
static int
import_public(struct cf_cmd_ctx *ctx, struct cf_attrs *a, struct cf_key **k)
{
	const struct cf_attr *spki, *x, *y;
	uint64_t kt = cf_attrs_ulong(a, CKA_KEY_TYPE, 0);
	const char *what;
	int rc;

	*k = NULL;
	spki = cf_attrs_find(a, CKA_PUBLIC_KEY_INFO);
	if (spki != NULL && spki->n > 0) {
		what = "CKA_PUBLIC_KEY_INFO does not parse";
		rc = cf_key_import_public(spki->v, spki->n, k);
	} else if (kt == CKK_RSA) {
		x = cf_attrs_find(a, CKA_MODULUS);
		y = cf_attrs_find(a, CKA_PUBLIC_EXPONENT);
		what = "CKA_MODULUS and CKA_PUBLIC_EXPONENT: missing or not "
		    "an RSA public key";
		rc = x == NULL || y == NULL ? COFFER_E_TEMPLATE :
		    cf_key_import_rsa_public(x->v, x->n, y->v, y->n, k);
	} else if (kt == CKK_EC || kt == CKK_EC_EDWARDS) {
		x = cf_attrs_find(a, CKA_EC_PARAMS);
		y = cf_attrs_find(a, CKA_EC_POINT);
		what = "CKA_EC_PARAMS and CKA_EC_POINT: missing, unknown "
		    "curve or not a point on it";
		rc = x == NULL || y == NULL ? COFFER_E_TEMPLATE :
		    cf_key_import_ec_public(x->v, x->n, y->v, y->n, k);
	} else {
		what = "public keys are RSA, EC or EC_EDWARDS";
		rc = COFFER_E_TEMPLATE;
	}
	if (rc == 0 && cf_key_type(*k) != kt) {
		what = "CKA_KEY_TYPE does not match the key";
		rc = COFFER_E_TEMPLATE;
	}
	if (rc != 0) {
		if (rc != COFFER_E_NOMEM && rc != COFFER_E_TEMPLATE)
			rc = COFFER_E_ATTRIBUTE;
		snprintf(ctx->detail, sizeof(ctx->detail), "%s", what);
		cf_key_free(*k);
		*k = NULL;
		return rc;
	}
	cf_attrs_del(a, CKA_PUBLIC_KEY_INFO);
	cf_attrs_del(a, CKA_MODULUS);
	cf_attrs_del(a, CKA_PUBLIC_EXPONENT);
	cf_attrs_del(a, CKA_EC_PARAMS);
	cf_attrs_del(a, CKA_EC_POINT);
	return 0;
}

int
cf_h_obj_create(struct cf_cmd_ctx *ctx)
{
	const Coffer__ObjCreateReq *rq = ctx->req->obj_create;
	struct cf_attrs t = {0}, a = {0};
	struct cf_key *k = NULL;
	struct cf_newobj no = {0};
	uint8_t *mat = NULL;
	size_t mat_len = 0;
	uint64_t handle = 0;
	int rc;

	if ((rc = parse_tmpl(ctx, rq->tmpl, rq->n_tmpl, &t)) != 0)
		goto out;
	if ((rc = cf_tmpl_begin(CF_T_CREATE, CK_UNAVAILABLE_INFORMATION,
	    CK_UNAVAILABLE_INFORMATION, &t, &a)) != 0) {
		tmpl_detail(ctx, rc, "object");
		if (rc == COFFER_E_TEMPLATE)
			snprintf(ctx->detail, sizeof(ctx->detail),
			    "only public keys, X.509 certificates and data "
			    "objects can be created; secret and private keys "
			    "enter through unwrap");
		goto out;
	}
	switch (cf_attrs_ulong(&a, CKA_CLASS, 0)) {
	case CKO_PUBLIC_KEY:
		if ((rc = import_public(ctx, &a, &k)) != 0)
			goto out;
		if ((rc = cf_tmpl_finish(CF_T_CREATE, 0, NULL, k, &a)) != 0 ||
		    (rc = cf_h_serialize(k, &mat, &mat_len)) != 0)
			goto out;
		break;
	case CKO_CERTIFICATE:
		if ((rc = cf_tmpl_finish(CF_T_CREATE, 0, NULL, NULL,
		    &a)) != 0) {
			snprintf(ctx->detail, sizeof(ctx->detail), "%s",
			    rc == COFFER_E_TEMPLATE ? "CKA_CHECK_VALUE does "
			    "not match the certificate" : "CKA_VALUE is not a "
			    "DER X.509 certificate");
			goto out;
		}
		break;
	default:
		break;
	}
	no.attrs = &a;
	no.material = mat;
	no.material_len = mat_len;
	if ((rc = cf_h_make_objects(ctx, &no, 1, &handle)) != 0)
		goto out;
	set_handle_resp(ctx, handle);
 out:
	cf_free_secret(mat, mat_len);
	cf_key_free(k);
	cf_attrs_clear(&t);
	cf_attrs_clear(&a);
	return rc;
}

int
cf_h_obj_copy(struct cf_cmd_ctx *ctx)
{
	const Coffer__ObjCopyReq *rq = ctx->req->obj_copy;
	struct cf_attrs t = {0}, a = {0};
	struct cf_newobj no = {0};
	struct oref r;
	uint8_t *mat = NULL;
	size_t mat_len = 0;
	uint64_t handle = 0;
	int rc;

	if ((rc = parse_tmpl(ctx, rq->tmpl, rq->n_tmpl, &t)) != 0)
		return rc;
	if ((rc = oref_get(ctx, rq->handle, &r)) != 0)
		goto out;
	if ((rc = owner_only(ctx, r.o)) == 0 &&
	    (rc = cf_tmpl_copy(r.o, &t, &a)) == 0 && r.o->material_len > 0) {
		if ((mat = cf_malloc_secret(r.o->material_len)) == NULL)
			rc = COFFER_E_NOMEM;
		else {
			memcpy(mat, r.o->material, r.o->material_len);
			mat_len = r.o->material_len;
		}
	}
	oref_put(&r);
	if (rc != 0)
		goto out;
	no.attrs = &a;
	no.material = mat;
	no.material_len = mat_len;
	if ((rc = cf_h_make_objects(ctx, &no, 1, &handle)) != 0)
		goto out;
	set_handle_resp(ctx, handle);
 out:
	cf_free_secret(mat, mat_len);
	cf_attrs_clear(&t);
	cf_attrs_clear(&a);
	return rc;
}

int
cf_h_obj_destroy(struct cf_cmd_ctx *ctx)
{
	uint64_t handle = ctx->req->obj_destroy->handle;
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntObjDestroy d = COFFER__ENT_OBJ_DESTROY__INIT;
	struct oref r;
	int rc;

	snprintf(ctx->target, sizeof(ctx->target), "%llu",
	    (unsigned long long)handle);
	if ((rc = oref_get(ctx, handle, &r)) != 0)
		return rc;
	if ((rc = owner_only(ctx, r.o)) == 0 &&
	    !cf_attrs_bool(&r.o->attrs, CKA_DESTROYABLE, true)) {
		rc = COFFER_E_PERM;
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "object is not destroyable (CKA_DESTROYABLE false)");
	}
	if (rc == 0 && r.inst != NULL)
		rc = cf_objstore_remove(cf_inst_objects(r.inst), handle);
	oref_put(&r);
	if (rc != 0 || is_session(handle))
		goto done;
	d.handle = handle;
	e.body_case = COFFER__LOG_ENTRY__BODY_OBJ_DESTROY;
	e.obj_destroy = &d;
	rc = cf_cmd_propose(ctx, &e, NULL);
 done:
	if (rc == 0) {
		ctx->resp->body_case = COFFER__RESPONSE__BODY_OBJ_DESTROY;
		ctx->resp->obj_destroy = &cf_cmd_empty;
	}
	return rc;
}

int
cf_h_obj_get_attrs(struct cf_cmd_ctx *ctx)
{
	const Coffer__ObjGetAttrsReq *rq = ctx->req->obj_get_attrs;
	Coffer__ObjGetAttrsResp *resp;
	Coffer__AttrResult *res, **rp;
	uint8_t shared[CF_OBJ_MAX_SHARED * CF_OBJ_NAME_MAX];
	const uint8_t *v;
	struct oref r;
	uint8_t *mem, *vals;
	size_t i, n, total = 0;
	int rc, st;

	if (rq->n_types > GET_MAX)
		return COFFER_E_TOOBIG;
	if ((rc = oref_get(ctx, rq->handle, &r)) != 0)
		return rc;
	for (i = 0; i < rq->n_types; i++) {
		if (cf_tmpl_get(r.o, rq->types[i], shared, sizeof(shared), &v,
		    &n) == 0)
			total += n;
	}
	mem = calloc(1, sizeof(*resp) + (rq->n_types + 1) * (sizeof(*res) +
	    sizeof(*rp)) + total + 1);
	if (cf_cmd_keep(ctx, mem) == NULL) {
		oref_put(&r);
		return COFFER_E_NOMEM;
	}
	resp = (Coffer__ObjGetAttrsResp *)mem;
	res = (Coffer__AttrResult *)(resp + 1);
	rp = (Coffer__AttrResult **)(res + rq->n_types + 1);
	vals = (uint8_t *)(rp + rq->n_types + 1);
	coffer__obj_get_attrs_resp__init(resp);
	for (i = 0; i < rq->n_types; i++) {
		coffer__attr_result__init(&res[i]);
		res[i].type = rq->types[i];
		st = cf_tmpl_get(r.o, rq->types[i], shared, sizeof(shared),
		    &v, &n);
		res[i].status = st;
		if (st == 0 && n > 0) {
			memcpy(vals, v, n);
			res[i].value.data = vals;
			res[i].value.len = n;
			vals += n;
		}
		rp[i] = &res[i];
	}
	oref_put(&r);
	resp->n_attrs = rq->n_types;
	resp->attrs = rp;
	ctx->resp->body_case = COFFER__RESPONSE__BODY_OBJ_GET_ATTRS;
	ctx->resp->obj_get_attrs = resp;
	return 0;
}

int
cf_h_obj_set_attrs(struct cf_cmd_ctx *ctx)
{
	const Coffer__ObjSetAttrsReq *rq = ctx->req->obj_set_attrs;
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntObjSetAttrs b = COFFER__ENT_OBJ_SET_ATTRS__INIT;
	struct cf_attrs a = {0};
	struct cf_obj *o;
	struct oref r = {0};
	size_t i;
	int rc;

	snprintf(ctx->target, sizeof(ctx->target), "%llu",
	    (unsigned long long)rq->handle);
	if ((rc = parse_tmpl(ctx, rq->attrs, rq->n_attrs, &a)) != 0)
		return rc;
	if (ctx->role == COFFER__ROLE__ROLE_CO) {
		/*
		 * A CO marks keys trusted (PKCS#11: only the SO may set
		 * CKA_TRUSTED) and can do nothing else with them: no read,
		 * no use. Token objects only.
		 */
		cf_state_rdlock(ctx->node->state);
		o = is_session(rq->handle) ? NULL :
		    cf_objstore_get(cf_state_objects(ctx->node->state),
		    rq->handle);
		rc = o == NULL ? COFFER_E_NOTFOUND :
		    cf_tmpl_check_set(o, &a, CF_SET_CO);
		cf_state_unlock(ctx->node->state);
		if (rc == COFFER_E_ROLE)
			snprintf(ctx->detail, sizeof(ctx->detail),
			    "a CO may set CKA_TRUSTED only");
	} else {
		if ((rc = oref_get(ctx, rq->handle, &r)) != 0)
			goto out;
		if ((rc = owner_only(ctx, r.o)) == 0 &&
		    (rc = cf_tmpl_check_set(r.o, &a, CF_SET_CU)) != 0)
			tmpl_detail(ctx, rc, "set");
		if (rc == 0 && r.inst != NULL) {
			for (i = 0; i < a.n && rc == 0; i++)
				rc = cf_attrs_set(&r.o->attrs, a.a[i].type,
				    a.a[i].v, a.a[i].n);
			cf_objstore_reindex(cf_inst_objects(r.inst), r.o);
		}
		oref_put(&r);
	}
	if (rc != 0 || is_session(rq->handle))
		goto out;
	b.handle = rq->handle;
	b.n_attrs = rq->n_attrs;
	b.attrs = rq->attrs;
	e.body_case = COFFER__LOG_ENTRY__BODY_OBJ_SET_ATTRS;
	e.obj_set_attrs = &b;
	rc = cf_cmd_propose(ctx, &e, NULL);
 out:
	cf_attrs_clear(&a);
	if (rc == 0) {
		ctx->resp->body_case = COFFER__RESPONSE__BODY_OBJ_SET_ATTRS;
		ctx->resp->obj_set_attrs = &cf_cmd_empty;
	}
	return rc;
}

int
cf_h_obj_find(struct cf_cmd_ctx *ctx)
{
	const Coffer__ObjFindReq *rq = ctx->req->obj_find;
	Coffer__ObjFindResp *resp;
	struct cf_attrs t = {0};
	uint64_t *th = NULL, *sh = NULL, *all;
	size_t tn = 0, sn = 0, max;
	bool tmore = false, smore = false;
	int rc;

	max = rq->max == 0 ? FIND_DEFAULT : rq->max;
	if (max > FIND_MAX)
		max = FIND_MAX;
	if ((rc = parse_tmpl(ctx, rq->tmpl, rq->n_tmpl, &t)) != 0)
		return rc;
	if (!is_session(rq->after)) {
		cf_state_rdlock(ctx->node->state);
		rc = cf_objstore_find(cf_state_objects(ctx->node->state), &t,
		    ctx->user, rq->after, max, &th, &tn, &tmore);
		cf_state_unlock(ctx->node->state);
		if (rc != 0)
			goto out;
	}
	if (!tmore && tn < max && ctx->sess->inst != NULL) {
		cf_inst_lock(ctx->sess->inst);
		rc = cf_objstore_find(cf_inst_objects(ctx->sess->inst), &t,
		    ctx->user, is_session(rq->after) ? rq->after : 0,
		    max - tn, &sh, &sn, &smore);
		cf_inst_unlock(ctx->sess->inst);
		if (rc != 0)
			goto out;
	} else if (tn == max && ctx->sess->inst != NULL)
		tmore = true;	/* session objects may follow */
	resp = calloc(1, sizeof(*resp) + (tn + sn + 1) * sizeof(*all));
	if (cf_cmd_keep(ctx, resp) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	all = (uint64_t *)(resp + 1);
	coffer__obj_find_resp__init(resp);
	if (tn > 0)
		memcpy(all, th, tn * sizeof(*all));
	if (sn > 0)
		memcpy(all + tn, sh, sn * sizeof(*all));
	resp->n_handles = tn + sn;
	resp->handles = all;
	resp->more = tmore || smore;
	ctx->resp->body_case = COFFER__RESPONSE__BODY_OBJ_FIND;
	ctx->resp->obj_find = resp;
 out:
	free(th);
	free(sh);
	cf_attrs_clear(&t);
	return rc;
}

int
cf_h_obj_share(struct cf_cmd_ctx *ctx)
{
	const Coffer__ObjShareReq *rq = ctx->req->obj_share;
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntObjShare b = COFFER__ENT_OBJ_SHARE__INIT;
	struct oref r;
	int rc;

	snprintf(ctx->target, sizeof(ctx->target), "%llu %s%s",
	    (unsigned long long)rq->handle, rq->unshare ? "-" : "+",
	    rq->username != NULL ? rq->username : "");
	if (!cf_cmd_valid_username(rq->username))
		return COFFER_E_INVAL;
	if ((rc = oref_get(ctx, rq->handle, &r)) != 0)
		return rc;
	rc = owner_only(ctx, r.o);
	if (rc == 0 && r.inst != NULL) {
		rc = COFFER_E_INVAL;
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "session objects cannot be shared");
	}
	oref_put(&r);
	if (rc != 0)
		return rc;
	b.handle = rq->handle;
	b.username = rq->username;
	b.unshare = rq->unshare;
	e.body_case = COFFER__LOG_ENTRY__BODY_OBJ_SHARE;
	e.obj_share = &b;
	if ((rc = cf_cmd_propose(ctx, &e, NULL)) != 0) {
		if (rc == COFFER_E_NOTFOUND)
			snprintf(ctx->detail, sizeof(ctx->detail),
			    "no user %s", rq->username);
		else if (rc == COFFER_E_ROLE)
			snprintf(ctx->detail, sizeof(ctx->detail),
			    "keys are shared with crypto users only");
		return rc;
	}
	ctx->resp->body_case = COFFER__RESPONSE__BODY_OBJ_SHARE;
	ctx->resp->obj_share = &cf_cmd_empty;
	return 0;
}
