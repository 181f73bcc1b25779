/* Two peers in simulated time: a controlling client vg_rtc and a server
 * vg_rtc (reached through the peer table, as the IO layer will reach it)
 * joined by an in-memory network that can lose, duplicate, delay and
 * reorder datagrams. The client offers, the server answers, ICE, DTLS and
 * SRTP come up, the client sends numbered Opus-sized frames every 20 ms and
 * the server echoes each one back, as echo mode will. No sleeps, no sockets:
 * time jumps to the next deadline or delivery. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "core/peer_table.h"
#include "core/rtc.h"
#include "core/srtp.h"
#include "core/stun.h"
#include "vgtest.h"

#define MAX_INFLIGHT 1024
#define FRAME_MS 20
#define FRAME_TS 960 /* 20 ms at 48 kHz */
#define PAYLOAD_LEN 80
#define MAX_FRAMES 4096

typedef struct {
  vg_time_t at;
  uint64_t order; /* send order: ties in `at` arrive in the order sent */
  vg_addr_t from, to;
  size_t len;
  uint8_t data[1500];
} packet_t;

typedef struct {
  /* the network */
  packet_t *inflight; /* MAX_INFLIGHT */
  size_t n_inflight;
  uint64_t sent_order;
  uint64_t rng;
  unsigned loss_pct, dup_pct, reorder_pct;
  vg_time_t latency;
  bool client_unplugged; /* the client vanished: nothing to or from it */
  size_t delivered, lost;

  vg_time_t now;
  vg_dtls_cert_t *cert_c, *cert_s;
  vg_peer_table_t *table;
  vg_rtc_t *client, *server;
  vg_addr_t client_addr, server_addr;

  /* what happened */
  vg_time_t client_ice_at, client_dtls_at, server_ice_at, server_dtls_at;
  vg_time_t server_closed_at, client_closed_at;
  vg_rtc_close_reason_t server_close_reason, client_close_reason;
  vg_time_t last_server_check; /* last authenticated STUN request at the server */
  int srtp_profile;
  vg_time_t client_rtt, server_rtt;

  /* the application: numbered frames out, echoes back */
  bool sending;
  uint32_t frames_sent;
  vg_time_t next_frame;
  uint8_t echoed[MAX_FRAMES];
  uint32_t echoes, echoes_corrupt, echoes_duplicate, echo_send_failures;
} sim_t;

static uint32_t next_rand(sim_t *s) {
  /* xorshift64*: a seeded, deterministic network */
  s->rng ^= s->rng >> 12;
  s->rng ^= s->rng << 25;
  s->rng ^= s->rng >> 27;
  return (uint32_t)((s->rng * 2685821657736338717ull) >> 32);
}

static void frame_payload(uint32_t index, uint8_t *p) {
  /* A frame names its index and carries bytes derived from it, so an echo
   * that comes back altered in any byte is caught. */
  p[0] = (uint8_t)(index >> 24);
  p[1] = (uint8_t)(index >> 16);
  p[2] = (uint8_t)(index >> 8);
  p[3] = (uint8_t)index;
  uint32_t x = index * 2654435761u + 12345u;
  for (size_t i = 4; i < PAYLOAD_LEN; i++) {
    x = x * 1103515245u + 12345u;
    p[i] = (uint8_t)(x >> 16);
  }
}

static void send_to_net(sim_t *s, const vg_addr_t *from, const vg_addr_t *to, const uint8_t *buf,
                        size_t len) {
  if (s->client_unplugged && (vg_addr_equal(from, &s->client_addr) ||
                              vg_addr_equal(to, &s->client_addr)))
    return;
  if (next_rand(s) % 100 < s->loss_pct) {
    s->lost++;
    return;
  }
  int copies = next_rand(s) % 100 < s->dup_pct ? 2 : 1;
  for (int c = 0; c < copies && s->n_inflight < MAX_INFLIGHT; c++) {
    packet_t *p = &s->inflight[s->n_inflight++];
    p->at = s->now + s->latency;
    p->order = s->sent_order++;
    if (next_rand(s) % 100 < s->reorder_pct) p->at += VG_MSEC(1 + next_rand(s) % 30);
    p->from = *from;
    p->to = *to;
    p->len = len;
    memcpy(p->data, buf, len);
  }
}

