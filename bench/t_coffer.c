/* SPDX-License-Identifier: Apache-2.0 */
/*
 * t_coffer.c: the "coffer[:CLIENT.json]" target: libcoffer's public API
 * (coffer.h, coffer_objects.h), one client shared by all threads (it is
 * thread-safe over its connection pool). Login: user=NAME and pin= /
 * pin-file= (the password), or pin=user:password.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <coffer/coffer.h>
#include <coffer/coffer_objects.h>

#include "bench.h"

struct cw {
	struct target		*t;
	struct coffer_client	*cl;
	const struct workload	*wl;
	uint64_t		 pub, priv, sec;
	uint8_t			*sig;
	size_t			 siglen;
	uint64_t		*objs;		/* created by this target */
	unsigned		 nobjs;
	unsigned		 nfind;		/* labels to look up */
};

struct ct {
	struct cw		*w;
	unsigned		 idx;
	uint64_t		 ctr;
	unsigned		 seed;
	struct p11_mech		 pm;
	struct p11_tmpl		 tm;
	uint8_t			*rnd;
	uint64_t		 made[2];
	unsigned		 nmade;
};

#define LABEL "coffer-bench"

static int
c_open(struct target *t)
{
	struct coffer_config *cfg = NULL;
	struct coffer_client *cl = NULL;
	const char *path = t->path != NULL ? t->path : getenv("COFFER_CONFIG");
	char err[256] = "", *user = NULL, *pw = NULL, *c;
	int rc, role = 0;

	if (path == NULL) {
		target_error(t, "coffer:CLIENT.json or COFFER_CONFIG needed");
		return -1;
	}
	if ((rc = coffer_config_load_err(path, &cfg, err, sizeof(err))) != 0) {
		target_error(t, "%s: %s", path, err);
		return -1;
	}
	rc = coffer_client_new(cfg, &cl, err, sizeof(err));
	coffer_config_free(cfg);
	if (rc != 0) {
		target_error(t, "connect: %s (%s)", coffer_strerror(rc), err);
		return -1;
	}
	if (t->pin == NULL) {
		target_error(t, "no password (pin=, pin-file= or --pin)");
		goto fail;
	}
	if (t->user != NULL) {
		user = strdup(t->user);
		pw = strdup(t->pin);
	} else if ((c = strchr(t->pin, ':')) != NULL) {
		user = strndup(t->pin, (size_t)(c - t->pin));
		pw = strdup(c + 1);
	} else {
		target_error(t, "no user name (user= or pin=user:password)");
		goto fail;
	}
	if (user == NULL || pw == NULL)
		goto fail;
	rc = coffer_login(cl, user, pw, &role);
	explicit_bzero(pw, strlen(pw));
	if (rc != 0) {
		target_error(t, "login %s: %s", user, coffer_strerror(rc));
		goto fail;
	}
	free(user);
	free(pw);
	t->priv = cl;
	return 0;
fail:
	free(user);
	free(pw);
	coffer_client_free(cl);
	return -1;
}

static void
c_close(struct target *t)
{
	if (t->priv == NULL)
		return;
	coffer_logout(t->priv);
	coffer_client_free(t->priv);
	t->priv = NULL;
}

static int
genkeys(struct coffer_client *cl, const struct workload *wl, int token,
    const char *label, uint64_t *pub, uint64_t *priv, uint64_t *sec)
{
	struct p11_mech pm;
	struct p11_tmpl tm;
	struct workload kw = *wl;

	kw.kind = WK_KEYGEN;
	p11_tmpl_for(wl, token, label, &tm);
	if (wl->kind == WK_HMAC) {
		pm = (struct p11_mech){ 0 };
		pm.m.mechanism = CKM_GENERIC_SECRET_KEY_GEN;
		return coffer_generate_key(cl, &pm.m, tm.sec, tm.nsec, sec);
	}
	if (wl->alg == WA_AES_GCM || wl->alg == WA_AES_CBC)
		kw.alg = WA_AES;
	p11_mech_for(&kw, &pm);
	if (wl->alg == WA_ED25519)
		pm.m.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
	if (pm.m.mechanism == CKM_AES_KEY_GEN)
		return coffer_generate_key(cl, &pm.m, tm.sec, tm.nsec, sec);
	return coffer_generate_key_pair(cl, &pm.m, tm.pub, tm.npub, tm.priv,
	    tm.npriv, pub, priv);
}

