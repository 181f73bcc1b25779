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
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "bench.h"
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
  const options_t *opt;
  vg_bench_http_t http;
  vg_dtls_cert_t *cert;
  char whip_url[512];
} bench_t;

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

/* Sends every queued datagram and handles every queued event. */
static void flush(session_t *s) {
  vg_bench_send_queued(s->rtc, s->fd);
  /* Events are stamped when we see them, after the core has done the
   * work that produced them (the input's `now` is from before it). */
  vg_time_t now = vg_bench_now();
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
  while (vg_bench_recv_one(s->rtc, fd)) flush(s);
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
    vg_time_t now = vg_bench_now();
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
    now = vg_bench_now();
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

static void run_session(bench_t *b, int index, result_t *r) {
  for (int i = 0; i < PH_COUNT; i++) r->t[i] = -1;
  r->why[0] = '\0';
  session_t *s = calloc(1, sizeof *s);
  vg_bench_buf_t body = {0};
  char sid[16];
  snprintf(sid, sizeof sid, "bench%d", index);
  vg_rtc_config_t cfg = {.role = VG_RTC_ROLE_CLIENT, .cert = b->cert, .sid = sid};
  vg_bench_whip_t w = {.answer_at = -1};
  if (!s) {
    snprintf(r->why, sizeof r->why, "out of memory");
    return;
  }
  s->fd[0] = s->fd[1] = -1;
  s->r = r;
  s->any_echo = b->opt->any_echo;
  if (vg_rtc_create(&cfg, &s->rtc) < 0) {
    snprintf(r->why, sizeof r->why, "could not make an offer");
    goto done;
  }
  s->fd[0] = vg_bench_open_udp(AF_INET);
  int started = vg_bench_whip_start(&b->http, s->rtc, s->fd[0], b->opt->url, b->whip_url,
                                    !b->opt->no_candidate, &w, r->why, sizeof r->why);
  s->t0 = w.t0;
  if (w.answer_at >= 0) r->t[PH_ANSWER] = w.answer_at - w.t0;
  if (!w.url[0]) goto done; /* no session on the server */
  if (started == 0) drive(s, s->t0 + b->opt->timeout);

  if (b->opt->abandon) goto done; /* a vanished client: consent expiry must end it */
  /* Always end the server's session, whatever happened. */
  vg_time_t d0 = vg_bench_now();
  char dwhy[160] = "";
  long code = vg_bench_http(&b->http, "DELETE", w.url, NULL, NULL, 0, &body, dwhy, sizeof dwhy);
  r->t[PH_DELETE] = vg_bench_now() - d0;
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
  enum { URL = 256, SERVER_PID, MODE, TOKEN, TIMEOUT_MS, CSV };
  const struct option opts[] = {
      {"help", no_argument, NULL, 'h'},
      {"url", required_argument, NULL, URL},
      {"server-pid", required_argument, NULL, SERVER_PID},
      {"mode", required_argument, NULL, MODE},
      {"token", required_argument, NULL, TOKEN},
      {"timeout-ms", required_argument, NULL, TIMEOUT_MS},
      {"csv", required_argument, NULL, CSV},
      {"fresh-connection", no_argument, &o->fresh_connection, 1},
      {"abandon", no_argument, &o->abandon, 1},
      {"any-echo", no_argument, &o->any_echo, 1},
      {"no-candidate", no_argument, &o->no_candidate, 1},
      {"verbose", no_argument, &o->verbose, 1},
      {NULL, 0, NULL, 0}};
  long ms = 0;
  int c, bad = 0;
  while (!bad && (c = getopt_long(argc, argv, "hn:", opts, NULL)) != -1) {
    switch (c) {
    case 'h': usage(stdout); exit(0);
    case 'n': bad = vg_bench_parse_int("-n", optarg, 1, 1000000, &o->n); break;
    case URL: o->url = optarg; break;
    case SERVER_PID:
      bad = vg_bench_parse_long("--server-pid", optarg, 0, INT_MAX, &o->server_pid);
      break;
    case MODE: o->mode = optarg; break;
    case TOKEN: o->token = optarg; break;
    case TIMEOUT_MS:
      bad = vg_bench_parse_long("--timeout-ms", optarg, 1, 3600000, &ms);
      if (!bad) o->timeout = VG_MSEC(ms);
      break;
    case CSV: o->csv = optarg; break;
    case 0: break; /* a flag, set by getopt_long */
    default: return -1; /* getopt_long said why */
    }
  }
  if (bad) return -1;
  if (optind < argc) {
    fprintf(stderr, "vg_bench_connect: unexpected argument '%s'\n", argv[optind]);
    return -1;
  }
  return 0;
}

static void print_table(const options_t *o, const result_t *res) {
  double *v = malloc(sizeof *v * (size_t)o->n);
  if (!v) return;
  printf("%-26s %9s %9s %9s %9s %9s\n", "phase (ms)", "median", "p95", "min", "max", "mean");
  for (int ph = 0; ph < PH_COUNT; ph++) {
    size_t m = 0;
    double sum = 0;
    for (int i = 0; i < o->n; i++)
      if (!res[i].why[0] && res[i].t[ph] >= 0) {
        v[m++] = (double)res[i].t[ph];
        sum += (double)res[i].t[ph];
      }
    if (m == 0) {
      printf("%-26s %9s\n", phase_name[ph], "-");
      continue;
    }
    qsort(v, m, sizeof *v, vg_bench_cmp_double);
    printf("%-26s %9.2f %9.2f %9.2f %9.2f %9.2f\n", phase_name[ph],
           vg_bench_percentile(v, m, 50) / 1e3, vg_bench_percentile(v, m, 95) / 1e3, v[0] / 1e3,
           v[m - 1] / 1e3, sum / (double)m / 1e3);
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
  if (vg_bench_http_init(&b.http, opt.token) < 0 || vg_srtp_global_init() < 0 ||
      vg_dtls_cert_create(&b.cert) < 0) {
    fprintf(stderr, "vg_bench_connect: initialisation failed\n");
    return 1;
  }
  b.http.fresh_connection = opt.fresh_connection;

  result_t *res = calloc((size_t)opt.n, sizeof *res);
  if (!res) return 1;
  double cpu0 = opt.server_pid ? vg_bench_cpu_s(opt.server_pid) : -1;
  double self0 = vg_bench_self_cpu_ms();
  vg_time_t w0 = vg_bench_now();
  int ok = 0;
  for (int i = 0; i < opt.n; i++) {
    run_session(&b, i, &res[i]);
    if (res[i].why[0]) fprintf(stderr, "session %d: %s\n", i, res[i].why);
    else ok++;
  }
  vg_time_t wall = vg_bench_now() - w0;
  double cpu1 = opt.server_pid ? vg_bench_cpu_s(opt.server_pid) : -1;
  double self1 = vg_bench_self_cpu_ms();

  printf("voxgate connect benchmark: %d sequential sessions against %s (mode %s, %s)\n", opt.n,
         opt.url, opt.mode, opt.fresh_connection ? "new TCP connection per request" : "HTTP keep-alive");
  printf("%d succeeded, %d failed; %.2f s wall\n", ok, opt.n - ok, (double)wall / 1e6);
  print_table(&opt, res);
  if (cpu0 >= 0 && cpu1 >= 0) {
    double ms = (cpu1 - cpu0) * 1000.0;
    printf("server CPU (utime+stime): %.1f ms in all, %.3f ms per session (ticks of 1/%ld s)\n", ms,
           ms / opt.n, sysconf(_SC_CLK_TCK));
  } else if (opt.server_pid) {
    printf("server CPU: could not read /proc/%ld/stat\n", opt.server_pid);
  }
  printf("bench client CPU: %.3f ms per session\n", (self1 - self0) / opt.n);
  if (opt.csv) write_csv(&opt, res);

  free(res);
  vg_dtls_cert_destroy(b.cert);
  vg_bench_http_cleanup(&b.http);
  return ok == opt.n ? 0 : 1;
}
