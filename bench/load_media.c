/* One load session: the core's client role (vg_rtc, controlling full ICE,
 * DTLS client) on its own UDP socket or ICE-TCP connection, sending the
 * pre-encoded speech at 50 packets/s and matching each echo to its frame
 * by RTP timestamp.
 *
 *   frame i ──► vg_rtc_send_audio ──► socket ──► server ──► echo
 *      ring[i % LOAD_RING] = {sent at, timestamp}      │
 *                                                      ▼
 *   recvmmsg (kernel receive stamp) ──► vg_rtc_handle_packet ──► AUDIO
 *      timestamp ──► frame index ──► RTT, duplicate, reordered, jitter
 *
 * A frame whose echo has not come back within LOAD_LOSS_HORIZON is lost:
 * it is settled when its ring place is reused (1.28 s later) or when the
 * session closes. Round trips use the kernel's receive timestamp
 * (SO_TIMESTAMPNS), so a busy generator does not inflate them.
 *
 * Nothing here allocates per packet: receive buffers are static, the ring
 * is in the session, the rtc's queues are its own. */
#define _GNU_SOURCE /* recvmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "io/sockaddr.h"
#include "load.h"

#define TAG_SESSION (1ull << 56)
#define RECV_BATCH 8
#define DGRAM_MAX 2048

static void move_to_batch(load_session_t *s);

/* --- clocks and small helpers ------------------------------------------------ */

