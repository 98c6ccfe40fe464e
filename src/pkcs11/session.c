/* SPDX-License-Identifier: Apache-2.0 */
/*
 * session.c: the session table, C_OpenSession/C_CloseSession, login state
 * (shared by all sessions of the application on a slot, PKCS#11 2.40 §6.7)
 * and PINs.
 *
 * PIN format: "user:password" (the first ':' separates). C_LoginUser takes
 * the user name separately. CKU_USER must be a crypto user (CU), CKU_SO a
 * crypto officer (CO); a CO cannot use keys, but can reset a CU's password
 * with C_InitPIN("user:newpassword").
 *
 * Session handles: (generation << P11_HANDLE_BITS) | (index + 1), never
 * reused within a process. A session is referenced while a call uses it,
 * and freed by the last reference after it is closed.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "p11.h"

#define HANDLE_MASK ((1UL << P11_HANDLE_BITS) - 1)

bool
p11_logged_in(const struct p11_session *s)
{
	return s->slot->logged_in;
}

CK_STATE
p11_session_state(const struct p11_session *s)
{
	bool rw = (s->flags & CKF_RW_SESSION) != 0;

	if (!s->slot->logged_in)
		return rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
	if (s->slot->user == CKU_SO)
		return CKS_RW_SO_FUNCTIONS;
	return rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
}

static struct p11_session *
lookup(CK_SESSION_HANDLE h)
{
	size_t idx = h & HANDLE_MASK;
	struct p11_session *s;

	if (idx == 0 || idx > p11_g.max_sessions)
		return NULL;
	s = p11_g.sess[idx - 1];
	if (s == NULL || s->handle != h)
		return NULL;
	return s;
}

static void
session_free(struct p11_session *s)
{
	free(s->found);
	free(s->sobj);
	p11_mutex_free(s->lock);
	free(s);
}

CK_RV
p11_session_get(CK_SESSION_HANDLE h, struct p11_session **out)
{
	struct p11_session *s;
	CK_RV rv;

	*out = NULL;
	if ((rv = p11_check_init()) != CKR_OK)
		return rv;
	p11_lock(p11_g.lock);
	if ((s = lookup(h)) != NULL)
		s->refs++;
	p11_unlock(p11_g.lock);
	if (s == NULL)
		return CKR_SESSION_HANDLE_INVALID;
	p11_lock(s->lock);
	if (s->closed) {
		p11_session_put(s);
		return CKR_SESSION_HANDLE_INVALID;
	}
	*out = s;
	return CKR_OK;
}

void
p11_session_put(struct p11_session *s)
{
	bool last;

	if (s == NULL)
		return;
	p11_unlock(s->lock);
	p11_lock(p11_g.lock);
	last = --s->refs == 0 && s->closed;
	p11_unlock(p11_g.lock);
	if (last)
		session_free(s);
}

void
p11_session_track(struct p11_session *s, uint64_t h)
{
	uint64_t *n;
	size_t cap;

	if (s->nsobj == s->sobj_cap) {
		cap = s->sobj_cap ? s->sobj_cap * 2 : 8;
		if ((n = reallocarray(s->sobj, cap, sizeof(*n))) == NULL) {
			p11_log(P11_LOG_WARN, "session object 0x%llx not "
			    "tracked (no memory)", (unsigned long long)h);
			return;
		}
		s->sobj = n;
		s->sobj_cap = cap;
	}
	s->sobj[s->nsobj++] = h;
}

void
p11_session_untrack(struct p11_session *s, uint64_t h)
{
	size_t i;

	for (i = 0; i < s->nsobj; i++) {
		if (s->sobj[i] == h) {
			s->sobj[i] = s->sobj[--s->nsobj];
			return;
		}
	}
}

CK_RV
C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication,
    CK_NOTIFY Notify, CK_SESSION_HANDLE_PTR phSession)
{
	struct p11_session *s = NULL;
	struct p11_slot *slot;
	size_t i;
	CK_RV rv;

	if ((rv = p11_check_init()) != CKR_OK)
		return rv;
	if ((rv = p11_slot_get(slotID, &slot)) != CKR_OK)
		return rv;
	if (phSession == NULL)
		return CKR_ARGUMENTS_BAD;
	if (!(flags & CKF_SERIAL_SESSION))
		return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
	if ((rv = p11_slot_connect(slot)) != CKR_OK)
		return rv;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return CKR_HOST_MEMORY;
	if (p11_mutex_new(&s->lock) != 0) {
		free(s);
		return CKR_HOST_MEMORY;
	}
	s->slot = slot;
	s->flags = (flags & CKF_RW_SESSION) | CKF_SERIAL_SESSION;
	s->refs = 1;
	p11_lock(p11_g.lock);
	if (slot->logged_in && slot->user == CKU_SO &&
	    !(flags & CKF_RW_SESSION)) {
		rv = CKR_SESSION_READ_WRITE_SO_EXISTS;
		goto unlock;
	}
	if (p11_g.nsess >= p11_g.max_sessions) {
		rv = CKR_SESSION_COUNT;
		goto unlock;
	}
	for (i = 0; i < p11_g.max_sessions; i++)
		if (p11_g.sess[i] == NULL)
			break;
	p11_g.gen++;
	s->handle = (CK_SESSION_HANDLE)((p11_g.gen << P11_HANDLE_BITS) |
	    (i + 1));
	p11_g.sess[i] = s;
	p11_g.nsess++;
	slot->nsessions++;
	if (flags & CKF_RW_SESSION)
		slot->nrw++;
	*phSession = s->handle;
	rv = CKR_OK;
 unlock:
	p11_unlock(p11_g.lock);
	if (rv != CKR_OK)
		session_free(s);
	return rv;
}

/* Ends a session's operations and destroys its session objects. The
 * session lock is held; network calls are skipped when finalizing from a
 * state that may be broken. */
