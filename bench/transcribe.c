/* vg_bench_transcribe: how many transcribe sessions a running voxgate
 * recognises in real time, how late each final comes, and what each
 * session costs the server.
 *
 * N sessions run at once in this one process (one poll loop; per session
 * a UDP socket for media and a TCP connection for the event WebSocket).
 * Each is the core's client role, as in vg_bench_connect, and streams the
 * same speech loop as Opus at real-time pace:
 *
 *   0.5 s noise │ utt 1 │ 1.5 s noise │ utt 2 │ 1.5 s noise │ ... (loop) ...
 *
 * Session i starts i/N of a loop after session 0, so utterances end at
 * different moments, as with independent users. Silences carry low-level
 * noise: a microphone never sends exact zeros.
 *
 * Per final (from the event WebSocket, GET /whip/<id>/events):
 *   - the server's latency_ms: arrival of the packet holding the last audio
 *     of the utterance → final, measured by the server;
 *   - the client's: sending the packet that holds the utterance's last
 *     loud sample → the final event read here;
 *   - its words, matched to the utterance by time, for the word error rate
 *     against the reference (vg_asr_wer), so a throughput figure never
 *     hides broken recognition.
 * From the server, sampled every 500 ms: /api/sessions (asr.audio_s,
 * queued_s, dropped_s), its CPU time (/proc/PID/stat) and resident memory
 * (/proc/PID/status). The real-time factor is server CPU seconds over
 * audio seconds recognised.
 *
 * It prints a report and, last, one Markdown table row (the header with
 * --table-header). Exit status 0 when every session ran and every
 * utterance got a final (kept up with real time or not), else 1. This is
 * IO code: it owns sockets and the clock. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <netdb.h>
#include <opus/opus.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "asr/wer.h"
#include "base/bytes.h"
#include "base/log.h"
#include "bench.h"
#include "core/dtls.h"
#include "core/srtp.h"

#define RATE 16000
#define FRAME_SAMPLES 320 /* 20 ms at 16 kHz */
#define FRAME_US VG_MSEC(20)
#define RTP_TS_PER_FRAME 960 /* RFC 7587 §4.1: the RTP clock is 48 kHz */
#define MAX_OPUS 400
#define MAX_UTTS 8
#define MAX_SESSIONS 64
#define MAX_FINALS 256
#define WS_BUF 65536
/* Noise amplitude in the silences and under the speech (about -70 dBFS). */
#define NOISE_AMP 10
/* A session keeps up when its queue never holds more than this. */
#define KEPT_UP_QUEUED_S 0.5
#define SAMPLE_EVERY VG_MSEC(500)

typedef struct {
  const char *url;
  int n;
  double duration_s, gap_s, settle_s;
  long server_pid;
  const char *speech[MAX_UTTS]; /* FILE=REFERENCE: 16 kHz s16le raw */
  int n_speech;
  int table_header;
  int verbose;
  int no_ws_ping;
} options_t;

typedef struct {
  char ref[256];
  size_t first, last; /* stream samples: first and last loud sample */
} utt_t;

typedef struct {
  uint8_t data[MAX_OPUS];
  int len;
} packet_t;

typedef struct {
  utt_t utt[MAX_UTTS * 64]; /* every utterance in the stream, in order */
  size_t n_utt;
  packet_t *pkt; /* owned */
  size_t n_pkt;
  double loop_s;
} stream_t;

typedef struct {
  char *text; /* owned */
  double start, end, latency_ms;
  vg_time_t recv_at;
} final_t;

typedef struct {
  int index;
  vg_rtc_t *rtc;
  int fd[2];
  int ws; /* the event WebSocket's TCP socket, -1 when closed */
  uint8_t ws_in[WS_BUF];
  size_t ws_len;
  vg_bench_whip_t whip;
  bool connected, done, failed;
  bool streaming; /* start_at is set */
  bool ws_ping;   /* options_t.no_ws_ping inverted */
  char why[200];
  vg_time_t start_at; /* first packet due */
  size_t next;        /* next packet to send */
  vg_time_t *sent_at; /* owned, one per packet */
  vg_time_t max_late; /* how late our own sender got */
  final_t finals[MAX_FINALS];
  size_t n_finals;
  int partials, lags, errors;
} session_t;

typedef struct {
  double audio_s, queued_max_s, dropped_s;
  double concealed;
  long rss_kb;
} server_sample_t;

/* --- the speech stream ----------------------------------------------------- */

static int16_t noise(uint32_t *x) {
  *x = *x * 1103515245u + 12345u;
  return (int16_t)((int)((*x >> 16) % (2 * NOISE_AMP + 1)) - NOISE_AMP);
}

/* Reads a 16 kHz s16le file into a new buffer. */
static int16_t *load_raw(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  int16_t *pcm = len > 0 ? malloc((size_t)len) : NULL;
  *n = pcm ? fread(pcm, 2, (size_t)len / 2, f) : 0;
  fclose(f);
  return pcm;
}

