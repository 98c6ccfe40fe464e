/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_conf.c: the PKCS#11 module's configuration file (config.c): an
 * inline slot's integer keys (timeout_ms, keygen_timeout_ms, spin_us,
 * connections) are taken within their bounds and reach the slot's client
 * configuration; out of range, of the wrong type or unknown, the file is
 * refused with the key named in the error.
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

#include "p11.h"
#include "client/client.h"

static char tmpdir[PATH_MAX];

#define PIN "\"pin_sha256\": \"" \
	"0000000000000000000000000000000000000000000000000000000000000000\""

/* Writes {"slots":[{"label":"x","servers":["127.0.0.1:1"],PIN,extra}]}. */
static void
write_conf(const char *extra, char *path, size_t len)
{
	FILE *f;

	snprintf(path, len, "%s/p11.json", tmpdir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "{\"slots\": [{\"label\": \"x\", \"servers\": "
	    "[\"127.0.0.1:1\"], " PIN "%s%s}]}\n", extra[0] ? ", " : "",
	    extra);
	assert_int_equal(fclose(f), 0);
}

static void
test_slot_integers(void **state)
{
	struct p11_conf conf;
	char path[PATH_MAX + 16], err[256];
	const struct coffer_config *cfg;

	(void)state;
	write_conf("\"timeout_ms\": 2500, \"keygen_timeout_ms\": 45000, "
	    "\"spin_us\": 0, \"connections\": 3", path, sizeof(path));
	if (p11_conf_load(path, &conf, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(conf.nslots, 1);
	cfg = conf.slots[0].cfg;
	assert_int_equal(cfg->timeout_ms, 2500);
	assert_int_equal(cfg->keygen_timeout_ms, 45000);
	assert_int_equal(cfg->spin_us, 0);
	assert_int_equal(cfg->connections, 3);
	p11_conf_clear(&conf);

	/* Defaults when absent. */
	write_conf("", path, sizeof(path));
	if (p11_conf_load(path, &conf, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	cfg = conf.slots[0].cfg;
	assert_int_equal(cfg->timeout_ms, 10000);
	assert_int_equal(cfg->keygen_timeout_ms, 120000);
	p11_conf_clear(&conf);
}

static void
test_slot_integers_refused(void **state)
{
	static const struct {
		const char *extra, *key;
	} bad[] = {
		{ "\"keygen_timeout_ms\": 0", "keygen_timeout_ms" },
		{ "\"keygen_timeout_ms\": 3600001", "keygen_timeout_ms" },
		{ "\"keygen_timeout_ms\": \"60000\"", "keygen_timeout_ms" },
		{ "\"keygen_timeout_ms\": 1.5", "keygen_timeout_ms" },
		{ "\"keygen_timeout_ms\": -1", "keygen_timeout_ms" },
		{ "\"timeout_ms\": 0", "timeout_ms" },
		{ "\"timeout_ms\": 99999999999", "timeout_ms" },
		{ "\"spin_us\": -1", "spin_us" },
		{ "\"spin_us\": 10001", "spin_us" },
		{ "\"connections\": 0", "connections" },
		{ "\"connections\": null", "connections" },
		{ "\"keygen_timeout\": 5", "keygen_timeout" },
	};
	struct p11_conf conf;
	char path[PATH_MAX + 16], err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		write_conf(bad[i].extra, path, sizeof(path));
		if (p11_conf_load(path, &conf, err, sizeof(err)) == 0) {
			p11_conf_clear(&conf);
			fail_msg("accepted: %s", bad[i].extra);
		}
		if (strstr(err, bad[i].key) == NULL)
			fail_msg("%s: error does not name the key: %s",
			    bad[i].extra, err);
	}
}

static int
setup(void **state)
{
	const char *base = getenv("COFFER_TEST_TMP");
	char tmpl[PATH_MAX];

	(void)state;
	if (base == NULL)
		base = "/tmp";
	(void)mkdir(base, 0700);
	if (snprintf(tmpl, sizeof(tmpl), "%s/p11conf-XXXXXX", base) >=
	    (int)sizeof(tmpl) || mkdtemp(tmpl) == NULL)
		return -1;
	memcpy(tmpdir, tmpl, sizeof(tmpdir));
	return 0;
}

static int
teardown(void **state)
{
	char path[PATH_MAX + 16];

	(void)state;
	snprintf(path, sizeof(path), "%s/p11.json", tmpdir);
	(void)unlink(path);
	return rmdir(tmpdir) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slot_integers),
		cmocka_unit_test(test_slot_integers_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