static void
session_cleanup(struct p11_session *s, bool net)
{
	size_t i;

	for (i = 0; i < P11_NOPS; i++)
		p11_op_end(&s->ops[i]);
	free(s->found);
	s->found = NULL;
	s->find_active = false;
	if (net && s->slot->client != NULL)
		for (i = 0; i < s->nsobj; i++)
			(void)coffer_destroy_object(s->slot->client, s->sobj[i]);
	s->nsobj = 0;
}

/* Removes s from the table (global lock held) and drops the table's
 * reference. Returns true if it was the slot's last session. */
static bool
unlink_session(struct p11_session *s)
{
	struct p11_slot *slot = s->slot;

	p11_g.sess[(s->handle & HANDLE_MASK) - 1] = NULL;
	p11_g.nsess--;
	slot->nsessions--;
	if (s->flags & CKF_RW_SESSION)
		slot->nrw--;
	s->closed = true;
	/* The table's reference (the caller holds another one): the last
	 * p11_session_put frees the session. */
	s->refs--;
	return slot->nsessions == 0;
}

static void
logout_slot(struct p11_slot *slot)
{
	bool was;

	p11_lock(slot->lock);
	p11_lock(p11_g.lock);
	was = slot->logged_in && slot->nsessions == 0;
	if (was)
		slot->logged_in = false;
	p11_unlock(p11_g.lock);
	if (was && slot->client != NULL)
		(void)coffer_logout(slot->client);
	p11_unlock(slot->lock);
}

CK_RV
C_CloseSession(CK_SESSION_HANDLE hSession)
{
	struct p11_session *s;
	bool last;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &s)) != CKR_OK)
		return rv;
	p11_lock(p11_g.lock);
	last = unlink_session(s);
	p11_unlock(p11_g.lock);
	session_cleanup(s, true);
	if (last)
		logout_slot(s->slot);
	p11_session_put(s);
	return CKR_OK;
}

void
p11_session_close_all(struct p11_slot *slot, bool finalizing)
{
	struct p11_session *s;
	size_t i;

	for (i = 0; i < p11_g.max_sessions; i++) {
		p11_lock(p11_g.lock);
		s = p11_g.sess[i];
		if (s == NULL || s->slot != slot) {
			p11_unlock(p11_g.lock);
			continue;
		}
		s->refs++;
		(void)unlink_session(s);
		p11_unlock(p11_g.lock);
		p11_lock(s->lock);
		session_cleanup(s, true);
		p11_session_put(s);
	}
	if (!finalizing)
		logout_slot(slot);
	else if (slot->logged_in && slot->client != NULL) {
		(void)coffer_logout(slot->client);
		slot->logged_in = false;
	}
}

CK_RV
C_CloseAllSessions(CK_SLOT_ID slotID)
{
	struct p11_slot *slot;
	CK_RV rv;

	if ((rv = p11_check_init()) != CKR_OK)
		return rv;
	if ((rv = p11_slot_get(slotID, &slot)) != CKR_OK)
		return rv;
	p11_session_close_all(slot, false);
	return CKR_OK;
}

