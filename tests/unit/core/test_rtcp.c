/* RTCP: hand-written RFC 3550 / RFC 4585 layouts, builder round trips,
 * malformed input, NTP and round-trip time. */
#include "core/rtcp.h"

#include "vgtest.h"

/* An SR with one report block followed by an SDES CNAME, the compound a
 * WebRTC sender (Chromium) emits every few seconds. */
static const uint8_t sr_sdes[] = {
    /* SR: RFC 3550 §6.4.1 */
    0x81, 0xC8, 0x00, 0x0C, /* V=2 P=0 RC=1, PT=200 (SR), length=12 words-1 (52 bytes) */
    0x11, 0x22, 0x33, 0x44, /* SSRC of sender */
    0xE8, 0x1D, 0x4A, 0x5B, /* NTP timestamp, most significant word (seconds) */
    0x80, 0x00, 0x00, 0x00, /* NTP timestamp, least significant word (0.5 s) */
    0x00, 0x01, 0xE2, 0x40, /* RTP timestamp 123456 */
    0x00, 0x00, 0x01, 0xF4, /* sender's packet count 500 */
    0x00, 0x01, 0x38, 0x80, /* sender's octet count 80000 */
    0xAA, 0xBB, 0xCC, 0xDD, /* report block 1: SSRC_1 */
    0x40, 0xFF, 0xFF, 0xFE, /* fraction lost 64/256, cumulative lost -2 (24-bit signed) */
    0x00, 0x01, 0x00, 0x05, /* extended highest seq: 1 cycle, seq 5 */
    0x00, 0x00, 0x00, 0x60, /* interarrival jitter 96 */
    0x4A, 0x5B, 0x80, 0x00, /* LSR: middle 32 bits of an NTP time */
    0x00, 0x01, 0x80, 0x00, /* DLSR 1.5 s in 1/65536 s */
    /* SDES: RFC 3550 §6.5 */
    0x81, 0xCA, 0x00, 0x04, /* V=2 P=0 SC=1, PT=202 (SDES), length=4 (20 bytes) */
    0x11, 0x22, 0x33, 0x44, /* chunk 1: SSRC */
    0x01, 0x09, 'u', 's',   /* CNAME item, 9 octets: "user@host" */
    'e', 'r', '@', 'h',     /*   ... */
    'o', 's', 't', 0x00,    /*   ... then the null item ending the chunk */
};

static void test_parse_known_sr_sdes(void) {
  vg_rtcp_iter_t it;
  vg_rtcp_packet_t pkt;
  const char *why = NULL;
  vg_rtcp_iter_init(&it, sr_sdes, sizeof sr_sdes);

  CHECK_EQ(vg_rtcp_next(&it, &pkt, &why), 52);
  CHECK_EQ(pkt.kind, VG_RTCP_SR);
  CHECK_EQ(pkt.pt, 200);
  CHECK(!pkt.padding);
  CHECK(pkt.raw == sr_sdes);
  CHECK_EQ(pkt.sr.ssrc, 0x11223344);
  CHECK_EQ(pkt.sr.info.ntp, 0xE81D4A5B80000000ull);
  CHECK_EQ(pkt.sr.info.rtp_ts, 123456);
  CHECK_EQ(pkt.sr.info.packet_count, 500);
  CHECK_EQ(pkt.sr.info.octet_count, 80000);
  CHECK_EQ(pkt.sr.block_count, 1);
  const vg_rtcp_report_block_t *rb = &pkt.sr.blocks[0];
  CHECK_EQ(rb->ssrc, 0xAABBCCDD);
  CHECK_EQ(rb->fraction_lost, 64);
  CHECK_EQ(rb->cumulative_lost, -2);
  CHECK_EQ(rb->highest_seq, 65541);
  CHECK_EQ(rb->jitter, 96);
  CHECK_EQ(rb->lsr, 0x4A5B8000);
  CHECK_EQ(rb->dlsr, 0x00018000);

  CHECK_EQ(vg_rtcp_next(&it, &pkt, &why), 20);
  CHECK_EQ(pkt.kind, VG_RTCP_SDES);
  CHECK_EQ(pkt.sdes.chunk_count, 1);
  CHECK_EQ(pkt.sdes.chunks[0].ssrc, 0x11223344);
  CHECK_EQ(pkt.sdes.chunks[0].cname_len, 9);
  CHECK_MEM(pkt.sdes.chunks[0].cname, "user@host", 9);

  CHECK_EQ(vg_rtcp_next(&it, &pkt, &why), 0);
}

