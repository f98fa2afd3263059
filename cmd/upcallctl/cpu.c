// SPDX-License-Identifier: GPL-2.0-or-later
/* upcallctl cpu add|del, hotplug cpu */
#include <stdio.h>
#include <string.h>

#include "upcallctl.h"

struct cpu_args {
	unsigned int count;
	bool have_count;
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
	  "Without --apic-ids: the VM booted with B vCPUs (default 1)", 0 },
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
	case ARGP_KEY_ARG:
		if (state->arg_num > 0)
			return ARGP_ERR_UNKNOWN;
		if (parse_uint(arg, 1, UPCALL_MAX_CPU_COUNT, &v, "vCPU count", err, sizeof(err)))
			argp_error(state, "%s", err);
		a->count = (unsigned int)v;
		a->have_count = true;
		return 0;
	case ARGP_KEY_END:
		if (!a->have_count)
			argp_error(state, "missing vCPU count N");
		if (a->nids && a->nids != a->count)
			argp_error(state, "count %u does not match the %u APIC IDs given",
				   a->count, a->nids);
		if (a->nids && p->cli->arch == UPCALL_ARCH_AARCH64)
			argp_error(state, "--apic-ids applies to x86_64 guests only (aarch64 sends a count)");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

/* Without --apic-ids: what a VM booted with B vCPUs would have free or added. */
static int default_ids(struct cli *cli, struct cpu_args *a, bool add)
{
	unsigned int first = a->boot_vcpus;

	if (first + a->count > UPCALL_MAX_APIC_IDS)
		return cli_fail(cli, EXIT_USAGE,
				"APIC IDs %u..%u do not exist (at most 255)",
				first, first + a->count - 1);
	for (unsigned int i = 0; i < a->count; i++)
		a->ids[i] = (uint8_t)(add ? first + i : first + a->count - 1 - i);
	a->nids = a->count;
	return EXIT_DONE;
}

static int run_cpu(struct cli *cli, struct cpu_args *a, bool add)
{
	struct upcall_cpu_request req = { .count = a->count, .apic_ver = a->apic_ver };
	bool x86 = cli->arch == UPCALL_ARCH_X86_64;
	struct upcall_session *s;
	struct upcall_reply reply;
	enum upcall_status st;
	char list[1024];
	unsigned int done;
	int rc;

	if (x86 && !a->nids && (rc = default_ids(cli, a, add)))
		return rc;
	rc = cli_session(cli, &s);
	if (rc)
		return rc;
	memcpy(req.apic_ids, a->ids, a->nids);
	memset(&reply, 0, sizeof(reply));
	st = add ? upcall_add_cpu(s, &req, &reply) : upcall_del_cpu(s, &req, &reply);

	cli_set(cli, "requested", json_integer(a->count));
	if (x86)
		cli_set(cli, "apic_ids", json_id_array(a->ids, a->nids));
	if (st == UPCALL_OK || st == UPCALL_ERR_PARTIAL || st == UPCALL_ERR_GUEST) {
		done = x86 ? reply.cpu_index : (st == UPCALL_OK ? a->count : 0);
		cli_set(cli, "ret", json_integer(reply.ret));
		if (x86) {
			cli_set(cli, "done", json_id_array(a->ids, done));
			cli_set(cli, "not_done", json_id_array(a->ids + done, a->count - done));
		} else {
			cli_set(cli, "cpu_id", json_integer(reply.cpu_index));
		}
		if (x86 && done) {
			format_id_list(a->ids, done, list, sizeof(list));
			cli_say(cli, "%s %u vCPU%s (APIC ID%s %s)%s", add ? "added" : "removed",
				done, done == 1 ? "" : "s", done == 1 ? "" : "s", list,
				st == UPCALL_OK ? "" : "; the rest were not");
		} else if (!x86 && st == UPCALL_OK) {
			cli_say(cli, "%s %u vCPU%s (guest reports CPU id %u next)",
				add ? "added" : "removed", a->count, a->count == 1 ? "" : "s",
				reply.cpu_index);
		}
	}
	return cli_finish(cli, st);
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
	{ "cpu", "add", "N", "Bring N vCPUs online in the guest", cpu_options,
	  cpu_parse, sizeof(struct cpu_args), run_add, NULL },
	{ "cpu", "del", "N", "Take N vCPUs offline (highest APIC IDs first)", cpu_options,
	  cpu_parse, sizeof(struct cpu_args), run_del, NULL },
	{ "hotplug", "cpu", "N", "Same as 'cpu add N'", cpu_options, cpu_parse,
	  sizeof(struct cpu_args), run_add, "cpu add" },
	{ 0 }
};
