/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api.c: the operations of coffer.h on top of cf_client_call(): node
 * information, the cluster ceremony, users and the audit export, plus
 * coffer_fetch_fingerprint() (an unverified TLS probe for pinning).
 * Requests holding passwords are flagged secret so their packed form lives
 * in the secure heap and is wiped; writes carry an idempotency key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>

#include "client/client.h"
#include "common/secmem.h"
#include "common/util.h"

#define REQ(var, field, CASE, type, INIT)			\
	Coffer__Request var = COFFER__REQUEST__INIT;		\
	type field##_body = INIT;				\
	var.body_case = COFFER__REQUEST__BODY_##CASE;		\
	var.field = &field##_body

static void
free_resp(Coffer__Response *r)
{
	if (r != NULL)
		coffer__response__free_unpacked(r, &cf_resp_alloc);
}

/* --- names ---------------------------------------------------------------- */

const char *
coffer_state_name(int state)
{
	switch (state) {
	case COFFER_STATE_UNINITIALIZED:
		return "UNINITIALIZED";
	case COFFER_STATE_INITIALIZED:
		return "INITIALIZED";
	case COFFER_STATE_ACTIVE:
		return "ACTIVE";
	case COFFER_STATE_ZEROIZED:
		return "ZEROIZED";
	case COFFER_STATE_ERROR:
		return "ERROR";
	default:
		return "UNKNOWN";
	}
}

const char *
coffer_role_name(int role)
{
	switch (role) {
	case COFFER_ROLE_NONE:
		return "NONE";
	case COFFER_ROLE_PRECO:
		return "PRECO";
	case COFFER_ROLE_CO:
		return "CO";
	case COFFER_ROLE_CU:
		return "CU";
	case COFFER_ROLE_AU:
		return "AU";
	default:
		return "UNKNOWN";
	}
}

int
coffer_role_from_name(const char *name)
{
	static const struct {
		const char *name;
		int role;
	} names[] = {
		{ "none", COFFER_ROLE_NONE },
		{ "preco", COFFER_ROLE_PRECO },
		{ "pre-co", COFFER_ROLE_PRECO },
		{ "precrypto-officer", COFFER_ROLE_PRECO },
		{ "co", COFFER_ROLE_CO },
		{ "crypto-officer", COFFER_ROLE_CO },
		{ "crypto_officer", COFFER_ROLE_CO },
		{ "cu", COFFER_ROLE_CU },
		{ "crypto-user", COFFER_ROLE_CU },
		{ "crypto_user", COFFER_ROLE_CU },
		{ "au", COFFER_ROLE_AU },
		{ "appliance-user", COFFER_ROLE_AU },
		{ "appliance_user", COFFER_ROLE_AU },
	};
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i].name) == 0)
			return names[i].role;
	return -1;
}

/* --- information ---------------------------------------------------------- */

int
coffer_get_info(struct coffer_client *c, struct coffer_info *out)
{
	REQ(req, get_info, GET_INFO, Coffer__GetInfoReq,
	    COFFER__GET_INFO_REQ__INIT);
	Coffer__Response *resp = NULL;
	const Coffer__GetInfoResp *g;
	int rc;

	if (out != NULL)
		*out = (struct coffer_info){0};
	if (c == NULL || out == NULL)
		return COFFER_E_INVAL;
	if ((rc = cf_client_call(c, &req, 0, COFFER__RESPONSE__BODY_GET_INFO,
	    &resp, NULL, NULL)) != 0)
		return rc;
	if ((g = resp->get_info) == NULL) {
		free_resp(resp);
		return cf_client_fail(c, COFFER_E_PROTO, "empty get_info");
	}
	out->state = (int)g->state;
	cf_strlcpy(out->version, g->version, sizeof(out->version));
	out->node_id = g->node_id;
	cf_strlcpy(out->cluster_id, g->cluster_id, sizeof(out->cluster_id));
	cf_strlcpy(out->bootstrap_fingerprint, g->bootstrap_fingerprint,
	    sizeof(out->bootstrap_fingerprint));
	out->applied_index = g->applied_index;
	out->user_count = g->user_count;
	out->connection_count = g->connection_count;
	cf_strlcpy(out->raft_state, g->raft_state, sizeof(out->raft_state));
	out->members = g->members;
	out->uptime_s = g->uptime_s;
	cf_strlcpy(out->error_detail, g->error_detail,
	    sizeof(out->error_detail));
	cf_strlcpy(out->selftest, g->selftest, sizeof(out->selftest));
	out->selftest_count = g->selftest_count;
	cf_strlcpy(out->entropy_health, g->entropy_health,
	    sizeof(out->entropy_health));
	cf_strlcpy(out->drbg_health, g->drbg_health,
	    sizeof(out->drbg_health));
	out->token_objects = g->token_objects;
	out->max_objects = g->max_objects;
	out->session_objects = g->session_objects;
	free_resp(resp);
	return 0;
}

