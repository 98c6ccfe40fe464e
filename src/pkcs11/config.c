/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c: the module's JSON configuration (docs/INTEGRATIONS.md).
 *
 *   { "log_file": "/var/log/coffer-pkcs11.log", "log_level": "info",
 *     "max_sessions": 8192,
 *     "slots": [ { "label": "prod", "client_config": "/etc/coffer/client.json" },
 *                { "label": "dev", "servers": ["127.0.0.1:2225"],
 *                  "trust_anchor": "ca.pem", ... } ] }
 *
 * A slot names a libcoffer client config file or carries the same keys
 * inline. A file with "servers" and no "slots" is one slot. Unknown keys
 * are errors, so a typo is reported rather than ignored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "p11.h"

static const char *const top_keys[] = { "log_file", "log_level",
    "max_sessions", "slots", NULL };
static const char *const slot_keys[] = { "label", "client_config", "servers",
    "trust_anchor", "server_name", "pin_sha256", "client_cert", "client_key",
    "timeout_ms", "keygen_timeout_ms", "connections", "spin_us", NULL };

static bool
known(const char *k, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(k, *list) == 0)
			return true;
	return false;
}

static int
str_field(json_t *o, const char *k, const char **out, char *err,
    size_t errlen)
{
	json_t *v = json_object_get(o, k);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "\"%s\" must be a string", k);
		return COFFER_E_CONFIG;
	}
	*out = json_string_value(v);
	return 0;
}

/*
 * A file path from the configuration: relative paths are resolved against
 * the directory of the configuration file (as libcoffer does for a client
 * configuration), never against the application's working directory.
 */
static const char *
conf_path(const char *dir, const char *s, char *buf, size_t len)
{
	int n;

	if (s == NULL || s[0] == '/' || dir == NULL)
		return s;
	n = snprintf(buf, len, "%s/%s", dir, s);
	return n > 0 && (size_t)n < len ? buf : NULL;
}

/* An optional unsigned key of a slot, min … max, passed to set. */
static int
uint_field(json_t *o, const char *k, json_int_t min, json_int_t max,
    struct coffer_config *cfg, int (*set)(struct coffer_config *, unsigned),
    char *err, size_t errlen)
{
	json_t *v = json_object_get(o, k);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max ||
	    set(cfg, (unsigned)json_integer_value(v)) != 0) {
		snprintf(err, errlen, "bad \"%s\"", k);
		return -1;
	}
	return 0;
}

