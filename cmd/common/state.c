// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Per-VM state records: locked with flock on NAME.lock (which says who
 * holds it, and is removed by its holder), read and written as NAME.yaml
 * (temp file, fsync, rename, fsync of the directory), never through a
 * symlink.  The record names the endpoint instance it was written for,
 * so a restarted VM is noticed instead of trusted.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <yaml.h>

#include "cancel.h"
#include "clock.h"
#include "error.h"
#include "inventory.h"
#include "parse.h"
#include "state.h"

static int state_dir(struct ucerr *e, char *dir, size_t len)
{
	const char *env = getenv("UPCALL_STATE_DIR"), *xdg = getenv("XDG_RUNTIME_DIR");

	if (env && *env)
		snprintf(dir, len, "%s", env);
	else if (geteuid() == 0)
		snprintf(dir, len, "%s", STATE_DIR_ROOT);
	else if (xdg && *xdg)
		snprintf(dir, len, "%s/upcall", xdg);
	else
		return ucerr_set(e, EXIT_OSERR, 0,
				 "no state directory: XDG_RUNTIME_DIR is not set (set it or UPCALL_STATE_DIR)");
	return EXIT_DONE;
}

static int open_dir(struct vm_record *r, const char *dir)
{
	struct stat st;
	int err;

	if (mkdir(dir, 0700) < 0 && (err = errno) != EEXIST)
		return ucerr_set(&r->error, EXIT_OSERR, err, "cannot create state directory %s: %s",
				 dir, strerror(err));
	r->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r->dirfd < 0) {
		err = errno;
		return ucerr_set(&r->error, EXIT_OSERR, err, "state directory %s: %s%s", dir,
				 strerror(err), err == ELOOP || err == ENOTDIR ?
				 " (refusing a symlink or non-directory)" : "");
	}
	if (fstat(r->dirfd, &st) < 0) {
		err = errno;
		return ucerr_set(&r->error, EXIT_OSERR, err, "state directory %s: %s", dir,
				 strerror(err));
	}
	if (st.st_uid != geteuid())
		return ucerr_set(&r->error, EXIT_OSERR, 0,
				 "state directory %s is owned by uid %u, not by you; refusing to use it",
				 dir, (unsigned int)st.st_uid);
	if (st.st_mode & 077)
		return ucerr_set(&r->error, EXIT_OSERR, 0,
				 "state directory %s is open to others (mode %04o); refusing to use it (chmod 700 %s)",
				 dir, (unsigned int)(st.st_mode & 07777), dir);
	return EXIT_DONE;
}

static long long now_ms(void)
{
	return (long long)(now_ns() / 1000000);
}

/* --- the per-VM lock --- */

/*
 * A VM's lock is two locks on NAME.lock: the flock, held from reading the
 * record to writing it back (what flock(1) and older tools take), and a
 * one-byte OFD lock, the turnstile, that a newcomer passes before it may
 * take the flock and keeps while it waits for it.  A holder that lets go
 * and comes straight back therefore queues behind the waiter that was
 * there first, instead of taking the flock again before the waiter wakes.
 * Waiters in the turnstile are woken by the kernel; none polls.
 */
enum lock_kind { LOCK_FLOCK, LOCK_TURNSTILE };

static int lock_try(int fd, enum lock_kind kind, bool wait)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };

	if (kind == LOCK_FLOCK)
		return flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) == 0 ? 0 : -errno;
	if (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) == 0)
		return 0;
	return errno == EACCES || errno == EAGAIN ? -EWOULDBLOCK : -errno;
}

static void turnstile_leave(int fd)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };

	fcntl(fd, F_OFD_SETLK, &fl);
}

struct lock_waiter {
	int fd;		/* a dup of the lock file's descriptor: one open file */
	int efd;	/* a dup of the waiting thread's eventfd */
	enum lock_kind kind;
};

/*
 * Blocks in the kernel on the shared open file, so the lock is handed over
 * the moment it is released, with no polling.  It owns its dups: a waiter
 * that gave up closed its own, so a lock granted late dies with the last
 * descriptor, here.
 */
static void *lock_waiter(void *data)
{
	struct lock_waiter *w = data;
	int rc;

	while ((rc = lock_try(w->fd, w->kind, true)) == -EINTR)
		;
	eventfd_write(w->efd, rc == 0 ? 1 : 2 + (eventfd_t)-rc);
	close(w->fd);
	close(w->efd);
	free(w);
	return NULL;
}

/*
 * Wait for the lock @kind on @fd until @deadline (ms, CLOCK_MONOTONIC) or
 * Ctrl-C, in a thread: the kernel's wait has no deadline of its own, and a
 * signal to cut it short would reach every thread of a fleet run.
 * Returns 0 held, -ETIMEDOUT, -ECANCELED or -errno.
 */
static int lock_until(int fd, enum lock_kind kind, long long deadline)
{
	struct lock_waiter *w = calloc(1, sizeof(*w));
	int efd = eventfd(0, EFD_CLOEXEC), err = 0;
	struct pollfd p[2] = { { .fd = efd, .events = POLLIN },
			       { .fd = cancel_fd(), .events = POLLIN } };
	pthread_attr_t attr;
	pthread_t tid;
	eventfd_t v = 0;

	if (w)
		w->fd = w->efd = -1;
	if (!w || efd < 0)
		goto fail;
	w->kind = kind;
	w->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	w->efd = fcntl(efd, F_DUPFD_CLOEXEC, 0);
	if (w->fd < 0 || w->efd < 0 || pthread_attr_init(&attr))
		goto fail;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&tid, &attr, lock_waiter, w);
	pthread_attr_destroy(&attr);
	if (err)
		goto fail;
	for (;;) {
		long long left = deadline - now_ms();
		int n = poll(p, p[1].fd >= 0 ? 2 : 1, left > 0 ? (int)left : 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0 && (p[0].revents & POLLIN) && eventfd_read(efd, &v) == 0)
			break;
		err = n < 0 ? errno : (n > 0 && p[1].revents) ? ECANCELED : ETIMEDOUT;
		break;
	}
	close(efd);
	return v == 1 ? 0 : v > 1 ? -(int)(v - 2) : -err;
