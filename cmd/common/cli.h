/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared by every binary of the suite: global options, the verb table,
 * argument parsers, output (text or JSON) and exit codes.
 */
#ifndef UPCALL_CLI_H
#define UPCALL_CLI_H

#include <argp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <upcall/upcall.h>

#include "error.h"
#include "json.h"
#include "parse.h"

#define CLI_EXIT_CODES_DOC						\
	"Exit status: 0 done; 1 the guest or the VMM refused; 2 partial (some CPUs " \
	"done, or the VMM made what the guest did not take); 5 busy (--no-wait); " \
	"64 usage error (nothing sent); 69 unreachable (no socket, no listener, " \
	"refused); 71 local failure; 75 timed out; 76 protocol error (bad magic, " \
	"wrong type, short frame); 130 interrupted.  With several VMs: 0 all " \
	"done; 3 some failed; all failed: the code they shared, else 4."

enum cli_output { OUTPUT_TEXT, OUTPUT_JSON };
/* One object a line; 10 digits print 347.386 as such, not 347.38600000000002. */
#define CLI_JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10))

struct cli {
	const char *prog;
	/* global options */
	const char *vm;
	const char **vms;		/* every --vm given, when several */
	unsigned int nvms;
	unsigned int jobs;		/* -j: VMs served at once (0: default) */
	const char *config;		/* --config: the only inventory file */
	uint32_t port;
	enum upcall_arch arch;
	bool arch_set;			/* --arch given: wins over the inventory */
	int timeout_ms;
	int wait_ms;		/* --wait: keep trying to reach a booting guest */
	bool no_wait;		/* --no-wait: a busy VM fails at once */
	enum cli_output output;
	int verbose;
	bool dry_run;			/* -n: say what a change would send, send no change */
	FILE *out, *err;		/* stdout and stderr, or a VM's captured output */
	bool shell_syntax;		/* in the shell: hints say 'help cpu add', not argv */
	/* state of the command being run */
	const char *command;		/* "cpu add" */
	json_t *result;
	struct upcall_session *session;	/* kept open between shell commands */
	struct vm_entry *entry;		/* the --vm inventory entry, with the session */
};

struct cli_cmd {
	const char *object;		/* "cpu" */
	const char *verb;		/* "add", or NULL for one-word commands */
	const char *args_doc;		/* "N" */
	const char *summary;
	const struct argp_option *options;	/* command options, may be NULL */
	argp_parser_t parser;		/* parses command options and arguments */
	size_t args_size;		/* bytes of the command's argument struct */
	int (*run)(struct cli *cli, void *args);
	const char *alias_of;		/* shown as an alias in help */
	bool single_vm;			/* interactive: refuses several VMs */
};

/*
 * A program's commands: a NULL-terminated list of tables, each ended by an
 * entry with a NULL object.
 */
#define for_each_cmd(c, tables)						\
	for (const struct cli_cmd *const *t_ = (tables); *t_; t_++)	\
		for ((c) = *t_; (c)->object; (c)++)

/* Argp input of command parsers: state->input points at this. */
struct cli_parse {
	struct cli *cli;
	void *args;
	const struct cli_cmd *cmd;
};

extern const struct argp cli_global_argp;

void cli_init(struct cli *cli, const char *prog);
void cli_free(struct cli *cli);

/*
 * Find the command words in argv with cli_scan() (global options before
 * them; the command's and the global ones after them, in any order), parse
 * the rest with the command's own argp plus the global options, and run
 * it.  A usage error is one line on cli->err and 64; help is 0, and runs
 * nothing.
 */
int cli_main(struct cli *cli, const struct cli_cmd *const *tables,
	     const char *doc, int argc, char **argv);
/*
 * A command line as argp reads it, for the CLI, the shell and completion
 * alike.  argp itself reads it (getopt's abbreviations, clusters such as
 * -vt5, --opt=VALUE, "--", argp's own --help, --usage, --version and
 * --program-name), in order whatever POSIXLY_CORRECT says: the global
 * options up to the command words, then the rest with the command's
 * options too.  Nothing is printed and no option is applied.
 */
