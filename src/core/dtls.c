/* DTLS 1.2 for DTLS-SRTP on OpenSSL 3 memory BIOs, driven by `now`.
 *
 * Design
 * ======
 * OpenSSL does the protocol: record layer, handshake, certificate
 * exchange, use_srtp negotiation, the keying-material exporter. It reads
 * each received datagram from a memory BIO (one datagram at a time, so its
 * record layer sees datagram boundaries) and writes into another memory
 * BIO, which we cut at record boundaries (13-byte DTLS record header with
 * its length, RFC 6347 §4.1) and pack into datagrams of at most
 * VG_DTLS_MTU bytes, queued in a fixed ring.
 *
 * Timers are ours. OpenSSL 3.0 runs its DTLS retransmission timer on the
 * wall clock (gettimeofday) and checks it on every read, so it cannot be
 * driven by a caller's `now` and would make simulated-time tests
 * meaningless. We install DTLS_set_timer_cb returning one hour, so OpenSSL
 * never retransmits by itself, and retransmit ourselves (RFC 6347 §4.2.4):
 *
 *  - A flight is everything OpenSSL wrote in response to one input (start,
 *    or one datagram) that contains handshake or ChangeCipherSpec records.
 *    We keep the datagrams of the last flight we sent.
 *  - While the handshake is in progress and we have sent a flight, a timer
 *    runs: initial RTO (400 ms by default), doubling on each expiry up to
 *    60 s. When it expires with no new flight from the peer (the peer's
 *    flight would have made OpenSSL write our next one, replacing the
 *    stored flight and re-arming the timer), the stored datagrams are sent
 *    again verbatim. A copy the peer already has is dropped by its replay
 *    window, which is harmless; a copy it missed fills the gap.
 *  - A verbatim copy does not prompt the peer to retransmit (its replay
 *    window drops it before its state machine sees it), so the lost flight
 *    of the *other* side would never be repaired. Hence a second rule: when
 *    a datagram arrives that is a retransmission of the peer's previous
 *    flight and OpenSSL wrote nothing in response, we re-send our last
 *    flight at once. Detected cheaply from the record headers:
 *      server, handshaking: an epoch-0 ClientHello after we answered one
 *                           (our flight holds a ServerHello);
 *      client, handshaking: an epoch-0 ServerHello after we sent flight 5
 *                           (our flight holds a ChangeCipherSpec);
 *      server, connected:   any handshake record (the client is resending
 *                           flight 5: our final flight was lost).
 *    This is what makes the server's final flight (ChangeCipherSpec +
 *    Finished), which has no timer of its own, recoverable.
 *  - The timer stops when the handshake completes. The server keeps its
 *    final flight for the rule above; the client drops its flight (having
 *    the server's Finished, it knows the server has everything).
 *  - The handshake as a whole has a deadline (20 s by default) after
 *    vg_dtls_start; passing it fails with "DTLS handshake timed out".
 *
 * Every rule above answers one peer datagram or one expiry of our own
 * timer with at most one flight, so two peers can never ping-pong.
 *
 * The peer's certificate (required both ways: SSL_VERIFY_PEER and
 * FAIL_IF_NO_PEER_CERT) is self-signed; the verify callback accepts it
 * exactly when its digest matches the SDP a=fingerprint (RFC 8122 §5), so a
 * mismatch fails the handshake with a bad_certificate alert before any key
 * is derived. The match is checked again once the handshake completes.
 *
 * The certificate and the SSL_CTX every session is made from are in
 * dtls_cert.c. */
#include "core/dtls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/bytes.h"
#include "base/log.h"
#include "core/dtls_internal.h"

/* RFC 6347 §4.2.4.1: double the timer on each retransmission "up to no
 * less than the RFC 6298 maximum of 60 seconds". */
#define MAX_RTO VG_SEC(60)

/* What OpenSSL's own wall-clock retransmission timer is set to (µs): longer
 * than any handshake deadline (VG_DTLS_MAX_HANDSHAKE_TIMEOUT), so it never
 * fires. OpenSSL stops it when the handshake completes. */
#define OPENSSL_TIMER_US 3600000000u

/* The datagrams of one retransmitted peer flight arrive back to back; the
 * connected server answers such a burst with one copy of its final flight. */
#define RESEND_MIN_GAP VG_MSEC(10)

/* Our flights are one datagram each with a P-256 certificate (the largest,
 * the server's flight 4, is under 1 KB); four leave room for a larger
 * certificate. The send ring holds a flight plus a retransmission. */
