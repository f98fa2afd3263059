// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The protocol as resumable steps: connect (hybrid vsock or AF_VSOCK), the
 * VMM's "OK" line, the service handshake, request and reply.  Each step
 * does what it can without blocking and says what it waits for, so one
 * implementation serves both the blocking calls (upcall_run() polls) and
 * a caller's event loop (upcall_session_get_fd() ... _process()).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "internal.h"

/* What a step function tells the loop in advance(). */
enum step_result {
	STEP_WAIT,	/* blocked: wait for get_events() or the deadline */
	STEP_NEXT,	/* moved on: run the next step */
	STEP_DONE,	/* the operation ended: its status is op.result */
};

/* The Unix listen backlog was full: try connect() again this much later. */
#define BACKLOG_RETRY_NS 1000000u

static double secs(int ms)
{
	return ms / 1000.0;
}

static void observe(struct upcall_session *s, bool tx, const uint8_t *frame)
{
	if (s->hook)
		s->hook(s->hook_data, tx, frame, UPCALL_FRAME_SIZE);
}

static enum step_result done(struct upcall_session *s, enum upcall_status st)
{
	s->op.step = UPCALL_STEP_IDLE;
	s->op.result = st;
	return STEP_DONE;
}

/* A failed step leaves the connection out of step: drop it. */
static enum step_result failed(struct upcall_session *s, enum upcall_status st)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	return done(s, st);
}

void upcall_op_abort(struct upcall_session *s)
{
	s->op.step = UPCALL_STEP_IDLE;
}

static void set_step(struct upcall_session *s, enum upcall_step step,
		     const void *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Enter @step: send @len bytes of @out, or (@out NULL) receive @len. */
static void set_step(struct upcall_session *s, enum upcall_step step,
		     const void *out, size_t len, const char *fmt, ...)
{
	struct upcall_op *op = &s->op;
	va_list ap;

	op->step = step;
	op->len = len;
	op->done = 0;
	if (out && out != op->io)
		memcpy(op->io, out, len);
	va_start(ap, fmt);
	vsnprintf(op->what, sizeof(op->what), fmt, ap);
	va_end(ap);
}

/* Send what is left of op.io.  STEP_NEXT once all is sent. */
static enum step_result send_io(struct upcall_session *s)
{
	struct upcall_op *op = &s->op;

	while (op->done < op->len) {
		ssize_t n = send(s->fd, op->io + op->done, op->len - op->done,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			op->done += (size_t)n;
			continue;
		}
		if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK)
			return STEP_WAIT;
		if (errno == EINTR)
			continue;
		if (errno == EPIPE || errno == ECONNRESET)
			return failed(s, upcall_fail(s, UPCALL_ERR_UNREACHABLE,
						     "connection lost %s: %s", op->what,
						     strerror(errno)));
		return failed(s, upcall_fail(s, UPCALL_ERR_SYSTEM, "send failed %s: %s",
					     op->what, strerror(errno)));
	}
	return STEP_NEXT;
}

/*
 * Receive into op.io up to @upto bytes in all.  Returns the bytes read
 * (> 0), 0 at EOF (a reset counts as one), -1 when nothing is there yet,
 * or -2 when the step failed (op.result set).
 */
static ssize_t recv_io(struct upcall_session *s, size_t upto)
{
	struct upcall_op *op = &s->op;

	for (;;) {
		ssize_t n = recv(s->fd, op->io + op->done, upto - op->done, MSG_DONTWAIT);

		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -1;
		if (errno == ECONNRESET)
			return 0;
		failed(s, upcall_fail(s, UPCALL_ERR_SYSTEM, "recv failed %s: %s",
				      op->what, strerror(errno)));
		return -2;
	}
}

/* Receive the rest of a whole frame: STEP_NEXT once op.len bytes are in. */
static enum step_result recv_frame(struct upcall_session *s, bool *eof)
{
	struct upcall_op *op = &s->op;

	*eof = false;
	while (op->done < op->len) {
		ssize_t n = recv_io(s, op->len);

		if (n == -1)
			return STEP_WAIT;
		if (n == -2)
			return STEP_DONE;
		if (n == 0) {
			*eof = true;
			return STEP_NEXT;
		}
		op->done += (size_t)n;
	}
	return STEP_NEXT;
}

/* ---- connecting -------------------------------------------------------- */

static void target_where(const struct upcall_session *s, char *buf, size_t len)
{
	if (s->target.transport == UPCALL_TRANSPORT_UNIX)
		snprintf(buf, len, "%s", s->target.path);
	else
		snprintf(buf, len, "vsock CID %" PRIu32 " port %" PRIu32,
			 s->target.cid, s->target.port);
}

