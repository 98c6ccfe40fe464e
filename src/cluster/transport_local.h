/* SPDX-License-Identifier: Apache-2.0 */
/*
 * transport_local.h: a raft_uv_transport that never talks to anyone.
 * Private to src/cluster. Listen opens no socket and every connect fails
 * with RAFT_NOCONNECTION, so a one-member cluster exposes no raft port.
 * The mTLS transport of the clustering issue replaces it.
 */
#ifndef CF_TRANSPORT_LOCAL_H
#define CF_TRANSPORT_LOCAL_H

#include <raft.h>
#include <raft/uv.h>

/* Loop thread. Fills t. 0 or COFFER_E_NOMEM. */
int cf_transport_local_init(struct raft_uv_transport *t, uv_loop_t *loop);
/*
 * Loop thread. Releases t's memory after its close() callback ran, or if
 * it was never used by raft_uv; no-op otherwise (close frees it then).
 */
void cf_transport_local_free(struct raft_uv_transport *t);

#endif
