/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objects.c: objects, attribute lists and indexed object stores (see
 * objects.h). Guarantees: material and parsed keys are wiped when an
 * object goes; the indexes only change how fast a find is, never what it
 * returns (results are sorted by handle); a find by CKA_LABEL or CKA_ID
 * examines one hash chain, not the store.
 */
#include <p11-kit/pkcs11.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "coffer/coffer_err.h"
#include "common/log.h"
#include "common/p11attr.h"
#include "common/secmem.h"
#include "hsm/objects.h"

_Atomic unsigned long long cf_objstore_examined;

/* --- keyref --------------------------------------------------------------- */

struct cf_keyref {
	atomic_int refs;
	struct cf_key *k;
};

const struct cf_key *
cf_keyref_key(const struct cf_keyref *r)
{
	return r->k;
}

struct cf_keyref *
cf_keyref_hold(struct cf_keyref *r)
{
	if (r != NULL)
		atomic_fetch_add(&r->refs, 1);
	return r;
}

void
cf_keyref_put(struct cf_keyref *r)
{
	if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	cf_key_free(r->k);
	free(r);
}

/* One lock for the key caches of all objects: parsing happens once per
 * object, and readers of the stores hold only a read lock. */
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

/* --- attribute lists ------------------------------------------------------ */

static long
attr_pos(const struct cf_attrs *l, uint64_t type)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->a[mid].type == type)
			return (long)mid;
		if (l->a[mid].type < type)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

void
cf_attrs_clear(struct cf_attrs *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (l->a[i].v != NULL) {
			cf_cleanse(l->a[i].v, l->a[i].n);
			free(l->a[i].v);
		}
	}
	free(l->a);
	*l = (struct cf_attrs){0};
}

const struct cf_attr *
cf_attrs_find(const struct cf_attrs *l, uint64_t type)
{
	long i = attr_pos(l, type);

	return i >= 0 ? &l->a[i] : NULL;
}

int
cf_attrs_set(struct cf_attrs *l, uint64_t type, const uint8_t *v, size_t n)
{
	struct cf_attr *na;
	uint8_t *copy = NULL;
	long i;
	size_t pos;

	if (n > 0) {
		if ((copy = malloc(n)) == NULL)
			return COFFER_E_NOMEM;
		memcpy(copy, v, n);
	}
	if ((i = attr_pos(l, type)) >= 0) {
		if (l->a[i].v != NULL) {
			cf_cleanse(l->a[i].v, l->a[i].n);
			free(l->a[i].v);
		}
		l->a[i].v = copy;
		l->a[i].n = n;
		return 0;
	}
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		if ((na = reallocarray(l->a, nc, sizeof(*na))) == NULL) {
			free(copy);
			return COFFER_E_NOMEM;
		}
		l->a = na;
		l->cap = nc;
	}
	pos = (size_t)(-i - 1);
	memmove(&l->a[pos + 1], &l->a[pos], (l->n - pos) * sizeof(*l->a));
	l->a[pos] = (struct cf_attr){ type, copy, n };
	l->n++;
	return 0;
}

int
cf_attrs_set_bool(struct cf_attrs *l, uint64_t type, bool v)
{
	uint8_t b = v ? 1 : 0;

	return cf_attrs_set(l, type, &b, 1);
}

int
cf_attrs_set_ulong(struct cf_attrs *l, uint64_t type, uint64_t v)
{
	uint8_t b[8];

	cf_attr_put_ulong(v, b);
	return cf_attrs_set(l, type, b, 8);
}

void
cf_attrs_del(struct cf_attrs *l, uint64_t type)
{
	long i = attr_pos(l, type);

	if (i < 0)
		return;
	if (l->a[i].v != NULL) {
		cf_cleanse(l->a[i].v, l->a[i].n);
		free(l->a[i].v);
	}
	memmove(&l->a[i], &l->a[i + 1], (l->n - (size_t)i - 1) *
	    sizeof(*l->a));
	l->n--;
}

bool
cf_attrs_bool(const struct cf_attrs *l, uint64_t type, bool def)
{
	const struct cf_attr *a = cf_attrs_find(l, type);

	if (a == NULL || a->n != 1)
		return def;
	return a->v[0] != 0;
}

