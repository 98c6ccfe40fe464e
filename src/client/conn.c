/* SPDX-License-Identifier: Apache-2.0 */
/*
 * conn.c: one TLS 1.3 connection to a node: non-blocking connect with a
 * timeout, TCP_NODELAY, handshake with either CA verification (trust
 * anchor only, never the system store) or a certificate pin checked with
 * CRYPTO_memcmp after the handshake, and framed blocking-with-timeout I/O.
 * The socket BIO sends with MSG_NOSIGNAL so a peer that went away can
 * never raise SIGPIPE in the host process.
 *
 * Every send() and recv() is non-blocking (MSG_DONTWAIT) and waits in
 * poll() with the request's deadline, except one: waiting for a reply,
 * recv() blocks in the socket (SO_RCVTIMEO bounds each wait to
 * CF_BLOCK_SLICE_MS, and it blocks only while more than that is left
 * before the deadline). That is one system call per reply where
 * poll() + recv() were two (docs/PERFORMANCE.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "client/client.h"
#include "common/secmem.h"
#include "common/util.h"
#include "common/wipebio.h"

/* Bytes of TLS records gathered before a send(). */
#define CF_WBUF_SIZE (64 * 1024)

/* Longest single blocking recv() while waiting for a reply (SO_RCVTIMEO). */
#define CF_BLOCK_SLICE_MS 1000

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The OpenSSL error queue of the host thread is left as we found it empty. */
static void
ssl_reason(char *buf, size_t n)
{
	unsigned long e = ERR_peek_last_error();

	if (e != 0)
		ERR_error_string_n(e, buf, n);
	else
		cf_strlcpy(buf, "unknown TLS error", n);
	ERR_clear_error();
}

/* --- a socket BIO that never raises SIGPIPE ------------------------------ */

static BIO_METHOD *nosig_meth;
static pthread_once_t nosig_once = PTHREAD_ONCE_INIT;

static int remaining_ms(uint64_t deadline);

/* True if a recv() on c may block now: see the comment at the top. */
static bool
read_may_block(const struct cf_conn *c)
{
	return c->can_block && c->rd_block &&
	    remaining_ms(c->rd_deadline) > CF_BLOCK_SLICE_MS;
}

static int
nosig_write(BIO *b, const char *p, int n)
{
	struct cf_conn *c = BIO_get_data(b);
	ssize_t r;

	BIO_clear_retry_flags(b);
	r = send(c->fd, p, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		BIO_set_retry_write(b);
	return (int)r;
}

static int
nosig_read(BIO *b, char *p, int n)
{
	struct cf_conn *c = BIO_get_data(b);
	ssize_t r;

	BIO_clear_retry_flags(b);
	r = recv(c->fd, p, (size_t)n, read_may_block(c) ? 0 : MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		BIO_set_retry_read(b);
	return (int)r;
}

static long
nosig_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	default:
		return 0;
	}
}

static int
nosig_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static void
nosig_init(void)
{
	BIO_METHOD *m;

	m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
	    "coffer socket");
	if (m == NULL)
		return;
	if (BIO_meth_set_write(m, nosig_write) != 1 ||
	    BIO_meth_set_read(m, nosig_read) != 1 ||
	    BIO_meth_set_ctrl(m, nosig_ctrl) != 1 ||
	    BIO_meth_set_create(m, nosig_create) != 1) {
		BIO_meth_free(m);
		return;
	}
	nosig_meth = m;
}

static BIO *
nosig_bio(struct cf_conn *c)
{
	BIO *b;

	if (pthread_once(&nosig_once, nosig_init) != 0 || nosig_meth == NULL)
		return NULL;
	if ((b = BIO_new(nosig_meth)) == NULL)
		return NULL;
	BIO_set_data(b, c);
	return b;
}

/* --- TLS context ---------------------------------------------------------- */

/* Pin mode: any chain is accepted here; the pin is compared afterwards. */
static int
accept_any(int ok, X509_STORE_CTX *x)
{
	return 1;
}

