/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server.c: the client listener. TLS 1.3 only, on the libuv loop thread
 * through OpenSSL memory BIOs (socket bytes -> rbio -> SSL -> plaintext ->
 * frame decoder; SSL -> wbio -> uv_write). Each whole frame becomes a job
 * for a pool of our own pthreads (not the libuv threadpool: libraft uses it
 * for disk I/O), which runs cf_cmd_dispatch and posts the reply back to the
 * loop through a mutex queue and uv_async_send. Replies go out in
 * completion order.
 *
 * Guarantees: only the loop thread touches uv handles, SSL objects and
 * connection fields other than the session; a connection is refcounted
 * (its handle plus every job, write and shutdown request) so a worker
 * finishing after the client left finds valid memory and its reply is
 * dropped; per-connection caps on jobs in flight, bytes in flight and
 * unsent output stop reading from that client (backpressure); an
 * oversize frame gets one COFFER_E_TOOBIG reply and the connection is
 * closed, nothing is allocated for it.
 *
 * Not yet: client-certificate verification (the mTLS policy, DESIGN.md
 * section 4, is "off" for now) and an idle timeout.
 */
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <uv.h>

#include "coffer.pb-c.h"
#include "coffer/coffer_err.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/util.h"
#include "common/wire.h"
#include "hsm/cmd.h"
#include "hsm/node.h"
#include "hsm/node_run.h"
#include "hsm/server.h"
#include "hsm/state.h"

#define CONN_MAX_JOBS 256		/* jobs in flight per connection */
#define CONN_MAX_JOB_BYTES (8u * 1024 * 1024)
#define CONN_MAX_UNSENT (8u * 1024 * 1024)	/* queued for the socket */
#define HANDSHAKE_TIMEOUT_MS 10000
#define SWEEP_MS 1000
#define LINGER_MS 2000
#define READ_CHUNK (64 * 1024)
#define PT_CHUNK (16 * 1024)		/* one TLS record of plaintext */
#define MAX_WORKERS 256

struct conn;

struct job {
	struct job *next;
	struct conn *conn;
	uint8_t *frame;		/* request payload (malloc'd) */
	size_t len;
	uint8_t *out;		/* packed Response (malloc'd), NULL on OOM */
	size_t out_len;
};

struct wreq {
	uv_write_t req;
	struct conn *conn;
	size_t len;
	uint8_t data[];
};

struct conn {
	struct conn *prev, *next;	/* server's list of open connections */
	struct cf_server *srv;
	uv_tcp_t tcp;
	uv_shutdown_t shut;
	SSL *ssl;
	BIO *rbio, *wbio;		/* owned by ssl */
	struct cf_session sess;
	struct cf_frame_dec dec;
	uint64_t id;
	uint64_t accepted_ms;
	uint64_t linger_until;		/* draining: close by then */
	unsigned refs;			/* loop thread only */
	unsigned jobs;			/* in flight */
	size_t job_bytes;
	atomic_bool gone;		/* closed: workers may skip its jobs */
	bool inited;			/* session and decoder set up */
	bool handshaken;
	bool closing;			/* uv_close called */
	bool draining;			/* flushing a last reply, then close */
	bool paused;			/* reading stopped for backpressure */
	char peer[64];
	size_t pt_off, pt_len;		/* unconsumed plaintext in pt */
	uint8_t pt[PT_CHUNK];
};

struct cf_server {
	struct cf_node *node;
	uv_loop_t *loop;
	uv_tcp_t listener;
	uv_timer_t sweep;
	uv_async_t async;
	SSL_CTX *ctx;			/* current; SSL objects hold own refs */
	struct conn *conns;
	unsigned nconns;		/* open */
	unsigned nalloc;		/* allocated, not yet freed */
	uint64_t next_id;
	unsigned handles;		/* open uv handles of the server */
	size_t max_frame;

	/* Worker pool. */
	pthread_mutex_t jmu;
	pthread_cond_t jcv;
	struct job *jhead, *jtail;
	bool jstop;
	pthread_t *threads;
	unsigned nthreads;
	atomic_uint live_workers;

	/* Completed jobs, posted to the loop. */
	pthread_mutex_t dmu;
	struct job *dhead, *dtail;

	bool stopping;
	bool workers_joined;
	bool finished;
	void (*stop_cb)(void *);
	void *stop_arg;

