/* voxgate_load: N concurrent echo sessions against voxgate, Janus
 * (echotest) or aiortc, and what they cost the server.
 *
 *   ramp ──► every session connected ──► hold ──► drain ──► close ──► +2 s
 *   sample    sample                     sample   sample              sample
 *
 * Sessions open at --ramp per second (the offer POST starts each one's
 * connect clock), send real Opus speech at 50 packets/s from the moment
 * DTLS is up, and are matched to their echoes frame by frame (load_media.c).
 * The server's CPU (utime+stime), RSS and open files are read from /proc at
 * each sample. With --churn, sessions come and go instead: --sessions at a
 * time, each exchanging a few frames, until TOTAL have been opened.
 *
 * Output: progress on stderr; a summary and one `LOAD_RESULT {json}` line
 * on stdout (and the JSON alone in --json FILE). Exit 0 when every session
 * connected, 1 otherwise, 2 for bad usage. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <opus.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/log.h"
#include "bench.h"
#include "core/srtp.h"
#include "load.h"

#define TAG_SESSION 1u
#define TAG_CURL 2u
#define TAG_TIMER 3u
#define DEFAULT_SPEECH "/usr/share/pocketsphinx/test/data/goforward.raw"
#define SPEECH_RATE 16000 /* the speech file: raw s16le mono at 16 kHz */
#define CHURN_FRAMES 10   /* frames a churn session exchanges before closing */
#define HTTP_CONNS 32

/* --- options ------------------------------------------------------------------ */

static void usage(FILE *f) {
  fprintf(f,
          "usage: voxgate_load --url URL [--target whip|janus|aiortc] [--sessions N]\n"
          "       [--ramp R] [--hold S] [--transport udp|tcp] [--bind IP] [--idle]\n"
          "       [--churn TOTAL] [--server-pid PID] [--json FILE] [--token T]\n"
          "       [--speech FILE] [--rebased-ts|--exact-ts] [--connect-timeout S] [--verbose]\n"
          "  --url URL          voxgate http://IP:PORT, Janus http://IP:8088/janus,\n"
          "                     aiortc http://IP:PORT/offer\n"
          "  --sessions N       concurrent sessions (default 10)\n"
          "  --ramp R           new sessions per second (default 50)\n"
          "  --hold S           seconds to hold every session with media (default 10)\n"
          "  --transport tcp    ICE-TCP (RFC 6544 active, RFC 4571 framing) instead of UDP\n"
          "  --bind IP          local address of the sessions' sockets (default: the\n"
          "                     address that routes to the server)\n"
          "  --idle             connect and hold without media (the memory figure)\n"
          "  --churn TOTAL      open and close TOTAL sessions, --sessions at a time,\n"
          "                     each exchanging %d frames first (+%d with rebased\n"
          "                     timestamps)\n"
          "  --server-pid PID   sample the server's CPU, RSS and open files from /proc\n"
          "  --json FILE        also write the result as JSON\n"
          "  --speech FILE      raw s16le mono 16 kHz speech to encode (default\n"
          "                     %s)\n"
          "  --rebased-ts       the echo's RTP timestamps are ours plus a constant (Janus\n"
          "                     rewrites them, aiortc re-encodes; the default for both):\n"
          "                     learn the offset, then match exactly\n"
          "  --exact-ts         the echo carries our timestamps (voxgate; the default)\n"
          "  --connect-timeout S  a session not echoing after S s failed (default 10)\n",
          CHURN_FRAMES, LOAD_TS_MARK, DEFAULT_SPEECH);
}

