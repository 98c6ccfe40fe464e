/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objects.c: coffer_objects.h: objects, multi-part and one-shot
 * cryptographic operations, wrap/unwrap/derive, random bytes and the
 * mechanism list, on the wire messages 64..83 of proto/coffer.proto.
 *
 * Guarantees: session objects (CKA_TOKEN false, the PKCS#11 default) live
 * on the node that made them, so libcoffer keeps them on one node per
 * client and pins every call that names one to it; a multi-part operation
 * stays on the node that started it; inputs bigger than one chunk (1 MiB)
 * are streamed; outputs are malloc'd and freed with coffer_free(), which
 * wipes; output buffers grow by copy-and-wipe, never realloc.
 */
#include "common/secmem.h"
#include "client/objwire.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "client/client.h"

/* Largest data (input or signature) sent in one request. */
#define CHUNK ((size_t)1 << 20)

#define REQ(var, field, CASE, type, INIT)			\
	Coffer__Request var = COFFER__REQUEST__INIT;		\
	type field##_body = INIT;				\
	var.body_case = COFFER__REQUEST__BODY_##CASE;		\
	var.field = &field##_body

struct coffer_op {
	struct coffer_client *c;
	uint64_t id;			/* node's operation id */
	size_t server;			/* node holding the operation */
	int kind;
	uint64_t fork_gen;		/* c->fork_gen at init */
	bool active;			/* may still exist on the node */
	bool done;			/* finished or failed: no more calls */
	uint8_t *iv;
	size_t iv_len;
};

void
coffer_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	if (n > 0)
		cf_cleanse(p, n);
	free(p);
}

static void
free_resp(Coffer__Response *r)
{
	if (r != NULL)
		coffer__response__free_unpacked(r, &cf_resp_alloc);
}

/* --- session objects --------------------------------------------------- */

static bool
sess_has_locked(const struct coffer_client *c, uint64_t h)
{
	size_t i;

	for (i = 0; i < c->nsess; i++)
		if (c->sess[i] == h)
			return true;
	return false;
}

/* Server holding any of the session objects among h[], or CF_SERVER_ANY. */
static size_t
pin_for(struct coffer_client *c, const uint64_t *h, size_t n, bool new_sess)
{
	size_t i, server = CF_SERVER_ANY;

	cf_client_check_fork(c);
	pthread_mutex_lock(&c->mu);
	if (new_sess)
		server = c->sess_server;
	for (i = 0; i < n && server == CF_SERVER_ANY; i++)
		if (h[i] != 0 && sess_has_locked(c, h[i]))
			server = c->sess_server;
	pthread_mutex_unlock(&c->mu);
	return server;
}

static int
sess_add(struct coffer_client *c, uint64_t h, size_t server)
{
	uint64_t *n;
	size_t cap;
	int rc = 0;

	pthread_mutex_lock(&c->mu);
	if (sess_has_locked(c, h))
		goto out;
	if (c->nsess == c->sess_cap) {
		cap = c->sess_cap == 0 ? 16 : c->sess_cap * 2;
		if ((n = reallocarray(c->sess, cap, sizeof(*n))) == NULL) {
			rc = COFFER_E_NOMEM;
			goto out;
		}
		c->sess = n;
		c->sess_cap = cap;
	}
	c->sess[c->nsess++] = h;
	if (c->sess_server == CF_SERVER_ANY)
		c->sess_server = server;
out:
	pthread_mutex_unlock(&c->mu);
	return rc;
}

static void
sess_del(struct coffer_client *c, uint64_t h)
{
	size_t i;

	pthread_mutex_lock(&c->mu);
	for (i = 0; i < c->nsess; i++) {
		if (c->sess[i] == h) {
			c->sess[i] = c->sess[--c->nsess];
			break;
		}
	}
	if (c->nsess == 0)
		c->sess_server = CF_SERVER_ANY;
	pthread_mutex_unlock(&c->mu);
}

/* CKA_TOKEN of a template: -1 absent, 0 false, 1 true. */
static int
tmpl_token(const CK_ATTRIBUTE *t, size_t n)
{
	size_t i;

	for (i = 0; t != NULL && i < n; i++) {
		if (t[i].type != CKA_TOKEN)
			continue;
		if (t[i].pValue == NULL || t[i].ulValueLen != sizeof(CK_BBOOL))
			return -1;	/* the node rejects it */
		return *(const CK_BBOOL *)t[i].pValue != CK_FALSE;
	}
	return -1;
}

/* Records a new object if it is a session object. */
static int
note_new(struct coffer_client *c, uint64_t h, bool session, size_t served)
{
	if (!session || h == 0)
		return 0;
	if (served == CF_SERVER_ANY)
		served = 0;
	return sess_add(c, h, served);
}

/* --- helpers ------------------------------------------------------------ */

/*
 * Takes an answer's bytes instead of copying them: protobuf-c decodes each
 * bytes field into its own buffer from cf_resp_alloc (malloc), which
 * coffer_free (wipe, free) releases; b is left empty so that
 * free_unpacked skips it. Saves a copy of up to 1 MiB per bulk call.
 */
static void
steal_bin(ProtobufCBinaryData *b, uint8_t **out, size_t *out_len)
{
	*out = b->len > 0 ? b->data : NULL;
	*out_len = b->len > 0 ? b->len : 0;
	if (b->len > 0)
		b->data = NULL;
	b->len = 0;
}

/* Growable output buffer; grows by copy-and-wipe. */
struct obuf {
	uint8_t *p;
	size_t len, cap;
};

static int
obuf_add(struct obuf *o, const uint8_t *p, size_t n)
{
	uint8_t *np;
	size_t cap;

	if (n == 0)
		return 0;
	if (n > o->cap - o->len) {
		if (n > SIZE_MAX / 2 - o->len)
			return COFFER_E_NOMEM;
		cap = o->len + n;
		if (cap < 2 * o->cap)
			cap = 2 * o->cap;
		if ((np = malloc(cap)) == NULL)
			return COFFER_E_NOMEM;
		if (o->len > 0)
			memcpy(np, o->p, o->len);
		coffer_free(o->p, o->cap);
		o->p = np;
		o->cap = cap;
	}
	memcpy(o->p + o->len, p, n);
	o->len += n;
	return 0;
}

static void
obuf_free(struct obuf *o)
{
	coffer_free(o->p, o->cap);
	o->p = NULL;
	o->len = o->cap = 0;
}

/* Hands the buffer over (NULL when empty). */
static void
obuf_take(struct obuf *o, uint8_t **out, size_t *out_len)
{
	if (o->len == 0) {
		obuf_free(o);
		*out = NULL;
		*out_len = 0;
		return;
	}
	*out = o->p;
	*out_len = o->len;
	o->p = NULL;
	o->len = o->cap = 0;
}

static int
mech_conv(struct coffer_client *c, const CK_MECHANISM *mech,
    struct cf_mech_wire *mw)
{
	int rc;

	if ((rc = cf_mech_to_wire(mech, mw)) != 0)
		return cf_client_fail(c, rc, "mechanism 0x%lx: bad parameters",
		    mech != NULL ? (unsigned long)mech->mechanism : 0UL);
	return 0;
}

static int
tmpl_conv(struct coffer_client *c, const CK_ATTRIBUTE *tmpl, size_t n,
    struct cf_tmpl_wire *tw)
{
	int rc;

	if ((rc = cf_tmpl_to_wire(tmpl, n, tw)) != 0)
		return cf_client_fail(c, rc, "template: %s",
		    rc == COFFER_E_ATTRIBUTE ? "bad attribute value length" :
		    coffer_strerror(rc));
	return 0;
}

