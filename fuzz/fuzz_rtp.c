/* Fuzzes the RTP parser, header-extension iteration, the writer (parse ->
 * write -> parse must agree), and unwrapping / receiver statistics driven
 * by the input bytes. Any disagreement aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond) {
  if (!cond) abort();
}

static int same_header(const vg_rtp_header_t *a, const vg_rtp_header_t *b) {
  if (a->marker != b->marker || a->payload_type != b->payload_type || a->seq != b->seq ||
      a->timestamp != b->timestamp || a->ssrc != b->ssrc || a->csrc_count != b->csrc_count ||
      a->has_ext != b->has_ext || a->ext_profile != b->ext_profile || a->ext_len != b->ext_len ||
      a->padding_len != b->padding_len)
    return 0;
  if (a->csrc_count && memcmp(a->csrc, b->csrc, a->csrc_count * sizeof a->csrc[0]) != 0) return 0;
  return a->ext_len == 0 || memcmp(a->ext, b->ext, a->ext_len) == 0;
}

/* Collects the elements; returns the count or -1 on a malformed block. */
static int collect(const vg_rtp_header_t *h, vg_rtp_ext_elem_t *elems, size_t max) {
  vg_rtp_ext_iter_t it;
  if (vg_rtp_ext_iter_init(&it, h) < 0) return -1;
  int n = 0, rc;
  uint8_t id;
  const uint8_t *d;
  size_t len;
  while ((rc = vg_rtp_ext_next(&it, &id, &d, &len)) > 0) {
    check((size_t)n < max);
    check(id != 0);
    check(d >= h->ext && d + len <= h->ext + h->ext_len);
    elems[n].id = id;
    elems[n].data = d;
    elems[n].len = len;
    n++;
  }
  check(vg_rtp_ext_next(&it, &id, &d, &len) == 0); /* stays at the end */
  return rc < 0 ? -1 : n;
}

static void fuzz_extensions(const vg_rtp_header_t *h) {
  /* Every element takes at least one octet of the block. */
  size_t max = h->ext_len + 1;
  vg_rtp_ext_elem_t *elems = calloc(max, sizeof *elems), *again = calloc(max, sizeof *again);
  check(elems && again);
  int n = collect(h, elems, max);
  if (n < 0) {
    free(elems);
    free(again);
    return;
  }
  /* find() returns the first element with each id. */
  for (int i = 0; i < n; i++) {
    const uint8_t *d = NULL;
    int len = vg_rtp_ext_find(h, elems[i].id, &d);
    check(len >= 0);
    int first = 0;
    while (elems[first].id != elems[i].id) first++;
    check(d == elems[first].data && (size_t)len == elems[first].len);
  }
  /* Writing the elements and iterating the result gives them back. */
  /* The rewrite never needs more room than the original block. */
  const size_t cap = h->ext_len + 4;
  uint8_t *block = malloc(cap);
  check(block != NULL);
  uint16_t profile = 0;
  int blen = vg_rtp_ext_write(elems, (size_t)n, &profile, block, cap);
  check(blen >= 0 && blen % 4 == 0);
  vg_rtp_header_t h2 = {.has_ext = true, .ext_profile = profile, .ext = block,
                        .ext_len = (size_t)blen};
  check(collect(&h2, again, max) == n);
  for (int i = 0; i < n; i++) {
    check(again[i].id == elems[i].id && again[i].len == elems[i].len);
    check(again[i].len == 0 || memcmp(again[i].data, elems[i].data, again[i].len) == 0);
  }
  free(block);
  free(elems);
  free(again);
}

/* Treats the input as 5-byte records (seq, ts high byte, delay) and checks
 * unwrapping and the A.1 sequence state stay consistent. */
static void fuzz_stats(const uint8_t *data, size_t size) {
  vg_rtp_unwrapper_t us = {0}, ut = {0};
  vg_rtp_recv_stats_t st;
  vg_rtp_recv_stats_init(&st, 1);
  vg_time_t now = 0;
  int64_t highest = INT64_MIN;
  for (size_t i = 0; i + 5 <= size; i += 5) {
    vg_rtp_packet_t p;
    memset(&p, 0, sizeof p);
    p.hdr.ssrc = 1;
    p.hdr.seq = (uint16_t)((data[i] << 8) | data[i + 1]);
    p.hdr.timestamp = ((uint32_t)data[i + 2] << 24) | ((uint32_t)data[i + 3] << 8);
    now += (vg_time_t)data[i + 4] * 1000;
    int64_t e = vg_rtp_seq_unwrap(&us, p.hdr.seq);
    check((uint16_t)e == p.hdr.seq);
    if (highest != INT64_MIN) check(e - highest <= 32767 && highest - e <= 32768);
    if (e > highest) highest = e;
    int64_t t = vg_rtp_ts_unwrap(&ut, p.hdr.timestamp);
    check((uint32_t)t == p.hdr.timestamp);
    int valid = vg_rtp_recv_stats_update(&st, now, &p, 48000);
    check(valid == 0 || valid == 1);
    check((uint16_t)vg_rtp_recv_stats_ext_max(&st) == st.max_seq);
    if ((data[i + 4] & 0x0F) == 0) {
      if ((data[i + 4] & 0x10) != 0) vg_rtp_recv_stats_on_sr(&st, now, (uint64_t)e << 20);
      vg_rtcp_report_block_t rb;
      if (vg_rtp_recv_stats_report(&st, now, &rb) == 0) {
        check(rb.cumulative_lost >= -0x800000 && rb.cumulative_lost <= 0x7FFFFF);
        check(rb.highest_seq == vg_rtp_recv_stats_ext_max(&st));
        if (!st.have_sr) check(rb.lsr == 0 && rb.dlsr == 0);
      }
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  vg_rtp_packet_t p;
  const char *why = NULL;
  int rc = vg_rtp_parse(&p, data, size, &why);
  if (rc < 0) {
    check(why != NULL);
  } else {
    check((size_t)rc == size);
    check(p.header_len + p.payload_len + p.hdr.padding_len == size);
    check(p.payload == data + p.header_len);

    /* Write it back: identical except the padding octets before the count. */
    uint8_t *out = malloc(size);
    check(out != NULL);
    int n = vg_rtp_write(&p.hdr, p.payload, p.payload_len, out, size);
    check(n == (int)size);
    size_t body = size - p.hdr.padding_len;
    check(memcmp(out, data, body) == 0);
    check(p.hdr.padding_len == 0 || out[size - 1] == data[size - 1]);
    if (size > 0) check(vg_rtp_write(&p.hdr, p.payload, p.payload_len, out, size - 1) == VG_ENOSPC);

    vg_rtp_packet_t q;
    check(vg_rtp_parse(&q, out, size, NULL) == (int)size);
    check(same_header(&p.hdr, &q.hdr));
    check(q.payload_len == p.payload_len &&
          memcmp(q.payload, p.payload, p.payload_len) == 0);
    free(out);

    fuzz_extensions(&p.hdr);
  }
  fuzz_stats(data, size);
  return 0;
}
