// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Reaching the guest's vsock port: hybrid vsock over a VMM's Unix socket or
 * native AF_VSOCK, with every wait bounded by a deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <libgen.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "internal.h"

static double secs(int ms)
{
	return ms / 1000.0;
}

static int remaining_ms(uint64_t deadline_ns)
{
	uint64_t now = upcall_now_ns();

	if (now >= deadline_ns)
		return 0;
	/* Round up so a wait never ends just short of the deadline. */
	return (int)((deadline_ns - now + 999999) / 1000000);
}

int upcall_poll(const struct upcall_session *s, int fd, short events, int ms)
{
	struct pollfd pfd[2] = {
		{ .fd = fd, .events = events },
		{ .fd = s->cancel_fd, .events = POLLIN },
	};
	int n = poll(pfd, 2, ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	/* A closed cancel descriptor (POLLNVAL) cancels too: better than a hang. */
	if (pfd[1].revents)
		return -ECANCELED;
	return n > 0;
}

bool upcall_cancelled(const struct upcall_session *s)
{
	return s->cancel_fd >= 0 && upcall_poll(s, -1, 0, 0) == -ECANCELED;
}

/* Wait for @events until the deadline, or until the caller cancels. */
static enum upcall_status wait_fd(struct upcall_session *s, short events,
				  uint64_t deadline_ns, const char *what)
{
	for (;;) {
		int ms = remaining_ms(deadline_ns);
		int n;

		if (ms == 0)
			return upcall_fail(s, UPCALL_ERR_TIMEOUT,
					   "timed out after %gs %s", secs(s->timeout_ms), what);
		n = upcall_poll(s, s->fd, events, ms);
		if (n > 0)
			return UPCALL_OK;
		if (n == -ECANCELED)
			return upcall_fail(s, UPCALL_ERR_CANCELLED, "interrupted %s", what);
		if (n < 0)
			return upcall_fail(s, UPCALL_ERR_SYSTEM, "poll failed %s: %s",
					   what, strerror(-n));
	}
}

enum upcall_status upcall_send_all(struct upcall_session *s, const void *buf,
				   size_t len, uint64_t deadline_ns,
				   const char *what)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = send(s->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		enum upcall_status st;

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			st = wait_fd(s, POLLOUT, deadline_ns, what);
			if (st)
				return st;
			continue;
		}
		if (errno == EPIPE || errno == ECONNRESET)
			return upcall_fail(s, UPCALL_ERR_UNREACHABLE,
					   "connection lost %s: %s", what, strerror(errno));
		return upcall_fail(s, UPCALL_ERR_SYSTEM, "send failed %s: %s", what,
				   strerror(errno));
	}
	return UPCALL_OK;
}

/* Returns bytes read (>0), 0 on EOF, or -1 with a status already set. */
static ssize_t recv_some(struct upcall_session *s, void *buf, size_t len,
			 uint64_t deadline_ns, const char *what,
			 enum upcall_status *st)
{
	for (;;) {
		ssize_t n = recv(s->fd, buf, len, MSG_DONTWAIT);

		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			*st = wait_fd(s, POLLIN, deadline_ns, what);
			if (*st)
				return -1;
			continue;
		}
		if (errno == ECONNRESET)
			return 0;	/* same as EOF for our purposes */
		*st = upcall_fail(s, UPCALL_ERR_SYSTEM, "recv failed %s: %s", what,
				  strerror(errno));
		return -1;
	}
}

enum upcall_status upcall_recv_all(struct upcall_session *s, void *buf,
				   size_t len, size_t *got, uint64_t deadline_ns,
				   const char *what)
{
	enum upcall_status st = UPCALL_OK;

	*got = 0;
	while (*got < len) {
		ssize_t n = recv_some(s, (uint8_t *)buf + *got, len - *got,
				      deadline_ns, what, &st);

		if (n < 0)
			return st;
		if (n == 0)
			return UPCALL_ERR_UNREACHABLE;	/* caller words the EOF */
		*got += (size_t)n;
	}
	return UPCALL_OK;
}

static int open_socket(int family)
{
	return socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
}