#define FLIGHT_MAX_DATAGRAMS 4
#define TX_QUEUE_LEN 8
/* Once the handshake is over no new flight can come (no renegotiation):
 * the queues shrink to the flight kept (the server's final one) and room
 * to resend it next to a close_notify. About 11 KB less per peer. */
#define TX_QUEUE_LEN_CONNECTED(flight_n) ((flight_n) + 1)
#define EVENT_QUEUE_LEN 4

/* RFC 6347 §4.1: type(1) version(2) epoch(2) sequence_number(6) length(2). */
#define RECORD_HEADER_LEN 13

/* RFC 5246 §6.2.1 ContentType and §7.4 HandshakeType values. */
#define CT_CHANGE_CIPHER_SPEC 20
#define CT_HANDSHAKE 22
#define HT_CLIENT_HELLO 1
#define HT_SERVER_HELLO 2

/* RFC 5764 §4.2: the exporter label for DTLS-SRTP keys. */
#define SRTP_EXPORTER_LABEL "EXTRACTOR-dtls_srtp"

/* Server preference: AES-GCM first (RFC 7714 is AEAD, cheaper and with a
 * stronger tag), then the profile every WebRTC endpoint supports. */
#define DEFAULT_SRTP_PROFILES "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"

typedef struct {
  uint16_t len;
  uint8_t data[VG_DTLS_MTU];
} datagram_t;

struct vg_dtls {
  const vg_dtls_cert_t *cert; /* borrowed */
  SSL *ssl;                   /* owned; owns rbio and wbio */
  BIO *rbio;                  /* owned by ssl: datagrams in */
  BIO *wbio;                  /* owned by ssl: records out */
  vg_dtls_role_t role;
  vg_dtls_state_t state;
  char sid[48];

  const EVP_MD *remote_md; /* static OpenSSL digest */
  uint8_t remote_fp[EVP_MAX_MD_SIZE];
  unsigned remote_fp_len;
  bool fingerprint_mismatch; /* set by the verify callback */

  vg_time_t initial_rto;
  vg_time_t handshake_timeout;
  vg_time_t handshake_deadline; /* set by start */
  vg_time_t rto;     /* current retransmission timeout */
  vg_time_t rtx_at;  /* VG_TIME_NEVER when not armed */
  vg_time_t sent_at; /* when the stored flight was last (re)sent */
  unsigned rtx_count;

  /* Both queues live in `slots` (owned): FLIGHT_MAX_DATAGRAMS then
   * TX_QUEUE_LEN datagrams during the handshake, fewer once compacted. */
  datagram_t *slots;
  bool compacted;
  datagram_t *flight; /* into slots: our last flight */
  size_t flight_n, flight_cap;
  bool flight_has_ccs;          /* holds ChangeCipherSpec: client flight 5 */
  bool flight_has_server_hello; /* holds ServerHello: server flight 4 */

  datagram_t *txq; /* into slots: ring of datagrams to send */
  size_t tx_head, tx_n, tx_cap;

  vg_dtls_event_t events[EVENT_QUEUE_LEN]; /* ring */
  size_t ev_head, ev_n;
  char reason[160]; /* the FAILED reason; events point here */
};

/* ---------------------------------------------------------------------- */
/* Configuration checks                                                   */

static bool ascii_ieq(const char *a, const char *b) {
  for (; *a && *b; a++, b++) {
    char x = (*a >= 'A' && *a <= 'Z') ? (char)(*a + 32) : *a;
    char y = (*b >= 'A' && *b <= 'Z') ? (char)(*b + 32) : *b;
    if (x != y) return false;
  }
  return *a == *b;
}

/* RFC 8122 §5 hash-func names (the IANA "Hash Function Textual Names"). */
static const EVP_MD *fingerprint_md(const char *alg) {
  if (ascii_ieq(alg, "sha-1")) return EVP_sha1();
  if (ascii_ieq(alg, "sha-224")) return EVP_sha224();
  if (ascii_ieq(alg, "sha-256")) return EVP_sha256();
  if (ascii_ieq(alg, "sha-384")) return EVP_sha384();
  if (ascii_ieq(alg, "sha-512")) return EVP_sha512();
  return NULL;
}

