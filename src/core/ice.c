#include "core/ice.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base/log.h"
#include "core/stun.h"

/* RFC 8445 §14.2: checks start no closer together than Ta. */
#define TA VG_MSEC(50)
/* RFC 8489 §6.2.1: initial RTO (RFC 8445 §14.3 keeps it at >= 500 ms),
 * at most Rc transmissions, and Rm * RTO of waiting after the last one. */
#define RTO_INITIAL VG_MSEC(500)
#define RC 7
#define RM 16
/* RFC 7675 §5.1: consent checks every 5 s on average, randomised to
 * 0.8–1.2 of that. */
#define CONSENT_INTERVAL_MIN VG_SEC(4)
#define CONSENT_INTERVAL_MAX VG_SEC(6)
/* Consent checks are one transaction per interval, not retransmitted; a
 * response to any of the last few counts (RFC 7675 §5.1). */
#define CONSENT_TXIDS 4
/* RFC 8445 §7.1.1: PRIORITY is what a peer-reflexive candidate would get:
 * type preference 110, local preference 65535, component 1. */
#define PRFLX_PRIORITY ((110u << 24) | (65535u << 8) | (256u - 1u))
/* RFC 8445 §6.1.2.5 bounds the check list at 100; a load-generator client
 * has one or two candidates per peer. */
#define MAX_CHECKS 8
/* Queued responses: a well-behaved peer has a handful of checks in flight;
 * beyond this it is flooding and the oldest are dropped. */
#define TX_QUEUE 8
/* The biggest response we build: header 20 + XOR-MAPPED-ADDRESS (IPv6) 24
 * or ERROR-CODE 24 + UNKNOWN-ATTRIBUTES 12, + MESSAGE-INTEGRITY 24 +
 * FINGERPRINT 8 = 88. */
#define RESPONSE_MAX 128
#define EVENT_QUEUE 4
#define SID_MAX 64

typedef enum { CHECK_WAITING, CHECK_IN_PROGRESS, CHECK_SUCCEEDED, CHECK_FAILED } check_state_t;

/* A controlling agent's check of one remote candidate (one transaction at a
 * time: the ordinary check, then the nominating one). */
typedef struct {
  vg_addr_t addr;
  uint32_t priority;
  check_state_t state;
  bool valid;      /* an ordinary check succeeded: the pair works */
  bool nominate;   /* the current transaction carries USE-CANDIDATE */
  bool tx_pending; /* a (re)transmission is due at the next poll_transmit */
  int sent;        /* transmissions of the current transaction */
  vg_time_t rto;   /* the wait after the next transmission */
  vg_time_t next;  /* the next retransmission, or the give-up time */
  uint8_t txid[VG_STUN_TXID_LEN];
} check_t;

typedef struct {
  vg_addr_t to;
  size_t len;
  uint8_t buf[RESPONSE_MAX];
} queued_t;

struct vg_ice {
  vg_ice_role_t role;
  char local_ufrag[VG_ICE_UFRAG_MAX + 1];
  char local_pwd[VG_ICE_PWD_MAX + 1];
  char remote_ufrag[VG_ICE_UFRAG_MAX + 1]; /* "" = any (lite only) */
  char remote_pwd[VG_ICE_PWD_MAX + 1];
  /* The passwords as MESSAGE-INTEGRITY keys, keyed once (owned): every
   * check and response is one HMAC without allocation. remote_key only
   * for the controlling role (a lite agent never signs with it). */
  vg_stun_key_t *local_key, *remote_key;
  char sid_buf[SID_MAX];
  const char *sid; /* sid_buf, or NULL: for log lines */
  uint64_t tie_breaker;
  vg_time_t consent_timeout;
  vg_time_t rebind_quiet;
  bool dead; /* consent expired or all checks failed */

  /* Selection. `last_auth` is the last authenticated check from anywhere
   * (creation time at first); `sel_last` the last from the selected address
   * (lite) or the last consent response (controlling). */
  bool has_selected;
  vg_addr_t selected;
  uint32_t sel_priority;
  vg_time_t sel_last;
  vg_time_t last_auth;

