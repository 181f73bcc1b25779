/* RTCP: the RTP control protocol (RFC 3550 §6), generic NACK and PLI
 * feedback (RFC 4585 §6), reduced-size compounds allowed (RFC 5506).
 *
 * Parsing is a pure function over the caller's buffer: an iterator walks a
 * compound packet and yields one decoded packet at a time; every pointer in a
 * yielded packet borrows the input buffer. Building writes a compound into a
 * caller buffer with sticky errors. No allocation anywhere.
 *
 * Times: the core's clock is `vg_time_t` (monotonic microseconds). RTCP
 * carries NTP wall-clock times; the caller supplies the offset that maps its
 * monotonic clock to Unix wall-clock microseconds (wall = now + offset). */
#ifndef VG_CORE_RTCP_H
#define VG_CORE_RTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "base/err.h"
#include "base/time.h"

/* RFC 3550 §6.4.1 / §6.4.2: the RC field is 5 bits, so an SR or RR carries
 * at most 31 report blocks. */
#define VG_RTCP_MAX_REPORT_BLOCKS 31
/* RFC 3550 §6.5: the SC field is 5 bits, so an SDES packet carries at most
 * 31 chunks. All of them are kept. */
#define VG_RTCP_MAX_SDES_CHUNKS 31
/* RFC 3550 §6.6: the SC field is 5 bits, so a BYE names at most 31 SSRCs. */
#define VG_RTCP_MAX_BYE_SSRCS 31
/* RFC 3550 §6.4.1: the common header (V, P, RC/FMT, PT, length). */
#define VG_RTCP_HEADER_LEN 4
/* RFC 3550 §6.5.1: an SDES item's text is at most 255 octets. */
#define VG_RTCP_MAX_SDES_TEXT 255

/* RFC 3550 §12.1, RFC 4585 §6.1: packet types. */
enum {
  VG_RTCP_PT_SR = 200,
  VG_RTCP_PT_RR = 201,
  VG_RTCP_PT_SDES = 202,
  VG_RTCP_PT_BYE = 203,
  VG_RTCP_PT_APP = 204,
  VG_RTCP_PT_RTPFB = 205,
  VG_RTCP_PT_PSFB = 206,
};

/* RFC 4585 §6.2.1: RTPFB FMT 1 is generic NACK. §6.3.1: PSFB FMT 1 is PLI. */
#define VG_RTCP_FMT_NACK 1
#define VG_RTCP_FMT_PLI 1

/* What a yielded packet is; selects the member of vg_rtcp_packet_t's union. */
typedef enum {
  VG_RTCP_SR = 0,   /* .sr */
  VG_RTCP_RR = 1,   /* .rr */
  VG_RTCP_SDES = 2, /* .sdes */
  VG_RTCP_BYE = 3,  /* .bye */
  VG_RTCP_NACK = 4, /* .fb (RTPFB FMT 1; FCI is PID+BLP pairs) */
  VG_RTCP_PLI = 5,  /* .fb (PSFB FMT 1; no FCI) */
  VG_RTCP_FB = 6,   /* .fb: another RTPFB/PSFB format, FCI opaque */
  VG_RTCP_OTHER = 7 /* unknown type (APP, XR, ...): only the raw bytes */
} vg_rtcp_kind_t;

/* One report block (RFC 3550 §6.4.1), host order, decoded.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |                 SSRC_1 (SSRC of first source)                 |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | fraction lost |       cumulative number of packets lost       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           extended highest sequence number received           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      interarrival jitter                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         last SR (LSR)                         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                   delay since last SR (DLSR)                  |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+ */
typedef struct {
  uint32_t ssrc;            /* the source this block reports on */
  uint8_t fraction_lost;    /* lost / expected since the last report, x256 */
  int32_t cumulative_lost;  /* signed 24-bit: -8388608 .. 8388607 */
  uint32_t highest_seq;     /* extended highest sequence number (cycles<<16 | seq) */
  uint32_t jitter;          /* interarrival jitter, RTP timestamp units */
  uint32_t lsr;             /* middle 32 bits of the last SR's NTP time; 0 = none */
  uint32_t dlsr;            /* delay since that SR, 1/65536 s; 0 when lsr is 0 */
} vg_rtcp_report_block_t;

#define VG_RTCP_REPORT_BLOCK_LEN 24

/* Sender info (RFC 3550 §6.4.1). `ntp` is the 64-bit NTP timestamp: seconds
 * since 1900 in the high 32 bits, binary fraction in the low 32. */
