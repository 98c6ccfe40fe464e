/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_frame.c: libFuzzer target for the frame decoder and the cf_rd
 * getters. The first input byte picks the chunk size the stream is fed in;
 * each decoded frame is then parsed as a sequence of fields whose types
 * come from the frame itself. Checks: no crash or leak, used never exceeds
 * the input, frames never exceed max, failing getters never move the offset.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coffer/coffer_err.h"
#include "common/buf.h"
#include "common/wire.h"

#define FUZZ_MAX 4096

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
parse(const uint8_t *p, size_t n, int depth)
{
	struct cf_rd rd = CF_RD_INIT(p, n), sub;
	const uint8_t *q;
	uint8_t op, u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	size_t off, len;
	char *s;
	int rc;

	while (cf_rd_u8(&rd, &op) == 0) {
		off = rd.off;
		switch (op % 9) {
		case 0: rc = cf_rd_u8(&rd, &u8); break;
		case 1: rc = cf_rd_u16(&rd, &u16); break;
		case 2: rc = cf_rd_u32(&rd, &u32); break;
		case 3: rc = cf_rd_u64(&rd, &u64); break;
		case 4: rc = cf_rd_raw(&rd, op >> 4, &q); break;
		case 5:
			rc = cf_rd_bytes(&rd, op, &q, &len);
			check(rc != 0 || len <= op);
			break;
		case 6:
			rc = cf_rd_str(&rd, 64, &s);
			check(rc != 0 || strlen(s) <= 64);
			free(s);
			break;
		case 7:
			rc = cf_rd_sub(&rd, 256, &sub);
			if (rc == 0 && depth < 4)
				parse(sub.p, sub.len, depth + 1);
			break;
		default:
			rc = cf_rd_end(&rd);
			check(rc == 0 || rc == COFFER_E_TRAILING);
			rc = 0;
			break;
		}
		check(rd.off <= rd.len);
		if (rc != 0) {
			check(rd.off == off);
			return;
		}
	}
	check(cf_rd_end(&rd) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cf_frame_dec d;
	uint8_t *f;
	size_t chunk, off = 0, used, n, take;
	int rc = 0;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] + 1;
	data++;
	size--;
	cf_frame_dec_init(&d, FUZZ_MAX);
	while (off < size) {
		take = size - off < chunk ? size - off : chunk;
		rc = cf_frame_dec_feed(&d, data + off, take, &used, &f, &n);
		check(used <= take);
		if (rc != 0) {
			check(f == NULL && d.payload == NULL);
			break;
		}
		check(used > 0);
		off += used;
		if (f != NULL) {
			check(n > 0 && n <= FUZZ_MAX);
			parse(f, n, 0);
			free(f);
		}
	}
	cf_frame_dec_reset(&d);
	return 0;
}