static int hex_val(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* RFC 8122 §5: fingerprint = 2UHEX *(":" 2UHEX). Upper case is required
 * there, but we accept either (RFC 4572 peers sent lower case). Returns the
 * byte count, or -1 when malformed or longer than `cap`. */
static int parse_fingerprint(const char *s, uint8_t *out, size_t cap) {
  size_t n = 0;
  for (;;) {
    int hi = hex_val(s[0]), lo = hi < 0 ? -1 : hex_val(s[1]);
    if (hi < 0 || lo < 0 || n == cap) return -1;
    out[n++] = (uint8_t)(hi << 4 | lo);
    s += 2;
    if (*s == '\0') return (int)n;
    if (*s++ != ':') return -1;
  }
}

/* Only the profiles vg_srtp can key (srtp.h) may be offered. */
static bool profiles_supported(const char *list) {
  const char *p = list;
  while (*p) {
    const char *end = strchr(p, ':');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (!((n == 21 && strncmp(p, "SRTP_AEAD_AES_128_GCM", n) == 0) ||
          (n == 22 && strncmp(p, "SRTP_AES128_CM_SHA1_80", n) == 0)))
      return false;
    if (!end) return true;
    p = end + 1;
  }
  return false;
}

static unsigned int openssl_timer_cb(SSL *ssl, unsigned int timer_us) {
  (void)ssl;
  (void)timer_us;
  return OPENSSL_TIMER_US;
}

/* ---------------------------------------------------------------------- */
/* Lifecycle                                                              */

static int configure(vg_dtls_t *d, const vg_dtls_config_t *cfg) {
  const char *profiles = cfg->srtp_profiles ? cfg->srtp_profiles : DEFAULT_SRTP_PROFILES;
  if (!profiles_supported(profiles)) return VG_EINVAL;
  d->ssl = SSL_new(cfg->cert->ctx);
  if (!d->ssl) return VG_ENOMEM;
  SSL_set_app_data(d->ssl, d);
  d->rbio = BIO_new(BIO_s_mem());
  d->wbio = BIO_new(BIO_s_mem());
  if (!d->rbio || !d->wbio) {
    BIO_free(d->rbio);
    BIO_free(d->wbio);
    d->rbio = d->wbio = NULL;
    return VG_ENOMEM;
  }
  /* An empty input BIO means "no datagram yet", not end of stream. */
  BIO_set_mem_eof_return(d->rbio, -1);
  BIO_set_mem_eof_return(d->wbio, -1);
  SSL_set_bio(d->ssl, d->rbio, d->wbio);
  SSL_set_options(d->ssl, SSL_OP_NO_QUERY_MTU);
  /* SSL_set_tlsext_use_srtp returns 0 on success. */
  if (!DTLS_set_link_mtu(d->ssl, VG_DTLS_MTU) || SSL_set_tlsext_use_srtp(d->ssl, profiles) != 0)
    return VG_ECRYPTO;
  DTLS_set_timer_cb(d->ssl, openssl_timer_cb);
  if (d->role == VG_DTLS_ROLE_CLIENT) {
    SSL_set_connect_state(d->ssl);
  } else {
    SSL_set_accept_state(d->ssl);
  }
  return VG_OK;
}

int vg_dtls_create(const vg_dtls_config_t *cfg, vg_dtls_t **out) {
  vg_dtls_t *d = NULL;
  int rc = VG_EINVAL;
  *out = NULL;
  if (!cfg || !cfg->cert || !cfg->remote_fingerprint_alg || !cfg->remote_fingerprint)
    return VG_EINVAL;
  if (cfg->role != VG_DTLS_ROLE_SERVER && cfg->role != VG_DTLS_ROLE_CLIENT) return VG_EINVAL;
  if (cfg->initial_rto < 0 || cfg->initial_rto > MAX_RTO || cfg->handshake_timeout < 0 ||
      cfg->handshake_timeout > VG_DTLS_MAX_HANDSHAKE_TIMEOUT)
    return VG_EINVAL;
  const EVP_MD *md = fingerprint_md(cfg->remote_fingerprint_alg);
  if (!md) return VG_EUNSUPPORTED;
  d = calloc(1, sizeof *d);
  if (!d) return VG_ENOMEM;
  d->cert = cfg->cert;
  d->role = cfg->role;
  d->state = VG_DTLS_STATE_NEW;
  d->remote_md = md;
  int n = parse_fingerprint(cfg->remote_fingerprint, d->remote_fp, sizeof d->remote_fp);
  if (n < 0 || n != EVP_MD_get_size(md)) goto fail;
  d->remote_fp_len = (unsigned)n;
  if (cfg->sid) snprintf(d->sid, sizeof d->sid, "%s", cfg->sid);
  d->initial_rto = cfg->initial_rto ? cfg->initial_rto : VG_DTLS_DEFAULT_INITIAL_RTO;
  d->handshake_timeout = cfg->handshake_timeout ? cfg->handshake_timeout
                                                : VG_DTLS_DEFAULT_HANDSHAKE_TIMEOUT;
  d->handshake_deadline = VG_TIME_NEVER;
  d->rto = d->initial_rto;
  d->rtx_at = VG_TIME_NEVER;
  /* Not zeroed: a page is only touched when a datagram is queued there. */
  d->slots = malloc((FLIGHT_MAX_DATAGRAMS + TX_QUEUE_LEN) * sizeof *d->slots);
  if (!d->slots) {
    rc = VG_ENOMEM;
    goto fail;
  }
  d->flight = d->slots;
  d->flight_cap = FLIGHT_MAX_DATAGRAMS;
  d->txq = d->slots + FLIGHT_MAX_DATAGRAMS;
  d->tx_cap = TX_QUEUE_LEN;
  rc = configure(d, cfg);
  if (rc < 0) goto fail;
  *out = d;
  return VG_OK;
fail:
  ERR_clear_error();
  vg_dtls_destroy(d);
  return rc;
}

void vg_dtls_destroy(vg_dtls_t *d) {
  if (!d) return;
  SSL_free(d->ssl);
  free(d->slots);
  OPENSSL_cleanse(d, sizeof *d); /* the keys in queued events */
  free(d);
}

/* ---------------------------------------------------------------------- */
/* Queues                                                                 */

static const char *sid_of(const vg_dtls_t *d) { return d->sid[0] ? d->sid : NULL; }

static void push_event(vg_dtls_t *d, const vg_dtls_event_t *ev) {
  if (d->ev_n == EVENT_QUEUE_LEN) return; /* cannot happen: at most 3 events */
  d->events[(d->ev_head + d->ev_n++) % EVENT_QUEUE_LEN] = *ev;
}

static void push_datagram(vg_dtls_t *d, const uint8_t *p, size_t len) {
  if (d->tx_n == d->tx_cap) {
    VG_LOG(VG_LOG_WARN, sid_of(d), "dtls: send queue full, datagram dropped");
    return; /* retransmission recovers it */
  }
  datagram_t *dg = &d->txq[(d->tx_head + d->tx_n++) % d->tx_cap];
  memcpy(dg->data, p, len);
  dg->len = (uint16_t)len;
}

static void disarm(vg_dtls_t *d) { d->rtx_at = VG_TIME_NEVER; }

static void fail(vg_dtls_t *d, const char *reason) {
  if (d->state == VG_DTLS_STATE_FAILED || d->state == VG_DTLS_STATE_CLOSED) return;
  d->state = VG_DTLS_STATE_FAILED;
  snprintf(d->reason, sizeof d->reason, "%s", reason);
  disarm(d);
  d->flight_n = 0;
  VG_LOG(VG_LOG_WARN, sid_of(d), "dtls failed: %s", d->reason);
  vg_dtls_event_t ev = {.type = VG_DTLS_EVENT_FAILED, .reason = d->reason};
  push_event(d, &ev);
}

/* ---------------------------------------------------------------------- */
/* Records                                                                */

/* DTLSPlaintext / DTLSCiphertext header (RFC 6347 §4.1):
 *
 *   0        1        2        3        4        5
 *  +--------+--------+--------+--------+--------+--------+--------+---...
 *  |  type  |     version     |      epoch      |  sequence_number (48)
 *  +--------+--------+--------+--------+--------+--------+--------+---...
 *   ...-----+--------+--------+--------+--------+--------------------
 *    (cont.)         |     length      |  fragment (length bytes)
 *   ...-----+--------+--------+--------+--------+--------------------
 *
 * In an epoch-0 handshake record the fragment starts with the handshake
 * message header, whose first byte is the HandshakeType. */
typedef struct {
  uint8_t type;
  uint16_t epoch;
  int hs_type; /* epoch-0 handshake: the HandshakeType; else -1 */
  size_t size; /* header + fragment */
} record_t;

static bool next_record(vg_reader_t *r, record_t *rec) {
  size_t start = r->pos;
  rec->type = vg_read_u8(r);
  (void)vg_read_u16(r); /* version */
  rec->epoch = vg_read_u16(r);
  vg_reader_skip(r, 6); /* sequence_number */
  uint16_t len = vg_read_u16(r);
  const uint8_t *frag = vg_read_bytes(r, len);
  if (r->err || !frag) return false;
  rec->hs_type = (rec->type == CT_HANDSHAKE && rec->epoch == 0 && len > 0) ? frag[0] : -1;
  rec->size = r->pos - start;
  return true;
}

enum {
  IN_HANDSHAKE = 1,    /* any handshake record */
  IN_CLIENT_HELLO = 2, /* an epoch-0 ClientHello (fragment) */
  IN_SERVER_HELLO = 4, /* an epoch-0 ServerHello (fragment) */
};

static unsigned classify(const uint8_t *buf, size_t len) {
  vg_reader_t r = vg_reader(buf, len);
  record_t rec;
  unsigned flags = 0;
  while (vg_reader_left(&r) > 0 && next_record(&r, &rec)) {
    if (rec.type == CT_HANDSHAKE) flags |= IN_HANDSHAKE;
    if (rec.hs_type == HT_CLIENT_HELLO) flags |= IN_CLIENT_HELLO;
    if (rec.hs_type == HT_SERVER_HELLO) flags |= IN_SERVER_HELLO;
  }
  return flags;
}

/* Sends a packed datagram, and keeps a copy when it belongs to a flight. */
static void emit(vg_dtls_t *d, const uint8_t *p, size_t len, bool is_flight) {
  push_datagram(d, p, len);
  if (!is_flight) return;
  if (d->flight_n == d->flight_cap) {
    VG_LOG(VG_LOG_WARN, sid_of(d), "dtls: flight too large to keep for retransmission");
    return;
  }
  memcpy(d->flight[d->flight_n].data, p, len);
  d->flight[d->flight_n++].len = (uint16_t)len;
}

/* Starts a new stored flight. RFC 6347 §4.2.4.1: keep a backed-off timer
 * until a flight goes through without retransmission, then reset it. */
static void begin_flight(vg_dtls_t *d, vg_time_t now) {
  if (d->rtx_count == 0) d->rto = d->initial_rto;
  d->rtx_count = 0;
  d->flight_n = 0;
  d->flight_has_ccs = false;
  d->flight_has_server_hello = false;
  d->sent_at = now;
  d->rtx_at = d->state == VG_DTLS_STATE_HANDSHAKING ? now + d->rto : VG_TIME_NEVER;
}

/* Moves what OpenSSL wrote into datagrams of at most VG_DTLS_MTU bytes,
 * whole records only. Returns the number of datagrams queued. */
static size_t collect_output(vg_dtls_t *d, vg_time_t now) {
  char *data = NULL;
  long avail = BIO_get_mem_data(d->wbio, &data);
  if (avail <= 0 || !data) return 0;
  const uint8_t *p = (const uint8_t *)data;
  vg_reader_t r = vg_reader(p, (size_t)avail);
  record_t rec;
  bool is_flight = false, has_ccs = false, has_sh = false;
  while (vg_reader_left(&r) > 0 && next_record(&r, &rec)) {
    is_flight |= rec.type == CT_HANDSHAKE || rec.type == CT_CHANGE_CIPHER_SPEC;
    has_ccs |= rec.type == CT_CHANGE_CIPHER_SPEC;
    has_sh |= rec.hs_type == HT_SERVER_HELLO;
  }
  if (is_flight) {
    begin_flight(d, now);
    d->flight_has_ccs = has_ccs;
    d->flight_has_server_hello = has_sh;
  }
  uint8_t dg[VG_DTLS_MTU];
  size_t dg_len = 0, count = 0;
  r = vg_reader(p, (size_t)avail);
  while (vg_reader_left(&r) > 0) {
    size_t start = r.pos;
    if (!next_record(&r, &rec)) break; /* OpenSSL writes whole records */
    if (rec.size > VG_DTLS_MTU) {
      VG_LOG(VG_LOG_WARN, sid_of(d), "dtls: %zu-byte record exceeds the MTU, dropped", rec.size);
      continue;
    }
    if (dg_len + rec.size > VG_DTLS_MTU) {
      emit(d, dg, dg_len, is_flight);
      count++;
      dg_len = 0;
    }
    memcpy(dg + dg_len, p + start, rec.size);
    dg_len += rec.size;
  }
  if (dg_len > 0) {
    emit(d, dg, dg_len, is_flight);
    count++;
  }
  (void)BIO_reset(d->wbio);
  return count;
}

static void resend_flight(vg_dtls_t *d, vg_time_t now) {
  for (size_t i = 0; i < d->flight_n; i++)
    push_datagram(d, d->flight[i].data, d->flight[i].len);
  d->sent_at = now;
  d->rtx_count++;
}

/* ---------------------------------------------------------------------- */
/* Handshake                                                              */

static bool digest_matches(const vg_dtls_t *d, X509 *peer) {
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  if (!peer || !X509_digest(peer, d->remote_md, md, &n)) return false;
  return n == d->remote_fp_len && CRYPTO_memcmp(md, d->remote_fp, n) == 0;
}

/* RFC 5763 §5 / RFC 8122 §5: the certificate is self-signed, so no chain
 * can be verified; it is trusted exactly when it matches the fingerprint
 * the peer put in its SDP. Only the leaf (depth 0) matters. */
int vg_dtls_verify_peer(int preverify_ok, X509_STORE_CTX *store) {
  (void)preverify_ok;
  SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
  vg_dtls_t *d = ssl ? SSL_get_app_data(ssl) : NULL;
  if (!d) return 0;
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 1;
  if (!digest_matches(d, X509_STORE_CTX_get_current_cert(store))) {
    d->fingerprint_mismatch = true;
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
  }
  X509_STORE_CTX_set_error(store, X509_V_OK);
  return 1;
}

/* RFC 5764 §4.2: the exporter output is
 *   client_write_SRTP_master_key | server_write_SRTP_master_key |
 *   client_write_SRTP_master_salt | server_write_SRTP_master_salt */
static int export_keys(vg_dtls_t *d, vg_srtp_keys_t *k) {
  const SRTP_PROTECTION_PROFILE *sp = SSL_get_selected_srtp_profile(d->ssl);
  uint8_t m[2 * (VG_SRTP_MAX_KEY_LEN + VG_SRTP_MAX_SALT_LEN)];
  memset(k, 0, sizeof *k);
  if (!sp) return VG_EPROTO;
  k->profile = (vg_srtp_profile_t)sp->id; /* our enum uses the IANA ids */
  if (vg_srtp_profile_lengths(k->profile, &k->key_len, &k->salt_len) < 0) return VG_EPROTO;
  size_t kl = k->key_len, sl = k->salt_len, total = 2 * (kl + sl);
  if (SSL_export_keying_material(d->ssl, m, total, SRTP_EXPORTER_LABEL,
                                 strlen(SRTP_EXPORTER_LABEL), NULL, 0, 0) != 1)
    return VG_ECRYPTO;
  const uint8_t *client_key = m, *server_key = m + kl;
  const uint8_t *client_salt = m + 2 * kl, *server_salt = m + 2 * kl + sl;
  bool client = d->role == VG_DTLS_ROLE_CLIENT;
  memcpy(k->local_key, client ? client_key : server_key, kl);
  memcpy(k->remote_key, client ? server_key : client_key, kl);
  memcpy(k->local_salt, client ? client_salt : server_salt, sl);
  memcpy(k->remote_salt, client ? server_salt : client_salt, sl);
  OPENSSL_cleanse(m, sizeof m);
  return VG_OK;
}

/* A failure found after OpenSSL completed: withhold what it wrote (the
 * server's final flight), so the peer does not complete either. */
static void fail_completed(vg_dtls_t *d, const char *reason) {
  (void)BIO_reset(d->wbio);
  fail(d, reason);
}

static void on_handshake_done(vg_dtls_t *d) {
  vg_dtls_event_t ev = {.type = VG_DTLS_EVENT_CONNECTED};
  if (!digest_matches(d, SSL_get0_peer_certificate(d->ssl))) {
    fail_completed(d, "certificate fingerprint does not match the SDP");
    return;
  }
  int rc = export_keys(d, &ev.keys);
  if (rc < 0) {
    fail_completed(d, rc == VG_EPROTO ? "the peer negotiated no usable SRTP profile (use_srtp)"
                                      : "exporting the SRTP keys failed");
    return;
  }
  d->state = VG_DTLS_STATE_CONNECTED;
  disarm(d);
  /* The server keeps its final flight to answer a retransmitted flight 5;
   * the client has the server's Finished and needs nothing more. */
  if (d->role == VG_DTLS_ROLE_CLIENT) d->flight_n = 0;
  VG_LOG(VG_LOG_INFO, sid_of(d), "dtls connected as %s, %s, %s",
         d->role == VG_DTLS_ROLE_CLIENT ? "client" : "server", SSL_get_cipher_name(d->ssl),
         vg_srtp_profile_name(ev.keys.profile));
  push_event(d, &ev);
  OPENSSL_cleanse(&ev, sizeof ev);
}

static void fail_from_openssl(vg_dtls_t *d) {
  char why[120];
  if (d->fingerprint_mismatch) {
    fail(d, "certificate fingerprint does not match the SDP");
    return;
  }
  unsigned long e = ERR_peek_last_error();
  const char *s = e ? ERR_reason_error_string(e) : NULL;
  snprintf(why, sizeof why, "DTLS handshake failed: %s", s ? s : "unknown error");
  fail(d, why);
}

/* Drains application data (data channels are not supported) and notices
 * the peer's close_notify or a fatal alert. */
static void read_records(vg_dtls_t *d) {
  uint8_t buf[2048];
  for (;;) {
    int n = SSL_read(d->ssl, buf, (int)sizeof buf);
    if (n > 0) {
      VG_LOG(VG_LOG_DEBUG, sid_of(d), "dtls: %d bytes of application data dropped", n);
      continue;
    }
    int e = SSL_get_error(d->ssl, n);
    if (e == SSL_ERROR_ZERO_RETURN) {
      d->state = VG_DTLS_STATE_CLOSED;
      d->flight_n = 0;
      VG_LOG(VG_LOG_INFO, sid_of(d), "dtls: peer sent close_notify");
      vg_dtls_event_t ev = {.type = VG_DTLS_EVENT_CLOSED};
      push_event(d, &ev);
    } else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
      fail_from_openssl(d);
    }
    return;
  }
}

