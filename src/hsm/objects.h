/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objects.h: PKCS#11 objects inside the node (issue 3).
 *
 *   struct cf_obj       one object: attributes in wire form (sorted by
 *                       type), owner, shared users, key material in the
 *                       engine's storage form (secure heap), and a lazily
 *                       parsed struct cf_key (refcounted, so operations may
 *                       outlive the object).
 *   struct cf_objstore  a set of objects with hash indexes by handle,
 *                       CKA_LABEL, CKA_ID, CKA_CLASS and owner, plus the
 *                       list of shared objects: finding by label or id
 *                       examines only the objects in one hash chain.
 *                       Token objects live in the FSM's store (state.c),
 *                       session objects in per-client-instance stores
 *                       (objects_local.c).
 *   templates           PKCS#11 attribute rules (objects_tmpl.c): defaults
 *                       per class, computed attributes, read-only and
 *                       monotonic attributes, sensitivity on read.
 *
 * Thread safety: a store is protected by its owner's lock (the state
 * rwlock for token objects, the instance mutex for session objects); the
 * key cache has its own lock, so cf_obj_key may run under a read lock.
 */
#ifndef CF_OBJECTS_H
#define CF_OBJECTS_H

#include <p11-kit/pkcs11.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coffer.pb-c.h"
#include "crypto/keys.h"

#define CF_MAX_OBJECTS_DEFAULT	16666	/* CloudHSM's figure */
#define CF_SESSION_HANDLE_BIT	(1ULL << 63)	/* session object handles */
#define CF_OBJ_MAX_ATTRS	96
#define CF_OBJ_MAX_VALUE	65536	/* one attribute value, bytes */
#define CF_OBJ_MAX_MATERIAL	16384	/* key storage form, bytes */
#define CF_OBJ_MAX_SHARED	64
#define CF_OBJ_NAME_MAX		64	/* user name + NUL */

#define CKA_COFFER_OWNER_	(CKA_VENDOR_DEFINED | 0x434F0001UL)
#define CKA_COFFER_SHARED_	(CKA_VENDOR_DEFINED | 0x434F0002UL)

struct cf_attr {
	uint64_t type;
	uint8_t *v;		/* malloc'd, NULL when n == 0 */
	size_t n;
};

/* A sorted (by type), duplicate-free attribute list. */
struct cf_attrs {
	struct cf_attr *a;
	size_t n;
	size_t cap;
};

/* Refcounted parsed key (the cache). */
struct cf_keyref;
const struct cf_key *cf_keyref_key(const struct cf_keyref *);
struct cf_keyref *cf_keyref_hold(struct cf_keyref *);
void cf_keyref_put(struct cf_keyref *);		/* NULL-safe */

enum { CF_IX_HANDLE, CF_IX_LABEL, CF_IX_ID, CF_IX_CLASS, CF_IX_OWNER,
    CF_IX_N };

struct cf_obj;
struct cf_ixnode {
	struct cf_obj *next, *prev;
	uint64_t h;
	bool in;
};

struct cf_obj {
	uint64_t handle;
	char owner[CF_OBJ_NAME_MAX];
	char (*shared)[CF_OBJ_NAME_MAX];
	size_t nshared;
	struct cf_attrs attrs;
	uint8_t *material;	/* secure heap (regular heap if it is full) */
	size_t material_len;
	uint64_t cls;		/* CKA_CLASS */
	uint64_t key_type;	/* CKA_KEY_TYPE or CK_UNAVAILABLE_INFORMATION */
	struct cf_keyref *key;	/* cache; guarded by the cache lock */
	/* store-private */
	struct cf_ixnode ix[CF_IX_N];
	struct cf_obj *sh_next, *sh_prev;
	bool in_shared;
};

/* --- attribute lists ---------------------------------------------------- */
void cf_attrs_clear(struct cf_attrs *);
const struct cf_attr *cf_attrs_find(const struct cf_attrs *, uint64_t type);
/* Adds or replaces (copies v). */
int cf_attrs_set(struct cf_attrs *, uint64_t type, const uint8_t *v,
    size_t n);
int cf_attrs_set_bool(struct cf_attrs *, uint64_t type, bool v);
int cf_attrs_set_ulong(struct cf_attrs *, uint64_t type, uint64_t v);
void cf_attrs_del(struct cf_attrs *, uint64_t type);
/* Value of a CK_BBOOL / CK_ULONG attribute, def if absent. */
bool cf_attrs_bool(const struct cf_attrs *, uint64_t type, bool def);
uint64_t cf_attrs_ulong(const struct cf_attrs *, uint64_t type, uint64_t def);
/*
 * Parses wire attributes: every type must be known (COFFER_E_ATTRIBUTE),
 * every value well-formed for its kind (COFFER_E_ATTRIBUTE), no type twice
 * (COFFER_E_ATTRIBUTE); booleans are canonicalized to 0/1.
 */
int cf_attrs_from_pb(Coffer__Attribute *const *in, size_t n,
    struct cf_attrs *out);

/* --- objects ------------------------------------------------------------ */
void cf_obj_free(struct cf_obj *);		/* NULL-safe; wipes */
/* Builds an object from a record (validated: owner, class, attributes,
 * sizes); the record's handle is replaced by handle. COFFER_E_FORMAT or
 * COFFER_E_ATTRIBUTE on bad records. */
int cf_obj_from_pb(const Coffer__ObjectRecord *, uint64_t handle,
    struct cf_obj **out);
/* Points r's fields at o's data (no copies; valid while o lives);
 * attrs/ptrs/shared arrays are malloc'd into *scratch (free() it). */
int cf_obj_to_pb(const struct cf_obj *o, Coffer__ObjectRecord *r,
    void **scratch);