int
cf_tls_ctx_new(const struct coffer_config *cfg, SSL_CTX **out, char *err,
    size_t errlen)
{
	SSL_CTX *ctx = NULL;
	char why[160];
	int rc = COFFER_E_INTERNAL;

	*out = NULL;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		seterr(err, errlen, "cannot create TLS context");
		rc = COFFER_E_NOMEM;
		goto out;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
		seterr(err, errlen, "cannot restrict TLS to version 1.3");
		rc = COFFER_E_TLS;
		goto out;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	/* Take whatever the socket has: fewer recv() calls per response. */
	SSL_CTX_set_read_ahead(ctx, 1);
	if (cfg != NULL && cfg->have_pin) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any);
	} else if (cfg != NULL && cfg->trust_anchor != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, cfg->trust_anchor,
		    NULL) != 1) {
			ssl_reason(why, sizeof(why));
			seterr(err, errlen, "cannot load trust anchor %s: %s",
			    cfg->trust_anchor, why);
			rc = COFFER_E_CONFIG;
			goto out;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else if (cfg != NULL && cf_config_all_unix(cfg)) {
		/* No TLS server to trust: any TLS peer fails verification
		 * (no anchor is loaded). */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else if (cfg != NULL) {
		seterr(err, errlen, "neither trust_anchor nor pin_sha256 is "
		    "set: refusing to trust any certificate");
		rc = COFFER_E_CONFIG;
		goto out;
	} else {
		/* coffer_fetch_fingerprint: no verification by design. */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	if (cfg != NULL && cfg->client_cert != NULL) {
		if (SSL_CTX_use_certificate_chain_file(ctx,
		    cfg->client_cert) != 1) {
			ssl_reason(why, sizeof(why));
			seterr(err, errlen, "cannot load client certificate "
			    "%s: %s", cfg->client_cert, why);
			rc = COFFER_E_CONFIG;
			goto out;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, cfg->client_key,
		    SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1) {
			ssl_reason(why, sizeof(why));
			seterr(err, errlen, "cannot load client key %s: %s",
			    cfg->client_key, why);
			rc = COFFER_E_CONFIG;
			goto out;
		}
	}
	*out = ctx;
	ctx = NULL;
	rc = 0;
out:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

/* --- connect -------------------------------------------------------------- */

static int
remaining_ms(uint64_t deadline)
{
	uint64_t now = cf_now_ms();

	if (now >= deadline)
		return 0;
	if (deadline - now > 3600000)
		return 3600000;
	return (int)(deadline - now);
}

/*
 * Before sleeping for a reply, poll without blocking for up to spin_us
 * (the configuration's "spin_us", default 3000, 0 = never), yielding the
 * CPU between polls. A thread that sleeps pays for being woken (and the
 * node for waking it): on a virtual machine an idle CPU halts and the
 * wake-up is an inter-processor interrupt, tens of microseconds per
 * request (over 100 on some). The default covers an RSA-2048 signature
 * on a slow, noisy machine (250 us on one benchmark VM, 650-1,600 us on
 * another): 1-thread RSA p50 373 -> 286 us on the first with 500,
 * 785-844 -> 720 us on the second with 1000; with 1000 a fifth of the
 * replies there still missed the spin (client context switches
 * 250/s -> 50/s with 3000; RSA p99 1,601-1,630 -> 1,476-1,525 us;
 * docs/PERFORMANCE.md).
 *
 * Only the process's lone request in flight (between its write and its
 * reply) spins: with two or more, client and node threads keep the CPUs
 * busy, nothing halts, and the spinner's sched_yield() calls only take
 * CPU from whoever computes the replies. (The rule before, "no other
 * thread already waiting", let one of two busy threads spin.) This holds
 * for a node on this machine too. Sessions 9-10 let every waiter spin
 * there (unix socket, loopback or own-address TCP); on the benchmark VM
 * in session 12 (Linux 6.18, 2 vCPUs) that rule halved RSA-2048
 * throughput at 2 threads (1,042 against 2,137/s) and cost ECDSA per
 * call a third (TLS 11,706 against 17,538/s, socket 16,615 against
 * 23,260/s; interleaved rounds, docs/PERFORMANCE.md), while in session
 * 10 it had only matched this rule in absolute figures.
 */
static atomic_uint inflight;

void
cf_conn_req_begin(void)
{
	atomic_fetch_add(&inflight, 1);
}

void
cf_conn_req_end(void)
{
	atomic_fetch_sub(&inflight, 1);
}

unsigned
cf_conn_inflight(void)
{
	return atomic_load(&inflight);
}


/* Waits for events on fd until the deadline: 0, COFFER_E_TIMEOUT, E_IO. */
static int
wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd;
	int r, ms;

	for (;;) {
		if ((ms = remaining_ms(deadline)) == 0)
			return COFFER_E_TIMEOUT;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, ms);
		if (r > 0)
			return 0;
		if (r == 0)
			return COFFER_E_TIMEOUT;
		if (errno != EINTR)
			return COFFER_E_IO;
	}
}

static int
tcp_connect(const char *host_port, uint64_t deadline, int *fdp, char *err,
    size_t errlen)
{
	struct addrinfo hints = {0}, *res = NULL, *ai;
	char host[256], port_s[8];
	uint16_t port;
	int fd = -1, r, soerr, one = 1, rc = COFFER_E_CONNECT;
	socklen_t sl;
	const char *why = "no address";

	*fdp = -1;
	if (cf_parse_host_port(host_port, host, sizeof(host), &port) != 0 ||
	    port == 0) {
		seterr(err, errlen, "%s: not host:port", host_port);
		return COFFER_E_CONFIG;
	}
	snprintf(port_s, sizeof(port_s), "%u", (unsigned)port);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	if ((r = getaddrinfo(host, port_s, &hints, &res)) != 0) {
		seterr(err, errlen, "%s: %s", host_port, gai_strerror(r));
		return COFFER_E_CONNECT;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			why = strerror(errno);
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS) {
			why = strerror(errno);
			goto next;
		}
		if ((r = wait_fd(fd, POLLOUT, deadline)) != 0) {
			why = r == COFFER_E_TIMEOUT ? "connection timed out" :
			    strerror(errno);
			goto next;
		}
		soerr = 0;
		sl = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
			soerr = errno;
		if (soerr == 0)
			break;
		why = strerror(soerr);
next:
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		seterr(err, errlen, "%s: %s", host_port, why);
		goto out;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*fdp = fd;
	rc = 0;
out:
	freeaddrinfo(res);
	return rc;
}

/*
 * Connects to a node's local socket ("unix:PATH"). TLS is not used there,
 * so what the certificate check does for TCP -- this is the node -- is
 * done with the file system and the kernel: the socket's directory must
 * be writable by nobody but its owner, that owner must be root or the
 * node's user, and the socket file must belong to the process that
 * listens on it (SO_PEERCRED). A user who could place a socket of their
 * own at PATH fails one of these, and no password is sent to them.
 */
static int
unix_connect(const char *addr, uint64_t deadline, int *fdp, char *err,
    size_t errlen)
{
	const char *path = addr + 5;
	struct sockaddr_un sa;
	struct timeval tv;
	struct ucred cr;
	struct stat dst, sst;
	char dir[sizeof(sa.sun_path)];
	socklen_t cl = sizeof(cr);
	int fd, ms;

	*fdp = -1;
	if (cf_unix_path(path, &sa, dir) != 0) {
		seterr(err, errlen, "%s: not unix:PATH", addr);
		return COFFER_E_CONFIG;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		seterr(err, errlen, "%s: %s", addr, strerror(errno));
		return COFFER_E_CONNECT;
	}
	/* connect() waits only while the node's backlog is full. */
	ms = remaining_ms(deadline);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (errno == EINTR)
			continue;
		seterr(err, errlen, "%s: %s", addr, errno == EAGAIN ?
		    "the node's backlog is full" : strerror(errno));
		close(fd);
		return COFFER_E_CONNECT;
	}
	tv.tv_sec = tv.tv_usec = 0;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) != 0 ||
	    stat(dir, &dst) != 0 || lstat(path, &sst) != 0) {
		seterr(err, errlen, "%s: cannot check who serves it: %s", addr,
		    strerror(errno));
		close(fd);
		return COFFER_E_CONNECT;
	}
	if ((dst.st_mode & (S_IWGRP | S_IWOTH)) != 0 ||
	    (dst.st_uid != 0 && dst.st_uid != cr.uid) ||
	    !S_ISSOCK(sst.st_mode) || sst.st_uid != cr.uid) {
		seterr(err, errlen, "%s: refusing the socket: its directory "
		    "must be writable only by its owner (root or the node's "
		    "user) and the socket must belong to the node's user "
		    "(directory mode %04o owner %u, socket owner %u, node "
		    "user %u)", addr, (unsigned)(dst.st_mode & 07777),
		    (unsigned)dst.st_uid, (unsigned)sst.st_uid,
		    (unsigned)cr.uid);
		close(fd);
		return COFFER_E_TLS;
	}
	*fdp = fd;
	return 0;
}

