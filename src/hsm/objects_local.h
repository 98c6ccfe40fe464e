/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objects_local.h: what lives on one node only (issue 3): session objects
 * (CKA_TOKEN false) and multi-part operations, grouped by client instance
 * (LoginReq.client_instance: one libcoffer client). All sessions of an
 * instance see its session objects and operations; both die, wiped, when
 * the last session of the instance is destroyed (cf_session_destroy).
 *
 * Locking: the node's table has one mutex (bind/release); each instance
 * has its own (its object store and operation table). An operation in
 * use by a worker is marked busy and used outside the lock; a second
 * concurrent use gets COFFER_E_BUSY.
 */
#ifndef CF_OBJECTS_LOCAL_H
#define CF_OBJECTS_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/mech.h"
#include "hsm/objects.h"

#define CF_MAX_OPS_PER_INSTANCE		1024
#define CF_MAX_SESSION_OBJECTS		16384	/* per instance */

struct cf_node;
struct cf_session;
struct cf_inst;

/* Binds the session to client instance id (0: an instance of its own);
 * a previous binding is released first. */
int cf_hsm_session_bind(struct cf_node *, struct cf_session *, uint64_t id);
/* Releases the session's instance (called by cf_session_destroy). */
void cf_hsm_session_release(struct cf_session *);
/* Wipes every session object and operation (zeroization). The lead calls
 * it from node.c's zeroize path. */
void cf_hsm_local_zeroize(struct cf_node *);
/* Frees the table at shutdown, after all sessions are destroyed. */
void cf_hsm_local_free(struct cf_node *);
/* Session objects on this node (for get_info). */
size_t cf_hsm_local_objects(struct cf_node *);

void cf_inst_lock(struct cf_inst *);
void cf_inst_unlock(struct cf_inst *);
/* With the instance locked. */
struct cf_objstore *cf_inst_objects(struct cf_inst *);
/* A new session object handle (CF_SESSION_HANDLE_BIT set). */
uint64_t cf_inst_new_handle(struct cf_inst *);

/* A multi-part operation. */
struct cf_hop {
	uint64_t id;
	int kind;			/* Coffer__CryptoKind */
	struct cf_op *op;		/* engine state */
	struct cf_keyref *key;		/* held while the op lives */
	bool busy;
};
/* Takes op and key (freed on error too); *id gets the op id.
 * COFFER_E_BUSY when the instance has CF_MAX_OPS_PER_INSTANCE ops. */
int cf_inst_op_add(struct cf_inst *, int kind, struct cf_op *op,
    struct cf_keyref *key, uint64_t *id);
/* Marks the op busy and returns it: COFFER_E_OP_NOT_INIT if unknown,
 * COFFER_E_BUSY if in use. */
int cf_inst_op_take(struct cf_inst *, uint64_t id, struct cf_hop **out);
/* Ends a take; done: the op is finished and freed. */
void cf_inst_op_give(struct cf_inst *, struct cf_hop *h, bool done);
/* Cancels (frees) an op; COFFER_E_OP_NOT_INIT / COFFER_E_BUSY. */
int cf_inst_op_cancel(struct cf_inst *, uint64_t id);

#endif
