// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Readiness: start "upcallctl --wait ... ping" at t0, become ready at
 * t0 + T ms, and measure from then until the client's CONNECT line arrives
 * on a connection that is served (seen) and until the client has exited
 * after its handshake (served).  Modes, as a booting VM looks to the client:
 *   socket    no file at SOCK until T, then bind() and listen() (a VMM
 *             starting): the client waits on inotify;
 *   bound     SOCK bound from t0, listen() at T: connect() is refused until
 *             then (the client's backoff path);
 *   listener  SOCK listening from t0, but until T every connection's
 *             CONNECT is read and the connection closed unanswered (the VMM
 *             is up, the guest driver is not loaded yet; backoff path).
 * Usage: ready UPCALLCTL SOCK MODE T_MS REPS
 * Prints: median_seen_ns median_served_ns max_seen_ns
 */
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <upcall/wire.h>

#include "stats.h"

enum mode { SOCKET, BOUND, LISTENER };

static int bind_to(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind");
	return fd;
}

static void listen_on(int fd)
{
	if (listen(fd, 16) < 0)
		die("listen");
}

static void read_line(int fd)
{
	char c = 0;

	while (c != '\n')
		if (read(fd, &c, 1) != 1)
			return;
}

/* Answer the handshake: OK line, service byte, CONNECT frame. */
static void serve(int fd)
{
	uint8_t frame[UPCALL_FRAME_SIZE] = { 0 }, d;
	struct upcall_msg_header h = { UPCALL_MAGIC_VERSION, 0, UPCALL_MSG_CONNECT, 0 };

	memcpy(frame, &h, sizeof(h));
	if (write(fd, "OK 1073741824\n", 14) != 14 || read(fd, &d, 1) != 1 ||
	    write(fd, frame, sizeof(frame)) != (ssize_t)sizeof(frame))
		die("serve");
}

static pid_t client(char **argv)
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, 1);	/* its "answered in" line is not ours to print */
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0)
		die("fork");
	return pid;
}

static struct timespec ts_of(uint64_t ns)
{
	return (struct timespec){ (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
}

/* Until @ready, read each connection's CONNECT line and hang up on it. */
static void refuse_until(int lfd, uint64_t ready)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	uint64_t now;

	while ((now = now_ns()) < ready) {
		struct timespec left = ts_of(ready - now);
		int fd;

		if (ppoll(&p, 1, &left, NULL) <= 0 || now_ns() >= ready)
			continue;
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			die("accept");
		read_line(fd);
		close(fd);
	}
}

/* One round: the seen and served times after readiness. */
static void round_trip(char *ctl, const char *sock, enum mode mode, int t_ms,
		       uint64_t *seen, uint64_t *served)
{
	char vm[300];
	char *argv[] = { ctl, "--vm", vm, "--wait=10", "ping", NULL };
	uint64_t ready = now_ns() + (uint64_t)t_ms * 1000000u;
	struct timespec at = ts_of(ready);
	int lfd = -1, fd, status;
	pid_t pid;

	snprintf(vm, sizeof(vm), "%s", sock);
	unlink(sock);
	if (mode != SOCKET)
		lfd = bind_to(sock);
	if (mode == LISTENER)
		listen_on(lfd);
	pid = client(argv);
	if (mode == LISTENER)
		refuse_until(lfd, ready);
	else
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL))
			;
	if (mode == SOCKET)
		lfd = bind_to(sock);
	if (mode != LISTENER)
		listen_on(lfd);
	ready = now_ns();
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept");
	read_line(fd);
	*seen = now_ns() - ready;
	serve(fd);
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	*served = now_ns() - ready;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "ready: the client %s %d\n",
			WIFEXITED(status) ? "exited with" : "was killed by signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		exit(1);
	}
	close(fd);
	close(lfd);
	unlink(sock);
}

int main(int argc, char **argv)
{
	int reps = argc == 6 ? atoi(argv[5]) : 0;
	enum mode mode = SOCKET;
	uint64_t seen[1000], served[1000];

	if (argc == 6 && strcmp(argv[3], "bound") == 0)
		mode = BOUND;
	else if (argc == 6 && strcmp(argv[3], "listener") == 0)
		mode = LISTENER;
	else if (argc == 6 && strcmp(argv[3], "socket") != 0)
		reps = 0;
	if (reps < 1 || reps > 1000) {
		fprintf(stderr, "usage: ready UPCALLCTL SOCK socket|bound|listener T_MS REPS\n");
		return 64;
	}
	for (int i = 0; i < reps; i++)
		round_trip(argv[1], argv[2], mode, atoi(argv[4]), &seen[i], &served[i]);
	printf("%llu %llu ", (unsigned long long)quantile(seen, (size_t)reps, 0.5),
	       (unsigned long long)quantile(served, (size_t)reps, 0.5));
	printf("%llu\n", (unsigned long long)quantile(seen, (size_t)reps, 1.0));
	return 0;
}
