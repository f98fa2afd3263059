// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fleet operations.  The --vm values are expanded once into targets, each
 * VM once; a pool of workers then runs the caller's work on each target,
 * capturing what it writes, and hands each result over whole, one at a
 * time under one lock, as its VM finishes, so a slow VM holds up no other
 * VM's result.  Nothing here is global, and nothing here prints.
 */
#include <errno.h>
#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cancel.h"
#include "fleet.h"
#include "inventory.h"

struct fleet {
	const struct fleet_opts *opts;
	const struct fleet_ops *ops;
	struct ucerr *error;
	char **targets;
	unsigned int n, cap;
	pthread_mutex_t lock;		/* guards what follows */
	unsigned int next, ok, done;
	int code;			/* exit code of the failures so far */
	bool mixed;			/* failures had different exit codes */
};

bool fleet_is_pattern(const char *vm)
{
	return vm[0] == '@' || strpbrk(vm, "*?[") != NULL;
}

/* Add @vm unless it is already a target; -1 when out of memory. */
static int add_target(void *data, const char *vm)
{
	struct fleet *f = data;

	for (unsigned int i = 0; i < f->n; i++)
		if (strcmp(f->targets[i], vm) == 0)
			return 0;
	if (f->n == f->cap) {
		unsigned int cap = f->cap ? 2 * f->cap : 16;
		char **t = realloc(f->targets, cap * sizeof(*t));

		if (!t)
			return -1;
		f->targets = t;
		f->cap = cap;
	}
	if (!(f->targets[f->n] = strdup(vm)))
		return -1;
	f->n++;
	return 0;
}

static int expand_glob(struct fleet *f, const char *pattern)
{
	glob_t g;
	int rc = glob(pattern, 0, NULL, &g);

	if (rc == GLOB_NOMATCH)
		return ucerr_set(f->error, EXIT_USAGE, 0, "--vm %s: no file matches", pattern);
	if (rc)
		return ucerr_set(f->error, EXIT_OSERR, 0, "--vm %s: %s", pattern,
				 rc == GLOB_NOSPACE ? "out of memory" : "unreadable directory");
	for (size_t i = 0; i < g.gl_pathc && rc == 0; i++)
		if (add_target(f, g.gl_pathv[i]))
			rc = ucerr_set(f->error, EXIT_OSERR, ENOMEM, "out of memory");
	globfree(&g);
	return rc;
}

/*
 * The name of @vm's state record and lock: what one VM is known by, however
 * it was named.  NULL when @vm does not resolve (its run will say why).
 */
static char *vm_key(const struct fleet *f, const char *vm)
{
	struct vm_entry *e = malloc(sizeof(*e));
	struct upcall_target t;
	struct ucerr ue;
	char *key = NULL;

	if (e && inventory_resolve(f->opts->config, f->opts->port, vm, e, &t, &ue) == EXIT_DONE)
		key = strdup(e->name);
	free(e);
	return key;
}

/* Each VM once: of several names for one VM, the first given is run. */
static int dedupe(struct fleet *f)
{
	char **keys = calloc(f->n ? f->n : 1, sizeof(*keys));
	unsigned int k = 0;

	if (!keys)
		return ucerr_set(f->error, EXIT_OSERR, ENOMEM, "out of memory");
	for (unsigned int i = 0; i < f->n; i++) {
		char *key = vm_key(f, f->targets[i]);
		bool dup = false;

		for (unsigned int j = 0; key && j < k && !dup; j++)
			dup = keys[j] && !strcmp(keys[j], key);
		if (dup) {
			free(key);
			free(f->targets[i]);
			continue;
		}
		keys[k] = key;
		f->targets[k++] = f->targets[i];
	}
	f->n = k;
	for (unsigned int i = 0; i < k; i++)
		free(keys[i]);
	free(keys);
	return EXIT_DONE;
}

