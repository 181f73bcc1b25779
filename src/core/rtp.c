/* RTP packets (RFC 3550 §5), header extensions (RFC 8285), unwrapping and
 * receiver statistics (RFC 3550 Appendix A). The wire format is drawn in
 * rtp.h. */
#include "core/rtp.h"

#include <string.h>

#include "base/bytes.h"

static int fail(const char **why, const char *reason) {
  if (why) *why = reason;
  return VG_EPROTO;
}

int vg_rtp_parse(vg_rtp_packet_t *p, const uint8_t *buf, size_t len, const char **why) {
  vg_reader_t r = vg_reader(buf, len);
  vg_rtp_header_t *h = &p->hdr;
  if (len < VG_RTP_HEADER_LEN) return fail(why, "shorter than the 12-byte RTP header");
  uint8_t b0 = vg_read_u8(&r);
  uint8_t b1 = vg_read_u8(&r);
  if ((b0 >> 6) != VG_RTP_VERSION) return fail(why, "RTP version is not 2");
  bool padded = (b0 & 0x20) != 0;
  h->has_ext = (b0 & 0x10) != 0;
  h->csrc_count = b0 & 0x0F;
  h->marker = (b1 & 0x80) != 0;
  h->payload_type = b1 & 0x7F;
  h->seq = vg_read_u16(&r);
  h->timestamp = vg_read_u32(&r);
  h->ssrc = vg_read_u32(&r);
  for (unsigned i = 0; i < h->csrc_count; i++) h->csrc[i] = vg_read_u32(&r);
  if (r.err) return fail(why, "CSRC list overruns the packet");

  h->ext_profile = 0;
  h->ext = NULL;
  h->ext_len = 0;
  if (h->has_ext) {
    /* RFC 3550 §5.3.1: profile-defined 16 bits, then the length in words. */
    h->ext_profile = vg_read_u16(&r);
    size_t words = vg_read_u16(&r);
    if (r.err) return fail(why, "extension header overruns the packet");
    h->ext = vg_read_bytes(&r, words * 4);
    if (r.err) return fail(why, "extension overruns the packet");
    h->ext_len = words * 4;
  }
  p->header_len = r.pos;

  /* RFC 3550 §5.1: the last octet of the padding counts the padding octets,
   * itself included. */
  size_t pad = 0;
  if (padded) {
    pad = buf[len - 1];
    if (pad == 0) return fail(why, "RTP padding count is 0");
    if (pad > len - p->header_len) return fail(why, "RTP padding longer than the payload");
  }
  h->padding_len = (uint8_t)pad;
  p->payload = buf + p->header_len;
  p->payload_len = len - p->header_len - pad;
  return (int)len;
}

int vg_rtp_write(const vg_rtp_header_t *h, const uint8_t *payload, size_t payload_len,
                 uint8_t *out, size_t cap) {
  if (h->payload_type > 0x7F || h->csrc_count > VG_RTP_MAX_CSRC) return VG_EINVAL;
  if (h->has_ext && (h->ext_len % 4 != 0 || h->ext_len > VG_RTP_EXT_MAX_LEN ||
                     (h->ext_len > 0 && !h->ext)))
    return VG_EINVAL;
  if (payload_len > 0 && !payload) return VG_EINVAL;
  vg_writer_t w = vg_writer(out, cap);
  uint8_t b0 = (uint8_t)(VG_RTP_VERSION << 6) | h->csrc_count;
  if (h->padding_len > 0) b0 |= 0x20;
  if (h->has_ext) b0 |= 0x10;
  vg_write_u8(&w, b0);
  vg_write_u8(&w, (uint8_t)((h->marker ? 0x80 : 0) | h->payload_type));
  vg_write_u16(&w, h->seq);
  vg_write_u32(&w, h->timestamp);
  vg_write_u32(&w, h->ssrc);
  for (unsigned i = 0; i < h->csrc_count; i++) vg_write_u32(&w, h->csrc[i]);
  if (h->has_ext) {
    vg_write_u16(&w, h->ext_profile);
    vg_write_u16(&w, (uint16_t)(h->ext_len / 4));
    vg_write_bytes(&w, h->ext, h->ext_len);
  }
  vg_write_bytes(&w, payload, payload_len);
  if (h->padding_len > 0) {
    vg_write_zeros(&w, h->padding_len - 1u);
    vg_write_u8(&w, h->padding_len);
  }
  if (w.err) return VG_ENOSPC;
  return (int)w.pos;
}

