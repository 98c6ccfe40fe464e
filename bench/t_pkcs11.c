/* SPDX-License-Identifier: Apache-2.0 */
/*
 * t_pkcs11.c: the "pkcs11:PATH" target: any PKCS#11 module loaded by
 * path (Coffer's libcoffer-pkcs11.so, SoftHSMv2, ...). One logged-in
 * setup session makes the keys; each thread opens its own session.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

struct p11 {
	void			*dl;
	CK_FUNCTION_LIST_PTR	 f;
	CK_SLOT_ID		 slot;
	CK_SESSION_HANDLE	 s0;
};

struct pw {
	struct target		*t;
	struct p11		*p;
	const struct workload	*wl;
	CK_OBJECT_HANDLE	 pub, priv, sec;
	uint8_t			 sig[1024];
	CK_ULONG		 siglen;
	CK_OBJECT_HANDLE	*objs;		/* created by this target */
	unsigned		 nobjs;
	unsigned		 nfind;		/* labels to look up */
};

struct pt {
	struct pw		*w;
	CK_SESSION_HANDLE	 s;
	unsigned		 idx;
	uint64_t		 ctr;
	unsigned		 seed;
	struct p11_mech		 pm;
	struct p11_tmpl		 tm;
	uint8_t			*out;
	size_t			 outcap;
	CK_OBJECT_HANDLE	 made[2];
	unsigned		 nmade;
};

#define LABEL "coffer-bench"

static int
p_open(struct target *t)
{
	CK_C_INITIALIZE_ARGS args = { 0 };
	CK_C_GetFunctionList gfl;
	CK_SLOT_ID slots[64];
	CK_ULONG nslots = 64, i;
	CK_TOKEN_INFO ti;
	struct p11 *p = calloc(1, sizeof(*p));
	char *pin = NULL;
	CK_RV rv;

	if (p == NULL)
		return -1;
	t->priv = p;
	if ((p->dl = dlopen(t->path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		target_error(t, "dlopen: %s", dlerror());
		goto fail;
	}
	*(void **)&gfl = dlsym(p->dl, "C_GetFunctionList");
	if (gfl == NULL || gfl(&p->f) != CKR_OK) {
		target_error(t, "no C_GetFunctionList");
		goto fail;
	}
	args.flags = CKF_OS_LOCKING_OK;
	rv = p->f->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		target_error(t, "C_Initialize: %s", ckr_name(rv));
		goto fail;
	}
	if ((rv = p->f->C_GetSlotList(CK_TRUE, slots, &nslots)) != CKR_OK) {
		target_error(t, "C_GetSlotList: %s", ckr_name(rv));
		goto fail;
	}
	for (i = 0; i < nslots; i++) {
		if (t->slot >= 0 && slots[i] != (CK_SLOT_ID)t->slot)
			continue;
		if (t->token != NULL) {
			size_t l = strlen(t->token);

			if (p->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
			    l > 32 || memcmp(ti.label, t->token, l) != 0 ||
			    (l < 32 && ti.label[l] != ' '))
				continue;
		}
		break;
	}
	if (i == nslots) {
		target_error(t, "no slot with a token%s%s", t->token ?
		    " labelled " : "", t->token ? t->token : "");
		goto fail;
	}
	p->slot = slots[i];
	rv = p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &p->s0);
	if (rv != CKR_OK) {
		target_error(t, "C_OpenSession: %s", ckr_name(rv));
		goto fail;
	}
	if (t->pin != NULL) {
		if (t->user != NULL) {
			if (asprintf(&pin, "%s:%s", t->user, t->pin) < 0)
				goto fail;
		} else if ((pin = strdup(t->pin)) == NULL)
			goto fail;
		rv = p->f->C_Login(p->s0, CKU_USER, (CK_UTF8CHAR_PTR)pin,
		    strlen(pin));
		explicit_bzero(pin, strlen(pin));
		free(pin);
		if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
			target_error(t, "C_Login: %s", ckr_name(rv));
			goto fail;
		}
	}
	return 0;