/* RFC 4585 §6.2.1 generic NACK, §6.3.1 PLI, an empty RR, a BYE with a
 * reason, an APP packet (yielded as "other"), and padding on the last. */
static const uint8_t fb_compound[] = {
    0x80, 0xC9, 0x00, 0x01, /* V=2 P=0 RC=0, PT=201 (RR), length=1: no report blocks */
    0x01, 0x02, 0x03, 0x04, /* SSRC of reporter */
    0x81, 0xCD, 0x00, 0x03, /* V=2 P=0 FMT=1 (generic NACK), PT=205 (RTPFB), length=3 */
    0x01, 0x02, 0x03, 0x04, /* SSRC of packet sender */
    0x0A, 0x0B, 0x0C, 0x0D, /* SSRC of media source */
    0x03, 0xE8, 0x80, 0x05, /* PID=1000, BLP=0x8005: 1001, 1003 and 1016 lost */
    0x81, 0xCE, 0x00, 0x02, /* V=2 P=0 FMT=1 (PLI), PT=206 (PSFB), length=2 */
    0x01, 0x02, 0x03, 0x04, /* SSRC of packet sender */
    0x0A, 0x0B, 0x0C, 0x0D, /* SSRC of media source; PLI has no FCI */
    0x80, 0xCC, 0x00, 0x02, /* V=2 P=0 subtype 0, PT=204 (APP), length=2 */
    0x01, 0x02, 0x03, 0x04, /* SSRC */
    'v', 'o', 'x', 'g',     /* name */
    0xA1, 0xCB, 0x00, 0x03, /* V=2 P=1 SC=1, PT=203 (BYE), length=3 (16 bytes) */
    0x0A, 0x0B, 0x0C, 0x0D, /* SSRC leaving */
    0x04, 'd', 'o', 'n',    /* reason length 4, "done" */
    'e', 0x00, 0x00, 0x03,  /* reason end, padding: 3 octets, count in the last */
};

static void test_parse_known_feedback(void) {
  vg_rtcp_iter_t it;
  vg_rtcp_packet_t pkt;
  const char *why = NULL;
  vg_rtcp_iter_init(&it, fb_compound, sizeof fb_compound);

  CHECK_EQ(vg_rtcp_next(&it, &pkt, &why), 8);
  CHECK_EQ(pkt.kind, VG_RTCP_RR);
  CHECK_EQ(pkt.rr.ssrc, 0x01020304);
  CHECK_EQ(pkt.rr.block_count, 0);

  CHECK_EQ(vg_rtcp_next(&it, &pkt, &why), 16);
  CHECK_EQ(pkt.kind, VG_RTCP_NACK);
  CHECK_EQ(pkt.count, 1);
  CHECK_EQ(pkt.fb.sender_ssrc, 0x01020304);
  CHECK_EQ(pkt.fb.media_ssrc, 0x0A0B0C0D);
  CHECK_EQ(pkt.fb.fci_len, 4);
  uint16_t pid, blp;
  vg_rtcp_nack_pair(&pkt.fb, 0, &pid, &blp);
  CHECK_EQ(pid, 1000);
  CHECK_EQ(blp, 0x8005);
  CHECK_EQ(vg_rtcp_nack_count(&pkt.fb), 4);
  uint16_t lost[8];
  CHECK_EQ(vg_rtcp_nack_expand(&pkt.fb, lost, 8), 4);
  CHECK_EQ(lost[0], 1000);
  CHECK_EQ(lost[1], 1001);
  CHECK_EQ(lost[2], 1003);
  CHECK_EQ(lost[3], 1016);
  CHECK_EQ(vg_rtcp_nack_expand(&pkt.fb, lost, 3), VG_ENOSPC);

  CHECK_EQ(vg_rtcp_next(&it, &pkt, &why), 12);
  CHECK_EQ(pkt.kind, VG_RTCP_PLI);
  CHECK_EQ(pkt.fb.sender_ssrc, 0x01020304);
  CHECK_EQ(pkt.fb.media_ssrc, 0x0A0B0C0D);

  CHECK_EQ(vg_rtcp_next(&it, &pkt, &why), 12);
  CHECK_EQ(pkt.kind, VG_RTCP_OTHER);
  CHECK_EQ(pkt.pt, 204);
  CHECK_EQ(pkt.raw_len, 12);
  CHECK_MEM(pkt.raw + 8, "voxg", 4);

  CHECK_EQ(vg_rtcp_next(&it, &pkt, &why), 16);
  CHECK_EQ(pkt.kind, VG_RTCP_BYE);
  CHECK(pkt.padding);
  CHECK_EQ(pkt.bye.ssrc_count, 1);
  CHECK_EQ(pkt.bye.ssrcs[0], 0x0A0B0C0D);
  CHECK_EQ(pkt.bye.reason_len, 4);
  CHECK_MEM(pkt.bye.reason, "done", 4);

  CHECK_EQ(vg_rtcp_next(&it, &pkt, &why), 0);
}

