/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c: loads and validates cofferd's JSON configuration. Every key is
 * described by one row of a table (name, type, range, destination); keys
 * not in the table, wrong JSON types, numbers out of range and duplicate
 * keys are rejected with a message naming the key. Nothing here touches
 * secrets, so it may run before the secure heap exists.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "coffer/coffer_err.h"
#include "common/wire.h"
#include "hsm/config.h"
#include "hsm/objects.h"

#define MIB (1024u * 1024u)

enum kind {
	K_UINT,		/* integer in [min, max] */
	K_POW2,		/* power of two in [min, max] */
	K_STR,		/* non-empty string */
	K_ADDR,		/* "host:port" */
	K_SOCKPATH,	/* unix socket path (fits sun_path) */
	K_MODE,		/* file mode as an octal string, "0660" */
	K_LEVEL,	/* log level name */
	K_COACTION,	/* "zeroize" | "lock" */
	K_BACKEND,	/* "file" */
	K_OBJECT,	/* nested object: sub-table */
};

struct key {
	const char *name;
	enum kind kind;
	uint64_t min, max;
	size_t off;		/* offset in struct cf_node_config */
	size_t size;		/* size of the destination integer */
	const struct key *sub;	/* K_OBJECT */
};

#define OFF(f) offsetof(struct cf_node_config, f)
#define SZ(f) sizeof(((struct cf_node_config *)0)->f)
#define UINT(n, f, lo, hi) { n, K_UINT, lo, hi, OFF(f), SZ(f), NULL }
#define POW2(n, f, lo, hi) { n, K_POW2, lo, hi, OFF(f), SZ(f), NULL }
#define STR(n, f, k) { n, k, 0, 0, OFF(f), SZ(f), NULL }

static const struct key lockout_keys[] = {
	UINT("cu_max_failures", cu_max_failures, 1, 1000),
	UINT("co_max_failures", co_max_failures, 1, 1000),
	STR("co_action", co_zeroize, K_COACTION),
	{ NULL, 0, 0, 0, 0, 0, NULL },
};

static const struct key password_keys[] = {
	UINT("min_length", pw_min_len, 1, 1024),
	UINT("max_length", pw_max_len, 1, 1024),
	POW2("scrypt_n", scrypt_n, 1024, 1u << 20),
	UINT("scrypt_r", scrypt_r, 1, 32),
	UINT("scrypt_p", scrypt_p, 1, 16),
	{ NULL, 0, 0, 0, 0, 0, NULL },
};

static const struct key seal_keys[] = {
	STR("backend", seal_backend, K_BACKEND),
	STR("key_file", seal_key_file, K_STR),
	{ NULL, 0, 0, 0, 0, 0, NULL },
};

static const struct key raft_keys[] = {
	UINT("snapshot_threshold", snapshot_threshold, 64, 10000000),
	UINT("snapshot_trailing", snapshot_trailing, 0, 10000000),
	UINT("election_timeout_ms", election_timeout_ms, 100, 60000),
	{ NULL, 0, 0, 0, 0, 0, NULL },
};

static const struct key top_keys[] = {
	UINT("node_id", node_id, 1, INT64_MAX),
	STR("listen", listen, K_ADDR),
	STR("unix_socket", unix_socket, K_SOCKPATH),
	STR("unix_socket_mode", unix_socket_mode, K_MODE),
	STR("raft_address", raft_address, K_ADDR),
	STR("data_dir", data_dir, K_STR),
	STR("log_file", log_file, K_STR),
	STR("log_level", log_level, K_LEVEL),
	STR("audit_file", audit_file, K_STR),
	UINT("max_frame", max_frame, 1024, CF_MAX_FRAME_LIMIT),
	UINT("max_connections", max_connections, 1, 100000),
	UINT("workers", workers, 0, 256),
	UINT("spin_us", spin_us, 0, 10000),
	UINT("request_timeout_ms", request_timeout_ms, 100, 600000),
	{ "lockout", K_OBJECT, 0, 0, 0, 0, lockout_keys },
	{ "password", K_OBJECT, 0, 0, 0, 0, password_keys },
	{ "seal", K_OBJECT, 0, 0, 0, 0, seal_keys },
	{ "raft", K_OBJECT, 0, 0, 0, 0, raft_keys },
	POW2("secure_heap_size", secure_heap_size, MIB, 1024u * MIB),
	UINT("max_objects", max_objects, 1, CF_MAX_OBJECTS_LIMIT),
	{ NULL, 0, 0, 0, 0, 0, NULL },
};

static const char *level_names[] = { "error", "warn", "info", "debug" };

