/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * Upcall device-manager wire layout: the single definition shared by
 * libupcall, upcall-stub and the guest kernel module.
 *
 * Every frame is UPCALL_FRAME_SIZE bytes, little-endian, natural C layout,
 * unused bytes zero.  See docs/protocol.md.
 *
 * Fixed-width kernel types only, so this compiles in kernel context and in
 * user space (via the uapi <linux/types.h>).
 */
#ifndef UPCALL_WIRE_H
#define UPCALL_WIRE_H

#include <linux/types.h>
#include <linux/errno.h>

#define UPCALL_DEFAULT_PORT	219
#define UPCALL_MAX_PORT		1024	/* upstream guests accept 0 < port <= 1024 */
#define UPCALL_SERVICE_DEVMGR	'd'
#define UPCALL_SERVICE_TIMEOUT_MS 10000	/* guest waits this long for the service byte */

#define UPCALL_FRAME_SIZE	1024
#define UPCALL_MAGIC_VERSION	0x444D0100U	/* "DM", version 1.0 */

enum upcall_msg_type {
	UPCALL_MSG_CONNECT	= 0,
	UPCALL_MSG_ADD_CPU	= 1,
	UPCALL_MSG_DEL_CPU	= 2,
	UPCALL_MSG_ADD_MEM	= 3,	/* payload is this project's extension */
	UPCALL_MSG_DEL_MEM	= 4,	/* payload is this project's extension */
	UPCALL_MSG_ADD_MMIO	= 5,
	UPCALL_MSG_DEL_MMIO	= 6,
	UPCALL_MSG_ADD_PCI	= 7,
	UPCALL_MSG_DEL_PCI	= 8,
	/* Query extension: never collides with upstream's 0..8. */
	UPCALL_MSG_QUERY_CPUS	= 0x100,
	UPCALL_MSG_QUERY_MEM	= 0x101,
	UPCALL_MSG_QUERY_MMIO	= 0x102,
	UPCALL_MSG_QUERY_PCI	= 0x103,
};

struct upcall_msg_header {
	__u32 magic_version;
	__u32 msg_size;		/* payload bytes after the header (after ret in replies) */
	__u32 msg_type;
	__u32 msg_flags;	/* reserved, 0 */
};

#define UPCALL_HDR_SIZE		((__u32)sizeof(struct upcall_msg_header))
#define UPCALL_REQ_PAYLOAD_MAX	(UPCALL_FRAME_SIZE - UPCALL_HDR_SIZE)

#define UPCALL_MAX_APIC_IDS	256
#define UPCALL_MAX_CPU_COUNT	255	/* count is a u8 */
#define UPCALL_DEFAULT_APIC_VER	0x14	/* what Dragonball's MP table advertises */
#define UPCALL_MAX_IRQ		1019	/* highest line either arch routes (GIC SPI) */

/* ADD_CPU/DEL_CPU request, x86_64 guest. */
struct upcall_cpu_x86 {
	__u8 count;
	__u8 apic_ver;
	__u8 apic_ids[UPCALL_MAX_APIC_IDS];
};

/* ADD_CPU/DEL_CPU request, aarch64 guest: the guest picks the CPUs. */
struct upcall_cpu_arm64 {
	__u8 count;
};

/* ADD_MEM/DEL_MEM request (extension). */
struct upcall_mem {
	__u64 base;
	__u64 size;
};

/* ADD_MMIO/DEL_MMIO request. */
struct upcall_mmio {
	__u64 base;
	__u64 size;
	__u32 irq;
	__u32 pad;	/* tail padding of upstream's struct, zero */
};

/* ADD_PCI/DEL_PCI request. */
struct upcall_pci {
	__u8 busno;
	__u8 devfn;
};

/* Reply: header, then ret at offset 16, then msg_size bytes of payload. */
struct upcall_reply_head {
	struct upcall_msg_header hdr;
	__s32 ret;		/* 0 or a negative Linux errno */
};

#define UPCALL_REPLY_PAYLOAD_MAX (UPCALL_FRAME_SIZE - (__u32)sizeof(struct upcall_reply_head))

/*
 * ADD_CPU/DEL_CPU reply payload: index in apic_ids of the first CPU not
 * handled (== count when all were), or on aarch64 the CPU id after the last
 * one handled.
 */
struct upcall_cpu_reply {
	__u32 apic_index;
};

/* QUERY_CPUS reply payload (extension): online CPUs by APIC ID (x86_64) or CPU id. */
struct upcall_cpu_list {
	__u32 count;
	__u8 ids[UPCALL_MAX_APIC_IDS];
};

#define UPCALL_MAX_MEM_RANGES	62

/* QUERY_MEM reply payload (extension): ranges hot-added through upcall. */
struct upcall_mem_list {
	__u32 count;
	__u32 pad;
	struct upcall_mem ranges[UPCALL_MAX_MEM_RANGES];
};

/*
 * QUERY_MMIO/QUERY_PCI request payload (extension): the index of the first
 * entry wanted.  A list longer than one reply is read in pages.
 */
