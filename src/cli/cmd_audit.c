/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_audit.c: `coffer audit export` (JSON lines) and `coffer audit
 * verify` (offline on a file, or online against the node's head, which
 * also catches deletion of the newest records).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

struct lines {
	char **v;
	size_t *lineno;		/* 1-based line in the file */
	size_t n, cap;
};

static void
lines_free(struct lines *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l->lineno);
	l->v = NULL;
	l->lineno = NULL;
	l->n = l->cap = 0;
}

/* Takes ownership of s. */
static int
lines_add(struct lines *l, char *s, size_t lineno)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		char **v = reallocarray(l->v, cap, sizeof(*v));
		size_t *ln;

		if (v == NULL) {
			free(s);
			return COFFER_E_NOMEM;
		}
		l->v = v;
		if ((ln = reallocarray(l->lineno, cap, sizeof(*ln))) == NULL) {
			free(s);
			return COFFER_E_NOMEM;
		}
		l->lineno = ln;
		l->cap = cap;
	}
	l->v[l->n] = s;
	l->lineno[l->n] = lineno;
	l->n++;
	return 0;
}

static int
collect_cb(void *arg, const char *record)
{
	struct lines *l = arg;
	char *s = strdup(record);

	if (s == NULL)
		return COFFER_E_NOMEM;
	return lines_add(l, s, l->n + 1);
}

struct export_ctx {
	FILE *f;
	uint64_t n;
};

static int
write_cb(void *arg, const char *record)
{
	struct export_ctx *x = arg;

	if (fputs(record, x->f) == EOF || fputc('\n', x->f) == EOF)
		return COFFER_E_IO;
	x->n++;
	return 0;
}

int
cmd_audit_export(struct cli *c)
{
	struct export_ctx x = { stdout, 0 };
	uint64_t from = 1, head_seq = 0;
	char head_hash[65] = "";
	int fd = -1, rc;

	if (c->o.from != NULL && cli_parse_u64(c->o.from, 1, UINT64_MAX,
	    &from) != 0)
		return cli_usage(c, "--from must be a record number >= 1");
	if (c->o.out != NULL) {
		/* Audit records name users and peers: keep the file private. */
		fd = open(c->o.out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0600);
		if (fd < 0 || (x.f = fdopen(fd, "w")) == NULL) {
			rc = cli_fail(c, COFFER_E_IO, "%s: %s", c->o.out,
			    strerror(errno));
			if (fd >= 0)
				close(fd);
			return rc;
		}
	}
	rc = coffer_audit_export(c->client, from, write_cb, &x, &head_seq,
	    head_hash);
	if (rc == COFFER_E_IO)
		cli_fail(c, rc, "%s: %s", c->o.out ? c->o.out : "stdout",
		    strerror(errno));
	if (c->o.out != NULL) {
		if (fflush(x.f) != 0 || fsync(fileno(x.f)) != 0) {
			if (rc == 0)
				rc = cli_fail(c, COFFER_E_IO, "%s: %s",
				    c->o.out, strerror(errno));
		}
		if (fclose(x.f) != 0 && rc == 0)
			rc = cli_fail(c, COFFER_E_IO, "%s: %s", c->o.out,
			    strerror(errno));
	} else {
		fflush(stdout);
	}
	if (rc != 0)
		return rc;
	if (c->o.out == NULL)
		return 0;	/* stdout holds the records themselves */
	if (c->o.json)
		cli_json_print(json_pack("{s:s, s:I, s:I, s:I, s:s}", "file",
		    c->o.out, "records", (json_int_t)x.n, "from",
		    (json_int_t)from, "head_seq", (json_int_t)head_seq,
		    "head_hash", head_hash));
	else
		cli_info(c, "exported %llu records to %s, head %llu %s",
		    (unsigned long long)x.n, c->o.out,
		    (unsigned long long)head_seq, head_hash);
	return 0;
}

