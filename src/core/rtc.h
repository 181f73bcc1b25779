/* vg_rtc: one WebRTC peer — ICE, DTLS-SRTP, RTP/RTCP and SDP composed.
 *
 * The server makes one per browser: it takes the browser's offer and
 * returns the answer (ICE-lite, controlled, DTLS passive unless the offer
 * says otherwise). Tests and the load generator make the client side: it
 * creates an offer, applies the answer, checks and nominates (controlling)
 * and runs the DTLS client.
 *
 * It follows the core's five verbs. The caller feeds every datagram that
 * the peer table routes to this peer (`handle_packet`), calls
 * `handle_timeout` when `poll_timeout` says, and after each call drains
 * `poll_transmit` (datagrams with their destination) and `poll_event`.
 * Nothing calls back into the caller.
 *
 *   offer/answer ──► ICE checks ──► DTLS handshake ──► SRTP media + RTCP
 *                    (STUN)         (first byte 20..63)  (first byte 128..191)
 *
 * Events, in the order they happen: ICE_CONNECTED (with the selected
 * address; again when it changes), DTLS_CONNECTED (with the SRTP profile),
 * AUDIO (one decrypted RTP packet), RTT (after an RTCP report about our
 * stream), CLOSED (exactly once, with a reason; nothing more happens). */
#ifndef VG_CORE_RTC_H
#define VG_CORE_RTC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/err.h"
#include "base/time.h"
#include "core/dtls.h"

typedef struct vg_rtc vg_rtc_t;

typedef enum {
  VG_RTC_ROLE_SERVER = 0, /* answers offers: ICE-lite, controlled */
  VG_RTC_ROLE_CLIENT = 1, /* makes offers: full ICE, controlling */
} vg_rtc_role_t;

typedef struct {
  vg_rtc_role_t role;
  const vg_dtls_cert_t *cert; /* borrowed; must outlive the peer */
  const char *sid;            /* nullable; copied; a short id for logs */
  vg_time_t consent_timeout;  /* 0 = VG_ICE_CONSENT_TIMEOUT (30 s) */
  uint32_t ssrc;              /* our RTP SSRC; 0 = random */
} vg_rtc_config_t;

/* A local candidate to advertise in the answer (server role). */
typedef struct {
  vg_addr_t addr; /* transport says UDP or TCP (TCP is passive) */
} vg_rtc_candidate_t;

#define VG_RTC_MAX_LOCAL_CANDIDATES 16

typedef enum {
  VG_RTC_CLOSE_NONE = 0,
  VG_RTC_CLOSE_LOCAL,          /* vg_rtc_close() */
  VG_RTC_CLOSE_CONSENT,        /* no authenticated ICE check for the consent timeout */
  VG_RTC_CLOSE_ICE_FAILED,     /* client: every check timed out */
  VG_RTC_CLOSE_DTLS_FAILED,    /* handshake failed or timed out; fingerprint mismatch */
  VG_RTC_CLOSE_DTLS_CLOSED,    /* the peer sent close_notify */
  VG_RTC_CLOSE_BYE,            /* the peer sent RTCP BYE for its stream */
} vg_rtc_close_reason_t;

typedef enum {
  VG_RTC_EV_ICE_CONNECTED = 1,
  VG_RTC_EV_DTLS_CONNECTED,
  VG_RTC_EV_AUDIO,
  VG_RTC_EV_RTT,
  VG_RTC_EV_CLOSED,
} vg_rtc_event_type_t;

typedef struct {
  vg_rtc_event_type_t type;
  union {
    struct {
      vg_addr_t addr; /* the selected remote address */
    } ice;
    struct {
      int srtp_profile; /* VG_SRTP_PROFILE_... */
    } dtls;
    struct {
      uint32_t ssrc;
      uint16_t seq;
      uint32_t timestamp;
      uint8_t payload_type;
      bool marker;
      /* Borrowed from the peer until the next vg_rtc_poll_event; input
       * handled meanwhile (while the event is queued or after it was
       * polled) does not touch it. */
      const uint8_t *payload;
      size_t payload_len;
    } audio;
    struct {
      vg_time_t rtt; /* round-trip time from an RTCP report block */
    } rtt;
    struct {
      vg_rtc_close_reason_t reason;
      const char *why; /* borrowed from the peer: one human-readable line */
    } closed;
  } u;
} vg_rtc_event_t;

