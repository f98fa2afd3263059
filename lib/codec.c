// SPDX-License-Identifier: LGPL-2.1-or-later
/* Frame encoding and reply decoding: no I/O, no session state. */
#include <endian.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static void put_le32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

#define HDR_OFF(field) offsetof(struct upcall_msg_header, field)
#define PAYLOAD(frame) ((frame) + UPCALL_HDR_SIZE)

void upcall_frame_init(uint8_t *frame, uint32_t type, uint32_t size)
{
	memset(frame, 0, UPCALL_FRAME_SIZE);
	put_le32(frame + HDR_OFF(magic_version), UPCALL_MAGIC_VERSION);
	put_le32(frame + HDR_OFF(msg_size), size);
	put_le32(frame + HDR_OFF(msg_type), type);
}

static enum upcall_status invalid(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return UPCALL_ERR_INVALID;
}

enum upcall_status upcall_encode_cpu(uint8_t *frame, uint32_t type,
				     enum upcall_arch arch,
				     const struct upcall_cpu_request *req,
				     char *err, size_t errlen)
{
	uint8_t seen[UPCALL_MAX_APIC_IDS] = { 0 };
	uint8_t *p = PAYLOAD(frame);

	if (req->count < 1 || req->count > UPCALL_MAX_CPU_COUNT)
		return invalid(err, errlen, "CPU count must be 1..255");

	if (arch == UPCALL_ARCH_AARCH64) {
		upcall_frame_init(frame, type, sizeof(struct upcall_cpu_arm64));
		p[offsetof(struct upcall_cpu_arm64, count)] = (uint8_t)req->count;
		return UPCALL_OK;
	}

	for (unsigned int i = 0; i < req->count; i++) {
		uint8_t id = req->apic_ids[i];

		if (seen[id]) {
			snprintf(err, errlen, "APIC ID %u given twice", id);
			return UPCALL_ERR_INVALID;
		}
		seen[id] = 1;
	}
	upcall_frame_init(frame, type, sizeof(struct upcall_cpu_x86));
	p[offsetof(struct upcall_cpu_x86, count)] = (uint8_t)req->count;
	p[offsetof(struct upcall_cpu_x86, apic_ver)] = req->apic_ver;
	memcpy(p + offsetof(struct upcall_cpu_x86, apic_ids), req->apic_ids,
	       req->count);
	return UPCALL_OK;
}

static enum upcall_status check_range(uint64_t base, uint64_t size,
				      const char *what, char *err,
				      size_t errlen)
{
	if (size == 0) {
		snprintf(err, errlen, "%s size must not be zero", what);
		return UPCALL_ERR_INVALID;
	}
	if (base + size < base) {
		snprintf(err, errlen,
			 "%s range 0x%" PRIx64 "+0x%" PRIx64 " overflows 64 bits",
			 what, base, size);
		return UPCALL_ERR_INVALID;
	}
	return UPCALL_OK;
}

enum upcall_status upcall_encode_mem(uint8_t *frame, uint32_t type,
				     uint64_t base, uint64_t size,
				     char *err, size_t errlen)
{
	uint8_t *p = PAYLOAD(frame);

	if (base == 0)
		return invalid(err, errlen, "memory base must not be zero");
	if (check_range(base, size, "memory", err, errlen))
		return UPCALL_ERR_INVALID;

	upcall_frame_init(frame, type, sizeof(struct upcall_mem));
	put_le64(p + offsetof(struct upcall_mem, base), base);
	put_le64(p + offsetof(struct upcall_mem, size), size);
	return UPCALL_OK;
}

enum upcall_status upcall_encode_mmio(uint8_t *frame, uint32_t type,
				      uint64_t base, uint64_t size, uint32_t irq,
				      char *err, size_t errlen)
{
	uint8_t *p = PAYLOAD(frame);

	if (base == 0)
		return invalid(err, errlen, "MMIO base must not be zero");
	if (check_range(base, size, "MMIO", err, errlen))
		return UPCALL_ERR_INVALID;
	if (irq < 1 || irq > UPCALL_MAX_IRQ) {
		snprintf(err, errlen, "IRQ %" PRIu32 " out of range 1..%d", irq,
			 UPCALL_MAX_IRQ);
		return UPCALL_ERR_INVALID;
	}

	upcall_frame_init(frame, type, sizeof(struct upcall_mmio));
	put_le64(p + offsetof(struct upcall_mmio, base), base);
	put_le64(p + offsetof(struct upcall_mmio, size), size);
	put_le32(p + offsetof(struct upcall_mmio, irq), irq);
	return UPCALL_OK;
}