void
cf_node_config_defaults(struct cf_node_config *c)
{
	*c = (struct cf_node_config){ 0 };
	c->node_id = 1;
	c->log_level = 2;	/* info */
	c->max_frame = CF_MAX_FRAME_DEFAULT;
	c->max_connections = 1024;
	c->workers = 0;
	c->spin_us = 50;
	c->unix_socket_mode = 0660;
	c->request_timeout_ms = 10000;
	c->cu_max_failures = 5;
	c->co_max_failures = 5;
	c->co_zeroize = true;
	c->pw_min_len = 8;
	c->pw_max_len = 128;
	c->scrypt_n = 16384;
	c->scrypt_r = 8;
	c->scrypt_p = 1;
	c->snapshot_threshold = 16384;
	c->snapshot_trailing = 4096;
	c->election_timeout_ms = 1000;
	c->secure_heap_size = CF_SECURE_HEAP_DEFAULT;
	c->max_objects = CF_MAX_OBJECTS_DEFAULT;
}

void
cf_node_config_free(struct cf_node_config *c)
{
	if (c == NULL)
		return;
	free(c->listen);
	free(c->unix_socket);
	free(c->raft_address);
	free(c->data_dir);
	free(c->log_file);
	free(c->audit_file);
	free(c->seal_backend);
	free(c->seal_key_file);
	free(c->path);
	*c = (struct cf_node_config){ 0 };
}

static int
fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (err != NULL && errlen > 0) {
		n = snprintf(err, errlen, "config: ");
		if (n < 0 || (size_t)n >= errlen)
			n = 0;
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return COFFER_E_CONFIG;
}

/* "host:port" with a non-empty host and a port 1..65535; [v6]:port. */
static int
valid_addr(const char *s)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (colon == NULL || colon == s || colon[1] == '\0')
		return 0;
	if (s[0] == '[' && colon[-1] != ']')
		return 0;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || port < 1 || port > 65535 ||
	    colon[1] == '+' || colon[1] == '-' || colon[1] == ' ')
		return 0;
	return 1;
}

static int
set_uint(const struct key *k, const char *path, json_t *v,
    struct cf_node_config *c, char *err, size_t errlen)
{
	json_int_t iv;
	uint64_t u;
	uint8_t *dst = (uint8_t *)c + k->off;

	if (!json_is_integer(v))
		return fail(err, errlen, "key \"%s\": expected an integer",
		    path);
	iv = json_integer_value(v);
	if (iv < 0 || (uint64_t)iv < k->min || (uint64_t)iv > k->max)
		return fail(err, errlen,
		    "key \"%s\": %lld out of range %llu..%llu", path,
		    (long long)iv, (unsigned long long)k->min,
		    (unsigned long long)k->max);
	u = (uint64_t)iv;
	if (k->kind == K_POW2 && (u & (u - 1)) != 0)
		return fail(err, errlen,
		    "key \"%s\": %llu is not a power of two", path,
		    (unsigned long long)u);
	switch (k->size) {
	case sizeof(uint32_t):
		*(uint32_t *)(void *)dst = (uint32_t)u;
		break;
	case sizeof(uint64_t):
		*(uint64_t *)(void *)dst = u;
		break;
	default:
		return fail(err, errlen, "key \"%s\": internal size", path);
	}
	return 0;
}

/* "0660": owner and group read/write; octal, at most 0777, owner rw. */
static int
set_mode(const struct key *k, const char *path, const char *s,
    struct cf_node_config *c, char *err, size_t errlen)
{
	unsigned long m;
	char *end;

	(void)k;
	errno = 0;
	m = strtoul(s, &end, 8);
	if (errno != 0 || end == s || *end != '\0' || *s == '-' ||
	    *s == '+' || *s == ' ' || m > 0777 || (m & 0600) != 0600)
		return fail(err, errlen, "key \"%s\": expected an octal "
		    "mode such as \"0660\" (at most 0777, with owner read "
		    "and write)", path);
	c->unix_socket_mode = (unsigned)m;
	return 0;
}

static int
set_str(const struct key *k, const char *path, json_t *v,
    struct cf_node_config *c, char *err, size_t errlen)
{
	const char *s;
	char **dst = (char **)(void *)((uint8_t *)c + k->off);
	size_t i;

