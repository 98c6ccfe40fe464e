/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server.h: the client listener: TLS 1.3 over libuv (memory BIOs on the
 * loop thread), length-prefixed frames, many requests in flight per
 * connection, replies in completion order, and a worker pool that runs
 * cf_cmd_dispatch off the loop thread.
 */
#ifndef CF_SERVER_H
#define CF_SERVER_H

struct cf_node;
struct cf_server;

/* Loop thread. Binds and listens on node->cfg.listen. */
int cf_server_start(struct cf_node *, struct cf_server **out);
/* Loop thread. Rebuilds the SSL_CTX from the state's TLS material; new
 * connections use it (existing ones keep theirs). */
int cf_server_reload_tls(struct cf_server *);
/* Loop thread. Stops accepting, closes connections, joins workers. */
void cf_server_stop(struct cf_server *, void (*cb)(void *), void *arg);

#endif