static void drain(sim_t *s, vg_rtc_t *rtc, bool is_client) {
  uint8_t buf[1500];
  vg_addr_t to;
  int n;
  const vg_addr_t *self = is_client ? &s->client_addr : &s->server_addr;
  while ((n = vg_rtc_poll_transmit(rtc, buf, sizeof buf, &to)) > 0) send_to_net(s, self, &to, buf, (size_t)n);
  vg_rtc_event_t ev;
  while (vg_rtc_poll_event(rtc, &ev)) {
    switch (ev.type) {
    case VG_RTC_EV_ICE_CONNECTED:
      if (is_client && !s->client_ice_at) s->client_ice_at = s->now;
      if (!is_client && !s->server_ice_at) s->server_ice_at = s->now;
      break;
    case VG_RTC_EV_DTLS_CONNECTED:
      if (is_client) {
        s->client_dtls_at = s->now;
        s->srtp_profile = ev.u.dtls.srtp_profile;
        s->sending = true;
        s->next_frame = s->now;
      } else {
        s->server_dtls_at = s->now;
      }
      break;
    case VG_RTC_EV_AUDIO:
      if (!is_client) {
        /* echo: the same frame back on the server's own SSRC */
        if (vg_rtc_send_audio(rtc, s->now, ev.u.audio.timestamp, ev.u.audio.marker,
                              ev.u.audio.payload, ev.u.audio.payload_len) < 0)
          s->echo_send_failures++;
      } else {
        uint8_t want[PAYLOAD_LEN];
        const uint8_t *p = ev.u.audio.payload;
        uint32_t idx = ev.u.audio.payload_len >= 4
                           ? ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]
                           : 0;
        frame_payload(idx, want);
        if (ev.u.audio.payload_len != PAYLOAD_LEN || idx >= MAX_FRAMES ||
            memcmp(want, p, PAYLOAD_LEN) != 0 || ev.u.audio.timestamp != idx * FRAME_TS) {
          s->echoes_corrupt++;
        } else if (s->echoed[idx]) {
          s->echoes_duplicate++;
        } else {
          s->echoed[idx] = 1;
          s->echoes++;
        }
      }
      break;
    case VG_RTC_EV_RTT:
      if (is_client) s->client_rtt = ev.u.rtt.rtt;
      else s->server_rtt = ev.u.rtt.rtt;
      break;
    case VG_RTC_EV_CLOSED:
      if (is_client) {
        s->client_closed_at = s->now;
        s->client_close_reason = ev.u.closed.reason;
      } else {
        s->server_closed_at = s->now;
        s->server_close_reason = ev.u.closed.reason;
      }
      break;
    }
  }
}

static void deliver(sim_t *s, const packet_t *p) {
  s->delivered++;
  if (vg_addr_equal(&p->to, &s->client_addr)) {
    (void)vg_rtc_handle_packet(s->client, s->now, &p->from, p->data, p->len);
    drain(s, s->client, true);
    return;
  }
  /* The server side, as the IO layer does it: route, handle, and bind the
   * source to the peer once it has authenticated a STUN request. */
  vg_rtc_t *peer = vg_peer_table_route(s->table, &p->from, p->data, p->len);
  if (!peer) return;
  int r = vg_rtc_handle_packet(peer, s->now, &p->from, p->data, p->len);
  if (r == VG_OK && p->len > 0 && p->data[0] < 4) s->last_server_check = s->now; /* a check */
  if (r == VG_OK && vg_rtc_has_path(peer, &p->from))
    CHECK(vg_peer_table_bind(s->table, &p->from, peer) == VG_OK);
  drain(s, peer, false);
}

static vg_time_t next_event_time(const sim_t *s) {
  vg_time_t t = VG_TIME_NEVER;
  for (size_t i = 0; i < s->n_inflight; i++) t = vg_time_min(t, s->inflight[i].at);
  if (!s->client_unplugged) t = vg_time_min(t, vg_rtc_poll_timeout(s->client));
  if (s->server) t = vg_time_min(t, vg_rtc_poll_timeout(s->server));
  if (s->sending && !s->client_unplugged) t = vg_time_min(t, s->next_frame);
  return t;
}

