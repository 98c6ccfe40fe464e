/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_lockout.c: the lockout rule, driven through cf_state_apply with
 * encoded LogEntries exactly as the login handler proposes them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_fsm_util.h"

enum { PRECO = 1, CO = 2, CU = 3, AU = 4 };

static void
test_cu_locked_after_five(void **ts)
{
	struct hookrec h = {0};
	struct cf_state *st = new_state(&h);
	struct cf_user_view v;
	uint64_t f = 0;
	int i, rc;

	make_active(st);
	assert_int_equal(ent_user_create(st, "bob", CU, NULL), 0);
	for (i = 1; i <= 5; i++) {
		assert_int_equal(ent_attempt(st, "bob", 5, 0, &f), 0);
		assert_int_equal(f, (uint64_t)i);
	}
	/* The handler saw failures == limit with a wrong password. */
	assert_int_equal(ent_lock(st, "bob", 1, NULL), 0);
	v = get_user(st, "bob", &rc);
	assert_int_equal(rc, 0);
	assert_true(v.locked);
	assert_int_equal(v.failures, 5);
	/* 6th attempt: locked, counter unchanged. */
	assert_int_equal(ent_attempt(st, "bob", 5, 0, &f), COFFER_E_LOCKED);
	assert_int_equal(ent_attempt(st, "bob", 5, 0, &f), COFFER_E_LOCKED);
	v = get_user(st, "bob", &rc);
	assert_int_equal(v.failures, 5);
	/* A success entry does not unlock. */
	assert_int_equal(ent_success(st, "bob"), 0);
	v = get_user(st, "bob", &rc);
	assert_true(v.locked);
	/* A CO unlock resets both. */
	assert_int_equal(ent_lock(st, "bob", 0, NULL), 0);
	v = get_user(st, "bob", &rc);
	assert_false(v.locked);
	assert_int_equal(v.failures, 0);
	assert_int_equal(ent_attempt(st, "bob", 5, 0, &f), 0);
	assert_int_equal(f, 1);
	assert_int_equal(node_state(st), COFFER__NODE_STATE__NODE_STATE_ACTIVE);
	assert_int_equal(h.zeroized, 0);
	cf_state_free(st);
}

