/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Progress of long work, as one live line on stderr: a fleet run's counts
 * and its slowest VM, or what --wait is still waiting for.  Only on a
 * terminal and with text output; the line is cleared when the work ends,
 * so nothing of it stays on the screen or reaches a pipe or JSON.
 */
#ifndef UPCALL_PROGRESS_H
#define UPCALL_PROGRESS_H

#include <stdbool.h>

#include "cli.h"

struct progress;

/* Does @cli print to a terminal, as text, from this process (no fleet worker)? */
bool progress_wanted(const struct cli *cli);

/*
 * A fleet run over @total VMs.  NULL (and every call below a no-op) when
 * not wanted or out of memory.
 */
struct progress *progress_fleet(const struct cli *cli, unsigned int total);
/* @vm (a pointer that stays valid until its progress_vm_end) has started. */
void progress_vm_start(struct progress *p, const char *vm);
/* @vm has finished; the line is cleared until progress_resume. */
void progress_vm_end(struct progress *p, const char *vm, bool ok);
/* Clear the line and keep it off the screen while results are printed. */
void progress_pause(struct progress *p);
void progress_resume(struct progress *p);

/* --wait on VM @label: says what it still waits for, until progress_end. */
struct progress *progress_wait(const struct cli *cli, const char *label,
			       const struct upcall_target *t);

/* Clear the line and free @p (NULL is fine). */
void progress_end(struct progress *p);

#endif /* UPCALL_PROGRESS_H */