/* keep: leave find-label's objects (--find-keep, not after a failure). */
static void
destroy_all(struct cw *w, bool keep)
{
	unsigned i;

	if (w->pub)
		coffer_destroy_object(w->cl, w->pub);
	if (w->priv)
		coffer_destroy_object(w->cl, w->priv);
	if (w->sec)
		coffer_destroy_object(w->cl, w->sec);
	for (i = 0; i < w->nobjs && !keep; i++)
		coffer_destroy_object(w->cl, w->objs[i]);
	free(w->objs);
	coffer_free(w->sig, 0);
	w->objs = NULL;
	w->sig = NULL;
	w->nobjs = 0;
	w->pub = w->priv = w->sec = 0;
}

static bool
has_label(struct coffer_client *cl, unsigned i)
{
	uint64_t *hs = NULL;
	size_t cnt = 0;
	CK_ATTRIBUTE at;
	char label[64];
	int rc;

	find_label(label, sizeof(label), i);
	at.type = CKA_LABEL;
	at.pValue = label;
	at.ulValueLen = strlen(label);
	rc = coffer_find_objects(cl, &at, 1, &hs, &cnt);
	coffer_free(hs, 0);
	return rc == 0 && cnt == 1;
}

static int
c_setup(struct target *t, const struct workload *wl, void **wctx)
{
	struct cw *w = calloc(1, sizeof(*w));
	struct p11_mech pm;
	struct workload aes = *wl;
	const uint8_t *in;
	size_t inlen;
	char label[64];
	unsigned i;
	int rc;

	*wctx = NULL;
	if (w == NULL)
		return -1;
	w->t = t;
	w->cl = t->priv;
	w->wl = wl;
	switch (wl->kind) {
	case WK_SIGN:
	case WK_VERIFY:
	case WK_DERIVE:
	case WK_ENCRYPT:
	case WK_HMAC:
		rc = genkeys(w->cl, wl, -1, LABEL, &w->pub, &w->priv, &w->sec);
		if (rc != 0) {
			target_error(t, "key generation: %s (%s)",
			    coffer_strerror(rc),
			    coffer_client_last_error(w->cl));
			goto fail;
		}
		if (wl->kind != WK_VERIFY)
			break;
		p11_mech_for(wl, &pm);
		p11_sign_input(wl, &in, &inlen);
		if ((rc = coffer_sign(w->cl, &pm.m, w->priv, in, inlen,
		    &w->sig, &w->siglen)) != 0) {
			target_error(t, "sign: %s", coffer_strerror(rc));
			goto fail;
		}
		break;
	case WK_FIND:
		w->nfind = g_opts.find_keys;
		/* Made by an earlier target on the same cluster? */
		if (has_label(w->cl, 0) &&
		    has_label(w->cl, g_opts.find_keys - 1))
			break;
		w->objs = calloc(g_opts.find_keys, sizeof(*w->objs));
		if (w->objs == NULL)
			goto fail;
		aes.alg = WA_AES;
		for (i = 0; i < g_opts.find_keys; i++) {
			find_label(label, sizeof(label), i);
			rc = genkeys(w->cl, &aes, 1, label, NULL, NULL,
			    &w->objs[i]);
			if (rc != 0) {
				target_error(t, "find-label: creating object "
				    "%u: %s", i, coffer_strerror(rc));
				goto fail;
			}
			w->nobjs++;
			if (i % 1000 == 999)
				fprintf(stderr, "\r\033[K%s: %u/%u objects",
				    t->name, i + 1, g_opts.find_keys);
		}
		break;
	default:
		break;
	}
	*wctx = w;
	return 0;
fail:
	destroy_all(w, false);
	free(w);
	return -1;
}

static void
c_teardown(struct target *t, void *wctx)
{
	struct cw *w = wctx;

	if (w == NULL)
		return;
	destroy_all(w, g_opts.find_keep);
	free(w);
}

static int
c_thread_init(struct target *t, void *wctx, unsigned idx, void **tctx)
{
	struct cw *w = wctx;
	struct ct *o = calloc(1, sizeof(*o));

	*tctx = o;
	if (o == NULL)
		return -1;
	o->w = w;
	o->idx = idx;
	o->seed = idx * 7919u + 1;
	p11_mech_for(w->wl, &o->pm);
	if (w->wl->kind == WK_DERIVE)
		p11_derive_tmpl(&o->tm);
	else if (w->wl->kind == WK_KEYGEN)
		p11_tmpl_for(w->wl, w->wl->token, LABEL "-gen", &o->tm);
	if (w->wl->kind == WK_RANDOM &&
	    (o->rnd = malloc(w->wl->len)) == NULL)
		return -1;
	return 0;
}