static int
slot_inline(json_t *o, const char *dir, struct coffer_config **out,
    char *err, size_t errlen)
{
	char pbuf[4096], pbuf2[4096];
	struct coffer_config *cfg = NULL;
	const char *s, *cert, *key;
	json_t *v, *srv;
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = coffer_config_new(&cfg)) != 0)
		goto out;
	rc = COFFER_E_CONFIG;
	srv = json_object_get(o, "servers");
	if (!json_is_array(srv) || json_array_size(srv) == 0) {
		snprintf(err, errlen, "\"servers\" must be a non-empty array");
		goto out;
	}
	json_array_foreach(srv, i, v) {
		if (!json_is_string(v) ||
		    coffer_config_add_server(cfg, json_string_value(v)) != 0) {
			snprintf(err, errlen, "bad entry %zu in \"servers\"", i);
			goto out;
		}
	}
	if (str_field(o, "trust_anchor", &s, err, errlen) != 0)
		goto out;
	if (s != NULL && ((s = conf_path(dir, s, pbuf, sizeof(pbuf))) ==
	    NULL || coffer_config_set_trust_anchor(cfg, s) != 0)) {
		snprintf(err, errlen, "bad \"trust_anchor\"");
		goto out;
	}
	if (str_field(o, "server_name", &s, err, errlen) != 0)
		goto out;
	if (s != NULL && coffer_config_set_server_name(cfg, s) != 0) {
		snprintf(err, errlen, "bad \"server_name\"");
		goto out;
	}
	if (str_field(o, "pin_sha256", &s, err, errlen) != 0)
		goto out;
	if (s != NULL && coffer_config_set_pin(cfg, s) != 0) {
		snprintf(err, errlen, "bad \"pin_sha256\"");
		goto out;
	}
	if (str_field(o, "client_cert", &cert, err, errlen) != 0 ||
	    str_field(o, "client_key", &key, err, errlen) != 0)
		goto out;
	if ((cert == NULL) != (key == NULL)) {
		snprintf(err, errlen, "\"client_cert\" and \"client_key\" go "
		    "together");
		goto out;
	}
	if (cert != NULL && ((cert = conf_path(dir, cert, pbuf,
	    sizeof(pbuf))) == NULL || (key = conf_path(dir, key, pbuf2,
	    sizeof(pbuf2))) == NULL ||
	    coffer_config_set_client_cert(cfg, cert, key) != 0)) {
		snprintf(err, errlen, "bad \"client_cert\"/\"client_key\"");
		goto out;
	}
	if (uint_field(o, "timeout_ms", 1, 3600000, cfg,
	    coffer_config_set_timeout_ms, err, errlen) != 0 ||
	    uint_field(o, "keygen_timeout_ms", 1, 3600000, cfg,
	    coffer_config_set_keygen_timeout_ms, err, errlen) != 0 ||
	    uint_field(o, "spin_us", 0, 10000, cfg,
	    coffer_config_set_spin_us, err, errlen) != 0 ||
	    uint_field(o, "connections", 1, 1024, cfg,
	    coffer_config_set_connections, err, errlen) != 0)
		goto out;
	*out = cfg;
	cfg = NULL;
	rc = 0;
 out:
	coffer_config_free(cfg);
	return rc;
}

static int
slot_parse(json_t *o, const char *dir, size_t idx, struct p11_slot_conf *sc,
    char *err, size_t errlen)
{
	char sub[256] = "", pbuf[4096];
	const char *label, *path, *k;
	json_t *v;
	int rc;

	if (!json_is_object(o)) {
		snprintf(err, errlen, "slot %zu: not an object", idx);
		return COFFER_E_CONFIG;
	}
	json_object_foreach(o, k, v) {
		if (!known(k, slot_keys)) {
			snprintf(err, errlen, "slot %zu: unknown key \"%s\"",
			    idx, k);
			return COFFER_E_CONFIG;
		}
	}
	if ((rc = str_field(o, "label", &label, err, errlen)) != 0 ||
	    (rc = str_field(o, "client_config", &path, err, errlen)) != 0)
		return rc;
	if (label != NULL && strlen(label) > 32) {
		snprintf(err, errlen, "slot %zu: label longer than 32 bytes",
		    idx);
		return COFFER_E_CONFIG;
	}
	snprintf(sc->label, sizeof(sc->label), "%s",
	    label != NULL ? label : "coffer");
	if (path != NULL) {
		if (json_object_get(o, "servers") != NULL) {
			snprintf(err, errlen, "slot %zu: \"client_config\" and "
			    "\"servers\" exclude each other", idx);
			return COFFER_E_CONFIG;
		}
		if ((path = conf_path(dir, path, pbuf, sizeof(pbuf))) ==
		    NULL) {
			snprintf(err, errlen, "slot %zu: \"client_config\" "
			    "path too long", idx);
			return COFFER_E_CONFIG;
		}
		rc = coffer_config_load_err(path, &sc->cfg, sub, sizeof(sub));
		if (rc != 0)
			snprintf(err, errlen, "slot %zu: client config %s: %s",
			    idx, path, sub[0] ? sub : coffer_strerror(rc));
		return rc == COFFER_E_NOMEM ? rc : (rc ? COFFER_E_CONFIG : 0);
	}
	if ((rc = slot_inline(o, dir, &sc->cfg, sub, sizeof(sub))) != 0)
		snprintf(err, errlen, "slot %zu: %s", idx, sub);
	return rc;
}

