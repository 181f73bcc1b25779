/* A transport address: IPv4 or IPv6, port, and whether it is a UDP or a
 * TCP path. The core routes by these; it never touches sockaddr. */
#ifndef VG_BASE_ADDR_H
#define VG_BASE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef enum {
  VG_TRANSPORT_UDP = 0,
  VG_TRANSPORT_TCP = 1,
} vg_transport_t;

typedef struct {
  uint8_t family;    /* 4 or 6; 0 = unset */
  uint8_t transport; /* vg_transport_t */
  uint16_t port;     /* host order */
  uint8_t ip[16];    /* network order; IPv4 uses the first 4 bytes, rest zero */
} vg_addr_t;

/* Enough for "[ffff:...:ffff]:65535" and a terminator. */
#define VG_ADDR_STRLEN 56

/* Parses a literal IPv4 or IPv6 address (no names, no brackets) into `out`
 * with the given port and transport. VG_EINVAL when it is not a literal. */
int vg_addr_parse(vg_addr_t *out, const char *ip, uint16_t port, vg_transport_t t) VG_MUST_USE;

void vg_addr_set_v4(vg_addr_t *out, uint32_t ip_host_order, uint16_t port, vg_transport_t t);

/* Writes "1.2.3.4:5" or "[::1]:5" (NUL-terminated); returns the length or
 * VG_ENOSPC. */
int vg_addr_format(const vg_addr_t *a, char *out, size_t cap);
/* Writes just the IP. */
int vg_addr_format_ip(const vg_addr_t *a, char *out, size_t cap);

/* Same family, IP, port and transport. */
bool vg_addr_equal(const vg_addr_t *a, const vg_addr_t *b);
uint32_t vg_addr_hash(const vg_addr_t *a);
bool vg_addr_is_loopback(const vg_addr_t *a);

/* Key bytes for a map: exactly the fields vg_addr_equal compares. `k` has
 * room for VG_ADDR_KEY_MAX bytes; returns the key length. */
#define VG_ADDR_KEY_MAX 20
size_t vg_addr_key(const vg_addr_t *a, uint8_t *k);

#endif
