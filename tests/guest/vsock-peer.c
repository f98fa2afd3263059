// SPDX-License-Identifier: GPL-2.0
/*
 * upcall-vsock-peer: a peer of the upcall module from inside the test
 * guest (vsock loopback, CID 1), as root or as an unprivileged user.  The
 * guest's busybox may have no su, so -u drops privileges here, before any
 * socket is opened.
 *
 * upcall-vsock-peer [-u UID] [-p PORT] [-n COUNT] [-t SECS] [-d SECS] [-P PORT] MODE [ARGS]
 *
 *   -u UID    become user and group UID (no supplementary groups) first
 *   -p PORT   bind each connection's source port before connecting: PORT,
 *             then PORT-1, ... for the next ones, skipping ports in use
 *             (default: the kernel picks one, above 1023)
 *   -n COUNT  connections (idle, flood) or requests (request); default 1
 *   -t SECS   how long idle waits for the module to close (default 60)
 *   -d SECS   idle: trickle a request, one byte every SECS on each connection
 *   -P PORT   the module's vsock port (default 219)
 *
 * Modes:
 *   ping               service byte 'd', then the CONNECT frame: prints
 *                      "served" (exit 0) or "refused: WHY" (exit 1)
 *   request TYPE [HEX] COUNT requests of TYPE (a number) with payload HEX
 *                      (bytes in hex) on one connection; prints
 *                      "ret R: N" per reply value, in order of first
 *                      appearance (exit 1 if the connection fails)
 *   idle               COUNT connections that get their CONNECT frame
 *                      and then send nothing: prints "served S refused R",
 *                      waits until the module closed them all or SECS
 *                      passed, then prints "closed C after A-B s, open O"
 *   flood              COUNT connections at once that send nothing; prints
 *                      "connected C failed F" once all are closed again
 *   hog CPU SECS       no connection: spin on CPU at SCHED_FIFO for SECS,
 *                      so that nothing else of normal priority runs there
 *   pin BASE SIZE      no connection: find a page of this process's in
 *                      guest-physical [BASE, BASE+SIZE) (root: pagemap),
 *                      pin it by vmsplice() into a pipe never read, print
 *                      "pinned 0xADDR" and sleep until killed; a memory
 *                      block holding it can then not be offlined
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#define FRAME		1024
#define MAGIC		0x444D0100u
#define MAX_CONNS	1024
#define MAX_RETS	16

static unsigned int next_port;	/* with bind_port: the next one to try */
static int bind_port;		/* -p given */
static unsigned int svc_port = 219;
static char why_buf[96];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void drop_privileges(const char *arg)
{
	uid_t id = (uid_t)strtoul(arg, NULL, 10);

	if (setgroups(0, NULL) < 0 || setgid(id) < 0 || setuid(id) < 0) {
		perror("upcall-vsock-peer: dropping privileges");
		exit(2);
	}
}

/* Bind the next free source port from next_port down, if -p asked for it. */
static int bind_source(int fd)
{
	if (!bind_port)
		return 0;
	while (next_port) {
		struct sockaddr_vm a = {
			.svm_family = AF_VSOCK,
			.svm_cid = VMADDR_CID_ANY,
			.svm_port = next_port--,
		};

		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			return 0;
		if (errno != EADDRINUSE)
			return -1;
	}
	errno = EADDRINUSE;
	return -1;
}

/* A connected socket to the module, or -1 with errno and why_buf set. */
static int peer_connect(void)
{
	struct sockaddr_vm a = {
		.svm_family = AF_VSOCK,
		.svm_cid = VMADDR_CID_LOCAL,
		.svm_port = svc_port,
	};
	int fd, err;

	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why_buf, sizeof(why_buf), "socket: %s", strerror(errno));
		return -1;
	}
	if (bind_source(fd) < 0) {
		snprintf(why_buf, sizeof(why_buf), "bind: %s", strerror(errno));
		goto fail;
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		snprintf(why_buf, sizeof(why_buf), "connect: %s", strerror(errno));
		goto fail;
	}
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

static int read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

static uint32_t get_le32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = v >> 24;
}

/* Connect, select the device manager, read its CONNECT frame. */
static int open_session(const char **why)
{
	unsigned char frame[FRAME];
	int fd;

	fd = peer_connect();
	if (fd < 0) {
		*why = why_buf;
		return -1;
	}
	if (write_full(fd, "d", 1) < 0 || read_full(fd, frame, sizeof(frame)) < 0) {
		*why = errno == ECONNRESET || errno == EPIPE ? "closed by the module" :
								strerror(errno);
		close(fd);
		return -1;
	}
	if (get_le32(frame) != MAGIC || get_le32(frame + 8) != 0) {
		*why = "not a CONNECT frame";
		close(fd);
		return -1;
	}
	return fd;
}

