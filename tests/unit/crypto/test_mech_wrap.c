/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_mech_wrap.c: wrap/unwrap and derive. RFC 3394 §4.1 and RFC 5649
 * §6 vectors, wrapped keys opened by OpenSSL AES-WRAP / OAEP, ECDH checked
 * against EVP_PKEY_derive + X963KDF, SP 800-108 against NIST CAVP
 * KBKDF vectors (CounterMode.zip, as carried in OpenSSL's
 * evpkdf_kbkdf_counter.txt) and against EVP_KDF "KBKDF".
 */
#include <stdio.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/kdf.h>
#include <openssl/rsa.h>

#include "test_mech_util.h"

static void
test_rfc3394_rfc5649(void **state)
{
	struct cf_key *kek, *key, *out = NULL;
	CK_MECHANISM m = { CKM_AES_KEY_WRAP, NULL, 0 };
	uint8_t w[64], want[64], v[64];
	size_t wl, wantl, vl;

	(void)state;
	/* RFC 3394 §4.1: 128-bit key with a 128-bit KEK */
	kek = secret_from_hex(CKK_AES, "000102030405060708090A0B0C0D0E0F");
	key = secret_from_hex(CKK_AES, "00112233445566778899AABBCCDDEEFF");
	wantl = unhex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5", want,
	    sizeof(want));
	wl = sizeof(w);
	assert_int_equal(cf_wrap(&m, kek, key, w, &wl), 0);
	assert_int_equal(wl, wantl);
	assert_memory_equal(w, want, wl);
	assert_int_equal(cf_unwrap(&m, kek, want, wantl, CKO_SECRET_KEY,
	    CKK_AES, &out), 0);
	vl = sizeof(v);
	assert_int_equal(cf_key_serialize(out, v, &vl), 0);
	assert_memory_equal(v, "\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa"
	    "\xbb\xcc\xdd\xee\xff", 16);
	cf_key_free(out);
	want[3] ^= 1;
	assert_int_equal(cf_unwrap(&m, kek, want, wantl, CKO_SECRET_KEY,
	    CKK_AES, &out), COFFER_E_WRAPPED_KEY);
	assert_int_equal(cf_unwrap(&m, kek, want, 20, CKO_SECRET_KEY,
	    CKK_AES, &out), COFFER_E_WRAPPED_KEY);
	cf_key_free(kek);
	cf_key_free(key);
	/* RFC 5649 §6: 20-byte and 7-byte keys with a 192-bit KEK */
	kek = secret_from_hex(CKK_AES,
	    "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");
	key = secret_from_hex(CKK_GENERIC_SECRET,
	    "c37b7e6492584340bed12207808941155068f738");
	m.mechanism = CKM_AES_KEY_WRAP_KWP;
	wantl = unhex("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373"
	    "fa543b6a", want, sizeof(want));
	wl = sizeof(w);
	assert_int_equal(cf_wrap(&m, kek, key, w, &wl), 0);
	assert_int_equal(wl, wantl);
	assert_memory_equal(w, want, wl);
	/* RFC 3394 needs multiples of 8: a 20-byte key does not fit */
	m.mechanism = CKM_AES_KEY_WRAP;
	wl = sizeof(w);
	assert_int_equal(cf_wrap(&m, kek, key, w, &wl), COFFER_E_KEY_SIZE);
	cf_key_free(key);
	key = secret_from_hex(CKK_GENERIC_SECRET, "466f7250617369");
	m.mechanism = CKM_AES_KEY_WRAP_PAD;
	wantl = unhex("afbeb0f07dfbf5419200f2ccb50bb24f", want, sizeof(want));
	wl = sizeof(w);
	assert_int_equal(cf_wrap(&m, kek, key, w, &wl), 0);
	assert_int_equal(wl, wantl);
	assert_memory_equal(w, want, wl);
	assert_int_equal(cf_unwrap(&m, kek, want, wantl, CKO_SECRET_KEY,
	    CKK_GENERIC_SECRET, &out), 0);
	vl = sizeof(v);
	assert_int_equal(cf_key_serialize(out, v, &vl), 0);
	assert_int_equal(vl, 7);
	assert_memory_equal(v, "ForPasi", 7);
	cf_key_free(out);
	/* wrong wrapping key type */
	assert_int_equal(cf_wrap(&m, key, kek, w, &wl), COFFER_E_WRAPPING_KEY);
	cf_key_free(kek);
	cf_key_free(key);
}