static int
handle_of(struct coffer_client *c, const Coffer__ObjHandleResp *r,
    uint64_t *h)
{
	if (r == NULL || r->handle == 0)
		return cf_client_fail(c, COFFER_E_PROTO, "no handle returned");
	*h = r->handle;
	return 0;
}

/*
 * Sends a request that makes one object (generate, create, copy, unwrap,
 * derive) to server, returns the new handle and remembers it if it is a
 * session object (pinned to the node that made it).
 */
static int
make_object(struct coffer_client *c, Coffer__Request *req,
    Coffer__Response__BodyCase expect, size_t server, bool session,
    uint64_t *handle)
{
	Coffer__Response *resp = NULL;
	const Coffer__ObjHandleResp *hr = NULL;
	size_t served;
	int rc;

	if ((rc = cf_client_call_at(c, req, CF_CALL_WRITE, expect, &resp,
	    server, &served)) != 0)
		goto out;
	switch (expect) {
	case COFFER__RESPONSE__BODY_OBJ_GENERATE_KEY:
		hr = resp->obj_generate_key;
		break;
	case COFFER__RESPONSE__BODY_OBJ_CREATE:
		hr = resp->obj_create;
		break;
	case COFFER__RESPONSE__BODY_OBJ_COPY:
		hr = resp->obj_copy;
		break;
	case COFFER__RESPONSE__BODY_UNWRAP_KEY:
		hr = resp->unwrap_key;
		break;
	case COFFER__RESPONSE__BODY_DERIVE_KEY:
		hr = resp->derive_key;
		break;
	default:
		break;
	}
	if ((rc = handle_of(c, hr, handle)) != 0)
		goto out;
	rc = note_new(c, *handle, session, served);
out:
	free_resp(resp);
	return rc;
}

/* Sends a request whose answer carries nothing but the result code. */
static int
call_plain(struct coffer_client *c, Coffer__Request *req, unsigned flags,
    Coffer__Response__BodyCase expect, size_t server)
{
	Coffer__Response *resp = NULL;
	int rc;

	rc = cf_client_call_at(c, req, flags, expect, &resp, server, NULL);
	free_resp(resp);
	return rc;
}

/* --- objects ----------------------------------------------------------- */

int
coffer_generate_key(struct coffer_client *c, const CK_MECHANISM *mech,
    const CK_ATTRIBUTE *tmpl, size_t n, uint64_t *handle)
{
	REQ(req, obj_generate_key, OBJ_GENERATE_KEY, Coffer__ObjGenerateKeyReq,
	    COFFER__OBJ_GENERATE_KEY_REQ__INIT);
	struct cf_mech_wire mw;
	struct cf_tmpl_wire tw = { 0 };
	bool session;
	int rc;

	if (handle != NULL)
		*handle = 0;
	if (c == NULL || mech == NULL || handle == NULL)
		return COFFER_E_INVAL;
	if ((rc = mech_conv(c, mech, &mw)) != 0 ||
	    (rc = tmpl_conv(c, tmpl, n, &tw)) != 0)
		goto out;
	obj_generate_key_body.mech = &mw.m;
	obj_generate_key_body.n_tmpl = tw.n;
	obj_generate_key_body.tmpl = tw.ptrs;
	session = tmpl_token(tmpl, n) != 1;
	rc = make_object(c, &req, COFFER__RESPONSE__BODY_OBJ_GENERATE_KEY,
	    pin_for(c, NULL, 0, session), session, handle);
out:
	cf_tmpl_wire_clear(&tw);
	return rc;
}

int
coffer_generate_key_pair(struct coffer_client *c, const CK_MECHANISM *mech,
    const CK_ATTRIBUTE *pub_tmpl, size_t npub, const CK_ATTRIBUTE *priv_tmpl,
    size_t npriv, uint64_t *pub, uint64_t *priv)
{
	REQ(req, obj_generate_key_pair, OBJ_GENERATE_KEY_PAIR,
	    Coffer__ObjGenerateKeyPairReq,
	    COFFER__OBJ_GENERATE_KEY_PAIR_REQ__INIT);
	struct cf_mech_wire mw;
	struct cf_tmpl_wire tpub = { 0 }, tpriv = { 0 };
	Coffer__Response *resp = NULL;
	const Coffer__ObjKeyPairResp *kp;
	size_t server, served;
	bool spub, spriv;
	int rc;

	if (pub != NULL)
		*pub = 0;
	if (priv != NULL)
		*priv = 0;
	if (c == NULL || mech == NULL || pub == NULL || priv == NULL)
		return COFFER_E_INVAL;
	if ((rc = mech_conv(c, mech, &mw)) != 0 ||
	    (rc = tmpl_conv(c, pub_tmpl, npub, &tpub)) != 0 ||
	    (rc = tmpl_conv(c, priv_tmpl, npriv, &tpriv)) != 0)
		goto out;
	obj_generate_key_pair_body.mech = &mw.m;
	obj_generate_key_pair_body.n_pub_tmpl = tpub.n;
	obj_generate_key_pair_body.pub_tmpl = tpub.ptrs;
	obj_generate_key_pair_body.n_priv_tmpl = tpriv.n;
	obj_generate_key_pair_body.priv_tmpl = tpriv.ptrs;
	spub = tmpl_token(pub_tmpl, npub) != 1;
	spriv = tmpl_token(priv_tmpl, npriv) != 1;
	server = pin_for(c, NULL, 0, spub || spriv);
	if ((rc = cf_client_call_at(c, &req, CF_CALL_WRITE,
	    COFFER__RESPONSE__BODY_OBJ_GENERATE_KEY_PAIR, &resp, server,
	    &served)) != 0)
		goto out;
	kp = resp->obj_generate_key_pair;
	if (kp == NULL || kp->pub == 0 || kp->priv == 0) {
		rc = cf_client_fail(c, COFFER_E_PROTO, "no handles returned");
		goto out;
	}
	*pub = kp->pub;
	*priv = kp->priv;
	if ((rc = note_new(c, *pub, spub, served)) != 0)
		goto out;
	rc = note_new(c, *priv, spriv, served);
out:
	free_resp(resp);
	cf_tmpl_wire_clear(&tpub);
	cf_tmpl_wire_clear(&tpriv);
	return rc;
}

int
coffer_create_object(struct coffer_client *c, const CK_ATTRIBUTE *tmpl,
    size_t n, uint64_t *handle)
{
	REQ(req, obj_create, OBJ_CREATE, Coffer__ObjCreateReq,
	    COFFER__OBJ_CREATE_REQ__INIT);
	struct cf_tmpl_wire tw = { 0 };
	bool session;
	int rc;

	if (handle != NULL)
		*handle = 0;
	if (c == NULL || handle == NULL)
		return COFFER_E_INVAL;
	if ((rc = tmpl_conv(c, tmpl, n, &tw)) != 0)
		goto out;
	obj_create_body.n_tmpl = tw.n;
	obj_create_body.tmpl = tw.ptrs;
	session = tmpl_token(tmpl, n) != 1;
	rc = make_object(c, &req, COFFER__RESPONSE__BODY_OBJ_CREATE,
	    pin_for(c, NULL, 0, session), session, handle);
out:
	cf_tmpl_wire_clear(&tw);
	return rc;
}

