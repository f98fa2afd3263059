// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The command line's grammar, read by argp itself: which words are options,
 * option values, command words and arguments.  cli_main(), the shell and
 * its completion all ask cli_scan(), so that abbreviations, clusters,
 * --opt=VALUE, "--" and argp's own options mean the same everywhere.
 *
 * argp runs silently (ARGP_SILENT) and in order (ARGP_IN_ORDER, so that
 * POSIXLY_CORRECT does not stop it at the first argument), over the same
 * tree of option groups that cli_main()'s parse has: first the global
 * options up to the command words, then, the command known, the line
 * without them with the command's options as well.  ARGP_SILENT leaves
 * out argp's own options, so the scan carries copies of them: a parser of
 * its own then sees every word, and getopt says nothing on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* argp's own options, as argp_parse() adds them to every parse (argp-parse.c). */
enum { ARGP_OWN_PROGNAME = -2, ARGP_OWN_USAGE = -3, ARGP_OWN_HANG = -4 };

static const struct argp_option own_options[] = {
	{ "help", '?', NULL, 0, NULL, 0 },
	{ "usage", ARGP_OWN_USAGE, NULL, 0, NULL, 0 },
	{ "program-name", ARGP_OWN_PROGNAME, "NAME", 0, NULL, 0 },
	{ "HANG", ARGP_OWN_HANG, "SECS", OPTION_ARG_OPTIONAL, NULL, 0 },
	{ 0 }
};

/* argp adds it only when the program has a version. */
static const struct argp_option version_options[] = {
	{ "version", 'V', NULL, 0, NULL, 0 },
	{ 0 }
};

#define MAX_GROUPS 4

struct scan {
	const struct cli_cmd *const *tables;
	struct cli_line *line;
	int argc;
	char **argv;		/* what argp reads */
	int *map;		/* its words' indexes in the caller's argv */
	int pos;		/* the word getopt reads next: state->next after the last key */
	bool commands;		/* still looking for the command words */
	int nchildren;		/* of the top group */
	const struct argp_option *groups[MAX_GROUPS];	/* in argp's order */
	int ngroups;
};

static bool is_end(const struct argp_option *o)
{
	return !o->name && !o->key && !o->doc && !o->group;
}

static bool is_short(const struct argp_option *o, int key)
{
	return !(o->flags & OPTION_DOC) && o->key == key && key > 0 && key <= 0xff &&
	       key > ' ' && key < 0x7f;
}

static bool needs_value(const struct argp_option *o)
{
	return o->arg && !(o->flags & OPTION_ARG_OPTIONAL);
}

static const struct argp_option *option_by_key(const struct argp_option *o, int key)
{
	for (; o && !is_end(o); o++)
		if (o->key == key && (o->name || is_short(o, key)))
			return o;
	return NULL;
}

static struct cli_word *word(struct scan *s, int i)
{
	return &s->line->words[s->map[i]];
}

static bool takes_verb(const struct cli_cmd *const *tables, const char *object)
{
	const struct cli_cmd *c;

	for_each_cmd(c, tables)
		if (strcmp(c->object, object) == 0)
			return c->verb != NULL;	/* as cli_lookup() finds it */
	return true;	/* unknown: the next word goes into "unknown command" */
}

static void command_word(struct scan *s, int i, struct argp_state *state)
{
	struct cli_line *line = s->line;

	word(s, i)->kind = CLI_WORD_COMMAND;
	if (line->object < 0) {
		line->object = s->map[i];
		if (takes_verb(s->tables, s->argv[i]))
			return;
	} else {
		line->verb = s->map[i];
	}
	s->commands = false;
	state->next = state->argc;	/* the rest is read with the command's options */
}

static void argument(struct scan *s, struct argp_state *state)
{
	int i = state->next - 1;

	for (int k = s->pos; k < i; k++)
		word(s, k)->kind = CLI_WORD_QUOTE;	/* getopt stepped over "--" */
	s->pos = state->next;
	if (s->commands) {
		command_word(s, i, state);
		return;
	}
	word(s, i)->kind = CLI_WORD_ARG;
	s->line->nargs++;
}

static void option(struct scan *s, const struct argp_option *table,
		   const struct argp_option *o, char *arg, struct argp_state *state)
{
	struct cli_line *line = s->line;
	int i = s->pos;

	word(s, i)->kind = CLI_WORD_OPTION;
	word(s, i)->option = o;
	if (arg && state->next == i + 2 && arg == s->argv[i + 1]) {
		word(s, i + 1)->kind = CLI_WORD_VALUE;
		word(s, i + 1)->option = o;
	}
	s->pos = state->next;
	if (table == version_options)
		line->version = true;
	else if (table != own_options)
		return;
	else if (o->key == '?' || o->key == ARGP_OWN_USAGE)
		line->help = true;
	else if (o->key == ARGP_OWN_PROGNAME)
		line->prog = arg;
}

