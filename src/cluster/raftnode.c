/* SPDX-License-Identifier: Apache-2.0 */
/*
 * raftnode.c: Coffer's glue around libraft 0.15 (research/raft-spike.md).
 *
 * - Every entry is sealed under the cluster key with its own log index
 *   (kind CF_SEAL_ENTRY) before raft_apply, and opened again in the FSM
 *   apply wrapper; snapshots are sealed with index 0. libraft and the disk
 *   only ever see sealed bytes.
 * - libraft is single-threaded: only the loop thread calls raft_*.
 *   Proposers on other threads queue a request (mutex + uv_async_send) and
 *   sleep on a per-request condvar; requests are refcounted (waiter +
 *   loop) so a waiter that times out never frees memory the loop uses.
 * - FSM results never go through libraft (0.15 does not free the result
 *   on followers): the apply wrapper stores them in the proposal found in
 *   the in-flight table by log index and hands NULL to libraft.
 * - Integrity failure of any sealed entry or snapshot is terminal: the FSM
 *   is told once, nothing more is applied, proposers are released.
 *
 * Entry framing: sealed blob || pad, pad = 1..8 bytes each holding the pad
 * length, so the entry length is a multiple of 8. libraft 0.15's segment
 * encoder requires that (an assert compiled out in Debian's build: odd
 * lengths silently produce segments that fail to load on restart).
 */
#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <time.h>

#include <raft.h>
#include <raft/uv.h>

#include "coffer/coffer_err.h"
#include "common/log.h"
#include "common/secmem.h"
#include "crypto/seal.h"
#include "cluster/raftnode.h"
#include "cluster/transport_local.h"

#define CF_RAFT_MAX_ENTRY (8u * 1024 * 1024)	/* plaintext bytes */
#define CF_RAFT_STATUS_MS 100
#define CF_RAFT_INSTALL_SNAPSHOT_MS 5000

enum prop_state {
	PROP_QUEUED,	/* in submitq, loop has not seen it */
	PROP_SEALING,	/* loop is reading the waiter's plaintext */
	PROP_APPENDED,	/* handed to raft_apply; libraft holds req */
	PROP_DONE,	/* rc/res final, waiter may return */
};

struct proposal {
	struct raft_apply req;		/* loop only; req.data = this */
	struct cf_raftnode *node;
	const uint8_t *p;		/* waiter's plaintext (QUEUED/SEALING) */
	size_t n;
	uint64_t index;			/* log index once appended */
	struct cf_apply_result res;
	int has_result;			/* loop only until DONE */
	int rc;
	enum prop_state state;
	int refs;			/* waiter + loop; under node->mu */
	pthread_cond_t cv;
	TAILQ_ENTRY(proposal) qlink;	/* submitq, under node->mu */
	TAILQ_ENTRY(proposal) flink;	/* inflight, loop only */
};
TAILQ_HEAD(prop_list, proposal);

struct cf_raftnode {
	uv_loop_t *loop;
	pthread_t loop_thread;
	struct raft raft;
	struct raft_io io;
	struct raft_uv_transport transport;
	struct raft_fsm rfsm;
	struct cf_raftnode_fsm fsm;
	uint8_t *key;			/* secure heap, CF_CLUSTER_KEY_LEN */
	uv_async_t async;
	uv_timer_t timer;
	int handles_open;		/* async + timer initialised */
	int handles_closing;

	pthread_mutex_t mu;
	pthread_cond_t applied_cv;	/* applied, stopped, failed */
	unsigned applied_waiters;
	unsigned users;			/* threads inside our API */
	struct prop_list submitq;	/* under mu */
	int stopping;			/* under mu */
	int stopped;			/* under mu: about to be freed */
	atomic_int failed;		/* integrity/FSM failure: terminal */
	_Atomic uint64_t applied;
	struct cf_raftnode_status status;	/* under mu */

	struct prop_list inflight;	/* loop only, keyed by index */
	void (*stop_cb)(void *);
	void *stop_arg;

	/* libraft 0.15 close-callback guard: see io_close_guarded. */
	void (*uv_close)(struct raft_io *, raft_io_close_cb);
	raft_io_close_cb io_close_cb;
	int io_closed;
};

/* --- helpers ------------------------------------------------------------ */