int64_t load_now_rt(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint32_t frame_ts(const load_session_t *s, uint32_t i) {
  uint32_t ts = s->ts0 + i * LOAD_FRAME_TS;
  if (s->run->opt.rebased && i >= LOAD_TS_MARK) ts += LOAD_TS_JUMP;
  return ts;
}

static void session_fail(load_session_t *s, const char *why) {
  if (s->failed || s->connected) return;
  s->failed = true;
  snprintf(s->why, sizeof s->why, "%.150s", why);
  s->run->failed++;
  if (s->run->opt.verbose) fprintf(stderr, "session %d: %s\n", s->idx, why);
}

static void mark_connected(load_session_t *s, vg_time_t now) {
  if (s->connected || s->failed) return;
  s->connected = true;
  load_run_t *run = s->run;
  run->connected++;
  if (run->n_connect == run->cap_connect) {
    size_t cap = run->cap_connect ? run->cap_connect * 2 : 1024;
    double *v = realloc(run->connect_ms, cap * sizeof *v);
    if (!v) return;
    run->connect_ms = v;
    run->cap_connect = cap;
  }
  run->connect_ms[run->n_connect++] = (double)(now - s->sig.offer_at) / 1e3;
  move_to_batch(s);
}

static void hist_add(uint32_t *h, int64_t us) {
  int64_t b = us < 0 ? 0 : us / LOAD_HIST_BIN_US;
  h[b < LOAD_HIST_BINS ? b : LOAD_HIST_BINS]++;
}

/* A frame without its echo is lost once its time is up (or the session
 * ends); then its place is free. */
static void settle(load_session_t *s, load_sent_t *f) {
  if (f->sent_rt && f->counted && !f->echoed) {
    s->run->counts[f->phase].lost++;
    s->unsettled--;
  }
  f->sent_rt = 0;
}

/* --- sockets -------------------------------------------------------------------- */

static int epfd_of(const load_session_t *s) {
  return s->batched ? s->run->epfd_batch : s->run->epfd;
}

static void watch(load_session_t *s, uint32_t events, int op) {
  struct epoll_event ev = {.events = events, .data.u64 = TAG_SESSION | (uint32_t)s->idx};
  (void)epoll_ctl(epfd_of(s), op, s->fd, &ev);
}

/* Connected: from now on the slot ticks drain the socket (see load.h). */
static void move_to_batch(load_session_t *s) {
  if (s->batched || s->fd < 0) return;
  (void)epoll_ctl(s->run->epfd, EPOLL_CTL_DEL, s->fd, NULL);
  s->batched = true;
  /* Edge-triggered for UDP: udp_readable drains the socket, so epoll need
   * not poll it again for readiness that is already handled. */
  uint32_t ev = s->tcp ? EPOLLIN : EPOLLIN | EPOLLET;
  if (s->tcp && (s->tcp->out_len || !s->tcp->connected)) ev |= EPOLLOUT;
  watch(s, ev, EPOLL_CTL_ADD);
}

static int open_udp(load_session_t *s) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int on = 1;
  (void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  struct sockaddr_in self = {.sin_family = AF_INET};
  if (s->run->local_ip[0] && inet_pton(AF_INET, s->run->local_ip, &self.sin_addr) == 1 &&
      bind(fd, (struct sockaddr *)&self, sizeof self) < 0) {
    close(fd);
    return -1;
  }
  s->fd = fd;
  watch(s, EPOLLIN, EPOLL_CTL_ADD);
  return 0;
}

static void open_tcp(load_session_t *s, const vg_addr_t *to) {
  load_tcp_t *t = s->tcp;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  int on = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  (void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  struct sockaddr_in self = {.sin_family = AF_INET};
  if (s->run->local_ip[0] && inet_pton(AF_INET, s->run->local_ip, &self.sin_addr) == 1)
    (void)bind(fd, (struct sockaddr *)&self, sizeof self);
  struct sockaddr_storage ss;
  socklen_t sl = vg_addr_to_sockaddr(to, false, &ss);
  if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
    close(fd);
    return;
  }
  s->fd = fd;
  t->remote = *to;
  t->connected = false;
  t->out_len = 0;
  vg_rfc4571_init(&t->deframer);
  watch(s, EPOLLIN | EPOLLOUT, EPOLL_CTL_ADD);
}

/* Writes what is queued for the TCP connection; watches for room when
 * some is left. */
static void tcp_flush(load_session_t *s) {
  load_tcp_t *t = s->tcp;
  if (!t->connected || t->out_len == 0) return;
  ssize_t n = send(s->fd, t->out, t->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n > 0) {
    memmove(t->out, t->out + n, t->out_len - (size_t)n);
    t->out_len -= (size_t)n;
  }
  watch(s, t->out_len ? EPOLLIN | EPOLLOUT : EPOLLIN, EPOLL_CTL_MOD);
}

/* RFC 4571: each datagram goes out behind its 16-bit length. */
static void tcp_send(load_session_t *s, const vg_addr_t *to, const uint8_t *buf, size_t len) {
  load_tcp_t *t = s->tcp;
  if (s->fd < 0) open_tcp(s, to);
  if (s->fd < 0 || !vg_addr_equal(to, &t->remote)) return; /* one server candidate only */
  if (t->out_len + 2 + len > sizeof t->out) return;       /* the stream is stuck: drop */
  if (vg_rfc4571_header(len, t->out + t->out_len) < 0) return;
  memcpy(t->out + t->out_len + 2, buf, len);
  t->out_len += 2 + len;
  tcp_flush(s);
}

static void udp_send(load_session_t *s, const vg_addr_t *to, const uint8_t *buf, size_t len) {
  if (s->udp_connected && vg_addr_equal(to, &s->selected)) {
    (void)send(s->fd, buf, len, MSG_DONTWAIT);
    return;
  }
  struct sockaddr_storage ss;
  socklen_t sl = vg_addr_to_sockaddr(to, false, &ss);
  (void)sendto(s->fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&ss, sl);
}

/* --- the rtc's output ------------------------------------------------------------ */

static void on_echo(load_session_t *s, const vg_rtc_event_t *ev, int64_t rx_rt, vg_time_t now) {
  load_run_t *run = s->run;
  uint32_t ts = ev->u.audio.timestamp;
  s->echoes++;
  if (!run->opt.idle) mark_connected(s, now);
  if (run->opt.rebased && !s->offset_known) {
    /* The jump our timestamps make at frame LOAD_TS_MARK shows in the
     * echo's: that echo is frame LOAD_TS_MARK. */
    uint32_t d = ts - s->last_echo_ts;
    if (s->have_echo_ts && d >= LOAD_TS_JUMP / 2 && d < 0x80000000u) {
      s->ts_offset = ts - frame_ts(s, LOAD_TS_MARK);
      s->offset_known = true;
    }
    s->last_echo_ts = ts;
    s->have_echo_ts = true;
    if (!s->offset_known) return;
  }
  uint32_t v = ts - s->ts_offset - s->ts0;
  if (run->opt.rebased && v >= LOAD_TS_JUMP + LOAD_TS_MARK * LOAD_FRAME_TS) v -= LOAD_TS_JUMP;
  uint32_t idx = v / LOAD_FRAME_TS;
  load_sent_t *f = &s->ring[idx % LOAD_RING];
  if (v % LOAD_FRAME_TS != 0 || idx >= s->frames || idx + LOAD_RING < s->frames) {
    run->counts[run->phase].unmatched++;
    return;
  }
  load_counts_t *c = &run->counts[f->phase];
  if (!f->sent_rt || f->ts != ts - s->ts_offset) { /* settled already: over the horizon */
    c->late++;
    return;
  }
  if (f->echoed) {
    c->duplicates++;
    return;
  }
  int64_t rtt = rx_rt - f->sent_rt;
  if (rtt > LOAD_LOSS_HORIZON) {
    c->late++; /* stays unechoed: lost when settled */
    return;
  }
  f->echoed = true;
  if (!f->counted) return;
  s->unsettled--;
  c->received++;
  /* An echo that does not transcode returns our bytes: check them. */
  if (run->opt.target != LOAD_TARGET_AIORTC) {
    size_t k = idx % run->speech.n;
    if (ev->u.audio.payload_len != run->speech.len[k] ||
        memcmp(ev->u.audio.payload, run->speech.data + run->speech.off[k], run->speech.len[k]) != 0)
      c->altered++;
  }
  hist_add(c->rtt, rtt);
  if (idx + 1 < s->hi_echo) c->reordered++;
  else s->hi_echo = idx + 1;
  /* RFC 3550 A.8 on the echo stream, with our send time as the source
   * clock: J += (|D| - J) / 16, D the change in transit time. */
  if (s->have_transit) {
    int64_t d = rtt - s->last_transit;
    if (d < 0) d = -d;
    s->jitter_us += ((double)d - s->jitter_us) / 16.0;
  }
  s->last_transit = rtt;
  s->have_transit = true;
}

/* Sends what the rtc queued and handles its events. `rx_rt` stamps an
 * AUDIO event (the datagram's kernel receive time). */
static void flush(load_session_t *s, vg_time_t now, int64_t rx_rt) {
  uint8_t buf[DGRAM_MAX];
  vg_addr_t to;
  int n;
  while ((n = vg_rtc_poll_transmit(s->rtc, buf, sizeof buf, &to)) > 0) {
    if (to.transport == VG_TRANSPORT_TCP) {
      if (s->tcp) tcp_send(s, &to, buf, (size_t)n);
    } else if (!s->tcp) {
      udp_send(s, &to, buf, (size_t)n);
    }
  }
  vg_rtc_event_t ev;
  while (vg_rtc_poll_event(s->rtc, &ev)) {
    switch (ev.type) {
    case VG_RTC_EV_ICE_CONNECTED:
      s->selected = ev.u.ice.addr;
      if (!s->tcp && !s->udp_connected) {
        /* A connected socket skips the route lookup on every send. */
        struct sockaddr_storage ss;
        socklen_t sl = vg_addr_to_sockaddr(&ev.u.ice.addr, false, &ss);
        s->udp_connected = connect(s->fd, (struct sockaddr *)&ss, sl) == 0;
      }
      break;
    case VG_RTC_EV_DTLS_CONNECTED:
      s->dtls_at = now;
      if (s->state == SS_CONNECTING) s->state = SS_MEDIA;
      if (s->run->opt.idle) mark_connected(s, now);
      break;
    case VG_RTC_EV_AUDIO:
      on_echo(s, &ev, rx_rt ? rx_rt : load_now_rt(), now);
      break;
    case VG_RTC_EV_RTT:
      break;
    case VG_RTC_EV_CLOSED:
      if (!s->connected) {
        session_fail(s, ev.u.closed.why ? ev.u.closed.why : "closed");
      } else if (s->state == SS_MEDIA) {
        snprintf(s->why, sizeof s->why, "ended early: %s",
                 ev.u.closed.why ? ev.u.closed.why : "closed");
        if (s->run->opt.verbose) fprintf(stderr, "session %d: %s\n", s->idx, s->why);
      }
      break;
    }
  }
  s->timer = vg_rtc_poll_timeout(s->rtc);
}

/* --- input ----------------------------------------------------------------------- */

/* The kernel's receive time (CLOCK_REALTIME us) of a message read with
 * SO_TIMESTAMPNS on; 0 when it carries none. */
static int64_t rx_stamp(struct msghdr *mh) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      struct timespec ts;
      memcpy(&ts, CMSG_DATA(c), sizeof ts);
      return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    }
  return 0;
}