static enum step_result service_start(struct upcall_session *s)
{
	const uint8_t service = UPCALL_SERVICE_DEVMGR;

	set_step(s, UPCALL_STEP_SERVICE_SEND, &service, 1, "sending the service byte");
	return STEP_NEXT;
}

/* The transport is up: a hybrid socket still needs its CONNECT line. */
static enum step_result transport_up(struct upcall_session *s)
{
	char line[32];
	int n;

	if (s->target.transport == UPCALL_TRANSPORT_VSOCK)
		return service_start(s);
	n = snprintf(line, sizeof(line), "CONNECT %" PRIu32 "\n", s->target.port);
	set_step(s, UPCALL_STEP_HYBRID_SEND, line, (size_t)n,
		 "sending CONNECT to the VMM");
	return STEP_NEXT;
}

static socklen_t target_sockaddr(const struct upcall_session *s,
				 struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (s->target.transport == UPCALL_TRANSPORT_UNIX) {
		struct sockaddr_un *sun = (struct sockaddr_un *)ss;

		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, s->target.path, sizeof(sun->sun_path));
		return sizeof(*sun);
	} else {
		struct sockaddr_vm *svm = (struct sockaddr_vm *)ss;

		svm->svm_family = AF_VSOCK;
		svm->svm_cid = s->target.cid;
		svm->svm_port = s->target.port;
		return sizeof(*svm);
	}
}

/* connect(2) on the non-blocking socket; Unix connects at once or not at all. */
static enum step_result try_connect(struct upcall_session *s)
{
	bool unix_socket = s->target.transport == UPCALL_TRANSPORT_UNIX;
	struct sockaddr_storage ss;
	socklen_t salen = target_sockaddr(s, &ss);
	char where[UPCALL_PATH_MAX + 48];

	target_where(s, where, sizeof(where));
	snprintf(s->op.what, sizeof(s->op.what), "connecting to %s", where);
	if (connect(s->fd, (struct sockaddr *)&ss, salen) == 0)
		return transport_up(s);
	if (errno == EAGAIN && unix_socket) {
		/* A Unix listener with a full backlog: try again shortly. */
		s->op.step = UPCALL_STEP_CONNECT_RETRY;
		s->op.retry_ns = upcall_now_ns() + BACKLOG_RETRY_NS;
		return STEP_WAIT;
	}
	if (errno != EINPROGRESS && errno != EINTR)
		return failed(s, upcall_connect_failed(s, errno, where));
	if (unix_socket)
		return transport_up(s);
	s->op.step = UPCALL_STEP_CONNECT;
	return STEP_WAIT;
}

/* AF_VSOCK connect() finished, for better or worse. */
static enum step_result vsock_connected(struct upcall_session *s)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
	socklen_t elen = sizeof(int);
	char where[UPCALL_PATH_MAX + 48];
	int err = 0;

	if (poll(&pfd, 1, 0) <= 0)
		return STEP_WAIT;
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		err = errno;
	if (err == ETIMEDOUT)	/* vsock's own timer, set to our deadline */
		return failed(s, upcall_fail(s, UPCALL_ERR_TIMEOUT, "timed out after %gs %s",
					     secs(s->timeout_ms), s->op.what));
	if (err) {
		target_where(s, where, sizeof(where));
		return failed(s, upcall_connect_failed(s, err, where));
	}
	return transport_up(s);
}

static enum step_result open_vsock(struct upcall_session *s)
{
	uint64_t left = s->op.deadline_ns - s->op.start_ns;
	struct timeval tv = {
		.tv_sec = (time_t)(left / 1000000000u),
		.tv_usec = (suseconds_t)(left % 1000000000u / 1000u),
	};
	char where[UPCALL_PATH_MAX + 48];

	s->fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0 && (errno == EAFNOSUPPORT || errno == ENODEV || errno == EADDRNOTAVAIL)) {
		target_where(s, where, sizeof(where));
		return done(s, upcall_connect_failed(s, errno, where));
	}
	if (s->fd < 0)
		return done(s, upcall_fail(s, UPCALL_ERR_SYSTEM, "socket(AF_VSOCK) failed: %s",
					   strerror(errno)));
	if (s->target.cid == VMADDR_CID_LOCAL)
		upcall_bind_privileged_port(s->fd);
	/* vsock gives up on a connect after 2 s of its own unless told otherwise */
	if (setsockopt(s->fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof(tv)) < 0)
		return failed(s, upcall_fail(s, UPCALL_ERR_SYSTEM,
					     "setting the vsock connect timeout failed: %s",
					     strerror(errno)));
	return try_connect(s);
}

