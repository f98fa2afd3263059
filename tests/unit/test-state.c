// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The state layer's pure parts: which VM instance a record is about, how
 * a path is stored, when a record counts as unchanged, and the lock wait's
 * deadline.  state.c is compiled in: these helpers are static.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include "../../cmd/common/state.c"
#include "tap.h"

static char dir[64];

static void test_escape(void)
{
	char out[128];

	state_escape("/run/vm.sock", out, sizeof(out));
	ok(!strcmp(out, "/run/vm.sock"), "plain ASCII is kept: %s", out);
	state_escape("/run/v\xc3\xa9.sock", out, sizeof(out));
	ok(!strcmp(out, "/run/v\xc3\xa9.sock"), "valid UTF-8 is kept");
	state_escape("/run/v\xff.sock", out, sizeof(out));
	ok(!strcmp(out, "/run/v\\xff.sock"), "a byte that is not UTF-8 is \\xNN: %s", out);
	state_escape("a\\b", out, sizeof(out));
	ok(!strcmp(out, "a\\\\b"), "a backslash is doubled: %s", out);
	state_escape("\xc0\x80 \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82", out, sizeof(out));
	ok(!strcmp(out, "\\xc0\\x80 \\xed\\xa0\\x80 \\xf4\\x90\\x80\\x80 \\xe2\\x82"),
	   "overlong, surrogate, past U+10FFFF and cut sequences are escaped: %s", out);
	state_escape("tab\there", out, sizeof(out));
	ok(!strcmp(out, "tab\\x09here"), "a control character is escaped: %s", out);
	state_escape("\xff\xff\xff\xff", out, 9);
	ok(strlen(out) < 9, "the output is cut to its buffer: %s", out);
}

static void test_same_instance(void)
{
	ok(same_instance("unix dev=5 ino=7 born=3.4", "unix dev=5 ino=7 born=3.4"), "same socket");
	ok(!same_instance("unix dev=5 ino=7 born=3.4", "unix dev=5 ino=7 born=3.5"),
	   "an inode number reused by a new socket is another VM");
	ok(!same_instance("unix dev=5 ino=7 born=3.4", "unix dev=5 ino=8 born=3.4"),
	   "another inode is another VM");
	ok(!same_instance("unix dev=5 ino=7 born=3.4", "unix dev=6 ino=7 born=3.4"),
	   "another device is another VM");
	ok(same_instance("unix:/run/vm.sock dev=5 ino=7 ctime=9.9", "unix dev=5 ino=7 born=3.4"),
	   "an older record (path, ctime) matches on device and inode");
	ok(!same_instance("unix:/run/vm.sock dev=5 ino=8 ctime=9.9", "unix dev=5 ino=7 born=3.4"),
	   "an older record of another inode does not");
	ok(same_instance("vsock:3", "vsock cid=3 vmm-dev=1 vmm-ino=2 vmm-born=1.1"),
	   "an older vsock record matches on its CID");
	ok(!same_instance("vsock:3", "vsock cid=4"), "another CID is another VM");
	ok(!same_instance("vsock cid=3 vmm-dev=1 vmm-ino=2 vmm-born=1.1",
			  "vsock cid=3 vmm-dev=1 vmm-ino=2 vmm-born=1.2"),
	   "a vsock VM whose VMM socket was made anew was restarted");
	ok(!same_instance("vsock cid=3", "unix dev=5 ino=7 born=3.4"), "vsock is not unix");
}

static int bind_at(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	return fd;
}

static void test_identity(void)
{
	struct vm_entry e = { .name = "vm" };
	char path[80], other[80], a[200], b[200];
	int fd;

	snprintf(path, sizeof(path), "%s/vm.sock", dir);
	snprintf(other, sizeof(other), "%s/other.sock", dir);
	fd = bind_at(path);
	ok(fd >= 0, "a socket to look at");
	e.target.transport = UPCALL_TRANSPORT_UNIX;
	snprintf(e.target.path, sizeof(e.target.path), "%s", path);
	endpoint_identity(&e, a, sizeof(a));
	ok(!strncmp(a, "unix dev=", 9) && strstr(a, " ino=") && !strchr(a, '/'),
	   "a socket is named by device and inode, not by its path: %s", a);
	ok(chmod(path, 0600) == 0 && link(path, other) == 0 &&
	   rename(other, path) == 0,	/* same inode: a no-op, the change time moves anyway */
	   "chmod, link and rename of the socket");
	endpoint_identity(&e, b, sizeof(b));
	ok(same_instance(a, b), "chmod and link keep the identity");
	close(fd);
	unlink(path);
	unlink(other);
	usleep(2000);
	fd = bind_at(path);
	endpoint_identity(&e, b, sizeof(b));
	ok(!same_instance(a, b), "a socket made anew at the path is another VM: %s", b);

	e.target.transport = UPCALL_TRANSPORT_VSOCK;
	e.target.cid = 7;
	endpoint_identity(&e, a, sizeof(a));
	ok(!strcmp(a, "vsock cid=7"), "a vsock VM without a VMM socket: its CID: %s", a);
	snprintf(e.vmm_path, sizeof(e.vmm_path), "%s", path);
	endpoint_identity(&e, a, sizeof(a));
	ok(!strncmp(a, "vsock cid=7 vmm-dev=", 20), "with one, its VMM socket too: %s", a);
	close(fd);
	unlink(path);
	usleep(2000);
	fd = bind_at(path);
	endpoint_identity(&e, b, sizeof(b));
	ok(!same_instance(a, b), "a VMM restarted on the same CID is noticed");
	close(fd);
	unlink(path);
}

