/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interfaces of the upcall guest module.
 */
#ifndef UPCALL_GUEST_H
#define UPCALL_GUEST_H

#include <linux/mutex.h>
#include <linux/types.h>
#include <upcall/wire.h>

#if !defined(CONFIG_X86_64) && !defined(CONFIG_ARM64)
#error "upcall guest module: only x86_64 and arm64 guests are supported"
#endif

/* The wire is little-endian and the structs are used in place. */
#ifdef __BIG_ENDIAN
#error "upcall guest module: big-endian kernels are not supported"
#endif

struct socket;

/* A service owns the connection after its selector byte, until it returns. */
struct upcall_service {
	u8 selector;
	const char *name;
	void (*serve)(struct socket *sock);
};

/*
 * A device-manager request handler: @req is the validated request payload,
 * @rep the zeroed reply payload.  Returns 0 or a negative errno; sets
 * *@rep_size only for a payload that goes out with ret == 0 (CPU replies
 * always carry theirs).
 */
typedef int (*upcall_handler_t)(const void *req, void *rep, u32 *rep_size);

int upcall_recv_exact(struct socket *sock, void *buf, size_t len);
int upcall_send_all(struct socket *sock, const void *buf, size_t len);

void upcall_devmgr_serve(struct socket *sock);
void upcall_devmgr_stop(void);

int upcall_cpu_add(const void *req, void *rep, u32 *rep_size);
int upcall_cpu_del(const void *req, void *rep, u32 *rep_size);
int upcall_cpu_query(const void *req, void *rep, u32 *rep_size);

int upcall_mem_add(const void *req, void *rep, u32 *rep_size);
int upcall_mem_del(const void *req, void *rep, u32 *rep_size);
int upcall_mem_query(const void *req, void *rep, u32 *rep_size);
void upcall_mem_stop(void);
void upcall_mem_exit(void);

int upcall_mmio_add(const void *req, void *rep, u32 *rep_size);
int upcall_mmio_del(const void *req, void *rep, u32 *rep_size);
void upcall_mmio_release_all(void);

int upcall_pci_add(const void *req, void *rep, u32 *rep_size);
int upcall_pci_del(const void *req, void *rep, u32 *rep_size);
int upcall_pci_query(const void *req, void *rep, u32 *rep_size);
void upcall_pci_exit(void);

int upcall_mmio_query(const void *req, void *rep, u32 *rep_size);

/*
 * One page of a list reply: from the @total entries of @esize bytes at
 * @all, those from @start on that fit @max, after the head.  Returns the
 * payload size.
 */
u32 upcall_list_page(struct upcall_list_head *head, void *entries, const void *all,
		     u32 total, u32 start, u32 max, size_t esize);

#endif /* UPCALL_GUEST_H */