/* The first and last sample of 10 ms frames louder than -20 dB below the
 * loudest frame: where the words are, whatever silence the file has. */
static void speech_bounds(const int16_t *pcm, size_t n, size_t *first, size_t *last) {
  double peak = 0;
  for (size_t i = 0; i + 160 <= n; i += 160) {
    double e = 0;
    for (size_t k = 0; k < 160; k++) e += (double)pcm[i + k] * pcm[i + k];
    if (e > peak) peak = e;
  }
  *first = 0;
  *last = n ? n - 1 : 0;
  bool seen = false;
  for (size_t i = 0; i + 160 <= n; i += 160) {
    double e = 0;
    for (size_t k = 0; k < 160; k++) e += (double)pcm[i + k] * pcm[i + k];
    if (e * 100.0 >= peak) {
      if (!seen) *first = i;
      seen = true;
      *last = i + 159;
    }
  }
}

/* Builds the whole stream (0.5 s of noise, then loops of every utterance
 * each followed by gap_s of noise, for about duration_s) and encodes it as
 * 20 ms Opus packets at 16 kHz, as the test client does. */
static int build_stream(const options_t *o, stream_t *st) {
  int16_t *src[MAX_UTTS];
  size_t src_n[MAX_UTTS], first[MAX_UTTS], last[MAX_UTTS];
  char refs[MAX_UTTS][256];
  size_t gap = (size_t)(o->gap_s * RATE), loop = 0;
  for (int u = 0; u < o->n_speech; u++) {
    const char *eq = strchr(o->speech[u], '=');
    char path[512];
    if (!eq) {
      fprintf(stderr, "vg_bench_transcribe: --speech wants FILE=REFERENCE\n");
      return -1;
    }
    snprintf(path, sizeof path, "%.*s", (int)(eq - o->speech[u]), o->speech[u]);
    snprintf(refs[u], sizeof refs[u], "%s", eq + 1);
    if (!(src[u] = load_raw(path, &src_n[u])) || src_n[u] < RATE / 4) {
      fprintf(stderr, "vg_bench_transcribe: cannot read %s\n", path);
      return -1;
    }
    speech_bounds(src[u], src_n[u], &first[u], &last[u]);
    loop += src_n[u] + gap;
  }
  st->loop_s = (double)loop / RATE;
  int loops = (int)(o->duration_s / st->loop_s + 0.5);
  if (loops < 1) loops = 1;
  size_t lead = RATE / 2, total = lead + (size_t)loops * loop;
  total += FRAME_SAMPLES - total % FRAME_SAMPLES;
  int16_t *pcm = calloc(total, sizeof *pcm);
  st->n_pkt = total / FRAME_SAMPLES;
  st->pkt = calloc(st->n_pkt, sizeof *st->pkt);
  if (!pcm || !st->pkt) return -1;
  size_t at = lead;
  st->n_utt = 0;
  for (int l = 0; l < loops; l++)
    for (int u = 0; u < o->n_speech; u++) {
      memcpy(pcm + at, src[u], src_n[u] * sizeof *pcm);
      utt_t *t = &st->utt[st->n_utt++];
      snprintf(t->ref, sizeof t->ref, "%s", refs[u]);
      t->first = at + first[u];
      t->last = at + last[u];
      at += src_n[u] + gap;
    }
  uint32_t x = 1;
  for (size_t i = 0; i < total; i++) {
    int v = pcm[i] + noise(&x);
    pcm[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
  }
  int err;
  OpusEncoder *enc = opus_encoder_create(RATE, 1, OPUS_APPLICATION_VOIP, &err);
  if (!enc) return -1;
  for (size_t p = 0; p < st->n_pkt; p++) {
    st->pkt[p].len = opus_encode(enc, pcm + p * FRAME_SAMPLES, FRAME_SAMPLES, st->pkt[p].data, MAX_OPUS);
    if (st->pkt[p].len <= 0) return -1;
  }
  opus_encoder_destroy(enc);
  free(pcm);
  for (int u = 0; u < o->n_speech; u++) free(src[u]);
  return 0;
}

/* --- the event WebSocket (client side, RFC 6455) ---------------------------- */

/* Opens GET <session>/events as a WebSocket. The handshake is read with a
 * blocking socket; the connection is then non-blocking for the poll loop.
 * Bytes after the 101 stay in s->ws_in. */
static int ws_open(session_t *s) {
  CURLU *u = curl_url();
  char *host = NULL, *port = NULL, *path = NULL;
  int fd = -1, rc = -1;
  if (!u || curl_url_set(u, CURLUPART_URL, s->whip.url, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
    goto done;
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
  if (getaddrinfo(host, port, &hints, &ai) != 0) goto done;
  fd = socket(ai->ai_family, SOCK_STREAM, 0);
  struct timeval tv = {.tv_sec = 3};
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
      connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
    freeaddrinfo(ai);
    goto done;
  }
  freeaddrinfo(ai);
  char req[1024];
  /* The key is any 16 bytes in base64 (§4.1); we do not check the accept
   * value: the server is ours and the 101 is enough here. */
  int n = snprintf(req, sizeof req,
                   "GET %s/events HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n",
                   path, host, port);
  if (send(fd, req, (size_t)n, 0) != n) goto done;
  size_t len = 0;
  char *end = NULL;
  while (!end && len < sizeof s->ws_in - 1) {
    ssize_t r = recv(fd, s->ws_in + len, sizeof s->ws_in - 1 - len, 0);
    if (r <= 0) goto done;
    len += (size_t)r;
    s->ws_in[len] = '\0';
    end = strstr((char *)s->ws_in, "\r\n\r\n");
  }
  if (!end || strncmp((char *)s->ws_in, "HTTP/1.1 101", 12) != 0) goto done;
  size_t head = (size_t)(end + 4 - (char *)s->ws_in);
  memmove(s->ws_in, s->ws_in + head, len - head);
  s->ws_len = len - head;
  /* One empty masked ping (RFC 6455 §5.5.2: FIN + opcode 0x9, mask bit,
   * length 0, a zero masking key). voxgate closes an event WebSocket whose
   * client never sent a byte 30 s after the connection opened, without a
   * close frame (the HTTP idle timer, src/io/tcp.c, is only stopped by
   * bytes from the client); any byte stops it. --no-ws-ping shows it. */
  static const uint8_t ping[] = {0x89, 0x80, 0, 0, 0, 0};
  if (s->ws_ping && send(fd, ping, sizeof ping, 0) != (ssize_t)sizeof ping) goto done;
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) goto done;
  s->ws = fd;
  fd = -1;
  rc = 0;
done:
  if (fd >= 0) close(fd);
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_url_cleanup(u);
  return rc;
}

static void ws_close(session_t *s) {
  if (s->ws >= 0) close(s->ws);
  s->ws = -1;
}

static void on_event(session_t *s, const char *text, size_t len, vg_time_t now) {
  json_t *j = json_loadb(text, len, 0, NULL);
  const char *type = j ? json_string_value(json_object_get(j, "type")) : NULL;
  if (!type) {
    json_decref(j);
    return;
  }
  if (!strcmp(type, "final") && s->n_finals < MAX_FINALS) {
    final_t *f = &s->finals[s->n_finals++];
    const char *t = json_string_value(json_object_get(j, "text"));
    f->text = strdup(t ? t : "");
    f->start = json_number_value(json_object_get(j, "start"));
    f->end = json_number_value(json_object_get(j, "end"));
    f->latency_ms = json_number_value(json_object_get(j, "latency_ms"));
    f->recv_at = now;
  } else if (!strcmp(type, "partial")) {
    s->partials++;
  } else if (!strcmp(type, "lag")) {
    s->lags++;
  } else if (!strcmp(type, "error")) {
    s->errors++;
    const char *t = json_string_value(json_object_get(j, "text"));
    fprintf(stderr, "session %d: engine error: %s\n", s->index, t ? t : "?");
  } else if (!strcmp(type, "done")) {
    s->done = true;
  }
  json_decref(j);
}

/* Reads what the socket has and handles every complete frame.
 *
 *    0               1               2               3
 *   +-+-+-+-+-------+-+-------------+-------------------------------+
 *   |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 *   |I|S|S|S|  (4)  |A|     (7)     |     (16/64 when len 126/127)  |
 *   |N|V|V|V|       |S|             |                               |
 *   +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *   |  payload (a server's frames are not masked, RFC 6455 §5.1)    |
 *
 * The server sends each event as one unfragmented text frame. */
static void ws_read(session_t *s) {
  for (;;) {
    ssize_t n = recv(s->ws, s->ws_in + s->ws_len, sizeof s->ws_in - s->ws_len, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      ws_close(s);
      break;
    }
    if (n < 0) break;
    s->ws_len += (size_t)n;
    if (s->ws_len == sizeof s->ws_in) break;
  }
  vg_time_t now = vg_bench_now();
  size_t used = 0;
  for (;;) {
    vg_reader_t r = vg_reader(s->ws_in + used, s->ws_len - used);
    uint8_t b0 = vg_read_u8(&r), b1 = vg_read_u8(&r);
    uint64_t plen = b1 & 0x7f;
    if (plen == 126) plen = vg_read_u16(&r);
    else if (plen == 127) plen = vg_read_u64(&r);
    if (b1 & 0x80) plen = 0; /* a masked server frame: not ours to read */
    const uint8_t *payload = plen <= WS_BUF ? vg_read_bytes(&r, (size_t)plen) : NULL;
    if (r.err || (!payload && plen > 0)) break; /* incomplete */
    int opcode = b0 & 0x0f;
    if (opcode == 0x1) on_event(s, (const char *)payload, (size_t)plen, now);
    else if (opcode == 0x8) s->done = true; /* close: nothing more comes */
    used += r.pos;
  }
  memmove(s->ws_in, s->ws_in + used, s->ws_len - used);
  s->ws_len -= used;
}

/* --- sessions ------------------------------------------------------------------ */

static void drain_events(session_t *s) {
  vg_bench_send_queued(s->rtc, s->fd);
  vg_rtc_event_t ev;
  while (vg_rtc_poll_event(s->rtc, &ev)) {
    if (ev.type == VG_RTC_EV_DTLS_CONNECTED) s->connected = true;
    if (ev.type == VG_RTC_EV_CLOSED && !s->failed && !s->why[0])
      snprintf(s->why, sizeof s->why, "closed: %s", ev.u.closed.why ? ev.u.closed.why : "?");
  }
}

static int session_start(vg_bench_http_t *h, const options_t *o, vg_dtls_cert_t *cert,
                         const char *whip_url, const stream_t *st, session_t *s) {
  char sid[16];
  snprintf(sid, sizeof sid, "tb%d", s->index);
  vg_rtc_config_t cfg = {.role = VG_RTC_ROLE_CLIENT, .cert = cert, .sid = sid};
  s->fd[0] = s->fd[1] = s->ws = -1;
  if (!(s->sent_at = calloc(st->n_pkt, sizeof *s->sent_at)) || vg_rtc_create(&cfg, &s->rtc) < 0) {
    snprintf(s->why, sizeof s->why, "out of memory");
    return -1;
  }
  s->fd[0] = vg_bench_open_udp(AF_INET);
  if (vg_bench_whip_start(h, s->rtc, s->fd[0], o->url, whip_url, true, &s->whip, s->why,
                          sizeof s->why) < 0)
    return -1;
  if (ws_open(s) < 0) {
    snprintf(s->why, sizeof s->why, "the event WebSocket did not open");
    return -1;
  }
  drain_events(s);
  return 0;
}

static void session_free(session_t *s) {
  for (int i = 0; i < 2; i++)
    if (s->fd[i] >= 0) close(s->fd[i]);
  ws_close(s);
  vg_rtc_destroy(s->rtc);
  free(s->sent_at);
  for (size_t i = 0; i < s->n_finals; i++) free(s->finals[i].text);
}

/* Sends every packet that is due (late ones at once: the server's jitter
 * buffer sees a burst, never a gap). */
static void send_due(session_t *s, const stream_t *st, vg_time_t now) {
  while (s->streaming && s->connected && s->next < st->n_pkt && now >= s->start_at + (vg_time_t)s->next * FRAME_US) {
    vg_time_t due = s->start_at + (vg_time_t)s->next * FRAME_US;
    if (now - due > s->max_late) s->max_late = now - due;
    const packet_t *p = &st->pkt[s->next];
    if (vg_rtc_send_audio(s->rtc, now, (uint32_t)(s->next * RTP_TS_PER_FRAME), s->next == 0, p->data,
                          (size_t)p->len) != VG_OK)
      break;
    s->sent_at[s->next++] = now;
    vg_bench_send_queued(s->rtc, s->fd);
  }
}

/* One turn of the loop over every session: sockets, timers, due audio. */
static void turn(session_t *ss, int n, const stream_t *st, vg_time_t wake) {
  struct pollfd pfd[MAX_SESSIONS * 3];
  int owner[MAX_SESSIONS * 3], nfd = 0;
  vg_time_t now = vg_bench_now();
  for (int i = 0; i < n; i++) {
    session_t *s = &ss[i];
    wake = vg_time_min(wake, vg_rtc_poll_timeout(s->rtc));
    if (s->streaming && s->connected && s->next < st->n_pkt)
      wake = vg_time_min(wake, s->start_at + (vg_time_t)s->next * FRAME_US);
    for (int k = 0; k < 2; k++)
      if (s->fd[k] >= 0) {
        owner[nfd] = i;
        pfd[nfd++] = (struct pollfd){.fd = s->fd[k], .events = POLLIN};
      }
    if (s->ws >= 0) {
      owner[nfd] = i;
      pfd[nfd++] = (struct pollfd){.fd = s->ws, .events = POLLIN};
    }
  }
  int ms = wake <= now ? 0 : (int)((wake - now + 999) / 1000);
  if (poll(pfd, (nfds_t)nfd, ms) < 0 && errno != EINTR) return;
  for (int k = 0; k < nfd; k++) {
    if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    session_t *s = &ss[owner[k]];
    if (pfd[k].fd == s->ws) {
      ws_read(s);
    } else {
      while (vg_bench_recv_one(s->rtc, pfd[k].fd)) drain_events(s);
    }
  }
  now = vg_bench_now();
  for (int i = 0; i < n; i++) {
    session_t *s = &ss[i];
    if (vg_rtc_poll_timeout(s->rtc) <= now) {
      (void)vg_rtc_handle_timeout(s->rtc, now);
      drain_events(s);
    }
    send_due(s, st, now);
  }
}

/* --- the server's side -------------------------------------------------------- */

static void sample_server(vg_bench_http_t *h, const options_t *o, server_sample_t *acc) {
  char url[512], why[200];
  vg_bench_buf_t body = {0};
  snprintf(url, sizeof url, "%s/api/sessions", o->url);
  if (vg_bench_http(h, "GET", url, NULL, NULL, 0, &body, why, sizeof why) == 200) {
    json_t *arr = json_loadb(body.data, body.len, 0, NULL);
    double audio = 0, dropped = 0, concealed = 0;
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
      json_t *asr = json_object_get(e, "asr");
      if (!asr) continue;
      audio += json_number_value(json_object_get(asr, "audio_s"));
      dropped += json_number_value(json_object_get(asr, "dropped_s"));
      concealed += json_number_value(json_object_get(asr, "concealed_frames"));
      double q = json_number_value(json_object_get(asr, "queued_s"));
      if (q > acc->queued_max_s) acc->queued_max_s = q;
    }
    /* sessions only add up: keep the largest sums seen */
    if (audio > acc->audio_s) acc->audio_s = audio;
    if (dropped > acc->dropped_s) acc->dropped_s = dropped;
    if (concealed > acc->concealed) acc->concealed = concealed;
    json_decref(arr);
  }
  free(body.data);
  if (o->server_pid) {
    long rss = vg_bench_status_kb(o->server_pid, "VmRSS");
    if (rss > acc->rss_kb) acc->rss_kb = rss;
  }
}