  queued_t txq[TX_QUEUE]; /* responses, oldest at txq_head */
  size_t txq_head, txq_count;
  vg_ice_event_t evq[EVENT_QUEUE];
  size_t evq_head, evq_count;

  /* Controlling only. */
  check_t checks[MAX_CHECKS];
  size_t n_checks;
  vg_time_t next_pace; /* the earliest start of the next waiting check */
  int nominating;      /* index of the check carrying USE-CANDIDATE, or -1 */
  vg_time_t consent_next;
  bool consent_pending;
  uint8_t consent_txid[CONSENT_TXIDS][VG_STUN_TXID_LEN];
  size_t consent_n; /* consent checks sent, for the ring above */
};

/* --- Small helpers ------------------------------------------------------ */

static void random_bytes(vg_ice_t *ice, void *buf, size_t n) {
  if (RAND_bytes(buf, (int)n) != 1) {
    /* Never expected with OpenSSL 3's DRBG; a predictable id only weakens
     * spoofing protection, it does not break the protocol. */
    VG_LOG(VG_LOG_ERROR, ice->sid, "ice: RAND_bytes failed");
    memset(buf, 0x5a, n);
  }
}

static vg_time_t consent_interval(vg_ice_t *ice) {
  uint32_t r;
  random_bytes(ice, &r, sizeof r);
  return CONSENT_INTERVAL_MIN + (vg_time_t)(r % (uint32_t)(CONSENT_INTERVAL_MAX -
                                                           CONSENT_INTERVAL_MIN + 1));
}

static void push_event(vg_ice_t *ice, vg_ice_event_type_t type, const vg_addr_t *addr,
                       const char *reason) {
  if (ice->evq_count == EVENT_QUEUE) { /* the caller is not draining: keep the newest */
    VG_LOG(VG_LOG_WARN, ice->sid, "ice: event queue full, dropping the oldest event");
    ice->evq_head = (ice->evq_head + 1) % EVENT_QUEUE;
    ice->evq_count--;
  }
  vg_ice_event_t *ev = &ice->evq[(ice->evq_head + ice->evq_count++) % EVENT_QUEUE];
  memset(ev, 0, sizeof *ev);
  ev->type = type;
  if (addr) ev->addr = *addr;
  ev->reason = reason;
}

/* Takes a fresh slot at the tail of the response queue, dropping the oldest
 * response when the peer sends checks faster than we are drained. */
static queued_t *queue_slot(vg_ice_t *ice) {
  if (ice->txq_count == TX_QUEUE) {
    VG_LOG(VG_LOG_WARN, ice->sid, "ice: response queue full (%d), dropping the oldest",
           TX_QUEUE);
    ice->txq_head = (ice->txq_head + 1) % TX_QUEUE;
    ice->txq_count--;
  }
  return &ice->txq[(ice->txq_head + ice->txq_count) % TX_QUEUE];
}

static void log_addr(vg_ice_t *ice, vg_log_level_t lvl, const char *what, const vg_addr_t *a) {
  if (!vg_log_enabled(lvl)) return;
  char s[VG_ADDR_STRLEN];
  if (vg_addr_format(a, s, sizeof s) < 0) snprintf(s, sizeof s, "?");
  VG_LOG(lvl, ice->sid, "ice: %s %s%s", what, s, a->transport == VG_TRANSPORT_TCP ? "/tcp" : "");
}

static bool copy_str(char *dst, size_t cap, const char *src, bool required) {
  size_t n = src ? strlen(src) : 0;
  if ((required && n == 0) || n >= cap) return false;
  if (n) memcpy(dst, src, n);
  dst[n] = '\0';
  return true;
}

/* --- Lifecycle ---------------------------------------------------------- */

