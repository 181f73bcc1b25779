/* TLS server tests, connections: handshakes, application data, failures,
 * limits and closing, against a real OpenSSL client (tls_test_client.h). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "base/log.h"
#include "sig/tls.h"
#include "tls_test_client.h"
#include "vgtest.h"

/* ---------------------------------------------------------------------- */
/* Handshakes                                                             */

static void check_alpn(client_t *c, const char *want) {
  const unsigned char *sel = NULL;
  unsigned n = 0;
  SSL_get0_alpn_selected(c->ssl, &sel, &n);
  if (!want) {
    CHECK_EQ(n, 0);
    return;
  }
  CHECK_EQ(n, strlen(want));
  CHECK_MEM(sel, want, n);
}

static void test_handshake_tls13(void) {
  client_opts_t o = {.host = "localhost"};
  pair_t p;
  bool ok = pair_open(&p, &o);
  CHECK(ok);
  CHECK_EQ(SSL_version(p.c.ssl), TLS1_3_VERSION);
  CHECK_EQ(SSL_get_verify_result(p.c.ssl), X509_V_OK);
  CHECK_STR(vg_tls_version(p.s), "TLSv1.3");
  CHECK(strncmp(vg_tls_cipher(p.s), "TLS_", 4) == 0);
  check_alpn(&p.c, "http/1.1");
  CHECK(vg_tls_reason(p.s) == NULL);
  pair_close(&p);
}

static void test_handshake_tls12(void) {
  client_opts_t o = {.max_version = TLS1_2_VERSION, .host = "localhost"};
  pair_t p;
  bool ok = pair_open(&p, &o);
  CHECK(ok);
  CHECK_EQ(SSL_version(p.c.ssl), TLS1_2_VERSION);
  CHECK_STR(vg_tls_version(p.s), "TLSv1.2");
  /* ECDHE with an AEAD, signed with our ECDSA key. */
  CHECK_STR(vg_tls_cipher(p.s), SSL_get_cipher_name(p.c.ssl));
  CHECK(strncmp(vg_tls_cipher(p.s), "ECDHE-ECDSA-", 12) == 0);
  CHECK(strstr(vg_tls_cipher(p.s), "GCM") || strstr(vg_tls_cipher(p.s), "CHACHA20"));
  check_alpn(&p.c, "http/1.1");
  pair_close(&p);
}

/* TLS 1.1 and older are refused (protocol_version alert). */
static void test_old_versions_refused(void) {
  vg_tls_ctx_t *ctx = self_signed();
  CHECK(ctx);
  vg_tls_t *s = NULL;
  CHECK_EQ(vg_tls_create(ctx, &s), VG_OK);
  client_t c;
  client_opts_t o = {0};
  CHECK(client_init(&c, NULL, &o));
  SSL_set_security_level(c.ssl, 0);
  SSL_set_min_proto_version(c.ssl, TLS1_VERSION);
  SSL_set_max_proto_version(c.ssl, TLS1_1_VERSION);
  pump_t r = pump(&c, s);
  CHECK_EQ(r.feed_rc, VG_EPROTO);
  CHECK(r.why && strstr(r.why, "handshake"));
  CHECK(c.hs_result != 1);
  CHECK(!vg_tls_handshake_done(s));
  client_free(&c);
  vg_tls_destroy(s);
  vg_tls_ctx_destroy(ctx);
}

/* ---------------------------------------------------------------------- */
/* Application data                                                       */

static void fill_body(char *b, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) b[i] = (char)('a' + (i * 7 + seed + i / 13) % 26);
}

