/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objwire.h: conversion between libcoffer's native PKCS#11 structures
 * (CK_ATTRIBUTE templates, CK_MECHANISM parameter blocks) and the wire
 * messages of proto/coffer.proto (src/client only).
 *
 * Include this before client.h: p11-kit's compatibility macros rename
 * lowercase identifiers (value, params, iv_bits, ...) and protobuf-c's
 * generated structures must be seen after them (see common/p11ext.h).
 */
#ifndef CF_CLIENT_OBJWIRE_H
#define CF_CLIENT_OBJWIRE_H

#include <stddef.h>
#include <stdint.h>

#include <coffer/coffer_objects.h>
#include "common/p11ext.h"
#include "coffer.pb-c.h"

/* Most data parameters accepted in one SP 800-108 parameter block. */
#define CF_KBKDF_MAX_PARAMS CF_P11EXT_KDF_MAX_PARAMS
/* Most attributes in one template. */
#define CF_TMPL_MAX 256

/* A template in wire form; values are copies (wiped on clear). */
struct cf_tmpl_wire {
	Coffer__Attribute *attrs;	/* n entries */
	Coffer__Attribute **ptrs;	/* n pointers, for the repeated field */
	size_t n;
};

/*
 * Converts a native template: CK_ULONG-kind values must have ulValueLen
 * == sizeof(CK_ULONG), CK_BBOOL ones sizeof(CK_BBOOL), allowed-mechanism
 * arrays a multiple of sizeof(CK_ULONG); pValue may be NULL only when
 * ulValueLen is 0; attribute arrays (CKF_ARRAY_ATTRIBUTE, other than
 * CKA_ALLOWED_MECHANISMS) cannot be sent. Unknown types pass through as
 * bytes (the node rejects them). Errors: COFFER_E_ATTRIBUTE,
 * COFFER_E_INVAL (tmpl NULL with n > 0, n too large), COFFER_E_NOMEM.
 */
int cf_tmpl_to_wire(const CK_ATTRIBUTE *tmpl, size_t n,
    struct cf_tmpl_wire *out);
void cf_tmpl_wire_clear(struct cf_tmpl_wire *);

/*
 * Fills tmpl from the node's answer to ObjGetAttrsReq{types of tmpl}, with
 * C_GetAttributeValue semantics (see coffer_objects.h). Every attribute is
 * processed; returns 0, or the first of COFFER_E_ATTR_SENSITIVE,
 * COFFER_E_ATTRIBUTE, COFFER_E_BUFFER_TOO_SMALL that applies; or
 * COFFER_E_PROTO when the answer does not match the request (count,
 * order of types, value encoding), in which case tmpl may be partly
 * written.
 */
int cf_attrs_from_wire(const Coffer__ObjGetAttrsResp *resp,
    CK_ATTRIBUTE *tmpl, size_t n);

/* A mechanism in wire form; points into the caller's parameters. */
struct cf_mech_wire {
	Coffer__Mechanism m;
	Coffer__PssParams pss;
	Coffer__OaepParams oaep;
	Coffer__GcmParams gcm;
	Coffer__CtrParams ctr;
	Coffer__Ecdh1Params ecdh1;
	Coffer__Sp800108Params kbkdf;
	Coffer__PrfDataParam prf[CF_KBKDF_MAX_PARAMS];
	Coffer__PrfDataParam *prfp[CF_KBKDF_MAX_PARAMS];
	uint8_t prfbuf[CF_KBKDF_MAX_PARAMS][CF_P11EXT_DKM_FORMAT_WIRE];
	Coffer__RsaAesWrapParams rsa_aes;
	Coffer__EddsaParams eddsa;
};

/*
 * Converts mech; the result borrows mech's parameter buffers, which must
 * outlive its use. Errors: COFFER_E_INVAL (mech NULL), COFFER_E_MECH_PARAM
 * (ulParameterLen not the size of the mechanism's structure, required
 * pointer NULL, a length with a NULL pointer, parameters given to a
 * mechanism that takes none, unsupported SP 800-108 options).
 */
int cf_mech_to_wire(const CK_MECHANISM *mech, struct cf_mech_wire *out);

#endif
