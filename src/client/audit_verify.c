/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_verify.c: offline verification of an exported audit chain
 * (common/audit_chain.h): every line's hash, seq continuity (+1), each
 * prev equal to the previous record's hash, a first record with seq 1
 * chained to the zero hash, and optionally the node's head (seq, hash),
 * which catches deletion of the newest records.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/client.h"
#include "common/audit_chain.h"

static int
bad(size_t line, size_t *bad_line, char *err, size_t errlen,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
bad(size_t line, size_t *bad_line, char *err, size_t errlen,
    const char *fmt, ...)
{
	va_list ap;

	if (bad_line != NULL)
		*bad_line = line;
	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return COFFER_E_INTEGRITY;
}

int
coffer_audit_verify_lines(const char *const *lines, size_t n,
    uint64_t expect_head_seq, const char *expect_head_hash, size_t *bad_line,
    char *errbuf, size_t errlen)
{
	char prev[65], hash[65], last_hash[65] = "";
	uint64_t seq, last_seq = 0;
	char *copy = NULL;
	size_t i, len;
	int r;

	if (bad_line != NULL)
		*bad_line = 0;
	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (lines == NULL && n > 0)
		return COFFER_E_INVAL;
	for (i = 0; i < n; i++) {
		if (lines[i] == NULL)
			return bad(i + 1, bad_line, errbuf, errlen,
			    "line %zu: missing", i + 1);
		/* Tolerate the line terminator of a file read with getline. */
		len = strlen(lines[i]);
		while (len > 0 && (lines[i][len - 1] == '\n' ||
		    lines[i][len - 1] == '\r'))
			len--;
		if ((copy = strndup(lines[i], len)) == NULL)
			return COFFER_E_NOMEM;
		r = cf_audit_check_line(copy, &seq, prev, hash);
		free(copy);
		if (r == COFFER_E_NOMEM)
			return r;
		if (r != 0)
			return bad(i + 1, bad_line, errbuf, errlen,
			    "line %zu: record does not match its hash or is "
			    "malformed", i + 1);
		if (i == 0) {
			if (seq == 0)
				return bad(1, bad_line, errbuf, errlen,
				    "line 1: seq 0 is invalid");
			if (seq == 1 && strcmp(prev, CF_AUDIT_ZERO_HASH) != 0)
				return bad(1, bad_line, errbuf, errlen,
				    "line 1: first record (seq 1) does not "
				    "start the chain");
		} else {
			if (seq != last_seq + 1)
				return bad(i + 1, bad_line, errbuf, errlen,
				    "line %zu: seq %" PRIu64 " follows seq %"
				    PRIu64 " (record missing, inserted or "
				    "reordered)", i + 1, seq, last_seq);
			if (strcasecmp(prev, last_hash) != 0)
				return bad(i + 1, bad_line, errbuf, errlen,
				    "line %zu: prev does not match the hash "
				    "of the previous record", i + 1);
		}
		last_seq = seq;
		memcpy(last_hash, hash, sizeof(last_hash));
	}
	if (expect_head_seq != 0) {
		if (n == 0 || last_seq < expect_head_seq)
			return bad(n + 1, bad_line, errbuf, errlen,
			    "chain ends at seq %" PRIu64 " but the node's head "
			    "is seq %" PRIu64 " (newest records missing)",
			    last_seq, expect_head_seq);
		if (last_seq != expect_head_seq)
			return bad(n, bad_line, errbuf, errlen,
			    "chain ends at seq %" PRIu64 " beyond the node's "
			    "head seq %" PRIu64, last_seq, expect_head_seq);
		if (expect_head_hash != NULL &&
		    strcasecmp(last_hash, expect_head_hash) != 0)
			return bad(n, bad_line, errbuf, errlen,
			    "line %zu: hash differs from the node's head hash",
			    n);
	}
	return 0;
}
