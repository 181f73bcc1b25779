/* Definitions shared by the DTLS session (dtls.c) and its certificate
 * (dtls_cert.c). Not a public header: nothing outside src/core/dtls*.c
 * includes it. */
#ifndef VG_CORE_DTLS_INTERNAL_H
#define VG_CORE_DTLS_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/dtls.h"

struct vg_dtls_cert {
  SSL_CTX *ctx;   /* owned; shared by every vg_dtls_t (SSL_new takes a ref) */
  X509 *x509;     /* owned */
  EVP_PKEY *pkey; /* owned */
  char fingerprint[VG_DTLS_FINGERPRINT_MAX];
};

/* The SSL_CTX verify callback (dtls.c): accepts the peer's self-signed
 * certificate exactly when it matches the SDP fingerprint of the vg_dtls_t
 * that is the SSL's app data. Returns 1 to accept, 0 to reject. */
int vg_dtls_verify_peer(int preverify_ok, X509_STORE_CTX *store);

#endif