int
coffer_copy_object(struct coffer_client *c, uint64_t handle,
    const CK_ATTRIBUTE *tmpl, size_t n, uint64_t *new_handle)
{
	REQ(req, obj_copy, OBJ_COPY, Coffer__ObjCopyReq,
	    COFFER__OBJ_COPY_REQ__INIT);
	struct cf_tmpl_wire tw = { 0 };
	size_t server;
	bool session;
	int rc, tok;

	if (new_handle != NULL)
		*new_handle = 0;
	if (c == NULL || new_handle == NULL)
		return COFFER_E_INVAL;
	if ((rc = tmpl_conv(c, tmpl, n, &tw)) != 0)
		goto out;
	obj_copy_body.handle = handle;
	obj_copy_body.n_tmpl = tw.n;
	obj_copy_body.tmpl = tw.ptrs;
	/* The copy keeps the original's CKA_TOKEN unless the template sets
	 * it. */
	server = pin_for(c, &handle, 1, false);
	tok = tmpl_token(tmpl, n);
	session = tok == 0 || (tok == -1 && server != CF_SERVER_ANY);
	if (session && server == CF_SERVER_ANY)
		server = pin_for(c, NULL, 0, true);
	rc = make_object(c, &req, COFFER__RESPONSE__BODY_OBJ_COPY, server,
	    session, new_handle);
out:
	cf_tmpl_wire_clear(&tw);
	return rc;
}

int
coffer_destroy_object(struct coffer_client *c, uint64_t handle)
{
	REQ(req, obj_destroy, OBJ_DESTROY, Coffer__ObjDestroyReq,
	    COFFER__OBJ_DESTROY_REQ__INIT);
	int rc;

	if (c == NULL)
		return COFFER_E_INVAL;
	obj_destroy_body.handle = handle;
	rc = call_plain(c, &req, CF_CALL_WRITE,
	    COFFER__RESPONSE__BODY_OBJ_DESTROY, pin_for(c, &handle, 1, false));
	if (rc == 0 || rc == COFFER_E_NOTFOUND)
		sess_del(c, handle);
	return rc;
}

int
coffer_get_attributes(struct coffer_client *c, uint64_t handle,
    CK_ATTRIBUTE *tmpl, size_t n)
{
	REQ(req, obj_get_attrs, OBJ_GET_ATTRS, Coffer__ObjGetAttrsReq,
	    COFFER__OBJ_GET_ATTRS_REQ__INIT);
	Coffer__Response *resp = NULL;
	uint64_t *types = NULL;
	size_t i;
	int rc;

	if (c == NULL || (tmpl == NULL && n > 0))
		return COFFER_E_INVAL;
	if (n > CF_TMPL_MAX)
		return cf_client_fail(c, COFFER_E_INVAL, "template too long");
	if (n > 0 && (types = calloc(n, sizeof(*types))) == NULL)
		return COFFER_E_NOMEM;
	for (i = 0; i < n; i++)
		types[i] = tmpl[i].type;
	obj_get_attrs_body.handle = handle;
	obj_get_attrs_body.n_types = n;
	obj_get_attrs_body.types = types;
	if ((rc = cf_client_call_at(c, &req, 0,
	    COFFER__RESPONSE__BODY_OBJ_GET_ATTRS, &resp,
	    pin_for(c, &handle, 1, false), NULL)) != 0)
		goto out;
	rc = cf_attrs_from_wire(resp->obj_get_attrs, tmpl, n);
	if (rc == COFFER_E_PROTO)
		cf_client_fail(c, rc, "attribute answer does not match the "
		    "request");
	else if (rc != 0)
		cf_client_fail(c, rc, "%s", coffer_strerror(rc));
out:
	free_resp(resp);
	free(types);
	return rc;
}

int
coffer_set_attributes(struct coffer_client *c, uint64_t handle,
    const CK_ATTRIBUTE *tmpl, size_t n)
{
	REQ(req, obj_set_attrs, OBJ_SET_ATTRS, Coffer__ObjSetAttrsReq,
	    COFFER__OBJ_SET_ATTRS_REQ__INIT);
	struct cf_tmpl_wire tw = { 0 };
	int rc;

	if (c == NULL)
		return COFFER_E_INVAL;
	if ((rc = tmpl_conv(c, tmpl, n, &tw)) != 0)
		goto out;
	obj_set_attrs_body.handle = handle;
	obj_set_attrs_body.n_attrs = tw.n;
	obj_set_attrs_body.attrs = tw.ptrs;
	rc = call_plain(c, &req, CF_CALL_WRITE,
	    COFFER__RESPONSE__BODY_OBJ_SET_ATTRS, pin_for(c, &handle, 1, false));
out:
	cf_tmpl_wire_clear(&tw);
	return rc;
}

int
coffer_find_objects(struct coffer_client *c, const CK_ATTRIBUTE *tmpl,
    size_t n, uint64_t **handles, size_t *count)
{
	REQ(req, obj_find, OBJ_FIND, Coffer__ObjFindReq,
	    COFFER__OBJ_FIND_REQ__INIT);
	struct cf_tmpl_wire tw = { 0 };
	Coffer__Response *resp = NULL;
	const Coffer__ObjFindResp *fr;
	uint64_t *all = NULL, *na, after = 0;
	size_t nall = 0, cap = 0, i, server;
	int rc;

	if (handles != NULL)
		*handles = NULL;
	if (count != NULL)
		*count = 0;
	if (c == NULL || handles == NULL || count == NULL)
		return COFFER_E_INVAL;
	if ((rc = tmpl_conv(c, tmpl, n, &tw)) != 0)
		goto out;
	obj_find_body.n_tmpl = tw.n;
	obj_find_body.tmpl = tw.ptrs;
	/* Session objects are only visible on their node. */
	server = pin_for(c, NULL, 0, true);
	for (;;) {
		obj_find_body.after = after;
		if ((rc = cf_client_call_at(c, &req, 0,
		    COFFER__RESPONSE__BODY_OBJ_FIND, &resp, server,
		    NULL)) != 0)
			goto out;
		if ((fr = resp->obj_find) == NULL ||
		    (fr->more && fr->n_handles == 0)) {
			rc = cf_client_fail(c, COFFER_E_PROTO,
			    "malformed find answer");
			goto out;
		}
		if (fr->n_handles > cap - nall) {
			cap = nall + fr->n_handles + cap;
			if ((na = reallocarray(all, cap, sizeof(*na))) ==
			    NULL) {
				rc = COFFER_E_NOMEM;
				goto out;
			}
			all = na;
		}
		for (i = 0; i < fr->n_handles; i++) {
			/* Pages are in handle order: this also ends loops. */
			if (fr->handles[i] <= after) {
				rc = cf_client_fail(c, COFFER_E_PROTO,
				    "find answer out of order");
				goto out;
			}
			after = all[nall++] = fr->handles[i];
		}
		if (!fr->more)
			break;
		free_resp(resp);
		resp = NULL;
	}
	if (nall > 0) {
		*handles = all;
		all = NULL;
	}
	*count = nall;
	rc = 0;
out:
	free(all);
	free_resp(resp);
	cf_tmpl_wire_clear(&tw);
	return rc;
}

static int
share(struct coffer_client *c, uint64_t handle, const char *username,
    bool unshare)
{
	REQ(req, obj_share, OBJ_SHARE, Coffer__ObjShareReq,
	    COFFER__OBJ_SHARE_REQ__INIT);
	if (c == NULL || username == NULL)
		return COFFER_E_INVAL;
	obj_share_body.handle = handle;
	obj_share_body.username = (char *)username;
	obj_share_body.unshare = unshare;
	return call_plain(c, &req, CF_CALL_WRITE,
	    COFFER__RESPONSE__BODY_OBJ_SHARE, pin_for(c, &handle, 1, false));
}

