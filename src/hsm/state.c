/* SPDX-License-Identifier: Apache-2.0 */
/*
 * state.c: the replicated state machine (FSM). Applies decoded LogEntry
 * bodies, remembers the outcome of the last CF_IDEM_TABLE idempotency keys,
 * and snapshots/restores everything as one Coffer__Snapshot.
 *
 * Guarantees: apply is deterministic (time comes from the entry, never the
 * clock); writers hold the write lock; hooks run after the lock is
 * released (they may read the state); secrets (identity key, verifiers)
 * are cleansed when removed and never logged.
 */
#include <p11-kit/pkcs11.h>	/* before coffer.pb-c.h: see p11ext.h */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/coffer_err.h"
#include "coffer.pb-c.h"
#include "common/log.h"
#include "common/secmem.h"
#include "hsm/objects.h"
#include "hsm/state.h"

#define IDEM_BUCKETS 16384	/* power of two, > CF_IDEM_TABLE */
#define DEFAULT_MAX_FAILURES 5
#define LOGIN_PENDING_MAX 16	/* password checks in progress per user */
#define LOGIN_PENDING_TTL 60	/* seconds until an unresolved one expires */

/* A reserved password check whose outcome is not committed yet. */
struct login_pending {
	uint64_t id;
	uint64_t time;
};

struct user {
	char name[CF_USERNAME_MAX + 1];
	int role;
	struct cf_pw_verifier v;
	uint32_t failures;
	bool locked;
	uint64_t created;
	uint64_t password_changed;
	struct login_pending pending[LOGIN_PENDING_MAX];
	uint32_t npending;
};

struct idem_ent {
	uint8_t key[CF_IDEM_LEN];
	int rc;
	uint64_t value;
	int32_t next;		/* hash chain, -1 ends */
};

/* Everything a snapshot holds; restore builds one aside and swaps it in. */
struct content {
	int node_state;
	char *cluster_id;
	uint8_t *key_der;	/* secure heap */
	size_t key_der_len;
	char *bootstrap_cert_pem;
	char *cert_pem;
	char *trust_anchor_pem;
	struct user *users;	/* sorted by name, CF_MAX_USERS slots */
	size_t nusers;
	uint64_t next_handle;
	uint64_t created_node_id;
	struct cf_objstore *objs;	/* token objects (issue 3) */
	/* Idempotency table: FIFO ring of CF_IDEM_TABLE + hash index. */
	struct idem_ent *ring;
	size_t ring_first;	/* oldest */
	size_t ring_count;
	int32_t *buckets;
};

struct cf_state {
	pthread_rwlock_t lock;
	struct cf_state_hooks hooks;
	struct content c;
	uint64_t tls_gen;
};

/* Hook calls decided under the write lock, made after it is released. */
struct pending {
	bool tls_changed;
	bool zeroized;
	char reason[96];
};

static void
content_wipe_identity(struct content *c)
{
	cf_free_secret(c->key_der, c->key_der_len);
	c->key_der = NULL;
	c->key_der_len = 0;
	free(c->bootstrap_cert_pem);
	free(c->cert_pem);
	free(c->trust_anchor_pem);
	c->bootstrap_cert_pem = c->cert_pem = c->trust_anchor_pem = NULL;
}

static void
content_wipe_users(struct content *c)
{
	if (c->users != NULL)
		cf_cleanse(c->users, CF_MAX_USERS * sizeof(*c->users));
	c->nusers = 0;
}

static void
content_free(struct content *c)
{
	content_wipe_identity(c);
	content_wipe_users(c);
	free(c->users);
	free(c->cluster_id);
	free(c->ring);
	free(c->buckets);
	cf_objstore_free(c->objs);
	*c = (struct content){0};
}

static int
content_init(struct content *c)
{
	size_t i;

	*c = (struct content){0};
	c->users = calloc(CF_MAX_USERS, sizeof(*c->users));
	c->ring = calloc(CF_IDEM_TABLE, sizeof(*c->ring));
	c->buckets = calloc(IDEM_BUCKETS, sizeof(*c->buckets));
	if (c->users == NULL || c->ring == NULL || c->buckets == NULL ||
	    cf_objstore_new(&c->objs) != 0) {
		content_free(c);
		return COFFER_E_NOMEM;
	}
	for (i = 0; i < IDEM_BUCKETS; i++)
		c->buckets[i] = -1;
	c->next_handle = 1;
	return 0;
}

/* --- idempotency table ---------------------------------------------------- */

static uint32_t
idem_hash(const uint8_t *k)
{
	uint32_t h = 2166136261u;
	size_t i;

	/* FNV-1a; the index only affects speed, never outcomes. */
	for (i = 0; i < CF_IDEM_LEN; i++)
		h = (h ^ k[i]) * 16777619u;
	return h & (IDEM_BUCKETS - 1);
}

static struct idem_ent *
idem_find(const struct content *c, const uint8_t *k)
{
	int32_t i;

	for (i = c->buckets[idem_hash(k)]; i >= 0; i = c->ring[i].next) {
		if (memcmp(c->ring[i].key, k, CF_IDEM_LEN) == 0)
			return &c->ring[i];
	}
	return NULL;
}

static void
idem_unlink(struct content *c, int32_t slot)
{
	int32_t *pp = &c->buckets[idem_hash(c->ring[slot].key)];

	while (*pp >= 0) {
		if (*pp == slot) {
			*pp = c->ring[slot].next;
			return;
		}
		pp = &c->ring[*pp].next;
	}
}

static void
idem_add(struct content *c, const uint8_t *k, int rc, uint64_t value)
{
	int32_t slot;
	uint32_t b;

	if (c->ring_count == CF_IDEM_TABLE) {
		/* Evict the oldest (FIFO). */
		slot = (int32_t)c->ring_first;
		idem_unlink(c, slot);
		c->ring_first = (c->ring_first + 1) % CF_IDEM_TABLE;
		c->ring_count--;
	}
	slot = (int32_t)((c->ring_first + c->ring_count) % CF_IDEM_TABLE);
	memcpy(c->ring[slot].key, k, CF_IDEM_LEN);
	c->ring[slot].rc = rc;
	c->ring[slot].value = value;
	b = idem_hash(k);
	c->ring[slot].next = c->buckets[b];
	c->buckets[b] = slot;
	c->ring_count++;
}

/* --- users ---------------------------------------------------------------- */

static bool
valid_username(const char *s)
{
	size_t i, n;

	if (s == NULL)
		return false;
	n = strlen(s);
	if (n == 0 || n > CF_USERNAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		    ch == '@' || ch == '-'))
			return false;
	}
	return true;
}

