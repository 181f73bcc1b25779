/* vg_bench_connect: how fast a WebRTC session comes up against a running
 * voxgate, and what each one costs the server.
 *
 * It runs N sessions one after another. Each session is the core's client
 * role (the same vg_rtc the server uses, as a controlling full-ICE peer
 * with a DTLS client) driven over a real UDP socket:
 *
 *   t0: POST /whip?mode=echo (offer)  ──► 201 + answer        "answer"
 *       STUN checks to the answer's UDP candidates ──► response   "ICE"
 *       DTLS handshake                            ──► keys     "DTLS"
 *       one Opus-sized RTP frame every 20 ms      ──► its echo "first echo"
 *       DELETE /whip/<id>
 *
 * Every time is measured from t0 (just before the POST) on the monotonic
 * clock. At the end it prints median and p95 of each phase and, given the
 * server's pid, the server's CPU time (utime + stime from /proc) divided by
 * the number of sessions.
 *
 * This is IO code: it owns sockets and the clock, like src/io. The HTTP
 * client is libcurl (no hand-written HTTP). */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "core/dtls.h"
#include "core/rtc.h"
#include "core/srtp.h"

#define FRAME_INTERVAL VG_MSEC(20)
#define FRAME_TS 960 /* 20 ms at 48 kHz */
/* A 20 ms Opus frame at a voice bitrate (~32 kb/s) is about 80 bytes. */
#define FRAME_LEN 80
/* Opus TOC byte (RFC 6716 §3.1): config 31 (CELT, fullband, 20 ms), mono,
 * one frame per packet. A CELT decoder accepts any bytes after it, so the
 * frame is decodable whatever the server does with it. */
#define OPUS_TOC_CELT_FB_20MS 0xF8
#define MAX_FRAMES_PER_SESSION 4096
#define UDP_MAX 1500

typedef enum {
  PH_ANSWER = 0,
  PH_ICE,
  PH_DTLS,
  PH_ECHO,
  PH_FRAME_RTT,
  PH_DELETE,
  PH_COUNT,
} phase_t;

static const char *const phase_name[PH_COUNT] = {
    "offer -> answer (201)",    "offer -> ICE connected", "offer -> DTLS connected",
    "offer -> first echo",      "first frame -> its echo", "DELETE round trip",
};

typedef struct {
  const char *url; /* base, e.g. http://127.0.0.1:8080 */
  const char *mode;
  const char *token; /* nullable */
  const char *csv;   /* nullable: per-session raw times */
  int n;
  long server_pid; /* 0 = unknown: no CPU figure */
  vg_time_t timeout;
  int fresh_connection; /* a new TCP connection for every request */
  int verbose;          /* the core's debug log on stderr */
  int no_candidate;     /* offer without our host candidate (peer-reflexive only) */
  int any_echo;         /* any audio back counts (a transcoding echo server) */
  int abandon;          /* no DELETE: leave each session to consent expiry */
} options_t;

typedef struct {
  vg_time_t t[PH_COUNT]; /* µs; -1 = not reached */
  char why[160];         /* empty when the session succeeded */
} result_t;

typedef struct {
  char *data;
  size_t len, cap;
} buf_t;

typedef struct {
  const options_t *opt;
  CURL *curl;
  vg_dtls_cert_t *cert;
  char whip_url[512];
  char server_host[256]; /* from the URL: where our host candidate's route goes */
} bench_t;

static vg_time_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (vg_time_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  buf_t *b = ud;
  size_t len = size * n;
  if (b->len + len + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + len + 1) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) return 0; /* curl reports a write error */
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, len);
  b->len += len;
  b->data[b->len] = '\0';
  return len;
}

/* One HTTP request on the shared easy handle. Returns the status code, or
 * -1 with `why` filled on a transport error. `body` collects the response. */
static long http(bench_t *b, const char *method, const char *url, const char *content_type,
                 const char *payload, size_t payload_len, buf_t *body, char *why, size_t why_cap) {
  CURL *c = b->curl;
  struct curl_slist *hdrs = NULL;
  char line[600];
  if (content_type) {
    snprintf(line, sizeof line, "Content-Type: %s", content_type);
    hdrs = curl_slist_append(hdrs, line);
  }
  if (b->opt->token) {
    snprintf(line, sizeof line, "Authorization: Bearer %s", b->opt->token);
    hdrs = curl_slist_append(hdrs, line);
  }
  hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
  body->len = 0;
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
  curl_easy_setopt(c, CURLOPT_FORBID_REUSE, b->opt->fresh_connection ? 1L : 0L);
  if (payload) {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)payload_len);
  } else {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  }
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(hdrs);
  if (rc != CURLE_OK) {
    snprintf(why, why_cap, "%s %s: %s", method, url, curl_easy_strerror(rc));
    return -1;
  }
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  return code;
}

