/* SPDX-License-Identifier: Apache-2.0 */
/*
 * raftnode.h: Coffer's glue around libraft 0.15. One node is a one-member
 * raft cluster; more members are a membership change, not another code
 * path. Every entry and snapshot is sealed (crypto/seal.h) under the
 * cluster key before libraft sees it; the FSM sees only plaintext.
 *
 * Threads: libraft runs on the libuv loop thread given to
 * cf_raftnode_start. cf_raftnode_propose_sync, _applied, _wait_applied and
 * _status may be called from any thread; they marshal onto the loop.
 */
#ifndef CF_RAFTNODE_H
#define CF_RAFTNODE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct cf_apply_result {
	int rc;			/* coffer rc of the state change */
	uint64_t value;		/* e.g. new handle, failure count */
};

struct cf_raftnode_fsm {
	void *ctx;
	/* Loop thread. index = log index of the entry. Must be deterministic.
	 * Returns 0, or non-zero for a fatal local failure (node -> ERROR). */
	int (*apply)(void *ctx, uint64_t index, const uint8_t *p, size_t n,
	    struct cf_apply_result *res);
	/* Loop thread. *p malloc'd plaintext; glue seals, wipes and frees. */
	int (*snapshot)(void *ctx, uint8_t **p, size_t *n);
	/* Loop thread. Replaces the whole state. */
	int (*restore)(void *ctx, const uint8_t *p, size_t n);
	/* Loop thread. Sealed data failed to open: node must stop serving. */
	void (*integrity_failure)(void *ctx, const char *what);
};

struct cf_raftnode_opts {
	uint64_t id;			/* raft server id, >= 1 */
	const char *dir;		/* created if missing (0700) */
	const char *address;		/* raft address, e.g. 127.0.0.1:2226 */
	unsigned snapshot_threshold;	/* default 16384 */
	unsigned snapshot_trailing;	/* default 4096 */
	unsigned election_timeout_ms;	/* default 1000 */
	unsigned heartbeat_timeout_ms;	/* default 100 */
	int bootstrap;			/* bootstrap as one-member cluster if new */
};

struct cf_raftnode;

/* Loop thread, before uv_run. key: 32-byte cluster key (copied into the
 * secure heap). */
int cf_raftnode_start(uv_loop_t *loop, const struct cf_raftnode_opts *,
    const uint8_t *cluster_key, const struct cf_raftnode_fsm *,
    struct cf_raftnode **out);

/*
 * Any thread except the loop thread. Seals p and appends it; returns when
 * it is committed and applied locally, with the FSM's result in *res and
 * its log index in *index (either may be NULL).
 * Errors: COFFER_E_UNAVAILABLE (not leader / no leader / shutting down),
 * COFFER_E_UNKNOWN_OUTCOME (leadership lost, or timeout after append:
 * retry with the same idempotency key), COFFER_E_TOOBIG, COFFER_E_NOMEM.
 */
int cf_raftnode_propose_sync(struct cf_raftnode *, const uint8_t *p, size_t n,
    unsigned timeout_ms, struct cf_apply_result *res, uint64_t *index);

/* Any thread: highest applied index (atomic read). */
uint64_t cf_raftnode_applied(struct cf_raftnode *);
/* Any thread except loop: waits until applied >= index; COFFER_E_TIMEOUT. */
int cf_raftnode_wait_applied(struct cf_raftnode *, uint64_t index,
    unsigned timeout_ms);

struct cf_raftnode_status {
	char state[16];		/* "leader", "follower", "candidate", ... */
	uint64_t leader_id;
	uint64_t applied;
	uint64_t last_index;
	unsigned members;
};
/* Any thread (values are refreshed on the loop thread). */
void cf_raftnode_status(struct cf_raftnode *, struct cf_raftnode_status *);

/* Loop thread. Closes raft; cb runs on the loop once raft is closed, no
 * API caller is left inside and the cluster key copy is wiped. Pending
 * proposals fail with COFFER_E_UNAVAILABLE. The node's memory stays until
 * cf_raftnode_destroy: libraft 0.15 may still read it from callbacks that
 * run after cb (raftnode.c, io_close_guarded). */
void cf_raftnode_stop(struct cf_raftnode *, void (*cb)(void *), void *arg);
/* Frees a stopped node once its loop has no handle left (uv_run has
 * returned): not before. NULL is a no-op. */
void cf_raftnode_destroy(struct cf_raftnode *);

#endif
