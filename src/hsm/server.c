/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server.c: the client listener. TLS 1.3 only. The libuv loop thread owns
 * the listening socket (a uv_poll on a non-blocking socket of our own),
 * the TLS context and a sweep timer; every accepted connection gets its
 * own thread, which does the handshake, reads a frame, runs
 * cf_cmd_dispatch and writes the reply on the blocking socket, in that
 * order, then reads the next frame. A request therefore costs no
 * hand-off between threads: the kernel wakes the connection's thread when
 * the client's bytes arrive and the same thread answers (docs/
 * ARCHITECTURE.md, "Serving clients", explains why this replaced the
 * loop-plus-worker-pool design). Replies on one connection are in request
 * order; clients that want parallelism use several connections, as
 * libcoffer's pool does.
 *
 * Guarantees: only the connection's thread touches its SSL object and
 * socket and closes the socket (after unlinking the connection under the
 * list lock, so the loop's shutdown() never hits a reused descriptor);
 * the loop thread only calls shutdown() on a connection to end it
 * (handshake timeout, server stop); "workers" bounds how many requests
 * run at once (a counting semaphore around dispatch); an oversize or
 * empty frame gets one error reply and the connection is closed after a
 * lingering drain, nothing is allocated for it; request frames (they
 * carry passwords and plaintext) and replies are wiped before they are
 * freed.
 *
 * Not yet: client-certificate verification (the mTLS policy, DESIGN.md
 * section 4, is "off" for now) and an idle timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
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
#include "common/wipebio.h"
#include "common/wire.h"
#include "hsm/cmd.h"
#include "hsm/node.h"
#include "hsm/node_run.h"
#include "hsm/server.h"
#include "hsm/state.h"

#define HANDSHAKE_TIMEOUT_MS 10000
#define SWEEP_MS 1000
#define LINGER_MS 2000
#define WBUF_SIZE (64 * 1024)		/* buffered socket writes */
#define SMALL_REPLY (16 * 1024)		/* framed by copying */
#define MAX_WORKERS 256
#define CONN_STACK (1024 * 1024)

struct conn {
	struct conn *prev, *next;	/* server's list (srv->mu) */
	struct cf_server *srv;
	int fd;
	SSL *ssl;			/* NULL on the unix socket (plain) */
	BIO *rbio;			/* plain: the wiping buffer BIO */
	BIO *wbio;			/* buffer BIO over the socket (plain:
					 * the same as rbio) */
	bool plain;			/* unix socket: frames without TLS */
	bool local;			/* client on this machine (plain or
					 * loopback TCP): see conn_spin */
	struct cf_session sess;
	uint64_t id;
	uint64_t accepted_ms;
	atomic_bool handshaken;
	bool shut;			/* shutdown() called (srv->mu) */
	unsigned spin_skip, spin_backoff; /* conn_spin: waits to sleep through */
	bool unflushed;			/* replies in wbio not yet sent */
	char peer[64];
};

struct cf_server {
	struct cf_node *node;
	uv_loop_t *loop;
	int lfd;			/* listening socket, -1 if none */
	uv_poll_t lpoll;
	bool lpoll_open;
	int ufd;			/* unix socket listener, -1 if none */
	uv_poll_t upoll;
	bool upoll_open;
	dev_t udev;			/* the socket file we made, unlinked */
	ino_t uino;			/* at stop if still ours */
	uv_timer_t sweep;
	SSL_CTX *ctx;			/* loop thread; SSL objects hold refs */
	size_t max_frame;
	uint64_t next_id;
	unsigned handles;		/* open uv handles of the server */

	pthread_mutex_t mu;		/* conns, nconns, conn->shut */
	struct conn *conns;
	unsigned nconns;
	atomic_uint live;		/* connection threads not yet gone */

	sem_t slots;			/* requests running at once */
	unsigned nslots;

	unsigned spin_us;		/* "spin_us"; see conn_spin */
	atomic_uint busy;		/* connections serving a request */
	atomic_bool spinning;		/* a connection thread is in conn_spin */

	bool stopping;
	bool finished;
	void (*stop_cb)(void *);
	void *stop_arg;
};

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
	/* Fewer read() calls: take whatever the socket has. */
	SSL_CTX_set_read_ahead(ctx, 1);
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
/* One connection, on its own thread                                   */

static const char *
ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : "no detail";
}