/* --- results -------------------------------------------------------------------- */

typedef struct {
  size_t expected, heard, finals, spurious;
  size_t errors, words;
  double *lat_server, *lat_client; /* owned */
  size_t n_lat;
} tally_t;

static double overlap(double a0, double a1, double b0, double b1) {
  double lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;
  return hi - lo;
}

/* Matches each final to the utterance it overlaps most (stream time is
 * samples since the session's first packet, on both sides); the words of
 * an utterance's finals, joined, are scored against its reference. */
static void tally_session(const session_t *s, const stream_t *st, tally_t *t, bool verbose) {
  int best_of[MAX_FINALS];
  for (size_t f = 0; f < s->n_finals; f++) {
    const final_t *fi = &s->finals[f];
    best_of[f] = -1;
    double best = 0;
    for (size_t u = 0; u < st->n_utt; u++) {
      double ov = overlap(fi->start, fi->end, (double)st->utt[u].first / RATE,
                          (double)st->utt[u].last / RATE);
      if (ov > best) {
        best = ov;
        best_of[f] = (int)u;
      }
    }
    t->finals++;
    if (best_of[f] < 0) t->spurious++;
  }
  for (size_t u = 0; u < st->n_utt; u++) {
    const utt_t *ut = &st->utt[u];
    size_t pkt = ut->last / FRAME_SAMPLES;
    if (pkt >= s->next) continue; /* never sent */
    t->expected++;
    char text[2048] = "";
    size_t len = 0;
    const final_t *last = NULL;
    for (size_t f = 0; f < s->n_finals; f++)
      if (best_of[f] == (int)u) {
        len += (size_t)snprintf(text + len, sizeof text - len, "%s%s", len ? " " : "", s->finals[f].text);
        if (len >= sizeof text) len = sizeof text - 1;
        last = &s->finals[f];
      }
    size_t e = 0, w = 0;
    if (vg_asr_wer_counts(ut->ref, text, &e, &w) >= 0) {
      t->errors += e;
      t->words += w;
    }
    if (verbose && !last)
      fprintf(stderr, "  session %d utt %zu (%.2f-%.2f s): \"%s\" NO FINAL\n", s->index, u,
              (double)ut->first / RATE, (double)ut->last / RATE, text);
    if (!last) continue;
    if (verbose)
      fprintf(stderr,
              "  session %d utt %zu (%.2f-%.2f s): \"%s\" (%zu errors), last final %.2f-%.2f s, "
              "latency %.0f ms server, %.0f ms client\n",
              s->index, u, (double)ut->first / RATE, (double)ut->last / RATE, text, e, last->start,
              last->end, last->latency_ms, (double)(last->recv_at - s->sent_at[pkt]) / 1e3);
    t->heard++;
    t->lat_server[t->n_lat] = last->latency_ms;
    t->lat_client[t->n_lat] = (double)(last->recv_at - s->sent_at[pkt]) / 1e3;
    t->n_lat++;
  }
}

