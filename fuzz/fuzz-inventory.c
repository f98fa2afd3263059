// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The VM inventory loader over any file contents.  The input is written
 * to a private file (mode 0600) and looked up by name and by target, as
 * the tools do.  Properties: the loader answers found, not found, or a
 * diagnosis "FILE:LINE:COLUMN: why" (which may quote a multi-line value); a found entry is within the limits the
 * tools rely on, and its vCPUs have distinct 8-bit APIC IDs.
 */
#include <fcntl.h>
#include <unistd.h>

#include "fuzz.h"
#include "../cmd/common/cli.h"
#include "../cmd/common/inventory.h"

static char file[64];
static int fd = -1;

static void cleanup(void)
{
	if (fd >= 0)
		unlink(file);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	if (!tmp || !*tmp)	/* tmpfs when there is one: rewritten per input */
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(file, sizeof(file), "%s/fuzz-inventory.XXXXXX", tmp);
	fd = mkstemp(file);
	if (fd < 0) {
		perror(file);
		exit(1);
	}
	atexit(cleanup);
	return 0;
}

static void check_entry(const struct vm_entry *e)
{
	uint8_t ids[UPCALL_MAX_APIC_IDS];
	unsigned int n;

	FUZZ_CHECK(e->max_vcpus >= 1 && e->max_vcpus <= UPCALL_MAX_CPU_COUNT, "max %u", e->max_vcpus);
	FUZZ_CHECK(e->boot_vcpus >= 1 && e->boot_vcpus <= e->max_vcpus, "boot %u", e->boot_vcpus);
	FUZZ_CHECK(e->nregions <= INVENTORY_MAX_REGIONS, "%u regions", e->nregions);
	FUZZ_CHECK(e->block_size >= 4096 && !(e->block_size & (e->block_size - 1)),
		   "block size %llu", (unsigned long long)e->block_size);
	for (unsigned int i = 0; i < e->nregions; i++) {
		const struct upcall_range *r = &e->regions[i];

		FUZZ_CHECK(r->size && r->base + r->size > r->base && !(r->base % e->block_size) &&
			   !(r->size % e->block_size), "region %u", i);
		for (unsigned int j = 0; j < i; j++)
			FUZZ_CHECK(r->base >= e->regions[j].base + e->regions[j].size ||
				   e->regions[j].base >= r->base + r->size, "regions %u, %u overlap", j, i);
	}
	FUZZ_CHECK(e->vmm == VMM_NONE || (e->vmm_path[0] == '/' &&
		   memchr(e->vmm_path, 0, sizeof(e->vmm_path))), "VMM socket \"%.20s\"", e->vmm_path);
	n = vm_valid_ids(e, ids);
	FUZZ_CHECK(n == e->max_vcpus, "%u IDs for %u vCPUs", n, e->max_vcpus);
	for (unsigned int i = 1; i < n; i++)
		FUZZ_CHECK(ids[i - 1] < ids[i], "APIC IDs not ascending/distinct at %u", i);
}

static void lookup(const char *name, const struct upcall_target *by_target)
{
	struct vm_entry e;
	char err[PATH_MAX + 600] = "";
	int rc = inventory_find(file, name, by_target, &e, err, sizeof(err));

	FUZZ_CHECK(rc >= -1 && rc <= 1, "rc %d", rc);
	if (rc < 0) {
		FUZZ_CHECK(err[0], "empty diagnosis");
		FUZZ_CHECK(!strncmp(err, file, strlen(file)), "\"%s\" names no file", err);
	}
	if (rc == 1) {
		FUZZ_CHECK(e.in_inventory && (by_target || !strcmp(e.name, name)), "wrong entry %s", e.name);
		check_entry(&e);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct upcall_target t = { .transport = UPCALL_TRANSPORT_UNIX, .path = "/run/vm.sock",
				   .port = UPCALL_DEFAULT_PORT };
	struct upcall_target v = { .transport = UPCALL_TRANSPORT_VSOCK, .cid = 3,
				   .port = UPCALL_DEFAULT_PORT };

	if (size > 64 * 1024 || ftruncate(fd, 0) < 0 ||
	    pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	lookup("web1", NULL);
	lookup("", &t);
	lookup("", &v);
	return 0;
}