static int parse_args(int argc, char **argv, load_opts_t *o) {
  *o = (load_opts_t){.sessions = 10, .ramp = 50, .hold_s = 10, .connect_timeout_s = 10,
                     .speech = DEFAULT_SPEECH};
  int rebased = -1; /* -1: by target */
  enum { URL = 256, TARGET, SESSIONS, RAMP, HOLD, TRANSPORT, BIND, CHURN, SERVER_PID, JSON,
         TOKEN, SPEECH, CONNECT_TIMEOUT, IDLE, REBASED_TS, EXACT_TS, VERBOSE };
  static const struct option opts[] = {
      {"help", no_argument, NULL, 'h'},
      {"url", required_argument, NULL, URL},
      {"target", required_argument, NULL, TARGET},
      {"sessions", required_argument, NULL, SESSIONS},
      {"ramp", required_argument, NULL, RAMP},
      {"hold", required_argument, NULL, HOLD},
      {"transport", required_argument, NULL, TRANSPORT},
      {"bind", required_argument, NULL, BIND},
      {"churn", required_argument, NULL, CHURN},
      {"server-pid", required_argument, NULL, SERVER_PID},
      {"json", required_argument, NULL, JSON},
      {"token", required_argument, NULL, TOKEN},
      {"speech", required_argument, NULL, SPEECH},
      {"connect-timeout", required_argument, NULL, CONNECT_TIMEOUT},
      {"idle", no_argument, NULL, IDLE},
      {"rebased-ts", no_argument, NULL, REBASED_TS},
      {"exact-ts", no_argument, NULL, EXACT_TS},
      {"verbose", no_argument, NULL, VERBOSE},
      {NULL, 0, NULL, 0}};
  int c, bad = 0;
  while (!bad && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'h': usage(stdout); exit(0);
    case URL: o->url = optarg; break;
    case TARGET:
      if (!strcmp(optarg, "whip")) o->target = LOAD_TARGET_WHIP;
      else if (!strcmp(optarg, "janus")) o->target = LOAD_TARGET_JANUS;
      else if (!strcmp(optarg, "aiortc")) o->target = LOAD_TARGET_AIORTC;
      else {
        fprintf(stderr, "voxgate_load: --target is whip, janus or aiortc\n");
        return -1;
      }
      break;
    case SESSIONS: bad = vg_bench_parse_int("--sessions", optarg, 1, 100000, &o->sessions); break;
    case RAMP: bad = vg_bench_parse_int("--ramp", optarg, 1, 100000, &o->ramp); break;
    case HOLD: bad = vg_bench_parse_int("--hold", optarg, 0, 86400, &o->hold_s); break;
    case TRANSPORT:
      if (strcmp(optarg, "udp") != 0 && strcmp(optarg, "tcp") != 0) {
        fprintf(stderr, "voxgate_load: --transport is udp or tcp\n");
        return -1;
      }
      o->tcp = !strcmp(optarg, "tcp");
      break;
    case BIND: o->bind_ip = optarg; break;
    case CHURN: bad = vg_bench_parse_int("--churn", optarg, 0, 100000000, &o->churn); break;
    case SERVER_PID:
      bad = vg_bench_parse_long("--server-pid", optarg, 0, INT_MAX, &o->server_pid);
      break;
    case JSON: o->json_path = optarg; break;
    case TOKEN: o->token = optarg; break;
    case SPEECH: o->speech = optarg; break;
    case CONNECT_TIMEOUT:
      bad = vg_bench_parse_int("--connect-timeout", optarg, 1, 3600, &o->connect_timeout_s);
      break;
    case IDLE: o->idle = true; break;
    case REBASED_TS: rebased = 1; break;
    case EXACT_TS: rebased = 0; break;
    case VERBOSE: o->verbose = true; break;
    default: return -1; /* getopt_long said why */
    }
  }
  if (bad) return -1;
  if (optind < argc) {
    fprintf(stderr, "voxgate_load: unexpected argument '%s'\n", argv[optind]);
    return -1;
  }
  if (!o->url) {
    fprintf(stderr, "voxgate_load: --url is required\n");
    return -1;
  }
  if (o->idle && o->churn) {
    fprintf(stderr, "voxgate_load: --churn sessions exchange frames; it cannot be --idle\n");
    return -1;
  }
  o->rebased = rebased >= 0 ? rebased : o->target != LOAD_TARGET_WHIP;
  return 0;
}

/* --- speech -------------------------------------------------------------------- */

/* Encodes the speech file once into 20 ms Opus packets (VOIP, 32 kb/s, as a
 * browser sends voice), looped by every session. */
