/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_fsm_util.h: helpers for the FSM unit tests: build LogEntries with
 * protobuf-c, pack them and feed them to cf_state_apply.
 */
#ifndef TEST_FSM_UTIL_H
#define TEST_FSM_UTIL_H

#pragma GCC diagnostic ignored "-Wunused-function"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/coffer_err.h"
#include "coffer.pb-c.h"
#include "common/secmem.h"
#include "hsm/state.h"

#define cf_free_secret_test(p, n) cf_free_secret((p), (n))

struct hookrec {
	int zeroized;
	int tls_changed;
	char reason[128];
};

static void
hk_zeroized(void *ctx, const char *reason)
{
	struct hookrec *h = ctx;

	h->zeroized++;
	snprintf(h->reason, sizeof(h->reason), "%s", reason);
}

static void
hk_tls(void *ctx)
{
	((struct hookrec *)ctx)->tls_changed++;
}

static struct cf_state *
new_state(struct hookrec *h)
{
	struct cf_state_hooks hooks = { h, hk_zeroized, hk_tls };
	struct cf_state *st = NULL;

	assert_int_equal(cf_state_new(&hooks, &st), 0);
	assert_non_null(st);
	return st;
}

static uint64_t test_index = 1;

/* Packs e (with idem if non-NULL) and applies it; returns res.rc. */
static int
apply_e(struct cf_state *st, Coffer__LogEntry *e, const uint8_t *idem,
    uint64_t *value)
{
	struct cf_apply_result res = { 12345, 999 };
	uint8_t *buf;
	size_t n;

	if (idem != NULL) {
		e->idem.data = (uint8_t *)idem;
		e->idem.len = CF_IDEM_LEN;
	}
	if (e->time == 0)
		e->time = 1700000000 + test_index;
	n = coffer__log_entry__get_packed_size(e);
	buf = malloc(n + 1);
	assert_non_null(buf);
	assert_int_equal(coffer__log_entry__pack(e, buf), n);
	assert_int_equal(cf_state_apply(st, test_index++, buf, n, &res), 0);
	free(buf);
	if (value != NULL)
		*value = res.value;
	return res.rc;
}

/* A verifier with recognizable bytes (seed varies them). */
static void
fill_verifier(Coffer__PasswordVerifier *pv, uint8_t *salt, uint8_t *hash,
    uint8_t seed)
{
	int i;

	coffer__password_verifier__init(pv);
	for (i = 0; i < 16; i++)
		salt[i] = (uint8_t)(seed + i);
	for (i = 0; i < 32; i++)
		hash[i] = (uint8_t)(seed * 3 + i);
	pv->alg = (char *)"scrypt";
	pv->salt.data = salt;
	pv->salt.len = 16;
	pv->hash.data = hash;
	pv->hash.len = 32;
	pv->n = 1024;
	pv->r = 8;
	pv->p = 1;
}

static int
ent_cluster_create(struct cf_state *st, const char *preco)
{
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntClusterCreate b = COFFER__ENT_CLUSTER_CREATE__INIT;
	Coffer__UserRecord u = COFFER__USER_RECORD__INIT;
	Coffer__PasswordVerifier pv;
	uint8_t salt[16], hash[32], key[40];

	memset(key, 0xA5, sizeof(key));
	fill_verifier(&pv, salt, hash, 1);
	u.username = (char *)preco;
	u.role = COFFER__ROLE__ROLE_PRECO;
	u.verifier = &pv;
	b.cluster_id = (char *)"cluster-test";
	b.identity_key_der.data = key;
	b.identity_key_der.len = sizeof(key);
	b.bootstrap_cert_pem = (char *)"BOOTSTRAP-CERT";
	b.preco = &u;
	b.node_id = 7;
	e.body_case = COFFER__LOG_ENTRY__BODY_CLUSTER_CREATE;
	e.cluster_create = &b;
	return apply_e(st, &e, NULL, NULL);
}

static int
ent_cluster_initialize(struct cf_state *st)
{
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntClusterInitialize b = COFFER__ENT_CLUSTER_INITIALIZE__INIT;

	b.cert_pem = (char *)"SIGNED-CERT";
	b.trust_anchor_pem = (char *)"ANCHOR";
	e.body_case = COFFER__LOG_ENTRY__BODY_CLUSTER_INITIALIZE;
	e.cluster_initialize = &b;
	return apply_e(st, &e, NULL, NULL);
}

static int
ent_cluster_activate(struct cf_state *st, const char *preco, const char *co)
{
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntClusterActivate b = COFFER__ENT_CLUSTER_ACTIVATE__INIT;
	Coffer__UserRecord u = COFFER__USER_RECORD__INIT;
	Coffer__PasswordVerifier pv;
	uint8_t salt[16], hash[32];

	fill_verifier(&pv, salt, hash, 2);
	u.username = (char *)co;
	u.role = COFFER__ROLE__ROLE_CO;
	u.verifier = &pv;
	b.preco_username = (char *)preco;
	b.co = &u;
	e.body_case = COFFER__LOG_ENTRY__BODY_CLUSTER_ACTIVATE;
	e.cluster_activate = &b;
	return apply_e(st, &e, NULL, NULL);
}

