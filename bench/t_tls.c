/* SPDX-License-Identifier: Apache-2.0 */
/*
 * t_tls.c: the "tls" and "unix" targets, the floors of a networked HSM
 * on this machine: the "openssl" target's operation run by a minimal
 * server in its own process (forked at open: a separate address space,
 * like cofferd), one server thread per connection, each request and
 * reply one length-prefixed frame of the size an HSM protocol would
 * carry (a digest in, a signature out; a message in, the ciphertext
 * out; a length in, the random bytes out). No protocol, no
 * authorization, no objects, no copies beyond the transport's.
 *
 * "tls" serves over TLS 1.3 on 127.0.0.1 with the same TLS settings as
 * cofferd and libcoffer (read-ahead, writes through a 64 KiB buffer
 * flushed once per frame, TCP_NODELAY). "unix" serves the same frames in
 * the clear over an AF_UNIX stream socket in a private directory, as
 * cofferd's local listener does: reads through a 64 KiB read-ahead
 * buffer, writes through a 64 KiB buffer flushed once per frame. What is
 * left of a Coffer figure against the floor of its transport is Coffer's
 * own overhead; what separates a floor from "openssl" is the price of
 * the transport.
 *
 * Every write is a send() with MSG_NOSIGNAL: a peer that went away fails
 * the workload and never raises SIGPIPE in either process.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "bench.h"

/* Read-ahead (plain) and write buffer bytes, as cofferd and libcoffer. */
#define LINK_BUF (64 * 1024)

