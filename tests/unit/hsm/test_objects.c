/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_objects.c: objects and cryptography in the node (issue 3), through
 * cf_cmd_dispatch on a fake node whose proposals are applied straight
 * into a real cf_state, and through cf_state_apply. Results are checked
 * with OpenSSL on the other side: signatures verified with the exported
 * CKA_PUBLIC_KEY_INFO, ciphertexts of a key imported by unwrapping a
 * value known to the test.
 */
#include <p11-kit/pkcs11.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/ecdsa.h>
#include <openssl/bn.h>
#include <openssl/objects.h>

#include "coffer/coffer_err.h"
#include "coffer.pb-c.h"
#include "common/p11attr.h"
#include "hsm/cmd.h"
#include "hsm/node.h"
#include "hsm/objects.h"
#include "hsm/objects_local.h"
#include "hsm/state.h"
#include "test_fsm_util.h"

static struct cf_node node;
static uint64_t next_index = 1000000;
static uint8_t idem_ctr[2];

/* Test-local fakes of H4's node functions. */
int
cf_node_propose(struct cf_node *n, Coffer__LogEntry *e,
    struct cf_apply_result *res)
{
	size_t len;
	uint8_t *buf;
	int rc;

	e->time = 1700000000 + next_index;
	len = coffer__log_entry__get_packed_size(e);
	buf = malloc(len + 1);
	assert_non_null(buf);
	coffer__log_entry__pack(e, buf);
	rc = cf_state_apply(n->state, next_index++, buf, len, res);
	free(buf);
	return rc;
}

int
cf_node_state(struct cf_node *n)
{
	int s;

	cf_state_rdlock(n->state);
	s = cf_state_node_state(n->state);
	cf_state_unlock(n->state);
	return s;
}

/* --- helpers -------------------------------------------------------------- */

struct tb {
	Coffer__Attribute a[32];
	Coffer__Attribute *p[32];
	uint8_t b[32][8];
	size_t n;
};

static void
tb_bytes(struct tb *t, uint64_t type, const void *v, size_t n)
{
	Coffer__Attribute *a = &t->a[t->n];

	coffer__attribute__init(a);
	a->type = type;
	a->value.data = (uint8_t *)v;
	a->value.len = n;
	t->p[t->n] = a;
	t->n++;
}

static void
tb_ulong(struct tb *t, uint64_t type, uint64_t v)
{
	cf_attr_put_ulong(v, t->b[t->n]);
	tb_bytes(t, type, t->b[t->n], 8);
}

static void
tb_bool(struct tb *t, uint64_t type, int v)
{
	t->b[t->n][0] = (uint8_t)v;
	tb_bytes(t, type, t->b[t->n], 1);
}

static void
tb_str(struct tb *t, uint64_t type, const char *s)
{
	tb_bytes(t, type, s, strlen(s));
}

static Coffer__Response *
call(struct cf_session *s, Coffer__Request *rq)
{
	size_t len, olen = 0;
	uint8_t *buf, *out = NULL, idem[16];
	const struct cf_cmd *c = cf_cmd_find(rq->body_case);
	Coffer__Response *r;

	if (c != NULL && (c->flags & CF_CMD_WRITE) && rq->idem.len == 0) {
		memset(idem, 0x5c, sizeof(idem));
		if (++idem_ctr[0] == 0)
			idem_ctr[1]++;
		memcpy(idem, idem_ctr, 2);
		rq->idem.data = idem;
		rq->idem.len = 16;
	}
	len = coffer__request__get_packed_size(rq);
	buf = malloc(len + 1);
	assert_non_null(buf);
	coffer__request__pack(rq, buf);
	assert_int_equal(cf_cmd_dispatch(&node, s, buf, len, &out, &olen), 0);
	free(buf);
	rq->idem.data = NULL;
	rq->idem.len = 0;
	r = coffer__response__unpack(NULL, olen, out);
	assert_non_null(r);
	free(out);
	return r;
}

static int
rc_of(Coffer__Response *r)
{
	int rc = r->rc;

	coffer__response__free_unpacked(r, NULL);
	return rc;
}

static void
login(struct cf_session *s, const char *user, int role, uint64_t inst)
{
	cf_session_init(s, inst * 10 + (uint64_t)role, "test");
	s->logged_in = true;
	snprintf(s->username, sizeof(s->username), "%s", user);
	s->role = role;
	assert_int_equal(cf_hsm_session_bind(&node, s, inst), 0);
}

static void
mech_none(Coffer__Mechanism *m, uint64_t type)
{
	coffer__mechanism__init(m);
	m->type = type;
}

/* Generates a secret key; returns the rc, *h the handle. */
static int
gen_secret(struct cf_session *s, uint64_t mech, struct tb *t, uint64_t *h)
{
	Coffer__Request rq = COFFER__REQUEST__INIT;
	Coffer__ObjGenerateKeyReq g = COFFER__OBJ_GENERATE_KEY_REQ__INIT;
	Coffer__Mechanism m;
	Coffer__Response *r;
	int rc;

	mech_none(&m, mech);
	g.mech = &m;
	g.n_tmpl = t->n;
	g.tmpl = t->p;
	rq.body_case = COFFER__REQUEST__BODY_OBJ_GENERATE_KEY;
	rq.obj_generate_key = &g;
	r = call(s, &rq);
	rc = r->rc;
	if (h != NULL)
		*h = rc == 0 ? r->obj_generate_key->handle : 0;
	coffer__response__free_unpacked(r, NULL);
	return rc;
}

static uint64_t
gen_aes(struct cf_session *s, const char *label, int token, uint64_t len)
{
	struct tb t = {0};
	uint64_t h = 0;

	tb_ulong(&t, CKA_VALUE_LEN, len);
	tb_bool(&t, CKA_TOKEN, token);
	if (label != NULL)
		tb_str(&t, CKA_LABEL, label);
	assert_int_equal(gen_secret(s, CKM_AES_KEY_GEN, &t, &h), 0);
	assert_true(h != 0);
	return h;
}

static int
gen_pair(struct cf_session *s, uint64_t mech, struct tb *pt, struct tb *st,
    uint64_t *pub, uint64_t *priv)
{
	Coffer__Request rq = COFFER__REQUEST__INIT;
	Coffer__ObjGenerateKeyPairReq g =
	    COFFER__OBJ_GENERATE_KEY_PAIR_REQ__INIT;
	Coffer__Mechanism m;
	Coffer__Response *r;
	int rc;

	mech_none(&m, mech);
	g.mech = &m;
	g.n_pub_tmpl = pt->n;
	g.pub_tmpl = pt->p;
	g.n_priv_tmpl = st->n;
	g.priv_tmpl = st->p;
	rq.body_case = COFFER__REQUEST__BODY_OBJ_GENERATE_KEY_PAIR;
	rq.obj_generate_key_pair = &g;
	r = call(s, &rq);
	rc = r->rc;
	if (rc == 0) {
		*pub = r->obj_generate_key_pair->pub;
		*priv = r->obj_generate_key_pair->priv;
	}
	coffer__response__free_unpacked(r, NULL);
	return rc;
}

/* Reads one attribute: status, and a copy of the value in buf. */
static int
get_attr(struct cf_session *s, uint64_t h, uint64_t type, uint8_t *buf,
    size_t *len)
{
	Coffer__Request rq = COFFER__REQUEST__INIT;
	Coffer__ObjGetAttrsReq g = COFFER__OBJ_GET_ATTRS_REQ__INIT;
	Coffer__Response *r;
	int rc;

	g.handle = h;
	g.n_types = 1;
	g.types = &type;
	rq.body_case = COFFER__REQUEST__BODY_OBJ_GET_ATTRS;
	rq.obj_get_attrs = &g;
	r = call(s, &rq);
	rc = r->rc;
	if (rc == 0) {
		assert_int_equal(r->obj_get_attrs->n_attrs, 1);
		rc = r->obj_get_attrs->attrs[0]->status;
		if (rc == 0 && buf != NULL) {
			assert_true(r->obj_get_attrs->attrs[0]->value.len <=
			    *len);
			memcpy(buf, r->obj_get_attrs->attrs[0]->value.data,
			    r->obj_get_attrs->attrs[0]->value.len);
			*len = r->obj_get_attrs->attrs[0]->value.len;
		}
	}
	coffer__response__free_unpacked(r, NULL);
	return rc;
}

static uint64_t
get_ulong(struct cf_session *s, uint64_t h, uint64_t type)
{
	uint8_t b[8];
	size_t n = sizeof(b);
	uint64_t v;

	assert_int_equal(get_attr(s, h, type, b, &n), 0);
	assert_int_equal(cf_attr_get_ulong(b, n, &v), 0);
	return v;
}

static int
get_bool(struct cf_session *s, uint64_t h, uint64_t type)
{
	uint8_t b[8];
	size_t n = sizeof(b);

	assert_int_equal(get_attr(s, h, type, b, &n), 0);
	assert_int_equal(n, 1);
	return b[0];
}

static int
set_attrs(struct cf_session *s, uint64_t h, struct tb *t)
{
	Coffer__Request rq = COFFER__REQUEST__INIT;
	Coffer__ObjSetAttrsReq b = COFFER__OBJ_SET_ATTRS_REQ__INIT;

	b.handle = h;
	b.n_attrs = t->n;
	b.attrs = t->p;
	rq.body_case = COFFER__REQUEST__BODY_OBJ_SET_ATTRS;
	rq.obj_set_attrs = &b;
	return rc_of(call(s, &rq));
}

/* Finds with tmpl; returns the rc; *n handles, first in *first. */
static int
find(struct cf_session *s, struct tb *t, size_t *n, uint64_t *first)
{
	Coffer__Request rq = COFFER__REQUEST__INIT;
	Coffer__ObjFindReq f = COFFER__OBJ_FIND_REQ__INIT;
	Coffer__Response *r;
	int rc;

	f.n_tmpl = t != NULL ? t->n : 0;
	f.tmpl = t != NULL ? t->p : NULL;
	rq.body_case = COFFER__REQUEST__BODY_OBJ_FIND;
	rq.obj_find = &f;
	r = call(s, &rq);
	rc = r->rc;
	*n = 0;
	if (rc == 0) {
		*n = r->obj_find->n_handles;
		if (first != NULL && *n > 0)
			*first = r->obj_find->handles[0];
	}
	coffer__response__free_unpacked(r, NULL);
	return rc;
}