fail:
	err = err ? err : errno;
	if (w && w->fd >= 0)
		close(w->fd);
	if (w && w->efd >= 0)
		close(w->efd);
	free(w);
	if (efd >= 0)
		close(efd);
	return -err;
}

/* What the holder writes into the lock file: "TOOL PID SINCE COMMAND\n". */
static void lock_say_holder(struct vm_record *r)
{
	char buf[LOCK_INFO_MAX], cmd[LOCK_INFO_MAX - 96];
	ssize_t n = 0;
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
	}
	n = n > 0 ? n : 0;
	cmd[n] = '\0';
	for (ssize_t i = 0; i < n; i++)	/* argv joined, one line, printable */
		if (!cmd[i] || cmd[i] == '\n' || (unsigned char)cmd[i] < ' ')
			cmd[i] = i + 1 < n ? ' ' : '\0';
	n = snprintf(buf, sizeof(buf), "%s %ld %lld %s\n", r->opts.prog, (long)getpid(),
		     (long long)time(NULL), *cmd ? cmd : r->opts.prog);
	if (ftruncate(r->lockfd, 0) == 0 && n > 0)
		(void)!pwrite(r->lockfd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1, 0);
}

/* "memctl (pid 42, since 05:01:02 UTC, 3 s ago) running 'memctl ...'" */
static void lock_holder(int fd, char *out, size_t len)
{
	char buf[LOCK_INFO_MAX], tool[64], when[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long long since, ago;
	struct tm tm;
	time_t t;
	long pid;
	int off = 0;

	snprintf(out, len, "another operation holds its lock");
	if (n <= 0)
		return;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (sscanf(buf, "%63s %ld %lld %n", tool, &pid, &since, &off) != 3 || !off)
		return;
	t = (time_t)since;
	ago = (long long)time(NULL) - since;
	if (!gmtime_r(&t, &tm) || !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(when, sizeof(when), "%lld", since);
	snprintf(out, len, "%s (pid %ld) holds it since %s (%lld s ago), running '%s'", tool, pid,
		 when, ago > 0 ? ago : 0, buf + off);
}

/* Is @fd still the file named NAME.lock?  Its last holder may have removed it. */
static bool lock_linked(const struct vm_record *r, int fd)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 &&
	       fstatat(r->dirfd, r->lockname, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int lock_get(int fd, enum lock_kind kind, long long deadline)
{
	int rc = lock_try(fd, kind, false);

	return rc == -EWOULDBLOCK ? lock_until(fd, kind, deadline) : rc;
}

/* Tell at once who holds a busy VM; with --no-wait, that is all. */
static int lock_busy(struct vm_record *r)
{
	char who[LOCK_INFO_MAX + 128];

	lock_holder(r->lockfd, who, sizeof(who));
	if (r->opts.no_wait)
		return ucerr_set(&r->error, EXIT_BUSY, 0,
				 "VM %s is busy: %s; not waiting (--no-wait)", r->e->label, who);
	fprintf(r->opts.notices, "%s: VM %s is busy: %s; waiting up to %lld s for it\n",
		r->opts.prog, r->e->label, who,
		(LOCK_WAIT_TIMEOUTS * (long long)r->opts.timeout_ms + 999) / 1000);
	fflush(r->opts.notices);
	return EXIT_DONE;
}

/*
 * Take the VM's lock: at once, or (unless --no-wait) by a blocking wait of
 * at most LOCK_WAIT_TIMEOUTS timeouts, saying at once who holds it.  The
 * last holder removes the file, so a lock taken on a file that was removed
 * meanwhile is dropped and taken again on the new one.
 */
static int take_lock(struct vm_record *r)
{
	long long deadline = now_ms() + LOCK_WAIT_TIMEOUTS * (long long)r->opts.timeout_ms;
	bool told = false;
	struct stat st;
	int rc;

	snprintf(r->lockname, sizeof(r->lockname), "%s.lock", r->e->name);
	for (;;) {
		r->lockfd = openat(r->dirfd, r->lockname,
				   O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (r->lockfd < 0 || fstat(r->lockfd, &st) < 0) {
			int err = errno;

			return ucerr_set(&r->error, EXIT_OSERR, err,
					 "lock file %s in the state directory: %s", r->lockname,
					 strerror(err));
		}
		if (!S_ISREG(st.st_mode))
			return ucerr_set(&r->error, EXIT_OSERR, 0,
					 "lock file %s in the state directory: not a regular file",
					 r->lockname);
		if (!told && (lock_try(r->lockfd, LOCK_TURNSTILE, false) ||
			      lock_try(r->lockfd, LOCK_FLOCK, false))) {
			told = true;
			if ((rc = lock_busy(r)))
				return rc;
		}
		rc = lock_get(r->lockfd, LOCK_TURNSTILE, deadline);
		if (!rc)
			rc = lock_get(r->lockfd, LOCK_FLOCK, deadline);
		if (rc == -ETIMEDOUT)
			return ucerr_set(&r->error, EXIT_TIMEOUT, ETIMEDOUT,
					 "timed out waiting for the lock on VM %s: another operation on it is still running",
					 r->e->label);
		if (rc == -ECANCELED)
			return ucerr_set(&r->error, EXIT_CANCELLED, ECANCELED,
					 "interrupted waiting for the lock on VM %s", r->e->label);
		if (rc)
			return ucerr_set(&r->error, EXIT_OSERR, -rc,
					 "cannot lock the record of VM %s: %s", r->e->label,
					 strerror(-rc));
		turnstile_leave(r->lockfd);	/* the next waiter queues for the flock */
		if (lock_linked(r, r->lockfd))
			break;
		close(r->lockfd);	/* removed by the holder we waited for */
		r->lockfd = -1;
	}
	r->locked = true;
	lock_say_holder(r);
	return EXIT_DONE;
}

/*
 * Let go.  Unless someone queues in the turnstile (it then goes on with
 * this file), the file is removed first: no lock file is left behind.
 */
static void drop_lock(struct vm_record *r)
{
	if (r->lockfd < 0)
		return;
	if (r->locked && r->dirfd >= 0 && lock_try(r->lockfd, LOCK_TURNSTILE, false) == 0 &&
	    lock_linked(r, r->lockfd))
		unlinkat(r->dirfd, r->lockname, 0);
	if (r->locked)
		flock(r->lockfd, LOCK_UN);
	close(r->lockfd);
	r->lockfd = -1;
	r->locked = false;
}

/* --- which VM instance a record is about --- */

/* " dev=D ino=I born=S.N" (or mtime=, where the file system keeps no birth time) */
static int file_identity(const char *path, const char *prefix, char *buf, size_t len)
{
	struct statx sx;

	if (!path[0] || statx(AT_FDCWD, path, 0, STATX_INO | STATX_BTIME | STATX_MTIME, &sx) < 0)
		return -1;
	snprintf(buf, len, " %sdev=%ju %sino=%ju %s%s=%lld.%09u", prefix,
		 (uintmax_t)makedev(sx.stx_dev_major, sx.stx_dev_minor), prefix,
		 (uintmax_t)sx.stx_ino, prefix, sx.stx_mask & STATX_BTIME ? "born" : "mtime",
		 (long long)(sx.stx_mask & STATX_BTIME ? sx.stx_btime.tv_sec : sx.stx_mtime.tv_sec),
		 sx.stx_mask & STATX_BTIME ? sx.stx_btime.tv_nsec : sx.stx_mtime.tv_nsec);
	return 0;
}

/*
 * What changes when the VMM restarts, and nothing else does: the socket
 * file's device, inode and birth time (a chmod, chown, ACL, link or rename
 * keeps them; a new inode reusing the number is born later).  A vsock CID
 * stays when its VM restarts: there, the VMM's control socket is the
 * host's only witness; without one a restart goes unnoticed (a guest that
 * answers queries corrects the record anyway).
 */
static void endpoint_identity(const struct vm_entry *e, char *buf, size_t len)
{
	char f[160] = "";

	buf[0] = '\0';
	if (e->target.transport == UPCALL_TRANSPORT_VSOCK) {
		if (e->vmm_path[0])
			file_identity(e->vmm_path, "vmm-", f, sizeof(f));
		snprintf(buf, len, "vsock cid=%u%s", e->target.cid, f);
	} else if (file_identity(e->target.path, "", f, sizeof(f)) == 0) {
		snprintf(buf, len, "unix%s", f);
	}
}

/* The value of " KEY=" in @id, or NULL; the first word's "kind:rest" is cid= for vsock. */
static bool id_field(const char *id, const char *key, char *val, size_t len)
{
	size_t k = strlen(key);

	if (!strcmp(key, "cid") && !strncmp(id, "vsock:", 6)) {	/* older records */
		snprintf(val, len, "%.*s", (int)strspn(id + 6, "0123456789"), id + 6);
		return true;
	}
	for (const char *p = strchr(id, ' '); p; p = strchr(p + 1, ' '))
		if (!strncmp(p + 1, key, k) && p[1 + k] == '=') {
			snprintf(val, len, "%.*s", (int)strcspn(p + 2 + k, " "), p + 2 + k);
			return true;
		}
	return false;
}

/*
 * Is the record's identity @old that of the endpoint @now?  Fields both
 * name must agree; a field only one names (a record written before it
 * was kept) is no evidence either way.  The change time older records
 * kept is ignored: a chmod changes it.
 */
static bool same_instance(const char *old, const char *now)
{
	static const char *const keys[] = { "cid", "dev", "ino", "born", "mtime",
					     "vmm-dev", "vmm-ino", "vmm-born", "vmm-mtime", NULL };
	size_t ko = strcspn(old, ": "), kn = strcspn(now, ": ");
	char a[64], b[64];

	if (ko != kn || strncmp(old, now, ko))
		return false;
	for (const char *const *k = keys; *k; k++)
		if (id_field(old, *k, a, sizeof(a)) && id_field(now, *k, b, sizeof(b)) &&
		    strcmp(a, b))
			return false;
	return true;
}

static void boot_state(struct vm_record *r)
{
	memset(&r->st, 0, sizeof(r->st));
	r->st.ncpus = vm_boot_ids(r->e, r->st.cpus);
	state_cpus_set(&r->st, r->st.cpus, r->st.ncpus);	/* sorts */
}

/* --- reading --- */

struct rec_parse {
	const char *path;
	yaml_document_t *doc;
	char *err;
	size_t errlen;
};

static int rec_fail(struct rec_parse *p, const yaml_node_t *n, const char *what)
{
	snprintf(p->err, p->errlen, "%s:%zu:%zu: %s", p->path, n->start_mark.line + 1,
		 n->start_mark.column + 1, what);
	return -1;
}

static int rec_u64(struct rec_parse *p, const yaml_node_t *n, uint64_t max, uint64_t *v)
{
	char err[160];

	if (n->type != YAML_SCALAR_NODE ||
	    parse_u64((const char *)n->data.scalar.value, v, err, sizeof(err)) || *v > max)
		return rec_fail(p, n, "expected a number");
	return 0;
}

static int rec_cpus(struct rec_parse *p, const yaml_node_t *n, struct vm_state *st)
{
	uint8_t ids[UPCALL_MAX_APIC_IDS];
	unsigned int count = 0;
	uint64_t v;

	if (n->type != YAML_SEQUENCE_NODE)
		return rec_fail(p, n, "cpus: expected a list of IDs");
	for (yaml_node_item_t *i = n->data.sequence.items.start;
	     i < n->data.sequence.items.top; i++) {
		if (count == UPCALL_MAX_APIC_IDS ||
		    rec_u64(p, yaml_document_get_node(p->doc, *i), 255, &v))
			return -1;
		ids[count++] = (uint8_t)v;
	}
	state_cpus_set(st, ids, count);
	return 0;
}

static int rec_range(struct rec_parse *p, const yaml_node_t *n, struct vm_state *st)
{
	uint64_t base = 0, size = 0;
	int seen = 0;

	if (n->type != YAML_MAPPING_NODE)
		return rec_fail(p, n, "memory: expected {base, size}");
	for (yaml_node_pair_t *a = n->data.mapping.pairs.start;
	     a < n->data.mapping.pairs.top; a++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, a->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, a->value);
		const char *ks = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";
		bool is_base = !strcmp(ks, "base");

		if (!is_base && strcmp(ks, "size"))
			return rec_fail(p, k, "memory: unknown key");
		if (rec_u64(p, v, UINT64_MAX, is_base ? &base : &size))
			return -1;
		seen |= is_base ? 1 : 2;
	}
	/* A range past 2^64 would defeat every overlap check after it. */
	if (seen != 3 || !size || base + size < base || state_mem_add(st, base, size) < 0)
		return rec_fail(p, n, "memory: bad or overlapping range");
	return 0;
}

static int rec_ids(struct rec_parse *p, const yaml_node_t *n, uint8_t *ids, unsigned int *count)
{
	uint64_t v;

	*count = 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return rec_fail(p, n, "expected a list of IDs");
	for (yaml_node_item_t *i = n->data.sequence.items.start;
	     i < n->data.sequence.items.top; i++) {
		if (*count == UPCALL_MAX_APIC_IDS ||
		    rec_u64(p, yaml_document_get_node(p->doc, *i), 255, &v))
			return -1;
		ids[(*count)++] = (uint8_t)v;
	}
	return 0;
}

static int rec_dimm(struct rec_parse *p, const yaml_node_t *n, struct vmm_dimm *d)
{
	int seen = 0;

	memset(d, 0, sizeof(*d));
	d->dimm = true;
	if (n->type != YAML_MAPPING_NODE)
		return rec_fail(p, n, "vmm.dimms: expected {id, base, size}");
	for (yaml_node_pair_t *a = n->data.mapping.pairs.start;
	     a < n->data.mapping.pairs.top; a++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, a->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, a->value);
		const char *ks = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";

		if (!strcmp(ks, "id") && v->type == YAML_SCALAR_NODE &&
		    v->data.scalar.length < sizeof(d->id)) {
			memcpy(d->id, v->data.scalar.value, v->data.scalar.length);
			seen |= 1;
		} else if (!strcmp(ks, "base") || !strcmp(ks, "size")) {
			if (rec_u64(p, v, UINT64_MAX, ks[0] == 'b' ? &d->base : &d->size))
				return -1;
			seen |= ks[0] == 'b' ? 2 : 4;
		} else {
			return rec_fail(p, k, "vmm.dimms: unknown key or bad id");
		}
	}
	if (seen != 7 || !d->size || d->base + d->size < d->base)
		return rec_fail(p, n, "vmm.dimms: bad entry");
	return 0;
}

/* vmm: {vcpus: [...], dimms: [{id, base, size}, ...]} */
static int rec_vmm(struct rec_parse *p, const yaml_node_t *n, struct vm_state *st)
{
	struct vmm_dimm d[VMM_MAX_DIMMS];
	uint8_t ids[UPCALL_MAX_APIC_IDS];
	unsigned int nids = 0, nd = 0;
	bool cpus = false, dimms = false;

	if (n->type != YAML_MAPPING_NODE)
		return rec_fail(p, n, "vmm: expected {vcpus, dimms}");
	for (yaml_node_pair_t *a = n->data.mapping.pairs.start;
	     a < n->data.mapping.pairs.top; a++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, a->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, a->value);
		const char *ks = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";

		if (!strcmp(ks, "vcpus")) {
			if (rec_ids(p, v, ids, &nids))
				return -1;
			cpus = true;
		} else if (!strcmp(ks, "dimms") && v->type == YAML_SEQUENCE_NODE) {
			dimms = true;
			for (yaml_node_item_t *i = v->data.sequence.items.start;
			     i < v->data.sequence.items.top; i++) {
				if (nd == VMM_MAX_DIMMS)
					return rec_fail(p, v, "vmm.dimms: too many");
				if (rec_dimm(p, yaml_document_get_node(p->doc, *i), &d[nd++]))
					return -1;
			}
		} else {
			return rec_fail(p, k, "vmm: unknown key, or dimms is not a list");
		}
	}
	if (cpus)
		state_vmm_cpus(st, ids, nids);
	if (dimms)
		state_vmm_dimms(st, d, nd);
	for (unsigned int i = 1; i < st->nvmm_dimms; i++)
		if (st->vmm_dimms[i - 1].base + st->vmm_dimms[i - 1].size > st->vmm_dimms[i].base)
			return rec_fail(p, n, "vmm.dimms: overlapping ranges");
	return 0;
}

/* uncertain: [IDs], optional: older records have none */
static int rec_uncertain(struct rec_parse *p, const yaml_node_t *n, struct vm_state *st)
{
	uint8_t ids[UPCALL_MAX_APIC_IDS];
	unsigned int count;

	if (rec_ids(p, n, ids, &count))
		return -1;
	st->nuncertain = 0;
	state_uncertain_add(st, ids, count);
	return 0;
}

static void rec_string(const yaml_node_t *v, char *buf, size_t len)
{
	if (v->type == YAML_SCALAR_NODE)
		snprintf(buf, len, "%s", (const char *)v->data.scalar.value);
}

static int rec_fields(struct rec_parse *p, struct vm_state *st)
{
	yaml_node_t *root = yaml_document_get_root_node(p->doc);

	if (!root || root->type != YAML_MAPPING_NODE)
		return rec_fail(p, root ? root : &(yaml_node_t){ 0 }, "not a state record");
	for (yaml_node_pair_t *a = root->data.mapping.pairs.start;
	     a < root->data.mapping.pairs.top; a++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, a->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, a->value);
		const char *ks = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";

		if (!strcmp(ks, "cpus") && rec_cpus(p, v, st))
			return -1;
		if (!strcmp(ks, "vmm") && rec_vmm(p, v, st))
			return -1;
		if (!strcmp(ks, "uncertain") && rec_uncertain(p, v, st))
			return -1;
		if (!strcmp(ks, "memory") && v->type != YAML_SEQUENCE_NODE)
			return rec_fail(p, v, "memory: expected a list");
		if (!strcmp(ks, "memory"))
			for (yaml_node_item_t *i = v->data.sequence.items.start;
			     i < v->data.sequence.items.top; i++)
				if (rec_range(p, yaml_document_get_node(p->doc, *i), st))
					return -1;
		if (!strcmp(ks, "identity"))
			rec_string(v, st->identity, sizeof(st->identity));
		if (!strcmp(ks, "pending"))
			rec_string(v, st->pending, sizeof(st->pending));
	}
	return 0;
}