struct tls_priv {
	int		 plain;		/* unix: no TLS */
	SSL_CTX		*sctx, *cctx;	/* NULL when plain */
	int		 lfd;		/* the server process's */
	union {
		struct sockaddr		sa;
		struct sockaddr_in	in;
		struct sockaddr_un	un;
	}		 addr;
	socklen_t	 alen;
	/* unix: the private directory holding the socket ("" if none) */
	char		 dir[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
	pid_t		 child;
};

/* One end of a connection: TLS, or the frames in the clear. */
struct link {
	SSL		*ssl;		/* NULL: plain */
	BIO		*rb;		/* plain: read-ahead over the socket */
	BIO		*wb;		/* write buffer, flushed per frame */
};

struct tw {			/* per workload (client side) */
	const struct workload	*wl;
};

struct tt {			/* per thread (client side) */
	struct link		 l;
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

/* --- the transport ------------------------------------------------- */

/* A socket sink that sends with MSG_NOSIGNAL (writes only; the fd is the
 * BIO's data). Made at the first open, before any fork; kept. */
static BIO_METHOD *nosig_meth;

static int
nosig_write(BIO *b, const char *p, int n)
{
	ssize_t r;

	BIO_clear_retry_flags(b);
	do
		r = send((int)(intptr_t)BIO_get_data(b), p, (size_t)n,
		    MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return (int)r;
}

static long
nosig_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int
nosig_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static int
nosig_setup(void)
{
	BIO_METHOD *m;

	if (nosig_meth != NULL)
		return 0;
	if ((m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
	    "bench socket")) == NULL)
		return -1;
	if (BIO_meth_set_write(m, nosig_write) != 1 ||
	    BIO_meth_set_ctrl(m, nosig_ctrl) != 1 ||
	    BIO_meth_set_create(m, nosig_create) != 1) {
		BIO_meth_free(m);
		return -1;
	}
	nosig_meth = m;
	return 0;
}

/*
 * The link over fd for ssl (NULL: plain); freed by link_free even on
 * failure. Reads from the socket: TLS with its own read-ahead, plain
 * through a 64 KiB read-ahead buffer. Writes through a 64 KiB buffer
 * that write_frame flushes once per frame, as cofferd and libcoffer do.
 */
static int
link_init(struct link *l, SSL *ssl, int fd)
{
	BIO *rs = BIO_new_socket(fd, BIO_NOCLOSE);
	BIO *ws = BIO_new(nosig_meth);
	BIO *rbuf = ssl == NULL ? BIO_new(BIO_f_buffer()) : NULL;
	BIO *wbuf = BIO_new(BIO_f_buffer());

	*l = (struct link){ .ssl = ssl };
	if (rs == NULL || ws == NULL || wbuf == NULL ||
	    BIO_set_write_buffer_size(wbuf, LINK_BUF) != 1 ||
	    (ssl == NULL && (rbuf == NULL ||
	    BIO_set_read_buffer_size(rbuf, LINK_BUF) != 1))) {
		BIO_free(rs);
		BIO_free(ws);
		BIO_free(rbuf);
		BIO_free(wbuf);
		return -1;
	}
	BIO_set_data(ws, (void *)(intptr_t)fd);
	l->wb = BIO_push(wbuf, ws);
	if (ssl != NULL)
		SSL_set_bio(ssl, rs, l->wb);	/* ssl owns both */
	else
		l->rb = BIO_push(rbuf, rs);
	return 0;
}

static void
link_free(struct link *l)
{
	if (l->ssl != NULL)
		SSL_free(l->ssl);
	else {
		BIO_free_all(l->rb);
		BIO_free_all(l->wb);
	}
	*l = (struct link){ 0 };
}

/* Reads exactly n bytes; 0 on success. */
static int
read_full(struct link *l, void *p, size_t n)
{
	uint8_t *q = p;
	size_t got;
	int ok;

	while (n > 0) {
		ok = l->ssl != NULL ? SSL_read_ex(l->ssl, q, n, &got) :
		    BIO_read_ex(l->rb, q, n, &got);
		if (ok != 1)
			return -1;
		q += got;
		n -= got;
	}
	return 0;
}

/* Writes n bytes and flushes them; 0 on success. */
static int
write_frame(struct link *l, const void *p, size_t n)
{
	size_t wr = 0;
	int ok;

	ok = l->ssl != NULL ? SSL_write_ex(l->ssl, p, n, &wr) :
	    BIO_write_ex(l->wb, p, n, &wr);
	return ok == 1 && wr == n && BIO_flush(l->wb) == 1 ? 0 : -1;
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
static SSL_CTX *srv_ctx;	/* NULL: plain */
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
	struct link l = { 0 };
	struct hello h;
	SSL *s = NULL;
	void *inner, *itc = NULL;
	uint8_t hdr[4], *in = NULL, *rep = NULL, ack = 1;
	size_t reqlen, replen, n;

	if ((srv_ctx != NULL && (s = SSL_new(srv_ctx)) == NULL) ||
	    link_init(&l, s, fd) != 0)
		goto out;
	if (s != NULL) {
		SSL_set_accept_state(s);
		if (SSL_do_handshake(s) != 1 || BIO_flush(l.wb) != 1)
			goto out;
	}
	if (read_full(&l, &h, sizeof(h)) != 0 ||
	    (wl = workload_at(h.wl)) == NULL)
		goto out;
	frame_sizes(wl, &reqlen, &replen);
	if ((in = malloc(reqlen)) != NULL &&
	    (rep = malloc(replen + 4)) != NULL &&
	    (inner = srv_workload(wl)) != NULL &&
	    openssl_target_ops.thread_init(srv_t, inner, h.idx, &itc) == 0)
		ack = 0;
	if (write_frame(&l, &ack, 1) != 0 || ack != 0)
		goto out;
	put32(rep, replen);
	fill(rep + 4, replen);
	for (;;) {
		if (read_full(&l, hdr, 4) != 0)
			break;
		n = get32(hdr);
		if (n != reqlen || read_full(&l, in, n) != 0)
			break;
		rep[4] = openssl_target_ops.op(itc) == 0 ? 0 : 1;
		if (openssl_target_ops.post != NULL)
			openssl_target_ops.post(itc);
		if (write_frame(&l, rep, replen + 4) != 0)
			break;
	}
 out:
	if (itc != NULL)
		openssl_target_ops.thread_fini(itc);
	link_free(&l);
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
		if (!p->plain)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
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
	if (p->dir[0] != '\0') {
		(void)unlink(p->addr.un.sun_path);
		(void)rmdir(p->dir);
	}
	free(p);
}

static int
tls_contexts(struct tls_priv *p)
{
	if ((p->sctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    (p->cctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(p->sctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_min_proto_version(p->cctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_num_tickets(p->sctx, 0) != 1 ||
	    self_signed(p->sctx, SSL_CTX_get_cert_store(p->cctx)) != 0 ||
	    X509_VERIFY_PARAM_set1_host(SSL_CTX_get0_param(p->cctx),
	    "localhost", 0) != 1)
		return -1;
	SSL_CTX_set_verify(p->cctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_read_ahead(p->sctx, 1);
	SSL_CTX_set_read_ahead(p->cctx, 1);
	return 0;
}

static int
listen_tcp(struct target *t, struct tls_priv *p)
{
	p->addr.in.sin_family = AF_INET;
	p->addr.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->alen = sizeof(p->addr.in);
	if ((p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(p->lfd, &p->addr.sa, p->alen) != 0 ||
	    listen(p->lfd, 64) != 0 ||
	    getsockname(p->lfd, &p->addr.sa, &p->alen) != 0) {
		target_error(t, "cannot listen on 127.0.0.1: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* DIR/s, DIR made private by mkdtemp under $TMPDIR (or /tmp when unset
 * or too long for a socket path). */
static int
listen_unix(struct target *t, struct tls_priv *p)
{
	struct sockaddr_un *un = &p->addr.un;
	const char *tmp = getenv("TMPDIR");
	int n = -1;

	if (tmp != NULL && *tmp != '\0')
		n = snprintf(p->dir, sizeof(p->dir), "%s/coffer-bench.XXXXXX",
		    tmp);
	/* room for "/s" and the NUL in sun_path */
	if (n < 0 || (size_t)n + 2 >= sizeof(un->sun_path))
		n = snprintf(p->dir, sizeof(p->dir),
		    "/tmp/coffer-bench.XXXXXX");
	if (n < 0 || mkdtemp(p->dir) == NULL) {
		target_error(t, "cannot make a directory for the socket: %s",
		    strerror(errno));
		p->dir[0] = '\0';
		return -1;
	}
	un->sun_family = AF_UNIX;
	n = snprintf(un->sun_path, sizeof(un->sun_path), "%s/s", p->dir);
	p->alen = sizeof(*un);
	if (n < 0 || (size_t)n >= sizeof(un->sun_path) ||
	    (p->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(p->lfd, &p->addr.sa, p->alen) != 0 ||
	    listen(p->lfd, 64) != 0) {
		target_error(t, "cannot listen on %s: %s", un->sun_path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Opened before any workload thread runs: the fork copies one thread. */
static int
t_open(struct target *t, int plain)
{
	struct tls_priv *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return -1;
	p->plain = plain;
	p->lfd = -1;
	if (nosig_setup() != 0) {
		target_error(t, "BIO method setup failed");
		goto fail;
	}
	if (openssl_target_ops.open(t) != 0)
		goto fail;
	if (!plain && tls_contexts(p) != 0) {
		target_error(t, "TLS context setup failed");
		goto fail_inner;
	}
	if ((plain ? listen_unix(t, p) : listen_tcp(t, p)) != 0)
		goto fail_inner;
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

static int
t_open_tls(struct target *t)
{
	return t_open(t, 0);
}

static int
t_open_unix(struct target *t)
{
	return t_open(t, 1);
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
	link_free(&o->l);
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
	const char *what = p->plain ? "unix" : "tls";
	struct tw *w = wctx;
	struct tt *o = calloc(1, sizeof(*o));
	struct hello h = { workload_index(w->wl), idx };
	SSL *s = NULL;
	uint8_t ack = 1;
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
	if ((o->cfd = socket(p->addr.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC,
	    0)) < 0 || connect(o->cfd, &p->addr.sa, p->alen) != 0) {
		target_error(t, "cannot connect to the %s server: %s", what,
		    strerror(errno));
		goto fail;
	}
	if (!p->plain) {
		setsockopt(o->cfd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		if ((s = SSL_new(p->cctx)) == NULL ||
		    SSL_set_tlsext_host_name(s, "localhost") != 1) {
			SSL_free(s);
			goto fail;
		}
		SSL_set_connect_state(s);
	}
	if (link_init(&o->l, s, o->cfd) != 0)
		goto fail;
	/* Setting up the workload's keys (in the server) is untimed. */
	if ((s != NULL && SSL_do_handshake(s) != 1) ||
	    write_frame(&o->l, &h, sizeof(h)) != 0 ||
	    read_full(&o->l, &ack, 1) != 0 || ack != 0) {
		target_error(t, "%s server: %ssetup failed", what,
		    s != NULL ? "handshake or " : "");
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
	size_t n;

	if (write_frame(&o->l, o->req, o->reqlen + 4) != 0 ||
	    read_full(&o->l, hdr, 4) != 0)
		return -1;
	n = get32(hdr);
	if (n != o->replen || read_full(&o->l, o->cin, n) != 0)
		return -1;
	return o->cin[0] == 0 ? 0 : -1;
}

const struct target_ops tls_target_ops = {
	.open = t_open_tls,
	.close = t_close,
	.setup = t_setup,
	.teardown = t_teardown,
	.thread_init = t_thread_init,
	.thread_fini = t_thread_fini,
	.op = t_op,
	.post = NULL,
};

const struct target_ops unix_target_ops = {
	.open = t_open_unix,
	.close = t_close,
	.setup = t_setup,
	.teardown = t_teardown,
	.thread_init = t_thread_init,
	.thread_fini = t_thread_fini,
	.op = t_op,
	.post = NULL,
};
