// SPDX-License-Identifier: GPL-2.0-or-later
/* vcpuctl get | set-count N | sync [--apic-ids LIST] */
#include <stdio.h>
#include <string.h>

#include "../common/hotplug.h"

struct vcpu_args {
	unsigned int count;
	unsigned int nids;
	uint8_t ids[UPCALL_MAX_APIC_IDS];
};

enum { OPT_APIC_IDS = 0x200 };

static const struct argp_option sync_options[] = {
	{ "apic-ids", OPT_APIC_IDS, "LIST", 0,
	  "The IDs really online (x86_64 APIC IDs, aarch64 CPU ids), e.g. 0,1,4; "
	  "must include the boot CPU (default: ask the guest)", 0 },
	{ 0 }
};

static error_t count_parse(int key, char *arg, struct argp_state *state)
{
	struct vcpu_args *a = ((struct cli_parse *)state->input)->args;

	return parse_count_key(key, arg, state, &a->count);
}

static error_t sync_parse(int key, char *arg, struct argp_state *state)
{
	struct vcpu_args *a = ((struct cli_parse *)state->input)->args;
	char err[160];

	switch (key) {
	case OPT_APIC_IDS:
		if (parse_id_list(arg, a->ids, UPCALL_MAX_APIC_IDS, &a->nids, err, sizeof(err)))
			argp_error(state, "--apic-ids: %s", err);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static void report_state(struct cli *cli, const struct vm_record *r)
{
	bool x86 = cli->arch == UPCALL_ARCH_X86_64;
	char list[ID_LIST_MAX];

	state_format_ids(r->st.cpus, r->st.ncpus, list, sizeof(list));
	cli_set(cli, "vm", json_text(r->e->label));
	cli_set(cli, "count", json_integer(r->st.ncpus));
	cli_set(cli, x86 ? "apic_ids" : "cpu_ids", json_id_array(r->st.cpus, r->st.ncpus));
	cli_set(cli, "boot", json_integer(r->e->boot_vcpus));
	cli_set(cli, "max", json_integer(r->e->max_vcpus));
	cli_set(cli, "source", json_text(r->from_guest ? "guest" : "record"));
	/* without an entry the max is only the protocol's */
	cli_say(cli, "%s: %u vCPU%s online (%s%s %s), max %u%s; %s", r->e->label,
		r->st.ncpus, r->st.ncpus == 1 ? "" : "s", x86 ? "APIC ID" : "CPU id",
		r->st.ncpus == 1 ? "" : "s", list, r->e->max_vcpus,
		r->e->in_inventory ? "" : " (no max_vcpu_count in an inventory)",
		r->from_guest ? "as the guest reports" : "from the record");
	cli_set(cli, "uncertain", json_id_array(r->st.uncertain, r->st.nuncertain));
	if (!r->st.nuncertain)
		return;
	state_format_ids(r->st.uncertain, r->st.nuncertain, list, sizeof(list));
	cli_say(cli, "uncertain: %s%s %s (a request failed without the guest saying how far it got; they may be online or not): check the guest, then run 'vcpuctl --vm %s sync --apic-ids LIST'",
		x86 ? "APIC ID" : "CPU id", r->st.nuncertain == 1 ? "" : "s", list,
		cli->vm ? cli->vm : r->e->label);
}

static int run_get(struct cli *cli, void *args)
{
	struct upcall_session *s;
	struct vm_record r = { .lockfd = -1, .dirfd = -1 };
	int rc = cli_session(cli, &s);

	(void)args;
	if (!rc)
		rc = hp_begin(cli, &r, s, true, false);
	if (!rc)
		rc = hp_record_save(cli, &r, NULL);
	if (!rc) {
		report_state(cli, &r);
		rc = cli_finish(cli, UPCALL_OK);
	}
	record_close(&r);
	return rc;
}

/* Which IDs take the record from its count to @want (Dragonball's order). */
static int plan(struct cli *cli, const struct vm_record *r, unsigned int want,
		struct cpu_change *c)
{
	uint8_t valid[UPCALL_MAX_APIC_IDS];
	unsigned int nvalid = vm_valid_ids(r->e, valid), have = r->st.ncpus;

	c->add = want > have;
	c->apic_ver = r->e->apic_ver;
	if (c->add)
		c->n = topology_pick_free(valid, nvalid, r->st.cpus, have, want - have, c->ids);
	else
		c->n = topology_pick_online(r->st.cpus, have, valid[0], have - want, c->ids);
	if (c->n == (c->add ? want - have : have - want))
		return EXIT_DONE;
	return cli_fail(cli, EXIT_USAGE,
			"VM %s: cannot go from %u to %u vCPUs: the record's IDs do not fit its topology (see 'vcpuctl get'; re-seed with 'vcpuctl sync')",
			r->e->label, have, want);
}

static int set_count(struct cli *cli, struct vm_record *r, struct upcall_session *s,
		     unsigned int want)
{
	unsigned int have = r->st.ncpus;
	struct cpu_change c;
	int rc;

	cli_set(cli, "vm", json_text(r->e->label));
	cli_set(cli, "from", json_integer(have));
	cli_set(cli, "to", json_integer(want));
	if (want == have) {
		cli_say(cli, "%s already has %u vCPU%s; nothing to do", r->e->label, have,
			have == 1 ? "" : "s");
		rc = hp_record_save(cli, r, NULL);
		return rc ? rc : cli_finish(cli, UPCALL_OK);
	}
	memset(&c, 0, sizeof(c));
	if ((rc = plan(cli, r, want, &c)))
		return rc;
	return hp_cpu_change(cli, r, s, &c);
}

static int run_set_count(struct cli *cli, void *args)
{
	struct vcpu_args *a = args;
	struct upcall_session *s;
	struct vm_record r = { .lockfd = -1, .dirfd = -1 };
	int rc = cli_session(cli, &s);

	if (rc)
		return rc;
	if (a->count > cli->entry->max_vcpus)
		return cli_fail(cli, EXIT_USAGE, "VM %s: %u vCPUs is outside 1..%u (max_vcpu_count)",
				cli->entry->label, a->count, cli->entry->max_vcpus);
	rc = hp_begin(cli, &r, s, true, false);
	if (!rc && r.st.nuncertain)
		rc = cli_fail(cli, EXIT_USAGE,
			      "VM %s: the record has uncertain vCPUs (see 'vcpuctl get'); check the guest, then run 'vcpuctl --vm %s sync --apic-ids LIST'",
			      r.e->label, cli->vm ? cli->vm : r.e->label);
	if (!rc)
		rc = set_count(cli, &r, s, a->count);
	record_close(&r);
	return rc;
}

/* The record takes @a's IDs; an interrupted request about memory stays marked. */
static int save_sync(struct cli *cli, struct vm_record *r, const struct vcpu_args *a)
{
	int rc;

	state_cpus_set(&r->st, a->ids, a->nids);
	r->st.nuncertain = 0;
	rc = hp_record_save(cli, r, hp_pending_is(r, true) ? "" : NULL);
	if (rc)
		return rc;
	report_state(cli, r);
	return cli_finish(cli, UPCALL_OK);
}

/* sync without a list: the guest's answer, or an error that says what to give */
static int ask_online(struct cli *cli, struct vm_record *r, struct upcall_session *s,
		      struct vcpu_args *a)
{
	struct upcall_id_list on;
	enum upcall_status st = upcall_query_cpus(s, &on);
	char cmd[PATH_MAX + 64];

	if (st == UPCALL_ERR_GUEST) {
		hp_tool(cli, r, "vcpuctl", cmd, sizeof(cmd));
		return cli_fail(cli, EXIT_REFUSED,
				"VM %s: the guest does not answer queries (%s), so it cannot say which vCPUs are online; check the guest, then run '%s sync --apic-ids LIST'",
				r->e->label, upcall_errmsg(s), cmd);
	}
	if (st)
		return cli_finish(cli, st);
	memcpy(a->ids, on.ids, on.count);
	a->nids = on.count;
	r->from_guest = true;
	return EXIT_DONE;
}

static int run_sync(struct cli *cli, void *args)
{
	struct vcpu_args *a = args;
	uint8_t valid[UPCALL_MAX_APIC_IDS];
	struct upcall_session *s;
	struct vm_record r = { .lockfd = -1, .dirfd = -1 };
	unsigned int nvalid;
	int rc = cli_session(cli, &s);

	if (rc)
		return rc;
	if (!a->nids) {
		rc = hp_record_open(cli, &r, true);
		if (!rc)
			rc = ask_online(cli, &r, s, a);
		if (!rc)
			rc = save_sync(cli, &r, a);
		record_close(&r);
		return rc;
	}
	nvalid = vm_valid_ids(cli->entry, valid);
	for (unsigned int i = 0; i < a->nids; i++)
		if (!memchr(valid, a->ids[i], nvalid))
			return cli_fail(cli, EXIT_USAGE,
					"VM %s: ID %u is not one of its vCPUs' IDs (see its topology and max_vcpu_count)",
					cli->entry->label, a->ids[i]);
	if (!memchr(a->ids, valid[0], a->nids))
		return cli_fail(cli, EXIT_USAGE, "VM %s: the boot CPU (ID %u) is always online; list it",
				cli->entry->label, valid[0]);
	rc = hp_record_open(cli, &r, true);
	if (!rc)
		rc = save_sync(cli, &r, a);
	record_close(&r);
	return rc;
}

const struct cli_cmd vcpuctl_cmds[] = {
	{ "get", NULL, NULL, "Show the online vCPUs (asks the guest when it can answer)",
	  NULL, NULL, sizeof(struct vcpu_args), run_get, NULL },
	{ "set-count", NULL, "N",
	  "Add or remove vCPUs until N are online (1..max_vcpu_count); exit 2 when only some were",
	  NULL, count_parse, sizeof(struct vcpu_args), run_set_count, NULL },
	{ "sync", NULL, NULL,
	  "Re-seed the state record with the vCPUs online: the guest's answer, or --apic-ids",
	  sync_options, sync_parse, sizeof(struct vcpu_args), run_sync, NULL },
	{ 0 }
};