/* --- vg_addr_t <-> sockaddr ------------------------------------------------ */

static socklen_t to_sockaddr(const vg_addr_t *a, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  if (a->family == 4) {
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(a->port);
    memcpy(&s4->sin_addr, a->ip, 4);
    return sizeof *s4;
  }
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
  s6->sin6_family = AF_INET6;
  s6->sin6_port = htons(a->port);
  memcpy(&s6->sin6_addr, a->ip, 16);
  return sizeof *s6;
}

static void from_sockaddr(const struct sockaddr_storage *ss, vg_addr_t *a) {
  memset(a, 0, sizeof *a);
  a->transport = VG_TRANSPORT_UDP;
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
    a->family = 4;
    a->port = ntohs(s4->sin_port);
    memcpy(a->ip, &s4->sin_addr, 4);
  } else {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
    a->family = 6;
    a->port = ntohs(s6->sin6_port);
    memcpy(a->ip, &s6->sin6_addr, 16);
  }
}

/* --- one session ---------------------------------------------------------- */

typedef struct {
  vg_rtc_t *rtc;
  int fd[2]; /* [0] IPv4, [1] IPv6; -1 when not open */
  vg_time_t t0;
  bool sending;
  uint32_t frames_sent;
  vg_time_t next_frame;
  vg_time_t sent_at[MAX_FRAMES_PER_SESSION];
  bool any_echo; /* options_t.any_echo */
  result_t *r;
} session_t;

static void frame_payload(uint32_t index, uint8_t *p) {
  /* The TOC byte, the frame's index, then bytes derived from it, so an
   * echo is matched to its frame and any altered byte is noticed. */
  p[0] = OPUS_TOC_CELT_FB_20MS;
  p[1] = (uint8_t)(index >> 24);
  p[2] = (uint8_t)(index >> 16);
  p[3] = (uint8_t)(index >> 8);
  p[4] = (uint8_t)index;
  uint32_t x = index * 2654435761u + 7u;
  for (size_t i = 5; i < FRAME_LEN; i++) {
    x = x * 1103515245u + 12345u;
    p[i] = (uint8_t)(x >> 16);
  }
}

static int open_udp(int family) {
  int fd = socket(family, SOCK_DGRAM, 0);
  if (fd < 0) return -1;
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Sends every queued datagram and handles every queued event. */
/* Sends every queued datagram and handles every queued event. */
static void flush(session_t *s) {
  uint8_t buf[UDP_MAX];
  vg_addr_t to;
  int n;
  while ((n = vg_rtc_poll_transmit(s->rtc, buf, sizeof buf, &to)) > 0) {
    if (to.transport != VG_TRANSPORT_UDP) continue; /* this client is UDP only */
    int i = to.family == 4 ? 0 : 1;
    if (s->fd[i] < 0) s->fd[i] = open_udp(i == 0 ? AF_INET : AF_INET6);
    if (s->fd[i] < 0) continue;
    struct sockaddr_storage ss;
    socklen_t sl = to_sockaddr(&to, &ss);
    (void)sendto(s->fd[i], buf, (size_t)n, 0, (struct sockaddr *)&ss, sl);
  }
  /* Events are stamped when we see them, after the core has done the
   * work that produced them (the input's `now` is from before it). */
  vg_time_t now = now_us();
  vg_rtc_event_t ev;
  while (vg_rtc_poll_event(s->rtc, &ev)) {
    result_t *r = s->r;
    switch (ev.type) {
    case VG_RTC_EV_ICE_CONNECTED:
      if (r->t[PH_ICE] < 0) r->t[PH_ICE] = now - s->t0;
      break;
    case VG_RTC_EV_DTLS_CONNECTED:
      if (r->t[PH_DTLS] < 0) r->t[PH_DTLS] = now - s->t0;
      s->sending = true;
      s->next_frame = now; /* the first frame goes out at once */
      break;
    case VG_RTC_EV_AUDIO: {
      const uint8_t *p = ev.u.audio.payload;
      if (s->any_echo) {
        /* A transcoding echo (the aiortc reference) sends other bytes:
         * the first audio packet back is the echo; its frame is unknown. */
        if (r->t[PH_ECHO] < 0) r->t[PH_ECHO] = now - s->t0;
        break;
      }
      if (ev.u.audio.payload_len != FRAME_LEN) {
        if (!r->why[0])
          snprintf(r->why, sizeof r->why, "an echo came back with %zu bytes, not %d",
                   ev.u.audio.payload_len, FRAME_LEN);
        break;
      }
      uint32_t idx = ((uint32_t)p[1] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 8) | p[4];
      uint8_t want[FRAME_LEN];
      frame_payload(idx, want);
      if (idx >= s->frames_sent || memcmp(want, p, FRAME_LEN) != 0 ||
          ev.u.audio.timestamp != idx * FRAME_TS) {
        if (!r->why[0]) snprintf(r->why, sizeof r->why, "an echoed frame came back altered");
        break;
      }
      if (r->t[PH_ECHO] < 0) {
        r->t[PH_ECHO] = now - s->t0;
        r->t[PH_FRAME_RTT] = now - s->sent_at[idx];
      }
      break;
    }
    case VG_RTC_EV_RTT:
      break;
    case VG_RTC_EV_CLOSED:
      if (!r->why[0])
        snprintf(r->why, sizeof r->why, "closed: %s", ev.u.closed.why ? ev.u.closed.why : "?");
      break;
    }
  }
}

static void receive(session_t *s, int fd) {
  uint8_t buf[UDP_MAX];
  for (;;) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&ss, &sl);
    if (n < 0) return; /* EAGAIN: drained */
    vg_addr_t from;
    from_sockaddr(&ss, &from);
    vg_time_t now = now_us();
    (void)vg_rtc_handle_packet(s->rtc, now, &from, buf, (size_t)n);
    flush(s);
  }
}

