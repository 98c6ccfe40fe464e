/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_cluster.c: the initialization ceremony (fingerprint, init,
 * initialize, activate) and `cluster info`, through libcoffer only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define PEM_MAX		(64 * 1024)
#define FETCH_TIMEOUT_MS 10000

/* The first server of the configuration file, for `cluster fingerprint`
 * without --server (the public API has no accessor for it). */
static int
config_first_server(struct cli *c, char *buf, size_t len)
{
	const char *path = c->o.config;
	json_error_t err;
	json_t *root = NULL, *s;
	int rc;

	if (path == NULL && (path = getenv("COFFER_CONFIG")) == NULL)
		path = "coffer.json";
	if ((root = json_load_file(path, 0, &err)) == NULL &&
	    c->o.config == NULL && getenv("COFFER_CONFIG") == NULL) {
		path = "/etc/coffer/client.json";
		root = json_load_file(path, 0, &err);
	}
	if (root == NULL)
		return cli_usage(c, "give --server HOST:PORT (%s: %s)", path,
		    err.text);
	s = json_array_get(json_object_get(root, "servers"), 0);
	if (!json_is_string(s)) {
		rc = cli_fail(c, COFFER_E_CONFIG, "%s: no \"servers\"", path);
		goto out;
	}
	snprintf(buf, len, "%s", json_string_value(s));
	rc = 0;
 out:
	json_decref(root);
	return rc;
}

int
cmd_cluster_fingerprint(struct cli *c)
{
	char fp[65], server[256];
	const char *srv;
	json_t *arr = NULL;
	size_t i, n = c->o.nservers;
	int rc;

	if (n == 0) {
		if ((rc = config_first_server(c, server, sizeof(server))) != 0)
			return rc;
		n = 1;
	}
	if (c->o.json && (arr = json_array()) == NULL)
		return COFFER_E_NOMEM;
	for (i = 0; i < n; i++) {
		srv = c->o.nservers ? c->o.servers[i] : server;
		rc = coffer_fetch_fingerprint(srv, FETCH_TIMEOUT_MS, fp,
		    sizeof(fp));
		if (rc != 0) {
			json_decref(arr);
			if (rc == COFFER_E_UNSUPPORTED)
				return cli_fail(c, rc, "%s: a unix socket has "
				    "no TLS certificate; give the node's "
				    "host:port", srv);
			return cli_fail(c, rc, "%s", srv);
		}
		if (arr != NULL)
			json_array_append_new(arr, json_pack("{s:s, s:s}",
			    "server", srv, "fingerprint", fp));
		else if (n == 1)
			printf("%s\n", fp);
		else
			printf("%s  %s\n", srv, fp);
	}
	if (arr != NULL) {
		if (n == 1) {
			json_t *one = json_incref(json_array_get(arr, 0));

			json_decref(arr);
			arr = one;
		}
		cli_json_print(arr);
	}
	return 0;
}

int
cmd_cluster_init(struct cli *c)
{
	char cluster_id[64] = "";
	char *csr = NULL;
	int rc;

	if ((rc = coffer_cluster_csr(c->client, &csr, cluster_id,
	    sizeof(cluster_id))) != 0)
		goto out;
	if ((rc = cli_write_text(c, c->o.out, csr, 0644)) != 0)
		goto out;
	if (c->o.json)
		cli_json_print(json_pack("{s:s, s:s}", "csr", c->o.out,
		    "cluster_id", cluster_id));
	else
		cli_info(c, "cluster CSR written to %s (cluster id %s)\n"
		    "next: sign it (coffer ca sign --ca DIR --csr %s --out "
		    "cluster.crt), then coffer cluster initialize",
		    c->o.out, cluster_id, c->o.out);
 out:
	free(csr);
	return rc;
}

int
cmd_cluster_initialize(struct cli *c)
{
	char *cert = NULL, *anchor = NULL;
	int rc;

	if ((rc = cli_read_text(c, c->o.cert, PEM_MAX, &cert)) != 0 ||
	    (rc = cli_read_text(c, c->o.ca, PEM_MAX, &anchor)) != 0)
		goto out;
	if ((rc = coffer_cluster_initialize(c->client, cert, anchor)) != 0)
		goto out;
	if (c->o.json)
		cli_json_print(json_pack("{s:s, s:s, s:s}", "state",
		    coffer_state_name(COFFER_STATE_INITIALIZED), "certificate",
		    c->o.cert, "trust_anchor", c->o.ca));
	else
		cli_info(c, "cluster initialized: the node now presents %s; "
		    "clients verify it against %s\n"
		    "next: coffer cluster activate --ca %s --user preco "
		    "--co-user NAME", c->o.cert, c->o.ca, c->o.ca);
 out:
	free(cert);
	free(anchor);
	return rc;
}

