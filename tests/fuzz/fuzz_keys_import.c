/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_keys_import.c: libFuzzer target for the public values that enter
 * the node by C_CreateObject (src/crypto/keys_import.c) and the public key
 * decoders next to them (src/crypto/keys.c).
 *
 * Input: byte 0 picks the entry point; for the two-field ones (RSA n/e,
 * EC params/point) bytes 1-2 are the big-endian length of the first field
 * and the rest is the second field; for the others the rest is the value.
 *   0 cf_key_import_rsa_public	  3 cf_key_import_public (SPKI DER/PEM)
 *   1 cf_key_import_ec_public	  4 cf_key_deserialize (public, private)
 *   2 cf_cert_x509_info, then cf_key_import_public of its SPKI
 * Each key made is used as the object store does (every public attribute
 * as put_key_attr reads it, cf_key_public and cf_key_serialize as put_spki
 * does). Checks: no crash or leak; a key re-imported from its own
 * CKA_MODULUS/CKA_PUBLIC_EXPONENT or CKA_EC_PARAMS/CKA_EC_POINT has the
 * same attributes; a serialized key deserializes to the same attributes;
 * the certificate fields are DER of the types they claim.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "coffer/coffer_err.h"
#include "crypto/keys.h"
#include "crypto/keys_import.h"
#include "fuzz_input.h"


/* The attributes put_key_attr reads from a key. */
static const CK_ATTRIBUTE_TYPE attrs[] = {
	CKA_CLASS, CKA_KEY_TYPE, CKA_VALUE, CKA_VALUE_LEN, CKA_CHECK_VALUE,
	CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_MODULUS_BITS, CKA_EC_PARAMS,
	CKA_EC_POINT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_COEFFICIENT,
};
#define NATTRS (sizeof(attrs) / sizeof(attrs[0]))

struct attrvals {
	int	 rc[NATTRS];
	uint8_t	*v[NATTRS];
	size_t	 n[NATTRS];
};

static void
attrvals_clear(struct attrvals *a)
{
	size_t i;

	for (i = 0; i < NATTRS; i++)
		free(a->v[i]);
	*a = (struct attrvals){0};
}

/* Reads every attribute twice: length query, then into a buffer. */
static void
read_attrs(const struct cf_key *k, struct attrvals *a)
{
	uint8_t small[1];
	size_t i, n, m;

	*a = (struct attrvals){0};
	for (i = 0; i < NATTRS; i++) {
		n = 0;
		if ((a->rc[i] = cf_key_get_attr(k, attrs[i], NULL, &n)) != 0)
			continue;
		check(n < 1 << 20);
		if (n > 1) {
			m = sizeof(small);
			check(cf_key_get_attr(k, attrs[i], small, &m) ==
			    COFFER_E_BUFFER_TOO_SMALL && m == n);
		}
		check((a->v[i] = malloc(n > 0 ? n : 1)) != NULL);
		m = n;
		check(cf_key_get_attr(k, attrs[i], a->v[i], &m) == 0);
		check(m == n);
		a->n[i] = m;
	}
}

static int
attrvals_eq(const struct attrvals *a, const struct attrvals *b)
{
	size_t i;

	for (i = 0; i < NATTRS; i++) {
		if (a->rc[i] != b->rc[i] || a->n[i] != b->n[i])
			return 0;
		if (a->n[i] > 0 && memcmp(a->v[i], b->v[i], a->n[i]) != 0)
			return 0;
	}
	return 1;
}

static size_t
attr_index(CK_ATTRIBUTE_TYPE t)
{
	size_t i;

	for (i = 0; i < NATTRS; i++)
		if (attrs[i] == t)
			return i;
	abort();
}

/*
 * Uses a key as the object store does and checks the round trips. strict:
 * the key came from PKCS#11 components, so its own components must import
 * again (keys from DER may be outside the component import's limits).
 */
