/* DTLS 1.2 for DTLS-SRTP (RFC 6347, RFC 5763, RFC 5764) on OpenSSL 3,
 * sans-IO.
 *
 * One vg_dtls_cert_t (a self-signed ECDSA P-256 certificate) is created at
 * server start and shared by every peer. Each peer has one vg_dtls_t that
 * runs the handshake over memory buffers: the caller feeds it datagrams and
 * timeouts with `now`, and drains datagrams to send, events, and the next
 * deadline. It owns no socket and reads no clock; every retransmission is
 * driven by `now` (see the design note at the top of dtls.c).
 *
 *   vg_dtls_create(&cfg, &d);  vg_dtls_start(d, now);
 *   on a datagram whose first byte is 20..63 (RFC 7983 §7):
 *       vg_dtls_handle_packet(d, now, buf, len);
 *   at vg_dtls_poll_timeout(d):  vg_dtls_handle_timeout(d, now);
 *   after each input:  while ((n = vg_dtls_poll_transmit(d, out, cap)) > 0) send;
 *                      while (vg_dtls_poll_event(d, &ev)) ...;
 *
 * On VG_DTLS_EVENT_CONNECTED the event carries the SRTP keys for
 * vg_srtp_create. The peer's certificate is checked against the SDP
 * a=fingerprint (RFC 8122 §5, RFC 5763 §5); a mismatch fails the handshake.
 * Application data (data channels) is not supported: it is read and dropped.
 * Not thread-safe per object; distinct objects may run on distinct threads
 * while sharing one certificate. */
#ifndef VG_CORE_DTLS_H
#define VG_CORE_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/time.h"
#include "core/srtp.h"

/* Largest datagram we send: records are packed into datagrams of at most
 * this size. 1200 bytes fits any path that carries WebRTC (the IPv6 minimum
 * MTU of 1280 less IP/UDP headers and TURN overhead). */
#define VG_DTLS_MTU 1200

/* Largest datagram handle_packet accepts (UDP payload and RFC 4571 frame
 * length are both 16-bit). */
#define VG_DTLS_MAX_DATAGRAM 65535

/* RFC 6347 §4.2.4.1 recommends an initial retransmission timer of 1 s;
 * WebRTC paths are short and ICE has already measured them, so we start at
 * 400 ms like browsers do (they use 50 ms to 1 s). */
#define VG_DTLS_DEFAULT_INITIAL_RTO VG_MSEC(400)
/* A handshake that has not completed after this long has failed. */
#define VG_DTLS_DEFAULT_HANDSHAKE_TIMEOUT VG_SEC(20)
/* Longest handshake_timeout accepted: OpenSSL's own wall-clock timer is
 * pushed out to one hour (see dtls.c) and must never be reached. */
#define VG_DTLS_MAX_HANDSHAKE_TIMEOUT VG_SEC(600)

/* "sha-256" fingerprint text: 32 bytes as "AB:" ... "EF" plus NUL; room
 * for sha-512 (64 bytes) too. */
#define VG_DTLS_FINGERPRINT_MAX (64 * 3)

typedef struct vg_dtls_cert vg_dtls_cert_t;
typedef struct vg_dtls vg_dtls_t;

/* RFC 5763 §5: the a=setup:active side is the DTLS client, the passive
 * side the DTLS server. voxgate answers with a=setup:passive. */
typedef enum {
  VG_DTLS_ROLE_SERVER = 0, /* a=setup:passive: waits for the ClientHello */
  VG_DTLS_ROLE_CLIENT = 1, /* a=setup:active: sends the ClientHello */
} vg_dtls_role_t;

typedef struct {
  vg_dtls_role_t role;
  const vg_dtls_cert_t *cert; /* borrowed; must outlive the vg_dtls_t */
  /* The peer's SDP a=fingerprint (RFC 8122 §5), both copied at create:
   * algorithm "sha-1", "sha-224", "sha-256", "sha-384" or "sha-512"
   * (case-insensitive), and the colon-separated hex digest (any case). */
  const char *remote_fingerprint_alg;
  const char *remote_fingerprint;
  vg_time_t initial_rto;       /* 0 = VG_DTLS_DEFAULT_INITIAL_RTO */
  vg_time_t handshake_timeout; /* 0 = VG_DTLS_DEFAULT_HANDSHAKE_TIMEOUT;
                                  at most VG_DTLS_MAX_HANDSHAKE_TIMEOUT */
  const char *sid;             /* nullable; copied; prefixes log lines */
  /* Nullable: the SRTP profiles offered (client) or accepted in order of
   * preference (server), an OpenSSL use_srtp list built from
   * "SRTP_AEAD_AES_128_GCM" and "SRTP_AES128_CM_SHA1_80". NULL is the
   * default, "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80" (GCM first).
   * Meant for tests and interop experiments; leave NULL in production. */
  const char *srtp_profiles;
} vg_dtls_config_t;

