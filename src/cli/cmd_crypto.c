/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_crypto.c: `coffer crypto sign|verify|encrypt|decrypt|hmac|random|
 * digest`. Inputs up to one chunk (1 MiB) go in one request; larger ones
 * stream through coffer_op_init/update/final, so files of any size work
 * and encryption output is written as it comes.
 *
 * File formats: when no --iv is given, encryption with an IV mechanism
 * writes IV || ciphertext (AES-GCM: the node's 12-byte IV || ciphertext ||
 * tag; CBC, CBC-PAD, CTR: a 16-byte IV from the HSM's random source), and
 * decryption reads the IV from the start of the input. ECDSA signatures
 * are written as DER ECDSA-Sig-Value (as openssl makes them) unless --raw.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/ec.h>

#include "cli_obj.h"

static const CK_OBJECT_CLASS cls_secret[] = { CKO_SECRET_KEY };
static const CK_OBJECT_CLASS cls_private[] = { CKO_PRIVATE_KEY };
static const CK_OBJECT_CLASS cls_public[] = { CKO_PUBLIC_KEY };

/* The key for kind with mechanism cm: --key, or --label/--id. */
static int
op_key(struct cli *c, const struct cli_mech *cm, int kind, uint64_t *h)
{
	const CK_OBJECT_CLASS *want;

	if (c->o.key != NULL && (c->o.label != NULL || c->o.id != NULL))
		return cli_usage(c, "give either --key or --label/--id");
	if (cm->def->flags & MF_SECRET)
		want = cls_secret;
	else if (kind == COFFER_OP_SIGN || kind == COFFER_OP_DECRYPT)
		want = cls_private;
	else
		want = cls_public;
	return cli_resolve_key(c, c->o.key, want, 1, h);
}

/*
 * Runs kind over the input f: output to sink (encrypt/decrypt) or to
 * *res (sign, digest); sig for verify. With iv_out, the IV the node used
 * is written to the sink before the output.
 */
static int
run(struct cli *c, int kind, const CK_MECHANISM *m, uint64_t key, FILE *f,
    struct cli_sink *sink, const uint8_t *sig, size_t sig_len, bool iv_out,
    uint8_t **res, size_t *res_len)
{
	struct coffer_op *op = NULL;
	struct cli_sink pend = { 0 };
	uint8_t *buf = NULL, *o = NULL, iv[64];
	size_t n = 0, ol = 0, ivl = sizeof(iv);
	bool eof, iv_done = !iv_out;
	int rc;

	if (res != NULL) {
		*res = NULL;
		*res_len = 0;
	}
	pend.mem = true;
	if ((buf = malloc(CLI_CHUNK)) == NULL)
		return COFFER_E_NOMEM;
	if ((rc = cli_in_read(c, f, buf, CLI_CHUNK, &n, &eof)) != 0)
		goto out;
	if (eof) {
		switch (kind) {
		case COFFER_OP_ENCRYPT:
			rc = coffer_encrypt_iv(c->client, m, key, buf, n, &o,
			    &ol, iv, &ivl);
			if (rc == 0 && iv_out)
				rc = cli_sink_write(c, sink, iv, ivl);
			break;
		case COFFER_OP_DECRYPT:
			rc = coffer_decrypt(c->client, m, key, buf, n, &o, &ol);
			break;
		case COFFER_OP_SIGN:
			rc = coffer_sign(c->client, m, key, buf, n, res,
			    res_len);
			break;
		case COFFER_OP_VERIFY:
			rc = coffer_verify(c->client, m, key, buf, n, sig,
			    sig_len);
			break;
		default:
			rc = coffer_digest(c->client, m, buf, n, res, res_len);
			break;
		}
		if (rc == 0 && o != NULL)
			rc = cli_sink_write(c, sink, o, ol);
		goto out;
	}
	if ((rc = coffer_op_init(c->client, kind, m, key, &op)) != 0)
		goto out;
	for (;;) {
		if ((rc = coffer_op_update(op, buf, n, &o, &ol)) != 0)
			goto out;
		if (!iv_done) {
			ivl = sizeof(iv);
			if ((rc = coffer_op_iv(op, iv, &ivl)) != 0)
				goto out;
			if (ivl > 0) {
				if ((rc = cli_sink_write(c, sink, iv,
				    ivl)) != 0 ||
				    (rc = cli_sink_write(c, sink, pend.buf,
				    pend.len)) != 0)
					goto out;
				iv_done = true;
			}
		}
		if (o != NULL) {
			rc = cli_sink_write(c, iv_done ? sink : &pend, o, ol);
			coffer_free(o, ol);
			o = NULL;
			if (rc != 0)
				goto out;
		}
		if (eof)
			break;
		if ((rc = cli_in_read(c, f, buf, CLI_CHUNK, &n, &eof)) != 0)
			goto out;
		if (n == 0)
			break;
	}
	if (kind == COFFER_OP_VERIFY) {
		rc = coffer_op_verify_final(op, sig, sig_len);
		goto out;
	}
	if ((rc = coffer_op_final(op, &o, &ol)) != 0)
		goto out;
	if (kind == COFFER_OP_SIGN || kind == COFFER_OP_DIGEST) {
		*res = o;
		*res_len = ol;
		o = NULL;
		goto out;
	}
	if (!iv_done) {
		ivl = sizeof(iv);
		if ((rc = coffer_op_iv(op, iv, &ivl)) != 0 ||
		    (rc = cli_sink_write(c, sink, iv, ivl)) != 0 ||
		    (rc = cli_sink_write(c, sink, pend.buf, pend.len)) != 0)
			goto out;
	}
	rc = cli_sink_write(c, sink, o, ol);
 out:
	coffer_op_free(op);
	coffer_free(o, ol);
	cli_sink_close(&pend);
	coffer_free(buf, CLI_CHUNK);
	return rc;
}

/* Failure of an operation: keep the node's detail, else name the key. */
static int
op_fail(struct cli *c, int rc, const struct cli_mech *cm, uint64_t key)
{
	if (key == 0)
		return cli_obj_fail(c, rc, "%s", cm->def->name);
	return cli_obj_fail(c, rc, "%s with key %llu", cm->def->name,
	    (unsigned long long)key);
}

/* Bytes to --out, or hex on stdout (--hex or a digest), or in JSON. */
static int
emit(struct cli *c, const char *field, const uint8_t *p, size_t n,
    bool hex_default, json_t *j)
{
	struct cli_sink s = { 0 };
	char *hex = NULL;
	int rc;

	if (c->o.out == NULL && (c->o.json || c->o.hex || hex_default)) {
		if ((hex = cli_hex(p, n)) == NULL) {
			json_decref(j);
			return COFFER_E_NOMEM;
		}
		if (c->o.json) {
			json_object_set_new(j, field, json_string(hex));
			cli_json_print(j);
			j = NULL;
		} else {
			printf("%s\n", hex);
		}
		free(hex);
		json_decref(j);
		return 0;
	}
	if ((rc = cli_sink_open(c, &s, c->o.out, false, 0644)) != 0 ||
	    (rc = cli_sink_write(c, &s, p, n)) != 0 ||
	    (rc = cli_sink_commit(c, &s)) != 0)
		goto out;
	if (c->o.json) {
		json_object_set_new(j, "out", json_string(c->o.out));
		json_object_set_new(j, "bytes", json_integer((json_int_t)n));
		cli_json_print(j);
		j = NULL;
	}
	rc = 0;
 out:
	json_decref(j);
	cli_sink_close(&s);
	return rc;
}

/* r||s -> DER ECDSA-Sig-Value. */
static int
ecdsa_to_der(const uint8_t *rs, size_t n, uint8_t **der, size_t *der_len)
{
	ECDSA_SIG *s = NULL;
	BIGNUM *r = NULL, *sv = NULL;
	unsigned char *p = NULL;
	int len, rc = COFFER_E_CRYPTO;

	*der = NULL;
	*der_len = 0;
	if (n == 0 || n % 2 != 0)
		return COFFER_E_FORMAT;
	if ((s = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(rs, (int)(n / 2), NULL)) == NULL ||
	    (sv = BN_bin2bn(rs + n / 2, (int)(n / 2), NULL)) == NULL)
		goto out;
	if (!ECDSA_SIG_set0(s, r, sv))
		goto out;
	r = sv = NULL;
	if ((len = i2d_ECDSA_SIG(s, &p)) <= 0)
		goto out;
	*der = p;
	*der_len = (size_t)len;
	rc = 0;
 out:
	BN_free(r);
	BN_free(sv);
	ECDSA_SIG_free(s);
	return rc;
}

/* DER ECDSA-Sig-Value -> r||s of 2 * order_len bytes; 1 if not DER. */
static int
ecdsa_from_der(const uint8_t *der, size_t n, size_t order_len,
    uint8_t **rs, size_t *rs_len)
{
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *sig;
	uint8_t *out;

	if ((sig = d2i_ECDSA_SIG(NULL, &p, (long)n)) == NULL)
		return 1;
	if ((size_t)(p - der) != n) {
		ECDSA_SIG_free(sig);
		return 1;
	}
	ECDSA_SIG_get0(sig, &r, &s);
	if ((out = malloc(2 * order_len)) == NULL) {
		ECDSA_SIG_free(sig);
		return COFFER_E_NOMEM;
	}
	if (BN_bn2binpad(r, out, (int)order_len) < 0 ||
	    BN_bn2binpad(s, out + order_len, (int)order_len) < 0) {
		free(out);
		ECDSA_SIG_free(sig);
		return 1;
	}
	ECDSA_SIG_free(sig);
	*rs = out;
	*rs_len = 2 * order_len;
	return 0;
}

/* r or s length of the EC key h, from its CKA_EC_PARAMS. */
static int
ec_order_len(struct cli *c, uint64_t h, size_t *len)
{
	struct cli_tmpl t = { 0 };
	const struct cli_curve *cv = NULL;
	int rc;

	if ((rc = cli_tmpl_want(&t, CKA_EC_PARAMS)) != 0)
		return rc;
	if ((rc = cli_read_attrs(c, h, &t)) != 0) {
		cli_tmpl_free(&t);
		return rc;
	}
	if (t.a[0].pValue != NULL)
		cv = cli_curve_by_oid(t.a[0].pValue,
		    (size_t)t.a[0].ulValueLen);
	cli_tmpl_free(&t);
	if (cv == NULL || cv->ktype != CKK_EC)
		return cli_fail(c, COFFER_E_KEY_TYPE, "key %llu is not an EC "
		    "key of a known curve", (unsigned long long)h);
	*len = cv->order_len;
	return 0;
}

/*
 * `crypto sign --out DIR FILE...`: the files' signatures in one pipelined
 * call (coffer_sign_many), each written to DIR/NAME.sig (NAME: the file's
 * base name) in the format of a single signature. Each file at most
 * 1 MiB; larger ones are signed alone with --in.
 */
static int
sign_files(struct cli *c, const struct cli_mech *cm, uint64_t key)
{
	size_t n = (size_t)c->argc, i, j, der_len = 0;
	const char *const *files = (const char *const *)c->argv;
	uint8_t **in = NULL, **sig = NULL, *der = NULL;
	size_t *len = NULL, *slen = NULL;
	char **outp = NULL, *dup = NULL;
	struct cli_sink sink = { 0 };
	json_t *arr = NULL;
	struct stat st;
	int rc;

	if (c->o.in != NULL)
		return cli_usage(c, "give the files as operands or one --in, "
		    "not both");
	if (c->o.out == NULL || c->o.hex)
		return cli_usage(c, "signing several files needs --out DIR "
		    "(and no --hex)");
	if (stat(c->o.out, &st) != 0 || !S_ISDIR(st.st_mode))
		return cli_usage(c, "--out %s: not a directory", c->o.out);
	if ((in = calloc(n, sizeof(*in))) == NULL ||
	    (sig = calloc(n, sizeof(*sig))) == NULL ||
	    (len = calloc(n, sizeof(*len))) == NULL ||
	    (slen = calloc(n, sizeof(*slen))) == NULL ||
	    (outp = calloc(n, sizeof(*outp))) == NULL ||
	    (arr = json_array()) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((dup = strdup(files[i])) == NULL ||
		    asprintf(&outp[i], "%s/%s.sig", c->o.out,
		    basename(dup)) < 0) {
			outp[i] = NULL;
			rc = COFFER_E_NOMEM;
			goto out;
		}
		free(dup);
		dup = NULL;
		for (j = 0; j < i; j++)
			if (strcmp(outp[i], outp[j]) == 0) {
				rc = cli_usage(c, "%s and %s would both be "
				    "signed into %s", files[j], files[i],
				    outp[i]);
				goto out;
			}
	}
	for (i = 0; i < n; i++)
		if ((rc = cli_read_file(c, files[i], 1u << 20, &in[i],
		    &len[i])) != 0)
			goto out;
	if ((rc = coffer_sign_many(c->client, &cm->m, key, n,
	    (const uint8_t *const *)in, len, sig, slen)) != 0) {
		rc = op_fail(c, rc, cm, key);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((cm->def->flags & MF_ECDSA) && !c->o.raw &&
		    (rc = ecdsa_to_der(sig[i], slen[i], &der,
		    &der_len)) != 0) {
			rc = cli_fail(c, rc, "the node's ECDSA signature is "
			    "not r||s");
			goto out;
		}
		if ((rc = cli_sink_open(c, &sink, outp[i], false,
		    0644)) != 0 || (rc = cli_sink_write(c, &sink,
		    der != NULL ? der : sig[i], der != NULL ? der_len :
		    slen[i])) != 0 || (rc = cli_sink_commit(c, &sink)) != 0)
			goto out;
		cli_sink_close(&sink);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I}", "in",
		    files[i], "out", outp[i], "bytes", (json_int_t)(der !=
		    NULL ? der_len : slen[i])));
		if (!c->o.json)
			cli_info(c, "%s -> %s", files[i], outp[i]);
		OPENSSL_free(der);
		der = NULL;
	}
	if (c->o.json) {
		cli_json_print(json_pack("{s:I, s:s, s:O}", "key",
		    (json_int_t)key, "mech", cm->def->name, "signatures",
		    arr));
	}
	rc = 0;
 out:
	cli_sink_close(&sink);
	OPENSSL_free(der);
	free(dup);
	json_decref(arr);
	for (i = 0; i < n && in != NULL; i++) {
		coffer_free(in[i], len[i]);
		coffer_free(sig[i], slen[i]);
		free(outp[i]);
	}
	free(in);
	free(sig);
	free(len);
	free(slen);
	free(outp);
	return rc;
}