	uint8_t rbuf[READ_CHUNK];	/* socket reads (loop thread only) */
};

static void conn_process(struct conn *);
static void on_read(uv_stream_t *, ssize_t, const uv_buf_t *);
static void on_alloc(uv_handle_t *, size_t, uv_buf_t *);
static void conn_close(struct conn *);
static void maybe_finish(struct cf_server *);

/* ------------------------------------------------------------------ */
/* TLS context                                                         */

static int
build_ctx(const uint8_t *der, size_t der_len, const char *cert_pem,
    SSL_CTX **out)
{
	SSL_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	X509 *cert = NULL, *extra = NULL;
	BIO *bio = NULL;
	const unsigned char *p = der;
	int rc = COFFER_E_TLS;

	*out = NULL;
	if (der == NULL || der_len == 0 || der_len > 65536 || cert_pem == NULL)
		return COFFER_E_INVAL;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		goto out;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_num_tickets(ctx, 0) != 1)
		goto out;
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* Client certificates: policy "off" for now (issue: client mTLS). */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);

	if ((pkey = d2i_AutoPrivateKey(NULL, &p, (long)der_len)) == NULL)
		goto out;
	if ((bio = BIO_new_mem_buf(cert_pem, -1)) == NULL)
		goto out;
	if ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL)
		goto out;
	if (SSL_CTX_use_certificate(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, pkey) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto out;
	/* Any further certificates in the PEM are the chain. */
	while ((extra = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
			X509_free(extra);
			goto out;
		}
	}
	ERR_clear_error();	/* the PEM reader's "no start line" */
	*out = ctx;
	ctx = NULL;
	rc = 0;
out:
	if (rc != 0)
		log_ssl_error("cannot build the TLS context");
	EVP_PKEY_free(pkey);
	X509_free(cert);
	BIO_free(bio);
	SSL_CTX_free(ctx);
	return rc;
}

static void
set_ctx(struct cf_server *srv, SSL_CTX *ctx)
{
	/* Live SSL objects keep their own reference to the old context. */
	SSL_CTX_free(srv->ctx);
	srv->ctx = ctx;
}

