/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objects_local.c: per-node session objects and multi-part operations,
 * grouped by client instance (objects_local.h). Guarantees: everything an
 * instance holds is wiped when its last session goes or on zeroization;
 * an operation is never used by two workers at once.
 */
#include <p11-kit/pkcs11.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/coffer_err.h"
#include "common/log.h"
#include "hsm/cmd.h"
#include "hsm/node.h"
#include "hsm/objects_local.h"

struct cf_inst {
	struct cf_hsm_local *tab;
	uint64_t id;
	unsigned sessions;		/* under tab->mu */
	pthread_mutex_t mu;
	struct cf_objstore *objs;
	struct cf_hop **ops;
	size_t nops;
	uint64_t next_op;
	struct cf_inst *next;		/* under tab->mu */
};

struct cf_hsm_local {
	pthread_mutex_t mu;
	struct cf_inst *list;
	atomic_ullong next_handle;
	atomic_ullong next_private;	/* ids for client_instance 0 */
};

static pthread_mutex_t make_mu = PTHREAD_MUTEX_INITIALIZER;

static struct cf_hsm_local *
local_of(struct cf_node *node)
{
	struct cf_hsm_local *t = atomic_load(&node->local);

	if (t != NULL)
		return t;
	pthread_mutex_lock(&make_mu);
	if ((t = atomic_load(&node->local)) == NULL &&
	    (t = calloc(1, sizeof(*t))) != NULL) {
		pthread_mutex_init(&t->mu, NULL);
		atomic_init(&t->next_handle, 1);
		atomic_init(&t->next_private, 1);
		atomic_store(&node->local, t);
	}
	pthread_mutex_unlock(&make_mu);
	return t;
}

static void
hop_free(struct cf_hop *h)
{
	if (h == NULL)
		return;
	cf_op_free(h->op);
	cf_keyref_put(h->key);
	free(h);
}

/* Wipes the instance's content (objects and ops); instance locked or
 * unreachable. Busy ops stay (their worker frees them on give). */
static void
inst_wipe(struct cf_inst *in)
{
	struct cf_objstore *fresh = NULL;
	size_t i, j;

	if (cf_objstore_new(&fresh) == 0) {
		cf_objstore_free(in->objs);
		in->objs = fresh;
	} else
		cf_objstore_uncache(in->objs);
	for (i = j = 0; i < in->nops; i++) {
		if (in->ops[i]->busy)
			in->ops[j++] = in->ops[i];
		else
			hop_free(in->ops[i]);
	}
	in->nops = j;
}

static void
inst_free(struct cf_inst *in)
{
	size_t i;

	cf_objstore_free(in->objs);
	for (i = 0; i < in->nops; i++)
		hop_free(in->ops[i]);
	free(in->ops);
	pthread_mutex_destroy(&in->mu);
	free(in);
}

int
cf_hsm_session_bind(struct cf_node *node, struct cf_session *s, uint64_t id)
{
	struct cf_hsm_local *t;
	struct cf_inst *in;
	bool priv = id == 0;

	if (s->inst != NULL && !priv && s->inst->id == id &&
	    s->inst->tab == atomic_load(&node->local))
		return 0;
	cf_hsm_session_release(s);
	if ((t = local_of(node)) == NULL)
		return COFFER_E_NOMEM;
	pthread_mutex_lock(&t->mu);
	if (priv) {
		/* Private instance ids never collide with a client's random
		 * 64-bit ids in practice; the top bit keeps them apart. */
		id = (1ULL << 63) | atomic_fetch_add(&t->next_private, 1);
	}
	for (in = t->list; in != NULL; in = in->next)
		if (in->id == id)
			break;
	if (in == NULL) {
		if ((in = calloc(1, sizeof(*in))) == NULL ||
		    cf_objstore_new(&in->objs) != 0) {
			free(in);
			pthread_mutex_unlock(&t->mu);
			return COFFER_E_NOMEM;
		}
		pthread_mutex_init(&in->mu, NULL);
		in->tab = t;
		in->id = id;
		in->next_op = 1;
		in->next = t->list;
		t->list = in;
	}
	in->sessions++;
	pthread_mutex_unlock(&t->mu);
	s->inst = in;
	s->client_instance = id;
	return 0;
}

void
cf_hsm_session_release(struct cf_session *s)
{
	struct cf_inst *in = s->inst, **pp;
	struct cf_hsm_local *t;
	bool last = false;

	if (in == NULL)
		return;
	s->inst = NULL;
	t = in->tab;
	pthread_mutex_lock(&t->mu);
	if (--in->sessions == 0) {
		for (pp = &t->list; *pp != NULL; pp = &(*pp)->next) {
			if (*pp == in) {
				*pp = in->next;
				break;
			}
		}
		last = true;
	}
	pthread_mutex_unlock(&t->mu);
	/* No worker can be using it: every session of it is gone. */
	if (last)
		inst_free(in);
}