static void test_http_exchange(void) {
  client_opts_t o = {.host = "localhost"};
  pair_t p;
  bool ok = pair_open(&p, &o);
  CHECK(ok);
  /* A WHIP offer of a realistic size, written by the client in pieces. */
  static char req[6000];
  static char body[5000];
  fill_body(body, sizeof body, 1);
  int hl = snprintf(req, sizeof req,
                    "POST /whip?mode=transcribe HTTP/1.1\r\nHost: localhost:8080\r\n"
                    "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n",
                    sizeof body);
  memcpy(req + hl, body, sizeof body);
  size_t req_len = (size_t)hl + sizeof body;
  for (size_t off = 0, k = 0; off < req_len; k++) {
    size_t n = CHUNKS[k % N_CHUNKS] < req_len - off ? CHUNKS[k % N_CHUNKS] : req_len - off;
    CHECK_EQ(SSL_write(p.c.ssl, req + off, (int)n), (int)n);
    off += n;
  }
  pump_t r = pump(&p.c, p.s);
  CHECK_EQ(r.feed_rc, 0);
  static uint8_t got[8000];
  size_t got_len = 0;
  CHECK_EQ(server_read_all(p.s, got, sizeof got, &got_len), 0);
  CHECK_EQ(got_len, req_len);
  CHECK_MEM(got, req, req_len);

  /* A 40 KB response (three records and a bit), in odd-sized writes. */
  static char resp[40000];
  fill_body(resp, sizeof resp, 5);
  memcpy(resp, "HTTP/1.1 201 Created\r\n", 22);
  for (size_t off = 0, k = 3; off < sizeof resp; k++) {
    size_t n = CHUNKS[k % N_CHUNKS] < sizeof resp - off ? CHUNKS[k % N_CHUNKS] : sizeof resp - off;
    CHECK_EQ(vg_tls_write(p.s, (const uint8_t *)resp + off, n), (int)n);
    off += n;
  }
  r = pump(&p.c, p.s);
  CHECK(r.to_client > sizeof resp); /* encrypted, with record overhead */
  static char back[40000];
  size_t back_len = 0;
  int n;
  while (back_len < sizeof back &&
         (n = SSL_read(p.c.ssl, back + back_len, (int)(sizeof back - back_len))) > 0)
    back_len += (size_t)n;
  CHECK_EQ(back_len, sizeof resp);
  CHECK_MEM(back, resp, sizeof resp);
  CHECK_EQ(vg_tls_read(p.s, got, sizeof got), 0); /* nothing more */
  pair_close(&p);
}

/* A TLS 1.3 client sends its request right behind its Finished (it may,
 * RFC 8446 §2): one feed completes the handshake and leaves the request to
 * read. */
static void test_request_behind_client_finished(void) {
  vg_tls_ctx_t *ctx = self_signed();
  CHECK(ctx);
  X509 *anchor = ctx_cert(ctx);
  vg_tls_t *s = NULL;
  CHECK_EQ(vg_tls_create(ctx, &s), VG_OK);
  client_t c;
  client_opts_t o = {.host = "localhost"};
  CHECK(client_init(&c, anchor, &o));
  uint8_t buf[8192];
  int n;
  client_step(&c); /* ClientHello */
  n = BIO_read(c.wbio, buf, sizeof buf);
  CHECK(n > 0);
  CHECK_EQ(vg_tls_feed(s, buf, (size_t)n, NULL), n);
  CHECK(!vg_tls_handshake_done(s));
  while ((n = vg_tls_poll_output(s, buf, sizeof buf)) > 0) BIO_write(c.rbio, buf, n);
  client_step(&c); /* reads the server's flight, writes its Finished */
  CHECK_EQ(c.hs_result, 1);
  static const char req[] = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
  CHECK_EQ(SSL_write(c.ssl, req, (int)sizeof req - 1), (int)sizeof req - 1);
  n = BIO_read(c.wbio, buf, sizeof buf); /* Finished + request record */
  CHECK(n > 0);
  CHECK_EQ(vg_tls_feed(s, buf, (size_t)n, NULL), n);
  CHECK(vg_tls_handshake_done(s));
  uint8_t got[128];
  size_t len = 0;
  CHECK_EQ(server_read_all(s, got, sizeof got, &len), 0);
  CHECK_EQ(len, sizeof req - 1);
  CHECK_MEM(got, req, len);
  client_free(&c);
  X509_free(anchor);
  vg_tls_destroy(s);
  vg_tls_ctx_destroy(ctx);
}

/* Plaintext written before the handshake completes is sent right after
 * it, in order, ahead of later writes. */
