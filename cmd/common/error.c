// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdarg.h>
#include <stdio.h>

#include "error.h"

int ucerr_set(struct ucerr *e, int code, int err, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	e->err = err;
	e->st = UPCALL_OK;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

int ucerr_status(struct ucerr *e, enum upcall_status st)
{
	e->code = exit_code_of(st);
	e->err = 0;
	e->st = st;
	e->msg[0] = '\0';
	return e->code;
}

int exit_code_of(enum upcall_status st)
{
	switch (st) {
	case UPCALL_OK: return EXIT_DONE;
	case UPCALL_ERR_GUEST: return EXIT_REFUSED;
	case UPCALL_ERR_PARTIAL: return EXIT_PARTIAL;
	case UPCALL_ERR_INVALID: return EXIT_USAGE;
	case UPCALL_ERR_UNREACHABLE: return EXIT_UNREACHABLE;
	case UPCALL_ERR_TIMEOUT: return EXIT_TIMEOUT;
	case UPCALL_ERR_PROTOCOL: return EXIT_PROTOCOL;
	case UPCALL_ERR_CANCELLED: return EXIT_CANCELLED;
	case UPCALL_ERR_SYSTEM:
	case UPCALL_IN_PROGRESS:	/* the tools block: never returned */
		break;
	}
	return EXIT_OSERR;
}
