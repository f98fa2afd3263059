// SPDX-License-Identifier: GPL-2.0-or-later
/* vcpuctl: read and resize the vCPU set of a running VM. */
#include "../common/cli.h"
#include "../common/inventory.h"
#include "../common/state.h"

const char *argp_program_version = "vcpuctl " UPCALL_TOOLS_VERSION;
const char *argp_program_bug_address = NULL;

extern const struct cli_cmd vcpuctl_cmds[];

static const struct cli_cmd *const tables[] = { vcpuctl_cmds, NULL };

static const char doc[] =
	"Show and resize the vCPUs of a running VM (Dragonball's resize rules: "
	"1..max_vcpu_count, new vCPUs take the lowest free APIC IDs of the "
	"topology, removal takes the highest online ones and never the boot "
	"CPU).  Every change is recorded in the VM's state record; a guest that "
	"answers the query extension is asked first and its answer wins.\n\n"
	INVENTORY_DOC "  " STATE_DOC;

int main(int argc, char **argv)
{
	struct cli cli;
	int rc;

	argp_err_exit_status = EXIT_USAGE;
	cli_init(&cli, "vcpuctl");
	rc = cli_main(&cli, tables, doc, argc, argv);
	cli_free(&cli);
	return rc;
}
