// SPDX-License-Identifier: GPL-2.0
/*
 * ADD_CPU / DEL_CPU / QUERY_CPUS.
 *
 * The VMM has already made the vCPUs present (or booted them present but
 * offline, e.g. with maxcpus=); these requests only online or offline them.
 * x86_64 requests name CPUs by APIC ID; arm64 requests only carry a count.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/smp.h>
#include <linux/sort.h>

#include "upcall_guest.h"

#define UPCALL_BOOT_CPU	0

/*
 * The wire carries a u8 count; ids beyond it are outside the protocol.
 * arm64 has no cpu_physical_id(): there the wire id is the CPU id.
 */
static int upcall_cpu_wire_id(unsigned int cpu)
{
#ifdef CONFIG_ARM64
	return cpu;
#else
	return cpu_physical_id(cpu);
#endif
}

static int upcall_apic_to_cpu(unsigned int apic_id)
{
	unsigned int cpu;

	for_each_present_cpu(cpu)
		if (upcall_cpu_wire_id(cpu) == apic_id)
			return cpu;
	return -ENODEV;
}

/* add_cpu()/remove_cpu() return 1 when there was nothing to do. */
static int upcall_cpu_errno(int ret)
{
	return ret > 0 ? -EINVAL : ret;
}

/* Upstream refuses the whole request if any APIC ID is already online. */
static int upcall_cpu_check_add(const struct upcall_cpu_x86 *req)
{
	unsigned int i;

	for (i = 0; i < req->count; i++) {
		int cpu = upcall_apic_to_cpu(req->apic_ids[i]);

		if (cpu < 0)
			return cpu;
		if (cpu_online(cpu))
			return -EINVAL;
	}
	return 0;
}

/* Never the boot CPU, never the last online one, only online ones. */
static int upcall_cpu_check_del(const struct upcall_cpu_x86 *req)
{
	unsigned int i;

	if (req->count >= num_online_cpus())
		return -EINVAL;
	for (i = 0; i < req->count; i++) {
		int cpu = upcall_apic_to_cpu(req->apic_ids[i]);

		if (cpu < 0)
			return cpu;
		if (cpu == UPCALL_BOOT_CPU || !cpu_online(cpu))
			return -EINVAL;
	}
	return 0;
}

static int upcall_cpu_apply_x86(const struct upcall_cpu_x86 *req, bool add,
				u32 *index)
{
	unsigned int i;
	int ret;

	ret = add ? upcall_cpu_check_add(req) : upcall_cpu_check_del(req);
	if (ret)
		return ret;
	for (i = 0; i < req->count; i++) {
		int cpu = upcall_apic_to_cpu(req->apic_ids[i]);

		if (cpu < 0)
			return cpu;
		ret = upcall_cpu_errno(add ? add_cpu(cpu) : remove_cpu(cpu));
		if (ret) {
			pr_warn("%s CPU %d (APIC ID %u) failed: %d\n",
				add ? "onlining" : "offlining", cpu,
				req->apic_ids[i], ret);
			return ret;
		}
		pr_info("CPU %d (APIC ID %u) %s\n", cpu, req->apic_ids[i],
			add ? "online" : "offline");
		*index = i + 1;
	}
	return 0;
}

/* arm64: online the lowest present-but-offline CPUs; reply the id after the last. */
static int upcall_cpu_add_count(unsigned int count, u32 *cpu_id)
{
	unsigned int cpu, done = 0;
	int ret;

	if (num_online_cpus() + count > num_present_cpus())
		return -EINVAL;
	for_each_present_cpu(cpu) {
		if (done == count)
			break;
		if (cpu_online(cpu))
			continue;
		ret = upcall_cpu_errno(add_cpu(cpu));
		if (ret)
			return ret;
		*cpu_id = cpu + 1;
		done++;
	}
	return 0;
}

/* arm64: offline the highest online CPUs; reply the lowest id taken offline. */
static int upcall_cpu_del_count(unsigned int count, u32 *cpu_id)
{
	unsigned int done = 0;
	int cpu, ret;

	if (count >= num_online_cpus())
		return -EINVAL;
	for (cpu = nr_cpu_ids - 1; cpu > UPCALL_BOOT_CPU && done < count; cpu--) {
		if (!cpu_online(cpu))
			continue;
		ret = upcall_cpu_errno(remove_cpu(cpu));
		if (ret)
			return ret;
		*cpu_id = cpu;
		done++;
	}
	return done == count ? 0 : -EINVAL;
}

static int upcall_cpu_apply(const void *req, void *rep, bool add)
{
	const struct upcall_cpu_x86 *cpu_req = req;
	struct upcall_cpu_reply *cpu_rep = rep;

	if (!IS_ENABLED(CONFIG_ARM64))
		return upcall_cpu_apply_x86(cpu_req, add, &cpu_rep->apic_index);

	cpu_rep->apic_index = num_online_cpus();
	if (add)
		return upcall_cpu_add_count(cpu_req->count, &cpu_rep->apic_index);
	return upcall_cpu_del_count(cpu_req->count, &cpu_rep->apic_index);
}

int upcall_cpu_add(const void *req, void *rep, u32 *rep_size)
{
	return upcall_cpu_apply(req, rep, true);
}

int upcall_cpu_del(const void *req, void *rep, u32 *rep_size)
{
	return upcall_cpu_apply(req, rep, false);
}

static int upcall_cmp_id(const void *a, const void *b)
{
	return *(const u8 *)a - *(const u8 *)b;
}

/*
 * Logical CPU order need not be APIC ID order (the firmware's table
 * decides it), so the list is sorted: the protocol promises ascending ids.
 */
int upcall_cpu_query(const void *req, void *rep, u32 *rep_size)
{
	struct upcall_cpu_list *list = rep;
	unsigned int cpu;

	cpus_read_lock();
	for_each_online_cpu(cpu) {
		int id = upcall_cpu_wire_id(cpu);

		if (id < 0 || id >= UPCALL_MAX_APIC_IDS)
			continue;
		list->ids[list->count++] = id;
	}
	cpus_read_unlock();
	sort(list->ids, list->count, sizeof(list->ids[0]), upcall_cmp_id, NULL);
	*rep_size = sizeof(*list);
	return 0;
}
