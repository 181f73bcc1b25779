/* RFC 7983 §7 first-byte demultiplexing, every range boundary. */
#include "core/demux.h"
#include "vgtest.h"

static vg_demux_kind_t first(uint8_t b) {
  const uint8_t buf[2] = {b, 0x00};
  return vg_demux_classify(buf, 2);
}

static void test_every_first_byte(void) {
  for (int b = 0; b < 256; b++) {
    vg_demux_kind_t want = VG_DEMUX_OTHER;
    if (b <= 3) want = VG_DEMUX_STUN;
    else if (b >= 20 && b <= 63) want = VG_DEMUX_DTLS;
    else if (b >= 128 && b <= 191) want = VG_DEMUX_RTP;
    CHECK_EQ(first((uint8_t)b), want);
  }
}

static void test_boundaries(void) {
  CHECK_EQ(first(0), VG_DEMUX_STUN);
  CHECK_EQ(first(3), VG_DEMUX_STUN);
  CHECK_EQ(first(4), VG_DEMUX_OTHER);
  CHECK_EQ(first(15), VG_DEMUX_OTHER);
  CHECK_EQ(first(16), VG_DEMUX_OTHER); /* ZRTP 16..19 */
  CHECK_EQ(first(19), VG_DEMUX_OTHER);
  CHECK_EQ(first(20), VG_DEMUX_DTLS);
  CHECK_EQ(first(22), VG_DEMUX_DTLS); /* handshake */
  CHECK_EQ(first(63), VG_DEMUX_DTLS);
  CHECK_EQ(first(64), VG_DEMUX_OTHER); /* TURN channels 64..79 */
  CHECK_EQ(first(79), VG_DEMUX_OTHER);
  CHECK_EQ(first(80), VG_DEMUX_OTHER);
  CHECK_EQ(first(127), VG_DEMUX_OTHER);
  CHECK_EQ(first(128), VG_DEMUX_RTP);
  CHECK_EQ(first(191), VG_DEMUX_RTP);
  CHECK_EQ(first(192), VG_DEMUX_OTHER);
  CHECK_EQ(first(255), VG_DEMUX_OTHER);
}

/* RFC 5761 §4: RTCP packet types 192..223 in the second byte. */
static void test_rtp_or_rtcp(void) {
  uint8_t p[2] = {0x80, 0};
  for (int b = 0; b < 256; b++) {
    p[1] = (uint8_t)b;
    CHECK_EQ(vg_demux_classify(p, 2), (b >= 192 && b <= 223) ? VG_DEMUX_RTCP : VG_DEMUX_RTP);
  }
  const uint8_t sr[] = {0x80, 200}, rr[] = {0x81, 201}, last[] = {0xbf, 223};
  const uint8_t opus[] = {0x80, 111}, opus_m[] = {0x80, 0x80 | 111}, low[] = {0x80, 191},
                high[] = {0x90, 224};
  CHECK_EQ(vg_demux_classify(sr, 2), VG_DEMUX_RTCP);
  CHECK_EQ(vg_demux_classify(rr, 2), VG_DEMUX_RTCP);
  CHECK_EQ(vg_demux_classify(last, 2), VG_DEMUX_RTCP);
  CHECK_EQ(vg_demux_classify(opus, 2), VG_DEMUX_RTP);
  CHECK_EQ(vg_demux_classify(opus_m, 2), VG_DEMUX_RTP); /* marker bit + PT 111 = 239 */
  CHECK_EQ(vg_demux_classify(low, 2), VG_DEMUX_RTP);
  CHECK_EQ(vg_demux_classify(high, 2), VG_DEMUX_RTP);
}

static void test_short_inputs(void) {
  CHECK_EQ(vg_demux_classify(NULL, 0), VG_DEMUX_OTHER);
  const uint8_t one_rtp = 0x80, one_stun = 0x01, one_dtls = 0x16;
  CHECK_EQ(vg_demux_classify(&one_rtp, 1), VG_DEMUX_RTP);
  CHECK_EQ(vg_demux_classify(&one_stun, 1), VG_DEMUX_STUN);
  CHECK_EQ(vg_demux_classify(&one_dtls, 1), VG_DEMUX_DTLS);
  CHECK_STR(vg_demux_name(VG_DEMUX_RTCP), "rtcp");
  CHECK_STR(vg_demux_name(VG_DEMUX_OTHER), "other");
}

VGT_MAIN(VGT_CASE(test_every_first_byte), VGT_CASE(test_boundaries), VGT_CASE(test_rtp_or_rtcp),
         VGT_CASE(test_short_inputs))
