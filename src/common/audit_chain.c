/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_chain.c: formatting and checking of hash-chained audit records.
 *
 * Line layout (see audit_chain.h), fields in this fixed order:
 *   {"seq":N,"time":"YYYY-MM-DDTHH:MM:SS.mmmZ","node":N,"user":"..",
 *    "role":"..","op":"..","target":"..","result":"..","peer":"..",
 *    "prev":"<64 hex>"                                   <- BODY ends here
 *   ,"hash":"<sha256(BODY) hex>"}
 * Strings are escaped by our own encoder so that any bytes a peer chose
 * (quotes, newlines, invalid UTF-8) still give one valid JSON line: invalid
 * UTF-8 becomes U+FFFD. The checker recomputes the hash over BODY and
 * parses the whole line with jansson, requiring exactly these keys.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "coffer/coffer_err.h"
#include "common/audit_chain.h"
#include "common/buf.h"
#include "common/util.h"

#define LINE_MAX_LEN (64 * 1024)
/* ,"hash":" + 64 hex + "} */
#define SUFFIX_HEAD ",\"hash\":\""
#define SUFFIX_LEN (sizeof(SUFFIX_HEAD) - 1 + 64 + 2)

static int
is_hex64(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != 64)
		return 0;
	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* Length of the valid UTF-8 sequence at p (max n bytes), 0 if invalid. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong, surrogate and out-of-range forms are invalid. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* Appends s as a JSON string literal, quotes included. */
static int
put_json_str(struct cf_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	size_t n = strlen((const char *)p), i = 0, l;
	char esc[8];
	int rc;

	if ((rc = cf_buf_put_u8(b, '"')) != 0)
		return rc;
	while (i < n) {
		unsigned char c = p[i];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			rc = cf_buf_put_raw(b, esc, 2);
			l = 1;
		} else if (c < 0x20 || c == 0x7f) {
			switch (c) {
			case '\n':
				rc = cf_buf_put_raw(b, "\\n", 2);
				break;
			case '\r':
				rc = cf_buf_put_raw(b, "\\r", 2);
				break;
			case '\t':
				rc = cf_buf_put_raw(b, "\\t", 2);
				break;
			default:
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				rc = cf_buf_put_raw(b, esc, 6);
				break;
			}
			l = 1;
		} else if ((l = utf8_len(p + i, n - i)) == 0) {
			rc = cf_buf_put_raw(b, "\\ufffd", 6);
			l = 1;
		} else
			rc = cf_buf_put_raw(b, p + i, l);
		if (rc != 0)
			return rc;
		i += l;
	}
	return cf_buf_put_u8(b, '"');
}