int
cf_server_reload_tls(struct cf_server *srv)
{
	uint8_t *der = NULL;
	size_t der_len = 0;
	char *cert = NULL, *anchor = NULL;
	SSL_CTX *ctx = NULL;
	int rc;

	if (srv == NULL || srv->node->state == NULL)
		return COFFER_E_INVAL;
	cf_state_rdlock(srv->node->state);
	rc = cf_state_tls_material(srv->node->state, &der, &der_len, &cert,
	    &anchor);
	cf_state_unlock(srv->node->state);
	if (rc != 0) {
		/* E.g. zeroized: keep serving the context we have. */
		log_info("no TLS material in the state (%s); keeping the "
		    "current certificate", coffer_errname(rc));
		goto out;
	}
	if ((rc = build_ctx(der, der_len, cert, &ctx)) != 0)
		goto out;
	set_ctx(srv, ctx);
	log_info("TLS context loaded");
out:
	cf_free_secret(der, der_len);
	free(cert);
	free(anchor);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Worker pool                                                         */

static void *
worker_main(void *arg)
{
	struct cf_server *srv = arg;
	struct job *j;

	for (;;) {
		pthread_mutex_lock(&srv->jmu);
		while (srv->jhead == NULL && !srv->jstop)
			pthread_cond_wait(&srv->jcv, &srv->jmu);
		if (srv->jstop) {
			pthread_mutex_unlock(&srv->jmu);
			break;
		}
		j = srv->jhead;
		srv->jhead = j->next;
		if (srv->jhead == NULL)
			srv->jtail = NULL;
		pthread_mutex_unlock(&srv->jmu);

		j->next = NULL;
		if (!atomic_load(&j->conn->gone)) {
			if (cf_cmd_dispatch(srv->node, &j->conn->sess, j->frame,
			    j->len, &j->out, &j->out_len) != 0 &&
			    j->out == NULL)
				log_error("conn %llu: no response (%s)",
				    (unsigned long long)j->conn->id,
				    "dispatch failed");
		}
		/* Requests carry passwords: wipe before freeing. */
		cf_cleanse(j->frame, j->len);
		free(j->frame);
		j->frame = NULL;

		pthread_mutex_lock(&srv->dmu);
		if (srv->dtail != NULL)
			srv->dtail->next = j;
		else
			srv->dhead = j;
		srv->dtail = j;
		pthread_mutex_unlock(&srv->dmu);
		/* The async handle stays open until every worker has left. */
		uv_async_send(&srv->async);
	}
	atomic_fetch_sub(&srv->live_workers, 1);
	return NULL;
}

static int
start_workers(struct cf_server *srv)
{
	sigset_t all, old;
	unsigned n = srv->node->cfg.workers, i;
	long ncpu;
	int rc = 0;

	if (n == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		if (ncpu < 1)
			ncpu = 1;
		n = 2 * (unsigned)(ncpu > 64 ? 64 : ncpu) + 2;
	}
	if (n > MAX_WORKERS)
		n = MAX_WORKERS;
	if ((srv->threads = calloc(n, sizeof(*srv->threads))) == NULL)
		return COFFER_E_NOMEM;
	/* Workers take no signals: libuv's signal handling stays on the
	 * loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < n; i++) {
		atomic_fetch_add(&srv->live_workers, 1);
		if (pthread_create(&srv->threads[i], NULL, worker_main,
		    srv) != 0) {
			atomic_fetch_sub(&srv->live_workers, 1);
			log_error("cannot start worker %u", i);
			rc = COFFER_E_INTERNAL;
			break;
		}
		srv->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	log_info("%u worker threads", srv->nthreads);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Connections                                                         */

static void
conn_free(struct conn *c)
{
	struct cf_server *srv = c->srv;

	SSL_free(c->ssl);
	if (c->inited) {
		cf_frame_dec_reset(&c->dec);
		cf_session_destroy(&c->sess);
	}
	cf_cleanse(c->pt, sizeof(c->pt));
	free(c);
	srv->nalloc--;
	maybe_finish(srv);
}

static void
conn_unref(struct conn *c)
{
	if (--c->refs == 0)
		conn_free(c);
}

static void
on_conn_closed(uv_handle_t *h)
{
	conn_unref(h->data);
}

static void
conn_close(struct conn *c)
{
	struct cf_server *srv = c->srv;

	if (c->closing)
		return;
	c->closing = true;
	atomic_store(&c->gone, true);
	uv_read_stop((uv_stream_t *)&c->tcp);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	srv->nconns--;
	atomic_fetch_sub(&srv->node->connections, 1);
	log_debug("conn %llu (%s): closed", (unsigned long long)c->id,
	    c->peer);
	/* Pending writes and the shutdown request complete (cancelled)
	 * before the close callback, each dropping its reference. */
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static bool
over_limit(struct conn *c)
{
	return c->jobs >= CONN_MAX_JOBS || c->job_bytes >= CONN_MAX_JOB_BYTES ||
	    uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) >
	    CONN_MAX_UNSENT;
}

static void
maybe_resume(struct conn *c)
{
	if (!c->paused || c->closing || c->draining || over_limit(c))
		return;
	c->paused = false;
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
		conn_close(c);
		return;
	}
	/* Frames may be waiting in pt or inside SSL already. */
	conn_process(c);
}

static void
on_write(uv_write_t *req, int status)
{
	struct wreq *w = req->data;
	struct conn *c = w->conn;

	free(w);
	if (status < 0 && !c->closing) {
		log_debug("conn %llu: write: %s", (unsigned long long)c->id,
		    uv_strerror(status));
		conn_close(c);
	} else if (!c->closing) {
		maybe_resume(c);
	}
	conn_unref(c);
}

/* Moves what SSL produced (records, alerts) to the socket. */
static void
conn_flush(struct conn *c)
{
	struct wreq *w;
	size_t pend;
	uv_buf_t b;
	int n;

	while (!c->closing && (pend = BIO_ctrl_pending(c->wbio)) > 0) {
		if (pend > INT32_MAX)
			pend = INT32_MAX;
		if ((w = malloc(sizeof(*w) + pend)) == NULL) {
			conn_close(c);
			return;
		}
		n = BIO_read(c->wbio, w->data, (int)pend);
		if (n <= 0) {
			free(w);
			conn_close(c);
			return;
		}
		w->len = (size_t)n;
		w->conn = c;
		w->req.data = w;
		b = uv_buf_init((char *)w->data, (unsigned)n);
		c->refs++;
		if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1,
		    on_write) != 0) {
			free(w);
			c->refs--;
			conn_close(c);
			return;
		}
	}
}

