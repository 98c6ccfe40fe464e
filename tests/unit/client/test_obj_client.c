/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_obj_client.c: coffer_objects.h calls against in-test TLS 1.3 fake
 * nodes (OpenSSL on the other side): LoginReq.client_instance (the same on
 * every connection, another one per client and after fork), find paging,
 * get-attributes end to end, multi-part operations pinned to their node,
 * one-shot calls streamed above 1 MiB, the GCM IV, random bytes in 1 MiB
 * chunks, failover to the next server on COFFER_E_UNAVAILABLE (but never
 * for session objects), key generation's own timeout, and fork safety (the child is not logged in, uses
 * another instance, and the parent's connection keeps working).
 */
#include <coffer/coffer_objects.h>	/* first: p11-kit's macros */

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "coffer.pb-c.h"

/* M_SLOW: key generation and random bytes are answered after SLOW_MS. */
enum mode { M_NORMAL, M_UNAVAIL, M_SLOW };

#define SLOW_MS 1500

#define MAX_HANDLERS 64
#define NFIND 2500
#define MAX_IN (8u << 20)

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
	_Atomic enum mode mode;
	atomic_int accepted;
	atomic_int logins;
	atomic_int requests;
	atomic_int finds;
	atomic_int updates;
	atomic_int one_shots;
	atomic_int randoms;
	atomic_int crypto;		/* init/update/final/one-shot served */
	atomic_ullong next_handle;
	atomic_ullong next_op;
	pthread_mutex_t mu;
	pthread_t handlers[MAX_HANDLERS];
	int nhandlers;
	uint64_t instances[16];		/* client_instance of each login */
	int ninst;
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

static const uint8_t gcm_iv[12] = "IVIVIVIVIVIV";

static void
xor_data(const ProtobufCBinaryData *in, uint8_t **out, size_t *len)
{
	size_t i;

	*len = in->len;
	*out = in->len > 0 ? malloc(in->len) : NULL;
	for (i = 0; i < in->len; i++)
		(*out)[i] = in->data[i] ^ 0x5a;
}

