/* RTP: hand-written packets (RFC 3550 §5.1, RFC 8285 §4.2/§4.3), build
 * round trips, malformed input, unwrapping, receiver statistics. */
#include "core/rtp.h"

#include "vgtest.h"

/* Opus with two CSRCs, a one-byte header extension and padding. */
static const uint8_t pkt_full[] = {
    0xB2,                   /* V=2 P=1 X=1 CC=2 */
    0xEF,                   /* M=1 PT=111 */
    0x12, 0x34,             /* sequence number 4660 */
    0x00, 0x00, 0xBB, 0x80, /* timestamp 48000 */
    0xDE, 0xAD, 0xBE, 0xEF, /* SSRC */
    0x00, 0x00, 0x00, 0x01, /* CSRC 1 */
    0x00, 0x00, 0x00, 0x02, /* CSRC 2 */
    0xBE, 0xDE, 0x00, 0x02, /* one-byte extension form, 2 words follow */
    0x10, 0x85,             /* ID=1 L=0: 1 byte (audio level: V=1, -5 dBov) */
    0x22, 0x01, 0x02, 0x03, /* ID=2 L=2: 3 bytes */
    0x00, 0x00,             /* padding to the 32-bit boundary */
    0xF8, 0xFF, 0xFE,       /* payload: an Opus frame */
    0x00, 0x00, 0x03,       /* RTP padding: 3 octets, count in the last */
};

static void test_parse_full(void) {
  vg_rtp_packet_t p;
  const char *why = NULL;
  CHECK_EQ(vg_rtp_parse(&p, pkt_full, sizeof pkt_full, &why), sizeof pkt_full);
  CHECK(p.hdr.marker);
  CHECK_EQ(p.hdr.payload_type, 111);
  CHECK_EQ(p.hdr.seq, 4660);
  CHECK_EQ(p.hdr.timestamp, 48000);
  CHECK_EQ(p.hdr.ssrc, 0xDEADBEEF);
  CHECK_EQ(p.hdr.csrc_count, 2);
  CHECK_EQ(p.hdr.csrc[0], 1);
  CHECK_EQ(p.hdr.csrc[1], 2);
  CHECK(p.hdr.has_ext);
  CHECK_EQ(p.hdr.ext_profile, 0xBEDE);
  CHECK(p.hdr.ext == pkt_full + 24);
  CHECK_EQ(p.hdr.ext_len, 8);
  CHECK_EQ(p.hdr.padding_len, 3);
  CHECK_EQ(p.header_len, 32);
  CHECK(p.payload == pkt_full + 32);
  CHECK_EQ(p.payload_len, 3);
  CHECK_EQ(p.payload[0], 0xF8);

  vg_rtp_ext_iter_t it;
  uint8_t id;
  const uint8_t *d;
  size_t n;
  CHECK_EQ(vg_rtp_ext_iter_init(&it, &p.hdr), 0);
  CHECK(!it.two_byte);
  CHECK_EQ(vg_rtp_ext_next(&it, &id, &d, &n), 1);
  CHECK_EQ(id, 1);
  CHECK_EQ(n, 1);
  CHECK_EQ(d[0], 0x85);
  CHECK_EQ(vg_rtp_ext_next(&it, &id, &d, &n), 1);
  CHECK_EQ(id, 2);
  CHECK_EQ(n, 3);
  CHECK_MEM(d, "\x01\x02\x03", 3);
  CHECK_EQ(vg_rtp_ext_next(&it, &id, &d, &n), 0);
  CHECK_EQ(vg_rtp_ext_next(&it, &id, &d, &n), 0);

  CHECK_EQ(vg_rtp_ext_find(&p.hdr, 2, &d), 3);
  CHECK(d == pkt_full + 27);
  CHECK_EQ(vg_rtp_ext_find(&p.hdr, 3, &d), VG_ENOTFOUND);

  /* Writing the parsed header back reproduces the packet exactly. */
  uint8_t out[64];
  CHECK_EQ(vg_rtp_write(&p.hdr, p.payload, p.payload_len, out, sizeof out), sizeof pkt_full);
  CHECK_MEM(out, pkt_full, sizeof pkt_full);
  CHECK_EQ(vg_rtp_write(&p.hdr, p.payload, p.payload_len, out, sizeof pkt_full - 1), VG_ENOSPC);
}