/* Binary search: index of name, or -(insertion point) - 1. */
static long
user_index(const struct content *c, const char *name)
{
	size_t lo = 0, hi = c->nusers;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(c->users[mid].name, name);
		if (cmp == 0)
			return (long)mid;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

static struct user *
user_find(const struct content *c, const char *name)
{
	long i;

	if (name == NULL)
		return NULL;
	i = user_index(c, name);
	return i >= 0 ? &c->users[i] : NULL;
}

static int
user_insert(struct content *c, const struct user *u)
{
	long i = user_index(c, u->name);
	size_t pos;

	if (i >= 0)
		return COFFER_E_EXISTS;
	if (c->nusers >= CF_MAX_USERS)
		return COFFER_E_FULL;
	pos = (size_t)(-i - 1);
	memmove(&c->users[pos + 1], &c->users[pos],
	    (c->nusers - pos) * sizeof(*c->users));
	c->users[pos] = *u;
	c->nusers++;
	return 0;
}

static void
user_remove(struct content *c, struct user *u)
{
	size_t pos = (size_t)(u - c->users);

	memmove(&c->users[pos], &c->users[pos + 1],
	    (c->nusers - pos - 1) * sizeof(*c->users));
	c->nusers--;
	cf_cleanse(&c->users[c->nusers], sizeof(*c->users));
}

static size_t
count_role(const struct content *c, int role)
{
	size_t i, n = 0;

	for (i = 0; i < c->nusers; i++)
		n += c->users[i].role == role;
	return n;
}

static int
verifier_from_pb(const Coffer__PasswordVerifier *pv, struct cf_pw_verifier *v)
{
	if (pv == NULL || pv->alg == NULL || strcmp(pv->alg, "scrypt") != 0 ||
	    pv->salt.len != CF_PW_SALT_LEN || pv->hash.len != CF_PW_HASH_LEN ||
	    pv->n < 2 || (pv->n & (pv->n - 1)) != 0 || pv->r == 0 ||
	    pv->p == 0)
		return COFFER_E_INVAL;
	v->params.n = pv->n;
	v->params.r = pv->r;
	v->params.p = pv->p;
	memcpy(v->salt, pv->salt.data, CF_PW_SALT_LEN);
	memcpy(v->hash, pv->hash.data, CF_PW_HASH_LEN);
	return 0;
}

static void
verifier_to_pb(const struct cf_pw_verifier *v, Coffer__PasswordVerifier *pv)
{
	pv->alg = (char *)"scrypt";
	pv->salt.data = (uint8_t *)v->salt;
	pv->salt.len = CF_PW_SALT_LEN;
	pv->n = v->params.n;
	pv->r = v->params.r;
	pv->p = v->params.p;
	pv->hash.data = (uint8_t *)v->hash;
	pv->hash.len = CF_PW_HASH_LEN;
}

/* Validates a UserRecord into u. time fills created/password_changed when
 * the record leaves them 0. */
static int
user_from_pb(const Coffer__UserRecord *r, uint64_t time, struct user *u)
{
	int rc;

	*u = (struct user){0};
	if (r == NULL || !valid_username(r->username))
		return COFFER_E_INVAL;
	if (r->role < COFFER__ROLE__ROLE_PRECO ||
	    r->role > COFFER__ROLE__ROLE_AU)
		return COFFER_E_INVAL;
	if ((rc = verifier_from_pb(r->verifier, &u->v)) != 0)
		return rc;
	strcpy(u->name, r->username);	/* length checked above */
	u->role = (int)r->role;
	u->failures = r->failures;
	u->locked = r->locked;
	u->created = r->created != 0 ? r->created : time;
	u->password_changed = r->password_changed != 0 ?
	    r->password_changed : time;
	return 0;
}

/* The login checks in progress of a snapshot's UserRecord. */
static int
user_pending_from_pb(const Coffer__UserRecord *r, struct user *u)
{
	size_t i;

	if (r->n_pending > LOGIN_PENDING_MAX)
		return COFFER_E_INVAL;
	for (i = 0; i < r->n_pending; i++) {
		if (r->pending[i] == NULL || r->pending[i]->id == 0)
			return COFFER_E_INVAL;
		u->pending[i].id = r->pending[i]->id;
		u->pending[i].time = r->pending[i]->time;
	}
	u->npending = (uint32_t)r->n_pending;
	return 0;
}

static int
dup_str(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL || *s == '\0')
		return 0;
	if ((*out = strdup(s)) == NULL)
		return COFFER_E_NOMEM;
	return 0;
}

/* --- apply ---------------------------------------------------------------- */

static void
do_zeroize(struct content *c, const char *reason, struct pending *pd)
{
	struct cf_objstore *fresh = NULL;

	/* Token objects and their cached keys go (wiped by cf_obj_free). */
	if (cf_objstore_new(&fresh) == 0) {
		cf_objstore_free(c->objs);
		c->objs = fresh;
	} else {
		cf_objstore_uncache(c->objs);
	}
	content_wipe_users(c);
	content_wipe_identity(c);
	c->node_state = COFFER__NODE_STATE__NODE_STATE_ZEROIZED;
	pd->zeroized = true;
	snprintf(pd->reason, sizeof(pd->reason), "%s",
	    reason != NULL && *reason != '\0' ? reason : "zeroize");
}

static int
ap_cluster_create(struct cf_state *st, const Coffer__LogEntry *e,
    struct pending *pd, uint64_t *value)
{
	struct content *c = &st->c;
	const Coffer__EntClusterCreate *b = e->cluster_create;
	struct user u;
	char *id = NULL, *cert = NULL;
	uint8_t *key = NULL;
	int rc;