static void print_stat_line(const char *what, double *v, size_t n) {
  if (n == 0) {
    printf("%-44s -\n", what);
    return;
  }
  qsort(v, n, sizeof *v, vg_bench_cmp_double);
  printf("%-44s median %6.0f  p95 %6.0f  min %6.0f  max %6.0f\n", what, vg_bench_percentile(v, n, 50),
         vg_bench_percentile(v, n, 95), v[0], v[n - 1]);
}

/* --- main ------------------------------------------------------------------------ */

static const char *const table_header =
    "| sessions | finals / expected | WER | latency, server: median / p95 | latency, client: median / p95 "
    "| real-time factor (CPU per session) | RSS at start (N decoders) | RSS growth per session "
    "| max queued | dropped | real time |\n"
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---|";

static void usage(FILE *f) {
  fprintf(f,
          "usage: vg_bench_transcribe [--url http://HOST:PORT] [-n N] [--duration S]\n"
          "                           [--server-pid PID] [--speech FILE=REFERENCE]...\n"
          "                           [--gap S] [--settle S] [--verbose] [--table-header]\n"
          "                           [--no-ws-ping]\n"
          "Streams a speech loop (16 kHz s16le files, each with its reference text) on N\n"
          "concurrent transcribe sessions at real-time pace for about S seconds and prints\n"
          "finals, word error rate, latency from end of speech to final (median, p95) and\n"
          "the server's CPU and memory per session.\n"
          "  --speech    repeatable; default the PocketSphinx test recording\n"
          "  --gap       noise between utterances (default 1.5 s)\n"
          "  --settle    how long to wait for the last finals (default 3 s)\n"
          "  --no-ws-ping  send nothing on the event WebSocket (as the page does)\n"
          "  --verbose   every utterance's words and latency; the server's transcript\n");
}