void upcall_encode_pci(uint8_t *frame, uint32_t type, uint8_t busno,
		       uint8_t devfn)
{
	uint8_t *p = PAYLOAD(frame);

	upcall_frame_init(frame, type, sizeof(struct upcall_pci));
	p[offsetof(struct upcall_pci, busno)] = busno;
	p[offsetof(struct upcall_pci, devfn)] = devfn;
}

enum upcall_status upcall_check_connect_frame(const uint8_t *frame, char *err,
					      size_t errlen)
{
	uint32_t magic = upcall_get_le32(frame + HDR_OFF(magic_version));
	uint32_t type = upcall_get_le32(frame + HDR_OFF(msg_type));

	if (magic != UPCALL_MAGIC_VERSION) {
		snprintf(err, errlen,
			 "bad magic 0x%08" PRIx32 " in the guest's CONNECT frame (expected 0x%08x)",
			 magic, UPCALL_MAGIC_VERSION);
		return UPCALL_ERR_PROTOCOL;
	}
	if (type != UPCALL_MSG_CONNECT) {
		snprintf(err, errlen,
			 "guest's first frame has type %" PRIu32 ", expected CONNECT (0)",
			 type);
		return UPCALL_ERR_PROTOCOL;
	}
	return UPCALL_OK;
}

static bool is_cpu_type(uint32_t type)
{
	return type == UPCALL_MSG_ADD_CPU || type == UPCALL_MSG_DEL_CPU;
}

static enum upcall_status decode_cpu_index(struct upcall_reply *r,
					   unsigned int count, const char *name,
					   char *err, size_t errlen)
{
	if (r->msg_size < sizeof(struct upcall_cpu_reply)) {
		if (r->ret < 0)
			return UPCALL_OK;	/* refused before any CPU */
		snprintf(err, errlen,
			 "reply to %s has msg_size %" PRIu32 ", expected %zu",
			 name, r->msg_size, sizeof(struct upcall_cpu_reply));
		return UPCALL_ERR_PROTOCOL;
	}
	r->cpu_index = upcall_get_le32(r->payload +
				offsetof(struct upcall_cpu_reply, apic_index));
	/* count 0: an aarch64 reply carries a CPU id, which has no bound here. */
	if (count && r->cpu_index > count) {
		snprintf(err, errlen,
			 "guest claims %" PRIu32 " of %u CPUs handled in its reply to %s",
			 r->cpu_index, count, name);
		return UPCALL_ERR_PROTOCOL;
	}
	return UPCALL_OK;
}

enum upcall_status upcall_decode_reply(const uint8_t *frame, uint32_t type,
				       unsigned int cpu_count,
				       struct upcall_reply *r,
				       char *err, size_t errlen)
{
	uint32_t magic = upcall_get_le32(frame + HDR_OFF(magic_version));
	char name[32], got[32];

	upcall_msg_type_name(type, name, sizeof(name));
	memset(r, 0, offsetof(struct upcall_reply, payload));
	r->msg_type = upcall_get_le32(frame + HDR_OFF(msg_type));
	r->msg_size = upcall_get_le32(frame + HDR_OFF(msg_size));
	r->ret = (int32_t)upcall_get_le32(frame + offsetof(struct upcall_reply_head, ret));

	if (magic != UPCALL_MAGIC_VERSION) {
		snprintf(err, errlen,
			 "bad magic 0x%08" PRIx32 " in the reply to %s (expected 0x%08x)",
			 magic, name, UPCALL_MAGIC_VERSION);
		return UPCALL_ERR_PROTOCOL;
	}
	if (r->msg_type != type) {
		snprintf(err, errlen, "reply to %s echoes type %s", name,
			 upcall_msg_type_name(r->msg_type, got, sizeof(got)));
		return UPCALL_ERR_PROTOCOL;
	}
	if (r->msg_size > UPCALL_REPLY_PAYLOAD_MAX) {
		snprintf(err, errlen,
			 "reply to %s claims %" PRIu32 " payload bytes (at most %u fit a frame)",
			 name, r->msg_size, UPCALL_REPLY_PAYLOAD_MAX);
		return UPCALL_ERR_PROTOCOL;
	}
	/* Upstream reuses its reply buffer: only msg_size bytes are meaningful. */
	memcpy(r->payload, frame + sizeof(struct upcall_reply_head), r->msg_size);

	if (is_cpu_type(type))
		return decode_cpu_index(r, cpu_count, name, err, errlen);
	return UPCALL_OK;
}

