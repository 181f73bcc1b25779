/* RTP: packet parsing and building (RFC 3550 §5), header extensions
 * (RFC 8285), sequence/timestamp unwrapping and per-source receiver
 * statistics (RFC 3550 Appendix A.1, A.3, A.8).
 *
 * The parser is a pure function over the caller's buffer: the parsed packet
 * borrows the extension block and the payload from the input. No allocation.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           synchronization source (SSRC) identifier            |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |            contributing source (CSRC) identifiers             |
 * |                             ....                              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  defined by profile (0xBEDE)  |   length (32-bit words)       |  if X
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 header extension (length words)               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 payload ...   | padding ...   | pad count     |  if P
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ */
#ifndef VG_CORE_RTP_H
#define VG_CORE_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/time.h"
#include "core/rtcp.h"

#define VG_RTP_VERSION 2
/* RFC 3550 §5.1: the fixed header is 12 octets. */
#define VG_RTP_HEADER_LEN 12
/* RFC 3550 §5.1: CC is 4 bits, so at most 15 CSRCs. */
#define VG_RTP_MAX_CSRC 15
/* RFC 8285 §4.2: the one-byte header form's "defined by profile" value. */
#define VG_RTP_EXT_PROFILE_ONE_BYTE 0xBEDE
/* RFC 8285 §4.3: the two-byte form is 0x100 followed by 4 "appbits"; the
 * profile matches when (profile & MASK) == VALUE. */
#define VG_RTP_EXT_PROFILE_TWO_BYTE 0x1000
#define VG_RTP_EXT_PROFILE_TWO_BYTE_MASK 0xFFF0
/* RFC 8285 §4.2: one-byte form ids are 1..14 and data 1..16 bytes. */
#define VG_RTP_EXT_ONE_BYTE_MAX_ID 14
#define VG_RTP_EXT_ONE_BYTE_MAX_LEN 16
/* RFC 8285 §4.3: two-byte form ids are 1..255 and data 0..255 bytes. */
#define VG_RTP_EXT_TWO_BYTE_MAX_LEN 255
/* RFC 3550 §5.3.1: the extension length field counts 32-bit words in 16 bits. */
#define VG_RTP_EXT_MAX_LEN (65535u * 4u)

/* The header fields, as parsed or as to be written. */
typedef struct {
  bool marker;
  uint8_t payload_type; /* 0..127 */
  uint16_t seq;
  uint32_t timestamp;
  uint32_t ssrc;
  uint8_t csrc_count; /* 0..15 */
  uint32_t csrc[VG_RTP_MAX_CSRC];
  bool has_ext;         /* X bit */
  uint16_t ext_profile; /* "defined by profile" (0xBEDE, 0x100x, other) */
  const uint8_t *ext;   /* borrowed: extension data after its 4-byte header; nullable when ext_len is 0 */
  size_t ext_len;       /* bytes, a multiple of 4 */
  uint8_t padding_len;  /* P bit: padding octets at the end including the
                           count octet (1..255); 0 = no padding */
} vg_rtp_header_t;

typedef struct {
  vg_rtp_header_t hdr;
  const uint8_t *payload; /* borrowed from the input; padding excluded */
  size_t payload_len;
  size_t header_len;      /* bytes before the payload (fixed + CSRCs + extension) */
} vg_rtp_packet_t;

/* Parses one RTP packet (the whole datagram). Returns `len` on success, or
 * VG_EPROTO with `*why` (nullable) set: shorter than the header, version
 * not 2, CSRCs or extension overrun the packet, padding count 0 or larger
 * than what follows the header. Does not look at the payload type range;
 * demultiplex RTCP first (vg_rtcp_is_rtcp). */
int vg_rtp_parse(vg_rtp_packet_t *p, const uint8_t *buf, size_t len, const char **why) VG_MUST_USE;

/* Writes header `h`, then `payload` (nullable when payload_len is 0), then
 * `h->padding_len` padding octets. Returns the packet length, VG_EINVAL for
 * a bad header (payload type > 127, more than 15 CSRCs, extension length not
 * a multiple of 4 or too long, has_ext with a NULL ext and nonzero length),
 * or VG_ENOSPC when `cap` is too small. `out` must not overlap `payload`. */
int vg_rtp_write(const vg_rtp_header_t *h, const uint8_t *payload, size_t payload_len,
                 uint8_t *out, size_t cap) VG_MUST_USE;

/* ---- Header extension elements (RFC 8285) ---- */

typedef struct {
  const uint8_t *p; /* borrowed: the extension data */
  size_t len;
  size_t pos;
  bool two_byte;
  bool done;
  const char *why; /* set when next() fails */
} vg_rtp_ext_iter_t;

/* Starts iterating the elements of `h`'s extension block. Returns 0, or
 * VG_EUNSUPPORTED when there is no extension or its profile is neither the
 * one-byte (0xBEDE) nor the two-byte (0x100x) form. */
int vg_rtp_ext_iter_init(vg_rtp_ext_iter_t *it, const vg_rtp_header_t *h) VG_MUST_USE;

/* Yields the next element: its id, data (borrowed) and length. Padding
 * octets (id 0) between and after elements are skipped; in the one-byte
 * form id 15 ends processing (RFC 8285 §4.2). Returns 1 for an element, 0
 * at the end, VG_EPROTO when an element overruns the block (`it->why` says
 * so; the iterator then stays at the end). */
int vg_rtp_ext_next(vg_rtp_ext_iter_t *it, uint8_t *id, const uint8_t **data, size_t *len) VG_MUST_USE;