static int parse_args(int argc, char **argv, options_t *o) {
  *o = (options_t){.url = "http://127.0.0.1:8080", .n = 4, .duration_s = 20, .gap_s = 1.5,
                   .settle_s = 3};
  enum { URL = 256, DURATION, GAP, SETTLE, SERVER_PID, SPEECH };
  const struct option opts[] = {
      {"help", no_argument, NULL, 'h'},
      {"url", required_argument, NULL, URL},
      {"duration", required_argument, NULL, DURATION},
      {"gap", required_argument, NULL, GAP},
      {"settle", required_argument, NULL, SETTLE},
      {"server-pid", required_argument, NULL, SERVER_PID},
      {"speech", required_argument, NULL, SPEECH},
      {"table-header", no_argument, &o->table_header, 1},
      {"verbose", no_argument, &o->verbose, 1},
      {"no-ws-ping", no_argument, &o->no_ws_ping, 1},
      {NULL, 0, NULL, 0}};
  int c, bad = 0;
  while (!bad && (c = getopt_long(argc, argv, "hn:", opts, NULL)) != -1) {
    switch (c) {
    case 'h': usage(stdout); exit(0);
    case 'n': bad = vg_bench_parse_int("-n", optarg, 1, MAX_SESSIONS, &o->n); break;
    case URL: o->url = optarg; break;
    case DURATION:
      bad = vg_bench_parse_double("--duration", optarg, 0, 86400, &o->duration_s);
      break;
    case GAP: bad = vg_bench_parse_double("--gap", optarg, 0.5, 3600, &o->gap_s); break;
    case SETTLE: bad = vg_bench_parse_double("--settle", optarg, 0, 3600, &o->settle_s); break;
    case SERVER_PID:
      bad = vg_bench_parse_long("--server-pid", optarg, 0, INT_MAX, &o->server_pid);
      break;
    case SPEECH:
      if (o->n_speech == MAX_UTTS) {
        fprintf(stderr, "vg_bench_transcribe: at most %d --speech files\n", MAX_UTTS);
        return -1;
      }
      o->speech[o->n_speech++] = optarg;
      break;
    case 0: break; /* a flag, set by getopt_long */
    default: return -1; /* getopt_long said why */
    }
  }
  if (bad) return -1;
  if (optind < argc) {
    fprintf(stderr, "vg_bench_transcribe: unexpected argument '%s'\n", argv[optind]);
    return -1;
  }
  if (o->duration_s <= 0) {
    fprintf(stderr, "vg_bench_transcribe: --duration must be more than 0\n");
    return -1;
  }
  if (o->n_speech == 0)
    o->speech[o->n_speech++] =
        "/usr/share/pocketsphinx/test/data/goforward.raw=go forward ten meters";
  return 0;
}

