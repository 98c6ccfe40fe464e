/* SPDX-License-Identifier: Apache-2.0 */
/*
 * handlers_cluster.c: node information and the initialization ceremony
 * (CSR, initialize with the CA-signed certificate, activate the first CO).
 * The identity key is copied out of the state only for the duration of
 * one operation and freed from the secure heap.
 */
#include <p11-kit/pkcs11.h>	/* before coffer.pb-c.h: see p11ext.h */

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/coffer_err.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/util.h"
#include "crypto/entropy.h"
#include "crypto/identity.h"
#include "crypto/mech.h"
#include "crypto/password.h"
#include "hsm/handlers.h"
#include "hsm/node.h"
#include "hsm/objects.h"
#include "hsm/objects_local.h"
#include "hsm/state.h"

struct info_buf {
	Coffer__GetInfoResp r;
	char version[32];
	char cluster_id[64];
	char fingerprint[65];
	char raft_state[16];
	char error_detail[128];
	char selftest[128];
	char entropy[32];
	char drbg[16];
};

int
cf_h_get_info(struct cf_cmd_ctx *ctx)
{
	struct cf_node *node = ctx->node;
	struct cf_raftnode_status rs = {0};
	struct info_buf *b;
	int state;

	if ((b = cf_cmd_keep(ctx, calloc(1, sizeof(*b)))) == NULL)
		return COFFER_E_NOMEM;
	coffer__get_info_resp__init(&b->r);
	state = cf_node_state(node);
	b->r.state = (Coffer__NodeState)state;
	snprintf(b->version, sizeof(b->version), "%s", COFFER_VERSION_STR);
	b->r.version = b->version;
	b->r.node_id = node->cfg.node_id;
	if (node->state != NULL) {
		cf_state_rdlock(node->state);
		snprintf(b->cluster_id, sizeof(b->cluster_id), "%s",
		    cf_state_cluster_id(node->state));
		b->r.user_count = cf_state_user_count(node->state);
		b->r.token_objects = (uint32_t)cf_objstore_count(
		    cf_state_objects(node->state));
		cf_state_unlock(node->state);
	}
	b->r.cluster_id = b->cluster_id;
	snprintf(b->fingerprint, sizeof(b->fingerprint), "%s",
	    node->bootstrap_fingerprint);
	b->r.bootstrap_fingerprint = b->fingerprint;
	if (node->raft != NULL) {
		cf_raftnode_status(node->raft, &rs);
		b->r.applied_index = cf_raftnode_applied(node->raft);
	}
	snprintf(b->raft_state, sizeof(b->raft_state), "%s", rs.state);
	b->r.raft_state = b->raft_state;
	b->r.members = rs.members;
	b->r.connection_count = atomic_load(&node->connections);
	if (state == COFFER__NODE_STATE__NODE_STATE_ERROR)
		snprintf(b->error_detail, sizeof(b->error_detail), "%s",
		    node->error_detail);
	b->r.error_detail = b->error_detail;
	b->r.uptime_s = (cf_now_ms() - node->start_ms) / 1000;
	snprintf(b->selftest, sizeof(b->selftest), "%s",
	    node->selftest_status[0] != '\0' ? node->selftest_status :
	    "not run");
	b->r.selftest = b->selftest;
	b->r.selftest_count = node->selftest_count;
	snprintf(b->entropy, sizeof(b->entropy), "%s",
	    cf_entropy_health_name(cf_entropy_global_health()));
	b->r.entropy_health = b->entropy;
	{
		uint8_t probe;

		snprintf(b->drbg, sizeof(b->drbg), "%s",
		    cf_random_priv(&probe, 1) == 0 ? "ok" : "failed");
	}
	b->r.drbg_health = b->drbg;
	b->r.max_objects = node->cfg.max_objects != 0 ?
	    node->cfg.max_objects : CF_MAX_OBJECTS_DEFAULT;
	b->r.session_objects = (uint32_t)cf_hsm_local_objects(node);
	ctx->resp->body_case = COFFER__RESPONSE__BODY_GET_INFO;
	ctx->resp->get_info = &b->r;
	return 0;
}

int
cf_h_ping(struct cf_cmd_ctx *ctx)
{
	ctx->resp->body_case = COFFER__RESPONSE__BODY_PING;
	ctx->resp->ping = &cf_cmd_empty;
	return 0;
}

/* Copies the identity key (secure heap) and cluster id out of the state. */
static int
identity_of(struct cf_node *node, uint8_t **der, size_t *der_len,
    char *cluster_id, size_t idlen)
{
	char *cert = NULL;
	int rc;

	cf_state_rdlock(node->state);
	rc = cf_state_tls_material(node->state, der, der_len, &cert, NULL);
	snprintf(cluster_id, idlen, "%s", cf_state_cluster_id(node->state));
	cf_state_unlock(node->state);
	free(cert);
	return rc;
}

struct csr_buf {
	Coffer__ClusterCsrResp r;
	char cluster_id[64];
};

