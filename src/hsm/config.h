/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h: cofferd's JSON configuration (docs/OPERATIONS.md lists every
 * key). Unknown keys, wrong types and missing paths are errors with a
 * message naming the key.
 */
#ifndef CF_CONFIG_H
#define CF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Default secure heap (locked memory): 256 MiB. Measured with OpenSSL
 * 3.0's buddy allocator (power-of-two blocks), key material plus the
 * parsed-key cache per key: RSA-2048 pair (two objects) ~3.5 KiB,
 * RSA-4096 pair ~6.9 KiB, EC P-256 pair ~0.4 KiB, AES-256 ~64 B. 100,000
 * objects as RSA-2048 pairs need ~175 MiB; the rest is headroom for
 * session objects and operations. docs/OPERATIONS.md has the table.
 */
#define CF_SECURE_HEAP_DEFAULT	(256u * 1024u * 1024u)
/* Upper bound of "max_objects". */
#define CF_MAX_OBJECTS_LIMIT	1000000u

struct cf_node_config {
	uint64_t node_id;		/* "node_id", default 1 */
	char *listen;			/* "listen", default 127.0.0.1:2225 */
	/* "unix_socket": path of the local listener (plain frames, no
	 * TLS; docs/PROTOCOL.md), NULL = none; "unix_socket_mode": its
	 * file mode as an octal string, default "0660". */
	char *unix_socket;
	unsigned unix_socket_mode;
	char *raft_address;		/* "raft_address", default 127.0.0.1:2226 */
	char *data_dir;			/* "data_dir", required */
	char *log_file;			/* "log_file", NULL = stderr */
	int log_level;			/* "log_level": error|warn|info|debug */
	char *audit_file;		/* "audit_file", default <data_dir>/audit.log */
	size_t max_frame;		/* "max_frame", default CF_MAX_FRAME_DEFAULT */
	unsigned max_connections;	/* "max_connections", default 1024 */
	unsigned workers;		/* "workers", 0 = auto (2 * ncpu + 2) */
	unsigned spin_us;		/* "spin_us", default 50, 0 = never */
	unsigned request_timeout_ms;	/* "request_timeout_ms", default 10000 */
	/* "lockout": { "cu_max_failures": 5, "co_max_failures": 5,
	 *              "co_action": "zeroize" | "lock" } */
	unsigned cu_max_failures;
	unsigned co_max_failures;
	bool co_zeroize;
	/* "password": { "min_length": 8, "max_length": 128,
	 *               "scrypt_n": 16384, "scrypt_r": 8, "scrypt_p": 1 } */
	unsigned pw_min_len;
	unsigned pw_max_len;
	uint64_t scrypt_n;
	unsigned scrypt_r;
	unsigned scrypt_p;
	/* "seal": { "backend": "file", "key_file": path } default
	 * <data_dir>/seal.key */
	char *seal_backend;
	char *seal_key_file;
	/* "raft": { "snapshot_threshold": 16384, "snapshot_trailing": 4096,
	 *           "election_timeout_ms": 1000 } */
	unsigned snapshot_threshold;
	unsigned snapshot_trailing;
	unsigned election_timeout_ms;
	/* "secure_heap_size", default CF_SECURE_HEAP_DEFAULT */
	size_t secure_heap_size;
	/* "max_objects": token object limit, 1..CF_MAX_OBJECTS_LIMIT,
	 * default 16666 (CloudHSM, objects.h CF_MAX_OBJECTS_DEFAULT); 0 (only
	 * from code that skips cf_node_config_defaults) means the default. */
	unsigned max_objects;
	char *path;			/* file it was loaded from */
};

/* Sets defaults (data_dir NULL). */
void cf_node_config_defaults(struct cf_node_config *);
/* Loads and validates; on error returns COFFER_E_CONFIG and a message
 * naming the key in err. */
int cf_node_config_load(const char *path, struct cf_node_config *,
    char *err, size_t errlen);
void cf_node_config_free(struct cf_node_config *);

#endif
