/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech.c: the CLI's mechanism names (--mech) and their PKCS#11
 * mechanisms with default parameters.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli_obj.h"

#define SIG	MU_SIGN
#define CRY	MU_CRYPT
#define WRP	MU_WRAP
#define DIG	MU_DIGEST

const struct cli_mech_def cli_mech_defs[] = {
	/* RSA */
	{ "rsa-pkcs", CKM_RSA_PKCS, MP_NONE, 0, 0, 0,
	  SIG | CRY | WRP | MF_ONE },
	{ "rsa-pkcs-sha1", CKM_SHA1_RSA_PKCS, MP_NONE, 0, 0, 0, SIG },
	{ "rsa-pkcs-sha224", CKM_SHA224_RSA_PKCS, MP_NONE, 0, 0, 0, SIG },
	{ "rsa-pkcs-sha256", CKM_SHA256_RSA_PKCS, MP_NONE, 0, 0, 0, SIG },
	{ "rsa-pkcs-sha384", CKM_SHA384_RSA_PKCS, MP_NONE, 0, 0, 0, SIG },
	{ "rsa-pkcs-sha512", CKM_SHA512_RSA_PKCS, MP_NONE, 0, 0, 0, SIG },
	{ "rsa-pss", CKM_RSA_PKCS_PSS, MP_PSS, CKM_SHA256, CKG_MGF1_SHA256,
	  32, SIG | MF_ONE },
	{ "rsa-pss-sha1", CKM_SHA1_RSA_PKCS_PSS, MP_PSS, CKM_SHA_1,
	  CKG_MGF1_SHA1, 20, SIG },
	{ "rsa-pss-sha224", CKM_SHA224_RSA_PKCS_PSS, MP_PSS, CKM_SHA224,
	  CKG_MGF1_SHA224, 28, SIG },
	{ "rsa-pss-sha256", CKM_SHA256_RSA_PKCS_PSS, MP_PSS, CKM_SHA256,
	  CKG_MGF1_SHA256, 32, SIG },
	{ "rsa-pss-sha384", CKM_SHA384_RSA_PKCS_PSS, MP_PSS, CKM_SHA384,
	  CKG_MGF1_SHA384, 48, SIG },
	{ "rsa-pss-sha512", CKM_SHA512_RSA_PKCS_PSS, MP_PSS, CKM_SHA512,
	  CKG_MGF1_SHA512, 64, SIG },
	{ "rsa-x-509", CKM_RSA_X_509, MP_NONE, 0, 0, 0, SIG | CRY | MF_ONE },
	{ "rsa-oaep", CKM_RSA_PKCS_OAEP, MP_OAEP, CKM_SHA_1, CKG_MGF1_SHA1, 0,
	  CRY | WRP | MF_ONE },
	{ "rsa-oaep-sha1", CKM_RSA_PKCS_OAEP, MP_OAEP, CKM_SHA_1,
	  CKG_MGF1_SHA1, 0, CRY | WRP | MF_ONE },
	{ "rsa-oaep-sha224", CKM_RSA_PKCS_OAEP, MP_OAEP, CKM_SHA224,
	  CKG_MGF1_SHA224, 0, CRY | WRP | MF_ONE },
	{ "rsa-oaep-sha256", CKM_RSA_PKCS_OAEP, MP_OAEP, CKM_SHA256,
	  CKG_MGF1_SHA256, 0, CRY | WRP | MF_ONE },
	{ "rsa-oaep-sha384", CKM_RSA_PKCS_OAEP, MP_OAEP, CKM_SHA384,
	  CKG_MGF1_SHA384, 0, CRY | WRP | MF_ONE },
	{ "rsa-oaep-sha512", CKM_RSA_PKCS_OAEP, MP_OAEP, CKM_SHA512,
	  CKG_MGF1_SHA512, 0, CRY | WRP | MF_ONE },
	{ "rsa-aes-kw", CKM_RSA_AES_KEY_WRAP, MP_RSA_AES, CKM_SHA_1,
	  CKG_MGF1_SHA1, 0, WRP },
	{ "rsa-aes-kw-sha256", CKM_RSA_AES_KEY_WRAP, MP_RSA_AES, CKM_SHA256,
	  CKG_MGF1_SHA256, 0, WRP },
	{ "rsa-aes-kw-sha384", CKM_RSA_AES_KEY_WRAP, MP_RSA_AES, CKM_SHA384,
	  CKG_MGF1_SHA384, 0, WRP },
	{ "rsa-aes-kw-sha512", CKM_RSA_AES_KEY_WRAP, MP_RSA_AES, CKM_SHA512,
	  CKG_MGF1_SHA512, 0, WRP },
	/* EC, EdDSA */
	{ "ecdsa", CKM_ECDSA, MP_NONE, 0, 0, 0, SIG | MF_ECDSA | MF_ONE },
	{ "ecdsa-sha1", CKM_ECDSA_SHA1, MP_NONE, 0, 0, 0, SIG | MF_ECDSA },
	{ "ecdsa-sha224", CKM_ECDSA_SHA224, MP_NONE, 0, 0, 0,
	  SIG | MF_ECDSA },
	{ "ecdsa-sha256", CKM_ECDSA_SHA256, MP_NONE, 0, 0, 0,
	  SIG | MF_ECDSA },
	{ "ecdsa-sha384", CKM_ECDSA_SHA384, MP_NONE, 0, 0, 0,
	  SIG | MF_ECDSA },
	{ "ecdsa-sha512", CKM_ECDSA_SHA512, MP_NONE, 0, 0, 0,
	  SIG | MF_ECDSA },
	{ "eddsa", CKM_EDDSA, MP_NONE, 0, 0, 0, SIG },
	/* MACs */
	{ "hmac-sha1", CKM_SHA_1_HMAC, MP_NONE, 0, 0, 0,
	  SIG | MU_HMAC | MF_SECRET },
	{ "hmac-sha224", CKM_SHA224_HMAC, MP_NONE, 0, 0, 0,
	  SIG | MU_HMAC | MF_SECRET },
	{ "hmac-sha256", CKM_SHA256_HMAC, MP_NONE, 0, 0, 0,
	  SIG | MU_HMAC | MF_SECRET },
	{ "hmac-sha384", CKM_SHA384_HMAC, MP_NONE, 0, 0, 0,
	  SIG | MU_HMAC | MF_SECRET },
	{ "hmac-sha512", CKM_SHA512_HMAC, MP_NONE, 0, 0, 0,
	  SIG | MU_HMAC | MF_SECRET },
	{ "aes-cmac", CKM_AES_CMAC, MP_NONE, 0, 0, 0,
	  SIG | MU_HMAC | MF_SECRET },
	/* AES */
	{ "aes-ecb", CKM_AES_ECB, MP_NONE, 0, 0, 0, CRY | MF_SECRET },
	{ "aes-cbc", CKM_AES_CBC, MP_IV16, 0, 0, 0, CRY | MF_SECRET | MF_IV },
	{ "aes-cbc-pad", CKM_AES_CBC_PAD, MP_IV16, 0, 0, 0,
	  CRY | MF_SECRET | MF_IV },
	{ "aes-ctr", CKM_AES_CTR, MP_CTR, 0, 0, 0, CRY | MF_SECRET | MF_IV },
	{ "aes-gcm", CKM_AES_GCM, MP_GCM, 0, 0, 0,
	  CRY | WRP | MF_SECRET | MF_IV },
	{ "aes-kw", CKM_AES_KEY_WRAP, MP_NONE, 0, 0, 0, WRP | MF_SECRET },
	{ "aes-kwp", CKM_AES_KEY_WRAP_KWP, MP_NONE, 0, 0, 0,
	  WRP | MF_SECRET },
	/* digests */
	{ "sha1", CKM_SHA_1, MP_NONE, 0, 0, 0, DIG },
	{ "sha224", CKM_SHA224, MP_NONE, 0, 0, 0, DIG },
	{ "sha256", CKM_SHA256, MP_NONE, 0, 0, 0, DIG },
	{ "sha384", CKM_SHA384, MP_NONE, 0, 0, 0, DIG },
	{ "sha512", CKM_SHA512, MP_NONE, 0, 0, 0, DIG },
	{ "sha3-224", CKM_SHA3_224, MP_NONE, 0, 0, 0, DIG },
	{ "sha3-256", CKM_SHA3_256, MP_NONE, 0, 0, 0, DIG },
	{ "sha3-384", CKM_SHA3_384, MP_NONE, 0, 0, 0, DIG },
	{ "sha3-512", CKM_SHA3_512, MP_NONE, 0, 0, 0, DIG },
	{ NULL, 0, 0, 0, 0, 0, 0 },
};

