/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_audit.c: the node's audit log: records chain (checked here with
 * OpenSSL's SHA-256), reopen recovers the head, reads page through the
 * records, any edit/deletion/reordering/truncation refuses the open, and
 * writers on many threads at once (group commit) leave one whole chain.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "coffer/coffer_err.h"
#include "hsm/audit.h"

static char dir[600];

static int
setup(void **ts)
{
	const char *base = getenv("COFFER_TEST_TMP");
	char tmpl[600];

	if (base == NULL)
		base = "/tmp";
	mkdir(base, 0700);
	snprintf(tmpl, sizeof(tmpl), "%s/audit-XXXXXX", base);
	assert_non_null(mkdtemp(tmpl));
	snprintf(dir, sizeof(dir), "%s", tmpl);
	return 0;
}

static void
path_of(char *out, size_t n, const char *name)
{
	if (snprintf(out, n, "%s/%s", dir, name) >= (int)n)
		fail_msg("path too long");
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
spit(const char *path, const char *data, size_t n)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	fclose(f);
}

/* Splits into lines (modifies buf). */
static size_t
lines_of(char *buf, char **lines, size_t max)
{
	size_t n = 0;
	char *save = NULL, *l;

	for (l = strtok_r(buf, "\n", &save); l != NULL && n < max;
	    l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	return n;
}

static void
sha256_hex(const char *p, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int l = 0, i;

	assert_int_equal(EVP_Digest(p, n, md, &l, EVP_sha256(), NULL), 1);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Independent chain check: hash = sha256(body), prev = previous hash. */
static void
check_chain(char **lines, size_t n, char last[65])
{
	char prev[65], h[65], want[80];
	size_t i;

	memset(prev, '0', 64);
	prev[64] = '\0';
	for (i = 0; i < n; i++) {
		const char *hp = strstr(lines[i], ",\"hash\":\"");
		assert_non_null(hp);
		sha256_hex(lines[i], (size_t)(hp - lines[i]), h);
		assert_memory_equal(hp + 9, h, 64);
		snprintf(want, sizeof(want), "\"prev\":\"%s\"", prev);
		assert_non_null(strstr(lines[i], want));
		snprintf(want, sizeof(want), "{\"seq\":%zu,", i + 1);
		assert_memory_equal(lines[i], want, strlen(want));
		memcpy(prev, h, 65);
	}
	memcpy(last, prev, 65);
}

static void
write_five(const char *path, char head[65])
{
	struct cf_audit *a = NULL;
	char err[256];
	uint64_t seq;
	int i;

	unlink(path);
	assert_int_equal(cf_audit_open(path, 3, &a, err, sizeof(err)), 0);
	cf_audit_head(a, &seq, head);
	assert_int_equal(seq, 0);
	for (i = 0; i < 64; i++)
		assert_int_equal(head[i], '0');
	assert_int_equal(cf_audit_log(a, "admin", "CO", "user_create", "bob",
	    0, "127.0.0.1:5000"), 0);
	assert_int_equal(cf_audit_log(a, "bob", "-", "login", "bob",
	    COFFER_E_AUTH, "127.0.0.1:5001"), 0);
	assert_int_equal(cf_audit_log(a, "admin", "CO", "user_lock", "bob",
	    0, "127.0.0.1:5000"), 0);
	assert_int_equal(cf_audit_log(a, "we\"ird\n", NULL, "login",
	    "we\"ird\n", COFFER_E_AUTH, NULL), 0);
	assert_int_equal(cf_audit_log(a, "admin", "CO", "user_unlock", "bob",
	    0, "127.0.0.1:5000"), 0);
	cf_audit_head(a, &seq, head);
	assert_int_equal(seq, 5);
	cf_audit_close(a);
}

static void
test_write_reopen(void **ts)
{
	struct cf_audit *a = NULL;
	char path[600], head[65], head2[65], last[65], err[256];
	char *buf, *lines[16], **rl = NULL;
	size_t len, n, rn = 0;
	uint64_t seq;
	int more = 0;

	path_of(path, sizeof(path), "audit.log");
	write_five(path, head);
	buf = slurp(path, &len);
	assert_int_equal(buf[len - 1], '\n');
	n = lines_of(buf, lines, 16);
	assert_int_equal(n, 5);
	check_chain(lines, n, last);
	assert_string_equal(last, head);
	assert_non_null(strstr(lines[1], "\"result\":\"COFFER_E_AUTH\"") ?
	    lines[1] : strstr(lines[1], "E_AUTH"));
	/* One record per line, even with a newline in a user name. */
	assert_null(strchr(lines[3], '\r'));
	free(buf);

	/* Reopen: head recovered, chain continues. */
	assert_int_equal(cf_audit_open(path, 3, &a, err, sizeof(err)), 0);
	cf_audit_head(a, &seq, head2);
	assert_int_equal(seq, 5);
	assert_string_equal(head, head2);
	assert_int_equal(cf_audit_log(a, "admin", "CO", "audit_export", "",
	    0, "127.0.0.1:5000"), 0);
	cf_audit_head(a, &seq, head2);
	assert_int_equal(seq, 6);

	/* Paging. */
	assert_int_equal(cf_audit_read(a, 2, 2, &rl, &rn, &more), 0);
	assert_int_equal(rn, 2);
	assert_int_equal(more, 1);
	assert_memory_equal(rl[0], "{\"seq\":2,", 9);
	assert_memory_equal(rl[1], "{\"seq\":3,", 9);
	assert_null(strchr(rl[0], '\n'));
	cf_audit_lines_free(rl, rn);
	assert_int_equal(cf_audit_read(a, 5, 10, &rl, &rn, &more), 0);
	assert_int_equal(rn, 2);
	assert_int_equal(more, 0);
	assert_memory_equal(rl[1], "{\"seq\":6,", 9);
	cf_audit_lines_free(rl, rn);
	assert_int_equal(cf_audit_read(a, 0, 1000, &rl, &rn, &more), 0);
	assert_int_equal(rn, 6);
	cf_audit_lines_free(rl, rn);
	assert_int_equal(cf_audit_read(a, 7, 10, &rl, &rn, &more), 0);
	assert_int_equal(rn, 0);
	assert_int_equal(more, 0);
	cf_audit_lines_free(rl, rn);
	cf_audit_close(a);

	buf = slurp(path, &len);
	n = lines_of(buf, lines, 16);
	assert_int_equal(n, 6);
	check_chain(lines, n, last);
	assert_string_equal(last, head2);
	free(buf);
}

static void
expect_refused(const char *path, const char *content, size_t n)
{
	struct cf_audit *a = NULL;
	char err[256] = "";

	spit(path, content, n);
	assert_int_not_equal(cf_audit_open(path, 3, &a, err, sizeof(err)), 0);
	assert_null(a);
	assert_non_null(strstr(err, "audit"));
}

static void
test_tamper(void **ts)
{
	char path[600], head[65], *orig, *buf, *lines[16], *p;
	char out[8192];
	size_t len, n, i;

	path_of(path, sizeof(path), "tamper.log");
	write_five(path, head);
	orig = slurp(path, &len);

	/* Edit one byte of record 3. */
	buf = strdup(orig);
	n = lines_of(buf, lines, 16);
	assert_int_equal(n, 5);
	p = strstr(lines[2], "user_lock");
	assert_non_null(p);
	p[0] = 'U';
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		strcat(out, lines[i]);
		strcat(out, "\n");
	}
	expect_refused(path, out, strlen(out));
	free(buf);

	/* Delete record 2. */
	buf = strdup(orig);
	n = lines_of(buf, lines, 16);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i == 1)
			continue;
		strcat(out, lines[i]);
		strcat(out, "\n");
	}
	expect_refused(path, out, strlen(out));
	free(buf);

	/* Swap records 2 and 3. */
	buf = strdup(orig);
	n = lines_of(buf, lines, 16);
	p = lines[1];
	lines[1] = lines[2];
	lines[2] = p;
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		strcat(out, lines[i]);
		strcat(out, "\n");
	}
	expect_refused(path, out, strlen(out));
	free(buf);

	/* Duplicate record 2. */
	buf = strdup(orig);
	n = lines_of(buf, lines, 16);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		strcat(out, lines[i]);
		strcat(out, "\n");
		if (i == 1) {
			strcat(out, lines[i]);
			strcat(out, "\n");
		}
	}
	expect_refused(path, out, strlen(out));
	free(buf);

	/* A torn last record. */
	expect_refused(path, orig, len - 10);

	/* The untouched file still opens. */
	spit(path, orig, len);
	{
		struct cf_audit *a = NULL;
		char err[256];
		assert_int_equal(cf_audit_open(path, 3, &a, err, sizeof(err)),
		    0);
		cf_audit_close(a);
	}
	free(orig);
}