/* Advances simulated time to `until`, doing everything due on the way. */
static void run_until(sim_t *s, vg_time_t until) {
  for (;;) {
    vg_time_t t = next_event_time(s);
    if (t > until) break;
    if (t > s->now) s->now = t;
    /* deliveries due now, in arrival order */
    for (;;) {
      size_t best = SIZE_MAX;
      for (size_t i = 0; i < s->n_inflight; i++)
        if (s->inflight[i].at <= s->now &&
            (best == SIZE_MAX || s->inflight[i].at < s->inflight[best].at ||
             (s->inflight[i].at == s->inflight[best].at && s->inflight[i].order < s->inflight[best].order)))
          best = i;
      if (best == SIZE_MAX) break;
      packet_t p = s->inflight[best];
      s->inflight[best] = s->inflight[--s->n_inflight];
      deliver(s, &p);
    }
    if (!s->client_unplugged && vg_rtc_poll_timeout(s->client) <= s->now) {
      (void)vg_rtc_handle_timeout(s->client, s->now);
      drain(s, s->client, true);
    }
    if (s->server && vg_rtc_poll_timeout(s->server) <= s->now) {
      (void)vg_rtc_handle_timeout(s->server, s->now);
      drain(s, s->server, false);
    }
    if (s->sending && !s->client_unplugged && s->next_frame <= s->now &&
        s->frames_sent < MAX_FRAMES && !vg_rtc_is_closed(s->client)) {
      uint8_t payload[PAYLOAD_LEN];
      frame_payload(s->frames_sent, payload);
      if (vg_rtc_send_audio(s->client, s->now, s->frames_sent * FRAME_TS, s->frames_sent == 0,
                            payload, sizeof payload) == VG_OK)
        s->frames_sent++;
      s->next_frame += VG_MSEC(FRAME_MS);
      drain(s, s->client, true);
    }
  }
  if (s->now < until) s->now = until;
}

static sim_t *sim_new(uint64_t seed, unsigned loss, unsigned dup, unsigned reorder) {
  sim_t *s = calloc(1, sizeof *s);
  s->inflight = calloc(MAX_INFLIGHT, sizeof *s->inflight);
  s->rng = seed;
  s->loss_pct = loss;
  s->dup_pct = dup;
  s->reorder_pct = reorder;
  s->latency = VG_MSEC(10);
  vg_log_set_level(VG_LOG_WARN);
  s->now = VG_SEC(1000);
  if (vg_addr_parse(&s->client_addr, "198.51.100.7", 40000, VG_TRANSPORT_UDP) < 0 ||
      vg_addr_parse(&s->server_addr, "192.0.2.1", 8080, VG_TRANSPORT_UDP) < 0 ||
      vg_srtp_global_init() < 0 || vg_dtls_cert_create(&s->cert_c) < 0 ||
      vg_dtls_cert_create(&s->cert_s) < 0 || vg_peer_table_create(&s->table) < 0)
    abort();
  return s;
}

static void sim_free(sim_t *s) {
  vg_rtc_destroy(s->client);
  vg_rtc_destroy(s->server);
  vg_peer_table_destroy(s->table);
  vg_dtls_cert_destroy(s->cert_c);
  vg_dtls_cert_destroy(s->cert_s);
  free(s->inflight);
  free(s);
}

/* Offer from the client, answer from the server (one UDP candidate), as a
 * WHIP POST would carry them. Returns false on any failure. */