	if (c->node_state != COFFER__NODE_STATE__NODE_STATE_UNKNOWN)
		return COFFER_E_STATE;
	if (b->cluster_id == NULL || *b->cluster_id == '\0' ||
	    strlen(b->cluster_id) > 63 || b->identity_key_der.len == 0 ||
	    b->identity_key_der.len > 65536 || b->bootstrap_cert_pem == NULL ||
	    *b->bootstrap_cert_pem == '\0')
		return COFFER_E_INVAL;
	if ((rc = user_from_pb(b->preco, e->time, &u)) != 0)
		return rc;
	if (u.role != COFFER__ROLE__ROLE_PRECO) {
		cf_cleanse(&u, sizeof(u));
		return COFFER_E_INVAL;
	}
	rc = COFFER_E_NOMEM;
	if ((id = strdup(b->cluster_id)) == NULL ||
	    (cert = strdup(b->bootstrap_cert_pem)) == NULL ||
	    (key = cf_malloc_secret(b->identity_key_der.len)) == NULL) {
		free(id);
		free(cert);
		cf_cleanse(&u, sizeof(u));
		return rc;
	}
	memcpy(key, b->identity_key_der.data, b->identity_key_der.len);
	content_wipe_identity(c);
	content_wipe_users(c);
	free(c->cluster_id);
	c->cluster_id = id;
	c->key_der = key;
	c->key_der_len = b->identity_key_der.len;
	c->bootstrap_cert_pem = cert;
	c->created_node_id = b->node_id;
	(void)user_insert(c, &u);
	cf_cleanse(&u, sizeof(u));
	c->node_state = COFFER__NODE_STATE__NODE_STATE_UNINITIALIZED;
	st->tls_gen++;
	pd->tls_changed = true;
	*value = 0;
	return 0;
}

static int
ap_cluster_initialize(struct cf_state *st, const Coffer__LogEntry *e,
    struct pending *pd)
{
	struct content *c = &st->c;
	const Coffer__EntClusterInitialize *b = e->cluster_initialize;
	char *cert = NULL, *anchor = NULL;

	if (c->node_state != COFFER__NODE_STATE__NODE_STATE_UNINITIALIZED)
		return COFFER_E_STATE;
	if (b->cert_pem == NULL || *b->cert_pem == '\0' ||
	    b->trust_anchor_pem == NULL || *b->trust_anchor_pem == '\0')
		return COFFER_E_INVAL;
	if ((cert = strdup(b->cert_pem)) == NULL ||
	    (anchor = strdup(b->trust_anchor_pem)) == NULL) {
		free(cert);
		return COFFER_E_NOMEM;
	}
	free(c->cert_pem);
	free(c->trust_anchor_pem);
	c->cert_pem = cert;
	c->trust_anchor_pem = anchor;
	c->node_state = COFFER__NODE_STATE__NODE_STATE_INITIALIZED;
	st->tls_gen++;
	pd->tls_changed = true;
	return 0;
}

static int
ap_cluster_activate(struct content *c, const Coffer__LogEntry *e)
{
	const Coffer__EntClusterActivate *b = e->cluster_activate;
	struct user *pre, u;
	int rc;

	if (c->node_state != COFFER__NODE_STATE__NODE_STATE_INITIALIZED)
		return COFFER_E_STATE;
	if ((pre = user_find(c, b->preco_username)) == NULL)
		return COFFER_E_NOTFOUND;
	if (pre->role != COFFER__ROLE__ROLE_PRECO)
		return COFFER_E_ROLE;
	if ((rc = user_from_pb(b->co, e->time, &u)) != 0)
		return rc;
	if (u.role != COFFER__ROLE__ROLE_CO) {
		rc = COFFER_E_INVAL;
		goto out;
	}
	u.failures = 0;
	u.locked = false;
	u.created = u.password_changed = e->time;
	if (strcmp(u.name, pre->name) != 0 && user_find(c, u.name) != NULL) {
		rc = COFFER_E_EXISTS;
		goto out;
	}
	user_remove(c, pre);
	if ((rc = user_insert(c, &u)) != 0)
		goto out;	/* cannot happen: a slot was just freed */
	c->node_state = COFFER__NODE_STATE__NODE_STATE_ACTIVE;
 out:
	cf_cleanse(&u, sizeof(u));
	return rc;
}

static int
ap_user_create(struct content *c, const Coffer__LogEntry *e)
{
	struct user u;
	int rc;

	if (c->node_state != COFFER__NODE_STATE__NODE_STATE_ACTIVE)
		return COFFER_E_STATE;
	if ((rc = user_from_pb(e->user_create->user, e->time, &u)) != 0)
		return rc;
	if (u.role == COFFER__ROLE__ROLE_PRECO)
		rc = COFFER_E_INVAL;
	else {
		u.failures = 0;
		u.locked = false;
		u.created = u.password_changed = e->time;
		rc = user_insert(c, &u);
	}
	cf_cleanse(&u, sizeof(u));
	return rc;
}

static int
ap_user_delete(struct content *c, const Coffer__LogEntry *e)
{
	struct user *u;

	if (c->node_state != COFFER__NODE_STATE__NODE_STATE_ACTIVE)
		return COFFER_E_STATE;
	if ((u = user_find(c, e->user_delete->username)) == NULL)
		return COFFER_E_NOTFOUND;
	if (u->role == COFFER__ROLE__ROLE_CO &&
	    count_role(c, COFFER__ROLE__ROLE_CO) <= 1)
		return COFFER_E_POLICY;
	/* A CU who owns keys stays until they are deleted (CloudHSM). */
	if (cf_objstore_owned(c->objs, u->name) > 0)
		return COFFER_E_POLICY;
	cf_objstore_unshare_all(c->objs, u->name);
	user_remove(c, u);
	return 0;
}

static int
ap_user_password(struct content *c, const Coffer__LogEntry *e)
{
	const Coffer__EntUserPassword *b = e->user_password;
	struct cf_pw_verifier v;
	struct user *u;
	int rc;

	if (c->node_state != COFFER__NODE_STATE__NODE_STATE_ACTIVE)
		return COFFER_E_STATE;
	if ((u = user_find(c, b->username)) == NULL)
		return COFFER_E_NOTFOUND;
	if ((rc = verifier_from_pb(b->verifier, &v)) != 0)
		return rc;
	cf_cleanse(&u->v, sizeof(u->v));
	u->v = v;
	cf_cleanse(&v, sizeof(v));
	u->password_changed = e->time;
	u->failures = 0;
	return 0;
}

static int
ap_user_lock(struct content *c, const char *name, bool lock)
{
	struct user *u;

	if (c->node_state != COFFER__NODE_STATE__NODE_STATE_ACTIVE &&
	    c->node_state != COFFER__NODE_STATE__NODE_STATE_UNINITIALIZED &&
	    c->node_state != COFFER__NODE_STATE__NODE_STATE_INITIALIZED)
		return COFFER_E_STATE;
	if ((u = user_find(c, name)) == NULL)
		return COFFER_E_NOTFOUND;
	u->locked = lock;
	if (!lock)
		u->failures = 0;
	return 0;
}

