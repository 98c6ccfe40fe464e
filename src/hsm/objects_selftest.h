/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objects_selftest.h: power-up self-tests of a node (issue 3).
 */
#ifndef CF_OBJECTS_SELFTEST_H
#define CF_OBJECTS_SELFTEST_H

struct cf_node;

/*
 * Runs the crypto engine's known-answer tests and the entropy source's
 * start-up health test; records the outcome for get_info
 * (node->selftest_status, selftest_count, selftest_rc). On failure puts
 * the node in ERROR (cf_node_set_error) and returns COFFER_E_SELFTEST.
 * Call once at start, before serving, from node.c.
 */
int cf_hsm_selftest(struct cf_node *);

#endif
