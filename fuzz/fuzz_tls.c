/* Two modes, chosen by the first byte.
 *
 * Stream mode (first byte not 0xff): feeds random bytes to a new server
 * vg_tls_t as the ciphertext a client sends first (a ClientHello stream and
 * what follows it), and checks what comes out. The input is the raw
 * stream. It is fed twice to two fresh connections: once in
 * one piece, once cut into pieces of 1..64 bytes chosen by a generator
 * seeded from the input. Checks:
 *   - feed consumes everything or fails with a reason, and a failure sticks
 *     (same code, same reason, from feed, read and write);
 *   - both runs end the same way (same code and reason): how TCP splits the
 *     stream must not matter;
 *   - the handshake never completes (the fuzzer cannot forge a Finished
 *     without the ECDHE secret) and no application data is ever read;
 *   - a write queued before the handshake is accepted and never sent;
 *   - what the server sends is whole TLS records (RFC 8446 §5.1: type
 *     20..23, version 3.x, length 1..2^14 + 256): a ServerHello flight,
 *     or an alert.
 *
 * Session mode (first byte 0xff): a real OpenSSL client completes a
 * handshake with the server (TLS 1.3, or 1.2 when bit 0 of the second byte
 * is set), then the rest of the input is a list of operations on both
 * sides: application data either way, a raw garbage record, close_notify
 * either way, KeyUpdate, reads with odd caps. A model of both streams
 * checks that every byte arrives intact and in order, that the server never
 * fails unless garbage was injected or a cap was really exceeded, and that
 * close_notify is reported after all the data before it. */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "sig/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                             \
  do {                                                                         \
    if (!(c)) abort();                                                         \
  } while (0)

/* RFC 8446 §5.1 / §5.2: TLSPlaintext and TLSCiphertext fragments are at
 * most 2^14 bytes, plus 256 of expansion when encrypted. */
#define MAX_RECORD (16384 + 256)

typedef struct {
  int code;           /* 0, or the failure code */
  const char *reason; /* borrowed from the vg_tls_t */
  size_t out_len;     /* ciphertext the server sent */
} outcome_t;

/* Output arrives in pieces of any size; a record may span pieces. This
 * checks record headers across the whole stream. */
typedef struct {
  size_t need;     /* bytes of the current record's body still to come */
  uint8_t hdr[5];
  size_t hdr_len;
} record_check_t;

static void check_output(record_check_t *rc, const uint8_t *p, size_t n) {
  while (n > 0) {
    if (rc->need > 0) {
      size_t k = n < rc->need ? n : rc->need;
      rc->need -= k;
      p += k;
      n -= k;
      continue;
    }
    rc->hdr[rc->hdr_len++] = *p++;
    n--;
    if (rc->hdr_len < 5) continue;
    REQUIRE(rc->hdr[0] >= 20 && rc->hdr[0] <= 23);
    /* Version 3.x, except in a protocol_version alert: OpenSSL writes it
     * with the version the client's hello claimed, whatever that was. */
    REQUIRE(rc->hdr[1] == 3 || rc->hdr[0] == 21);
    rc->need = (size_t)(rc->hdr[3] << 8 | rc->hdr[4]);
    REQUIRE(rc->need > 0 && rc->need <= MAX_RECORD);
    rc->hdr_len = 0;
  }
}

static void drain(vg_tls_t *t, record_check_t *rc, outcome_t *o) {
  uint8_t out[1500];
  int n;
  while ((n = vg_tls_poll_output(t, out, sizeof out)) > 0) {
    check_output(rc, out, (size_t)n);
    o->out_len += (size_t)n;
  }
  REQUIRE(n == 0);
  uint8_t plain[256];
  n = vg_tls_read(t, plain, sizeof plain);
  REQUIRE(n == 0 || (n < 0 && n == o->code));
  REQUIRE(!vg_tls_handshake_done(t));
}