static int load_speech(const char *path, load_speech_t *sp) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "voxgate_load: cannot read %s: %s (pocketsphinx-testdata, or --speech)\n",
            path, strerror(errno));
    return -1;
  }
  enum { FRAME = SPEECH_RATE / 50, MAX_PKT = 400 };
  int err;
  OpusEncoder *enc = opus_encoder_create(SPEECH_RATE, 1, OPUS_APPLICATION_VOIP, &err);
  if (!enc) {
    fclose(f);
    return -1;
  }
  opus_encoder_ctl(enc, OPUS_SET_BITRATE(32000));
  size_t cap = 256;
  sp->data = malloc(cap * MAX_PKT);
  sp->off = malloc(cap * sizeof *sp->off);
  sp->len = malloc(cap * sizeof *sp->len);
  sp->n = 0;
  int16_t pcm[FRAME];
  size_t used = 0;
  while (sp->data && sp->off && sp->len && fread(pcm, sizeof pcm, 1, f) == 1) {
    if (sp->n == cap) {
      cap *= 2;
      sp->data = realloc(sp->data, cap * MAX_PKT);
      sp->off = realloc(sp->off, cap * sizeof *sp->off);
      sp->len = realloc(sp->len, cap * sizeof *sp->len);
      if (!sp->data || !sp->off || !sp->len) break;
    }
    int n = opus_encode(enc, pcm, FRAME, sp->data + used, MAX_PKT);
    if (n <= 0) break;
    sp->off[sp->n] = (uint32_t)used;
    sp->len[sp->n] = (uint16_t)n;
    used += (size_t)n;
    sp->n++;
  }
  opus_encoder_destroy(enc);
  fclose(f);
  if (sp->n == 0) {
    fprintf(stderr, "voxgate_load: no speech in %s\n", path);
    return -1;
  }
  return 0;
}

/* --- the server from /proc -------------------------------------------------------- */

typedef struct {
  double cpu_s;
  long rss_kb, fds;
} server_sample_t;

