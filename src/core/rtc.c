/* vg_rtc: one WebRTC peer, composed from the core modules.
 *
 * Dispatch (RFC 7983 first byte) and who owns what:
 *
 *   datagram ─► demux ─┬─ STUN ──► ice   ──► responses, SELECTED, consent
 *                      ├─ DTLS ──► dtls  ──► flights, CONNECTED(keys) ─► srtp
 *                      ├─ RTP  ──► srtp unprotect ─► rtp parse ─► AUDIO event
 *                      └─ RTCP ──► srtp unprotect ─► rtcp iterate ─► RTT, BYE
 *
 * Sub-objects queue their own output; after every input this file moves it
 * into one transmit queue (with destinations) and one event queue, so the
 * caller drains a single peer. Only addresses that sent an authenticated
 * STUN request (or, for the client, a verified response) may carry DTLS and
 * media (RFC 8445 §7.3.1.4: media flows only on validated pairs). */
#include "core/rtc.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "core/demux.h"
#include "core/ice.h"
#include "core/rtcp.h"
#include "core/rtp.h"
#include "core/sdp.h"
#include "core/srtp.h"

/* Largest datagram we queue: an SRTP packet carrying the largest Opus frame
 * (1275 bytes, RFC 6716 §3.2.1) plus RTP header, extensions and the tag. */
#define SLOT_SIZE 1500
/* Datagrams a peer can have queued between two drains: a DTLS flight (up to
 * four datagrams), ICE responses and one media packet with its RTCP. */
#define TX_SLOTS 16
/* Their bytes, packed: each datagram takes its own length, and the queue
 * starts over whenever it is drained (every input is drained before the
 * next). Room for a four-datagram DTLS flight (VG_DTLS_MTU each) with a
 * whole slot to spare; media packets are a tenth of a slot. A fixed slot
 * per datagram would hold 16 * 1500 bytes per peer for nothing. */
#define TX_BYTES 8192
/* Events between two drains: state changes are few, AUDIO is kept apart. */
#define EV_SLOTS 8
/* Distinct remote addresses validated by ICE (UDP and TCP paths from a few
 * interfaces); the oldest is forgotten beyond this. */
#define MAX_PATHS 8
/* RFC 3550 §6.2 allows a reduced minimum RTCP interval; one report a second
 * lets the browser's getStats() show a round-trip time quickly. */
#define RTCP_INTERVAL VG_SEC(1)
/* RFC 7587 §4.1: Opus uses a 48 kHz RTP clock whatever it encodes. */
#define OPUS_CLOCK 48000
/* RFC 8839 §5.4: ufrag at least 4 ice-chars (24 bits), pwd at least 22
 * (128 bits). Ours are longer than the minimum. */
#define UFRAG_LEN 8
#define PWD_LEN 24
#define CNAME_LEN 16
#define SID_LEN 24
#define WHY_LEN 160
/* Decrypted input; larger packets are dropped. */
#define RX_BUF_SIZE 2048
/* Decryption buffers, used in rotation (see struct vg_rtc): one to decrypt
 * into, one under the queued AUDIO event, one under the AUDIO event the
 * caller polled last. */
#define RX_BUFS 3

typedef struct {
  vg_addr_t to;
  uint16_t len;
  uint8_t *data; /* into tx_buf; SLOT_SIZE writable when reserved */
} tx_slot_t;

struct vg_rtc {
  vg_rtc_role_t role;
  const vg_dtls_cert_t *cert; /* borrowed */
  char sid[SID_LEN];
  vg_time_t consent_timeout;

  char local_ufrag[UFRAG_LEN + 1];
  char local_pwd[PWD_LEN + 1];
  char cname[CNAME_LEN + 1];
  uint64_t session_id;

  vg_ice_t *ice;   /* owned; NULL until offer/answer */
  vg_dtls_t *dtls; /* owned; NULL until offer/answer */
  vg_srtp_t *srtp; /* owned; NULL until DTLS is connected */
  vg_dtls_role_t dtls_role;
  bool dtls_started;
  bool negotiated; /* offer/answer done */
  bool ice_connected;
  bool closed;

  vg_addr_t paths[MAX_PATHS]; /* validated remote addresses, oldest first */
  size_t n_paths;
  vg_addr_t selected; /* ICE's selection; family 0 = none */
  vg_addr_t dtls_from; /* where DTLS arrived from, until ICE selects */

  /* Our stream. */
  uint32_t ssrc;
  uint16_t seq;
  uint8_t opus_pt;
  uint32_t last_ts; /* RTP timestamp of the last packet sent */
  vg_time_t last_sent_at;
  uint32_t sent_packets, sent_octets; /* RFC 3550 §6.4.1 sender counts */

  /* The peer's stream. */
  bool have_remote_ssrc;
  uint32_t remote_ssrc;
  vg_rtp_recv_stats_t recv;
  vg_time_t next_rtcp;

  vg_rtc_stats_t stats;

  tx_slot_t tx[TX_SLOTS]; /* ring */
  size_t tx_head, tx_count;
  uint8_t tx_buf[TX_BYTES]; /* the queued datagrams' bytes */
  size_t tx_used;           /* bytes of tx_buf in use, from the start */

