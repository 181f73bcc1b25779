/* WebSocket server framing (RFC 6455 §5-7), driven by client frames built
 * by hand (the §5.7 examples, masked as a client must) and checked against
 * server output parsed by hand. The handshake: test_ws_handshake.c. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sig/ws.h"
#include "vgtest.h"

/* ======================================================================== */
/* Helpers                                                                  */

/* RFC 6455 §5.7's masking key. */
static const uint8_t KEY[4] = {0x37, 0xfa, 0x21, 0x3d};

/* A client frame: FIN/RSV/opcode byte `b0`, masked with KEY, the length in
 * the shortest form (or `len_form` 16/64 to force one). Returns its size. */
static size_t frame_ex(uint8_t *out, uint8_t b0, const void *payload, size_t len, int len_form,
                       bool masked) {
  size_t n = 0;
  out[n++] = b0;
  uint8_t m = masked ? 0x80 : 0;
  if (len_form == 0 && len < 126) {
    out[n++] = (uint8_t)(m | len);
  } else if (len_form == 16 || (len_form == 0 && len < 65536)) {
    out[n++] = m | 126;
    out[n++] = (uint8_t)(len >> 8);
    out[n++] = (uint8_t)len;
  } else {
    out[n++] = m | 127;
    for (int i = 7; i >= 0; i--) out[n++] = (uint8_t)((uint64_t)len >> (8 * i));
  }
  if (masked) {
    memcpy(out + n, KEY, 4);
    n += 4;
  }
  const uint8_t *p = payload;
  for (size_t i = 0; i < len; i++) out[n + i] = masked ? (uint8_t)(p[i] ^ KEY[i % 4]) : p[i];
  return n + len;
}

static size_t frame(uint8_t *out, uint8_t b0, const void *payload, size_t len) {
  return frame_ex(out, b0, payload, len, 0, true);
}

/* A parsed server frame. */
typedef struct {
  uint8_t b0; /* FIN, RSV, opcode */
  bool masked;
  const uint8_t *payload;
  size_t len;
} sframe_t;

/* Parses one frame at buf (RFC 6455 §5.2); returns its size, 0 if short. */
static size_t parse_frame(const uint8_t *buf, size_t n, sframe_t *f) {
  if (n < 2) return 0;
  f->b0 = buf[0];
  f->masked = (buf[1] & 0x80) != 0;
  uint64_t len = buf[1] & 0x7f;
  size_t h = 2;
  if (len == 126) {
    if (n < 4) return 0;
    len = (uint64_t)buf[2] << 8 | buf[3];
    h = 4;
  } else if (len == 127) {
    if (n < 10) return 0;
    len = 0;
    for (int i = 0; i < 8; i++) len = len << 8 | buf[2 + i];
    h = 10;
  }
  if (f->masked) h += 4;
  if (n < h || n - h < len) return 0;
  f->payload = buf + h;
  f->len = (size_t)len;
  return h + (size_t)len;
}

/* Drains all output into out (cap bytes); returns its length. */
static size_t drain(vg_ws_t *ws, uint8_t *out, size_t cap) {
  size_t n = 0;
  int r;
  while ((r = vg_ws_poll_output(ws, out + n, cap - n)) > 0) n += (size_t)r;
  return n;
}

static vg_ws_t *mk(size_t max_message, size_t max_pending_out) {
  vg_ws_config_t cfg = {max_message, max_pending_out};
  vg_ws_t *ws = NULL;
  if (vg_ws_create(&cfg, &ws) != VG_OK) return NULL;
  return ws;
}

static bool feed_all(vg_ws_t *ws, const uint8_t *b, size_t n) {
  return vg_ws_feed(ws, b, n) == (int)n;
}

/* ======================================================================== */
/* Receiving                                                                */

/* RFC 6455 §5.7: "A single-frame masked text message". */
static const uint8_t RFC_MASKED_HELLO[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                           0x7f, 0x9f, 0x4d, 0x51, 0x58};
/* RFC 6455 §5.7: "A single-frame unmasked text message". */
static const uint8_t RFC_UNMASKED_HELLO[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};

static void test_rfc_masked_hello(void) {
  vg_ws_t *ws = mk(0, 0);
  CHECK(ws != NULL);
  /* Our builder makes the RFC's bytes. */
  uint8_t f[32];
  CHECK_EQ(frame(f, 0x81, "Hello", 5), sizeof RFC_MASKED_HELLO);
  CHECK_MEM(f, RFC_MASKED_HELLO, sizeof RFC_MASKED_HELLO);

  CHECK(feed_all(ws, RFC_MASKED_HELLO, sizeof RFC_MASKED_HELLO));
  vg_ws_msg_t m;
  CHECK(vg_ws_poll_message(ws, &m));
  CHECK_EQ(m.kind, VG_WS_TEXT);
  CHECK_EQ(m.len, 5);
  CHECK_MEM(m.data, "Hello", 5);
  CHECK_EQ(m.close_code, 0);
  CHECK(!vg_ws_poll_message(ws, &m));
  CHECK_EQ(vg_ws_pending_out(ws), 0);
  CHECK(!vg_ws_wants_close(ws));
  vg_ws_destroy(ws);
}

/* RFC 6455 §5.1: "The server MUST close the connection upon receiving a
 * frame that is not masked ... status code 1002". */