static void udp_readable(load_session_t *s) {
  static uint8_t bufs[RECV_BATCH][DGRAM_MAX];
  static struct sockaddr_storage from[RECV_BATCH];
  static union {
    struct cmsghdr h;
    uint8_t b[CMSG_SPACE(sizeof(struct timespec))];
  } ctl[RECV_BATCH];
  struct iovec iov[RECV_BATCH];
  struct mmsghdr m[RECV_BATCH];
  for (;;) {
    for (int i = 0; i < RECV_BATCH; i++) {
      iov[i] = (struct iovec){.iov_base = bufs[i], .iov_len = DGRAM_MAX};
      m[i].msg_hdr = (struct msghdr){.msg_name = &from[i], .msg_namelen = sizeof from[i],
                                     .msg_iov = &iov[i], .msg_iovlen = 1,
                                     .msg_control = &ctl[i], .msg_controllen = sizeof ctl[i]};
    }
    int n = recvmmsg(s->fd, m, RECV_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) return;
    vg_time_t now = vg_bench_now();
    for (int i = 0; i < n && s->rtc; i++) {
      int64_t rx_rt = rx_stamp(&m[i].msg_hdr);
      vg_addr_t a;
      if (s->udp_connected) a = s->selected;
      else if (vg_sockaddr_to_addr((struct sockaddr *)&from[i], VG_TRANSPORT_UDP, &a) < 0) continue;
      (void)vg_rtc_handle_packet(s->rtc, now, &a, bufs[i], m[i].msg_len);
      flush(s, now, rx_rt);
    }
    if (n < RECV_BATCH) return;
  }
}