typedef struct {
  uint64_t ntp;
  uint32_t rtp_ts;       /* same instant as `ntp`, in the RTP clock */
  uint32_t packet_count; /* RTP packets sent since the start */
  uint32_t octet_count;  /* RTP payload octets sent since the start */
} vg_rtcp_sender_info_t;

typedef struct {
  uint32_t ssrc; /* the sender */
  vg_rtcp_sender_info_t info;
  uint8_t block_count;
  vg_rtcp_report_block_t blocks[VG_RTCP_MAX_REPORT_BLOCKS];
} vg_rtcp_sr_t;

typedef struct {
  uint32_t ssrc; /* the reporter */
  uint8_t block_count;
  vg_rtcp_report_block_t blocks[VG_RTCP_MAX_REPORT_BLOCKS];
} vg_rtcp_rr_t;

typedef struct {
  uint32_t ssrc;
  const uint8_t *cname; /* borrowed from the input, not NUL-terminated; NULL when the chunk has none */
  uint8_t cname_len;
} vg_rtcp_sdes_chunk_t;

typedef struct {
  uint8_t chunk_count;
  vg_rtcp_sdes_chunk_t chunks[VG_RTCP_MAX_SDES_CHUNKS];
} vg_rtcp_sdes_t;

typedef struct {
  uint8_t ssrc_count;
  uint32_t ssrcs[VG_RTCP_MAX_BYE_SSRCS];
  const uint8_t *reason; /* borrowed, not NUL-terminated; NULL when absent */
  uint8_t reason_len;
} vg_rtcp_bye_t;

/* Any transport-layer or payload-specific feedback message (RFC 4585 §6.1).
 * For NACK the FCI is `fci_len / 4` PID+BLP pairs; for PLI it is empty. */
typedef struct {
  uint32_t sender_ssrc; /* packet sender */
  uint32_t media_ssrc;  /* media source the feedback is about */
  const uint8_t *fci;   /* borrowed from the input; padding excluded */
  size_t fci_len;       /* bytes (a multiple of 4 for NACK) */
} vg_rtcp_fb_t;

/* One packet out of a compound. Valid until the input buffer changes. */
typedef struct {
  vg_rtcp_kind_t kind;
  uint8_t pt;           /* packet type (200 = SR, ...) */
  uint8_t count;        /* the 5-bit RC / SC / FMT field */
  bool padding;         /* P bit was set (only allowed on the last packet) */
  const uint8_t *raw;   /* borrowed: the whole packet, header and padding */
  size_t raw_len;
  union {
    vg_rtcp_sr_t sr;
    vg_rtcp_rr_t rr;
    vg_rtcp_sdes_t sdes;
    vg_rtcp_bye_t bye;
    vg_rtcp_fb_t fb; /* NACK, PLI, FB */
  };
} vg_rtcp_packet_t;

/* Walks a compound RTCP packet (an SRTCP-decrypted datagram). */
typedef struct {
  const uint8_t *buf; /* borrowed */
  size_t len;
  size_t pos;
  int err; /* sticky: once negative, every next() returns it */
} vg_rtcp_iter_t;

/* True when `buf` looks like RTCP rather than RTP on a muxed port: version 2
 * and a second octet in 192..223 (RFC 5761 §4). Needs len >= 2. */
bool vg_rtcp_is_rtcp(const uint8_t *buf, size_t len);

/* Starts iterating `buf` (borrowed; must outlive the iterator). */
void vg_rtcp_iter_init(vg_rtcp_iter_t *it, const uint8_t *buf, size_t len);

/* Decodes the next packet into `*pkt`. Returns its length in bytes (> 0),
 * 0 at the end of the compound, or VG_EPROTO with `*why` (nullable) set when
 * a header is invalid (version not 2, length overruns the datagram, padding
 * on a packet that is not the last, bad padding count) or a known packet's
 * body is malformed (truncated report block, SDES item overrun, ...). After
 * an error the iterator stays failed. Unknown packet types and feedback
 * formats are yielded (VG_RTCP_OTHER / VG_RTCP_FB), never an error. An empty
 * buffer is an empty compound (returns 0). */
int vg_rtcp_next(vg_rtcp_iter_t *it, vg_rtcp_packet_t *pkt, const char **why) VG_MUST_USE;