int
coffer_share_key(struct coffer_client *c, uint64_t handle,
    const char *username)
{
	return share(c, handle, username, false);
}

int
coffer_unshare_key(struct coffer_client *c, uint64_t handle,
    const char *username)
{
	return share(c, handle, username, true);
}

/* --- multi-part operations ------------------------------------------- */

static bool
local_failure(int rc)
{
	return rc == COFFER_E_IO || rc == COFFER_E_CLOSED ||
	    rc == COFFER_E_TIMEOUT || rc == COFFER_E_CONNECT ||
	    rc == COFFER_E_TLS || rc == COFFER_E_NOMEM ||
	    rc == COFFER_E_TOOBIG || rc == COFFER_E_PROTO;
}

static int
op_set_iv(struct coffer_op *op, const ProtobufCBinaryData *iv)
{
	uint8_t *p;

	if (iv->len == 0)
		return 0;
	if ((p = malloc(iv->len)) == NULL)
		return COFFER_E_NOMEM;
	memcpy(p, iv->data, iv->len);
	coffer_free(op->iv, op->iv_len);
	op->iv = p;
	op->iv_len = iv->len;
	return 0;
}

/* The op may be used: same process generation, not finished. */
static int
op_usable(struct coffer_op *op)
{
	struct coffer_client *c = op->c;

	cf_client_check_fork(c);
	if (op->fork_gen != c->fork_gen)
		return cf_client_fail(c, COFFER_E_SESSION,
		    "operation belongs to the parent process");
	if (op->done)
		return cf_client_fail(c, COFFER_E_OP_NOT_INIT,
		    "operation finished");
	return 0;
}

int
coffer_op_init(struct coffer_client *c, int kind, const CK_MECHANISM *mech,
    uint64_t key, struct coffer_op **out)
{
	REQ(req, crypto_init, CRYPTO_INIT, Coffer__CryptoInitReq,
	    COFFER__CRYPTO_INIT_REQ__INIT);
	struct cf_mech_wire mw;
	struct coffer_op *op = NULL;
	Coffer__Response *resp = NULL;
	size_t served;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (c == NULL || mech == NULL || out == NULL ||
	    kind < COFFER_OP_ENCRYPT || kind > COFFER_OP_DIGEST)
		return COFFER_E_INVAL;
	if ((rc = mech_conv(c, mech, &mw)) != 0)
		return rc;
	if ((op = calloc(1, sizeof(*op))) == NULL)
		return COFFER_E_NOMEM;
	crypto_init_body.kind = (Coffer__CryptoKind)kind;
	crypto_init_body.mech = &mw.m;
	crypto_init_body.key = key;
	if ((rc = cf_client_call_at(c, &req, 0,
	    COFFER__RESPONSE__BODY_CRYPTO_INIT, &resp,
	    pin_for(c, &key, 1, false), &served)) != 0)
		goto out;
	if (resp->crypto_init == NULL) {
		rc = cf_client_fail(c, COFFER_E_PROTO, "no operation id");
		goto out;
	}
	op->c = c;
	op->id = resp->crypto_init->op;
	op->server = served;
	op->kind = kind;
	op->active = true;
	pthread_mutex_lock(&c->mu);
	op->fork_gen = c->fork_gen;
	pthread_mutex_unlock(&c->mu);
	if ((rc = op_set_iv(op, &resp->crypto_init->iv)) != 0)
		goto out;
	*out = op;
	op = NULL;
out:
	free_resp(resp);
	coffer_op_free(op);
	return rc;
}

/* One CryptoUpdate of at most CHUNK bytes; output appended to o. */
static int
op_update_one(struct coffer_op *op, const uint8_t *in, size_t n,
    struct obuf *o)
{
	REQ(req, crypto_update, CRYPTO_UPDATE, Coffer__CryptoUpdateReq,
	    COFFER__CRYPTO_UPDATE_REQ__INIT);
	Coffer__Response *resp = NULL;
	int rc;

	crypto_update_body.op = op->id;
	crypto_update_body.data.data = n > 0 ? (uint8_t *)in : NULL;
	crypto_update_body.data.len = n;
	if ((rc = cf_client_call_at(op->c, &req, CF_CALL_NORETRY,
	    COFFER__RESPONSE__BODY_CRYPTO_UPDATE, &resp, op->server,
	    NULL)) != 0)
		goto out;
	if (resp->crypto_update == NULL) {
		rc = cf_client_fail(op->c, COFFER_E_PROTO, "empty answer");
		goto out;
	}
	if ((rc = op_set_iv(op, &resp->crypto_update->iv)) != 0)
		goto out;
	rc = obuf_add(o, resp->crypto_update->data.data,
	    resp->crypto_update->data.len);
out:
	free_resp(resp);
	return rc;
}

int
coffer_op_update(struct coffer_op *op, const uint8_t *in, size_t in_len,
    uint8_t **out, size_t *out_len)
{
	struct obuf o = { 0 };
	size_t off = 0, n;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (out_len != NULL)
		*out_len = 0;
	if (op == NULL || out == NULL || out_len == NULL ||
	    (in == NULL && in_len > 0))
		return COFFER_E_INVAL;
	if ((rc = op_usable(op)) != 0)
		return rc;
	do {
		n = in_len - off < CHUNK ? in_len - off : CHUNK;
		if ((rc = op_update_one(op, in + off, n, &o)) != 0) {
			/* PKCS#11: a failed update ends the operation. */
			op->done = true;
			if (!local_failure(rc))
				op->active = false;
			obuf_free(&o);
			return rc;
		}
		off += n;
	} while (off < in_len);
	obuf_take(&o, out, out_len);
	return 0;
}

static int
op_final(struct coffer_op *op, const uint8_t *sig, size_t sig_len,
    uint8_t **out, size_t *out_len)
{
	REQ(req, crypto_final, CRYPTO_FINAL, Coffer__CryptoFinalReq,
	    COFFER__CRYPTO_FINAL_REQ__INIT);
	Coffer__Response *resp = NULL;
	int rc;

	if ((rc = op_usable(op)) != 0)
		return rc;
	if (sig_len > CHUNK)
		return cf_client_fail(op->c, COFFER_E_DATA_LEN,
		    "signature too long");
	crypto_final_body.op = op->id;
	crypto_final_body.signature.data = sig_len > 0 ? (uint8_t *)sig :
	    NULL;
	crypto_final_body.signature.len = sig_len;
	rc = cf_client_call_at(op->c, &req, CF_CALL_NORETRY,
	    COFFER__RESPONSE__BODY_CRYPTO_FINAL, &resp, op->server, NULL);
	op->done = true;
	if (!local_failure(rc))
		op->active = false;
	if (rc != 0)
		goto out;
	if (resp->crypto_final == NULL) {
		rc = cf_client_fail(op->c, COFFER_E_PROTO, "empty answer");
		goto out;
	}
	if ((rc = op_set_iv(op, &resp->crypto_final->iv)) != 0)
		goto out;
	if (out != NULL)
		steal_bin(&resp->crypto_final->data, out, out_len);
out:
	free_resp(resp);
	return rc;
}