static size_t
find_label(struct cf_session *s, const char *label)
{
	struct tb t = {0};
	size_t n;

	tb_str(&t, CKA_LABEL, label);
	assert_int_equal(find(s, &t, &n, NULL), 0);
	return n;
}

static int
destroy(struct cf_session *s, uint64_t h)
{
	Coffer__Request rq = COFFER__REQUEST__INIT;
	Coffer__ObjDestroyReq d = COFFER__OBJ_DESTROY_REQ__INIT;

	d.handle = h;
	rq.body_case = COFFER__REQUEST__BODY_OBJ_DESTROY;
	rq.obj_destroy = &d;
	return rc_of(call(s, &rq));
}

static int
share(struct cf_session *s, uint64_t h, const char *user, int unshare)
{
	Coffer__Request rq = COFFER__REQUEST__INIT;
	Coffer__ObjShareReq b = COFFER__OBJ_SHARE_REQ__INIT;

	b.handle = h;
	b.username = (char *)user;
	b.unshare = unshare;
	rq.body_case = COFFER__REQUEST__BODY_OBJ_SHARE;
	rq.obj_share = &b;
	return rc_of(call(s, &rq));
}

/* One-shot operation; output (if any) into out/out_len (malloc'd). */
static int
one_shot(struct cf_session *s, int kind, Coffer__Mechanism *m, uint64_t key,
    const void *in, size_t in_len, const void *sig, size_t sig_len,
    uint8_t **out, size_t *out_len, uint8_t *iv, size_t *iv_len)
{
	Coffer__Request rq = COFFER__REQUEST__INIT;
	Coffer__CryptoOneShotReq o = COFFER__CRYPTO_ONE_SHOT_REQ__INIT;
	Coffer__Response *r;
	int rc;

	o.kind = (Coffer__CryptoKind)kind;
	o.mech = m;
	o.key = key;
	o.data.data = (uint8_t *)in;
	o.data.len = in_len;
	o.signature.data = (uint8_t *)sig;
	o.signature.len = sig_len;
	rq.body_case = COFFER__REQUEST__BODY_CRYPTO_ONE_SHOT;
	rq.crypto_one_shot = &o;
	r = call(s, &rq);
	rc = r->rc;
	if (out != NULL) {
		*out = NULL;
		*out_len = 0;
	}
	if (rc == 0 && out != NULL) {
		*out = malloc(r->crypto_one_shot->data.len + 1);
		memcpy(*out, r->crypto_one_shot->data.data,
		    r->crypto_one_shot->data.len);
		*out_len = r->crypto_one_shot->data.len;
	}
	if (rc == 0 && iv != NULL) {
		memcpy(iv, r->crypto_one_shot->iv.data,
		    r->crypto_one_shot->iv.len);
		*iv_len = r->crypto_one_shot->iv.len;
	}
	coffer__response__free_unpacked(r, NULL);
	return rc;
}

static int
sign1(struct cf_session *s, uint64_t mech, uint64_t key, const char *msg,
    uint8_t **sig, size_t *sig_len)
{
	Coffer__Mechanism m;

	mech_none(&m, mech);
	return one_shot(s, COFFER__CRYPTO_KIND__CRYPTO_SIGN, &m, key, msg,
	    strlen(msg), NULL, 0, sig, sig_len, NULL, NULL);
}

/* Multi-part: init, updates of chunk bytes, final; output gathered. */
static int
multi(struct cf_session *s, int kind, Coffer__Mechanism *m, uint64_t key,
    const uint8_t *in, size_t in_len, size_t chunk, const uint8_t *sig,
    size_t sig_len, uint8_t *out, size_t *out_len)
{
	Coffer__Request rq = COFFER__REQUEST__INIT;
	Coffer__CryptoInitReq ci = COFFER__CRYPTO_INIT_REQ__INIT;
	Coffer__CryptoUpdateReq cu = COFFER__CRYPTO_UPDATE_REQ__INIT;
	Coffer__CryptoFinalReq cfin = COFFER__CRYPTO_FINAL_REQ__INIT;
	Coffer__Response *r;
	uint64_t op;
	size_t off = 0, got = 0, k;
	int rc;

	ci.kind = (Coffer__CryptoKind)kind;
	ci.mech = m;
	ci.key = key;
	rq.body_case = COFFER__REQUEST__BODY_CRYPTO_INIT;
	rq.crypto_init = &ci;
	r = call(s, &rq);
	if ((rc = r->rc) != 0) {
		coffer__response__free_unpacked(r, NULL);
		return rc;
	}
	op = r->crypto_init->op;
	coffer__response__free_unpacked(r, NULL);
	while (off < in_len) {
		k = in_len - off < chunk ? in_len - off : chunk;
		cu.op = op;
		cu.data.data = (uint8_t *)in + off;
		cu.data.len = k;
		rq = (Coffer__Request)COFFER__REQUEST__INIT;
		rq.body_case = COFFER__REQUEST__BODY_CRYPTO_UPDATE;
		rq.crypto_update = &cu;
		r = call(s, &rq);
		if ((rc = r->rc) != 0) {
			coffer__response__free_unpacked(r, NULL);
			return rc;
		}
		if (out != NULL && r->crypto_update->data.len > 0) {
			memcpy(out + got, r->crypto_update->data.data,
			    r->crypto_update->data.len);
			got += r->crypto_update->data.len;
		}
		coffer__response__free_unpacked(r, NULL);
		off += k;
	}
	cfin.op = op;
	cfin.signature.data = (uint8_t *)sig;
	cfin.signature.len = sig_len;
	rq = (Coffer__Request)COFFER__REQUEST__INIT;
	rq.body_case = COFFER__REQUEST__BODY_CRYPTO_FINAL;
	rq.crypto_final = &cfin;
	r = call(s, &rq);
	rc = r->rc;
	if (rc == 0 && out != NULL) {
		memcpy(out + got, r->crypto_final->data.data,
		    r->crypto_final->data.len);
		got += r->crypto_final->data.len;
	}
	if (out_len != NULL)
		*out_len = got;
	coffer__response__free_unpacked(r, NULL);
	return rc;
}

static EVP_PKEY *
export_pub(struct cf_session *s, uint64_t h)
{
	uint8_t buf[2048];
	const uint8_t *p = buf;
	size_t n = sizeof(buf);
	EVP_PKEY *pk;

	assert_int_equal(get_attr(s, h, CKA_PUBLIC_KEY_INFO, buf, &n), 0);
	pk = d2i_PUBKEY(NULL, &p, (long)n);
	assert_non_null(pk);
	return pk;
}

/* --- fixture -------------------------------------------------------------- */

static struct cf_session alice, alice2, bob, admin, audi;

static int
setup(void **ts)
{
	node = (struct cf_node){0};
	node.cfg.node_id = 1;
	node.cfg.request_timeout_ms = 1000;
	assert_int_equal(cf_state_new(NULL, &node.state), 0);
	make_active(node.state);
	assert_int_equal(ent_user_create(node.state, "alice",
	    COFFER__ROLE__ROLE_CU, NULL), 0);
	assert_int_equal(ent_user_create(node.state, "bob",
	    COFFER__ROLE__ROLE_CU, NULL), 0);
	assert_int_equal(ent_user_create(node.state, "audi",
	    COFFER__ROLE__ROLE_AU, NULL), 0);
	login(&alice, "alice", COFFER__ROLE__ROLE_CU, 101);
	login(&alice2, "alice", COFFER__ROLE__ROLE_CU, 101);
	login(&bob, "bob", COFFER__ROLE__ROLE_CU, 202);
	login(&admin, "admin", COFFER__ROLE__ROLE_CO, 303);
	login(&audi, "audi", COFFER__ROLE__ROLE_AU, 404);
	return 0;
}

static int
teardown(void **ts)
{
	cf_session_destroy(&alice);
	cf_session_destroy(&alice2);
	cf_session_destroy(&bob);
	cf_session_destroy(&admin);
	cf_session_destroy(&audi);
	cf_hsm_local_free(&node);
	cf_state_free(node.state);
	return 0;
}

/* --- tests ---------------------------------------------------------------- */

