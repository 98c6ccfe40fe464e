/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_mech_sign.c: sign/verify mechanisms. Every Coffer signature is
 * checked by OpenSSL EVP with the exported public key, and OpenSSL-made
 * signatures are checked by Coffer; MACs against RFC 4231 / RFC 4493;
 * Ed25519 against RFC 8032 test 1; bad inputs give precise errors.
 */
#include <pthread.h>
#include <stdio.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "test_mech_util.h"

static struct cf_key *rsa;	/* 2048-bit, made once */

static int
setup(void **state)
{
	(void)state;
	return cf_key_generate_rsa(2048, NULL, 0, &rsa);
}

static int
teardown(void **state)
{
	(void)state;
	cf_key_free(rsa);
	return 0;
}

static const uint8_t msg[] = "The quick brown fox jumps over the lazy dog";

static const struct {
	CK_MECHANISM_TYPE rsa, pss, ecdsa, hash;
	const char *md;
	size_t hlen;
} hashes[] = {
	{ CKM_SHA1_RSA_PKCS, CKM_SHA1_RSA_PKCS_PSS, CKM_ECDSA_SHA1, CKM_SHA_1,
	    "SHA1", 20 },
	{ CKM_SHA224_RSA_PKCS, CKM_SHA224_RSA_PKCS_PSS, CKM_ECDSA_SHA224,
	    CKM_SHA224, "SHA224", 28 },
	{ CKM_SHA256_RSA_PKCS, CKM_SHA256_RSA_PKCS_PSS, CKM_ECDSA_SHA256,
	    CKM_SHA256, "SHA256", 32 },
	{ CKM_SHA384_RSA_PKCS, CKM_SHA384_RSA_PKCS_PSS, CKM_ECDSA_SHA384,
	    CKM_SHA384, "SHA384", 48 },
	{ CKM_SHA512_RSA_PKCS, CKM_SHA512_RSA_PKCS_PSS, CKM_ECDSA_SHA512,
	    CKM_SHA512, "SHA512", 64 },
};
#define NH (sizeof(hashes) / sizeof(hashes[0]))

static CK_ULONG
mgf_of(CK_MECHANISM_TYPE h)
{
	switch (h) {
	case CKM_SHA_1:
		return CKG_MGF1_SHA1;
	case CKM_SHA224:
		return CKG_MGF1_SHA224;
	case CKM_SHA256:
		return CKG_MGF1_SHA256;
	case CKM_SHA384:
		return CKG_MGF1_SHA384;
	default:
		return CKG_MGF1_SHA512;
	}
}