static int
rc_from_raft(int rv)
{
	switch (rv) {
	case 0:
		return 0;
	case RAFT_NOMEM:
		return COFFER_E_NOMEM;
	case RAFT_NOTLEADER:
	case RAFT_SHUTDOWN:
	case RAFT_CANCELED:
	case RAFT_NOCONNECTION:
		return COFFER_E_UNAVAILABLE;
	case RAFT_LEADERSHIPLOST:
		return COFFER_E_UNKNOWN_OUTCOME;
	case RAFT_TOOBIG:
		return COFFER_E_TOOBIG;
	case RAFT_IOERR:
	case RAFT_NOTFOUND:
	case RAFT_NOSPACE:
		return COFFER_E_IO;
	case RAFT_CORRUPT:
		return COFFER_E_INTEGRITY;
	case RAFT_INVALID:
		return COFFER_E_INVAL;
	default:
		return COFFER_E_INTERNAL;
	}
}

/* raft_strerror() of 0.15 has no text for 19..23. */
static const char *
raft_errstr(int rv)
{
	switch (rv) {
	case RAFT_NOTFOUND:
		return "not found";
	case RAFT_INVALID:
		return "invalid";
	case RAFT_UNAUTHORIZED:
		return "unauthorized";
	case RAFT_NOSPACE:
		return "no space";
	case RAFT_TOOMANY:
		return "too many";
	default:
		return raft_strerror(rv);
	}
}

