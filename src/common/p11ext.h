/* SPDX-License-Identifier: Apache-2.0 */
/*
 * p11ext.h: PKCS#11 3.0 definitions that p11-kit 0.24's pkcs11.h lacks,
 * shared by libcoffer (src/client), the node and the crypto engine
 * (src/crypto/mech.h includes it). Each group is guarded by #ifndef so a
 * newer pkcs11.h that has them wins.
 *
 * Wire form of the structured SP 800-108 data parameters (proto
 * Sp800108Params.data[].value), following the Attribute convention
 * (CK_ULONG = 8 bytes big-endian, CK_BBOOL = 1 byte), fields in
 * structure order:
 *   CK_SP800_108_ITERATION_VARIABLE, CK_SP800_108_OPTIONAL_COUNTER:
 *     CK_SP800_108_COUNTER_FORMAT = bLittleEndian(1) || ulWidthInBits(8)
 *     (9 bytes), or empty when the caller passed no format (pValue NULL)
 *   CK_SP800_108_DKM_LENGTH: CK_SP800_108_DKM_LENGTH_FORMAT =
 *     dkmLengthMethod(8) || bLittleEndian(1) || ulWidthInBits(8) (17 bytes)
 *   CK_SP800_108_BYTE_ARRAY: the bytes.
 * CKA_ALLOWED_MECHANISMS (an array of CK_MECHANISM_TYPE) travels as the
 * concatenation of 8-byte big-endian values.
 *
 * Note: p11-kit's compatibility macros rename lowercase identifiers such as
 * value, count, params, iv_bits, tag_bits, hash_alg, shared_data; include
 * pkcs11.h (this header) before coffer.pb-c.h so protobuf-c's field names
 * are renamed consistently in the translation unit.
 */
#ifndef CF_P11EXT_H
#define CF_P11EXT_H

#include <p11-kit/pkcs11.h>

#define CF_P11EXT_COUNTER_FORMAT_WIRE	9
#define CF_P11EXT_DKM_FORMAT_WIRE	17
/* Most SP 800-108 data parameters in one derive (client and node agree) */
#define CF_P11EXT_KDF_MAX_PARAMS	16

#ifndef CKM_AES_KEY_WRAP_KWP
#define CKM_AES_KEY_WRAP_KWP		(0x210bUL)
#endif
#ifndef CKM_SHA3_256
#define CKM_SHA3_256			(0x2b0UL)
#define CKM_SHA3_224			(0x2b5UL)
#define CKM_SHA3_384			(0x2c0UL)
#define CKM_SHA3_512			(0x2d0UL)
#endif
#ifndef CKM_SHA3_256_RSA_PKCS_PSS
#define CKM_SHA3_256_RSA_PKCS_PSS	(0x67UL)
#define CKM_SHA3_384_RSA_PKCS_PSS	(0x68UL)
#define CKM_SHA3_512_RSA_PKCS_PSS	(0x69UL)
#define CKM_SHA3_224_RSA_PKCS_PSS	(0x6bUL)
#endif
#ifndef CKM_SHA3_256_HMAC_GENERAL
#define CKM_SHA3_256_HMAC_GENERAL	(0x2b2UL)
#define CKM_SHA3_224_HMAC_GENERAL	(0x2b7UL)
#define CKM_SHA3_384_HMAC_GENERAL	(0x2c2UL)
#define CKM_SHA3_512_HMAC_GENERAL	(0x2d2UL)
#endif
#ifndef CKM_SP800_108_COUNTER_KDF
#define CKM_SP800_108_COUNTER_KDF	(0x3acUL)
#define CK_SP800_108_ITERATION_VARIABLE	(0x1UL)
#define CK_SP800_108_OPTIONAL_COUNTER	(0x2UL)
#define CK_SP800_108_DKM_LENGTH		(0x3UL)
#define CK_SP800_108_BYTE_ARRAY		(0x4UL)
#define CK_SP800_108_DKM_LENGTH_SUM_OF_KEYS	(0x1UL)
#define CK_SP800_108_DKM_LENGTH_SUM_OF_SEGMENTS	(0x2UL)
typedef struct CK_PRF_DATA_PARAM {
	CK_ULONG	 type;		/* CK_SP800_108_* */
	void		*pValue;
	CK_ULONG	 ulValueLen;
} CK_PRF_DATA_PARAM;
typedef struct CK_SP800_108_COUNTER_FORMAT {
	CK_BBOOL	 bLittleEndian;
	CK_ULONG	 ulWidthInBits;
} CK_SP800_108_COUNTER_FORMAT;
typedef struct CK_SP800_108_DKM_LENGTH_FORMAT {
	CK_ULONG	 dkmLengthMethod;
	CK_BBOOL	 bLittleEndian;
	CK_ULONG	 ulWidthInBits;
} CK_SP800_108_DKM_LENGTH_FORMAT;
typedef struct CK_DERIVED_KEY {
	CK_ATTRIBUTE		*pTemplate;
	CK_ULONG		 ulAttributeCount;
	CK_OBJECT_HANDLE	*phKey;
} CK_DERIVED_KEY;
typedef struct CK_SP800_108_KDF_PARAMS {
	CK_MECHANISM_TYPE	 prfType;
	CK_ULONG		 ulNumberOfDataParams;
	CK_PRF_DATA_PARAM	*pDataParams;
	CK_ULONG		 ulAdditionalDerivedKeys;	/* must be 0 */
	CK_DERIVED_KEY		*pAdditionalDerivedKeys;
} CK_SP800_108_KDF_PARAMS;
#endif
#ifndef CKD_SHA3_224_KDF
#define CKD_SHA3_224_KDF		(0x0aUL)
#endif

/* PKCS#11 2.40 §2.1.21 (src/crypto calls it cf_rsa_aes_key_wrap_params) */
typedef struct CK_RSA_AES_KEY_WRAP_PARAMS {
	CK_ULONG		 ulAESKeyBits;	/* 128, 192 or 256 */
	CK_RSA_PKCS_OAEP_PARAMS	*pOAEPParams;
} CK_RSA_AES_KEY_WRAP_PARAMS;

/* PKCS#11 3.0 §2.3.6. */
typedef struct CK_EDDSA_PARAMS {
	CK_BBOOL	 phFlag;
	CK_ULONG	 ulContextDataLen;
	CK_BYTE		*pContextData;
} CK_EDDSA_PARAMS;

/* CK_MAC_GENERAL_PARAMS: the MAC length in bytes (*_GENERAL MACs). */
typedef CK_ULONG CK_MAC_GENERAL_PARAMS;

#endif