static void
test_limit_enforced_without_followup(void **ts)
{
	struct hookrec h = {0};
	struct cf_state *st = new_state(&h);
	struct cf_user_view v;
	uint64_t f = 0;
	int i, rc;

	make_active(st);
	assert_int_equal(ent_user_create(st, "bob", CU, NULL), 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(ent_attempt(st, "bob", 5, 0, &f), 0);
	/* The follow-up lock was lost (crash): the next attempt locks. */
	assert_int_equal(ent_attempt(st, "bob", 5, 0, &f), COFFER_E_LOCKED);
	v = get_user(st, "bob", &rc);
	assert_true(v.locked);
	assert_int_equal(v.failures, 5);
	/* Even with zeroize_on_limit, a CU is only locked. */
	assert_int_equal(ent_user_create(st, "carl", CU, NULL), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(ent_attempt(st, "carl", 2, 1, &f), 0);
	assert_int_equal(ent_attempt(st, "carl", 2, 1, &f), COFFER_E_LOCKED);
	assert_int_equal(h.zeroized, 0);
	assert_int_equal(node_state(st), COFFER__NODE_STATE__NODE_STATE_ACTIVE);
	cf_state_free(st);
}

static void
test_success_resets(void **ts)
{
	struct hookrec h = {0};
	struct cf_state *st = new_state(&h);
	struct cf_user_view v;
	uint64_t f = 0;
	int i, rc;

	make_active(st);
	assert_int_equal(ent_user_create(st, "bob", CU, NULL), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(ent_attempt(st, "bob", 5, 0, &f), 0);
	assert_int_equal(f, 4);
	/* The right password: attempt (5) then success. */
	assert_int_equal(ent_attempt(st, "bob", 5, 0, &f), 0);
	assert_int_equal(f, 5);
	assert_int_equal(ent_success(st, "bob"), 0);
	v = get_user(st, "bob", &rc);
	assert_int_equal(v.failures, 0);
	assert_false(v.locked);
	for (i = 0; i < 4; i++)
		assert_int_equal(ent_attempt(st, "bob", 5, 0, &f), 0);
	assert_int_equal(f, 4);
	assert_int_equal(ent_success(st, "nobody"), COFFER_E_NOTFOUND);
	cf_state_free(st);
}

static void
test_unknown_user(void **ts)
{
	struct hookrec h = {0};
	struct cf_state *st = new_state(&h);
	uint64_t f = 77;

	make_active(st);
	/* Same answer as a wrong password: nothing revealed. */
	assert_int_equal(ent_attempt(st, "ghost", 5, 0, &f), COFFER_E_AUTH);
	assert_int_equal(f, 0);
	cf_state_free(st);
}

static void
test_co_zeroize_policy(void **ts)
{
	struct hookrec h = {0};
	struct cf_state *st = new_state(&h);
	uint8_t *key = NULL;
	size_t key_len = 0;
	char *cert = NULL;
	uint64_t f = 0;
	int i, rc;

	make_active(st);
	assert_int_equal(ent_user_create(st, "bob", CU, NULL), 0);
	for (i = 1; i <= 3; i++) {
		assert_int_equal(ent_attempt(st, "admin", 3, 1, &f), 0);
		assert_int_equal(f, (uint64_t)i);
	}
	assert_int_equal(h.zeroized, 0);
	/* The follow-up zeroize proposed by the handler. */
	assert_int_equal(ent_zeroize(st, "CO login failure limit"), 0);
	assert_int_equal(h.zeroized, 1);
	assert_string_equal(h.reason, "CO login failure limit");
	assert_int_equal(node_state(st),
	    COFFER__NODE_STATE__NODE_STATE_ZEROIZED);
	cf_state_rdlock(st);
	assert_int_equal(cf_state_user_count(st), 0);
	rc = cf_state_tls_material(st, &key, &key_len, &cert, NULL);
	cf_state_unlock(st);
	assert_int_equal(rc, COFFER_E_STATE);
	assert_null(key);
	(void)get_user(st, "bob", &rc);
	assert_int_equal(rc, COFFER_E_NOTFOUND);
	/* Nothing more happens on a zeroized state. */
	assert_int_equal(ent_attempt(st, "admin", 3, 1, &f),
	    COFFER_E_ZEROIZED);
	assert_int_equal(ent_user_create(st, "eve", CU, NULL), COFFER_E_STATE);
	assert_int_equal(ent_cluster_create(st, "preco"), COFFER_E_STATE);
	assert_int_equal(h.zeroized, 1);
	cf_state_free(st);
}

static void
test_co_zeroize_by_fsm_rule(void **ts)
{
	struct hookrec h = {0};
	struct cf_state *st = new_state(&h);
	uint64_t f = 0;
	int i;

	make_active(st);
	for (i = 0; i < 3; i++)
		assert_int_equal(ent_attempt(st, "admin", 3, 1, &f), 0);
	/* The handler's zeroize was lost: the FSM rule zeroizes. */
	assert_int_equal(ent_attempt(st, "admin", 3, 1, &f), COFFER_E_LOCKED);
	assert_int_equal(h.zeroized, 1);
	assert_int_equal(node_state(st),
	    COFFER__NODE_STATE__NODE_STATE_ZEROIZED);
	cf_state_free(st);
}

static void
test_co_lock_policy(void **ts)
{
	struct hookrec h = {0};
	struct cf_state *st = new_state(&h);
	struct cf_user_view v;
	uint64_t f = 0;
	int i, rc;

	make_active(st);
	assert_int_equal(ent_user_create(st, "carol", CO, NULL), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(ent_attempt(st, "admin", 2, 0, &f), 0);
	assert_int_equal(ent_attempt(st, "admin", 2, 0, &f), COFFER_E_LOCKED);
	v = get_user(st, "admin", &rc);
	assert_int_equal(rc, 0);
	assert_true(v.locked);
	assert_int_equal(h.zeroized, 0);
	assert_int_equal(node_state(st), COFFER__NODE_STATE__NODE_STATE_ACTIVE);
	/* Another CO unlocks it. */
	assert_int_equal(ent_lock(st, "admin", 0, NULL), 0);
	assert_int_equal(ent_attempt(st, "admin", 2, 0, &f), 0);
	assert_int_equal(f, 1);
	cf_state_free(st);
}

static void
test_preco_lockout(void **ts)
{
	struct hookrec h = {0};
	struct cf_state *st = new_state(&h);
	uint64_t f = 0;

	assert_int_equal(ent_cluster_create(st, "preco"), 0);
	assert_int_equal(ent_attempt(st, "preco", 1, 1, &f), 0);
	/* PRECO is not a CO: locked, never zeroized. */
	assert_int_equal(ent_attempt(st, "preco", 1, 1, &f), COFFER_E_LOCKED);
	assert_int_equal(h.zeroized, 0);
	assert_int_equal(node_state(st),
	    COFFER__NODE_STATE__NODE_STATE_UNINITIALIZED);
	cf_state_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cu_locked_after_five),
		cmocka_unit_test(test_limit_enforced_without_followup),
		cmocka_unit_test(test_success_resets),
		cmocka_unit_test(test_unknown_user),
		cmocka_unit_test(test_co_zeroize_policy),
		cmocka_unit_test(test_co_zeroize_by_fsm_rule),
		cmocka_unit_test(test_co_lock_policy),
		cmocka_unit_test(test_preco_lockout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
