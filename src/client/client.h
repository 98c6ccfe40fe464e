/* SPDX-License-Identifier: Apache-2.0 */
/*
 * client.h: private interfaces of libcoffer (src/client only).
 *
 * A struct coffer_client owns one SSL_CTX and a pool of TLS connections.
 * cf_client_call() checks a connection out, makes it match the client's
 * credentials (lazy login/logout), sends one request, reads one response,
 * checks the connection back in and retries once on a fresh connection
 * after an I/O failure when that is safe. Nothing here prints or exits.
 */
#ifndef CF_CLIENT_H
#define CF_CLIENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include <coffer/coffer.h>
#include "coffer.pb-c.h"

/* protobuf-c allocator of every decoded response: wipes on free. */
extern ProtobufCAllocator cf_resp_alloc;

#define CF_CLI_MAX_SERVERS 32
#define CF_CLI_MAX_CONNS 64
#define CF_CLI_DEFAULT_TIMEOUT_MS 10000u
/* Key generation: an RSA-4096 prime search takes 0.2 s to over 10 s on a
 * busy node (a long tail), so it gets its own, longer wait. */
#define CF_CLI_DEFAULT_KEYGEN_TIMEOUT_MS 120000u
#define CF_CLI_MAX_TIMEOUT_MS 3600000u
#define CF_CLI_DEFAULT_CONNS 16u
#define CF_CLI_DEFAULT_SPIN_US 3000u
#define CF_CLI_MAX_SPIN_US 10000u
#define CF_CLI_STALE_CHECK_MS 1000u	/* idle longer: check before use */
#define CF_CLI_MAX_RESPONSE (64u * 1024 * 1024)
#define CF_CLI_IDEM_LEN 16
#define CF_CLI_ERRLEN 256
#define CF_SERVER_ANY ((size_t)-1)

struct coffer_config {
	char *servers[CF_CLI_MAX_SERVERS];
	size_t nservers;
	char *trust_anchor;
	char *server_name;
	char *client_cert;
	char *client_key;
	uint8_t pin[32];
	bool have_pin;
	unsigned timeout_ms;
	unsigned keygen_timeout_ms;	/* key generation (request_timeout_ms) */
	unsigned connections;
	unsigned spin_us;
};

/* One connection of the pool: TLS, or plain on a node's unix socket. */
struct cf_conn {
	int fd;
	SSL *ssl;			/* NULL when plain */
	BIO *rbio;			/* plain: the wiping buffer BIO */
	BIO *wbio;			/* write buffer over the socket (plain:
					 * the same as rbio) */
	bool plain;
	uint8_t *buf;			/* frames out and in, reused */
	size_t cap;
	size_t server;			/* index into cfg.servers */
	uint64_t logged_gen;		/* credential generation; 0 = none */
	uint64_t idle_since;		/* cf_now_ms() at the last check-in */
	unsigned spin_us;		/* see coffer_config_set_spin_us */
	unsigned spin_skip, spin_backoff; /* waits to sleep through */
	bool can_block;			/* blocking socket, SO_RCVTIMEO set */
	bool rd_block;			/* reads may block (waiting a reply) */
	uint64_t rd_deadline;		/* cf_now_ms() deadline of that wait */
	struct cf_conn *next;		/* idle list */
};

/* Per-thread detail of the last failed call. */
struct cf_errent {
	pthread_t tid;
	char msg[CF_CLI_ERRLEN];
	struct cf_errent *next;
};

/* A thread waiting in checkout for a pooled connection (on its stack). */
struct cf_waiter {
	pthread_cond_t cv;
	struct cf_conn *conn;		/* handed over by checkin, or NULL */
	bool woken;			/* handed a connection or a free slot */
	bool fresh;			/* wants a new connection */
	size_t want, avoid;
	struct cf_waiter *next;
};

struct coffer_client {
	struct coffer_config cfg;	/* deep copy */
	SSL_CTX *ctx;

	pthread_mutex_t mu;		/* protects everything below */
	struct cf_waiter *waiters;	/* FIFO of threads waiting for one */
	struct cf_waiter **waiters_tail;
	struct cf_conn *idle;
	unsigned nconns;		/* idle + checked out */
	size_t good_server;		/* last server that worked */
	char *user;			/* secure heap, NULL when logged out */
	char *pass;			/* secure heap */
	uint64_t cred_gen;		/* bumped on every login/logout */
	struct cf_errent *errs;

	/*
	 * Client instance (LoginReq.client_instance): session objects and
	 * multi-part operations on a node belong to it, on all of this
	 * client's connections. New after fork().
	 */
	uint64_t instance;
	uint64_t fork_gen;		/* bumped when a fork is detected */
	/* Session objects this client made (objects.c); all on one node. */
	uint64_t *sess;
	size_t nsess, sess_cap;
	size_t sess_server;		/* CF_SERVER_ANY when none */

	_Atomic pid_t pid;		/* process that owns the connections */
	atomic_uint forks_seen;		/* client.c's fork count when last checked */
	_Atomic uint64_t seen_index;
	_Atomic uint64_t next_id;
};

/* --- config.c ------------------------------------------------------------ */
int cf_config_copy(const struct coffer_config *, struct coffer_config *dst);
void cf_config_clear(struct coffer_config *);
/* Every server is "unix:PATH": no certificate to verify. */
bool cf_config_all_unix(const struct coffer_config *);

/* --- conn.c -------------------------------------------------------------- */
/* TLS context for cfg; detail in err on failure (COFFER_E_CONFIG/E_TLS). */
int cf_tls_ctx_new(const struct coffer_config *, SSL_CTX **out, char *err,
    size_t errlen);
