/* SPDX-License-Identifier: Apache-2.0 */
/*
 * handlers_audit.c: audit_export: a window of the node's audit records and
 * its chain head, so a client can verify the chain and detect truncation.
 */
#include <stdlib.h>
#include <string.h>

#include "coffer/coffer_err.h"
#include "hsm/audit.h"
#include "hsm/handlers.h"
#include "hsm/node.h"

#define AUDIT_EXPORT_DEFAULT 1000
#define AUDIT_EXPORT_MAX 10000

struct audit_buf {
	Coffer__AuditExportResp r;
	char head[65];
};

int
cf_h_audit_export(struct cf_cmd_ctx *ctx)
{
	const Coffer__AuditExportReq *rq = ctx->req->audit_export;
	struct audit_buf *b;
	char **lines = NULL, **ptrs, *blob;
	size_t i, n = 0, total = 0, off = 0;
	unsigned max;
	int more = 0, rc;

	if (ctx->node->audit == NULL)
		return COFFER_E_UNAVAILABLE;
	max = rq->max_records == 0 ? AUDIT_EXPORT_DEFAULT : rq->max_records;
	if (max > AUDIT_EXPORT_MAX)
		max = AUDIT_EXPORT_MAX;
	if ((b = cf_cmd_keep(ctx, calloc(1, sizeof(*b)))) == NULL)
		return COFFER_E_NOMEM;
	coffer__audit_export_resp__init(&b->r);
	if ((rc = cf_audit_read(ctx->node->audit, rq->from_seq, max, &lines,
	    &n, &more)) != 0)
		return rc;
	/* Head after the read: every record returned is at or before it. */
	cf_audit_head(ctx->node->audit, &b->r.head_seq, b->head);
	/* One block for the strings, one for the pointers: the scratch
	 * slots are few and freed with free(). */
	for (i = 0; i < n; i++)
		total += strlen(lines[i]) + 1;
	rc = COFFER_E_NOMEM;
	if ((ptrs = cf_cmd_keep(ctx, calloc(n + 1, sizeof(*ptrs)))) == NULL ||
	    (blob = cf_cmd_keep(ctx, malloc(total + 1))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		size_t l = strlen(lines[i]) + 1;
		memcpy(blob + off, lines[i], l);
		ptrs[i] = blob + off;
		off += l;
	}
	b->r.n_records = n;
	b->r.records = ptrs;
	b->r.head_hash = b->head;
	b->r.more = more != 0;
	ctx->resp->body_case = COFFER__RESPONSE__BODY_AUDIT_EXPORT;
	ctx->resp->audit_export = &b->r;
	rc = 0;
 out:
	cf_audit_lines_free(lines, n);
	return rc;
}