static int mode_ping(void)
{
	const char *why;
	int fd = open_session(&why);

	if (fd < 0) {
		printf("refused: %s\n", why);
		return 1;
	}
	close(fd);
	printf("served\n");
	return 0;
}

static int parse_hex(const char *hex, unsigned char *out, size_t max)
{
	size_t len = strlen(hex), i;

	if (len % 2 || len / 2 > max)
		return -1;
	for (i = 0; i < len / 2; i++) {
		char byte[3] = { hex[2 * i], hex[2 * i + 1], 0 };
		char *end;

		out[i] = (unsigned char)strtoul(byte, &end, 16);
		if (*end)
			return -1;
	}
	return (int)(len / 2);
}

static int mode_request(unsigned int count, int argc, char **argv)
{
	unsigned char req[FRAME] = { 0 }, rep[FRAME];
	int rets[MAX_RETS], nrets[MAX_RETS], kinds = 0, size = 0;
	const char *why;
	unsigned int i;
	int fd, k;

	if (argc < 1 || argc > 2) {
		fprintf(stderr, "upcall-vsock-peer: request TYPE [HEX]\n");
		return 64;
	}
	if (argc == 2)
		size = parse_hex(argv[1], req + 16, FRAME - 16);
	if (size < 0) {
		fprintf(stderr, "upcall-vsock-peer: bad payload %s\n", argv[1]);
		return 64;
	}
	put_le32(req, MAGIC);
	put_le32(req + 4, (uint32_t)size);
	put_le32(req + 8, (uint32_t)strtoul(argv[0], NULL, 0));

	fd = open_session(&why);
	if (fd < 0) {
		printf("refused: %s\n", why);
		return 1;
	}
	for (i = 0; i < count; i++) {
		int ret;

		if (write_full(fd, req, sizeof(req)) < 0 ||
		    read_full(fd, rep, sizeof(rep)) < 0) {
			printf("connection lost after %u replies: %s\n", i, strerror(errno));
			return 1;
		}
		ret = (int32_t)get_le32(rep + 16);
		for (k = 0; k < kinds && rets[k] != ret; k++)
			;
		if (k == kinds && kinds < MAX_RETS) {
			rets[kinds] = ret;
			nrets[kinds++] = 0;
		}
		if (k < kinds)
			nrets[k]++;
	}
	close(fd);
	for (k = 0; k < kinds; k++)
		printf("ret %d: %d\n", rets[k], nrets[k]);
	return 0;
}

/* One more byte of a request on each connection still open. */
static void trickle(struct pollfd *pfd, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		ssize_t r;

		if (pfd[i].fd < 0)
			continue;
		r = write(pfd[i].fd, "", 1);
		(void)r;	/* closed: poll() reports it */
	}
}

static int mode_idle(unsigned int count, unsigned int secs, unsigned int drip)
{
	static struct pollfd pfd[MAX_CONNS];
	static double since[MAX_CONNS];
	unsigned int i, served = 0, closed = 0;
	double first = 0, last = 0, end, next_drip;

	for (i = 0; i < count; i++) {
		const char *why;
		int fd = open_session(&why);

		if (fd < 0)
			continue;
		since[served] = now();
		pfd[served++] = (struct pollfd){ .fd = fd, .events = POLLIN };
	}
	printf("served %u refused %u\n", served, count - served);
	fflush(stdout);

	end = now() + secs;
	next_drip = drip ? now() + drip : end;
	while (closed < served && now() < end) {
		double wake = next_drip < end ? next_drip : end;
		int left = (int)((wake - now()) * 1000) + 1;

		if (drip && now() >= next_drip) {
			trickle(pfd, served);
			next_drip += drip;
			continue;
		}
		if (poll(pfd, served, left > 0 ? left : 0) <= 0)
			continue;
		for (i = 0; i < served; i++) {
			char c;
			double t;

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			if (read(pfd[i].fd, &c, 1) > 0)
				continue;	/* the module sends nothing unasked */
			t = now() - since[i];
			first = closed ? (t < first ? t : first) : t;
			last = t > last ? t : last;
			close(pfd[i].fd);
			pfd[i].fd = -1;
			closed++;
		}
	}
	printf("closed %u after %.0f-%.0f s, open %u\n", closed, first, last, served - closed);
	return 0;
}

