// SPDX-License-Identifier: GPL-2.0-or-later
/* The shell's own commands: help, connect, status, debug, raw, quit... */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shell.h"

#define MAX_WORDS 2	/* "help cpu add" */

/* Positional words, for every shell command. */
struct words_args {
	int n;
	char *w[MAX_WORDS];
};

static error_t words_parse(int key, char *arg, struct argp_state *state)
{
	struct cli_parse *p = state->input;
	struct words_args *a = p->args;

	if (key != ARGP_KEY_ARG)
		return ARGP_ERR_UNKNOWN;
	if (a->n == MAX_WORDS)
		return ARGP_ERR_UNKNOWN;	/* argp: "Too many arguments" */
	a->w[a->n++] = arg;
	return 0;
}

/* At most one word. */
static error_t target_parse(int key, char *arg, struct argp_state *state)
{
	struct words_args *a = ((struct cli_parse *)state->input)->args;

	if (key == ARGP_KEY_ARG && a->n == 1)
		return ARGP_ERR_UNKNOWN;
	return words_parse(key, arg, state);
}

/* "on" or "off" as the only word. */
static error_t switch_parse(int key, char *arg, struct argp_state *state)
{
	struct words_args *a = ((struct cli_parse *)state->input)->args;

	if (key == ARGP_KEY_ARG && strcmp(arg, "on") && strcmp(arg, "off"))
		argp_error(state, "\"%s\": say on or off", arg);
	else if (key == ARGP_KEY_END && a->n != 1)
		argp_error(state, "say on or off");
	return key == ARGP_KEY_END ? 0 : words_parse(key, arg, state);
}

/* The commands (of @object only, if not NULL); returns how many. */
static int list_commands(const char *object)
{
	int n = cli_list_commands(stdout, (const struct cli_cmd *const *)shell.tables, object);

	if (n)
		printf("\nType 'help COMMAND' for a command's options.\n");
	return n;
}

/* What each type carries, for "help raw"; multi-byte fields are little-endian. */
static const struct {
	uint32_t type;
	const char *payload;
} raw_payloads[] = {
	{ UPCALL_MSG_CONNECT, "none: the handshake (the session sends it itself)" },
	{ UPCALL_MSG_ADD_CPU, "count (1), APIC version (1), APIC IDs (256, unused 0)" },
	{ UPCALL_MSG_DEL_CPU, "as ADD_CPU" },
	{ UPCALL_MSG_ADD_MEM, "base (8), size (8)" },
	{ UPCALL_MSG_DEL_MEM, "base (8), size (8)" },
	{ UPCALL_MSG_ADD_MMIO, "base (8), size (8), IRQ (4), padding (4, zero)" },
	{ UPCALL_MSG_DEL_MMIO, "as ADD_MMIO" },
	{ UPCALL_MSG_ADD_PCI, "bus (1), devfn (1): device << 3 | function" },
	{ UPCALL_MSG_DEL_PCI, "as ADD_PCI" },
	{ UPCALL_MSG_QUERY_CPUS, "none; the reply lists the online CPUs" },
	{ UPCALL_MSG_QUERY_MEM, "none; the reply lists the hot-added ranges" },
};

static void raw_help(void)
{
	char name[32];

	printf("\nTYPE is a name or a number (decimal or 0x...); the payload size a guest\n"
	       "accepts (x86_64) and its fields, little-endian:\n");
	for (size_t i = 0; i < sizeof(raw_payloads) / sizeof(raw_payloads[0]); i++)
		printf("  %-11s %#6" PRIx32 " %4d bytes  %s\n",
		       upcall_msg_type_name(raw_payloads[i].type, name, sizeof(name)),
		       raw_payloads[i].type,
		       upcall_req_payload_size(raw_payloads[i].type, 0) > 0 ?
		       upcall_req_payload_size(raw_payloads[i].type, 0) : 0,
		       raw_payloads[i].payload);
	printf("On aarch64, ADD_CPU and DEL_CPU carry the count alone (1 byte).\n");
	printf("\nHEX words are the payload, appended in order, each as written: \"01\" is\n"
	       "one byte, \"0102ff\" three (even length, an optional 0x); a number goes\n"
	       "byte by byte, lowest first (0x100000000 in 8 bytes is \"0000000001000000\").\n"
	       "The header's msg_size is the payload's length: nothing is checked or\n"
	       "padded, so a payload of another size reaches the guest as typed (and a\n"
	       "guest refuses it, -22).  The reply is decoded: type, msg_size, ret (0 or\n"
	       "a negative errno) and its payload in hex.\n"
	       "Example: raw ADD_MEM 0000000001000000 0000000800000000   (128MiB at 4GiB)\n");
}

