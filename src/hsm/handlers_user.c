/* SPDX-License-Identifier: Apache-2.0 */
/*
 * handlers_user.c: login/logout and user management. A login reserves its
 * password check (login_attempt; refused while failures + checks in
 * progress would reach the limit), checks, and commits the outcome before
 * replying: login_success resets the counter, login_failure counts one and
 * at the limit locks the user, or zeroizes the cluster for a CO under the
 * zeroize policy (the rule is in state.c). Passwords are
 * never copied out of the request (which dispatch cleanses), never logged
 * and never put in details.
 */
#include <p11-kit/pkcs11.h>	/* before coffer.pb-c.h: see p11ext.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coffer/coffer_err.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/util.h"
#include "crypto/password.h"
#include "hsm/handlers.h"
#include "hsm/node.h"
#include "hsm/objects_local.h"
#include "hsm/server.h"
#include "hsm/state.h"

#define DEFAULT_MAX_FAILURES 5
/* How long a login waits for a free password-check reservation. */
#define LOGIN_WAIT_MS 5000
#define LOGIN_POLL_US 2000

static void
pw_params(const struct cf_node_config *cfg, struct cf_pw_params *p)
{
	p->n = cfg->scrypt_n != 0 ? cfg->scrypt_n : 16384;
	p->r = cfg->scrypt_r != 0 ? cfg->scrypt_r : 8;
	p->p = cfg->scrypt_p != 0 ? cfg->scrypt_p : 1;
}

/* Policy check + verifier; details never include the password. */
static int
make_verifier(struct cf_cmd_ctx *ctx, const ProtobufCBinaryData *pw,
    struct cf_pw_verifier *v)
{
	const struct cf_node_config *cfg = &ctx->node->cfg;
	struct cf_pw_params params;
	int rc;

	if ((rc = cf_pw_policy((const char *)pw->data, pw->len,
	    cfg->pw_min_len, cfg->pw_max_len)) != 0) {
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "password does not meet policy (%u to %u characters)",
		    cfg->pw_min_len, cfg->pw_max_len);
		return rc;
	}
	pw_params(cfg, &params);
	return cf_pw_make((const char *)pw->data, pw->len, &params, v);
}

static void
verifier_pb(struct cf_pw_verifier *v, Coffer__PasswordVerifier *pv)
{
	coffer__password_verifier__init(pv);
	pv->alg = (char *)"scrypt";
	pv->salt.data = v->salt;
	pv->salt.len = sizeof(v->salt);
	pv->n = v->params.n;
	pv->r = v->params.r;
	pv->p = v->params.p;
	pv->hash.data = v->hash;
	pv->hash.len = sizeof(v->hash);
}

static int
check_name(struct cf_cmd_ctx *ctx, const char *name)
{
	snprintf(ctx->target, sizeof(ctx->target), "%s",
	    name != NULL ? name : "");
	if (!cf_cmd_valid_username(name)) {
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "user names are 1-63 of A-Z a-z 0-9 . _ @ -");
		return COFFER_E_INVAL;
	}
	return 0;
}

/* Spends the same KDF work as a real check, for names that do not exist. */
static void
dummy_check(struct cf_cmd_ctx *ctx, const ProtobufCBinaryData *pw)
{
	static const struct cf_pw_verifier zero = {{0}, {0}, {0}};
	struct cf_pw_verifier v = zero;

	pw_params(&ctx->node->cfg, &v.params);
	(void)cf_pw_check((const char *)pw->data, pw->len, &v);
}

static void
set_session(struct cf_session *s, const char *user, int role)
{
	pthread_mutex_lock(&s->mu);
	s->logged_in = role != COFFER__ROLE__ROLE_NONE;
	snprintf(s->username, sizeof(s->username), "%s", user);
	s->role = role;
	pthread_mutex_unlock(&s->mu);
}

struct login_buf {
	Coffer__LoginResp r;
	char username[CF_USERNAME_MAX + 1];
};