static void
exercise(struct cf_key *k, int strict)
{
	struct attrvals a, b;
	struct cf_key *pub = NULL, *k2 = NULL;
	uint8_t *ser = NULL;
	size_t n = 0, m, in, ie, ip, iq;
	int rc;
	CK_OBJECT_CLASS cls = cf_key_class(k);
	CK_KEY_TYPE type = cf_key_type(k);

	(void)cf_key_bits(k);
	read_attrs(k, &a);

	/* put_spki: the public half, serialized. */
	if (cf_key_public(k, &pub) == 0) {
		check(cf_key_class(pub) == CKO_PUBLIC_KEY &&
		    cf_key_type(pub) == type);
		if (cf_key_serialize(pub, NULL, &n) == 0) {
			check((ser = malloc(n > 0 ? n : 1)) != NULL);
			m = n;
			check(cf_key_serialize(pub, ser, &m) == 0 && m == n);
			check(cf_key_deserialize(CKO_PUBLIC_KEY, type, ser, m,
			    &k2) == 0);
			read_attrs(k2, &b);
			if (cls == CKO_PUBLIC_KEY)
				check(attrvals_eq(&a, &b));
			attrvals_clear(&b);
			cf_key_free(k2);
			k2 = NULL;
			free(ser);
			ser = NULL;
		}
		cf_key_free(pub);
	}

	/* Re-import from the PKCS#11 components the key reports. */
	in = attr_index(CKA_MODULUS);
	ie = attr_index(CKA_PUBLIC_EXPONENT);
	ip = attr_index(CKA_EC_PARAMS);
	iq = attr_index(CKA_EC_POINT);
	k2 = NULL;
	if (type == CKK_RSA && a.rc[in] == 0 && a.rc[ie] == 0) {
		rc = cf_key_import_rsa_public(a.v[in], a.n[in], a.v[ie],
		    a.n[ie], &k2);
		check(rc == 0 || !strict);
	} else if (a.rc[ip] == 0 && a.rc[iq] == 0) {
		rc = cf_key_import_ec_public(a.v[ip], a.n[ip], a.v[iq],
		    a.n[iq], &k2);
		check(rc == 0 || !strict);
	}
	if (k2 != NULL) {
		read_attrs(k2, &b);
		/* Class differs for a private key; compare its public
		 * half's values only. */
		if (cls == CKO_PUBLIC_KEY)
			check(attrvals_eq(&a, &b));
		else
			check(a.n[in] == b.n[in] && a.n[iq] == b.n[iq]);
		attrvals_clear(&b);
		cf_key_free(k2);
	}
	attrvals_clear(&a);
}

static void
check_der(const uint8_t *p, size_t n, int what)
{
	const unsigned char *q = p;
	X509_NAME *name;
	ASN1_INTEGER *ai;
	X509_PUBKEY *pk;

	check(p != NULL && n > 0);
	switch (what) {
	case 0:
		check((name = d2i_X509_NAME(NULL, &q, (long)n)) != NULL);
		X509_NAME_free(name);
		break;
	case 1:
		check((ai = d2i_ASN1_INTEGER(NULL, &q, (long)n)) != NULL);
		ASN1_INTEGER_free(ai);
		break;
	default:
		check((pk = d2i_X509_PUBKEY(NULL, &q, (long)n)) != NULL);
		X509_PUBKEY_free(pk);
		break;
	}
	check(q == p + n);
	ERR_clear_error();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cf_cert_info ci;
	struct cf_key *k = NULL;
	const uint8_t *f1, *f2;
	size_t l1, l2;
	uint8_t sel;
	int rc;

	if (size < 1)
		return 0;
	sel = data[0] % 5;
	data++;
	size--;
	if (sel <= 1) {
		if (size < 2)
			return 0;
		l1 = (size_t)data[0] << 8 | data[1];
		data += 2;
		size -= 2;
		if (l1 > size)
			l1 = size;
		f1 = data;
		f2 = data + l1;
		l2 = size - l1;
		if (sel == 0)
			rc = cf_key_import_rsa_public(f1, l1, f2, l2, &k);
		else
			rc = cf_key_import_ec_public(f1, l1, f2, l2, &k);
	} else if (sel == 2) {
		rc = cf_cert_x509_info(data, size, &ci);
		if (rc != 0) {
			check(ci.subject == NULL && ci.spki == NULL);
			return 0;
		}
		check_der(ci.subject, ci.subject_len, 0);
		check_der(ci.issuer, ci.issuer_len, 0);
		check_der(ci.serial, ci.serial_len, 1);
		check_der(ci.spki, ci.spki_len, 2);
		rc = cf_key_import_public(ci.spki, ci.spki_len, &k);
		cf_cert_info_clear(&ci);
	} else if (sel == 3) {
		rc = cf_key_import_public(data, size, &k);
	} else {
		if (size < 1)
			return 0;
		rc = cf_key_deserialize(data[0] & 1 ? CKO_PRIVATE_KEY :
		    CKO_PUBLIC_KEY, CK_UNAVAILABLE_INFORMATION, data + 1,
		    size - 1, &k);
	}
	check(rc == 0 ? k != NULL : k == NULL);
	if (k != NULL) {
		check(sel > 1 || cf_key_class(k) == CKO_PUBLIC_KEY);
		exercise(k, sel <= 1);
		cf_key_free(k);
	}
	ERR_clear_error();
	return 0;
}
