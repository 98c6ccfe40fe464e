/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli.h: private interfaces of the coffer CLI (src/cli only).
 *
 * The CLI talks to the HSM only through the public libcoffer API
 * (coffer/coffer.h). Every command is one row of the table in main.c;
 * help, usage checks and dispatch all come from that row. Handlers return
 * an int rc from coffer_err.h, or CLI_E_USAGE for a usage error; one
 * function (cli_exit_status) maps rc to the process exit status.
 */
#ifndef CF_CLI_H
#define CF_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include <coffer/coffer.h>

/* Exit statuses (docs/man/coffer.1, EXIT STATUS). */
#define CLI_EXIT_OK	0
#define CLI_EXIT_FAIL	1
#define CLI_EXIT_USAGE	2
#define CLI_EXIT_CONN	3
#define CLI_EXIT_AUTH	4

/* A usage error detected by the CLI itself (never a wire code). */
#define CLI_E_USAGE	1000

#define CLI_MAX_SERVERS	32
#define CLI_MAX_ATTRS	32

/* Option ids; the bit (1u << id) marks which commands accept an option. */
enum cli_opt_id {
	/* global options: accepted by every command */
	OPT_CONFIG,
	OPT_SERVER,
	OPT_CA,
	OPT_PIN,
	OPT_JSON,
	OPT_USER,
	OPT_PASSWORD_FILE,
	OPT_PASSWORD_ENV,
	OPT_NEW_PASSWORD_FILE,
	OPT_NEW_PASSWORD_ENV,
	OPT_QUIET,
	OPT_HELP,
	OPT_VERSION,
	/* command options */
	OPT_OUT,
	OPT_CN,
	OPT_DAYS,
	OPT_CSR,
	OPT_CERT,
	OPT_ROLE,
	OPT_CO_USER,
	OPT_FROM,
	/* keys and cryptography (cmd_key.c, cmd_crypto.c) */
	OPT_BITS,
	OPT_EXPONENT,
	OPT_LABEL,
	OPT_ID,
	OPT_CLASS,
	OPT_SESSION,
	OPT_EXTRACTABLE,
	OPT_ATTR,
	OPT_CURVE,
	OPT_BYTES,
	OPT_KEY,
	OPT_WRAPPING_KEY,
	OPT_UNWRAPPING_KEY,
	OPT_KEY_TYPE,
	OPT_MECH,
	OPT_IN,
	OPT_SIG,
	OPT_IV,
	OPT_AAD,
	OPT_TAG_BITS,
	OPT_DER,
	OPT_HEX,
	OPT_RAW,
	OPT__COUNT
};

#define OPTB(id)	(UINT64_C(1) << (id))

#define GLOBAL_OPTS							\
	(OPTB(OPT_CONFIG) | OPTB(OPT_SERVER) | OPTB(OPT_CA) |		\
	 OPTB(OPT_PIN) | OPTB(OPT_JSON) | OPTB(OPT_USER) |		\
	 OPTB(OPT_PASSWORD_FILE) | OPTB(OPT_PASSWORD_ENV) |		\
	 OPTB(OPT_NEW_PASSWORD_FILE) | OPTB(OPT_NEW_PASSWORD_ENV) |	\
	 OPTB(OPT_QUIET) | OPTB(OPT_HELP) | OPTB(OPT_VERSION))

/* Options that select or secure the connection (a shell line with any of
 * them gets its own connection). */
#define CONN_OPTS (OPTB(OPT_CONFIG) | OPTB(OPT_SERVER) | OPTB(OPT_PIN) | \
	OPTB(OPT_CA))

/* Options parsed from the command line (or from one shell line). Strings
 * point into argv and are never secrets: passwords are not options. */
struct cli_opts {
	const char *config;
	const char *servers[CLI_MAX_SERVERS];
	size_t nservers;
	const char *ca;
	const char *pin;
	const char *user;
	const char *password_file;
	const char *password_env;
	const char *new_password_file;
	const char *new_password_env;
	const char *out;
	const char *cn;
	const char *days;
	const char *csr;
	const char *cert;
	const char *role;
	const char *co_user;
	const char *from;
	const char *bits;
	const char *exponent;
	const char *label;
	const char *id;
	const char *klass;
	const char *attrs[CLI_MAX_ATTRS];	/* --attr NAME=VALUE */
	size_t nattrs;
	const char *curve;
	const char *bytes;
	const char *key;
	const char *wrapping_key;
	const char *unwrapping_key;
	const char *key_type;
	const char *mech;
	const char *in;
	const char *sig;
	const char *iv;
	const char *aad;
	const char *tag_bits;
	bool session;
	bool extractable;
	bool der;
	bool hex;
	bool raw;
	bool json;
	bool quiet;
	bool help;
	bool version;
	uint64_t seen;		/* OPTB() of every option given */
};

struct cli;

enum cli_login {
	CLI_LOGIN_NO = 0,	/* no login */
	CLI_LOGIN_YES = 1,	/* log in first (--user + password source) */
	CLI_LOGIN_ONLINE = 2,	/* log in only when run without operands */
};

/* Command flags. */
#define CLI_F_CONNECT	0x01	/* needs a connection to a node */
#define CLI_F_SHELL	0x02	/* only inside the shell (quit, exit) */
#define CLI_F_CA_PAYLOAD 0x04	/* --ca is a file to send, not trust */
#define CLI_F_HIDDEN	0x08	/* not listed in the command overview */
#define CLI_F_SESSION	0x10	/* manages the shell's own session */
#define CLI_F_NEWPW	0x20	/* sets a new password */

/*
 * One row of the command table. A row with fn == NULL is a group header
 * (e.g. "user") carrying the group's help text.
 */
