/* SPDX-License-Identifier: Apache-2.0 */
/*
 * node_run.h: cofferd's process lifecycle (node.c) and the few server
 * functions only the lifecycle needs. main.c parses the command line and
 * calls cf_node_run, whose return value is the process exit status.
 */
#ifndef CF_NODE_RUN_H
#define CF_NODE_RUN_H

#include <stddef.h>
#include <stdint.h>

/* Exit statuses (sysexits.h values; docs/OPERATIONS.md). */
#define CF_EXIT_OK 0
#define CF_EXIT_USAGE 64	/* bad command line */
#define CF_EXIT_SOFTWARE 70	/* internal error, broken audit chain, ... */
#define CF_EXIT_OSERR 71	/* secure heap, data directory, files */
#define CF_EXIT_CONFIG 78	/* configuration file invalid */

struct cf_node_run_opts {
	const char *config_path;
	int reset_zeroized;	/* --reset-zeroized */
};

/*
 * Runs one node until SIGTERM/SIGINT (or a fatal error). Returns a
 * CF_EXIT_* status. Call once per process, from the main thread.
 */
int cf_node_run(const struct cf_node_run_opts *);

struct cf_node;
struct cf_server;

/*
 * Loop thread. Like cf_server_start, but serves the given key (PKCS#8 DER)
 * and certificate instead of the state's TLS material (ZEROIZED nodes use
 * an ephemeral self-signed identity). The server keeps its own copies.
 */
int cf_server_start_with(struct cf_node *, const uint8_t *key_der,
    size_t key_der_len, const char *cert_pem, struct cf_server **out);

#endif
