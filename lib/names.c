// SPDX-License-Identifier: LGPL-2.1-or-later
/* Human names for protocol and library values. */
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