static long count_fds(long pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/fd", pid);
  DIR *d = opendir(path);
  if (!d) return -1;
  long n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

static server_sample_t sample(long pid) {
  server_sample_t s = {-1, -1, -1};
  if (pid <= 0) return s;
  s.cpu_s = vg_bench_cpu_s(pid);
  s.rss_kb = vg_bench_status_kb(pid, "VmRSS");
  s.fds = count_fds(pid);
  return s;
}

/* --- the loop ------------------------------------------------------------------- */

/* SIGINT / SIGTERM: stop opening, end the hold, close and report. */
static volatile sig_atomic_t stop_requested;
static void on_stop_signal(int sig) { stop_requested = sig; }

static uint64_t tag(uint32_t t, uint32_t v) { return ((uint64_t)t << 56) | v; }

typedef struct {
  load_run_t *run;
  int timer_fd;
  int slot;
  vg_time_t t0;      /* the ramp's start */
  int total;         /* sessions to open */
  vg_time_t next_progress;
} loop_t;

static int active(const load_run_t *run) { return run->opened - run->closed; }

/* Opens what the ramp allows: R per second since t0, `total` in all, and in
 * churn mode at most --sessions at a time. */
static void ramp(loop_t *l, vg_time_t now) {
  load_run_t *run = l->run;
  int64_t allowed = (now - l->t0) * run->opt.ramp / VG_SEC(1) + 1;
  while (run->opened < l->total && run->opened < allowed && active(run) < run->opt.sessions) {
    int idx = -1;
    for (int i = 0; i < run->opt.sessions && idx < 0; i++)
      if (run->s[i].state == SS_FREE) idx = i;
    if (idx < 0) return;
    (void)load_session_open(run, &run->s[idx], idx);
  }
}

static void progress(loop_t *l, vg_time_t now, const char *what) {
  load_run_t *run = l->run;
  if (now < l->next_progress) return;
  l->next_progress = now + VG_SEC(1);
  const load_counts_t *c = &run->counts[run->phase];
  fprintf(stderr, "[%6.1f s] %-5s opened %d connected %d failed %d active %d | sent %llu echoed %llu lost %llu\n",
          (double)(now - l->t0) / 1e6, what, run->opened, run->connected, run->failed, active(run),
          (unsigned long long)c->sent, (unsigned long long)c->received,
          (unsigned long long)c->lost);
}

static void on_slot(loop_t *l, vg_time_t now) {
  load_run_t *run = l->run;
  load_sessions_drain_input(run);
  for (int i = l->slot; i < run->opt.sessions; i += LOAD_SLOTS) load_session_tick(&run->s[i], now);
  l->slot = (l->slot + 1) % LOAD_SLOTS;
}

/* Runs the loop until `until` (monotonic), `done` says so, or (when
 * `stoppable`) a stop signal came. */
static void run_for(loop_t *l, vg_time_t until, bool opening, bool stoppable, const char *what,
                    bool (*done)(const loop_t *)) {
  load_run_t *run = l->run;
  struct epoll_event evs[256];
  for (;;) {
    vg_time_t now = vg_bench_now();
    if (now >= until || (done && done(l)) || (stoppable && stop_requested)) return;
    vg_time_t wake = until;
    if (run->sig) wake = vg_time_min(wake, load_sig_deadline(run->sig));
    int ms = wake <= now ? 0 : (int)((wake - now + 999) / 1000);
    int n = epoll_wait(run->epfd, evs, 256, ms);
    for (int i = 0; i < n; i++) {
      uint32_t t = (uint32_t)(evs[i].data.u64 >> 56);
      uint32_t v = (uint32_t)evs[i].data.u64;
      if (t == TAG_SESSION) {
        load_session_readable(&run->s[v], evs[i].events);
      } else if (t == TAG_CURL && run->sig) {
        load_sig_on_fd(run->sig, (int)v, evs[i].events);
      } else if (t == TAG_TIMER) {
        uint64_t ticks = 0;
        if (read(l->timer_fd, &ticks, sizeof ticks) != sizeof ticks) ticks = 0;
        vg_time_t tnow = vg_bench_now();
        /* A late wake-up runs every slot it missed, up to one interval;
         * beyond that, frames were not sent (the machine is too busy for
         * the generator): counted, and reported. */
        for (uint64_t k = 0; k < ticks && k < LOAD_SLOTS; k++) on_slot(l, tnow);
        if (ticks > LOAD_SLOTS) run->skipped_slots += ticks - LOAD_SLOTS;
        if (ticks > 1) run->late_ticks++;
        if (opening && !stop_requested) ramp(l, tnow);
        progress(l, tnow, what);
      }
    }
    if (run->sig && load_sig_deadline(run->sig) <= vg_bench_now()) load_sig_on_timeout(run->sig);
  }
}

static bool all_settled(const loop_t *l) {
  const load_run_t *run = l->run;
  return run->opened == l->total && run->connected + run->failed >= l->total;
}

static bool all_closed(const loop_t *l) {
  return l->run->closed == l->run->opened && load_sig_inflight(l->run->sig) == 0;
}

static bool churn_done(const loop_t *l) {
  return (l->run->opened == l->total || stop_requested) && all_closed(l);
}

static void close_all(load_run_t *run) {
  for (int i = 0; i < run->opt.sessions; i++) load_session_close(&run->s[i]);
}

/* --- figures ------------------------------------------------------------------ */

/* The value (ms) below which p % of the histogram's samples lie. */
static double hist_pct(const uint32_t *h, uint64_t total, double p) {
  if (total == 0) return -1;
  uint64_t want = (uint64_t)((double)total * p / 100.0 + 0.5), acc = 0;
  if (want < 1) want = 1;
  for (int b = 0; b <= LOAD_HIST_BINS; b++) {
    acc += h[b];
    if (acc >= want) return (double)(b + 1) * LOAD_HIST_BIN_US / 1e3;
  }
  return (double)LOAD_HIST_BINS * LOAD_HIST_BIN_US / 1e3;
}

static double hist_max(const uint32_t *h) {
  for (int b = LOAD_HIST_BINS; b >= 0; b--)
    if (h[b]) return (double)(b + 1) * LOAD_HIST_BIN_US / 1e3;
  return -1;
}

static uint64_t hist_total(const uint32_t *h) {
  uint64_t t = 0;
  for (int b = 0; b <= LOAD_HIST_BINS; b++) t += h[b];
  return t;
}

static double loss_pct(const load_counts_t *c) {
  return c->sent ? 100.0 * (double)c->lost / (double)c->sent : 0;
}

static json_t *counts_json(const load_counts_t *c) {
  return json_pack("{s:I,s:I,s:f,s:I,s:I,s:I,s:I,s:I,s:{s:f,s:f,s:f}}", "packets_sent",
                   (json_int_t)c->sent, "packets_received", (json_int_t)c->received, "loss_pct",
                   loss_pct(c), "reordered", (json_int_t)c->reordered, "duplicates",
                   (json_int_t)c->duplicates, "late", (json_int_t)c->late, "unmatched",
                   (json_int_t)c->unmatched, "altered", (json_int_t)c->altered, "rtt_ms", "p50",
                   hist_pct(c->rtt, c->received, 50),
                   "p99", hist_pct(c->rtt, c->received, 99), "max", hist_max(c->rtt));
}

static const char *target_name(load_target_t t) {
  return t == LOAD_TARGET_JANUS ? "janus" : t == LOAD_TARGET_AIORTC ? "aiortc" : "whip";
}

typedef struct {
  server_sample_t start, connected, end, after;
  double hold_s;         /* the measured hold (all connected -> sending stopped) */
  double gen_cpu_s;      /* our own CPU over the hold */
  double gen_cpu_total_s;
  double wall_s;
} figures_t;

/* What the summary and the JSON both print, derived once. */
typedef struct {
  bool held;               /* a hold with media: the main figures are its own */
  const load_counts_t *c;  /* the main figures */
  int requested;
  double c50, c95, c99, cmax; /* connect ms; -1 without any */
  double jit99, cpu_hold, per_sess, rss_per;
  double la[3];
  const char *first_err;
} summary_t;

static summary_t summarise(load_run_t *run, const figures_t *fg) {
  const load_opts_t *o = &run->opt;
  summary_t m = {.held = !run->churn_mode && o->hold_s > 0, .la = {-1, -1, -1}};
  m.c = &run->counts[m.held ? PHASE_HOLD : PHASE_RAMP];
  m.requested = run->churn_mode ? o->churn : o->sessions;
  double *cm = run->connect_ms;
  size_t nc = run->n_connect;
  m.c50 = m.c95 = m.c99 = m.cmax = -1;
  if (nc) {
    qsort(cm, nc, sizeof *cm, vg_bench_cmp_double);
    m.c50 = vg_bench_percentile(cm, nc, 50);
    m.c95 = vg_bench_percentile(cm, nc, 95);
    m.c99 = vg_bench_percentile(cm, nc, 99);
    m.cmax = cm[nc - 1];
  }
  m.jit99 = hist_pct(run->jitter_hist, hist_total(run->jitter_hist), 99);
  m.cpu_hold = fg->end.cpu_s >= 0 && fg->connected.cpu_s >= 0 ? fg->end.cpu_s - fg->connected.cpu_s
                                                              : -1;
  m.per_sess = m.cpu_hold >= 0 && run->connected && fg->hold_s > 0
                   ? m.cpu_hold * 1e3 / run->connected / fg->hold_s
                   : -1;
  m.rss_per = fg->connected.rss_kb >= 0 && run->connected
                  ? (double)(fg->connected.rss_kb - fg->start.rss_kb) / run->connected
                  : -1;
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    if (fscanf(f, "%lf %lf %lf", &m.la[0], &m.la[1], &m.la[2]) != 3) m.la[0] = -1;
    fclose(f);
  }
  for (int i = 0; i < o->sessions && !m.first_err; i++)
    if (run->s[i].why[0]) m.first_err = run->s[i].why;
  return m;
}