static void test_unmasked_rejected(void) {
  vg_ws_t *ws = mk(0, 0);
  CHECK(ws != NULL);
  CHECK(feed_all(ws, RFC_UNMASKED_HELLO, sizeof RFC_UNMASKED_HELLO));
  vg_ws_msg_t m;
  CHECK(vg_ws_poll_message(ws, &m));
  CHECK_EQ(m.kind, VG_WS_CLOSED);
  CHECK_EQ(m.close_code, 1002);
  CHECK(!vg_ws_poll_message(ws, &m));
  uint8_t out[64];
  static const uint8_t close_1002[] = {0x88, 0x02, 0x03, 0xea};
  CHECK_EQ(drain(ws, out, sizeof out), sizeof close_1002);
  CHECK_MEM(out, close_1002, sizeof close_1002);
  CHECK(vg_ws_wants_close(ws));
  /* Nothing more is read, and nothing more can be sent. */
  CHECK(feed_all(ws, RFC_MASKED_HELLO, sizeof RFC_MASKED_HELLO));
  CHECK(!vg_ws_poll_message(ws, &m));
  CHECK_EQ(vg_ws_send_text(ws, "x", 1), VG_ECLOSED);
  CHECK_EQ(vg_ws_pending_out(ws), 0);
  vg_ws_destroy(ws);
}

/* RFC 6455 §5.7: "A fragmented unmasked text message" ("Hel" + "lo"),
 * masked as a client must, with a ping between the fragments (§5.4:
 * control frames may be injected in the middle of a fragmented message). */
static void test_fragmented(void) {
  vg_ws_t *ws = mk(0, 0);
  CHECK(ws != NULL);
  uint8_t buf[64];
  size_t n = frame(buf, 0x01, "Hel", 3); /* text, FIN clear */
  CHECK_EQ(buf[0], 0x01);
  CHECK(feed_all(ws, buf, n));
  vg_ws_msg_t m;
  CHECK(!vg_ws_poll_message(ws, &m)); /* not whole yet */
  n = frame(buf, 0x89, "p", 1);       /* ping */
  CHECK(feed_all(ws, buf, n));
  CHECK(!vg_ws_poll_message(ws, &m));
  n = frame(buf, 0x80, "lo", 2); /* continuation, FIN */
  CHECK(feed_all(ws, buf, n));
  CHECK(vg_ws_poll_message(ws, &m));
  CHECK_EQ(m.kind, VG_WS_TEXT);
  CHECK_EQ(m.len, 5);
  CHECK_MEM(m.data, "Hello", 5);
  CHECK(!vg_ws_poll_message(ws, &m));
  uint8_t out[16];
  static const uint8_t pong[] = {0x8a, 0x01, 'p'};
  CHECK_EQ(drain(ws, out, sizeof out), sizeof pong);
  CHECK_MEM(out, pong, sizeof pong);
  vg_ws_destroy(ws);
}

/* RFC 6455 §5.7: "Unmasked Ping request and masked Ping response" — the
 * client's ping (masked here), and our pong, which is the RFC's unmasked
 * form: 0x8a 0x05 "Hello" (§5.5.3: the pong echoes the ping's data). */