int vg_ice_create(const vg_ice_config_t *cfg, vg_ice_t **out) {
  *out = NULL;
  if (cfg->role != VG_ICE_ROLE_LITE_CONTROLLED && cfg->role != VG_ICE_ROLE_CONTROLLING)
    return VG_EINVAL;
  vg_ice_t *ice = calloc(1, sizeof *ice);
  if (!ice) return VG_ENOMEM;
  int rc = VG_EINVAL;
  bool controlling = cfg->role == VG_ICE_ROLE_CONTROLLING;
  ice->role = cfg->role;
  if (!copy_str(ice->local_ufrag, sizeof ice->local_ufrag, cfg->local_ufrag, true) ||
      !copy_str(ice->local_pwd, sizeof ice->local_pwd, cfg->local_pwd, true) ||
      !copy_str(ice->remote_ufrag, sizeof ice->remote_ufrag, cfg->remote_ufrag, controlling) ||
      !copy_str(ice->remote_pwd, sizeof ice->remote_pwd, cfg->remote_pwd, controlling))
    goto fail;
  /* A ':' in a ufrag would make USERNAME ambiguous (RFC 8839 §5.4: ice-char
   * is ALPHA / DIGIT / "+" / "/"). */
  if (strchr(ice->local_ufrag, ':') || strchr(ice->remote_ufrag, ':')) goto fail;
  if (cfg->sid && cfg->sid[0]) {
    snprintf(ice->sid_buf, sizeof ice->sid_buf, "%s", cfg->sid);
    ice->sid = ice->sid_buf;
  }
  rc = vg_stun_key_create((const uint8_t *)ice->local_pwd, strlen(ice->local_pwd),
                          &ice->local_key);
  if (rc == VG_OK && controlling) /* only the controlling agent uses it */
    rc = vg_stun_key_create((const uint8_t *)ice->remote_pwd, strlen(ice->remote_pwd),
                            &ice->remote_key);
  if (rc < 0) goto fail;
  ice->tie_breaker = cfg->tie_breaker;
  while (ice->tie_breaker == 0) random_bytes(ice, &ice->tie_breaker, sizeof ice->tie_breaker);
  ice->consent_timeout = cfg->consent_timeout > 0 ? cfg->consent_timeout : VG_ICE_CONSENT_TIMEOUT;
  ice->rebind_quiet = cfg->rebind_quiet > 0 ? cfg->rebind_quiet : VG_ICE_REBIND_QUIET;
  ice->last_auth = cfg->now;
  ice->next_pace = cfg->now;
  ice->nominating = -1;
  *out = ice;
  return VG_OK;
fail:
  vg_ice_destroy(ice);
  return rc;
}

void vg_ice_destroy(vg_ice_t *ice) {
  if (!ice) return;
  vg_stun_key_destroy(ice->local_key);
  vg_stun_key_destroy(ice->remote_key);
  /* The passwords are secrets; do not leave them in freed memory. */
  OPENSSL_cleanse(ice, sizeof *ice);
  free(ice);
}

int vg_ice_add_remote_candidate(vg_ice_t *ice, const vg_addr_t *addr, uint32_t priority) {
  if (ice->role == VG_ICE_ROLE_LITE_CONTROLLED) return VG_OK;
  if (ice->dead) return VG_ESTATE;
  if (addr->family != 4 && addr->family != 6) return VG_EINVAL;
  for (size_t i = 0; i < ice->n_checks; i++)
    if (vg_addr_equal(&ice->checks[i].addr, addr)) return VG_EEXIST;
  if (ice->n_checks == MAX_CHECKS) return VG_ELIMIT;
  check_t *c = &ice->checks[ice->n_checks++];
  memset(c, 0, sizeof *c);
  c->addr = *addr;
  c->priority = priority;
  c->state = CHECK_WAITING;
  log_addr(ice, VG_LOG_DEBUG, "remote candidate", addr);
  return VG_OK;
}

/* --- Selection and consent ---------------------------------------------- */

static void select_pair(vg_ice_t *ice, vg_time_t now, const vg_addr_t *addr, uint32_t prio) {
  ice->has_selected = true;
  ice->selected = *addr;
  ice->sel_priority = prio;
  ice->sel_last = now;
  log_addr(ice, VG_LOG_INFO, "selected", addr);
  push_event(ice, VG_ICE_EV_SELECTED, addr, NULL);
}