static void test_write_before_handshake_is_queued(void) {
  vg_tls_ctx_t *ctx = self_signed();
  CHECK(ctx);
  vg_tls_t *s = NULL;
  CHECK_EQ(vg_tls_create(ctx, &s), VG_OK);
  CHECK_EQ(vg_tls_write(s, (const uint8_t *)"early ", 6), 6);
  CHECK_EQ(vg_tls_write(s, (const uint8_t *)"bird ", 5), 5);
  uint8_t out[64];
  CHECK_EQ(vg_tls_poll_output(s, out, sizeof out), 0); /* nothing in clear */
  CHECK_EQ(vg_tls_read(s, out, sizeof out), 0);
  X509 *anchor = ctx_cert(ctx);
  client_t c;
  client_opts_t o = {.host = "localhost"};
  CHECK(client_init(&c, anchor, &o));
  pump_t r = pump(&c, s);
  CHECK_EQ(r.feed_rc, 0);
  CHECK(vg_tls_handshake_done(s));
  CHECK_EQ(vg_tls_write(s, (const uint8_t *)"song", 4), 4);
  (void)pump(&c, s);
  char got[32] = {0};
  size_t len = 0;
  int n;
  while ((n = SSL_read(c.ssl, got + len, (int)(sizeof got - 1 - len))) > 0) len += (size_t)n;
  CHECK_STR(got, "early bird song");
  client_free(&c);
  X509_free(anchor);
  vg_tls_destroy(s);
  vg_tls_ctx_destroy(ctx);
}

/* ---------------------------------------------------------------------- */
/* Failures                                                               */

/* Feeds `in` to a fresh server; returns the result and checks that a
 * failure says why and sticks. */
static int feed_fresh(vg_tls_ctx_t *ctx, const void *in, size_t len, char *why_out, size_t cap,
                      uint8_t *alert, size_t *alert_len) {
  vg_tls_t *s = NULL;
  if (vg_tls_create(ctx, &s) != VG_OK) return -1000;
  const char *why = NULL;
  int rc = vg_tls_feed(s, in, len, &why);
  if (rc < 0) {
    snprintf(why_out, cap, "%s", why ? why : "");
    const char *why2 = NULL;
    if (!why || !*why || vg_tls_feed(s, (const uint8_t *)"x", 1, &why2) != rc || why2 != why ||
        vg_tls_read(s, alert, 1) != rc || vg_tls_write(s, (const uint8_t *)"x", 1) != rc ||
        strcmp(vg_tls_reason(s), why) != 0)
      rc = -2000;
  }
  *alert_len = 0;
  int n;
  while ((n = vg_tls_poll_output(s, alert + *alert_len, 64)) > 0) *alert_len += (size_t)n;
  vg_tls_destroy(s);
  return rc;
}

