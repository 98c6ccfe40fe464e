/* SPDX-License-Identifier: Apache-2.0 */
/*
 * p11conf: a module-agnostic PKCS#11 conformance test. Loads any module by
 * path and checks return codes against PKCS#11 2.40/3.0: library, slot,
 * token and mechanism information; session and login states; attribute
 * semantics (sensitive, unknown, too small, per attribute); object
 * management; operation state and output-length rules; bad arguments
 * (NULL pointers, wrong lengths, invalid handles); key derivation (ECDH,
 * SP 800-108) checked against OpenSSL; threads and fork.
 * It runs against Coffer and SoftHSMv2; documented differences are
 * skipped by name with --skip. Prints "N passed, N failed, N skipped".
 *
 *   p11conf --module lib.so --pin PIN [--slot N] [--so-pin PIN]
 *           [--skip name,prefix*,...] [--sessions N] [--verbose]
 */
#include <dlfcn.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <p11-kit/pkcs11.h>

#ifndef CKM_SHA3_256_RSA_PKCS_PSS
#define CKM_SHA3_256_RSA_PKCS_PSS	(0x67UL)	/* PKCS#11 3.0 */
#endif

/* 3.0 interface structure (p11-kit 0.24's header predates it). */
struct iface {
	CK_CHAR *name;
	void *funcs;
	CK_FLAGS flags;
};
typedef CK_RV (*get_iface_list_fn)(struct iface *, CK_ULONG *);
typedef CK_RV (*get_iface_fn)(CK_UTF8CHAR *, CK_VERSION *, struct iface **,
    CK_FLAGS);

static CK_FUNCTION_LIST *f;
static void *dl;
static CK_SLOT_ID slot;
static bool have_slot;
static const char *pin, *so_pin;
static char skip[4096];
static bool verbose;
static int npass, nfail, nskip;
static unsigned nsessions = 1024;
static CK_MECHANISM_TYPE *mechs;
static CK_ULONG nmechs;

static const struct {
	CK_RV rv;
	const char *name;
} rv_names[] = {
#define R(x) { x, #x }
	R(CKR_OK), R(CKR_HOST_MEMORY), R(CKR_SLOT_ID_INVALID),
	R(CKR_GENERAL_ERROR), R(CKR_FUNCTION_FAILED), R(CKR_ARGUMENTS_BAD),
	R(CKR_NO_EVENT), R(CKR_ATTRIBUTE_READ_ONLY),
	R(CKR_ATTRIBUTE_SENSITIVE), R(CKR_ATTRIBUTE_TYPE_INVALID),
	R(CKR_ATTRIBUTE_VALUE_INVALID), R(CKR_ACTION_PROHIBITED),
	R(CKR_DATA_INVALID), R(CKR_DATA_LEN_RANGE), R(CKR_DEVICE_ERROR),
	R(CKR_DEVICE_MEMORY), R(CKR_DEVICE_REMOVED),
	R(CKR_ENCRYPTED_DATA_INVALID), R(CKR_ENCRYPTED_DATA_LEN_RANGE),
	R(CKR_FUNCTION_NOT_PARALLEL), R(CKR_FUNCTION_NOT_SUPPORTED),
	R(CKR_KEY_HANDLE_INVALID), R(CKR_KEY_SIZE_RANGE),
	R(CKR_KEY_TYPE_INCONSISTENT), R(CKR_KEY_FUNCTION_NOT_PERMITTED),
	R(CKR_KEY_UNEXTRACTABLE), R(CKR_MECHANISM_INVALID),
	R(CKR_MECHANISM_PARAM_INVALID), R(CKR_OBJECT_HANDLE_INVALID),
	R(CKR_OPERATION_ACTIVE), R(CKR_OPERATION_NOT_INITIALIZED),
	R(CKR_PIN_INCORRECT), R(CKR_PIN_INVALID), R(CKR_PIN_LEN_RANGE),
	R(CKR_PIN_LOCKED), R(CKR_SESSION_CLOSED), R(CKR_SESSION_COUNT),
	R(CKR_SESSION_HANDLE_INVALID),
	R(CKR_SESSION_PARALLEL_NOT_SUPPORTED), R(CKR_SESSION_READ_ONLY),
	R(CKR_SESSION_EXISTS), R(CKR_SESSION_READ_ONLY_EXISTS),
	R(CKR_SESSION_READ_WRITE_SO_EXISTS), R(CKR_SIGNATURE_INVALID),
	R(CKR_SIGNATURE_LEN_RANGE), R(CKR_TEMPLATE_INCOMPLETE),
	R(CKR_TEMPLATE_INCONSISTENT), R(CKR_TOKEN_NOT_PRESENT),
	R(CKR_USER_ALREADY_LOGGED_IN), R(CKR_USER_NOT_LOGGED_IN),
	R(CKR_USER_PIN_NOT_INITIALIZED), R(CKR_USER_TYPE_INVALID),
	R(CKR_USER_ANOTHER_ALREADY_LOGGED_IN), R(CKR_WRAPPED_KEY_INVALID),
	R(CKR_WRAPPING_KEY_HANDLE_INVALID), R(CKR_RANDOM_SEED_NOT_SUPPORTED),
	R(CKR_RANDOM_NO_RNG), R(CKR_BUFFER_TOO_SMALL),
	R(CKR_CRYPTOKI_NOT_INITIALIZED), R(CKR_CRYPTOKI_ALREADY_INITIALIZED),
	R(CKR_KEY_INDIGESTIBLE), R(CKR_KEY_NOT_WRAPPABLE),
#undef R
};

static const char *
rvn(CK_RV rv)
{
	static __thread char buf[32];
	size_t i;

	for (i = 0; i < sizeof(rv_names) / sizeof(rv_names[0]); i++)
		if (rv_names[i].rv == rv)
			return rv_names[i].name;
	snprintf(buf, sizeof(buf), "0x%08lx", rv);
	return buf;
}

/* --skip a,b*,*c: exact names, prefixes (b*) or suffixes (*c). */
static bool
skipped(const char *name)
{
	char list[sizeof(skip)], *tok, *save = NULL;
	size_t l;

	snprintf(list, sizeof(list), "%s", skip);
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		l = strlen(tok);
		if (l > 0 && tok[l - 1] == '*' && strncmp(name, tok, l - 1) == 0)
			return true;
		if (l > 1 && tok[0] == '*' && strlen(name) >= l - 1 &&
		    strcmp(name + strlen(name) - (l - 1), tok + 1) == 0)
			return true;
		if (strcmp(name, tok) == 0)
			return true;
	}
	return false;
}

static pthread_mutex_t count_mu = PTHREAD_MUTEX_INITIALIZER;

/* Records one check. want2 is an accepted alternative (or same). */
static bool
check2(const char *name, CK_RV got, CK_RV want, CK_RV want2)
{
	bool ok = got == want || got == want2;

	pthread_mutex_lock(&count_mu);
	if (skipped(name)) {
		nskip++;
		if (verbose)
			printf("skip %s: got %s\n", name, rvn(got));
		ok = true;
	} else if (ok) {
		npass++;
		if (verbose)
			printf("ok   %s\n", name);
	} else {
		nfail++;
		printf("FAIL %s: got %s, want %s", name, rvn(got), rvn(want));
		if (want2 != want)
			printf(" or %s", rvn(want2));
		printf("\n");
	}
	pthread_mutex_unlock(&count_mu);
	fflush(stdout);
	return ok;
}

static bool
check(const char *name, CK_RV got, CK_RV want)
{
	return check2(name, got, want, want);
}

static bool
truth(const char *name, bool cond, const char *fmt, ...)
{
	va_list ap;

	if (cond || skipped(name))
		return check(name, CKR_OK, CKR_OK);
	pthread_mutex_lock(&count_mu);
	nfail++;
	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	pthread_mutex_unlock(&count_mu);
	return false;
}

static void
skip_group(const char *name, const char *why)
{
	nskip++;
	if (verbose)
		printf("skip %s: %s\n", name, why);
}

static bool
has_mech(CK_MECHANISM_TYPE m)
{
	CK_ULONG i;

	for (i = 0; i < nmechs; i++)
		if (mechs[i] == m)
			return true;
	return false;
}

static bool
padded(const CK_UTF8CHAR *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] == '\0')
			return false;
	return true;
}

static CK_RV
open_rw(CK_SESSION_HANDLE *h)
{
	return f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, h);
}

static CK_RV
login(CK_SESSION_HANDLE h)
{
	return f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin));
}

/* --- groups -------------------------------------------------------------- */
static int mutex_calls;

static CK_RV
mx_create(void **m)
{
	pthread_mutex_t *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return CKR_HOST_MEMORY;
	pthread_mutex_init(p, NULL);
	*m = p;
	__atomic_add_fetch(&mutex_calls, 1, __ATOMIC_RELAXED);
	return CKR_OK;
}

static CK_RV
mx_destroy(void *m)
{
	pthread_mutex_destroy(m);
	free(m);
	return CKR_OK;
}

static CK_RV
mx_lock(void *m)
{
	__atomic_add_fetch(&mutex_calls, 1, __ATOMIC_RELAXED);
	return pthread_mutex_lock(m) ? CKR_GENERAL_ERROR : CKR_OK;
}

static CK_RV
mx_unlock(void *m)
{
	return pthread_mutex_unlock(m) ? CKR_GENERAL_ERROR : CKR_OK;
}

