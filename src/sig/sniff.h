/* What a new connection on the shared TCP port speaks, from its first
 * bytes (the server speaks first in none of these protocols, so the client's
 * opening bytes decide):
 *
 *   RFC 6544 ICE-TCP: RFC 4571 framing, a STUN Binding request inside
 *     +--------+--------+--------+--------+--------+--------+--------+--------+--------+--------+
 *     | length (16)     | 0x00   | 0x01   | STUN length (16)| 0x21   | 0x12   | 0xA4   | 0x42   |
 *     +--------+--------+--------+--------+--------+--------+--------+--------+--------+--------+
 *       frame length      STUN type:        (RFC 8489 §5)     magic cookie
 *                         Binding request
 *   TLS: a handshake record, 0x16 0x03 0x0X (RFC 8446 §5.1)
 *   HTTP: a method token, ASCII letters (RFC 9112 §3)
 */
#ifndef VG_SIG_SNIFF_H
#define VG_SIG_SNIFF_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  VG_SNIFF_NEED_MORE = 0, /* not enough bytes yet to tell */
  VG_SNIFF_HTTP,
  VG_SNIFF_TLS,
  VG_SNIFF_ICE_TCP,
  VG_SNIFF_UNKNOWN, /* none of them: answer nothing, close */
} vg_sniff_t;

/* The most bytes vg_sniff ever needs to decide. */
#define VG_SNIFF_MAX 10

/* Classifies the first `len` bytes of a connection. Pure. */
vg_sniff_t vg_sniff(const uint8_t *buf, size_t len);
const char *vg_sniff_name(vg_sniff_t s);

#endif
