/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd.c: the command table and dispatch. Every Request opcode has exactly
 * one row; cf_cmd_dispatch checks, in order: the frame decodes, the opcode
 * is known, the node state allows it, the session is logged in (unless
 * PREAUTH), the role is allowed; then waits for read-your-writes, runs the
 * handler, audits and packs the response. Passwords in the decoded request
 * are cleansed before it is freed.
 */
#include <p11-kit/pkcs11.h>	/* before coffer.pb-c.h: see p11ext.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/coffer_err.h"
#include "common/log.h"
#include "common/secmem.h"
#include "hsm/audit.h"
#include "hsm/cmd.h"
#include "hsm/handlers.h"
#include "hsm/node.h"
#include "hsm/objects_local.h"
#include "hsm/state.h"

#define CF_S_UNKNOWN (1u << COFFER__NODE_STATE__NODE_STATE_UNKNOWN)
#define CF_S_LIVE (CF_S_UNINIT | CF_S_INIT | CF_S_ACTIVE)

Coffer__Empty cf_cmd_empty = COFFER__EMPTY__INIT;

/*
 * The authorization table.
 *
 * opcode               who                      states        flags
 * get_info, ping       anyone (PREAUTH)         any           -
 * cluster_csr          anyone (PREAUTH)         UNINIT        -
 * cluster_initialize   PRECO                    UNINIT        WRITE AUDIT
 * cluster_activate     PRECO                    INIT          WRITE AUDIT
 * login                anyone (PREAUTH)         UNINIT..ACTIVE AUDIT
 * logout               anyone (PREAUTH)         UNINIT..ACTIVE -
 * user_create/delete   CO                       ACTIVE        WRITE AUDIT
 * user_lock/unlock     CO                       ACTIVE        WRITE AUDIT
 * user_list            CO CU AU                 ACTIVE        -
 * user_password        CO (anyone) CU AU (self) ACTIVE        WRITE AUDIT
 * audit_export         CO AU                    ACTIVE        AUDIT
 * obj_generate_key(_pair), obj_create, obj_copy, obj_destroy, obj_share,
 * unwrap_key, derive_key
 *                      CU                       ACTIVE        WRITE AUDIT
 * obj_set_attrs        CU (owner), CO (CKA_TRUSTED only)
 *                                               ACTIVE        WRITE AUDIT
 * obj_get_attrs, obj_find, crypto_*, wrap_key
 *                      CU                       ACTIVE        - (wrap: AUDIT)
 * random, mech_list    anyone (PREAUTH)         ACTIVE        -
 *
 * random and mech_list need no login: PKCS#11 programs call
 * C_GetMechanismList/C_GetMechanismInfo and C_GenerateRandom in a public
 * session (SunPKCS11 at provider start, pkcs11-tool -M, p11tool
 * --list-mechanisms). Neither touches an object or a user's data.
 * Objects stay invisible until login, including CKA_PRIVATE=false ones:
 * every object has an owner, and a session without a user has none
 * (CloudHSM does the same).
 *
 * WRITE rows carry an idempotency key; they propose only for token objects
 * (session objects stay on this node). COs and AUs never see or use keys.
 *
 * ERROR and ZEROIZED nodes serve only get_info and ping.
 */