static void
serve(struct hctx *h, SSL *ssl)
{
	struct srv *s = h->s;
	bool logged_in = false;
	uint8_t hdr[4], *buf, *out = NULL;
	size_t outlen = 0, i;
	uint32_t len;
	Coffer__Request *req;
	Coffer__Response resp;
	Coffer__LoginResp lr;
	Coffer__Empty empty;
	Coffer__ObjHandleResp hr;
	Coffer__ObjKeyPairResp kp;
	Coffer__ObjFindResp fr;
	Coffer__ObjGetAttrsResp ga;
	Coffer__AttrResult ar[4], *arp[4];
	Coffer__CryptoInitResp ir;
	Coffer__CryptoDataResp dr;
	uint64_t handles[1000];
	static const uint8_t cls_be[8] = { 0, 0, 0, 0, 0, 0, 0, 4 };
	int rc;

	for (;;) {
		if (read_all(ssl, hdr, 4) != 0)
			return;
		len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
		    (uint32_t)hdr[2] << 8 | hdr[3];
		if (len == 0 || len > MAX_IN || (buf = malloc(len)) == NULL)
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
		if (atomic_load(&s->mode) == M_SLOW && (req->body_case ==
		    COFFER__REQUEST__BODY_OBJ_GENERATE_KEY || req->body_case ==
		    COFFER__REQUEST__BODY_OBJ_GENERATE_KEY_PAIR ||
		    req->body_case == COFFER__REQUEST__BODY_RANDOM))
			usleep(SLOW_MS * 1000);
		coffer__response__init(&resp);
		coffer__empty__init(&empty);
		coffer__crypto_data_resp__init(&dr);
		out = NULL;
		resp.id = req->id;
		if (atomic_load(&s->mode) == M_UNAVAIL &&
		    req->body_case != COFFER__REQUEST__BODY_LOGIN &&
		    req->body_case != COFFER__REQUEST__BODY_LOGOUT) {
			resp.rc = COFFER_E_UNAVAILABLE;
			goto send;
		}
		if (req->body_case >= 64 && !logged_in) {
			resp.rc = COFFER_E_NOTLOGGEDIN;
			goto send;
		}
		switch (req->body_case) {
		case COFFER__REQUEST__BODY_LOGIN:
			atomic_fetch_add(&s->logins, 1);
			pthread_mutex_lock(&s->mu);
			if (s->ninst < 16)
				s->instances[s->ninst++] =
				    req->login->client_instance;
			pthread_mutex_unlock(&s->mu);
			coffer__login_resp__init(&lr);
			lr.role = COFFER__ROLE__ROLE_CU;
			lr.username = req->login->username;
			resp.body_case = COFFER__RESPONSE__BODY_LOGIN;
			resp.login = &lr;
			logged_in = true;
			break;
		case COFFER__REQUEST__BODY_LOGOUT:
			logged_in = false;
			resp.body_case = COFFER__RESPONSE__BODY_LOGOUT;
			resp.logout = &empty;
			break;
		case COFFER__REQUEST__BODY_OBJ_GENERATE_KEY:
			coffer__obj_handle_resp__init(&hr);
			hr.handle = atomic_fetch_add(&s->next_handle, 1);
			resp.body_case =
			    COFFER__RESPONSE__BODY_OBJ_GENERATE_KEY;
			resp.obj_generate_key = &hr;
			break;
		case COFFER__REQUEST__BODY_OBJ_GENERATE_KEY_PAIR:
			coffer__obj_key_pair_resp__init(&kp);
			kp.pub = atomic_fetch_add(&s->next_handle, 2);
			kp.priv = kp.pub + 1;
			resp.body_case =
			    COFFER__RESPONSE__BODY_OBJ_GENERATE_KEY_PAIR;
			resp.obj_generate_key_pair = &kp;
			break;
		case COFFER__REQUEST__BODY_OBJ_FIND:
			atomic_fetch_add(&s->finds, 1);
			coffer__obj_find_resp__init(&fr);
			for (i = 0; i < 1000 && req->obj_find->after + i + 1 <=
			    NFIND; i++)
				handles[i] = req->obj_find->after + i + 1;
			fr.handles = handles;
			fr.n_handles = i;
			fr.more = i > 0 && handles[i - 1] < NFIND;
			resp.body_case = COFFER__RESPONSE__BODY_OBJ_FIND;
			resp.obj_find = &fr;
			break;
		case COFFER__REQUEST__BODY_OBJ_GET_ATTRS:
			coffer__obj_get_attrs_resp__init(&ga);
			for (i = 0; i < req->obj_get_attrs->n_types && i < 4;
			    i++) {
				coffer__attr_result__init(&ar[i]);
				ar[i].type = req->obj_get_attrs->types[i];
				if (ar[i].type == CKA_CLASS) {
					ar[i].value.data = (uint8_t *)cls_be;
					ar[i].value.len = 8;
				} else if (ar[i].type == CKA_LABEL) {
					ar[i].value.data = (uint8_t *)"lbl";
					ar[i].value.len = 3;
				} else if (ar[i].type == CKA_VALUE) {
					ar[i].status = COFFER_E_ATTR_SENSITIVE;
				} else {
					ar[i].status = COFFER_E_ATTRIBUTE;
				}
				arp[i] = &ar[i];
			}
			ga.attrs = arp;
			ga.n_attrs = i;
			resp.body_case = COFFER__RESPONSE__BODY_OBJ_GET_ATTRS;
			resp.obj_get_attrs = &ga;
			break;
		case COFFER__REQUEST__BODY_CRYPTO_INIT:
			atomic_fetch_add(&s->crypto, 1);
			coffer__crypto_init_resp__init(&ir);
			ir.op = atomic_fetch_add(&s->next_op, 1);
			if (req->crypto_init->mech->type == CKM_AES_GCM) {
				ir.iv.data = (uint8_t *)gcm_iv;
				ir.iv.len = sizeof(gcm_iv);
			}
			resp.body_case = COFFER__RESPONSE__BODY_CRYPTO_INIT;
			resp.crypto_init = &ir;
			break;
		case COFFER__REQUEST__BODY_CRYPTO_UPDATE:
			atomic_fetch_add(&s->crypto, 1);
			atomic_fetch_add(&s->updates, 1);
			xor_data(&req->crypto_update->data, &out, &outlen);
			dr.data.data = out;
			dr.data.len = outlen;
			resp.body_case = COFFER__RESPONSE__BODY_CRYPTO_UPDATE;
			resp.crypto_update = &dr;
			break;
		case COFFER__REQUEST__BODY_CRYPTO_FINAL:
			atomic_fetch_add(&s->crypto, 1);
			if (req->crypto_final->signature.len > 0 &&
			    req->crypto_final->signature.data[0] != 'S') {
				resp.rc = COFFER_E_SIGNATURE;
				break;
			}
			dr.data.data = (uint8_t *)"END";
			dr.data.len = 3;
			resp.body_case = COFFER__RESPONSE__BODY_CRYPTO_FINAL;
			resp.crypto_final = &dr;
			break;
		case COFFER__REQUEST__BODY_CRYPTO_ONE_SHOT:
			atomic_fetch_add(&s->crypto, 1);
			atomic_fetch_add(&s->one_shots, 1);
			xor_data(&req->crypto_one_shot->data, &out, &outlen);
			dr.data.data = out;
			dr.data.len = outlen;
			if (req->crypto_one_shot->mech->type == CKM_AES_GCM) {
				dr.iv.data = (uint8_t *)gcm_iv;
				dr.iv.len = sizeof(gcm_iv);
			}
			resp.body_case = COFFER__RESPONSE__BODY_CRYPTO_ONE_SHOT;
			resp.crypto_one_shot = &dr;
			break;
		case COFFER__REQUEST__BODY_CRYPTO_CANCEL:
			resp.body_case = COFFER__RESPONSE__BODY_CRYPTO_CANCEL;
			resp.crypto_cancel = &empty;
			break;
		case COFFER__REQUEST__BODY_RANDOM:
			atomic_fetch_add(&s->randoms, 1);
			out = malloc(req->random->len);
			for (i = 0; i < req->random->len; i++)
				out[i] = (uint8_t)(0xab ^ i);
			dr.data.data = out;
			dr.data.len = req->random->len;
			resp.body_case = COFFER__RESPONSE__BODY_RANDOM;
			resp.random = &dr;
			break;
		default:
			resp.rc = COFFER_E_UNSUPPORTED;
			break;
		}
send:
		rc = send_resp(ssl, &resp);
		free(out);
		coffer__request__free_unpacked(req, NULL);
		if (rc != 0)
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

#define ZPIN \
	"0000000000000000000000000000000000000000000000000000000000000000"

static struct srv *
start(void)
{
	struct srv *s = srv_start(M_NORMAL);

	atomic_store(&s->next_handle, 100);
	atomic_store(&s->next_op, 7);
	return s;
}

static struct coffer_client *
client_for(struct srv *s)
{
	struct coffer_config *cfg = cfg_for(s->port, s->fp, NULL, NULL);
	struct coffer_client *c = NULL;

	assert_int_equal(coffer_client_new(cfg, &c, NULL, 0), 0);
	coffer_config_free(cfg);
	return c;
}

/* --- tests ---------------------------------------------------------------- */

static void
test_instance_find_attrs(void **state)
{
	struct srv *s = start();
	struct coffer_client *c = client_for(s), *c2 = client_for(s);
	uint64_t *h = NULL;
	size_t n = 0, i;
	CK_OBJECT_CLASS cls = 0;
	char label[8];
	CK_ATTRIBUTE t[3] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, label, sizeof(label) },
		{ CKA_VALUE, label, sizeof(label) },
	};

	(void)state;
	/* Not logged in: the node refuses. */
	assert_int_equal(coffer_find_objects(c, NULL, 0, &h, &n),
	    COFFER_E_NOTLOGGEDIN);
	assert_null(h);
	assert_int_equal(coffer_login(c, "u", "pw", NULL), 0);
	assert_int_equal(coffer_login(c2, "u", "pw", NULL), 0);
	assert_int_equal(coffer_find_objects(c, NULL, 0, &h, &n), 0);
	assert_int_equal(n, NFIND);
	for (i = 0; i < n; i++)
		assert_true(h[i] == i + 1);
	assert_int_equal(atomic_load(&s->finds), 3);	/* 1000+1000+500 */
	coffer_free(h, n * sizeof(*h));

	assert_int_equal(coffer_get_attributes(c, 5, t, 3),
	    COFFER_E_ATTR_SENSITIVE);
	assert_true(cls == CKO_SECRET_KEY);
	assert_int_equal(t[0].ulValueLen, sizeof(CK_ULONG));
	assert_int_equal(t[1].ulValueLen, 3);
	assert_memory_equal(label, "lbl", 3);
	assert_true(t[2].ulValueLen == CK_UNAVAILABLE_INFORMATION);

	pthread_mutex_lock(&s->mu);
	assert_int_equal(s->ninst, 2);
	assert_true(s->instances[0] != 0 && s->instances[1] != 0);
	assert_true(s->instances[0] != s->instances[1]);
	pthread_mutex_unlock(&s->mu);
	coffer_client_free(c);
	coffer_client_free(c2);
	srv_stop(s);
}