CK_RV
C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
	struct p11_session *s;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &s)) != CKR_OK)
		return rv;
	if (pInfo == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	p11_lock(p11_g.lock);
	pInfo->slotID = s->slot->id;
	pInfo->state = p11_session_state(s);
	pInfo->flags = s->flags;
	pInfo->ulDeviceError = 0;
	p11_unlock(p11_g.lock);
 out:
	p11_session_put(s);
	return rv;
}

/* --- login ------------------------------------------------------------- */
/* Splits "user:password" into secure-heap copies. */
static CK_RV
pin_split(const CK_UTF8CHAR *pin, CK_ULONG len, char **user, char **pw)
{
	const CK_UTF8CHAR *colon;

	*user = *pw = NULL;
	if (len == 0 || len > 1024)
		return CKR_PIN_LEN_RANGE;
	if ((colon = memchr(pin, ':', len)) == NULL || colon == pin)
		return CKR_PIN_INCORRECT;
	if (memchr(pin, '\0', len) != NULL)
		return CKR_PIN_INVALID;
	*user = OPENSSL_secure_zalloc((size_t)(colon - pin) + 1);
	*pw = OPENSSL_secure_zalloc(len - (size_t)(colon - pin));
	if (*user == NULL || *pw == NULL) {
		OPENSSL_secure_clear_free(*user, 0);
		OPENSSL_secure_clear_free(*pw, 0);
		*user = *pw = NULL;
		return CKR_HOST_MEMORY;
	}
	memcpy(*user, pin, (size_t)(colon - pin));
	memcpy(*pw, colon + 1, len - (size_t)(colon - pin) - 1);
	return CKR_OK;
}

static char *
sec_strndup(const CK_UTF8CHAR *p, CK_ULONG n)
{
	char *s;

	if (memchr(p, '\0', n) != NULL)
		return NULL;
	if ((s = OPENSSL_secure_zalloc(n + 1)) != NULL)
		memcpy(s, p, n);
	return s;
}

static void
sec_free(char *s)
{
	if (s != NULL)
		OPENSSL_secure_clear_free(s, strlen(s) + 1);
}

static CK_RV
do_login(struct p11_session *s, CK_USER_TYPE type, const char *user,
    const char *pw)
{
	struct p11_slot *slot = s->slot;
	size_t i;
	int rc, role = 0;
	CK_RV rv;

	if (type != CKU_USER && type != CKU_SO && type !=
	    CKU_CONTEXT_SPECIFIC)
		return CKR_USER_TYPE_INVALID;
	p11_lock(slot->lock);
	p11_lock(p11_g.lock);
	if (type == CKU_CONTEXT_SPECIFIC) {
		rv = CKR_OK;
		if (!slot->logged_in || slot->user != CKU_USER)
			rv = CKR_USER_NOT_LOGGED_IN;
		else if (strcmp(user, slot->username) != 0)
			rv = CKR_PIN_INCORRECT;
		for (i = 0; rv == CKR_OK && i < P11_NOPS; i++)
			if (s->ops[i].active)
				break;
		if (rv == CKR_OK && i == P11_NOPS)
			rv = CKR_OPERATION_NOT_INITIALIZED;
		p11_unlock(p11_g.lock);
		if (rv != CKR_OK)
			goto out;
		/* Re-authenticates the same user (no key needs it today). */
		rv = p11_rv_from_rc(coffer_login(slot->client, user, pw,
		    &role));
		goto out;
	}
	if (slot->logged_in) {
		rv = slot->user == type ? CKR_USER_ALREADY_LOGGED_IN :
		    CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
		p11_unlock(p11_g.lock);
		goto out;
	}
	if (type == CKU_SO && slot->nsessions > slot->nrw) {
		p11_unlock(p11_g.lock);
		rv = CKR_SESSION_READ_ONLY_EXISTS;
		goto out;
	}
	p11_unlock(p11_g.lock);
	if ((rc = coffer_login(slot->client, user, pw, &role)) != 0) {
		p11_log(P11_LOG_INFO, "login user=%s: %s", user,
		    coffer_errname(rc));
		rv = p11_rv_from_rc(rc);
		if (rv == CKR_OBJECT_HANDLE_INVALID)
			rv = CKR_PIN_INCORRECT;	/* unknown user */
		goto out;
	}
	if ((type == CKU_USER && role != COFFER_ROLE_CU) ||
	    (type == CKU_SO && role != COFFER_ROLE_CO)) {
		p11_log(P11_LOG_WARN, "login user=%s: role %s does not match "
		    "%s (CKU_USER needs a CU, CKU_SO a CO)", user,
		    coffer_role_name(role), type == CKU_SO ? "CKU_SO" :
		    "CKU_USER");
		(void)coffer_logout(slot->client);
		rv = CKR_PIN_INCORRECT;
		goto out;
	}
	p11_lock(p11_g.lock);
	slot->logged_in = true;
	slot->user = type;
	snprintf(slot->username, sizeof(slot->username), "%s", user);
	p11_unlock(p11_g.lock);
	p11_log(P11_LOG_INFO, "login user=%s role=%s", user,
	    coffer_role_name(role));
	rv = CKR_OK;
 out:
	p11_unlock(slot->lock);
	return rv;
}

