/* SPDX-License-Identifier: Apache-2.0 */
/*
 * object.c: object management and search. Templates go to libcoffer as
 * they are (coffer_objects.h takes CK_ATTRIBUTE arrays). Read-only
 * sessions may make and change session objects only (PKCS#11 2.40 §5.6).
 * Session objects made through a session are destroyed when it closes.
 * C_FindObjectsInit takes a snapshot of the matching handles.
 */
#include <stdlib.h>
#include <string.h>

#include "p11.h"

CK_RV
p11_tmpl_check(const CK_ATTRIBUTE *t, CK_ULONG n)
{
	CK_ULONG i;

	if (t == NULL && n > 0)
		return CKR_ARGUMENTS_BAD;
	for (i = 0; i < n; i++)
		if (t[i].pValue == NULL && t[i].ulValueLen > 0)
			return CKR_ATTRIBUTE_VALUE_INVALID;
	return CKR_OK;
}

bool
p11_tmpl_is_token(const CK_ATTRIBUTE *t, CK_ULONG n)
{
	CK_ULONG i;

	for (i = 0; i < n; i++)
		if (t[i].type == CKA_TOKEN && t[i].ulValueLen ==
		    sizeof(CK_BBOOL) && t[i].pValue != NULL)
			return *(CK_BBOOL *)t[i].pValue != CK_FALSE;
	return false;
}

/* Whether an existing object is a token object (CKA_TOKEN). */
static CK_RV
obj_is_token(struct p11_session *s, CK_OBJECT_HANDLE h, bool *tok)
{
	CK_BBOOL b = CK_FALSE;
	CK_ATTRIBUTE a = { CKA_TOKEN, &b, sizeof(b) };
	int rc;

	*tok = false;
	if (h == CK_INVALID_HANDLE)
		return CKR_OBJECT_HANDLE_INVALID;
	if ((rc = coffer_get_attributes(s->slot->client, h, &a, 1)) != 0)
		return p11_rv_from_rc(rc);
	*tok = b != CK_FALSE;
	return CKR_OK;
}

/* RO session writing a token object → CKR_SESSION_READ_ONLY. */
static CK_RV
ro_check(struct p11_session *s, bool token)
{
	if (token && !(s->flags & CKF_RW_SESSION))
		return CKR_SESSION_READ_ONLY;
	return CKR_OK;
}

CK_RV
C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
    CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phObject)
{
	struct p11_session *s;
	uint64_t h = 0;
	bool tok;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &s)) != CKR_OK)
		return rv;
	if (phObject == NULL || pTemplate == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if ((rv = p11_tmpl_check(pTemplate, ulCount)) != CKR_OK)
		goto out;
	tok = p11_tmpl_is_token(pTemplate, ulCount);
	if ((rv = ro_check(s, tok)) != CKR_OK)
		goto out;
	rv = p11_rv_from_rc(coffer_create_object(s->slot->client, pTemplate,
	    ulCount, &h));
	if (rv == CKR_OK) {
		*phObject = h;
		if (!tok)
			p11_session_track(s, h);
	}
 out:
	p11_session_put(s);
	return rv;
}

CK_RV
C_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
    CK_OBJECT_HANDLE_PTR phNewObject)
{
	struct p11_session *s;
	uint64_t h = 0;
	bool tok;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &s)) != CKR_OK)
		return rv;
	if (phNewObject == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if ((rv = p11_tmpl_check(pTemplate, ulCount)) != CKR_OK)
		goto out;
	if ((rv = ro_check(s, p11_tmpl_is_token(pTemplate, ulCount))) !=
	    CKR_OK)
		goto out;
	rv = p11_rv_from_rc(coffer_copy_object(s->slot->client, hObject,
	    pTemplate, ulCount, &h));
	if (rv != CKR_OK)
		goto out;
	/* The copy may inherit CKA_TOKEN: ask. */
	if (obj_is_token(s, h, &tok) != CKR_OK)
		tok = false;
	if (tok && !(s->flags & CKF_RW_SESSION)) {
		(void)coffer_destroy_object(s->slot->client, h);
		rv = CKR_SESSION_READ_ONLY;
		goto out;
	}
	if (!tok)
		p11_session_track(s, h);
	*phNewObject = h;
 out:
	p11_session_put(s);
	return rv;
}

