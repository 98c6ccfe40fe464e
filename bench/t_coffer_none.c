/* SPDX-License-Identifier: Apache-2.0 */
/* t_coffer_none.c: the coffer target when libcoffer is not built. */
#include "bench.h"

static int
n_open(struct target *t)
{
	target_error(t, "coffer-bench was built without libcoffer");
	return -1;
}

const struct target_ops coffer_target_ops = { .open = n_open };