static const char *waiting_for(const result_t *r) {
  if (r->t[PH_ICE] < 0) return "ICE";
  if (r->t[PH_DTLS] < 0) return "DTLS";
  return "the first echo";
}

/* Drives the client until the first echo arrives, it closes, or the
 * per-session deadline passes. */
static void drive(session_t *s, vg_time_t deadline) {
  result_t *r = s->r;
  flush(s);
  while (r->t[PH_ECHO] < 0 && !r->why[0]) {
    vg_time_t now = now_us();
    if (now >= deadline) {
      snprintf(r->why, sizeof r->why, "timed out waiting for %s", waiting_for(r));
      return;
    }
    vg_time_t wake = vg_time_min(vg_rtc_poll_timeout(s->rtc), deadline);
    if (s->sending) wake = vg_time_min(wake, s->next_frame);
    int ms = wake <= now ? 0 : (int)((wake - now + 999) / 1000);
    struct pollfd pfd[2];
    int nfd = 0;
    for (int i = 0; i < 2; i++)
      if (s->fd[i] >= 0) pfd[nfd++] = (struct pollfd){.fd = s->fd[i], .events = POLLIN};
    if (poll(pfd, (nfds_t)nfd, ms) < 0 && errno != EINTR) {
      snprintf(r->why, sizeof r->why, "poll: %s", strerror(errno));
      return;
    }
    for (int i = 0; i < nfd; i++)
      if (pfd[i].revents & POLLIN) receive(s, pfd[i].fd);
    now = now_us();
    if (vg_rtc_poll_timeout(s->rtc) <= now) {
      (void)vg_rtc_handle_timeout(s->rtc, now);
      flush(s);
    }
    if (s->sending && now >= s->next_frame && s->frames_sent < MAX_FRAMES_PER_SESSION) {
      uint8_t payload[FRAME_LEN];
      frame_payload(s->frames_sent, payload);
      if (vg_rtc_send_audio(s->rtc, now, s->frames_sent * FRAME_TS, s->frames_sent == 0, payload,
                            sizeof payload) == VG_OK) {
        s->sent_at[s->frames_sent++] = now;
      }
      s->next_frame += FRAME_INTERVAL;
      if (s->next_frame < now) s->next_frame = now + FRAME_INTERVAL;
      flush(s);
    }
  }
}

/* Binds `fd` to the local address that routes to the server (port chosen
 * by the kernel) and adds it to the offer as our host candidate
 * (RFC 8839 §5.1), as a browser does. voxgate, being ICE-lite, learns the
 * address from our checks anyway; full agents such as aioice fail at once
 * when an offer has no candidate. Returns the new length, or `n` unchanged
 * (and `fd` unbound) when the address cannot be found. */
