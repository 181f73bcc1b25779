/* WebSocket opening handshake (RFC 6455 §4): the §1.2/§1.3 example, what
 * browsers send, and the requests the server must refuse. Requests are
 * parsed by the real HTTP codec first. */
#include <stdio.h>
#include <string.h>

#include "sig/http.h"
#include "sig/ws.h"
#include "vgtest.h"

/* RFC 6455 §1.2: the client's opening handshake. */
static const char RFC_REQUEST[] =
    "GET /chat HTTP/1.1\r\n"
    "Host: server.example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Origin: http://example.com\r\n"
    "Sec-WebSocket-Protocol: chat, superchat\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

/* Parses `raw` with the HTTP codec; the conn is returned for destroy. */
static const vg_http_request_t *parse_req(const char *raw, vg_http_conn_t **c) {
  if (vg_http_conn_create(0, c) != VG_OK) return NULL;
  if (vg_http_conn_feed(*c, (const uint8_t *)raw, strlen(raw), NULL, NULL) < 0) return NULL;
  return vg_http_conn_request(*c);
}

static void test_accept_rfc_example(void) {
  vg_http_conn_t *c = NULL;
  const vg_http_request_t *req = parse_req(RFC_REQUEST, &c);
  CHECK(req != NULL && req->upgrade);
  char key[VG_WS_ACCEPT_KEY_SIZE];
  const char *why = "x";
  CHECK_EQ(vg_ws_accept(req, key, sizeof key, &why), 0);
  CHECK(why == NULL);
  /* RFC 6455 §1.3. */
  CHECK_STR(key, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  CHECK_EQ(vg_ws_accept(req, key, sizeof key - 1, NULL), VG_ENOSPC);

  /* RFC 6455 §1.2: the server's handshake, byte for byte. */
  static const char want[] =
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
      "Sec-WebSocket-Protocol: chat\r\n"
      "\r\n";
  char out[VG_WS_HANDSHAKE_RESPONSE_MAX + 40];
  CHECK_EQ(vg_ws_handshake_response("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "chat", out, sizeof out),
           sizeof want - 1);
  CHECK_MEM(out, want, sizeof want - 1);
  /* One byte short fails; no subprotocol drops that line. */
  CHECK_EQ(vg_ws_handshake_response("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "chat", out, sizeof want - 2),
           VG_ENOSPC);
  int n = vg_ws_handshake_response("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", NULL, out, sizeof out);
  CHECK(n > 0 && n <= VG_WS_HANDSHAKE_RESPONSE_MAX);
  CHECK_EQ(n, sizeof want - 1 - strlen("Sec-WebSocket-Protocol: chat\r\n"));
  CHECK_MEM(out + n - 4, "=\r\n\r\n" + 1, 4);
  /* No header injection, no malformed accept value. */
  CHECK_EQ(
      vg_ws_handshake_response("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "chat\r\nX: y", out, sizeof out),
      VG_EINVAL);
  CHECK_EQ(vg_ws_handshake_response("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "", out, sizeof out),
           VG_EINVAL);
  CHECK_EQ(vg_ws_handshake_response("s3pPLMBiTxaQ9kYGzzhZRbK+xOo", NULL, out, sizeof out),
           VG_EINVAL);
  CHECK_EQ(vg_ws_handshake_response("s3pPLMBiTxaQ9kYGzzhZRbK\r\nxOo=", NULL, out, sizeof out),
           VG_EINVAL);
  vg_http_conn_destroy(c);
}

/* What browsers send: Chromium lists an extension we do not take; Firefox
 * adds keep-alive to Connection. Both are accepted. */
static void test_accept_browsers(void) {
  static const char *const reqs[] = {
      "GET /ws/audio HTTP/1.1\r\nHost: 127.0.0.1:8443\r\nConnection: Upgrade\r\n"
      "Pragma: no-cache\r\nCache-Control: no-cache\r\nUpgrade: websocket\r\n"
      "Origin: https://127.0.0.1:8443\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n"
      "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
      "GET /ws/asr HTTP/1.1\r\nHost: example.org\r\nUpgrade: WebSocket\r\n"
      "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
  };
  /* Accept values computed independently:
   *   printf %s KEY258EAFA5-E914-47DA-95CA-C5AB0DC85B11 | openssl sha1 -binary | base64 */
  static const char *const want[] = {"HSmrc0sMlYUkAGmm5OPpG2HaGWk=",
                                     "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="};
  for (size_t i = 0; i < 2; i++) {
    vg_http_conn_t *c = NULL;
    const vg_http_request_t *req = parse_req(reqs[i], &c);
    CHECK(req != NULL);
    char key[VG_WS_ACCEPT_KEY_SIZE];
    CHECK_EQ(vg_ws_accept(req, key, sizeof key, NULL), 0);
    CHECK_STR(key, want[i]);
    vg_http_conn_destroy(c);
  }
}

static void test_accept_refusals(void) {
  static const struct {
    const char *req;
    int status;
    const char *why_part;
  } cases[] = {
      {"POST /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
       "Content-Length: 0\r\n\r\n",
       400, "GET"},
      {"GET /chat HTTP/1.0\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
       400, "HTTP/1.1"},
      {"GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
       400, "Host"},
      {"GET /chat HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
       400, "Upgrade"},
      {"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
       400, "Upgrade"},
      /* "websockets" is not the token "websocket" */
      {"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websockets\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
       400, "Upgrade"},
      {"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
       400, "Connection"},
      {"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
       426, "13"},
      {"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
       426, "13"},
      {"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Version: 13\r\n\r\n",
       400, "Sec-WebSocket-Key"},
      /* base64 of 15 bytes */
      {"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\nSec-WebSocket-Version: 13\r\n\r\n",
       400, "16 bytes"},
      /* base64 of 17 bytes */
      {"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\nSec-WebSocket-Version: 13\r\n\r\n",
       400, "16 bytes"},
      /* not base64 */
      {"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ!=\r\nSec-WebSocket-Version: 13\r\n\r\n",
       400, "16 bytes"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    vg_http_conn_t *c = NULL;
    const vg_http_request_t *req = parse_req(cases[i].req, &c);
    CHECK(req != NULL);
    char key[VG_WS_ACCEPT_KEY_SIZE];
    const char *why = NULL;
    int st = vg_ws_accept(req, key, sizeof key, &why);
    if (st != cases[i].status) fprintf(stderr, "  case %zu: status %d\n", i, st);
    CHECK_EQ(st, cases[i].status);
    CHECK(why != NULL && strstr(why, cases[i].why_part) != NULL);
    vg_http_conn_destroy(c);
  }
}

VGT_MAIN(VGT_CASE(test_accept_rfc_example), VGT_CASE(test_accept_browsers),
         VGT_CASE(test_accept_refusals))