static bool
login_state_ok(const struct content *c)
{
	return c->node_state == COFFER__NODE_STATE__NODE_STATE_UNINITIALIZED ||
	    c->node_state == COFFER__NODE_STATE__NODE_STATE_INITIALIZED ||
	    c->node_state == COFFER__NODE_STATE__NODE_STATE_ACTIVE;
}

/*
 * The lockout rule. A login first reserves its password check
 * (EntLoginAttempt with an attempt_id): refused with E_BUSY while the
 * committed failures plus the checks already in progress would reach the
 * limit, so concurrent guesses never get more checks than the limit allows
 * and concurrent correct logins are never counted as failures. The
 * handler commits the outcome (EntLoginSuccess / EntLoginFailure) before
 * it replies, so a check whose outcome is lost (crash, lost leadership)
 * revealed nothing; its reservation expires after LOGIN_PENDING_TTL
 * seconds of log time.
 *
 * attempt_id 0 is the first format, kept so old logs replay unchanged: the
 * attempt counted as a failure until a success reset the counter.
 */
/* A reservation still counts at log time now (a clock that went back
 * more than the lifetime expires it too). */
static bool
pending_live(const struct login_pending *p, uint64_t now)
{
	return p->time + LOGIN_PENDING_TTL >= now &&
	    p->time <= now + LOGIN_PENDING_TTL;
}

static void
pending_expire(struct user *u, uint64_t now)
{
	uint32_t i = 0;

	while (i < u->npending) {
		if (!pending_live(&u->pending[i], now)) {
			u->pending[i] = u->pending[--u->npending];
			u->pending[u->npending] = (struct login_pending){0};
		} else {
			i++;
		}
	}
}

/* Drops reservation id; false when it is not held (expired, or lost with
 * a snapshot from before it): the outcome still counts. */
static bool
pending_release(struct user *u, uint64_t id)
{
	uint32_t i;

	for (i = 0; i < u->npending; i++) {
		if (u->pending[i].id == id) {
			u->pending[i] = u->pending[--u->npending];
			u->pending[u->npending] = (struct login_pending){0};
			return true;
		}
	}
	return false;
}

static void
reach_limit(struct content *c, struct user *u, bool zeroize,
    struct pending *pd)
{
	u->locked = true;
	if (u->role == COFFER__ROLE__ROLE_CO && zeroize)
		do_zeroize(c, "CO login failure limit", pd);
}

static int
ap_login_attempt(struct content *c, const Coffer__LogEntry *e,
    struct pending *pd, uint64_t *value)
{
	const Coffer__EntLoginAttempt *b = e->login_attempt;
	uint32_t max = b->max_failures != 0 ? b->max_failures :
	    DEFAULT_MAX_FAILURES;
	struct user *u;
	uint32_t i;

	if (c->node_state == COFFER__NODE_STATE__NODE_STATE_ZEROIZED)
		return COFFER_E_ZEROIZED;
	if (!login_state_ok(c))
		return COFFER_E_STATE;
	if ((u = user_find(c, b->username)) == NULL)
		return COFFER_E_AUTH;	/* do not reveal which names exist */
	*value = u->failures;
	if (u->locked)
		return COFFER_E_LOCKED;
	if (u->failures >= max) {
		/* Over a limit lowered since, or a lost follow-up (first
		 * format): enforce it now. */
		reach_limit(c, u, b->zeroize_on_limit, pd);
		return COFFER_E_LOCKED;
	}
	if (b->attempt_id == 0) {
		u->failures++;
		*value = u->failures;
		return 0;
	}
	pending_expire(u, e->time);
	for (i = 0; i < u->npending; i++)
		if (u->pending[i].id == b->attempt_id)
			return COFFER_E_EXISTS;
	if (u->npending >= LOGIN_PENDING_MAX ||
	    (uint64_t)u->failures + u->npending >= max)
		return COFFER_E_BUSY;
	u->pending[u->npending].id = b->attempt_id;
	u->pending[u->npending].time = e->time;
	u->npending++;
	return 0;
}

static int
ap_login_success(struct content *c, const Coffer__LogEntry *e)
{
	struct user *u;

	if (!login_state_ok(c))
		return COFFER_E_STATE;
	if ((u = user_find(c, e->login_success->username)) == NULL)
		return COFFER_E_NOTFOUND;
	if (e->login_success->attempt_id != 0)
		(void)pending_release(u, e->login_success->attempt_id);
	u->failures = 0;
	return 0;
}

static int
ap_login_failure(struct content *c, const Coffer__LogEntry *e,
    struct pending *pd, uint64_t *value)
{
	const Coffer__EntLoginFailure *b = e->login_failure;
	uint32_t max = b->max_failures != 0 ? b->max_failures :
	    DEFAULT_MAX_FAILURES;
	struct user *u;

	if (c->node_state == COFFER__NODE_STATE__NODE_STATE_ZEROIZED)
		return COFFER_E_ZEROIZED;
	if (!login_state_ok(c))
		return COFFER_E_STATE;
	if ((u = user_find(c, b->username)) == NULL)
		return COFFER_E_NOTFOUND;
	if (b->attempt_id != 0)
		(void)pending_release(u, b->attempt_id);
	if (u->failures < UINT32_MAX)
		u->failures++;
	*value = u->failures;
	if (!u->locked && u->failures >= max)
		reach_limit(c, u, b->zeroize_on_limit, pd);
	return 0;
}

/* --- objects (issue 3) ---------------------------------------------------- */

#define MAX_CREATE 16	/* objects in one EntObjCreate */

static int
ap_obj_create(struct content *c, const Coffer__LogEntry *e, uint64_t *value)
{
	const Coffer__EntObjCreate *b = e->obj_create;
	struct cf_obj *objs[MAX_CREATE] = {0};
	const struct user *u;
	uint64_t max = b->max_objects != 0 ? b->max_objects :
	    CF_MAX_OBJECTS_DEFAULT;
	size_t i;
	int rc;

	if (c->node_state != COFFER__NODE_STATE__NODE_STATE_ACTIVE)
		return COFFER_E_STATE;
	if (b->n_objs == 0 || b->n_objs > MAX_CREATE)
		return COFFER_E_INVAL;
	if (cf_objstore_count(c->objs) + b->n_objs > max)
		return COFFER_E_FULL;
	for (i = 0; i < b->n_objs; i++) {
		if ((rc = cf_obj_from_pb(b->objs[i], c->next_handle + i,
		    &objs[i])) != 0)
			goto fail;
		rc = COFFER_E_INVAL;
		if (!cf_attrs_bool(&objs[i]->attrs, CKA_TOKEN, false))
			goto fail;
		if ((u = user_find(c, objs[i]->owner)) == NULL) {
			rc = COFFER_E_NOTFOUND;
			goto fail;
		}
		if (u->role != COFFER__ROLE__ROLE_CU) {
			rc = COFFER_E_ROLE;
			goto fail;
		}
	}
	for (i = 0; i < b->n_objs; i++) {
		if ((rc = cf_objstore_insert(c->objs, objs[i])) != 0) {
			/* Cannot happen: handles are new. Undo. */
			while (i-- > 0)
				(void)cf_objstore_remove(c->objs,
				    objs[i]->handle);
			for (i = 0; i < b->n_objs; i++)
				objs[i] = NULL;
			goto fail;
		}
	}
	*value = c->next_handle;
	c->next_handle += b->n_objs;
	return 0;
 fail:
	for (i = 0; i < b->n_objs; i++)
		cf_obj_free(objs[i]);
	return rc;
}