static const struct cf_cmd cmds[] = {
	{ COFFER__REQUEST__BODY_GET_INFO, "get_info", 0,
	    CF_S_ANY | CF_S_UNKNOWN, CF_CMD_PREAUTH, cf_h_get_info },
	{ COFFER__REQUEST__BODY_CLUSTER_CSR, "cluster_csr", 0,
	    CF_S_UNINIT, CF_CMD_PREAUTH, cf_h_cluster_csr },
	{ COFFER__REQUEST__BODY_CLUSTER_INITIALIZE, "cluster_initialize",
	    CF_R_PRECO, CF_S_UNINIT, CF_CMD_WRITE | CF_CMD_AUDIT,
	    cf_h_cluster_initialize },
	{ COFFER__REQUEST__BODY_CLUSTER_ACTIVATE, "cluster_activate",
	    CF_R_PRECO, CF_S_INIT, CF_CMD_WRITE | CF_CMD_AUDIT,
	    cf_h_cluster_activate },
	{ COFFER__REQUEST__BODY_LOGIN, "login", 0, CF_S_LIVE,
	    CF_CMD_PREAUTH | CF_CMD_AUDIT, cf_h_login },
	{ COFFER__REQUEST__BODY_LOGOUT, "logout", 0, CF_S_LIVE,
	    CF_CMD_PREAUTH, cf_h_logout },
	{ COFFER__REQUEST__BODY_USER_CREATE, "user_create", CF_R_CO,
	    CF_S_ACTIVE, CF_CMD_WRITE | CF_CMD_AUDIT, cf_h_user_create },
	{ COFFER__REQUEST__BODY_USER_DELETE, "user_delete", CF_R_CO,
	    CF_S_ACTIVE, CF_CMD_WRITE | CF_CMD_AUDIT, cf_h_user_delete },
	{ COFFER__REQUEST__BODY_USER_LIST, "user_list",
	    CF_R_CO | CF_R_CU | CF_R_AU, CF_S_ACTIVE, 0, cf_h_user_list },
	{ COFFER__REQUEST__BODY_USER_PASSWORD, "user_password",
	    CF_R_CO | CF_R_CU | CF_R_AU, CF_S_ACTIVE,
	    CF_CMD_WRITE | CF_CMD_AUDIT, cf_h_user_password },
	{ COFFER__REQUEST__BODY_USER_LOCK, "user_lock", CF_R_CO,
	    CF_S_ACTIVE, CF_CMD_WRITE | CF_CMD_AUDIT, cf_h_user_lock },
	{ COFFER__REQUEST__BODY_USER_UNLOCK, "user_unlock", CF_R_CO,
	    CF_S_ACTIVE, CF_CMD_WRITE | CF_CMD_AUDIT, cf_h_user_unlock },
	{ COFFER__REQUEST__BODY_AUDIT_EXPORT, "audit_export",
	    CF_R_CO | CF_R_AU, CF_S_ACTIVE, CF_CMD_AUDIT,
	    cf_h_audit_export },
	{ COFFER__REQUEST__BODY_PING, "ping", 0, CF_S_ANY | CF_S_UNKNOWN,
	    CF_CMD_PREAUTH, cf_h_ping },
	/* Objects and cryptography (issue 3). */
#define OBJW (CF_CMD_WRITE | CF_CMD_AUDIT)
	{ COFFER__REQUEST__BODY_OBJ_GENERATE_KEY, "obj_generate_key", CF_R_CU,
	    CF_S_ACTIVE, OBJW, cf_h_obj_generate_key },
	{ COFFER__REQUEST__BODY_OBJ_GENERATE_KEY_PAIR, "obj_generate_key_pair",
	    CF_R_CU, CF_S_ACTIVE, OBJW, cf_h_obj_generate_key_pair },
	{ COFFER__REQUEST__BODY_OBJ_CREATE, "obj_create", CF_R_CU,
	    CF_S_ACTIVE, OBJW, cf_h_obj_create },
	{ COFFER__REQUEST__BODY_OBJ_COPY, "obj_copy", CF_R_CU,
	    CF_S_ACTIVE, OBJW, cf_h_obj_copy },
	{ COFFER__REQUEST__BODY_OBJ_DESTROY, "obj_destroy", CF_R_CU,
	    CF_S_ACTIVE, OBJW, cf_h_obj_destroy },
	{ COFFER__REQUEST__BODY_OBJ_GET_ATTRS, "obj_get_attrs", CF_R_CU,
	    CF_S_ACTIVE, 0, cf_h_obj_get_attrs },
	{ COFFER__REQUEST__BODY_OBJ_SET_ATTRS, "obj_set_attrs",
	    CF_R_CU | CF_R_CO, CF_S_ACTIVE, OBJW, cf_h_obj_set_attrs },
	{ COFFER__REQUEST__BODY_OBJ_FIND, "obj_find", CF_R_CU,
	    CF_S_ACTIVE, 0, cf_h_obj_find },
	{ COFFER__REQUEST__BODY_OBJ_SHARE, "obj_share", CF_R_CU,
	    CF_S_ACTIVE, OBJW, cf_h_obj_share },
	{ COFFER__REQUEST__BODY_CRYPTO_INIT, "crypto_init", CF_R_CU,
	    CF_S_ACTIVE, 0, cf_h_crypto_init },
	{ COFFER__REQUEST__BODY_CRYPTO_UPDATE, "crypto_update", CF_R_CU,
	    CF_S_ACTIVE, 0, cf_h_crypto_update },
	{ COFFER__REQUEST__BODY_CRYPTO_FINAL, "crypto_final", CF_R_CU,
	    CF_S_ACTIVE, 0, cf_h_crypto_final },
	{ COFFER__REQUEST__BODY_CRYPTO_ONE_SHOT, "crypto_one_shot", CF_R_CU,
	    CF_S_ACTIVE, 0, cf_h_crypto_one_shot },
	{ COFFER__REQUEST__BODY_CRYPTO_CANCEL, "crypto_cancel", CF_R_CU,
	    CF_S_ACTIVE, 0, cf_h_crypto_cancel },
	{ COFFER__REQUEST__BODY_WRAP_KEY, "wrap_key", CF_R_CU,
	    CF_S_ACTIVE, CF_CMD_AUDIT, cf_h_wrap_key },
	{ COFFER__REQUEST__BODY_UNWRAP_KEY, "unwrap_key", CF_R_CU,
	    CF_S_ACTIVE, OBJW, cf_h_unwrap_key },
	{ COFFER__REQUEST__BODY_DERIVE_KEY, "derive_key", CF_R_CU,
	    CF_S_ACTIVE, OBJW, cf_h_derive_key },
	{ COFFER__REQUEST__BODY_RANDOM, "random", 0, CF_S_ACTIVE,
	    CF_CMD_PREAUTH, cf_h_random },
	{ COFFER__REQUEST__BODY_MECH_LIST, "mech_list", 0, CF_S_ACTIVE,
	    CF_CMD_PREAUTH, cf_h_mech_list },
#undef OBJW
};