/* Bytes read from the socket and not yet consumed (decrypted, for TLS). */
static size_t
conn_pending(struct conn *c)
{
	int n;

	if (c->plain)
		return BIO_ctrl_pending(c->rbio);
	n = SSL_pending(c->ssl);
	return n > 0 ? (size_t)n : 0;
}

/* Reads up to n bytes of a plain connection: 1, or 0 on EOF / error. */
static int
plain_read(struct conn *c, uint8_t *p, size_t n, size_t *got)
{
	int r;

	*got = 0;
	if (n > INT_MAX)
		n = INT_MAX;
	for (;;) {
		errno = 0;
		if ((r = BIO_read(c->rbio, p, (int)n)) > 0) {
			*got = (size_t)r;
			return 1;
		}
		/* Blocking socket: a retry is EINTR (or SO_RCVTIMEO). */
		if (r < 0 && BIO_should_retry(c->rbio) && errno == EINTR)
			continue;
		return 0;
	}
}

/*
 * Writes all n bytes of a plain connection into its buffer BIO: 0, or -1
 * (connection lost). A write larger than the buffer goes straight to
 * the socket and may be taken in part; the rest follows.
 */
static int
plain_write(struct conn *c, const uint8_t *p, size_t n)
{
	size_t w;

	while (n > 0) {
		errno = 0;
		w = 0;
		if (BIO_write_ex(c->wbio, p, n, &w) != 1) {
			/* Blocking socket: a retry is EINTR. */
			if (BIO_should_retry(c->wbio) && errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= w;
	}
	return 0;
}

/* Reads exactly n bytes. 0, or -1 on EOF / error / shutdown. */
static int
conn_read(struct conn *c, uint8_t *p, size_t n, bool first)
{
	size_t got;
	int err;

	while (n > 0) {
		ERR_clear_error();
		if (c->plain) {
			if (plain_read(c, p, n, &got) != 1) {
				if (first)
					log_debug("conn %llu: closed by the "
					    "client", (unsigned long long)c->id);
				else
					log_info("conn %llu (%s): truncated "
					    "frame: connection lost",
					    (unsigned long long)c->id, c->peer);
				ERR_clear_error();
				return -1;
			}
		} else if (SSL_read_ex(c->ssl, p, n, &got) != 1) {
			err = SSL_get_error(c->ssl, 0);
			if (err == SSL_ERROR_ZERO_RETURN ||
			    (err == SSL_ERROR_SYSCALL && first &&
			    ERR_peek_error() == 0))
				log_debug("conn %llu: closed by the client",
				    (unsigned long long)c->id);
			else
				log_info("conn %llu (%s): %s: %s",
				    (unsigned long long)c->id, c->peer,
				    first ? "read" : "truncated frame",
				    err == SSL_ERROR_SYSCALL ? "connection "
				    "lost" : ssl_reason());
			ERR_clear_error();
			return -1;
		}
		p += got;
		n -= got;
		first = false;
	}
	return 0;
}

/* Sends what the buffer BIO holds: 0, or -1 (connection lost). */
static int
conn_flush(struct conn *c)
{
	if (!c->unflushed)
		return 0;
	c->unflushed = false;
	return BIO_flush(c->wbio) == 1 ? 0 : -1;
}

/*
 * Frames hdr || payload into the buffer BIO and, if flush, sends what the
 * buffer holds: a reply is as few write() calls as its size allows, and
 * replies to pipelined requests leave together (conn_serve_one).
 */
static int
conn_send(struct conn *c, const uint8_t *p, size_t n, bool flush)
{
	uint8_t small[CF_FRAME_HDR + SMALL_REPLY];
	size_t head;
	int rc = 0;

	if (n > UINT32_MAX)
		return -1;
	cf_frame_hdr(small, (uint32_t)n);
	if (c->plain) {
		/* The buffer BIO gathers header and reply (a large reply
		 * goes from p straight to the socket). */
		c->unflushed = true;
		if (plain_write(c, small, CF_FRAME_HDR) != 0 ||
		    plain_write(c, p, n) != 0 ||
		    (flush && conn_flush(c) != 0)) {
			log_info("conn %llu (%s): write: connection lost",
			    (unsigned long long)c->id, c->peer);
			ERR_clear_error();
			return -1;
		}
		return 0;
	}
	head = n < SMALL_REPLY ? n : SMALL_REPLY;
	memcpy(small + CF_FRAME_HDR, p, head);
	ERR_clear_error();
	c->unflushed = true;
	if (SSL_write_ex(c->ssl, small, CF_FRAME_HDR + head, &(size_t){0}) !=
	    1 || (n > head && SSL_write_ex(c->ssl, p + head, n - head,
	    &(size_t){0}) != 1) || (flush && conn_flush(c) != 0)) {
		log_info("conn %llu (%s): write: %s", (unsigned long long)c->id,
		    c->peer, ssl_reason());
		ERR_clear_error();
		rc = -1;
	}
	cf_cleanse(small, CF_FRAME_HDR + head);
	return rc;
}

/* An error Response built here (id 0), for frames never dispatched. */
static void
conn_send_error(struct conn *c, int rc, const char *detail)
{
	Coffer__Response resp = COFFER__RESPONSE__INIT;
	uint8_t buf[256];
	size_t n;

	resp.id = 0;
	resp.rc = rc;
	resp.detail = (char *)detail;
	n = coffer__response__get_packed_size(&resp);
	if (n > sizeof(buf))
		return;
	coffer__response__pack(&resp, buf);
	(void)conn_send(c, buf, n, true);
}

/*
 * Lingering close: closing with unread input makes the kernel send RST,
 * which can destroy our last reply in the client's buffers. Discard
 * input until the client's EOF or LINGER_MS.
 */
static void
conn_linger(struct conn *c)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200 * 1000 };
	uint64_t until = cf_now_ms() + LINGER_MS;
	char junk[4096];
	ssize_t r;

	shutdown(c->fd, SHUT_WR);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (cf_now_ms() < until) {
		r = recv(c->fd, junk, sizeof(junk), 0);
		if (r == 0 || (r < 0 && errno != EAGAIN &&
		    errno != EWOULDBLOCK && errno != EINTR))
			break;
	}
}

