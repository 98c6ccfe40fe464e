/* SPDX-License-Identifier: Apache-2.0 */
/*
 * state.h: the replicated state machine of one cluster: node state, the
 * cluster identity, users with lockout counters, and the idempotency table.
 * (Objects join in issue 3.)
 *
 * Writes happen only in cf_state_apply / cf_state_restore on the loop
 * thread, under the write lock. Readers (workers) take the read lock with
 * cf_state_rdlock and use the accessors, copying out what they need.
 * Everything is deterministic: time comes from the entry, never the clock.
 */
#ifndef CF_STATE_H
#define CF_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/raftnode.h"
#include "crypto/password.h"

#define CF_USERNAME_MAX 63
#define CF_MAX_USERS 1024
#define CF_IDEM_LEN 16
#define CF_IDEM_TABLE 8192	/* remembered idempotency keys */

struct cf_state;

/* Hooks the state calls on the loop thread (may be NULL). */
struct cf_state_hooks {
	void *ctx;
	/* A zeroize entry was applied: wipe on-disk secrets, go ZEROIZED. */
	void (*zeroized)(void *ctx, const char *reason);
	/* Identity/certificate changed: rebuild TLS contexts. */
	void (*tls_changed)(void *ctx);
};

int cf_state_new(const struct cf_state_hooks *, struct cf_state **out);
void cf_state_free(struct cf_state *);

/* FSM callbacks (loop thread). See raftnode.h. */
int cf_state_apply(struct cf_state *, uint64_t index, const uint8_t *p,
    size_t n, struct cf_apply_result *res);
int cf_state_snapshot(struct cf_state *, uint8_t **p, size_t *n);
int cf_state_restore(struct cf_state *, const uint8_t *p, size_t n);

void cf_state_rdlock(struct cf_state *);
void cf_state_unlock(struct cf_state *);

/* Accessors: call with the read lock held. */
int cf_state_node_state(const struct cf_state *);	/* Coffer__NodeState */
const char *cf_state_cluster_id(const struct cf_state *); /* "" if none */
unsigned cf_state_user_count(const struct cf_state *);
uint64_t cf_state_tls_gen(const struct cf_state *);	/* bumps on change */

struct cf_user_view {
	char username[CF_USERNAME_MAX + 1];
	int role;			/* Coffer__Role */
	bool locked;
	uint32_t failures;
	uint64_t created;
	uint64_t password_changed;
	struct cf_pw_verifier verifier;
};
/* Copies the user out; COFFER_E_NOTFOUND. */
int cf_state_user_get(const struct cf_state *, const char *username,
    struct cf_user_view *out);
/* Role and lock of username, without copying the user (every request's
 * session check); COFFER_E_NOTFOUND. */
int cf_state_user_status(const struct cf_state *, const char *username,
    int *role, bool *locked);
/*
 * Whether a login of username may reserve a password check now (time now,
 * failure limit max): false while failures + the unexpired checks in
 * progress reach max. True for unknown, locked or over-limit users: the
 * attempt entry itself answers those. Caller holds the read lock.
 */
bool cf_state_login_room(const struct cf_state *, const char *username,
    uint64_t now, uint32_t max);
/* Copies all users (sorted by name); *users malloc'd. */
int cf_state_user_list(const struct cf_state *, struct cf_user_view **users,
    size_t *n);

/* TLS material (read lock held): identity key DER (secure heap copy, free
 * with cf_free_secret) and the certificate to serve: the CA-signed one once
 * initialized, else the bootstrap one (malloc'd PEM). trust_anchor may be
 * NULL; *trust_anchor_pem NULL before initialization. */
int cf_state_tls_material(const struct cf_state *, uint8_t **key_der,
    size_t *key_der_len, char **cert_pem, char **trust_anchor_pem);

#endif
