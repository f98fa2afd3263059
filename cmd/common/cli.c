// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Verb-table dispatch shared by the suite's binaries.  cli_scan() (scan.c)
 * locates the command words first, then argv (minus those words) is parsed
 * by the command's own argp with the global options as a child, so global
 * options may come before or after the command.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cancel.h"
#include "cli.h"
#include "cli-fleet.h"
#include "inventory.h"
#include "progress.h"

static void print_json(struct cli *cli, int code, const char *error);

enum {
	OPT_PORT = 0x100,
	OPT_ARCH,
	OPT_OUTPUT,
	OPT_CONFIG,
	OPT_WAIT,
	OPT_NO_WAIT,
};

static const struct argp_option global_options[] = {
	{ "vm", 'm', "TARGET", 0,
	  "The VM: inventory NAME, socket PATH, unix:PATH or vsock:CID[:PORT] (default: $UPCALL_VM); "
	  "repeat it, give a PATH glob or an inventory @GROUP to run on several VMs at once", 0 },
	{ "jobs", 'j', "N", 0, "With several VMs, serve at most N at once (default: "
	  "all of them up to 32)", 0 },
	{ "config", OPT_CONFIG, "FILE", 0,
	  "Read VM names from FILE only (default: " INVENTORY_SYSTEM_FILE
	  ", then $XDG_CONFIG_HOME/upcall/vms.yaml)", 0 },
	{ "port", OPT_PORT, "PORT", 0, "Guest vsock port (default 219)", 0 },
	{ "wait", OPT_WAIT, "SECONDS", OPTION_ARG_OPTIONAL,
	  "Wait up to SECONDS (default 60) for a booting guest to answer", 0 },
	{ "no-wait", OPT_NO_WAIT, NULL, 0, "When another operation holds the VM, fail at "
	  "once (exit 5) instead of waiting up to 4 timeouts for it", 0 },
	{ "arch", OPT_ARCH, "ARCH", 0, "Guest architecture: x86_64 or aarch64 (default: this host's)", 0 },
	{ "timeout", 't', "SECONDS", 0, "Give up on any step after SECONDS (default 5)", 0 },
	{ "output", 'o', "FORMAT", 0, "text or json", 0 },
	{ "verbose", 'v', NULL, 0, "Hex dump every frame on stderr", 0 },
	{ "dry-run", 'n', NULL, 0, "For a command that changes a VM: say what it would send "
	  "(IDs, placement, VMM actions) after the read-only queries, and send no change", 0 },
	{ 0 }
};

/* Seconds, fractions allowed, as milliseconds (at least 1). */
static int parse_seconds(const char *arg, int *ms)
{
	double secs;
	char *end;

	errno = 0;
	secs = strtod(arg, &end);
	if (errno || *end || end == arg || !(secs > 0) || secs > 86400)
		return -1;
	*ms = (int)(secs * 1000 + 0.5);
	if (*ms < 1)
		*ms = 1;
	return 0;
}