/* Coffer signs in several update calls; OpenSSL verifies; and back. */
static void
check_hash_sign(struct cf_key *k, CK_MECHANISM *m, const char *md, int pss,
    size_t salt)
{
	struct cf_op *op = NULL;
	uint8_t sig[600], der[600];
	size_t slen = sizeof(sig), dlen;
	EVP_PKEY *pub = ossl_pub(k), *priv = ossl_priv(k);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	int ec = cf_key_type(k) == CKK_EC;

	assert_int_equal(cf_op_init(m, k, CF_SIGN, &op), 0);
	assert_int_equal(cf_op_update(op, msg, 10, NULL, NULL), 0);
	assert_int_equal(cf_op_update(op, msg + 10, sizeof(msg) - 10, NULL,
	    NULL), 0);
	assert_int_equal(cf_op_final(op, sig, &slen), 0);
	cf_op_free(op);
	/* to DER for OpenSSL if ECDSA (PKCS#11 gives r||s) */
	if (ec) {
		ECDSA_SIG *s = ECDSA_SIG_new();
		unsigned char *p = der;

		assert_int_equal(slen % 2, 0);
		assert_int_equal(ECDSA_SIG_set0(s, BN_bin2bn(sig, (int)slen / 2,
		    NULL), BN_bin2bn(sig + slen / 2, (int)slen / 2, NULL)), 1);
		dlen = (size_t)i2d_ECDSA_SIG(s, &p);
		ECDSA_SIG_free(s);
	} else {
		memcpy(der, sig, slen);
		dlen = slen;
	}
	assert_int_equal(EVP_DigestVerifyInit_ex(c, &pc, md, NULL, NULL, pub,
	    NULL), 1);
	if (pss) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc,
		    RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc,
		    (int)salt), 1);
	}
	assert_int_equal(EVP_DigestVerify(c, der, dlen, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(c);
	/* Coffer verifies it (one-shot) and rejects a flipped bit */
	assert_int_equal(cf_verify(m, k, msg, sizeof(msg), sig, slen), 0);
	sig[slen / 3] ^= 0x10;
	assert_int_equal(cf_verify(m, k, msg, sizeof(msg), sig, slen),
	    COFFER_E_SIGNATURE);
	assert_int_equal(cf_verify(m, k, msg, sizeof(msg), sig, slen - 1),
	    COFFER_E_SIGNATURE);
	/* OpenSSL signs, Coffer verifies with a public-key object */
	c = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestSignInit_ex(c, &pc, md, NULL, NULL, priv,
	    NULL), 1);
	if (pss) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc,
		    RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc,
		    (int)salt), 1);
	}
	dlen = sizeof(der);
	assert_int_equal(EVP_DigestSign(c, der, &dlen, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(c);
	if (ec) {
		const unsigned char *p = der;
		ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
		const BIGNUM *r, *ss;

		slen = 2 * (((size_t)EVP_PKEY_get_bits(pub) + 7) / 8);
		ECDSA_SIG_get0(s, &r, &ss);
		BN_bn2binpad(r, sig, (int)slen / 2);
		BN_bn2binpad(ss, sig + slen / 2, (int)slen / 2);
		ECDSA_SIG_free(s);
	} else {
		memcpy(sig, der, dlen);
		slen = dlen;
	}
	{
		struct cf_key *pk = NULL;

		assert_int_equal(cf_key_public(k, &pk), 0);
		assert_int_equal(cf_verify(m, pk, msg, sizeof(msg), sig, slen),
		    0);
		/* a public key cannot sign */
		slen = sizeof(sig);
		assert_int_equal(cf_sign(m, pk, msg, sizeof(msg), sig, &slen),
		    COFFER_E_KEY_TYPE);
		cf_key_free(pk);
	}
	EVP_PKEY_free(pub);
	EVP_PKEY_free(priv);
}

static void
test_rsa_pkcs_hashed(void **state)
{
	CK_MECHANISM m = { 0 };
	unsigned i;

	(void)state;
	for (i = 0; i < NH; i++) {
		m.mechanism = hashes[i].rsa;
		check_hash_sign(rsa, &m, hashes[i].md, 0, 0);
	}
}

static void
test_rsa_pss_hashed(void **state)
{
	CK_RSA_PKCS_PSS_PARAMS p;
	CK_MECHANISM m = { 0, &p, sizeof(p) };
	uint8_t sig[256];
	size_t sl = sizeof(sig);
	unsigned i;

	(void)state;
	for (i = 0; i < NH; i++) {
		p.hash_alg = hashes[i].hash;
		p.mgf = mgf_of(hashes[i].hash);
		p.s_len = hashes[i].hlen;
		m.mechanism = hashes[i].pss;
		check_hash_sign(rsa, &m, hashes[i].md, 1, hashes[i].hlen);
	}
	/* hashAlg must match the mechanism; sLen must fit */
	p.hash_alg = CKM_SHA384;
	p.mgf = CKG_MGF1_SHA256;
	p.s_len = 32;
	m.mechanism = CKM_SHA256_RSA_PKCS_PSS;
	assert_int_equal(cf_sign(&m, rsa, msg, 5, sig, &sl),
	    COFFER_E_MECH_PARAM);
	p.hash_alg = CKM_SHA256;
	p.s_len = 300;
	assert_int_equal(cf_sign(&m, rsa, msg, 5, sig, &sl),
	    COFFER_E_MECH_PARAM);
	p.s_len = 32;
	p.mgf = 77;
	assert_int_equal(cf_sign(&m, rsa, msg, 5, sig, &sl),
	    COFFER_E_MECH_PARAM);
	m.ulParameterLen = 3;
	assert_int_equal(cf_sign(&m, rsa, msg, 5, sig, &sl),
	    COFFER_E_MECH_PARAM);
}

static void
test_rsa_raw(void **state)
{
	CK_MECHANISM m = { CKM_RSA_PKCS, NULL, 0 };
	CK_RSA_PKCS_PSS_PARAMS p = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
	uint8_t h[32], sig[256], rec[256], big[300];
	size_t sl = sizeof(sig), rl;
	EVP_PKEY *pub = ossl_pub(rsa);
	EVP_PKEY_CTX *pc;

	(void)state;
	assert_int_equal(EVP_Digest(msg, sizeof(msg), h, NULL, EVP_sha256(),
	    NULL), 1);
	/* CKM_RSA_PKCS over arbitrary data (e.g. a DigestInfo) */
	assert_int_equal(cf_sign(&m, rsa, h, sizeof(h), sig, &sl), 0);
	assert_int_equal(sl, 256);
	pc = EVP_PKEY_CTX_new(pub, NULL);
	assert_int_equal(EVP_PKEY_verify_init(pc), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING), 1);
	assert_int_equal(EVP_PKEY_verify(pc, sig, sl, h, sizeof(h)), 1);
	EVP_PKEY_CTX_free(pc);
	assert_int_equal(cf_verify(&m, rsa, h, sizeof(h), sig, sl), 0);
	assert_int_equal(cf_verify(&m, rsa, h, sizeof(h) - 1, sig, sl),
	    COFFER_E_SIGNATURE);
	/* too long for PKCS#1 v1.5 type 1: k - 11 */
	sl = sizeof(sig);
	assert_int_equal(cf_sign(&m, rsa, big, 246, sig, &sl),
	    COFFER_E_DATA_LEN);
	/* nothing to sign: refused both ways (OpenSSL would sign it but
	 * never verify it; found by tests/fuzz/fuzz_mech) */
	sl = sizeof(sig);
	assert_int_equal(cf_sign(&m, rsa, NULL, 0, sig, &sl),
	    COFFER_E_DATA_LEN);
	assert_int_equal(cf_verify(&m, rsa, NULL, 0, sig, 256),
	    COFFER_E_DATA_LEN);
	/* PSS over a hash */
	m.mechanism = CKM_RSA_PKCS_PSS;
	m.pParameter = &p;
	m.ulParameterLen = sizeof(p);
	sl = sizeof(sig);
	assert_int_equal(cf_sign(&m, rsa, h, sizeof(h), sig, &sl), 0);
	pc = EVP_PKEY_CTX_new(pub, NULL);
	assert_int_equal(EVP_PKEY_verify_init(pc), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc,
	    RSA_PKCS1_PSS_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 32), 1);
	assert_int_equal(EVP_PKEY_verify(pc, sig, sl, h, sizeof(h)), 1);
	EVP_PKEY_CTX_free(pc);
	assert_int_equal(cf_verify(&m, rsa, h, sizeof(h), sig, sl), 0);
	sl = sizeof(sig);
	assert_int_equal(cf_sign(&m, rsa, h, 20, sig, &sl), COFFER_E_DATA_LEN);
	/* raw RSA (X.509): sig^e mod n gives the zero-padded input back */
	m.mechanism = CKM_RSA_X_509;
	m.pParameter = NULL;
	m.ulParameterLen = 0;
	sl = sizeof(sig);
	assert_int_equal(cf_sign(&m, rsa, h, sizeof(h), sig, &sl), 0);
	assert_int_equal(sl, 256);
	pc = EVP_PKEY_CTX_new(pub, NULL);
	assert_int_equal(EVP_PKEY_verify_recover_init(pc), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_NO_PADDING), 1);
	rl = sizeof(rec);
	assert_int_equal(EVP_PKEY_verify_recover(pc, rec, &rl, sig, sl), 1);
	EVP_PKEY_CTX_free(pc);
	assert_int_equal(rl, 256);
	assert_memory_equal(rec + 256 - 32, h, 32);
	assert_int_equal(cf_verify(&m, rsa, h, sizeof(h), sig, sl), 0);
	h[0] ^= 1;
	assert_int_equal(cf_verify(&m, rsa, h, sizeof(h), sig, sl),
	    COFFER_E_SIGNATURE);
	/* input >= n: all-0xff of k bytes */
	memset(big, 0xff, sizeof(big));
	sl = sizeof(sig);
	assert_int_equal(cf_sign(&m, rsa, big, 256, sig, &sl),
	    COFFER_E_DATA_INVALID);
	sl = sizeof(sig);
	assert_int_equal(cf_sign(&m, rsa, big, 257, sig, &sl),
	    COFFER_E_DATA_LEN);
	EVP_PKEY_free(pub);
}