/*
 * Makes fd blocking with each recv() bounded by CF_BLOCK_SLICE_MS. Every
 * call but the reply wait passes MSG_DONTWAIT, so nothing else changes.
 * False (fd left non-blocking, replies waited for in poll) on failure.
 */
static bool
set_blocking(int fd)
{
	struct timeval tv = {
		.tv_sec = CF_BLOCK_SLICE_MS / 1000,
		.tv_usec = (CF_BLOCK_SLICE_MS % 1000) * 1000,
	};
	int fl;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    (fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
		return false;
	return true;
}

/*
 * Waits until the socket has input: spins first (cf_spin_poll while this
 * is the process's lone request in flight), then sleeps,
 * in poll() or, where the next recv() may block, in that recv().
 */
static int
wait_input(struct cf_conn *c, uint64_t deadline)
{
	/* A spin that found nothing makes the next ones wait: replies on
	 * this connection take longer than spin_us (RSA-4096, bulk). */
	if (c->spin_skip > 0) {
		c->spin_skip--;
	} else if (c->spin_us > 0) {
		if (cf_spin_poll(c->fd, c->spin_us, &inflight, 1)) {
			c->spin_backoff = 0;
			return 0;
		}
		c->spin_backoff = c->spin_backoff == 0 ? 1 :
		    c->spin_backoff >= 64 ? 64 : c->spin_backoff * 2;
		c->spin_skip = c->spin_backoff;
	}
	if (read_may_block(c))
		return 0;
	return wait_fd(c->fd, POLLIN, deadline);
}

/* Waits for what SSL asked for after a failed call; rc for other errors. */
static int
ssl_wait(struct cf_conn *c, int ret, uint64_t deadline, int *sslerr)
{
	int e = SSL_get_error(c->ssl, ret);

	*sslerr = e;
	if (e == SSL_ERROR_WANT_READ)
		return wait_input(c, deadline);
	if (e == SSL_ERROR_WANT_WRITE)
		return wait_fd(c->fd, POLLOUT, deadline);
	if (e == SSL_ERROR_ZERO_RETURN)
		return COFFER_E_CLOSED;
	if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 &&
	    (errno == 0 || errno == ECONNRESET || errno == EPIPE))
		return COFFER_E_CLOSED;
	return COFFER_E_IO;
}