  vg_rtc_event_t ev[EV_SLOTS]; /* ring of non-AUDIO events */
  size_t ev_head, ev_count;
  bool audio_pending; /* one AUDIO event, payload in rx_buf[rx_pending] */
  vg_rtc_event_t audio_ev;
  bool closed_event_pending; /* CLOSED is delivered last, after the rest */
  vg_rtc_event_t closed_ev;

  char why[WHY_LEN];
  /* Decrypted input. A queued AUDIO event borrows its payload from here
   * until the caller polls it, and the caller keeps it until its next poll,
   * while more datagrams may be handled in between (a socket drained in a
   * batch): SRTCP, a second RTP packet, or one that fails authentication
   * would overwrite a single buffer under the event (unprotect works in
   * place). So input is always decrypted into rx_buf[rx_free]; an accepted
   * RTP packet swaps that buffer with the queued event's (rx_pending), and
   * polling the event swaps rx_pending with rx_delivered. The three indices
   * are always distinct. */
  uint8_t rx_buf[RX_BUFS][RX_BUF_SIZE];
  uint8_t rx_free, rx_pending, rx_delivered;
  uint8_t scratch[SLOT_SIZE]; /* plaintext RTP/RTCP before protection */
};

/* ---- small helpers -------------------------------------------------------- */

/* RFC 8839 §5.4 ice-char = ALPHA / DIGIT / "+" / "/". */
static int random_ice_chars(char *out, size_t n) {
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  uint8_t rnd[64];
  if (n > sizeof rnd || RAND_bytes(rnd, (int)n) != 1) return VG_ECRYPTO;
  for (size_t i = 0; i < n; i++) out[i] = alphabet[rnd[i] & 63];
  out[n] = '\0';
  return VG_OK;
}

static int random_u64(uint64_t *v) {
  uint8_t b[8];
  if (RAND_bytes(b, sizeof b) != 1) return VG_ECRYPTO;
  *v = 0;
  for (int i = 0; i < 8; i++) *v = (*v << 8) | b[i];
  return VG_OK;
}

static void push_event(vg_rtc_t *rtc, const vg_rtc_event_t *ev) {
  if (rtc->ev_count == EV_SLOTS) {
    VG_LOG(VG_LOG_WARN, rtc->sid, "event queue full; dropping the oldest event");
    rtc->ev_head = (rtc->ev_head + 1) % EV_SLOTS;
    rtc->ev_count--;
  }
  rtc->ev[(rtc->ev_head + rtc->ev_count) % EV_SLOTS] = *ev;
  rtc->ev_count++;
}

/* Reserves the next transmit slot; NULL (and a counted drop) when full. */
static tx_slot_t *tx_reserve(vg_rtc_t *rtc) {
  if (rtc->tx_count == TX_SLOTS || TX_BYTES - rtc->tx_used < SLOT_SIZE) {
    rtc->stats.packets_dropped++;
    VG_LOG(VG_LOG_DEBUG, rtc->sid, "transmit queue full; dropping a datagram");
    return NULL;
  }
  tx_slot_t *slot = &rtc->tx[(rtc->tx_head + rtc->tx_count) % TX_SLOTS];
  slot->data = rtc->tx_buf + rtc->tx_used;
  return slot;
}

static void tx_commit(vg_rtc_t *rtc, tx_slot_t *slot, const vg_addr_t *to, size_t len) {
  slot->to = *to;
  slot->len = (uint16_t)len;
  rtc->tx_used += len;
  rtc->tx_count++;
}

/* Where DTLS and media go: ICE's selected address, else (server, before
 * selection) the validated address the peer's DTLS came from. */
static const vg_addr_t *media_dest(const vg_rtc_t *rtc) {
  if (rtc->selected.family) return &rtc->selected;
  if (rtc->dtls_from.family) return &rtc->dtls_from;
  return NULL;
}

static bool path_valid(const vg_rtc_t *rtc, const vg_addr_t *a) {
  for (size_t i = 0; i < rtc->n_paths; i++)
    if (vg_addr_equal(&rtc->paths[i], a)) return true;
  return false;
}

static void path_add(vg_rtc_t *rtc, const vg_addr_t *a) {
  if (path_valid(rtc, a)) return;
  if (rtc->n_paths == MAX_PATHS) {
    memmove(&rtc->paths[0], &rtc->paths[1], sizeof rtc->paths[0] * (MAX_PATHS - 1));
    rtc->n_paths--;
  }
  rtc->paths[rtc->n_paths++] = *a;
}

/* Ends the session once: records the reason; CLOSED is delivered after any
 * events already queued. */
static void close_with(vg_rtc_t *rtc, vg_rtc_close_reason_t reason, const char *why) {
  if (rtc->closed) return;
  rtc->closed = true;
  snprintf(rtc->why, sizeof rtc->why, "%s", why ? why : "closed");
  vg_rtc_event_t ev = {.type = VG_RTC_EV_CLOSED};
  ev.u.closed.reason = reason;
  ev.u.closed.why = rtc->why;
  rtc->closed_ev = ev; /* delivered after everything queued before it */
  rtc->closed_event_pending = true;
  VG_LOG(VG_LOG_DEBUG, rtc->sid, "peer closed: %s", rtc->why);
}

