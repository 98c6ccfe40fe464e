/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_key.c: `coffer key ...`: generate keys and key pairs, list, show,
 * delete, share, unshare, set attributes, wrap, unwrap, import and export
 * public keys. All through coffer_objects.h; the node enforces every rule
 * (ownership, sensitivity, extractability), the CLI only forwards.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli_obj.h"

/* --- templates of new keys -------------------------------------------- */

/* Label, id and token into t. */
static int
add_common(struct cli *c, struct cli_tmpl *t)
{
	uint8_t *id = NULL;
	size_t idlen = 0;
	int rc;

	if (c->o.label != NULL &&
	    (rc = cli_tmpl_str(t, CKA_LABEL, c->o.label)) != 0)
		return rc;
	if (c->o.id != NULL) {
		if (cli_unhex(c->o.id, &id, &idlen) != 0 || idlen == 0)
			return cli_usage(c, "--id must be hex");
		rc = cli_tmpl_set(t, CKA_ID, id, idlen);
		coffer_free(id, idlen);
		if (rc != 0)
			return rc;
	}
	return cli_tmpl_bool(t, CKA_TOKEN, !c->o.session);
}

/*
 * --attr NAME=VALUE into pub and/or priv (priv NULL: a single key, all go
 * to pub). For a pair, "pub." / "priv." choose the half, else the
 * attribute's usual side (sign -> private, verify -> public, label ->
 * both).
 */
static int
add_attrs(struct cli *c, struct cli_tmpl *pub, struct cli_tmpl *priv)
{
	const struct cli_attr_def *def;
	char name[64];
	const char *nv, *eq, *n;
	int side, rc;
	size_t i;

	for (i = 0; i < c->o.nattrs; i++) {
		nv = c->o.attrs[i];
		if ((eq = strchr(nv, '=')) == NULL || eq == nv ||
		    (size_t)(eq - nv) >= sizeof(name))
			return cli_usage(c, "--attr %s: expected NAME=VALUE",
			    nv);
		snprintf(name, sizeof(name), "%.*s", (int)(eq - nv), nv);
		n = name;
		side = -1;
		if (strncasecmp(n, "pub.", 4) == 0) {
			side = SIDE_PUB;
			n += 4;
		} else if (strncasecmp(n, "public.", 7) == 0) {
			side = SIDE_PUB;
			n += 7;
		} else if (strncasecmp(n, "priv.", 5) == 0) {
			side = SIDE_PRIV;
			n += 5;
		} else if (strncasecmp(n, "private.", 8) == 0) {
			side = SIDE_PRIV;
			n += 8;
		}
		if ((def = cli_attr_find(n)) == NULL)
			return cli_usage(c, "--attr: unknown attribute '%s'",
			    n);
		if (side < 0)
			side = def->side;
		if (priv == NULL || side != SIDE_PRIV)
			if ((rc = cli_tmpl_parse_value(c, pub, def,
			    eq + 1)) != 0)
				return rc;
		if (priv != NULL && side != SIDE_PUB)
			if ((rc = cli_tmpl_parse_value(c, priv, def,
			    eq + 1)) != 0)
				return rc;
	}
	return 0;
}

static int
print_pair(struct cli *c, const char *what, uint64_t pub, uint64_t priv)
{
	if (c->o.json) {
		json_t *j = json_pack("{s:s, s:I, s:I}", "type", what,
		    "public", (json_int_t)pub, "private", (json_int_t)priv);

		if (j != NULL && c->o.label != NULL)
			json_object_set_new(j, "label",
			    json_string(c->o.label));
		cli_json_print(j);
	} else if (c->o.quiet) {
		printf("%llu %llu\n", (unsigned long long)pub,
		    (unsigned long long)priv);
	} else {
		printf("generated %s key pair: public key %llu, private key "
		    "%llu\n", what, (unsigned long long)pub,
		    (unsigned long long)priv);
	}
	return 0;
}

static int
print_key(struct cli *c, const char *what, uint64_t h)
{
	if (c->o.json) {
		json_t *j = json_pack("{s:s, s:I}", "type", what, "handle",
		    (json_int_t)h);

		if (j != NULL && c->o.label != NULL)
			json_object_set_new(j, "label",
			    json_string(c->o.label));
		cli_json_print(j);
	} else if (c->o.quiet) {
		printf("%llu\n", (unsigned long long)h);
	} else {
		printf("generated %s key: %llu\n", what,
		    (unsigned long long)h);
	}
	return 0;
}

/* Private-half defaults shared by the pair generators. */
static int
priv_defaults(struct cli *c, struct cli_tmpl *t)
{
	int rc;

	if ((rc = add_common(c, t)) != 0 ||
	    (rc = cli_tmpl_bool(t, CKA_PRIVATE, true)) != 0 ||
	    (rc = cli_tmpl_bool(t, CKA_SENSITIVE, true)) != 0 ||
	    (rc = cli_tmpl_bool(t, CKA_EXTRACTABLE, c->o.extractable)) != 0 ||
	    (rc = cli_tmpl_bool(t, CKA_SIGN, true)) != 0)
		return rc;
	return 0;
}

