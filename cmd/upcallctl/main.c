// SPDX-License-Identifier: GPL-2.0-or-later
/* upcallctl: hot-plug vCPUs, memory and devices of a running VM over upcall. */
#include <stdio.h>

#include "upcallctl.h"

const char *argp_program_version = "upcallctl " UPCALL_TOOLS_VERSION;
const char *argp_program_bug_address = NULL;

const struct cli_cmd *const upcallctl_tables[] = {
	upcallctl_cpu_cmds,
	upcallctl_cpu_list_cmds,
	upcallctl_mem_cmds,
	upcallctl_mem_list_cmds,
	upcallctl_dev_cmds,
	upcallctl_dev_list_cmds,
	upcallctl_ping_cmds,
	upcallctl_shell_cmds,
	NULL
};

const char upcallctl_doc[] =
	"Drive the upcall device manager of a running VM: hot-plug vCPUs, "
	"memory, virtio-mmio and PCI devices.";

int main(int argc, char **argv)
{
	struct cli cli;
	int rc;

	argp_err_exit_status = EXIT_USAGE;
	cli_init(&cli, "upcallctl");
	if (shell_by_default(argc, argv))
		rc = shell_start(&cli, argc, argv);
	else
		rc = cli_main(&cli, upcallctl_tables, upcallctl_doc, argc, argv);
	cli_free(&cli);
	return rc;
}