/* ---- Header extension elements ----
 *
 * RFC 8285 §4.2, one-byte form (profile 0xBEDE): ID 1..14, L = length - 1.
 *  0                   1                   2                   3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  ID   |  L=0  |     data      |  ID   |  L=1  |   data...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * RFC 8285 §4.3, two-byte form (profile 0x100 + appbits): ID 1..255,
 * length 0..255.
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |       ID      |     length    |     data ...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * In both forms a zero octet between or after elements is padding. */

/* RFC 8285 §4.2: "The local identifier value 15 is reserved ... processing
 * of the entire extension should terminate at that point". */
#define ONE_BYTE_STOP_ID 15

int vg_rtp_ext_iter_init(vg_rtp_ext_iter_t *it, const vg_rtp_header_t *h) {
  memset(it, 0, sizeof *it);
  it->done = true;
  if (!h->has_ext) return VG_EUNSUPPORTED;
  if (h->ext_profile == VG_RTP_EXT_PROFILE_ONE_BYTE) {
    it->two_byte = false;
  } else if ((h->ext_profile & VG_RTP_EXT_PROFILE_TWO_BYTE_MASK) == VG_RTP_EXT_PROFILE_TWO_BYTE) {
    it->two_byte = true;
  } else {
    return VG_EUNSUPPORTED;
  }
  it->p = h->ext;
  it->len = h->ext_len;
  it->done = false;
  return 0;
}

int vg_rtp_ext_next(vg_rtp_ext_iter_t *it, uint8_t *id, const uint8_t **data, size_t *len) {
  while (!it->done && it->pos < it->len) {
    uint8_t b = it->p[it->pos];
    if (b == 0) { /* padding */
      it->pos++;
      continue;
    }
    size_t hdr, n;
    uint8_t elem_id;
    if (!it->two_byte) {
      elem_id = b >> 4;
      if (elem_id == 0) { /* id 0 is padding whatever L says (RFC 8285 §4.2) */
        it->pos++;
        continue;
      }
      if (elem_id == ONE_BYTE_STOP_ID) break;
      hdr = 1;
      n = (size_t)(b & 0x0F) + 1;
    } else {
      if (it->len - it->pos < 2) {
        it->done = true;
        it->why = "two-byte extension element header overruns the block";
        return VG_EPROTO;
      }
      elem_id = b;
      hdr = 2;
      n = it->p[it->pos + 1];
    }
    if (it->len - it->pos - hdr < n) {
      it->done = true;
      it->why = "extension element overruns the block";
      return VG_EPROTO;
    }
    *id = elem_id;
    *data = it->p + it->pos + hdr;
    *len = n;
    it->pos += hdr + n;
    return 1;
  }
  it->done = true;
  return 0;
}

int vg_rtp_ext_find(const vg_rtp_header_t *h, uint8_t id, const uint8_t **data) {
  vg_rtp_ext_iter_t it;
  if (vg_rtp_ext_iter_init(&it, h) < 0) return VG_ENOTFOUND;
  uint8_t eid;
  const uint8_t *d;
  size_t n;
  int rc;
  while ((rc = vg_rtp_ext_next(&it, &eid, &d, &n)) > 0) {
    if (eid == id) {
      *data = d;
      return (int)n;
    }
  }
  return rc < 0 ? rc : VG_ENOTFOUND;
}