uint64_t
cf_attrs_ulong(const struct cf_attrs *l, uint64_t type, uint64_t def)
{
	const struct cf_attr *a = cf_attrs_find(l, type);
	uint64_t v;

	if (a == NULL || cf_attr_get_ulong(a->v, a->n, &v) != 0)
		return def;
	return v;
}

/* Is v a well-formed value of an attribute of this kind? */
static int
value_ok(int kind, const uint8_t *v, size_t n)
{
	size_t i;
	int b;

	if (n > CF_OBJ_MAX_VALUE)
		return COFFER_E_ATTRIBUTE;
	switch (kind) {
	case CF_AK_ULONG:
		return n == 8 ? 0 : COFFER_E_ATTRIBUTE;
	case CF_AK_BOOL:
		return cf_attr_get_bool(v, n, &b);
	case CF_AK_DATE:
		/* CK_DATE: YYYYMMDD, or empty (no date). */
		if (n == 0)
			return 0;
		if (n != 8)
			return COFFER_E_ATTRIBUTE;
		for (i = 0; i < 8; i++)
			if (v[i] < '0' || v[i] > '9')
				return COFFER_E_ATTRIBUTE;
		return 0;
	case CF_AK_MECHS:
		return n % 8 == 0 ? 0 : COFFER_E_ATTRIBUTE;
	case CF_AK_STRING:
		for (i = 0; i < n; i++)
			if (v[i] == 0)
				return COFFER_E_ATTRIBUTE;
		return 0;
	case CF_AK_BYTES:
		return 0;
	default:
		return COFFER_E_ATTRIBUTE;
	}
}

int
cf_attrs_from_pb(Coffer__Attribute *const *in, size_t n, struct cf_attrs *out)
{
	size_t i;
	int kind, rc;

	*out = (struct cf_attrs){0};
	if (n > CF_OBJ_MAX_ATTRS)
		return COFFER_E_ATTRIBUTE;
	for (i = 0; i < n; i++) {
		const Coffer__Attribute *a = in[i];
		uint8_t b;

		if (a == NULL) {
			rc = COFFER_E_FORMAT;
			goto fail;
		}
		kind = cf_attr_kind(a->type);
		if ((rc = value_ok(kind, a->value.data, a->value.len)) != 0)
			goto fail;
		if (cf_attrs_find(out, a->type) != NULL) {
			rc = COFFER_E_ATTRIBUTE;
			goto fail;
		}
		if (kind == CF_AK_BOOL) {
			b = a->value.data[0] != 0;
			rc = cf_attrs_set(out, a->type, &b, 1);
		} else
			rc = cf_attrs_set(out, a->type, a->value.data,
			    a->value.len);
		if (rc != 0)
			goto fail;
	}
	return 0;
 fail:
	cf_attrs_clear(out);
	return rc;
}

/* --- objects -------------------------------------------------------------- */

static bool
valid_name(const char *s)
{
	size_t i, n;

	if (s == NULL)
		return false;
	n = strlen(s);
	if (n == 0 || n >= CF_OBJ_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '@' || c == '-'))
			return false;
	}
	return true;
}

static uint8_t *
material_alloc(size_t n)
{
	uint8_t *p;
	static atomic_int warned;

	if ((p = cf_malloc_secret(n)) != NULL)
		return p;
	/*
	 * The secure heap is full. Apply must not fail on one node only
	 * (the state would diverge), so fall back to the ordinary heap;
	 * cf_free_secret cleanses either kind. Size secure_heap_size for
	 * the object limit to avoid this.
	 */
	if (atomic_exchange(&warned, 1) == 0)
		log_warn("secure heap full: key material in the ordinary heap");
	return OPENSSL_zalloc(n > 0 ? n : 1);
}

void
cf_obj_free(struct cf_obj *o)
{
	if (o == NULL)
		return;
	cf_attrs_clear(&o->attrs);
	cf_free_secret(o->material, o->material_len);
	free(o->shared);
	cf_keyref_put(o->key);
	cf_cleanse(o, sizeof(*o));
	free(o);
}