static void tcp_readable(load_session_t *s, uint32_t events) {
  static uint8_t buf[16384];
  load_tcp_t *t = s->tcp;
  if (!t->connected && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
      (void)epoll_ctl(epfd_of(s), EPOLL_CTL_DEL, s->fd, NULL);
      close(s->fd);
      s->fd = -1;
      session_fail(s, "ICE-TCP connection refused");
      return;
    }
    t->connected = true;
  }
  tcp_flush(s);
  if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
  union {
    struct cmsghdr h;
    uint8_t b[CMSG_SPACE(sizeof(struct timespec))];
  } ctl;
  struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl,
                      .msg_controllen = sizeof ctl};
  ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    /* RFC 6544: the connection is the path; it is gone. */
    (void)epoll_ctl(epfd_of(s), EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
    s->fd = -1;
    if (!s->connected) session_fail(s, "the ICE-TCP connection closed");
    return;
  }
  if (n < 0) return;
  vg_time_t now = vg_bench_now();
  /* The receive time of the last segment read (tcp(7) SO_TIMESTAMPNS). */
  int64_t rx_rt = rx_stamp(&mh);
  size_t off = 0;
  while (off < (size_t)n && s->rtc) {
    const uint8_t *fr;
    size_t fl;
    int r = vg_rfc4571_feed(&t->deframer, buf + off, (size_t)n - off, &fr, &fl);
    if (r <= 0) break;
    off += (size_t)r;
    if (!fr) continue;
    (void)vg_rtc_handle_packet(s->rtc, now, &t->remote, fr, fl);
    flush(s, now, rx_rt);
  }
}

void load_session_readable(load_session_t *s, uint32_t events) {
  if (s->fd < 0 || !s->rtc) return;
  if (s->tcp) tcp_readable(s, events);
  else udp_readable(s);
}

void load_sessions_drain_input(load_run_t *run) {
  struct epoll_event evs[512];
  int n;
  do {
    n = epoll_wait(run->epfd_batch, evs, 512, 0);
    for (int i = 0; i < n; i++)
      load_session_readable(&run->s[(uint32_t)evs[i].data.u64], evs[i].events);
  } while (n == 512);
}

/* --- lifecycle --------------------------------------------------------------------- */

/* Keeps only the answer's candidates we can use: the wanted transport and,
 * when any matches, the signaling host's address (a server advertises every
 * interface; one path is enough). */
