/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_client_errors.c: libcoffer failure paths and the request path
 * against an in-test TLS 1.3 server (OpenSSL on the other side, with a
 * self-signed certificate made here): NULL arguments, a closed port, a
 * pin mismatch, an untrusted chain, a wrong server name, the fingerprint
 * probe, response id mismatch, oversized frames, the retry of a keyed write
 * after a lost connection, lazy re-login of pooled connections, logout,
 * the request timeout (a node that never answers, with timeouts shorter
 * and longer than one blocking read's slice) and a reply slower than
 * that slice, and the pipelined batches (coffer_sign_many, verify_many,
 * encrypt_many with node-made IVs, decrypt_many with an IV per message).
 */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <coffer/coffer.h>
#include <coffer/coffer_objects.h>
#include "coffer.pb-c.h"

/* src/client/conn.c: requests between write and reply (decides whether a
 * waiting thread spins); every path, failed or not, must bring it back
 * to 0 or spinning stops for good. */
unsigned cf_conn_inflight(void);

/* M_ONE_EACH: every connection answers one request, then closes.
 * M_SILENT: reads requests, never answers. M_SLOW: answers each request
 * after SLOW_MS, longer than libcoffer's 1 s blocking-read slice. */
enum mode { M_NORMAL, M_BADID, M_HUGE, M_DROP_FIRST, M_UNKNOWN_FIRST,
    M_ONE_EACH, M_SILENT, M_SLOW };

#define SLOW_MS 1300

#define MAX_HANDLERS 64

struct srv {
	int lfd;
	uint16_t port;
	SSL_CTX *ctx;
	X509 *cert;
	EVP_PKEY *key;
	char fp[65];
	char certfile[PATH_MAX];
	char otherfile[PATH_MAX];
	pthread_t thr;
	atomic_bool stop;
	enum mode mode;
	atomic_int accepted;
	atomic_int logins;
	atomic_int requests;
	atomic_ullong applied;
	atomic_ullong max_min_index;
	pthread_mutex_t mu;
	pthread_t handlers[MAX_HANDLERS];
	int nhandlers;
	uint8_t idem[8][16];
	int nidem;
};

struct hctx {
	struct srv *s;
	int fd;
	int conn_no;
};

static char tmpdir[1024];

/* --- certificates --------------------------------------------------------- */

static void
make_cert(const char *cn, X509 **certp, EVP_PKEY **keyp)
{
	EVP_PKEY *key;
	X509 *x;
	X509_NAME *name;
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(key);
	assert_non_null(x = X509_new());
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	name = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	assert_int_equal(X509_set_pubkey(x, key), 1);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
	    "DNS:localhost");
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
	    "critical,CA:TRUE");
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	*certp = x;
	*keyp = key;
}

static void
write_pem(X509 *x, const char *path)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	assert_int_equal(fclose(f), 0);
}

/* --- the in-test server --------------------------------------------------- */

static int
read_all(SSL *ssl, uint8_t *p, size_t n)
{
	size_t got;

	while (n > 0) {
		if (SSL_read_ex(ssl, p, n, &got) != 1)
			return -1;
		p += got;
		n -= got;
	}
	return 0;
}

static int
send_resp(SSL *ssl, Coffer__Response *r)
{
	size_t n = coffer__response__get_packed_size(r), w;
	uint8_t *p = malloc(n + 4);
	int ok;

	if (p == NULL)
		return -1;
	p[0] = (uint8_t)(n >> 24);
	p[1] = (uint8_t)(n >> 16);
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
	coffer__response__pack(r, p + 4);
	ok = SSL_write_ex(ssl, p, n + 4, &w);
	free(p);
	return ok == 1 ? 0 : -1;
}

/* The fake node's decryption: SHA-256(data || the request's IV). */
static void
fake_decrypt(const Coffer__CryptoOneShotReq *o, uint8_t md[32])
{
	const ProtobufCBinaryData *iv = NULL;
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (o->mech != NULL) {
		switch (o->mech->params_case) {
		case COFFER__MECHANISM__PARAMS_IV:
			iv = &o->mech->iv;
			break;
		case COFFER__MECHANISM__PARAMS_GCM:
			iv = &o->mech->gcm->iv;
			break;
		case COFFER__MECHANISM__PARAMS_CTR:
			iv = &o->mech->ctr->cb;
			break;
		default:
			break;
		}
	}
	if (c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(c, o->data.data, o->data.len) == 1 &&
	    (iv == NULL || EVP_DigestUpdate(c, iv->data, iv->len) == 1))
		EVP_DigestFinal_ex(c, md, NULL);
	EVP_MD_CTX_free(c);
}

