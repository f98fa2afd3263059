// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Tab completion, generated from the command tables and their argp options:
 * command words, verbs, option names, option values (architectures, output
 * formats, VM names from the inventory) and words named by an args_doc
 * ("on|off", COMMAND, TARGET, TYPE).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <readline/readline.h>

#include "../common/inventory.h"
#include "shell.h"

/* Matches for the word being completed; handed to readline one by one. */
static struct {
	char **v;
	size_t n, cap;
	const char *text;
	size_t len;
} cands;

static void add(const char *w)
{
	char *copy;

	if (strncmp(w, cands.text, cands.len) != 0)
		return;
	for (size_t i = 0; i < cands.n; i++)
		if (strcmp(cands.v[i], w) == 0)
			return;
	if (cands.n == cands.cap) {
		size_t cap = cands.cap ? 2 * cands.cap : 16;
		char **v = realloc(cands.v, cap * sizeof(*v));

		if (!v)
			return;
		cands.v = v;
		cands.cap = cap;
	}
	copy = strdup(w);
	if (copy)
		cands.v[cands.n++] = copy;
}

static char *generate(const char *text, int state)
{
	static size_t i;

	(void)text;
	if (!state)
		i = 0;
	if (i < cands.n)
		return cands.v[i++];	/* readline frees it */
	free(cands.v);
	memset(&cands, 0, sizeof(cands));
	return NULL;
}

static const struct cli_cmd *const *tables(void)
{
	return (const struct cli_cmd *const *)shell.tables;
}

/* Names a command accepts only: no control characters reach the terminal. */
static void add_name(void *data, const char *name, bool group)
{
	char w[VM_NAME_MAX + 1];
	bool groups = *(const bool *)data;

	if (group != groups)
		return;
	snprintf(w, sizeof(w), "%s%s", group ? "@" : "", name);
	add(w);
}

/* VM names, or with @groups "@GROUP" names, as a command would read them. */
static void add_vms_from(const char *file, bool groups)
{
	inventory_names(file, add_name, &groups);
}

static void add_vm_names(bool groups)
{
	char files[INVENTORY_MAX_FILES][PATH_MAX];
	int n = inventory_files(shell.globals.config, files);

	for (int i = 0; i < n; i++)
		add_vms_from(files[i], groups);
}

/* Values of an option (by its long name) or of a named argument. */
static void add_values(const char *what)
{
	if (strcmp(what, "arch") == 0) {
		for (int a = UPCALL_ARCH_X86_64; a <= UPCALL_ARCH_AARCH64; a++)
			add(upcall_arch_name((enum upcall_arch)a));
	} else if (strcmp(what, "output") == 0) {
		add("text");
		add("json");
	} else if (strcmp(what, "vm") == 0 || strcmp(what, "TARGET") == 0) {
		add_vm_names(cands.text[0] == '@');
		rl_attempted_completion_over = cands.n > 0 || cands.text[0] == '@';
	} else if (strcmp(what, "config") == 0) {
		rl_attempted_completion_over = 0;
	} else if (strcmp(what, "TYPE") == 0) {
		char name[32];

		for (uint32_t t = 0; t <= UPCALL_MSG_QUERY_PCI; t++)
			if (strncmp(upcall_msg_type_name(t, name, sizeof(name)), "TYPE_", 5))
				add(name);
	}
}

static void add_options(const struct argp_option *o)
{
	char name[64];

	for (; o && (o->name || o->key); o++)
		if (o->name && snprintf(name, sizeof(name), "--%s", o->name) > 0)
			add(name);
}

static void add_objects(void)
{
	const struct cli_cmd *c;

	for_each_cmd(c, tables())
		add(c->object);
}

static void add_verbs(const char *object)
{
	const struct cli_cmd *c;

	for_each_cmd(c, tables())
		if (c->verb && strcmp(c->object, object) == 0)
			add(c->verb);
}

/* Argument @i of @cmd, from its args_doc: "on|off", "COMMAND", "TARGET"... */
static void add_argument(const struct cli_cmd *cmd, int i, const char *prev)
{
	char doc[64], *save = NULL, *w;

	snprintf(doc, sizeof(doc), "%s", cmd->args_doc ? cmd->args_doc : "");
	w = strtok_r(doc, " []", &save);
	for (int k = 0; w && k < i && !strstr(w, "..."); k++)
		w = strtok_r(NULL, " []", &save);
	if (!w)
		return;
	if (strncmp(w, "COMMAND", 7) == 0 && i == 0)
		add_objects();
	else if (strncmp(w, "COMMAND", 7) == 0 && i == 1 && prev)
		add_verbs(prev);
	else if (strchr(w, '|'))
		for (char *s2 = NULL, *v = strtok_r(w, "|", &s2); v; v = strtok_r(NULL, "|", &s2))
			add(v);
	else
		add_values(w);
}

/* The last argument before the word being completed, or NULL. */
static const char *last_argument(const struct cli_line *line, int argc, char **argv)
{
	for (int i = argc - 1; i > 0; i--)
		if (line->words[i].kind == CLI_WORD_ARG)
			return argv[i];
	return NULL;
}

/*
 * Complete the word after @argv (the words before it, argv[0] the
 * program), read as cli_main() reads a line: cli_scan() says which words
 * are options, values, command words and arguments.
 */
static void collect(int argc, char **argv, bool after_equals)
{
	const struct cli_cmd *const *t = tables();
	const struct argp_option *value_of = NULL;
	struct cli_line line;

	if (cli_scan(t, argc, argv, &line))
		return;
	if (after_equals && argc > 1 && line.words[argc - 1].kind == CLI_WORD_OPTION)
		value_of = line.words[argc - 1].option;	/* "--vm=" */
	else if (!after_equals && line.pending)
		value_of = line.pending;		/* "--vm ", "-vo " */
	if (value_of) {
		if (value_of->name)
			add_values(value_of->name);
	} else if (cands.text[0] == '-') {
		if (line.cmd)
			add_options(line.cmd->options);
	} else if (line.bad >= 0) {
		/* a refused word before: nothing reads right after it */
	} else if (line.object < 0) {
		add_objects();
	} else if (!line.cmd && line.verb < 0) {
		add_verbs(argv[line.object]);
	} else if (line.cmd) {
		add_argument(line.cmd, line.nargs, last_argument(&line, argc, argv));
	}
	if (cands.text[0] == '-' && !value_of) {
		add_options(cli_global_argp.options);
		add("--help");
	}
	cli_line_free(&line);
}

static char **complete(const char *text, int start, int end)
{
	char *head = strndup(rl_line_buffer, (size_t)start);
	const char *err;
	int argc;
	char **argv = head ? shell_split(head, true, &argc, &err) : NULL;

	(void)end;
	rl_attempted_completion_over = 1;
	cands.text = text;
	cands.len = strlen(text);
	if (argv)
		collect(argc, argv, start > 0 && rl_line_buffer[start - 1] == '=');
	if (argv)
		free(argv[0]);
	free(argv);
	free(head);
	if (!cands.n)
		return NULL;
	return rl_completion_matches(text, generate);
}

void shell_complete_init(void)
{
	rl_attempted_completion_function = complete;
	rl_completer_word_break_characters = " \t\n=";
}