static int block_eq(const vg_rtcp_report_block_t *a, const vg_rtcp_report_block_t *b) {
  return a->ssrc == b->ssrc && a->fraction_lost == b->fraction_lost &&
         a->cumulative_lost == b->cumulative_lost && a->highest_seq == b->highest_seq &&
         a->jitter == b->jitter && a->lsr == b->lsr && a->dlsr == b->dlsr;
}

/* A Chromium-style compound: SR with a report block, then SDES CNAME with a
 * 16-character CNAME. Built, checked byte-wise where it matters, parsed. */
static void test_build_sr_sdes(void) {
  uint8_t buf[256];
  vg_rtcp_builder_t b;
  vg_rtcp_builder_init(&b, buf, sizeof buf);
  vg_rtcp_sender_info_t si = {.ntp = 0xE81D4A5B12345678ull, .rtp_ts = 0xCAFEBABE,
                              .packet_count = 250, .octet_count = 40000};
  vg_rtcp_report_block_t rb = {.ssrc = 0x5EED5EED, .fraction_lost = 13,
                               .cumulative_lost = 7, .highest_seq = 0x0002FFF0,
                               .jitter = 42, .lsr = 0x12345678, .dlsr = 0x00008000};
  const char *cname = "aB3dE5gH7jK9mN1p";
  vg_rtcp_add_sr(&b, 0xDEADBEEF, &si, &rb, 1);
  vg_rtcp_add_sdes_cname(&b, 0xDEADBEEF, cname, 16);
  int n = vg_rtcp_finish(&b);
  /* SR 4+4+20+24 = 52; SDES 4 + 4 + 2+16 + 2 null = 28. */
  CHECK_EQ(n, 52 + 28);
  const uint8_t sr_head[] = {0x81, 0xC8, 0x00, 0x0C, 0xDE, 0xAD, 0xBE, 0xEF};
  CHECK_MEM(buf, sr_head, sizeof sr_head);
  const uint8_t sdes_head[] = {0x81, 0xCA, 0x00, 0x06, 0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x10};
  CHECK_MEM(buf + 52, sdes_head, sizeof sdes_head);
  CHECK_EQ(buf[78], 0);
  CHECK_EQ(buf[79], 0);

  vg_rtcp_iter_t it;
  vg_rtcp_packet_t pkt;
  vg_rtcp_iter_init(&it, buf, (size_t)n);
  CHECK_EQ(vg_rtcp_next(&it, &pkt, NULL), 52);
  CHECK_EQ(pkt.kind, VG_RTCP_SR);
  CHECK_EQ(pkt.sr.ssrc, 0xDEADBEEF);
  CHECK_EQ(pkt.sr.info.ntp, si.ntp);
  CHECK_EQ(pkt.sr.info.rtp_ts, si.rtp_ts);
  CHECK_EQ(pkt.sr.info.packet_count, 250);
  CHECK_EQ(pkt.sr.info.octet_count, 40000);
  CHECK_EQ(pkt.sr.block_count, 1);
  CHECK(block_eq(&pkt.sr.blocks[0], &rb));
  CHECK_EQ(vg_rtcp_next(&it, &pkt, NULL), 28);
  CHECK_EQ(pkt.kind, VG_RTCP_SDES);
  CHECK_EQ(pkt.sdes.chunks[0].cname_len, 16);
  CHECK_MEM(pkt.sdes.chunks[0].cname, cname, 16);
  CHECK_EQ(vg_rtcp_next(&it, &pkt, NULL), 0);
}

