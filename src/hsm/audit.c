/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit.c: the node's append-only, hash-chained audit log. One JSON line
 * per record (common/audit_chain.h), appended with O_APPEND in a single
 * write and on disk (fdatasync) before cf_audit_log returns. On open the
 * whole file is verified and the chain head recovered; a broken chain
 * refuses the open.
 *
 * Group commit: a record is chained and written under the mutex, then
 * its writer waits for a sync that started after the write. One writer
 * at a time syncs, outside the mutex, everything written so far; the
 * writers that arrive meanwhile append theirs and are covered by the
 * next sync together. One thread pays one sync per record, as before;
 * concurrent commands share them instead of queueing behind each other's
 * (session-key generation plateaued at one record per sync, ~3,000/s
 * here, whatever the thread count). A failed write or sync is sticky:
 * the file may hold a record the chain in memory cannot vouch for, so
 * every later record is refused (COFFER_E_IO) until the node restarts and
 * verifies the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coffer/coffer_err.h"
#include "common/audit_chain.h"
#include "common/log.h"
#include "hsm/audit.h"

#define MAX_LINE (64 * 1024)

struct cf_audit {
	pthread_mutex_t mu;
	pthread_cond_t synced_cv;	/* synced moved or failed set */
	int fd;
	char *path;
	uint64_t node_id;
	uint64_t seq;		/* newest record written */
	char head[65];		/* its hash */
	uint64_t synced;	/* newest record known on disk */
	bool syncing;		/* a writer is in fdatasync */
	bool failed;		/* a write or sync failed: refuse more */
};

static uint64_t
now_epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Verifies the file from the start. On success *seq/head are the last
 * record's. Errors COFFER_E_INTEGRITY/COFFER_E_FORMAT with a message.
 */
static int
verify_file(FILE *f, uint64_t *seq, char head[65], char *err, size_t errlen)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	uint64_t s, want = 1;
	char prev[65], hash[65];
	int rc = 0;

	*seq = 0;
	snprintf(head, 65, "%s", CF_AUDIT_ZERO_HASH);
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] != '\n') {
			snprintf(err, errlen, "audit log: record %llu is "
			    "truncated (no newline)", (unsigned long long)want);
			rc = COFFER_E_INTEGRITY;
			goto out;
		}
		line[len - 1] = '\0';
		if (len - 1 > MAX_LINE ||
		    (rc = cf_audit_check_line(line, &s, prev, hash)) != 0) {
			snprintf(err, errlen, "audit log: record %llu fails "
			    "its hash check", (unsigned long long)want);
			rc = COFFER_E_INTEGRITY;
			goto out;
		}
		if (s != want || strcmp(prev, head) != 0) {
			snprintf(err, errlen, "audit log: chain broken at "
			    "record %llu", (unsigned long long)want);
			rc = COFFER_E_INTEGRITY;
			goto out;
		}
		*seq = s;
		memcpy(head, hash, 65);
		want++;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "audit log: read error");
		rc = COFFER_E_IO;
	}
 out:
	free(line);
	return rc;
}

