// SPDX-License-Identifier: GPL-2.0-or-later
/* Golden-byte tests of the frame codec, the OK line and target parsing. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "tap.h"

static uint8_t frame[UPCALL_FRAME_SIZE];
static char err[256];

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void test_cpu_worked_example(void)
{
	/* The spec's worked example: add APIC IDs 2 and 3 to an x86_64 guest. */
	static const uint8_t want[] = {
		0x00, 0x01, 0x4D, 0x44, 0x02, 0x01, 0x00, 0x00,
		0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x02, 0x14, 0x02, 0x03,
	};
	struct upcall_cpu_request req = { .count = 2, .apic_ver = 0x14,
					  .apic_ids = { 2, 3 } };

	memset(frame, 0xee, sizeof(frame));
	is_int(upcall_encode_cpu(frame, UPCALL_MSG_ADD_CPU, UPCALL_ARCH_X86_64,
				 &req, err, sizeof(err)), UPCALL_OK, "encode ADD_CPU");
	is_bytes(frame, want, sizeof(want), "ADD_CPU frame matches the worked example");
	ok(all_zero(frame + sizeof(want), sizeof(frame) - sizeof(want)),
	   "the rest of the frame is zero");

	req.apic_ids[0] = 1;
	req.apic_ids[1] = 2;
	upcall_encode_cpu(frame, UPCALL_MSG_DEL_CPU, UPCALL_ARCH_X86_64, &req,
			  err, sizeof(err));
	is_int(frame[8], UPCALL_MSG_DEL_CPU, "DEL_CPU type byte");
	is_int(frame[18] << 8 | frame[19], 0x0102, "DEL_CPU carries IDs 1, 2");
}

static void test_cpu_invalid(void)
{
	struct upcall_cpu_request req = { .count = 0, .apic_ver = 0x14 };

	is_int(upcall_encode_cpu(frame, UPCALL_MSG_ADD_CPU, UPCALL_ARCH_X86_64,
				 &req, err, sizeof(err)), UPCALL_ERR_INVALID, "count 0 refused");
	req.count = 256;
	is_int(upcall_encode_cpu(frame, UPCALL_MSG_ADD_CPU, UPCALL_ARCH_X86_64,
				 &req, err, sizeof(err)), UPCALL_ERR_INVALID, "count 256 refused");
	req.count = 3;
	req.apic_ids[0] = 4;
	req.apic_ids[1] = 5;
	req.apic_ids[2] = 4;
	is_int(upcall_encode_cpu(frame, UPCALL_MSG_ADD_CPU, UPCALL_ARCH_X86_64,
				 &req, err, sizeof(err)), UPCALL_ERR_INVALID,
	       "duplicate APIC ID refused");
	ok(strstr(err, "APIC ID 4") != NULL, "message names the duplicate: %s", err);
}

static void test_cpu_arm64(void)
{
	static const uint8_t want[] = {
		0x00, 0x01, 0x4D, 0x44, 0x01, 0x00, 0x00, 0x00,
		0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
	};
	struct upcall_cpu_request req = { .count = 3, .apic_ids = { 9, 9, 9 } };

	is_int(upcall_encode_cpu(frame, UPCALL_MSG_ADD_CPU, UPCALL_ARCH_AARCH64,
				 &req, err, sizeof(err)), UPCALL_OK, "encode aarch64 ADD_CPU");
	is_bytes(frame, want, sizeof(want), "aarch64 frame: size 1, count 3");
	ok(all_zero(frame + sizeof(want), sizeof(frame) - sizeof(want)),
	   "aarch64 frame carries no APIC IDs");
}