static enum upcall_status connect_failed(struct upcall_session *s, int err,
					 const char *where)
{
	const char *hint = "";
	struct stat st;

	/* connect() to a file or a directory says "refused": say what it is. */
	if (s->target.transport == UPCALL_TRANSPORT_UNIX && err == ECONNREFUSED &&
	    stat(s->target.path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		s->retryable = false;
		return upcall_fail(s, UPCALL_ERR_UNREACHABLE,
				   "Failed to connect to %s: it is a %s, not a socket (give the VMM's socket)",
				   where, S_ISDIR(st.st_mode) ? "directory" : "file");
	}
	s->retryable = err == ENOENT || err == ECONNREFUSED || err == ECONNRESET;
	if (s->target.transport == UPCALL_TRANSPORT_VSOCK &&
	    (err == ECONNRESET || err == ECONNREFUSED))
		return upcall_fail(s, UPCALL_ERR_UNREACHABLE,
				   "vsock port %" PRIu32 " has no listener in the guest (is the upcall driver loaded?)",
				   s->target.port);
	if (err == ECONNREFUSED)
		hint = " (is the VMM running?)";
	else if (err == ENODEV || err == EADDRNOTAVAIL || err == EAFNOSUPPORT)
		hint = " (is the vsock transport loaded on this host?)";
	return upcall_fail(s, UPCALL_ERR_UNREACHABLE, "Failed to connect to %s: %s%s",
			   where, strerror(err), hint);
}

/* Non-blocking connect, then wait for it to finish within the deadline. */
static enum upcall_status finish_connect(struct upcall_session *s,
					 const struct sockaddr *sa,
					 socklen_t salen, const char *where,
					 uint64_t deadline_ns)
{
	enum upcall_status st;
	socklen_t elen = sizeof(int);
	char what[96];
	int err = 0;

	/* A Unix listener with a full backlog says EAGAIN: try again shortly. */
	while (connect(s->fd, sa, salen) < 0) {
		if (errno == EAGAIN && sa->sa_family == AF_UNIX) {
			if (remaining_ms(deadline_ns) == 0)
				return upcall_fail(s, UPCALL_ERR_TIMEOUT,
						   "timed out after %gs connecting to %s (listen backlog full)",
						   secs(s->timeout_ms), where);
			if (upcall_poll(s, -1, 0, 1) == -ECANCELED)
				return upcall_fail(s, UPCALL_ERR_CANCELLED,
						   "interrupted connecting to %s", where);
			continue;
		}
		if (errno != EINPROGRESS && errno != EINTR)
			return connect_failed(s, errno, where);
		break;
	}
	if (sa->sa_family == AF_UNIX)
		return UPCALL_OK;
	snprintf(what, sizeof(what), "connecting to %s", where);
	st = wait_fd(s, POLLOUT, deadline_ns, what);
	if (st)
		return st;
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		err = errno;
	if (err == ETIMEDOUT)	/* vsock's own timer, set to our deadline */
		return upcall_fail(s, UPCALL_ERR_TIMEOUT, "timed out after %gs %s",
				   secs(s->timeout_ms), what);
	return err ? connect_failed(s, err, where) : UPCALL_OK;
}

static enum upcall_status open_unix(struct upcall_session *s,
				    uint64_t deadline_ns)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	memcpy(sun.sun_path, s->target.path, sizeof(sun.sun_path));
	s->fd = open_socket(AF_UNIX);
	if (s->fd < 0)
		return upcall_fail(s, UPCALL_ERR_SYSTEM, "socket(AF_UNIX) failed: %s",
				   strerror(errno));
	return finish_connect(s, (struct sockaddr *)&sun, sizeof(sun),
			      s->target.path, deadline_ns);
}

/*
 * Hybrid vsock: "CONNECT <port>\n", then "OK <n>\n".  The reply is read
 * byte by byte so no stream byte after the LF is consumed.
 */
static enum upcall_status hybrid_handshake(struct upcall_session *s,
					   uint64_t deadline_ns)
{
	char line[UPCALL_OK_LINE_MAX + 1], req[32];
	enum upcall_status st = UPCALL_OK;
	uint32_t host_port;
	bool unended;
	size_t len = 0;
	int n;

	n = snprintf(req, sizeof(req), "CONNECT %" PRIu32 "\n", s->target.port);
	st = upcall_send_all(s, req, (size_t)n, deadline_ns,
			     "sending CONNECT to the VMM");
	/* A VMM going away (or restarting) right after accept: wait on. */
	s->retryable = st == UPCALL_ERR_UNREACHABLE;
	if (st)
		return st;

	while (len < UPCALL_OK_LINE_MAX) {
		ssize_t r = recv_some(s, line + len, 1, deadline_ns,
				      "waiting for the VMM's answer to CONNECT", &st);

		s->retryable = r < 0 && st == UPCALL_ERR_UNREACHABLE && len == 0;
		if (r < 0)
			return st;
		if (r == 0) {
			s->retryable = len == 0;
			if (len == 0)
				return upcall_fail(s, UPCALL_ERR_UNREACHABLE,
						   "vsock port %" PRIu32 " has no listener in the guest (is the upcall driver loaded?)",
						   s->target.port);
			break;
		}
		if (line[len++] == '\n')
			break;
	}
	line[len] = '\0';
	if (upcall_parse_ok_line(line, len, &host_port) == 0)
		return UPCALL_OK;

	unended = line[len - 1] != '\n';
	line[strcspn(line, "\r\n")] = '\0';
	for (char *c = line; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
	if (len == UPCALL_OK_LINE_MAX && unended)
		return upcall_fail(s, UPCALL_ERR_PROTOCOL,
				   "VMM's answer to CONNECT %" PRIu32 " exceeds %d bytes without a newline: \"%.16s...\"",
				   s->target.port, UPCALL_OK_LINE_MAX, line);
	return upcall_fail(s, UPCALL_ERR_PROTOCOL,
			   "VMM answered CONNECT %" PRIu32 " with \"%s\", expected \"OK <port>\" (is %s a hybrid vsock socket?)",
			   s->target.port, line, s->target.path);
}

/*
 * A guest's own module (CID 1, loaded with allow_local=1) serves a local
 * peer only from a source port below 1024, which takes
 * CAP_NET_BIND_SERVICE: bind one when we may, from a varying start, since
 * a port just closed may still be in use on the module's side.  Without
 * the capability the connection goes out unbound, and the module refuses it.
 */
static void bind_privileged_port(int fd)
{
	struct sockaddr_vm svm = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY };
	unsigned int start = (unsigned int)(upcall_now_ns() / 1000) % 512;

	for (unsigned int i = 0; i < 512; i++) {
		svm.svm_port = 512 + (start + i) % 512;
		if (bind(fd, (struct sockaddr *)&svm, sizeof(svm)) == 0 || errno != EADDRINUSE)
			return;
	}
}