/* Finds the first element with `id` (1..255). Returns its length (>= 0;
 * two-byte elements may be empty) with `*data` borrowed from the packet,
 * VG_ENOTFOUND when absent or when there is no usable extension, VG_EPROTO
 * when the block is malformed before it is found. */
int vg_rtp_ext_find(const vg_rtp_header_t *h, uint8_t id, const uint8_t **data) VG_MUST_USE;

typedef struct {
  uint8_t id;
  const uint8_t *data; /* borrowed; nullable when len is 0 */
  size_t len;
} vg_rtp_ext_elem_t;

/* Writes `n` elements as an extension block padded to 32 bits, in the
 * one-byte form when every id is 1..14 and every length 1..16, otherwise in
 * the two-byte form (ids 1..255, lengths 0..255). Sets `*profile` to 0xBEDE
 * or 0x1000. Returns the block length (for vg_rtp_header_t.ext_len),
 * VG_EINVAL for an id or length no form allows, VG_ENOSPC when too small. */
int vg_rtp_ext_write(const vg_rtp_ext_elem_t *elems, size_t n, uint16_t *profile, uint8_t *out,
                     size_t cap) VG_MUST_USE;

/* ---- Unwrapping to extended values ---- */

/* Unwraps 16-bit sequence numbers or 32-bit timestamps (one unwrapper per
 * stream and per kind; zero-initialise it). Each value is mapped to the
 * extended value closest to the highest one seen so far, so wraps and
 * reordering across a wrap both come out right. The first value maps to
 * itself; a packet older than the first one, reordered across the wrap,
 * maps below it (e.g. first 0, then 65535 -> -1). */
typedef struct {
  int64_t highest;
  bool started;
} vg_rtp_unwrapper_t;

int64_t vg_rtp_seq_unwrap(vg_rtp_unwrapper_t *u, uint16_t seq);
int64_t vg_rtp_ts_unwrap(vg_rtp_unwrapper_t *u, uint32_t ts);

/* ---- Receiver statistics for one source (RFC 3550 A.1, A.3, A.8) ---- */

/* RFC 3550 A.1: a source is valid after MIN_SEQUENTIAL packets in sequence;
 * jumps larger than MAX_DROPOUT ahead or MAX_MISORDER behind are bad unless
 * the next packet confirms the new sequence (the source restarted). */
#define VG_RTP_MIN_SEQUENTIAL 2
#define VG_RTP_MAX_DROPOUT 3000
#define VG_RTP_MAX_MISORDER 100

typedef struct {
  uint32_t ssrc;
  bool started;            /* at least one packet seen */
  /* A.1 sequence state */
  uint16_t max_seq;        /* highest seq seen */
  uint32_t cycles;         /* wraps of seq, shifted left by 16 */
  uint32_t base_seq;       /* first seq counted */
  uint32_t bad_seq;        /* last 'bad' seq + 1 */
  uint32_t probation;      /* sequential packets still needed to be valid */
  uint32_t received;       /* valid packets received */
  uint32_t expected_prior; /* A.3: at the last report */
  uint32_t received_prior;
  /* A.8 jitter state */
  bool have_transit;
  uint32_t transit;        /* previous relative transit time, RTP units */
  uint32_t jitter_q4;      /* jitter in RTP units, scaled by 16 */
  /* Last SR from this source, for LSR/DLSR */
  bool have_sr;
  uint32_t last_sr_mid;    /* middle 32 bits of its NTP timestamp */
  vg_time_t last_sr_at;    /* our time when it arrived */
} vg_rtp_recv_stats_t;

/* Zeroes the statistics for source `ssrc`. */
void vg_rtp_recv_stats_init(vg_rtp_recv_stats_t *st, uint32_t ssrc);

/* Accounts packet `p` that arrived at `now` (clock_rate: the payload's RTP
 * clock in Hz, e.g. 48000 for Opus). Returns 1 when the packet counted as
 * valid (A.1 update_seq), 0 when it is still on probation or a bad jump
 * (statistics unchanged apart from the sequence state). Jitter (A.8) is
 * updated for each valid packet. Packets from another SSRC are ignored
 * (returns 0). */
int vg_rtp_recv_stats_update(vg_rtp_recv_stats_t *st, vg_time_t now, const vg_rtp_packet_t *p,
                             uint32_t clock_rate);

/* Records an SR from this source arriving at `now` with NTP time `ntp`. */
void vg_rtp_recv_stats_on_sr(vg_rtp_recv_stats_t *st, vg_time_t now, uint64_t ntp);

/* The extended highest sequence number received (A.1: cycles + max_seq). */
uint32_t vg_rtp_recv_stats_ext_max(const vg_rtp_recv_stats_t *st);
/* Cumulative packets lost (A.3: expected - received), clamped to 24 bits. */
int32_t vg_rtp_recv_stats_lost(const vg_rtp_recv_stats_t *st);

/* Fills report block `rb` for this source as of `now` (A.3): cumulative and
 * fraction lost, extended highest seq, jitter, and LSR/DLSR from the last
 * SR. Starts a new reporting interval (fraction lost covers the packets
 * since the previous call). Returns 0, or VG_ESTATE (rb untouched) when no
 * valid packet has been received yet. */
int vg_rtp_recv_stats_report(vg_rtp_recv_stats_t *st, vg_time_t now, vg_rtcp_report_block_t *rb) VG_MUST_USE;

#endif
