/* SPDX-License-Identifier: Apache-2.0 */
/*
 * identity.h: the cluster identity key (ECDSA P-256) generated inside the
 * node, its bootstrap self-signed certificate, its CSR, and checks on the
 * certificate the customer's CA signed.
 */
#ifndef CF_IDENTITY_H
#define CF_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

/*
 * Generates a P-256 key; *der is PKCS#8 DER in the secure heap
 * (cf_free_secret(der, der_len)); *cert_pem is a self-signed bootstrap
 * certificate (CN = cluster_id, SAN DNS:cluster_id, 10 years), malloc'd.
 */
int cf_identity_generate(const char *cluster_id, uint8_t **der, size_t *der_len,
    char **cert_pem);
/* PEM CSR (CN = cluster_id, SAN DNS:cluster_id) signed by the key. */
int cf_identity_csr(const uint8_t *der, size_t der_len, const char *cluster_id,
    char **csr_pem);
/*
 * Checks that cert_pem is a certificate for the key in der and that it
 * chains to trust_anchor_pem (a CA certificate). Errors COFFER_E_FORMAT,
 * COFFER_E_INVAL (key mismatch), COFFER_E_AUTH (does not chain); detail
 * in err.
 */
int cf_identity_check_cert(const uint8_t *der, size_t der_len,
    const char *cert_pem, const char *trust_anchor_pem, char *err,
    size_t errlen);
/* sha256 hex of the DER of the first certificate in cert_pem. */
int cf_identity_fingerprint(const char *cert_pem, char out[65]);

#endif