static void
g_init(void)
{
	CK_C_INITIALIZE_ARGS a = { 0 };
	CK_INFO info;
	CK_ULONG n;
	int dummy;

	check("init.getinfo_before", f->C_GetInfo(&info),
	    CKR_CRYPTOKI_NOT_INITIALIZED);
	check("init.slotlist_before", f->C_GetSlotList(CK_FALSE, NULL, &n),
	    CKR_CRYPTOKI_NOT_INITIALIZED);
	check("init.finalize_before", f->C_Finalize(NULL),
	    CKR_CRYPTOKI_NOT_INITIALIZED);
	check("init.opensession_before", f->C_OpenSession(0,
	    CKF_SERIAL_SESSION, NULL, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
	a.pReserved = &dummy;
	check("init.reserved", f->C_Initialize(&a), CKR_ARGUMENTS_BAD);
	a = (CK_C_INITIALIZE_ARGS){ 0 };
	a.CreateMutex = mx_create;
	check("init.partial_callbacks", f->C_Initialize(&a),
	    CKR_ARGUMENTS_BAD);
	check("init.null", f->C_Initialize(NULL), CKR_OK);
	check("init.twice", f->C_Initialize(NULL),
	    CKR_CRYPTOKI_ALREADY_INITIALIZED);
	check("init.finalize_reserved", f->C_Finalize(&dummy),
	    CKR_ARGUMENTS_BAD);
	check("init.finalize", f->C_Finalize(NULL), CKR_OK);
	/* Application callbacks only: the module must use them. */
	a = (CK_C_INITIALIZE_ARGS){ 0 };
	a.CreateMutex = mx_create;
	a.DestroyMutex = mx_destroy;
	a.LockMutex = mx_lock;
	a.UnlockMutex = mx_unlock;
	check("init.app_callbacks", f->C_Initialize(&a), CKR_OK);
	n = 0;
	(void)f->C_GetSlotList(CK_FALSE, NULL, &n);
	truth("init.app_callbacks_used", mutex_calls > 0,
	    "no CreateMutex/LockMutex call");
	check("init.finalize2", f->C_Finalize(NULL), CKR_OK);
	a = (CK_C_INITIALIZE_ARGS){ 0 };
	a.flags = CKF_OS_LOCKING_OK;
	check("init.os_locking", f->C_Initialize(&a), CKR_OK);
}

static void
g_info(void)
{
	CK_INFO info;

	check("info.null", f->C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
	if (!check("info.ok", f->C_GetInfo(&info), CKR_OK))
		return;
	truth("info.version", info.cryptokiVersion.major == 2 ||
	    info.cryptokiVersion.major == 3, "cryptokiVersion %u.%u",
	    info.cryptokiVersion.major, info.cryptokiVersion.minor);
	truth("info.padding", padded(info.manufacturerID, 32) &&
	    padded(info.libraryDescription, 32), "NUL in a padded field");
	truth("info.flags", info.flags == 0, "flags 0x%lx", info.flags);
}

static void
g_iface(void)
{
	get_iface_list_fn list = (get_iface_list_fn)dlsym(dl,
	    "C_GetInterfaceList");
	get_iface_fn get = (get_iface_fn)dlsym(dl, "C_GetInterface");
	struct iface ifs[8], *one = NULL;
	CK_VERSION v30 = { 3, 0 }, v99 = { 9, 9 };
	CK_ULONG n = 0, i;
	bool seen30 = false;

	if (list == NULL || get == NULL) {
		skip_group("iface", "no PKCS#11 3.0 interface functions");
		return;
	}
	check("iface.list_null", list(NULL, NULL), CKR_ARGUMENTS_BAD);
	check("iface.list_count", list(NULL, &n), CKR_OK);
	if (n > 1) {
		CK_ULONG small = 1;

		check("iface.list_small", list(ifs, &small),
		    CKR_BUFFER_TOO_SMALL);
		truth("iface.list_small_len", small == n, "count %lu", small);
	}
	if (n > 8)
		n = 8;
	if (!check("iface.list", list(ifs, &n), CKR_OK))
		return;
	for (i = 0; i < n; i++) {
		const CK_VERSION *v = ifs[i].funcs;

		if (strcmp((char *)ifs[i].name, "PKCS 11") == 0 &&
		    v->major == 3)
			seen30 = true;
	}
	truth("iface.has30", seen30, "no \"PKCS 11\" 3.x interface");
	check("iface.get_null", get(NULL, NULL, NULL, 0), CKR_ARGUMENTS_BAD);
	check("iface.get_default", get(NULL, NULL, &one, 0), CKR_OK);
	check("iface.get_30", get((CK_UTF8CHAR *)"PKCS 11", &v30, &one, 0),
	    CKR_OK);
	if (one != NULL)
		truth("iface.get_30_version",
		    ((CK_VERSION *)one->funcs)->major == 3, "wrong list");
	check("iface.get_bad_version", get((CK_UTF8CHAR *)"PKCS 11", &v99,
	    &one, 0), CKR_ARGUMENTS_BAD);
	check("iface.get_bad_name", get((CK_UTF8CHAR *)"nope", NULL, &one, 0),
	    CKR_ARGUMENTS_BAD);
}

static void
g_slots(void)
{
	CK_SLOT_ID ids[64];
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_ULONG n = 0, small = 0, i;
	bool found = false;

	check("slot.list_null", f->C_GetSlotList(CK_TRUE, NULL, NULL),
	    CKR_ARGUMENTS_BAD);
	check("slot.list_count", f->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
	if (n > 0) {
		check("slot.list_small", f->C_GetSlotList(CK_TRUE, ids, &small),
		    CKR_BUFFER_TOO_SMALL);
		truth("slot.list_small_len", small == n, "count %lu, want %lu",
		    small, n);
	}
	n = 64;
	check("slot.list", f->C_GetSlotList(CK_TRUE, ids, &n), CKR_OK);
	for (i = 0; i < n; i++)
		if (!have_slot || ids[i] == slot)
			found = true;
	if (!have_slot && n > 0) {
		slot = ids[0];
		have_slot = true;
	}
	truth("slot.present", found && n > 0, "slot %lu not in the list",
	    slot);
	check("slot.info_invalid", f->C_GetSlotInfo(0xDEAD0, &si),
	    CKR_SLOT_ID_INVALID);
	check("slot.info_null", f->C_GetSlotInfo(slot, NULL),
	    CKR_ARGUMENTS_BAD);
	if (check("slot.info", f->C_GetSlotInfo(slot, &si), CKR_OK)) {
		truth("slot.info_present", si.flags & CKF_TOKEN_PRESENT,
		    "flags 0x%lx", si.flags);
		truth("slot.info_padding", padded(si.slotDescription, 64) &&
		    padded(si.manufacturerID, 32), "NUL in a padded field");
	}
	check("token.info_invalid", f->C_GetTokenInfo(0xDEAD0, &ti),
	    CKR_SLOT_ID_INVALID);
	check("token.info_null", f->C_GetTokenInfo(slot, NULL),
	    CKR_ARGUMENTS_BAD);
	if (check("token.info", f->C_GetTokenInfo(slot, &ti), CKR_OK)) {
		CK_FLAGS need = CKF_TOKEN_INITIALIZED | CKF_LOGIN_REQUIRED |
		    CKF_USER_PIN_INITIALIZED;

		truth("token.flags", (ti.flags & need) == need, "flags 0x%lx",
		    ti.flags);
		truth("token.rng", ti.flags & CKF_RNG, "no CKF_RNG");
		truth("token.padding", padded(ti.label, 32) &&
		    padded(ti.manufacturerID, 32) && padded(ti.model, 16) &&
		    padded(ti.serialNumber, 16), "NUL in a padded field");
		truth("token.pinlen", ti.ulMinPinLen <= ti.ulMaxPinLen &&
		    strlen(pin) <= ti.ulMaxPinLen, "PIN length range %lu..%lu",
		    ti.ulMinPinLen, ti.ulMaxPinLen);
		truth("token.max_sessions", ti.ulMaxSessionCount ==
		    CK_EFFECTIVELY_INFINITE || ti.ulMaxSessionCount ==
		    CK_UNAVAILABLE_INFORMATION || ti.ulMaxSessionCount >= 1024,
		    "ulMaxSessionCount %lu", ti.ulMaxSessionCount);
	}
	check("slot.wait_noblock", f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &i,
	    NULL) == CKR_FUNCTION_NOT_SUPPORTED ? CKR_NO_EVENT :
	    f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &i, NULL), CKR_NO_EVENT);
}

static void
g_mechs(void)
{
	CK_MECHANISM_INFO mi;
	CK_ULONG n = 0, small = 0, i;
	bool ok = true;

	check("mech.list_null", f->C_GetMechanismList(slot, NULL, NULL),
	    CKR_ARGUMENTS_BAD);
	check("mech.list_invalid_slot", f->C_GetMechanismList(0xDEAD0, NULL,
	    &n), CKR_SLOT_ID_INVALID);
	if (!check("mech.list_count", f->C_GetMechanismList(slot, NULL, &n),
	    CKR_OK))
		return;
	mechs = calloc(n + 1, sizeof(*mechs));
	if (n > 0) {
		CK_MECHANISM_TYPE one;

		check("mech.list_small", f->C_GetMechanismList(slot, &one,
		    &small), CKR_BUFFER_TOO_SMALL);
		truth("mech.list_small_len", small == n, "count %lu", small);
	}
	nmechs = n;
	check("mech.list", f->C_GetMechanismList(slot, mechs, &nmechs), CKR_OK);
	check("mech.info_null", f->C_GetMechanismInfo(slot, CKM_SHA256, NULL),
	    CKR_ARGUMENTS_BAD);
	check("mech.info_unknown", f->C_GetMechanismInfo(slot,
	    CKM_VENDOR_DEFINED | 0x7EADBEEF, &mi), CKR_MECHANISM_INVALID);
	for (i = 0; i < nmechs; i++) {
		if (f->C_GetMechanismInfo(slot, mechs[i], &mi) != CKR_OK ||
		    mi.ulMinKeySize > mi.ulMaxKeySize) {
			ok = false;
			printf("  mechanism 0x%lx: bad info\n", mechs[i]);
		}
	}
	truth("mech.info_all", ok, "see above");
	/* PKCS#11 counts AES key sizes in bytes (SunPKCS11 relies on it) */
	if (f->C_GetMechanismInfo(slot, CKM_AES_KEY_GEN, &mi) == CKR_OK)
		truth("mech.info_aes_bytes", mi.ulMinKeySize == 16 &&
		    mi.ulMaxKeySize == 32, "min %lu max %lu", mi.ulMinKeySize,
		    mi.ulMaxKeySize);
}

static void
g_session(void)
{
	CK_SESSION_HANDLE ro = 0, rw = 0, h, *many;
	CK_SESSION_INFO si;
	unsigned i, opened = 0;
	CK_RV rv;

	check("session.open_null", f->C_OpenSession(slot, CKF_SERIAL_SESSION,
	    NULL, NULL, NULL), CKR_ARGUMENTS_BAD);
	check("session.open_noserial", f->C_OpenSession(slot, 0, NULL, NULL,
	    &h), CKR_SESSION_PARALLEL_NOT_SUPPORTED);
	check("session.open_badslot", f->C_OpenSession(0xDEAD0,
	    CKF_SERIAL_SESSION, NULL, NULL, &h), CKR_SLOT_ID_INVALID);
	check("session.open_ro", f->C_OpenSession(slot, CKF_SERIAL_SESSION,
	    NULL, NULL, &ro), CKR_OK);
	check("session.open_rw", open_rw(&rw), CKR_OK);
	truth("session.distinct", ro != rw && ro != CK_INVALID_HANDLE &&
	    rw != CK_INVALID_HANDLE, "handles %lu %lu", ro, rw);
	check("session.info_null", f->C_GetSessionInfo(ro, NULL),
	    CKR_ARGUMENTS_BAD);
	check("session.info_invalid", f->C_GetSessionInfo(0xDEADBEEF, &si),
	    CKR_SESSION_HANDLE_INVALID);
	if (check("session.info_ro", f->C_GetSessionInfo(ro, &si), CKR_OK))
		truth("session.state_ro", si.state == CKS_RO_PUBLIC_SESSION &&
		    si.slotID == slot && !(si.flags & CKF_RW_SESSION) &&
		    (si.flags & CKF_SERIAL_SESSION), "state %lu flags 0x%lx",
		    si.state, si.flags);
	if (check("session.info_rw", f->C_GetSessionInfo(rw, &si), CKR_OK))
		truth("session.state_rw", si.state == CKS_RW_PUBLIC_SESSION &&
		    (si.flags & CKF_RW_SESSION), "state %lu", si.state);
	check("session.close", f->C_CloseSession(ro), CKR_OK);
	check("session.close_again", f->C_CloseSession(ro),
	    CKR_SESSION_HANDLE_INVALID);
	check("session.info_closed", f->C_GetSessionInfo(ro, &si),
	    CKR_SESSION_HANDLE_INVALID);
	check("session.close_zero", f->C_CloseSession(CK_INVALID_HANDLE),
	    CKR_SESSION_HANDLE_INVALID);
	/* Many concurrent sessions. */
	many = calloc(nsessions, sizeof(*many));
	for (i = 0; i < nsessions; i++) {
		rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | (i % 2 ?
		    CKF_RW_SESSION : 0), NULL, NULL, &many[i]);
		if (rv != CKR_OK) {
			printf("  session %u: %s\n", i, rvn(rv));
			break;
		}
		opened++;
	}
	truth("session.many", opened == nsessions, "opened %u of %u", opened,
	    nsessions);
	check("session.close_all", f->C_CloseAllSessions(slot), CKR_OK);
	check("session.close_all_badslot", f->C_CloseAllSessions(0xDEAD0),
	    CKR_SLOT_ID_INVALID);
	if (opened > 0)
		check("session.many_closed", f->C_GetSessionInfo(many[0], &si),
		    CKR_SESSION_HANDLE_INVALID);
	check("session.rw_closed_by_all", f->C_GetSessionInfo(rw, &si),
	    CKR_SESSION_HANDLE_INVALID);
	free(many);
}

static void
g_login(void)
{
	CK_SESSION_HANDLE ro, rw;
	CK_SESSION_INFO si;
	char bad[256];

	if (f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ro) !=
	    CKR_OK || open_rw(&rw) != CKR_OK) {
		truth("login.sessions", false, "cannot open sessions");
		return;
	}
	check("login.logout_not_logged", f->C_Logout(rw),
	    CKR_USER_NOT_LOGGED_IN);
	check("login.null_pin", f->C_Login(rw, CKU_USER, NULL, 4),
	    CKR_ARGUMENTS_BAD);
	check("login.bad_type", f->C_Login(rw, 77, (CK_UTF8CHAR *)pin,
	    strlen(pin)), CKR_USER_TYPE_INVALID);
	check("login.bad_session", f->C_Login(0xDEADBEEF, CKU_USER,
	    (CK_UTF8CHAR *)pin, strlen(pin)), CKR_SESSION_HANDLE_INVALID);
	snprintf(bad, sizeof(bad), "%sX", pin);
	check("login.wrong_pin", f->C_Login(rw, CKU_USER, (CK_UTF8CHAR *)bad,
	    strlen(bad)), CKR_PIN_INCORRECT);
	check("login.ok", login(ro), CKR_OK);
	check("login.again", login(rw), CKR_USER_ALREADY_LOGGED_IN);
	if (f->C_GetSessionInfo(ro, &si) == CKR_OK)
		truth("login.state_ro", si.state == CKS_RO_USER_FUNCTIONS,
		    "state %lu", si.state);
	if (f->C_GetSessionInfo(rw, &si) == CKR_OK)
		truth("login.state_shared", si.state == CKS_RW_USER_FUNCTIONS,
		    "state %lu", si.state);
	if (so_pin != NULL)
		check2("login.so_while_user", f->C_Login(rw, CKU_SO,
		    (CK_UTF8CHAR *)so_pin, strlen(so_pin)),
		    CKR_USER_ANOTHER_ALREADY_LOGGED_IN,
		    CKR_SESSION_READ_ONLY_EXISTS);
	check("login.logout", f->C_Logout(ro), CKR_OK);
	if (f->C_GetSessionInfo(rw, &si) == CKR_OK)
		truth("login.state_after_logout", si.state ==
		    CKS_RW_PUBLIC_SESSION, "state %lu", si.state);
	check("login.logout_again", f->C_Logout(rw), CKR_USER_NOT_LOGGED_IN);
	if (so_pin != NULL)
		check("login.so_ro_exists", f->C_Login(rw, CKU_SO,
		    (CK_UTF8CHAR *)so_pin, strlen(so_pin)),
		    CKR_SESSION_READ_ONLY_EXISTS);
	/* Closing the last session logs the application out. */
	check("login.relogin", login(rw), CKR_OK);
	f->C_CloseAllSessions(slot);
	if (open_rw(&rw) == CKR_OK && f->C_GetSessionInfo(rw, &si) == CKR_OK)
		truth("login.last_close_logs_out", si.state ==
		    CKS_RW_PUBLIC_SESSION, "state %lu", si.state);
	f->C_CloseAllSessions(slot);
}

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

static CK_RV
make_data(CK_SESSION_HANDLE h, CK_BBOOL token, const char *label,
    CK_OBJECT_HANDLE *o)
{
	CK_OBJECT_CLASS cls = CKO_DATA;
	static char value[] = "p11conf data object value";
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_TOKEN, &token, sizeof(token) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_APPLICATION, "p11conf", 7 },
		{ CKA_VALUE, value, sizeof(value) - 1 },
	};

	return f->C_CreateObject(h, t, sizeof(t) / sizeof(t[0]), o);
}

static CK_RV
make_aes(CK_SESSION_HANDLE h, CK_BBOOL extractable, CK_OBJECT_HANDLE *k)
{
	CK_MECHANISM m = { CKM_AES_KEY_GEN, NULL, 0 };
	CK_ULONG len = 32;
	CK_ATTRIBUTE t[] = {
		{ CKA_VALUE_LEN, &len, sizeof(len) },
		{ CKA_TOKEN, &no, sizeof(no) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &extractable, sizeof(extractable) },
		{ CKA_ENCRYPT, &yes, sizeof(yes) },
		{ CKA_DECRYPT, &yes, sizeof(yes) },
		{ CKA_WRAP, &yes, sizeof(yes) },
		{ CKA_UNWRAP, &yes, sizeof(yes) },
		{ CKA_LABEL, "p11conf-aes", 11 },
	};

	return f->C_GenerateKey(h, &m, t, sizeof(t) / sizeof(t[0]), k);
}

