/* TLS server on OpenSSL 3 memory BIOs (see tls.h).
 *
 * Design
 * ======
 * OpenSSL does the protocol. Each connection's SSL reads ciphertext from one
 * memory BIO (rbio, filled by vg_tls_feed) and writes ciphertext into
 * another (wbio, drained by vg_tls_poll_output). Neither BIO ever signals
 * EOF (mem_eof_return -1), so an empty BIO is "want more", never an error.
 *
 *   feed ──> rbio ──> SSL_do_handshake (in feed) / SSL_read (in vg_tls_read)
 *   write ──> SSL_write ──> wbio ──> poll_output
 *
 * Decryption is lazy: once the handshake is done, feed only appends to
 * rbio, and vg_tls_read decrypts one record at a time into the caller's
 * buffer. So there is no plaintext buffer of ours: unread input waits as
 * ciphertext in rbio (plus at most the one record OpenSSL holds), and the
 * cap on rbio is the cap on unread input. Memory BIOs grow by doubling and
 * compact as they are read, so a connection costs what is in flight, not
 * the cap; SSL_MODE_RELEASE_BUFFERS frees OpenSSL's record buffers while a
 * connection is idle. We allocate nothing per record; the only buffer of
 * ours is the queue of writes made before the handshake completes (rare:
 * an HTTP server has nothing to say before the first request). */
#include "sig/tls.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/bytes.h"
#include "base/log.h"

/* TLS 1.2 suites (RFC 5246 with RFC 5289 / RFC 7905): ECDHE only, AEAD
 * only. ECDSA for the generated certificate, RSA for operators' RSA
 * certificates. TLS 1.3 keeps OpenSSL's default suites (all AEAD). */
#define TLS12_CIPHERS                                                          \
  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                 \
  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                 \
  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define GROUPS "X25519:P-256:P-384"

/* RFC 7301 §3.1: the protocol list is length-prefixed strings. */
static const unsigned char ALPN_WIRE[] = "\x08" VG_TLS_ALPN;

#define CERT_VALID_BEFORE_SEC (24L * 3600)      /* peers' clock skew */
#define CERT_VALID_AFTER_SEC (365L * 24 * 3600) /* one year */
#define CERT_COMMON_NAME "voxgate"

/* Largest certificate or key file read: a chain is a few kilobytes. */
#define MAX_PEM_FILE (1024 * 1024)

/* RFC 1035 §2.3.4: labels are at most 63 bytes. */
#define MAX_LABEL 63

struct vg_tls_ctx {
  SSL_CTX *ssl_ctx; /* owned; each SSL holds a reference of its own */
  X509 *leaf;       /* owned */
  char fingerprint[VG_TLS_FINGERPRINT_LEN];
};

typedef enum {
  ST_HANDSHAKING = 0,
  ST_OPEN,   /* handshake done */
  ST_CLOSED, /* we queued close_notify (or closed before the handshake) */
  ST_FAILED, /* fail_code and reason say why */
} state_t;

struct vg_tls {
  SSL *ssl;  /* owned; owns rbio and wbio */
  BIO *rbio; /* owned by ssl: ciphertext in */
  BIO *wbio; /* owned by ssl: ciphertext out */
  state_t state;
  bool handshake_done;
  bool peer_closed;  /* the peer's close_notify was read */
  bool alpn_refused; /* set by the ALPN callback */
  int fail_code;     /* ST_FAILED: the negative code every call returns */
  uint8_t *queued;   /* owned, nullable: plaintext written before the
                        handshake completed */
  size_t queued_len, queued_cap;
  char reason[200];
};

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */

static void set_err(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t cap, const char *fmt, ...) {
  if (!err || cap == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, cap, fmt, ap);
  va_end(ap);
}

/* The reason of the last OpenSSL error on this thread's queue. */
static const char *openssl_reason(void) {
  unsigned long e = ERR_peek_last_error();
  const char *s = e ? ERR_reason_error_string(e) : NULL;
  return s ? s : "unknown error";
}

