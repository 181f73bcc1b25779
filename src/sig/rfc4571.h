/* RFC 4571 framing of datagrams on a TCP stream (ICE-TCP, RFC 6544 §3):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |             LENGTH            |  STUN, DTLS, RTP or RTCP ...  |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The deframer takes the stream in whatever pieces the socket gives and
 * yields whole frames: straight from the input when a frame lies whole in
 * it (no copy), else from its own buffer once the pieces are joined. */
#ifndef VG_SIG_RFC4571_H
#define VG_SIG_RFC4571_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Largest frame accepted: a datagram on an ICE path is an MTU-sized DTLS
 * record or SRTP packet (RFC 8445 §18 keeps media under the path MTU);
 * 4 KiB leaves room and bounds a connection's memory. */
#define VG_RFC4571_MAX_FRAME 4096

typedef struct {
  uint8_t hdr[2];
  size_t hdr_have;
  size_t need; /* length of the frame being joined; 0 = reading a header */
  size_t have;
  uint8_t buf[VG_RFC4571_MAX_FRAME];
} vg_rfc4571_t;

void vg_rfc4571_init(vg_rfc4571_t *d);

/* Reads from in[0..len). Returns the bytes consumed (> 0 or 0 when len is
 * 0); when a whole frame is ready, *frame and *frame_len are set (frame
 * points into `in` or into the deframer, valid until the next call), else
 * *frame is NULL. Call again with the rest of the input. VG_EPROTO for a
 * frame longer than VG_RFC4571_MAX_FRAME or of length zero. */
int vg_rfc4571_feed(vg_rfc4571_t *d, const uint8_t *in, size_t len, const uint8_t **frame,
                    size_t *frame_len) VG_MUST_USE;

/* The 2-byte header for a frame of `len` bytes; VG_EINVAL over 65535. */
int vg_rfc4571_header(size_t len, uint8_t hdr[2]) VG_MUST_USE;

#endif
