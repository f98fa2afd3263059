// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The reply decoder: any 1024 bytes a guest sends back, for any request
 * type.  Input: type selector, CPU count, then the frame (zero-padded).
 * Properties: a reply is accepted only if it echoes the request's type
 * and fits a frame; only msg_size payload bytes are copied; a CPU reply
 * never claims more CPUs than were asked for; lists fit their arrays;
 * every refusal is a one-line diagnosis.
 */
#include "fuzz.h"
#include "internal.h"

static const uint32_t types[] = {
	UPCALL_MSG_CONNECT, UPCALL_MSG_ADD_CPU, UPCALL_MSG_DEL_CPU,
	UPCALL_MSG_ADD_MEM, UPCALL_MSG_DEL_MEM, UPCALL_MSG_ADD_MMIO,
	UPCALL_MSG_DEL_MMIO, UPCALL_MSG_ADD_PCI, UPCALL_MSG_DEL_PCI,
	UPCALL_MSG_QUERY_CPUS, UPCALL_MSG_QUERY_MEM, 0x1234,
	UPCALL_MSG_QUERY_MMIO, UPCALL_MSG_QUERY_PCI,
};
#define NTYPES (sizeof(types) / sizeof(types[0]))
#define POISON 0xa5

/* A page is accepted only within its own total and msg_size. */
static void check_pages(const struct upcall_reply *r, uint32_t type, uint32_t start)
{
	struct upcall_mmio_dev mmio[UPCALL_MAX_MMIO_ENTRIES];
	struct upcall_pci_dev pci[UPCALL_MAX_PCI_ENTRIES];
	char err[UPCALL_ERRMSG_MAX] = "";
	struct upcall_list_head h;
	uint32_t tag = UPCALL_LIST_TAG_INIT;
	enum upcall_status st;
	size_t esize;

	if (type == UPCALL_MSG_QUERY_MMIO) {
		st = upcall_decode_mmio_page(r, start, &h, mmio, &tag, err, sizeof(err));
		esize = sizeof(struct upcall_mmio);
	} else if (type == UPCALL_MSG_QUERY_PCI) {
		st = upcall_decode_pci_page(r, start, &h, pci, &tag, err, sizeof(err));
		esize = sizeof(struct upcall_pci_entry);
	} else {
		return;
	}
	if (st != UPCALL_OK) {
		FUZZ_CHECK(st == UPCALL_ERR_PROTOCOL, "status %d", st);
		FUZZ_CHECK_MSG(err);
		return;
	}
	FUZZ_CHECK(h.start == start && h.count <= h.total - start &&
		   (h.count > 0 || start == h.total) &&
		   sizeof(struct upcall_list_head) + h.count * esize <= r->msg_size,
		   "page of %u from %u of %u in %u bytes", h.count, start, h.total, r->msg_size);
	for (uint32_t i = 0; type == UPCALL_MSG_QUERY_MMIO && i < h.count; i++)
		FUZZ_CHECK(mmio[i].size && mmio[i].base + mmio[i].size > mmio[i].base &&
			   mmio[i].irq >= 1 && mmio[i].irq <= UPCALL_MAX_IRQ &&
			   (!i || mmio[i].base > mmio[i - 1].base), "MMIO entry %u", i);
}

static void check_lists(const struct upcall_reply *r, uint32_t type)
{
	struct upcall_id_list cpus;
	struct upcall_range_list mem;
	char err[UPCALL_ERRMSG_MAX] = "";

	if (type == UPCALL_MSG_QUERY_CPUS) {
		if (upcall_decode_cpu_list(r, &cpus, err, sizeof(err)) == UPCALL_OK)
			FUZZ_CHECK(cpus.count <= UPCALL_MAX_APIC_IDS, "%u CPUs", cpus.count);
		else
			FUZZ_CHECK_MSG(err);
	}
	if (type == UPCALL_MSG_QUERY_MEM) {
		if (upcall_decode_mem_list(r, &mem, err, sizeof(err)) == UPCALL_OK)
			FUZZ_CHECK(mem.count <= UPCALL_MAX_MEM_RANGES &&
				   8 + mem.count * 16 <= r->msg_size,
				   "%u ranges in %u bytes", mem.count, r->msg_size);
		else
			FUZZ_CHECK_MSG(err);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t frame[UPCALL_FRAME_SIZE] = { 0 };
	static struct upcall_reply r;
	char err[UPCALL_ERRMSG_MAX] = "";
	enum upcall_status st;
	uint32_t type;
	unsigned int count;

	if (size < 2)
		return 0;
	type = types[data[0] % NTYPES];
	count = data[1];
	memcpy(frame, data + 2, size - 2 < sizeof(frame) ? size - 2 : sizeof(frame));
	memset(&r, POISON, sizeof(r));

	st = upcall_decode_reply(frame, type, count, &r, err, sizeof(err));
	if (st != UPCALL_OK) {
		FUZZ_CHECK(st == UPCALL_ERR_PROTOCOL, "status %d", st);
		FUZZ_CHECK_MSG(err);
	} else {
		FUZZ_CHECK(r.msg_type == type, "echoed %u for %u", r.msg_type, type);
		FUZZ_CHECK(r.msg_size <= UPCALL_REPLY_PAYLOAD_MAX, "msg_size %u", r.msg_size);
		for (size_t i = r.msg_size; i < sizeof(r.payload); i++)
			FUZZ_CHECK(r.payload[i] == POISON, "payload byte %zu written", i);
		if ((type == UPCALL_MSG_ADD_CPU || type == UPCALL_MSG_DEL_CPU) && count &&
		    r.msg_size >= 4)
			FUZZ_CHECK(r.cpu_index <= count, "index %u of %u", r.cpu_index, count);
		check_lists(&r, type);
		check_pages(&r, type, count);
	}

	err[0] = '\0';
	if (upcall_check_connect_frame(frame, err, sizeof(err)) != UPCALL_OK)
		FUZZ_CHECK_MSG(err);
	return 0;
}
