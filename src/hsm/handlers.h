/* SPDX-License-Identifier: Apache-2.0 */
/*
 * handlers.h: private to src/hsm: the command handlers named by the table
 * in cmd.c, and helpers they share. Handlers run on a worker thread after
 * cf_cmd_dispatch authorized the request; they set the response body (on
 * success) and return a coffer rc.
 */
#ifndef CF_HANDLERS_H
#define CF_HANDLERS_H

#include <stdbool.h>

#include "hsm/cmd.h"
#include "cluster/raftnode.h"

int cf_h_get_info(struct cf_cmd_ctx *);
int cf_h_ping(struct cf_cmd_ctx *);
int cf_h_cluster_csr(struct cf_cmd_ctx *);
int cf_h_cluster_initialize(struct cf_cmd_ctx *);
int cf_h_cluster_activate(struct cf_cmd_ctx *);
int cf_h_login(struct cf_cmd_ctx *);
int cf_h_logout(struct cf_cmd_ctx *);
int cf_h_user_create(struct cf_cmd_ctx *);
int cf_h_user_delete(struct cf_cmd_ctx *);
int cf_h_user_list(struct cf_cmd_ctx *);
int cf_h_user_password(struct cf_cmd_ctx *);
int cf_h_user_lock(struct cf_cmd_ctx *);
int cf_h_user_unlock(struct cf_cmd_ctx *);
int cf_h_audit_export(struct cf_cmd_ctx *);

/* [A-Za-z0-9._@-]{1,63} */
bool cf_cmd_valid_username(const char *);

/* Proposes e; for CF_CMD_WRITE rows copies the request's idempotency key
 * into e. Returns the proposal's error, else the FSM's rc; *value (may be
 * NULL) gets the FSM's value. */
int cf_cmd_propose(struct cf_cmd_ctx *, Coffer__LogEntry *e,
    uint64_t *value);

/* Keeps p until the response is packed (freed with free()). Returns p, or
 * NULL (and frees p) when no slot is left. */
void *cf_cmd_keep(struct cf_cmd_ctx *, void *p);

/* A shared empty response body. */
extern Coffer__Empty cf_cmd_empty;

#endif
