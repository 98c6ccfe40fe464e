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

/* As cf_cmd_keep for buffers holding plaintext or key bytes: cleansed
 * (n bytes) and freed after the response is packed. */
void *cf_cmd_keep_secret(struct cf_cmd_ctx *, void *p, size_t n);

/* Objects and cryptography (issue 3): handlers_obj.c, handlers_crypto.c */
int cf_h_obj_generate_key(struct cf_cmd_ctx *);
int cf_h_obj_generate_key_pair(struct cf_cmd_ctx *);
int cf_h_obj_create(struct cf_cmd_ctx *);
int cf_h_obj_copy(struct cf_cmd_ctx *);
int cf_h_obj_destroy(struct cf_cmd_ctx *);
int cf_h_obj_get_attrs(struct cf_cmd_ctx *);
int cf_h_obj_set_attrs(struct cf_cmd_ctx *);
int cf_h_obj_find(struct cf_cmd_ctx *);
int cf_h_obj_share(struct cf_cmd_ctx *);
int cf_h_crypto_init(struct cf_cmd_ctx *);
int cf_h_crypto_update(struct cf_cmd_ctx *);
int cf_h_crypto_final(struct cf_cmd_ctx *);
int cf_h_crypto_one_shot(struct cf_cmd_ctx *);
int cf_h_crypto_cancel(struct cf_cmd_ctx *);
int cf_h_wrap_key(struct cf_cmd_ctx *);
int cf_h_unwrap_key(struct cf_cmd_ctx *);
int cf_h_derive_key(struct cf_cmd_ctx *);
int cf_h_random(struct cf_cmd_ctx *);
int cf_h_mech_list(struct cf_cmd_ctx *);

/* Helpers shared by handlers_obj.c and handlers_crypto.c. */
struct cf_attrs;
struct cf_keyref;
struct cf_obj;
/* A key to use: visible to the caller (else COFFER_E_NOTFOUND), usage
 * attribute usage true (else COFFER_E_KEY_FUNCTION; 0: no check), mech
 * in CKA_ALLOWED_MECHANISMS if set (else COFFER_E_MECHANISM), today
 * within CKA_START_DATE..CKA_END_DATE when usage is not 0 (else
 * COFFER_E_KEY_FUNCTION). owner:
 * the caller must own it (COFFER_E_PERM). *attrs (may be NULL) receives
 * a copy of the object's attributes. */
int cf_h_key_use(struct cf_cmd_ctx *, uint64_t handle, uint64_t usage,
    uint64_t mech, bool owner, struct cf_keyref **key,
    struct cf_attrs *attrs);
/* Stores a new object (token: proposes EntObjCreate; session: this
 * client instance) with the caller as owner. attrs/material are the
 * record (material may be NULL). *handle gets the handle. */
struct cf_newobj {
	struct cf_attrs *attrs;
	const uint8_t *material;
	size_t material_len;
};
int cf_h_make_objects(struct cf_cmd_ctx *, const struct cf_newobj *objs,
    size_t n, uint64_t *handles);
/* Sets the ObjHandleResp body of the request's opcode. */
void cf_h_set_handle_resp(struct cf_cmd_ctx *, uint64_t handle);
/* Storage form of k (secure heap; cf_free_secret). */
int cf_h_serialize(const void *k, uint8_t **out, size_t *out_len);

/* A shared empty response body. */
extern Coffer__Empty cf_cmd_empty;

#endif
