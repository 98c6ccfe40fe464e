/* SPDX-License-Identifier: Apache-2.0 */
/*
 * coffer_err.h: the one list of Coffer result codes.
 *
 * Values are negative and stable on the wire: append new codes at the end,
 * never renumber. The X-macro generates the enum and the name and message
 * tables (coffer_strerror, coffer_errname).
 */
#ifndef COFFER_ERR_H
#define COFFER_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

#define COFFER_ERR_MAP(X)                                                   \
	X(OK, 0, "success")                                                 \
	X(E_NOMEM, -1, "out of memory")                                     \
	X(E_INVAL, -2, "invalid argument")                                  \
	X(E_SHORT, -3, "message truncated")                                 \
	X(E_FORMAT, -4, "malformed message")                                \
	X(E_TOOBIG, -5, "length exceeds limit")                             \
	X(E_TRAILING, -6, "unexpected trailing data")                       \
	X(E_AUTH, -7, "authentication failed")                              \
	X(E_PERM, -8, "operation not permitted")                            \
	X(E_NOTFOUND, -9, "object not found")                               \
	X(E_EXISTS, -10, "already exists")                                  \
	X(E_INTERNAL, -11, "internal error")                                \
	X(E_UNSUPPORTED, -12, "operation not supported")                    \
	X(E_STATE, -13, "not allowed in the current node state")            \
	X(E_NOTLOGGEDIN, -14, "not logged in")                              \
	X(E_LOCKED, -15, "user is locked out")                              \
	X(E_IO, -16, "input/output error")                                  \
	X(E_CONNECT, -17, "cannot connect to the HSM")                      \
	X(E_TLS, -18, "TLS failure")                                        \
	X(E_TIMEOUT, -19, "timed out")                                      \
	X(E_CLOSED, -20, "connection closed")                               \
	X(E_PROTO, -21, "protocol error")                                   \
	X(E_CONFIG, -22, "invalid configuration")                           \
	X(E_CRYPTO, -23, "cryptographic failure")                           \
	X(E_INTEGRITY, -24, "integrity check failed")                       \
	X(E_POLICY, -25, "rejected by policy")                              \
	X(E_UNAVAILABLE, -26, "service unavailable, retry")                 \
	X(E_UNKNOWN_OUTCOME, -27, "outcome unknown, retry with same id")    \
	X(E_ZEROIZED, -28, "node is zeroized")                              \
	X(E_SELFTEST, -29, "node failed self-test")                         \
	X(E_FULL, -30, "object limit reached")                              \
	X(E_BUSY, -31, "busy, retry later")                                 \
	X(E_ATTRIBUTE, -32, "invalid attribute")                            \
	X(E_ATTR_READONLY, -33, "attribute is read-only")                   \
	X(E_ATTR_SENSITIVE, -34, "attribute is sensitive")                  \
	X(E_KEY_TYPE, -35, "key type inconsistent with operation")          \
	X(E_KEY_FUNCTION, -36, "key usage not permitted")                   \
	X(E_KEY_SIZE, -37, "key size out of range")                         \
	X(E_MECHANISM, -38, "mechanism invalid")                            \
	X(E_MECH_PARAM, -39, "mechanism parameter invalid")                 \
	X(E_DATA_LEN, -40, "data length invalid")                           \
	X(E_DATA_INVALID, -41, "data invalid")                              \
	X(E_ENCRYPTED_DATA, -42, "encrypted data invalid")                  \
	X(E_SIGNATURE, -43, "signature invalid")                            \
	X(E_NOT_EXTRACTABLE, -44, "key is not extractable")                 \
	X(E_WRAPPING_KEY, -45, "wrapping key invalid")                      \
	X(E_WRAPPED_KEY, -46, "wrapped key invalid")                        \
	X(E_OP_ACTIVE, -47, "operation already active")                     \
	X(E_OP_NOT_INIT, -48, "operation not initialized")                  \
	X(E_BUFFER_TOO_SMALL, -49, "buffer too small")                      \
	X(E_PASSWORD_POLICY, -50, "password does not meet policy")          \
	X(E_SESSION, -51, "session invalid")                                \
	X(E_ROLE, -52, "role may not do this")                              \
	X(E_TEMPLATE, -53, "template inconsistent")

enum coffer_rc {
#define COFFER_ERR_ENUM_(name, val, msg) COFFER_##name = (val),
	COFFER_ERR_MAP(COFFER_ERR_ENUM_)
#undef COFFER_ERR_ENUM_
};

/* Human message for rc; never NULL ("unknown error" for unknown codes). */
const char *coffer_strerror(int rc);
/* Symbolic name, e.g. "COFFER_E_SHORT"; never NULL. */
const char *coffer_errname(int rc);

#ifdef __cplusplus
}
#endif
#endif