static void die(vg_ice_t *ice, vg_ice_event_type_t type, const char *reason) {
  ice->dead = true;
  ice->has_selected = false;
  ice->txq_count = 0;
  for (size_t i = 0; i < ice->n_checks; i++) ice->checks[i].tx_pending = false;
  ice->consent_pending = false;
  VG_LOG(VG_LOG_INFO, ice->sid, "ice: %s", reason);
  push_event(ice, type, NULL, reason);
}

static vg_time_t consent_deadline(const vg_ice_t *ice) {
  if (ice->has_selected) return ice->sel_last + ice->consent_timeout;
  /* Before selection only the lite agent times out on silence; the client
   * gives up through its check transactions. */
  if (ice->role == VG_ICE_ROLE_LITE_CONTROLLED) return ice->last_auth + ice->consent_timeout;
  return VG_TIME_NEVER;
}

/* RFC 7675 §5.1: consent is lost when the timeout passes without a fresh
 * authenticated check (lite) or check response (controlling). The deadline
 * itself counts as expired, so expiry is exact in simulated time. */
static bool expire_if_due(vg_ice_t *ice, vg_time_t now) {
  if (ice->dead) return true;
  if (now < consent_deadline(ice)) return false;
  const char *reason = !ice->has_selected ? "consent expired: no authenticated check since start"
                       : ice->role == VG_ICE_ROLE_CONTROLLING
                           ? "consent expired: no response to consent checks"
                           : "consent expired: no check from the selected address";
  die(ice, VG_ICE_EV_CONSENT_EXPIRED, reason);
  return true;
}

/* RFC 8445 §8.2 for a lite agent: among nominated pairs the one with the
 * highest priority is selected. All our pairs share a local candidate per
 * transport, so the remote PRIORITY decides, and UDP beats TCP at equal
 * priority. A nomination from another address (NAT rebinding, network
 * change) also wins once the selected address has been quiet. */
static void nominate(vg_ice_t *ice, vg_time_t now, const vg_addr_t *from, uint32_t prio) {
  if (!ice->has_selected) {
    select_pair(ice, now, from, prio);
    return;
  }
  if (vg_addr_equal(from, &ice->selected)) {
    ice->sel_priority = prio;
    return;
  }
  bool better = prio > ice->sel_priority ||
                (prio == ice->sel_priority && from->transport == VG_TRANSPORT_UDP &&
                 ice->selected.transport == VG_TRANSPORT_TCP);
  bool quiet = now - ice->sel_last >= ice->rebind_quiet;
  if (better || quiet) {
    if (quiet && !better)
      VG_LOG(VG_LOG_INFO, ice->sid, "ice: selected path quiet for %" PRId64 " ms; moving",
             (int64_t)((now - ice->sel_last) / 1000));
    select_pair(ice, now, from, prio);
  } else {
    log_addr(ice, VG_LOG_DEBUG, "kept the selection over a lower nomination from", from);
  }
}

/* --- Answering requests (both roles) ------------------------------------ */

static void queue_response(vg_ice_t *ice, const vg_addr_t *to, const vg_stun_msg_t *req,
                           uint16_t error, const char *reason, bool sign) {
  queued_t *q = queue_slot(ice);
  vg_stun_builder_t b;
  vg_stun_build_begin(&b, q->buf, sizeof q->buf,
                      error ? VG_STUN_BINDING_ERROR : VG_STUN_BINDING_SUCCESS, req->txid);
  if (error) {
    vg_stun_add_error_code(&b, error, reason);
    if (error == VG_STUN_ERR_UNKNOWN_ATTRIBUTE) {
      size_t n = req->unknown_count < VG_STUN_MAX_UNKNOWN ? req->unknown_count
                                                          : VG_STUN_MAX_UNKNOWN;
      vg_stun_add_unknown_attributes(&b, req->unknown, n);
    }
  } else {
    /* RFC 8489 §7.3.1: the source transport address of the request. */
    vg_stun_add_xor_mapped_address(&b, to);
  }
  /* RFC 8489 §9.1.4: responses to authenticated requests are signed with
   * the same credential; 400/401 responses are not. */
  if (sign) vg_stun_add_message_integrity_key(&b, ice->local_key);
  /* RFC 8445 §7.3: ICE responses carry FINGERPRINT. */
  vg_stun_add_fingerprint(&b);
  int n = vg_stun_build_end(&b);
  if (n < 0) { /* cannot happen within RESPONSE_MAX; never queue garbage */
    VG_LOG(VG_LOG_ERROR, ice->sid, "ice: building a response failed: %s", vg_strerror(n));
    return;
  }
  q->to = *to;
  q->len = (size_t)n;
  ice->txq_count++;
}

