// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Round trips of 1024-byte frames.  "raw N": over an AF_UNIX stream socket
 * to an echo process (the floor).  "session SOCK N": requests on one open
 * libupcall session (ADD_CPU then DEL_CPU of APIC ID 1, alternately).
 * Prints the median and 99th percentile in nanoseconds.
 */
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <upcall/upcall.h>
#include <upcall/wire.h>

#include "stats.h"

static void full(ssize_t (*io)(int, void *, size_t), int fd, uint8_t *buf)
{
	for (size_t done = 0; done < UPCALL_FRAME_SIZE;) {
		ssize_t n = io(fd, buf + done, UPCALL_FRAME_SIZE - done);

		if (n == 0)
			exit(0);	/* the other end closed */
		if (n < 0)
			die("frame");
		done += (size_t)n;
	}
}

static ssize_t wr(int fd, void *buf, size_t len)
{
	return write(fd, buf, len);
}

static void echo(int fd)
{
	uint8_t buf[UPCALL_FRAME_SIZE];

	for (;;) {
		full(read, fd, buf);
		full(wr, fd, buf);
	}
}

static void raw(uint64_t *t, size_t n)
{
	uint8_t buf[UPCALL_FRAME_SIZE] = { 1 };
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		die("socketpair");
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		echo(sv[1]);
	}
	close(sv[1]);
	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = now_ns();

		full(wr, sv[0], buf);
		full(read, sv[0], buf);
		t[i] = now_ns() - t0;
	}
	close(sv[0]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void session(const char *sock, uint64_t *t, size_t n)
{
	struct upcall_cpu_request req = { .count = 1, .apic_ver = UPCALL_DEFAULT_APIC_VER,
					  .apic_ids = { 1 } };
	struct upcall_target tg;
	struct upcall_session *s;
	struct upcall_reply rp;
	char err[256];

	if (upcall_target_parse(sock, 0, &tg, err, sizeof(err)) < 0 ||
	    !(s = upcall_session_new(&tg)) || upcall_connect(s) != UPCALL_OK) {
		fprintf(stderr, "pingpong: cannot open a session to %s\n", sock);
		exit(1);
	}
	upcall_session_set_arch(s, UPCALL_ARCH_X86_64);
	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		enum upcall_status st = i % 2 ? upcall_del_cpu(s, &req, &rp) :
						upcall_add_cpu(s, &req, &rp);

		t[i] = now_ns() - t0;
		if (st != UPCALL_OK) {
			fprintf(stderr, "pingpong: %s\n", upcall_errmsg(s));
			exit(1);
		}
	}
	upcall_session_free(s);
}

int main(int argc, char **argv)
{
	size_t n = argc > 2 ? strtoul(argv[argc - 1], NULL, 10) : 0;
	uint64_t *t = calloc(n ? n : 1, sizeof(*t));

	if (!n || !t || (strcmp(argv[1], "raw") && (argc != 4 || strcmp(argv[1], "session")))) {
		fprintf(stderr, "usage: pingpong raw N | pingpong session SOCK N\n");
		return 64;
	}
	if (argc == 4)
		session(argv[2], t, n);
	else
		raw(t, n);
	printf("%llu %llu\n", (unsigned long long)quantile(t, n, 0.5),
	       (unsigned long long)quantile(t, n, 0.99));
	free(t);
	return 0;
}