int
cf_h_cluster_csr(struct cf_cmd_ctx *ctx)
{
	struct csr_buf *b;
	uint8_t *der = NULL;
	size_t der_len = 0;
	char *csr = NULL;
	int rc;

	if ((b = cf_cmd_keep(ctx, calloc(1, sizeof(*b)))) == NULL)
		return COFFER_E_NOMEM;
	coffer__cluster_csr_resp__init(&b->r);
	if ((rc = identity_of(ctx->node, &der, &der_len, b->cluster_id,
	    sizeof(b->cluster_id))) != 0)
		goto out;
	if ((rc = cf_identity_csr(der, der_len, b->cluster_id, &csr)) != 0)
		goto out;
	if (cf_cmd_keep(ctx, csr) == NULL) {
		csr = NULL;
		rc = COFFER_E_NOMEM;
		goto out;
	}
	b->r.csr_pem = csr;
	b->r.cluster_id = b->cluster_id;
	ctx->resp->body_case = COFFER__RESPONSE__BODY_CLUSTER_CSR;
	ctx->resp->cluster_csr = &b->r;
	rc = 0;
 out:
	cf_free_secret(der, der_len);
	return rc;
}

int
cf_h_cluster_initialize(struct cf_cmd_ctx *ctx)
{
	const Coffer__ClusterInitializeReq *rq = ctx->req->cluster_initialize;
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntClusterInitialize b = COFFER__ENT_CLUSTER_INITIALIZE__INIT;
	uint8_t *der = NULL;
	size_t der_len = 0;
	char cluster_id[64];
	int rc;

	snprintf(ctx->target, sizeof(ctx->target), "cluster");
	if (rq->cert_pem == NULL || *rq->cert_pem == '\0' ||
	    rq->trust_anchor_pem == NULL || *rq->trust_anchor_pem == '\0') {
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "certificate and trust anchor are required");
		return COFFER_E_INVAL;
	}
	if ((rc = identity_of(ctx->node, &der, &der_len, cluster_id,
	    sizeof(cluster_id))) != 0)
		goto out;
	snprintf(ctx->target, sizeof(ctx->target), "%s", cluster_id);
	if ((rc = cf_identity_check_cert(der, der_len, rq->cert_pem,
	    rq->trust_anchor_pem, ctx->detail, sizeof(ctx->detail))) != 0)
		goto out;
	b.cert_pem = rq->cert_pem;
	b.trust_anchor_pem = rq->trust_anchor_pem;
	e.body_case = COFFER__LOG_ENTRY__BODY_CLUSTER_INITIALIZE;
	e.cluster_initialize = &b;
	rc = cf_cmd_propose(ctx, &e, NULL);
 out:
	cf_free_secret(der, der_len);
	if (rc == 0) {
		ctx->resp->body_case = COFFER__RESPONSE__BODY_CLUSTER_INITIALIZE;
		ctx->resp->cluster_initialize = &cf_cmd_empty;
	}
	return rc;
}

int
cf_h_cluster_activate(struct cf_cmd_ctx *ctx)
{
	const Coffer__ClusterActivateReq *rq = ctx->req->cluster_activate;
	const struct cf_node_config *cfg = &ctx->node->cfg;
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntClusterActivate b = COFFER__ENT_CLUSTER_ACTIVATE__INIT;
	Coffer__UserRecord rec = COFFER__USER_RECORD__INIT;
	Coffer__PasswordVerifier pv = COFFER__PASSWORD_VERIFIER__INIT;
	struct cf_pw_params params = { cfg->scrypt_n, cfg->scrypt_r,
	    cfg->scrypt_p };
	struct cf_pw_verifier v;
	int rc;

	if (!cf_cmd_valid_username(rq->co_username)) {
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "user names are 1-63 of A-Z a-z 0-9 . _ @ -");
		return COFFER_E_INVAL;
	}
	snprintf(ctx->target, sizeof(ctx->target), "%s", rq->co_username);
	if ((rc = cf_pw_policy((const char *)rq->new_password.data,
	    rq->new_password.len, cfg->pw_min_len, cfg->pw_max_len)) != 0) {
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "password does not meet policy (%u to %u characters)",
		    cfg->pw_min_len, cfg->pw_max_len);
		return rc;
	}
	if ((rc = cf_pw_make((const char *)rq->new_password.data,
	    rq->new_password.len, &params, &v)) != 0)
		return rc;
	pv.alg = (char *)"scrypt";
	pv.salt.data = v.salt;
	pv.salt.len = sizeof(v.salt);
	pv.n = v.params.n;
	pv.r = v.params.r;
	pv.p = v.params.p;
	pv.hash.data = v.hash;
	pv.hash.len = sizeof(v.hash);
	rec.username = rq->co_username;
	rec.role = COFFER__ROLE__ROLE_CO;
	rec.verifier = &pv;
	b.preco_username = ctx->user;
	b.co = &rec;
	e.body_case = COFFER__LOG_ENTRY__BODY_CLUSTER_ACTIVATE;
	e.cluster_activate = &b;
	rc = cf_cmd_propose(ctx, &e, NULL);
	cf_cleanse(&v, sizeof(v));
	if (rc != 0)
		return rc;
	/* The PRECO is gone: this session is now the new CO. */
	pthread_mutex_lock(&ctx->sess->mu);
	ctx->sess->logged_in = true;
	snprintf(ctx->sess->username, sizeof(ctx->sess->username), "%s",
	    rq->co_username);
	ctx->sess->role = COFFER__ROLE__ROLE_CO;
	pthread_mutex_unlock(&ctx->sess->mu);
	ctx->resp->body_case = COFFER__RESPONSE__BODY_CLUSTER_ACTIVATE;
	ctx->resp->cluster_activate = &cf_cmd_empty;
	return 0;
}