static void print_summary(const load_run_t *run, const figures_t *fg, const summary_t *m) {
  const load_opts_t *o = &run->opt;
  const load_counts_t *c = m->c;
  printf("voxgate_load: %s %s, %s, %d sessions", target_name(o->target), o->tcp ? "ICE-TCP" : "UDP",
         run->churn_mode ? "churn" : o->idle ? "idle" : "echo", m->requested);
  if (run->churn_mode) printf(", %d at a time", o->sessions);
  printf("\n  connected %d, failed %d; connect (offer -> %s) ms p50 %.1f p95 %.1f p99 %.1f max %.1f\n",
         run->connected, run->failed, o->idle ? "DTLS up" : "first echo", m->c50, m->c95, m->c99,
         m->cmax);
  if (!o->idle)
    printf("  %s: sent %llu, echoed %llu, lost %llu (%.3f %%), reordered %llu, duplicates %llu,"
           " late %llu, altered %llu\n  RTT ms p50 %.2f p99 %.2f max %.2f; jitter (RFC 3550, per"
           " session) p99 %.2f ms\n",
           m->held ? "hold" : "all", (unsigned long long)c->sent, (unsigned long long)c->received,
           (unsigned long long)c->lost, loss_pct(c), (unsigned long long)c->reordered,
           (unsigned long long)c->duplicates, (unsigned long long)c->late,
           (unsigned long long)c->altered,
           hist_pct(c->rtt, c->received, 50), hist_pct(c->rtt, c->received, 99), hist_max(c->rtt),
           m->jit99);
  if (m->held && !o->idle) {
    const load_counts_t *r = &run->counts[PHASE_RAMP];
    printf("  ramp: sent %llu, lost %llu (%.3f %%), RTT ms p50 %.2f p99 %.2f\n",
           (unsigned long long)r->sent, (unsigned long long)r->lost, loss_pct(r),
           hist_pct(r->rtt, r->received, 50), hist_pct(r->rtt, r->received, 99));
  }
  const char *span = run->churn_mode ? "churn" : "hold";
  if (o->server_pid)
    printf("  server: CPU %.2f s over %.1f s of %s = %.3f ms per session-second; RSS kB start %ld"
           " connected %ld end %ld after %ld (%.1f kB per session); fds start %ld after %ld\n",
           m->cpu_hold, fg->hold_s, span, m->per_sess, fg->start.rss_kb, fg->connected.rss_kb,
           fg->end.rss_kb, fg->after.rss_kb, m->rss_per, fg->start.fds, fg->after.fds);
  printf("  generator: CPU %.2f s over the %s (%.0f %% of a core), %.2f s in all over %.1f s;"
         " load average %.2f %.2f %.2f\n",
         fg->gen_cpu_s, span, fg->hold_s > 0 ? 100.0 * fg->gen_cpu_s / fg->hold_s : 0,
         fg->gen_cpu_total_s, fg->wall_s, m->la[0], m->la[1], m->la[2]);
  printf("  generator woke late (> %d ms) %llu times; %llu slots (%.1f s of frames) skipped%s\n",
         (int)(LOAD_FRAME_INTERVAL / LOAD_SLOTS / 1000), (unsigned long long)run->late_ticks,
         (unsigned long long)run->skipped_slots,
         (double)run->skipped_slots * LOAD_FRAME_INTERVAL / LOAD_SLOTS / 1e6,
         run->skipped_slots ? ": the machine was too busy for it" : "");
  if (m->first_err) printf("  first error: %s\n", m->first_err);
}

