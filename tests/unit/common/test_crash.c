/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_crash.c: a child that faults after cf_crash_report_install dies
 * of the same signal and leaves its report (signal name and return
 * addresses) on stderr. In sanitizer builds the sanitizer's report is
 * left in place instead.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/crash.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif

/* Unmapped, and not NULL (UBSan would report a NULL store first). */
static volatile int *volatile nowhere = (volatile int *)16;

/* Runs fault(sig) in a child with the report installed; returns what the
 * child wrote to stderr (malloc'd) and its wait status. */
static char *
run_child(int sig, int *status)
{
	int fds[2];
	pid_t pid;
	char *out = calloc(1, 65536);
	size_t len = 0;
	ssize_t n;

	assert_non_null(out);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		cf_crash_report_install("test_crash");
		if (sig == SIGSEGV)
			*nowhere = 1;
		else
			raise(sig);
		_exit(0);
	}
	close(fds[1]);
	while (len < 65535 && (n = read(fds[0], out + len, 65535 - len)) > 0)
		len += (size_t)n;
	close(fds[0]);
	assert_int_equal(waitpid(pid, status, 0), pid);
	return out;
}

static void
test_fault_reported(void **state)
{
	static const struct {
		int sig;
		const char *line;
	} cases[] = {
		{ SIGSEGV, "test_crash: fatal signal 11 (SIGSEGV)" },
		{ SIGBUS, "test_crash: fatal signal 7 (SIGBUS)" },
		{ SIGABRT, "test_crash: fatal signal 6 (SIGABRT)" },
	};
	int status;
	char *out;

	(void)state;
#ifdef SANITIZED
	/* The sanitizer's own report is kept: ours is not installed. */
	out = run_child(SIGSEGV, &status);
	assert_non_null(strstr(out, "Sanitizer"));
	assert_null(strstr(out, "fatal signal"));
	free(out);
	return;
#endif
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		out = run_child(cases[i].sig, &status);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), cases[i].sig);
		assert_non_null(strstr(out, cases[i].line));
		/* At least the handler's own frame, as binary(+offset). */
		assert_non_null(strstr(out, "backtrace of the faulting "
		    "thread:\n"));
		assert_non_null(strstr(out, "(+0x"));
		free(out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_reported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
