/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A command of the command line run on several VMs: the CLI's side of the
 * fleet (fleet.h), with each VM's own copy of struct cli and its output.
 */
#ifndef UPCALL_CLI_FLEET_H
#define UPCALL_CLI_FLEET_H

#include <stdbool.h>

#include "cli.h"
#include "fleet.h"

/* Note one --vm value.  Returns -1 when out of memory. */
int cli_add_vm(struct cli *cli, const char *vm);

/* Do the --vm values name several VMs (or a glob or group)? */
bool cli_fleet_wanted(const struct cli *cli);

/*
 * Run @cmd with @args (parsed once, copied per VM) on every target: one
 * result line (text) or JSON object with a "vm" key per VM, as each
 * finishes, then a summary.  Returns 0 when all succeeded, 3 when some
 * failed, the exit code all failed with, or 4 when they failed differently.
 */
int cli_fleet_run(struct cli *cli, const struct cli_cmd *cmd, const void *args);

#endif /* UPCALL_CLI_FLEET_H */
