/* RTCP parsing and building: RFC 3550 §6, RFC 4585 §6, RFC 5506. */
#include "core/rtcp.h"

#include <string.h>

/* RFC 3550 §6.4.1: every RTCP packet starts with this common header.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P| RC/FMT  |      PT       |   length (words - 1)          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ */

/* RFC 5761 §4: RTCP packet types on a muxed port fall in 192..223. */
#define RTCP_PT_MUX_MIN 192
#define RTCP_PT_MUX_MAX 223

/* RFC 3550 §6.5: SDES item types. */
#define SDES_END 0
#define SDES_CNAME 1

/* RFC 3550 §6.4.1: a report block's cumulative loss is a signed 24-bit field. */
#define LOST_MAX 0x7FFFFF
#define LOST_MIN (-0x800000)

bool vg_rtcp_is_rtcp(const uint8_t *buf, size_t len) {
  if (len < 2 || (buf[0] >> 6) != 2) return false;
  return buf[1] >= RTCP_PT_MUX_MIN && buf[1] <= RTCP_PT_MUX_MAX;
}

void vg_rtcp_iter_init(vg_rtcp_iter_t *it, const uint8_t *buf, size_t len) {
  it->buf = buf;
  it->len = len;
  it->pos = 0;
  it->err = 0;
}

static int fail(const char **why, const char *reason) {
  if (why) *why = reason;
  return VG_EPROTO;
}

static void read_block(vg_reader_t *r, vg_rtcp_report_block_t *b) {
  b->ssrc = vg_read_u32(r);
  b->fraction_lost = vg_read_u8(r);
  uint32_t lost = vg_read_u24(r);
  /* Sign-extend the 24-bit field. */
  b->cumulative_lost = (lost & 0x800000) ? (int32_t)lost - 0x1000000 : (int32_t)lost;
  b->highest_seq = vg_read_u32(r);
  b->jitter = vg_read_u32(r);
  b->lsr = vg_read_u32(r);
  b->dlsr = vg_read_u32(r);
}

/* RFC 3550 §6.4.1 (SR) and §6.4.2 (RR): SSRC, [sender info], RC blocks.
 * Bytes after the blocks are a profile-specific extension and ignored. */
static int parse_report(vg_rtcp_packet_t *pkt, vg_reader_t *r, const char **why) {
  vg_rtcp_report_block_t *blocks;
  if (pkt->pt == VG_RTCP_PT_SR) {
    pkt->kind = VG_RTCP_SR;
    pkt->sr.ssrc = vg_read_u32(r);
    pkt->sr.info.ntp = vg_read_u64(r);
    pkt->sr.info.rtp_ts = vg_read_u32(r);
    pkt->sr.info.packet_count = vg_read_u32(r);
    pkt->sr.info.octet_count = vg_read_u32(r);
    if (r->err) return fail(why, "SR shorter than its sender info");
    pkt->sr.block_count = pkt->count;
    blocks = pkt->sr.blocks;
  } else {
    pkt->kind = VG_RTCP_RR;
    pkt->rr.ssrc = vg_read_u32(r);
    if (r->err) return fail(why, "RR shorter than its SSRC");
    pkt->rr.block_count = pkt->count;
    blocks = pkt->rr.blocks;
  }
  for (unsigned i = 0; i < pkt->count; i++) read_block(r, &blocks[i]);
  if (r->err) return fail(why, "report block truncated");
  return 0;
}