static int
gen_pair(struct cli *c, CK_MECHANISM_TYPE mt, struct cli_tmpl *pub,
    struct cli_tmpl *priv, const char *what)
{
	CK_MECHANISM m = { mt, NULL, 0 };
	uint64_t hpub = 0, hpriv = 0;
	int rc;

	if ((rc = add_attrs(c, pub, priv)) != 0)
		return rc;
	if ((rc = coffer_generate_key_pair(c->client, &m, pub->a, pub->n,
	    priv->a, priv->n, &hpub, &hpriv)) != 0)
		return cli_obj_fail(c, rc, "generating a %s key pair", what);
	return print_pair(c, what, hpub, hpriv);
}

int
cmd_key_generate_rsa(struct cli *c)
{
	struct cli_tmpl pub = { 0 }, priv = { 0 };
	uint8_t e[8];
	uint64_t bits, exp = 65537;
	size_t i, elen;
	char what[32];
	int rc;

	if (cli_parse_u64(c->o.bits, 1, 65536, &bits) != 0)
		return cli_usage(c, "--bits must be a number of bits, e.g. "
		    "2048");
	if (c->o.exponent != NULL) {
		char *end = NULL;

		errno = 0;
		exp = strtoull(c->o.exponent, &end, 0);
		if (errno != 0 || end == c->o.exponent || *end != '\0' ||
		    exp == 0 || c->o.exponent[0] == '-')
			return cli_usage(c, "--exponent must be a positive "
			    "number, e.g. 65537 or 0x10001");
	}
	for (elen = 0, i = 0; i < 8; i++) {
		uint8_t b = (uint8_t)(exp >> (8 * (7 - i)));

		if (elen == 0 && b == 0)
			continue;
		e[elen++] = b;
	}
	snprintf(what, sizeof(what), "RSA-%llu", (unsigned long long)bits);
	if ((rc = add_common(c, &pub)) != 0 ||
	    (rc = cli_tmpl_ulong(&pub, CKA_MODULUS_BITS, (CK_ULONG)bits)) != 0 ||
	    (rc = cli_tmpl_set(&pub, CKA_PUBLIC_EXPONENT, e, elen)) != 0 ||
	    (rc = cli_tmpl_bool(&pub, CKA_VERIFY, true)) != 0 ||
	    (rc = cli_tmpl_bool(&pub, CKA_ENCRYPT, true)) != 0 ||
	    (rc = cli_tmpl_bool(&pub, CKA_WRAP, true)) != 0 ||
	    (rc = priv_defaults(c, &priv)) != 0 ||
	    (rc = cli_tmpl_bool(&priv, CKA_DECRYPT, true)) != 0 ||
	    (rc = cli_tmpl_bool(&priv, CKA_UNWRAP, true)) != 0)
		goto out;
	rc = gen_pair(c, CKM_RSA_PKCS_KEY_PAIR_GEN, &pub, &priv, what);
 out:
	cli_tmpl_free(&pub);
	cli_tmpl_free(&priv);
	return rc;
}

static int
gen_curve(struct cli *c, const char *name, CK_KEY_TYPE kt)
{
	struct cli_tmpl pub = { 0 }, priv = { 0 };
	const struct cli_curve *cv;
	char what[32];
	int rc;

	if ((cv = cli_curve_find(name)) == NULL || cv->ktype != kt)
		return cli_usage(c, "--curve must be %s", kt == CKK_EC ?
		    "p224, p256, p384, p521 or secp256k1" :
		    "ed25519 or ed448");
	snprintf(what, sizeof(what), "%s %s", kt == CKK_EC ? "EC" : "EdDSA",
	    cv->name);
	if ((rc = add_common(c, &pub)) != 0 ||
	    (rc = cli_tmpl_set(&pub, CKA_EC_PARAMS, cv->oid,
	    cv->oid_len)) != 0 ||
	    (rc = cli_tmpl_bool(&pub, CKA_VERIFY, true)) != 0 ||
	    (rc = priv_defaults(c, &priv)) != 0)
		goto out;
	if (kt == CKK_EC && (rc = cli_tmpl_bool(&priv, CKA_DERIVE,
	    true)) != 0)
		goto out;
	rc = gen_pair(c, kt == CKK_EC ? CKM_EC_KEY_PAIR_GEN :
	    CKM_EC_EDWARDS_KEY_PAIR_GEN, &pub, &priv, what);
 out:
	cli_tmpl_free(&pub);
	cli_tmpl_free(&priv);
	return rc;
}

int
cmd_key_generate_ec(struct cli *c)
{
	return gen_curve(c, c->o.curve, CKK_EC);
}

int
cmd_key_generate_ed(struct cli *c)
{
	return gen_curve(c, c->o.curve ? c->o.curve : "ed25519",
	    CKK_EC_EDWARDS);
}