static int run_help(struct cli *cli, void *args)
{
	struct words_args *a = args;
	const struct cli_cmd *const *tables = (const struct cli_cmd *const *)shell.tables;
	char *argv[MAX_WORDS + 2], prog[] = "upcallctl", opt[] = "--help";
	int argc = 0, rc;
	bool two;

	if (!a->n) {
		list_commands(NULL);
		return EXIT_DONE;
	}
	/* "help cpu": the cpu commands */
	if (a->n == 1 && !cli_lookup(tables, a->w[0], NULL, &two) && list_commands(a->w[0]))
		return EXIT_DONE;
	argv[argc++] = prog;
	for (int i = 0; i < a->n; i++)
		argv[argc++] = a->w[i];
	argv[argc++] = opt;
	rc = cli_main(cli, tables, upcallctl_doc, argc, argv);
	if (rc == EXIT_DONE && a->n == 1 && strcmp(a->w[0], "raw") == 0)
		raw_help();
	return rc;
}

static void say_target(struct cli *cli, const char *what, uint64_t ns)
{
	char target[160];

	upcall_target_format(upcall_session_target(cli->session), target, sizeof(target));
	cli_set(cli, "target", json_text(target));
	if (ns)
		cli_say(cli, "%s %s (handshake %.3f ms)", what, target, (double)ns / 1e6);
	else
		cli_say(cli, "%s %s", what, target);
}

static int run_connect(struct cli *cli, void *args)
{
	struct words_args *a = args;
	const struct upcall_session *old = cli->session;
	uint64_t connects = old ? upcall_session_stat(cli->session, UPCALL_STAT_CONNECTS) : 0;
	struct upcall_session *s;
	enum upcall_status st;
	int rc;

	if (a->n)
		cli->vm = a->w[0];
	/* with --wait on a terminal, cli_session() has connected already */
	rc = cli_session(cli, &s);
	if (rc)
		return rc;
	if (s != old)
		connects = 0;
	if (a->n) {
		char *vm = strdup(a->w[0]);

		if (!vm)
			return cli_fail(cli, EXIT_OSERR, "out of memory");
		free(shell.vm);
		shell.vm = vm;
		shell.globals.vm = vm;
	}
	st = upcall_connect(s);
	if (st == UPCALL_OK && upcall_session_stat(s, UPCALL_STAT_CONNECTS) == connects)
		say_target(cli, "already connected to", 0);
	else if (st == UPCALL_OK)
		say_target(cli, "connected to",
			   upcall_session_stat(s, UPCALL_STAT_LAST_CONNECT_NS));
	return cli_finish(cli, st);
}

static int run_disconnect(struct cli *cli, void *args)
{
	(void)args;
	if (!cli->session || !upcall_is_connected(cli->session)) {
		cli_say(cli, "not connected");
		return cli_finish(cli, UPCALL_OK);
	}
	upcall_disconnect(cli->session);
	say_target(cli, "disconnected from", 0);
	return cli_finish(cli, UPCALL_OK);
}

