/* SPDX-License-Identifier: Apache-2.0 */
/*
 * obj.c: helpers of the key and crypto commands: attribute names and
 * templates, key types, curves, key selection, hex and file I/O.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli_obj.h"

const struct cli_attr_def cli_attr_defs[] = {
	{ "class", CKA_CLASS, AK_CLASS, SIDE_BOTH },
	{ "key-type", CKA_KEY_TYPE, AK_KTYPE, SIDE_BOTH },
	{ "label", CKA_LABEL, AK_STR, SIDE_BOTH },
	{ "id", CKA_ID, AK_BYTES, SIDE_BOTH },
	{ "token", CKA_TOKEN, AK_BOOL, SIDE_BOTH },
	{ "private", CKA_PRIVATE, AK_BOOL, SIDE_PRIV },
	{ "modifiable", CKA_MODIFIABLE, AK_BOOL, SIDE_BOTH },
	{ "copyable", CKA_COPYABLE, AK_BOOL, SIDE_BOTH },
	{ "destroyable", CKA_DESTROYABLE, AK_BOOL, SIDE_BOTH },
	{ "sensitive", CKA_SENSITIVE, AK_BOOL, SIDE_PRIV },
	{ "extractable", CKA_EXTRACTABLE, AK_BOOL, SIDE_PRIV },
	{ "always-sensitive", CKA_ALWAYS_SENSITIVE, AK_BOOL, SIDE_PRIV },
	{ "never-extractable", CKA_NEVER_EXTRACTABLE, AK_BOOL, SIDE_PRIV },
	{ "local", CKA_LOCAL, AK_BOOL, SIDE_BOTH },
	{ "key-gen-mechanism", CKA_KEY_GEN_MECHANISM, AK_MECH, SIDE_BOTH },
	{ "encrypt", CKA_ENCRYPT, AK_BOOL, SIDE_PUB },
	{ "decrypt", CKA_DECRYPT, AK_BOOL, SIDE_PRIV },
	{ "sign", CKA_SIGN, AK_BOOL, SIDE_PRIV },
	{ "verify", CKA_VERIFY, AK_BOOL, SIDE_PUB },
	{ "sign-recover", CKA_SIGN_RECOVER, AK_BOOL, SIDE_PRIV },
	{ "verify-recover", CKA_VERIFY_RECOVER, AK_BOOL, SIDE_PUB },
	{ "wrap", CKA_WRAP, AK_BOOL, SIDE_PUB },
	{ "unwrap", CKA_UNWRAP, AK_BOOL, SIDE_PRIV },
	{ "derive", CKA_DERIVE, AK_BOOL, SIDE_PRIV },
	{ "trusted", CKA_TRUSTED, AK_BOOL, SIDE_PUB },
	{ "wrap-with-trusted", CKA_WRAP_WITH_TRUSTED, AK_BOOL, SIDE_PRIV },
	{ "always-authenticate", CKA_ALWAYS_AUTHENTICATE, AK_BOOL, SIDE_PRIV },
	{ "start-date", CKA_START_DATE, AK_DATE, SIDE_BOTH },
	{ "end-date", CKA_END_DATE, AK_DATE, SIDE_BOTH },
	{ "subject", CKA_SUBJECT, AK_BYTES, SIDE_BOTH },
	{ "application", CKA_APPLICATION, AK_STR, SIDE_BOTH },
	{ "value-len", CKA_VALUE_LEN, AK_ULONG, SIDE_BOTH },
	{ "check-value", CKA_CHECK_VALUE, AK_BYTES, SIDE_BOTH },
	{ "modulus", CKA_MODULUS, AK_BYTES, SIDE_BOTH },
	{ "modulus-bits", CKA_MODULUS_BITS, AK_ULONG, SIDE_PUB },
	{ "public-exponent", CKA_PUBLIC_EXPONENT, AK_BYTES, SIDE_BOTH },
	{ "ec-params", CKA_EC_PARAMS, AK_CURVE, SIDE_PUB },
	{ "ec-point", CKA_EC_POINT, AK_BYTES, SIDE_PUB },
	{ "public-key-info", CKA_PUBLIC_KEY_INFO, AK_BYTES, SIDE_BOTH },
	{ "value", CKA_VALUE, AK_BYTES, SIDE_BOTH },
	{ "owner", CKA_COFFER_OWNER, AK_STR, SIDE_BOTH },
	{ "shared", CKA_COFFER_SHARED, AK_STR, SIDE_BOTH },
};
const size_t cli_nattr_defs = sizeof(cli_attr_defs) / sizeof(cli_attr_defs[0]);

/* "CKA_KEY_TYPE" / "key_type" / "Key-Type" -> "key-type". */
static void
norm_name(const char *in, char *out, size_t len)
{
	size_t i = 0;

	if (strncasecmp(in, "cka_", 4) == 0)
		in += 4;
	for (; *in != '\0' && i + 1 < len; in++)
		out[i++] = *in == '_' ? '-' : (char)tolower((unsigned char)*in);
	out[i] = '\0';
}