/* ---- moving sub-object output into the peer's queues ---------------------- */


static void drain_dtls(vg_rtc_t *rtc, vg_time_t now);

/* RFC 5763 §5: the active side sends its ClientHello once ICE has a path;
 * the passive side arms its handshake timer. */
static void start_dtls(vg_rtc_t *rtc, vg_time_t now) {
  if (rtc->dtls_started || !rtc->dtls) return;
  rtc->dtls_started = true;
  if (vg_dtls_start(rtc->dtls, now) < 0) {
    close_with(rtc, VG_RTC_CLOSE_DTLS_FAILED, "DTLS start failed");
    return;
  }
  drain_dtls(rtc, now);
}

static void drain_ice(vg_rtc_t *rtc, vg_time_t now) {
  for (;;) {
    tx_slot_t *slot = tx_reserve(rtc);
    if (!slot) break;
    vg_addr_t to;
    int n = vg_ice_poll_transmit(rtc->ice, slot->data, SLOT_SIZE, &to);
    if (n <= 0) break;
    tx_commit(rtc, slot, &to, (size_t)n);
  }
  vg_ice_event_t iev;
  while (vg_ice_poll_event(rtc->ice, &iev)) {
    if (iev.type == VG_ICE_EV_SELECTED) {
      rtc->selected = iev.addr;
      path_add(rtc, &iev.addr);
      char a[VG_ADDR_STRLEN];
      vg_addr_format(&iev.addr, a, sizeof a);
      VG_LOG(VG_LOG_INFO, rtc->sid, "ICE selected %s (%s)", a,
             iev.addr.transport == VG_TRANSPORT_TCP ? "tcp" : "udp");
      vg_rtc_event_t ev = {.type = VG_RTC_EV_ICE_CONNECTED};
      ev.u.ice.addr = iev.addr;
      if (!rtc->ice_connected) rtc->stats.ice_connected_at = now;
      rtc->ice_connected = true;
      push_event(rtc, &ev);
      start_dtls(rtc, now);
    } else if (iev.type == VG_ICE_EV_CONSENT_EXPIRED) {
      close_with(rtc, VG_RTC_CLOSE_CONSENT, iev.reason ? iev.reason : "ICE consent expired");
    } else if (iev.type == VG_ICE_EV_FAILED) {
      close_with(rtc, VG_RTC_CLOSE_ICE_FAILED, iev.reason ? iev.reason : "ICE checks failed");
    }
  }
}

static void schedule_rtcp(vg_rtc_t *rtc, vg_time_t now) { rtc->next_rtcp = now + RTCP_INTERVAL; }

static void drain_dtls(vg_rtc_t *rtc, vg_time_t now) {
  const vg_addr_t *dest = media_dest(rtc);
  for (;;) {
    tx_slot_t *slot = tx_reserve(rtc);
    if (!slot) break;
    int n = vg_dtls_poll_transmit(rtc->dtls, slot->data, SLOT_SIZE);
    if (n <= 0) break;
    if (!dest) continue; /* no path yet: DTLS retransmits later */
    tx_commit(rtc, slot, dest, (size_t)n);
  }
  vg_dtls_event_t dev;
  while (vg_dtls_poll_event(rtc->dtls, &dev)) {
    if (dev.type == VG_DTLS_EVENT_CONNECTED) {
      vg_srtp_destroy(rtc->srtp);
      rtc->srtp = NULL;
      int r = vg_srtp_create(&dev.keys, &rtc->srtp);
      memset(&dev.keys, 0, sizeof dev.keys);
      if (r < 0) {
        close_with(rtc, VG_RTC_CLOSE_DTLS_FAILED, "SRTP session set-up failed");
        return;
      }
      rtc->stats.dtls_connected_at = now;
      VG_LOG(VG_LOG_INFO, rtc->sid, "DTLS connected, SRTP %s",
             vg_srtp_profile_name(vg_srtp_profile(rtc->srtp)));
      vg_rtc_event_t ev = {.type = VG_RTC_EV_DTLS_CONNECTED};
      ev.u.dtls.srtp_profile = (int)vg_srtp_profile(rtc->srtp);
      push_event(rtc, &ev);
      schedule_rtcp(rtc, now);
    } else if (dev.type == VG_DTLS_EVENT_FAILED) {
      char why[WHY_LEN];
      snprintf(why, sizeof why, "DTLS failed: %s", dev.reason ? dev.reason : "unknown");
      close_with(rtc, VG_RTC_CLOSE_DTLS_FAILED, why);
    } else if (dev.type == VG_DTLS_EVENT_CLOSED) {
      close_with(rtc, VG_RTC_CLOSE_DTLS_CLOSED, "the peer closed DTLS");
    }
  }
}

/* ---- RTCP ------------------------------------------------------------------ */

