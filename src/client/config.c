/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c: libcoffer client configuration, built by setters or loaded
 * from a JSON file (jansson). Unknown keys and wrong types are rejected
 * with a detail; relative file paths are resolved against the directory
 * of the configuration file. Nothing here is secret.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client/client.h"
#include "common/util.h"

void
cf_strlcpy(char *dst, const char *src, size_t n)
{
	size_t l;

	if (dst == NULL || n == 0)
		return;
	if (src == NULL)
		src = "";
	l = strnlen(src, n - 1);
	memcpy(dst, src, l);
	dst[l] = '\0';
}

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
coffer_config_new(struct coffer_config **out)
{
	struct coffer_config *cfg;

	if (out == NULL)
		return COFFER_E_INVAL;
	*out = NULL;
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		return COFFER_E_NOMEM;
	cfg->timeout_ms = CF_CLI_DEFAULT_TIMEOUT_MS;
	cfg->keygen_timeout_ms = CF_CLI_DEFAULT_KEYGEN_TIMEOUT_MS;
	cfg->connections = CF_CLI_DEFAULT_CONNS;
	cfg->spin_us = CF_CLI_DEFAULT_SPIN_US;
	*out = cfg;
	return 0;
}

void
cf_config_clear(struct coffer_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nservers; i++)
		free(cfg->servers[i]);
	free(cfg->trust_anchor);
	free(cfg->server_name);
	free(cfg->client_cert);
	free(cfg->client_key);
	OPENSSL_cleanse(cfg, sizeof(*cfg));
}

void
coffer_config_free(struct coffer_config *cfg)
{
	if (cfg == NULL)
		return;
	cf_config_clear(cfg);
	free(cfg);
}

static int
dupstr(const char *s, char **dst)
{
	char *p = NULL;

	if (s != NULL && (p = strdup(s)) == NULL)
		return COFFER_E_NOMEM;
	free(*dst);
	*dst = p;
	return 0;
}

int
cf_config_copy(const struct coffer_config *src, struct coffer_config *dst)
{
	int rc = COFFER_E_NOMEM;
	size_t i;

	*dst = (struct coffer_config){0};
	for (i = 0; i < src->nservers; i++) {
		if ((dst->servers[i] = strdup(src->servers[i])) == NULL)
			goto out;
		dst->nservers++;
	}
	if (dupstr(src->trust_anchor, &dst->trust_anchor) != 0 ||
	    dupstr(src->server_name, &dst->server_name) != 0 ||
	    dupstr(src->client_cert, &dst->client_cert) != 0 ||
	    dupstr(src->client_key, &dst->client_key) != 0)
		goto out;
	memcpy(dst->pin, src->pin, sizeof(dst->pin));
	dst->have_pin = src->have_pin;
	dst->timeout_ms = src->timeout_ms;
	dst->keygen_timeout_ms = src->keygen_timeout_ms;
	dst->connections = src->connections;
	dst->spin_us = src->spin_us;
	rc = 0;
out:
	if (rc != 0)
		cf_config_clear(dst);
	return rc;
}

bool
cf_config_all_unix(const struct coffer_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nservers; i++)
		if (!cf_is_unix_addr(cfg->servers[i]))
			return false;
	return cfg->nservers > 0;
}

int
coffer_config_add_server(struct coffer_config *cfg, const char *host_port)
{
	char host[256];
	uint16_t port;
	char *s;

	if (cfg == NULL || host_port == NULL)
		return COFFER_E_INVAL;
	if (cfg->nservers >= CF_CLI_MAX_SERVERS)
		return COFFER_E_CONFIG;
	if (cf_is_unix_addr(host_port)) {
		/* "unix:PATH": a node's local socket (plain frames). */
		if (host_port[5] == '\0' ||
		    strlen(host_port + 5) > CF_UNIX_PATH_MAX)
			return COFFER_E_CONFIG;
	} else if (cf_parse_host_port(host_port, host, sizeof(host),
	    &port) != 0 || port == 0)
		return COFFER_E_CONFIG;
	if ((s = strdup(host_port)) == NULL)
		return COFFER_E_NOMEM;
	cfg->servers[cfg->nservers++] = s;
	return 0;
}

int
coffer_config_set_trust_anchor(struct coffer_config *cfg, const char *path)
{
	if (cfg == NULL || (path != NULL && *path == '\0'))
		return COFFER_E_INVAL;
	return dupstr(path, &cfg->trust_anchor);
}

int
coffer_config_set_server_name(struct coffer_config *cfg, const char *name)
{
	if (cfg == NULL || (name != NULL && *name == '\0'))
		return COFFER_E_INVAL;
	return dupstr(name, &cfg->server_name);
}

/*
 * Accepts 64 hex digits, optionally "sha256:"-prefixed and with ':'
 * separators (the `openssl x509 -fingerprint` form).
 */
