/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_seal.c: sealing (AES-256-GCM blobs) and the file seal backend.
 * The blob layout is checked against OpenSSL EVP used directly here, in
 * both directions, not against values produced by seal.c itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "coffer/coffer_err.h"
#include "common/secmem.h"
#include "crypto/seal.h"

static char tmpdir[1024];

static void
rand_fill(void *p, size_t n)
{
	assert_int_equal(RAND_bytes(p, (int)n), 1);
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* Independent AES-256-GCM with EVP: decrypt per the documented layout. */
static int
evp_open(const uint8_t *key, const uint8_t *blob, size_t n, uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len, ok;
	size_t ctlen = n - 41;

	ok = c != NULL &&
	    EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
	    EVP_DecryptInit_ex(c, NULL, NULL, key, blob + 13) == 1 &&
	    EVP_DecryptUpdate(c, NULL, &len, blob, 25) == 1 &&
	    EVP_DecryptUpdate(c, out, &len, blob + 25, (int)ctlen) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16,
	    (void *)(blob + n - 16)) == 1 &&
	    EVP_DecryptFinal_ex(c, out + ctlen, &len) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok;
}

/* Independent sealing with EVP per the documented layout. */
static void
evp_seal(const uint8_t *key, int kind, uint64_t index, const uint8_t *p,
    size_t n, uint8_t *blob)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len;

	assert_non_null(c);
	memcpy(blob, "CFS1", 4);
	blob[4] = (uint8_t)kind;
	put_be64(blob + 5, index);
	rand_fill(blob + 13, 12);
	assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL,
	    NULL), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12,
	    NULL), 1);
	assert_int_equal(EVP_EncryptInit_ex(c, NULL, NULL, key, blob + 13), 1);
	assert_int_equal(EVP_EncryptUpdate(c, NULL, &len, blob, 25), 1);
	assert_int_equal(EVP_EncryptUpdate(c, blob + 25, &len, p, (int)n), 1);
	assert_int_equal(EVP_EncryptFinal_ex(c, blob + 25 + n, &len), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16,
	    blob + 25 + n), 1);
	EVP_CIPHER_CTX_free(c);
}

static void
test_roundtrip_and_layout(void **state)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 1000, 70000 };
	uint8_t key[32];

	(void)state;
	rand_fill(key, sizeof(key));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		uint8_t *p = malloc(n + 1), *blob = malloc(n + 41);
		uint8_t *ind = malloc(n + 1), *out = NULL;
		size_t outn = 99;
		uint64_t idx = 0x0102030405060708ULL + i;

		assert_non_null(p);
		assert_non_null(blob);
		assert_non_null(ind);
		rand_fill(p, n + 1);
		assert_int_equal(cf_sealbox_seal(key, CF_SEAL_ENTRY, idx, p, n,
		    blob), 0);
		/* Header bytes per the documented layout. */
		assert_memory_equal(blob, "CFS1", 4);
		assert_int_equal(blob[4], 1);
		assert_int_equal(blob[5], 0x01);
		assert_int_equal(blob[12], (uint8_t)(0x08 + i));
		/* Other side: plain EVP opens it. */
		assert_true(evp_open(key, blob, n + 41, ind));
		if (n > 0)
			assert_memory_equal(ind, p, n);
		assert_int_equal(cf_sealbox_open(key, CF_SEAL_ENTRY, idx, blob,
		    n + 41, &out, &outn), 0);
		assert_non_null(out);
		assert_int_equal(outn, n);
		if (n > 0)
			assert_memory_equal(out, p, n);
		cf_free_secret(out, n > 0 ? n : 1);
		/* Other direction: EVP seals, cf_sealbox_open opens. */
		evp_seal(key, CF_SEAL_SNAPSHOT, 0, p, n, blob);
		assert_int_equal(cf_sealbox_open(key, CF_SEAL_SNAPSHOT, 0, blob,
		    n + 41, &out, &outn), 0);
		assert_int_equal(outn, n);
		if (n > 0)
			assert_memory_equal(out, p, n);
		cf_free_secret(out, n > 0 ? n : 1);
		free(p);
		free(blob);
		free(ind);
	}
}