/* Lets OpenSSL consume what is in the input BIO, then collects its output.
 * Returns the number of datagrams OpenSSL wrote. */
static size_t drive(vg_dtls_t *d, vg_time_t now) {
  ERR_clear_error();
  if (d->state == VG_DTLS_STATE_HANDSHAKING) {
    int r = SSL_do_handshake(d->ssl);
    if (r == 1) {
      on_handshake_done(d);
    } else {
      int e = SSL_get_error(d->ssl, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) fail_from_openssl(d);
    }
  }
  /* Records after the handshake's last one, in the same datagram, are read
   * here; so is everything once connected. */
  if (d->state == VG_DTLS_STATE_CONNECTED) read_records(d);
  ERR_clear_error();
  return collect_output(d, now);
}

/* ---------------------------------------------------------------------- */
/* The five verbs                                                         */

int vg_dtls_start(vg_dtls_t *d, vg_time_t now) {
  if (d->state != VG_DTLS_STATE_NEW) return VG_ESTATE;
  d->state = VG_DTLS_STATE_HANDSHAKING;
  d->handshake_deadline = now + d->handshake_timeout;
  if (d->role == VG_DTLS_ROLE_CLIENT) (void)drive(d, now);
  return d->state == VG_DTLS_STATE_FAILED ? VG_ECRYPTO : VG_OK;
}

