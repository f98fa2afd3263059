// SPDX-License-Identifier: GPL-2.0-or-later
/* upcallctl cpu list | mem list | mmio list | pci list: what the guest has. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "upcallctl.h"

/* Room for the lists of most guests, read once. */
#define LIST_ROOM 256

/*
 * A refusal of a query: the guest does not know it (an upstream guest, or
 * a module from before it), or another refusal as libupcall says it.
 */
static int query_failed(struct cli *cli, struct upcall_session *s, enum upcall_status st,
			const char *what, uint32_t type)
{
	char name[32];

	if (st != UPCALL_ERR_GUEST || !upcall_unsupported(s))
		return cli_finish(cli, st);
	cli_set(cli, "status", json_text("unsupported"));
	return cli_fail(cli, EXIT_REFUSED,
			"the guest does not support listing %s: it refused %s as a request it does not serve (an upstream guest, or an older guest module)",
			what, upcall_msg_type_name(type, name, sizeof(name)));
}

static int run_cpu_list(struct cli *cli, void *args)
{
	bool x86 = cli->arch == UPCALL_ARCH_X86_64;
	struct upcall_id_list on;
	struct upcall_session *s;
	enum upcall_status st;
	char list[ID_LIST_MAX];
	int rc = cli_session(cli, &s);

	(void)args;
	if (rc)
		return rc;
	st = upcall_query_cpus(s, &on);
	if (st)
		return query_failed(cli, s, st, "vCPUs", UPCALL_MSG_QUERY_CPUS);
	format_id_list(on.ids, on.count, list, sizeof(list));
	cli_set(cli, "count", json_integer(on.count));
	cli_set(cli, x86 ? "apic_ids" : "cpu_ids", json_id_array(on.ids, on.count));
	cli_say(cli, "%u vCPU%s online: %s%s %s", on.count, on.count == 1 ? "" : "s",
		x86 ? "APIC ID" : "CPU id", on.count == 1 ? "" : "s", list);
	return cli_finish(cli, UPCALL_OK);
}

/* "0x100000000-0x107ffffff (128M)" */
static void format_window(uint64_t base, uint64_t size, char *buf, size_t len)
{
	char sz[32];

	format_size(size, sz, sizeof(sz));
	snprintf(buf, len, "0x%" PRIx64 "-0x%" PRIx64 " (%s)", base, base + size - 1, sz);
}

static int run_mem_list(struct cli *cli, void *args)
{
	struct upcall_range_list mem;
	struct upcall_session *s;
	enum upcall_status st;
	json_t *ranges = json_array();
	uint64_t total = 0;
	char win[96], sz[32];
	int rc = cli_session(cli, &s);

	(void)args;
	if (rc) {
		json_decref(ranges);
		return rc;
	}
	st = upcall_query_mem(s, &mem);
	if (st) {
		json_decref(ranges);
		return query_failed(cli, s, st, "hot-added memory", UPCALL_MSG_QUERY_MEM);
	}
	for (unsigned int i = 0; i < mem.count; i++) {
		const struct upcall_range *g = &mem.ranges[i];

		json_t *o = json_object();

		json_set_addr(o, "base", g->base);
		json_set_addr(o, "size", g->size);
		json_array_append_new(ranges, o);
		total += g->size;
	}
	format_size(total, sz, sizeof(sz));
	cli_set(cli, "count", json_integer(mem.count));
	cli_set(cli, "ranges", ranges);
	cli_set_addr(cli, "total", total);
	cli_say(cli, "%u range%s hot-added through upcall, %s in all", mem.count,
		mem.count == 1 ? "" : "s", sz);
	for (unsigned int i = 0; i < mem.count; i++) {
		format_window(mem.ranges[i].base, mem.ranges[i].size, win, sizeof(win));
		cli_say(cli, "  %s", win);
	}
	return cli_finish(cli, UPCALL_OK);
}

/* The MMIO or PCI list, whatever its length: libupcall says how many there are. */
typedef enum upcall_status (*query_fn)(struct upcall_session *s, void *devs,
				       size_t max, size_t *count);

static enum upcall_status query_mmio(struct upcall_session *s, void *devs,
				     size_t max, size_t *count)
{
	return upcall_query_mmio(s, devs, max, count);
}

static enum upcall_status query_pci(struct upcall_session *s, void *devs,
				    size_t max, size_t *count)
{
	return upcall_query_pci(s, devs, max, count);
}

/*
 * Read the whole list into *@devs (malloc'd, entries of @size bytes): a
 * longer list than there was room for is read again with room for it.
 * -ENOMEM, or the query's status.
 */
static int read_list(struct upcall_session *s, query_fn query, size_t size,
		     void **devs, size_t *n, enum upcall_status *st)
{
	size_t room;

	*devs = NULL;
	*n = LIST_ROOM;
	do {
		room = *n;
		free(*devs);
		*devs = room ? calloc(room, size) : NULL;
		if (room && !*devs)
			return -ENOMEM;
		*st = query(s, *devs, room, n);
	} while (*st == UPCALL_OK && *n > room);
	return 0;
}

