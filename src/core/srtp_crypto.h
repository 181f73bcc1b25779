/* libsrtp2's ciphers and authenticator on OpenSSL 3.
 *
 * libsrtp2 does SRTP itself (packet format, key derivation, replay
 * windows, rollover counters) and calls a "crypto kernel" for AES and
 * HMAC. Debian builds that kernel on NSS, whose softoken sets up a fresh
 * PKCS#11 context for every packet and slows down with the number of keys
 * alive: measured here, protect + unprotect of one 80-byte Opus packet
 * costs 1.5 µs with one session and 45 µs with 1000 (bench/hotpath.c).
 * libsrtp2's documented extension point, srtp_replace_cipher_type() and
 * srtp_replace_auth_type(), takes other implementations of the same
 * primitives; these keep one OpenSSL context per key, re-initialised
 * (never re-allocated) per packet.
 *
 * Replaced: AES-128 ICM (RFC 3711 §4.1.1: the AES_CM_128_HMAC_SHA1_80
 * cipher and every profile's key derivation, §4.3.3), AES-128 GCM
 * (RFC 7714) and HMAC-SHA1 (RFC 3711 §4.2). libsrtp2 runs its own
 * known-answer tests against each replacement before accepting it, and
 * our own vectors (RFC 3711 B.2, the GCM specification's test case 4,
 * RFC 2202) as well. */
#ifndef VG_CORE_SRTP_CRYPTO_H
#define VG_CORE_SRTP_CRYPTO_H

#include <srtp2/auth.h>
#include <srtp2/cipher.h>

#include "base/err.h"

/* Installs the three types into libsrtp2's crypto kernel; srtp_init()
 * must have run. Idempotent. Returns VG_OK, or VG_ECRYPTO when libsrtp2
 * refuses one (a failed known-answer test; the kernel then keeps its own
 * implementation of that type). Not thread-safe: call at start, before
 * any session exists. */
VG_MUST_USE int vg_srtp_crypto_install(void);

/* The types themselves (static; for tests and benchmarks). */
const srtp_cipher_type_t *vg_srtp_crypto_aes_icm_128(void);
const srtp_cipher_type_t *vg_srtp_crypto_aes_gcm_128(void);
const srtp_auth_type_t *vg_srtp_crypto_hmac_sha1(void);

#endif
