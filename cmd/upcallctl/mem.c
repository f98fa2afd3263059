// SPDX-License-Identifier: GPL-2.0-or-later
/* upcallctl mem add|del SIZE --base ADDR */
#include <stdio.h>

#include "../common/hotplug.h"
#include "upcallctl.h"

static const struct argp_option mem_options[] = {
	{ "base", OPT_RANGE_BASE, "ADDR", 0, "Guest-physical start of the range", 0 },
	{ 0 }
};

static error_t mem_parse(int key, char *arg, struct argp_state *state)
{
	struct range_arg *a = ((struct cli_parse *)state->input)->args;
	error_t rc = parse_range_key(key, arg, state, a);

	if (key != ARGP_KEY_END)
		return rc;
	if (!a->have_base)
		argp_error(state, "missing --base ADDR");
	else if (a->base == 0)
		argp_error(state, "--base must not be zero");
	return 0;
}

/* The block size an inventory gives is known; a bare target's is a guess. */
static int check_blocks(struct cli *cli, const struct range_arg *a)
{
	const struct vm_entry *e = cli->entry;
	char sz[32], bs[32];

	if (!e || !e->in_inventory || (a->size % e->block_size == 0 &&
				       a->base % e->block_size == 0))
		return EXIT_DONE;
	format_size(e->block_size, bs, sizeof(bs));
	format_size(a->size % e->block_size ? a->size : a->base, sz, sizeof(sz));
	return cli_fail(cli, EXIT_USAGE, "%s %s is not a multiple of VM %s's memory block size %s",
			a->size % e->block_size ? "SIZE" : "--base", sz, e->label, bs);
}

static int run_mem(struct cli *cli, struct range_arg *a, bool add)
{
	struct vm_record r = { .lockfd = -1, .dirfd = -1 };
	struct upcall_session *s;
	int rc = cli_session(cli, &s);

	if (!rc)
		rc = check_blocks(cli, a);
	if (!rc)
		rc = hp_begin(cli, &r, s, false, true);
	if (!rc) {
		cli_set_addr(cli, "base", a->base);
		cli_set_addr(cli, "size", a->size);
		rc = hp_mem_change(cli, &r, s, add, a->base, a->size, NULL);
	}
	record_close(&r);
	return rc;
}

static int run_add(struct cli *cli, void *args)
{
	return run_mem(cli, args, true);
}

static int run_del(struct cli *cli, void *args)
{
	return run_mem(cli, args, false);
}

const struct cli_cmd upcallctl_mem_cmds[] = {
	{ "mem", "add", "SIZE", "Hot-add and online memory at --base",
	  mem_options, mem_parse, sizeof(struct range_arg), run_add, NULL },
	{ "mem", "del", "SIZE", "Offline and remove memory at --base",
	  mem_options, mem_parse, sizeof(struct range_arg), run_del, NULL },
	{ 0 }
};