int vg_rtp_ext_write(const vg_rtp_ext_elem_t *elems, size_t n, uint16_t *profile, uint8_t *out,
                     size_t cap) {
  bool one_byte = true;
  for (size_t i = 0; i < n; i++) {
    const vg_rtp_ext_elem_t *e = &elems[i];
    if (e->id == 0 || e->len > VG_RTP_EXT_TWO_BYTE_MAX_LEN || (e->len > 0 && !e->data))
      return VG_EINVAL;
    if (e->id > VG_RTP_EXT_ONE_BYTE_MAX_ID || e->len == 0 || e->len > VG_RTP_EXT_ONE_BYTE_MAX_LEN)
      one_byte = false;
  }
  vg_writer_t w = vg_writer(out, cap);
  for (size_t i = 0; i < n; i++) {
    const vg_rtp_ext_elem_t *e = &elems[i];
    if (one_byte) {
      vg_write_u8(&w, (uint8_t)((e->id << 4) | (e->len - 1)));
    } else {
      vg_write_u8(&w, e->id);
      vg_write_u8(&w, (uint8_t)e->len);
    }
    vg_write_bytes(&w, e->data, e->len);
  }
  vg_write_zeros(&w, (4 - (w.pos & 3)) & 3);
  if (w.err) return VG_ENOSPC;
  if (w.pos > VG_RTP_EXT_MAX_LEN) return VG_EINVAL;
  *profile = one_byte ? VG_RTP_EXT_PROFILE_ONE_BYTE : VG_RTP_EXT_PROFILE_TWO_BYTE;
  return (int)w.pos;
}

/* ---- Unwrapping ---- */

/* Maps `v` (modulo 2^bits) to the extended value nearest u->highest. A
 * distance of exactly half the range counts as backwards. */
static int64_t unwrap(vg_rtp_unwrapper_t *u, uint64_t v, unsigned bits) {
  const uint64_t mod = (uint64_t)1 << bits;
  if (!u->started) {
    u->started = true;
    u->highest = (int64_t)v;
    return (int64_t)v;
  }
  uint64_t d = (v - (uint64_t)u->highest) & (mod - 1);
  int64_t delta = d >= mod / 2 ? (int64_t)d - (int64_t)mod : (int64_t)d;
  int64_t ext = u->highest + delta;
  if (ext > u->highest) u->highest = ext;
  return ext;
}

int64_t vg_rtp_seq_unwrap(vg_rtp_unwrapper_t *u, uint16_t seq) { return unwrap(u, seq, 16); }
int64_t vg_rtp_ts_unwrap(vg_rtp_unwrapper_t *u, uint32_t ts) { return unwrap(u, ts, 32); }

/* ---- Receiver statistics (RFC 3550 Appendix A) ---- */

#define RTP_SEQ_MOD (1u << 16)

void vg_rtp_recv_stats_init(vg_rtp_recv_stats_t *st, uint32_t ssrc) {
  memset(st, 0, sizeof *st);
  st->ssrc = ssrc;
}

/* RFC 3550 A.1 init_seq(). */
static void init_seq(vg_rtp_recv_stats_t *s, uint16_t seq) {
  s->base_seq = seq;
  s->max_seq = seq;
  s->bad_seq = RTP_SEQ_MOD + 1; /* so seq == bad_seq is false */
  s->cycles = 0;
  s->received = 0;
  s->received_prior = 0;
  s->expected_prior = 0;
}

/* RFC 3550 A.1 update_seq(): 1 when the packet is valid. */
static int update_seq(vg_rtp_recv_stats_t *s, uint16_t seq) {
  uint16_t udelta = (uint16_t)(seq - s->max_seq);
  if (s->probation) {
    /* Packets must be in sequence to leave probation. */
    if (seq == (uint16_t)(s->max_seq + 1)) {
      s->probation--;
      s->max_seq = seq;
      if (s->probation == 0) {
        init_seq(s, seq);
        s->received++;
        return 1;
      }
    } else {
      s->probation = VG_RTP_MIN_SEQUENTIAL - 1;
      s->max_seq = seq;
    }
    return 0;
  } else if (udelta < VG_RTP_MAX_DROPOUT) {
    /* In order, with a permissible gap. */
    if (seq < s->max_seq) s->cycles += RTP_SEQ_MOD; /* wrapped */
    s->max_seq = seq;
  } else if (udelta <= RTP_SEQ_MOD - VG_RTP_MAX_MISORDER) {
    /* A very large jump: restart only if the next packet confirms it. */
    if (seq == s->bad_seq) {
      init_seq(s, seq);
    } else {
      s->bad_seq = (seq + 1) & (RTP_SEQ_MOD - 1);
      return 0;
    }
  } else {
    /* Duplicate or reordered packet. */
  }
  s->received++;
  return 1;
}

/* `now` in RTP timestamp units (modulo 2^32), without overflowing. */
static uint32_t rtp_units(vg_time_t now, uint32_t clock_rate) {
  uint64_t us = now < 0 ? 0 : (uint64_t)now;
  uint64_t sec = us / 1000000, rem = us % 1000000;
  return (uint32_t)(sec * clock_rate + rem * clock_rate / 1000000);
}

