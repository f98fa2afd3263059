/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * upcall-stub: command line, start-up, the accept loop and signals.
 *
 * Signals are blocked in every thread and read from a signalfd by the
 * main thread, so no handler and no global flag are needed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* asprintf, accept4, pipe2 */
#endif
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "stub.h"

#ifndef UPCALL_VERSION
#define UPCALL_VERSION "0"
#endif

const char *argp_program_version = "upcall-stub " UPCALL_VERSION;

enum {
	OPT_BLOCK_SIZE = 0x100,
	OPT_NO_QUERY,
	OPT_PCI,
	OPT_QMP,
	OPT_VMM_VCPUS,
	OPT_MISSING_VCPU_WAIT,
	OPT_UPSTREAM,
};

static const struct argp_option options[] = {
	{ NULL, 0, NULL, 0, "Socket:", 1 },
	{ "socket", 's', "PATH", 0,
	  "Unix socket to listen on (required), created with mode 0600. A stale "
	  "socket file is replaced; any other file, or a socket some server "
	  "still answers on, is refused", 0 },
	{ "port", 'p', "PORT", 0,
	  "vsock port the guest listens on (1..1024, default 219); a CONNECT for "
	  "any other port is closed without a reply", 0 },
	{ "pid-file", 'P', "PATH", 0,
	  "Write the pid here once listening (removed at shutdown)", 0 },
	{ "foreground", 'F', NULL, 0, "Stay in the foreground (the default; accepted "
	  "for compatibility)", 0 },
	{ "verbose", 'v', NULL, 0,
	  "Print 'listening on PATH' and one line per connection and request "
	  "to stderr", 0 },
	{ "qmp", OPT_QMP, "PATH", 0,
	  "Also serve a small QMP socket here, as QEMU's: vCPUs made with "
	  "device_add, DIMMs with object-add and device_add (a test double; "
	  "see the manual)", 0 },

	{ NULL, 0, NULL, 0, "Emulated guest:", 2 },
	{ "arch", 'a', "ARCH", 0,
	  "x86_64 (default; CPUs by APIC ID) or aarch64 (CPU requests carry a "
	  "count only)", 0 },
	{ "boot-vcpus", 'b', "N", 0,
	  "CPUs online at start: IDs 0..N-1 (default 1)", 0 },
	{ "max-vcpus", 'm', "N", 0,
	  "Possible CPUs: IDs 0..N-1, N <= 256 (default 8)", 0 },
	{ "block-size", OPT_BLOCK_SIZE, "SIZE", 0,
	  "Memory block size, a power of two >= 4K; suffixes K, M, G "
	  "(default 128M)", 0 },
	{ "pci", OPT_PCI, "BB:DD.F", 0,
	  "A PCI device present at start (hex bus, device, function); "
	  "repeatable", 0 },
	{ "state-file", 'S', "PATH", 0,
	  "Rewrite a text dump of the guest state here at start, after every "
	  "request and on SIGUSR1", 0 },
	{ "no-query", OPT_NO_QUERY, NULL, 0,
	  "Answer the queries (QUERY_CPUS, _MEM, _MMIO, _PCI) as an upstream guest answers an "
	  "unknown type: ret -1, no payload", 0 },
	{ "upstream", OPT_UPSTREAM, NULL, 0,
	  "Answer as the upstream (Dragonball) guest server does: ret -1 and "
	  "no payload for memory requests and queries, CPU failure replies "
	  "without an index (the CPUs before the failing one stay done), "
	  "-EEXIST for a window already added, -ENODEV for deleting what is "
	  "not there (see the manual)", 0 },
	{ "vmm-vcpus", OPT_VMM_VCPUS, "LIST", 0,
	  "x86_64: the APIC IDs that have a vCPU in the VMM, e.g. 0,1 (must "
	  "include the boot CPUs; default: every possible CPU, or with --qmp "
	  "the boot CPUs only).  ADD_CPU of a possible ID without one waits, "
	  "then fails with -EIO at that entry, as a Linux guest does", 0 },
	{ "missing-vcpu-wait", OPT_MISSING_VCPU_WAIT, "MS", 0,
	  "How long an ADD_CPU waits for a vCPU the VMM does not have (see "
	  "--vmm-vcpus) before it fails (default 100; a Linux guest waits 10 s)", 0 },

	{ NULL, 0, NULL, 0, "Faults (repeatable, combinable):", 3 },
	{ "fault", 'f', "NAME[=ARG]", 0, "Misbehave as NAME says:", 0 },
	{ "  no-listener", 0, NULL, OPTION_DOC | OPTION_NO_USAGE,
	  "close every CONNECT line without a reply, like a VMM whose guest has "
	  "no listener", 0 },
	{ "  garbage-ok", 0, NULL, OPTION_DOC | OPTION_NO_USAGE,
	  "answer CONNECT with 'HELLO\\n', then hold the connection open", 0 },
	{ "  endless-ok", 0, NULL, OPTION_DOC | OPTION_NO_USAGE,
	  "answer CONNECT with 'O's, one per 20 ms, never a LF, until the "
	  "client closes", 0 },
	{ "  no-connect-frame", 0, NULL, OPTION_DOC | OPTION_NO_USAGE,
	  "after the service byte never send the CONNECT frame; hold the "
	  "connection open", 0 },
	{ "  close-mid-frame", 0, NULL, OPTION_DOC | OPTION_NO_USAGE,
	  "send the first 512 bytes of the CONNECT frame, then close", 0 },
	{ "  bad-magic", 0, NULL, OPTION_DOC | OPTION_NO_USAGE,
	  "replies carry magic 0x444D0200 instead of 0x444D0100", 0 },
	{ "  wrong-type", 0, NULL, OPTION_DOC | OPTION_NO_USAGE,
	  "replies echo the request's type + 1", 0 },
	{ "  no-reply", 0, NULL, OPTION_DOC | OPTION_NO_USAGE,
	  "handle requests (state changes) but never reply; keep the "
	  "connection open", 0 },
	{ "  short-reply", 0, NULL, OPTION_DOC | OPTION_NO_USAGE,
	  "handle a request, send the first 100 bytes of the reply, close", 0 },
	{ "  reply-after=MS", 0, NULL, OPTION_DOC | OPTION_NO_USAGE,
	  "handle a request, wait MS ms, then reply", 0 },
	{ "  slow-drip[=MS]", 0, NULL, OPTION_DOC | OPTION_NO_USAGE,
	  "send the CONNECT frame and every reply one byte per MS ms "
	  "(default 100)", 0 },
	{ "  errno=N", 0, NULL, OPTION_DOC | OPTION_NO_USAGE,
	  "refuse every device request (types 1-8) that passes the generic "
	  "checks with ret -N; the state is unchanged; queries still answered", 0 },
	{ "  fail-cpu=N", 0, NULL, OPTION_DOC | OPTION_NO_USAGE,
	  "the Nth CPU (1-based) of a CPU request fails with -EIO: the first "
	  "N-1 are done, apic_index is N-1", 0 },
	{ "  stop-cpu=N", 0, NULL, OPTION_DOC | OPTION_NO_USAGE,
	  "as fail-cpu=N, but the reply's ret is 0: a partial result "
	  "without an error", 0 },
	{ "  no-index", 0, NULL, OPTION_DOC | OPTION_NO_USAGE,
	  "CPU failure replies have msg_size 0 and no apic_index, as with "
	  "--upstream, while queries are still answered", 0 },
	{ "  lie-index", 0, NULL, OPTION_DOC | OPTION_NO_USAGE,
	  "CPU replies claim apic_index = count + 1", 0 },
	{ "  exit-after=N", 0, NULL, OPTION_DOC | OPTION_NO_USAGE,
	  "on receiving the Nth request frame (all connections), _exit(0) "
	  "without replying or cleaning up", 0 },
	{ NULL, 0, NULL, 0, NULL, 0 }
};

