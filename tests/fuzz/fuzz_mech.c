/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_mech.c: libFuzzer target for the crypto engine's handling of
 * mechanism parameters and data (src/crypto/ops.c, ops_wrap.c): what a
 * client controls in CryptoInit/OneShot, WrapKey, UnwrapKey and DeriveKey.
 * Parameter blocks are built the way the node's mech_from_pb
 * (src/hsm/handlers_crypto.c) builds them from the wire: structures of the
 * right size whose pointers point into the request, with any lengths and
 * numbers the client sent.
 *
 * Input: op, mechanism, key (one byte each), then the parameters as the
 * mechanism's kind reads them (see rd_params), then a chunk size byte and
 * the data. Checks: no crash, leak or UB; what encrypts with a parameter
 * set decrypts back with it; what signs verifies; what wraps unwraps to
 * the same key; output lengths never exceed the buffers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "coffer/coffer_err.h"
#include "common/p11ext.h"
#include "crypto/keys.h"
#include "crypto/mech.h"
#include "fuzz_input.h"

#define KDF_MAX_PARAMS	CF_P11EXT_KDF_MAX_PARAMS	/* as handlers_crypto.c */
/* PKCS#11 3.0 values p11-kit's header lacks */
#define CKM_SHA3_256_HMAC_	0x2b1UL
#define CKM_SHA3_256_RSA_PKCS_	0x60UL
#define OUT_SLACK	1024


/* --- input reader ---------------------------------------------------- */


/* One byte picks a table entry; 0xff reads a raw 64-bit value. */
static uint64_t
rd_pick(struct rd *r, const uint64_t *tab, size_t n)
{
	uint8_t b = rd_u8(r);

	if (b == 0xff)
		return rd_u64(r);
	return tab[b % n];
}

/* A byte string: one length byte (0x80 bit: a second byte follows). */
static const uint8_t *
rd_bytes(struct rd *r, size_t *len)
{
	const uint8_t *p;
	size_t n = rd_u8(r);

	if (n & 0x80)
		n = (n & 0x7f) << 8 | rd_u8(r);
	if (n > r->n)
		n = r->n;
	p = r->p;
	r->p += n;
	r->n -= n;
	*len = n;
	return n > 0 ? p : NULL;
}

/* --- keys ------------------------------------------------------------ */

enum { K_AES128, K_AES256, K_GENERIC, K_RSA, K_RSA_PUB, K_P256, K_P256_PUB,
	K_ED25519, K_NKEYS };
static struct cf_key *keys[K_NKEYS];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	check(cf_key_generate_secret(CKK_AES, 16, &keys[K_AES128]) == 0);
	check(cf_key_generate_secret(CKK_AES, 32, &keys[K_AES256]) == 0);
	check(cf_key_generate_secret(CKK_GENERIC_SECRET, 32,
	    &keys[K_GENERIC]) == 0);
	check(cf_key_generate_rsa(2048, NULL, 0, &keys[K_RSA]) == 0);
	check(cf_key_public(keys[K_RSA], &keys[K_RSA_PUB]) == 0);
	check(cf_key_generate_ec_name("P-256", &keys[K_P256]) == 0);
	check(cf_key_public(keys[K_P256], &keys[K_P256_PUB]) == 0);
	check(cf_key_generate_ec_name("ED25519", &keys[K_ED25519]) == 0);
	return 0;
}

/* --- mechanisms ------------------------------------------------------ */

enum pkind { P_NONE, P_IV, P_PSS, P_OAEP, P_GCM, P_CTR, P_ECDH1, P_KBKDF,
	P_RSA_AES, P_MAC_LEN };

