/* SPDX-License-Identifier: Apache-2.0 */
/*
 * err.c: names and messages of the result codes. Both tables come from the
 * one X-macro list in coffer_err.h, so they cannot drift from the enum.
 * Neither function ever returns NULL.
 */
#include "coffer/coffer_err.h"

const char *
coffer_strerror(int rc)
{
	switch (rc) {
#define X_(name, val, msg) case (val): return (msg);
	COFFER_ERR_MAP(X_)
#undef X_
	default:
		return "unknown error";
	}
}

const char *
coffer_errname(int rc)
{
	switch (rc) {
#define X_(name, val, msg) case (val): return "COFFER_" #name;
	COFFER_ERR_MAP(X_)
#undef X_
	default:
		return "COFFER_E_UNKNOWN";
	}
}