const struct cli_attr_def *
cli_attr_find(const char *name)
{
	char n[64];
	size_t i;

	norm_name(name, n, sizeof(n));
	if (strcmp(n, "type") == 0)
		snprintf(n, sizeof(n), "key-type");
	for (i = 0; i < cli_nattr_defs; i++)
		if (strcmp(cli_attr_defs[i].name, n) == 0)
			return &cli_attr_defs[i];
	return NULL;
}

const struct cli_attr_def *
cli_attr_by_type(CK_ATTRIBUTE_TYPE type)
{
	size_t i;

	for (i = 0; i < cli_nattr_defs; i++)
		if (cli_attr_defs[i].type == type)
			return &cli_attr_defs[i];
	return NULL;
}

/* --- templates ------------------------------------------------------- */

CK_ATTRIBUTE *
cli_tmpl_get(struct cli_tmpl *t, CK_ATTRIBUTE_TYPE type)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->a[i].type == type)
			return &t->a[i];
	return NULL;
}

static size_t
vlen(const CK_ATTRIBUTE *a)
{
	return a->ulValueLen == CK_UNAVAILABLE_INFORMATION ? 0 :
	    (size_t)a->ulValueLen;
}

int
cli_tmpl_set(struct cli_tmpl *t, CK_ATTRIBUTE_TYPE type, const void *v,
    size_t len)
{
	CK_ATTRIBUTE *a;
	void *p = NULL;

	if (len > 0) {
		if ((p = malloc(len)) == NULL)
			return COFFER_E_NOMEM;
		memcpy(p, v, len);
	}
	if ((a = cli_tmpl_get(t, type)) == NULL) {
		if (t->n == CLI_TMPL_MAX) {
			free(p);
			return COFFER_E_TOOBIG;
		}
		a = &t->a[t->n++];
	} else {
		coffer_free(a->pValue, vlen(a));
	}
	a->type = type;
	a->pValue = p;
	a->ulValueLen = len;
	return 0;
}

int
cli_tmpl_bool(struct cli_tmpl *t, CK_ATTRIBUTE_TYPE type, bool v)
{
	CK_BBOOL b = v ? CK_TRUE : CK_FALSE;

	return cli_tmpl_set(t, type, &b, sizeof(b));
}

int
cli_tmpl_ulong(struct cli_tmpl *t, CK_ATTRIBUTE_TYPE type, CK_ULONG v)
{
	return cli_tmpl_set(t, type, &v, sizeof(v));
}

int
cli_tmpl_str(struct cli_tmpl *t, CK_ATTRIBUTE_TYPE type, const char *s)
{
	return cli_tmpl_set(t, type, s, strlen(s));
}

int
cli_tmpl_want(struct cli_tmpl *t, CK_ATTRIBUTE_TYPE type)
{
	if (t->n == CLI_TMPL_MAX)
		return COFFER_E_TOOBIG;
	t->a[t->n].type = type;
	t->a[t->n].pValue = NULL;
	t->a[t->n].ulValueLen = 0;
	t->n++;
	return 0;
}

void
cli_tmpl_free(struct cli_tmpl *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		coffer_free(t->a[i].pValue, vlen(&t->a[i]));
		t->a[i].pValue = NULL;
	}
	t->n = 0;
}

static int
parse_bool(const char *s, bool *v)
{
	static const char *const yes[] = { "true", "yes", "on", "1", "y" };
	static const char *const no[] = { "false", "no", "off", "0", "n" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*v = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*v = false;
			return 0;
		}
	}
	return COFFER_E_INVAL;
}

static const struct {
	const char *name;
	CK_ULONG v;
} mech_names[] = {
	{ "rsa-pkcs-key-pair-gen", CKM_RSA_PKCS_KEY_PAIR_GEN },
	{ "ec-key-pair-gen", CKM_EC_KEY_PAIR_GEN },
	{ "ec-edwards-key-pair-gen", CKM_EC_EDWARDS_KEY_PAIR_GEN },
	{ "aes-key-gen", CKM_AES_KEY_GEN },
	{ "generic-secret-key-gen", CKM_GENERIC_SECRET_KEY_GEN },
	{ "ecdh1-derive", CKM_ECDH1_DERIVE },
	{ "ecdh1-cofactor-derive", CKM_ECDH1_COFACTOR_DERIVE },
};

const char *
cli_mech_name(CK_ULONG v)
{
	size_t i;

	for (i = 0; i < sizeof(mech_names) / sizeof(mech_names[0]); i++)
		if (mech_names[i].v == v)
			return mech_names[i].name;
	return NULL;
}