int
coffer_op_final(struct coffer_op *op, uint8_t **out, size_t *out_len)
{
	if (out != NULL)
		*out = NULL;
	if (out_len != NULL)
		*out_len = 0;
	if (op == NULL || out == NULL || out_len == NULL)
		return COFFER_E_INVAL;
	if (op->kind == COFFER_OP_VERIFY)
		return cf_client_fail(op->c, COFFER_E_INVAL,
		    "verify ends with coffer_op_verify_final");
	return op_final(op, NULL, 0, out, out_len);
}

int
coffer_op_verify_final(struct coffer_op *op, const uint8_t *sig,
    size_t sig_len)
{
	if (op == NULL || (sig == NULL && sig_len > 0))
		return COFFER_E_INVAL;
	if (op->kind != COFFER_OP_VERIFY)
		return cf_client_fail(op->c, COFFER_E_INVAL,
		    "not a verify operation");
	return op_final(op, sig, sig_len, NULL, NULL);
}

int
coffer_op_iv(const struct coffer_op *op, uint8_t *iv, size_t *iv_len)
{
	if (op == NULL || iv_len == NULL)
		return COFFER_E_INVAL;
	if (iv == NULL) {
		*iv_len = op->iv_len;
		return 0;
	}
	if (*iv_len < op->iv_len) {
		*iv_len = op->iv_len;
		return COFFER_E_BUFFER_TOO_SMALL;
	}
	if (op->iv_len > 0)
		memcpy(iv, op->iv, op->iv_len);
	*iv_len = op->iv_len;
	return 0;
}

void
coffer_op_free(struct coffer_op *op)
{
	REQ(req, crypto_cancel, CRYPTO_CANCEL, Coffer__CryptoCancelReq,
	    COFFER__CRYPTO_CANCEL_REQ__INIT);
	Coffer__Response *resp = NULL;

	if (op == NULL)
		return;
	if (op->active && op->c != NULL) {
		cf_client_check_fork(op->c);
		if (op->fork_gen == op->c->fork_gen) {
			crypto_cancel_body.op = op->id;
			(void)cf_client_call_at(op->c, &req, CF_CALL_NORETRY,
			    COFFER__RESPONSE__BODY_CRYPTO_CANCEL, &resp,
			    op->server, NULL);
			free_resp(resp);
		}
	}
	coffer_free(op->iv, op->iv_len);
	cf_cleanse(op, sizeof(*op));
	free(op);
}

/* --- one-shot helpers ------------------------------------------------- */

/*
 * kind over in (and sig for verify) with key: one CryptoOneShot when the
 * input fits in a chunk, otherwise init/update/final. Output to *out
 * (unless verify), IV the node used to iv/iv_len when iv is non-NULL.
 */
static int
one_shot(struct coffer_client *c, int kind, const CK_MECHANISM *mech,
    uint64_t key, const uint8_t *in, size_t in_len, const uint8_t *sig,
    size_t sig_len, uint8_t **out, size_t *out_len, uint8_t *iv,
    size_t *iv_len)
{
	REQ(req, crypto_one_shot, CRYPTO_ONE_SHOT, Coffer__CryptoOneShotReq,
	    COFFER__CRYPTO_ONE_SHOT_REQ__INIT);
	struct cf_mech_wire mw;
	struct coffer_op *op = NULL;
	Coffer__Response *resp = NULL;
	const ProtobufCBinaryData *got_iv = NULL;
	struct obuf o = { 0 };
	uint8_t *part = NULL;
	size_t part_len = 0;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (out_len != NULL)
		*out_len = 0;
	if (c == NULL || mech == NULL || (in == NULL && in_len > 0) ||
	    (sig == NULL && sig_len > 0) ||
	    (kind != COFFER_OP_VERIFY && (out == NULL || out_len == NULL)) ||
	    (iv != NULL && iv_len == NULL))
		return COFFER_E_INVAL;
	if (sig_len > CHUNK)
		return cf_client_fail(c, COFFER_E_DATA_LEN,
		    "signature too long");
	if (in_len > CHUNK)
		goto stream;
	if ((rc = mech_conv(c, mech, &mw)) != 0)
		return rc;
	crypto_one_shot_body.kind = (Coffer__CryptoKind)kind;
	crypto_one_shot_body.mech = &mw.m;
	crypto_one_shot_body.key = key;
	crypto_one_shot_body.data.data = in_len > 0 ? (uint8_t *)in : NULL;
	crypto_one_shot_body.data.len = in_len;
	crypto_one_shot_body.signature.data = sig_len > 0 ? (uint8_t *)sig :
	    NULL;
	crypto_one_shot_body.signature.len = sig_len;
	if ((rc = cf_client_call_at(c, &req, 0,
	    COFFER__RESPONSE__BODY_CRYPTO_ONE_SHOT, &resp,
	    pin_for(c, &key, 1, false), NULL)) != 0)
		goto out;
	if (resp->crypto_one_shot == NULL) {
		rc = cf_client_fail(c, COFFER_E_PROTO, "empty answer");
		goto out;
	}
	got_iv = &resp->crypto_one_shot->iv;
	if (kind != COFFER_OP_VERIFY) {
		steal_bin(&resp->crypto_one_shot->data, &o.p, &o.len);
		o.cap = o.len;
	}
	goto done;
stream:
	if ((rc = coffer_op_init(c, kind, mech, key, &op)) != 0)
		goto out;
	if ((rc = coffer_op_update(op, in, in_len, &part, &part_len)) != 0 ||
	    (rc = obuf_add(&o, part, part_len)) != 0)
		goto out;
	coffer_free(part, part_len);
	part = NULL;
	if (kind == COFFER_OP_VERIFY) {
		if ((rc = coffer_op_verify_final(op, sig, sig_len)) != 0)
			goto out;
	} else if ((rc = coffer_op_final(op, &part, &part_len)) != 0 ||
	    (rc = obuf_add(&o, part, part_len)) != 0) {
		goto out;
	}
done:
	if (iv != NULL) {
		size_t have = got_iv != NULL ? got_iv->len :
		    (op != NULL ? op->iv_len : 0);
		const uint8_t *p = got_iv != NULL ? got_iv->data :
		    (op != NULL ? op->iv : NULL);

		if (*iv_len < have) {
			*iv_len = have;
			rc = cf_client_fail(c, COFFER_E_BUFFER_TOO_SMALL,
			    "IV buffer too small");
			goto out;
		}
		if (have > 0)
			memcpy(iv, p, have);
		*iv_len = have;
	}
	if (kind != COFFER_OP_VERIFY)
		obuf_take(&o, out, out_len);
	rc = 0;
out:
	coffer_free(part, part_len);
	obuf_free(&o);
	coffer_op_free(op);
	free_resp(resp);
	return rc;
}

int
coffer_encrypt(struct coffer_client *c, const CK_MECHANISM *mech,
    uint64_t key, const uint8_t *in, size_t in_len, uint8_t **out,
    size_t *out_len)
{
	return one_shot(c, COFFER_OP_ENCRYPT, mech, key, in, in_len, NULL, 0,
	    out, out_len, NULL, NULL);
}

int
coffer_encrypt_iv(struct coffer_client *c, const CK_MECHANISM *mech,
    uint64_t key, const uint8_t *in, size_t in_len, uint8_t **out,
    size_t *out_len, uint8_t *iv, size_t *iv_len)
{
	return one_shot(c, COFFER_OP_ENCRYPT, mech, key, in, in_len, NULL, 0,
	    out, out_len, iv, iv_len);
}

int
coffer_decrypt(struct coffer_client *c, const CK_MECHANISM *mech,
    uint64_t key, const uint8_t *in, size_t in_len, uint8_t **out,
    size_t *out_len)
{
	return one_shot(c, COFFER_OP_DECRYPT, mech, key, in, in_len, NULL, 0,
	    out, out_len, NULL, NULL);
}