int
coffer_config_set_pin(struct coffer_config *cfg, const char *hex)
{
	char clean[65];
	size_t n = 0;
	const char *p;

	if (cfg == NULL)
		return COFFER_E_INVAL;
	if (hex == NULL) {
		cfg->have_pin = false;
		return 0;
	}
	if (strncasecmp(hex, "sha256:", 7) == 0)
		hex += 7;
	for (p = hex; *p != '\0'; p++) {
		if (*p == ':')
			continue;
		if (!isxdigit((unsigned char)*p) || n >= 64)
			return COFFER_E_CONFIG;
		clean[n++] = (char)tolower((unsigned char)*p);
	}
	clean[n] = '\0';
	if (n != 64 || cf_unhex(clean, cfg->pin, sizeof(cfg->pin)) != 0)
		return COFFER_E_CONFIG;
	cfg->have_pin = true;
	return 0;
}

int
coffer_config_set_client_cert(struct coffer_config *cfg, const char *cert,
    const char *key)
{
	int rc;

	if (cfg == NULL || (cert == NULL) != (key == NULL))
		return COFFER_E_INVAL;
	if ((rc = dupstr(cert, &cfg->client_cert)) != 0)
		return rc;
	return dupstr(key, &cfg->client_key);
}

int
coffer_config_set_spin_us(struct coffer_config *cfg, unsigned us)
{
	if (cfg == NULL || us > CF_CLI_MAX_SPIN_US)
		return COFFER_E_INVAL;
	cfg->spin_us = us;
	return 0;
}

int
coffer_config_set_timeout_ms(struct coffer_config *cfg, unsigned ms)
{
	if (cfg == NULL || ms == 0 || ms > CF_CLI_MAX_TIMEOUT_MS)
		return COFFER_E_INVAL;
	cfg->timeout_ms = ms;
	return 0;
}

int
coffer_config_set_keygen_timeout_ms(struct coffer_config *cfg, unsigned ms)
{
	if (cfg == NULL || ms == 0 || ms > CF_CLI_MAX_TIMEOUT_MS)
		return COFFER_E_INVAL;
	cfg->keygen_timeout_ms = ms;
	return 0;
}

int
coffer_config_set_connections(struct coffer_config *cfg, unsigned n)
{
	if (cfg == NULL || n == 0 || n > CF_CLI_MAX_CONNS)
		return COFFER_E_INVAL;
	cfg->connections = n;
	return 0;
}

/* dir + "/" + rel for a relative rel; a copy of rel otherwise. */
static int
resolve_path(const char *dir, const char *rel, char **out)
{
	*out = NULL;
	if (rel[0] == '/' || dir == NULL || dir[0] == '\0') {
		if ((*out = strdup(rel)) == NULL)
			return COFFER_E_NOMEM;
		return 0;
	}
	if (asprintf(out, "%s/%s", dir, rel) < 0) {
		*out = NULL;
		return COFFER_E_NOMEM;
	}
	return 0;
}

static int
get_path(json_t *v, const char *key, const char *dir, char **dst, char *err,
    size_t errlen)
{
	char *p;
	int rc;

	if (!json_is_string(v) || json_string_length(v) == 0) {
		seterr(err, errlen, "\"%s\" must be a non-empty string", key);
		return COFFER_E_CONFIG;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		seterr(err, errlen, "\"%s\" contains a NUL byte", key);
		return COFFER_E_CONFIG;
	}
	if ((rc = resolve_path(dir, json_string_value(v), &p)) != 0)
		return rc;
	free(*dst);
	*dst = p;
	return 0;
}

static int
get_uint(json_t *v, const char *key, unsigned lo, unsigned hi, unsigned *dst,
    char *err, size_t errlen)
{
	json_int_t i;

	if (!json_is_integer(v)) {
		seterr(err, errlen, "\"%s\" must be an integer", key);
		return COFFER_E_CONFIG;
	}
	i = json_integer_value(v);
	if (i < (json_int_t)lo || i > (json_int_t)hi) {
		seterr(err, errlen, "\"%s\" must be between %u and %u", key,
		    lo, hi);
		return COFFER_E_CONFIG;
	}
	*dst = (unsigned)i;
	return 0;
}

static int
load_servers(struct coffer_config *cfg, json_t *v, const char *dir, char *err,
    size_t errlen)
{
	const char *s;
	char *abs = NULL, *full = NULL;
	json_t *e;
	size_t i;
	int rc;

	if (!json_is_array(v)) {
		seterr(err, errlen, "\"servers\" must be an array of strings");
		return COFFER_E_CONFIG;
	}
	if (json_array_size(v) == 0) {
		seterr(err, errlen, "\"servers\" is empty");
		return COFFER_E_CONFIG;
	}
	if (json_array_size(v) > CF_CLI_MAX_SERVERS) {
		seterr(err, errlen, "too many servers (at most %d)",
		    CF_CLI_MAX_SERVERS);
		return COFFER_E_CONFIG;
	}
	json_array_foreach(v, i, e) {
		if (!json_is_string(e)) {
			seterr(err, errlen, "servers[%zu] must be a string", i);
			return COFFER_E_CONFIG;
		}
		s = json_string_value(e);
		/* A relative socket path is relative to this file's
		 * directory, like the other paths here. */
		if (cf_is_unix_addr(s) && s[5] != '\0' && s[5] != '/') {
			if (resolve_path(dir, s + 5, &abs) != 0 ||
			    asprintf(&full, "unix:%s", abs) < 0) {
				free(abs);
				return COFFER_E_NOMEM;
			}
			free(abs);
			abs = NULL;
			rc = coffer_config_add_server(cfg, full);
			free(full);
			full = NULL;
		} else
			rc = coffer_config_add_server(cfg, s);
		if (rc == COFFER_E_NOMEM)
			return rc;
		if (rc != 0) {
			seterr(err, errlen, "servers[%zu]: \"%s\" is neither "
			    "host:port nor unix:PATH (at most %d bytes)", i, s,
			    CF_UNIX_PATH_MAX);
			return COFFER_E_CONFIG;
		}
	}
	return 0;
}