/* 1 read, 0 no record, -1 unreadable (message in @err). */
static int read_record(struct vm_record *r, struct vm_state *st, char *err, size_t errlen)
{
	struct rec_parse p = { .path = r->path, .err = err, .errlen = errlen };
	const char *why = NULL;	/* the record cannot be opened */
	char name[VM_NAME_MAX + 8];
	yaml_parser_t parser;
	yaml_document_t doc;
	struct stat sb;
	int fd, rc = -1;
	FILE *f = NULL;

	snprintf(name, sizeof(name), "%s.yaml", r->e->name);
	fd = openat(r->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || fstat(fd, &sb) < 0)
		why = strerror(errno);
	else if (!S_ISREG(sb.st_mode))
		why = "not a regular file";
	else if (!(f = fdopen(fd, "r")))
		why = strerror(errno);
	if (why) {
		snprintf(err, errlen, "%s: %s", r->path, why);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	memset(st, 0, sizeof(*st));
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: out of memory", r->path);
		fclose(f);
		return -1;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "%s:%zu:%zu: %s", r->path, parser.problem_mark.line + 1,
			 parser.problem_mark.column + 1,
			 parser.problem ? parser.problem : "malformed YAML");
	} else {
		p.doc = &doc;
		rc = rec_fields(&p, st) ? -1 : 1;
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	fclose(f);
	return rc;
}