static bool
conn_handshake(struct conn *c)
{
	int n, err;

	ERR_clear_error();
	n = SSL_accept(c->ssl);
	(void)BIO_flush(c->wbio);
	if (n != 1) {
		err = SSL_get_error(c->ssl, n);
		log_info("conn %llu (%s): TLS handshake failed: %s",
		    (unsigned long long)c->id, c->peer,
		    err == SSL_ERROR_SYSCALL ? "connection lost or timed out" :
		    ssl_reason());
		ERR_clear_error();
		return false;
	}
	atomic_store(&c->handshaken, true);
	log_debug("conn %llu (%s): %s %s", (unsigned long long)c->id, c->peer,
	    SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl));
	return true;
}

/* The "workers" semaphore of the request this thread is running. */
static __thread sem_t *tl_slots;

void
cf_server_slot_yield(void)
{
	if (tl_slots != NULL)
		sem_post(tl_slots);
}

void
cf_server_slot_resume(void)
{
	if (tl_slots != NULL)
		while (sem_wait(tl_slots) != 0 && errno == EINTR)
			;
}

/*
 * Before sleeping in read() for the next request, poll for it for up to
 * spin_us ("spin_us", default 50, 0 = never), yielding the CPU between
 * polls. A thread that sleeps is woken by the client's bytes; on a
 * virtual machine whose idle CPU halts, that wake-up is an
 * inter-processor interrupt and a VM exit, tens of microseconds per
 * request for a lone client (docs/PERFORMANCE.md). Spinning only pays
 * when nothing else needs this CPU, so a thread spins only if:
 *
 * - no connection is serving a request (srv->busy) and no other thread
 *   is spinning: under load the CPUs are busy and do not halt;
 * - the client's last bytes arrived on another CPU (SO_INCOMING_CPU; for
 *   a local client, the CPU the client runs on): a client on this CPU
 *   cannot send its next request while we hold the CPU;
 * - the last spins found their request in time: one that found nothing
 *   makes the next 1, 2, 4 ... 64 waits sleep at once (a client that
 *   thinks between requests, or a round trip longer than spin_us).
 *
 * The spin ends early when another connection starts serving a request.
 *
 * Connections from this machine (the unix socket, or TCP from a loopback
 * or one of our own addresses: c->local) spin only while nothing else is
 * being served, but without the CPU condition (client and node share the
 * CPUs) and without the one-spinner limit, and a lone local client gets
 * up to LONE_SPIN x spin_us, ended by any other request: over TLS its
 * next request often comes later than 50 us after a reply (1-thread
 * RSA-2048 p50 over OpenSSL's through TLS, two paired 9-round runs:
 * +112/+92, +114/+153 -> +64/+75, +94/+45 us). Sessions 9-10 let local
 * connections spin under load too, with libcoffer spinning for every
 * reply; in session 12's interleaved rounds on the benchmark VM, with
 * libcoffer spinning only for a lone call, this rule gave ECDSA per call
 * on the socket 22,734 -> 26,092/s at 2 threads and 20,353 -> 25,579/s
 * at 4, over TLS +5 %, RSA and 1 MiB calls within the noise
 * (docs/PERFORMANCE.md). Remote clients keep the rules above: their
 * round trip is longer than a spin, and their node should not burn CPUs
 * polling for them.
 */