/* RFC 8285 §4.3: the two-byte form, with an empty element. */
static const uint8_t pkt_two_byte[] = {
    0x90,                   /* V=2 P=0 X=1 CC=0 */
    0x60,                   /* M=0 PT=96 */
    0x00, 0x01,             /* sequence number 1 */
    0x00, 0x00, 0x00, 0x00, /* timestamp 0 */
    0x00, 0x00, 0x00, 0x2A, /* SSRC 42 */
    0x10, 0x07, 0x00, 0x02, /* two-byte form, appbits 7; 2 words follow */
    0x01, 0x00,             /* ID=1 length 0 */
    0x00,                   /* padding between elements */
    0x14, 0x02, 0xAB, 0xCD, /* ID=20 length 2 */
    0x00,                   /* padding to the 32-bit boundary */
    0x01, 0x02,             /* payload */
};

static void test_parse_two_byte(void) {
  vg_rtp_packet_t p;
  CHECK_EQ(vg_rtp_parse(&p, pkt_two_byte, sizeof pkt_two_byte, NULL), sizeof pkt_two_byte);
  CHECK(!p.hdr.marker);
  CHECK_EQ(p.hdr.payload_type, 96);
  CHECK_EQ(p.hdr.ssrc, 42);
  CHECK_EQ(p.hdr.ext_profile, 0x1007);
  CHECK_EQ(p.hdr.padding_len, 0);
  CHECK_EQ(p.payload_len, 2);

  vg_rtp_ext_iter_t it;
  uint8_t id;
  const uint8_t *d;
  size_t n;
  CHECK_EQ(vg_rtp_ext_iter_init(&it, &p.hdr), 0);
  CHECK(it.two_byte);
  CHECK_EQ(vg_rtp_ext_next(&it, &id, &d, &n), 1);
  CHECK_EQ(id, 1);
  CHECK_EQ(n, 0);
  CHECK_EQ(vg_rtp_ext_next(&it, &id, &d, &n), 1);
  CHECK_EQ(id, 20);
  CHECK_EQ(n, 2);
  CHECK_MEM(d, "\xAB\xCD", 2);
  CHECK_EQ(vg_rtp_ext_next(&it, &id, &d, &n), 0);
  CHECK_EQ(vg_rtp_ext_find(&p.hdr, 1, &d), 0); /* present, empty */
}

static void test_ext_stop_and_overrun(void) {
  /* One-byte form: ID 15 ends processing, whatever follows. */
  const uint8_t stop[] = {0x10, 0xAA, 0xF0, 0x20, 0x00, 0x00, 0x00, 0x00};
  vg_rtp_header_t h = {.has_ext = true, .ext_profile = 0xBEDE, .ext = stop, .ext_len = 8};
  vg_rtp_ext_iter_t it;
  uint8_t id;
  const uint8_t *d;
  size_t n;
  CHECK_EQ(vg_rtp_ext_iter_init(&it, &h), 0);
  CHECK_EQ(vg_rtp_ext_next(&it, &id, &d, &n), 1);
  CHECK_EQ(id, 1);
  CHECK_EQ(vg_rtp_ext_next(&it, &id, &d, &n), 0);
  CHECK_EQ(vg_rtp_ext_find(&h, 2, &d), VG_ENOTFOUND);

  /* One-byte element claiming 16 bytes in a 4-byte block. */
  const uint8_t over[] = {0x1F, 0x00, 0x00, 0x00};
  h.ext = over;
  h.ext_len = 4;
  CHECK_EQ(vg_rtp_ext_iter_init(&it, &h), 0);
  CHECK_EQ(vg_rtp_ext_next(&it, &id, &d, &n), VG_EPROTO);
  CHECK_STR(it.why, "extension element overruns the block");
  CHECK_EQ(vg_rtp_ext_next(&it, &id, &d, &n), 0);
  CHECK_EQ(vg_rtp_ext_find(&h, 1, &d), VG_EPROTO);

  /* Two-byte element header cut by the end of the block. */
  const uint8_t cut[] = {0x00, 0x00, 0x00, 0x05};
  h.ext_profile = 0x1000;
  h.ext = cut;
  CHECK_EQ(vg_rtp_ext_iter_init(&it, &h), 0);
  CHECK_EQ(vg_rtp_ext_next(&it, &id, &d, &n), VG_EPROTO);
  CHECK_STR(it.why, "two-byte extension element header overruns the block");

  /* Neither form: not iterable. */
  h.ext_profile = 0x1234;
  CHECK_EQ(vg_rtp_ext_iter_init(&it, &h), VG_EUNSUPPORTED);
  h.has_ext = false;
  CHECK_EQ(vg_rtp_ext_iter_init(&it, &h), VG_EUNSUPPORTED);
}

