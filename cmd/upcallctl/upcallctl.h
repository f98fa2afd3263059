/* SPDX-License-Identifier: GPL-2.0-or-later */
/* upcallctl's command table, one file per object. */
#ifndef UPCALLCTL_H
#define UPCALLCTL_H

#include "../common/cli.h"

extern const struct cli_cmd upcallctl_cpu_cmds[];
extern const struct cli_cmd upcallctl_mem_cmds[];
extern const struct cli_cmd upcallctl_dev_cmds[];
extern const struct cli_cmd upcallctl_ping_cmds[];

#endif