int
cmd_cluster_activate(struct cli *c)
{
	char *pw = NULL;
	int rc;

	if ((rc = cli_new_password_get(c, c->o.co_user, &pw)) != 0)
		return rc;
	rc = coffer_cluster_activate(c->client, c->o.co_user, pw);
	cli_password_free(pw);
	if (rc != 0)
		return rc;
	/* The PRECO no longer exists: libcoffer carries the session over to
	 * the new crypto officer. */
	snprintf(c->login_user, sizeof(c->login_user), "%s", c->o.co_user);
	c->login_role = COFFER_ROLE_CO;
	if (c->o.json)
		cli_json_print(json_pack("{s:s, s:s}", "state",
		    coffer_state_name(COFFER_STATE_ACTIVE), "crypto_officer",
		    c->o.co_user));
	else
		cli_info(c, "cluster activated: crypto officer %s created; "
		    "the PRECO is gone", c->o.co_user);
	return 0;
}

int
cmd_cluster_info(struct cli *c)
{
	struct coffer_info in = { 0 };
	struct cli_table *t = NULL;
	char num[10][32], st[sizeof(in.selftest) + 32] = "";
	int rc;

	if ((rc = coffer_get_info(c->client, &in)) != 0)
		return rc;
	if (c->o.json) {
		json_t *j = json_pack("{s:s, s:s, s:I, s:s, s:s, s:i, s:I, "
		    "s:i, s:i, s:I, s:s}",
		    "state", coffer_state_name(in.state),
		    "cluster_id", in.cluster_id,
		    "node_id", (json_int_t)in.node_id,
		    "version", in.version,
		    "raft_state", in.raft_state,
		    "members", (int)in.members,
		    "applied_index", (json_int_t)in.applied_index,
		    "users", (int)in.user_count,
		    "connections", (int)in.connection_count,
		    "uptime_s", (json_int_t)in.uptime_s,
		    "bootstrap_fingerprint", in.bootstrap_fingerprint);

		if (j != NULL && in.error_detail[0] != '\0')
			json_object_set_new(j, "error_detail",
			    json_string(in.error_detail));
		if (j != NULL && in.selftest[0] != '\0') {
			json_object_set_new(j, "selftest",
			    json_string(in.selftest));
			json_object_set_new(j, "selftest_count",
			    json_integer(in.selftest_count));
			json_object_set_new(j, "entropy_health",
			    json_string(in.entropy_health));
			json_object_set_new(j, "drbg_health",
			    json_string(in.drbg_health));
			json_object_set_new(j, "token_objects",
			    json_integer(in.token_objects));
			json_object_set_new(j, "max_objects",
			    json_integer(in.max_objects));
			json_object_set_new(j, "session_objects",
			    json_integer(in.session_objects));
		}
		cli_json_print(j);
		return 0;
	}
	snprintf(num[0], sizeof(num[0]), "%llu",
	    (unsigned long long)in.node_id);
	snprintf(num[1], sizeof(num[1]), "%u", in.members);
	snprintf(num[2], sizeof(num[2]), "%llu",
	    (unsigned long long)in.applied_index);
	snprintf(num[3], sizeof(num[3]), "%u", in.user_count);
	snprintf(num[4], sizeof(num[4]), "%u", in.connection_count);
	cli_fmt_duration(in.uptime_s, num[5], sizeof(num[5]));
	if (in.selftest[0] != '\0') {
		snprintf(num[6], sizeof(num[6]), "%u / %u", in.token_objects,
		    in.max_objects);
		snprintf(num[7], sizeof(num[7]), "%u", in.session_objects);
		snprintf(st, sizeof(st), "%s (%u KATs)", in.selftest,
		    in.selftest_count);
	} else {
		num[6][0] = num[7][0] = '\0';
	}
	{
		const char *rows[][2] = {
			{ "state", coffer_state_name(in.state) },
			{ "cluster id",
			  in.cluster_id[0] ? in.cluster_id : "-" },
			{ "node id", num[0] },
			{ "version", in.version },
			{ "raft state",
			  in.raft_state[0] ? in.raft_state : "-" },
			{ "members", num[1] },
			{ "applied index", num[2] },
			{ "users", num[3] },
			{ "connections", num[4] },
			{ "uptime", num[5] },
			{ "bootstrap fingerprint", in.bootstrap_fingerprint },
			{ "token objects", num[6] },
			{ "session objects", num[7] },
			{ "self-tests", st },
			{ "entropy source", in.entropy_health },
			{ "random generator", in.drbg_health },
			{ "error", in.error_detail },
		};
		size_t i, n = sizeof(rows) / sizeof(rows[0]);

		if ((t = cli_table_new(2, NULL)) == NULL)
			return COFFER_E_NOMEM;
		for (i = 0; i < n; i++) {
			if (rows[i][1] == NULL || rows[i][1][0] == '\0')
				continue;
			if ((rc = cli_table_add(t, rows[i])) != 0)
				goto out;
		}
	}
	cli_table_print(t, stdout);
	rc = 0;
 out:
	cli_table_free(t);
	return rc;
}