static bool sim_negotiate(sim_t *s) {
  vg_rtc_config_t cc = {.role = VG_RTC_ROLE_CLIENT, .cert = s->cert_c, .sid = "client"};
  vg_rtc_config_t sc = {.role = VG_RTC_ROLE_SERVER, .cert = s->cert_s, .sid = "server"};
  if (vg_rtc_create(&cc, &s->client) < 0 || vg_rtc_create(&sc, &s->server) < 0) return false;
  char offer[4096], answer[8192];
  int n = vg_rtc_create_offer(s->client, offer, sizeof offer);
  if (n <= 0) return false;
  vg_rtc_candidate_t cand = {.addr = s->server_addr};
  const char *why = NULL;
  int a = vg_rtc_accept_offer(s->server, s->now, offer, (size_t)n, &cand, 1, answer, sizeof answer, &why);
  if (a <= 0) {
    fprintf(stderr, "  accept_offer: %s\n", why ? why : vg_strerror(a));
    return false;
  }
  if (vg_peer_table_add(s->table, vg_rtc_local_ufrag(s->server), s->server) < 0) return false;
  if (vg_rtc_apply_answer(s->client, s->now, answer, (size_t)a, &why) < 0) {
    fprintf(stderr, "  apply_answer: %s\n", why ? why : "?");
    return false;
  }
  return true;
}

static void test_clean_network_connects_and_echoes(void) {
  sim_t *s = sim_new(1, 0, 0, 0);
  CHECK(sim_negotiate(s));
  vg_time_t t0 = s->now;
  run_until(s, t0 + VG_SEC(10));
  CHECK(s->client_ice_at && s->server_ice_at);
  CHECK(s->client_dtls_at && s->server_dtls_at);
  printf("  simulated, 10 ms one way: server ICE %lld ms, client ICE %lld ms, "
         "client DTLS %lld ms, server DTLS %lld ms\n",
         (long long)(s->server_ice_at - t0) / 1000, (long long)(s->client_ice_at - t0) / 1000,
         (long long)(s->client_dtls_at - t0) / 1000, (long long)(s->server_dtls_at - t0) / 1000);
  /* One network round trip is 20 ms: ICE in about one, DTLS in two more. */
  CHECK(s->client_dtls_at - t0 <= VG_MSEC(200));
  CHECK_EQ(s->srtp_profile, VG_SRTP_PROFILE_AEAD_AES_128_GCM);
  CHECK(s->frames_sent >= 450);
  /* every frame sent more than a round trip ago came back intact, once */
  CHECK(s->echoes >= s->frames_sent - 2);
  CHECK_EQ(s->echoes_corrupt, 0);
  CHECK_EQ(s->echoes_duplicate, 0);
  CHECK_EQ(s->echo_send_failures, 0);
  /* RTCP reports give both sides the 20 ms round-trip time */
  CHECK(s->client_rtt >= VG_MSEC(19) && s->client_rtt <= VG_MSEC(21));
  CHECK(s->server_rtt >= VG_MSEC(19) && s->server_rtt <= VG_MSEC(21));
  vg_rtc_stats_t st;
  vg_rtc_get_stats(s->server, &st);
  /* the last frame may still be on the wire */
  CHECK(st.packets_in <= s->frames_sent && st.packets_in + 1 >= s->frames_sent);
  CHECK_EQ(st.packets_out, st.packets_in);
  CHECK_EQ(st.packets_lost, 0);
  CHECK(st.first_audio_at > 0 && st.dtls_connected_at > 0 && st.ice_connected_at > 0);
  CHECK(!s->server_closed_at && !s->client_closed_at);
  sim_free(s);
}

static void test_survives_ten_percent_loss(void) {
  /* 10 % loss each way, 2 % duplication, 10 % reordering by up to 30 ms;
   * several seeds so the handshake meets losses in different places. */
  for (uint64_t seed = 11; seed <= 15; seed++) {
    sim_t *s = sim_new(seed, 10, 2, 10);
    CHECK(sim_negotiate(s));
    vg_time_t t0 = s->now;
    run_until(s, t0 + VG_SEC(30));
    CHECK(s->client_dtls_at && s->server_dtls_at);
    CHECK(s->lost > 0);
    printf("  seed %llu: %zu of %zu datagrams lost; DTLS connected at %lld ms; "
           "%u of %u frames echoed\n",
           (unsigned long long)seed, s->lost, s->lost + s->delivered,
           (long long)(s->client_dtls_at - t0) / 1000, s->echoes, s->frames_sent);
    /* Connected within a few retransmission timeouts. */
    CHECK(s->client_dtls_at - t0 < VG_SEC(8));
    /* 0.9 * 0.9 = 81 % of frames come back on average; every echo intact
     * and none delivered twice despite duplication (SRTP replay check). */
    CHECK(s->frames_sent > 1000);
    CHECK(s->echoes * 100 >= s->frames_sent * 70);
    CHECK_EQ(s->echoes_corrupt, 0);
    CHECK_EQ(s->echoes_duplicate, 0);
    /* consent checks get through the loss: nobody closed */
    CHECK(!s->server_closed_at && !s->client_closed_at);
    vg_rtc_stats_t st;
    vg_rtc_get_stats(s->server, &st);
    CHECK(st.packets_lost > 0);
    sim_free(s);
  }
}

