// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The baseline of a one-shot "upcallctl cpu add 1": a static program that
 * sends the same bytes (hybrid vsock CONNECT, service byte, then ADD_CPU or
 * DEL_CPU of APIC ID 1) and nothing else.  Like upcallctl with a state
 * record, it does not query the guest's CPUs first.
 * Usage: minimal SOCK add|del; exit 0 when the guest said 0.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <upcall/wire.h>

static int io(int fd, uint8_t *buf, size_t len, int out)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = out ? write(fd, buf + done, len - done) : read(fd, buf + done, len - done);

		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* One request frame out, its reply in; returns the reply's ret. */
static int32_t request(int fd, uint32_t type, uint32_t size, uint8_t id)
{
	uint8_t f[UPCALL_FRAME_SIZE] = { 0 };
	struct upcall_msg_header h = { UPCALL_MAGIC_VERSION, size, type, 0 };
	int32_t ret;

	memcpy(f, &h, sizeof(h));
	f[sizeof(h)] = 1;				/* count */
	f[sizeof(h) + 1] = UPCALL_DEFAULT_APIC_VER;
	f[sizeof(h) + 2] = id;
	if (io(fd, f, sizeof(f), 1) || io(fd, f, sizeof(f), 0))
		return -1;
	memcpy(&ret, f + sizeof(h), sizeof(ret));
	return ret;
}

int main(int argc, char **argv)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	uint8_t line[32], frame[UPCALL_FRAME_SIZE], d = UPCALL_SERVICE_DEVMGR;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	size_t n = 0;

	if (argc != 3 || fd < 0)
		return 64;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[1]);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    io(fd, (uint8_t *)"CONNECT 219\n", 12, 1))
		return 69;
	while (n < sizeof(line) && read(fd, line + n, 1) == 1 && line[n++] != '\n')
		;
	if (io(fd, &d, 1, 1) || io(fd, frame, sizeof(frame), 0))
		return 76;
	return request(fd, strcmp(argv[2], "add") ? UPCALL_MSG_DEL_CPU : UPCALL_MSG_ADD_CPU,
		       2 + UPCALL_MAX_APIC_IDS, 1) ? 1 : 0;
}