/* RFC 3550 A.8: J += (|D| - J) / 16, kept scaled by 16 in integers. */
static void update_jitter(vg_rtp_recv_stats_t *s, vg_time_t now, uint32_t ts,
                          uint32_t clock_rate) {
  uint32_t transit = rtp_units(now, clock_rate) - ts;
  if (s->have_transit) {
    int64_t d = (int32_t)(transit - s->transit);
    if (d < 0) d = -d;
    int64_t j = (int64_t)s->jitter_q4 + d - (((int64_t)s->jitter_q4 + 8) >> 4);
    s->jitter_q4 = j < 0 ? 0 : j > UINT32_MAX ? UINT32_MAX : (uint32_t)j;
  }
  s->transit = transit;
  s->have_transit = true;
}

int vg_rtp_recv_stats_update(vg_rtp_recv_stats_t *st, vg_time_t now, const vg_rtp_packet_t *p,
                             uint32_t clock_rate) {
  if (p->hdr.ssrc != st->ssrc) return 0;
  uint16_t seq = p->hdr.seq;
  if (!st->started) {
    /* RFC 3550 A.1: a new source starts on probation. */
    st->started = true;
    init_seq(st, seq);
    st->max_seq = (uint16_t)(seq - 1);
    st->probation = VG_RTP_MIN_SEQUENTIAL;
  }
  if (!update_seq(st, seq)) return 0;
  if (clock_rate > 0) update_jitter(st, now, p->hdr.timestamp, clock_rate);
  return 1;
}

void vg_rtp_recv_stats_on_sr(vg_rtp_recv_stats_t *st, vg_time_t now, uint64_t ntp) {
  st->have_sr = true;
  st->last_sr_mid = vg_rtcp_ntp_mid(ntp);
  st->last_sr_at = now;
}

uint32_t vg_rtp_recv_stats_ext_max(const vg_rtp_recv_stats_t *st) {
  return st->cycles + st->max_seq;
}

/* RFC 3550 A.3: expected = extended max - base + 1. */
static uint32_t expected(const vg_rtp_recv_stats_t *st) {
  return vg_rtp_recv_stats_ext_max(st) - st->base_seq + 1;
}

int32_t vg_rtp_recv_stats_lost(const vg_rtp_recv_stats_t *st) {
  int64_t lost = (int64_t)expected(st) - (int64_t)st->received;
  /* RFC 3550 A.3: clamp to the signed 24-bit field. */
  if (lost > 0x7FFFFF) lost = 0x7FFFFF;
  if (lost < -0x800000) lost = -0x800000;
  return (int32_t)lost;
}

int vg_rtp_recv_stats_report(vg_rtp_recv_stats_t *st, vg_time_t now, vg_rtcp_report_block_t *rb) {
  if (!st->started || st->probation > 0) return VG_ESTATE;
  uint32_t exp = expected(st);
  /* RFC 3550 A.3: fraction lost over the interval since the last report. */
  uint32_t expected_interval = exp - st->expected_prior;
  uint32_t received_interval = st->received - st->received_prior;
  st->expected_prior = exp;
  st->received_prior = st->received;
  int64_t lost_interval = (int64_t)expected_interval - (int64_t)received_interval;
  uint8_t fraction = 0;
  if (expected_interval != 0 && lost_interval > 0) {
    int64_t f = (lost_interval << 8) / expected_interval;
    fraction = (uint8_t)(f > 255 ? 255 : f); /* all lost would be 256 */
  }

  rb->ssrc = st->ssrc;
  rb->fraction_lost = fraction;
  rb->cumulative_lost = vg_rtp_recv_stats_lost(st);
  rb->highest_seq = vg_rtp_recv_stats_ext_max(st);
  rb->jitter = st->jitter_q4 >> 4;
  /* RFC 3550 §6.4.1: LSR and DLSR are 0 until an SR has been received. */
  rb->lsr = st->have_sr ? st->last_sr_mid : 0;
  rb->dlsr = st->have_sr ? vg_rtcp_dlsr_from_time(now - st->last_sr_at) : 0;
  return 0;
}