static bool last_error_is(int lib, int reason) {
  unsigned long e = ERR_peek_last_error();
  return e && ERR_GET_LIB(e) == lib && ERR_GET_REASON(e) == reason;
}

/* ---------------------------------------------------------------------- */
/* The shared context                                                     */

/* RFC 7301 §3.2: select "http/1.1" if the client offers it; "In the event
 * that the server supports no protocols that the client advertises, then
 * the server SHALL respond with a fatal 'no_application_protocol' alert."
 * A client that sends no ALPN extension is not asked about and gets
 * HTTP/1.1 without ALPN. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg) {
  (void)arg;
  unsigned char *sel = NULL;
  if (SSL_select_next_proto(&sel, outlen, ALPN_WIRE, sizeof ALPN_WIRE - 1, in, inlen) ==
          OPENSSL_NPN_NEGOTIATED &&
      sel) {
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
  }
  vg_tls_t *t = SSL_get_app_data(ssl);
  if (t) t->alpn_refused = true;
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* The settings every connection shares. Returns 1 or 0 (OpenSSL error). */
static int build_ssl_ctx(vg_tls_ctx_t *c, EVP_PKEY *key, STACK_OF(X509) *chain) {
  SSL_CTX *x = c->ssl_ctx = SSL_CTX_new(TLS_server_method());
  if (!x) return 0;
  SSL_CTX_set_security_level(x, 2);
  if (!SSL_CTX_set_min_proto_version(x, TLS1_2_VERSION) ||
      !SSL_CTX_set_max_proto_version(x, TLS1_3_VERSION) ||
      !SSL_CTX_set_cipher_list(x, TLS12_CIPHERS) || !SSL_CTX_set1_groups_list(x, GROUPS))
    return 0;
  /* No renegotiation; no tickets (TLS 1.3 would send two after every
   * handshake) and no session cache: browsers open few connections, and
   * a full handshake is cheap next to what they do over them. */
  SSL_CTX_set_options(x, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION);
  if (!SSL_CTX_set_num_tickets(x, 0)) return 0;
  SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_mode(x, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_alpn_select_cb(x, alpn_select, NULL);
  if (!SSL_CTX_use_certificate(x, c->leaf)) return 0;
  for (int i = 0; chain && i < sk_X509_num(chain); i++)
    if (!SSL_CTX_add1_chain_cert(x, sk_X509_value(chain, i))) return 0;
  return SSL_CTX_use_PrivateKey(x, key) && SSL_CTX_check_private_key(x);
}

static int set_fingerprint(vg_tls_ctx_t *c) {
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  if (!X509_digest(c->leaf, EVP_sha256(), md, &n)) return 0;
  vg_format_hex_colons(md, n, c->fingerprint, sizeof c->fingerprint);
  return 1;
}

/* ---------------------------------------------------------------------- */
/* Self-signed certificate                                                */

/* A DNS name for a dNSName entry (RFC 5280 §4.2.1.6, RFC 1034 §3.5
 * preferred syntax): dot-separated labels of letters, digits and '-', not
 * starting or ending with '-'; a leading "*." wildcard (RFC 6125 §6.4.3). */
static bool valid_dns_name(const char *s) {
  size_t len = strlen(s);
  if (len == 0 || len > VG_TLS_MAX_NAME) return false;
  if (s[0] == '*' && s[1] == '.') s += 2;
  for (;;) {
    size_t n = 0;
    while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
           (s[n] >= '0' && s[n] <= '9') || s[n] == '-')
      n++;
    if (n == 0 || n > MAX_LABEL || s[0] == '-' || s[n - 1] == '-') return false;
    if (s[n] == '\0') return true;
    if (s[n] != '.') return false;
    s += n + 1;
  }
}