int
cf_h_login(struct cf_cmd_ctx *ctx)
{
	const Coffer__LoginReq *rq = ctx->req->login;
	const struct cf_node_config *cfg = &ctx->node->cfg;
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntLoginAttempt att = COFFER__ENT_LOGIN_ATTEMPT__INIT;
	Coffer__EntLoginSuccess ok = COFFER__ENT_LOGIN_SUCCESS__INIT;
	Coffer__EntLoginFailure fl = COFFER__ENT_LOGIN_FAILURE__INIT;
	struct cf_user_view v = {0};
	struct login_buf *b;
	uint64_t failures = 0, attempt_id = 0, deadline;
	unsigned limit;
	bool zeroize, room, waiting = false;
	int rc;

	/* The audit record names the attempted user, logged in or not. */
	snprintf(ctx->user, sizeof(ctx->user), "%s", rq->username);
	snprintf(ctx->target, sizeof(ctx->target), "%s", rq->username);
	ctx->role = COFFER__ROLE__ROLE_NONE;
	/* A new login replaces the session's identity, whatever happens. */
	set_session(ctx->sess, "", COFFER__ROLE__ROLE_NONE);
	rc = cf_cmd_valid_username(rq->username) ? 0 : COFFER_E_NOTFOUND;
	if (rc == 0) {
		cf_state_rdlock(ctx->node->state);
		rc = cf_state_user_get(ctx->node->state, rq->username, &v);
		cf_state_unlock(ctx->node->state);
	}
	if (rc != 0) {
		dummy_check(ctx, &rq->password);
		rc = COFFER_E_AUTH;
		goto out;
	}
	if (v.role == COFFER__ROLE__ROLE_CO ||
	    v.role == COFFER__ROLE__ROLE_PRECO)
		limit = cfg->co_max_failures;
	else
		limit = cfg->cu_max_failures;
	if (limit == 0)
		limit = DEFAULT_MAX_FAILURES;
	zeroize = v.role == COFFER__ROLE__ROLE_CO && cfg->co_zeroize;

	/* 1. Reserve the check. While failures + checks in progress would
	 * reach the limit, wait (on the local view: no log entries) for
	 * concurrent logins of the same user to finish. */
	if ((rc = cf_random(&attempt_id, sizeof(attempt_id))) != 0)
		goto out;
	attempt_id |= 1;	/* never 0, the first format */
	att.username = rq->username;
	att.max_failures = limit;
	att.zeroize_on_limit = zeroize;
	att.attempt_id = attempt_id;
	e.body_case = COFFER__LOG_ENTRY__BODY_LOGIN_ATTEMPT;
	e.login_attempt = &att;
	deadline = cf_now_ms() + LOGIN_WAIT_MS;
	for (;;) {
		cf_state_rdlock(ctx->node->state);
		room = cf_state_login_room(ctx->node->state, rq->username,
		    cf_time_s(), limit);
		cf_state_unlock(ctx->node->state);
		if (room) {
			if (waiting) {
				cf_server_slot_resume();
				waiting = false;
			}
			rc = cf_cmd_propose(ctx, &e, &failures);
			if (rc != COFFER_E_BUSY)
				break;
		}
		if (cf_now_ms() >= deadline) {
			if (waiting)
				cf_server_slot_resume();
			rc = COFFER_E_BUSY;
			snprintf(ctx->detail, sizeof(ctx->detail),
			    "too many logins of %s in progress", rq->username);
			goto out;
		}
		/* Waiting is not work: other requests may have the slot. */
		if (!waiting) {
			cf_server_slot_yield();
			waiting = true;
		}
		usleep(LOGIN_POLL_US);
	}
	if (rc != 0) {
		if (rc == COFFER_E_LOCKED)
			snprintf(ctx->detail, sizeof(ctx->detail),
			    "user %s is locked out", rq->username);
		goto out;
	}
	/* The verifier in force after the attempt was committed. */
	cf_cleanse(&v, sizeof(v));
	cf_state_rdlock(ctx->node->state);
	rc = cf_state_user_get(ctx->node->state, rq->username, &v);
	cf_state_unlock(ctx->node->state);
	if (rc != 0) {
		rc = COFFER_E_AUTH;
		goto out;
	}

	/* 2. Check the password; commit a wrong one before replying. */
	if (cf_pw_check((const char *)rq->password.data, rq->password.len,
	    &v.verifier) != 0) {
		e = (Coffer__LogEntry)COFFER__LOG_ENTRY__INIT;
		fl.username = rq->username;
		fl.attempt_id = attempt_id;
		fl.max_failures = limit;
		fl.zeroize_on_limit = zeroize;
		e.body_case = COFFER__LOG_ENTRY__BODY_LOGIN_FAILURE;
		e.login_failure = &fl;
		if ((rc = cf_cmd_propose(ctx, &e, &failures)) != 0)
			goto out;
		rc = COFFER_E_AUTH;
		if (failures >= limit)
			log_warn("user %s reached the failure limit: %s",
			    rq->username, zeroize ? "zeroized" : "locked");
		goto out;
	}

	/* 3. Success resets the counter. */
	e = (Coffer__LogEntry)COFFER__LOG_ENTRY__INIT;
	ok.username = rq->username;
	ok.attempt_id = attempt_id;
	e.body_case = COFFER__LOG_ENTRY__BODY_LOGIN_SUCCESS;
	e.login_success = &ok;
	if ((rc = cf_cmd_propose(ctx, &e, NULL)) != 0)
		goto out;
	if ((b = cf_cmd_keep(ctx, calloc(1, sizeof(*b)))) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	coffer__login_resp__init(&b->r);
	snprintf(b->username, sizeof(b->username), "%s", v.username);
	b->r.username = b->username;
	b->r.role = (Coffer__Role)v.role;
	/* Session objects and operations belong to the client instance. */
	if ((rc = cf_hsm_session_bind(ctx->node, ctx->sess,
	    rq->client_instance)) != 0)
		goto out;
	set_session(ctx->sess, v.username, v.role);
	ctx->role = v.role;
	ctx->resp->body_case = COFFER__RESPONSE__BODY_LOGIN;
	ctx->resp->login = &b->r;
	rc = 0;
 out:
	cf_cleanse(&v, sizeof(v));
	return rc;
}

int
cf_h_logout(struct cf_cmd_ctx *ctx)
{
	set_session(ctx->sess, "", COFFER__ROLE__ROLE_NONE);
	ctx->resp->body_case = COFFER__RESPONSE__BODY_LOGOUT;
	ctx->resp->logout = &cf_cmd_empty;
	return 0;
}

int
cf_h_user_create(struct cf_cmd_ctx *ctx)
{
	const Coffer__UserCreateReq *rq = ctx->req->user_create;
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntUserCreate b = COFFER__ENT_USER_CREATE__INIT;
	Coffer__UserRecord rec = COFFER__USER_RECORD__INIT;
	Coffer__PasswordVerifier pv;
	struct cf_pw_verifier v;
	int rc;

	if ((rc = check_name(ctx, rq->username)) != 0)
		return rc;
	if (rq->role != COFFER__ROLE__ROLE_CO &&
	    rq->role != COFFER__ROLE__ROLE_CU &&
	    rq->role != COFFER__ROLE__ROLE_AU) {
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "role must be CO, CU or AU");
		return COFFER_E_INVAL;
	}
	if ((rc = make_verifier(ctx, &rq->password, &v)) != 0)
		return rc;
	verifier_pb(&v, &pv);
	rec.username = rq->username;
	rec.role = rq->role;
	rec.verifier = &pv;
	b.user = &rec;
	e.body_case = COFFER__LOG_ENTRY__BODY_USER_CREATE;
	e.user_create = &b;
	rc = cf_cmd_propose(ctx, &e, NULL);
	cf_cleanse(&v, sizeof(v));
	if (rc == COFFER_E_EXISTS)
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "user %s already exists", rq->username);
	if (rc != 0)
		return rc;
	ctx->resp->body_case = COFFER__RESPONSE__BODY_USER_CREATE;
	ctx->resp->user_create = &cf_cmd_empty;
	return 0;
}

