// SPDX-License-Identifier: GPL-2.0-or-later
/* memctl add SIZE [--base ADDR] | del SIZE [--base ADDR] | list | sync [--ranges LIST] */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/hotplug.h"

struct mem_args {
	struct range_arg range;		/* add, del */
	unsigned int nranges;		/* sync */
	bool have_ranges;
	struct upcall_range ranges[UPCALL_MAX_MEM_RANGES];
};

enum { OPT_RANGES = OPT_RANGE_BASE + 1 };

static const struct argp_option add_options[] = {
	{ "base", OPT_RANGE_BASE, "ADDR", 0,
	  "Guest-physical start (default: the lowest free block of the hot-add regions)", 0 },
	{ 0 }
};

static const struct argp_option del_options[] = {
	{ "base", OPT_RANGE_BASE, "ADDR", 0,
	  "Guest-physical start of the range (default: the highest range of SIZE, "
	  "the one placed last)", 0 },
	{ 0 }
};

static const struct argp_option sync_options[] = {
	{ "ranges", OPT_RANGES, "LIST", 0,
	  "The ranges really plugged: BASE+SIZE,... (e.g. 0x100000000+1G), or none "
	  "(default: ask the guest)", 0 },
	{ 0 }
};

/* "BASE+SIZE,BASE+SIZE" or "none" */
static int parse_ranges(char *arg, struct mem_args *a, char *err, size_t errlen)
{
	char *save = NULL, *tok, *plus;

	a->have_ranges = true;
	if (!strcmp(arg, "none"))
		return 0;
	for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct upcall_range *r = &a->ranges[a->nranges];

		plus = strchr(tok, '+');
		if (!plus) {
			snprintf(err, errlen, "\"%s\" is not BASE+SIZE", tok);
			return -1;
		}
		*plus = '\0';
		if (a->nranges == UPCALL_MAX_MEM_RANGES) {
			snprintf(err, errlen, "more than %d ranges", UPCALL_MAX_MEM_RANGES);
			return -1;
		}
		if (parse_u64(tok, &r->base, err, errlen) || parse_size(plus + 1, &r->size, err, errlen))
			return -1;
		a->nranges++;
	}
	return 0;
}

static error_t mem_parse(int key, char *arg, struct argp_state *state)
{
	struct range_arg *a = &((struct mem_args *)((struct cli_parse *)state->input)->args)->range;
	error_t rc = parse_range_key(key, arg, state, a);

	if (key == ARGP_KEY_END && a->have_base && a->base == 0)
		argp_error(state, "--base must not be zero");
	return rc;
}

