/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objects_selftest.c: the node's power-up self-tests (issue 3): every
 * known-answer test of the crypto engine and the SP 800-90B start-up
 * health test of the entropy source. A failure puts the node in ERROR,
 * where it serves only get_info and ping. Kept apart from the handlers
 * so that unit tests that fake node.c do not pull it in.
 */
#include <stdio.h>

#include "coffer/coffer_err.h"
#include "common/log.h"
#include "crypto/entropy.h"
#include "crypto/selftest.h"
#include "hsm/node.h"
#include "hsm/objects_selftest.h"

/* Start-up entropy sample: 1024 samples plus one APT window (90B §4.3). */
#define STARTUP_SAMPLES (1024 + CF_ENTROPY_APT_WINDOW)

int
cf_hsm_selftest(struct cf_node *node)
{
	enum cf_entropy_health h = CF_ENTROPY_OK;
	char failed[64] = "";
	char detail[128];
	int rc;

	node->selftest_count = (unsigned)cf_selftest_count();
	if ((rc = cf_selftest_run(failed, sizeof(failed))) != 0) {
		snprintf(node->selftest_status, sizeof(node->selftest_status),
		    "failed: %s", failed[0] != '\0' ? failed : "?");
		snprintf(detail, sizeof(detail), "self-test failed: %s",
		    failed[0] != '\0' ? failed : "?");
		goto fail;
	}
	if ((rc = cf_entropy_check(STARTUP_SAMPLES, &h)) != 0) {
		snprintf(node->selftest_status, sizeof(node->selftest_status),
		    "failed: entropy %s", cf_entropy_health_name(h));
		snprintf(detail, sizeof(detail),
		    "entropy source health test failed: %s",
		    cf_entropy_health_name(h));
		goto fail;
	}
	snprintf(node->selftest_status, sizeof(node->selftest_status),
	    "passed");
	atomic_store(&node->selftest_rc, 0);
	log_info("self-tests passed (%u KATs, entropy %s)",
	    node->selftest_count, cf_entropy_health_name(h));
	return 0;
 fail:
	atomic_store(&node->selftest_rc, COFFER_E_SELFTEST);
	log_error("%s", detail);
	cf_node_set_error(node, detail);
	return COFFER_E_SELFTEST;
}