static void
test_nonce_fresh(void **state)
{
	uint8_t key[32], a[41 + 8], b[41 + 8];
	const uint8_t p[8] = "samesame";

	(void)state;
	rand_fill(key, sizeof(key));
	assert_int_equal(cf_sealbox_seal(key, 1, 7, p, 8, a), 0);
	assert_int_equal(cf_sealbox_seal(key, 1, 7, p, 8, b), 0);
	assert_memory_not_equal(a + 13, b + 13, 12);
	assert_memory_not_equal(a + 25, b + 25, 8);
}

static void
test_bitflips(void **state)
{
	uint8_t key[32], p[40], blob[81], *out;
	size_t outn;
	int rc;

	(void)state;
	rand_fill(key, sizeof(key));
	rand_fill(p, sizeof(p));
	assert_int_equal(cf_sealbox_seal(key, CF_SEAL_ENTRY, 42, p, sizeof(p),
	    blob), 0);
	for (size_t bit = 0; bit < sizeof(blob) * 8; bit++) {
		blob[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		out = (uint8_t *)1;
		outn = 5;
		rc = cf_sealbox_open(key, CF_SEAL_ENTRY, 42, blob, sizeof(blob),
		    &out, &outn);
		if (rc != COFFER_E_INTEGRITY && rc != COFFER_E_FORMAT)
			fail_msg("bit %zu: rc %d", bit, rc);
		if (bit < 32)
			assert_int_equal(rc, COFFER_E_FORMAT);	/* magic */
		else
			assert_int_equal(rc, COFFER_E_INTEGRITY);
		assert_null(out);
		assert_int_equal(outn, 0);
		blob[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* Unchanged blob still opens (the loop restored every bit). */
	assert_int_equal(cf_sealbox_open(key, CF_SEAL_ENTRY, 42, blob,
	    sizeof(blob), &out, &outn), 0);
	cf_free_secret(out, outn);
}

static void
test_wrong_binding(void **state)
{
	uint8_t key[32], key2[32], p[10] = "0123456789", blob[51], *out;
	size_t outn;

	(void)state;
	rand_fill(key, sizeof(key));
	memcpy(key2, key, sizeof(key2));
	key2[31] ^= 1;
	assert_int_equal(cf_sealbox_seal(key, CF_SEAL_ENTRY, 5, p, 10, blob),
	    0);
	assert_int_equal(cf_sealbox_open(key, CF_SEAL_SNAPSHOT, 5, blob, 51,
	    &out, &outn), COFFER_E_INTEGRITY);
	assert_int_equal(cf_sealbox_open(key, CF_SEAL_CLUSTER_KEY, 5, blob, 51,
	    &out, &outn), COFFER_E_INTEGRITY);
	assert_int_equal(cf_sealbox_open(key, CF_SEAL_ENTRY, 4, blob, 51,
	    &out, &outn), COFFER_E_INTEGRITY);
	assert_int_equal(cf_sealbox_open(key, CF_SEAL_ENTRY, 6, blob, 51,
	    &out, &outn), COFFER_E_INTEGRITY);
	assert_int_equal(cf_sealbox_open(key2, CF_SEAL_ENTRY, 5, blob, 51,
	    &out, &outn), COFFER_E_INTEGRITY);
	/*
	 * Rewriting the header's kind/index (as an attacker could) and
	 * asking for the rewritten binding still fails: the tag covers them.
	 */
	blob[12] = 6;
	assert_int_equal(cf_sealbox_open(key, CF_SEAL_ENTRY, 6, blob, 51,
	    &out, &outn), COFFER_E_INTEGRITY);
	blob[12] = 5;
	blob[4] = CF_SEAL_SNAPSHOT;
	assert_int_equal(cf_sealbox_open(key, CF_SEAL_SNAPSHOT, 5, blob, 51,
	    &out, &outn), COFFER_E_INTEGRITY);
	/* Bad arguments. */
	assert_int_equal(cf_sealbox_seal(key, 0, 5, p, 10, blob),
	    COFFER_E_INVAL);
	assert_int_equal(cf_sealbox_seal(key, 4, 5, p, 10, blob),
	    COFFER_E_INVAL);
}

static void
test_truncation(void **state)
{
	uint8_t key[32], p[30], blob[71], *out;
	size_t outn;
	int rc;

	(void)state;
	rand_fill(key, sizeof(key));
	rand_fill(p, sizeof(p));
	assert_int_equal(cf_sealbox_seal(key, CF_SEAL_SNAPSHOT, 0, p, 30, blob),
	    0);
	for (size_t len = 0; len < sizeof(blob); len++) {
		/* A copy of exactly len bytes so ASan sees any overread. */
		uint8_t *cut = malloc(len > 0 ? len : 1);

		assert_non_null(cut);
		memcpy(cut, blob, len);
		out = NULL;
		rc = cf_sealbox_open(key, CF_SEAL_SNAPSHOT, 0, cut, len, &out,
		    &outn);
		if (len < CF_SEAL_OVERHEAD)
			assert_int_equal(rc, COFFER_E_FORMAT);
		else
			assert_int_equal(rc, COFFER_E_INTEGRITY);
		assert_null(out);
		free(cut);
	}
}

/* --- file backend ----------------------------------------------------- */

struct paths {
	char dir[2048];
	char kek[PATH_MAX];
	char sealed[PATH_MAX];
};

static void
mkpaths(struct paths *ps)
{
	snprintf(ps->dir, sizeof(ps->dir), "%s/sealXXXXXX", tmpdir);
	assert_non_null(mkdtemp(ps->dir));
	snprintf(ps->kek, sizeof(ps->kek), "%s/kek", ps->dir);
	snprintf(ps->sealed, sizeof(ps->sealed), "%s/cluster-key.sealed",
	    ps->dir);
}

static void
rmpaths(struct paths *ps)
{
	char tmp[PATH_MAX + 8];

	unlink(ps->kek);
	unlink(ps->sealed);
	snprintf(tmp, sizeof(tmp), "%s.tmp", ps->sealed);
	unlink(tmp);
	rmdir(ps->dir);
}

static size_t
slurp(const char *path, uint8_t *buf, size_t max)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, max, f);
	fclose(f);
	return n;
}

static void
spit(const char *path, const uint8_t *buf, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, n, f), n);
	fclose(f);
}

