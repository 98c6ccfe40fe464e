/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_mech_cipher.c: encrypt/decrypt and digest mechanisms. Published
 * vectors (SP 800-38A F.1.1/F.2.1/F.5.1, GCM spec test cases 2 and 4,
 * FIPS 180 / FIPS 202 "abc"), OpenSSL on the other side for streaming,
 * padding and RSA, and bad input (bad padding, wrong tag, truncation,
 * wrong IV length) with one error for every padding failure.
 */
#include <stdio.h>

#include <openssl/rsa.h>

#include "test_mech_util.h"

#define K128 "2b7e151628aed2a6abf7158809cf4f3c"
#define PT "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51" \
	"30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"

static void
check_vec(CK_MECHANISM *m, struct cf_key *k, const char *pth,
    const char *cth)
{
	uint8_t pt[128], ct[128], out[160];
	size_t pl = unhex(pth, pt, sizeof(pt)), cl = unhex(cth, ct, sizeof(ct));
	size_t ol = sizeof(out), a, b;
	struct cf_op *op = NULL;

	assert_int_equal(cf_encrypt(m, k, pt, pl, out, &ol), 0);
	assert_int_equal(ol, cl);
	assert_memory_equal(out, ct, cl);
	ol = sizeof(out);
	assert_int_equal(cf_decrypt(m, k, ct, cl, out, &ol), 0);
	assert_int_equal(ol, pl);
	assert_memory_equal(out, pt, pl);
	/* streaming in odd pieces gives the same */
	assert_int_equal(cf_op_init(m, k, CF_ENCRYPT, &op), 0);
	a = sizeof(out);
	assert_int_equal(cf_op_update(op, pt, 7, out, &a), 0);
	b = sizeof(out) - a;
	assert_int_equal(cf_op_update(op, pt + 7, pl - 7, out + a, &b), 0);
	a += b;
	b = sizeof(out) - a;
	assert_int_equal(cf_op_final(op, out + a, &b), 0);
	cf_op_free(op);
	assert_int_equal(a + b, cl);
	assert_memory_equal(out, ct, cl);
}

static void
test_aes_sp800_38a(void **state)
{
	struct cf_key *k = secret_from_hex(CKK_AES, K128);
	uint8_t iv[16];
	CK_MECHANISM m = { CKM_AES_ECB, NULL, 0 };
	CK_AES_CTR_PARAMS ctr;

	(void)state;
	check_vec(&m, k, PT, "3ad77bb40d7a3660a89ecaf32466ef97"
	    "f5d3d58503b9699de785895a96fdbaaf43b1cd7f598ece23881b00e3ed030688"
	    "7b0c785e27e8ad3f8223207104725dd4");
	unhex("000102030405060708090a0b0c0d0e0f", iv, sizeof(iv));
	m.mechanism = CKM_AES_CBC;
	m.pParameter = iv;
	m.ulParameterLen = 16;
	check_vec(&m, k, PT, "7649abac8119b246cee98e9b12e9197d"
	    "5086cb9b507219ee95db113a917678b273bed6b8e3c1743b7116e69e22229516"
	    "3ff1caa1681fac09120eca307586e1a7");
	ctr.counter_bits = 128;
	unhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", ctr.cb, 16);
	m.mechanism = CKM_AES_CTR;
	m.pParameter = &ctr;
	m.ulParameterLen = sizeof(ctr);
	check_vec(&m, k, PT, "874d6191b620e3261bef6864990db6ce"
	    "9806f66b7970fdff8617187bb9fffdff5ae4df3edbd5d35e5b4f09020db03eab"
	    "1e031dda2fbe03d1792170a0f3009cee");
	/* CTR: partial blocks stream */
	check_vec(&m, k, "6bc1bee22e409f96e93d7e117393172aae2d", "874d6191b62"
	    "0e3261bef6864990db6ce9806");
	cf_key_free(k);
}