static int
sign_or_verify(struct cli *c, unsigned use, const char *mech, bool verify)
{
	struct cli_mech cm;
	FILE *f = NULL;
	uint8_t *sig = NULL, *der = NULL, *rs = NULL;
	size_t sig_len = 0, der_len = 0, rs_len = 0, olen = 0;
	uint64_t key;
	json_t *j;
	int rc;

	if ((rc = cli_mech_parse(c, mech, use, &cm)) != 0)
		return rc;
	if ((rc = op_key(c, &cm, verify ? COFFER_OP_VERIFY : COFFER_OP_SIGN,
	    &key)) != 0)
		return rc;
	if (!verify && c->argc > 0)
		return sign_files(c, &cm, key);
	if (verify) {
		if ((rc = cli_read_file(c, c->o.sig, 1u << 16, &sig,
		    &sig_len)) != 0)
			return rc;
		if ((cm.def->flags & MF_ECDSA) && !c->o.raw) {
			if ((rc = ec_order_len(c, key, &olen)) != 0)
				goto out;
			rc = ecdsa_from_der(sig, sig_len, olen, &rs, &rs_len);
			if (rc < 0)
				goto out;
			if (rc == 0) {
				coffer_free(sig, sig_len);
				sig = rs;
				sig_len = rs_len;
				rs = NULL;
			}
		}
	}
	if ((rc = cli_in_open(c, c->o.in, &f)) != 0)
		goto out;
	if (verify) {
		if ((rc = run(c, COFFER_OP_VERIFY, &cm.m, key, f, NULL, sig,
		    sig_len, false, NULL, NULL)) != 0) {
			rc = op_fail(c, rc, &cm, key);
			goto out;
		}
		if (c->o.json)
			cli_json_print(json_pack("{s:b, s:I, s:s}", "valid", 1,
			    "key", (json_int_t)key, "mech", cm.def->name));
		else
			cli_info(c, "signature valid");
		rc = 0;
		goto out;
	}
	if ((rc = run(c, COFFER_OP_SIGN, &cm.m, key, f, NULL, NULL, 0, false,
	    &sig, &sig_len)) != 0) {
		rc = op_fail(c, rc, &cm, key);
		goto out;
	}
	if ((cm.def->flags & MF_ECDSA) && !c->o.raw) {
		if ((rc = ecdsa_to_der(sig, sig_len, &der, &der_len)) != 0) {
			rc = cli_fail(c, rc, "the node's ECDSA signature is "
			    "not r||s");
			goto out;
		}
	}
	j = json_pack("{s:I, s:s}", "key", (json_int_t)key, "mech",
	    cm.def->name);
	rc = emit(c, "signature", der ? der : sig, der ? der_len : sig_len,
	    false, j);
 out:
	cli_in_close(f);
	coffer_free(sig, sig_len);
	coffer_free(rs, rs_len);
	OPENSSL_free(der);
	return rc;
}

