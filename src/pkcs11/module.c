/* SPDX-License-Identifier: Apache-2.0 */
/*
 * module.c: C_Initialize/C_Finalize, locking, fork detection, the 2.40 and
 * 3.0 function lists and interfaces, slot, token and mechanism information.
 *
 * Fork: the pid is stored at C_Initialize; in a child every call but
 * C_Initialize returns CKR_CRYPTOKI_NOT_INITIALIZED, and C_Initialize there
 * drops (leaks) the parent's state without touching it, because its
 * sockets and TLS sessions belong to the parent.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p11.h"

struct p11_global p11_g;

/* Serialises C_Initialize/C_Finalize themselves (before any callbacks). */
static pthread_mutex_t init_mu = PTHREAD_MUTEX_INITIALIZER;

/* --- locks ------------------------------------------------------------- */
static CK_RV
os_create(void **m)
{
	pthread_mutex_t *p;

	if (m == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return CKR_HOST_MEMORY;
	if (pthread_mutex_init(p, NULL) != 0) {
		free(p);
		return CKR_GENERAL_ERROR;
	}
	*m = p;
	return CKR_OK;
}

static CK_RV
os_destroy(void *m)
{
	pthread_mutex_destroy(m);
	free(m);
	return CKR_OK;
}

static CK_RV
os_lock(void *m)
{
	return pthread_mutex_lock(m) == 0 ? CKR_OK : CKR_GENERAL_ERROR;
}

static CK_RV
os_unlock(void *m)
{
	return pthread_mutex_unlock(m) == 0 ? CKR_OK : CKR_GENERAL_ERROR;
}

int
p11_mutex_new(void **m)
{
	*m = NULL;
	return p11_g.create_mutex(m) == CKR_OK ? 0 : COFFER_E_NOMEM;
}

void
p11_mutex_free(void *m)
{
	if (m != NULL)
		p11_g.destroy_mutex(m);
}

void
p11_lock(void *m)
{
	if (p11_g.lock_mutex(m) != CKR_OK)
		p11_log(P11_LOG_ERROR, "application LockMutex failed");
}

void
p11_unlock(void *m)
{
	if (p11_g.unlock_mutex(m) != CKR_OK)
		p11_log(P11_LOG_ERROR, "application UnlockMutex failed");
}

/*
 * Bumped in the child of every fork(): every call checks it instead of
 * making a getpid() system call (glibc does not cache the pid).
 */
static atomic_uint p11_forks;
static pthread_once_t p11_forks_once = PTHREAD_ONCE_INIT;

static void
p11_on_fork_child(void)
{
	atomic_fetch_add(&p11_forks, 1);
}

static void
p11_forks_init(void)
{
	(void)pthread_atfork(NULL, NULL, p11_on_fork_child);
}

CK_RV
p11_check_init(void)
{
	if (!p11_g.init || p11_g.forks != atomic_load(&p11_forks))
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	return CKR_OK;
}

void
p11_pad(CK_UTF8CHAR *dst, size_t n, const char *src)
{
	size_t l = strlen(src);

	if (l > n)
		l = n;
	memcpy(dst, src, l);
	memset(dst + l, ' ', n - l);
}

/* --- C_Initialize / C_Finalize ------------------------------------------ */
static void
slots_free(struct p11_slot *slots, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		coffer_client_free(slots[i].client);
		coffer_config_free(slots[i].cfg);
		free(slots[i].mechs);
		p11_mutex_free(slots[i].lock);
	}
	free(slots);
}

