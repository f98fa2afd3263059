// SPDX-License-Identifier: GPL-2.0-or-later
/* upcallctl cpu add|del, hotplug cpu */
#include <stdio.h>
#include <string.h>

#include "../common/hotplug.h"
#include "upcallctl.h"

struct cpu_args {
	unsigned int count;
	unsigned int nids;
	uint8_t ids[UPCALL_MAX_APIC_IDS];
	uint8_t apic_ver;
	unsigned int boot_vcpus;
};

enum { OPT_APIC_IDS = 0x200, OPT_APIC_VER, OPT_BOOT_VCPUS };

static const struct argp_option cpu_options[] = {
	{ "apic-ids", OPT_APIC_IDS, "LIST", 0,
	  "Comma-separated APIC IDs (x86_64), e.g. 1,2", 0 },
	{ "apic-ver", OPT_APIC_VER, "V", 0, "APIC version to announce (default 0x14)", 0 },
	{ "boot-vcpus", OPT_BOOT_VCPUS, "B", 0,
	  "A VM with neither inventory entry nor state record booted with B vCPUs (default 1)", 0 },
	{ 0 }
};

static error_t cpu_parse(int key, char *arg, struct argp_state *state)
{
	struct cli_parse *p = state->input;
	struct cpu_args *a = p->args;
	unsigned long v;
	char err[160];

	switch (key) {
	case ARGP_KEY_INIT:
		a->apic_ver = UPCALL_DEFAULT_APIC_VER;
		a->boot_vcpus = 1;
		return 0;
	case OPT_APIC_IDS:
		if (parse_id_list(arg, a->ids, UPCALL_MAX_CPU_COUNT, &a->nids, err, sizeof(err)))
			argp_error(state, "--apic-ids: %s", err);
		return 0;
	case OPT_APIC_VER:
		if (parse_uint(arg, 0, 255, &v, "APIC version", err, sizeof(err)))
			argp_error(state, "%s", err);
		a->apic_ver = (uint8_t)v;
		return 0;
	case OPT_BOOT_VCPUS:
		if (parse_uint(arg, 1, 255, &v, "boot vCPU count", err, sizeof(err)))
			argp_error(state, "%s", err);
		a->boot_vcpus = (unsigned int)v;
		return 0;
	case ARGP_KEY_END:
		parse_count_key(key, arg, state, &a->count);
		if (a->count && a->nids && a->nids != a->count)
			argp_error(state, "count %u does not match the %u APIC IDs given",
				   a->count, a->nids);
		return 0;
	default:
		return parse_count_key(key, arg, state, &a->count);
	}
}

/*
 * Without --apic-ids: the lowest free IDs, or the highest online but the
 * boot CPU, of what the guest says is online; a guest that does not answer
 * queries leaves the record's word, and the refusal says so.
 */
static int pick_ids(struct cli *cli, const struct vm_record *r, struct cpu_change *c)
{
	uint8_t valid[UPCALL_MAX_APIC_IDS];
	unsigned int nvalid = vm_valid_ids(r->e, valid), want = c->n;
	char cmd[PATH_MAX + 64];

	if (c->add)
		c->n = topology_pick_free(valid, nvalid, r->st.cpus, r->st.ncpus, want, c->ids);
	else
		c->n = topology_pick_online(r->st.cpus, r->st.ncpus, valid[0], want, c->ids);
	if (c->n == want)
		return EXIT_DONE;
	if (r->from_guest)
		return cli_fail(cli, EXIT_USAGE,
				"VM %s has only %u vCPU%s %s, as the guest reports (max_vcpu_count %u, see 'vcpuctl get')",
				r->e->label, c->n, c->n == 1 ? "" : "s",
				c->add ? "left to add" : "that can be removed", r->e->max_vcpus);
	hp_tool(cli, r, "vcpuctl", cmd, sizeof(cmd));
	return cli_fail(cli, EXIT_USAGE,
			"VM %s has only %u vCPU%s %s according to its record, which says %u %s online; the guest does not answer queries, so give --apic-ids LIST, or correct the record with '%s sync --apic-ids LIST'%s",
			r->e->label, c->n, c->n == 1 ? "" : "s",
			c->add ? "left to add" : "that can be removed", r->st.ncpus,
			r->st.ncpus == 1 ? "is" : "are", cmd,
			r->e->in_inventory ? "" : " (or --boot-vcpus B for a VM without a record)");
}

