/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_cmd.c: cf_cmd_dispatch end to end on a fake node: proposals are
 * applied straight into a real cf_state (no raft). Checks decoding
 * errors, the check order, idempotency keys, the login/lockout flow,
 * sessions, roles, audit records and zeroization.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "coffer/coffer_err.h"
#include "coffer.pb-c.h"
#include "common/secmem.h"
#include "crypto/identity.h"
#include "crypto/password.h"
#include "hsm/audit.h"
#include "hsm/cmd.h"
#include "hsm/node.h"
#include "hsm/state.h"

#define PRECO_PW "Preco-Passw0rd"
#define ADMIN_PW "Admin-Passw0rd"
#define BOB_PW "Bob-Passw0rd-1"

static struct cf_node node;
static uint64_t next_index = 1;
static int zeroized_calls;

/* Test-local fakes of H4's node functions. */
int
cf_node_propose(struct cf_node *n, Coffer__LogEntry *e,
    struct cf_apply_result *res)
{
	size_t len;
	uint8_t *buf;
	int rc;

	e->time = 1700000000 + next_index;
	len = coffer__log_entry__get_packed_size(e);
	buf = malloc(len + 1);
	assert_non_null(buf);
	coffer__log_entry__pack(e, buf);
	rc = cf_state_apply(n->state, next_index++, buf, len, res);
	free(buf);
	return rc;
}

int
cf_node_state(struct cf_node *n)
{
	int s;

	if (atomic_load(&n->local_state) != 0)
		return atomic_load(&n->local_state);
	cf_state_rdlock(n->state);
	s = cf_state_node_state(n->state);
	cf_state_unlock(n->state);
	return s;
}

static void
on_zeroized(void *ctx, const char *reason)
{
	zeroized_calls++;
}

static Coffer__Response *
call(struct cf_session *s, Coffer__Request *rq)
{
	size_t len = coffer__request__get_packed_size(rq), olen = 0;
	uint8_t *buf = malloc(len + 1), *out = NULL;
	Coffer__Response *r;

	assert_non_null(buf);
	coffer__request__pack(rq, buf);
	assert_int_equal(cf_cmd_dispatch(&node, s, buf, len, &out, &olen), 0);
	free(buf);
	r = coffer__response__unpack(NULL, olen, out);
	assert_non_null(r);
	assert_int_equal(r->id, rq->id);
	free(out);
	return r;
}

static int
rc_of(Coffer__Response *r)
{
	int rc = r->rc;

	coffer__response__free_unpacked(r, NULL);
	return rc;
}

static uint8_t idem_ctr;

static void
set_idem(Coffer__Request *rq, uint8_t *idem)
{
	memset(idem, 0xab, 16);
	idem[0] = ++idem_ctr;
	rq->idem.data = idem;
	rq->idem.len = 16;
}

static int
do_login(struct cf_session *s, const char *user, const char *pw)
{
	Coffer__Request rq = COFFER__REQUEST__INIT;
	Coffer__LoginReq b = COFFER__LOGIN_REQ__INIT;

	rq.id = 20;
	b.username = (char *)user;
	b.password.data = (uint8_t *)pw;
	b.password.len = strlen(pw);
	rq.body_case = COFFER__REQUEST__BODY_LOGIN;
	rq.login = &b;
	return rc_of(call(s, &rq));
}

static int
do_user_create(struct cf_session *s, const char *user, int role,
    const char *pw, uint8_t *idem)
{
	Coffer__Request rq = COFFER__REQUEST__INIT;
	Coffer__UserCreateReq b = COFFER__USER_CREATE_REQ__INIT;

	rq.id = 22;
	if (idem != NULL) {
		rq.idem.data = idem;
		rq.idem.len = 16;
	}
	b.username = (char *)user;
	b.role = (Coffer__Role)role;
	b.password.data = (uint8_t *)pw;
	b.password.len = strlen(pw);
	rq.body_case = COFFER__REQUEST__BODY_USER_CREATE;
	rq.user_create = &b;
	return rc_of(call(s, &rq));
}

