/* TLS server tests, certificates: the generated one (contents, names,
 * verification by a client), the operator's PEM files (with the openssl
 * command, as an operator makes them) and their errors, the PEM writer. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/log.h"
#include "sig/tls.h"
#include "tls_test_client.h"
#include "vgtest.h"

/* ---------------------------------------------------------------------- */
/* The generated certificate                                              */

static bool has_san(GENERAL_NAMES *gens, int type, const void *val, size_t len) {
  for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
    GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
    int t;
    ASN1_STRING *s = GENERAL_NAME_get0_value(g, &t);
    if (t == type && (size_t)ASN1_STRING_length(s) == len &&
        memcmp(ASN1_STRING_get0_data(s), val, len) == 0)
      return true;
  }
  return false;
}

static void test_certificate_contents(void) {
  client_opts_t o = {.host = "voxgate.lan"};
  pair_t p;
  bool ok = pair_open(&p, &o);
  CHECK(ok);
  X509 *x = SSL_get0_peer_certificate(p.c.ssl);
  CHECK(x);
  CHECK_EQ(X509_cmp(x, p.anchor), 0); /* what vg_tls_ctx_cert_pem gave */

  /* Subject CN "voxgate", self-issued. */
  char cn[64];
  CHECK(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn) > 0);
  CHECK_STR(cn, "voxgate");
  CHECK_EQ(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);

  /* ECDSA P-256 key, signed with SHA-256. */
  EVP_PKEY *pk = X509_get0_pubkey(x);
  CHECK(pk && EVP_PKEY_is_a(pk, "EC"));
  char group[32];
  size_t gl = 0;
  CHECK(EVP_PKEY_get_group_name(pk, group, sizeof group, &gl));
  CHECK_STR(group, "prime256v1");
  CHECK_EQ(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);

  /* Every name, each as the right kind of entry (RFC 5280 §4.2.1.6:
   * iPAddress holds 4 or 16 network-order bytes). */
  GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
  CHECK(gens);
  static const uint8_t v4[] = {127, 0, 0, 1}, lan[] = {192, 168, 1, 20};
  static const uint8_t v6[16] = {[15] = 1};
  bool all = sk_GENERAL_NAME_num(gens) == (int)N_NAMES &&
             has_san(gens, GEN_DNS, "localhost", 9) && has_san(gens, GEN_DNS, "voxgate.lan", 11) &&
             has_san(gens, GEN_IPADD, v4, 4) && has_san(gens, GEN_IPADD, v6, 16) &&
             has_san(gens, GEN_IPADD, lan, 4);
  GENERAL_NAMES_free(gens);
  CHECK(all);
  CHECK_EQ(X509_check_host(x, "localhost", 0, 0, NULL), 1);
  CHECK_EQ(X509_check_ip_asc(x, "::1", 0), 1);
  CHECK_EQ(X509_check_host(x, "example.com", 0, 0, NULL), 0);
  CHECK_EQ(X509_check_ip_asc(x, "10.0.0.1", 0), 0);

  /* A server certificate (RFC 5280 §4.2.1.12). */
  CHECK(X509_get_extension_flags(x) & EXFLAG_XKUSAGE);
  CHECK(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
  CHECK(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE);

  /* Valid from a day ago for a year (give or take the test's runtime). */
  int days = 0, secs = 0;
  CHECK(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)));
  CHECK_EQ(days, 366);
  CHECK(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
  CHECK(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notBefore(x)));
  CHECK(days == -1 || (days == 0 && secs < -23 * 3600));

  /* The fingerprint is the SHA-256 of the certificate the client got. */
  uint8_t md[32];
  unsigned mdn = 0;
  CHECK(X509_digest(x, EVP_sha256(), md, &mdn) && mdn == 32);
  char want[VG_TLS_FINGERPRINT_LEN];
  for (unsigned i = 0; i < 32; i++) snprintf(want + 3 * i, 4, "%02X%s", md[i], i < 31 ? ":" : "");
  CHECK_STR(vg_tls_ctx_fingerprint(p.ctx), want);
  CHECK_EQ(strlen(want), 95);
  pair_close(&p);
}