static void
c_post(void *tctx)
{
	struct ct *o = tctx;
	unsigned i;

	for (i = 0; i < o->nmade; i++)
		coffer_destroy_object(o->w->cl, o->made[i]);
	o->nmade = 0;
}

static void
c_thread_fini(void *tctx)
{
	struct ct *o = tctx;

	if (o == NULL)
		return;
	c_post(o);
	free(o->rnd);
	free(o);
}

static int
fail(struct ct *o, const char *what, int rc)
{
	target_error(o->w->t, "%s: %s (%s)", what, coffer_strerror(rc),
	    coffer_client_last_error(o->w->cl));
	return -1;
}

/*
 * batch=N: N signatures (or MACs) of the workload's input in one
 * coffer_sign_many, N verifications in one coffer_verify_many, or N
 * AES-GCM encryptions in one coffer_encrypt_many, the node drawing each
 * message's IV (pIv NULL).
 */
static int
c_batch_encrypt(struct ct *o)
{
	struct cw *w = o->w;
	const uint8_t *ins[COFFER_SIGN_MANY_MAX] = { 0 };
	uint8_t *outs[COFFER_SIGN_MANY_MAX], ivb[COFFER_SIGN_MANY_MAX][12];
	uint8_t *ivs[COFFER_SIGN_MANY_MAX] = { 0 };
	size_t lens[COFFER_SIGN_MANY_MAX] = { 0 };
	size_t outlens[COFFER_SIGN_MANY_MAX];
	size_t ivlens[COFFER_SIGN_MANY_MAX], i, n = w->t->batch;
	CK_GCM_PARAMS g = o->pm.gcm;
	CK_MECHANISM m = { CKM_AES_GCM, &g, sizeof(g) };
	int rc;

	g.pIv = NULL;
	g.ulIvLen = 0;
	g.ulIvBits = 0;
	for (i = 0; i < n; i++) {
		ins[i] = g_msg;
		lens[i] = w->wl->len;
		ivs[i] = ivb[i];
		ivlens[i] = sizeof(ivb[i]);
	}
	if ((rc = coffer_encrypt_many(w->cl, &m, w->sec, n, ins, lens, outs,
	    outlens, ivs, ivlens)) != 0)
		return fail(o, "encrypt_many", rc);
	for (i = 0; i < n; i++) {
		if (outlens[i] < w->wl->len || ivlens[i] != 12)
			rc = COFFER_E_INTERNAL;
		coffer_free(outs[i], outlens[i]);
	}
	return rc == 0 ? 0 : fail(o, "encrypt_many: short", rc);
}

static int
c_batch(struct ct *o)
{
	struct cw *w = o->w;
	const uint8_t *in, *ins[COFFER_SIGN_MANY_MAX];
	const uint8_t *vsig[COFFER_SIGN_MANY_MAX];
	uint8_t *sigs[COFFER_SIGN_MANY_MAX];
	size_t inlen, lens[COFFER_SIGN_MANY_MAX], i, n = w->t->batch;
	size_t siglens[COFFER_SIGN_MANY_MAX];
	int rc, res[COFFER_SIGN_MANY_MAX];

	if (w->wl->kind == WK_ENCRYPT)
		return c_batch_encrypt(o);
	p11_sign_input(w->wl, &in, &inlen);
	for (i = 0; i < n; i++) {
		ins[i] = in;
		lens[i] = inlen;
		vsig[i] = w->sig;
		siglens[i] = w->siglen;
	}
	if (w->wl->kind == WK_VERIFY) {
		if ((rc = coffer_verify_many(w->cl, &o->pm.m, w->pub, n, ins,
		    lens, vsig, siglens, res)) != 0)
			return fail(o, "verify_many", rc);
		for (i = 0; i < n; i++)
			if (res[i] != 0)
				return fail(o, "verify_many", res[i]);
		return 0;
	}
	if ((rc = coffer_sign_many(w->cl, &o->pm.m, w->wl->kind == WK_HMAC ?
	    w->sec : w->priv, n, ins, lens, sigs, siglens)) != 0)
		return fail(o, "sign_many", rc);
	for (i = 0; i < n; i++) {
		if (siglens[i] == 0)
			rc = COFFER_E_INTERNAL;
		coffer_free(sigs[i], siglens[i]);
	}
	return rc == 0 ? 0 : fail(o, "sign_many: empty", rc);
}

