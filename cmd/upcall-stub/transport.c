/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * upcall-stub: the Unix socket, hybrid vsock ("CONNECT <port>\n" /
 * "OK <n>\n") as a VMM speaks it, then the guest's side of the stream:
 * service byte, CONNECT frame, request/reply ping-pong.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* asprintf, accept4, pipe2 */
#endif
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "stub.h"

#define STUB_LINE_TIMEOUT_MS	10000	/* for the CONNECT line, like the service byte */
#define STUB_SHORT_REPLY_BYTES	100
#define STUB_ENDLESS_OK_MS	20

/* ---- socket file ------------------------------------------------------ */

static int fill_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa->sun_path, path);
	return 0;
}

/* Is someone serving this socket file right now? */
static bool socket_is_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return live;
}

static int listen_error(const char *path, const char *what)
{
	fprintf(stderr, "upcall-stub: %s: %s: %s\n", path, what, strerror(errno));
	return -1;
}

/* Remove a stale socket file at the path; refuse anything else. */
static int clear_path(const char *path, const struct sockaddr_un *sa)
{
	struct stat sb;

	if (lstat(path, &sb) < 0)
		return errno == ENOENT ? 0 : listen_error(path, "stat");
	if (!S_ISSOCK(sb.st_mode)) {
		fprintf(stderr, "upcall-stub: %s exists and is not a socket; not replacing it\n",
			path);
		return -1;
	}
	if (socket_is_live(sa)) {
		fprintf(stderr, "upcall-stub: %s is in use by a running server\n", path);
		return -1;
	}
	if (unlink(path) < 0)
		return listen_error(path, "cannot remove stale socket");
	return 0;
}

static int bind_private(int fd, const struct sockaddr_un *sa, dev_t *dev, ino_t *ino)
{
	mode_t old = umask(0177);
	struct stat sb;
	int r = bind(fd, (const struct sockaddr *)sa, sizeof(*sa));

	umask(old);
	if (r < 0)
		return -1;
	if (chmod(sa->sun_path, 0600) < 0 || lstat(sa->sun_path, &sb) < 0)
		return -1;
	*dev = sb.st_dev;
	*ino = sb.st_ino;
	return 0;
}