void state_format_ids(const uint8_t *ids, unsigned int n, char *buf, size_t len)
{
	if (n)
		format_id_list(ids, n, buf, len);
	else
		snprintf(buf, len, "none");
}

int record_open(struct vm_record *r, const struct record_opts *o, const struct vm_entry *e,
		bool reseed)
{
	char dir[PATH_MAX - VM_NAME_MAX - 8], err[PATH_MAX + 200], ids[ID_LIST_MAX];
	int rc;

	memset(r, 0, sizeof(*r));
	r->opts = *o;
	r->e = e;
	r->dirfd = r->lockfd = -1;
	if ((rc = state_dir(&r->error, dir, sizeof(dir))) || (rc = open_dir(r, dir)) ||
	    (rc = take_lock(r)))
		return rc;
	snprintf(r->path, sizeof(r->path), "%s/%s.yaml", dir, r->e->name);
	endpoint_identity(r->e, r->identity, sizeof(r->identity));
	rc = read_record(r, &r->st, err, sizeof(err));
	if (rc < 0) {
		/* a guest that answers queries can stand in for it: see record_refresh() */
		snprintf(r->unreadable, sizeof(r->unreadable), "%s", err);
		if (!reseed)
			fprintf(o->notices, "%s: notice: unreadable state record %s\n", o->prog, err);
	}
	if (rc > 0 && *r->st.identity && *r->identity &&
	    !same_instance(r->st.identity, r->identity)) {
		boot_state(r);
		state_format_ids(r->st.cpus, r->st.ncpus, ids, sizeof(ids));
		fprintf(o->notices,
			"%s: notice: VM %s was restarted or replaced (its endpoint changed since the record was written); starting from its boot state: vCPUs %s, no hot-added memory\n",
			o->prog, r->e->label, ids);
	} else if (rc <= 0) {
		boot_state(r);
	}
	r->saved = r->st;
	r->have_saved = rc > 0;
	return EXIT_DONE;
}