int
p11_conf_load(const char *path, struct p11_conf *out, char *err,
    size_t errlen)
{
	json_error_t jerr;
	json_t *root = NULL, *slots, *v;
	const char *k, *s;
	char *dir = NULL, *slash, pbuf[4096];
	size_t i, n;
	int rc = COFFER_E_CONFIG, lvl;

	*out = (struct p11_conf){ 0 };
	out->log_level = P11_LOG_WARN;
	out->max_sessions = P11_DEFAULT_MAX_SESSIONS;
	if (path == NULL && (path = getenv("COFFER_PKCS11_CONF")) == NULL)
		path = P11_DEFAULT_CONF;
	/* the directory relative paths in the file are resolved against */
	if ((dir = strdup(path)) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	if ((slash = strrchr(dir, '/')) == NULL) {
		free(dir);
		dir = NULL;		/* in the working directory */
	} else if (slash == dir) {
		slash[1] = '\0';	/* "/x.json": "/" + "/" + rel is fine */
	} else {
		*slash = '\0';
	}
	if ((root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		snprintf(err, errlen, "%s:%d: %s", path, jerr.line, jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "%s: not a JSON object", path);
		goto out;
	}
	slots = json_object_get(root, "slots");
	if (slots == NULL && json_object_get(root, "servers") != NULL) {
		/* Shorthand: the whole file is one slot (plus log keys). */
		json_t *copy = json_deep_copy(root);

		if (copy == NULL) {
			rc = COFFER_E_NOMEM;
			goto out;
		}
		for (i = 0; top_keys[i] != NULL; i++)
			json_object_del(copy, top_keys[i]);
		json_object_del(root, "servers");
		json_object_foreach(copy, k, v)
			json_object_del(root, k);
		slots = json_array();
		if (slots == NULL || json_array_append_new(slots, copy) != 0 ||
		    json_object_set_new(root, "slots", slots) != 0) {
			rc = COFFER_E_NOMEM;
			goto out;
		}
	}
	json_object_foreach(root, k, v) {
		if (!known(k, top_keys)) {
			snprintf(err, errlen, "%s: unknown key \"%s\"", path, k);
			goto out;
		}
	}
	if (str_field(root, "log_file", &s, err, errlen) != 0)
		goto out;
	if (s != NULL && (s = conf_path(dir, s, pbuf, sizeof(pbuf))) == NULL) {
		snprintf(err, errlen, "\"log_file\" path too long");
		goto out;
	}
	if (s != NULL && (out->log_file = strdup(s)) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	if (str_field(root, "log_level", &s, err, errlen) != 0)
		goto out;
	if (s != NULL) {
		if ((lvl = p11_log_level_from_name(s)) < 0) {
			snprintf(err, errlen, "bad \"log_level\" (error, warn, "
			    "info, debug)");
			goto out;
		}
		out->log_level = lvl;
	}
	if ((v = json_object_get(root, "max_sessions")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) >= (1 << P11_HANDLE_BITS) - 1) {
			snprintf(err, errlen, "bad \"max_sessions\"");
			goto out;
		}
		out->max_sessions = (size_t)json_integer_value(v);
	}
	slots = json_object_get(root, "slots");
	if (!json_is_array(slots) || (n = json_array_size(slots)) == 0 ||
	    n > P11_MAX_SLOTS) {
		snprintf(err, errlen, "%s: \"slots\" must be an array of 1..%d "
		    "slots", path, P11_MAX_SLOTS);
		goto out;
	}
	if ((out->slots = calloc(n, sizeof(*out->slots))) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	out->nslots = n;
	for (i = 0; i < n; i++)
		if ((rc = slot_parse(json_array_get(slots, i), dir, i,
		    &out->slots[i], err, errlen)) != 0)
			goto out;
	rc = 0;
 out:
	free(dir);
	json_decref(root);
	if (rc != 0)
		p11_conf_clear(out);
	return rc;
}

void
p11_conf_clear(struct p11_conf *c)
{
	size_t i;

	for (i = 0; i < c->nslots; i++)
		coffer_config_free(c->slots[i].cfg);
	free(c->slots);
	free(c->log_file);
	*c = (struct p11_conf){ 0 };
}