int
coffer_sign(struct coffer_client *c, const CK_MECHANISM *mech, uint64_t key,
    const uint8_t *in, size_t in_len, uint8_t **sig, size_t *sig_len)
{
	return one_shot(c, COFFER_OP_SIGN, mech, key, in, in_len, NULL, 0,
	    sig, sig_len, NULL, NULL);
}

/*
 * One IV per message in a batch (iv: per-message IVs replacing the
 * mechanism's own, or NULL). Encryption must not give n messages the same
 * IV, so a batch encryption whose mechanism carries one (CBC, CBC-PAD,
 * CTR's counter block, GCM with pIv) is refused; GCM without pIv has the
 * node draw a fresh IV per message.
 */
struct batch_mechs {
	Coffer__Mechanism *m;
	Coffer__GcmParams *gcm;
	Coffer__CtrParams *ctr;
};

static int
batch_mechs(struct coffer_client *c, int kind, const struct cf_mech_wire *mw,
    size_t n, const uint8_t *const *iv, const size_t *iv_len,
    struct batch_mechs *bm)
{
	const Coffer__Mechanism *m = &mw->m;
	size_t i;

	*bm = (struct batch_mechs){ 0 };
	if (kind == COFFER_OP_ENCRYPT && iv == NULL &&
	    (m->params_case == COFFER__MECHANISM__PARAMS_IV ||
	    m->params_case == COFFER__MECHANISM__PARAMS_CTR ||
	    (m->params_case == COFFER__MECHANISM__PARAMS_GCM &&
	    mw->gcm.iv.len > 0)))
		return cf_client_fail(c, COFFER_E_MECH_PARAM, "mechanism 0x%lx "
		    "carries an IV, which %zu messages would share: batches "
		    "encrypt with node-made IVs (CKM_AES_GCM without pIv) or "
		    "mechanisms without IV", (unsigned long)m->type, n);
	if (iv == NULL)
		return 0;
	if (kind == COFFER_OP_ENCRYPT)
		return COFFER_E_INVAL;
	if ((bm->m = calloc(n, sizeof(*bm->m))) == NULL ||
	    (bm->gcm = calloc(n, sizeof(*bm->gcm))) == NULL ||
	    (bm->ctr = calloc(n, sizeof(*bm->ctr))) == NULL)
		return COFFER_E_NOMEM;
	for (i = 0; i < n; i++) {
		ProtobufCBinaryData b = { iv_len[i], (uint8_t *)iv[i] };

		if (iv[i] == NULL && iv_len[i] > 0)
			return COFFER_E_INVAL;
		bm->m[i] = *m;
		switch (m->params_case) {
		case COFFER__MECHANISM__PARAMS_IV:
			bm->m[i].iv = b;
			break;
		case COFFER__MECHANISM__PARAMS_GCM:
			bm->gcm[i] = mw->gcm;
			bm->gcm[i].iv = b;
			bm->gcm[i].iv_bits = iv_len[i] * 8;
			bm->m[i].gcm = &bm->gcm[i];
			break;
		case COFFER__MECHANISM__PARAMS_CTR:
			if (iv_len[i] != 16)
				return cf_client_fail(c, COFFER_E_MECH_PARAM,
				    "input %zu: a CTR counter block is 16 "
				    "bytes", i);
			bm->ctr[i] = mw->ctr;
			bm->ctr[i].cb = b;
			bm->m[i].ctr = &bm->ctr[i];
			break;
		default:
			if (iv_len[i] > 0)
				return cf_client_fail(c, COFFER_E_MECH_PARAM,
				    "input %zu: mechanism 0x%lx takes no IV",
				    i, (unsigned long)m->type);
			break;
		}
	}
	return 0;
}

static void
batch_mechs_free(struct batch_mechs *bm)
{
	free(bm->m);
	free(bm->gcm);
	free(bm->ctr);
}

/*
 * n one-shot requests of one kind with one key (sig: the signatures to
 * verify, else NULL; iv: per-message IVs, else NULL), pipelined; *resp
 * gets the n responses (free with batch_free). Argument checks as
 * coffer_sign_many.
 */
static int
batch_run(struct coffer_client *c, int kind, const CK_MECHANISM *mech,
    uint64_t key, size_t n, const uint8_t *const *in, const size_t *in_len,
    const uint8_t *const *sig, const size_t *sig_len,
    const uint8_t *const *iv, const size_t *iv_len,
    Coffer__Response ***resp)
{
	Coffer__CryptoOneShotReq *body = NULL;
	Coffer__Request *req = NULL, **reqp = NULL;
	Coffer__Response **r = NULL;
	struct batch_mechs bm = { 0 };
	struct cf_mech_wire mw;
	/* a ciphertext carries its message's tag or padding too */
	size_t i, lim = kind == COFFER_OP_DECRYPT ? CHUNK + 1024 : CHUNK;
	int rc;

	*resp = NULL;
	for (i = 0; i < n; i++) {
		if ((in[i] == NULL && in_len[i] > 0) || (sig != NULL &&
		    sig[i] == NULL && sig_len[i] > 0))
			return COFFER_E_INVAL;
		if (in_len[i] > lim || (sig != NULL && sig_len[i] > CHUNK))
			return cf_client_fail(c, COFFER_E_DATA_LEN,
			    "input %zu: over %zu bytes (the one-input calls "
			    "stream long inputs; batches do not)", i, lim);
	}
	if ((rc = mech_conv(c, mech, &mw)) != 0)
		return rc;
	if ((rc = batch_mechs(c, kind, &mw, n, iv, iv_len, &bm)) != 0)
		goto out;
	if ((body = calloc(n, sizeof(*body))) == NULL ||
	    (req = calloc(n, sizeof(*req))) == NULL ||
	    (reqp = calloc(n, sizeof(*reqp))) == NULL ||
	    (r = calloc(n, sizeof(*r))) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		coffer__crypto_one_shot_req__init(&body[i]);
		body[i].kind = (Coffer__CryptoKind)kind;
		body[i].mech = bm.m != NULL ? &bm.m[i] : &mw.m;
		body[i].key = key;
		body[i].data.data = in_len[i] > 0 ? (uint8_t *)in[i] : NULL;
		body[i].data.len = in_len[i];
		if (sig != NULL && sig_len[i] > 0) {
			body[i].signature.data = (uint8_t *)sig[i];
			body[i].signature.len = sig_len[i];
		}
		coffer__request__init(&req[i]);
		req[i].body_case = COFFER__REQUEST__BODY_CRYPTO_ONE_SHOT;
		req[i].crypto_one_shot = &body[i];
		reqp[i] = &req[i];
	}
	if ((rc = cf_client_call_many(c, reqp, n,
	    COFFER__RESPONSE__BODY_CRYPTO_ONE_SHOT, r,
	    pin_for(c, &key, 1, false))) != 0)
		goto out;
	*resp = r;
	r = NULL;
out:
	batch_mechs_free(&bm);
	free(r);
	free(body);
	free(req);
	free(reqp);
	return rc;
}

static void
batch_free(Coffer__Response **resp, size_t n)
{
	size_t i;

	for (i = 0; resp != NULL && i < n; i++)
		free_resp(resp[i]);
	free(resp);
}


/*
 * The outputs of an all-or-nothing batch (signatures, encryptions): each
 * answer's data to out[i], and with iv the IV the node used to iv[i]
 * (capacity cap[i], length to iv_len[i]). The first refused input fails
 * the call, naming it; then nothing is returned.
 */