/* A private key wrapped by Coffer is opened by OpenSSL (other side). */
static void
test_wrap_private_vs_openssl(void **state)
{
	struct cf_key *kek = NULL, *ec = NULL, *out = NULL, *rsa = NULL;
	CK_MECHANISM m = { CKM_AES_KEY_WRAP_KWP, NULL, 0 };
	uint8_t kv[32], w[3000], pl[3000], der[3000], ev[512];
	size_t kl = sizeof(kv), wl = sizeof(w), dl = sizeof(der), el;
	EVP_CIPHER_CTX *c;
	EVP_PKEY_CTX *pc;
	EVP_PKEY *opriv;
	CK_RSA_PKCS_OAEP_PARAMS o = { CKM_SHA256, CKG_MGF1_SHA256, 0, NULL, 0 };
	cf_rsa_aes_key_wrap_params ra = { 256, &o };
	int n, f;

	(void)state;
	assert_int_equal(cf_key_generate_secret(CKK_AES, 32, &kek), 0);
	assert_int_equal(cf_key_generate_ec_name("P-384", &ec), 0);
	assert_int_equal(cf_wrap(&m, kek, ec, w, &wl), 0);
	assert_int_equal(cf_key_serialize(kek, kv, &kl), 0);
	assert_int_equal(cf_key_serialize(ec, der, &dl), 0);
	c = EVP_CIPHER_CTX_new();
	assert_int_equal(EVP_DecryptInit_ex2(c, EVP_aes_256_wrap_pad(), kv,
	    NULL, NULL), 1);
	assert_int_equal(EVP_DecryptUpdate(c, pl, &n, w, (int)wl), 1);
	assert_int_equal(EVP_DecryptFinal_ex(c, pl + n, &f), 1);
	EVP_CIPHER_CTX_free(c);
	assert_int_equal((size_t)(n + f), dl);
	assert_memory_equal(pl, der, dl);	/* PKCS#8 DER */
	assert_int_equal(cf_unwrap(&m, kek, w, wl, CKO_PRIVATE_KEY, CKK_EC,
	    &out), 0);
	cf_key_free(out);
	assert_int_equal(cf_unwrap(&m, kek, w, wl, CKO_PRIVATE_KEY, CKK_RSA,
	    &out), COFFER_E_WRAPPED_KEY);
	/* public keys cannot be wrapped */
	{
		struct cf_key *pub = NULL;

		assert_int_equal(cf_key_public(ec, &pub), 0);
		wl = sizeof(w);
		assert_int_equal(cf_wrap(&m, kek, pub, w, &wl),
		    COFFER_E_KEY_TYPE);
		cf_key_free(pub);
	}
	/* AES-GCM wrap with a generated IV travelling in front */
	{
		CK_GCM_PARAMS g = { NULL, 0, 0, NULL, 0, 128 };
		CK_MECHANISM gm = { CKM_AES_GCM, &g, sizeof(g) };

		wl = sizeof(w);
		assert_int_equal(cf_wrap(&gm, kek, ec, w, &wl), 0);
		assert_int_equal(wl, 12 + dl + 16);
		assert_int_equal(cf_unwrap(&gm, kek, w, wl, CKO_PRIVATE_KEY,
		    CKK_EC, &out), 0);
		cf_key_free(out);
		w[20] ^= 1;
		assert_int_equal(cf_unwrap(&gm, kek, w, wl, CKO_PRIVATE_KEY,
		    CKK_EC, &out), COFFER_E_WRAPPED_KEY);
	}
	/* RSA-AES key wrap: OAEP(eph) || KWP(eph, PKCS#8), opened by EVP */
	assert_int_equal(cf_key_generate_rsa(2048, NULL, 0, &rsa), 0);
	m.mechanism = CKM_RSA_AES_KEY_WRAP;
	m.pParameter = &ra;
	m.ulParameterLen = sizeof(ra);
	{
		struct cf_key *rpub = NULL;

		assert_int_equal(cf_key_public(rsa, &rpub), 0);
		wl = sizeof(w);
		assert_int_equal(cf_wrap(&m, rpub, ec, w, &wl), 0);
		cf_key_free(rpub);
	}
	opriv = ossl_priv(rsa);
	pc = EVP_PKEY_CTX_new(opriv, NULL);
	assert_int_equal(EVP_PKEY_decrypt_init(pc), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc,
	    RSA_PKCS1_OAEP_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(pc, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha256()), 1);
	el = sizeof(ev);
	assert_int_equal(EVP_PKEY_decrypt(pc, ev, &el, w, 256), 1);
	assert_int_equal(el, 32);
	EVP_PKEY_CTX_free(pc);
	c = EVP_CIPHER_CTX_new();
	assert_int_equal(EVP_DecryptInit_ex2(c, EVP_aes_256_wrap_pad(), ev,
	    NULL, NULL), 1);
	assert_int_equal(EVP_DecryptUpdate(c, pl, &n, w + 256,
	    (int)(wl - 256)), 1);
	assert_int_equal(EVP_DecryptFinal_ex(c, pl + n, &f), 1);
	EVP_CIPHER_CTX_free(c);
	assert_int_equal((size_t)(n + f), dl);
	assert_memory_equal(pl, der, dl);
	assert_int_equal(cf_unwrap(&m, rsa, w, wl, CKO_PRIVATE_KEY, CKK_EC,
	    &out), 0);
	cf_key_free(out);
	w[wl - 1] ^= 1;
	assert_int_equal(cf_unwrap(&m, rsa, w, wl, CKO_PRIVATE_KEY, CKK_EC,
	    &out), COFFER_E_WRAPPED_KEY);
	/* RSA-OAEP wrap of an AES key, opened by EVP */
	m.mechanism = CKM_RSA_PKCS_OAEP;
	m.pParameter = &o;
	m.ulParameterLen = sizeof(o);
	wl = sizeof(w);
	assert_int_equal(cf_wrap(&m, rsa, kek, w, &wl), 0);
	pc = EVP_PKEY_CTX_new(opriv, NULL);
	assert_int_equal(EVP_PKEY_decrypt_init(pc), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc,
	    RSA_PKCS1_OAEP_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(pc, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha256()), 1);
	el = sizeof(ev);
	assert_int_equal(EVP_PKEY_decrypt(pc, ev, &el, w, wl), 1);
	EVP_PKEY_CTX_free(pc);
	assert_int_equal(el, 32);
	assert_memory_equal(ev, kv, 32);
	assert_int_equal(cf_unwrap(&m, rsa, w, wl, CKO_SECRET_KEY, CKK_AES,
	    &out), 0);
	cf_key_free(out);
	/* RSA PKCS#1 v1.5 wrap, unwrap; private keys do not fit */
	m.mechanism = CKM_RSA_PKCS;
	m.pParameter = NULL;
	m.ulParameterLen = 0;
	wl = sizeof(w);
	assert_int_equal(cf_wrap(&m, rsa, kek, w, &wl), 0);
	assert_int_equal(cf_unwrap(&m, rsa, w, wl, CKO_SECRET_KEY, CKK_AES,
	    &out), 0);
	cf_key_free(out);
	w[10] ^= 1;
	assert_int_equal(cf_unwrap(&m, rsa, w, wl, CKO_SECRET_KEY, CKK_AES,
	    &out), COFFER_E_WRAPPED_KEY);
	assert_int_equal(cf_wrap(&m, rsa, ec, w, &wl), COFFER_E_KEY_TYPE);
	EVP_PKEY_free(opriv);
	cf_key_free(rsa);
	cf_key_free(ec);
	cf_key_free(kek);
}