static void test_consent_expiry_ends_silent_peer_at_30s(void) {
  sim_t *s = sim_new(3, 0, 0, 0);
  CHECK(sim_negotiate(s));
  vg_time_t t0 = s->now;
  run_until(s, t0 + VG_SEC(20));
  CHECK(s->server_dtls_at);
  CHECK(!s->server_closed_at);
  /* The browser vanishes (tab killed, network gone): nothing more arrives. */
  s->client_unplugged = true;
  /* what the client sent just before is still on the wire: a consent
   * check sent in the last 10 ms lands after the unplugging */
  run_until(s, s->now + 2 * s->latency);
  CHECK_EQ(s->n_inflight, 0);
  vg_time_t last = s->last_server_check;
  CHECK(last > t0 + VG_SEC(10)); /* consent checks kept coming until now */
  run_until(s, last + VG_SEC(30) - 1);
  CHECK(!s->server_closed_at); /* still inside the consent window */
  run_until(s, last + VG_SEC(40));
  CHECK(s->server_closed_at);
  CHECK_EQ(s->server_close_reason, VG_RTC_CLOSE_CONSENT);
  /* exactly 30 s after the last authenticated check */
  CHECK_EQ(s->server_closed_at - last, VG_SEC(30));
  CHECK(vg_rtc_is_closed(s->server));
  CHECK_EQ(vg_rtc_poll_timeout(s->server), VG_TIME_NEVER);
  sim_free(s);
}

static void test_client_close_ends_server_session(void) {
  sim_t *s = sim_new(4, 0, 0, 0);
  CHECK(sim_negotiate(s));
  run_until(s, s->now + VG_SEC(2));
  CHECK(s->server_dtls_at);
  s->sending = false;
  CHECK_EQ(vg_rtc_close(s->client, s->now), VG_OK);
  drain(s, s->client, true);
  CHECK(s->client_closed_at);
  CHECK_EQ(s->client_close_reason, VG_RTC_CLOSE_LOCAL);
  run_until(s, s->now + VG_MSEC(100));
  CHECK(s->server_closed_at);
  /* RTCP BYE is queued before close_notify, so it is what ends the session */
  CHECK_EQ(s->server_close_reason, VG_RTC_CLOSE_BYE);
  CHECK(s->server_closed_at - s->client_closed_at <= VG_MSEC(11));
  sim_free(s);
}