/* Runs the loop until every session has sent its stream and either has a
 * final for each utterance or settle_s have passed since its last packet. */
static void stream_all(vg_bench_http_t *h, const options_t *o, session_t *ss, const stream_t *st,
                       server_sample_t *acc) {
  vg_time_t next_sample = vg_bench_now();
  for (;;) {
    vg_time_t now = vg_bench_now();
    if (now >= next_sample) {
      sample_server(h, o, acc);
      next_sample = now + SAMPLE_EVERY;
    }
    bool busy = false;
    for (int i = 0; i < o->n; i++) {
      session_t *s = &ss[i];
      if (s->failed) continue;
      if (s->next < st->n_pkt) {
        busy = true;
        continue;
      }
      size_t heard = s->n_finals; /* a final per utterance, or time is up */
      if (heard < st->n_utt && now < s->sent_at[st->n_pkt - 1] + (vg_time_t)(o->settle_s * 1e6))
        busy = true;
    }
    if (!busy) break;
    turn(ss, o->n, st, next_sample);
  }
}

/* DELETE every session and wait (2 s at most) for each event stream's
 * "done". */
static void end_all(vg_bench_http_t *h, session_t *ss, int n, const stream_t *st, bool verbose) {
  vg_bench_buf_t body = {0};
  char why[200], url[700];
  for (int i = 0; i < n; i++)
    if (ss[i].whip.url[0]) {
      snprintf(url, sizeof url, "%s/transcript", ss[i].whip.url);
      if (verbose && vg_bench_http(h, "GET", url, NULL, NULL, 0, &body, why, sizeof why) == 200)
        fprintf(stderr, "session %d: %zu finals on the event stream; GET transcript: %s\n", i,
                ss[i].n_finals, body.data);
      long code = vg_bench_http(h, "DELETE", ss[i].whip.url, NULL, NULL, 0, &body, why, sizeof why);
      if (code != 200) fprintf(stderr, "session %d: DELETE returned %ld\n", i, code);
    }
  free(body.data);
  vg_time_t until = vg_bench_now() + VG_SEC(2);
  for (;;) {
    bool open = false;
    for (int i = 0; i < n; i++) open |= ss[i].ws >= 0 && !ss[i].done;
    if (!open || vg_bench_now() >= until) break;
    turn(ss, n, st, vg_bench_now() + VG_MSEC(50));
  }
}

