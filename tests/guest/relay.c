// SPDX-License-Identifier: GPL-2.0
/*
 * upcall-relay: runs inside the test guest, on the one byte stream QEMU
 * gives the host (a virtio-serial port or the serial line).  The stream is
 * multiplexed into channels (framing: see bridge.py):
 *
 *  - an upcall channel behaves like a VMM's hybrid vsock socket: it reads
 *    "CONNECT <port>\n", connects to that vsock port in this guest
 *    (loopback, CID 1) from a privileged source port, answers
 *    "OK <local port>\n" and then carries the stream; if nothing
 *    listens, the channel just closes;
 *  - an exec channel runs one shell command and returns its output and
 *    exit status, so tests can read what the guest kernel reports.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

enum op {
	OP_OPEN_UPCALL = 1,	/* host: new hybrid-vsock channel */
	OP_OPEN_EXEC = 2,	/* host: run the payload with sh -c */
	OP_DATA = 3,		/* both: bytes of a channel */
	OP_CLOSE = 4,		/* both: channel closed (the guest always answers one) */
	OP_EXIT = 5,		/* guest: exec status, i32 LE */
	OP_HELLO = 6,		/* guest: relay is up, payload "UPCALLMX" */
};

#define HDR_LEN		4	/* op, channel, u16 LE length */
#define MAX_PAYLOAD	4096
#define NCHAN		256
#define LINE_MAX_LEN	64

enum chan_state { CH_FREE, CH_HANDSHAKE, CH_STREAM, CH_EXEC };

struct chan {
	enum chan_state state;
	int fd;			/* vsock socket or the command's output pipe */
	pid_t pid;
	char line[LINE_MAX_LEN];
	size_t linelen;
};

static struct chan chans[NCHAN];
static int mux_fd;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void write_all(int fd, const void *buf, size_t len)
{
	if (write_full(fd, buf, len) < 0)
		die("write to the host");
}

static void send_frame(enum op op, unsigned int ch, const void *data, size_t len)
{
	unsigned char hdr[HDR_LEN] = { op, ch, len & 0xff, len >> 8 };

	write_all(mux_fd, hdr, sizeof(hdr));
	if (len)
		write_all(mux_fd, data, len);
}

static void chan_reset(struct chan *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Every channel ends with exactly one CLOSE from the guest. */
static void chan_close(unsigned int ch)
{
	if (chans[ch].state == CH_FREE)
		return;
	chan_reset(&chans[ch]);
	send_frame(OP_CLOSE, ch, NULL, 0);
}

/*
 * The module serves a local peer only from a source port that needs
 * CAP_NET_BIND_SERVICE (1..1023), as a VMM's connections come from the
 * host.  Take them in turn, from 1023 down to 512 and round again: a
 * port reused at once can meet the module's socket of the previous
 * connection on it, still closing, and lose the new connection.
 */
#define RELAY_PORT_HIGH	1023
#define RELAY_PORT_LOW	512

static int bind_privileged(int fd)
{
	static unsigned int next = RELAY_PORT_HIGH;
	unsigned int tries;

	for (tries = 0; tries <= RELAY_PORT_HIGH - RELAY_PORT_LOW; tries++) {
		struct sockaddr_vm addr = {
			.svm_family = AF_VSOCK,
			.svm_cid = VMADDR_CID_ANY,
			.svm_port = next,
		};

		next = next == RELAY_PORT_LOW ? RELAY_PORT_HIGH : next - 1;
		if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			return 0;
		if (errno != EADDRINUSE)
			return -1;
	}
	return -1;
}

static int vsock_connect(unsigned int port, unsigned int *local_port)
{
	struct sockaddr_vm addr = {
		.svm_family = AF_VSOCK,
		.svm_cid = VMADDR_CID_LOCAL,
		.svm_port = port,
	};
	socklen_t len = sizeof(addr);
	int fd;

	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind_privileged(fd) < 0 ||
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
		close(fd);
		return -1;
	}
	*local_port = addr.svm_port;
	return fd;
}

/* The VMM side of hybrid vsock: one "CONNECT <port>\n" line, then the stream. */
static void handshake_input(unsigned int ch, const char *data, size_t len)
{
	struct chan *c = &chans[ch];
	unsigned int port, local_port;
	char reply[32];
	size_t i;
	int n;

	for (i = 0; i < len; i++) {
		if (c->linelen == sizeof(c->line) - 1) {
			chan_close(ch);
			return;
		}
		c->line[c->linelen++] = data[i];
		if (data[i] == '\n')
			break;
	}
	if (i == len)
		return;
	c->line[c->linelen] = '\0';
	if (sscanf(c->line, "CONNECT %u\n", &port) != 1) {
		chan_close(ch);
		return;
	}
	c->fd = vsock_connect(port, &local_port);
	if (c->fd < 0) {
		chan_close(ch);
		return;
	}
	c->state = CH_STREAM;
	n = snprintf(reply, sizeof(reply), "OK %u\n", local_port);
	send_frame(OP_DATA, ch, reply, (size_t)n);
	/* Bytes after the line already belong to the stream. */
	if (i + 1 < len && write_full(c->fd, data + i + 1, len - i - 1) < 0)
		chan_close(ch);
}

