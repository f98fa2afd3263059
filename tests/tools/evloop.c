// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * evloop: drive many VMs from one thread and one epoll loop through
 * libupcall's non-blocking mode, as a VMM or a management daemon would.
 * Each VM gets a handshake, then QUERY_CPUS; its reply must list CPUs
 * 0..N-1 where the argument says SOCK=N.
 *
 *   evloop [-t MS] [--compare] SOCK[=N]...
 *
 * --compare then repeats every VM's handshake and query with the blocking
 * calls and prints both outcomes ("async: STATUS: MESSAGE", "blocking:
 * ..."), which must read the same.  Exit 0 when every VM answered as
 * expected (with --compare: when both ways agree).
 */
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <upcall/upcall.h>

struct vm {
	const char *spec;
	struct upcall_target target;
	int want;			/* CPUs the reply must list; -1: any */
	struct upcall_session *s;
	int fd;				/* registered with epoll, or -1 */
	int phase;			/* 0 handshake, 1 query, 2 done */
	bool awaited;			/* the query did not end at once */
	struct upcall_id_list cpus;
	enum upcall_status st;
	char what[16];			/* the step that ended it */
	char msg[512];
};

static int epfd;
static int timeout_ms = 5000;
static unsigned int pending, awaiting, most_awaiting;
static uint64_t longest_process_us;	/* what a process() call took, at most */

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/*
 * Watch what the session asks for.  A descriptor the library closed has
 * left the epoll set by itself; its number may come back for another
 * socket, of this session or another one.
 */
static void rearm(struct vm *v)
{
	int fd = upcall_session_get_fd(v->s);
	struct epoll_event ev = {
		.events = (uint32_t)upcall_session_get_events(v->s),
		.data.ptr = v,
	};

	if (fd < 0) {
		v->fd = -1;
		return;
	}
	if (fd == v->fd && epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
		return;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 &&
	    (errno != EEXIST || epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) < 0))
		die("epoll_ctl");
	v->fd = fd;
}

static void finish(struct vm *v, enum upcall_status st, const char *what)
{
	v->st = st;
	v->phase = 2;
	snprintf(v->what, sizeof(v->what), "%s", what);
	snprintf(v->msg, sizeof(v->msg), "%s", upcall_errmsg(v->s));
	pending--;
}

/* upcall_session_process(), timed: it must never wait for the guest. */
static enum upcall_status process(struct vm *v)
{
	uint64_t t0 = now_us(), took;
	enum upcall_status st = upcall_session_process(v->s);

	took = now_us() - t0;
	if (took > longest_process_us)
		longest_process_us = took;
	return st;
}

/* An operation of @v ended with @st, or is still going on. */
static void advance(struct vm *v, enum upcall_status st)
{
	while (st != UPCALL_IN_PROGRESS && v->phase < 2) {
		if (v->phase == 1) {
			awaiting -= v->awaited;
			finish(v, st, "QUERY_CPUS");
			break;
		}
		if (st) {
			finish(v, st, "handshake");
			break;
		}
		v->phase = 1;
		st = upcall_query_cpus(v->s, &v->cpus);
		v->awaited = st == UPCALL_IN_PROGRESS;
		if (v->awaited && ++awaiting > most_awaiting)
			most_awaiting = awaiting;
		/* As after a spurious wake-up: nothing to read yet, must not wait. */
		if (v->awaited)
			st = process(v);
	}
	if (v->phase < 2)
		rearm(v);
}

static void start(struct vm *v)
{
	char err[256];

	if (upcall_target_parse(v->spec, 0, &v->target, err, sizeof(err))) {
		fprintf(stderr, "evloop: %s\n", err);
		exit(2);
	}
	v->s = upcall_session_new(&v->target);
	if (!v->s)
		die("upcall_session_new");
	upcall_session_set_timeout(v->s, timeout_ms);
	if (upcall_session_set_nonblocking(v->s, true))
		die("upcall_session_set_nonblocking");
	v->fd = -1;
	pending++;
	advance(v, upcall_connect(v->s));
}