int stub_listen(const char *path, dev_t *dev, ino_t *ino)
{
	struct sockaddr_un sa;
	int fd;

	if (fill_addr(path, &sa) < 0)
		return listen_error(path, "socket path");
	if (clear_path(path, &sa) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return listen_error(path, "socket");
	if (bind_private(fd, &sa, dev, ino) < 0 || listen(fd, 64) < 0) {
		listen_error(path, "bind/listen");
		stub_unlink_socket(path, *dev, ino);
		close(fd);
		return -1;
	}
	return fd;
}

void stub_unlink_socket(const char *path, dev_t dev, ino_t *ino)
{
	struct stat sb;

	if (!*ino || lstat(path, &sb) < 0)
		return;
	if (sb.st_dev == dev && sb.st_ino == *ino)
		unlink(path);
	*ino = 0;
}

/* ---- byte I/O --------------------------------------------------------- */

/* 1 if @fd is readable (data or EOF), 0 on timeout, -1 when shutting down. */
int stub_wait_readable(struct stub *st, int fd, int timeout_ms)
{
	struct pollfd p[2] = {
		{ .fd = fd, .events = POLLIN },
		{ .fd = st->stop_rd, .events = POLLIN },
	};
	int r;

	do
		r = poll(p, 2, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0 || p[1].revents)
		return -1;
	return r > 0;
}

/* Read up to @len bytes; fewer only on EOF.  Bytes read, or -1. */
ssize_t stub_read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = recv(fd, (char *)buf + got, len - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int stub_write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = send(fd, (const char *)buf + done, len - done, MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

/* Send @buf, one byte per slow-drip interval when that fault is on. */
int stub_send_slow(struct stub *st, int fd, const void *buf, size_t len)
{
	unsigned int ms = st->cfg.faults.slow_drip_ms;

	if (!ms)
		return stub_write_full(fd, buf, len);
	for (size_t i = 0; i < len; i++) {
		if (stub_write_full(fd, (const char *)buf + i, 1) < 0)
			return -1;
		if (i + 1 < len && stub_sleep_ms(st, ms) < 0)
			return -1;
	}
	return 0;
}

/* Read and discard until the peer closes or the stub shuts down. */
static void drain(struct stub *st, int fd)
{
	char buf[UPCALL_FRAME_SIZE];

	while (stub_wait_readable(st, fd, -1) > 0) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);

		if (r == 0 || (r < 0 && errno != EINTR))
			return;
	}
}

/* ---- hybrid vsock: the VMM's part -------------------------------------- */

/* Read "CONNECT <port>\n" byte by byte (bounded).  Length, or -1. */
static int read_line(struct stub *st, int fd, char *line, size_t cap)
{
	for (size_t n = 0; n < cap; n++) {
		if (stub_wait_readable(st, fd, STUB_LINE_TIMEOUT_MS) <= 0)
			return -1;
		if (stub_read_full(fd, &line[n], 1) != 1)
			return -1;
		if (line[n] == '\n')
			return (int)n + 1;
	}
	return -1;
}

/* Strict "CONNECT <decimal>\n"; 0 and the port, or -1. */
static int parse_connect(const char *line, int len, unsigned long long *port)
{
	static const char verb[] = "CONNECT ";
	const int vlen = sizeof(verb) - 1;

	if (len < vlen + 2 || len > vlen + 11 || memcmp(line, verb, vlen) != 0)
		return -1;
	*port = 0;
	for (int i = vlen; i < len - 1; i++) {
		if (line[i] < '0' || line[i] > '9')
			return -1;
		*port = *port * 10 + (unsigned long long)(line[i] - '0');
	}
	return 0;
}

static void endless_ok(struct stub *st, int fd)
{
	while (stub_write_full(fd, "O", 1) == 0 &&
	       stub_sleep_ms(st, STUB_ENDLESS_OK_MS) == 0)
		;
}

/* The VMM's side of the handshake.  true: the stream now goes to the guest. */
static bool vmm_accept(struct stub *st, int fd)
{
	const struct stub_faults *f = &st->cfg.faults;
	char line[STUB_CONNECT_LINE_MAX], ok[32];
	unsigned long long port;
	__u32 host_port;
	int len = read_line(st, fd, line, sizeof(line));

	if (len < 0 || parse_connect(line, len, &port) < 0 || port != st->cfg.port ||
	    f->no_listener) {
		stub_log(st, "connection refused (no listener for that CONNECT line)\n");
		return false;
	}
	if (f->garbage_ok) {
		if (stub_write_full(fd, "HELLO\n", 6) == 0)
			drain(st, fd);
		return false;
	}
	if (f->endless_ok) {
		endless_ok(st, fd);
		return false;
	}
	pthread_mutex_lock(&st->lock);
	host_port = st->state.next_host_port++;
	pthread_mutex_unlock(&st->lock);
	len = snprintf(ok, sizeof(ok), "OK %u\n", host_port);
	return stub_write_full(fd, ok, (size_t)len) == 0;
}

/* ---- the guest's part ---------------------------------------------------- */

/* Service byte, then the CONNECT frame.  true: serve requests. */
static bool guest_accept(struct stub *st, int fd)
{
	const struct stub_faults *f = &st->cfg.faults;
	__u8 frame[UPCALL_FRAME_SIZE] = { 0 };
	struct upcall_msg_header hdr = { .magic_version = UPCALL_MAGIC_VERSION };
	char service;

	if (stub_wait_readable(st, fd, UPCALL_SERVICE_TIMEOUT_MS) <= 0 ||
	    stub_read_full(fd, &service, 1) != 1 || service != UPCALL_SERVICE_DEVMGR) {
		stub_log(st, "no device-manager service byte; closing\n");
		return false;
	}
	if (f->no_connect_frame) {
		stub_log(st, "service byte read; withholding the CONNECT frame\n");
		drain(st, fd);
		return false;
	}
	memcpy(frame, &hdr, sizeof(hdr));
	if (f->close_mid_frame) {
		stub_send_slow(st, fd, frame, sizeof(frame) / 2);
		return false;
	}
	return stub_send_slow(st, fd, frame, sizeof(frame)) == 0;
}

/* Send one reply as the faults dictate.  false: close the connection. */
static bool send_reply(struct stub *st, int fd, const __u8 *reply)
{
	const struct stub_faults *f = &st->cfg.faults;

	if (f->no_reply)
		return true;
	if (f->reply_after_ms && stub_sleep_ms(st, f->reply_after_ms) < 0)
		return false;
	if (f->short_reply) {
		stub_send_slow(st, fd, reply, STUB_SHORT_REPLY_BYTES);
		return false;
	}
	return stub_send_slow(st, fd, reply, UPCALL_FRAME_SIZE) == 0;
}

static void serve_requests(struct stub *st, int fd)
{
	__u8 req[UPCALL_FRAME_SIZE], reply[UPCALL_FRAME_SIZE];

	for (;;) {
		ssize_t n = stub_read_full(fd, req, sizeof(req));

		if (n != (ssize_t)sizeof(req)) {
			if (n > 0)
				stub_log(st, "partial frame (%zd bytes) then EOF\n", n);
			return;
		}
		stub_handle_frame(st, req, reply);
		if (!send_reply(st, fd, reply))
			return;
	}
}

/* Everything one accepted connection goes through; the caller closes @fd. */
void stub_serve(struct stub *st, int fd)
{
	if (vmm_accept(st, fd) && guest_accept(st, fd))
		serve_requests(st, fd);
}