static const atomic_uint never;	/* a gate that never closes */
#define LONE_SPIN 4			/* conn_spin for a lone local client */

static void
conn_spin(struct conn *c)
{
	struct cf_server *srv = c->srv;
	socklen_t sl = sizeof(int);
	int cpu, in_cpu = -1;
	bool no = false, found;

	if (srv->spin_us == 0 || conn_pending(c) > 0)
		return;
	if (c->spin_skip > 0) {
		c->spin_skip--;
		return;
	}
	if (c->local) {
		if (atomic_load(&srv->busy) != 0)
			return;
		/* While nothing else is being served (a lone local client:
		 * its next request may come later than spin_us after a
		 * reply, e.g. after its own TLS and a slow wake-up), keep
		 * polling for up to LONE_SPIN times as long; the extension
		 * ends as soon as another connection starts a request. */
		found = cf_spin_poll(c->fd, srv->spin_us, &never, 0) ||
		    (atomic_load(&srv->busy) == 0 &&
		    cf_spin_poll(c->fd, srv->spin_us * (LONE_SPIN - 1),
		    &srv->busy, 0));
		goto done;
	}
	if (atomic_load(&srv->busy) != 0 || atomic_load(&srv->spinning))
		return;
	if ((cpu = sched_getcpu()) < 0 ||
	    getsockopt(c->fd, SOL_SOCKET, SO_INCOMING_CPU, &in_cpu, &sl) != 0 ||
	    in_cpu < 0 || in_cpu == cpu)
		return;
	if (!atomic_compare_exchange_strong(&srv->spinning, &no, true))
		return;
	found = cf_spin_poll(c->fd, srv->spin_us, &srv->busy, 0);
	atomic_store(&srv->spinning, false);
done:
	if (found) {
		c->spin_backoff = 0;
	} else if (c->local || atomic_load(&srv->busy) == 0) {
		c->spin_backoff = c->spin_backoff == 0 ? 1 :
		    c->spin_backoff >= 64 ? 64 : c->spin_backoff * 2;
		c->spin_skip = c->spin_backoff;
	}
}

static int conn_serve_frame(struct conn *c, const uint8_t *hdr);

/* One request: 0 to go on, -1 to close. */
static int
conn_serve_one(struct conn *c)
{
	struct cf_server *srv = c->srv;
	uint8_t hdr[CF_FRAME_HDR];
	int rc;

	/* Replies held back for pipelined requests leave before any read
	 * that might wait for the socket (see conn_serve_frame). */
	if (conn_pending(c) < CF_FRAME_HDR && conn_flush(c) != 0)
		return -1;
	conn_spin(c);
	if (conn_read(c, hdr, sizeof(hdr), true) != 0)
		return -1;
	atomic_fetch_add(&srv->busy, 1);
	rc = conn_serve_frame(c, hdr);
	atomic_fetch_sub(&srv->busy, 1);
	return rc;
}

