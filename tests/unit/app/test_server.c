/* The server end to end over real sockets on loopback, in one process: the
 * server runs on its libuv loop; a client vg_rtc (the core's controlling
 * role) posts a WHIP offer over TCP and echoes Opus-sized frames over UDP;
 * meanwhile malformed and hostile HTTP requests hit the same server. Every
 * documented status code is checked, and the running echo session must not
 * lose a beat. Everything is bound to 127.0.0.1 (--bind), so nothing is
 * advertised or sent anywhere else. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <opus/opus.h>
#include <uv.h>

#include "app/config.h"
#include "app/server.h"
#include "base/log.h"
#include "core/rtc.h"
#include "sig/rfc4571.h"
#include "server_test_util.h"
#include "vgtest.h"

#define FRAME_LEN 60


/* ---- an echo client over real UDP ----------------------------------------- */

typedef struct {
  vg_dtls_cert_t *cert;
  vg_rtc_t *rtc;
  int fd;
  bool udp_blocked;     /* drop every UDP transmit, as a firewall would */
  bool quiet;           /* send no numbered test frames (the test sends its own audio) */
  int tcp_fd;           /* ICE-TCP (active) to the server's passive candidate */
  vg_addr_t tcp_local;  /* our end of it, as the server sees it */
  vg_addr_t tcp_remote; /* the server's candidate */
  vg_rfc4571_t deframer;
  vg_addr_t selected;
  char location[128];
  bool connected;
  uint32_t sent, echoed, corrupt;
  uint64_t next_frame_us;
} client_t;

static vg_time_t now_us(void) { return (vg_time_t)(uv_hrtime() / 1000); }

static void frame(uint32_t i, uint8_t *p) {
  for (int k = 0; k < FRAME_LEN; k++) p[k] = (uint8_t)(i * 31 + (uint32_t)k * 7);
  memcpy(p, &i, sizeof i);
}

static bool client_start_mode(client_t *c, server_t *s, const char *mode) {
  memset(c, 0, sizeof *c);
  vg_rtc_config_t rc = {.role = VG_RTC_ROLE_CLIENT};
  if (vg_dtls_cert_create(&c->cert) < 0) return false;
  rc.cert = c->cert;
  if (vg_rtc_create(&rc, &c->rtc) < 0) return false;
  char offer[4096];
  int n = vg_rtc_create_offer(c->rtc, offer, sizeof offer);
  response_t r;
  char path[64];
  snprintf(path, sizeof path, "/whip?mode=%s", mode);
  if (n <= 0 || !http_do(s, "POST", path, "Content-Type: application/sdp\r\n", offer, (size_t)n, &r) ||
      r.status != 201) {
    fprintf(stderr, "  POST /whip: %d %s\n", r.status, r.body);
    return false;
  }
  snprintf(c->location, sizeof c->location, "%s", r.location);
  if (vg_rtc_apply_answer(c->rtc, now_us(), r.body, r.body_len, NULL) < 0) return false;
  c->fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (bind(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) return false;
  fcntl(c->fd, F_SETFL, O_NONBLOCK);
  return true;
}

static bool client_start(client_t *c, server_t *s) { return client_start_mode(c, s, "echo"); }

static void client_stop(client_t *c) {
  vg_rtc_destroy(c->rtc);
  vg_dtls_cert_destroy(c->cert);
  if (c->fd > 0) close(c->fd);
  if (c->tcp_fd > 0) close(c->tcp_fd);
}

/* RFC 6544 active side: one TCP connection to the server's passive
 * candidate, opened when the agent first sends to it. */
static void tcp_send(client_t *c, const vg_addr_t *to, const uint8_t *buf, size_t len) {
  if (c->tcp_fd <= 0) {
    c->tcp_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(to->port)};
    memcpy(&sa.sin_addr, to->ip, 4);
    if (connect(c->tcp_fd, (struct sockaddr *)&sa, sizeof sa) < 0) return;
    fcntl(c->tcp_fd, F_SETFL, O_NONBLOCK);
    c->tcp_remote = *to;
    vg_rfc4571_init(&c->deframer);
  }
  uint8_t framed[2048];
  if (vg_rfc4571_header(len, framed) < 0 || len + 2 > sizeof framed) return;
  memcpy(framed + 2, buf, len);
  (void)send(c->tcp_fd, framed, len + 2, MSG_NOSIGNAL);
}