static int
do_simple(struct cf_session *s, int op, const char *user)
{
	Coffer__Request rq = COFFER__REQUEST__INIT;
	Coffer__UserLockReq l = COFFER__USER_LOCK_REQ__INIT;
	Coffer__UserUnlockReq u = COFFER__USER_UNLOCK_REQ__INIT;
	Coffer__UserListReq ls = COFFER__USER_LIST_REQ__INIT;
	uint8_t idem[16];

	rq.id = (uint64_t)op;
	rq.body_case = (Coffer__Request__BodyCase)op;
	switch (op) {
	case COFFER__REQUEST__BODY_USER_LOCK:
		l.username = (char *)user;
		rq.user_lock = &l;
		set_idem(&rq, idem);
		break;
	case COFFER__REQUEST__BODY_USER_UNLOCK:
		u.username = (char *)user;
		rq.user_unlock = &u;
		set_idem(&rq, idem);
		break;
	case COFFER__REQUEST__BODY_USER_LIST:
		rq.user_list = &ls;
		break;
	default:
		fail();
	}
	return rc_of(call(s, &rq));
}

static uint32_t
failures_of(const char *user)
{
	struct cf_user_view v;

	cf_state_rdlock(node.state);
	assert_int_equal(cf_state_user_get(node.state, user, &v), 0);
	cf_state_unlock(node.state);
	return v.failures;
}

static char audit_path[700];

static int
setup(void **ts)
{
	struct cf_state_hooks hooks = { NULL, on_zeroized, NULL };
	const char *base = getenv("COFFER_TEST_TMP");
	char tmpl[600], err[200];

	if (base == NULL)
		base = "/tmp";
	mkdir(base, 0700);
	snprintf(tmpl, sizeof(tmpl), "%s/cmd-XXXXXX", base);
	assert_non_null(mkdtemp(tmpl));
	snprintf(audit_path, sizeof(audit_path), "%s/audit.log", tmpl);
	node = (struct cf_node){0};
	node.cfg.node_id = 1;
	node.cfg.request_timeout_ms = 1000;
	node.cfg.cu_max_failures = 5;
	node.cfg.co_max_failures = 3;
	node.cfg.co_zeroize = true;
	node.cfg.pw_min_len = 8;
	node.cfg.pw_max_len = 128;
	node.cfg.scrypt_n = 1024;	/* fast for tests */
	node.cfg.scrypt_r = 8;
	node.cfg.scrypt_p = 1;
	assert_int_equal(cf_state_new(&hooks, &node.state), 0);
	assert_int_equal(cf_audit_open(audit_path, 1, &node.audit, err,
	    sizeof(err)), 0);
	return 0;
}

static int
teardown(void **ts)
{
	cf_audit_close(node.audit);
	cf_state_free(node.state);
	return 0;
}

/* cluster_create as H4's node would propose it at first start. */
static void
create_cluster(void)
{
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntClusterCreate b = COFFER__ENT_CLUSTER_CREATE__INIT;
	Coffer__UserRecord u = COFFER__USER_RECORD__INIT;
	Coffer__PasswordVerifier pv = COFFER__PASSWORD_VERIFIER__INIT;
	struct cf_pw_params pp = { 1024, 8, 1 };
	struct cf_pw_verifier v;
	struct cf_apply_result res;
	uint8_t *der = NULL;
	size_t der_len = 0;
	char *cert = NULL;

	assert_int_equal(cf_identity_generate("c1.coffer", &der, &der_len,
	    &cert), 0);
	assert_int_equal(cf_pw_make(PRECO_PW, strlen(PRECO_PW), &pp, &v), 0);
	pv.alg = (char *)"scrypt";
	pv.salt.data = v.salt;
	pv.salt.len = 16;
	pv.hash.data = v.hash;
	pv.hash.len = 32;
	pv.n = pp.n;
	pv.r = pp.r;
	pv.p = pp.p;
	u.username = (char *)"preco";
	u.role = COFFER__ROLE__ROLE_PRECO;
	u.verifier = &pv;
	b.cluster_id = (char *)"c1.coffer";
	b.identity_key_der.data = der;
	b.identity_key_der.len = der_len;
	b.bootstrap_cert_pem = cert;
	b.preco = &u;
	e.body_case = COFFER__LOG_ENTRY__BODY_CLUSTER_CREATE;
	e.cluster_create = &b;
	assert_int_equal(cf_node_propose(&node, &e, &res), 0);
	assert_int_equal(res.rc, 0);
	cf_free_secret(der, der_len);
	free(cert);
}