int
cmd_crypto_sign(struct cli *c)
{
	return sign_or_verify(c, MU_SIGN, c->o.mech, false);
}

int
cmd_crypto_verify(struct cli *c)
{
	return sign_or_verify(c, MU_SIGN, c->o.mech, true);
}

int
cmd_crypto_hmac(struct cli *c)
{
	return sign_or_verify(c, MU_HMAC, c->o.mech ? c->o.mech :
	    "hmac-sha256", c->o.sig != NULL);
}

static int
crypt(struct cli *c, bool enc)
{
	struct cli_mech cm;
	struct cli_sink s = { 0 };
	FILE *f = NULL;
	uint8_t *iv = NULL, *aad = NULL;
	size_t iv_len = 0, aad_len = 0, got, plen = 0;
	uint64_t key, tag = 128;
	bool iv_out = false, eof;
	char *hex;
	json_t *j;
	int rc;

	if ((rc = cli_mech_parse(c, c->o.mech, MU_CRYPT, &cm)) != 0)
		return rc;
	if (!(cm.def->flags & MF_IV) && c->o.iv != NULL)
		return cli_usage(c, "%s takes no --iv", cm.def->name);
	if (cm.def->param != MP_GCM && (c->o.aad != NULL ||
	    c->o.tag_bits != NULL))
		return cli_usage(c, "--aad and --tag-bits are for aes-gcm");
	if (c->o.tag_bits != NULL &&
	    cli_parse_u64(c->o.tag_bits, 0, 1024, &tag) != 0)
		return cli_usage(c, "--tag-bits must be a number of bits");
	if (c->o.iv != NULL && (cli_unhex(c->o.iv, &iv, &iv_len) != 0 ||
	    iv_len == 0)) {
		rc = cli_usage(c, "--iv must be hex");
		goto out;
	}
	if ((rc = op_key(c, &cm, enc ? COFFER_OP_ENCRYPT : COFFER_OP_DECRYPT,
	    &key)) != 0)
		goto out;
	if (c->o.aad != NULL &&
	    (rc = cli_read_file(c, c->o.aad, 1u << 20, &aad, &aad_len)) != 0)
		goto out;
	if ((rc = cli_in_open(c, c->o.in, &f)) != 0)
		goto out;
	if ((rc = cli_sink_open(c, &s, c->o.out, c->o.json, enc ? 0644 :
	    0600)) != 0)
		goto out;
	if ((cm.def->flags & MF_IV) && iv == NULL) {
		/* The IV travels in front of the ciphertext. */
		plen = cm.def->param == MP_GCM ? 12 : 16;
		if ((iv = calloc(1, plen)) == NULL) {
			rc = COFFER_E_NOMEM;
			goto out;
		}
		if (!enc) {
			if ((rc = cli_in_read(c, f, iv, plen, &got,
			    &eof)) != 0)
				goto out;
			if (got < plen) {
				rc = cli_fail(c, COFFER_E_ENCRYPTED_DATA,
				    "input shorter than its %zu-byte IV "
				    "(give --iv if it has none)", plen);
				goto out;
			}
			iv_len = plen;
		} else if (cm.def->param == MP_GCM) {
			iv_out = true;		/* the node makes it */
		} else {
			if ((rc = coffer_random(c->client, iv, plen)) != 0)
				goto out;
			iv_len = plen;
			if ((rc = cli_sink_write(c, &s, iv, iv_len)) != 0)
				goto out;
		}
	}
	switch (cm.def->param) {
	case MP_IV16:
		/* the library checks the length */
		cm.m.pParameter = iv;
		cm.m.ulParameterLen = iv_len;
		break;
	case MP_CTR:
		if (iv_len != sizeof(cm.p.ctr.cb)) {
			rc = cli_fail(c, COFFER_E_MECH_PARAM, "aes-ctr needs "
			    "a 16-byte counter block (--iv)");
			goto out;
		}
		memcpy(cm.p.ctr.cb, iv, iv_len);
		break;
	case MP_GCM:
		cm.p.gcm.pIv = iv_len > 0 ? iv : NULL;
		cm.p.gcm.ulIvLen = iv_len;
		cm.p.gcm.ulIvBits = iv_len * 8;
		cm.p.gcm.pAAD = aad;
		cm.p.gcm.ulAADLen = aad_len;
		cm.p.gcm.ulTagBits = (CK_ULONG)tag;
		break;
	default:
		break;
	}
	if ((rc = run(c, enc ? COFFER_OP_ENCRYPT : COFFER_OP_DECRYPT, &cm.m,
	    key, f, &s, NULL, 0, iv_out, NULL, NULL)) != 0) {
		rc = op_fail(c, rc, &cm, key);
		goto out;
	}
	if ((rc = cli_sink_commit(c, &s)) != 0)
		goto out;
	if (c->o.json) {
		j = json_pack("{s:I, s:s, s:I}", "key", (json_int_t)key,
		    "mech", cm.def->name, "bytes", (json_int_t)s.total);
		if (j != NULL && s.mem) {
			if ((hex = cli_hex(s.buf, s.len)) == NULL) {
				json_decref(j);
				rc = COFFER_E_NOMEM;
				goto out;
			}
			json_object_set_new(j, "data", json_string(hex));
			free(hex);
		} else if (j != NULL) {
			json_object_set_new(j, "out", json_string(c->o.out));
		}
		cli_json_print(j);
	}
	rc = 0;
 out:
	cli_in_close(f);
	cli_sink_close(&s);
	coffer_free(iv, iv_len > plen ? iv_len : plen);
	coffer_free(aad, aad_len);
	return rc;
}