int
coffer_fetch_fingerprint(const char *host_port, unsigned timeout_ms,
    char *out, size_t outlen)
{
	SSL_CTX *ctx = NULL;
	struct cf_conn *conn = NULL;
	uint8_t fp[32];
	int rc;

	if (out != NULL && outlen > 0)
		out[0] = '\0';
	if (host_port == NULL || out == NULL || outlen < 65)
		return COFFER_E_INVAL;
	/* A node's unix socket carries no TLS, hence no certificate. */
	if (cf_is_unix_addr(host_port))
		return COFFER_E_UNSUPPORTED;
	if (timeout_ms == 0)
		timeout_ms = CF_CLI_DEFAULT_TIMEOUT_MS;
	cf_secmem_init_lib();
	if ((rc = cf_tls_ctx_new(NULL, &ctx, NULL, 0)) != 0)
		goto out;
	if ((rc = cf_conn_open(ctx, host_port, NULL, NULL, timeout_ms, &conn,
	    NULL, 0)) != 0)
		goto out;
	if ((rc = cf_conn_peer_sha256(conn, fp)) != 0)
		goto out;
	cf_hex(fp, sizeof(fp), out);
out:
	cf_conn_close(conn);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

/* --- cluster ceremony ----------------------------------------------------- */

int
coffer_cluster_csr(struct coffer_client *c, char **csr_pem, char *cluster_id,
    size_t cluster_id_len)
{
	REQ(req, cluster_csr, CLUSTER_CSR, Coffer__ClusterCsrReq,
	    COFFER__CLUSTER_CSR_REQ__INIT);
	Coffer__Response *resp = NULL;
	int rc;

	if (csr_pem != NULL)
		*csr_pem = NULL;
	if (cluster_id != NULL && cluster_id_len > 0)
		cluster_id[0] = '\0';
	if (c == NULL || csr_pem == NULL)
		return COFFER_E_INVAL;
	if ((rc = cf_client_call(c, &req, 0,
	    COFFER__RESPONSE__BODY_CLUSTER_CSR, &resp, NULL, NULL)) != 0)
		return rc;
	if (resp->cluster_csr == NULL || resp->cluster_csr->csr_pem == NULL ||
	    resp->cluster_csr->csr_pem[0] == '\0') {
		free_resp(resp);
		return cf_client_fail(c, COFFER_E_PROTO, "node sent no CSR");
	}
	if ((*csr_pem = strdup(resp->cluster_csr->csr_pem)) == NULL) {
		free_resp(resp);
		return cf_client_fail(c, COFFER_E_NOMEM, "out of memory");
	}
	cf_strlcpy(cluster_id, resp->cluster_csr->cluster_id, cluster_id_len);
	free_resp(resp);
	return 0;
}

int
coffer_cluster_initialize(struct coffer_client *c, const char *cert_pem,
    const char *trust_anchor_pem)
{
	REQ(req, cluster_initialize, CLUSTER_INITIALIZE,
	    Coffer__ClusterInitializeReq, COFFER__CLUSTER_INITIALIZE_REQ__INIT);
	Coffer__Response *resp = NULL;
	int rc;

	if (c == NULL || cert_pem == NULL || trust_anchor_pem == NULL)
		return COFFER_E_INVAL;
	cluster_initialize_body.cert_pem = (char *)cert_pem;
	cluster_initialize_body.trust_anchor_pem = (char *)trust_anchor_pem;
	rc = cf_client_call(c, &req, CF_CALL_WRITE,
	    COFFER__RESPONSE__BODY_CLUSTER_INITIALIZE, &resp, NULL, NULL);
	free_resp(resp);
	return rc;
}

int
coffer_cluster_activate(struct coffer_client *c, const char *co_username,
    const char *new_password)
{
	REQ(req, cluster_activate, CLUSTER_ACTIVATE,
	    Coffer__ClusterActivateReq, COFFER__CLUSTER_ACTIVATE_REQ__INIT);
	Coffer__Response *resp = NULL;
	int rc;

	if (c == NULL || co_username == NULL || new_password == NULL)
		return COFFER_E_INVAL;
	cluster_activate_body.co_username = (char *)co_username;
	cluster_activate_body.new_password.data = (uint8_t *)new_password;
	cluster_activate_body.new_password.len = strlen(new_password);
	rc = cf_client_call(c, &req, CF_CALL_WRITE | CF_CALL_SECRET,
	    COFFER__RESPONSE__BODY_CLUSTER_ACTIVATE, &resp, NULL, NULL);
	free_resp(resp);
	if (rc != 0)
		return rc;
	/* The PRECO user is now the CO: re-login pooled connections as it. */
	if ((rc = cf_client_replace_creds(c, NULL, co_username, new_password,
	    true)) != 0)
		return cf_client_fail(c, rc, "out of memory");
	return 0;
}

/* --- users ---------------------------------------------------------------- */

int
coffer_user_create(struct coffer_client *c, const char *username, int role,
    const char *password)
{
	REQ(req, user_create, USER_CREATE, Coffer__UserCreateReq,
	    COFFER__USER_CREATE_REQ__INIT);
	Coffer__Response *resp = NULL;
	int rc;

	if (c == NULL || username == NULL || password == NULL)
		return COFFER_E_INVAL;
	if (role < COFFER_ROLE_NONE || role > COFFER_ROLE_AU)
		return cf_client_fail(c, COFFER_E_INVAL, "invalid role %d",
		    role);
	user_create_body.username = (char *)username;
	user_create_body.role = (Coffer__Role)role;
	user_create_body.password.data = (uint8_t *)password;
	user_create_body.password.len = strlen(password);
	rc = cf_client_call(c, &req, CF_CALL_WRITE | CF_CALL_SECRET,
	    COFFER__RESPONSE__BODY_USER_CREATE, &resp, NULL, NULL);
	free_resp(resp);
	return rc;
}

int
coffer_user_delete(struct coffer_client *c, const char *username)
{
	REQ(req, user_delete, USER_DELETE, Coffer__UserDeleteReq,
	    COFFER__USER_DELETE_REQ__INIT);
	Coffer__Response *resp = NULL;
	int rc;

	if (c == NULL || username == NULL)
		return COFFER_E_INVAL;
	user_delete_body.username = (char *)username;
	rc = cf_client_call(c, &req, CF_CALL_WRITE,
	    COFFER__RESPONSE__BODY_USER_DELETE, &resp, NULL, NULL);
	free_resp(resp);
	return rc;
}

int
coffer_user_list(struct coffer_client *c, struct coffer_user **users,
    size_t *n)
{
	REQ(req, user_list, USER_LIST, Coffer__UserListReq,
	    COFFER__USER_LIST_REQ__INIT);
	Coffer__Response *resp = NULL;
	const Coffer__UserListResp *l;
	struct coffer_user *u = NULL;
	size_t i;
	int rc;

	if (users != NULL)
		*users = NULL;
	if (n != NULL)
		*n = 0;
	if (c == NULL || users == NULL || n == NULL)
		return COFFER_E_INVAL;
	if ((rc = cf_client_call(c, &req, 0, COFFER__RESPONSE__BODY_USER_LIST,
	    &resp, NULL, NULL)) != 0)
		return rc;
	l = resp->user_list;
	if (l != NULL && l->n_users > 0) {
		if ((u = calloc(l->n_users, sizeof(*u))) == NULL) {
			free_resp(resp);
			return cf_client_fail(c, COFFER_E_NOMEM,
			    "out of memory");
		}
		for (i = 0; i < l->n_users; i++) {
			const Coffer__UserInfo *ui = l->users[i];

			cf_strlcpy(u[i].username, ui->username,
			    sizeof(u[i].username));
			u[i].role = (int)ui->role;
			u[i].locked = ui->locked;
			u[i].failures = ui->failures;
			u[i].created = ui->created;
			u[i].password_changed = ui->password_changed;
		}
		*n = l->n_users;
	}
	*users = u;
	free_resp(resp);
	return 0;
}

int
coffer_user_change_password(struct coffer_client *c, const char *username,
    const char *new_password)
{
	REQ(req, user_password, USER_PASSWORD, Coffer__UserPasswordReq,
	    COFFER__USER_PASSWORD_REQ__INIT);
	Coffer__Response *resp = NULL;
	bool self = username == NULL || *username == '\0';
	int rc;

	if (c == NULL || new_password == NULL)
		return COFFER_E_INVAL;
	user_password_body.username = (char *)(self ? "" : username);
	user_password_body.new_password.data = (uint8_t *)new_password;
	user_password_body.new_password.len = strlen(new_password);
	rc = cf_client_call(c, &req, CF_CALL_WRITE | CF_CALL_SECRET,
	    COFFER__RESPONSE__BODY_USER_PASSWORD, &resp, NULL, NULL);
	free_resp(resp);
	if (rc != 0)
		return rc;
	/* Sessions survive; only re-logins need the new password. */
	if ((rc = cf_client_replace_creds(c, self ? NULL : username,
	    self ? NULL : username, new_password, false)) != 0)
		return cf_client_fail(c, rc, "out of memory");
	return 0;
}

static int
user_simple(struct coffer_client *c, const char *username, bool lock)
{
	Coffer__Request req = COFFER__REQUEST__INIT;
	Coffer__UserLockReq lk = COFFER__USER_LOCK_REQ__INIT;
	Coffer__UserUnlockReq ul = COFFER__USER_UNLOCK_REQ__INIT;
	Coffer__Response *resp = NULL;
	int rc;

	if (c == NULL || username == NULL)
		return COFFER_E_INVAL;
	if (lock) {
		lk.username = (char *)username;
		req.body_case = COFFER__REQUEST__BODY_USER_LOCK;
		req.user_lock = &lk;
	} else {
		ul.username = (char *)username;
		req.body_case = COFFER__REQUEST__BODY_USER_UNLOCK;
		req.user_unlock = &ul;
	}
	rc = cf_client_call(c, &req, CF_CALL_WRITE, lock ?
	    COFFER__RESPONSE__BODY_USER_LOCK :
	    COFFER__RESPONSE__BODY_USER_UNLOCK, &resp, NULL, NULL);
	free_resp(resp);
	return rc;
}

int
coffer_user_lock(struct coffer_client *c, const char *username)
{
	return user_simple(c, username, true);
}

int
coffer_user_unlock(struct coffer_client *c, const char *username)
{
	return user_simple(c, username, false);
}

/* --- audit ---------------------------------------------------------------- */

int
coffer_audit_export(struct coffer_client *c, uint64_t from_seq,
    coffer_audit_cb cb, void *arg, uint64_t *head_seq, char *head_hash)
{
	REQ(req, audit_export, AUDIT_EXPORT, Coffer__AuditExportReq,
	    COFFER__AUDIT_EXPORT_REQ__INIT);
	Coffer__Response *resp = NULL;
	const Coffer__AuditExportResp *a;
	uint64_t seq = from_seq == 0 ? 1 : from_seq;
	size_t i;
	bool more = true;
	int rc = 0;

	if (head_seq != NULL)
		*head_seq = 0;
	if (head_hash != NULL)
		head_hash[0] = '\0';
	if (c == NULL || cb == NULL)
		return COFFER_E_INVAL;
	while (more) {
		audit_export_body.from_seq = seq;
		audit_export_body.max_records = 0;
		if ((rc = cf_client_call(c, &req, 0,
		    COFFER__RESPONSE__BODY_AUDIT_EXPORT, &resp, NULL,
		    NULL)) != 0)
			return rc;
		if ((a = resp->audit_export) == NULL) {
			free_resp(resp);
			return cf_client_fail(c, COFFER_E_PROTO,
			    "empty audit export");
		}
		more = a->more;
		if (more && a->n_records == 0) {
			free_resp(resp);
			return cf_client_fail(c, COFFER_E_PROTO, "audit export "
			    "made no progress");
		}
		if (head_seq != NULL)
			*head_seq = a->head_seq;
		if (head_hash != NULL)
			cf_strlcpy(head_hash, a->head_hash, 65);
		for (i = 0; i < a->n_records; i++) {
			if ((rc = cb(arg, a->records[i])) != 0) {
				free_resp(resp);
				return rc;
			}
		}
		seq += a->n_records;
		free_resp(resp);
		resp = NULL;
	}
	return 0;
}