const char *
cli_mech_list(unsigned use)
{
	static char buf[1024];
	const struct cli_mech_def *d;
	size_t off = 0;

	buf[0] = '\0';
	for (d = cli_mech_defs; d->name != NULL && off < sizeof(buf); d++) {
		if (!(d->flags & use))
			continue;
		/* rsa-oaep-sha1 is an alias of rsa-oaep */
		if (strcmp(d->name, "rsa-oaep-sha1") == 0)
			continue;
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s",
		    off ? ", " : "", d->name);
	}
	return buf;
}

int
cli_mech_parse(struct cli *c, const char *name, unsigned use,
    struct cli_mech *cm)
{
	const struct cli_mech_def *d;

	*cm = (struct cli_mech){ 0 };
	if (name == NULL)
		return cli_usage(c, "missing --mech MECH (one of: %s)",
		    cli_mech_list(use));
	for (d = cli_mech_defs; d->name != NULL; d++)
		if (strcasecmp(d->name, name) == 0 && (d->flags & use))
			break;
	if (d->name == NULL)
		return cli_usage(c, "unknown mechanism '%s' here (one of: %s)",
		    name, cli_mech_list(use));
	cm->def = d;
	cm->m.mechanism = d->type;
	switch (d->param) {
	case MP_IV16:
		cm->m.pParameter = cm->iv;
		cm->m.ulParameterLen = sizeof(cm->iv);
		break;
	case MP_GCM:
		cm->p.gcm.ulTagBits = 128;
		cm->m.pParameter = &cm->p.gcm;
		cm->m.ulParameterLen = sizeof(cm->p.gcm);
		break;
	case MP_CTR:
		cm->p.ctr.ulCounterBits = 128;
		cm->m.pParameter = &cm->p.ctr;
		cm->m.ulParameterLen = sizeof(cm->p.ctr);
		break;
	case MP_PSS:
		cm->p.pss.hashAlg = d->hash;
		cm->p.pss.mgf = d->mgf;
		cm->p.pss.sLen = d->hlen;
		cm->m.pParameter = &cm->p.pss;
		cm->m.ulParameterLen = sizeof(cm->p.pss);
		break;
	case MP_OAEP:
		cm->p.oaep.hashAlg = d->hash;
		cm->p.oaep.mgf = d->mgf;
		cm->p.oaep.source = CKZ_DATA_SPECIFIED;
		cm->m.pParameter = &cm->p.oaep;
		cm->m.ulParameterLen = sizeof(cm->p.oaep);
		break;
	case MP_RSA_AES:
		cm->oaep.hashAlg = d->hash;
		cm->oaep.mgf = d->mgf;
		cm->oaep.source = CKZ_DATA_SPECIFIED;
		cm->p.ra.ulAESKeyBits = 256;
		cm->p.ra.pOAEPParams = &cm->oaep;
		cm->m.pParameter = &cm->p.ra;
		cm->m.ulParameterLen = sizeof(cm->p.ra);
		break;
	default:
		break;
	}
	return 0;
}