static int
ap_obj_destroy(struct content *c, const Coffer__LogEntry *e)
{
	if (c->node_state != COFFER__NODE_STATE__NODE_STATE_ACTIVE)
		return COFFER_E_STATE;
	return cf_objstore_remove(c->objs, e->obj_destroy->handle);
}

static int
ap_obj_set_attrs(struct content *c, const Coffer__LogEntry *e)
{
	const Coffer__EntObjSetAttrs *b = e->obj_set_attrs;
	struct cf_attrs a = {0};
	struct cf_obj *o;
	size_t i;
	int rc;

	if (c->node_state != COFFER__NODE_STATE__NODE_STATE_ACTIVE)
		return COFFER_E_STATE;
	if ((o = cf_objstore_get(c->objs, b->handle)) == NULL)
		return COFFER_E_NOTFOUND;
	if ((rc = cf_attrs_from_pb(b->attrs, b->n_attrs, &a)) != 0)
		return rc;
	/* Re-checked here: two racing changes were both checked by their
	 * handlers against the old object. */
	if ((rc = cf_tmpl_check_set(o, &a, CF_SET_APPLY)) != 0)
		goto out;
	if (o->attrs.n + a.n > CF_OBJ_MAX_ATTRS * 2) {
		rc = COFFER_E_ATTRIBUTE;
		goto out;
	}
	for (i = 0; i < a.n; i++)
		if ((rc = cf_attrs_set(&o->attrs, a.a[i].type, a.a[i].v,
		    a.a[i].n)) != 0)
			goto out;
	cf_objstore_reindex(c->objs, o);
	rc = 0;
 out:
	cf_attrs_clear(&a);
	return rc;
}

static int
ap_obj_share(struct content *c, const Coffer__LogEntry *e)
{
	const Coffer__EntObjShare *b = e->obj_share;
	const struct user *u;
	struct cf_obj *o;
	char (*ns)[CF_OBJ_NAME_MAX];
	size_t i;

	if (c->node_state != COFFER__NODE_STATE__NODE_STATE_ACTIVE)
		return COFFER_E_STATE;
	if ((o = cf_objstore_get(c->objs, b->handle)) == NULL)
		return COFFER_E_NOTFOUND;
	if (b->username == NULL || strcmp(b->username, o->owner) == 0)
		return COFFER_E_INVAL;
	for (i = 0; i < o->nshared; i++)
		if (strcmp(o->shared[i], b->username) == 0)
			break;
	if (b->unshare) {
		if (i == o->nshared)
			return 0;
		memmove(&o->shared[i], &o->shared[i + 1],
		    (o->nshared - i - 1) * sizeof(*o->shared));
		o->nshared--;
		cf_objstore_reindex(c->objs, o);
		return 0;
	}
	if ((u = user_find(c, b->username)) == NULL)
		return COFFER_E_NOTFOUND;
	if (u->role != COFFER__ROLE__ROLE_CU)
		return COFFER_E_ROLE;
	if (i < o->nshared)
		return 0;
	if (o->nshared >= CF_OBJ_MAX_SHARED)
		return COFFER_E_FULL;
	if ((ns = reallocarray(o->shared, o->nshared + 1,
	    sizeof(*ns))) == NULL)
		return COFFER_E_NOMEM;
	o->shared = ns;
	snprintf(o->shared[o->nshared], CF_OBJ_NAME_MAX, "%s", u->name);
	o->nshared++;
	cf_objstore_reindex(c->objs, o);
	return 0;
}

struct cf_objstore *
cf_state_objects(struct cf_state *st)
{
	return st->c.objs;
}

static int
apply_body(struct cf_state *st, const Coffer__LogEntry *e, struct pending *pd,
    uint64_t *value)
{
	struct content *c = &st->c;

	switch (e->body_case) {
	case COFFER__LOG_ENTRY__BODY_CLUSTER_CREATE:
		return ap_cluster_create(st, e, pd, value);
	case COFFER__LOG_ENTRY__BODY_CLUSTER_INITIALIZE:
		return ap_cluster_initialize(st, e, pd);
	case COFFER__LOG_ENTRY__BODY_CLUSTER_ACTIVATE:
		return ap_cluster_activate(c, e);
	case COFFER__LOG_ENTRY__BODY_USER_CREATE:
		return ap_user_create(c, e);
	case COFFER__LOG_ENTRY__BODY_USER_DELETE:
		return ap_user_delete(c, e);
	case COFFER__LOG_ENTRY__BODY_USER_PASSWORD:
		return ap_user_password(c, e);
	case COFFER__LOG_ENTRY__BODY_USER_LOCK:
		return ap_user_lock(c, e->user_lock->username, true);
	case COFFER__LOG_ENTRY__BODY_USER_UNLOCK:
		return ap_user_lock(c, e->user_unlock->username, false);
	case COFFER__LOG_ENTRY__BODY_LOGIN_ATTEMPT:
		return ap_login_attempt(c, e, pd, value);
	case COFFER__LOG_ENTRY__BODY_LOGIN_SUCCESS:
		return ap_login_success(c, e);
	case COFFER__LOG_ENTRY__BODY_LOGIN_FAILURE:
		return ap_login_failure(c, e, pd, value);
	case COFFER__LOG_ENTRY__BODY_ZEROIZE:
		if (c->node_state == COFFER__NODE_STATE__NODE_STATE_ZEROIZED)
			return 0;
		do_zeroize(c, e->zeroize->reason, pd);
		return 0;
	case COFFER__LOG_ENTRY__BODY_OBJ_CREATE:
		return ap_obj_create(c, e, value);
	case COFFER__LOG_ENTRY__BODY_OBJ_DESTROY:
		return ap_obj_destroy(c, e);
	case COFFER__LOG_ENTRY__BODY_OBJ_SET_ATTRS:
		return ap_obj_set_attrs(c, e);
	case COFFER__LOG_ENTRY__BODY_OBJ_SHARE:
		return ap_obj_share(c, e);
	default:
		return COFFER_E_UNSUPPORTED;
	}
}

