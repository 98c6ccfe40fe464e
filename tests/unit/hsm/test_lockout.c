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

#define T0 1800000000u

static bool
room(struct cf_state *st, const char *name, uint64_t now, unsigned max)
{
	bool r;

	cf_state_rdlock(st);
	r = cf_state_login_room(st, name, now, max);
	cf_state_unlock(st);
	return r;
}

/* Many correct logins at once (a pool of connections, nginx workers): the
 * checks in progress are not failures, whatever their number. */
static void
test_concurrent_correct_logins(void **ts)
{
	struct hookrec h = {0};
	struct cf_state *st = new_state(&h);
	struct cf_user_view v;
	uint64_t f = 99, id;
	int round, rc;

	make_active(st);
	for (round = 0; round < 4; round++) {
		/* Five checks may be in flight under a limit of 5... */
		for (id = 1; id <= 5; id++) {
			assert_true(room(st, "admin", T0, 5));
			assert_int_equal(ent_reserve(st, "admin", 5, 1,
			    id + 10 * round, T0, &f), 0);
			assert_int_equal(f, 0);
		}
		/* ...and a sixth waits (the local view says so first). */
		assert_false(room(st, "admin", T0, 5));
		assert_int_equal(ent_reserve(st, "admin", 5, 1, 6 + 10 * round,
		    T0, &f), COFFER_E_BUSY);
		for (id = 1; id <= 5; id++)
			assert_int_equal(ent_success_id(st, "admin",
			    id + 10 * round), 0);
		v = get_user(st, "admin", &rc);
		assert_int_equal(rc, 0);
		assert_false(v.locked);
		assert_int_equal(v.failures, 0);
	}
	assert_int_equal(h.zeroized, 0);
	assert_int_equal(node_state(st), COFFER__NODE_STATE__NODE_STATE_ACTIVE);
	cf_state_free(st);
}

/* Concurrent guesses never get more checks than the limit: with 3
 * failures and a limit of 5, only two checks may be in flight. */
static void
test_concurrent_guesses_bounded(void **ts)
{
	struct hookrec h = {0};
	struct cf_state *st = new_state(&h);
	struct cf_user_view v;
	uint64_t f = 0, id;
	int rc;

	make_active(st);
	assert_int_equal(ent_user_create(st, "bob", CU, NULL), 0);
	for (id = 1; id <= 3; id++) {
		assert_int_equal(ent_reserve(st, "bob", 5, 0, id, T0, &f), 0);
		assert_int_equal(ent_failure(st, "bob", 5, 0, id, &f), 0);
		assert_int_equal(f, id);
	}
	assert_int_equal(ent_reserve(st, "bob", 5, 0, 10, T0, &f), 0);
	assert_int_equal(f, 3);
	assert_int_equal(ent_reserve(st, "bob", 5, 0, 11, T0, &f), 0);
	assert_false(room(st, "bob", T0, 5));
	assert_int_equal(ent_reserve(st, "bob", 5, 0, 12, T0, &f),
	    COFFER_E_BUSY);
	/* A reservation id is used once. */
	assert_int_equal(ent_reserve(st, "bob", 6, 0, 11, T0, &f),
	    COFFER_E_EXISTS);
	assert_int_equal(ent_failure(st, "bob", 5, 0, 10, &f), 0);
	assert_int_equal(f, 4);
	v = get_user(st, "bob", &rc);
	assert_false(v.locked);
	/* The fifth failure locks in the same entry: no follow-up needed. */
	assert_int_equal(ent_failure(st, "bob", 5, 0, 11, &f), 0);
	assert_int_equal(f, 5);
	v = get_user(st, "bob", &rc);
	assert_true(v.locked);
	assert_true(room(st, "bob", T0, 5));	/* the attempt answers */
	assert_int_equal(ent_reserve(st, "bob", 5, 0, 13, T0, &f),
	    COFFER_E_LOCKED);
	/* Unlock resets; a wrong guess among correct logins counts once. */
	assert_int_equal(ent_lock(st, "bob", 0, NULL), 0);
	for (id = 20; id < 25; id++)
		assert_int_equal(ent_reserve(st, "bob", 5, 0, id, T0, &f), 0);
	assert_int_equal(ent_failure(st, "bob", 5, 0, 20, &f), 0);
	assert_int_equal(f, 1);
	v = get_user(st, "bob", &rc);
	assert_false(v.locked);
	assert_int_equal(h.zeroized, 0);
	cf_state_free(st);
}

/* A CO failure at the limit zeroizes in the failure entry itself, while
 * correct logins in flight do not bring it closer. */
