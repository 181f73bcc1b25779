/* ICE (RFC 8445) for one peer, sans-IO: the server's lite, always-controlled
 * agent with consent freshness (RFC 7675), and a minimal controlling client
 * for tests and the load generator.
 *
 * Lite / controlled (the server, RFC 8445 §2.5, §7.3, §8.2):
 *   - answers authenticated Binding requests from any address (an unknown
 *     source is a peer-reflexive candidate) with XOR-MAPPED-ADDRESS = the
 *     source, MESSAGE-INTEGRITY (local password) and FINGERPRINT;
 *   - selects the pair a request with USE-CANDIDATE arrived on: among
 *     nominated pairs the highest remote priority, UDP before TCP at equal
 *     priority; a nomination from a new address (NAT rebinding) replaces the
 *     selected one when that has been quiet for `rebind_quiet`;
 *   - declares consent expired when no authenticated request has come from
 *     the selected address for `consent_timeout` (before selection: none
 *     from anywhere since creation).
 *
 * Controlling client: checks each remote candidate (paced at Ta, RFC 8489
 * retransmissions), nominates the first pair that succeeds (regular
 * nomination), then sends consent checks every 4–6 s.
 *
 * Usage (the five verbs): feed every STUN datagram to handle_packet and
 * call handle_timeout at poll_timeout(); after either, drain poll_transmit
 * and poll_event. Nothing calls back into the caller. */
#ifndef VG_CORE_ICE_H
#define VG_CORE_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/err.h"
#include "base/time.h"

/* RFC 7675 §5.1: consent expires 30 s after the last authenticated check. */
#define VG_ICE_CONSENT_TIMEOUT VG_SEC(30)
/* How long the selected address must have been silent before a nomination
 * from another address (NAT rebinding, network change) replaces it even at
 * a lower priority. Browsers check the selected pair every 2.5 s (Chrome)
 * to 4–6 s (RFC 7675 §5.1), so 3 s of silence is a missed check. */
#define VG_ICE_REBIND_QUIET VG_SEC(3)
/* RFC 8839 §5.4: ice-ufrag is 4..256 characters, ice-pwd 22..256. */
#define VG_ICE_UFRAG_MAX 256
#define VG_ICE_PWD_MAX 256

typedef enum {
  VG_ICE_ROLE_LITE_CONTROLLED = 0, /* the server */
  VG_ICE_ROLE_CONTROLLING = 1,     /* the test / load-generator client */
} vg_ice_role_t;

typedef struct {
  vg_ice_role_t role;
  const char *local_ufrag;  /* copied; required, 1..VG_ICE_UFRAG_MAX bytes */
  const char *local_pwd;    /* copied; required, 1..VG_ICE_PWD_MAX bytes */
  const char *remote_ufrag; /* copied; required for the client. Lite:
                             * nullable — NULL accepts any remote part of
                             * USERNAME (only the local ufrag is checked) */
  const char *remote_pwd;   /* copied; required for the client (its checks
                             * are signed with it); nullable for lite */
  uint64_t tie_breaker;     /* RFC 8445 §7.1.3; 0 draws a random one */
  vg_time_t now;            /* creation time: consent before selection and
                             * the client's first check count from here */
  vg_time_t consent_timeout; /* 0 = VG_ICE_CONSENT_TIMEOUT */
  vg_time_t rebind_quiet;    /* 0 = VG_ICE_REBIND_QUIET */
  const char *sid;           /* copied; nullable: session id for log lines */
} vg_ice_config_t;

typedef enum {
  VG_ICE_EV_SELECTED = 1,        /* a pair was selected, or the selection moved */
  VG_ICE_EV_CONSENT_EXPIRED = 2, /* the session is dead: tear it down */
  VG_ICE_EV_FAILED = 3,          /* controlling: every check timed out */
} vg_ice_event_type_t;

typedef struct {
  vg_ice_event_type_t type;
  vg_addr_t addr;     /* SELECTED: the remote address to send media to */
  const char *reason; /* CONSENT_EXPIRED / FAILED: static text; else NULL */
} vg_ice_event_t;

typedef struct vg_ice vg_ice_t;

/* Creates an agent. Returns VG_OK and *out (owned by the caller, free with
 * vg_ice_destroy), VG_EINVAL for a bad config, VG_ENOMEM. */
int vg_ice_create(const vg_ice_config_t *cfg, vg_ice_t **out) VG_MUST_USE;
/* NULL is a no-op. */
void vg_ice_destroy(vg_ice_t *ice);

/* Controlling: adds a remote candidate to check (up to 8; VG_ELIMIT past
 * that, VG_EEXIST for a duplicate, VG_ESTATE once FAILED or expired). The
 * first check goes out at the next handle_timeout (poll_timeout says when).
 * Lite: ignored (any authenticated source is accepted); returns VG_OK. */
int vg_ice_add_remote_candidate(vg_ice_t *ice, const vg_addr_t *addr,
                                uint32_t priority) VG_MUST_USE;

/* Handles one STUN message (whole datagram, or one RFC 4571 frame) from
 * `from` (its transport says UDP or TCP; replies go back the same way).
 * Returns:
 *   VG_OK        accepted (a response may be queued, an event raised);
 *   VG_EPROTO    not well-formed STUN, or a bad FINGERPRINT: dropped;
 *   VG_EAUTH     a request that failed authentication (a 400 or 401 is
 *                queued) or a response that did not verify: dropped;
 *   VG_ESTATE    an authenticated request with a role conflict (487 queued);
 *   VG_EUNSUPPORTED an authenticated request with unknown
 *                comprehension-required attributes (420 queued);
 *   VG_ENOTFOUND a response to no transaction of ours: dropped;
 *   VG_ECLOSED   consent has expired or checks failed: dropped.
 * Binding indications are ignored (VG_OK) and do not refresh consent. */
int vg_ice_handle_packet(vg_ice_t *ice, vg_time_t now, const vg_addr_t *from,
                         const uint8_t *buf, size_t len);

/* Runs timers due at `now`: consent expiry, the client's checks and
 * retransmissions. Returns VG_OK (or VG_ECLOSED once dead). */
int vg_ice_handle_timeout(vg_ice_t *ice, vg_time_t now);

/* Writes the next queued datagram into out[0..cap) and its destination into
 * *to. Returns its length, 0 when nothing is queued, VG_ENOSPC when `cap` is
 * too small (the datagram stays queued; 1280 bytes is always enough). */
int vg_ice_poll_transmit(vg_ice_t *ice, uint8_t *out, size_t cap, vg_addr_t *to) VG_MUST_USE;

/* Pops the next event into *ev; false when none. ev->reason is static. */
bool vg_ice_poll_event(vg_ice_t *ice, vg_ice_event_t *ev);

/* The next time handle_timeout must be called; VG_TIME_NEVER when none.
 * It may be in the past: call handle_timeout at once. */
vg_time_t vg_ice_poll_timeout(const vg_ice_t *ice);

/* The selected remote address (borrowed from ice, valid until the next
 * handle_* call), or NULL until a pair is selected and after consent
 * expiry. */
const vg_addr_t *vg_ice_selected(const vg_ice_t *ice);

#endif
