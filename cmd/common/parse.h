/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Pure parsers and formatters of values (sizes, addresses, ID lists),
 * shared by every layer; they print nothing and need no other module.
 */
#ifndef UPCALL_PARSE_H
#define UPCALL_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include <upcall/upcall.h>

/* Argument parsers: return 0, or -1 with a message in @err. */
int parse_u64(const char *s, uint64_t *v, char *err, size_t errlen);
int parse_size(const char *s, uint64_t *v, char *err, size_t errlen);
int parse_uint(const char *s, unsigned long min, unsigned long max,
	       unsigned long *v, const char *what, char *err, size_t errlen);
int parse_id_list(const char *s, uint8_t *ids, unsigned int max,
		  unsigned int *n, char *err, size_t errlen);
int parse_pci_addr(const char *s, uint8_t *bus, uint8_t *devfn, char *err,
		   size_t errlen);
void format_size(uint64_t v, char *buf, size_t len);
/* Room for any list of IDs: "255, " per ID. */
#define ID_LIST_MAX (UPCALL_MAX_APIC_IDS * 5)
void format_id_list(const uint8_t *ids, unsigned int n, char *buf, size_t len);

#endif /* UPCALL_PARSE_H */