static const char doc[] =
	"Emulate a VMM's hybrid-vsock socket with a guest upcall device "
	"manager behind it, for testing upcall clients without a VM."
	"\v"
	"Protocol: a client sends 'CONNECT <port>\\n' and gets 'OK <n>\\n' "
	"(n from 1073741824 up), then the service byte 'd', then the CONNECT "
	"frame, then 1024-byte request/reply frames.\n"
	"\n"
	"Refusals (ret in the reply): malformed requests get what "
	"upcall_check_request() returns (-EPROTO bad magic, -EOPNOTSUPP unknown "
	"type, -EINVAL bad size/flags/count/duplicates). ADD_CPU: -EINVAL if an "
	"ID is online or >= --max-vcpus (aarch64: not enough CPUs left); -EIO "
	"after --missing-vcpu-wait at the first ID without a vCPU in the VMM. "
	"DEL_CPU: -EINVAL if removing all online CPUs, APIC ID 0, or an ID "
	"not online. Memory: -EINVAL unaligned to the block size, -EEXIST "
	"overlap, -ENOSPC more than 62 ranges, -ENOENT delete of a range not "
	"plugged exactly. MMIO: -EBUSY overlapping window or IRQ in use, "
	"-ENOSPC more than 64 windows, -ENOENT delete without an exact "
	"base/size/irq match. PCI: add always 0 (marks the device present); "
	"-ENODEV delete of an absent device. A CPU request that passes the "
	"generic checks always gets msg_size 4 and the index of the first CPU "
	"not handled, 0 when refused as a whole (aarch64: the first CPU id "
	"above the online range); every other error reply has msg_size 0.\n"
	"\n"
	"--no-query: QUERY_CPUS, _MEM, _MMIO and _PCI get ret -1, msg_size 0, the type "
	"echoed.\n"
	"\n"
	"--upstream: ADD_MEM, DEL_MEM and queries get ret -1, msg_size 0. x86_64 "
	"CPU requests are handled one CPU at a time and stop at the first failure "
	"(-EINVAL: ADD_CPU of an online ID or one >= --max-vcpus, DEL_CPU of ID 0 "
	"or an offline ID; -EIO: a missing vCPU, fail-cpu=N), the CPUs before it "
	"staying done; a CPU failure reply has msg_size 0 (both arches), a "
	"success msg_size 4 with the count. ADD_MMIO of a window already added "
	"-EEXIST; DEL_MMIO without a match -ENODEV. A bad magic always gets -EPROTO, msg_size 0, the type echoed.\n"
	"\n"
	"The CONNECT line must arrive within 10 s and the service byte within "
	"10 s after 'OK'; otherwise the connection is closed.\n"
	"\n"
	"State file (one key per line; lists ascending, lowercase hex; empty "
	"after the colon when there is nothing):\n"
	"  arch: x86_64\n"
	"  cpus: 0,1,2\n"
	"  mem: 0x100000000+0x8000000 ...\n"
	"  mmio: 0xd0000000+0x1000@5 ...\n"
	"  pci: 00:03.0 ...\n"
	"  vmm-cpus: 0,1    (APIC IDs with a vCPU in the VMM)\n"
	"  vmm-dimms: upcall-dimm0@0x100000000+0x10000000 ...\n"
	"  requests: N      (request frames received, all connections)\n"
	"  last: ADD_CPU ret=0 index=2 size=258 ids=1,2\n"
	"index= and ids= (aarch64: count=) appear for CPU requests that got "
	"past the generic checks; size= is the request's msg_size.\n"
	"\n"
	"--qmp: a QMP test double, one JSON command a line: qmp_capabilities, "
	"query-hotpluggable-cpus (1 socket x --max-vcpus cores), device_add of a "
	"qemu64-x86_64-cpu or a pc-dimm, qom-get apic-id, object-add/object-del "
	"of a memory-backend-ram, qom-list /objects, query-memory-devices; "
	"device_del is refused.\n"
	"\n"
	"Signals: SIGUSR1 rewrites the state file; SIGTERM/SIGINT close the "
	"sockets, remove them and the pid file, and exit 0.\n"
	"\n"
	"Exit status: 0 normal shutdown; 64 usage error; 71 setup failed "
	"(socket, pid file or state file).";

