/* Test helpers shared by the TLS tests: a real OpenSSL client (its own
 * SSL_CTX on memory BIOs) joined in memory to a vg_tls_t: no sockets, no
 * sleep. The client verifies the server's certificate (the self-signed one
 * as its own trust anchor, or the operator's CA) and the names in it, as a
 * browser would. */
#ifndef VG_TEST_TLS_CLIENT_H
#define VG_TEST_TLS_CLIENT_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "sig/tls.h"

/* The names a server on a LAN host would put in its certificate. */
static const char *const NAMES[] = {"localhost", "voxgate.lan", "127.0.0.1", "::1",
                                    "192.168.1.20"};
#define N_NAMES (sizeof NAMES / sizeof NAMES[0])

/* ---------------------------------------------------------------------- */
/* The client                                                             */

typedef struct {
  int max_version;           /* 0: TLS 1.3 */
  const unsigned char *alpn; /* wire-format list; NULL: "h2,http/1.1" as browsers send */
  size_t alpn_len;
  bool no_alpn;              /* send no ALPN extension at all */
  const char *host;          /* nullable: hostname to verify */
  const char *ip;            /* nullable: IP address to verify */
} client_opts_t;

typedef struct {
  SSL_CTX *ctx;
  SSL *ssl;
  BIO *rbio, *wbio; /* owned by ssl */
  int hs_result;    /* last SSL_do_handshake result */
  int hs_error;     /* its SSL_get_error */
  unsigned long err;/* first OpenSSL error of a failed handshake */
} client_t;

static const unsigned char BROWSER_ALPN[] = "\x02h2\x08http/1.1";

/* A client trusting exactly `anchor` (the certificate itself, or a CA). */
static inline bool client_init(client_t *c, X509 *anchor, const client_opts_t *o) {
  memset(c, 0, sizeof *c);
  c->ctx = SSL_CTX_new(TLS_client_method());
  if (!c->ctx) return false;
  SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(c->ctx, o->max_version ? o->max_version : TLS1_3_VERSION);
  if (anchor && !X509_STORE_add_cert(SSL_CTX_get_cert_store(c->ctx), anchor)) return false;
  SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
  c->ssl = SSL_new(c->ctx);
  if (!c->ssl) return false;
  if (!o->no_alpn) {
    const unsigned char *a = o->alpn ? o->alpn : BROWSER_ALPN;
    size_t n = o->alpn ? o->alpn_len : sizeof BROWSER_ALPN - 1;
    if (SSL_set_alpn_protos(c->ssl, a, (unsigned)n) != 0) return false;
  }
  if (o->host && (!SSL_set1_host(c->ssl, o->host) ||
                  !SSL_set_tlsext_host_name(c->ssl, o->host)))
    return false;
  if (o->ip && !X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), o->ip)) return false;
  c->rbio = BIO_new(BIO_s_mem());
  c->wbio = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(c->rbio, -1);
  BIO_set_mem_eof_return(c->wbio, -1);
  SSL_set_bio(c->ssl, c->rbio, c->wbio);
  SSL_set_connect_state(c->ssl);
  c->hs_result = -1;
  return true;
}

static inline void client_free(client_t *c) {
  SSL_free(c->ssl);
  SSL_CTX_free(c->ctx);
  memset(c, 0, sizeof *c);
}

static inline void client_step(client_t *c) {
  if (SSL_is_init_finished(c->ssl) || c->hs_result == 0 ||
      (c->hs_result < 0 && c->hs_error != SSL_ERROR_WANT_READ && c->hs_error != 0 &&
       c->hs_error != SSL_ERROR_WANT_WRITE))
    return;
  ERR_clear_error();
  c->hs_result = SSL_do_handshake(c->ssl);
  c->hs_error = c->hs_result == 1 ? 0 : SSL_get_error(c->ssl, c->hs_result);
  if (c->hs_result != 1 && !c->err) c->err = ERR_peek_error();
}