CK_RV
C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
	struct p11_session *s;
	bool tok = false;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &s)) != CKR_OK)
		return rv;
	if (hObject == CK_INVALID_HANDLE) {
		rv = CKR_OBJECT_HANDLE_INVALID;
		goto out;
	}
	if (!(s->flags & CKF_RW_SESSION)) {
		if ((rv = obj_is_token(s, hObject, &tok)) != CKR_OK ||
		    (rv = ro_check(s, tok)) != CKR_OK)
			goto out;
	}
	rv = p11_rv_from_rc(coffer_destroy_object(s->slot->client, hObject));
	if (rv == CKR_OK)
		p11_session_untrack(s, hObject);
 out:
	p11_session_put(s);
	return rv;
}

CK_RV
C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
    CK_ULONG_PTR pulSize)
{
	struct p11_session *s;
	bool tok;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &s)) != CKR_OK)
		return rv;
	if (pulSize == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	/* The handle must exist; the size is not disclosed (§5.7). */
	if ((rv = obj_is_token(s, hObject, &tok)) == CKR_OK)
		*pulSize = CK_UNAVAILABLE_INFORMATION;
 out:
	p11_session_put(s);
	return rv;
}

CK_RV
C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	struct p11_session *s;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &s)) != CKR_OK)
		return rv;
	if (pTemplate == NULL && ulCount > 0) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (hObject == CK_INVALID_HANDLE) {
		rv = CKR_OBJECT_HANDLE_INVALID;
		goto out;
	}
	rv = p11_rv_from_rc(coffer_get_attributes(s->slot->client, hObject,
	    pTemplate, ulCount));
 out:
	p11_session_put(s);
	return rv;
}

CK_RV
C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	struct p11_session *s;
	bool tok;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &s)) != CKR_OK)
		return rv;
	if (pTemplate == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if ((rv = p11_tmpl_check(pTemplate, ulCount)) != CKR_OK)
		goto out;
	if (hObject == CK_INVALID_HANDLE) {
		rv = CKR_OBJECT_HANDLE_INVALID;
		goto out;
	}
	if (!(s->flags & CKF_RW_SESSION)) {
		if ((rv = obj_is_token(s, hObject, &tok)) != CKR_OK ||
		    (rv = ro_check(s, tok)) != CKR_OK)
			goto out;
	}
	rv = p11_rv_from_rc(coffer_set_attributes(s->slot->client, hObject,
	    pTemplate, ulCount));
 out:
	p11_session_put(s);
	return rv;
}

CK_RV
C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
    CK_ULONG ulCount)
{
	struct p11_session *s;
	uint64_t *h = NULL;
	size_t n = 0;
	int rc;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &s)) != CKR_OK)
		return rv;
	if (pTemplate == NULL && ulCount > 0) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if ((rv = p11_tmpl_check(pTemplate, ulCount)) != CKR_OK)
		goto out;
	if (s->find_active) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	rc = coffer_find_objects(s->slot->client, pTemplate, ulCount, &h, &n);
	if (rc == COFFER_E_NOTLOGGEDIN || rc == COFFER_E_ROLE) {
		/* A public session sees no objects: Coffer has no public
		 * token objects. */
		rc = 0;
		n = 0;
	} else if (rc != 0) {
		rv = p11_rv_from_rc(rc);
		goto out;
	}
	free(s->found);
	s->found = NULL;
	if (n > 0) {
		if ((s->found = calloc(n, sizeof(*s->found))) == NULL) {
			coffer_free(h, 0);
			rv = CKR_HOST_MEMORY;
			goto out;
		}
		memcpy(s->found, h, n * sizeof(*h));
	}
	coffer_free(h, 0);
	s->nfound = n;
	s->found_pos = 0;
	s->find_active = true;
	rv = CKR_OK;
 out:
	p11_session_put(s);
	return rv;
}

CK_RV
C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
    CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
	struct p11_session *s;
	CK_ULONG n = 0;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &s)) != CKR_OK)
		return rv;
	if (!s->find_active) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto out;
	}
	if (phObject == NULL || pulObjectCount == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	while (n < ulMaxObjectCount && s->found_pos < s->nfound)
		phObject[n++] = s->found[s->found_pos++];
	*pulObjectCount = n;
 out:
	p11_session_put(s);
	return rv;
}

CK_RV
C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
	struct p11_session *s;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &s)) != CKR_OK)
		return rv;
	if (!s->find_active) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto out;
	}
	free(s->found);
	s->found = NULL;
	s->nfound = s->found_pos = 0;
	s->find_active = false;
 out:
	p11_session_put(s);
	return rv;
}
