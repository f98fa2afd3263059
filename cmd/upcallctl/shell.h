/* SPDX-License-Identifier: GPL-2.0-or-later */
/* upcallctl shell: state shared by the loop, its commands and completion. */
#ifndef UPCALLCTL_SHELL_H
#define UPCALLCTL_SHELL_H

#include "upcallctl.h"

#define SHELL_HISTORY_MAX 1000

struct shell {
	struct cli globals;	/* the shell's options: each line starts from them */
	const struct cli_cmd **tables;	/* upcallctl's tables plus shell_cmds */
	char *vm;		/* target chosen by "connect TARGET" */
	bool timing;
	bool quit;
	struct {		/* the last line that went to a guest, for status */
		char line[80];
		char target[160];
		uint64_t rtt_ns;	/* request to reply, or the handshake */
		int rc;
		bool set;
	} last;
};

extern struct shell shell;
extern const struct cli_cmd shell_cmds[];

/* shell.c */
/* Split @line into argv[0] = "upcallctl" plus its words; NULL on a bad line. */
char **shell_split(const char *line, bool partial, int *argc, const char **err);
/* If the guest closed the idle connection, say so and reconnect. */
void shell_note_drop(struct cli *cli);
const char *shell_target(const struct cli *cli);

/* shell-complete.c */
void shell_complete_init(void);

#endif
