/* SPDX-License-Identifier: Apache-2.0 */
/*
 * batch_crypt.c: test driver for coffer_encrypt_many / coffer_decrypt_many
 * against a real node (test_crypto.py checks the results with an
 * independent AES-GCM). Not installed.
 *
 *   coffer-test-batch encrypt|decrypt KEY OUTDIR FILE...
 *
 * COFFER_CONFIG names the client configuration, COFFER_TEST_USER and
 * COFFER_PASSWORD the crypto user. AES-GCM, 128-bit tags, no AAD.
 * encrypt: FILE i is a message; OUTDIR/i holds IV (12) || ciphertext || tag
 * with the IV the node drew (the coffer CLI's format). decrypt: FILE i is
 * IV || ciphertext || tag; OUTDIR/i holds the plaintext, or OUTDIR/i.err the
 * error code of that message. Exit 0 if the call returned 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/coffer.h"
#include "coffer/coffer_objects.h"

#define MAXF COFFER_SIGN_MANY_MAX

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (p = malloc((size_t)n + 1)) == NULL ||
	    fread(p, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "batch: cannot read %s\n", path);
		exit(2);
	}
	fclose(f);
	*len = (size_t)n;
	return p;
}

static void
put(const char *dir, size_t i, const char *ext, const uint8_t *a,
    size_t alen, const uint8_t *b, size_t blen)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%zu%s", dir, i, ext);
	if ((f = fopen(path, "wb")) == NULL ||
	    (alen > 0 && fwrite(a, 1, alen, f) != alen) ||
	    (blen > 0 && fwrite(b, 1, blen, f) != blen) || fclose(f) != 0) {
		fprintf(stderr, "batch: cannot write %s\n", path);
		exit(2);
	}
}

int
main(int argc, char **argv)
{
	const char *user = getenv("COFFER_TEST_USER");
	const char *pw = getenv("COFFER_PASSWORD");
	struct coffer_config *cfg = NULL;
	struct coffer_client *c = NULL;
	CK_GCM_PARAMS g = { NULL, 0, 0, NULL, 0, 128 };
	CK_MECHANISM m = { CKM_AES_GCM, &g, sizeof(g) };
	const uint8_t *in[MAXF], *ivp[MAXF];
	uint8_t *file[MAXF], *out[MAXF], ivb[MAXF][12], *iv[MAXF];
	size_t len[MAXF], flen[MAXF], olen[MAXF], ivl[MAXF], n, i;
	int res[MAXF], role, rc;
	uint64_t key;
	char err[16];

	if (argc < 5 || (size_t)(argc - 4) > MAXF || user == NULL ||
	    pw == NULL) {
		fprintf(stderr, "usage: coffer-test-batch encrypt|decrypt KEY "
		    "OUTDIR FILE... (COFFER_TEST_USER, COFFER_PASSWORD)\n");
		return 2;
	}
	key = strtoull(argv[2], NULL, 10);
	n = (size_t)(argc - 4);
	for (i = 0; i < n; i++)
		file[i] = slurp(argv[4 + i], &flen[i]);
	if ((rc = coffer_config_load(getenv("COFFER_CONFIG"), &cfg)) != 0 ||
	    (rc = coffer_client_new(cfg, &c, NULL, 0)) != 0 ||
	    (rc = coffer_login(c, user, pw, &role)) != 0) {
		fprintf(stderr, "batch: connect/login: %s\n",
		    coffer_strerror(rc));
		return 1;
	}
	if (strcmp(argv[1], "encrypt") == 0) {
		for (i = 0; i < n; i++) {
			in[i] = file[i];
			len[i] = flen[i];
			iv[i] = ivb[i];
			ivl[i] = sizeof(ivb[i]);
		}
		rc = coffer_encrypt_many(c, &m, key, n, in, len, out, olen, iv,
		    ivl);
		for (i = 0; rc == 0 && i < n; i++) {
			put(argv[3], i, "", iv[i], ivl[i], out[i], olen[i]);
			coffer_free(out[i], olen[i]);
		}
	} else {
		for (i = 0; i < n; i++) {
			if (flen[i] < 12) {
				fprintf(stderr, "batch: %s: no IV\n",
				    argv[4 + i]);
				return 2;
			}
			ivp[i] = file[i];
			ivl[i] = 12;
			in[i] = file[i] + 12;
			len[i] = flen[i] - 12;
		}
		rc = coffer_decrypt_many(c, &m, key, n, in, len, ivp, ivl, out,
		    olen, res);
		for (i = 0; rc == 0 && i < n; i++) {
			if (res[i] != 0) {
				snprintf(err, sizeof(err), "%d", res[i]);
				put(argv[3], i, ".err", (uint8_t *)err,
				    strlen(err), NULL, 0);
				continue;
			}
			put(argv[3], i, "", out[i], olen[i], NULL, 0);
			coffer_free(out[i], olen[i]);
		}
	}
	if (rc != 0)
		fprintf(stderr, "batch: %s: %s (%s)\n", argv[1],
		    coffer_strerror(rc), coffer_client_last_error(c));
	for (i = 0; i < n; i++)
		free(file[i]);
	coffer_client_free(c);
	coffer_config_free(cfg);
	return rc == 0 ? 0 : 1;
}
