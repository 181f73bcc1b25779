/* Fuzzes the WebSocket server codec as the IO layer drives it: the input is
 * fed in pieces of pseudo-random size; after each piece every message is
 * polled and (by the same generator) echoed back, and the output is
 * drained or left to pile up; once, a close of our own may start. Checked:
 *
 *   - feed takes every byte, or fails with VG_ELIMIT / VG_ENOMEM for good;
 *   - messages are TEXT (valid UTF-8), BINARY or CLOSED, within
 *     max_message; CLOSED comes once, last, with a code an endpoint may
 *     report; once wants_close() holds and the inbox is drained, no message
 *     ever comes again;
 *   - the pending output stays within max_pending_out + the control slack;
 *   - the output re-parses (RFC 6455 §5.2) as unmasked, unfragmented
 *     frames with known opcodes, control payloads <= 125 bytes, nothing
 *     after a close frame, and its data frames are exactly the messages we
 *     sent, in order.
 *
 *   byte 0: bit 0 small max_message (64), bit 1 small max_pending_out
 *           (512), bit 2 never drain output, bit 3 echo messages,
 *           bits 4-7 seed of the piece sizes
 *   bytes 1..: the client's byte stream
 *
 * With byte 0 = 0xFF the rest is instead an HTTP request for the opening
 * handshake (vg_ws_accept, vg_ws_handshake_response). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sig/http.h"
#include "sig/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond) {
  if (!cond) abort();
}

/* An independent UTF-8 check (RFC 3629 §4): decode, then reject overlong
 * forms, surrogates and values above U+10FFFF. */