static int mode_flood(unsigned int count)
{
	static int fds[MAX_CONNS];
	unsigned int i, ok = 0;

	for (i = 0; i < count; i++) {
		fds[i] = peer_connect();
		ok += fds[i] >= 0;
	}
	for (i = 0; i < count; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	printf("connected %u failed %u\n", ok, count - ok);
	return 0;
}

static int mode_hog(int argc, char **argv)
{
	struct sched_param sp = { .sched_priority = 50 };
	cpu_set_t set;
	double end;

	if (argc != 2) {
		fprintf(stderr, "upcall-vsock-peer: hog CPU SECS\n");
		return 64;
	}
	CPU_ZERO(&set);
	CPU_SET(atoi(argv[0]), &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0 ||
	    sched_setscheduler(0, SCHED_FIFO, &sp) < 0) {
		perror("upcall-vsock-peer: hog");
		return 1;
	}
	end = now() + atof(argv[1]);
	while (now() < end)
		;
	return 0;
}

#define PIN_CHUNK	(8u << 20)
#define PIN_CHUNKS	64
#define PM_PRESENT	(1ull << 63)
#define PM_PFN_MASK	((1ull << 55) - 1)

/* The guest-physical address of the page at @addr, or 0. */
static unsigned long long phys_addr(int pagemap, const char *addr, size_t page)
{
	uint64_t e;
	off_t off = (off_t)((uintptr_t)addr / page * sizeof(e));

	if (pread(pagemap, &e, sizeof(e), off) != sizeof(e) || !(e & PM_PRESENT))
		return 0;
	return (e & PM_PFN_MASK) * page;
}

/* Chunk by chunk until one of its pages lies in the range. */
static int mode_pin(int argc, char **argv)
{
	unsigned long long base, end;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int pagemap, pipefd[2], chunk;

	if (argc != 2) {
		fprintf(stderr, "upcall-vsock-peer: pin BASE SIZE\n");
		return 64;
	}
	base = strtoull(argv[0], NULL, 0);
	end = base + strtoull(argv[1], NULL, 0);
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap < 0 || pipe(pipefd) < 0) {
		perror("upcall-vsock-peer: pin");
		return 1;
	}
	for (chunk = 0; chunk < PIN_CHUNKS; chunk++) {
		char *m = mmap(NULL, PIN_CHUNK, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		size_t off;

		if (m == MAP_FAILED)
			break;
		madvise(m, PIN_CHUNK, MADV_NOHUGEPAGE);
		for (off = 0; off < PIN_CHUNK; off += page)
			m[off] = 1;
		for (off = 0; off < PIN_CHUNK; off += page) {
			unsigned long long pa = phys_addr(pagemap, m + off, page);
			struct iovec iov = { .iov_base = m + off, .iov_len = page };

			if (pa < base || pa >= end)
				continue;
			if (vmsplice(pipefd[1], &iov, 1, 0) != (ssize_t)page) {
				perror("upcall-vsock-peer: vmsplice");
				return 1;
			}
			printf("pinned %#llx\n", pa);
			for (;;)
				pause();
		}
		munmap(m, PIN_CHUNK);
	}
	printf("no page in %#llx-%#llx\n", base, end - 1);
	return 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: upcall-vsock-peer [-u UID] [-p PORT] [-n COUNT] [-t SECS] [-d SECS] [-P PORT] "
		"ping|request TYPE [HEX]|idle|flood|hog CPU SECS|pin BASE SIZE\n");
	exit(64);
}

int main(int argc, char **argv)
{
	unsigned int count = 1, secs = 60, drip = 0;
	int opt;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt(argc, argv, "+u:p:n:t:d:P:")) != -1) {
		switch (opt) {
		case 'u':
			drop_privileges(optarg);
			break;
		case 'p':
			bind_port = 1;
			next_port = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			count = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 't':
			secs = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'd':
			drip = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'P':
			svc_port = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (optind >= argc || count == 0 || count > MAX_CONNS)
		usage();
	if (strcmp(argv[optind], "ping") == 0)
		return mode_ping();
	if (strcmp(argv[optind], "request") == 0)
		return mode_request(count, argc - optind - 1, argv + optind + 1);
	if (strcmp(argv[optind], "idle") == 0)
		return mode_idle(count, secs, drip);
	if (strcmp(argv[optind], "flood") == 0)
		return mode_flood(count);
	if (strcmp(argv[optind], "hog") == 0)
		return mode_hog(argc - optind - 1, argv + optind + 1);
	if (strcmp(argv[optind], "pin") == 0)
		return mode_pin(argc - optind - 1, argv + optind + 1);
	usage();
	return 64;
}
