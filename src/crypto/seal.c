/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seal.c: AES-256-GCM sealing of raft entries, snapshots and the wrapped
 * cluster key, and the "file" seal backend (0600 KEK file + sealed key).
 *
 * Guarantees: a blob opens only under the same key, kind and index it was
 * sealed with (all bound by the AAD); nonces are 96 random bits per seal;
 * key material lives only in the secure heap and is wiped on every path.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "coffer/coffer_err.h"
#include "common/log.h"
#include "common/secmem.h"
#include "crypto/seal.h"

#define SEAL_MAGIC "CFS1"
#define SEAL_MAGIC_LEN 4
#define SEAL_HDR_LEN 25		/* magic | kind | index | nonce == AAD */
#define SEAL_NONCE_OFF 13
#define SEAL_NONCE_LEN 12
#define SEAL_TAG_LEN 16
#define KEK_LEN 32
/* Plaintexts up to this size are opened into the secure heap. */
#define SEAL_SECURE_MAX (64 * 1024)
#define SEALED_KEY_LEN (CF_CLUSTER_KEY_LEN + CF_SEAL_OVERHEAD)

static int
valid_kind(int kind)
{
	return kind == CF_SEAL_ENTRY || kind == CF_SEAL_SNAPSHOT ||
	    kind == CF_SEAL_CLUSTER_KEY;
}

static void
put_u64be(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t
get_u64be(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/*
 * One AES-256-GCM pass. enc: 1 seal, 0 open. hdr is the 25-byte header
 * (AAD, nonce at offset 13). On open, tag is checked by EVP_CipherFinal_ex.
 */
static int
gcm(int enc, const uint8_t *key, const uint8_t *hdr, const uint8_t *in,
    size_t n, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx = NULL;
	int len, rc = COFFER_E_CRYPTO;

	if (n > INT_MAX)
		return COFFER_E_TOOBIG;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return COFFER_E_NOMEM;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL,
	    enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN,
	    NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, hdr + SEAL_NONCE_OFF,
	    enc) != 1)
		goto out;
	if (EVP_CipherUpdate(ctx, NULL, &len, hdr, SEAL_HDR_LEN) != 1)
		goto out;
	if (n > 0 && EVP_CipherUpdate(ctx, out, &len, in, (int)n) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
	    SEAL_TAG_LEN, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + (n > 0 ? n : 0), &len) != 1) {
		/* On open this is the tag mismatch. */
		rc = enc ? COFFER_E_CRYPTO : COFFER_E_INTEGRITY;
		goto out;
	}
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
	    SEAL_TAG_LEN, tag) != 1)
		goto out;
	rc = 0;
 out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int
cf_sealbox_seal(const uint8_t key[CF_CLUSTER_KEY_LEN], int kind,
    uint64_t index, const uint8_t *plain, size_t n, uint8_t *out)
{
	int rc;

	if (key == NULL || out == NULL || (plain == NULL && n > 0) ||
	    !valid_kind(kind))
		return COFFER_E_INVAL;
	if (n > INT_MAX - CF_SEAL_OVERHEAD)
		return COFFER_E_TOOBIG;
	memcpy(out, SEAL_MAGIC, SEAL_MAGIC_LEN);
	out[4] = (uint8_t)kind;
	put_u64be(out + 5, index);
	if (RAND_bytes(out + SEAL_NONCE_OFF, SEAL_NONCE_LEN) != 1)
		return COFFER_E_CRYPTO;
	rc = gcm(1, key, out, plain, n, out + SEAL_HDR_LEN,
	    out + SEAL_HDR_LEN + n);
	if (rc != 0)
		OPENSSL_cleanse(out, n + CF_SEAL_OVERHEAD);
	return rc;
}

int
cf_sealbox_open(const uint8_t key[CF_CLUSTER_KEY_LEN], int kind,
    uint64_t index, const uint8_t *in, size_t n, uint8_t **plain,
    size_t *plain_len)
{
	uint8_t *p = NULL;
	uint8_t tag[SEAL_TAG_LEN];
	size_t pn;
	int secure = 0, rc;

	if (plain != NULL)
		*plain = NULL;
	if (plain_len != NULL)
		*plain_len = 0;
	if (key == NULL || plain == NULL || plain_len == NULL ||
	    (in == NULL && n > 0) || !valid_kind(kind))
		return COFFER_E_INVAL;
	if (n < CF_SEAL_OVERHEAD ||
	    memcmp(in, SEAL_MAGIC, SEAL_MAGIC_LEN) != 0)
		return COFFER_E_FORMAT;
	if (n > (size_t)INT_MAX)
		return COFFER_E_TOOBIG;
	/* The header is also authenticated; these checks only fail early. */
	if (in[4] != (uint8_t)kind || get_u64be(in + 5) != index)
		return COFFER_E_INTEGRITY;
	pn = n - CF_SEAL_OVERHEAD;
	/*
	 * Small plaintexts (keys, most entries) go to the secure heap. Large
	 * ones (snapshots, bulk entries) would exhaust it, so they use the
	 * normal heap; cf_free_secret wipes and frees either kind. The
	 * wrapped cluster key is never allowed outside the secure heap.
	 */
	if (pn <= SEAL_SECURE_MAX || kind == CF_SEAL_CLUSTER_KEY) {
		p = cf_malloc_secret(pn > 0 ? pn : 1);
		secure = p != NULL;
	}
	if (p == NULL && kind != CF_SEAL_CLUSTER_KEY)
		p = calloc(1, pn > 0 ? pn : 1);
	if (p == NULL)
		return COFFER_E_NOMEM;
	memcpy(tag, in + n - SEAL_TAG_LEN, SEAL_TAG_LEN);
	rc = gcm(0, key, in, in + SEAL_HDR_LEN, pn, p, tag);
	if (rc != 0) {
		if (secure)
			cf_free_secret(p, pn > 0 ? pn : 1);
		else {
			OPENSSL_cleanse(p, pn > 0 ? pn : 1);
			free(p);
		}
		return rc;
	}
	*plain = p;
	*plain_len = pn;
	return 0;
}

