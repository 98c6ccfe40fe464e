/* SPDX-License-Identifier: Apache-2.0 */
/*
 * transport_local.c: the local-only raft transport of a one-member
 * cluster. The stock raft_uv_tcp transport would accept unauthenticated
 * raft RPCs from anyone who can reach its port; this one opens nothing:
 * listen is a no-op and connect fails (asynchronously, on the loop, as
 * libraft expects) with RAFT_NOCONNECTION. Every connect callback fires
 * exactly once, with RAFT_CANCELED if the transport closes first, so
 * raft_close always completes.
 *
 * XXX(clustering issue): replaced by the mTLS transport (socketpair + TLS
 * pump, research/raft-spike.md section 6) when membership is added.
 */
#include <stdlib.h>
#include <sys/queue.h>

#include "coffer/coffer_err.h"
#include "cluster/transport_local.h"

struct tl_conn {
	struct tl *tl;
	struct raft_uv_connect *req;
	uv_timer_t timer;
	int done;			/* callback already fired */
	TAILQ_ENTRY(tl_conn) link;
};

struct tl {
	uv_loop_t *loop;
	struct raft_uv_transport *t;
	TAILQ_HEAD(, tl_conn) conns;	/* connects with a pending callback */
	raft_uv_transport_close_cb close_cb;
	uv_timer_t close_handle;	/* closed to defer close_cb a tick */
	unsigned handles;		/* uv handles not yet closed */
	int closing;
};

static void tl_maybe_closed(struct tl *);

static int
tl_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
	(void)t;
	(void)id;
	(void)address;
	return 0;
}

static int
tl_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
	/* No listener: nobody can reach a one-member cluster. */
	(void)t;
	(void)cb;
	return 0;
}

static void
conn_closed(uv_handle_t *h)
{
	struct tl_conn *c = h->data;
	struct tl *tl = c->tl;

	free(c);
	tl->handles--;
	tl_maybe_closed(tl);
}

static void
conn_finish(struct tl_conn *c, int status)
{
	struct tl *tl = c->tl;

	if (c->done)
		return;
	c->done = 1;
	TAILQ_REMOVE(&tl->conns, c, link);
	uv_timer_stop(&c->timer);
	c->req->cb(c->req, NULL, status);
	uv_close((uv_handle_t *)&c->timer, conn_closed);
}

static void
conn_fire(uv_timer_t *timer)
{
	conn_finish(timer->data, RAFT_NOCONNECTION);
}

static int
tl_connect(struct raft_uv_transport *t, struct raft_uv_connect *req,
    raft_id id, const char *address, raft_uv_connect_cb cb)
{
	struct tl *tl = t->impl;
	struct tl_conn *c;

	(void)id;
	(void)address;
	if (tl->closing)
		return RAFT_CANCELED;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return RAFT_NOMEM;
	c->tl = tl;
	c->req = req;
	req->cb = cb;
	if (uv_timer_init(tl->loop, &c->timer) != 0) {
		free(c);
		return RAFT_NOCONNECTION;
	}
	c->timer.data = c;
	tl->handles++;
	TAILQ_INSERT_TAIL(&tl->conns, c, link);
	/* Fail on the next loop iteration, never inside connect(). */
	uv_timer_start(&c->timer, conn_fire, 0, 0);
	return 0;
}

static void
tl_maybe_closed(struct tl *tl)
{
	struct raft_uv_transport *t = tl->t;
	raft_uv_transport_close_cb cb = tl->close_cb;

	if (!tl->closing || tl->handles > 0)
		return;
	t->impl = NULL;
	free(tl);
	if (cb != NULL)
		cb(t);
}

static void
close_handle_closed(uv_handle_t *h)
{
	struct tl *tl = h->data;

	tl->handles--;
	tl_maybe_closed(tl);
}

static void
tl_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
	struct tl *tl = t->impl;
	struct tl_conn *c;

	tl->close_cb = cb;
	tl->closing = 1;
	while ((c = TAILQ_FIRST(&tl->conns)) != NULL)
		conn_finish(c, RAFT_CANCELED);
	/* Closing a handle defers cb to a later loop tick. */
	uv_close((uv_handle_t *)&tl->close_handle, close_handle_closed);
}

int
cf_transport_local_init(struct raft_uv_transport *t, uv_loop_t *loop)
{
	struct tl *tl;

	if ((tl = calloc(1, sizeof(*tl))) == NULL)
		return COFFER_E_NOMEM;
	tl->loop = loop;
	tl->t = t;
	TAILQ_INIT(&tl->conns);
	if (uv_timer_init(loop, &tl->close_handle) != 0) {
		free(tl);
		return COFFER_E_INTERNAL;
	}
	tl->close_handle.data = tl;
	tl->handles = 1;
	t->data = NULL;
	t->impl = tl;
	t->errmsg[0] = '\0';
	t->init = tl_init;
	t->listen = tl_listen;
	t->connect = tl_connect;
	t->close = tl_close;
	return 0;
}

void
cf_transport_local_free(struct raft_uv_transport *t)
{
	struct tl *tl = t->impl;

	if (tl == NULL || tl->closing)
		return;		/* freed by, or being freed by, close */
	/* Never used by raft_uv: close with no callback, freed a tick later. */
	tl_close(t, NULL);
}