/* Waits for what a failed BIO call on a plain connection needs. */
static int
plain_wait(struct cf_conn *c, BIO *b, uint64_t deadline)
{
	if (BIO_should_retry(b)) {
		if (BIO_should_read(b))
			return wait_input(c, deadline);
		return wait_fd(c->fd, POLLOUT, deadline);
	}
	if (errno == 0 || errno == ECONNRESET || errno == EPIPE)
		return COFFER_E_CLOSED;
	return COFFER_E_IO;
}

/* SSL_write_ex / SSL_read_ex, or the buffer BIOs of a plain connection;
 * on failure, the wait they ask for (or why not). */
static int
io_write(struct cf_conn *c, const uint8_t *p, size_t n, size_t *w)
{
	return c->plain ? BIO_write_ex(c->wbio, p, n, w) :
	    SSL_write_ex(c->ssl, p, n, w);
}

static int
io_read(struct cf_conn *c, uint8_t *p, size_t n, size_t *got)
{
	return c->plain ? BIO_read_ex(c->rbio, p, n, got) :
	    SSL_read_ex(c->ssl, p, n, got);
}

static int
io_wait(struct cf_conn *c, BIO *b, int ret, uint64_t deadline)
{
	int sslerr;

	return c->plain ? plain_wait(c, b, deadline) :
	    ssl_wait(c, ret, deadline, &sslerr);
}

