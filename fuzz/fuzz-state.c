// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The per-VM state record loader over any file contents, and its round
 * trip through the writer.  The loader is static in state.c, so this
 * harness compiles state.c in.  Properties: a record is either refused
 * with a diagnosis "FILE:LINE:COLUMN: why" or loaded into a state the tools
 * rely on (IDs ascending and distinct, ranges sorted, non-empty, not
 * overlapping, not wrapping); a loaded state written back reads back the
 * same.
 */
#include "fuzz.h"
#include "../cmd/common/state.c"

static char dir[64];
static struct vm_entry entry = { .name = "vm" };

static void cleanup(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/vm.yaml", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/vm.yaml.tmp", dir);
	unlink(path);
	rmdir(dir);
}

/* tmpfs when there is one: the writer fsyncs. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	if (!tmp || !*tmp)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof(dir), "%s/fuzz-state.XXXXXX", tmp);
	if (!mkdtemp(dir)) {
		perror(dir);
		exit(1);
	}
	atexit(cleanup);
	return 0;
}

static void open_record(struct vm_record *r)
{
	memset(r, 0, sizeof(*r));
	r->opts = (struct record_opts){ .prog = "fuzz-state", .notices = stderr };
	r->e = &entry;
	r->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r->lockfd = -1;
	snprintf(r->path, sizeof(r->path), "%s/vm.yaml", dir);
	FUZZ_CHECK(r->dirfd >= 0, "%s", dir);
}

static void check_state(const struct vm_state *st)
{
	FUZZ_CHECK(st->ncpus <= UPCALL_MAX_APIC_IDS, "%u cpus", st->ncpus);
	for (unsigned int i = 1; i < st->ncpus; i++)
		FUZZ_CHECK(st->cpus[i - 1] < st->cpus[i], "cpus not ascending at %u", i);
	FUZZ_CHECK(st->nmem <= UPCALL_MAX_MEM_RANGES, "%u ranges", st->nmem);
	for (unsigned int i = 0; i < st->nmem; i++) {
		const struct upcall_range *m = &st->mem[i];

		FUZZ_CHECK(m->size && m->base + m->size > m->base,
			   "range %u: 0x%llx+0x%llx is empty or wraps", i,
			   (unsigned long long)m->base, (unsigned long long)m->size);
		if (i)
			FUZZ_CHECK(st->mem[i - 1].base + st->mem[i - 1].size <= m->base,
				   "ranges %u and %u unsorted or overlapping", i - 1, i);
	}
	FUZZ_CHECK(memchr(st->identity, 0, sizeof(st->identity)) &&
		   memchr(st->pending, 0, sizeof(st->pending)), "unterminated string");
	for (unsigned int i = 1; i < st->nvmm_cpus; i++)
		FUZZ_CHECK(st->vmm_cpus[i - 1] < st->vmm_cpus[i], "VMM vCPUs not ascending at %u", i);
	FUZZ_CHECK(st->nvmm_dimms <= VMM_MAX_DIMMS, "%u DIMMs", st->nvmm_dimms);
	for (unsigned int i = 0; i < st->nvmm_dimms; i++) {
		const struct vmm_dimm *d = &st->vmm_dimms[i];

		FUZZ_CHECK(d->size && d->base + d->size > d->base && memchr(d->id, 0, sizeof(d->id)),
			   "DIMM %u is empty, wraps or has an unterminated id", i);
		if (i)
			FUZZ_CHECK(st->vmm_dimms[i - 1].base + st->vmm_dimms[i - 1].size <= d->base,
				   "DIMMs %u and %u unsorted or overlapping", i - 1, i);
	}
}

static void round_trip(struct vm_record *r)
{
	struct vm_state again;
	char err[PATH_MAX + 200] = "";

	if (write_record(r) < 0)
		return;		/* refused to write: the old record stands */
	FUZZ_CHECK(read_record(r, &again, err, sizeof(err)) == 1,
		   "written record does not read back: %s", err);
	FUZZ_CHECK(state_same(&r->st, &again), "written record reads back different");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm_record r;
	char err[PATH_MAX + 200] = "";
	int fd, rc;

	if (size > 64 * 1024)
		return 0;
	open_record(&r);
	fd = openat(r.dirfd, "vm.yaml", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FUZZ_CHECK(fd >= 0 && write(fd, data, size) == (ssize_t)size, "writing the input");
	close(fd);

	rc = read_record(&r, &r.st, err, sizeof(err));
	FUZZ_CHECK(rc == 1 || rc == -1, "rc %d for an existing file", rc);
	if (rc < 0) {
		FUZZ_CHECK(err[0], "empty diagnosis");
		FUZZ_CHECK(!strncmp(err, r.path, strlen(r.path)), "\"%s\" names no file", err);
	} else {
		check_state(&r.st);
		round_trip(&r);
	}
	close(r.dirfd);
	return 0;
}