static enum step_result open_transport(struct upcall_session *s)
{
	if (s->target.transport == UPCALL_TRANSPORT_VSOCK)
		return open_vsock(s);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0)
		return done(s, upcall_fail(s, UPCALL_ERR_SYSTEM, "socket(AF_UNIX) failed: %s",
					   strerror(errno)));
	return try_connect(s);
}

/* "OK <n>\n" or why not. */
static enum step_result check_ok_line(struct upcall_session *s)
{
	char line[UPCALL_OK_LINE_MAX + 1];
	size_t len = s->op.done;
	uint32_t host_port;
	bool unended;

	memcpy(line, s->op.io, len);
	line[len] = '\0';
	if (upcall_parse_ok_line(line, len, &host_port) == 0)
		return service_start(s);

	unended = line[len - 1] != '\n';
	line[strcspn(line, "\r\n")] = '\0';
	for (char *c = line; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
	if (len == UPCALL_OK_LINE_MAX && unended)
		return failed(s, upcall_fail(s, UPCALL_ERR_PROTOCOL,
					     "VMM's answer to CONNECT %" PRIu32 " exceeds %d bytes without a newline: \"%.16s...\"",
					     s->target.port, UPCALL_OK_LINE_MAX, line));
	return failed(s, upcall_fail(s, UPCALL_ERR_PROTOCOL,
				     "VMM answered CONNECT %" PRIu32 " with \"%s\", expected \"OK <port>\" (is %s a hybrid vsock socket?)",
				     s->target.port, line, s->target.path));
}

static enum step_result hybrid_send(struct upcall_session *s)
{
	enum step_result r = send_io(s);

	/* A VMM going away (or restarting) right after accept: wait on. */
	s->retryable = r == STEP_DONE && s->op.result == UPCALL_ERR_UNREACHABLE;
	if (r != STEP_NEXT)
		return r;
	set_step(s, UPCALL_STEP_HYBRID_RECV, NULL, UPCALL_OK_LINE_MAX,
		 "waiting for the VMM's answer to CONNECT");
	return STEP_NEXT;
}

/* Byte by byte, so no stream byte after the LF is consumed. */
static enum step_result hybrid_recv(struct upcall_session *s)
{
	struct upcall_op *op = &s->op;

	s->retryable = false;
	while (op->done < UPCALL_OK_LINE_MAX) {
		ssize_t n = recv_io(s, op->done + 1);

		if (n == -1)
			return STEP_WAIT;
		if (n == -2)
			return STEP_DONE;
		if (n == 0 && op->done == 0) {
			s->retryable = true;
			return failed(s, upcall_fail(s, UPCALL_ERR_UNREACHABLE,
						     "vsock port %" PRIu32 " has no listener in the guest (is the upcall driver loaded?)",
						     s->target.port));
		}
		if (n == 0)
			break;
		if (op->io[op->done++] == '\n')
			break;
	}
	return check_ok_line(s);
}

static enum step_result service_send(struct upcall_session *s)
{
	enum step_result r = send_io(s);

	if (r != STEP_NEXT)
		return r;
	set_step(s, UPCALL_STEP_SERVICE_RECV, NULL, UPCALL_FRAME_SIZE,
		 "waiting for the guest's CONNECT frame");
	return STEP_NEXT;
}

static enum step_result request_begin(struct upcall_session *s);

static enum step_result connected(struct upcall_session *s)
{
	s->stats.connects++;
	s->stats.last_connect_ns = upcall_now_ns() - s->op.start_ns;
	s->errmsg[0] = '\0';
	if (s->op.has_request)
		return request_begin(s);
	return done(s, UPCALL_OK);
}

static enum step_result service_recv(struct upcall_session *s)
{
	struct upcall_op *op = &s->op;
	enum upcall_status st;
	enum step_result r;
	bool eof;

	r = recv_frame(s, &eof);
	if (r != STEP_NEXT)
		return r;
	s->retryable = eof && op->done == 0;
	if (s->retryable)
		return failed(s, upcall_fail(s, UPCALL_ERR_UNREACHABLE,
					     "guest closed the connection after the service byte (does it serve the device manager?)"));
	if (eof)
		return failed(s, upcall_fail(s, UPCALL_ERR_PROTOCOL,
					     "guest closed the connection after %zu of %d bytes of its CONNECT frame",
					     op->done, UPCALL_FRAME_SIZE));
	observe(s, false, op->io);
	st = upcall_check_connect_frame(op->io, s->errmsg, sizeof(s->errmsg));
	return st ? failed(s, st) : connected(s);
}

/* ---- request and reply ------------------------------------------------- */

static enum step_result request_begin(struct upcall_session *s)
{
	struct upcall_op *op = &s->op;
	char name[32];