CK_RV
C_Initialize(CK_VOID_PTR pInitArgs)
{
	CK_C_INITIALIZE_ARGS *a = pInitArgs;
	struct p11_conf conf = { 0 };
	char err[512] = "";
	const char *logenv;
	size_t i;
	int ncb;
	CK_RV rv = CKR_GENERAL_ERROR;

	pthread_mutex_lock(&init_mu);
	if (p11_g.init && p11_g.pid == getpid()) {
		rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
		goto out;
	}
	/* In a forked child the parent's state is abandoned, not freed. */
	p11_g = (struct p11_global){ 0 };
	p11_g.create_mutex = os_create;
	p11_g.destroy_mutex = os_destroy;
	p11_g.lock_mutex = os_lock;
	p11_g.unlock_mutex = os_unlock;
	if (a != NULL) {
		if (a->pReserved != NULL) {
			rv = CKR_ARGUMENTS_BAD;
			goto out;
		}
		ncb = (a->CreateMutex != NULL) + (a->DestroyMutex != NULL) +
		    (a->LockMutex != NULL) + (a->UnlockMutex != NULL);
		if (ncb != 0 && ncb != 4) {
			rv = CKR_ARGUMENTS_BAD;
			goto out;
		}
		/* Callbacks without CKF_OS_LOCKING_OK: we must use them. */
		if (ncb == 4 && !(a->flags & CKF_OS_LOCKING_OK)) {
			p11_g.create_mutex = a->CreateMutex;
			p11_g.destroy_mutex = a->DestroyMutex;
			p11_g.lock_mutex = a->LockMutex;
			p11_g.unlock_mutex = a->UnlockMutex;
		}
	}
	logenv = getenv("COFFER_PKCS11_LOG");
	if (p11_conf_load(NULL, &conf, err, sizeof(err)) != 0) {
		p11_log_open(logenv, P11_LOG_DEBUG);
		p11_log(P11_LOG_ERROR, "configuration: %s", err);
		rv = CKR_GENERAL_ERROR;
		goto out;
	}
	p11_log_open(logenv != NULL ? logenv : conf.log_file, conf.log_level);
	if (p11_mutex_new(&p11_g.lock) != 0) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	p11_g.max_sessions = conf.max_sessions;
	if ((p11_g.sess = calloc(conf.max_sessions, sizeof(*p11_g.sess))) ==
	    NULL || (p11_g.slots = calloc(conf.nslots,
	    sizeof(*p11_g.slots))) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	p11_g.nslots = conf.nslots;
	for (i = 0; i < conf.nslots; i++) {
		struct p11_slot *s = &p11_g.slots[i];

		s->id = i;
		memcpy(s->label, conf.slots[i].label, sizeof(s->label));
		s->cfg = conf.slots[i].cfg;
		conf.slots[i].cfg = NULL;
		if (p11_mutex_new(&s->lock) != 0) {
			rv = CKR_HOST_MEMORY;
			goto out;
		}
	}
	(void)pthread_once(&p11_forks_once, p11_forks_init);
	p11_g.pid = getpid();
	p11_g.forks = atomic_load(&p11_forks);
	p11_g.init = true;
	/* Connect now so that the first C_GetSlotList sees the tokens;
	 * a cluster that is down is "token not present", retried later. */
	for (i = 0; i < p11_g.nslots; i++)
		(void)p11_slot_connect(&p11_g.slots[i]);
	p11_log(P11_LOG_INFO, "initialized: %zu slot(s), %s locking",
	    p11_g.nslots, p11_g.lock_mutex == os_lock ? "OS" : "application");
	rv = CKR_OK;
 out:
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		slots_free(p11_g.slots, p11_g.nslots);
		free(p11_g.sess);
		p11_mutex_free(p11_g.lock);
		p11_g = (struct p11_global){ 0 };
	}
	p11_conf_clear(&conf);
	pthread_mutex_unlock(&init_mu);
	return rv;
}