static void test_foreign_and_garbage_datagrams_do_not_disturb(void) {
  sim_t *s = sim_new(5, 0, 0, 0);
  CHECK(sim_negotiate(s));
  run_until(s, s->now + VG_SEC(1));
  CHECK(s->server_dtls_at);
  uint32_t before = s->echoes;
  /* From an address that never authenticated: routed nowhere. */
  vg_addr_t stranger;
  CHECK(vg_addr_parse(&stranger, "203.0.113.9", 5555, VG_TRANSPORT_UDP) == VG_OK);
  uint8_t junk[200];
  for (int i = 0; i < 200; i++) {
    for (size_t j = 0; j < sizeof junk; j++) junk[j] = (uint8_t)next_rand(s);
    junk[0] = (uint8_t)(i % 4 == 0 ? 0x00 : i % 4 == 1 ? 0x16 : i % 4 == 2 ? 0x80 : 0xc0);
    CHECK(vg_peer_table_route(s->table, &stranger, junk, sizeof junk) == NULL ||
          junk[0] == 0x00);
    /* From the peer's own validated address: rejected by the peer itself
     * (STUN: malformed; SRTP/SRTCP: authentication). OpenSSL discards an
     * undecodable DTLS record silently, as RFC 6347 §4.1.2.7 asks. */
    int r = vg_rtc_handle_packet(s->server, s->now, &s->client_addr, junk, sizeof junk);
    CHECK(r < 0 || junk[0] == 0x16);
    drain(s, s->server, false);
  }
  /* A STUN request naming the session's ufrag but signed without its
   * password reaches the peer, fails authentication, and binds nothing. */
  char user[128];
  snprintf(user, sizeof user, "%s:evil", vg_rtc_local_ufrag(s->server));
  uint8_t req[256];
  uint8_t txid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  vg_stun_builder_t b;
  vg_stun_build_begin(&b, req, sizeof req, VG_STUN_BINDING_REQUEST, txid);
  vg_stun_add_username(&b, user, strlen(user));
  vg_stun_add_use_candidate(&b);
  vg_stun_add_message_integrity(&b, (const uint8_t *)"not-the-password-at-all", 23);
  vg_stun_add_fingerprint(&b);
  int req_len = vg_stun_build_end(&b);
  CHECK(req_len > 0);
  CHECK(vg_peer_table_route(s->table, &stranger, req, (size_t)req_len) == s->server);
  CHECK_EQ(vg_rtc_handle_packet(s->server, s->now, &stranger, req, (size_t)req_len), VG_EAUTH);
  drain(s, s->server, false);
  CHECK(vg_peer_table_find_addr(s->table, &stranger) == NULL);
  CHECK(!vg_rtc_has_path(s->server, &stranger));
  CHECK(vg_rtc_has_path(s->server, &s->client_addr));
  CHECK(!s->server_closed_at);
  run_until(s, s->now + VG_SEC(2));
  CHECK(s->echoes >= before + 95);
  CHECK_EQ(s->echoes_corrupt, 0);
  CHECK(!s->server_closed_at);
  sim_free(s);
}

/* The server's next queued datagram of one kind (RTP, or RTCP when `rtcp`),
 * taken off its queue instead of the network: the test decides when the
 * client sees it. Runs the server's timers (simulated time moves on) until
 * one comes; others are dropped. Returns its length, 0 when none came. */
static size_t server_take(sim_t *s, bool rtcp, uint8_t *out, size_t cap) {
  for (int i = 0; i < 100; i++) {
    vg_addr_t to;
    int n;
    while ((n = vg_rtc_poll_transmit(s->server, out, cap, &to)) > 0) {
      /* RFC 5761 §4: with rtcp-mux, RTCP packet types are 200..204 in the
       * second byte, where RTP has its marker bit and payload type. */
      bool is_rtp_or_rtcp = out[0] >= 128 && out[0] <= 191;
      bool is_rtcp = is_rtp_or_rtcp && out[1] >= 200 && out[1] <= 204;
      if (is_rtp_or_rtcp && is_rtcp == rtcp) return (size_t)n;
    }
    vg_time_t due = vg_rtc_poll_timeout(s->server);
    if (due == VG_TIME_NEVER) return 0;
    if (due > s->now) s->now = due;
    (void)vg_rtc_handle_timeout(s->server, s->now);
  }
  return 0;
}

/* The client's one AUDIO event (draining everything else); false if none. */
static bool client_audio(sim_t *s, vg_rtc_event_t *audio) {
  vg_rtc_event_t ev;
  bool got = false;
  while (vg_rtc_poll_event(s->client, &ev)) {
    if (ev.type == VG_RTC_EV_AUDIO && !got) {
      *audio = ev;
      got = true;
    }
  }
  return got;
}

static bool audio_is_frame(const vg_rtc_event_t *ev, uint32_t index) {
  uint8_t want[PAYLOAD_LEN];
  frame_payload(index, want);
  return ev->u.audio.payload_len == PAYLOAD_LEN && ev->u.audio.timestamp == index * FRAME_TS &&
         memcmp(ev->u.audio.payload, want, PAYLOAD_LEN) == 0;
}