static int
parse_date(const char *s, CK_DATE *d)
{
	char digits[9];
	size_t i, n = 0;

	for (; *s != '\0'; s++) {
		if (*s == '-')
			continue;
		if (!isdigit((unsigned char)*s) || n == 8)
			return COFFER_E_INVAL;
		digits[n++] = *s;
	}
	if (n != 8)
		return COFFER_E_INVAL;
	for (i = 0; i < 4; i++)
		d->year[i] = (CK_CHAR)digits[i];
	d->month[0] = (CK_CHAR)digits[4];
	d->month[1] = (CK_CHAR)digits[5];
	d->day[0] = (CK_CHAR)digits[6];
	d->day[1] = (CK_CHAR)digits[7];
	return 0;
}

int
cli_tmpl_parse_value(struct cli *c, struct cli_tmpl *t,
    const struct cli_attr_def *def, const char *value)
{
	const struct cli_curve *cv;
	uint8_t *bytes = NULL;
	size_t blen = 0;
	CK_ULONG ul;
	CK_DATE d;
	uint64_t u;
	bool b;
	int rc;

	switch (def->kind) {
	case AK_BOOL:
		if (parse_bool(value, &b) != 0)
			return cli_usage(c, "%s: expected true or false, not "
			    "'%s'", def->name, value);
		return cli_tmpl_bool(t, def->type, b);
	case AK_ULONG:
	case AK_MECH:
		if (cli_parse_u64(value, 0, UINT64_MAX, &u) != 0)
			return cli_usage(c, "%s: expected a number, not '%s'",
			    def->name, value);
		return cli_tmpl_ulong(t, def->type, (CK_ULONG)u);
	case AK_STR:
		return cli_tmpl_str(t, def->type, value);
	case AK_DATE:
		if (*value == '\0')
			return cli_tmpl_set(t, def->type, NULL, 0);
		if (parse_date(value, &d) != 0)
			return cli_usage(c, "%s: expected YYYYMMDD, not '%s'",
			    def->name, value);
		return cli_tmpl_set(t, def->type, &d, sizeof(d));
	case AK_CLASS:
		if (cli_class_parse(value, &ul) != 0)
			return cli_usage(c, "%s: unknown class '%s'",
			    def->name, value);
		return cli_tmpl_ulong(t, def->type, ul);
	case AK_KTYPE:
		if (cli_ktype_parse(value, &ul) != 0)
			return cli_usage(c, "%s: unknown key type '%s'",
			    def->name, value);
		return cli_tmpl_ulong(t, def->type, ul);
	case AK_CURVE:
		if ((cv = cli_curve_find(value)) != NULL)
			return cli_tmpl_set(t, def->type, cv->oid,
			    cv->oid_len);
		break;		/* else DER in hex */
	case AK_BYTES:
	default:
		break;
	}
	if (cli_unhex(value, &bytes, &blen) != 0)
		return cli_usage(c, "%s: expected hex, not '%s'", def->name,
		    value);
	rc = cli_tmpl_set(t, def->type, bytes, blen);
	coffer_free(bytes, blen);
	return rc;
}

int
cli_read_attrs(struct cli *c, uint64_t h, struct cli_tmpl *t)
{
	size_t i;
	int rc;

	for (i = 0; i < t->n; i++) {
		coffer_free(t->a[i].pValue, vlen(&t->a[i]));
		t->a[i].pValue = NULL;
		t->a[i].ulValueLen = 0;
	}
	rc = coffer_get_attributes(c->client, h, t->a, t->n);
	if (rc != 0 && rc != COFFER_E_ATTR_SENSITIVE &&
	    rc != COFFER_E_ATTRIBUTE && rc != COFFER_E_BUFFER_TOO_SMALL)
		return rc;
	for (i = 0; i < t->n; i++) {
		if (t->a[i].ulValueLen == CK_UNAVAILABLE_INFORMATION ||
		    t->a[i].ulValueLen == 0)
			continue;
		if ((t->a[i].pValue = calloc(1, t->a[i].ulValueLen)) == NULL)
			return COFFER_E_NOMEM;
	}
	rc = coffer_get_attributes(c->client, h, t->a, t->n);
	if (rc != 0 && rc != COFFER_E_ATTR_SENSITIVE &&
	    rc != COFFER_E_ATTRIBUTE && rc != COFFER_E_BUFFER_TOO_SMALL)
		return rc;
	/* A value that changed size between the calls is unavailable. */
	for (i = 0; i < t->n; i++) {
		if (t->a[i].ulValueLen == CK_UNAVAILABLE_INFORMATION) {
			free(t->a[i].pValue);
			t->a[i].pValue = NULL;
		}
	}
	return 0;
}