/* Counters for /api/sessions and the benchmarks. */
typedef struct {
  uint64_t packets_in, bytes_in;       /* SRTP audio received and accepted */
  uint64_t packets_out, bytes_out;     /* SRTP audio sent */
  uint64_t packets_dropped;            /* undecryptable, replayed, early, or queue full */
  int64_t packets_lost;                /* RFC 3550 A.3 cumulative, from our receive stats */
  uint32_t jitter;                     /* RFC 3550 A.8, in RTP timestamp units */
  vg_time_t rtt;                       /* last measured; 0 = unknown */
  vg_time_t ice_connected_at;          /* `now` of the event; 0 = not yet */
  vg_time_t dtls_connected_at;
  vg_time_t first_audio_at;
} vg_rtc_stats_t;

int vg_rtc_create(const vg_rtc_config_t *cfg, vg_rtc_t **out) VG_MUST_USE;
void vg_rtc_destroy(vg_rtc_t *rtc);

/* Server: parse `offer` and write the answer into `answer` (NUL-terminated).
 * Returns the answer length; VG_EINVAL for a malformed offer and
 * VG_EUNSUPPORTED for one without Opus audio, with `*why` (nullable) set to
 * a one-line reason. `cands` lists the addresses to advertise (at least
 * one). */
int vg_rtc_accept_offer(vg_rtc_t *rtc, vg_time_t now, const char *offer, size_t offer_len,
                        const vg_rtc_candidate_t *cands, size_t n_cands, char *answer,
                        size_t answer_cap, const char **why) VG_MUST_USE;

/* Client: write an offer (NUL-terminated); returns its length. */
int vg_rtc_create_offer(vg_rtc_t *rtc, char *out, size_t cap) VG_MUST_USE;
/* Client: apply the server's answer and start checking its candidates. */
int vg_rtc_apply_answer(vg_rtc_t *rtc, vg_time_t now, const char *answer, size_t len,
                        const char **why) VG_MUST_USE;

/* Our ICE ufrag (the peer table key). */
const char *vg_rtc_local_ufrag(const vg_rtc_t *rtc);

/* The five verbs. handle_packet returns VG_OK when the datagram was
 * accepted; VG_EAUTH when it was a STUN request that failed authentication
 * (the caller must not bind its address); another negative code when it was
 * dropped (the peer stays usable). */
int vg_rtc_handle_packet(vg_rtc_t *rtc, vg_time_t now, const vg_addr_t *from, const uint8_t *buf,
                         size_t len);
int vg_rtc_handle_timeout(vg_rtc_t *rtc, vg_time_t now);
int vg_rtc_poll_transmit(vg_rtc_t *rtc, uint8_t *out, size_t cap, vg_addr_t *to);
bool vg_rtc_poll_event(vg_rtc_t *rtc, vg_rtc_event_t *ev);
vg_time_t vg_rtc_poll_timeout(const vg_rtc_t *rtc);

/* Sends one Opus frame on our SSRC: `rtp_ts` is its RTP timestamp (48 kHz).
 * VG_ESTATE before DTLS is connected. */
int vg_rtc_send_audio(vg_rtc_t *rtc, vg_time_t now, uint32_t rtp_ts, bool marker,
                      const uint8_t *payload, size_t len) VG_MUST_USE;

/* Ends the session: queues RTCP BYE and DTLS close_notify, then CLOSED. */
int vg_rtc_close(vg_rtc_t *rtc, vg_time_t now);

bool vg_rtc_is_closed(const vg_rtc_t *rtc);
/* True when `addr` is a path this peer validated with ICE (an authenticated
 * request from it, or a verified response): the caller binds such an
 * address to the peer in its peer table after handle_packet. */
bool vg_rtc_has_path(const vg_rtc_t *rtc, const vg_addr_t *addr);
void vg_rtc_get_stats(const vg_rtc_t *rtc, vg_rtc_stats_t *out);

#endif
