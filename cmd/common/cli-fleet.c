// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A command run on several VMs.  The command line is parsed once; the
 * fleet (fleet.c) then runs the command's run function for each VM on its
 * own copy of struct cli (own session, inventory entry, result, and the
 * captured stdout/stderr the fleet gives it) and of the argument struct.
 * Results are printed as each VM finishes, every line carrying its VM, so
 * the output can be sorted.
 */
#include <stdlib.h>
#include <string.h>

#include "cli-fleet.h"
#include "fleet.h"
#include "progress.h"

struct cli_fleet {
	struct cli *cli;		/* the parsed command line */
	const struct cli_cmd *cmd;
	const void *args;
	json_t *failed;			/* VMs that failed, for JSON */
	struct progress *progress;	/* the live count on a terminal, or NULL */
};

int cli_add_vm(struct cli *cli, const char *vm)
{
	const char **v = realloc(cli->vms, (cli->nvms + 1) * sizeof(*v));

	if (!v)
		return -1;
	v[cli->nvms++] = vm;
	cli->vms = v;
	return 0;
}

bool cli_fleet_wanted(const struct cli *cli)
{
	return cli->nvms > 1 || (cli->nvms == 1 && fleet_is_pattern(cli->vms[0]));
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

static void planned(void *data, unsigned int n)
{
	struct cli_fleet *cf = data;

	cf->progress = progress_fleet(cf->cli, n);
}

static void started(void *data, const char *vm)
{
	struct cli_fleet *cf = data;

	progress_vm_start(cf->progress, vm);
}

/* Run the command on one VM with its own struct cli and arguments. */
static int run_vm(void *data, const char *vm, FILE *out, FILE *err)
{
	struct cli_fleet *cf = data;
	struct cli w = *cf->cli;
	void *args = malloc(cf->cmd->args_size ? cf->cmd->args_size : 1);
	int code = EXIT_OSERR;

	w.vm = vm;
	w.vms = NULL;
	w.nvms = 0;
	w.session = NULL;
	w.entry = NULL;
	w.result = NULL;
	w.out = out;
	w.err = err;
	if (args) {
		memcpy(args, cf->args, cf->cmd->args_size);
		code = cf->cmd->run(&w, args);
	} else {
		fputs("out of memory", err);
	}
	cli_free(&w);
	free(args);
	return code;
}

static void finished(void *data, const char *vm, int code, const char *out, const char *err)
{
	struct cli_fleet *cf = data;
	const struct cli *cli = cf->cli;

	progress_pause(cf->progress);
	progress_vm_end(cf->progress, vm, code == EXIT_DONE);
	if (code != EXIT_DONE)
		json_array_append_new(cf->failed, json_text(vm));
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
	progress_resume(cf->progress);
}

/*
 * What finished, also after Ctrl-C: then the VMs never started are
 * counted apart, and the exit code is 130 whatever finished.
 */
static int summary(struct cli_fleet *cf, const struct fleet_summary *s)
{
	struct cli *cli = cf->cli;
	unsigned int failed = s->done - s->ok, left = s->n - s->done;
	const char *vms = s->n == 1 ? "VM" : "VMs";

	if (cli->output == OUTPUT_TEXT) {
		fprintf(cli->out, "%u ok, %u failed", s->ok, failed);
		if (left)
			fprintf(cli->out, ", %u not started (interrupted)", left);
		fprintf(cli->out, " of %u %s\n", s->n, vms);
		fflush(cli->out);
		return s->code;
	}
	/* The summary speaks for every VM, so it names none. */
	if (!cli->result)
		cli->result = json_object();
	cli_set(cli, "vms", json_integer(s->n));
	cli_set(cli, "succeeded", json_integer(s->ok));
	cli_set(cli, "failed", json_integer(failed));
	cli_set(cli, "not_started", json_integer(left));
	cli_set(cli, "failed_vms", json_incref(cf->failed));
	if (left)
		return cli_fail(cli, s->code, "interrupted: %u of %u %s not started", left,
				s->n, vms);
	return s->code ? cli_fail(cli, s->code, "%u of %u %s failed", failed, s->n, vms) :
		cli_finish(cli, UPCALL_OK);
}

int cli_fleet_run(struct cli *cli, const struct cli_cmd *cmd, const void *args)
{
	struct cli_fleet cf = { .cli = cli, .cmd = cmd, .args = args, .failed = json_array() };
	struct fleet_opts o = { .config = cli->config, .port = cli->port, .jobs = cli->jobs };
	struct fleet_ops ops = {
		.run = run_vm, .planned = planned, .started = started, .finished = finished,
		.data = &cf,
	};
	struct fleet_summary s;
	struct ucerr ue;
	int rc;

	if (cmd->single_vm) {
		rc = cli_fail(cli, EXIT_USAGE, "%s works on one VM at a time; give one --vm",
			      cli->command);
	} else if (!cf.failed) {
		rc = cli_fail(cli, EXIT_OSERR, "out of memory");
	} else {
		json_object_seed(0);	/* jansson: seed its hash before threads do */
		rc = fleet_run(cli->vms, cli->nvms, &o, &ops, &s, &ue);
		progress_end(cf.progress);
		rc = rc ? cli_report(cli, &ue) : summary(&cf, &s);
	}
	json_decref(cf.failed);
	return rc;
}