enum upcall_status upcall_decode_cpu_list(const struct upcall_reply *r,
					  struct upcall_id_list *cpus,
					  char *err, size_t errlen)
{
	uint32_t n;

	if (r->msg_size < sizeof(struct upcall_cpu_list)) {
		snprintf(err, errlen,
			 "reply to QUERY_CPUS has %" PRIu32 " payload bytes, expected %zu",
			 r->msg_size, sizeof(struct upcall_cpu_list));
		return UPCALL_ERR_PROTOCOL;
	}
	n = upcall_get_le32(r->payload + offsetof(struct upcall_cpu_list, count));
	if (n > UPCALL_MAX_APIC_IDS) {
		snprintf(err, errlen, "guest lists %" PRIu32 " online CPUs (at most %d fit)",
			 n, UPCALL_MAX_APIC_IDS);
		return UPCALL_ERR_PROTOCOL;
	}
	cpus->count = n;
	memcpy(cpus->ids, r->payload + offsetof(struct upcall_cpu_list, ids), n);
	return UPCALL_OK;
}

enum upcall_status upcall_decode_mem_list(const struct upcall_reply *r,
					  struct upcall_range_list *mem,
					  char *err, size_t errlen)
{
	const size_t hdr = offsetof(struct upcall_mem_list, ranges);
	uint32_t n = 0;

	if (r->msg_size >= hdr)
		n = upcall_get_le32(r->payload + offsetof(struct upcall_mem_list, count));
	if (r->msg_size < hdr || n > UPCALL_MAX_MEM_RANGES ||
	    r->msg_size < hdr + n * sizeof(struct upcall_mem)) {
		snprintf(err, errlen,
			 "reply to QUERY_MEM lists %" PRIu32 " ranges in %" PRIu32 " payload bytes",
			 n, r->msg_size);
		return UPCALL_ERR_PROTOCOL;
	}
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *p = r->payload + hdr + i * sizeof(struct upcall_mem);
		uint64_t base = upcall_get_le64(p + offsetof(struct upcall_mem, base));
		uint64_t size = upcall_get_le64(p + offsetof(struct upcall_mem, size));

		/* Such a range would defeat every overlap check made with it. */
		if (size == 0 || base + size < base) {
			snprintf(err, errlen,
				 "reply to QUERY_MEM lists range 0x%" PRIx64 "+0x%" PRIx64
				 ", which is empty or overflows 64 bits", base, size);
			return UPCALL_ERR_PROTOCOL;
		}
		mem->ranges[i] = (struct upcall_range){ base, size };
	}
	mem->count = n;
	return UPCALL_OK;
}

void upcall_encode_list(uint8_t *frame, uint32_t type, uint32_t start)
{
	upcall_frame_init(frame, type, sizeof(struct upcall_list_req));
	put_le32(PAYLOAD(frame) + offsetof(struct upcall_list_req, start), start);
}

#define LIST_OFF(field) offsetof(struct upcall_list_head, field)

/*
 * The head of a page asked from @start, holding at most @max entries of
 * @esize bytes: it must echo @start, fit msg_size, stay within total and
 * make progress while entries are left.
 */
static enum upcall_status decode_list_head(const struct upcall_reply *r, uint32_t start,
					   size_t esize, uint32_t max,
					   struct upcall_list_head *h, const char *name,
					   char *err, size_t errlen)
{
	const size_t hsize = sizeof(struct upcall_list_head);

	if (r->msg_size < hsize) {
		snprintf(err, errlen, "reply to %s has %" PRIu32 " payload bytes, expected at least %zu",
			 name, r->msg_size, hsize);
		return UPCALL_ERR_PROTOCOL;
	}
	h->total = upcall_get_le32(r->payload + LIST_OFF(total));
	h->start = upcall_get_le32(r->payload + LIST_OFF(start));
	h->count = upcall_get_le32(r->payload + LIST_OFF(count));
	h->tag = upcall_get_le32(r->payload + LIST_OFF(tag));
	if (h->start != start) {
		snprintf(err, errlen, "reply to %s starts at entry %" PRIu32 ", asked from %" PRIu32,
			 name, h->start, start);
		return UPCALL_ERR_PROTOCOL;
	}
	if (h->count > max || r->msg_size < hsize + h->count * esize) {
		snprintf(err, errlen, "reply to %s lists %" PRIu32 " entries in %" PRIu32 " payload bytes",
			 name, h->count, r->msg_size);
		return UPCALL_ERR_PROTOCOL;
	}
	if (start > h->total || h->count > h->total - start ||
	    (h->count == 0 && start < h->total)) {
		snprintf(err, errlen,
			 "reply to %s has %" PRIu32 " entries from %" PRIu32 " of a list of %" PRIu32,
			 name, h->count, start, h->total);
		return UPCALL_ERR_PROTOCOL;
	}
	return UPCALL_OK;
}