static int add_host_candidate(int fd, const char *server_host, char *offer, int n, size_t cap) {
  struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(9)};
  if (inet_pton(AF_INET, server_host, &dst.sin_addr) != 1) return n;
  /* A UDP connect sends nothing; it picks the route and so the source. */
  int probe = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in self;
  socklen_t sl = sizeof self;
  int ok = probe >= 0 && connect(probe, (struct sockaddr *)&dst, sizeof dst) == 0 &&
           getsockname(probe, (struct sockaddr *)&self, &sl) == 0;
  if (probe >= 0) close(probe);
  if (!ok) return n;
  self.sin_port = 0;
  sl = sizeof self;
  if (bind(fd, (struct sockaddr *)&self, sizeof self) < 0 ||
      getsockname(fd, (struct sockaddr *)&self, &sl) < 0)
    return n;
  char ip[INET_ADDRSTRLEN];
  const char *eoc = strstr(offer, "a=end-of-candidates\r\n");
  if (!eoc || !inet_ntop(AF_INET, &self.sin_addr, ip, sizeof ip)) return n;
  char line[128];
  int ll = snprintf(line, sizeof line, "a=candidate:1 1 udp 2130706431 %s %u typ host\r\n", ip,
                    (unsigned)ntohs(self.sin_port));
  size_t at = (size_t)(eoc - offer);
  if (ll <= 0 || (size_t)n + (size_t)ll + 1 > cap) return n;
  memmove(offer + at + ll, offer + at, (size_t)n - at + 1);
  memcpy(offer + at, line, (size_t)ll);
  return n + ll;
}

static void run_session(bench_t *b, int index, result_t *r) {
  for (int i = 0; i < PH_COUNT; i++) r->t[i] = -1;
  r->why[0] = '\0';
  session_t *s = calloc(1, sizeof *s);
  buf_t body = {0};
  char sid[16];
  snprintf(sid, sizeof sid, "bench%d", index);
  vg_rtc_config_t cfg = {.role = VG_RTC_ROLE_CLIENT, .cert = b->cert, .sid = sid};
  char offer[4096];
  int n;
  if (!s) {
    snprintf(r->why, sizeof r->why, "out of memory");
    return;
  }
  s->fd[0] = s->fd[1] = -1;
  s->r = r;
  s->any_echo = b->opt->any_echo;
  if (vg_rtc_create(&cfg, &s->rtc) < 0 ||
      (n = vg_rtc_create_offer(s->rtc, offer, sizeof offer)) <= 0) {
    snprintf(r->why, sizeof r->why, "could not make an offer");
    goto done;
  }
  s->fd[0] = open_udp(AF_INET);
  if (s->fd[0] >= 0 && !b->opt->no_candidate)
    n = add_host_candidate(s->fd[0], b->server_host, offer, n, sizeof offer);

  s->t0 = now_us();
  long code = http(b, "POST", b->whip_url, "application/sdp", offer, (size_t)n, &body, r->why,
                   sizeof r->why);
  if (code < 0) goto done;
  r->t[PH_ANSWER] = now_us() - s->t0;
  if (code != 201) {
    snprintf(r->why, sizeof r->why, "POST returned %ld: %.100s", code, body.data ? body.data : "");
    goto done;
  }
  struct curl_header *loc = NULL;
  if (curl_easy_header(b->curl, "Location", 0, CURLH_HEADER, -1, &loc) != CURLHE_OK || !loc) {
    snprintf(r->why, sizeof r->why, "201 without a Location header");
    goto done;
  }
  char session_url[600];
  if (strncmp(loc->value, "http://", 7) == 0 || strncmp(loc->value, "https://", 8) == 0)
    snprintf(session_url, sizeof session_url, "%s", loc->value);
  else
    snprintf(session_url, sizeof session_url, "%s%s", b->opt->url, loc->value);

  const char *why = NULL;
  if (vg_rtc_apply_answer(s->rtc, now_us(), body.data, body.len, &why) < 0) {
    snprintf(r->why, sizeof r->why, "the answer was refused: %s", why ? why : "?");
  } else {
    drive(s, s->t0 + b->opt->timeout);
  }

  if (b->opt->abandon) goto done; /* a vanished client: consent expiry must end it */
  /* Always end the server's session, whatever happened. */
  vg_time_t d0 = now_us();
  char dwhy[160] = "";
  code = http(b, "DELETE", session_url, NULL, NULL, 0, &body, dwhy, sizeof dwhy);
  r->t[PH_DELETE] = now_us() - d0;
  if (code != 200 && !r->why[0]) {
    if (code < 0) snprintf(r->why, sizeof r->why, "%s", dwhy);
    else snprintf(r->why, sizeof r->why, "DELETE returned %ld", code);
  }

done:
  for (int i = 0; i < 2; i++)
    if (s->fd[i] >= 0) close(s->fd[i]);
  vg_rtc_destroy(s->rtc);
  free(body.data);
  free(s);
}