fail:
	if (p->f != NULL)
		p->f->C_Finalize(NULL);
	if (p->dl != NULL)
		dlclose(p->dl);
	free(p);
	t->priv = NULL;
	return -1;
}

static void
p_close(struct target *t)
{
	struct p11 *p = t->priv;

	if (p == NULL)
		return;
	p->f->C_Logout(p->s0);
	p->f->C_CloseAllSessions(p->slot);
	p->f->C_Finalize(NULL);
	/* No dlclose: some modules leave threads or atexit handlers. */
	free(p);
	t->priv = NULL;
}

static CK_RV
genkeys(struct p11 *p, CK_SESSION_HANDLE s, const struct workload *wl,
    int token, const char *label, CK_OBJECT_HANDLE *pub,
    CK_OBJECT_HANDLE *priv, CK_OBJECT_HANDLE *sec)
{
	struct p11_mech pm;
	struct p11_tmpl tm;
	struct workload kw = *wl;

	kw.kind = WK_KEYGEN;
	if (wl->kind == WK_HMAC) {
		p11_tmpl_for(wl, token, label, &tm);
		pm = (struct p11_mech){ 0 };
		pm.m.mechanism = CKM_GENERIC_SECRET_KEY_GEN;
		return p->f->C_GenerateKey(s, &pm.m, tm.sec, tm.nsec, sec);
	}
	if (wl->alg == WA_AES_GCM || wl->alg == WA_AES_CBC)
		kw.alg = WA_AES;
	p11_mech_for(&kw, &pm);
	p11_tmpl_for(wl, token, label, &tm);
	if (wl->alg == WA_ED25519)
		pm.m.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
	if (pm.m.mechanism == CKM_AES_KEY_GEN)
		return p->f->C_GenerateKey(s, &pm.m, tm.sec, tm.nsec, sec);
	return p->f->C_GenerateKeyPair(s, &pm.m, tm.pub, tm.npub, tm.priv,
	    tm.npriv, pub, priv);
}

/* keep: leave find-label's objects (--find-keep, not after a failure). */
static void
destroy_all(struct pw *w, bool keep)
{
	struct p11 *p = w->p;
	unsigned i;

	if (w->pub)
		p->f->C_DestroyObject(p->s0, w->pub);
	if (w->priv)
		p->f->C_DestroyObject(p->s0, w->priv);
	if (w->sec)
		p->f->C_DestroyObject(p->s0, w->sec);
	for (i = 0; i < w->nobjs && !keep; i++)
		p->f->C_DestroyObject(p->s0, w->objs[i]);
	free(w->objs);
	w->objs = NULL;
	w->nobjs = 0;
	w->pub = w->priv = w->sec = 0;
}

static bool
has_label(struct p11 *p, unsigned i)
{
	CK_OBJECT_HANDLE h;
	CK_ULONG cnt = 0;
	CK_ATTRIBUTE at;
	char label[64];

	find_label(label, sizeof(label), i);
	at.type = CKA_LABEL;
	at.pValue = label;
	at.ulValueLen = strlen(label);
	if (p->f->C_FindObjectsInit(p->s0, &at, 1) != CKR_OK)
		return false;
	if (p->f->C_FindObjects(p->s0, &h, 1, &cnt) != CKR_OK)
		cnt = 0;
	p->f->C_FindObjectsFinal(p->s0);
	return cnt == 1;
}

