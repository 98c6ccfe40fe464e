/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shell.c: `coffer shell` / `coffer login`: an interactive shell on
 * libedit (emacs keys, history in ~/.coffer_history, mode 0600) that keeps
 * one connection and one logged-in session across commands. Lines are
 * split with libedit's tokenizer and run through the same command table
 * as the one-shot CLI. Passwords are never typed on a line (login
 * prompts); lines that fail as usage errors, which could be a mistyped
 * secret, and lines starting with a space are not put in the history.
 */
#include <errno.h>
#include <histedit.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define HISTORY_SIZE	1000
#define SHELL_MAX_ARGS	64

static char prompt_buf[128];

static char *
prompt_fn(EditLine *el)
{
	struct cli *c = NULL;

	el_get(el, EL_CLIENTDATA, &c);
	if (c != NULL && c->logged_in)
		snprintf(prompt_buf, sizeof(prompt_buf), "coffer:%s> ",
		    c->login_user);
	else
		snprintf(prompt_buf, sizeof(prompt_buf), "coffer> ");
	return prompt_buf;
}

static void
add_history_line(History *h, const char *line)
{
	HistEvent ev;
	char *copy;
	size_t n = strcspn(line, "\r\n");

	if ((copy = strndup(line, n)) == NULL)
		return;
	history(h, &ev, H_ENTER, copy);
	free(copy);
}

static bool
history_path(char *buf, size_t len)
{
	const char *home = getenv("HOME");

	if (home == NULL || *home == '\0')
		return false;
	return (size_t)snprintf(buf, len, "%s/.coffer_history", home) < len;
}

/* Connection and output options given to `coffer shell` apply to every
 * line unless the line gives its own. */
static void
inherit(struct cli_opts *lo, const struct cli_opts *base)
{
	size_t i;

	if (!(lo->seen & OPTB(OPT_CONFIG)))
		lo->config = base->config;
	if (!(lo->seen & OPTB(OPT_SERVER))) {
		for (i = 0; i < base->nservers; i++)
			lo->servers[i] = base->servers[i];
		lo->nservers = base->nservers;
	}
	if (!(lo->seen & OPTB(OPT_CA)))
		lo->ca = base->ca;
	if (!(lo->seen & OPTB(OPT_PIN)))
		lo->pin = base->pin;
	lo->json |= base->json;
	lo->quiet |= base->quiet;
}

static int
run_line(struct cli *c, const struct cli_opts *base, int ac,
    const char **av, bool *usage_error)
{
	char *argv[SHELL_MAX_ARGS + 2];
	struct cli_opts lo = { 0 };
	int i, first = 0, rc;

	*usage_error = false;
	if (ac > SHELL_MAX_ARGS) {
		fprintf(stderr, "coffer: too many words\n");
		*usage_error = true;
		return CLI_E_USAGE;
	}
	argv[0] = (char *)"coffer";
	for (i = 0; i < ac; i++)
		argv[i + 1] = (char *)av[i];
	argv[ac + 1] = NULL;
	if ((rc = cli_parse(ac + 1, argv, &lo, &first)) != 0) {
		*usage_error = true;
		return rc;
	}
	inherit(&lo, base);
	c->o = lo;
	rc = cli_run(c, ac + 1, argv, first);
	if (rc == CLI_E_USAGE)
		*usage_error = true;
	c->o = *base;
	return rc;
}

/* Without a terminal (scripts, pipes): plain lines, no editing. */
static int
run_plain(struct cli *c, const struct cli_opts *base)
{
	Tokenizer *tok = NULL;
	char *line = NULL;
	size_t cap = 0;
	const char **av;
	bool usage;
	int ac, rc = 0;

	if ((tok = tok_init(NULL)) == NULL)
		return COFFER_E_NOMEM;
	while (!c->shell_quit && getline(&line, &cap, stdin) >= 0) {
		tok_reset(tok);
		if (tok_str(tok, line, &ac, &av) != 0) {
			fprintf(stderr, "coffer: unbalanced quotes\n");
			rc = CLI_E_USAGE;
			continue;
		}
		if (ac == 0 || av[0][0] == '#')
			continue;
		rc = run_line(c, base, ac, av, &usage);
		fflush(stdout);
	}
	free(line);
	tok_end(tok);
	c->reported = true;	/* each line reported its own errors */
	return rc;
}