/* RFC 4585 §6.2.1: reads NACK pair `i` (< fb->fci_len / 4). */
void vg_rtcp_nack_pair(const vg_rtcp_fb_t *fb, size_t i, uint16_t *pid, uint16_t *blp);
/* The number of sequence numbers a NACK names (PIDs plus set BLP bits,
 * duplicates counted as often as they appear). */
size_t vg_rtcp_nack_count(const vg_rtcp_fb_t *fb);
/* Writes the lost sequence numbers a NACK names into `out`, pair by pair,
 * PID first then BLP bits from least significant. Returns the number
 * written, or VG_ENOSPC when `cap` < vg_rtcp_nack_count(fb) (nothing useful
 * in `out` then). */
int vg_rtcp_nack_expand(const vg_rtcp_fb_t *fb, uint16_t *out, size_t cap) VG_MUST_USE;

/* A compound packet under construction in a caller buffer. Errors are
 * sticky: the first failure is kept in `err` and later adds do nothing. */
typedef struct {
  vg_writer_t w; /* borrows the caller's buffer */
  int err;       /* 0 or the first VG_E... code */
} vg_rtcp_builder_t;

/* `out` is borrowed for the builder's life. */
void vg_rtcp_builder_init(vg_rtcp_builder_t *b, uint8_t *out, size_t cap);
/* SR with `n` (<= 31) report blocks; `blocks` nullable when n is 0.
 * VG_EINVAL (sticky) when n > 31 or a cumulative_lost is outside 24 bits. */
void vg_rtcp_add_sr(vg_rtcp_builder_t *b, uint32_t ssrc, const vg_rtcp_sender_info_t *info,
                    const vg_rtcp_report_block_t *blocks, size_t n);
/* RR with `n` (<= 31) report blocks (n may be 0: an empty RR). */
void vg_rtcp_add_rr(vg_rtcp_builder_t *b, uint32_t ssrc, const vg_rtcp_report_block_t *blocks,
                    size_t n);
/* SDES with one chunk holding one CNAME item of `len` (1..255) bytes. */
void vg_rtcp_add_sdes_cname(vg_rtcp_builder_t *b, uint32_t ssrc, const char *cname, size_t len);
/* BYE for `n` (1..31) SSRCs with an optional reason (`reason` nullable,
 * `reason_len` <= 255). */
void vg_rtcp_add_bye(vg_rtcp_builder_t *b, const uint32_t *ssrcs, size_t n, const char *reason,
                     size_t reason_len);
/* Generic NACK naming the `n` (>= 1) sequence numbers in `lost`. They are
 * packed into PID+BLP pairs greedily in the given order; giving them in
 * increasing order (modulo 2^16) packs tightest. Duplicates are harmless. */
void vg_rtcp_add_nack(vg_rtcp_builder_t *b, uint32_t sender_ssrc, uint32_t media_ssrc,
                      const uint16_t *lost, size_t n);
/* Picture loss indication. */
void vg_rtcp_add_pli(vg_rtcp_builder_t *b, uint32_t sender_ssrc, uint32_t media_ssrc);
/* Returns the compound's length, or the sticky error (VG_ENOSPC when the
 * buffer was too small, VG_EINVAL for a bad argument). */
int vg_rtcp_finish(const vg_rtcp_builder_t *b) VG_MUST_USE;

/* ---- NTP time and round-trip time (RFC 3550 §4, §6.4.1) ---- */

/* Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
#define VG_RTCP_NTP_UNIX_OFFSET 2208988800u

/* The 64-bit NTP timestamp of `now` given `wall_offset` (µs) such that
 * now + wall_offset is Unix wall-clock time in microseconds. */
uint64_t vg_rtcp_ntp_from_time(vg_time_t now, int64_t wall_offset);
/* The middle 32 bits of an NTP timestamp (16.16 fixed point seconds): the
 * form used in LSR and for RTT arithmetic. */
uint32_t vg_rtcp_ntp_mid(uint64_t ntp);
/* Converts a duration to 1/65536 s units (for DLSR); negative → 0. */
uint32_t vg_rtcp_dlsr_from_time(vg_time_t delay);

/* RFC 3550 §6.4.1: the round trip A - LSR - DLSR, where A is `arrival_mid`,
 * the middle 32 bits of the NTP time at which the report block arrived (in
 * the same wall clock our SR used). Returns microseconds (>= 0; a negative
 * result from clock skew gives 0), or VG_ENOTFOUND when the block carries no
 * LSR (the peer has not received an SR yet). */
int64_t vg_rtcp_rtt_us(const vg_rtcp_report_block_t *rb, uint32_t arrival_mid);

#endif