/* The NTP clock of our reports. The core has no wall clock, so NTP time is
 * our monotonic `now` on the NTP scale: round-trip times only ever subtract
 * two of our own readings (RFC 3550 §6.4.1 LSR/DLSR), so the epoch cancels. */
static uint64_t ntp_now(vg_time_t now) { return vg_rtcp_ntp_from_time(now, 0); }

/* Queues one compound report (RFC 3550 §6.1: SR or RR first, then SDES with
 * CNAME), plus BYE when `bye`. */
static void send_rtcp(vg_rtc_t *rtc, vg_time_t now, bool bye) {
  const vg_addr_t *dest = media_dest(rtc);
  if (!rtc->srtp || !dest) return;
  vg_rtcp_report_block_t rb;
  size_t n_rb = 0;
  if (rtc->have_remote_ssrc && rtc->recv.started &&
      vg_rtp_recv_stats_report(&rtc->recv, now, &rb) == VG_OK)
    n_rb = 1;
  vg_rtcp_builder_t b;
  vg_rtcp_builder_init(&b, rtc->scratch, sizeof rtc->scratch);
  if (rtc->sent_packets > 0) {
    vg_rtcp_sender_info_t si;
    si.ntp = ntp_now(now);
    /* The RTP timestamp of "now" on our stream's clock (§6.4.1). */
    si.rtp_ts = rtc->last_ts + (uint32_t)((now - rtc->last_sent_at) * OPUS_CLOCK / 1000000);
    si.packet_count = rtc->sent_packets;
    si.octet_count = rtc->sent_octets;
    vg_rtcp_add_sr(&b, rtc->ssrc, &si, n_rb ? &rb : NULL, n_rb);
  } else {
    vg_rtcp_add_rr(&b, rtc->ssrc, n_rb ? &rb : NULL, n_rb);
  }
  vg_rtcp_add_sdes_cname(&b, rtc->ssrc, rtc->cname, strlen(rtc->cname));
  if (bye) vg_rtcp_add_bye(&b, &rtc->ssrc, 1, "session ended", 13);
  int len = vg_rtcp_finish(&b);
  if (len <= 0) return;
  tx_slot_t *slot = tx_reserve(rtc);
  if (!slot) return;
  size_t out_len;
  if (vg_srtp_protect_rtcp(rtc->srtp, rtc->scratch, (size_t)len, slot->data, SLOT_SIZE,
                           &out_len) < 0)
    return;
  tx_commit(rtc, slot, dest, out_len);
}

static void handle_rtcp(vg_rtc_t *rtc, vg_time_t now, const uint8_t *buf, size_t len) {
  vg_rtcp_iter_t it;
  vg_rtcp_packet_t pkt;
  vg_rtcp_iter_init(&it, buf, len);
  while (vg_rtcp_next(&it, &pkt, NULL) > 0) {
    const vg_rtcp_report_block_t *blocks = NULL;
    size_t n = 0;
    if (pkt.kind == VG_RTCP_SR) {
      if (rtc->have_remote_ssrc && pkt.sr.ssrc == rtc->remote_ssrc)
        vg_rtp_recv_stats_on_sr(&rtc->recv, now, pkt.sr.info.ntp);
      blocks = pkt.sr.blocks;
      n = pkt.sr.block_count;
    } else if (pkt.kind == VG_RTCP_RR) {
      blocks = pkt.rr.blocks;
      n = pkt.rr.block_count;
    } else if (pkt.kind == VG_RTCP_BYE) {
      for (size_t i = 0; i < pkt.bye.ssrc_count; i++) {
        if (rtc->have_remote_ssrc && pkt.bye.ssrcs[i] == rtc->remote_ssrc) {
          close_with(rtc, VG_RTC_CLOSE_BYE, "the peer sent RTCP BYE");
          return;
        }
      }
    }
    for (size_t i = 0; i < n; i++) {
      if (blocks[i].ssrc != rtc->ssrc || blocks[i].lsr == 0) continue;
      int64_t rtt = vg_rtcp_rtt_us(&blocks[i], vg_rtcp_ntp_mid(ntp_now(now)));
      if (rtt < 0) continue;
      rtc->stats.rtt = rtt;
      vg_rtc_event_t ev = {.type = VG_RTC_EV_RTT};
      ev.u.rtt.rtt = rtt;
      push_event(rtc, &ev);
    }
  }
}

/* ---- media in -------------------------------------------------------------- */