struct cli_cmd {
	const char *group;	/* "user", or the command for one-word ones */
	const char *name;	/* "create"; NULL for one-word commands */
	int (*fn)(struct cli *);
	int login;		/* enum cli_login */
	unsigned flags;		/* CLI_F_* */
	uint64_t opts;		/* OPTB() of accepted command options */
	uint64_t required;	/* OPTB() of required options */
	int min_args, max_args;	/* operands after the command words */
	const char *args;	/* operand synopsis, e.g. "NAME" */
	const char *summary;	/* one line */
	const char *help;	/* longer text, may be NULL */
	const char *metavars;	/* per-command names, e.g. "out=DIR ca=DIR" */
};

/* Run state of one command. */
struct cli {
	struct cli_opts o;
	const struct cli_cmd *cmd;
	int argc;			/* operands */
	char **argv;
	struct coffer_client *client;	/* connection (shared in the shell) */
	bool logged_in;
	char login_user[64];
	int login_role;
	bool in_shell;
	char detail[512];		/* local error detail, "" if none */
	bool reported;			/* the error was already printed */
	bool shell_quit;
};

/* --- main.c ---------------------------------------------------------- */
extern const struct cli_cmd cli_cmds[];
int cli_exit_status(int rc);
/* Parses argv (argv[0] is the program) into o and the command words.
 * Returns 0 or CLI_E_USAGE (message printed). */
int cli_parse(int argc, char **argv, struct cli_opts *o, int *first_arg);
/* Runs one command line (after cli_parse) on c; prints errors. */
int cli_run(struct cli *c, int argc, char **argv, int first);
/* Records a local detail for the error message and returns rc. */
int cli_fail(struct cli *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cli_usage(struct cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Connects (c->client) if not yet connected, from the options. */
int cli_connect(struct cli *c);
/* Logs in as `user` with a password from the configured source. */
int cli_login(struct cli *c, const char *user);
void cli_logout(struct cli *c);
void cli_disconnect(struct cli *c);
/* Informational message on stdout unless --quiet or --json. */
void cli_info(struct cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints a JSON document on stdout and releases it. */
void cli_json_print(json_t *j);
void cli_print_help(FILE *f, const char *group, const char *name);
const char *cli_cmd_name(const struct cli_cmd *cmd, char *buf, size_t len);
int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* obj.c: key and crypto option values, checked before connecting. */
int cli_obj_check(struct cli *c);

/* --- pass.c: passwords (secure heap, wiped on free) ------------------ */
/* Reads the login password: --password-file, --password-env VAR,
 * $COFFER_PASSWORD, else a no-echo prompt on /dev/tty. */
int cli_password_get(struct cli *c, const char *user, char **pw);
/* Reads a new password: --new-password-file, --new-password-env, else a
 * prompt twice on /dev/tty. */
int cli_new_password_get(struct cli *c, const char *what, char **pw);
void cli_password_free(char *pw);
void cli_secmem_init(void);

/* --- out.c: aligned tables ------------------------------------------- */
struct cli_table;
struct cli_table *cli_table_new(size_t ncols, const char *const *heads);
int cli_table_add(struct cli_table *t, const char *const *cells);
void cli_table_print(struct cli_table *t, FILE *f);
void cli_table_free(struct cli_table *t);
void cli_fmt_time(uint64_t epoch_s, char *buf, size_t len);
void cli_fmt_duration(uint64_t s, char *buf, size_t len);
/* Reads a text file (at most max bytes, no NULs) into a malloc'd string. */
int cli_read_text(struct cli *c, const char *path, size_t max, char **out);
/* Writes text to path (created with mode, truncated), fsynced. */
int cli_write_text(struct cli *c, const char *path, const char *text,
    unsigned mode);

/* --- command handlers ------------------------------------------------ */
int cmd_ca_create(struct cli *);
int cmd_ca_sign(struct cli *);
int cmd_cluster_fingerprint(struct cli *);
int cmd_cluster_init(struct cli *);
int cmd_cluster_initialize(struct cli *);
int cmd_cluster_activate(struct cli *);
int cmd_cluster_info(struct cli *);
int cmd_user_create(struct cli *);
int cmd_user_delete(struct cli *);
int cmd_user_list(struct cli *);
int cmd_user_change_password(struct cli *);
int cmd_user_lock(struct cli *);
int cmd_user_unlock(struct cli *);
int cmd_audit_export(struct cli *);
int cmd_audit_verify(struct cli *);
int cmd_key_generate_rsa(struct cli *);
int cmd_key_generate_ec(struct cli *);
int cmd_key_generate_ed(struct cli *);
int cmd_key_generate_aes(struct cli *);
int cmd_key_generate_secret(struct cli *);
int cmd_key_list(struct cli *);
int cmd_key_show(struct cli *);
int cmd_key_delete(struct cli *);
int cmd_key_share(struct cli *);
int cmd_key_unshare(struct cli *);
int cmd_key_set_attribute(struct cli *);
int cmd_key_wrap(struct cli *);
int cmd_key_unwrap(struct cli *);
int cmd_key_import_public(struct cli *);
int cmd_key_export_public(struct cli *);
int cmd_crypto_sign(struct cli *);
int cmd_crypto_verify(struct cli *);
int cmd_crypto_encrypt(struct cli *);
int cmd_crypto_decrypt(struct cli *);
int cmd_crypto_hmac(struct cli *);
int cmd_crypto_random(struct cli *);
int cmd_crypto_digest(struct cli *);
int cmd_login(struct cli *);
int cmd_logout(struct cli *);
int cmd_shell(struct cli *);
int cmd_quit(struct cli *);
int cmd_help(struct cli *);
int cmd_version(struct cli *);

/* shell.c */
int cli_shell_run(struct cli *c);

#endif
