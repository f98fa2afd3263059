// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Exec-to-exit time of a command, N times, with an untimed reset command
 * run after each (or "-" for none).  Prints the median and 90th percentile
 * in nanoseconds and the largest peak RSS in KiB (wait4's ru_maxrss).
 *   spawn N RESET CMD [ARGS...] [--vs RESET2 CMD2 [ARGS...]]
 * RESET is split on spaces.  A word of a command or reset that is "{}"
 * becomes the round's number, from 1.  With --vs, the two commands take
 * turns, round by round, so that a drift of the machine's speed during
 * the run weighs on both alike; the second's three figures follow.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stats.h"

struct job {
	const char *reset;
	char **argv;		/* NULL-terminated */
	char **cmd;		/* argv with the round substituted */
	uint64_t *t;
	long max_rss;
};

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

static void reset(const char *line)
{
	char cmd[4096], *argv[16], *save = NULL, *out[16];
	int n = 0;
	long rss;

	if (!strcmp(line, "-"))
		return;
	snprintf(cmd, sizeof(cmd), "%s", line);
	for (char *w = strtok_r(cmd, " ", &save); w && n < 15; w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	argv[n] = NULL;
	if (run(with_round(argv, out), &rss) != 0)
		fprintf(stderr, "spawn: reset command failed\n");
}

/* Round @i of @j: timed, then its reset; exits if the command failed. */
static void round_of(struct job *j, size_t i)
{
	uint64_t t0;
	long rss;
	int rc;

	with_round(j->argv, j->cmd);
	t0 = now_ns();
	rc = run(j->cmd, &rss);
	j->t[i] = now_ns() - t0;
	if (rc != 0) {
		fprintf(stderr, "spawn: %s exited with %d\n", j->argv[0], rc);
		exit(1);
	}
	j->max_rss = rss > j->max_rss ? rss : j->max_rss;
	reset(j->reset);
}

int main(int argc, char **argv)
{
	size_t n = argc > 3 ? strtoul(argv[1], NULL, 10) : 0, njobs = 1;
	struct job jobs[2] = { { .reset = argc > 3 ? argv[2] : "-", .argv = argv + 3 } };

	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--vs"))
			continue;
		argv[i] = NULL;		/* ends the first command */
		if (i == 3 || i + 2 >= argc)
			n = 0;
		jobs[1] = (struct job){ .reset = argv[i + 1], .argv = argv + i + 2 };
		njobs = 2;
		break;
	}
	for (size_t k = 0; k < njobs; k++) {
		jobs[k].t = calloc(n ? n : 1, sizeof(uint64_t));
		jobs[k].cmd = calloc((size_t)argc, sizeof(char *));
		if (!jobs[k].t || !jobs[k].cmd)
			die("calloc");
	}
	if (!n) {
		fprintf(stderr, "usage: spawn N RESET|- CMD [ARGS...] [--vs RESET|- CMD [ARGS...]]\n");
		return 64;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(round_no, sizeof(round_no), "%zu", i + 1);
		for (size_t k = 0; k < njobs; k++)
			round_of(&jobs[k], i);
	}
	for (size_t k = 0; k < njobs; k++) {
		printf("%s%llu %llu %ld", k ? " " : "",
		       (unsigned long long)quantile(jobs[k].t, n, 0.5),
		       (unsigned long long)quantile(jobs[k].t, n, 0.9), jobs[k].max_rss);
		free(jobs[k].t);
		free(jobs[k].cmd);
	}
	printf("\n");
	return 0;
}
