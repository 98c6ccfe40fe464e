/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_config.c: cofferd's configuration loader: a full valid file, the
 * defaults, and every kind of bad input (syntax, unknown key at top level
 * and nested, wrong type, out of range, not a power of two, bad enum,
 * missing data_dir, duplicate key), each rejected with a message naming
 * the key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "coffer/coffer_err.h"
#include "common/wire.h"
#include "hsm/config.h"

static char tmpl[] = "/tmp/cf-test-config-XXXXXX";
static char *dir;

static int
setup(void **state)
{
	dir = mkdtemp(tmpl);
	return dir == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/c.json", dir);
	unlink(p);
	rmdir(dir);
	return 0;
}

static const char *
write_cfg(const char *text)
{
	static char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/c.json", dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

/* Loads text; expects failure with a message containing want. */
static void
expect_bad(const char *text, const char *want)
{
	struct cf_node_config c;
	char err[256] = "";
	int rc;

	rc = cf_node_config_load(write_cfg(text), &c, err, sizeof(err));
	if (rc != COFFER_E_CONFIG || strstr(err, want) == NULL)
		fail_msg("config %s: rc %d, err \"%s\", wanted \"%s\"", text,
		    rc, err, want);
	assert_true(strncmp(err, "config: ", 8) == 0);
	/* Nothing leaks into the struct after a failure. */
	assert_null(c.data_dir);
	assert_null(c.listen);
}

static void
test_full_valid(void **state)
{
	struct cf_node_config c;
	char err[256];

	assert_int_equal(cf_node_config_load(write_cfg(
	    "{\n"
	    "  \"node_id\": 7,\n"
	    "  \"listen\": \"0.0.0.0:4000\",\n"
	    "  \"raft_address\": \"[::1]:4001\",\n"
	    "  \"data_dir\": \"/var/lib/coffer\",\n"
	    "  \"log_file\": \"/var/log/cofferd.log\",\n"
	    "  \"log_level\": \"debug\",\n"
	    "  \"audit_file\": \"/var/log/coffer-audit.log\",\n"
	    "  \"max_frame\": 1024,\n"
	    "  \"max_connections\": 10,\n"
	    "  \"workers\": 3,\n"
	    "  \"spin_us\": 0,\n"
	    "  \"request_timeout_ms\": 2500,\n"
	    "  \"lockout\": {\"cu_max_failures\": 4, \"co_max_failures\": 2,\n"
	    "              \"co_action\": \"lock\"},\n"
	    "  \"password\": {\"min_length\": 10, \"max_length\": 64,\n"
	    "               \"scrypt_n\": 1048576, \"scrypt_r\": 4,\n"
	    "               \"scrypt_p\": 2},\n"
	    "  \"seal\": {\"backend\": \"file\", \"key_file\": \"/etc/k\"},\n"
	    "  \"raft\": {\"snapshot_threshold\": 100, \"snapshot_trailing\": 50,\n"
	    "           \"election_timeout_ms\": 300},\n"
	    "  \"secure_heap_size\": 1048576,\n"
	    "  \"max_objects\": 50\n"
	    "}\n"), &c, err, sizeof(err)), 0);
	assert_int_equal(c.node_id, 7);
	assert_string_equal(c.listen, "0.0.0.0:4000");
	assert_string_equal(c.raft_address, "[::1]:4001");
	assert_string_equal(c.data_dir, "/var/lib/coffer");
	assert_string_equal(c.log_file, "/var/log/cofferd.log");
	assert_int_equal(c.log_level, 3);
	assert_string_equal(c.audit_file, "/var/log/coffer-audit.log");
	assert_int_equal(c.max_frame, 1024);
	assert_int_equal(c.max_connections, 10);
	assert_int_equal(c.workers, 3);
	assert_int_equal(c.spin_us, 0);
	assert_int_equal(c.request_timeout_ms, 2500);
	assert_int_equal(c.cu_max_failures, 4);
	assert_int_equal(c.co_max_failures, 2);
	assert_false(c.co_zeroize);
	assert_int_equal(c.pw_min_len, 10);
	assert_int_equal(c.pw_max_len, 64);
	assert_int_equal(c.scrypt_n, 1048576);
	assert_int_equal(c.scrypt_r, 4);
	assert_int_equal(c.scrypt_p, 2);
	assert_string_equal(c.seal_backend, "file");
	assert_string_equal(c.seal_key_file, "/etc/k");
	assert_int_equal(c.snapshot_threshold, 100);
	assert_int_equal(c.snapshot_trailing, 50);
	assert_int_equal(c.election_timeout_ms, 300);
	assert_int_equal(c.secure_heap_size, 1048576);
	assert_int_equal(c.max_objects, 50);
	assert_non_null(c.path);
	cf_node_config_free(&c);
	assert_null(c.data_dir);
}

static void
test_defaults(void **state)
{
	struct cf_node_config c;
	char err[256];

	assert_int_equal(cf_node_config_load(write_cfg(
	    "{\"data_dir\": \"/d\"}"), &c, err, sizeof(err)), 0);
	assert_int_equal(c.node_id, 1);
	assert_string_equal(c.listen, "127.0.0.1:2225");
	assert_string_equal(c.raft_address, "127.0.0.1:2226");
	assert_null(c.log_file);
	assert_int_equal(c.log_level, 2);
	assert_string_equal(c.audit_file, "/d/audit.log");
	assert_int_equal(c.max_frame, 4u * 1024 * 1024 + 64 * 1024);
	assert_int_equal(c.max_connections, 1024);
	assert_int_equal(c.workers, 0);
	assert_int_equal(c.spin_us, 50);
	assert_int_equal(c.request_timeout_ms, 10000);
	assert_int_equal(c.cu_max_failures, 5);
	assert_int_equal(c.co_max_failures, 5);
	assert_true(c.co_zeroize);
	assert_int_equal(c.pw_min_len, 8);
	assert_int_equal(c.pw_max_len, 128);
	assert_int_equal(c.scrypt_n, 16384);
	assert_int_equal(c.scrypt_r, 8);
	assert_int_equal(c.scrypt_p, 1);
	assert_string_equal(c.seal_backend, "file");
	assert_string_equal(c.seal_key_file, "/d/seal.key");
	assert_int_equal(c.snapshot_threshold, 16384);
	assert_int_equal(c.snapshot_trailing, 4096);
	assert_int_equal(c.election_timeout_ms, 1000);
	assert_int_equal(c.secure_heap_size, 256u * 1024 * 1024);
	assert_int_equal(c.max_objects, 16666);
	cf_node_config_free(&c);
}

static void
test_syntax(void **state)
{
	expect_bad("{\"data_dir\": \"/d\",}", "c.json:1:");
	expect_bad("", "c.json");
	expect_bad("[1, 2]", "expected a JSON object");
	expect_bad("{\"data_dir\": \"/d\", \"data_dir\": \"/e\"}",
	    "duplicate");
}

static void
test_missing_file(void **state)
{
	struct cf_node_config c;
	char err[256] = "";

	assert_int_equal(cf_node_config_load("/nonexistent/cofferd.json", &c,
	    err, sizeof(err)), COFFER_E_CONFIG);
	assert_non_null(strstr(err, "/nonexistent/cofferd.json"));
}

static void
test_unknown_keys(void **state)
{
	expect_bad("{\"data_dir\": \"/d\", \"listen_addr\": \"x:1\"}",
	    "unknown key \"listen_addr\"");
	expect_bad("{\"data_dir\": \"/d\", \"lockout\": {\"co_action\": "
	    "\"lock\", \"cu_max\": 3}}", "unknown key \"lockout.cu_max\"");
	expect_bad("{\"data_dir\": \"/d\", \"raft\": {\"threshold\": 3}}",
	    "unknown key \"raft.threshold\"");
	expect_bad("{\"data_dir\": \"/d\", \"seal\": {\"kek\": \"x\"}}",
	    "unknown key \"seal.kek\"");
}

static void
test_wrong_types(void **state)
{
	expect_bad("{\"data_dir\": \"/d\", \"node_id\": \"1\"}",
	    "key \"node_id\": expected an integer");
	expect_bad("{\"data_dir\": \"/d\", \"max_frame\": 4096.0}",
	    "key \"max_frame\": expected an integer");
	expect_bad("{\"data_dir\": 5}", "key \"data_dir\": expected a string");
	expect_bad("{\"data_dir\": \"/d\", \"listen\": true}",
	    "key \"listen\": expected a string");
	expect_bad("{\"data_dir\": \"/d\", \"lockout\": 3}",
	    "key \"lockout\": expected an object");
	expect_bad("{\"data_dir\": \"/d\", \"password\": {\"scrypt_r\": null}}",
	    "key \"password.scrypt_r\": expected an integer");
	expect_bad("{\"data_dir\": \"\"}", "key \"data_dir\": must not be "
	    "empty");
}

static void
test_ranges(void **state)
{
	expect_bad("{\"data_dir\": \"/d\", \"node_id\": 0}",
	    "key \"node_id\": 0 out of range");
	expect_bad("{\"data_dir\": \"/d\", \"node_id\": -1}",
	    "key \"node_id\": -1 out of range");
	expect_bad("{\"data_dir\": \"/d\", \"max_frame\": 1023}",
	    "key \"max_frame\": 1023 out of range 1024..67108864");
	expect_bad("{\"data_dir\": \"/d\", \"max_frame\": 67108865}",
	    "key \"max_frame\"");
	expect_bad("{\"data_dir\": \"/d\", \"max_connections\": 0}",
	    "key \"max_connections\"");
	expect_bad("{\"data_dir\": \"/d\", \"workers\": 100000}",
	    "key \"workers\"");
	expect_bad("{\"data_dir\": \"/d\", \"spin_us\": 10001}",
	    "key \"spin_us\"");
	expect_bad("{\"data_dir\": \"/d\", \"password\": {\"scrypt_n\": 512}}",
	    "key \"password.scrypt_n\": 512 out of range");
	expect_bad("{\"data_dir\": \"/d\", \"password\": {\"scrypt_n\": "
	    "2097152}}", "key \"password.scrypt_n\"");
	expect_bad("{\"data_dir\": \"/d\", \"password\": {\"scrypt_n\": 3000}}",
	    "key \"password.scrypt_n\": 3000 is not a power of two");
	expect_bad("{\"data_dir\": \"/d\", \"password\": {\"min_length\": 20, "
	    "\"max_length\": 10}}", "key \"password.min_length\"");
	expect_bad("{\"data_dir\": \"/d\", \"lockout\": {\"cu_max_failures\": "
	    "0}}", "key \"lockout.cu_max_failures\"");
	expect_bad("{\"data_dir\": \"/d\", \"secure_heap_size\": 3000000}",
	    "key \"secure_heap_size\"");
	expect_bad("{\"data_dir\": \"/d\", \"max_objects\": 0}",
	    "key \"max_objects\": 0 out of range 1..1000000");
	expect_bad("{\"data_dir\": \"/d\", \"max_objects\": 1000001}",
	    "key \"max_objects\"");
	expect_bad("{\"data_dir\": \"/d\", \"max_objects\": \"50\"}",
	    "key \"max_objects\": expected an integer");
	expect_bad("{\"data_dir\": \"/d\", \"raft\": {\"election_timeout_ms\": "
	    "5}}", "key \"raft.election_timeout_ms\"");
	/* Bigger than any uint32 destination: still a range error. */
	expect_bad("{\"data_dir\": \"/d\", \"request_timeout_ms\": "
	    "99999999999}", "key \"request_timeout_ms\"");
}

static void
test_enums_and_addresses(void **state)
{
	expect_bad("{\"data_dir\": \"/d\", \"lockout\": {\"co_action\": "
	    "\"explode\"}}",
	    "config: key \"lockout.co_action\": expected \"zeroize\" or "
	    "\"lock\"");
	expect_bad("{\"data_dir\": \"/d\", \"log_level\": \"verbose\"}",
	    "key \"log_level\": expected");
	expect_bad("{\"data_dir\": \"/d\", \"seal\": {\"backend\": \"tpm\"}}",
	    "key \"seal.backend\": expected \"file\"");
	expect_bad("{\"data_dir\": \"/d\", \"listen\": \"127.0.0.1\"}",
	    "key \"listen\": expected \"host:port\"");
	expect_bad("{\"data_dir\": \"/d\", \"listen\": \"127.0.0.1:0\"}",
	    "key \"listen\"");
	expect_bad("{\"data_dir\": \"/d\", \"raft_address\": \"h:70000\"}",
	    "key \"raft_address\"");
	expect_bad("{\"data_dir\": \"/d\", \"listen\": \":2225\"}",
	    "key \"listen\"");
}

static void
test_missing_data_dir(void **state)
{
	expect_bad("{}", "key \"data_dir\": required");
	expect_bad("{\"node_id\": 2}", "key \"data_dir\": required");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_valid),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_enums_and_addresses),
		cmocka_unit_test(test_missing_data_dir),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