CK_RV
C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType,
    CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
	struct p11_session *s;
	char *user = NULL, *pw = NULL;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &s)) != CKR_OK)
		return rv;
	if (pPin == NULL) {	/* no protected authentication path */
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if ((rv = pin_split(pPin, ulPinLen, &user, &pw)) != CKR_OK)
		goto out;
	rv = do_login(s, userType, user, pw);
 out:
	sec_free(user);
	sec_free(pw);
	p11_session_put(s);
	return rv;
}

CK_RV
C_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType,
    CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pUsername,
    CK_ULONG ulUsernameLen)
{
	struct p11_session *s;
	char *user = NULL, *pw = NULL;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &s)) != CKR_OK)
		return rv;
	if (pPin == NULL || pUsername == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (ulUsernameLen == 0 || ulUsernameLen > 63 || ulPinLen > 1024) {
		rv = ulUsernameLen == 0 || ulUsernameLen > 63 ?
		    CKR_PIN_INCORRECT : CKR_PIN_LEN_RANGE;
		goto out;
	}
	if ((user = sec_strndup(pUsername, ulUsernameLen)) == NULL ||
	    (pw = sec_strndup(pPin, ulPinLen)) == NULL) {
		rv = CKR_PIN_INVALID;
		goto out;
	}
	rv = do_login(s, userType, user, pw);
 out:
	sec_free(user);
	sec_free(pw);
	p11_session_put(s);
	return rv;
}

CK_RV
C_Logout(CK_SESSION_HANDLE hSession)
{
	struct p11_session *s;
	struct p11_slot *slot;
	size_t i;
	bool was;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &s)) != CKR_OK)
		return rv;
	slot = s->slot;
	p11_session_put(s);
	p11_lock(slot->lock);
	p11_lock(p11_g.lock);
	was = slot->logged_in;
	slot->logged_in = false;
	p11_unlock(p11_g.lock);
	if (!was) {
		p11_unlock(slot->lock);
		return CKR_USER_NOT_LOGGED_IN;
	}
	rv = p11_rv_from_rc(coffer_logout(slot->client));
	p11_unlock(slot->lock);
	/* Operations of the slot's sessions end with the login (§5.6). */
	for (i = 0; i < p11_g.max_sessions; i++) {
		struct p11_session *o;
		size_t k;

		p11_lock(p11_g.lock);
		o = p11_g.sess[i];
		if (o == NULL || o->slot != slot) {
			p11_unlock(p11_g.lock);
			continue;
		}
		o->refs++;
		p11_unlock(p11_g.lock);
		p11_lock(o->lock);
		for (k = 0; k < P11_NOPS; k++)
			p11_op_end(&o->ops[k]);
		p11_session_put(o);
	}
	p11_log(P11_LOG_INFO, "logout");
	return rv == CKR_USER_NOT_LOGGED_IN ? CKR_OK : rv;
}

/* Old PIN "user:old" or "old"; new PIN "new" or "user:new" (same user). */
static char *
pin_password(const CK_UTF8CHAR *pin, CK_ULONG len, const char *user)
{
	size_t ul = strlen(user);

	if (len > ul && memcmp(pin, user, ul) == 0 && pin[ul] == ':')
		return sec_strndup(pin + ul + 1, len - ul - 1);
	return sec_strndup(pin, len);
}

/*
 * C_SetPIN changes the password of the logged-in user (CKU_USER or
 * CKU_SO), or, in a public R/W session, of the CKU_USER named in the old
 * PIN ("user:old"). The old password is checked by a login on a separate,
 * short-lived connection, so a wrong old PIN leaves the application's
 * login untouched (PKCS#11: CKR_PIN_INCORRECT, nothing else changes). The
 * change itself goes through the slot's client when logged in, which
 * also updates the password libcoffer uses to log reconnections in.
 * PINs may be "user:password" or just the password.
 */