/* OpenSSL's Z for a's private and b's public key (full peer check). */
static size_t
ossl_ecdh_z(const struct cf_key *a, const struct cf_key *b, uint8_t *z,
    size_t cap)
{
	EVP_PKEY *oa = ossl_priv(a), *ob = ossl_pub(b);
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(oa, NULL);
	size_t zl = cap;

	assert_non_null(pc);
	assert_int_equal(EVP_PKEY_derive_init(pc), 1);
	assert_int_equal(EVP_PKEY_derive_set_peer(pc, ob), 1);
	assert_int_equal(EVP_PKEY_derive(pc, z, &zl), 1);
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(oa);
	EVP_PKEY_free(ob);
	return zl;
}

/* Coffer derives a secret of len bytes equal to want with m from a. */
static void
derives(const CK_MECHANISM *m, const struct cf_key *a, const uint8_t *want,
    size_t len)
{
	struct cf_key *k = NULL;
	uint8_t v[80];
	size_t vl = sizeof(v);

	assert_int_equal(cf_derive(m, a, CKK_GENERIC_SECRET, len, &k), 0);
	assert_int_equal(cf_key_serialize(k, v, &vl), 0);
	assert_int_equal(vl, len);
	assert_memory_equal(v, want, len);
	cf_key_free(k);
}

