// SPDX-License-Identifier: GPL-2.0
/*
 * ADD_CPU / DEL_CPU / QUERY_CPUS.
 *
 * x86_64 requests name CPUs by APIC ID.  An APIC ID no present CPU has is
 * made present here (the VMM created the vCPU after boot), registered and
 * brought up, as Dragonball's guest does without ACPI; DEL_CPU takes such
 * a CPU away again.  A present CPU (booted present, e.g. with maxcpus=) is
 * only onlined and offlined.  arm64 requests only carry a count and only
 * present CPUs are used.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/smp.h>
#include <linux/sort.h>

#include "upcall_guest.h"

#if defined(CONFIG_X86_64) && defined(CONFIG_ACPI_HOTPLUG_CPU)
#define UPCALL_CPU_HOTADD 1
#include <linux/acpi.h>
#include <asm/apic.h>
#include <asm/cpu.h>
#endif

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

/* Callers hold cpus_read_lock(): the present mask may not change under us. */
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

/*
 * For making a CPU present or absent, which the kernel's ACPI processor
 * hot-add does under cpus_write_lock() (not exported): cpus_read_lock()
 * keeps that path out, and cpu_hotplug_disable() waits for an online or
 * offline in progress and makes new ones fail with -EBUSY instead of
 * waiting, so unregistering a CPU device cannot wait for a sysfs "online"
 * write that waits for us.  add_cpu()/remove_cpu() run outside it.
 */
static void upcall_cpu_maps_lock(void)
{
	cpu_hotplug_disable();
	cpus_read_lock();
}

static void upcall_cpu_maps_unlock(void)
{
	cpus_read_unlock();
	cpu_hotplug_enable();
}

#ifdef UPCALL_CPU_HOTADD
/*
 * CPUs this load made present.  DEL_CPU makes only these absent again; a
 * later load does not know them (they stay present, like boot CPUs).
 * Serialised by the device manager's request lock.
 */
static struct cpumask upcall_cpus_mapped;

/*
 * The kernel binds a logical CPU to the first APIC ID it is given, for
 * good (x86_bios_cpu_apicid keeps it when the CPU is unmapped), so a new
 * APIC ID needs a possible CPU never bound; asking for one past the last
 * makes generic_processor_info() warn.  That is refused here first.
 */
static bool upcall_cpu_bound(unsigned int apic_id)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu)
		if (per_cpu(x86_bios_cpu_apicid, cpu) == apic_id)
			return true;
	return false;
}

static unsigned int upcall_cpu_unbound_slots(void)
{
	unsigned int cpu, n = 0;

	for_each_possible_cpu(cpu)
		if (per_cpu(x86_bios_cpu_apicid, cpu) == BAD_APICID)
			n++;
	return n;
}

/*
 * In xAPIC mode 0xff is the broadcast destination, which the kernel never
 * starts ("bad cpu"); mapping it first would bind a spare logical CPU to
 * it for the rest of the boot.
 */
static bool upcall_cpu_id_usable(unsigned int apic_id)
{
	return x2apic_mode || apic_id != 0xff;
}

/* Under upcall_cpu_maps_lock(): make @apic_id present and register it. */
static int upcall_cpu_map(unsigned int apic_id)
{
	int cpu, ret;

	ret = acpi_map_cpu(NULL, apic_id, apic_id, &cpu);
	if (ret)
		return ret;
	/* A device left over for an absent CPU would be registered twice. */
	if (get_cpu_device(cpu)) {
		acpi_unmap_cpu(cpu);
		return -EBUSY;
	}
	ret = arch_register_cpu(cpu);
	if (ret) {
		acpi_unmap_cpu(cpu);
		return ret;
	}
	cpumask_set_cpu(cpu, &upcall_cpus_mapped);
	return cpu;
}

/* Unregister and unmap a CPU this load mapped, if it is still offline. */
static int upcall_cpu_unmap(unsigned int cpu)
{
	int ret = 0;

	upcall_cpu_maps_lock();
	if (!cpu_present(cpu) || cpu_online(cpu) || !get_cpu_device(cpu)) {
		ret = -EBUSY;
		goto out;
	}
	arch_unregister_cpu(cpu);
	acpi_unmap_cpu(cpu);
	cpumask_clear_cpu(cpu, &upcall_cpus_mapped);
out:
	upcall_cpu_maps_unlock();
	return ret;
}

static bool upcall_cpu_is_mapped(unsigned int cpu)
{
	return cpumask_test_cpu(cpu, &upcall_cpus_mapped);
}
#else
static bool upcall_cpu_bound(unsigned int apic_id)
{
	return false;
}

static unsigned int upcall_cpu_unbound_slots(void)
{
	return 0;
}

static bool upcall_cpu_id_usable(unsigned int apic_id)
{
	return true;
}

static int upcall_cpu_map(unsigned int apic_id)
{
	return -ENODEV;
}

static int upcall_cpu_unmap(unsigned int cpu)
{
	return -ENODEV;
}

static bool upcall_cpu_is_mapped(unsigned int cpu)
{
	return false;
}
#endif