static void test_mem_mmio_pci(void)
{
	static const uint8_t mem[] = {
		0x00, 0x01, 0x4D, 0x44, 0x10, 0x00, 0x00, 0x00,
		0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,	/* base 1<<32 */
		0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00,	/* size 128M */
	};
	static const uint8_t mmio[] = {
		0x00, 0x01, 0x4D, 0x44, 0x18, 0x00, 0x00, 0x00,
		0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0xd0, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	static const uint8_t pci[] = {
		0x00, 0x01, 0x4D, 0x44, 0x02, 0x00, 0x00, 0x00,
		0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x18,	/* bus 0, device 3 function 0 */
	};

	is_int(upcall_encode_mem(frame, UPCALL_MSG_ADD_MEM, 1ULL << 32, 128 << 20,
				 err, sizeof(err)), UPCALL_OK, "encode ADD_MEM");
	is_bytes(frame, mem, sizeof(mem), "ADD_MEM frame");
	ok(all_zero(frame + sizeof(mem), sizeof(frame) - sizeof(mem)), "ADD_MEM tail zero");
	is_int(upcall_encode_mem(frame, UPCALL_MSG_ADD_MEM, 1ULL << 32, 0, err,
				 sizeof(err)), UPCALL_ERR_INVALID, "zero memory size refused");
	is_int(upcall_encode_mem(frame, UPCALL_MSG_ADD_MEM, UINT64_MAX - 10, 4096,
				 err, sizeof(err)), UPCALL_ERR_INVALID,
	       "overflowing memory range refused");
	is_int(upcall_encode_mem(frame, UPCALL_MSG_ADD_MEM, 0, 128 << 20, err,
				 sizeof(err)), UPCALL_ERR_INVALID, "memory base 0 refused");

	is_int(upcall_encode_mmio(frame, UPCALL_MSG_DEL_MMIO, 0xd0000000, 0x1000, 5,
				  err, sizeof(err)), UPCALL_OK, "encode DEL_MMIO");
	is_bytes(frame, mmio, sizeof(mmio), "DEL_MMIO frame (24-byte payload)");
	is_int(upcall_encode_mmio(frame, UPCALL_MSG_ADD_MMIO, 0xd0000000, 0x1000, 0,
				  err, sizeof(err)), UPCALL_ERR_INVALID, "IRQ 0 refused");
	is_int(upcall_encode_mmio(frame, UPCALL_MSG_ADD_MMIO, 0xd0000000, 0x1000,
				  UPCALL_MAX_IRQ + 1, err, sizeof(err)),
	       UPCALL_ERR_INVALID, "IRQ above the range refused");
	is_int(upcall_encode_mmio(frame, UPCALL_MSG_ADD_MMIO, 0, 0x1000, 5, err,
				  sizeof(err)), UPCALL_ERR_INVALID, "MMIO base 0 refused");

	upcall_encode_pci(frame, UPCALL_MSG_DEL_PCI, 0, 3 << 3);
	is_bytes(frame, pci, sizeof(pci), "DEL_PCI frame");
}

static void make_reply(uint32_t magic, uint32_t size, uint32_t type,
		       int32_t ret, uint32_t index)
{
	uint32_t w[6] = { htole32(magic), htole32(size), htole32(type), 0,
			  htole32((uint32_t)ret), htole32(index) };

	memset(frame, 0, sizeof(frame));
	memcpy(frame, w, sizeof(w));
}

static void test_decode(void)
{
	struct upcall_reply r;

	make_reply(UPCALL_MAGIC_VERSION, 4, UPCALL_MSG_ADD_CPU, 0, 2);
	is_int(upcall_decode_reply(frame, UPCALL_MSG_ADD_CPU, 2, &r, err, sizeof(err)),
	       UPCALL_OK, "worked-example reply decodes");
	is_int(r.ret, 0, "ret 0");
	is_int(r.cpu_index, 2, "apic_index 2 = all handled");

	/* aarch64: the reply carries the next CPU id, not an index. */
	make_reply(UPCALL_MAGIC_VERSION, 4, UPCALL_MSG_ADD_CPU, 0, 5);
	is_int(upcall_decode_reply(frame, UPCALL_MSG_ADD_CPU, 0, &r, err, sizeof(err)),
	       UPCALL_OK, "aarch64 CPU reply with CPU id 5 decodes");
	is_int(r.cpu_index, 5, "CPU id 5");

	make_reply(0x444D0200, 4, UPCALL_MSG_ADD_CPU, 0, 2);
	is_int(upcall_decode_reply(frame, UPCALL_MSG_ADD_CPU, 2, &r, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "bad magic is a protocol error");
	ok(strstr(err, "bad magic 0x444d0200") != NULL, "message: %s", err);

	make_reply(UPCALL_MAGIC_VERSION, 4, UPCALL_MSG_DEL_CPU, 0, 2);
	is_int(upcall_decode_reply(frame, UPCALL_MSG_ADD_CPU, 2, &r, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "wrong echoed type is a protocol error");
	ok(strstr(err, "echoes type DEL_CPU") != NULL, "message: %s", err);

	make_reply(UPCALL_MAGIC_VERSION, 4, UPCALL_MSG_ADD_CPU, 0, 3);
	is_int(upcall_decode_reply(frame, UPCALL_MSG_ADD_CPU, 2, &r, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "index beyond count is a protocol error");

	make_reply(UPCALL_MAGIC_VERSION, 2000, UPCALL_MSG_ADD_MEM, 0, 0);
	is_int(upcall_decode_reply(frame, UPCALL_MSG_ADD_MEM, 0, &r, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "msg_size beyond the frame is a protocol error");

	make_reply(UPCALL_MAGIC_VERSION, 0, UPCALL_MSG_ADD_CPU, -EINVAL, 0);
	is_int(upcall_decode_reply(frame, UPCALL_MSG_ADD_CPU, 2, &r, err, sizeof(err)),
	       UPCALL_OK, "error reply without payload decodes");
	is_int(r.ret, -EINVAL, "ret -22");

	/* Upstream leaves stale bytes after msg_size: they must not be read. */
	make_reply(UPCALL_MAGIC_VERSION, 0, UPCALL_MSG_ADD_PCI, 0, 0x77777777);
	memset(r.payload, 0xaa, sizeof(r.payload));
	is_int(upcall_decode_reply(frame, UPCALL_MSG_ADD_PCI, 0, &r, err, sizeof(err)),
	       UPCALL_OK, "PCI reply decodes");
	is_int(r.payload[0], 0xaa, "bytes past msg_size are not copied");
}

static void test_connect_frame(void)
{
	upcall_frame_init(frame, UPCALL_MSG_CONNECT, 0);
	is_int(upcall_check_connect_frame(frame, err, sizeof(err)), UPCALL_OK,
	       "CONNECT frame accepted");
	frame[0] = 0xff;
	is_int(upcall_check_connect_frame(frame, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "CONNECT frame with bad magic refused");
	upcall_frame_init(frame, UPCALL_MSG_ADD_CPU, 0);
	is_int(upcall_check_connect_frame(frame, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "first frame of another type refused");
}

static void test_ok_line(void)
{
	uint32_t port = 0;

	is_int(upcall_parse_ok_line("OK 1073741824\n", 14, &port), 0, "OK line parses");
	is_int(port, 1073741824, "host port read");
	is_int(upcall_parse_ok_line("OK \n", 4, &port), -1, "OK without number refused");
	is_int(upcall_parse_ok_line("OK 12a\n", 7, &port), -1, "OK with junk refused");
	is_int(upcall_parse_ok_line("OK 99999999999\n", 15, &port), -1,
	       "OK with a number beyond 32 bits refused");
	is_int(upcall_parse_ok_line("HELLO\n", 6, &port), -1, "garbage refused");
	is_int(upcall_parse_ok_line("OK 5", 4, &port), -1, "line without LF refused");
}

static void test_lists(void)
{
	struct upcall_reply r = { .msg_type = UPCALL_MSG_QUERY_CPUS };
	struct upcall_range_list mem;
	struct upcall_id_list cpus;
	uint32_t n = htole32(3);
	uint64_t v[2] = { htole64(0x100000000ULL), htole64(0x8000000) };

	r.msg_size = sizeof(struct upcall_cpu_list);
	memcpy(r.payload, &n, 4);
	r.payload[4] = 0;
	r.payload[5] = 1;
	r.payload[6] = 7;
	is_int(upcall_decode_cpu_list(&r, &cpus, err, sizeof(err)), UPCALL_OK,
	       "CPU list decodes");
	ok(cpus.count == 3 && cpus.ids[2] == 7, "CPU list holds 0, 1, 7");
	n = htole32(257);
	memcpy(r.payload, &n, 4);
	is_int(upcall_decode_cpu_list(&r, &cpus, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "CPU list of 257 refused");
	r.msg_size = 3;
	is_int(upcall_decode_cpu_list(&r, &cpus, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "short CPU list refused");

	n = htole32(1);
	memset(r.payload, 0, sizeof(r.payload));
	memcpy(r.payload, &n, 4);
	memcpy(r.payload + 8, v, sizeof(v));
	r.msg_size = 8 + 16;
	is_int(upcall_decode_mem_list(&r, &mem, err, sizeof(err)), UPCALL_OK,
	       "memory list decodes");
	ok(mem.count == 1 && mem.ranges[0].base == 0x100000000ULL &&
	   mem.ranges[0].size == 0x8000000, "memory list holds 0x100000000+128M");
	n = htole32(2);
	memcpy(r.payload, &n, 4);
	is_int(upcall_decode_mem_list(&r, &mem, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "memory list longer than msg_size refused");

	n = htole32(1);
	memcpy(r.payload, &n, 4);
	v[0] = htole64(0xfffffffff8000000ULL);
	v[1] = htole64(0x10000000);
	memcpy(r.payload + 8, v, sizeof(v));
	is_int(upcall_decode_mem_list(&r, &mem, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "memory range past 2^64 refused");
	v[0] = htole64(0x100000000ULL);
	v[1] = 0;
	memcpy(r.payload + 8, v, sizeof(v));
	is_int(upcall_decode_mem_list(&r, &mem, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "empty memory range refused");
}

/* A list page from @start: head, then @n raw entries of @esize bytes. */
static void page(struct upcall_reply *r, uint32_t total, uint32_t start, uint32_t n,
		 uint32_t tag, const void *entries, size_t esize)
{
	uint32_t head[4] = { htole32(total), htole32(start), htole32(n), htole32(tag) };

	memset(r->payload, 0, sizeof(r->payload));
	memcpy(r->payload, head, sizeof(head));
	memcpy(r->payload + sizeof(head), entries, n * esize);
	r->msg_size = (uint32_t)(sizeof(head) + n * esize);
}

static void test_list_request(void)
{
	static const uint8_t want[] = {
		0x00, 0x01, 0x4D, 0x44, 0x08, 0x00, 0x00, 0x00,	/* msg_size 8 */
		0x03, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,	/* QUERY_PCI */
		0x3d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,	/* start 61, pad */
	};

	upcall_encode_list(frame, UPCALL_MSG_QUERY_PCI, 61);
	ok(!memcmp(frame, want, sizeof(want)) && all_zero(frame + sizeof(want),
							  UPCALL_FRAME_SIZE - sizeof(want)),
	   "QUERY_PCI request from entry 61 is golden");
}

static void test_mmio_page(void)
{
	/* base 0xd0000000 size 0x1000 irq 5; base 0xd0001000 size 0x200 irq 6 */
	static const uint8_t two[48] = {
		0x00, 0x00, 0x00, 0xd0, 0, 0, 0, 0, 0x00, 0x10, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0,
		0x00, 0x10, 0x00, 0xd0, 0, 0, 0, 0, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0,
	};
	struct upcall_reply r = { .msg_type = UPCALL_MSG_QUERY_MMIO };
	struct upcall_mmio_dev d[UPCALL_MAX_MMIO_ENTRIES];
	struct upcall_list_head h;
	uint32_t want = upcall_list_tag(UPCALL_LIST_TAG_INIT, two, 48), tag = UPCALL_LIST_TAG_INIT;
	uint8_t bad[48];

	page(&r, 2, 0, 2, want, two, 24);
	is_int(upcall_decode_mmio_page(&r, 0, &h, d, &tag, err, sizeof(err)), UPCALL_OK,
	       "MMIO page decodes");
	ok(h.total == 2 && h.count == 2 && d[0].base == 0xd0000000 && d[0].size == 0x1000 &&
	   d[0].irq == 5 && d[1].base == 0xd0001000 && d[1].size == 0x200 && d[1].irq == 6,
	   "MMIO page holds both windows and IRQs");
	is_int(tag, want, "MMIO page's entries give its tag");
	tag = UPCALL_LIST_TAG_INIT;
	is_int(upcall_decode_mmio_page(&r, 1, &h, d, &tag, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "MMIO page that does not echo start refused");
	r.msg_size -= 1;
	is_int(upcall_decode_mmio_page(&r, 0, &h, d, &tag, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "MMIO page shorter than its count refused");
	page(&r, 1, 0, 2, want, two, 24);
	is_int(upcall_decode_mmio_page(&r, 0, &h, d, &tag, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "MMIO page with more entries than its total refused");
	page(&r, 3, 0, 0, want, two, 24);
	is_int(upcall_decode_mmio_page(&r, 0, &h, d, &tag, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "empty MMIO page before the end refused (no progress)");
	page(&r, 100, 0, 42, want, two, 0);
	r.msg_size = UPCALL_REPLY_PAYLOAD_MAX;
	is_int(upcall_decode_mmio_page(&r, 0, &h, d, &tag, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "MMIO page of 42 entries (41 fit) refused");
	memcpy(bad, two, 48);
	bad[24 + 3] = 0xc0;	/* second below the first */
	page(&r, 2, 0, 2, want, bad, 24);
	is_int(upcall_decode_mmio_page(&r, 0, &h, d, &tag, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "MMIO page out of order refused");
	memcpy(bad, two, 48);
	bad[16] = 0;		/* IRQ 0 */
	page(&r, 2, 0, 2, want, bad, 24);
	is_int(upcall_decode_mmio_page(&r, 0, &h, d, &tag, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "MMIO entry with IRQ 0 refused");
	memcpy(bad, two, 48);
	memset(bad + 8, 0, 8);	/* size 0 */
	page(&r, 2, 0, 2, want, bad, 24);
	is_int(upcall_decode_mmio_page(&r, 0, &h, d, &tag, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "empty MMIO window refused");
	page(&r, 0, 0, 0, UPCALL_LIST_TAG_INIT, two, 24);
	is_int(upcall_decode_mmio_page(&r, 0, &h, d, &tag, err, sizeof(err)), UPCALL_OK,
	       "empty MMIO list decodes");
}

static void test_pci_page(void)
{
	/* 0000:00:03.0 1af4:1000 class 020000 added; 0001:02:1f.7 8086:29c0 class 060000 */
	static const uint8_t two[32] = {
		0, 0, 0, 0, 0x00, 0x18, 0xf4, 0x1a, 0x00, 0x10, 0x01, 0, 0x00, 0x00, 0x02, 0,
		1, 0, 0, 0, 0x02, 0xff, 0x86, 0x80, 0xc0, 0x29, 0x00, 0, 0x00, 0x00, 0x06, 0,
	};
	struct upcall_reply r = { .msg_type = UPCALL_MSG_QUERY_PCI };
	struct upcall_pci_dev d[UPCALL_MAX_PCI_ENTRIES];
	struct upcall_list_head h;
	uint32_t tag = UPCALL_LIST_TAG_INIT;
	uint8_t bad[32];

	page(&r, 5, 3, 2, 0x1234, two, 16);
	is_int(upcall_decode_pci_page(&r, 3, &h, d, &tag, err, sizeof(err)), UPCALL_OK,
	       "PCI page from entry 3 decodes");
	ok(d[0].segment == 0 && d[0].bus == 0 && d[0].devfn == 0x18 && d[0].vendor == 0x1af4 &&
	   d[0].device == 0x1000 && d[0].class_code == 0x020000 && d[0].flags == UPCALL_PCI_ADDED,
	   "PCI entry 0000:00:03.0 1af4:1000, class 020000, added");
	ok(d[1].segment == 1 && d[1].bus == 2 && d[1].devfn == 0xff && d[1].vendor == 0x8086 &&
	   d[1].device == 0x29c0 && d[1].class_code == 0x060000 && d[1].flags == 0,
	   "PCI entry 0001:02:1f.7 8086:29c0, class 060000");
	is_int(tag, upcall_list_tag(UPCALL_LIST_TAG_INIT, two, 32), "PCI page's entries go into the tag");
	page(&r, 4, 3, 2, 0x1234, two, 16);
	is_int(upcall_decode_pci_page(&r, 3, &h, d, &tag, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "PCI page past its total refused");
	page(&r, 2, 3, 0, 0x1234, two, 16);
	is_int(upcall_decode_pci_page(&r, 3, &h, d, &tag, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "PCI page from past the end of the list refused");
	memcpy(bad, two, 32);
	bad[16] = 0;		/* second 0000:00:02.0: before the first */
	bad[20] = 0;
	bad[21] = 0x10;
	page(&r, 2, 0, 2, 0, bad, 16);
	is_int(upcall_decode_pci_page(&r, 0, &h, d, &tag, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "PCI page out of order refused");
	memcpy(bad, two, 32);
	memcpy(bad + 16, two, 16);	/* the same function twice */
	page(&r, 2, 0, 2, 0, bad, 16);
	is_int(upcall_decode_pci_page(&r, 0, &h, d, &tag, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "PCI function listed twice refused");
	memcpy(bad, two, 32);
	bad[15] = 1;		/* class above 24 bits */
	page(&r, 2, 0, 2, 0, bad, 16);
	is_int(upcall_decode_pci_page(&r, 0, &h, d, &tag, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "PCI class above 24 bits refused");
	r.msg_size = 15;
	is_int(upcall_decode_pci_page(&r, 0, &h, d, &tag, err, sizeof(err)),
	       UPCALL_ERR_PROTOCOL, "PCI reply shorter than the list head refused");
}

static void test_targets(void)
{
	struct upcall_target t;

	is_int(upcall_target_parse("/run/vm.sock", 0, &t, err, sizeof(err)), 0, "path");
	ok(t.transport == UPCALL_TRANSPORT_UNIX && !strcmp(t.path, "/run/vm.sock") &&
	   t.port == 219, "path is hybrid vsock to port 219");
	is_int(upcall_target_parse("unix:rel.sock", 1000, &t, err, sizeof(err)), 0, "unix:");
	ok(!strcmp(t.path, "rel.sock") && t.port == 1000, "unix: with --port 1000");
	is_int(upcall_target_parse("vsock:3", 0, &t, err, sizeof(err)), 0, "vsock:3");
	ok(t.transport == UPCALL_TRANSPORT_VSOCK && t.cid == 3 && t.port == 219,
	   "vsock CID 3 port 219");
	is_int(upcall_target_parse("vsock:42:1024", 0, &t, err, sizeof(err)), 0,
	       "vsock:42:1024");
	ok(t.cid == 42 && t.port == 1024, "port from the spec");
	is_int(upcall_target_parse("vsock:2", 0, &t, err, sizeof(err)), -1,
	       "host CID refused");
	is_int(upcall_target_parse("vsock:0", 0, &t, err, sizeof(err)), -1,
	       "hypervisor CID refused");
	is_int(upcall_target_parse("vsock:1", 0, &t, err, sizeof(err)), 0,
	       "local loopback CID accepted");
	is_int(upcall_target_parse("vsock:3:0", 0, &t, err, sizeof(err)), -1, "port 0 refused");
	is_int(upcall_target_parse("vsock:3:1025", 0, &t, err, sizeof(err)), -1,
	       "port 1025 refused");
	is_int(upcall_target_parse("vsock:x", 0, &t, err, sizeof(err)), -1, "CID x refused");
	is_int(upcall_target_parse("", 0, &t, err, sizeof(err)), -1, "empty refused");
	is_int(upcall_target_parse("unix:", 0, &t, err, sizeof(err)), -1, "unix: alone refused");
	{
		char longp[200];

		memset(longp, 'a', sizeof(longp) - 1);
		longp[sizeof(longp) - 1] = '\0';
		is_int(upcall_target_parse(longp, 0, &t, err, sizeof(err)), -1,
		       "path longer than sun_path refused");
	}
}

int main(void)
{
	tap_plan(98);
	test_cpu_worked_example();
	test_cpu_invalid();
	test_cpu_arm64();
	test_mem_mmio_pci();
	test_decode();
	test_connect_frame();
	test_ok_line();
	test_lists();
	test_list_request();
	test_mmio_page();
	test_pci_page();
	test_targets();
	return tap_done();
}