const struct cf_cmd *
cf_cmd_table(size_t *n)
{
	*n = sizeof(cmds) / sizeof(cmds[0]);
	return cmds;
}

const struct cf_cmd *
cf_cmd_find(uint32_t opcode)
{
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (cmds[i].opcode == opcode)
			return &cmds[i];
	}
	return NULL;
}

int
cf_cmd_authorize(const struct cf_cmd *cmd, int node_state, bool logged_in,
    int role)
{
	if (cmd == NULL)
		return COFFER_E_UNSUPPORTED;
	if (node_state < 0 || node_state > COFFER__NODE_STATE__NODE_STATE_ERROR)
		return COFFER_E_STATE;
	if ((cmd->states & (1u << node_state)) == 0) {
		if (node_state == COFFER__NODE_STATE__NODE_STATE_ERROR)
			return COFFER_E_SELFTEST;
		if (node_state == COFFER__NODE_STATE__NODE_STATE_ZEROIZED)
			return COFFER_E_ZEROIZED;
		return COFFER_E_STATE;
	}
	if (cmd->flags & CF_CMD_PREAUTH)
		return 0;
	if (!logged_in)
		return COFFER_E_NOTLOGGEDIN;
	if (role <= COFFER__ROLE__ROLE_NONE || role > COFFER__ROLE__ROLE_AU ||
	    (cmd->roles & (1u << role)) == 0)
		return COFFER_E_ROLE;
	return 0;
}

void
cf_session_init(struct cf_session *s, uint64_t conn_id, const char *peer)
{
	*s = (struct cf_session){0};
	pthread_mutex_init(&s->mu, NULL);
	s->conn_id = conn_id;
	snprintf(s->peer, sizeof(s->peer), "%s", peer != NULL ? peer : "");
}

void
cf_session_destroy(struct cf_session *s)
{
	/* The last session of a client instance takes its session objects
	 * and operations with it (issue 3). */
	cf_hsm_session_release(s);
	pthread_mutex_destroy(&s->mu);
	cf_cleanse(s->username, sizeof(s->username));
}

bool
cf_cmd_valid_username(const char *s)
{
	size_t i, n;

	if (s == NULL)
		return false;
	n = strlen(s);
	if (n == 0 || n > CF_USERNAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '@' || c == '-'))
			return false;
	}
	return true;
}