int
coffer_config_load_err(const char *path, struct coffer_config **out,
    char *err, size_t errlen)
{
	struct coffer_config *cfg = NULL;
	json_error_t jerr;
	json_t *root = NULL, *v;
	const char *key;
	char *dir = NULL, *slash;
	int rc = COFFER_E_INTERNAL;

	seterr(err, errlen, "%s", "");
	if (out == NULL || path == NULL) {
		seterr(err, errlen, "no configuration path");
		return COFFER_E_INVAL;
	}
	*out = NULL;
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		seterr(err, errlen, "%s:%d: %s", path, jerr.line, jerr.text);
		rc = COFFER_E_CONFIG;
		goto out;
	}
	if (!json_is_object(root)) {
		seterr(err, errlen, "%s: top level must be a JSON object", path);
		rc = COFFER_E_CONFIG;
		goto out;
	}
	if ((dir = strdup(path)) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	if ((slash = strrchr(dir, '/')) == NULL)
		dir[0] = '\0';
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((rc = coffer_config_new(&cfg)) != 0)
		goto out;

	json_object_foreach(root, key, v) {
		if (strcmp(key, "servers") == 0) {
			rc = load_servers(cfg, v, dir, err, errlen);
		} else if (strcmp(key, "trust_anchor") == 0) {
			rc = get_path(v, key, dir, &cfg->trust_anchor, err,
			    errlen);
		} else if (strcmp(key, "client_cert") == 0) {
			rc = get_path(v, key, dir, &cfg->client_cert, err,
			    errlen);
		} else if (strcmp(key, "client_key") == 0) {
			rc = get_path(v, key, dir, &cfg->client_key, err,
			    errlen);
		} else if (strcmp(key, "server_name") == 0) {
			if (!json_is_string(v) || json_string_length(v) == 0) {
				seterr(err, errlen, "\"server_name\" must be a "
				    "non-empty string");
				rc = COFFER_E_CONFIG;
			} else
				rc = coffer_config_set_server_name(cfg,
				    json_string_value(v));
		} else if (strcmp(key, "pin_sha256") == 0) {
			if (!json_is_string(v)) {
				seterr(err, errlen, "\"pin_sha256\" must be a "
				    "string");
				rc = COFFER_E_CONFIG;
			} else if ((rc = coffer_config_set_pin(cfg,
			    json_string_value(v))) != 0)
				seterr(err, errlen, "\"pin_sha256\" must be 64 "
				    "hex digits");
		} else if (strcmp(key, "timeout_ms") == 0) {
			rc = get_uint(v, key, 1, CF_CLI_MAX_TIMEOUT_MS,
			    &cfg->timeout_ms, err, errlen);
		} else if (strcmp(key, "keygen_timeout_ms") == 0) {
			rc = get_uint(v, key, 1, CF_CLI_MAX_TIMEOUT_MS,
			    &cfg->keygen_timeout_ms, err, errlen);
		} else if (strcmp(key, "spin_us") == 0) {
			rc = get_uint(v, key, 0, CF_CLI_MAX_SPIN_US,
			    &cfg->spin_us, err, errlen);
		} else if (strcmp(key, "connections") == 0) {
			rc = get_uint(v, key, 1, CF_CLI_MAX_CONNS,
			    &cfg->connections, err, errlen);
		} else {
			seterr(err, errlen, "%s: unknown key \"%s\"", path, key);
			rc = COFFER_E_CONFIG;
		}
		if (rc != 0)
			goto out;
	}
	if (cfg->nservers == 0) {
		seterr(err, errlen, "%s: \"servers\" is missing", path);
		rc = COFFER_E_CONFIG;
		goto out;
	}
	if ((cfg->client_cert == NULL) != (cfg->client_key == NULL)) {
		seterr(err, errlen, "%s: \"client_cert\" and \"client_key\" "
		    "go together", path);
		rc = COFFER_E_CONFIG;
		goto out;
	}
	*out = cfg;
	cfg = NULL;
	rc = 0;
out:
	coffer_config_free(cfg);
	json_decref(root);
	free(dir);
	return rc;
}

int
coffer_config_load(const char *path, struct coffer_config **out)
{
	return coffer_config_load_err(path, out, NULL, 0);
}
