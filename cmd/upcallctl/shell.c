// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * upcallctl shell: one session kept open across commands, read with GNU
 * readline on a terminal (prompt, history, completion, Ctrl-C abandons a
 * pending request) or line by line from a script.  Each line is split into
 * words and handed to cli_main() with the same tables as the one-shot CLI.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "../common/cancel.h"
#include "../common/clock.h"
#include "shell.h"

struct shell shell;

static volatile sig_atomic_t interrupted;

struct shell_args {
	bool keep_going;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Copy one word from *@pp to *@op, unquoting; returns the open quote or 0. */
static char copy_word(const char **pp, char **op)
{
	const char *p = *pp;
	char *o = *op, q = 0;

	for (; *p && (q || !is_blank(*p)); p++) {
		if (q && *p == q)
			q = 0;
		else if (q == '"' && *p == '\\' && p[1] && strchr("\"\\", p[1]))
			*o++ = *++p;
		else if (q)
			*o++ = *p;
		else if (*p == '\'' || *p == '"')
			q = *p;
		else if (*p == '\\' && p[1])
			*o++ = *++p;
		else
			*o++ = *p;
	}
	*o++ = '\0';
	*pp = p;
	*op = o;
	return q;
}

char **shell_split(const char *line, bool partial, int *argc, const char **err)
{
	size_t len = strlen(line);
	char **argv = calloc(len / 2 + 3, sizeof(*argv));
	char *buf = malloc(len + sizeof("upcallctl") + 1);
	const char *p = line;
	char *o = buf;
	int n = 0;

	if (!argv || !buf) {
		*err = "out of memory";
		goto fail;
	}
	argv[n++] = strcpy(buf, "upcallctl");
	o += sizeof("upcallctl");
	for (;;) {
		while (is_blank(*p))
			p++;
		if (!*p || *p == '#')
			break;
		argv[n++] = o;
		if (copy_word(&p, &o) && !partial) {
			*err = "unterminated quote";
			goto fail;
		}
	}
	*argc = n;
	return argv;
fail:
	free(buf);
	free(argv);
	return NULL;
}

static void free_words(char **argv)
{
	if (argv)
		free(argv[0]);
	free(argv);
}

const char *shell_target(const struct cli *cli)
{
	const char *vm = cli->vm ? cli->vm : getenv("UPCALL_VM");

	return vm && *vm ? vm : NULL;
}

void shell_note_drop(struct cli *cli)
{
	struct upcall_session *s = cli->session;
	enum upcall_status st;
	char target[160];
	uint64_t connects;

	if (!s || !upcall_is_connected(s))
		return;
	connects = upcall_session_stat(s, UPCALL_STAT_CONNECTS);
	st = upcall_connect(s);
	if (st == UPCALL_OK && upcall_session_stat(s, UPCALL_STAT_CONNECTS) == connects)
		return;
	upcall_target_format(upcall_session_target(s), target, sizeof(target));
	if (st == UPCALL_OK)
		printf("connection to %s was closed by the guest; reconnected\n", target);
	else
		printf("connection to %s was closed by the guest; could not reconnect: %s\n",
		       target, upcall_errmsg(s));
	fflush(stdout);
}

/* Line options apply to that line only: start each line from the shell's. */
static void restore_globals(struct cli *cli)
{
	struct upcall_session *s = cli->session;
	struct vm_entry *e = cli->entry;
	const char *command = cli->command;
	const char **vms = cli->vms;	/* grown by the lines' --vm */

	*cli = shell.globals;
	cli->session = s;
	cli->entry = e;
	cli->command = command;
	cli->vms = vms;
}

static bool is_shell_cmd(const char *word)
{
	for (const struct cli_cmd *c = shell_cmds; c->object; c++)
		if (strcmp(c->object, word) == 0)
			return true;
	return false;
}

static uint64_t session_stat(const struct cli *cli, enum upcall_stat key)
{
	return cli->session ? upcall_session_stat(cli->session, key) : 0;
}

static void print_timing(const struct cli *cli, uint64_t start, uint64_t requests)
{
	fprintf(stderr, "time: %.3f ms", (double)(now_ns() - start) / 1e6);
	if (session_stat(cli, UPCALL_STAT_REQUESTS) != requests)
		fprintf(stderr, ", round trip %.3f ms",
			(double)session_stat(cli, UPCALL_STAT_LAST_RTT_NS) / 1e6);
	fputc('\n', stderr);
}

static bool same_vm(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* A line that reached a guest: what status calls the last round trip. */
static void note_round_trip(const struct cli *cli, int argc, char **argv, int rc,
			    uint64_t requests, uint64_t connects)
{
	bool req = session_stat(cli, UPCALL_STAT_REQUESTS) != requests;
	size_t n = 0, len = sizeof(shell.last.line);

	if (!req && session_stat(cli, UPCALL_STAT_CONNECTS) == connects)
		return;
	shell.last.line[0] = '\0';
	for (int i = 1; i < argc && n < len; i++)	/* its words, without a comment */
		n += (size_t)snprintf(shell.last.line + n, len - n, "%s%s", i > 1 ? " " : "",
				      argv[i]);
	upcall_target_format(upcall_session_target(cli->session), shell.last.target,
			     sizeof(shell.last.target));
	shell.last.rtt_ns = session_stat(cli, req ? UPCALL_STAT_LAST_RTT_NS :
					 UPCALL_STAT_LAST_CONNECT_NS);
	shell.last.rc = rc;
	shell.last.set = true;
}

/*
 * A line's own --vm is for that line: its session is closed after it, so
 * the prompt and status, which name the shell's target, stay true.
 */
static void drop_line_session(struct cli *cli)
{
	if (same_vm(shell_target(cli), shell_target(&shell.globals)))
		return;
	upcall_session_free(cli->session);
	cli->session = NULL;
	free(cli->entry);
	cli->entry = NULL;
}

/* Run one line; returns its exit code (0 for a blank line or a comment). */
static int run_line(struct cli *cli, const char *line)
{
	const char *err = NULL;
	int argc, rc;
	char **argv = shell_split(line, false, &argc, &err);
	uint64_t start = now_ns(), requests = session_stat(cli, UPCALL_STAT_REQUESTS);
	uint64_t connects = session_stat(cli, UPCALL_STAT_CONNECTS);
	const struct upcall_session *before = cli->session;
	struct cli_line words;
	const char *object;

	if (!argv)
		return cli_fail(cli, strcmp(err, "out of memory") ? EXIT_USAGE : EXIT_OSERR,
				"%s", err);
	if (argc == 1) {
		free_words(argv);
		return EXIT_DONE;
	}
	if (cli_scan((const struct cli_cmd *const *)shell.tables, argc, argv, &words)) {
		free_words(argv);
		return cli_fail(cli, EXIT_OSERR, "out of memory");
	}
	object = words.object >= 0 ? argv[words.object] : NULL;
	cli_line_free(&words);
	if (!object && words.bad < 0) {
		free_words(argv);
		return cli_fail(cli, EXIT_USAGE, "no command given (type 'help')");
	}
	restore_globals(cli);
	if (!object || !is_shell_cmd(object))
		shell_note_drop(cli);
	rc = cli_main(cli, (const struct cli_cmd *const *)shell.tables, upcallctl_doc,
		      argc, argv);
	if (shell.timing)
		print_timing(cli, start, requests);
	/* a new session counts from zero (and may sit where the old one was) */
	if (cli->session != before || session_stat(cli, UPCALL_STAT_CONNECTS) < connects ||
	    session_stat(cli, UPCALL_STAT_REQUESTS) < requests)
		requests = connects = 0;
	if (cli->session && (!object || strcmp(object, "status")))
		note_round_trip(cli, argc, argv, rc, requests, connects);
	drop_line_session(cli);
	restore_globals(cli);
	free_words(argv);
	return rc;
}

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
	cancel_raise();
}

/* SIGINT interrupts waits (no SA_RESTART) and only raises the flag. */
static int catch_sigint(struct sigaction *old)
{
	struct sigaction sa = { .sa_handler = on_sigint };

	sigemptyset(&sa.sa_mask);
	return sigaction(SIGINT, &sa, old);
}

/* $XDG_STATE_HOME/upcall/history, creating the directories. */
static char *history_path(void)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char *dir = NULL, *path = NULL;

