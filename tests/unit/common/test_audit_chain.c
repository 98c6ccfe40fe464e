/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_audit_chain.c: audit record format and chain verification. The
 * expected line and hashes are computed here with OpenSSL and jansson, not
 * with the code under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "coffer/coffer_err.h"
#include "common/audit_chain.h"

#define NREC 5

static void
sha256_hex(const char *p, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	size_t i;

	assert_int_equal(EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL), 1);
	assert_int_equal(mdlen, 32);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/*
 * Walks the chain as a verifier does: each line checks, seq counts up from
 * 1 and prev is the previous hash. Returns the index of the first bad line
 * or -1 if the whole chain is good.
 */
static int
walk(char **lines, int n)
{
	char prev[65], hash[65], head[65] = CF_AUDIT_ZERO_HASH;
	uint64_t seq, want = 1;
	int i;

	for (i = 0; i < n; i++) {
		if (cf_audit_check_line(lines[i], &seq, prev, hash) != 0)
			return i;
		if (seq != want || strcmp(prev, head) != 0)
			return i;
		memcpy(head, hash, 65);
		want++;
	}
	return -1;
}

static void
build(char **lines, char hashes[][65])
{
	static const char *users[NREC] = { "", "alice", "bob \"the\" admin",
	    "eve\nseq 9", "back\\slash\t" };
	struct cf_audit_fields f = { 0 };
	int i;

	for (i = 0; i < NREC; i++) {
		f.seq = (uint64_t)i + 1;
		f.time_ms = 1700000000123ull + (uint64_t)i;
		f.node_id = 3;
		f.user = users[i];
		f.role = i == 0 ? "PRECO" : "CO";
		f.op = "user_create";
		f.target = "carol";
		f.result = "COFFER_OK";
		f.peer = "127.0.0.1:40000";
		f.prev = i == 0 ? CF_AUDIT_ZERO_HASH : hashes[i - 1];
		assert_int_equal(cf_audit_format(&f, &lines[i], hashes[i]), 0);
		assert_non_null(lines[i]);
		assert_null(strchr(lines[i], '\n'));
	}
}

static void
free_lines(char **lines, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(lines[i]);
}

static void
test_exact_format(void **state)
{
	static const char body[] = "{\"seq\":1,\"time\":"
	    "\"1970-01-01T00:00:01.002Z\",\"node\":2,\"user\":\"a\\\"b\\nc\","
	    "\"role\":\"CU\",\"op\":\"login\",\"target\":\"\",\"result\":"
	    "\"COFFER_OK\",\"peer\":\"127.0.0.1:5\",\"prev\":\""
	    CF_AUDIT_ZERO_HASH "\"";
	struct cf_audit_fields f = { 1, 1002, 2, "a\"b\nc", "CU", "login", "",
	    "COFFER_OK", "127.0.0.1:5", CF_AUDIT_ZERO_HASH };
	char want_hash[65], hash[65], prev[65], hash2[65], expect[1024];
	char *line = NULL;
	uint64_t seq;

	(void)state;
	sha256_hex(body, strlen(body), want_hash);
	snprintf(expect, sizeof(expect), "%s,\"hash\":\"%s\"}", body,
	    want_hash);
	assert_int_equal(cf_audit_format(&f, &line, hash), 0);
	assert_string_equal(line, expect);
	assert_string_equal(hash, want_hash);
	assert_int_equal(cf_audit_check_line(line, &seq, prev, hash2), 0);
	assert_int_equal(seq, 1);
	assert_string_equal(prev, CF_AUDIT_ZERO_HASH);
	assert_string_equal(hash2, want_hash);
	free(line);
}

static void
test_escaping(void **state)
{
	char *lines[NREC] = { 0 }, hashes[NREC][65];
	json_error_t err;
	json_t *o;

	(void)state;
	build(lines, hashes);
	/* A JSON parser gives back the exact user names. */
	o = json_loads(lines[2], 0, &err);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "user")),
	    "bob \"the\" admin");
	assert_string_equal(json_string_value(json_object_get(o, "time")),
	    "2023-11-14T22:13:20.125Z");
	json_decref(o);
	o = json_loads(lines[3], 0, &err);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "user")),
	    "eve\nseq 9");
	json_decref(o);
	o = json_loads(lines[4], 0, &err);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "user")),
	    "back\\slash\t");
	json_decref(o);
	free_lines(lines, NREC);
}

static void
test_bad_utf8_and_args(void **state)
{
	struct cf_audit_fields f = { 1, 0, 1, "\xff\xc0\x80x\xe2\x82\xac",
	    "CU", "\x01op", NULL, "COFFER_OK", "p", CF_AUDIT_ZERO_HASH };
	char *line = NULL, hash[65], prev[65];
	json_error_t err;
	uint64_t seq;
	json_t *o;

	(void)state;
	assert_int_equal(cf_audit_format(&f, &line, hash), 0);
	assert_int_equal(cf_audit_check_line(line, &seq, prev, hash), 0);
	o = json_loads(line, 0, &err);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "user")),
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx\xe2\x82\xac");
	assert_string_equal(json_string_value(json_object_get(o, "op")),
	    "\x01op");
	assert_string_equal(json_string_value(json_object_get(o, "target")),
	    "");
	json_decref(o);
	free(line);

	f.prev = "1234";
	assert_int_equal(cf_audit_format(&f, &line, hash), COFFER_E_INVAL);
	assert_null(line);
	f.prev = CF_AUDIT_ZERO_HASH;
	f.seq = 0;
	assert_int_equal(cf_audit_format(&f, &line, hash), COFFER_E_INVAL);
}

