// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The fleet layer on its own: which VMs a list of --vm values names (each
 * VM once), that the work runs on each with its output captured, and the
 * summary's exit code.  Linked without the CLI (tests/check.mk), so a
 * fleet that called up into it would not build.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../cmd/common/fleet.h"
#include "tap.h"

static char dir[64], inv[128];

struct seen {
	pthread_mutex_t lock;
	int codes[2];		/* of VM a (…/a.sock, va) and the others */
	unsigned int runs, finished, started;
	char out[512];
};

static int run(void *data, const char *vm, FILE *out, FILE *err)
{
	struct seen *s = data;
	const char *base = strrchr(vm, '/');

	pthread_mutex_lock(&s->lock);
	s->runs++;
	pthread_mutex_unlock(&s->lock);
	fprintf(out, "ran %s\n", base ? base + 1 : vm);
	fprintf(err, "%s", "");
	return s->codes[!strcmp(vm, "va") || (base && !strcmp(base, "/a.sock")) ? 0 : 1];
}

static void started(void *data, const char *vm)
{
	struct seen *s = data;

	(void)vm;
	pthread_mutex_lock(&s->lock);
	s->started++;
	pthread_mutex_unlock(&s->lock);
}

/* one at a time: no lock needed */
static void finished(void *data, const char *vm, int code, const char *out, const char *err)
{
	struct seen *s = data;

	(void)vm;
	(void)code;
	(void)err;
	s->finished++;
	strncat(s->out, out ? out : "", sizeof(s->out) - strlen(s->out) - 1);
}

static int run_fleet(const char *const *vms, unsigned int n, int code_a, int code_b,
		     struct seen *s, struct fleet_summary *sum, struct ucerr *e)
{
	struct fleet_opts o = { .config = inv, .port = 219, .jobs = 4 };
	struct fleet_ops ops = { .run = run, .started = started, .finished = finished, .data = s };

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->codes[0] = code_a;
	s->codes[1] = code_b;
	return fleet_run(vms, n, &o, &ops, sum, e);
}

static void test_targets(void)
{
	char a[96], a2[96], b[96], glob[96], none[96];
	const char *vms[4] = { a, a2, b, "@both" };
	struct fleet_summary sum;
	struct ucerr e = { 0 };
	struct seen s;

	snprintf(a, sizeof(a), "%s/a.sock", dir);
	snprintf(a2, sizeof(a2), "%s/./a.sock", dir);
	snprintf(b, sizeof(b), "%s/b.sock", dir);
	is_int(run_fleet(vms, 3, 0, 0, &s, &sum, &e), EXIT_DONE, "two spellings of one VM and another");
	is_int(sum.n, 2, "are two VMs");
	is_int(s.runs, 2, "each run once");
	ok(s.started == 2 && s.finished == 2, "each started and finished once");
	ok(strstr(s.out, "ran a.sock\n") && strstr(s.out, "ran b.sock\n"),
	   "with its output captured");
	is_int(sum.code, EXIT_DONE, "all succeeded: 0");

	is_int(run_fleet(vms + 3, 1, 0, 69, &s, &sum, &e), EXIT_DONE, "an @GROUP");
	is_int(sum.n, 2, "is its members");
	is_int(sum.code, EXIT_SOME_FAILED, "some failed: 3");
	run_fleet(vms, 3, 69, 69, &s, &sum, &e);
	is_int(sum.code, 69, "all failed alike: their code");
	run_fleet(vms, 3, 69, 75, &s, &sum, &e);
	is_int(sum.code, EXIT_ALL_FAILED, "all failed differently: 4");

	snprintf(glob, sizeof(glob), "%s/*.sock", dir);
	vms[0] = glob;
	run_fleet(vms, 1, 0, 0, &s, &sum, &e);
	is_int(sum.n, 2, "a glob names every socket it matches");
	snprintf(none, sizeof(none), "%s/none*.sock", dir);
	vms[0] = none;
	is_int(run_fleet(vms, 1, 0, 0, &s, &sum, &e), EXIT_USAGE,
	       "a glob that matches nothing is a usage error");
	ok(strstr(e.msg, "no file matches") != NULL, "returned, not printed: %s", e.msg);
	is_int(s.runs, 0, "and nothing ran");
}

static void touch(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	close(open(path, O_WRONLY | O_CREAT, 0600));
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	FILE *f;

	umask(022);
	snprintf(dir, sizeof(dir), "%s/test-fleet.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return 1;
	touch("a.sock");
	touch("b.sock");
	snprintf(inv, sizeof(inv), "%s/vms.yaml", dir);
	f = fopen(inv, "w");
	if (!f)
		return 1;
	fprintf(f, "vms:\n  va:\n    target: %s/a.sock\n  vb:\n    target: %s/b.sock\n"
		"groups:\n  both: [va, vb]\n", dir, dir);
	fclose(f);
	tap_plan(6 + 5 + 4);
	test_targets();
	unlink(inv);
	snprintf(inv, sizeof(inv), "%s/a.sock", dir);
	unlink(inv);
	snprintf(inv, sizeof(inv), "%s/b.sock", dir);
	unlink(inv);
	rmdir(dir);
	return tap_done();
}