bool
cli_attr_bool(struct cli_tmpl *t, CK_ATTRIBUTE_TYPE type, bool *v)
{
	CK_ATTRIBUTE *a = cli_tmpl_get(t, type);

	if (a == NULL || a->pValue == NULL || a->ulValueLen != 1)
		return false;
	*v = *(CK_BBOOL *)a->pValue != CK_FALSE;
	return true;
}

bool
cli_attr_ulong(struct cli_tmpl *t, CK_ATTRIBUTE_TYPE type, CK_ULONG *v)
{
	CK_ATTRIBUTE *a = cli_tmpl_get(t, type);

	if (a == NULL || a->pValue == NULL ||
	    a->ulValueLen != sizeof(CK_ULONG))
		return false;
	memcpy(v, a->pValue, sizeof(*v));
	return true;
}

static bool
printable(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
	return true;
}

void
cli_attr_text(const CK_ATTRIBUTE *a, int kind, char *buf, size_t len)
{
	const struct cli_curve *cv;
	const uint8_t *p = a->pValue;
	const char *name;
	CK_ULONG ul;
	char *hex;
	size_t n;

	buf[0] = '\0';
	if (a->ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return;
	n = (size_t)a->ulValueLen;
	if (n == 0 || p == NULL) {
		if (kind == AK_DATE)
			snprintf(buf, len, "-");
		return;
	}
	switch (kind) {
	case AK_BOOL:
		snprintf(buf, len, "%s", p[0] ? "true" : "false");
		return;
	case AK_ULONG:
	case AK_CLASS:
	case AK_KTYPE:
	case AK_MECH:
		if (n != sizeof(CK_ULONG))
			break;
		memcpy(&ul, p, sizeof(ul));
		name = kind == AK_CLASS ? cli_class_name(ul) :
		    kind == AK_KTYPE ? cli_ktype_name(ul) :
		    kind == AK_MECH ? cli_mech_name(ul) : NULL;
		if (kind == AK_MECH && ul == CK_UNAVAILABLE_INFORMATION)
			snprintf(buf, len, "none");
		else if (name != NULL)
			snprintf(buf, len, "%s", name);
		else if (kind == AK_ULONG)
			snprintf(buf, len, "%lu", (unsigned long)ul);
		else
			snprintf(buf, len, "0x%lx", (unsigned long)ul);
		return;
	case AK_STR:
		if (printable(p, n)) {
			snprintf(buf, len, "%.*s", (int)n, (const char *)p);
			return;
		}
		break;
	case AK_DATE:
		if (n == sizeof(CK_DATE) && printable(p, n)) {
			snprintf(buf, len, "%.4s-%.2s-%.2s", (const char *)p,
			    (const char *)p + 4, (const char *)p + 6);
			return;
		}
		break;
	case AK_CURVE:
		if ((cv = cli_curve_by_oid(p, n)) != NULL) {
			snprintf(buf, len, "%s", cv->name);
			return;
		}
		break;
	default:
		break;
	}
	if ((hex = cli_hex(p, n)) != NULL) {
		snprintf(buf, len, "%s", hex);
		free(hex);
	}
}

json_t *
cli_attr_json(const CK_ATTRIBUTE *a, int kind)
{
	char buf[256];
	char *hex;
	json_t *j;
	CK_ULONG ul;

	if (a->ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return json_null();
	switch (kind) {
	case AK_BOOL:
		if (a->ulValueLen == 1 && a->pValue != NULL)
			return json_boolean(*(CK_BBOOL *)a->pValue);
		break;
	case AK_ULONG:
		if (a->ulValueLen == sizeof(CK_ULONG) && a->pValue != NULL) {
			memcpy(&ul, a->pValue, sizeof(ul));
			return json_integer((json_int_t)ul);
		}
		break;
	case AK_CLASS:
	case AK_KTYPE:
	case AK_MECH:
	case AK_STR:
	case AK_DATE:
		cli_attr_text(a, kind, buf, sizeof(buf));
		if (kind == AK_STR && a->ulValueLen > 0 && buf[0] == '\0')
			break;
		return json_string(buf);
	default:
		break;
	}
	if ((hex = cli_hex(a->pValue, a->pValue ? (size_t)a->ulValueLen :
	    0)) == NULL)
		return NULL;
	j = json_string(hex);
	free(hex);
	return j;
}

/* --- names ----------------------------------------------------------- */

static const struct {
	const char *name;
	CK_ULONG v;
} classes[] = {
	{ "data", CKO_DATA },
	{ "certificate", CKO_CERTIFICATE },
	{ "public", CKO_PUBLIC_KEY },
	{ "private", CKO_PRIVATE_KEY },
	{ "secret", CKO_SECRET_KEY },
}, ktypes[] = {
	{ "rsa", CKK_RSA },
	{ "ec", CKK_EC },
	{ "ed", CKK_EC_EDWARDS },
	{ "generic", CKK_GENERIC_SECRET },
	{ "aes", CKK_AES },
	{ "des3", CKK_DES3 },
};

const char *
cli_class_name(CK_ULONG v)
{
	size_t i;

	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (classes[i].v == v)
			return classes[i].name;
	return "unknown";
}

int
cli_class_parse(const char *s, CK_ULONG *v)
{
	size_t i;

	if (strcasecmp(s, "public-key") == 0 || strcasecmp(s, "pub") == 0)
		s = "public";
	else if (strcasecmp(s, "private-key") == 0 ||
	    strcasecmp(s, "priv") == 0)
		s = "private";
	else if (strcasecmp(s, "secret-key") == 0)
		s = "secret";
	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		if (strcasecmp(classes[i].name, s) == 0) {
			*v = classes[i].v;
			return 0;
		}
	}
	return COFFER_E_INVAL;
}

const char *
cli_ktype_name(CK_ULONG v)
{
	size_t i;

	for (i = 0; i < sizeof(ktypes) / sizeof(ktypes[0]); i++)
		if (ktypes[i].v == v)
			return ktypes[i].name;
	return "unknown";
}

int
cli_ktype_parse(const char *s, CK_ULONG *v)
{
	size_t i;

	if (strcasecmp(s, "ec-edwards") == 0 || strcasecmp(s, "eddsa") == 0)
		s = "ed";
	else if (strcasecmp(s, "generic-secret") == 0 ||
	    strcasecmp(s, "secret") == 0)
		s = "generic";
	for (i = 0; i < sizeof(ktypes) / sizeof(ktypes[0]); i++) {
		if (strcasecmp(ktypes[i].name, s) == 0) {
			*v = ktypes[i].v;
			return 0;
		}
	}
	return COFFER_E_INVAL;
}

static const uint8_t oid_p224[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x21 };
static const uint8_t oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
    0x03, 0x01, 0x07 };