int record_refresh(struct vm_record *r, struct upcall_session *s, bool cpus,
		   bool mem)
{
	struct upcall_id_list ids;
	struct upcall_range_list ml;
	enum upcall_status st = UPCALL_OK;

	r->from_guest = false;
	if (cpus && (st = upcall_query_cpus(s, &ids)) == UPCALL_OK)
		state_cpus_set(&r->st, ids.ids, ids.count);
	if (mem && st == UPCALL_OK && (st = upcall_query_mem(s, &ml)) == UPCALL_OK) {
		r->st.nmem = 0;
		for (unsigned int i = 0; i < ml.count; i++)
			state_mem_add(&r->st, ml.ranges[i].base, ml.ranges[i].size);
	}
	if (st != UPCALL_OK && st != UPCALL_ERR_GUEST)
		return ucerr_status(&r->error, st);
	r->from_guest = (cpus || mem) && st == UPCALL_OK;
	if (*r->unreadable && !r->from_guest)
		return ucerr_set(&r->error, EXIT_OSERR, 0,
				 "unreadable state record %s, and the guest does not answer queries; re-seed it with the sync command",
				 r->unreadable);
	if (r->opts.verbose && (cpus || mem) && !r->from_guest)
		fprintf(r->opts.notices, "%s: the guest does not answer queries (%s); using the record %s\n",
			r->opts.prog, upcall_errmsg(s), r->path);
	if (r->from_guest && cpus)
		r->st.nuncertain = 0;	/* the guest said which are online */
	/* an interrupted request is settled by the answer about its kind only */
	if (r->from_guest && (strstr(r->st.pending, "vCPUs") ? cpus :
			      strstr(r->st.pending, "memory") ? mem : true))
		r->st.pending[0] = '\0';
	return EXIT_DONE;
}