static void
test_generate_and_attributes(void **ts)
{
	struct tb t = {0};
	uint8_t buf[256];
	size_t n;
	uint64_t h;

	h = gen_aes(&alice, "gen-k1", 1, 32);
	assert_true(h < CF_SESSION_HANDLE_BIT);
	assert_int_equal(get_ulong(&alice, h, CKA_CLASS), CKO_SECRET_KEY);
	assert_int_equal(get_ulong(&alice, h, CKA_KEY_TYPE), CKK_AES);
	assert_int_equal(get_ulong(&alice, h, CKA_VALUE_LEN), 32);
	assert_int_equal(get_ulong(&alice, h, CKA_KEY_GEN_MECHANISM),
	    CKM_AES_KEY_GEN);
	assert_true(get_bool(&alice, h, CKA_LOCAL));
	assert_true(get_bool(&alice, h, CKA_TOKEN));
	assert_true(get_bool(&alice, h, CKA_SENSITIVE));
	assert_true(get_bool(&alice, h, CKA_ALWAYS_SENSITIVE));
	assert_true(get_bool(&alice, h, CKA_EXTRACTABLE));
	assert_false(get_bool(&alice, h, CKA_NEVER_EXTRACTABLE));
	assert_true(get_bool(&alice, h, CKA_MODIFIABLE));
	assert_false(get_bool(&alice, h, CKA_DERIVE));
	assert_false(get_bool(&alice, h, CKA_TRUSTED));
	n = sizeof(buf);
	assert_int_equal(get_attr(&alice, h, CKA_CHECK_VALUE, buf, &n), 0);
	assert_int_equal(n, 3);
	n = sizeof(buf);
	assert_int_equal(get_attr(&alice, h, CKA_COFFER_OWNER_, buf, &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "alice", 5);
	/* Never the value, whatever the flags; unknown types are invalid. */
	assert_int_equal(get_attr(&alice, h, CKA_VALUE, NULL, NULL),
	    COFFER_E_ATTR_SENSITIVE);
	assert_int_equal(get_attr(&alice, h, 0x7fff1234, NULL, NULL),
	    COFFER_E_ATTRIBUTE);
	assert_int_equal(get_attr(&alice, h, CKA_MODULUS, NULL, NULL),
	    COFFER_E_ATTRIBUTE);

	/* Template errors. */
	t = (struct tb){0};
	tb_bool(&t, CKA_TOKEN, 1);
	assert_int_equal(gen_secret(&alice, CKM_AES_KEY_GEN, &t, NULL),
	    COFFER_E_ATTRIBUTE);		/* no CKA_VALUE_LEN */
	t = (struct tb){0};
	tb_ulong(&t, CKA_VALUE_LEN, 20);
	assert_int_equal(gen_secret(&alice, CKM_AES_KEY_GEN, &t, NULL),
	    COFFER_E_KEY_SIZE);
	t = (struct tb){0};
	tb_ulong(&t, CKA_VALUE_LEN, 16);
	tb_bool(&t, CKA_LOCAL, 1);
	assert_int_equal(gen_secret(&alice, CKM_AES_KEY_GEN, &t, NULL),
	    COFFER_E_ATTR_READONLY);
	t = (struct tb){0};
	tb_ulong(&t, CKA_VALUE_LEN, 16);
	tb_bool(&t, CKA_TRUSTED, 1);
	assert_int_equal(gen_secret(&alice, CKM_AES_KEY_GEN, &t, NULL),
	    COFFER_E_ATTR_READONLY);
	t = (struct tb){0};
	tb_ulong(&t, CKA_VALUE_LEN, 16);
	tb_bytes(&t, 0x7fff1234, "x", 1);
	assert_int_equal(gen_secret(&alice, CKM_AES_KEY_GEN, &t, NULL),
	    COFFER_E_ATTRIBUTE);
	t = (struct tb){0};
	tb_ulong(&t, CKA_VALUE_LEN, 16);
	tb_bytes(&t, CKA_TOKEN, "\x01\x00\x00\x00", 4);	/* wrong size */
	assert_int_equal(gen_secret(&alice, CKM_AES_KEY_GEN, &t, NULL),
	    COFFER_E_ATTRIBUTE);
	t = (struct tb){0};
	tb_ulong(&t, CKA_VALUE_LEN, 16);
	tb_bytes(&t, CKA_MODULUS, "\x01", 1);		/* not for AES */
	assert_int_equal(gen_secret(&alice, CKM_AES_KEY_GEN, &t, NULL),
	    COFFER_E_ATTRIBUTE);
	t = (struct tb){0};
	tb_ulong(&t, CKA_VALUE_LEN, 16);
	tb_ulong(&t, CKA_CLASS, CKO_PUBLIC_KEY);	/* inconsistent */
	assert_int_equal(gen_secret(&alice, CKM_AES_KEY_GEN, &t, NULL),
	    COFFER_E_ATTRIBUTE);
	t = (struct tb){0};
	tb_ulong(&t, CKA_VALUE_LEN, 24);
	assert_int_equal(gen_secret(&alice, CKM_DES3_KEY_GEN, &t, NULL),
	    COFFER_E_MECHANISM);
}

static void
test_set_attribute_rules(void **ts)
{
	struct tb t;
	uint64_t h, h2;

	h = gen_aes(&alice, "set-k1", 1, 16);
	t = (struct tb){0};
	tb_bool(&t, CKA_SENSITIVE, 0);
	assert_int_equal(set_attrs(&alice, h, &t), COFFER_E_ATTR_READONLY);
	t = (struct tb){0};
	tb_bool(&t, CKA_EXTRACTABLE, 0);
	assert_int_equal(set_attrs(&alice, h, &t), 0);
	assert_false(get_bool(&alice, h, CKA_EXTRACTABLE));
	t = (struct tb){0};
	tb_bool(&t, CKA_EXTRACTABLE, 1);
	assert_int_equal(set_attrs(&alice, h, &t), COFFER_E_ATTR_READONLY);
	t = (struct tb){0};
	tb_ulong(&t, CKA_CLASS, CKO_DATA);
	assert_int_equal(set_attrs(&alice, h, &t), COFFER_E_ATTR_READONLY);
	t = (struct tb){0};
	tb_ulong(&t, CKA_VALUE_LEN, 32);
	assert_int_equal(set_attrs(&alice, h, &t), COFFER_E_ATTR_READONLY);
	t = (struct tb){0};
	tb_bool(&t, CKA_TRUSTED, 1);
	assert_int_equal(set_attrs(&alice, h, &t), COFFER_E_ATTR_READONLY);
	t = (struct tb){0};
	tb_bytes(&t, CKA_VALUE, "0123456789abcdef", 16);
	assert_int_equal(set_attrs(&alice, h, &t), COFFER_E_ATTR_READONLY);

	/* Label changes are indexed. */
	assert_int_equal(find_label(&alice, "set-k1"), 1);
	t = (struct tb){0};
	tb_str(&t, CKA_LABEL, "set-k1-renamed");
	assert_int_equal(set_attrs(&alice, h, &t), 0);
	assert_int_equal(find_label(&alice, "set-k1"), 0);
	assert_int_equal(find_label(&alice, "set-k1-renamed"), 1);

	/* The CO marks keys trusted and can do nothing else. */
	t = (struct tb){0};
	tb_bool(&t, CKA_TRUSTED, 1);
	assert_int_equal(set_attrs(&admin, h, &t), 0);
	assert_true(get_bool(&alice, h, CKA_TRUSTED));
	t = (struct tb){0};
	tb_str(&t, CKA_LABEL, "co-was-here");
	assert_int_equal(set_attrs(&admin, h, &t), COFFER_E_ROLE);

	/* A non-modifiable object stays so. */
	t = (struct tb){0};
	tb_ulong(&t, CKA_VALUE_LEN, 16);
	tb_bool(&t, CKA_TOKEN, 1);
	tb_bool(&t, CKA_MODIFIABLE, 0);
	assert_int_equal(gen_secret(&alice, CKM_AES_KEY_GEN, &t, &h2), 0);
	t = (struct tb){0};
	tb_str(&t, CKA_LABEL, "nope");
	assert_int_equal(set_attrs(&alice, h2, &t), COFFER_E_ATTR_READONLY);
	t = (struct tb){0};
	tb_bool(&t, CKA_MODIFIABLE, 1);
	assert_int_equal(set_attrs(&alice, h2, &t), COFFER_E_ATTR_READONLY);
}

static void
test_ownership(void **ts)
{
	struct tb t = {0};
	uint64_t h, f = 0;
	uint8_t *sig = NULL;
	size_t n, sl;

	tb_ulong(&t, CKA_VALUE_LEN, 32);
	tb_bool(&t, CKA_TOKEN, 1);
	tb_str(&t, CKA_LABEL, "own-hmac");
	tb_bool(&t, CKA_SIGN, 1);
	assert_int_equal(gen_secret(&alice, CKM_GENERIC_SECRET_KEY_GEN, &t,
	    &h), 0);
	assert_int_equal(sign1(&alice, CKM_SHA256_HMAC, h, "msg", &sig, &sl),
	    0);
	assert_int_equal(sl, 32);
	free(sig);

	/* Bob sees nothing. */
	assert_int_equal(find_label(&bob, "own-hmac"), 0);
	assert_int_equal(get_attr(&bob, h, CKA_LABEL, NULL, NULL),
	    COFFER_E_NOTFOUND);
	assert_int_equal(sign1(&bob, CKM_SHA256_HMAC, h, "msg", NULL, NULL),
	    COFFER_E_NOTFOUND);
	assert_int_equal(destroy(&bob, h), COFFER_E_NOTFOUND);
	assert_int_equal(share(&bob, h, "bob", 0), COFFER_E_NOTFOUND);

	/* Shared: use, but not manage. */
	assert_int_equal(share(&alice, h, "bob", 0), 0);
	assert_int_equal(share(&alice, h, "audi", 0), COFFER_E_ROLE);
	assert_int_equal(share(&alice, h, "nobody", 0), COFFER_E_NOTFOUND);
	assert_int_equal(find_label(&bob, "own-hmac"), 1);
	assert_int_equal(sign1(&bob, CKM_SHA256_HMAC, h, "msg", &sig, &sl), 0);
	free(sig);
	assert_int_equal(destroy(&bob, h), COFFER_E_PERM);
	assert_int_equal(share(&bob, h, "bob", 1), COFFER_E_PERM);
	t = (struct tb){0};
	tb_str(&t, CKA_LABEL, "bobs");
	assert_int_equal(set_attrs(&bob, h, &t), COFFER_E_PERM);
	n = 0;
	t = (struct tb){0};
	tb_str(&t, CKA_COFFER_SHARED_, "bob");
	assert_int_equal(find(&alice, &t, &n, &f), 0);
	assert_int_equal(n, 1);
	assert_int_equal(f, h);

	/* COs and AUs cannot see or use keys. */
	assert_int_equal(find(&admin, NULL, &n, NULL), COFFER_E_ROLE);
	assert_int_equal(find(&audi, NULL, &n, NULL), COFFER_E_ROLE);
	assert_int_equal(sign1(&admin, CKM_SHA256_HMAC, h, "m", NULL, NULL),
	    COFFER_E_ROLE);
	assert_int_equal(sign1(&audi, CKM_SHA256_HMAC, h, "m", NULL, NULL),
	    COFFER_E_ROLE);
	assert_int_equal(get_attr(&admin, h, CKA_LABEL, NULL, NULL),
	    COFFER_E_ROLE);

	/* Unshared: gone for bob again; a CU owning keys stays. */
	assert_int_equal(share(&alice, h, "bob", 1), 0);
	assert_int_equal(sign1(&bob, CKM_SHA256_HMAC, h, "msg", NULL, NULL),
	    COFFER_E_NOTFOUND);
	assert_int_equal(ent_user_delete(node.state, "alice", NULL),
	    COFFER_E_POLICY);
	assert_int_equal(destroy(&alice, h), 0);
	assert_int_equal(destroy(&alice, h), COFFER_E_NOTFOUND);
}

static void
test_limit(void **ts)
{
	struct tb pt = {0}, st = {0};
	uint64_t cur, pub, priv, h;

	cf_state_rdlock(node.state);
	cur = cf_objstore_count(cf_state_objects(node.state));
	cf_state_unlock(node.state);
	node.cfg.max_objects = (unsigned)cur + 2;
	(void)gen_aes(&alice, "lim-1", 1, 16);
	/* A pair needs two slots: refused whole. */
	tb_bytes(&pt, CKA_EC_PARAMS, "\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07",
	    10);
	tb_bool(&pt, CKA_TOKEN, 1);
	tb_bool(&st, CKA_TOKEN, 1);
	assert_int_equal(gen_pair(&alice, CKM_EC_KEY_PAIR_GEN, &pt, &st, &pub,
	    &priv), COFFER_E_FULL);
	(void)gen_aes(&alice, "lim-2", 1, 16);
	{
		struct tb t = {0};

		tb_ulong(&t, CKA_VALUE_LEN, 16);
		tb_bool(&t, CKA_TOKEN, 1);
		assert_int_equal(gen_secret(&alice, CKM_AES_KEY_GEN, &t, &h),
		    COFFER_E_FULL);
		/* Session objects do not count. */
		t = (struct tb){0};
		tb_ulong(&t, CKA_VALUE_LEN, 16);
		assert_int_equal(gen_secret(&alice, CKM_AES_KEY_GEN, &t, &h),
		    0);
		assert_true(h & CF_SESSION_HANDLE_BIT);
	}
	node.cfg.max_objects = 0;	/* default 16666 */
	(void)gen_aes(&alice, "lim-3", 1, 16);
}

/* EntObjCreate records applied directly (what followers do). */
static int
apply_create(struct cf_state *st, const char *owner, const char *label,
    const char *id, uint32_t max, uint64_t *handle)
{
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntObjCreate oc = COFFER__ENT_OBJ_CREATE__INIT;
	Coffer__ObjectRecord r = COFFER__OBJECT_RECORD__INIT, *rp = &r;
	struct tb t = {0};
	uint8_t mat[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

	tb_ulong(&t, CKA_CLASS, CKO_SECRET_KEY);
	tb_ulong(&t, CKA_KEY_TYPE, CKK_AES);
	tb_bool(&t, CKA_TOKEN, 1);
	tb_str(&t, CKA_LABEL, label);
	tb_str(&t, CKA_ID, id);
	r.owner = (char *)owner;
	r.n_attrs = t.n;
	r.attrs = t.p;
	r.material.data = mat;
	r.material.len = sizeof(mat);
	oc.n_objs = 1;
	oc.objs = &rp;
	oc.max_objects = max;
	e.body_case = COFFER__LOG_ENTRY__BODY_OBJ_CREATE;
	e.obj_create = &oc;
	return apply_e(st, &e, NULL, handle);
}

static void
test_index_100k(void **ts)
{
	struct cf_state *st;
	struct cf_attrs tmpl = {0};
	uint64_t *hs = NULL, h = 0;
	char label[32], id[32];
	size_t i, n;
	bool more;
	unsigned long long before;

	assert_int_equal(cf_state_new(NULL, &st), 0);
	make_active(st);
	assert_int_equal(ent_user_create(st, "carol", COFFER__ROLE__ROLE_CU,
	    NULL), 0);
	for (i = 0; i < 100000; i++) {
		snprintf(label, sizeof(label), "key-%zu", i);
		snprintf(id, sizeof(id), "id%zu", i);
		assert_int_equal(apply_create(st, "carol", label, id, 200000,
		    &h), 0);
	}
	/* The configured limit is enforced by the FSM too. */
	assert_int_equal(apply_create(st, "carol", "x", "y", 100000, NULL),
	    COFFER_E_FULL);
	cf_state_rdlock(st);
	assert_int_equal(cf_objstore_count(cf_state_objects(st)), 100000);
	/* By label. */
	assert_int_equal(cf_attrs_set(&tmpl, CKA_LABEL,
	    (const uint8_t *)"key-77777", 9), 0);
	before = cf_objstore_examined;
	assert_int_equal(cf_objstore_find(cf_state_objects(st), &tmpl,
	    "carol", 0, 10, &hs, &n, &more), 0);
	assert_true(cf_objstore_examined - before <= 16);
	assert_true(cf_objstore_examined - before >= 1);
	assert_int_equal(n, 1);
	free(hs);
	cf_attrs_clear(&tmpl);
	/* By id. */
	assert_int_equal(cf_attrs_set(&tmpl, CKA_ID, (const uint8_t *)"id4242",
	    6), 0);
	before = cf_objstore_examined;
	assert_int_equal(cf_objstore_find(cf_state_objects(st), &tmpl,
	    "carol", 0, 10, &hs, &n, &more), 0);
	assert_true(cf_objstore_examined - before <= 16);
	assert_int_equal(n, 1);
	free(hs);
	/* Someone else finds nothing, cheaply too. */
	before = cf_objstore_examined;
	assert_int_equal(cf_objstore_find(cf_state_objects(st), &tmpl,
	    "alice", 0, 10, &hs, &n, &more), 0);
	assert_int_equal(n, 0);
	assert_true(cf_objstore_examined - before <= 16);
	free(hs);
	cf_attrs_clear(&tmpl);
	/* A find with no key attribute pages through everything (and the
	 * hook does count what a find examines). */
	before = cf_objstore_examined;
	assert_int_equal(cf_objstore_find(cf_state_objects(st), &tmpl,
	    "carol", 0, 10000, &hs, &n, &more), 0);
	assert_true(cf_objstore_examined - before >= 100000);
	assert_int_equal(n, 10000);
	assert_true(more);
	for (i = 1; i < n; i++)
		assert_true(hs[i] > hs[i - 1]);
	free(hs);
	cf_state_unlock(st);
	cf_state_free(st);
}

static void
test_snapshot_restore(void **ts)
{
	struct cf_state *st2;
	uint8_t *snap = NULL, *s1 = NULL, *s2 = NULL;
	size_t n, l1, l2;
	uint64_t h;
	struct tb t = {0};
	struct cf_state *old;

	tb_ulong(&t, CKA_VALUE_LEN, 32);
	tb_bool(&t, CKA_TOKEN, 1);
	tb_str(&t, CKA_LABEL, "snap-hmac");
	assert_int_equal(gen_secret(&alice, CKM_GENERIC_SECRET_KEY_GEN, &t,
	    &h), 0);
	assert_int_equal(share(&alice, h, "bob", 0), 0);
	assert_int_equal(sign1(&alice, CKM_SHA256_HMAC, h, "snapshot", &s1,
	    &l1), 0);
	assert_int_equal(cf_state_snapshot(node.state, &snap, &n), 0);
	assert_int_equal(cf_state_new(NULL, &st2), 0);
	assert_int_equal(cf_state_restore(st2, snap, n), 0);
	free(snap);
	old = node.state;
	node.state = st2;
	/* Same key, same owner, same share, same handle. */
	assert_int_equal(find_label(&alice, "snap-hmac"), 1);
	assert_int_equal(find_label(&bob, "snap-hmac"), 1);
	assert_int_equal(sign1(&bob, CKM_SHA256_HMAC, h, "snapshot", &s2,
	    &l2), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(s1, s2, l1);
	free(s1);
	free(s2);
	/* New handles continue after the restored ones. */
	assert_true(gen_aes(&alice, "after-restore", 1, 16) > h);
	node.state = old;
	cf_state_free(st2);

	/* Zeroization wipes the objects. */
	assert_int_equal(cf_state_new(NULL, &st2), 0);
	assert_int_equal(cf_state_snapshot(node.state, &snap, &n), 0);
	assert_int_equal(cf_state_restore(st2, snap, n), 0);
	free(snap);
	assert_int_equal(ent_zeroize(st2, "test"), 0);
	cf_state_rdlock(st2);
	assert_int_equal(cf_objstore_count(cf_state_objects(st2)), 0);
	cf_state_unlock(st2);
	cf_state_free(st2);
}

static void
test_session_objects(void **ts)
{
	struct cf_session a3, other;
	uint64_t h, tokens_before, tokens_after;
	uint8_t *sig = NULL;
	size_t sl;

	cf_state_rdlock(node.state);
	tokens_before = cf_objstore_count(cf_state_objects(node.state));
	cf_state_unlock(node.state);
	login(&a3, "alice", COFFER__ROLE__ROLE_CU, 555);
	login(&other, "alice", COFFER__ROLE__ROLE_CU, 556);
	h = gen_aes(&a3, "sess-1", 0, 16);
	assert_true(h & CF_SESSION_HANDLE_BIT);
	cf_state_rdlock(node.state);
	tokens_after = cf_objstore_count(cf_state_objects(node.state));
	cf_state_unlock(node.state);
	assert_int_equal(tokens_before, tokens_after);	/* not replicated */
	assert_false(get_bool(&a3, h, CKA_TOKEN));
	assert_int_equal(find_label(&a3, "sess-1"), 1);
	/* Another client instance of the same user does not see it. */
	assert_int_equal(find_label(&other, "sess-1"), 0);
	assert_int_equal(get_attr(&other, h, CKA_LABEL, NULL, NULL),
	    COFFER_E_NOTFOUND);
	/* A second connection of the instance does; then the first goes. */
	{
		struct cf_session a4;

		login(&a4, "alice", COFFER__ROLE__ROLE_CU, 555);
		cf_session_destroy(&a3);
		assert_int_equal(find_label(&a4, "sess-1"), 1);
		assert_int_equal(sign1(&a4, CKM_AES_CMAC, h, "x", &sig, &sl),
		    0);
		free(sig);
		cf_session_destroy(&a4);
	}
	/* The instance's last session is gone: so is the object. */
	login(&a3, "alice", COFFER__ROLE__ROLE_CU, 555);
	assert_int_equal(find_label(&a3, "sess-1"), 0);
	assert_int_equal(get_attr(&a3, h, CKA_LABEL, NULL, NULL),
	    COFFER_E_NOTFOUND);
	cf_session_destroy(&a3);
	cf_session_destroy(&other);
}

/* RSA-OAEP(SHA-256) encryption of value under the node's public key. */
static size_t
oaep_wrap(EVP_PKEY *pub, const uint8_t *v, size_t n, uint8_t *out)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pub, NULL);
	size_t ol = 512;

	assert_non_null(c);
	assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c,
	    RSA_PKCS1_OAEP_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_encrypt(c, out, &ol, v, n), 1);
	EVP_PKEY_CTX_free(c);
	return ol;
}