static void test_malformed(void) {
  vg_rtp_packet_t p;
  const char *why = NULL;
  uint8_t m[sizeof pkt_full];

  CHECK_EQ(vg_rtp_parse(&p, pkt_full, 11, &why), VG_EPROTO);
  CHECK_STR(why, "shorter than the 12-byte RTP header");

  memcpy(m, pkt_full, sizeof m);
  m[0] = 0x72; /* V=1 */
  CHECK_EQ(vg_rtp_parse(&p, m, sizeof m, &why), VG_EPROTO);
  CHECK_STR(why, "RTP version is not 2");

  memcpy(m, pkt_full, sizeof m);
  m[sizeof m - 1] = 9; /* 9 padding octets, but only 6 bytes follow the header */
  CHECK_EQ(vg_rtp_parse(&p, m, sizeof m, &why), VG_EPROTO);
  CHECK_STR(why, "RTP padding longer than the payload");
  m[sizeof m - 1] = 6; /* exactly the rest: empty payload, still valid */
  CHECK_EQ(vg_rtp_parse(&p, m, sizeof m, &why), sizeof m);
  CHECK_EQ(p.payload_len, 0);
  m[sizeof m - 1] = 0;
  CHECK_EQ(vg_rtp_parse(&p, m, sizeof m, &why), VG_EPROTO);
  CHECK_STR(why, "RTP padding count is 0");

  memcpy(m, pkt_full, sizeof m);
  m[23] = 0x04; /* extension claims 4 words: 16 bytes, 14 remain */
  CHECK_EQ(vg_rtp_parse(&p, m, sizeof m, &why), VG_EPROTO);
  CHECK_STR(why, "extension overruns the packet");

  CHECK_EQ(vg_rtp_parse(&p, pkt_full, 22, &why), VG_EPROTO);
  CHECK_STR(why, "extension header overruns the packet");

  memcpy(m, pkt_full, sizeof m);
  m[0] = 0x8F; /* CC=15: 60 bytes of CSRCs */
  CHECK_EQ(vg_rtp_parse(&p, m, sizeof m, &why), VG_EPROTO);
  CHECK_STR(why, "CSRC list overruns the packet");

  /* P set on a header-only packet: the count octet is header. */
  const uint8_t hdr_only[] = {0xA0, 0x6F, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
  CHECK_EQ(vg_rtp_parse(&p, hdr_only, sizeof hdr_only, &why), VG_EPROTO);
}

static void test_write_with_extensions(void) {
  /* One-byte form chosen for small ids and lengths 1..16. */
  uint8_t ext[32];
  uint16_t profile = 0;
  const uint8_t level = 0x85, mid[] = {'0'};
  vg_rtp_ext_elem_t one[] = {{1, &level, 1}, {9, mid, 1}};
  int elen = vg_rtp_ext_write(one, 2, &profile, ext, sizeof ext);
  CHECK_EQ(elen, 4);
  CHECK_EQ(profile, 0xBEDE);
  CHECK_MEM(ext, "\x10\x85\x90\x30", 4);

  vg_rtp_header_t h = {.marker = false, .payload_type = 111, .seq = 65535, .timestamp = 1,
                       .ssrc = 7, .csrc_count = 1, .csrc = {0x01020304}, .has_ext = true,
                       .ext_profile = profile, .ext = ext, .ext_len = (size_t)elen,
                       .padding_len = 4};
  uint8_t out[64];
  const uint8_t payload[] = {1, 2, 3, 4, 5};
  int n = vg_rtp_write(&h, payload, sizeof payload, out, sizeof out);
  CHECK_EQ(n, 12 + 4 + 4 + 4 + 5 + 4);
  vg_rtp_packet_t p;
  CHECK_EQ(vg_rtp_parse(&p, out, (size_t)n, NULL), n);
  CHECK_EQ(p.hdr.seq, 65535);
  CHECK_EQ(p.hdr.csrc[0], 0x01020304);
  CHECK_EQ(p.hdr.padding_len, 4);
  CHECK_EQ(p.payload_len, 5);
  CHECK_MEM(p.payload, payload, 5);
  const uint8_t *d;
  CHECK_EQ(vg_rtp_ext_find(&p.hdr, 9, &d), 1);
  CHECK_EQ(d[0], '0');

  /* Two-byte form when an element is empty or an id is above 14. */
  vg_rtp_ext_elem_t two[] = {{1, NULL, 0}, {200, mid, 1}};
  elen = vg_rtp_ext_write(two, 2, &profile, ext, sizeof ext);
  CHECK_EQ(elen, 8);
  CHECK_EQ(profile, 0x1000);
  CHECK_MEM(ext, "\x01\x00\xC8\x01\x30\x00\x00\x00", 8);
  h.ext_profile = profile;
  h.ext_len = (size_t)elen;
  n = vg_rtp_write(&h, payload, sizeof payload, out, sizeof out);
  CHECK(n > 0);
  CHECK_EQ(vg_rtp_parse(&p, out, (size_t)n, NULL), n);
  CHECK_EQ(vg_rtp_ext_find(&p.hdr, 200, &d), 1);
  CHECK_EQ(vg_rtp_ext_find(&p.hdr, 1, &d), 0);

  /* Invalid: id 0, a 256-byte element, a bad header. */
  uint8_t big[256] = {0};
  vg_rtp_ext_elem_t bad0[] = {{0, mid, 1}};
  vg_rtp_ext_elem_t bad1[] = {{1, big, 256}};
  CHECK_EQ(vg_rtp_ext_write(bad0, 1, &profile, ext, sizeof ext), VG_EINVAL);
  CHECK_EQ(vg_rtp_ext_write(bad1, 1, &profile, ext, sizeof ext), VG_EINVAL);
  CHECK_EQ(vg_rtp_ext_write(one, 2, &profile, ext, 3), VG_ENOSPC);
  h.payload_type = 128;
  CHECK_EQ(vg_rtp_write(&h, payload, sizeof payload, out, sizeof out), VG_EINVAL);
  h.payload_type = 111;
  h.ext_len = 6;
  CHECK_EQ(vg_rtp_write(&h, payload, sizeof payload, out, sizeof out), VG_EINVAL);
}

static void test_seq_unwrap(void) {
  vg_rtp_unwrapper_t u = {0};
  CHECK_EQ(vg_rtp_seq_unwrap(&u, 65533), 65533);
  CHECK_EQ(vg_rtp_seq_unwrap(&u, 65534), 65534);
  CHECK_EQ(vg_rtp_seq_unwrap(&u, 0), 65536);     /* 65535 late */
  CHECK_EQ(vg_rtp_seq_unwrap(&u, 65535), 65535); /* reordered across the wrap */
  CHECK_EQ(vg_rtp_seq_unwrap(&u, 1), 65537);
  CHECK_EQ(vg_rtp_seq_unwrap(&u, 65535), 65535); /* duplicate, still before the wrap */
  CHECK_EQ(vg_rtp_seq_unwrap(&u, 2), 65538);
  /* Several wraps in steps below half the range. */
  int64_t want = 65538;
  for (int i = 0; i < 10; i++) {
    want += 30000;
    CHECK_EQ(vg_rtp_seq_unwrap(&u, (uint16_t)want), want);
  }
  /* A stale packet far behind does not drag the reference backwards. */
  CHECK_EQ(vg_rtp_seq_unwrap(&u, (uint16_t)(want - 30000)), want - 30000);
  CHECK_EQ(vg_rtp_seq_unwrap(&u, (uint16_t)(want + 5000)), want + 5000);

  /* First 0, then 65535 reordered from before it: -1. */
  vg_rtp_unwrapper_t v = {0};
  CHECK_EQ(vg_rtp_seq_unwrap(&v, 0), 0);
  CHECK_EQ(vg_rtp_seq_unwrap(&v, 65535), -1);
  CHECK_EQ(vg_rtp_seq_unwrap(&v, 1), 1);
}

static void test_ts_unwrap(void) {
  vg_rtp_unwrapper_t u = {0};
  CHECK_EQ(vg_rtp_ts_unwrap(&u, 0xFFFFFC40u), 0xFFFFFC40ll);
  CHECK_EQ(vg_rtp_ts_unwrap(&u, 0x00000200u), 0x100000200ll); /* just past the wrap */
  CHECK_EQ(vg_rtp_ts_unwrap(&u, 0xFFFFFFF0u), 0xFFFFFFF0ll);  /* reordered, before it */
  CHECK_EQ(vg_rtp_ts_unwrap(&u, 0x000005C0u), 0x1000005C0ll);
}

static vg_rtp_packet_t mk(uint32_t ssrc, uint16_t seq, uint32_t ts) {
  vg_rtp_packet_t p;
  memset(&p, 0, sizeof p);
  p.hdr.ssrc = ssrc;
  p.hdr.seq = seq;
  p.hdr.timestamp = ts;
  p.hdr.payload_type = 111;
  return p;
}

/* 65530 65531 65532 [65533 lost] 65535 65534 0 [1 lost] 2 3: two losses
 * and one reorder across the wrap. */
static void test_recv_stats_loss(void) {
  vg_rtp_recv_stats_t st;
  vg_rtp_recv_stats_init(&st, 5);
  vg_rtcp_report_block_t rb;
  vg_rtp_packet_t p = mk(5, 65530, 0);
  /* A.1: the first packet only starts probation. */
  CHECK_EQ(vg_rtp_recv_stats_update(&st, VG_MSEC(0), &p, 48000), 0);
  CHECK_EQ(vg_rtp_recv_stats_report(&st, VG_MSEC(0), &rb), VG_ESTATE);
  const uint16_t seqs[] = {65531, 65532, 65535, 65534, 0, 2, 3};
  for (int i = 0; i < 7; i++) {
    p = mk(5, seqs[i], 0);
    CHECK_EQ(vg_rtp_recv_stats_update(&st, VG_MSEC(20 * (i + 1)), &p, 48000), 1);
  }
  p = mk(6, 4, 0); /* another source: ignored */
  CHECK_EQ(vg_rtp_recv_stats_update(&st, VG_MSEC(200), &p, 48000), 0);

  CHECK_EQ(st.base_seq, 65531);
  CHECK_EQ(vg_rtp_recv_stats_ext_max(&st), 65539);
  CHECK_EQ(vg_rtp_recv_stats_lost(&st), 2);
  CHECK_EQ(vg_rtp_recv_stats_report(&st, VG_MSEC(200), &rb), 0);
  CHECK_EQ(rb.ssrc, 5);
  CHECK_EQ(rb.highest_seq, 65539);
  CHECK_EQ(rb.cumulative_lost, 2);
  CHECK_EQ(rb.fraction_lost, 2 * 256 / 9); /* 2 of the 9 expected: 56 */
  CHECK_EQ(rb.lsr, 0);
  CHECK_EQ(rb.dlsr, 0);

  /* Next interval: 4 and 5 arrive, nothing lost in it. */
  p = mk(5, 4, 0);
  CHECK_EQ(vg_rtp_recv_stats_update(&st, VG_MSEC(220), &p, 48000), 1);
  p = mk(5, 5, 0);
  CHECK_EQ(vg_rtp_recv_stats_update(&st, VG_MSEC(240), &p, 48000), 1);
  CHECK_EQ(vg_rtp_recv_stats_report(&st, VG_MSEC(240), &rb), 0);
  CHECK_EQ(rb.fraction_lost, 0);
  CHECK_EQ(rb.cumulative_lost, 2);
  CHECK_EQ(rb.highest_seq, 65541);

  /* Then 6 lost, 7 received: half of this interval. */
  p = mk(5, 7, 0);
  CHECK_EQ(vg_rtp_recv_stats_update(&st, VG_MSEC(280), &p, 48000), 1);
  CHECK_EQ(vg_rtp_recv_stats_report(&st, VG_MSEC(280), &rb), 0);
  CHECK_EQ(rb.fraction_lost, 128);
  CHECK_EQ(rb.cumulative_lost, 3);

  /* A duplicate counts as received (RFC 3550 A.3: loss may go negative). */
  CHECK_EQ(vg_rtp_recv_stats_update(&st, VG_MSEC(281), &p, 48000), 1);
  CHECK_EQ(vg_rtp_recv_stats_lost(&st), 2);
}

/* A.1: a jump beyond MAX_DROPOUT is bad until the next packet confirms it. */
static void test_recv_stats_restart(void) {
  vg_rtp_recv_stats_t st;
  vg_rtp_recv_stats_init(&st, 1);
  for (uint16_t s = 10; s < 15; s++) {
    vg_rtp_packet_t p = mk(1, s, 0);
    (void)vg_rtp_recv_stats_update(&st, 0, &p, 48000);
  }
  CHECK_EQ(st.received, 4);
  vg_rtp_packet_t p = mk(1, 30000, 0);
  CHECK_EQ(vg_rtp_recv_stats_update(&st, 0, &p, 48000), 0);
  CHECK_EQ(vg_rtp_recv_stats_ext_max(&st), 14);
  p = mk(1, 30001, 0);
  CHECK_EQ(vg_rtp_recv_stats_update(&st, 0, &p, 48000), 1);
  CHECK_EQ(st.base_seq, 30001);
  CHECK_EQ(st.received, 1);
  CHECK_EQ(vg_rtp_recv_stats_lost(&st), 0);
  /* An isolated jump back is dropped and does not move max_seq. */
  p = mk(1, 5, 0);
  CHECK_EQ(vg_rtp_recv_stats_update(&st, 0, &p, 48000), 0);
  CHECK_EQ(vg_rtp_recv_stats_ext_max(&st), 30001);
}

/* A.8: packets every 20 ms (960 ticks at 48 kHz), arriving 50 ms late with
 * an extra 2 ms (96 ticks) on every other packet: |D| = 96 each time, so
 * the jitter converges to 96. A constant offset alone gives 0. */
static void test_recv_stats_jitter(void) {
  vg_rtp_recv_stats_t st, flat;
  vg_rtp_recv_stats_init(&st, 9);
  vg_rtp_recv_stats_init(&flat, 9);
  vg_rtcp_report_block_t rb;
  const vg_time_t t0 = VG_SEC(3);
  for (int i = 0; i < 300; i++) {
    vg_rtp_packet_t p = mk(9, (uint16_t)(100 + i), 5000u + 960u * (uint32_t)i);
    vg_time_t sent = t0 + VG_MSEC(20) * i;
    vg_time_t arrive = sent + VG_MSEC(50) + ((i & 1) ? VG_MSEC(2) : 0);
    (void)vg_rtp_recv_stats_update(&st, arrive, &p, 48000);
    (void)vg_rtp_recv_stats_update(&flat, sent + VG_MSEC(50), &p, 48000);
    if (i == 2) {
      /* Valid from packet 1; packet 2 gives the first |D| = 96: J = 96/16. */
      CHECK_EQ(vg_rtp_recv_stats_report(&st, arrive, &rb), 0);
      CHECK_EQ(rb.jitter, 6);
    }
  }
  CHECK_EQ(vg_rtp_recv_stats_report(&st, t0, &rb), 0);
  /* The A.8 integer form settles at 1528/16 = 95.5, reported as 95. */
  CHECK(rb.jitter >= 95 && rb.jitter <= 96);
  CHECK_EQ(vg_rtp_recv_stats_report(&flat, t0, &rb), 0);
  CHECK_EQ(rb.jitter, 0);
  CHECK_EQ(rb.cumulative_lost, 0);
  CHECK_EQ(rb.highest_seq, 399);
}

/* LSR/DLSR from the last SR, for the sender's RTT (RFC 3550 §6.4.1). */
static void test_recv_stats_lsr(void) {
  vg_rtp_recv_stats_t st;
  vg_rtp_recv_stats_init(&st, 3);
  for (uint16_t s = 0; s < 3; s++) {
    vg_rtp_packet_t p = mk(3, s, 0);
    (void)vg_rtp_recv_stats_update(&st, VG_SEC(5), &p, 48000);
  }
  vg_rtp_recv_stats_on_sr(&st, VG_SEC(5), 0xE81D4A5B80000000ull);
  vg_rtcp_report_block_t rb;
  CHECK_EQ(vg_rtp_recv_stats_report(&st, VG_MSEC(5250), &rb), 0);
  CHECK_EQ(rb.lsr, 0x4A5B8000);
  CHECK_EQ(rb.dlsr, 16384); /* 0.25 s */

  /* The sender's view: it sent that SR, the block arrives 0.25 s + 40 ms later. */
  uint32_t arrival = 0x4A5B8000u + 16384u + 2621u; /* 40 ms = 2621.44 units */
  int64_t rtt = vg_rtcp_rtt_us(&rb, arrival);
  CHECK(rtt >= 39990 && rtt <= 40010);
}

VGT_MAIN(VGT_CASE(test_parse_full), VGT_CASE(test_parse_two_byte),
         VGT_CASE(test_ext_stop_and_overrun), VGT_CASE(test_malformed),
         VGT_CASE(test_write_with_extensions), VGT_CASE(test_seq_unwrap),
         VGT_CASE(test_ts_unwrap), VGT_CASE(test_recv_stats_loss),
         VGT_CASE(test_recv_stats_restart), VGT_CASE(test_recv_stats_jitter),
         VGT_CASE(test_recv_stats_lsr))