void *
cf_cmd_keep(struct cf_cmd_ctx *ctx, void *p)
{
	size_t i;

	if (p == NULL)
		return NULL;
	for (i = 0; i < sizeof(ctx->scratch) / sizeof(ctx->scratch[0]); i++) {
		if (ctx->scratch[i] == NULL) {
			ctx->scratch[i] = p;
			return p;
		}
	}
	free(p);
	return NULL;
}

void *
cf_cmd_keep_secret(struct cf_cmd_ctx *ctx, void *p, size_t n)
{
	size_t i;

	if (p == NULL)
		return NULL;
	for (i = 0; i < sizeof(ctx->secret) / sizeof(ctx->secret[0]); i++) {
		if (ctx->secret[i] == NULL) {
			ctx->secret[i] = p;
			ctx->secret_len[i] = n;
			return p;
		}
	}
	cf_cleanse(p, n);
	free(p);
	return NULL;
}

int
cf_cmd_propose(struct cf_cmd_ctx *ctx, Coffer__LogEntry *e, uint64_t *value)
{
	const struct cf_cmd *cmd = cf_cmd_find(ctx->req->body_case);
	struct cf_apply_result res = {0};
	int rc;

	if (value != NULL)
		*value = 0;
	if (cmd != NULL && (cmd->flags & CF_CMD_WRITE))
		e->idem = ctx->req->idem;
	if ((rc = cf_node_propose(ctx->node, e, &res)) != 0)
		return rc;
	if (value != NULL)
		*value = res.value;
	return res.rc;
}

static const char *
role_name(int role)
{
	switch (role) {
	case COFFER__ROLE__ROLE_PRECO:
		return "PRECO";
	case COFFER__ROLE__ROLE_CO:
		return "CO";
	case COFFER__ROLE__ROLE_CU:
		return "CU";
	case COFFER__ROLE__ROLE_AU:
		return "AU";
	default:
		return "-";
	}
}

static void
wipe_bytes(ProtobufCBinaryData *b)
{
	if (b->data != NULL && b->len > 0)
		cf_cleanse(b->data, b->len);
}

/* Cleanses every password the request may carry, then frees it. */
static void
request_free(Coffer__Request *rq)
{
	if (rq == NULL)
		return;
	switch (rq->body_case) {
	case COFFER__REQUEST__BODY_LOGIN:
		wipe_bytes(&rq->login->password);
		break;
	case COFFER__REQUEST__BODY_CLUSTER_ACTIVATE:
		wipe_bytes(&rq->cluster_activate->new_password);
		break;
	case COFFER__REQUEST__BODY_USER_CREATE:
		wipe_bytes(&rq->user_create->password);
		break;
	case COFFER__REQUEST__BODY_USER_PASSWORD:
		wipe_bytes(&rq->user_password->new_password);
		break;
	/* Plaintext to encrypt, sign or digest. */
	case COFFER__REQUEST__BODY_CRYPTO_UPDATE:
		wipe_bytes(&rq->crypto_update->data);
		break;
	case COFFER__REQUEST__BODY_CRYPTO_ONE_SHOT:
		wipe_bytes(&rq->crypto_one_shot->data);
		break;
	default:
		break;
	}
	coffer__request__free_unpacked(rq, NULL);
}

/*
 * A logged-in session acts for a user that must still exist, with the same
 * role, unlocked. Otherwise the session is logged out here.
 */
static int
recheck_session(struct cf_cmd_ctx *ctx)
{
	bool locked = false;
	int rc, role = 0;

	cf_state_rdlock(ctx->node->state);
	rc = cf_state_user_status(ctx->node->state, ctx->user, &role, &locked);
	cf_state_unlock(ctx->node->state);
	if (rc == 0 && role != ctx->role)
		rc = COFFER_E_NOTLOGGEDIN;
	else if (rc == 0 && locked)
		rc = COFFER_E_LOCKED;
	else if (rc != 0)
		rc = COFFER_E_NOTLOGGEDIN;
	if (rc != 0) {
		pthread_mutex_lock(&ctx->sess->mu);
		if (strcmp(ctx->sess->username, ctx->user) == 0) {
			ctx->sess->logged_in = false;
			ctx->sess->role = COFFER__ROLE__ROLE_NONE;
			ctx->sess->username[0] = '\0';
		}
		pthread_mutex_unlock(&ctx->sess->mu);
	}
	return rc;
}