static int
p_setup(struct target *t, const struct workload *wl, void **wctx)
{
	struct p11 *p = t->priv;
	struct pw *w = calloc(1, sizeof(*w));
	struct p11_mech pm;
	struct workload aes = *wl;
	const uint8_t *in;
	size_t inlen;
	char label[64];
	unsigned i;
	CK_RV rv = CKR_OK;

	*wctx = NULL;
	if (w == NULL)
		return -1;
	w->t = t;
	w->p = p;
	w->wl = wl;
	switch (wl->kind) {
	case WK_SIGN:
	case WK_VERIFY:
	case WK_DERIVE:
	case WK_ENCRYPT:
	case WK_HMAC:
		rv = genkeys(p, p->s0, wl, -1, LABEL, &w->pub, &w->priv,
		    &w->sec);
		if (rv != CKR_OK) {
			target_error(t, "key generation: %s", ckr_name(rv));
			goto fail;
		}
		if (wl->kind != WK_VERIFY)
			break;
		p11_mech_for(wl, &pm);
		p11_sign_input(wl, &in, &inlen);
		w->siglen = sizeof(w->sig);
		if ((rv = p->f->C_SignInit(p->s0, &pm.m, w->priv)) != CKR_OK ||
		    (rv = p->f->C_Sign(p->s0, (CK_BYTE_PTR)in, inlen, w->sig,
		    &w->siglen)) != CKR_OK) {
			target_error(t, "C_Sign: %s", ckr_name(rv));
			goto fail;
		}
		break;
	case WK_FIND:
		w->nfind = g_opts.find_keys;
		/* Made by an earlier target on the same token? */
		if (has_label(p, 0) && has_label(p, g_opts.find_keys - 1))
			break;
		w->objs = calloc(g_opts.find_keys, sizeof(*w->objs));
		if (w->objs == NULL)
			goto fail;
		aes.alg = WA_AES;
		for (i = 0; i < g_opts.find_keys; i++) {
			find_label(label, sizeof(label), i);
			rv = genkeys(p, p->s0, &aes, 1, label, NULL, NULL,
			    &w->objs[i]);
			if (rv != CKR_OK) {
				target_error(t, "find-label: creating object "
				    "%u: %s", i, ckr_name(rv));
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
p_teardown(struct target *t, void *wctx)
{
	struct pw *w = wctx;

	if (w == NULL)
		return;
	destroy_all(w, g_opts.find_keep);
	free(w);
}

static int
p_thread_init(struct target *t, void *wctx, unsigned idx, void **tctx)
{
	struct pw *w = wctx;
	struct pt *o = calloc(1, sizeof(*o));
	CK_RV rv;

	*tctx = o;
	if (o == NULL)
		return -1;
	o->w = w;
	o->idx = idx;
	o->seed = idx * 7919u + 1;
	o->outcap = w->wl->len + 1024;
	if ((o->out = malloc(o->outcap)) == NULL)
		return -1;
	p11_mech_for(w->wl, &o->pm);
	if (w->wl->kind == WK_DERIVE)
		p11_derive_tmpl(&o->tm);
	else if (w->wl->kind == WK_KEYGEN)
		p11_tmpl_for(w->wl, w->wl->token, LABEL "-gen", &o->tm);
	rv = w->p->f->C_OpenSession(w->p->slot, CKF_SERIAL_SESSION |
	    CKF_RW_SESSION, NULL, NULL, &o->s);
	if (rv != CKR_OK) {
		target_error(t, "C_OpenSession: %s", ckr_name(rv));
		o->s = CK_INVALID_HANDLE;
		return -1;
	}
	return 0;
}

static void
p_post(void *tctx)
{
	struct pt *o = tctx;
	unsigned i;

	for (i = 0; i < o->nmade; i++)
		o->w->p->f->C_DestroyObject(o->s, o->made[i]);
	o->nmade = 0;
}

static void
p_thread_fini(void *tctx)
{
	struct pt *o = tctx;

	if (o == NULL)
		return;
	p_post(o);
	if (o->s != CK_INVALID_HANDLE)
		o->w->p->f->C_CloseSession(o->s);
	free(o->out);
	free(o);
}

static int
fail(struct pt *o, const char *what, CK_RV rv)
{
	target_error(o->w->t, "%s: %s", what, ckr_name(rv));
	return -1;
}

static int
p_op(void *tctx)
{
	struct pt *o = tctx;
	struct pw *w = o->w;
	CK_FUNCTION_LIST_PTR f = w->p->f;
	const struct workload *wl = w->wl;
	const uint8_t *in;
	size_t inlen;
	CK_ULONG n = o->outcap, cnt = 0;
	CK_OBJECT_HANDLE h;
	CK_ATTRIBUTE at;
	char label[64];
	CK_RV rv;

	switch (wl->kind) {
	case WK_SIGN:
	case WK_HMAC:
		p11_sign_input(wl, &in, &inlen);
		if ((rv = f->C_SignInit(o->s, &o->pm.m, wl->kind == WK_HMAC ?
		    w->sec : w->priv)) != CKR_OK)
			return fail(o, "C_SignInit", rv);
		if ((rv = f->C_Sign(o->s, (CK_BYTE_PTR)in, inlen, o->out, &n)) !=
		    CKR_OK)
			return fail(o, "C_Sign", rv);
		return n > 0 ? 0 : fail(o, "C_Sign: empty", CKR_OK);
	case WK_VERIFY:
		p11_sign_input(wl, &in, &inlen);
		if ((rv = f->C_VerifyInit(o->s, &o->pm.m, w->pub)) != CKR_OK)
			return fail(o, "C_VerifyInit", rv);
		if ((rv = f->C_Verify(o->s, (CK_BYTE_PTR)in, inlen, w->sig,
		    w->siglen)) != CKR_OK)
			return fail(o, "C_Verify", rv);
		return 0;
	case WK_DERIVE:
		rv = f->C_DeriveKey(o->s, &o->pm.m, w->priv, o->tm.sec,
		    o->tm.nsec, &o->made[0]);
		if (rv != CKR_OK)
			return fail(o, "C_DeriveKey", rv);
		o->nmade = 1;
		return 0;
	case WK_ENCRYPT:
		if (wl->alg == WA_AES_GCM) {
			memcpy(o->pm.iv, &o->idx, sizeof(o->idx));
			memcpy(o->pm.iv + 4, &o->ctr, sizeof(o->ctr));
			o->ctr++;
		}
		if ((rv = f->C_EncryptInit(o->s, &o->pm.m, w->sec)) != CKR_OK)
			return fail(o, "C_EncryptInit", rv);
		if ((rv = f->C_Encrypt(o->s, g_msg, wl->len, o->out, &n)) !=
		    CKR_OK)
			return fail(o, "C_Encrypt", rv);
		return n >= wl->len ? 0 : fail(o, "C_Encrypt: short", CKR_OK);
	case WK_RANDOM:
		if ((rv = f->C_GenerateRandom(o->s, o->out, wl->len)) != CKR_OK)
			return fail(o, "C_GenerateRandom", rv);
		return 0;
	case WK_KEYGEN:
		if (wl->alg == WA_AES) {
			rv = f->C_GenerateKey(o->s, &o->pm.m, o->tm.sec,
			    o->tm.nsec, &o->made[0]);
			if (rv != CKR_OK)
				return fail(o, "C_GenerateKey", rv);
			o->nmade = 1;
			return 0;
		}
		rv = f->C_GenerateKeyPair(o->s, &o->pm.m, o->tm.pub,
		    o->tm.npub, o->tm.priv, o->tm.npriv, &o->made[0],
		    &o->made[1]);
		if (rv != CKR_OK)
			return fail(o, "C_GenerateKeyPair", rv);
		o->nmade = 2;
		return 0;
	case WK_FIND:
		find_label(label, sizeof(label),
		    (unsigned)rand_r(&o->seed) % w->nfind);
		at.type = CKA_LABEL;
		at.pValue = label;
		at.ulValueLen = strlen(label);
		if ((rv = f->C_FindObjectsInit(o->s, &at, 1)) != CKR_OK)
			return fail(o, "C_FindObjectsInit", rv);
		rv = f->C_FindObjects(o->s, &h, 1, &cnt);
		f->C_FindObjectsFinal(o->s);
		if (rv != CKR_OK)
			return fail(o, "C_FindObjects", rv);
		return cnt == 1 ? 0 : fail(o, "C_FindObjects: not found",
		    CKR_OK);
	default:
		return -1;
	}
}

const struct target_ops pkcs11_target_ops = {
	.open = p_open,
	.close = p_close,
	.setup = p_setup,
	.teardown = p_teardown,
	.thread_init = p_thread_init,
	.thread_fini = p_thread_fini,
	.op = p_op,
	.post = p_post,
};
