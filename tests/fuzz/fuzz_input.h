/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_input.h: what the libFuzzer targets share: check() (abort on a
 * broken invariant, which libFuzzer reports) and a reader that takes
 * fields from the input, reading zeros past its end.
 */
#ifndef CF_FUZZ_INPUT_H
#define CF_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

static inline void
check(int cond)
{
	if (!cond)
		abort();
}

struct rd {
	const uint8_t	*p;
	size_t		 n;
};

static inline uint8_t
rd_u8(struct rd *r)
{
	uint8_t v;

	if (r->n == 0)
		return 0;
	v = r->p[0];
	r->p++;
	r->n--;
	return v;
}

static inline uint64_t
rd_u64(struct rd *r)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | rd_u8(r);
	return v;
}

#endif
