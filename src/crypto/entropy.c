/* SPDX-License-Identifier: Apache-2.0 */
/*
 * entropy.c: SP 800-90B §4.4 continuous health tests (RCT and APT) over
 * bytes from getrandom(2). Parameters and their derivation are in
 * entropy.h. A failure is latched; it is never papered over.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/random.h>

#include <openssl/crypto.h>

#include "coffer/coffer_err.h"
#include "entropy.h"

void
cf_entropy_init(struct cf_entropy *e)
{
	*e = (struct cf_entropy){ 0 };
	e->health = CF_ENTROPY_OK;
}

int
cf_entropy_feed(struct cf_entropy *e, const uint8_t *s, size_t n)
{
	size_t i;

	if (e->health != CF_ENTROPY_OK)
		return COFFER_E_SELFTEST;
	for (i = 0; i < n; i++) {
		uint8_t x = s[i];

		/* §4.4.1 Repetition Count Test */
		if (e->rct_have && x == e->rct_last) {
			if (++e->rct_count >= CF_ENTROPY_RCT_CUTOFF) {
				e->health = CF_ENTROPY_FAILED_RCT;
				return COFFER_E_SELFTEST;
			}
		} else {
			e->rct_last = x;
			e->rct_count = 1;
			e->rct_have = 1;
		}
		/* §4.4.2 Adaptive Proportion Test */
		if (e->apt_i == 0) {
			e->apt_a = x;
			e->apt_b = 1;
		} else if (x == e->apt_a &&
		    ++e->apt_b >= CF_ENTROPY_APT_CUTOFF) {
			e->health = CF_ENTROPY_FAILED_APT;
			return COFFER_E_SELFTEST;
		}
		if (++e->apt_i == CF_ENTROPY_APT_WINDOW)
			e->apt_i = 0;
		e->samples++;
	}
	return 0;
}

enum cf_entropy_health
cf_entropy_health(const struct cf_entropy *e)
{
	return e->health;
}

const char *
cf_entropy_health_name(enum cf_entropy_health h)
{
	switch (h) {
	case CF_ENTROPY_OK:
		return "ok";
	case CF_ENTROPY_FAILED_RCT:
		return "failed: repetition count test";
	case CF_ENTROPY_FAILED_APT:
		return "failed: adaptive proportion test";
	case CF_ENTROPY_FAILED_SOURCE:
		return "failed: entropy source unreadable";
	}
	return "unknown";
}

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cf_entropy g_state;	/* zero: OK, fresh windows */

int
cf_entropy_check(size_t n, enum cf_entropy_health *health)
{
	uint8_t buf[256];
	ssize_t got;
	size_t c;
	int rc = 0;

	pthread_mutex_lock(&g_lock);
	while (n > 0 && rc == 0) {
		c = n < sizeof(buf) ? n : sizeof(buf);
		got = getrandom(buf, c, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			g_state.health = CF_ENTROPY_FAILED_SOURCE;
			rc = COFFER_E_SELFTEST;
			break;
		}
		rc = cf_entropy_feed(&g_state, buf, (size_t)got);
		n -= (size_t)got;
	}
	if (g_state.health != CF_ENTROPY_OK)
		rc = COFFER_E_SELFTEST;
	if (health != NULL)
		*health = g_state.health;
	pthread_mutex_unlock(&g_lock);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

enum cf_entropy_health
cf_entropy_global_health(void)
{
	enum cf_entropy_health h;

	pthread_mutex_lock(&g_lock);
	h = g_state.health;
	pthread_mutex_unlock(&g_lock);
	return h;
}