int
cf_h_user_delete(struct cf_cmd_ctx *ctx)
{
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntUserDelete b = COFFER__ENT_USER_DELETE__INIT;
	const char *name = ctx->req->user_delete->username;
	int rc;

	if ((rc = check_name(ctx, name)) != 0)
		return rc;
	b.username = (char *)name;
	e.body_case = COFFER__LOG_ENTRY__BODY_USER_DELETE;
	e.user_delete = &b;
	if ((rc = cf_cmd_propose(ctx, &e, NULL)) != 0) {
		if (rc == COFFER_E_POLICY)
			snprintf(ctx->detail, sizeof(ctx->detail),
			    "the last crypto officer cannot be deleted");
		return rc;
	}
	ctx->resp->body_case = COFFER__RESPONSE__BODY_USER_DELETE;
	ctx->resp->user_delete = &cf_cmd_empty;
	return 0;
}

static int
lock_unlock(struct cf_cmd_ctx *ctx, const char *name, bool lock)
{
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntUserLock l = COFFER__ENT_USER_LOCK__INIT;
	Coffer__EntUserUnlock u = COFFER__ENT_USER_UNLOCK__INIT;
	int rc;

	if ((rc = check_name(ctx, name)) != 0)
		return rc;
	if (lock) {
		l.username = (char *)name;
		e.body_case = COFFER__LOG_ENTRY__BODY_USER_LOCK;
		e.user_lock = &l;
	} else {
		u.username = (char *)name;
		e.body_case = COFFER__LOG_ENTRY__BODY_USER_UNLOCK;
		e.user_unlock = &u;
	}
	if ((rc = cf_cmd_propose(ctx, &e, NULL)) != 0)
		return rc;
	if (lock) {
		ctx->resp->body_case = COFFER__RESPONSE__BODY_USER_LOCK;
		ctx->resp->user_lock = &cf_cmd_empty;
	} else {
		ctx->resp->body_case = COFFER__RESPONSE__BODY_USER_UNLOCK;
		ctx->resp->user_unlock = &cf_cmd_empty;
	}
	return 0;
}

