// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * #5's waiter in the ACPI guest: what udev does there when the guest's
 * ACPI hot-adds a CPU or memory, woken by the kernel's uevents, so that
 * nothing polls while the guest works (a 1 ms polling loop kept the
 * guest's only CPU a third to half busy).
 *   hotwait cpu N        on "add" of cpuN, write 1 to its online file
 *   hotwait mem BLOCK KB on "add" of memoryBLOCK say "seen"; once
 *                        MemTotal is at least KB kB, say "grown"
 * Says "ready" once it listens, "seen" when the device is there, and
 * "online" or "grown" when done; exit status 0 then.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void say(const char *word)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%s\n", word);

	if (write(STDOUT_FILENO, line, (size_t)n) != n)
		exit(1);
}

static int listen_uevents(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int size = 4 << 20;
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("hotwait: uevent socket");
		exit(1);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	return fd;
}

/*
 * Sleeps until the next uevent, or @ms; false if that event's header does
 * not start with @prefix.  Events are only the wake-up, the caller looks
 * at the files; a timeout or a full socket buffer (ENOBUFS: events were
 * lost) is true, so that it looks all the same.
 */
static int next_event(int fd, int ms, const char *prefix)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[8192];
	ssize_t n;

	if (poll(&p, 1, ms) <= 0)
		return 1;
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	if (n < 0 && errno != ENOBUFS) {
		perror("hotwait: recv");
		exit(1);
	}
	if (n < 0)
		return 1;
	buf[n] = '\0';
	return !strncmp(buf, prefix, strlen(prefix));
}

static long mem_total_kb(void)
{
	char buf[128];
	long kb = -1;
	int fd = open("/proc/meminfo", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (n > 0) {
		buf[n] = '\0';
		sscanf(buf, "MemTotal: %ld", &kb);
	}
	if (fd >= 0)
		close(fd);
	return kb;
}

static int wait_cpu(int fd, const char *n)
{
	char path[96];
	int out;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%s/online", n);
	say("ready");
	while (access(path, F_OK))
		next_event(fd, 100, "");
	say("seen");
	out = open(path, O_WRONLY);
	if (out < 0 || write(out, "1", 1) != 1) {
		perror("hotwait: online");
		return 1;
	}
	close(out);
	say("online");
	return 0;
}

static int wait_mem(int fd, const char *block, long kb)
{
	char path[96];
	int seen = 0, check = 1;

	snprintf(path, sizeof(path), "/sys/devices/system/memory/memory%s", block);
	say("ready");
	for (;;) {
		if (!seen && !access(path, F_OK)) {
			seen = 1;
			say("seen");
		}
		if (check && mem_total_kb() >= kb)
			break;
		/*
		 * Onlining a block sends an "online" uevent once MemTotal has
		 * grown; only then is /proc/meminfo (not cheap) read again.
		 */
		check = next_event(fd, 100, "online@/devices/system/memory/");
	}
	if (!seen)
		say("seen");
	say("grown");
	return 0;
}

int main(int argc, char **argv)
{
	int fd;

	if (argc == 3 && !strcmp(argv[1], "cpu")) {
		fd = listen_uevents();
		return wait_cpu(fd, argv[2]);
	}
	if (argc == 4 && !strcmp(argv[1], "mem")) {
		fd = listen_uevents();
		return wait_mem(fd, argv[2], strtol(argv[3], NULL, 10));
	}
	fprintf(stderr, "usage: hotwait cpu N | hotwait mem BLOCK KB\n");
	return 64;
}
