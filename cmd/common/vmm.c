// SPDX-License-Identifier: GPL-2.0-or-later
/* The VMM interface: picks the implementation, connects on first use. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm.h"

const char *vmm_kind_name(enum vmm_kind kind)
{
	return kind == VMM_QMP ? "qmp" : "none";
}

void vmm_init(struct vmm *v, enum vmm_kind kind, const char *path, int timeout_ms,
	      int cancel_fd, FILE *trace)
{
	memset(v, 0, sizeof(*v));
	v->ops = kind == VMM_QMP ? &vmm_qmp_ops : NULL;
	snprintf(v->path, sizeof(v->path), "%s", path);
	v->timeout_ms = timeout_ms;
	v->cancel_fd = cancel_fd;
	v->trace = trace;
	v->fd = -1;
}

void vmm_close(struct vmm *v)
{
	if (v->ops && v->ops->close && v->fd >= 0)
		v->ops->close(v);
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
	free(v->buf);
	v->buf = NULL;
	v->len = v->cap = 0;
}

const char *vmm_errmsg(const struct vmm *v)
{
	return v->err;
}

enum upcall_status vmm_fail(struct vmm *v, enum upcall_status st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->err, sizeof(v->err), fmt, ap);
	va_end(ap);
	return st;
}

static enum upcall_status ready(struct vmm *v)
{
	enum upcall_status st;

	if (!v->ops)
		return vmm_fail(v, UPCALL_ERR_INVALID, "no VMM control socket for this VM");
	if (v->fd >= 0)
		return UPCALL_OK;
	v->err[0] = '\0';
	st = v->ops->open(v);
	if (st)
		vmm_close(v);
	return st;
}

enum upcall_status vmm_add_vcpus(struct vmm *v, const uint8_t *ids, unsigned int n,
				 bool *created, uint8_t *have, unsigned int *nhave)
{
	enum upcall_status st = ready(v);

	memset(created, 0, n * sizeof(*created));
	*nhave = 0;
	return st ? st : v->ops->add_vcpus(v, ids, n, created, have, nhave);
}

enum upcall_status vmm_list_dimms(struct vmm *v, struct vmm_dimm *d, unsigned int *n)
{
	enum upcall_status st = ready(v);

	*n = 0;
	return st ? st : v->ops->list_dimms(v, d, n);
}

enum upcall_status vmm_add_dimm(struct vmm *v, uint64_t size, bool at, uint64_t base,
				struct vmm_dimm *out)
{
	enum upcall_status st = ready(v);

	memset(out, 0, sizeof(*out));
	return st ? st : v->ops->add_dimm(v, size, at, base, out);
}