/* RFC 8445 §7.3 / RFC 8489 §9.1.3: the USERNAME must be
 * "<our ufrag>:<their ufrag>" (any remote part when it is not known). */
static bool username_ok(const vg_ice_t *ice, const vg_stun_msg_t *m) {
  size_t l = strlen(ice->local_ufrag), r = strlen(ice->remote_ufrag);
  if (m->username_len <= l || memcmp(m->username, ice->local_ufrag, l) != 0 ||
      m->username[l] != ':')
    return false;
  if (r == 0) return true;
  return m->username_len == l + 1 + r && memcmp(m->username + l + 1, ice->remote_ufrag, r) == 0;
}

/* RFC 8445 §7.3.1.1. A lite agent is always controlled (§6.1.1): a peer
 * that also claims to be controlled gets a 487 whatever the tie-breakers,
 * so that it takes the controlling role. The controlling client answers a
 * controlling peer by the tie-breaker rule but never switches role. */
static bool role_conflict(const vg_ice_t *ice, const vg_stun_msg_t *m) {
  if (ice->role == VG_ICE_ROLE_LITE_CONTROLLED) return m->has_ice_controlled;
  if (!m->has_ice_controlling) return false;
  if (ice->tie_breaker >= m->ice_controlling) return true;
  VG_LOG(VG_LOG_WARN, ice->sid, "ice: peer wins the controlling role; this agent cannot switch");
  return false;
}

static int handle_request(vg_ice_t *ice, vg_time_t now, const vg_addr_t *from,
                          const vg_stun_msg_t *m) {
  /* RFC 8489 §9.1.3: a request without MESSAGE-INTEGRITY or USERNAME is a
   * 400; a bad USERNAME or a bad MESSAGE-INTEGRITY is a 401. */
  if (!m->integrity_off || !m->username) {
    queue_response(ice, from, m, VG_STUN_ERR_BAD_REQUEST, "Bad Request", false);
    log_addr(ice, VG_LOG_DEBUG, "400: check without USERNAME or MESSAGE-INTEGRITY from", from);
    return VG_EAUTH;
  }
  if (!username_ok(ice, m)) {
    queue_response(ice, from, m, VG_STUN_ERR_UNAUTHORIZED, "Unauthorized", false);
    log_addr(ice, VG_LOG_DEBUG, "401: wrong USERNAME from", from);
    return VG_EAUTH;
  }
  int rc = vg_stun_check_integrity_key(m, ice->local_key);
  if (rc != VG_OK) {
    queue_response(ice, from, m, VG_STUN_ERR_UNAUTHORIZED, "Unauthorized", false);
    log_addr(ice, VG_LOG_DEBUG, "401: bad MESSAGE-INTEGRITY from", from);
    return VG_EAUTH;
  }
  /* RFC 8489 §6.3.1.1: authenticated, but with attributes we must
   * understand and do not. */
  if (m->unknown_count) {
    queue_response(ice, from, m, VG_STUN_ERR_UNKNOWN_ATTRIBUTE, "Unknown Attribute", true);
    return VG_EUNSUPPORTED;
  }
  if (role_conflict(ice, m)) {
    queue_response(ice, from, m, VG_STUN_ERR_ROLE_CONFLICT, "Role Conflict", true);
    log_addr(ice, VG_LOG_DEBUG, "487: role conflict with", from);
    return VG_ESTATE;
  }
  queue_response(ice, from, m, 0, NULL, true);

  if (ice->role != VG_ICE_ROLE_LITE_CONTROLLED) return VG_OK;
  /* Consent (RFC 7675) from the lite side: authenticated checks. */
  ice->last_auth = now;
  if (ice->has_selected && vg_addr_equal(from, &ice->selected)) ice->sel_last = now;
  if (!ice->has_selected || !vg_addr_equal(from, &ice->selected))
    log_addr(ice, VG_LOG_DEBUG, "authenticated check from", from);
  /* RFC 8445 §7.3.1.5: USE-CANDIDATE nominates the pair. */
  if (m->use_candidate) nominate(ice, now, from, m->has_priority ? m->priority : 0);
  return VG_OK;
}

