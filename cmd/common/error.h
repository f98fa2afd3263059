/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Errors as values, and the exit codes they map to.  The layers below the
 * CLI (state, inventory, fleet) print no error: a failing call fills a
 * struct ucerr and returns its exit code, and the CLI reports it.
 */
#ifndef UPCALL_ERROR_H
#define UPCALL_ERROR_H

#include <upcall/upcall.h>

/* Exit codes, shared by all binaries (sysexits.h values where they fit). */
enum {
	EXIT_DONE = 0,
	EXIT_REFUSED = 1,	/* the guest (or the VMM) refused */
	EXIT_PARTIAL = 2,	/* some CPUs done, or the VMM made what the guest did not take */
	EXIT_SOME_FAILED = 3,	/* several VMs: some succeeded, some failed */
	EXIT_ALL_FAILED = 4,	/* several VMs: all failed, not all the same way */
	EXIT_BUSY = 5,		/* --no-wait: another operation holds the VM */
	EXIT_USAGE = 64,	/* bad command line; nothing was sent */
	EXIT_UNREACHABLE = 69,	/* no socket, no listener, refused */
	EXIT_OSERR = 71,	/* local failure (memory, descriptors) */
	EXIT_TIMEOUT = 75,	/* the guest or VMM did not answer in time */
	EXIT_PROTOCOL = 76,	/* bad magic, wrong type, short frame */
	EXIT_CANCELLED = 130,	/* interrupted */
};

struct ucerr {
	int code;		/* exit code; EXIT_DONE: no error */
	int err;		/* errno of the call that failed, 0: none */
	enum upcall_status st;	/* a session's failure: its own message says why */
	char msg[1024];		/* one line, without the program's name */
};

/*
 * Note a failure: @err is the errno the failing call left (saved before
 * anything else could change it), or 0; the message is formatted as given
 * and should carry strerror(@err) itself where it helps.  Returns @code.
 */
int ucerr_set(struct ucerr *e, int code, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A session request failed with @st (not UPCALL_OK).  Returns its exit code. */
int ucerr_status(struct ucerr *e, enum upcall_status st);
/* The exit code of a request's status. */
int exit_code_of(enum upcall_status st);

#endif /* UPCALL_ERROR_H */