/* One subjectAltName entry: iPAddress when `name` is an IPv4 or IPv6
 * literal, else dNSName. NULL when the name is neither (or on ENOMEM). */
static GENERAL_NAME *general_name(const char *name) {
  GENERAL_NAME *g = GENERAL_NAME_new();
  if (!g) return NULL;
  ASN1_OCTET_STRING *ip = a2i_IPADDRESS(name);
  if (ip) {
    GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
    return g;
  }
  ASN1_IA5STRING *dns = valid_dns_name(name) ? ASN1_IA5STRING_new() : NULL;
  if (!dns || !ASN1_STRING_set(dns, name, (int)strlen(name))) {
    ASN1_IA5STRING_free(dns);
    GENERAL_NAME_free(g);
    return NULL;
  }
  GENERAL_NAME_set0_value(g, GEN_DNS, dns);
  return g;
}

static int add_ext(X509 *x, int nid, const char *value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
  X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
  int ok = ext && X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  return ok;
}

/* Fills c->leaf. Returns VG_OK, or VG_EINVAL with `bad` set to the name
 * that is neither an address nor a DNS name, or VG_ECRYPTO. */
static int build_self_signed(vg_tls_ctx_t *c, EVP_PKEY *key, const char *const *names,
                             size_t n_names, const char **bad) {
  int rc = VG_ECRYPTO;
  BIGNUM *serial = BN_new();
  GENERAL_NAMES *san = sk_GENERAL_NAME_new_null();
  X509 *x = c->leaf = X509_new();
  if (!serial || !san || !x) goto out;
  for (size_t i = 0; i < n_names; i++) {
    GENERAL_NAME *g = general_name(names[i]);
    if (!g) {
      *bad = names[i];
      rc = VG_EINVAL;
      goto out;
    }
    if (!sk_GENERAL_NAME_push(san, g)) {
      GENERAL_NAME_free(g);
      goto out;
    }
  }
  /* A random serial: browsers remember certificates by issuer and serial,
   * and every start makes a new certificate with the same issuer. */
  X509_NAME *subject = X509_get_subject_name(x);
  if (!BN_rand(serial, 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
      !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) || !X509_set_version(x, 2) ||
      !X509_gmtime_adj(X509_getm_notBefore(x), -CERT_VALID_BEFORE_SEC) ||
      !X509_gmtime_adj(X509_getm_notAfter(x), CERT_VALID_AFTER_SEC) ||
      !X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                                  (const unsigned char *)CERT_COMMON_NAME, -1, -1, 0) ||
      !X509_set_issuer_name(x, subject) || !X509_set_pubkey(x, key))
    goto out;
  /* RFC 5280 §4.2.1.3, §4.2.1.12: a server certificate that signs
   * handshakes (ECDSA); §4.2.1.6: the names it is valid for. */
  if (!add_ext(x, NID_key_usage, "critical,digitalSignature") ||
      !add_ext(x, NID_ext_key_usage, "serverAuth") ||
      !X509_add1_ext_i2d(x, NID_subject_alt_name, san, 0, X509V3_ADD_DEFAULT) ||
      !X509_sign(x, key, EVP_sha256()))
    goto out;
  rc = VG_OK;
out:
  BN_free(serial);
  GENERAL_NAMES_free(san);
  return rc;
}

