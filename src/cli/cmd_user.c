/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_user.c: `coffer user create|delete|list|change-password|lock|unlock`.
 * Authorization is the node's (the CLI only forwards); new passwords come
 * from pass.c and are wiped right after the call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int
done(struct cli *c, const char *action, const char *user, const char *role)
{
	if (c->o.json) {
		json_t *j = json_pack("{s:s, s:s}", "result", action,
		    "username", user);

		if (j != NULL && role != NULL)
			json_object_set_new(j, "role", json_string(role));
		cli_json_print(j);
	} else {
		cli_info(c, "user %s %s", user, action);
	}
	return 0;
}

/* Names the user in the error when the node gave no detail. */
static int
failed(struct cli *c, int rc, const char *user)
{
	const char *d = coffer_client_last_error(c->client);

	if (d == NULL || *d == '\0' || strcmp(d, coffer_strerror(rc)) == 0)
		return cli_fail(c, rc, "user %s", user);
	return rc;
}

int
cmd_user_create(struct cli *c)
{
	const char *name = c->argv[0];
	char *pw = NULL;
	int role, rc;

	role = coffer_role_from_name(c->o.role);
	if (role != COFFER_ROLE_CO && role != COFFER_ROLE_CU &&
	    role != COFFER_ROLE_AU)
		return cli_usage(c, "--role must be co, cu or au");
	if ((rc = cli_new_password_get(c, name, &pw)) != 0)
		return rc;
	rc = coffer_user_create(c->client, name, role, pw);
	cli_password_free(pw);
	if (rc != 0)
		return failed(c, rc, name);
	return done(c, "created", name, coffer_role_name(role));
}

int
cmd_user_delete(struct cli *c)
{
	int rc;

	if ((rc = coffer_user_delete(c->client, c->argv[0])) != 0)
		return failed(c, rc, c->argv[0]);
	return done(c, "deleted", c->argv[0], NULL);
}

int
cmd_user_lock(struct cli *c)
{
	int rc;

	if ((rc = coffer_user_lock(c->client, c->argv[0])) != 0)
		return failed(c, rc, c->argv[0]);
	return done(c, "locked", c->argv[0], NULL);
}

int
cmd_user_unlock(struct cli *c)
{
	int rc;

	if ((rc = coffer_user_unlock(c->client, c->argv[0])) != 0)
		return failed(c, rc, c->argv[0]);
	return done(c, "unlocked", c->argv[0], NULL);
}

int
cmd_user_change_password(struct cli *c)
{
	const char *name = c->argc > 0 ? c->argv[0] : NULL;
	const char *who = name ? name : c->login_user;
	char *pw = NULL;
	int rc;

	if ((rc = cli_new_password_get(c, who, &pw)) != 0)
		return rc;
	rc = coffer_user_change_password(c->client, name, pw);
	cli_password_free(pw);
	if (rc != 0)
		return failed(c, rc, who);
	return done(c, "password changed", who, NULL);
}

/* ISO 8601 UTC string, or null when unknown (0). */
static json_t *
utc(uint64_t t)
{
	char buf[32];

	if (t == 0)
		return json_null();
	cli_fmt_time(t, buf, sizeof(buf));
	return json_string(buf);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct coffer_user *)a)->username,
	    ((const struct coffer_user *)b)->username);
}

int
cmd_user_list(struct cli *c)
{
	static const char *const head[5] = { "NAME", "ROLE", "LOCKED",
	    "FAILURES", "CREATED" };
	struct coffer_user *u = NULL;
	struct cli_table *t = NULL;
	json_t *arr = NULL;
	char fail[16], created[32];
	size_t i, n = 0;
	int rc;

	if ((rc = coffer_user_list(c->client, &u, &n)) != 0)
		return rc;
	if (n > 1)
		qsort(u, n, sizeof(*u), by_name);
	if (c->o.json) {
		if ((arr = json_array()) == NULL) {
			rc = COFFER_E_NOMEM;
			goto out;
		}
		for (i = 0; i < n; i++) {
			if (json_array_append_new(arr, json_pack("{s:s, s:s, "
			    "s:b, s:i, s:I, s:o, s:I, s:o}",
			    "username", u[i].username,
			    "role", coffer_role_name(u[i].role),
			    "locked", (int)u[i].locked,
			    "failures", (int)u[i].failures,
			    "created", (json_int_t)u[i].created,
			    "created_utc", utc(u[i].created),
			    "password_changed",
			    (json_int_t)u[i].password_changed,
			    "password_changed_utc",
			    utc(u[i].password_changed))) != 0) {
				rc = COFFER_E_NOMEM;
				goto out;
			}
		}
		cli_json_print(json_pack("{s:o}", "users", arr));
		arr = NULL;
		rc = 0;
		goto out;
	}
	if ((t = cli_table_new(5, head)) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		const char *row[5];

		snprintf(fail, sizeof(fail), "%u", u[i].failures);
		cli_fmt_time(u[i].created, created, sizeof(created));
		row[0] = u[i].username;
		row[1] = coffer_role_name(u[i].role);
		row[2] = u[i].locked ? "yes" : "no";
		row[3] = fail;
		row[4] = created;
		if ((rc = cli_table_add(t, row)) != 0)
			goto out;
	}
	cli_table_print(t, stdout);
	rc = 0;
 out:
	json_decref(arr);
	cli_table_free(t);
	free(u);
	return rc;
}