static bool utf8_ok(const uint8_t *s, size_t n) {
  for (size_t i = 0; i < n;) {
    uint32_t c = s[i], min;
    size_t k;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      k = 1, c &= 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      k = 2, c &= 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      k = 3, c &= 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (n - i - 1 < k) return false;
    for (size_t j = 1; j <= k; j++) {
      if ((s[i + j] & 0xc0) != 0x80) return false;
      c = c << 6 | (s[i + j] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return false;
    i += k + 1;
  }
  return true;
}

/* FNV-1a over the data frames sent and the data frames parsed back. */
static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

typedef struct {
  uint8_t *buf; /* all output drained so far */
  size_t len, cap;
} sink_t;

/* Takes output in reads of at most `step` bytes; `all` = until none is
 * left, else one read (as an IO layer whose socket is backed up). */
static void sink_drain(vg_ws_t *ws, sink_t *s, size_t step, bool all) {
  for (;;) {
    if (s->cap - s->len < step) {
      s->cap = s->cap * 2 + step;
      s->buf = realloc(s->buf, s->cap);
      check(s->buf != NULL);
    }
    size_t before = vg_ws_pending_out(ws);
    int n = vg_ws_poll_output(ws, s->buf + s->len, step);
    check(n >= 0 && (size_t)n <= step);
    check(vg_ws_pending_out(ws) == before - (size_t)n);
    if (n == 0) break;
    s->len += (size_t)n;
    if (!all) return;
  }
  check(vg_ws_pending_out(ws) == 0);
}

/* Parses the whole output; returns the hash of its data frames. */
static uint64_t parse_output(const uint8_t *b, size_t n, size_t *data_frames) {
  uint64_t h = 0xcbf29ce484222325ull;
  size_t off = 0;
  bool closed = false;
  *data_frames = 0;
  while (off < n) {
    check(!closed); /* nothing after a close frame */
    check(n - off >= 2);
    uint8_t b0 = b[off], b1 = b[off + 1];
    check((b0 & 0xf0) == 0x80); /* FIN, no RSV */
    check((b1 & 0x80) == 0);    /* a server never masks (§5.1) */
    uint8_t op = b0 & 0x0f;
    check(op == 1 || op == 2 || op == 8 || op == 9 || op == 10);
    uint64_t len = b1 & 0x7f;
    size_t h_len = 2;
    if (len == 126) {
      check(n - off >= 4);
      len = (uint64_t)b[off + 2] << 8 | b[off + 3];
      check(len >= 126); /* minimal form (§5.2) */
      h_len = 4;
    } else if (len == 127) {
      check(n - off >= 10);
      len = 0;
      for (int i = 0; i < 8; i++) len = len << 8 | b[off + 2 + i];
      check(len >= 65536 && len < (1ull << 63));
      h_len = 10;
    }
    check(n - off - h_len >= len);
    const uint8_t *p = b + off + h_len;
    if (op >= 8) {
      check(len <= 125);
    } else {
      if (op == 1) check(utf8_ok(p, (size_t)len));
      uint8_t tag[9] = {op};
      for (int i = 0; i < 8; i++) tag[1 + i] = (uint8_t)(len >> (8 * i));
      h = fnv(fnv(h, tag, sizeof tag), p, (size_t)len);
      (*data_frames)++;
    }
    if (op == 8) {
      closed = true;
      check(len != 1);
    }
    off += h_len + (size_t)len;
  }
  return h;
}

static bool code_reportable(uint16_t c) {
  return (c >= 1000 && c <= 1003) || (c >= 1005 && c <= 1014 && c != 1006) ||
         (c >= 3000 && c <= 4999);
}

/* Control byte 0xFF: the rest is an HTTP request; the handshake check
 * must agree with a plain reading of its headers, and its 101 must be
 * exactly as long as its parts. */
static bool has_token(const char *v, const char *tok) {
  size_t tl = strlen(tok);
  for (const char *p = v; *p;) {
    p += strspn(p, " \t,");
    size_t n = strcspn(p, ",");
    size_t m = n;
    while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t')) m--;
    if (m == tl && strncasecmp(p, tok, tl) == 0) return true;
    p += n;
  }
  return false;
}

static void fuzz_handshake(const uint8_t *in, size_t len) {
  vg_http_conn_t *c;
  if (vg_http_conn_create(0, &c) != VG_OK) return;
  const vg_http_request_t *r = NULL;
  if (vg_http_conn_feed(c, in, len, NULL, NULL) >= 0) r = vg_http_conn_request(c);
  if (!r) {
    vg_http_conn_destroy(c);
    return;
  }
  char key[VG_WS_ACCEPT_KEY_SIZE];
  const char *why = NULL;
  check(vg_ws_accept(r, key, sizeof key - 1, &why) == VG_ENOSPC);
  int st = vg_ws_accept(r, key, sizeof key, &why);
  const char *up = vg_http_header(r, "upgrade"), *conn = vg_http_header(r, "connection");
  const char *ver = vg_http_header(r, "sec-websocket-version");
  const char *k = vg_http_header(r, "sec-websocket-key");
  bool want_ok =
      r->method == VG_HTTP_GET && r->http_major == 1 && r->http_minor >= 1 &&
      vg_http_header(r, "host") && up && has_token(up, "websocket") && conn &&
      has_token(conn, "upgrade") && ver && strcmp(ver, "13") == 0 && k && strlen(k) == 24 &&
      k[22] == '=' && k[23] == '=' &&
      strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") == 22;
  if (st == 0) {
    check(want_ok);
    check(why == NULL && strlen(key) == VG_WS_ACCEPT_KEY_LEN);
    char out[VG_WS_HANDSHAKE_RESPONSE_MAX + 64];
    const char *proto = vg_http_header(r, "sec-websocket-protocol");
    int n = vg_ws_handshake_response(key, NULL, out, sizeof out);
    check(n > 0 && n <= VG_WS_HANDSHAKE_RESPONSE_MAX);
    check(memcmp(out + n - 4, "\r\n\r\n", 4) == 0);
    check(vg_ws_handshake_response(key, NULL, out, (size_t)n - 1) == VG_ENOSPC);
    if (proto && strlen(proto) <= 64) {
      int n2 = vg_ws_handshake_response(key, proto, out, sizeof out);
      bool token =
          *proto &&
          strspn(proto,
                 "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") ==
              strlen(proto);
      check(token ? n2 == n + 26 + (int)strlen(proto) : n2 == VG_EINVAL);
    }
  } else {
    check(!want_ok);
    check(st == 400 || st == 426);
    check(why != NULL && *why != '\0');
    check((st == 426) == (r->method == VG_HTTP_GET && r->http_major == 1 && r->http_minor >= 1 &&
                          vg_http_header(r, "host") && up && has_token(up, "websocket") && conn &&
                          has_token(conn, "upgrade") && !(ver && strcmp(ver, "13") == 0)));
  }
  vg_http_conn_destroy(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  if (data[0] == 0xff) {
    fuzz_handshake(data + 1, size - 1);
    return 0;
  }
  uint8_t cfgb = data[0];
  vg_ws_config_t cfg = {(cfgb & 1) ? 64 : 0, (cfgb & 2) ? 512 : 0};
  size_t max_message = cfg.max_message ? cfg.max_message : VG_WS_DEFAULT_MAX_MESSAGE;
  size_t max_pending = cfg.max_pending_out ? cfg.max_pending_out : VG_WS_DEFAULT_MAX_PENDING_OUT;
  bool drain = !(cfgb & 4), echo = (cfgb & 8) != 0;
  uint32_t rng = 0x9e3779b9u * ((cfgb >> 4) + 1);

  vg_ws_t *ws;
  if (vg_ws_create(&cfg, &ws) != VG_OK) return 0;
  sink_t sink = {0};
  uint64_t sent_hash = 0xcbf29ce484222325ull;
  size_t sent_frames = 0;
  bool closed_seen = false, failed = false, we_closed = false;
  int fail_code = 0;

  const uint8_t *in = data + 1;
  size_t len = size - 1, pos = 0;
  while (pos < len) {
    rng = rng * 1103515245u + 12345u;
    size_t piece = 1 + (rng >> 16) % 97;
    if ((rng >> 8) % 7 == 0) piece = len - pos; /* sometimes all the rest */
    if (piece > len - pos) piece = len - pos;
    bool drained_before = !failed && vg_ws_wants_close(ws);
    int r = vg_ws_feed(ws, in + pos, piece);
    pos += piece;
    if (failed) {
      check(r == fail_code);
    } else if (r < 0) {
      check(r == VG_ELIMIT || r == VG_ENOMEM);
      if (r == VG_ELIMIT) check(vg_ws_pending_out(ws) > max_pending + VG_WS_CONTROL_SLACK);
      check(vg_ws_wants_close(ws));
      failed = true;
      fail_code = r;
    } else {
      check((size_t)r == piece);
      check(vg_ws_pending_out(ws) <= max_pending + VG_WS_CONTROL_SLACK);
    }

    vg_ws_msg_t m;
    while (vg_ws_poll_message(ws, &m)) {
      check(!closed_seen);    /* CLOSED is last */
      check(!drained_before); /* nothing new once the WebSocket is over */
      check(m.data != NULL);
      if (m.kind == VG_WS_CLOSED) {
        closed_seen = true;
        check(code_reportable(m.close_code));
        check(m.close_reason != NULL && strlen(m.close_reason) <= m.len);
        check(m.len <= VG_WS_MAX_CLOSE_REASON);
        check(memcmp(m.data, m.close_reason, strlen(m.close_reason)) == 0);
        check(utf8_ok(m.data, m.len));
        continue;
      }
      check(m.kind == VG_WS_TEXT || m.kind == VG_WS_BINARY);
      check(m.len <= max_message);
      check(m.close_code == 0);
      if (m.kind == VG_WS_TEXT) check(utf8_ok(m.data, m.len));
      rng = rng * 1103515245u + 12345u;
      if (echo || (rng >> 20) % 3 == 0) {
        size_t before = vg_ws_pending_out(ws);
        int s = m.kind == VG_WS_TEXT ? vg_ws_send_text(ws, (const char *)m.data, m.len)
                                     : vg_ws_send_binary(ws, m.data, m.len);
        check(s == VG_OK || s == VG_ELIMIT || s == VG_ECLOSED || s == fail_code);
        if (s == VG_OK) {
          uint8_t tag[9] = {m.kind == VG_WS_TEXT ? 1 : 2};
          for (int i = 0; i < 8; i++) tag[1 + i] = (uint8_t)((uint64_t)m.len >> (8 * i));
          sent_hash = fnv(fnv(sent_hash, tag, sizeof tag), m.data, m.len);
          sent_frames++;
          check(vg_ws_pending_out(ws) <= max_pending);
          check(vg_ws_pending_out(ws) > before + m.len);
        } else {
          check(vg_ws_pending_out(ws) == before); /* refused whole */
        }
      }
    }
    if (closed_seen) check(vg_ws_wants_close(ws));
    if (vg_ws_wants_close(ws)) check(closed_seen || failed);

    rng = rng * 1103515245u + 12345u;
    if (!we_closed && (rng >> 16) % 31 == 0) {
      int c = vg_ws_close(ws, 1000 + (rng >> 8) % 2, "bye");
      check(c == VG_OK || c == fail_code);
      we_closed = true;
    }
    rng = rng * 1103515245u + 12345u;
    if (drain) sink_drain(ws, &sink, 1 + (rng >> 12) % 300, (rng >> 4) % 4 != 0);
  }
  sink_drain(ws, &sink, 4096, true);
  size_t frames;
  uint64_t got = parse_output(sink.buf, sink.len, &frames);
  check(frames == sent_frames && got == sent_hash);
  free(sink.buf);
  vg_ws_destroy(ws);
  return 0;
}
