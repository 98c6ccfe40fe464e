/* SPDX-License-Identifier: Apache-2.0 */
/*
 * p11attr.h: how each PKCS#11 attribute's value is encoded, shared by
 * libcoffer (native CK_ATTRIBUTE <-> wire) and the node (validation).
 * Wire form (proto/coffer.proto Attribute.value): CK_ULONG kinds are
 * 8-byte big-endian, CK_BBOOL 1 byte (0 or 1), dates 8 ASCII digits,
 * everything else the bytes as given.
 */
#ifndef CF_P11ATTR_H
#define CF_P11ATTR_H

#include <stddef.h>
#include <stdint.h>

enum cf_attr_kind {
	CF_AK_UNKNOWN = 0,	/* not an attribute Coffer knows */
	CF_AK_ULONG,		/* CK_ULONG (class, key type, lengths, ...) */
	CF_AK_BOOL,		/* CK_BBOOL */
	CF_AK_BYTES,		/* byte array (id, value, modulus, ...) */
	CF_AK_STRING,		/* UTF-8 (label, owner, shared) */
	CF_AK_DATE,		/* CK_DATE */
	CF_AK_MECHS,		/* CK_MECHANISM_TYPE array (allowed mechanisms) */
};

/* Kind of attribute type (CKA_*). */
int cf_attr_kind(uint64_t type);
/* "CKA_LABEL", or NULL if unknown. */
const char *cf_attr_name(uint64_t type);

/* Wire <-> integers for CF_AK_ULONG: COFFER_E_ATTRIBUTE on wrong size. */
int cf_attr_get_ulong(const uint8_t *v, size_t n, uint64_t *out);
void cf_attr_put_ulong(uint64_t v, uint8_t out[8]);
int cf_attr_get_bool(const uint8_t *v, size_t n, int *out);

#endif
