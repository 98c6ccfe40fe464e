/* SPDX-License-Identifier: Apache-2.0 */
/*
 * t_openssl.c: the "openssl" target, the same operation in-process with
 * raw OpenSSL 3 EVP: the machine's limit. Keys are EVP_PKEY objects made
 * once; each thread keeps its own prepared context, as a tuned server
 * would.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "bench.h"

struct ow {			/* per workload */
	const struct workload	*wl;
	struct target		*t;
	EVP_PKEY		*key;
	uint8_t			 sym[32];
	uint8_t			 sig[1024];
	size_t			 siglen;
};

struct ot {			/* per thread */
	struct ow		*w;
	unsigned		 idx;
	uint64_t		 ctr;
	EVP_PKEY_CTX		*pctx;
	EVP_MD_CTX		*mctx;
	EVP_CIPHER_CTX		*cctx;
	EVP_MAC_CTX		*hctx;
	EVP_PKEY		*made;
	uint8_t			*out;
	size_t			 outcap;
};

static EVP_CIPHER *aes_gcm, *aes_cbc;
static EVP_MAC *hmac;

static int opens;	/* the tls and unix targets open this one too */

static int
o_open(struct target *t)
{
	if (opens++ > 0)
		return 0;
	aes_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	aes_cbc = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (aes_gcm == NULL || aes_cbc == NULL || hmac == NULL) {
		target_error(t, "EVP fetch failed");
		return -1;
	}
	return 0;
}

static void
o_close(struct target *t)
{
	if (opens == 0 || --opens > 0)
		return;
	EVP_CIPHER_free(aes_gcm);
	EVP_CIPHER_free(aes_cbc);
	EVP_MAC_free(hmac);
}

static EVP_PKEY *
genkey(const struct workload *wl)
{
	switch (wl->alg) {
	case WA_RSA:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)wl->bits);
	case WA_EC:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC",
		    wl->bits == 384 ? "P-384" : "P-256");
	case WA_ED25519:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	default:
		return NULL;
	}
}

/* Prepares pctx for a sign/verify with wl's padding. */
static int
pctx_prepare(EVP_PKEY_CTX *c, const struct workload *wl, int verify)
{
	if ((verify ? EVP_PKEY_verify_init(c) : EVP_PKEY_sign_init(c)) != 1)
		return -1;
	if (wl->alg != WA_RSA)
		return 0;
	if (EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) != 1)
		return -1;
	if (!wl->pss)
		return EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) ==
		    1 ? 0 : -1;
	if (EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(c, 32) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) != 1)
		return -1;
	return 0;
}

static const uint8_t *
tbs(const struct workload *wl, size_t *len)
{
	if (wl->alg == WA_EC && wl->bits == 384) {
		*len = sizeof(g_hash48);
		return g_hash48;
	}
	*len = sizeof(g_hash32);
	return g_hash32;
}