static size_t filter_answer(const char *in, size_t len, bool tcp, const char *host, char *out,
                            size_t cap) {
  size_t o = 0;
  bool host_seen = false;
  for (int pass = 0; pass < 2; pass++) {
    o = 0;
    for (size_t i = 0; i < len;) {
      const char *line = in + i;
      const char *nl = memchr(line, '\n', len - i);
      size_t ll = nl ? (size_t)(nl - line) + 1 : len - i;
      i += ll;
      bool keep = true;
      if (ll > 12 && strncmp(line, "a=candidate:", 12) == 0) {
        char f[6][64] = {{0}};
        char tmp[256];
        snprintf(tmp, sizeof tmp, "%.*s", (int)(ll < 255 ? ll : 255), line);
        int k = sscanf(tmp, "%63s %63s %63s %63s %63s %63s", f[0], f[1], f[2], f[3], f[4], f[5]);
        bool is_tcp = k >= 3 && strcasecmp(f[2], "tcp") == 0;
        bool is_host = k >= 5 && host && strcmp(f[4], host) == 0;
        keep = is_tcp == tcp && strcmp(f[1], "1") == 0;
        if (keep && is_host) host_seen = true;
        if (keep && pass == 1 && host_seen && !is_host) keep = false;
      }
      if (keep && o + ll < cap) {
        memcpy(out + o, line, ll);
        o += ll;
      }
    }
    if (!host_seen) break;
  }
  out[o] = '\0';
  return o;
}

static void hook_answer(void *user, const char *sdp, size_t len) {
  load_session_t *s = user;
  char *mine = malloc(len + 1);
  if (!mine) return;
  char host[256];
  vg_bench_url_host(s->run->opt.url, host, sizeof host);
  size_t n = filter_answer(sdp, len, s->tcp != NULL, host, mine, len + 1);
  vg_time_t now = vg_bench_now();
  const char *why = NULL;
  int r = vg_rtc_apply_answer(s->rtc, now, mine, n, &why);
  free(mine);
  if (r < 0) {
    char w[200];
    snprintf(w, sizeof w, "the answer was refused: %s", why ? why : "?");
    session_fail(s, w);
    return;
  }
  s->state = SS_CONNECTING;
  (void)vg_rtc_handle_timeout(s->rtc, now); /* the first check goes out now */
  flush(s, now, 0);
}

static void hook_failed(void *user, const char *why) { session_fail(user, why); }

static void hook_closed(void *user) {
  load_session_t *s = user;
  s->state = SS_FREE;
  s->run->closed++;
}

const load_sig_hooks_t load_session_hooks = {hook_answer, hook_failed, hook_closed};

/* Our host candidate (RFC 8839 §5.1), as a browser offers it: full ICE
 * agents (Janus, aioice) check it; ICE-lite voxgate learns it anyway. */
static int add_candidate(load_session_t *s, char *offer, int n, size_t cap) {
  struct sockaddr_in self;
  socklen_t sl = sizeof self;
  char ip[INET_ADDRSTRLEN];
  if (s->tcp || s->fd < 0 || getsockname(s->fd, (struct sockaddr *)&self, &sl) < 0 ||
      self.sin_addr.s_addr == 0 || !inet_ntop(AF_INET, &self.sin_addr, ip, sizeof ip))
    return n;
  return vg_bench_offer_add_host(offer, n, cap, ip, ntohs(self.sin_port));
}

int load_session_open(load_run_t *run, load_session_t *s, int idx) {
  load_tcp_t *keep_tcp = s->tcp;
  memset(s, 0, sizeof *s);
  s->run = run;
  s->idx = idx;
  s->fd = -1;
  s->tcp = keep_tcp;
  s->timer = VG_TIME_NEVER;
  if (run->opt.tcp && !s->tcp && !(s->tcp = calloc(1, sizeof *s->tcp))) return -1;
  s->opened_at = vg_bench_now();
  s->state = SS_SIGNALING;
  run->opened++;
  char sid[16];
  snprintf(sid, sizeof sid, "load%d", run->opened);
  vg_rtc_config_t cfg = {.role = VG_RTC_ROLE_CLIENT, .cert = run->cert, .sid = sid};
  char offer[4096];
  int n;
  if (vg_rtc_create(&cfg, &s->rtc) < 0 || (n = vg_rtc_create_offer(s->rtc, offer, sizeof offer)) <= 0) {
    session_fail(s, "could not make an offer");
    load_session_close(s);
    return -1;
  }
  if (!run->opt.tcp && open_udp(s) < 0) {
    session_fail(s, "could not open a UDP socket");
    load_session_close(s);
    return -1;
  }
  s->ts0 = (uint32_t)vg_bench_now() * 2654435761u; /* RFC 3550 §5.1: a random start */
  n = add_candidate(s, offer, n, sizeof offer);
  if (load_sig_open(run->sig, &s->sig, s, offer, (size_t)n) < 0) {
    session_fail(s, "could not start the signaling request");
    load_session_close(s);
    return -1;
  }
  return 0;
}