static struct timespec
deadline_after(unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static int
cond_init_mono(pthread_cond_t *cv)
{
	pthread_condattr_t a;
	int rc;

	if (pthread_condattr_init(&a) != 0)
		return -1;
	rc = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(cv, &a);
	pthread_condattr_destroy(&a);
	return rc == 0 ? 0 : -1;
}

/* Under mu. Drops one reference; frees on the last one. */
static void
prop_unref(struct proposal *pr)
{
	if (--pr->refs > 0)
		return;
	pthread_cond_destroy(&pr->cv);
	free(pr);
}

/* Under mu. Sets the final outcome once and wakes the waiter. */
static void
prop_complete(struct proposal *pr, int rc)
{
	if (pr->state == PROP_DONE)
		return;
	pr->rc = rc;
	pr->state = PROP_DONE;
	pr->p = NULL;
	pthread_cond_signal(&pr->cv);
}

static void
status_refresh_locked(struct cf_raftnode *node)
{
	struct cf_raftnode_status *st = &node->status;
	const char *name, *addr = NULL;
	raft_id leader = 0;
	uint64_t la;

	if (atomic_load(&node->failed))
		name = "error";
	else if (node->stopping)
		name = "stopping";
	else {
		switch (raft_state(&node->raft)) {
		case RAFT_LEADER:
			name = "leader";
			break;
		case RAFT_FOLLOWER:
			name = "follower";
			break;
		case RAFT_CANDIDATE:
			name = "candidate";
			break;
		default:
			name = "unavailable";
			break;
		}
	}
	snprintf(st->state, sizeof(st->state), "%s", name);
	if (!node->stopping) {
		raft_leader(&node->raft, &leader, &addr);
		st->leader_id = leader;
		st->last_index = raft_last_index(&node->raft);
		/*
		 * A restored snapshot moves last_applied without an apply
		 * call; catch up from the public accessor.
		 */
		la = raft_last_applied(&node->raft);
		if (la > atomic_load(&node->applied)) {
			atomic_store(&node->applied, la);
			if (node->applied_waiters > 0)
				pthread_cond_broadcast(&node->applied_cv);
		}
	}
	st->applied = atomic_load(&node->applied);
	/*
	 * libraft 0.15 has no accessor for the configuration and
	 * research/raft-spike.md rules out reading struct raft internals.
	 * Until membership changes exist (clustering issue) the
	 * configuration is the one-member bootstrap one.
	 */
	st->members = 1;
}

static void
status_refresh(struct cf_raftnode *node)
{
	pthread_mutex_lock(&node->mu);
	status_refresh_locked(node);
	pthread_mutex_unlock(&node->mu);
}

/*
 * Loop thread. Terminal failure: tell the FSM (once) and release every
 * proposer. Appended proposals stay referenced by libraft (their apply
 * callbacks fire at raft_close); their waiters get UNKNOWN_OUTCOME since
 * the entries may be committed.
 */
static void
node_fail(struct cf_raftnode *node, int integrity, const char *what)
{
	struct proposal *pr;
	int was;

	was = atomic_exchange(&node->failed, 1);
	if (!was && integrity) {
		log_error("raft: %s failed its integrity check, node stops "
		    "applying", what);
		if (node->fsm.integrity_failure != NULL)
			node->fsm.integrity_failure(node->fsm.ctx, what);
	} else if (!was)
		log_error("raft: %s failed; node stops applying", what);
	pthread_mutex_lock(&node->mu);
	while ((pr = TAILQ_FIRST(&node->submitq)) != NULL) {
		TAILQ_REMOVE(&node->submitq, pr, qlink);
		prop_complete(pr, COFFER_E_UNAVAILABLE);
		prop_unref(pr);		/* the loop never took it */
	}
	TAILQ_FOREACH(pr, &node->inflight, flink)
		prop_complete(pr, COFFER_E_UNKNOWN_OUTCOME);
	status_refresh_locked(node);
	pthread_cond_broadcast(&node->applied_cv);
	pthread_mutex_unlock(&node->mu);
}

/* --- FSM wrappers (loop thread) ---------------------------------------- */

/* Length of a framed entry holding n plaintext bytes (see top). */
static size_t
frame_len(size_t n)
{
	return (n + CF_SEAL_OVERHEAD + 8) & ~(size_t)7;
}

/* Pads a sealed blob of sealed_len bytes in base[0..frame_len). */
static void
frame(uint8_t *base, size_t sealed_len, size_t total)
{
	size_t i;

	for (i = sealed_len; i < total; i++)
		base[i] = (uint8_t)(total - sealed_len);
}

/* Strips the padding; COFFER_E_FORMAT if it is malformed. */
static int
unframe(const struct raft_buffer *buf, size_t *sealed_len)
{
	const uint8_t *p = buf->base;
	size_t pad, i;

	*sealed_len = 0;
	if (buf->len == 0 || buf->len % 8 != 0)
		return COFFER_E_FORMAT;
	pad = p[buf->len - 1];
	if (pad == 0 || pad > 8 || pad > buf->len)
		return COFFER_E_FORMAT;
	for (i = buf->len - pad; i < buf->len; i++)
		if (p[i] != pad)
			return COFFER_E_FORMAT;
	*sealed_len = buf->len - pad;
	return 0;
}

static int
fsm_apply(struct raft_fsm *rfsm, const struct raft_buffer *buf, void **result)
{
	struct cf_raftnode *node = rfsm->data;
	struct cf_apply_result res = { 0 };
	struct proposal *pr;
	uint8_t *plain = NULL;
	size_t plain_len = 0, sealed_len = 0;
	uint64_t index;
	int rc;

	*result = NULL;	/* never hand heap results to libraft (see top) */
	if (atomic_load(&node->failed))
		return RAFT_CORRUPT;
	/*
	 * libraft 0.15 (replication.c applyCommand) calls fsm->apply before
	 * it advances last_applied, one entry at a time in log order, so the
	 * entry being applied is last_applied + 1. A wrong guess cannot go
	 * unnoticed: the index is authenticated by the seal.
	 */
	index = raft_last_applied(&node->raft) + 1;
	rc = unframe(buf, &sealed_len);
	if (rc == 0)
		rc = cf_sealbox_open(node->key, CF_SEAL_ENTRY, index,
		    buf->base, sealed_len, &plain, &plain_len);
	if (rc == COFFER_E_NOMEM)
		return RAFT_NOMEM;	/* transient: libraft retries */
	if (rc != 0) {
		node_fail(node, 1, "raft log entry");
		return RAFT_CORRUPT;
	}
	rc = node->fsm.apply(node->fsm.ctx, index, plain, plain_len, &res);
	cf_free_secret(plain, plain_len > 0 ? plain_len : 1);
	if (rc != 0) {
		node_fail(node, 0, "FSM apply");
		return RAFT_CORRUPT;
	}
	TAILQ_FOREACH(pr, &node->inflight, flink) {
		if (pr->index == index) {
			pr->res = res;
			pr->has_result = 1;
			break;
		}
	}
	atomic_store(&node->applied, index);
	pthread_mutex_lock(&node->mu);
	if (node->applied_waiters > 0)
		pthread_cond_broadcast(&node->applied_cv);
	status_refresh_locked(node);
	pthread_mutex_unlock(&node->mu);
	return 0;
}

static int
fsm_snapshot(struct raft_fsm *rfsm, struct raft_buffer *bufs[], unsigned *n)
{
	struct cf_raftnode *node = rfsm->data;
	struct raft_buffer *b = NULL;
	uint8_t *plain = NULL;
	size_t plain_len = 0;
	int rc, rv = RAFT_NOMEM;

	*bufs = NULL;
	*n = 0;
	if (atomic_load(&node->failed))
		return RAFT_CORRUPT;
	if ((rc = node->fsm.snapshot(node->fsm.ctx, &plain, &plain_len)) != 0) {
		log_error("raft: FSM snapshot failed: %s", coffer_errname(rc));
		rv = rc == COFFER_E_BUSY ? RAFT_BUSY : RAFT_IOERR;
		goto out;
	}
	if (plain_len > SIZE_MAX / 2) {
		rv = RAFT_TOOBIG;
		goto out;
	}
	if ((b = raft_malloc(sizeof(*b))) == NULL)
		goto out;
	b->len = plain_len + CF_SEAL_OVERHEAD;
	if ((b->base = raft_malloc(b->len)) == NULL)
		goto out;
	rc = cf_sealbox_seal(node->key, CF_SEAL_SNAPSHOT, 0, plain, plain_len,
	    b->base);
	if (rc != 0) {
		log_error("raft: sealing snapshot failed: %s",
		    coffer_errname(rc));
		rv = rc == COFFER_E_TOOBIG ? RAFT_TOOBIG : RAFT_IOERR;
		raft_free(b->base);
		goto out;
	}
	*bufs = b;
	*n = 1;
	b = NULL;
	rv = 0;
 out:
	raft_free(b);
	if (plain != NULL)
		cf_free_secret(plain, plain_len > 0 ? plain_len : 1);
	return rv;
}

static int
fsm_restore(struct raft_fsm *rfsm, struct raft_buffer *buf)
{
	struct cf_raftnode *node = rfsm->data;
	uint8_t *plain = NULL;
	size_t plain_len = 0;
	int rc, rv;

	if (atomic_load(&node->failed)) {
		raft_free(buf->base);
		return RAFT_CORRUPT;
	}
	rc = cf_sealbox_open(node->key, CF_SEAL_SNAPSHOT, 0, buf->base,
	    buf->len, &plain, &plain_len);
	raft_free(buf->base);	/* ours in every case (raft.h) */
	buf->base = NULL;
	if (rc == COFFER_E_NOMEM)
		return RAFT_NOMEM;
	if (rc != 0) {
		node_fail(node, 1, "raft snapshot");
		return RAFT_CORRUPT;
	}
	rc = node->fsm.restore(node->fsm.ctx, plain, plain_len);
	cf_free_secret(plain, plain_len > 0 ? plain_len : 1);
	if (rc != 0) {
		node_fail(node, 0, "FSM restore");
		rv = RAFT_CORRUPT;
	} else
		rv = 0;
	return rv;
}

/* --- proposals (loop side) --------------------------------------------- */

static void
apply_cb(struct raft_apply *req, int status, void *result)
{
	struct proposal *pr = req->data;
	struct cf_raftnode *node = pr->node;
	int rc;

	(void)result;	/* always NULL: see fsm_apply */
	TAILQ_REMOVE(&node->inflight, pr, flink);
	if (status == 0)
		rc = pr->has_result ? 0 : COFFER_E_INTERNAL;
	else if (status == RAFT_NOTLEADER)
		rc = COFFER_E_UNAVAILABLE;
	else
		/* LEADERSHIPLOST, SHUTDOWN, I/O error after append... */
		rc = COFFER_E_UNKNOWN_OUTCOME;
	if (status == 0 && !pr->has_result)
		log_error("raft: entry %llu applied without FSM result",
		    (unsigned long long)pr->index);
	pthread_mutex_lock(&node->mu);
	prop_complete(pr, rc);
	prop_unref(pr);
	pthread_mutex_unlock(&node->mu);
}

/* Loop thread, pr in PROP_SEALING. Seals with the next index, appends. */
static int
propose_one(struct cf_raftnode *node, struct proposal *pr)
{
	struct raft_buffer buf;
	uint64_t index;
	int rv, rc;

	if (raft_state(&node->raft) != RAFT_LEADER)
		return COFFER_E_UNAVAILABLE;
	/* raft_apply appends at last_index + 1; bind the seal to it. */
	index = raft_last_index(&node->raft) + 1;
	buf.len = frame_len(pr->n);
	if ((buf.base = raft_malloc(buf.len)) == NULL)
		return COFFER_E_NOMEM;
	rc = cf_sealbox_seal(node->key, CF_SEAL_ENTRY, index, pr->p, pr->n,
	    buf.base);
	if (rc != 0) {
		raft_free(buf.base);
		return rc;
	}
	frame(buf.base, pr->n + CF_SEAL_OVERHEAD, buf.len);
	pr->index = index;
	pr->req.data = pr;
	/* In the table before raft_apply: apply may never precede this. */
	TAILQ_INSERT_TAIL(&node->inflight, pr, flink);
	rv = raft_apply(&node->raft, &pr->req, &buf, 1, apply_cb);
	if (rv != 0) {
		TAILQ_REMOVE(&node->inflight, pr, flink);
		raft_free(buf.base);
		return rc_from_raft(rv);
	}
	if (pr->req.index != index) {
		/* Would only happen if libraft's numbering changed: the entry
		 * then fails its integrity check when applied. */
		log_error("raft: entry sealed for index %llu appended at %llu",
		    (unsigned long long)index,
		    (unsigned long long)pr->req.index);
	}
	return 0;
}

static void
async_cb(uv_async_t *h)
{
	struct cf_raftnode *node = h->data;
	struct proposal *pr;
	int rc;

	pthread_mutex_lock(&node->mu);
	while ((pr = TAILQ_FIRST(&node->submitq)) != NULL) {
		TAILQ_REMOVE(&node->submitq, pr, qlink);
		if (node->stopping || atomic_load(&node->failed)) {
			prop_complete(pr, COFFER_E_UNAVAILABLE);
			prop_unref(pr);
			continue;
		}
		pr->state = PROP_SEALING;
		pthread_mutex_unlock(&node->mu);
		rc = propose_one(node, pr);
		pthread_mutex_lock(&node->mu);
		if (rc != 0) {
			prop_complete(pr, rc);
			prop_unref(pr);
		} else if (pr->state == PROP_SEALING) {
			pr->state = PROP_APPENDED;
			pr->p = NULL;
			/* A timed-out waiter may wait for SEALING to end. */
			pthread_cond_signal(&pr->cv);
		}
	}
	pthread_mutex_unlock(&node->mu);
}

static void
timer_cb(uv_timer_t *t)
{
	status_refresh(t->data);
}

/* --- proposals (caller side) ------------------------------------------- */

int
cf_raftnode_propose_sync(struct cf_raftnode *node, const uint8_t *p, size_t n,
    unsigned timeout_ms, struct cf_apply_result *res, uint64_t *index)
{
	struct proposal *pr;
	struct timespec dl;
	int rc, timed_out = 0;

	if (res != NULL) {
		res->rc = 0;
		res->value = 0;
	}
	if (index != NULL)
		*index = 0;
	if (node == NULL || (p == NULL && n > 0))
		return COFFER_E_INVAL;
	if (pthread_equal(pthread_self(), node->loop_thread))
		return COFFER_E_INVAL;	/* would deadlock the loop */
	if (n > CF_RAFT_MAX_ENTRY)
		return COFFER_E_TOOBIG;
	if ((pr = calloc(1, sizeof(*pr))) == NULL)
		return COFFER_E_NOMEM;
	if (cond_init_mono(&pr->cv) != 0) {
		free(pr);
		return COFFER_E_NOMEM;
	}
	pr->node = node;
	pr->p = p;
	pr->n = n;
	pr->state = PROP_QUEUED;
	pr->refs = 2;		/* waiter + loop */
	dl = deadline_after(timeout_ms);

	pthread_mutex_lock(&node->mu);
	if (node->stopping || atomic_load(&node->failed)) {
		pthread_mutex_unlock(&node->mu);
		pthread_cond_destroy(&pr->cv);
		free(pr);
		return COFFER_E_UNAVAILABLE;
	}
	node->users++;
	TAILQ_INSERT_TAIL(&node->submitq, pr, qlink);
	/* Under mu: stop closes the async handle only after stopping = 1. */
	uv_async_send(&node->async);
	while (pr->state != PROP_DONE) {
		if (timed_out) {
			if (pr->state == PROP_QUEUED) {
				/* Never seen by the loop: not appended. */
				TAILQ_REMOVE(&node->submitq, pr, qlink);
				prop_complete(pr, COFFER_E_UNAVAILABLE);
				/* Drop the loop's reference; ours remains. */
				pr->refs--;
				break;
			}
			if (pr->state == PROP_SEALING) {
				/* The loop reads p right now; short wait. */
				pthread_cond_wait(&pr->cv, &node->mu);
				continue;
			}
			/* Appended: it may still commit. */
			log_warn("raft: proposal at index %llu timed out",
			    (unsigned long long)pr->index);
			break;
		}
		if (pthread_cond_timedwait(&pr->cv, &node->mu, &dl) ==
		    ETIMEDOUT)
			timed_out = 1;
	}
	if (pr->state == PROP_DONE) {
		rc = pr->rc;
		if (rc == 0 && res != NULL)
			*res = pr->res;
		if (rc == 0 && index != NULL)
			*index = pr->index;
	} else {
		rc = COFFER_E_UNKNOWN_OUTCOME;
		pr->p = NULL;	/* the loop no longer needs it */
	}
	prop_unref(pr);
	if (--node->users == 0 && node->stopped)
		pthread_cond_broadcast(&node->applied_cv);
	pthread_mutex_unlock(&node->mu);
	return rc;
}

uint64_t
cf_raftnode_applied(struct cf_raftnode *node)
{
	return atomic_load(&node->applied);
}

int
cf_raftnode_wait_applied(struct cf_raftnode *node, uint64_t index,
    unsigned timeout_ms)
{
	struct timespec dl;
	int rc = 0;

	if (atomic_load(&node->applied) >= index)
		return 0;
	dl = deadline_after(timeout_ms);
	pthread_mutex_lock(&node->mu);
	node->users++;
	node->applied_waiters++;
	while (atomic_load(&node->applied) < index) {
		if (node->stopping || node->stopped ||
		    atomic_load(&node->failed)) {
			rc = COFFER_E_UNAVAILABLE;
			break;
		}
		if (pthread_cond_timedwait(&node->applied_cv, &node->mu,
		    &dl) == ETIMEDOUT) {
			rc = atomic_load(&node->applied) >= index ? 0 :
			    COFFER_E_TIMEOUT;
			break;
		}
	}
	node->applied_waiters--;
	if (--node->users == 0 && node->stopped)
		pthread_cond_broadcast(&node->applied_cv);
	pthread_mutex_unlock(&node->mu);
	return rc;
}

void
cf_raftnode_status(struct cf_raftnode *node, struct cf_raftnode_status *st)
{
	pthread_mutex_lock(&node->mu);
	*st = node->status;
	st->applied = atomic_load(&node->applied);
	pthread_mutex_unlock(&node->mu);
}

/* --- start / stop ------------------------------------------------------- */

/*
 * libraft 0.15 can fire its io close callback twice: uvMaybeFireCloseCb
 * has no "already fired" guard, and the open segment's writer may finish
 * closing after the callback fired (when its last write was still in the
 * thread pool), calling it again from uvAliveSegmentWriterCloseCb (fixed
 * upstream in cowsql/raft PR #45). The second call reached a freed raft
 * node: cofferd died of SIGSEGV in ioCloseCb during a clean stop, about
 * once in 1,500 stops under load (the crash report's stack: uv_run ->
 * ioCloseCb, the writer's close callbacks being tail calls). So raft_io's
 * close goes through this wrapper, which passes on the first call only,
 * and the memory libraft may still read after its close (our node, the
 * raft_io and libraft's uv object) is freed by cf_raftnode_destroy once
 * the loop has run dry, not when raft_close completes.
 */
#define NODE_OF_IO(io) \
	((struct cf_raftnode *)((char *)(io) - offsetof(struct cf_raftnode, io)))

static void
io_closed_once(struct raft_io *io)
{
	struct cf_raftnode *node = NODE_OF_IO(io);

	if (node->io_closed) {
		log_debug("raft: libraft's io close callback fired again "
		    "(ignored)");
		return;
	}
	node->io_closed = 1;
	node->io_close_cb(io);
}

static void
io_close_guarded(struct raft_io *io, raft_io_close_cb cb)
{
	struct cf_raftnode *node = NODE_OF_IO(io);

	node->io_close_cb = cb;
	node->uv_close(io, io_closed_once);
}

/* Stopped: no proposal can start, waiters are gone, the key is wiped.
 * The struct itself stays for cf_raftnode_destroy. */
static void
node_release(struct cf_raftnode *node)
{
	pthread_mutex_lock(&node->mu);
	node->stopped = 1;
	pthread_cond_broadcast(&node->applied_cv);
	/* Woken API callers only need mu to leave; wait for them. */
	while (node->users > 0)
		pthread_cond_wait(&node->applied_cv, &node->mu);
	pthread_mutex_unlock(&node->mu);
	cf_free_secret(node->key, CF_CLUSTER_KEY_LEN);
	node->key = NULL;
}

void
cf_raftnode_destroy(struct cf_raftnode *node)
{
	if (node == NULL)
		return;
	raft_uv_close(&node->io);
	pthread_cond_destroy(&node->applied_cv);
	pthread_mutex_destroy(&node->mu);
	free(node);
}

static void
handle_closed(uv_handle_t *h)
{
	struct cf_raftnode *node = h->data;
	void (*cb)(void *) = node->stop_cb;
	void *arg = node->stop_arg;

	if (--node->handles_closing > 0)
		return;
	node_release(node);
	if (cb != NULL)
		cb(arg);
}

static void
raft_closed(struct raft *r)
{
	struct cf_raftnode *node = r->data;
	struct proposal *pr;

	/* libraft failed its pending requests while closing; be sure. */
	pthread_mutex_lock(&node->mu);
	while ((pr = TAILQ_FIRST(&node->inflight)) != NULL) {
		TAILQ_REMOVE(&node->inflight, pr, flink);
		prop_complete(pr, COFFER_E_UNKNOWN_OUTCOME);
		prop_unref(pr);
	}
	pthread_mutex_unlock(&node->mu);
	cf_transport_local_free(&node->transport);
	if (node->handles_open) {
		/* raft_uv_close waits for cf_raftnode_destroy. */
		node->handles_closing = 2;
		uv_close((uv_handle_t *)&node->async, handle_closed);
		uv_close((uv_handle_t *)&node->timer, handle_closed);
	} else {
		/* Failed start (nothing appended, so no writer to close
		 * late): no handles, no owner, nobody to call back. */
		node_release(node);
		cf_raftnode_destroy(node);
	}
}

void
cf_raftnode_stop(struct cf_raftnode *node, void (*cb)(void *), void *arg)
{
	struct proposal *pr;

	if (node->stopping) {
		log_warn("raft: stop called twice");
		return;
	}
	node->stop_cb = cb;
	node->stop_arg = arg;
	pthread_mutex_lock(&node->mu);
	node->stopping = 1;
	while ((pr = TAILQ_FIRST(&node->submitq)) != NULL) {
		TAILQ_REMOVE(&node->submitq, pr, qlink);
		prop_complete(pr, COFFER_E_UNAVAILABLE);
		prop_unref(pr);
	}
	status_refresh_locked(node);
	pthread_cond_broadcast(&node->applied_cv);
	pthread_mutex_unlock(&node->mu);
	uv_timer_stop(&node->timer);
	raft_close(&node->raft, raft_closed);
}

static int
ensure_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_error("raft: cannot create %s: %s", dir, strerror(errno));
		return COFFER_E_IO;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		log_error("raft: %s is not a directory", dir);
		return COFFER_E_IO;
	}
	return 0;
}