static int handle_srtp(vg_rtc_t *rtc, vg_time_t now, const uint8_t *buf, size_t len, bool rtcp) {
  if (!rtc->srtp) {
    /* Media before DTLS finished cannot be decrypted: drop it quietly. */
    rtc->stats.packets_dropped++;
    return VG_ESTATE;
  }
  size_t plain_len;
  uint8_t *rx = rtc->rx_buf[rtc->rx_free]; /* never under a queued or polled event */
  int r = rtcp ? vg_srtp_unprotect_rtcp(rtc->srtp, buf, len, rx, RX_BUF_SIZE, &plain_len)
               : vg_srtp_unprotect_rtp(rtc->srtp, buf, len, rx, RX_BUF_SIZE, &plain_len);
  if (r < 0) {
    rtc->stats.packets_dropped++;
    VG_LOG(VG_LOG_DEBUG, rtc->sid, "dropping %s: %s", rtcp ? "SRTCP" : "SRTP", vg_strerror(r));
    return r;
  }
  if (rtcp) {
    handle_rtcp(rtc, now, rx, plain_len);
    return VG_OK;
  }
  vg_rtp_packet_t p;
  const char *why = NULL;
  r = vg_rtp_parse(&p, rx, plain_len, &why);
  if (r < 0 || p.hdr.payload_type != rtc->opus_pt) {
    rtc->stats.packets_dropped++;
    VG_LOG(VG_LOG_DEBUG, rtc->sid, "dropping RTP: %s", r < 0 ? why : "not the negotiated Opus");
    return r < 0 ? r : VG_EUNSUPPORTED;
  }
  if (!rtc->have_remote_ssrc || p.hdr.ssrc != rtc->remote_ssrc) {
    /* The first stream, or the browser replaced its track: follow it. */
    rtc->have_remote_ssrc = true;
    rtc->remote_ssrc = p.hdr.ssrc;
    vg_rtp_recv_stats_init(&rtc->recv, p.hdr.ssrc);
  }
  (void)vg_rtp_recv_stats_update(&rtc->recv, now, &p, OPUS_CLOCK);
  rtc->stats.packets_in++;
  rtc->stats.bytes_in += len;
  if (!rtc->stats.first_audio_at) rtc->stats.first_audio_at = now;
  if (rtc->audio_pending) rtc->stats.packets_dropped++; /* caller did not drain */
  vg_rtc_event_t *ev = &rtc->audio_ev;
  memset(ev, 0, sizeof *ev);
  ev->type = VG_RTC_EV_AUDIO;
  ev->u.audio.ssrc = p.hdr.ssrc;
  ev->u.audio.seq = p.hdr.seq;
  ev->u.audio.timestamp = p.hdr.timestamp;
  ev->u.audio.payload_type = p.hdr.payload_type;
  ev->u.audio.marker = p.hdr.marker;
  ev->u.audio.payload = p.payload;
  ev->u.audio.payload_len = p.payload_len;
  rtc->audio_pending = true;
  /* The payload's buffer now belongs to the event; a replaced event's
   * buffer is free again. */
  uint8_t held = rtc->rx_pending;
  rtc->rx_pending = rtc->rx_free;
  rtc->rx_free = held;
  return VG_OK;
}

/* ---- lifecycle ------------------------------------------------------------- */

int vg_rtc_create(const vg_rtc_config_t *cfg, vg_rtc_t **out) {
  *out = NULL;
  if (!cfg || !cfg->cert) return VG_EINVAL;
  vg_rtc_t *rtc = calloc(1, sizeof *rtc);
  if (!rtc) return VG_ENOMEM;
  rtc->role = cfg->role;
  rtc->cert = cfg->cert;
  snprintf(rtc->sid, sizeof rtc->sid, "%s", cfg->sid ? cfg->sid : "");
  rtc->consent_timeout = cfg->consent_timeout;
  rtc->opus_pt = 111;
  rtc->rx_free = 0;
  rtc->rx_pending = 1;
  rtc->rx_delivered = 2;
  uint64_t r64;
  if (random_ice_chars(rtc->local_ufrag, UFRAG_LEN) < 0 ||
      random_ice_chars(rtc->local_pwd, PWD_LEN) < 0 ||
      random_ice_chars(rtc->cname, CNAME_LEN) < 0 || random_u64(&r64) < 0)
    goto fail;
  rtc->session_id = r64 >> 2; /* RFC 8866 §5.2: fits a 63-bit signed value */
  rtc->ssrc = cfg->ssrc ? cfg->ssrc : (uint32_t)(r64 >> 32) | 1u;
  rtc->seq = (uint16_t)r64; /* RFC 3550 §5.1: random initial sequence number */
  *out = rtc;
  return VG_OK;
fail:
  vg_rtc_destroy(rtc);
  return VG_ECRYPTO;
}

void vg_rtc_destroy(vg_rtc_t *rtc) {
  if (!rtc) return;
  vg_ice_destroy(rtc->ice);
  vg_dtls_destroy(rtc->dtls);
  vg_srtp_destroy(rtc->srtp);
  free(rtc);
}

const char *vg_rtc_local_ufrag(const vg_rtc_t *rtc) { return rtc->local_ufrag; }
bool vg_rtc_is_closed(const vg_rtc_t *rtc) { return rtc->closed; }
bool vg_rtc_has_path(const vg_rtc_t *rtc, const vg_addr_t *addr) { return path_valid(rtc, addr); }

