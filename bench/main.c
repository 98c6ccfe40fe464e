/* SPDX-License-Identifier: Apache-2.0 */
/*
 * coffer-bench: throughput and latency of HSM operations through raw
 * OpenSSL (the machine's limit), any PKCS#11 module loaded by path, and
 * libcoffer, interleaved per workload under the same machine load.
 *
 *   coffer-bench [--targets openssl,pkcs11:/usr/lib/softhsm/libsofthsm2.so]
 *       [--threads 1,2] [--seconds 2] [--reps 3] [--warmup 0.5]
 *       [--workloads rsa2048,ecdsa-p256-sign] [--fresh-keys]
 *       [--session-keys] [--json out.json] [--pin PIN] [--slot N]
 *
 * A target is KIND[:PATH][,key=value...] with keys name=, slot=, token=
 * (slot by token label), pin=, pin-file=, user=, batch= (coffer: N
 * signatures, MACs, verifications or AES-GCM encryptions per call). Numbers reported per
 * (workload, threads, target) are medians over --reps samples; samples
 * of the targets alternate so they share the machine's load.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <coffer/coffer_objects.h>

#include "bench.h"

struct bench_opts g_opts = { .token_keys = true, .find_keys = 1000 };
uint8_t g_msg[1 << 20];
uint8_t g_hash32[32];
uint8_t g_hash48[48];
uint8_t g_aes_iv[16];
uint8_t g_digestinfo[51];
uint8_t g_ecdh_peer[65];

#define KiB 1024
#define MiB (1024 * 1024)

static const struct workload workloads[] = {
	{ "rsa2048-pkcs1-sign", WK_SIGN, WA_RSA, 2048, 0, 0, 0 },
	{ "rsa2048-pkcs1-verify", WK_VERIFY, WA_RSA, 2048, 0, 0, 0 },
	{ "rsa2048-pss-sign", WK_SIGN, WA_RSA, 2048, 1, 0, 0 },
	{ "rsa2048-pss-verify", WK_VERIFY, WA_RSA, 2048, 1, 0, 0 },
	{ "rsa3072-pkcs1-sign", WK_SIGN, WA_RSA, 3072, 0, 0, 0 },
	{ "rsa3072-pkcs1-verify", WK_VERIFY, WA_RSA, 3072, 0, 0, 0 },
	{ "rsa3072-pss-sign", WK_SIGN, WA_RSA, 3072, 1, 0, 0 },
	{ "rsa3072-pss-verify", WK_VERIFY, WA_RSA, 3072, 1, 0, 0 },
	{ "rsa4096-pkcs1-sign", WK_SIGN, WA_RSA, 4096, 0, 0, 0 },
	{ "rsa4096-pkcs1-verify", WK_VERIFY, WA_RSA, 4096, 0, 0, 0 },
	{ "rsa4096-pss-sign", WK_SIGN, WA_RSA, 4096, 1, 0, 0 },
	{ "rsa4096-pss-verify", WK_VERIFY, WA_RSA, 4096, 1, 0, 0 },
	{ "ecdsa-p256-sign", WK_SIGN, WA_EC, 256, 0, 0, 0 },
	{ "ecdsa-p256-verify", WK_VERIFY, WA_EC, 256, 0, 0, 0 },
	{ "ecdsa-p384-sign", WK_SIGN, WA_EC, 384, 0, 0, 0 },
	{ "ecdsa-p384-verify", WK_VERIFY, WA_EC, 384, 0, 0, 0 },
	{ "ed25519-sign", WK_SIGN, WA_ED25519, 255, 0, 0, 0 },
	{ "ed25519-verify", WK_VERIFY, WA_ED25519, 255, 0, 0, 0 },
	{ "ecdh-p256-derive", WK_DERIVE, WA_EC, 256, 0, 0, 0 },
	{ "aes256-gcm-1k", WK_ENCRYPT, WA_AES_GCM, 256, 0, KiB, 0 },
	{ "aes256-gcm-16k", WK_ENCRYPT, WA_AES_GCM, 256, 0, 16 * KiB, 0 },
	{ "aes256-gcm-1m", WK_ENCRYPT, WA_AES_GCM, 256, 0, MiB, 0 },
	{ "aes256-cbc-1k", WK_ENCRYPT, WA_AES_CBC, 256, 0, KiB, 0 },
	{ "aes256-cbc-16k", WK_ENCRYPT, WA_AES_CBC, 256, 0, 16 * KiB, 0 },
	{ "aes256-cbc-1m", WK_ENCRYPT, WA_AES_CBC, 256, 0, MiB, 0 },
	{ "hmac-sha256-1k", WK_HMAC, WA_HMAC, 256, 0, KiB, 0 },
	{ "random-4k", WK_RANDOM, WA_NONE, 0, 0, 4 * KiB, 0 },
	{ "random-1m", WK_RANDOM, WA_NONE, 0, 0, MiB, 0 },
	{ "keygen-rsa2048-token", WK_KEYGEN, WA_RSA, 2048, 0, 0, 1 },
	{ "keygen-rsa2048-session", WK_KEYGEN, WA_RSA, 2048, 0, 0, 0 },
	{ "keygen-ec-p256-token", WK_KEYGEN, WA_EC, 256, 0, 0, 1 },
	{ "keygen-ec-p256-session", WK_KEYGEN, WA_EC, 256, 0, 0, 0 },
	{ "keygen-aes256-token", WK_KEYGEN, WA_AES, 256, 0, 0, 1 },
	{ "keygen-aes256-session", WK_KEYGEN, WA_AES, 256, 0, 0, 0 },
	/* Not in the default set (creates --find-keys token objects). */
	{ "find-label", WK_FIND, WA_AES, 256, 0, 0, 1 },
};
#define NWL (sizeof(workloads) / sizeof(workloads[0]))

