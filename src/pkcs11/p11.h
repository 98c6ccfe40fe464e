/* SPDX-License-Identifier: Apache-2.0 */
/*
 * p11.h: private state of libcoffer-pkcs11.so (src/pkcs11 only).
 *
 * The module is a client of libcoffer's public API. One slot per configured
 * cluster, each with one struct coffer_client shared by every session of the
 * slot (libcoffer is thread-safe and pools connections). Locking: the global
 * lock guards the session table, slot login state and reference counts; a
 * session's own lock serialises calls on that session and is held across
 * network calls; a slot's lock serialises login/logout/connect. Order:
 * slot lock, then global lock; session lock is never taken with the global
 * lock held. All mutexes come from the application's callbacks or pthreads
 * (C_Initialize arguments).
 */
#ifndef P11_H
#define P11_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "p11_v3.h"
#include <coffer/coffer.h>
#include <coffer/coffer_objects.h>

#define P11_MANUFACTURER "Coffer"
#define P11_MODEL "Coffer HSM"
#define P11_DEFAULT_CONF "/etc/coffer/pkcs11.json"
#define P11_DEFAULT_MAX_SESSIONS 8192
#define P11_HANDLE_BITS 20	/* session table index bits of a handle */
#define P11_MAX_SLOTS 32

enum { P11_LOG_ERROR = 0, P11_LOG_WARN, P11_LOG_INFO, P11_LOG_DEBUG };

/* --- log.c --------------------------------------------------------------- */
/* Opens path for append (NULL: syslog for errors and warnings only). */
void p11_log_open(const char *path, int level);
void p11_log_close(void);
void p11_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int p11_log_level_from_name(const char *name);	/* -1 if unknown */

/* --- rv.c ---------------------------------------------------------------- */
/* The one mapping of Coffer result codes to CKR_* values. */
CK_RV p11_rv_from_rc(int rc);

/* --- config.c ------------------------------------------------------------ */
struct p11_slot_conf {
	char label[33];
	struct coffer_config *cfg;	/* owned */
};
struct p11_conf {
	struct p11_slot_conf *slots;
	size_t nslots;
	char *log_file;
	int log_level;
	size_t max_sessions;
};
/* Loads path (NULL: COFFER_PKCS11_CONF, then P11_DEFAULT_CONF). On error
 * returns COFFER_E_CONFIG/COFFER_E_NOMEM with a reason in err. */
int p11_conf_load(const char *path, struct p11_conf *out, char *err,
    size_t errlen);
void p11_conf_clear(struct p11_conf *);

/* --- module.c: global state and locks ------------------------------------ */
struct p11_slot {
	CK_SLOT_ID id;
	char label[33];
	struct coffer_config *cfg;
	struct coffer_client *client;	/* NULL: token not present */
	bool warned;			/* connect failure logged */
	struct coffer_info info;
	bool have_info;
	struct coffer_mech_info *mechs;
	size_t nmechs;
	bool mechs_ready;		/* mechs loaded (atomic) */
	void *lock;
	/* guarded by the global lock */
	bool logged_in;
	CK_USER_TYPE user;		/* CKU_USER or CKU_SO */
	char username[64];
	size_t nsessions;
	size_t nrw;
};

/*
 * An operation of one kind on a session. *Init only records the mechanism
 * (a deep copy) and key; the single-part call is one request to the node
 * (coffer_sign, ...); the first *Update opens the node's multi-part
 * operation (cop).
 */
struct p11_op {
	bool active;
	bool multi;			/* an update was made: cop is open */
	struct coffer_op *cop;
	CK_MECHANISM *mech;		/* coffer_mech_dup copy */
	uint64_t key;
	CK_BYTE *iv_out;		/* app's pIv for a node-made GCM IV */
	uint8_t *res;			/* pending output (libcoffer buffer) */
	size_t res_len;
	bool have_res;
	int res_step;			/* the call that made res */
};

enum { P11_OP_ENCRYPT, P11_OP_DECRYPT, P11_OP_SIGN, P11_OP_VERIFY,
    P11_OP_DIGEST, P11_NOPS };

struct p11_session {
	CK_SESSION_HANDLE handle;
	struct p11_slot *slot;
	CK_FLAGS flags;
	void *lock;
	unsigned refs;			/* guarded by the global lock */
	bool closed;
	struct p11_op ops[P11_NOPS];
	/* find */
	bool find_active;
	uint64_t *found;
	size_t nfound, found_pos;
	/* session objects made through this session, destroyed on close */
	uint64_t *sobj;
	size_t nsobj, sobj_cap;
};

struct p11_global {
	bool init;
	pid_t pid;
	unsigned forks;			/* module.c's fork count at init */
	CK_CREATEMUTEX create_mutex;
	CK_DESTROYMUTEX destroy_mutex;
	CK_LOCKMUTEX lock_mutex;
	CK_UNLOCKMUTEX unlock_mutex;
	void *lock;
	struct p11_slot *slots;
	size_t nslots;
	struct p11_session **sess;	/* index = (handle & mask) - 1 */
	size_t max_sessions;
	size_t nsess;
	uint64_t gen;
};

extern struct p11_global p11_g;

int p11_mutex_new(void **m);
void p11_mutex_free(void *m);
void p11_lock(void *m);
void p11_unlock(void *m);

/* CKR_OK if initialized in this process; else CKR_CRYPTOKI_NOT_INITIALIZED
 * (also in a forked child that did not call C_Initialize). */
CK_RV p11_check_init(void);
/* Looks a slot up; CKR_SLOT_ID_INVALID. */
CK_RV p11_slot_get(CK_SLOT_ID id, struct p11_slot **out);
/* Connects the slot's client if needed: CKR_TOKEN_NOT_PRESENT on failure.
 * Takes the slot lock. */
CK_RV p11_slot_connect(struct p11_slot *);
/* CKR_OK when the slot lists mechanism type with all of the flags need
 * (CKF_SIGN, ...); CKR_MECHANISM_INVALID otherwise. Lock-free once the
 * list is loaded. */
CK_RV p11_mech_check(struct p11_slot *, CK_MECHANISM_TYPE type,
    CK_FLAGS need);
/* Session states as CKS_*. Global lock held. */
CK_STATE p11_session_state(const struct p11_session *);

/* --- session.c ----------------------------------------------------------- */
/* Finds, references and locks a session. p11_session_put undoes it. */
CK_RV p11_session_get(CK_SESSION_HANDLE h, struct p11_session **out);
void p11_session_put(struct p11_session *);
void p11_session_close_all(struct p11_slot *slot, bool finalizing);
/* Remembers/forgets a session object for destruction at close. */
void p11_session_track(struct p11_session *, uint64_t handle);
void p11_session_untrack(struct p11_session *, uint64_t handle);
bool p11_logged_in(const struct p11_session *);

/* --- crypto.c ------------------------------------------------------------ */
void p11_op_end(struct p11_op *);

/* --- helpers ------------------------------------------------------------- */
/* Copies a string into a blank-padded fixed field (no NUL). */
void p11_pad(CK_UTF8CHAR *dst, size_t n, const char *src);
/* CKR_ARGUMENTS_BAD when a template pointer is NULL with a count. */
CK_RV p11_tmpl_check(const CK_ATTRIBUTE *t, CK_ULONG n);
/* True when the template sets CKA_TOKEN to true. */
bool p11_tmpl_is_token(const CK_ATTRIBUTE *t, CK_ULONG n);

extern CK_FUNCTION_LIST p11_functions_240;
extern CK_FUNCTION_LIST_3_0 p11_functions_30;

#endif