static void
on_shutdown(uv_shutdown_t *req, int status)
{
	struct conn *c = req->data;

	/*
	 * Lingering close: closing with unread input makes the kernel send
	 * RST, which can destroy our last reply in the client's buffers.
	 * Discard input until the client's EOF or LINGER_MS.
	 */
	if (status < 0 || c->closing ||
	    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
		conn_close(c);
	else
		c->linger_until = cf_now_ms() + LINGER_MS;
	conn_unref(c);
}

/* Sends what is queued, then closes (a last error reply, an alert). */
static void
conn_close_after_flush(struct conn *c)
{
	if (c->closing || c->draining)
		return;
	conn_flush(c);
	if (c->closing)
		return;
	c->draining = true;
	uv_read_stop((uv_stream_t *)&c->tcp);
	c->shut.data = c;
	c->refs++;
	if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
		c->refs--;
		conn_close(c);
	}
}

/* Frames hdr || payload into one TLS write. */
static void
conn_send(struct conn *c, const uint8_t *p, size_t n)
{
	uint8_t *buf;

	if (c->closing || n > UINT32_MAX || n > INT32_MAX - CF_FRAME_HDR)
		return;
	if ((buf = malloc(n + CF_FRAME_HDR)) == NULL) {
		conn_close(c);
		return;
	}
	cf_frame_hdr(buf, (uint32_t)n);
	memcpy(buf + CF_FRAME_HDR, p, n);
	if (SSL_write(c->ssl, buf, (int)(n + CF_FRAME_HDR)) <= 0) {
		log_ssl_error("conn %llu: SSL_write", (unsigned long long)c->id);
		cf_cleanse(buf, n + CF_FRAME_HDR);
		free(buf);
		conn_close(c);
		return;
	}
	cf_cleanse(buf, n + CF_FRAME_HDR);
	free(buf);
}

/* An error Response built here (id 0), for frames that never reach a
 * worker. */
static void
conn_send_error(struct conn *c, int rc, const char *detail)
{
	Coffer__Response resp = COFFER__RESPONSE__INIT;
	uint8_t *p;
	size_t n;

	resp.id = 0;
	resp.rc = rc;
	resp.detail = (char *)detail;
	n = coffer__response__get_packed_size(&resp);
	if ((p = malloc(n ? n : 1)) == NULL)
		return;
	coffer__response__pack(&resp, p);
	conn_send(c, p, n);
	free(p);
}

static void
submit_job(struct conn *c, uint8_t *frame, size_t len)
{
	struct cf_server *srv = c->srv;
	struct job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		cf_cleanse(frame, len);
		free(frame);
		conn_close(c);
		return;
	}
	j->conn = c;
	j->frame = frame;
	j->len = len;
	c->refs++;
	c->jobs++;
	c->job_bytes += len;
	pthread_mutex_lock(&srv->jmu);
	if (srv->jtail != NULL)
		srv->jtail->next = j;
	else
		srv->jhead = j;
	srv->jtail = j;
	pthread_cond_signal(&srv->jcv);
	pthread_mutex_unlock(&srv->jmu);
}

static const char *
ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : "no detail";
}

