// SPDX-License-Identifier: GPL-2.0-or-later
/* memctl: hot-add, remove and list the memory of a running VM. */
#include "../common/cli.h"
#include "../common/inventory.h"
#include "../common/state.h"

const char *argp_program_version = "memctl " UPCALL_TOOLS_VERSION;
const char *argp_program_bug_address = NULL;

extern const struct cli_cmd memctl_cmds[];

static const struct cli_cmd *const tables[] = { memctl_cmds, NULL };

static const char doc[] =
	"Hot-add and remove memory of a running VM.  Sizes take K, M, G, T "
	"suffixes; base and size must be multiples of the VM's memory block "
	"size; without --base a range is placed at the lowest free block in the "
	"VM's hot-add regions.  Only ranges the record (or the guest) knows can "
	"be removed.  A request that does not fit the inventory or the record "
	"ends with status 64 and nothing sent.\n\n" INVENTORY_DOC "  " STATE_DOC;

int main(int argc, char **argv)
{
	struct cli cli;
	int rc;

	argp_err_exit_status = EXIT_USAGE;
	cli_init(&cli, "memctl");
	rc = cli_main(&cli, tables, doc, argc, argv);
	cli_free(&cli);
	return rc;
}