typedef enum {
  VG_DTLS_STATE_NEW = 0,     /* created, not started */
  VG_DTLS_STATE_HANDSHAKING, /* started */
  VG_DTLS_STATE_CONNECTED,   /* handshake done, keys exported */
  VG_DTLS_STATE_CLOSED,      /* close_notify sent or received */
  VG_DTLS_STATE_FAILED,      /* handshake failed or timed out */
} vg_dtls_state_t;

typedef enum {
  VG_DTLS_EVENT_CONNECTED = 1, /* `keys` is valid */
  VG_DTLS_EVENT_FAILED,        /* `reason` says why; the object is dead */
  VG_DTLS_EVENT_CLOSED,        /* the peer sent close_notify */
} vg_dtls_event_type_t;

typedef struct {
  vg_dtls_event_type_t type;
  vg_srtp_keys_t keys; /* CONNECTED: profile and keys, split by our role */
  const char *reason;  /* FAILED: one line, borrowed from the vg_dtls_t until
                          the next poll_event or destroy; NULL otherwise */
} vg_dtls_event_t;

/* Creates the shared certificate: ECDSA P-256 key, self-signed with
 * SHA-256, random 64-bit serial, valid from one day ago for one year, and
 * the DTLS context all peers use. Returns VG_OK and sets *out (owned by the
 * caller), or VG_ENOMEM / VG_ECRYPTO. */
VG_MUST_USE int vg_dtls_cert_create(vg_dtls_cert_t **out);

/* Frees `cert`. Every vg_dtls_t using it must be destroyed first. NULL is
 * a no-op. */
void vg_dtls_cert_destroy(vg_dtls_cert_t *cert);

/* The certificate's SHA-256 fingerprint, upper-case colon-separated hex
 * ("AB:CD:..."), for a=fingerprint:sha-256. Borrowed from `cert`. */
const char *vg_dtls_cert_fingerprint(const vg_dtls_cert_t *cert);

/* Creates a peer's DTLS endpoint in state NEW. Returns VG_OK and sets *out
 * (owned by the caller), or VG_EINVAL (missing cert or fingerprint, a
 * fingerprint that is not hex of the algorithm's length, bad profile
 * list, negative or too long timeouts), VG_EUNSUPPORTED (fingerprint
 * algorithm), VG_ENOMEM, VG_ECRYPTO. */
VG_MUST_USE int vg_dtls_create(const vg_dtls_config_t *cfg, vg_dtls_t **out);

/* Frees `d` and wipes its key material. NULL is a no-op. */
void vg_dtls_destroy(vg_dtls_t *d);

/* Starts the handshake at `now`: the client queues its ClientHello; both
 * roles arm the handshake timeout. Returns VG_OK, VG_ESTATE if already
 * started, or VG_ECRYPTO (the FAILED event is queued too). */
VG_MUST_USE int vg_dtls_start(vg_dtls_t *d, vg_time_t now);

/* Feeds one received datagram (borrowed for the call; its first byte must
 * be 20..63). Records that fail record processing (unknown type or
 * version, bad MAC, replays) are discarded silently, as RFC 6347 §4.1.2.7
 * requires; a well-framed but malformed handshake message fails the
 * handshake with an alert, as OpenSSL decides. Outcomes (connected, failed, closed) are reported as events, not return
 * codes. Returns VG_OK, VG_EINVAL (empty, too long, wrong first byte),
 * VG_ESTATE (not started), VG_ECLOSED (already closed or failed; the
 * datagram is ignored), or VG_ENOMEM. */
VG_MUST_USE int vg_dtls_handle_packet(vg_dtls_t *d, vg_time_t now, const uint8_t *buf,
                                      size_t len);

/* Runs the timers due at `now`: retransmits the last flight
 * (RFC 6347 §4.2.4) or fails the handshake at its deadline. Calling it
 * early is harmless. Returns VG_OK. */
int vg_dtls_handle_timeout(vg_dtls_t *d, vg_time_t now);

/* Copies the next datagram to send into `out` and returns its length
 * (<= VG_DTLS_MTU), 0 when none is queued, or VG_ENOSPC when `cap` is too
 * small for it (it stays queued; a cap of VG_DTLS_MTU always suffices). */
VG_MUST_USE int vg_dtls_poll_transmit(vg_dtls_t *d, uint8_t *out, size_t cap);

/* Pops the next event into *ev; false when none. `ev->reason` borrows
 * memory of `d` until the next call. CONNECTED, FAILED and CLOSED are each
 * reported at most once. */
bool vg_dtls_poll_event(vg_dtls_t *d, vg_dtls_event_t *ev);

/* When handle_timeout should next be called, or VG_TIME_NEVER (not
 * started, connected, closed, failed). */
vg_time_t vg_dtls_poll_timeout(const vg_dtls_t *d);

/* Queues a close_notify alert (RFC 5246 §7.2.1) when connected, and moves
 * to CLOSED (before the handshake completes nothing is sent). No CLOSED
 * event is reported for our own close. Returns VG_OK (also when already
 * closed or failed). */
int vg_dtls_close(vg_dtls_t *d);

/* The current state (for logs and the composition's bookkeeping). */
vg_dtls_state_t vg_dtls_state(const vg_dtls_t *d);

#endif