static int run_mmio_list(struct cli *cli, void *args)
{
	struct upcall_mmio_dev *devs;
	void *buf;
	struct upcall_session *s;
	enum upcall_status st;
	json_t *list;
	char win[96];
	size_t n;
	int rc = cli_session(cli, &s);

	(void)args;
	if (rc)
		return rc;
	if (read_list(s, query_mmio, sizeof(*devs), &buf, &n, &st))
		return cli_fail(cli, EXIT_OSERR, "out of memory");
	devs = buf;
	if (st) {
		free(devs);
		return query_failed(cli, s, st, "virtio-mmio devices", UPCALL_MSG_QUERY_MMIO);
	}
	list = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();

		json_set_addr(o, "base", devs[i].base);
		json_set_addr(o, "size", devs[i].size);
		json_object_set_new(o, "irq", json_integer((json_int_t)devs[i].irq));
		json_array_append_new(list, o);
	}
	cli_set(cli, "count", json_integer((json_int_t)n));
	cli_set(cli, "devices", list);
	cli_say(cli, "%zu virtio-mmio device%s added through upcall", n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		format_window(devs[i].base, devs[i].size, win, sizeof(win));
		cli_say(cli, "  %s IRQ %" PRIu32, win, devs[i].irq);
	}
	free(devs);
	return cli_finish(cli, UPCALL_OK);
}

static json_t *pci_json(const struct upcall_pci_dev *d, const char *addr)
{
	char vendor[8], device[8], class_code[12];

	snprintf(vendor, sizeof(vendor), "%04x", d->vendor);
	snprintf(device, sizeof(device), "%04x", d->device);
	snprintf(class_code, sizeof(class_code), "%06" PRIx32, d->class_code);
	return json_pack("{sssIsIsIsssssssb}", "address", addr,
			 "segment", (json_int_t)d->segment, "bus", (json_int_t)d->bus,
			 "devfn", (json_int_t)d->devfn, "vendor", vendor, "device", device,
			 "class", class_code, "added", (d->flags & UPCALL_PCI_ADDED) != 0);
}

static int run_pci_list(struct cli *cli, void *args)
{
	struct upcall_pci_dev *devs;
	void *buf;
	struct upcall_session *s;
	enum upcall_status st;
	size_t n, added = 0;
	json_t *list;
	char addr[32];
	int rc = cli_session(cli, &s);

	(void)args;
	if (rc)
		return rc;
	if (read_list(s, query_pci, sizeof(*devs), &buf, &n, &st))
		return cli_fail(cli, EXIT_OSERR, "out of memory");
	devs = buf;
	if (st) {
		free(devs);
		return query_failed(cli, s, st, "PCI devices", UPCALL_MSG_QUERY_PCI);
	}
	list = json_array();
	for (size_t i = 0; i < n; i++) {
		snprintf(addr, sizeof(addr), "%04" PRIx32 ":%02x:%02x.%u", devs[i].segment,
			 devs[i].bus, devs[i].devfn >> 3, devs[i].devfn & 7u);
		json_array_append_new(list, pci_json(&devs[i], addr));
		added += (devs[i].flags & UPCALL_PCI_ADDED) != 0;
	}
	cli_set(cli, "count", json_integer((json_int_t)n));
	cli_set(cli, "devices", list);
	cli_say(cli, "%zu PCI function%s, %zu added through upcall", n, n == 1 ? "" : "s", added);
	for (size_t i = 0; i < n; i++) {
		snprintf(addr, sizeof(addr), "%04" PRIx32 ":%02x:%02x.%u", devs[i].segment,
			 devs[i].bus, devs[i].devfn >> 3, devs[i].devfn & 7u);
		cli_say(cli, "  %s %04x:%04x class %06" PRIx32 "%s", addr, devs[i].vendor,
			devs[i].device, devs[i].class_code,
			devs[i].flags & UPCALL_PCI_ADDED ? " (added through upcall)" : "");
	}
	free(devs);
	return cli_finish(cli, UPCALL_OK);
}

/* One table per object, so that help lists each next to its object's others. */
const struct cli_cmd upcallctl_cpu_list_cmds[] = {
	{ "cpu", "list", NULL, "Show the online vCPUs, as the guest reports them",
	  NULL, NULL, 0, run_cpu_list, NULL },
	{ 0 }
};

const struct cli_cmd upcallctl_mem_list_cmds[] = {
	{ "mem", "list", NULL, "Show the memory ranges hot-added through upcall, as the guest reports them",
	  NULL, NULL, 0, run_mem_list, NULL },
	{ 0 }
};

const struct cli_cmd upcallctl_dev_list_cmds[] = {
	{ "mmio", "list", NULL, "Show the virtio-mmio devices added through upcall (window, IRQ)",
	  NULL, NULL, 0, run_mmio_list, NULL },
	{ "pci", "list", NULL, "Show the PCI functions on the guest's buses",
	  NULL, NULL, 0, run_pci_list, NULL },
	{ 0 }
};