/* RR + NACK + PLI + BYE built and parsed back; the NACK list packs into
 * PID+BLP pairs (including across the 65535 -> 0 wrap). */
static void test_build_rr_nack_pli_bye(void) {
  uint8_t buf[256];
  vg_rtcp_builder_t b;
  vg_rtcp_builder_init(&b, buf, sizeof buf);
  vg_rtcp_report_block_t rb = {.ssrc = 7, .fraction_lost = 255, .cumulative_lost = -8388608,
                               .highest_seq = 1, .jitter = 0, .lsr = 0, .dlsr = 0};
  const uint16_t lost[] = {1000, 1001, 1003, 1016, 1017, 65535, 0, 1};
  const uint32_t bye_ssrc = 99;
  vg_rtcp_add_rr(&b, 1, &rb, 1);
  vg_rtcp_add_nack(&b, 1, 7, lost, 8);
  vg_rtcp_add_pli(&b, 1, 7);
  vg_rtcp_add_bye(&b, &bye_ssrc, 1, "bye!", 4);
  int n = vg_rtcp_finish(&b);
  /* RR 32; NACK 12 + 3 pairs; PLI 12; BYE 4 + 4 + 1+4 + 3 pad = 16. */
  CHECK_EQ(n, 32 + 24 + 12 + 16);

  vg_rtcp_iter_t it;
  vg_rtcp_packet_t pkt;
  vg_rtcp_iter_init(&it, buf, (size_t)n);
  CHECK_EQ(vg_rtcp_next(&it, &pkt, NULL), 32);
  CHECK_EQ(pkt.kind, VG_RTCP_RR);
  CHECK_EQ(pkt.rr.blocks[0].cumulative_lost, -8388608);
  CHECK_EQ(pkt.rr.blocks[0].fraction_lost, 255);

  CHECK_EQ(vg_rtcp_next(&it, &pkt, NULL), 24);
  CHECK_EQ(pkt.kind, VG_RTCP_NACK);
  CHECK_EQ(pkt.fb.fci_len, 12);
  uint16_t pid, blp;
  vg_rtcp_nack_pair(&pkt.fb, 0, &pid, &blp);
  CHECK_EQ(pid, 1000);
  CHECK_EQ(blp, 0x8005); /* 1001 (bit 0), 1003 (bit 2), 1016 (bit 15) */
  vg_rtcp_nack_pair(&pkt.fb, 1, &pid, &blp);
  CHECK_EQ(pid, 1017); /* 17 past 1000: does not fit the first mask */
  CHECK_EQ(blp, 0);
  vg_rtcp_nack_pair(&pkt.fb, 2, &pid, &blp);
  CHECK_EQ(pid, 65535);
  CHECK_EQ(blp, 0x0003); /* 0 and 1, across the wrap */
  uint16_t out[16];
  CHECK_EQ(vg_rtcp_nack_expand(&pkt.fb, out, 16), 8);
  CHECK_MEM(out, lost, sizeof lost);

  CHECK_EQ(vg_rtcp_next(&it, &pkt, NULL), 12);
  CHECK_EQ(pkt.kind, VG_RTCP_PLI);
  CHECK_EQ(pkt.fb.media_ssrc, 7);
  CHECK_EQ(vg_rtcp_next(&it, &pkt, NULL), 16);
  CHECK_EQ(pkt.kind, VG_RTCP_BYE);
  CHECK_EQ(pkt.bye.ssrcs[0], 99);
  CHECK_EQ(pkt.bye.reason_len, 4);
  CHECK_MEM(pkt.bye.reason, "bye!", 4);
  CHECK_EQ(vg_rtcp_next(&it, &pkt, NULL), 0);
}