/* "128M", "0x8000000", "1G", "64KiB" */
static int parse_size(const char *s, __u64 *out)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	const char *u;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return -1;
	if (*end && (u = strchr(units, *end & ~0x20)) != NULL) {
		for (long i = 0; i <= u - units; i++) {
			if (v > (~0ULL >> 10))
				return -1;
			v <<= 10;
		}
		end++;
		if (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0)
			end += strlen(end);
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

static int parse_pci(const char *s, struct stub_state *state)
{
	unsigned int bus, dev, fn;
	int n = 0;

	if (sscanf(s, "%2x:%2x.%1x%n", &bus, &dev, &fn, &n) != 3 || s[n] ||
	    dev > 0x1f || fn > 7)
		return -1;
	stub_pci_set(state, bus, (dev << 3) | fn, true);
	return 0;
}

static int parse_arch(const char *s, enum stub_arch *arch)
{
	if (strcmp(s, "x86_64") == 0)
		*arch = STUB_ARCH_X86_64;
	else if (strcmp(s, "aarch64") == 0)
		*arch = STUB_ARCH_AARCH64;
	else
		return -1;
	return 0;
}

static error_t check_config(struct argp_state *as, const struct stub_config *c)
{
	if (!c->socket_path)
		argp_error(as, "--socket PATH is required");
	if (strlen(c->socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		argp_error(as, "socket path too long (at most %zu bytes)",
			   sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	if (c->boot_vcpus > c->max_vcpus)
		argp_error(as, "--boot-vcpus %u exceeds --max-vcpus %u",
			   c->boot_vcpus, c->max_vcpus);
	if (c->qmp_path && strlen(c->qmp_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		argp_error(as, "QMP socket path too long");
	if (c->qmp_path && !strcmp(c->qmp_path, c->socket_path))
		argp_error(as, "--qmp needs a socket of its own");
	if (!c->vmm_vcpus_set)
		return 0;
	if (c->arch != STUB_ARCH_X86_64)
		argp_error(as, "--vmm-vcpus applies to x86_64 guests");
	for (unsigned int i = 0; i < STUB_MAX_CPUS; i++) {
		if (i < c->boot_vcpus && !c->vmm_vcpus[i])
			argp_error(as, "--vmm-vcpus must list the boot CPUs (0..%u)", c->boot_vcpus - 1);
		if (i >= c->max_vcpus && c->vmm_vcpus[i])
			argp_error(as, "--vmm-vcpus: APIC ID %u is not below --max-vcpus %u", i,
				   c->max_vcpus);
	}
	return 0;
}

/* "0,1,4" */
static int parse_ids(const char *s, bool *ids)
{
	char buf[1024], *save = NULL, *tok;
	unsigned long v;

	if (strlen(s) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (stub_parse_ulong(tok, 0, STUB_MAX_CPUS - 1, &v) < 0)
			return -1;
		ids[v] = true;
	}
	return 0;
}

static error_t parse_num_opt(int key, const char *arg, struct argp_state *as,
			     struct stub_config *c)
{
	unsigned long v;

	switch (key) {
	case 'p':
		if (stub_parse_ulong(arg, 1, UPCALL_MAX_PORT, &v) < 0)
			argp_error(as, "bad --port '%s' (1..%d)", arg, UPCALL_MAX_PORT);
		c->port = (__u32)v;
		return 0;
	case 'b':
		if (stub_parse_ulong(arg, 1, STUB_MAX_CPUS, &v) < 0)
			argp_error(as, "bad --boot-vcpus '%s' (1..%d)", arg, STUB_MAX_CPUS);
		c->boot_vcpus = (unsigned int)v;
		return 0;
	case 'm':
		if (stub_parse_ulong(arg, 1, STUB_MAX_CPUS, &v) < 0)
			argp_error(as, "bad --max-vcpus '%s' (1..%d)", arg, STUB_MAX_CPUS);
		c->max_vcpus = (unsigned int)v;
		return 0;
	case OPT_BLOCK_SIZE:
		if (parse_size(arg, &c->block_size) < 0 || c->block_size < 4096 ||
		    (c->block_size & (c->block_size - 1)))
			argp_error(as, "bad --block-size '%s' (a power of two >= 4K)", arg);
		return 0;
	case OPT_MISSING_VCPU_WAIT:
		if (stub_parse_ulong(arg, 0, 3600000, &v) < 0)
			argp_error(as, "bad --missing-vcpu-wait '%s' (0..3600000 ms)", arg);
		c->missing_vcpu_ms = (unsigned int)v;
		return 0;
	case OPT_VMM_VCPUS:
		memset(c->vmm_vcpus, 0, sizeof(c->vmm_vcpus));
		if (parse_ids(arg, c->vmm_vcpus) < 0)
			argp_error(as, "bad --vmm-vcpus '%s' (APIC IDs 0..%d, e.g. 0,1)", arg,
				   STUB_MAX_CPUS - 1);
		c->vmm_vcpus_set = true;
		return 0;
	}
	return ARGP_ERR_UNKNOWN;
}

static error_t parse_opt(int key, char *arg, struct argp_state *as)
{
	struct stub *st = as->input;
	struct stub_config *c = &st->cfg;
	char err[128];

	switch (key) {
	case 's': c->socket_path = arg; return 0;
	case OPT_QMP: c->qmp_path = arg; return 0;
	case 'P': c->pid_file = arg; return 0;
	case 'S': c->state_file = arg; return 0;
	case 'F': return 0;
	case 'v': c->verbose++; return 0;
	case OPT_NO_QUERY: c->no_query = true; return 0;
	case OPT_UPSTREAM: c->upstream = true; return 0;
	case 'a':
		if (parse_arch(arg, &c->arch) < 0)
			argp_error(as, "bad --arch '%s' (x86_64 or aarch64)", arg);
		return 0;
	case OPT_PCI:
		if (parse_pci(arg, &st->state) < 0)
			argp_error(as, "bad --pci '%s' (BB:DD.F, hex)", arg);
		return 0;
	case 'f':
		if (stub_fault_parse(&c->faults, arg, err, sizeof(err)) < 0)
			argp_error(as, "%s", err);
		return 0;
	case ARGP_KEY_ARG:
		argp_error(as, "unexpected argument '%s'", arg);
		return 0;
	case ARGP_KEY_END:
		return check_config(as, c);
	}
	return parse_num_opt(key, arg, as, c);
}

int stub_parse_args(struct stub *st, int argc, char **argv)
{
	static const struct argp argp = { options, parse_opt, NULL, doc, NULL, NULL, NULL };

	argp_err_exit_status = STUB_EXIT_USAGE;
	st->cfg.port = UPCALL_DEFAULT_PORT;
	st->cfg.arch = STUB_ARCH_X86_64;
	st->cfg.boot_vcpus = 1;
	st->cfg.max_vcpus = 8;
	st->cfg.block_size = 128ULL << 20;
	st->cfg.missing_vcpu_ms = STUB_MISSING_VCPU_MS;
	return argp_parse(&argp, argc, argv, 0, NULL, st) ? -1 : 0;
}

/* ---- start-up and the accept loop --------------------------------------- */

static int write_pid_file(struct stub *st)
{
	const char *path = st->cfg.pid_file;
	char *tmp = NULL;
	FILE *f;
	int ok;

	if (!path)
		return 0;
	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return -1;
	f = fopen(tmp, "we");
	ok = f && fprintf(f, "%ld\n", (long)getpid()) > 0;
	if (f && fclose(f) != 0)
		ok = 0;
	if (ok && rename(tmp, path) == 0) {
		st->pid_written = true;
	} else {
		fprintf(stderr, "upcall-stub: cannot write pid file %s: %s\n", path,
			strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	return st->pid_written ? 0 : -1;
}

/* Block the signals we handle (inherited by every thread); a signalfd for them. */
static int setup_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC);
}

/* Read one signal; true when it asks us to stop. */
static bool handle_signal(struct stub *st, int sfd)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return false;
	if (si.ssi_signo == SIGUSR1) {
		pthread_mutex_lock(&st->lock);
		stub_state_write(st);
		pthread_mutex_unlock(&st->lock);
		return false;
	}
	stub_log(st, "signal %u: shutting down\n", si.ssi_signo);
	return true;
}

static void accept_one(struct stub *st, int listen_fd, bool qmp)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
			stub_sleep_ms(st, 100);	/* don't spin */
		return;
	}
	stub_log(st, "%sconnection accepted\n", qmp ? "QMP " : "");
	stub_conn_start(st, fd, qmp);
}

static void accept_loop(struct stub *st, int sfd)
{
	struct pollfd p[3] = {
		{ .fd = sfd, .events = POLLIN },
		{ .fd = st->listen_fd, .events = POLLIN },
		{ .fd = st->qmp_fd, .events = POLLIN },	/* ignored when -1 */
	};

	for (;;) {
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("upcall-stub: poll");
			return;
		}
		if (p[0].revents && handle_signal(st, sfd))
			return;
		if (p[1].revents)
			accept_one(st, st->listen_fd, false);
		if (p[2].revents)
			accept_one(st, st->qmp_fd, true);
		stub_conn_reap(st, false);
	}
}

static int setup(struct stub *st)
{
	int pfd[2];

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		perror("upcall-stub: pipe");
		return -1;
	}
	st->stop_rd = pfd[0];
	st->stop_wr = pfd[1];
	stub_state_init(st);
	if (stub_state_write(st) < 0)
		return -1;
	st->listen_fd = stub_listen(st->cfg.socket_path, &st->sock_dev, &st->sock_ino);
	if (st->listen_fd < 0)
		return -1;
	if (st->cfg.qmp_path &&
	    (st->qmp_fd = stub_listen(st->cfg.qmp_path, &st->qmp_dev, &st->qmp_ino)) < 0)
		return -1;
	if (write_pid_file(st) < 0)
		return -1;
	stub_log(st, "listening on %s\n", st->cfg.socket_path);
	if (st->cfg.qmp_path)
		stub_log(st, "QMP on %s\n", st->cfg.qmp_path);
	return 0;
}

static void teardown(struct stub *st, int sfd)
{
	if (st->listen_fd >= 0)
		close(st->listen_fd);
	if (st->qmp_fd >= 0)
		close(st->qmp_fd);
	stub_unlink_socket(st->cfg.socket_path, st->sock_dev, &st->sock_ino);
	if (st->cfg.qmp_path)
		stub_unlink_socket(st->cfg.qmp_path, st->qmp_dev, &st->qmp_ino);
	if (st->pid_written)
		unlink(st->cfg.pid_file);
	if (st->stop_wr >= 0)
		close(st->stop_wr);	/* wakes every sleeping connection */
	stub_conn_reap(st, true);
	if (st->stop_rd >= 0)
		close(st->stop_rd);
	if (sfd >= 0)
		close(sfd);
	pthread_mutex_destroy(&st->lock);
}

int main(int argc, char **argv)
{
	struct stub st = { 0 };
	int sfd, rc = STUB_EXIT_OK;

	st.listen_fd = st.qmp_fd = st.stop_rd = st.stop_wr = -1;
	pthread_mutex_init(&st.lock, NULL);
	if (stub_parse_args(&st, argc, argv) < 0)
		return STUB_EXIT_USAGE;
	sfd = setup_signals();
	if (sfd < 0) {
		perror("upcall-stub: signals");
		rc = STUB_EXIT_OSERR;
	} else if (setup(&st) < 0) {
		rc = STUB_EXIT_OSERR;
	} else {
		accept_loop(&st, sfd);
	}
	teardown(&st, sfd);
	return rc;
}
