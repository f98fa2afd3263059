/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * JSON values the tools print and the QMP client exchanges: IDs, unsigned
 * 64-bit addresses (also above INT64_MAX), hex strings, any bytes as text.
 * jansson only; no other module.
 */
#ifndef UPCALL_JSON_H
#define UPCALL_JSON_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

json_t *json_id_array(const uint8_t *ids, unsigned int n);
/*
 * An unsigned 64-bit value (an address) as a JSON number, also above
 * INT64_MAX, where jansson's integers end: write such values with
 * json_dumps_u64() or json_dumpf_u64(), and read them back with
 * json_loadb_u64() and json_u64_value().
 */
json_t *json_u64(uint64_t v);
char *json_dumps_u64(const json_t *j, size_t flags);
int json_dumpf_u64(const json_t *j, FILE *f, size_t flags);
json_t *json_loadb_u64(const char *buf, size_t len, size_t flags);
/* A value of json_u64() or a non-negative integer; 0, or -1 for anything else. */
int json_u64_value(const json_t *j, uint64_t *v);
/* "0x100000000": an address or size also as hex, for readers of JSON. */
json_t *json_hex(uint64_t v);
/* Set @key to @v (json_u64) and "@key_hex" to its hex string. */
void json_set_addr(json_t *o, const char *key, uint64_t v);
/* @s as a JSON string; bytes that are not UTF-8 become U+FFFD, so no key is lost. */
json_t *json_text(const char *s);

#endif /* UPCALL_JSON_H */