/* RFC 3550 §6.5: SC chunks, each an SSRC then items (type, length, text)
 * ended by one or more null octets up to the next 32-bit boundary.
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                          SSRC/CSRC_1                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   CNAME=1     |     length    | user and domain name        ...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ */
static int parse_sdes(vg_rtcp_packet_t *pkt, vg_reader_t *r, const char **why) {
  pkt->kind = VG_RTCP_SDES;
  pkt->sdes.chunk_count = pkt->count;
  for (unsigned i = 0; i < pkt->count; i++) {
    vg_rtcp_sdes_chunk_t *c = &pkt->sdes.chunks[i];
    c->ssrc = vg_read_u32(r);
    c->cname = NULL;
    c->cname_len = 0;
    if (r->err) return fail(why, "SDES chunk truncated");
    for (;;) {
      uint8_t type = vg_read_u8(r);
      if (r->err) return fail(why, "SDES chunk without a terminating null item");
      if (type == SDES_END) break;
      uint8_t n = vg_read_u8(r);
      const uint8_t *text = vg_read_bytes(r, n);
      if (r->err) return fail(why, "SDES item overruns the packet");
      if (type == SDES_CNAME && !c->cname) {
        c->cname = text;
        c->cname_len = n;
      }
    }
    /* The body starts 32-bit aligned, so the chunk padding is to pos % 4. */
    size_t pad = (4 - (r->pos & 3)) & 3;
    if (!vg_reader_skip(r, pad)) return fail(why, "SDES chunk padding overruns the packet");
  }
  return 0;
}

/* RFC 3550 §6.6: SC SSRCs, then optionally a length octet and a reason. */
static int parse_bye(vg_rtcp_packet_t *pkt, vg_reader_t *r, const char **why) {
  pkt->kind = VG_RTCP_BYE;
  pkt->bye.ssrc_count = pkt->count;
  pkt->bye.reason = NULL;
  pkt->bye.reason_len = 0;
  for (unsigned i = 0; i < pkt->count; i++) pkt->bye.ssrcs[i] = vg_read_u32(r);
  if (r->err) return fail(why, "BYE shorter than its SSRC count");
  if (vg_reader_left(r) > 0) {
    uint8_t n = vg_read_u8(r);
    const uint8_t *text = vg_read_bytes(r, n);
    if (r->err) return fail(why, "BYE reason overruns the packet");
    pkt->bye.reason = text;
    pkt->bye.reason_len = n;
  }
  return 0;
}

/* RFC 4585 §6.1: feedback messages.
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  SSRC of packet sender                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  SSRC of media source                         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * :            Feedback Control Information (FCI)                :
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ */
static int parse_fb(vg_rtcp_packet_t *pkt, vg_reader_t *r, const char **why) {
  pkt->fb.sender_ssrc = vg_read_u32(r);
  pkt->fb.media_ssrc = vg_read_u32(r);
  if (r->err) return fail(why, "feedback message shorter than its two SSRCs");
  pkt->fb.fci_len = vg_reader_left(r);
  pkt->fb.fci = r->p + r->pos;
  pkt->kind = VG_RTCP_FB;
  if (pkt->pt == VG_RTCP_PT_RTPFB && pkt->count == VG_RTCP_FMT_NACK) {
    /* RFC 4585 §6.2.1: one or more PID+BLP pairs. */
    if (pkt->fb.fci_len == 0 || pkt->fb.fci_len % 4 != 0)
      return fail(why, "NACK FCI is not a whole number of PID+BLP pairs");
    pkt->kind = VG_RTCP_NACK;
  } else if (pkt->pt == VG_RTCP_PT_PSFB && pkt->count == VG_RTCP_FMT_PLI) {
    /* RFC 4585 §6.3.1: PLI has no FCI; extra bytes are tolerated. */
    pkt->kind = VG_RTCP_PLI;
  }
  return 0;
}

/* Validates the common header at it->pos and returns the packet's size, or
 * an error. Sets pkt's header fields and body range. */
static int parse_header(vg_rtcp_iter_t *it, vg_rtcp_packet_t *pkt, size_t *body_len,
                        const char **why) {
  size_t left = it->len - it->pos;
  const uint8_t *h = it->buf + it->pos;
  if (left < VG_RTCP_HEADER_LEN) return fail(why, "trailing bytes shorter than an RTCP header");
  if ((h[0] >> 6) != 2) return fail(why, "RTCP version is not 2");
  size_t size = ((size_t)vg_load_u16(h + 2) + 1) * 4;
  if (size > left) return fail(why, "RTCP length overruns the datagram");
  pkt->padding = (h[0] & 0x20) != 0;
  pkt->count = h[0] & 0x1F;
  pkt->pt = h[1];
  pkt->raw = h;
  pkt->raw_len = size;
  size_t pad = 0;
  if (pkt->padding) {
    /* RFC 3550 §6.4.1: only the last packet of a compound may be padded;
     * the last octet counts the padding octets including itself. */
    if (size != left) return fail(why, "RTCP padding on a packet that is not the last");
    pad = h[size - 1];
    if (pad == 0 || pad > size - VG_RTCP_HEADER_LEN)
      return fail(why, "RTCP padding count is 0 or larger than the packet body");
  }
  *body_len = size - VG_RTCP_HEADER_LEN - pad;
  return (int)size;
}

