/* SPDX-License-Identifier: Apache-2.0 */
/*
 * p11common.c: mechanisms, inputs and templates shared by the pkcs11 and
 * coffer targets (the same operation as the openssl target).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static const uint8_t oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07 };
static const uint8_t oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00,
    0x22 };
static const uint8_t oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };

const char *
ckr_name(CK_RV rv)
{
	static const struct {
		CK_RV rv;
		const char *n;
	} t[] = {
#define R(x) { x, #x }
		R(CKR_OK), R(CKR_HOST_MEMORY), R(CKR_SLOT_ID_INVALID),
		R(CKR_GENERAL_ERROR), R(CKR_FUNCTION_FAILED),
		R(CKR_ARGUMENTS_BAD), R(CKR_ATTRIBUTE_VALUE_INVALID),
		R(CKR_ATTRIBUTE_TYPE_INVALID), R(CKR_DATA_LEN_RANGE),
		R(CKR_DEVICE_ERROR), R(CKR_DEVICE_REMOVED),
		R(CKR_FUNCTION_NOT_SUPPORTED), R(CKR_KEY_HANDLE_INVALID),
		R(CKR_KEY_TYPE_INCONSISTENT), R(CKR_KEY_FUNCTION_NOT_PERMITTED),
		R(CKR_MECHANISM_INVALID), R(CKR_MECHANISM_PARAM_INVALID),
		R(CKR_OBJECT_HANDLE_INVALID), R(CKR_OPERATION_ACTIVE),
		R(CKR_PIN_INCORRECT), R(CKR_PIN_LOCKED),
		R(CKR_SESSION_HANDLE_INVALID), R(CKR_SESSION_COUNT),
		R(CKR_SIGNATURE_INVALID), R(CKR_TEMPLATE_INCOMPLETE),
		R(CKR_TEMPLATE_INCONSISTENT), R(CKR_TOKEN_NOT_PRESENT),
		R(CKR_USER_NOT_LOGGED_IN), R(CKR_USER_ALREADY_LOGGED_IN),
		R(CKR_BUFFER_TOO_SMALL), R(CKR_CRYPTOKI_NOT_INITIALIZED),
		R(CKR_CRYPTOKI_ALREADY_INITIALIZED), R(CKR_DOMAIN_PARAMS_INVALID),
		R(CKR_CURVE_NOT_SUPPORTED), R(CKR_KEY_SIZE_RANGE),
		R(CKR_SESSION_READ_ONLY), R(CKR_USER_TYPE_INVALID),
#undef R
	};
	static __thread char buf[32];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].rv == rv)
			return t[i].n;
	snprintf(buf, sizeof(buf), "CKR 0x%lx", (unsigned long)rv);
	return buf;
}

void
p11_mech_for(const struct workload *wl, struct p11_mech *pm)
{
	*pm = (struct p11_mech){ 0 };
	memcpy(pm->iv, g_aes_iv, sizeof(pm->iv));
	switch (wl->kind) {
	case WK_KEYGEN:
		if (wl->alg == WA_RSA)
			pm->m.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		else if (wl->alg == WA_EC)
			pm->m.mechanism = CKM_EC_KEY_PAIR_GEN;
		else
			pm->m.mechanism = CKM_AES_KEY_GEN;
		return;
	case WK_DERIVE:
		pm->m.mechanism = CKM_ECDH1_DERIVE;
		pm->ecdh.kdf = CKD_NULL;
		pm->ecdh.pPublicData = g_ecdh_peer;
		pm->ecdh.ulPublicDataLen = sizeof(g_ecdh_peer);
		pm->m.pParameter = &pm->ecdh;
		pm->m.ulParameterLen = sizeof(pm->ecdh);
		return;
	case WK_HMAC:
		pm->m.mechanism = CKM_SHA256_HMAC;
		return;
	default:
		break;
	}
	switch (wl->alg) {
	case WA_RSA:
		if (!wl->pss) {
			pm->m.mechanism = CKM_RSA_PKCS;
			break;
		}
		pm->m.mechanism = CKM_RSA_PKCS_PSS;
		pm->pss.hashAlg = CKM_SHA256;
		pm->pss.mgf = CKG_MGF1_SHA256;
		pm->pss.sLen = 32;
		pm->m.pParameter = &pm->pss;
		pm->m.ulParameterLen = sizeof(pm->pss);
		break;
	case WA_EC:
		pm->m.mechanism = CKM_ECDSA;
		break;
	case WA_ED25519:
		pm->m.mechanism = CKM_EDDSA;
		break;
	case WA_AES_GCM:
		pm->m.mechanism = CKM_AES_GCM;
		pm->gcm.pIv = pm->iv;
		pm->gcm.ulIvLen = 12;
		pm->gcm.ulIvBits = 96;
		pm->gcm.ulTagBits = 128;
		pm->m.pParameter = &pm->gcm;
		pm->m.ulParameterLen = sizeof(pm->gcm);
		break;
	case WA_AES_CBC:
		pm->m.mechanism = CKM_AES_CBC;
		pm->m.pParameter = pm->iv;
		pm->m.ulParameterLen = 16;
		break;
	default:
		break;
	}
}

void
p11_sign_input(const struct workload *wl, const uint8_t **in, size_t *len)
{
	if (wl->alg == WA_RSA && !wl->pss) {
		*in = g_digestinfo;
		*len = sizeof(g_digestinfo);
	} else if (wl->alg == WA_EC && wl->bits == 384) {
		*in = g_hash48;
		*len = sizeof(g_hash48);
	} else if (wl->kind == WK_HMAC) {
		*in = g_msg;
		*len = wl->len;
	} else {
		*in = g_hash32;
		*len = sizeof(g_hash32);
	}
}

#define ADD(arr, n, ty, ptr, len) do {				\
	(arr)[(n)].type = (ty);						\
	(arr)[(n)].pValue = (void *)(ptr);				\
	(arr)[(n)].ulValueLen = (len);					\
	(n)++;								\
} while (0)

void
p11_tmpl_for(const struct workload *wl, int token, const char *label,
    struct p11_tmpl *t)
{
	const uint8_t *oid = oid_p256;
	size_t oidlen = sizeof(oid_p256);
	size_t ll;

	*t = (struct p11_tmpl){ 0 };
	t->yes = CK_TRUE;
	t->no = CK_FALSE;
	t->token = (token >= 0 ? token : g_opts.token_keys) ? CK_TRUE :
	    CK_FALSE;
	snprintf(t->label, sizeof(t->label), "%s", label);
	ll = strlen(t->label);
	t->cls_sec = CKO_SECRET_KEY;

	ADD(t->pub, t->npub, CKA_TOKEN, &t->token, sizeof(CK_BBOOL));
	ADD(t->pub, t->npub, CKA_LABEL, t->label, ll);
	ADD(t->priv, t->npriv, CKA_TOKEN, &t->token, sizeof(CK_BBOOL));
	ADD(t->priv, t->npriv, CKA_LABEL, t->label, ll);
	ADD(t->priv, t->npriv, CKA_PRIVATE, &t->yes, sizeof(CK_BBOOL));
	ADD(t->priv, t->npriv, CKA_SENSITIVE, &t->yes, sizeof(CK_BBOOL));
	ADD(t->sec, t->nsec, CKA_TOKEN, &t->token, sizeof(CK_BBOOL));
	ADD(t->sec, t->nsec, CKA_LABEL, t->label, ll);
	ADD(t->sec, t->nsec, CKA_PRIVATE, &t->yes, sizeof(CK_BBOOL));
	ADD(t->sec, t->nsec, CKA_SENSITIVE, &t->yes, sizeof(CK_BBOOL));

	switch (wl->alg) {
	case WA_RSA:
		t->bits = (CK_ULONG)wl->bits;
		t->exp[0] = 1;
		t->exp[1] = 0;
		t->exp[2] = 1;
		ADD(t->pub, t->npub, CKA_MODULUS_BITS, &t->bits,
		    sizeof(CK_ULONG));
		ADD(t->pub, t->npub, CKA_PUBLIC_EXPONENT, t->exp, 3);
		ADD(t->pub, t->npub, CKA_VERIFY, &t->yes, sizeof(CK_BBOOL));
		ADD(t->priv, t->npriv, CKA_SIGN, &t->yes, sizeof(CK_BBOOL));
		break;
	case WA_EC:
	case WA_ED25519:
		if (wl->alg == WA_ED25519) {
			oid = oid_ed25519;
			oidlen = sizeof(oid_ed25519);
		} else if (wl->bits == 384) {
			oid = oid_p384;
			oidlen = sizeof(oid_p384);
		}
		memcpy(t->params, oid, oidlen);
		ADD(t->pub, t->npub, CKA_EC_PARAMS, t->params, oidlen);
		if (wl->kind == WK_DERIVE) {
			ADD(t->pub, t->npub, CKA_DERIVE, &t->yes,
			    sizeof(CK_BBOOL));
			ADD(t->priv, t->npriv, CKA_DERIVE, &t->yes,
			    sizeof(CK_BBOOL));
		} else {
			ADD(t->pub, t->npub, CKA_VERIFY, &t->yes,
			    sizeof(CK_BBOOL));
			ADD(t->priv, t->npriv, CKA_SIGN, &t->yes,
			    sizeof(CK_BBOOL));
		}
		break;
	case WA_HMAC:
		t->vlen = 32;
		t->kt = CKK_GENERIC_SECRET;
		ADD(t->sec, t->nsec, CKA_VALUE_LEN, &t->vlen, sizeof(CK_ULONG));
		ADD(t->sec, t->nsec, CKA_SIGN, &t->yes, sizeof(CK_BBOOL));
		ADD(t->sec, t->nsec, CKA_VERIFY, &t->yes, sizeof(CK_BBOOL));
		break;
	default:	/* AES */
		t->vlen = 32;
		ADD(t->sec, t->nsec, CKA_VALUE_LEN, &t->vlen, sizeof(CK_ULONG));
		ADD(t->sec, t->nsec, CKA_ENCRYPT, &t->yes, sizeof(CK_BBOOL));
		ADD(t->sec, t->nsec, CKA_DECRYPT, &t->yes, sizeof(CK_BBOOL));
		break;
	}
}

void
p11_derive_tmpl(struct p11_tmpl *t)
{
	*t = (struct p11_tmpl){ 0 };
	t->yes = CK_TRUE;
	t->no = CK_FALSE;
	t->cls_sec = CKO_SECRET_KEY;
	t->kt = CKK_GENERIC_SECRET;
	t->vlen = 32;
	ADD(t->sec, t->nsec, CKA_CLASS, &t->cls_sec, sizeof(CK_ULONG));
	ADD(t->sec, t->nsec, CKA_KEY_TYPE, &t->kt, sizeof(CK_ULONG));
	ADD(t->sec, t->nsec, CKA_VALUE_LEN, &t->vlen, sizeof(CK_ULONG));
	ADD(t->sec, t->nsec, CKA_TOKEN, &t->no, sizeof(CK_BBOOL));
	ADD(t->sec, t->nsec, CKA_SENSITIVE, &t->yes, sizeof(CK_BBOOL));
	ADD(t->sec, t->nsec, CKA_EXTRACTABLE, &t->no, sizeof(CK_BBOOL));
}

void
find_label(char *buf, size_t n, unsigned i)
{
	snprintf(buf, n, "coffer-bench-find-%ld-%u", (long)getpid(), i);
}
