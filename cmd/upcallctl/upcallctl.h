/* SPDX-License-Identifier: GPL-2.0-or-later */
/* upcallctl's command table, one file per object. */
#ifndef UPCALLCTL_H
#define UPCALLCTL_H

#include "../common/cli.h"

extern const struct cli_cmd upcallctl_cpu_cmds[];
extern const struct cli_cmd upcallctl_mem_cmds[];
extern const struct cli_cmd upcallctl_dev_cmds[];
extern const struct cli_cmd upcallctl_cpu_list_cmds[];	/* list.c */
extern const struct cli_cmd upcallctl_mem_list_cmds[];
extern const struct cli_cmd upcallctl_dev_list_cmds[];
extern const struct cli_cmd upcallctl_ping_cmds[];
extern const struct cli_cmd upcallctl_shell_cmds[];

/* main.c: all the tables above, NULL-terminated, and the program's doc. */
extern const struct cli_cmd *const upcallctl_tables[];
extern const char upcallctl_doc[];

/* shell.c: no command on a terminal starts the shell. */
bool shell_by_default(int argc, char **argv);
int shell_start(struct cli *cli, int argc, char **argv);

#endif
