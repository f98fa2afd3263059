// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Replay a harness's committed inputs without libFuzzer: every file of
 * fuzz/corpus/NAME and, once a harness has one, fuzz/regressions/NAME (or
 * of the directories given), in name order.  A broken property aborts,
 * naming the file first.  Prints TAP: one line per directory.  A directory
 * that is missing fails (a replay of nothing must not pass); an empty one
 * is skipped, as it tests nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#ifndef FUZZ_NAME
#error "build with -DFUZZ_NAME='\"fuzz-...\"'"
#endif

#define REPLAY_MAX_INPUT (1 << 20)

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static int replay_file(const char *path)
{
	static uint8_t buf[REPLAY_MAX_INPUT];
	FILE *f = fopen(path, "rb");
	uint8_t *copy;
	size_t n;

	if (!f) {
		printf("# %s: %s\n", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	printf("# replay %s (%zu bytes)\n", path, n);
	fflush(stdout);
	/* A copy of exactly n bytes, so reading past the input is caught. */
	copy = malloc(n ? n : 1);
	if (!copy)
		return -1;
	memcpy(copy, buf, n);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Number of inputs replayed, or -1. */
static int replay_dir(const char *dir)
{
	struct dirent **names;
	char path[4096];
	int n = scandir(dir, &names, NULL, by_name), done = 0, bad = 0;

	if (n < 0) {
		printf("# %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct stat sb;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && names[i]->d_name[0] != '.') {
			if (replay_file(path) < 0)
				bad = 1;
			else
				done++;
		}
		free(names[i]);
	}
	free(names);
	return bad ? -1 : done;
}

int main(int argc, char **argv)
{
	const char *defaults[] = { "fuzz/corpus/" FUZZ_NAME, "fuzz/regressions/" FUZZ_NAME };
	const char *const *dirs = (const char *const *)argv + 1;
	int ndirs = argc - 1, failed = 0;
	struct stat sb;

	LLVMFuzzerInitialize(&argc, &argv);
	if (ndirs == 0) {
		/* the regressions directory comes with a harness's first crash */
		dirs = defaults;
		ndirs = stat(defaults[1], &sb) == 0 ? 2 : 1;
	}
	printf("1..%d\n", ndirs);
	for (int i = 0; i < ndirs; i++) {
		int n = replay_dir(dirs[i]);

		if (n < 0) {
			printf("not ok %d - %s: %s inputs could not be read\n", i + 1, FUZZ_NAME, dirs[i]);
			failed = 1;
		} else if (n == 0) {
			printf("ok %d - %s: no inputs in %s # SKIP empty\n", i + 1, FUZZ_NAME, dirs[i]);
		} else {
			printf("ok %d - %s: %d inputs from %s replayed\n", i + 1, FUZZ_NAME, n, dirs[i]);
		}
	}
	return failed;
}