/* Wipes the secret-bearing fields of an unpacked entry before freeing. */
static void
entry_free(Coffer__LogEntry *e)
{
	Coffer__UserRecord *r = NULL;
	Coffer__PasswordVerifier *v = NULL;
	size_t i;

	if (e == NULL)
		return;
	switch (e->body_case) {
	case COFFER__LOG_ENTRY__BODY_CLUSTER_CREATE:
		if (e->cluster_create->identity_key_der.data != NULL)
			cf_cleanse(e->cluster_create->identity_key_der.data,
			    e->cluster_create->identity_key_der.len);
		r = e->cluster_create->preco;
		break;
	case COFFER__LOG_ENTRY__BODY_CLUSTER_ACTIVATE:
		r = e->cluster_activate->co;
		break;
	case COFFER__LOG_ENTRY__BODY_USER_CREATE:
		r = e->user_create->user;
		break;
	case COFFER__LOG_ENTRY__BODY_USER_PASSWORD:
		v = e->user_password->verifier;
		break;
	case COFFER__LOG_ENTRY__BODY_OBJ_CREATE:
		for (i = 0; i < e->obj_create->n_objs; i++) {
			ProtobufCBinaryData *m = &e->obj_create->objs[i]->material;
			if (m->data != NULL)
				cf_cleanse(m->data, m->len);
		}
		break;
	default:
		break;
	}
	if (r != NULL)
		v = r->verifier;
	if (v != NULL && v->hash.data != NULL)
		cf_cleanse(v->hash.data, v->hash.len);
	coffer__log_entry__free_unpacked(e, NULL);
}

static void
run_hooks(struct cf_state *st, const struct pending *pd)
{
	if (pd->zeroized && st->hooks.zeroized != NULL)
		st->hooks.zeroized(st->hooks.ctx, pd->reason);
	if (pd->tls_changed && !pd->zeroized && st->hooks.tls_changed != NULL)
		st->hooks.tls_changed(st->hooks.ctx);
}

int
cf_state_apply(struct cf_state *st, uint64_t index, const uint8_t *p,
    size_t n, struct cf_apply_result *res)
{
	Coffer__LogEntry *e;
	struct idem_ent *known;
	struct pending pd = {0};
	uint64_t value = 0;
	int rc;

	res->rc = 0;
	res->value = 0;
	if ((e = coffer__log_entry__unpack(NULL, n, p)) == NULL) {
		/* Committed but undecodable: same outcome on every node. */
		log_error("entry %llu does not decode",
		    (unsigned long long)index);
		res->rc = COFFER_E_FORMAT;
		return 0;
	}
	if (e->idem.len != 0 && e->idem.len != CF_IDEM_LEN) {
		res->rc = COFFER_E_INVAL;
		entry_free(e);
		return 0;
	}
	pthread_rwlock_wrlock(&st->lock);
	if (e->idem.len == CF_IDEM_LEN &&
	    (known = idem_find(&st->c, e->idem.data)) != NULL) {
		res->rc = known->rc;
		res->value = known->value;
		pthread_rwlock_unlock(&st->lock);
		entry_free(e);
		return 0;
	}
	rc = apply_body(st, e, &pd, &value);
	if (e->idem.len == CF_IDEM_LEN)
		idem_add(&st->c, e->idem.data, rc, value);
	pthread_rwlock_unlock(&st->lock);
	res->rc = rc;
	res->value = value;
	if (rc != 0)
		log_debug("entry %llu (body %d): %s", (unsigned long long)index,
		    (int)e->body_case, coffer_errname(rc));
	entry_free(e);
	run_hooks(st, &pd);
	return 0;
}

/* --- snapshot / restore --------------------------------------------------- */

struct objcollect {
	struct cf_obj **v;
	size_t n;
};

static void
collect_obj(struct cf_obj *o, void *arg)
{
	struct objcollect *oc = arg;

	oc->v[oc->n++] = o;
}

static int
cmp_obj(const void *a, const void *b)
{
	uint64_t x = (*(struct cf_obj *const *)a)->handle;
	uint64_t y = (*(struct cf_obj *const *)b)->handle;

	return x < y ? -1 : x > y;
}