static void exec_open(unsigned int ch, const char *cmd, size_t len)
{
	struct chan *c = &chans[ch];
	char buf[MAX_PAYLOAD + 1];
	int pipefd[2];

	memcpy(buf, cmd, len);
	buf[len] = '\0';
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		die("pipe");
	c->pid = fork();
	if (c->pid < 0)
		die("fork");
	if (c->pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		setsid();
		execl("/bin/sh", "sh", "-c", buf, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	c->fd = pipefd[0];
	c->state = CH_EXEC;
}

static void host_frame(unsigned int op, unsigned int ch, const char *data, size_t len)
{
	struct chan *c = &chans[ch];

	switch (op) {
	case OP_OPEN_UPCALL:
	case OP_OPEN_EXEC:
		chan_reset(c);
		c->state = CH_HANDSHAKE;
		if (op == OP_OPEN_EXEC)
			exec_open(ch, data, len);
		break;
	case OP_DATA:
		if (c->state == CH_HANDSHAKE)
			handshake_input(ch, data, len);
		else if (c->state == CH_STREAM && write_full(c->fd, data, len) < 0)
			chan_close(ch);
		break;
	case OP_CLOSE:
		chan_close(ch);
		break;
	default:
		fprintf(stderr, "upcall-relay: bad frame op %u\n", op);
		exit(1);
	}
}

/* Parse as many whole frames as @buf holds; return the bytes consumed. */
static size_t host_input(const unsigned char *buf, size_t len)
{
	size_t off = 0;

	while (len - off >= HDR_LEN) {
		size_t plen = buf[off + 2] | (size_t)buf[off + 3] << 8;

		if (plen > MAX_PAYLOAD) {
			fprintf(stderr, "upcall-relay: frame of %zu bytes\n", plen);
			exit(1);
		}
		if (len - off < HDR_LEN + plen)
			break;
		host_frame(buf[off], buf[off + 1], (const char *)buf + off + HDR_LEN, plen);
		off += HDR_LEN + plen;
	}
	return off;
}

static void exec_finish(unsigned int ch)
{
	struct chan *c = &chans[ch];
	unsigned char st[4];
	int status = 0;
	int32_t code;

	waitpid(c->pid, &status, 0);
	c->pid = 0;
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	st[0] = code & 0xff;
	st[1] = (code >> 8) & 0xff;
	st[2] = (code >> 16) & 0xff;
	st[3] = (code >> 24) & 0xff;
	send_frame(OP_EXIT, ch, st, sizeof(st));
	chan_close(ch);
}

static void chan_input(unsigned int ch)
{
	char buf[MAX_PAYLOAD];
	ssize_t n;

	n = read(chans[ch].fd, buf, sizeof(buf));
	if (n < 0 && errno == EINTR)
		return;
	if (n > 0) {
		send_frame(OP_DATA, ch, buf, (size_t)n);
		return;
	}
	if (chans[ch].state == CH_EXEC)
		exec_finish(ch);
	else
		chan_close(ch);
}

static void open_mux(const char *path)
{
	struct termios t;

	mux_fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (mux_fd < 0)
		die(path);
	if (tcgetattr(mux_fd, &t) == 0) {
		cfmakeraw(&t);
		if (tcsetattr(mux_fd, TCSANOW, &t) < 0)
			die("tcsetattr");
	}
}

int main(int argc, char **argv)
{
	static unsigned char in[2 * (HDR_LEN + MAX_PAYLOAD)];
	struct pollfd pfd[NCHAN + 1];
	unsigned int map[NCHAN + 1];
	size_t have = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: upcall-relay DEVICE\n");
		return 64;
	}
	signal(SIGPIPE, SIG_IGN);
	open_mux(argv[1]);
	for (unsigned int i = 0; i < NCHAN; i++)
		chans[i].fd = -1;
	send_frame(OP_HELLO, 0, "UPCALLMX", 8);

	for (;;) {
		nfds_t n = 1;
		ssize_t got;
		size_t used;

		pfd[0] = (struct pollfd){ .fd = mux_fd, .events = POLLIN };
		for (unsigned int i = 0; i < NCHAN; i++) {
			if (chans[i].fd < 0 || chans[i].state == CH_HANDSHAKE)
				continue;
			pfd[n] = (struct pollfd){ .fd = chans[i].fd, .events = POLLIN };
			map[n++] = i;
		}
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		for (nfds_t i = 1; i < n; i++)
			if (pfd[i].revents && chans[map[i]].fd == pfd[i].fd)
				chan_input(map[i]);
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		got = read(mux_fd, in + have, sizeof(in) - have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			die("read from the host");
		have += (size_t)got;
		used = host_input(in, have);
		memmove(in, in + used, have - used);
		have -= used;
	}
}