/* ECDH from a with the peer point pd refused as a bad parameter. */
static void
refuses_peer(const struct cf_key *a, const uint8_t *pd, size_t pdl)
{
	CK_ECDH1_DERIVE_PARAMS p = { CKD_NULL, 0, NULL, pdl,
	    (uint8_t *)(uintptr_t)pd };
	CK_MECHANISM m = { CKM_ECDH1_DERIVE, &p, sizeof(p) };
	struct cf_key *k = NULL;

	assert_int_equal(cf_derive(&m, a, CKK_GENERIC_SECRET, 16, &k),
	    COFFER_E_MECH_PARAM);
	assert_null(k);
}

static void
test_ecdh(void **state)
{
	struct cf_key *a = NULL, *b = NULL, *ka = NULL, *kb = NULL;
	uint8_t pb[200], pbr[200], va[64], vb[64], z[80], ref[64];
	size_t pbl = sizeof(pb), pbrl = sizeof(pbr), val, vbl, zl;
	CK_ECDH1_DERIVE_PARAMS p = { CKD_NULL, 0, NULL, 0, NULL };
	CK_MECHANISM m = { CKM_ECDH1_DERIVE, &p, sizeof(p) };
	EVP_KDF *kdf;
	EVP_KDF_CTX *kc;
	OSSL_PARAM prm[4];

	(void)state;
	assert_int_equal(cf_key_generate_ec_name("P-256", &a), 0);
	assert_int_equal(cf_key_generate_ec_name("P-256", &b), 0);
	assert_int_equal(cf_key_get_attr(b, CKA_EC_POINT, pb, &pbl), 0);
	memcpy(pbr, pb + 2, pbl - 2);	/* raw uncompressed point */
	pbrl = pbl - 2;
	/* OpenSSL side: Z */
	zl = ossl_ecdh_z(a, b, z, sizeof(z));
	assert_int_equal(zl, 32);
	/* null KDF, raw point */
	p.public_data = pbr;
	p.public_data_len = pbrl;
	derives(&m, a, z, 32);
	/* X9.63 SHA-256 KDF with shared data, DER point; both sides agree */
	p.kdf = CKD_SHA256_KDF;
	p.shared_data = (unsigned char *)"info";
	p.shared_data_len = 4;
	p.public_data = pb;
	p.public_data_len = pbl;
	assert_int_equal(cf_derive(&m, a, CKK_AES, 32, &ka), 0);
	pbl = sizeof(pb);
	assert_int_equal(cf_key_get_attr(a, CKA_EC_POINT, pb, &pbl), 0);
	p.public_data_len = pbl;
	assert_int_equal(cf_derive(&m, b, CKK_AES, 32, &kb), 0);
	val = sizeof(va);
	vbl = sizeof(vb);
	assert_int_equal(cf_key_serialize(ka, va, &val), 0);
	assert_int_equal(cf_key_serialize(kb, vb, &vbl), 0);
	assert_memory_equal(va, vb, 32);
	kdf = EVP_KDF_fetch(NULL, "X963KDF", NULL);
	kc = EVP_KDF_CTX_new(kdf);
	prm[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	prm[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z, 32);
	prm[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    (void *)"info", 4);
	prm[3] = OSSL_PARAM_construct_end();
	assert_int_equal(EVP_KDF_derive(kc, ref, 32, prm), 1);
	EVP_KDF_CTX_free(kc);
	EVP_KDF_free(kdf);
	assert_memory_equal(va, ref, 32);
	cf_key_free(ka);
	cf_key_free(kb);
	/* bad inputs */
	pb[pbl - 1] ^= 1;	/* point off the curve */
	assert_int_equal(cf_derive(&m, a, CKK_AES, 32, &ka),
	    COFFER_E_MECH_PARAM);
	p.kdf = 99;
	assert_int_equal(cf_derive(&m, a, CKK_AES, 32, &ka),
	    COFFER_E_MECH_PARAM);
	p.kdf = CKD_NULL;
	assert_int_equal(cf_derive(&m, a, CKK_AES, 32, &ka),
	    COFFER_E_MECH_PARAM);	/* shared data with null KDF */
	assert_int_equal(cf_derive(&m, a, CKK_DES3, 24, &ka),
	    COFFER_E_MECHANISM);
	cf_key_free(a);
	cf_key_free(b);
}

/*
 * Every curve OpenSSL knows that Coffer takes for a key has cofactor 1:
 * ECDH checks a peer point only on the curve and not at infinity
 * (ops_wrap.c peer_key), complete only then. Asked of Coffer itself
 * (cf_key_generate_ec_name accepts the curves of its table), so a curve
 * with a cofactor added to the table fails here.
 */
static void
test_curves_cofactor_one(void **state)
{
	EC_builtin_curve *all;
	size_t n = EC_get_builtin_curves(NULL, 0), i, taken = 0;
	struct cf_key *k = NULL;
	EC_GROUP *g;

	(void)state;
	assert_non_null(all = calloc(n, sizeof(*all)));
	assert_int_equal(EC_get_builtin_curves(all, n), n);
	for (i = 0; i < n; i++) {
		const char *sn = OBJ_nid2sn(all[i].nid);

		if (sn == NULL || cf_key_generate_ec_name(sn, &k) != 0)
			continue;
		cf_key_free(k);
		k = NULL;
		assert_non_null(g = EC_GROUP_new_by_curve_name(all[i].nid));
		assert_true(BN_is_one(EC_GROUP_get0_cofactor(g)));
		EC_GROUP_free(g);
		taken++;
	}
	free(all);
	/* P-224, P-256 (prime256v1), P-384, P-521, secp256k1 */
	assert_int_equal(taken, 5);
}

/*
 * ECDH on every Weierstrass curve we take, against OpenSSL's derivation
 * with its full peer check (Coffer's lighter check: see
 * test_curves_cofactor_one). Also: compressed peer points, a point of
 * another curve, an x with no point, truncated and empty points.
 */
static void
test_ecdh_curves(void **state)
{
	static const char *const names[] = { "P-224", "P-256", "P-384",
	    "P-521", "secp256k1" };
	struct cf_key *a = NULL, *b = NULL, *other = NULL, *ka = NULL;
	uint8_t pb[300], po[300], z[80];
	size_t pbl, pol, zl, i, rawl;
	int j, rc = 0;
	CK_ECDH1_DERIVE_PARAMS p = { CKD_NULL, 0, NULL, 0, NULL };
	CK_MECHANISM m = { CKM_ECDH1_DERIVE, &p, sizeof(p) };
	EC_GROUP *g;
	EC_POINT *pt;
	unsigned char *comp = NULL;
	size_t compl;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int nid = EC_curve_nist2nid(names[i]);

		if (nid == NID_undef)
			nid = OBJ_sn2nid(names[i]);
		assert_int_not_equal(nid, NID_undef);
		assert_non_null(g = EC_GROUP_new_by_curve_name(nid));
		assert_true(BN_is_one(EC_GROUP_get0_cofactor(g)));

		assert_int_equal(cf_key_generate_ec_name(names[i], &a), 0);
		assert_int_equal(cf_key_generate_ec_name(names[i], &b), 0);
		pbl = sizeof(pb);
		assert_int_equal(cf_key_get_attr(b, CKA_EC_POINT, pb, &pbl),
		    0);
		zl = ossl_ecdh_z(a, b, z, sizeof(z));
		/* DER point */
		p.public_data = pb;
		p.public_data_len = pbl;
		derives(&m, a, z, zl);
		/* compressed point, as OpenSSL encodes it */
		assert_non_null(pt = EC_POINT_new(g));
		rawl = 2 * (((size_t)EC_GROUP_get_degree(g) + 7) / 8) + 1;
		assert_true(pbl > rawl);
		assert_int_equal(EC_POINT_oct2point(g, pt, pb + (pbl - rawl),
		    rawl, NULL), 1);
		compl = EC_POINT_point2buf(g, pt, POINT_CONVERSION_COMPRESSED,
		    &comp, NULL);
		EC_POINT_free(pt);
		assert_true(compl > 0 && (comp[0] == 2 || comp[0] == 3));
		p.public_data = comp;
		p.public_data_len = compl;
		derives(&m, a, z, zl);
		/*
		 * An x with no point: about half of all x have none; try
		 * 64 values of the last byte (all 64 on the curve: 2^-64).
		 */
		for (j = 0; j < 64; j++) {
			comp[compl - 1] = (uint8_t)(comp[compl - 1] + 1);
			if ((rc = cf_derive(&m, a, CKK_GENERIC_SECRET, zl,
			    &ka)) != 0)
				break;
			cf_key_free(ka);
			ka = NULL;
		}
		assert_int_equal(rc, COFFER_E_MECH_PARAM);
		OPENSSL_free(comp);
		comp = NULL;
		EC_GROUP_free(g);
		/* a point of another curve */
		assert_int_equal(cf_key_generate_ec_name(i == 1 ? "P-384" :
		    "P-256", &other), 0);
		pol = sizeof(po);
		assert_int_equal(cf_key_get_attr(other, CKA_EC_POINT, po,
		    &pol), 0);
		refuses_peer(a, po, pol);
		/* truncated, empty, absent */
		refuses_peer(a, pb, pbl - 1);
		refuses_peer(a, pb, 2);
		refuses_peer(a, NULL, 0);
		cf_key_free(other);
		cf_key_free(a);
		cf_key_free(b);
	}
}