/* Drives the handshake, decrypts, splits frames into jobs, flushes. */
static void
conn_process(struct conn *c)
{
	uint8_t *frame;
	size_t used, flen;
	int n, err, rc;

	if (c->closing || c->draining)
		return;
	if (!c->handshaken) {
		ERR_clear_error();
		n = SSL_do_handshake(c->ssl);
		if (n != 1) {
			err = SSL_get_error(c->ssl, n);
			if (err == SSL_ERROR_WANT_READ ||
			    err == SSL_ERROR_WANT_WRITE) {
				conn_flush(c);
				return;
			}
			log_info("conn %llu (%s): TLS handshake failed: %s",
			    (unsigned long long)c->id, c->peer, ssl_reason());
			ERR_clear_error();
			/* Send the alert, then close. */
			conn_close_after_flush(c);
			return;
		}
		c->handshaken = true;
		log_debug("conn %llu (%s): %s %s", (unsigned long long)c->id,
		    c->peer, SSL_get_version(c->ssl),
		    SSL_get_cipher_name(c->ssl));
	}
	for (;;) {
		if (over_limit(c)) {
			if (!c->paused) {
				c->paused = true;
				uv_read_stop((uv_stream_t *)&c->tcp);
			}
			break;
		}
		if (c->pt_off == c->pt_len) {
			ERR_clear_error();
			n = SSL_read(c->ssl, c->pt, sizeof(c->pt));
			if (n <= 0) {
				err = SSL_get_error(c->ssl, n);
				if (err == SSL_ERROR_WANT_READ)
					break;
				if (err == SSL_ERROR_ZERO_RETURN)
					log_debug("conn %llu: close_notify",
					    (unsigned long long)c->id);
				else
					log_info("conn %llu (%s): TLS error: "
					    "%s", (unsigned long long)c->id,
					    c->peer, ssl_reason());
				ERR_clear_error();
				conn_flush(c);
				conn_close(c);
				return;
			}
			c->pt_off = 0;
			c->pt_len = (size_t)n;
		}
		frame = NULL;
		rc = cf_frame_dec_feed(&c->dec, c->pt + c->pt_off,
		    c->pt_len - c->pt_off, &used, &frame, &flen);
		if (rc != 0) {
			log_info("conn %llu (%s): bad frame: %s",
			    (unsigned long long)c->id, c->peer,
			    coffer_errname(rc));
			c->pt_off = c->pt_len = 0;
			if (rc == COFFER_E_TOOBIG)
				conn_send_error(c, rc, "frame too large");
			else if (rc == COFFER_E_FORMAT)
				conn_send_error(c, rc, "empty frame");
			conn_close_after_flush(c);
			return;
		}
		c->pt_off += used;
		if (frame != NULL)
			submit_job(c, frame, flen);
		if (c->closing)
			return;
	}
	conn_flush(c);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;

	/* One buffer per server: libuv calls on_read right after. */
	*buf = uv_buf_init((char *)c->srv->rbuf, sizeof(c->srv->rbuf));
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;

	if (nread == 0)
		return;
	if (nread < 0) {
		if (nread != UV_EOF)
			log_debug("conn %llu: read: %s",
			    (unsigned long long)c->id, uv_strerror((int)nread));
		conn_close(c);
		return;
	}
	if (c->closing || c->draining)
		return;
	if (BIO_write(c->rbio, buf->base, (int)nread) != (int)nread) {
		conn_close(c);
		return;
	}
	conn_process(c);
}

static void
free_handle(uv_handle_t *h)
{
	free(h);
}

static void
peer_name(uv_tcp_t *t, char *out, size_t outlen)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	snprintf(out, outlen, "?");
	if (uv_tcp_getpeername(t, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		uv_ip4_name(a, ip, sizeof(ip));
		port = ntohs(a->sin_port);
		snprintf(out, outlen, "%s:%u", ip, port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		uv_ip6_name(a, ip, sizeof(ip));
		port = ntohs(a->sin6_port);
		snprintf(out, outlen, "[%s]:%u", ip, port);
	}
}

static void
on_connection(uv_stream_t *ls, int status)
{
	struct cf_server *srv = ls->data;
	struct conn *c;
	uv_tcp_t *bare;

	if (status < 0) {
		log_warn("accept: %s", uv_strerror(status));
		return;
	}
	if (srv->stopping || srv->ctx == NULL ||
	    srv->nconns >= srv->node->cfg.max_connections) {
		/* Take it off the backlog and close it at once. */
		if ((bare = malloc(sizeof(*bare))) == NULL)
			return;
		uv_tcp_init(srv->loop, bare);
		if (uv_accept(ls, (uv_stream_t *)bare) == 0)
			log_warn("connection refused: %s",
			    srv->ctx == NULL ? "no TLS identity yet" :
			    "connection limit reached");
		uv_close((uv_handle_t *)bare, free_handle);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_error("out of memory accepting a connection");
		return;
	}
	c->srv = srv;
	srv->nalloc++;
	c->refs = 1;			/* the handle */
	uv_tcp_init(srv->loop, &c->tcp);
	c->tcp.data = c;
	if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0) {
		c->closing = true;
		uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
		return;
	}
	c->id = ++srv->next_id;
	c->accepted_ms = cf_now_ms();
	peer_name(&c->tcp, c->peer, sizeof(c->peer));
	cf_session_init(&c->sess, c->id, c->peer);
	cf_frame_dec_init(&c->dec, srv->max_frame);
	c->inited = true;
	/* Linked and counted first so that conn_close undoes it. */
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	atomic_fetch_add(&srv->node->connections, 1);

	uv_tcp_nodelay(&c->tcp, 1);
	c->ssl = SSL_new(srv->ctx);
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
		BIO_free(c->rbio);
		BIO_free(c->wbio);
		log_ssl_error("conn %llu: SSL_new", (unsigned long long)c->id);
		conn_close(c);
		return;
	}
	/* An empty rbio means "wait for more", not EOF. */
	BIO_set_mem_eof_return(c->rbio, -1);
	SSL_set_bio(c->ssl, c->rbio, c->wbio);
	SSL_set_accept_state(c->ssl);
	log_debug("conn %llu: accepted from %s", (unsigned long long)c->id,
	    c->peer);
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
		conn_close(c);
}

