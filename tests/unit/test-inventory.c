// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The inventory layer on its own: resolving a VM, a group and the files
 * searched, with every failure returned as a value (struct ucerr) and
 * nothing printed.  Linked without the CLI and the fleet (tests/check.mk),
 * so an inventory that called up into them would not build.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../cmd/common/inventory.h"
#include "tap.h"

static char dir[64], inv[128];

static void write_inventory(void)
{
	FILE *f = fopen(inv, "w");

	if (!f)
		exit(1);
	fprintf(f, "vms:\n"
		"  web1:\n    target: %s/web1.sock\n    boot_vcpu_count: 2\n    max_vcpu_count: 8\n"
		"  db1:\n    target: vsock:7\n"
		"groups:\n  web: [web1]\n", dir);
	fclose(f);
	chmod(inv, 0644);
}

static void test_files(void)
{
	char files[INVENTORY_MAX_FILES][PATH_MAX];

	is_int(inventory_files(inv, files), 1, "--config: that file only");
	ok(!strcmp(files[0], inv), "it is the one given");
	setenv("XDG_CONFIG_HOME", "/xdg", 1);
	is_int(inventory_files(NULL, files), 2, "else the system file and the user's");
	ok(!strcmp(files[0], INVENTORY_SYSTEM_FILE), "the system file first: %s", files[0]);
	ok(!strcmp(files[1], "/xdg/upcall/vms.yaml"), "then $XDG_CONFIG_HOME's: %s", files[1]);
	unsetenv("XDG_CONFIG_HOME");
	setenv("HOME", "/home/op", 1);
	inventory_files(NULL, files);
	ok(!strcmp(files[1], "/home/op/.config/upcall/vms.yaml"), "or ~/.config's: %s", files[1]);
	unsetenv("HOME");
	is_int(inventory_files(NULL, files), 1, "without either, the system file alone");
}

static void test_resolve(void)
{
	struct vm_entry e;
	struct upcall_target t;
	struct ucerr ue = { 0 };
	char want[256], missing[160];

	is_int(inventory_resolve(inv, 219, "web1", &e, &t, &ue), EXIT_DONE, "a VM by name");
	ok(e.in_inventory && !strcmp(e.name, "web1") && e.boot_vcpus == 2 && e.max_vcpus == 8,
	   "its entry: %s, boot %u, max %u", e.name, e.boot_vcpus, e.max_vcpus);
	snprintf(want, sizeof(want), "%s/web1.sock", dir);
	ok(t.transport == UPCALL_TRANSPORT_UNIX && !strcmp(t.path, want), "its target: %s", t.path);

	is_int(inventory_resolve(inv, 219, "vsock:9", &e, &t, &ue), EXIT_DONE,
	       "a target without an entry");
	ok(!e.in_inventory && e.boot_vcpus == VM_DEFAULT_BOOT_VCPUS &&
	   !strcmp(e.label, "vsock:9"), "gets the defaults, called as given: %s", e.label);
	is_int(inventory_resolve(inv, 219, "vsock:7", &e, &t, &ue), EXIT_DONE,
	       "a target the inventory names");
	ok(!strcmp(e.name, "db1"), "is that entry: %s", e.name);

	errno = EACCES;	/* a stale errno must not reach the error */
	is_int(inventory_resolve(inv, 219, "nosuch", &e, &t, &ue), EXIT_USAGE,
	       "an unknown name is a usage error");
	snprintf(want, sizeof(want),
		 "no VM named \"nosuch\" in %s (give a socket path, unix:PATH or vsock:CID, or add it under vms:)",
		 inv);
	ok(!strcmp(ue.msg, want), "saying where it looked: %s", ue.msg);
	is_int(ue.err, 0, "with no errno: no call failed");

	snprintf(missing, sizeof(missing), "%s/none.yaml", dir);
	is_int(inventory_resolve(missing, 219, "web1", &e, &t, &ue), EXIT_USAGE,
	       "a --config that does not exist");
	is_int(ue.err, ENOENT, "carries the errno of access()");
	snprintf(want, sizeof(want), "--config %s: %s", missing, strerror(ENOENT));
	ok(!strcmp(ue.msg, want), "and says it: %s", ue.msg);

	inventory_resolve(inv, 219, "web1", &e, &t, &ue);
	inventory_set_arch(&e, UPCALL_ARCH_AARCH64);
	ok(e.topo.threads_per_core == 1 && e.topo.cores_per_die == e.max_vcpus,
	   "aarch64: CPU ids, no APIC topology");
}

static int add(void *data, const char *vm)
{
	char *names = data;

	strcat(names, vm);
	strcat(names, " ");
	return 0;
}

static void test_group(void)
{
	struct ucerr ue = { 0 };
	char names[256] = "", want[256];

	is_int(inventory_resolve_group(inv, "web", add, names, &ue), EXIT_DONE, "a group");
	ok(!strcmp(names, "web1 "), "its members: %s", names);
	is_int(inventory_resolve_group(inv, "nosuch", add, names, &ue), EXIT_USAGE,
	       "an unknown group is a usage error");
	snprintf(want, sizeof(want), "no group named \"nosuch\" in %s (add it under groups:)", inv);
	ok(!strcmp(ue.msg, want), "saying where it looked: %s", ue.msg);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	umask(022);
	snprintf(dir, sizeof(dir), "%s/test-inventory.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return 1;
	snprintf(inv, sizeof(inv), "%s/vms.yaml", dir);
	write_inventory();
	tap_plan(7 + 14 + 4);
	test_files();
	test_resolve();
	test_group();
	unlink(inv);
	rmdir(dir);
	return tap_done();
}