int
cmd_crypto_encrypt(struct cli *c)
{
	return crypt(c, true);
}

int
cmd_crypto_decrypt(struct cli *c)
{
	return crypt(c, false);
}

int
cmd_crypto_digest(struct cli *c)
{
	struct cli_mech cm;
	FILE *f = NULL;
	uint8_t *d = NULL;
	size_t dl = 0;
	int rc;

	if ((rc = cli_mech_parse(c, c->o.mech ? c->o.mech : "sha256",
	    MU_DIGEST, &cm)) != 0)
		return rc;
	if ((rc = cli_in_open(c, c->o.in, &f)) != 0)
		return rc;
	if ((rc = run(c, COFFER_OP_DIGEST, &cm.m, 0, f, NULL, NULL, 0, false,
	    &d, &dl)) != 0) {
		rc = op_fail(c, rc, &cm, 0);
		goto out;
	}
	rc = emit(c, "digest", d, dl, true, json_pack("{s:s}", "mech",
	    cm.def->name));
 out:
	cli_in_close(f);
	coffer_free(d, dl);
	return rc;
}

int
cmd_crypto_random(struct cli *c)
{
	uint8_t *buf = NULL;
	uint64_t n;
	size_t off, k;
	int rc;

	if (cli_parse_u64(c->o.bytes, 1, (uint64_t)1 << 30, &n) != 0)
		return cli_usage(c, "--bytes must be 1..1073741824");
	if ((buf = malloc((size_t)n)) == NULL)
		return COFFER_E_NOMEM;
	for (off = 0; off < n; off += k) {
		k = n - off < 65536 ? (size_t)(n - off) : 65536;
		if ((rc = coffer_random(c->client, buf + off, k)) != 0) {
			rc = cli_obj_fail(c, rc, "random bytes");
			goto out;
		}
	}
	rc = emit(c, "random", buf, (size_t)n, false, json_pack("{s:I}",
	    "length", (json_int_t)n));
 out:
	coffer_free(buf, (size_t)n);
	return rc;
}
