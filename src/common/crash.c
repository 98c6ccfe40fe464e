/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crash.c: see crash.h. Written for the rare fault that only shows up on
 * a loaded CI machine: without it a test sees "exit -11" and nothing
 * else, since cofferd allows no core dumps.
 */
#include <execinfo.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crash.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CF_CRASH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CF_CRASH_SANITIZED 1
#endif
#endif

#ifdef CF_CRASH_SANITIZED
void
cf_crash_report_install(const char *prog)
{
	(void)prog;
}
#else
#define CF_CRASH_FRAMES 64

static const char *crash_prog = "coffer";
static const int crash_sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
static char crash_stack[65536];

static void
put(const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, s, n);

		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static const char *
sig_name(int sig)
{
	switch (sig) {
	case SIGSEGV:
		return "SIGSEGV";
	case SIGBUS:
		return "SIGBUS";
	case SIGILL:
		return "SIGILL";
	case SIGFPE:
		return "SIGFPE";
	case SIGABRT:
		return "SIGABRT";
	default:
		return "?";
	}
}

static void
on_fatal(int sig)
{
	void *frames[CF_CRASH_FRAMES];
	char num[4];
	int n;

	num[0] = (char)('0' + sig / 10 % 10);
	num[1] = (char)('0' + sig % 10);
	num[2] = '\0';
	put("\n");
	put(crash_prog);
	put(": fatal signal ");
	put(sig >= 10 ? num : num + 1);
	put(" (");
	put(sig_name(sig));
	put("); backtrace of the faulting thread:\n");
	n = backtrace(frames, CF_CRASH_FRAMES);
	backtrace_symbols_fd(frames, n, STDERR_FILENO);
	signal(sig, SIG_DFL);
	raise(sig);
}

void
cf_crash_report_install(const char *prog)
{
	struct sigaction sa;
	stack_t ss;
	void *prime[1];

	if (prog != NULL)
		crash_prog = prog;
	/* The first backtrace() loads libgcc_s: not in a signal handler. */
	(void)backtrace(prime, 1);
	/* A main-thread stack overflow still gets its report. */
	ss.ss_sp = crash_stack;
	ss.ss_size = sizeof(crash_stack);
	ss.ss_flags = 0;
	(void)sigaltstack(&ss, NULL);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_fatal;
	sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
	for (size_t i = 0; i < sizeof(crash_sigs) / sizeof(crash_sigs[0]); i++)
		(void)sigaction(crash_sigs[i], &sa, NULL);
}
#endif /* CF_CRASH_SANITIZED */
