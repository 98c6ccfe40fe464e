/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_chain.h: the audit record format shared by the node (writer) and
 * the client (verifier).
 *
 * A record is one JSON line:
 *   BODY ,"hash":"<64 hex>"}
 * where BODY is the text `{"seq":N,"time":"...",...,"prev":"<64 hex>"`
 * (an object missing its closing brace) and hash = SHA-256(BODY) in hex.
 * seq starts at 1; the first record's prev is 64 zeros; each next record's
 * prev is the previous record's hash and its seq is one more. Editing,
 * deleting, inserting or reordering a record breaks the chain; deleting the
 * newest ones is caught by comparing with the node's head (seq, hash).
 */
#ifndef CF_AUDIT_CHAIN_H
#define CF_AUDIT_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#define CF_AUDIT_ZERO_HASH \
	"0000000000000000000000000000000000000000000000000000000000000000"

struct cf_audit_fields {
	uint64_t seq;
	uint64_t time_ms;	/* unix epoch milliseconds */
	uint64_t node_id;
	const char *user;	/* "" if not logged in */
	const char *role;	/* "CO", "CU", "AU", "PRECO", "-" */
	const char *op;		/* opcode name, e.g. "user_create" */
	const char *target;	/* e.g. user name acted on; "" if none */
	const char *result;	/* coffer_errname(rc) */
	const char *peer;	/* "ip:port" */
	const char *prev;	/* 64 hex */
};

/*
 * Formats a record line (no newline) into a malloc'd *line and its hash
 * (64 hex + NUL) into hash. Strings are JSON-escaped.
 */
int cf_audit_format(const struct cf_audit_fields *, char **line,
    char hash[65]);

/*
 * Checks one line: hash matches the body, body parses, seq and prev read
 * out. Returns 0 or COFFER_E_INTEGRITY / COFFER_E_FORMAT.
 */
int cf_audit_check_line(const char *line, uint64_t *seq, char prev[65],
    char hash[65]);

#endif