static int
gen_secret(struct cli *c, CK_MECHANISM_TYPE mt, CK_ULONG len,
    const char *what)
{
	struct cli_tmpl t = { 0 };
	CK_MECHANISM m = { mt, NULL, 0 };
	bool aes = mt == CKM_AES_KEY_GEN;
	uint64_t h = 0;
	int rc;

	if ((rc = add_common(c, &t)) != 0 ||
	    (rc = cli_tmpl_ulong(&t, CKA_VALUE_LEN, len)) != 0 ||
	    (rc = cli_tmpl_bool(&t, CKA_PRIVATE, true)) != 0 ||
	    (rc = cli_tmpl_bool(&t, CKA_SENSITIVE, true)) != 0 ||
	    (rc = cli_tmpl_bool(&t, CKA_EXTRACTABLE, c->o.extractable)) != 0 ||
	    (rc = cli_tmpl_bool(&t, CKA_SIGN, true)) != 0 ||
	    (rc = cli_tmpl_bool(&t, CKA_VERIFY, true)) != 0)
		goto out;
	if (aes && ((rc = cli_tmpl_bool(&t, CKA_ENCRYPT, true)) != 0 ||
	    (rc = cli_tmpl_bool(&t, CKA_DECRYPT, true)) != 0 ||
	    (rc = cli_tmpl_bool(&t, CKA_WRAP, true)) != 0 ||
	    (rc = cli_tmpl_bool(&t, CKA_UNWRAP, true)) != 0))
		goto out;
	if (!aes && (rc = cli_tmpl_bool(&t, CKA_DERIVE, true)) != 0)
		goto out;
	if ((rc = add_attrs(c, &t, NULL)) != 0)
		goto out;
	if ((rc = coffer_generate_key(c->client, &m, t.a, t.n, &h)) != 0) {
		rc = cli_obj_fail(c, rc, "generating a %s key", what);
		goto out;
	}
	rc = print_key(c, what, h);
 out:
	cli_tmpl_free(&t);
	return rc;
}

int
cmd_key_generate_aes(struct cli *c)
{
	uint64_t bits;
	char what[32];

	if (cli_parse_u64(c->o.bits, 8, 65536, &bits) != 0 || bits % 8 != 0)
		return cli_usage(c, "--bits must be 128, 192 or 256");
	snprintf(what, sizeof(what), "AES-%llu", (unsigned long long)bits);
	return gen_secret(c, CKM_AES_KEY_GEN, (CK_ULONG)(bits / 8), what);
}

int
cmd_key_generate_secret(struct cli *c)
{
	uint64_t n;

	if (cli_parse_u64(c->o.bytes, 0, 1u << 20, &n) != 0)
		return cli_usage(c, "--bytes must be a number of bytes "
		    "(1..800)");
	return gen_secret(c, CKM_GENERIC_SECRET_KEY_GEN, (CK_ULONG)n,
	    "generic secret");
}

/* --- list, show ------------------------------------------------------ */

static const CK_ATTRIBUTE_TYPE list_types[] = {
	CKA_CLASS, CKA_KEY_TYPE, CKA_LABEL, CKA_ID, CKA_TOKEN, CKA_SENSITIVE,
	CKA_EXTRACTABLE, CKA_ENCRYPT, CKA_DECRYPT, CKA_SIGN, CKA_VERIFY,
	CKA_WRAP, CKA_UNWRAP, CKA_DERIVE, CKA_VALUE_LEN, CKA_MODULUS_BITS,
	CKA_MODULUS, CKA_EC_PARAMS, CKA_COFFER_OWNER, CKA_COFFER_SHARED,
};
#define NLIST (sizeof(list_types) / sizeof(list_types[0]))

static const struct {
	CK_ATTRIBUTE_TYPE type;
	const char *word;
} flag_words[] = {
	{ CKA_SENSITIVE, "sens" }, { CKA_EXTRACTABLE, "extr" },
	{ CKA_ENCRYPT, "enc" }, { CKA_DECRYPT, "dec" },
	{ CKA_SIGN, "sign" }, { CKA_VERIFY, "verify" },
	{ CKA_WRAP, "wrap" }, { CKA_UNWRAP, "unwrap" },
	{ CKA_DERIVE, "derive" },
};
#define NFLAGS (sizeof(flag_words) / sizeof(flag_words[0]))

static void
size_text(struct cli_tmpl *t, char *buf, size_t len)
{
	const struct cli_curve *cv;
	CK_ATTRIBUTE *a;
	CK_ULONG v, kt = CK_UNAVAILABLE_INFORMATION;
	const uint8_t *p;
	size_t n;

	buf[0] = '\0';
	(void)cli_attr_ulong(t, CKA_KEY_TYPE, &kt);
	if (cli_attr_ulong(t, CKA_MODULUS_BITS, &v)) {
		snprintf(buf, len, "%lu", (unsigned long)v);
		return;
	}
	if ((a = cli_tmpl_get(t, CKA_MODULUS)) != NULL && a->pValue != NULL) {
		p = a->pValue;
		n = (size_t)a->ulValueLen;
		while (n > 0 && *p == 0) {
			p++;
			n--;
		}
		snprintf(buf, len, "%zu", n * 8);
		return;
	}
	if ((a = cli_tmpl_get(t, CKA_EC_PARAMS)) != NULL &&
	    a->pValue != NULL) {
		cv = cli_curve_by_oid(a->pValue, (size_t)a->ulValueLen);
		snprintf(buf, len, "%s", cv ? cv->name : "?");
		return;
	}
	if (cli_attr_ulong(t, CKA_VALUE_LEN, &v))
		snprintf(buf, len, "%lu", (unsigned long)v * 8);
	(void)kt;
}

