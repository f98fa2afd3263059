// SPDX-License-Identifier: GPL-2.0-or-later
/* Sessions against a scripted guest: how its reply codes are reported. */
#include <endian.h>
#include <pthread.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "tap.h"

static char dir[] = "/tmp/test-session.XXXXXX", sock[64];

static int read_full(int fd, void *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

/* One connection: the handshakes, one reply of @ret, @size payload bytes: @index. */
static void guest_reply(int lfd, int32_t ret, uint32_t size, uint32_t index)
{
	uint8_t frame[UPCALL_FRAME_SIZE] = { 0 }, req[UPCALL_FRAME_SIZE];
	int fd = accept(lfd, NULL, NULL);
	char c = 0;

	while (fd >= 0 && c != '\n' && read(fd, &c, 1) == 1)
		;
	if (fd < 0 || write(fd, "OK 1\n", 5) != 5 || read_full(fd, &c, 1))
		_exit(1);
	put32(frame, UPCALL_MAGIC_VERSION);
	if (write(fd, frame, sizeof(frame)) != sizeof(frame) || read_full(fd, req, sizeof(req)))
		_exit(1);
	memcpy(frame + 8, req + 8, 4);	/* echo the type */
	put32(frame + 4, size);
	put32(frame + 16, (uint32_t)ret);
	put32(frame + 20, index);
	_exit(write(fd, frame, sizeof(frame)) != sizeof(frame));
}

static void guest(int lfd, int32_t ret)
{
	guest_reply(lfd, ret, 0, 0);
}

/* A fresh listener on @sock, or -1. */
static int listen_on_sock(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	unlink(sock);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd >= 0 && (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1))) {
		close(lfd);
		return -1;
	}
	return lfd;
}

/* ADD_MEM to a guest that replies @ret; the status, its message in @msg. */
static enum upcall_status add_mem_replied(int32_t ret, char *msg, size_t len)
{
	struct upcall_session *s;
	struct upcall_target t;
	enum upcall_status st;
	int lfd = listen_on_sock(), status;
	pid_t pid;

	if (lfd < 0)
		return UPCALL_ERR_SYSTEM;
	pid = fork();
	if (pid == 0)
		guest(lfd, ret);
	close(lfd);
	if (upcall_target_parse(sock, 0, &t, msg, len) || !(s = upcall_session_new(&t)))
		return UPCALL_ERR_SYSTEM;
	st = upcall_add_mem(s, 0x100000000ULL, 0x8000000, NULL);
	snprintf(msg, len, "%s", upcall_errmsg(s));
	upcall_session_free(s);
	waitpid(pid, &status, 0);
	return st;
}

/* ADD_CPU of @n CPUs to a guest that replies @ret with @size bytes of @index. */
static enum upcall_status add_cpu_replied(unsigned int n, int32_t ret, uint32_t size,
					  uint32_t index, struct upcall_reply *r,
					  char *msg, size_t len)
{
	struct upcall_cpu_request req = { .count = n, .apic_ver = 0x14 };
	struct upcall_session *s;
	struct upcall_target t;
	enum upcall_status st;
	int lfd = listen_on_sock(), status;
	pid_t pid;

	if (lfd < 0)
		return UPCALL_ERR_SYSTEM;
	for (unsigned int i = 0; i < n; i++)
		req.apic_ids[i] = (uint8_t)(i + 1);
	pid = fork();
	if (pid == 0)
		guest_reply(lfd, ret, size, index);
	close(lfd);
	if (upcall_target_parse(sock, 0, &t, msg, len) || !(s = upcall_session_new(&t)))
		return UPCALL_ERR_SYSTEM;
	upcall_session_set_arch(s, UPCALL_ARCH_X86_64);
	st = upcall_add_cpu(s, &req, r);
	snprintf(msg, len, "%s", upcall_errmsg(s));
	upcall_session_free(s);
	waitpid(pid, &status, 0);
	return st;
}

