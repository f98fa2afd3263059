// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fleet operations.  The command line is parsed once; each target then
 * runs the command's run function on its own copy of struct cli (own
 * session, inventory entry, result and captured stdout/stderr) and of the
 * argument struct.  Results are printed as each VM finishes, whole, under
 * one lock, so a slow VM holds up no other VM's line; every line carries
 * its VM, so the output can be sorted.  Nothing here is global.
 */
#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cancel.h"
#include "fleet.h"
#include "inventory.h"
#include "progress.h"

struct fleet {
	struct cli *cli;		/* the parsed command line */
	const struct cli_cmd *cmd;
	const void *args;
	char **targets;
	unsigned int n, cap;
	pthread_mutex_t lock;		/* guards what follows */
	unsigned int next, ok, done;
	int code;			/* exit code of the failures so far */
	bool mixed;			/* failures had different exit codes */
	json_t *failed;			/* VMs that failed, for JSON */
	struct progress *progress;	/* the live count on a terminal, or NULL */
};

int fleet_add_vm(struct cli *cli, const char *vm)
{
	const char **v = realloc(cli->vms, (cli->nvms + 1) * sizeof(*v));

	if (!v)
		return -1;
	v[cli->nvms++] = vm;
	cli->vms = v;
	return 0;
}

static bool is_pattern(const char *vm)
{
	return vm[0] == '@' || strpbrk(vm, "*?[") != NULL;
}

bool fleet_wanted(const struct cli *cli)
{
	return cli->nvms > 1 || (cli->nvms == 1 && is_pattern(cli->vms[0]));
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
		return cli_fail(f->cli, EXIT_USAGE, "--vm %s: no file matches", pattern);
	if (rc)
		return cli_fail(f->cli, EXIT_OSERR, "--vm %s: %s", pattern,
				rc == GLOB_NOSPACE ? "out of memory" : "unreadable directory");
	for (size_t i = 0; i < g.gl_pathc && rc == 0; i++)
		if (add_target(f, g.gl_pathv[i]))
			rc = cli_fail(f->cli, EXIT_OSERR, "out of memory");
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

	if (e && inventory_resolve(f->cli->config, f->cli->port, vm, e, &t, &ue) == EXIT_DONE)
		key = strdup(e->name);
	free(e);
	return key;
}

static int resolve_group(struct fleet *f, const char *group)
{
	struct ucerr ue;

	if (inventory_resolve_group(f->cli->config, group, add_target, f, &ue))
		return cli_report(f->cli, &ue);
	return EXIT_DONE;
}

