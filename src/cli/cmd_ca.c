/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_ca.c: `coffer ca create` and `coffer ca sign`, a development
 * customer CA built with OpenSSL's EVP/X509 APIs (no node needed).
 *
 * create: DIR/ca.key (EC P-256, PKCS#8 PEM, created 0600 with O_EXCL, never
 * overwritten) and DIR/ca.crt (self-signed, CA:TRUE, pathlen 0).
 * sign: checks the CSR's own signature, copies subject and subjectAltName,
 * and issues a TLS server certificate (serverAuth, digitalSignature,
 * CA:FALSE) no longer valid than the CA itself. The equivalent openssl
 * commands are printed by `coffer ca --help` (main.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cli.h"

#define CA_DEFAULT_CN	"Coffer development CA"
#define CA_DEFAULT_DAYS	3650
#define CERT_DEFAULT_DAYS 825

/* Records the OpenSSL error queue (drained) as the detail. */
static int
ossl_fail(struct cli *c, const char *what)
{
	char buf[256] = "";
	unsigned long e, last = 0;

	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last != 0)
		ERR_error_string_n(last, buf, sizeof(buf));
	return cli_fail(c, COFFER_E_CRYPTO, "%s%s%s", what,
	    buf[0] ? ": " : "", buf);
}

/* Never prompt for a PEM passphrase: encrypted CA keys are refused. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

static int
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext;
	int ok;

	if ((ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

static int
random_serial(X509 *x)
{
	BIGNUM *bn = NULL;
	int ok = 0;

	/* 127 random bits, positive and non-zero with overwhelming odds
	 * (RFC 5280: at most 20 octets, unpredictable per CA/B BR). */
	if ((bn = BN_new()) != NULL &&
	    BN_rand(bn, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) == 1 &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL)
		ok = 1;
	BN_free(bn);
	return ok;
}

static int
days_opt(struct cli *c, unsigned def, long *days)
{
	uint64_t v;

	if (c->o.days == NULL) {
		*days = def;
		return 0;
	}
	if (cli_parse_u64(c->o.days, 1, 36500, &v) != 0)
		return cli_usage(c, "--days must be 1..36500");
	*days = (long)v;
	return 0;
}

static void
name_text(const X509_NAME *n, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	int r = 0;

	buf[0] = '\0';
	if (b == NULL)
		return;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0)
		r = BIO_read(b, buf, (int)len - 1);
	buf[r > 0 ? r : 0] = '\0';
	BIO_free(b);
}

static void
time_text(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "?");
}

static void
serial_text(X509 *x, char *buf, size_t len)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;

	snprintf(buf, len, "%s", hex ? hex : "?");
	OPENSSL_free(hex);
	BN_free(bn);
}

/* Writes PEM data through fd opened with flags/mode. */
static int
write_pem(struct cli *c, const char *path, int flags, mode_t mode,
    EVP_PKEY *key, X509 *cert)
{
	BIO *b = NULL;
	int fd, ok;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags,
	    mode)) < 0)
		return cli_fail(c, COFFER_E_IO, "%s: %s", path,
		    strerror(errno));
	if ((b = BIO_new_fd(fd, BIO_CLOSE)) == NULL) {
		close(fd);
		return ossl_fail(c, path);
	}
	if (key != NULL)
		ok = PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL,
		    NULL);
	else
		ok = PEM_write_bio_X509(b, cert);
	if (ok == 1 && BIO_flush(b) == 1 && fsync(fd) == 0) {
		BIO_free(b);
		return 0;
	}
	BIO_free(b);
	return ossl_fail(c, path);
}