static void
test_chain_good(void **state)
{
	char *lines[NREC] = { 0 }, hashes[NREC][65];
	char prev[65], hash[65];
	uint64_t seq;
	int i;

	(void)state;
	build(lines, hashes);
	assert_int_equal(walk(lines, NREC), -1);
	for (i = 0; i < NREC; i++) {
		assert_int_equal(cf_audit_check_line(lines[i], &seq, prev,
		    hash), 0);
		assert_int_equal(seq, i + 1);
		assert_string_equal(hash, hashes[i]);
		assert_string_equal(prev, i == 0 ? CF_AUDIT_ZERO_HASH :
		    hashes[i - 1]);
	}
	free_lines(lines, NREC);
}

static void
test_edit_every_byte(void **state)
{
	char *lines[NREC] = { 0 }, hashes[NREC][65];
	size_t i, len;
	int l;

	(void)state;
	build(lines, hashes);
	for (l = 0; l < NREC; l++) {
		len = strlen(lines[l]);
		for (i = 0; i < len; i++) {
			char save = lines[l][i];

			lines[l][i] ^= (save == 0x01) ? 0x02 : 0x01;
			if (walk(lines, NREC) != l)
				fail_msg("edit of line %d byte %zu missed", l,
				    i);
			lines[l][i] = save;
		}
	}
	assert_int_equal(walk(lines, NREC), -1);
	free_lines(lines, NREC);
}

static void
test_delete_swap_insert(void **state)
{
	char *lines[NREC] = { 0 }, hashes[NREC][65];
	char *v[NREC + 1], *forged = NULL, fh[65];
	struct cf_audit_fields f = { 0 };
	int i;

	(void)state;
	build(lines, hashes);
	/* Delete line 2 (index 1). */
	for (i = 0; i < NREC - 1; i++)
		v[i] = lines[i < 1 ? i : i + 1];
	assert_int_equal(walk(v, NREC - 1), 1);
	/* Delete the first line. */
	assert_int_equal(walk(lines + 1, NREC - 1), 0);
	/* Swap lines 3 and 4. */
	memcpy(v, lines, sizeof(lines));
	v[2] = lines[3];
	v[3] = lines[2];
	assert_int_equal(walk(v, NREC), 2);

	/* Insert a well-formed forged record after line 2. */
	f.seq = 3;
	f.time_ms = 1;
	f.node_id = 3;
	f.user = "mallory";
	f.role = "CO";
	f.op = "user_delete";
	f.target = "alice";
	f.result = "COFFER_OK";
	f.peer = "10.0.0.1:1";
	f.prev = hashes[1];
	assert_int_equal(cf_audit_format(&f, &forged, fh), 0);
	v[0] = lines[0];
	v[1] = lines[1];
	v[2] = forged;
	for (i = 2; i < NREC; i++)
		v[i + 1] = lines[i];
	assert_int_equal(walk(v, NREC + 1), 3);
	/* Replacing line 3 with the forgery breaks the link of line 4. */
	memcpy(v, lines, sizeof(lines));
	v[2] = forged;
	assert_int_equal(walk(v, NREC), 3);
	free(forged);
	free_lines(lines, NREC);
}

static void
test_malformed(void **state)
{
	static const char *bad[] = {
		"", "{}", "not json",
		"{\"seq\":1,\"hash\":\"" CF_AUDIT_ZERO_HASH "\"}",
	};
	char prev[65], hash[65], h[65], line[512];
	const char *body;
	uint64_t seq;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(cf_audit_check_line(bad[i], &seq, prev,
		    hash), 0);
	/* Right hash over a body that is not a valid record: FORMAT. */
	body = "{\"seq\":1,\"prev\":\"" CF_AUDIT_ZERO_HASH "\"";
	sha256_hex(body, strlen(body), h);
	snprintf(line, sizeof(line), "%s,\"hash\":\"%s\"}", body, h);
	assert_int_equal(cf_audit_check_line(line, &seq, prev, hash),
	    COFFER_E_FORMAT);
	body = "[\"seq\",\"prev\"";
	sha256_hex(body, strlen(body), h);
	snprintf(line, sizeof(line), "%s,\"hash\":\"%s\"}", body, h);
	assert_int_equal(cf_audit_check_line(line, &seq, prev, hash),
	    COFFER_E_FORMAT);
	assert_int_equal(seq, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_format),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_bad_utf8_and_args),
		cmocka_unit_test(test_chain_good),
		cmocka_unit_test(test_edit_every_byte),
		cmocka_unit_test(test_delete_swap_insert),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