/* --- writing --- */

/* Length of the valid UTF-8 sequence at @s (NUL-terminated), or 0. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c < 0xc2 || c > 0xf4)
		return 0;
	n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

void state_escape(const char *in, char *out, size_t len)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0, n;

	while (*s && o + 5 < len) {
		n = *s == '\\' || *s < ' ' || *s == 0x7f ? 0 : utf8_len(s);
		if (n) {
			memcpy(out + o, s, n);
			o += n;
			s += n;
		} else if (*s == '\\') {
			memcpy(out + o, "\\\\", 2);
			o += 2;
			s++;
		} else {
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", *s++);
		}
	}
	if (len)
		out[o < len ? o : len - 1] = '\0';
}


static int emit(yaml_emitter_t *em, yaml_event_t *ev, int ok)
{
	return ok && yaml_emitter_emit(em, ev) ? 0 : -1;
}

static int emit_scalar(yaml_emitter_t *em, const char *v, bool quoted)
{
	yaml_event_t ev;

	return emit(em, &ev, yaml_scalar_event_initialize(&ev, NULL, NULL,
		(yaml_char_t *)v, -1, 1, 1,
		quoted ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_PLAIN_SCALAR_STYLE));
}

static int emit_pair(yaml_emitter_t *em, const char *k, const char *v, bool quoted)
{
	return emit_scalar(em, k, false) || emit_scalar(em, v, quoted) ? -1 : 0;
}

static int emit_seq(yaml_emitter_t *em, bool start, bool flow)
{
	yaml_event_t ev;

	if (!start)
		return emit(em, &ev, yaml_sequence_end_event_initialize(&ev));
	return emit(em, &ev, yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
		flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE));
}

static int emit_map(yaml_emitter_t *em, bool start, bool flow)
{
	yaml_event_t ev;

	if (!start)
		return emit(em, &ev, yaml_mapping_end_event_initialize(&ev));
	return emit(em, &ev, yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
		flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE));
}

static int emit_vmm(yaml_emitter_t *em, const struct vm_state *st)
{
	char buf[64], size[32];
	int rc;

	if (!st->vmm_cpus_seen && !st->vmm_dimms_seen)
		return 0;
	rc = emit_scalar(em, "vmm", false) || emit_map(em, true, false);
	if (!rc && st->vmm_cpus_seen) {
		rc = emit_scalar(em, "vcpus", false) || emit_seq(em, true, true);
		for (unsigned int i = 0; !rc && i < st->nvmm_cpus; i++) {
			snprintf(buf, sizeof(buf), "%u", st->vmm_cpus[i]);
			rc = emit_scalar(em, buf, false);
		}
		rc = rc || emit_seq(em, false, true);
	}
	if (rc || !st->vmm_dimms_seen)
		return rc || emit_map(em, false, false) ? -1 : 0;
	rc = emit_scalar(em, "dimms", false) || emit_seq(em, true, false);
	for (unsigned int i = 0; !rc && i < st->nvmm_dimms; i++) {
		snprintf(buf, sizeof(buf), "0x%" PRIx64, st->vmm_dimms[i].base);
		snprintf(size, sizeof(size), "0x%" PRIx64, st->vmm_dimms[i].size);
		rc = emit_map(em, true, true) || emit_pair(em, "id", st->vmm_dimms[i].id, true) ||
		     emit_pair(em, "base", buf, false) || emit_pair(em, "size", size, false) ||
		     emit_map(em, false, true);
	}
	return rc || emit_seq(em, false, false) || emit_map(em, false, false) ? -1 : 0;
}

static int emit_body(yaml_emitter_t *em, const struct vm_record *r)
{
	char buf[64], spec[160], target[4 * sizeof(spec)];
	int rc;

	upcall_target_format(&r->e->target, spec, sizeof(spec));
	state_escape(spec, target, sizeof(target));
	rc = emit_map(em, true, false) || emit_pair(em, "vm", r->e->name, false) ||
	     emit_pair(em, "target", target, true) ||
	     emit_pair(em, "identity", r->st.identity, true) ||
	     emit_scalar(em, "cpus", false) || emit_seq(em, true, true);
	for (unsigned int i = 0; !rc && i < r->st.ncpus; i++) {
		snprintf(buf, sizeof(buf), "%u", r->st.cpus[i]);
		rc = emit_scalar(em, buf, false);
	}
	rc = rc || emit_seq(em, false, true) || emit_scalar(em, "memory", false) ||
	     emit_seq(em, true, false);
	for (unsigned int i = 0; !rc && i < r->st.nmem; i++) {
		char size[32];

		snprintf(buf, sizeof(buf), "0x%" PRIx64, r->st.mem[i].base);
		snprintf(size, sizeof(size), "0x%" PRIx64, r->st.mem[i].size);
		rc = emit_map(em, true, true) || emit_pair(em, "base", buf, false) ||
		     emit_pair(em, "size", size, false) || emit_map(em, false, true);
	}
	rc = rc || emit_seq(em, false, false) || emit_vmm(em, &r->st);
	if (!rc && r->st.nuncertain) {
		rc = emit_scalar(em, "uncertain", false) || emit_seq(em, true, true);
		for (unsigned int i = 0; !rc && i < r->st.nuncertain; i++) {
			snprintf(buf, sizeof(buf), "%u", r->st.uncertain[i]);
			rc = emit_scalar(em, buf, false);
		}
		rc = rc || emit_seq(em, false, true);
	}
	if (!rc && *r->st.pending)
		rc = emit_pair(em, "pending", r->st.pending, true);
	return rc || emit_map(em, false, false) ? -1 : 0;
}

static int emit_record(FILE *f, const struct vm_record *r)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	int rc;

	fprintf(f, "# State record of VM %s, shared by the upcall tools.\n"
		"# Do not edit: re-seed with 'vcpuctl sync' or 'memctl sync'.\n", r->e->name);
	if (!yaml_emitter_initialize(&em))
		return -1;
	yaml_emitter_set_output_file(&em, f);
	yaml_emitter_set_unicode(&em, 1);
	rc = emit(&em, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING)) ||
	     emit(&em, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1)) ||
	     emit_body(&em, r) ||
	     emit(&em, &ev, yaml_document_end_event_initialize(&ev, 1)) ||
	     emit(&em, &ev, yaml_stream_end_event_initialize(&ev)) ? -1 : 0;
	yaml_emitter_delete(&em);
	return rc;
}

/*
 * Temp file and rename: a reader, or a writer killed at any point (kill -9
 * included: the page cache survives it), leaves the old record or the new
 * one, never half of one.  fsync() of the file before the rename and of
 * the directory after it keeps that true across a power loss, for a result
 * and for the mark of an operation in flight alike (an empty or torn
 * record, should one appear anyway, blocks nothing: see record_refresh()).
 * Each fsync costs about 0.3 ms on a disk; the default state directories
 * are tmpfs.  Returns 0 or a negative errno (-EILSEQ: the emitter failed).
 */