int
cf_cmd_dispatch(struct cf_node *node, struct cf_session *sess,
    const uint8_t *req, size_t len, uint8_t **out, size_t *out_len)
{
	Coffer__Request *rq = NULL;
	Coffer__Response resp = COFFER__RESPONSE__INIT;
	struct cf_cmd_ctx ctx = {0};
	const struct cf_cmd *cmd = NULL;
	bool logged_in;
	uint8_t *buf = NULL;
	size_t i, plen;
	int rc;

	*out = NULL;
	*out_len = 0;
	ctx.node = node;
	ctx.sess = sess;
	ctx.resp = &resp;
	if ((rq = coffer__request__unpack(NULL, len, req)) == NULL) {
		rc = COFFER_E_FORMAT;
		snprintf(ctx.detail, sizeof(ctx.detail),
		    "request does not decode");
		goto reply;
	}
	ctx.req = rq;
	resp.id = rq->id;
	pthread_mutex_lock(&sess->mu);
	logged_in = sess->logged_in;
	if (logged_in) {
		/* bounded copy; ctx.user starts zeroed */
		size_t ul = strnlen(sess->username, sizeof(ctx.user) - 1);

		memcpy(ctx.user, sess->username, ul);
		ctx.user[ul] = '\0';
	}
	ctx.role = logged_in ? sess->role : COFFER__ROLE__ROLE_NONE;
	pthread_mutex_unlock(&sess->mu);

	if ((cmd = cf_cmd_find(rq->body_case)) == NULL) {
		rc = COFFER_E_UNSUPPORTED;
		goto reply;
	}
	rc = cf_cmd_authorize(cmd, cf_node_state(node), logged_in, ctx.role);
	if (rc == 0 && !(cmd->flags & CF_CMD_PREAUTH))
		rc = recheck_session(&ctx);
	if (rc == 0 && (cmd->flags & CF_CMD_WRITE) &&
	    rq->idem.len != CF_IDEM_LEN) {
		rc = COFFER_E_INVAL;
		snprintf(ctx.detail, sizeof(ctx.detail),
		    "writes need a %d-byte idempotency key", CF_IDEM_LEN);
	}
	if (rc == 0 && rq->min_index > 0 && node->raft != NULL)
		rc = cf_raftnode_wait_applied(node->raft, rq->min_index,
		    node->cfg.request_timeout_ms);
	if (rc == 0)
		rc = cmd->fn(&ctx);
	if (rc != 0)
		resp.body_case = COFFER__RESPONSE__BODY__NOT_SET;
	if ((cmd->flags & CF_CMD_AUDIT) && node->audit != NULL) {
		if (cf_audit_log(node->audit, ctx.user, role_name(ctx.role),
		    cmd->name, ctx.target, rc, sess->peer) != 0)
			log_error("audit record for %s by %s not written",
			    cmd->name, ctx.user);
	}
 reply:
	resp.rc = rc;
	if (rc != 0 && ctx.detail[0] == '\0')
		snprintf(ctx.detail, sizeof(ctx.detail), "%s",
		    coffer_strerror(rc));
	resp.detail = ctx.detail;
	if (node != NULL && node->raft != NULL)
		resp.applied_index = cf_raftnode_applied(node->raft);
	plen = coffer__response__get_packed_size(&resp);
	if ((buf = malloc(plen > 0 ? plen : 1)) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	if (coffer__response__pack(&resp, buf) != plen) {
		free(buf);
		rc = COFFER_E_INTERNAL;
		goto out;
	}
	*out = buf;
	*out_len = plen;
	rc = 0;
 out:
	for (i = 0; i < sizeof(ctx.scratch) / sizeof(ctx.scratch[0]); i++)
		free(ctx.scratch[i]);
	for (i = 0; i < sizeof(ctx.secret) / sizeof(ctx.secret[0]); i++) {
		if (ctx.secret[i] != NULL)
			cf_cleanse(ctx.secret[i], ctx.secret_len[i]);
		free(ctx.secret[i]);
	}

	request_free(rq);
	return rc;
}
