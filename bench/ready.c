// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Readiness: start "upcallctl --wait ... ping" at t0, become the guest at
 * t0 + T ms, and measure from then until the client's CONNECT line arrives
 * (seen) and until the client exited after its handshake (served).
 * Modes: "socket": the socket file appears at T (a VMM starting);
 * "listener": the socket exists from t0 but connections are closed
 * unanswered until T (a guest driver not loaded yet).
 * Usage: ready UPCALLCTL SOCK MODE T_MS REPS; prints median seen_ns served_ns.
 */
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <upcall/wire.h>

#include "stats.h"

static int listen_on(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0)
		die("listen");
	return fd;
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
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* One round: returns seen and served times after T in @seen, @served. */
static void round_trip(char *ctl, const char *sock, bool late_socket, int t_ms,
		       uint64_t *seen, uint64_t *served)
{
	char vm[300];
	char *argv[] = { ctl, "--vm", vm, "--wait=10", "ping", NULL };
	int lfd = late_socket ? -1 : listen_on(sock), fd, status;
	uint64_t t0 = now_ns(), ready = t0 + (uint64_t)t_ms * 1000000u;
	pid_t pid;

	snprintf(vm, sizeof(vm), "%s", sock);
	if (late_socket)
		unlink(sock);
	pid = client(argv);
	while (!late_socket && (fd = accept(lfd, NULL, NULL)) >= 0 && now_ns() < ready) {
		read_line(fd);
		close(fd);	/* nobody listens in the guest yet */
	}
	while (now_ns() < ready)
		;
	if (late_socket)
		lfd = listen_on(sock);
	ready = now_ns();
	if (late_socket)
		fd = accept(lfd, NULL, NULL);
	read_line(fd);
	*seen = now_ns() - ready;
	serve(fd);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		die("client");
	*served = now_ns() - ready;
	close(fd);
	close(lfd);
	unlink(sock);
}

int main(int argc, char **argv)
{
	int reps = argc == 6 ? atoi(argv[5]) : 0;
	uint64_t seen[1000], served[1000];

	if (reps < 1 || reps > 1000) {
		fprintf(stderr, "usage: ready UPCALLCTL SOCK socket|listener T_MS REPS\n");
		return 64;
	}
	for (int i = 0; i < reps; i++)
		round_trip(argv[1], argv[2], strcmp(argv[3], "socket") == 0, atoi(argv[4]),
			   &seen[i], &served[i]);
	printf("%llu %llu\n", (unsigned long long)quantile(seen, (size_t)reps, 0.5),
	       (unsigned long long)quantile(served, (size_t)reps, 0.5));
	return 0;
}