static void
flags_text(struct cli_tmpl *t, char *buf, size_t len)
{
	size_t off, i;
	bool b;

	off = (size_t)snprintf(buf, len, "%s",
	    cli_attr_bool(t, CKA_TOKEN, &b) && !b ? "session" : "token");
	for (i = 0; i < NFLAGS && off < len; i++)
		if (cli_attr_bool(t, flag_words[i].type, &b) && b)
			off += (size_t)snprintf(buf + off, len - off, ",%s",
			    flag_words[i].word);
}

static json_t *
obj_json(struct cli_tmpl *t, uint64_t h)
{
	const struct cli_attr_def *def;
	char size[32];
	json_t *j;
	size_t i;

	if ((j = json_pack("{s:I}", "handle", (json_int_t)h)) == NULL)
		return NULL;
	for (i = 0; i < t->n; i++) {
		if ((def = cli_attr_by_type(t->a[i].type)) == NULL ||
		    t->a[i].type == CKA_MODULUS)
			continue;
		json_object_set_new(j, def->name,
		    cli_attr_json(&t->a[i], def->kind));
	}
	size_text(t, size, sizeof(size));
	json_object_set_new(j, "size", json_string(size));
	return j;
}

static int
by_handle(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
cmd_key_list(struct cli *c)
{
	static const char *const head[8] = { "HANDLE", "CLASS", "TYPE",
	    "LABEL", "ID", "SIZE", "OWNER", "FLAGS" };
	struct cli_tmpl f = { 0 }, t = { 0 };
	struct cli_table *tab = NULL;
	json_t *arr = NULL;
	uint64_t *hs = NULL;
	uint8_t *id = NULL;
	size_t idlen = 0, n = 0, i, k;
	char hbuf[24], cls[16], kt[16], label[128], idh[80], size[32],
	    owner[64], flags[128];
	CK_ULONG v;
	int rc;

	if (c->o.label != NULL &&
	    (rc = cli_tmpl_str(&f, CKA_LABEL, c->o.label)) != 0)
		goto out;
	if (c->o.id != NULL) {
		if (cli_unhex(c->o.id, &id, &idlen) != 0 || idlen == 0) {
			rc = cli_usage(c, "--id must be hex");
			goto out;
		}
		if ((rc = cli_tmpl_set(&f, CKA_ID, id, idlen)) != 0)
			goto out;
	}
	if (c->o.klass != NULL) {
		if (cli_class_parse(c->o.klass, &v) != 0) {
			rc = cli_usage(c, "--class must be secret, private, "
			    "public or data");
			goto out;
		}
		if ((rc = cli_tmpl_ulong(&f, CKA_CLASS, v)) != 0)
			goto out;
	}
	if (c->o.key_type != NULL) {
		if (cli_ktype_parse(c->o.key_type, &v) != 0) {
			rc = cli_usage(c, "--key-type must be aes, generic, "
			    "rsa, ec or ed");
			goto out;
		}
		if ((rc = cli_tmpl_ulong(&f, CKA_KEY_TYPE, v)) != 0)
			goto out;
	}
	if ((rc = add_attrs(c, &f, NULL)) != 0)
		goto out;
	if ((rc = coffer_find_objects(c->client, f.a, f.n, &hs, &n)) != 0)
		goto out;
	if (n > 1)
		qsort(hs, n, sizeof(*hs), by_handle);
	for (i = 0; i < NLIST; i++)
		if ((rc = cli_tmpl_want(&t, list_types[i])) != 0)
			goto out;
	if (c->o.json) {
		if ((arr = json_array()) == NULL) {
			rc = COFFER_E_NOMEM;
			goto out;
		}
	} else if ((tab = cli_table_new(8, head)) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		const char *row[8];

		rc = cli_read_attrs(c, hs[i], &t);
		if (rc == COFFER_E_NOTFOUND)
			continue;	/* deleted meanwhile */
		if (rc != 0)
			goto out;
		if (arr != NULL) {
			if (json_array_append_new(arr, obj_json(&t,
			    hs[i])) != 0) {
				rc = COFFER_E_NOMEM;
				goto out;
			}
			continue;
		}
		snprintf(hbuf, sizeof(hbuf), "%llu",
		    (unsigned long long)hs[i]);
		cls[0] = kt[0] = label[0] = idh[0] = owner[0] = '\0';
		for (k = 0; k < t.n; k++) {
			switch (t.a[k].type) {
			case CKA_CLASS:
				cli_attr_text(&t.a[k], AK_CLASS, cls,
				    sizeof(cls));
				break;
			case CKA_KEY_TYPE:
				cli_attr_text(&t.a[k], AK_KTYPE, kt,
				    sizeof(kt));
				break;
			case CKA_LABEL:
				cli_attr_text(&t.a[k], AK_STR, label,
				    sizeof(label));
				break;
			case CKA_ID:
				cli_attr_text(&t.a[k], AK_BYTES, idh,
				    sizeof(idh));
				break;
			case CKA_COFFER_OWNER:
				cli_attr_text(&t.a[k], AK_STR, owner,
				    sizeof(owner));
				break;
			default:
				break;
			}
		}
		size_text(&t, size, sizeof(size));
		flags_text(&t, flags, sizeof(flags));
		row[0] = hbuf;
		row[1] = cls;
		row[2] = kt;
		row[3] = label;
		row[4] = idh;
		row[5] = size;
		row[6] = owner;
		row[7] = flags;
		if ((rc = cli_table_add(tab, row)) != 0)
			goto out;
	}
	if (arr != NULL) {
		cli_json_print(json_pack("{s:o}", "objects", arr));
		arr = NULL;
	} else {
		cli_table_print(tab, stdout);
	}
	rc = 0;
 out:
	json_decref(arr);
	cli_table_free(tab);
	coffer_free(hs, n * sizeof(*hs));
	coffer_free(id, idlen);
	cli_tmpl_free(&f);
	cli_tmpl_free(&t);
	return rc;
}

/* The key named by the operand (handle or label) or by --label/--id. */
static int
key_arg(struct cli *c, const CK_OBJECT_CLASS *want, size_t nwant,
    uint64_t *h)
{
	const char *spec = c->argc > 0 ? c->argv[0] : NULL;

	if (spec != NULL && (c->o.label != NULL || c->o.id != NULL))
		return cli_usage(c, "give either KEY or --label/--id");
	return cli_resolve_key(c, spec, want, nwant, h);
}

int
cmd_key_show(struct cli *c)
{
	struct cli_tmpl t = { 0 };
	const struct cli_attr_def *def;
	const struct cli_curve *cv;
	char val[2048];
	uint64_t h;
	size_t i;
	int rc;

	if ((rc = key_arg(c, NULL, 0, &h)) != 0)
		return rc;
	for (i = 0; i < cli_nattr_defs; i++)
		if ((rc = cli_tmpl_want(&t, cli_attr_defs[i].type)) != 0)
			goto out;
	if ((rc = cli_read_attrs(c, h, &t)) != 0) {
		rc = cli_obj_fail(c, rc, "key %llu", (unsigned long long)h);
		goto out;
	}
	if (c->o.json) {
		json_t *attrs = json_object(), *j;

		for (i = 0; i < t.n && attrs != NULL; i++) {
			if (t.a[i].ulValueLen == CK_UNAVAILABLE_INFORMATION)
				continue;
			def = &cli_attr_defs[i];
			json_object_set_new(attrs, def->name,
			    cli_attr_json(&t.a[i], def->kind));
			if (def->kind == AK_CURVE && t.a[i].pValue != NULL &&
			    (cv = cli_curve_by_oid(t.a[i].pValue,
			    (size_t)t.a[i].ulValueLen)) != NULL)
				json_object_set_new(attrs, "curve",
				    json_string(cv->name));
		}
		j = json_pack("{s:I, s:o}", "handle", (json_int_t)h,
		    "attributes", attrs);
		cli_json_print(j);
		rc = 0;
		goto out;
	}
	printf("%-20s %llu\n", "handle", (unsigned long long)h);
	for (i = 0; i < t.n; i++) {
		if (t.a[i].ulValueLen == CK_UNAVAILABLE_INFORMATION)
			continue;
		def = &cli_attr_defs[i];
		cli_attr_text(&t.a[i], def->kind, val, sizeof(val));
		printf("%-20s %s\n", def->name, val);
	}
	rc = 0;
 out:
	cli_tmpl_free(&t);
	return rc;
}

static int
done(struct cli *c, const char *action, uint64_t h, const char *user)
{
	if (c->o.json) {
		json_t *j = json_pack("{s:s, s:I}", "result", action,
		    "handle", (json_int_t)h);

		if (j != NULL && user != NULL)
			json_object_set_new(j, "username", json_string(user));
		cli_json_print(j);
	} else if (user != NULL) {
		cli_info(c, "key %llu %s %s", (unsigned long long)h, action,
		    user);
	} else {
		cli_info(c, "key %llu %s", (unsigned long long)h, action);
	}
	return 0;
}

int
cmd_key_delete(struct cli *c)
{
	uint64_t h;
	int rc;

	if ((rc = key_arg(c, NULL, 0, &h)) != 0)
		return rc;
	if ((rc = coffer_destroy_object(c->client, h)) != 0)
		return cli_obj_fail(c, rc, "key %llu", (unsigned long long)h);
	return done(c, "deleted", h, NULL);
}

static int
share(struct cli *c, bool on)
{
	uint64_t h;
	int rc;

	if ((rc = cli_resolve_key(c, c->argv[0], NULL, 0, &h)) != 0)
		return rc;
	rc = on ? coffer_share_key(c->client, h, c->argv[1]) :
	    coffer_unshare_key(c->client, h, c->argv[1]);
	if (rc != 0)
		return cli_obj_fail(c, rc, "key %llu, user %s",
		    (unsigned long long)h, c->argv[1]);
	return done(c, on ? "shared with" : "unshared from", h, c->argv[1]);
}

int
cmd_key_share(struct cli *c)
{
	return share(c, true);
}

int
cmd_key_unshare(struct cli *c)
{
	return share(c, false);
}

int
cmd_key_set_attribute(struct cli *c)
{
	const struct cli_attr_def *def;
	struct cli_tmpl t = { 0 };
	char name[64];
	const char *eq;
	uint64_t h;
	int i, rc;

	if ((rc = cli_resolve_key(c, c->argv[0], NULL, 0, &h)) != 0)
		return rc;
	for (i = 1; i < c->argc; i++) {
		eq = strchr(c->argv[i], '=');
		if (eq == NULL || eq == c->argv[i] ||
		    (size_t)(eq - c->argv[i]) >= sizeof(name)) {
			rc = cli_usage(c, "%s: expected NAME=VALUE",
			    c->argv[i]);
			goto out;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(eq - c->argv[i]),
		    c->argv[i]);
		if ((def = cli_attr_find(name)) == NULL) {
			rc = cli_usage(c, "unknown attribute '%s'", name);
			goto out;
		}
		if ((rc = cli_tmpl_parse_value(c, &t, def, eq + 1)) != 0)
			goto out;
	}
	if ((rc = coffer_set_attributes(c->client, h, t.a, t.n)) != 0) {
		rc = cli_obj_fail(c, rc, "key %llu", (unsigned long long)h);
		goto out;
	}
	rc = done(c, "updated", h, NULL);
 out:
	cli_tmpl_free(&t);
	return rc;
}

/* --- wrap, unwrap ---------------------------------------------------- */

static const CK_OBJECT_CLASS wrap_classes[] = { CKO_PUBLIC_KEY,
    CKO_SECRET_KEY };
static const CK_OBJECT_CLASS unwrap_classes[] = { CKO_PRIVATE_KEY,
    CKO_SECRET_KEY };
static const CK_OBJECT_CLASS target_classes[] = { CKO_SECRET_KEY,
    CKO_PRIVATE_KEY };

int
cmd_key_wrap(struct cli *c)
{
	struct cli_mech cm;
	struct cli_sink s = { 0 };
	uint64_t wk, k;
	uint8_t *out = NULL;
	size_t out_len = 0;
	int rc;

	if ((rc = cli_mech_parse(c, c->o.mech, MU_WRAP, &cm)) != 0)
		return rc;
	if ((rc = cli_resolve_key(c, c->o.wrapping_key, wrap_classes, 2,
	    &wk)) != 0)
		return rc;
	if ((rc = cli_resolve_key(c, c->o.key, target_classes, 2, &k)) != 0)
		return rc;
	if ((rc = coffer_wrap_key(c->client, &cm.m, wk, k, &out,
	    &out_len)) != 0)
		return cli_obj_fail(c, rc, "wrapping key %llu with key %llu",
		    (unsigned long long)k, (unsigned long long)wk);
	if ((rc = cli_sink_open(c, &s, c->o.out, c->o.json, 0600)) != 0 ||
	    (rc = cli_sink_write(c, &s, out, out_len)) != 0 ||
	    (rc = cli_sink_commit(c, &s)) != 0)
		goto out;
	if (c->o.json) {
		char *hex = s.mem ? cli_hex(s.buf, s.len) : NULL;
		json_t *j = json_pack("{s:I, s:I, s:s, s:I}", "key",
		    (json_int_t)k, "wrapping_key", (json_int_t)wk, "mech",
		    cm.def->name, "bytes", (json_int_t)out_len);

		if (j != NULL && hex != NULL)
			json_object_set_new(j, "wrapped", json_string(hex));
		else if (j != NULL && c->o.out != NULL)
			json_object_set_new(j, "out", json_string(c->o.out));
		free(hex);
		cli_json_print(j);
	} else if (!s.is_stdout) {
		cli_info(c, "key %llu wrapped with key %llu (%s): %zu bytes "
		    "in %s", (unsigned long long)k, (unsigned long long)wk,
		    cm.def->name, out_len, c->o.out);
	}
	rc = 0;
 out:
	cli_sink_close(&s);
	coffer_free(out, out_len);
	return rc;
}

/* Usage defaults of a key made by unwrap. */
static int
usage_defaults(struct cli_tmpl *t, CK_ULONG cls, CK_ULONG kt)
{
	int rc = 0;

	if (cls == CKO_SECRET_KEY) {
		rc = cli_tmpl_bool(t, CKA_SIGN, true);
		if (rc == 0)
			rc = cli_tmpl_bool(t, CKA_VERIFY, true);
		if (rc == 0 && kt == CKK_AES)
			if ((rc = cli_tmpl_bool(t, CKA_ENCRYPT, true)) != 0 ||
			    (rc = cli_tmpl_bool(t, CKA_DECRYPT, true)) != 0 ||
			    (rc = cli_tmpl_bool(t, CKA_WRAP, true)) != 0 ||
			    (rc = cli_tmpl_bool(t, CKA_UNWRAP, true)) != 0)
				return rc;
		if (rc == 0 && kt != CKK_AES)
			rc = cli_tmpl_bool(t, CKA_DERIVE, true);
		return rc;
	}
	if ((rc = cli_tmpl_bool(t, CKA_SIGN, true)) != 0)
		return rc;
	if (kt == CKK_RSA && ((rc = cli_tmpl_bool(t, CKA_DECRYPT, true)) != 0 ||
	    (rc = cli_tmpl_bool(t, CKA_UNWRAP, true)) != 0))
		return rc;
	if (kt == CKK_EC)
		rc = cli_tmpl_bool(t, CKA_DERIVE, true);
	return rc;
}

int
cmd_key_unwrap(struct cli *c)
{
	struct cli_tmpl t = { 0 };
	struct cli_mech cm;
	uint8_t *in = NULL;
	size_t in_len = 0;
	uint64_t uk, h = 0;
	CK_ULONG cls, kt;
	struct cli_opts sel;
	int rc;

	if (cli_class_parse(c->o.klass, &cls) != 0 ||
	    (cls != CKO_SECRET_KEY && cls != CKO_PRIVATE_KEY))
		return cli_usage(c, "--class must be secret or private");
	if (cli_ktype_parse(c->o.key_type, &kt) != 0)
		return cli_usage(c, "--key-type must be aes, generic, rsa, ec "
		    "or ed");
	if ((rc = cli_mech_parse(c, c->o.mech, MU_WRAP, &cm)) != 0)
		return rc;
	/* --label, --id and --class describe the new key here, not the
	 * unwrapping key. */
	sel = c->o;
	c->o.label = c->o.id = c->o.klass = NULL;
	rc = cli_resolve_key(c, c->o.unwrapping_key, unwrap_classes, 2, &uk);
	c->o.label = sel.label;
	c->o.id = sel.id;
	c->o.klass = sel.klass;
	if (rc != 0)
		return rc;
	if ((rc = cli_read_file(c, c->o.in, 1u << 20, &in, &in_len)) != 0)
		return rc;
	if ((rc = add_common(c, &t)) != 0 ||
	    (rc = cli_tmpl_ulong(&t, CKA_CLASS, cls)) != 0 ||
	    (rc = cli_tmpl_ulong(&t, CKA_KEY_TYPE, kt)) != 0 ||
	    (rc = cli_tmpl_bool(&t, CKA_PRIVATE, true)) != 0 ||
	    (rc = cli_tmpl_bool(&t, CKA_SENSITIVE, true)) != 0 ||
	    (rc = cli_tmpl_bool(&t, CKA_EXTRACTABLE, c->o.extractable)) != 0 ||
	    (rc = usage_defaults(&t, cls, kt)) != 0 ||
	    (rc = add_attrs(c, &t, NULL)) != 0)
		goto out;
	if ((rc = coffer_unwrap_key(c->client, &cm.m, uk, in, in_len, t.a,
	    t.n, &h)) != 0) {
		rc = cli_obj_fail(c, rc, "unwrapping with key %llu",
		    (unsigned long long)uk);
		goto out;
	}
	if (c->o.json) {
		json_t *j = json_pack("{s:I, s:s, s:s}", "handle",
		    (json_int_t)h, "class", cli_class_name(cls), "key_type",
		    cli_ktype_name(kt));

		if (j != NULL && c->o.label != NULL)
			json_object_set_new(j, "label",
			    json_string(c->o.label));
		cli_json_print(j);
	} else if (c->o.quiet) {
		printf("%llu\n", (unsigned long long)h);
	} else {
		printf("unwrapped %s %s key: %llu\n", cli_ktype_name(kt),
		    cli_class_name(cls), (unsigned long long)h);
	}
	rc = 0;
 out:
	cli_tmpl_free(&t);
	coffer_free(in, in_len);
	return rc;
}

/* --- public keys ----------------------------------------------------- */

/*
 * The public key pk as a template: class, key type and the
 * SubjectPublicKeyInfo (CKA_PUBLIC_KEY_INFO), from which the node derives
 * the modulus, exponent, EC parameters and point.
 */
static int
pubkey_tmpl(struct cli *c, EVP_PKEY *pk, struct cli_tmpl *t, const char **what)
{
	unsigned char *der = NULL;
	char group[64];
	CK_KEY_TYPE kt;
	int len, rc;

	if (EVP_PKEY_is_a(pk, "RSA")) {
		*what = "RSA";
		kt = CKK_RSA;
	} else if (EVP_PKEY_is_a(pk, "EC")) {
		*what = "EC";
		kt = CKK_EC;
		if (!EVP_PKEY_get_utf8_string_param(pk,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) ||
		    cli_curve_by_ossl(group) == NULL)
			return cli_fail(c, COFFER_E_UNSUPPORTED, "unsupported "
			    "EC curve (p224, p256, p384, p521, secp256k1 are)");
	} else if (EVP_PKEY_is_a(pk, "ED25519") || EVP_PKEY_is_a(pk,
	    "ED448")) {
		*what = "EdDSA";
		kt = CKK_EC_EDWARDS;
	} else {
		return cli_fail(c, COFFER_E_UNSUPPORTED, "unsupported key "
		    "type (RSA, EC, Ed25519 and Ed448 are)");
	}
	if ((len = i2d_PUBKEY(pk, &der)) <= 0)
		return cli_fail(c, COFFER_E_FORMAT, "cannot encode the key");
	if ((rc = cli_tmpl_ulong(t, CKA_CLASS, CKO_PUBLIC_KEY)) != 0 ||
	    (rc = cli_tmpl_ulong(t, CKA_KEY_TYPE, kt)) != 0 ||
	    (rc = cli_tmpl_set(t, CKA_PUBLIC_KEY_INFO, der, (size_t)len)) != 0 ||
	    (rc = cli_tmpl_bool(t, CKA_VERIFY, true)) != 0)
		goto out;
	if (kt == CKK_RSA && ((rc = cli_tmpl_bool(t, CKA_ENCRYPT,
	    true)) != 0 || (rc = cli_tmpl_bool(t, CKA_WRAP, true)) != 0))
		goto out;
	rc = 0;
 out:
	OPENSSL_free(der);
	return rc;
}

int
cmd_key_import_public(struct cli *c)
{
	struct cli_tmpl t = { 0 };
	EVP_PKEY *pk = NULL;
	const uint8_t *p;
	const char *what = "";
	uint8_t *buf = NULL;
	size_t len = 0;
	uint64_t h = 0;
	BIO *bio = NULL;
	int rc;

	if ((rc = cli_read_file(c, c->o.in, 1u << 20, &buf, &len)) != 0)
		return rc;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	if (pk == NULL) {
		p = buf;
		pk = d2i_PUBKEY(NULL, &p, (long)len);
	}
	if (pk == NULL) {
		rc = cli_fail(c, COFFER_E_FORMAT, "%s: not a public key (PEM "
		    "'PUBLIC KEY' or DER SubjectPublicKeyInfo)",
		    c->o.in ? c->o.in : "standard input");
		goto out;
	}
	if ((rc = pubkey_tmpl(c, pk, &t, &what)) != 0 ||
	    (rc = add_common(c, &t)) != 0 ||
	    (rc = add_attrs(c, &t, NULL)) != 0)
		goto out;
	if ((rc = coffer_create_object(c->client, t.a, t.n, &h)) != 0) {
		rc = cli_obj_fail(c, rc, "importing the %s public key", what);
		goto out;
	}
	if (c->o.json) {
		json_t *j = json_pack("{s:I, s:s}", "handle", (json_int_t)h,
		    "type", what);

		if (j != NULL && c->o.label != NULL)
			json_object_set_new(j, "label",
			    json_string(c->o.label));
		cli_json_print(j);
	} else if (c->o.quiet) {
		printf("%llu\n", (unsigned long long)h);
	} else {
		printf("imported %s public key: %llu\n", what,
		    (unsigned long long)h);
	}
	rc = 0;
 out:
	BIO_free(bio);
	EVP_PKEY_free(pk);
	cli_tmpl_free(&t);
	coffer_free(buf, len);
	return rc;
}

int
cmd_key_export_public(struct cli *c)
{
	static const CK_OBJECT_CLASS want[] = { CKO_PUBLIC_KEY };
	struct cli_tmpl t = { 0 };
	struct cli_sink s = { 0 };
	CK_ATTRIBUTE *a;
	EVP_PKEY *pk = NULL;
	const uint8_t *p;
	BIO *bio = NULL;
	char *pem = NULL;
	long pemlen;
	uint64_t h;
	int rc;

	if ((rc = key_arg(c, want, 1, &h)) != 0)
		return rc;
	if ((rc = cli_tmpl_want(&t, CKA_PUBLIC_KEY_INFO)) != 0)
		goto out;
	if ((rc = cli_read_attrs(c, h, &t)) != 0) {
		rc = cli_obj_fail(c, rc, "key %llu", (unsigned long long)h);
		goto out;
	}
	a = &t.a[0];
	if (a->pValue == NULL || a->ulValueLen == 0 ||
	    a->ulValueLen == CK_UNAVAILABLE_INFORMATION) {
		rc = cli_fail(c, COFFER_E_ATTRIBUTE, "key %llu has no public "
		    "key info (not an asymmetric key?)",
		    (unsigned long long)h);
		goto out;
	}
	p = a->pValue;
	if ((pk = d2i_PUBKEY(NULL, &p, (long)a->ulValueLen)) == NULL) {
		rc = cli_fail(c, COFFER_E_FORMAT, "key %llu: the node's "
		    "public key info does not parse", (unsigned long long)h);
		goto out;
	}
	if ((rc = cli_sink_open(c, &s, c->o.out, c->o.json, 0644)) != 0)
		goto out;
	if (c->o.der) {
		rc = cli_sink_write(c, &s, a->pValue, (size_t)a->ulValueLen);
	} else {
		if ((bio = BIO_new(BIO_s_mem())) == NULL ||
		    !PEM_write_bio_PUBKEY(bio, pk)) {
			rc = COFFER_E_NOMEM;
			goto out;
		}
		pemlen = BIO_get_mem_data(bio, &pem);
		rc = cli_sink_write(c, &s, pem, (size_t)pemlen);
	}
	if (rc != 0 || (rc = cli_sink_commit(c, &s)) != 0)
		goto out;
	if (c->o.json) {
		json_t *j = json_pack("{s:I, s:s}", "handle", (json_int_t)h,
		    "format", c->o.der ? "der" : "pem");

		if (j != NULL && s.mem) {
			if (c->o.der) {
				char *hex = cli_hex(s.buf, s.len);

				json_object_set_new(j, "public_key",
				    json_string(hex ? hex : ""));
				free(hex);
			} else {
				json_object_set_new(j, "public_key",
				    json_stringn((const char *)s.buf, s.len));
			}
		} else if (j != NULL) {
			json_object_set_new(j, "out", json_string(c->o.out));
		}
		cli_json_print(j);
	} else if (!s.is_stdout) {
		cli_info(c, "public key of %llu written to %s",
		    (unsigned long long)h, c->o.out);
	}
	rc = 0;
 out:
	cli_sink_close(&s);
	BIO_free(bio);
	EVP_PKEY_free(pk);
	cli_tmpl_free(&t);
	return rc;
}