/* The rest of a request whose header is read: 0 to go on, -1 to close. */
static int
conn_serve_frame(struct conn *c, const uint8_t *hdr)
{
	struct cf_server *srv = c->srv;
	uint8_t *frame = NULL, *out = NULL;
	size_t len, out_len = 0;
	int rc = -1;

	len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 |
	    (size_t)hdr[2] << 8 | hdr[3];
	if (len == 0 || len > srv->max_frame) {
		log_info("conn %llu (%s): bad frame: %s",
		    (unsigned long long)c->id, c->peer,
		    len == 0 ? "empty" : "too large");
		conn_send_error(c, len == 0 ? COFFER_E_FORMAT : COFFER_E_TOOBIG,
		    len == 0 ? "empty frame" : "frame too large");
		conn_linger(c);
		return -1;
	}
	if ((frame = malloc(len)) == NULL) {
		log_error("conn %llu: out of memory for a %zu-byte frame",
		    (unsigned long long)c->id, len);
		return -1;
	}
	if (conn_pending(c) < len && conn_flush(c) != 0)
		goto out;
	if (conn_read(c, frame, len, false) != 0)
		goto out;
	while (sem_wait(&srv->slots) != 0 && errno == EINTR)
		;
	tl_slots = &srv->slots;
	if (cf_cmd_dispatch(srv->node, &c->sess, frame, len, &out,
	    &out_len) != 0 && out == NULL)
		log_error("conn %llu: no response (dispatch failed)",
		    (unsigned long long)c->id);
	tl_slots = NULL;
	sem_post(&srv->slots);
	/* Requests carry passwords and plaintext: wipe before freeing. */
	cf_cleanse(frame, len);
	free(frame);
	frame = NULL;
	/*
	 * No response at all (OOM): the client would wait forever.
	 *
	 * Pipelining: when the next request is already here (decrypted in
	 * SSL's buffer, because the client sent several at once), its reply
	 * joins this one and both leave in one write(). The reply is held
	 * only while the next read cannot wait on the socket: SSL_pending()
	 * counts bytes already decrypted, and conn_serve_one and the body
	 * read above flush first whenever what they need is not all there.
	 */
	if (out != NULL && conn_send(c, out, out_len,
	    conn_pending(c) < CF_FRAME_HDR) == 0)
		rc = 0;
out:
	if (frame != NULL) {
		cf_cleanse(frame, len);
		free(frame);
	}
	if (out != NULL) {
		cf_cleanse(out, out_len);
		free(out);
	}
	return rc;
}

/* Frees the SSL object and the BIOs (never the socket). */
static void
conn_free_io(struct conn *c)
{
	if (c->ssl != NULL) {
		SSL_free(c->ssl);	/* frees its BIOs */
	} else {
		BIO_free_all(c->rbio);	/* one chain both ways */
	}
	c->ssl = NULL;
	c->rbio = c->wbio = NULL;
}

static void
conn_unlink(struct conn *c)
{
	struct cf_server *srv = c->srv;

	pthread_mutex_lock(&srv->mu);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	srv->nconns--;
	pthread_mutex_unlock(&srv->mu);
	atomic_fetch_sub(&srv->node->connections, 1);
}

static void *
conn_main(void *arg)
{
	struct conn *c = arg;
	struct cf_server *srv = c->srv;
	struct timeval none = { 0 };

	if (c->plain || conn_handshake(c)) {
		/* The sweep timed the handshake; no idle timeout after it. */
		setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &none,
		    sizeof(none));
		while (conn_serve_one(c) == 0)
			;
	}
	conn_unlink(c);
	log_debug("conn %llu (%s): closed", (unsigned long long)c->id,
	    c->peer);
	/* The last session of a client instance takes its session objects
	 * and operations with it. */
	cf_session_destroy(&c->sess);
	conn_free_io(c);
	close(c->fd);
	free(c);
	ERR_clear_error();
	OPENSSL_thread_stop();
	/* Last touch of the server: stop_poll may free it after this. */
	atomic_fetch_sub(&srv->live, 1);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Accepting (loop thread)                                             */

static void
peer_name(int fd, char *out, size_t outlen)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char ip[INET6_ADDRSTRLEN] = "?";

	snprintf(out, outlen, "?");
	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_UNIX) {
		/* Who is on the other end, as the kernel saw it at
		 * connect(): the audit log's peer for local clients. */
		struct ucred cr;
		socklen_t cl = sizeof(cr);

		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0)
			snprintf(out, outlen, "unix:uid=%u,pid=%d",
			    (unsigned)cr.uid, (int)cr.pid);
		else
			snprintf(out, outlen, "unix");
	} else if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		snprintf(out, outlen, "%s:%u", ip, ntohs(a->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		snprintf(out, outlen, "[%s]:%u", ip, ntohs(a->sin6_port));
	}
}

/* Sets up the SSL object on the loop thread (srv->ctx lives here). */
/*
 * A plain connection reads and writes through one wiping buffer BIO
 * (common/wipebio.c: 64 KiB read-ahead and write buffers whose bytes are
 * wiped once consumed or sent): without TLS those buffers hold passwords,
 * plaintext and random bytes in clear.
 */