static error_t sync_parse(int key, char *arg, struct argp_state *state)
{
	struct mem_args *a = ((struct cli_parse *)state->input)->args;
	char err[160];

	switch (key) {
	case OPT_RANGES:
		if (parse_ranges(arg, a, err, sizeof(err)))
			argp_error(state, "--ranges: %s", err);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static void say_range(struct cli *cli, const char *verb, uint64_t base, uint64_t size)
{
	char sz[32];

	format_size(size, sz, sizeof(sz));
	cli_say(cli, "%s0x%" PRIx64 "-0x%" PRIx64 " (%s)", verb, base, base + size - 1, sz);
}

static void report_ranges(struct cli *cli, const struct vm_record *r)
{
	json_t *list = json_array();
	uint64_t total = 0;
	char sz[32];

	for (unsigned int i = 0; i < r->st.nmem; i++) {
		json_t *o = json_object();

		json_set_addr(o, "base", r->st.mem[i].base);
		json_set_addr(o, "size", r->st.mem[i].size);
		json_array_append_new(list, o);
		total += r->st.mem[i].size;
	}
	format_size(total, sz, sizeof(sz));
	cli_set(cli, "vm", json_text(r->e->label));
	cli_set(cli, "ranges", list);
	cli_set_addr(cli, "total", total);
	cli_set(cli, "source", json_text(r->from_guest ? "guest" : "record"));
	if (cli->output == OUTPUT_TEXT) {
		fprintf(cli->out, "%s: %u hot-added range%s, %s in all; %s\n", r->e->label, r->st.nmem,
			r->st.nmem == 1 ? "" : "s", sz,
			r->from_guest ? "as the guest reports" : "from the record");
		for (unsigned int i = 0; i < r->st.nmem; i++)
			say_range(cli, "  ", r->st.mem[i].base, r->st.mem[i].size);
	}
}

static int check_aligned(struct cli *cli, const struct vm_entry *e, uint64_t v,
			 const char *what)
{
	if (v % e->block_size == 0)
		return EXIT_DONE;
	return cli_fail(cli, EXIT_USAGE,
			"%s 0x%" PRIx64 " is not a multiple of VM %s's memory block size 0x%" PRIx64,
			what, v, e->label, e->block_size);
}

static bool in_regions(const struct vm_entry *e, uint64_t base, uint64_t size)
{
	for (unsigned int i = 0; i < e->nregions; i++)
		if (base >= e->regions[i].base &&
		    base + size <= e->regions[i].base + e->regions[i].size)
			return true;
	return false;
}

/* Where the new range goes, checked against regions and the record. */
static int place(struct cli *cli, const struct vm_record *r, struct range_arg *a)
{
	const struct vm_entry *e = r->e;
	char sz[32];
	int o;

	format_size(a->size, sz, sizeof(sz));
	if (!a->have_base && e->vmm != VMM_NONE)
		return EXIT_DONE;	/* the VMM's DIMM decides where */
	if (!a->have_base && !e->nregions)
		return cli_fail(cli, EXIT_USAGE,
				"VM %s has no memory hot-add region in the inventory; give --base ADDR",
				e->label);
	if (!a->have_base &&
	    state_mem_place(&r->st, e->regions, e->nregions, e->block_size, a->size, &a->base))
		return cli_fail(cli, EXIT_USAGE,
				"no free room for %s in the hot-add regions of VM %s (see 'memctl list')",
				sz, e->label);
	if (e->nregions && !in_regions(e, a->base, a->size))
		return cli_fail(cli, EXIT_USAGE,
				"0x%" PRIx64 "+0x%" PRIx64 " is outside the hot-add regions of VM %s",
				a->base, a->size, e->label);
	o = state_mem_overlap(&r->st, a->base, a->size);
	if (o >= 0)
		return cli_fail(cli, EXIT_USAGE,
				"0x%" PRIx64 "+0x%" PRIx64 " overlaps the plugged range 0x%" PRIx64
				"+0x%" PRIx64 " of VM %s", a->base, a->size, r->st.mem[o].base,
				r->st.mem[o].size, e->label);
	return EXIT_DONE;
}

/*
 * del without --base: the range of exactly @a->size at the highest base.
 * Placement takes the lowest free block, so that is the one placed last
 * (unless ranges were removed in between).
 */
static int pick_del(struct cli *cli, const struct vm_record *r, struct range_arg *a)
{
	const char *src = r->from_guest ? "the guest" : "the record";
	int hit = -1;
	char sz[32];

	for (unsigned int i = 0; i < r->st.nmem; i++)
		if (r->st.mem[i].size == a->size)
			hit = (int)i;
	format_size(a->size, sz, sizeof(sz));
	if (hit < 0)
		return cli_fail(cli, EXIT_USAGE,
				"VM %s has no hot-added range of exactly %s as far as %s knows (see 'memctl list'); give --base ADDR to remove part of a range",
				r->e->label, sz, src);
	a->base = r->st.mem[hit].base;
	a->have_base = true;
	cli_set(cli, "picked", json_true());
	cli_say(cli, "picked 0x%" PRIx64 "-0x%" PRIx64 ", the highest range of %s %s lists, the one placed last (give --base for another)",
		a->base, a->base + a->size - 1, sz, src);
	return EXIT_DONE;
}

static int do_mem(struct cli *cli, struct vm_record *r, struct upcall_session *s,
		  struct range_arg *a, bool add)
{
	char made[VMM_ID_MAX] = "";
	int rc = check_aligned(cli, r->e, a->size, "size");

	if (!rc && !add && !a->have_base)
		rc = pick_del(cli, r, a);

	if (!rc && a->have_base)
		rc = check_aligned(cli, r->e, a->base, "base");
	if (!rc && add)
		rc = place(cli, r, a);
	if (!rc && !add && state_mem_containing(&r->st, a->base, a->size) < 0)
		rc = cli_fail(cli, EXIT_USAGE,
			      "0x%" PRIx64 "+0x%" PRIx64 " is not plugged in VM %s as far as %s knows (see 'memctl list')",
			      a->base, a->size, r->e->label, r->from_guest ? "the guest" : "the record");
	if (rc)
		return rc;
	cli_set(cli, "vm", json_text(r->e->label));
	if (add && r->e->vmm != VMM_NONE &&
	    (rc = hp_vmm_dimm(cli, r, s, a->size, a->have_base, &a->base, made)))
		return rc;
	/* a dry run that leaves the place to the VMM does not know the base */
	if (cli->dry_run && !a->base)
		cli_set(cli, "base", json_null());
	else
		cli_set_addr(cli, "base", a->base);
	cli_set_addr(cli, "size", a->size);
	return hp_mem_change(cli, r, s, add, a->base, a->size, made[0] ? made : NULL);
}

static int run_mem(struct cli *cli, struct mem_args *a, bool add)
{
	struct upcall_session *s;
	struct vm_record r = { .lockfd = -1, .dirfd = -1 };
	int rc = cli_session(cli, &s);

	if (!rc)
		rc = hp_begin(cli, &r, s, false, true);
	if (!rc)
		rc = do_mem(cli, &r, s, &a->range, add);
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

static int run_list(struct cli *cli, void *args)
{
	struct upcall_session *s;
	struct vm_record r = { .lockfd = -1, .dirfd = -1 };
	int rc = cli_session(cli, &s);

	if (!rc)
		rc = hp_begin(cli, &r, s, false, true);
	(void)args;
	if (!rc)
		rc = hp_record_save(cli, &r, NULL);
	if (!rc) {
		report_ranges(cli, &r);
		rc = cli_finish(cli, UPCALL_OK);
	}
	record_close(&r);
	return rc;
}

static int check_sync(struct cli *cli, const struct vm_entry *e, struct mem_args *a,
		      struct vm_state *st)
{
	int rc;

	memset(st, 0, sizeof(*st));
	for (unsigned int i = 0; i < a->nranges; i++) {
		struct upcall_range *g = &a->ranges[i];

		if ((rc = check_aligned(cli, e, g->base, "base")) ||
		    (rc = check_aligned(cli, e, g->size, "size")))
			return rc;
		if (!g->size || g->base + g->size < g->base || state_mem_add(st, g->base, g->size))
			return cli_fail(cli, EXIT_USAGE,
					"--ranges: 0x%" PRIx64 "+0x%" PRIx64 " is empty, overflows or overlaps another",
					g->base, g->size);
	}
	return EXIT_DONE;
}

/* sync without --ranges: the guest's answer, or an error that says what to give */
static int ask_ranges(struct cli *cli, struct vm_record *r, struct upcall_session *s,
		      struct vm_state *st)
{
	struct upcall_range_list ml;
	enum upcall_status q = upcall_query_mem(s, &ml);
	char cmd[PATH_MAX + 64];

	if (q == UPCALL_ERR_GUEST) {
		hp_tool(cli, r, "memctl", cmd, sizeof(cmd));
		return cli_fail(cli, EXIT_REFUSED,
				"VM %s: the guest does not answer queries (%s), so it cannot say which ranges are plugged; check the guest, then run '%s sync --ranges BASE+SIZE,...' (or --ranges none)",
				r->e->label, upcall_errmsg(s), cmd);
	}
	if (q)
		return cli_finish(cli, q);
	memset(st, 0, sizeof(*st));
	for (unsigned int i = 0; i < ml.count; i++)
		state_mem_add(st, ml.ranges[i].base, ml.ranges[i].size);
	r->from_guest = true;
	return EXIT_DONE;
}

static int run_sync(struct cli *cli, void *args)
{
	struct mem_args *a = args;
	struct upcall_session *s;
	struct vm_record r = { .lockfd = -1, .dirfd = -1 };
	struct vm_state st;
	int rc = cli_session(cli, &s);

	if (!rc && a->have_ranges)
		rc = check_sync(cli, cli->entry, args, &st);
	if (!rc)
		rc = hp_record_open(cli, &r, true);
	if (!rc && !a->have_ranges)
		rc = ask_ranges(cli, &r, s, &st);
	if (!rc) {
		r.st.nmem = st.nmem;
		memcpy(r.st.mem, st.mem, sizeof(st.mem));
		/* an interrupted request about vCPUs stays marked */
		rc = hp_record_save(cli, &r, hp_pending_is(&r, false) ? "" : NULL);
	}
	if (!rc) {
		report_ranges(cli, &r);
		rc = cli_finish(cli, UPCALL_OK);
	}
	record_close(&r);
	return rc;
}

const struct cli_cmd memctl_cmds[] = {
	{ "add", NULL, "SIZE", "Hot-add and online SIZE of memory (at --base, or placed)",
	  add_options, mem_parse, sizeof(struct mem_args), run_add, NULL },
	{ "del", NULL, "SIZE",
	  "Offline and remove the plugged range SIZE at --base (default: the highest of SIZE)",
	  del_options, mem_parse, sizeof(struct mem_args), run_del, NULL },
	{ "list", NULL, NULL, "Show the hot-added ranges (asks the guest when it can answer)",
	  NULL, NULL, sizeof(struct mem_args), run_list, NULL },
	{ "sync", NULL, NULL, "Re-seed the state record with the ranges plugged: the guest's answer, or --ranges",
	  sync_options, sync_parse, sizeof(struct mem_args), run_sync, NULL },
	{ 0 }
};