static int expand(struct fleet *f, const char *const *vms, unsigned int nvms)
{
	int rc = EXIT_DONE;

	for (unsigned int i = 0; i < nvms && rc == EXIT_DONE; i++) {
		const char *vm = vms[i];

		if (vm[0] == '@')
			rc = inventory_resolve_group(f->opts->config, vm + 1, add_target, f,
						     f->error);
		else if (fleet_is_pattern(vm))
			rc = expand_glob(f, vm);
		else if (add_target(f, vm))
			rc = ucerr_set(f->error, EXIT_OSERR, ENOMEM, "out of memory");
	}
	return rc ? rc : dedupe(f);
}

static void tally(struct fleet *f, int code)
{
	f->done++;
	if (code == EXIT_DONE) {
		f->ok++;
		return;
	}
	if (f->done - f->ok == 1)
		f->code = code;
	else if (f->code != code)
		f->mixed = true;
}

/* Run the work on one VM, capturing what it writes. */
static void run_one(struct fleet *f, const char *vm)
{
	char *out = NULL, *err = NULL;
	size_t outlen = 0, errlen = 0;
	FILE *o = open_memstream(&out, &outlen), *e = open_memstream(&err, &errlen);
	int code = EXIT_OSERR;

	if (o && e)
		code = f->ops->run(f->ops->data, vm, o, e);
	if (o)
		fclose(o);
	if (e)
		fclose(e);
	pthread_mutex_lock(&f->lock);
	tally(f, code);
	f->ops->finished(f->ops->data, vm, code, out, o && e ? err : "out of memory");
	pthread_mutex_unlock(&f->lock);
	free(out);
	free(err);
}

/* After Ctrl-C, the VMs not started yet are left alone. */
static void *worker(void *data)
{
	struct fleet *f = data;

	while (!cancel_requested()) {
		unsigned int i;

		pthread_mutex_lock(&f->lock);
		i = f->next < f->n ? f->next++ : f->n;
		pthread_mutex_unlock(&f->lock);
		if (i == f->n)
			return NULL;
		if (f->ops->started)
			f->ops->started(f->ops->data, f->targets[i]);
		run_one(f, f->targets[i]);
	}
	return NULL;
}

/* -j, or all VMs up to the default; each worker holds about 4 descriptors. */
static unsigned int pool_size(const struct fleet *f)
{
	unsigned int n = f->opts->jobs ? f->opts->jobs : FLEET_DEFAULT_JOBS;
	struct rlimit rl;

	if (n > f->n)
		n = f->n;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < 32 + 4 * (rlim_t)n)
		n = rl.rlim_cur > 36 ? (unsigned int)((rl.rlim_cur - 32) / 4) : 1;
	return n;
}

/* The calling thread is one of the workers; a thread that cannot start is none. */
static void run_pool(struct fleet *f)
{
	unsigned int n = pool_size(f), started = 0;
	pthread_t *tids = calloc(n, sizeof(*tids));

	for (unsigned int i = 1; tids && i < n; i++)
		if (pthread_create(&tids[started], NULL, worker, f) == 0)
			started++;
	worker(f);
	for (unsigned int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	free(tids);
}

int fleet_run(const char *const *vms, unsigned int nvms, const struct fleet_opts *o,
	      const struct fleet_ops *ops, struct fleet_summary *sum, struct ucerr *e)
{
	struct fleet f = { .opts = o, .ops = ops, .error = e };
	int rc = expand(&f, vms, nvms);

	if (rc == EXIT_DONE) {
		pthread_mutex_init(&f.lock, NULL);
		if (ops->planned)
			ops->planned(ops->data, f.n);
		run_pool(&f);
		pthread_mutex_destroy(&f.lock);
		sum->n = f.n;
		sum->ok = f.ok;
		sum->done = f.done;
		sum->code = f.done < f.n ? EXIT_CANCELLED : f.ok == f.done ? EXIT_DONE :
			    f.ok ? EXIT_SOME_FAILED : f.mixed ? EXIT_ALL_FAILED : f.code;
	}
	for (unsigned int i = 0; i < f.n; i++)
		free(f.targets[i]);
	free(f.targets);
	return rc;
}
