/* SPDX-License-Identifier: Apache-2.0 */
/*
 * t_tls.c: the "tls" target, the floor of any networked HSM on this
 * machine: the "openssl" target's operation run by a minimal server in
 * its own process (forked at open: a separate address space, like
 * cofferd) behind TLS 1.3 on 127.0.0.1, one server thread per
 * connection, each request and reply one length-prefixed frame of the
 * size an HSM protocol would carry (a digest in, a signature out; a
 * message in, the ciphertext out; a length in, the random bytes out).
 * No protocol, no authorization, no objects, no copies beyond TLS, the
 * same TLS settings as cofferd and libcoffer (read-ahead, writes through
 * a 64 KiB buffer flushed once per frame, TCP_NODELAY): what is left of
 * a Coffer figure against this one is Coffer's own overhead, and what
 * separates this one from "openssl" is the price of the transport.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "bench.h"

struct tls_priv {
	SSL_CTX		*sctx, *cctx;
	int		 lfd;		/* the server process's */
	struct sockaddr_in addr;
	pid_t		 child;
};

struct tw {			/* per workload (client side) */
	const struct workload	*wl;
};

struct tt {			/* per thread (client side) */
	SSL			*c;
	BIO			*cw;	/* buffered write BIO */
	int			 cfd;
	uint8_t			*req, *cin;
	size_t			 reqlen, replen;
};

/* Hello: which workload (its index in the table) and which thread. Any
 * local process can connect: an index past the table is refused. */
struct hello {
	uint32_t	wl;
	uint32_t	idx;
};

/* Frame sizes an HSM protocol carries for wl (payload bytes). */
static void
frame_sizes(const struct workload *wl, size_t *req, size_t *rep)
{
	size_t sig = wl->alg == WA_RSA ? (size_t)wl->bits / 8 :
	    wl->alg == WA_EC ? 2 * (((size_t)wl->bits + 7) / 8) : 64;
	size_t tbs = wl->alg == WA_RSA && !wl->pss ? 51 :
	    wl->alg == WA_EC && wl->bits == 384 ? 48 : 32;

	switch (wl->kind) {
	case WK_SIGN:
		*req = tbs;
		*rep = sig;
		break;
	case WK_VERIFY:
		*req = tbs + sig;
		*rep = 1;
		break;
	case WK_DERIVE:
		*req = 65;
		*rep = 8;	/* the derived key's handle */
		break;
	case WK_ENCRYPT:
		*req = wl->len;
		*rep = wl->len + (wl->alg == WA_AES_GCM ? 16 : 0);
		break;
	case WK_HMAC:
		*req = wl->len;
		*rep = 32;
		break;
	case WK_RANDOM:
		*req = 4;
		*rep = wl->len;
		break;
	default:		/* key generation: a template in, the
				 * public key (or a handle) out */
		*req = 64;
		*rep = wl->alg == WA_RSA ? (size_t)wl->bits / 8 + 40 :
		    wl->alg == WA_EC ? 91 : 8;
		break;
	}
}

static int
self_signed(SSL_CTX *sctx, X509_STORE *store)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *n;
	int ok = 0;

	if (k == NULL || x == NULL ||
	    X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -60) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
	    X509_set_pubkey(x, k) != 1 ||
	    (n = X509_get_subject_name(x)) == NULL ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, n) != 1 ||
	    X509_sign(x, k, EVP_sha256()) == 0 ||
	    SSL_CTX_use_certificate(sctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(sctx, k) != 1 ||
	    X509_STORE_add_cert(store, x) != 1)
		goto out;
	ok = 1;
 out:
	X509_free(x);
	EVP_PKEY_free(k);
	return ok ? 0 : -1;
}

/*
 * Reads from the socket, writes through a 64 KiB buffer (returned; the
 * caller flushes it after each frame), as cofferd and libcoffer do.
 */
static BIO *
buffered_bio(SSL *ssl, int fd)
{
	BIO *rb = BIO_new_socket(fd, BIO_NOCLOSE);
	BIO *sb = BIO_new_socket(fd, BIO_NOCLOSE);
	BIO *buf = BIO_new(BIO_f_buffer());

	if (rb == NULL || sb == NULL || buf == NULL ||
	    BIO_set_write_buffer_size(buf, 65536) != 1) {
		BIO_free(rb);
		BIO_free(sb);
		BIO_free(buf);
		return NULL;
	}
	buf = BIO_push(buf, sb);
	SSL_set_bio(ssl, rb, buf);
	return buf;
}

/* Reads exactly n bytes; 0 on success. */
static int
read_full(SSL *s, void *p, size_t n)
{
	uint8_t *q = p;
	size_t got;

	while (n > 0) {
		if (SSL_read_ex(s, q, n, &got) != 1)
			return -1;
		q += got;
		n -= got;
	}
	return 0;
}