/* Each VM once: of several names for one VM, the first given is run. */
static int dedupe(struct fleet *f)
{
	char **keys = calloc(f->n ? f->n : 1, sizeof(*keys));
	unsigned int k = 0;

	if (!keys)
		return cli_fail(f->cli, EXIT_OSERR, "out of memory");
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

static int expand(struct fleet *f)
{
	int rc = EXIT_DONE;

	for (unsigned int i = 0; i < f->cli->nvms && rc == EXIT_DONE; i++) {
		const char *vm = f->cli->vms[i];

		if (vm[0] == '@')
			rc = resolve_group(f, vm + 1);
		else if (is_pattern(vm))
			rc = expand_glob(f, vm);
		else if (add_target(f, vm))
			rc = cli_fail(f->cli, EXIT_OSERR, "out of memory");
	}
	return rc ? rc : dedupe(f);
}

static const char *code_name(int code)
{
	switch (code) {
	case EXIT_REFUSED: return "refused";
	case EXIT_PARTIAL: return "partial";
	case EXIT_BUSY: return "busy";
	case EXIT_USAGE: return "usage error";
	case EXIT_UNREACHABLE: return "unreachable";
	case EXIT_TIMEOUT: return "timed out";
	case EXIT_PROTOCOL: return "protocol error";
	case EXIT_CANCELLED: return "interrupted";
	}
	return "local failure";
}

/* Does @text start with "@word: "? */
static size_t led_by(const char *text, const char *word)
{
	size_t n = strlen(word);

	return strncmp(text, word, n) == 0 && strncmp(text + n, ": ", 2) == 0 ? n + 2 : 0;
}

/*
 * Each line of @text on @to as "VM: line" ("PROG: VM: rest" for "PROG:
 * rest"); a line that already names the VM first keeps its one mention.
 */
static void print_prefixed(const struct cli *cli, FILE *to, const char *vm, const char *text)
{
	while (text && *text) {
		int len = (int)strcspn(text, "\n");
		size_t skip = led_by(text, cli->prog);

		if (skip)
			fprintf(to, "%s: %s: ", cli->prog, vm);
		else
			fprintf(to, "%s: ", vm);
		skip += led_by(text + skip, vm);
		fprintf(to, "%.*s\n", len - (int)skip, text + skip);
		text += len + (text[len] == '\n');
	}
}

/* JSON: every object the command printed, led by "vm": the target. */
static void print_objects(const struct cli *cli, const char *vm, const char *text)
{
	while (text && *text) {
		size_t len = strcspn(text, "\n");
		json_t *o = json_loadb_u64(text, len, 0), *v = json_object();

		if (json_is_object(o) && v && !json_object_set_new(v, "vm", json_text(vm)) &&
		    !json_object_update(v, o) && !json_object_set_new(v, "vm", json_text(vm))) {
			json_dumpf_u64(v, cli->out, CLI_JSON_FLAGS);
			fputc('\n', cli->out);
		} else {
			fprintf(cli->out, "%.*s\n", (int)len, text);
		}
		json_decref(v);
		json_decref(o);
		text += len + (text[len] == '\n');
	}
}

static void tally(struct fleet *f, const char *vm, int code)
{
	f->done++;
	if (code == EXIT_DONE) {
		f->ok++;
		return;
	}
	json_array_append_new(f->failed, json_text(vm));
	if (json_array_size(f->failed) == 1)
		f->code = code;
	else if (f->code != code)
		f->mixed = true;
}

static void report(struct fleet *f, const char *vm, int code, const char *out,
		   const char *err)
{
	const struct cli *cli = f->cli;

	pthread_mutex_lock(&f->lock);
	progress_pause(f->progress);
	progress_vm_end(f->progress, vm, code == EXIT_DONE);
	tally(f, vm, code);
	print_prefixed(cli, cli->err, vm, err);
	if (cli->output == OUTPUT_JSON)
		print_objects(cli, vm, out);
	else
		print_prefixed(cli, cli->out, vm, out);
	if (cli->output == OUTPUT_TEXT && code != EXIT_DONE)
		fprintf(cli->out, "%s: failed (%s, exit %d)\n", vm, code_name(code), code);
	else if (cli->output == OUTPUT_TEXT && !(out && *out))
		fprintf(cli->out, "%s: done\n", vm);
	fflush(cli->err);
	fflush(cli->out);
	progress_resume(f->progress);
	pthread_mutex_unlock(&f->lock);
}

/* Run the command on one VM with its own struct cli and arguments. */
static void run_one(struct fleet *f, const char *vm)
{
	struct cli w = *f->cli;
	char *out = NULL, *err = NULL;
	size_t outlen = 0, errlen = 0;
	void *args = malloc(f->cmd->args_size ? f->cmd->args_size : 1);
	int code = EXIT_OSERR;

	w.vm = vm;
	w.vms = NULL;
	w.nvms = 0;
	w.session = NULL;
	w.entry = NULL;
	w.result = NULL;
	w.out = open_memstream(&out, &outlen);
	w.err = open_memstream(&err, &errlen);
	if (args && w.out && w.err) {
		memcpy(args, f->args, f->cmd->args_size);
		code = f->cmd->run(&w, args);
	}
	cli_free(&w);
	if (w.out)
		fclose(w.out);
	if (w.err)
		fclose(w.err);
	report(f, vm, code, out, args && w.out && w.err ? err : "out of memory");
	free(args);
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
		progress_vm_start(f->progress, f->targets[i]);
		run_one(f, f->targets[i]);
	}
	return NULL;
}