CK_RV
C_Finalize(CK_VOID_PTR pReserved)
{
	size_t i;
	CK_RV rv;

	pthread_mutex_lock(&init_mu);
	if ((rv = p11_check_init()) != CKR_OK)
		goto out;
	if (pReserved != NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	for (i = 0; i < p11_g.nslots; i++)
		p11_session_close_all(&p11_g.slots[i], true);
	p11_lock(p11_g.lock);
	p11_g.init = false;
	p11_unlock(p11_g.lock);
	slots_free(p11_g.slots, p11_g.nslots);
	free(p11_g.sess);
	p11_mutex_free(p11_g.lock);
	p11_log(P11_LOG_INFO, "finalized");
	p11_log_close();
	p11_g = (struct p11_global){ 0 };
	rv = CKR_OK;
 out:
	pthread_mutex_unlock(&init_mu);
	return rv;
}

CK_RV
C_GetInfo(CK_INFO_PTR pInfo)
{
	CK_RV rv;

	if ((rv = p11_check_init()) != CKR_OK)
		return rv;
	if (pInfo == NULL)
		return CKR_ARGUMENTS_BAD;
	*pInfo = (CK_INFO){ 0 };
	pInfo->cryptokiVersion.major = 3;
	pInfo->cryptokiVersion.minor = 0;
	p11_pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID),
	    P11_MANUFACTURER);
	p11_pad(pInfo->libraryDescription, sizeof(pInfo->libraryDescription),
	    "Coffer PKCS#11 module");
	pInfo->libraryVersion.major = 0;
	pInfo->libraryVersion.minor = 1;
	return CKR_OK;
}

/* --- slots and tokens ----------------------------------------------------- */
CK_RV
p11_slot_get(CK_SLOT_ID id, struct p11_slot **out)
{
	*out = NULL;
	if (id >= p11_g.nslots)
		return CKR_SLOT_ID_INVALID;
	*out = &p11_g.slots[id];
	return CKR_OK;
}

CK_RV
p11_slot_connect(struct p11_slot *s)
{
	struct coffer_client *c = NULL;
	char err[256] = "";
	int rc;
	CK_RV rv = CKR_OK;

	p11_lock(s->lock);
	if (s->client != NULL)
		goto out;
	if ((rc = coffer_client_new(s->cfg, &c, err, sizeof(err))) != 0) {
		/* Warn once; retries (every slot call) log at debug. */
		p11_log(s->warned ? P11_LOG_DEBUG : P11_LOG_WARN,
		    "slot %lu (%s): cannot connect: %s (%s)", s->id, s->label,
		    coffer_errname(rc), err);
		s->warned = true;
		rv = rc == COFFER_E_NOMEM ? CKR_HOST_MEMORY :
		    CKR_TOKEN_NOT_PRESENT;
		goto out;
	}
	s->client = c;
	s->warned = false;
	if ((rc = coffer_get_info(c, &s->info)) == 0)
		s->have_info = true;
	else
		p11_log(P11_LOG_WARN, "slot %lu: get_info: %s", s->id,
		    coffer_errname(rc));
	p11_log(P11_LOG_INFO, "slot %lu (%s): connected, cluster %s", s->id,
	    s->label, s->have_info ? s->info.cluster_id : "?");
 out:
	p11_unlock(s->lock);
	return rv;
}

/* Token present: connected and the node serves (ACTIVE). */
static bool
token_present(struct p11_slot *s)
{
	if (p11_slot_connect(s) != CKR_OK)
		return false;
	return !s->have_info || s->info.state == COFFER_STATE_ACTIVE;
}

CK_RV
C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList,
    CK_ULONG_PTR pulCount)
{
	CK_SLOT_ID ids[P11_MAX_SLOTS];
	CK_ULONG n = 0, i;
	CK_RV rv;

	if ((rv = p11_check_init()) != CKR_OK)
		return rv;
	if (pulCount == NULL)
		return CKR_ARGUMENTS_BAD;
	for (i = 0; i < p11_g.nslots; i++)
		if (!tokenPresent || token_present(&p11_g.slots[i]))
			ids[n++] = i;
	if (pSlotList == NULL) {
		*pulCount = n;
		return CKR_OK;
	}
	if (*pulCount < n) {
		*pulCount = n;
		return CKR_BUFFER_TOO_SMALL;
	}
	for (i = 0; i < n; i++)
		pSlotList[i] = ids[i];
	*pulCount = n;
	return CKR_OK;
}