static int
unwrap_oaep(struct cf_session *s, uint64_t rsa_priv, const uint8_t *w,
    size_t wl, uint64_t kt, uint64_t *h, struct tb *extra)
{
	Coffer__Request rq = COFFER__REQUEST__INIT;
	Coffer__UnwrapKeyReq u = COFFER__UNWRAP_KEY_REQ__INIT;
	Coffer__Mechanism m;
	Coffer__OaepParams o = COFFER__OAEP_PARAMS__INIT;
	Coffer__Response *r;
	struct tb t = {0};
	size_t i;
	int rc;

	mech_none(&m, CKM_RSA_PKCS_OAEP);
	o.hash_alg = CKM_SHA256;
	o.mgf = CKG_MGF1_SHA256;
	o.source = CKZ_DATA_SPECIFIED;
	m.params_case = COFFER__MECHANISM__PARAMS_OAEP;
	m.oaep = &o;
	tb_ulong(&t, CKA_CLASS, CKO_SECRET_KEY);
	tb_ulong(&t, CKA_KEY_TYPE, kt);
	tb_bool(&t, CKA_TOKEN, 1);
	for (i = 0; extra != NULL && i < extra->n; i++)
		tb_bytes(&t, extra->a[i].type, extra->a[i].value.data,
		    extra->a[i].value.len);
	u.mech = &m;
	u.unwrapping_key = rsa_priv;
	u.wrapped.data = (uint8_t *)w;
	u.wrapped.len = wl;
	u.n_tmpl = t.n;
	u.tmpl = t.p;
	rq.body_case = COFFER__REQUEST__BODY_UNWRAP_KEY;
	rq.unwrap_key = &u;
	r = call(s, &rq);
	rc = r->rc;
	if (rc == 0)
		*h = r->unwrap_key->handle;
	coffer__response__free_unpacked(r, NULL);
	return rc;
}