/*
 * The options whose long name starts with @name, in argp's order: the one
 * of that very name, the first, how many distinct ones (getopt's test for
 * an ambiguous abbreviation: another group or key) and their names.
 */
static void long_matches(struct scan *s, const char *name, size_t n,
			 const struct argp_option **exact, const struct argp_option **first,
			 int *distinct, char *list, size_t len)
{
	size_t used = 0;
	int first_group = -1, first_key = 0;

	*exact = *first = NULL;
	*distinct = 0;
	for (int g = 0; g < s->ngroups; g++)
		for (const struct argp_option *o = s->groups[g]; o && !is_end(o); o++) {
			if (!o->name || strncmp(o->name, name, n) != 0)
				continue;
			if (strlen(o->name) == n && !*exact)
				*exact = o;
			if (!*first) {
				*first = o;
				first_group = g;
				first_key = o->key;
				*distinct = 1;
			} else if (g != first_group || o->key != first_key) {
				(*distinct)++;
			}
			if (used < len)
				used += (size_t)snprintf(list + used, len - used, " '--%s'", o->name);
		}
}

/* An option of some command, not a global one: "--apic-ids" before "cpu add". */
static bool command_option(struct scan *s, const char *name, size_t n, int key)
{
	const struct cli_cmd *c;

	if (!s->commands)
		return false;
	for_each_cmd(c, s->tables)
		for (const struct argp_option *o = c->options; o && !is_end(o); o++)
			if ((name && o->name && strlen(o->name) == n && !strncmp(o->name, name, n)) ||
			    (!name && is_short(o, key)))
				return true;
	return false;
}

static void refuse_long(struct scan *s, const char *w, bool last)
{
	struct cli_line *line = s->line;
	const struct argp_option *exact, *o;
	size_t n = strcspn(w + 2, "=");
	bool joined = w[2 + n] == '=';
	char list[160] = "";
	int distinct;

	long_matches(s, w + 2, n, &exact, &o, &distinct, list, sizeof(list));
	if (exact)
		o = exact;
	else if (distinct > 1) {
		snprintf(line->error, sizeof(line->error),
			 "option '--%.*s' is ambiguous; possibilities:%s", (int)n, w + 2, list);
		return;
	}
	if (!o && command_option(s, w + 2, n, 0)) {
		snprintf(line->error, sizeof(line->error),
			 "option \"--%.*s\" is a command's: it goes after the command", (int)n, w + 2);
	} else if (!o) {
		snprintf(line->error, sizeof(line->error), "unknown option \"--%.*s\"", (int)n, w + 2);
		snprintf(line->unknown, sizeof(line->unknown), "%.*s", (int)n, w + 2);
	} else if (joined && !o->arg) {
		snprintf(line->error, sizeof(line->error), "option \"--%s\" takes no value", o->name);
	} else {
		snprintf(line->error, sizeof(line->error), "option \"--%s\" needs a value", o->name);
		if (last && needs_value(o))
			line->pending = o;
	}
}

static const struct argp_option *short_option(struct scan *s, int key)
{
	for (int g = 0; g < s->ngroups; g++)
		for (const struct argp_option *o = s->groups[g]; o && !is_end(o); o++)
			if (is_short(o, key))
				return o;
	return NULL;
}

static void refuse_short(struct scan *s, const char *w, bool last)
{
	struct cli_line *line = s->line;

	for (const char *p = w + 1; *p; p++) {
		const struct argp_option *o = short_option(s, (unsigned char)*p);

		if (!o) {
			snprintf(line->error, sizeof(line->error),
				 command_option(s, NULL, 0, (unsigned char)*p) ?
				 "option \"-%c\" is a command's: it goes after the command" :
				 "unknown option \"-%c\"", *p);
			return;
		}
		if (o->arg) {
			snprintf(line->error, sizeof(line->error), "option \"-%c\" needs a value", *p);
			if (last && !p[1] && needs_value(o))
				line->pending = o;
			return;
		}
	}
	snprintf(line->error, sizeof(line->error), "bad option \"%s\"", w);
}

/*
 * getopt refused the word it was reading (it said nothing: ARGP_NO_ERRS);
 * say why, as it would have.
 */
static void refuse(struct scan *s)
{
	struct cli_line *line = s->line;
	const char *w;

	if (line->bad >= 0 || s->pos >= s->argc)
		return;
	w = s->argv[s->pos];
	line->bad = s->map[s->pos];
	line->bad_after = !s->commands;
	if (w[1] == '-')
		refuse_long(s, w, s->pos + 1 == s->argc);
	else
		refuse_short(s, w, s->pos + 1 == s->argc);
}