/* Reply bytes already read from the socket (decrypted, for TLS). */
static bool
io_has_pending(struct cf_conn *c)
{
	return c->plain ? BIO_ctrl_pending(c->rbio) > 0 :
	    SSL_has_pending(c->ssl) == 1;
}

int
cf_conn_peer_sha256(struct cf_conn *c, uint8_t out[32])
{
	X509 *x;
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int len, rc = COFFER_E_TLS;

	if (c->plain)
		return COFFER_E_TLS;	/* no certificate on a unix socket */
	if ((x = SSL_get0_peer_certificate(c->ssl)) == NULL)
		return COFFER_E_TLS;
	if ((len = i2d_X509(x, &der)) <= 0)
		goto out;
	if (EVP_Digest(der, (size_t)len, out, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32) {
		rc = COFFER_E_CRYPTO;
		goto out;
	}
	rc = 0;
out:
	OPENSSL_free(der);
	ERR_clear_error();
	return rc;
}

static void
conn_free_buf(struct cf_conn *c)
{
	if (c->buf != NULL) {
		cf_cleanse(c->buf, c->cap);
		free(c->buf);
	}
	c->buf = NULL;
	c->cap = 0;
}

int
cf_conn_buf(struct cf_conn *c, size_t n, uint8_t **p)
{
	uint8_t *nb;
	size_t cap;

	*p = NULL;
	if (n > c->cap) {
		cap = c->cap ? c->cap : 4096;
		while (cap < n)
			cap *= 2;
		/* The old contents were wiped after their use; no realloc:
		 * it could leave an unwiped copy behind. */
		if ((nb = malloc(cap)) == NULL)
			return COFFER_E_NOMEM;
		conn_free_buf(c);
		c->buf = nb;
		c->cap = cap;
	}
	*p = c->buf;
	return 0;
}

void
cf_conn_wipe_buf(struct cf_conn *c, size_t used)
{
	if (c->buf != NULL)
		cf_cleanse(c->buf, used < c->cap ? used : c->cap);
}

int
cf_conn_open(SSL_CTX *ctx, const char *host_port, const char *server_name,
    const uint8_t *pin, unsigned timeout_ms, struct cf_conn **out, char *err,
    size_t errlen)
{
	struct cf_conn *c = NULL;
	uint64_t deadline = cf_now_ms() + timeout_ms;
	uint8_t fp[32];
	char why[160];
	BIO *rbio = NULL, *sbio = NULL, *buf = NULL;
	int r, rc = COFFER_E_INTERNAL, sslerr;
	long vr;

	*out = NULL;
	ERR_clear_error();
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return COFFER_E_NOMEM;
	c->fd = -1;
	if (cf_is_unix_addr(host_port)) {
		if ((rc = unix_connect(host_port, deadline, &c->fd, err,
		    errlen)) != 0)
			goto out;
		c->can_block = set_blocking(c->fd);
		/* Plain frames: a read-ahead buffer and a write buffer
		 * flushed once per request, as TLS has, in one wiping BIO
		 * (common/wipebio.c): without TLS they hold passwords,
		 * plaintext and random bytes in clear. */
		if ((sbio = nosig_bio(c)) == NULL ||
		    (buf = cf_wipebio_new(CF_WBUF_SIZE)) == NULL) {
			BIO_free(sbio);
			BIO_free(buf);
			seterr(err, errlen, "cannot create socket buffers");
			rc = COFFER_E_NOMEM;
			goto out;
		}
		c->plain = true;
		c->rbio = c->wbio = BIO_push(buf, sbio);
		*out = c;
		c = NULL;
		rc = 0;
		goto out;
	}
	if ((rc = tcp_connect(host_port, deadline, &c->fd, err, errlen)) != 0)
		goto out;
	c->can_block = set_blocking(c->fd);
	/*
	 * Reads straight from the socket (read-ahead in SSL); writes through
	 * a buffer flushed once per request, so a large request is a few
	 * send() calls rather than one per 16 KiB record.
	 */
	if ((c->ssl = SSL_new(ctx)) == NULL ||
	    (rbio = nosig_bio(c)) == NULL ||
	    (sbio = nosig_bio(c)) == NULL ||
	    (buf = BIO_new(BIO_f_buffer())) == NULL ||
	    BIO_set_write_buffer_size(buf, CF_WBUF_SIZE) != 1) {
		BIO_free(rbio);
		BIO_free(sbio);
		BIO_free(buf);
		seterr(err, errlen, "cannot create TLS session");
		rc = COFFER_E_NOMEM;
		goto out;
	}
	c->wbio = BIO_push(buf, sbio);
	SSL_set_bio(c->ssl, rbio, c->wbio);
	SSL_set_connect_state(c->ssl);
	if (server_name != NULL) {
		if (SSL_set_tlsext_host_name(c->ssl, server_name) != 1 ||
		    (pin == NULL && SSL_set1_host(c->ssl, server_name) != 1)) {
			seterr(err, errlen, "invalid server_name");
			rc = COFFER_E_CONFIG;
			goto out;
		}
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_connect(c->ssl)) == 1)
			break;
		rc = ssl_wait(c, r, deadline, &sslerr);
		if (rc == 0)
			continue;
		if (rc == COFFER_E_TIMEOUT) {
			seterr(err, errlen, "%s: TLS handshake timed out",
			    host_port);
			rc = COFFER_E_CONNECT;
			goto out;
		}
		vr = SSL_get_verify_result(c->ssl);
		if (vr != X509_V_OK) {
			seterr(err, errlen, "%s: certificate verify failed: %s",
			    host_port, X509_verify_cert_error_string(vr));
		} else if (sslerr == SSL_ERROR_SSL) {
			ssl_reason(why, sizeof(why));
			seterr(err, errlen, "%s: TLS handshake failed: %s",
			    host_port, why);
		} else {
			seterr(err, errlen, "%s: connection closed during the "
			    "TLS handshake", host_port);
		}
		rc = COFFER_E_TLS;
		goto out;
	}
	if (SSL_version(c->ssl) != TLS1_3_VERSION) {
		seterr(err, errlen, "%s: not TLS 1.3", host_port);
		rc = COFFER_E_TLS;
		goto out;
	}
	if (pin != NULL) {
		if ((rc = cf_conn_peer_sha256(c, fp)) != 0) {
			seterr(err, errlen, "%s: no peer certificate",
			    host_port);
			rc = COFFER_E_TLS;
			goto out;
		}
		if (CRYPTO_memcmp(fp, pin, sizeof(fp)) != 0) {
			seterr(err, errlen, "%s: certificate fingerprint "
			    "mismatch", host_port);
			rc = COFFER_E_TLS;
			goto out;
		}
	}
	*out = c;
	c = NULL;
	rc = 0;
