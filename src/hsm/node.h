/* SPDX-License-Identifier: Apache-2.0 */
/*
 * node.h: one HSM node (cofferd): the parts and how they meet.
 *
 *   loop thread   libuv: raft (cluster/raftnode), client TLS I/O (server.c)
 *   workers       decode, authorize (cmd.c table), run handlers, encode
 *   state         replicated FSM (state.c), read under a rwlock by workers,
 *                 written only by apply on the loop thread
 *
 * Handlers that change state build a LogEntry and call cf_node_propose,
 * which blocks the worker until the entry is committed and applied.
 */
#ifndef CF_NODE_H
#define CF_NODE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "hsm/config.h"
#include "cluster/raftnode.h"
#include "coffer.pb-c.h"

struct cf_state;
struct cf_audit;
struct cf_server;

struct cf_node {
	struct cf_node_config cfg;
	uv_loop_t *loop;
	struct cf_state *state;
	struct cf_raftnode *raft;
	struct cf_audit *audit;
	struct cf_server *server;
	uint64_t start_ms;		/* cf_now_ms() at start */
	atomic_uint connections;	/* open client connections */
	/* Local failure: set once, never cleared while running. */
	atomic_int local_state;		/* 0, or COFFER__NODE_STATE__ERROR */
	char error_detail[128];
	char bootstrap_fingerprint[65];
	atomic_bool stopping;
	/* Issue 3 (H8): session objects and multi-part operations per client
	 * instance (objects_local.h; made on first use, freed by
	 * cf_hsm_local_free), and the power-up self-test results reported
	 * by get_info (set by cf_hsm_selftest). */
	struct cf_hsm_local *_Atomic local;
	char selftest_status[128];	/* "" until cf_hsm_selftest ran */
	atomic_int selftest_rc;		/* 0 or COFFER_E_SELFTEST */
	unsigned selftest_count;	/* KATs run */
};

/*
 * Worker thread. Encodes e (sets e->time), proposes it through raft and
 * waits for commit and local apply; *res gets the FSM's result.
 * Returns 0 when the entry was applied (the state change's own outcome is
 * res->rc), or the proposal's error (COFFER_E_UNAVAILABLE,
 * COFFER_E_UNKNOWN_OUTCOME, ...).
 */
int cf_node_propose(struct cf_node *, Coffer__LogEntry *e,
    struct cf_apply_result *res);

/* Node state as served to clients: local ERROR/ZEROIZED override the
 * replicated state. */
int cf_node_state(struct cf_node *);

/* Loop thread or worker: puts the node in ERROR with a detail (no secrets). */
void cf_node_set_error(struct cf_node *, const char *detail);

#endif