static int make_ice(vg_rtc_t *rtc, vg_time_t now, vg_ice_role_t role, const char *remote_ufrag,
                    const char *remote_pwd) {
  vg_ice_config_t ic = {0};
  ic.role = role;
  ic.local_ufrag = rtc->local_ufrag;
  ic.local_pwd = rtc->local_pwd;
  ic.remote_ufrag = remote_ufrag;
  ic.remote_pwd = remote_pwd;
  ic.now = now;
  ic.consent_timeout = rtc->consent_timeout;
  ic.sid = rtc->sid;
  return vg_ice_create(&ic, &rtc->ice);
}

static int make_dtls(vg_rtc_t *rtc, vg_dtls_role_t role, const vg_sdp_fingerprint_t *fp) {
  vg_dtls_config_t dc = {0};
  dc.role = role;
  dc.cert = rtc->cert;
  dc.remote_fingerprint_alg = fp->alg;
  dc.remote_fingerprint = fp->value;
  dc.sid = rtc->sid;
  rtc->dtls_role = role;
  return vg_dtls_create(&dc, &rtc->dtls);
}

/* RFC 8445 §5.1.2.1: priority = 2^24 type pref + 2^8 local pref + (256 -
 * component). Host candidates (type preference 126); UDP is preferred over
 * TCP (RFC 6544 §4.2) so that a browser with both uses UDP when it works,
 * and earlier addresses in the list are preferred over later ones. */
static uint32_t candidate_priority(const vg_addr_t *a, size_t index) {
  uint32_t local = (a->transport == VG_TRANSPORT_UDP ? 60000u : 20000u) - (uint32_t)index * 8u;
  return (126u << 24) | (local << 8) | 255u;
}

int vg_rtc_accept_offer(vg_rtc_t *rtc, vg_time_t now, const char *offer, size_t offer_len,
                        const vg_rtc_candidate_t *cands, size_t n_cands, char *answer,
                        size_t answer_cap, const char **why) {
  const char *dummy;
  if (!why) why = &dummy;
  *why = NULL;
  if (rtc->role != VG_RTC_ROLE_SERVER || rtc->negotiated) {
    *why = "offer/answer already done";
    return VG_ESTATE;
  }
  if (n_cands == 0 || n_cands > VG_RTC_MAX_LOCAL_CANDIDATES) {
    *why = "no local candidates to advertise";
    return VG_EINVAL;
  }
  vg_sdp_t *sdp = malloc(sizeof *sdp); /* ~180 KB: once per session, never per packet */
  if (!sdp) return VG_ENOMEM;
  int r = vg_sdp_parse(sdp, offer, offer_len, why);
  if (r < 0) {
    snprintf(rtc->why, sizeof rtc->why, "%s", *why ? *why : "malformed SDP offer");
    *why = rtc->why;
    free(sdp);
    return r;
  }
  vg_sdp_local_candidate_t lc[VG_RTC_MAX_LOCAL_CANDIDATES];
  char foundations[VG_RTC_MAX_LOCAL_CANDIDATES][4];
  for (size_t i = 0; i < n_cands; i++) {
    /* RFC 8445 §5.1.1.3: same foundation for the same type, base and
     * transport; each of ours differs in address or transport. */
    snprintf(foundations[i], sizeof foundations[i], "%zu", i + 1);
    lc[i].addr = cands[i].addr;
    lc[i].priority = candidate_priority(&cands[i].addr, i);
    lc[i].foundation = foundations[i];
    lc[i].tcptype = cands[i].addr.transport == VG_TRANSPORT_TCP ? VG_SDP_TCPTYPE_PASSIVE
                                                                 : VG_SDP_TCPTYPE_NONE;
  }
  vg_sdp_answer_params_t ap = {0};
  ap.ice_ufrag = rtc->local_ufrag;
  ap.ice_pwd = rtc->local_pwd;
  ap.fingerprint_alg = "sha-256";
  ap.fingerprint = vg_dtls_cert_fingerprint(rtc->cert);
  ap.setup = VG_SDP_SETUP_NONE; /* passive, or active if the offer is passive */
  ap.ice_lite = true;
  ap.candidates = lc;
  ap.n_candidates = n_cands;
  ap.ssrc = rtc->ssrc;
  ap.cname = rtc->cname;
  ap.session_id = rtc->session_id;
  vg_sdp_answer_info_t info;
  int len = vg_sdp_build_answer(sdp, &ap, answer, answer_cap, &info, why);
  free(sdp);
  if (len < 0) {
    snprintf(rtc->why, sizeof rtc->why, "%s", *why ? *why : "cannot answer this offer");
    *why = rtc->why;
    return len;
  }
  rtc->opus_pt = info.opus_pt;
  r = make_ice(rtc, now, VG_ICE_ROLE_LITE_CONTROLLED, info.remote_ice_ufrag, info.remote_ice_pwd);
  if (r == VG_OK)
    r = make_dtls(rtc,
                  info.local_setup == VG_SDP_SETUP_ACTIVE ? VG_DTLS_ROLE_CLIENT
                                                          : VG_DTLS_ROLE_SERVER,
                  &info.remote_fingerprint);
  if (r < 0) {
    *why = "cannot set up ICE/DTLS for this offer";
    return r;
  }
  rtc->negotiated = true;
  return len;
}