static void
put32(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static size_t
get32(const uint8_t *p)
{
	return (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 |
	    p[3];
}

/* Payload bytes from the shared random message (a GCM reply is 16 bytes
 * longer than it): contents do not change the cost; sizes do. */
static void
fill(uint8_t *p, size_t n)
{
	size_t k = n < sizeof(g_msg) ? n : sizeof(g_msg);

	memcpy(p, g_msg, k);
	memset(p + k, 0, n - k);
}

/* --- the server process ---------------------------------------------- */

static struct target *srv_t;
static SSL_CTX *srv_ctx;
static pthread_mutex_t srv_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	const struct workload	*wl;
	void			*inner;
	int			 rc;
} srv_wl[64];
static size_t srv_nwl;

/* The openssl target's workload state for wl, set up once. */
static void *
srv_workload(const struct workload *wl)
{
	void *inner = NULL;
	size_t i;

	pthread_mutex_lock(&srv_mu);
	for (i = 0; i < srv_nwl; i++)
		if (srv_wl[i].wl == wl)
			break;
	if (i == srv_nwl && srv_nwl < sizeof(srv_wl) / sizeof(srv_wl[0])) {
		srv_wl[i].wl = wl;
		srv_wl[i].rc = openssl_target_ops.setup(srv_t, wl,
		    &srv_wl[i].inner);
		srv_nwl++;
	}
	if (i < srv_nwl && srv_wl[i].rc == 0)
		inner = srv_wl[i].inner;
	pthread_mutex_unlock(&srv_mu);
	return inner;
}

/* One connection: hello, then frame in, the operation, frame out. */
static void *
srv_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	const struct workload *wl;
	struct hello h;
	SSL *s = NULL;
	BIO *sw;
	void *inner, *itc = NULL;
	uint8_t hdr[4], *in = NULL, *rep = NULL, ack = 1;
	size_t reqlen, replen, n, wr;

	if ((s = SSL_new(srv_ctx)) == NULL ||
	    (sw = buffered_bio(s, fd)) == NULL)
		goto out;
	SSL_set_accept_state(s);
	if (SSL_do_handshake(s) != 1 || BIO_flush(sw) != 1 ||
	    read_full(s, &h, sizeof(h)) != 0)
		goto out;
	if ((wl = workload_at(h.wl)) == NULL)
		goto out;
	frame_sizes(wl, &reqlen, &replen);
	if ((in = malloc(reqlen)) != NULL &&
	    (rep = malloc(replen + 4)) != NULL &&
	    (inner = srv_workload(wl)) != NULL &&
	    openssl_target_ops.thread_init(srv_t, inner, h.idx, &itc) == 0)
		ack = 0;
	if (SSL_write_ex(s, &ack, 1, &wr) != 1 || BIO_flush(sw) != 1 ||
	    ack != 0)
		goto out;
	put32(rep, replen);
	fill(rep + 4, replen);
	for (;;) {
		if (read_full(s, hdr, 4) != 0)
			break;
		n = get32(hdr);
		if (n != reqlen || read_full(s, in, n) != 0)
			break;
		rep[4] = openssl_target_ops.op(itc) == 0 ? 0 : 1;
		if (openssl_target_ops.post != NULL)
			openssl_target_ops.post(itc);
		if (SSL_write_ex(s, rep, replen + 4, &wr) != 1 ||
		    BIO_flush(sw) != 1)
			break;
	}
 out:
	if (itc != NULL)
		openssl_target_ops.thread_fini(itc);
	SSL_free(s);
	close(fd);
	free(in);
	free(rep);
	return NULL;
}