int
cf_raftnode_start(uv_loop_t *loop, const struct cf_raftnode_opts *opts,
    const uint8_t *cluster_key, const struct cf_raftnode_fsm *fsm,
    struct cf_raftnode **out)
{
	struct cf_raftnode *node = NULL;
	struct raft_configuration conf;
	int rc, rv, stage = 0;

	if (out != NULL)
		*out = NULL;
	if (loop == NULL || opts == NULL || cluster_key == NULL ||
	    fsm == NULL || out == NULL || opts->id == 0 ||
	    opts->dir == NULL || opts->address == NULL ||
	    fsm->apply == NULL || fsm->snapshot == NULL ||
	    fsm->restore == NULL || fsm->integrity_failure == NULL)
		return COFFER_E_INVAL;
	if ((rc = ensure_dir(opts->dir)) != 0)
		return rc;
	if ((node = calloc(1, sizeof(*node))) == NULL)
		return COFFER_E_NOMEM;
	if ((node->key = cf_malloc_secret(CF_CLUSTER_KEY_LEN)) == NULL) {
		free(node);
		return COFFER_E_NOMEM;
	}
	memcpy(node->key, cluster_key, CF_CLUSTER_KEY_LEN);
	if (pthread_mutex_init(&node->mu, NULL) != 0 ||
	    cond_init_mono(&node->applied_cv) != 0) {
		cf_free_secret(node->key, CF_CLUSTER_KEY_LEN);
		free(node);
		return COFFER_E_INTERNAL;
	}
	node->loop = loop;
	node->loop_thread = pthread_self();
	node->fsm = *fsm;
	TAILQ_INIT(&node->submitq);
	TAILQ_INIT(&node->inflight);
	node->rfsm.version = 1;
	node->rfsm.data = node;
	node->rfsm.apply = fsm_apply;
	node->rfsm.snapshot = fsm_snapshot;
	node->rfsm.restore = fsm_restore;
	snprintf(node->status.state, sizeof(node->status.state), "starting");

