// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Around the connection (async.c has its steps): what a failed connect
 * means, the privileged source port a guest's own module wants, waiting
 * for a VM's socket to appear, and polling with the cancel descriptor.
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
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "internal.h"

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

enum upcall_status upcall_connect_failed(struct upcall_session *s, int err,
					 const char *where)
{
	const char *hint = "";
	struct stat st;

	/* connect() to a file or a directory says "refused": say what it is. */
	if (s->target.transport == UPCALL_TRANSPORT_UNIX && err == ECONNREFUSED &&
	    stat(s->target.path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		s->retryable = false;
		return upcall_fail(s, UPCALL_ERR_UNREACHABLE,
				   "failed to connect to %s: it is a %s, not a socket (give the VMM's socket)",
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
	return upcall_fail(s, UPCALL_ERR_UNREACHABLE, "failed to connect to %s: %s%s",
			   where, strerror(err), hint);
}

/*
 * A guest's own module (CID 1, loaded with allow_local=1) serves a local
 * peer only from a source port below 1024, which takes
 * CAP_NET_BIND_SERVICE: bind one when we may, from a varying start, since
 * a port just closed may still be in use on the module's side.  Without
 * the capability the connection goes out unbound, and the module refuses it.
 */
void upcall_bind_privileged_port(int fd)
{
	struct sockaddr_vm svm = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY };
	unsigned int start = (unsigned int)(upcall_now_ns() / 1000) % 512;

	for (unsigned int i = 0; i < 512; i++) {
		svm.svm_port = 512 + (start + i) % 512;
		if (bind(fd, (struct sockaddr *)&svm, sizeof(svm)) == 0 || errno != EADDRINUSE)
			return;
	}
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