int vg_tls_ctx_create_self_signed(const char *const *names, size_t n_names, vg_tls_ctx_t **out,
                                  char *err, size_t err_cap) {
  *out = NULL;
  if (!names || n_names == 0 || n_names > VG_TLS_MAX_NAMES) {
    set_err(err, err_cap, "the certificate needs 1 to %d names, not %zu", VG_TLS_MAX_NAMES,
            names ? n_names : 0);
    return VG_EINVAL;
  }
  EVP_PKEY *key = NULL;
  const char *bad = NULL;
  int rc = VG_ENOMEM;
  vg_tls_ctx_t *c = calloc(1, sizeof *c);
  if (!c) goto fail;
  rc = VG_ECRYPTO;
  key = EVP_EC_gen("P-256");
  if (!key) goto fail;
  rc = build_self_signed(c, key, names, n_names, &bad);
  if (rc < 0) goto fail;
  rc = VG_ECRYPTO;
  if (!build_ssl_ctx(c, key, NULL) || !set_fingerprint(c)) goto fail;
  EVP_PKEY_free(key); /* the SSL_CTX holds its own reference */
  ERR_clear_error();
  *out = c;
  return VG_OK;
fail:
  if (rc == VG_EINVAL)
    set_err(err, err_cap, "\"%.*s\" is neither an IP address nor a DNS name", VG_TLS_MAX_NAME,
            bad);
  else if (rc == VG_ENOMEM)
    set_err(err, err_cap, "out of memory");
  else
    set_err(err, err_cap, "generating the TLS certificate failed: %s", openssl_reason());
  ERR_clear_error();
  EVP_PKEY_free(key);
  vg_tls_ctx_destroy(c);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* The operator's files                                                   */

/* Reads a whole PEM file into a memory BIO, so it can be scanned twice
 * and so a directory or an unreadable file is reported with the system's
 * reason. NULL with `err` set on failure. */
static BIO *read_file(const char *path, const char *what, char *err, size_t err_cap) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    set_err(err, err_cap, "cannot open the %s file %s: %s", what, path, strerror(errno));
    return NULL;
  }
  BIO *b = BIO_new(BIO_s_mem());
  char buf[4096];
  size_t n, total = 0;
  bool oom = !b;
  while (!oom && (n = fread(buf, 1, sizeof buf, f)) > 0) {
    total += n;
    if (total > MAX_PEM_FILE) break;
    oom = BIO_write(b, buf, (int)n) != (int)n;
  }
  int saved = errno;
  bool bad = ferror(f) != 0;
  fclose(f);
  if (oom)
    set_err(err, err_cap, "out of memory");
  else if (bad)
    set_err(err, err_cap, "cannot read the %s file %s: %s", what, path, strerror(saved));
  else if (total > MAX_PEM_FILE)
    set_err(err, err_cap, "the %s file %s is over %d bytes: not a PEM file", what, path,
            MAX_PEM_FILE);
  else
    return b;
  BIO_free(b);
  return NULL;
}

/* The leaf, then every further certificate in the file (the chain). */
static int read_certs(vg_tls_ctx_t *c, const char *path, STACK_OF(X509) **chain, char *err,
                      size_t err_cap) {
  BIO *b = read_file(path, "certificate", err, err_cap);
  if (!b) return VG_EINVAL;
  int rc = VG_EINVAL;
  ERR_clear_error();
  c->leaf = PEM_read_bio_X509_AUX(b, NULL, NULL, NULL);
  if (!c->leaf) {
    if (last_error_is(ERR_LIB_PEM, PEM_R_NO_START_LINE))
      set_err(err, err_cap, "%s holds no PEM certificate (\"-----BEGIN CERTIFICATE-----\")",
              path);
    else
      set_err(err, err_cap, "%s: the certificate is not valid PEM: %s", path, openssl_reason());
    goto out;
  }
  rc = VG_ENOMEM;
  *chain = sk_X509_new_null();
  if (!*chain) {
    set_err(err, err_cap, "out of memory");
    goto out;
  }
  for (;;) {
    ERR_clear_error();
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    if (!x) {
      if (last_error_is(ERR_LIB_PEM, PEM_R_NO_START_LINE)) break; /* end of file */
      set_err(err, err_cap, "%s: certificate %d of the chain is not valid PEM: %s", path,
              sk_X509_num(*chain) + 2, openssl_reason());
      rc = VG_EINVAL;
      goto out;
    }
    if (!sk_X509_push(*chain, x)) {
      X509_free(x);
      set_err(err, err_cap, "out of memory");
      goto out;
    }
  }
  rc = VG_OK;
out:
  ERR_clear_error();
  BIO_free(b);
  return rc;
}