CK_RV
C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin,
    CK_ULONG ulOldLen, CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen)
{
	struct p11_session *s;
	struct p11_slot *slot;
	struct coffer_client *tmp = NULL;
	char user[64], *ouser = NULL, *oldpw = NULL, *newpw = NULL;
	char err[128];
	bool logged_in;
	CK_USER_TYPE type;
	int rc, role = COFFER_ROLE_NONE;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &s)) != CKR_OK)
		return rv;
	slot = s->slot;
	if (pOldPin == NULL || pNewPin == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (!(s->flags & CKF_RW_SESSION)) {
		rv = CKR_SESSION_READ_ONLY;
		goto out;
	}
	if (ulOldLen == 0 || ulOldLen > 1024 || ulNewLen == 0 ||
	    ulNewLen > 1024) {
		rv = CKR_PIN_LEN_RANGE;
		goto out;
	}
	p11_lock(slot->lock);
	p11_lock(p11_g.lock);
	logged_in = slot->logged_in;
	type = logged_in ? slot->user : CKU_USER;
	memcpy(user, slot->username, sizeof(user));
	p11_unlock(p11_g.lock);
	if (logged_in) {
		oldpw = pin_password(pOldPin, ulOldLen, user);
	} else if ((rv = pin_split(pOldPin, ulOldLen, &ouser, &oldpw)) ==
	    CKR_OK && strlen(ouser) < sizeof(user)) {
		memcpy(user, ouser, strlen(ouser) + 1);
	} else {
		if (rv == CKR_OK)
			rv = CKR_PIN_INCORRECT;	/* no such user */
		goto unlock;
	}
	if (oldpw == NULL ||
	    (newpw = pin_password(pNewPin, ulNewLen, user)) == NULL ||
	    *newpw == '\0') {
		rv = CKR_PIN_INVALID;
		goto unlock;
	}
	if ((rc = coffer_client_new(slot->cfg, &tmp, err, sizeof(err))) !=
	    0) {
		p11_log(P11_LOG_WARN, "set pin: connect: %s", err);
		rv = p11_rv_from_rc(rc);
		goto unlock;
	}
	rc = coffer_login(tmp, user, oldpw, &role);
	if (rc == 0 && role != (type == CKU_SO ? COFFER_ROLE_CO :
	    COFFER_ROLE_CU))
		rc = COFFER_E_AUTH;
	if (rc == 0)
		rc = coffer_user_change_password(logged_in ? slot->client :
		    tmp, NULL, newpw);
	p11_log(P11_LOG_INFO, "set pin user=%s: %s", user, coffer_errname(rc));
	rv = p11_rv_from_rc(rc);
	if (rc == COFFER_E_AUTH || rc == COFFER_E_NOTFOUND)
		rv = CKR_PIN_INCORRECT;
 unlock:
	p11_unlock(slot->lock);
 out:
	if (tmp != NULL) {
		(void)coffer_logout(tmp);
		coffer_client_free(tmp);
	}
	sec_free(ouser);
	sec_free(oldpw);
	sec_free(newpw);
	p11_session_put(s);
	return rv;
}

CK_RV
C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
	struct p11_session *s;
	char *user = NULL, *pw = NULL;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &s)) != CKR_OK)
		return rv;
	if (pPin == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	p11_lock(p11_g.lock);
	rv = p11_session_state(s) == CKS_RW_SO_FUNCTIONS ? CKR_OK :
	    CKR_USER_NOT_LOGGED_IN;
	p11_unlock(p11_g.lock);
	if (rv != CKR_OK)
		goto out;
	/* "user:newpassword": the CO sets a crypto user's password. */
	if ((rv = pin_split(pPin, ulPinLen, &user, &pw)) != CKR_OK) {
		if (rv == CKR_PIN_INCORRECT)
			rv = CKR_PIN_INVALID;
		goto out;
	}
	rv = p11_rv_from_rc(coffer_user_change_password(s->slot->client, user,
	    pw));
	if (rv == CKR_OBJECT_HANDLE_INVALID)
		rv = CKR_PIN_INVALID;	/* no such user */
 out:
	sec_free(user);
	sec_free(pw);
	p11_session_put(s);
	return rv;
}