static json_t *result_json(const load_run_t *run, const figures_t *fg, const summary_t *m) {
  const load_opts_t *o = &run->opt;
  json_t *j = counts_json(m->c);
  json_object_update_new(
      j, json_pack("{s:s,s:s,s:s,s:i,s:i,s:i,s:{s:f,s:f,s:f,s:f},s:f,s:f}", "target",
                   target_name(o->target), "transport", o->tcp ? "tcp" : "udp", "mode",
                   run->churn_mode ? "churn" : o->idle ? "idle" : "echo", "sessions_requested",
                   m->requested, "sessions_connected", run->connected, "sessions_failed",
                   run->failed, "connect_ms", "p50", m->c50, "p95", m->c95, "p99", m->c99, "max",
                   m->cmax, "jitter_ms_p99", m->jit99, "hold_s", fg->hold_s));
  if (m->held) json_object_set_new(j, "ramp", counts_json(&run->counts[PHASE_RAMP]));
  json_object_set_new(
      j, "server",
      json_pack("{s:f,s:f,s:I,s:I,s:I,s:I,s:I,s:I,s:f}", "cpu_s_hold", m->cpu_hold,
                "cpu_ms_per_session_s", m->per_sess, "rss_kb_start", (json_int_t)fg->start.rss_kb,
                "rss_kb_connected", (json_int_t)fg->connected.rss_kb, "rss_kb_end",
                (json_int_t)fg->end.rss_kb, "rss_kb_after", (json_int_t)fg->after.rss_kb,
                "fds_start", (json_int_t)fg->start.fds, "fds_after", (json_int_t)fg->after.fds,
                "rss_kb_per_session", m->rss_per));
  json_object_set_new(j, "loadgen_cpu_s", json_real(fg->gen_cpu_s));
  json_object_set_new(j, "loadgen_cpu_total_s", json_real(fg->gen_cpu_total_s));
  json_object_set_new(j, "loadgen_late_ticks", json_integer((json_int_t)run->late_ticks));
  json_object_set_new(j, "loadgen_skipped_slots", json_integer((json_int_t)run->skipped_slots));
  json_object_set_new(j, "loadavg", json_pack("[f,f,f]", m->la[0], m->la[1], m->la[2]));
  json_object_set_new(j, "first_error", m->first_err ? json_string(m->first_err) : json_null());
  return j;
}