static void
test_ecdsa(void **state)
{
	const char *curves[] = { "P-224", "P-256", "P-384", "P-521",
	    "secp256k1" };
	CK_MECHANISM m = { 0 };
	struct cf_key *k = NULL;
	uint8_t h[64], sig[200], der[200];
	size_t sl, dl;
	unsigned i, j;
	EVP_PKEY *pub;
	EVP_PKEY_CTX *pc;

	(void)state;
	for (i = 0; i < 5; i++) {
		assert_int_equal(cf_key_generate_ec_name(curves[i], &k), 0);
		for (j = 0; j < NH; j++) {
			m.mechanism = hashes[j].ecdsa;
			check_hash_sign(k, &m, hashes[j].md, 0, 0);
		}
		/* CKM_ECDSA over a hash, r||s output */
		m.mechanism = CKM_ECDSA;
		assert_int_equal(EVP_Digest(msg, sizeof(msg), h, NULL,
		    EVP_sha256(), NULL), 1);
		sl = sizeof(sig);
		assert_int_equal(cf_sign(&m, k, h, 32, sig, &sl), 0);
		assert_int_equal(sl, 2 * ((cf_key_bits(k) + 7) / 8));
		{
			ECDSA_SIG *s = ECDSA_SIG_new();
			unsigned char *p = der;

			ECDSA_SIG_set0(s, BN_bin2bn(sig, (int)sl / 2, NULL),
			    BN_bin2bn(sig + sl / 2, (int)sl / 2, NULL));
			dl = (size_t)i2d_ECDSA_SIG(s, &p);
			ECDSA_SIG_free(s);
		}
		pub = ossl_pub(k);
		pc = EVP_PKEY_CTX_new(pub, NULL);
		assert_int_equal(EVP_PKEY_verify_init(pc), 1);
		assert_int_equal(EVP_PKEY_verify(pc, der, dl, h, 32), 1);
		EVP_PKEY_CTX_free(pc);
		EVP_PKEY_free(pub);
		assert_int_equal(cf_verify(&m, k, h, 32, sig, sl), 0);
		h[3] ^= 1;
		assert_int_equal(cf_verify(&m, k, h, 32, sig, sl),
		    COFFER_E_SIGNATURE);
		cf_key_free(k);
	}
}