int vg_rtcp_next(vg_rtcp_iter_t *it, vg_rtcp_packet_t *pkt, const char **why) {
  if (it->err < 0) {
    if (why) *why = "RTCP iterator already failed";
    return it->err;
  }
  if (it->pos >= it->len) return 0;
  size_t body_len = 0;
  int size = parse_header(it, pkt, &body_len, why);
  if (size < 0) return it->err = size;
  vg_reader_t r = vg_reader(pkt->raw + VG_RTCP_HEADER_LEN, body_len);
  int rc = 0;
  switch (pkt->pt) {
  case VG_RTCP_PT_SR:
  case VG_RTCP_PT_RR: rc = parse_report(pkt, &r, why); break;
  case VG_RTCP_PT_SDES: rc = parse_sdes(pkt, &r, why); break;
  case VG_RTCP_PT_BYE: rc = parse_bye(pkt, &r, why); break;
  case VG_RTCP_PT_RTPFB:
  case VG_RTCP_PT_PSFB: rc = parse_fb(pkt, &r, why); break;
  default: pkt->kind = VG_RTCP_OTHER; break;
  }
  if (rc < 0) return it->err = rc;
  it->pos += (size_t)size;
  return size;
}

/* RFC 4585 §6.2.1: a generic NACK pair.
 *
 *  0                   1                   2                   3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |            PID                |             BLP               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * PID is a lost packet; bit i of BLP (LSB = 0) marks PID + i + 1 lost. */
void vg_rtcp_nack_pair(const vg_rtcp_fb_t *fb, size_t i, uint16_t *pid, uint16_t *blp) {
  *pid = vg_load_u16(fb->fci + 4 * i);
  *blp = vg_load_u16(fb->fci + 4 * i + 2);
}

static unsigned popcount16(uint16_t v) {
  unsigned n = 0;
  for (; v; v &= (uint16_t)(v - 1)) n++;
  return n;
}

size_t vg_rtcp_nack_count(const vg_rtcp_fb_t *fb) {
  size_t n = 0;
  for (size_t i = 0; i < fb->fci_len / 4; i++) {
    uint16_t pid, blp;
    vg_rtcp_nack_pair(fb, i, &pid, &blp);
    n += 1 + popcount16(blp);
  }
  return n;
}

int vg_rtcp_nack_expand(const vg_rtcp_fb_t *fb, uint16_t *out, size_t cap) {
  if (vg_rtcp_nack_count(fb) > cap) return VG_ENOSPC;
  size_t n = 0;
  for (size_t i = 0; i < fb->fci_len / 4; i++) {
    uint16_t pid, blp;
    vg_rtcp_nack_pair(fb, i, &pid, &blp);
    out[n++] = pid;
    for (unsigned bit = 0; bit < 16; bit++)
      if (blp & (1u << bit)) out[n++] = (uint16_t)(pid + bit + 1);
  }
  return (int)n;
}

/* ---- Building ---- */

void vg_rtcp_builder_init(vg_rtcp_builder_t *b, uint8_t *out, size_t cap) {
  b->w = vg_writer(out, cap);
  b->err = 0;
}

static void set_err(vg_rtcp_builder_t *b, int err) {
  if (b->err == 0) b->err = err;
}

/* Starts a packet; returns its offset for end_packet(). */
static size_t begin_packet(vg_rtcp_builder_t *b, uint8_t count, uint8_t pt) {
  size_t at = b->w.pos;
  vg_write_u8(&b->w, (uint8_t)(0x80 | (count & 0x1F)));
  vg_write_u8(&b->w, pt);
  vg_write_u16(&b->w, 0); /* length, patched by end_packet */
  return at;
}