static bool
class_ok(uint64_t cls)
{
	return cls == CKO_DATA || cls == CKO_SECRET_KEY ||
	    cls == CKO_PRIVATE_KEY || cls == CKO_PUBLIC_KEY ||
	    cls == CKO_CERTIFICATE;
}

/* Objects without key material: data objects and certificates. */
static bool
no_material(uint64_t cls)
{
	return cls == CKO_DATA || cls == CKO_CERTIFICATE;
}

int
cf_obj_from_pb(const Coffer__ObjectRecord *r, uint64_t handle,
    struct cf_obj **out)
{
	struct cf_obj *o;
	size_t i, j;
	int rc = COFFER_E_FORMAT;

	*out = NULL;
	if (r == NULL || !valid_name(r->owner) ||
	    r->n_shared > CF_OBJ_MAX_SHARED ||
	    r->material.len > CF_OBJ_MAX_MATERIAL)
		return COFFER_E_FORMAT;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return COFFER_E_NOMEM;
	o->handle = handle;
	strcpy(o->owner, r->owner);		/* length checked */
	if ((rc = cf_attrs_from_pb(r->attrs, r->n_attrs, &o->attrs)) != 0)
		goto fail;
	rc = COFFER_E_FORMAT;
	o->cls = cf_attrs_ulong(&o->attrs, CKA_CLASS, CK_UNAVAILABLE_INFORMATION);
	o->key_type = cf_attrs_ulong(&o->attrs, CKA_KEY_TYPE,
	    CK_UNAVAILABLE_INFORMATION);
	if (!class_ok(o->cls) || (!no_material(o->cls) &&
	    o->key_type == CK_UNAVAILABLE_INFORMATION))
		goto fail;
	if (o->cls == CKO_CERTIFICATE && (o->key_type !=
	    CK_UNAVAILABLE_INFORMATION || cf_attrs_ulong(&o->attrs,
	    CKA_CERTIFICATE_TYPE, CK_UNAVAILABLE_INFORMATION) != CKC_X_509))
		goto fail;
	if (no_material(o->cls) != (r->material.len == 0))
		goto fail;
	/* Values that are never stored as attributes. */
	if (!no_material(o->cls) &&
	    cf_attrs_find(&o->attrs, CKA_VALUE) != NULL)
		goto fail;
	if (cf_attrs_find(&o->attrs, CKA_COFFER_OWNER_) != NULL ||
	    cf_attrs_find(&o->attrs, CKA_COFFER_SHARED_) != NULL)
		goto fail;
	if (r->n_shared > 0) {
		if ((o->shared = calloc(r->n_shared,
		    sizeof(*o->shared))) == NULL) {
			rc = COFFER_E_NOMEM;
			goto fail;
		}
		for (i = 0; i < r->n_shared; i++) {
			if (!valid_name(r->shared[i]) ||
			    strcmp(r->shared[i], o->owner) == 0)
				goto fail;
			for (j = 0; j < i; j++)
				if (strcmp(o->shared[j], r->shared[i]) == 0)
					goto fail;
			strcpy(o->shared[i], r->shared[i]);
		}
		o->nshared = r->n_shared;
	}
	if (r->material.len > 0) {
		if ((o->material = material_alloc(r->material.len)) == NULL) {
			rc = COFFER_E_NOMEM;
			goto fail;
		}
		memcpy(o->material, r->material.data, r->material.len);
		o->material_len = r->material.len;
	}
	*out = o;
	return 0;
 fail:
	cf_obj_free(o);
	return rc;
}