static void
test_decode_and_unknown(void **ts)
{
	struct cf_session s;
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	static const uint8_t nobody[] = { 0x08, 0x05 };	/* id=5, no body */
	static const uint8_t op63[] = { 0x08, 0x06, 0xfa, 0x03, 0x00 };
	uint8_t *out = NULL;
	size_t olen = 0;
	Coffer__Response *r;

	cf_session_init(&s, 1, "127.0.0.1:1");
	assert_int_equal(cf_cmd_dispatch(&node, &s, garbage, sizeof(garbage),
	    &out, &olen), 0);
	r = coffer__response__unpack(NULL, olen, out);
	assert_non_null(r);
	assert_int_equal(r->rc, COFFER_E_FORMAT);
	assert_int_equal(r->id, 0);
	coffer__response__free_unpacked(r, NULL);
	free(out);

	assert_int_equal(cf_cmd_dispatch(&node, &s, nobody, sizeof(nobody),
	    &out, &olen), 0);
	r = coffer__response__unpack(NULL, olen, out);
	assert_int_equal(r->rc, COFFER_E_UNSUPPORTED);
	assert_int_equal(r->id, 5);
	coffer__response__free_unpacked(r, NULL);
	free(out);

	assert_int_equal(cf_cmd_dispatch(&node, &s, op63, sizeof(op63),
	    &out, &olen), 0);
	r = coffer__response__unpack(NULL, olen, out);
	assert_int_equal(r->rc, COFFER_E_UNSUPPORTED);
	assert_int_equal(r->id, 6);
	coffer__response__free_unpacked(r, NULL);
	free(out);
	cf_session_destroy(&s);
}

