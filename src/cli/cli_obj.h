/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli_obj.h: private helpers of the key and crypto commands (obj.c):
 * attribute names and templates, key types, curves, key selection by
 * handle/label/id, hex, and file input/output. Only the public API
 * (coffer_objects.h, p11-kit's pkcs11.h) is used.
 */
#ifndef CF_CLI_OBJ_H
#define CF_CLI_OBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <coffer/coffer_objects.h>

#include "cli.h"

/* PKCS#11 3.0 values that p11-kit 0.24's pkcs11.h lacks. */
#ifndef CKM_AES_KEY_WRAP_KWP
#define CKM_AES_KEY_WRAP_KWP		(0x210bUL)
#endif
#ifndef CKM_SHA3_256
#define CKM_SHA3_256			(0x2b0UL)
#define CKM_SHA3_224			(0x2b5UL)
#define CKM_SHA3_384			(0x2c0UL)
#define CKM_SHA3_512			(0x2d0UL)
#endif

/* PKCS#11 2.40 CK_RSA_AES_KEY_WRAP_PARAMS (not in p11-kit 0.24). */
struct cli_rsa_aes_params {
	CK_ULONG ulAESKeyBits;
	CK_RSA_PKCS_OAEP_PARAMS *pOAEPParams;
};

/* Largest chunk read from a file and handed to libcoffer at once. */
#define CLI_CHUNK	((size_t)1 << 20)
/* Most attributes in one template. */
#define CLI_TMPL_MAX	64

enum cli_attr_kind {
	AK_BOOL,
	AK_ULONG,
	AK_STR,		/* UTF-8 */
	AK_BYTES,	/* hex */
	AK_DATE,	/* CK_DATE, YYYYMMDD */
	AK_CLASS,
	AK_KTYPE,
	AK_MECH,
	AK_CURVE,	/* CKA_EC_PARAMS: DER OID, shown with the curve name */
};

enum cli_attr_side {
	SIDE_BOTH,	/* both halves of a generated key pair */
	SIDE_PUB,
	SIDE_PRIV,
};

struct cli_attr_def {
	const char *name;	/* "sign", "key-type", ... */
	CK_ATTRIBUTE_TYPE type;
	int kind;		/* enum cli_attr_kind */
	int side;		/* enum cli_attr_side */
};

extern const struct cli_attr_def cli_attr_defs[];
extern const size_t cli_nattr_defs;
/* By name: "sign", "SIGN", "CKA_SIGN", "key_type" all work. */
const struct cli_attr_def *cli_attr_find(const char *name);
const struct cli_attr_def *cli_attr_by_type(CK_ATTRIBUTE_TYPE type);

/* A template owning its values (malloc'd, wiped on free). */
struct cli_tmpl {
	CK_ATTRIBUTE a[CLI_TMPL_MAX];
	size_t n;
};
/* Sets (or replaces) type to a copy of v. */
int cli_tmpl_set(struct cli_tmpl *t, CK_ATTRIBUTE_TYPE type, const void *v,
    size_t len);
int cli_tmpl_bool(struct cli_tmpl *t, CK_ATTRIBUTE_TYPE type, bool v);
int cli_tmpl_ulong(struct cli_tmpl *t, CK_ATTRIBUTE_TYPE type, CK_ULONG v);
int cli_tmpl_str(struct cli_tmpl *t, CK_ATTRIBUTE_TYPE type, const char *s);
/* Appends type with no value (for reading). */
int cli_tmpl_want(struct cli_tmpl *t, CK_ATTRIBUTE_TYPE type);
/* The attribute of that type, or NULL. */
CK_ATTRIBUTE *cli_tmpl_get(struct cli_tmpl *t, CK_ATTRIBUTE_TYPE type);
/* Parses the value text of def into t. */
int cli_tmpl_parse_value(struct cli *c, struct cli_tmpl *t,
    const struct cli_attr_def *def, const char *value);
void cli_tmpl_free(struct cli_tmpl *t);

/* Reads the given attributes (cli_tmpl_want) of h: values are allocated,
 * unavailable ones keep ulValueLen == CK_UNAVAILABLE_INFORMATION. */
int cli_read_attrs(struct cli *c, uint64_t h, struct cli_tmpl *t);
/* Attribute helpers on a read template. */
bool cli_attr_bool(struct cli_tmpl *t, CK_ATTRIBUTE_TYPE type, bool *v);
bool cli_attr_ulong(struct cli_tmpl *t, CK_ATTRIBUTE_TYPE type, CK_ULONG *v);
/* Value as text (for tables) / JSON; "" / null if unavailable. */
void cli_attr_text(const CK_ATTRIBUTE *a, int kind, char *buf, size_t len);
json_t *cli_attr_json(const CK_ATTRIBUTE *a, int kind);

/* Names. */
const char *cli_class_name(CK_ULONG v);
int cli_class_parse(const char *s, CK_ULONG *v);
const char *cli_ktype_name(CK_ULONG v);
int cli_ktype_parse(const char *s, CK_ULONG *v);
const char *cli_mech_name(CK_ULONG v);

struct cli_curve {
	const char *name;	/* "p256" */
	const char *ossl;	/* OpenSSL group name */
	const uint8_t *oid;	/* DER OBJECT IDENTIFIER */
	size_t oid_len;
	size_t order_len;	/* bytes of r and of s in an ECDSA signature */
	CK_KEY_TYPE ktype;	/* CKK_EC or CKK_EC_EDWARDS */
};
const struct cli_curve *cli_curve_find(const char *name);
const struct cli_curve *cli_curve_by_oid(const uint8_t *der, size_t len);
const struct cli_curve *cli_curve_by_ossl(const char *group);

/* --- mechanisms (mech.c) ---------------------------------------------- */
#define MU_SIGN		0x01	/* sign, verify */
#define MU_CRYPT	0x02	/* encrypt, decrypt */
#define MU_WRAP		0x04	/* wrap, unwrap */
#define MU_DIGEST	0x08
#define MU_HMAC		0x10	/* a MAC: 'crypto hmac' accepts it */
#define MF_ECDSA	0x100	/* r||s signature (DER on files by default) */
#define MF_SECRET	0x200	/* uses a secret key */
#define MF_IV		0x400	/* takes an IV (--iv, or input/output prefix) */
#define MF_ONE		0x800	/* single-part: input hashed by the caller */

enum cli_mech_param {
	MP_NONE,
	MP_IV16,	/* CBC, CBC-PAD: 16-byte IV */
	MP_GCM,
	MP_CTR,
	MP_PSS,
	MP_OAEP,
	MP_RSA_AES,
};

struct cli_mech_def {
	const char *name;
	CK_MECHANISM_TYPE type;
	int param;		/* enum cli_mech_param */
	CK_MECHANISM_TYPE hash;	/* PSS/OAEP hash */
	CK_RSA_PKCS_MGF_TYPE mgf;
	CK_ULONG hlen;		/* PSS salt length */
	unsigned flags;		/* MU_*, MF_* */
};

extern const struct cli_mech_def cli_mech_defs[];
/* The mechanism with parameters of their default values (GCM: no IV,
 * the node makes one; tag 128 bits; CBC/CTR: zero IV to be filled). */
struct cli_mech {
	const struct cli_mech_def *def;
	CK_MECHANISM m;
	union {
		CK_GCM_PARAMS gcm;
		CK_AES_CTR_PARAMS ctr;
		CK_RSA_PKCS_PSS_PARAMS pss;
		CK_RSA_PKCS_OAEP_PARAMS oaep;
		struct cli_rsa_aes_params ra;
	} p;
	CK_RSA_PKCS_OAEP_PARAMS oaep;	/* for RSA-AES */
	uint8_t iv[16];
};
/* use: MU_* the command needs; prints the choices on a usage error. */
int cli_mech_parse(struct cli *c, const char *name, unsigned use,
    struct cli_mech *cm);
/* "name, name, ..." of the mechanisms with use (static buffer). */
const char *cli_mech_list(unsigned use);

/* Hex: lower case, malloc'd, NUL-terminated. */
char *cli_hex(const uint8_t *p, size_t n);
/* Accepts an optional 0x prefix, ':' separators; *out malloc'd. */
int cli_unhex(const char *s, uint8_t **out, size_t *len);

/*
 * Selects one key. spec is a handle (decimal) or, if not a number, a
 * label; when spec is NULL, --label/--id (and --class) select. Among
 * several matches, only those of a class in want[] (nwant may be 0) are
 * kept; more than one left is an error naming the handles.
 */
int cli_resolve_key(struct cli *c, const char *spec,
    const CK_OBJECT_CLASS *want, size_t nwant, uint64_t *h);
/* Fails with the node's detail, else with what (e.g. "key 5"). */
int cli_obj_fail(struct cli *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* --- files ----------------------------------------------------------- */
/* Input: path NULL or "-" is standard input. */
int cli_in_open(struct cli *c, const char *path, FILE **f);
void cli_in_close(FILE *f);
/* Reads up to n bytes (less only at end of file); *eof set at the end. */
int cli_in_read(struct cli *c, FILE *f, uint8_t *buf, size_t n, size_t *got,
    bool *eof);
/* A whole file (at most max bytes). */
int cli_read_file(struct cli *c, const char *path, size_t max, uint8_t **buf,
    size_t *len);

/*
 * Output: a file (written to a temporary name and renamed on commit, so a
 * failed operation leaves nothing), standard output, or memory (when
 * path is NULL/"-" and mem is set: --json embeds the bytes as hex).
 */
struct cli_sink {
	FILE *f;
	char *path;
	char *tmp;
	bool is_stdout;
	bool mem;
	uint8_t *buf;
	size_t len, cap;
	size_t total;
};
int cli_sink_open(struct cli *c, struct cli_sink *s, const char *path,
    bool mem, unsigned mode);
int cli_sink_write(struct cli *c, struct cli_sink *s, const void *p,
    size_t n);
int cli_sink_commit(struct cli *c, struct cli_sink *s);
/* Removes a temporary file, wipes memory; safe after commit. */
void cli_sink_close(struct cli_sink *s);

#endif