/* Upstream fills apic_index in on success only: a failure's progress is unknown. */
static void test_cpu_no_index(void)
{
	struct upcall_reply r;
	char msg[UPCALL_ERRMSG_MAX];

	is_int(add_cpu_replied(2, -5, 0, 0, &r, msg, sizeof(msg)), UPCALL_ERR_PARTIAL,
	       "2 CPUs, -5 without an index: partial, not a refusal");
	ok(r.cpu_index == UPCALL_CPU_INDEX_UNKNOWN, "cpu_index is UPCALL_CPU_INDEX_UNKNOWN: %u",
	   r.cpu_index);
	ok(strstr(msg, "-5 (Input/output error) to ADD_CPU of 2 CPUs without reporting how far it got"),
	   "says the guest did not report its progress: %s", msg);
	is_int(add_cpu_replied(2, -5, 0, 0, NULL, msg, sizeof(msg)), UPCALL_ERR_PARTIAL,
	       "the same without a reply buffer");
	is_int(add_cpu_replied(1, -5, 0, 0, &r, msg, sizeof(msg)), UPCALL_ERR_GUEST,
	       "1 CPU, -5 without an index: a plain refusal (that CPU is not online)");
	ok(r.cpu_index == 0, "cpu_index 0: %u", r.cpu_index);
	is_int(add_cpu_replied(2, -22, 4, 0, &r, msg, sizeof(msg)), UPCALL_ERR_GUEST,
	       "2 CPUs, -22 with index 0: refused before any CPU");
	is_int(add_cpu_replied(2, -5, 4, 1, &r, msg, sizeof(msg)), UPCALL_ERR_PARTIAL,
	       "2 CPUs, -5 with index 1: partial");
	ok(r.cpu_index == 1, "cpu_index 1: %u", r.cpu_index);
	is_int(add_cpu_replied(2, 0, 4, 2, &r, msg, sizeof(msg)), UPCALL_OK, "2 CPUs, 0, index 2: done");
}

/* A guest that takes the connection and never answers. */
static pid_t silent_guest(void)
{
	int lfd = listen_on_sock(), fd;
	pid_t pid;

	if (lfd < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		fd = accept(lfd, NULL, NULL);
		sleep(10);
		_exit(fd < 0);
	}
	close(lfd);
	return pid;
}

struct waiter {
	struct upcall_session *s;
	enum upcall_status st;
	uint64_t ns;
};

static void *wait_for_reply(void *data)
{
	struct waiter *w = data;
	uint64_t t0 = upcall_now_ns();

	w->st = upcall_add_pci(w->s, 0, 0x18, NULL);
	w->ns = upcall_now_ns() - t0;
	return NULL;
}

/*
 * One cancel descriptor stops sessions in several threads at once: two
 * requests to a silent guest, 10 s timeout, the pipe written after 0.2 s.
 * "Long before the timeout" is all the bounds below say.
 */