/* --apic-ids: x86_64 only (the inventory may say aarch64), and this VM's IDs. */
static int given_ids(struct cli *cli, const struct vm_entry *e, const struct cpu_args *a,
		     struct cpu_change *c)
{
	uint8_t valid[UPCALL_MAX_APIC_IDS];
	unsigned int nvalid = vm_valid_ids(e, valid);

	if (cli->arch == UPCALL_ARCH_AARCH64)
		return cli_fail(cli, EXIT_USAGE,
				"--apic-ids applies to x86_64 guests only (VM %s is aarch64, which takes a count)",
				e->label);
	for (unsigned int i = 0; i < a->nids; i++)
		if (!memchr(valid, a->ids[i], nvalid))
			return cli_fail(cli, EXIT_USAGE,
					"VM %s: APIC ID %u is not one of its vCPUs' IDs (see its topology and max_vcpu_count)",
					e->label, a->ids[i]);
	memcpy(c->ids, a->ids, a->nids);
	return EXIT_DONE;
}

/* A refusal of IDs the guest was not asked about: say where they came from. */
static void picked_from_record(struct cli *cli, const struct vm_record *r,
			       const struct cpu_change *c)
{
	char list[ID_LIST_MAX], cmd[PATH_MAX + 64];

	format_id_list(c->ids, c->n, list, sizeof(list));
	hp_tool(cli, r, "vcpuctl", cmd, sizeof(cmd));
	fprintf(cli->err,
		"%s: notice: VM %s: %s%s %s %s picked from its record, since the guest does not answer queries; if the record is wrong, correct it with '%s sync --apic-ids LIST' or give --apic-ids\n",
		cli->prog, r->e->label, cli->arch == UPCALL_ARCH_AARCH64 ? "CPU id" : "APIC ID",
		c->n == 1 ? "" : "s", list, c->n == 1 ? "was" : "were", cmd);
}

static int run_cpu(struct cli *cli, struct cpu_args *a, bool add)
{
	struct cpu_change c = { .add = add, .n = a->count, .apic_ver = a->apic_ver };
	struct vm_record r = { .lockfd = -1, .dirfd = -1 };
	struct upcall_session *s;
	int rc = cli_session(cli, &s);

	if (rc)
		return rc;
	/* the boot state of a VM the inventory does not know */
	if (!cli->entry->in_inventory && a->boot_vcpus <= cli->entry->max_vcpus)
		cli->entry->boot_vcpus = a->boot_vcpus;
	/* IDs that cannot be right are refused before anything is sent */
	if (a->nids && (rc = given_ids(cli, cli->entry, a, &c)))
		return rc;
	/* the guest is asked which are online when there is a pick to make */
	rc = hp_begin(cli, &r, s, !a->nids, false);
	if (!rc && !a->nids)
		cli_set(cli, "source", json_text(r.from_guest ? "guest" : "record"));
	if (!rc && !a->nids)
		rc = pick_ids(cli, &r, &c);
	if (!rc)
		rc = hp_cpu_change(cli, &r, s, &c);
	if (rc == EXIT_REFUSED && !a->nids && !r.from_guest)
		picked_from_record(cli, &r, &c);
	record_close(&r);
	return rc;
}

static int run_add(struct cli *cli, void *args)
{
	return run_cpu(cli, args, true);
}

static int run_del(struct cli *cli, void *args)
{
	return run_cpu(cli, args, false);
}

const struct cli_cmd upcallctl_cpu_cmds[] = {
	{ "cpu", "add", "N",
	  "Bring N vCPUs online (default: the lowest free APIC IDs of the VM's record)", cpu_options,
	  cpu_parse, sizeof(struct cpu_args), run_add, NULL },
	{ "cpu", "del", "N",
	  "Take N vCPUs offline (default: the highest online, never the boot CPU)", cpu_options,
	  cpu_parse, sizeof(struct cpu_args), run_del, NULL },
	{ "hotplug", "cpu", "N", "Same as 'cpu add N'", cpu_options, cpu_parse,
	  sizeof(struct cpu_args), run_add, "cpu add" },
	{ 0 }
};
