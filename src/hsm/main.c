/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c: cofferd's command line. Runs one HSM node in the foreground
 * (service managers handle daemonizing); see cofferd(8) and
 * docs/OPERATIONS.md. The exit status is one of CF_EXIT_* (sysexits).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/crash.h"
#include "hsm/node_run.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: cofferd --config FILE [--reset-zeroized] [--foreground]\n"
	    "       cofferd --help | --version\n"
	    "\n"
	    "  -c, --config FILE     node configuration (JSON)\n"
	    "      --reset-zeroized  re-provision a zeroized node: remove the\n"
	    "                        ZEROIZED marker and start as a new node\n"
	    "  -f, --foreground      accepted for compatibility; cofferd\n"
	    "                        always runs in the foreground\n"
	    "  -h, --help            this text\n"
	    "  -V, --version         print the version\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "reset-zeroized", no_argument, NULL, 'R' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cf_node_run_opts opts = { 0 };
	int ch;

	while ((ch = getopt_long(argc, argv, "c:fhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			opts.config_path = optarg;
			break;
		case 'R':
			opts.reset_zeroized = 1;
			break;
		case 'f':
			break;
		case 'h':
			usage(stdout);
			return CF_EXIT_OK;
		case 'V':
			printf("cofferd %s\n", COFFER_VERSION_STR);
			return CF_EXIT_OK;
		default:
			usage(stderr);
			return CF_EXIT_USAGE;
		}
	}
	if (optind != argc || opts.config_path == NULL) {
		if (optind != argc)
			fprintf(stderr, "cofferd: unexpected argument \"%s\"\n",
			    argv[optind]);
		else
			fprintf(stderr, "cofferd: --config FILE is required\n");
		usage(stderr);
		return CF_EXIT_USAGE;
	}
	cf_crash_report_install("cofferd");
	return cf_node_run(&opts);
}