/* The session's next frame: the speech packet it is at, with the frame's
 * RTP timestamp, remembered in the ring for its echo. */
static void send_frame(load_session_t *s, vg_time_t now, bool counting) {
  load_run_t *run = s->run;
  uint32_t i = s->frames;
  load_sent_t *f = &s->ring[i % LOAD_RING];
  settle(s, f);
  size_t k = i % run->speech.n;
  uint32_t ts = frame_ts(s, i);
  int64_t sent_rt = load_now_rt();
  if (vg_rtc_send_audio(s->rtc, now, ts, i == 0, run->speech.data + run->speech.off[k],
                        run->speech.len[k]) != VG_OK)
    return;
  *f = (load_sent_t){.sent_rt = sent_rt, .ts = ts, .phase = (uint8_t)run->phase,
                     .counted = counting && !(run->opt.rebased && i < LOAD_TS_MARK)};
  if (f->counted) {
    run->counts[run->phase].sent++;
    s->unsettled++;
  }
  s->frames++;
  flush(s, now, 0);
  /* Each session's jitter, once a second, for the hold's percentiles. */
  if (run->phase == PHASE_HOLD && counting && s->have_transit && s->frames % 50 == 0)
    hist_add(run->jitter_hist, (int64_t)s->jitter_us);
}

void load_session_tick(load_session_t *s, vg_time_t now) {
  load_run_t *run = s->run;
  if (s->state == SS_FREE || s->state == SS_CLOSING) return;
  if (!s->connected && !s->failed && now - s->opened_at > VG_SEC(run->opt.connect_timeout_s)) {
    const char *what = s->state == SS_SIGNALING ? "the answer"
                       : !s->dtls_at            ? "ICE and DTLS"
                                                : "the first echo";
    char why[80];
    snprintf(why, sizeof why, "timed out waiting for %s", what);
    session_fail(s, why);
  }
  if (s->failed) {
    load_session_close(s);
    return;
  }
  load_sig_poll(run->sig, &s->sig, s, now);
  if (s->rtc && s->timer <= now) {
    (void)vg_rtc_handle_timeout(s->rtc, now);
    flush(s, now, 0);
  }
  /* While draining, frames still go out but do not count: an echo that
   * buffers (aiortc's jitter buffer holds a few frames) releases the last
   * counted ones only when more arrive. */
  bool counting = s->state == SS_MEDIA && run->sending;
  if ((counting || s->state == SS_DRAINING) && !run->opt.idle) send_frame(s, now, counting);
  if (counting && run->churn_mode && s->frames >= (uint32_t)run->churn_frames)
    load_session_drain(s, now);
  if (s->state == SS_DRAINING && run->churn_mode && (now >= s->drain_until || s->unsettled == 0))
    load_session_close(s);
}

void load_session_drain(load_session_t *s, vg_time_t now) {
  if (s->state != SS_MEDIA) return;
  s->state = SS_DRAINING;
  s->drain_until = now + LOAD_LOSS_HORIZON;
}

void load_session_close(load_session_t *s) {
  if (s->state == SS_FREE || s->state == SS_CLOSING) return;
  for (int i = 0; i < LOAD_RING; i++) settle(s, &s->ring[i]);
  if (s->rtc) {
    vg_time_t now = vg_bench_now();
    (void)vg_rtc_close(s->rtc, now); /* RTCP BYE and DTLS close_notify */
    uint8_t buf[DGRAM_MAX];
    vg_addr_t to;
    int n;
    while ((n = vg_rtc_poll_transmit(s->rtc, buf, sizeof buf, &to)) > 0) {
      if (to.transport == VG_TRANSPORT_TCP && s->tcp) tcp_send(s, &to, buf, (size_t)n);
      else if (!s->tcp && s->fd >= 0) udp_send(s, &to, buf, (size_t)n);
    }
    vg_rtc_destroy(s->rtc);
    s->rtc = NULL;
  }
  if (s->fd >= 0) {
    (void)epoll_ctl(epfd_of(s), EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
    s->fd = -1;
  }
  s->state = SS_CLOSING;
  load_sig_close(s->run->sig, &s->sig, s);
}
