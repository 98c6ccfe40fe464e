/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_authz.c: walks the whole command table: every opcode x session
 * (not logged in, PRECO, CO, CU, AU) x node state, against the matrix
 * written out below independently of cmd.c's table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "coffer/coffer_err.h"
#include "hsm/cmd.h"

enum { NONE = 0, PRECO = 1, CO = 2, CU = 3, AU = 4 };
enum { UNKNOWN = 0, UNINIT = 1, INIT = 2, ACTIVE = 3, ZEROIZED = 4,
	ERROR = 5 };

/*
 * The expected policy. who: "*" = anyone (no login needed), else the
 * roles allowed after login. where: the node states (U = UNINITIALIZED,
 * I = INITIALIZED, A = ACTIVE, Z = ZEROIZED, E = ERROR, 0 = UNKNOWN).
 */
static const struct {
	uint32_t op;
	const char *name;
	const char *who;
	const char *where;
} policy[] = {
	{ 16, "get_info",		"*",		"0UIAZE" },
	{ 17, "cluster_csr",		"*",		"U" },
	{ 18, "cluster_initialize",	"PRECO",	"U" },
	{ 19, "cluster_activate",	"PRECO",	"I" },
	{ 20, "login",			"*",		"UIA" },
	{ 21, "logout",			"*",		"UIA" },
	{ 22, "user_create",		"CO",		"A" },
	{ 23, "user_delete",		"CO",		"A" },
	{ 24, "user_list",		"CO CU AU",	"A" },
	{ 25, "user_password",		"CO CU AU",	"A" },
	{ 26, "user_lock",		"CO",		"A" },
	{ 27, "user_unlock",		"CO",		"A" },
	{ 28, "audit_export",		"CO AU",	"A" },
	{ 29, "ping",			"*",		"0UIAZE" },
	/* Objects and cryptography: keys are for crypto users only; a CO
	 * may set CKA_TRUSTED (obj_set_attrs) and nothing else. */
	{ 64, "obj_generate_key",	"CU",		"A" },
	{ 65, "obj_generate_key_pair",	"CU",		"A" },
	{ 66, "obj_create",		"CU",		"A" },
	{ 67, "obj_copy",		"CU",		"A" },
	{ 68, "obj_destroy",		"CU",		"A" },
	{ 69, "obj_get_attrs",		"CU",		"A" },
	{ 70, "obj_set_attrs",		"CO CU",	"A" },
	{ 71, "obj_find",		"CU",		"A" },
	{ 72, "obj_share",		"CU",		"A" },
	{ 74, "crypto_init",		"CU",		"A" },
	{ 75, "crypto_update",		"CU",		"A" },
	{ 76, "crypto_final",		"CU",		"A" },
	{ 77, "crypto_one_shot",	"CU",		"A" },
	{ 78, "crypto_cancel",		"CU",		"A" },
	{ 79, "wrap_key",		"CU",		"A" },
	{ 80, "unwrap_key",		"CU",		"A" },
	{ 81, "derive_key",		"CU",		"A" },
	/* PKCS#11 public sessions list mechanisms and draw random
	 * bytes before C_Login. */
	{ 82, "random",			"*",		"A" },
	{ 83, "mech_list",		"*",		"A" },
};
#define NPOLICY (sizeof(policy) / sizeof(policy[0]))

static const char *role_names[] = { "NONE", "PRECO", "CO", "CU", "AU" };
static const char state_letters[] = "0UIAZE";

static int
role_in(const char *who, int role)
{
	const char *p = who;
	size_t n = strlen(role_names[role]);

	while ((p = strstr(p, role_names[role])) != NULL) {
		if ((p == who || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ' '))
			return 1;
		p += n;
	}
	return 0;
}