static void test_cancel_fd(void)
{
	struct waiter w[2] = { 0 };
	pthread_t tid[2];
	struct upcall_target t;
	int p[2], closed[2];
	char err[128];
	pid_t pid = silent_guest();

	if (pid < 0 || pipe(p) || pipe(closed) ||
	    upcall_target_parse(sock, 0, &t, err, sizeof(err))) {
		ok(0, "set up a silent guest");
		return;
	}
	for (int i = 0; i < 2; i++) {
		w[i].s = upcall_session_new(&t);
		upcall_session_set_timeout(w[i].s, 10000);
		is_int(upcall_session_set_cancel_fd(w[i].s, p[0]), 0, "session %d watches the pipe", i);
		pthread_create(&tid[i], NULL, wait_for_reply, &w[i]);
	}
	usleep(200000);
	ok(write(p[1], "x", 1) == 1, "Ctrl-C: one byte into the pipe");
	for (int i = 0; i < 2; i++) {
		pthread_join(tid[i], NULL);
		is_int(w[i].st, UPCALL_ERR_CANCELLED, "thread %d: cancelled (%s)", i,
		       upcall_errmsg(w[i].s));
		ok(w[i].ns < 5000000000ull, "thread %d: long before the 10 s timeout", i);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	/* Still readable: waiting for a guest that is not there yet stops too. */
	unlink(sock);
	upcall_session_set_wait(w[0].s, 10000);
	uint64_t t0 = upcall_now_ns();

	is_int(upcall_connect(w[0].s), UPCALL_ERR_CANCELLED, "--wait: cancelled (%s)",
	       upcall_errmsg(w[0].s));
	ok(!strstr(upcall_errmsg(w[0].s), "still, after waiting"),
	   "and not called a wait that ran out");
	ok(upcall_now_ns() - t0 < 5000000000ull, "long before the 10 s wait");

	/* A closed write end cancels too, rather than leaving a hang. */
	close(closed[1]);
	upcall_session_set_cancel_fd(w[1].s, closed[0]);
	upcall_session_set_wait(w[1].s, 10000);
	is_int(upcall_connect(w[1].s), UPCALL_ERR_CANCELLED, "closed cancel pipe: cancelled");
	is_int(upcall_session_set_cancel_fd(w[1].s, 1000), -EBADF, "a descriptor not open: EBADF");
	is_int(upcall_session_set_cancel_fd(w[1].s, -1), 0, "-1 removes it");
	for (int i = 0; i < 2; i++)
		upcall_session_free(w[i].s);
	close(p[0]);
	close(p[1]);
	close(closed[0]);
}

/*
 * Base 0 is refused by the library itself, not only by the tools' command
 * lines: nothing listens on the socket, so a request that got as far as
 * connecting would fail as unreachable instead.
 */
static void test_base_zero(void)
{
	struct upcall_session *s = NULL;
	struct upcall_target t;
	char err[128];

	unlink(sock);
	if (upcall_target_parse(sock, 0, &t, err, sizeof(err)) == UPCALL_OK)
		s = upcall_session_new(&t);
	ok(s != NULL, "a session to a socket nobody listens on");
	if (!s)
		return;
	is_int(upcall_add_mem(s, 0, 0x8000000, NULL), UPCALL_ERR_INVALID,
	       "ADD_MEM at base 0 refused before connecting");
	ok(strstr(upcall_errmsg(s), "memory base must not be zero"), "says why: %s",
	   upcall_errmsg(s));
	is_int(upcall_del_mem(s, 0, 0x8000000, NULL), UPCALL_ERR_INVALID,
	       "DEL_MEM at base 0 refused before connecting");
	is_int(upcall_add_mmio(s, 0, 0x1000, 5, NULL), UPCALL_ERR_INVALID,
	       "ADD_MMIO at base 0 refused before connecting");
	ok(strstr(upcall_errmsg(s), "MMIO base must not be zero"), "says why: %s",
	   upcall_errmsg(s));
	is_int(upcall_del_mmio(s, 0, 0x1000, 5, NULL), UPCALL_ERR_INVALID,
	       "DEL_MMIO at base 0 refused before connecting");
	upcall_session_free(s);
}

/* Hand-built targets that the parser would refuse are refused here too. */
static void test_bad_targets(void)
{
	struct upcall_target t = { .transport = UPCALL_TRANSPORT_UNIX };

	memset(t.path, 'a', sizeof(t.path));
	errno = 0;
	ok(!upcall_session_new(&t) && errno == EINVAL, "unterminated path: EINVAL");
	t.path[0] = '\0';
	ok(!upcall_session_new(&t) && errno == EINVAL, "empty path: EINVAL");
	snprintf(t.path, sizeof(t.path), "/run/vm.sock");
	t.port = 1025;
	ok(!upcall_session_new(&t) && errno == EINVAL, "port 1025: EINVAL");
	t = (struct upcall_target){ .transport = UPCALL_TRANSPORT_VSOCK, .cid = 2 };
	ok(!upcall_session_new(&t) && errno == EINVAL, "CID 2 (the host): EINVAL");
	t.cid = 3;
	struct upcall_session *s = upcall_session_new(&t);

	ok(s && upcall_session_target(s)->port == UPCALL_DEFAULT_PORT,
	   "CID 3, port 0: accepted, default port");
	upcall_session_free(s);
}

/* Setters refuse what they cannot mean and keep the old value. */
static void test_setters(void)
{
	struct upcall_target t = { .transport = UPCALL_TRANSPORT_VSOCK, .cid = 3 };
	struct upcall_session *s = upcall_session_new(&t);

	is_int(upcall_session_set_timeout(s, 1500), 0, "timeout 1500 ms: accepted");
	is_int(upcall_session_set_timeout(s, -1), -EINVAL, "timeout -1: EINVAL");
	is_int(s->timeout_ms, 1500, "... and the timeout stays");
	is_int(upcall_session_set_timeout(s, 0), 0, "timeout 0: accepted");
	is_int(s->timeout_ms, UPCALL_DEFAULT_TIMEOUT_MS, "... and means the default");
	is_int(upcall_session_set_wait(s, -5), -EINVAL, "wait -5: EINVAL");
	is_int(upcall_session_set_arch(s, UPCALL_ARCH_AARCH64), 0, "arch aarch64: accepted");
	is_int(upcall_session_set_arch(s, (enum upcall_arch)7), -EINVAL, "arch 7: EINVAL");
	is_int(upcall_session_arch(s), UPCALL_ARCH_AARCH64, "... and the arch stays");
	is_int(upcall_session_stat(s, UPCALL_STAT_REQUESTS), 0, "no request yet");
	is_int(upcall_session_stat(s, (enum upcall_stat)99), 0, "an unknown counter: 0");
	upcall_session_free(s);
}

/*
 * A guest whose MMIO list is 42 windows; each of its first @changes pages
 * carries another tag (the list changed), then the true one; with
 * @changes -1 every page carries the same wrong tag.  Serves QUERY_MMIO
 * until EOF.
 */
static void guest_mmio_pages(int lfd, int changes)
{
	uint8_t frame[UPCALL_FRAME_SIZE], req[UPCALL_FRAME_SIZE], all[42 * 24] = { 0 };
	int fd = accept(lfd, NULL, NULL), served = 0;
	char c = 0;

	for (uint32_t i = 0; i < 42; i++) {
		put32(all + i * 24 + 3, 0xd0 + i);	/* base 0xd0000000 + i << 24 */
		put32(all + i * 24 + 8, 0x1000);
		put32(all + i * 24 + 16, 5);
	}
	while (fd >= 0 && c != '\n' && read(fd, &c, 1) == 1)
		;
	memset(frame, 0, sizeof(frame));
	put32(frame, UPCALL_MAGIC_VERSION);
	if (fd < 0 || write(fd, "OK 1\n", 5) != 5 || read_full(fd, &c, 1) ||
	    write(fd, frame, sizeof(frame)) != sizeof(frame))
		_exit(1);
	while (!read_full(fd, req, sizeof(req))) {
		uint32_t start = le32toh(*(uint32_t *)(req + 16)), n = start < 42 ? 42 - start : 0;
		uint32_t tag = upcall_list_tag(UPCALL_LIST_TAG_INIT, all, sizeof(all));

		n = n > 41 ? 41 : n;
		memset(frame, 0, sizeof(frame));
		put32(frame, UPCALL_MAGIC_VERSION);
		memcpy(frame + 8, req + 8, 4);
		put32(frame + 4, 16 + n * 24);
		put32(frame + 20, 42);
		put32(frame + 24, start);
		put32(frame + 28, n);
		if (changes < 0)
			tag ^= 1;
		else if (served < changes)
			tag ^= (uint32_t)served + 1;
		served++;
		put32(frame + 32, tag);
		memcpy(frame + 36, all + start * 24, n * 24);
		if (write(fd, frame, sizeof(frame)) != sizeof(frame))
			_exit(1);
	}
	_exit(0);
}

/* Read the 42-window list from a guest whose list changes @changes times. */
static enum upcall_status mmio_pages(int changes, size_t max, struct upcall_mmio_dev *devs,
				     size_t *count, uint64_t *requests)
{
	struct upcall_session *s;
	struct upcall_target t;
	enum upcall_status st;
	int lfd = listen_on_sock(), status;
	char msg[160];
	pid_t pid;

	if (lfd < 0)
		return UPCALL_ERR_SYSTEM;
	pid = fork();
	if (pid == 0)
		guest_mmio_pages(lfd, changes);
	close(lfd);
	if (upcall_target_parse(sock, 0, &t, msg, sizeof(msg)) || !(s = upcall_session_new(&t)))
		return UPCALL_ERR_SYSTEM;
	st = upcall_query_mmio(s, devs, max, count);
	*requests = upcall_session_stat(s, UPCALL_STAT_REQUESTS);
	upcall_session_free(s);
	waitpid(pid, &status, 0);
	return st;
}

static void test_list_pages(void)
{
	struct upcall_mmio_dev devs[42];
	uint64_t requests = 0;
	size_t n = 0;

	is_int(mmio_pages(0, 42, devs, &n, &requests), UPCALL_OK, "42 windows in two pages");
	ok(n == 42 && devs[0].base == 0xd0000000 && devs[41].base == 0xf9000000 &&
	   devs[41].size == 0x1000 && devs[41].irq == 5, "all 42, the last from the second page");
	is_int(requests, 2, "two requests");
	is_int(mmio_pages(1, 42, devs, &n, &requests), UPCALL_OK,
	       "a list that changed between pages is read again");
	is_int(requests, 4, "from the start: four requests");
	is_int(mmio_pages(0, 3, devs, &n, &requests), UPCALL_OK, "room for 3 of 42");
	ok(n == 42 && devs[2].base == 0xd2000000, "count says 42, the first 3 stored");
	is_int(mmio_pages(100, 42, devs, &n, &requests), UPCALL_ERR_PROTOCOL,
	       "a list that never holds still: protocol error");
	is_int(requests, 8, "after four tries");
	is_int(mmio_pages(-1, 42, devs, &n, &requests), UPCALL_ERR_PROTOCOL,
	       "entries that do not give the list's tag: protocol error");
	is_int(requests, 2, "found once the whole list is read");
}

int main(void)
{
	char msg[UPCALL_ERRMSG_MAX];

	tap_plan(70);
	if (!mkdtemp(dir))
		return 1;
	snprintf(sock, sizeof(sock), "%s/vm.sock", dir);

	is_int(add_mem_replied(0, msg, sizeof(msg)), UPCALL_OK, "ret 0: done");
	is_int(add_mem_replied(-22, msg, sizeof(msg)), UPCALL_ERR_GUEST, "ret -22: refused");
	ok(strstr(msg, "-22 (Invalid argument) to ADD_MEM"), "names the errno: %s", msg);
	is_int(add_mem_replied(-4095, msg, sizeof(msg)), UPCALL_ERR_GUEST,
	       "ret -4095: still an errno");
	is_int(add_mem_replied(1, msg, sizeof(msg)), UPCALL_ERR_PROTOCOL,
	       "ret 1: protocol error");
	is_int(add_mem_replied(-4096, msg, sizeof(msg)), UPCALL_ERR_PROTOCOL,
	       "ret -4096: protocol error");
	is_int(add_mem_replied(INT32_MIN, msg, sizeof(msg)), UPCALL_ERR_PROTOCOL,
	       "ret INT32_MIN: protocol error");
	ok(strstr(msg, "-2147483648 (not a negative errno)"), "says so: %s", msg);
	is_int(add_mem_replied(-17, msg, sizeof(msg)), UPCALL_ERR_GUEST, "ret -17: refused");
	ok(strstr(msg, "-17 (File exists) to ADD_MEM: the range overlaps memory the guest has"),
	   "says what -17 means for ADD_MEM: %s", msg);
	is_int(add_mem_replied(-1, msg, sizeof(msg)), UPCALL_ERR_GUEST, "ret -1, no payload: refused");
	ok(strstr(msg, "-1 (unknown request) to ADD_MEM: the guest does not serve this request"),
	   "an upstream guest's -1 is an unknown request, not EPERM: %s", msg);
	ok(strstr(msg, "extension"), "and memory is an extension: %s", msg);
	test_cpu_no_index();
	test_cancel_fd();
	test_bad_targets();
	test_setters();
	test_list_pages();
	test_base_zero();

	unlink(sock);
	rmdir(dir);
	return tap_done();
}