enum cli_word_kind {
	CLI_WORD_UNREAD,	/* after a refused word, or after unknown command words */
	CLI_WORD_OPTION,	/* an option word (with its value, if joined) */
	CLI_WORD_VALUE,		/* the separate value of the option before it */
	CLI_WORD_COMMAND,	/* a command word */
	CLI_WORD_ARG,		/* an argument of the command */
	CLI_WORD_QUOTE,		/* "--": every word after it is an argument */
};

struct cli_word {
	enum cli_word_kind kind;
	const struct argp_option *option;	/* the (last) option of an option or value word */
};

struct cli_line {
	const struct cli_cmd *cmd;	/* NULL: no command words, or unknown ones */
	bool two_words;			/* the command has a verb */
	int object, verb;		/* argv indexes of the command words, or -1 */
	int nargs;			/* arguments of the command */
	bool help;			/* --help, -? or --usage */
	bool version;			/* --version or -V */
	const char *prog;		/* --program-name NAME, or NULL */
	int bad;			/* argv index of the first refused word, or -1 */
	bool bad_after;			/* refused by the command's reading */
	const struct argp_option *pending;	/* refused: the last word waits for its value */
	char error[256];		/* why it was refused, as a usage error says it */
	char unknown[40];		/* the name of an unknown long option, for a hint */
	struct cli_word *words;		/* one per argv word */
};

/* 0, or -ENOMEM; free with cli_line_free(). */
int cli_scan(const struct cli_cmd *const *tables, int argc, char **argv,
	     struct cli_line *line);
void cli_line_free(struct cli_line *line);
const struct cli_cmd *cli_lookup(const struct cli_cmd *const *tables,
				  const char *object, const char *verb,
				  bool *two_words);

/*
 * "  cpu add N          Bring N vCPUs online ...", one line per command
 * (of @object only, if not NULL), each summary wrapped under itself within
 * 79 columns.  Returns how many.
 */
int cli_list_commands(FILE *f, const struct cli_cmd *const *tables, const char *object);

/* Open (or reuse) the session for the --vm target. */
int cli_session(struct cli *cli, struct upcall_session **out);

/* Output: results accumulate in cli->result; cli_finish prints. */
void cli_say(struct cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cli_set(struct cli *cli, const char *key, json_t *value);
int cli_finish(struct cli *cli, enum upcall_status st);
int cli_fail(struct cli *cli, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int cli_exit_code(enum upcall_status st);
/* Report @e (from a layer below) as cli_fail() or cli_finish() would; returns its code. */
int cli_report(struct cli *cli, const struct ucerr *e);

void cli_set_addr(struct cli *cli, const char *key, uint64_t v);

/*
 * Argp steps that commands of several binaries share.  Each takes its own
 * keys (bad input goes to argp_error) and returns ARGP_ERR_UNKNOWN for the
 * others; at ARGP_KEY_END the caller's own checks come after it.
 */
/* The positional vCPU count N: 1..UPCALL_MAX_CPU_COUNT, 0 until given. */
error_t parse_count_key(int key, const char *arg, struct argp_state *state,
			unsigned int *count);

/* A memory range: positional SIZE (not zero) and --base ADDR. */
enum { OPT_RANGE_BASE = 0x300 };
struct range_arg {
	uint64_t base;
	uint64_t size;
	bool have_base;
	bool have_size;
};
error_t parse_range_key(int key, const char *arg, struct argp_state *state,
			struct range_arg *r);

/* Frame dump for -v and the shell's debug mode. */
void dump_frame(FILE *out, bool tx, const uint8_t *frame, size_t len);
void dump_frame_hook(void *data, bool tx, const uint8_t *frame, size_t len);

#endif /* UPCALL_CLI_H */