bool cf_obj_visible(const struct cf_obj *, const char *user);
bool cf_obj_is_owner(const struct cf_obj *, const char *user);
/* The parsed key (cached); *out holds a reference (cf_keyref_put).
 * COFFER_E_KEY_TYPE for data objects. */
int cf_obj_key(struct cf_obj *, struct cf_keyref **out);
/* Drops the cached key. */
void cf_obj_uncache(struct cf_obj *);

/* --- stores ------------------------------------------------------------- */
struct cf_objstore;
int cf_objstore_new(struct cf_objstore **out);
void cf_objstore_free(struct cf_objstore *);	/* frees the objects */
size_t cf_objstore_count(const struct cf_objstore *);
size_t cf_objstore_owned(const struct cf_objstore *, const char *owner);
/* Takes o (its handle must be new: COFFER_E_EXISTS). */
int cf_objstore_insert(struct cf_objstore *, struct cf_obj *o);
struct cf_obj *cf_objstore_get(const struct cf_objstore *, uint64_t handle);
/* Unlinks and frees. */
int cf_objstore_remove(struct cf_objstore *, uint64_t handle);
/* Re-indexes o after its label, id or shared list changed. */
void cf_objstore_reindex(struct cf_objstore *, struct cf_obj *o);
/* Calls fn for every object (order unspecified). */
void cf_objstore_foreach(const struct cf_objstore *,
    void (*fn)(struct cf_obj *, void *), void *arg);
/* Removes user from every shared list. */
void cf_objstore_unshare_all(struct cf_objstore *, const char *user);
/* Drops every cached key (zeroize, restore). */
void cf_objstore_uncache(struct cf_objstore *);
/*
 * Handles of the objects visible to user that match tmpl (exact byte
 * comparison of stored attributes; CKA_COFFER_OWNER/SHARED compare the
 * virtual values; attributes never stored, such as a key's CKA_VALUE,
 * never match), greater than after, ascending, at most max; *more if
 * more remain. *handles malloc'd.
 */
int cf_objstore_find(const struct cf_objstore *, const struct cf_attrs *tmpl,
    const char *user, uint64_t after, size_t max, uint64_t **handles,
    size_t *n, bool *more);
/* Test hook: objects examined by cf_objstore_find since the last reset. */
extern _Atomic unsigned long long cf_objstore_examined;

/* The FSM's token objects (state.c); call with the state lock held (read
 * lock to look, never to change). */
struct cf_state;
struct cf_objstore *cf_state_objects(struct cf_state *);

/* --- PKCS#11 rules (objects_tmpl.c) ------------------------------------- */
enum cf_tmpl_op {
	CF_T_GENERATE,		/* secret key generation */
	CF_T_GEN_PUB,		/* key pair: public half */
	CF_T_GEN_PRIV,		/* key pair: private half */
	CF_T_CREATE,		/* C_CreateObject: public keys, data */
	CF_T_UNWRAP,
	CF_T_DERIVE,
	CF_T_COPY,
};

/*
 * Checks a caller's template for op and fills in the defaults and the
 * class; does not yet add key-derived attributes (cf_tmpl_finish).
 * cls/key_type: what the operation makes (CK_UNAVAILABLE_INFORMATION:
 * take it from the template). Errors: COFFER_E_ATTRIBUTE (unknown,
 * malformed, not for this class, inconsistent), COFFER_E_ATTR_READONLY
 * (an attribute the caller may not set).
 */
int cf_tmpl_begin(enum cf_tmpl_op op, uint64_t cls, uint64_t key_type,
    const struct cf_attrs *tmpl, struct cf_attrs *out);
/*
 * Adds computed attributes: LOCAL, KEY_GEN_MECHANISM, ALWAYS_SENSITIVE,
 * NEVER_EXTRACTABLE (from base for derive: may be NULL otherwise) and the
 * public values of key (modulus, exponent, EC params/point, value length,
 * check value, public key info). key may be NULL for data objects.
 */
int cf_tmpl_finish(enum cf_tmpl_op op, uint64_t gen_mech,
    const struct cf_attrs *base, const struct cf_key *key,
    struct cf_attrs *attrs);
/*
 * May attrs be applied to o by C_SetAttributeValue? who: CF_SET_CU (the
 * owner: anything modifiable except CKA_TRUSTED), CF_SET_CO (CKA_TRUSTED
 * and nothing else), CF_SET_APPLY (the FSM re-checking a committed entry:
 * the monotonic rules only). An attribute set to its current value is
 * always accepted. 0, COFFER_E_ATTRIBUTE or COFFER_E_ATTR_READONLY.
 */
#define CF_SET_CU	0
#define CF_SET_CO	1
#define CF_SET_APPLY	2
int cf_tmpl_check_set(const struct cf_obj *o, const struct cf_attrs *attrs,
    int who);
/* Copy: the new object's attributes from o and the caller's template
 * (C_CopyObject rules: CKA_COPYABLE must be true; TOKEN, PRIVATE and
 * MODIFIABLE true->false may change, and whatever C_SetAttributeValue
 * could change). */
int cf_tmpl_copy(const struct cf_obj *o, const struct cf_attrs *tmpl,
    struct cf_attrs *out);
/*
 * One attribute as C_GetAttributeValue returns it: *v and *n point into o or
 * to buf (capacity buflen), or status COFFER_E_ATTR_SENSITIVE /
 * COFFER_E_ATTRIBUTE. Key values and private components are never
 * returned, whatever CKA_SENSITIVE/CKA_EXTRACTABLE say.
 */
int cf_tmpl_get(const struct cf_obj *o, uint64_t type, uint8_t *buf,
    size_t buflen, const uint8_t **v, size_t *n);

#endif