static const uint8_t oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t oid_p521[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23 };
static const uint8_t oid_k256[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a };
static const uint8_t oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
static const uint8_t oid_ed448[] = { 0x06, 0x03, 0x2b, 0x65, 0x71 };

static const struct cli_curve curves[] = {
	{ "p224", "secp224r1", oid_p224, sizeof(oid_p224), 28, CKK_EC },
	{ "p256", "prime256v1", oid_p256, sizeof(oid_p256), 32, CKK_EC },
	{ "p384", "secp384r1", oid_p384, sizeof(oid_p384), 48, CKK_EC },
	{ "p521", "secp521r1", oid_p521, sizeof(oid_p521), 66, CKK_EC },
	{ "secp256k1", "secp256k1", oid_k256, sizeof(oid_k256), 32, CKK_EC },
	{ "ed25519", "ED25519", oid_ed25519, sizeof(oid_ed25519), 32,
	  CKK_EC_EDWARDS },
	{ "ed448", "ED448", oid_ed448, sizeof(oid_ed448), 57, CKK_EC_EDWARDS },
};
#define NCURVES (sizeof(curves) / sizeof(curves[0]))

const struct cli_curve *
cli_curve_find(const char *name)
{
	static const struct {
		const char *alias, *name;
	} aliases[] = {
		{ "p-224", "p224" }, { "secp224r1", "p224" },
		{ "p-256", "p256" }, { "prime256v1", "p256" },
		{ "secp256r1", "p256" }, { "p-384", "p384" },
		{ "secp384r1", "p384" }, { "p-521", "p521" },
		{ "secp521r1", "p521" },
	};
	size_t i;

	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcasecmp(name, aliases[i].alias) == 0)
			name = aliases[i].name;
	for (i = 0; i < NCURVES; i++)
		if (strcasecmp(curves[i].name, name) == 0)
			return &curves[i];
	return NULL;
}

const struct cli_curve *
cli_curve_by_oid(const uint8_t *der, size_t len)
{
	size_t i;

	for (i = 0; i < NCURVES; i++)
		if (curves[i].oid_len == len &&
		    memcmp(curves[i].oid, der, len) == 0)
			return &curves[i];
	/* PKCS#11 3.0 also allows the curve name as a PrintableString. */
	if (len > 2 && der[0] == 0x13 && der[1] == len - 2) {
		if (len - 2 == 7 && memcmp(der + 2, "edwards", 7) == 0)
			return NULL;
		if (len - 2 == 7 && memcmp(der + 2, "ed25519", 7) == 0)
			return &curves[5];
		if (len - 2 == 5 && memcmp(der + 2, "ed448", 5) == 0)
			return &curves[6];
	}
	return NULL;
}

const struct cli_curve *
cli_curve_by_ossl(const char *group)
{
	size_t i;

	for (i = 0; i < NCURVES; i++)
		if (strcasecmp(curves[i].ossl, group) == 0)
			return &curves[i];
	return cli_curve_find(group);
}

