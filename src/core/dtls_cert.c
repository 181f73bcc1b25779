/* The DTLS certificate: a self-signed ECDSA P-256 certificate, its
 * SHA-256 fingerprint for the SDP (RFC 8122 §5), and the SSL_CTX that every
 * vg_dtls_t of the process is created from (see dtls.c for the session). */
#include "core/dtls.h"

#include <stdlib.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/bytes.h"
#include "core/dtls_internal.h"

/* ECDHE only (forward secrecy); AEAD first; ECDSA for our own certificate,
 * RSA suites kept so we can be the client of a peer with an RSA key. */
#define CIPHER_LIST                                                            \
  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                 \
  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                 \
  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"                 \
  "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA"
#define GROUP_LIST "P-256:X25519"

#define CERT_VALID_BEFORE_SEC (24L * 3600)     /* tolerate peers' clock skew */
#define CERT_VALID_AFTER_SEC (365L * 24 * 3600) /* one year */
#define CERT_COMMON_NAME "voxgate"

static int build_x509(vg_dtls_cert_t *c) {
  int ok = 0;
  BIGNUM *serial = BN_new();
  c->x509 = X509_new();
  if (!serial || !c->x509) goto out;
  /* A random serial: browsers cache certificates by issuer and serial. */
  if (!BN_rand(serial, 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
      !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(c->x509)))
    goto out;
  X509_NAME *name = X509_get_subject_name(c->x509);
  if (!X509_set_version(c->x509, 2) || /* v3 */
      !X509_gmtime_adj(X509_getm_notBefore(c->x509), -CERT_VALID_BEFORE_SEC) ||
      !X509_gmtime_adj(X509_getm_notAfter(c->x509), CERT_VALID_AFTER_SEC) ||
      !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                  (const unsigned char *)CERT_COMMON_NAME, -1, -1, 0) ||
      !X509_set_issuer_name(c->x509, name) || !X509_set_pubkey(c->x509, c->pkey) ||
      !X509_sign(c->x509, c->pkey, EVP_sha256()))
    goto out;
  ok = 1;
out:
  BN_free(serial);
  return ok;
}

static int build_ctx(vg_dtls_cert_t *c) {
  c->ctx = SSL_CTX_new(DTLS_method());
  if (!c->ctx) return 0;
  /* RFC 8827 §6.5: DTLS 1.2 or later; OpenSSL 3.0 has no DTLS 1.3. */
  if (!SSL_CTX_set_min_proto_version(c->ctx, DTLS1_2_VERSION) ||
      !SSL_CTX_set_max_proto_version(c->ctx, DTLS1_2_VERSION) ||
      !SSL_CTX_use_certificate(c->ctx, c->x509) || !SSL_CTX_use_PrivateKey(c->ctx, c->pkey) ||
      !SSL_CTX_check_private_key(c->ctx) || !SSL_CTX_set_cipher_list(c->ctx, CIPHER_LIST) ||
      !SSL_CTX_set1_groups_list(c->ctx, GROUP_LIST))
    return 0;
  /* No renegotiation (a second handshake would need new SRTP keys), no
   * session resumption (every peer is a fresh handshake), and the MTU is
   * ours to set, not something to ask a memory BIO. */
  SSL_CTX_set_options(c->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET | SSL_OP_NO_QUERY_MTU);
  /* OpenSSL sizes each peer's record write buffer for the largest record
   * it may send (16 KB by default) and keeps it for the peer's lifetime.
   * Our records never exceed a datagram (DTLS_set_link_mtu: handshake
   * messages are fragmented to VG_DTLS_MTU; we send no application data),
   * so the buffer is sized for that: about 15 KB less per peer. Local
   * only: nothing is negotiated (unlike RFC 6066 max_fragment_length). */
  if (!SSL_CTX_set_max_send_fragment(c->ctx, VG_DTLS_MTU)) return 0;
  SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_OFF);
  /* RFC 5763 §5: both sides present a certificate. */
  SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     vg_dtls_verify_peer);
  return 1;
}

int vg_dtls_cert_create(vg_dtls_cert_t **out) {
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned md_len = 0;
  int rc = VG_ECRYPTO;
  *out = NULL;
  vg_dtls_cert_t *c = calloc(1, sizeof *c);
  if (!c) return VG_ENOMEM;
  c->pkey = EVP_EC_gen("P-256");
  if (!c->pkey || !build_x509(c) || !X509_digest(c->x509, EVP_sha256(), md, &md_len) ||
      !build_ctx(c))
    goto fail;
  vg_format_hex_colons(md, md_len, c->fingerprint, sizeof c->fingerprint);
  *out = c;
  return VG_OK;
fail:
  ERR_clear_error();
  vg_dtls_cert_destroy(c);
  return rc;
}

void vg_dtls_cert_destroy(vg_dtls_cert_t *cert) {
  if (!cert) return;
  SSL_CTX_free(cert->ctx);
  X509_free(cert->x509);
  EVP_PKEY_free(cert->pkey);
  free(cert);
}

const char *vg_dtls_cert_fingerprint(const vg_dtls_cert_t *cert) { return cert->fingerprint; }