/* The retransmission rules of the design note; true when the datagram just
 * read is the peer resending its last flight and we should answer it. */
static bool peer_is_retransmitting(const vg_dtls_t *d, unsigned in, vg_time_t now) {
  if (d->flight_n == 0) return false;
  bool server = d->role == VG_DTLS_ROLE_SERVER;
  if (d->state == VG_DTLS_STATE_HANDSHAKING)
    return server ? (in & IN_CLIENT_HELLO) && d->flight_has_server_hello
                  : (in & IN_SERVER_HELLO) && d->flight_has_ccs;
  if (d->state == VG_DTLS_STATE_CONNECTED && server)
    return (in & IN_HANDSHAKE) && now - d->sent_at >= RESEND_MIN_GAP;
  return false;
}

int vg_dtls_handle_packet(vg_dtls_t *d, vg_time_t now, const uint8_t *buf, size_t len) {
  /* RFC 7983 §7: DTLS datagrams start with a byte in 20..63. */
  if (!buf || len == 0 || len > VG_DTLS_MAX_DATAGRAM || buf[0] < 20 || buf[0] > 63)
    return VG_EINVAL;
  if (d->state == VG_DTLS_STATE_NEW) return VG_ESTATE;
  if (d->state == VG_DTLS_STATE_FAILED || d->state == VG_DTLS_STATE_CLOSED) return VG_ECLOSED;
  unsigned in = classify(buf, len);
  if (BIO_write(d->rbio, buf, (int)len) != (int)len) {
    ERR_clear_error();
    return VG_ENOMEM;
  }
  size_t wrote = drive(d, now);
  (void)BIO_reset(d->rbio); /* whatever OpenSSL left unread belongs to no one */
  if (wrote == 0 && peer_is_retransmitting(d, in, now)) {
    VG_LOG(VG_LOG_DEBUG, sid_of(d), "dtls: peer retransmitted, resending our last flight");
    resend_flight(d, now);
  }
  return VG_OK;
}

