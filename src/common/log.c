/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.c: cofferd's line logger.
 *
 * Each call produces exactly one line, written with a single write(2) so
 * that lines from different threads never interleave (O_APPEND makes the
 * same true across processes). Format:
 *   2024-05-01T12:00:00.123Z INFO func: message
 * Control characters in the message are replaced by '?' so a peer-chosen
 * string (a user name) cannot forge extra lines. Lines longer than
 * LOG_LINE_MAX are truncated and marked with "...".
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "coffer/coffer_err.h"
#include "common/log.h"

#define LOG_LINE_MAX 4096

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = STDERR_FILENO;	/* guarded by log_mu */
static int log_level = CF_LOG_INFO;	/* atomic access */

static const char *const level_names[] = { "ERROR", "WARN", "INFO", "DEBUG" };

int
cf_log_open(const char *path, int level)
{
	int fd = STDERR_FILENO, old;

	if (path != NULL && (fd = open(path,
	    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return COFFER_E_IO;
	pthread_mutex_lock(&log_mu);
	old = log_fd;
	log_fd = fd;
	pthread_mutex_unlock(&log_mu);
	if (old != STDERR_FILENO && old != fd)
		close(old);
	cf_log_set_level(level);
	return 0;
}

void
cf_log_set_level(int level)
{
	if (level < CF_LOG_ERROR)
		level = CF_LOG_ERROR;
	if (level > CF_LOG_DEBUG)
		level = CF_LOG_DEBUG;
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}

int
cf_log_level_from_name(const char *name)
{
	if (name == NULL)
		return -1;
	if (strcasecmp(name, "error") == 0)
		return CF_LOG_ERROR;
	if (strcasecmp(name, "warn") == 0 || strcasecmp(name, "warning") == 0)
		return CF_LOG_WARN;
	if (strcasecmp(name, "info") == 0)
		return CF_LOG_INFO;
	if (strcasecmp(name, "debug") == 0)
		return CF_LOG_DEBUG;
	return -1;
}

void
cf_log_close(void)
{
	int old;

	pthread_mutex_lock(&log_mu);
	old = log_fd;
	log_fd = STDERR_FILENO;
	pthread_mutex_unlock(&log_mu);
	if (old != STDERR_FILENO)
		close(old);
}

/* Appends to line[*len], never past LOG_LINE_MAX - 1 (room for '\n'). */
static void
vappend(char *line, size_t *len, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
vappend(char *line, size_t *len, const char *fmt, va_list ap)
{
	size_t room = LOG_LINE_MAX - 1 - *len;
	int n;

	if (room <= 1)
		return;
	n = vsnprintf(line + *len, room, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= room) {
		*len = LOG_LINE_MAX - 1 - 1;
		memcpy(line + *len - 3, "...", 3);
	} else
		*len += (size_t)n;
}

static void
append(char *line, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
append(char *line, size_t *len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vappend(line, len, fmt, ap);
	va_end(ap);
}

static void
sanitize(char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			s[i] = '?';
}

/* Drains the OpenSSL error queue of this thread into the line. */
static void
append_ssl(char *line, size_t *len)
{
	const char *file, *func, *data;
	char ebuf[256];
	unsigned long e;
	int lineno, flags, first = 1;

	while ((e = ERR_get_error_all(&file, &lineno, &func, &data,
	    &flags)) != 0) {
		ERR_error_string_n(e, ebuf, sizeof(ebuf));
		if (!(flags & ERR_TXT_STRING) || data == NULL)
			data = "";
		append(line, len, "%s%s%s%s", first ? " [openssl: " : "; ",
		    ebuf, *data != '\0' ? ": " : "", data);
		first = 0;
	}
	if (first)
		append(line, len, " [openssl: no error queued]");
	else
		append(line, len, "]");
}

static void
vlog(int level, int ssl, const char *func, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void
vlog(int level, int ssl, const char *func, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	struct timespec ts;
	struct tm tm;
	size_t len = 0, msg_start;
	ssize_t w;
	int fd;

	if (level > __atomic_load_n(&log_level, __ATOMIC_RELAXED)) {
		if (ssl)
			ERR_clear_error();
		return;
	}
	if (level < CF_LOG_ERROR)
		level = CF_LOG_ERROR;
	if (level > CF_LOG_DEBUG)
		level = CF_LOG_DEBUG;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	len = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	append(line, &len, ".%03ldZ %s %s: ", ts.tv_nsec / 1000000L,
	    level_names[level], func != NULL ? func : "-");
	msg_start = len;
	vappend(line, &len, fmt, ap);
	if (ssl)
		append_ssl(line, &len);
	sanitize(line + msg_start, len - msg_start);
	line[len++] = '\n';

	pthread_mutex_lock(&log_mu);
	fd = log_fd;
	do {
		w = write(fd, line, len);
	} while (w < 0 && errno == EINTR);
	pthread_mutex_unlock(&log_mu);
}

void
cf_log(int level, const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, 0, func, fmt, ap);
	va_end(ap);
}

void
cf_log_ssl(int level, const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, 1, func, fmt, ap);
	va_end(ap);
}