	if (!json_is_string(v))
		return fail(err, errlen, "key \"%s\": expected a string", path);
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return fail(err, errlen, "key \"%s\": embedded NUL", path);
	switch (k->kind) {
	case K_LEVEL:
		for (i = 0; i < 4; i++) {
			if (strcmp(s, level_names[i]) == 0) {
				c->log_level = (int)i;
				return 0;
			}
		}
		return fail(err, errlen, "key \"%s\": expected \"error\", "
		    "\"warn\", \"info\" or \"debug\"", path);
	case K_COACTION:
		if (strcmp(s, "zeroize") == 0)
			c->co_zeroize = true;
		else if (strcmp(s, "lock") == 0)
			c->co_zeroize = false;
		else
			return fail(err, errlen,
			    "key \"%s\": expected \"zeroize\" or \"lock\"",
			    path);
		return 0;
	case K_BACKEND:
		if (strcmp(s, "file") != 0)
			return fail(err, errlen,
			    "key \"%s\": expected \"file\"", path);
		break;
	case K_MODE:
		return set_mode(k, path, s, c, err, errlen);
	case K_SOCKPATH:
		/* sockaddr_un.sun_path holds 108 bytes with the NUL. */
		if (*s == '\0' || strlen(s) > 107)
			return fail(err, errlen, "key \"%s\": expected a "
			    "path of 1..107 bytes", path);
		break;
	case K_ADDR:
		if (!valid_addr(s))
			return fail(err, errlen,
			    "key \"%s\": expected \"host:port\"", path);
		break;
	default:
		if (*s == '\0')
			return fail(err, errlen,
			    "key \"%s\": must not be empty", path);
		if (strlen(s) > 4000)
			return fail(err, errlen, "key \"%s\": too long", path);
		break;
	}
	free(*dst);
	if ((*dst = strdup(s)) == NULL)
		return fail(err, errlen, "out of memory");
	return 0;
}

static int
load_object(const struct key *table, const char *prefix, json_t *obj,
    struct cf_node_config *c, char *err, size_t errlen)
{
	const char *name;
	json_t *v;
	const struct key *k;
	char path[128];
	int rc;

	json_object_foreach(obj, name, v) {
		snprintf(path, sizeof(path), "%s%s%s", prefix,
		    *prefix ? "." : "", name);
		for (k = table; k->name != NULL; k++) {
			if (strcmp(k->name, name) == 0)
				break;
		}
		if (k->name == NULL)
			return fail(err, errlen, "unknown key \"%s\"", path);
		switch (k->kind) {
		case K_UINT:
		case K_POW2:
			rc = set_uint(k, path, v, c, err, errlen);
			break;
		case K_OBJECT:
			if (!json_is_object(v))
				return fail(err, errlen,
				    "key \"%s\": expected an object", path);
			rc = load_object(k->sub, path, v, c, err, errlen);
			break;
		default:
			rc = set_str(k, path, v, c, err, errlen);
			break;
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
path_join(const char *dir, const char *name, char **out)
{
	if (asprintf(out, "%s/%s", dir, name) < 0) {
		*out = NULL;
		return COFFER_E_NOMEM;
	}
	return 0;
}

int
cf_node_config_load(const char *path, struct cf_node_config *c, char *err,
    size_t errlen)
{
	json_t *root = NULL;
	json_error_t jerr;
	int rc = COFFER_E_CONFIG;

	cf_node_config_defaults(c);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		if (jerr.line < 0)
			rc = fail(err, errlen, "%s: %s", path, jerr.text);
		else
			rc = fail(err, errlen, "%s:%d:%d: %s", path, jerr.line,
			    jerr.column, jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		rc = fail(err, errlen, "%s: expected a JSON object", path);
		goto out;
	}
	if ((rc = load_object(top_keys, "", root, c, err, errlen)) != 0)
		goto out;
	if (c->data_dir == NULL) {
		rc = fail(err, errlen, "key \"data_dir\": required");
		goto out;
	}
	if (c->pw_min_len > c->pw_max_len) {
		rc = fail(err, errlen, "key \"password.min_length\": greater "
		    "than password.max_length");
		goto out;
	}
	rc = COFFER_E_NOMEM;
	if (c->listen == NULL && (c->listen = strdup("127.0.0.1:2225")) == NULL)
		goto out;
	if (c->raft_address == NULL &&
	    (c->raft_address = strdup("127.0.0.1:2226")) == NULL)
		goto out;
	if (c->seal_backend == NULL && (c->seal_backend = strdup("file")) == NULL)
		goto out;
	if (c->audit_file == NULL &&
	    path_join(c->data_dir, "audit.log", &c->audit_file) != 0)
		goto out;
	if (c->seal_key_file == NULL &&
	    path_join(c->data_dir, "seal.key", &c->seal_key_file) != 0)
		goto out;
	if ((c->path = strdup(path)) == NULL)
		goto out;
	rc = 0;
out:
	if (rc == COFFER_E_NOMEM)
		rc = fail(err, errlen, "out of memory");
	if (rc != 0)
		cf_node_config_free(c);
	json_decref(root);
	return rc;
}