int
cf_obj_to_pb(const struct cf_obj *o, Coffer__ObjectRecord *r, void **scratch)
{
	Coffer__Attribute *as, **ap;
	char **sp;
	uint8_t *mem;
	size_t i, sz;

	*scratch = NULL;
	coffer__object_record__init(r);
	sz = (o->attrs.n + 1) * (sizeof(*as) + sizeof(*ap)) +
	    (o->nshared + 1) * sizeof(*sp);
	if ((mem = calloc(1, sz)) == NULL)
		return COFFER_E_NOMEM;
	as = (Coffer__Attribute *)mem;
	ap = (Coffer__Attribute **)(mem + (o->attrs.n + 1) * sizeof(*as));
	sp = (char **)((uint8_t *)ap + (o->attrs.n + 1) * sizeof(*ap));
	for (i = 0; i < o->attrs.n; i++) {
		coffer__attribute__init(&as[i]);
		as[i].type = o->attrs.a[i].type;
		as[i].value.data = o->attrs.a[i].v;
		as[i].value.len = o->attrs.a[i].n;
		ap[i] = &as[i];
	}
	for (i = 0; i < o->nshared; i++)
		sp[i] = (char *)o->shared[i];
	r->handle = o->handle;
	r->owner = (char *)o->owner;
	r->n_shared = o->nshared;
	r->shared = sp;
	r->n_attrs = o->attrs.n;
	r->attrs = ap;
	r->material.data = o->material;
	r->material.len = o->material_len;
	*scratch = mem;
	return 0;
}

bool
cf_obj_is_owner(const struct cf_obj *o, const char *user)
{
	return user != NULL && strcmp(o->owner, user) == 0;
}

bool
cf_obj_visible(const struct cf_obj *o, const char *user)
{
	size_t i;

	if (user == NULL || *user == '\0')
		return false;
	if (strcmp(o->owner, user) == 0)
		return true;
	for (i = 0; i < o->nshared; i++)
		if (strcmp(o->shared[i], user) == 0)
			return true;
	return false;
}

int
cf_obj_key(struct cf_obj *o, struct cf_keyref **out)
{
	struct cf_keyref *r = NULL;
	struct cf_key *k = NULL;
	int rc;

	*out = NULL;
	if (no_material(o->cls) || o->material_len == 0)
		return COFFER_E_KEY_TYPE;
	pthread_mutex_lock(&cache_mu);
	if (o->key != NULL) {
		*out = cf_keyref_hold(o->key);
		pthread_mutex_unlock(&cache_mu);
		return 0;
	}
	rc = cf_key_deserialize(o->cls, o->key_type, o->material,
	    o->material_len, &k);
	if (rc == 0 && (r = calloc(1, sizeof(*r))) == NULL)
		rc = COFFER_E_NOMEM;
	if (rc != 0) {
		pthread_mutex_unlock(&cache_mu);
		cf_key_free(k);
		log_error("object %llu: stored key does not parse: %s",
		    (unsigned long long)o->handle, coffer_errname(rc));
		return rc == COFFER_E_NOMEM ? rc : COFFER_E_INTEGRITY;
	}
	atomic_init(&r->refs, 1);
	r->k = k;
	o->key = r;
	*out = cf_keyref_hold(r);
	pthread_mutex_unlock(&cache_mu);
	return 0;
}

void
cf_obj_uncache(struct cf_obj *o)
{
	struct cf_keyref *r;

	pthread_mutex_lock(&cache_mu);
	r = o->key;
	o->key = NULL;
	pthread_mutex_unlock(&cache_mu);
	cf_keyref_put(r);
}

/* --- stores --------------------------------------------------------------- */

struct ix {
	struct cf_obj **b;
	size_t nb;		/* power of two */
	size_t n;
};

struct cf_objstore {
	struct ix ix[CF_IX_N];
	struct cf_obj *shared;	/* objects with nshared > 0 */
	size_t count;
};

static uint64_t
mix64(uint64_t x)
{
	/* splitmix64 finalizer */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t
hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return mix64(h ^ n);
}

/* Index key of o for index k; false if o is not in that index. */
static bool
ix_key(const struct cf_obj *o, int k, uint64_t *h)
{
	const struct cf_attr *a;

	switch (k) {
	case CF_IX_HANDLE:
		*h = mix64(o->handle);
		return true;
	case CF_IX_LABEL:
	case CF_IX_ID:
		a = cf_attrs_find(&o->attrs, k == CF_IX_LABEL ? CKA_LABEL :
		    CKA_ID);
		if (a == NULL || a->n == 0)
			return false;
		*h = hash_bytes(a->v, a->n);
		return true;
	case CF_IX_CLASS:
		*h = mix64(o->cls ^ 0x5a5a5a5aULL);
		return true;
	case CF_IX_OWNER:
		*h = hash_bytes((const uint8_t *)o->owner, strlen(o->owner));
		return true;
	}
	return false;
}