static const struct {
	CK_MECHANISM_TYPE	 type;
	enum pkind		 kind;
} mechs[] = {
	{ CKM_AES_ECB, P_NONE }, { CKM_AES_CBC, P_IV },
	{ CKM_AES_CBC_PAD, P_IV }, { CKM_AES_CTR, P_CTR },
	{ CKM_AES_GCM, P_GCM }, { CKM_AES_KEY_WRAP, P_IV },
	{ CKM_AES_KEY_WRAP_PAD, P_IV }, { CKM_AES_KEY_WRAP_KWP, P_IV },
	{ CKM_AES_CMAC, P_NONE }, { CKM_AES_CMAC_GENERAL, P_MAC_LEN },
	{ CKM_SHA256_HMAC, P_NONE }, { CKM_SHA_1_HMAC_GENERAL, P_MAC_LEN },
	{ CKM_SHA512_HMAC_GENERAL, P_MAC_LEN },
	{ CKM_SHA3_256_HMAC_, P_NONE },
	{ CKM_RSA_PKCS, P_NONE }, { CKM_RSA_X_509, P_NONE },
	{ CKM_RSA_PKCS_OAEP, P_OAEP }, { CKM_RSA_PKCS_PSS, P_PSS },
	{ CKM_SHA256_RSA_PKCS_PSS, P_PSS }, { CKM_SHA1_RSA_PKCS_PSS, P_PSS },
	{ CKM_SHA256_RSA_PKCS, P_NONE },
	{ CKM_SHA3_256_RSA_PKCS_, P_NONE },
	{ CKM_RSA_AES_KEY_WRAP, P_RSA_AES }, { CKM_ECDSA, P_NONE },
	{ CKM_ECDSA_SHA256, P_NONE }, { CKM_EDDSA, P_NONE },
	{ CKM_ECDH1_DERIVE, P_ECDH1 }, { CKM_SP800_108_COUNTER_KDF, P_KBKDF },
	{ CKM_SHA256, P_NONE }, { CKM_SHA3_512, P_NONE }, { CKM_SHA_1, P_NONE },
};
#define NMECHS (sizeof(mechs) / sizeof(mechs[0]))

static const uint64_t hashes[] = {
	CKM_SHA_1, CKM_SHA224, CKM_SHA256, CKM_SHA384, CKM_SHA512,
	CKM_SHA3_256, CKM_SHA3_512, CKM_MD5,
};
static const uint64_t mgfs[] = {
	CKG_MGF1_SHA1, CKG_MGF1_SHA224, CKG_MGF1_SHA256, CKG_MGF1_SHA384,
	CKG_MGF1_SHA512, 0, 0x0a,
};
static const uint64_t small[] = {
	0, 1, 8, 12, 16, 20, 24, 32, 48, 60, 64, 96, 104, 112, 120, 128,
	129, 256, 0x7fffffff, 0x80000000, UINT32_MAX,
};
static const uint64_t kdfs[] = {
	CKD_NULL, CKD_SHA1_KDF, CKD_SHA224_KDF, CKD_SHA256_KDF,
	CKD_SHA384_KDF, CKD_SHA512_KDF, 0x0a,
};
static const uint64_t prfs[] = {
	CKM_SHA_1_HMAC, CKM_SHA256_HMAC, CKM_SHA512_HMAC, CKM_AES_CMAC,
	CKM_SHA3_256_HMAC_,
};
#define N(a) (sizeof(a) / sizeof(a[0]))

/* Parameter storage: the union of handlers_crypto.c's struct mechbuf. */
struct mechbuf {
	CK_MECHANISM m;
	union {
		CK_RSA_PKCS_PSS_PARAMS pss;
		CK_RSA_PKCS_OAEP_PARAMS oaep;
		CK_GCM_PARAMS gcm;
		CK_AES_CTR_PARAMS ctr;
		CK_ECDH1_DERIVE_PARAMS ecdh;
		CK_SP800_108_KDF_PARAMS kdf;
		cf_rsa_aes_key_wrap_params ra;
		cf_mac_general_params mac;
	} u;
	CK_RSA_PKCS_OAEP_PARAMS oaep2;
	CK_PRF_DATA_PARAM prf[KDF_MAX_PARAMS];
	CK_SP800_108_COUNTER_FORMAT cfmt[KDF_MAX_PARAMS];
	CK_SP800_108_DKM_LENGTH_FORMAT dfmt[KDF_MAX_PARAMS];
};