/* The client verifies the SAN during the handshake: by IP, and a name
 * that is not in the certificate fails verification. */
static void test_certificate_verified_by_name(void) {
  static const struct {
    const char *host, *ip;
    bool ok;
  } cases[] = {{"localhost", NULL, true}, {NULL, "127.0.0.1", true},
               {NULL, "::1", true},       {NULL, "192.168.1.20", true},
               {"example.com", NULL, false}, {NULL, "192.168.1.21", false}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    client_opts_t o = {.host = cases[i].host, .ip = cases[i].ip};
    pair_t p;
    bool ok = pair_open(&p, &o);
    if (ok != cases[i].ok) {
      fprintf(stderr, "  case %zu (%s): handshake %s\n", i,
              cases[i].host ? cases[i].host : cases[i].ip, ok ? "succeeded" : "failed");
      pair_close(&p);
      CHECK(false);
    }
    if (!cases[i].ok) {
      long v = SSL_get_verify_result(p.c.ssl);
      pair_close(&p);
      CHECK(v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH);
    } else {
      pair_close(&p);
    }
  }
  /* And a client that does not trust the certificate refuses it. */
  vg_tls_ctx_t *ctx = self_signed(), *other = self_signed();
  CHECK(ctx && other);
  X509 *wrong = ctx_cert(other);
  vg_tls_t *s = NULL;
  CHECK_EQ(vg_tls_create(ctx, &s), VG_OK);
  client_t c;
  client_opts_t o = {.host = "localhost"};
  CHECK(client_init(&c, wrong, &o));
  pump_t r = pump(&c, s);
  CHECK(c.hs_result != 1);
  CHECK_EQ(SSL_get_verify_result(c.ssl), X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
  /* The client's bad_certificate alert fails the server side too. */
  CHECK_EQ(r.feed_rc, VG_EPROTO);
  CHECK(r.why && strstr(r.why, "alert"));
  client_free(&c);
  X509_free(wrong);
  vg_tls_destroy(s);
  vg_tls_ctx_destroy(ctx);
  vg_tls_ctx_destroy(other);
}

static void test_bad_names(void) {
  static const char *const bad[] = {"bad name", "", "-lead.example", "trail-.example",
                                    "a..b", "fe80::1%eth0", "[::1]", "x_y.lan"};
  char err[256];
  vg_tls_ctx_t *ctx = NULL;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *names[] = {"localhost", bad[i]};
    err[0] = '\0';
    CHECK_EQ(vg_tls_ctx_create_self_signed(names, 2, &ctx, err, sizeof err), VG_EINVAL);
    CHECK(ctx == NULL);
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\"", bad[i]);
    CHECK(strstr(err, quoted));
  }
  CHECK_EQ(vg_tls_ctx_create_self_signed(NAMES, 0, &ctx, err, sizeof err), VG_EINVAL);
  CHECK(strstr(err, "names"));
  const char *many[VG_TLS_MAX_NAMES + 1];
  for (size_t i = 0; i <= VG_TLS_MAX_NAMES; i++) many[i] = "localhost";
  CHECK_EQ(vg_tls_ctx_create_self_signed(many, VG_TLS_MAX_NAMES + 1, &ctx, NULL, 0), VG_EINVAL);
  /* A wildcard and the limit itself are fine. */
  const char *ok[] = {"*.voxgate.lan", "a-b.c0.example", "10.1.2.3", "2001:db8::7"};
  CHECK_EQ(vg_tls_ctx_create_self_signed(ok, 4, &ctx, err, sizeof err), VG_OK);
  vg_tls_ctx_destroy(ctx);
  CHECK_EQ(vg_tls_ctx_create_self_signed(many, VG_TLS_MAX_NAMES, &ctx, err, sizeof err), VG_OK);
  vg_tls_ctx_destroy(ctx);
}