static int
batch_take(struct coffer_client *c, Coffer__Response **resp, size_t n,
    uint8_t **out, size_t *out_len, bool enc, uint8_t *const *iv,
    size_t *iv_len, const size_t *cap)
{
	const ProtobufCBinaryData *v;
	size_t i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		if (resp[i]->rc != 0) {
			rc = cf_client_fail(c, resp[i]->rc, "input %zu: %s", i,
			    resp[i]->detail != NULL && *resp[i]->detail != '\0' ?
			    resp[i]->detail : coffer_strerror(resp[i]->rc));
			break;
		}
		if (resp[i]->crypto_one_shot == NULL ||
		    resp[i]->crypto_one_shot->data.len == 0) {
			rc = cf_client_fail(c, COFFER_E_PROTO, "input %zu: "
			    "empty answer", i);
			break;
		}
		v = &resp[i]->crypto_one_shot->iv;
		if (enc && iv == NULL && v->len > 0) {
			/* the caller could never decrypt these */
			rc = cf_client_fail(c, COFFER_E_INVAL, "the node made "
			    "IVs for these messages: pass iv and iv_len");
			break;
		}
		if (enc && iv != NULL) {
			if (v->len > cap[i]) {
				iv_len[i] = v->len;
				rc = cf_client_fail(c,
				    COFFER_E_BUFFER_TOO_SMALL, "input %zu: "
				    "the IV is %zu bytes", i, v->len);
				break;
			}
			if (v->len > 0)
				memcpy(iv[i], v->data, v->len);
			iv_len[i] = v->len;
		}
		steal_bin(&resp[i]->crypto_one_shot->data, &out[i],
		    &out_len[i]);
	}
	batch_free(resp, n);
	if (rc != 0) {
		for (i = 0; i < n; i++) {
			coffer_free(out[i], out_len[i]);
			out[i] = NULL;
			out_len[i] = 0;
		}
	}
	return rc;
}

int
coffer_sign_many(struct coffer_client *c, const CK_MECHANISM *mech,
    uint64_t key, size_t n, const uint8_t *const *in, const size_t *in_len,
    uint8_t **sig, size_t *sig_len)
{
	Coffer__Response **resp = NULL;
	size_t i;
	int rc;

	if (c == NULL || mech == NULL || n > COFFER_SIGN_MANY_MAX ||
	    (n > 0 && (in == NULL || in_len == NULL || sig == NULL ||
	    sig_len == NULL)))
		return COFFER_E_INVAL;
	for (i = 0; i < n; i++) {
		sig[i] = NULL;
		sig_len[i] = 0;
	}
	if (n == 0)
		return 0;
	if ((rc = batch_run(c, COFFER_OP_SIGN, mech, key, n, in, in_len, NULL,
	    NULL, NULL, NULL, &resp)) != 0)
		return rc;
	return batch_take(c, resp, n, sig, sig_len, false, NULL, NULL, NULL);
}

int
coffer_verify_many(struct coffer_client *c, const CK_MECHANISM *mech,
    uint64_t key, size_t n, const uint8_t *const *in, const size_t *in_len,
    const uint8_t *const *sig, const size_t *sig_len, int *result)
{
	Coffer__Response **resp = NULL;
	size_t i;
	int rc;

	if (c == NULL || mech == NULL || n > COFFER_SIGN_MANY_MAX ||
	    (n > 0 && (in == NULL || in_len == NULL || sig == NULL ||
	    sig_len == NULL || result == NULL)))
		return COFFER_E_INVAL;
	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		result[i] = COFFER_E_INTERNAL;
	if ((rc = batch_run(c, COFFER_OP_VERIFY, mech, key, n, in, in_len,
	    sig, sig_len, NULL, NULL, &resp)) != 0) {
		for (i = 0; i < n; i++)
			result[i] = rc;
		return rc;
	}
	for (i = 0; i < n; i++)
		result[i] = resp[i]->rc;
	batch_free(resp, n);
	return 0;
}

int
coffer_encrypt_many(struct coffer_client *c, const CK_MECHANISM *mech,
    uint64_t key, size_t n, const uint8_t *const *in, const size_t *in_len,
    uint8_t **out, size_t *out_len, uint8_t *const *iv, size_t *iv_len)
{
	Coffer__Response **resp = NULL;
	size_t i, *cap = NULL;
	int rc;

	if (c == NULL || mech == NULL || n > COFFER_SIGN_MANY_MAX ||
	    (n > 0 && (in == NULL || in_len == NULL || out == NULL ||
	    out_len == NULL)) || ((iv == NULL) != (iv_len == NULL)))
		return COFFER_E_INVAL;
	for (i = 0; i < n; i++) {
		out[i] = NULL;
		out_len[i] = 0;
		if (iv != NULL && iv[i] == NULL && iv_len[i] > 0)
			return COFFER_E_INVAL;
	}
	if (n == 0)
		return 0;
	/* iv_len[] is both the capacities and the lengths written */
	if (iv != NULL) {
		if ((cap = malloc(n * sizeof(*cap))) == NULL)
			return COFFER_E_NOMEM;
		memcpy(cap, iv_len, n * sizeof(*cap));
	}
	if ((rc = batch_run(c, COFFER_OP_ENCRYPT, mech, key, n, in, in_len,
	    NULL, NULL, NULL, NULL, &resp)) == 0)
		rc = batch_take(c, resp, n, out, out_len, true, iv, iv_len,
		    cap);
	free(cap);
	return rc;
}

int
coffer_decrypt_many(struct coffer_client *c, const CK_MECHANISM *mech,
    uint64_t key, size_t n, const uint8_t *const *in, const size_t *in_len,
    const uint8_t *const *iv, const size_t *iv_len, uint8_t **out,
    size_t *out_len, int *result)
{
	Coffer__Response **resp = NULL;
	size_t i;
	int rc;

	if (c == NULL || mech == NULL || n > COFFER_SIGN_MANY_MAX ||
	    (n > 0 && (in == NULL || in_len == NULL || out == NULL ||
	    out_len == NULL || result == NULL)) ||
	    ((iv == NULL) != (iv_len == NULL)))
		return COFFER_E_INVAL;
	for (i = 0; i < n; i++) {
		out[i] = NULL;
		out_len[i] = 0;
		result[i] = COFFER_E_INTERNAL;
	}
	if (n == 0)
		return 0;
	if ((rc = batch_run(c, COFFER_OP_DECRYPT, mech, key, n, in, in_len,
	    NULL, NULL, iv, iv_len, &resp)) != 0) {
		for (i = 0; i < n; i++)
			result[i] = rc;
		return rc;
	}
	for (i = 0; i < n; i++) {
		if ((result[i] = resp[i]->rc) != 0)
			continue;
		if (resp[i]->crypto_one_shot == NULL)
			result[i] = COFFER_E_PROTO;
		else
			steal_bin(&resp[i]->crypto_one_shot->data, &out[i],
			    &out_len[i]);
	}
	batch_free(resp, n);
	return 0;
}

int
coffer_verify(struct coffer_client *c, const CK_MECHANISM *mech,
    uint64_t key, const uint8_t *in, size_t in_len, const uint8_t *sig,
    size_t sig_len)
{
	return one_shot(c, COFFER_OP_VERIFY, mech, key, in, in_len, sig,
	    sig_len, NULL, NULL, NULL, NULL);
}

