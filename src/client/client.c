/* SPDX-License-Identifier: Apache-2.0 */
/*
 * client.c: struct coffer_client: the connection pool, the request/response
 * call with one safe retry, lazy login/logout of pooled connections,
 * read-your-writes tracking and the per-thread error detail.
 *
 * Guarantees: a write is retried only with the same idempotency key; a
 * packed request holding a password lives in the secure heap and is wiped;
 * stored credentials live in the secure heap and are wiped on logout and
 * free; nothing prints, exits or aborts on bad input.
 */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "client/client.h"
#include "common/secmem.h"
#include "common/util.h"
#include "common/wire.h"

/*
 * Responses carry plaintext, random bytes and wrapped keys: every buffer
 * protobuf-c allocates while decoding one is wiped when it is freed (the
 * bulk data buffers are usually handed to the caller instead, who frees
 * them with coffer_free, which wipes too).
 */
static void *
resp_alloc(void *data, size_t n)
{
	(void)data;
	return malloc(n);
}

static void
resp_free(void *data, void *p)
{
	(void)data;
	if (p == NULL)
		return;
	cf_cleanse(p, malloc_usable_size(p));
	free(p);
}

ProtobufCAllocator cf_resp_alloc = { resp_alloc, resp_free, NULL };

/* --- per-thread error detail ------------------------------------------- */

