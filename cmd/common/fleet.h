/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fleet operations: one command run on several VMs at once (repeated --vm,
 * a socket PATH glob, an inventory @GROUP) by a bounded pool of workers,
 * each with its own copy of the command line's struct cli.
 */
#ifndef UPCALL_FLEET_H
#define UPCALL_FLEET_H

#include <stdbool.h>

#include "cli.h"

#define FLEET_MAX_JOBS		256
#define FLEET_DEFAULT_JOBS	32

/* Note one --vm value.  Returns -1 when out of memory. */
int fleet_add_vm(struct cli *cli, const char *vm);

/* Do the --vm values name several VMs (or a glob or group)? */
bool fleet_wanted(const struct cli *cli);

/*
 * Run @cmd with @args (parsed once, copied per VM) on every target: one
 * result line (text) or JSON object with a "vm" key per VM, as each
 * finishes, then a summary.  Returns 0 when all succeeded, 3 when some
 * failed, the exit code all failed with, or 4 when they failed differently.
 */
int fleet_run(struct cli *cli, const struct cli_cmd *cmd, const void *args);

#endif /* UPCALL_FLEET_H */