static void
g_objects(void)
{
	CK_SESSION_HANDLE ro, rw, other;
	CK_OBJECT_HANDLE o = 0, copy = 0, tmp, found[16], aes = 0;
	CK_OBJECT_CLASS cls;
	CK_ULONG n, size;
	char label[64], small[4];
	CK_BYTE value[256];
	CK_ATTRIBUTE a[3];
	CK_RV rv;

	if (f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ro) !=
	    CKR_OK || open_rw(&rw) != CKR_OK || open_rw(&other) != CKR_OK ||
	    login(rw) != CKR_OK) {
		truth("object.setup", false, "cannot open sessions / log in");
		f->C_CloseAllSessions(slot);
		return;
	}
	check("object.create_null", f->C_CreateObject(rw, NULL, 3, &o),
	    CKR_ARGUMENTS_BAD);
	check("object.create_null_handle", make_data(rw, CK_FALSE, "x", NULL),
	    CKR_ARGUMENTS_BAD);
	check("object.create_ro_token", make_data(ro, CK_TRUE, "x", &tmp),
	    CKR_SESSION_READ_ONLY);
	check("object.create_ro_session_obj", make_data(ro, CK_FALSE,
	    "p11conf-ro", &tmp), CKR_OK);
	if (!check("object.create", make_data(rw, CK_FALSE, "p11conf-obj",
	    &o), CKR_OK))
		goto out;
	/* C_GetAttributeValue, per attribute (2.40 §5.7). */
	a[0] = (CK_ATTRIBUTE){ CKA_CLASS, NULL, 0 };
	a[1] = (CK_ATTRIBUTE){ CKA_LABEL, NULL, 0 };
	a[2] = (CK_ATTRIBUTE){ CKA_VALUE, NULL, 0 };
	check("attr.length_query", f->C_GetAttributeValue(rw, o, a, 3), CKR_OK);
	truth("attr.length_values", a[0].ulValueLen == sizeof(CK_ULONG) &&
	    a[1].ulValueLen == 11 && a[2].ulValueLen == 25,
	    "lengths %lu %lu %lu", a[0].ulValueLen, a[1].ulValueLen,
	    a[2].ulValueLen);
	a[0] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	a[1] = (CK_ATTRIBUTE){ CKA_LABEL, small, sizeof(small) };
	a[2] = (CK_ATTRIBUTE){ CKA_VALUE, value, sizeof(value) };
	check("attr.too_small", f->C_GetAttributeValue(rw, o, a, 3),
	    CKR_BUFFER_TOO_SMALL);
	truth("attr.too_small_len", a[1].ulValueLen ==
	    CK_UNAVAILABLE_INFORMATION, "ulValueLen %lu", a[1].ulValueLen);
	truth("attr.too_small_others", cls == CKO_DATA && a[2].ulValueLen ==
	    25 && memcmp(value, "p11conf data", 12) == 0,
	    "other attributes not filled");
	a[0] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	a[1] = (CK_ATTRIBUTE){ CKA_VENDOR_DEFINED | 0x7EAD0001UL, value,
	    sizeof(value) };
	a[2] = (CK_ATTRIBUTE){ CKA_LABEL, label, sizeof(label) };
	cls = 0xFFFF;
	check("attr.unknown", f->C_GetAttributeValue(rw, o, a, 3),
	    CKR_ATTRIBUTE_TYPE_INVALID);
	truth("attr.unknown_len", a[1].ulValueLen ==
	    CK_UNAVAILABLE_INFORMATION, "ulValueLen %lu", a[1].ulValueLen);
	truth("attr.unknown_others", cls == CKO_DATA && a[2].ulValueLen == 11 &&
	    memcmp(label, "p11conf-obj", 11) == 0, "others not filled");
	check("attr.null_template", f->C_GetAttributeValue(rw, o, NULL, 1),
	    CKR_ARGUMENTS_BAD);
	check("attr.bad_handle", f->C_GetAttributeValue(rw, 0xDEADBEEF, a, 1),
	    CKR_OBJECT_HANDLE_INVALID);
	check("attr.bad_session", f->C_GetAttributeValue(0xDEADBEEF, o, a, 1),
	    CKR_SESSION_HANDLE_INVALID);
	/* Sensitive. */
	if (has_mech(CKM_AES_KEY_GEN) &&
	    check("attr.keygen", make_aes(rw, CK_FALSE, &aes), CKR_OK)) {
		CK_KEY_TYPE kt = 0;

		a[0] = (CK_ATTRIBUTE){ CKA_VALUE, value, sizeof(value) };
		a[1] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, &kt, sizeof(kt) };
		check("attr.sensitive", f->C_GetAttributeValue(rw, aes, a, 2),
		    CKR_ATTRIBUTE_SENSITIVE);
		truth("attr.sensitive_len", a[0].ulValueLen ==
		    CK_UNAVAILABLE_INFORMATION && kt == CKK_AES,
		    "ulValueLen %lu key type %lu", a[0].ulValueLen, kt);
		a[0] = (CK_ATTRIBUTE){ CKA_SENSITIVE, &no, sizeof(no) };
		rv = f->C_SetAttributeValue(rw, aes, a, 1);
		check2("attr.unsensitive", rv, CKR_ATTRIBUTE_READ_ONLY,
		    CKR_ATTRIBUTE_VALUE_INVALID);
	}
	/* Set, copy, destroy. */
	a[0] = (CK_ATTRIBUTE){ CKA_LABEL, "p11conf-new", 11 };
	check("object.set_label", f->C_SetAttributeValue(rw, o, a, 1), CKR_OK);
	a[0] = (CK_ATTRIBUTE){ CKA_LABEL, label, sizeof(label) };
	if (f->C_GetAttributeValue(rw, o, a, 1) == CKR_OK)
		truth("object.set_label_read", a[0].ulValueLen == 11 &&
		    memcmp(label, "p11conf-new", 11) == 0, "label not set");
	cls = CKO_SECRET_KEY;
	a[0] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	check("object.set_class", f->C_SetAttributeValue(rw, o, a, 1),
	    CKR_ATTRIBUTE_READ_ONLY);
	check("object.set_null", f->C_SetAttributeValue(rw, o, NULL, 1),
	    CKR_ARGUMENTS_BAD);
	a[0] = (CK_ATTRIBUTE){ CKA_LABEL, "p11conf-copy", 12 };
	check("object.copy_null", f->C_CopyObject(rw, o, a, 1, NULL),
	    CKR_ARGUMENTS_BAD);
	check("object.copy", f->C_CopyObject(rw, o, a, 1, &copy), CKR_OK);
	check("object.copy_bad_handle", f->C_CopyObject(rw, 0xDEADBEEF, a, 1,
	    &size), CKR_OBJECT_HANDLE_INVALID);
	check("object.size_null", f->C_GetObjectSize(rw, o, NULL),
	    CKR_ARGUMENTS_BAD);
	check("object.size", f->C_GetObjectSize(rw, o, &size), CKR_OK);
	check("object.size_bad_handle", f->C_GetObjectSize(rw, 0xDEADBEEF,
	    &size), CKR_OBJECT_HANDLE_INVALID);
	/* Find. */
	a[0] = (CK_ATTRIBUTE){ CKA_LABEL, "p11conf-new", 11 };
	check("find.not_init", f->C_FindObjects(rw, found, 16, &n),
	    CKR_OPERATION_NOT_INITIALIZED);
	check("find.final_not_init", f->C_FindObjectsFinal(rw),
	    CKR_OPERATION_NOT_INITIALIZED);
	check("find.init_null", f->C_FindObjectsInit(rw, NULL, 1),
	    CKR_ARGUMENTS_BAD);
	check("find.init", f->C_FindObjectsInit(rw, a, 1), CKR_OK);
	check("find.init_active", f->C_FindObjectsInit(rw, a, 1),
	    CKR_OPERATION_ACTIVE);
	check("find.null", f->C_FindObjects(rw, NULL, 16, &n),
	    CKR_ARGUMENTS_BAD);
	check("find.null_count", f->C_FindObjects(rw, found, 16, NULL),
	    CKR_ARGUMENTS_BAD);
	n = 0;
	check("find.objects", f->C_FindObjects(rw, found, 16, &n), CKR_OK);
	truth("find.result", n == 1 && found[0] == o, "%lu objects", n);
	check("find.exhausted", f->C_FindObjects(rw, found, 16, &n), CKR_OK);
	truth("find.exhausted_zero", n == 0, "%lu more objects", n);
	check("find.final", f->C_FindObjectsFinal(rw), CKR_OK);
	check("find.all", f->C_FindObjectsInit(rw, NULL, 0), CKR_OK);
	n = 0;
	check("find.all_objects", f->C_FindObjects(rw, found, 16, &n), CKR_OK);
	truth("find.all_some", n >= 2, "%lu objects", n);
	f->C_FindObjectsFinal(rw);
	/* Session objects are visible to every session of the application
	 * and die with the session that made them. */
	a[0] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	check("object.visible_other_session", f->C_GetAttributeValue(other,
	    tmp, a, 1), CKR_OK);
	check("object.destroy_ro_session_obj", f->C_DestroyObject(ro, tmp),
	    CKR_OK);
	check("object.destroy", f->C_DestroyObject(rw, copy), CKR_OK);
	check("object.destroy_again", f->C_DestroyObject(rw, copy),
	    CKR_OBJECT_HANDLE_INVALID);
	check("object.destroyed_attr", f->C_GetAttributeValue(rw, copy, a, 1),
	    CKR_OBJECT_HANDLE_INVALID);
	check("object.close_creator", f->C_CloseSession(rw), CKR_OK);
	check("object.session_obj_gone", f->C_GetAttributeValue(other, o, a,
	    1), CKR_OBJECT_HANDLE_INVALID);
 out:
	f->C_CloseAllSessions(slot);
}

/* FIPS 180-2 appendix B.1: SHA-256("abc"). */
static const CK_BYTE sha256_abc[32] = {
	0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
	0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
	0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
};

static void
g_digest(CK_SESSION_HANDLE h)
{
	CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
	CK_BYTE out[64];
	CK_ULONG n;

	if (!has_mech(CKM_SHA256)) {
		skip_group("digest", "no CKM_SHA256");
		return;
	}
	check("digest.not_init", f->C_Digest(h, (CK_BYTE *)"abc", 3, out, &n),
	    CKR_OPERATION_NOT_INITIALIZED);
	check("digest.init", f->C_DigestInit(h, &m), CKR_OK);
	check("digest.init_active", f->C_DigestInit(h, &m),
	    CKR_OPERATION_ACTIVE);
	n = 0;
	check("digest.length", f->C_Digest(h, (CK_BYTE *)"abc", 3, NULL, &n),
	    CKR_OK);
	truth("digest.length_value", n == 32, "length %lu", n);
	n = 8;
	check("digest.too_small", f->C_Digest(h, (CK_BYTE *)"abc", 3, out, &n),
	    CKR_BUFFER_TOO_SMALL);
	truth("digest.too_small_len", n == 32, "length %lu", n);
	n = sizeof(out);
	check("digest.ok", f->C_Digest(h, (CK_BYTE *)"abc", 3, out, &n),
	    CKR_OK);
	truth("digest.vector", n == 32 && memcmp(out, sha256_abc, 32) == 0,
	    "wrong SHA-256(\"abc\")");
	check("digest.ended", f->C_Digest(h, (CK_BYTE *)"abc", 3, out, &n),
	    CKR_OPERATION_NOT_INITIALIZED);
	check("digest.multi_init", f->C_DigestInit(h, &m), CKR_OK);
	check("digest.update", f->C_DigestUpdate(h, (CK_BYTE *)"a", 1), CKR_OK);
	check("digest.update2", f->C_DigestUpdate(h, (CK_BYTE *)"bc", 2),
	    CKR_OK);
	n = 0;
	check("digest.final_length", f->C_DigestFinal(h, NULL, &n), CKR_OK);
	n = sizeof(out);
	check("digest.final", f->C_DigestFinal(h, out, &n), CKR_OK);
	truth("digest.multi_vector", n == 32 && memcmp(out, sha256_abc,
	    32) == 0, "wrong multi-part SHA-256(\"abc\")");
	check("digest.final_ended", f->C_DigestFinal(h, out, &n),
	    CKR_OPERATION_NOT_INITIALIZED);
	check("digest.init_again", f->C_DigestInit(h, &m), CKR_OK);
	check("digest.null_len", f->C_Digest(h, (CK_BYTE *)"abc", 3, out,
	    NULL), CKR_ARGUMENTS_BAD);
	n = sizeof(out);
	if (!check("digest.ended_by_error", f->C_DigestFinal(h, out, &n),
	    CKR_OPERATION_NOT_INITIALIZED))
		(void)f->C_DigestFinal(h, out, &n);
	m.mechanism = CKM_VENDOR_DEFINED | 0x7EADBEEF;
	check("digest.bad_mech", f->C_DigestInit(h, &m),
	    CKR_MECHANISM_INVALID);
	check("digest.bad_session", f->C_DigestInit(0xDEADBEEF, &m),
	    CKR_SESSION_HANDLE_INVALID);
}