static void test_garbage_instead_of_client_hello(void) {
  vg_tls_ctx_t *ctx = self_signed();
  CHECK(ctx);
  char why[256];
  uint8_t out[512];
  size_t out_len;
  /* Plain HTTP: OpenSSL recognises it. */
  static const char http[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  CHECK_EQ(feed_fresh(ctx, http, sizeof http - 1, why, sizeof why, out, &out_len), VG_EPROTO);
  CHECK(strstr(why, "TLS handshake failed: "));
  /* A handshake record whose message is not a ClientHello (type 99). */
  static const uint8_t not_hello[] = {0x16, 0x03, 0x01, 0x00, 0x08, 99, 0, 0, 4, 1, 2, 3, 4};
  CHECK_EQ(feed_fresh(ctx, not_hello, sizeof not_hello, why, sizeof why, out, &out_len),
           VG_EPROTO);
  CHECK(strstr(why, "unexpected message"));
  /* An alert record: unexpected_message (10) goes back (RFC 8446 §6). */
  CHECK(out_len >= 7);
  CHECK_EQ(out[0], 21);
  CHECK_EQ(out[5], 2);  /* fatal */
  CHECK_EQ(out[6], 10); /* unexpected_message */
  /* The start of a ClientHello: merely incomplete, all consumed. */
  static const uint8_t truncated[] = {0x16, 0x03, 0x01, 0x00, 0x60, 1, 0, 0, 0x5c, 0x03, 0x03};
  CHECK_EQ(feed_fresh(ctx, truncated, sizeof truncated, why, sizeof why, out, &out_len),
           (int)sizeof truncated);
  /* A whole ClientHello record holding junk fails. */
  static const uint8_t junk_hello[] = {0x16, 0x03, 0x01, 0x00, 0x06, 1, 0, 0, 2, 0xff, 0xff};
  CHECK_EQ(feed_fresh(ctx, junk_hello, sizeof junk_hello, why, sizeof why, out, &out_len),
           VG_EPROTO);
  CHECK(strlen(why) > 22);
  /* An over-long record (RFC 8446 §5.1: at most 2^14 + 256). */
  static const uint8_t huge[] = {0x16, 0x03, 0x03, 0xff, 0xff, 1, 2, 3};
  CHECK_EQ(feed_fresh(ctx, huge, sizeof huge, why, sizeof why, out, &out_len), VG_EPROTO);
  CHECK(strstr(why, "length"));
  vg_tls_ctx_destroy(ctx);
}

/* RFC 7301 §3.2: a client offering only h2 gets no_application_protocol,
 * and the caller a clear reason; one offering no ALPN at all, or h2 with
 * http/1.1, gets HTTP/1.1. */
static void test_alpn(void) {
  static const unsigned char h2_only[] = "\x02h2";
  client_opts_t o = {.alpn = h2_only, .alpn_len = 3, .host = "localhost"};
  pair_t p;
  CHECK(!pair_open(&p, &o));
  CHECK(!vg_tls_handshake_done(p.s));
  CHECK(vg_tls_reason(p.s) && strstr(vg_tls_reason(p.s), "http/1.1"));
  CHECK_EQ(vg_tls_feed(p.s, (const uint8_t *)"x", 1, NULL), VG_EUNSUPPORTED);
  CHECK_EQ(ERR_GET_REASON(p.c.err), SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL);
  pair_close(&p);

  client_opts_t none = {.no_alpn = true, .host = "localhost"};
  CHECK(pair_open(&p, &none));
  check_alpn(&p.c, NULL);
  pair_close(&p);

  static const unsigned char many[] = "\x06spdy/3\x08http/1.1\x02h2";
  client_opts_t mixed = {.alpn = many, .alpn_len = sizeof many - 1, .host = "localhost"};
  CHECK(pair_open(&p, &mixed));
  check_alpn(&p.c, "http/1.1");
  pair_close(&p);
}

/* A client that keeps sending while the server does not read is cut off
 * at VG_TLS_MAX_PENDING; one whose data is read is not. */
static void test_input_flood(void) {
  client_opts_t o = {.host = "localhost"};
  pair_t p;
  CHECK(pair_open(&p, &o));
  static uint8_t chunk[16384];
  memset(chunk, 'f', sizeof chunk);
  /* 1 MiB, read as it comes: fine. */
  size_t total = 0;
  for (int i = 0; i < 64; i++) {
    CHECK_EQ(SSL_write(p.c.ssl, chunk, sizeof chunk), (int)sizeof chunk);
    pump_t r = pump(&p.c, p.s);
    CHECK_EQ(r.feed_rc, 0);
    uint8_t sink[5000];
    int n;
    while ((n = vg_tls_read(p.s, sink, sizeof sink)) > 0) total += (size_t)n;
    CHECK_EQ(n, 0);
  }
  CHECK_EQ(total, 64 * sizeof chunk);
  /* Now unread: 15 records (240 KiB of plaintext plus overhead) fit... */
  for (int i = 0; i < 15; i++) CHECK_EQ(SSL_write(p.c.ssl, chunk, sizeof chunk), (int)sizeof chunk);
  pump_t r = pump(&p.c, p.s);
  CHECK_EQ(r.feed_rc, 0);
  /* ...one more does not. */
  CHECK_EQ(SSL_write(p.c.ssl, chunk, sizeof chunk), (int)sizeof chunk);
  r = pump(&p.c, p.s);
  CHECK_EQ(r.feed_rc, VG_ELIMIT);
  CHECK(r.why && strstr(r.why, "not read"));
  uint8_t b[16];
  CHECK_EQ(vg_tls_read(p.s, b, sizeof b), VG_ELIMIT);
  pair_close(&p);
}

/* A peer that does not read what we send: once the caller stops draining
 * (its socket is backed up) and more than VG_TLS_MAX_PENDING waits, the
 * next write fails the connection. */
static void test_output_flood(void) {
  client_opts_t o = {.host = "localhost"};
  pair_t p;
  CHECK(pair_open(&p, &o));
  static uint8_t chunk[100 * 1024];
  memset(chunk, 'o', sizeof chunk);
  /* Waiting before each write: 0, ~100 KiB, ~200 KiB: all accepted. */
  for (int i = 0; i < 3; i++) CHECK_EQ(vg_tls_write(p.s, chunk, sizeof chunk), (int)sizeof chunk);
  /* ~300 KiB waiting: refused. */
  CHECK_EQ(vg_tls_write(p.s, chunk, sizeof chunk), VG_ELIMIT);
  CHECK(strstr(vg_tls_reason(p.s), "not sent"));
  CHECK_EQ(vg_tls_write(p.s, chunk, 1), VG_ELIMIT);
  /* A single write larger than the limit is fine when nothing waits. */
  pair_t q;
  CHECK(pair_open(&q, &o));
  static uint8_t big[300 * 1024];
  CHECK_EQ(vg_tls_write(q.s, big, sizeof big), (int)sizeof big);
  pair_close(&q);
  pair_close(&p);
}

/* ---------------------------------------------------------------------- */
/* Closing                                                                */

static void test_close_notify_from_server(void) {
  client_opts_t o = {.host = "localhost"};
  pair_t p;
  CHECK(pair_open(&p, &o));
  CHECK_EQ(vg_tls_write(p.s, (const uint8_t *)"bye", 3), 3);
  CHECK_EQ(vg_tls_close(p.s), VG_OK);
  CHECK_EQ(vg_tls_close(p.s), VG_OK);
  CHECK_EQ(vg_tls_write(p.s, (const uint8_t *)"late", 4), VG_ECLOSED);
  (void)pump(&p.c, p.s);
  char b[16];
  CHECK_EQ(SSL_read(p.c.ssl, b, sizeof b), 3);
  CHECK_MEM(b, "bye", 3);
  CHECK_EQ(SSL_read(p.c.ssl, b, sizeof b), 0);
  CHECK_EQ(SSL_get_error(p.c.ssl, 0), SSL_ERROR_ZERO_RETURN);
  /* The client may still send (TLS 1.3 half-close) and close in turn. */
  CHECK_EQ(SSL_write(p.c.ssl, "ack", 3), 3);
  CHECK_EQ(SSL_shutdown(p.c.ssl), 1);
  pump_t r = pump(&p.c, p.s);
  CHECK_EQ(r.feed_rc, 0);
  uint8_t got[16];
  CHECK_EQ(vg_tls_read(p.s, got, sizeof got), 3);
  CHECK_MEM(got, "ack", 3);
  CHECK_EQ(vg_tls_read(p.s, got, sizeof got), VG_ECLOSED);
  pair_close(&p);
}

static void test_close_notify_from_client(void) {
  client_opts_t o = {.max_version = TLS1_2_VERSION, .host = "localhost"};
  pair_t p;
  CHECK(pair_open(&p, &o));
  CHECK_EQ(SSL_write(p.c.ssl, "last words", 10), 10);
  CHECK_EQ(SSL_shutdown(p.c.ssl), 0); /* sent, the server's not seen yet */
  pump_t r = pump(&p.c, p.s);
  CHECK_EQ(r.feed_rc, 0);
  uint8_t got[32];
  size_t len = 0;
  CHECK_EQ(server_read_all(p.s, got, sizeof got, &len), VG_ECLOSED);
  CHECK_EQ(len, 10);
  CHECK_MEM(got, "last words", 10);
  CHECK_EQ(vg_tls_read(p.s, got, sizeof got), VG_ECLOSED);
  /* Anything after close_notify is discarded. */
  CHECK_EQ(vg_tls_feed(p.s, (const uint8_t *)"junk", 4, NULL), 4);
  CHECK_EQ(vg_tls_read(p.s, got, sizeof got), VG_ECLOSED);
  /* Our close_notify completes the client's shutdown. */
  CHECK_EQ(vg_tls_close(p.s), VG_OK);
  (void)pump(&p.c, p.s);
  CHECK_EQ(SSL_shutdown(p.c.ssl), 1);
  pair_close(&p);
}

/* Before the handshake nothing is sent, and queued writes are dropped. */
static void test_close_before_handshake(void) {
  vg_tls_ctx_t *ctx = self_signed();
  CHECK(ctx);
  vg_tls_t *s = NULL;
  CHECK_EQ(vg_tls_create(ctx, &s), VG_OK);
  CHECK_EQ(vg_tls_write(s, (const uint8_t *)"queued", 6), 6);
  CHECK_EQ(vg_tls_close(s), VG_OK);
  uint8_t out[64];
  CHECK_EQ(vg_tls_poll_output(s, out, sizeof out), 0);
  CHECK_EQ(vg_tls_write(s, (const uint8_t *)"x", 1), VG_ECLOSED);
  CHECK_EQ(vg_tls_feed(s, (const uint8_t *)"\x16\x03\x01", 3, NULL), 3);
  CHECK_EQ(vg_tls_poll_output(s, out, sizeof out), 0);
  CHECK(!vg_tls_handshake_done(s));
  vg_tls_destroy(s);
  vg_tls_destroy(NULL);
  vg_tls_ctx_destroy(ctx);
  vg_tls_ctx_destroy(NULL);
}

/* TLS 1.2 renegotiation is refused (no_renegotiation); the connection
 * stays usable. */
static void test_no_renegotiation(void) {
  client_opts_t o = {.max_version = TLS1_2_VERSION, .host = "localhost"};
  pair_t p;
  CHECK(pair_open(&p, &o));
  CHECK_EQ(SSL_renegotiate(p.c.ssl), 1);
  ERR_clear_error();
  (void)SSL_do_handshake(p.c.ssl); /* sends a ClientHello */
  pump_t r = pump(&p.c, p.s);
  CHECK_EQ(r.feed_rc, 0);
  uint8_t got[16];
  CHECK_EQ(vg_tls_read(p.s, got, sizeof got), 0); /* answers with a warning alert */
  CHECK_EQ(SSL_get_secure_renegotiation_support(p.c.ssl), 1);
  r = pump(&p.c, p.s); /* the client reads the alert and gives up */
  CHECK(p.c.hs_result <= 0);
  CHECK_EQ(ERR_GET_REASON(p.c.err), SSL_R_NO_RENEGOTIATION);
  CHECK(vg_tls_reason(p.s) == NULL);
  pair_close(&p);
}

/* A connection outlives the context it was made from. */
static void test_ctx_destroyed_first(void) {
  vg_tls_ctx_t *ctx = self_signed();
  CHECK(ctx);
  X509 *anchor = ctx_cert(ctx);
  vg_tls_t *s = NULL;
  CHECK_EQ(vg_tls_create(ctx, &s), VG_OK);
  vg_tls_ctx_destroy(ctx);
  client_t c;
  client_opts_t o = {.host = "localhost"};
  CHECK(client_init(&c, anchor, &o));
  pump_t r = pump(&c, s);
  CHECK_EQ(r.feed_rc, 0);
  CHECK_EQ(c.hs_result, 1);
  client_free(&c);
  X509_free(anchor);
  vg_tls_destroy(s);
}

static void quiet(void) __attribute__((constructor));
static void quiet(void) { vg_log_set_level(VG_LOG_ERROR); }

VGT_MAIN(VGT_CASE(test_handshake_tls13), VGT_CASE(test_handshake_tls12),
         VGT_CASE(test_old_versions_refused), VGT_CASE(test_http_exchange),
         VGT_CASE(test_request_behind_client_finished),
         VGT_CASE(test_write_before_handshake_is_queued),
         VGT_CASE(test_garbage_instead_of_client_hello), VGT_CASE(test_alpn),
         VGT_CASE(test_input_flood), VGT_CASE(test_output_flood),
         VGT_CASE(test_close_notify_from_server), VGT_CASE(test_close_notify_from_client),
         VGT_CASE(test_close_before_handshake), VGT_CASE(test_no_renegotiation),
         VGT_CASE(test_ctx_destroyed_first))