static void
ix_link(struct ix *x, int k, struct cf_obj *o)
{
	struct cf_obj **head = &x->b[o->ix[k].h & (x->nb - 1)];

	o->ix[k].prev = NULL;
	o->ix[k].next = *head;
	if (*head != NULL)
		(*head)->ix[k].prev = o;
	*head = o;
}

static int
ix_grow(struct ix *x, int k)
{
	struct cf_obj **old = x->b, *o, *next;
	size_t i, onb = x->nb, nb = onb ? onb * 2 : 64;

	if ((x->b = calloc(nb, sizeof(*x->b))) == NULL) {
		x->b = old;
		return COFFER_E_NOMEM;
	}
	x->nb = nb;
	for (i = 0; i < onb; i++) {
		for (o = old[i]; o != NULL; o = next) {
			next = o->ix[k].next;
			ix_link(x, k, o);
		}
	}
	free(old);
	return 0;
}

static int
ix_add(struct cf_objstore *s, int k, struct cf_obj *o)
{
	struct ix *x = &s->ix[k];
	uint64_t h;
	int rc;

	o->ix[k].in = false;
	if (!ix_key(o, k, &h))
		return 0;
	if (x->n + 1 > x->nb && (rc = ix_grow(x, k)) != 0 && x->nb == 0)
		return rc;	/* a full table still works, only slower */
	o->ix[k].h = h;
	ix_link(x, k, o);
	o->ix[k].in = true;
	x->n++;
	return 0;
}

static void
ix_del(struct cf_objstore *s, int k, struct cf_obj *o)
{
	struct ix *x = &s->ix[k];

	if (!o->ix[k].in)
		return;
	if (o->ix[k].prev != NULL)
		o->ix[k].prev->ix[k].next = o->ix[k].next;
	else
		x->b[o->ix[k].h & (x->nb - 1)] = o->ix[k].next;
	if (o->ix[k].next != NULL)
		o->ix[k].next->ix[k].prev = o->ix[k].prev;
	o->ix[k].next = o->ix[k].prev = NULL;
	o->ix[k].in = false;
	x->n--;
}

static void
shared_link(struct cf_objstore *s, struct cf_obj *o)
{
	if (o->in_shared || o->nshared == 0)
		return;
	o->sh_prev = NULL;
	o->sh_next = s->shared;
	if (s->shared != NULL)
		s->shared->sh_prev = o;
	s->shared = o;
	o->in_shared = true;
}

static void
shared_unlink(struct cf_objstore *s, struct cf_obj *o)
{
	if (!o->in_shared)
		return;
	if (o->sh_prev != NULL)
		o->sh_prev->sh_next = o->sh_next;
	else
		s->shared = o->sh_next;
	if (o->sh_next != NULL)
		o->sh_next->sh_prev = o->sh_prev;
	o->sh_next = o->sh_prev = NULL;
	o->in_shared = false;
}

int
cf_objstore_new(struct cf_objstore **out)
{
	*out = calloc(1, sizeof(**out));
	return *out != NULL ? 0 : COFFER_E_NOMEM;
}

void
cf_objstore_free(struct cf_objstore *s)
{
	struct ix *x;
	struct cf_obj *o, *next;
	size_t i;
	int k;

	if (s == NULL)
		return;
	x = &s->ix[CF_IX_HANDLE];
	for (i = 0; i < x->nb; i++) {
		for (o = x->b[i]; o != NULL; o = next) {
			next = o->ix[CF_IX_HANDLE].next;
			cf_obj_free(o);
		}
	}
	for (k = 0; k < CF_IX_N; k++)
		free(s->ix[k].b);
	free(s);
}

size_t
cf_objstore_count(const struct cf_objstore *s)
{
	return s->count;
}