int main(int argc, char **argv) {
  options_t o;
  if (parse_args(argc, argv, &o) < 0) {
    usage(stderr);
    return 2;
  }
  if (o.table_header) {
    puts(table_header);
    return 0;
  }
  vg_log_set_level(VG_LOG_ERROR);
  stream_t st = {0};
  if (build_stream(&o, &st) < 0) return 1;
  vg_bench_http_t h;
  vg_dtls_cert_t *cert = NULL;
  if (vg_bench_http_init(&h, NULL) < 0 || vg_srtp_global_init() < 0 || vg_dtls_cert_create(&cert) < 0) {
    fprintf(stderr, "vg_bench_transcribe: initialisation failed\n");
    return 1;
  }
  char whip_url[512];
  snprintf(whip_url, sizeof whip_url, "%s/whip?mode=transcribe", o.url);
  long rss_start = o.server_pid ? vg_bench_status_kb(o.server_pid, "VmRSS") : -1;

  session_t *ss = calloc((size_t)o.n, sizeof *ss);
  if (!ss) return 1;
  int failed = 0;
  for (int i = 0; i < o.n; i++) {
    ss[i].index = i;
    ss[i].ws_ping = !o.no_ws_ping;
    if (session_start(&h, &o, cert, whip_url, &st, &ss[i]) < 0) {
      ss[i].failed = true;
      failed++;
      fprintf(stderr, "session %d: %s\n", i, ss[i].why);
    }
  }
  /* Connect everyone first (ICE, DTLS), then start the clocks. */
  vg_time_t until = vg_bench_now() + VG_SEC(5);
  for (;;) {
    bool all = true;
    for (int i = 0; i < o.n; i++) all &= ss[i].failed || ss[i].connected;
    if (all || vg_bench_now() >= until) break;
    turn(ss, o.n, &st, vg_bench_now() + VG_MSEC(20));
  }
  vg_time_t t0 = vg_bench_now() + VG_MSEC(20);
  for (int i = 0; i < o.n; i++) {
    if (!ss[i].failed && !ss[i].connected) {
      ss[i].failed = true;
      failed++;
      fprintf(stderr, "session %d: not connected after 5 s\n", i);
    }
    ss[i].start_at = t0 + (vg_time_t)(st.loop_s * 1e6 * i / o.n) / FRAME_US * FRAME_US;
    ss[i].streaming = true;
  }

  server_sample_t acc = {.rss_kb = rss_start};
  double cpu0 = o.server_pid ? vg_bench_cpu_s(o.server_pid) : -1;
  double self0 = vg_bench_self_cpu_ms();
  stream_all(&h, &o, ss, &st, &acc);
  sample_server(&h, &o, &acc);
  double cpu1 = o.server_pid ? vg_bench_cpu_s(o.server_pid) : -1;
  double wall_s = (double)(vg_bench_now() - t0) / 1e6;
  double self_ms = vg_bench_self_cpu_ms() - self0;
  end_all(&h, ss, o.n, &st, o.verbose != 0);

  tally_t t = {0};
  t.lat_server = calloc((size_t)o.n * st.n_utt + 1, sizeof(double));
  t.lat_client = calloc((size_t)o.n * st.n_utt + 1, sizeof(double));
  int partials = 0, lags = 0, errors = 0;
  vg_time_t max_late = 0;
  for (int i = 0; i < o.n; i++) {
    if (ss[i].failed) continue;
    tally_session(&ss[i], &st, &t, o.verbose != 0);
    partials += ss[i].partials;
    lags += ss[i].lags;
    errors += ss[i].errors;
    if (ss[i].max_late > max_late) max_late = ss[i].max_late;
  }
  double cpu = cpu1 - cpu0;
  double rtf = cpu0 >= 0 && cpu1 >= 0 && acc.audio_s > 0 ? cpu / acc.audio_s : -1;
  double wer = t.words ? 100.0 * (double)t.errors / (double)t.words : 0;
  /* the exit status: every session ran and every utterance got a final */
  bool recognised = failed == 0 && errors == 0 && t.heard == t.expected;
  bool kept_up = failed == 0 && acc.dropped_s == 0 && lags == 0 && errors == 0 &&
                 acc.queued_max_s <= KEPT_UP_QUEUED_S && t.heard == t.expected;

  printf("voxgate transcribe benchmark: %d concurrent sessions against %s\n", o.n, o.url);
  printf("each: %zu utterances in %.1f s of audio (a %.2f s loop), starts staggered by %.2f s\n",
         st.n_utt, (double)st.n_pkt * 0.02, st.loop_s, st.loop_s / o.n);
  printf("%-44s %zu / %zu (%zu finals in all, %zu outside any utterance), %d partials\n",
         "utterances with a final / expected", t.heard, t.expected, t.finals, t.spurious, partials);
  printf("%-44s %.1f %% (%zu errors in %zu words)\n", "word error rate of the finals", wer, t.errors,
         t.words);
  double *cl = malloc(sizeof(double) * (t.n_lat + 1));
  if (cl) memcpy(cl, t.lat_client, sizeof(double) * t.n_lat);
  print_stat_line("latency ms, server (latency_ms)", t.lat_server, t.n_lat);
  print_stat_line("latency ms, client (last loud packet sent)", t.lat_client, t.n_lat);
  printf("%-44s %.1f s in %.1f s wall; %.2f s audio recognised; RTF %.3f\n",
         "server CPU (utime+stime)", cpu, wall_s, acc.audio_s, rtf);
  printf("%-44s %.1f MiB at start, %.1f MiB peak (+%.2f MiB per session)\n", "server RSS",
         rss_start / 1024.0, acc.rss_kb / 1024.0, (acc.rss_kb - rss_start) / 1024.0 / o.n);
  printf("%-44s max queued %.2f s, dropped %.2f s, %.0f frames concealed, %d lag, %d error events\n",
         "engine queue", acc.queued_max_s, acc.dropped_s, acc.concealed, lags, errors);
  printf("%-44s %.1f ms late at most; client CPU %.1f%% of a core\n", "bench sender",
         (double)max_late / 1e3, self_ms / 10.0 / wall_s);
  char load[64] = "?";
  FILE *lf = fopen("/proc/loadavg", "r");
  if (lf) {
    if (!fgets(load, sizeof load, lf)) load[0] = '\0';
    load[strcspn(load, "\n")] = '\0';
    fclose(lf);
  }
  printf("%-44s %s (other work on this machine counts too)\n", "load average at the end", load);
  printf("real time: %s\n", kept_up ? "yes" : "NO");
  /* the Markdown row (the header: --table-header) */
  qsort(cl, t.n_lat, sizeof *cl, vg_bench_cmp_double);
  char ls[64] = "-", lc[64] = "-";
  if (t.n_lat) {
    snprintf(ls, sizeof ls, "%.0f / %.0f ms", vg_bench_percentile(t.lat_server, t.n_lat, 50),
             vg_bench_percentile(t.lat_server, t.n_lat, 95));
    snprintf(lc, sizeof lc, "%.0f / %.0f ms", vg_bench_percentile(cl, t.n_lat, 50),
             vg_bench_percentile(cl, t.n_lat, 95));
  }
  printf("| %d | %zu / %zu | %.1f %% | %s | %s | %.3f (%.1f %% of a core) | %.0f MiB | %.1f MiB | %.2f s "
         "| %.2f s | %s |\n",
         o.n, t.heard, t.expected, wer, ls, lc, rtf, rtf * 100, rss_start / 1024.0,
         (acc.rss_kb - rss_start) / 1024.0 / o.n, acc.queued_max_s, acc.dropped_s,
         kept_up ? "yes" : "no");

  free(cl);
  free(t.lat_server);
  free(t.lat_client);
  for (int i = 0; i < o.n; i++) session_free(&ss[i]);
  free(ss);
  free(st.pkt);
  vg_dtls_cert_destroy(cert);
  vg_bench_http_cleanup(&h);
  return recognised ? 0 : 1;
}