/*
 * Connects to host_port with TCP_NODELAY, a non-blocking socket and the
 * TLS 1.3 handshake (verify per cfg; pin checked after the handshake when
 * pin != NULL). Errors: COFFER_E_CONNECT, COFFER_E_TLS, COFFER_E_NOMEM.
 */
int cf_conn_open(SSL_CTX *, const char *host_port, const char *server_name,
    const uint8_t *pin, unsigned timeout_ms, struct cf_conn **out, char *err,
    size_t errlen);
void cf_conn_close(struct cf_conn *);
/* Frees without sending anything (no close_notify): after fork(), the
 * TLS state belongs to the parent. */
void cf_conn_drop(struct cf_conn *);
/* Peer certificate sha256 (raw 32 bytes). */
int cf_conn_peer_sha256(struct cf_conn *, uint8_t out[32]);
/* True if an idle connection looks closed or has unexpected input. */
bool cf_conn_stale(struct cf_conn *);
/* Writes n bytes (a whole frame). COFFER_E_IO/E_CLOSED/E_TIMEOUT. */
int cf_conn_write(struct cf_conn *, const uint8_t *p, size_t n,
    uint64_t deadline_ms, char *err, size_t errlen);
/* A buffer of at least n bytes owned by the connection (reused by every
 * request; wipe what you used with cf_conn_wipe_buf). */
int cf_conn_buf(struct cf_conn *, size_t n, uint8_t **p);
void cf_conn_wipe_buf(struct cf_conn *, size_t used);
/* Brackets one request (write to reply) so a waiting thread knows
 * whether it is the process's only request in flight (see wait_input). */
void cf_conn_req_begin(void);
void cf_conn_req_end(void);
unsigned cf_conn_inflight(void);	/* for tests: 0 when idle */
/* Reads one frame (<= max bytes payload) into the connection's buffer:
 * *out is valid until the next use of the buffer. */
int cf_conn_read_frame(struct cf_conn *, size_t max, uint64_t deadline_ms,
    uint8_t **out, size_t *outlen, char *err, size_t errlen);

/* --- client.c ------------------------------------------------------------ */
#define CF_CALL_WRITE 0x1	/* carries an idempotency key */
#define CF_CALL_SECRET 0x2	/* packed request holds a password */
#define CF_CALL_RAW 0x4		/* no lazy login/logout (login, logout) */
#define CF_CALL_NORETRY 0x8	/* not idempotent: never resent (op update) */

/*
 * Runs when a call succeeded (rc 0 from the node), with the connection still
 * checked out; used by login to mark the connection as logged in.
 */
typedef void (*cf_call_hook)(struct coffer_client *, struct cf_conn *,
    const Coffer__Response *, void *arg);

/*
 * Sends req (its id, min_index and idem are filled in here) and returns the
 * node's response in *resp (free with coffer__response__free_unpacked and
 * &cf_resp_alloc, the wiping allocator it was decoded with) when
 * the node answered rc 0 with the expected body case. Otherwise returns the
 * rc and records the detail for coffer_client_last_error().
 */
int cf_client_call(struct coffer_client *, Coffer__Request *req,
    unsigned flags, Coffer__Response__BodyCase expect, Coffer__Response **resp,
    cf_call_hook hook, void *hook_arg);

/*
 * As cf_client_call (no hook), on server index `server` only (a pinned call:
 * session objects, multi-part operations) or on any (CF_SERVER_ANY: fails
 * over to the next configured server after a connection failure or
 * COFFER_E_UNAVAILABLE; writes keep their idempotency key). *served (if
 * non-NULL) receives the server that answered.
 */
int cf_client_call_at(struct coffer_client *, Coffer__Request *req,
    unsigned flags, Coffer__Response__BodyCase expect,
    Coffer__Response **resp, size_t server, size_t *served);

/*
 * n read-only requests (no writes, no passwords) pipelined on one
 * connection to `server` (or any): one write per window (at most 32
 * requests and 64 KiB of them, client.c), then that window's responses,
 * matched by id.
 * 0 with every resps[i] set, each carrying its own rc (a node error on one
 * request does not fail the others); a local error (connection,
 * protocol, a successful response of another type than expect) fails
 * them all and sets none. A lost connection is retried once on a fresh
 * one; there is no fail-over to another server.
 */
int cf_client_call_many(struct coffer_client *, Coffer__Request *const *reqs,
    size_t n, Coffer__Response__BodyCase expect, Coffer__Response **resps,
    size_t server);

/*
 * Fork safety: called at the start of every call. In a child process
 * (getpid() differs from the creator's) the inherited connections are
 * dropped without a TLS close_notify, the stored credentials wiped, a new
 * client instance chosen and the session-object table and operations
 * forgotten: the child reconnects on its next call, not logged in.
 */
void cf_client_check_fork(struct coffer_client *);

/* Records a local failure detail for this thread; returns rc. */
int cf_client_fail(struct coffer_client *, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Replaces the stored credentials (secure heap; user NULL keeps the user
 * name) if some are stored and
 * (match_user NULL or) the stored user is match_user. bump: other
 * connections must log in again (the user name changed).
 */
int cf_client_replace_creds(struct coffer_client *, const char *match_user,
    const char *user, const char *pass, bool bump);

/* Safe bounded copy (always NUL-terminates when n > 0). */
void cf_strlcpy(char *dst, const char *src, size_t n);
/* "unix:PATH" server addresses: a node's local socket, plain frames. */
#define CF_UNIX_PATH_MAX 107		/* sockaddr_un.sun_path - NUL */
static inline bool
cf_is_unix_addr(const char *s)
{
	return s != NULL && strncmp(s, "unix:", 5) == 0;
}

#endif
