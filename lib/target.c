// SPDX-License-Identifier: LGPL-2.1-or-later
/* Target specs: "PATH", "unix:PATH", "vsock:CID[:PORT]". */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);	/* CIDs and ports are decimal */
	if (errno || *end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int port_ok(uint32_t port)
{
	return port >= 1 && port <= UPCALL_MAX_PORT;
}

static int parse_vsock(const char *spec, struct upcall_target *t, char *err,
		       size_t errlen)
{
	char buf[64], *colon;

	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, errlen, "vsock target \"%.20s...\" is too long", spec);
		return -1;
	}
	strcpy(buf, spec);
	colon = strchr(buf, ':');
	if (colon) {
		*colon = '\0';
		if (parse_u32(colon + 1, &t->port) || !port_ok(t->port)) {
			snprintf(err, errlen, "invalid vsock port \"%s\" (expected 1..%d)",
				 colon + 1, UPCALL_MAX_PORT);
			return -1;
		}
	}
	/* CID 1 is the local loopback, for tools running inside the guest. */
	if (parse_u32(buf, &t->cid) || t->cid == 0 || t->cid == 2 ||
	    t->cid == UINT32_MAX) {
		snprintf(err, errlen,
			 "invalid guest CID \"%s\" (1 for the local loopback, or a guest's CID from 3)",
			 buf);
		return -1;
	}
	t->transport = UPCALL_TRANSPORT_VSOCK;
	return 0;
}

UPCALL_EXPORT
int upcall_target_parse(const char *spec, uint32_t default_port,
			struct upcall_target *t, char *err, size_t errlen)
{
	const char *path = spec;

	memset(t, 0, sizeof(*t));
	t->port = default_port ? default_port : UPCALL_DEFAULT_PORT;
	if (!port_ok(t->port)) {
		snprintf(err, errlen, "invalid vsock port %" PRIu32 " (expected 1..%d)",
			 t->port, UPCALL_MAX_PORT);
		return -1;
	}
	if (!spec || !*spec) {
		snprintf(err, errlen, "empty target");
		return -1;
	}
	if (strncmp(spec, "vsock:", 6) == 0)
		return parse_vsock(spec + 6, t, err, errlen);
	if (strncmp(spec, "unix:", 5) == 0)
		path = spec + 5;
	if (!*path) {
		snprintf(err, errlen, "empty socket path in \"%s\"", spec);
		return -1;
	}
	if (strlen(path) >= sizeof(t->path)) {
		snprintf(err, errlen, "socket path is longer than %zu bytes: %s",
			 sizeof(t->path) - 1, path);
		return -1;
	}
	t->transport = UPCALL_TRANSPORT_UNIX;
	strcpy(t->path, path);
	return 0;
}

UPCALL_EXPORT
void upcall_target_format(const struct upcall_target *t, char *buf, size_t len)
{
	if (t->transport == UPCALL_TRANSPORT_VSOCK)
		snprintf(buf, len, "vsock:%" PRIu32 ":%" PRIu32, t->cid, t->port);
	else
		snprintf(buf, len, "unix:%s", t->path);
}
