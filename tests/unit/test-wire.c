// SPDX-License-Identifier: GPL-2.0-or-later
/* The guest-side request checks of include/upcall/wire.h. */
#include <errno.h>
#include <string.h>

#include <upcall/wire.h>
#include "tap.h"

static struct {
	struct upcall_msg_header hdr;
	union {
		struct upcall_cpu_x86 cpu;
		struct upcall_mem mem;
		struct upcall_mmio mmio;
		unsigned char raw[UPCALL_REQ_PAYLOAD_MAX];
	} p;
} req;

static void set(__u32 type, __u32 size)
{
	memset(&req, 0, sizeof(req));
	req.hdr.magic_version = UPCALL_MAGIC_VERSION;
	req.hdr.msg_type = type;
	req.hdr.msg_size = size;
}

static int check(int arm64)
{
	return upcall_check_request(&req.hdr, &req.p, arm64);
}

int main(void)
{
	tap_plan(16);
	set(UPCALL_MSG_ADD_CPU, 258);
	req.p.cpu.count = 2;
	req.p.cpu.apic_ids[0] = 2;
	req.p.cpu.apic_ids[1] = 3;
	is_int(check(0), 0, "worked example accepted");
	req.hdr.magic_version = 0x444D0101;
	is_int(check(0), -EPROTO, "wrong magic: -EPROTO");
	req.hdr.magic_version = UPCALL_MAGIC_VERSION;
	req.hdr.msg_size = 257;
	is_int(check(0), -EINVAL, "x86 CPU payload of 257: -EINVAL");
	req.hdr.msg_size = 1;
	is_int(check(1), 0, "aarch64 CPU payload of 1 accepted");
	is_int(check(0), -EINVAL, "1-byte CPU payload refused on x86_64");
	req.hdr.msg_size = 258;
	req.p.cpu.apic_ids[1] = 2;
	is_int(check(0), -EINVAL, "duplicate APIC ID: -EINVAL");
	req.p.cpu.count = 0;
	is_int(check(0), -EINVAL, "count 0: -EINVAL");
	req.p.cpu.count = 2;
	req.p.cpu.apic_ids[1] = 3;
	req.hdr.msg_flags = 1;
	is_int(check(0), -EINVAL, "non-zero flags: -EINVAL");

	set(UPCALL_MSG_ADD_MEM, 16);
	req.p.mem.base = ~0ULL - 5;
	req.p.mem.size = 1ULL << 27;
	is_int(check(0), -EINVAL, "overflowing memory range: -EINVAL");
	req.p.mem.base = 1ULL << 32;
	is_int(check(0), 0, "memory range accepted");

	set(UPCALL_MSG_ADD_MMIO, 24);
	req.p.mmio.base = 0xd0000000;
	req.p.mmio.size = 0x1000;
	is_int(check(0), -EINVAL, "MMIO IRQ 0: -EINVAL");
	req.p.mmio.irq = 5;
	is_int(check(0), 0, "MMIO accepted");
	req.hdr.msg_size = 20;
	is_int(check(0), -EINVAL, "MMIO msg_size 20: -EINVAL");

	set(UPCALL_MSG_CONNECT, 0);
	is_int(check(0), -EOPNOTSUPP, "CONNECT as a request: -EOPNOTSUPP");
	set(0x42, 0);
	is_int(check(0), -EOPNOTSUPP, "unknown type: -EOPNOTSUPP");
	set(UPCALL_MSG_QUERY_CPUS, 0);
	is_int(check(0), 0, "QUERY_CPUS accepted");
	return tap_done();
}