static int run_status(struct cli *cli, void *args)
{
	const char *vm = shell_target(cli);
	uint64_t requests = 0;
	bool up;

	(void)args;
	shell_note_drop(cli);
	up = cli->session && upcall_is_connected(cli->session);
	if (cli->session)
		requests = upcall_session_stat(cli->session, UPCALL_STAT_REQUESTS);
	cli_set(cli, "target", vm ? json_text(vm) : json_null());
	cli_set(cli, "connected", json_boolean(up));
	cli_set(cli, "requests", json_integer((json_int_t)requests));
	cli_say(cli, "target: %s", vm ? vm : "none (use 'connect TARGET')");
	cli_say(cli, "state: %s", up ? "connected" : "disconnected");
	cli_say(cli, "requests sent: %" PRIu64, requests);
	if (!shell.last.set) {
		cli_set(cli, "last_rtt_ms", json_real(0));
		cli_set(cli, "last", json_null());
		cli_say(cli, "last round trip: none yet");
		return cli_finish(cli, UPCALL_OK);
	}
	cli_set(cli, "last_rtt_ms", json_real((double)shell.last.rtt_ns / 1e6));
	cli_set(cli, "last", json_pack("{s:o,s:o,s:f,s:i}",
				       "command", json_text(shell.last.line),
				       "target", json_text(shell.last.target),
				       "rtt_ms", (double)shell.last.rtt_ns / 1e6,
				       "exit_code", shell.last.rc));
	cli_say(cli, "last round trip: %.3f ms, '%s' to %s, exit %d%s",
		(double)shell.last.rtt_ns / 1e6, shell.last.line, shell.last.target,
		shell.last.rc, shell.last.rc ? "" : " (done)");
	return cli_finish(cli, UPCALL_OK);
}

static int run_debug(struct cli *cli, void *args)
{
	struct words_args *a = args;

	shell.globals.verbose = strcmp(a->w[0], "on") == 0;
	if (cli->session)
		upcall_session_set_frame_hook(cli->session,
					      shell.globals.verbose ? dump_frame_hook : NULL,
					      stderr);
	return cli_finish(cli, UPCALL_OK);
}

static int run_timing(struct cli *cli, void *args)
{
	struct words_args *a = args;

	shell.timing = strcmp(a->w[0], "on") == 0;
	return cli_finish(cli, UPCALL_OK);
}

static int run_quit(struct cli *cli, void *args)
{
	(void)args;
	shell.quit = true;
	return cli_finish(cli, UPCALL_OK);
}

/* ADD_CPU, add_cpu, 7, 0x100 or TYPE_0x1234. */
static int parse_type(const char *s, uint32_t *type)
{
	char name[32], err[80];
	unsigned long v;

	if (strncasecmp(s, "TYPE_", 5) == 0)
		s += 5;
	if (!parse_uint(s, 0, UINT32_MAX, &v, "type", err, sizeof(err))) {
		*type = (uint32_t)v;
		return 0;
	}
	for (uint32_t t = 0; t <= UPCALL_MSG_QUERY_PCI; t++)
		if (strcasecmp(upcall_msg_type_name(t, name, sizeof(name)), s) == 0) {
			*type = t;
			return 0;
		}
	return -1;
}

static int hex_digit(char c)
{
	return isdigit((unsigned char)c) ? c - '0' :
	       isxdigit((unsigned char)c) ? tolower((unsigned char)c) - 'a' + 10 : -1;
}