/* --- file seal backend ------------------------------------------------ */

static int
fsync_dir_of(const char *path)
{
	char *dup, *slash;
	int fd, rc = 0;

	if ((dup = strdup(path)) == NULL)
		return COFFER_E_NOMEM;
	slash = strrchr(dup, '/');
	if (slash == NULL) {
		dup[0] = '.';
		dup[1] = '\0';
	} else if (slash == dup)
		slash[1] = '\0';
	else
		*slash = '\0';
	fd = open(dup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		rc = COFFER_E_IO;
	if (fd >= 0)
		close(fd);
	free(dup);
	return rc;
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return COFFER_E_IO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads exactly n bytes and checks there are no more. */
static int
read_exact(int fd, uint8_t *p, size_t n)
{
	uint8_t extra;
	ssize_t r;

	while (n > 0) {
		r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return COFFER_E_IO;
		if (r == 0)
			return COFFER_E_INTEGRITY;	/* truncated */
		p += r;
		n -= (size_t)r;
	}
	do {
		r = read(fd, &extra, 1);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return COFFER_E_IO;
	return r == 0 ? 0 : COFFER_E_INTEGRITY;
}

/* Creates path with O_EXCL, mode 0600, writes p and fsyncs it. */
static int
create_file(const char *path, const uint8_t *p, size_t n)
{
	int fd, rc;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return errno == EEXIST ? COFFER_E_EXISTS : COFFER_E_IO;
	rc = write_all(fd, p, n);
	if (rc == 0 && fsync(fd) != 0)
		rc = COFFER_E_IO;
	if (close(fd) != 0 && rc == 0)
		rc = COFFER_E_IO;
	if (rc != 0)
		unlink(path);
	else
		rc = fsync_dir_of(path);
	return rc;
}

/*
 * Opens the KEK file and reads it into the secure heap. The file must be
 * a regular file owned by us with no group/other permission bits.
 */
static int
load_kek(const char *kek_path, uint8_t **kek)
{
	struct stat st;
	uint8_t *k = NULL;
	int fd, rc;

	*kek = NULL;
	fd = open(kek_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? COFFER_E_NOTFOUND : COFFER_E_IO;
	if (fstat(fd, &st) != 0) {
		rc = COFFER_E_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 ||
	    st.st_uid != geteuid()) {
		log_error("seal: KEK file %s must be a regular file owned by "
		    "uid %u with mode 0600 (is %04o)", kek_path,
		    (unsigned)geteuid(), (unsigned)(st.st_mode & 07777));
		rc = COFFER_E_POLICY;
		goto out;
	}
	if ((k = cf_malloc_secret(KEK_LEN)) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	if ((rc = read_exact(fd, k, KEK_LEN)) != 0) {
		if (rc == COFFER_E_INTEGRITY)
			log_error("seal: KEK file %s has the wrong size",
			    kek_path);
		goto out;
	}
	*kek = k;
	k = NULL;
	rc = 0;
 out:
	cf_free_secret(k, KEK_LEN);
	close(fd);
	return rc;
}

static int
load_sealed(const char *sealed_path, uint8_t blob[SEALED_KEY_LEN])
{
	int fd, rc;

	fd = open(sealed_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? COFFER_E_NOTFOUND : COFFER_E_IO;
	rc = read_exact(fd, blob, SEALED_KEY_LEN);
	close(fd);
	return rc;
}

/* New cluster key, sealed under kek into sealed_path (tmp + rename). */
static int
create_sealed(const uint8_t *kek, const char *sealed_path, uint8_t **key)
{
	uint8_t blob[SEALED_KEY_LEN];
	uint8_t *k = NULL;
	char *tmp = NULL;
	int rc;

	*key = NULL;
	if ((k = cf_malloc_secret(CF_CLUSTER_KEY_LEN)) == NULL)
		return COFFER_E_NOMEM;
	if (RAND_priv_bytes(k, CF_CLUSTER_KEY_LEN) != 1) {
		rc = COFFER_E_CRYPTO;
		goto out;
	}
	if ((rc = cf_sealbox_seal(kek, CF_SEAL_CLUSTER_KEY, 0, k,
	    CF_CLUSTER_KEY_LEN, blob)) != 0)
		goto out;
	if (asprintf(&tmp, "%s.tmp", sealed_path) < 0) {
		tmp = NULL;
		rc = COFFER_E_NOMEM;
		goto out;
	}
	unlink(tmp);	/* leftover of an interrupted create */
	if ((rc = create_file(tmp, blob, sizeof(blob))) != 0)
		goto out;
	if (rename(tmp, sealed_path) != 0) {
		unlink(tmp);
		rc = COFFER_E_IO;
		goto out;
	}
	if ((rc = fsync_dir_of(sealed_path)) != 0)
		goto out;
	*key = k;
	k = NULL;
	rc = 0;
 out:
	free(tmp);
	cf_free_secret(k, CF_CLUSTER_KEY_LEN);
	return rc;
}

int
cf_seal_file_load_cluster_key(const char *kek_path, const char *sealed_path,
    int create, uint8_t **key)
{
	uint8_t blob[SEALED_KEY_LEN];
	uint8_t *kek = NULL, *k = NULL;
	size_t klen = 0;
	struct stat st;
	int rc;

	if (key == NULL)
		return COFFER_E_INVAL;
	*key = NULL;
	if (kek_path == NULL || sealed_path == NULL)
		return COFFER_E_INVAL;

	rc = load_kek(kek_path, &kek);
	if (rc == COFFER_E_NOTFOUND && create) {
		/*
		 * A sealed key without its KEK cannot be opened; refuse to
		 * create a new KEK next to it instead of silently replacing
		 * the cluster key.
		 */
		if (lstat(sealed_path, &st) == 0) {
			log_error("seal: %s exists but its KEK %s is missing",
			    sealed_path, kek_path);
			rc = COFFER_E_NOTFOUND;
			goto out;
		}
		if ((kek = cf_malloc_secret(KEK_LEN)) == NULL) {
			rc = COFFER_E_NOMEM;
			goto out;
		}
		if (RAND_priv_bytes(kek, KEK_LEN) != 1) {
			rc = COFFER_E_CRYPTO;
			goto out;
		}
		if ((rc = create_file(kek_path, kek, KEK_LEN)) != 0)
			goto out;
		rc = create_sealed(kek, sealed_path, &k);
		goto done;
	}
	if (rc != 0)
		goto out;

	rc = load_sealed(sealed_path, blob);
	if (rc == COFFER_E_NOTFOUND && create) {
		/* KEK written but the sealed key not yet: finish creating. */
		rc = create_sealed(kek, sealed_path, &k);
		goto done;
	}
	if (rc != 0)
		goto out;
	rc = cf_sealbox_open(kek, CF_SEAL_CLUSTER_KEY, 0, blob, sizeof(blob),
	    &k, &klen);
	if (rc == COFFER_E_FORMAT)
		rc = COFFER_E_INTEGRITY;	/* tampered magic */
	if (rc == 0 && klen != CF_CLUSTER_KEY_LEN)
		rc = COFFER_E_INTEGRITY;
 done:
	if (rc != 0)
		goto out;
	*key = k;
	k = NULL;
 out:
	if (rc == COFFER_E_INTEGRITY)
		log_error("seal: sealed cluster key %s does not open under "
		    "KEK %s", sealed_path, kek_path);
	cf_free_secret(k, klen > 0 ? klen : CF_CLUSTER_KEY_LEN);
	cf_free_secret(kek, KEK_LEN);
	OPENSSL_cleanse(blob, sizeof(blob));
	return rc;
}

/* Overwrites path with random bytes, fsyncs and unlinks it. */
static int
shred(const char *path)
{
	uint8_t junk[512];
	struct stat st;
	off_t left;
	size_t chunk;
	int fd, rc = 0;

	fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		/* Not a file we can overwrite (symlink?): still unlink. */
		return unlink(path) == 0 || errno == ENOENT ? 0 : COFFER_E_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = COFFER_E_IO;
		goto out;
	}
	for (left = st.st_size; left > 0; left -= (off_t)chunk) {
		chunk = left > (off_t)sizeof(junk) ? sizeof(junk) :
		    (size_t)left;
		if (RAND_bytes(junk, (int)chunk) != 1) {
			rc = COFFER_E_CRYPTO;
			goto out;
		}
		if ((rc = write_all(fd, junk, chunk)) != 0)
			goto out;
	}
	if (fsync(fd) != 0)
		rc = COFFER_E_IO;
 out:
	close(fd);
	if (unlink(path) != 0 && errno != ENOENT && rc == 0)
		rc = COFFER_E_IO;
	if (rc == 0)
		rc = fsync_dir_of(path);
	return rc;
}

int
cf_seal_file_destroy(const char *kek_path, const char *sealed_path)
{
	int rc = 0, r;

	/* Both files are attempted even if the first one fails. */
	if (kek_path != NULL && (r = shred(kek_path)) != 0)
		rc = r;
	if (sealed_path != NULL && (r = shred(sealed_path)) != 0 && rc == 0)
		rc = r;
	return rc;
}
