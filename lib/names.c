// SPDX-License-Identifier: LGPL-2.1-or-later
/* Human names for protocol and library values. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#ifndef UPCALL_VERSION
#define UPCALL_VERSION "0"
#endif

UPCALL_EXPORT
const char *upcall_msg_type_name(uint32_t type, char *buf, size_t len)
{
	const char *name = upcall_msg_name(type);

	if (name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "TYPE_0x%" PRIx32, type);
	return buf;
}

struct errno_meaning {
	uint32_t type;
	int32_t ret;
	const char *meaning;
};

/*
 * What a refusal means for the request it answers, from this project's
 * guest module, Dragonball's upstream guest and the stub; the causes a
 * tool cannot tell apart are all named.  docs/protocol.md has the table.
 */
static const struct errno_meaning meanings[] = {
	{ UPCALL_MSG_ADD_CPU, -EINVAL,
	  "an APIC ID is already online, or (upstream guest) no possible CPU is left" },
	{ UPCALL_MSG_ADD_CPU, -ENODEV,
	  "no spare possible CPU for a new APIC ID (boot the guest with possible_cpus=)" },
	{ UPCALL_MSG_ADD_CPU, -EIO,
	  "a vCPU did not come up (the VMM has not created it, or it failed to start)" },
	{ UPCALL_MSG_DEL_CPU, -EINVAL,
	  "the boot CPU, an offline CPU, or every online CPU was named" },
	{ UPCALL_MSG_DEL_CPU, -ENODEV, "no CPU has that APIC ID" },
	{ UPCALL_MSG_ADD_MEM, -EINVAL,
	  "base or size is not a multiple of the guest's memory block size" },
	{ UPCALL_MSG_ADD_MEM, -ERANGE, "the range is beyond what the guest can plug" },
	{ UPCALL_MSG_ADD_MEM, -EEXIST, "the range overlaps memory the guest has" },
	{ UPCALL_MSG_ADD_MEM, -ENOMEM,
	  "the guest has too little free memory to map that much (about 1/64 of it)" },
	{ UPCALL_MSG_ADD_MEM, -EBUSY,
	  "the guest's memory hot-plug, or another request, kept it busy; try again" },
	{ UPCALL_MSG_DEL_MEM, -EINVAL,
	  "base or size is not a multiple of the guest's memory block size" },
	{ UPCALL_MSG_DEL_MEM, -ENOENT,
	  "the range is not (all) memory the guest module added since it was loaded" },
	{ UPCALL_MSG_DEL_MEM, -EBUSY,
	  "pages in the range could not be moved away (pinned in the guest), or another "
	  "request kept the guest busy; nothing was removed" },
	{ UPCALL_MSG_ADD_MMIO, -EINVAL,
	  "the window lies in RAM or is not a power of two from 0x200 to 4K aligned to its size" },
	{ UPCALL_MSG_ADD_MMIO, -EBUSY,
	  "the window or its IRQ is in use (a PCI BAR, a reserved range, a driver), or "
	  "another request kept the guest busy" },
	{ UPCALL_MSG_ADD_MMIO, -EEXIST, "the window overlaps a virtio-mmio device already added" },
	{ UPCALL_MSG_ADD_MMIO, -ENODEV,
	  "nothing in the window answers as a virtio device, or the guest lacks virtio_mmio" },
	{ UPCALL_MSG_ADD_MMIO, -EOPNOTSUPP,
	  "the guest cannot route that IRQ (arm64 guests take no virtio-mmio devices)" },
	{ UPCALL_MSG_DEL_MMIO, -ENOENT,
	  "no virtio-mmio device added through upcall has exactly that window and IRQ" },
	{ UPCALL_MSG_DEL_MMIO, -ENODEV, "no device has that window (upstream guest)" },
	{ UPCALL_MSG_ADD_PCI, -ENODEV, "the guest has no such PCI bus" },
	{ UPCALL_MSG_ADD_PCI, -ENOENT,
	  "nothing is in that slot after a rescan: has the VMM attached the device?" },
	{ UPCALL_MSG_DEL_PCI, -ENODEV, "no PCI device at that address" },
};

const char *upcall_errno_meaning(uint32_t type, int32_t ret, uint32_t msg_size)
{
	for (size_t i = 0; i < sizeof(meanings) / sizeof(meanings[0]); i++)
		if (meanings[i].type == type && meanings[i].ret == ret)
			return meanings[i].meaning;
	if (ret == -EOPNOTSUPP)
		return "the guest does not serve this request";
	if (ret == -EBUSY)
		return "another request kept the guest busy; try again";
	if (ret == -ESHUTDOWN)
		return "the guest module is being unloaded";
	/* Upstream's answer to a type it does not know: -1, nothing else. */
	if (ret == -1 && msg_size == 0)
		return type == UPCALL_MSG_ADD_MEM || type == UPCALL_MSG_DEL_MEM ||
		       type >= UPCALL_MSG_QUERY_CPUS ?
		       "the guest does not serve this request (an upstream guest; memory and "
		       "queries are an extension only upcall-tools' guest module serves)" :
		       "the guest does not serve this request (an upstream guest)";
	return NULL;
}

UPCALL_EXPORT
const char *upcall_status_name(enum upcall_status st)
{
	switch (st) {
	case UPCALL_OK: return "ok";
	case UPCALL_ERR_GUEST: return "refused";
	case UPCALL_ERR_PARTIAL: return "partial";
	case UPCALL_ERR_INVALID: return "invalid";
	case UPCALL_ERR_UNREACHABLE: return "unreachable";
	case UPCALL_ERR_TIMEOUT: return "timeout";
	case UPCALL_ERR_PROTOCOL: return "protocol";
	case UPCALL_ERR_SYSTEM: return "system";
	case UPCALL_ERR_CANCELLED: return "cancelled";
	case UPCALL_IN_PROGRESS: return "in progress";
	}
	return "unknown";
}

UPCALL_EXPORT
const char *upcall_arch_name(enum upcall_arch arch)
{
	return arch == UPCALL_ARCH_AARCH64 ? "aarch64" : "x86_64";
}

UPCALL_EXPORT
int upcall_arch_parse(const char *name, enum upcall_arch *arch)
{
	if (strcmp(name, "x86_64") == 0 || strcmp(name, "amd64") == 0)
		*arch = UPCALL_ARCH_X86_64;
	else if (strcmp(name, "aarch64") == 0 || strcmp(name, "arm64") == 0)
		*arch = UPCALL_ARCH_AARCH64;
	else
		return -1;
	return 0;
}

UPCALL_EXPORT
enum upcall_arch upcall_host_arch(void)
{
#if defined(__aarch64__)
	return UPCALL_ARCH_AARCH64;
#else
	return UPCALL_ARCH_X86_64;
#endif
}

UPCALL_EXPORT
const char *upcall_version(void)
{
	return UPCALL_VERSION;
}