/* "1", "0x1f" or "0102ff": bytes appended at @buf + *@len. */
static int parse_hex(const char *s, uint8_t *buf, size_t *len, size_t max)
{
	size_t n;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	n = strlen(s);
	if (n == 0 || (n > 2 && n % 2))
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		int hi = n == 1 ? 0 : hex_digit(s[i]), lo = hex_digit(s[n == 1 ? i : i + 1]);

		if (hi < 0 || lo < 0 || *len == max)
			return -1;
		buf[(*len)++] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

struct raw_args {
	uint32_t type;
	bool have_type;
	size_t len;
	uint8_t payload[UPCALL_REQ_PAYLOAD_MAX];
};

static error_t raw_parse(int key, char *arg, struct argp_state *state)
{
	struct raw_args *a = ((struct cli_parse *)state->input)->args;

	if (key == ARGP_KEY_ARG && !a->have_type) {
		if (parse_type(arg, &a->type))
			argp_error(state, "unknown message type \"%s\" (a name like ADD_CPU or a number)",
				   arg);
		a->have_type = true;
	} else if (key == ARGP_KEY_ARG) {
		if (parse_hex(arg, a->payload, &a->len, sizeof(a->payload)))
			argp_error(state, "\"%s\" is not hex bytes (e.g. 01 or 0102ff; at most %u bytes)",
				   arg, UPCALL_REQ_PAYLOAD_MAX);
	} else if (key == ARGP_KEY_END && !a->have_type) {
		argp_error(state, "missing message TYPE");
	} else {
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static void say_reply(struct cli *cli, const struct upcall_reply *r)
{
	char name[32], hex[3 * UPCALL_REPLY_PAYLOAD_MAX + 1] = "";
	size_t n = r->msg_size < UPCALL_REPLY_PAYLOAD_MAX ? r->msg_size : UPCALL_REPLY_PAYLOAD_MAX;
	size_t shown = n, off = 0;

	while (shown && r->payload[shown - 1] == 0)
		shown--;	/* trailing zeros are counted, not shown */
	for (size_t i = 0; i < shown; i++)
		off += (size_t)snprintf(hex + off, sizeof(hex) - off, "%s%02x", i ? " " : "",
					r->payload[i]);
	upcall_msg_type_name(r->msg_type, name, sizeof(name));
	cli_set(cli, "type", json_text(name));
	cli_set(cli, "msg_size", json_integer(r->msg_size));
	cli_set(cli, "ret", json_integer(r->ret));
	cli_set(cli, "payload", json_text(hex));
	cli_say(cli, "reply %s (0x%" PRIx32 "), msg_size %" PRIu32 ", ret %" PRId32 " (%s)",
		name, r->msg_type, r->msg_size, r->ret, r->ret ? strerror(-r->ret) : "ok");
	if (n)
		cli_say(cli, "payload: %s%s(%zu zero bytes to %zu)", hex, shown ? " " : "",
			n - shown, n);
}

static int run_raw(struct cli *cli, void *args)
{
	struct raw_args *a = args;
	struct upcall_session *s;
	struct upcall_reply reply;
	enum upcall_status st;
	int rc = cli_session(cli, &s);

	if (rc)
		return rc;
	memset(&reply, 0, sizeof(reply));
	st = upcall_send_raw(s, a->type, a->payload, a->len, &reply);
	if (st == UPCALL_OK || st == UPCALL_ERR_GUEST || st == UPCALL_ERR_PARTIAL)
		say_reply(cli, &reply);
	return cli_finish(cli, st);
}

const struct cli_cmd shell_cmds[] = {
	{ "help", NULL, "[COMMAND]", "List the commands, or show one's options",
	  NULL, words_parse, sizeof(struct words_args), run_help, NULL },
	{ "connect", NULL, "[TARGET]", "Open the session (to TARGET from now on, if given)",
	  NULL, target_parse, sizeof(struct words_args), run_connect, NULL },
	{ "disconnect", NULL, NULL, "Close the session; the next command reopens it",
	  NULL, NULL, 0, run_disconnect, NULL },
	{ "status", NULL, NULL, "Target, session state, requests sent, last round trip",
	  NULL, NULL, 0, run_status, NULL },
	{ "debug", NULL, "on|off", "Hex dump every frame with its header decoded",
	  NULL, switch_parse, sizeof(struct words_args), run_debug, NULL },
	{ "timing", NULL, "on|off", "Show how long each command took",
	  NULL, switch_parse, sizeof(struct words_args), run_timing, NULL },
	{ "raw", NULL, "TYPE [HEX...]", "Send a hand-built frame and decode the reply",
	  NULL, raw_parse, sizeof(struct raw_args), run_raw, NULL },
	{ "quit", NULL, NULL, "Leave the shell (Ctrl-D too)",
	  NULL, NULL, 0, run_quit, NULL },
	{ "exit", NULL, NULL, "Same as 'quit'", NULL, NULL, 0, run_quit, "quit" },
	{ 0 }
};