int
cmd_ca_create(struct cli *c)
{
	const char *dir = c->o.out;
	const char *cn = c->o.cn ? c->o.cn : CA_DEFAULT_CN;
	char keypath[PATH_MAX], certpath[PATH_MAX], subj[256], until[32];
	char serial[64];
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	X509_NAME *name = NULL;
	X509V3_CTX ctx;
	struct stat st;
	long days = 0;
	bool key_written = false;
	int rc;

	if ((rc = days_opt(c, CA_DEFAULT_DAYS, &days)) != 0)
		return rc;
	if (*cn == '\0' || strlen(cn) > 64)
		return cli_usage(c, "--cn must be 1..64 characters");
	if ((size_t)snprintf(keypath, sizeof(keypath), "%s/ca.key", dir) >=
	    sizeof(keypath) ||
	    (size_t)snprintf(certpath, sizeof(certpath), "%s/ca.crt", dir) >=
	    sizeof(certpath))
		return cli_usage(c, "--out path too long");
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return cli_fail(c, COFFER_E_IO, "%s: %s", dir, strerror(errno));
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return cli_fail(c, COFFER_E_IO, "%s: not a directory", dir);
	if (access(keypath, F_OK) == 0 || access(certpath, F_OK) == 0)
		return cli_fail(c, COFFER_E_EXISTS, "%s already holds a CA; "
		    "not overwriting", dir);

	rc = COFFER_E_CRYPTO;
	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL) {
		rc = ossl_fail(c, "EC P-256 key generation");
		goto out;
	}
	if ((x = X509_new()) == NULL || (name = X509_NAME_new()) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 || !random_serial(x) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_set_pubkey(x, pkey) != 1) {
		rc = ossl_fail(c, "building the CA certificate");
		goto out;
	}
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if (!add_ext(x, &ctx, NID_basic_constraints,
	    "critical,CA:TRUE,pathlen:0") ||
	    !add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    !add_ext(x, &ctx, NID_subject_key_identifier, "hash") ||
	    !add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always")) {
		rc = ossl_fail(c, "CA certificate extensions");
		goto out;
	}
	if (X509_sign(x, pkey, EVP_sha256()) <= 0) {
		rc = ossl_fail(c, "signing the CA certificate");
		goto out;
	}
	if ((rc = write_pem(c, keypath, O_EXCL, 0600, pkey, NULL)) != 0)
		goto out;
	key_written = true;
	if ((rc = write_pem(c, certpath, O_EXCL, 0644, NULL, x)) != 0)
		goto out;

	name_text(X509_get_subject_name(x), subj, sizeof(subj));
	time_text(X509_get0_notAfter(x), until, sizeof(until));
	serial_text(x, serial, sizeof(serial));
	if (c->o.json)
		cli_json_print(json_pack("{s:s, s:s, s:s, s:s, s:s}",
		    "ca_certificate", certpath, "ca_key", keypath, "subject",
		    subj, "serial", serial, "not_after", until));
	else if (!c->o.quiet)
		printf("CA created: %s (key %s, mode 0600)\n"
		    "  subject %s, valid until %s\n", certpath, keypath, subj,
		    until);
	rc = 0;
 out:
	if (rc != 0 && key_written)
		(void)unlink(keypath);
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return rc;
}

static int
load_pem(struct cli *c, const char *path, X509 **cert, EVP_PKEY **key,
    X509_REQ **req)
{
	BIO *b;
	void *r = NULL;

	if ((b = BIO_new_file(path, "r")) == NULL) {
		ERR_clear_error();
		return cli_fail(c, COFFER_E_IO, "%s: %s", path,
		    strerror(errno ? errno : ENOENT));
	}
	if (cert != NULL)
		r = *cert = PEM_read_bio_X509(b, NULL, no_passphrase, NULL);
	else if (key != NULL)
		r = *key = PEM_read_bio_PrivateKey(b, NULL, no_passphrase,
		    NULL);
	else
		r = *req = PEM_read_bio_X509_REQ(b, NULL, no_passphrase, NULL);
	BIO_free(b);
	if (r == NULL)
		return ossl_fail(c, path);
	return 0;
}