	upcall_msg_type_name(op->req.type, name, sizeof(name));
	op->start_ns = upcall_now_ns();
	op->deadline_ns = op->start_ns + (uint64_t)s->timeout_ms * 1000000u;
	observe(s, true, op->req.frame);
	set_step(s, UPCALL_STEP_REQ_SEND, op->req.frame, UPCALL_FRAME_SIZE,
		 "sending %s", name);
	return STEP_NEXT;
}

static enum step_result request_send(struct upcall_session *s)
{
	enum step_result r = send_io(s);
	char name[32];

	if (r != STEP_NEXT)
		return r;
	upcall_msg_type_name(s->op.req.type, name, sizeof(name));
	set_step(s, UPCALL_STEP_REQ_RECV, NULL, UPCALL_FRAME_SIZE,
		 "waiting for the reply to %s", name);
	return STEP_NEXT;
}

static enum step_result request_recv(struct upcall_session *s)
{
	struct upcall_op *op = &s->op;
	struct upcall_reply *reply = op->req.reply ? op->req.reply : &op->reply;
	enum upcall_status st;
	enum step_result r;
	char name[32];
	bool eof;

	r = recv_frame(s, &eof);
	if (r != STEP_NEXT)
		return r;
	upcall_msg_type_name(op->req.type, name, sizeof(name));
	if (eof && op->done == 0)
		return failed(s, upcall_fail(s, UPCALL_ERR_UNREACHABLE,
					     "guest closed the connection instead of replying to %s",
					     name));
	if (eof)
		return failed(s, upcall_fail(s, UPCALL_ERR_PROTOCOL,
					     "short reply to %s: connection closed after %zu of %d bytes",
					     name, op->done, UPCALL_FRAME_SIZE));
	s->stats.last_rtt_ns = upcall_now_ns() - op->start_ns;
	s->stats.requests++;
	observe(s, false, op->io);