static int
ent_user_create(struct cf_state *st, const char *name, int role,
    const uint8_t *idem)
{
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntUserCreate b = COFFER__ENT_USER_CREATE__INIT;
	Coffer__UserRecord u = COFFER__USER_RECORD__INIT;
	Coffer__PasswordVerifier pv;
	uint8_t salt[16], hash[32];

	fill_verifier(&pv, salt, hash, (uint8_t)(name[0] + role));
	u.username = (char *)name;
	u.role = (Coffer__Role)role;
	u.verifier = &pv;
	b.user = &u;
	e.body_case = COFFER__LOG_ENTRY__BODY_USER_CREATE;
	e.user_create = &b;
	return apply_e(st, &e, idem, NULL);
}

static int
ent_user_delete(struct cf_state *st, const char *name, const uint8_t *idem)
{
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntUserDelete b = COFFER__ENT_USER_DELETE__INIT;

	b.username = (char *)name;
	e.body_case = COFFER__LOG_ENTRY__BODY_USER_DELETE;
	e.user_delete = &b;
	return apply_e(st, &e, idem, NULL);
}

/* The current format: a reservation (attempt_id != 0) at log time t. */
static int
ent_reserve(struct cf_state *st, const char *name, unsigned max, int zeroize,
    uint64_t id, uint64_t t, uint64_t *failures)
{
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntLoginAttempt b = COFFER__ENT_LOGIN_ATTEMPT__INIT;

	b.username = (char *)name;
	b.max_failures = max;
	b.zeroize_on_limit = zeroize;
	b.attempt_id = id;
	e.time = t;
	e.body_case = COFFER__LOG_ENTRY__BODY_LOGIN_ATTEMPT;
	e.login_attempt = &b;
	return apply_e(st, &e, NULL, failures);
}

/* The first format (attempt_id 0): counted as a failure up front. */
static int
ent_attempt(struct cf_state *st, const char *name, unsigned max, int zeroize,
    uint64_t *failures)
{
	return ent_reserve(st, name, max, zeroize, 0, 0, failures);
}

static int
ent_success_id(struct cf_state *st, const char *name, uint64_t id)
{
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntLoginSuccess b = COFFER__ENT_LOGIN_SUCCESS__INIT;

	b.username = (char *)name;
	b.attempt_id = id;
	e.body_case = COFFER__LOG_ENTRY__BODY_LOGIN_SUCCESS;
	e.login_success = &b;
	return apply_e(st, &e, NULL, NULL);
}

static int
ent_failure(struct cf_state *st, const char *name, unsigned max, int zeroize,
    uint64_t id, uint64_t *failures)
{
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntLoginFailure b = COFFER__ENT_LOGIN_FAILURE__INIT;

	b.username = (char *)name;
	b.attempt_id = id;
	b.max_failures = max;
	b.zeroize_on_limit = zeroize;
	e.body_case = COFFER__LOG_ENTRY__BODY_LOGIN_FAILURE;
	e.login_failure = &b;
	return apply_e(st, &e, NULL, failures);
}

static int
ent_success(struct cf_state *st, const char *name)
{
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntLoginSuccess b = COFFER__ENT_LOGIN_SUCCESS__INIT;

	b.username = (char *)name;
	e.body_case = COFFER__LOG_ENTRY__BODY_LOGIN_SUCCESS;
	e.login_success = &b;
	return apply_e(st, &e, NULL, NULL);
}

static int
ent_lock(struct cf_state *st, const char *name, int lock, const uint8_t *idem)
{
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntUserLock l = COFFER__ENT_USER_LOCK__INIT;
	Coffer__EntUserUnlock u = COFFER__ENT_USER_UNLOCK__INIT;

	if (lock) {
		l.username = (char *)name;
		e.body_case = COFFER__LOG_ENTRY__BODY_USER_LOCK;
		e.user_lock = &l;
	} else {
		u.username = (char *)name;
		e.body_case = COFFER__LOG_ENTRY__BODY_USER_UNLOCK;
		e.user_unlock = &u;
	}
	return apply_e(st, &e, idem, NULL);
}

static int
ent_zeroize(struct cf_state *st, const char *reason)
{
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntZeroize b = COFFER__ENT_ZEROIZE__INIT;

	b.reason = (char *)reason;
	e.body_case = COFFER__LOG_ENTRY__BODY_ZEROIZE;
	e.zeroize = &b;
	return apply_e(st, &e, NULL, NULL);
}

/* UNKNOWN -> ACTIVE with CO "admin". */
static void
make_active(struct cf_state *st)
{
	assert_int_equal(ent_cluster_create(st, "preco"), 0);
	assert_int_equal(ent_cluster_initialize(st), 0);
	assert_int_equal(ent_cluster_activate(st, "preco", "admin"), 0);
}

static struct cf_user_view
get_user(struct cf_state *st, const char *name, int *rc)
{
	struct cf_user_view v;

	cf_state_rdlock(st);
	*rc = cf_state_user_get(st, name, &v);
	cf_state_unlock(st);
	return v;
}

static int
node_state(struct cf_state *st)
{
	int s;

	cf_state_rdlock(st);
	s = cf_state_node_state(st);
	cf_state_unlock(st);
	return s;
}

#endif