int vg_rtc_create_offer(vg_rtc_t *rtc, char *out, size_t cap) {
  if (rtc->role != VG_RTC_ROLE_CLIENT || rtc->negotiated) return VG_ESTATE;
  vg_sdp_offer_params_t op = {0};
  op.ice_ufrag = rtc->local_ufrag;
  op.ice_pwd = rtc->local_pwd;
  op.fingerprint_alg = "sha-256";
  op.fingerprint = vg_dtls_cert_fingerprint(rtc->cert);
  op.ssrc = rtc->ssrc;
  op.cname = rtc->cname;
  op.session_id = rtc->session_id;
  return vg_sdp_build_offer(&op, out, cap);
}

int vg_rtc_apply_answer(vg_rtc_t *rtc, vg_time_t now, const char *answer, size_t len,
                        const char **why) {
  const char *dummy;
  if (!why) why = &dummy;
  *why = NULL;
  if (rtc->role != VG_RTC_ROLE_CLIENT || rtc->negotiated) {
    *why = "not a client waiting for an answer";
    return VG_ESTATE;
  }
  vg_sdp_t *sdp = malloc(sizeof *sdp);
  if (!sdp) return VG_ENOMEM;
  int r = vg_sdp_parse(sdp, answer, len, why);
  const vg_sdp_media_t *m = NULL;
  for (size_t i = 0; r == VG_OK && i < sdp->n_media && !m; i++)
    if (sdp->media[i].kind == VG_SDP_KIND_AUDIO && sdp->media[i].port != 0) m = &sdp->media[i];
  const vg_sdp_codec_t *opus = m ? vg_sdp_find_opus(m) : NULL;
  if (r == VG_OK && (!m || !opus)) {
    *why = "the answer accepts no Opus audio";
    r = VG_EUNSUPPORTED;
  }
  if (r == VG_OK && (!m->ice_ufrag[0] || !m->ice_pwd[0] || !m->fingerprint.alg[0])) {
    *why = "the answer lacks ICE credentials or a fingerprint";
    r = VG_EINVAL;
  }
  if (r == VG_OK) {
    rtc->opus_pt = opus->pt;
    r = make_ice(rtc, now, VG_ICE_ROLE_CONTROLLING, m->ice_ufrag, m->ice_pwd);
  }
  for (size_t i = 0; r == VG_OK && i < m->n_candidates; i++) {
    if (m->candidates[i].is_hostname) continue;
    int cr = vg_ice_add_remote_candidate(rtc->ice, &m->candidates[i].addr, m->candidates[i].priority);
    if (cr < 0 && cr != VG_EEXIST && cr != VG_ELIMIT) r = cr;
  }
  /* RFC 5763 §5: we offered actpass; an answer of passive makes us the
   * DTLS client, active makes us the server. */
  if (r == VG_OK)
    r = make_dtls(rtc, m->setup == VG_SDP_SETUP_ACTIVE ? VG_DTLS_ROLE_SERVER : VG_DTLS_ROLE_CLIENT,
                  &m->fingerprint);
  if (r == VG_OK) {
    rtc->negotiated = true;
  } else {
    snprintf(rtc->why, sizeof rtc->why, "%s", *why ? *why : vg_strerror(r));
    *why = rtc->why;
  }
  free(sdp);
  return r;
}

/* ---- the five verbs -------------------------------------------------------- */

static bool is_stun_indication(const uint8_t *buf, size_t len) {
  /* RFC 8489 §5: class bits C1 (0x0100) and C0 (0x0010) of the type. */
  return len >= 2 && (vg_load_u16(buf) & 0x0110) == 0x0010;
}

int vg_rtc_handle_packet(vg_rtc_t *rtc, vg_time_t now, const vg_addr_t *from, const uint8_t *buf,
                         size_t len) {
  if (rtc->closed) return VG_ECLOSED;
  if (!rtc->negotiated) return VG_ESTATE;
  int r;
  vg_demux_kind_t kind = vg_demux_classify(buf, len);
  switch (kind) {
  case VG_DEMUX_STUN:
    r = vg_ice_handle_packet(rtc->ice, now, from, buf, len);
    /* An authenticated request (or, for the client, a verified response)
     * makes its source a path DTLS and media may use. */
    if (r == VG_OK && !is_stun_indication(buf, len)) path_add(rtc, from);
    drain_ice(rtc, now);
    return r;
  case VG_DEMUX_DTLS:
    if (!path_valid(rtc, from)) return VG_EAUTH;
    if (!rtc->selected.family) rtc->dtls_from = *from;
    start_dtls(rtc, now);
    r = vg_dtls_handle_packet(rtc->dtls, now, buf, len);
    drain_dtls(rtc, now);
    return r;
  case VG_DEMUX_RTP:
  case VG_DEMUX_RTCP:
    if (!path_valid(rtc, from)) return VG_EAUTH;
    return handle_srtp(rtc, now, buf, len, kind == VG_DEMUX_RTCP);
  default:
    rtc->stats.packets_dropped++;
    return VG_EPROTO;
  }
}