/* Back-patches the length (32-bit words minus one) of the packet at `at`. */
static void end_packet(vg_rtcp_builder_t *b, size_t at) {
  if (b->w.err) {
    set_err(b, VG_ENOSPC);
    return;
  }
  size_t words = (b->w.pos - at) / 4;
  if (words - 1 > UINT16_MAX) {
    set_err(b, VG_EINVAL);
    return;
  }
  vg_write_u16_at(&b->w, at + 2, (uint16_t)(words - 1));
}

static bool blocks_ok(const vg_rtcp_report_block_t *blocks, size_t n) {
  if (n > VG_RTCP_MAX_REPORT_BLOCKS || (n > 0 && !blocks)) return false;
  for (size_t i = 0; i < n; i++)
    if (blocks[i].cumulative_lost > LOST_MAX || blocks[i].cumulative_lost < LOST_MIN) return false;
  return true;
}

static void write_blocks(vg_writer_t *w, const vg_rtcp_report_block_t *blocks, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const vg_rtcp_report_block_t *rb = &blocks[i];
    vg_write_u32(w, rb->ssrc);
    vg_write_u8(w, rb->fraction_lost);
    vg_write_u24(w, (uint32_t)rb->cumulative_lost & 0xFFFFFF);
    vg_write_u32(w, rb->highest_seq);
    vg_write_u32(w, rb->jitter);
    vg_write_u32(w, rb->lsr);
    vg_write_u32(w, rb->dlsr);
  }
}

void vg_rtcp_add_sr(vg_rtcp_builder_t *b, uint32_t ssrc, const vg_rtcp_sender_info_t *info,
                    const vg_rtcp_report_block_t *blocks, size_t n) {
  if (b->err) return;
  if (!info || !blocks_ok(blocks, n)) {
    set_err(b, VG_EINVAL);
    return;
  }
  size_t at = begin_packet(b, (uint8_t)n, VG_RTCP_PT_SR);
  vg_write_u32(&b->w, ssrc);
  vg_write_u64(&b->w, info->ntp);
  vg_write_u32(&b->w, info->rtp_ts);
  vg_write_u32(&b->w, info->packet_count);
  vg_write_u32(&b->w, info->octet_count);
  write_blocks(&b->w, blocks, n);
  end_packet(b, at);
}

void vg_rtcp_add_rr(vg_rtcp_builder_t *b, uint32_t ssrc, const vg_rtcp_report_block_t *blocks,
                    size_t n) {
  if (b->err) return;
  if (!blocks_ok(blocks, n)) {
    set_err(b, VG_EINVAL);
    return;
  }
  size_t at = begin_packet(b, (uint8_t)n, VG_RTCP_PT_RR);
  vg_write_u32(&b->w, ssrc);
  write_blocks(&b->w, blocks, n);
  end_packet(b, at);
}

void vg_rtcp_add_sdes_cname(vg_rtcp_builder_t *b, uint32_t ssrc, const char *cname, size_t len) {
  if (b->err) return;
  if (!cname || len == 0 || len > VG_RTCP_MAX_SDES_TEXT) {
    set_err(b, VG_EINVAL);
    return;
  }
  size_t at = begin_packet(b, 1, VG_RTCP_PT_SDES);
  vg_write_u32(&b->w, ssrc);
  vg_write_u8(&b->w, SDES_CNAME);
  vg_write_u8(&b->w, (uint8_t)len);
  vg_write_bytes(&b->w, cname, len);
  /* At least one null octet ends the item list, then pad to 32 bits. */
  vg_write_zeros(&b->w, 4 - ((2 + len) & 3));
  end_packet(b, at);
}

void vg_rtcp_add_bye(vg_rtcp_builder_t *b, const uint32_t *ssrcs, size_t n, const char *reason,
                     size_t reason_len) {
  if (b->err) return;
  if (!ssrcs || n == 0 || n > VG_RTCP_MAX_BYE_SSRCS || reason_len > VG_RTCP_MAX_SDES_TEXT ||
      (reason_len > 0 && !reason))
    {
    set_err(b, VG_EINVAL);
    return;
  }
  size_t at = begin_packet(b, (uint8_t)n, VG_RTCP_PT_BYE);
  for (size_t i = 0; i < n; i++) vg_write_u32(&b->w, ssrcs[i]);
  if (reason && reason_len > 0) {
    vg_write_u8(&b->w, (uint8_t)reason_len);
    vg_write_bytes(&b->w, reason, reason_len);
    vg_write_zeros(&b->w, (4 - ((1 + reason_len) & 3)) & 3);
  }
  end_packet(b, at);
}

