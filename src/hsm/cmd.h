/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd.h: the command table and dispatch. Every opcode (the oneof case of
 * Request.body) has exactly one row: allowed roles, node states, flags and
 * handler. cf_cmd_dispatch applies the checks in order (known opcode, node
 * state, login, role) before any handler runs. Unknown opcodes get
 * COFFER_E_UNSUPPORTED.
 */
#ifndef CF_CMD_H
#define CF_CMD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coffer.pb-c.h"

struct cf_node;

/* Per-connection session, shared by the worker threads serving it. */
struct cf_session {
	pthread_mutex_t mu;
	bool logged_in;
	char username[64];
	int role;			/* Coffer__Role */
	uint64_t conn_id;
	char peer[64];			/* "ip:port" */
	/* Issue 3: the client instance (LoginReq.client_instance) this
	 * session belongs to; session objects and operations live there
	 * (objects_local.h). Set at login; released by cf_session_destroy. */
	uint64_t client_instance;
	struct cf_inst *inst;
};

void cf_session_init(struct cf_session *, uint64_t conn_id, const char *peer);
void cf_session_destroy(struct cf_session *);

/* Role bit masks for the table. */
#define CF_R_PRECO (1u << COFFER__ROLE__ROLE_PRECO)
#define CF_R_CO (1u << COFFER__ROLE__ROLE_CO)
#define CF_R_CU (1u << COFFER__ROLE__ROLE_CU)
#define CF_R_AU (1u << COFFER__ROLE__ROLE_AU)
#define CF_R_ANYUSER (CF_R_PRECO | CF_R_CO | CF_R_CU | CF_R_AU)

/* Node state bit masks. */
#define CF_S_UNINIT (1u << COFFER__NODE_STATE__NODE_STATE_UNINITIALIZED)
#define CF_S_INIT (1u << COFFER__NODE_STATE__NODE_STATE_INITIALIZED)
#define CF_S_ACTIVE (1u << COFFER__NODE_STATE__NODE_STATE_ACTIVE)
#define CF_S_ZEROIZED (1u << COFFER__NODE_STATE__NODE_STATE_ZEROIZED)
#define CF_S_ERROR (1u << COFFER__NODE_STATE__NODE_STATE_ERROR)
#define CF_S_ANY (CF_S_UNINIT | CF_S_INIT | CF_S_ACTIVE | CF_S_ZEROIZED | \
	CF_S_ERROR)

/* Flags. */
#define CF_CMD_PREAUTH 0x1	/* allowed without login */
#define CF_CMD_WRITE 0x2	/* changes replicated state (needs idem) */
#define CF_CMD_AUDIT 0x4	/* recorded in the audit log */

struct cf_cmd_ctx {
	struct cf_node *node;
	struct cf_session *sess;
	const Coffer__Request *req;
	Coffer__Response *resp;		/* handler sets body; dispatch sets rc */
	char detail[160];		/* error detail for the client */
	char target[80];		/* audit target, e.g. user name */
	char user[64];			/* session user at dispatch time */
	int role;			/* session role at dispatch time */
	void *scratch[8];		/* handler-owned allocations freed after
					 * the response is packed (free()) */
	void *secret[2];		/* ditto, cleansed first (plaintext) */
	size_t secret_len[2];
};

typedef int (*cf_cmd_fn)(struct cf_cmd_ctx *);

struct cf_cmd {
	uint32_t opcode;		/* COFFER__REQUEST__BODY_* */
	const char *name;		/* "user_create" */
	unsigned roles;			/* CF_R_*; ignored with PREAUTH */
	unsigned states;		/* CF_S_* */
	unsigned flags;			/* CF_CMD_* */
	cf_cmd_fn fn;
};

/* The table (for tests and docs). */
const struct cf_cmd *cf_cmd_table(size_t *n);
const struct cf_cmd *cf_cmd_find(uint32_t opcode);

/*
 * Worker thread. Authorization decision alone (for unit tests): 0 or
 * COFFER_E_UNSUPPORTED / COFFER_E_STATE / COFFER_E_NOTLOGGEDIN /
 * COFFER_E_ROLE / COFFER_E_ZEROIZED / COFFER_E_SELFTEST.
 */
int cf_cmd_authorize(const struct cf_cmd *, int node_state, bool logged_in,
    int role);

/*
 * Worker thread. Decodes one request frame, authorizes, runs the handler,
 * writes the audit record, and returns the packed Response in *out
 * (malloc'd). Always produces a response (rc set) unless out of memory;
 * a frame that does not decode gets rc COFFER_E_FORMAT and id 0.
 */
int cf_cmd_dispatch(struct cf_node *, struct cf_session *, const uint8_t *req,
    size_t len, uint8_t **out, size_t *out_len);

#endif