static int
wrap(struct cf_session *s, Coffer__Mechanism *m, uint64_t wk, uint64_t k,
    uint8_t *out, size_t *out_len)
{
	Coffer__Request rq = COFFER__REQUEST__INIT;
	Coffer__WrapKeyReq w = COFFER__WRAP_KEY_REQ__INIT;
	Coffer__Response *r;
	int rc;

	w.mech = m;
	w.wrapping_key = wk;
	w.key = k;
	rq.body_case = COFFER__REQUEST__BODY_WRAP_KEY;
	rq.wrap_key = &w;
	r = call(s, &rq);
	rc = r->rc;
	if (rc == 0 && out != NULL) {
		memcpy(out, r->wrap_key->data.data, r->wrap_key->data.len);
		*out_len = r->wrap_key->data.len;
	}
	coffer__response__free_unpacked(r, NULL);
	return rc;
}

static void
test_crypto(void **ts)
{
	struct tb pt = {0}, st = {0}, t;
	uint64_t rpub, rpriv, epub, epriv, kaes, kwrap, khmac, kns;
	uint8_t K[32], K2[16], H[20], w[1024], *sig = NULL, *out = NULL;
	uint8_t iv[16], buf[4096], big[3000], ref[4096];
	size_t wl, sl, ol, ivl, n;
	int len, tl;
	EVP_PKEY *pk;
	EVP_MD_CTX *md;
	EVP_CIPHER_CTX *cc;
	Coffer__Mechanism m;
	Coffer__GcmParams g = COFFER__GCM_PARAMS__INIT;
	static const char msg[] = "the quick brown fox";

	/* RSA-2048 pair; SHA256_RSA_PKCS verified by OpenSSL. */
	tb_ulong(&pt, CKA_MODULUS_BITS, 2048);
	tb_bool(&pt, CKA_TOKEN, 1);
	tb_str(&pt, CKA_LABEL, "rsa");
	tb_bool(&st, CKA_TOKEN, 1);
	tb_str(&st, CKA_LABEL, "rsa");
	assert_int_equal(gen_pair(&alice, CKM_RSA_PKCS_KEY_PAIR_GEN, &pt, &st,
	    &rpub, &rpriv), 0);
	assert_int_equal(get_ulong(&alice, rpub, CKA_MODULUS_BITS), 2048);
	assert_int_equal(get_attr(&alice, rpriv, CKA_PRIVATE_EXPONENT, NULL,
	    NULL), COFFER_E_ATTR_SENSITIVE);
	pk = export_pub(&alice, rpub);
	assert_int_equal(sign1(&alice, CKM_SHA256_RSA_PKCS, rpriv, msg, &sig,
	    &sl), 0);
	md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
	    pk), 1);
	assert_int_equal(EVP_DigestVerify(md, sig, sl, (const uint8_t *)msg,
	    strlen(msg)), 1);
	EVP_MD_CTX_free(md);
	/* The node verifies its own, multi-part, and refuses a bad one. */
	mech_none(&m, CKM_SHA256_RSA_PKCS);
	assert_int_equal(multi(&alice, COFFER__CRYPTO_KIND__CRYPTO_VERIFY, &m,
	    rpub, (const uint8_t *)msg, strlen(msg), 5, sig, sl, NULL, NULL),
	    0);
	sig[10] ^= 1;
	assert_int_equal(one_shot(&alice, COFFER__CRYPTO_KIND__CRYPTO_VERIFY,
	    &m, rpub, msg, strlen(msg), sig, sl, NULL, NULL, NULL, NULL),
	    COFFER_E_SIGNATURE);
	free(sig);
	/* Wrong key for the mechanism / usage off. */
	assert_int_equal(sign1(&alice, CKM_SHA256_RSA_PKCS, rpub, msg, NULL,
	    NULL), COFFER_E_KEY_FUNCTION);
	/* Multi-part sign, verified by OpenSSL. */
	n = sizeof(buf);
	assert_int_equal(multi(&alice, COFFER__CRYPTO_KIND__CRYPTO_SIGN, &m,
	    rpriv, (const uint8_t *)msg, strlen(msg), 3, NULL, 0, buf, &n), 0);
	md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
	    pk), 1);
	assert_int_equal(EVP_DigestVerify(md, buf, n, (const uint8_t *)msg,
	    strlen(msg)), 1);
	EVP_MD_CTX_free(md);

	/* ECDSA P-256 (r||s), checked by OpenSSL after DER encoding. */
	pt = (struct tb){0};
	st = (struct tb){0};
	tb_bytes(&pt, CKA_EC_PARAMS,
	    "\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07", 10);
	assert_int_equal(gen_pair(&alice, CKM_EC_KEY_PAIR_GEN, &pt, &st,
	    &epub, &epriv), 0);
	assert_true(epub & CF_SESSION_HANDLE_BIT);
	{
		EVP_PKEY *ek = export_pub(&alice, epub);
		ECDSA_SIG *es = ECDSA_SIG_new();
		uint8_t *der = NULL;
		int dl;

		assert_int_equal(sign1(&alice, CKM_ECDSA_SHA256, epriv, msg,
		    &sig, &sl), 0);
		assert_int_equal(sl, 64);
		ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL),
		    BN_bin2bn(sig + 32, 32, NULL));
		dl = i2d_ECDSA_SIG(es, &der);
		md = EVP_MD_CTX_new();
		assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(),
		    NULL, ek), 1);
		assert_int_equal(EVP_DigestVerify(md, der, (size_t)dl,
		    (const uint8_t *)msg, strlen(msg)), 1);
		EVP_MD_CTX_free(md);
		OPENSSL_free(der);
		ECDSA_SIG_free(es);
		EVP_PKEY_free(ek);
		free(sig);
	}

	/* Import known secrets by unwrapping them (RSA-OAEP). */
	assert_int_equal(RAND_bytes(K, sizeof(K)), 1);
	assert_int_equal(RAND_bytes(K2, sizeof(K2)), 1);
	assert_int_equal(RAND_bytes(H, sizeof(H)), 1);
	wl = oaep_wrap(pk, K, sizeof(K), w);
	assert_int_equal(unwrap_oaep(&alice, rpriv, w, wl, CKK_AES, &kaes,
	    NULL), 0);
	assert_false(get_bool(&alice, kaes, CKA_ALWAYS_SENSITIVE));
	assert_false(get_bool(&alice, kaes, CKA_NEVER_EXTRACTABLE));
	assert_false(get_bool(&alice, kaes, CKA_LOCAL));
	assert_int_equal(get_ulong(&alice, kaes, CKA_VALUE_LEN), 32);
	wl = oaep_wrap(pk, K2, sizeof(K2), w);
	assert_int_equal(unwrap_oaep(&alice, rpriv, w, wl, CKK_AES, &kwrap,
	    NULL), 0);
	wl = oaep_wrap(pk, H, sizeof(H), w);
	assert_int_equal(unwrap_oaep(&alice, rpriv, w, wl, CKK_GENERIC_SECRET,
	    &khmac, NULL), 0);
	w[5] ^= 1;
	assert_int_equal(unwrap_oaep(&alice, rpriv, w, wl, CKK_GENERIC_SECRET,
	    &kns, NULL), COFFER_E_WRAPPED_KEY);

	/* HMAC-SHA1 matches OpenSSL. */
	assert_int_equal(sign1(&alice, CKM_SHA_1_HMAC, khmac, msg, &sig, &sl),
	    0);
	{
		uint8_t mac[20];
		size_t ml = sizeof(mac);
		EVP_PKEY *hk = EVP_PKEY_new_raw_private_key(EVP_PKEY_HMAC,
		    NULL, H, sizeof(H));

		md = EVP_MD_CTX_new();
		assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha1(), NULL,
		    hk), 1);
		assert_int_equal(EVP_DigestSign(md, mac, &ml,
		    (const uint8_t *)msg, strlen(msg)), 1);
		assert_int_equal(sl, 20);
		assert_memory_equal(sig, mac, 20);
		EVP_MD_CTX_free(md);
		EVP_PKEY_free(hk);
		free(sig);
	}

	/* AES-GCM with a node-made IV: decrypted by OpenSSL. */
	mech_none(&m, CKM_AES_GCM);
	g.tag_bits = 128;
	g.aad.data = (uint8_t *)"aad";
	g.aad.len = 3;
	m.params_case = COFFER__MECHANISM__PARAMS_GCM;
	m.gcm = &g;
	assert_int_equal(one_shot(&alice, COFFER__CRYPTO_KIND__CRYPTO_ENCRYPT,
	    &m, kaes, msg, strlen(msg), NULL, 0, &out, &ol, iv, &ivl), 0);
	assert_int_equal(ivl, 12);
	assert_int_equal(ol, strlen(msg) + 16);
	cc = EVP_CIPHER_CTX_new();
	assert_int_equal(EVP_DecryptInit_ex(cc, EVP_aes_256_gcm(), NULL, K,
	    iv), 1);
	assert_int_equal(EVP_DecryptUpdate(cc, NULL, &len,
	    (const uint8_t *)"aad", 3), 1);
	assert_int_equal(EVP_DecryptUpdate(cc, buf, &len, out, (int)ol - 16),
	    1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_GCM_SET_TAG, 16,
	    out + ol - 16), 1);
	assert_int_equal(EVP_DecryptFinal_ex(cc, buf + len, &tl), 1);
	assert_memory_equal(buf, msg, strlen(msg));
	EVP_CIPHER_CTX_free(cc);
	/* Node decrypts with the IV; a truncated ciphertext fails. */
	g.iv.data = iv;
	g.iv.len = 12;
	{
		uint8_t *pt2 = NULL;
		size_t pl;

		assert_int_equal(one_shot(&alice,
		    COFFER__CRYPTO_KIND__CRYPTO_DECRYPT, &m, kaes, out, ol,
		    NULL, 0, &pt2, &pl, NULL, NULL), 0);
		assert_int_equal(pl, strlen(msg));
		assert_memory_equal(pt2, msg, pl);
		free(pt2);
		assert_int_equal(one_shot(&alice,
		    COFFER__CRYPTO_KIND__CRYPTO_DECRYPT, &m, kaes, out, ol - 1,
		    NULL, 0, NULL, NULL, NULL, NULL), COFFER_E_ENCRYPTED_DATA);
	}
	free(out);
	g.tag_bits = 100;
	assert_int_equal(one_shot(&alice, COFFER__CRYPTO_KIND__CRYPTO_ENCRYPT,
	    &m, kaes, msg, strlen(msg), NULL, 0, NULL, NULL, NULL, NULL),
	    COFFER_E_MECH_PARAM);

	/* AES-CBC-PAD multi-part over 3000 bytes matches OpenSSL. */
	assert_int_equal(RAND_bytes(big, sizeof(big)), 1);
	memset(iv, 0x42, 16);
	mech_none(&m, CKM_AES_CBC_PAD);
	m.params_case = COFFER__MECHANISM__PARAMS_IV;
	m.iv.data = iv;
	m.iv.len = 16;
	n = sizeof(buf);
	assert_int_equal(multi(&alice, COFFER__CRYPTO_KIND__CRYPTO_ENCRYPT, &m,
	    kaes, big, sizeof(big), 777, NULL, 0, buf, &n), 0);
	cc = EVP_CIPHER_CTX_new();
	assert_int_equal(EVP_EncryptInit_ex(cc, EVP_aes_256_cbc(), NULL, K,
	    iv), 1);
	assert_int_equal(EVP_EncryptUpdate(cc, ref, &len, big, sizeof(big)),
	    1);
	assert_int_equal(EVP_EncryptFinal_ex(cc, ref + len, &tl), 1);
	EVP_CIPHER_CTX_free(cc);
	assert_int_equal(n, (size_t)(len + tl));
	assert_memory_equal(buf, ref, n);
	/* Plain CBC needs whole blocks. */
	mech_none(&m, CKM_AES_CBC);
	m.params_case = COFFER__MECHANISM__PARAMS_IV;
	m.iv.data = iv;
	m.iv.len = 16;
	assert_int_equal(one_shot(&alice, COFFER__CRYPTO_KIND__CRYPTO_ENCRYPT,
	    &m, kaes, big, 17, NULL, 0, NULL, NULL, NULL, NULL),
	    COFFER_E_DATA_LEN);
	/* CBC without an IV is a parameter error. */
	mech_none(&m, CKM_AES_CBC);
	assert_int_equal(one_shot(&alice, COFFER__CRYPTO_KIND__CRYPTO_ENCRYPT,
	    &m, kaes, big, 16, NULL, 0, NULL, NULL, NULL, NULL),
	    COFFER_E_MECH_PARAM);
	/* An AES key with an RSA mechanism. */
	mech_none(&m, CKM_RSA_PKCS);
	assert_int_equal(one_shot(&alice, COFFER__CRYPTO_KIND__CRYPTO_ENCRYPT,
	    &m, kaes, big, 16, NULL, 0, NULL, NULL, NULL, NULL),
	    COFFER_E_KEY_TYPE);

	/* Digest SHA-256 (no key), multi-part. */
	mech_none(&m, CKM_SHA256);
	n = sizeof(buf);
	assert_int_equal(multi(&alice, COFFER__CRYPTO_KIND__CRYPTO_DIGEST, &m,
	    0, big, sizeof(big), 1000, NULL, 0, buf, &n), 0);
	{
		uint8_t d[32];
		unsigned dl = 0;

		assert_int_equal(EVP_Digest(big, sizeof(big), d, &dl,
		    EVP_sha256(), NULL), 1);
		assert_int_equal(n, 32);
		assert_memory_equal(buf, d, 32);
	}

	/* Wrap K with K2 (RFC 5649) and unwrap it with OpenSSL. */
	mech_none(&m, CKM_AES_KEY_WRAP_PAD);
	wl = sizeof(w);
	assert_int_equal(wrap(&alice, &m, kwrap, kaes, w, &wl), 0);
	cc = EVP_CIPHER_CTX_new();
	EVP_CIPHER_CTX_set_flags(cc, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	assert_int_equal(EVP_DecryptInit_ex(cc, EVP_aes_128_wrap_pad(), NULL,
	    K2, NULL), 1);
	assert_int_equal(EVP_DecryptUpdate(cc, buf, &len, w, (int)wl), 1);
	assert_int_equal(len, 32);
	assert_memory_equal(buf, K, 32);
	EVP_CIPHER_CTX_free(cc);
	/* Not extractable: no way out. */
	t = (struct tb){0};
	tb_bool(&t, CKA_EXTRACTABLE, 0);
	assert_int_equal(set_attrs(&alice, kaes, &t), 0);
	assert_int_equal(wrap(&alice, &m, kwrap, kaes, w, &wl),
	    COFFER_E_NOT_EXTRACTABLE);
	{
		Coffer__Request rq = COFFER__REQUEST__INIT;
		Coffer__ObjCopyReq cp = COFFER__OBJ_COPY_REQ__INIT;
		struct tb ct = {0};

		/* A copy cannot make it extractable again. */
		tb_bool(&ct, CKA_EXTRACTABLE, 1);
		cp.handle = kaes;
		cp.n_tmpl = ct.n;
		cp.tmpl = ct.p;
		rq.body_case = COFFER__REQUEST__BODY_OBJ_COPY;
		rq.obj_copy = &cp;
		assert_int_equal(rc_of(call(&alice, &rq)),
		    COFFER_E_ATTR_READONLY);
	}
	/* Generated non-extractable: never-extractable. */
	t = (struct tb){0};
	tb_ulong(&t, CKA_VALUE_LEN, 16);
	tb_bool(&t, CKA_EXTRACTABLE, 0);
	assert_int_equal(gen_secret(&alice, CKM_AES_KEY_GEN, &t, &kns), 0);
	assert_true(get_bool(&alice, kns, CKA_NEVER_EXTRACTABLE));
	assert_int_equal(wrap(&alice, &m, kwrap, kns, w, &wl),
	    COFFER_E_NOT_EXTRACTABLE);
	/* Wrap-with-trusted needs a trusted wrapping key. */
	t = (struct tb){0};
	tb_ulong(&t, CKA_VALUE_LEN, 16);
	tb_bool(&t, CKA_WRAP_WITH_TRUSTED, 1);
	assert_int_equal(gen_secret(&alice, CKM_AES_KEY_GEN, &t, &kns), 0);
	assert_int_equal(wrap(&alice, &m, kwrap, kns, w, &wl),
	    COFFER_E_WRAPPING_KEY);
	t = (struct tb){0};
	tb_bool(&t, CKA_TRUSTED, 1);
	assert_int_equal(set_attrs(&admin, kwrap, &t), 0);
	wl = sizeof(w);
	assert_int_equal(wrap(&alice, &m, kwrap, kns, w, &wl), 0);
	/* A shared user may use but not wrap. */
	assert_int_equal(share(&alice, khmac, "bob", 0), 0);
	assert_int_equal(share(&alice, kwrap, "bob", 0), 0);
	assert_int_equal(wrap(&bob, &m, kwrap, khmac, w, &wl), COFFER_E_PERM);

	/* Derive (SP 800-108 counter, HMAC-SHA256) needs CKA_DERIVE. */
	{
		Coffer__Request rq = COFFER__REQUEST__INIT;
		Coffer__DeriveKeyReq d = COFFER__DERIVE_KEY_REQ__INIT;
		Coffer__Sp800108Params kp = COFFER__SP800108_PARAMS__INIT;
		Coffer__PrfDataParam it = COFFER__PRF_DATA_PARAM__INIT;
		Coffer__PrfDataParam ba = COFFER__PRF_DATA_PARAM__INIT;
		Coffer__PrfDataParam *dp[2] = { &it, &ba };
		uint8_t fmt[9] = { 0, 0, 0, 0, 0, 0, 0, 0, 32 };
		struct tb dt = {0};

		it.type = CK_SP800_108_ITERATION_VARIABLE;
		it.value.data = fmt;
		it.value.len = 9;
		ba.type = CK_SP800_108_BYTE_ARRAY;
		ba.value.data = (uint8_t *)"label";
		ba.value.len = 5;
		kp.prf_type = CKM_SHA256_HMAC;
		kp.n_data = 2;
		kp.data = dp;
		mech_none(&m, CKM_SP800_108_COUNTER_KDF);
		m.params_case = COFFER__MECHANISM__PARAMS_KBKDF;
		m.kbkdf = &kp;
		tb_ulong(&dt, CKA_KEY_TYPE, CKK_AES);
		tb_ulong(&dt, CKA_VALUE_LEN, 16);
		d.mech = &m;
		d.base_key = khmac;
		d.n_tmpl = dt.n;
		d.tmpl = dt.p;
		rq.body_case = COFFER__REQUEST__BODY_DERIVE_KEY;
		rq.derive_key = &d;
		assert_int_equal(rc_of(call(&alice, &rq)),
		    COFFER_E_KEY_FUNCTION);
		t = (struct tb){0};
		tb_bool(&t, CKA_DERIVE, 1);
		assert_int_equal(set_attrs(&alice, khmac, &t), 0);
		assert_int_equal(rc_of(call(&alice, &rq)), 0);
	}

	/* Random bytes and the mechanism list. */
	{
		Coffer__Request rq = COFFER__REQUEST__INIT;
		Coffer__RandomReq rr = COFFER__RANDOM_REQ__INIT;
		Coffer__MechListReq ml = COFFER__MECH_LIST_REQ__INIT;
		Coffer__Response *r;

		rr.len = 48;
		rq.body_case = COFFER__REQUEST__BODY_RANDOM;
		rq.random = &rr;
		r = call(&audi, &rq);
		assert_int_equal(r->rc, 0);
		assert_int_equal(r->random->data.len, 48);
		coffer__response__free_unpacked(r, NULL);
		rr.len = 1u << 30;
		assert_int_equal(rc_of(call(&alice, &rq)), COFFER_E_TOOBIG);
		rq = (Coffer__Request)COFFER__REQUEST__INIT;
		rq.body_case = COFFER__REQUEST__BODY_MECH_LIST;
		rq.mech_list = &ml;
		r = call(&alice, &rq);
		assert_int_equal(r->rc, 0);
		assert_true(r->mech_list->n_mechs > 40);
		coffer__response__free_unpacked(r, NULL);
	}
	EVP_PKEY_free(pk);
}