int
cf_state_snapshot(struct cf_state *st, uint8_t **p, size_t *n)
{
	struct objcollect oc = {0};
	Coffer__ObjectRecord *ors = NULL, **orp = NULL;
	void **oscratch = NULL;
	size_t nobj = 0;
	Coffer__Snapshot s = COFFER__SNAPSHOT__INIT;
	Coffer__UserRecord *recs = NULL, **rp = NULL;
	Coffer__PasswordVerifier *vers = NULL;
	Coffer__LoginPending *lps = NULL, **lpp = NULL;
	Coffer__ApplyResult *ars = NULL, **ap = NULL;
	struct content *c = &st->c;
	uint8_t *buf = NULL;
	size_t i, j, npend = 0, len = 0;
	int rc = COFFER_E_NOMEM;

	*p = NULL;
	*n = 0;
	pthread_rwlock_rdlock(&st->lock);
	if ((recs = calloc(c->nusers + 1, sizeof(*recs))) == NULL ||
	    (rp = calloc(c->nusers + 1, sizeof(*rp))) == NULL ||
	    (vers = calloc(c->nusers + 1, sizeof(*vers))) == NULL ||
	    (ars = calloc(c->ring_count + 1, sizeof(*ars))) == NULL ||
	    (ap = calloc(c->ring_count + 1, sizeof(*ap))) == NULL)
		goto out;
	for (i = 0; i < c->nusers; i++)
		npend += c->users[i].npending;
	if ((lps = calloc(npend + 1, sizeof(*lps))) == NULL ||
	    (lpp = calloc(npend + 1, sizeof(*lpp))) == NULL)
		goto out;
	nobj = cf_objstore_count(c->objs);
	if ((oc.v = calloc(nobj + 1, sizeof(*oc.v))) == NULL ||
	    (ors = calloc(nobj + 1, sizeof(*ors))) == NULL ||
	    (orp = calloc(nobj + 1, sizeof(*orp))) == NULL ||
	    (oscratch = calloc(nobj + 1, sizeof(*oscratch))) == NULL)
		goto out;
	cf_objstore_foreach(c->objs, collect_obj, &oc);
	qsort(oc.v, oc.n, sizeof(*oc.v), cmp_obj);
	for (i = 0; i < oc.n; i++) {
		if (cf_obj_to_pb(oc.v[i], &ors[i], &oscratch[i]) != 0)
			goto out;
		orp[i] = &ors[i];
	}
	s.n_objects = oc.n;
	s.objects = orp;
	s.format = 1;
	s.state = (Coffer__NodeState)c->node_state;
	s.cluster_id = c->cluster_id != NULL ? c->cluster_id : (char *)"";
	s.identity_key_der.data = c->key_der;
	s.identity_key_der.len = c->key_der_len;
	s.bootstrap_cert_pem = c->bootstrap_cert_pem != NULL ?
	    c->bootstrap_cert_pem : (char *)"";
	s.cert_pem = c->cert_pem != NULL ? c->cert_pem : (char *)"";
	s.trust_anchor_pem = c->trust_anchor_pem != NULL ?
	    c->trust_anchor_pem : (char *)"";
	npend = 0;
	for (i = 0; i < c->nusers; i++) {
		const struct user *u = &c->users[i];

		coffer__user_record__init(&recs[i]);
		coffer__password_verifier__init(&vers[i]);
		verifier_to_pb(&u->v, &vers[i]);
		recs[i].username = (char *)u->name;
		recs[i].role = (Coffer__Role)u->role;
		recs[i].verifier = &vers[i];
		recs[i].failures = u->failures;
		recs[i].locked = u->locked;
		recs[i].created = u->created;
		recs[i].password_changed = u->password_changed;
		recs[i].n_pending = u->npending;
		recs[i].pending = &lpp[npend];
		for (j = 0; j < u->npending; j++, npend++) {
			coffer__login_pending__init(&lps[npend]);
			lps[npend].id = u->pending[j].id;
			lps[npend].time = u->pending[j].time;
			lpp[npend] = &lps[npend];
		}
		rp[i] = &recs[i];
	}
	s.n_users = c->nusers;
	s.users = rp;
	for (i = 0; i < c->ring_count; i++) {
		struct idem_ent *ie =
		    &c->ring[(c->ring_first + i) % CF_IDEM_TABLE];

		coffer__apply_result__init(&ars[i]);
		ars[i].rc = ie->rc;
		ars[i].value = ie->value;
		ars[i].idem.data = ie->key;
		ars[i].idem.len = CF_IDEM_LEN;
		ap[i] = &ars[i];
	}
	s.n_recent = c->ring_count;
	s.recent = ap;
	s.next_handle = c->next_handle;
	s.created_node_id = c->created_node_id;
	len = coffer__snapshot__get_packed_size(&s);
	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		goto out;
	if (coffer__snapshot__pack(&s, buf) != len) {
		rc = COFFER_E_INTERNAL;
		cf_cleanse(buf, len);
		free(buf);
		buf = NULL;
		goto out;
	}
	*p = buf;
	*n = len;
	rc = 0;
 out:
	pthread_rwlock_unlock(&st->lock);
	if (vers != NULL)
		cf_cleanse(vers, (c->nusers + 1) * sizeof(*vers));
	free(recs);
	free(rp);
	free(vers);
	free(lps);
	free(lpp);
	free(ars);
	free(ap);
	for (i = 0; oscratch != NULL && i < nobj; i++)
		free(oscratch[i]);
	free(oscratch);
	free(ors);
	free(orp);
	free(oc.v);
	return rc;
}

static void
snapshot_free(Coffer__Snapshot *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_objects; i++) {
		ProtobufCBinaryData *m = &s->objects[i]->material;
		if (m->data != NULL)
			cf_cleanse(m->data, m->len);
	}
	if (s->identity_key_der.data != NULL)
		cf_cleanse(s->identity_key_der.data, s->identity_key_der.len);
	for (i = 0; i < s->n_users; i++) {
		Coffer__PasswordVerifier *v = s->users[i]->verifier;
		if (v != NULL && v->hash.data != NULL)
			cf_cleanse(v->hash.data, v->hash.len);
	}
	coffer__snapshot__free_unpacked(s, NULL);
}

static int
content_from_snapshot(const Coffer__Snapshot *s, struct content *c)
{
	struct user u;
	size_t i;
	int rc;

	if (s->format != 1 || s->state < COFFER__NODE_STATE__NODE_STATE_UNKNOWN ||
	    s->state > COFFER__NODE_STATE__NODE_STATE_ZEROIZED ||
	    s->n_users > CF_MAX_USERS || s->n_recent > CF_IDEM_TABLE ||
	    s->identity_key_der.len > 65536)
		return COFFER_E_FORMAT;
	c->node_state = (int)s->state;
	if ((rc = dup_str(s->cluster_id, &c->cluster_id)) != 0 ||
	    (rc = dup_str(s->bootstrap_cert_pem, &c->bootstrap_cert_pem)) != 0 ||
	    (rc = dup_str(s->cert_pem, &c->cert_pem)) != 0 ||
	    (rc = dup_str(s->trust_anchor_pem, &c->trust_anchor_pem)) != 0)
		return rc;
	if (s->identity_key_der.len > 0) {
		c->key_der = cf_malloc_secret(s->identity_key_der.len);
		if (c->key_der == NULL)
			return COFFER_E_NOMEM;
		memcpy(c->key_der, s->identity_key_der.data,
		    s->identity_key_der.len);
		c->key_der_len = s->identity_key_der.len;
	}
	for (i = 0; i < s->n_users; i++) {
		rc = user_from_pb(s->users[i], 0, &u);
		if (rc == 0)
			rc = user_pending_from_pb(s->users[i], &u);
		if (rc == 0)
			rc = user_insert(c, &u);
		cf_cleanse(&u, sizeof(u));
		if (rc != 0)
			return COFFER_E_FORMAT;
	}
	for (i = 0; i < s->n_recent; i++) {
		const Coffer__ApplyResult *a = s->recent[i];
		if (a->idem.len != CF_IDEM_LEN)
			return COFFER_E_FORMAT;
		if (idem_find(c, a->idem.data) == NULL)
			idem_add(c, a->idem.data, a->rc, a->value);
	}
	c->next_handle = s->next_handle;
	c->created_node_id = s->created_node_id;
	for (i = 0; i < s->n_objects; i++) {
		struct cf_obj *o = NULL;

		if (s->objects[i]->handle == 0 ||
		    s->objects[i]->handle >= c->next_handle ||
		    cf_obj_from_pb(s->objects[i], s->objects[i]->handle,
		    &o) != 0)
			return COFFER_E_FORMAT;
		if (cf_objstore_insert(c->objs, o) != 0) {
			cf_obj_free(o);
			return COFFER_E_FORMAT;
		}
	}
	return 0;
}