static void
g_cipher(CK_SESSION_HANDLE h)
{
	CK_BYTE iv[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	CK_MECHANISM m = { CKM_AES_CBC_PAD, iv, sizeof(iv) };
	CK_BYTE pt[40], ct[128], ct2[128], back[128];
	CK_ULONG n, ctlen, n2, tot;
	CK_OBJECT_HANDLE k;
	CK_RV rv;

	if (!has_mech(CKM_AES_KEY_GEN) || !has_mech(CKM_AES_CBC_PAD)) {
		skip_group("cipher", "no AES-CBC-PAD");
		return;
	}
	memset(pt, 'p', sizeof(pt));
	if (!check("cipher.keygen", make_aes(h, CK_FALSE, &k), CKR_OK))
		return;
	check("cipher.not_init", f->C_Encrypt(h, pt, sizeof(pt), ct, &n),
	    CKR_OPERATION_NOT_INITIALIZED);
	/* Key errors come from C_EncryptInit or, in modules that send
	 * nothing before the first data call (Coffer), from that call. */
	rv = f->C_EncryptInit(h, &m, 0xDEADBEEF);
	if (rv == CKR_OK) {
		n = sizeof(ct);
		rv = f->C_Encrypt(h, pt, sizeof(pt), ct, &n);
	}
	check2("cipher.bad_key", rv, CKR_KEY_HANDLE_INVALID,
	    CKR_OBJECT_HANDLE_INVALID);
	n = sizeof(ct);
	check("cipher.bad_key_ended", f->C_Encrypt(h, pt, sizeof(pt), ct, &n),
	    CKR_OPERATION_NOT_INITIALIZED);
	{
		CK_MECHANISM bad = { CKM_VENDOR_DEFINED | 0x7EADBEEF, NULL, 0 };

		check("cipher.bad_mech", f->C_EncryptInit(h, &bad, k),
		    CKR_MECHANISM_INVALID);
	}
	check("cipher.init", f->C_EncryptInit(h, &m, k), CKR_OK);
	check("cipher.init_active", f->C_EncryptInit(h, &m, k),
	    CKR_OPERATION_ACTIVE);
	n = 0;
	check("cipher.length", f->C_Encrypt(h, pt, sizeof(pt), NULL, &n),
	    CKR_OK);
	truth("cipher.length_value", n >= 48, "length %lu", n);
	n = 4;
	check("cipher.too_small", f->C_Encrypt(h, pt, sizeof(pt), ct, &n),
	    CKR_BUFFER_TOO_SMALL);
	truth("cipher.too_small_len", n >= 48, "length %lu", n);
	n = sizeof(ct);
	check("cipher.encrypt", f->C_Encrypt(h, pt, sizeof(pt), ct, &n),
	    CKR_OK);
	truth("cipher.encrypt_len", n == 48, "length %lu", n);
	ctlen = n;
	check("cipher.ended", f->C_Encrypt(h, pt, sizeof(pt), ct, &n),
	    CKR_OPERATION_NOT_INITIALIZED);
	/* Multi-part gives the same ciphertext. */
	check("cipher.multi_init", f->C_EncryptInit(h, &m, k), CKR_OK);
	n2 = sizeof(ct2);
	check("cipher.update", f->C_EncryptUpdate(h, pt, 20, ct2, &n2), CKR_OK);
	tot = n2;
	n2 = sizeof(ct2) - tot;
	check("cipher.update2", f->C_EncryptUpdate(h, pt + 20, 20, ct2 + tot,
	    &n2), CKR_OK);
	tot += n2;
	n2 = 0;
	check("cipher.final_length", f->C_EncryptFinal(h, NULL, &n2), CKR_OK);
	n2 = sizeof(ct2) - tot;
	check("cipher.final", f->C_EncryptFinal(h, ct2 + tot, &n2), CKR_OK);
	tot += n2;
	truth("cipher.multi_same", tot == ctlen && memcmp(ct, ct2, ctlen) == 0,
	    "multi-part ciphertext differs");
	check("cipher.decrypt_init", f->C_DecryptInit(h, &m, k), CKR_OK);
	n = sizeof(back);
	check("cipher.decrypt", f->C_Decrypt(h, ct, ctlen, back, &n), CKR_OK);
	truth("cipher.roundtrip", n == sizeof(pt) && memcmp(back, pt,
	    sizeof(pt)) == 0, "plaintext differs");
	/* An error other than BUFFER_TOO_SMALL ends the operation. */
	check("cipher.decrypt_init2", f->C_DecryptInit(h, &m, k), CKR_OK);
	n = sizeof(back);
	check("cipher.bad_length", f->C_Decrypt(h, ct, 17, back, &n),
	    CKR_ENCRYPTED_DATA_LEN_RANGE);
	check("cipher.ended_by_error", f->C_Decrypt(h, ct, ctlen, back, &n),
	    CKR_OPERATION_NOT_INITIALIZED);
	check("cipher.encrypt_init_null_in", f->C_EncryptInit(h, &m, k),
	    CKR_OK);
	check("cipher.null_input", f->C_Encrypt(h, NULL, 16, ct, &n),
	    CKR_ARGUMENTS_BAD);
	n = sizeof(ct);
	if (!check("cipher.null_input_ended", f->C_EncryptFinal(h, ct, &n),
	    CKR_OPERATION_NOT_INITIALIZED))
		(void)f->C_EncryptFinal(h, ct, &n);
	n = sizeof(ct);
	check("cipher.update_not_init", f->C_EncryptUpdate(h, pt, 16, ct, &n),
	    CKR_OPERATION_NOT_INITIALIZED);
	check("cipher.final_not_init", f->C_DecryptFinal(h, ct, &n),
	    CKR_OPERATION_NOT_INITIALIZED);
}

static void
g_sign_one(CK_SESSION_HANDLE h, const char *grp, CK_MECHANISM *m,
    CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pub, bool multi)
{
	static CK_BYTE data[] = "p11conf message to sign";
	CK_BYTE sig[1024], sig2[1024];
	CK_ULONG n, n2;
	char name[96];

#define NM(x) (snprintf(name, sizeof(name), "%s.%s", grp, x), name)
	check(NM("init"), f->C_SignInit(h, m, priv), CKR_OK);
	check(NM("init_active"), f->C_SignInit(h, m, priv),
	    CKR_OPERATION_ACTIVE);
	n = 0;
	check(NM("length"), f->C_Sign(h, data, sizeof(data), NULL, &n), CKR_OK);
	n2 = 1;
	check(NM("too_small"), f->C_Sign(h, data, sizeof(data), sig, &n2),
	    CKR_BUFFER_TOO_SMALL);
	n = sizeof(sig);
	check(NM("sign"), f->C_Sign(h, data, sizeof(data), sig, &n), CKR_OK);
	check(NM("verify_init"), f->C_VerifyInit(h, m, pub), CKR_OK);
	check(NM("verify"), f->C_Verify(h, data, sizeof(data), sig, n), CKR_OK);
	check(NM("verify_ended"), f->C_Verify(h, data, sizeof(data), sig, n),
	    CKR_OPERATION_NOT_INITIALIZED);
	sig[n / 2] ^= 1;
	check(NM("verify_init2"), f->C_VerifyInit(h, m, pub), CKR_OK);
	check(NM("verify_bad"), f->C_Verify(h, data, sizeof(data), sig, n),
	    CKR_SIGNATURE_INVALID);
	sig[n / 2] ^= 1;
	check(NM("verify_bad_ended"), f->C_VerifyFinal(h, sig, n),
	    CKR_OPERATION_NOT_INITIALIZED);
	if (!multi)
		goto nullsig;
	/* Multi-part. */
	check(NM("multi_init"), f->C_SignInit(h, m, priv), CKR_OK);
	check(NM("update"), f->C_SignUpdate(h, data, 5), CKR_OK);
	check(NM("update2"), f->C_SignUpdate(h, data + 5, sizeof(data) - 5),
	    CKR_OK);
	n2 = 0;
	check(NM("final_length"), f->C_SignFinal(h, NULL, &n2), CKR_OK);
	n2 = sizeof(sig2);
	check(NM("final"), f->C_SignFinal(h, sig2, &n2), CKR_OK);
	check(NM("verify_multi_init"), f->C_VerifyInit(h, m, pub), CKR_OK);
	check(NM("verify_update"), f->C_VerifyUpdate(h, data, sizeof(data)),
	    CKR_OK);
	check(NM("verify_final"), f->C_VerifyFinal(h, sig2, n2), CKR_OK);
nullsig:
	check(NM("verify_null_sig_init"), f->C_VerifyInit(h, m, pub), CKR_OK);
	check(NM("verify_null_sig"), f->C_Verify(h, data, sizeof(data), NULL,
	    n), CKR_ARGUMENTS_BAD);
	check(NM("verify_null_sig_ended"), f->C_Verify(h, data, sizeof(data),
	    sig, n), CKR_OPERATION_NOT_INITIALIZED);
#undef NM
}

static void
g_sign(CK_SESSION_HANDLE h)
{
	CK_OBJECT_HANDLE pub, priv, sec;
	CK_ULONG bits = 2048, len = 32;
	CK_BYTE e[] = { 1, 0, 1 };
	/* DER OID 1.2.840.10045.3.1.7 (P-256). */
	CK_BYTE p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03,
	    0x01, 0x07 };
	CK_KEY_TYPE gk = CKK_GENERIC_SECRET;
	CK_ATTRIBUTE rpub[] = {
		{ CKA_MODULUS_BITS, &bits, sizeof(bits) },
		{ CKA_PUBLIC_EXPONENT, e, sizeof(e) },
		{ CKA_VERIFY, &yes, sizeof(yes) },
		{ CKA_TOKEN, &no, sizeof(no) },
	};
	CK_ATTRIBUTE rpriv[] = {
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_TOKEN, &no, sizeof(no) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
	};
	CK_ATTRIBUTE epub[] = {
		{ CKA_EC_PARAMS, p256, sizeof(p256) },
		{ CKA_VERIFY, &yes, sizeof(yes) },
		{ CKA_TOKEN, &no, sizeof(no) },
	};
	CK_ATTRIBUTE gsec[] = {
		{ CKA_VALUE_LEN, &len, sizeof(len) },
		{ CKA_KEY_TYPE, &gk, sizeof(gk) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_VERIFY, &yes, sizeof(yes) },
		{ CKA_TOKEN, &no, sizeof(no) },
	};
	CK_MECHANISM rgen = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_MECHANISM egen = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_MECHANISM ggen = { CKM_GENERIC_SECRET_KEY_GEN, NULL, 0 };
	CK_MECHANISM rs = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	CK_MECHANISM es = { CKM_ECDSA_SHA256, NULL, 0 };
	CK_MECHANISM hs = { CKM_SHA256_HMAC, NULL, 0 };
	CK_ATTRIBUTE a;
	CK_BYTE buf[8], sig[512];
	CK_ULONG n;
	CK_RV rv;

	if (has_mech(CKM_RSA_PKCS_KEY_PAIR_GEN) &&
	    has_mech(CKM_SHA256_RSA_PKCS) &&
	    check("rsa.keygen", f->C_GenerateKeyPair(h, &rgen, rpub, 4, rpriv,
	    3, &pub, &priv), CKR_OK)) {
		g_sign_one(h, "rsa", &rs, priv, pub, true);
		a = (CK_ATTRIBUTE){ CKA_PRIVATE_EXPONENT, buf, sizeof(buf) };
		check("rsa.private_exponent_sensitive",
		    f->C_GetAttributeValue(h, priv, &a, 1),
		    CKR_ATTRIBUTE_SENSITIVE);
		/* From C_SignInit or (Coffer) from the first data call. */
		if ((rv = f->C_SignInit(h, &rs, pub)) == CKR_OK) {
			n = sizeof(sig);
			rv = f->C_Sign(h, (CK_BYTE *)"x", 1, sig, &n);
		}
		check2("rsa.wrong_key_function", rv,
		    CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_KEY_TYPE_INCONSISTENT);
		n = sizeof(sig);
		check("rsa.wrong_key_function_ended", f->C_Sign(h,
		    (CK_BYTE *)"x", 1, sig, &n),
		    CKR_OPERATION_NOT_INITIALIZED);
		/* A mechanism the token does not list, with well-formed
		 * parameters of its family: CKR_MECHANISM_INVALID (from
		 * C_SignInit or the first data call), never PARAM_INVALID. */
		if (!has_mech(CKM_SHA3_256_RSA_PKCS_PSS)) {
			CK_RSA_PKCS_PSS_PARAMS pp = { CKM_SHA256,
			    CKG_MGF1_SHA256, 32 };
			CK_MECHANISM s3 = { CKM_SHA3_256_RSA_PKCS_PSS, &pp,
			    sizeof(pp) };

			if ((rv = f->C_SignInit(h, &s3, priv)) == CKR_OK) {
				n = sizeof(sig);
				rv = f->C_Sign(h, (CK_BYTE *)"x", 1, sig, &n);
			}
			check("rsa.unlisted_mechanism", rv,
			    CKR_MECHANISM_INVALID);
		}
	} else {
		skip_group("rsa", "no RSA");
	}
	if (!has_mech(CKM_ECDSA_SHA256))
		es.mechanism = CKM_ECDSA;	/* raw: single-part only */
	if (has_mech(CKM_EC_KEY_PAIR_GEN) && has_mech(es.mechanism) &&
	    check("ec.keygen", f->C_GenerateKeyPair(h, &egen, epub, 3, rpriv,
	    3, &pub, &priv), CKR_OK))
		g_sign_one(h, "ec", &es, priv, pub,
		    es.mechanism == CKM_ECDSA_SHA256);
	else
		skip_group("ec", "no ECDSA");
	if (has_mech(CKM_GENERIC_SECRET_KEY_GEN) && has_mech(CKM_SHA256_HMAC) &&
	    check("hmac.keygen", f->C_GenerateKey(h, &ggen, gsec, 5, &sec),
	    CKR_OK))
		g_sign_one(h, "hmac", &hs, sec, sec, true);
	else
		skip_group("hmac", "no HMAC");
	check("keygen.null_mech", f->C_GenerateKey(h, NULL, gsec, 5, &sec),
	    CKR_ARGUMENTS_BAD);
	check("keygen.null_handle", f->C_GenerateKey(h, &ggen, gsec, 5, NULL),
	    CKR_ARGUMENTS_BAD);
	check("keygen.null_template", f->C_GenerateKey(h, &ggen, NULL, 5,
	    &sec), CKR_ARGUMENTS_BAD);
	check("keygen.pair_null", f->C_GenerateKeyPair(h, &rgen, rpub, 4,
	    rpriv, 3, NULL, &priv), CKR_ARGUMENTS_BAD);
}