const struct workload *
workload_at(uint32_t i)
{
	return i < NWL ? &workloads[i] : NULL;
}

uint32_t
workload_index(const struct workload *wl)
{
	return (uint32_t)(wl - workloads);
}

static struct {
	unsigned	 threads[8];
	size_t		 nthreads;
	double		 seconds;
	unsigned	 reps;
	double		 warmup;
	bool		 fresh;
	const char	*json;
	const char	*pin;
	long		 slot;
	bool		 quiet;
	bool		 tty;
} opt = { { 1, 2 }, 2, 2.0, 3, 0.5, false, NULL, NULL, -1, false, false };

static struct target *targets;
static size_t ntargets;
static pthread_mutex_t err_mu = PTHREAD_MUTEX_INITIALIZER;

/* One sample: one target, one workload, one thread count, one rep. */
struct sample {
	double		 ops_s;
	double		 mb_s;
	double		 p50, p99, p999;	/* µs */
	uint64_t	 ops;
	int		 ok;
};

struct result {
	const struct workload	*wl;
	struct target		*t;
	unsigned		 threads;
	struct sample		*s;		/* reps */
	unsigned		 n;
	struct sample		 med;
	char			 err[256];
};
static struct result *results;
static size_t nresults;

void
target_error(struct target *t, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&err_mu);
	if (t->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(t->err, sizeof(t->err), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&err_mu);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("coffer-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

/* --- inputs ---------------------------------------------------------- */
static void
make_inputs(void)
{
	static const uint8_t di_prefix[19] = { 0x30, 0x31, 0x30, 0x0d, 0x06,
	    0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
	    0x00, 0x04, 0x20 };
	EVP_PKEY *peer = NULL;
	size_t plen = sizeof(g_ecdh_peer);

	if (RAND_bytes(g_msg, sizeof(g_msg)) != 1 ||
	    RAND_bytes(g_aes_iv, sizeof(g_aes_iv)) != 1)
		die("RAND_bytes failed");
	if (EVP_Digest(g_msg, 64, g_hash32, NULL, EVP_sha256(), NULL) != 1 ||
	    EVP_Digest(g_msg, 64, g_hash48, NULL, EVP_sha384(), NULL) != 1)
		die("digest failed");
	memcpy(g_digestinfo, di_prefix, sizeof(di_prefix));
	memcpy(g_digestinfo + sizeof(di_prefix), g_hash32, 32);
	if ((peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    EVP_PKEY_get_octet_string_param(peer, "encoded-pub-key",
	    g_ecdh_peer, sizeof(g_ecdh_peer), &plen) != 1 || plen != 65)
		die("ECDH peer key failed");
	EVP_PKEY_free(peer);
}

/* --- options --------------------------------------------------------- */
static char *
read_pin_file(const char *path)
{
	char buf[512];
	FILE *f;
	size_t n;

	if ((f = fopen(path, "r")) == NULL)
		die("%s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return strdup(buf);
}

static void
parse_target(const char *spec, struct target *t)
{
	char *s = strdup(spec), *opts, *kv, *save = NULL, *colon, *base;

	*t = (struct target){ 0 };
	t->spec = strdup(spec);
	t->batch = 1;
	t->slot = opt.slot;
	if ((opts = strchr(s, ',')) != NULL)
		*opts++ = '\0';
	colon = strchr(s, ':');
	if (colon != NULL)
		*colon++ = '\0';
	if (strcmp(s, "openssl") == 0) {
		t->kind = TK_OPENSSL;
		t->ops = &openssl_target_ops;
		t->name = strdup("openssl");
	} else if (strcmp(s, "tls") == 0) {
		t->kind = TK_TLS;
		t->ops = &tls_target_ops;
		t->name = strdup("tls-min");
	} else if (strcmp(s, "unix") == 0) {
		t->kind = TK_UNIX;
		t->ops = &unix_target_ops;
		t->name = strdup("unix-min");
	} else if (strcmp(s, "pkcs11") == 0) {
		if (colon == NULL || *colon == '\0')
			die("target %s: pkcs11:PATH", spec);
		t->kind = TK_PKCS11;
		t->ops = &pkcs11_target_ops;
		t->path = strdup(colon);
		base = strrchr(t->path, '/');
		base = base != NULL ? base + 1 : t->path;
		if (strncmp(base, "lib", 3) == 0)
			base += 3;
		t->name = strndup(base, strcspn(base, "."));
	} else if (strcmp(s, "coffer") == 0) {
		t->kind = TK_COFFER;
		t->ops = &coffer_target_ops;
		t->path = colon != NULL && *colon != '\0' ? strdup(colon) :
		    NULL;
		t->name = strdup("coffer");
	} else
		die("unknown target kind '%s' (openssl, tls, unix, "
		    "pkcs11:PATH, coffer)", s);
	for (kv = opts != NULL ? strtok_r(opts, ",", &save) : NULL;
	    kv != NULL; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');

		if (v == NULL)
			die("target %s: option '%s' is not key=value", spec,
			    kv);
		*v++ = '\0';
		if (strcmp(kv, "name") == 0) {
			free(t->name);
			t->name = strdup(v);
		} else if (strcmp(kv, "slot") == 0)
			t->slot = strtol(v, NULL, 0);
		else if (strcmp(kv, "token") == 0)
			t->token = strdup(v);
		else if (strcmp(kv, "pin") == 0)
			t->pin = strdup(v);
		else if (strcmp(kv, "pin-file") == 0)
			t->pin = read_pin_file(v);
		else if (strcmp(kv, "user") == 0)
			t->user = strdup(v);
		else if (strcmp(kv, "config") == 0 && t->kind == TK_COFFER)
			t->path = strdup(v);
		else if (strcmp(kv, "batch") == 0 && t->kind == TK_COFFER) {
			char *end;
			unsigned long b = strtoul(v, &end, 10);

			if (end == v || *end != '\0' || b < 1 ||
			    b > COFFER_SIGN_MANY_MAX)
				die("target %s: batch=1..%d", spec,
				    COFFER_SIGN_MANY_MAX);
			t->batch = (unsigned)b;
		}
		else
			die("target %s: unknown option '%s'", spec, kv);
	}
	if (t->pin == NULL && opt.pin != NULL)
		t->pin = strdup(opt.pin);
	free(s);
}

static void
parse_targets(const char *list)
{
	char *s = strdup(list), *p, *save = NULL;
	size_t cap = 0;

	/* Targets are separated by ';' or by ',' before a kind name. */
	for (p = strtok_r(s, ";", &save); p != NULL;
	    p = strtok_r(NULL, ";", &save)) {
		char *q = p, *next;

		while (q != NULL && *q != '\0') {
			/* split at ",openssl" ",tls" ",unix" ",pkcs11:"
			 * ",coffer" */
			next = q;
			for (;;) {
				next = strchr(next, ',');
				if (next == NULL)
					break;
				if (strncmp(next + 1, "openssl", 7) == 0 ||
				    strncmp(next + 1, "tls", 3) == 0 ||
				    strncmp(next + 1, "unix", 4) == 0 ||
				    strncmp(next + 1, "pkcs11:", 7) == 0 ||
				    strncmp(next + 1, "coffer", 6) == 0)
					break;
				next++;
			}
			if (next != NULL)
				*next++ = '\0';
			if (ntargets == cap) {
				cap = cap ? cap * 2 : 4;
				targets = realloc(targets,
				    cap * sizeof(*targets));
				if (targets == NULL)
					die("out of memory");
			}
			parse_target(q, &targets[ntargets++]);
			q = next;
		}
	}
	free(s);
}

static void
parse_threads(const char *s)
{
	char *d = strdup(s), *p, *save = NULL;

	opt.nthreads = 0;
	for (p = strtok_r(d, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		long v = strtol(p, NULL, 10);

		if (v < 1 || v > 256 || opt.nthreads == 8)
			die("--threads: 1..256, at most 8 values");
		opt.threads[opt.nthreads++] = (unsigned)v;
	}
	free(d);
	if (opt.nthreads == 0)
		die("--threads: empty list");
}

static bool wl_selected[NWL];

static void
parse_workloads(const char *s)
{
	char *d = strdup(s), *p, *save = NULL;
	size_t i;
	bool any;

	for (p = strtok_r(d, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		any = false;
		for (i = 0; i < NWL; i++) {
			/* exact name, or a prefix / substring filter */
			if (strcmp(p, "all") == 0 ||
			    strstr(workloads[i].name, p) != NULL) {
				if (workloads[i].kind == WK_FIND &&
				    strcmp(p, "all") == 0)
					continue;
				wl_selected[i] = true;
				any = true;
			}
		}
		if (!any)
			die("--workloads: nothing matches '%s' (--list)", p);
	}
	free(d);
}

static void
usage(FILE *f)
{
	fputs(
"usage: coffer-bench [options]\n"
"  --targets LIST     openssl, tls, unix, pkcs11:PATH[,name=N,slot=N,\n"
"                     token=LABEL,pin=PIN,pin-file=F,user=U],\n"
"                     coffer[:CLIENT.json][,user=U,pin=PASSWORD|\n"
"                     pin-file=F,batch=N]; batch=N (1..256): sign,\n"
"                     HMAC, verify and AES-GCM workloads call\n"
"                     coffer_sign_many / coffer_verify_many /\n"
"                     coffer_encrypt_many (node-made IVs) with N inputs\n"
"                     (pipelined; N operations per call, each with the\n"
"                     call's latency); several targets separated by ',' or\n"
"                     ';' (default: openssl). tls: openssl's operation\n"
"                     behind a minimal TLS 1.3 server on 127.0.0.1 (the\n"
"                     floor of any networked HSM here); unix: the same\n"
"                     frames in the clear over an AF_UNIX socket (the\n"
"                     floor of a local transport)\n"
"  --workloads LIST   names or substrings (default: all but find-label)\n"
"  --threads LIST     thread counts, e.g. 1,2 (default 1,2)\n"
"  --seconds S        seconds per sample (default 2)\n"
"  --reps N           samples per figure; medians reported (default 3)\n"
"  --warmup S         warm-up seconds before each sample (default 0.5)\n"
"  --fresh-keys       new keys for every sample (default: reuse per\n"
"                     workload)\n"
"  --session-keys     benchmark keys are session objects (default token)\n"
"  --token-keys       benchmark keys are token objects (the default)\n"
"  --find-keys N      token objects made for find-label (default 1000)\n"
"  --find-keep        leave find-label's objects in the token\n"
"  --pin PIN          default PIN of pkcs11/coffer targets\n"
"  --slot N           default slot ID of pkcs11 targets\n"
"  --json FILE        write all samples and medians as JSON\n"
"  --quiet            no progress line\n"
"  --list             list workloads\n"
"  --machine          print this machine's cost of a system call, of a\n"
"                     round trip to another process on the same CPU and\n"
"                     on another CPU, and over TCP on 127.0.0.1 (what\n"
"                     every call to a separate HSM process pays), then\n"
"                     exit\n", f);
}

/* --- running --------------------------------------------------------- */
struct run {
	struct target		*t;
	void			*wctx;
	const struct workload	*wl;
	unsigned		 nthreads;
	pthread_barrier_t	 bar;
	uint64_t		 t0;
	uint64_t		 warm_ns, run_ns;
};

struct worker {
	struct run	*r;
	pthread_t	 tid;
	unsigned	 idx;
	int		 init_rc;
	uint32_t	*lat;
	size_t		 n, cap;
	uint64_t	 first, last, post_ns;
	int		 fail;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	const struct target_ops *ops = r->t->ops;
	void *tctx = NULL;
	uint64_t warm_end, end, a, b, c;
	/* Only generated keys and derived secrets need untimed cleanup. */
	bool post = ops->post != NULL && (r->wl->kind == WK_KEYGEN ||
	    r->wl->kind == WK_DERIVE);
	/* A batched call (coffer target, batch=N, signatures, MACs,
	 * verifications, GCM encryptions) is N operations, each with the
	 * call's latency. */
	unsigned per = BATCHABLE(r->wl) ? r->t->batch : 1, k;

	w->init_rc = ops->thread_init(r->t, r->wctx, w->idx, &tctx);
	pthread_barrier_wait(&r->bar);
	if (w->init_rc != 0)
		return NULL;
	warm_end = r->t0 + r->warm_ns;
	end = warm_end + r->run_ns;
	/* Warm-up: not recorded. */
	for (a = now_ns(); a < warm_end; a = now_ns()) {
		if (ops->op(tctx) != 0) {
			w->fail = 1;
			goto out;
		}
		if (post)
			ops->post(tctx);
	}
	/* At least one measured operation, whatever the duration. */
	w->first = now_ns();
	a = w->first;
	do {
		if (ops->op(tctx) != 0) {
			w->fail = 1;
			break;
		}
		b = now_ns();
		for (k = 0; k < per; k++) {
			if (w->n == w->cap) {
				size_t nc = w->cap ? w->cap * 2 : 4096;
				uint32_t *nl = realloc(w->lat,
				    nc * sizeof(*nl));

				if (nl == NULL) {
					w->fail = 1;
					goto out;
				}
				w->lat = nl;
				w->cap = nc;
			}
			w->lat[w->n++] = b - a > UINT32_MAX ? UINT32_MAX :
			    (uint32_t)(b - a);
		}
		if (post) {
			ops->post(tctx);
			c = now_ns();
			w->post_ns += c - b;
			b = c;
		}
		w->last = b;
		a = b;
	} while (a < end);
out:
	ops->thread_fini(tctx);
	return NULL;
}

static int
cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return a < b ? -1 : a > b;
}

static double
pct(const uint32_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)ceil(p * (double)n) - 1;
	if (i >= n)
		i = n - 1;
	return v[i] / 1000.0;
}

static int
run_sample(struct target *t, void *wctx, const struct workload *wl,
    unsigned nthreads, struct sample *out)
{
	struct run r = { 0 };
	struct worker *w;
	uint32_t *all = NULL;
	size_t total = 0, k;
	unsigned i;
	int rc = -1;

	*out = (struct sample){ 0 };
	r.t = t;
	r.wctx = wctx;
	r.wl = wl;
	r.nthreads = nthreads;
	r.warm_ns = (uint64_t)(opt.warmup * 1e9);
	r.run_ns = (uint64_t)(opt.seconds * 1e9);
	if ((w = calloc(nthreads, sizeof(*w))) == NULL)
		die("out of memory");
	pthread_barrier_init(&r.bar, NULL, nthreads + 1);
	for (i = 0; i < nthreads; i++) {
		w[i].r = &r;
		w[i].idx = i;
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0)
			die("pthread_create failed");
	}
	r.t0 = now_ns();
	pthread_barrier_wait(&r.bar);
	for (i = 0; i < nthreads; i++)
		pthread_join(w[i].tid, NULL);
	pthread_barrier_destroy(&r.bar);

	for (i = 0; i < nthreads; i++) {
		if (w[i].init_rc != 0 || w[i].fail || w[i].n == 0)
			goto out;
		total += w[i].n;
	}
	if ((all = malloc(total * sizeof(*all))) == NULL)
		die("out of memory");
	for (i = 0, k = 0; i < nthreads; i++) {
		uint64_t busy = w[i].last - w[i].first - w[i].post_ns;

		memcpy(all + k, w[i].lat, w[i].n * sizeof(*all));
		k += w[i].n;
		if (busy == 0)
			busy = 1;
		/* Each thread's rate over its own measured time, minus
		 * untimed cleanup; the sample's rate is their sum. */
		out->ops_s += (double)w[i].n * 1e9 / (double)busy;
	}
	qsort(all, total, sizeof(*all), cmp_u32);
	out->ops = total;
	out->mb_s = out->ops_s * (double)wl->len / 1e6;
	out->p50 = pct(all, total, 0.50);
	out->p99 = pct(all, total, 0.99);
	out->p999 = pct(all, total, 0.999);
	out->ok = 1;
	rc = 0;
out:
	for (i = 0; i < nthreads; i++)
		free(w[i].lat);
	free(w);
	free(all);
	return rc;
}

static int
cmp_dbl(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

static double
median(const struct sample *s, unsigned n, size_t off)
{
	double v[64];
	unsigned i, k = 0;

	for (i = 0; i < n && k < 64; i++)
		if (s[i].ok)
			v[k++] = *(const double *)((const char *)&s[i] + off);
	if (k == 0)
		return 0;
	qsort(v, k, sizeof(v[0]), cmp_dbl);
	return k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

static void
finish_result(struct result *res)
{
	unsigned i, ok = 0;
	uint64_t ops = 0;

	for (i = 0; i < res->n; i++)
		if (res->s[i].ok) {
			ok++;
			ops += res->s[i].ops;
		}
	if (ok == 0)
		return;
	res->med.ok = 1;
	res->med.ops = ops;
	res->med.ops_s = median(res->s, res->n, offsetof(struct sample,
	    ops_s));
	res->med.mb_s = median(res->s, res->n, offsetof(struct sample, mb_s));
	res->med.p50 = median(res->s, res->n, offsetof(struct sample, p50));
	res->med.p99 = median(res->s, res->n, offsetof(struct sample, p99));
	res->med.p999 = median(res->s, res->n, offsetof(struct sample, p999));
}

static void
progress(const char *fmt, ...)
{
	va_list ap;

	if (opt.quiet)
		return;
	if (opt.tty)
		fputs("\r\033[K", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (!opt.tty)
		fputc('\n', stderr);
	fflush(stderr);
}

static struct result *
find_result(const struct workload *wl, const struct target *t,
    unsigned threads)
{
	size_t i;

	for (i = 0; i < nresults; i++)
		if (results[i].wl == wl && results[i].t == t &&
		    results[i].threads == threads)
			return &results[i];
	return NULL;
}

static void
run_workload(const struct workload *wl, size_t wi, size_t nsel)
{
	void **wctx = calloc(ntargets, sizeof(*wctx));
	bool *ok = calloc(ntargets, sizeof(*ok));
	size_t ti, base = nresults;
	unsigned th, rep;

	if (wctx == NULL || ok == NULL)
		die("out of memory");
	results = realloc(results, (nresults + ntargets * opt.nthreads) *
	    sizeof(*results));
	if (results == NULL)
		die("out of memory");
	for (th = 0; th < opt.nthreads; th++)
		for (ti = 0; ti < ntargets; ti++) {
			struct result *res = &results[nresults++];

			*res = (struct result){ .wl = wl, .t = &targets[ti],
			    .threads = opt.threads[th] };
			res->s = calloc(opt.reps, sizeof(*res->s));
			if (res->s == NULL)
				die("out of memory");
		}
	for (ti = 0; ti < ntargets; ti++) {
		struct target *t = &targets[ti];

		t->err[0] = '\0';
		if (t->failed)
			continue;
		if (t->batch > 1 && !BATCHABLE(wl)) {
			snprintf(t->err, sizeof(t->err), "batch=%u: sign, "
			    "verify, HMAC and AES-GCM workloads only",
			    t->batch);
			continue;
		}
		if (!opt.fresh || wl->kind == WK_KEYGEN) {
			progress("[%zu/%zu] %s: %s setup", wi + 1, nsel,
			    wl->name, t->name);
			if (t->ops->setup(t, wl, &wctx[ti]) != 0) {
				target_error(t, "setup failed");
				continue;
			}
		}
		ok[ti] = true;
	}
	for (th = 0; th < opt.nthreads; th++) {
		for (rep = 0; rep < opt.reps; rep++) {
			for (ti = 0; ti < ntargets; ti++) {
				struct target *t = &targets[ti];
				struct result *res = find_result(wl, t,
				    opt.threads[th]);
				void *wc = wctx[ti];

				if (!ok[ti])
					continue;
				if (opt.fresh && wl->kind != WK_KEYGEN &&
				    t->ops->setup(t, wl, &wc) != 0) {
					target_error(t, "setup failed");
					ok[ti] = false;
					continue;
				}
				progress("[%zu/%zu] %s  threads=%u  rep %u/%u"
				    "  %s ...", wi + 1, nsel, wl->name,
				    opt.threads[th], rep + 1, opt.reps,
				    t->name);
				if (run_sample(t, wc, wl, opt.threads[th],
				    &res->s[rep]) != 0) {
					target_error(t, "operation failed");
					ok[ti] = false;
				} else {
					res->n = rep + 1;
					progress("[%zu/%zu] %s  threads=%u  "
					    "rep %u/%u  %s  %.1f ops/s",
					    wi + 1, nsel, wl->name,
					    opt.threads[th], rep + 1,
					    opt.reps, t->name,
					    res->s[rep].ops_s);
				}
				if (opt.fresh && wl->kind != WK_KEYGEN)
					t->ops->teardown(t, wc);
			}
		}
	}
	for (ti = 0; ti < ntargets; ti++)
		if (wctx[ti] != NULL)
			targets[ti].ops->teardown(&targets[ti], wctx[ti]);
	for (; base < nresults; base++) {
		struct result *res = &results[base];

		res->n = opt.reps;
		finish_result(res);
		if (!res->med.ok)
			snprintf(res->err, sizeof(res->err), "%s",
			    res->t->failed ? "target unavailable" :
			    res->t->err[0] ? res->t->err : "no result");
	}
	free(wctx);
	free(ok);
}

/* --- output ---------------------------------------------------------- */
static const struct result *
ref_openssl(const struct result *r)
{
	size_t i;

	for (i = 0; i < ntargets; i++)
		if (targets[i].kind == TK_OPENSSL && &targets[i] != r->t)
			return find_result(r->wl, &targets[i], r->threads);
	return NULL;
}

/* The other module: the first pkcs11 or coffer target that is not r's
 * (the floors, openssl, tls and unix, are no module). */
static const struct result *
ref_other(const struct result *r)
{
	size_t i;

	if (r->t->kind == TK_OPENSSL || r->t->kind == TK_TLS ||
	    r->t->kind == TK_UNIX)
		return NULL;
	for (i = 0; i < ntargets; i++)
		if ((targets[i].kind == TK_PKCS11 ||
		    targets[i].kind == TK_COFFER) && &targets[i] != r->t)
			return find_result(r->wl, &targets[i], r->threads);
	return NULL;
}

static double
ratio(const struct result *r, const struct result *ref)
{
	if (ref == NULL || !ref->med.ok || !r->med.ok || ref->med.ops_s <= 0)
		return 0;
	return r->med.ops_s / ref->med.ops_s;
}

static void
fmt_rate(char *b, size_t n, double v)
{
	if (v >= 100)
		snprintf(b, n, "%.0f", v);
	else if (v >= 10)
		snprintf(b, n, "%.1f", v);
	else
		snprintf(b, n, "%.2f", v);
}

static void
summary(void)
{
	size_t i;
	char ops[32], mbs[32], r1[16], r2[16];
	int tw = 12;		/* the target column: the longest name */

	for (i = 0; i < ntargets; i++)
		if ((int)strlen(targets[i].name) > tw)
			tw = (int)strlen(targets[i].name);
	printf("\n%-24s %3s %-*s %12s %9s %10s %10s %10s %7s %7s\n",
	    "workload", "thr", tw, "target", "ops/s", "MB/s", "p50 us",
	    "p99 us", "p99.9 us", "x ossl", "x other");
	for (i = 0; i < nresults; i++) {
		const struct result *r = &results[i];
		double a = ratio(r, ref_openssl(r)), b = ratio(r, ref_other(r));

		if (i > 0 && results[i - 1].wl != r->wl)
			putchar('\n');
		if (!r->med.ok) {
			printf("%-24s %3u %-*s  -- %s\n", r->wl->name,
			    r->threads, tw, r->t->name, r->err);
			continue;
		}
		fmt_rate(ops, sizeof(ops), r->med.ops_s);
		if (r->wl->len > 0)
			snprintf(mbs, sizeof(mbs), "%.1f", r->med.mb_s);
		else
			snprintf(mbs, sizeof(mbs), "-");
		snprintf(r1, sizeof(r1), a >= 0.1 ? "%.2f" : a > 0 ? "%.2g" :
		    "-", a);
		snprintf(r2, sizeof(r2), b >= 0.1 ? "%.2f" : b > 0 ? "%.2g" :
		    "-", b);
		printf("%-24s %3u %-*s %12s %9s %10.1f %10.1f %10.1f %7s "
		    "%7s\n", r->wl->name, r->threads, tw, r->t->name, ops, mbs,
		    r->med.p50, r->med.p99, r->med.p999, r1, r2);
	}
	fflush(stdout);
}

static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void
cpu_model(char *buf, size_t n)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(buf, n, "unknown");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *c = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && c != NULL) {
			c += 2;
			c[strcspn(c, "\n")] = '\0';
			snprintf(buf, n, "%s", c);
			break;
		}
	}
	fclose(f);
}

static void
write_json(const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
	char cpu[128];
	size_t i;
	unsigned k;

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	cpu_model(cpu, sizeof(cpu));
	fprintf(f, "{\n  \"machine\": {\"nproc\": %ld, \"cpu\": ",
	    sysconf(_SC_NPROCESSORS_ONLN));
	json_str(f, cpu);
	fprintf(f, ", \"openssl\": ");
	json_str(f, OpenSSL_version(OPENSSL_VERSION));
	fprintf(f, "},\n  \"settings\": {\"seconds\": %g, \"reps\": %u, "
	    "\"warmup\": %g, \"fresh_keys\": %s, \"token_keys\": %s, "
	    "\"threads\": [", opt.seconds, opt.reps, opt.warmup,
	    opt.fresh ? "true" : "false",
	    g_opts.token_keys ? "true" : "false");
	for (i = 0; i < opt.nthreads; i++)
		fprintf(f, "%s%u", i ? ", " : "", opt.threads[i]);
	fprintf(f, "]},\n  \"targets\": [");
	for (i = 0; i < ntargets; i++) {
		fprintf(f, "%s{\"name\": ", i ? ", " : "");
		json_str(f, targets[i].name);
		fprintf(f, ", \"kind\": \"%s\"}", targets[i].kind ==
		    TK_OPENSSL ? "openssl" : targets[i].kind == TK_TLS ? "tls" :
		    targets[i].kind == TK_UNIX ? "unix" :
		    targets[i].kind == TK_PKCS11 ? "pkcs11" : "coffer");
	}
	fprintf(f, "],\n  \"results\": [\n");
	for (i = 0; i < nresults; i++) {
		const struct result *r = &results[i];

		fprintf(f, "    {\"workload\": \"%s\", \"target\": ",
		    r->wl->name);
		json_str(f, r->t->name);
		fprintf(f, ", \"threads\": %u, \"bytes\": %zu, \"ok\": %s",
		    r->threads, r->wl->len, r->med.ok ? "true" : "false");
		if (!r->med.ok) {
			fprintf(f, ", \"error\": ");
			json_str(f, r->err);
		} else {
			fprintf(f, ", \"ops_s\": %.3f, \"mb_s\": %.3f, "
			    "\"p50_us\": %.2f, \"p99_us\": %.2f, "
			    "\"p999_us\": %.2f, \"ops\": %llu, "
			    "\"vs_openssl\": %.6g, \"vs_other\": %.6g",
			    r->med.ops_s, r->med.mb_s, r->med.p50,
			    r->med.p99, r->med.p999,
			    (unsigned long long)r->med.ops,
			    ratio(r, ref_openssl(r)), ratio(r, ref_other(r)));
			fprintf(f, ", \"samples\": [");
			for (k = 0; k < r->n; k++)
				if (r->s[k].ok)
					fprintf(f, "%s{\"ops_s\": %.3f, "
					    "\"p50_us\": %.2f, \"p99_us\": "
					    "%.2f, \"p999_us\": %.2f}",
					    k ? ", " : "", r->s[k].ops_s,
					    r->s[k].p50, r->s[k].p99,
					    r->s[k].p999);
			fprintf(f, "]");
		}
		fprintf(f, "}%s\n", i + 1 < nresults ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	if (f != stdout && fclose(f) != 0)
		die("%s: write failed", path);
}

int
main(int argc, char **argv)
{
	const char *tlist = "openssl";
	size_t i, nsel = 0, done = 0;
	bool any = false;
	int a;

	for (a = 1; a < argc; a++) {
		const char *o = argv[a];
		const char *v = a + 1 < argc ? argv[a + 1] : NULL;
#define NEEDV() do { if (v == NULL) die("%s needs a value", o); a++; } \
	while (0)

		if (strcmp(o, "--targets") == 0) {
			NEEDV();
			tlist = v;
		} else if (strcmp(o, "--workloads") == 0) {
			NEEDV();
			parse_workloads(v);
			any = true;
		} else if (strcmp(o, "--threads") == 0) {
			NEEDV();
			parse_threads(v);
		} else if (strcmp(o, "--seconds") == 0) {
			NEEDV();
			opt.seconds = strtod(v, NULL);
			if (!(opt.seconds > 0))
				die("--seconds must be > 0");
		} else if (strcmp(o, "--reps") == 0) {
			NEEDV();
			opt.reps = (unsigned)strtoul(v, NULL, 10);
			if (opt.reps < 1 || opt.reps > 64)
				die("--reps: 1..64");
		} else if (strcmp(o, "--warmup") == 0) {
			NEEDV();
			opt.warmup = strtod(v, NULL);
			if (opt.warmup < 0)
				die("--warmup must be >= 0");
		} else if (strcmp(o, "--fresh-keys") == 0)
			opt.fresh = true;
		else if (strcmp(o, "--reuse-keys") == 0)
			opt.fresh = false;
		else if (strcmp(o, "--session-keys") == 0)
			g_opts.token_keys = false;
		else if (strcmp(o, "--token-keys") == 0)
			g_opts.token_keys = true;
		else if (strcmp(o, "--find-keys") == 0) {
			NEEDV();
			g_opts.find_keys = (unsigned)strtoul(v, NULL, 10);
			if (g_opts.find_keys < 1)
				die("--find-keys must be >= 1");
		} else if (strcmp(o, "--find-keep") == 0)
			g_opts.find_keep = true;
		else if (strcmp(o, "--json") == 0) {
			NEEDV();
			opt.json = v;
		} else if (strcmp(o, "--pin") == 0) {
			NEEDV();
			opt.pin = v;
		} else if (strcmp(o, "--slot") == 0) {
			NEEDV();
			opt.slot = strtol(v, NULL, 0);
		} else if (strcmp(o, "--quiet") == 0)
			opt.quiet = true;
		else if (strcmp(o, "--machine") == 0)
			return machine_probe(stdout);
		else if (strcmp(o, "--list") == 0) {
			for (i = 0; i < NWL; i++)
				printf("%s\n", workloads[i].name);
			return 0;
		} else if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 64;
		}
	}
	if (!any)
		for (i = 0; i < NWL; i++)
			wl_selected[i] = workloads[i].kind != WK_FIND;
	parse_targets(tlist);
	if (ntargets == 0)
		die("no targets");
	opt.tty = isatty(STDERR_FILENO);
	make_inputs();

	for (i = 0; i < ntargets; i++) {
		struct target *t = &targets[i];

		progress("opening %s", t->spec);
		if (t->ops->open(t) != 0) {
			t->failed = true;
			if (opt.tty)
				fputs("\r\033[K", stderr);
			fprintf(stderr, "coffer-bench: target %s: %s\n",
			    t->spec, t->err[0] ? t->err : "open failed");
		}
	}
	for (i = 0; i < NWL; i++)
		nsel += wl_selected[i];
	for (i = 0; i < NWL; i++)
		if (wl_selected[i])
			run_workload(&workloads[i], done++, nsel);
	if (opt.tty && !opt.quiet)
		fputs("\r\033[K", stderr);
	summary();
	if (opt.json != NULL)
		write_json(opt.json);
	for (i = 0; i < ntargets; i++)
		if (!targets[i].failed)
			targets[i].ops->close(&targets[i]);
	for (i = 0; i < nresults; i++)
		free(results[i].s);
	free(results);
	for (i = 0; i < ntargets; i++) {
		free(targets[i].spec);
		free(targets[i].name);
		free(targets[i].path);
		if (targets[i].pin != NULL)
			OPENSSL_cleanse(targets[i].pin,
			    strlen(targets[i].pin));
		free(targets[i].pin);
		free(targets[i].user);
		free(targets[i].token);
	}
	free(targets);
	return 0;
}