static int write_record(struct vm_record *r)
{
	char tmp[VM_NAME_MAX + 16], name[VM_NAME_MAX + 8];
	int fd, rc;
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.yaml.tmp", r->e->name);
	snprintf(name, sizeof(name), "%s.yaml", r->e->name);
	/* a leftover of a killed writer; we hold the lock */
	if (unlinkat(r->dirfd, tmp, 0) < 0 && errno != ENOENT)
		return -errno;
	fd = openat(r->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (emit_record(f, r))
		rc = -EILSEQ;
	else
		rc = fflush(f) || fsync(fd) ? -errno : 0;
	if (fclose(f) && !rc)
		rc = -errno;
	if (!rc && renameat(r->dirfd, tmp, r->dirfd, name) < 0)
		rc = -errno;
	if (rc) {
		unlinkat(r->dirfd, tmp, 0);
		return rc;
	}
	return fsync(r->dirfd) < 0 ? -errno : 0;
}

static bool same_dimms(const struct vm_state *a, const struct vm_state *b)
{
	for (unsigned int i = 0; i < a->nvmm_dimms; i++)
		if (strcmp(a->vmm_dimms[i].id, b->vmm_dimms[i].id) ||
		    a->vmm_dimms[i].base != b->vmm_dimms[i].base ||
		    a->vmm_dimms[i].size != b->vmm_dimms[i].size)
			return false;
	return true;
}

/* Would writing @a change a record that reads back as @b? */
static bool state_same(const struct vm_state *a, const struct vm_state *b)
{
	return a->ncpus == b->ncpus && !memcmp(a->cpus, b->cpus, a->ncpus) &&
	       a->nmem == b->nmem && !memcmp(a->mem, b->mem, a->nmem * sizeof(a->mem[0])) &&
	       a->nuncertain == b->nuncertain &&
	       !memcmp(a->uncertain, b->uncertain, a->nuncertain) &&
	       !strcmp(a->identity, b->identity) && !strcmp(a->pending, b->pending) &&
	       a->vmm_cpus_seen == b->vmm_cpus_seen && a->vmm_dimms_seen == b->vmm_dimms_seen &&
	       a->nvmm_cpus == b->nvmm_cpus && !memcmp(a->vmm_cpus, b->vmm_cpus, a->nvmm_cpus) &&
	       a->nvmm_dimms == b->nvmm_dimms && same_dimms(a, b);
}

int record_save(struct vm_record *r, const char *what)
{
	int rc;

	if (r->opts.dry_run)	/* a dry run changes no record */
		return EXIT_DONE;
	if (what && *what)	/* the mark it replaces comes back if nothing is sent */
		snprintf(r->prev_pending, sizeof(r->prev_pending), "%s", r->st.pending);
	if (what)
		snprintf(r->st.pending, sizeof(r->st.pending), "%s", what);
	if (*r->identity)	/* a socket gone keeps the identity it had */
		snprintf(r->st.identity, sizeof(r->st.identity), "%s", r->identity);
	/* a read changes nothing: the record is left as it is */
	if (r->have_saved && !*r->unreadable && state_same(&r->st, &r->saved))
		return EXIT_DONE;
	rc = write_record(r);
	if (rc == -EILSEQ)
		return ucerr_set(&r->error, EXIT_OSERR, 0,
				 "cannot write the state record %s: the YAML emitter refused it",
				 r->path);
	if (rc)
		return ucerr_set(&r->error, EXIT_OSERR, -rc,
				 "cannot write the state record %s: %s", r->path, strerror(-rc));
	r->saved = r->st;
	r->have_saved = true;
	r->unreadable[0] = '\0';
	return EXIT_DONE;
}

int record_unsent(struct vm_record *r)
{
	char prev[sizeof(r->prev_pending)];

	snprintf(prev, sizeof(prev), "%s", r->prev_pending);
	return record_save(r, prev);
}

void record_close(struct vm_record *r)
{
	drop_lock(r);
	if (r->dirfd >= 0)
		close(r->dirfd);
	r->lockfd = r->dirfd = -1;
}

/* --- set operations --- */

void state_vmm_cpus(struct vm_state *st, const uint8_t *ids, unsigned int n)
{
	bool on[UPCALL_MAX_APIC_IDS] = { false };

	for (unsigned int i = 0; i < n; i++)
		on[ids[i]] = true;
	st->nvmm_cpus = 0;
	for (unsigned int id = 0; id < UPCALL_MAX_APIC_IDS; id++)
		if (on[id])
			st->vmm_cpus[st->nvmm_cpus++] = (uint8_t)id;
	st->vmm_cpus_seen = true;
}

static int dimm_by_base(const void *a, const void *b)
{
	const struct vmm_dimm *x = a, *y = b;

	return x->base < y->base ? -1 : x->base > y->base;
}

void state_vmm_dimms(struct vm_state *st, const struct vmm_dimm *d, unsigned int n)
{
	st->nvmm_dimms = 0;
	for (unsigned int i = 0; i < n && st->nvmm_dimms < VMM_MAX_DIMMS; i++)
		if (d[i].dimm)
			st->vmm_dimms[st->nvmm_dimms++] = d[i];
	qsort(st->vmm_dimms, st->nvmm_dimms, sizeof(st->vmm_dimms[0]), dimm_by_base);
	for (unsigned int i = 0; i < st->nvmm_dimms; i++)
		st->vmm_dimms[i].ours = !strncmp(st->vmm_dimms[i].id, VMM_DIMM_PREFIX,
						 strlen(VMM_DIMM_PREFIX));
	st->vmm_dimms_seen = true;
}

void state_cpus_set(struct vm_state *st, const uint8_t *ids, unsigned int n)
{
	bool on[UPCALL_MAX_APIC_IDS] = { false };

	for (unsigned int i = 0; i < n; i++)
		on[ids[i]] = true;
	st->ncpus = 0;
	for (unsigned int id = 0; id < UPCALL_MAX_APIC_IDS; id++)
		if (on[id])
			st->cpus[st->ncpus++] = (uint8_t)id;
}

void state_uncertain_add(struct vm_state *st, const uint8_t *ids, unsigned int n)
{
	bool on[UPCALL_MAX_APIC_IDS] = { false };

	for (unsigned int i = 0; i < st->nuncertain; i++)
		on[st->uncertain[i]] = true;
	for (unsigned int i = 0; i < n; i++)
		on[ids[i]] = true;
	st->nuncertain = 0;
	for (unsigned int id = 0; id < UPCALL_MAX_APIC_IDS; id++)
		if (on[id])
			st->uncertain[st->nuncertain++] = (uint8_t)id;
}

void state_uncertain_del(struct vm_state *st, const uint8_t *ids, unsigned int n)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < st->nuncertain; i++)
		if (!memchr(ids, st->uncertain[i], n))
			st->uncertain[k++] = st->uncertain[i];
	st->nuncertain = k;
}