static void
rd_oaep(struct rd *r, CK_RSA_PKCS_OAEP_PARAMS *o)
{
	size_t n;

	o->hashAlg = rd_pick(r, hashes, N(hashes));
	o->mgf = rd_pick(r, mgfs, N(mgfs));
	o->source = rd_u8(r) & 1 ? CKZ_DATA_SPECIFIED : rd_u8(r);
	o->pSourceData = (void *)rd_bytes(r, &n);
	o->ulSourceDataLen = n;
}

static void
rd_kdf(struct rd *r, struct mechbuf *b)
{
	const uint8_t *v;
	size_t i, cnt, n;

	b->u.kdf.prfType = rd_pick(r, prfs, N(prfs));
	cnt = rd_u8(r) % (KDF_MAX_PARAMS + 1);
	b->u.kdf.ulNumberOfDataParams = cnt;
	b->u.kdf.pDataParams = cnt > 0 ? b->prf : NULL;
	for (i = 0; i < cnt; i++) {
		b->prf[i].type = rd_u8(r) % 5;
		switch (b->prf[i].type) {
		case CK_SP800_108_ITERATION_VARIABLE:
		case CK_SP800_108_OPTIONAL_COUNTER:
			b->cfmt[i].bLittleEndian = rd_u8(r) & 1;
			b->cfmt[i].ulWidthInBits = rd_pick(r, small, N(small));
			b->prf[i].pValue = &b->cfmt[i];
			b->prf[i].ulValueLen = sizeof(b->cfmt[i]);
			break;
		case CK_SP800_108_DKM_LENGTH:
			b->dfmt[i].dkmLengthMethod = rd_u8(r) % 4;
			b->dfmt[i].bLittleEndian = rd_u8(r) & 1;
			b->dfmt[i].ulWidthInBits = rd_pick(r, small, N(small));
			b->prf[i].pValue = &b->dfmt[i];
			b->prf[i].ulValueLen = sizeof(b->dfmt[i]);
			break;
		default:
			v = rd_bytes(r, &n);
			b->prf[i].pValue = (void *)v;
			b->prf[i].ulValueLen = n;
			break;
		}
	}
}

/* Builds the mechanism as the node does from a wire Mechanism. */
static void
rd_params(struct rd *r, enum pkind kind, struct mechbuf *b)
{
	const uint8_t *p;
	size_t n;

	switch (kind) {
	case P_NONE:
		break;
	case P_IV:
		b->m.pParameter = (void *)rd_bytes(r, &n);
		b->m.ulParameterLen = n;
		break;
	case P_PSS:
		b->u.pss.hashAlg = rd_pick(r, hashes, N(hashes));
		b->u.pss.mgf = rd_pick(r, mgfs, N(mgfs));
		b->u.pss.sLen = rd_pick(r, small, N(small));
		b->m.pParameter = &b->u.pss;
		b->m.ulParameterLen = sizeof(b->u.pss);
		break;
	case P_OAEP:
		rd_oaep(r, &b->u.oaep);
		b->m.pParameter = &b->u.oaep;
		b->m.ulParameterLen = sizeof(b->u.oaep);
		break;
	case P_GCM:
		b->u.gcm.pIv = (void *)rd_bytes(r, &n);
		b->u.gcm.ulIvLen = n;
		b->u.gcm.ulIvBits = rd_u8(r) & 1 ? n * 8 :
		    rd_pick(r, small, N(small));
		b->u.gcm.pAAD = (void *)rd_bytes(r, &n);
		b->u.gcm.ulAADLen = n;
		b->u.gcm.ulTagBits = rd_pick(r, small, N(small));
		b->m.pParameter = &b->u.gcm;
		b->m.ulParameterLen = sizeof(b->u.gcm);
		break;
	case P_CTR:
		b->u.ctr.ulCounterBits = rd_pick(r, small, N(small));
		p = rd_bytes(r, &n);
		if (n > sizeof(b->u.ctr.cb))
			n = sizeof(b->u.ctr.cb);
		if (n > 0)
			memcpy(b->u.ctr.cb, p, n);
		b->m.pParameter = &b->u.ctr;
		b->m.ulParameterLen = sizeof(b->u.ctr);
		break;
	case P_ECDH1:
		b->u.ecdh.kdf = rd_pick(r, kdfs, N(kdfs));
		b->u.ecdh.pSharedData = (void *)rd_bytes(r, &n);
		b->u.ecdh.ulSharedDataLen = n;
		b->u.ecdh.pPublicData = (void *)rd_bytes(r, &n);
		b->u.ecdh.ulPublicDataLen = n;
		b->m.pParameter = &b->u.ecdh;
		b->m.ulParameterLen = sizeof(b->u.ecdh);
		break;
	case P_KBKDF:
		rd_kdf(r, b);
		b->m.pParameter = &b->u.kdf;
		b->m.ulParameterLen = sizeof(b->u.kdf);
		break;
	case P_RSA_AES:
		b->u.ra.ulAESKeyBits = rd_pick(r, small, N(small));
		if (rd_u8(r) & 1) {
			rd_oaep(r, &b->oaep2);
			b->u.ra.pOAEPParams = &b->oaep2;
		}
		b->m.pParameter = &b->u.ra;
		b->m.ulParameterLen = sizeof(b->u.ra);
		break;
	case P_MAC_LEN:
		b->u.mac = rd_pick(r, small, N(small));
		b->m.pParameter = &b->u.mac;
		b->m.ulParameterLen = sizeof(b->u.mac);
		break;
	}
}

