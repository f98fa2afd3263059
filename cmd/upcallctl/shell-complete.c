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

static const struct argp_option *option_in(const struct argp_option *o,
					   const char *word)
{
	size_t n = strcspn(word + 2, "=");

	for (; o && (o->name || o->key); o++) {
		if (word[1] == '-' && o->name && strlen(o->name) == n &&
		    strncmp(o->name, word + 2, n) == 0)
			return o;
		if (word[1] != '-' && o->key == word[1])
			return o;
	}
	return NULL;
}

/* The global or command option @word (-x, --name, --name=...) names. */
static const struct argp_option *find_option(const char *word)
{
	const struct argp_option *o = option_in(cli_global_argp.options, word);
	const struct cli_cmd *c;

	for_each_cmd(c, tables())
		if (!o)
			o = option_in(c->options, word);
	return o;
}

static bool takes_value(const char *word)
{
	const struct argp_option *o = find_option(word);

	return o && o->arg && !(o->flags & OPTION_ARG_OPTIONAL) && !strchr(word, '=') &&
	       (word[1] == '-' || !word[2]);
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
static void add_argument(const struct cli_cmd *cmd, int i, char **words)
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
	else if (strncmp(w, "COMMAND", 7) == 0 && i == 1)
		add_verbs(words[-1]);
	else if (strchr(w, '|'))
		for (char *s2 = NULL, *v = strtok_r(w, "|", &s2); v; v = strtok_r(NULL, "|", &s2))
			add(v);
	else
		add_values(w);
}

/* Complete the word after @argv (the words before it, argv[0] the program). */
static void collect(int argc, char **argv, bool after_equals)
{
	char *words[8];
	int nw = 0;
	const char *prev = argc > 1 ? argv[argc - 1] : "";
	const struct argp_option *o = prev[0] == '-' ? find_option(prev) : NULL;
	const struct cli_cmd *cmd = NULL;
	bool two = false;

	for (int i = 1; i < argc && nw < 8; i++) {
		if (argv[i][0] != '-')
			words[nw++] = argv[i];
		else if (takes_value(argv[i]) && i + 1 < argc)
			i++;
	}
	if (nw)
		cmd = cli_lookup(tables(), words[0], nw > 1 ? words[1] : NULL, &two);
	if (o && o->name && (after_equals || takes_value(prev)))
		add_values(o->name);
	else if (cands.text[0] == '-' && cmd)
		add_options(cmd->options);
	else if (nw == 0)
		add_objects();
	else if (!cmd && nw == 1)
		add_verbs(words[0]);
	else if (cmd)
		add_argument(cmd, nw - (two ? 2 : 1), words + nw);
	if (cands.text[0] == '-' && !(o && after_equals)) {
		add_options(cli_global_argp.options);
		add("--help");
	}
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
