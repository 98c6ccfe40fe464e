/* SPDX-License-Identifier: Apache-2.0 */
/*
 * node.c: one cofferd node: proposals from workers, the node state served
 * to clients, and the process lifecycle (start, first-start cluster
 * creation, zeroization, signals, graceful stop).
 *
 * Everything here except cf_node_propose, cf_node_state,
 * cf_node_set_error and the cluster-creation thread runs on the loop
 * thread. Hooks from the state machine arrive during apply (possibly under
 * the state's write lock), so they only set flags and schedule work on
 * the loop. Raft is stopped only once no worker is inside
 * cf_raftnode_propose_sync (a counter checked in Dekker order with a
 * "closing" flag), so no proposal can touch a freed raft node.
 */
#include <errno.h>
#include <ftw.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "coffer.pb-c.h"
#include "coffer/coffer_err.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/util.h"
#include "common/wire.h"
#include "crypto/entropy.h"
#include "crypto/identity.h"
#include "crypto/password.h"
#include "crypto/seal.h"
#include "crypto/selftest.h"
#include "hsm/audit.h"
#include "hsm/config.h"
#include "hsm/node.h"
#include "hsm/node_run.h"
#include "hsm/objects_local.h"
#include "hsm/objects_selftest.h"
#include "hsm/server.h"
#include "hsm/state.h"

#define TICK_MS 50
#define SERVE_FALLBACK_MS 10000	/* serve status even without a leader */
#define PRECO_PW_LEN 24
#define BOOT_ATTEMPTS 20
#define ENTROPY_CHECK_MS 10000	/* period of the running source test */

#define ST_UNKNOWN COFFER__NODE_STATE__NODE_STATE_UNKNOWN
#define ST_UNINIT COFFER__NODE_STATE__NODE_STATE_UNINITIALIZED
#define ST_ACTIVE COFFER__NODE_STATE__NODE_STATE_ACTIVE
#define ST_ZEROIZED COFFER__NODE_STATE__NODE_STATE_ZEROIZED
#define ST_ERROR COFFER__NODE_STATE__NODE_STATE_ERROR

/* One node per process. */
struct run {
	struct cf_node node;
	uv_loop_t loop;
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t tick;
	uv_timer_t fast;		/* raft stop poll */
	int exit_code;

	char *raft_dir, *kek_path, *sealed_path, *marker_path, *preco_path,
	    *fp_path;
	bool zeroized_mode;		/* started with the ZEROIZED marker */

	bool tls_dirty;			/* tls_changed hook fired */
	bool zeroize_pending;		/* zeroized hook fired */
	char zeroize_reason[128];
	bool rm_raft_after_stop;	/* zeroize: remove raft dir when stopped */

	bool raft_stop_wanted;
	bool raft_stop_called;
	struct cf_raftnode *raft;	/* while stopping: node.raft is NULL */
	struct cf_raftnode *raft_done;	/* stopped; freed after the loop */

	pthread_t boot_thread;
	bool boot_started;
	atomic_bool boot_done;
	bool boot_failed;
	uint64_t entropy_next_ms;	/* next periodic source health test */
	bool preco_removed;

	bool stopping;
	int stop_phase;
};

static atomic_uint raft_users;
static atomic_bool raft_closing;
static pthread_mutex_t err_mu = PTHREAD_MUTEX_INITIALIZER;
static struct run *the_run;	/* for cf_node_propose's preco cleanup */

/* ------------------------------------------------------------------ */
/* Worker-facing API                                                   */

int
cf_node_propose(struct cf_node *node, Coffer__LogEntry *e,
    struct cf_apply_result *res)
{
	struct cf_apply_result tmp = { 0 };
	struct cf_raftnode *rn;
	uint8_t *buf = NULL;
	size_t n;
	int rc;

	if (res == NULL)
		res = &tmp;
	*res = (struct cf_apply_result){ 0 };
	e->time = cf_time_s();
	n = coffer__log_entry__get_packed_size(e);
	if (n == 0 || n > CF_MAX_FRAME_LIMIT)
		return COFFER_E_TOOBIG;
	/* Entries carry verifiers and the identity key. */
	if ((buf = cf_malloc_secret(n)) == NULL)
		return COFFER_E_NOMEM;
	coffer__log_entry__pack(e, buf);

	/* Increment first, then check: the stopper sets closing, then waits
	 * for zero users (both seq_cst). */
	atomic_fetch_add(&raft_users, 1);
	rn = node->raft;
	if (atomic_load(&raft_closing) || rn == NULL)
		rc = COFFER_E_UNAVAILABLE;
	else
		rc = cf_raftnode_propose_sync(rn, buf, n,
		    node->cfg.request_timeout_ms, res, NULL);
	atomic_fetch_sub(&raft_users, 1);
	cf_free_secret(buf, n);

