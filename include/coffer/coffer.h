/* SPDX-License-Identifier: Apache-2.0 */
/*
 * coffer.h: libcoffer, the only public C API of Coffer.
 *
 * A struct coffer_client talks to the nodes of one cluster over TLS 1.3.
 * Every function returns an int rc from coffer_err.h (0 = success) unless
 * documented otherwise. All functions are thread-safe on one client: calls
 * from many threads run concurrently over a pool of connections, each of
 * which is logged in with the credentials of the last successful
 * coffer_login(). The library never prints and never exits.
 *
 * Secrets (passwords) passed in are copied into the OpenSSL secure heap
 * when they must be kept (for re-login on reconnect) and wiped on logout
 * and on coffer_client_free(). Output strings and arrays are owned by the
 * caller and are freed with the matching *_free function.
 *
 * fork(): a client may be used in a child process, as a fresh one. At its
 * first call the child notices the new pid and drops the inherited
 * connections without touching their TLS state (no close_notify, so the
 * parent's sessions are undisturbed), wipes the stored credentials and
 * forgets the parent's session objects and operations (coffer_op_* on an
 * inherited op return COFFER_E_SESSION). Calls then reconnect but are not
 * logged in: the child must coffer_login() again (as PKCS#11 requires
 * C_Initialize and C_Login in a child). Do not fork while another thread
 * is inside a call on the client, and make the child's first call from one
 * thread.
 */
#ifndef COFFER_H
#define COFFER_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include <coffer/coffer_err.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COFFER_VERSION "0.1.0"

enum coffer_node_state {
	COFFER_STATE_UNKNOWN = 0,
	COFFER_STATE_UNINITIALIZED = 1,
	COFFER_STATE_INITIALIZED = 2,
	COFFER_STATE_ACTIVE = 3,
	COFFER_STATE_ZEROIZED = 4,
	COFFER_STATE_ERROR = 5,
};

enum coffer_role {
	COFFER_ROLE_NONE = 0,
	COFFER_ROLE_PRECO = 1,
	COFFER_ROLE_CO = 2,
	COFFER_ROLE_CU = 3,
	COFFER_ROLE_AU = 4,
};

/* "UNINITIALIZED", ... / "PRECO", "CO", ...; never NULL. */
const char *coffer_state_name(int state);
const char *coffer_role_name(int role);
/* Parses "co", "CO", "crypto-officer", "cu", "au", ...; -1 if unknown. */
int coffer_role_from_name(const char *name);

/*
 * Client configuration. Either loaded from a JSON file or filled in by the
 * caller. JSON keys (all optional except servers):
 *   "servers":        ["host:port", ...]           (1..32 entries)
 *                     or "unix:PATH": a node's local socket (node
 *                     configuration "unix_socket"; frames without TLS,
 *                     the socket's directory and owner are checked
 *                     instead of a certificate; a relative PATH is
 *                     relative to the configuration file). With only
 *                     unix: servers no trust_anchor or pin is needed.
 *   "trust_anchor":   "path/to/customer-ca.pem"    (verify node cert chain)
 *   "server_name":    "name checked against the node certificate" (optional)
 *   "pin_sha256":     "hex sha256 of the node's bootstrap cert DER"
 *                     (before initialization; used instead of trust_anchor)
 *   "client_cert":    "path", "client_key": "path" (mTLS, optional)
 *   "timeout_ms":     10000  (how long a call waits for its reply)
 *   "keygen_timeout_ms": 120000  (the same for key generation, whose
 *                     RSA prime search can take seconds on a busy node)
 *   "connections":    16   (pool size per client: at most this many
 *                     connections, opened as concurrent calls need them;
 *                     more threads than that wait in line for one)
 */
struct coffer_config;

int coffer_config_load(const char *path, struct coffer_config **out);
/* As coffer_config_load, with a human reason (never secrets) in err on
 * failure (unknown key, wrong type, missing servers, JSON syntax). */
int coffer_config_load_err(const char *path, struct coffer_config **out,
    char *err, size_t errlen);
int coffer_config_new(struct coffer_config **out);
int coffer_config_add_server(struct coffer_config *, const char *host_port);
int coffer_config_set_trust_anchor(struct coffer_config *, const char *path);
int coffer_config_set_server_name(struct coffer_config *, const char *name);
int coffer_config_set_pin(struct coffer_config *, const char *sha256_hex);
int coffer_config_set_client_cert(struct coffer_config *, const char *cert,
    const char *key);
int coffer_config_set_timeout_ms(struct coffer_config *, unsigned ms);
/* How long coffer_generate_key and coffer_generate_key_pair wait for their
 * reply (1 … 3600000 ms, default 120000; JSON key "keygen_timeout_ms"). */
int coffer_config_set_keygen_timeout_ms(struct coffer_config *, unsigned ms);
/* Microseconds a thread waiting for a reply polls (yielding the CPU)
 * before it sleeps, when its call is the process's only one in flight
 * (with more, every waiter sleeps at once: the CPUs are busy and the
 * polling would take them from whoever computes the replies); 0 = always
 * sleep. Default 3000. JSON key "spin_us". */