/* -j, or all VMs up to the default; each worker holds about 4 descriptors. */
static unsigned int pool_size(const struct fleet *f)
{
	unsigned int n = f->cli->jobs ? f->cli->jobs : FLEET_DEFAULT_JOBS;
	struct rlimit rl;

	if (n > f->n)
		n = f->n;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < 32 + 4 * (rlim_t)n)
		n = rl.rlim_cur > 36 ? (unsigned int)((rl.rlim_cur - 32) / 4) : 1;
	return n;
}

/* The main thread is one of the workers; a thread that cannot start is none. */
static void run_pool(struct fleet *f)
{
	unsigned int n = pool_size(f), started = 0;
	pthread_t *tids = calloc(n, sizeof(*tids));

	json_object_seed(0);	/* jansson: seed its hash before threads do */
	for (unsigned int i = 1; tids && i < n; i++)
		if (pthread_create(&tids[started], NULL, worker, f) == 0)
			started++;
	worker(f);
	for (unsigned int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	free(tids);
}

/*
 * What finished, also after Ctrl-C: then the VMs never started are
 * counted apart, and the exit code is 130 whatever finished.
 */
static int summary(struct fleet *f)
{
	unsigned int failed = f->done - f->ok, left = f->n - f->done;
	int code = left ? EXIT_CANCELLED : failed == 0 ? EXIT_DONE :
		   f->ok ? EXIT_SOME_FAILED : f->mixed ? EXIT_ALL_FAILED : f->code;
	const char *vms = f->n == 1 ? "VM" : "VMs";

	if (f->cli->output == OUTPUT_TEXT) {
		fprintf(f->cli->out, "%u ok, %u failed", f->ok, failed);
		if (left)
			fprintf(f->cli->out, ", %u not started (interrupted)", left);
		fprintf(f->cli->out, " of %u %s\n", f->n, vms);
		fflush(f->cli->out);
		return code;
	}
	/* The summary speaks for every VM, so it names none. */
	if (!f->cli->result)
		f->cli->result = json_object();
	cli_set(f->cli, "vms", json_integer(f->n));
	cli_set(f->cli, "succeeded", json_integer(f->ok));
	cli_set(f->cli, "failed", json_integer(failed));
	cli_set(f->cli, "not_started", json_integer(left));
	cli_set(f->cli, "failed_vms", json_incref(f->failed));
	if (left)
		return cli_fail(f->cli, code, "interrupted: %u of %u %s not started", left,
				f->n, vms);
	return code ? cli_fail(f->cli, code, "%u of %u %s failed", failed, f->n, vms) :
		cli_finish(f->cli, UPCALL_OK);
}

int fleet_run(struct cli *cli, const struct cli_cmd *cmd, const void *args)
{
	struct fleet f = { .cli = cli, .cmd = cmd, .args = args, .failed = json_array() };
	int rc;

	if (cmd->single_vm)
		rc = cli_fail(cli, EXIT_USAGE, "%s works on one VM at a time; give one --vm",
			      cli->command);
	else if (!f.failed)
		rc = cli_fail(cli, EXIT_OSERR, "out of memory");
	else
		rc = expand(&f);
	if (rc == EXIT_DONE) {
		pthread_mutex_init(&f.lock, NULL);
		f.progress = progress_fleet(cli, f.n);
		run_pool(&f);
		progress_end(f.progress);
		pthread_mutex_destroy(&f.lock);
		rc = summary(&f);
	}
	for (unsigned int i = 0; i < f.n; i++)
		free(f.targets[i]);
	free(f.targets);
	json_decref(f.failed);
	return rc;
}