	if (state && *state)
		dir = strdup(state);
	else if (home && *home && asprintf(&dir, "%s/.local/state", home) < 0)
		dir = NULL;
	if (!dir)
		return NULL;
	if (asprintf(&path, "%s/upcall/history", dir) < 0)
		path = NULL;
	for (char *p = path ? path + 1 : NULL; p && (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(path, 0700) && errno != EEXIST)
			fprintf(stderr, "upcallctl: cannot create %s: %s\n", path, strerror(errno));
		*p = '/';
	}
	free(dir);
	return path;
}

static char *prompt_text(const struct cli *cli)
{
	const char *vm = shell_target(cli);
	bool up = cli->session && upcall_is_connected(cli->session);
	char *p;

	if (asprintf(&p, "upcall %s [%s]> ", vm ? vm : "(no VM)",
		     up ? "connected" : "disconnected") < 0)
		return NULL;
	return p;
}

static char *read_result;
static bool read_done;

static void on_line(char *line)
{
	rl_callback_handler_remove();
	read_result = line;
	read_done = true;
}

/* Ctrl-C at the prompt: drop what was typed and prompt again. */
static void cancel_input(void)
{
	interrupted = 0;
	cancel_clear();
	rl_echo_signal_char(SIGINT);
	rl_free_line_state();
	rl_callback_sigcleanup();
	rl_replace_line("", 0);
	rl_crlf();
	rl_on_new_line();
	rl_redisplay();
}