static int
conn_new_plain(struct conn *c)
{
	BIO *s = NULL, *w = NULL;

	if ((s = BIO_new_socket(c->fd, BIO_NOCLOSE)) == NULL ||
	    (w = cf_wipebio_new(WBUF_SIZE)) == NULL) {
		log_ssl_error("BIO_new");
		BIO_free(s);
		BIO_free(w);
		return COFFER_E_NOMEM;
	}
	c->rbio = c->wbio = BIO_push(w, s);
	c->plain = true;
	atomic_store(&c->handshaken, true);
	return 0;
}

static int
conn_new(struct cf_server *srv, int fd, bool plain, struct conn **out)
{
	struct timeval tv = { .tv_sec = HANDSHAKE_TIMEOUT_MS / 1000 };
	struct conn *c;
	BIO *rb = NULL, *sb = NULL, *buf = NULL;
	int one = 1;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return COFFER_E_NOMEM;
	c->srv = srv;
	c->fd = fd;
	if (plain) {
		if (conn_new_plain(c) != 0) {
			free(c);
			return COFFER_E_NOMEM;
		}
		*out = c;
		return 0;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A silent client cannot hold the handshake beyond this; the sweep
	 * also ends slow drips. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* Two socket BIOs on the same descriptor: reads straight from the
	 * socket (read-ahead in SSL), writes through a buffer flushed once
	 * per reply. */
	if ((c->ssl = SSL_new(srv->ctx)) == NULL ||
	    (rb = BIO_new_socket(fd, BIO_NOCLOSE)) == NULL ||
	    (sb = BIO_new_socket(fd, BIO_NOCLOSE)) == NULL ||
	    (buf = BIO_new(BIO_f_buffer())) == NULL ||
	    BIO_set_write_buffer_size(buf, WBUF_SIZE) != 1) {
		log_ssl_error("SSL_new");
		BIO_free(rb);
		BIO_free(sb);
		BIO_free(buf);
		SSL_free(c->ssl);
		free(c);
		return COFFER_E_NOMEM;
	}
	c->wbio = BIO_push(buf, sb);
	SSL_set_bio(c->ssl, rb, c->wbio);
	SSL_set_accept_state(c->ssl);
	*out = c;
	return 0;
}

static void
on_accept(uv_poll_t *p, int status, int events)
{
	struct cf_server *srv = p->data;
	bool plain = p == &srv->upoll;
	int lfd = plain ? srv->ufd : srv->lfd;
	pthread_attr_t attr;
	sigset_t all, old;
	struct conn *c;
	bool full;
	int fd;

	(void)events;
	if (status < 0) {
		log_warn("accept: %s", uv_strerror(status));
		return;
	}
	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		pthread_mutex_lock(&srv->mu);
		full = srv->nconns >= srv->node->cfg.max_connections;
		pthread_mutex_unlock(&srv->mu);
		if (srv->stopping || (!plain && srv->ctx == NULL) || full) {
			log_warn("connection refused: %s",
			    !plain && srv->ctx == NULL ? "no TLS identity yet" :
			    srv->stopping ? "stopping" :
			    "connection limit reached");
			close(fd);
			continue;
		}
		if (conn_new(srv, fd, plain, &c) != 0) {
			close(fd);
			continue;
		}
		c->id = ++srv->next_id;
		c->accepted_ms = cf_now_ms();
		peer_name(fd, c->peer, sizeof(c->peer));
		c->local = plain || cf_sock_peer_local(fd);
		cf_session_init(&c->sess, c->id, c->peer);
		pthread_mutex_lock(&srv->mu);
		c->next = srv->conns;
		if (srv->conns != NULL)
			srv->conns->prev = c;
		srv->conns = c;
		srv->nconns++;
		pthread_mutex_unlock(&srv->mu);
		atomic_fetch_add(&srv->node->connections, 1);
		atomic_fetch_add(&srv->live, 1);
		log_debug("conn %llu: accepted from %s",
		    (unsigned long long)c->id, c->peer);

		/* Connection threads take no signals: libuv's signal
		 * handling stays on the loop. */
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, CONN_STACK);
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		if (pthread_create(&(pthread_t){0}, &attr, conn_main, c) !=
		    0) {
			log_error("conn %llu: cannot start its thread",
			    (unsigned long long)c->id);
			conn_unlink(c);
			cf_session_destroy(&c->sess);
			conn_free_io(c);
			close(c->fd);
			free(c);
			atomic_fetch_sub(&srv->live, 1);
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_attr_destroy(&attr);
	}
}