static void
serve(struct hctx *h, SSL *ssl)
{
	struct srv *s = h->s;
	bool logged_in = false;
	uint8_t hdr[4], *buf;
	uint32_t len;
	Coffer__Request *req;
	Coffer__Response resp;
	Coffer__GetInfoResp gi;
	Coffer__LoginResp lr;
	Coffer__Empty empty;
	Coffer__UserListResp ul;
	Coffer__UserInfo u1, *users[1];
	Coffer__CryptoDataResp cd;
	unsigned long long cur;
	int rc;

	for (;;) {
		if (read_all(ssl, hdr, 4) != 0)
			return;
		len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
		    (uint32_t)hdr[2] << 8 | hdr[3];
		if (len == 0 || len > (1u << 20) ||
		    (buf = malloc(len)) == NULL)
			return;
		if (read_all(ssl, buf, len) != 0) {
			free(buf);
			return;
		}
		req = coffer__request__unpack(NULL, len, buf);
		free(buf);
		if (req == NULL)
			return;
		atomic_fetch_add(&s->requests, 1);
		cur = atomic_load(&s->max_min_index);
		while (req->min_index > cur && !atomic_compare_exchange_weak(
		    &s->max_min_index, &cur, req->min_index))
			;
		if (req->idem.len == 16) {
			pthread_mutex_lock(&s->mu);
			if (s->nidem < 8)
				memcpy(s->idem[s->nidem++], req->idem.data, 16);
			pthread_mutex_unlock(&s->mu);
		}
		if (s->mode == M_DROP_FIRST && h->conn_no == 0 &&
		    req->body_case == COFFER__REQUEST__BODY_USER_CREATE) {
			coffer__request__free_unpacked(req, NULL);
			return;	/* connection lost before the answer */
		}
		if (s->mode == M_SILENT) {
			coffer__request__free_unpacked(req, NULL);
			continue;	/* until the client gives up and closes */
		}
		if (s->mode == M_SLOW)
			usleep(SLOW_MS * 1000);
		if (s->mode == M_HUGE) {
			static const uint8_t big[4] = { 0x04, 0x00, 0x00, 0x01 };
			size_t w;

			coffer__request__free_unpacked(req, NULL);
			(void)SSL_write_ex(ssl, big, 4, &w);
			return;
		}
		coffer__response__init(&resp);
		coffer__empty__init(&empty);
		resp.id = req->id + (s->mode == M_BADID ? 1 : 0);
		resp.applied_index = atomic_fetch_add(&s->applied, 1) + 1;
		switch (req->body_case) {
		case COFFER__REQUEST__BODY_GET_INFO:
			coffer__get_info_resp__init(&gi);
			gi.state = COFFER__NODE_STATE__NODE_STATE_ACTIVE;
			gi.version = "9.8.7";
			gi.node_id = 7;
			gi.cluster_id = "cluster-xyz";
			gi.raft_state = "leader";
			gi.members = 1;
			resp.body_case = COFFER__RESPONSE__BODY_GET_INFO;
			resp.get_info = &gi;
			break;
		case COFFER__REQUEST__BODY_LOGIN:
			atomic_fetch_add(&s->logins, 1);
			if (req->login->password.len == 2 &&
			    memcmp(req->login->password.data, "pw", 2) == 0) {
				coffer__login_resp__init(&lr);
				lr.role = COFFER__ROLE__ROLE_CU;
				lr.username = req->login->username;
				resp.body_case = COFFER__RESPONSE__BODY_LOGIN;
				resp.login = &lr;
				logged_in = true;
			} else {
				resp.rc = COFFER_E_AUTH;
				resp.detail = "bad password";
			}
			break;
		case COFFER__REQUEST__BODY_LOGOUT:
			if (!logged_in) {
				resp.rc = COFFER_E_NOTLOGGEDIN;
				break;
			}
			logged_in = false;
			resp.body_case = COFFER__RESPONSE__BODY_LOGOUT;
			resp.logout = &empty;
			break;
		case COFFER__REQUEST__BODY_USER_LIST:
			if (!logged_in) {
				resp.rc = COFFER_E_NOTLOGGEDIN;
				resp.detail = "log in first";
				break;
			}
			coffer__user_list_resp__init(&ul);
			coffer__user_info__init(&u1);
			u1.username = "alice";
			u1.role = COFFER__ROLE__ROLE_CU;
			u1.failures = 2;
			users[0] = &u1;
			ul.n_users = 1;
			ul.users = users;
			resp.body_case = COFFER__RESPONSE__BODY_USER_LIST;
			resp.user_list = &ul;
			break;
		case COFFER__REQUEST__BODY_CRYPTO_ONE_SHOT: {
			/* "Signature": SHA-256 of the data, so the client
			 * can tell which reply answers which input. */
			static __thread uint8_t md[32];
			const Coffer__CryptoOneShotReq *o = req->crypto_one_shot;

			if (o->data.len == 3 && memcmp(o->data.data, "bad",
			    3) == 0) {
				resp.rc = COFFER_E_DATA_LEN;
				resp.detail = "bad input";
				break;
			}
			coffer__crypto_data_resp__init(&cd);
			EVP_Digest(o->data.data, o->data.len, md, NULL,
			    EVP_sha256(), NULL);
			if (o->kind == COFFER__CRYPTO_KIND__CRYPTO_DECRYPT) {
				/* SHA-256(data || the request's IV): shows
				 * which IV reached which message */
				fake_decrypt(o, md);
			}
			if (o->kind == COFFER__CRYPTO_KIND__CRYPTO_ENCRYPT &&
			    o->mech != NULL && o->mech->params_case ==
			    COFFER__MECHANISM__PARAMS_GCM &&
			    o->mech->gcm->iv.len == 0) {
				/* a "node-made IV": the digest's last 12 */
				cd.iv.data = md + 20;
				cd.iv.len = 12;
			}
			if (o->kind == COFFER__CRYPTO_KIND__CRYPTO_VERIFY) {
				if (o->signature.len != sizeof(md) ||
				    memcmp(o->signature.data, md,
				    sizeof(md)) != 0) {
					resp.rc = COFFER_E_SIGNATURE;
					break;
				}
			} else {
				cd.data.data = md;
				cd.data.len = sizeof(md);
			}
			resp.body_case = COFFER__RESPONSE__BODY_CRYPTO_ONE_SHOT;
			resp.crypto_one_shot = &cd;
			break;
		}
		case COFFER__REQUEST__BODY_USER_CREATE:
			if (s->mode == M_UNKNOWN_FIRST && s->nidem == 1) {
				resp.rc = COFFER_E_UNKNOWN_OUTCOME;
				break;
			}
			resp.body_case = COFFER__RESPONSE__BODY_USER_CREATE;
			resp.user_create = &empty;
			break;
		default:
			resp.rc = COFFER_E_UNSUPPORTED;
			break;
		}
		rc = send_resp(ssl, &resp);
		coffer__request__free_unpacked(req, NULL);
		if (rc != 0 || s->mode == M_ONE_EACH)
			return;
	}
}