static void
g_wrap(CK_SESSION_HANDLE h)
{
	CK_MECHANISM w = { CKM_AES_KEY_WRAP, NULL, 0 };
	CK_MECHANISM ecb = { CKM_AES_ECB, NULL, 0 };
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_TOKEN, &no, sizeof(no) },
		{ CKA_ENCRYPT, &yes, sizeof(yes) },
		{ CKA_DECRYPT, &yes, sizeof(yes) },
	};
	CK_OBJECT_HANDLE kek, k, k2, nx;
	CK_BYTE wrapped[128], blk[16] = { 0 }, c1[16], c2[16];
	CK_ULONG n, n1 = 16, n2 = 16;

	if (!has_mech(CKM_AES_KEY_WRAP) || !has_mech(CKM_AES_ECB) ||
	    !has_mech(CKM_AES_KEY_GEN)) {
		skip_group("wrap", "no AES key wrap");
		return;
	}
	if (!check("wrap.keygen", make_aes(h, CK_FALSE, &kek), CKR_OK) ||
	    !check("wrap.keygen2", make_aes(h, CK_TRUE, &k), CKR_OK) ||
	    !check("wrap.keygen3", make_aes(h, CK_FALSE, &nx), CKR_OK))
		return;
	check("wrap.null_len", f->C_WrapKey(h, &w, kek, k, wrapped, NULL),
	    CKR_ARGUMENTS_BAD);
	check2("wrap.bad_wrapping_key", f->C_WrapKey(h, &w, 0xDEADBEEF, k,
	    wrapped, &n), CKR_WRAPPING_KEY_HANDLE_INVALID,
	    CKR_OBJECT_HANDLE_INVALID);
	n = 0;
	check("wrap.length", f->C_WrapKey(h, &w, kek, k, NULL, &n), CKR_OK);
	truth("wrap.length_value", n == 40, "length %lu", n);
	n = 8;
	check("wrap.too_small", f->C_WrapKey(h, &w, kek, k, wrapped, &n),
	    CKR_BUFFER_TOO_SMALL);
	n = sizeof(wrapped);
	check("wrap.wrap", f->C_WrapKey(h, &w, kek, k, wrapped, &n), CKR_OK);
	check("wrap.unextractable", f->C_WrapKey(h, &w, kek, nx, wrapped + 64,
	    &n1), CKR_KEY_UNEXTRACTABLE);
	check("wrap.unwrap_null", f->C_UnwrapKey(h, &w, kek, NULL, n, t, 5,
	    &k2), CKR_ARGUMENTS_BAD);
	if (!check("wrap.unwrap", f->C_UnwrapKey(h, &w, kek, wrapped, n, t, 5,
	    &k2), CKR_OK))
		return;
	n1 = n2 = 16;
	if (f->C_EncryptInit(h, &ecb, k) == CKR_OK &&
	    f->C_Encrypt(h, blk, 16, c1, &n1) == CKR_OK &&
	    f->C_EncryptInit(h, &ecb, k2) == CKR_OK &&
	    f->C_Encrypt(h, blk, 16, c2, &n2) == CKR_OK)
		truth("wrap.same_key", memcmp(c1, c2, 16) == 0,
		    "unwrapped key differs");
	else
		truth("wrap.same_key", false, "ECB with the keys failed");
	wrapped[3] ^= 1;
	check("wrap.corrupt", f->C_UnwrapKey(h, &w, kek, wrapped, n, t, 5,
	    &k2), CKR_WRAPPED_KEY_INVALID);
}

static void
g_random(CK_SESSION_HANDLE h)
{
	CK_BYTE a[32] = { 0 }, z[32] = { 0 };
	CK_RV rv;

	check("random.null", f->C_GenerateRandom(h, NULL, 16),
	    CKR_ARGUMENTS_BAD);
	check("random.zero", f->C_GenerateRandom(h, a, 0), CKR_OK);
	check("random.ok", f->C_GenerateRandom(h, a, sizeof(a)), CKR_OK);
	truth("random.nonzero", memcmp(a, z, sizeof(a)) != 0, "all zero");
	{
		/* More than one node request (1 MiB each on Coffer). */
		size_t big = 3 * 1024 * 1024 + 5;
		CK_BYTE *b = calloc(1, big);

		if (b != NULL) {
			check("random.big", f->C_GenerateRandom(h, b, big),
			    CKR_OK);
			truth("random.big_tail", memcmp(b + big - 32, z, 32) !=
			    0, "tail all zero");
			free(b);
		}
	}
	check("random.bad_session", f->C_GenerateRandom(0xDEADBEEF, a, 8),
	    CKR_SESSION_HANDLE_INVALID);
	rv = f->C_SeedRandom(h, a, sizeof(a));
	check2("random.seed", rv == CKR_RANDOM_NO_RNG ?
	    CKR_RANDOM_SEED_NOT_SUPPORTED : rv, CKR_OK,
	    CKR_RANDOM_SEED_NOT_SUPPORTED);
}

/* COFFER_GCM_GENERATE_IV of include/coffer/coffer_objects.h: the node
 * makes the GCM IV and writes it to pIv (Coffer only). */
#define COFFER_GCM_GENERATE_IV ((CK_ULONG)0x434F4956UL)

static bool
is_coffer(void)
{
	CK_INFO info;

	return f->C_GetInfo(&info) == CKR_OK &&
	    memcmp(info.manufacturerID, "Coffer", 6) == 0;
}

/* AES-GCM with the caller's IV, and (Coffer) with a node-made IV. */
static void
g_gcm(CK_SESSION_HANDLE h)
{
	CK_BYTE iv[12] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2 };
	CK_BYTE giv[12] = { 0 }, zero[12] = { 0 }, aad[5] = "head";
	CK_GCM_PARAMS gp = { iv, sizeof(iv), 96, aad, 4, 128 };
	CK_MECHANISM m = { CKM_AES_GCM, &gp, sizeof(gp) };
	CK_BYTE pt[33], ct[128], back[128];
	CK_ULONG n, ctlen;
	CK_OBJECT_HANDLE k;

	if (!has_mech(CKM_AES_KEY_GEN) || !has_mech(CKM_AES_GCM)) {
		skip_group("gcm", "no AES-GCM");
		return;
	}
	memset(pt, 'g', sizeof(pt));
	if (!check("gcm.keygen", make_aes(h, CK_FALSE, &k), CKR_OK))
		return;
	check("gcm.param_len", f->C_EncryptInit(h, &(CK_MECHANISM){
	    CKM_AES_GCM, &gp, sizeof(gp) - 1 }, k),
	    CKR_MECHANISM_PARAM_INVALID);
	check("gcm.init", f->C_EncryptInit(h, &m, k), CKR_OK);
	n = sizeof(ct);
	check("gcm.encrypt", f->C_Encrypt(h, pt, sizeof(pt), ct, &n), CKR_OK);
	truth("gcm.length", n == sizeof(pt) + 16, "length %lu", n);
	ctlen = n;
	check("gcm.decrypt_init", f->C_DecryptInit(h, &m, k), CKR_OK);
	n = sizeof(back);
	check("gcm.decrypt", f->C_Decrypt(h, ct, ctlen, back, &n), CKR_OK);
	truth("gcm.roundtrip", n == sizeof(pt) && memcmp(back, pt,
	    sizeof(pt)) == 0, "plaintext differs");
	ct[3] ^= 1;
	check("gcm.decrypt_init2", f->C_DecryptInit(h, &m, k), CKR_OK);
	n = sizeof(back);
	check2("gcm.tampered", f->C_Decrypt(h, ct, ctlen, back, &n),
	    CKR_ENCRYPTED_DATA_INVALID, CKR_ENCRYPTED_DATA_LEN_RANGE);
	if (!is_coffer()) {
		skip_group("gcm.node_iv", "Coffer convention");
		return;
	}
	/* Node-made IV, single-part: written to pIv by C_Encrypt. */
	gp = (CK_GCM_PARAMS){ giv, sizeof(giv), COFFER_GCM_GENERATE_IV, aad,
	    4, 128 };
	check("gcm.node_iv_init", f->C_EncryptInit(h, &m, k), CKR_OK);
	n = 0;
	check("gcm.node_iv_length", f->C_Encrypt(h, pt, sizeof(pt), NULL, &n),
	    CKR_OK);
	n = sizeof(ct);
	check("gcm.node_iv_encrypt", f->C_Encrypt(h, pt, sizeof(pt), ct, &n),
	    CKR_OK);
	ctlen = n;
	truth("gcm.node_iv_written", memcmp(giv, zero, sizeof(giv)) != 0,
	    "pIv not written");
	gp = (CK_GCM_PARAMS){ giv, sizeof(giv), 96, aad, 4, 128 };
	check("gcm.node_iv_decrypt_init", f->C_DecryptInit(h, &m, k), CKR_OK);
	n = sizeof(back);
	check("gcm.node_iv_decrypt", f->C_Decrypt(h, ct, ctlen, back, &n),
	    CKR_OK);
	truth("gcm.node_iv_roundtrip", n == sizeof(pt) && memcmp(back, pt,
	    sizeof(pt)) == 0, "plaintext differs");
	/* Multi-part: written by the first C_EncryptUpdate. */
	memset(giv, 0, sizeof(giv));
	gp = (CK_GCM_PARAMS){ giv, sizeof(giv), COFFER_GCM_GENERATE_IV, aad,
	    4, 128 };
	check("gcm.node_iv_multi_init", f->C_EncryptInit(h, &m, k), CKR_OK);
	n = sizeof(ct);
	check("gcm.node_iv_update", f->C_EncryptUpdate(h, pt, 10, ct, &n),
	    CKR_OK);
	ctlen = n;
	truth("gcm.node_iv_update_written", memcmp(giv, zero, sizeof(giv)) !=
	    0, "pIv not written");
	n = sizeof(ct) - ctlen;
	check("gcm.node_iv_update2", f->C_EncryptUpdate(h, pt + 10,
	    sizeof(pt) - 10, ct + ctlen, &n), CKR_OK);
	ctlen += n;
	n = sizeof(ct) - ctlen;
	check("gcm.node_iv_final", f->C_EncryptFinal(h, ct + ctlen, &n),
	    CKR_OK);
	ctlen += n;
	gp = (CK_GCM_PARAMS){ giv, sizeof(giv), 96, aad, 4, 128 };
	check("gcm.node_iv_multi_decrypt_init", f->C_DecryptInit(h, &m, k),
	    CKR_OK);
	n = sizeof(back);
	check("gcm.node_iv_multi_decrypt", f->C_Decrypt(h, ct, ctlen, back,
	    &n), CKR_OK);
	truth("gcm.node_iv_multi_roundtrip", n == sizeof(pt) && memcmp(back,
	    pt, sizeof(pt)) == 0, "plaintext differs");
	/* Decryption cannot ask for a new IV; a short buffer is refused. */
	gp = (CK_GCM_PARAMS){ giv, sizeof(giv), COFFER_GCM_GENERATE_IV, aad,
	    4, 128 };
	check("gcm.node_iv_decrypt_refused", f->C_DecryptInit(h, &m, k),
	    CKR_MECHANISM_PARAM_INVALID);
	gp.ulIvLen = 8;
	check("gcm.node_iv_short", f->C_EncryptInit(h, &m, k),
	    CKR_MECHANISM_PARAM_INVALID);
}

/* C_SetPIN changes the logged-in user's PIN; a wrong old PIN changes
 * nothing and keeps the login. */
static void
g_setpin(CK_SESSION_HANDLE h)
{
	CK_SESSION_HANDLE ro;
	char newpin[300], bad[300];
	CK_RV rv;

	snprintf(newpin, sizeof(newpin), "%s9x", pin);
	snprintf(bad, sizeof(bad), "%sWRONG", pin);
	check("setpin.null", f->C_SetPIN(h, NULL, 0, (CK_UTF8CHAR *)newpin,
	    strlen(newpin)), CKR_ARGUMENTS_BAD);
	if (f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ro) ==
	    CKR_OK) {
		check("setpin.ro_session", f->C_SetPIN(ro, (CK_UTF8CHAR *)pin,
		    strlen(pin), (CK_UTF8CHAR *)newpin, strlen(newpin)),
		    CKR_SESSION_READ_ONLY);
		f->C_CloseSession(ro);
	}
	check("setpin.wrong_old", f->C_SetPIN(h, (CK_UTF8CHAR *)bad,
	    strlen(bad), (CK_UTF8CHAR *)newpin, strlen(newpin)),
	    CKR_PIN_INCORRECT);
	check("setpin.still_logged_in", f->C_GenerateRandom(h,
	    (CK_BYTE *)bad, 4), CKR_OK);
	if (!check("setpin.change", f->C_SetPIN(h, (CK_UTF8CHAR *)pin,
	    strlen(pin), (CK_UTF8CHAR *)newpin, strlen(newpin)), CKR_OK))
		return;
	check("setpin.logout", f->C_Logout(h), CKR_OK);
	check("setpin.old_refused", login(h), CKR_PIN_INCORRECT);
	check("setpin.new_login", f->C_Login(h, CKU_USER,
	    (CK_UTF8CHAR *)newpin, strlen(newpin)), CKR_OK);
	rv = f->C_SetPIN(h, (CK_UTF8CHAR *)newpin, strlen(newpin),
	    (CK_UTF8CHAR *)pin, strlen(pin));
	if (!check("setpin.restore", rv, CKR_OK))
		printf("  the user PIN is now %s\n", newpin);
}

/* --- derive -------------------------------------------------------------- */

/* PKCS#11 3.0 §2.42 SP 800-108 parameters (p11-kit 0.24 predates them). */
#ifndef CKM_SP800_108_COUNTER_KDF
#define CKM_SP800_108_COUNTER_KDF	(0x3acUL)
#define CK_SP800_108_ITERATION_VARIABLE	(0x1UL)
#define CK_SP800_108_DKM_LENGTH		(0x3UL)
#define CK_SP800_108_BYTE_ARRAY		(0x4UL)
#define CK_SP800_108_DKM_LENGTH_SUM_OF_KEYS	(0x1UL)
typedef struct CK_PRF_DATA_PARAM {
	CK_ULONG	 type;
	void		*pValue;
	CK_ULONG	 ulValueLen;
} CK_PRF_DATA_PARAM;
typedef struct CK_SP800_108_COUNTER_FORMAT {
	CK_BBOOL	 bLittleEndian;
	CK_ULONG	 ulWidthInBits;
} CK_SP800_108_COUNTER_FORMAT;
typedef struct CK_SP800_108_DKM_LENGTH_FORMAT {
	CK_ULONG	 dkmLengthMethod;
	CK_BBOOL	 bLittleEndian;
	CK_ULONG	 ulWidthInBits;
} CK_SP800_108_DKM_LENGTH_FORMAT;
typedef struct CK_SP800_108_KDF_PARAMS {
	CK_MECHANISM_TYPE	 prfType;
	CK_ULONG		 ulNumberOfDataParams;
	CK_PRF_DATA_PARAM	*pDataParams;
	CK_ULONG		 ulAdditionalDerivedKeys;
	void			*pAdditionalDerivedKeys;
} CK_SP800_108_KDF_PARAMS;
#endif

/* The block both sides encrypt (AES-ECB) or MAC (HMAC-SHA256). */
static const CK_BYTE probe_blk[16] = "p11conf derive.";

