/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VM inventory: what the host knows about each VM (target, vCPU limits,
 * topology, memory hot-add regions), read from YAML.  A VM given by socket
 * path or vsock CID without an entry gets the defaults below.
 */
#ifndef UPCALL_INVENTORY_H
#define UPCALL_INVENTORY_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <upcall/upcall.h>

#include "error.h"
#include "topology.h"
#include "vmm.h"

#define INVENTORY_SYSTEM_FILE	"/etc/upcall/vms.yaml"
#define INVENTORY_MAX_REGIONS	16
#define VM_NAME_MAX		64

/* Defaults for a VM without an inventory entry. */
#define VM_DEFAULT_BOOT_VCPUS	1
#define VM_DEFAULT_MAX_VCPUS	UPCALL_MAX_CPU_COUNT
#define VM_DEFAULT_BLOCK_SIZE	(128ULL << 20)

#define INVENTORY_DOC							\
	"VMs by name come from --config FILE, else " INVENTORY_SYSTEM_FILE \
	" then $XDG_CONFIG_HOME/upcall/vms.yaml (the first that names the VM); " \
	"a VM given by socket path or vsock CID needs no entry and gets boot 1 " \
	"vCPU, max 255, APIC IDs 0..254, 128 MiB memory blocks and no hot-add region."

struct vm_entry {
	char name[VM_NAME_MAX];		/* inventory name, or derived from the target */
	char label[PATH_MAX];		/* what messages call it: the name, or the target */
	bool in_inventory;
	char file[PATH_MAX];		/* where the entry came from */
	char spec[PATH_MAX];		/* target as given */
	struct upcall_target target;
	bool have_arch;
	enum upcall_arch arch;
	unsigned int boot_vcpus;
	unsigned int max_vcpus;
	struct topology topo;
	uint8_t apic_ver;
	uint64_t block_size;
	unsigned int nregions;
	struct upcall_range regions[INVENTORY_MAX_REGIONS];
	enum vmm_kind vmm;		/* the VMM's control socket, if any */
	char vmm_path[UPCALL_PATH_MAX];
};

/*
 * Look up @name in one inventory file.  Returns 1 found, 0 not there, -1
 * with "FILE:LINE:COLUMN: why" (or "FILE: why") in @err.  With @by_target,
 * @name is ignored and the entry whose target equals @by_target is found.
 */
int inventory_find(const char *file, const char *name,
		   const struct upcall_target *by_target, struct vm_entry *out,
		   char *err, size_t errlen);

/*
 * Call @add with each member of @group ("groups:" at the top level maps a
 * group name to a list of VM names defined under "vms:").  Returns 1 found,
 * 0 not there, -1 with the reason in @err.
 */
int inventory_find_group(const char *file, const char *group,
			 int (*add)(void *data, const char *vm), void *data,
			 char *err, size_t errlen);

/*
 * Call @add with each VM name and group name of @file that a command would
 * accept, for completion.  The file is read under the same rules as for a
 * command (no FIFO, owner and mode checked); a file refused or malformed
 * gives no names.  Returns 1 read, 0 no such file, -1 refused.
 */
int inventory_names(const char *file,
		    void (*add)(void *data, const char *name, bool group), void *data);

/* Defaults for a VM known only by its target. */
void inventory_default(const struct upcall_target *t, struct vm_entry *out);

/* Fill @out with the boot vCPUs' IDs; returns their count. */
unsigned int vm_boot_ids(const struct vm_entry *e, uint8_t *ids);
/* All IDs vCPUs 0..max-1 may have, ascending; returns max. */
unsigned int vm_valid_ids(const struct vm_entry *e, uint8_t *ids);

/*
 * The files a VM or group is looked up in, in order: @config alone when
 * given (--config), else INVENTORY_SYSTEM_FILE then the user's
 * $XDG_CONFIG_HOME/upcall/vms.yaml (~/.config/...).  Returns how many.
 */
#define INVENTORY_MAX_FILES	2
int inventory_files(const char *config, char files[INVENTORY_MAX_FILES][PATH_MAX]);

/*
 * Resolve @vm (a name, PATH, unix:PATH or vsock:CID[:PORT], @port when it
 * names none) through inventory_files(@config) into @e and @t (the target
 * as given, for connecting; e->target is how the VM is known).  Returns an
 * exit code; on failure @ue says why.
 */
int inventory_resolve(const char *config, uint32_t port, const char *vm, struct vm_entry *e,
		      struct upcall_target *t, struct ucerr *ue);
/* The entry's topology for @arch: aarch64 has CPU ids, no APIC topology. */
void inventory_set_arch(struct vm_entry *e, enum upcall_arch arch);
/*
 * Expand @group from the first inventory file that defines it.  Returns an
 * exit code; on failure @ue says why.
 */
int inventory_resolve_group(const char *config, const char *group,
			    int (*add)(void *data, const char *vm), void *data,
			    struct ucerr *ue);

#endif /* UPCALL_INVENTORY_H */