CK_RV
C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
	struct p11_slot *s;
	char desc[128];
	CK_RV rv;

	if ((rv = p11_check_init()) != CKR_OK)
		return rv;
	if ((rv = p11_slot_get(slotID, &s)) != CKR_OK)
		return rv;
	if (pInfo == NULL)
		return CKR_ARGUMENTS_BAD;
	*pInfo = (CK_SLOT_INFO){ 0 };
	snprintf(desc, sizeof(desc), "Coffer cluster %s", s->label);
	p11_pad(pInfo->slotDescription, sizeof(pInfo->slotDescription), desc);
	p11_pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID),
	    P11_MANUFACTURER);
	pInfo->flags = CKF_HW_SLOT | CKF_REMOVABLE_DEVICE;
	if (token_present(s))
		pInfo->flags |= CKF_TOKEN_PRESENT;
	pInfo->hardwareVersion.major = 0;
	pInfo->hardwareVersion.minor = 1;
	pInfo->firmwareVersion.major = 0;
	pInfo->firmwareVersion.minor = 1;
	return CKR_OK;
}

static void
version_parse(const char *v, CK_VERSION *out)
{
	unsigned maj = 0, min = 0;

	if (sscanf(v, "%u.%u", &maj, &min) >= 1) {
		out->major = (CK_BYTE)maj;
		out->minor = (CK_BYTE)min;
	}
}

CK_RV
C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
	struct p11_slot *s;
	struct coffer_info info;
	char serial[17];
	CK_RV rv;

	if ((rv = p11_check_init()) != CKR_OK)
		return rv;
	if ((rv = p11_slot_get(slotID, &s)) != CKR_OK)
		return rv;
	if (pInfo == NULL)
		return CKR_ARGUMENTS_BAD;
	if (!token_present(s))
		return CKR_TOKEN_NOT_PRESENT;
	if (coffer_get_info(s->client, &info) == 0) {
		p11_lock(s->lock);
		s->info = info;
		s->have_info = true;
		p11_unlock(s->lock);
	} else {
		p11_lock(s->lock);
		info = s->info;
		p11_unlock(s->lock);
	}
	*pInfo = (CK_TOKEN_INFO){ 0 };
	p11_pad(pInfo->label, sizeof(pInfo->label), s->label);
	p11_pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID),
	    P11_MANUFACTURER);
	p11_pad(pInfo->model, sizeof(pInfo->model), P11_MODEL);
	snprintf(serial, sizeof(serial), "%.16s",
	    info.cluster_id[0] ? info.cluster_id : "0");
	p11_pad(pInfo->serialNumber, sizeof(pInfo->serialNumber), serial);
	pInfo->flags = CKF_RNG | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED |
	    CKF_TOKEN_INITIALIZED;
	pInfo->ulMaxSessionCount = p11_g.max_sessions;
	pInfo->ulMaxRwSessionCount = p11_g.max_sessions;
	p11_lock(p11_g.lock);
	pInfo->ulSessionCount = s->nsessions;
	pInfo->ulRwSessionCount = s->nrw;
	p11_unlock(p11_g.lock);
	/* PIN = "user:password"; Coffer passwords are 8..128 bytes. */
	pInfo->ulMaxPinLen = 64 + 1 + 128;
	pInfo->ulMinPinLen = 1;
	pInfo->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
	version_parse(info.version, &pInfo->hardwareVersion);
	version_parse(info.version, &pInfo->firmwareVersion);
	p11_pad(pInfo->utcTime, sizeof(pInfo->utcTime), "");
	return CKR_OK;
}