/* ------------------------------------------------------------------ */
/* Completions and timers                                              */

static void
drain_done(struct cf_server *srv)
{
	struct job *j, *next;
	struct conn *c;

	pthread_mutex_lock(&srv->dmu);
	j = srv->dhead;
	srv->dhead = srv->dtail = NULL;
	pthread_mutex_unlock(&srv->dmu);
	for (; j != NULL; j = next) {
		next = j->next;
		c = j->conn;
		c->jobs--;
		c->job_bytes -= j->len;
		if (!c->closing && !c->draining) {
			if (j->out != NULL) {
				conn_send(c, j->out, j->out_len);
				conn_flush(c);
			} else {
				/* No response at all (OOM): the client would
				 * wait forever for this id. */
				conn_close(c);
			}
		}
		if (j->out != NULL) {
			cf_cleanse(j->out, j->out_len);
			free(j->out);
		}
		free(j);
		if (!c->closing)
			maybe_resume(c);
		conn_unref(c);
	}
}

static void
on_async(uv_async_t *a)
{
	drain_done(a->data);
}

static void
on_sweep(uv_timer_t *t)
{
	struct cf_server *srv = t->data;
	struct conn *c, *next;
	uint64_t now = cf_now_ms();

	for (c = srv->conns; c != NULL; c = next) {
		next = c->next;
		if (!c->handshaken && !c->draining &&
		    now - c->accepted_ms > HANDSHAKE_TIMEOUT_MS) {
			log_info("conn %llu (%s): handshake timeout",
			    (unsigned long long)c->id, c->peer);
			conn_close(c);
		} else if (c->linger_until != 0 && now > c->linger_until) {
			conn_close(c);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Start and stop                                                      */

static int
listen_on(struct cf_server *srv)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	char host[256], port_s[8];
	uint16_t port;
	int rc, e;

	if ((rc = cf_parse_host_port(srv->node->cfg.listen, host, sizeof(host),
	    &port)) != 0) {
		log_error("listen address \"%s\" invalid",
		    srv->node->cfg.listen);
		return COFFER_E_CONFIG;
	}
	snprintf(port_s, sizeof(port_s), "%u", (unsigned)port);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((e = getaddrinfo(host[0] ? host : NULL, port_s, &hints, &ai)) !=
	    0) {
		log_error("listen address \"%s\": %s", srv->node->cfg.listen,
		    gai_strerror(e));
		return COFFER_E_CONFIG;
	}
	uv_tcp_init(srv->loop, &srv->listener);
	srv->listener.data = srv;
	srv->handles++;
	if ((e = uv_tcp_bind(&srv->listener, ai->ai_addr, 0)) != 0 ||
	    (e = uv_listen((uv_stream_t *)&srv->listener, 511,
	    on_connection)) != 0) {
		log_error("listen on %s: %s", srv->node->cfg.listen,
		    uv_strerror(e));
		rc = COFFER_E_IO;
	}
	freeaddrinfo(ai);
	if (rc == 0)
		log_info("listening on %s (TLS 1.3)", srv->node->cfg.listen);
	return rc;
}

static void
on_handle_closed(uv_handle_t *h)
{
	struct cf_server *srv = h->data;

	srv->handles--;
	maybe_finish(srv);
}

static void
server_free(struct cf_server *srv)
{
	free(srv->threads);
	SSL_CTX_free(srv->ctx);
	pthread_mutex_destroy(&srv->jmu);
	pthread_cond_destroy(&srv->jcv);
	pthread_mutex_destroy(&srv->dmu);
	free(srv);
}

static void
maybe_finish(struct cf_server *srv)
{
	void (*cb)(void *);
	void *arg;

	if (!srv->stopping || !srv->workers_joined || srv->finished ||
	    srv->handles != 0 || srv->nalloc != 0)
		return;
	srv->finished = true;
	cb = srv->stop_cb;
	arg = srv->stop_arg;
	server_free(srv);
	log_info("server stopped");
	if (cb != NULL)
		cb(arg);
}

static int
server_start(struct cf_node *node, const uint8_t *der, size_t der_len,
    const char *cert_pem, struct cf_server **out)
{
	struct cf_server *srv;
	int rc;

	*out = NULL;
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return COFFER_E_NOMEM;
	srv->node = node;
	srv->loop = node->loop;
	srv->max_frame = node->cfg.max_frame;
	pthread_mutex_init(&srv->jmu, NULL);
	pthread_cond_init(&srv->jcv, NULL);
	pthread_mutex_init(&srv->dmu, NULL);
	if (der != NULL)
		rc = build_ctx(der, der_len, cert_pem, &srv->ctx);
	else
		rc = cf_server_reload_tls(srv);
	if (rc != 0) {
		server_free(srv);
		return rc;
	}
	uv_async_init(srv->loop, &srv->async, on_async);
	srv->async.data = srv;
	srv->handles++;
	uv_timer_init(srv->loop, &srv->sweep);
	srv->sweep.data = srv;
	srv->handles++;
	uv_timer_start(&srv->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
	if ((rc = start_workers(srv)) == 0)
		rc = listen_on(srv);
	if (rc != 0) {
		/* Tear down through the normal stop path. */
		cf_server_stop(srv, NULL, NULL);
		return rc;
	}
	*out = srv;
	return 0;
}

int
cf_server_start(struct cf_node *node, struct cf_server **out)
{
	return server_start(node, NULL, 0, NULL, out);
}

int
cf_server_start_with(struct cf_node *node, const uint8_t *key_der,
    size_t key_der_len, const char *cert_pem, struct cf_server **out)
{
	if (key_der == NULL)
		return COFFER_E_INVAL;
	return server_start(node, key_der, key_der_len, cert_pem, out);
}

static void
stop_poll(uv_timer_t *t)
{
	struct cf_server *srv = t->data;
	struct job *j, *next;
	unsigned i;

	/* Workers may be waiting for a raft commit, which needs this loop
	 * running: poll instead of joining in place. */
	if (atomic_load(&srv->live_workers) != 0)
		return;
	for (i = 0; i < srv->nthreads; i++)
		pthread_join(srv->threads[i], NULL);
	srv->nthreads = 0;
	/* Jobs nobody ran. */
	pthread_mutex_lock(&srv->jmu);
	j = srv->jhead;
	srv->jhead = srv->jtail = NULL;
	pthread_mutex_unlock(&srv->jmu);
	for (; j != NULL; j = next) {
		next = j->next;
		j->conn->jobs--;
		cf_cleanse(j->frame, j->len);
		free(j->frame);
		conn_unref(j->conn);
		free(j);
	}
	drain_done(srv);
	srv->workers_joined = true;
	uv_timer_stop(&srv->sweep);
	uv_close((uv_handle_t *)&srv->sweep, on_handle_closed);
	uv_close((uv_handle_t *)&srv->async, on_handle_closed);
}

void
cf_server_stop(struct cf_server *srv, void (*cb)(void *), void *arg)
{
	if (srv == NULL) {
		if (cb != NULL)
			cb(arg);
		return;
	}
	if (srv->stopping)
		return;
	srv->stopping = true;
	srv->stop_cb = cb;
	srv->stop_arg = arg;
	if (srv->listener.data == srv &&
	    !uv_is_closing((uv_handle_t *)&srv->listener))
		uv_close((uv_handle_t *)&srv->listener, on_handle_closed);
	while (srv->conns != NULL)
		conn_close(srv->conns);
	pthread_mutex_lock(&srv->jmu);
	srv->jstop = true;
	pthread_cond_broadcast(&srv->jcv);
	pthread_mutex_unlock(&srv->jmu);
	uv_timer_stop(&srv->sweep);
	uv_timer_start(&srv->sweep, stop_poll, 0, 10);
}