static int
expected(size_t i, int state, int logged_in, int role)
{
	int anyone = strcmp(policy[i].who, "*") == 0;

	if (strchr(policy[i].where, state_letters[state]) == NULL) {
		if (state == ERROR)
			return COFFER_E_SELFTEST;
		if (state == ZEROIZED)
			return COFFER_E_ZEROIZED;
		return COFFER_E_STATE;
	}
	if (anyone)
		return 0;
	if (!logged_in)
		return COFFER_E_NOTLOGGEDIN;
	return role_in(policy[i].who, role) ? 0 : COFFER_E_ROLE;
}

static void
test_table_shape(void **st)
{
	const struct cf_cmd *t;
	size_t n, i, j;

	t = cf_cmd_table(&n);
	assert_int_equal(n, NPOLICY);
	for (i = 0; i < NPOLICY; i++) {
		const struct cf_cmd *c = cf_cmd_find(policy[i].op);
		assert_non_null(c);
		assert_string_equal(c->name, policy[i].name);
		assert_non_null(c->fn);
		/* One row per opcode. */
		for (j = 0; j < n; j++)
			if (j != (size_t)(c - t))
				assert_int_not_equal(t[j].opcode, c->opcode);
	}
	/* Every Request body in the schema has a row. */
	for (i = 0; i < coffer__request__descriptor.n_fields; i++) {
		const ProtobufCFieldDescriptor *f =
		    &coffer__request__descriptor.fields[i];
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			assert_non_null(cf_cmd_find(f->id));
	}
}

static void
test_matrix(void **st)
{
	size_t i;
	int state, role, li, want, got, checked = 0;

	for (i = 0; i < NPOLICY; i++) {
		const struct cf_cmd *c = cf_cmd_find(policy[i].op);
		for (state = UNKNOWN; state <= ERROR; state++) {
			for (role = NONE; role <= AU; role++) {
				li = role != NONE;
				want = expected(i, state, li, role);
				got = cf_cmd_authorize(c, state, li, role);
				if (want != got)
					fail_msg("%s state=%c role=%s: want "
					    "%d got %d", policy[i].name,
					    state_letters[state],
					    role_names[role], want, got);
				checked++;
			}
		}
	}
	assert_int_equal(checked, (int)NPOLICY * 6 * 5);
	assert_int_equal(NPOLICY, 14 + 19);
}

#define AUTHZ(op, state, role) \
	cf_cmd_authorize(cf_cmd_find(op), (state), (role) != NONE, (role))