static void
test_aes_gcm_spec(void **state)
{
	/* GCM spec (McGrew-Viega) test case 2 and test case 4 */
	struct cf_key *k0 = secret_from_hex(CKK_AES,
	    "00000000000000000000000000000000");
	struct cf_key *k4 = secret_from_hex(CKK_AES,
	    "feffe9928665731c6d6a8f9467308308");
	uint8_t iv[12] = { 0 }, aad[20];
	CK_GCM_PARAMS g = { iv, 12, 96, NULL, 0, 128 };
	CK_MECHANISM m = { CKM_AES_GCM, &g, sizeof(g) };

	(void)state;
	check_vec(&m, k0, "00000000000000000000000000000000",
	    "0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf");
	unhex("cafebabefacedbaddecaf888", iv, sizeof(iv));
	g.aad_ptr = aad;
	g.aad_len = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", aad,
	    sizeof(aad));
	check_vec(&m, k4, "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e"
	    "4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba"
	    "637b39", "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e"
	    "2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e0"
	    "91" "5bc94fbc3221a5db94fae95ae7121a47");
	cf_key_free(k0);
	cf_key_free(k4);
}

static void
test_gcm_bad_and_generated_iv(void **state)
{
	struct cf_key *k = NULL;
	uint8_t pt[1000], ct[1100], out[1100], iv[12], tag[16];
	CK_GCM_PARAMS g = { NULL, 0, 0, (unsigned char *)"hdr", 3, 96 };
	CK_MECHANISM m = { CKM_AES_GCM, &g, sizeof(g) };
	struct cf_op *op = NULL;
	size_t cl = sizeof(ct), ol, il = sizeof(iv), a;
	EVP_CIPHER_CTX *c;
	int n, f;

	(void)state;
	assert_int_equal(cf_key_generate_secret(CKK_AES, 32, &k), 0);
	memset(pt, 0x5a, sizeof(pt));
	/* node-generated IV: returned to the caller */
	assert_int_equal(cf_op_init(&m, k, CF_ENCRYPT, &op), 0);
	assert_int_equal(cf_op_get_iv(op, iv, &il), 0);
	assert_int_equal(il, 12);
	cl = sizeof(ct);
	assert_int_equal(cf_op_update(op, pt, sizeof(pt), ct, &cl), 0);
	a = sizeof(ct) - cl;
	assert_int_equal(cf_op_final(op, ct + cl, &a), 0);
	assert_int_equal(a, 12);
	cl += a;
	cf_op_free(op);
	/* OpenSSL decrypts with that IV (key exported only in this test) */
	{
		uint8_t kv[32];
		size_t kl = sizeof(kv);

		/* secret keys serialize raw (storage form) */
		assert_int_equal(cf_key_serialize(k, kv, &kl), 0);
		c = EVP_CIPHER_CTX_new();
		assert_int_equal(EVP_DecryptInit_ex2(c, EVP_aes_256_gcm(), kv,
		    iv, NULL), 1);
		assert_int_equal(EVP_DecryptUpdate(c, NULL, &n,
		    (const unsigned char *)"hdr", 3), 1);
		assert_int_equal(EVP_DecryptUpdate(c, out, &n, ct,
		    (int)sizeof(pt)), 1);
		memcpy(tag, ct + sizeof(pt), 12);
		assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG,
		    12, tag), 1);
		assert_int_equal(EVP_DecryptFinal_ex(c, out + n, &f), 1);
		EVP_CIPHER_CTX_free(c);
		assert_memory_equal(out, pt, sizeof(pt));
	}
	/* Coffer decrypts in pieces; nothing is released before final */
	g.iv_ptr = iv;
	g.iv_len = 12;
	assert_int_equal(cf_op_init(&m, k, CF_DECRYPT, &op), 0);
	for (a = 0; a < cl; a += 7) {
		size_t piece = cl - a < 7 ? cl - a : 7;

		ol = sizeof(out);
		assert_int_equal(cf_op_update(op, ct + a, piece, out, &ol), 0);
		assert_int_equal(ol, 0);
	}
	ol = 10;
	assert_int_equal(cf_op_final(op, out, &ol), COFFER_E_BUFFER_TOO_SMALL);
	assert_int_equal(ol, sizeof(pt));
	assert_int_equal(cf_op_final(op, out, &ol), 0);
	assert_memory_equal(out, pt, sizeof(pt));
	cf_op_free(op);
	/* wrong tag, wrong AAD, truncated */
	ct[cl - 1] ^= 1;
	ol = sizeof(out);
	assert_int_equal(cf_decrypt(&m, k, ct, cl, out, &ol),
	    COFFER_E_ENCRYPTED_DATA);
	ct[cl - 1] ^= 1;
	g.aad_ptr = (unsigned char *)"hdX";
	assert_int_equal(cf_decrypt(&m, k, ct, cl, out, &ol),
	    COFFER_E_ENCRYPTED_DATA);
	g.aad_ptr = (unsigned char *)"hdr";
	assert_int_equal(cf_decrypt(&m, k, ct, 11, out, &ol),
	    COFFER_E_DATA_LEN);
	/* an empty stream (IV only on the wire): an empty update, then a
	 * clean length error, not a NULL memcpy (UBSan) */
	assert_int_equal(cf_op_init(&m, k, CF_DECRYPT, &op), 0);
	ol = sizeof(out);
	assert_int_equal(cf_op_update(op, NULL, 0, out, &ol), 0);
	assert_int_equal(ol, 0);
	ol = sizeof(out);
	assert_int_equal(cf_op_final(op, out, &ol), COFFER_E_DATA_LEN);
	cf_op_free(op);
	/* parameter errors */
	g.tag_bits = 100;
	assert_int_equal(cf_decrypt(&m, k, ct, cl, out, &ol),
	    COFFER_E_MECH_PARAM);
	g.tag_bits = 96;
	g.iv_len = 0;
	assert_int_equal(cf_decrypt(&m, k, ct, cl, out, &ol),
	    COFFER_E_MECH_PARAM);
	g.iv_ptr = NULL;
	g.iv_len = 12;
	assert_int_equal(cf_decrypt(&m, k, ct, cl, out, &ol),
	    COFFER_E_MECH_PARAM);
	g.iv_len = 16;
	assert_int_equal(cf_encrypt(&m, k, pt, 10, out, &ol),
	    COFFER_E_MECH_PARAM);
	m.ulParameterLen = 8;
	assert_int_equal(cf_encrypt(&m, k, pt, 10, out, &ol),
	    COFFER_E_MECH_PARAM);
	cf_key_free(k);
}