size_t
cf_objstore_owned(const struct cf_objstore *s, const char *owner)
{
	const struct ix *x = &s->ix[CF_IX_OWNER];
	const struct cf_obj *o;
	uint64_t h;
	size_t n = 0;

	if (x->nb == 0)
		return 0;
	h = hash_bytes((const uint8_t *)owner, strlen(owner));
	for (o = x->b[h & (x->nb - 1)]; o != NULL; o = o->ix[CF_IX_OWNER].next)
		n += strcmp(o->owner, owner) == 0;
	return n;
}

struct cf_obj *
cf_objstore_get(const struct cf_objstore *s, uint64_t handle)
{
	const struct ix *x = &s->ix[CF_IX_HANDLE];
	struct cf_obj *o;
	uint64_t h = mix64(handle);

	if (x->nb == 0)
		return NULL;
	for (o = x->b[h & (x->nb - 1)]; o != NULL;
	    o = o->ix[CF_IX_HANDLE].next)
		if (o->handle == handle)
			return o;
	return NULL;
}

int
cf_objstore_insert(struct cf_objstore *s, struct cf_obj *o)
{
	int k, rc;

	if (cf_objstore_get(s, o->handle) != NULL)
		return COFFER_E_EXISTS;
	if ((rc = ix_add(s, CF_IX_HANDLE, o)) != 0)
		return rc;
	for (k = CF_IX_HANDLE + 1; k < CF_IX_N; k++)
		(void)ix_add(s, k, o);
	shared_link(s, o);
	s->count++;
	return 0;
}

static void
unlink_all(struct cf_objstore *s, struct cf_obj *o)
{
	int k;

	for (k = 0; k < CF_IX_N; k++)
		ix_del(s, k, o);
	shared_unlink(s, o);
}

int
cf_objstore_remove(struct cf_objstore *s, uint64_t handle)
{
	struct cf_obj *o;

	if ((o = cf_objstore_get(s, handle)) == NULL)
		return COFFER_E_NOTFOUND;
	unlink_all(s, o);
	s->count--;
	cf_obj_free(o);
	return 0;
}

void
cf_objstore_reindex(struct cf_objstore *s, struct cf_obj *o)
{
	ix_del(s, CF_IX_LABEL, o);
	ix_del(s, CF_IX_ID, o);
	(void)ix_add(s, CF_IX_LABEL, o);
	(void)ix_add(s, CF_IX_ID, o);
	shared_unlink(s, o);
	shared_link(s, o);
}

void
cf_objstore_foreach(const struct cf_objstore *s,
    void (*fn)(struct cf_obj *, void *), void *arg)
{
	const struct ix *x = &s->ix[CF_IX_HANDLE];
	struct cf_obj *o, *next;
	size_t i;

	for (i = 0; i < x->nb; i++) {
		for (o = x->b[i]; o != NULL; o = next) {
			next = o->ix[CF_IX_HANDLE].next;
			fn(o, arg);
		}
	}
}

static void
unshare_one(struct cf_obj *o, void *arg)
{
	const char *user = arg;
	size_t i;

	for (i = 0; i < o->nshared; i++) {
		if (strcmp(o->shared[i], user) == 0) {
			memmove(&o->shared[i], &o->shared[i + 1],
			    (o->nshared - i - 1) * sizeof(*o->shared));
			o->nshared--;
			return;
		}
	}
}

void
cf_objstore_unshare_all(struct cf_objstore *s, const char *user)
{
	struct cf_obj *o, *next;

	for (o = s->shared; o != NULL; o = next) {
		next = o->sh_next;
		unshare_one(o, (void *)user);
		if (o->nshared == 0)
			shared_unlink(s, o);
	}
}

static void
uncache_one(struct cf_obj *o, void *arg)
{
	(void)arg;
	cf_obj_uncache(o);
}

void
cf_objstore_uncache(struct cf_objstore *s)
{
	cf_objstore_foreach(s, uncache_one, NULL);
}

/* --- find ----------------------------------------------------------------- */