/* r||s -> DER and verified by OpenSSL with the public key alone. */
static int
ossl_verify_rs(EVP_PKEY *pub, const uint8_t *h, size_t hl, const uint8_t *rs,
    size_t sl)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	uint8_t der[200], *p = der;
	EVP_PKEY_CTX *pc;
	int dl, ok;

	ECDSA_SIG_set0(s, BN_bin2bn(rs, (int)sl / 2, NULL),
	    BN_bin2bn(rs + sl / 2, (int)sl / 2, NULL));
	dl = i2d_ECDSA_SIG(s, &p);
	ECDSA_SIG_free(s);
	pc = EVP_PKEY_CTX_new(pub, NULL);
	ok = dl > 0 && EVP_PKEY_verify_init(pc) == 1 &&
	    EVP_PKEY_verify(pc, der, (size_t)dl, h, hl) == 1;
	EVP_PKEY_CTX_free(pc);
	return ok;
}

struct reuse_arg {
	struct cf_key *k;
	EVP_PKEY *pub;
	unsigned seed, bad;
};

static void *
reuse_worker(void *arg)
{
	struct reuse_arg *a = arg;
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	uint8_t h[32], sig[64];
	size_t sl;
	unsigned i;

	for (i = 0; i < 150; i++) {
		memset(h, (int)(a->seed * 31 + i), sizeof(h));
		h[0] = (uint8_t)i;
		sl = sizeof(sig);
		if (cf_sign(&m, a->k, h, sizeof(h), sig, &sl) != 0 ||
		    sl != 64 || !ossl_verify_rs(a->pub, h, sizeof(h), sig, sl))
			a->bad++;
	}
	return NULL;
}