static int
put_fmt(struct cf_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
put_fmt(struct cf_buf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return COFFER_E_INTERNAL;
	return cf_buf_put_raw(b, tmp, (size_t)n);
}

static int
iso_time(uint64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char d[24];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(d, sizeof(d), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return COFFER_E_INVAL;
	snprintf(out, 32, "%s.%03uZ", d, (unsigned)(ms % 1000));
	return 0;
}

int
cf_audit_format(const struct cf_audit_fields *f, char **line, char hash[65])
{
	struct cf_buf *b = NULL;
	char ts[32], h[65];
	uint8_t *p = NULL;
	size_t n = 0;
	int rc = COFFER_E_INTERNAL;

	*line = NULL;
	hash[0] = '\0';
	/* jansson reads integers as signed 64-bit. */
	if (f == NULL || !is_hex64(f->prev) || f->seq == 0 ||
	    f->seq > INT64_MAX || f->node_id > INT64_MAX)
		return COFFER_E_INVAL;
	if ((rc = iso_time(f->time_ms, ts)) != 0)
		return rc;
	if ((b = cf_buf_new(LINE_MAX_LEN)) == NULL)
		return COFFER_E_NOMEM;
	if ((rc = put_fmt(b, "{\"seq\":%" PRIu64 ",\"time\":\"%s\",\"node\":%"
	    PRIu64 ",\"user\":", f->seq, ts, f->node_id)) != 0 ||
	    (rc = put_json_str(b, f->user)) != 0 ||
	    (rc = cf_buf_put_raw(b, ",\"role\":", 8)) != 0 ||
	    (rc = put_json_str(b, f->role)) != 0 ||
	    (rc = cf_buf_put_raw(b, ",\"op\":", 6)) != 0 ||
	    (rc = put_json_str(b, f->op)) != 0 ||
	    (rc = cf_buf_put_raw(b, ",\"target\":", 10)) != 0 ||
	    (rc = put_json_str(b, f->target)) != 0 ||
	    (rc = cf_buf_put_raw(b, ",\"result\":", 10)) != 0 ||
	    (rc = put_json_str(b, f->result)) != 0 ||
	    (rc = cf_buf_put_raw(b, ",\"peer\":", 8)) != 0 ||
	    (rc = put_json_str(b, f->peer)) != 0 ||
	    (rc = put_fmt(b, ",\"prev\":\"%s\"", f->prev)) != 0)
		goto out;
	if ((rc = cf_sha256_hex(cf_buf_ptr(b), cf_buf_len(b), h)) != 0)
		goto out;
	if ((rc = put_fmt(b, "%s%s\"}", SUFFIX_HEAD, h)) != 0 ||
	    (rc = cf_buf_put_u8(b, '\0')) != 0 ||
	    (rc = cf_buf_steal(b, &p, &n)) != 0)
		goto out;
	*line = (char *)p;
	memcpy(hash, h, 65);
	rc = 0;
 out:
	cf_buf_free(b);
	return rc;
}

static int
get_str(json_t *o, const char *k, const char **v)
{
	json_t *j = json_object_get(o, k);

	if (!json_is_string(j))
		return COFFER_E_FORMAT;
	*v = json_string_value(j);
	return 0;
}

int
cf_audit_check_line(const char *line, uint64_t *seq, char prev[65],
    char hash[65])
{
	static const char *const strs[] = { "time", "user", "role", "op",
	    "target", "result", "peer" };
	const char *sfx, *jprev, *jhash, *v;
	char calc[65];
	json_t *o = NULL, *j;
	json_error_t jerr;
	size_t len, i;
	int rc = COFFER_E_FORMAT;

	*seq = 0;
	prev[0] = '\0';
	hash[0] = '\0';
	if (line == NULL)
		return COFFER_E_INVAL;
	len = strnlen(line, LINE_MAX_LEN + 1);
	if (len > LINE_MAX_LEN || len <= SUFFIX_LEN)
		return COFFER_E_FORMAT;
	sfx = line + len - SUFFIX_LEN;
	if (memcmp(sfx, SUFFIX_HEAD, sizeof(SUFFIX_HEAD) - 1) != 0 ||
	    strcmp(sfx + SUFFIX_LEN - 2, "\"}") != 0)
		return COFFER_E_FORMAT;
	if (cf_sha256_hex(line, (size_t)(sfx - line), calc) != 0)
		return COFFER_E_INTERNAL;
	if (memcmp(sfx + sizeof(SUFFIX_HEAD) - 1, calc, 64) != 0)
		return COFFER_E_INTEGRITY;

	/* The hash matches; now the body must be the record we expect. */
	if ((o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
	    !json_is_object(o) || json_object_size(o) != 11)
		goto out;
	j = json_object_get(o, "seq");
	if (!json_is_integer(j) || json_integer_value(j) < 1 ||
	    !json_is_integer(json_object_get(o, "node")) ||
	    json_integer_value(json_object_get(o, "node")) < 0)
		goto out;
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (get_str(o, strs[i], &v) != 0)
			goto out;
	if (get_str(o, "prev", &jprev) != 0 || !is_hex64(jprev) ||
	    get_str(o, "hash", &jhash) != 0 || strcmp(jhash, calc) != 0)
		goto out;
	/* The body must start with seq, as the writer puts it first. */
	if (strncmp(line, "{\"seq\":", 7) != 0)
		goto out;
	*seq = (uint64_t)json_integer_value(j);
	memcpy(prev, jprev, 65);
	memcpy(hash, calc, 65);
	rc = 0;
 out:
	json_decref(o);
	return rc;
}
