// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The event-loop API against a guest that completes the handshake and never
 * replies: what get_fd/get_events/get_timeout say, one operation at a time,
 * cancel, disconnect and timeout in the middle of a request.
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "tap.h"

static char dir[] = "/tmp/test-async.XXXXXX", sock[64];

#define is_str(got, want, what) do {					\
	const char *g_ = (got);						\
	ok(strcmp(g_, (want)) == 0, "%s: %s", (what), g_);		\
} while (0)

static uint64_t now_us(void)
{
	return upcall_now_ns() / 1000;
}

/* Handshakes every connection in turn, then reads requests, never replies. */
static pid_t mute_guest(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint8_t frame[UPCALL_FRAME_SIZE] = { 0 };
	uint32_t magic = htole32(UPCALL_MAGIC_VERSION);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	pid_t pid;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4))
		return -1;
	memcpy(frame, &magic, sizeof(magic));
	pid = fork();
	if (pid != 0) {
		close(lfd);
		return pid;
	}
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		char c = 0, buf[UPCALL_FRAME_SIZE];

		while (fd >= 0 && c != '\n' && read(fd, &c, 1) == 1)
			;
		if (fd < 0)
			_exit(1);
		/* A client that hangs up mid-handshake: on to the next one. */
		if (write(fd, "OK 1\n", 5) == 5 && read(fd, &c, 1) == 1 &&
		    write(fd, frame, sizeof(frame)) == sizeof(frame))
			while (read(fd, buf, sizeof(buf)) > 0)
				;
		close(fd);
	}
}

/* process() whenever the session's descriptor or deadline says so. */
static enum upcall_status drive(struct upcall_session *s, enum upcall_status st)
{
	while (st == UPCALL_IN_PROGRESS) {
		struct pollfd pfd = {
			.fd = upcall_session_get_fd(s),
			.events = (short)upcall_session_get_events(s),
		};
		uint64_t at = upcall_session_get_timeout(s), now = now_us();

		poll(&pfd, 1, at > now ? (int)((at - now + 999) / 1000) : 0);
		st = upcall_session_process(s);
	}
	return st;
}

static void test_idle(struct upcall_session *s)
{
	is_int(upcall_session_get_fd(s), -1, "idle, not connected: no descriptor");
	is_int(upcall_session_get_events(s), 0, "no events");
	ok(upcall_session_get_timeout(s) == UINT64_MAX, "no timeout");
	is_int(upcall_session_process(s), UPCALL_OK, "process() has nothing to do");
	is_int(upcall_session_set_nonblocking(s, true), 0, "non-blocking mode");
}

static void test_connect(struct upcall_session *s)
{
	/* The guest may have answered before we looked: in progress or done. */
	is_int(drive(s, upcall_connect(s)), UPCALL_OK, "connected (%s)", upcall_errmsg(s));
	is_int(upcall_session_stat(s, UPCALL_STAT_CONNECTS), 1, "one handshake");
	ok(upcall_session_get_timeout(s) == UINT64_MAX, "idle again: no timeout");
	is_int(upcall_connect(s), UPCALL_OK, "connect when connected: done at once");
}

static void test_one_at_a_time(struct upcall_session *s)
{
	struct upcall_id_list cpus, other;
	struct upcall_range_list mem;
	uint64_t before = now_us(), at;

	is_int(upcall_query_cpus(s, &cpus), UPCALL_IN_PROGRESS, "QUERY_CPUS sent, awaited");
	at = upcall_session_get_timeout(s);
	ok(upcall_session_get_fd(s) >= 0, "a descriptor to watch");
	is_int(upcall_session_get_events(s), POLLIN, "waiting to read the reply");
	ok(at >= before + 1000000 && at <= now_us() + 1000000,
	   "timeout: absolute CLOCK_MONOTONIC microseconds, 1 s after the request began");
	is_int(upcall_query_cpus(s, &other), UPCALL_ERR_INVALID, "a second request: refused");
	ok(strstr(upcall_errmsg(s), "another operation is in progress (waiting for the reply to QUERY_CPUS)"),
	   "says why: %s", upcall_errmsg(s));
	is_int(upcall_query_mem(s, &mem), UPCALL_ERR_INVALID, "another type too");
	is_int(upcall_session_set_nonblocking(s, false), -EBUSY, "no blocking mode mid-request");
	is_int(upcall_session_process(s), UPCALL_IN_PROGRESS, "the first request goes on");
}

static void test_cancel(struct upcall_session *s)
{
	int p[2];

	if (pipe(p)) {
		ok(0, "pipe");
		return;
	}
	upcall_session_set_cancel_fd(s, p[0]);
	is_int(upcall_session_process(s), UPCALL_IN_PROGRESS, "cancel descriptor quiet: goes on");
	ok(write(p[1], "x", 1) == 1, "cancel: one byte into the pipe");
	is_int(upcall_session_process(s), UPCALL_ERR_CANCELLED, "process(): cancelled");
	is_str(upcall_errmsg(s), "interrupted waiting for the reply to QUERY_CPUS", "message");
	is_int(upcall_session_get_fd(s), -1, "the connection is dropped");
	is_int(upcall_session_process(s), UPCALL_ERR_CANCELLED, "and process() says so again");
	upcall_session_set_cancel_fd(s, -1);
	close(p[0]);
	close(p[1]);
}

static void test_disconnect(struct upcall_session *s)
{
	struct upcall_id_list cpus;

	is_int(drive(s, upcall_query_cpus(s, &cpus)), UPCALL_ERR_TIMEOUT,
	       "connect and QUERY_CPUS in one go, then the timeout");
	is_str(upcall_errmsg(s), "timed out after 1s waiting for the reply to QUERY_CPUS",
	       "the blocking call's message");
	is_int(drive(s, upcall_connect(s)), UPCALL_OK, "connected anew");
	is_int(upcall_query_cpus(s, &cpus), UPCALL_IN_PROGRESS, "QUERY_CPUS: in progress");
	upcall_disconnect(s);
	is_int(upcall_session_process(s), UPCALL_ERR_CANCELLED, "disconnect abandons it");
	is_str(upcall_errmsg(s), "interrupted waiting for the reply to QUERY_CPUS", "message");
	ok(upcall_session_get_timeout(s) == UINT64_MAX, "no timeout left");
	is_int(upcall_session_set_nonblocking(s, false), 0, "blocking mode again");
	is_int(upcall_query_cpus(s, &cpus), UPCALL_ERR_TIMEOUT, "blocking: the same timeout");
	is_str(upcall_errmsg(s), "timed out after 1s waiting for the reply to QUERY_CPUS",
	       "the same message");
}

int main(void)
{
	struct upcall_session *s;
	struct upcall_target t;
	char err[128];
	pid_t pid;

	tap_plan(34);
	if (!mkdtemp(dir))
		return 1;
	snprintf(sock, sizeof(sock), "%s/vm.sock", dir);
	pid = mute_guest();
	if (pid < 0 || upcall_target_parse(sock, 0, &t, err, sizeof(err)))
		return 1;
	s = upcall_session_new(&t);
	upcall_session_set_timeout(s, 1000);

	test_idle(s);
	test_connect(s);
	test_one_at_a_time(s);
	test_cancel(s);
	test_disconnect(s);

	upcall_session_free(s);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unlink(sock);
	rmdir(dir);
	return tap_done();
}