int
cf_state_restore(struct cf_state *st, const uint8_t *p, size_t n)
{
	Coffer__Snapshot *s;
	struct content fresh, old;
	struct pending pd = {0};
	int rc;

	if ((s = coffer__snapshot__unpack(NULL, n, p)) == NULL)
		return COFFER_E_FORMAT;
	if ((rc = content_init(&fresh)) != 0)
		goto out;
	if ((rc = content_from_snapshot(s, &fresh)) != 0) {
		content_free(&fresh);
		goto out;
	}
	pthread_rwlock_wrlock(&st->lock);
	old = st->c;
	st->c = fresh;
	st->tls_gen++;
	pthread_rwlock_unlock(&st->lock);
	content_free(&old);
	pd.tls_changed = true;
	if (st->c.node_state == COFFER__NODE_STATE__NODE_STATE_ZEROIZED) {
		pd.zeroized = true;
		snprintf(pd.reason, sizeof(pd.reason), "restored zeroized");
	}
	run_hooks(st, &pd);
	rc = 0;
 out:
	snapshot_free(s);
	return rc;
}

/* --- lifecycle and accessors ---------------------------------------------- */

int
cf_state_new(const struct cf_state_hooks *hooks, struct cf_state **out)
{
	struct cf_state *st;
	int rc;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return COFFER_E_NOMEM;
	if ((rc = content_init(&st->c)) != 0) {
		free(st);
		return rc;
	}
	if (pthread_rwlock_init(&st->lock, NULL) != 0) {
		content_free(&st->c);
		free(st);
		return COFFER_E_INTERNAL;
	}
	if (hooks != NULL)
		st->hooks = *hooks;
	*out = st;
	return 0;
}

void
cf_state_free(struct cf_state *st)
{
	if (st == NULL)
		return;
	content_free(&st->c);
	pthread_rwlock_destroy(&st->lock);
	free(st);
}

void
cf_state_rdlock(struct cf_state *st)
{
	pthread_rwlock_rdlock(&st->lock);
}

void
cf_state_unlock(struct cf_state *st)
{
	pthread_rwlock_unlock(&st->lock);
}

int
cf_state_node_state(const struct cf_state *st)
{
	return st->c.node_state;
}

const char *
cf_state_cluster_id(const struct cf_state *st)
{
	return st->c.cluster_id != NULL ? st->c.cluster_id : "";
}

unsigned
cf_state_user_count(const struct cf_state *st)
{
	return (unsigned)st->c.nusers;
}

uint64_t
cf_state_tls_gen(const struct cf_state *st)
{
	return st->tls_gen;
}

static void
user_view(const struct user *u, struct cf_user_view *v)
{
	*v = (struct cf_user_view){0};
	snprintf(v->username, sizeof(v->username), "%s", u->name);
	v->role = u->role;
	v->locked = u->locked;
	v->failures = u->failures;
	v->created = u->created;
	v->password_changed = u->password_changed;
	v->verifier = u->v;
}

int
cf_state_user_get(const struct cf_state *st, const char *username,
    struct cf_user_view *out)
{
	const struct user *u;

	*out = (struct cf_user_view){0};
	if ((u = user_find(&st->c, username)) == NULL)
		return COFFER_E_NOTFOUND;
	user_view(u, out);
	return 0;
}

int
cf_state_user_status(const struct cf_state *st, const char *username,
    int *role, bool *locked)
{
	const struct user *u;

	if ((u = user_find(&st->c, username)) == NULL)
		return COFFER_E_NOTFOUND;
	*role = u->role;
	*locked = u->locked;
	return 0;
}

bool
cf_state_login_room(const struct cf_state *st, const char *username,
    uint64_t now, uint32_t max)
{
	const struct user *u;
	uint32_t i, live = 0;

	if ((u = user_find(&st->c, username)) == NULL || u->locked ||
	    u->failures >= max)
		return true;	/* the attempt itself gives the answer */
	for (i = 0; i < u->npending; i++)
		live += pending_live(&u->pending[i], now);
	return live < LOGIN_PENDING_MAX && (uint64_t)u->failures + live < max;
}

int
cf_state_user_list(const struct cf_state *st, struct cf_user_view **users,
    size_t *n)
{
	size_t i;

	*users = NULL;
	*n = 0;
	if ((*users = calloc(st->c.nusers + 1, sizeof(**users))) == NULL)
		return COFFER_E_NOMEM;
	for (i = 0; i < st->c.nusers; i++) {
		user_view(&st->c.users[i], &(*users)[i]);
		/* Lists never carry verifiers. */
		cf_cleanse(&(*users)[i].verifier, sizeof((*users)[i].verifier));
	}
	*n = st->c.nusers;
	return 0;
}

int
cf_state_tls_material(const struct cf_state *st, uint8_t **key_der,
    size_t *key_der_len, char **cert_pem, char **trust_anchor_pem)
{
	const struct content *c = &st->c;
	const char *cert;

	*key_der = NULL;
	*key_der_len = 0;
	*cert_pem = NULL;
	if (trust_anchor_pem != NULL)
		*trust_anchor_pem = NULL;
	if (c->key_der == NULL || c->bootstrap_cert_pem == NULL)
		return COFFER_E_STATE;
	cert = c->cert_pem != NULL ? c->cert_pem : c->bootstrap_cert_pem;
	if ((*key_der = cf_malloc_secret(c->key_der_len)) == NULL)
		return COFFER_E_NOMEM;
	memcpy(*key_der, c->key_der, c->key_der_len);
	*key_der_len = c->key_der_len;
	if ((*cert_pem = strdup(cert)) == NULL)
		goto nomem;
	if (trust_anchor_pem != NULL && c->trust_anchor_pem != NULL &&
	    (*trust_anchor_pem = strdup(c->trust_anchor_pem)) == NULL)
		goto nomem;
	return 0;
 nomem:
	cf_free_secret(*key_der, *key_der_len);
	*key_der = NULL;
	*key_der_len = 0;
	free(*cert_pem);
	*cert_pem = NULL;
	return COFFER_E_NOMEM;
}