static void note_failure(vg_tls_t *t, int rc, const char *why, outcome_t *o) {
  REQUIRE(why && why[0]);
  REQUIRE(vg_tls_reason(t) == why);
  if (o->code == 0) {
    o->code = rc;
    o->reason = why;
  }
  REQUIRE(rc == o->code && why == o->reason);
  REQUIRE(vg_tls_write(t, (const uint8_t *)"x", 1) == rc);
}

static uint32_t next_rand(uint32_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

/* Feeds data[0..size) in pieces of at most `max_piece` bytes (0: whole). */
static void run(vg_tls_ctx_t *ctx, const uint8_t *data, size_t size, uint32_t seed,
                size_t max_piece, outcome_t *o, vg_tls_t **keep) {
  memset(o, 0, sizeof *o);
  vg_tls_t *t = NULL;
  REQUIRE(vg_tls_create(ctx, &t) == VG_OK);
  /* Queued until a handshake that never completes: never sent. */
  REQUIRE(vg_tls_write(t, (const uint8_t *)"HTTP/1.1 200 OK\r\n", 17) == 17);
  record_check_t rc = {0};
  size_t pos = 0;
  while (pos < size) {
    size_t n = size - pos;
    if (max_piece) {
      size_t piece = 1 + next_rand(&seed) % max_piece;
      if (piece < n) n = piece;
    }
    const char *why = NULL;
    int r = vg_tls_feed(t, data + pos, n, &why);
    if (r < 0)
      note_failure(t, r, why, o);
    else
      REQUIRE((size_t)r == n && o->code == 0 && why == NULL);
    pos += n;
    drain(t, &rc, o);
  }
  REQUIRE(rc.hdr_len == 0 && rc.need == 0); /* whole records only */
  if (o->code == 0) REQUIRE(vg_tls_reason(t) == NULL);
  *keep = t; /* the reason is borrowed from t */
}

/* ---------------------------------------------------------------------- */
/* Session mode                                                           */

/* The bytes each side sends are a known pattern, so the receiver checks
 * them without a copy. */
static uint8_t c2s_byte(size_t i) { return (uint8_t)(i * 13 + 5); }
static uint8_t s2c_byte(size_t i) { return (uint8_t)(i * 31 + 7); }

typedef struct {
  vg_tls_t *s;
  SSL *c;
  BIO *c_in, *c_out; /* owned by c */
  uint32_t rng;
  size_t c2s_written, c2s_read; /* application bytes, client to server */
  size_t s2c_written, s2c_read;
  bool tainted;       /* garbage was injected into the client's stream */
  bool client_closed; /* the client sent close_notify */
  bool server_closed; /* vg_tls_close was called */
  bool server_saw_close;
  int fail;           /* the server's failure code, or 0 */
} session_t;

static void server_failed(session_t *x, int code) {
  REQUIRE(code < 0 && code != VG_ECLOSED);
  if (x->fail) REQUIRE(code == x->fail);
  x->fail = code;
  REQUIRE(vg_tls_reason(x->s) && vg_tls_reason(x->s)[0]);
  /* A clean client stream never fails the server, unless more was left
   * unread than the cap allows (ciphertext is a bit more than plaintext). */
  if (code == VG_ELIMIT)
    REQUIRE(x->tainted || x->c2s_written - x->c2s_read > VG_TLS_MAX_PENDING / 2 ||
            x->s2c_written - x->s2c_read > VG_TLS_MAX_PENDING / 2);
  else
    REQUIRE(x->tainted);
}

/* Moves the client's ciphertext to the server in pieces, and the server's
 * to the client, which reads and checks everything it can. */
static void pump(session_t *x) {
  uint8_t buf[4096];
  int n;
  while ((n = BIO_read(x->c_out, buf, 1 + (int)(next_rand(&x->rng) % sizeof buf))) > 0) {
    const char *why = NULL;
    int r = vg_tls_feed(x->s, buf, (size_t)n, &why);
    if (r < 0) {
      REQUIRE(why && why == vg_tls_reason(x->s));
      server_failed(x, r);
    } else {
      REQUIRE(r == n && !x->fail);
    }
  }
  while ((n = vg_tls_poll_output(x->s, buf, 1 + next_rand(&x->rng) % sizeof buf)) > 0)
    BIO_write(x->c_in, buf, n);
  REQUIRE(n == 0);
  ERR_clear_error();
  while ((n = SSL_read(x->c, buf, sizeof buf)) > 0) {
    for (int i = 0; i < n; i++) REQUIRE(buf[i] == s2c_byte(x->s2c_read + (size_t)i));
    x->s2c_read += (size_t)n;
  }
  ERR_clear_error();
}

/* Returns what vg_tls_read returned. */
static int server_read(session_t *x, size_t cap) {
  uint8_t buf[4096];
  if (cap > sizeof buf) cap = sizeof buf;
  int n = vg_tls_read(x->s, buf, cap);
  if (n > 0) {
    REQUIRE((size_t)n <= cap);
    if (!x->tainted)
      for (int i = 0; i < n; i++) REQUIRE(buf[i] == c2s_byte(x->c2s_read + (size_t)i));
    x->c2s_read += (size_t)n;
    REQUIRE(x->c2s_read <= x->c2s_written || x->tainted);
  } else if (n == VG_ECLOSED) {
    /* close_notify comes after all the data sent before it. */
    REQUIRE(x->client_closed || x->tainted);
    if (!x->tainted) REQUIRE(x->c2s_read == x->c2s_written);
    x->server_saw_close = true;
  } else if (n < 0) {
    server_failed(x, n);
  } else if (!x->tainted && !x->fail && !x->server_saw_close) {
    /* 0 is "nothing yet" only when the client's bytes are all read or
     * still in its BIO (the next pump delivers them). */
    REQUIRE(x->c2s_read == x->c2s_written || BIO_ctrl_pending(x->c_out) > 0);
  }
  return n;
}

static void client_write(session_t *x, size_t len) {
  uint8_t buf[16384];
  if (x->client_closed) return;
  for (size_t i = 0; i < len; i++) buf[i] = c2s_byte(x->c2s_written + i);
  ERR_clear_error();
  if (SSL_write(x->c, buf, (int)len) != (int)len) {
    /* Only after the server failed and alerted the client. */
    REQUIRE(x->fail || x->tainted);
    x->client_closed = true;
    ERR_clear_error();
    return;
  }
  x->c2s_written += len;
}

static void server_write(session_t *x, size_t len) {
  uint8_t buf[16384];
  for (size_t i = 0; i < len; i++) buf[i] = s2c_byte(x->s2c_written + i);
  int r = vg_tls_write(x->s, buf, len);
  if (x->fail) {
    REQUIRE(r == x->fail);
  } else if (x->server_closed) {
    REQUIRE(r == VG_ECLOSED);
  } else if (r < 0) {
    server_failed(x, r);
  } else {
    REQUIRE((size_t)r == len);
    x->s2c_written += len;
  }
}

static SSL_CTX *client_ctx(void) {
  static SSL_CTX *c;
  if (!c) {
    c = SSL_CTX_new(TLS_client_method());
    if (!c) abort();
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    static const unsigned char alpn[] = "\x02h2\x08http/1.1";
    if (SSL_CTX_set_alpn_protos(c, alpn, sizeof alpn - 1) != 0) abort();
  }
  return c;
}

static void session(vg_tls_ctx_t *ctx, const uint8_t *data, size_t size) {
  if (size < 2) return;
  session_t x = {.rng = 0x9e3779b9u ^ (uint32_t)size};
  REQUIRE(vg_tls_create(ctx, &x.s) == VG_OK);
  x.c = SSL_new(client_ctx());
  REQUIRE(x.c);
  x.c_in = BIO_new(BIO_s_mem());
  x.c_out = BIO_new(BIO_s_mem());
  REQUIRE(x.c_in && x.c_out);
  BIO_set_mem_eof_return(x.c_in, -1);
  BIO_set_mem_eof_return(x.c_out, -1);
  SSL_set_bio(x.c, x.c_in, x.c_out);
  SSL_set_connect_state(x.c);
  bool tls12 = data[1] & 1;
  SSL_set_max_proto_version(x.c, tls12 ? TLS1_2_VERSION : TLS1_3_VERSION);
  for (int i = 0; i < 8 && !(SSL_is_init_finished(x.c) && vg_tls_handshake_done(x.s)); i++) {
    (void)SSL_do_handshake(x.c);
    pump(&x);
  }
  REQUIRE(SSL_is_init_finished(x.c) && vg_tls_handshake_done(x.s));
  size_t pos = 2;
  while (pos < size) {
    uint8_t op = data[pos++];
    uint8_t arg = pos < size ? data[pos++] : 0;
    switch (op % 8) {
    case 0: client_write(&x, 1 + (size_t)arg * 64); break;
    case 1: client_write(&x, 1 + arg); break;
    case 2: { /* a record of garbage, as from a broken middlebox */
      size_t n = (size_t)arg % 48;
      if (n > size - pos) n = size - pos;
      BIO_write(x.c_out, data + pos, (int)n);
      pos += n;
      x.tainted |= n > 0;
      break;
    }
    case 3:
      if (!x.client_closed) (void)SSL_shutdown(x.c);
      x.client_closed = true;
      break;
    case 4:
      REQUIRE(vg_tls_close(x.s) == VG_OK);
      x.server_closed = true;
      break;
    case 5: server_write(&x, 1 + (size_t)arg * 61); break;
    case 6:
      for (int i = 0; i < 4; i++) (void)server_read(&x, 1 + (size_t)arg * 17);
      break;
    case 7:
      if (!tls12 && !x.client_closed) (void)SSL_key_update(x.c, SSL_KEY_UPDATE_REQUESTED);
      break;
    }
    pump(&x);
  }
  /* Read what is left: everything the client sent arrives. */
  for (int i = 0; i < 1000; i++) {
    int n = server_read(&x, 4096);
    pump(&x);
    if (n <= 0 && BIO_ctrl_pending(x.c_out) == 0) break;
  }
  if (!x.tainted && !x.fail) REQUIRE(x.c2s_read == x.c2s_written);
  SSL_free(x.c);
  vg_tls_destroy(x.s);
  ERR_clear_error();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* One certificate for the whole run (a key generation and a signature).
   * The fuzz harness may keep state; src/sig may not. */
  static vg_tls_ctx_t *ctx;
  if (!ctx) {
    vg_log_set_level(VG_LOG_ERROR);
    static const char *const names[] = {"localhost", "127.0.0.1"};
    if (vg_tls_ctx_create_self_signed(names, 2, &ctx, NULL, 0) < 0) abort();
  }
  if (size > 0 && data[0] == 0xff) {
    session(ctx, data, size);
    return 0;
  }
  /* FNV-1a of the input seeds the cutting. */
  uint32_t seed = 2166136261u;
  for (size_t i = 0; i < size; i++) seed = (seed ^ data[i]) * 16777619u;
  if (seed == 0) seed = 1;

  outcome_t whole, pieces;
  vg_tls_t *a = NULL, *b = NULL;
  run(ctx, data, size, seed, 0, &whole, &a);
  run(ctx, data, size, seed, 64, &pieces, &b);
  REQUIRE(whole.code == pieces.code);
  REQUIRE(whole.code == 0 || strcmp(whole.reason, pieces.reason) == 0);
  /* Both sent something exactly when both got far enough to answer. */
  REQUIRE((whole.out_len > 0) == (pieces.out_len > 0));
  vg_tls_close(a);
  vg_tls_close(b);
  vg_tls_destroy(a);
  vg_tls_destroy(b);
  return 0;
}
