/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_audit_verify.c: coffer_audit_verify_lines on chains built with the
 * node's formatter (cf_audit_format): an intact chain passes; an edit, a
 * re-hashed edit, a deletion, an insertion, a reordering and a truncated
 * head are each caught at the right line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include <coffer/coffer.h>
#include "common/audit_chain.h"

#define N 6

struct chain {
	char *lines[N + 1];
	char hash[N + 1][65];
	size_t n;
};

static void
make_record(uint64_t seq, const char *op, const char *prev, char **line,
    char hash[65])
{
	struct cf_audit_fields f = {
		.seq = seq,
		.time_ms = 1700000000000ull + seq,
		.node_id = 1,
		.user = "admin",
		.role = "CO",
		.op = op,
		.target = "alice",
		.result = "COFFER_OK",
		.peer = "127.0.0.1:5555",
		.prev = prev,
	};

	assert_int_equal(cf_audit_format(&f, line, hash), 0);
	assert_non_null(*line);
}

static void
build(struct chain *c, size_t n)
{
	const char *prev = CF_AUDIT_ZERO_HASH;
	size_t i;

	c->n = n;
	for (i = 0; i < n; i++) {
		make_record(i + 1, i % 2 ? "user_create" : "login", prev,
		    &c->lines[i], c->hash[i]);
		prev = c->hash[i];
	}
}

static void
destroy(struct chain *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->lines[i]);
}

static int
verify(const char *const *lines, size_t n, uint64_t hs, const char *hh,
    size_t *bad)
{
	char err[256] = "";
	int rc;

	*bad = 0;
	rc = coffer_audit_verify_lines(lines, n, hs, hh, bad, err,
	    sizeof(err));
	if (rc != 0) {
		print_message("  -> line %zu: %s\n", *bad, err);
		assert_true(strlen(err) > 0);
	}
	return rc;
}

static void
test_intact(void **state)
{
	struct chain c = {0};
	const char *l[N];
	unsigned char md[32];
	char hex[65], *body;
	unsigned int mdlen;
	size_t i, bad;

	build(&c, N);
	for (i = 0; i < N; i++)
		l[i] = c.lines[i];
	assert_int_equal(verify(l, N, 0, NULL, &bad), 0);
	assert_int_equal(verify(l, N, N, c.hash[N - 1], &bad), 0);
	assert_int_equal(verify(l, 0, 0, NULL, &bad), 0);
	/* An export that starts in the middle of the chain is fine too. */
	assert_int_equal(verify(l + 2, N - 2, N, c.hash[N - 1], &bad), 0);

	/* The record hash is SHA-256 of the body, computed by OpenSSL. */
	body = strdup(c.lines[0]);
	assert_non_null(body);
	*strstr(body, ",\"hash\":\"") = '\0';
	assert_int_equal(EVP_Digest(body, strlen(body), md, &mdlen,
	    EVP_sha256(), NULL), 1);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	assert_string_equal(hex, c.hash[0]);
	free(body);
	destroy(&c);
}

static void
test_edit(void **state)
{
	struct chain c = {0};
	const char *l[N];
	char *edited, *p, *forged, fhash[65];
	size_t i, bad;

	build(&c, N);
	for (i = 0; i < N; i++)
		l[i] = c.lines[i];
	/* Change one character of record 3 (a plain edit). */
	edited = strdup(c.lines[2]);
	assert_non_null(edited);
	assert_non_null(p = strstr(edited, "alice"));
	*p = 'A';
	l[2] = edited;
	assert_int_equal(verify(l, N, 0, NULL, &bad), COFFER_E_INTEGRITY);
	assert_int_equal(bad, 3);

	/* Rewrite record 3 and its hash: record 4's prev no longer matches. */
	make_record(3, "user_delete", c.hash[1], &forged, fhash);
	l[2] = forged;
	assert_int_equal(verify(l, N, 0, NULL, &bad), COFFER_E_INTEGRITY);
	assert_int_equal(bad, 4);
	/* ... and a forged last record is caught by the head hash. */
	l[2] = c.lines[2];
	free(forged);
	make_record(N, "user_delete", c.hash[N - 2], &forged, fhash);
	l[N - 1] = forged;
	assert_int_equal(verify(l, N, 0, NULL, &bad), 0);
	assert_int_equal(verify(l, N, N, c.hash[N - 1], &bad),
	    COFFER_E_INTEGRITY);
	assert_int_equal(bad, N);
	free(forged);
	free(edited);
	destroy(&c);
}