static error_t scan_key(struct scan *s, const struct argp_option *table, int key,
			char *arg, struct argp_state *state)
{
	const struct argp_option *o;

	if (key == ARGP_KEY_ERROR)
		refuse(s);
	o = option_by_key(table, key);
	if (!o)
		return ARGP_ERR_UNKNOWN;
	option(s, table, o, arg, state);
	return 0;
}

static error_t scan_top(int key, char *arg, struct argp_state *state)
{
	struct scan *s = state->input;

	(void)arg;
	if (key == ARGP_KEY_INIT)
		for (int i = 0; i < s->nchildren; i++)
			state->child_inputs[i] = s;
	if (key == ARGP_KEY_ARG)
		argument(s, state);
	else if (key == ARGP_KEY_ERROR)
		refuse(s);
	else
		return ARGP_ERR_UNKNOWN;
	return 0;
}

static error_t scan_cmd(int key, char *arg, struct argp_state *state)
{
	struct scan *s = state->input;

	if (key == ARGP_KEY_INIT)
		state->child_inputs[0] = s;
	return scan_key(s, s->groups[0], key, arg, state);
}

static error_t scan_global(int key, char *arg, struct argp_state *state)
{
	return scan_key(state->input, cli_global_argp.options, key, arg, state);
}

static error_t scan_own(int key, char *arg, struct argp_state *state)
{
	return scan_key(state->input, own_options, key, arg, state);
}

static error_t scan_version(int key, char *arg, struct argp_state *state)
{
	return scan_key(state->input, version_options, key, arg, state);
}

/*
 * The tree cli_main()'s parse has, with argp's own groups as argp_parse()
 * adds them: [command options [global options]], argp's, version.
 */
static void run(struct scan *s, const struct cli_cmd *cmd)
{
	const struct argp globals = { .options = cli_global_argp.options, .parser = scan_global };
	const struct argp_child cmd_children[] = { { &globals, 0, NULL, 0 }, { 0 } };
	const struct argp with_cmd = {
		.options = cmd ? cmd->options : NULL,
		.parser = scan_cmd,
		.children = cmd_children,
	};
	const struct argp own = { .options = own_options, .parser = scan_own };
	const struct argp version = { .options = version_options, .parser = scan_version };
	struct argp_child children[4] = { { cmd ? &with_cmd : &globals, 0, NULL, 0 } };
	const struct argp top = { .parser = scan_top, .children = children };

	s->nchildren = 1;
	s->ngroups = 0;
	if (cmd)
		s->groups[s->ngroups++] = cmd->options;
	s->groups[s->ngroups++] = cli_global_argp.options;
	children[s->nchildren++].argp = &own;
	s->groups[s->ngroups++] = own_options;
	if (argp_program_version || argp_program_version_hook) {
		children[s->nchildren++].argp = &version;
		s->groups[s->ngroups++] = version_options;
	}
	s->pos = 1;
	argp_parse(&top, s->argc, s->argv, ARGP_SILENT | ARGP_IN_ORDER, NULL, s);
}

int cli_scan(const struct cli_cmd *const *tables, int argc, char **argv,
	     struct cli_line *line)
{
	struct scan s = { .tables = tables, .line = line, .argc = argc, .argv = argv,
			  .commands = true };
	char **rest;
	int n = 1;

	memset(line, 0, sizeof(*line));
	line->object = line->verb = line->bad = -1;
	line->words = calloc((size_t)argc + 1, sizeof(*line->words));
	s.map = calloc((size_t)argc + 1, sizeof(*s.map));
	rest = calloc((size_t)argc + 1, sizeof(*rest));
	if (!line->words || !s.map || !rest) {
		free(s.map);
		free(rest);
		cli_line_free(line);
		return -ENOMEM;
	}
	for (int i = 0; i < argc; i++)
		s.map[i] = i;
	run(&s, NULL);
	if (line->object >= 0 && line->bad < 0)
		line->cmd = cli_lookup(tables, argv[line->object],
				       line->verb >= 0 ? argv[line->verb] : NULL, &line->two_words);
	if (!line->cmd)
		goto out;
	/* the command words out, as cli_main() hands the line to the command */
	rest[0] = argv[0];
	for (int i = 1; i < argc; i++) {
		if (i == line->object || i == line->verb)
			continue;
		s.map[n] = i;
		rest[n++] = argv[i];
	}
	s.argc = n;
	s.argv = rest;
	s.commands = false;
	run(&s, line->cmd);
out:
	free(rest);
	free(s.map);
	return 0;
}

void cli_line_free(struct cli_line *line)
{
	free(line->words);
	line->words = NULL;
}