/* --- results -------------------------------------------------------------- */

static int cmp_time(const void *a, const void *b) {
  vg_time_t x = *(const vg_time_t *)a, y = *(const vg_time_t *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static vg_time_t percentile(const vg_time_t *v, size_t n, int p) {
  size_t rank = (size_t)((p * n + 99) / 100);
  if (rank < 1) rank = 1;
  return v[rank - 1];
}

/* utime + stime of `pid` in clock ticks, or -1. */
static long long cpu_ticks(long pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  /* proc(5): "pid (comm) state ppid ... utime stime ..."; comm may hold
   * spaces and parentheses, so count fields after the last ')'. utime is
   * field 14 and stime 15: the 12th and 13th after it. */
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  long long utime = -1, stime = -1;
  int field = 2;
  for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
    field++;
    if (field == 14) utime = atoll(tok);
    if (field == 15) {
      stime = atoll(tok);
      break;
    }
  }
  return utime < 0 || stime < 0 ? -1 : utime + stime;
}

static double self_cpu_ms(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: vg_bench_connect [--url http://HOST:PORT] [-n N] [--server-pid PID]\n"
          "                        [--mode echo] [--token T] [--timeout-ms MS]\n"
          "                        [--fresh-connection] [--csv FILE] [--verbose]\n"
          "                        [--no-candidate] [--any-echo] [--abandon]\n"
          "Runs N sequential WHIP sessions against a running voxgate and prints\n"
          "median and p95 of each connection phase, measured from the offer POST.\n"
          "  --fresh-connection  a new TCP connection for every HTTP request\n"
          "  --no-candidate      offer no host candidate (the server learns it from checks)\n"
          "  --any-echo          any audio back is the echo (a transcoding server)\n"
          "  --abandon           never DELETE: each client just vanishes\n"
          "  --csv FILE          per-session times in microseconds\n");
}

static int parse_args(int argc, char **argv, options_t *o) {
  *o = (options_t){.url = "http://127.0.0.1:8080", .mode = "echo", .n = 200,
                   .timeout = VG_SEC(5)};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      exit(0);
    } else if (!strcmp(a, "--fresh-connection")) {
      o->fresh_connection = 1;
      continue;
    } else if (!strcmp(a, "--abandon")) {
      o->abandon = 1;
      continue;
    } else if (!strcmp(a, "--any-echo")) {
      o->any_echo = 1;
      continue;
    } else if (!strcmp(a, "--no-candidate")) {
      o->no_candidate = 1;
      continue;
    } else if (!strcmp(a, "--verbose")) {
      o->verbose = 1;
      continue;
    }
    if (!v) {
      fprintf(stderr, "vg_bench_connect: %s needs a value\n", a);
      return -1;
    }
    i++;
    if (!strcmp(a, "--url")) o->url = v;
    else if (!strcmp(a, "-n")) o->n = atoi(v);
    else if (!strcmp(a, "--server-pid")) o->server_pid = atol(v);
    else if (!strcmp(a, "--mode")) o->mode = v;
    else if (!strcmp(a, "--token")) o->token = v;
    else if (!strcmp(a, "--timeout-ms")) o->timeout = VG_MSEC(atol(v));
    else if (!strcmp(a, "--csv")) o->csv = v;
    else {
      fprintf(stderr, "vg_bench_connect: unknown option %s\n", a);
      return -1;
    }
  }
  if (o->n <= 0 || o->timeout <= 0) {
    fprintf(stderr, "vg_bench_connect: -n and --timeout-ms must be positive\n");
    return -1;
  }
  return 0;
}