static void test_same_state(void)
{
	struct vm_state a, b;
	uint8_t ids[] = { 0, 1 };

	memset(&a, 0, sizeof(a));
	state_cpus_set(&a, ids, 2);
	b = a;
	ok(state_same(&a, &b), "a copy is the same");
	state_uncertain_add(&b, ids + 1, 1);
	ok(!state_same(&a, &b), "an uncertain ID is a change");
	b = a;
	snprintf(b.pending, sizeof(b.pending), "add vCPUs 2");
	ok(!state_same(&a, &b), "a mark in flight is a change");
	b = a;
	state_mem_add(&b, 1ULL << 32, 1ULL << 27);
	ok(!state_same(&a, &b), "a range is a change");
}

static void test_unsent(void)
{
	static struct vm_entry e = { .name = "vm" };
	static struct vm_record r;
	char err[PATH_MAX + 200];

	memset(&r, 0, sizeof(r));
	r.opts = (struct record_opts){ .prog = "test-state", .notices = stderr };
	r.e = &e;
	r.lockfd = -1;
	r.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(r.path, sizeof(r.path), "%s/vm.yaml", dir);
	is_int(record_save(&r, ""), EXIT_DONE, "a record without a mark");
	record_save(&r, "add memory 0x0+0x8000000");
	is_int(record_unsent(&r), EXIT_DONE, "the request was never sent");
	is_int(read_record(&r, &r.st, err, sizeof(err)), 1, "the record reads back");
	ok(!strcmp(r.st.pending, ""), "and has no mark: \"%s\"", r.st.pending);
	record_save(&r, "add vCPUs 2");	/* interrupted: its outcome is unknown */
	record_save(&r, "add vCPUs 3");
	record_unsent(&r);
	read_record(&r, &r.st, err, sizeof(err));
	ok(!strcmp(r.st.pending, "add vCPUs 2"), "an earlier mark comes back: \"%s\"", r.st.pending);
	close(r.dirfd);
	snprintf(err, sizeof(err), "%s/vm.yaml", dir);
	unlink(err);
}

/* Failures come back as values, each with the errno of the call that failed. */
static void test_errors(void)
{
	static struct vm_entry e = { .name = "vm", .label = "vm" };
	struct record_opts o = { .prog = "test-state", .notices = stderr, .timeout_ms = 1000 };
	static struct vm_record r;
	char sub[128], want[600];

	snprintf(sub, sizeof(sub), "%s/open", dir);
	mkdir(sub, 0755);
	chmod(sub, 0755);
	setenv("UPCALL_STATE_DIR", sub, 1);
	errno = EIO;	/* stale: must not show */
	is_int(record_open(&r, &o, &e, false), EXIT_OSERR, "a state directory open to others");
	snprintf(want, sizeof(want),
		 "state directory %s is open to others (mode 0755); refusing to use it (chmod 700 %s)",
		 sub, sub);
	ok(!strcmp(r.error.msg, want), "is refused: %s", r.error.msg);
	is_int(r.error.err, 0, "with no errno: no call failed");
	record_close(&r);
	rmdir(sub);

	snprintf(sub, sizeof(sub), "%s/file", dir);
	close(open(sub, O_WRONLY | O_CREAT, 0600));
	setenv("UPCALL_STATE_DIR", sub, 1);
	is_int(record_open(&r, &o, &e, false), EXIT_OSERR, "a state directory that is a file");
	is_int(r.error.err, ENOTDIR, "carries the errno of open()");
	snprintf(want, sizeof(want), "state directory %s: %s (refusing a symlink or non-directory)",
		 sub, strerror(ENOTDIR));
	ok(!strcmp(r.error.msg, want), "and says it: %s", r.error.msg);
	record_close(&r);
	unlink(sub);
	unsetenv("UPCALL_STATE_DIR");
}

static void *release_later(void *data)
{
	usleep(200 * 1000);
	flock(*(int *)data, LOCK_UN);
	return NULL;
}

static void test_lock_wait(void)
{
	char path[128];
	long long t0;
	pthread_t tid;
	int holder, waiter, rc;

	snprintf(path, sizeof(path), "%s/vm.lock", dir);
	holder = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	waiter = open(path, O_RDWR | O_CLOEXEC);
	ok(holder >= 0 && waiter >= 0 && flock(holder, LOCK_EX) == 0, "a held lock");
	t0 = now_ms();
	rc = lock_until(waiter, LOCK_FLOCK, now_ms() + 300);
	is_int(rc, -ETIMEDOUT, "a waiter gives up at its deadline");
	ok(now_ms() - t0 >= 290, "not before it");
	/* the helper thread still waits on its own dup; it must not keep the lock */
	pthread_create(&tid, NULL, release_later, &holder);
	rc = lock_until(waiter, LOCK_FLOCK, now_ms() + 30000);
	pthread_join(tid, NULL);
	is_int(rc, 0, "a waiter gets the lock once it is released");
	close(waiter);
	usleep(100 * 1000);	/* the given-up helper closes its dup */
	is_int(flock(holder, LOCK_EX | LOCK_NB), 0, "a wait given up leaves no lock behind");
	close(holder);
	unlink(path);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/test-state.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return 1;
	tap_plan(7 + 10 + 8 + 4 + 5 + 6 + 5);
	test_escape();
	test_same_instance();
	test_identity();
	test_same_state();
	test_unsent();
	test_errors();
	test_lock_wait();
	rmdir(dir);
	return tap_done();
}