/* A caller that drains its socket in a batch handles several datagrams
 * before it polls. A queued AUDIO event must still carry its own frame when
 * SRTCP, or an SRTP packet that fails authentication or replay, is handled
 * after it; and a polled event's payload must survive input handled before
 * the next poll. (Unprotect works in place: one shared buffer would hand the
 * caller the RTCP report's bytes as audio.) */
static void test_audio_payload_survives_input_before_poll(void) {
  sim_t *s = sim_new(6, 0, 0, 0);
  CHECK(sim_negotiate(s));
  run_until(s, s->now + VG_SEC(2));
  CHECK(s->client_dtls_at && s->server_dtls_at);
  s->sending = false;
  run_until(s, s->now + VG_MSEC(100)); /* the wire is quiet, queues drained */
  CHECK_EQ(s->n_inflight, 0);

  /* 1. RTP, then the server's SRTCP report, then poll. */
  uint8_t p[PAYLOAD_LEN], rtp[1500], rtcp[1500];
  frame_payload(1000, p);
  CHECK_EQ(vg_rtc_send_audio(s->server, s->now, 1000 * FRAME_TS, false, p, sizeof p), VG_OK);
  size_t rtp_len = server_take(s, false, rtp, sizeof rtp);
  size_t rtcp_len = server_take(s, true, rtcp, sizeof rtcp);
  CHECK(rtp_len > 0 && rtcp_len > 0);
  CHECK_EQ(vg_rtc_handle_packet(s->client, s->now, &s->server_addr, rtp, rtp_len), VG_OK);
  CHECK_EQ(vg_rtc_handle_packet(s->client, s->now, &s->server_addr, rtcp, rtcp_len), VG_OK);
  vg_rtc_event_t ev;
  CHECK(client_audio(s, &ev));
  CHECK(audio_is_frame(&ev, 1000));

  /* 2. The polled payload outlives input handled before the next poll:
   *    another frame (queued), its tampered and replayed copies (dropped)
   *    and SRTCP. Then the queued frame is intact too. */
  frame_payload(1001, p);
  CHECK_EQ(vg_rtc_send_audio(s->server, s->now, 1001 * FRAME_TS, false, p, sizeof p), VG_OK);
  rtp_len = server_take(s, false, rtp, sizeof rtp);
  rtcp_len = server_take(s, true, rtcp, sizeof rtcp);
  CHECK(rtp_len > 0 && rtcp_len > 0);
  CHECK_EQ(vg_rtc_handle_packet(s->client, s->now, &s->server_addr, rtp, rtp_len), VG_OK);
  CHECK(vg_rtc_handle_packet(s->client, s->now, &s->server_addr, rtp, rtp_len) < 0); /* replay */
  rtp[rtp_len - 1] ^= 0x01; /* RFC 3711 §3.3: the tag no longer authenticates */
  CHECK(vg_rtc_handle_packet(s->client, s->now, &s->server_addr, rtp, rtp_len) < 0);
  CHECK_EQ(vg_rtc_handle_packet(s->client, s->now, &s->server_addr, rtcp, rtcp_len), VG_OK);
  CHECK(audio_is_frame(&ev, 1000));
  vg_rtc_event_t ev2;
  CHECK(client_audio(s, &ev2));
  CHECK(audio_is_frame(&ev2, 1001));
  CHECK(!s->client_closed_at && !vg_rtc_is_closed(s->client));
  sim_free(s);
}