/* A derived secret key (session, sensitive) of type kt and len bytes;
 * AES keys may encrypt, generic secrets sign (HMAC). */
static CK_RV
derive(CK_SESSION_HANDLE h, CK_MECHANISM *m, CK_OBJECT_HANDLE base,
    CK_KEY_TYPE kt, CK_ULONG len, CK_OBJECT_HANDLE *k)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_VALUE_LEN, &len, sizeof(len) },
		{ CKA_TOKEN, &no, sizeof(no) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ kt == CKK_AES ? CKA_ENCRYPT : CKA_SIGN, &yes, sizeof(yes) },
	};

	return f->C_DeriveKey(h, m, base, t, sizeof(t) / sizeof(t[0]), k);
}

/* What a key of value ref gives on probe_blk, computed by OpenSSL. */
static bool
sw_probe(CK_KEY_TYPE kt, const uint8_t *ref, size_t rl, uint8_t *out,
    size_t *outl)
{
	EVP_CIPHER_CTX *c;
	EVP_CIPHER *ciph;
	char name[32];
	int n = 0;
	bool ok;

	if (kt != CKK_AES)
		return EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, ref, rl,
		    probe_blk, sizeof(probe_blk), out, 32, outl) != NULL;
	snprintf(name, sizeof(name), "AES-%zu-ECB", rl * 8);
	ciph = EVP_CIPHER_fetch(NULL, name, NULL);
	c = EVP_CIPHER_CTX_new();
	ok = ciph != NULL && c != NULL &&
	    EVP_EncryptInit_ex2(c, ciph, ref, NULL, NULL) == 1 &&
	    EVP_CIPHER_CTX_set_padding(c, 0) == 1 &&
	    EVP_EncryptUpdate(c, out, &n, probe_blk, sizeof(probe_blk)) == 1 &&
	    n == 16;
	*outl = (size_t)n;
	EVP_CIPHER_CTX_free(c);
	EVP_CIPHER_free(ciph);
	return ok;
}

/* The token's key k on probe_blk: one AES-ECB block or HMAC-SHA256. */
static CK_RV
token_probe(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k, CK_KEY_TYPE kt,
    uint8_t *out, CK_ULONG *outl)
{
	CK_MECHANISM ecb = { CKM_AES_ECB, NULL, 0 };
	CK_MECHANISM hm = { CKM_SHA256_HMAC, NULL, 0 };
	CK_RV rv;

	if (kt == CKK_AES) {
		if ((rv = f->C_EncryptInit(h, &ecb, k)) == CKR_OK)
			rv = f->C_Encrypt(h, (CK_BYTE *)probe_blk,
			    sizeof(probe_blk), out, outl);
	} else {
		if ((rv = f->C_SignInit(h, &hm, k)) == CKR_OK)
			rv = f->C_Sign(h, (CK_BYTE *)probe_blk,
			    sizeof(probe_blk), out, outl);
	}
	return rv;
}

/* The derived key k behaves as a key of value ref: compared by use, never
 * by reading it (it is sensitive). */
static void
same_key(CK_SESSION_HANDLE h, const char *name, CK_OBJECT_HANDLE k,
    CK_KEY_TYPE kt, const uint8_t *ref, size_t rl)
{
	uint8_t a[32], b[32];
	CK_ULONG al = sizeof(a);
	size_t bl = 0;
	CK_RV rv;

	if ((rv = token_probe(h, k, kt, a, &al)) != CKR_OK) {
		truth(name, false, "%s with the derived key: %s", kt ==
		    CKK_AES ? "AES-ECB" : "HMAC", rvn(rv));
		return;
	}
	if (!sw_probe(kt, ref, rl, b, &bl)) {
		truth(name, false, "OpenSSL reference failed");
		return;
	}
	truth(name, al == bl && memcmp(a, b, bl) == 0,
	    "the derived key differs from the reference");
}

/* ANSI X9.63 KDF (SEC 1 §3.6.1) with SHA-256, by OpenSSL. */
static bool
sw_x963(const uint8_t *z, size_t zl, const uint8_t *info, size_t il,
    uint8_t *out, size_t len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "X963KDF", NULL);
	EVP_KDF_CTX *c = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM p[4], *pp = p;
	bool ok;

	*pp++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	*pp++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)z, zl);
	if (il > 0)
		*pp++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
		    (void *)info, il);
	*pp = OSSL_PARAM_construct_end();
	ok = c != NULL && EVP_KDF_derive(c, out, len, p) == 1;
	EVP_KDF_CTX_free(c);
	EVP_KDF_free(kdf);
	return ok;
}

/* SP 800-108 counter mode, HMAC-SHA256, 32-bit big-endian counter first,
 * then the fixed input and (use_l) a 32-bit big-endian L, by OpenSSL:
 * its KBKDF input is [i] || label || 00 || context || [L], here with
 * the fixed input as the label and no separator. */
static bool
sw_kbkdf(const uint8_t *k, size_t kl, const uint8_t *fx, size_t fl,
    int use_l, uint8_t *out, size_t len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "KBKDF", NULL);
	EVP_KDF_CTX *c = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	int sep = 0;
	OSSL_PARAM p[8];
	bool ok;

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE,
	    (char *)"counter", 0);
	p[1] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC,
	    (char *)"HMAC", 0);
	p[2] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)k, kl);
	p[4] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)fx, fl);
	p[5] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_KBKDF_USE_L, &use_l);
	p[6] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_KBKDF_USE_SEPARATOR,
	    &sep);
	p[7] = OSSL_PARAM_construct_end();
	ok = c != NULL && EVP_KDF_derive(c, out, len, p) == 1;
	EVP_KDF_CTX_free(c);
	EVP_KDF_free(kdf);
	return ok;
}

/* A P-256 public key from its uncompressed point. */
static EVP_PKEY *
p256_public(const uint8_t *pt, size_t n)
{
	OSSL_PARAM p[3];
	EVP_PKEY_CTX *c;
	EVP_PKEY *k = NULL;

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    (char *)"prime256v1", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)pt, n);
	p[2] = OSSL_PARAM_construct_end();
	if ((c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(c) != 1 ||
	    EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, p) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(c);
	return k;
}

/* Z = x(d_peer * Q_token), the ECDH shared secret, by OpenSSL. */
static bool
sw_ecdh(EVP_PKEY *mine, EVP_PKEY *theirs, uint8_t *z, size_t *zl)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
	bool ok;

	ok = c != NULL && EVP_PKEY_derive_init(c) == 1 &&
	    EVP_PKEY_derive_set_peer(c, theirs) == 1 &&
	    EVP_PKEY_derive(c, z, zl) == 1;
	EVP_PKEY_CTX_free(c);
	return ok;
}

/* An EC P-256 key pair in the token; derive says CKA_DERIVE of the
 * private key. */
static CK_RV
make_p256(CK_SESSION_HANDLE h, CK_BBOOL derive, CK_OBJECT_HANDLE *pub,
    CK_OBJECT_HANDLE *priv)
{
	/* DER OID 1.2.840.10045.3.1.7 (P-256). */
	static CK_BYTE p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
	    0x03, 0x01, 0x07 };
	CK_MECHANISM m = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_ATTRIBUTE pt[] = {
		{ CKA_EC_PARAMS, p256, sizeof(p256) },
		{ CKA_TOKEN, &no, sizeof(no) },
	};
	CK_ATTRIBUTE vt[] = {
		{ CKA_DERIVE, &derive, sizeof(derive) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_TOKEN, &no, sizeof(no) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
	};

	return f->C_GenerateKeyPair(h, &m, pt, 2, vt, 4, pub, priv);
}

/*
 * CKM_ECDH1_DERIVE with a token P-256 key and a software peer: the
 * derived AES key (CKD_NULL: Z itself, 32 bytes for P-256, so no
 * truncation rule is involved; CKD_SHA256_KDF: X9.63 KDF of Z) must
 * encrypt a block as OpenSSL does under the key computed from Z on the
 * software side with the token's CKA_EC_POINT.
 */
