// SPDX-License-Identifier: GPL-2.0-or-later
/* upcallctl mem add|del SIZE --base ADDR */
#include <inttypes.h>
#include <stdio.h>

#include "../common/hotplug.h"
#include "upcallctl.h"

struct mem_args {
	uint64_t size;
	uint64_t base;
	bool have_size;
	bool have_base;
};

enum { OPT_BASE = 0x300 };

static const struct argp_option mem_options[] = {
	{ "base", OPT_BASE, "ADDR", 0, "Guest-physical start of the range", 0 },
	{ 0 }
};

static error_t mem_parse(int key, char *arg, struct argp_state *state)
{
	struct mem_args *a = ((struct cli_parse *)state->input)->args;
	char err[160];

	switch (key) {
	case OPT_BASE:
		if (parse_u64(arg, &a->base, err, sizeof(err)))
			argp_error(state, "--base: %s", err);
		a->have_base = true;
		return 0;
	case ARGP_KEY_ARG:
		if (state->arg_num > 0)
			return ARGP_ERR_UNKNOWN;
		if (parse_size(arg, &a->size, err, sizeof(err)))
			argp_error(state, "%s", err);
		a->have_size = true;
		return 0;
	case ARGP_KEY_END:
		if (!a->have_size)
			argp_error(state, "missing SIZE");
		if (!a->have_base)
			argp_error(state, "missing --base ADDR");
		if (a->size == 0)
			argp_error(state, "SIZE must not be zero");
		if (a->base == 0)
			argp_error(state, "--base must not be zero");
		if (a->base + a->size < a->base)
			argp_error(state, "range 0x%" PRIx64 "+0x%" PRIx64 " overflows 64 bits",
				   a->base, a->size);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static int run_mem(struct cli *cli, struct mem_args *a, bool add)
{
	struct vm_record r = { .lockfd = -1, .dirfd = -1 };
	struct upcall_session *s;
	int rc = cli_session(cli, &s);

	if (!rc)
		rc = hp_begin(cli, &r, s, false, false);
	if (!rc) {
		cli_set(cli, "base", json_integer((json_int_t)a->base));
		cli_set(cli, "size", json_integer((json_int_t)a->size));
		rc = hp_mem_change(cli, &r, s, add, a->base, a->size);
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
	  mem_options, mem_parse, sizeof(struct mem_args), run_add, NULL },
	{ "mem", "del", "SIZE", "Offline and remove memory at --base",
	  mem_options, mem_parse, sizeof(struct mem_args), run_del, NULL },
	{ 0 }
};
