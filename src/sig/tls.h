/* TLS server for HTTPS on the shared TCP port, on OpenSSL 3 memory BIOs,
 * sans-IO.
 *
 * One vg_tls_ctx_t per server holds the certificate, its key and the
 * OpenSSL context: either a self-signed certificate generated at start, or
 * the operator's own PEM files. One vg_tls_t per TCP connection whose first
 * byte was a TLS handshake record (0x16). The IO layer moves bytes; this
 * module owns no socket, reads no clock (OpenSSL reads it to stamp the
 * generated certificate) and starts no thread.
 *
 *   socket bytes ──> vg_tls_feed ──> [OpenSSL] ──> vg_tls_read ──> HTTP codec
 *   socket <── vg_tls_poll_output <── [OpenSSL] <── vg_tls_write <── responses
 *
 * After each feed, the caller reads until vg_tls_read returns 0 (or < 0),
 * writes what it has to say, then drains vg_tls_poll_output into the socket
 * until it returns 0. Reading comes first: OpenSSL decrypts lazily, in
 * vg_tls_read, and some records it decrypts there (a TLS 1.3 KeyUpdate)
 * make it write a reply.
 *
 * Protocol: TLS 1.2 and 1.3 only (RFC 8446, RFC 5246), ECDHE with AEAD
 * ciphers, security level 2. ALPN (RFC 7301): "http/1.1" only, so a browser
 * never tries h2 on us. No session tickets or resumption, no renegotiation.
 *
 * Memory per connection is bounded: unread input and undrained output are
 * each capped at VG_TLS_MAX_PENDING; a peer that floods faster than the
 * caller reads, or does not read what we send (when the caller stops
 * draining because its socket is backed up), is cut off with VG_ELIMIT.
 *
 * A vg_tls_ctx_t may be shared by connections on several threads once it is
 * created; one vg_tls_t must be used by one thread at a time. */
#ifndef VG_SIG_TLS_H
#define VG_SIG_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Input not yet read and output not yet drained, each, per connection.
 * 256 KiB is 16 full TLS records (RFC 8446 §5.1: 2^14 bytes each): far more
 * than an HTTP request or a page needs in flight, small enough that 4096
 * connections cannot exhaust memory. */
#define VG_TLS_MAX_PENDING (256 * 1024)

/* Names vg_tls_ctx_create_self_signed accepts: at most this many, each at
 * most VG_TLS_MAX_NAME bytes (RFC 1035 §2.3.4: 253 for a DNS name). */
#define VG_TLS_MAX_NAMES 64
#define VG_TLS_MAX_NAME 253

/* SHA-256 fingerprint text: 32 bytes as "AB:" ... "EF" plus NUL. */
#define VG_TLS_FINGERPRINT_LEN (32 * 3)

/* The ALPN protocol we speak (RFC 7301 §6, IANA "http/1.1"). */
#define VG_TLS_ALPN "http/1.1"

typedef struct vg_tls_ctx vg_tls_ctx_t;
typedef struct vg_tls vg_tls_t;

/* ------------------------------------------------------------------------ */
/* Certificates: one context per server                                     */

/* Generates an ECDSA P-256 key and a certificate self-signed with SHA-256:
 * subject CN "voxgate", random 64-bit serial, valid from one day ago (peers'
 * clock skew) for one year, keyUsage digitalSignature, extendedKeyUsage
 * serverAuth, and a subjectAltName (RFC 5280 §4.2.1.6) listing every entry
 * of `names`: an entry that parses as an IPv4 or IPv6 address becomes an
 * iPAddress, anything else a dNSName (letters, digits, '-', '.', and a
 * leading "*." wildcard). Browsers match only the subjectAltName (RFC 6125
 * §6.4.4), so list every name and address the page will be opened by
 * ("localhost", "127.0.0.1", "::1", the host's name and addresses).
 *
 * `names` holds n_names (1..VG_TLS_MAX_NAMES) NUL-terminated strings,
 * borrowed for the call. Returns VG_OK and sets *out (owned by the caller),
 * or VG_EINVAL (no names, too many, a name that is neither an address nor a
 * valid DNS name), VG_ENOMEM or VG_ECRYPTO, with a one-line reason in `err`
 * (err_cap bytes, NUL-terminated; nullable when err_cap is 0). */
VG_MUST_USE int vg_tls_ctx_create_self_signed(const char *const *names, size_t n_names,
                                              vg_tls_ctx_t **out, char *err, size_t err_cap);

/* Loads the operator's certificate and key: `cert_pem` holds the leaf
 * certificate first, then any intermediates (the chain sent to clients);
 * `key_pem` holds the leaf's private key, unencrypted (PKCS#8, or
 * traditional EC/RSA). One file may hold both (pass it twice): PEM blocks of
 * the other kind are skipped. Both paths are borrowed for the call.
 *
 * Returns VG_OK and sets *out (owned by the caller), or VG_EINVAL with
 * `err` naming the file and saying why: it cannot be opened (the system's
 * reason), it holds no PEM certificate / private key, a PEM block is
 * malformed, the key is encrypted, the key does not match the certificate,
 * or OpenSSL refuses the certificate (a key too weak for security level 2,
 * e.g. RSA under 2048 bits). VG_ENOMEM / VG_ECRYPTO on internal failures.
 * A certificate that has expired or is not yet valid is loaded, with a
 * warning in the log (browsers will refuse it). `err` as above. */
VG_MUST_USE int vg_tls_ctx_create_from_files(const char *cert_pem, const char *key_pem,
                                             vg_tls_ctx_t **out, char *err, size_t err_cap);