int vg_dtls_handle_timeout(vg_dtls_t *d, vg_time_t now) {
  if (d->state != VG_DTLS_STATE_HANDSHAKING) return VG_OK;
  if (now >= d->handshake_deadline) {
    fail(d, "DTLS handshake timed out");
    return VG_OK;
  }
  if (now >= d->rtx_at) {
    /* RFC 6347 §4.2.4: retransmit the flight, double the timer. */
    resend_flight(d, now);
    d->rto = d->rto > MAX_RTO / 2 ? MAX_RTO : d->rto * 2;
    d->rtx_at = now + d->rto;
    VG_LOG(VG_LOG_DEBUG, sid_of(d), "dtls: retransmitted flight (%u), next in %lld ms",
           d->rtx_count, (long long)(d->rto / 1000));
  }
  return VG_OK;
}

/* Once the handshake is over and what it queued has gone out, the queues
 * shrink to the stored flight plus TX_QUEUE_LEN_CONNECTED (the large ones
 * stay if the allocation fails). */
static void compact(vg_dtls_t *d) {
  if (d->compacted || d->tx_n || d->state == VG_DTLS_STATE_NEW ||
      d->state == VG_DTLS_STATE_HANDSHAKING)
    return;
  size_t tx_cap = TX_QUEUE_LEN_CONNECTED(d->flight_n);
  datagram_t *slots = malloc((d->flight_n + tx_cap) * sizeof *slots);
  if (!slots) return;
  if (d->flight_n) memcpy(slots, d->flight, d->flight_n * sizeof *slots);
  free(d->slots);
  d->slots = slots;
  d->flight = slots;
  d->flight_cap = d->flight_n;
  d->txq = slots + d->flight_n;
  d->tx_cap = tx_cap;
  d->tx_head = 0;
  d->compacted = true;
}