/* What the file's PEM blocks say about its private key (RFC 7468 §10-11,
 * and the traditional "EC/RSA PRIVATE KEY" with RFC 1421 headers). */
typedef enum { KEY_NONE, KEY_ENCRYPTED, KEY_PLAIN } key_kind_t;

static key_kind_t scan_key_blocks(BIO *file) {
  char *data = NULL;
  long len = BIO_get_mem_data(file, &data);
  BIO *b = BIO_new_mem_buf(data, (int)len);
  key_kind_t kind = KEY_NONE;
  char *name = NULL, *header = NULL;
  unsigned char *body = NULL;
  long body_len = 0;
  while (b && kind == KEY_NONE && PEM_read_bio(b, &name, &header, &body, &body_len)) {
    size_t nl = strlen(name);
    if (nl >= 11 && strcmp(name + nl - 11, "PRIVATE KEY") == 0)
      kind = strcmp(name, "ENCRYPTED PRIVATE KEY") == 0 || strstr(header, "ENCRYPTED")
                 ? KEY_ENCRYPTED
                 : KEY_PLAIN;
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(body);
  }
  BIO_free(b);
  ERR_clear_error();
  return kind;
}

/* Called by OpenSSL only for an encrypted key: we never prompt. */
static int no_passphrase(char *buf, int size, int rwflag, void *u) {
  (void)buf;
  (void)size;
  (void)rwflag;
  (void)u;
  return -1;
}

static EVP_PKEY *read_key(const char *path, char *err, size_t err_cap) {
  BIO *b = read_file(path, "key", err, err_cap);
  if (!b) return NULL;
  EVP_PKEY *key = NULL;
  switch (scan_key_blocks(b)) {
  case KEY_NONE:
    set_err(err, err_cap, "%s holds no PEM private key (\"-----BEGIN PRIVATE KEY-----\")", path);
    break;
  case KEY_ENCRYPTED:
    set_err(err, err_cap, "the private key in %s is encrypted; give voxgate an unencrypted key",
            path);
    break;
  case KEY_PLAIN:
    ERR_clear_error();
    key = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
    if (!key)
      set_err(err, err_cap, "%s: the private key is not valid PEM: %s", path, openssl_reason());
    break;
  }
  ERR_clear_error();
  BIO_free(b);
  return key;
}