/* ------------------------------------------------------------------ */
/* Timers, start and stop                                              */

/* Ends every connection, or only those whose handshake is overdue. */
static void
shut_conns(struct cf_server *srv, bool only_slow_handshakes)
{
	uint64_t now = cf_now_ms();
	struct conn *c;

	pthread_mutex_lock(&srv->mu);
	for (c = srv->conns; c != NULL; c = c->next) {
		if (c->shut)
			continue;
		if (only_slow_handshakes && (atomic_load(&c->handshaken) ||
		    now - c->accepted_ms <= HANDSHAKE_TIMEOUT_MS))
			continue;
		if (only_slow_handshakes)
			log_info("conn %llu (%s): handshake timeout",
			    (unsigned long long)c->id, c->peer);
		c->shut = true;
		shutdown(c->fd, SHUT_RDWR);
	}
	pthread_mutex_unlock(&srv->mu);
}

static void
on_sweep(uv_timer_t *t)
{
	shut_conns(t->data, true);
}

static int
listen_on(struct cf_server *srv)
{
	struct addrinfo hints = { 0 }, *ai = NULL, *a;
	char host[256], port_s[8];
	uint16_t port;
	int rc = COFFER_E_IO, e, fd = -1, one = 1;

	if (cf_parse_host_port(srv->node->cfg.listen, host, sizeof(host),
	    &port) != 0) {
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
	for (a = ai; a != NULL; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 &&
		    listen(fd, 511) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	if (fd < 0)
		log_error("listen on %s: %s", srv->node->cfg.listen,
		    strerror(errno));
	freeaddrinfo(ai);
	if (fd < 0)
		return rc;
	srv->lfd = fd;
	if (uv_poll_init(srv->loop, &srv->lpoll, fd) != 0) {
		log_error("listen on %s: cannot poll", srv->node->cfg.listen);
		return rc;
	}
	srv->lpoll.data = srv;
	srv->lpoll_open = true;
	srv->handles++;
	if (uv_poll_start(&srv->lpoll, UV_READABLE, on_accept) != 0)
		return rc;
	log_info("listening on %s (TLS 1.3)", srv->node->cfg.listen);
	return 0;
}

/*
 * The local listener: a unix stream socket carrying the same frames
 * without TLS (docs/PROTOCOL.md section 1). Whoever can connect() to it
 * can talk to the node, as anyone can reach the TCP port; every request
 * past get_info still needs a login. What TLS gives a remote client --
 * the node is the node -- comes here from the file system: the socket's
 * directory must not be writable by group or others (a user who could
 * write there could put a socket of their own in its place and collect
 * passwords), and libcoffer checks the same before it connects. A stale
 * socket file left by a node that died is replaced; a live one is not.
 */
static int
listen_unix(struct cf_server *srv)
{
	const char *path = srv->node->cfg.unix_socket;
	struct sockaddr_un sa;
	char dir[sizeof(sa.sun_path)];
	struct stat st;
	int fd = -1, probe;

	if (path == NULL)
		return 0;
	if (cf_unix_path(path, &sa, dir) != 0) {
		log_error("unix_socket \"%s\": path too long", path);
		return COFFER_E_CONFIG;
	}
	errno = 0;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		log_error("unix_socket \"%s\": directory %s: %s", path, dir,
		    errno != 0 ? strerror(errno) : "not a directory");
		return COFFER_E_CONFIG;
	}
	/* libcoffer accepts only a directory owned by root or the node's
	 * user: refuse the same here rather than serve nobody. */
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		log_error("unix_socket \"%s\": directory %s belongs to uid "
		    "%u, neither root nor this node's user (clients would "
		    "refuse the socket)", path, dir, (unsigned)st.st_uid);
		return COFFER_E_CONFIG;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		log_error("unix_socket \"%s\": directory %s is writable by "
		    "group or others (mode %04o): another user could put "
		    "their own socket there; use a directory only the node's "
		    "user can write", path, dir, (unsigned)(st.st_mode &
		    07777));
		return COFFER_E_CONFIG;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_error("unix_socket \"%s\": exists and is not a "
			    "socket", path);
			return COFFER_E_CONFIG;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa,
		    sizeof(sa)) == 0) {
			close(probe);
			log_error("unix_socket \"%s\": another process is "
			    "listening there", path);
			return COFFER_E_IO;
		}
		if (probe >= 0)
			close(probe);
		log_info("unix_socket \"%s\": replacing a stale socket",
		    path);
		(void)unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	/* Nobody can connect before listen(): the mode is set in time. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto fail;
	if (chmod(path, srv->node->cfg.unix_socket_mode) != 0 ||
	    lstat(path, &st) != 0 || listen(fd, 511) != 0) {
		(void)unlink(path);
		goto fail;
	}
	srv->udev = st.st_dev;
	srv->uino = st.st_ino;
	srv->ufd = fd;
	if (uv_poll_init(srv->loop, &srv->upoll, fd) != 0) {
		log_error("unix_socket \"%s\": cannot poll", path);
		return COFFER_E_IO;
	}
	srv->upoll.data = srv;
	srv->upoll_open = true;
	srv->handles++;
	if (uv_poll_start(&srv->upoll, UV_READABLE, on_accept) != 0)
		return COFFER_E_IO;
	log_info("listening on unix:%s (mode %04o, no TLS)", path,
	    srv->node->cfg.unix_socket_mode);
	return 0;
fail:
	log_error("unix_socket \"%s\": %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return COFFER_E_IO;
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
	struct stat st;

	if (srv->lfd >= 0)
		close(srv->lfd);
	if (srv->ufd >= 0) {
		close(srv->ufd);
		/* Only the file we made: a successor may have replaced it. */
		if (lstat(srv->node->cfg.unix_socket, &st) == 0 &&
		    st.st_dev == srv->udev && st.st_ino == srv->uino)
			(void)unlink(srv->node->cfg.unix_socket);
	}
	SSL_CTX_free(srv->ctx);
	pthread_mutex_destroy(&srv->mu);
	if (srv->nslots > 0)
		sem_destroy(&srv->slots);
	free(srv);
}