/* CBC_PAD both ways with OpenSSL for lengths 0..48, odd chunking. */
static void
test_cbc_pad_vs_openssl(void **state)
{
	struct cf_key *k = NULL;
	uint8_t kv[24], iv[16], pt[64], ct[96], out[96];
	size_t kl = sizeof(kv), len, cl, ol;
	CK_MECHANISM m = { CKM_AES_CBC_PAD, iv, 16 };
	EVP_CIPHER_CTX *c;
	int n, f;

	(void)state;
	assert_int_equal(cf_key_generate_secret(CKK_AES, 24, &k), 0);
	assert_int_equal(cf_key_serialize(k, kv, &kl), 0);
	memset(iv, 0x11, sizeof(iv));
	for (len = 0; len <= 48; len++) {
		memset(pt, (int)len, len);
		cl = sizeof(ct);
		assert_int_equal(cf_encrypt(&m, k, pt, len, ct, &cl), 0);
		assert_int_equal(cl, (len / 16 + 1) * 16);
		c = EVP_CIPHER_CTX_new();
		assert_int_equal(EVP_DecryptInit_ex2(c, EVP_aes_192_cbc(), kv,
		    iv, NULL), 1);
		assert_int_equal(EVP_DecryptUpdate(c, out, &n, ct, (int)cl), 1);
		assert_int_equal(EVP_DecryptFinal_ex(c, out + n, &f), 1);
		assert_int_equal((size_t)(n + f), len);
		assert_memory_equal(out, pt, len);
		/* and OpenSSL's ciphertext decrypts with Coffer */
		assert_int_equal(EVP_EncryptInit_ex2(c, EVP_aes_192_cbc(), kv,
		    iv, NULL), 1);
		assert_int_equal(EVP_EncryptUpdate(c, ct, &n, pt, (int)len), 1);
		assert_int_equal(EVP_EncryptFinal_ex(c, ct + n, &f), 1);
		EVP_CIPHER_CTX_free(c);
		ol = sizeof(out);
		assert_int_equal(cf_decrypt(&m, k, ct, (size_t)(n + f), out,
		    &ol), 0);
		assert_int_equal(ol, len);
		assert_memory_equal(out, pt, len);
	}
	/* bad padding: every failure is the same code */
	{
		int bad = 0;
		unsigned t;

		for (t = 0; t < 64; t++) {
			uint8_t x[32];
			int rc;

			memcpy(x, ct, 32);
			x[16 + (t % 16)] ^= (uint8_t)(t + 1);
			ol = sizeof(out);
			rc = cf_decrypt(&m, k, x, 32, out, &ol);
			if (rc != 0) {
				assert_int_equal(rc, COFFER_E_ENCRYPTED_DATA);
				bad++;
			}
		}
		assert_true(bad > 0);
	}
	/* truncated: not a block multiple, or empty */
	ol = sizeof(out);
	assert_int_equal(cf_decrypt(&m, k, ct, 31, out, &ol),
	    COFFER_E_DATA_LEN);
	assert_int_equal(cf_decrypt(&m, k, ct, 0, out, &ol),
	    COFFER_E_DATA_LEN);
	/* plain CBC needs whole blocks */
	m.mechanism = CKM_AES_CBC;
	assert_int_equal(cf_encrypt(&m, k, pt, 17, out, &ol),
	    COFFER_E_DATA_LEN);
	/* wrong IV length */
	m.ulParameterLen = 12;
	assert_int_equal(cf_encrypt(&m, k, pt, 16, out, &ol),
	    COFFER_E_MECH_PARAM);
	m.mechanism = CKM_AES_ECB;
	m.pParameter = iv;
	m.ulParameterLen = 16;
	assert_int_equal(cf_encrypt(&m, k, pt, 16, out, &ol),
	    COFFER_E_MECH_PARAM);
	cf_key_free(k);
}