static int
c_op(void *tctx)
{
	struct ct *o = tctx;
	struct cw *w = o->w;
	const struct workload *wl = w->wl;
	const uint8_t *in;
	uint8_t *out = NULL;
	size_t inlen, n = 0, cnt = 0;
	uint64_t *hs = NULL;
	CK_ATTRIBUTE at;
	char label[64];
	int rc;

	switch (wl->kind) {
	case WK_SIGN:
	case WK_HMAC:
		if (w->t->batch > 1)
			return c_batch(o);
		p11_sign_input(wl, &in, &inlen);
		rc = coffer_sign(w->cl, &o->pm.m, wl->kind == WK_HMAC ?
		    w->sec : w->priv, in, inlen, &out, &n);
		coffer_free(out, 0);
		if (rc != 0)
			return fail(o, "sign", rc);
		return n > 0 ? 0 : fail(o, "sign: empty", COFFER_E_INTERNAL);
	case WK_VERIFY:
		if (w->t->batch > 1)
			return c_batch(o);
		p11_sign_input(wl, &in, &inlen);
		if ((rc = coffer_verify(w->cl, &o->pm.m, w->pub, in, inlen,
		    w->sig, w->siglen)) != 0)
			return fail(o, "verify", rc);
		return 0;
	case WK_DERIVE:
		if ((rc = coffer_derive_key(w->cl, &o->pm.m, w->priv, o->tm.sec,
		    o->tm.nsec, &o->made[0])) != 0)
			return fail(o, "derive", rc);
		o->nmade = 1;
		return 0;
	case WK_ENCRYPT:
		if (w->t->batch > 1)
			return c_batch(o);
		if (wl->alg == WA_AES_GCM) {
			memcpy(o->pm.iv, &o->idx, sizeof(o->idx));
			memcpy(o->pm.iv + 4, &o->ctr, sizeof(o->ctr));
			o->ctr++;
		}
		rc = coffer_encrypt(w->cl, &o->pm.m, w->sec, g_msg, wl->len,
		    &out, &n);
		coffer_free(out, 0);
		if (rc != 0)
			return fail(o, "encrypt", rc);
		return n >= wl->len ? 0 : fail(o, "encrypt: short",
		    COFFER_E_INTERNAL);
	case WK_RANDOM:
		if ((rc = coffer_random(w->cl, o->rnd, wl->len)) != 0)
			return fail(o, "random", rc);
		return 0;
	case WK_KEYGEN:
		if (wl->alg == WA_AES) {
			rc = coffer_generate_key(w->cl, &o->pm.m, o->tm.sec,
			    o->tm.nsec, &o->made[0]);
			if (rc != 0)
				return fail(o, "generate_key", rc);
			o->nmade = 1;
			return 0;
		}
		rc = coffer_generate_key_pair(w->cl, &o->pm.m, o->tm.pub,
		    o->tm.npub, o->tm.priv, o->tm.npriv, &o->made[0],
		    &o->made[1]);
		if (rc != 0)
			return fail(o, "generate_key_pair", rc);
		o->nmade = 2;
		return 0;
	case WK_FIND:
		find_label(label, sizeof(label),
		    (unsigned)rand_r(&o->seed) % w->nfind);
		at.type = CKA_LABEL;
		at.pValue = label;
		at.ulValueLen = strlen(label);
		rc = coffer_find_objects(w->cl, &at, 1, &hs, &cnt);
		coffer_free(hs, 0);
		if (rc != 0)
			return fail(o, "find_objects", rc);
		return cnt == 1 ? 0 : fail(o, "find_objects: not found",
		    COFFER_E_INTERNAL);
	default:
		return -1;
	}
}

const struct target_ops coffer_target_ops = {
	.open = c_open,
	.close = c_close,
	.setup = c_setup,
	.teardown = c_teardown,
	.thread_init = c_thread_init,
	.thread_fini = c_thread_fini,
	.op = c_op,
	.post = c_post,
};
