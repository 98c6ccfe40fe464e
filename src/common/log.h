/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h: cofferd's logging. Thread-safe, one line per call, to stderr or a
 * file. Callers log facts (handles, user names, opcode and rc names), never
 * key bytes, passwords or plaintext. Libraries (libcoffer, PKCS#11) do not
 * use this logger unless the host configured it (cf_log_open).
 */
#ifndef CF_LOG_H
#define CF_LOG_H

enum cf_log_level {
	CF_LOG_ERROR = 0,
	CF_LOG_WARN = 1,
	CF_LOG_INFO = 2,
	CF_LOG_DEBUG = 3,
};

/* path NULL = stderr. Returns 0 or COFFER_E_IO. Re-openable (SIGHUP). */
int cf_log_open(const char *path, int level);
void cf_log_set_level(int level);
int cf_log_level_from_name(const char *name);	/* -1 if unknown */
void cf_log_close(void);
void cf_log(int level, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Logs fmt and then drains the OpenSSL error queue into the same line. */
void cf_log_ssl(int level, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(...) cf_log(CF_LOG_ERROR, __func__, __VA_ARGS__)
#define log_warn(...) cf_log(CF_LOG_WARN, __func__, __VA_ARGS__)
#define log_info(...) cf_log(CF_LOG_INFO, __func__, __VA_ARGS__)
#define log_debug(...) cf_log(CF_LOG_DEBUG, __func__, __VA_ARGS__)
#define log_ssl_error(...) cf_log_ssl(CF_LOG_ERROR, __func__, __VA_ARGS__)

#endif