static void
test_ctr_counter_limit(void **state)
{
	struct cf_key *k = secret_from_hex(CKK_AES, K128);
	CK_AES_CTR_PARAMS ctr = { 2, { 0 } };
	CK_MECHANISM m = { CKM_AES_CTR, &ctr, sizeof(ctr) };
	uint8_t buf[128], out[128];
	size_t ol = sizeof(out);

	(void)state;
	/* 2 counter bits starting at 1: blocks 1, 2, 3 then it would wrap */
	ctr.cb[15] = 1;
	assert_int_equal(cf_encrypt(&m, k, buf, 48, out, &ol), 0);
	ol = sizeof(out);
	assert_int_equal(cf_encrypt(&m, k, buf, 49, out, &ol),
	    COFFER_E_DATA_LEN);
	ctr.counter_bits = 0;
	assert_int_equal(cf_encrypt(&m, k, buf, 16, out, &ol),
	    COFFER_E_MECH_PARAM);
	ctr.counter_bits = 129;
	assert_int_equal(cf_encrypt(&m, k, buf, 16, out, &ol),
	    COFFER_E_MECH_PARAM);
	cf_key_free(k);
}

/* 5 MiB streamed through CBC_PAD, HMAC and SHA-256 matches OpenSSL. */
static void
test_streaming_large(void **state)
{
	const size_t total = 5u << 20, chunk = 65531;
	struct cf_key *k = NULL, *hk = NULL;
	uint8_t *data = malloc(total), *ct = malloc(total + 16), *ref =
	    malloc(total + 16), kv[32], hv[64], iv[16] = { 1 };
	CK_MECHANISM m = { CKM_AES_CBC_PAD, iv, 16 };
	CK_MECHANISM hm = { CKM_SHA256_HMAC, NULL, 0 };
	CK_MECHANISM dm = { CKM_SHA256, NULL, 0 };
	struct cf_op *op = NULL, *mop = NULL, *dop = NULL;
	size_t off = 0, cl = 0, ol, kl = sizeof(kv), hl = sizeof(hv);
	uint8_t mac[32], ref_mac[32], dg[32], ref_dg[32];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n, f;

	(void)state;
	assert_non_null(data);
	for (off = 0; off < total; off++)
		data[off] = (uint8_t)(off * 31 + 7);
	assert_int_equal(cf_key_generate_secret(CKK_AES, 32, &k), 0);
	assert_int_equal(cf_key_generate_secret(CKK_GENERIC_SECRET, 64, &hk),
	    0);
	assert_int_equal(cf_op_init(&m, k, CF_ENCRYPT, &op), 0);
	assert_int_equal(cf_op_init(&hm, hk, CF_SIGN, &mop), 0);
	assert_int_equal(cf_op_init(&dm, NULL, CF_DIGEST, &dop), 0);
	for (off = 0; off < total; off += chunk) {
		size_t piece = total - off < chunk ? total - off : chunk;

		ol = total + 16 - cl;
		assert_int_equal(cf_op_update(op, data + off, piece, ct + cl,
		    &ol), 0);
		cl += ol;
		assert_int_equal(cf_op_update(mop, data + off, piece, NULL,
		    NULL), 0);
		assert_int_equal(cf_op_update(dop, data + off, piece, NULL,
		    NULL), 0);
	}
	ol = total + 16 - cl;
	assert_int_equal(cf_op_final(op, ct + cl, &ol), 0);
	cl += ol;
	ol = sizeof(mac);
	assert_int_equal(cf_op_final(mop, mac, &ol), 0);
	ol = sizeof(dg);
	assert_int_equal(cf_op_final(dop, dg, &ol), 0);
	cf_op_free(op);
	cf_op_free(mop);
	cf_op_free(dop);
	/* other side */
	assert_int_equal(cf_key_serialize(k, kv, &kl), 0);
	assert_int_equal(EVP_EncryptInit_ex2(c, EVP_aes_256_cbc(), kv, iv,
	    NULL), 1);
	assert_int_equal(EVP_EncryptUpdate(c, ref, &n, data, (int)total), 1);
	assert_int_equal(EVP_EncryptFinal_ex(c, ref + n, &f), 1);
	assert_int_equal(cl, (size_t)(n + f));
	assert_memory_equal(ct, ref, cl);
	assert_int_equal(cf_key_serialize(hk, hv, &hl), 0);
	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, hv, hl,
	    data, total, ref_mac, sizeof(ref_mac), NULL));
	assert_memory_equal(mac, ref_mac, 32);
	assert_int_equal(EVP_Digest(data, total, ref_dg, NULL, EVP_sha256(),
	    NULL), 1);
	assert_memory_equal(dg, ref_dg, 32);
	/* and it decrypts back in one go */
	ol = total + 16;
	assert_int_equal(cf_decrypt(&m, k, ct, cl, ref, &ol), 0);
	assert_int_equal(ol, total);
	assert_memory_equal(ref, data, total);
	EVP_CIPHER_CTX_free(c);
	cf_key_free(k);
	cf_key_free(hk);
	free(data);
	free(ct);
	free(ref);
}