static void
maybe_finish(struct cf_server *srv)
{
	void (*cb)(void *);
	void *arg;

	if (!srv->stopping || srv->finished || srv->handles != 0 ||
	    atomic_load(&srv->live) != 0)
		return;
	srv->finished = true;
	cb = srv->stop_cb;
	arg = srv->stop_arg;
	server_free(srv);
	log_info("server stopped");
	if (cb != NULL)
		cb(arg);
}

static unsigned
slot_count(const struct cf_node *node)
{
	unsigned n = node->cfg.workers;
	long ncpu;

	if (n == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		if (ncpu < 1)
			ncpu = 1;
		n = 2 * (unsigned)(ncpu > 64 ? 64 : ncpu) + 2;
	}
	return n > MAX_WORKERS ? MAX_WORKERS : n;
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
	srv->lfd = -1;
	srv->ufd = -1;
	srv->max_frame = node->cfg.max_frame;
	pthread_mutex_init(&srv->mu, NULL);
	srv->nslots = slot_count(node);
	srv->spin_us = node->cfg.spin_us;
	if (sem_init(&srv->slots, 0, srv->nslots) != 0) {
		srv->nslots = 0;
		server_free(srv);
		return COFFER_E_INTERNAL;
	}
	if (der != NULL)
		rc = build_ctx(der, der_len, cert_pem, &srv->ctx);
	else
		rc = cf_server_reload_tls(srv);
	if (rc != 0) {
		server_free(srv);
		return rc;
	}
	uv_timer_init(srv->loop, &srv->sweep);
	srv->sweep.data = srv;
	srv->handles++;
	uv_timer_start(&srv->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
	log_info("%u requests at once (\"workers\"), a thread per connection",
	    srv->nslots);
	if ((rc = listen_on(srv)) != 0 || (rc = listen_unix(srv)) != 0) {
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

	/* Connection threads may be waiting for a raft commit, which needs
	 * this loop running: poll instead of joining in place. */
	if (atomic_load(&srv->live) != 0)
		return;
	uv_timer_stop(&srv->sweep);
	uv_close((uv_handle_t *)&srv->sweep, on_handle_closed);
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
	if (srv->lpoll_open) {
		srv->lpoll_open = false;
		uv_poll_stop(&srv->lpoll);
		uv_close((uv_handle_t *)&srv->lpoll, on_handle_closed);
	}
	if (srv->upoll_open) {
		srv->upoll_open = false;
		uv_poll_stop(&srv->upoll);
		uv_close((uv_handle_t *)&srv->upoll, on_handle_closed);
	}
	shut_conns(srv, false);
	uv_timer_stop(&srv->sweep);
	uv_timer_start(&srv->sweep, stop_poll, 0, 10);
}
