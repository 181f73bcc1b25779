/* First-byte demultiplexing of the one UDP port (or one RFC 4571 frame)
 * that carries STUN, DTLS, RTP and RTCP for a peer (RFC 7983, RFC 5761).
 *
 * RFC 7983 §7:
 *
 *                  +----------------+
 *                  |        [0..3] -+--> forward to STUN
 *                  |                |
 *                  |      [16..19] -+--> forward to ZRTP
 *                  |                |
 *      packet -->  |      [20..63] -+--> forward to DTLS
 *                  |                |
 *                  |      [64..79] -+--> forward to TURN Channel
 *                  |                |
 *                  |    [128..191] -+--> forward to RTP/RTCP
 *                  +----------------+
 *
 * RTP and RTCP share a port (RFC 5761 §4): the second byte of RTCP, its
 * packet type, falls in 192..223 (the RTP marker bit plus a payload type
 * 64..95, which RTP must not use with RTCP multiplexing). */
#ifndef VG_CORE_DEMUX_H
#define VG_CORE_DEMUX_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  VG_DEMUX_OTHER = 0, /* empty, ZRTP, TURN channel data, or unassigned */
  VG_DEMUX_STUN = 1,
  VG_DEMUX_DTLS = 2,
  VG_DEMUX_RTP = 3,
  VG_DEMUX_RTCP = 4,
} vg_demux_kind_t;

/* Classifies a packet by its first byte (and, for RTP/RTCP, its second).
 * Reads at most buf[0..1] and never past `len`; `buf` may be NULL when len
 * is 0. A one-byte packet in 128..191 is RTP (too short for either; the RTP
 * parser rejects it). Pure function. */
vg_demux_kind_t vg_demux_classify(const uint8_t *buf, size_t len);

/* A static name for logs: "stun", "dtls", "rtp", "rtcp", "other". */
const char *vg_demux_name(vg_demux_kind_t kind);

#endif