int
cf_h_user_lock(struct cf_cmd_ctx *ctx)
{
	return lock_unlock(ctx, ctx->req->user_lock->username, true);
}

int
cf_h_user_unlock(struct cf_cmd_ctx *ctx)
{
	return lock_unlock(ctx, ctx->req->user_unlock->username, false);
}

int
cf_h_user_password(struct cf_cmd_ctx *ctx)
{
	const Coffer__UserPasswordReq *rq = ctx->req->user_password;
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntUserPassword b = COFFER__ENT_USER_PASSWORD__INIT;
	Coffer__PasswordVerifier pv;
	struct cf_pw_verifier v;
	const char *name;
	int rc;

	name = rq->username != NULL && *rq->username != '\0' ?
	    rq->username : ctx->user;
	if ((rc = check_name(ctx, name)) != 0)
		return rc;
	/* Only a CO may change someone else's password. */
	if (strcmp(name, ctx->user) != 0 &&
	    ctx->role != COFFER__ROLE__ROLE_CO) {
		snprintf(ctx->detail, sizeof(ctx->detail),
		    "only a crypto officer may change another user's password");
		return COFFER_E_ROLE;
	}
	if ((rc = make_verifier(ctx, &rq->new_password, &v)) != 0)
		return rc;
	verifier_pb(&v, &pv);
	b.username = (char *)name;
	b.verifier = &pv;
	e.body_case = COFFER__LOG_ENTRY__BODY_USER_PASSWORD;
	e.user_password = &b;
	rc = cf_cmd_propose(ctx, &e, NULL);
	cf_cleanse(&v, sizeof(v));
	if (rc != 0)
		return rc;
	ctx->resp->body_case = COFFER__RESPONSE__BODY_USER_PASSWORD;
	ctx->resp->user_password = &cf_cmd_empty;
	return 0;
}

int
cf_h_user_list(struct cf_cmd_ctx *ctx)
{
	Coffer__UserListResp *r;
	Coffer__UserInfo *infos, **ptrs;
	struct cf_user_view *users = NULL;
	size_t i, n = 0;
	int rc;

	cf_state_rdlock(ctx->node->state);
	rc = cf_state_user_list(ctx->node->state, &users, &n);
	cf_state_unlock(ctx->node->state);
	if (rc != 0)
		return rc;
	if (cf_cmd_keep(ctx, users) == NULL ||
	    (r = cf_cmd_keep(ctx, calloc(1, sizeof(*r)))) == NULL ||
	    (infos = cf_cmd_keep(ctx, calloc(n + 1, sizeof(*infos)))) == NULL ||
	    (ptrs = cf_cmd_keep(ctx, calloc(n + 1, sizeof(*ptrs)))) == NULL)
		return COFFER_E_NOMEM;
	coffer__user_list_resp__init(r);
	for (i = 0; i < n; i++) {
		coffer__user_info__init(&infos[i]);
		infos[i].username = users[i].username;
		infos[i].role = (Coffer__Role)users[i].role;
		infos[i].locked = users[i].locked;
		/* Failure counts are for crypto officers. */
		infos[i].failures = ctx->role == COFFER__ROLE__ROLE_CO ?
		    users[i].failures : 0;
		infos[i].created = users[i].created;
		infos[i].password_changed = users[i].password_changed;
		ptrs[i] = &infos[i];
	}
	r->n_users = n;
	r->users = ptrs;
	ctx->resp->body_case = COFFER__RESPONSE__BODY_USER_LIST;
	ctx->resp->user_list = r;
	return 0;
}