	/* The PRECO password file dies with activation, before the client
	 * hears that activation succeeded. */
	if (rc == 0 && res->rc == 0 &&
	    e->body_case == COFFER__LOG_ENTRY__BODY_CLUSTER_ACTIVATE &&
	    the_run != NULL && node == &the_run->node &&
	    the_run->preco_path != NULL) {
		if (unlink(the_run->preco_path) == 0)
			log_info("removed %s (cluster activated)",
			    the_run->preco_path);
	}
	return rc;
}

int
cf_node_state(struct cf_node *node)
{
	int ls = atomic_load(&node->local_state);
	int s;

	if (ls != 0)
		return ls;
	if (node->state == NULL)
		return ST_UNKNOWN;
	cf_state_rdlock(node->state);
	s = cf_state_node_state(node->state);
	cf_state_unlock(node->state);
	return s;
}

void
cf_node_set_error(struct cf_node *node, const char *detail)
{
	int expected = 0;

	pthread_mutex_lock(&err_mu);
	if (atomic_load(&node->local_state) == 0) {
		snprintf(node->error_detail, sizeof(node->error_detail), "%s",
		    detail ? detail : "error");
		atomic_compare_exchange_strong(&node->local_state, &expected,
		    ST_ERROR);
		log_error("node in ERROR state: %s", node->error_detail);
	}
	pthread_mutex_unlock(&err_mu);
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static char *
path_in(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

static bool
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (remove(path) != 0 && errno != ENOENT)
		log_warn("cannot remove %s: %s", path, strerror(errno));
	return 0;
}

static void
rm_rf(const char *path)
{
	if (exists(path))
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int
exit_for(int rc)
{
	switch (rc) {
	case COFFER_E_IO:
	case COFFER_E_NOMEM:
		return CF_EXIT_OSERR;
	case COFFER_E_CONFIG:
	case COFFER_E_POLICY:
		return CF_EXIT_CONFIG;
	default:
		return CF_EXIT_SOFTWARE;
	}
}

static void begin_stop(struct run *r, int code);

/* ------------------------------------------------------------------ */
/* State hooks and FSM glue (loop thread)                              */

static void do_zeroize(struct run *);

/*
 * The state runs its hooks after apply has released the state's lock
 * (state.c run_hooks) and before the proposer is told the outcome, so a
 * client that hears "initialized" already gets the new certificate, and
 * one that hears "locked out" finds the node zeroized. Stopping raft
 * cannot happen inside its own apply callback: that part waits for the
 * next tick.
 */
static void
hook_zeroized(void *ctx, const char *reason)
{
	struct run *r = ctx;

	atomic_store(&r->node.local_state, ST_ZEROIZED);
	snprintf(r->zeroize_reason, sizeof(r->zeroize_reason), "%s",
	    reason ? reason : "");
	if (!r->zeroized_mode)
		do_zeroize(r);
}

static void
hook_tls_changed(void *ctx)
{
	struct run *r = ctx;
	int rc;

	r->tls_dirty = true;
	if (r->node.server == NULL ||
	    atomic_load(&r->node.local_state) == ST_ZEROIZED)
		return;
	r->tls_dirty = false;
	if ((rc = cf_server_reload_tls(r->node.server)) != 0)
		log_warn("TLS reload: %s", coffer_errname(rc));
}

static int
fsm_apply(void *ctx, uint64_t index, const uint8_t *p, size_t n,
    struct cf_apply_result *res)
{
	struct run *r = ctx;

	return cf_state_apply(r->node.state, index, p, n, res);
}

static int
fsm_snapshot(void *ctx, uint8_t **p, size_t *n)
{
	struct run *r = ctx;

	return cf_state_snapshot(r->node.state, p, n);
}

static int
fsm_restore(void *ctx, const uint8_t *p, size_t n)
{
	struct run *r = ctx;

	return cf_state_restore(r->node.state, p, n);
}

static void
fsm_integrity_failure(void *ctx, const char *what)
{
	struct run *r = ctx;
	char detail[128];

	snprintf(detail, sizeof(detail), "integrity failure: %s",
	    what ? what : "sealed data");
	cf_node_set_error(&r->node, detail);
}

/* ------------------------------------------------------------------ */
/* Raft stop (zeroize and shutdown)                                    */

static void
on_raft_stopped(void *arg)
{
	struct run *r = arg;

	/* libraft may still touch it until the loop runs dry (raftnode.h);
	 * it holds no secret any more. */
	r->raft_done = r->raft;
	r->raft = NULL;
	log_info("raft stopped");
	if (r->rm_raft_after_stop) {
		r->rm_raft_after_stop = false;
		rm_rf(r->raft_dir);
		log_warn("node zeroized: raft data removed; serving status "
		    "only");
	}
}

static void raft_stop_poll(struct run *);

static void
on_fast(uv_timer_t *t)
{
	raft_stop_poll(t->data);
}

static void
raft_stop_begin(struct run *r)
{
	if (r->node.raft == NULL || r->raft_stop_wanted)
		return;
	r->raft_stop_wanted = true;
	atomic_store(&raft_closing, true);
	/* Readers (get_info, read-your-writes) see NULL from now on; the
	 * raft node itself is stopped on a later tick. */
	r->raft = r->node.raft;
	r->node.raft = NULL;
	uv_timer_start(&r->fast, on_fast, 1, 2);
}

/* Stops raft once no worker is inside a proposal. */
static void
raft_stop_poll(struct run *r)
{
	if (r->raft_stop_called)
		uv_timer_stop(&r->fast);
	if (!r->raft_stop_wanted || r->raft_stop_called ||
	    atomic_load(&raft_users) != 0)
		return;
	r->raft_stop_called = true;
	uv_timer_stop(&r->fast);
	cf_raftnode_stop(r->raft, on_raft_stopped, r);
}

/* ------------------------------------------------------------------ */
/* Zeroization                                                         */

static void
do_zeroize(struct run *r)
{
	char buf[256];
	int n, rc;

	if (r->zeroize_pending || r->rm_raft_after_stop)
		return;		/* already done */
	log_warn("zeroizing: %s", r->zeroize_reason);
	/* Marker first: a crash from here on restarts ZEROIZED and
	 * finishes the wipe. */
	n = snprintf(buf, sizeof(buf), "zeroized at %llu: %s\n",
	    (unsigned long long)cf_time_s(), r->zeroize_reason);
	if ((rc = cf_write_file_atomic(r->marker_path, buf, (size_t)n,
	    0600)) != 0)
		log_error("cannot write %s: %s", r->marker_path,
		    coffer_errname(rc));
	if ((rc = cf_seal_file_destroy(r->kek_path, r->sealed_path)) != 0)
		log_error("seal files: %s", coffer_errname(rc));
	unlink(r->preco_path);
	unlink(r->fp_path);
	/* Session objects and multi-part operations (keys in use) */
	cf_hsm_local_zeroize(&r->node);
	/* The log is unreadable from here on (its key is erased). It is
	 * removed once raft has stopped: pulling the directory from under
	 * a running libraft crashes it on close. */
	if (r->node.audit != NULL)
		cf_audit_log(r->node.audit, "", "-", "node_zeroize",
		    r->zeroize_reason, 0, "local");
	/* Raft itself stops soon after, not inside its own apply. */
	r->rm_raft_after_stop = true;
	r->zeroize_pending = true;
	if (r->node.raft != NULL) {
		r->zeroize_pending = false;
		raft_stop_begin(r);
	}
}

/* Crash mid-zeroize, or --reset-zeroized: wipe what is left. */
static void
wipe_leftovers(struct run *r)
{
	if (exists(r->kek_path) || exists(r->sealed_path))
		cf_seal_file_destroy(r->kek_path, r->sealed_path);
	rm_rf(r->raft_dir);
	unlink(r->preco_path);
	unlink(r->fp_path);
}

/* ------------------------------------------------------------------ */
/* First start: create the cluster (own thread: proposals block)       */

static const char pw_alphabet[] =
    "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

static int
random_password(char *out, size_t n)
{
	const size_t m = sizeof(pw_alphabet) - 1;
	const unsigned limit = 256 - (256 % m);	/* unbiased */
	uint8_t b[64];
	size_t i = 0, j;
	int rc;

	while (i < n) {
		if ((rc = cf_random(b, sizeof(b))) != 0)
			return rc;
		for (j = 0; j < sizeof(b) && i < n; j++) {
			if (b[j] < limit)
				out[i++] = pw_alphabet[b[j] % m];
		}
	}
	out[n] = '\0';
	cf_cleanse(b, sizeof(b));
	return 0;
}

static int
state_of(struct run *r)
{
	int s;

	cf_state_rdlock(r->node.state);
	s = cf_state_node_state(r->node.state);
	cf_state_unlock(r->node.state);
	return s;
}

static void *
boot_main(void *arg)
{
	struct run *r = arg;
	struct cf_node *node = &r->node;
	Coffer__LogEntry e = COFFER__LOG_ENTRY__INIT;
	Coffer__EntClusterCreate cc = COFFER__ENT_CLUSTER_CREATE__INIT;
	Coffer__UserRecord u = COFFER__USER_RECORD__INIT;
	Coffer__PasswordVerifier v = COFFER__PASSWORD_VERIFIER__INIT;
	struct cf_pw_params params;
	struct cf_pw_verifier ver = { 0 };
	struct cf_apply_result res;
	uint8_t rnd[8], idem[CF_IDEM_LEN];
	char cluster_id[32], hex[17], *pw = NULL, *cert = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	int rc, i, ok = 0;
	struct timespec ts = { 0, 500 * 1000 * 1000 };

	if ((rc = cf_random(rnd, sizeof(rnd))) != 0 ||
	    (rc = cf_random(idem, sizeof(idem))) != 0)
		goto out;
	cf_hex(rnd, sizeof(rnd), hex);
	snprintf(cluster_id, sizeof(cluster_id), "coffer-%s", hex);
	if ((rc = cf_identity_generate(cluster_id, &der, &der_len,
	    &cert)) != 0)
		goto out;
	rc = COFFER_E_NOMEM;
	if ((pw = cf_malloc_secret(PRECO_PW_LEN + 2)) == NULL)
		goto out;
	if ((rc = random_password(pw, PRECO_PW_LEN)) != 0)
		goto out;
	params.n = node->cfg.scrypt_n;
	params.r = node->cfg.scrypt_r;
	params.p = node->cfg.scrypt_p;
	if ((rc = cf_pw_make(pw, PRECO_PW_LEN, &params, &ver)) != 0)
		goto out;
	/* Written before proposing: if we crash after the commit, the
	 * password is not lost. Never logged. */
	pw[PRECO_PW_LEN] = '\n';
	rc = cf_write_file_atomic(r->preco_path, pw, PRECO_PW_LEN + 1, 0600);
	pw[PRECO_PW_LEN] = '\0';
	if (rc != 0) {
		log_error("cannot write %s: %s", r->preco_path,
		    coffer_errname(rc));
		goto out;
	}

	v.alg = "scrypt";
	v.salt.data = ver.salt;
	v.salt.len = sizeof(ver.salt);
	v.n = ver.params.n;
	v.r = ver.params.r;
	v.p = ver.params.p;
	v.hash.data = ver.hash;
	v.hash.len = sizeof(ver.hash);
	u.username = "preco";
	u.role = COFFER__ROLE__ROLE_PRECO;
	u.verifier = &v;
	u.created = u.password_changed = cf_time_s();
	cc.cluster_id = cluster_id;
	cc.identity_key_der.data = der;
	cc.identity_key_der.len = der_len;
	cc.bootstrap_cert_pem = cert;
	cc.preco = &u;
	cc.node_id = node->cfg.node_id;
	e.idem.data = idem;
	e.idem.len = sizeof(idem);
	e.body_case = COFFER__LOG_ENTRY__BODY_CLUSTER_CREATE;
	e.cluster_create = &cc;

	for (i = 0; i < BOOT_ATTEMPTS && !atomic_load(&node->stopping); i++) {
		rc = cf_node_propose(node, &e, &res);
		if (rc == 0 && res.rc == 0) {
			ok = 1;
			break;
		}
		if (rc == 0) {
			log_error("cluster creation rejected: %s",
			    coffer_errname(res.rc));
			break;
		}
		log_warn("cluster creation: %s; retrying",
		    coffer_errname(rc));
		nanosleep(&ts, NULL);
		/* Same idempotency key: a retry cannot create twice. */
		if (state_of(r) != ST_UNKNOWN) {
			ok = 1;
			break;
		}
	}
	if (ok)
		log_info("cluster %s created; PRECO password in %s",
		    cluster_id, r->preco_path);
	rc = ok ? 0 : COFFER_E_UNAVAILABLE;
out:
	if (rc != 0 && !atomic_load(&node->stopping)) {
		log_error("cluster creation failed: %s", coffer_errname(rc));
		cf_node_set_error(node, "cluster creation failed");
	}
	cf_free_secret(der, der_len);
	if (pw != NULL)
		cf_free_secret(pw, PRECO_PW_LEN + 2);
	cf_cleanse(&ver, sizeof(ver));
	free(cert);
	atomic_store(&r->boot_done, true);
	return NULL;
}

static void
boot_spawn(struct run *r)
{
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&r->boot_thread, NULL, boot_main, r) == 0) {
		r->boot_started = true;
		log_info("no cluster yet: creating one");
	} else {
		log_error("cannot start the cluster creation thread");
		begin_stop(r, CF_EXIT_OSERR);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void
boot_reap(struct run *r)
{
	if (r->boot_started && atomic_load(&r->boot_done)) {
		pthread_join(r->boot_thread, NULL);
		r->boot_started = false;
		r->boot_failed = true;	/* not again this run (it worked or
					 * put the node in ERROR) */
	}
}

/* ------------------------------------------------------------------ */
/* Serving                                                             */

static void
announce_fingerprint(struct run *r, const char *what, const char *fp)
{
	printf("cofferd: %s sha256 fingerprint: %s\n", what, fp);
	fflush(stdout);
	log_info("%s sha256 fingerprint: %s", what, fp);
}

/* Bootstrap fingerprint: from the file written at first start; computed
 * (and the file written) while the served cert is still the bootstrap
 * one. */
static void
load_fingerprint(struct run *r, int st)
{
	char *text = NULL, *cert = NULL, *anchor = NULL, fp[65] = "";
	uint8_t *der = NULL;
	size_t len = 0, der_len = 0;
	int rc;

	if (cf_read_file(r->fp_path, 256, &text, &len) == 0) {
		if (len >= 64) {
			memcpy(fp, text, 64);
			fp[64] = '\0';
		}
		free(text);
	}
	if (fp[0] == '\0' && st == ST_UNINIT) {
		cf_state_rdlock(r->node.state);
		rc = cf_state_tls_material(r->node.state, &der, &der_len, &cert,
		    &anchor);
		cf_state_unlock(r->node.state);
		cf_free_secret(der, der_len);
		if (rc == 0 && cf_identity_fingerprint(cert, fp) == 0) {
			char line[66];

			snprintf(line, sizeof(line), "%s\n", fp);
			if ((rc = cf_write_file_atomic(r->fp_path, line, 65,
			    0644)) != 0)
				log_error("cannot write %s: %s", r->fp_path,
				    coffer_errname(rc));
		} else {
			fp[0] = '\0';
		}
		free(cert);
		free(anchor);
	}
	if (fp[0] == '\0') {
		log_warn("bootstrap fingerprint unknown (%s missing)",
		    r->fp_path);
		return;
	}
	memcpy(r->node.bootstrap_fingerprint, fp, 65);
	announce_fingerprint(r, "bootstrap certificate", fp);
}

/* Serves with a fresh self-signed identity (ZEROIZED or broken nodes). */
static int
serve_ephemeral(struct run *r)
{
	uint8_t *der = NULL;
	size_t der_len = 0;
	char *cert = NULL, fp[65];
	int rc;

	if ((rc = cf_identity_generate("coffer-zeroized", &der, &der_len,
	    &cert)) != 0)
		goto out;
	if (cf_identity_fingerprint(cert, fp) == 0) {
		memcpy(r->node.bootstrap_fingerprint, fp, 65);
		announce_fingerprint(r, "ephemeral certificate", fp);
	}
	rc = cf_server_start_with(&r->node, der, der_len, cert,
	    &r->node.server);
out:
	cf_free_secret(der, der_len);
	free(cert);
	return rc;
}

static void
try_serve(struct run *r)
{
	struct cf_raftnode_status rs = { 0 };
	bool ready;
	int st, rc;

	if (r->node.raft != NULL)
		cf_raftnode_status(r->node.raft, &rs);
	ready = (rs.leader_id != 0 && rs.applied >= rs.last_index) ||
	    cf_now_ms() - r->node.start_ms > SERVE_FALLBACK_MS;
	if (!ready)
		return;
	st = state_of(r);
	if (st == ST_UNKNOWN) {
		if (atomic_load(&r->node.local_state) != 0) {
			if ((rc = serve_ephemeral(r)) != 0)
				begin_stop(r, exit_for(rc));
			return;
		}
		/* Only the leader of a brand-new cluster creates it. */
		if (!r->boot_started && !r->boot_failed &&
		    strcmp(rs.state, "leader") == 0 &&
		    rs.applied >= rs.last_index)
			boot_spawn(r);
		return;
	}
	load_fingerprint(r, st);
	r->tls_dirty = false;
	/*
	 * The state is restored (snapshot and log replayed): give the
	 * restore's transient buffers back to the system, or they stay in
	 * glibc's heap for the life of the process (measured: 527 MiB
	 * resident after a restart with 100,000 keys, 383 MiB before it).
	 */
	malloc_trim(0);
	if ((rc = cf_server_start(&r->node, &r->node.server)) != 0) {
		log_error("cannot start the client server: %s",
		    coffer_errname(rc));
		begin_stop(r, exit_for(rc));
	}
}

/* ------------------------------------------------------------------ */
/* The tick, signals, stop                                             */

static void
close_handle(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void
on_server_stopped(void *arg)
{
	struct run *r = arg;

	r->node.server = NULL;
	r->stop_phase = 2;
}

static void
stop_step(struct run *r)
{
	switch (r->stop_phase) {
	case 0:
		r->stop_phase = 1;
		if (r->node.server != NULL)
			cf_server_stop(r->node.server, on_server_stopped, r);
		else
			r->stop_phase = 2;
		break;
	case 1:
		break;		/* on_server_stopped moves on */
	case 2:
		boot_reap(r);
		if (r->boot_started)
			break;	/* its proposal ends within the timeout */
		if (r->node.raft != NULL || r->raft != NULL) {
			raft_stop_begin(r);
			break;	/* raft_stop_poll; on_raft_stopped */
		}
		r->stop_phase = 3;
		/* FALLTHROUGH */
	case 3:
		r->stop_phase = 4;
		close_handle((uv_handle_t *)&r->sig_term);
		close_handle((uv_handle_t *)&r->sig_int);
		close_handle((uv_handle_t *)&r->sig_hup);
		uv_timer_stop(&r->tick);
		close_handle((uv_handle_t *)&r->tick);
		close_handle((uv_handle_t *)&r->fast);
		break;
	default:
		break;
	}
}

/*
 * The entropy source stays watched while the node runs: every
 * ENTROPY_CHECK_MS one APT window of getrandom output goes through the
 * SP 800-90B repetition count and adaptive proportion tests (their state
 * carries over from the start-up test). A failure is ERROR, never a
 * silent fallback.
 */
static void
entropy_watch(struct run *r)
{
	enum cf_entropy_health h = CF_ENTROPY_OK;
	char detail[128];
	uint64_t now = cf_now_ms();

	if (now < r->entropy_next_ms ||
	    atomic_load(&r->node.local_state) != 0)
		return;
	r->entropy_next_ms = now + ENTROPY_CHECK_MS;
	if (cf_entropy_check(CF_ENTROPY_APT_WINDOW, &h) == 0)
		return;
	snprintf(detail, sizeof(detail),
	    "entropy source health test failed: %s",
	    cf_entropy_health_name(h));
	cf_node_set_error(&r->node, detail);
}

static void
on_tick(uv_timer_t *t)
{
	struct run *r = t->data;
	int rc;

	raft_stop_poll(r);
	if (r->stopping) {
		stop_step(r);
		return;
	}
	if (r->zeroize_pending) {
		r->zeroize_pending = false;
		if (r->node.raft != NULL)
			raft_stop_begin(r);
		else
			on_raft_stopped(r);	/* nothing running: just wipe */
	}
	boot_reap(r);
	entropy_watch(r);
	if (r->node.server == NULL) {
		if (!r->zeroized_mode && atomic_load(&r->node.local_state) !=
		    ST_ZEROIZED)
			try_serve(r);
	} else if (r->tls_dirty) {
		r->tls_dirty = false;
		if ((rc = cf_server_reload_tls(r->node.server)) != 0 &&
		    atomic_load(&r->node.local_state) == 0)
			log_warn("TLS reload: %s", coffer_errname(rc));
	}
	/* Backup for the cleanup in cf_node_propose (e.g. activation
	 * proposed through another node). */
	if (!r->preco_removed && r->node.server != NULL &&
	    atomic_load(&r->node.local_state) == 0 &&
	    state_of(r) == ST_ACTIVE) {
		r->preco_removed = true;
		if (unlink(r->preco_path) == 0)
			log_info("removed %s (cluster active)", r->preco_path);
	}
}

static void
begin_stop(struct run *r, int code)
{
	if (r->stopping)
		return;
	r->stopping = true;
	if (r->exit_code == 0)
		r->exit_code = code;
	atomic_store(&r->node.stopping, true);
	log_info("stopping (exit status %d)", code);
}

static void
reload_config(struct run *r)
{
	struct cf_node_config c;
	char err[256];
	char *old;

	if (cf_node_config_load(r->node.cfg.path, &c, err, sizeof(err)) != 0) {
		log_error("SIGHUP: %s; keeping the running configuration",
		    err);
		return;
	}
	/* Only logging changes at run time; the rest needs a restart. */
	if (cf_log_open(c.log_file, c.log_level) != 0) {
		log_error("SIGHUP: cannot open log %s",
		    c.log_file ? c.log_file : "(stderr)");
	} else {
		old = r->node.cfg.log_file;
		r->node.cfg.log_file = c.log_file;
		c.log_file = old;
		r->node.cfg.log_level = c.log_level;
		log_info("SIGHUP: log reopened, level %d", c.log_level);
	}
	cf_node_config_free(&c);
}

static void
on_signal(uv_signal_t *s, int signum)
{
	struct run *r = s->data;

	if (signum == SIGHUP) {
		reload_config(r);
		return;
	}
	if (r->stopping) {
		log_info("signal %d: already stopping", signum);
		return;
	}
	log_info("signal %d: stopping", signum);
	begin_stop(r, CF_EXIT_OK);
}

/* ------------------------------------------------------------------ */
/* Startup                                                             */

static int
make_paths(struct run *r)
{
	const char *d = r->node.cfg.data_dir;

	r->raft_dir = path_in(d, "raft");
	r->sealed_path = path_in(d, "cluster-key.sealed");
	r->marker_path = path_in(d, "ZEROIZED");
	r->preco_path = path_in(d, "preco-password");
	r->fp_path = path_in(d, "bootstrap-fingerprint");
	r->kek_path = strdup(r->node.cfg.seal_key_file);
	if (!r->raft_dir || !r->sealed_path || !r->marker_path ||
	    !r->preco_path || !r->fp_path || !r->kek_path)
		return COFFER_E_NOMEM;
	return 0;
}

static void
free_paths(struct run *r)
{
	free(r->raft_dir);
	free(r->sealed_path);
	free(r->marker_path);
	free(r->preco_path);
	free(r->fp_path);
	free(r->kek_path);
}

static int
prepare_data_dir(struct run *r)
{
	struct stat st;
	const char *d = r->node.cfg.data_dir;
	int rc;

	if ((rc = cf_mkdir_p(d, 0700)) != 0 || stat(d, &st) != 0 ||
	    !S_ISDIR(st.st_mode)) {
		log_error("data_dir %s: cannot create or not a directory", d);
		fprintf(stderr, "cofferd: data_dir %s: cannot create or not a "
		    "directory\n", d);
		return COFFER_E_IO;
	}
	if (access(d, R_OK | W_OK | X_OK) != 0) {
		log_error("data_dir %s: %s", d, strerror(errno));
		return COFFER_E_IO;
	}
	if ((st.st_mode & 077) != 0)
		log_warn("data_dir %s is accessible by group/other (mode %o)",
		    d, (unsigned)(st.st_mode & 0777));
	return 0;
}

static int
start_raft(struct run *r)
{
	struct cf_raftnode_opts o = { 0 };
	struct cf_raftnode_fsm fsm = { 0 };
	uint8_t *key = NULL;
	int rc;

	if ((rc = cf_seal_file_load_cluster_key(r->kek_path, r->sealed_path, 1,
	    &key)) != 0) {
		log_error("cluster key (%s, %s): %s", r->kek_path,
		    r->sealed_path, coffer_strerror(rc));
		return rc;
	}
	o.id = r->node.cfg.node_id;
	o.dir = r->raft_dir;
	o.address = r->node.cfg.raft_address;
	o.snapshot_threshold = r->node.cfg.snapshot_threshold;
	o.snapshot_trailing = r->node.cfg.snapshot_trailing;
	o.election_timeout_ms = r->node.cfg.election_timeout_ms;
	o.bootstrap = 1;
	fsm.ctx = r;
	fsm.apply = fsm_apply;
	fsm.snapshot = fsm_snapshot;
	fsm.restore = fsm_restore;
	fsm.integrity_failure = fsm_integrity_failure;
	rc = cf_raftnode_start(&r->loop, &o, key, &fsm, &r->node.raft);
	/* The raft node keeps its own copy. */
	cf_free_secret(key, CF_CLUSTER_KEY_LEN);
	if (rc != 0)
		log_error("raft start: %s", coffer_strerror(rc));
	return rc;
}

static int
setup(struct run *r, const struct cf_node_run_opts *opts)
{
	struct cf_state_hooks hooks = { 0 };
	char err[256];
	int rc;

	if ((rc = make_paths(r)) != 0)
		return CF_EXIT_OSERR;
	if (prepare_data_dir(r) != 0)
		return CF_EXIT_OSERR;
	if (exists(r->marker_path)) {
		if (opts->reset_zeroized) {
			log_warn("--reset-zeroized: removing %s and starting a "
			    "new node", r->marker_path);
			wipe_leftovers(r);
			if (unlink(r->marker_path) != 0) {
				log_error("cannot remove %s: %s",
				    r->marker_path, strerror(errno));
				return CF_EXIT_OSERR;
			}
		} else {
			r->zeroized_mode = true;
			log_warn("node is ZEROIZED (%s exists): serving status "
			    "only; restart with --reset-zeroized to "
			    "re-provision", r->marker_path);
			wipe_leftovers(r);
		}
	}
	if ((rc = uv_loop_init(&r->loop)) != 0) {
		log_error("uv_loop_init: %s", uv_strerror(rc));
		return CF_EXIT_OSERR;
	}
	r->node.loop = &r->loop;
	uv_timer_init(&r->loop, &r->fast);
	r->fast.data = r;
	r->node.start_ms = cf_now_ms();
	if ((rc = cf_audit_open(r->node.cfg.audit_file, r->node.cfg.node_id,
	    &r->node.audit, err, sizeof(err))) != 0) {
		log_error("audit log %s: %s", r->node.cfg.audit_file, err);
		fprintf(stderr, "cofferd: audit log %s: %s\n",
		    r->node.cfg.audit_file, err);
		return exit_for(rc);
	}
	hooks.ctx = r;
	hooks.zeroized = hook_zeroized;
	hooks.tls_changed = hook_tls_changed;
	if ((rc = cf_state_new(&hooks, &r->node.state)) != 0) {
		log_error("state: %s", coffer_errname(rc));
		return CF_EXIT_SOFTWARE;
	}
	if (r->zeroized_mode)
		atomic_store(&r->node.local_state, ST_ZEROIZED);
	/*
	 * Power-up self-tests (KATs, entropy start-up health) before
	 * anything is served. A failure puts the node in ERROR: raft stays
	 * down (the node neither votes nor replicates) and it serves status
	 * only, with an ephemeral certificate as a ZEROIZED node does.
	 */
	if (getenv("COFFER_SELFTEST_FORCE_FAIL") != NULL) {
		/* Test hook (fail-closed only): proves a failing KAT puts
		 * the node in ERROR. */
		log_warn("COFFER_SELFTEST_FORCE_FAIL set: KAT %s will fail",
		    getenv("COFFER_SELFTEST_FORCE_FAIL"));
		cf_selftest_force_fail(getenv("COFFER_SELFTEST_FORCE_FAIL"));
	}
	if (cf_hsm_selftest(&r->node) != 0 || r->zeroized_mode) {
		if ((rc = serve_ephemeral(r)) != 0) {
			log_error("cannot serve: %s", coffer_errname(rc));
			return exit_for(rc);
		}
	} else if ((rc = start_raft(r)) != 0) {
		fprintf(stderr, "cofferd: cannot start: %s (see log)\n",
		    coffer_strerror(rc));
		return exit_for(rc);
	}
	uv_timer_init(&r->loop, &r->tick);
	r->tick.data = r;
	uv_timer_start(&r->tick, on_tick, TICK_MS, TICK_MS);
	uv_signal_init(&r->loop, &r->sig_term);
	uv_signal_init(&r->loop, &r->sig_int);
	uv_signal_init(&r->loop, &r->sig_hup);
	r->sig_term.data = r->sig_int.data = r->sig_hup.data = r;
	uv_signal_start(&r->sig_term, on_signal, SIGTERM);
	uv_signal_start(&r->sig_int, on_signal, SIGINT);
	uv_signal_start(&r->sig_hup, on_signal, SIGHUP);
	return CF_EXIT_OK;
}

static void
walk_close(uv_handle_t *h, void *arg)
{
	close_handle(h);
}

int
cf_node_run(const struct cf_node_run_opts *opts)
{
	static struct run run;
	struct run *r = &run;
	char err[512];
	int code;
	bool loop_ok = false;

	if (cf_node_config_load(opts->config_path, &r->node.cfg, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "cofferd: %s\n", err);
		return CF_EXIT_CONFIG;
	}
	/* Fail closed before anything can touch a secret. */
	if (cf_secmem_init_process(r->node.cfg.secure_heap_size) != 0) {
		fprintf(stderr, "cofferd: cannot initialize the secure heap "
		    "(%zu bytes); check RLIMIT_MEMLOCK\n",
		    r->node.cfg.secure_heap_size);
		cf_node_config_free(&r->node.cfg);
		return CF_EXIT_OSERR;
	}
	signal(SIGPIPE, SIG_IGN);
	if (cf_log_open(r->node.cfg.log_file, r->node.cfg.log_level) != 0) {
		fprintf(stderr, "cofferd: cannot open log file %s\n",
		    r->node.cfg.log_file);
		cf_node_config_free(&r->node.cfg);
		return CF_EXIT_OSERR;
	}
	log_info("cofferd %s starting: node %llu, data_dir %s, config %s",
	    COFFER_VERSION_STR, (unsigned long long)r->node.cfg.node_id,
	    r->node.cfg.data_dir, r->node.cfg.path);
	the_run = r;

	code = setup(r, opts);
	loop_ok = r->node.loop != NULL;
	if (code == CF_EXIT_OK) {
		uv_run(&r->loop, UV_RUN_DEFAULT);
		code = r->exit_code;
	} else if (loop_ok) {
		/* Unwind what setup started. */
		r->exit_code = code;
		r->stopping = true;
		atomic_store(&r->node.stopping, true);
		if (r->node.server != NULL)
			cf_server_stop(r->node.server, on_server_stopped, r);
		if (r->node.raft != NULL) {
			atomic_store(&raft_closing, true);
			r->raft = r->node.raft;
			r->node.raft = NULL;
			cf_raftnode_stop(r->raft, on_raft_stopped, r);
		}
		uv_run(&r->loop, UV_RUN_DEFAULT);
	}
	if (loop_ok) {
		uv_walk(&r->loop, walk_close, NULL);
		uv_run(&r->loop, UV_RUN_DEFAULT);
		if (uv_loop_close(&r->loop) != 0)
			log_warn("event loop still busy at exit");
		else
			cf_raftnode_destroy(r->raft_done);
	}
	the_run = NULL;
	if (r->node.audit != NULL)
		cf_audit_close(r->node.audit);
	/* Every session is gone with the server: free what they left. */
	cf_hsm_local_free(&r->node);
	cf_state_free(r->node.state);
	log_info("cofferd stopped (exit status %d)", code);
	cf_log_close();
	free_paths(r);
	cf_node_config_free(&r->node.cfg);
	return code;
}