static void
test_rsa_encrypt(void **state)
{
	struct cf_key *k = NULL, *pub = NULL;
	EVP_PKEY *opub, *opriv;
	EVP_PKEY_CTX *pc;
	CK_RSA_PKCS_OAEP_PARAMS o = { CKM_SHA256, CKG_MGF1_SHA256,
	    CKZ_DATA_SPECIFIED, (void *)"label", 5 };
	CK_MECHANISM m = { CKM_RSA_PKCS, NULL, 0 };
	uint8_t pt[300], ct[256], out[256];
	size_t cl, ol;
	unsigned i;

	(void)state;
	assert_int_equal(cf_key_generate_rsa(2048, NULL, 0, &k), 0);
	assert_int_equal(cf_key_public(k, &pub), 0);
	opub = ossl_pub(k);
	opriv = ossl_priv(k);
	memset(pt, 0x42, sizeof(pt));
	for (i = 0; i < 3; i++) {
		m.mechanism = i == 0 ? CKM_RSA_PKCS : i == 1 ?
		    CKM_RSA_PKCS_OAEP : CKM_RSA_X_509;
		m.pParameter = i == 1 ? &o : NULL;
		m.ulParameterLen = i == 1 ? sizeof(o) : 0;
		/* Coffer (public key object) encrypts, OpenSSL decrypts */
		cl = sizeof(ct);
		assert_int_equal(cf_encrypt(&m, pub, pt, 40, ct, &cl), 0);
		assert_int_equal(cl, 256);
		pc = EVP_PKEY_CTX_new(opriv, NULL);
		assert_int_equal(EVP_PKEY_decrypt_init(pc), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, i == 0 ?
		    RSA_PKCS1_PADDING : i == 1 ? RSA_PKCS1_OAEP_PADDING :
		    RSA_NO_PADDING), 1);
		if (i == 1) {
			assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(pc,
			    EVP_sha256()), 1);
			assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(pc,
			    EVP_sha256()), 1);
			assert_int_equal(EVP_PKEY_CTX_set0_rsa_oaep_label(pc,
			    OPENSSL_memdup("label", 5), 5), 1);
		}
		ol = sizeof(out);
		assert_int_equal(EVP_PKEY_decrypt(pc, out, &ol, ct, cl), 1);
		if (i == 2) {
			assert_int_equal(ol, 256);
			assert_memory_equal(out + 216, pt, 40);
		} else {
			assert_int_equal(ol, 40);
			assert_memory_equal(out, pt, 40);
		}
		/* OpenSSL encrypts, Coffer decrypts */
		if (i == 2) {
			/* raw: encrypt the same zero-padded block */
			memset(out, 0, 216);
			memcpy(out + 216, pt, 40);
		} else
			memcpy(out, pt, 40);
		assert_int_equal(EVP_PKEY_encrypt_init(pc), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, i == 0 ?
		    RSA_PKCS1_PADDING : i == 1 ? RSA_PKCS1_OAEP_PADDING :
		    RSA_NO_PADDING), 1);
		if (i == 1) {
			assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(pc,
			    EVP_sha256()), 1);
			assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(pc,
			    EVP_sha256()), 1);
			assert_int_equal(EVP_PKEY_CTX_set0_rsa_oaep_label(pc,
			    OPENSSL_memdup("label", 5), 5), 1);
		}
		cl = sizeof(ct);
		assert_int_equal(EVP_PKEY_encrypt(pc, ct, &cl, out, i == 2 ?
		    256 : 40), 1);
		EVP_PKEY_CTX_free(pc);
		ol = sizeof(out);
		assert_int_equal(cf_decrypt(&m, k, ct, cl, out, &ol), 0);
		if (i == 2)
			assert_memory_equal(out + 216, pt, 40);
		else {
			assert_int_equal(ol, 40);
			assert_memory_equal(out, pt, 40);
		}
		/* corrupted ciphertext: one code for padding failures */
		if (i != 2) {
			ct[100] ^= 0x01;
			ol = sizeof(out);
			assert_int_equal(cf_decrypt(&m, k, ct, cl, out, &ol),
			    COFFER_E_ENCRYPTED_DATA);
		}
		/* wrong lengths */
		ol = sizeof(out);
		assert_int_equal(cf_decrypt(&m, k, ct, 255, out, &ol),
		    COFFER_E_DATA_LEN);
		cl = sizeof(ct);
		assert_int_equal(cf_encrypt(&m, pub, pt, i == 0 ? 246 :
		    i == 1 ? 191 : 257, ct, &cl), COFFER_E_DATA_LEN);
		/* decrypting needs the private key */
		assert_int_equal(cf_decrypt(&m, pub, ct, 256, out, &ol),
		    COFFER_E_KEY_TYPE);
	}
	/* OAEP label mismatch is the same single error */
	m.mechanism = CKM_RSA_PKCS_OAEP;
	m.pParameter = &o;
	m.ulParameterLen = sizeof(o);
	cl = sizeof(ct);
	assert_int_equal(cf_encrypt(&m, pub, pt, 10, ct, &cl), 0);
	o.source_data = (void *)"lab3l";
	ol = sizeof(out);
	assert_int_equal(cf_decrypt(&m, k, ct, cl, out, &ol),
	    COFFER_E_ENCRYPTED_DATA);
	o.hash_alg = 1234;
	assert_int_equal(cf_decrypt(&m, k, ct, cl, out, &ol),
	    COFFER_E_MECH_PARAM);
	EVP_PKEY_free(opub);
	EVP_PKEY_free(opriv);
	cf_key_free(pub);
	cf_key_free(k);
}