void state_cpus_add(struct vm_state *st, const uint8_t *ids, unsigned int n)
{
	uint8_t all[2 * UPCALL_MAX_APIC_IDS];

	memcpy(all, st->cpus, st->ncpus);
	memcpy(all + st->ncpus, ids, n);
	state_cpus_set(st, all, st->ncpus + n);
}

void state_cpus_del(struct vm_state *st, const uint8_t *ids, unsigned int n)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < st->ncpus; i++)
		if (!memchr(ids, st->cpus[i], n))
			st->cpus[k++] = st->cpus[i];
	st->ncpus = k;
}

int state_mem_overlap(const struct vm_state *st, uint64_t base, uint64_t size)
{
	for (unsigned int i = 0; i < st->nmem; i++)
		if (base < st->mem[i].base + st->mem[i].size &&
		    st->mem[i].base < base + size)
			return (int)i;
	return -1;
}

int state_mem_containing(const struct vm_state *st, uint64_t base, uint64_t size)
{
	for (unsigned int i = 0; i < st->nmem; i++)
		if (base >= st->mem[i].base &&
		    base + size <= st->mem[i].base + st->mem[i].size)
			return (int)i;
	return -1;
}

int state_mem_add(struct vm_state *st, uint64_t base, uint64_t size)
{
	unsigned int i;

	if (st->nmem == UPCALL_MAX_MEM_RANGES || state_mem_overlap(st, base, size) >= 0)
		return -1;
	for (i = st->nmem; i > 0 && st->mem[i - 1].base > base; i--)
		st->mem[i] = st->mem[i - 1];
	st->mem[i] = (struct upcall_range){ base, size };
	st->nmem++;
	return 0;
}

int state_mem_del(struct vm_state *st, uint64_t base, uint64_t size)
{
	int i = state_mem_containing(st, base, size);
	struct upcall_range r;

	if (i < 0)
		return -1;
	r = st->mem[i];
	if (r.base != base && r.base + r.size != base + size &&
	    st->nmem == UPCALL_MAX_MEM_RANGES)
		return -1;	/* a split would not fit */
	memmove(&st->mem[i], &st->mem[i + 1], (st->nmem - (unsigned int)i - 1) * sizeof(r));
	st->nmem--;
	if (r.base < base)
		state_mem_add(st, r.base, base - r.base);
	if (base + size < r.base + r.size)
		state_mem_add(st, base + size, r.base + r.size - base - size);
	return 0;
}

bool state_mem_no_room(const struct vm_state *st, bool add, uint64_t base, uint64_t size)
{
	struct vm_state after = *st;

	if (add ? state_mem_overlap(st, base, size) >= 0 : state_mem_containing(st, base, size) < 0)
		return false;
	return (add ? state_mem_add : state_mem_del)(&after, base, size) < 0;
}

int state_mem_place(const struct vm_state *st, const struct upcall_range *regions,
		    unsigned int nregions, uint64_t align, uint64_t size,
		    uint64_t *base)
{
	for (unsigned int i = 0; i < nregions; i++) {
		uint64_t end = regions[i].base + regions[i].size;
		uint64_t b = (regions[i].base + align - 1) / align * align;
		int o;

		while (b >= regions[i].base && b + size > b && b + size <= end) {
			o = state_mem_overlap(st, b, size);
			if (o < 0) {
				*base = b;
				return 0;
			}
			b = (st->mem[o].base + st->mem[o].size + align - 1) / align * align;
		}
	}
	return -1;
}
