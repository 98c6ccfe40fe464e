/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pass.c: password input for the CLI.
 *
 * Passwords come from a file (first line), an environment variable, or a
 * no-echo prompt on /dev/tty (termios); never from the command line. They
 * are read straight into fixed-size buffers in the OpenSSL secure heap
 * (no stdio buffering) and wiped when freed. Nothing here prints a
 * password, and error details never contain one.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"

#define PW_MAX	1024		/* longest password accepted */
#define PW_BUF	(PW_MAX + 2)

static volatile sig_atomic_t caught;

static void
on_signal(int sig)
{
	caught = sig;
}

void
cli_secmem_init(void)
{
	struct rlimit rl = { 0, 0 };

	/* Passwords pass through this process: no core dumps, no ptrace by
	 * other processes of the same user. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)setrlimit(RLIMIT_CORE, &rl);
	if (!CRYPTO_secure_malloc_initialized())
		(void)CRYPTO_secure_malloc_init(1 << 16, 16);
}

static char *
pw_alloc(void)
{
	return OPENSSL_secure_zalloc(PW_BUF);
}

void
cli_password_free(char *pw)
{
	if (pw != NULL)
		OPENSSL_secure_clear_free(pw, PW_BUF);
}

/* Reads one line from fd into buf (PW_BUF bytes), without the newline.
 * Returns 0, COFFER_E_TOOBIG, or COFFER_E_IO (errno kept). */
static int
read_line_fd(int fd, char *buf)
{
	size_t off = 0;
	bool toolong = false;
	ssize_t n;
	char ch;

	for (;;) {
		n = read(fd, &ch, 1);
		if (n < 0 && errno == EINTR && !caught)
			continue;
		if (n < 0)
			return COFFER_E_IO;
		if (n == 0 || ch == '\n')
			break;
		if (off >= PW_MAX) {
			toolong = true;
			continue;
		}
		buf[off++] = ch;
	}
	OPENSSL_cleanse(&ch, sizeof(ch));
	if (off > 0 && buf[off - 1] == '\r')
		buf[--off] = '\0';
	buf[off] = '\0';
	return toolong ? COFFER_E_TOOBIG : 0;
}

/*
 * Prompts on /dev/tty with echo off. A signal during the prompt restores
 * the terminal first and is then delivered again.
 */
static int
tty_read(struct cli *c, const char *prompt, char *buf)
{
	struct sigaction sa = { 0 }, old[4];
	static const int sigs[4] = { SIGINT, SIGTERM, SIGQUIT, SIGTSTP };
	struct termios term, saved;
	bool restore = false;
	int fd, i, rc, sig;

	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return cli_usage(c, "no terminal to prompt for a password: use "
		    "--password-file/--password-env (or --new-password-file/"
		    "--new-password-env)");
	caught = 0;
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < 4; i++)
		(void)sigaction(sigs[i], &sa, &old[i]);
	if (tcgetattr(fd, &saved) == 0) {
		term = saved;
		term.c_lflag &= ~(tcflag_t)ECHO;
		term.c_lflag |= ECHONL;
		if (tcsetattr(fd, TCSAFLUSH, &term) == 0)
			restore = true;
	}
	if (write(fd, prompt, strlen(prompt)) < 0) {
		rc = COFFER_E_IO;
	} else
		rc = read_line_fd(fd, buf);
	if (restore) {
		(void)tcsetattr(fd, TCSAFLUSH, &saved);
	}
	close(fd);
	sig = caught;
	for (i = 0; i < 4; i++)
		(void)sigaction(sigs[i], &old[i], NULL);
	if (sig != 0) {
		OPENSSL_cleanse(buf, PW_BUF);
		raise(sig);
		return cli_fail(c, COFFER_E_IO, "interrupted");
	}
	if (rc == COFFER_E_TOOBIG)
		return cli_fail(c, rc, "password longer than %d bytes", PW_MAX);
	if (rc != 0)
		return cli_fail(c, rc, "/dev/tty: %s", strerror(errno));
	return 0;
}

static int
from_file(struct cli *c, const char *path, char *buf)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return cli_fail(c, COFFER_E_IO, "%s: %s", path,
		    strerror(errno));
	rc = read_line_fd(fd, buf);
	close(fd);
	if (rc == COFFER_E_TOOBIG)
		return cli_fail(c, rc, "%s: password longer than %d bytes",
		    path, PW_MAX);
	if (rc != 0)
		return cli_fail(c, rc, "%s: %s", path, strerror(errno));
	return 0;
}

static int
from_env(struct cli *c, const char *var, char *buf)
{
	const char *v = getenv(var);
	size_t n;

	if (v == NULL)
		return cli_usage(c, "environment variable %s is not set", var);
	n = strlen(v);
	if (n > PW_MAX)
		return cli_fail(c, COFFER_E_TOOBIG, "%s: password longer "
		    "than %d bytes", var, PW_MAX);
	memcpy(buf, v, n);
	buf[n] = '\0';
	return 0;
}

int
cli_password_get(struct cli *c, const char *user, char **pw)
{
	char prompt[128];
	const char *env;
	char *buf = NULL;
	int rc;

	*pw = NULL;
	if ((buf = pw_alloc()) == NULL)
		return COFFER_E_NOMEM;
	if (c->o.password_file != NULL) {
		rc = from_file(c, c->o.password_file, buf);
	} else if (c->o.password_env != NULL) {
		rc = from_env(c, c->o.password_env, buf);
	} else if (!c->in_shell && (env = getenv("COFFER_PASSWORD")) !=
	    NULL) {
		rc = from_env(c, "COFFER_PASSWORD", buf);
	} else {
		snprintf(prompt, sizeof(prompt), "Password for %s: ", user);
		rc = tty_read(c, prompt, buf);
	}
	if (rc == 0 && buf[0] == '\0')
		rc = cli_usage(c, "empty password");
	if (rc != 0) {
		cli_password_free(buf);
		return rc;
	}
	*pw = buf;
	return 0;
}

int
cli_new_password_get(struct cli *c, const char *what, char **pw)
{
	char prompt[128];
	char *buf = NULL, *again = NULL;
	int rc;

	*pw = NULL;
	if ((buf = pw_alloc()) == NULL)
		return COFFER_E_NOMEM;
	if (c->o.new_password_file != NULL) {
		rc = from_file(c, c->o.new_password_file, buf);
	} else if (c->o.new_password_env != NULL) {
		rc = from_env(c, c->o.new_password_env, buf);
	} else {
		snprintf(prompt, sizeof(prompt), "New password for %s: ",
		    what);
		rc = tty_read(c, prompt, buf);
		if (rc == 0 && buf[0] != '\0') {
			if ((again = pw_alloc()) == NULL) {
				rc = COFFER_E_NOMEM;
				goto out;
			}
			snprintf(prompt, sizeof(prompt), "Retype new password "
			    "for %s: ", what);
			if ((rc = tty_read(c, prompt, again)) != 0)
				goto out;
			if (strlen(buf) != strlen(again) ||
			    CRYPTO_memcmp(buf, again, strlen(buf)) != 0)
				rc = cli_usage(c, "the passwords do not match");
		}
	}
	if (rc == 0 && buf[0] == '\0')
		rc = cli_usage(c, "empty new password");
 out:
	cli_password_free(again);
	if (rc != 0) {
		cli_password_free(buf);
		return rc;
	}
	*pw = buf;
	return 0;
}