static struct cf_errent *
errent(struct coffer_client *c, bool create)
{
	struct cf_errent *e;
	pthread_t self = pthread_self();

	for (e = c->errs; e != NULL; e = e->next)
		if (pthread_equal(e->tid, self))
			return e;
	if (!create || (e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->tid = self;
	e->next = c->errs;
	c->errs = e;
	return e;
}

static void
set_detail(struct coffer_client *c, const char *msg)
{
	struct cf_errent *e;

	pthread_mutex_lock(&c->mu);
	if ((e = errent(c, true)) != NULL)
		cf_strlcpy(e->msg, msg, sizeof(e->msg));
	pthread_mutex_unlock(&c->mu);
}

int
cf_client_fail(struct coffer_client *c, int rc, const char *fmt, ...)
{
	char msg[CF_CLI_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	set_detail(c, msg);
	return rc;
}

const char *
coffer_client_last_error(struct coffer_client *c)
{
	struct cf_errent *e;
	const char *s = "";

	if (c == NULL)
		return "";
	cf_client_check_fork(c);
	pthread_mutex_lock(&c->mu);
	/* The entry is only ever written by this thread: safe to hand out. */
	if ((e = errent(c, false)) != NULL)
		s = e->msg;
	pthread_mutex_unlock(&c->mu);
	return s;
}

uint64_t
coffer_client_seen_index(struct coffer_client *c)
{
	if (c == NULL)
		return 0;
	return atomic_load(&c->seen_index);
}

static void
see_index(struct coffer_client *c, uint64_t idx)
{
	uint64_t cur = atomic_load(&c->seen_index);

	while (idx > cur &&
	    !atomic_compare_exchange_weak(&c->seen_index, &cur, idx))
		;
}

/* --- credentials ---------------------------------------------------------- */

static void
wipe_creds_locked(struct coffer_client *c)
{
	cf_free_secret_str(c->user);
	cf_free_secret_str(c->pass);
	c->user = NULL;
	c->pass = NULL;
}

int
cf_client_replace_creds(struct coffer_client *c, const char *match_user,
    const char *user, const char *pass, bool bump)
{
	char *u = NULL, *p = NULL;

	if ((user != NULL && (u = cf_strdup_secret(user)) == NULL) ||
	    (p = cf_strdup_secret(pass)) == NULL) {
		cf_free_secret_str(u);
		return COFFER_E_NOMEM;
	}
	pthread_mutex_lock(&c->mu);
	if (c->user != NULL && (match_user == NULL ||
	    strcmp(match_user, c->user) == 0)) {
		if (u != NULL) {
			cf_free_secret_str(c->user);
			c->user = u;
			u = NULL;
		}
		cf_free_secret_str(c->pass);
		c->pass = p;
		p = NULL;
		if (bump)
			c->cred_gen++;
	}
	pthread_mutex_unlock(&c->mu);
	cf_free_secret_str(u);
	cf_free_secret_str(p);
	return 0;
}

/* --- pool ----------------------------------------------------------------- */

/*
 * Opens a connection to server `want`, or (CF_SERVER_ANY) to the first
 * reachable server starting at the last good one; `avoid` (a server that
 * just failed) is tried last.
 */
static int
open_conn(struct coffer_client *c, size_t want, size_t avoid,
    struct cf_conn **out, char *err, size_t errlen)
{
	size_t i, n = c->cfg.nservers, start, idx;
	int rc = COFFER_E_CONNECT, r, tls_rc = 0;
	char why[CF_CLI_ERRLEN] = "", tls_why[CF_CLI_ERRLEN] = "";

	*out = NULL;
	pthread_mutex_lock(&c->mu);
	start = c->good_server;
	pthread_mutex_unlock(&c->mu);
	if (avoid != CF_SERVER_ANY && avoid < n)
		start = (avoid + 1) % n;
	if (want != CF_SERVER_ANY) {
		if (want >= n)
			return COFFER_E_INTERNAL;
		start = want;
		n = 1;
	}
	for (i = 0; i < n; i++) {
		idx = (start + i) % c->cfg.nservers;
		r = cf_conn_open(c->ctx, c->cfg.servers[idx],
		    c->cfg.server_name, c->cfg.have_pin ? c->cfg.pin : NULL,
		    c->cfg.timeout_ms, out, why, sizeof(why));
		if (r == 0) {
			(*out)->server = idx;
			(*out)->spin_us = c->cfg.spin_us;
			pthread_mutex_lock(&c->mu);
			c->good_server = idx;
			pthread_mutex_unlock(&c->mu);
			return 0;
		}
		if (r == COFFER_E_NOMEM)
			return r;
		/* A trust failure is reported in preference to "down". */
		if (r == COFFER_E_TLS && tls_rc == 0) {
			tls_rc = r;
			cf_strlcpy(tls_why, why, sizeof(tls_why));
		}
		rc = r;
	}
	if (tls_rc != 0) {
		cf_strlcpy(err, tls_why, errlen);
		return tls_rc;
	}
	cf_strlcpy(err, why, errlen);
	return rc;
}

/* An idle connection may serve a call for (want, avoid). */
static bool
conn_fits(const struct coffer_client *c, const struct cf_conn *conn,
    size_t want, size_t avoid)
{
	if (want != CF_SERVER_ANY)
		return conn->server == want;
	return avoid == CF_SERVER_ANY || conn->server != avoid ||
	    c->cfg.nservers == 1;
}

/*
 * The connection this thread checked in last (compared, never followed:
 * it may be gone). Taking it again keeps each calling thread talking to
 * the same node thread, which the scheduler then keeps on one core: a
 * reply wakes a thread that is cache-warm and usually on the same CPU.
 * Handing out whichever idle connection came first made the pairs swap
 * on every call, and the scheduler spread the wake-ups across CPUs.
 */
static __thread const struct cf_conn *tl_last;

/* Wakes the first waiter (mu held): handed conn (may be NULL: a slot). */
static void
wake_waiter(struct coffer_client *c, struct cf_waiter **pw,
    struct cf_conn *conn)
{
	struct cf_waiter *w = *pw;

	*pw = w->next;
	if (*pw == NULL)
		c->waiters_tail = pw;
	w->next = NULL;
	w->conn = conn;
	w->woken = true;
	pthread_cond_signal(&w->cv);
}

/*
 * Checks out an idle connection that fits (want: a server index or
 * CF_SERVER_ANY; avoid: a server that just failed), or opens one; fresh:
 * never reuse an idle one. When the pool is full of idle connections that
 * do not fit, one of them is replaced. When all are in use, the caller
 * waits in line: checkin hands a connection straight to the first waiter
 * it fits (first come, first served; a returning thread cannot take it
 * back before the waiter runs, which wasted a wake-up per call and
 * starved waiters when threads outnumber connections).
 */
static int
checkout(struct coffer_client *c, bool fresh, size_t want, size_t avoid,
    struct cf_conn **out, char *err, size_t errlen)
{
	struct cf_conn *conn, **pp;
	struct cf_waiter w;
	uint64_t now;
	int rc;

	*out = NULL;
	pthread_mutex_lock(&c->mu);
	for (;;) {
		now = cf_now_ms();	/* again after every wait below */
		pp = &c->idle;
		/* This thread's last connection first, if it is idle. */
		if (!fresh && tl_last != NULL && tl_last != c->idle) {
			for (; *pp != NULL && *pp != tl_last;
			    pp = &(*pp)->next)
				;
			if (*pp == NULL ||
			    !conn_fits(c, *pp, want, avoid) ||
			    now - (*pp)->idle_since >= CF_CLI_STALE_CHECK_MS)
				pp = &c->idle;
			else {
				conn = *pp;
				*pp = conn->next;
				conn->next = NULL;
				pthread_mutex_unlock(&c->mu);
				*out = conn;
				return 0;
			}
		}
		while (!fresh && (conn = *pp) != NULL) {
			/*
			 * A connection idle for a while may have been closed
			 * by the node (restart, shutdown): look before use.
			 * One used within the last second skips the look (a
			 * poll() under the pool lock per call); should it be
			 * dead after all, the call fails over to a fresh one
			 * like any lost connection.
			 */
			if (now - conn->idle_since >= CF_CLI_STALE_CHECK_MS &&
			    cf_conn_stale(conn)) {
				*pp = conn->next;
				c->nconns--;
				cf_conn_close(conn);
				continue;
			}
			if (!conn_fits(c, conn, want, avoid)) {
				pp = &conn->next;
				continue;
			}
			*pp = conn->next;
			conn->next = NULL;
			pthread_mutex_unlock(&c->mu);
			*out = conn;
			return 0;
		}
		if (c->nconns < c->cfg.connections)
			break;
		if (c->idle != NULL) {
			/*
			 * Make room: replace an idle one by a fresh one,
			 * preferably not one to the node holding our session
			 * objects (they die with our last connection there).
			 */
			for (pp = &c->idle; (*pp)->next != NULL &&
			    (*pp)->server == c->sess_server; pp = &(*pp)->next)
				;
			conn = *pp;
			*pp = conn->next;
			c->nconns--;
			cf_conn_close(conn);
			continue;
		}
		w = (struct cf_waiter){ .want = want, .avoid = avoid,
		    .fresh = fresh };
		pthread_cond_init(&w.cv, NULL);
		*c->waiters_tail = &w;
		c->waiters_tail = &w.next;
		while (!w.woken)
			pthread_cond_wait(&w.cv, &c->mu);
		pthread_cond_destroy(&w.cv);
		if (w.conn != NULL) {
			pthread_mutex_unlock(&c->mu);
			*out = w.conn;
			return 0;
		}
	}
	c->nconns++;
	pthread_mutex_unlock(&c->mu);
	if ((rc = open_conn(c, want, avoid, &conn, err, errlen)) != 0) {
		pthread_mutex_lock(&c->mu);
		c->nconns--;
		if (c->waiters != NULL)
			wake_waiter(c, &c->waiters, NULL);
		pthread_mutex_unlock(&c->mu);
		return rc;
	}
	*out = conn;
	return 0;
}

static void
checkin(struct coffer_client *c, struct cf_conn *conn, bool keep)
{
	struct cf_waiter **pw;

	if (conn == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	if (keep) {
		tl_last = conn;
		conn->idle_since = cf_now_ms();
		for (pw = &c->waiters; *pw != NULL; pw = &(*pw)->next) {
			if (!(*pw)->fresh &&
			    conn_fits(c, conn, (*pw)->want, (*pw)->avoid)) {
				wake_waiter(c, pw, conn);
				pthread_mutex_unlock(&c->mu);
				return;
			}
		}
		conn->next = c->idle;
		c->idle = conn;
	} else {
		c->nconns--;
	}
	/* Nobody it fits, or a slot freed: the first waiter looks again
	 * (it may replace an idle connection or open one). */
	if (c->waiters != NULL)
		wake_waiter(c, &c->waiters, NULL);
	pthread_mutex_unlock(&c->mu);
	if (!keep)
		cf_conn_close(conn);
}

/* --- one exchange on one connection ----------------------------------- */

static bool
retryable(int rc)
{
	return rc == COFFER_E_IO || rc == COFFER_E_CLOSED;
}

static bool
conn_fatal(int rc)
{
	return retryable(rc) || rc == COFFER_E_TIMEOUT ||
	    rc == COFFER_E_PROTO || rc == COFFER_E_TOOBIG;
}

/*
 * Packs hdr || req: into the secure heap when it carries a password
 * (free with cf_free_secret), else into the connection's buffer.
 */
static int
pack_frame(struct cf_conn *conn, const Coffer__Request *req, bool secret,
    uint8_t **out, size_t *outlen)
{
	size_t n = coffer__request__get_packed_size(req);
	uint8_t *p;
	int rc;

	*out = NULL;
	*outlen = 0;
	if (n > CF_MAX_FRAME_LIMIT)
		return COFFER_E_TOOBIG;
	if (secret) {
		if ((p = cf_malloc_secret(n + 4)) == NULL)
			return COFFER_E_NOMEM;
	} else if ((rc = cf_conn_buf(conn, n + 4, &p)) != 0)
		return rc;
	cf_frame_hdr(p, (uint32_t)n);
	if (coffer__request__pack(req, p + 4) != n) {
		if (secret)
			cf_free_secret(p, n + 4);
		else
			cf_conn_wipe_buf(conn, n + 4);
		return COFFER_E_INTERNAL;
	}
	*out = p;
	*outlen = n + 4;
	return 0;
}

/*
 * How long a request waits for its reply: key generation (an RSA prime
 * search, seconds on a busy node) keygen_timeout_ms, the rest timeout_ms.
 */
static unsigned
request_timeout_ms(const struct coffer_client *c, const Coffer__Request *req)
{
	switch (req->body_case) {
	case COFFER__REQUEST__BODY_OBJ_GENERATE_KEY:
	case COFFER__REQUEST__BODY_OBJ_GENERATE_KEY_PAIR:
		return c->cfg.keygen_timeout_ms;
	default:
		return c->cfg.timeout_ms;
	}
}

/*
 * Sends one request on conn and reads its response. Returns 0 with *resp
 * set (whatever rc the node answered), or a local error; err gets the
 * detail of a local error.
 */
static int
exchange(struct coffer_client *c, struct cf_conn *conn, Coffer__Request *req,
    bool secret, Coffer__Response **resp, char *err, size_t errlen)
{
	uint8_t *frame = NULL, *in = NULL;
	size_t flen = 0, inlen = 0;
	uint64_t deadline = cf_now_ms() + request_timeout_ms(c, req);
	Coffer__Response *r = NULL;
	bool begun = false;
	int rc;

	*resp = NULL;
	req->id = atomic_fetch_add(&c->next_id, 1);
	req->min_index = atomic_load(&c->seen_index);
	if ((rc = pack_frame(conn, req, secret, &frame, &flen)) != 0) {
		cf_strlcpy(err, "cannot encode the request", errlen);
		goto out;
	}
	cf_conn_req_begin();
	begun = true;
	rc = cf_conn_write(conn, frame, flen, deadline, err, errlen);
	/* Requests may carry plaintext or keys to unwrap. */
	if (secret)
		cf_free_secret(frame, flen);
	else
		cf_conn_wipe_buf(conn, flen);
	frame = NULL;
	if (rc != 0)
		goto out;
	if ((rc = cf_conn_read_frame(conn, CF_CLI_MAX_RESPONSE, deadline, &in,
	    &inlen, err, errlen)) != 0)
		goto out;
	if ((r = coffer__response__unpack(&cf_resp_alloc, inlen, in)) == NULL) {
		cf_strlcpy(err, "malformed response", errlen);
		rc = COFFER_E_PROTO;
		goto out;
	}
	if (r->id != req->id) {
		snprintf(err, errlen, "response id %llu does not match request "
		    "id %llu", (unsigned long long)r->id,
		    (unsigned long long)req->id);
		rc = COFFER_E_PROTO;
		goto out;
	}
	see_index(c, r->applied_index);
	*resp = r;
	r = NULL;
	rc = 0;
out:
	if (begun)
		cf_conn_req_end();
	if (r != NULL)
		coffer__response__free_unpacked(r, &cf_resp_alloc);
	if (frame != NULL) {
		if (secret)
			cf_free_secret(frame, flen);
		else
			cf_conn_wipe_buf(conn, flen);
	}
	/* Responses may carry plaintext or wrapped keys. */
	if (in != NULL)
		cf_conn_wipe_buf(conn, inlen);
	return rc;
}

/*
 * Requests of a batch in flight at once: at most CF_BATCH_WINDOW of them,
 * and at most CF_BATCH_WINDOW_BYTES of encoded requests (but at least
 * one). The byte bound keeps a window's write within what the socket
 * buffers take without the node reading (this side's send buffer and the
 * node's receive window, 64 KiB and more by default), so the write ends
 * even while the node is blocked writing replies this side has not read
 * yet; otherwise large replies (batch decryption of 1 MiB messages) could
 * leave both sides waiting for each other. A request larger than the
 * bound goes alone: the node reads all of it before it answers. The round
 * trip is paid once per window: once per 32 signatures, MACs or 1 KiB
 * messages, once per 3 messages of 16 KiB.
 */
#define CF_BATCH_WINDOW 32
#define CF_BATCH_WINDOW_BYTES (64u * 1024)

/*
 * Pipelined: n requests packed back to back and sent in one write per
 * window (above), then that window's responses read and
 * matched by id (the protocol lets a node answer in completion order;
 * today's node answers a connection's requests in request order,
 * docs/PROTOCOL.md). 0 with every resps[i] set (whatever rc the node
 * answered), or a local error with none set.
 */
static int
exchange_many(struct coffer_client *c, struct cf_conn *conn,
    Coffer__Request *const *reqs, size_t n, Coffer__Response **resps,
    char *err, size_t errlen)
{
	uint8_t *buf = NULL, *in = NULL;
	size_t i, j, w, end, sz, total, off, inlen = 0, got;
	uint64_t deadline = cf_now_ms() + c->cfg.timeout_ms;
	Coffer__Response *r;
	int rc = 0;

	for (i = 0; i < n; i++)
		resps[i] = NULL;
	cf_conn_req_begin();
	for (w = 0; w < n && rc == 0; w = end) {
		total = 0;
		for (end = w; end < n && end - w < CF_BATCH_WINDOW; end++) {
			reqs[end]->id = atomic_fetch_add(&c->next_id, 1);
			reqs[end]->min_index = atomic_load(&c->seen_index);
			sz = coffer__request__get_packed_size(reqs[end]) + 4;
			if (end > w && total + sz > CF_BATCH_WINDOW_BYTES)
				break;
			if (sz > CF_MAX_FRAME_LIMIT) {
				cf_strlcpy(err, "request too large", errlen);
				rc = COFFER_E_TOOBIG;
				goto out;
			}
			total += sz;
		}
		if ((rc = cf_conn_buf(conn, total, &buf)) != 0) {
			cf_strlcpy(err, "cannot encode the requests", errlen);
			goto out;
		}
		for (i = w, off = 0; i < end; i++) {
			sz = coffer__request__get_packed_size(reqs[i]);
			cf_frame_hdr(buf + off, (uint32_t)sz);
			if (coffer__request__pack(reqs[i], buf + off + 4) !=
			    sz) {
				cf_conn_wipe_buf(conn, total);
				cf_strlcpy(err, "cannot encode the requests",
				    errlen);
				rc = COFFER_E_INTERNAL;
				goto out;
			}
			off += sz + 4;
		}
		rc = cf_conn_write(conn, buf, total, deadline, err, errlen);
		/* Requests may carry plaintext. */
		cf_conn_wipe_buf(conn, total);
		for (got = w; rc == 0 && got < end; got++) {
			if ((rc = cf_conn_read_frame(conn, CF_CLI_MAX_RESPONSE,
			    deadline, &in, &inlen, err, errlen)) != 0)
				break;
			r = coffer__response__unpack(&cf_resp_alloc, inlen, in);
			/* Responses may carry plaintext or wrapped keys. */
			cf_conn_wipe_buf(conn, inlen);
			if (r == NULL) {
				cf_strlcpy(err, "malformed response", errlen);
				rc = COFFER_E_PROTO;
				break;
			}
			for (j = w; j < end && (reqs[j]->id != r->id ||
			    resps[j] != NULL); j++)
				;
			if (j == end) {
				snprintf(err, errlen, "response id %llu matches "
				    "no request of the batch",
				    (unsigned long long)r->id);
				coffer__response__free_unpacked(r, &cf_resp_alloc);
				rc = COFFER_E_PROTO;
				break;
			}
			see_index(c, r->applied_index);
			resps[j] = r;
		}
	}
out:
	cf_conn_req_end();
	if (rc != 0) {
		for (i = 0; i < n; i++) {
			if (resps[i] != NULL)
				coffer__response__free_unpacked(resps[i], &cf_resp_alloc);
			resps[i] = NULL;
		}
	}
	return rc;
}

/* Logs the connection out (if logged in) and in with the stored creds. */
static int
sync_session(struct coffer_client *c, struct cf_conn *conn, char *err,
    size_t errlen, int *node_rc)
{
	Coffer__Request req = COFFER__REQUEST__INIT;
	Coffer__LogoutReq lo = COFFER__LOGOUT_REQ__INIT;
	Coffer__LoginReq li = COFFER__LOGIN_REQ__INIT;
	Coffer__Response *resp = NULL;
	char *user = NULL, *pass = NULL;
	uint64_t gen, instance;
	int rc = 0;

	*node_rc = 0;
	pthread_mutex_lock(&c->mu);
	gen = c->cred_gen;
	instance = c->instance;
	if (conn->logged_gen == gen || (c->user == NULL &&
	    conn->logged_gen == 0)) {
		pthread_mutex_unlock(&c->mu);
		return 0;
	}
	if (c->user != NULL && ((user = cf_strdup_secret(c->user)) == NULL ||
	    (pass = cf_strdup_secret(c->pass)) == NULL)) {
		pthread_mutex_unlock(&c->mu);
		rc = COFFER_E_NOMEM;
		goto out;
	}
	pthread_mutex_unlock(&c->mu);

	if (conn->logged_gen != 0) {
		req.body_case = COFFER__REQUEST__BODY_LOGOUT;
		req.logout = &lo;
		if ((rc = exchange(c, conn, &req, false, &resp, err,
		    errlen)) != 0)
			goto out;
		coffer__response__free_unpacked(resp, &cf_resp_alloc);
		resp = NULL;
		conn->logged_gen = 0;
	}
	if (user == NULL)
		goto out;
	li.username = user;
	li.password.data = (uint8_t *)pass;
	li.password.len = strlen(pass);
	li.client_instance = instance;
	req = (Coffer__Request)COFFER__REQUEST__INIT;
	req.body_case = COFFER__REQUEST__BODY_LOGIN;
	req.login = &li;
	if ((rc = exchange(c, conn, &req, true, &resp, err, errlen)) != 0)
		goto out;
	if (resp->rc != 0) {
		*node_rc = resp->rc;
		cf_strlcpy(err, resp->detail != NULL && *resp->detail != '\0' ?
		    resp->detail : "automatic re-login failed", errlen);
		goto out;
	}
	conn->logged_gen = gen;
out:
	if (resp != NULL)
		coffer__response__free_unpacked(resp, &cf_resp_alloc);
	cf_free_secret_str(user);
	cf_free_secret_str(pass);
	return rc;
}

/*
 * One call with retries:
 * - after an I/O failure (connection lost before or while the request was
 *   sent), once on a fresh connection, unless CF_CALL_NORETRY;
 * - a keyed write answered COFFER_E_UNKNOWN_OUTCOME (leadership lost),
 *   once with the same key: the node returns the first outcome if the write
 *   did apply;
 * - unpinned calls with several servers fail over: after a connection
 *   failure, a timeout or COFFER_E_UNAVAILABLE the next server is tried,
 *   each server at most once (writes keep their key).
 */
static int
call_impl(struct coffer_client *c, Coffer__Request *req, unsigned flags,
    Coffer__Response__BodyCase expect, Coffer__Response **out,
    cf_call_hook hook, void *hook_arg, size_t server, size_t *served)
{
	uint8_t idem[CF_CLI_IDEM_LEN];
	char err[CF_CLI_ERRLEN] = "";
	struct cf_conn *conn = NULL;
	Coffer__Response *resp = NULL;
	bool secret = (flags & CF_CALL_SECRET) != 0, keep, fresh = false;
	bool failover, unknown_done = false, io_done = false;
	size_t avoid = CF_SERVER_ANY, tried = 0;
	int rc = COFFER_E_INTERNAL, node_rc;

	*out = NULL;
	if (served != NULL)
		*served = CF_SERVER_ANY;
	cf_client_check_fork(c);
	failover = server == CF_SERVER_ANY && c->cfg.nservers > 1;
	if (flags & CF_CALL_WRITE) {
		if (cf_random(idem, sizeof(idem)) != 0) {
			rc = COFFER_E_CRYPTO;
			cf_strlcpy(err, "no random bytes for the request key",
			    sizeof(err));
			goto out;
		}
		req->idem.data = idem;
		req->idem.len = sizeof(idem);
	}
	for (;;) {
		err[0] = '\0';
		if ((rc = checkout(c, fresh, server, avoid, &conn, err,
		    sizeof(err))) != 0)
			goto out;
		tried++;
		if (!(flags & CF_CALL_RAW)) {
			rc = sync_session(c, conn, err, sizeof(err), &node_rc);
			if (rc == 0 && node_rc != 0) {
				checkin(c, conn, true);
				conn = NULL;
				rc = node_rc;
				goto out;
			}
		}
		if (rc == 0)
			rc = exchange(c, conn, req, secret, &resp, err,
			    sizeof(err));
		if (rc == 0 && !unknown_done && (flags & CF_CALL_WRITE) &&
		    resp->rc == COFFER_E_UNKNOWN_OUTCOME) {
			unknown_done = true;
			coffer__response__free_unpacked(resp, &cf_resp_alloc);
			resp = NULL;
			checkin(c, conn, true);
			conn = NULL;
			fresh = false;
			continue;
		}
		if (rc == 0 && resp->rc == COFFER_E_UNAVAILABLE && failover &&
		    tried < c->cfg.nservers) {
			avoid = conn->server;
			coffer__response__free_unpacked(resp, &cf_resp_alloc);
			resp = NULL;
			checkin(c, conn, true);
			conn = NULL;
			fresh = false;
			continue;
		}
		if (rc == 0)
			break;
		keep = !conn_fatal(rc);
		if (!keep && failover && tried < c->cfg.nservers &&
		    !(flags & CF_CALL_NORETRY) && (retryable(rc) ||
		    rc == COFFER_E_TIMEOUT)) {
			avoid = conn->server;
			checkin(c, conn, keep);
			conn = NULL;
			fresh = false;
			continue;
		}
		checkin(c, conn, keep);
		conn = NULL;
		if (!retryable(rc) || io_done || (flags & CF_CALL_NORETRY))
			goto out;
		io_done = true;
		fresh = true;
	}
	if (served != NULL)
		*served = conn->server;
	if (resp->rc != 0) {
		rc = resp->rc;
		cf_strlcpy(err, resp->detail != NULL ? resp->detail : "",
		    sizeof(err));
		goto out;
	}
	if (expect != COFFER__RESPONSE__BODY__NOT_SET &&
	    resp->body_case != expect) {
		rc = COFFER_E_PROTO;
		cf_strlcpy(err, "unexpected response type", sizeof(err));
		goto out;
	}
	if (hook != NULL)
		hook(c, conn, resp, hook_arg);
	*out = resp;
	resp = NULL;
	rc = 0;
out:
	if (conn != NULL)
		checkin(c, conn, true);
	if (resp != NULL)
		coffer__response__free_unpacked(resp, &cf_resp_alloc);
	if (flags & CF_CALL_WRITE) {
		cf_cleanse(idem, sizeof(idem));
		req->idem.data = NULL;
		req->idem.len = 0;
	}
	if (rc != 0)
		set_detail(c, err[0] != '\0' ? err : coffer_strerror(rc));
	return rc;
}

int
cf_client_call(struct coffer_client *c, Coffer__Request *req, unsigned flags,
    Coffer__Response__BodyCase expect, Coffer__Response **out,
    cf_call_hook hook, void *hook_arg)
{
	return call_impl(c, req, flags, expect, out, hook, hook_arg,
	    CF_SERVER_ANY, NULL);
}

int
cf_client_call_many(struct coffer_client *c, Coffer__Request *const *reqs,
    size_t n, Coffer__Response__BodyCase expect, Coffer__Response **resps,
    size_t server)
{
	char err[CF_CLI_ERRLEN] = "";
	struct cf_conn *conn = NULL;
	bool fresh = false;
	size_t i;
	int rc, node_rc;

	for (i = 0; i < n; i++)
		resps[i] = NULL;
	if (n == 0)
		return 0;
	cf_client_check_fork(c);
	for (;;) {
		err[0] = '\0';
		if ((rc = checkout(c, fresh, server, CF_SERVER_ANY, &conn, err,
		    sizeof(err))) != 0)
			goto out;
		rc = sync_session(c, conn, err, sizeof(err), &node_rc);
		if (rc == 0 && node_rc != 0) {
			checkin(c, conn, true);
			rc = node_rc;
			goto out;
		}
		if (rc == 0)
			rc = exchange_many(c, conn, reqs, n, resps, err,
			    sizeof(err));
		checkin(c, conn, rc == 0 || !conn_fatal(rc));
		conn = NULL;
		/* Reads only: a lost connection is retried once, afresh. */
		if (rc == 0 || !retryable(rc) || fresh)
			break;
		fresh = true;
	}
	if (rc != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (resps[i]->rc == 0 &&
		    expect != COFFER__RESPONSE__BODY__NOT_SET &&
		    resps[i]->body_case != expect) {
			cf_strlcpy(err, "unexpected response type", sizeof(err));
			rc = COFFER_E_PROTO;
			goto out;
		}
	}
out:
	if (rc != 0) {
		for (i = 0; i < n; i++) {
			if (resps[i] != NULL)
				coffer__response__free_unpacked(resps[i], &cf_resp_alloc);
			resps[i] = NULL;
		}
		set_detail(c, err[0] != '\0' ? err : coffer_strerror(rc));
	}
	return rc;
}

int
cf_client_call_at(struct coffer_client *c, Coffer__Request *req,
    unsigned flags, Coffer__Response__BodyCase expect,
    Coffer__Response **out, size_t server, size_t *served)
{
	return call_impl(c, req, flags, expect, out, NULL, NULL, server,
	    served);
}

/* --- fork safety ---------------------------------------------------------- */

/*
 * Bumped in the child of every fork() (pthread_atfork): a call compares it
 * with the client's copy instead of making a getpid() system call (two per
 * request before; glibc does not cache the pid).
 */
static atomic_uint forks;
static pthread_once_t forks_once = PTHREAD_ONCE_INIT;

static void
on_fork_child(void)
{
	atomic_fetch_add(&forks, 1);
}

static void
forks_init(void)
{
	(void)pthread_atfork(NULL, NULL, on_fork_child);
}

void
cf_client_check_fork(struct coffer_client *c)
{
	unsigned f = atomic_load(&forks);
	pid_t now, old;
	struct cf_conn *conn;
	struct cf_errent *e;

	if (f == atomic_load(&c->forks_seen))
		return;
	atomic_store(&c->forks_seen, f);
	now = getpid();
	old = atomic_load(&c->pid);
	if (old == now || !atomic_compare_exchange_strong(&c->pid, &old, now))
		return;
	/*
	 * We are the (single-threaded, at this point) child. A thread of the
	 * parent may have held the mutex at fork time: start afresh. The
	 * connections other parent threads had checked out are not ours to
	 * touch (their descriptors leak until exec or exit).
	 */
	pthread_mutex_init(&c->mu, NULL);
	c->waiters = NULL;	/* threads of the parent: not in the child */
	c->waiters_tail = &c->waiters;
	while ((conn = c->idle) != NULL) {
		c->idle = conn->next;
		cf_conn_drop(conn);
	}
	c->nconns = 0;
	while ((e = c->errs) != NULL) {
		c->errs = e->next;
		free(e);
	}
	wipe_creds_locked(c);
	c->cred_gen++;
	if (cf_random(&c->instance, sizeof(c->instance)) != 0)
		c->instance ^= ((uint64_t)now << 32) ^ cf_now_ms();
	c->fork_gen++;
	free(c->sess);
	c->sess = NULL;
	c->nsess = c->sess_cap = 0;
	c->sess_server = CF_SERVER_ANY;
}

/* --- client lifecycle ----------------------------------------------------- */

int
coffer_client_new(const struct coffer_config *cfg, struct coffer_client **out,
    char *errbuf, size_t errlen)
{
	struct coffer_client *c = NULL;
	struct cf_conn *conn = NULL;
	char err[CF_CLI_ERRLEN] = "";
	uint64_t first_id;
	int rc = COFFER_E_INTERNAL;
	bool inited = false;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (out == NULL || cfg == NULL) {
		cf_strlcpy(errbuf, "invalid argument", errlen);
		return COFFER_E_INVAL;
	}
	*out = NULL;
	if (cfg->nservers == 0) {
		cf_strlcpy(errbuf, "no servers configured", errlen);
		return COFFER_E_CONFIG;
	}
	if (!cfg->have_pin && cfg->trust_anchor == NULL &&
	    !cf_config_all_unix(cfg)) {
		cf_strlcpy(errbuf, "neither trust_anchor nor pin_sha256 is set: "
		    "refusing to trust any certificate", errlen);
		return COFFER_E_CONFIG;
	}
	if ((cfg->client_cert == NULL) != (cfg->client_key == NULL)) {
		cf_strlcpy(errbuf, "client_cert and client_key go together",
		    errlen);
		return COFFER_E_CONFIG;
	}
	cf_secmem_init_lib();
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	if ((rc = cf_config_copy(cfg, &c->cfg)) != 0)
		goto out;
	if (c->cfg.timeout_ms == 0)
		c->cfg.timeout_ms = CF_CLI_DEFAULT_TIMEOUT_MS;
	if (c->cfg.keygen_timeout_ms == 0)
		c->cfg.keygen_timeout_ms = CF_CLI_DEFAULT_KEYGEN_TIMEOUT_MS;
	if (c->cfg.connections == 0)
		c->cfg.connections = CF_CLI_DEFAULT_CONNS;
	if (pthread_mutex_init(&c->mu, NULL) != 0) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	c->waiters_tail = &c->waiters;
	inited = true;
	/* Random first id: ids of two clients on one node rarely collide. */
	if (cf_random(&first_id, sizeof(first_id)) != 0)
		first_id = cf_now_ms();
	atomic_init(&c->next_id, (first_id >> 2) + 1);
	atomic_init(&c->seen_index, 0);
	(void)pthread_once(&forks_once, forks_init);
	atomic_init(&c->pid, getpid());
	atomic_init(&c->forks_seen, atomic_load(&forks));
	c->sess_server = CF_SERVER_ANY;
	if (cf_random(&c->instance, sizeof(c->instance)) != 0) {
		rc = COFFER_E_CRYPTO;
		cf_strlcpy(err, "no random bytes for the client instance",
		    sizeof(err));
		goto out;
	}
	if ((rc = cf_tls_ctx_new(&c->cfg, &c->ctx, err, sizeof(err))) != 0)
		goto out;
	if ((rc = checkout(c, false, CF_SERVER_ANY, CF_SERVER_ANY, &conn, err,
	    sizeof(err))) != 0)
		goto out;
	checkin(c, conn, true);
	*out = c;
	c = NULL;
	rc = 0;
out:
	if (rc != 0)
		cf_strlcpy(errbuf, err[0] != '\0' ? err : coffer_strerror(rc),
		    errlen);
	if (c != NULL) {
		if (inited) {
			coffer_client_free(c);
		} else {
			cf_config_clear(&c->cfg);
			free(c);
		}
	}
	return rc;
}

void
coffer_client_free(struct coffer_client *c)
{
	struct cf_conn *conn;
	struct cf_errent *e;
	bool child;

	if (c == NULL)
		return;
	/* In a child of fork(), the TLS sessions are the parent's. */
	child = atomic_load(&c->pid) != getpid();
	while ((conn = c->idle) != NULL) {
		c->idle = conn->next;
		if (child)
			cf_conn_drop(conn);
		else
			cf_conn_close(conn);
	}
	free(c->sess);
	while ((e = c->errs) != NULL) {
		c->errs = e->next;
		free(e);
	}
	wipe_creds_locked(c);
	SSL_CTX_free(c->ctx);
	cf_config_clear(&c->cfg);
	pthread_mutex_destroy(&c->mu);
	cf_cleanse(c, sizeof(*c));
	free(c);
}

/* --- sessions --------------------------------------------------------- */

struct login_arg {
	const char *user;
	const char *pass;
	int rc;
};

static void
login_hook(struct coffer_client *c, struct cf_conn *conn,
    const Coffer__Response *resp, void *arg)
{
	struct login_arg *la = arg;
	char *u, *p = NULL;

	if ((u = cf_strdup_secret(la->user)) == NULL ||
	    (p = cf_strdup_secret(la->pass)) == NULL) {
		cf_free_secret_str(u);
		la->rc = COFFER_E_NOMEM;
		return;
	}
	pthread_mutex_lock(&c->mu);
	wipe_creds_locked(c);
	c->user = u;
	c->pass = p;
	c->cred_gen++;
	conn->logged_gen = c->cred_gen;
	pthread_mutex_unlock(&c->mu);
}

/* Logout on a connection that may carry an older session. */
static void
drop_session(struct coffer_client *c, struct cf_conn *conn)
{
	Coffer__Request req = COFFER__REQUEST__INIT;
	Coffer__LogoutReq lo = COFFER__LOGOUT_REQ__INIT;
	Coffer__Response *resp = NULL;
	char err[64];

	req.body_case = COFFER__REQUEST__BODY_LOGOUT;
	req.logout = &lo;
	if (exchange(c, conn, &req, false, &resp, err, sizeof(err)) == 0) {
		coffer__response__free_unpacked(resp, &cf_resp_alloc);
		conn->logged_gen = 0;
	}
}

static void
pre_login_hook(struct coffer_client *c, struct cf_conn *conn)
{
	if (conn->logged_gen != 0)
		drop_session(c, conn);
}

int
coffer_login(struct coffer_client *c, const char *username,
    const char *password, int *role)
{
	Coffer__Request req = COFFER__REQUEST__INIT;
	Coffer__LoginReq li = COFFER__LOGIN_REQ__INIT;
	Coffer__Response *resp = NULL;
	struct login_arg la;
	struct cf_conn *conn = NULL;
	char err[CF_CLI_ERRLEN] = "";
	int rc, attempt;
	bool keep;

	if (role != NULL)
		*role = COFFER_ROLE_NONE;
	if (c == NULL || username == NULL || password == NULL)
		return COFFER_E_INVAL;
	if (*username == '\0')
		return cf_client_fail(c, COFFER_E_INVAL, "empty user name");
	cf_client_check_fork(c);
	la.user = username;
	la.pass = password;
	la.rc = 0;
	li.username = (char *)username;
	li.password.data = (uint8_t *)password;
	li.password.len = strlen(password);
	pthread_mutex_lock(&c->mu);
	li.client_instance = c->instance;
	pthread_mutex_unlock(&c->mu);
	req.body_case = COFFER__REQUEST__BODY_LOGIN;
	req.login = &li;

	/*
	 * Not cf_client_call: the connection's old session (if any) is
	 * dropped first, and the login must land on the connection that is
	 * then marked as logged in. A lost connection is retried once: a
	 * login that never reached the node cannot have counted.
	 */
	for (attempt = 0; attempt < 2; attempt++) {
		if ((rc = checkout(c, attempt > 0, CF_SERVER_ANY,
		    CF_SERVER_ANY, &conn, err, sizeof(err))) != 0)
			goto out;
		pre_login_hook(c, conn);
		rc = exchange(c, conn, &req, true, &resp, err, sizeof(err));
		if (rc == 0)
			break;
		keep = !conn_fatal(rc);
		checkin(c, conn, keep);
		conn = NULL;
		if (!retryable(rc))
			goto out;
	}
	if (rc != 0)
		goto out;
	if (resp->rc != 0) {
		rc = resp->rc;
		cf_strlcpy(err, resp->detail != NULL ? resp->detail : "",
		    sizeof(err));
		conn->logged_gen = 0;
		goto out;
	}
	if (resp->body_case != COFFER__RESPONSE__BODY_LOGIN) {
		rc = COFFER_E_PROTO;
		cf_strlcpy(err, "unexpected response type", sizeof(err));
		goto out;
	}
	login_hook(c, conn, resp, &la);
	if ((rc = la.rc) != 0)
		goto out;
	if (role != NULL && resp->login != NULL)
		*role = (int)resp->login->role;
out:
	if (conn != NULL)
		checkin(c, conn, true);
	if (resp != NULL)
		coffer__response__free_unpacked(resp, &cf_resp_alloc);
	if (rc != 0)
		set_detail(c, err[0] != '\0' ? err : coffer_strerror(rc));
	return rc;
}

int
coffer_logout(struct coffer_client *c)
{
	Coffer__Request req = COFFER__REQUEST__INIT;
	Coffer__LogoutReq lo = COFFER__LOGOUT_REQ__INIT;
	Coffer__Response *resp = NULL;
	struct cf_conn *list, *conn, *keep = NULL;
	char err[CF_CLI_ERRLEN] = "";
	bool any = false;
	int rc = 0, r;

	if (c == NULL)
		return COFFER_E_INVAL;
	cf_client_check_fork(c);
	/* Busy connections log out lazily: their generation is now stale. */
	pthread_mutex_lock(&c->mu);
	wipe_creds_locked(c);
	c->cred_gen++;
	list = c->idle;
	c->idle = NULL;
	pthread_mutex_unlock(&c->mu);

	req.body_case = COFFER__REQUEST__BODY_LOGOUT;
	req.logout = &lo;
	while ((conn = list) != NULL) {
		list = conn->next;
		conn->next = NULL;
		if (conn->logged_gen == 0) {
			checkin(c, conn, true);
			continue;
		}
		any = true;
		r = exchange(c, conn, &req, false, &resp, err, sizeof(err));
		if (r != 0) {
			checkin(c, conn, false);	/* session dies with it */
			continue;
		}
		if (resp->rc != 0 && resp->rc != COFFER_E_NOTLOGGEDIN &&
		    rc == 0) {
			rc = resp->rc;
			cf_strlcpy(err, resp->detail != NULL ? resp->detail :
			    "", sizeof(err));
		}
		coffer__response__free_unpacked(resp, &cf_resp_alloc);
		resp = NULL;
		conn->logged_gen = 0;
		conn->next = keep;
		keep = conn;
	}
	while ((conn = keep) != NULL) {
		keep = conn->next;
		checkin(c, conn, true);
	}
	if (!any) {
		/* Nothing was logged in here: let the node answer. */
		rc = cf_client_call(c, &req, CF_CALL_RAW,
		    COFFER__RESPONSE__BODY_LOGOUT, &resp, NULL, NULL);
		if (resp != NULL)
			coffer__response__free_unpacked(resp, &cf_resp_alloc);
		return rc;
	}
	if (rc != 0)
		set_detail(c, err[0] != '\0' ? err : coffer_strerror(rc));
	return rc;
}