static void
test_co_failure_zeroizes(void **ts)
{
	struct hookrec h = {0};
	struct cf_state *st = new_state(&h);
	uint64_t f = 0;

	make_active(st);
	assert_int_equal(ent_reserve(st, "admin", 2, 1, 1, T0, &f), 0);
	assert_int_equal(ent_failure(st, "admin", 2, 1, 1, &f), 0);
	assert_int_equal(h.zeroized, 0);
	assert_int_equal(ent_reserve(st, "admin", 2, 1, 2, T0, &f), 0);
	assert_int_equal(ent_reserve(st, "admin", 2, 1, 3, T0, &f),
	    COFFER_E_BUSY);
	assert_int_equal(h.zeroized, 0);
	assert_int_equal(ent_failure(st, "admin", 2, 1, 2, &f), 0);
	assert_int_equal(f, 2);
	assert_int_equal(h.zeroized, 1);
	assert_int_equal(node_state(st),
	    COFFER__NODE_STATE__NODE_STATE_ZEROIZED);
	cf_state_free(st);
}

/* A reservation whose outcome never came (crash) expires after 60 s of log
 * time; an outcome for an expired or unknown reservation still counts. */
static void
test_reservation_expires(void **ts)
{
	struct hookrec h = {0};
	struct cf_state *st = new_state(&h);
	struct cf_user_view v;
	uint64_t f = 0, id;
	int rc;

	make_active(st);
	assert_int_equal(ent_user_create(st, "bob", CU, NULL), 0);
	for (id = 1; id <= 5; id++)
		assert_int_equal(ent_reserve(st, "bob", 5, 0, id, T0, &f), 0);
	assert_false(room(st, "bob", T0 + 60, 5));
	assert_int_equal(ent_reserve(st, "bob", 5, 0, 6, T0 + 60, &f),
	    COFFER_E_BUSY);
	assert_true(room(st, "bob", T0 + 61, 5));
	assert_int_equal(ent_reserve(st, "bob", 5, 0, 7, T0 + 61, &f), 0);
	/* A clock that went back more than the lifetime expires them too. */
	assert_true(room(st, "bob", T0 - 120, 5));
	assert_int_equal(ent_failure(st, "bob", 5, 0, 3, &f), 0);
	assert_int_equal(f, 1);
	assert_int_equal(ent_failure(st, "bob", 5, 0, 7, &f), 0);
	assert_int_equal(f, 2);
	v = get_user(st, "bob", &rc);
	assert_int_equal(v.failures, 2);
	assert_false(v.locked);
	cf_state_free(st);
}

/* Reservations travel in snapshots: a node restored from one enforces
 * the same bound. */
static void
test_reservations_in_snapshot(void **ts)
{
	struct hookrec h = {0}, h2 = {0};
	struct cf_state *st = new_state(&h), *st2 = new_state(&h2);
	uint8_t *p = NULL;
	size_t n = 0;
	uint64_t f = 0, id;

	make_active(st);
	assert_int_equal(ent_user_create(st, "bob", CU, NULL), 0);
	assert_int_equal(ent_reserve(st, "bob", 5, 0, 100, T0, &f), 0);
	assert_int_equal(ent_failure(st, "bob", 5, 0, 100, &f), 0);
	for (id = 1; id <= 4; id++)
		assert_int_equal(ent_reserve(st, "bob", 5, 0, id, T0, &f), 0);
	assert_int_equal(cf_state_snapshot(st, &p, &n), 0);
	assert_int_equal(cf_state_restore(st2, p, n), 0);
	free(p);
	assert_false(room(st2, "bob", T0, 5));
	assert_int_equal(ent_reserve(st2, "bob", 5, 0, 5, T0, &f),
	    COFFER_E_BUSY);
	/* The restored ids are held: id 4 is known. */
	assert_int_equal(ent_reserve(st2, "bob", 5, 0, 4, T0 + 1, &f),
	    COFFER_E_EXISTS);
	assert_int_equal(ent_success_id(st2, "bob", 2), 0);
	assert_int_equal(ent_reserve(st2, "bob", 5, 0, 5, T0, &f), 0);
	assert_int_equal(f, 0);
	cf_state_free(st);
	cf_state_free(st2);
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
		cmocka_unit_test(test_concurrent_correct_logins),
		cmocka_unit_test(test_concurrent_guesses_bounded),
		cmocka_unit_test(test_co_failure_zeroizes),
		cmocka_unit_test(test_reservation_expires),
		cmocka_unit_test(test_reservations_in_snapshot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