	st = upcall_decode_reply(op->io, op->req.type, op->req.cpu_count, reply,
				 s->errmsg, sizeof(s->errmsg));
	if (st)
		return failed(s, st);
	st = upcall_reply_status(s, reply, &op->req, name);
	if (op->req.finish)
		st = op->req.finish(s, st);
	return done(s, st);
}

/* ---- the loop ---------------------------------------------------------- */

static enum step_result run_step(struct upcall_session *s)
{
	switch (s->op.step) {
	case UPCALL_STEP_IDLE:
		return STEP_DONE;
	case UPCALL_STEP_CONNECT:
		return vsock_connected(s);
	case UPCALL_STEP_CONNECT_RETRY:
		return upcall_now_ns() >= s->op.retry_ns ? try_connect(s) : STEP_WAIT;
	case UPCALL_STEP_HYBRID_SEND:
		return hybrid_send(s);
	case UPCALL_STEP_HYBRID_RECV:
		return hybrid_recv(s);
	case UPCALL_STEP_SERVICE_SEND:
		return service_send(s);
	case UPCALL_STEP_SERVICE_RECV:
		return service_recv(s);
	case UPCALL_STEP_REQ_SEND:
		return request_send(s);
	case UPCALL_STEP_REQ_RECV:
		return request_recv(s);
	}
	return done(s, upcall_fail(s, UPCALL_ERR_SYSTEM, "bad session state %d",
				   (int)s->op.step));
}

/* A blocked step past its deadline: the operation timed out. */
static enum step_result timed_out(struct upcall_session *s)
{
	if (s->op.step == UPCALL_STEP_CONNECT_RETRY)
		return failed(s, upcall_fail(s, UPCALL_ERR_TIMEOUT,
					     "timed out after %gs %s (listen backlog full)",
					     secs(s->timeout_ms), s->op.what));
	return failed(s, upcall_fail(s, UPCALL_ERR_TIMEOUT, "timed out after %gs %s",
				     secs(s->timeout_ms), s->op.what));
}

/* Run steps until one blocks or the operation ends. */
static enum upcall_status advance(struct upcall_session *s)
{
	for (;;) {
		switch (run_step(s)) {
		case STEP_NEXT:
			continue;
		case STEP_DONE:
			return s->op.result;
		case STEP_WAIT:
			break;
		}
		if (upcall_now_ns() < s->op.deadline_ns)
			return UPCALL_IN_PROGRESS;
		timed_out(s);
		return s->op.result;
	}
}

static void op_begin(struct upcall_session *s, const struct upcall_request *req)
{
	struct upcall_op *op = &s->op;

	op->has_request = req != NULL;
	if (req)
		op->req = *req;
	op->start_ns = upcall_now_ns();
	op->deadline_ns = op->start_ns + (uint64_t)s->timeout_ms * 1000000u;
	op->result = UPCALL_IN_PROGRESS;
}

enum upcall_status upcall_start_connect(struct upcall_session *s,
					const struct upcall_request *req)
{
	s->retryable = false;
	op_begin(s, req);
	if (open_transport(s) == STEP_DONE)
		return s->op.result;
	return advance(s);
}

enum upcall_status upcall_start_request(struct upcall_session *s,
					const struct upcall_request *req)
{
	op_begin(s, req);
	request_begin(s);
	return advance(s);
}

/* When the step in progress must be looked at again, at the latest. */
static uint64_t wake_ns(const struct upcall_session *s)
{
	if (s->op.step == UPCALL_STEP_IDLE)
		return UINT64_MAX;
	if (s->op.step == UPCALL_STEP_CONNECT_RETRY && s->op.retry_ns < s->op.deadline_ns)
		return s->op.retry_ns;
	return s->op.deadline_ns;
}

static int events_of(const struct upcall_session *s)
{
	switch (s->op.step) {
	case UPCALL_STEP_CONNECT:
	case UPCALL_STEP_HYBRID_SEND:
	case UPCALL_STEP_SERVICE_SEND:
	case UPCALL_STEP_REQ_SEND:
		return POLLOUT;
	case UPCALL_STEP_HYBRID_RECV:
	case UPCALL_STEP_SERVICE_RECV:
	case UPCALL_STEP_REQ_RECV:
		return POLLIN;
	case UPCALL_STEP_IDLE:
	case UPCALL_STEP_CONNECT_RETRY:
		break;
	}
	return 0;
}

static enum upcall_status cancelled(struct upcall_session *s)
{
	failed(s, upcall_fail(s, UPCALL_ERR_CANCELLED, "interrupted %s", s->op.what));
	return s->op.result;
}

/* Blocking mode: wait for each step until the operation ends. */
enum upcall_status upcall_run(struct upcall_session *s, enum upcall_status st)
{
	while (st == UPCALL_IN_PROGRESS) {
		uint64_t now = upcall_now_ns(), until = wake_ns(s);
		uint64_t ms = until > now ? (until - now + 999999) / 1000000 : 0;
		int events = events_of(s);
		int n = upcall_poll(s, events ? s->fd : -1, (short)events,
				    ms > INT_MAX ? INT_MAX : (int)ms);

		if (n == -ECANCELED)
			return cancelled(s);
		if (n < 0) {
			failed(s, upcall_fail(s, UPCALL_ERR_SYSTEM, "poll failed %s: %s",
					      s->op.what, strerror(-n)));
			return s->op.result;
		}
		st = advance(s);
	}
	return st;
}

/* ---- the event-loop API ------------------------------------------------ */

UPCALL_EXPORT
int upcall_session_set_nonblocking(struct upcall_session *s, bool nonblocking)
{
	if (s->op.step != UPCALL_STEP_IDLE)
		return -EBUSY;
	s->nonblocking = nonblocking;
	return 0;
}

UPCALL_EXPORT
int upcall_session_get_fd(const struct upcall_session *s)
{
	return s->fd;
}

UPCALL_EXPORT
int upcall_session_get_events(const struct upcall_session *s)
{
	return events_of(s);
}

UPCALL_EXPORT
uint64_t upcall_session_get_timeout(const struct upcall_session *s)
{
	uint64_t ns = wake_ns(s);

	return ns == UINT64_MAX ? UINT64_MAX : (ns + 999) / 1000;
}

UPCALL_EXPORT
enum upcall_status upcall_session_process(struct upcall_session *s)
{
	if (s->op.step == UPCALL_STEP_IDLE) {
		/* The guest hung up an idle connection: close it. */
		if (s->fd >= 0 && upcall_transport_stale(s))
			upcall_disconnect(s);
		return s->op.result;
	}
	if (upcall_cancelled(s))
		return cancelled(s);
	return advance(s);
}