/* Returns the line (malloc'd), or NULL at end of input. */
static char *read_line(const struct cli *cli)
{
	char *prompt = prompt_text(cli);

	read_done = false;
	read_result = NULL;
	interrupted = 0;
	cancel_clear();
	rl_callback_handler_install(prompt ? prompt : "upcall> ", on_line);
	while (!read_done) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };

		if (poll(&pfd, 1, -1) > 0)
			rl_callback_read_char();
		else if (errno == EINTR && interrupted)
			cancel_input();
		else if (errno != EINTR)
			break;
	}
	if (!read_done)
		rl_callback_handler_remove();
	free(prompt);
	return read_result;
}

static void remember(const char *line)
{
	HIST_ENTRY *last = history_length ? history_get(history_base + history_length - 1) : NULL;
	const char *p = line;

	while (is_blank(*p))
		p++;
	if (*p && !(last && strcmp(last->line, line) == 0))
		add_history(line);
}

static int interactive(struct cli *cli)
{
	char *hist = history_path(), *line;

	rl_readline_name = "upcallctl";
	rl_catch_signals = 0;
	shell_complete_init();
	stifle_history(SHELL_HISTORY_MAX);
	if (hist)
		read_history(hist);
	while (!shell.quit && (line = read_line(cli))) {
		remember(line);
		run_line(cli, line);
		free(line);
	}
	if (!shell.quit)
		putchar('\n');	/* Ctrl-D leaves the cursor after the prompt */
	if (hist && write_history(hist))
		fprintf(stderr, "upcallctl: cannot write %s: %s\n", hist, strerror(errno));
	free(hist);
	rl_clear_history();
	return EXIT_DONE;
}

/* Not a terminal: one command a line; stop at the first failure. */
static int script(struct cli *cli, bool keep_going)
{
	char *line = NULL;
	size_t size = 0;
	int first = EXIT_DONE, rc;

	/* a Ctrl-C between two lines stops the script as well as one in a wait */
	while (!shell.quit && !interrupted && getline(&line, &size, stdin) >= 0) {
		rc = run_line(cli, line);
		if (rc && !first)
			first = rc;
		if (rc && !keep_going)
			break;
	}
	if (!first && interrupted)
		first = EXIT_CANCELLED;
	free(line);
	return first;
}

/* upcallctl's tables but the shell itself, then the shell's commands. */
static const struct cli_cmd **shell_tables(void)
{
	size_t n = 0, k = 0;
	const struct cli_cmd **t;

	while (upcallctl_tables[n])
		n++;
	t = calloc(n + 1, sizeof(*t));
	if (!t)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (upcallctl_tables[i] != upcallctl_shell_cmds)
			t[k++] = upcallctl_tables[i];
	t[k] = shell_cmds;
	return t;
}

static int run_shell(struct cli *cli, void *args)
{
	struct shell_args *a = args;
	struct sigaction old;
	int rc;

	shell.tables = shell_tables();
	if (!shell.tables || catch_sigint(&old))
		return cli_fail(cli, EXIT_OSERR, "cannot start the shell: %s", strerror(errno));
	cli->shell_syntax = true;
	shell.globals = *cli;
	shell.globals.command = NULL;
	rc = isatty(STDIN_FILENO) ? interactive(cli) : script(cli, a->keep_going);
	sigaction(SIGINT, &old, NULL);
	free(shell.tables);
	free(shell.vm);
	memset(&shell, 0, sizeof(shell));
	return rc;
}

/* No command words, no help asked for, nothing refused: on a terminal, the shell. */
bool shell_by_default(int argc, char **argv)
{
	struct cli_line line;
	bool shell_wanted;

	if (!isatty(STDIN_FILENO) || cli_scan(upcallctl_tables, argc, argv, &line))
		return false;
	shell_wanted = line.object < 0 && line.bad < 0 && !line.help && !line.version;
	cli_line_free(&line);
	return shell_wanted;
}

int shell_start(struct cli *cli, int argc, char **argv)
{
	char **nargv = calloc((size_t)argc + 2, sizeof(*nargv));
	char word[] = "shell";
	int rc;

	if (!nargv)
		return cli_fail(cli, EXIT_OSERR, "out of memory");
	memcpy(nargv, argv, (size_t)argc * sizeof(*nargv));
	nargv[argc] = word;
	rc = cli_main(cli, upcallctl_tables, upcallctl_doc, argc + 1, nargv);
	free(nargv);
	return rc;
}

static error_t shell_parse(int key, char *arg, struct argp_state *state)
{
	struct shell_args *a = ((struct cli_parse *)state->input)->args;

	(void)arg;
	if (key != 'k')
		return ARGP_ERR_UNKNOWN;
	a->keep_going = true;
	return 0;
}

static const struct argp_option shell_options[] = {
	{ "keep-going", 'k', NULL, 0, "Script mode: run every line even after a failure", 0 },
	{ 0 }
};

const struct cli_cmd upcallctl_shell_cmds[] = {
	{ "shell", NULL, NULL,
	  "Interactive console with one session kept open (commands from stdin when it is not a terminal)",
	  shell_options, shell_parse, sizeof(struct shell_args), run_shell, NULL, true },
	{ 0 }
};