	if ((rc = cf_transport_local_init(&node->transport, loop)) != 0)
		goto fail;
	stage = 1;
	if ((rv = raft_uv_init(&node->io, loop, opts->dir,
	    &node->transport)) != 0) {
		log_error("raft: raft_uv_init %s: %s", opts->dir,
		    raft_errstr(rv));
		rc = rc_from_raft(rv);
		goto fail;
	}
	stage = 2;
	node->uv_close = node->io.close;
	node->io.close = io_close_guarded;
	if ((rv = raft_init(&node->raft, &node->io, &node->rfsm, opts->id,
	    opts->address)) != 0) {
		log_error("raft: raft_init: %s (%s)", raft_errstr(rv),
		    raft_errmsg(&node->raft));
		rc = rc_from_raft(rv);
		goto fail;
	}
	node->raft.data = node;
	stage = 3;
	if (opts->bootstrap) {
		raft_configuration_init(&conf);
		rv = raft_configuration_add(&conf, opts->id, opts->address,
		    RAFT_VOTER);
		if (rv == 0)
			rv = raft_bootstrap(&node->raft, &conf);
		raft_configuration_close(&conf);
		if (rv != 0 && rv != RAFT_CANTBOOTSTRAP) {
			log_error("raft: bootstrap: %s (%s)", raft_errstr(rv),
			    raft_errmsg(&node->raft));
			rc = rc_from_raft(rv);
			goto fail;
		}
	}
	raft_set_pre_vote(&node->raft, true);
	raft_set_install_snapshot_timeout(&node->raft,
	    CF_RAFT_INSTALL_SNAPSHOT_MS);
	raft_set_snapshot_threshold(&node->raft,
	    opts->snapshot_threshold ? opts->snapshot_threshold : 16384);
	raft_set_snapshot_trailing(&node->raft,
	    opts->snapshot_trailing ? opts->snapshot_trailing : 4096);
	raft_set_election_timeout(&node->raft,
	    opts->election_timeout_ms ? opts->election_timeout_ms : 1000);
	raft_set_heartbeat_timeout(&node->raft,
	    opts->heartbeat_timeout_ms ? opts->heartbeat_timeout_ms : 100);
	if ((rv = raft_start(&node->raft)) != 0) {
		log_error("raft: raft_start: %s (%s)", raft_errstr(rv),
		    raft_errmsg(&node->raft));
		rc = atomic_load(&node->failed) ? COFFER_E_INTEGRITY :
		    rc_from_raft(rv);
		goto fail;
	}
	if (uv_async_init(loop, &node->async, async_cb) != 0 ||
	    uv_timer_init(loop, &node->timer) != 0) {
		/* uv_async_init only fails before touching the loop. */
		log_error("raft: cannot create loop handles");
		rc = COFFER_E_INTERNAL;
		goto fail;
	}
	node->async.data = node;
	node->timer.data = node;
	node->handles_open = 1;
	atomic_store(&node->applied, raft_last_applied(&node->raft));
	status_refresh(node);
	uv_timer_start(&node->timer, timer_cb, CF_RAFT_STATUS_MS,
	    CF_RAFT_STATUS_MS);
	*out = node;
	return 0;

 fail:
	switch (stage) {
	case 3:
		/*
		 * raft_init succeeded: only raft_close releases it, which
		 * completes on the loop. raft_closed() frees the node; the
		 * caller must keep running the loop.
		 */
		raft_close(&node->raft, raft_closed);
		return rc;
	case 2:
		raft_uv_close(&node->io);
		/* FALLTHROUGH */
	case 1:
		cf_transport_local_free(&node->transport);
		break;
	}
	cf_free_secret(node->key, CF_CLUSTER_KEY_LEN);
	pthread_cond_destroy(&node->applied_cv);
	pthread_mutex_destroy(&node->mu);
	free(node);
	return rc;
}