static int
sign_once(struct ow *w)
{
	EVP_PKEY_CTX *c = NULL;
	EVP_MD_CTX *m = NULL;
	const uint8_t *in;
	size_t inlen;
	int rc = -1;

	in = tbs(w->wl, &inlen);
	w->siglen = sizeof(w->sig);
	if (w->wl->alg == WA_ED25519) {
		if ((m = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestSignInit(m, NULL, NULL, NULL, w->key) != 1 ||
		    EVP_DigestSign(m, w->sig, &w->siglen, in, inlen) != 1)
			goto out;
	} else if ((c = EVP_PKEY_CTX_new(w->key, NULL)) == NULL ||
	    pctx_prepare(c, w->wl, 0) != 0 ||
	    EVP_PKEY_sign(c, w->sig, &w->siglen, in, inlen) != 1)
		goto out;
	rc = 0;
out:
	EVP_MD_CTX_free(m);
	EVP_PKEY_CTX_free(c);
	return rc;
}

static int
o_setup(struct target *t, const struct workload *wl, void **wctx)
{
	struct ow *w = calloc(1, sizeof(*w));

	*wctx = NULL;
	if (w == NULL)
		return -1;
	w->wl = wl;
	w->t = t;
	switch (wl->kind) {
	case WK_SIGN:
	case WK_VERIFY:
	case WK_DERIVE:
		if ((w->key = genkey(wl)) == NULL)
			goto fail;
		if (wl->kind == WK_VERIFY && sign_once(w) != 0)
			goto fail;
		break;
	case WK_ENCRYPT:
	case WK_HMAC:
		if (RAND_bytes(w->sym, sizeof(w->sym)) != 1)
			goto fail;
		break;
	case WK_FIND:
		target_error(t, "no object store");
		goto fail;
	default:
		break;
	}
	*wctx = w;
	return 0;
fail:
	if (t->err[0] == '\0')
		target_error(t, "%s: key setup failed", wl->name);
	EVP_PKEY_free(w->key);
	free(w);
	return -1;
}

static void
o_teardown(struct target *t, void *wctx)
{
	struct ow *w = wctx;

	if (w == NULL)
		return;
	EVP_PKEY_free(w->key);
	OPENSSL_cleanse(w->sym, sizeof(w->sym));
	free(w);
}

static int
o_thread_init(struct target *t, void *wctx, unsigned idx, void **tctx)
{
	struct ow *w = wctx;
	const struct workload *wl = w->wl;
	struct ot *o = calloc(1, sizeof(*o));
	EVP_PKEY *peer = NULL;
	const uint8_t *pp = g_ecdh_peer;

	*tctx = o;
	if (o == NULL)
		return -1;
	o->w = w;
	o->idx = idx;
	o->outcap = wl->len + 1024;
	if ((o->out = malloc(o->outcap)) == NULL)
		return -1;
	switch (wl->kind) {
	case WK_SIGN:
	case WK_VERIFY:
		if (wl->alg == WA_ED25519) {
			if ((o->mctx = EVP_MD_CTX_new()) == NULL)
				return -1;
			break;
		}
		if ((o->pctx = EVP_PKEY_CTX_new(w->key, NULL)) == NULL ||
		    pctx_prepare(o->pctx, wl, wl->kind == WK_VERIFY) != 0)
			return -1;
		break;
	case WK_DERIVE:
		peer = EVP_PKEY_new();
		if (peer == NULL || EVP_PKEY_copy_parameters(peer, w->key) !=
		    1 || EVP_PKEY_set1_encoded_public_key(peer, pp, 65) != 1) {
			EVP_PKEY_free(peer);
			return -1;
		}
		o->pctx = EVP_PKEY_CTX_new(w->key, NULL);
		if (o->pctx == NULL || EVP_PKEY_derive_init(o->pctx) != 1 ||
		    EVP_PKEY_derive_set_peer(o->pctx, peer) != 1) {
			EVP_PKEY_free(peer);
			return -1;
		}
		EVP_PKEY_free(peer);
		break;
	case WK_ENCRYPT:
		if ((o->cctx = EVP_CIPHER_CTX_new()) == NULL ||
		    EVP_EncryptInit_ex2(o->cctx, wl->alg == WA_AES_GCM ?
		    aes_gcm : aes_cbc, w->sym, g_aes_iv, NULL) != 1 ||
		    EVP_CIPHER_CTX_set_padding(o->cctx, 0) != 1)
			return -1;
		break;
	case WK_HMAC:
		if ((o->hctx = EVP_MAC_CTX_new(hmac)) == NULL)
			return -1;
		break;
	case WK_KEYGEN:
		if (wl->alg == WA_AES)
			break;
		o->pctx = EVP_PKEY_CTX_new_from_name(NULL, wl->alg == WA_RSA ?
		    "RSA" : "EC", NULL);
		if (o->pctx == NULL || EVP_PKEY_keygen_init(o->pctx) != 1)
			return -1;
		if (wl->alg == WA_RSA ?
		    EVP_PKEY_CTX_set_rsa_keygen_bits(o->pctx, wl->bits) != 1 :
		    EVP_PKEY_CTX_set_group_name(o->pctx, "P-256") != 1)
			return -1;
		break;
	default:
		break;
	}
	return 0;
}

static void
o_thread_fini(void *tctx)
{
	struct ot *o = tctx;

	if (o == NULL)
		return;
	EVP_PKEY_CTX_free(o->pctx);
	EVP_MD_CTX_free(o->mctx);
	EVP_CIPHER_CTX_free(o->cctx);
	EVP_MAC_CTX_free(o->hctx);
	EVP_PKEY_free(o->made);
	free(o->out);
	free(o);
}

static int
o_op(void *tctx)
{
	struct ot *o = tctx;
	struct ow *w = o->w;
	const struct workload *wl = w->wl;
	OSSL_PARAM p[2];
	const uint8_t *in;
	uint8_t iv[16], sym[32];
	size_t inlen, n = o->outcap;
	int outl, fl;

	switch (wl->kind) {
	case WK_SIGN:
		in = tbs(wl, &inlen);
		if (wl->alg == WA_ED25519)
			return EVP_DigestSignInit(o->mctx, NULL, NULL, NULL,
			    w->key) == 1 && EVP_DigestSign(o->mctx, o->out, &n,
			    in, inlen) == 1 ? 0 : -1;
		return EVP_PKEY_sign(o->pctx, o->out, &n, in, inlen) == 1 ?
		    0 : -1;
	case WK_VERIFY:
		in = tbs(wl, &inlen);
		if (wl->alg == WA_ED25519)
			return EVP_DigestVerifyInit(o->mctx, NULL, NULL, NULL,
			    w->key) == 1 && EVP_DigestVerify(o->mctx, w->sig,
			    w->siglen, in, inlen) == 1 ? 0 : -1;
		return EVP_PKEY_verify(o->pctx, w->sig, w->siglen, in,
		    inlen) == 1 ? 0 : -1;
	case WK_DERIVE:
		n = 32;
		return EVP_PKEY_derive(o->pctx, o->out, &n) == 1 ? 0 : -1;
	case WK_ENCRYPT:
		/* A fresh IV per message, as the HSM targets get. */
		memcpy(iv, g_aes_iv, sizeof(iv));
		memcpy(iv, &o->idx, sizeof(o->idx));
		memcpy(iv + 4, &o->ctr, sizeof(o->ctr));
		o->ctr++;
		if (EVP_EncryptInit_ex2(o->cctx, NULL, NULL, iv, NULL) != 1 ||
		    EVP_EncryptUpdate(o->cctx, o->out, &outl, g_msg,
		    (int)wl->len) != 1 ||
		    EVP_EncryptFinal_ex(o->cctx, o->out + outl, &fl) != 1)
			return -1;
		if (wl->alg == WA_AES_GCM &&
		    EVP_CIPHER_CTX_ctrl(o->cctx, EVP_CTRL_GCM_GET_TAG, 16,
		    o->out + outl + fl) != 1)
			return -1;
		return 0;
	case WK_HMAC:
		p[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
		    (char *)"SHA256", 0);
		p[1] = OSSL_PARAM_construct_end();
		return EVP_MAC_init(o->hctx, w->sym, sizeof(w->sym), p) == 1 &&
		    EVP_MAC_update(o->hctx, g_msg, wl->len) == 1 &&
		    EVP_MAC_final(o->hctx, o->out, &n, o->outcap) == 1 ? 0 :
		    -1;
	case WK_RANDOM:
		return RAND_bytes(o->out, (int)wl->len) == 1 ? 0 : -1;
	case WK_KEYGEN:
		if (wl->alg == WA_AES) {
			int rc = RAND_priv_bytes(sym, sizeof(sym)) == 1 ? 0 :
			    -1;

			OPENSSL_cleanse(sym, sizeof(sym));
			return rc;
		}
		return EVP_PKEY_generate(o->pctx, &o->made) == 1 ? 0 : -1;
	default:
		return -1;
	}
}

static void
o_post(void *tctx)
{
	struct ot *o = tctx;

	EVP_PKEY_free(o->made);
	o->made = NULL;
}

const struct target_ops openssl_target_ops = {
	.open = o_open,
	.close = o_close,
	.setup = o_setup,
	.teardown = o_teardown,
	.thread_init = o_thread_init,
	.thread_fini = o_thread_fini,
	.op = o_op,
	.post = o_post,
};