/* The human summary, then `LOAD_RESULT {json}` (and --json FILE). */
static void report(load_run_t *run, const figures_t *fg) {
  summary_t m = summarise(run, fg);
  print_summary(run, fg, &m);
  json_t *j = result_json(run, fg, &m);
  char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
  if (s) {
    printf("LOAD_RESULT %s\n", s);
    if (run->opt.json_path) {
      FILE *jf = fopen(run->opt.json_path, "w");
      if (jf) {
        fprintf(jf, "%s\n", s);
        fclose(jf);
      } else {
        fprintf(stderr, "voxgate_load: cannot write %s: %s\n", run->opt.json_path, strerror(errno));
      }
    }
  }
  free(s);
  json_decref(j);
  fflush(stdout);
}

/* --- set-up ---------------------------------------------------------------------- */

/* The local address that routes to the server: our host candidate. */
static void find_local_ip(load_run_t *run) {
  if (run->opt.bind_ip) {
    snprintf(run->local_ip, sizeof run->local_ip, "%s", run->opt.bind_ip);
    return;
  }
  char host[256];
  vg_bench_url_host(run->opt.url, host, sizeof host);
  struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(9)};
  if (inet_pton(AF_INET, host, &dst.sin_addr) != 1) return;
  /* A UDP connect sends nothing; it picks the route and so the source. */
  int probe = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in self;
  socklen_t sl = sizeof self;
  if (probe >= 0 && connect(probe, (struct sockaddr *)&dst, sizeof dst) == 0 &&
      getsockname(probe, (struct sockaddr *)&self, &sl) == 0)
    inet_ntop(AF_INET, &self.sin_addr, run->local_ip, sizeof run->local_ip);
  if (probe >= 0) close(probe);
}