static void
kbkdf_cavp(CK_MECHANISM_TYPE prf, CK_KEY_TYPE kt, const char *key,
    const char *fixed, const char *want)
{
	uint8_t fx[128], w[64], v[64];
	size_t fl = unhex(fixed, fx, sizeof(fx)), wl = unhex(want, w, sizeof(w));
	size_t vl = sizeof(v);
	CK_SP800_108_COUNTER_FORMAT cf = { 0, 32 };
	CK_PRF_DATA_PARAM dp[2] = {
		{ CK_SP800_108_ITERATION_VARIABLE, &cf, sizeof(cf) },
		{ CK_SP800_108_BYTE_ARRAY, fx, fl },
	};
	CK_SP800_108_KDF_PARAMS p = { prf, 2, dp, 0, NULL };
	CK_MECHANISM m = { CKM_SP800_108_COUNTER_KDF, &p, sizeof(p) };
	struct cf_key *base = secret_from_hex(kt, key), *out = NULL;

	assert_int_equal(cf_derive(&m, base, CKK_GENERIC_SECRET, wl, &out), 0);
	assert_int_equal(cf_key_serialize(out, v, &vl), 0);
	assert_int_equal(vl, wl);
	assert_memory_equal(v, w, wl);
	cf_key_free(out);
	cf_key_free(base);
}