static void
test_ops_lifecycle(void **ts)
{
	Coffer__Request rq = COFFER__REQUEST__INIT;
	Coffer__CryptoInitReq ci = COFFER__CRYPTO_INIT_REQ__INIT;
	Coffer__CryptoCancelReq cc = COFFER__CRYPTO_CANCEL_REQ__INIT;
	Coffer__CryptoFinalReq cf = COFFER__CRYPTO_FINAL_REQ__INIT;
	Coffer__Mechanism m;
	Coffer__Response *r;
	uint64_t op;

	mech_none(&m, CKM_SHA256);
	ci.kind = COFFER__CRYPTO_KIND__CRYPTO_DIGEST;
	ci.mech = &m;
	rq.body_case = COFFER__REQUEST__BODY_CRYPTO_INIT;
	rq.crypto_init = &ci;
	r = call(&alice, &rq);
	assert_int_equal(r->rc, 0);
	op = r->crypto_init->op;
	coffer__response__free_unpacked(r, NULL);
	/* Another instance cannot touch it; the same instance can. */
	cc.op = op;
	rq = (Coffer__Request)COFFER__REQUEST__INIT;
	rq.body_case = COFFER__REQUEST__BODY_CRYPTO_CANCEL;
	rq.crypto_cancel = &cc;
	assert_int_equal(rc_of(call(&bob, &rq)), COFFER_E_OP_NOT_INIT);
	assert_int_equal(rc_of(call(&alice2, &rq)), 0);
	cf.op = op;
	rq = (Coffer__Request)COFFER__REQUEST__INIT;
	rq.body_case = COFFER__REQUEST__BODY_CRYPTO_FINAL;
	rq.crypto_final = &cf;
	assert_int_equal(rc_of(call(&alice, &rq)), COFFER_E_OP_NOT_INIT);
}