/* ---------------------------------------------------------------------- */
/* The operator's files                                                   */

static char tmpdir[64];

static bool make_tmpdir(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/vg_test_tls_XXXXXX");
  return mkdtemp(tmpdir) != NULL;
}

static void remove_tmpdir(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "  could not remove %s\n", tmpdir);
}

/* Runs a shell command in tmpdir (the openssl CLI, as an operator would). */
static bool sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool sh(const char *fmt, ...) {
  char cmd[1024];
  int n = snprintf(cmd, sizeof cmd, "cd '%s' && (", tmpdir);
  va_list ap;
  va_start(ap, fmt);
  n += vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
  va_end(ap);
  snprintf(cmd + n, sizeof cmd - (size_t)n, ") >/dev/null 2>&1");
  if (system(cmd) == 0) return true;
  fprintf(stderr, "  failed: %s\n", cmd);
  return false;
}

static const char *path(const char *name) {
  static char buf[4][128];
  static int i;
  char *p = buf[i++ % 4];
  snprintf(p, 128, "%s/%s", tmpdir, name);
  return p;
}

static X509 *read_cert_file(const char *p) {
  FILE *f = fopen(p, "r");
  if (!f) return NULL;
  X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  return x;
}

#define REQ_EC "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256"

static void test_from_files(void) {
  /* Needs the openssl command (Debian package openssl). */
  CHECK(sh("openssl version"));
  CHECK(make_tmpdir());
  CHECK(sh(REQ_EC " -days 30 -subj /CN=test.local -addext subjectAltName=DNS:test.local,IP:10.9.8.7"
               " -keyout key.pem -out cert.pem"));
  vg_tls_ctx_t *ctx = NULL;
  char err[512] = "";
  CHECK_EQ(vg_tls_ctx_create_from_files(path("cert.pem"), path("key.pem"), &ctx, err, sizeof err),
           VG_OK);
  /* The fingerprint agrees with `openssl x509 -fingerprint -sha256`. */
  CHECK(sh("openssl x509 -in cert.pem -noout -fingerprint -sha256 > fp.txt"));
  char line[200] = "";
  FILE *f = fopen(path("fp.txt"), "r");
  CHECK(f);
  char *got = fgets(line, sizeof line, f);
  fclose(f);
  CHECK(got);
  line[strcspn(line, "\r\n")] = '\0';
  const char *eq = strchr(line, '=');
  CHECK(eq);
  CHECK_STR(vg_tls_ctx_fingerprint(ctx), eq + 1);

  /* A browser-like client trusting that certificate, checking the name. */
  X509 *anchor = read_cert_file(path("cert.pem"));
  CHECK(anchor);
  vg_tls_t *s = NULL;
  CHECK_EQ(vg_tls_create(ctx, &s), VG_OK);
  client_t c;
  client_opts_t o = {.host = "test.local"};
  CHECK(client_init(&c, anchor, &o));
  pump_t r = pump(&c, s);
  CHECK_EQ(r.feed_rc, 0);
  CHECK_EQ(c.hs_result, 1);
  CHECK_EQ(SSL_get_verify_result(c.ssl), X509_V_OK);
  CHECK_EQ(X509_cmp(SSL_get0_peer_certificate(c.ssl), anchor), 0);
  client_free(&c);
  vg_tls_destroy(s);
  vg_tls_ctx_destroy(ctx);

  /* One file holding the key and the certificate, passed twice. */
  CHECK(sh("cat key.pem cert.pem > both.pem"));
  CHECK_EQ(vg_tls_ctx_create_from_files(path("both.pem"), path("both.pem"), &ctx, err, sizeof err),
           VG_OK);
  vg_tls_ctx_destroy(ctx);
  X509_free(anchor);
  remove_tmpdir();
}

/* A leaf issued by a CA, the file holding leaf then CA: the client trusts
 * only the CA, so the handshake succeeds only if the chain is sent. */