static int
read_lines(struct cli *c, const char *path, struct lines *l)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	int rc = 0;

	if (strcmp(path, "-") == 0)
		f = stdin;
	else if ((f = fopen(path, "re")) == NULL)
		return cli_fail(c, COFFER_E_IO, "%s: %s", path,
		    strerror(errno));
	errno = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;	/* blank lines carry nothing */
		if ((rc = lines_add(l, line, lineno)) != 0)
			goto out;
		line = NULL;
		cap = 0;
	}
	if (ferror(f))
		rc = cli_fail(c, COFFER_E_IO, "%s: %s", path, strerror(errno));
 out:
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

/* seq and hash of the last record, for the success message. */
static void
last_head(const struct lines *l, uint64_t *seq, char hash[65])
{
	json_t *j, *h;

	*seq = 0;
	hash[0] = '\0';
	if (l->n == 0)
		return;
	if ((j = json_loads(l->v[l->n - 1], 0, NULL)) == NULL)
		return;
	if (json_is_integer(json_object_get(j, "seq")))
		*seq = (uint64_t)json_integer_value(json_object_get(j, "seq"));
	h = json_object_get(j, "hash");
	if (json_is_string(h))
		snprintf(hash, 65, "%s", json_string_value(h));
	json_decref(j);
}

int
cmd_audit_verify(struct cli *c)
{
	const char *file = c->argc > 0 ? c->argv[0] : NULL;
	struct lines l = { 0 };
	uint64_t head_seq = 0, seq;
	char head_hash[65] = "", hash[65], err[256] = "";
	size_t bad = 0, lineno;
	int rc;

	if (file != NULL) {
		if ((rc = read_lines(c, file, &l)) != 0)
			goto out;
	} else {
		if ((rc = coffer_audit_export(c->client, 1, collect_cb, &l,
		    &head_seq, head_hash)) != 0)
			goto out;
	}
	rc = coffer_audit_verify_lines((const char *const *)l.v, l.n,
	    head_seq, file ? NULL : head_hash, &bad, err, sizeof(err));
	if (rc != 0) {
		char name[64];
		const char *reason = err[0] ? err : "bad record";

		/* The library numbers records; report the file's line (blank
		 * lines were skipped) and drop its own "line N: " prefix. */
		lineno = (bad >= 1 && bad <= l.n) ? l.lineno[bad - 1] :
		    (l.n > 0 ? l.lineno[l.n - 1] + 1 : 1);
		if (strncmp(reason, "line ", 5) == 0 && strstr(reason, ": "))
			reason = strstr(reason, ": ") + 2;
		if (c->o.json)
			cli_json_print(json_pack("{s:b, s:s, s:I, s:s}",
			    "intact", 0, "source", file ? file : "node",
			    "bad_line", (json_int_t)lineno, "reason", reason));
		fprintf(stderr, "coffer: %s: %s: %s%s%zu: %s\n",
		    cli_cmd_name(c->cmd, name, sizeof(name)),
		    coffer_strerror(rc), file ? file : "node's log",
		    file ? ":" : ", record ", lineno, reason);
		if (bad >= 1 && bad <= l.n)
			fprintf(stderr, "  %zu: %.300s\n", lineno,
			    l.v[bad - 1]);
		c->reported = true;
		goto out;
	}
	last_head(&l, &seq, hash);
	if (file == NULL) {
		seq = head_seq;
		snprintf(hash, sizeof(hash), "%s", head_hash);
	}
	if (c->o.json)
		cli_json_print(json_pack("{s:b, s:s, s:I, s:I, s:s}", "intact",
		    1, "source", file ? file : "node", "records",
		    (json_int_t)l.n, "head_seq", (json_int_t)seq, "head_hash",
		    hash));
	else
		printf("audit chain intact: %zu records, head %llu %s\n", l.n,
		    (unsigned long long)seq, hash[0] ? hash : "-");
	rc = 0;
 out:
	lines_free(&l);
	return rc;
}