int
cli_shell_run(struct cli *c)
{
	struct cli_opts base = c->o;
	EditLine *el = NULL;
	History *h = NULL;
	Tokenizer *tok = NULL;
	HistEvent ev;
	char hpath[PATH_MAX];
	const char *line, **av;
	bool have_hist, usage;
	mode_t um;
	int count, ac, rc = 0;

	/* Per-line options only: the shell's own login options are spent. */
	base.user = NULL;
	base.password_file = NULL;
	base.password_env = NULL;
	base.new_password_file = NULL;
	base.new_password_env = NULL;
	base.help = base.version = false;
	base.seen = 0;
	c->in_shell = true;
	c->shell_quit = false;
	if (!isatty(STDIN_FILENO))
		return run_plain(c, &base);

	if ((el = el_init("coffer", stdin, stdout, stderr)) == NULL ||
	    (h = history_init()) == NULL || (tok = tok_init(NULL)) == NULL) {
		rc = COFFER_E_NOMEM;
		goto out;
	}
	el_set(el, EL_CLIENTDATA, c);
	el_set(el, EL_PROMPT, prompt_fn);
	el_set(el, EL_EDITOR, "emacs");
	el_set(el, EL_SIGNAL, 1);
	history(h, &ev, H_SETSIZE, HISTORY_SIZE);
	history(h, &ev, H_SETUNIQUE, 1);
	el_set(el, EL_HIST, history, h);
	(void)el_source(el, NULL);
	have_hist = history_path(hpath, sizeof(hpath));
	if (have_hist)
		(void)history(h, &ev, H_LOAD, hpath);

	printf("Coffer %s shell. 'help' lists commands, 'quit' leaves.\n",
	    COFFER_VERSION);
	while (!c->shell_quit) {
		line = el_gets(el, &count);
		if (line == NULL || count <= 0) {
			fputc('\n', stdout);
			break;
		}
		tok_reset(tok);
		if (tok_str(tok, line, &ac, &av) != 0) {
			fprintf(stderr, "coffer: unbalanced quotes\n");
			continue;
		}
		if (ac == 0)
			continue;
		rc = run_line(c, &base, ac, av, &usage);
		if (!usage && line[0] != ' ')
			add_history_line(h, line);
		fflush(stdout);
	}
	rc = 0;
	if (have_hist) {
		um = umask(077);
		(void)history(h, &ev, H_SAVE, hpath);
		umask(um);
		(void)chmod(hpath, 0600);
	}
 out:
	if (tok != NULL)
		tok_end(tok);
	if (el != NULL)
		el_end(el);
	if (h != NULL)
		history_end(h);
	c->reported = true;
	return rc;
}

int
cmd_shell(struct cli *c)
{
	const char *user = c->o.user;
	int rc;

	if (c->in_shell)
		return cli_usage(c, "already in the shell");
	if (user == NULL)
		user = getenv("COFFER_USER");
	if (user != NULL && *user != '\0') {
		if ((rc = cli_login(c, user)) != 0)
			return rc;
	}
	return cli_shell_run(c);
}

int
cmd_login(struct cli *c)
{
	const char *user = c->argc > 0 ? c->argv[0] : c->o.user;
	int rc;

	if (user == NULL && !c->in_shell)
		user = getenv("COFFER_USER");
	if (user == NULL || *user == '\0')
		return cli_usage(c, "missing NAME");
	if (!c->in_shell) {
		if ((rc = cli_login(c, user)) != 0)
			return rc;
		return cli_shell_run(c);
	}
	/* A login line naming a connection replaces the shell's one. */
	if (c->o.seen & CONN_OPTS)
		cli_disconnect(c);
	else
		cli_logout(c);
	if ((rc = cli_login(c, user)) != 0)
		return rc;
	if (c->o.json)
		cli_json_print(json_pack("{s:s, s:s}", "username", user, "role",
		    coffer_role_name(c->login_role)));
	else
		cli_info(c, "logged in as %s (%s)", user,
		    coffer_role_name(c->login_role));
	return 0;
}

int
cmd_logout(struct cli *c)
{
	if (!c->in_shell) {
		cli_info(c, "not logged in: one-shot commands log out when "
		    "they finish");
		return 0;
	}
	if (!c->logged_in) {
		cli_info(c, "not logged in");
		return 0;
	}
	cli_info(c, "logged out %s", c->login_user);
	cli_logout(c);
	return 0;
}