out:
	cf_conn_close(c);
	ERR_clear_error();
	return rc;
}

/* The BIOs of a plain connection (never the socket). */
static void
free_plain(struct cf_conn *c)
{
	if (c->plain) {
		BIO_free_all(c->rbio);	/* one chain both ways */
		c->rbio = c->wbio = NULL;
	}
}

void
cf_conn_close(struct cf_conn *c)
{
	if (c == NULL)
		return;
	free_plain(c);
	if (c->ssl != NULL) {
		/* Best effort close_notify; sends never block (MSG_DONTWAIT). */
		(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		ERR_clear_error();
	}
	if (c->fd >= 0)
		close(c->fd);
	conn_free_buf(c);
	free(c);
}

void
cf_conn_drop(struct cf_conn *c)
{
	if (c == NULL)
		return;
	free_plain(c);
	/* SSL_free sends nothing; our BIO never closes the descriptor. */
	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		ERR_clear_error();
	}
	if (c->fd >= 0)
		close(c->fd);
	conn_free_buf(c);
	free(c);
}

bool
cf_conn_stale(struct cf_conn *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	uint8_t b;
	size_t n = 0;
	int r, e;

	if (poll(&pfd, 1, 0) <= 0)
		return false;
	if (pfd.revents & (POLLERR | POLLNVAL))
		return true;
	/* Nothing may arrive between requests without TLS: EOF. */
	if (c->plain)
		return true;
	/*
	 * Readable: TLS 1.3 session tickets, a close_notify or EOF. Peek lets
	 * OpenSSL process records without consuming application data, of
	 * which there must be none between requests.
	 */
	ERR_clear_error();
	r = SSL_peek_ex(c->ssl, &b, 1, &n);
	if (r == 1) {
		ERR_clear_error();
		return true;
	}
	e = SSL_get_error(c->ssl, r);
	ERR_clear_error();
	return !(e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE);
}