static void
test_kbkdf(void **state)
{
	struct cf_key *base = NULL, *out = NULL;
	CK_SP800_108_COUNTER_FORMAT cf = { 0, 32 };
	CK_SP800_108_DKM_LENGTH_FORMAT df = {
	    CK_SP800_108_DKM_LENGTH_SUM_OF_KEYS, 0, 32 };
	uint8_t zero = 0, v[100], ref[100], kv[32];
	size_t vl = sizeof(v), kl = sizeof(kv);
	CK_PRF_DATA_PARAM dp[5] = {
		{ CK_SP800_108_ITERATION_VARIABLE, &cf, sizeof(cf) },
		{ CK_SP800_108_BYTE_ARRAY, (void *)"label", 5 },
		{ CK_SP800_108_BYTE_ARRAY, &zero, 1 },
		{ CK_SP800_108_BYTE_ARRAY, (void *)"context", 7 },
		{ CK_SP800_108_DKM_LENGTH, &df, sizeof(df) },
	};
	CK_SP800_108_KDF_PARAMS p = { CKM_SHA384_HMAC, 5, dp, 0, NULL };
	CK_MECHANISM m = { CKM_SP800_108_COUNTER_KDF, &p, sizeof(p) };
	EVP_KDF *kdf;
	EVP_KDF_CTX *kc;
	OSSL_PARAM prm[7];

	(void)state;
	/* NIST CAVP KBKDF counter mode, BEFORE_FIXED, RLEN=32, COUNT=0 */
	kbkdf_cavp(CKM_AES_CMAC, CKK_AES, "c10b152e8c97b77e18704e0f0bd38305",
	    "98cd4cbbbebe15d17dc86e6dbad800a2dcbd64f7c7ad0e78e9cf94ffdba89d03"
	    "e97eadf6c4f7b806caf52aa38f09d0eb71d71f497bcc6906b48d36c4",
	    "26faf61908ad9ee881b8305c221db53f");
	kbkdf_cavp(CKM_SHA256_HMAC, CKK_GENERIC_SECRET,
	    "dd1d91b7d90b2bd3138533ce92b272fbf8a369316aefe242e659cc0ae238afe0",
	    "01322b96b30acd197979444e468e1c5c6859bf1b1cf951b7e725303e237e46b8"
	    "64a145fab25e517b08f8683d0315bb2911d80a0e8aba17f3b413faac",
	    "10621342bfb0fd40046c0e29f2cfdbf0");
	/* label || 00 || context || [L]32 layout against EVP_KDF KBKDF,
	 * 100 bytes = 3 blocks of HMAC-SHA384 */
	assert_int_equal(cf_key_generate_secret(CKK_GENERIC_SECRET, 32, &base),
	    0);
	assert_int_equal(cf_derive(&m, base, CKK_GENERIC_SECRET, 100, &out),
	    0);
	assert_int_equal(cf_key_serialize(out, v, &vl), 0);
	assert_int_equal(cf_key_serialize(base, kv, &kl), 0);
	kdf = EVP_KDF_fetch(NULL, "KBKDF", NULL);
	kc = EVP_KDF_CTX_new(kdf);
	prm[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC,
	    (char *)"HMAC", 0);
	prm[1] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA384", 0);
	prm[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, kv, kl);
	prm[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)"label", 5);
	prm[4] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    (void *)"context", 7);
	prm[5] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE,
	    (char *)"counter", 0);
	prm[6] = OSSL_PARAM_construct_end();
	assert_int_equal(EVP_KDF_derive(kc, ref, 100, prm), 1);
	EVP_KDF_CTX_free(kc);
	EVP_KDF_free(kdf);
	assert_memory_equal(v, ref, 100);
	cf_key_free(out);
	/* bad params */
	p.ulNumberOfDataParams = 4;
	dp[0].type = CK_SP800_108_BYTE_ARRAY;	/* no counter */
	assert_int_equal(cf_derive(&m, base, CKK_AES, 32, &out),
	    COFFER_E_MECH_PARAM);
	dp[0].type = CK_SP800_108_ITERATION_VARIABLE;
	cf.ulWidthInBits = 12;
	assert_int_equal(cf_derive(&m, base, CKK_AES, 32, &out),
	    COFFER_E_MECH_PARAM);
	cf.ulWidthInBits = 32;
	p.prfType = CKM_SHA256_RSA_PKCS;
	assert_int_equal(cf_derive(&m, base, CKK_AES, 32, &out),
	    COFFER_E_MECH_PARAM);
	p.prfType = CKM_AES_CMAC;	/* CMAC needs an AES base key */
	assert_int_equal(cf_derive(&m, base, CKK_AES, 32, &out),
	    COFFER_E_KEY_TYPE);
	p.prfType = CKM_SHA256_HMAC;
	assert_int_equal(cf_derive(&m, base, CKK_AES, 20, &out),
	    COFFER_E_KEY_SIZE);
	cf_key_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3394_rfc5649),
		cmocka_unit_test(test_wrap_private_vs_openssl),
		cmocka_unit_test(test_ecdh),
		cmocka_unit_test(test_ecdh_curves),
		cmocka_unit_test(test_curves_cofactor_one),
		cmocka_unit_test(test_kbkdf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
