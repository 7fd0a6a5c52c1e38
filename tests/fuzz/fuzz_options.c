/*
 * libFuzzer target for the command line parser (src/options.c).
 *
 * Input: the argument strings after argv[0], separated by NUL bytes
 * (a trailing NUL is optional). Each argument is copied into its own
 * heap block so AddressSanitizer sees a read past any one of them.
 */
#include "options.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 64

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* --help and --version print to stdout; keep the fuzzer's log readable. */
	if (!freopen("/dev/null", "w", stdout))
		return 0;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *args[MAX_ARGS + 2];
	char *copy[MAX_ARGS + 2];
	struct ht_opts o;
	char err[256];
	int argc = 0, ncopy = 0;
	size_t start = 0;

	if (size > 4096)
		return 0;
	args[argc++] = copy[ncopy++] = strdup("hoptrace");
	for (size_t i = 0; i <= size && argc <= MAX_ARGS; i++) {
		if (i < size && data[i] != 0)
			continue;
		if (i == size && start == size)
			break; /* a trailing NUL ends the list, it adds no empty argument */
		char *a = malloc(i - start + 1);
		if (!a)
			break;
		memcpy(a, data + start, i - start);
		a[i - start] = '\0';
		args[argc++] = copy[ncopy++] = a;
		start = i + 1;
	}
	args[argc] = NULL;

	err[0] = '\0';
	int rc = ht_opts_parse(&o, argc, args, err, sizeof(err));
	if (rc < 0) {
		/* Every error must come with a message (it quotes the
		 * offending argument, so it may hold whatever that held). */
		size_t n = strnlen(err, sizeof(err));
		if (n == 0 || n == sizeof(err))
			abort();
	} else if (rc == HT_OPTS_RUN) {
		/* A run needs a host or a batch file (not both), and every
		 * accepted value is in range. */
		if (!o.host == !o.batch || (o.host && !*o.host) || (o.batch && !*o.batch) ||
		    o.cfg.first_ttl < 1 || o.cfg.first_ttl > o.cfg.max_ttl ||
		    o.cfg.max_ttl > 255 || o.cfg.nqueries < 1 || o.cfg.nqueries > HT_MAX_QUERIES ||
		    o.cfg.tos < 0 || o.cfg.tos > 255 || (o.json && o.jsonl))
			abort();
	}
	for (int i = 0; i < ncopy; i++)
		free(copy[i]);
	return 0;
}