static void test_build_errors(void) {
  uint8_t buf[64];
  vg_rtcp_builder_t b;
  vg_rtcp_report_block_t rb = {.ssrc = 1, .cumulative_lost = 0x800000}; /* > 24-bit max */
  vg_rtcp_builder_init(&b, buf, sizeof buf);
  vg_rtcp_add_rr(&b, 1, &rb, 1);
  CHECK_EQ(vg_rtcp_finish(&b), VG_EINVAL);

  /* Too small: the error sticks, and later adds do not clear it. */
  vg_rtcp_sender_info_t si = {0};
  vg_rtcp_builder_init(&b, buf, 40);
  vg_rtcp_add_sr(&b, 1, &si, NULL, 0); /* 28 bytes: fits */
  CHECK_EQ(vg_rtcp_finish(&b), 28);
  vg_rtcp_add_pli(&b, 1, 2); /* 12 more: exactly 40 */
  CHECK_EQ(vg_rtcp_finish(&b), 40);
  vg_rtcp_add_pli(&b, 1, 2);
  CHECK_EQ(vg_rtcp_finish(&b), VG_ENOSPC);
  vg_rtcp_builder_init(&b, buf, 0);
  vg_rtcp_add_pli(&b, 1, 2);
  CHECK_EQ(vg_rtcp_finish(&b), VG_ENOSPC);

  vg_rtcp_builder_init(&b, buf, sizeof buf);
  vg_rtcp_add_sdes_cname(&b, 1, "", 0);
  CHECK_EQ(vg_rtcp_finish(&b), VG_EINVAL);
  vg_rtcp_builder_init(&b, buf, sizeof buf);
  vg_rtcp_add_bye(&b, NULL, 0, NULL, 0);
  CHECK_EQ(vg_rtcp_finish(&b), VG_EINVAL);
  vg_rtcp_builder_init(&b, buf, sizeof buf);
  vg_rtcp_add_nack(&b, 1, 2, NULL, 0); /* RFC 4585 §6.2.1: at least one pair */
  CHECK_EQ(vg_rtcp_finish(&b), VG_EINVAL);
}

static int parse_all(const uint8_t *buf, size_t len, const char **why) {
  vg_rtcp_iter_t it;
  vg_rtcp_packet_t pkt;
  vg_rtcp_iter_init(&it, buf, len);
  int rc;
  while ((rc = vg_rtcp_next(&it, &pkt, why)) > 0) {
  }
  return rc;
}