static void test_bad_offers_are_rejected_with_reasons(void) {
  vg_dtls_cert_t *cert;
  CHECK(vg_dtls_cert_create(&cert) == VG_OK);
  vg_rtc_config_t sc = {.role = VG_RTC_ROLE_SERVER, .cert = cert};
  vg_rtc_t *rtc;
  CHECK(vg_rtc_create(&sc, &rtc) == VG_OK);
  vg_rtc_candidate_t cand;
  CHECK(vg_addr_parse(&cand.addr, "192.0.2.1", 8080, VG_TRANSPORT_UDP) == VG_OK);
  char answer[8192];
  const char *why = NULL;
  const char *garbage = "hello world\r\n";
  CHECK_EQ(vg_rtc_accept_offer(rtc, 0, garbage, strlen(garbage), &cand, 1, answer, sizeof answer, &why),
           VG_EINVAL);
  CHECK(why && strlen(why) > 5);
  const char *no_opus =
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
      "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
      "a=fingerprint:sha-256 "
      "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89\r\n"
      "a=setup:actpass\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtcp-mux\r\n"
      "a=rtpmap:0 PCMU/8000\r\n";
  why = NULL;
  CHECK_EQ(vg_rtc_accept_offer(rtc, 0, no_opus, strlen(no_opus), &cand, 1, answer, sizeof answer, &why),
           VG_EUNSUPPORTED);
  CHECK(why && strstr(why, "Opus"));
  /* A failed offer leaves the peer unnegotiated and inert. */
  CHECK_EQ(vg_rtc_poll_timeout(rtc), VG_TIME_NEVER);
  uint8_t b[4] = {0, 1, 0, 0};
  CHECK_EQ(vg_rtc_handle_packet(rtc, 0, &cand.addr, b, sizeof b), VG_ESTATE);
  vg_rtc_destroy(rtc);
  vg_dtls_cert_destroy(cert);
}

/* The transmit queue packs datagrams by their length and starts over when
 * drained: with full-size (1200-byte) frames queued without a drain, six
 * fit and the seventh is refused (VG_ELIMIT, counted); every queued one
 * reaches the client intact and in order; after the drain there is room
 * again, for small frames up to the slot count (16). */
static void test_transmit_queue_packs_and_starts_over(void) {
  sim_t *s = sim_new(3, 0, 0, 0);
  CHECK(sim_negotiate(s));
  run_until(s, s->now + VG_SEC(1));
  CHECK(s->client_dtls_at && s->server_dtls_at);
  s->sending = false;
  run_until(s, s->now + VG_MSEC(200)); /* nothing left in flight */
  for (int round = 0; round < 2; round++) {
    size_t len = round == 0 ? 1200 : 40;
    int want = round == 0 ? 6 : 16;
    uint8_t frame[1200];
    int queued = 0, r;
    for (;;) {
      memset(frame, 0x30 + queued, sizeof frame);
      r = vg_rtc_send_audio(s->server, s->now, (uint32_t)queued * FRAME_TS, false, frame, len);
      if (r < 0) break;
      queued++;
    }
    CHECK_EQ(r, VG_ELIMIT);
    CHECK_EQ(queued, want);
    uint8_t buf[1500];
    vg_addr_t to;
    int n, got = 0;
    while ((n = vg_rtc_poll_transmit(s->server, buf, sizeof buf, &to)) > 0) {
      CHECK(vg_addr_equal(&to, &s->client_addr));
      CHECK_EQ(vg_rtc_handle_packet(s->client, s->now, &s->server_addr, buf, (size_t)n), VG_OK);
      vg_rtc_event_t ev;
      while (vg_rtc_poll_event(s->client, &ev)) {
        if (ev.type != VG_RTC_EV_AUDIO) continue;
        CHECK_EQ(ev.u.audio.payload_len, len);
        CHECK_EQ(ev.u.audio.timestamp, (uint32_t)got * FRAME_TS);
        memset(frame, 0x30 + got, sizeof frame);
        CHECK_MEM(ev.u.audio.payload, frame, len);
        got++;
      }
    }
    CHECK_EQ(got, queued);
  }
  sim_free(s);
}

VGT_MAIN(VGT_CASE(test_transmit_queue_packs_and_starts_over), VGT_CASE(test_clean_network_connects_and_echoes), VGT_CASE(test_survives_ten_percent_loss),
         VGT_CASE(test_consent_expiry_ends_silent_peer_at_30s),
         VGT_CASE(test_client_close_ends_server_session),
         VGT_CASE(test_foreign_and_garbage_datagrams_do_not_disturb),
         VGT_CASE(test_audio_payload_survives_input_before_poll),
         VGT_CASE(test_bad_offers_are_rejected_with_reasons))