static void test_from_files_chain(void) {
  CHECK(make_tmpdir());
  CHECK(sh(REQ_EC " -days 30 -subj /CN=Test-CA -keyout ca.key -out ca.pem"
               " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign"));
  CHECK(sh("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
           " -subj /CN=leaf -keyout leaf.key -out leaf.csr"));
  CHECK(sh("printf 'subjectAltName=DNS:leaf.example\\nextendedKeyUsage=serverAuth\\n' > ext.cnf"));
  CHECK(sh("openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30"
           " -sha256 -extfile ext.cnf -out leaf.pem"));
  CHECK(sh("cat leaf.pem ca.pem > chain.pem"));
  vg_tls_ctx_t *ctx = NULL;
  char err[512] = "";
  CHECK_EQ(vg_tls_ctx_create_from_files(path("chain.pem"), path("leaf.key"), &ctx, err,
                                        sizeof err),
           VG_OK);
  X509 *ca = read_cert_file(path("ca.pem"));
  CHECK(ca);
  vg_tls_t *s = NULL;
  CHECK_EQ(vg_tls_create(ctx, &s), VG_OK);
  client_t c;
  client_opts_t o = {.host = "leaf.example"};
  CHECK(client_init(&c, ca, &o));
  pump_t r = pump(&c, s);
  CHECK_EQ(r.feed_rc, 0);
  CHECK_EQ(c.hs_result, 1);
  CHECK_EQ(sk_X509_num(SSL_get_peer_cert_chain(c.ssl)), 2);
  /* The fingerprint is the leaf's, not the CA's. */
  X509 *leaf = read_cert_file(path("leaf.pem"));
  CHECK(leaf);
  uint8_t md[32];
  unsigned n = 0;
  CHECK(X509_digest(leaf, EVP_sha256(), md, &n));
  char want[8];
  snprintf(want, sizeof want, "%02X:%02X", md[0], md[1]);
  CHECK(strncmp(vg_tls_ctx_fingerprint(ctx), want, 5) == 0);
  X509_free(leaf);
  client_free(&c);
  vg_tls_destroy(s);
  vg_tls_ctx_destroy(ctx);
  X509_free(ca);
  remove_tmpdir();
}