/* --- hex ------------------------------------------------------------- */

char *
cli_hex(const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s;
	size_t i;

	if ((s = malloc(2 * n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int
cli_unhex(const char *s, uint8_t **out, size_t *len)
{
	uint8_t *p;
	size_t n = 0;
	int hi = -1, v;

	*out = NULL;
	*len = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if ((p = malloc(strlen(s) / 2 + 1)) == NULL)
		return COFFER_E_NOMEM;
	for (; *s != '\0'; s++) {
		if (*s == ':' || *s == ' ')
			continue;
		if ((v = hexval((unsigned char)*s)) < 0)
			goto bad;
		if (hi < 0) {
			hi = v;
		} else {
			p[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0)
		goto bad;
	*out = p;
	*len = n;
	return 0;
 bad:
	coffer_free(p, n);
	return COFFER_E_INVAL;
}

/* --- key selection --------------------------------------------------- */

int
cli_obj_fail(struct cli *c, int rc, const char *fmt, ...)
{
	const char *d = c->client ? coffer_client_last_error(c->client) : NULL;
	va_list ap;

	if (d != NULL && *d != '\0' && strcmp(d, coffer_strerror(rc)) != 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	return rc;
}

static bool
is_handle(const char *s, uint64_t *h)
{
	return cli_parse_u64(s, 1, UINT64_MAX, h) == 0;
}

int
cli_resolve_key(struct cli *c, const char *spec,
    const CK_OBJECT_CLASS *want, size_t nwant, uint64_t *h)
{
	struct cli_tmpl t = { 0 }, rd = { 0 };
	const char *label = spec ? spec : c->o.label;
	uint64_t *hs = NULL, *keep = NULL;
	uint8_t *id = NULL;
	size_t idlen = 0, n = 0, nkeep = 0, i, j;
	char list[160];
	CK_ULONG cls;
	int rc;

	*h = 0;
	if (spec != NULL && is_handle(spec, h))
		return 0;
	if (label == NULL && c->o.id == NULL)
		return cli_usage(c, "give the key: a handle, --key, --label "
		    "or --id");
	if (label != NULL && (rc = cli_tmpl_str(&t, CKA_LABEL, label)) != 0)
		goto out;
	if (c->o.id != NULL) {
		if (cli_unhex(c->o.id, &id, &idlen) != 0 || idlen == 0) {
			rc = cli_usage(c, "--id must be hex");
			goto out;
		}
		if ((rc = cli_tmpl_set(&t, CKA_ID, id, idlen)) != 0)
			goto out;
	}
	if (c->o.klass != NULL) {
		if (cli_class_parse(c->o.klass, &cls) != 0) {
			rc = cli_usage(c, "--class must be secret, private, "
			    "public or data");
			goto out;
		}
		if ((rc = cli_tmpl_ulong(&t, CKA_CLASS, cls)) != 0)
			goto out;
	}
	if ((rc = coffer_find_objects(c->client, t.a, t.n, &hs, &n)) != 0)
		goto out;
	if (n == 0) {
		rc = cli_fail(c, COFFER_E_NOTFOUND, "no key with %s%s%s%s%s",
		    label ? "label '" : "", label ? label : "",
		    label ? "'" : "", label && c->o.id ? " and " : "",
		    c->o.id ? "that --id" : "");
		goto out;
	}
	if ((keep = calloc(n, sizeof(*keep))) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	if (n == 1 || nwant == 0) {
		memcpy(keep, hs, n * sizeof(*keep));
		nkeep = n;
	} else {
		if ((rc = cli_tmpl_want(&rd, CKA_CLASS)) != 0)
			goto out;
		for (i = 0; i < n; i++) {
			if ((rc = cli_read_attrs(c, hs[i], &rd)) != 0)
				goto out;
			if (!cli_attr_ulong(&rd, CKA_CLASS, &cls))
				continue;
			for (j = 0; j < nwant; j++)
				if (want[j] == cls)
					keep[nkeep++] = hs[i];
		}
		if (nkeep == 0) {
			memcpy(keep, hs, n * sizeof(*keep));
			nkeep = n;
		}
	}
	if (nkeep > 1) {
		size_t off = 0;

		list[0] = '\0';
		for (i = 0; i < nkeep && i < 8 && off < sizeof(list); i++)
			off += (size_t)snprintf(list + off, sizeof(list) - off,
			    "%s%llu", i ? ", " : "",
			    (unsigned long long)keep[i]);
		rc = cli_fail(c, COFFER_E_INVAL, "%zu objects match (%s%s); "
		    "give a handle, or --id/--class", nkeep, list,
		    nkeep > 8 ? ", ..." : "");
		goto out;
	}
	*h = keep[0];
	rc = 0;
 out:
	free(keep);
	coffer_free(hs, n * sizeof(*hs));
	coffer_free(id, idlen);
	cli_tmpl_free(&t);
	cli_tmpl_free(&rd);
	return rc;
}

/* --- files ----------------------------------------------------------- */

static bool
is_std(const char *path)
{
	return path == NULL || strcmp(path, "-") == 0;
}

int
cli_in_open(struct cli *c, const char *path, FILE **f)
{
	if (is_std(path)) {
		*f = stdin;
		return 0;
	}
	if ((*f = fopen(path, "rbe")) == NULL)
		return cli_fail(c, COFFER_E_IO, "%s: %s", path,
		    strerror(errno));
	return 0;
}

void
cli_in_close(FILE *f)
{
	if (f != NULL && f != stdin)
		fclose(f);
}

int
cli_in_read(struct cli *c, FILE *f, uint8_t *buf, size_t n, size_t *got,
    bool *eof)
{
	size_t r;
	int ch;

	*got = 0;
	*eof = false;
	while (*got < n) {
		r = fread(buf + *got, 1, n - *got, f);
		*got += r;
		if (r == 0) {
			if (ferror(f))
				return cli_fail(c, COFFER_E_IO, "read: %s",
				    strerror(errno));
			*eof = true;
			return 0;
		}
	}
	/* Full buffer: is there more? */
	if ((ch = fgetc(f)) == EOF) {
		if (ferror(f))
			return cli_fail(c, COFFER_E_IO, "read: %s",
			    strerror(errno));
		*eof = true;
	} else {
		(void)ungetc(ch, f);
	}
	return 0;
}

int
cli_read_file(struct cli *c, const char *path, size_t max, uint8_t **buf,
    size_t *len)
{
	FILE *f = NULL;
	uint8_t *p = NULL, *np;
	size_t n = 0, cap = 0, got;
	bool eof = false;
	int rc;

	*buf = NULL;
	*len = 0;
	if ((rc = cli_in_open(c, path, &f)) != 0)
		return rc;
	while (!eof) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 4096;

			if (cap >= max + 1) {
				rc = cli_fail(c, COFFER_E_TOOBIG, "%s: larger "
				    "than %zu bytes", is_std(path) ?
				    "standard input" : path, max);
				goto out;
			}
			if ((np = malloc(ncap)) == NULL) {
				rc = COFFER_E_NOMEM;
				goto out;
			}
			if (n > 0)
				memcpy(np, p, n);
			coffer_free(p, n);
			p = np;
			cap = ncap;
		}
		if ((rc = cli_in_read(c, f, p + n, cap - n, &got, &eof)) != 0)
			goto out;
		n += got;
	}
	if (n > max) {
		rc = cli_fail(c, COFFER_E_TOOBIG, "%s: larger than %zu bytes",
		    is_std(path) ? "standard input" : path, max);
		goto out;
	}
	*buf = p;
	*len = n;
	p = NULL;
	rc = 0;
 out:
	coffer_free(p, n);
	cli_in_close(f);
	return rc;
}

int
cli_sink_open(struct cli *c, struct cli_sink *s, const char *path, bool mem,
    unsigned mode)
{
	int fd;

	*s = (struct cli_sink){ 0 };
	if (is_std(path)) {
		if (mem)
			s->mem = true;
		else {
			s->f = stdout;
			s->is_stdout = true;
		}
		return 0;
	}
	if ((s->path = strdup(path)) == NULL ||
	    asprintf(&s->tmp, "%s.tmp-%ld", path, (long)getpid()) < 0) {
		s->tmp = NULL;
		return COFFER_E_NOMEM;
	}
	fd = open(s->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    (mode_t)mode);
	if (fd < 0 || (s->f = fdopen(fd, "wb")) == NULL) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		free(s->tmp);
		s->tmp = NULL;
		return cli_fail(c, COFFER_E_IO, "%s: %s", path, strerror(e));
	}
	return 0;
}

int
cli_sink_write(struct cli *c, struct cli_sink *s, const void *p, size_t n)
{
	uint8_t *nb;
	size_t cap;

	if (n == 0)
		return 0;
	s->total += n;
	if (s->mem) {
		if (s->len + n > s->cap) {
			cap = s->cap ? s->cap : 4096;
			while (cap < s->len + n)
				cap *= 2;
			if ((nb = malloc(cap)) == NULL)
				return COFFER_E_NOMEM;
			if (s->len > 0)
				memcpy(nb, s->buf, s->len);
			coffer_free(s->buf, s->len);
			s->buf = nb;
			s->cap = cap;
		}
		memcpy(s->buf + s->len, p, n);
		s->len += n;
		return 0;
	}
	if (fwrite(p, 1, n, s->f) != n)
		return cli_fail(c, COFFER_E_IO, "%s: %s",
		    s->path ? s->path : "standard output", strerror(errno));
	return 0;
}

int
cli_sink_commit(struct cli *c, struct cli_sink *s)
{
	FILE *f = s->f;

	if (s->mem)
		return 0;
	if (s->is_stdout) {
		if (fflush(stdout) != 0)
			return cli_fail(c, COFFER_E_IO, "standard output: %s",
			    strerror(errno));
		return 0;
	}
	s->f = NULL;
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		int e = errno;

		fclose(f);
		return cli_fail(c, COFFER_E_IO, "%s: %s", s->path,
		    strerror(e));
	}
	if (fclose(f) != 0 || rename(s->tmp, s->path) != 0)
		return cli_fail(c, COFFER_E_IO, "%s: %s", s->path,
		    strerror(errno));
	free(s->tmp);
	s->tmp = NULL;
	return 0;
}

void
cli_sink_close(struct cli_sink *s)
{
	if (s->f != NULL && !s->is_stdout)
		fclose(s->f);
	s->f = NULL;
	if (s->tmp != NULL) {
		(void)unlink(s->tmp);
		free(s->tmp);
		s->tmp = NULL;
	}
	free(s->path);
	s->path = NULL;
	coffer_free(s->buf, s->cap);
	s->buf = NULL;
	s->len = s->cap = 0;
}

/* --- checks before any network traffic -------------------------------- */

static unsigned
mech_use(const struct cli_cmd *cmd)
{
	if (cmd->name == NULL)
		return 0;
	if (strcmp(cmd->group, "key") == 0)
		return MU_WRAP;
	if (strcmp(cmd->name, "sign") == 0 || strcmp(cmd->name, "verify") == 0)
		return MU_SIGN;
	if (strcmp(cmd->name, "encrypt") == 0 ||
	    strcmp(cmd->name, "decrypt") == 0)
		return MU_CRYPT;
	if (strcmp(cmd->name, "hmac") == 0)
		return MU_HMAC;
	if (strcmp(cmd->name, "digest") == 0)
		return MU_DIGEST;
	return 0;
}

int
cli_obj_check(struct cli *c)
{
	const struct cli_opts *o = &c->o;
	struct cli_mech cm;
	uint8_t *b = NULL;
	size_t blen = 0, i;
	const char *eq, *n;
	char name[64];
	uint64_t v;
	CK_ULONG ul;
	unsigned use;
	int rc;

	if (o->klass != NULL && cli_class_parse(o->klass, &ul) != 0)
		return cli_usage(c, "--class must be secret, private, public or "
		    "data");
	if (o->key_type != NULL && cli_ktype_parse(o->key_type, &ul) != 0)
		return cli_usage(c, "--key-type must be aes, generic, rsa, ec "
		    "or ed");
	if (o->id != NULL) {
		rc = cli_unhex(o->id, &b, &blen);
		coffer_free(b, blen);
		if (rc != 0 || blen == 0)
			return cli_usage(c, "--id must be hex");
	}
	if (o->iv != NULL) {
		rc = cli_unhex(o->iv, &b, &blen);
		coffer_free(b, blen);
		if (rc != 0 || blen == 0)
			return cli_usage(c, "--iv must be hex");
	}
	if (o->bits != NULL && cli_parse_u64(o->bits, 1, 65536, &v) != 0)
		return cli_usage(c, "--bits must be a number of bits");
	if (o->bytes != NULL && cli_parse_u64(o->bytes, 0, (uint64_t)1 << 30,
	    &v) != 0)
		return cli_usage(c, "--bytes must be a number of bytes");
	if (o->tag_bits != NULL && cli_parse_u64(o->tag_bits, 0, 1024,
	    &v) != 0)
		return cli_usage(c, "--tag-bits must be a number of bits");
	if (o->curve != NULL && cli_curve_find(o->curve) == NULL)
		return cli_usage(c, "unknown curve '%s' (p224, p256, p384, "
		    "p521, secp256k1, ed25519, ed448)", o->curve);
	for (i = 0; i < o->nattrs; i++) {
		if ((eq = strchr(o->attrs[i], '=')) == NULL ||
		    eq == o->attrs[i] ||
		    (size_t)(eq - o->attrs[i]) >= sizeof(name))
			return cli_usage(c, "--attr %s: expected NAME=VALUE",
			    o->attrs[i]);
		snprintf(name, sizeof(name), "%.*s", (int)(eq - o->attrs[i]),
		    o->attrs[i]);
		n = name;
		if ((eq = strchr(n, '.')) != NULL)
			n = eq + 1;
		if (cli_attr_find(n) == NULL)
			return cli_usage(c, "--attr: unknown attribute '%s'",
			    n);
	}
	if (o->mech != NULL && (use = mech_use(c->cmd)) != 0 &&
	    (rc = cli_mech_parse(c, o->mech, use, &cm)) != 0)
		return rc;
	return 0;
}