static error_t global_key(struct cli *cli, int key, char *arg, struct argp_state *state)
{
	char err[160];
	unsigned long v;

	switch (key) {
	case 'm':
		cli->vm = arg;
		if (cli_add_vm(cli, arg))
			argp_failure(state, EXIT_OSERR, ENOMEM, "--vm");
		break;
	case 'j':
		if (parse_uint(arg, 1, FLEET_MAX_JOBS, &v, "-j", err, sizeof(err)))
			argp_error(state, "%s", err);
		cli->jobs = (unsigned int)v;
		break;
	case OPT_CONFIG:
		cli->config = arg;
		break;
	case OPT_PORT:
		if (parse_uint(arg, 1, UPCALL_MAX_PORT, &v, "port", err, sizeof(err)))
			argp_error(state, "%s", err);
		cli->port = (uint32_t)v;
		break;
	case OPT_ARCH:
		if (upcall_arch_parse(arg, &cli->arch))
			argp_error(state, "unknown architecture \"%s\" (x86_64 or aarch64)", arg);
		cli->arch_set = true;
		break;
	case 't':
		if (parse_seconds(arg, &cli->timeout_ms))
			argp_error(state, "timeout \"%s\" must be a number of seconds in (0, 86400]", arg);
		break;
	case OPT_WAIT:
		cli->wait_ms = 60000;
		if (arg && parse_seconds(arg, &cli->wait_ms))
			argp_error(state, "--wait \"%s\" must be a number of seconds in (0, 86400]", arg);
		break;
	case OPT_NO_WAIT:
		cli->no_wait = true;
		break;
	case 'o':
		if (strcmp(arg, "text") == 0)
			cli->output = OUTPUT_TEXT;
		else if (strcmp(arg, "json") == 0)
			cli->output = OUTPUT_JSON;
		else
			argp_error(state, "unknown output format \"%s\" (text or json)", arg);
		break;
	case 'v':
		cli->verbose++;
		break;
	case 'n':
		cli->dry_run = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static error_t global_parse(int key, char *arg, struct argp_state *state)
{
	return global_key(state->input, key, arg, state);
}

const struct argp cli_global_argp = {
	.options = global_options,
	.parser = global_parse,
};

void cli_init(struct cli *cli, const char *prog)
{
	memset(cli, 0, sizeof(*cli));
	cli->prog = prog;
	cli->arch = upcall_host_arch();
	cli->timeout_ms = 5000;
	cli->out = stdout;
	cli->err = stderr;
	/* Without it, Ctrl-C kills outright, as before: nothing is lost. */
	cancel_setup(true);
}

void cli_free(struct cli *cli)
{
	upcall_session_free(cli->session);
	cli->session = NULL;
	free(cli->entry);
	cli->entry = NULL;
	json_decref(cli->result);
	cli->result = NULL;
	free(cli->vms);
	cli->vms = NULL;
	cli->nvms = 0;
}

int cli_exit_code(enum upcall_status st)
{
	return exit_code_of(st);
}

/* What iproute2 and virsh users type for "del". */
static const char *verb_alias(const char *verb)
{
	static const char *const del[] = { "delete", "remove", "rm", NULL };

	for (size_t i = 0; verb && del[i]; i++)
		if (strcmp(verb, del[i]) == 0)
			return "del";
	return verb;
}

const struct cli_cmd *cli_lookup(const struct cli_cmd *const *tables,
				  const char *object, const char *verb,
				  bool *two_words)
{
	const struct cli_cmd *c;

	verb = verb_alias(verb);
	for_each_cmd(c, tables) {
		if (strcmp(c->object, object) != 0)
			continue;
		if (!c->verb) {
			*two_words = false;
			return c;
		}
		if (verb && strcmp(c->verb, verb) == 0) {
			*two_words = true;
			return c;
		}
	}
	return NULL;
}

int cli_list_commands(FILE *f, const struct cli_cmd *const *tables, const char *object)
{
	const int indent = 21, width = 78;	/* argp wraps at 79 */
	const struct cli_cmd *c;
	int n = 0;

	for_each_cmd(c, tables) {
		const char *w = c->summary;
		char name[64];
		int col;

		if (object && strcmp(c->object, object) != 0)
			continue;
		n++;
		snprintf(name, sizeof(name), "%s%s%s %s", c->object,
			 c->verb ? " " : "", c->verb ? c->verb : "",
			 c->args_doc ? c->args_doc : "");
		col = fprintf(f, "  %-*s", indent - 3, name);
		while (*w) {
			int len = (int)strcspn(w, " ");

			if (col >= indent && col + 1 + len > width) {
				fprintf(f, "\n%*s", indent - 1, "");
				col = indent - 1;
			}
			fprintf(f, " %.*s", len, w);
			col += 1 + len;
			w += len;
			w += strspn(w, " ");
		}
		fputc('\n', f);
	}
	return n;
}

static char *commands_doc(const char *prog, const struct cli_cmd *const *tables,
			  const char *doc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f, "%s\v" "Commands:\n", doc);
	cli_list_commands(f, tables, NULL);
	fprintf(f, "\nRun '%s COMMAND --help' for a command's options.\n\n%s\n",
		prog, CLI_EXIT_CODES_DOC);
	fclose(f);
	return buf;
}

/*
 * What a parse's parsers get: the command's parsers read the cli_parse
 * (first, so that they may take the pointer for it); argp writes help,
 * --version and errors to out and err, not to stdout and stderr.
 */
struct parse_input {
	struct cli_parse pub;
	FILE *out, *err;
};

static void capture(struct argp_state *state)
{
	struct parse_input *in = state->input;

	state->out_stream = in->out;
	state->err_stream = in->err;
}

/* Hands the global options their input, then defers to the command. */
static error_t dispatch_parse(int key, char *arg, struct argp_state *state)
{
	struct parse_input *in = state->input;

	if (key == ARGP_KEY_INIT) {
		capture(state);
		state->child_inputs[0] = in->pub.cli;
	}
	return in->pub.cmd->parser ? in->pub.cmd->parser(key, arg, state) : ARGP_ERR_UNKNOWN;
}

/* The global options alone, when no command is given. */
static error_t top_parse(int key, char *arg, struct argp_state *state)
{
	struct parse_input *in = state->input;

	if (key == ARGP_KEY_INIT)
		capture(state);
	return global_key(in->pub.cli, key, arg, state);
}

/*
 * In the shell, "(see 'upcallctl cpu add --help')" is "(see 'help cpu
 * add')" and "upcallctl cpu add: ..." is "cpu add: ...": the operator
 * types shell lines there, not command lines.
 */
static void shell_words(const struct cli *cli, const char **prog, const char *msg,
			char *buf, size_t len)
{
	size_t pl = strlen(cli->prog), n = 0;
	const char *p = msg, *q, *e;

	if (strncmp(*prog, cli->prog, pl) == 0 && (*prog)[pl] == ' ')
		*prog += pl + 1;
	while (n + 1 < len && *p) {
		const char *end;

		if (*p != '\'' || strncmp(p + 1, cli->prog, pl) ||
		    (p[pl + 1] != ' ' && p[pl + 1] != '\'') ||
		    !(end = strchr(p + pl + 1, '\'')) ||
		    end - p < (ptrdiff_t)(pl + 7) || strncmp(end - 6, "--help", 6)) {
			buf[n++] = *p++;
			continue;
		}
		q = p + pl + 1;
		while (*q == ' ')
			q++;
		e = end - 6;	/* the words between the program and --help */
		while (e > q && e[-1] == ' ')
			e--;
		n += (size_t)snprintf(buf + n, len - n, "'help%s%.*s'", e > q ? " " : "",
				      (int)(e - q), q);
		if (n >= len)
			n = len - 1;
		p = end + 1;
	}
	buf[n < len ? n : len - 1] = '\0';
}

/*
 * A diagnosis stays on one line whatever input it quotes, and goes out in
 * one write: stderr is unbuffered, and lines from parallel runs sharing it
 * must not interleave.
 */
static void print_one_line(const struct cli *cli, const char *prog, const char *msg)
{
	char line[700], words[600];
	int n;

	if (cli->shell_syntax) {
		shell_words(cli, &prog, msg, words, sizeof(words));
		msg = words;
	}
	n = snprintf(line, sizeof(line) - 1, "%s: %s", prog, msg);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	for (int i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[n++] = '\n';
	fwrite(line, 1, (size_t)n, cli->err);
}

/* "MSG (see 'NAME --help')", unless MSG says where to look already. */
static void usage_line(struct cli *cli, const char *name, const char *err)
{
	char msg[700];

	if (strstr(err, "(see '"))
		snprintf(msg, sizeof(msg), "%s", err);
	else
		snprintf(msg, sizeof(msg), "%s (see '%s --help')", err, name);
	print_one_line(cli, name, msg);
	if (cli->output == OUTPUT_JSON)
		print_json(cli, EXIT_USAGE, msg);
}

/*
 * A usage error in one line: "NAME: what (see 'NAME --help')".  argp
 * follows its message with "Try `NAME --help' or `NAME --usage' for more
 * information." wrapped over two lines; that is cut off (or, translated,
 * everything after the first line).
 */
static void usage_error(struct cli *cli, const char *name, char *err)
{
	char *end = strstr(err, "\nTry `");
	size_t len = strlen(name);

	if (!end)
		end = strchr(err, '\n');
	if (end)
		*end = '\0';
	if (strncmp(err, name, len) == 0 && strncmp(err + len, ": ", 2) == 0)
		err += len + 2;
	usage_line(cli, name, err);
}

/*
 * argp runs with ARGP_NO_EXIT and writes to streams of its own (argp_state's
 * out_stream and err_stream, set at ARGP_KEY_INIT), so that help and
 * --version go out whole and a usage error goes out in one line.  getopt
 * refuses nothing here: cli_scan() read the line first.  As argp goes on
 * after --help, a line that printed help (0) or an error (64) does not run.
 */
static int parse_args(struct cli *cli, const struct argp *argp, int argc, char **argv,
		      unsigned int flags, struct parse_input *in, bool *run)
{
	char *out = NULL, *err = NULL;
	size_t outlen = 0, errlen = 0;
	int rc = ENOMEM;

	in->out = open_memstream(&out, &outlen);
	in->err = open_memstream(&err, &errlen);
	if (in->out && in->err)
		rc = argp_parse(argp, argc, argv, flags | ARGP_NO_EXIT | ARGP_IN_ORDER, NULL, in);
	if (in->out)
		fclose(in->out);
	if (in->err)
		fclose(in->err);
	in->out = in->err = NULL;
	*run = rc == 0 && outlen == 0 && errlen == 0;
	if (outlen) {
		fputs(out, cli->out);
		fflush(cli->out);
		rc = EXIT_DONE;
	} else if (errlen) {
		usage_error(cli, argv[0], err);
		rc = EXIT_USAGE;
	} else if (rc) {
		fprintf(cli->err, "%s: %s\n", argv[0], strerror(rc));
		rc = rc == ENOMEM ? EXIT_OSERR : EXIT_USAGE;
	}
	free(out);
	free(err);
	return rc;
}

/* "upcallctl cpu --help": the commands of that object. */
static int object_help(struct cli *cli, const struct cli_cmd *const *tables,
		       const char *object)
{
	printf("Usage: %s %s VERB [OPTION...] [ARGS...]\n\nCommands:\n", cli->prog, object);
	cli_list_commands(stdout, tables, object);
	printf("\nRun '%s %s VERB --help' for a command's options,\n"
	       "'%s --help' for the global ones.\n", cli->prog, object, cli->prog);
	return EXIT_DONE;
}

/* Edits (insert, delete, substitute, swap two neighbours) from @a to @b. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), d[33][33];

	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (size_t i = 0; i <= la; i++)
		for (size_t j = 0; j <= lb; j++) {
			size_t best;

			if (!i || !j) {
				d[i][j] = i + j;
				continue;
			}
			best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[la][lb];
}

/* Keep @cand in *@best if it is the nearest to @word so far, and near enough. */
static void nearer(const char *word, const char *cand, const char **best, size_t *dist)
{
	size_t d = edit_distance(word, cand);

	if (d <= 2 && d < strlen(word) && d < *dist) {
		*best = cand;
		*dist = d;
	}
}

/* "; did you mean \"X\"?" or "" */
static void did_you_mean(char *buf, size_t len, const char *prefix, const char *best)
{
	if (best)
		snprintf(buf, len, "; did you mean \"%s%s\"?", prefix, best);
	else
		buf[0] = '\0';
}

static void nearest_long(const struct argp_option *o, const char *name,
			 const char **best, size_t *dist)
{
	for (; o && (o->name || o->key); o++)
		if (o->name)
			nearer(name, o->name, best, dist);
}

/*
 * "; did you mean \"--X\"?" for an unknown long option: the nearest of the
 * global options and the command's (or, before the command, any command's).
 */
static void option_hint(const struct cli_cmd *const *tables, const struct cli_line *line,
			char *hint, size_t len)
{
	const struct cli_cmd *c;
	const char *best = NULL;
	size_t dist = SIZE_MAX;

	hint[0] = '\0';
	if (!line->unknown[0])
		return;
	nearest_long(global_options, line->unknown, &best, &dist);
	if (line->bad_after)
		nearest_long(line->cmd->options, line->unknown, &best, &dist);
	else
		for_each_cmd(c, tables)
			nearest_long(c->options, line->unknown, &best, &dist);
	did_you_mean(hint, len, "--", best);
}

/* Is this word a number (what a "--wait 10" user meant as its value)? */
static bool is_number(const char *w)
{
	char *end;

	strtod(w, &end);
	return end != w && !*end;
}

/*
 * "--wait 10": an option whose value is optional takes it only joined
 * ("--wait=10"); a separate number would be read as the command or an
 * argument.
 */
static bool detached_value(const struct cli_line *line, int argc, char **argv,
			   char *msg, size_t len)
{
	for (int i = 1; i + 1 < argc; i++) {
		const struct cli_word *w = &line->words[i], *next = &line->words[i + 1];
		const struct argp_option *o = w->option;

		if (w->kind != CLI_WORD_OPTION || !o || !o->name || !(o->flags & OPTION_ARG_OPTIONAL) ||
		    strncmp(argv[i], "--", 2) || strchr(argv[i], '=') ||
		    (next->kind != CLI_WORD_COMMAND && next->kind != CLI_WORD_ARG) ||
		    !is_number(argv[i + 1]))
			continue;
		snprintf(msg, len, "--%s takes its value joined to it: --%s=%s",
			 o->name, o->name, argv[i + 1]);
		return true;
	}
	return false;
}

static error_t quiet_parse(int key, char *arg, struct argp_state *state)
{
	return key == ARGP_KEY_ARG ? 0 : global_parse(key, arg, state);
}

/*
 * The global options, read quietly so that a refusal made before the
 * command's own parse still honours -o json; a command's own option stops
 * that reading where it stands.
 */
static void quiet_globals(struct cli *cli, int argc, char **argv)
{
	const struct argp quiet = { .options = global_options, .parser = quiet_parse };

	argp_parse(&quiet, argc, argv, ARGP_SILENT | ARGP_IN_ORDER, NULL, cli);
}

/* "help [OBJECT [VERB]]" is "[OBJECT [VERB]] --help"; "version" is --version. */
static int help_or_version(struct cli *cli, const struct cli_cmd *const *tables,
			   const char *doc, int argc, char **argv, int w1)
{
	char **nargv;
	int nargc = 0, rc;

	if (strcmp(argv[w1], "version") == 0) {
		printf("%s\n", argp_program_version);
		return EXIT_DONE;
	}
	nargv = calloc((size_t)argc + 1, sizeof(*nargv));
	if (!nargv)
		return cli_fail(cli, EXIT_OSERR, "out of memory");
	for (int i = 0; i < argc; i++)
		if (i != w1)
			nargv[nargc++] = argv[i];
	nargv[nargc++] = "--help";
	rc = cli_main(cli, tables, doc, nargc, nargv);
	free(nargv);
	return rc;
}

/*
 * A usage error before the command is parsed: its JSON names @command,
 * the command words as far as they were understood (NULL: none was).
 */
static int usage_fail(struct cli *cli, const char *command, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int usage_fail(struct cli *cli, const char *command, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cli->command = command;
	rc = cli_fail(cli, EXIT_USAGE, "%s", msg);
	cli->command = NULL;
	return rc;
}

/*
 * Words that name no command.  For an object with verbs ("cpu"), say
 * which verbs it takes.  The global options are read first, quietly, so
 * that -o json still gets a JSON result; a command's own option stops
 * that reading where it stands.
 */
static int unknown_command(struct cli *cli, const struct cli_cmd *const *tables,
			   const struct cli_line *line, int argc, char **argv,
			   const char *object, const char *verb)
{
	const struct cli_cmd *c;
	const char *last = NULL;
	char verbs[256] = "";
	size_t n = 0;

	quiet_globals(cli, argc, argv);
	for_each_cmd(c, tables) {
		if (!c->verb || strcmp(c->object, object) != 0)
			continue;
		if (last && n < sizeof(verbs))
			n += (size_t)snprintf(verbs + n, sizeof(verbs) - n, "%s%s",
					      n ? ", " : "", last);
		last = c->verb;
	}
	if (last && !verb && line->help)
		return object_help(cli, tables, object);
	if (!last) {
		const char *best = NULL;
		size_t dist = SIZE_MAX;
		char hint[80];

		for_each_cmd(c, tables)
			nearer(object, c->object, &best, &dist);
		did_you_mean(hint, sizeof(hint), "", best);
		return usage_fail(cli, NULL, "unknown command \"%s%s%s\"%s (see '%s --help')",
				object, verb ? " " : "", verb ? verb : "", hint, cli->prog);
	}
	if (verb) {
		const char *best = NULL;
		size_t dist = SIZE_MAX;
		char hint[80];

		for_each_cmd(c, tables)
			if (c->verb && strcmp(c->object, object) == 0)
				nearer(verb, c->verb, &best, &dist);
		did_you_mean(hint, sizeof(hint), "", best);
		return usage_fail(cli, object,
				  "unknown verb \"%s\" for %s: %s%s%s%s (see '%s --help')",
				verb, object, verbs, n ? " or " : "", last, hint, cli->prog);
	}
	return usage_fail(cli, object, "%s needs a verb: %s%s%s (see '%s --help')",
			object, verbs, n ? " or " : "", last, cli->prog);
}

/* Top level: no command given; handles --help, --version, usage errors. */
static int no_command(struct cli *cli, const struct cli_cmd *const *tables,
		      const char *doc, int argc, char **argv)
{
	struct parse_input in = { .pub.cli = cli };
	struct argp argp = {
		.options = global_options,
		.parser = top_parse,
		.args_doc = "COMMAND [ARGS...]",
	};
	char *full_doc;
	bool run;
	int rc;

	full_doc = commands_doc(cli->prog, tables, doc);
	argp.doc = full_doc;
	rc = parse_args(cli, &argp, argc, argv, ARGP_NO_ARGS, &in, &run);
	free(full_doc);
	if (!run)
		return rc;
	return usage_fail(cli, NULL, "no command given (see '%s --help')", cli->prog);
}

static bool known_object(const struct cli_cmd *const *tables, const char *object)
{
	const struct cli_cmd *c;

	for_each_cmd(c, tables)
		if (strcmp(c->object, object) == 0)
			return true;
	return false;
}

/* A word cli_main() leaves out of the parse: a command word, or --program-name's. */
static bool taken_out(const struct cli_line *line, int i)
{
	const struct cli_word *w = &line->words[i];

	return w->kind == CLI_WORD_COMMAND ||
	       (w->option && w->option->name && !strcmp(w->option->name, "program-name") &&
		(w->kind == CLI_WORD_OPTION || w->kind == CLI_WORD_VALUE));
}

/* A line cli_scan() refused: one line naming the word, no parse. */
static int refused(struct cli *cli, const struct cli_cmd *const *tables,
		   const struct cli_line *line, const char *name, int argc, char **argv)
{
	char hint[80], msg[400];

	option_hint(tables, line, hint, sizeof(hint));
	quiet_globals(cli, argc, argv);
	snprintf(msg, sizeof(msg), "%s%s", line->error, hint);
	usage_line(cli, name, msg);
	return EXIT_USAGE;
}

static int run_command(struct cli *cli, const struct cli_line *line, int argc, char **argv)
{
	const struct cli_cmd *cmd = line->cmd;
	const struct argp_child children[] = {
		{ &cli_global_argp, 0, "Global options:", 1 },
		{ 0 }
	};
	struct parse_input in = { .pub.cli = cli, .pub.cmd = cmd };
	struct argp argp = {
		.options = cmd->options,
		.parser = dispatch_parse,
		.args_doc = cmd->args_doc,
		.children = children,
	};
	const char *env_vm;
	char *cmd_doc = NULL;
	bool run;
	int rc;

	in.pub.args = calloc(1, cmd->args_size ? cmd->args_size : 1);
	if (asprintf(&cmd_doc, "%s%s%s", cmd->summary,
		     cmd->alias_of ? "\vAlias of: " : "",
		     cmd->alias_of ? cmd->alias_of : "") < 0)
		cmd_doc = NULL;
	if (!in.pub.args || !cmd_doc) {
		rc = cli_fail(cli, EXIT_OSERR, "out of memory");
		goto out;
	}
	argp.doc = cmd_doc;
	cli->nvms = 0;
	rc = parse_args(cli, &argp, argc, argv, 0, &in, &run);
	/* $UPCALL_VM stands in for --vm: a glob or an @GROUP there works too */
	env_vm = getenv("UPCALL_VM");
	if (run && !cli->nvms && env_vm && *env_vm && cli_add_vm(cli, env_vm)) {
		rc = cli_fail(cli, EXIT_OSERR, "out of memory");
		run = false;
	}
	if (run)
		rc = cli_fleet_wanted(cli) ? cli_fleet_run(cli, cmd, in.pub.args) :
					   cmd->run(cli, in.pub.args);
out:
	free(cmd_doc);
	free(in.pub.args);
	return rc;
}

/*
 * cli_scan() finds the command words and refuses what getopt would;
 * the line, without the command words (and without --program-name,
 * which names the program here), then goes to the command's argp.
 */
static int main_line(struct cli *cli, const struct cli_cmd *const *tables,
		     const char *doc, const struct cli_line *line, int argc, char **argv)
{
	const char *object = line->object >= 0 ? argv[line->object] : NULL;
	const char *verb = line->verb >= 0 ? argv[line->verb] : NULL;
	char cmdname[64], prog_and_cmd[160], msg[200], **nargv;
	int nargc = 1, rc;

	if (line->prog) {
		const char *slash = strrchr(line->prog, '/');

		cli->prog = slash && slash[1] ? slash + 1 : line->prog;
	}
	if (line->cmd)
		snprintf(cmdname, sizeof(cmdname), "%s%s%s", line->cmd->object,
			 line->two_words ? " " : "", line->two_words ? line->cmd->verb : "");
	if (detached_value(line, argc, argv, msg, sizeof(msg))) {
		quiet_globals(cli, argc, argv);
		return usage_fail(cli, line->cmd ? cmdname : NULL, "%s (see '%s --help')",
				  msg, cli->prog);
	}
	/* a refusal after words that name no command: that is the error */
	if (line->bad >= 0 && !line->bad_after &&
	    (!object || line->bad < line->object || known_object(tables, object)))
		return refused(cli, tables, line, cli->prog, argc, argv);
	if (!line->cmd && object && (!strcmp(object, "help") || !strcmp(object, "version")))
		return help_or_version(cli, tables, doc, argc, argv, line->object);
	if (!line->cmd && object)
		return unknown_command(cli, tables, line, argc, argv, object, verb);

	nargv = calloc((size_t)argc + 1, sizeof(*nargv));
	if (!nargv)
		return cli_fail(cli, EXIT_OSERR, "out of memory");
	for (int i = 1; i < argc; i++)
		if (!taken_out(line, i))
			nargv[nargc++] = argv[i];
	if (!line->cmd) {
		nargv[0] = (char *)cli->prog;	/* not the path it was run by */
		rc = no_command(cli, tables, doc, nargc, nargv);
		free(nargv);
		return rc;
	}
	/* argv[0] is "prog object verb", so argp's usage line reads right */
	snprintf(prog_and_cmd, sizeof(prog_and_cmd), "%s %s", cli->prog, cmdname);
	nargv[0] = prog_and_cmd;
	cli->command = cmdname;
	if (line->bad >= 0)
		rc = refused(cli, tables, line, prog_and_cmd, argc, argv);
	else
		rc = run_command(cli, line, nargc, nargv);
	cli->command = NULL;
	free(nargv);
	return rc;
}

int cli_main(struct cli *cli, const struct cli_cmd *const *tables,
	     const char *doc, int argc, char **argv)
{
	struct cli_line line;
	int rc;

	if (cli_scan(tables, argc, argv, &line))
		return cli_fail(cli, EXIT_OSERR, "out of memory");
	rc = main_line(cli, tables, doc, &line, argc, argv);
	cli_line_free(&line);
	return rc;
}

/*
 * Would a session to @a reach @b: same transport, port and address as
 * typed?  (inventory.c's same_target() asks whether two targets are one VM,
 * whatever the port.)
 */
static bool same_endpoint(const struct upcall_target *a,
			  const struct upcall_target *b)
{
	if (a->transport != b->transport || a->port != b->port)
		return false;
	if (a->transport == UPCALL_TRANSPORT_VSOCK)
		return a->cid == b->cid;
	return strcmp(a->path, b->path) == 0;
}

/*
 * --wait on a terminal: connect now, with a live line saying what is still
 * awaited; the command's first request then finds the session open.
 */
static int wait_connected(struct cli *cli, const char *vm, const struct upcall_target *t)
{
	struct progress *p = progress_wait(cli, vm, t);
	enum upcall_status st = upcall_connect(cli->session);

	progress_end(p);
	return st == UPCALL_OK ? EXIT_DONE : cli_finish(cli, st);
}

/* @vm through the inventory into cli->entry and @t; reported on failure. */
static int cli_resolve(struct cli *cli, const char *vm, struct upcall_target *t)
{
	struct ucerr ue;

	free(cli->entry);
	cli->entry = malloc(sizeof(*cli->entry));
	if (!cli->entry)
		return cli_fail(cli, EXIT_OSERR, "out of memory");
	if (inventory_resolve(cli->config, cli->port, vm, cli->entry, t, &ue))
		return cli_report(cli, &ue);
	if (cli->entry->have_arch && !cli->arch_set)
		cli->arch = cli->entry->arch;
	inventory_set_arch(cli->entry, cli->arch);
	return EXIT_DONE;
}

int cli_session(struct cli *cli, struct upcall_session **out)
{
	struct upcall_target t;
	const char *vm = cli->vm ? cli->vm : getenv("UPCALL_VM");
	int rc;

	if (!vm || !*vm)
		return cli_fail(cli, EXIT_USAGE, cli->shell_syntax ?
				"no VM given: use 'connect TARGET' or --vm TARGET on the line" :
				"no VM given: use --vm TARGET or set UPCALL_VM");
	rc = cli_resolve(cli, vm, &t);
	if (rc)
		return rc;
	/* The shell keeps its session unless a line names another VM. */
	if (cli->session && !same_endpoint(upcall_session_target(cli->session), &t)) {
		upcall_session_free(cli->session);
		cli->session = NULL;
	}
	if (!cli->session)
		cli->session = upcall_session_new(&t);
	if (!cli->session)
		return cli_fail(cli, EXIT_OSERR, "failed to set up a session: %s", strerror(errno));
	upcall_session_set_timeout(cli->session, cli->timeout_ms);
	upcall_session_set_wait(cli->session, cli->wait_ms);
	upcall_session_set_arch(cli->session, cli->arch);
	upcall_session_set_frame_hook(cli->session, cli->verbose ? dump_frame_hook : NULL,
				      cli->err);
	upcall_session_set_cancel_fd(cli->session, cancel_fd());
	*out = cli->session;
	if (cli->wait_ms && progress_wanted(cli) && !upcall_is_connected(cli->session))
		return wait_connected(cli, vm, &t);
	return EXIT_DONE;
}

/*
 * Every result names its VM first, as each result of a fleet run does;
 * one about several VMs (a glob or group that did not expand) names none.
 */
static json_t *result(struct cli *cli)
{
	const char *vm = cli->vm ? cli->vm : getenv("UPCALL_VM");

	if (!cli->result && (cli->result = json_object()) && vm && *vm && !cli_fleet_wanted(cli))
		json_object_set_new(cli->result, "vm", json_text(vm));
	return cli->result;
}

void cli_set(struct cli *cli, const char *key, json_t *value)
{
	json_t *o = result(cli);

	if (o && value)
		json_object_set_new(o, key, value);
	else
		json_decref(value);
}


void cli_say(struct cli *cli, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (cli->output == OUTPUT_TEXT) {
		fprintf(cli->out, "%s\n", msg);
	} else {
		/* a second line joins the first: JSON has one "message" */
		json_t *prev = cli->result ? json_object_get(cli->result, "message") : NULL;
		char *both = NULL;

		if (json_is_string(prev) &&
		    asprintf(&both, "%s\n%s", json_string_value(prev), msg) >= 0) {
			free(msg);
			msg = both;
		}
		cli_set(cli, "message", json_text(msg));
	}
	free(msg);
}

void cli_set_addr(struct cli *cli, const char *key, uint64_t v)
{
	char k[64];

	snprintf(k, sizeof(k), "%s_hex", key);
	cli_set(cli, key, json_u64(v));
	cli_set(cli, k, json_hex(v));
}

static void print_json(struct cli *cli, int code, const char *error)
{
	json_t *o = result(cli);
	const char *prog = cli->prog;
	char words[600];

	if (!o)
		return;
	if (error && cli->shell_syntax) {
		shell_words(cli, &prog, error, words, sizeof(words));
		error = words;
	}
	if (cli->command)
		json_object_set_new(o, "command", json_text(cli->command));
	else if (code == EXIT_USAGE)	/* no command word was understood */
		json_object_set_new(o, "command", json_null());
	json_object_set_new(o, "ok", json_boolean(code == EXIT_DONE));
	json_object_set_new(o, "exit_code", json_integer(code));
	if (error)
		json_object_set_new(o, "error", json_text(error));
	json_dumpf_u64(o, cli->out, CLI_JSON_FLAGS);
	fputc('\n', cli->out);
	fflush(cli->out);
	json_decref(cli->result);
	cli->result = NULL;
}

static int finish(struct cli *cli, int code, const char *error)
{
	if (error)
		print_one_line(cli, cli->prog, error);
	if (cli->output == OUTPUT_JSON)
		print_json(cli, code, error);
	json_decref(cli->result);
	cli->result = NULL;
	fflush(cli->out);
	return code;
}

int cli_fail(struct cli *cli, int code, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return finish(cli, code, msg);
}

int cli_finish(struct cli *cli, enum upcall_status st)
{
	if (st == UPCALL_OK)
		return finish(cli, EXIT_DONE, NULL);
	cli_set(cli, "status", json_text(upcall_status_name(st)));
	return finish(cli, cli_exit_code(st), upcall_errmsg(cli->session));
}

int cli_report(struct cli *cli, const struct ucerr *e)
{
	if (e->st != UPCALL_OK)
		return cli_finish(cli, e->st);
	return cli_fail(cli, e->code, "%s", e->msg);
}