static void test_malformed(void) {
  const char *why;
  uint8_t m[sizeof sr_sdes];

  /* Version 1. */
  memcpy(m, sr_sdes, sizeof m);
  m[0] = 0x41;
  why = NULL;
  CHECK_EQ(parse_all(m, sizeof m, &why), VG_EPROTO);
  CHECK_STR(why, "RTCP version is not 2");

  /* The SDES length claims one word more than the datagram holds. */
  memcpy(m, sr_sdes, sizeof m);
  m[55] = 0x05;
  CHECK_EQ(parse_all(m, sizeof m, &why), VG_EPROTO);
  CHECK_STR(why, "RTCP length overruns the datagram");

  /* RC=2 with one block's worth of bytes. */
  memcpy(m, sr_sdes, sizeof m);
  m[0] = 0x82;
  CHECK_EQ(parse_all(m, sizeof m, &why), VG_EPROTO);
  CHECK_STR(why, "report block truncated");

  /* Padding on the first packet of the compound. */
  memcpy(m, sr_sdes, sizeof m);
  m[0] = 0xA1;
  CHECK_EQ(parse_all(m, sizeof m, &why), VG_EPROTO);
  CHECK_STR(why, "RTCP padding on a packet that is not the last");

  /* The CNAME length runs past the packet. */
  memcpy(m, sr_sdes, sizeof m);
  m[61] = 0x20;
  CHECK_EQ(parse_all(m, sizeof m, &why), VG_EPROTO);
  CHECK_STR(why, "SDES item overruns the packet");

  /* Two stray bytes after a valid compound. */
  uint8_t t[sizeof sr_sdes + 2];
  memcpy(t, sr_sdes, sizeof sr_sdes);
  t[sizeof sr_sdes] = 0x80;
  t[sizeof sr_sdes + 1] = 0xC9;
  CHECK_EQ(parse_all(t, sizeof t, &why), VG_EPROTO);
  CHECK_STR(why, "trailing bytes shorter than an RTCP header");

  /* Padding count larger than the body; padding count 0. */
  const uint8_t badpad[] = {0xA0, 0xC9, 0x00, 0x01, 0x00, 0x00, 0x00, 0x09};
  CHECK_EQ(parse_all(badpad, sizeof badpad, &why), VG_EPROTO);
  const uint8_t zeropad[] = {0xA0, 0xC9, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00};
  CHECK_EQ(parse_all(zeropad, sizeof zeropad, &why), VG_EPROTO);
  CHECK_STR(why, "RTCP padding count is 0 or larger than the packet body");

  /* NACK without any PID+BLP pair; feedback without its media SSRC. */
  const uint8_t nack0[] = {0x81, 0xCD, 0x00, 0x02, 1, 2, 3, 4, 5, 6, 7, 8};
  CHECK_EQ(parse_all(nack0, sizeof nack0, &why), VG_EPROTO);
  CHECK_STR(why, "NACK FCI is not a whole number of PID+BLP pairs");
  const uint8_t fbshort[] = {0x81, 0xCE, 0x00, 0x01, 1, 2, 3, 4};
  CHECK_EQ(parse_all(fbshort, sizeof fbshort, &why), VG_EPROTO);
  CHECK_STR(why, "feedback message shorter than its two SSRCs");

  /* SDES chunk whose items never end with a null item. */
  const uint8_t sdes_open[] = {0x81, 0xCA, 0x00, 0x02, 1, 2, 3, 4, 0x01, 0x02, 'a', 'b'};
  CHECK_EQ(parse_all(sdes_open, sizeof sdes_open, &why), VG_EPROTO);
  CHECK_STR(why, "SDES chunk without a terminating null item");

  /* BYE reason length past the end. */
  const uint8_t bye_long[] = {0x81, 0xCB, 0x00, 0x02, 1, 2, 3, 4, 0x09, 'x', 'y', 'z'};
  CHECK_EQ(parse_all(bye_long, sizeof bye_long, &why), VG_EPROTO);
  CHECK_STR(why, "BYE reason overruns the packet");

  /* After an error the iterator stays failed. */
  vg_rtcp_iter_t it;
  vg_rtcp_packet_t pkt;
  vg_rtcp_iter_init(&it, bye_long, sizeof bye_long);
  CHECK_EQ(vg_rtcp_next(&it, &pkt, NULL), VG_EPROTO);
  CHECK_EQ(vg_rtcp_next(&it, &pkt, NULL), VG_EPROTO);

  /* Unknown types are not errors; an empty datagram is an empty compound. */
  const uint8_t xr[] = {0x80, 0xCF, 0x00, 0x01, 1, 2, 3, 4};
  CHECK_EQ(parse_all(xr, sizeof xr, &why), 0);
  CHECK_EQ(parse_all(xr, 0, &why), 0);
}