static void loop(struct vm *vms, int n)
{
	struct epoll_event evs[64];

	while (pending) {
		uint64_t next = UINT64_MAX, now;
		int ms = -1, got;

		for (int i = 0; i < n; i++)
			if (vms[i].phase < 2) {
				uint64_t t = upcall_session_get_timeout(vms[i].s);

				next = t < next ? t : next;
			}
		now = now_us();
		if (next != UINT64_MAX)
			ms = next > now ? (int)((next - now + 999) / 1000) : 0;
		got = epoll_wait(epfd, evs, 64, ms);
		if (got < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < got; i++) {
			struct vm *v = evs[i].data.ptr;

			if (v->phase < 2)
				advance(v, process(v));
		}
		/* Deadlines that passed: process() reports the timeout. */
		now = now_us();
		for (int i = 0; i < n; i++)
			if (vms[i].phase < 2 && upcall_session_get_timeout(vms[i].s) <= now)
				advance(&vms[i], process(&vms[i]));
	}
}

/* The same VM, the same requests, the blocking calls. */
static void blocking(const struct vm *v, enum upcall_status *st, char *msg,
		     size_t len)
{
	struct upcall_session *s = upcall_session_new(&v->target);
	struct upcall_id_list cpus;

	if (!s)
		die("upcall_session_new");
	upcall_session_set_timeout(s, timeout_ms);
	*st = upcall_connect(s);
	if (*st == UPCALL_OK)
		*st = upcall_query_cpus(s, &cpus);
	snprintf(msg, len, "%s", upcall_errmsg(s));
	upcall_session_free(s);
}

static bool answered(const struct vm *v)
{
	if (v->st != UPCALL_OK)
		return false;
	if (v->want < 0)
		return true;
	if (v->cpus.count != (unsigned int)v->want)
		return false;
	for (unsigned int i = 0; i < v->cpus.count; i++)
		if (v->cpus.ids[i] != i)
			return false;
	return true;
}

int main(int argc, char **argv)
{
	bool compare = false;
	int first = 1, n, bad = 0;
	uint64_t handshakes = 0;
	struct vm *vms;

	for (; first < argc && argv[first][0] == '-'; first++) {
		if (strcmp(argv[first], "--compare") == 0)
			compare = true;
		else if (strcmp(argv[first], "-t") == 0 && first + 1 < argc)
			timeout_ms = atoi(argv[++first]);
		else
			break;
	}
	n = argc - first;
	if (n <= 0) {
		fprintf(stderr, "usage: evloop [-t MS] [--compare] SOCK[=NCPUS]...\n");
		return 2;
	}
	vms = calloc((size_t)n, sizeof(*vms));
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!vms || epfd < 0)
		die("setup");
	for (int i = 0; i < n; i++) {
		char *eq = strrchr(argv[first + i], '=');

		vms[i].want = -1;
		if (eq) {
			*eq = '\0';
			vms[i].want = atoi(eq + 1);
		}
		vms[i].spec = argv[first + i];
	}
	for (int i = 0; i < n; i++)
		start(&vms[i]);
	loop(vms, n);

	for (int i = 0; i < n; i++) {
		struct vm *v = &vms[i];

		handshakes += upcall_session_stat(v->s, UPCALL_STAT_CONNECTS);
		if (compare) {
			enum upcall_status st;
			char msg[512];

			blocking(v, &st, msg, sizeof(msg));
			printf("async: %s: %s\nblocking: %s: %s\n", upcall_status_name(v->st),
			       v->msg, upcall_status_name(st), msg);
			bad += st != v->st || strcmp(msg, v->msg) != 0;
		} else if (!answered(v)) {
			printf("%s: %s: %s: %s (%u CPUs listed, %d expected)\n", v->spec,
			       v->what, upcall_status_name(v->st), v->msg, v->cpus.count,
			       v->want);
			bad++;
		}
		upcall_session_free(v->s);
	}
	if (!compare)
		printf("%d VMs from one thread: %" PRIu64 " handshakes, %d QUERY_CPUS replies as each VM answered; at most %u awaited at once; longest process() call %" PRIu64 " ms\n",
		       n, handshakes, n - bad, most_awaiting,
		       (longest_process_us + 999) / 1000);
	free(vms);
	return bad ? 1 : 0;
}