int vg_tls_ctx_create_from_files(const char *cert_pem, const char *key_pem, vg_tls_ctx_t **out,
                                 char *err, size_t err_cap) {
  *out = NULL;
  STACK_OF(X509) *chain = NULL;
  EVP_PKEY *key = NULL;
  vg_tls_ctx_t *c = calloc(1, sizeof *c);
  int rc = VG_ENOMEM;
  if (!c) {
    set_err(err, err_cap, "out of memory");
    goto fail;
  }
  rc = read_certs(c, cert_pem, &chain, err, err_cap);
  if (rc < 0) goto fail;
  rc = VG_EINVAL;
  key = read_key(key_pem, err, err_cap);
  if (!key) goto fail;
  ERR_clear_error();
  if (!X509_check_private_key(c->leaf, key)) {
    set_err(err, err_cap, "the private key in %s does not match the certificate in %s", key_pem,
            cert_pem);
    goto fail;
  }
  if (!build_ssl_ctx(c, key, chain)) {
    set_err(err, err_cap, "TLS refuses the certificate in %s or its key in %s: %s", cert_pem,
            key_pem, openssl_reason());
    goto fail;
  }
  rc = VG_ECRYPTO;
  if (!set_fingerprint(c)) {
    set_err(err, err_cap, "hashing the certificate failed: %s", openssl_reason());
    goto fail;
  }
  /* OpenSSL compares with the current time; browsers will refuse it. */
  if (X509_cmp_current_time(X509_get0_notAfter(c->leaf)) < 0)
    VG_LOG(VG_LOG_WARN, NULL, "tls: the certificate in %s has expired", cert_pem);
  else if (X509_cmp_current_time(X509_get0_notBefore(c->leaf)) > 0)
    VG_LOG(VG_LOG_WARN, NULL, "tls: the certificate in %s is not valid yet", cert_pem);
  ERR_clear_error();
  EVP_PKEY_free(key);
  sk_X509_pop_free(chain, X509_free);
  *out = c;
  return VG_OK;
fail:
  ERR_clear_error();
  EVP_PKEY_free(key);
  sk_X509_pop_free(chain, X509_free);
  vg_tls_ctx_destroy(c);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* Context accessors                                                      */

const char *vg_tls_ctx_fingerprint(const vg_tls_ctx_t *ctx) { return ctx->fingerprint; }

/* The leaf certificate as PEM in a new memory BIO (the caller frees it),
 * or NULL (out of memory). */
static BIO *leaf_pem(const vg_tls_ctx_t *ctx) {
  BIO *b = BIO_new(BIO_s_mem());
  if (b && !PEM_write_bio_X509(b, ctx->leaf)) {
    BIO_free(b);
    b = NULL;
  }
  ERR_clear_error();
  return b;
}

int vg_tls_ctx_cert_pem(const vg_tls_ctx_t *ctx, char *out, size_t cap) {
  BIO *b = leaf_pem(ctx);
  char *data = NULL;
  long n = b ? BIO_get_mem_data(b, &data) : 0;
  int rc = VG_ENOMEM;
  if (n > 0 && data) {
    rc = VG_ENOSPC;
    if ((size_t)n < cap) {
      memcpy(out, data, (size_t)n);
      out[n] = '\0';
      rc = (int)n;
    }
  }
  BIO_free(b);
  return rc;
}

int vg_tls_ctx_write_cert_pem(const vg_tls_ctx_t *ctx, const char *path, char *err,
                              size_t err_cap) {
  BIO *b = leaf_pem(ctx);
  char *data = NULL;
  long n = b ? BIO_get_mem_data(b, &data) : 0;
  if (n <= 0 || !data) {
    BIO_free(b);
    set_err(err, err_cap, "out of memory");
    return VG_ENOMEM;
  }
  FILE *f = fopen(path, "w");
  bool ok = f && fwrite(data, 1, (size_t)n, f) == (size_t)n;
  int saved = errno;
  if (f && fclose(f) != 0 && ok) {
    ok = false;
    saved = errno;
  }
  BIO_free(b);
  if (!ok) {
    set_err(err, err_cap, "cannot write the certificate to %s: %s", path, strerror(saved));
    return VG_EINVAL;
  }
  return VG_OK;
}

void vg_tls_ctx_destroy(vg_tls_ctx_t *ctx) {
  if (!ctx) return;
  SSL_CTX_free(ctx->ssl_ctx);
  X509_free(ctx->leaf);
  free(ctx);
}

/* ---------------------------------------------------------------------- */
/* Connections                                                            */

/* Frees the writes queued before the handshake (wiped: they may hold
 * secrets such as a session token). */
static void drop_queue(vg_tls_t *t) {
  if (t->queued) OPENSSL_cleanse(t->queued, t->queued_len);
  free(t->queued);
  t->queued = NULL;
  t->queued_len = t->queued_cap = 0;
}

int vg_tls_create(vg_tls_ctx_t *ctx, vg_tls_t **out) {
  *out = NULL;
  vg_tls_t *t = calloc(1, sizeof *t);
  if (!t) return VG_ENOMEM;
  t->ssl = SSL_new(ctx->ssl_ctx);
  if (!t->ssl) goto fail;
  t->rbio = BIO_new(BIO_s_mem());
  t->wbio = BIO_new(BIO_s_mem());
  if (!t->rbio || !t->wbio) {
    BIO_free(t->rbio);
    BIO_free(t->wbio);
    goto fail;
  }
  BIO_set_mem_eof_return(t->rbio, -1); /* empty means "want more" */
  BIO_set_mem_eof_return(t->wbio, -1);
  SSL_set_bio(t->ssl, t->rbio, t->wbio);
  SSL_set_app_data(t->ssl, t);
  SSL_set_accept_state(t->ssl);
  *out = t;
  return VG_OK;
fail:
  ERR_clear_error();
  vg_tls_destroy(t);
  return VG_ENOMEM;
}

void vg_tls_destroy(vg_tls_t *t) {
  if (!t) return;
  SSL_free(t->ssl);
  drop_queue(t);
  free(t);
}

/* Fails the connection once: later calls return `code` and `reason`. */
static int fail(vg_tls_t *t, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(vg_tls_t *t, int code, const char *fmt, ...) {
  if (t->state == ST_FAILED) return t->fail_code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t->reason, sizeof t->reason, fmt, ap);
  va_end(ap);
  t->state = ST_FAILED;
  t->fail_code = code;
  drop_queue(t);
  VG_LOG(VG_LOG_DEBUG, NULL, "tls: %s", t->reason);
  ERR_clear_error();
  return code;
}

static int fail_openssl(vg_tls_t *t, const char *during) {
  if (t->alpn_refused)
    return fail(t, VG_EUNSUPPORTED,
                "the client's ALPN list lacks " VG_TLS_ALPN " (voxgate speaks HTTP/1.1 only)");
  return fail(t, VG_EPROTO, "TLS %s failed: %s", during, openssl_reason());
}

static int failed(const vg_tls_t *t, const char **why) {
  if (why) *why = t->reason;
  return t->fail_code;
}

/* Encrypts all of in[0..len) into wbio. */
static int encrypt_all(vg_tls_t *t, const uint8_t *in, size_t len) {
  size_t written = 0;
  ERR_clear_error();
  /* Memory BIOs never refuse a write, and without partial-write mode
   * SSL_write_ex returns only once everything is encrypted. */
  if (SSL_write_ex(t->ssl, in, len, &written) != 1 || written != len)
    return fail_openssl(t, "write");
  return (int)len;
}

static void handshake(vg_tls_t *t) {
  ERR_clear_error();
  int r = SSL_do_handshake(t->ssl);
  if (r != 1) {
    int e = SSL_get_error(t->ssl, r);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) fail_openssl(t, "handshake");
    ERR_clear_error();
    return;
  }
  t->handshake_done = true;
  t->state = ST_OPEN;
  VG_LOG(VG_LOG_DEBUG, NULL, "tls: %s %s", SSL_get_version(t->ssl), SSL_get_cipher_name(t->ssl));
  if (t->queued_len > 0 && encrypt_all(t, t->queued, t->queued_len) >= 0) drop_queue(t);
}