static void test_ping_pong(void) {
  vg_ws_t *ws = mk(0, 0);
  CHECK(ws != NULL);
  static const uint8_t ping[] = {0x89, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
  CHECK(feed_all(ws, ping, sizeof ping));
  vg_ws_msg_t m;
  CHECK(!vg_ws_poll_message(ws, &m)); /* control frames are not reported */
  uint8_t out[32];
  static const uint8_t pong[] = {0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
  CHECK_EQ(drain(ws, out, sizeof out), sizeof pong);
  CHECK_MEM(out, pong, sizeof pong);
  /* A pong from the client is silently taken. */
  size_t n = frame(out, 0x8a, "", 0);
  CHECK(feed_all(ws, out, n));
  CHECK(!vg_ws_poll_message(ws, &m));
  CHECK_EQ(vg_ws_pending_out(ws), 0);
  CHECK(!vg_ws_wants_close(ws));
  vg_ws_destroy(ws);
}

/* RFC 6455 §5.7: 256 bytes with a 16-bit length ("0x82 0x7E 0x0100") and
 * 64 KiB with a 64-bit length ("0x82 0x7F 0x0000000000010000"), both ways:
 * received from the client, and sent back by us in the RFC's exact
 * (unmasked) header form. */
static void test_binary_lengths(void) {
  vg_ws_t *ws = mk(0, 0);
  CHECK(ws != NULL);
  size_t sizes[2] = {256, 65536};
  static const uint8_t hdr256[] = {0x82, 0x7e, 0x01, 0x00};
  static const uint8_t hdr64k[] = {0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00};
  const uint8_t *hdrs[2] = {hdr256, hdr64k};
  size_t hlen[2] = {sizeof hdr256, sizeof hdr64k};
  uint8_t *payload = malloc(65536), *buf = malloc(65536 + 64), *out = malloc(65536 + 64);
  CHECK(payload && buf && out);
  for (size_t i = 0; i < 65536; i++) payload[i] = (uint8_t)(i * 7 + 3);
  for (int k = 0; k < 2; k++) {
    size_t n = frame(buf, 0x82, payload, sizes[k]);
    /* The client's header is the RFC's with the mask bit and key. */
    CHECK_EQ(buf[0], 0x82);
    CHECK_EQ(buf[1], hdrs[k][1] | 0x80);
    CHECK_MEM(buf + 2, hdrs[k] + 2, hlen[k] - 2);
    CHECK(feed_all(ws, buf, n));
    vg_ws_msg_t m;
    CHECK(vg_ws_poll_message(ws, &m));
    CHECK_EQ(m.kind, VG_WS_BINARY);
    CHECK_EQ(m.len, sizes[k]);
    CHECK_MEM(m.data, payload, sizes[k]);
    CHECK(!vg_ws_poll_message(ws, &m));

    CHECK_EQ(vg_ws_send_binary(ws, payload, sizes[k]), VG_OK);
    CHECK_EQ(vg_ws_pending_out(ws), hlen[k] + sizes[k]);
    size_t on = drain(ws, out, 65536 + 64);
    CHECK_EQ(on, hlen[k] + sizes[k]);
    CHECK_MEM(out, hdrs[k], hlen[k]);
    CHECK_MEM(out + hlen[k], payload, sizes[k]);
  }
  /* A non-minimal length (256 in the 64-bit form) breaks RFC 6455 §5.2
   * ("the minimal number of bytes MUST be used"). */
  size_t n = frame_ex(buf, 0x82, payload, 256, 64, true);
  CHECK(feed_all(ws, buf, n));
  vg_ws_msg_t m;
  CHECK(vg_ws_poll_message(ws, &m));
  CHECK_EQ(m.kind, VG_WS_CLOSED);
  CHECK_EQ(m.close_code, 1002);
  CHECK(vg_ws_wants_close(ws));
  free(payload);
  free(buf);
  free(out);
  vg_ws_destroy(ws);
}

/* A stream of many frames is parsed the same whether it arrives whole or
 * one byte at a time. */
static void test_split_feeds(void) {
  uint8_t *stream = malloc(4096);
  CHECK(stream != NULL);
  size_t n = 0;
  n += frame(stream + n, 0x81, "Hello", 5);
  n += frame(stream + n, 0x01, "Hel", 3);
  n += frame(stream + n, 0x89, "ping!", 5);
  n += frame(stream + n, 0x80, "lo", 2);
  uint8_t bin[300];
  for (size_t i = 0; i < sizeof bin; i++) bin[i] = (uint8_t)i;
  n += frame(stream + n, 0x82, bin, sizeof bin);
  n += frame(stream + n, 0x82, "", 0);         /* empty message */
  n += frame(stream + n, 0x81, "\xc3\xa9", 2); /* "é" */
  n += frame(stream + n, 0x88,
             "\x03\xe8"
             "bye",
             5);
  n += frame(stream + n, 0x81, "after", 5); /* after the close: ignored */

  struct {
    int kinds[16];
    size_t lens[16];
    int count;
    uint8_t out[512];
    size_t out_len;
    uint16_t code;
  } got[2];
  memset(got, 0, sizeof got);
  for (int mode = 0; mode < 2; mode++) {
    vg_ws_t *ws = mk(0, 0);
    CHECK(ws != NULL);
    size_t step = mode == 0 ? n : 1;
    for (size_t off = 0; off < n; off += step) {
      size_t len = n - off < step ? n - off : step;
      CHECK(feed_all(ws, stream + off, len));
      vg_ws_msg_t m;
      while (vg_ws_poll_message(ws, &m)) {
        CHECK(got[mode].count < 16);
        got[mode].kinds[got[mode].count] = m.kind;
        got[mode].lens[got[mode].count] = m.len;
        got[mode].count++;
        if (m.kind == VG_WS_CLOSED) got[mode].code = m.close_code;
        if (m.kind == VG_WS_BINARY && m.len == sizeof bin) CHECK_MEM(m.data, bin, sizeof bin);
        if (m.kind == VG_WS_TEXT && m.len == 2) CHECK_MEM(m.data, "\xc3\xa9", 2);
      }
      got[mode].out_len +=
          drain(ws, got[mode].out + got[mode].out_len, sizeof got[mode].out - got[mode].out_len);
    }
    CHECK(vg_ws_wants_close(ws));
    vg_ws_destroy(ws);
  }
  static const int kinds[] = {VG_WS_TEXT,   VG_WS_TEXT, VG_WS_BINARY,
                              VG_WS_BINARY, VG_WS_TEXT, VG_WS_CLOSED};
  static const size_t lens[] = {5, 5, 300, 0, 2, 3};
  for (int mode = 0; mode < 2; mode++) {
    CHECK_EQ(got[mode].count, 6);
    for (int i = 0; i < 6; i++) {
      CHECK_EQ(got[mode].kinds[i], kinds[i]);
      CHECK_EQ(got[mode].lens[i], lens[i]);
    }
    CHECK_EQ(got[mode].code, 1000);
  }
  /* Output: the echoed close; fed byte by byte, the pong went out before
   * the close arrived. Fed whole, the close is queued with the pong still
   * waiting, and wslay sends no control frame but the close then (the peer
   * is leaving; RFC 6455 §5.5.1 lets us stop sending after a close). */
  static const uint8_t pong[] = {0x8a, 0x05, 'p', 'i', 'n', 'g', '!'};
  static const uint8_t echo[] = {0x88, 0x05, 0x03, 0xe8, 'b', 'y', 'e'};
  CHECK_EQ(got[0].out_len, sizeof echo);
  CHECK_MEM(got[0].out, echo, sizeof echo);
  CHECK_EQ(got[1].out_len, sizeof pong + sizeof echo);
  CHECK_MEM(got[1].out, pong, sizeof pong);
  CHECK_MEM(got[1].out + sizeof pong, echo, sizeof echo);
  free(stream);
}

/* Several messages from one feed stay valid together until the next poll
 * or feed. */
static void test_many_per_feed(void) {
  vg_ws_t *ws = mk(0, 0);
  CHECK(ws != NULL);
  uint8_t buf[2048];
  size_t n = 0;
  char text[8];
  for (int i = 0; i < 100; i++) {
    int l = snprintf(text, sizeof text, "m%d", i);
    n += frame(buf + n, 0x81, text, (size_t)l);
  }
  CHECK(feed_all(ws, buf, n));
  vg_ws_msg_t m;
  for (int i = 0; i < 100; i++) {
    CHECK(vg_ws_poll_message(ws, &m));
    int l = snprintf(text, sizeof text, "m%d", i);
    CHECK_EQ(m.kind, VG_WS_TEXT);
    CHECK_EQ(m.len, l);
    CHECK_MEM(m.data, text, (size_t)l);
  }
  CHECK(!vg_ws_poll_message(ws, &m));
  vg_ws_destroy(ws);
}

/* RFC 6455 §7.4.1: 1009 for a message too big to process — a single frame
 * over the limit, and fragments that add up to over it. Exactly the limit
 * is fine. */
static void test_oversize(void) {
  uint8_t payload[200], buf[512], out[64];
  memset(payload, 'a', sizeof payload);
  static const uint8_t close_1009[] = {0x88, 0x11, 0x03, 0xf1, 'm', 'e', 's', 's', 'a', 'g',
                                       'e',  ' ',  't',  'o',  'o', ' ', 'b', 'i', 'g'};
  for (int variant = 0; variant < 3; variant++) {
    vg_ws_t *ws = mk(100, 0);
    CHECK(ws != NULL);
    size_t n;
    if (variant == 0) {
      n = frame(buf, 0x81, payload, 100);
    } else if (variant == 1) {
      n = frame(buf, 0x82, payload, 101);
    } else {
      n = frame(buf, 0x02, payload, 60);
      n += frame(buf + n, 0x80, payload, 41);
    }
    CHECK(feed_all(ws, buf, n));
    vg_ws_msg_t m;
    CHECK(vg_ws_poll_message(ws, &m));
    if (variant == 0) {
      CHECK_EQ(m.kind, VG_WS_TEXT);
      CHECK_EQ(m.len, 100);
      CHECK(!vg_ws_wants_close(ws));
    } else {
      CHECK_EQ(m.kind, VG_WS_CLOSED);
      CHECK_EQ(m.close_code, 1009);
      CHECK_STR(m.close_reason, "message too big");
      CHECK(!vg_ws_poll_message(ws, &m));
      CHECK_EQ(drain(ws, out, sizeof out), sizeof close_1009);
      CHECK_MEM(out, close_1009, sizeof close_1009);
      CHECK(vg_ws_wants_close(ws));
    }
    vg_ws_destroy(ws);
  }
  /* An announced 2^62-byte frame is refused with its first payload byte
   * (wslay reports a frame once payload starts), nothing buffered. */
  vg_ws_t *ws = mk(0, 0);
  CHECK(ws != NULL);
  uint8_t hdr[] = {0x82, 0xff, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 0x55};
  CHECK(feed_all(ws, hdr, sizeof hdr));
  vg_ws_msg_t m;
  CHECK(vg_ws_poll_message(ws, &m));
  CHECK_EQ(m.close_code, 1009);
  vg_ws_destroy(ws);
}

/* RFC 6455 §8.1: text that is not UTF-8 fails the connection with 1007 —
 * an overlong form, a surrogate, and a sequence cut at the message's end;
 * a character split across two fragments is fine. */
static void test_bad_utf8(void) {
  static const struct {
    const char *a, *b; /* fragments (b NULL: one frame) */
    bool ok;
  } cases[] = {
      {"\xc0\xaf", NULL, false},         /* overlong '/' */
      {"ab\xed\xa0\x80", NULL, false},   /* U+D800 */
      {"\xf4\x90\x80\x80", NULL, false}, /* above U+10FFFF */
      {"abc\xe2\x82", NULL, false},      /* cut short at the end */
      {"ab\xe2\x82", "\xac", true},      /* U+20AC split across fragments */
      {"ab\xe2\x82", "x", false},        /* split, then broken */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    vg_ws_t *ws = mk(0, 0);
    CHECK(ws != NULL);
    uint8_t buf[64];
    size_t n;
    if (!cases[i].b) {
      n = frame(buf, 0x81, cases[i].a, strlen(cases[i].a));
    } else {
      n = frame(buf, 0x01, cases[i].a, strlen(cases[i].a));
      n += frame(buf + n, 0x80, cases[i].b, strlen(cases[i].b));
    }
    CHECK(feed_all(ws, buf, n));
    vg_ws_msg_t m;
    CHECK(vg_ws_poll_message(ws, &m));
    if (cases[i].ok) {
      CHECK_EQ(m.kind, VG_WS_TEXT);
      CHECK_MEM(m.data, "ab\xe2\x82\xac", 5);
    } else {
      CHECK_EQ(m.kind, VG_WS_CLOSED);
      CHECK_EQ(m.close_code, 1007);
      uint8_t out[16];
      static const uint8_t close_1007[] = {0x88, 0x02, 0x03, 0xef};
      CHECK_EQ(drain(ws, out, sizeof out), sizeof close_1007);
      CHECK_MEM(out, close_1007, sizeof close_1007);
    }
    vg_ws_destroy(ws);
  }
  /* Binary is not checked. */
  vg_ws_t *ws = mk(0, 0);
  CHECK(ws != NULL);
  uint8_t buf[16];
  size_t n = frame(buf, 0x82, "\xc0\xaf", 2);
  CHECK(feed_all(ws, buf, n));
  vg_ws_msg_t m;
  CHECK(vg_ws_poll_message(ws, &m));
  CHECK_EQ(m.kind, VG_WS_BINARY);
  vg_ws_destroy(ws);
}

/* RFC 6455 §5.2 / §5.4 / §5.5: frames that break the framing rules. */
static void test_protocol_errors(void) {
  static const struct {
    uint8_t b0;
    size_t len;
    bool prefix_fragment; /* send an unfinished text fragment first */
    bool coded;           /* our close frame carries 1002 */
  } cases[] = {
      {0x83, 1, false, true},   /* reserved data opcode 3 */
      {0x8b, 1, false, true},   /* reserved control opcode 0xB */
      {0xc1, 1, false, true},   /* RSV1 without an extension */
      {0xa1, 1, false, true},   /* RSV2 */
      {0x91, 1, false, true},   /* RSV3 */
      {0x80, 1, false, true},   /* continuation with no message */
      {0x81, 1, true, true},    /* new message inside a fragmented one */
      {0x09, 1, false, false},  /* fragmented ping (§5.5: control frames MUST NOT be fragmented) */
      {0x89, 126, false, false} /* ping over 125 bytes (§5.5) */
  };
  uint8_t payload[200];
  memset(payload, 'x', sizeof payload);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    vg_ws_t *ws = mk(0, 0);
    CHECK(ws != NULL);
    uint8_t buf[512];
    size_t n = 0;
    if (cases[i].prefix_fragment) n += frame(buf, 0x01, "ab", 2);
    n += frame(buf + n, cases[i].b0, payload, cases[i].len);
    CHECK(feed_all(ws, buf, n));
    vg_ws_msg_t m;
    CHECK(vg_ws_poll_message(ws, &m));
    if (m.kind != VG_WS_CLOSED) fprintf(stderr, "  case %zu: kind %d\n", i, m.kind);
    CHECK_EQ(m.kind, VG_WS_CLOSED);
    CHECK_EQ(m.close_code, 1002);
    CHECK(m.close_reason[0] != '\0');
    CHECK(!vg_ws_poll_message(ws, &m));
    uint8_t out[16];
    size_t on = drain(ws, out, sizeof out);
    sframe_t f;
    CHECK_EQ(parse_frame(out, on, &f), on);
    CHECK_EQ(f.b0, 0x88);
    CHECK(!f.masked);
    if (cases[i].coded) {
      CHECK_EQ(f.len, 2);
      CHECK_MEM(f.payload, "\x03\xea", 2);
    } else {
      CHECK_EQ(f.len, 0); /* wslay's frame layer sends no code */
    }
    CHECK(vg_ws_wants_close(ws));
    vg_ws_destroy(ws);
  }
}

/* ======================================================================== */
/* Closing                                                                  */

/* RFC 6455 §5.5.1: the peer closes; we answer with its code and report. */
static void test_close_from_peer(void) {
  vg_ws_t *ws = mk(0, 0);
  CHECK(ws != NULL);
  uint8_t buf[64], out[64];
  size_t n = frame(buf, 0x81, "last", 4);
  n += frame(buf + n, 0x88,
             "\x03\xe9"
             "going",
             7); /* 1001 "going" */
  CHECK(feed_all(ws, buf, n));
  vg_ws_msg_t m;
  CHECK(vg_ws_poll_message(ws, &m));
  CHECK_EQ(m.kind, VG_WS_TEXT); /* what came before the close comes first */
  CHECK(vg_ws_poll_message(ws, &m));
  CHECK_EQ(m.kind, VG_WS_CLOSED);
  CHECK_EQ(m.close_code, 1001);
  CHECK_STR(m.close_reason, "going");
  CHECK_EQ(m.len, 5);
  CHECK(!vg_ws_poll_message(ws, &m));
  static const uint8_t echo[] = {0x88, 0x07, 0x03, 0xe9, 'g', 'o', 'i', 'n', 'g'};
  CHECK_EQ(drain(ws, out, sizeof out), sizeof echo);
  CHECK_MEM(out, echo, sizeof echo);
  CHECK(vg_ws_wants_close(ws));
  CHECK_EQ(vg_ws_send_text(ws, "x", 1), VG_ECLOSED);
  CHECK_EQ(vg_ws_send_binary(ws, NULL, 0), VG_ECLOSED);
  CHECK_EQ(vg_ws_close(ws, 1000, NULL), VG_OK); /* already closing: nothing more */
  CHECK_EQ(vg_ws_pending_out(ws), 0);
  vg_ws_destroy(ws);

  /* A close without a code: reported as 1005, answered without one. */
  ws = mk(0, 0);
  CHECK(ws != NULL);
  n = frame(buf, 0x88, "", 0);
  CHECK(feed_all(ws, buf, n));
  CHECK(vg_ws_poll_message(ws, &m));
  CHECK_EQ(m.kind, VG_WS_CLOSED);
  CHECK_EQ(m.close_code, 1005);
  CHECK_STR(m.close_reason, "");
  CHECK_EQ(drain(ws, out, sizeof out), 2);
  CHECK_MEM(out, "\x88\x00", 2);
  CHECK(vg_ws_wants_close(ws));
  vg_ws_destroy(ws);

  /* A close code no endpoint may send (RFC 6455 §7.4.1: 1005) → 1002. */
  ws = mk(0, 0);
  CHECK(ws != NULL);
  n = frame(buf, 0x88, "\x03\xed", 2);
  CHECK(feed_all(ws, buf, n));
  CHECK(vg_ws_poll_message(ws, &m));
  CHECK_EQ(m.close_code, 1002);
  CHECK_EQ(drain(ws, out, sizeof out), 4);
  CHECK_MEM(out, "\x88\x02\x03\xea", 4);
  vg_ws_destroy(ws);
}

/* RFC 6455 §7.1.2: we close first; the peer's messages still arrive until
 * its close answers ours; only then is the handshake done. */
static void test_close_from_server(void) {
  vg_ws_t *ws = mk(0, 0);
  CHECK(ws != NULL);
  uint8_t buf[64], out[64];
  CHECK_EQ(vg_ws_close(ws, 999, NULL), VG_EINVAL);
  CHECK_EQ(vg_ws_close(ws, 1005, NULL), VG_EINVAL);
  CHECK_EQ(vg_ws_close(ws, 1006, NULL), VG_EINVAL);
  CHECK_EQ(vg_ws_close(ws, 0, "why"), VG_EINVAL);
  char long_reason[VG_WS_MAX_CLOSE_REASON + 2];
  memset(long_reason, 'r', sizeof long_reason - 1);
  long_reason[sizeof long_reason - 1] = '\0';
  CHECK_EQ(vg_ws_close(ws, 1000, long_reason), VG_EINVAL);
  CHECK_EQ(vg_ws_close(ws, 1000, "\xff"), VG_EINVAL);
  CHECK_EQ(vg_ws_pending_out(ws), 0);

  CHECK_EQ(vg_ws_close(ws, 1000, "done"), VG_OK);
  static const uint8_t close_frame[] = {0x88, 0x06, 0x03, 0xe8, 'd', 'o', 'n', 'e'};
  CHECK_EQ(drain(ws, out, sizeof out), sizeof close_frame);
  CHECK_MEM(out, close_frame, sizeof close_frame);
  CHECK(!vg_ws_wants_close(ws)); /* waiting for the peer's close */
  CHECK_EQ(vg_ws_send_text(ws, "x", 1), VG_ECLOSED);
  CHECK_EQ(vg_ws_close(ws, 1001, NULL), VG_OK); /* the first close stands */
  CHECK_EQ(vg_ws_pending_out(ws), 0);

  size_t n = frame(buf, 0x81, "late", 4);
  CHECK(feed_all(ws, buf, n));
  vg_ws_msg_t m;
  CHECK(vg_ws_poll_message(ws, &m));
  CHECK_EQ(m.kind, VG_WS_TEXT);
  CHECK_MEM(m.data, "late", 4);
  CHECK(!vg_ws_wants_close(ws));

  n = frame(buf, 0x88, "\x03\xe8", 2);
  CHECK(feed_all(ws, buf, n));
  CHECK(vg_ws_poll_message(ws, &m));
  CHECK_EQ(m.kind, VG_WS_CLOSED);
  CHECK_EQ(m.close_code, 1000);
  CHECK(vg_ws_wants_close(ws));
  CHECK_EQ(vg_ws_pending_out(ws), 0); /* no second close frame */
  vg_ws_destroy(ws);

  /* Codes for the IO layer's back-pressure endings are sendable. */
  ws = mk(0, 0);
  CHECK(ws != NULL);
  CHECK_EQ(vg_ws_close(ws, VG_WS_CLOSE_TRY_AGAIN, "server overloaded"), VG_OK);
  CHECK_EQ(drain(ws, out, sizeof out), 2 + 2 + 17);
  CHECK_MEM(out,
            "\x88\x13\x03\xf5"
            "server overloaded",
            21);
  vg_ws_destroy(ws);
}

/* ======================================================================== */
/* Sending                                                                  */

/* Our frames are unmasked (RFC 6455 §5.1), single, FIN set; text is the
 * RFC's unmasked "Hello" exactly; a stream of them parses back. */
static void test_server_frames(void) {
  vg_ws_t *ws = mk(0, 0);
  CHECK(ws != NULL);
  CHECK_EQ(vg_ws_send_text(ws, "Hello", 5), VG_OK);
  uint8_t out[512];
  CHECK_EQ(drain(ws, out, sizeof out), sizeof RFC_UNMASKED_HELLO);
  CHECK_MEM(out, RFC_UNMASKED_HELLO, sizeof RFC_UNMASKED_HELLO);

  uint8_t bin[200];
  for (size_t i = 0; i < sizeof bin; i++) bin[i] = (uint8_t)(255 - i);
  static const char json[] = "{\"type\":\"partial\",\"text\":\"caf\xc3\xa9\"}";
  CHECK_EQ(vg_ws_send_text(ws, json, strlen(json)), VG_OK);
  CHECK_EQ(vg_ws_send_binary(ws, bin, sizeof bin), VG_OK);
  CHECK_EQ(vg_ws_send_text(ws, NULL, 0), VG_OK);
  CHECK_EQ(vg_ws_send_binary(ws, NULL, 5), VG_EINVAL);
  /* Drained in small pieces, the bytes are the same. */
  size_t on = 0;
  int r;
  while ((r = vg_ws_poll_output(ws, out + on, 7)) > 0) {
    CHECK(r <= 7);
    on += (size_t)r;
  }
  CHECK_EQ(vg_ws_pending_out(ws), 0);
  sframe_t f;
  size_t off = 0, k;
  CHECK((k = parse_frame(out + off, on - off, &f)) > 0);
  CHECK_EQ(f.b0, 0x81);
  CHECK(!f.masked);
  CHECK_EQ(f.len, strlen(json));
  CHECK_MEM(f.payload, json, strlen(json));
  off += k;
  CHECK((k = parse_frame(out + off, on - off, &f)) > 0);
  CHECK_EQ(f.b0, 0x82);
  CHECK(!f.masked);
  CHECK_EQ(f.len, sizeof bin);
  CHECK_MEM(f.payload, bin, sizeof bin);
  off += k;
  CHECK((k = parse_frame(out + off, on - off, &f)) > 0);
  CHECK_EQ(f.b0, 0x81);
  CHECK_EQ(f.len, 0);
  off += k;
  CHECK_EQ(off, on);
  vg_ws_destroy(ws);
}

/* Output taken in pieces while more is queued: what is left moves to the
 * front of the buffer (4 KiB to start) and the stream stays whole. */
static void test_partial_drain(void) {
  vg_ws_t *ws = mk(0, 0);
  CHECK(ws != NULL);
  uint8_t *a = malloc(3000), *out = malloc(8192);
  CHECK(a && out);
  for (size_t i = 0; i < 3000; i++) a[i] = (uint8_t)(i % 251);
  CHECK_EQ(vg_ws_send_binary(ws, a, 3000), VG_OK);
  size_t on = drain(ws, out, 2000); /* a socket that took 2000 bytes */
  CHECK_EQ(on, 2000);
  CHECK_EQ(vg_ws_send_binary(ws, a, 3000), VG_OK);
  CHECK_EQ(vg_ws_pending_out(ws), 2 * 3004 - 2000);
  on += drain(ws, out + on, 8192 - on);
  CHECK_EQ(on, 2 * 3004);
  sframe_t f;
  size_t k = parse_frame(out, on, &f);
  CHECK_EQ(k, 3004);
  CHECK_EQ(f.len, 3000);
  CHECK_MEM(f.payload, a, 3000);
  CHECK_EQ(parse_frame(out + k, on - k, &f), 3004);
  CHECK_MEM(f.payload, a, 3000);
  free(a);
  free(out);
  vg_ws_destroy(ws);
}

/* RFC 6455 §5.6: text must be UTF-8; we refuse to send anything else
 * (the browser would fail the connection with 1007). */
static void test_send_utf8(void) {
  vg_ws_t *ws = mk(0, 0);
  CHECK(ws != NULL);
  static const struct {
    const char *s;
    bool ok;
  } cases[] = {
      {"plain", true},
      {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x8e\xa4", true}, /* é € 🎤 */
      {"\xf4\x8f\xbf\xbf", true},                     /* U+10FFFF */
      {"\xef\xbf\xbf", true},                         /* U+FFFF */
      {"caf\xe9", false},                             /* Latin-1 */
      {"\xc0\x80", false},                            /* overlong NUL */
      {"\xe0\x9f\xbf", false},                        /* overlong */
      {"\xed\xbf\xbf", false},                        /* surrogate */
      {"\xf4\x90\x80\x80", false},                    /* > U+10FFFF */
      {"\xf5\x80\x80\x80", false},
      {"\x80", false}, /* stray continuation */
      {"\xe2\x82", false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int r = vg_ws_send_text(ws, cases[i].s, strlen(cases[i].s));
    if (r != (cases[i].ok ? VG_OK : VG_EINVAL)) fprintf(stderr, "  case %zu: %d\n", i, r);
    CHECK_EQ(r, cases[i].ok ? VG_OK : VG_EINVAL);
  }
  /* Only the four valid ones were queued. */
  uint8_t out[256];
  size_t on = drain(ws, out, sizeof out), off = 0, count = 0, k;
  sframe_t f;
  while ((k = parse_frame(out + off, on - off, &f)) > 0) {
    off += k;
    count++;
  }
  CHECK_EQ(off, on);
  CHECK_EQ(count, 4);
  vg_ws_destroy(ws);
}

/* Back-pressure: sends beyond max_pending_out are refused whole and leave
 * the queue as it was; draining makes room again. A peer that pings and
 * never reads is cut off once its pongs pass the control slack. */
static void test_backpressure(void) {
  vg_ws_t *ws = mk(0, 1000);
  CHECK(ws != NULL);
  uint8_t data[1000];
  memset(data, 'd', sizeof data);
  CHECK_EQ(vg_ws_send_binary(ws, data, 500), VG_OK);
  CHECK_EQ(vg_ws_pending_out(ws), 504);
  /* The check reserves the largest header (10 bytes): 504 + 490 + 10 > 1000. */
  CHECK_EQ(vg_ws_send_binary(ws, data, 490), VG_ELIMIT);
  CHECK_EQ(vg_ws_pending_out(ws), 504);
  CHECK_EQ(vg_ws_send_binary(ws, data, 486), VG_OK); /* 504 + 486 + 10 = 1000 */
  CHECK_EQ(vg_ws_pending_out(ws), 994);
  CHECK_EQ(vg_ws_send_text(ws, "x", 1), VG_ELIMIT);
  CHECK_EQ(vg_ws_send_binary(ws, data, sizeof data), VG_ELIMIT);
  uint8_t out[2048];
  size_t on = drain(ws, out, 600);
  CHECK_EQ(on, 600);
  CHECK_EQ(vg_ws_pending_out(ws), 394);
  CHECK_EQ(vg_ws_send_text(ws, "x", 1), VG_OK);
  vg_ws_destroy(ws);

  ws = mk(0, 1000);
  CHECK(ws != NULL);
  CHECK_EQ(vg_ws_send_binary(ws, data, 900), VG_OK);
  /* A close is never refused: the IO layer ends a stuck session with it. */
  CHECK_EQ(vg_ws_close(ws, VG_WS_CLOSE_POLICY, "client not reading"), VG_OK);
  CHECK_EQ(vg_ws_pending_out(ws), 904 + 2 + 2 + 18);
  vg_ws_destroy(ws);

  /* Ping flood, nothing drained: pongs pile up to the slack, then feed
   * fails with VG_ELIMIT for good. */
  ws = mk(0, 1000);
  CHECK(ws != NULL);
  uint8_t ping[200], pl[125];
  memset(pl, 'p', sizeof pl);
  size_t pn = frame(ping, 0x89, pl, sizeof pl);
  int r = 0;
  size_t fed = 0;
  while ((r = vg_ws_feed(ws, ping, pn)) == (int)pn) {
    fed++;
    CHECK(fed < 1000);
    CHECK(vg_ws_pending_out(ws) <= 1000 + VG_WS_CONTROL_SLACK);
  }
  CHECK_EQ(r, VG_ELIMIT);
  CHECK(vg_ws_pending_out(ws) > 1000 + VG_WS_CONTROL_SLACK);
  CHECK(vg_ws_pending_out(ws) <= 1000 + VG_WS_CONTROL_SLACK + 127);
  CHECK(vg_ws_wants_close(ws));
  CHECK_EQ(vg_ws_feed(ws, ping, pn), VG_ELIMIT);
  CHECK_EQ(vg_ws_send_text(ws, "x", 1), VG_ELIMIT);
  CHECK_EQ(vg_ws_close(ws, 1000, NULL), VG_ELIMIT);
  /* What was queued can still be drained: whole pongs. */
  uint8_t *all = malloc(vg_ws_pending_out(ws));
  CHECK(all != NULL);
  size_t total = vg_ws_pending_out(ws);
  CHECK_EQ(drain(ws, all, total), total);
  CHECK_EQ(total % 127, 0);
  CHECK_MEM(all, "\x8a\x7d", 2);
  free(all);
  vg_ws_destroy(ws);
}

static void test_create_destroy(void) {
  vg_ws_destroy(NULL);
  vg_ws_t *ws = NULL;
  CHECK_EQ(vg_ws_create(NULL, &ws), VG_OK);
  CHECK(ws != NULL);
  /* Defaults: a 1 MiB message passes, one byte more does not. */
  size_t big = VG_WS_DEFAULT_MAX_MESSAGE;
  uint8_t *buf = malloc(big + 16), *payload = calloc(1, big + 1);
  CHECK(buf && payload);
  size_t n = frame(buf, 0x82, payload, big);
  CHECK(feed_all(ws, buf, n));
  vg_ws_msg_t m;
  CHECK(vg_ws_poll_message(ws, &m));
  CHECK_EQ(m.kind, VG_WS_BINARY);
  CHECK_EQ(m.len, big);
  n = frame(buf, 0x82, payload, big + 1);
  CHECK(feed_all(ws, buf, n));
  CHECK(vg_ws_poll_message(ws, &m));
  CHECK_EQ(m.close_code, 1009);
  free(buf);
  free(payload);
  vg_ws_destroy(ws);
}

VGT_MAIN(VGT_CASE(test_rfc_masked_hello), VGT_CASE(test_unmasked_rejected),
         VGT_CASE(test_fragmented), VGT_CASE(test_ping_pong), VGT_CASE(test_binary_lengths),
         VGT_CASE(test_split_feeds), VGT_CASE(test_many_per_feed), VGT_CASE(test_oversize),
         VGT_CASE(test_bad_utf8), VGT_CASE(test_protocol_errors), VGT_CASE(test_close_from_peer),
         VGT_CASE(test_close_from_server), VGT_CASE(test_server_frames),
         VGT_CASE(test_partial_drain), VGT_CASE(test_send_utf8), VGT_CASE(test_backpressure),
         VGT_CASE(test_create_destroy))