/* Each bad file gets an error naming it and saying what is wrong. */
static void test_from_files_errors(void) {
  CHECK(make_tmpdir());
  CHECK(sh(REQ_EC " -days 30 -subj /CN=a -keyout key.pem -out cert.pem"));
  CHECK(sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key"));
  CHECK(sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256"
           " -aes-256-cbc -pass pass:secret -out locked.key"));
  CHECK(sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out weak.key"));
  CHECK(sh("openssl req -x509 -key weak.key -nodes -days 30 -subj /CN=w -out weak.pem"));
  CHECK(sh("echo 'not a certificate' > junk.txt"));
  CHECK(sh("sed 's/^M/Q/' cert.pem > mangled.pem"));

  static const struct {
    const char *cert, *key, *says;
  } cases[] = {
      {"missing.pem", "key.pem", "cannot open the certificate file {c}: No such file"},
      {"cert.pem", "missing.key", "cannot open the key file {k}: No such file"},
      {"junk.txt", "key.pem", "{c} holds no PEM certificate"},
      {"key.pem", "key.pem", "{c} holds no PEM certificate"},
      {"mangled.pem", "key.pem", "{c}: the certificate is not valid PEM"},
      {"cert.pem", "junk.txt", "{k} holds no PEM private key"},
      {"cert.pem", "cert.pem", "{k} holds no PEM private key"},
      {"cert.pem", "locked.key", "the private key in {k} is encrypted"},
      {"cert.pem", "other.key", "the private key in {k} does not match the certificate in {c}"},
      {"weak.pem", "weak.key", "TLS refuses the certificate in {c} or its key in {k}: ee key too small"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *cp = path(cases[i].cert), *kp = path(cases[i].key);
    /* The expected message with {c} and {k} replaced by the paths. */
    char want[600];
    size_t w = 0;
    for (const char *q = cases[i].says; *q && w < sizeof want - 130; q++) {
      if (q[0] == '{' && (q[1] == 'c' || q[1] == 'k') && q[2] == '}') {
        w += (size_t)snprintf(want + w, sizeof want - w, "%s", q[1] == 'c' ? cp : kp);
        q += 2;
      } else {
        want[w++] = *q;
      }
    }
    want[w] = '\0';
    vg_tls_ctx_t *ctx = (vg_tls_ctx_t *)1;
    char err[600] = "";
    int rc = vg_tls_ctx_create_from_files(cp, kp, &ctx, err, sizeof err);
    if (rc != VG_EINVAL || ctx != NULL || strncmp(err, want, strlen(want)) != 0) {
      fprintf(stderr, "  case %zu: rc %d\n    got  \"%s\"\n    want \"%s...\"\n", i, rc, err,
              want);
      CHECK(false);
    }
  }
  /* A directory is not a certificate file. */
  vg_tls_ctx_t *ctx = NULL;
  char err[600] = "";
  CHECK_EQ(vg_tls_ctx_create_from_files(tmpdir, path("key.pem"), &ctx, err, sizeof err),
           VG_EINVAL);
  CHECK(strstr(err, tmpdir));
  /* err may be NULL. */
  CHECK_EQ(vg_tls_ctx_create_from_files(path("cert.pem"), path("other.key"), &ctx, NULL, 0),
           VG_EINVAL);
  remove_tmpdir();
}

/* The PEM writer: the file holds exactly the served certificate, and an
 * operator's tools read it. */
static void test_write_cert_pem(void) {
  CHECK(make_tmpdir());
  vg_tls_ctx_t *ctx = self_signed();
  CHECK(ctx);
  char err[512] = "";
  CHECK_EQ(vg_tls_ctx_write_cert_pem(ctx, path("voxgate.crt"), err, sizeof err), VG_OK);
  X509 *x = read_cert_file(path("voxgate.crt"));
  CHECK(x);
  X509 *served = ctx_cert(ctx);
  CHECK(served);
  CHECK_EQ(X509_cmp(x, served), 0);
  X509_free(served);
  X509_free(x);
  CHECK(sh("openssl x509 -in voxgate.crt -noout -subject | grep -q 'CN *= *voxgate'"));
  CHECK(sh("openssl verify -CAfile voxgate.crt voxgate.crt"));

  char pem[2048];
  int n = vg_tls_ctx_cert_pem(ctx, pem, sizeof pem);
  CHECK(n > 100);
  CHECK_EQ(strlen(pem), (size_t)n);
  CHECK(strncmp(pem, "-----BEGIN CERTIFICATE-----\n", 28) == 0);
  CHECK_EQ(vg_tls_ctx_cert_pem(ctx, pem, (size_t)n), VG_ENOSPC);
  CHECK_EQ(vg_tls_ctx_cert_pem(ctx, pem, (size_t)n + 1), n);

  CHECK_EQ(vg_tls_ctx_write_cert_pem(ctx, path("no/such/dir.crt"), err, sizeof err), VG_EINVAL);
  CHECK(strstr(err, path("no/such/dir.crt")) && strstr(err, "No such file"));
  vg_tls_ctx_destroy(ctx);
  remove_tmpdir();
}

static void quiet(void) __attribute__((constructor));
static void quiet(void) { vg_log_set_level(VG_LOG_ERROR); }

VGT_MAIN(VGT_CASE(test_certificate_contents), VGT_CASE(test_certificate_verified_by_name),
         VGT_CASE(test_bad_names), VGT_CASE(test_from_files), VGT_CASE(test_from_files_chain),
         VGT_CASE(test_from_files_errors), VGT_CASE(test_write_cert_pem))