/* Odd-sized pieces, so records and handshake messages arrive split at
 * every kind of boundary. */
static const size_t CHUNKS[] = {1, 5, 17, 100, 3, 517, 4096, 2, 1500, 16384, 7};
#define N_CHUNKS (sizeof CHUNKS / sizeof CHUNKS[0])

typedef struct {
  int feed_rc;      /* first negative vg_tls_feed result, or 0 */
  const char *why;
  size_t to_server; /* ciphertext bytes moved each way */
  size_t to_client;
} pump_t;

/* Moves ciphertext both ways until neither side has anything to say. */
static inline pump_t pump(client_t *c, vg_tls_t *s) {
  pump_t p = {0};
  uint8_t buf[20000];
  size_t k = 0;
  for (int round = 0; round < 1000; round++) {
    client_step(c);
    size_t moved = 0;
    int n;
    while (p.feed_rc == 0 && (n = BIO_read(c->wbio, buf, (int)CHUNKS[k++ % N_CHUNKS])) > 0) {
      int rc = vg_tls_feed(s, buf, (size_t)n, &p.why);
      if (rc < 0) p.feed_rc = rc;
      else if (rc != n) p.feed_rc = -1000; /* feed must consume everything */
      moved += (size_t)n;
      p.to_server += (size_t)n;
    }
    while ((n = vg_tls_poll_output(s, buf, CHUNKS[k++ % N_CHUNKS])) > 0) {
      BIO_write(c->rbio, buf, n);
      moved += (size_t)n;
      p.to_client += (size_t)n;
    }
    if (moved == 0) break;
  }
  client_step(c);
  return p;
}

/* The generated certificate, parsed back from vg_tls_ctx_cert_pem. */
static inline X509 *ctx_cert(const vg_tls_ctx_t *ctx) {
  char pem[4096];
  int n = vg_tls_ctx_cert_pem(ctx, pem, sizeof pem);
  if (n <= 0) return NULL;
  BIO *b = BIO_new_mem_buf(pem, n);
  X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
  BIO_free(b);
  return x;
}

static inline vg_tls_ctx_t *self_signed(void) {
  vg_tls_ctx_t *ctx = NULL;
  char err[256];
  if (vg_tls_ctx_create_self_signed(NAMES, N_NAMES, &ctx, err, sizeof err) != VG_OK) {
    fprintf(stderr, "  self-signed: %s\n", err);
    return NULL;
  }
  return ctx;
}

/* A server and a client that trusts its certificate, handshake done. */
typedef struct {
  vg_tls_ctx_t *ctx;
  vg_tls_t *s;
  client_t c;
  X509 *anchor;
} pair_t;

static inline bool pair_open(pair_t *p, const client_opts_t *o) {
  memset(p, 0, sizeof *p);
  p->ctx = self_signed();
  if (!p->ctx || vg_tls_create(p->ctx, &p->s) != VG_OK) return false;
  p->anchor = ctx_cert(p->ctx);
  if (!p->anchor || !client_init(&p->c, p->anchor, o)) return false;
  pump_t r = pump(&p->c, p->s);
  return r.feed_rc == 0 && p->c.hs_result == 1 && vg_tls_handshake_done(p->s);
}

static inline void pair_close(pair_t *p) {
  client_free(&p->c);
  vg_tls_destroy(p->s);
  vg_tls_ctx_destroy(p->ctx);
  X509_free(p->anchor);
}

/* Everything the server can read now, appended to out (cap bytes). */
static inline int server_read_all(vg_tls_t *s, uint8_t *out, size_t cap, size_t *len) {
  static const size_t caps[] = {1, 333, 4000, 17};
  for (size_t k = 0;; k++) {
    size_t want = caps[k % 4] < cap - *len ? caps[k % 4] : cap - *len;
    int n = vg_tls_read(s, out + *len, want);
    if (n <= 0) return n;
    *len += (size_t)n;
  }
}

#endif
