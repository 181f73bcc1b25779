#include "app/server_internal.h"

#include <malloc.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "core/demux.h"
#include "core/srtp.h"
#include "io/sockaddr.h"

/* ---- time and ids ------------------------------------------------------- */

vg_time_t vg_server_now(void) { return (vg_time_t)(uv_hrtime() / 1000); }

static int new_session_id(char *out) {
  uint8_t b[VG_SESSION_ID_LEN / 2];
  if (RAND_bytes(b, sizeof b) != 1) return VG_ECRYPTO;
  for (size_t i = 0; i < sizeof b; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
  return VG_OK;
}

/* ---- candidates --------------------------------------------------------- */

static bool cand_has(const vg_rtc_candidate_t *c, size_t n, const vg_addr_t *a) {
  for (size_t i = 0; i < n; i++)
    if (vg_addr_equal(&c[i].addr, a)) return true;
  return false;
}

static void cand_add(vg_rtc_candidate_t *c, size_t *n, size_t max, const vg_addr_t *a,
                     uint16_t port) {
  vg_addr_t x = *a;
  x.port = port;
  x.transport = VG_TRANSPORT_UDP;
  if (*n >= max || x.family == 0 || cand_has(c, *n, &x)) return;
  /* An unspecified address (0.0.0.0, ::) is never a usable candidate. */
  static const uint8_t zero[16];
  if (memcmp(x.ip, zero, x.family == 4 ? 4 : 16) == 0) return;
  c[(*n)++].addr = x;
}

/* RFC 6544 §4.5: each address is also a passive ICE-TCP candidate on the
 * same port (the TCP listener sniffs framed STUN). They follow all the UDP
 * ones and have lower priority, so a browser uses UDP when it works and
 * TCP when UDP is blocked or only the one TCP port is forwarded. */
static size_t add_tcp_twins(vg_rtc_candidate_t *c, size_t n, size_t max) {
  size_t total = n;
  for (size_t i = 0; i < n && total < max; i++) {
    c[total] = c[i];
    c[total].addr.transport = VG_TRANSPORT_TCP;
    total++;
  }
  return total;
}

static bool is_link_local_v6(const vg_addr_t *a) {
  return a->family == 6 && a->ip[0] == 0xfe && (a->ip[1] & 0xc0) == 0x80;
}

/* The addresses to advertise for one offer, best first (RFC 8445 §5.1.2:
 * the answerer orders by preference):
 *   1. --public-ip addresses (NAT/Docker port mappings): the operator knows;
 *   2. the address the browser already reached us on (the HTTP request's
 *      local address): proven reachable from that browser;
 *   3. every other interface address, loopback only when it is all there is
 *      or the page itself came over loopback, never IPv6 link-local (a
 *      browser cannot use one without its zone).
 * With --bind, only the bound address (and public ones). */
static size_t build_candidates(const vg_server_t *srv, const vg_addr_t *http_local,
                               vg_rtc_candidate_t *out, size_t max) {
  size_t n = 0;
  uint16_t port = srv->cfg.port;
  size_t max_addrs = max / 2; /* each address as UDP and as TCP */
  for (size_t i = 0; i < srv->cfg.n_public_ips; i++)
    cand_add(out, &n, max_addrs, &srv->cfg.public_ips[i], port);
  if (srv->cfg.has_bind) {
    cand_add(out, &n, max_addrs, &srv->cfg.bind, port);
    return add_tcp_twins(out, n, max);
  }
  bool page_on_loopback = http_local && vg_addr_is_loopback(http_local);
  if (http_local && !is_link_local_v6(http_local)) cand_add(out, &n, max_addrs, http_local, port);
  uv_interface_address_t *ifs;
  int count;
  if (uv_interface_addresses(&ifs, &count) == 0) {
    for (int pass = 0; pass < 2; pass++) {
      for (int i = 0; i < count; i++) {
        vg_addr_t a;
        const struct sockaddr *sa = (const struct sockaddr *)&ifs[i].address;
        if (vg_sockaddr_to_addr(sa, VG_TRANSPORT_UDP, &a) < 0 || is_link_local_v6(&a)) continue;
        bool loop = vg_addr_is_loopback(&a);
        /* pass 0: real interfaces; pass 1: loopback, when allowed */
        if (pass == 0 && loop) continue;
        if (pass == 1 && (!loop || (!page_on_loopback && n > 0))) continue;
        cand_add(out, &n, max_addrs, &a, port);
      }
    }
    uv_free_interface_addresses(ifs, count);
  }
  return add_tcp_twins(out, n, max);
}

/* ---- sessions ------------------------------------------------------------- */

static void session_freed(uv_handle_t *h) { free(h->data); }

/* ---- event streams ------------------------------------------------------ */

static void sub_message(void *ud, vg_tcp_conn_t *c, const vg_ws_msg_t *m) {
  (void)ud, (void)c, (void)m; /* the stream is one-way; client messages are ignored */
}

/* An event's compact JSON text (malloc'd, NULL when out of memory); takes
 * the reference to ev. */
static char *event_text(json_t *ev) {
  if (!ev) return NULL;
  char *text = json_dumps(ev, JSON_COMPACT | JSON_REAL_PRECISION(6));
  json_decref(ev);
  return text;
}

static json_t *state_event(const vg_session_t *s, const char *why) {
  json_t *ev = json_pack("{s:s, s:s}", "type", "state", "state", s->state);
  if (ev && why) json_object_set_new(ev, "reason", json_string(why));
  return ev;
}

/* A stream that joins after the session moved on still learns where it
 * stands: the current state first, then the live events. */
static void sub_open(void *ud, vg_tcp_conn_t *c) {
  char *text = event_text(state_event(ud, NULL));
  if (text) (void)vg_tcp_ws_send_text(c, text, strlen(text));
  free(text);
}

static void sub_closed(void *ud, vg_tcp_conn_t *c) {
  vg_session_t *s = ud;
  for (size_t i = 0; i < VG_SESSION_MAX_SUBSCRIBERS; i++)
    if (s->subs[i] == c) s->subs[i] = NULL;
}

const vg_ws_handler_t vg_session_ws_handler_proto = {
    .on_open = sub_open, .on_message = sub_message, .on_closed = sub_closed};

vg_tcp_conn_t **vg_session_subscriber_slot(vg_session_t *s) {
  for (size_t i = 0; i < VG_SESSION_MAX_SUBSCRIBERS; i++)
    if (!s->subs[i]) return &s->subs[i];
  return NULL;
}

void vg_session_emit(vg_session_t *s, json_t *ev) {
  char *text = event_text(ev);
  if (!text) return;
  size_t len = strlen(text);
  for (size_t i = 0; i < VG_SESSION_MAX_SUBSCRIBERS; i++) {
    vg_tcp_conn_t *c = s->subs[i];
    /* A client that does not read is disconnected (and unsubscribed) by
     * the send; the session goes on. */
    if (c) (void)vg_tcp_ws_send_text(c, text, len);
  }
  free(text);
}

static void emit_state(vg_session_t *s, const char *why) { vg_session_emit(s, state_event(s, why)); }

void vg_server_session_destroy(vg_session_t *s) {
  vg_server_t *srv = s->srv;
  for (size_t i = 0; i < VG_SESSION_MAX_SUBSCRIBERS; i++) {
    vg_tcp_conn_t *c = s->subs[i];
    if (!c) continue;
    s->subs[i] = NULL;
    vg_tcp_ws_detach(c); /* the session is going: no callbacks into it */
    vg_tcp_ws_close(c, VG_WS_CLOSE_NORMAL, "the session ended");
  }
  vg_peer_table_remove(srv->peers, s);
  vg_map_del(&srv->by_id, s->id, VG_SESSION_ID_LEN);
  if (s->prev) s->prev->next = s->next;
  else srv->sessions = s->next;
  if (s->next) s->next->prev = s->prev;
  srv->n_sessions--;
  vg_rtc_destroy(s->rtc);
  s->rtc = NULL;
  vg_transcriber_destroy(s->tr);
  s->tr = NULL;
  if (s->wsa) vg_wsaudio_release(s->wsa);
  s->wsa = NULL;
  for (size_t i = 0; i < s->n_finals; i++) free(s->finals[i].text);
  free(s->finals);
  free(s->partial);
  uv_timer_stop(&s->timer);
  uv_close((uv_handle_t *)&s->timer, session_freed);
  /* The last session gone: give the heap's free pages back to the system,
   * so that a quiet server's footprint returns to where it started (glibc
   * otherwise keeps the high-water mark of a busy period). */
  if (srv->n_sessions == 0) malloc_trim(0);
}

static void transmit(vg_session_t *s, const vg_addr_t *to, const uint8_t *buf, size_t len) {
  if (to->transport == VG_TRANSPORT_UDP) (void)vg_udp_send(s->srv->udp, to, buf, len);
  else (void)vg_tcp_send_frame(s->srv->tcp, to, buf, len);
}

static void on_event(vg_session_t *s, vg_time_t now, const vg_rtc_event_t *ev) {
  char a[VG_ADDR_STRLEN];
  switch (ev->type) {
  case VG_RTC_EV_ICE_CONNECTED: {
    s->remote = ev->u.ice.addr;
    s->has_remote = true;
    /* DTLS may finish before the nomination arrives (the browser nominates
     * late on some paths): never step back, never repeat a state. */
    bool changed = !s->closed && strcmp(s->state, "new") == 0;
    if (changed) s->state = "ice-connected";
    vg_addr_format(&s->remote, a, sizeof a);
    VG_LOG(VG_LOG_INFO, s->id, "ICE connected to %s after %lld ms", a,
           (long long)(now - s->created_at) / 1000);
    if (changed) emit_state(s, NULL);
    break;
  }
  case VG_RTC_EV_DTLS_CONNECTED:
    s->state = "connected";
    VG_LOG(VG_LOG_INFO, s->id, "DTLS connected after %lld ms (%s)",
           (long long)(now - s->created_at) / 1000,
           vg_srtp_profile_name((vg_srtp_profile_t)ev->u.dtls.srtp_profile));
    emit_state(s, NULL);
    break;
  case VG_RTC_EV_AUDIO:
    if (s->tr) {
      vg_transcriber_push(s->tr, now, ev->u.audio.seq, ev->u.audio.timestamp, ev->u.audio.payload,
                          ev->u.audio.payload_len);
      break;
    }
    /* echo: the caller's own Opus frame, back on our SSRC, same timestamp */
    if (vg_rtc_send_audio(s->rtc, now, ev->u.audio.timestamp, ev->u.audio.marker,
                          ev->u.audio.payload, ev->u.audio.payload_len) < 0)
      VG_LOG(VG_LOG_DEBUG, s->id, "echo dropped a frame");
    break;
  case VG_RTC_EV_RTT:
    break;
  case VG_RTC_EV_CLOSED:
    s->closed = true;
    s->state = "closed";
    VG_LOG(VG_LOG_INFO, s->id, "session ended after %lld s: %s",
           (long long)(now - s->created_at) / 1000000, ev->u.closed.why);
    emit_state(s, s->end_reason ? s->end_reason : ev->u.closed.why);
    break;
  }
}

static void on_timer(uv_timer_t *t);

const char *vg_mode_name(vg_mode_t m) { return m == VG_MODE_TRANSCRIBE ? "transcribe" : "echo"; }

/* ---- transcription ------------------------------------------------------ */

json_t *vg_transcribe_event_json(const vg_transcribe_event_t *ev) {
  switch (ev->kind) {
  case VG_TRANSCRIBE_PARTIAL:
    return json_pack("{s:s, s:s, s:f}", "type", "partial", "text", ev->text, "start", ev->start);
  case VG_TRANSCRIBE_FINAL:
    return json_pack("{s:s, s:s, s:f, s:f, s:f}", "type", "final", "text", ev->text, "start",
                     ev->start, "end", ev->end, "latency_ms", ev->latency_ms);
  case VG_TRANSCRIBE_ERROR:
    return json_pack("{s:s, s:s}", "type", "error", "text", ev->text);
  case VG_TRANSCRIBE_LAG:
    return json_pack("{s:s, s:s, s:f}", "type", "lag", "text", ev->text, "dropped_s",
                     ev->dropped_s);
  case VG_TRANSCRIBE_DONE:
    return json_pack("{s:s}", "type", "done");
  default:
    return NULL;
  }
}

/* Results from the worker, on the loop thread: to the transcript, then to
 * the event stream (a WebSocket session's own socket carries them too).
 * Returns 1 when the session (and its transcriber) is gone. */
static int on_transcript(void *ud, const vg_transcribe_event_t *ev) {
  vg_session_t *s = ud;
  switch (ev->kind) {
  case VG_TRANSCRIBE_PARTIAL:
    free(s->partial);
    s->partial = strdup(ev->text);
    break;
  case VG_TRANSCRIBE_FINAL:
    if (s->n_finals == s->cap_finals) {
      size_t cap = s->cap_finals ? s->cap_finals * 2 : 16;
      vg_final_t *f = realloc(s->finals, cap * sizeof *f);
      if (!f) break;
      s->finals = f;
      s->cap_finals = cap;
    }
    s->finals[s->n_finals++] = (vg_final_t){strdup(ev->text), ev->start, ev->end, ev->latency_ms};
    free(s->partial);
    s->partial = NULL;
    VG_LOG(VG_LOG_INFO, s->id, "final (%.0f ms after speech): %s", ev->latency_ms, ev->text);
    break;
  case VG_TRANSCRIBE_ERROR:
    VG_LOG(VG_LOG_WARN, s->id, "speech engine: %s", ev->text);
    break;
  default:
    break;
  }
  if (s->wsa) return vg_wsaudio_on_transcript(s, ev);
  vg_session_emit(s, vg_transcribe_event_json(ev));
  if (ev->kind == VG_TRANSCRIBE_DONE && s->finishing) {
    vg_server_session_destroy(s);
    return 1;
  }
  return 0;
}

static void on_finish_timeout(uv_timer_t *t) {
  vg_session_t *s = t->data;
  VG_LOG(VG_LOG_WARN, s->id, "the speech engine did not finish in time; ending the session");
  vg_server_session_destroy(s);
}

void vg_server_session_finish(vg_session_t *s) {
  if (!s->tr) {
    vg_server_session_destroy(s);
    return;
  }
  if (s->finishing) return;
  s->finishing = true;
  vg_transcriber_finish(s->tr);
  uv_timer_start(&s->timer, on_finish_timeout, VG_SESSION_FINISH_TIMEOUT_MS, 0);
}

/* The media has ended. An echo session goes at once; a transcribe session
 * first lets the engine finish the last utterance (nothing heard is lost),
 * within VG_SESSION_FINISH_TIMEOUT_MS. */
static void session_closed(vg_session_t *s) {
  if (s->tr && !s->finishing) vg_peer_table_remove(s->srv->peers, s); /* no more media */
  vg_server_session_finish(s);
}

/* Moves everything the peer queued onto the wire and into the application,
 * then re-arms its timer (or ends it). */
static void session_service(vg_session_t *s, vg_time_t now) {
  /* A transmit can end this session from inside the loop below: an ICE-TCP
   * write that fails closes the connection, whose close callback ends the
   * session (vg_server_session_end -> here again). The nested call only
   * returns; this one drains what the close queued and destroys. */
  if (s->in_service) return;
  s->in_service = true;
  uint8_t buf[1500];
  for (;;) {
    bool any = false;
    vg_addr_t to;
    int n;
    while ((n = vg_rtc_poll_transmit(s->rtc, buf, sizeof buf, &to)) > 0) {
      transmit(s, &to, buf, (size_t)n);
      any = true;
    }
    vg_rtc_event_t ev;
    while (vg_rtc_poll_event(s->rtc, &ev)) {
      on_event(s, now, &ev);
      any = true;
    }
    if (!any) break;
  }
  s->in_service = false;
  if (s->closed) {
    session_closed(s);
    return;
  }
  /* Media packets rarely move the peer's next deadline (RTCP each second,
   * consent on STUN): re-arm only when it changed, not per packet. */
  vg_time_t due = vg_rtc_poll_timeout(s->rtc);
  if (due == s->timer_due) return;
  s->timer_due = due;
  if (due == VG_TIME_NEVER) {
    uv_timer_stop(&s->timer);
    return;
  }
  /* libuv timers count milliseconds: round up so we never wake early. */
  uint64_t ms = due <= now ? 0 : (uint64_t)((due - now + 999) / 1000);
  uv_timer_start(&s->timer, on_timer, ms, 0);
}

static void on_timer(uv_timer_t *t) {
  vg_session_t *s = t->data;
  s->timer_due = VG_TIME_NEVER; /* fired: no longer armed */
  vg_time_t now = vg_server_now();
  (void)vg_rtc_handle_timeout(s->rtc, now);
  session_service(s, now);
}

/* One datagram from the shared UDP socket or one frame from an ICE-TCP
 * connection: the same path either way. */
static void on_datagram(void *ud, const vg_addr_t *from, const uint8_t *buf, size_t len) {
  vg_server_t *srv = ud;
  vg_session_t *s = vg_peer_table_route(srv->peers, from, buf, len);
  if (!s) return; /* nobody's: unknown ufrag or an unauthenticated address */
  vg_time_t now = vg_server_now();
  int r = vg_rtc_handle_packet(s->rtc, now, from, buf, len);
  /* Only an authenticated STUN check validates a new path; DTLS and media
   * arrive on paths already bound (and were routed by them). */
  if (r == VG_OK && vg_demux_classify(buf, len) == VG_DEMUX_STUN &&
      vg_rtc_has_path(s->rtc, from) && vg_peer_table_bind(srv->peers, from, s) < 0)
    VG_LOG(VG_LOG_WARN, s->id, "cannot bind a path in the peer table");
  session_service(s, now);
}

/* An ICE-TCP connection closed: the session whose media used it ends (its
 * path is gone for good: TCP does not come back like a UDP flow); a session
 * that only had it as a spare path just loses it. */
static void on_ice_tcp_closed(void *ud, const vg_addr_t *peer) {
  vg_server_t *srv = ud;
  vg_session_t *s = vg_peer_table_find_addr(srv->peers, peer);
  vg_peer_table_unbind(srv->peers, peer);
  if (s && s->has_remote && vg_addr_equal(&s->remote, peer)) {
    VG_LOG(VG_LOG_INFO, s->id, "its ICE-TCP connection closed");
    vg_server_session_end(s, "its ICE-TCP connection closed");
  }
}

/* Lists a new session and arms its timer. */
/* Indexes a new session by id and links it in; on failure nothing is
 * changed and the caller frees what it built. */
VG_MUST_USE static int session_insert(vg_server_t *srv, vg_session_t *s) {
  int r = vg_map_put(&srv->by_id, s->id, VG_SESSION_ID_LEN, s);
  if (r < 0) return r;
  uv_timer_init(srv->loop, &s->timer);
  s->timer.data = s;
  s->timer_due = VG_TIME_NEVER;
  s->next = srv->sessions;
  if (srv->sessions) srv->sessions->prev = s;
  srv->sessions = s;
  srv->n_sessions++;
  srv->sessions_total++;
  return VG_OK;
}

int vg_server_session_create(vg_server_t *srv, vg_mode_t mode, const char *offer, size_t len,
                             const vg_addr_t *http_local, char *answer, size_t cap,
                             vg_session_t **out, char *why, size_t why_cap) {
  *out = NULL;
  snprintf(why, why_cap, "%s", "");
  vg_session_t *s = calloc(1, sizeof *s);
  if (!s) return VG_ENOMEM;
  s->srv = srv;
  s->mode = mode;
  s->state = "new";
  s->created_at = vg_server_now();
  if (new_session_id(s->id) < 0) {
    free(s);
    return VG_ECRYPTO;
  }
  vg_rtc_config_t rc = {.role = VG_RTC_ROLE_SERVER, .cert = srv->cert, .sid = s->id};
  int r = vg_rtc_create(&rc, &s->rtc);
  if (r < 0) {
    free(s);
    return r;
  }
  if (mode == VG_MODE_TRANSCRIBE) {
    vg_transcriber_config_t tc = {.workers = srv->workers, .engine = srv->asr, .sid = s->id,
                                  .on_event = on_transcript, .ud = s};
    if ((r = vg_transcriber_create(&tc, &s->tr, why, why_cap)) < 0) {
      vg_rtc_destroy(s->rtc);
      free(s);
      return r;
    }
  }
  vg_rtc_candidate_t cands[VG_RTC_MAX_LOCAL_CANDIDATES];
  size_t n = build_candidates(srv, http_local, cands, VG_RTC_MAX_LOCAL_CANDIDATES);
  if (n == 0) {
    snprintf(why, why_cap, "the server has no address to advertise (use --public-ip)");
    vg_transcriber_destroy(s->tr);
    vg_rtc_destroy(s->rtc);
    free(s);
    return VG_ESTATE;
  }
  const char *reason = NULL;
  int alen = vg_rtc_accept_offer(s->rtc, s->created_at, offer, len, cands, n, answer, cap, &reason);
  r = alen;
  if (r < 0) snprintf(why, why_cap, "%s", reason ? reason : vg_strerror(r)); /* before destroy */
  if (r >= 0 && (r = vg_peer_table_add(srv->peers, vg_rtc_local_ufrag(s->rtc), s)) < 0)
    snprintf(why, why_cap, "cannot register the session: %s", vg_strerror(r));
  if (r < 0) {
    vg_transcriber_destroy(s->tr);
    vg_rtc_destroy(s->rtc);
    free(s);
    return r;
  }
  if ((r = session_insert(srv, s)) < 0) {
    snprintf(why, why_cap, "cannot register the session: %s", vg_strerror(r));
    vg_peer_table_remove(srv->peers, s);
    vg_transcriber_destroy(s->tr);
    vg_rtc_destroy(s->rtc);
    free(s);
    return r;
  }
  char a[VG_ADDR_STRLEN];
  vg_addr_format(&cands[0].addr, a, sizeof a);
  VG_LOG(VG_LOG_INFO, s->id, "new %s session; %zu candidate(s), first %s", vg_mode_name(mode), n, a);
  session_service(s, s->created_at);
  *out = s;
  return alen;
}

int vg_server_session_create_ws(vg_server_t *srv, vg_mode_t mode, uint32_t pcm_rate,
                                vg_wsaudio_t *wsa, const vg_addr_t *peer, vg_session_t **out,
                                char *why, size_t why_cap) {
  *out = NULL;
  snprintf(why, why_cap, "%s", "");
  if (srv->shutting_down || srv->n_sessions >= srv->cfg.max_sessions) return VG_ELIMIT;
  vg_session_t *s = calloc(1, sizeof *s);
  if (!s) return VG_ENOMEM;
  s->srv = srv;
  s->mode = mode;
  s->state = "connected"; /* the WebSocket is open: media flows now */
  s->created_at = vg_server_now();
  s->remote = *peer;
  s->has_remote = true;
  int r = new_session_id(s->id);
  if (r == VG_OK && mode == VG_MODE_TRANSCRIBE) {
    vg_transcriber_config_t tc = {.workers = srv->workers, .engine = srv->asr, .sid = s->id,
                                  .pcm_rate = pcm_rate, .on_event = on_transcript, .ud = s};
    r = vg_transcriber_create(&tc, &s->tr, why, why_cap);
    if (r == VG_ELIMIT) r = VG_EAGAIN;
  }
  if (r < 0) {
    free(s);
    return r;
  }
  s->wsa = wsa;
  if ((r = session_insert(srv, s)) < 0) {
    snprintf(why, why_cap, "cannot register the session: %s", vg_strerror(r));
    vg_transcriber_destroy(s->tr);
    free(s);
    return r;
  }
  char a[VG_ADDR_STRLEN];
  vg_addr_format(peer, a, sizeof a);
  VG_LOG(VG_LOG_INFO, s->id, "new %s session over a WebSocket from %s", vg_mode_name(mode), a);
  *out = s;
  return VG_OK;
}

vg_session_t *vg_server_session_find(vg_server_t *srv, const char *id) {
  size_t len = strlen(id);
  return len == VG_SESSION_ID_LEN ? vg_map_get(&srv->by_id, id, len) : NULL;
}

void vg_server_session_end(vg_session_t *s, const char *why) {
  if (s->wsa) {
    s->closed = true;
    s->state = "closed";
    emit_state(s, why);
    vg_wsaudio_ending(s->wsa, s->srv->shutting_down ? VG_WS_CLOSE_GOING_AWAY : VG_WS_CLOSE_NORMAL,
                      why);
    vg_server_session_destroy(s);
    return;
  }
  vg_time_t now = vg_server_now();
  if (!s->closed) {
    (void)vg_rtc_close(s->rtc, now);
    /* the reason clients see, rather than the peer's generic one */
    s->end_reason = why;
  }
  session_service(s, now);
}

/* ---- server --------------------------------------------------------------- */

/* HTTPS: the operator's certificate, or a self-signed one for every name a
 * browser may use to reach us: localhost, the loopback addresses, the host
 * name, and each advertised address. */
static int make_tls(vg_server_t *srv, char *err, size_t cap) {
  const vg_config_t *cfg = &srv->cfg;
  int r;
  if (cfg->tls_cert[0] || cfg->tls_key[0]) {
    r = vg_tls_ctx_create_from_files(cfg->tls_cert[0] ? cfg->tls_cert : cfg->tls_key,
                                     cfg->tls_key[0] ? cfg->tls_key : cfg->tls_cert, &srv->tls,
                                     err, cap);
  } else {
    char names[VG_RTC_MAX_LOCAL_CANDIDATES + 4][VG_ADDR_STRLEN];
    const char *list[VG_RTC_MAX_LOCAL_CANDIDATES + 4];
    size_t n = 0;
    list[n++] = "localhost";
    list[n++] = "127.0.0.1";
    list[n++] = "::1";
    size_t hl = sizeof names[0];
    if (uv_os_gethostname(names[n], &hl) == 0 && names[n][0]) {
      list[n] = names[n];
      n++;
    }
    vg_rtc_candidate_t c[VG_RTC_MAX_LOCAL_CANDIDATES];
    size_t nc = build_candidates(srv, NULL, c, VG_RTC_MAX_LOCAL_CANDIDATES);
    for (size_t i = 0; i < nc && n < sizeof list / sizeof list[0]; i++) {
      if (c[i].addr.transport != VG_TRANSPORT_UDP || vg_addr_is_loopback(&c[i].addr)) continue;
      if (vg_addr_format_ip(&c[i].addr, names[n], sizeof names[n]) < 0) continue;
      list[n] = names[n];
      n++;
    }
    r = vg_tls_ctx_create_self_signed(list, n, &srv->tls, err, cap);
  }
  if (r < 0) return r;
  if (cfg->tls_cert_out[0]) r = vg_tls_ctx_write_cert_pem(srv->tls, cfg->tls_cert_out, err, cap);
  return r;
}

int vg_server_create(uv_loop_t *loop, const vg_config_t *cfg, vg_server_t **out, char *err,
                     size_t cap) {
  *out = NULL;
  vg_server_t *srv = calloc(1, sizeof *srv);
  if (!srv) return VG_ENOMEM;
  srv->loop = loop;
  srv->cfg = *cfg;
  srv->started_at = vg_server_now();
  const vg_addr_t *bind = cfg->has_bind ? &cfg->bind : NULL;
  int r;
  if ((r = vg_srtp_global_init()) < 0) {
    snprintf(err, cap, "SRTP library initialisation failed");
    goto fail;
  }
  if ((r = vg_dtls_cert_create(&srv->cert)) < 0) {
    snprintf(err, cap, "cannot create the DTLS certificate: %s", vg_strerror(r));
    goto fail;
  }
  if ((r = vg_map_init(&srv->by_id)) < 0 || (r = vg_peer_table_create(&srv->peers)) < 0) {
    snprintf(err, cap, "out of memory");
    goto fail;
  }
  /* Recognition is ready before the port opens: the model loads here, not
   * when a user presses Start. */
  if ((r = vg_workers_create(loop, cfg->workers, &srv->workers)) < 0) {
    snprintf(err, cap, "cannot start worker threads: %s", uv_strerror(r));
    goto fail;
  }
  vg_time_t t0 = vg_server_now();
  vg_asr_options_t ao = {.grammar = cfg->asr_grammar[0] ? cfg->asr_grammar : NULL,
                         .max_streams = cfg->asr_streams};
  char aerr[256];
  if ((r = vg_asr_engine_create(cfg->asr, &ao, &srv->asr, aerr, sizeof aerr)) < 0) {
    snprintf(err, cap, "speech engine '%s': %s", cfg->asr, aerr);
    goto fail;
  }
  VG_LOG(VG_LOG_INFO, NULL, "speech engine %s ready in %lld ms (%zu streams)",
         vg_asr_engine_name(srv->asr), (long long)(vg_server_now() - t0) / 1000, cfg->asr_streams);
  if ((r = vg_udp_open(loop, bind, cfg->port, on_datagram, srv, &srv->udp)) < 0) {
    snprintf(err, cap, "cannot open UDP port %u: %s", cfg->port, uv_strerror(r));
    goto fail;
  }
  if ((r = make_tls(srv, err, cap)) < 0) goto fail;
  vg_tcp_handlers_t th = {.tls = srv->tls,
                          .idle_timeout_ms = cfg->http_idle_ms,
                          .on_http = vg_api_handle,
                          .on_ice_frame = on_datagram,
                          .on_ice_closed = on_ice_tcp_closed,
                          .ud = srv};
  if ((r = vg_tcp_listen(loop, bind, cfg->port, &th, &srv->tcp)) < 0) {
    snprintf(err, cap, "cannot listen on TCP port %u: %s", cfg->port, uv_strerror(r));
    goto fail;
  }
  *out = srv;
  return VG_OK;
fail:
  vg_server_shutdown(srv);
  uv_run(loop, UV_RUN_NOWAIT);
  vg_server_destroy(srv);
  return r < 0 ? r : VG_EINVAL;
}

void vg_server_shutdown(vg_server_t *srv) {
  if (srv->shutting_down) return;
  srv->shutting_down = true;
  while (srv->sessions) {
    vg_session_t *s = srv->sessions;
    vg_server_session_end(s, "the server is shutting down");
    if (srv->sessions == s) vg_server_session_destroy(s); /* not ended by its events */
  }
  vg_udp_close(srv->udp);
  vg_tcp_close(srv->tcp);
  vg_workers_destroy(srv->workers); /* after every session's job is gone */
  srv->udp = NULL;
  srv->tcp = NULL;
  srv->workers = NULL;
}

void vg_server_destroy(vg_server_t *srv) {
  if (!srv) return;
  vg_asr_engine_destroy(srv->asr);
  vg_tls_ctx_destroy(srv->tls);
  vg_peer_table_destroy(srv->peers);
  vg_map_cleanup(&srv->by_id);
  vg_dtls_cert_destroy(srv->cert);
  free(srv);
}

size_t vg_server_session_count(const vg_server_t *srv) { return srv->n_sessions; }

const char *vg_server_tls_fingerprint(const vg_server_t *srv) {
  return srv->tls ? vg_tls_ctx_fingerprint(srv->tls) : "";
}

int vg_server_urls(const vg_server_t *srv, char *out, size_t cap) {
  size_t off = 0;
  int n = snprintf(out, cap, "http://localhost:%u/\n", srv->cfg.port);
  if (n < 0 || (size_t)n >= cap) return VG_ENOSPC;
  off = (size_t)n;
  vg_rtc_candidate_t c[VG_RTC_MAX_LOCAL_CANDIDATES];
  size_t nc = build_candidates(srv, NULL, c, VG_RTC_MAX_LOCAL_CANDIDATES);
  for (size_t i = 0; i < nc; i++) {
    char ip[VG_ADDR_STRLEN];
    if (c[i].addr.transport != VG_TRANSPORT_UDP || vg_addr_is_loopback(&c[i].addr) || vg_addr_format_ip(&c[i].addr, ip, sizeof ip) < 0) continue;
    /* Over plain http a browser keeps the microphone off on any address but
     * localhost, so other addresses are given as https. */
    n = snprintf(out + off, cap - off, c[i].addr.family == 6 ? "https://[%s]:%u/\n" : "https://%s:%u/\n",
                 ip, srv->cfg.port);
    if (n < 0 || (size_t)n >= cap - off) break;
    off += (size_t)n;
  }
  return (int)off;
}