int vg_tls_feed(vg_tls_t *t, const uint8_t *in, size_t len, const char **why) {
  if (why) *why = NULL;
  if (t->state == ST_FAILED) return failed(t, why);
  if (len == 0) return 0;
  size_t pending = BIO_ctrl_pending(t->rbio);
  if (len > VG_TLS_MAX_PENDING || pending > VG_TLS_MAX_PENDING - len) {
    fail(t, VG_ELIMIT, "the client sent more than %d bytes that were not read",
         VG_TLS_MAX_PENDING);
    return failed(t, why);
  }
  /* Nothing can follow close_notify (RFC 8446 §6.1); before the handshake
   * a local close means the caller is dropping the connection. */
  if (t->peer_closed || (t->state == ST_CLOSED && !t->handshake_done)) return (int)len;
  if (BIO_write(t->rbio, in, (int)len) != (int)len) {
    fail(t, VG_ENOMEM, "out of memory buffering TLS input");
    return failed(t, why);
  }
  if (!t->handshake_done) handshake(t);
  if (t->state == ST_FAILED) return failed(t, why);
  return (int)len;
}

int vg_tls_read(vg_tls_t *t, uint8_t *out, size_t cap) {
  if (t->state == ST_FAILED) return t->fail_code;
  if (!t->handshake_done || cap == 0) return 0;
  if (t->peer_closed) return VG_ECLOSED;
  size_t n = 0;
  ERR_clear_error();
  if (SSL_read_ex(t->ssl, out, cap > INT_MAX ? INT_MAX : cap, &n) == 1) return (int)n;
  switch (SSL_get_error(t->ssl, 0)) {
  case SSL_ERROR_WANT_READ:
  case SSL_ERROR_WANT_WRITE:
    ERR_clear_error();
    return 0;
  case SSL_ERROR_ZERO_RETURN: /* RFC 8446 §6.1: close_notify */
    t->peer_closed = true;
    ERR_clear_error();
    return VG_ECLOSED;
  default:
    return fail_openssl(t, "read");
  }
}