static void __attribute__((noreturn))
srv_main(struct tls_priv *p, struct target *t)
{
	pthread_attr_t a;
	pthread_t thr;
	int fd, one = 1;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	srv_t = t;
	srv_ctx = p->sctx;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	for (;;) {
		if ((fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			_exit(1);
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (pthread_create(&thr, &a, srv_conn, (void *)(intptr_t)fd) !=
		    0)
			close(fd);
	}
}

/* --- the client (coffer-bench) side ---------------------------------- */

static void
tls_free(struct tls_priv *p)
{
	if (p == NULL)
		return;
	if (p->child > 0) {
		kill(p->child, SIGKILL);
		(void)waitpid(p->child, NULL, 0);
	}
	SSL_CTX_free(p->sctx);
	SSL_CTX_free(p->cctx);
	if (p->lfd >= 0)
		close(p->lfd);
	free(p);
}

/* Opened before any workload thread runs: the fork copies one thread. */
static int
t_open(struct target *t)
{
	struct tls_priv *p = calloc(1, sizeof(*p));
	socklen_t alen = sizeof(p->addr);

	if (p == NULL)
		return -1;
	p->lfd = -1;
	if (openssl_target_ops.open(t) != 0)
		goto fail;
	if ((p->sctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    (p->cctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(p->sctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_min_proto_version(p->cctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_num_tickets(p->sctx, 0) != 1 ||
	    self_signed(p->sctx, SSL_CTX_get_cert_store(p->cctx)) != 0 ||
	    X509_VERIFY_PARAM_set1_host(SSL_CTX_get0_param(p->cctx),
	    "localhost", 0) != 1) {
		target_error(t, "TLS context setup failed");
		goto fail_inner;
	}
	SSL_CTX_set_verify(p->cctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_read_ahead(p->sctx, 1);
	SSL_CTX_set_read_ahead(p->cctx, 1);
	p->addr.sin_family = AF_INET;
	p->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(p->lfd, (struct sockaddr *)&p->addr, sizeof(p->addr)) != 0 ||
	    listen(p->lfd, 64) != 0 ||
	    getsockname(p->lfd, (struct sockaddr *)&p->addr, &alen) != 0) {
		target_error(t, "cannot listen on 127.0.0.1");
		goto fail_inner;
	}
	fflush(NULL);
	if ((p->child = fork()) < 0) {
		target_error(t, "fork failed");
		goto fail_inner;
	}
	if (p->child == 0)
		srv_main(p, t);
	close(p->lfd);
	p->lfd = -1;
	t->priv = p;
	return 0;
 fail_inner:
	openssl_target_ops.close(t);
 fail:
	tls_free(p);
	return -1;
}

static void
t_close(struct target *t)
{
	openssl_target_ops.close(t);
	tls_free(t->priv);
	t->priv = NULL;
}

static int
t_setup(struct target *t, const struct workload *wl, void **wctx)
{
	struct tw *w;

	if (wl->kind == WK_FIND) {
		target_error(t, "no object store");
		return -1;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	w->wl = wl;
	*wctx = w;
	return 0;
}

static void
t_teardown(struct target *t, void *wctx)
{
	free(wctx);
}

static void
t_thread_fini(void *tctx)
{
	struct tt *o = tctx;

	if (o == NULL)
		return;
	SSL_free(o->c);
	if (o->cfd >= 0)
		close(o->cfd);	/* the server thread sees EOF and ends */
	free(o->req);
	free(o->cin);
	free(o);
}

static int
t_thread_init(struct target *t, void *wctx, unsigned idx, void **tctx)
{
	struct tls_priv *p = t->priv;
	struct tw *w = wctx;
	struct tt *o = calloc(1, sizeof(*o));
	struct hello h = { workload_index(w->wl), idx };
	uint8_t ack = 1;
	size_t wr;
	int one = 1;

	if (o == NULL)
		return -1;
	o->cfd = -1;
	*tctx = o;
	frame_sizes(w->wl, &o->reqlen, &o->replen);
	if ((o->req = malloc(o->reqlen + 4)) == NULL ||
	    (o->cin = malloc(o->replen)) == NULL)
		goto fail;
	put32(o->req, o->reqlen);
	fill(o->req + 4, o->reqlen);
	if ((o->cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(o->cfd, (struct sockaddr *)&p->addr, sizeof(p->addr)) !=
	    0) {
		target_error(t, "cannot connect to the tls server");
		goto fail;
	}
	setsockopt(o->cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((o->c = SSL_new(p->cctx)) == NULL ||
	    (o->cw = buffered_bio(o->c, o->cfd)) == NULL ||
	    SSL_set_tlsext_host_name(o->c, "localhost") != 1)
		goto fail;
	SSL_set_connect_state(o->c);
	/* Setting up the workload's keys (in the server) is untimed. */
	if (SSL_do_handshake(o->c) != 1 ||
	    SSL_write_ex(o->c, &h, sizeof(h), &wr) != 1 ||
	    BIO_flush(o->cw) != 1 || read_full(o->c, &ack, 1) != 0 ||
	    ack != 0) {
		target_error(t, "tls server: handshake or setup failed");
		goto fail;
	}
	return 0;
 fail:
	t_thread_fini(o);
	*tctx = NULL;
	return -1;
}

static int
t_op(void *tctx)
{
	struct tt *o = tctx;
	uint8_t hdr[4];
	size_t wr, n;

	if (SSL_write_ex(o->c, o->req, o->reqlen + 4, &wr) != 1 ||
	    BIO_flush(o->cw) != 1 || read_full(o->c, hdr, 4) != 0)
		return -1;
	n = get32(hdr);
	if (n != o->replen || read_full(o->c, o->cin, n) != 0)
		return -1;
	return o->cin[0] == 0 ? 0 : -1;
}

const struct target_ops tls_target_ops = {
	.open = t_open,
	.close = t_close,
	.setup = t_setup,
	.teardown = t_teardown,
	.thread_init = t_thread_init,
	.thread_fini = t_thread_fini,
	.op = t_op,
	.post = NULL,
};