static void tcp_recv(client_t *c, vg_time_t now) {
  uint8_t buf[8192];
  ssize_t n;
  while (c->tcp_fd > 0 && (n = recv(c->tcp_fd, buf, sizeof buf, 0)) > 0) {
    size_t off = 0;
    while (off < (size_t)n) {
      const uint8_t *fr;
      size_t fl;
      int r = vg_rfc4571_feed(&c->deframer, buf + off, (size_t)n - off, &fr, &fl);
      if (r <= 0) return;
      off += (size_t)r;
      if (fr) (void)vg_rtc_handle_packet(c->rtc, now, &c->tcp_remote, fr, fl);
    }
  }
}

/* One round of the client's work: input, timers, frames out, drain. */
static void client_pump(client_t *c) {
  uint8_t buf[2048];
  struct sockaddr_in from;
  socklen_t fl = sizeof from;
  ssize_t n;
  vg_time_t now = now_us();
  while ((n = recvfrom(c->fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl)) > 0) {
    vg_addr_t a;
    vg_addr_set_v4(&a, ntohl(from.sin_addr.s_addr), ntohs(from.sin_port), VG_TRANSPORT_UDP);
    (void)vg_rtc_handle_packet(c->rtc, now, &a, buf, (size_t)n);
    fl = sizeof from;
  }
  tcp_recv(c, now);
  if (vg_rtc_poll_timeout(c->rtc) <= now) (void)vg_rtc_handle_timeout(c->rtc, now);
  if (c->connected && !c->quiet && (uint64_t)now >= c->next_frame_us) {
    uint8_t f[FRAME_LEN];
    frame(c->sent, f);
    if (vg_rtc_send_audio(c->rtc, now, c->sent * 960, false, f, sizeof f) == VG_OK) c->sent++;
    c->next_frame_us = (uint64_t)now + 20000;
  }
  vg_addr_t to;
  int len;
  while ((len = vg_rtc_poll_transmit(c->rtc, buf, sizeof buf, &to)) > 0) {
    if (to.transport == VG_TRANSPORT_TCP) {
      tcp_send(c, &to, buf, (size_t)len);
      continue;
    }
    if (c->udp_blocked) continue;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(to.port)};
    memcpy(&sa.sin_addr, to.ip, 4);
    sendto(c->fd, buf, (size_t)len, 0, (struct sockaddr *)&sa, sizeof sa);
  }
  vg_rtc_event_t ev;
  while (vg_rtc_poll_event(c->rtc, &ev)) {
    if (ev.type == VG_RTC_EV_ICE_CONNECTED) c->selected = ev.u.ice.addr;
    if (ev.type == VG_RTC_EV_DTLS_CONNECTED) c->connected = true;
    if (ev.type == VG_RTC_EV_AUDIO) {
      uint8_t want[FRAME_LEN];
      uint32_t idx;
      memcpy(&idx, ev.u.audio.payload, sizeof idx);
      frame(idx, want);
      if (ev.u.audio.payload_len == FRAME_LEN && memcmp(want, ev.u.audio.payload, FRAME_LEN) == 0)
        c->echoed++;
      else
        c->corrupt++;
    }
  }
}

/* Runs server and client together for `ms` of real time. */
static void run_both(server_t *s, client_t *c, int ms) {
  uint64_t until = uv_hrtime() + (uint64_t)ms * 1000000ull;
  while (uv_hrtime() < until) {
    uv_run(&s->loop, UV_RUN_NOWAIT);
    client_pump(c);
    struct timespec ms1 = {0, 1000000};
    nanosleep(&ms1, NULL);
  }
}

/* Opens /whip/<id>/events with a raw WebSocket handshake (RFC 6455 §1.3's
 * sample key); returns the socket, with the 101 response (and anything
 * after it) in buf. -1 on failure. */