static void
test_file_backend(void **state)
{
	struct paths ps;
	struct stat st;
	uint8_t *k1 = NULL, *k2 = NULL, kek[64], sealed[128], ind[32];
	size_t kn, sn;

	(void)state;
	mkpaths(&ps);
	/* Missing and no create. */
	assert_int_equal(cf_seal_file_load_cluster_key(ps.kek, ps.sealed, 0,
	    &k1), COFFER_E_NOTFOUND);
	assert_null(k1);
	/* Create. */
	assert_int_equal(cf_seal_file_load_cluster_key(ps.kek, ps.sealed, 1,
	    &k1), 0);
	assert_non_null(k1);
	assert_int_equal(stat(ps.kek, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);
	kn = slurp(ps.kek, kek, sizeof(kek));
	assert_int_equal(kn, 32);
	sn = slurp(ps.sealed, sealed, sizeof(sealed));
	assert_int_equal(sn, 32 + CF_SEAL_OVERHEAD);
	/* Other side: the sealed file decrypts under the KEK with EVP. */
	assert_memory_equal(sealed, "CFS1", 4);
	assert_int_equal(sealed[4], CF_SEAL_CLUSTER_KEY);
	assert_true(evp_open(kek, sealed, sn, ind));
	assert_memory_equal(ind, k1, 32);
	/* Reload without create gives the same key. */
	assert_int_equal(cf_seal_file_load_cluster_key(ps.kek, ps.sealed, 0,
	    &k2), 0);
	assert_memory_equal(k1, k2, 32);
	cf_free_secret(k2, 32);
	k2 = NULL;
	/* create=1 on existing files loads, never replaces. */
	assert_int_equal(cf_seal_file_load_cluster_key(ps.kek, ps.sealed, 1,
	    &k2), 0);
	assert_memory_equal(k1, k2, 32);
	cf_free_secret(k2, 32);
	k2 = NULL;

	/* KEK readable by group or other: refused. */
	assert_int_equal(chmod(ps.kek, 0644), 0);
	assert_int_equal(cf_seal_file_load_cluster_key(ps.kek, ps.sealed, 0,
	    &k2), COFFER_E_POLICY);
	assert_null(k2);
	assert_int_equal(chmod(ps.kek, 0640), 0);
	assert_int_equal(cf_seal_file_load_cluster_key(ps.kek, ps.sealed, 0,
	    &k2), COFFER_E_POLICY);
	assert_int_equal(chmod(ps.kek, 0600), 0);

	/* Tampered sealed file: every byte flipped in turn. */
	for (size_t i = 0; i < sn; i++) {
		sealed[i] ^= 0x01;
		spit(ps.sealed, sealed, sn);
		assert_int_equal(cf_seal_file_load_cluster_key(ps.kek,
		    ps.sealed, 0, &k2), COFFER_E_INTEGRITY);
		assert_null(k2);
		sealed[i] ^= 0x01;
	}
	/* Truncated and extended. */
	spit(ps.sealed, sealed, sn - 1);
	assert_int_equal(cf_seal_file_load_cluster_key(ps.kek, ps.sealed, 0,
	    &k2), COFFER_E_INTEGRITY);
	sealed[sn] = 0;
	spit(ps.sealed, sealed, sn + 1);
	assert_int_equal(cf_seal_file_load_cluster_key(ps.kek, ps.sealed, 0,
	    &k2), COFFER_E_INTEGRITY);
	/* Wrong KEK. */
	spit(ps.sealed, sealed, sn);
	kek[0] ^= 0x80;
	spit(ps.kek, kek, 32);
	assert_int_equal(chmod(ps.kek, 0600), 0);
	assert_int_equal(cf_seal_file_load_cluster_key(ps.kek, ps.sealed, 0,
	    &k2), COFFER_E_INTEGRITY);
	kek[0] ^= 0x80;
	spit(ps.kek, kek, 32);
	assert_int_equal(cf_seal_file_load_cluster_key(ps.kek, ps.sealed, 0,
	    &k2), 0);
	assert_memory_equal(k1, k2, 32);
	cf_free_secret(k2, 32);
	k2 = NULL;

	/* Destroy removes both; afterwards the key is gone. */
	assert_int_equal(cf_seal_file_destroy(ps.kek, ps.sealed), 0);
	assert_int_equal(stat(ps.kek, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(stat(ps.sealed, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(cf_seal_file_load_cluster_key(ps.kek, ps.sealed, 0,
	    &k2), COFFER_E_NOTFOUND);
	/* Idempotent. */
	assert_int_equal(cf_seal_file_destroy(ps.kek, ps.sealed), 0);
	/* A new key is really new. */
	assert_int_equal(cf_seal_file_load_cluster_key(ps.kek, ps.sealed, 1,
	    &k2), 0);
	assert_memory_not_equal(k1, k2, 32);
	cf_free_secret(k2, 32);
	cf_free_secret(k1, 32);
	assert_int_equal(cf_seal_file_destroy(ps.kek, ps.sealed), 0);
	rmpaths(&ps);
}

static void
test_file_backend_kek_missing(void **state)
{
	struct paths ps;
	uint8_t *k = NULL, before[128], after[128];
	size_t n1, n2;

	(void)state;
	mkpaths(&ps);
	assert_int_equal(cf_seal_file_load_cluster_key(ps.kek, ps.sealed, 1,
	    &k), 0);
	cf_free_secret(k, 32);
	k = NULL;
	n1 = slurp(ps.sealed, before, sizeof(before));
	assert_int_equal(unlink(ps.kek), 0);
	/* Never silently replace a cluster key whose KEK went missing. */
	assert_int_equal(cf_seal_file_load_cluster_key(ps.kek, ps.sealed, 1,
	    &k), COFFER_E_NOTFOUND);
	assert_null(k);
	n2 = slurp(ps.sealed, after, sizeof(after));
	assert_int_equal(n1, n2);
	assert_memory_equal(before, after, n1);
	assert_int_equal(access(ps.kek, F_OK), -1);
	/* A symlinked KEK is not followed. */
	assert_int_equal(symlink(ps.sealed, ps.kek), 0);
	assert_int_not_equal(cf_seal_file_load_cluster_key(ps.kek, ps.sealed,
	    0, &k), 0);
	assert_null(k);
	rmpaths(&ps);
}

static int
setup(void **state)
{
	const char *base = getenv("COFFER_TEST_TMP");

	(void)state;
	cf_secmem_init_lib();
	if (base == NULL || *base == '\0')
		base = "/tmp";
	mkdir(base, 0700);
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_sealXXXXXX", base);
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rmdir(tmpdir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_and_layout),
		cmocka_unit_test(test_nonce_fresh),
		cmocka_unit_test(test_bitflips),
		cmocka_unit_test(test_wrong_binding),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_file_backend),
		cmocka_unit_test(test_file_backend_kek_missing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