static void
test_open_errors(void **ts)
{
	struct cf_audit *a = NULL;
	char err[256] = "", path[600];

	path_of(path, sizeof(path), "no/such/dir/audit.log");
	assert_int_equal(cf_audit_open(path, 1, &a, err, sizeof(err)),
	    COFFER_E_IO);
	assert_null(a);
	assert_non_null(strstr(err, "audit"));
}

#define WRITERS 8
#define PER_WRITER 150

struct writer {
	struct cf_audit *a;
	int id;
	int failures;
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	char user[32], target[32];

	snprintf(user, sizeof(user), "writer%d", w->id);
	for (int i = 0; i < PER_WRITER; i++) {
		snprintf(target, sizeof(target), "w%d-r%d", w->id, i);
		if (cf_audit_log(w->a, user, "CU", "obj_generate_key", target,
		    0, "127.0.0.1:1") != 0)
			w->failures++;
	}
	return NULL;
}

/*
 * Eight threads append at once: every call succeeds, the file holds
 * every record once, whole, in one chain (checked here and by a reopen),
 * and each writer's records are in the order it wrote them.
 */
static void
test_concurrent_writers(void **ts)
{
	enum { TOTAL = WRITERS * PER_WRITER + 1 };
	struct writer w[WRITERS];
	pthread_t th[WRITERS];
	struct cf_audit *a = NULL;
	char path[600], head[65], last[65], err[256], want[64];
	char *buf, **lines;
	int next[WRITERS] = { 0 }, id, r;
	size_t len, n, i;
	uint64_t seq;

	path_of(path, sizeof(path), "concurrent.log");
	unlink(path);
	assert_int_equal(cf_audit_open(path, 3, &a, err, sizeof(err)), 0);
	assert_int_equal(cf_audit_log(a, "admin", "CO", "login", "admin", 0,
	    NULL), 0);
	for (id = 0; id < WRITERS; id++) {
		w[id] = (struct writer){ .a = a, .id = id };
		assert_int_equal(pthread_create(&th[id], NULL, writer_main,
		    &w[id]), 0);
	}
	for (id = 0; id < WRITERS; id++) {
		assert_int_equal(pthread_join(th[id], NULL), 0);
		assert_int_equal(w[id].failures, 0);
	}
	cf_audit_head(a, &seq, head);
	assert_int_equal(seq, TOTAL);
	cf_audit_close(a);

	buf = slurp(path, &len);
	assert_non_null(lines = calloc(TOTAL + 1, sizeof(*lines)));
	n = lines_of(buf, lines, TOTAL + 1);
	assert_int_equal(n, TOTAL);
	check_chain(lines, n, last);
	assert_string_equal(last, head);
	for (i = 1; i < n; i++) {
		char *p = strstr(lines[i], "\"target\":\"w");

		assert_non_null(p);
		r = sscanf(p, "\"target\":\"w%d-r", &id);
		assert_int_equal(r, 1);
		assert_in_range(id, 0, WRITERS - 1);
		snprintf(want, sizeof(want), "\"target\":\"w%d-r%d\"", id,
		    next[id]);
		assert_non_null(strstr(lines[i], want));
		next[id]++;
	}
	for (id = 0; id < WRITERS; id++)
		assert_int_equal(next[id], PER_WRITER);
	free(lines);
	free(buf);

	/* The reopen verifies the whole chain and continues it. */
	assert_int_equal(cf_audit_open(path, 3, &a, err, sizeof(err)), 0);
	cf_audit_head(a, &seq, last);
	assert_int_equal(seq, TOTAL);
	assert_string_equal(last, head);
	assert_int_equal(cf_audit_log(a, "admin", "CO", "logout", "admin", 0,
	    NULL), 0);
	cf_audit_head(a, &seq, last);
	assert_int_equal(seq, TOTAL + 1);
	cf_audit_close(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_reopen),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_concurrent_writers),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
