/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys_import.h: public values that enter the node by C_CreateObject
 * (issue 4): public keys given by their PKCS#11 components, and X.509
 * certificates (the attributes a token derives from CKA_VALUE).
 *
 * Nothing here takes secret or private key material: those enter only
 * through unwrap.
 */
#ifndef CF_CRYPTO_KEYS_IMPORT_H
#define CF_CRYPTO_KEYS_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"

#define CF_IMPORT_RSA_MAX_BITS	16384

/*
 * An RSA public key from CKA_MODULUS and CKA_PUBLIC_EXPONENT (big-endian
 * bytes, leading zeros allowed). The modulus must be 1024..16384 bits
 * and odd, the exponent odd and greater than 1, smaller than the modulus:
 * COFFER_E_ATTRIBUTE otherwise.
 */
int cf_key_import_rsa_public(const uint8_t *n, size_t n_len,
    const uint8_t *e, size_t e_len, struct cf_key **out);

/*
 * An EC or Edwards public key from CKA_EC_PARAMS (DER OID, or for Edwards
 * curves the PKCS#11 3.0 PrintableString "edwards25519"/"edwards448") and
 * CKA_EC_POINT: the DER OCTET STRING of the point (uncompressed for EC,
 * the raw key for Edwards), or the raw point as SoftHSMv2 also accepts.
 * The point must lie on the curve. The curves are those of
 * cf_key_generate_ec; others, and malformed values: COFFER_E_ATTRIBUTE.
 */
int cf_key_import_ec_public(const uint8_t *params, size_t params_len,
    const uint8_t *point, size_t point_len, struct cf_key **out);

/* What a token derives from an X.509 certificate (DER). */
struct cf_cert_info {
	uint8_t	*subject;	/* DER Name */
	size_t	 subject_len;
	uint8_t	*issuer;	/* DER Name */
	size_t	 issuer_len;
	uint8_t	*serial;	/* DER INTEGER */
	size_t	 serial_len;
	uint8_t	*spki;		/* SubjectPublicKeyInfo DER */
	size_t	 spki_len;
	uint8_t	 check[3];	/* first 3 bytes of SHA-1(cert), PKCS#11 3.0 */
};

/*
 * Parses one DER certificate (no trailing bytes; COFFER_E_ATTRIBUTE if it
 * does not parse). Free with cf_cert_info_clear, also after an error.
 */
int cf_cert_x509_info(const uint8_t *der, size_t len,
    struct cf_cert_info *ci);
void cf_cert_info_clear(struct cf_cert_info *ci);

#endif