/* Fetches the mechanism list once per slot (it does not change). */
static CK_RV
mechs_load(struct p11_slot *s)
{
	struct coffer_mech_info *list = NULL;
	size_t n = 0;
	int rc;
	CK_RV rv = CKR_OK;

	if (!token_present(s))
		return CKR_TOKEN_NOT_PRESENT;
	p11_lock(s->lock);
	if (s->mechs != NULL)
		goto out;
	if ((rc = coffer_mechanisms(s->client, &list, &n)) != 0) {
		p11_log(P11_LOG_WARN, "slot %lu: mechanisms: %s", s->id,
		    coffer_errname(rc));
		rv = p11_rv_from_rc(rc);
		goto out;
	}
	if (n == 0) {
		coffer_free(list, 0);
		goto out;
	}
	if ((s->mechs = malloc(n * sizeof(*list))) == NULL) {
		coffer_free(list, 0);
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	memcpy(s->mechs, list, n * sizeof(*list));
	s->nmechs = n;
	coffer_free(list, 0);
 out:
	p11_unlock(s->lock);
	return rv;
}

CK_RV
p11_mech_check(struct p11_slot *s, CK_MECHANISM_TYPE type, CK_FLAGS need)
{
	size_t i;
	CK_RV rv;

	/* Loaded once per slot and never changed until C_Finalize: after
	 * the first load no lock is needed (the acquire pairs with the
	 * release below). */
	if (!__atomic_load_n(&s->mechs_ready, __ATOMIC_ACQUIRE)) {
		if ((rv = mechs_load(s)) != CKR_OK)
			return rv;
		__atomic_store_n(&s->mechs_ready, true, __ATOMIC_RELEASE);
	}
	for (i = 0; i < s->nmechs; i++)
		if (s->mechs[i].type == type)
			return (s->mechs[i].flags & need) == need ? CKR_OK :
			    CKR_MECHANISM_INVALID;
	return CKR_MECHANISM_INVALID;
}

CK_RV
C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pList,
    CK_ULONG_PTR pulCount)
{
	struct p11_slot *s;
	size_t i;
	CK_RV rv;

	if ((rv = p11_check_init()) != CKR_OK)
		return rv;
	if ((rv = p11_slot_get(slotID, &s)) != CKR_OK)
		return rv;
	if (pulCount == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = mechs_load(s)) != CKR_OK)
		return rv;
	if (pList == NULL) {
		*pulCount = s->nmechs;
		return CKR_OK;
	}
	if (*pulCount < s->nmechs) {
		*pulCount = s->nmechs;
		return CKR_BUFFER_TOO_SMALL;
	}
	for (i = 0; i < s->nmechs; i++)
		pList[i] = s->mechs[i].type;
	*pulCount = s->nmechs;
	return CKR_OK;
}

CK_RV
C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type,
    CK_MECHANISM_INFO_PTR pInfo)
{
	struct p11_slot *s;
	size_t i;
	CK_RV rv;

	if ((rv = p11_check_init()) != CKR_OK)
		return rv;
	if ((rv = p11_slot_get(slotID, &s)) != CKR_OK)
		return rv;
	if (pInfo == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = mechs_load(s)) != CKR_OK)
		return rv;
	for (i = 0; i < s->nmechs; i++) {
		if (s->mechs[i].type != type)
			continue;
		pInfo->ulMinKeySize = s->mechs[i].min_key;
		pInfo->ulMaxKeySize = s->mechs[i].max_key;
		pInfo->flags = s->mechs[i].flags;
		return CKR_OK;
	}
	return CKR_MECHANISM_INVALID;
}

CK_RV
C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pRsv)
{
	CK_RV rv;

	if ((rv = p11_check_init()) != CKR_OK)
		return rv;
	if (pSlot == NULL || pRsv != NULL)
		return CKR_ARGUMENTS_BAD;
	/* Cluster slots are fixed by the configuration: no events. */
	if (flags & CKF_DONT_BLOCK)
		return CKR_NO_EVENT;
	return CKR_FUNCTION_NOT_SUPPORTED;
}