int
cmd_ca_sign(struct cli *c)
{
	char keypath[PATH_MAX], certpath[PATH_MAX], subj[256], until[32];
	char serial[64];
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_REQ *req = NULL;
	X509 *ca = NULL, *x = NULL;
	EVP_PKEY *cakey = NULL, *pub = NULL;
	const EVP_MD *md;
	X509V3_CTX ctx;
	bool has_san = false;
	long days = 0;
	int i, rc;

	if ((rc = days_opt(c, CERT_DEFAULT_DAYS, &days)) != 0)
		return rc;
	if ((size_t)snprintf(keypath, sizeof(keypath), "%s/ca.key",
	    c->o.ca) >= sizeof(keypath) ||
	    (size_t)snprintf(certpath, sizeof(certpath), "%s/ca.crt",
	    c->o.ca) >= sizeof(certpath))
		return cli_usage(c, "--ca path too long");
	if ((rc = load_pem(c, certpath, &ca, NULL, NULL)) != 0 ||
	    (rc = load_pem(c, keypath, NULL, &cakey, NULL)) != 0 ||
	    (rc = load_pem(c, c->o.csr, NULL, NULL, &req)) != 0)
		goto out;
	if (X509_check_private_key(ca, cakey) != 1) {
		rc = ossl_fail(c, "ca.key does not match ca.crt");
		goto out;
	}
	if ((pub = X509_REQ_get_pubkey(req)) == NULL ||
	    X509_REQ_verify(req, pub) != 1) {
		ERR_clear_error();
		rc = cli_fail(c, COFFER_E_SIGNATURE, "%s: the CSR's "
		    "signature does not verify", c->o.csr);
		goto out;
	}

	rc = COFFER_E_CRYPTO;
	if ((x = X509_new()) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 || !random_serial(x) ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca)) != 1 ||
	    X509_set_subject_name(x, X509_REQ_get_subject_name(req)) != 1 ||
	    X509_set_pubkey(x, pub) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) == NULL) {
		rc = ossl_fail(c, "building the certificate");
		goto out;
	}
	/* Never outlive the issuing CA. */
	if (ASN1_TIME_compare(X509_get0_notAfter(x),
	    X509_get0_notAfter(ca)) > 0 &&
	    X509_set1_notAfter(x, X509_get0_notAfter(ca)) != 1) {
		rc = ossl_fail(c, "validity");
		goto out;
	}
	/* Copy only the subjectAltName from the request: every other
	 * extension is the CA's decision. */
	exts = X509_REQ_get_extensions(req);
	for (i = 0; exts != NULL && i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);

		if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) !=
		    NID_subject_alt_name)
			continue;
		if (X509_add_ext(x, e, -1) != 1) {
			rc = ossl_fail(c, "subjectAltName");
			goto out;
		}
		has_san = true;
	}
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
	if (!add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
	    !add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") ||
	    !add_ext(x, &ctx, NID_ext_key_usage, "serverAuth") ||
	    !add_ext(x, &ctx, NID_subject_key_identifier, "hash") ||
	    !add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always")) {
		rc = ossl_fail(c, "certificate extensions");
		goto out;
	}
	md = (EVP_PKEY_is_a(cakey, "ED25519") || EVP_PKEY_is_a(cakey,
	    "ED448")) ? NULL : EVP_sha256();
	if (X509_sign(x, cakey, md) <= 0) {
		rc = ossl_fail(c, "signing");
		goto out;
	}
	if ((rc = write_pem(c, c->o.out, O_TRUNC, 0644, NULL, x)) != 0)
		goto out;

	name_text(X509_get_subject_name(x), subj, sizeof(subj));
	time_text(X509_get0_notAfter(x), until, sizeof(until));
	serial_text(x, serial, sizeof(serial));
	if (c->o.json)
		cli_json_print(json_pack("{s:s, s:s, s:s, s:s, s:b}",
		    "certificate", c->o.out, "subject", subj, "serial", serial,
		    "not_after", until, "subject_alt_name", has_san));
	else if (!c->o.quiet)
		printf("certificate written to %s\n  subject %s, serial %s, "
		    "valid until %s%s\n", c->o.out, subj, serial, until,
		    has_san ? "" : " (the CSR had no subjectAltName)");
	rc = 0;
 out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_free(x);
	X509_free(ca);
	X509_REQ_free(req);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(cakey);
	return rc;
}