void
cf_hsm_local_zeroize(struct cf_node *node)
{
	struct cf_hsm_local *t = atomic_load(&node->local);
	struct cf_inst *in;

	if (t == NULL)
		return;
	pthread_mutex_lock(&t->mu);
	for (in = t->list; in != NULL; in = in->next) {
		pthread_mutex_lock(&in->mu);
		inst_wipe(in);
		pthread_mutex_unlock(&in->mu);
	}
	pthread_mutex_unlock(&t->mu);
}

void
cf_hsm_local_free(struct cf_node *node)
{
	struct cf_hsm_local *t = atomic_exchange(&node->local, NULL);
	struct cf_inst *in, *next;

	if (t == NULL)
		return;
	for (in = t->list; in != NULL; in = next) {
		next = in->next;
		inst_free(in);
	}
	pthread_mutex_destroy(&t->mu);
	free(t);
}

size_t
cf_hsm_local_objects(struct cf_node *node)
{
	struct cf_hsm_local *t = atomic_load(&node->local);
	struct cf_inst *in;
	size_t n = 0;

	if (t == NULL)
		return 0;
	pthread_mutex_lock(&t->mu);
	for (in = t->list; in != NULL; in = in->next) {
		pthread_mutex_lock(&in->mu);
		n += cf_objstore_count(in->objs);
		pthread_mutex_unlock(&in->mu);
	}
	pthread_mutex_unlock(&t->mu);
	return n;
}

void
cf_inst_lock(struct cf_inst *in)
{
	pthread_mutex_lock(&in->mu);
}

void
cf_inst_unlock(struct cf_inst *in)
{
	pthread_mutex_unlock(&in->mu);
}

struct cf_objstore *
cf_inst_objects(struct cf_inst *in)
{
	return in->objs;
}

uint64_t
cf_inst_new_handle(struct cf_inst *in)
{
	return CF_SESSION_HANDLE_BIT | atomic_fetch_add(&in->tab->next_handle,
	    1);
}

int
cf_inst_op_add(struct cf_inst *in, int kind, struct cf_op *op,
    struct cf_keyref *key, uint64_t *id)
{
	struct cf_hop *h = NULL, **na;
	int rc = COFFER_E_NOMEM;

	*id = 0;
	pthread_mutex_lock(&in->mu);
	if (in->nops >= CF_MAX_OPS_PER_INSTANCE) {
		rc = COFFER_E_BUSY;
		goto out;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL)
		goto out;
	if ((na = reallocarray(in->ops, in->nops + 1, sizeof(*na))) == NULL)
		goto out;
	in->ops = na;
	h->id = in->next_op++;
	h->kind = kind;
	h->op = op;
	h->key = key;
	in->ops[in->nops++] = h;
	*id = h->id;
	op = NULL;
	key = NULL;
	h = NULL;
	rc = 0;
 out:
	pthread_mutex_unlock(&in->mu);
	free(h);
	cf_op_free(op);
	cf_keyref_put(key);
	return rc;
}

static long
op_index(struct cf_inst *in, uint64_t id)
{
	size_t i;

	for (i = 0; i < in->nops; i++)
		if (in->ops[i]->id == id)
			return (long)i;
	return -1;
}

int
cf_inst_op_take(struct cf_inst *in, uint64_t id, struct cf_hop **out)
{
	long i;
	int rc = 0;

	*out = NULL;
	pthread_mutex_lock(&in->mu);
	if ((i = op_index(in, id)) < 0)
		rc = COFFER_E_OP_NOT_INIT;
	else if (in->ops[i]->busy)
		rc = COFFER_E_BUSY;
	else {
		in->ops[i]->busy = true;
		*out = in->ops[i];
	}
	pthread_mutex_unlock(&in->mu);
	return rc;
}

void
cf_inst_op_give(struct cf_inst *in, struct cf_hop *h, bool done)
{
	long i;

	pthread_mutex_lock(&in->mu);
	h->busy = false;
	if (done) {
		for (i = 0; i < (long)in->nops; i++) {
			if (in->ops[i] == h) {
				in->ops[i] = in->ops[--in->nops];
				break;
			}
		}
	}
	pthread_mutex_unlock(&in->mu);
	if (done)
		hop_free(h);
}

int
cf_inst_op_cancel(struct cf_inst *in, uint64_t id)
{
	struct cf_hop *h = NULL;
	long i;
	int rc = 0;

	pthread_mutex_lock(&in->mu);
	if ((i = op_index(in, id)) < 0)
		rc = COFFER_E_OP_NOT_INIT;
	else if (in->ops[i]->busy)
		rc = COFFER_E_BUSY;
	else {
		h = in->ops[i];
		in->ops[i] = in->ops[--in->nops];
	}
	pthread_mutex_unlock(&in->mu);
	hop_free(h);
	return rc;
}
