#include "base/addr.h"
#include "base/bytes.h"
#include "base/err.h"
#include "base/log.h"
#include "vgtest.h"

static void test_reader_bounds(void) {
  const uint8_t buf[] = {0x01, 0x02, 0x03, 0x04, 0x05};
  vg_reader_t r = vg_reader(buf, sizeof buf);
  CHECK_EQ(vg_read_u16(&r), 0x0102);
  CHECK_EQ(vg_read_u24(&r), 0x030405);
  CHECK(!r.err);
  CHECK_EQ(vg_read_u8(&r), 0); /* past the end */
  CHECK(r.err);
  CHECK_EQ(vg_read_u32(&r), 0); /* sticky */
  CHECK_EQ(vg_reader_left(&r), 0);
}

static void test_writer_bounds(void) {
  uint8_t buf[6];
  vg_writer_t w = vg_writer(buf, sizeof buf);
  vg_write_u32(&w, 0xdeadbeef);
  vg_write_u16(&w, 0x0102);
  CHECK(!w.err);
  vg_write_u8(&w, 1);
  CHECK(w.err);
  CHECK_EQ(w.pos, 6);
  const uint8_t want[] = {0xde, 0xad, 0xbe, 0xef, 0x01, 0x02};
  CHECK_MEM(buf, want, 6);
}

static void test_addr_roundtrip(void) {
  vg_addr_t a, b;
  char s[VG_ADDR_STRLEN];
  CHECK_EQ(vg_addr_parse(&a, "192.0.2.7", 8080, VG_TRANSPORT_UDP), VG_OK);
  CHECK(vg_addr_format(&a, s, sizeof s) > 0);
  CHECK_STR(s, "192.0.2.7:8080");
  CHECK_EQ(vg_addr_parse(&b, "2001:db8::1", 443, VG_TRANSPORT_TCP), VG_OK);
  CHECK(vg_addr_format(&b, s, sizeof s) > 0);
  CHECK_STR(s, "[2001:db8::1]:443");
  CHECK(!vg_addr_equal(&a, &b));
  vg_addr_t c;
  vg_addr_set_v4(&c, 0xC0000207u, 8080, VG_TRANSPORT_UDP);
  CHECK(vg_addr_equal(&a, &c));
  CHECK_EQ(vg_addr_hash(&a), vg_addr_hash(&c));
  c.transport = VG_TRANSPORT_TCP;
  CHECK(!vg_addr_equal(&a, &c));
  CHECK_EQ(vg_addr_parse(&a, "example.com", 1, VG_TRANSPORT_UDP), VG_EINVAL);
  CHECK_EQ(vg_addr_parse(&a, "127.0.0.1", 1, VG_TRANSPORT_UDP), VG_OK);
  CHECK(vg_addr_is_loopback(&a));
  CHECK_EQ(vg_addr_format(&b, s, 4), VG_ENOSPC);
}

static void test_hex_colons(void) {
  const uint8_t md[] = {0xab, 0x01, 0xff};
  char out[16];
  vg_format_hex_colons(md, 3, out, sizeof out);
  CHECK_STR(out, "AB:01:FF");
  vg_format_hex_colons(md, 3, out, 6); /* room for "AB:01" only */
  CHECK_STR(out, "AB:01");
  vg_format_hex_colons(md, 0, out, sizeof out);
  CHECK_STR(out, "");
}

static void test_errors_and_levels(void) {
  CHECK_STR(vg_strerror(VG_EAUTH), "authentication failed");
  CHECK_STR(vg_strerror(-999), "unknown error");
  CHECK_EQ(vg_log_level_parse("debug"), VG_LOG_DEBUG);
  CHECK_EQ(vg_log_level_parse("loud"), -1);
}

VGT_MAIN(VGT_CASE(test_reader_bounds), VGT_CASE(test_writer_bounds),
         VGT_CASE(test_addr_roundtrip), VGT_CASE(test_errors_and_levels),
         VGT_CASE(test_hex_colons))
