/* Fuzzes the RTCP compound iterator; every packet the builder can express
 * is rebuilt and re-parsed and must agree field by field; NACKs are
 * expanded, repacked and expanded again; RTT and NTP helpers run on the
 * parsed values. Any disagreement aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/rtcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond) {
  if (!cond) abort();
}

static int block_eq(const vg_rtcp_report_block_t *a, const vg_rtcp_report_block_t *b) {
  return a->ssrc == b->ssrc && a->fraction_lost == b->fraction_lost &&
         a->cumulative_lost == b->cumulative_lost && a->highest_seq == b->highest_seq &&
         a->jitter == b->jitter && a->lsr == b->lsr && a->dlsr == b->dlsr;
}

/* Parses `buf` as exactly one packet of `kind`. */
static void reparse(const uint8_t *buf, int n, vg_rtcp_kind_t kind, vg_rtcp_packet_t *out) {
  check(n > 0);
  vg_rtcp_iter_t it;
  vg_rtcp_iter_init(&it, buf, (size_t)n);
  check(vg_rtcp_next(&it, out, NULL) == n);
  check(out->kind == kind);
  vg_rtcp_packet_t end;
  check(vg_rtcp_next(&it, &end, NULL) == 0);
}

static int cmp_u16(const void *a, const void *b) {
  return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static size_t sort_unique(uint16_t *v, size_t n) {
  qsort(v, n, sizeof v[0], cmp_u16);
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (k == 0 || v[k - 1] != v[i]) v[k++] = v[i];
  return k;
}

static void fuzz_nack(const vg_rtcp_fb_t *fb, uint8_t *buf, size_t cap) {
  size_t count = vg_rtcp_nack_count(fb);
  check(count >= fb->fci_len / 4 && count <= 17 * (fb->fci_len / 4));
  uint16_t *lost = malloc(count * sizeof *lost), *again = malloc(count * sizeof *again);
  check(lost && again);
  check(vg_rtcp_nack_expand(fb, lost, count) == (int)count);
  if (count > 0) check(vg_rtcp_nack_expand(fb, lost, count - 1) == VG_ENOSPC);

  vg_rtcp_builder_t b;
  vg_rtcp_builder_init(&b, buf, cap);
  vg_rtcp_add_nack(&b, fb->sender_ssrc, fb->media_ssrc, lost, count);
  vg_rtcp_packet_t q;
  reparse(buf, vg_rtcp_finish(&b), VG_RTCP_NACK, &q);
  check(q.fb.sender_ssrc == fb->sender_ssrc && q.fb.media_ssrc == fb->media_ssrc);
  /* Repacking never needs more pairs, and names the same set. */
  check(q.fb.fci_len <= fb->fci_len);
  size_t count2 = vg_rtcp_nack_count(&q.fb);
  check(count2 <= count);
  check(vg_rtcp_nack_expand(&q.fb, again, count) == (int)count2);
  size_t u1 = sort_unique(lost, count), u2 = sort_unique(again, count2);
  check(u1 == u2 && memcmp(lost, again, u1 * sizeof *lost) == 0);
  free(lost);
  free(again);
}

static void fuzz_packet(const vg_rtcp_packet_t *p, uint8_t *buf, size_t cap) {
  vg_rtcp_builder_t b;
  vg_rtcp_packet_t q;
  vg_rtcp_builder_init(&b, buf, cap);
  switch (p->kind) {
  case VG_RTCP_SR:
    vg_rtcp_add_sr(&b, p->sr.ssrc, &p->sr.info, p->sr.blocks, p->sr.block_count);
    reparse(buf, vg_rtcp_finish(&b), VG_RTCP_SR, &q);
    check(q.sr.ssrc == p->sr.ssrc && q.sr.info.ntp == p->sr.info.ntp &&
          q.sr.info.rtp_ts == p->sr.info.rtp_ts &&
          q.sr.info.packet_count == p->sr.info.packet_count &&
          q.sr.info.octet_count == p->sr.info.octet_count && q.sr.block_count == p->sr.block_count);
    for (unsigned i = 0; i < p->sr.block_count; i++) {
      check(block_eq(&q.sr.blocks[i], &p->sr.blocks[i]));
      /* RTT arithmetic on arbitrary values: never negative except "none". */
      int64_t rtt = vg_rtcp_rtt_us(&p->sr.blocks[i], vg_rtcp_ntp_mid(p->sr.info.ntp));
      check(rtt >= 0 || (rtt == VG_ENOTFOUND && p->sr.blocks[i].lsr == 0));
    }
    break;
  case VG_RTCP_RR:
    vg_rtcp_add_rr(&b, p->rr.ssrc, p->rr.blocks, p->rr.block_count);
    reparse(buf, vg_rtcp_finish(&b), VG_RTCP_RR, &q);
    check(q.rr.ssrc == p->rr.ssrc && q.rr.block_count == p->rr.block_count);
    for (unsigned i = 0; i < p->rr.block_count; i++)
      check(block_eq(&q.rr.blocks[i], &p->rr.blocks[i]));
    break;
  case VG_RTCP_SDES:
    for (unsigned i = 0; i < p->sdes.chunk_count; i++) {
      const vg_rtcp_sdes_chunk_t *c = &p->sdes.chunks[i];
      check(c->cname != NULL || c->cname_len == 0);
      if (c->cname_len == 0) continue;
      vg_rtcp_builder_init(&b, buf, cap);
      vg_rtcp_add_sdes_cname(&b, c->ssrc, (const char *)c->cname, c->cname_len);
      reparse(buf, vg_rtcp_finish(&b), VG_RTCP_SDES, &q);
      check(q.sdes.chunk_count == 1 && q.sdes.chunks[0].ssrc == c->ssrc &&
            q.sdes.chunks[0].cname_len == c->cname_len &&
            memcmp(q.sdes.chunks[0].cname, c->cname, c->cname_len) == 0);
    }
    break;
  case VG_RTCP_BYE:
    if (p->bye.ssrc_count == 0) break;
    vg_rtcp_add_bye(&b, p->bye.ssrcs, p->bye.ssrc_count, (const char *)p->bye.reason,
                    p->bye.reason_len);
    reparse(buf, vg_rtcp_finish(&b), VG_RTCP_BYE, &q);
    check(q.bye.ssrc_count == p->bye.ssrc_count &&
          memcmp(q.bye.ssrcs, p->bye.ssrcs, p->bye.ssrc_count * sizeof(uint32_t)) == 0);
    check(q.bye.reason_len == p->bye.reason_len &&
          (p->bye.reason_len == 0 || memcmp(q.bye.reason, p->bye.reason, p->bye.reason_len) == 0));
    break;
  case VG_RTCP_NACK:
    fuzz_nack(&p->fb, buf, cap);
    break;
  case VG_RTCP_PLI:
    vg_rtcp_add_pli(&b, p->fb.sender_ssrc, p->fb.media_ssrc);
    reparse(buf, vg_rtcp_finish(&b), VG_RTCP_PLI, &q);
    check(q.fb.sender_ssrc == p->fb.sender_ssrc && q.fb.media_ssrc == p->fb.media_ssrc);
    break;
  case VG_RTCP_FB:
    check(p->fb.fci + p->fb.fci_len <= p->raw + p->raw_len);
    break;
  case VG_RTCP_OTHER:
    break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* A rebuilt packet is at most its parsed size plus padding slack; a NACK
   * repack is no larger. */
  size_t cap = size + 64;
  uint8_t *buf = malloc(cap);
  check(buf != NULL);
  (void)vg_rtcp_is_rtcp(data, size);

  vg_rtcp_iter_t it;
  vg_rtcp_packet_t pkt;
  const char *why = NULL;
  size_t total = 0;
  int rc;
  vg_rtcp_iter_init(&it, data, size);
  while ((rc = vg_rtcp_next(&it, &pkt, &why)) > 0) {
    check(pkt.raw == data + total && pkt.raw_len == (size_t)rc && rc % 4 == 0);
    total += (size_t)rc;
    fuzz_packet(&pkt, buf, cap);
  }
  if (rc == 0) {
    check(total == size);
  } else {
    check(why != NULL);
    check(vg_rtcp_next(&it, &pkt, NULL) == rc); /* stays failed */
  }

  /* The NTP helpers on input-derived times. */
  if (size >= 16) {
    int64_t now = 0, off = 0;
    memcpy(&now, data, 8);
    memcpy(&off, data + 8, 8);
    now >>= 2; /* keep now + off from overflowing */
    off >>= 2;
    uint64_t ntp = vg_rtcp_ntp_from_time(now, off);
    (void)vg_rtcp_ntp_mid(ntp);
    (void)vg_rtcp_dlsr_from_time(now);
  }
  free(buf);
  return 0;
}
