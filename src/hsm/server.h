/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server.h: the client listener: TLS 1.3, length-prefixed frames, a thread
 * per connection that reads a request, runs cf_cmd_dispatch and writes the
 * reply (replies in request order); the libuv loop thread accepts.
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
/* Loop thread. Stops accepting, ends connections, calls cb once every
 * connection thread has left. */
void cf_server_stop(struct cf_server *, void (*cb)(void *), void *arg);
/*
 * Connection threads, inside a handler: give the request's "workers" slot
 * back while it waits for something other than the CPU (a login waiting
 * for a password-check reservation), and take one again before working.
 * Each yield must be followed by one resume. No-ops outside a request.
 */
void cf_server_slot_yield(void);
void cf_server_slot_resume(void);

#endif
