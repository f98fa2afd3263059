/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fleet operations: one piece of work run on several VMs at once (repeated
 * --vm, a socket PATH glob, an inventory @GROUP) by a bounded pool of
 * workers.  The fleet knows VMs and the inventory, not the command line:
 * its caller says what to run on each VM and what to make of each result
 * (struct fleet_ops).
 */
#ifndef UPCALL_FLEET_H
#define UPCALL_FLEET_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

#define FLEET_MAX_JOBS		256
#define FLEET_DEFAULT_JOBS	32

struct fleet_ops {
	/*
	 * Run the work on @vm, writing what it says to @out and @err.
	 * Returns its exit code.  Called from several threads at once.
	 */
	int (*run)(void *data, const char *vm, FILE *out, FILE *err);
	/* The VMs are known, @n of them; none has started (NULL: not wanted). */
	void (*planned)(void *data, unsigned int n);
	/* @vm has started (NULL: not wanted). */
	void (*started)(void *data, const char *vm);
	/*
	 * @vm finished with @code; @out and @err hold what its run wrote.
	 * Called one VM at a time, as each finishes.
	 */
	void (*finished)(void *data, const char *vm, int code, const char *out,
			 const char *err);
	void *data;
};

struct fleet_opts {
	const char *config;	/* the only inventory file, or NULL (inventory_files()) */
	uint32_t port;		/* of targets that name none */
	unsigned int jobs;	/* VMs served at once (0: FLEET_DEFAULT_JOBS) */
};

struct fleet_summary {
	unsigned int n;		/* VMs */
	unsigned int ok;	/* succeeded */
	unsigned int done;	/* finished; the rest were not started (Ctrl-C) */
	/* 0 all succeeded, 3 some failed, else the code all failed with, or 4
	 * when they failed differently; 130 when some were never started */
	int code;
};

/* Is @vm a glob or an @GROUP, which may name several VMs? */
bool fleet_is_pattern(const char *vm);

/*
 * Expand @vms (names, targets, globs, @GROUPs) into VMs, each VM once
 * however many values name it, and run @ops on each.  Returns EXIT_DONE
 * with @sum filled in, or an exit code with @e saying why the VMs could
 * not be listed (then nothing ran).
 */
int fleet_run(const char *const *vms, unsigned int nvms, const struct fleet_opts *o,
	      const struct fleet_ops *ops, struct fleet_summary *sum, struct ucerr *e);

#endif /* UPCALL_FLEET_H */