void vg_rtcp_add_nack(vg_rtcp_builder_t *b, uint32_t sender_ssrc, uint32_t media_ssrc,
                      const uint16_t *lost, size_t n) {
  if (b->err) return;
  if (!lost || n == 0) {
    set_err(b, VG_EINVAL);
    return;
  }
  size_t at = begin_packet(b, VG_RTCP_FMT_NACK, VG_RTCP_PT_RTPFB);
  vg_write_u32(&b->w, sender_ssrc);
  vg_write_u32(&b->w, media_ssrc);
  size_t i = 0;
  while (i < n) {
    uint16_t pid = lost[i++];
    uint16_t blp = 0;
    /* Fold following seqs within PID+1..PID+16 into the bitmask. */
    while (i < n) {
      uint16_t d = (uint16_t)(lost[i] - pid);
      if (d > 16) break;
      if (d > 0) blp |= (uint16_t)(1u << (d - 1));
      i++;
    }
    vg_write_u16(&b->w, pid);
    vg_write_u16(&b->w, blp);
  }
  end_packet(b, at);
}

void vg_rtcp_add_pli(vg_rtcp_builder_t *b, uint32_t sender_ssrc, uint32_t media_ssrc) {
  if (b->err) return;
  size_t at = begin_packet(b, VG_RTCP_FMT_PLI, VG_RTCP_PT_PSFB);
  vg_write_u32(&b->w, sender_ssrc);
  vg_write_u32(&b->w, media_ssrc);
  end_packet(b, at);
}

int vg_rtcp_finish(const vg_rtcp_builder_t *b) {
  if (b->err) return b->err;
  if (b->w.err) return VG_ENOSPC;
  return (int)b->w.pos;
}

/* ---- NTP and RTT ---- */

#define USEC_PER_SEC 1000000

uint64_t vg_rtcp_ntp_from_time(vg_time_t now, int64_t wall_offset) {
  int64_t us = now + wall_offset;
  int64_t sec = us / USEC_PER_SEC;
  int64_t rem = us % USEC_PER_SEC;
  if (rem < 0) {
    rem += USEC_PER_SEC;
    sec -= 1;
  }
  /* RFC 3550 §4: seconds since 1900 (mod 2^32) . fraction of 2^32. */
  uint32_t ntp_sec = (uint32_t)((uint64_t)sec + VG_RTCP_NTP_UNIX_OFFSET);
  uint64_t frac = (((uint64_t)rem << 32) + USEC_PER_SEC / 2) / USEC_PER_SEC;
  if (frac > UINT32_MAX) frac = UINT32_MAX;
  return ((uint64_t)ntp_sec << 32) | frac;
}

uint32_t vg_rtcp_ntp_mid(uint64_t ntp) { return (uint32_t)(ntp >> 16); }

uint32_t vg_rtcp_dlsr_from_time(vg_time_t delay) {
  if (delay <= 0) return 0;
  /* 2^16 s does not fit in DLSR; saturate well before the multiply overflows. */
  if (delay >= (vg_time_t)65536 * USEC_PER_SEC) return UINT32_MAX;
  return (uint32_t)(((uint64_t)delay * 65536 + USEC_PER_SEC / 2) / USEC_PER_SEC);
}

int64_t vg_rtcp_rtt_us(const vg_rtcp_report_block_t *rb, uint32_t arrival_mid) {
  /* RFC 3550 §6.4.1: "If no SR has been received yet, the field is set to zero." */
  if (rb->lsr == 0) return VG_ENOTFOUND;
  uint32_t rtt = arrival_mid - rb->lsr - rb->dlsr; /* modulo 2^32, 1/65536 s */
  if (rtt & 0x80000000u) return 0;                  /* negative: clock skew */
  return (int64_t)(((uint64_t)rtt * USEC_PER_SEC + 32768) / 65536);
}