int vg_dtls_poll_transmit(vg_dtls_t *d, uint8_t *out, size_t cap) {
  if (d->tx_n == 0) return 0;
  datagram_t *dg = &d->txq[d->tx_head];
  if (cap < dg->len) return VG_ENOSPC;
  int len = dg->len;
  memcpy(out, dg->data, dg->len);
  d->tx_head = (d->tx_head + 1) % d->tx_cap;
  d->tx_n--;
  if (d->tx_n == 0) compact(d); /* may free dg */
  return len;
}

bool vg_dtls_poll_event(vg_dtls_t *d, vg_dtls_event_t *ev) {
  if (d->ev_n == 0) return false;
  vg_dtls_event_t *slot = &d->events[d->ev_head];
  *ev = *slot;
  OPENSSL_cleanse(slot, sizeof *slot); /* the caller holds the only copy of the keys */
  d->ev_head = (d->ev_head + 1) % EVENT_QUEUE_LEN;
  d->ev_n--;
  return true;
}

vg_time_t vg_dtls_poll_timeout(const vg_dtls_t *d) {
  if (d->state != VG_DTLS_STATE_HANDSHAKING) return VG_TIME_NEVER;
  return vg_time_min(d->handshake_deadline, d->rtx_at);
}

int vg_dtls_close(vg_dtls_t *d) {
  if (d->state == VG_DTLS_STATE_CONNECTED) {
    /* RFC 5246 §7.2.1: close_notify; we do not wait for the peer's. */
    ERR_clear_error();
    (void)SSL_shutdown(d->ssl);
    ERR_clear_error();
    d->state = VG_DTLS_STATE_CLOSED;
    (void)collect_output(d, 0);
  }
  if (d->state != VG_DTLS_STATE_FAILED) d->state = VG_DTLS_STATE_CLOSED;
  disarm(d);
  d->flight_n = 0;
  return VG_OK;
}

vg_dtls_state_t vg_dtls_state(const vg_dtls_t *d) { return d->state; }
