/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crash.h: a report on stderr when the process dies of a fault.
 */
#ifndef CF_CRASH_H
#define CF_CRASH_H

/*
 * On SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT writes
 * "<prog>: fatal signal N (NAME)" and the faulting thread's return
 * addresses ("binary(+offset)", for addr2line) to stderr, then dies of
 * the same signal with the default action (no core dump: secmem.c turns
 * them off). Only addresses are written, never memory contents.
 * Async-signal-safe after this call (it loads the unwinder up front).
 * Not installed in sanitizer builds, whose own reports are better.
 */
void cf_crash_report_install(const char *prog);

#endif