/* EC signing contexts are kept with the key and reused, by several threads
 * at once: every signature still verifies with OpenSSL on the other side;
 * a call refused for its output buffer (after the signature was made with
 * a pooled context) leaves the pool usable; the key frees its pool (ASan
 * and the leak checker see to that). The path where EVP_PKEY_sign itself
 * fails (the context is freed, not pooled) is not reachable from here. */
static void
test_ecdsa_ctx_reuse(void **state)
{
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	struct reuse_arg a[4];
	pthread_t t[4];
	struct cf_key *k = NULL;
	EVP_PKEY *pub;
	uint8_t h[32] = { 7 }, sig[64];
	size_t sl;
	unsigned i;

	(void)state;
	assert_int_equal(cf_key_generate_ec_name("P-256", &k), 0);
	pub = ossl_pub(k);
	for (i = 0; i < 4; i++) {
		a[i] = (struct reuse_arg){ k, pub, i, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, reuse_worker,
		    &a[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(a[i].bad, 0);
	}
	/* Too small an output buffer is refused; the next sign works. */
	sl = 10;
	assert_int_not_equal(cf_sign(&m, k, h, sizeof(h), sig, &sl), 0);
	sl = sizeof(sig);
	assert_int_equal(cf_sign(&m, k, h, sizeof(h), sig, &sl), 0);
	assert_true(ossl_verify_rs(pub, h, sizeof(h), sig, sl));
	EVP_PKEY_free(pub);
	cf_key_free(k);
}

static void
test_eddsa(void **state)
{
	/* RFC 8032 §7.1 TEST 1 (empty message) */
	uint8_t sk[32], want[64], sig[128], pkraw[32];
	size_t sl = sizeof(sig), n;
	CK_MECHANISM m = { CKM_EDDSA, NULL, 0 };
	EVP_PKEY *pk;
	struct cf_key *k, *k448 = NULL;
	EVP_MD_CTX *c;

	(void)state;
	unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	    sk, sizeof(sk));
	unhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	    "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
	    want, sizeof(want));
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk, 32);
	assert_non_null(pk);
	k = from_ossl_priv(pk);
	EVP_PKEY_free(pk);
	assert_int_equal(cf_sign(&m, k, (const uint8_t *)"", 0, sig, &sl), 0);
	assert_int_equal(sl, 64);
	assert_memory_equal(sig, want, 64);
	assert_int_equal(cf_verify(&m, k, (const uint8_t *)"", 0, sig, sl), 0);
	/* RFC 8032 public key */
	n = sizeof(sig);
	assert_int_equal(cf_key_get_attr(k, CKA_EC_POINT, sig, &n), 0);
	unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
	    pkraw, sizeof(pkraw));
	assert_int_equal(n, 34);
	assert_memory_equal(sig + 2, pkraw, 32);
	sig[0] = 0;
	assert_int_equal(cf_verify(&m, k, (const uint8_t *)"x", 1, want, 64),
	    COFFER_E_SIGNATURE);
	/* hash mechanisms are not EdDSA's: wrong key type */
	m.mechanism = CKM_ECDSA_SHA256;
	sl = sizeof(sig);
	assert_int_equal(cf_sign(&m, k, msg, 3, sig, &sl), COFFER_E_KEY_TYPE);
	cf_key_free(k);
	/* Ed448 against OpenSSL */
	assert_int_equal(cf_key_generate_ec_name("Ed448", &k448), 0);
	m.mechanism = CKM_EDDSA;
	sl = sizeof(sig);
	assert_int_equal(cf_sign(&m, k448, msg, sizeof(msg), sig, &sl), 0);
	assert_int_equal(sl, 114);
	pk = ossl_pub(k448);
	c = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit_ex(c, NULL, NULL, NULL, NULL, pk,
	    NULL), 1);
	assert_int_equal(EVP_DigestVerify(c, sig, sl, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(pk);
	cf_key_free(k448);
}

static void
test_hmac_cmac(void **state)
{
	/* RFC 4231 test case 2 */
	static const struct {
		CK_MECHANISM_TYPE m;
		const char *mac;
	} tc[] = {
		{ CKM_SHA224_HMAC, "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e"
		    "6148008fd05e44" },
		{ CKM_SHA256_HMAC, "5bdcc146bf60754e6a042426089575c75a003f089d"
		    "2739839dec58b964ec3843" },
		{ CKM_SHA384_HMAC, "af45d2e376484031617f78d2b58a6b1b9c7ef464f5"
		    "a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649" },
		{ CKM_SHA512_HMAC, "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e"
		    "831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaea"
		    "b1a34d4a6b4b636e070a38bce737" },
	};
	static const char data[] = "what do ya want for nothing?";
	struct cf_key *k = secret_from_hex(CKK_GENERIC_SECRET, "4a656665");
	struct cf_key *aes;
	CK_MECHANISM m = { 0 };
	cf_mac_general_params gl = 10;
	uint8_t mac[64], want[64], o[64];
	size_t ml, wl;
	unsigned i, ol = 0;
	struct cf_op *op = NULL;

	(void)state;
	for (i = 0; i < 4; i++) {
		m.mechanism = tc[i].m;
		wl = unhex(tc[i].mac, want, sizeof(want));
		ml = sizeof(mac);
		assert_int_equal(cf_op_init(&m, k, CF_SIGN, &op), 0);
		assert_int_equal(cf_op_update(op, (const uint8_t *)data, 7,
		    NULL, NULL), 0);
		assert_int_equal(cf_op_update(op, (const uint8_t *)data + 7,
		    strlen(data) - 7, NULL, NULL), 0);
		assert_int_equal(cf_op_final(op, mac, &ml), 0);
		cf_op_free(op);
		assert_int_equal(ml, wl);
		assert_memory_equal(mac, want, wl);
		assert_int_equal(cf_verify(&m, k, (const uint8_t *)data,
		    strlen(data), want, wl), 0);
		want[wl - 1] ^= 1;
		assert_int_equal(cf_verify(&m, k, (const uint8_t *)data,
		    strlen(data), want, wl), COFFER_E_SIGNATURE);
	}
	/* SHA-1 HMAC and the general-length variant, against EVP_Q_mac */
	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA1", NULL,
	    "Jefe", 4, (const unsigned char *)data, strlen(data), o,
	    sizeof(o), (size_t *)&wl));
	(void)ol;
	m.mechanism = CKM_SHA_1_HMAC;
	ml = sizeof(mac);
	assert_int_equal(cf_sign(&m, k, (const uint8_t *)data, strlen(data),
	    mac, &ml), 0);
	assert_int_equal(ml, 20);
	assert_memory_equal(mac, o, 20);
	m.mechanism = CKM_SHA_1_HMAC_GENERAL;
	m.pParameter = &gl;
	m.ulParameterLen = sizeof(gl);
	ml = sizeof(mac);
	assert_int_equal(cf_sign(&m, k, (const uint8_t *)data, strlen(data),
	    mac, &ml), 0);
	assert_int_equal(ml, 10);
	assert_memory_equal(mac, o, 10);
	assert_int_equal(cf_verify(&m, k, (const uint8_t *)data, strlen(data),
	    o, 10), 0);
	assert_int_equal(cf_verify(&m, k, (const uint8_t *)data, strlen(data),
	    o, 20), COFFER_E_SIGNATURE);
	gl = 21;
	assert_int_equal(cf_sign(&m, k, (const uint8_t *)data, strlen(data),
	    mac, &ml), COFFER_E_MECH_PARAM);
	/* RFC 4493 example 2 (AES-128 CMAC of one block) */
	aes = secret_from_hex(CKK_AES, "2b7e151628aed2a6abf7158809cf4f3c");
	m.mechanism = CKM_AES_CMAC;
	m.pParameter = NULL;
	m.ulParameterLen = 0;
	unhex("6bc1bee22e409f96e93d7e117393172a", o, sizeof(o));
	unhex("070a16b46b4d4144f79bdd9dd04a287c", want, sizeof(want));
	ml = sizeof(mac);
	assert_int_equal(cf_sign(&m, aes, o, 16, mac, &ml), 0);
	assert_int_equal(ml, 16);
	assert_memory_equal(mac, want, 16);
	/* RFC 4493 example 1 (empty message) */
	unhex("bb1d6929e95937287fa37d129b756746", want, sizeof(want));
	ml = sizeof(mac);
	assert_int_equal(cf_sign(&m, aes, o, 0, mac, &ml), 0);
	assert_memory_equal(mac, want, 16);
	/* wrong key types */
	ml = sizeof(mac);
	assert_int_equal(cf_sign(&m, k, o, 16, mac, &ml), COFFER_E_KEY_TYPE);
	m.mechanism = CKM_SHA256_HMAC;
	assert_int_equal(cf_sign(&m, aes, o, 16, mac, &ml), COFFER_E_KEY_TYPE);
	assert_int_equal(cf_sign(&m, rsa, o, 16, mac, &ml), COFFER_E_KEY_TYPE);
	cf_key_free(aes);
	cf_key_free(k);
}