/* --- operations ------------------------------------------------------ */

/* Multi-part: chunks of chunk bytes, then final; 0 and the output. */
static int
multipart(const CK_MECHANISM *m, const struct cf_key *k, enum cf_purpose p,
    const uint8_t *in, size_t n, size_t chunk, uint8_t **out, size_t *olen)
{
	struct cf_op *op = NULL;
	uint8_t *buf;
	size_t cap = n + OUT_SLACK, used = 0, take, got, off = 0;
	int rc;

	*out = NULL;
	*olen = 0;
	check((buf = malloc(cap)) != NULL);
	if ((rc = cf_op_init(m, k, p, &op)) != 0) {
		check(op == NULL);
		free(buf);
		return rc;
	}
	do {
		take = n - off < chunk ? n - off : chunk;
		got = cap - used;
		if (p == CF_ENCRYPT || p == CF_DECRYPT)
			rc = cf_op_update(op, in + off, take, buf + used,
			    &got);
		else {
			rc = cf_op_update(op, in + off, take, NULL, &got);
			check(rc != 0 || got == 0);
		}
		if (rc != 0)
			goto out;
		check(got <= cap - used);
		used += got;
		off += take;
	} while (off < n);
	got = cap - used;
	if (p == CF_VERIFY)
		rc = cf_op_verify_final(op, in, n > 64 ? 64 : n);
	else
		rc = cf_op_final(op, buf + used, &got);
	if (rc == 0 && p != CF_VERIFY) {
		check(got <= cap - used);
		used += got;
	}
 out:
	cf_op_free(op);
	if (rc != 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	*olen = used;
	return 0;
}

static void
roundtrip_crypt(const CK_MECHANISM *m, const struct cf_key *k,
    const uint8_t *in, size_t n, const uint8_t *ct, size_t ctlen)
{
	const struct cf_key *dk = k;
	uint8_t *pt;
	size_t i, ptlen = ctlen + OUT_SLACK;
	int rc;

	/* Random IVs (GCM with no IV) cannot be decrypted with m. */
	if (m->mechanism == CKM_AES_GCM &&
	    ((const CK_GCM_PARAMS *)m->pParameter)->pIv == NULL)
		return;
	if (k == keys[K_RSA_PUB])
		dk = keys[K_RSA];
	check((pt = malloc(ptlen)) != NULL);
	rc = cf_decrypt(m, dk, ct, ctlen, pt, &ptlen);
	check(rc == 0);
	if (m->mechanism == CKM_RSA_X_509) {
		/* raw RSA: the value comes back as k bytes, zero-padded */
		check(ptlen >= n && (n == 0 ||
		    memcmp(pt + ptlen - n, in, n) == 0));
		for (i = 0; i < ptlen - n; i++)
			check(pt[i] == 0);
	} else
		check(ptlen == n && (n == 0 || memcmp(pt, in, n) == 0));
	free(pt);
}

static void
roundtrip_sign(const CK_MECHANISM *m, const struct cf_key *k,
    const uint8_t *in, size_t n, const uint8_t *sig, size_t slen)
{
	check(cf_verify(m, k, in, n, sig, slen) == 0);
}

static void
do_wrap(const CK_MECHANISM *m, const struct cf_key *wk, uint8_t which)
{
	static const CK_KEY_TYPE types[] = { CKK_AES, CKK_AES,
	    CKK_GENERIC_SECRET, CKK_RSA, CKK_RSA, CKK_EC, CKK_EC,
	    CKK_EC_EDWARDS };
	const struct cf_key *k = keys[which % K_NKEYS];
	const struct cf_key *uk = wk;
	struct cf_key *back = NULL;
	uint8_t *w, a[8], b[8];
	size_t n = 0, an, bn;
	CK_OBJECT_CLASS cls;
	int rc;

	if ((rc = cf_wrap(m, wk, k, NULL, &n)) != 0)
		return;
	check(n > 0 && n < 1 << 20);
	check((w = malloc(n)) != NULL);
	rc = cf_wrap(m, wk, k, w, &n);
	/* A NULL GCM IV is drawn at random per call: the length holds. */
	if (rc != 0) {
		free(w);
		return;
	}
	if (wk == keys[K_RSA_PUB])
		uk = keys[K_RSA];
	cls = cf_key_class(k);
	rc = cf_unwrap(m, uk, w, n, cls, types[which % K_NKEYS], &back);
	check(rc == 0);
	check(cf_key_type(back) == cf_key_type(k));
	if (cls == CKO_SECRET_KEY) {
		an = bn = sizeof(a);
		check(cf_key_get_attr(k, CKA_CHECK_VALUE, a, &an) == 0);
		check(cf_key_get_attr(back, CKA_CHECK_VALUE, b, &bn) == 0);
		check(an == bn && memcmp(a, b, an) == 0);
	}
	cf_key_free(back);
	free(w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const CK_KEY_TYPE dtypes[] = { CKK_AES, CKK_GENERIC_SECRET,
	    CKK_RSA, CKK_EC, CKK_DES3 };
	struct rd r = { data, size };
	struct mechbuf b = {0};
	struct cf_key *out = NULL;
	const struct cf_key *k;
	uint8_t op, mi, ki, *res = NULL;
	size_t chunk, n, rlen, len;
	enum cf_purpose p;
	int rc;

	op = rd_u8(&r) % 8;
	mi = rd_u8(&r) % NMECHS;
	ki = rd_u8(&r);
	k = keys[ki % K_NKEYS];
	b.m.mechanism = mechs[mi].type;
	rd_params(&r, mechs[mi].kind, &b);
	chunk = (size_t)rd_u8(&r) + 1;
	n = r.n;
	switch (op) {
	case 0: case 1: case 2: case 3: case 4:
		p = (enum cf_purpose)(op + 1);
		rc = multipart(&b.m, p == CF_DIGEST ? NULL : k, p, r.p, n,
		    chunk, &res, &rlen);
		if (rc != 0)
			break;
		if (p == CF_ENCRYPT)
			roundtrip_crypt(&b.m, k, r.p, n, res, rlen);
		else if (p == CF_SIGN)
			roundtrip_sign(&b.m, k, r.p, n, res, rlen);
		free(res);
		break;
	case 5:
		rc = cf_unwrap(&b.m, k, r.p, n, ki & 0x80 ? CKO_PRIVATE_KEY :
		    CKO_SECRET_KEY, dtypes[(ki >> 4) % N(dtypes)], &out);
		check(rc == 0 ? out != NULL : out == NULL);
		cf_key_free(out);
		break;
	case 6:
		len = n > 0 ? r.p[0] * 4 : 16;
		rc = cf_derive(&b.m, k, dtypes[(ki >> 4) % N(dtypes)], len,
		    &out);
		check(rc == 0 ? out != NULL : out == NULL);
		cf_key_free(out);
		break;
	default:
		do_wrap(&b.m, k, ki >> 4);
		break;
	}
	ERR_clear_error();
	return 0;
}