/*
 * Upstream refuses the whole request if any APIC ID is already online.
 * An absent one needs a logical CPU the kernel can give it: -ENODEV if
 * there are too few (no CPU has that APIC ID, and none can be made).
 */
static int upcall_cpu_check_add(const struct upcall_cpu_x86 *req)
{
	unsigned int i, fresh = 0;
	int ret = 0;

	cpus_read_lock();
	for (i = 0; i < req->count && !ret; i++) {
		unsigned int id = req->apic_ids[i];
		int cpu = upcall_apic_to_cpu(id);

		if (cpu >= 0)
			ret = cpu_online(cpu) ? -EINVAL : 0;
		else if (!upcall_cpu_id_usable(id))
			ret = -EINVAL;
		else if (!upcall_cpu_bound(id))
			fresh++;
	}
	if (!ret && fresh > upcall_cpu_unbound_slots())
		ret = -ENODEV;
	cpus_read_unlock();
	return ret;
}

/* Never the boot CPU, never the last online one, only online ones. */
static int upcall_cpu_check_del(const struct upcall_cpu_x86 *req)
{
	unsigned int i;
	int ret = 0;

	cpus_read_lock();
	if (req->count >= num_online_cpus())
		ret = -EINVAL;
	for (i = 0; i < req->count && !ret; i++) {
		int cpu = upcall_apic_to_cpu(req->apic_ids[i]);

		if (cpu < 0)
			ret = cpu;
		else if (cpu == UPCALL_BOOT_CPU || !cpu_online(cpu))
			ret = -EINVAL;
	}
	cpus_read_unlock();
	return ret;
}

/*
 * The CPU to online for @apic_id, made present first if it is absent
 * (*@mapped says so).  Checked again here, under the lock, because the
 * kernel's own hotplug paths may have moved since the request's check.
 */
static int upcall_cpu_prepare_add(unsigned int apic_id, bool *mapped)
{
	int cpu;

	upcall_cpu_maps_lock();
	cpu = upcall_apic_to_cpu(apic_id);
	if (cpu < 0) {
		cpu = upcall_cpu_map(apic_id);
		*mapped = cpu >= 0;
	} else if (cpu_online(cpu)) {
		cpu = -EINVAL;
	} else if (!get_cpu_device(cpu)) {
		cpu = -ENODEV;
	}
	upcall_cpu_maps_unlock();
	return cpu;
}

static int upcall_cpu_add_one(unsigned int apic_id)
{
	bool mapped = false;
	int cpu, ret;

	cpu = upcall_cpu_prepare_add(apic_id, &mapped);
	if (cpu < 0)
		return cpu;
	/* 1: a sysfs write onlined it since the check; done all the same. */
	ret = min(add_cpu(cpu), 0);
	if (!ret) {
		pr_info_ratelimited("CPU %d (APIC ID %u) %s\n", cpu, apic_id,
				    mapped ? "added" : "online");
		return 0;
	}
	pr_warn_ratelimited("onlining CPU %d (APIC ID %u) failed: %d\n",
			    cpu, apic_id, ret);
	/* A vCPU the VMM never created: leave the guest as it was. */
	if (mapped && upcall_cpu_unmap(cpu))
		pr_warn_ratelimited("CPU %d (APIC ID %u) stays present\n",
				    cpu, apic_id);
	return ret;
}

static int upcall_cpu_prepare_del(unsigned int apic_id)
{
	int cpu;

	upcall_cpu_maps_lock();
	cpu = upcall_apic_to_cpu(apic_id);
	if (cpu >= 0 && (cpu == UPCALL_BOOT_CPU || !cpu_online(cpu)))
		cpu = -EINVAL;
	else if (cpu >= 0 && !get_cpu_device(cpu))
		cpu = -ENODEV;
	upcall_cpu_maps_unlock();
	return cpu;
}

/* Offline; a CPU this load made present is also made absent again. */
static int upcall_cpu_del_one(unsigned int apic_id)
{
	bool mapped;
	int cpu, ret;

	cpu = upcall_cpu_prepare_del(apic_id);
	if (cpu < 0)
		return cpu;
	ret = min(remove_cpu(cpu), 0);
	mapped = !ret && upcall_cpu_is_mapped(cpu);
	if (mapped)
		ret = upcall_cpu_unmap(cpu);
	if (ret) {
		pr_warn_ratelimited("removing CPU %d (APIC ID %u) failed: %d\n",
				    cpu, apic_id, ret);
		return ret;
	}
	pr_info_ratelimited("CPU %d (APIC ID %u) %s\n", cpu, apic_id,
			    mapped ? "removed" : "offline");
	return 0;
}

/* In order; *@index is the first entry not handled, also on failure. */
static int upcall_cpu_apply_x86(const struct upcall_cpu_x86 *req, bool add,
				u32 *index)
{
	unsigned int i;
	int ret;

	ret = add ? upcall_cpu_check_add(req) : upcall_cpu_check_del(req);
	if (ret)
		return ret;
	for (i = 0; i < req->count; i++) {
		unsigned int id = req->apic_ids[i];

		ret = add ? upcall_cpu_add_one(id) : upcall_cpu_del_one(id);
		if (ret)
			return ret;
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