static void
test_digests(void **state)
{
	static const struct {
		CK_MECHANISM_TYPE m;
		const char *d;
	} v[] = {
		/* FIPS 180-4 / FIPS 202 examples for "abc" */
		{ CKM_SHA_1, "a9993e364706816aba3e25717850c26c9cd0d89d" },
		{ CKM_SHA224, "23097d223405d8228642a477bda255b32aadbce4bda0b3f7"
		    "e36c9da7" },
		{ CKM_SHA256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9c"
		    "b410ff61f20015ad" },
		{ CKM_SHA384, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded163"
		    "1a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7" },
		{ CKM_SHA512, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea2"
		    "0a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643c"
		    "e80e2a9ac94fa54ca49f" },
		{ CKM_SHA3_224, "e642824c3f8cf24ad09234ee7d3c766fc9a3a5168d0c94"
		    "ad73b46fdf" },
		{ CKM_SHA3_256, "3a985da74fe225b2045c172d6bd390bd855f086e3e9d52"
		    "5b46bfe24511431532" },
		{ CKM_SHA3_384, "ec01498288516fc926459f58e2c6ad8df9b473cb0fc08c"
		    "2596da7cf0e49be4b298d88cea927ac7f539f1edf228376d25" },
		{ CKM_SHA3_512, "b751850b1a57168a5693cd924b6b096e08f621827444f7"
		    "0d884f5d0240d2712e10e116e9192af3c91a7ec57647e3934057340b4cf4"
		    "08d5a56592f8274eec53f0" },
	};
	CK_MECHANISM m = { 0 };
	uint8_t d[64], want[64];
	size_t dl, wl;
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		m.mechanism = v[i].m;
		wl = unhex(v[i].d, want, sizeof(want));
		dl = 0;
		assert_int_equal(cf_digest(&m, (const uint8_t *)"abc", 3, NULL,
		    &dl), 0);
		assert_int_equal(dl, wl);
		dl = sizeof(d);
		assert_int_equal(cf_digest(&m, (const uint8_t *)"abc", 3, d,
		    &dl), 0);
		assert_int_equal(dl, wl);
		assert_memory_equal(d, want, wl);
	}
	m.mechanism = CKM_MD5;
	assert_int_equal(cf_digest(&m, (const uint8_t *)"abc", 3, d, &dl),
	    COFFER_E_MECHANISM);
	/* random */
	memset(d, 0, sizeof(d));
	assert_int_equal(cf_random_priv(d, sizeof(d)), 0);
	memset(want, 0, sizeof(want));
	assert_memory_not_equal(d, want, sizeof(d));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aes_sp800_38a),
		cmocka_unit_test(test_aes_gcm_spec),
		cmocka_unit_test(test_gcm_bad_and_generated_iv),
		cmocka_unit_test(test_cbc_pad_vs_openssl),
		cmocka_unit_test(test_ctr_counter_limit),
		cmocka_unit_test(test_streaming_large),
		cmocka_unit_test(test_rsa_encrypt),
		cmocka_unit_test(test_digests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