struct upcall_list_req {
	__u32 start;
	__u32 pad;	/* zero */
};

/*
 * Head of a paged list reply (extension).  @tag is the same for every page
 * of one list (upcall_list_tag() over all of it): a reader that sees it or
 * @total change between pages starts over.
 */
struct upcall_list_head {
	__u32 total;	/* entries in the whole list */
	__u32 start;	/* the request's start, echoed */
	__u32 count;	/* entries in this reply */
	__u32 tag;
};

/* QUERY_MMIO reply: the virtio-mmio devices added through upcall, by base. */
#define UPCALL_MAX_MMIO_ENTRIES	41
struct upcall_mmio_list {
	struct upcall_list_head head;
	struct upcall_mmio entries[UPCALL_MAX_MMIO_ENTRIES];	/* pad zero */
};

/* upcall_pci_entry.flags */
#define UPCALL_PCI_ADDED	0x01	/* appeared in an ADD_PCI rescan of this guest module */

/* One PCI function on the guest's buses. */
struct upcall_pci_entry {
	__u32 segment;		/* PCI domain */
	__u8 bus;
	__u8 devfn;
	__u16 vendor;
	__u16 device;
	__u8 flags;		/* UPCALL_PCI_* */
	__u8 pad;		/* zero */
	__u32 class_code;	/* base class << 16 | subclass << 8 | prog-if */
};

/* QUERY_PCI reply: every PCI function, by segment, bus, devfn. */
#define UPCALL_MAX_PCI_ENTRIES	61
struct upcall_pci_list {
	struct upcall_list_head head;
	struct upcall_pci_entry entries[UPCALL_MAX_PCI_ENTRIES];
};

/*
 * The list tag: FNV-1a over the entries' bytes, in list order, starting
 * from UPCALL_LIST_TAG_INIT.
 */
#define UPCALL_LIST_TAG_INIT	2166136261U

static inline __u32 upcall_list_tag(__u32 tag, const void *entry, __u32 len)
{
	const __u8 *p = (const __u8 *)entry;
	__u32 i;

	for (i = 0; i < len; i++)
		tag = (tag ^ p[i]) * 16777619U;
	return tag;
}

/* Layout checks: these are the wire, not an implementation detail. */
#ifdef __cplusplus
#define UPCALL_STATIC_ASSERT static_assert
#else
#define UPCALL_STATIC_ASSERT _Static_assert
#endif
UPCALL_STATIC_ASSERT(sizeof(struct upcall_msg_header) == 16, "header is 16 bytes");
UPCALL_STATIC_ASSERT(sizeof(struct upcall_cpu_x86) == 258, "x86 cpu payload is 258 bytes");
UPCALL_STATIC_ASSERT(sizeof(struct upcall_cpu_arm64) == 1, "arm64 cpu payload is 1 byte");
UPCALL_STATIC_ASSERT(sizeof(struct upcall_mem) == 16, "mem payload is 16 bytes");
UPCALL_STATIC_ASSERT(sizeof(struct upcall_mmio) == 24, "mmio payload is 24 bytes");
UPCALL_STATIC_ASSERT(sizeof(struct upcall_pci) == 2, "pci payload is 2 bytes");
UPCALL_STATIC_ASSERT(sizeof(struct upcall_reply_head) == 20, "reply payload starts at 20");
UPCALL_STATIC_ASSERT(sizeof(struct upcall_cpu_reply) == 4, "cpu reply payload is 4 bytes");
UPCALL_STATIC_ASSERT(sizeof(struct upcall_cpu_list) == 260, "cpu list is 260 bytes");
UPCALL_STATIC_ASSERT(sizeof(struct upcall_mem_list) <= UPCALL_REPLY_PAYLOAD_MAX, "mem list fits a frame");
UPCALL_STATIC_ASSERT(sizeof(struct upcall_list_req) == 8, "list request is 8 bytes");
UPCALL_STATIC_ASSERT(sizeof(struct upcall_list_head) == 16, "list head is 16 bytes");
UPCALL_STATIC_ASSERT(sizeof(struct upcall_pci_entry) == 16, "pci entry is 16 bytes");
UPCALL_STATIC_ASSERT(sizeof(struct upcall_mmio_list) == 1000, "mmio list fits a frame");
UPCALL_STATIC_ASSERT(sizeof(struct upcall_pci_list) == 992, "pci list fits a frame");
UPCALL_STATIC_ASSERT(sizeof(struct upcall_mmio_list) + sizeof(struct upcall_mmio) >
		     UPCALL_REPLY_PAYLOAD_MAX, "as many mmio entries as fit");
UPCALL_STATIC_ASSERT(sizeof(struct upcall_pci_list) + sizeof(struct upcall_pci_entry) >
		     UPCALL_REPLY_PAYLOAD_MAX, "as many pci entries as fit");