int vg_rtc_handle_timeout(vg_rtc_t *rtc, vg_time_t now) {
  if (rtc->closed) return VG_ECLOSED;
  if (!rtc->negotiated) return VG_OK;
  if (vg_ice_poll_timeout(rtc->ice) <= now) {
    (void)vg_ice_handle_timeout(rtc->ice, now);
    drain_ice(rtc, now);
  }
  if (!rtc->closed && vg_dtls_poll_timeout(rtc->dtls) <= now) {
    (void)vg_dtls_handle_timeout(rtc->dtls, now);
    drain_dtls(rtc, now);
  }
  if (!rtc->closed && rtc->srtp && rtc->next_rtcp <= now) {
    send_rtcp(rtc, now, false);
    schedule_rtcp(rtc, now);
  }
  return rtc->closed ? VG_ECLOSED : VG_OK;
}

int vg_rtc_poll_transmit(vg_rtc_t *rtc, uint8_t *out, size_t cap, vg_addr_t *to) {
  if (rtc->tx_count == 0) return 0;
  tx_slot_t *slot = &rtc->tx[rtc->tx_head];
  if (slot->len > cap) return VG_ENOSPC;
  memcpy(out, slot->data, slot->len);
  *to = slot->to;
  rtc->tx_head = (rtc->tx_head + 1) % TX_SLOTS;
  if (--rtc->tx_count == 0) rtc->tx_used = 0; /* drained: start over */
  return slot->len;
}

bool vg_rtc_poll_event(vg_rtc_t *rtc, vg_rtc_event_t *ev) {
  if (rtc->ev_count > 0) {
    *ev = rtc->ev[rtc->ev_head];
    rtc->ev_head = (rtc->ev_head + 1) % EV_SLOTS;
    rtc->ev_count--;
    return true;
  }
  if (rtc->audio_pending) {
    *ev = rtc->audio_ev;
    rtc->audio_pending = false;
    /* The caller holds this payload until its next poll; the one it held
     * before is released (into rx_pending, free until the next AUDIO). */
    uint8_t held = rtc->rx_delivered;
    rtc->rx_delivered = rtc->rx_pending;
    rtc->rx_pending = held;
    return true;
  }
  if (rtc->closed_event_pending) {
    *ev = rtc->closed_ev;
    rtc->closed_event_pending = false;
    return true;
  }
  return false;
}

vg_time_t vg_rtc_poll_timeout(const vg_rtc_t *rtc) {
  if (rtc->closed || !rtc->negotiated) return VG_TIME_NEVER;
  vg_time_t t = vg_time_min(vg_ice_poll_timeout(rtc->ice), vg_dtls_poll_timeout(rtc->dtls));
  if (rtc->srtp) t = vg_time_min(t, rtc->next_rtcp);
  return t;
}

/* ---- media out ------------------------------------------------------------- */

int vg_rtc_send_audio(vg_rtc_t *rtc, vg_time_t now, uint32_t rtp_ts, bool marker,
                      const uint8_t *payload, size_t len) {
  if (rtc->closed) return VG_ECLOSED;
  const vg_addr_t *dest = media_dest(rtc);
  if (!rtc->srtp || !dest) return VG_ESTATE;
  vg_rtp_header_t h = {0};
  h.marker = marker;
  h.payload_type = rtc->opus_pt;
  h.seq = rtc->seq;
  h.timestamp = rtp_ts;
  h.ssrc = rtc->ssrc;
  int n = vg_rtp_write(&h, payload, len, rtc->scratch, sizeof rtc->scratch);
  if (n < 0) return n;
  tx_slot_t *slot = tx_reserve(rtc);
  if (!slot) return VG_ELIMIT;
  size_t out_len;
  int r = vg_srtp_protect_rtp(rtc->srtp, rtc->scratch, (size_t)n, slot->data, SLOT_SIZE,
                              &out_len);
  if (r < 0) return r;
  tx_commit(rtc, slot, dest, out_len);
  rtc->seq++;
  rtc->last_ts = rtp_ts;
  rtc->last_sent_at = now;
  rtc->sent_packets++;
  rtc->sent_octets += (uint32_t)len;
  rtc->stats.packets_out++;
  rtc->stats.bytes_out += out_len;
  return VG_OK;
}

int vg_rtc_close(vg_rtc_t *rtc, vg_time_t now) {
  if (rtc->closed) return VG_OK;
  if (rtc->srtp) send_rtcp(rtc, now, true); /* RFC 3550 §6.6: BYE as we leave */
  if (rtc->dtls && vg_dtls_state(rtc->dtls) == VG_DTLS_STATE_CONNECTED) {
    (void)vg_dtls_close(rtc->dtls);
    drain_dtls(rtc, now);
  }
  close_with(rtc, VG_RTC_CLOSE_LOCAL, "closed locally");
  return VG_OK;
}

void vg_rtc_get_stats(const vg_rtc_t *rtc, vg_rtc_stats_t *out) {
  *out = rtc->stats;
  if (rtc->recv.started) {
    out->packets_lost = vg_rtp_recv_stats_lost(&rtc->recv);
    out->jitter = rtc->recv.jitter_q4 >> 4;
  }
}