static void
g_derive_ecdh(CK_SESSION_HANDLE h)
{
	static CK_BYTE shared[] = "p11conf X9.63 shared info";
	CK_ECDH1_DERIVE_PARAMS ep;
	CK_MECHANISM m = { CKM_ECDH1_DERIVE, &ep, sizeof(ep) };
	CK_OBJECT_HANDLE pub, priv, pub2, priv2, gs, k;
	CK_ULONG tpl = 0, len = 32, vl = 0;
	CK_KEY_TYPE gk = CKK_GENERIC_SECRET, kt = 0;
	CK_BBOOL local = CK_TRUE;
	CK_ATTRIBUTE a[4];
	EVP_PKEY *peer = NULL, *tok = NULL;
	uint8_t tp[160], pt[65], der[67], bad[65], z[32], dk[48], val[64];
	const uint8_t *raw = NULL;
	size_t ptl = 0, zl = sizeof(z);
	CK_RV rv;

	if (!check("derive.ecdh_keygen", make_p256(h, CK_TRUE, &pub, &priv),
	    CKR_OK))
		return;
	a[0] = (CK_ATTRIBUTE){ CKA_EC_POINT, tp, sizeof(tp) };
	if (!check("derive.ecdh_ec_point", f->C_GetAttributeValue(h, pub, a,
	    1), CKR_OK))
		return;
	tpl = a[0].ulValueLen;
	/* CKA_EC_POINT is a DER OCTET STRING (some modules give it raw). */
	if (tpl == 67 && tp[0] == 0x04 && tp[1] == 65 && tp[2] == 0x04)
		raw = tp + 2;
	else if (tpl == 65 && tp[0] == 0x04)
		raw = tp;
	if (!truth("derive.ecdh_ec_point_form", raw != NULL,
	    "CKA_EC_POINT is not an uncompressed P-256 point (%lu bytes)",
	    tpl))
		return;
	peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	tok = p256_public(raw, 65);
	if (!truth("derive.ecdh_openssl", peer != NULL && tok != NULL &&
	    EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_PUB_KEY, pt,
	    sizeof(pt), &ptl) == 1 && ptl == 65 && pt[0] == 0x04 &&
	    sw_ecdh(peer, tok, z, &zl) && zl == 32, "software peer or Z"))
		goto out;

	/* CKD_NULL, the peer point raw (X9.62 A.5.2, a MUST in 2.40). */
	ep = (CK_ECDH1_DERIVE_PARAMS){ CKD_NULL, 0, NULL, 65, pt };
	if (check("derive.ecdh_null", derive(h, &m, priv, CKK_AES, 32, &k),
	    CKR_OK)) {
		same_key(h, "derive.ecdh_null_value", k, CKK_AES, z, 32);
		a[0] = (CK_ATTRIBUTE){ CKA_VALUE, val, sizeof(val) };
		check("derive.ecdh_value_sensitive", f->C_GetAttributeValue(h,
		    k, a, 1), CKR_ATTRIBUTE_SENSITIVE);
		a[0] = (CK_ATTRIBUTE){ CKA_VALUE_LEN, &vl, sizeof(vl) };
		a[1] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, &kt, sizeof(kt) };
		a[2] = (CK_ATTRIBUTE){ CKA_LOCAL, &local, sizeof(local) };
		if (check("derive.ecdh_attrs", f->C_GetAttributeValue(h, k, a,
		    3), CKR_OK))
			truth("derive.ecdh_attr_values", vl == 32 &&
			    kt == CKK_AES && local == CK_FALSE,
			    "CKA_VALUE_LEN %lu CKA_KEY_TYPE %lu CKA_LOCAL %u",
			    vl, kt, local);
	}
	/* The DER OCTET STRING form is a MAY (2.40 §2.3.7); Coffer takes it
	 * (docs/MECHANISMS.md, src/crypto/ops_wrap.c peer_key). */
	der[0] = 0x04;
	der[1] = 65;
	memcpy(der + 2, pt, 65);
	ep = (CK_ECDH1_DERIVE_PARAMS){ CKD_NULL, 0, NULL, 67, der };
	rv = derive(h, &m, priv, CKK_AES, 32, &k);
	if (rv != CKR_OK && !is_coffer())
		skip_group("derive.ecdh_der", "raw points only");
	else if (check("derive.ecdh_der", rv, CKR_OK))
		same_key(h, "derive.ecdh_der_value", k, CKK_AES, z, 32);

	/*
	 * A 16-byte key from the 32-byte Z: PKCS#11 2.40 / 3.0 §2.3.9 (ECDH
	 * key derivation) "The truncation removes bytes from the leading end
	 * of the secret value", so the key is Z's rightmost 16 bytes
	 * (SoftHSMv2 2.6 does this; Coffer kept the leftmost bytes until
	 * this check found it).
	 */
	ep = (CK_ECDH1_DERIVE_PARAMS){ CKD_NULL, 0, NULL, 65, pt };
	if (check("derive.ecdh_null_short", derive(h, &m, priv, CKK_AES, 16,
	    &k), CKR_OK)) {
		uint8_t got[32], lo[32], hi[32];
		CK_ULONG gl = sizeof(got);
		size_t ll = 0, hl = 0;
		bool left, right;

		rv = token_probe(h, k, CKK_AES, got, &gl);
		left = rv == CKR_OK && sw_probe(CKK_AES, z, 16, lo, &ll) &&
		    gl == ll && memcmp(got, lo, ll) == 0;
		right = rv == CKR_OK && sw_probe(CKK_AES, z + 16, 16, hi,
		    &hl) && gl == hl && memcmp(got, hi, hl) == 0;
		truth("derive.ecdh_null_short_value", right,
		    "%s", rv != CKR_OK ? rvn(rv) : left ? "leftmost bytes of "
		    "Z, want the rightmost" : "neither half of Z");
	}

	/* CKD_SHA256_KDF (X9.63), without and with shared data. Which KDFs
	 * a module takes cannot be asked; SoftHSMv2 2.6 takes CKD_NULL only
	 * (MECHANISM_PARAM_INVALID). Coffer documents the X9.63 KDFs. */
	ep = (CK_ECDH1_DERIVE_PARAMS){ CKD_SHA256_KDF, 0, NULL, 65, pt };
	rv = derive(h, &m, priv, CKK_AES, 32, &k);
	if (rv == CKR_MECHANISM_PARAM_INVALID && !is_coffer()) {
		skip_group("derive.ecdh_sha256", "CKD_NULL only");
	} else {
		if (check("derive.ecdh_sha256", rv, CKR_OK)) {
			if (sw_x963(z, 32, NULL, 0, dk, 32))
				same_key(h, "derive.ecdh_sha256_value", k,
				    CKK_AES, dk, 32);
			else
				truth("derive.ecdh_sha256_value", false,
				    "OpenSSL X963KDF failed");
		}
		ep.ulSharedDataLen = sizeof(shared) - 1;
		ep.pSharedData = shared;
		if (check("derive.ecdh_sha256_shared", derive(h, &m, priv,
		    CKK_AES, 32, &k), CKR_OK)) {
			if (sw_x963(z, 32, shared, sizeof(shared) - 1, dk, 32))
				same_key(h, "derive.ecdh_sha256_shared_value",
				    k, CKK_AES, dk, 32);
			else
				truth("derive.ecdh_sha256_shared_value", false,
				    "OpenSSL X963KDF failed");
		}
		/* 48 bytes: two SHA-256 blocks (counters 1 and 2). */
		if (has_mech(CKM_SHA256_HMAC) &&
		    check("derive.ecdh_sha256_long", derive(h, &m, priv,
		    CKK_GENERIC_SECRET, 48, &k), CKR_OK)) {
			if (sw_x963(z, 32, shared, sizeof(shared) - 1, dk, 48))
				same_key(h, "derive.ecdh_sha256_long_value", k,
				    CKK_GENERIC_SECRET, dk, 48);
			else
				truth("derive.ecdh_sha256_long_value", false,
				    "OpenSSL X963KDF failed");
		}
	}

	/* Bad input. */
	ep = (CK_ECDH1_DERIVE_PARAMS){ CKD_NULL, 0, NULL, 65, pt };
	check("derive.null_mech", derive(h, NULL, priv, CKK_AES, 32, &k),
	    CKR_ARGUMENTS_BAD);
	{
		CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
		CK_KEY_TYPE akt = CKK_AES;
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_KEY_TYPE, &akt, sizeof(akt) },
			{ CKA_VALUE_LEN, &len, sizeof(len) },
			{ CKA_TOKEN, &no, sizeof(no) },
		};

		check("derive.null_handle", f->C_DeriveKey(h, &m, priv, t, 4,
		    NULL), CKR_ARGUMENTS_BAD);
	}
	/* A NULL pParameter with a non-zero length is both a bad pointer
	 * (ARGUMENTS_BAD) and bad mechanism parameters; PKCS#11 does not
	 * say which. */
	check2("derive.ecdh_null_param", derive(h, &(CK_MECHANISM){
	    CKM_ECDH1_DERIVE, NULL, sizeof(ep) }, priv, CKK_AES, 32, &k),
	    CKR_MECHANISM_PARAM_INVALID, CKR_ARGUMENTS_BAD);
	check("derive.ecdh_no_param", derive(h, &(CK_MECHANISM){
	    CKM_ECDH1_DERIVE, NULL, 0 }, priv, CKK_AES, 32, &k),
	    CKR_MECHANISM_PARAM_INVALID);
	check("derive.ecdh_param_len", derive(h, &(CK_MECHANISM){
	    CKM_ECDH1_DERIVE, &ep, sizeof(ep) - 1 }, priv, CKK_AES, 32, &k),
	    CKR_MECHANISM_PARAM_INVALID);
	ep = (CK_ECDH1_DERIVE_PARAMS){ CKD_NULL, 0, NULL, 0, NULL };
	check("derive.ecdh_no_public", derive(h, &m, priv, CKK_AES, 32, &k),
	    CKR_MECHANISM_PARAM_INVALID);
	ep = (CK_ECDH1_DERIVE_PARAMS){ CKD_NULL, sizeof(shared) - 1, shared,
	    65, pt };
	check("derive.ecdh_null_kdf_shared", derive(h, &m, priv, CKK_AES, 32,
	    &k), CKR_MECHANISM_PARAM_INVALID);
	ep = (CK_ECDH1_DERIVE_PARAMS){ 0x7EAD, 0, NULL, 65, pt };
	check("derive.ecdh_bad_kdf", derive(h, &m, priv, CKK_AES, 32, &k),
	    CKR_MECHANISM_PARAM_INVALID);
	/* A point off the curve (y changed): any error, never a key. */
	memcpy(bad, pt, sizeof(bad));
	bad[64] ^= 1;
	ep = (CK_ECDH1_DERIVE_PARAMS){ CKD_NULL, 0, NULL, 65, bad };
	rv = derive(h, &m, priv, CKK_AES, 32, &k);
	truth("derive.ecdh_not_on_curve", rv != CKR_OK, "got CKR_OK");
	if (verbose)
		printf("     (point not on the curve: %s)\n", rvn(rv));
	/* The truncated point (X only). */
	ep = (CK_ECDH1_DERIVE_PARAMS){ CKD_NULL, 0, NULL, 33, pt };
	rv = derive(h, &m, priv, CKK_AES, 32, &k);
	truth("derive.ecdh_short_point", rv != CKR_OK, "got CKR_OK");
	/* CKD_NULL gives Z (32 bytes): a longer key cannot be made.
	 * PKCS#11 names no code (Coffer: KEY_SIZE_RANGE; SoftHSMv2 2.6:
	 * FUNCTION_FAILED), so any error, never a key. */
	ep = (CK_ECDH1_DERIVE_PARAMS){ CKD_NULL, 0, NULL, 65, pt };
	rv = derive(h, &m, priv, CKK_GENERIC_SECRET, 48, &k);
	truth("derive.ecdh_null_too_long", rv != CKR_OK, "got CKR_OK");
	if (verbose)
		printf("     (48 bytes from a 32-byte Z: %s)\n", rvn(rv));
	check2("derive.bad_base", derive(h, &m, 0xDEADBEEF, CKK_AES, 32, &k),
	    CKR_KEY_HANDLE_INVALID, CKR_OBJECT_HANDLE_INVALID);
	/* The public key: it has no CKA_DERIVE (FUNCTION_NOT_PERMITTED) and
	 * is the wrong class for ECDH (TYPE_INCONSISTENT). */
	check2("derive.ecdh_public_base", derive(h, &m, pub, CKK_AES, 32, &k),
	    CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_KEY_TYPE_INCONSISTENT);
	if (check("derive.ecdh_keygen_noderive", make_p256(h, CK_FALSE,
	    &pub2, &priv2), CKR_OK))
		check("derive.ecdh_no_derive_attr", derive(h, &m, priv2,
		    CKK_AES, 32, &k), CKR_KEY_FUNCTION_NOT_PERMITTED);
	if (has_mech(CKM_GENERIC_SECRET_KEY_GEN)) {
		CK_MECHANISM gm = { CKM_GENERIC_SECRET_KEY_GEN, NULL, 0 };
		CK_ATTRIBUTE gt[] = {
			{ CKA_VALUE_LEN, &len, sizeof(len) },
			{ CKA_KEY_TYPE, &gk, sizeof(gk) },
			{ CKA_DERIVE, &yes, sizeof(yes) },
			{ CKA_TOKEN, &no, sizeof(no) },
		};

		if (check("derive.ecdh_secret_keygen", f->C_GenerateKey(h, &gm,
		    gt, 4, &gs), CKR_OK))
			check("derive.ecdh_wrong_key_type", derive(h, &m, gs,
			    CKK_AES, 32, &k), CKR_KEY_TYPE_INCONSISTENT);
	}
 out:
	OPENSSL_cleanse(z, sizeof(z));
	OPENSSL_cleanse(dk, sizeof(dk));
	EVP_PKEY_free(peer);
	EVP_PKEY_free(tok);
}

/*
 * NIST CAVP SP 800-108 KDFCTR_gen.rsp, [PRF=HMAC_SHA256]
 * [CTRLOCATION=BEFORE_FIXED] [RLEN=32_BITS], L = 128, COUNT = 0.
 */
static const uint8_t kbkdf_ki[32] = {
	0xdd, 0x1d, 0x91, 0xb7, 0xd9, 0x0b, 0x2b, 0xd3, 0x13, 0x85, 0x33,
	0xce, 0x92, 0xb2, 0x72, 0xfb, 0xf8, 0xa3, 0x69, 0x31, 0x6a, 0xef,
	0xe2, 0x42, 0xe6, 0x59, 0xcc, 0x0a, 0xe2, 0x38, 0xaf, 0xe0,
};
static const uint8_t kbkdf_fixed[60] = {
	0x01, 0x32, 0x2b, 0x96, 0xb3, 0x0a, 0xcd, 0x19, 0x79, 0x79, 0x44,
	0x4e, 0x46, 0x8e, 0x1c, 0x5c, 0x68, 0x59, 0xbf, 0x1b, 0x1c, 0xf9,
	0x51, 0xb7, 0xe7, 0x25, 0x30, 0x3e, 0x23, 0x7e, 0x46, 0xb8, 0x64,
	0xa1, 0x45, 0xfa, 0xb2, 0x5e, 0x51, 0x7b, 0x08, 0xf8, 0x68, 0x3d,
	0x03, 0x15, 0xbb, 0x29, 0x11, 0xd8, 0x0a, 0x0e, 0x8a, 0xba, 0x17,
	0xf3, 0xb4, 0x13, 0xfa, 0xac,
};
static const uint8_t kbkdf_ko[16] = {
	0x10, 0x62, 0x13, 0x42, 0xbf, 0xb0, 0xfd, 0x40, 0x04, 0x6c, 0x0e,
	0x29, 0xf2, 0xcf, 0xdb, 0xf0,
};

/*
 * The CAVP KI enters the token by unwrap (secret keys are refused by
 * value on Coffer): RSA-OAEP (SHA-256) under a token RSA key, the
 * wrapping done by OpenSSL with CKA_MODULUS / CKA_PUBLIC_EXPONENT.
 */
