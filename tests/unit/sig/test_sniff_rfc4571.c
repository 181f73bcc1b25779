#include <string.h>

#include "core/stun.h"
#include "sig/rfc4571.h"
#include "sig/sniff.h"
#include "vgtest.h"

/* A real ICE-TCP opening: an RFC 4571 frame holding a Binding request. */
static size_t framed_binding_request(uint8_t *out, size_t cap) {
  uint8_t txid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  vg_stun_builder_t b;
  vg_stun_build_begin(&b, out + 2, cap - 2, VG_STUN_BINDING_REQUEST, txid);
  vg_stun_add_username(&b, "abcd:efgh", 9);
  vg_stun_add_fingerprint(&b);
  int n = vg_stun_build_end(&b);
  if (n <= 0 || vg_rfc4571_header((size_t)n, out) < 0) return 0;
  return (size_t)n + 2;
}

static void test_sniff_each_protocol(void) {
  const uint8_t get[] = "GET / HTTP/1.1\r\n";
  CHECK_EQ(vg_sniff(get, 1), VG_SNIFF_HTTP);
  /* a TLS 1.2/1.3 ClientHello record header */
  const uint8_t tls[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
  CHECK_EQ(vg_sniff(tls, 1), VG_SNIFF_NEED_MORE);
  CHECK_EQ(vg_sniff(tls, sizeof tls), VG_SNIFF_TLS);
  uint8_t ice[256];
  size_t n = framed_binding_request(ice, sizeof ice);
  CHECK(n > 20);
  for (size_t i = 1; i < VG_SNIFF_MAX; i++) CHECK_EQ(vg_sniff(ice, i), VG_SNIFF_NEED_MORE);
  CHECK_EQ(vg_sniff(ice, VG_SNIFF_MAX), VG_SNIFF_ICE_TCP);
  CHECK_EQ(vg_sniff(ice, n), VG_SNIFF_ICE_TCP);
  /* near misses */
  ice[7] ^= 1; /* the magic cookie */
  CHECK_EQ(vg_sniff(ice, n), VG_SNIFF_UNKNOWN);
  const uint8_t not_request[] = {0x00, 0x20, 0x01, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42};
  CHECK_EQ(vg_sniff(not_request, 3), VG_SNIFF_UNKNOWN); /* a response type: rejected early */
  const uint8_t short_frame[] = {0x00, 0x05, 0x00, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42};
  CHECK_EQ(vg_sniff(short_frame, sizeof short_frame), VG_SNIFF_UNKNOWN);
  const uint8_t binary[] = {0xff, 0x00};
  CHECK_EQ(vg_sniff(binary, 2), VG_SNIFF_UNKNOWN);
  const uint8_t ssl2[] = {0x16, 0x02};
  CHECK_EQ(vg_sniff(ssl2, 2), VG_SNIFF_UNKNOWN);
  CHECK_EQ(vg_sniff(NULL, 0), VG_SNIFF_NEED_MORE);
}

static void test_deframe_whole_and_split(void) {
  /* three frames back to back: 3 bytes, 1 byte, 300 bytes */
  uint8_t stream[2 + 3 + 2 + 1 + 2 + 300];
  size_t off = 0;
  const size_t lens[3] = {3, 1, 300};
  for (int f = 0; f < 3; f++) {
    CHECK_EQ(vg_rfc4571_header(lens[f], stream + off), VG_OK);
    off += 2;
    for (size_t i = 0; i < lens[f]; i++) stream[off + i] = (uint8_t)(f * 50 + i);
    off += lens[f];
  }
  CHECK_EQ(off, sizeof stream);
  /* every way of cutting the stream in two yields the same three frames */
  for (size_t cut = 0; cut <= sizeof stream; cut++) {
    vg_rfc4571_t d;
    vg_rfc4571_init(&d);
    int got = 0;
    const uint8_t *parts[2] = {stream, stream + cut};
    size_t plen[2] = {cut, sizeof stream - cut};
    for (int p = 0; p < 2; p++) {
      size_t o = 0;
      while (o < plen[p]) {
        const uint8_t *fr;
        size_t fl;
        int r = vg_rfc4571_feed(&d, parts[p] + o, plen[p] - o, &fr, &fl);
        CHECK(r > 0);
        o += (size_t)r;
        if (!fr) continue;
        CHECK(got < 3);
        CHECK_EQ(fl, lens[got]);
        for (size_t i = 0; i < fl; i++) CHECK_EQ(fr[i], (uint8_t)(got * 50 + i));
        got++;
      }
    }
    CHECK_EQ(got, 3);
  }
}

static void test_deframe_rejects_bad_lengths(void) {
  vg_rfc4571_t d;
  const uint8_t *fr;
  size_t fl;
  vg_rfc4571_init(&d);
  const uint8_t zero[] = {0, 0, 1};
  CHECK_EQ(vg_rfc4571_feed(&d, zero, sizeof zero, &fr, &fl), VG_EPROTO);
  vg_rfc4571_init(&d);
  const uint8_t huge[] = {0xff, 0xff, 1};
  CHECK_EQ(vg_rfc4571_feed(&d, huge, sizeof huge, &fr, &fl), VG_EPROTO);
  uint8_t h[2];
  CHECK_EQ(vg_rfc4571_header(65536, h), VG_EINVAL);
  CHECK_EQ(vg_rfc4571_header(0, h), VG_EINVAL);
}

VGT_MAIN(VGT_CASE(test_sniff_each_protocol), VGT_CASE(test_deframe_whole_and_split),
         VGT_CASE(test_deframe_rejects_bad_lengths))
