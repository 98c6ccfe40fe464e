/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util.c: hex, host:port parsing, whole-file I/O with crash-safe atomic
 * replacement, clocks, random bytes and SHA-256.
 *
 * cf_write_file_atomic guarantees that after a crash the path holds either
 * the old or the new contents in full: the data goes to a fresh temporary
 * file in the same directory (O_EXCL), is fsync'd, renamed over the path,
 * and the directory is fsync'd so the rename itself is durable.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "coffer/coffer_err.h"
#include "common/secmem.h"
#include "common/util.h"

void
cf_hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

static int
nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
cf_unhex(const char *s, uint8_t *out, size_t outlen)
{
	size_t i;

	if (s == NULL || (outlen > 0 && out == NULL))
		return COFFER_E_INVAL;
	if (outlen > SIZE_MAX / 2 || strnlen(s, 2 * outlen + 1) != 2 * outlen)
		return COFFER_E_FORMAT;
	/* Validate everything first: out is untouched on error. */
	for (i = 0; i < 2 * outlen; i++)
		if (nibble(s[i]) < 0)
			return COFFER_E_FORMAT;
	for (i = 0; i < outlen; i++)
		out[i] = (uint8_t)(nibble(s[2 * i]) << 4 | nibble(s[2 * i + 1]));
	return 0;
}

static int
host_char(char c, int bracketed)
{
	if (bracketed)
		return nibble(c) >= 0 || c == ':' || c == '.';
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

int
cf_parse_host_port(const char *s, char *host, size_t hostlen,
    uint16_t *port)
{
	const char *h, *he, *ps, *c;
	unsigned long v = 0;
	int bracketed = 0;
	size_t hl;

	if (port != NULL)
		*port = 0;
	if (host != NULL && hostlen > 0)
		host[0] = '\0';
	if (s == NULL || host == NULL || hostlen == 0 || port == NULL)
		return COFFER_E_INVAL;
	if (s[0] == '[') {
		bracketed = 1;
		h = s + 1;
		if ((he = strchr(h, ']')) == NULL || he[1] != ':')
			return COFFER_E_FORMAT;
		ps = he + 2;
	} else {
		h = s;
		if ((he = strchr(h, ':')) == NULL)
			return COFFER_E_FORMAT;
		ps = he + 1;
	}
	hl = (size_t)(he - h);
	if (hl == 0)
		return COFFER_E_FORMAT;
	for (c = h; c < he; c++)
		if (!host_char(*c, bracketed))
			return COFFER_E_FORMAT;
	if (bracketed && memchr(h, ':', hl) == NULL)
		return COFFER_E_FORMAT;
	/* 1..65535, decimal digits only, at most 5 of them. */
	if (*ps == '\0' || strlen(ps) > 5)
		return COFFER_E_FORMAT;
	for (c = ps; *c != '\0'; c++) {
		if (*c < '0' || *c > '9')
			return COFFER_E_FORMAT;
		v = v * 10 + (unsigned long)(*c - '0');
	}
	if (v == 0 || v > 65535)
		return COFFER_E_FORMAT;
	if (hl >= hostlen)
		return COFFER_E_TOOBIG;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)v;
	return 0;
}