int coffer_config_set_spin_us(struct coffer_config *, unsigned us);
int coffer_config_set_connections(struct coffer_config *, unsigned n);
void coffer_config_free(struct coffer_config *);

struct coffer_client;

/*
 * Creates a client and connects to the first reachable server (the config
 * is copied; the caller may free it). Errors: COFFER_E_CONFIG,
 * COFFER_E_CONNECT, COFFER_E_TLS (certificate not trusted / pin mismatch).
 * If errbuf is non-NULL, a human detail is written there (never secrets).
 */
int coffer_client_new(const struct coffer_config *cfg,
    struct coffer_client **out, char *errbuf, size_t errlen);
void coffer_client_free(struct coffer_client *);

/* The detail string of the last failed call made by this thread on this
 * client (node's Response.detail or a local reason); "" if none. */
const char *coffer_client_last_error(struct coffer_client *);

/* Information about the node a call was served by. */
struct coffer_info {
	int state;			/* enum coffer_node_state */
	char version[32];
	uint64_t node_id;
	char cluster_id[64];
	char bootstrap_fingerprint[65];	/* sha256 hex */
	uint64_t applied_index;
	uint32_t user_count;
	uint32_t connection_count;
	char raft_state[16];
	uint32_t members;
	uint64_t uptime_s;
	char error_detail[128];
	/* Power-up self-tests, random source and objects (appended) */
	char selftest[128];		/* "passed", "failed: <KAT>", ... */
	uint32_t selftest_count;	/* KATs run at start-up */
	char entropy_health[32];	/* SP 800-90B RCT/APT: "ok", ... */
	char drbg_health[16];		/* "ok" | "failed" */
	uint32_t token_objects;		/* replicated objects */
	uint32_t max_objects;		/* token object limit in force */
	uint32_t session_objects;	/* session objects on this node */
};
int coffer_get_info(struct coffer_client *, struct coffer_info *out);

/* Fetches the sha256 fingerprint of the TLS certificate of `host_port`
 * without verifying it (for pinning at the start of the ceremony; compare
 * with what the node printed). out must hold 65 bytes. A "unix:PATH"
 * server has no certificate: COFFER_E_UNSUPPORTED. */
int coffer_fetch_fingerprint(const char *host_port, unsigned timeout_ms,
    char *out, size_t outlen);

/* --- cluster ceremony ---------------------------------------------------- */
/* PEM CSR of the cluster identity key; *csr_pem freed with free(). */
int coffer_cluster_csr(struct coffer_client *, char **csr_pem,
    char *cluster_id, size_t cluster_id_len);
int coffer_cluster_initialize(struct coffer_client *, const char *cert_pem,
    const char *trust_anchor_pem);
/* Logged in as PRECO: becomes CO `co_username` with `new_password`. */
int coffer_cluster_activate(struct coffer_client *, const char *co_username,
    const char *new_password);

/* --- sessions ------------------------------------------------------------ */
/* Logs in every pooled connection; role written to *role if non-NULL. */
int coffer_login(struct coffer_client *, const char *username,
    const char *password, int *role);
int coffer_logout(struct coffer_client *);

/* --- users --------------------------------------------------------------- */
struct coffer_user {
	char username[64];
	int role;
	bool locked;
	uint32_t failures;
	uint64_t created;
	uint64_t password_changed;
};
int coffer_user_create(struct coffer_client *, const char *username,
    int role, const char *password);
int coffer_user_delete(struct coffer_client *, const char *username);
/* *users freed with free(). */
int coffer_user_list(struct coffer_client *, struct coffer_user **users,
    size_t *n);
/* username NULL or "" = the logged-in user. */
int coffer_user_change_password(struct coffer_client *, const char *username,
    const char *new_password);
int coffer_user_lock(struct coffer_client *, const char *username);
int coffer_user_unlock(struct coffer_client *, const char *username);

/* --- audit --------------------------------------------------------------- */
/*
 * Calls cb once per record (a JSON object text, without newline), from
 * record from_seq (1-based) to the node's head; *head_seq and *head_hash (65
 * bytes) receive the node's head at the end. cb returning non-zero stops
 * the export and that value is returned.
 */
typedef int (*coffer_audit_cb)(void *arg, const char *record);
int coffer_audit_export(struct coffer_client *, uint64_t from_seq,
    coffer_audit_cb cb, void *arg, uint64_t *head_seq, char *head_hash);

/*
 * Verifies a chain of audit records (JSON lines) offline. Returns 0 if the
 * chain is intact, COFFER_E_INTEGRITY otherwise, with the 1-based line of
 * the first bad record in *bad_line and a reason in errbuf. If
 * expect_head_seq is non-zero, the last record must have that seq and
 * (if expect_head_hash is non-NULL) that hash: this detects deletion of
 * the newest records.
 */
int coffer_audit_verify_lines(const char *const *lines, size_t n,
    uint64_t expect_head_seq, const char *expect_head_hash,
    size_t *bad_line, char *errbuf, size_t errlen);

/* Applied index the client has seen (read-your-writes token). */
uint64_t coffer_client_seen_index(struct coffer_client *);

#ifdef __cplusplus
}
#endif
#endif
