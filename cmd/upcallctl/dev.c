// SPDX-License-Identifier: GPL-2.0-or-later
/* upcallctl mmio add|del, pci add|del */
#include <inttypes.h>
#include <stdio.h>

#include "upcallctl.h"

struct mmio_args {
	uint64_t base;
	uint64_t size;
	unsigned long irq;
	unsigned int seen;
};

enum { OPT_BASE = 0x400, OPT_SIZE, OPT_IRQ };

static const struct argp_option mmio_options[] = {
	{ "base", OPT_BASE, "ADDR", 0, "Start of the device's MMIO window", 0 },
	{ "size", OPT_SIZE, "SIZE", 0, "Size of the window (e.g. 0x1000, 4K)", 0 },
	{ "irq", OPT_IRQ, "N", 0, "Interrupt line of the device", 0 },
	{ 0 }
};

static error_t mmio_parse(int key, char *arg, struct argp_state *state)
{
	struct mmio_args *a = ((struct cli_parse *)state->input)->args;
	char err[160];

	switch (key) {
	case OPT_BASE:
		if (parse_u64(arg, &a->base, err, sizeof(err)))
			argp_error(state, "--base: %s", err);
		break;
	case OPT_SIZE:
		if (parse_size(arg, &a->size, err, sizeof(err)))
			argp_error(state, "--size: %s", err);
		break;
	case OPT_IRQ:
		if (parse_uint(arg, 1, UPCALL_MAX_IRQ, &a->irq, "IRQ", err, sizeof(err)))
			argp_error(state, "%s", err);
		break;
	case ARGP_KEY_END:
		if ((a->seen & 7) != 7)
			argp_error(state, "missing %s%s%s",
				   a->seen & 1 ? "" : "--base ",
				   a->seen & 2 ? "" : "--size ",
				   a->seen & 4 ? "" : "--irq");
		if (a->base == 0 || a->size == 0)
			argp_error(state, "--base and --size must not be zero");
		if (a->base + a->size < a->base)
			argp_error(state, "window 0x%" PRIx64 "+0x%" PRIx64 " overflows 64 bits",
				   a->base, a->size);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	a->seen |= 1u << (key - OPT_BASE);
	return 0;
}

static int run_mmio(struct cli *cli, struct mmio_args *a, bool add)
{
	struct upcall_session *s;
	enum upcall_status st;
	int rc = cli_session(cli, &s);

	if (rc)
		return rc;
	cli_set_addr(cli, "base", a->base);
	cli_set_addr(cli, "size", a->size);
	cli_set(cli, "irq", json_integer((json_int_t)a->irq));
	if (cli->dry_run) {
		cli_set(cli, "dry_run", json_true());
		cli_set(cli, "request", json_text(add ? "ADD_MMIO" : "DEL_MMIO"));
		cli_say(cli, "would %s virtio-mmio device at 0x%" PRIx64 "-0x%" PRIx64 ", IRQ %lu with %s; nothing sent",
			add ? "add" : "remove", a->base, a->base + a->size - 1, a->irq,
			add ? "ADD_MMIO" : "DEL_MMIO");
		return cli_finish(cli, UPCALL_OK);
	}
	st = add ? upcall_add_mmio(s, a->base, a->size, (uint32_t)a->irq, NULL) :
		   upcall_del_mmio(s, a->base, a->size, (uint32_t)a->irq, NULL);
	if (st == UPCALL_OK)
		cli_say(cli, "%s virtio-mmio device at 0x%" PRIx64 "-0x%" PRIx64 ", IRQ %lu",
			add ? "added" : "removed", a->base, a->base + a->size - 1, a->irq);
	return cli_finish(cli, st);
}

static int run_mmio_add(struct cli *cli, void *args)
{
	return run_mmio(cli, args, true);
}

static int run_mmio_del(struct cli *cli, void *args)
{
	return run_mmio(cli, args, false);
}

struct pci_args {
	uint8_t bus;
	uint8_t devfn;
	bool have_addr;
};

static error_t pci_parse(int key, char *arg, struct argp_state *state)
{
	struct pci_args *a = ((struct cli_parse *)state->input)->args;
	char err[160];

	switch (key) {
	case ARGP_KEY_ARG:
		if (state->arg_num > 0)
			return ARGP_ERR_UNKNOWN;
		if (parse_pci_addr(arg, &a->bus, &a->devfn, err, sizeof(err)))
			argp_error(state, "%s", err);
		a->have_addr = true;
		return 0;
	case ARGP_KEY_END:
		if (!a->have_addr)
			argp_error(state, "missing PCI address BB:DD.F");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static int run_pci(struct cli *cli, struct pci_args *a, bool add)
{
	struct upcall_session *s;
	enum upcall_status st;
	char addr[16];
	int rc = cli_session(cli, &s);

	if (rc)
		return rc;
	snprintf(addr, sizeof(addr), "%02x:%02x.%u", a->bus, a->devfn >> 3, a->devfn & 7u);
	cli_set(cli, "address", json_text(addr));
	if (cli->dry_run) {
		cli_set(cli, "dry_run", json_true());
		cli_set(cli, "request", json_text(add ? "ADD_PCI" : "DEL_PCI"));
		if (add)
			cli_say(cli, "would rescan PCI bus %02x for %s with ADD_PCI; nothing sent",
				a->bus, addr);
		else
			cli_say(cli, "would remove PCI device %s with DEL_PCI; nothing sent", addr);
		return cli_finish(cli, UPCALL_OK);
	}
	st = add ? upcall_add_pci(s, a->bus, a->devfn, NULL) :
		   upcall_del_pci(s, a->bus, a->devfn, NULL);
	if (st == UPCALL_OK && add)
		cli_say(cli, "rescanned PCI bus %02x for %s", a->bus, addr);
	else if (st == UPCALL_OK)
		cli_say(cli, "removed PCI device %s", addr);
	return cli_finish(cli, st);
}

static int run_pci_add(struct cli *cli, void *args)
{
	return run_pci(cli, args, true);
}

static int run_pci_del(struct cli *cli, void *args)
{
	return run_pci(cli, args, false);
}

const struct cli_cmd upcallctl_dev_cmds[] = {
	{ "mmio", "add", NULL, "Attach a virtio-mmio device window",
	  mmio_options, mmio_parse, sizeof(struct mmio_args), run_mmio_add, NULL },
	{ "mmio", "del", NULL, "Detach the virtio-mmio device there",
	  mmio_options, mmio_parse, sizeof(struct mmio_args), run_mmio_del, NULL },
	{ "pci", "add", "BB:DD.F", "Rescan the device's bus in the guest",
	  NULL, pci_parse, sizeof(struct pci_args), run_pci_add, NULL },
	{ "pci", "del", "BB:DD.F", "Stop and remove the PCI device",
	  NULL, pci_parse, sizeof(struct pci_args), run_pci_del, NULL },
	{ 0 }
};
