/* SPDX-License-Identifier: Apache-2.0 */
/* test_log.c: line format, levels, OpenSSL error draining, reopen, threads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "coffer/coffer_err.h"
#include "common/log.h"

static char dir[512], path[600];

static char *
slurp(const char *p)
{
	FILE *f = fopen(p, "r");
	char *b;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = calloc(1, (size_t)n + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return b;
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void
test_format_levels(void **state)
{
	regex_t re;
	char *s;

	(void)state;
	unlink(path);
	assert_int_equal(cf_log_open(path, CF_LOG_INFO), 0);
	log_debug("hidden %d", 1);
	log_info("user=%s n=%d", "alice", 7);
	log_error("evil\nname\x1b");
	cf_log_close();
	s = slurp(path);
	assert_int_equal(count_lines(s), 2);
	assert_null(strstr(s, "hidden"));
	assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:"
	    "[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z INFO test_format_levels: "
	    "user=alice n=7\n[0-9T:.Z-]{24} ERROR test_format_levels: "
	    "evil\\?name\\?\n$", REG_EXTENDED), 0);
	if (regexec(&re, s, 0, NULL, 0) != 0)
		fail_msg("unexpected log text: %s", s);
	regfree(&re);
	free(s);
}

static void
test_ssl(void **state)
{
	EVP_MD *md;
	char *s;

	(void)state;
	unlink(path);
	assert_int_equal(cf_log_open(path, CF_LOG_DEBUG), 0);
	md = EVP_MD_fetch(NULL, "NO-SUCH-DIGEST", NULL);
	assert_null(md);
	assert_int_not_equal(ERR_peek_error(), 0);
	log_ssl_error("fetch failed");
	assert_int_equal(ERR_peek_error(), 0);	/* drained */
	/* Filtered out still drains, so stale errors do not leak later. */
	cf_log_set_level(CF_LOG_ERROR);
	md = EVP_MD_fetch(NULL, "NO-SUCH-DIGEST", NULL);
	assert_null(md);
	cf_log_ssl(CF_LOG_DEBUG, __func__, "quiet");
	assert_int_equal(ERR_peek_error(), 0);
	cf_log_close();
	s = slurp(path);
	assert_int_equal(count_lines(s), 1);
	assert_non_null(strstr(s, "ERROR test_ssl: fetch failed [openssl: "));
	assert_non_null(strstr(s, "NO-SUCH-DIGEST"));
	free(s);
}

static void
test_reopen_and_long(void **state)
{
	char moved[700], big[10000], *s;

	(void)state;
	unlink(path);
	assert_int_equal(cf_log_open(path, CF_LOG_INFO), 0);
	log_info("before");
	snprintf(moved, sizeof(moved), "%s.1", path);
	assert_int_equal(rename(path, moved), 0);
	assert_int_equal(cf_log_open(path, CF_LOG_INFO), 0);	/* SIGHUP */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("%s", big);
	cf_log_close();
	s = slurp(moved);
	assert_non_null(strstr(s, "before"));
	free(s);
	s = slurp(path);
	assert_int_equal(count_lines(s), 1);
	assert_true(strlen(s) <= 4096);
	assert_non_null(strstr(s, "xxx...\n"));
	free(s);
	assert_int_equal(cf_log_open("/nonexistent/dir/log", CF_LOG_INFO),
	    COFFER_E_IO);
}

static void *
writer(void *arg)
{
	int i;

	for (i = 0; i < 300; i++)
		log_info("thread %ld line %d %s", (long)(intptr_t)arg, i,
		    "payload-payload-payload-payload-payload-payload");
	return NULL;
}

static void
test_threads(void **state)
{
	pthread_t t[4];
	char *s, *line, *save = NULL;
	regex_t re;
	long i;
	int n = 0;

	(void)state;
	unlink(path);
	assert_int_equal(cf_log_open(path, CF_LOG_INFO), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, writer,
		    (void *)(intptr_t)i), 0);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	cf_log_close();
	s = slurp(path);
	assert_int_equal(regcomp(&re, "^[0-9T:.Z-]{24} INFO writer: thread "
	    "[0-3] line [0-9]+ (payload-){5}payload$", REG_EXTENDED), 0);
	for (line = strtok_r(s, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save), n++)
		if (regexec(&re, line, 0, NULL, 0) != 0)
			fail_msg("torn line: %s", line);
	assert_int_equal(n, 1200);
	regfree(&re);
	free(s);
}

static void
test_level_names(void **state)
{
	(void)state;
	assert_int_equal(cf_log_level_from_name("error"), CF_LOG_ERROR);
	assert_int_equal(cf_log_level_from_name("WARN"), CF_LOG_WARN);
	assert_int_equal(cf_log_level_from_name("warning"), CF_LOG_WARN);
	assert_int_equal(cf_log_level_from_name("info"), CF_LOG_INFO);
	assert_int_equal(cf_log_level_from_name("debug"), CF_LOG_DEBUG);
	assert_int_equal(cf_log_level_from_name("trace"), -1);
	assert_int_equal(cf_log_level_from_name(NULL), -1);
}

static int
setup(void **state)
{
	const char *base = getenv("COFFER_TEST_TMP");

	(void)state;
	if (base == NULL || *base == '\0')
		base = "/tmp";
	mkdir(base, 0700);
	snprintf(dir, sizeof(dir), "%s/test_log.XXXXXX", base);
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/cofferd.log", dir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[700];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_levels),
		cmocka_unit_test(test_ssl),
		cmocka_unit_test(test_reopen_and_long),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_level_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