/* Two threads force two pooled connections: both log in as one instance. */
struct thr_arg {
	struct coffer_client *c;
	int rc;
};

static void *
thr_random(void *arg)
{
	struct thr_arg *a = arg;
	uint8_t *buf = malloc(3u << 20);

	a->rc = coffer_random(a->c, buf, 3u << 20);
	free(buf);
	return NULL;
}

static void
test_instance_pool(void **state)
{
	struct srv *s = start();
	struct coffer_client *c = client_for(s);
	struct thr_arg a[3];
	pthread_t th[3];
	int i;

	(void)state;
	assert_int_equal(coffer_login(c, "u", "pw", NULL), 0);
	for (i = 0; i < 3; i++) {
		a[i].c = c;
		assert_int_equal(pthread_create(&th[i], NULL, thr_random,
		    &a[i]), 0);
	}
	for (i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(a[i].rc, 0);
	}
	pthread_mutex_lock(&s->mu);
	assert_true(s->ninst >= 2);
	for (i = 1; i < s->ninst; i++)
		assert_true(s->instances[i] == s->instances[0]);
	pthread_mutex_unlock(&s->mu);
	coffer_client_free(c);
	srv_stop(s);
}

static void
test_ops_and_streaming(void **state)
{
	struct srv *s = start();
	struct coffer_client *c = client_for(s);
	uint8_t key16[16] = { 0 }, iv[16];
	CK_GCM_PARAMS g = { NULL, 0, 96, NULL, 0, 128 };
	CK_MECHANISM gcm = { CKM_AES_GCM, &g, sizeof(g) };
	CK_MECHANISM cbc = { CKM_AES_CBC, key16, sizeof(key16) };
	CK_MECHANISM bad = { CKM_AES_CBC, key16, 8 };
	struct coffer_op *op = NULL;
	size_t big = (5u << 19) + 3, n, i, ivl;	/* 2.5 MiB + 3 */
	uint8_t *in = malloc(big), *out = NULL;

	(void)state;
	assert_non_null(in);
	for (i = 0; i < big; i++)
		in[i] = (uint8_t)(i * 7);
	assert_int_equal(coffer_login(c, "u", "pw", NULL), 0);

	/* Bad parameters never reach the node. */
	assert_int_equal(coffer_encrypt(c, &bad, 9, in, 16, &out, &n),
	    COFFER_E_MECH_PARAM);
	assert_int_equal(atomic_load(&s->crypto), 0);

	/* Multi-part. */
	assert_int_equal(coffer_op_init(c, COFFER_OP_ENCRYPT, &gcm, 9, &op),
	    0);
	ivl = sizeof(iv);
	assert_int_equal(coffer_op_iv(op, iv, &ivl), 0);
	assert_int_equal(ivl, 12);
	assert_memory_equal(iv, "IVIVIVIVIVIV", 12);
	ivl = 4;
	assert_int_equal(coffer_op_iv(op, iv, &ivl),
	    COFFER_E_BUFFER_TOO_SMALL);
	assert_int_equal(ivl, 12);
	assert_int_equal(coffer_op_update(op, in, 10, &out, &n), 0);
	assert_int_equal(n, 10);
	for (i = 0; i < n; i++)
		assert_int_equal(out[i], in[i] ^ 0x5a);
	coffer_free(out, n);
	assert_int_equal(coffer_op_update(op, NULL, 0, &out, &n), 0);
	assert_null(out);
	assert_int_equal(n, 0);
	assert_int_equal(coffer_op_final(op, &out, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "END", 3);
	coffer_free(out, n);
	assert_int_equal(coffer_op_final(op, &out, &n), COFFER_E_OP_NOT_INIT);
	coffer_op_free(op);

	/* Small one-shot: one request; GCM IV returned. */
	atomic_store(&s->updates, 0);
	ivl = sizeof(iv);
	assert_int_equal(coffer_encrypt_iv(c, &gcm, 9, in, 100, &out, &n, iv,
	    &ivl), 0);
	assert_int_equal(atomic_load(&s->one_shots), 1);
	assert_int_equal(n, 100);
	assert_int_equal(ivl, 12);
	assert_memory_equal(iv, "IVIVIVIVIVIV", 12);
	coffer_free(out, n);

	/* Big one-shot: streamed in 1 MiB updates. */
	assert_int_equal(coffer_encrypt(c, &cbc, 9, in, big, &out, &n), 0);
	assert_int_equal(atomic_load(&s->one_shots), 1);
	assert_int_equal(atomic_load(&s->updates), 3);
	assert_int_equal(n, big + 3);
	for (i = 0; i < big; i++)
		if (out[i] != (in[i] ^ 0x5a))
			fail_msg("byte %zu", i);
	assert_memory_equal(out + big, "END", 3);
	coffer_free(out, n);

	/* Streamed verify: the signature goes with the final. */
	assert_int_equal(coffer_verify(c, &cbc, 9, in, big,
	    (const uint8_t *)"Sig", 3), 0);
	assert_int_equal(coffer_verify(c, &cbc, 9, in, big,
	    (const uint8_t *)"bad", 3), COFFER_E_SIGNATURE);
	free(in);
	coffer_client_free(c);
	srv_stop(s);
}

static void
test_random_chunks(void **state)
{
	struct srv *s = start();
	struct coffer_client *c = client_for(s);
	size_t len = (2u << 20) + 5, i;
	uint8_t *buf = malloc(len);

	(void)state;
	assert_int_equal(coffer_login(c, "u", "pw", NULL), 0);
	assert_int_equal(coffer_random(c, buf, len), 0);
	assert_int_equal(atomic_load(&s->randoms), 3);
	for (i = 0; i < len; i++)
		if (buf[i] != (uint8_t)(0xab ^ (i % (1u << 20))))
			fail_msg("byte %zu", i);
	assert_int_equal(coffer_random(c, buf, 0), 0);
	free(buf);
	coffer_client_free(c);
	srv_stop(s);
}

static void
test_failover_and_pinning(void **state)
{
	struct srv *a = start(), *b = start();
	struct coffer_config *cfg = NULL;
	struct coffer_client *c = NULL;
	char hp[64];
	uint8_t r[32];
	uint64_t sess = 0, tok = 0;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE ttok = { CKA_TOKEN, &yes, sizeof(yes) };
	CK_MECHANISM kg = { CKM_AES_KEY_GEN, NULL, 0 };
	CK_OBJECT_CLASS cls;
	CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof(cls) };
	int before;

	(void)state;
	/* B presents A's certificate: one pin for the "cluster". */
	assert_int_equal(SSL_CTX_use_certificate(b->ctx, a->cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(b->ctx, a->key), 1);
	assert_int_equal(coffer_config_new(&cfg), 0);
	snprintf(hp, sizeof(hp), "127.0.0.1:%u", (unsigned)a->port);
	assert_int_equal(coffer_config_add_server(cfg, hp), 0);
	snprintf(hp, sizeof(hp), "127.0.0.1:%u", (unsigned)b->port);
	assert_int_equal(coffer_config_add_server(cfg, hp), 0);
	assert_int_equal(coffer_config_set_pin(cfg, a->fp), 0);
	assert_int_equal(coffer_client_new(cfg, &c, NULL, 0), 0);
	coffer_config_free(cfg);
	assert_int_equal(coffer_login(c, "u", "pw", NULL), 0);

	/* Both objects made on A (the first server). */
	assert_int_equal(coffer_generate_key(c, &kg, NULL, 0, &sess), 0);
	assert_int_equal(coffer_generate_key(c, &kg, &ttok, 1, &tok), 0);
	assert_true(sess != 0 && tok != 0);
	assert_int_equal(atomic_load(&b->requests), 0);

	/* A becomes unavailable: reads fail over to B, with a login. */
	atomic_store(&a->mode, M_UNAVAIL);
	if (coffer_random(c, r, sizeof(r)) != 0)
		fail_msg("%s", coffer_client_last_error(c));
	assert_int_equal(atomic_load(&b->randoms), 1);
	assert_int_equal(atomic_load(&b->logins), 1);
	assert_int_equal(coffer_get_attributes(c, tok, &t, 1), 0);
	assert_true(cls == CKO_SECRET_KEY);
	/* A session object exists only on A: no failover. */
	before = atomic_load(&b->requests);
	assert_int_equal(coffer_get_attributes(c, sess, &t, 1),
	    COFFER_E_UNAVAILABLE);
	assert_int_equal(atomic_load(&b->requests), before);
	/* And a new session object goes where the others are. */
	assert_int_equal(coffer_generate_key(c, &kg, NULL, 0, &sess),
	    COFFER_E_UNAVAILABLE);
	assert_int_equal(atomic_load(&b->requests), before);
	atomic_store(&a->mode, M_NORMAL);
	assert_int_equal(coffer_destroy_object(c, 12345), COFFER_E_UNSUPPORTED);
	coffer_client_free(c);
	srv_stop(a);
	srv_stop(b);
}

/*
 * Key generation waits keygen_timeout_ms (default 120 s), every other
 * call timeout_ms: with timeout_ms 500 a key generation answered after
 * SLOW_MS (1.5 s) succeeds, random bytes answered as late time out; with
 * keygen_timeout_ms 500 the key generation times out too. (500 ms, not
 * less: the login before has to fit in it on a loaded ASan host.)
 */
static void
test_keygen_timeout(void **state)
{
	struct srv *s = srv_start(M_SLOW);
	struct coffer_config *cfg = cfg_for(s->port, s->fp, NULL, NULL);
	struct coffer_client *c = NULL;
	CK_MECHANISM kg = { CKM_AES_KEY_GEN, NULL, 0 };
	CK_MECHANISM ec = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	uint64_t h = 0, pub = 0, priv = 0;
	uint8_t r[16];

	(void)state;
	atomic_store(&s->next_handle, 100);
	assert_int_equal(coffer_config_set_timeout_ms(cfg, 500), 0);
	assert_int_equal(coffer_client_new(cfg, &c, NULL, 0), 0);
	assert_int_equal(coffer_login(c, "u", "pw", NULL), 0);
	/* The fake node answers after SLOW_MS, well past timeout_ms: a
	 * success shows the call waited keygen_timeout_ms. */
	if (coffer_generate_key(c, &kg, NULL, 0, &h) != 0)
		fail_msg("%s", coffer_client_last_error(c));
	assert_int_equal(h, 100);
	if (coffer_generate_key_pair(c, &ec, NULL, 0, NULL, 0, &pub,
	    &priv) != 0)
		fail_msg("%s", coffer_client_last_error(c));
	assert_true(pub == 101 && priv == 102);
	/* Had it waited for the reply, it would have succeeded. */
	assert_int_equal(coffer_random(c, r, sizeof(r)), COFFER_E_TIMEOUT);
	coffer_client_free(c);

	c = NULL;
	assert_int_equal(coffer_config_set_keygen_timeout_ms(cfg, 500), 0);
	assert_int_equal(coffer_client_new(cfg, &c, NULL, 0), 0);
	assert_int_equal(coffer_login(c, "u", "pw", NULL), 0);
	assert_int_equal(coffer_generate_key(c, &kg, NULL, 0, &h),
	    COFFER_E_TIMEOUT);
	assert_int_equal(h, 0);
	assert_int_equal(coffer_generate_key_pair(c, &ec, NULL, 0, NULL, 0,
	    &pub, &priv), COFFER_E_TIMEOUT);
	assert_int_equal(pub, 0);
	coffer_client_free(c);
	coffer_config_free(cfg);
	srv_stop(s);
}

static void
test_fork(void **state)
{
	struct srv *s = start();
	struct coffer_client *c = client_for(s);
	CK_MECHANISM sha = { CKM_SHA256, NULL, 0 };
	struct coffer_op *op = NULL;
	uint8_t r[16], *out = NULL;
	size_t n;
	pid_t pid;
	int st, logins, rc;

	(void)state;
	assert_int_equal(coffer_login(c, "u", "pw", NULL), 0);
	assert_int_equal(coffer_op_init(c, COFFER_OP_DIGEST, &sha, 0, &op), 0);
	assert_int_equal(coffer_random(c, r, sizeof(r)), 0);
	logins = atomic_load(&s->logins);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Child: inherited op refused, not logged in, then login. */
		rc = coffer_op_update(op, r, 1, &out, &n) == COFFER_E_SESSION;
		coffer_op_free(op);
		rc = rc && coffer_random(c, r, sizeof(r)) ==
		    COFFER_E_NOTLOGGEDIN;
		rc = rc && coffer_login(c, "u", "pw", NULL) == 0;
		rc = rc && coffer_random(c, r, sizeof(r)) == 0;
		coffer_client_free(c);
		_exit(rc ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* The child logged in once, with another instance. */
	assert_int_equal(atomic_load(&s->logins), logins + 1);
	pthread_mutex_lock(&s->mu);
	assert_int_equal(s->ninst, 2);
	assert_true(s->instances[0] != s->instances[1]);
	pthread_mutex_unlock(&s->mu);
	/* The parent's connection and op are intact (no close_notify). */
	assert_int_equal(coffer_op_update(op, r, 4, &out, &n), 0);
	coffer_free(out, n);
	assert_int_equal(coffer_random(c, r, sizeof(r)), 0);
	assert_int_equal(atomic_load(&s->logins), logins + 1);
	coffer_op_free(op);
	coffer_client_free(c);
	srv_stop(s);
}

static void
test_null_args(void **state)
{
	uint64_t h = 1;
	size_t n = 1;
	uint8_t *out = (void *)1;

	(void)state;
	assert_int_equal(coffer_generate_key(NULL, NULL, NULL, 0, &h),
	    COFFER_E_INVAL);
	assert_int_equal(h, 0);
	assert_int_equal(coffer_find_objects(NULL, NULL, 0, NULL, &n),
	    COFFER_E_INVAL);
	assert_int_equal(n, 0);
	assert_int_equal(coffer_op_update(NULL, NULL, 0, &out, &n),
	    COFFER_E_INVAL);
	assert_null(out);
	assert_int_equal(coffer_random(NULL, NULL, 0), COFFER_E_INVAL);
	coffer_op_free(NULL);
	coffer_free(NULL, 5);
}

static int
setup(void **state)
{
	const char *base = getenv("COFFER_TEST_TMP");
	char tmpl[1024];

	(void)state;
	if (base == NULL)
		base = "/tmp";
	(void)mkdir(base, 0700);
	if (snprintf(tmpl, sizeof(tmpl), "%s/objcli-XXXXXX", base) >=
	    (int)sizeof(tmpl))
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

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_args),
		cmocka_unit_test(test_instance_find_attrs),
		cmocka_unit_test(test_instance_pool),
		cmocka_unit_test(test_ops_and_streaming),
		cmocka_unit_test(test_random_chunks),
		cmocka_unit_test(test_failover_and_pinning),
		cmocka_unit_test(test_keygen_timeout),
		cmocka_unit_test(test_fork),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