/* --- C_CreateObject: public keys by components, certificates, refusals ---- */

static int
create(struct cf_session *s, struct tb *t, uint64_t *h)
{
	Coffer__Request rq = COFFER__REQUEST__INIT;
	Coffer__ObjCreateReq c = COFFER__OBJ_CREATE_REQ__INIT;
	Coffer__Response *r;
	int rc;

	c.n_tmpl = t->n;
	c.tmpl = t->p;
	rq.body_case = COFFER__REQUEST__BODY_OBJ_CREATE;
	rq.obj_create = &c;
	r = call(s, &rq);
	rc = r->rc;
	*h = rc == 0 ? r->obj_create->handle : 0;
	coffer__response__free_unpacked(r, NULL);
	return rc;
}

/* The public key of object h equals pk (compared by OpenSSL). */
static void
assert_same_pub(struct cf_session *s, uint64_t h, EVP_PKEY *pk)
{
	EVP_PKEY *got = export_pub(s, h);

	assert_int_equal(EVP_PKEY_eq(got, pk), 1);
	EVP_PKEY_free(got);
}

static size_t
bn_param(EVP_PKEY *pk, const char *name, uint8_t *out, size_t max)
{
	BIGNUM *bn = NULL;
	int n;

	assert_int_equal(EVP_PKEY_get_bn_param(pk, name, &bn), 1);
	n = BN_num_bytes(bn);
	assert_true(n > 0 && (size_t)n <= max);
	BN_bn2bin(bn, out);
	BN_free(bn);
	return (size_t)n;
}

static void
test_create_import(void **ts)
{
	/* DER OIDs of P-256 and Ed25519 (RFC 5480, RFC 8410). */
	static const uint8_t p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
	    0x3d, 0x03, 0x01, 0x07 };
	static const uint8_t ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
	uint8_t n[512], e[8], pt[70], der[72], buf[1024];
	size_t nl, el, ptl, bl;
	struct tb t;
	uint64_t h, other;
	EVP_PKEY *rsa, *ec, *ed;

	/* Secret and private keys by value: refused, as a template
	 * inconsistency (never "unknown attribute"). */
	memset(n, 0x5a, 32);
	t = (struct tb){0};
	tb_ulong(&t, CKA_CLASS, CKO_SECRET_KEY);
	tb_ulong(&t, CKA_KEY_TYPE, CKK_AES);
	tb_bytes(&t, CKA_VALUE, n, 32);
	assert_int_equal(create(&alice, &t, &h), COFFER_E_TEMPLATE);
	t = (struct tb){0};
	tb_ulong(&t, CKA_CLASS, CKO_PRIVATE_KEY);
	tb_ulong(&t, CKA_KEY_TYPE, CKK_EC);
	tb_bytes(&t, CKA_EC_PARAMS, p256, sizeof(p256));
	tb_bytes(&t, CKA_VALUE, n, 32);
	assert_int_equal(create(&alice, &t, &h), COFFER_E_TEMPLATE);
	t = (struct tb){0};
	tb_ulong(&t, CKA_CLASS, CKO_SECRET_KEY);
	tb_ulong(&t, CKA_KEY_TYPE, CKK_GENERIC_SECRET);
	assert_int_equal(create(&alice, &t, &h), COFFER_E_TEMPLATE);

	/* RSA public key from CKA_MODULUS + CKA_PUBLIC_EXPONENT. */
	rsa = EVP_RSA_gen(2048);
	assert_non_null(rsa);
	nl = bn_param(rsa, "n", n, sizeof(n));
	el = bn_param(rsa, "e", e, sizeof(e));
	t = (struct tb){0};
	tb_ulong(&t, CKA_CLASS, CKO_PUBLIC_KEY);
	tb_ulong(&t, CKA_KEY_TYPE, CKK_RSA);
	tb_bytes(&t, CKA_MODULUS, n, nl);
	tb_bytes(&t, CKA_PUBLIC_EXPONENT, e, el);
	tb_bool(&t, CKA_TOKEN, 1);
	tb_str(&t, CKA_LABEL, "imp-rsa");
	assert_int_equal(create(&alice, &t, &h), 0);
	assert_same_pub(&alice, h, rsa);
	assert_int_equal(get_ulong(&alice, h, CKA_MODULUS_BITS), 2048);
	assert_int_equal(get_bool(&alice, h, CKA_LOCAL), 0);
	bl = sizeof(buf);
	assert_int_equal(get_attr(&alice, h, CKA_MODULUS, buf, &bl), 0);
	assert_int_equal(bl, nl);
	assert_memory_equal(buf, n, nl);
	/* An even modulus or a missing exponent is no RSA key. */
	t.a[2].value.data[nl - 1] &= 0xfe;
	assert_int_equal(create(&alice, &t, &other), COFFER_E_ATTRIBUTE);
	t.a[2].value.data[nl - 1] |= 1;
	t.n = 3;
	assert_int_equal(create(&alice, &t, &other), COFFER_E_TEMPLATE);
	EVP_PKEY_free(rsa);

	/* EC P-256: EC_POINT as a DER OCTET STRING and raw. */
	ec = EVP_EC_gen("P-256");
	assert_non_null(ec);
	assert_int_equal(EVP_PKEY_get_octet_string_param(ec,
	    "encoded-pub-key", pt, sizeof(pt), &ptl), 1);
	assert_int_equal(ptl, 65);
	der[0] = 0x04;
	der[1] = (uint8_t)ptl;
	memcpy(der + 2, pt, ptl);
	t = (struct tb){0};
	tb_ulong(&t, CKA_CLASS, CKO_PUBLIC_KEY);
	tb_ulong(&t, CKA_KEY_TYPE, CKK_EC);
	tb_bytes(&t, CKA_EC_PARAMS, p256, sizeof(p256));
	tb_bytes(&t, CKA_EC_POINT, der, ptl + 2);
	assert_int_equal(create(&alice, &t, &h), 0);
	assert_same_pub(&alice, h, ec);
	bl = sizeof(buf);
	assert_int_equal(get_attr(&alice, h, CKA_EC_POINT, buf, &bl), 0);
	assert_int_equal(bl, ptl + 2);
	assert_memory_equal(buf, der, ptl + 2);
	t.a[3].value.data = pt;
	t.a[3].value.len = ptl;
	assert_int_equal(create(&alice, &t, &h), 0);
	assert_same_pub(&alice, h, ec);
	/* A point off the curve. */
	pt[ptl - 1] ^= 1;
	assert_int_equal(create(&alice, &t, &h), COFFER_E_ATTRIBUTE);
	pt[ptl - 1] ^= 1;
	/*
	 * A valid point of a curve Coffer does not take, one with a
	 * cofactor (sect233k1, h = 4; the import checks points without
	 * the order multiplication, which only a cofactor-1 curve allows).
	 */
	{
		EVP_PKEY *k233 = EVP_EC_gen("sect233k1");
		uint8_t oid[16], p233[80], *op = oid;
		size_t l233 = 0;
		int ol;

		assert_non_null(k233);
		assert_int_equal(EVP_PKEY_get_octet_string_param(k233,
		    "encoded-pub-key", p233, sizeof(p233), &l233), 1);
		ol = i2d_ASN1_OBJECT(OBJ_nid2obj(NID_sect233k1), &op);
		assert_true(ol > 0 && (size_t)ol <= sizeof(oid));
		t.a[2].value.data = oid;
		t.a[2].value.len = (size_t)ol;
		t.a[3].value.data = p233;
		t.a[3].value.len = l233;
		assert_int_equal(create(&alice, &t, &other),
		    COFFER_E_ATTRIBUTE);
		t.a[2].value.data = (uint8_t *)p256;
		t.a[2].value.len = sizeof(p256);
		t.a[3].value.data = pt;
		t.a[3].value.len = ptl;
		assert_int_equal(create(&alice, &t, &h), 0);
		EVP_PKEY_free(k233);
	}
	/* CKA_KEY_TYPE must match. */
	t.b[1][7] = (uint8_t)CKK_EC_EDWARDS;
	assert_int_equal(create(&alice, &t, &h), COFFER_E_TEMPLATE);
	EVP_PKEY_free(ec);

	/* Ed25519 (CKK_EC_EDWARDS). */
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(ed);
	ptl = sizeof(pt);
	assert_int_equal(EVP_PKEY_get_raw_public_key(ed, pt, &ptl), 1);
	assert_int_equal(ptl, 32);
	der[0] = 0x04;
	der[1] = 32;
	memcpy(der + 2, pt, 32);
	t = (struct tb){0};
	tb_ulong(&t, CKA_CLASS, CKO_PUBLIC_KEY);
	tb_ulong(&t, CKA_KEY_TYPE, CKK_EC_EDWARDS);
	tb_bytes(&t, CKA_EC_PARAMS, ed25519, sizeof(ed25519));
	tb_bytes(&t, CKA_EC_POINT, der, 34);
	assert_int_equal(create(&alice, &t, &h), 0);
	assert_same_pub(&alice, h, ed);
	EVP_PKEY_free(ed);
}