static void
test_flow(void **ts)
{
	struct cf_session s, s2;
	Coffer__Request rq = COFFER__REQUEST__INIT;
	Coffer__GetInfoReq gi = COFFER__GET_INFO_REQ__INIT;
	Coffer__ClusterCsrReq cr = COFFER__CLUSTER_CSR_REQ__INIT;
	Coffer__ClusterActivateReq act = COFFER__CLUSTER_ACTIVATE_REQ__INIT;
	Coffer__AuditExportReq ae = COFFER__AUDIT_EXPORT_REQ__INIT;
	Coffer__UserPasswordReq up = COFFER__USER_PASSWORD_REQ__INIT;
	Coffer__Response *r;
	uint8_t idem[16], idem2[16];
	int i, saw_failed_login = 0;
	size_t k;

	cf_session_init(&s, 1, "127.0.0.1:1");
	cf_session_init(&s2, 2, "127.0.0.1:2");

	/* UNKNOWN: only status. */
	rq.id = 16;
	rq.body_case = COFFER__REQUEST__BODY_GET_INFO;
	rq.get_info = &gi;
	r = call(&s, &rq);
	assert_int_equal(r->rc, 0);
	assert_int_equal(r->get_info->state, 0);
	coffer__response__free_unpacked(r, NULL);
	assert_int_equal(do_login(&s, "preco", PRECO_PW), COFFER_E_STATE);

	create_cluster();
	r = call(&s, &rq);
	assert_int_equal(r->rc, 0);
	assert_int_equal(r->body_case, COFFER__RESPONSE__BODY_GET_INFO);
	assert_int_equal(r->get_info->state,
	    COFFER__NODE_STATE__NODE_STATE_UNINITIALIZED);
	assert_string_equal(r->get_info->cluster_id, "c1.coffer");
	assert_int_equal(r->get_info->user_count, 1);
	coffer__response__free_unpacked(r, NULL);

	/* The CSR is public. */
	rq = (Coffer__Request)COFFER__REQUEST__INIT;
	rq.id = 17;
	rq.body_case = COFFER__REQUEST__BODY_CLUSTER_CSR;
	rq.cluster_csr = &cr;
	r = call(&s, &rq);
	assert_int_equal(r->rc, 0);
	assert_non_null(strstr(r->cluster_csr->csr_pem,
	    "BEGIN CERTIFICATE REQUEST"));
	assert_string_equal(r->cluster_csr->cluster_id, "c1.coffer");
	coffer__response__free_unpacked(r, NULL);

	/* Not ACTIVE yet: state is checked before login. */
	assert_int_equal(do_simple(&s, COFFER__REQUEST__BODY_USER_LIST, NULL),
	    COFFER_E_STATE);
	/* Wrong PRECO password, then the right one. */
	assert_int_equal(do_login(&s, "preco", "not-the-password"),
	    COFFER_E_AUTH);
	assert_int_equal(failures_of("preco"), 1);
	assert_int_equal(do_login(&s, "ghost", "whatever-pw"), COFFER_E_AUTH);
	assert_int_equal(do_login(&s, "preco", PRECO_PW), 0);
	assert_int_equal(failures_of("preco"), 0);
	assert_true(s.logged_in);
	assert_int_equal(s.role, COFFER__ROLE__ROLE_PRECO);

	/* Initialize (FSM directly; the cert check is test_identity's). */
	{
		Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
		Coffer__EntClusterInitialize b =
		    COFFER__ENT_CLUSTER_INITIALIZE__INIT;
		struct cf_apply_result res;
		b.cert_pem = (char *)"CERT";
		b.trust_anchor_pem = (char *)"ANCHOR";
		e.body_case = COFFER__LOG_ENTRY__BODY_CLUSTER_INITIALIZE;
		e.cluster_initialize = &b;
		assert_int_equal(cf_node_propose(&node, &e, &res), 0);
		assert_int_equal(res.rc, 0);
	}

	/* Activate: needs an idempotency key and a good password. */
	rq = (Coffer__Request)COFFER__REQUEST__INIT;
	rq.id = 19;
	act.co_username = (char *)"admin";
	act.new_password.data = (uint8_t *)"short";
	act.new_password.len = 5;
	rq.body_case = COFFER__REQUEST__BODY_CLUSTER_ACTIVATE;
	rq.cluster_activate = &act;
	assert_int_equal(rc_of(call(&s, &rq)), COFFER_E_INVAL);
	set_idem(&rq, idem);
	r = call(&s, &rq);
	assert_int_equal(r->rc, COFFER_E_PASSWORD_POLICY);
	assert_null(strstr(r->detail, "short"));
	coffer__response__free_unpacked(r, NULL);
	act.new_password.data = (uint8_t *)ADMIN_PW;
	act.new_password.len = strlen(ADMIN_PW);
	set_idem(&rq, idem);
	assert_int_equal(rc_of(call(&s, &rq)), 0);
	assert_int_equal(cf_node_state(&node),
	    COFFER__NODE_STATE__NODE_STATE_ACTIVE);
	/* The session became the new CO. */
	assert_true(s.logged_in);
	assert_string_equal(s.username, "admin");
	assert_int_equal(s.role, COFFER__ROLE__ROLE_CO);
	assert_int_equal(do_login(&s2, "preco", PRECO_PW), COFFER_E_AUTH);

	/* Writes need a 16-byte key; replays return the first outcome. */
	assert_int_equal(do_user_create(&s, "bob", COFFER__ROLE__ROLE_CU,
	    BOB_PW, NULL), COFFER_E_INVAL);
	memset(idem, 1, 16);
	assert_int_equal(do_user_create(&s, "bob", COFFER__ROLE__ROLE_CU,
	    BOB_PW, idem), 0);
	assert_int_equal(do_user_create(&s, "bob", COFFER__ROLE__ROLE_CU,
	    BOB_PW, idem), 0);
	memset(idem2, 2, 16);
	assert_int_equal(do_user_create(&s, "bob", COFFER__ROLE__ROLE_CU,
	    BOB_PW, idem2), COFFER_E_EXISTS);
	memset(idem2, 3, 16);
	assert_int_equal(do_user_create(&s, "bad name", COFFER__ROLE__ROLE_CU,
	    BOB_PW, idem2), COFFER_E_INVAL);
	assert_int_equal(do_user_create(&s, "weak", COFFER__ROLE__ROLE_CU,
	    "weak", idem2), COFFER_E_PASSWORD_POLICY);
	assert_int_equal(do_user_create(&s, "p2", COFFER__ROLE__ROLE_PRECO,
	    BOB_PW, idem2), COFFER_E_INVAL);

	/* Roles: a CU cannot manage users nor others' passwords. */
	assert_int_equal(do_user_create(&s2, "mallory", COFFER__ROLE__ROLE_CO,
	    BOB_PW, idem2), COFFER_E_NOTLOGGEDIN);
	assert_int_equal(do_login(&s2, "bob", BOB_PW), 0);
	assert_int_equal(do_user_create(&s2, "mallory", COFFER__ROLE__ROLE_CO,
	    BOB_PW, idem2), COFFER_E_ROLE);
	assert_int_equal(do_simple(&s2, COFFER__REQUEST__BODY_USER_LIST, NULL),
	    0);
	rq = (Coffer__Request)COFFER__REQUEST__INIT;
	rq.id = 25;
	up.username = (char *)"admin";
	up.new_password.data = (uint8_t *)"Hijack-Passw0rd";
	up.new_password.len = 15;
	rq.body_case = COFFER__REQUEST__BODY_USER_PASSWORD;
	rq.user_password = &up;
	set_idem(&rq, idem);
	assert_int_equal(rc_of(call(&s2, &rq)), COFFER_E_ROLE);
	rq = (Coffer__Request)COFFER__REQUEST__INIT;
	rq.id = 28;
	rq.body_case = COFFER__REQUEST__BODY_AUDIT_EXPORT;
	rq.audit_export = &ae;
	assert_int_equal(rc_of(call(&s2, &rq)), COFFER_E_ROLE);

	/* A locked user's open session is cut off. */
	assert_int_equal(do_simple(&s, COFFER__REQUEST__BODY_USER_LOCK, "bob"),
	    0);
	assert_int_equal(do_simple(&s2, COFFER__REQUEST__BODY_USER_LIST, NULL),
	    COFFER_E_LOCKED);
	assert_false(s2.logged_in);
	assert_int_equal(do_simple(&s, COFFER__REQUEST__BODY_USER_UNLOCK,
	    "bob"), 0);

	/* CU lockout: 5 wrong, then even the right password is refused. */
	for (i = 0; i < 5; i++)
		assert_int_equal(do_login(&s2, "bob", "wrong-password"),
		    COFFER_E_AUTH);
	assert_int_equal(do_login(&s2, "bob", BOB_PW), COFFER_E_LOCKED);
	assert_false(s2.logged_in);
	assert_int_equal(do_simple(&s, COFFER__REQUEST__BODY_USER_UNLOCK,
	    "bob"), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(do_login(&s2, "bob", "wrong-password"),
		    COFFER_E_AUTH);
	assert_int_equal(do_login(&s2, "bob", BOB_PW), 0);
	assert_int_equal(failures_of("bob"), 0);

	/* Audit export: logins (with the attempted name) and management. */
	rq = (Coffer__Request)COFFER__REQUEST__INIT;
	rq.id = 28;
	rq.body_case = COFFER__REQUEST__BODY_AUDIT_EXPORT;
	rq.audit_export = &ae;
	r = call(&s, &rq);
	assert_int_equal(r->rc, 0);
	assert_true(r->audit_export->n_records > 10);
	assert_int_equal(r->audit_export->head_seq,
	    r->audit_export->n_records);
	assert_int_equal(strlen(r->audit_export->head_hash), 64);
	for (k = 0; k < r->audit_export->n_records; k++) {
		const char *l = r->audit_export->records[k];
		assert_null(strstr(l, "wrong-password"));
		assert_null(strstr(l, BOB_PW));
		assert_null(strstr(l, PRECO_PW));
		if (strstr(l, "\"op\":\"login\"") != NULL &&
		    strstr(l, "\"user\":\"bob\"") != NULL &&
		    strstr(l, "E_AUTH") != NULL)
			saw_failed_login = 1;
	}
	assert_true(saw_failed_login);
	assert_non_null(strstr(r->audit_export->records[0],
	    "\"op\":\"login\""));
	coffer__response__free_unpacked(r, NULL);

	/* CO brute force under the zeroize policy (limit 3). */
	zeroized_calls = 0;
	for (i = 0; i < 3; i++)
		assert_int_equal(do_login(&s2, "admin", "wrong-password"),
		    COFFER_E_AUTH);
	assert_int_equal(zeroized_calls, 1);
	assert_int_equal(cf_node_state(&node),
	    COFFER__NODE_STATE__NODE_STATE_ZEROIZED);
	assert_int_equal(do_login(&s2, "admin", ADMIN_PW), COFFER_E_ZEROIZED);
	assert_int_equal(do_simple(&s, COFFER__REQUEST__BODY_USER_LIST, NULL),
	    COFFER_E_ZEROIZED);
	rq = (Coffer__Request)COFFER__REQUEST__INIT;
	rq.id = 16;
	rq.body_case = COFFER__REQUEST__BODY_GET_INFO;
	rq.get_info = &gi;
	r = call(&s, &rq);
	assert_int_equal(r->rc, 0);
	assert_int_equal(r->get_info->state,
	    COFFER__NODE_STATE__NODE_STATE_ZEROIZED);
	assert_int_equal(r->get_info->user_count, 0);
	coffer__response__free_unpacked(r, NULL);

	/* A local ERROR overrides: only status. */
	atomic_store(&node.local_state, COFFER__NODE_STATE__NODE_STATE_ERROR);
	assert_int_equal(do_login(&s2, "admin", ADMIN_PW), COFFER_E_SELFTEST);
	atomic_store(&node.local_state, 0);

	cf_session_destroy(&s);
	cf_session_destroy(&s2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_and_unknown),
		cmocka_unit_test(test_flow),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