static bool
virtual_match(const struct cf_obj *o, const struct cf_attr *t)
{
	char buf[CF_OBJ_MAX_SHARED * CF_OBJ_NAME_MAX];
	size_t i, len = 0;

	if (t->type == CKA_COFFER_OWNER_)
		return t->n == strlen(o->owner) &&
		    memcmp(t->v, o->owner, t->n) == 0;
	for (i = 0; i < o->nshared; i++) {
		size_t l = strlen(o->shared[i]);
		if (i > 0)
			buf[len++] = ',';
		memcpy(buf + len, o->shared[i], l);
		len += l;
	}
	return t->n == len && (len == 0 || memcmp(t->v, buf, len) == 0);
}

static bool
matches(const struct cf_obj *o, const struct cf_attrs *tmpl)
{
	const struct cf_attr *a;
	size_t i;

	for (i = 0; i < tmpl->n; i++) {
		const struct cf_attr *t = &tmpl->a[i];

		if (t->type == CKA_COFFER_OWNER_ ||
		    t->type == CKA_COFFER_SHARED_) {
			if (!virtual_match(o, t))
				return false;
			continue;
		}
		if ((a = cf_attrs_find(&o->attrs, t->type)) == NULL ||
		    a->n != t->n || (a->n > 0 && memcmp(a->v, t->v, a->n) != 0))
			return false;
	}
	return true;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct hits {
	uint64_t *h;
	size_t n, cap;
};

static int
hit(struct hits *hs, const struct cf_obj *o, const struct cf_attrs *tmpl,
    const char *user, uint64_t after)
{
	uint64_t *nh;

	if (o->handle <= after || !cf_obj_visible(o, user) ||
	    !matches(o, tmpl))
		return 0;
	if (hs->n == hs->cap) {
		size_t nc = hs->cap ? hs->cap * 2 : 64;
		if ((nh = reallocarray(hs->h, nc, sizeof(*nh))) == NULL)
			return COFFER_E_NOMEM;
		hs->h = nh;
		hs->cap = nc;
	}
	hs->h[hs->n++] = o->handle;
	return 0;
}

int
cf_objstore_find(const struct cf_objstore *s, const struct cf_attrs *tmpl,
    const char *user, uint64_t after, size_t max, uint64_t **handles,
    size_t *n, bool *more)
{
	const struct cf_attr *key = NULL;
	const struct ix *x;
	const struct cf_obj *o;
	struct hits hs = {0};
	uint64_t h;
	size_t i, out;
	int k = CF_IX_OWNER, rc = 0;

	*handles = NULL;
	*n = 0;
	*more = false;
	if ((key = cf_attrs_find(tmpl, CKA_LABEL)) != NULL && key->n > 0)
		k = CF_IX_LABEL;
	else if ((key = cf_attrs_find(tmpl, CKA_ID)) != NULL && key->n > 0)
		k = CF_IX_ID;
	x = &s->ix[k];
	if (k == CF_IX_OWNER) {
		/* Objects the user owns, then those shared with anyone. */
		if (x->nb > 0) {
			h = hash_bytes((const uint8_t *)user, strlen(user));
			for (o = x->b[h & (x->nb - 1)]; o != NULL && rc == 0;
			    o = o->ix[k].next) {
				cf_objstore_examined++;
				if (strcmp(o->owner, user) == 0)
					rc = hit(&hs, o, tmpl, user, after);
			}
		}
		for (o = s->shared; o != NULL && rc == 0; o = o->sh_next) {
			cf_objstore_examined++;
			if (strcmp(o->owner, user) != 0)
				rc = hit(&hs, o, tmpl, user, after);
		}
	} else if (x->nb > 0) {
		h = hash_bytes(key->v, key->n);
		for (o = x->b[h & (x->nb - 1)]; o != NULL && rc == 0;
		    o = o->ix[k].next) {
			cf_objstore_examined++;
			if (o->ix[k].h == h)
				rc = hit(&hs, o, tmpl, user, after);
		}
	}
	if (rc != 0) {
		free(hs.h);
		return rc;
	}
	if (hs.n > 1)
		qsort(hs.h, hs.n, sizeof(*hs.h), cmp_u64);
	out = hs.n > max ? max : hs.n;
	*more = hs.n > max;
	for (i = out; i < hs.n; i++)
		hs.h[i] = 0;
	*handles = hs.h;
	*n = out;
	return 0;
}