static const uint8_t *list_entry(const struct upcall_reply *r, size_t esize, uint32_t i)
{
	return r->payload + sizeof(struct upcall_list_head) + i * esize;
}

#define MMIO_OFF(field) offsetof(struct upcall_mmio, field)

enum upcall_status upcall_decode_mmio_page(const struct upcall_reply *r, uint32_t start,
					   struct upcall_list_head *h,
					   struct upcall_mmio_dev *devs, uint32_t *tag,
					   char *err, size_t errlen)
{
	const size_t esize = sizeof(struct upcall_mmio);
	enum upcall_status st;

	st = decode_list_head(r, start, esize, UPCALL_MAX_MMIO_ENTRIES, h, "QUERY_MMIO",
			      err, errlen);
	if (st)
		return st;
	for (uint32_t i = 0; i < h->count; i++) {
		const uint8_t *p = list_entry(r, esize, i);
		struct upcall_mmio_dev *d = &devs[i];

		d->base = upcall_get_le64(p + MMIO_OFF(base));
		d->size = upcall_get_le64(p + MMIO_OFF(size));
		d->irq = upcall_get_le32(p + MMIO_OFF(irq));
		if (d->size == 0 || d->base + d->size < d->base || d->irq == 0 ||
		    d->irq > UPCALL_MAX_IRQ || (i && d->base <= devs[i - 1].base)) {
			snprintf(err, errlen,
				 "reply to QUERY_MMIO lists window 0x%" PRIx64 "+0x%" PRIx64
				 " IRQ %" PRIu32 ", which is empty, overflows, has no valid IRQ or is out of order",
				 d->base, d->size, d->irq);
			return UPCALL_ERR_PROTOCOL;
		}
		*tag = upcall_list_tag(*tag, p, (uint32_t)esize);
	}
	return UPCALL_OK;
}

#define PCI_OFF(field) offsetof(struct upcall_pci_entry, field)

static uint64_t pci_key(const struct upcall_pci_dev *d)
{
	return (uint64_t)d->segment << 16 | (uint32_t)d->bus << 8 | d->devfn;
}

enum upcall_status upcall_decode_pci_page(const struct upcall_reply *r, uint32_t start,
					  struct upcall_list_head *h,
					  struct upcall_pci_dev *devs, uint32_t *tag,
					  char *err, size_t errlen)
{
	const size_t esize = sizeof(struct upcall_pci_entry);
	enum upcall_status st;

	st = decode_list_head(r, start, esize, UPCALL_MAX_PCI_ENTRIES, h, "QUERY_PCI",
			      err, errlen);
	if (st)
		return st;
	for (uint32_t i = 0; i < h->count; i++) {
		const uint8_t *p = list_entry(r, esize, i);
		struct upcall_pci_dev *d = &devs[i];

		d->segment = upcall_get_le32(p + PCI_OFF(segment));
		d->bus = p[PCI_OFF(bus)];
		d->devfn = p[PCI_OFF(devfn)];
		d->vendor = (uint16_t)(p[PCI_OFF(vendor)] | p[PCI_OFF(vendor) + 1] << 8);
		d->device = (uint16_t)(p[PCI_OFF(device)] | p[PCI_OFF(device) + 1] << 8);
		d->flags = p[PCI_OFF(flags)];
		d->class_code = upcall_get_le32(p + PCI_OFF(class_code));
		if (d->class_code > 0xffffff || (i && pci_key(d) <= pci_key(&devs[i - 1]))) {
			snprintf(err, errlen,
				 "reply to QUERY_PCI lists %04" PRIx32 ":%02x:%02x.%u class 0x%" PRIx32
				 ", which is out of order or has no valid class",
				 d->segment, d->bus, d->devfn >> 3, d->devfn & 7u, d->class_code);
			return UPCALL_ERR_PROTOCOL;
		}
		*tag = upcall_list_tag(*tag, p, (uint32_t)esize);
	}
	return UPCALL_OK;
}

int upcall_parse_ok_line(const char *line, size_t len, uint32_t *host_port)
{
	uint64_t v = 0;
	size_t i = 3;

	if (len < 5 || memcmp(line, "OK ", 3) != 0 || line[len - 1] != '\n')
		return -1;
	for (; i < len - 1; i++) {
		if (line[i] < '0' || line[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(line[i] - '0');
		if (v > UINT32_MAX)
			return -1;
	}
	*host_port = (uint32_t)v;
	return 0;
}
