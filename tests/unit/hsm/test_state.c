/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_state.c: the FSM: ceremony order, idempotent replay, the FIFO
 * idempotency table, snapshot/restore, user rules, undecodable entries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_fsm_util.h"

enum { PRECO = 1, CO = 2, CU = 3, AU = 4 };

static void
idem_of(uint8_t idem[16], uint32_t n)
{
	memset(idem, 0x5c, 16);
	idem[0] = (uint8_t)n;
	idem[1] = (uint8_t)(n >> 8);
	idem[2] = (uint8_t)(n >> 16);
}

static void
test_ceremony_order(void **ts)
{
	struct hookrec h = {0};
	struct cf_state *st = new_state(&h);
	uint8_t *key = NULL;
	size_t key_len = 0;
	char *cert = NULL, *anchor = NULL;
	struct cf_user_view v;
	uint64_t gen0;
	int rc;

	assert_int_equal(node_state(st), COFFER__NODE_STATE__NODE_STATE_UNKNOWN);
	assert_int_equal(ent_cluster_initialize(st), COFFER_E_STATE);
	assert_int_equal(ent_cluster_activate(st, "preco", "admin"),
	    COFFER_E_STATE);
	assert_int_equal(ent_user_create(st, "bob", CU, NULL), COFFER_E_STATE);

	assert_int_equal(ent_cluster_create(st, "preco"), 0);
	assert_int_equal(node_state(st),
	    COFFER__NODE_STATE__NODE_STATE_UNINITIALIZED);
	assert_int_equal(ent_cluster_create(st, "preco"), COFFER_E_STATE);
	assert_int_equal(ent_cluster_activate(st, "preco", "admin"),
	    COFFER_E_STATE);
	assert_int_equal(ent_user_create(st, "bob", CU, NULL), COFFER_E_STATE);
	v = get_user(st, "preco", &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(v.role, PRECO);
	cf_state_rdlock(st);
	assert_string_equal(cf_state_cluster_id(st), "cluster-test");
	gen0 = cf_state_tls_gen(st);
	rc = cf_state_tls_material(st, &key, &key_len, &cert, &anchor);
	cf_state_unlock(st);
	assert_int_equal(rc, 0);
	assert_int_equal(key_len, 40);
	assert_int_equal(key[0], 0xA5);
	assert_string_equal(cert, "BOOTSTRAP-CERT");
	assert_null(anchor);
	cf_free_secret_test(key, key_len);
	key = NULL;
	free(cert);

	assert_int_equal(ent_cluster_initialize(st), 0);
	assert_int_equal(node_state(st),
	    COFFER__NODE_STATE__NODE_STATE_INITIALIZED);
	assert_int_equal(h.tls_changed, 2);	/* create + initialize */
	cf_state_rdlock(st);
	assert_true(cf_state_tls_gen(st) > gen0);
	rc = cf_state_tls_material(st, &key, &key_len, &cert, &anchor);
	cf_state_unlock(st);
	assert_int_equal(rc, 0);
	assert_string_equal(cert, "SIGNED-CERT");
	assert_string_equal(anchor, "ANCHOR");
	cf_free_secret_test(key, key_len);
	free(cert);
	free(anchor);
	assert_int_equal(ent_cluster_initialize(st), COFFER_E_STATE);
	assert_int_equal(ent_user_create(st, "bob", CU, NULL), COFFER_E_STATE);
	/* Only the PRECO can be replaced. */
	assert_int_equal(ent_cluster_activate(st, "someone", "admin"),
	    COFFER_E_NOTFOUND);
	assert_int_equal(ent_cluster_activate(st, "preco", "admin"), 0);
	assert_int_equal(node_state(st), COFFER__NODE_STATE__NODE_STATE_ACTIVE);
	(void)get_user(st, "preco", &rc);
	assert_int_equal(rc, COFFER_E_NOTFOUND);
	v = get_user(st, "admin", &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(v.role, CO);
	assert_int_equal(ent_cluster_activate(st, "preco", "admin2"),
	    COFFER_E_STATE);
	assert_int_equal(ent_cluster_initialize(st), COFFER_E_STATE);
	assert_int_equal(h.zeroized, 0);
	cf_state_free(st);
}

static void
test_users(void **ts)
{
	struct hookrec h = {0};
	struct cf_state *st = new_state(&h);
	struct cf_user_view *list = NULL, v;
	size_t n = 0;
	int rc;

	make_active(st);
	assert_int_equal(ent_user_create(st, "zed", CU, NULL), 0);
	assert_int_equal(ent_user_create(st, "alice", AU, NULL), 0);
	assert_int_equal(ent_user_create(st, "alice", CU, NULL),
	    COFFER_E_EXISTS);
	assert_int_equal(ent_user_create(st, "bad name", CU, NULL),
	    COFFER_E_INVAL);
	assert_int_equal(ent_user_create(st, "p2", PRECO, NULL),
	    COFFER_E_INVAL);
	assert_int_equal(ent_user_create(st, "r9", 9, NULL), COFFER_E_INVAL);
	cf_state_rdlock(st);
	assert_int_equal(cf_state_user_list(st, &list, &n), 0);
	cf_state_unlock(st);
	assert_int_equal(n, 3);
	assert_string_equal(list[0].username, "admin");
	assert_string_equal(list[1].username, "alice");
	assert_string_equal(list[2].username, "zed");
	assert_int_equal(list[1].role, AU);
	free(list);
	v = get_user(st, "zed", &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(v.created, v.password_changed);
	assert_true(v.created > 1700000000);
	/* The last CO cannot be deleted; another CO can. */
	assert_int_equal(ent_user_delete(st, "admin", NULL), COFFER_E_POLICY);
	assert_int_equal(ent_user_create(st, "carol", CO, NULL), 0);
	assert_int_equal(ent_user_delete(st, "admin", NULL), 0);
	assert_int_equal(ent_user_delete(st, "admin", NULL), COFFER_E_NOTFOUND);
	assert_int_equal(ent_user_delete(st, "carol", NULL), COFFER_E_POLICY);
	assert_int_equal(ent_lock(st, "nobody", 1, NULL), COFFER_E_NOTFOUND);
	cf_state_free(st);
}

static void
test_user_limit(void **ts)
{
	struct hookrec h = {0};
	struct cf_state *st = new_state(&h);
	char name[32];
	int i;

	make_active(st);
	for (i = 1; i < CF_MAX_USERS; i++) {
		snprintf(name, sizeof(name), "u%04d", i);
		assert_int_equal(ent_user_create(st, name, CU, NULL), 0);
	}
	assert_int_equal(ent_user_create(st, "onemore", CU, NULL),
	    COFFER_E_FULL);
	cf_state_rdlock(st);
	assert_int_equal(cf_state_user_count(st), CF_MAX_USERS);
	cf_state_unlock(st);
	cf_state_free(st);
}

static void
test_idempotent_replay(void **ts)
{
	struct hookrec h = {0};
	struct cf_state *st = new_state(&h);
	uint8_t a[16], b[16], c[16];
	int rc;

	make_active(st);
	idem_of(a, 1);
	idem_of(b, 2);
	idem_of(c, 3);
	assert_int_equal(ent_user_create(st, "bob", CU, a), 0);
	/* Replay: first outcome again, not EXISTS; nothing applied. */
	assert_int_equal(ent_user_create(st, "bob", CU, a), 0);
	assert_int_equal(ent_user_create(st, "bob", CU, b), COFFER_E_EXISTS);
	cf_state_rdlock(st);
	assert_int_equal(cf_state_user_count(st), 2);
	cf_state_unlock(st);
	/* The stored outcome wins even over a different body. */
	assert_int_equal(ent_user_create(st, "dan", CU, a), 0);
	(void)get_user(st, "dan", &rc);
	assert_int_equal(rc, COFFER_E_NOTFOUND);
	/* Failures are remembered too. */
	assert_int_equal(ent_user_delete(st, "erin", c), COFFER_E_NOTFOUND);
	assert_int_equal(ent_user_create(st, "erin", CU, NULL), 0);
	assert_int_equal(ent_user_delete(st, "erin", c), COFFER_E_NOTFOUND);
	(void)get_user(st, "erin", &rc);
	assert_int_equal(rc, 0);
	/* A delete with a new key applies once. */
	assert_int_equal(ent_user_delete(st, "erin", b), COFFER_E_EXISTS);
	idem_of(b, 4);
	assert_int_equal(ent_user_delete(st, "erin", b), 0);
	assert_int_equal(ent_user_delete(st, "erin", b), 0);
	(void)get_user(st, "erin", &rc);
	assert_int_equal(rc, COFFER_E_NOTFOUND);
	cf_state_free(st);
}

static void
test_idem_fifo(void **ts)
{
	struct hookrec h = {0};
	struct cf_state *st = new_state(&h);
	uint8_t first[16], k[16];
	uint32_t i;
	int rc;

	make_active(st);
	idem_of(first, 0xfffff);
	assert_int_equal(ent_user_create(st, "evict", CU, first), 0);
	assert_int_equal(ent_user_create(st, "bob", CU, NULL), 0);
	/* CF_IDEM_TABLE - 1 more keys: the first is still remembered. */
	for (i = 1; i < CF_IDEM_TABLE; i++) {
		idem_of(k, i);
		assert_int_equal(ent_lock(st, "bob", (int)(i & 1), k), 0);
	}
	assert_int_equal(ent_user_delete(st, "evict", NULL), 0);
	assert_int_equal(ent_user_create(st, "evict", CU, first), 0);
	(void)get_user(st, "evict", &rc);
	assert_int_equal(rc, COFFER_E_NOTFOUND);	/* not re-applied */
	/* One more key evicts the oldest: the replay now applies. */
	idem_of(k, CF_IDEM_TABLE);
	assert_int_equal(ent_lock(st, "bob", 1, k), 0);
	assert_int_equal(ent_user_create(st, "evict", CU, first), 0);
	(void)get_user(st, "evict", &rc);
	assert_int_equal(rc, 0);
	/* Recent keys are still known. */
	idem_of(k, CF_IDEM_TABLE);
	assert_int_equal(ent_user_delete(st, "nobody", k), 0);
	cf_state_free(st);
}

static void
test_snapshot_restore(void **ts)
{
	struct hookrec h = {0}, h2 = {0};
	struct cf_state *st = new_state(&h), *st2 = new_state(&h2);
	struct cf_user_view *l1 = NULL, *l2 = NULL, v1, v2;
	uint8_t *p = NULL, *p2 = NULL, a[16], b[16];
	uint8_t *k1 = NULL, *k2 = NULL;
	size_t n = 0, n2 = 0, c1 = 0, c2 = 0, kl1 = 0, kl2 = 0, i;
	char *cert1 = NULL, *cert2 = NULL, *an1 = NULL, *an2 = NULL;
	uint64_t f;
	int rc;

	make_active(st);
	idem_of(a, 10);
	idem_of(b, 11);
	assert_int_equal(ent_user_create(st, "bob", CU, a), 0);
	assert_int_equal(ent_user_create(st, "oscar", AU, NULL), 0);
	assert_int_equal(ent_attempt(st, "bob", 5, 0, &f), 0);
	assert_int_equal(ent_attempt(st, "bob", 5, 0, &f), 0);
	assert_int_equal(ent_lock(st, "oscar", 1, NULL), 0);
	assert_int_equal(ent_user_delete(st, "ghost", b), COFFER_E_NOTFOUND);

	assert_int_equal(cf_state_snapshot(st, &p, &n), 0);
	assert_true(n > 0);
	assert_int_equal(cf_state_restore(st2, p, n), 0);
	assert_int_equal(h2.tls_changed, 1);
	assert_int_equal(node_state(st2), COFFER__NODE_STATE__NODE_STATE_ACTIVE);

	cf_state_rdlock(st);
	assert_int_equal(cf_state_user_list(st, &l1, &c1), 0);
	assert_int_equal(cf_state_tls_material(st, &k1, &kl1, &cert1, &an1), 0);
	cf_state_unlock(st);
	cf_state_rdlock(st2);
	assert_int_equal(cf_state_user_list(st2, &l2, &c2), 0);
	assert_int_equal(cf_state_tls_material(st2, &k2, &kl2, &cert2, &an2),
	    0);
	assert_string_equal(cf_state_cluster_id(st2), "cluster-test");
	cf_state_unlock(st2);
	assert_int_equal(c1, 3);
	assert_int_equal(c1, c2);
	for (i = 0; i < c1; i++) {
		assert_string_equal(l1[i].username, l2[i].username);
		assert_int_equal(l1[i].role, l2[i].role);
		assert_int_equal(l1[i].locked, l2[i].locked);
		assert_int_equal(l1[i].failures, l2[i].failures);
		assert_int_equal(l1[i].created, l2[i].created);
		assert_int_equal(l1[i].password_changed,
		    l2[i].password_changed);
		v1 = get_user(st, l1[i].username, &rc);
		assert_int_equal(rc, 0);
		v2 = get_user(st2, l1[i].username, &rc);
		assert_int_equal(rc, 0);
		assert_memory_equal(&v1.verifier, &v2.verifier,
		    sizeof(v1.verifier));
	}
	v2 = get_user(st2, "bob", &rc);
	assert_int_equal(v2.failures, 2);
	v2 = get_user(st2, "oscar", &rc);
	assert_true(v2.locked);
	assert_int_equal(kl1, kl2);
	assert_memory_equal(k1, k2, kl1);
	assert_string_equal(cert1, cert2);
	assert_string_equal(an1, an2);
	/* Same content, same bytes. */
	assert_int_equal(cf_state_snapshot(st2, &p2, &n2), 0);
	assert_int_equal(n, n2);
	assert_memory_equal(p, p2, n);
	/* The idempotency table came along. */
	assert_int_equal(ent_user_create(st2, "bob", CU, a), 0);
	assert_int_equal(ent_user_delete(st2, "ghost", b), COFFER_E_NOTFOUND);
	assert_int_equal(ent_user_create(st2, "ghost", CU, NULL), 0);
	assert_int_equal(ent_user_delete(st2, "ghost", b), COFFER_E_NOTFOUND);

	/* A broken snapshot is refused and changes nothing. */
	p[0] ^= 0xff;
	assert_int_not_equal(cf_state_restore(st2, p, n / 2), 0);
	assert_int_equal(node_state(st2), COFFER__NODE_STATE__NODE_STATE_ACTIVE);
	(void)get_user(st2, "ghost", &rc);
	assert_int_equal(rc, 0);

	free(l1);
	free(l2);
	free(p);
	free(p2);
	cf_free_secret_test(k1, kl1);
	cf_free_secret_test(k2, kl2);
	free(cert1);
	free(cert2);
	free(an1);
	free(an2);
	cf_state_free(st);
	cf_state_free(st2);
}

static void
test_bad_entries(void **ts)
{
	struct hookrec h = {0};
	struct cf_state *st = new_state(&h);
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	struct cf_apply_result res;
	/* Field 100 (a future body), length 0. */
	static const uint8_t future[] = { 0xa2, 0x06, 0x00 };
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
	uint8_t shortidem[3] = { 1, 2, 3 };

	make_active(st);
	assert_int_equal(apply_e(st, &e, NULL, NULL), COFFER_E_UNSUPPORTED);
	res.rc = 0;
	assert_int_equal(cf_state_apply(st, 99, future, sizeof(future), &res),
	    0);
	assert_int_equal(res.rc, COFFER_E_UNSUPPORTED);
	assert_int_equal(cf_state_apply(st, 100, garbage, sizeof(garbage),
	    &res), 0);
	assert_int_equal(res.rc, COFFER_E_FORMAT);
	/* An idempotency key must be 16 bytes. */
	e = (Coffer__LogEntry)COFFER__LOG_ENTRY__INIT;
	e.idem.data = shortidem;
	e.idem.len = sizeof(shortidem);
	{
		size_t n = coffer__log_entry__get_packed_size(&e);
		uint8_t buf[64];
		assert_true(n < sizeof(buf));
		coffer__log_entry__pack(&e, buf);
		assert_int_equal(cf_state_apply(st, 101, buf, n, &res), 0);
		assert_int_equal(res.rc, COFFER_E_INVAL);
	}
	assert_int_equal(node_state(st), COFFER__NODE_STATE__NODE_STATE_ACTIVE);
	cf_state_free(st);
}

/* Every prefix and every single-bit flip of a valid entry and snapshot:
 * never a crash or a fatal apply (ASan checks the memory side). */
static void
test_mutations(void **ts)
{
	struct hookrec h = {0};
	struct cf_state *st = new_state(&h), *tgt;
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntUserCreate b = COFFER__ENT_USER_CREATE__INIT;
	Coffer__UserRecord u = COFFER__USER_RECORD__INIT;
	Coffer__PasswordVerifier pv;
	struct cf_apply_result res;
	uint8_t salt[16], hash[32], idem[16], *ent, *snap = NULL, *m;
	size_t en, sn = 0, i, bit;

	make_active(st);
	assert_int_equal(ent_user_create(st, "bob", CU, NULL), 0);
	fill_verifier(&pv, salt, hash, 9);
	u.username = (char *)"mutant";
	u.role = COFFER__ROLE__ROLE_CU;
	u.verifier = &pv;
	b.user = &u;
	e.body_case = COFFER__LOG_ENTRY__BODY_USER_CREATE;
	e.user_create = &b;
	idem_of(idem, 77);
	e.idem.data = idem;
	e.idem.len = 16;
	e.time = 1700001234;
	en = coffer__log_entry__get_packed_size(&e);
	ent = malloc(en);
	coffer__log_entry__pack(&e, ent);
	assert_int_equal(cf_state_snapshot(st, &snap, &sn), 0);
	m = malloc(sn > en ? sn : en);

	tgt = new_state(&h);
	assert_int_equal(cf_state_restore(tgt, snap, sn), 0);
	for (i = 0; i < en; i++)
		assert_int_equal(cf_state_apply(tgt, i, ent, i, &res), 0);
	for (i = 0; i < en; i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(m, ent, en);
			m[i] ^= (uint8_t)(1u << bit);
			assert_int_equal(cf_state_apply(tgt, i, m, en, &res), 0);
		}
	}
	cf_state_free(tgt);

	tgt = new_state(&h);
	for (i = 0; i < sn; i += 1 + i / 64)
		(void)cf_state_restore(tgt, snap, i);
	for (i = 0; i < sn; i += 1 + i / 256) {
		for (bit = 0; bit < 8; bit += 3) {
			memcpy(m, snap, sn);
			m[i] ^= (uint8_t)(1u << bit);
			(void)cf_state_restore(tgt, m, sn);
		}
	}
	/* Still usable afterwards. */
	assert_int_equal(cf_state_restore(tgt, snap, sn), 0);
	assert_int_equal(node_state(tgt), COFFER__NODE_STATE__NODE_STATE_ACTIVE);
	cf_state_free(tgt);
	free(m);
	free(ent);
	free(snap);
	cf_state_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ceremony_order),
		cmocka_unit_test(test_users),
		cmocka_unit_test(test_user_limit),
		cmocka_unit_test(test_idempotent_replay),
		cmocka_unit_test(test_idem_fifo),
		cmocka_unit_test(test_snapshot_restore),
		cmocka_unit_test(test_bad_entries),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
