// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Exec-to-exit time of a command, N times, with an untimed reset command
 * run after each (or "-" for none).  Prints the median and 90th percentile
 * in nanoseconds and the largest peak RSS in KiB (wait4's ru_maxrss).
 * Usage: spawn N RESET CMD [ARGS...]; RESET is split on spaces.  A word of
 * CMD or RESET that is "{}" becomes the round's number, from 1.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stats.h"

/* Runs argv; returns its exit status, its peak RSS in @rss_kb. */
static int run(char **argv, long *rss_kb)
{
	struct rusage ru;
	int status;
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		die("wait4");
	*rss_kb = ru.ru_maxrss;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static char round_no[24];

/* @argv (NULL-terminated) into @out, each "{}" as the round's number. */
static char **with_round(char **argv, char **out)
{
	int n = 0;

	for (; argv[n]; n++)
		out[n] = strcmp(argv[n], "{}") ? argv[n] : round_no;
	out[n] = NULL;
	return out;
}

static void reset(char *cmd)
{
	char *argv[16], *save = NULL, *out[16];
	int n = 0;
	long rss;

	for (char *w = strtok_r(cmd, " ", &save); w && n < 15; w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	argv[n] = NULL;
	with_round(argv, out);
	if (run(out, &rss) != 0)
		fprintf(stderr, "spawn: reset command failed\n");
}

int main(int argc, char **argv)
{
	size_t n = argc > 3 ? strtoul(argv[1], NULL, 10) : 0;
	uint64_t *t = calloc(n ? n : 1, sizeof(*t));
	char **cmd = calloc((size_t)argc, sizeof(*cmd));
	long rss, max_rss = 0;

	if (!n || !t || !cmd) {
		fprintf(stderr, "usage: spawn N RESET|- CMD [ARGS...]\n");
		return 64;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t t0;
		int rc;

		snprintf(round_no, sizeof(round_no), "%zu", i + 1);
		with_round(argv + 3, cmd);
		t0 = now_ns();
		rc = run(cmd, &rss);
		t[i] = now_ns() - t0;
		if (rc != 0) {
			fprintf(stderr, "spawn: %s exited with %d\n", argv[3], rc);
			return 1;
		}
		max_rss = rss > max_rss ? rss : max_rss;
		if (strcmp(argv[2], "-")) {
			char line[4096];

			snprintf(line, sizeof(line), "%s", argv[2]);
			reset(line);
		}
	}
	printf("%llu %llu %ld\n", (unsigned long long)quantile(t, n, 0.5),
	       (unsigned long long)quantile(t, n, 0.9), max_rss);
	free(cmd);
	free(t);
	return 0;
}