int
cf_conn_write(struct cf_conn *c, const uint8_t *p, size_t n,
    uint64_t deadline, char *err, size_t errlen)
{
	size_t done = 0, w;
	int r, rc;

	/* One clear per request: successful calls and WANT_READ/WRITE leave
	 * the queue empty, and every failure path below clears it again
	 * (ERR_clear_error costs ~0.2 us; it was called 5 times a request,
	 * now twice: here and in cf_conn_read_frame). */
	ERR_clear_error();
	while (done < n) {
		errno = 0;
		w = 0;
		r = io_write(c, p + done, n - done, &w);
		if (r == 1) {
			done += w;
			continue;
		}
		if ((rc = io_wait(c, c->wbio, r, deadline)) != 0)
			goto fail;
	}
	for (;;) {
		errno = 0;
		if (BIO_flush(c->wbio) == 1)
			return 0;
		if (!BIO_should_retry(c->wbio)) {
			rc = COFFER_E_CLOSED;
			goto fail;
		}
		if ((rc = wait_fd(c->fd, POLLOUT, deadline)) != 0)
			goto fail;
	}
fail:
	ERR_clear_error();
	seterr(err, errlen, "%s", rc == COFFER_E_TIMEOUT ?
	    "timed out sending the request" :
	    "connection lost while sending");
	return rc;
}

static int
read_exact(struct cf_conn *c, uint8_t *p, size_t n, uint64_t deadline)
{
	size_t done = 0, got;
	int r, rc;

	/* cf_conn_read_frame cleared the error queue; see cf_conn_write. */
	while (done < n) {
		errno = 0;
		got = 0;
		r = io_read(c, p + done, n - done, &got);
		if (r == 1) {
			done += got;
			continue;
		}
		if ((rc = io_wait(c, c->rbio, r, deadline)) != 0) {
			ERR_clear_error();
			return rc;
		}
	}
	return 0;
}

int
cf_conn_read_frame(struct cf_conn *c, size_t max, uint64_t deadline,
    uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	uint8_t hdr[4], *p = NULL;
	uint32_t len;
	int rc;

	*out = NULL;
	*outlen = 0;
	ERR_clear_error();
	c->rd_block = true;
	c->rd_deadline = deadline;
	/* The reply is rarely there yet: wait before reading rather than
	 * after a read() that finds nothing (one system call less); the
	 * wait is the read itself where it may block. */
	if (!io_has_pending(c) &&
	    (rc = wait_input(c, deadline)) != 0)
		goto fail;
	rc = read_exact(c, hdr, sizeof(hdr), deadline);
	c->rd_block = false;
	if (rc != 0)
		goto fail;
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	if (len == 0) {
		seterr(err, errlen, "empty response frame");
		return COFFER_E_PROTO;
	}
	if (len > max) {
		seterr(err, errlen, "response frame of %u bytes exceeds the "
		    "limit", len);
		return COFFER_E_TOOBIG;
	}
	if ((rc = cf_conn_buf(c, len, &p)) != 0)
		return rc;
	c->rd_block = true;
	rc = read_exact(c, p, len, deadline);
	c->rd_block = false;
	if (rc != 0) {
		cf_conn_wipe_buf(c, len);
		goto fail;
	}
	*out = p;
	*outlen = len;
	return 0;
fail:
	c->rd_block = false;
	seterr(err, errlen, "%s", rc == COFFER_E_TIMEOUT ?
	    "timed out waiting for the response" :
	    "connection lost while waiting for the response");
	return rc;
}