static void
test_spot_checks(void **st)
{
	/* Written out: the decisions the integration tests rely on. */
	assert_int_equal(AUTHZ(22, ACTIVE, CO), 0);
	assert_int_equal(AUTHZ(22, ACTIVE, CU), COFFER_E_ROLE);
	assert_int_equal(AUTHZ(22, ACTIVE, AU), COFFER_E_ROLE);
	assert_int_equal(AUTHZ(22, ACTIVE, NONE), COFFER_E_NOTLOGGEDIN);
	assert_int_equal(AUTHZ(23, ACTIVE, CU), COFFER_E_ROLE);
	assert_int_equal(AUTHZ(26, ACTIVE, AU), COFFER_E_ROLE);
	assert_int_equal(AUTHZ(27, ACTIVE, CU), COFFER_E_ROLE);
	assert_int_equal(AUTHZ(28, ACTIVE, CU), COFFER_E_ROLE);
	assert_int_equal(AUTHZ(28, ACTIVE, AU), 0);
	assert_int_equal(AUTHZ(28, ACTIVE, CO), 0);
	assert_int_equal(AUTHZ(24, ACTIVE, CU), 0);
	assert_int_equal(AUTHZ(24, INIT, PRECO), COFFER_E_STATE);
	assert_int_equal(AUTHZ(24, ACTIVE, PRECO), COFFER_E_ROLE);
	assert_int_equal(AUTHZ(25, ACTIVE, PRECO), COFFER_E_ROLE);
	/* Ceremony order. */
	assert_int_equal(AUTHZ(18, UNINIT, PRECO), 0);
	assert_int_equal(AUTHZ(18, UNINIT, NONE), COFFER_E_NOTLOGGEDIN);
	assert_int_equal(AUTHZ(18, INIT, PRECO), COFFER_E_STATE);
	assert_int_equal(AUTHZ(19, UNINIT, PRECO), COFFER_E_STATE);
	assert_int_equal(AUTHZ(19, INIT, PRECO), 0);
	assert_int_equal(AUTHZ(19, ACTIVE, CO), COFFER_E_STATE);
	assert_int_equal(AUTHZ(19, INIT, CO), COFFER_E_ROLE);
	assert_int_equal(AUTHZ(17, UNINIT, NONE), 0);
	assert_int_equal(AUTHZ(17, ACTIVE, NONE), COFFER_E_STATE);
	/* Zeroized and failed nodes serve status only. */
	assert_int_equal(AUTHZ(16, ZEROIZED, NONE), 0);
	assert_int_equal(AUTHZ(29, ERROR, NONE), 0);
	assert_int_equal(AUTHZ(20, ZEROIZED, NONE), COFFER_E_ZEROIZED);
	assert_int_equal(AUTHZ(24, ZEROIZED, CO), COFFER_E_ZEROIZED);
	assert_int_equal(AUTHZ(20, ERROR, NONE), COFFER_E_SELFTEST);
	assert_int_equal(AUTHZ(22, ERROR, CO), COFFER_E_SELFTEST);
	assert_int_equal(AUTHZ(20, UNKNOWN, NONE), COFFER_E_STATE);
	/* Before C_Login: mechanisms and random, never objects. */
	assert_int_equal(AUTHZ(82, ACTIVE, NONE), 0);
	assert_int_equal(AUTHZ(83, ACTIVE, NONE), 0);
	assert_int_equal(AUTHZ(83, ACTIVE, CU), 0);
	assert_int_equal(AUTHZ(82, UNINIT, NONE), COFFER_E_STATE);
	assert_int_equal(AUTHZ(83, ZEROIZED, NONE), COFFER_E_ZEROIZED);
	assert_int_equal(AUTHZ(71, ACTIVE, NONE), COFFER_E_NOTLOGGEDIN);
	assert_int_equal(AUTHZ(69, ACTIVE, NONE), COFFER_E_NOTLOGGEDIN);
	/* Writes are flagged (need an idempotency key) and audited. */
	assert_true(cf_cmd_find(22)->flags & CF_CMD_WRITE);
	assert_true(cf_cmd_find(22)->flags & CF_CMD_AUDIT);
	assert_true(cf_cmd_find(20)->flags & CF_CMD_AUDIT);
	assert_false(cf_cmd_find(20)->flags & CF_CMD_WRITE);
	assert_false(cf_cmd_find(24)->flags & CF_CMD_WRITE);
}

static void
test_unknown(void **st)
{
	uint32_t op;

	assert_null(cf_cmd_find(0));
	assert_null(cf_cmd_find(15));
	assert_null(cf_cmd_find(30));
	assert_null(cf_cmd_find(63));
	assert_null(cf_cmd_find(1000));
	for (op = 0; op < 200; op++) {
		if ((op >= 16 && op <= 29) || (op >= 64 && op <= 83 &&
		    op != 73))
			continue;
		assert_null(cf_cmd_find(op));
	}
	assert_int_equal(cf_cmd_authorize(NULL, ACTIVE, 1, CO),
	    COFFER_E_UNSUPPORTED);
	/* Out-of-range states and roles are refused, not indexed. */
	assert_int_equal(cf_cmd_authorize(cf_cmd_find(24), 31, 1, CO),
	    COFFER_E_STATE);
	assert_int_equal(cf_cmd_authorize(cf_cmd_find(24), -1, 1, CO),
	    COFFER_E_STATE);
	assert_int_equal(cf_cmd_authorize(cf_cmd_find(24), ACTIVE, 1, 40),
	    COFFER_E_ROLE);
	assert_int_equal(cf_cmd_authorize(cf_cmd_find(24), ACTIVE, 1, -3),
	    COFFER_E_ROLE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_shape),
		cmocka_unit_test(test_matrix),
		cmocka_unit_test(test_spot_checks),
		cmocka_unit_test(test_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