static void print_table(const options_t *o, const result_t *res) {
  vg_time_t *v = malloc(sizeof *v * (size_t)o->n);
  if (!v) return;
  printf("%-26s %9s %9s %9s %9s %9s\n", "phase (ms)", "median", "p95", "min", "max", "mean");
  for (int ph = 0; ph < PH_COUNT; ph++) {
    size_t m = 0;
    double sum = 0;
    for (int i = 0; i < o->n; i++)
      if (!res[i].why[0] && res[i].t[ph] >= 0) {
        v[m++] = res[i].t[ph];
        sum += (double)res[i].t[ph];
      }
    if (m == 0) {
      printf("%-26s %9s\n", phase_name[ph], "-");
      continue;
    }
    qsort(v, m, sizeof *v, cmp_time);
    printf("%-26s %9.2f %9.2f %9.2f %9.2f %9.2f\n", phase_name[ph],
           (double)percentile(v, m, 50) / 1e3, (double)percentile(v, m, 95) / 1e3,
           (double)v[0] / 1e3, (double)v[m - 1] / 1e3, sum / (double)m / 1e3);
  }
  free(v);
}

static void write_csv(const options_t *o, const result_t *res) {
  FILE *f = fopen(o->csv, "w");
  if (!f) {
    fprintf(stderr, "vg_bench_connect: cannot write %s: %s\n", o->csv, strerror(errno));
    return;
  }
  fprintf(f, "session,answer_us,ice_us,dtls_us,first_echo_us,frame_rtt_us,delete_us,error\n");
  for (int i = 0; i < o->n; i++) {
    fprintf(f, "%d", i);
    for (int ph = 0; ph < PH_COUNT; ph++) fprintf(f, ",%lld", (long long)res[i].t[ph]);
    fprintf(f, ",\"%s\"\n", res[i].why);
  }
  fclose(f);
}

int main(int argc, char **argv) {
  options_t opt;
  if (parse_args(argc, argv, &opt) < 0) {
    usage(stderr);
    return 2;
  }
  vg_log_set_level(opt.verbose ? VG_LOG_DEBUG : VG_LOG_ERROR);
  bench_t b = {.opt = &opt};
  snprintf(b.whip_url, sizeof b.whip_url, "%s/whip?mode=%s", opt.url, opt.mode);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(b.curl = curl_easy_init()) ||
      vg_srtp_global_init() < 0 || vg_dtls_cert_create(&b.cert) < 0) {
    fprintf(stderr, "vg_bench_connect: initialisation failed\n");
    return 1;
  }
  CURLU *u = curl_url();
  char *host = NULL;
  if (u && curl_url_set(u, CURLUPART_URL, opt.url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
    snprintf(b.server_host, sizeof b.server_host, "%s", host);
  curl_free(host);
  curl_url_cleanup(u);
  /* Loopback or a LAN: a refused or hung request is a failure, not a wait. */
  curl_easy_setopt(b.curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(b.curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(b.curl, CURLOPT_TCP_NODELAY, 1L);

  result_t *res = calloc((size_t)opt.n, sizeof *res);
  if (!res) return 1;
  long tck = sysconf(_SC_CLK_TCK);
  long long cpu0 = opt.server_pid ? cpu_ticks(opt.server_pid) : -1;
  double self0 = self_cpu_ms();
  vg_time_t w0 = now_us();
  int ok = 0;
  for (int i = 0; i < opt.n; i++) {
    run_session(&b, i, &res[i]);
    if (res[i].why[0]) fprintf(stderr, "session %d: %s\n", i, res[i].why);
    else ok++;
  }
  vg_time_t wall = now_us() - w0;
  long long cpu1 = opt.server_pid ? cpu_ticks(opt.server_pid) : -1;
  double self1 = self_cpu_ms();

  printf("voxgate connect benchmark: %d sequential sessions against %s (mode %s, %s)\n", opt.n,
         opt.url, opt.mode, opt.fresh_connection ? "new TCP connection per request" : "HTTP keep-alive");
  printf("%d succeeded, %d failed; %.2f s wall\n", ok, opt.n - ok, (double)wall / 1e6);
  print_table(&opt, res);
  if (cpu0 >= 0 && cpu1 >= 0) {
    double ms = (double)(cpu1 - cpu0) * 1000.0 / (double)tck;
    printf("server CPU (utime+stime): %.1f ms in all, %.3f ms per session (%lld ticks of 1/%ld s)\n",
           ms, ms / opt.n, cpu1 - cpu0, tck);
  } else if (opt.server_pid) {
    printf("server CPU: could not read /proc/%ld/stat\n", opt.server_pid);
  }
  printf("bench client CPU: %.3f ms per session\n", (self1 - self0) / opt.n);
  if (opt.csv) write_csv(&opt, res);

  free(res);
  vg_dtls_cert_destroy(b.cert);
  curl_easy_cleanup(b.curl);
  curl_global_cleanup();
  return ok == opt.n ? 0 : 1;
}