int vg_tls_write(vg_tls_t *t, const uint8_t *in, size_t len) {
  if (t->state == ST_FAILED) return t->fail_code;
  if (t->state == ST_CLOSED) return VG_ECLOSED;
  if (len > INT_MAX) return VG_EINVAL;
  if (len == 0) return 0;
  if (!t->handshake_done) {
    if (t->queued_len > VG_TLS_MAX_PENDING)
      return fail(t, VG_ELIMIT, "more than %d bytes written before the TLS handshake completed",
                  VG_TLS_MAX_PENDING);
    if (len > t->queued_cap - t->queued_len) {
      size_t need = t->queued_len + len, cap = 2 * t->queued_cap;
      if (cap < need) cap = need;
      uint8_t *p = realloc(t->queued, cap);
      if (!p) return fail(t, VG_ENOMEM, "out of memory queueing TLS output");
      t->queued = p;
      t->queued_cap = cap;
    }
    memcpy(t->queued + t->queued_len, in, len);
    t->queued_len += len;
    return (int)len;
  }
  if (BIO_ctrl_pending(t->wbio) > VG_TLS_MAX_PENDING)
    return fail(t, VG_ELIMIT, "more than %d bytes of TLS output were not sent (the client does "
                              "not read)", VG_TLS_MAX_PENDING);
  return encrypt_all(t, in, len);
}

int vg_tls_poll_output(vg_tls_t *t, uint8_t *out, size_t cap) {
  if (cap == 0 || BIO_ctrl_pending(t->wbio) == 0) return 0;
  int n = BIO_read(t->wbio, out, cap > INT_MAX ? INT_MAX : (int)cap);
  return n > 0 ? n : 0;
}

bool vg_tls_handshake_done(const vg_tls_t *t) { return t->handshake_done; }

int vg_tls_close(vg_tls_t *t) {
  if (t->state == ST_FAILED || t->state == ST_CLOSED) return VG_OK;
  if (t->handshake_done) {
    /* RFC 8446 §6.1: close_notify; we do not wait for the peer's. */
    ERR_clear_error();
    (void)SSL_shutdown(t->ssl);
    ERR_clear_error();
  } else {
    drop_queue(t);
  }
  t->state = ST_CLOSED;
  return VG_OK;
}

const char *vg_tls_reason(const vg_tls_t *t) {
  return t->state == ST_FAILED ? t->reason : NULL;
}

const char *vg_tls_version(const vg_tls_t *t) {
  return t->handshake_done ? SSL_get_version(t->ssl) : "";
}

const char *vg_tls_cipher(const vg_tls_t *t) {
  const char *s = t->handshake_done ? SSL_get_cipher_name(t->ssl) : NULL;
  return s ? s : "";
}
