/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech.c: the table of mechanisms the engine implements (the source of
 * C_GetMechanismList/Info and of docs/MECHANISMS.md). A mechanism absent
 * from the table is refused with COFFER_E_MECHANISM; 3DES is absent on
 * purpose.
 */
#include <stdio.h>

#include "coffer/coffer_err.h"
#include "mech.h"

#define NA CK_UNAVAILABLE_INFORMATION
#define ED (CF_MF_ENCRYPT | CF_MF_DECRYPT)
#define SV (CF_MF_SIGN | CF_MF_VERIFY)
#define WU (CF_MF_WRAP | CF_MF_UNWRAP)
#define M(m) m, #m

static const struct cf_mech_info mechs[] = {
	/* generation */
	{ M(CKM_RSA_PKCS_KEY_PAIR_GEN), CKK_RSA, 2048, 4096, CF_MF_GEN_PAIR },
	{ M(CKM_EC_KEY_PAIR_GEN), CKK_EC, 224, 521, CF_MF_GEN_PAIR },
	{ M(CKM_EC_EDWARDS_KEY_PAIR_GEN), CKK_EC_EDWARDS, 255, 448,
	    CF_MF_GEN_PAIR },
	{ M(CKM_AES_KEY_GEN), CKK_AES, 16, 32, CF_MF_GENERATE },
	{ M(CKM_GENERIC_SECRET_KEY_GEN), CKK_GENERIC_SECRET, 1, 800,
	    CF_MF_GENERATE },
	/* RSA */
	{ M(CKM_RSA_PKCS), CKK_RSA, 2048, 4096, ED | SV | WU | CF_MF_SINGLE },
	{ M(CKM_RSA_PKCS_OAEP), CKK_RSA, 2048, 4096, ED | WU | CF_MF_SINGLE },
	{ M(CKM_RSA_X_509), CKK_RSA, 2048, 4096, ED | SV | CF_MF_SINGLE },
	{ M(CKM_RSA_PKCS_PSS), CKK_RSA, 2048, 4096, SV | CF_MF_SINGLE },
	{ M(CKM_SHA1_RSA_PKCS), CKK_RSA, 2048, 4096, SV },
	{ M(CKM_SHA224_RSA_PKCS), CKK_RSA, 2048, 4096, SV },
	{ M(CKM_SHA256_RSA_PKCS), CKK_RSA, 2048, 4096, SV },
	{ M(CKM_SHA384_RSA_PKCS), CKK_RSA, 2048, 4096, SV },
	{ M(CKM_SHA512_RSA_PKCS), CKK_RSA, 2048, 4096, SV },
	{ M(CKM_SHA1_RSA_PKCS_PSS), CKK_RSA, 2048, 4096, SV },
	{ M(CKM_SHA224_RSA_PKCS_PSS), CKK_RSA, 2048, 4096, SV },
	{ M(CKM_SHA256_RSA_PKCS_PSS), CKK_RSA, 2048, 4096, SV },
	{ M(CKM_SHA384_RSA_PKCS_PSS), CKK_RSA, 2048, 4096, SV },
	{ M(CKM_SHA512_RSA_PKCS_PSS), CKK_RSA, 2048, 4096, SV },
	{ M(CKM_RSA_AES_KEY_WRAP), CKK_RSA, 2048, 4096, WU },
	/* EC */
	{ M(CKM_ECDSA), CKK_EC, 224, 521, SV | CF_MF_SINGLE },
	{ M(CKM_ECDSA_SHA1), CKK_EC, 224, 521, SV },
	{ M(CKM_ECDSA_SHA224), CKK_EC, 224, 521, SV },
	{ M(CKM_ECDSA_SHA256), CKK_EC, 224, 521, SV },
	{ M(CKM_ECDSA_SHA384), CKK_EC, 224, 521, SV },
	{ M(CKM_ECDSA_SHA512), CKK_EC, 224, 521, SV },
	{ M(CKM_ECDH1_DERIVE), CKK_EC, 224, 521, CF_MF_DERIVE },
	{ M(CKM_EDDSA), CKK_EC_EDWARDS, 255, 448, SV | CF_MF_SINGLE },
	/* MACs (generic secret sizes in bytes) */
	{ M(CKM_SHA_1_HMAC), CKK_GENERIC_SECRET, 1, 800, SV },
	{ M(CKM_SHA_1_HMAC_GENERAL), CKK_GENERIC_SECRET, 1, 800, SV },
	{ M(CKM_SHA224_HMAC), CKK_GENERIC_SECRET, 1, 800, SV },
	{ M(CKM_SHA224_HMAC_GENERAL), CKK_GENERIC_SECRET, 1, 800, SV },
	{ M(CKM_SHA256_HMAC), CKK_GENERIC_SECRET, 1, 800, SV },
	{ M(CKM_SHA256_HMAC_GENERAL), CKK_GENERIC_SECRET, 1, 800, SV },
	{ M(CKM_SHA384_HMAC), CKK_GENERIC_SECRET, 1, 800, SV },
	{ M(CKM_SHA384_HMAC_GENERAL), CKK_GENERIC_SECRET, 1, 800, SV },
	{ M(CKM_SHA512_HMAC), CKK_GENERIC_SECRET, 1, 800, SV },
	{ M(CKM_SHA512_HMAC_GENERAL), CKK_GENERIC_SECRET, 1, 800, SV },
	{ M(CKM_AES_CMAC), CKK_AES, 16, 32, SV },
	{ M(CKM_AES_CMAC_GENERAL), CKK_AES, 16, 32, SV },
	/* AES */
	{ M(CKM_AES_ECB), CKK_AES, 16, 32, ED },
	{ M(CKM_AES_CBC), CKK_AES, 16, 32, ED },
	{ M(CKM_AES_CBC_PAD), CKK_AES, 16, 32, ED },
	{ M(CKM_AES_CTR), CKK_AES, 16, 32, ED },
	{ M(CKM_AES_GCM), CKK_AES, 16, 32, ED | WU },
	{ M(CKM_AES_KEY_WRAP), CKK_AES, 16, 32, WU },
	{ M(CKM_AES_KEY_WRAP_PAD), CKK_AES, 16, 32, WU },
	{ M(CKM_AES_KEY_WRAP_KWP), CKK_AES, 16, 32, WU },
	/* KDF */
	{ M(CKM_SP800_108_COUNTER_KDF), NA, 1, 800, CF_MF_DERIVE },
	/* digests */
	{ M(CKM_SHA_1), NA, 0, 0, CF_MF_DIGEST },
	{ M(CKM_SHA224), NA, 0, 0, CF_MF_DIGEST },
	{ M(CKM_SHA256), NA, 0, 0, CF_MF_DIGEST },
	{ M(CKM_SHA384), NA, 0, 0, CF_MF_DIGEST },
	{ M(CKM_SHA512), NA, 0, 0, CF_MF_DIGEST },
	{ M(CKM_SHA3_224), NA, 0, 0, CF_MF_DIGEST },
	{ M(CKM_SHA3_256), NA, 0, 0, CF_MF_DIGEST },
	{ M(CKM_SHA3_384), NA, 0, 0, CF_MF_DIGEST },
	{ M(CKM_SHA3_512), NA, 0, 0, CF_MF_DIGEST },
};
#define NMECHS (sizeof(mechs) / sizeof(mechs[0]))

const struct cf_mech_info *
cf_mech_info(CK_MECHANISM_TYPE mech)
{
	size_t i;

	for (i = 0; i < NMECHS; i++)
		if (mechs[i].mech == mech)
			return &mechs[i];
	return NULL;
}

const struct cf_mech_info *
cf_mech_list(size_t *n)
{
	*n = NMECHS;
	return mechs;
}

const char *
cf_mech_name(CK_MECHANISM_TYPE mech)
{
	static char buf[32];
	const struct cf_mech_info *mi;

	if ((mi = cf_mech_info(mech)) != NULL)
		return mi->name;
	snprintf(buf, sizeof(buf), "CKM_0x%08lx", (unsigned long)mech);
	return buf;
}