static void test_is_rtcp(void) {
  const uint8_t rtcp[] = {0x81, 0xC8};
  const uint8_t opus[] = {0x80, 0x6F};        /* PT 111 */
  const uint8_t opus_marker[] = {0x80, 0xEF}; /* PT 111 with M set: 239 */
  const uint8_t v1[] = {0x41, 0xC8};
  CHECK(vg_rtcp_is_rtcp(rtcp, 2));
  CHECK(!vg_rtcp_is_rtcp(opus, 2));
  CHECK(!vg_rtcp_is_rtcp(opus_marker, 2));
  CHECK(!vg_rtcp_is_rtcp(v1, 2));
  CHECK(!vg_rtcp_is_rtcp(rtcp, 1));
}

static void test_ntp(void) {
  /* Unix time 0 is NTP second 2208988800 = 0x83AA7E80. */
  CHECK_EQ(vg_rtcp_ntp_from_time(0, 0), 0x83AA7E80ull << 32);
  /* A monotonic 1.5 s with a wall offset of 1 s: Unix 2.5 s. */
  uint64_t ntp = vg_rtcp_ntp_from_time(VG_MSEC(1500), VG_SEC(1));
  CHECK_EQ(ntp, (0x83AA7E82ull << 32) | 0x80000000u);
  CHECK_EQ(vg_rtcp_ntp_mid(ntp), 0x7E828000);
  /* 1 µs is 4294.967296 fraction units, rounded. */
  CHECK_EQ(vg_rtcp_ntp_from_time(1, 0) & 0xFFFFFFFFu, 4295);
  /* DLSR units are 1/65536 s. */
  CHECK_EQ(vg_rtcp_dlsr_from_time(VG_MSEC(1500)), 0x00018000);
  CHECK_EQ(vg_rtcp_dlsr_from_time(-5), 0);
  CHECK_EQ(vg_rtcp_dlsr_from_time(VG_SEC(100000)), UINT32_MAX);
}

static void test_rtt(void) {
  /* RFC 3550 §6.4.1 figure 2: A = 0xb710:8000 (46864.500 s),
   * LSR = 0xb705:2000 (46853.125 s), DLSR = 0x0005:4000 (5.250 s),
   * so the delay is 0x0006:2000 = 6.125 s. */
  vg_rtcp_report_block_t rb = {.lsr = 0xB7052000, .dlsr = 0x00054000};
  CHECK_EQ(vg_rtcp_rtt_us(&rb, 0xB7108000), 6125000);

  /* Our SR leaves at 10 s; the peer holds it 100 ms; the RR arrives at
   * 10.3 s: RTT 200 ms, within the 1/65536 s (~15 µs) granularity. */
  const int64_t wall = VG_SEC(1700000000);
  uint32_t lsr = vg_rtcp_ntp_mid(vg_rtcp_ntp_from_time(VG_SEC(10), wall));
  vg_rtcp_report_block_t rr = {.lsr = lsr, .dlsr = vg_rtcp_dlsr_from_time(VG_MSEC(100))};
  uint32_t a = vg_rtcp_ntp_mid(vg_rtcp_ntp_from_time(VG_MSEC(10300), wall));
  int64_t rtt = vg_rtcp_rtt_us(&rr, a);
  CHECK(rtt >= 200000 - 31 && rtt <= 200000 + 31);

  /* No SR seen yet; and a negative result from skew clamps to 0. */
  vg_rtcp_report_block_t none = {.lsr = 0, .dlsr = 0};
  CHECK_EQ(vg_rtcp_rtt_us(&none, a), VG_ENOTFOUND);
  vg_rtcp_report_block_t skew = {.lsr = a, .dlsr = 0x00010000};
  CHECK_EQ(vg_rtcp_rtt_us(&skew, a), 0);
}

VGT_MAIN(VGT_CASE(test_parse_known_sr_sdes), VGT_CASE(test_parse_known_feedback),
         VGT_CASE(test_build_sr_sdes), VGT_CASE(test_build_rr_nack_pli_bye),
         VGT_CASE(test_build_errors), VGT_CASE(test_malformed), VGT_CASE(test_is_rtcp),
         VGT_CASE(test_ntp), VGT_CASE(test_rtt))