int
coffer_digest(struct coffer_client *c, const CK_MECHANISM *mech,
    const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len)
{
	return one_shot(c, COFFER_OP_DIGEST, mech, 0, in, in_len, NULL, 0,
	    out, out_len, NULL, NULL);
}

/* --- keys from keys ----------------------------------------------------- */

int
coffer_wrap_key(struct coffer_client *c, const CK_MECHANISM *mech,
    uint64_t wrapping_key, uint64_t key, uint8_t **out, size_t *out_len)
{
	REQ(req, wrap_key, WRAP_KEY, Coffer__WrapKeyReq,
	    COFFER__WRAP_KEY_REQ__INIT);
	struct cf_mech_wire mw;
	Coffer__Response *resp = NULL;
	uint64_t keys[2] = { wrapping_key, key };
	int rc;

	if (out != NULL)
		*out = NULL;
	if (out_len != NULL)
		*out_len = 0;
	if (c == NULL || mech == NULL || out == NULL || out_len == NULL)
		return COFFER_E_INVAL;
	if ((rc = mech_conv(c, mech, &mw)) != 0)
		return rc;
	wrap_key_body.mech = &mw.m;
	wrap_key_body.wrapping_key = wrapping_key;
	wrap_key_body.key = key;
	if ((rc = cf_client_call_at(c, &req, 0, COFFER__RESPONSE__BODY_WRAP_KEY,
	    &resp, pin_for(c, keys, 2, false), NULL)) != 0)
		goto out;
	if (resp->wrap_key == NULL) {
		rc = cf_client_fail(c, COFFER_E_PROTO, "empty answer");
		goto out;
	}
	steal_bin(&resp->wrap_key->data, out, out_len);
out:
	free_resp(resp);
	return rc;
}

int
coffer_unwrap_key(struct coffer_client *c, const CK_MECHANISM *mech,
    uint64_t unwrapping_key, const uint8_t *wrapped, size_t wrapped_len,
    const CK_ATTRIBUTE *tmpl, size_t n, uint64_t *handle)
{
	REQ(req, unwrap_key, UNWRAP_KEY, Coffer__UnwrapKeyReq,
	    COFFER__UNWRAP_KEY_REQ__INIT);
	struct cf_mech_wire mw;
	struct cf_tmpl_wire tw = { 0 };
	bool session;
	int rc;

	if (handle != NULL)
		*handle = 0;
	if (c == NULL || mech == NULL || handle == NULL ||
	    (wrapped == NULL && wrapped_len > 0))
		return COFFER_E_INVAL;
	if ((rc = mech_conv(c, mech, &mw)) != 0 ||
	    (rc = tmpl_conv(c, tmpl, n, &tw)) != 0)
		goto out;
	unwrap_key_body.mech = &mw.m;
	unwrap_key_body.unwrapping_key = unwrapping_key;
	unwrap_key_body.wrapped.data = wrapped_len > 0 ? (uint8_t *)wrapped :
	    NULL;
	unwrap_key_body.wrapped.len = wrapped_len;
	unwrap_key_body.n_tmpl = tw.n;
	unwrap_key_body.tmpl = tw.ptrs;
	session = tmpl_token(tmpl, n) != 1;
	rc = make_object(c, &req, COFFER__RESPONSE__BODY_UNWRAP_KEY,
	    pin_for(c, &unwrapping_key, 1, session), session, handle);
out:
	cf_tmpl_wire_clear(&tw);
	return rc;
}

int
coffer_derive_key(struct coffer_client *c, const CK_MECHANISM *mech,
    uint64_t base_key, const CK_ATTRIBUTE *tmpl, size_t n, uint64_t *handle)
{
	REQ(req, derive_key, DERIVE_KEY, Coffer__DeriveKeyReq,
	    COFFER__DERIVE_KEY_REQ__INIT);
	struct cf_mech_wire mw;
	struct cf_tmpl_wire tw = { 0 };
	bool session;
	int rc;

	if (handle != NULL)
		*handle = 0;
	if (c == NULL || mech == NULL || handle == NULL)
		return COFFER_E_INVAL;
	if ((rc = mech_conv(c, mech, &mw)) != 0 ||
	    (rc = tmpl_conv(c, tmpl, n, &tw)) != 0)
		goto out;
	derive_key_body.mech = &mw.m;
	derive_key_body.base_key = base_key;
	derive_key_body.n_tmpl = tw.n;
	derive_key_body.tmpl = tw.ptrs;
	session = tmpl_token(tmpl, n) != 1;
	rc = make_object(c, &req, COFFER__RESPONSE__BODY_DERIVE_KEY,
	    pin_for(c, &base_key, 1, session), session, handle);
out:
	cf_tmpl_wire_clear(&tw);
	return rc;
}

/* --- random, mechanisms ------------------------------------------------- */

int
coffer_random(struct coffer_client *c, uint8_t *out, size_t len)
{
	REQ(req, random, RANDOM, Coffer__RandomReq, COFFER__RANDOM_REQ__INIT);
	Coffer__Response *resp = NULL;
	size_t off = 0, n;
	int rc = 0;

	if (c == NULL || (out == NULL && len > 0))
		return COFFER_E_INVAL;
	while (off < len) {
		n = len - off < CHUNK ? len - off : CHUNK;
		random_body.len = (uint32_t)n;
		if ((rc = cf_client_call_at(c, &req, 0,
		    COFFER__RESPONSE__BODY_RANDOM, &resp, CF_SERVER_ANY,
		    NULL)) != 0)
			goto out;
		if (resp->random == NULL || resp->random->data.len != n) {
			rc = cf_client_fail(c, COFFER_E_PROTO,
			    "wrong number of random bytes");
			goto out;
		}
		memcpy(out + off, resp->random->data.data, n);
		off += n;
		free_resp(resp);
		resp = NULL;
	}
out:
	free_resp(resp);
	if (rc != 0 && len > 0)
		cf_cleanse(out, len);
	return rc;
}

int
coffer_mechanisms(struct coffer_client *c, struct coffer_mech_info **list,
    size_t *n)
{
	REQ(req, mech_list, MECH_LIST, Coffer__MechListReq,
	    COFFER__MECH_LIST_REQ__INIT);
	Coffer__Response *resp = NULL;
	const Coffer__MechListResp *ml;
	struct coffer_mech_info *l = NULL;
	size_t i;
	int rc;

	if (list != NULL)
		*list = NULL;
	if (n != NULL)
		*n = 0;
	if (c == NULL || list == NULL || n == NULL)
		return COFFER_E_INVAL;
	if ((rc = cf_client_call_at(c, &req, 0,
	    COFFER__RESPONSE__BODY_MECH_LIST, &resp, CF_SERVER_ANY,
	    NULL)) != 0)
		goto out;
	if ((ml = resp->mech_list) == NULL) {
		rc = cf_client_fail(c, COFFER_E_PROTO, "empty answer");
		goto out;
	}
	if (ml->n_mechs > 0 &&
	    (l = calloc(ml->n_mechs, sizeof(*l))) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	for (i = 0; i < ml->n_mechs; i++) {
		if (ml->mechs[i] == NULL) {
			rc = cf_client_fail(c, COFFER_E_PROTO, "empty entry");
			goto out;
		}
		l[i].type = ml->mechs[i]->type;
		l[i].min_key = ml->mechs[i]->min_key;
		l[i].max_key = ml->mechs[i]->max_key;
		l[i].flags = ml->mechs[i]->flags;
	}
	*list = l;
	*n = ml->n_mechs;
	l = NULL;
out:
	free(l);
	free_resp(resp);
	return rc;
}