/* --- function lists and interfaces --------------------------------------- */
#define P11_FUNCS_240                                                       \
	C_Initialize, C_Finalize, C_GetInfo, C_GetFunctionList,             \
	C_GetSlotList, C_GetSlotInfo, C_GetTokenInfo, C_GetMechanismList,   \
	C_GetMechanismInfo, C_InitToken, C_InitPIN, C_SetPIN,               \
	C_OpenSession, C_CloseSession, C_CloseAllSessions,                  \
	C_GetSessionInfo, C_GetOperationState, C_SetOperationState,         \
	C_Login, C_Logout, C_CreateObject, C_CopyObject, C_DestroyObject,   \
	C_GetObjectSize, C_GetAttributeValue, C_SetAttributeValue,          \
	C_FindObjectsInit, C_FindObjects, C_FindObjectsFinal,               \
	C_EncryptInit, C_Encrypt, C_EncryptUpdate, C_EncryptFinal,          \
	C_DecryptInit, C_Decrypt, C_DecryptUpdate, C_DecryptFinal,          \
	C_DigestInit, C_Digest, C_DigestUpdate, C_DigestKey,                \
	C_DigestFinal, C_SignInit, C_Sign, C_SignUpdate, C_SignFinal,       \
	C_SignRecoverInit, C_SignRecover, C_VerifyInit, C_Verify,           \
	C_VerifyUpdate, C_VerifyFinal, C_VerifyRecoverInit,                 \
	C_VerifyRecover, C_DigestEncryptUpdate, C_DecryptDigestUpdate,      \
	C_SignEncryptUpdate, C_DecryptVerifyUpdate, C_GenerateKey,          \
	C_GenerateKeyPair, C_WrapKey, C_UnwrapKey, C_DeriveKey,             \
	C_SeedRandom, C_GenerateRandom, C_GetFunctionStatus,                \
	C_CancelFunction, C_WaitForSlotEvent

CK_FUNCTION_LIST p11_functions_240 = { { 2, 40 }, P11_FUNCS_240 };

CK_FUNCTION_LIST_3_0 p11_functions_30 = { { 3, 0 }, P11_FUNCS_240,
	C_GetInterfaceList, C_GetInterface, C_LoginUser, C_SessionCancel,
	C_MessageEncryptInit, C_EncryptMessage, C_EncryptMessageBegin,
	C_EncryptMessageNext, C_MessageEncryptFinal, C_MessageDecryptInit,
	C_DecryptMessage, C_DecryptMessageBegin, C_DecryptMessageNext,
	C_MessageDecryptFinal, C_MessageSignInit, C_SignMessage,
	C_SignMessageBegin, C_SignMessageNext, C_MessageSignFinal,
	C_MessageVerifyInit, C_VerifyMessage, C_VerifyMessageBegin,
	C_VerifyMessageNext, C_MessageVerifyFinal };

static CK_CHAR iface_name[] = "PKCS 11";

/* 3.0 first: it is the default interface. */
static CK_INTERFACE interfaces[] = {
	{ iface_name, &p11_functions_30, 0 },
	{ iface_name, &p11_functions_240, 0 },
};
#define NIFACES (sizeof(interfaces) / sizeof(interfaces[0]))

CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
	if (ppFunctionList == NULL)
		return CKR_ARGUMENTS_BAD;
	*ppFunctionList = &p11_functions_240;
	return CKR_OK;
}

CK_RV
C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount)
{
	size_t i;

	if (pulCount == NULL)
		return CKR_ARGUMENTS_BAD;
	if (pInterfacesList == NULL) {
		*pulCount = NIFACES;
		return CKR_OK;
	}
	if (*pulCount < NIFACES) {
		*pulCount = NIFACES;
		return CKR_BUFFER_TOO_SMALL;
	}
	for (i = 0; i < NIFACES; i++)
		pInterfacesList[i] = interfaces[i];
	*pulCount = NIFACES;
	return CKR_OK;
}

CK_RV
C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
    CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags)
{
	const CK_VERSION *v;
	size_t i;

	if (ppInterface == NULL)
		return CKR_ARGUMENTS_BAD;
	for (i = 0; i < NIFACES; i++) {
		if (pInterfaceName != NULL && strcmp((const char *)pInterfaceName,
		    (const char *)interfaces[i].pInterfaceName) != 0)
			continue;
		v = interfaces[i].pFunctionList;	/* version is first */
		if (pVersion != NULL && (pVersion->major != v->major ||
		    pVersion->minor != v->minor))
			continue;
		if ((interfaces[i].flags & flags) != flags)
			continue;
		*ppInterface = &interfaces[i];
		return CKR_OK;
	}
	return CKR_ARGUMENTS_BAD;
}
