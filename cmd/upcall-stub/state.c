/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * upcall-stub: the state file, a plain-text dump of the emulated guest
 * that tests read.  Rewritten atomically (temporary file in the same
 * directory, then rename) with stub.lock held.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* asprintf, accept4, pipe2 */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stub.h"

static void dump_cpus(FILE *f, const struct stub_state *s)
{
	const char *sep = " ";

	fputs("cpus:", f);
	for (unsigned int i = 0; i < STUB_MAX_CPUS; i++) {
		if (!s->cpu_online[i])
			continue;
		fprintf(f, "%s%u", sep, i);
		sep = ",";
	}
	fputc('\n', f);
}

/* The VMM's side: its vCPUs (APIC IDs) and DIMMs (id@base+size). */
static void dump_vmm(FILE *f, const struct stub_state *s)
{
	const char *sep = " ";

	fputs("vmm-cpus:", f);
	for (unsigned int i = 0; i < STUB_MAX_CPUS; i++) {
		if (!s->vcpu_made[i])
			continue;
		fprintf(f, "%s%u", sep, i);
		sep = ",";
	}
	fputs("\nvmm-dimms:", f);
	for (unsigned int i = 0; i < s->ndimms; i++)
		fprintf(f, " %s@0x%llx+0x%llx", s->dimms[i].id, (unsigned long long)s->dimms[i].base,
			(unsigned long long)s->dimms[i].size);
	fputc('\n', f);
}

static void dump_mem(FILE *f, const struct stub_state *s)
{
	fputs("mem:", f);
	for (unsigned int i = 0; i < s->nmem; i++)
		fprintf(f, " 0x%llx+0x%llx", (unsigned long long)s->mem[i].base,
			(unsigned long long)s->mem[i].size);
	fputc('\n', f);
}

static void dump_mmio(FILE *f, const struct stub_state *s)
{
	fputs("mmio:", f);
	for (unsigned int i = 0; i < s->nmmio; i++)
		fprintf(f, " 0x%llx+0x%llx@%u", (unsigned long long)s->mmio[i].base,
			(unsigned long long)s->mmio[i].size, s->mmio[i].irq);
	fputc('\n', f);
}

static void dump_pci(FILE *f, const struct stub_state *s)
{
	fputs("pci:", f);
	for (unsigned int slot = 0; slot < STUB_PCI_SLOTS; slot++) {
		unsigned int bus = slot >> 8, devfn = slot & 0xff;

		if (stub_pci_get(s, bus, devfn))
			fprintf(f, " %02x:%02x.%x", bus, devfn >> 3, devfn & 7);
	}
	fputc('\n', f);
}

static void dump(FILE *f, const struct stub *st)
{
	const struct stub_state *s = &st->state;

	fprintf(f, "arch: %s\n", st->cfg.arch == STUB_ARCH_AARCH64 ? "aarch64" : "x86_64");
	dump_cpus(f, s);
	dump_mem(f, s);
	dump_mmio(f, s);
	dump_pci(f, s);
	dump_vmm(f, s);
	fprintf(f, "requests: %lu\n", s->requests);
	fprintf(f, "last:%s%s\n", s->last[0] ? " " : "", s->last);
}

static int write_tmp(const struct stub *st, const char *tmp)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	FILE *f;

	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -1;
	}
	dump(f, st);
	if (ferror(f)) {
		fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

/* Rewrite the state file, if any.  Caller holds st->lock.  0 or -1. */
int stub_state_write(struct stub *st)
{
	const char *path = st->cfg.state_file;
	char *tmp;
	int ret = -1;

	if (!path)
		return 0;
	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return -1;
	if (write_tmp(st, tmp) == 0 && rename(tmp, path) == 0)
		ret = 0;
	if (ret < 0) {
		fprintf(stderr, "upcall-stub: cannot write state file %s: %s\n",
			path, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	return ret;
}
