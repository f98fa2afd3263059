/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ctrl-C for every tool.  SIGINT makes one pipe readable; every session
 * (libupcall watches it), lock wait and fleet worker watches that pipe,
 * in whatever thread, so one keypress stops all of them at once and each
 * reports what it had done.
 */
#ifndef UPCALL_CANCEL_H
#define UPCALL_CANCEL_H

#include <stdbool.h>

/*
 * Create the pipe and catch SIGINT.  With @once, a second Ctrl-C kills at
 * once (the default action comes back), for a tool stuck where no wait
 * looks.  Returns 0 or -errno.
 */
int cancel_setup(bool once);
/* The read end to watch, or -1 before cancel_setup(). */
int cancel_fd(void);
/* Has Ctrl-C been pressed (since the last cancel_clear())? */
bool cancel_requested(void);
/* Sleep up to @ms; false if Ctrl-C came first. */
bool cancel_sleep(int ms);
/* What the SIGINT handler does; async-signal-safe. */
void cancel_raise(void);
/* Forget an earlier Ctrl-C (the shell, before its next line). */
void cancel_clear(void);

#endif /* UPCALL_CANCEL_H */
