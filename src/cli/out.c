/* SPDX-License-Identifier: Apache-2.0 */
/*
 * out.c: human output for the CLI (aligned tables, times, durations; JSON
 * is built with jansson by each command) and small file helpers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

struct cli_table {
	size_t ncols;
	size_t nrows;		/* including the header row, if any */
	size_t cap;
	char **cells;		/* nrows * ncols */
	size_t *width;
};

struct cli_table *
cli_table_new(size_t ncols, const char *const *heads)
{
	struct cli_table *t;

	if (ncols == 0 || (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->ncols = ncols;
	if ((t->width = calloc(ncols, sizeof(*t->width))) == NULL) {
		free(t);
		return NULL;
	}
	if (heads != NULL && cli_table_add(t, heads) != 0) {
		cli_table_free(t);
		return NULL;
	}
	return t;
}

int
cli_table_add(struct cli_table *t, const char *const *cells)
{
	char **n;
	size_t i, len;

	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;

		n = reallocarray(t->cells, cap, t->ncols * sizeof(*n));
		if (n == NULL)
			return COFFER_E_NOMEM;
		t->cells = n;
		t->cap = cap;
	}
	for (i = 0; i < t->ncols; i++) {
		char *s = strdup(cells[i] ? cells[i] : "");

		if (s == NULL) {
			while (i-- > 0)
				free(t->cells[t->nrows * t->ncols + i]);
			return COFFER_E_NOMEM;
		}
		t->cells[t->nrows * t->ncols + i] = s;
		len = strlen(s);
		if (len > t->width[i])
			t->width[i] = len;
	}
	t->nrows++;
	return 0;
}

void
cli_table_print(struct cli_table *t, FILE *f)
{
	size_t r, i;

	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			const char *s = t->cells[r * t->ncols + i];

			if (i + 1 == t->ncols)
				fprintf(f, "%s", s);
			else
				fprintf(f, "%-*s  ", (int)t->width[i], s);
		}
		fputc('\n', f);
	}
}

void
cli_table_free(struct cli_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->width);
	free(t);
}

void
cli_fmt_time(uint64_t epoch_s, char *buf, size_t len)
{
	struct tm tm;
	time_t t = (time_t)epoch_s;

	if (epoch_s == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "-");
}

void
cli_fmt_duration(uint64_t s, char *buf, size_t len)
{
	uint64_t d = s / 86400;

	if (d > 0)
		snprintf(buf, len, "%llud %02llu:%02llu:%02llu",
		    (unsigned long long)d,
		    (unsigned long long)(s % 86400 / 3600),
		    (unsigned long long)(s % 3600 / 60),
		    (unsigned long long)(s % 60));
	else
		snprintf(buf, len, "%02llu:%02llu:%02llu",
		    (unsigned long long)(s / 3600),
		    (unsigned long long)(s % 3600 / 60),
		    (unsigned long long)(s % 60));
}

int
cli_read_text(struct cli *c, const char *path, size_t max, char **out)
{
	FILE *f;
	char *buf = NULL;
	size_t n;
	int rc;

	*out = NULL;
	if ((f = fopen(path, "re")) == NULL)
		return cli_fail(c, COFFER_E_IO, "%s: %s", path,
		    strerror(errno));
	if ((buf = malloc(max + 1)) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f)) {
		rc = cli_fail(c, COFFER_E_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (n > max) {
		rc = cli_fail(c, COFFER_E_TOOBIG, "%s: larger than %zu bytes",
		    path, max);
		goto out;
	}
	if (memchr(buf, '\0', n) != NULL) {
		rc = cli_fail(c, COFFER_E_FORMAT, "%s: not a text file", path);
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	buf = NULL;
	rc = 0;
 out:
	free(buf);
	fclose(f);
	return rc;
}

int
cli_write_text(struct cli *c, const char *path, const char *text,
    unsigned mode)
{
	size_t len = strlen(text);
	int fd, rc = 0;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    (mode_t)mode)) < 0)
		return cli_fail(c, COFFER_E_IO, "%s: %s", path,
		    strerror(errno));
	while (len > 0) {
		ssize_t w = write(fd, text, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = cli_fail(c, COFFER_E_IO, "%s: %s", path,
			    strerror(errno));
			break;
		}
		text += w;
		len -= (size_t)w;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = cli_fail(c, COFFER_E_IO, "%s: %s", path, strerror(errno));
	if (close(fd) != 0 && rc == 0)
		rc = cli_fail(c, COFFER_E_IO, "%s: %s", path, strerror(errno));
	return rc;
}