static void
test_certificates(void **ts)
{
	uint8_t *der = NULL, *subj = NULL, *ser = NULL, buf[4096], md[20];
	int dl, sl, snl;
	unsigned int mdl = 0;
	size_t bl, cnt;
	struct tb t, f;
	uint64_t h, h2;
	EVP_PKEY *pk;
	X509 *x;
	X509_NAME *nm;

	/* A self-signed certificate made by OpenSSL. */
	pk = EVP_EC_gen("P-256");
	assert_non_null(pk);
	x = X509_new();
	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 4711), 1);
	nm = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	    (const unsigned char *)"coffer cert test", -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, nm), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_int_equal(X509_set_pubkey(x, pk), 1);
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
	assert_true((dl = i2d_X509(x, &der)) > 0);
	assert_true((sl = i2d_X509_NAME(X509_get_subject_name(x), &subj)) > 0);
	assert_true((snl = i2d_ASN1_INTEGER(X509_get_serialNumber(x),
	    &ser)) > 0);
	assert_int_equal(EVP_Digest(der, (size_t)dl, md, &mdl, EVP_sha1(),
	    NULL), 1);

	/* Token object (goes through the log entry and apply); SUBJECT,
	 * ISSUER, SERIAL_NUMBER and CHECK_VALUE come from the value. */
	t = (struct tb){0};
	tb_ulong(&t, CKA_CLASS, CKO_CERTIFICATE);
	tb_ulong(&t, CKA_CERTIFICATE_TYPE, CKC_X_509);
	tb_bytes(&t, CKA_VALUE, der, (size_t)dl);
	tb_bool(&t, CKA_TOKEN, 1);
	tb_str(&t, CKA_LABEL, "cert-1");
	tb_bool(&t, CKA_TRUSTED, 0);	/* false may be given */
	assert_int_equal(create(&alice, &t, &h), 0);
	assert_true((h & CF_SESSION_HANDLE_BIT) == 0);
	bl = sizeof(buf);
	assert_int_equal(get_attr(&alice, h, CKA_VALUE, buf, &bl), 0);
	assert_int_equal(bl, (size_t)dl);
	assert_memory_equal(buf, der, bl);
	bl = sizeof(buf);
	assert_int_equal(get_attr(&alice, h, CKA_SUBJECT, buf, &bl), 0);
	assert_int_equal(bl, (size_t)sl);
	assert_memory_equal(buf, subj, bl);
	bl = sizeof(buf);
	assert_int_equal(get_attr(&alice, h, CKA_ISSUER, buf, &bl), 0);
	assert_int_equal(bl, (size_t)sl);
	assert_memory_equal(buf, subj, bl);
	bl = sizeof(buf);
	assert_int_equal(get_attr(&alice, h, CKA_SERIAL_NUMBER, buf, &bl), 0);
	assert_int_equal(bl, (size_t)snl);
	assert_memory_equal(buf, ser, bl);
	bl = sizeof(buf);
	assert_int_equal(get_attr(&alice, h, CKA_CHECK_VALUE, buf, &bl), 0);
	assert_int_equal(bl, 3);
	assert_memory_equal(buf, md, 3);
	assert_same_pub(&alice, h, pk);
	assert_int_equal(get_bool(&alice, h, CKA_PRIVATE), 0);
	assert_int_equal(get_bool(&alice, h, CKA_TRUSTED), 0);
	assert_int_equal(get_ulong(&alice, h, CKA_CERTIFICATE_TYPE),
	    CKC_X_509);
	assert_int_equal(get_attr(&alice, h, CKA_KEY_TYPE, NULL, NULL),
	    COFFER_E_ATTRIBUTE);
	/* Found by class; invisible to another user. */
	f = (struct tb){0};
	tb_ulong(&f, CKA_CLASS, CKO_CERTIFICATE);
	assert_int_equal(find(&alice, &f, &cnt, &h2), 0);
	assert_int_equal(cnt, 1);
	assert_int_equal(h2, h);
	assert_int_equal(find(&bob, &f, &cnt, NULL), 0);
	assert_int_equal(cnt, 0);
	/* ID, ISSUER, SERIAL_NUMBER, LABEL change; the value does not;
	 * CKA_TRUSTED is the CO's. */
	f = (struct tb){0};
	tb_str(&f, CKA_ID, "kid");
	tb_str(&f, CKA_LABEL, "cert-2");
	assert_int_equal(set_attrs(&alice, h, &f), 0);
	assert_int_equal(find_label(&alice, "cert-2"), 1);
	f = (struct tb){0};
	tb_bytes(&f, CKA_VALUE, der, 10);
	assert_int_equal(set_attrs(&alice, h, &f), COFFER_E_ATTR_READONLY);
	f = (struct tb){0};
	tb_bool(&f, CKA_TRUSTED, 1);
	assert_int_equal(set_attrs(&alice, h, &f), COFFER_E_ATTR_READONLY);
	assert_int_equal(set_attrs(&admin, h, &f), 0);
	assert_int_equal(get_bool(&alice, h, CKA_TRUSTED), 1);
	/* Destroyed like any object. */
	assert_int_equal(destroy(&alice, h), 0);

	/* Refusals: TRUSTED=true by a CU, a wrong check value, no type, an
	 * unsupported type, a value that is no certificate. */
	t.b[5][0] = 1;
	assert_int_equal(create(&alice, &t, &h), COFFER_E_ATTR_READONLY);
	t.b[5][0] = 0;
	md[0] ^= 0xff;
	tb_bytes(&t, CKA_CHECK_VALUE, md, 3);
	assert_int_equal(create(&alice, &t, &h), COFFER_E_TEMPLATE);
	md[0] ^= 0xff;
	assert_int_equal(create(&alice, &t, &h), 0);	/* the right one */
	t.n--;
	t.a[1].type = CKA_ID;
	assert_int_equal(create(&alice, &t, &h), COFFER_E_TEMPLATE);
	t.a[1].type = CKA_CERTIFICATE_TYPE;
	t.b[1][7] = (uint8_t)CKC_WTLS;
	assert_int_equal(create(&alice, &t, &h), COFFER_E_ATTRIBUTE);
	t.b[1][7] = (uint8_t)CKC_X_509;
	t.a[2].value.len = (size_t)dl - 1;
	assert_int_equal(create(&alice, &t, &h), COFFER_E_ATTRIBUTE);

	OPENSSL_free(der);
	OPENSSL_free(subj);
	OPENSSL_free(ser);
	X509_free(x);
	EVP_PKEY_free(pk);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate_and_attributes),
		cmocka_unit_test(test_set_attribute_rules),
		cmocka_unit_test(test_ownership),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_session_objects),
		cmocka_unit_test(test_snapshot_restore),
		cmocka_unit_test(test_crypto),
		cmocka_unit_test(test_ops_lifecycle),
		cmocka_unit_test(test_create_import),
		cmocka_unit_test(test_certificates),
		cmocka_unit_test(test_index_100k),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