/* The protocol's name of @type ("ADD_CPU"), or NULL for an unknown type. */
static inline const char *upcall_msg_name(__u32 type)
{
	switch (type) {
	case UPCALL_MSG_CONNECT:	return "CONNECT";
	case UPCALL_MSG_ADD_CPU:	return "ADD_CPU";
	case UPCALL_MSG_DEL_CPU:	return "DEL_CPU";
	case UPCALL_MSG_ADD_MEM:	return "ADD_MEM";
	case UPCALL_MSG_DEL_MEM:	return "DEL_MEM";
	case UPCALL_MSG_ADD_MMIO:	return "ADD_MMIO";
	case UPCALL_MSG_DEL_MMIO:	return "DEL_MMIO";
	case UPCALL_MSG_ADD_PCI:	return "ADD_PCI";
	case UPCALL_MSG_DEL_PCI:	return "DEL_PCI";
	case UPCALL_MSG_QUERY_CPUS:	return "QUERY_CPUS";
	case UPCALL_MSG_QUERY_MEM:	return "QUERY_MEM";
	case UPCALL_MSG_QUERY_MMIO:	return "QUERY_MMIO";
	case UPCALL_MSG_QUERY_PCI:	return "QUERY_PCI";
	default:			return (const char *)0;
	}
}

/* Request payload size a guest must accept for @type; -1 if unknown. */
static inline int upcall_req_payload_size(__u32 type, int arm64)
{
	switch (type) {
	case UPCALL_MSG_ADD_CPU:
	case UPCALL_MSG_DEL_CPU:
		return arm64 ? (int)sizeof(struct upcall_cpu_arm64) :
			       (int)sizeof(struct upcall_cpu_x86);
	case UPCALL_MSG_ADD_MEM:
	case UPCALL_MSG_DEL_MEM:
		return sizeof(struct upcall_mem);
	case UPCALL_MSG_ADD_MMIO:
	case UPCALL_MSG_DEL_MMIO:
		return sizeof(struct upcall_mmio);
	case UPCALL_MSG_ADD_PCI:
	case UPCALL_MSG_DEL_PCI:
		return sizeof(struct upcall_pci);
	case UPCALL_MSG_QUERY_CPUS:
	case UPCALL_MSG_QUERY_MEM:
		return 0;
	case UPCALL_MSG_QUERY_MMIO:
	case UPCALL_MSG_QUERY_PCI:
		return sizeof(struct upcall_list_req);
	default:
		return -1;
	}
}

/*
 * Guest-side checks that need no knowledge of the guest: magic, flags,
 * exact payload size, counts, duplicates, zero sizes, overflow, IRQ range.
 * @payload points at the UPCALL_REQ_PAYLOAD_MAX bytes after the header.
 * Returns 0 or the negative errno to put in the reply.
 */
static inline int upcall_check_request(const struct upcall_msg_header *hdr,
				       const void *payload, int arm64)
{
	const struct upcall_cpu_x86 *cpu = (const struct upcall_cpu_x86 *)payload;
	const struct upcall_mem *mem = (const struct upcall_mem *)payload;
	const struct upcall_mmio *mmio = (const struct upcall_mmio *)payload;
	const struct upcall_list_req *list = (const struct upcall_list_req *)payload;
	__u8 seen[UPCALL_MAX_APIC_IDS / 8] = { 0 };
	int want, i;

	if (hdr->magic_version != UPCALL_MAGIC_VERSION)
		return -EPROTO;
	want = upcall_req_payload_size(hdr->msg_type, arm64);
	if (want < 0 || hdr->msg_type == UPCALL_MSG_CONNECT)
		return -EOPNOTSUPP;
	if (hdr->msg_flags != 0 || hdr->msg_size != (__u32)want)
		return -EINVAL;

	switch (hdr->msg_type) {
	case UPCALL_MSG_ADD_CPU:
	case UPCALL_MSG_DEL_CPU:
		if (cpu->count == 0)
			return -EINVAL;
		if (arm64)
			return 0;
		for (i = 0; i < cpu->count; i++) {
			__u8 id = cpu->apic_ids[i];

			if (seen[id / 8] & (1U << (id % 8)))
				return -EINVAL;
			seen[id / 8] |= 1U << (id % 8);
		}
		return 0;
	case UPCALL_MSG_ADD_MEM:
	case UPCALL_MSG_DEL_MEM:
		if (mem->size == 0 || mem->base + mem->size < mem->base)
			return -EINVAL;
		return 0;
	case UPCALL_MSG_ADD_MMIO:
	case UPCALL_MSG_DEL_MMIO:
		if (mmio->size == 0 || mmio->base + mmio->size < mmio->base)
			return -EINVAL;
		if (mmio->irq == 0 || mmio->irq > UPCALL_MAX_IRQ)
			return -EINVAL;
		return 0;
	case UPCALL_MSG_QUERY_MMIO:
	case UPCALL_MSG_QUERY_PCI:
		if (list->pad != 0)
			return -EINVAL;
		return 0;
	default:
		return 0;
	}
}

#endif /* UPCALL_WIRE_H */
