// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Exec-to-exit time of a command, N times, with an untimed reset command
 * run after each (or "-" for none).  Prints the median and 90th percentile
 * in nanoseconds and the largest peak RSS in KiB (wait4's ru_maxrss).
 * Usage: spawn N RESET CMD [ARGS...]; RESET is split on spaces.
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

static void reset(char *cmd)
{
	char *argv[16], *save = NULL;
	int n = 0;
	long rss;

	for (char *w = strtok_r(cmd, " ", &save); w && n < 15; w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	argv[n] = NULL;
	if (run(argv, &rss) != 0)
		fprintf(stderr, "spawn: reset command failed\n");
}

int main(int argc, char **argv)
{
	size_t n = argc > 3 ? strtoul(argv[1], NULL, 10) : 0;
	uint64_t *t = calloc(n ? n : 1, sizeof(*t));
	long rss, max_rss = 0;

	if (!n || !t) {
		fprintf(stderr, "usage: spawn N RESET|- CMD [ARGS...]\n");
		return 64;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		int rc = run(argv + 3, &rss);

		t[i] = now_ns() - t0;
		if (rc != 0) {
			fprintf(stderr, "spawn: %s exited with %d\n", argv[3], rc);
			return 1;
		}
		max_rss = rss > max_rss ? rss : max_rss;
		if (strcmp(argv[2], "-")) {
			char cmd[4096];

			snprintf(cmd, sizeof(cmd), "%s", argv[2]);
			reset(cmd);
		}
	}
	printf("%llu %llu %ld\n", (unsigned long long)quantile(t, n, 0.5),
	       (unsigned long long)quantile(t, n, 0.9), max_rss);
	free(t);
	return 0;
}
