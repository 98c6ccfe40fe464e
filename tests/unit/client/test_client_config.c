/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_client_config.c: libcoffer configuration: JSON loading (valid file,
 * unknown key, wrong types, missing/empty servers, syntax errors, relative
 * paths), the setters' argument checks, and the name tables.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <coffer/coffer.h>
#include "client/client.h"

static char tmpdir[1024];

static int
setup(void **state)
{
	const char *base = getenv("COFFER_TEST_TMP");
	char tmpl[1024];

	if (base == NULL)
		base = "/tmp";
	(void)mkdir(base, 0700);
	if (snprintf(tmpl, sizeof(tmpl), "%s/cfgtest-XXXXXX", base) >= (int)sizeof(tmpl))
		return -1;
	if (mkdtemp(tmpl) == NULL)
		return -1;
	memcpy(tmpdir, tmpl, sizeof(tmpdir));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
write_cfg(const char *name, const char *text, char *path, size_t n)
{
	FILE *f;

	snprintf(path, n, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int
load(const char *text, struct coffer_config **cfg, char *err, size_t errlen)
{
	char path[PATH_MAX];

	write_cfg("c.json", text, path, sizeof(path));
	return coffer_config_load_err(path, cfg, err, errlen);
}

static void
test_valid(void **state)
{
	struct coffer_config *cfg = NULL;
	char err[256], path[PATH_MAX], want[PATH_MAX + 16];
	static const uint8_t pin[32] = {
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	};

	mkdir(tmpdir, 0700);
	write_cfg("full.json",
	    "{\"servers\": [\"127.0.0.1:2000\", \"hsm.example:2001\", "
	    "\"[::1]:2002\"],"
	    " \"trust_anchor\": \"ca/customer-ca.pem\","
	    " \"server_name\": \"hsm.example\","
	    " \"pin_sha256\": \"0123456789ABCDEF0123456789abcdef"
	    "0123456789abcdef0123456789abcdef\","
	    " \"client_cert\": \"/abs/client.crt\","
	    " \"client_key\": \"client.key\","
	    " \"timeout_ms\": 2500, \"keygen_timeout_ms\": 45000,"
	    " \"connections\": 7, \"spin_us\": 0}\n",
	    path, sizeof(path));
	assert_int_equal(coffer_config_load_err(path, &cfg, err, sizeof(err)),
	    0);
	assert_non_null(cfg);
	assert_int_equal(cfg->nservers, 3);
	assert_string_equal(cfg->servers[0], "127.0.0.1:2000");
	assert_string_equal(cfg->servers[1], "hsm.example:2001");
	assert_string_equal(cfg->servers[2], "[::1]:2002");
	snprintf(want, sizeof(want), "%s/ca/customer-ca.pem", tmpdir);
	assert_string_equal(cfg->trust_anchor, want);
	assert_string_equal(cfg->server_name, "hsm.example");
	assert_true(cfg->have_pin);
	assert_memory_equal(cfg->pin, pin, 32);
	assert_string_equal(cfg->client_cert, "/abs/client.crt");
	snprintf(want, sizeof(want), "%s/client.key", tmpdir);
	assert_string_equal(cfg->client_key, want);
	assert_int_equal(cfg->timeout_ms, 2500);
	assert_int_equal(cfg->keygen_timeout_ms, 45000);
	assert_int_equal(cfg->connections, 7);
	assert_int_equal(cfg->spin_us, 0);
	coffer_config_free(cfg);

	/* Defaults; plain coffer_config_load. */
	cfg = NULL;
	write_cfg("min.json", "{\"servers\": [\"localhost:1\"]}", path,
	    sizeof(path));
	assert_int_equal(coffer_config_load(path, &cfg), 0);
	assert_int_equal(cfg->nservers, 1);
	assert_int_equal(cfg->timeout_ms, 10000);
	assert_int_equal(cfg->keygen_timeout_ms, 120000);
	assert_int_equal(cfg->connections, 16);
	assert_int_equal(cfg->spin_us, 3000);
	assert_null(cfg->trust_anchor);
	assert_false(cfg->have_pin);
	coffer_config_free(cfg);
}

static void
test_relative_to_cwd_name(void **state)
{
	struct coffer_config *cfg = NULL;
	char cwd[PATH_MAX], old[PATH_MAX];
	FILE *f;

	/* A config named without a directory resolves against ".". */
	assert_non_null(getcwd(old, sizeof(old)));
	assert_int_equal(chdir(tmpdir), 0);
	f = fopen("rel.json", "w");
	assert_non_null(f);
	fputs("{\"servers\":[\"a:1\"],\"trust_anchor\":\"x.pem\"}", f);
	fclose(f);
	assert_int_equal(coffer_config_load("rel.json", &cfg), 0);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_string_equal(cfg->trust_anchor, "x.pem");
	coffer_config_free(cfg);
	assert_int_equal(chdir(old), 0);
}

static void
test_unknown_key(void **state)
{
	struct coffer_config *cfg = (void *)1;
	char err[256] = "";

	assert_int_equal(load("{\"servers\":[\"a:1\"],\"trust_ancor\":\"x\"}",
	    &cfg, err, sizeof(err)), COFFER_E_CONFIG);
	assert_null(cfg);
	assert_non_null(strstr(err, "unknown key"));
	assert_non_null(strstr(err, "trust_ancor"));
}

static void
test_wrong_types(void **state)
{
	static const char *bad[] = {
		"{\"servers\":\"a:1\"}",
		"{\"servers\":[1]}",
		"{\"servers\":[\"a:1\"],\"timeout_ms\":\"10\"}",
		"{\"servers\":[\"a:1\"],\"timeout_ms\":0}",
		"{\"servers\":[\"a:1\"],\"timeout_ms\":1.5}",
		"{\"servers\":[\"a:1\"],\"keygen_timeout_ms\":0}",
		"{\"servers\":[\"a:1\"],\"keygen_timeout_ms\":3600001}",
		"{\"servers\":[\"a:1\"],\"keygen_timeout_ms\":\"60\"}",
		"{\"servers\":[\"a:1\"],\"connections\":0}",
		"{\"servers\":[\"a:1\"],\"connections\":-3}",
		"{\"servers\":[\"a:1\"],\"connections\":100000}",
		"{\"servers\":[\"a:1\"],\"spin_us\":10001}",
		"{\"servers\":[\"a:1\"],\"spin_us\":-1}",
		"{\"servers\":[\"a:1\"],\"trust_anchor\":5}",
		"{\"servers\":[\"a:1\"],\"trust_anchor\":\"\"}",
		"{\"servers\":[\"a:1\"],\"server_name\":true}",
		"{\"servers\":[\"a:1\"],\"pin_sha256\":\"abcd\"}",
		"{\"servers\":[\"a:1\"],\"pin_sha256\":\"zz23456789abcdef"
		    "0123456789abcdef0123456789abcdef0123456789abcdef\"}",
		"{\"servers\":[\"a:1\"],\"client_cert\":\"c.pem\"}",
		"{\"servers\":[\"no-port\"]}",
		"{\"servers\":[\"a:0\"]}",
		"{\"servers\":[\"a:99999\"]}",
		"[\"a:1\"]",
		"{\"servers\":[\"a:1\"],}",
		"{\"servers\":[\"a:1\"],\"servers\":[\"b:2\"]}",
		"",
	};
	struct coffer_config *cfg;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg = (void *)1;
		err[0] = '\0';
		print_message("case %zu: %s\n", i, bad[i]);
		assert_int_equal(load(bad[i], &cfg, err, sizeof(err)),
		    COFFER_E_CONFIG);
		assert_null(cfg);
		assert_true(strlen(err) > 0);
	}
}

static void
test_no_servers(void **state)
{
	struct coffer_config *cfg = NULL;
	char err[256] = "", many[4096];
	size_t i, off;

	assert_int_equal(load("{\"trust_anchor\":\"ca.pem\"}", &cfg, err,
	    sizeof(err)), COFFER_E_CONFIG);
	assert_non_null(strstr(err, "servers"));
	assert_int_equal(load("{\"servers\":[]}", &cfg, err, sizeof(err)),
	    COFFER_E_CONFIG);
	assert_int_equal(load("{}", &cfg, err, sizeof(err)), COFFER_E_CONFIG);

	/* 33 servers: one too many. */
	off = (size_t)snprintf(many, sizeof(many), "{\"servers\":[");
	for (i = 0; i < 33; i++)
		off += (size_t)snprintf(many + off, sizeof(many) - off,
		    "%s\"h%zu:1\"", i ? "," : "", i);
	snprintf(many + off, sizeof(many) - off, "]}");
	assert_int_equal(load(many, &cfg, err, sizeof(err)), COFFER_E_CONFIG);
	assert_null(cfg);
}

static void
test_missing_file(void **state)
{
	struct coffer_config *cfg = (void *)1;
	char err[256] = "", path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/does-not-exist.json", tmpdir);
	assert_int_equal(coffer_config_load_err(path, &cfg, err, sizeof(err)),
	    COFFER_E_CONFIG);
	assert_null(cfg);
	assert_true(strlen(err) > 0);
	assert_int_equal(coffer_config_load(NULL, &cfg), COFFER_E_INVAL);
	assert_int_equal(coffer_config_load(path, NULL), COFFER_E_INVAL);
}

static void
test_setters(void **state)
{
	struct coffer_config *cfg = NULL;
	struct coffer_client *c = (void *)1;
	char err[256] = "";
	static const uint8_t pin[32] = {
		0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89,
		0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89,
		0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89,
		0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89,
	};

	assert_int_equal(coffer_config_new(NULL), COFFER_E_INVAL);
	assert_int_equal(coffer_config_new(&cfg), 0);
	assert_int_equal(coffer_config_add_server(NULL, "a:1"),
	    COFFER_E_INVAL);
	assert_int_equal(coffer_config_add_server(cfg, NULL), COFFER_E_INVAL);
	assert_int_equal(coffer_config_add_server(cfg, "nocolon"),
	    COFFER_E_CONFIG);
	assert_int_equal(cfg->nservers, 0);

	/* No servers and no trust: never blind trust. */
	assert_int_equal(coffer_client_new(cfg, &c, err, sizeof(err)),
	    COFFER_E_CONFIG);
	assert_null(c);
	assert_int_equal(coffer_config_add_server(cfg, "127.0.0.1:1"), 0);
	err[0] = '\0';
	assert_int_equal(coffer_client_new(cfg, &c, err, sizeof(err)),
	    COFFER_E_CONFIG);
	assert_non_null(strstr(err, "trust"));

	assert_int_equal(coffer_config_set_pin(cfg, "abc"), COFFER_E_CONFIG);
	assert_false(cfg->have_pin);
	assert_int_equal(coffer_config_set_pin(cfg, "AB:CD:EF:01:23:45:67:89:"
	    "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:"
	    "45:67:89"), 0);
	assert_true(cfg->have_pin);
	assert_memory_equal(cfg->pin, pin, 32);
	assert_int_equal(coffer_config_set_timeout_ms(cfg, 0), COFFER_E_INVAL);
	assert_int_equal(coffer_config_set_timeout_ms(cfg, 1234), 0);
	assert_int_equal(cfg->timeout_ms, 1234);
	assert_int_equal(coffer_config_set_keygen_timeout_ms(cfg, 0),
	    COFFER_E_INVAL);
	assert_int_equal(coffer_config_set_keygen_timeout_ms(cfg, 3600001),
	    COFFER_E_INVAL);
	assert_int_equal(coffer_config_set_keygen_timeout_ms(cfg, 777), 0);
	assert_int_equal(cfg->keygen_timeout_ms, 777);
	assert_int_equal(cfg->timeout_ms, 1234);
	assert_int_equal(coffer_config_set_connections(cfg, 0),
	    COFFER_E_INVAL);
	assert_int_equal(coffer_config_set_connections(cfg, 2), 0);
	assert_int_equal(coffer_config_set_spin_us(cfg, 10001), COFFER_E_INVAL);
	assert_int_equal(coffer_config_set_spin_us(cfg, 0), 0);
	assert_int_equal(cfg->spin_us, 0);
	assert_int_equal(coffer_config_set_client_cert(cfg, "c", NULL),
	    COFFER_E_INVAL);
	assert_int_equal(coffer_config_set_trust_anchor(NULL, "x"),
	    COFFER_E_INVAL);
	assert_int_equal(coffer_config_set_server_name(cfg, ""),
	    COFFER_E_INVAL);
	coffer_config_free(cfg);
	coffer_config_free(NULL);
}

/* "unix:PATH" servers: relative paths resolved against the file's
 * directory, limits, and no trust anchor needed when all are local. */
static void
test_unix_servers(void **state)
{
	struct coffer_config *cfg = NULL;
	struct coffer_client *c = NULL;
	char err[256] = "", path[PATH_MAX], want[PATH_MAX + 16], big[256];

	write_cfg("u.json", "{\"servers\": [\"unix:run/c.sock\", "
	    "\"unix:/abs/d.sock\"]}", path, sizeof(path));
	assert_int_equal(coffer_config_load_err(path, &cfg, err, sizeof(err)),
	    0);
	assert_int_equal(cfg->nservers, 2);
	snprintf(want, sizeof(want), "unix:%s/run/c.sock", tmpdir);
	assert_string_equal(cfg->servers[0], want);
	assert_string_equal(cfg->servers[1], "unix:/abs/d.sock");
	assert_true(cf_config_all_unix(cfg));
	/* Only local servers: no certificate to trust, so the client gets
	 * as far as connecting (nothing listens there). */
	assert_int_equal(coffer_client_new(cfg, &c, err, sizeof(err)),
	    COFFER_E_CONNECT);
	assert_null(c);
	assert_non_null(strstr(err, "d.sock"));
	/* One TCP server among them needs a trust anchor or a pin again. */
	assert_int_equal(coffer_config_add_server(cfg, "127.0.0.1:9"), 0);
	assert_false(cf_config_all_unix(cfg));
	assert_int_equal(coffer_client_new(cfg, &c, err, sizeof(err)),
	    COFFER_E_CONFIG);
	assert_null(c);
	assert_non_null(strstr(err, "trust"));
	coffer_config_free(cfg);

	/* Empty and oversize paths are refused, naming the form. */
	assert_int_equal(load("{\"servers\": [\"unix:\"]}", &cfg, err,
	    sizeof(err)), COFFER_E_CONFIG);
	assert_non_null(strstr(err, "unix:PATH"));
	memset(big, 'p', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(coffer_config_new(&cfg), 0);
	snprintf(want, sizeof(want), "unix:/%.106s", big);	/* 107 bytes */
	assert_int_equal(coffer_config_add_server(cfg, want), 0);
	snprintf(want, sizeof(want), "unix:/%.107s", big);	/* 108 */
	assert_int_equal(coffer_config_add_server(cfg, want),
	    COFFER_E_CONFIG);
	assert_int_equal(coffer_config_add_server(cfg, "unix:"),
	    COFFER_E_CONFIG);
	assert_int_equal(cfg->nservers, 1);
	coffer_config_free(cfg);
}

static void
test_names(void **state)
{
	assert_string_equal(coffer_state_name(COFFER_STATE_ACTIVE), "ACTIVE");
	assert_string_equal(coffer_state_name(COFFER_STATE_UNINITIALIZED),
	    "UNINITIALIZED");
	assert_string_equal(coffer_state_name(99), "UNKNOWN");
	assert_string_equal(coffer_state_name(-1), "UNKNOWN");
	assert_string_equal(coffer_role_name(COFFER_ROLE_CO), "CO");
	assert_string_equal(coffer_role_name(COFFER_ROLE_PRECO), "PRECO");
	assert_non_null(coffer_role_name(1000));
	assert_int_equal(coffer_role_from_name("co"), COFFER_ROLE_CO);
	assert_int_equal(coffer_role_from_name("CO"), COFFER_ROLE_CO);
	assert_int_equal(coffer_role_from_name("crypto-officer"),
	    COFFER_ROLE_CO);
	assert_int_equal(coffer_role_from_name("Cu"), COFFER_ROLE_CU);
	assert_int_equal(coffer_role_from_name("au"), COFFER_ROLE_AU);
	assert_int_equal(coffer_role_from_name("PRECO"), COFFER_ROLE_PRECO);
	assert_int_equal(coffer_role_from_name("admin"), -1);
	assert_int_equal(coffer_role_from_name(""), -1);
	assert_int_equal(coffer_role_from_name(NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_relative_to_cwd_name),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_no_servers),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_setters),
		cmocka_unit_test(test_unix_servers),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