static void
test_delete(void **state)
{
	struct chain c = {0};
	const char *l[N];
	size_t i, j, bad;

	build(&c, N);
	/* Drop record 3. */
	for (i = 0, j = 0; i < N; i++)
		if (i != 2)
			l[j++] = c.lines[i];
	assert_int_equal(verify(l, N - 1, 0, NULL, &bad), COFFER_E_INTEGRITY);
	assert_int_equal(bad, 3);
	/* Drop a record and renumber nothing: the hole is also a prev break. */
	l[2] = c.lines[4];
	assert_int_equal(verify(l, 3, 0, NULL, &bad), COFFER_E_INTEGRITY);
	assert_int_equal(bad, 3);
	destroy(&c);
}

static void
test_insert(void **state)
{
	struct chain c = {0};
	const char *l[N + 1];
	char *extra, xhash[65];
	size_t bad;

	build(&c, N);
	/* A well-formed record claiming seq 3 inserted after record 2. */
	make_record(3, "login", c.hash[1], &extra, xhash);
	l[0] = c.lines[0];
	l[1] = c.lines[1];
	l[2] = extra;
	l[3] = c.lines[2];
	l[4] = c.lines[3];
	l[5] = c.lines[4];
	l[6] = c.lines[5];
	assert_int_equal(verify(l, N + 1, 0, NULL, &bad), COFFER_E_INTEGRITY);
	assert_int_equal(bad, 4);
	/* A duplicated record. */
	l[2] = c.lines[1];
	assert_int_equal(verify(l, N + 1, 0, NULL, &bad), COFFER_E_INTEGRITY);
	assert_int_equal(bad, 3);
	free(extra);
	destroy(&c);
}

static void
test_reorder(void **state)
{
	struct chain c = {0};
	const char *l[N];
	size_t i, bad;

	build(&c, N);
	for (i = 0; i < N; i++)
		l[i] = c.lines[i];
	l[3] = c.lines[4];
	l[4] = c.lines[3];
	assert_int_equal(verify(l, N, 0, NULL, &bad), COFFER_E_INTEGRITY);
	assert_int_equal(bad, 4);
	destroy(&c);
}

static void
test_truncated_head(void **state)
{
	struct chain c = {0};
	const char *l[N];
	size_t i, bad;

	build(&c, N);
	for (i = 0; i < N; i++)
		l[i] = c.lines[i];
	/* The newest two records were deleted: the chain itself is fine. */
	assert_int_equal(verify(l, N - 2, 0, NULL, &bad), 0);
	assert_int_equal(verify(l, N - 2, N, c.hash[N - 1], &bad),
	    COFFER_E_INTEGRITY);
	assert_int_equal(bad, N - 1);
	assert_int_equal(verify(l, N - 2, N, NULL, &bad), COFFER_E_INTEGRITY);
	/* Everything deleted. */
	assert_int_equal(verify(l, 0, N, NULL, &bad), COFFER_E_INTEGRITY);
	assert_int_equal(bad, 1);
	/* The head is older than the chain: wrong head. */
	assert_int_equal(verify(l, N, N - 1, NULL, &bad), COFFER_E_INTEGRITY);
	destroy(&c);
}

static void
test_bad_lines(void **state)
{
	struct chain c = {0};
	const char *l[N];
	char *nl;
	size_t i, bad;

	build(&c, N);
	for (i = 0; i < N; i++)
		l[i] = c.lines[i];
	/* A trailing newline (as read by getline) is tolerated. */
	assert_non_null(nl = malloc(strlen(c.lines[1]) + 2));
	sprintf(nl, "%s\n", c.lines[1]);
	l[1] = nl;
	assert_int_equal(verify(l, N, 0, NULL, &bad), 0);
	l[1] = "";
	assert_int_equal(verify(l, N, 0, NULL, &bad), COFFER_E_INTEGRITY);
	assert_int_equal(bad, 2);
	l[1] = "{\"seq\":2}";
	assert_int_equal(verify(l, N, 0, NULL, &bad), COFFER_E_INTEGRITY);
	assert_int_equal(bad, 2);
	l[1] = NULL;
	assert_int_equal(verify(l, N, 0, NULL, &bad), COFFER_E_INTEGRITY);
	assert_int_equal(coffer_audit_verify_lines(NULL, 3, 0, NULL, &bad,
	    NULL, 0), COFFER_E_INVAL);
	/* Truncated at every prefix: never accepted, never crashes. */
	for (i = 0; i < strlen(c.lines[2]); i++) {
		char *t = strndup(c.lines[2], i);

		assert_non_null(t);
		l[1] = c.lines[1];
		l[2] = t;
		assert_int_equal(coffer_audit_verify_lines(l, N, 0, NULL,
		    &bad, NULL, 0), COFFER_E_INTEGRITY);
		assert_int_equal(bad, 3);
		free(t);
	}
	free(nl);
	destroy(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intact),
		cmocka_unit_test(test_edit),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_insert),
		cmocka_unit_test(test_reorder),
		cmocka_unit_test(test_truncated_head),
		cmocka_unit_test(test_bad_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