/* --- The controlling client --------------------------------------------- */

static void transmit(check_t *c, vg_time_t now) {
  c->tx_pending = true;
  c->sent++;
  if (c->sent < RC) {
    c->next = now + c->rto;
    c->rto *= 2;
  } else {
    c->next = now + RM * RTO_INITIAL;
  }
}

static void start_transaction(vg_ice_t *ice, check_t *c, vg_time_t now, bool nominate_it) {
  random_bytes(ice, c->txid, sizeof c->txid);
  c->state = CHECK_IN_PROGRESS;
  c->nominate = nominate_it;
  c->sent = 0;
  c->rto = RTO_INITIAL;
  transmit(c, now);
}

/* Regular nomination (RFC 8445 §8.1.1): once a pair is valid, check it again
 * with USE-CANDIDATE; it is selected when that check succeeds. */
static void maybe_nominate(vg_ice_t *ice, vg_time_t now) {
  if (ice->has_selected || ice->nominating >= 0) return;
  for (size_t i = 0; i < ice->n_checks; i++) {
    check_t *c = &ice->checks[i];
    if (c->valid && c->state == CHECK_SUCCEEDED) {
      ice->nominating = (int)i;
      start_transaction(ice, c, now, true);
      return;
    }
  }
}

static void check_all_failed(vg_ice_t *ice) {
  if (ice->dead || ice->has_selected || ice->n_checks == 0) return;
  for (size_t i = 0; i < ice->n_checks; i++)
    if (ice->checks[i].state != CHECK_FAILED) return;
  die(ice, VG_ICE_EV_FAILED, "ice failed: every check timed out or was refused");
}

static void fail_check(vg_ice_t *ice, check_t *c, vg_time_t now, const char *why) {
  log_addr(ice, VG_LOG_DEBUG, why, &c->addr);
  c->state = CHECK_FAILED;
  c->valid = false;
  c->tx_pending = false;
  if (ice->nominating == (int)(c - ice->checks)) ice->nominating = -1;
  maybe_nominate(ice, now);
  check_all_failed(ice);
}

static int handle_response(vg_ice_t *ice, vg_time_t now, const vg_addr_t *from,
                           const vg_stun_msg_t *m) {
  if (ice->role != VG_ICE_ROLE_CONTROLLING) return VG_ENOTFOUND;
  check_t *c = NULL;
  for (size_t i = 0; i < ice->n_checks && !c; i++)
    if (ice->checks[i].state == CHECK_IN_PROGRESS &&
        memcmp(ice->checks[i].txid, m->txid, VG_STUN_TXID_LEN) == 0)
      c = &ice->checks[i];
  bool consent = false;
  size_t kept = ice->consent_n < CONSENT_TXIDS ? ice->consent_n : CONSENT_TXIDS;
  for (size_t i = 0; i < kept && !c && !consent; i++)
    consent = memcmp(ice->consent_txid[i], m->txid, VG_STUN_TXID_LEN) == 0;
  if (!c && !consent) return VG_ENOTFOUND;

  /* RFC 8445 §7.2.5.1: a response must carry valid MESSAGE-INTEGRITY made
   * with the password we signed the request with; otherwise discard it. */
  if (!ice->remote_key || vg_stun_check_integrity_key(m, ice->remote_key) != VG_OK) {
    log_addr(ice, VG_LOG_DEBUG, "discarded a response failing integrity from", from);
    return VG_EAUTH;
  }
  if (consent) {
    if (!ice->has_selected || !vg_addr_equal(from, &ice->selected)) return VG_ENOTFOUND;
    if (m->cls == VG_STUN_CLASS_SUCCESS) ice->sel_last = now;
    return VG_OK;
  }
  /* RFC 8445 §7.2.5.2.1: the response must come from where the request
   * went, or the pair fails. */
  if (!vg_addr_equal(from, &c->addr)) {
    fail_check(ice, c, now, "check failed: asymmetric response for");
    return VG_OK;
  }
  if (m->cls == VG_STUN_CLASS_ERROR) {
    /* 487 would mean switching role (§7.2.5.1); this client does not. */
    VG_LOG(VG_LOG_DEBUG, ice->sid, "ice: check refused with %u", m->error_code);
    fail_check(ice, c, now, "check failed: error response from");
    return VG_OK;
  }
  c->state = CHECK_SUCCEEDED;
  c->valid = true;
  c->tx_pending = false;
  if (c->nominate) {
    ice->nominating = -1;
    select_pair(ice, now, &c->addr, c->priority);
    ice->consent_next = now + consent_interval(ice);
  } else {
    maybe_nominate(ice, now);
  }
  return VG_OK;
}