int
cf_read_file(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *b = NULL;
	size_t have = 0;
	ssize_t r;
	int fd = -1, rc = COFFER_E_INTERNAL;

	*out = NULL;
	if (len != NULL)
		*len = 0;
	if (path == NULL || max >= SIZE_MAX)
		return COFFER_E_INVAL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = errno == ENOENT ? COFFER_E_NOTFOUND : COFFER_E_IO;
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = COFFER_E_IO;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		rc = COFFER_E_TOOBIG;
		goto out;
	}
	/* The size may change under us: read up to max + 1 to notice. */
	if ((b = malloc(max + 1)) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	for (;;) {
		r = read(fd, b + have, max + 1 - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = COFFER_E_IO;
			goto out;
		}
		if (r == 0)
			break;
		have += (size_t)r;
		if (have > max) {
			rc = COFFER_E_TOOBIG;
			goto out;
		}
	}
	b[have] = '\0';
	*out = b;
	b = NULL;
	if (len != NULL)
		*len = have;
	rc = 0;
 out:
	if (b != NULL) {
		cf_cleanse(b, have);
		free(b);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return COFFER_E_IO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
fsync_dir_of(const char *path)
{
	char *dir = NULL, *slash;
	int fd = -1, rc = COFFER_E_IO;

	if ((dir = strdup(path)) == NULL)
		return COFFER_E_NOMEM;
	if ((slash = strrchr(dir, '/')) == NULL) {
		dir[0] = '.';
		dir[1] = '\0';
	} else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		goto out;
	if (fsync(fd) != 0)
		goto out;
	rc = 0;
 out:
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

int
cf_write_file_atomic(const char *path, const void *p, size_t n,
    unsigned mode)
{
	char *tmp = NULL;
	uint8_t rnd[8];
	char rhex[17];
	size_t tl;
	int fd = -1, tries, created = 0, rc = COFFER_E_INTERNAL;

	if (path == NULL || *path == '\0' || (n > 0 && p == NULL))
		return COFFER_E_INVAL;
	tl = strlen(path) + sizeof(".tmp.") + sizeof(rhex);
	if ((tmp = malloc(tl)) == NULL)
		return COFFER_E_NOMEM;
	for (tries = 0; tries < 16 && fd < 0; tries++) {
		if ((rc = cf_random(rnd, sizeof(rnd))) != 0)
			goto out;
		cf_hex(rnd, sizeof(rnd), rhex);
		snprintf(tmp, tl, "%s.tmp.%s", path, rhex);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    (mode_t)(mode & 07777));
		if (fd < 0 && errno != EEXIST) {
			rc = COFFER_E_IO;
			goto out;
		}
	}
	if (fd < 0) {
		rc = COFFER_E_IO;
		goto out;
	}
	created = 1;
	/* The umask must not weaken or widen what the caller asked for. */
	if (fchmod(fd, (mode_t)(mode & 07777)) != 0 ||
	    (rc = write_all(fd, p, n)) != 0 || fsync(fd) != 0) {
		rc = COFFER_E_IO;
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = COFFER_E_IO;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		rc = COFFER_E_IO;
		goto out;
	}
	created = 0;
	rc = fsync_dir_of(path);
 out:
	if (fd >= 0)
		close(fd);
	if (created)
		unlink(tmp);
	free(tmp);
	return rc;
}

int
cf_mkdir_p(const char *path, unsigned mode)
{
	struct stat st;
	char *d, *c, save;
	int rc = COFFER_E_IO;

	if (path == NULL || *path == '\0')
		return COFFER_E_INVAL;
	if ((d = strdup(path)) == NULL)
		return COFFER_E_NOMEM;
	for (c = d + 1;; c++) {
		if (*c != '/' && *c != '\0')
			continue;
		save = *c;
		*c = '\0';
		if (mkdir(d, (mode_t)(mode & 07777)) != 0 && errno != EEXIST)
			goto out;
		*c = save;
		if (save == '\0')
			break;
	}
	if (stat(d, &st) != 0 || !S_ISDIR(st.st_mode))
		goto out;
	rc = 0;
 out:
	free(d);
	return rc;
}

uint64_t
cf_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
cf_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

bool
cf_spin_poll(int fd, unsigned spin_us, const atomic_uint *gate,
    unsigned max)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t t0 = cf_now_us();
	int r;

	while (atomic_load(gate) <= max) {
		pfd.revents = 0;
		if ((r = poll(&pfd, 1, 0)) != 0)
			return r > 0;
		if (cf_now_us() - t0 >= spin_us)
			break;
		sched_yield();
	}
	return false;
}

bool
cf_sockaddr_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;
	const uint8_t *b = a6->sin6_addr.s6_addr;

	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr)
		    >> 24) == 127;
	if (sa->sa_family != AF_INET6)
		return false;
	if (IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))
		return true;
	return IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr) && b[12] == 127;
}

bool
cf_sock_peer_local(int fd)
{
	struct sockaddr_storage peer, self;
	socklen_t pl = sizeof(peer), sl = sizeof(self);

	if (getpeername(fd, (struct sockaddr *)&peer, &pl) != 0)
		return false;
	if (peer.ss_family == AF_UNIX ||
	    cf_sockaddr_loopback((struct sockaddr *)&peer))
		return true;
	if (getsockname(fd, (struct sockaddr *)&self, &sl) != 0 ||
	    self.ss_family != peer.ss_family)
		return false;
	if (peer.ss_family == AF_INET)
		return ((struct sockaddr_in *)&peer)->sin_addr.s_addr ==
		    ((struct sockaddr_in *)&self)->sin_addr.s_addr;
	if (peer.ss_family == AF_INET6)
		return memcmp(&((struct sockaddr_in6 *)&peer)->sin6_addr,
		    &((struct sockaddr_in6 *)&self)->sin6_addr,
		    sizeof(struct in6_addr)) == 0;
	return false;
}

uint64_t
cf_time_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

int
cf_random(void *buf, size_t n)
{
	uint8_t *p = buf;
	size_t chunk;

	if (n > 0 && buf == NULL)
		return COFFER_E_INVAL;
	while (n > 0) {
		chunk = n > INT_MAX ? INT_MAX : n;
		if (RAND_bytes(p, (int)chunk) != 1)
			return COFFER_E_CRYPTO;
		p += chunk;
		n -= chunk;
	}
	return 0;
}

int
cf_sha256_hex(const void *p, size_t n, char out[65])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	out[0] = '\0';
	if (n > 0 && p == NULL)
		return COFFER_E_INVAL;
	if (EVP_Digest(n > 0 ? p : "", n, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		return COFFER_E_CRYPTO;
	cf_hex(md, 32, out);
	return 0;
}

int
cf_unix_path(const char *path, struct sockaddr_un *sa, char dir[108])
{
	size_t n = path != NULL ? strlen(path) : 0;
	char *slash;

	if (n == 0 || n >= sizeof(sa->sun_path))
		return -1;
	*sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
	memcpy(sa->sun_path, path, n + 1);
	memcpy(dir, path, n + 1);
	if ((slash = strrchr(dir, '/')) == NULL)
		memcpy(dir, ".", 2);
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	return 0;
}