static void *
handler(void *arg)
{
	struct hctx *h = arg;
	struct timeval tv = { .tv_sec = 5 };
	SSL *ssl;

	(void)setsockopt(h->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(h->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if ((ssl = SSL_new(h->s->ctx)) != NULL) {
		SSL_set_fd(ssl, h->fd);
		if (SSL_accept(ssl) == 1) {
			serve(h, ssl);
			(void)SSL_shutdown(ssl);
		}
		SSL_free(ssl);
	}
	ERR_clear_error();
	close(h->fd);
	free(h);
	return NULL;
}

static void *
acceptor(void *arg)
{
	struct srv *s = arg;
	struct pollfd pfd;
	struct hctx *h;
	int fd;

	while (!atomic_load(&s->stop)) {
		pfd.fd = s->lfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if ((fd = accept(s->lfd, NULL, NULL)) < 0)
			continue;
		h = calloc(1, sizeof(*h));
		h->s = s;
		h->fd = fd;
		h->conn_no = atomic_fetch_add(&s->accepted, 1);
		pthread_mutex_lock(&s->mu);
		if (s->nhandlers < MAX_HANDLERS &&
		    pthread_create(&s->handlers[s->nhandlers], NULL, handler,
		    h) == 0) {
			s->nhandlers++;
		} else {
			close(fd);
			free(h);
		}
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

static struct srv *
srv_start(enum mode mode)
{
	struct srv *s = calloc(1, sizeof(*s));
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	unsigned char md[32];
	unsigned int mdlen = 0, i;
	X509 *other;
	EVP_PKEY *okey;
	sigset_t pipe, old;

	assert_non_null(s);
	s->mode = mode;
	pthread_mutex_init(&s->mu, NULL);
	make_cert("localhost", &s->cert, &s->key);
	assert_int_equal(X509_digest(s->cert, EVP_sha256(), md, &mdlen), 1);
	for (i = 0; i < mdlen; i++)
		snprintf(s->fp + 2 * i, 3, "%02x", md[i]);
	snprintf(s->certfile, sizeof(s->certfile), "%s/server.pem", tmpdir);
	write_pem(s->cert, s->certfile);
	make_cert("localhost", &other, &okey);
	snprintf(s->otherfile, sizeof(s->otherfile), "%s/other.pem", tmpdir);
	write_pem(other, s->otherfile);
	X509_free(other);
	EVP_PKEY_free(okey);

	assert_non_null(s->ctx = SSL_CTX_new(TLS_server_method()));
	SSL_CTX_set_min_proto_version(s->ctx, TLS1_3_VERSION);
	assert_int_equal(SSL_CTX_use_certificate(s->ctx, s->cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(s->ctx, s->key), 1);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((s->lfd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->lfd, 16), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sa, &sl), 0);
	s->port = ntohs(sa.sin_port);
	/*
	 * The server threads (OpenSSL's plain socket BIO) block SIGPIPE; the
	 * test thread does not, so a SIGPIPE raised by libcoffer kills the
	 * test.
	 */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &pipe, &old), 0);
	assert_int_equal(pthread_create(&s->thr, NULL, acceptor, s), 0);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
	return s;
}

static void
srv_stop(struct srv *s)
{
	int i;

	atomic_store(&s->stop, true);
	pthread_join(s->thr, NULL);
	for (i = 0; i < s->nhandlers; i++)
		pthread_join(s->handlers[i], NULL);
	close(s->lfd);
	SSL_CTX_free(s->ctx);
	X509_free(s->cert);
	EVP_PKEY_free(s->key);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static struct coffer_config *
cfg_for(uint16_t port, const char *pin, const char *ca, const char *name)
{
	struct coffer_config *cfg = NULL;
	char hp[64];

	assert_int_equal(coffer_config_new(&cfg), 0);
	snprintf(hp, sizeof(hp), "127.0.0.1:%u", (unsigned)port);
	assert_int_equal(coffer_config_add_server(cfg, hp), 0);
	if (pin != NULL)
		assert_int_equal(coffer_config_set_pin(cfg, pin), 0);
	if (ca != NULL)
		assert_int_equal(coffer_config_set_trust_anchor(cfg, ca), 0);
	if (name != NULL)
		assert_int_equal(coffer_config_set_server_name(cfg, name), 0);
	assert_int_equal(coffer_config_set_timeout_ms(cfg, 5000), 0);
	return cfg;
}

static uint16_t
closed_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);	/* bound, never listened: connect is refused */
	return ntohs(sa.sin_port);
}

#define ZPIN \
	"0000000000000000000000000000000000000000000000000000000000000000"

/* --- tests ---------------------------------------------------------------- */

static void
test_null_args(void **state)
{
	struct coffer_info info;
	struct coffer_user *users = (void *)1;
	size_t n = 9, bad;
	char *csr = (void *)1, fp[65], err[8];
	int role = 5;
	uint64_t hs = 3;

	assert_int_equal(coffer_client_new(NULL, NULL, NULL, 0),
	    COFFER_E_INVAL);
	assert_int_equal(coffer_client_new(NULL, NULL, err, sizeof(err)),
	    COFFER_E_INVAL);
	coffer_client_free(NULL);
	assert_string_equal(coffer_client_last_error(NULL), "");
	assert_int_equal(coffer_client_seen_index(NULL), 0);
	assert_int_equal(coffer_get_info(NULL, &info), COFFER_E_INVAL);
	assert_int_equal(coffer_fetch_fingerprint(NULL, 100, fp, sizeof(fp)),
	    COFFER_E_INVAL);
	assert_int_equal(coffer_fetch_fingerprint("127.0.0.1:1", 100, fp, 64),
	    COFFER_E_INVAL);
	assert_int_equal(coffer_cluster_csr(NULL, &csr, NULL, 0),
	    COFFER_E_INVAL);
	assert_null(csr);
	assert_int_equal(coffer_cluster_initialize(NULL, "a", "b"),
	    COFFER_E_INVAL);
	assert_int_equal(coffer_cluster_activate(NULL, "a", "b"),
	    COFFER_E_INVAL);
	assert_int_equal(coffer_login(NULL, "u", "p", &role), COFFER_E_INVAL);
	assert_int_equal(role, COFFER_ROLE_NONE);
	assert_int_equal(coffer_logout(NULL), COFFER_E_INVAL);
	assert_int_equal(coffer_user_create(NULL, "u", COFFER_ROLE_CU, "p"),
	    COFFER_E_INVAL);
	assert_int_equal(coffer_user_delete(NULL, "u"), COFFER_E_INVAL);
	assert_int_equal(coffer_user_list(NULL, &users, &n), COFFER_E_INVAL);
	assert_null(users);
	assert_int_equal(n, 0);
	assert_int_equal(coffer_user_change_password(NULL, NULL, "p"),
	    COFFER_E_INVAL);
	assert_int_equal(coffer_user_lock(NULL, "u"), COFFER_E_INVAL);
	assert_int_equal(coffer_user_unlock(NULL, "u"), COFFER_E_INVAL);
	assert_int_equal(coffer_audit_export(NULL, 1, NULL, NULL, &hs, NULL),
	    COFFER_E_INVAL);
	assert_int_equal(hs, 0);
	assert_int_equal(coffer_audit_verify_lines(NULL, 1, 0, NULL, &bad,
	    NULL, 0), COFFER_E_INVAL);
}

static void
test_null_args_live(void **state)
{
	struct srv *s = srv_start(M_NORMAL);
	struct coffer_config *cfg = cfg_for(s->port, s->fp, NULL, NULL);
	struct coffer_client *c = NULL;
	size_t n;
	char err[256];

	assert_int_equal(coffer_client_new(cfg, &c, err, sizeof(err)), 0);
	assert_int_equal(coffer_get_info(c, NULL), COFFER_E_INVAL);
	assert_int_equal(coffer_login(c, NULL, "p", NULL), COFFER_E_INVAL);
	assert_int_equal(coffer_login(c, "u", NULL, NULL), COFFER_E_INVAL);
	assert_int_equal(coffer_user_create(c, NULL, COFFER_ROLE_CU, "p"),
	    COFFER_E_INVAL);
	assert_int_equal(coffer_user_create(c, "u", 77, "p"), COFFER_E_INVAL);
	assert_int_equal(coffer_user_list(c, NULL, &n), COFFER_E_INVAL);
	assert_int_equal(coffer_cluster_csr(c, NULL, NULL, 0), COFFER_E_INVAL);
	assert_int_equal(coffer_audit_export(c, 1, NULL, NULL, NULL, NULL),
	    COFFER_E_INVAL);
	assert_int_equal(coffer_user_change_password(c, "u", NULL),
	    COFFER_E_INVAL);
	coffer_client_free(c);
	coffer_config_free(cfg);
	srv_stop(s);
}

static void
test_closed_port(void **state)
{
	struct coffer_config *cfg = cfg_for(closed_port(), ZPIN, NULL, NULL);
	struct coffer_client *c = (void *)1;
	char err[256] = "", fp[65], hp[64];

	assert_int_equal(coffer_client_new(cfg, &c, err, sizeof(err)),
	    COFFER_E_CONNECT);
	assert_null(c);
	assert_true(strlen(err) > 0);
	print_message("closed port: %s\n", err);
	/* Two dead servers: still COFFER_E_CONNECT. */
	snprintf(hp, sizeof(hp), "127.0.0.1:%u", (unsigned)closed_port());
	assert_int_equal(coffer_config_add_server(cfg, hp), 0);
	assert_int_equal(coffer_client_new(cfg, &c, err, sizeof(err)),
	    COFFER_E_CONNECT);
	assert_int_equal(coffer_fetch_fingerprint(hp, 2000, fp, sizeof(fp)),
	    COFFER_E_CONNECT);
	coffer_config_free(cfg);
}

static void
test_pin_mismatch(void **state)
{
	struct srv *s = srv_start(M_NORMAL);
	struct coffer_config *cfg = cfg_for(s->port, ZPIN, NULL, NULL);
	struct coffer_client *c = (void *)1;
	char err[256] = "";

	assert_int_equal(coffer_client_new(cfg, &c, err, sizeof(err)),
	    COFFER_E_TLS);
	assert_null(c);
	assert_non_null(strstr(err, "certificate fingerprint mismatch"));
	coffer_config_free(cfg);
	/* The pin wins over a trust anchor that would accept the chain. */
	cfg = cfg_for(s->port, ZPIN, s->certfile, NULL);
	assert_int_equal(coffer_client_new(cfg, &c, err, sizeof(err)),
	    COFFER_E_TLS);
	coffer_config_free(cfg);
	srv_stop(s);
}

static void
test_untrusted(void **state)
{
	struct srv *s = srv_start(M_NORMAL);
	struct coffer_config *cfg = cfg_for(s->port, NULL, s->otherfile, NULL);
	struct coffer_client *c = (void *)1;
	struct coffer_info info;
	char err[256] = "";

	assert_int_equal(coffer_client_new(cfg, &c, err, sizeof(err)),
	    COFFER_E_TLS);
	assert_null(c);
	assert_non_null(strstr(err, "verify"));
	print_message("untrusted: %s\n", err);
	coffer_config_free(cfg);

	/* The right anchor; the right and a wrong server name. */
	cfg = cfg_for(s->port, NULL, s->certfile, "localhost");
	assert_int_equal(coffer_client_new(cfg, &c, err, sizeof(err)), 0);
	assert_int_equal(coffer_get_info(c, &info), 0);
	assert_string_equal(info.version, "9.8.7");
	coffer_client_free(c);
	coffer_config_free(cfg);
	cfg = cfg_for(s->port, NULL, s->certfile, "other.example");
	assert_int_equal(coffer_client_new(cfg, &c, err, sizeof(err)),
	    COFFER_E_TLS);
	coffer_config_free(cfg);

	/* A missing trust anchor file is a configuration error. */
	cfg = cfg_for(s->port, NULL, "/nonexistent/ca.pem", NULL);
	assert_int_equal(coffer_client_new(cfg, &c, err, sizeof(err)),
	    COFFER_E_CONFIG);
	coffer_config_free(cfg);
	srv_stop(s);
}

static void
test_fingerprint(void **state)
{
	struct srv *s = srv_start(M_NORMAL);
	char hp[64], fp[65];

	snprintf(hp, sizeof(hp), "127.0.0.1:%u", (unsigned)s->port);
	assert_int_equal(coffer_fetch_fingerprint(hp, 5000, fp, sizeof(fp)),
	    0);
	assert_string_equal(fp, s->fp);
	srv_stop(s);
}

struct par {
	struct coffer_client *c;
	int fails;
};

static void *
par_worker(void *arg)
{
	struct par *p = arg;
	struct coffer_user *u;
	size_t n;
	int i;

	for (i = 0; i < 25; i++) {
		if (coffer_user_list(p->c, &u, &n) != 0 || n != 1)
			p->fails++;
		free(u);
	}
	return NULL;
}

static void
test_calls(void **state)
{
	struct srv *s = srv_start(M_NORMAL);
	struct coffer_config *cfg = cfg_for(s->port, s->fp, NULL, NULL);
	struct coffer_client *c = NULL;
	struct coffer_info info;
	struct coffer_user *u = NULL;
	struct par p[8];
	pthread_t t[8];
	size_t n;
	char err[256];
	int role = -1, i;
	uint64_t seen;

	assert_int_equal(coffer_config_set_connections(cfg, 2), 0);
	assert_int_equal(coffer_client_new(cfg, &c, err, sizeof(err)), 0);
	assert_int_equal(coffer_get_info(c, &info), 0);
	assert_int_equal(info.state, COFFER_STATE_ACTIVE);
	assert_int_equal(info.node_id, 7);
	assert_string_equal(info.cluster_id, "cluster-xyz");
	assert_string_equal(info.raft_state, "leader");
	seen = coffer_client_seen_index(c);
	assert_true(seen >= 1);

	/* Not logged in: the node's rc and detail come through. */
	assert_int_equal(coffer_user_list(c, &u, &n), COFFER_E_NOTLOGGEDIN);
	assert_string_equal(coffer_client_last_error(c), "log in first");
	/* The second request carried the first one's applied index. */
	assert_true(atomic_load(&s->max_min_index) >= seen);

	assert_int_equal(coffer_login(c, "alice", "wrong", &role),
	    COFFER_E_AUTH);
	assert_string_equal(coffer_client_last_error(c), "bad password");
	assert_int_equal(coffer_user_list(c, &u, &n), COFFER_E_NOTLOGGEDIN);
	assert_int_equal(coffer_login(c, "alice", "pw", &role), 0);
	assert_int_equal(role, COFFER_ROLE_CU);
	assert_int_equal(coffer_user_list(c, &u, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(u[0].username, "alice");
	assert_int_equal(u[0].role, COFFER_ROLE_CU);
	assert_int_equal(u[0].failures, 2);
	free(u);

	/* Many threads over a pool of 2: new connections log in lazily;
	 * waiting threads are handed connections in turn. */
	for (i = 0; i < 8; i++) {
		p[i].c = c;
		p[i].fails = 0;
		assert_int_equal(pthread_create(&t[i], NULL, par_worker, &p[i]),
		    0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(p[i].fails, 0);
	}
	assert_true(atomic_load(&s->accepted) <= 2);
	/* 2 failed + 1 good explicit logins, one lazy login at most. */
	assert_true(atomic_load(&s->logins) <= 4);

	/* Logout reaches every connection: nothing is logged in after. */
	assert_int_equal(coffer_logout(c), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(coffer_user_list(c, &u, &n),
		    COFFER_E_NOTLOGGEDIN);
	assert_true(coffer_client_seen_index(c) > seen);
	assert_int_equal(cf_conn_inflight(), 0);
	coffer_client_free(c);
	coffer_config_free(cfg);
	srv_stop(s);
}

static void
test_bad_id(void **state)
{
	struct srv *s = srv_start(M_BADID);
	struct coffer_config *cfg = cfg_for(s->port, s->fp, NULL, NULL);
	struct coffer_client *c = NULL;
	struct coffer_info info;
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	const uint8_t *in[1] = { (const uint8_t *)"abc" };
	size_t len[1] = { 3 }, siglen[1];
	uint8_t *sig[1];

	assert_int_equal(coffer_client_new(cfg, &c, NULL, 0), 0);
	assert_int_equal(coffer_get_info(c, &info), COFFER_E_PROTO);
	assert_non_null(strstr(coffer_client_last_error(c), "id"));
	assert_int_equal(cf_conn_inflight(), 0);
	/* A batch whose reply ids match none of its requests. */
	assert_int_equal(coffer_sign_many(c, &m, 7, 1, in, len, sig, siglen),
	    COFFER_E_PROTO);
	assert_non_null(strstr(coffer_client_last_error(c),
	    "matches no request"));
	assert_null(sig[0]);
	assert_int_equal(cf_conn_inflight(), 0);
	coffer_client_free(c);
	coffer_config_free(cfg);
	srv_stop(s);
}

static void
test_huge(void **state)
{
	struct srv *s = srv_start(M_HUGE);
	struct coffer_config *cfg = cfg_for(s->port, s->fp, NULL, NULL);
	struct coffer_client *c = NULL;
	struct coffer_info info;

	assert_int_equal(coffer_client_new(cfg, &c, NULL, 0), 0);
	assert_int_equal(coffer_get_info(c, &info), COFFER_E_TOOBIG);
	assert_int_equal(cf_conn_inflight(), 0);
	coffer_client_free(c);
	coffer_config_free(cfg);
	srv_stop(s);
}

static void
test_retry_same_idem(void **state)
{
	struct srv *s = srv_start(M_DROP_FIRST);
	struct coffer_config *cfg = cfg_for(s->port, s->fp, NULL, NULL);
	struct coffer_client *c = NULL;

	assert_int_equal(coffer_client_new(cfg, &c, NULL, 0), 0);
	assert_int_equal(coffer_user_create(c, "bob", COFFER_ROLE_CU,
	    "Secret-1"), 0);
	assert_int_equal(atomic_load(&s->accepted), 2);
	pthread_mutex_lock(&s->mu);
	assert_int_equal(s->nidem, 2);
	assert_memory_equal(s->idem[0], s->idem[1], 16);
	pthread_mutex_unlock(&s->mu);
	/* A new logical write gets a new key. */
	assert_int_equal(coffer_user_create(c, "carol", COFFER_ROLE_CU,
	    "Secret-2"), 0);
	pthread_mutex_lock(&s->mu);
	assert_int_equal(s->nidem, 3);
	assert_memory_not_equal(s->idem[1], s->idem[2], 16);
	pthread_mutex_unlock(&s->mu);
	assert_int_equal(cf_conn_inflight(), 0);
	coffer_client_free(c);
	coffer_config_free(cfg);
	srv_stop(s);
}

static void
test_retry_unknown_outcome(void **state)
{
	struct srv *s = srv_start(M_UNKNOWN_FIRST);
	struct coffer_config *cfg = cfg_for(s->port, s->fp, NULL, NULL);
	struct coffer_client *c = NULL;

	assert_int_equal(coffer_client_new(cfg, &c, NULL, 0), 0);
	assert_int_equal(coffer_user_create(c, "bob", COFFER_ROLE_CU,
	    "Secret-1"), 0);
	assert_int_equal(atomic_load(&s->accepted), 1);
	pthread_mutex_lock(&s->mu);
	assert_int_equal(s->nidem, 2);
	assert_memory_equal(s->idem[0], s->idem[1], 16);
	pthread_mutex_unlock(&s->mu);
	assert_int_equal(cf_conn_inflight(), 0);
	coffer_client_free(c);
	coffer_config_free(cfg);
	srv_stop(s);
}

/*
 * The node closed a pooled connection after its last answer. Used again
 * within a second there is no look before use: the request goes out on
 * the dead connection, fails, and is sent again on a fresh one. Idle
 * longer, the look finds it closed first. Either way the caller sees
 * success and the node gets exactly one request per call.
 */
static void
test_closed_idle_connection(void **state)
{
	struct srv *s = srv_start(M_ONE_EACH);
	struct coffer_config *cfg = cfg_for(s->port, s->fp, NULL, NULL);
	struct coffer_client *c = NULL;
	struct coffer_info info;

	assert_int_equal(coffer_client_new(cfg, &c, NULL, 0), 0);
	assert_int_equal(coffer_get_info(c, &info), 0);
	assert_int_equal(coffer_get_info(c, &info), 0);	/* at once */
	assert_int_equal(atomic_load(&s->accepted), 2);
	assert_int_equal(atomic_load(&s->requests), 2);
	usleep(1200 * 1000);
	assert_int_equal(coffer_get_info(c, &info), 0);	/* after 1.2 s */
	assert_int_equal(atomic_load(&s->accepted), 3);
	assert_int_equal(atomic_load(&s->requests), 3);
	assert_int_equal(info.node_id, 7);
	assert_int_equal(cf_conn_inflight(), 0);
	coffer_client_free(c);
	coffer_config_free(cfg);
	srv_stop(s);
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * A node that never answers: the call fails with COFFER_E_TIMEOUT once
 * the configured timeout has passed, not before and not much after. With
 * 2,100 ms the wait is mostly recv() blocking in 1 s slices (conn.c),
 * with 400 ms it is poll() alone. The upper bound (+600 ms) is loose for
 * scheduling noise yet catches a wait that ignores the deadline: slices
 * run on to the next whole second, 3,000 ms (+900) for 2,100.
 */
static void
timeout_case(unsigned timeout_ms)
{
	struct srv *s = srv_start(M_SILENT);
	struct coffer_config *cfg = cfg_for(s->port, s->fp, NULL, NULL);
	struct coffer_client *c = NULL;
	struct coffer_info info;
	uint64_t t0, took;

	assert_int_equal(coffer_config_set_timeout_ms(cfg, timeout_ms), 0);
	assert_int_equal(coffer_client_new(cfg, &c, NULL, 0), 0);
	t0 = mono_ms();
	assert_int_equal(coffer_get_info(c, &info), COFFER_E_TIMEOUT);
	took = mono_ms() - t0;
	assert_true(took + 20 >= timeout_ms);
	assert_true(took < timeout_ms + 600);
	assert_true(atomic_load(&s->requests) >= 1);
	assert_int_equal(cf_conn_inflight(), 0);
	coffer_client_free(c);
	coffer_config_free(cfg);
	srv_stop(s);
}

static void
test_timeout_long(void **state)
{
	timeout_case(2100);
}

static void
test_timeout_short(void **state)
{
	timeout_case(400);
}

/* A reply after 1.3 s: one blocking read slice ends empty, the next gets
 * it; the call succeeds on the same connection. */
static void
test_slow_reply(void **state)
{
	struct srv *s = srv_start(M_SLOW);
	struct coffer_config *cfg = cfg_for(s->port, s->fp, NULL, NULL);
	struct coffer_client *c = NULL;
	struct coffer_info info;
	uint64_t t0;

	assert_int_equal(coffer_client_new(cfg, &c, NULL, 0), 0);
	t0 = mono_ms();
	assert_int_equal(coffer_get_info(c, &info), 0);
	assert_true(mono_ms() - t0 + 20 >= SLOW_MS);
	assert_int_equal(info.node_id, 7);
	assert_int_equal(coffer_get_info(c, &info), 0);
	assert_int_equal(atomic_load(&s->accepted), 1);
	assert_int_equal(atomic_load(&s->requests), 2);
	assert_int_equal(cf_conn_inflight(), 0);
	coffer_client_free(c);
	coffer_config_free(cfg);
	srv_stop(s);
}

/*
 * coffer_sign_many: n requests pipelined on one connection, n replies
 * matched to their inputs (the server answers SHA-256 of each input, in
 * order); one refused input fails the whole call and returns nothing;
 * argument checks. coffer_verify_many: a result per pair, the spoiled
 * ones COFFER_E_SIGNATURE.
 */
static void
test_sign_many(void **state)
{
	struct srv *s = srv_start(M_NORMAL);
	struct coffer_config *cfg = cfg_for(s->port, s->fp, NULL, NULL);
	struct coffer_client *c = NULL;
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	char bufs[40][16];
	const uint8_t *in[40];
	size_t len[40], siglen[40], i;
	uint8_t *sig[40], md[32];

	assert_int_equal(coffer_client_new(cfg, &c, NULL, 0), 0);
	for (i = 0; i < 40; i++) {
		snprintf(bufs[i], sizeof(bufs[i]), "input %zu", i);
		in[i] = (const uint8_t *)bufs[i];
		len[i] = strlen(bufs[i]);
	}
	assert_int_equal(coffer_sign_many(c, &m, 7, 40, in, len, sig, siglen),
	    0);
	for (i = 0; i < 40; i++) {
		assert_int_equal(EVP_Digest(in[i], len[i], md, NULL,
		    EVP_sha256(), NULL), 1);
		assert_int_equal(siglen[i], 32);
		assert_memory_equal(sig[i], md, 32);
		coffer_free(sig[i], siglen[i]);
	}
	assert_int_equal(atomic_load(&s->accepted), 1);
	assert_int_equal(atomic_load(&s->requests), 40);
	assert_int_equal(cf_conn_inflight(), 0);

	/* Input 2 of 4 refused: the call fails, naming it; nothing out. */
	in[2] = (const uint8_t *)"bad";
	len[2] = 3;
	assert_int_equal(coffer_sign_many(c, &m, 7, 4, in, len, sig, siglen),
	    COFFER_E_DATA_LEN);
	assert_non_null(strstr(coffer_client_last_error(c), "input 2"));
	for (i = 0; i < 4; i++) {
		assert_null(sig[i]);
		assert_int_equal(siglen[i], 0);
	}
	/* The connection is still in step: a normal batch works on it. */
	in[2] = (const uint8_t *)bufs[2];
	len[2] = strlen(bufs[2]);
	assert_int_equal(coffer_sign_many(c, &m, 7, 3, in, len, sig, siglen),
	    0);
	for (i = 0; i < 3; i++)
		coffer_free(sig[i], siglen[i]);
	assert_int_equal(atomic_load(&s->accepted), 1);

	/* coffer_verify_many: the 40 "signatures" back, two spoiled. */
	assert_int_equal(coffer_sign_many(c, &m, 7, 40, in, len, sig, siglen),
	    0);
	sig[5][0] ^= 1;
	siglen[9] = 31;
	{
		int res[40];

		assert_int_equal(coffer_verify_many(c, &m, 7, 40, in, len,
		    (const uint8_t *const *)sig, siglen, res), 0);
		for (i = 0; i < 40; i++)
			assert_int_equal(res[i], i == 5 || i == 9 ?
			    COFFER_E_SIGNATURE : 0);
		assert_int_equal(coffer_verify_many(c, &m, 7, 2, in, len,
		    NULL, siglen, res), COFFER_E_INVAL);
	}
	siglen[9] = 32;
	for (i = 0; i < 40; i++)
		coffer_free(sig[i], siglen[i]);
	assert_int_equal(atomic_load(&s->accepted), 1);

	assert_int_equal(coffer_sign_many(c, &m, 7, 0, NULL, NULL, NULL,
	    NULL), 0);
	assert_int_equal(coffer_sign_many(c, &m, 7, 2, NULL, len, sig,
	    siglen), COFFER_E_INVAL);
	assert_int_equal(coffer_sign_many(c, NULL, 7, 2, in, len, sig,
	    siglen), COFFER_E_INVAL);
	assert_int_equal(coffer_sign_many(c, &m, 7, COFFER_SIGN_MANY_MAX + 1,
	    in, len, sig, siglen), COFFER_E_INVAL);
	assert_int_equal(cf_conn_inflight(), 0);
	coffer_client_free(c);
	coffer_config_free(cfg);
	srv_stop(s);
}

static int
setup(void **state)
{
	const char *base = getenv("COFFER_TEST_TMP");
	char tmpl[1024];

	if (base == NULL)
		base = "/tmp";
	(void)mkdir(base, 0700);
	if (snprintf(tmpl, sizeof(tmpl), "%s/clierr-XXXXXX", base) >= (int)sizeof(tmpl))
		return -1;
	if (mkdtemp(tmpl) == NULL)
		return -1;
	memcpy(tmpdir, tmpl, sizeof(tmpdir));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* SHA-256(a || b), the fake node's answers. */
static void
sha2(const void *a, size_t alen, const void *b, size_t blen, uint8_t md[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	assert_non_null(c);
	assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(c, a, alen), 1);
	if (blen > 0)
		assert_int_equal(EVP_DigestUpdate(c, b, blen), 1);
	assert_int_equal(EVP_DigestFinal_ex(c, md, NULL), 1);
	EVP_MD_CTX_free(c);
}

/*
 * coffer_encrypt_many: each answer and the IV the node drew go to their
 * own message; a mechanism that carries an IV is refused before anything
 * is sent; a node-made IV needs somewhere to go. coffer_decrypt_many:
 * each message travels with its own IV (GCM, CBC, CTR), a refused message
 * fails alone.
 */
static void
test_encrypt_many(void **state)
{
	struct srv *s = srv_start(M_NORMAL);
	struct coffer_config *cfg = cfg_for(s->port, s->fp, NULL, NULL);
	struct coffer_client *c = NULL;
	CK_GCM_PARAMS g = { NULL, 0, 0, NULL, 0, 128 };
	CK_MECHANISM m = { CKM_AES_GCM, &g, sizeof(g) };
	uint8_t ivbuf[16] = { 1 }, ivb[40][16], *ivs[40], *out[40], md[32];
	const uint8_t *cin[40], *civ[40];
	CK_AES_CTR_PARAMS ctr = { 32, { 0 } };
	char bufs[40][16];
	size_t len[40], olen[40], ivl[40], i, nreq;
	int res[40];

	(void)state;
	assert_int_equal(coffer_client_new(cfg, &c, NULL, 0), 0);
	for (i = 0; i < 40; i++) {
		snprintf(bufs[i], sizeof(bufs[i]), "message %zu", i);
		cin[i] = (const uint8_t *)bufs[i];
		len[i] = strlen(bufs[i]);
		ivs[i] = ivb[i];
		ivl[i] = sizeof(ivb[i]);
	}
	assert_int_equal(coffer_encrypt_many(c, &m, 9, 40, cin, len, out,
	    olen, ivs, ivl), 0);
	for (i = 0; i < 40; i++) {
		sha2(cin[i], len[i], NULL, 0, md);
		assert_int_equal(olen[i], 32);
		assert_memory_equal(out[i], md, 32);
		assert_int_equal(ivl[i], 12);
		assert_memory_equal(ivb[i], md + 20, 12);
		coffer_free(out[i], olen[i]);
	}
	nreq = atomic_load(&s->requests);
	assert_int_equal(nreq, 40);

	/* IVs the caller would lose, or that do not fit */
	assert_int_equal(coffer_encrypt_many(c, &m, 9, 3, cin, len, out,
	    olen, NULL, NULL), COFFER_E_INVAL);
	assert_non_null(strstr(coffer_client_last_error(c), "iv"));
	for (i = 0; i < 3; i++)
		assert_null(out[i]);
	ivl[1] = 8;
	assert_int_equal(coffer_encrypt_many(c, &m, 9, 3, cin, len, out,
	    olen, ivs, ivl), COFFER_E_BUFFER_TOO_SMALL);
	assert_int_equal(ivl[1], 12);
	for (i = 0; i < 3; i++)
		assert_null(out[i]);
	nreq = atomic_load(&s->requests);

	/* One IV for every message: refused, nothing sent. */
	g.pIv = ivbuf;
	g.ulIvLen = 12;
	assert_int_equal(coffer_encrypt_many(c, &m, 9, 3, cin, len, out,
	    olen, ivs, ivl), COFFER_E_MECH_PARAM);
	{
		CK_MECHANISM cbc = { CKM_AES_CBC_PAD, ivbuf, 16 };
		CK_MECHANISM cm = { CKM_AES_CTR, &ctr, sizeof(ctr) };

		assert_int_equal(coffer_encrypt_many(c, &cbc, 9, 3, cin, len,
		    out, olen, ivs, ivl), COFFER_E_MECH_PARAM);
		assert_int_equal(coffer_encrypt_many(c, &cm, 9, 3, cin, len,
		    out, olen, ivs, ivl), COFFER_E_MECH_PARAM);
	}
	assert_int_equal(atomic_load(&s->requests), nreq);

	/* Decryption: message i with IV i (GCM, CBC-PAD, CTR). */
	for (i = 0; i < 40; i++) {
		memset(ivb[i], (int)i, 16);
		civ[i] = ivb[i];
		ivl[i] = 12;
	}
	assert_int_equal(coffer_decrypt_many(c, &m, 9, 40, cin, len, civ, ivl,
	    out, olen, res), 0);
	for (i = 0; i < 40; i++) {
		assert_int_equal(res[i], 0);
		sha2(cin[i], len[i], civ[i], 12, md);
		assert_int_equal(olen[i], 32);
		assert_memory_equal(out[i], md, 32);
		coffer_free(out[i], olen[i]);
	}
	{
		CK_MECHANISM cbc = { CKM_AES_CBC_PAD, ivbuf, 16 };
		CK_MECHANISM cm = { CKM_AES_CTR, &ctr, sizeof(ctr) };
		CK_MECHANISM ecb = { CKM_AES_ECB, NULL, 0 };

		for (i = 0; i < 3; i++)
			ivl[i] = 16;
		cin[1] = (const uint8_t *)"bad";
		len[1] = 3;
		assert_int_equal(coffer_decrypt_many(c, &cbc, 9, 3, cin, len,
		    civ, ivl, out, olen, res), 0);
		for (i = 0; i < 3; i++) {
			if (i == 1) {
				assert_int_equal(res[i], COFFER_E_DATA_LEN);
				assert_null(out[i]);
				continue;
			}
			assert_int_equal(res[i], 0);
			sha2(cin[i], len[i], civ[i], 16, md);
			assert_memory_equal(out[i], md, 32);
			coffer_free(out[i], olen[i]);
		}
		cin[1] = (const uint8_t *)bufs[1];
		len[1] = strlen(bufs[1]);
		assert_int_equal(coffer_decrypt_many(c, &cm, 9, 3, cin, len,
		    civ, ivl, out, olen, res), 0);
		for (i = 0; i < 3; i++) {
			assert_int_equal(res[i], 0);
			sha2(cin[i], len[i], civ[i], 16, md);
			assert_memory_equal(out[i], md, 32);
			coffer_free(out[i], olen[i]);
		}
		/* no IVs: the mechanism's own for all */
		assert_int_equal(coffer_decrypt_many(c, &cbc, 9, 2, cin, len,
		    NULL, NULL, out, olen, res), 0);
		for (i = 0; i < 2; i++) {
			sha2(cin[i], len[i], ivbuf, 16, md);
			assert_memory_equal(out[i], md, 32);
			coffer_free(out[i], olen[i]);
		}
		nreq = atomic_load(&s->requests);
		ivl[2] = 15;
		assert_int_equal(coffer_decrypt_many(c, &cm, 9, 3, cin, len,
		    civ, ivl, out, olen, res), COFFER_E_MECH_PARAM);
		for (i = 0; i < 3; i++)
			assert_int_equal(res[i], COFFER_E_MECH_PARAM);
		assert_int_equal(coffer_decrypt_many(c, &ecb, 9, 3, cin, len,
		    civ, ivl, out, olen, res), COFFER_E_MECH_PARAM);
		assert_int_equal(atomic_load(&s->requests), nreq);
	}
	assert_int_equal(coffer_decrypt_many(c, &m, 9, 2, cin, len, civ,
	    NULL, out, olen, res), COFFER_E_INVAL);
	assert_int_equal(coffer_decrypt_many(c, &m, 9, 2, cin, len, civ, ivl,
	    out, olen, NULL), COFFER_E_INVAL);
	assert_int_equal(coffer_encrypt_many(c, &m, 9,
	    COFFER_SIGN_MANY_MAX + 1, cin, len, out, olen, ivs, ivl),
	    COFFER_E_INVAL);
	assert_int_equal(coffer_encrypt_many(c, &m, 9, 0, NULL, NULL, NULL,
	    NULL, NULL, NULL), 0);
	assert_int_equal(atomic_load(&s->accepted), 1);
	assert_int_equal(cf_conn_inflight(), 0);
	coffer_client_free(c);
	coffer_config_free(cfg);
	srv_stop(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_args),
		cmocka_unit_test(test_null_args_live),
		cmocka_unit_test(test_closed_port),
		cmocka_unit_test(test_pin_mismatch),
		cmocka_unit_test(test_untrusted),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_calls),
		cmocka_unit_test(test_bad_id),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_retry_same_idem),
		cmocka_unit_test(test_retry_unknown_outcome),
		cmocka_unit_test(test_closed_idle_connection),
		cmocka_unit_test(test_timeout_long),
		cmocka_unit_test(test_timeout_short),
		cmocka_unit_test(test_slow_reply),
		cmocka_unit_test(test_sign_many),
		cmocka_unit_test(test_encrypt_many),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