static void client_timeout(vg_ice_t *ice, vg_time_t now) {
  for (size_t i = 0; i < ice->n_checks && !ice->dead; i++) {
    check_t *c = &ice->checks[i];
    if (c->state != CHECK_IN_PROGRESS || now < c->next) continue;
    if (c->sent >= RC)
      fail_check(ice, c, now, "check timed out for");
    else
      transmit(c, now);
  }
  if (ice->dead) return;
  /* RFC 8445 §6.1.4.2: start the highest-priority waiting check every Ta. */
  if (now >= ice->next_pace) {
    check_t *best = NULL;
    for (size_t i = 0; i < ice->n_checks; i++) {
      check_t *c = &ice->checks[i];
      if (c->state == CHECK_WAITING && (!best || c->priority > best->priority)) best = c;
    }
    if (best) {
      start_transaction(ice, best, now, false);
      ice->next_pace = now + TA;
    }
  }
  /* RFC 7675 §5.1: a consent check every 4–6 s on the selected pair. */
  if (ice->has_selected && now >= ice->consent_next) {
    random_bytes(ice, ice->consent_txid[ice->consent_n % CONSENT_TXIDS], VG_STUN_TXID_LEN);
    ice->consent_n++;
    ice->consent_pending = true;
    ice->consent_next = now + consent_interval(ice);
  }
}

/* A Binding request from the controlling agent (RFC 8445 §7.2.2). */
static int build_request(vg_ice_t *ice, const uint8_t *txid, bool use_candidate, uint8_t *out,
                         size_t cap) {
  char user[VG_ICE_UFRAG_MAX * 2 + 2];
  int ulen = snprintf(user, sizeof user, "%s:%s", ice->remote_ufrag, ice->local_ufrag);
  vg_stun_builder_t b;
  vg_stun_build_begin(&b, out, cap, VG_STUN_BINDING_REQUEST, txid);
  vg_stun_add_username(&b, user, (size_t)ulen);
  vg_stun_add_priority(&b, PRFLX_PRIORITY);
  vg_stun_add_ice_controlling(&b, ice->tie_breaker);
  if (use_candidate) vg_stun_add_use_candidate(&b);
  vg_stun_add_message_integrity_key(&b, ice->remote_key);
  vg_stun_add_fingerprint(&b);
  return vg_stun_build_end(&b);
}

/* --- The five verbs ----------------------------------------------------- */

