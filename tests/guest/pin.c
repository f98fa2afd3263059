// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * upcall-pin: hold a page of a physical range so that it cannot be
 * migrated, as any unprivileged process can: vmsplice() it into a pipe
 * that is never read.  Offlining memory that holds the page then cannot
 * finish.
 *
 *   upcall-pin [--user UID] BASE SIZE
 *   upcall-pin --hog MIB
 *
 * Touches anonymous memory until one of its pages lies in
 * [BASE, BASE + SIZE) (/proc/self/pagemap gives the frame; reading it
 * needs CAP_SYS_ADMIN), frees the rest, drops to UID if given, pins that
 * page, prints "pinned pfn 0x..." and sleeps until killed.  User pages
 * come from ZONE_MOVABLE first, which is where hot-added memory goes.
 * Exit status 1 if no page landed in the range.
 *
 * --hog keeps MIB MiB of anonymous memory in use and churns it, a
 * mebibyte at a time (freed, mapped again, written), until killed: the
 * memory pressure under which offlining has to migrate pages.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define CHUNK		(4UL << 20)
#define MAX_CHUNKS	64		/* give up after 256 MiB */
#define PM_PRESENT	(1ULL << 63)
#define PM_PFN_MASK	((1ULL << 55) - 1)

static long page_size;

static uint64_t pfn_of(int pagemap, const void *addr)
{
	uint64_t ent;
	off_t off = (off_t)((uintptr_t)addr / (uintptr_t)page_size) * 8;

	if (pread(pagemap, &ent, sizeof(ent), off) != sizeof(ent))
		return 0;
	return (ent & PM_PRESENT) ? (ent & PM_PFN_MASK) : 0;
}

/* A page of @chunk whose frame is in [lo, hi), or NULL. */
static char *find_in_chunk(int pagemap, char *chunk, uint64_t lo, uint64_t hi)
{
	unsigned long off;

	for (off = 0; off < CHUNK; off += (unsigned long)page_size) {
		uint64_t pfn = pfn_of(pagemap, chunk + off);

		if (pfn >= lo && pfn < hi)
			return chunk + off;
	}
	return NULL;
}

/* Unmap every chunk but the page at @keep. */
static void free_others(char **chunks, int n, char *keep)
{
	int i;

	for (i = 0; i < n; i++) {
		char *c = chunks[i];

		if (keep >= c && keep < c + CHUNK) {
			if (keep > c)
				munmap(c, (size_t)(keep - c));
			if (keep + page_size < c + CHUNK)
				munmap(keep + page_size, (size_t)(c + CHUNK - keep - page_size));
			continue;
		}
		munmap(c, CHUNK);
	}
}

static int hog(long mib)
{
	char **chunks;
	long i;

	if (mib <= 0 || mib > 4096)
		return 2;
	chunks = calloc((size_t)mib, sizeof(*chunks));
	if (!chunks)
		return 1;
	for (;;) {
		for (i = 0; i < mib; i++) {
			if (chunks[i])
				munmap(chunks[i], 1UL << 20);
			chunks[i] = mmap(NULL, 1UL << 20, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (chunks[i] == MAP_FAILED) {
				perror("upcall-pin: mmap");
				return 1;
			}
			memset(chunks[i], (int)i, 1UL << 20);
			usleep(2000);
		}
	}
}

int main(int argc, char **argv)
{
	char *chunks[MAX_CHUNKS], *page = NULL;
	uint64_t base, size, lo, hi;
	struct iovec iov;
	int pagemap, pfd[2], n = 0, argi = 1;
	long uid = -1;

	if (argc == 3 && !strcmp(argv[1], "--hog"))
		return hog(strtol(argv[2], NULL, 0));
	if (argc == 5 && !strcmp(argv[1], "--user")) {
		uid = strtol(argv[2], NULL, 0);
		argi = 3;
	}
	if (argc - argi != 2) {
		fprintf(stderr, "usage: upcall-pin [--user UID] BASE SIZE | --hog MIB\n");
		return 2;
	}
	base = strtoull(argv[argi], NULL, 0);
	size = strtoull(argv[argi + 1], NULL, 0);
	page_size = sysconf(_SC_PAGESIZE);
	lo = base / (uint64_t)page_size;
	hi = (base + size) / (uint64_t)page_size;

	pagemap = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap < 0) {
		perror("upcall-pin: /proc/self/pagemap");
		return 1;
	}
	while (!page && n < MAX_CHUNKS) {
		char *c = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

		if (c == MAP_FAILED) {
			perror("upcall-pin: mmap");
			return 1;
		}
		memset(c, 0x5a, CHUNK);
		chunks[n++] = c;
		page = find_in_chunk(pagemap, c, lo, hi);
	}
	if (!page) {
		fprintf(stderr, "upcall-pin: no page landed in %#" PRIx64 "+%#" PRIx64 "\n",
			base, size);
		return 1;
	}
	free_others(chunks, n, page);

	if (uid >= 0 && (setgid((gid_t)uid) < 0 || setuid((uid_t)uid) < 0)) {
		perror("upcall-pin: setuid");
		return 1;
	}
	if (pipe(pfd) < 0) {
		perror("upcall-pin: pipe");
		return 1;
	}
	iov.iov_base = page;
	iov.iov_len = (size_t)page_size;
	if (vmsplice(pfd[1], &iov, 1, 0) != page_size) {
		perror("upcall-pin: vmsplice");
		return 1;
	}
	printf("pinned pfn %#" PRIx64 " uid %d\n", pfn_of(pagemap, page), (int)getuid());
	fflush(stdout);
	for (;;)
		pause();
}