static int setup(load_run_t *run, loop_t *l) {
  /* A socket per session plus HTTP: lift the soft limit on open files. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (load_speech(run->opt.speech, &run->speech) < 0) return -1;
  if (vg_srtp_global_init() < 0 || vg_dtls_cert_create(&run->cert) < 0) return -1;
  find_local_ip(run);
  run->epfd = epoll_create1(EPOLL_CLOEXEC);
  run->epfd_batch = epoll_create1(EPOLL_CLOEXEC);
  run->s = calloc((size_t)run->opt.sessions, sizeof *run->s);
  for (int p = 0; p < PHASE_COUNT; p++)
    run->counts[p].rtt = calloc(LOAD_HIST_BINS + 1, sizeof(uint32_t));
  run->jitter_hist = calloc(LOAD_HIST_BINS + 1, sizeof(uint32_t));
  if (run->epfd < 0 || run->epfd_batch < 0 || !run->s || !run->counts[0].rtt || !run->counts[1].rtt || !run->jitter_hist)
    return -1;
  for (int i = 0; i < run->opt.sessions; i++) run->s[i].fd = -1;
  run->sig = load_sig_create(run->opt.target, run->opt.url, run->opt.token, run->epfd,
                             tag(TAG_CURL, 0), HTTP_CONNS, &load_session_hooks);
  if (!run->sig) return -1;
  l->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  struct itimerspec its = {.it_interval = {0, LOAD_FRAME_INTERVAL * 1000 / LOAD_SLOTS},
                           .it_value = {0, LOAD_FRAME_INTERVAL * 1000 / LOAD_SLOTS}};
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag(TAG_TIMER, 0)};
  if (l->timer_fd < 0 || timerfd_settime(l->timer_fd, 0, &its, NULL) < 0 ||
      epoll_ctl(run->epfd, EPOLL_CTL_ADD, l->timer_fd, &ev) < 0)
    return -1;
  return 0;
}

int main(int argc, char **argv) {
  static load_run_t run;
  if (parse_args(argc, argv, &run.opt) < 0) {
    usage(stderr);
    return 2;
  }
  vg_log_set_level(run.opt.verbose ? VG_LOG_WARN : VG_LOG_ERROR);
  struct sigaction sa = {.sa_handler = on_stop_signal};
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  loop_t l = {.run = &run, .timer_fd = -1};
  if (setup(&run, &l) < 0) {
    fprintf(stderr, "voxgate_load: initialisation failed\n");
    return 1;
  }
  run.churn_mode = run.opt.churn > 0;
  /* A rebased echo's offset is learnt at frame LOAD_TS_MARK. */
  run.churn_frames = CHURN_FRAMES + (run.opt.rebased ? LOAD_TS_MARK : 0);
  run.sending = !run.opt.idle;
  run.phase = PHASE_RAMP;
  l.total = run.churn_mode ? run.opt.churn : run.opt.sessions;
  figures_t fg = {0};
  long pid = run.opt.server_pid;
  fg.start = sample(pid);
  double gen0 = vg_bench_self_cpu_ms();
  l.t0 = vg_bench_now();

  if (run.churn_mode) {
    /* Every session is closed as soon as its frames are back; generous
     * time for the whole churn at the ramp rate. */
    vg_time_t limit = l.t0 + VG_SEC((int64_t)l.total / run.opt.ramp + 60 + run.opt.connect_timeout_s);
    run_for(&l, limit, true, false, "churn", churn_done);
    close_all(&run); /* what the time limit cut short */
    run_for(&l, vg_bench_now() + VG_SEC(15), false, false, "close", all_closed);
    fg.connected = fg.start; /* CPU over the whole churn */
    fg.end = sample(pid);
  } else {
    vg_time_t limit = l.t0 + VG_SEC((int64_t)l.total / run.opt.ramp + 5 + run.opt.connect_timeout_s);
    run_for(&l, limit, true, true, "ramp", all_settled);
    fg.connected = sample(pid);
    if (run.connected == l.total)
      fprintf(stderr, "all %d sessions connected\n", l.total);
    else
      fprintf(stderr, "%d of %d sessions connected, %d failed\n", run.connected, l.total,
              run.failed);
    double g0 = vg_bench_self_cpu_ms();
    vg_time_t h0 = vg_bench_now();
    run.phase = PHASE_HOLD;
    run_for(&l, h0 + VG_SEC(run.opt.hold_s), false, true, "hold", NULL);
    if (stop_requested) fprintf(stderr, "stop signal: the hold ends early\n");
    run.sending = false;
    fg.end = sample(pid);
    fg.hold_s = (double)(vg_bench_now() - h0) / 1e6;
    fg.gen_cpu_s = (vg_bench_self_cpu_ms() - g0) / 1e3;
    for (int i = 0; i < run.opt.sessions; i++) load_session_drain(&run.s[i], vg_bench_now());
    /* The last frames' echoes, up to the loss horizon. */
    run_for(&l, vg_bench_now() + LOAD_LOSS_HORIZON + VG_MSEC(100), false, false, "drain", NULL);
    server_sample_t e = sample(pid);
    fg.end.rss_kb = e.rss_kb;
    fg.end.fds = e.fds;
    close_all(&run);
    run_for(&l, vg_bench_now() + VG_SEC(15), false, false, "close", all_closed);
  }
  /* Our kept-alive HTTP connections are open files of the server too. */
  load_sig_destroy(run.sig);
  run.sig = NULL;
  if (run.churn_mode) fg.hold_s = (double)(vg_bench_now() - l.t0) / 1e6;
  /* What the server frees lazily (timers, consent) has had time to go. */
  run_for(&l, vg_bench_now() + VG_SEC(2), false, false, "after", NULL);
  fg.after = sample(pid);
  fg.wall_s = (double)(vg_bench_now() - l.t0) / 1e6;
  fg.gen_cpu_total_s = (vg_bench_self_cpu_ms() - gen0) / 1e3;
  if (run.churn_mode) fg.gen_cpu_s = fg.gen_cpu_total_s;
  report(&run, &fg);

  int requested = l.total;
  bool ok = run.connected == requested && run.failed == 0;
  for (int i = 0; i < run.opt.sessions; i++) free(run.s[i].tcp);
  free(run.s);
  free(run.counts[0].rtt);
  free(run.counts[1].rtt);
  free(run.jitter_hist);
  free(run.connect_ms);
  free(run.speech.data);
  free(run.speech.off);
  free(run.speech.len);
  vg_dtls_cert_destroy(run.cert);
  close(l.timer_fd);
  close(run.epfd);
  close(run.epfd_batch);
  return ok ? 0 : 1;
}
