/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.c: the module's log. Lines go to the configured file (append,
 * O_CLOEXEC) or, with no file, errors and warnings go to syslog. Never to
 * stdout/stderr: the module must not print in its host process. Callers
 * log handles, mechanism numbers, user names and rc names, never PINs or
 * data.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "p11.h"

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_fp;
static int log_level = P11_LOG_WARN;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int
p11_log_level_from_name(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return (int)i;
	if (strcasecmp(name, "warning") == 0)
		return P11_LOG_WARN;
	return -1;
}

void
p11_log_open(const char *path, int level)
{
	int fd;

	pthread_mutex_lock(&log_mu);
	if (log_fp != NULL) {
		fclose(log_fp);
		log_fp = NULL;
	}
	log_level = level;
	if (path != NULL && *path != '\0') {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0 && (log_fp = fdopen(fd, "a")) == NULL)
			close(fd);
		if (log_fp == NULL)
			syslog(LOG_WARNING, "coffer-pkcs11: cannot open log %s: %s",
			    path, strerror(errno));
	}
	pthread_mutex_unlock(&log_mu);
}

void
p11_log_close(void)
{
	pthread_mutex_lock(&log_mu);
	if (log_fp != NULL)
		fclose(log_fp);
	log_fp = NULL;
	pthread_mutex_unlock(&log_mu);
}

void
p11_log(int level, const char *fmt, ...)
{
	char msg[1024], ts[32];
	struct timespec now;
	struct tm tm;
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&log_mu);
	if (log_fp != NULL) {
		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(log_fp, "%s.%03ldZ coffer-pkcs11[%ld] %s: %s\n", ts,
		    now.tv_nsec / 1000000, (long)getpid(), level_names[level],
		    msg);
		fflush(log_fp);
	} else if (level <= P11_LOG_WARN) {
		syslog(level == P11_LOG_ERROR ? LOG_ERR : LOG_WARNING,
		    "coffer-pkcs11: %s", msg);
	}
	pthread_mutex_unlock(&log_mu);
}
