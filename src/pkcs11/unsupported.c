/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unsupported.c: the functions Coffer does not provide, each returning
 * what PKCS#11 allows (docs/INTEGRATIONS.md lists them): token
 * initialisation (done by the cluster ceremony), operation state, sign
 * and verify with recovery, dual-function updates, the 3.0 message-based
 * functions, and the legacy parallel-function calls.
 */
#include "p11.h"

#define NOT_SUPPORTED(decl)                                         \
	CK_RV decl                                                  \
	{                                                           \
		CK_RV rv;                                           \
		if ((rv = p11_check_init()) != CKR_OK)              \
			return rv;                                  \
		return CKR_FUNCTION_NOT_SUPPORTED;                  \
	}

NOT_SUPPORTED(C_InitToken(CK_SLOT_ID a, CK_UTF8CHAR_PTR b, CK_ULONG c,
    CK_UTF8CHAR_PTR d))
NOT_SUPPORTED(C_GetOperationState(CK_SESSION_HANDLE a, CK_BYTE_PTR b,
    CK_ULONG_PTR c))
NOT_SUPPORTED(C_SetOperationState(CK_SESSION_HANDLE a, CK_BYTE_PTR b,
    CK_ULONG c, CK_OBJECT_HANDLE d, CK_OBJECT_HANDLE e))
NOT_SUPPORTED(C_SignRecoverInit(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b,
    CK_OBJECT_HANDLE c))
NOT_SUPPORTED(C_SignRecover(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c,
    CK_BYTE_PTR d, CK_ULONG_PTR e))
NOT_SUPPORTED(C_VerifyRecoverInit(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b,
    CK_OBJECT_HANDLE c))
NOT_SUPPORTED(C_VerifyRecover(CK_SESSION_HANDLE a, CK_BYTE_PTR b,
    CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e))
NOT_SUPPORTED(C_DigestEncryptUpdate(CK_SESSION_HANDLE a, CK_BYTE_PTR b,
    CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e))
NOT_SUPPORTED(C_DecryptDigestUpdate(CK_SESSION_HANDLE a, CK_BYTE_PTR b,
    CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e))
NOT_SUPPORTED(C_SignEncryptUpdate(CK_SESSION_HANDLE a, CK_BYTE_PTR b,
    CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e))
NOT_SUPPORTED(C_DecryptVerifyUpdate(CK_SESSION_HANDLE a, CK_BYTE_PTR b,
    CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e))
NOT_SUPPORTED(C_MessageEncryptInit(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b,
    CK_OBJECT_HANDLE c))
NOT_SUPPORTED(C_EncryptMessage(CK_SESSION_HANDLE a, CK_VOID_PTR b,
    CK_ULONG c, CK_BYTE_PTR d, CK_ULONG e, CK_BYTE_PTR f, CK_ULONG g,
    CK_BYTE_PTR h, CK_ULONG_PTR i))
NOT_SUPPORTED(C_EncryptMessageBegin(CK_SESSION_HANDLE a, CK_VOID_PTR b,
    CK_ULONG c, CK_BYTE_PTR d, CK_ULONG e))
NOT_SUPPORTED(C_EncryptMessageNext(CK_SESSION_HANDLE a, CK_VOID_PTR b,
    CK_ULONG c, CK_BYTE_PTR d, CK_ULONG e, CK_BYTE_PTR f, CK_ULONG_PTR g,
    CK_FLAGS h))
NOT_SUPPORTED(C_MessageEncryptFinal(CK_SESSION_HANDLE a))
NOT_SUPPORTED(C_MessageDecryptInit(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b,
    CK_OBJECT_HANDLE c))
NOT_SUPPORTED(C_DecryptMessage(CK_SESSION_HANDLE a, CK_VOID_PTR b,
    CK_ULONG c, CK_BYTE_PTR d, CK_ULONG e, CK_BYTE_PTR f, CK_ULONG g,
    CK_BYTE_PTR h, CK_ULONG_PTR i))
NOT_SUPPORTED(C_DecryptMessageBegin(CK_SESSION_HANDLE a, CK_VOID_PTR b,
    CK_ULONG c, CK_BYTE_PTR d, CK_ULONG e))
NOT_SUPPORTED(C_DecryptMessageNext(CK_SESSION_HANDLE a, CK_VOID_PTR b,
    CK_ULONG c, CK_BYTE_PTR d, CK_ULONG e, CK_BYTE_PTR f, CK_ULONG_PTR g,
    CK_FLAGS h))
NOT_SUPPORTED(C_MessageDecryptFinal(CK_SESSION_HANDLE a))
NOT_SUPPORTED(C_MessageSignInit(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b,
    CK_OBJECT_HANDLE c))
NOT_SUPPORTED(C_SignMessage(CK_SESSION_HANDLE a, CK_VOID_PTR b, CK_ULONG c,
    CK_BYTE_PTR d, CK_ULONG e, CK_BYTE_PTR f, CK_ULONG_PTR g))
NOT_SUPPORTED(C_SignMessageBegin(CK_SESSION_HANDLE a, CK_VOID_PTR b,
    CK_ULONG c))
NOT_SUPPORTED(C_SignMessageNext(CK_SESSION_HANDLE a, CK_VOID_PTR b,
    CK_ULONG c, CK_BYTE_PTR d, CK_ULONG e, CK_BYTE_PTR f, CK_ULONG_PTR g))
NOT_SUPPORTED(C_MessageSignFinal(CK_SESSION_HANDLE a))
NOT_SUPPORTED(C_MessageVerifyInit(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b,
    CK_OBJECT_HANDLE c))
NOT_SUPPORTED(C_VerifyMessage(CK_SESSION_HANDLE a, CK_VOID_PTR b,
    CK_ULONG c, CK_BYTE_PTR d, CK_ULONG e, CK_BYTE_PTR f, CK_ULONG g))
NOT_SUPPORTED(C_VerifyMessageBegin(CK_SESSION_HANDLE a, CK_VOID_PTR b,
    CK_ULONG c))
NOT_SUPPORTED(C_VerifyMessageNext(CK_SESSION_HANDLE a, CK_VOID_PTR b,
    CK_ULONG c, CK_BYTE_PTR d, CK_ULONG e, CK_BYTE_PTR f, CK_ULONG g))
NOT_SUPPORTED(C_MessageVerifyFinal(CK_SESSION_HANDLE a))

/* Legacy parallel functions: PKCS#11 2.40 §5.20 fixes this value. */
CK_RV
C_GetFunctionStatus(CK_SESSION_HANDLE h)
{
	CK_RV rv;

	if ((rv = p11_check_init()) != CKR_OK)
		return rv;
	return CKR_FUNCTION_NOT_PARALLEL;
}

CK_RV
C_CancelFunction(CK_SESSION_HANDLE h)
{
	CK_RV rv;

	if ((rv = p11_check_init()) != CKR_OK)
		return rv;
	return CKR_FUNCTION_NOT_PARALLEL;
}