static int events_open(server_t *s, client_t *c, const char *location, char *buf, size_t cap,
                       size_t *len) {
  char req[512];
  snprintf(req, sizeof req,
           "GET %s/events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n",
           location);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(s->port)};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) return -1;
  fcntl(fd, F_SETFL, O_NONBLOCK);
  if (send(fd, req, strlen(req), 0) != (ssize_t)strlen(req)) return -1;
  *len = 0;
  buf[0] = '\0';
  for (int i = 0; i < 300 && !strstr(buf, "\r\n\r\n"); i++) {
    run_both(s, c, 2);
    ssize_t n = recv(fd, buf + *len, cap - 1 - *len, 0);
    if (n > 0) *len += (size_t)n;
    buf[*len] = '\0';
  }
  return strstr(buf, "\r\n\r\n") ? fd : -1;
}

/* ---- tests ------------------------------------------------------------------ */

static const char no_opus_offer[] =
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
    "a=fingerprint:sha-256 "
    "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89\r\n"
    "a=setup:actpass\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
    "a=rtcp-mux\r\na=rtpmap:0 PCMU/8000\r\n";

static void test_echo_survives_hostile_requests(void) {
  vg_log_set_level(VG_LOG_WARN);
  server_t s;
  CHECK(server_start(&s, 1, NULL, 1));
  client_t c;
  CHECK(client_start(&c, &s));
  run_both(&s, &c, 500);
  CHECK(c.connected);
  CHECK_EQ(c.selected.transport, VG_TRANSPORT_UDP); /* UDP wins when it works */
  uint32_t before = c.echoed;
  CHECK(before > 5);

  response_t r;
  /* every documented status, with the session running */
  CHECK(http_do(&s, "GET", "/healthz", NULL, "", 0, &r));
  CHECK_EQ(r.status, 200);
  CHECK(strstr(r.body, "\"sessions\":1") != NULL);
  CHECK(http_do(&s, "GET", "/api/sessions", NULL, "", 0, &r));
  CHECK_EQ(r.status, 200);
  CHECK(strstr(r.body, "\"state\":\"connected\"") && strstr(r.body, "\"transport\":\"udp\""));
  CHECK(http_do(&s, "OPTIONS", "/whip", NULL, "", 0, &r));
  CHECK_EQ(r.status, 204);
  /* over --max-sessions (1): 503 with Retry-After */
  CHECK(http_do(&s, "POST", "/whip", "Content-Type: application/sdp\r\n", no_opus_offer,
                strlen(no_opus_offer), &r));
  CHECK_EQ(r.status, 503);
  CHECK(r.retry_after[0] != '\0');
  CHECK(http_do(&s, "POST", "/whip", "Content-Type: text/plain\r\n", "x", 1, &r));
  CHECK_EQ(r.status, 415);
  CHECK(http_do(&s, "GET", "/whip", NULL, "", 0, &r));
  CHECK_EQ(r.status, 405);
  CHECK(http_do(&s, "DELETE", "/whip/0123456789abcdef", NULL, "", 0, &r));
  CHECK_EQ(r.status, 404);
  CHECK(http_do(&s, "GET", "/no/such/thing", NULL, "", 0, &r));
  CHECK_EQ(r.status, 404);
  /* 413 from Content-Length alone, before any body arrives */
  const char big[] = "POST /whip HTTP/1.1\r\nContent-Type: application/sdp\r\n"
                     "Content-Length: 10000000\r\n\r\n";
  CHECK(http_raw(&s, big, strlen(big), &r));
  CHECK_EQ(r.status, 413);
  /* garbage on the TCP port: not HTTP, TLS or ICE-TCP, so closed unanswered */
  const char junk[] = "\x01\x02GARBAGE\r\n\r\n";
  CHECK(!http_raw(&s, junk, sizeof junk - 1, &r));
  CHECK_EQ(r.status, 0);
  /* garbage that starts like HTTP: an unknown method is 501, a broken
   * request line 400, each with a reason */
  const char bad_method[] = "GARBAGE / HTTP/1.1\r\n\r\n";
  CHECK(http_raw(&s, bad_method, sizeof bad_method - 1, &r));
  CHECK_EQ(r.status, 501);
  const char bad_http[] = "GET /\x01 HTTP/1.1\r\n\r\n";
  CHECK(http_raw(&s, bad_http, sizeof bad_http - 1, &r));
  CHECK_EQ(r.status, 400);
  CHECK(r.body_len > 3);
  /* framed STUN that is not a valid request for any session: dropped */
  const char fake_ice[] = "\x00\x14\x00\x01\x00\x00\x21\x12\xa4\x42xxxxxxxxxxxx";
  CHECK(!http_raw(&s, fake_ice, sizeof fake_ice - 1, &r));
  /* PATCH with a trickle candidate, then a malformed one */
  char patch_path[160];
  snprintf(patch_path, sizeof patch_path, "%s", c.location);
  const char frag[] = "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n"
                      "a=mid:0\r\na=candidate:1 1 UDP 2130706431 127.0.0.1 9999 typ host\r\n";
  CHECK(http_do(&s, "PATCH", patch_path, "Content-Type: application/trickle-ice-sdpfrag\r\n", frag,
                strlen(frag), &r));
  CHECK_EQ(r.status, 204);
  const char bad_frag[] = "a=candidate:garbage\r\n";
  CHECK(http_do(&s, "PATCH", patch_path, "Content-Type: application/trickle-ice-sdpfrag\r\n",
                bad_frag, strlen(bad_frag), &r));
  CHECK_EQ(r.status, 400);
  CHECK(strstr(r.body, "line 1") != NULL);

  /* the session went on through all of it */
  run_both(&s, &c, 500);
  CHECK(c.echoed >= before + 15);
  CHECK_EQ(c.corrupt, 0);
  CHECK(c.echoed + 3 >= c.sent); /* nothing lost on loopback but the last in flight */

  /* the session's event stream: a WebSocket on /whip/<id>/events */
  char evbuf[4096];
  size_t evlen = 0;
  int evfd = events_open(&s, &c, c.location, evbuf, sizeof evbuf, &evlen);
  CHECK(evfd >= 0);
  /* RFC 6455 §1.3's key gives this accept value */
  CHECK(strstr(evbuf, "HTTP/1.1 101") == evbuf);
  CHECK(strstr(evbuf, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != NULL);
  size_t head = (size_t)(strstr(evbuf, "\r\n\r\n") + 4 - evbuf);
  /* a listen-only event stream outlives the HTTP idle timeout (1 s here) */
  run_both(&s, &c, 1500);
  CHECK(vg_server_session_count(s.srv) == 1);

  /* DELETE ends it at once and frees the slot */
  CHECK(http_do(&s, "DELETE", c.location, NULL, "", 0, &r));
  CHECK_EQ(r.status, 200);
  CHECK_EQ(vg_server_session_count(s.srv), 0);
  CHECK(http_do(&s, "GET", "/healthz", NULL, "", 0, &r));
  CHECK(strstr(r.body, "\"sessions\":0") != NULL);
  /* the stream joined a connected session: it first heard where the
   * session stood (a late subscriber must not miss "connected"), then
   * the end, then a normal close: unmasked text frames, then a close
   * frame with code 1000 */
  for (int i = 0; i < 100; i++) {
    uv_run(&s.loop, UV_RUN_NOWAIT);
    ssize_t n = recv(evfd, evbuf + evlen, sizeof evbuf - 1 - evlen, 0);
    if (n > 0) evlen += (size_t)n;
    else if (n == 0) break;
  }
  const char *want[] = {"\"state\":\"connected\"", "\"state\":\"closed\""};
  const uint8_t *f = (const uint8_t *)evbuf + head;
  for (size_t k = 0; k < 2; k++) {
    CHECK((size_t)(f - (const uint8_t *)evbuf) + 2 <= evlen);
    CHECK_EQ(f[0], 0x81);
    size_t flen = f[1] & 0x7f;
    CHECK(flen < 126 && (size_t)(f - (const uint8_t *)evbuf) + 2 + flen <= evlen);
    char event[128];
    snprintf(event, sizeof event, "%.*s", (int)flen, (const char *)f + 2);
    CHECK(strstr(event, "\"type\":\"state\"") && strstr(event, want[k]));
    f += 2 + flen;
  }
  CHECK((size_t)(f - (const uint8_t *)evbuf) + 4 <= evlen);
  CHECK_EQ(f[0], 0x88);
  CHECK_EQ((f[2] << 8) | f[3], 1000);
  close(evfd);
  client_stop(&c);
  server_stop(&s);
}

static void test_offer_errors_and_token(void) {
  vg_log_set_level(VG_LOG_WARN);
  server_t s;
  CHECK(server_start(&s, 2, "s3cret", 10));
  response_t r;
  const char *ct = "Content-Type: application/sdp\r\n";
  CHECK(http_do(&s, "POST", "/whip", ct, no_opus_offer, strlen(no_opus_offer), &r));
  CHECK_EQ(r.status, 401);
  CHECK(strstr(r.www_auth, "Bearer") != NULL);
  CHECK(http_do(&s, "POST", "/whip", "Content-Type: application/sdp\r\nAuthorization: Bearer nope\r\n",
                no_opus_offer, strlen(no_opus_offer), &r));
  CHECK_EQ(r.status, 401);
  const char *auth = "Content-Type: application/sdp\r\nAuthorization: Bearer s3cret\r\n";
  CHECK(http_do(&s, "POST", "/whip", auth, no_opus_offer, strlen(no_opus_offer), &r));
  CHECK_EQ(r.status, 422);
  CHECK(strstr(r.body, "Opus") != NULL);
  const char garbage_sdp[] = "this is not sdp";
  CHECK(http_do(&s, "POST", "/whip", auth, garbage_sdp, strlen(garbage_sdp), &r));
  CHECK_EQ(r.status, 400);
  CHECK(strstr(r.body, "line 1") != NULL);
  CHECK(http_do(&s, "POST", "/whip?mode=karaoke", auth, no_opus_offer, strlen(no_opus_offer), &r));
  CHECK_EQ(r.status, 400);
  CHECK(strstr(r.body, "mode") != NULL);
  CHECK(http_do(&s, "POST", "/whip?mode=", auth, no_opus_offer, strlen(no_opus_offer), &r));
  CHECK_EQ(r.status, 400);
  /* the session list is behind the token too; health is not */
  CHECK(http_do(&s, "GET", "/api/sessions", NULL, "", 0, &r));
  CHECK_EQ(r.status, 401);
  CHECK(http_do(&s, "GET", "/api/sessions", "Authorization: Bearer s3cret\r\n", "", 0, &r));
  CHECK_EQ(r.status, 200);
  CHECK(http_do(&s, "GET", "/healthz", NULL, "", 0, &r));
  CHECK_EQ(r.status, 200);
  CHECK(http_do(&s, "POST", "/whip", auth, "", 0, &r));
  CHECK_EQ(r.status, 400);
  CHECK_EQ(vg_server_session_count(s.srv), 0);
  server_stop(&s);
}

/* UDP blocked: the answer's passive TCP candidate on the same port carries
 * ICE, DTLS and SRTP in RFC 4571 frames; closing that connection ends the
 * session (and only it). */
static void test_echo_over_ice_tcp_when_udp_is_blocked(void) {
  vg_log_set_level(VG_LOG_WARN);
  server_t s;
  CHECK(server_start(&s, 3, NULL, 10));
  client_t c;
  CHECK(client_start(&c, &s));
  c.udp_blocked = true;
  uint64_t t0 = uv_hrtime();
  uint64_t connected_ns = 0;
  for (int i = 0; i < 3000 && !connected_ns; i++) {
    run_both(&s, &c, 1);
    if (c.connected) connected_ns = uv_hrtime() - t0;
  }
  CHECK(c.connected);
  printf("  ICE-TCP only: connected in %.1f ms\n", connected_ns / 1e6);
  CHECK_EQ(c.selected.transport, VG_TRANSPORT_TCP);
  run_both(&s, &c, 600);
  CHECK(c.echoed > 20);
  CHECK_EQ(c.corrupt, 0);
  CHECK(c.echoed + 3 >= c.sent);
  response_t r;
  CHECK(http_do(&s, "GET", "/api/sessions", NULL, "", 0, &r));
  CHECK(strstr(r.body, "\"transport\":\"tcp\"") != NULL);
  /* the TCP path dies: the session ends with it */
  close(c.tcp_fd);
  c.tcp_fd = -1;
  run_both(&s, &c, 200);
  CHECK_EQ(vg_server_session_count(s.srv), 0);
  client_stop(&c);
  server_stop(&s);
}

/* The ICE-TCP peer resets its connection while the server is not looking;
 * the session's next transmit (its RTCP report, from the timer) fails, the
 * failed write closes the connection and its close callback ends the
 * session from inside that transmit. The session must end cleanly, not be
 * serviced again after it was destroyed. */
static void test_ice_tcp_reset_under_a_transmit(void) {
  vg_log_set_level(VG_LOG_ERROR);
  server_t s;
  CHECK(server_start(&s, 3, NULL, 10));
  client_t c;
  CHECK(client_start(&c, &s));
  c.udp_blocked = true;
  for (int i = 0; i < 3000 && !c.connected; i++) run_both(&s, &c, 1);
  CHECK(c.connected);
  CHECK_EQ(c.selected.transport, VG_TRANSPORT_TCP);
  run_both(&s, &c, 100);
  /* RST instead of FIN (SO_LINGER 0), and the server's loop not running
   * until its RTCP timer is due: libuv runs timers before it polls, so the
   * write meets the reset before the read does. */
  struct linger lg = {1, 0};
  CHECK(setsockopt(c.tcp_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
  close(c.tcp_fd);
  c.tcp_fd = -1;
  struct timespec wait = {1, 200000000};
  nanosleep(&wait, NULL);
  for (int i = 0; i < 50; i++) {
    uv_run(&s.loop, UV_RUN_NOWAIT);
    struct timespec ms1 = {0, 1000000};
    nanosleep(&ms1, NULL);
  }
  CHECK_EQ(vg_server_session_count(s.srv), 0);
  client_stop(&c);
  server_stop(&s);
}

/* Transcribe mode end to end: a real recording (PocketSphinx's test data,
 * "go forward ten meters"), Opus-encoded, sent at real-time pace over UDP;
 * the server decodes it on a worker and the transcript has the words. */
static void test_transcribe_session(void) {
  vg_log_set_level(VG_LOG_WARN);
  FILE *f = fopen("/usr/share/pocketsphinx/test/data/goforward.raw", "rb");
  CHECK(f != NULL);
  static int16_t pcm[16000 * 8];
  size_t lead = 8000, speech = fread(pcm + lead, 2, 16000 * 5, f);
  fclose(f);
  CHECK(speech > 16000);
  size_t total = lead + speech + 24000; /* 0.5 s before, 1.5 s after */
  uint32_t x = 1;
  for (size_t i = 0; i < total; i++) {
    x = x * 1103515245u + 12345u;
    int16_t noise = (int16_t)((x >> 16) % 21) - 10; /* a real mic is never all zeros */
    if (i < lead || i >= lead + speech) pcm[i] = noise;
  }
  server_t s;
  CHECK(server_start(&s, 4, NULL, 10));
  client_t c;
  CHECK(client_start_mode(&c, &s, "transcribe"));
  c.quiet = true;
  for (int i = 0; i < 2000 && !c.connected; i++) run_both(&s, &c, 1);
  CHECK(c.connected);
  int err;
  /* RFC 7587: the RTP clock is 48 kHz whatever rate Opus encodes */
  OpusEncoder *enc = opus_encoder_create(16000, 1, OPUS_APPLICATION_VOIP, &err);
  CHECK(enc != NULL);
  uint64_t next = uv_hrtime();
  for (size_t off = 0; off + 320 <= total; off += 320) {
    uint8_t pkt[400];
    int n = opus_encode(enc, pcm + off, 320, pkt, sizeof pkt);
    CHECK(n > 0);
    CHECK(vg_rtc_send_audio(c.rtc, now_us(), (uint32_t)(off / 320) * 960, off == 0, pkt, (size_t)n) == VG_OK);
    next += 20000000ull;
    while (uv_hrtime() < next) run_both(&s, &c, 1);
  }
  opus_encoder_destroy(enc);
  response_t r;
  char path[160];
  snprintf(path, sizeof path, "%s/transcript", c.location);
  bool heard = false;
  for (int i = 0; i < 40 && !heard; i++) {
    run_both(&s, &c, 50);
    CHECK(http_do(&s, "GET", path, NULL, "", 0, &r));
    CHECK_EQ(r.status, 200);
    heard = strstr(r.body, "go forward ten meters") != NULL;
  }
  printf("  transcript: %s\n", r.body);
  CHECK(heard);
  CHECK(strstr(r.body, "\"engine\":\"pocketsphinx\"") != NULL);
  CHECK(http_do(&s, "GET", "/api/sessions", NULL, "", 0, &r));
  CHECK(strstr(r.body, "\"mode\":\"transcribe\"") && strstr(r.body, "\"finals\":1"));
  CHECK(c.echoed == 0); /* transcribe mode sends nothing back */
  /* a second transcribe session finds the only recognizer busy: 503 */
  client_t c2;
  CHECK(!client_start_mode(&c2, &s, "transcribe"));
  client_stop(&c2);
  CHECK(http_do(&s, "DELETE", c.location, NULL, "", 0, &r));
  CHECK_EQ(r.status, 200);
  for (int i = 0; i < 100 && vg_server_session_count(s.srv) > 0; i++) run_both(&s, &c, 10);
  CHECK_EQ(vg_server_session_count(s.srv), 0);
  client_stop(&c);
  server_stop(&s);
}

static size_t count_of(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
  return n;
}

/* The start-up "open http://..." list names each address once (the answer's
 * passive TCP twins of the UDP candidates must not repeat it). */
static void test_urls_name_each_address_once(void) {
  vg_log_set_level(VG_LOG_WARN);
  vg_config_t cfg;
  char err[256];
  vg_config_defaults(&cfg);
  cfg.port = test_port(5);
  CHECK(vg_addr_parse(&cfg.bind, "127.0.0.1", 0, VG_TRANSPORT_UDP) >= 0);
  cfg.has_bind = true;
  CHECK(vg_addr_parse(&cfg.public_ips[0], "192.0.2.7", 0, VG_TRANSPORT_UDP) >= 0);
  cfg.n_public_ips = 1;
  server_t s;
  CHECK_EQ(uv_loop_init(&s.loop), 0);
  CHECK(vg_server_create(&s.loop, &cfg, &s.srv, err, sizeof err) >= 0);
  char urls[1024];
  int n = vg_server_urls(s.srv, urls, sizeof urls);
  CHECK(n > 0);
  char want[64];
  snprintf(want, sizeof want, "https://192.0.2.7:%u/\n", cfg.port);
  CHECK_EQ(count_of(urls, want), 1);
  snprintf(want, sizeof want, "http://localhost:%u/\n", cfg.port);
  CHECK_EQ(count_of(urls, want), 1);
  CHECK_EQ(count_of(urls, "://"), 2); /* the bound loopback is the localhost line */
  server_stop(&s);
}

/* An exec engine whose program dies mid-stream: the session's event stream
 * gets one error with the program's exit status and last stderr line; the
 * server carries on. */
static void test_exec_engine_crash_is_reported(void) {
  vg_log_set_level(VG_LOG_ERROR);
  g_asr_spec = "exec:head -c 16000 >/dev/null; echo 'model file not found' >&2; exit 3";
  server_t s;
  bool up = server_start(&s, 5, NULL, 10);
  g_asr_spec = NULL;
  CHECK(up);
  client_t c;
  CHECK(client_start_mode(&c, &s, "transcribe"));
  c.quiet = true;
  for (int i = 0; i < 2000 && !c.connected; i++) run_both(&s, &c, 1);
  CHECK(c.connected);
  char evbuf[8192];
  size_t evlen = 0;
  int evfd = events_open(&s, &c, c.location, evbuf, sizeof evbuf, &evlen);
  CHECK(evfd >= 0);
  int err;
  OpusEncoder *enc = opus_encoder_create(16000, 1, OPUS_APPLICATION_VOIP, &err);
  CHECK(enc != NULL);
  int16_t tone[320];
  bool reported = false;
  for (uint32_t k = 0; k < 150 && !reported; k++) { /* up to 3 s of audio */
    for (int i = 0; i < 320; i++) tone[i] = (int16_t)((i * 37 + (int)k) % 200 - 100);
    uint8_t pkt[400];
    int n = opus_encode(enc, tone, 320, pkt, sizeof pkt);
    CHECK(n > 0);
    CHECK(vg_rtc_send_audio(c.rtc, now_us(), k * 960, k == 0, pkt, (size_t)n) == VG_OK);
    run_both(&s, &c, 20);
    ssize_t got = recv(evfd, evbuf + evlen, sizeof evbuf - 1 - evlen, 0);
    if (got > 0) evlen += (size_t)got;
    evbuf[evlen] = '\0';
    reported = strstr(evbuf, "\"type\":\"error\"") != NULL;
  }
  opus_encoder_destroy(enc);
  for (int i = 0; i < 50 && !strstr(evbuf, "model file not found"); i++) {
    run_both(&s, &c, 20);
    ssize_t got = recv(evfd, evbuf + evlen, sizeof evbuf - 1 - evlen, 0);
    if (got > 0) evlen += (size_t)got;
    evbuf[evlen] = '\0';
  }
  CHECK(reported);
  CHECK(strstr(evbuf, "status 3") != NULL);
  CHECK(strstr(evbuf, "model file not found") != NULL);
  /* the server is fine, and so is the session's media path */
  response_t r;
  CHECK(http_do(&s, "GET", "/healthz", NULL, "", 0, &r));
  CHECK_EQ(r.status, 200);
  CHECK_EQ(vg_server_session_count(s.srv), 1);
  close(evfd);
  client_stop(&c);
  server_stop(&s);
}

/* Many sessions at once, each found by its id (the index behind
 * /whip/<id>): every DELETE reaches its own session, in an order unlike
 * creation, and an id that is gone, unknown or malformed is a 404. */
static void test_sessions_found_by_id(void) {
  enum { N = 40 };
  vg_log_set_level(VG_LOG_WARN);
  server_t s;
  CHECK(server_start(&s, 7, NULL, N));
  vg_dtls_cert_t *cert = NULL;
  CHECK_EQ(vg_dtls_cert_create(&cert), VG_OK);
  char loc[N][128];
  response_t r;
  for (int i = 0; i < N; i++) {
    vg_rtc_config_t rc = {.role = VG_RTC_ROLE_CLIENT, .cert = cert};
    vg_rtc_t *rtc = NULL;
    char offer[4096];
    CHECK_EQ(vg_rtc_create(&rc, &rtc), VG_OK);
    int n = vg_rtc_create_offer(rtc, offer, sizeof offer);
    vg_rtc_destroy(rtc);
    CHECK(n > 0);
    CHECK(http_do(&s, "POST", "/whip", "Content-Type: application/sdp\r\n", offer, (size_t)n, &r));
    CHECK_EQ(r.status, 201);
    snprintf(loc[i], sizeof loc[i], "%s", r.location);
    for (int j = 0; j < i; j++) CHECK(strcmp(loc[j], loc[i]) != 0);
  }
  CHECK(http_do(&s, "GET", "/healthz", NULL, "", 0, &r));
  CHECK(strstr(r.body, "\"sessions\":40") != NULL);
  for (int k = 0; k < N; k++) {
    int i = (k * 17 + 5) % N; /* 17 is prime to 40: each once */
    CHECK(http_do(&s, "DELETE", loc[i], NULL, "", 0, &r));
    CHECK_EQ(r.status, 200);
    CHECK(http_do(&s, "DELETE", loc[i], NULL, "", 0, &r));
    CHECK_EQ(r.status, 404);
    uv_run(&s.loop, UV_RUN_NOWAIT);
  }
  CHECK(http_do(&s, "DELETE", "/whip/0123456789abcdef", NULL, "", 0, &r));
  CHECK_EQ(r.status, 404);
  CHECK(http_do(&s, "DELETE", "/whip/0123", NULL, "", 0, &r));
  CHECK_EQ(r.status, 404);
  CHECK(http_do(&s, "GET", "/healthz", NULL, "", 0, &r));
  CHECK(strstr(r.body, "\"sessions\":0") != NULL);
  vg_dtls_cert_destroy(cert);
  server_stop(&s);
}

VGT_MAIN(VGT_CASE(test_sessions_found_by_id), VGT_CASE(test_transcribe_session), VGT_CASE(test_exec_engine_crash_is_reported), VGT_CASE(test_echo_survives_hostile_requests), VGT_CASE(test_offer_errors_and_token),
         VGT_CASE(test_echo_over_ice_tcp_when_udp_is_blocked),
         VGT_CASE(test_ice_tcp_reset_under_a_transmit), VGT_CASE(test_urls_name_each_address_once))