static void
test_bad_usage(void **state)
{
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	struct cf_key *aes = NULL, *ec = NULL;
	struct cf_op *op = NULL;
	uint8_t sig[512];
	size_t sl = sizeof(sig);

	(void)state;
	assert_int_equal(cf_key_generate_secret(CKK_AES, 32, &aes), 0);
	assert_int_equal(cf_key_generate_ec_name("P-256", &ec), 0);
	assert_int_equal(cf_sign(&m, aes, msg, 3, sig, &sl), COFFER_E_KEY_TYPE);
	assert_int_equal(cf_sign(&m, ec, msg, 3, sig, &sl), COFFER_E_KEY_TYPE);
	m.mechanism = CKM_ECDSA_SHA256;
	assert_int_equal(cf_sign(&m, rsa, msg, 3, sig, &sl), COFFER_E_KEY_TYPE);
	/* mechanism that cannot sign, unknown, 3DES */
	m.mechanism = CKM_RSA_PKCS_OAEP;
	assert_int_equal(cf_sign(&m, rsa, msg, 3, sig, &sl),
	    COFFER_E_MECHANISM);
	m.mechanism = CKM_DES3_CBC;
	assert_int_equal(cf_sign(&m, aes, msg, 3, sig, &sl),
	    COFFER_E_MECHANISM);
	m.mechanism = 0x7fff1234;
	assert_int_equal(cf_sign(&m, aes, msg, 3, sig, &sl),
	    COFFER_E_MECHANISM);
	/* unexpected parameters */
	m.mechanism = CKM_SHA256_RSA_PKCS;
	m.pParameter = sig;
	m.ulParameterLen = 4;
	assert_int_equal(cf_sign(&m, rsa, msg, 3, sig, &sl),
	    COFFER_E_MECH_PARAM);
	/* buffer conventions */
	m.pParameter = NULL;
	m.ulParameterLen = 0;
	sl = 0;
	assert_int_equal(cf_sign(&m, rsa, msg, 3, NULL, &sl), 0);
	assert_int_equal(sl, 256);
	assert_int_equal(cf_op_init(&m, rsa, CF_SIGN, &op), 0);
	assert_int_equal(cf_op_update(op, msg, 3, NULL, NULL), 0);
	sl = 100;
	assert_int_equal(cf_op_final(op, sig, &sl), COFFER_E_BUFFER_TOO_SMALL);
	assert_int_equal(sl, 256);
	assert_int_equal(cf_op_final(op, sig, &sl), 0);
	assert_int_equal(cf_op_final(op, sig, &sl), COFFER_E_OP_NOT_INIT);
	cf_op_free(op);
	cf_key_free(aes);
	cf_key_free(ec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa_pkcs_hashed),
		cmocka_unit_test(test_rsa_pss_hashed),
		cmocka_unit_test(test_rsa_raw),
		cmocka_unit_test(test_ecdsa),
		cmocka_unit_test(test_ecdsa_ctx_reuse),
		cmocka_unit_test(test_eddsa),
		cmocka_unit_test(test_hmac_cmac),
		cmocka_unit_test(test_bad_usage),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