/* The SHA-256 fingerprint of the leaf certificate, upper-case hex bytes
 * joined by ':' ("AB:CD:..."), as browsers show it. Borrowed from ctx. */
const char *vg_tls_ctx_fingerprint(const vg_tls_ctx_t *ctx);

/* Writes the leaf certificate as PEM ("-----BEGIN CERTIFICATE-----...")
 * into out (cap bytes), NUL-terminated, e.g. to offer it for download so a
 * LAN user can install it. Returns its length without the NUL, or
 * VG_ENOSPC (about 800 bytes suffice for the self-signed certificate). */
VG_MUST_USE int vg_tls_ctx_cert_pem(const vg_tls_ctx_t *ctx, char *out, size_t cap);

/* Writes the leaf certificate as PEM to the file `path` (created or
 * truncated; a certificate is public, so the file gets the process's default
 * mode) for an operator to install and trust (--tls-cert-out). Returns VG_OK,
 * or VG_EINVAL with `err` naming the file and the system's reason (`err`
 * as above). */
VG_MUST_USE int vg_tls_ctx_write_cert_pem(const vg_tls_ctx_t *ctx, const char *path, char *err,
                                          size_t err_cap);

/* Frees ctx. Connections created from it hold their own reference to the
 * OpenSSL context and stay valid. NULL is a no-op. */
void vg_tls_ctx_destroy(vg_tls_ctx_t *ctx);

/* ------------------------------------------------------------------------ */
/* Connections                                                              */

/* Creates the server side of one connection, waiting for a ClientHello.
 * `ctx` is borrowed for the call only. Returns VG_OK and sets *out (owned
 * by the caller), or VG_ENOMEM. */
VG_MUST_USE int vg_tls_create(vg_tls_ctx_t *ctx, vg_tls_t **out);

/* Frees t and all it buffers. NULL is a no-op. */
void vg_tls_destroy(vg_tls_t *t);

/* Feeds ciphertext read from the socket (borrowed for the call; nullable
 * when len is 0) and advances the handshake. Returns len: every byte is
 * consumed (after the handshake they wait, still encrypted, for
 * vg_tls_read; after the peer's close_notify, or after vg_tls_close before
 * the handshake completed, they are discarded). On
 * failure returns a negative code and sets *why (nullable; a static or
 * t-owned one-line reason valid until destroy):
 *   VG_EPROTO  the handshake failed (not TLS, no common version or cipher,
 *              a malformed message, a bad record), or a record read by
 *              vg_tls_read failed earlier;
 *   VG_EUNSUPPORTED  the client offered ALPN without "http/1.1" (RFC 7301
 *              §3.2: we answer with a no_application_protocol alert);
 *   VG_ELIMIT  more than VG_TLS_MAX_PENDING bytes would wait unread (so
 *              one call must not feed more than that);
 *   VG_ENOMEM.
 * Once failed, every later call returns the same code and reason. The
 * alert OpenSSL queued, if any, is still returned by vg_tls_poll_output:
 * drain it, then close the connection. */
VG_MUST_USE int vg_tls_feed(vg_tls_t *t, const uint8_t *in, size_t len, const char **why);

/* Copies up to cap decrypted application bytes into out. Returns the count
 * (> 0), 0 when none is available yet (the handshake is not done or more
 * ciphertext is needed), VG_ECLOSED once the peer's close_notify has been
 * read (all data before it has been returned), or the failure code (as for
 * vg_tls_feed; a record that fails to decrypt fails the connection here
 * with VG_EPROTO): vg_tls_reason says why. */
VG_MUST_USE int vg_tls_read(vg_tls_t *t, uint8_t *out, size_t cap);

/* Encrypts all of `in` (borrowed for the call; nullable when len is 0)
 * into the pending output. Before the handshake is done the plaintext is
 * queued and encrypted as soon as it completes (TLS sends no application
 * data before that). Returns len, or: VG_ECLOSED after vg_tls_close;
 * VG_ELIMIT when more than VG_TLS_MAX_PENDING bytes are already waiting for
 * vg_tls_poll_output (or for the handshake), which fails the connection —
 * the peer is not reading; the failure code of a failed connection. A
 * single write may be larger than the limit (up to INT_MAX; VG_EINVAL
 * beyond): the limit bounds what waits, not what the caller hands over at
 * once. */
VG_MUST_USE int vg_tls_write(vg_tls_t *t, const uint8_t *in, size_t len);

/* Moves up to cap bytes of ciphertext to send into out. Returns the count
 * (> 0), or 0 when none is pending. Works in every state: handshake
 * messages, application records, close_notify, and the alert after a
 * failure. */
VG_MUST_USE int vg_tls_poll_output(vg_tls_t *t, uint8_t *out, size_t cap);

/* True once the handshake has completed (it stays true after a close or a
 * later failure). */
bool vg_tls_handshake_done(const vg_tls_t *t);

/* Queues a close_notify alert (RFC 8446 §6.1) to drain with
 * vg_tls_poll_output; later writes return VG_ECLOSED, reads still work
 * until the peer's close_notify. Before the handshake is done nothing is
 * sent (and queued writes are dropped). Returns VG_OK (also when already
 * closed or failed). */
int vg_tls_close(vg_tls_t *t);

/* Why the connection failed (borrowed from t until destroy), or NULL. */
const char *vg_tls_reason(const vg_tls_t *t);

/* The negotiated version ("TLSv1.3", "TLSv1.2") and cipher suite
 * ("TLS_AES_128_GCM_SHA256") for logs; static strings, "" before the
 * handshake is done. */
const char *vg_tls_version(const vg_tls_t *t);
const char *vg_tls_cipher(const vg_tls_t *t);

#endif
