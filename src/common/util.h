/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util.h: small helpers shared by every component.
 */
#ifndef CF_UTIL_H
#define CF_UTIL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void cf_hex(const uint8_t *p, size_t n, char *out);
/* Parses exactly 2*outlen hex chars; COFFER_E_FORMAT otherwise. */
int cf_unhex(const char *s, uint8_t *out, size_t outlen);
/* Splits "host:port" (IPv4, name or [v6]); host copied into host (hostlen). */
/*
 * For a unix socket path (shorter than sun_path, 108): fills sa and the
 * path's directory ("." for a bare name, "/" at the root). -1 if empty
 * or too long.
 */
struct sockaddr_un;
int cf_unix_path(const char *path, struct sockaddr_un *sa, char dir[108]);
int cf_parse_host_port(const char *s, char *host, size_t hostlen,
    uint16_t *port);
/* Reads a whole file (max bytes) into a malloc'd NUL-terminated buffer. */
int cf_read_file(const char *path, size_t max, char **out, size_t *len);
/* Writes a file atomically (tmp + fsync + rename + fsync dir), mode bits. */
int cf_write_file_atomic(const char *path, const void *p, size_t n,
    unsigned mode);
/* mkdir -p with mode. */
int cf_mkdir_p(const char *path, unsigned mode);
/* Monotonic and wall clocks. */
uint64_t cf_now_ms(void);	/* CLOCK_MONOTONIC */
uint64_t cf_now_us(void);	/* CLOCK_MONOTONIC, microseconds */
/*
 * Polls fd for input without blocking, yielding the CPU between polls,
 * for up to spin_us and only while *gate <= max (the caller's "nothing
 * else needs this CPU": libcoffer's requests in flight, cofferd's
 * requests being served). True if fd became readable (or hung up); false
 * when the time ran out, the gate closed or poll() failed — the caller
 * then sleeps as it would have without the spin.
 */
bool cf_spin_poll(int fd, unsigned spin_us, const atomic_uint *gate,
    unsigned max);
/*
 * True if the other end of connected socket fd is on this machine: a unix
 * socket, a loopback address (127/8, ::1, ::ffff:127/104), or a peer
 * whose address is the socket's own (a connection to one of this host's
 * addresses). Client and node then share the CPUs, and both sides spin
 * for each other's bytes under load (server.c conn_spin, client conn.c).
 */
bool cf_sock_peer_local(int fd);
/* A loopback address: 127/8, ::1, ::ffff:127/104 (false for others). */
struct sockaddr;
bool cf_sockaddr_loopback(const struct sockaddr *sa);
uint64_t cf_time_s(void);	/* CLOCK_REALTIME seconds */
/* Fills buf with random bytes from OpenSSL's DRBG; COFFER_E_CRYPTO. */
int cf_random(void *buf, size_t n);
/* sha256 of data -> 64 hex chars + NUL. */
int cf_sha256_hex(const void *p, size_t n, char out[65]);

#endif
