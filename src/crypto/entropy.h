/* SPDX-License-Identifier: Apache-2.0 */
/*
 * entropy.h: SP 800-90B §4.4 continuous health tests on the raw entropy
 * source (getrandom(2) bytes, 8-bit samples): the Repetition Count Test
 * (§4.4.1) and the Adaptive Proportion Test (§4.4.2, window W = 512).
 *
 * Parameters: assessed min-entropy H = 6 bits per byte (conservative for
 * the kernel's conditioned output, whose true H is close to 8) and false
 * positive probability alpha = 2^-40 per sample:
 *   RCT cutoff C = 1 + ceil(40 / H) = 8 identical bytes in a row;
 *   APT cutoff C = 1 + critbinom(W - 1, 2^-H, 1 - alpha) = 36 occurrences
 *   of the window's first byte within the 512-byte window.
 * A failure latches: the state stays FAILED (an error state, no
 * fallback) until cf_entropy_init is called again by an operator action.
 *
 * Thread safety: a struct cf_entropy is used by one thread at a time; the
 * process-wide instance behind cf_entropy_check is locked.
 */
#ifndef CF_CRYPTO_ENTROPY_H
#define CF_CRYPTO_ENTROPY_H

#include <stddef.h>
#include <stdint.h>

#define CF_ENTROPY_H_BITS	6
#define CF_ENTROPY_RCT_CUTOFF	8
#define CF_ENTROPY_APT_WINDOW	512
#define CF_ENTROPY_APT_CUTOFF	36

enum cf_entropy_health {
	CF_ENTROPY_OK = 0,
	CF_ENTROPY_FAILED_RCT,
	CF_ENTROPY_FAILED_APT,
	CF_ENTROPY_FAILED_SOURCE,	/* getrandom failed */
};

struct cf_entropy {
	enum cf_entropy_health	health;
	uint64_t		samples;	/* bytes tested */
	/* RCT */
	int			rct_have;
	uint8_t			rct_last;
	unsigned		rct_count;
	/* APT */
	uint8_t			apt_a;
	unsigned		apt_b;
	unsigned		apt_i;		/* position in window, 0: new */
};

void cf_entropy_init(struct cf_entropy *e);
/* Runs both tests over samples; 0, or COFFER_E_SELFTEST once failed
 * (now or before). */
int cf_entropy_feed(struct cf_entropy *e, const uint8_t *samples, size_t n);
enum cf_entropy_health cf_entropy_health(const struct cf_entropy *e);
const char *cf_entropy_health_name(enum cf_entropy_health h);

/*
 * Reads n bytes from getrandom(2) into the process-wide state and tests
 * them (startup: at least 1024 + W bytes; then periodically). Returns 0 or
 * COFFER_E_SELFTEST; *health (may be NULL) receives the state.
 */
int cf_entropy_check(size_t n, enum cf_entropy_health *health);
/* Health of the process-wide state (for `hsm info`). */
enum cf_entropy_health cf_entropy_global_health(void);

#endif