int
cf_audit_open(const char *path, uint64_t node_id, struct cf_audit **out,
    char *err, size_t errlen)
{
	struct cf_audit *a = NULL;
	FILE *f = NULL;
	int rfd, rc = COFFER_E_IO;
	char dummy[1];

	*out = NULL;
	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->path = strdup(path)) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	a->fd = -1;
	a->node_id = node_id;
	if (pthread_mutex_init(&a->mu, NULL) != 0) {
		rc = COFFER_E_INTERNAL;
		goto out;
	}
	if (pthread_cond_init(&a->synced_cv, NULL) != 0) {
		pthread_mutex_destroy(&a->mu);
		rc = COFFER_E_INTERNAL;
		goto out;
	}
	a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (a->fd < 0) {
		snprintf(err, errlen, "audit log %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if ((rfd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (f = fdopen(rfd, "r")) == NULL) {
		if (rfd >= 0)
			close(rfd);
		snprintf(err, errlen, "audit log %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if ((rc = verify_file(f, &a->seq, a->head, err, errlen)) != 0)
		goto out;
	a->synced = a->seq;
	*out = a;
	a = NULL;
	rc = 0;
 out:
	if (f != NULL)
		fclose(f);
	if (a != NULL) {
		if (a->fd >= 0) {
			close(a->fd);
			pthread_cond_destroy(&a->synced_cv);
			pthread_mutex_destroy(&a->mu);
		}
		free(a->path);
		free(a);
	}
	return rc;
}

void
cf_audit_close(struct cf_audit *a)
{
	if (a == NULL)
		return;
	if (a->fd >= 0) {
		fsync(a->fd);
		close(a->fd);
	}
	pthread_cond_destroy(&a->synced_cv);
	pthread_mutex_destroy(&a->mu);
	free(a->path);
	free(a);
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return COFFER_E_IO;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Waits under a->mu until record seq is on disk: syncs itself when no
 * other writer is syncing (covering every record written so far), else
 * waits for that sync and looks again. 0, or COFFER_E_IO once failed.
 */
static int
wait_synced(struct cf_audit *a, uint64_t seq)
{
	uint64_t target;
	int r, e;

	while (a->synced < seq && !a->failed) {
		if (a->syncing) {
			pthread_cond_wait(&a->synced_cv, &a->mu);
			continue;
		}
		a->syncing = true;
		target = a->seq;
		pthread_mutex_unlock(&a->mu);
		r = fdatasync(a->fd);
		e = errno;
		pthread_mutex_lock(&a->mu);
		a->syncing = false;
		if (r != 0) {
			a->failed = true;
			log_error("audit log %s: sync failed: %s; further "
			    "records are refused until restart", a->path,
			    strerror(e));
		} else if (target > a->synced)
			a->synced = target;
		pthread_cond_broadcast(&a->synced_cv);
	}
	return a->synced >= seq ? 0 : COFFER_E_IO;
}

int
cf_audit_log(struct cf_audit *a, const char *user, const char *role,
    const char *op, const char *target, int rc, const char *peer)
{
	struct cf_audit_fields fl = {0};
	char *line = NULL, *rec = NULL;
	char hash[65];
	size_t len;
	int r;

	if (a == NULL)
		return COFFER_E_INVAL;
	pthread_mutex_lock(&a->mu);
	if (a->failed) {
		r = COFFER_E_IO;
		goto out;
	}
	fl.seq = a->seq + 1;
	fl.time_ms = now_epoch_ms();
	fl.node_id = a->node_id;
	fl.user = user != NULL ? user : "";
	fl.role = role != NULL && *role != '\0' ? role : "-";
	fl.op = op != NULL ? op : "";
	fl.target = target != NULL ? target : "";
	fl.result = coffer_errname(rc);
	fl.peer = peer != NULL ? peer : "";
	fl.prev = a->head;
	if ((r = cf_audit_format(&fl, &line, hash)) != 0)
		goto out;
	len = strlen(line);
	if ((rec = malloc(len + 2)) == NULL) {
		r = COFFER_E_NOMEM;
		goto out;
	}
	memcpy(rec, line, len);
	rec[len] = '\n';
	rec[len + 1] = '\0';
	/* One write: O_APPEND keeps records whole between writers. */
	if ((r = write_all(a->fd, rec, len + 1)) != 0) {
		/* Part of it may be in the file: the chain cannot go on. */
		a->failed = true;
		log_error("audit log %s: write failed: %s; further records "
		    "are refused until restart", a->path, strerror(errno));
		pthread_cond_broadcast(&a->synced_cv);
		goto out;
	}
	a->seq = fl.seq;
	memcpy(a->head, hash, sizeof(a->head));
	r = wait_synced(a, fl.seq);
 out:
	pthread_mutex_unlock(&a->mu);
	free(line);
	free(rec);
	return r;
}

void
cf_audit_head(struct cf_audit *a, uint64_t *seq, char hash[65])
{
	pthread_mutex_lock(&a->mu);
	*seq = a->seq;
	memcpy(hash, a->head, 65);
	pthread_mutex_unlock(&a->mu);
}

void
cf_audit_lines_free(char **lines, size_t n)
{
	size_t i;

	if (lines == NULL)
		return;
	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

int
cf_audit_read(struct cf_audit *a, uint64_t from_seq, unsigned max,
    char ***lines, size_t *n, int *more)
{
	FILE *f = NULL;
	char *line = NULL, **v = NULL;
	size_t cap = 0, cnt = 0;
	ssize_t len;
	uint64_t seq = 0, head;
	char hash[65];
	int rc = COFFER_E_IO;

	*lines = NULL;
	*n = 0;
	*more = 0;
	if (from_seq == 0)
		from_seq = 1;
	cf_audit_head(a, &head, hash);
	if (max == 0 || from_seq > head)
		return 0;
	if ((v = calloc(max, sizeof(*v))) == NULL)
		return COFFER_E_NOMEM;
	if ((f = fopen(a->path, "re")) == NULL)
		goto out;
	/* Records were verified at open and appended whole: line i is
	 * record i. Stop at the head seen at the start. */
	while (seq < head && (len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] != '\n')
			break;
		seq++;
		if (seq < from_seq)
			continue;
		if (cnt == max) {
			*more = 1;
			break;
		}
		line[len - 1] = '\0';
		if ((v[cnt] = strdup(line)) == NULL) {
			rc = COFFER_E_NOMEM;
			goto out;
		}
		cnt++;
	}
	*lines = v;
	*n = cnt;
	v = NULL;
	rc = 0;
 out:
	if (f != NULL)
		fclose(f);
	free(line);
	cf_audit_lines_free(v, cnt);
	return rc;
}
