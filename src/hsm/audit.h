/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit.h: the node's append-only, hash-chained audit log (JSON lines,
 * common/audit_chain.h format). Thread-safe. The log survives
 * zeroization. On open, the existing file is verified and the chain head
 * recovered; a broken chain is reported and the node refuses to start
 * (cofferd exits with an error) unless the file is moved away.
 */
#ifndef CF_AUDIT_H
#define CF_AUDIT_H

#include <stddef.h>
#include <stdint.h>

struct cf_audit;

int cf_audit_open(const char *path, uint64_t node_id, struct cf_audit **out,
    char *err, size_t errlen);
void cf_audit_close(struct cf_audit *);

/* Appends one record (fields as in cf_audit_fields; seq, prev, time and
 * node are filled in here) and returns once it is on disk; concurrent
 * callers share a sync (group commit). After a failed write or sync every
 * later call fails with COFFER_E_IO until the log is reopened. */
int cf_audit_log(struct cf_audit *, const char *user, const char *role,
    const char *op, const char *target, int rc, const char *peer);

/* Current head. hash 65 bytes. */
void cf_audit_head(struct cf_audit *, uint64_t *seq, char hash[65]);

/* Reads records from_seq.. (at most max) as malloc'd lines (no newline);
 * *more set if records remain. Free with cf_audit_lines_free. */
int cf_audit_read(struct cf_audit *, uint64_t from_seq, unsigned max,
    char ***lines, size_t *n, int *more);
void cf_audit_lines_free(char **lines, size_t n);

#endif
