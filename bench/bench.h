/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench.h: coffer-bench internals (workloads, targets, shared inputs).
 *
 * coffer-bench is a client: it uses only OpenSSL, the PKCS#11 interface
 * of a module loaded by path, and libcoffer's public API.
 */
#ifndef COFFER_BENCH_H
#define COFFER_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <p11-kit/pkcs11.h>

enum wl_kind {
	WK_SIGN = 1,
	WK_VERIFY,
	WK_DERIVE,
	WK_ENCRYPT,
	WK_HMAC,
	WK_RANDOM,
	WK_KEYGEN,
	WK_FIND,
};

enum wl_alg {
	WA_NONE = 0,
	WA_RSA,
	WA_EC,
	WA_ED25519,
	WA_AES,		/* keygen */
	WA_AES_GCM,
	WA_AES_CBC,
	WA_HMAC,
};

struct workload {
	const char	*name;
	int		 kind;
	int		 alg;
	int		 bits;		/* RSA modulus bits, EC curve bits */
	int		 pss;		/* RSA: PSS instead of PKCS#1 v1.5 */
	size_t		 len;		/* message / request bytes (MB/s) */
	int		 token;		/* keygen: CKA_TOKEN */
};

/* The workload table by index (NULL past its end), and a workload's
 * index: how the tls and unix targets name one on the wire. */
const struct workload *workload_at(uint32_t i);
uint32_t workload_index(const struct workload *wl);

/* coffer-bench --machine (machine.c): prints this machine's cost of a
 * system call, a wake-up of another process on the same and on another
 * CPU, and TCP round trips on 127.0.0.1; 0, or 1 if one failed. */
int machine_probe(FILE *out);

/* Options that targets read. */
struct bench_opts {
	bool		 token_keys;	/* CKA_TOKEN for benchmark keys */
	unsigned	 find_keys;	/* objects created for find-label */
	bool		 find_keep;	/* leave them in place at the end */
};
extern struct bench_opts g_opts;

/* Shared read-only inputs, made once at start. */
extern uint8_t g_msg[1 << 20];		/* random message (1 MiB) */
extern uint8_t g_hash32[32];		/* "digest" signed by RSA/P-256 */
extern uint8_t g_hash48[48];		/* "digest" signed by P-384 */
extern uint8_t g_aes_iv[16];
/* DER DigestInfo(SHA-256) || g_hash32, the CKM_RSA_PKCS input. */
extern uint8_t g_digestinfo[51];
/* Peer public point for ECDH P-256 (uncompressed, 65 bytes). */
extern uint8_t g_ecdh_peer[65];

struct target;

struct target_ops {
	int	(*open)(struct target *);
	void	(*close)(struct target *);
	/* Keys and inputs for one workload; *wctx owned by the target. */
	int	(*setup)(struct target *, const struct workload *, void **wctx);
	void	(*teardown)(struct target *, void *wctx);
	/* Per-thread state (sessions, contexts); idx is the thread number. */
	int	(*thread_init)(struct target *, void *wctx, unsigned idx,
		    void **tctx);
	void	(*thread_fini)(void *tctx);
	/* One timed operation; 0 on success. */
	int	(*op)(void *tctx);
	/* Untimed cleanup after op (destroying a generated key); may be
	 * NULL. */
	void	(*post)(void *tctx);
};

struct target {
	char			*spec;		/* as given */
	char			*name;		/* display name */
	int			 kind;		/* TK_* */
	char			*path;		/* module / client config */
	char			*pin;
	char			*user;
	long			 slot;		/* -1: first with a token */
	char			*token;		/* slot by token label */
	unsigned		 batch;		/* coffer: signatures per call */
	const struct target_ops	*ops;
	void			*priv;
	bool			 failed;	/* open failed: skipped */
	char			 err[256];	/* first error (workload) */
};

/* Workloads a coffer target with batch=N runs N at a time. */
/* Workloads a coffer target with batch=N runs through the *_many calls. */
#define BATCHABLE(wl) ((wl)->kind == WK_SIGN || (wl)->kind == WK_HMAC || \
	(wl)->kind == WK_VERIFY || \
	((wl)->kind == WK_ENCRYPT && (wl)->alg == WA_AES_GCM))

enum { TK_OPENSSL = 1, TK_PKCS11, TK_COFFER, TK_TLS, TK_UNIX };

extern const struct target_ops openssl_target_ops;
extern const struct target_ops pkcs11_target_ops;
extern const struct target_ops coffer_target_ops;
extern const struct target_ops tls_target_ops;
extern const struct target_ops unix_target_ops;

/* Records the first error of the current workload (thread-safe). */
void target_error(struct target *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* --- PKCS#11 helpers shared by the pkcs11 and coffer targets --------- */
const char *ckr_name(CK_RV rv);

/* Mechanism and parameters for a workload's one operation. */
struct p11_mech {
	CK_MECHANISM			m;
	CK_RSA_PKCS_PSS_PARAMS		pss;
	CK_GCM_PARAMS			gcm;
	CK_ECDH1_DERIVE_PARAMS		ecdh;
	uint8_t				iv[16];
};
/* Fills pm for wl (op mechanism; keygen: generation mechanism). */
void p11_mech_for(const struct workload *wl, struct p11_mech *pm);
/* Data signed/verified for wl. */
void p11_sign_input(const struct workload *wl, const uint8_t **in,
    size_t *len);

/* Templates (static storage per call site: built into caller arrays). */
struct p11_tmpl {
	CK_ATTRIBUTE	pub[12];
	CK_ULONG	npub;
	CK_ATTRIBUTE	priv[12];
	CK_ULONG	npriv;
	CK_ATTRIBUTE	sec[12];
	CK_ULONG	nsec;
	/* backing values */
	CK_BBOOL	yes, no, token;
	CK_ULONG	bits, vlen, cls_sec, kt;
	uint8_t		exp[3];
	uint8_t		params[16];
	char		label[64];
};
/* Key generation templates for wl (pair: pub/priv; secret: sec).
 * token overrides g_opts.token_keys when >= 0. */
void p11_tmpl_for(const struct workload *wl, int token, const char *label,
    struct p11_tmpl *t);
/* Template of the ECDH-derived generic secret (session object). */
void p11_derive_tmpl(struct p11_tmpl *t);
/* Label of find-label object i. */
void find_label(char *buf, size_t n, unsigned i);

#endif