static bool
unwrap_known(CK_SESSION_HANDLE h, const uint8_t *v, size_t vl,
    CK_OBJECT_HANDLE *k)
{
	CK_MECHANISM rgen = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_RSA_PKCS_OAEP_PARAMS op = { CKM_SHA256, CKG_MGF1_SHA256,
	    CKZ_DATA_SPECIFIED, NULL, 0 };
	CK_MECHANISM oaep = { CKM_RSA_PKCS_OAEP, &op, sizeof(op) };
	CK_ULONG bits = 2048;
	CK_BYTE e[] = { 1, 0, 1 }, n[512], ee[16], wrapped[512];
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE gk = CKK_GENERIC_SECRET;
	CK_ATTRIBUTE pubt[] = {
		{ CKA_MODULUS_BITS, &bits, sizeof(bits) },
		{ CKA_PUBLIC_EXPONENT, e, sizeof(e) },
		{ CKA_WRAP, &yes, sizeof(yes) },
		{ CKA_TOKEN, &no, sizeof(no) },
	};
	CK_ATTRIBUTE privt[] = {
		{ CKA_UNWRAP, &yes, sizeof(yes) },
		{ CKA_TOKEN, &no, sizeof(no) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
	};
	CK_ATTRIBUTE ut[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &gk, sizeof(gk) },
		{ CKA_TOKEN, &no, sizeof(no) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_DERIVE, &yes, sizeof(yes) },
	};
	CK_ATTRIBUTE a[2];
	CK_OBJECT_HANDLE pub, priv;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *prm = NULL;
	EVP_PKEY_CTX *c = NULL;
	EVP_PKEY *rsa = NULL;
	BIGNUM *bn = NULL, *be = NULL;
	size_t wl = sizeof(wrapped);
	bool ok = false;

	if (!check("derive.kbkdf_rsa_keygen", f->C_GenerateKeyPair(h, &rgen,
	    pubt, 4, privt, 3, &pub, &priv), CKR_OK))
		return false;
	a[0] = (CK_ATTRIBUTE){ CKA_MODULUS, n, sizeof(n) };
	a[1] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, ee, sizeof(ee) };
	if (!check("derive.kbkdf_rsa_public", f->C_GetAttributeValue(h, pub,
	    a, 2), CKR_OK))
		return false;
	if ((bn = BN_bin2bn(n, (int)a[0].ulValueLen, NULL)) == NULL ||
	    (be = BN_bin2bn(ee, (int)a[1].ulValueLen, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) != 1 ||
	    (prm = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(c) != 1 ||
	    EVP_PKEY_fromdata(c, &rsa, EVP_PKEY_PUBLIC_KEY, prm) != 1)
		goto out;
	EVP_PKEY_CTX_free(c);
	if ((c = EVP_PKEY_CTX_new_from_pkey(NULL, rsa, NULL)) == NULL ||
	    EVP_PKEY_encrypt_init(c) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md_name(c, "SHA256", NULL) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md_name(c, "SHA256", NULL) != 1 ||
	    EVP_PKEY_encrypt(c, wrapped, &wl, v, vl) != 1)
		goto out;
	ok = check("derive.kbkdf_unwrap", f->C_UnwrapKey(h, &oaep, priv,
	    wrapped, wl, ut, 5, k), CKR_OK);
 out:
	if (!ok)
		truth("derive.kbkdf_base", false, "no base key (OpenSSL %s)",
		    rsa == NULL ? "RSA public key" : "or unwrap");
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(rsa);
	OSSL_PARAM_free(prm);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return ok;
}

/*
 * CKM_SP800_108_COUNTER_KDF, PRF HMAC-SHA256, from the CAVP KI: the
 * CAVP vector itself (AES-128 key = KO), then other fixed inputs and
 * [L] against OpenSSL's KBKDF.
 */
static void
g_derive_kbkdf(CK_SESSION_HANDLE h)
{
	static CK_BYTE label[] = "p11conf SP 800-108 fixed input";
	CK_SP800_108_COUNTER_FORMAT cf = { CK_FALSE, 32 };
	CK_SP800_108_DKM_LENGTH_FORMAT df = {
	    CK_SP800_108_DKM_LENGTH_SUM_OF_KEYS, CK_FALSE, 32 };
	CK_PRF_DATA_PARAM dp[3] = {
		{ CK_SP800_108_ITERATION_VARIABLE, &cf, sizeof(cf) },
		{ CK_SP800_108_BYTE_ARRAY, (void *)kbkdf_fixed,
		    sizeof(kbkdf_fixed) },
		{ CK_SP800_108_DKM_LENGTH, &df, sizeof(df) },
	};
	CK_SP800_108_KDF_PARAMS kp = { CKM_SHA256_HMAC, 2, dp, 0, NULL };
	CK_MECHANISM m = { CKM_SP800_108_COUNTER_KDF, &kp, sizeof(kp) };
	CK_OBJECT_HANDLE base, k, pub, priv;
	uint8_t dk[48];

	if (!unwrap_known(h, kbkdf_ki, sizeof(kbkdf_ki), &base))
		return;
	if (check("derive.kbkdf_cavp", derive(h, &m, base, CKK_AES, 16, &k),
	    CKR_OK))
		same_key(h, "derive.kbkdf_cavp_value", k, CKK_AES, kbkdf_ko,
		    sizeof(kbkdf_ko));
	/* Another fixed input, AES-256. */
	dp[1] = (CK_PRF_DATA_PARAM){ CK_SP800_108_BYTE_ARRAY, label,
	    sizeof(label) - 1 };
	if (check("derive.kbkdf_aes256", derive(h, &m, base, CKK_AES, 32, &k),
	    CKR_OK)) {
		if (sw_kbkdf(kbkdf_ki, 32, label, sizeof(label) - 1, 0, dk, 32))
			same_key(h, "derive.kbkdf_aes256_value", k, CKK_AES,
			    dk, 32);
		else
			truth("derive.kbkdf_aes256_value", false,
			    "OpenSSL KBKDF failed");
	}
	/* With [L]_32 after the fixed input, 48 bytes: two PRF blocks. */
	kp.ulNumberOfDataParams = 3;
	if (has_mech(CKM_SHA256_HMAC) && check("derive.kbkdf_long",
	    derive(h, &m, base, CKK_GENERIC_SECRET, 48, &k), CKR_OK)) {
		if (sw_kbkdf(kbkdf_ki, 32, label, sizeof(label) - 1, 1, dk, 48))
			same_key(h, "derive.kbkdf_long_value", k,
			    CKK_GENERIC_SECRET, dk, 48);
		else
			truth("derive.kbkdf_long_value", false,
			    "OpenSSL KBKDF failed");
	}
	/* Bad input: every error here is in the parameters. */
	kp.ulNumberOfDataParams = 2;
	check("derive.kbkdf_param_len", derive(h, &(CK_MECHANISM){
	    CKM_SP800_108_COUNTER_KDF, &kp, sizeof(kp) - 1 }, base, CKK_AES,
	    32, &k), CKR_MECHANISM_PARAM_INVALID);
	check2("derive.kbkdf_null_param", derive(h, &(CK_MECHANISM){
	    CKM_SP800_108_COUNTER_KDF, NULL, sizeof(kp) }, base, CKK_AES, 32,
	    &k), CKR_MECHANISM_PARAM_INVALID, CKR_ARGUMENTS_BAD);
	kp.pDataParams = dp + 1;
	kp.ulNumberOfDataParams = 1;
	check("derive.kbkdf_no_counter", derive(h, &m, base, CKK_AES, 32, &k),
	    CKR_MECHANISM_PARAM_INVALID);
	kp.pDataParams = NULL;
	check("derive.kbkdf_null_data", derive(h, &m, base, CKK_AES, 32, &k),
	    CKR_MECHANISM_PARAM_INVALID);
	kp = (CK_SP800_108_KDF_PARAMS){ CKM_VENDOR_DEFINED | 0x7EAD, 2, dp,
	    0, NULL };
	check("derive.kbkdf_bad_prf", derive(h, &m, base, CKK_AES, 32, &k),
	    CKR_MECHANISM_PARAM_INVALID);
	kp.prfType = CKM_SHA256_HMAC;
	cf.ulWidthInBits = 12;
	check("derive.kbkdf_bad_width", derive(h, &m, base, CKK_AES, 32, &k),
	    CKR_MECHANISM_PARAM_INVALID);
	cf.ulWidthInBits = 32;
	/* An EC private key with CKA_DERIVE is the wrong type. */
	if (has_mech(CKM_EC_KEY_PAIR_GEN) && check("derive.kbkdf_ec_keygen",
	    make_p256(h, CK_TRUE, &pub, &priv), CKR_OK))
		check("derive.kbkdf_wrong_key_type", derive(h, &m, priv,
		    CKK_AES, 32, &k), CKR_KEY_TYPE_INCONSISTENT);
	OPENSSL_cleanse(dk, sizeof(dk));
}

/* C_DeriveKey: ECDH (P-256) and SP 800-108 counter mode, each checked
 * against OpenSSL by using the derived key, skipped when the module
 * does not list the mechanism. */
static void
g_derive(CK_SESSION_HANDLE h)
{
	if (has_mech(CKM_ECDH1_DERIVE) && has_mech(CKM_EC_KEY_PAIR_GEN) &&
	    has_mech(CKM_AES_ECB))
		g_derive_ecdh(h);
	else
		skip_group("derive.ecdh", "no ECDH or AES-ECB");
	if (has_mech(CKM_SP800_108_COUNTER_KDF) &&
	    has_mech(CKM_RSA_PKCS_KEY_PAIR_GEN) &&
	    has_mech(CKM_RSA_PKCS_OAEP) && has_mech(CKM_AES_ECB))
		g_derive_kbkdf(h);
	else
		skip_group("derive.kbkdf", "no SP 800-108 counter KDF");
}

static void
g_crypto(void)
{
	CK_SESSION_HANDLE h;

	if (open_rw(&h) != CKR_OK || login(h) != CKR_OK) {
		truth("crypto.setup", false, "cannot open session / log in");
		f->C_CloseAllSessions(slot);
		return;
	}
	/* Some modules (Coffer) list mechanisms only to a logged-in user. */
	if (mechs == NULL && f->C_GetMechanismList(slot, NULL, &nmechs) ==
	    CKR_OK && (mechs = calloc(nmechs + 1, sizeof(*mechs))) != NULL)
		(void)f->C_GetMechanismList(slot, mechs, &nmechs);
	g_digest(h);
	g_cipher(h);
	g_gcm(h);
	g_sign(h);
	g_wrap(h);
	g_derive(h);
	g_random(h);
	if (skipped("setpin.*"))
		skip_group("setpin", "skipped");
	else
		g_setpin(h);
	f->C_CloseAllSessions(slot);
}

/* --- threads ------------------------------------------------------------- */
#define NTHREADS 8

struct worker {
	unsigned per;		/* sessions held at once by this thread */
	int fails;
};

/* Each thread holds `per` sessions open at once (NTHREADS * per in
 * all), digests on every one, then closes them. */
static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
	CK_SESSION_HANDLE *hs;
	CK_BYTE out[32];
	CK_ULONG n;
	unsigned i;

	if ((hs = calloc(w->per, sizeof(*hs))) == NULL) {
		w->fails++;
		return NULL;
	}
	for (i = 0; i < w->per; i++)
		if (f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL,
		    &hs[i]) != CKR_OK)
			w->fails++;
	for (i = 0; i < w->per; i++) {
		if (hs[i] == CK_INVALID_HANDLE || !has_mech(CKM_SHA256))
			continue;
		n = sizeof(out);
		if (f->C_DigestInit(hs[i], &m) != CKR_OK ||
		    f->C_Digest(hs[i], (CK_BYTE *)"abc", 3, out, &n) !=
		    CKR_OK || n != 32 || memcmp(out, sha256_abc, 32) != 0)
			w->fails++;
	}
	for (i = 0; i < w->per; i++)
		if (hs[i] != CK_INVALID_HANDLE &&
		    f->C_CloseSession(hs[i]) != CKR_OK)
			w->fails++;
	free(hs);
	return NULL;
}

static int
run_threads(unsigned per)
{
	pthread_t t[NTHREADS];
	struct worker w[NTHREADS] = { 0 };
	int i, fails = 0;

	for (i = 0; i < NTHREADS; i++) {
		w[i].per = per;
		pthread_create(&t[i], NULL, worker_main, &w[i]);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		fails += w[i].fails;
	}
	return fails;
}

static void
g_threads(void)
{
	CK_C_INITIALIZE_ARGS a = { 0 };
	CK_SESSION_HANDLE h;
	unsigned per = (nsessions + NTHREADS - 1) / NTHREADS;
	int fails, before;

	/* Digest may need a login (it does on Coffer). */
	if (open_rw(&h) != CKR_OK || login(h) != CKR_OK) {
		truth("threads.setup", false, "cannot log in");
		return;
	}
	fails = run_threads(per);
	truth("threads.sessions", fails == 0, "%d failures, %u sessions in "
	    "%d threads", fails, per * NTHREADS, NTHREADS);
	f->C_CloseAllSessions(slot);
	/* Again with the application's mutex callbacks only. */
	check("threads.finalize", f->C_Finalize(NULL), CKR_OK);
	a.CreateMutex = mx_create;
	a.DestroyMutex = mx_destroy;
	a.LockMutex = mx_lock;
	a.UnlockMutex = mx_unlock;
	check("threads.app_mutex_init", f->C_Initialize(&a), CKR_OK);
	before = __atomic_load_n(&mutex_calls, __ATOMIC_RELAXED);
	if (open_rw(&h) == CKR_OK && login(h) == CKR_OK) {
		fails = run_threads(per);
		truth("threads.app_mutex_sessions", fails == 0, "%d failures",
		    fails);
		truth("threads.app_mutex_used", __atomic_load_n(&mutex_calls,
		    __ATOMIC_RELAXED) > before, "callbacks not called");
	} else {
		truth("threads.app_mutex_setup", false, "cannot log in");
	}
	f->C_CloseAllSessions(slot);
	check("threads.finalize2", f->C_Finalize(NULL), CKR_OK);
	a = (CK_C_INITIALIZE_ARGS){ 0 };
	a.flags = CKF_OS_LOCKING_OK;
	check("threads.os_locking_init", f->C_Initialize(&a), CKR_OK);
}

/* --- fork ---------------------------------------------------------------- */
static void
g_fork(void)
{
	CK_INFO info;
	CK_SESSION_HANDLE h = 0;
	pid_t pid;
	int st = 0;

	if (open_rw(&h) != CKR_OK) {
		truth("fork.setup", false, "cannot open a session");
		return;
	}
	fflush(stdout);
	if ((pid = fork()) == 0) {
		int code = 0;

		/* The child inherits nothing usable (2.40 §6.6.1). */
		if (f->C_GetInfo(&info) != CKR_CRYPTOKI_NOT_INITIALIZED)
			code |= 1;
		if (f->C_CloseSession(h) != CKR_CRYPTOKI_NOT_INITIALIZED)
			code |= 2;
		if (f->C_Initialize(NULL) != CKR_OK)
			code |= 4;
		else if (f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL,
		    &h) != CKR_OK)
			code |= 8;
		/* ... and works on its own connections. */
		else if (login(h) != CKR_OK)
			code |= 16;
		else if (f->C_GenerateRandom(h, (CK_BYTE *)&info, 8) != CKR_OK)
			code |= 32;
		_exit(code);
	}
	waitpid(pid, &st, 0);
	truth("fork.child_not_initialized", WIFEXITED(st) &&
	    !(WEXITSTATUS(st) & 3), "child status %d", WEXITSTATUS(st));
	truth("fork.child_reinitialize", WIFEXITED(st) &&
	    !(WEXITSTATUS(st) & 12), "child status %d", WEXITSTATUS(st));
	truth("fork.child_works", WIFEXITED(st) &&
	    !(WEXITSTATUS(st) & 48), "child status %d", WEXITSTATUS(st));
	check("fork.parent_still_works", f->C_CloseSession(h), CKR_OK);
}

static void
usage(void)
{
	fprintf(stderr, "usage: p11conf --module PATH --pin PIN [--slot N] "
	    "[--so-pin PIN]\n               [--skip name,prefix*,...] "
	    "[--sessions N] [--verbose]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "module", required_argument, NULL, 'm' },
		{ "slot", required_argument, NULL, 's' },
		{ "pin", required_argument, NULL, 'p' },
		{ "so-pin", required_argument, NULL, 'o' },
		{ "skip", required_argument, NULL, 'k' },
		{ "sessions", required_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	CK_RV (*gfl)(CK_FUNCTION_LIST **);
	const char *module = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "m:s:p:o:k:n:v", opts, NULL)) !=
	    -1) {
		switch (c) {
		case 'm': module = optarg; break;
		case 's': slot = strtoul(optarg, NULL, 0); have_slot = true;
			break;
		case 'p': pin = optarg; break;
		case 'o': so_pin = optarg; break;
		case 'k':
			if (skip[0] != '\0')
				strncat(skip, ",", sizeof(skip) - strlen(skip) -
				    1);
			strncat(skip, optarg, sizeof(skip) - strlen(skip) - 1);
			break;
		case 'n': nsessions = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'v': verbose = true; break;
		default: usage();
		}
	}
	if (module == NULL || pin == NULL)
		usage();
	if ((dl = dlopen(module, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "p11conf: %s\n", dlerror());
		return 2;
	}
	if ((gfl = (CK_RV (*)(CK_FUNCTION_LIST **))dlsym(dl,
	    "C_GetFunctionList")) == NULL || gfl(&f) != CKR_OK || f == NULL) {
		fprintf(stderr, "p11conf: no C_GetFunctionList\n");
		return 2;
	}
	check("getfunctionlist.null", gfl(NULL), CKR_ARGUMENTS_BAD);
	g_iface();
	g_init();
	g_info();
	g_slots();
	if (!have_slot) {
		printf("no slot with a token; stopping\n");
		nfail++;
	} else {
		g_mechs();
		g_session();
		g_login();
		g_objects();
		g_crypto();
		g_threads();
		if (skipped("fork.*"))
			skip_group("fork", "skipped");
		else
			g_fork();
	}
	check("final.finalize", f->C_Finalize(NULL), CKR_OK);
	check("final.after", f->C_GetInfo(&(CK_INFO){ 0 }),
	    CKR_CRYPTOKI_NOT_INITIALIZED);
	free(mechs);
	printf("%d passed, %d failed, %d skipped\n", npass, nfail, nskip);
	return nfail == 0 ? 0 : 1;
}