static enum upcall_status open_vsock(struct upcall_session *s,
				     uint64_t deadline_ns)
{
	struct sockaddr_vm svm = {
		.svm_family = AF_VSOCK,
		.svm_cid = s->target.cid,
		.svm_port = s->target.port,
	};
	struct timeval tv;
	char where[48];
	int ms;

	snprintf(where, sizeof(where), "vsock CID %" PRIu32 " port %" PRIu32,
		 s->target.cid, s->target.port);
	s->fd = open_socket(AF_VSOCK);
	if (s->fd < 0 && (errno == EAFNOSUPPORT || errno == ENODEV || errno == EADDRNOTAVAIL))
		return connect_failed(s, errno, where);
	if (s->fd < 0)
		return upcall_fail(s, UPCALL_ERR_SYSTEM, "socket(AF_VSOCK) failed: %s",
				   strerror(errno));
	if (s->target.cid == VMADDR_CID_LOCAL)
		bind_privileged_port(s->fd);
	/* vsock gives up on a connect after 2 s of its own unless told otherwise */
	ms = remaining_ms(deadline_ns);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (setsockopt(s->fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof(tv)) < 0)
		return upcall_fail(s, UPCALL_ERR_SYSTEM, "setting the vsock connect timeout failed: %s",
				   strerror(errno));
	return finish_connect(s, (struct sockaddr *)&svm, sizeof(svm), where,
			      deadline_ns);
}

enum upcall_status upcall_transport_open(struct upcall_session *s,
					 uint64_t deadline_ns)
{
	enum upcall_status st;

	if (s->target.transport == UPCALL_TRANSPORT_VSOCK)
		return open_vsock(s, deadline_ns);
	st = open_unix(s, deadline_ns);
	if (st)
		return st;
	return hybrid_handshake(s, deadline_ns);
}

/*
 * Closing an inotify descriptor that still holds a watch waits for an SRCU
 * grace period in the kernel (8-20 ms measured on a 6.x kernel), which
 * would delay the first request after a wait; a removed watch is reaped in
 * the background.  So a session keeps one descriptor for all its waits,
 * removes the watch as soon as a wait ends and closes the descriptor with
 * the session.
 */
void upcall_wait_for_path(struct upcall_session *s, int max_ms)
{
	char dir[UPCALL_PATH_MAX];
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	if (s->watch_fd < 0)
		s->watch_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (s->watch_fd >= 0 && s->watch_wd < 0) {
		snprintf(dir, sizeof(dir), "%s", s->target.path);
		s->watch_wd = inotify_add_watch(s->watch_fd, dirname(dir),
						IN_CREATE | IN_MOVED_TO);
	}
	if (s->watch_wd < 0) {
		upcall_poll(s, -1, 0, max_ms);	/* no inotify here, or no directory yet */
		return;
	}
	/* Drop events seen already (other names); a removed directory ends the watch. */
	while ((n = read(s->watch_fd, buf, sizeof(buf))) > 0)
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;

			if ((ev->mask & IN_IGNORED) && ev->wd == s->watch_wd)
				s->watch_wd = -1;
			p += sizeof(*ev) + ev->len;
		}
	if (s->watch_wd >= 0 && access(s->target.path, F_OK) != 0)
		upcall_poll(s, s->watch_fd, POLLIN, max_ms);	/* created between our connect and the watch? */
}

void upcall_unwatch_path(struct upcall_session *s)
{
	if (s->watch_wd >= 0)
		inotify_rm_watch(s->watch_fd, s->watch_wd);
	s->watch_wd = -1;
}

bool upcall_transport_stale(const struct upcall_session *s)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };

	/* Between requests the guest has nothing to say: any event is bad news. */
	return poll(&pfd, 1, 0) != 0;
}