int vg_ice_handle_packet(vg_ice_t *ice, vg_time_t now, const vg_addr_t *from, const uint8_t *buf,
                         size_t len) {
  if (expire_if_due(ice, now)) return VG_ECLOSED;
  vg_stun_msg_t m;
  const char *why = NULL;
  int n = vg_stun_parse(&m, buf, len, &why);
  if (n < 0 || (size_t)n != len) {
    VG_LOG(VG_LOG_DEBUG, ice->sid, "ice: dropped a malformed STUN message: %s",
           n < 0 ? why : "trailing bytes");
    return VG_EPROTO;
  }
  /* RFC 8489 §7.3: a message whose FINGERPRINT is wrong is not STUN. */
  if (m.fingerprint_off && vg_stun_check_fingerprint(&m) != VG_OK) {
    VG_LOG(VG_LOG_DEBUG, ice->sid, "ice: dropped a message with a bad FINGERPRINT");
    return VG_EPROTO;
  }
  switch (m.cls) {
  case VG_STUN_CLASS_REQUEST:
    if (m.method != VG_STUN_METHOD_BINDING) {
      /* RFC 8489 §6.3.1: a method we do not know is a 400. */
      queue_response(ice, from, &m, VG_STUN_ERR_BAD_REQUEST, "Bad Request", false);
      return VG_EPROTO;
    }
    return handle_request(ice, now, from, &m);
  case VG_STUN_CLASS_INDICATION:
    /* RFC 8445 §11: Binding indications are keepalives; they prove
     * nothing, so they do not refresh consent (RFC 7675 §5.1). */
    return VG_OK;
  default:
    if (m.method != VG_STUN_METHOD_BINDING) return VG_ENOTFOUND;
    return handle_response(ice, now, from, &m);
  }
}

int vg_ice_handle_timeout(vg_ice_t *ice, vg_time_t now) {
  if (expire_if_due(ice, now)) return VG_ECLOSED;
  if (ice->role == VG_ICE_ROLE_CONTROLLING) client_timeout(ice, now);
  return ice->dead ? VG_ECLOSED : VG_OK;
}

int vg_ice_poll_transmit(vg_ice_t *ice, uint8_t *out, size_t cap, vg_addr_t *to) {
  if (ice->txq_count) {
    queued_t *q = &ice->txq[ice->txq_head];
    if (cap < q->len) return VG_ENOSPC;
    memcpy(out, q->buf, q->len);
    *to = q->to;
    ice->txq_head = (ice->txq_head + 1) % TX_QUEUE;
    ice->txq_count--;
    return (int)q->len;
  }
  for (size_t i = 0; i < ice->n_checks; i++) {
    check_t *c = &ice->checks[i];
    if (!c->tx_pending) continue;
    int n = build_request(ice, c->txid, c->nominate, out, cap);
    if (n < 0) return n;
    c->tx_pending = false;
    *to = c->addr;
    return n;
  }
  if (ice->consent_pending && ice->has_selected) {
    const uint8_t *txid = ice->consent_txid[(ice->consent_n - 1) % CONSENT_TXIDS];
    int n = build_request(ice, txid, false, out, cap);
    if (n < 0) return n;
    ice->consent_pending = false;
    *to = ice->selected;
    return n;
  }
  return 0;
}

bool vg_ice_poll_event(vg_ice_t *ice, vg_ice_event_t *ev) {
  if (!ice->evq_count) return false;
  *ev = ice->evq[ice->evq_head];
  ice->evq_head = (ice->evq_head + 1) % EVENT_QUEUE;
  ice->evq_count--;
  return true;
}

vg_time_t vg_ice_poll_timeout(const vg_ice_t *ice) {
  if (ice->dead) return VG_TIME_NEVER;
  vg_time_t t = consent_deadline(ice);
  if (ice->role != VG_ICE_ROLE_CONTROLLING) return t;
  bool waiting = false;
  for (size_t i = 0; i < ice->n_checks; i++) {
    const check_t *c = &ice->checks[i];
    if (c->state == CHECK_IN_PROGRESS) t = vg_time_min(t, c->next);
    waiting |= c->state == CHECK_WAITING;
  }
  if (waiting) t = vg_time_min(t, ice->next_pace);
  if (ice->has_selected) t = vg_time_min(t, ice->consent_next);
  return t;
}

const vg_addr_t *vg_ice_selected(const vg_ice_t *ice) {
  return ice->has_selected ? &ice->selected : NULL;
}
