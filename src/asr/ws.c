/* The WebSocket engine: `ws://HOST:PORT/PATH` speaking the Vosk server
 * protocol, so an existing Vosk server (or anything compatible, such as a
 * team's own GPU model behind the same protocol) does the recognising. One
 * connection per stream (per session).
 *
 * The Vosk protocol (vosk-server, websocket/asr_server.py):
 *
 *   client                                   server
 *   text   {"config" : {"sample_rate" : 16000, "words" : 1}}
 *   binary PCM s16le (we send 200 ms a message) ──►
 *                                       ◄── text {"partial" : "go for"}
 *                                       ◄── text {"text" : "go forward",
 *                                                 "result" : [{"word" : "go",
 *                                                 "start" : 0.51, "end" : 0.7,
 *                                                 "conf" : 1.0}, ...]}
 *   text   {"eof" : 1}  (the user stopped)  ──►
 *                                       ◄── text the last result, then close
 *
 * The server answers every binary message with a partial or a result;
 * result times are seconds of the connection's audio. The eof message is
 * compared as a string by the reference server, so it is sent exactly as
 * `{"eof" : 1}`. After eof the connection is done; audio fed after
 * end_utterance opens a new connection (its times offset by the stream
 * time at which it began).
 *
 * WebSocket framing is wslay's (client context, masking) over our own
 * non-blocking socket; the opening handshake (RFC 6455 section 4.1) is
 * built here and its HTTP response parsed with http-parser. Every wait has
 * a deadline: connect and handshake VG_WS_CONNECT_MS, a server that stops
 * reading VG_WS_STALL_MS, the last result after eof VG_WS_END_WAIT_MS. Host
 * names are resolved with getaddrinfo, which waits as long as the system
 * resolver does: prefer an address or a name from /etc/hosts. */
#define _GNU_SOURCE /* SOCK_NONBLOCK, SOCK_CLOEXEC */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <wslay/wslay.h>

#include "asr/engine_internal.h"
#include "asr/wire.h"
#include "base/log.h"

/* Connect plus opening handshake. */
#define VG_WS_CONNECT_MS 5000
/* Audio queued for a server that takes none of it for this long: the
 * server is not reading. */
#define VG_WS_STALL_MS 5000
/* After eof, the server has this long to send the last result and close. */
#define VG_WS_END_WAIT_MS 5000
/* Audio per binary message: 200 ms (the server replies to each message,
 * so 20 ms messages would mean 50 replies a second). */
#define VG_WS_CHUNK_BYTES (VG_ASR_SAMPLE_RATE / 5 * 2)
/* Audio queued in wslay beyond the socket before feed waits: 10 s. */
#define VG_WS_QUEUE_MAX (10 * VG_ASR_SAMPLE_RATE * 2)
/* A server message larger than this closes the connection (a final with
 * word times for a long utterance is a few kB). */
#define VG_WS_MSG_MAX (1024 * 1024)
/* The handshake response's header block. */
#define VG_WS_RESPONSE_MAX 8192

typedef struct {
  char *url;  /* owned: for messages */
  char *host; /* owned: for getaddrinfo (no brackets) */
  char *port; /* owned */
  char *path; /* owned: starts with '/' */
  char *host_header; /* owned: host[:port] as in the URL */
} ws_engine_t;

typedef struct {
  ws_engine_t *eng; /* borrowed */
  char sid[64];
  int fd;           /* -1 when not connected */
  wslay_event_context_ptr ctx; /* owned, NULL when not connected */
  uint8_t pre[VG_WS_RESPONSE_MAX]; /* bytes read past the handshake */
  size_t pre_len, pre_off;
  uint8_t chunk[VG_WS_CHUNK_BYTES]; /* audio gathered into one message */
  size_t chunk_len;
  uint64_t sent_bytes; /* written to the socket, for stall detection */
  int64_t stall_since;
  bool peer_eof;    /* the socket reached EOF */
  bool eof_sent;    /* {"eof" : 1} queued: a close is expected */
  bool failed;
  uint64_t fed;     /* samples fed: the stream clock */
  double base;      /* stream seconds at which this connection began */
  vg_asr_queue_t q;
} ws_stream_t;

/* ---- the URL ---- */

static void ws_engine_destroy(void *impl) {
  ws_engine_t *e = impl;
  if (!e) return;
  free(e->url);
  free(e->host);
  free(e->port);
  free(e->path);
  free(e->host_header);
  free(e);
}

static int ws_engine_create(const char *arg, const vg_asr_options_t *opt, void **impl,
                            char *err, size_t err_cap) {
  (void)opt;
  ws_engine_t *e = calloc(1, sizeof *e);
  if (!e) return VG_ENOMEM;
  const char *p = arg + 5; /* after "ws://" */
  const char *slash = strchr(p, '/');
  size_t auth_len = slash ? (size_t)(slash - p) : strlen(p);
  const char *host = p, *port = "80";
  size_t host_len, port_len = 2;
  if (*p == '[') { /* [IPv6]:port */
    const char *close = memchr(p, ']', auth_len);
    if (!close) goto bad;
    host = p + 1;
    host_len = (size_t)(close - host);
    if ((size_t)(close + 1 - p) < auth_len) {
      if (close[1] != ':') goto bad;
      port = close + 2;
      port_len = auth_len - (size_t)(port - p);
    }
  } else {
    const char *colon = memchr(p, ':', auth_len);
    host_len = colon ? (size_t)(colon - p) : auth_len;
    if (colon) {
      port = colon + 1;
      port_len = auth_len - (size_t)(port - p);
    }
  }
  if (host_len == 0 || port_len == 0 || port_len > 5) goto bad;
  long pn = 0;
  for (size_t i = 0; i < port_len; i++) {
    if (port[i] < '0' || port[i] > '9') goto bad;
    pn = pn * 10 + (port[i] - '0');
  }
  if (pn < 1 || pn > 65535) goto bad;
  e->url = strdup(arg);
  e->host = strndup(host, host_len);
  e->port = strndup(port, port_len);
  e->path = strdup(slash ? slash : "/");
  e->host_header = strndup(p, auth_len);
  if (!e->url || !e->host || !e->port || !e->path || !e->host_header) {
    ws_engine_destroy(e);
    return VG_ENOMEM;
  }
  for (const char *c = e->path; *c; c++) {
    if ((unsigned char)*c <= ' ' || *c == 0x7f) goto bad; /* no spaces or controls */
  }
  VG_LOG(VG_LOG_INFO, NULL, "asr: websocket engine (Vosk protocol), one connection per session: %s",
         e->url);
  *impl = e;
  return VG_OK;
bad:
  vg_asr_set_err(err, err_cap, "bad websocket engine address \"%s\" (expected ws://HOST:PORT/PATH)",
                 arg);
  ws_engine_destroy(e);
  return VG_EINVAL;
}

/* ---- socket helpers, all with deadlines ---- */

static int wait_fd(int fd, short events, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - vg_asr_now_ms();
    if (left <= 0) return VG_ETIMEDOUT;
    struct pollfd p = {fd, events, 0};
    int r = poll(&p, 1, (int)left);
    if (r > 0) return VG_OK;
    if (r < 0 && errno != EINTR) return VG_EINVAL;
  }
}

static int connect_to(const ws_engine_t *e, int64_t deadline, char *err, size_t err_cap) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  struct addrinfo *res = NULL;
  int g = getaddrinfo(e->host, e->port, &hints, &res);
  if (g != 0) {
    vg_asr_set_err(err, err_cap, "cannot resolve %s: %s", e->host, gai_strerror(g));
    return VG_ENOTFOUND;
  }
  int fd = -1, rc = VG_ECLOSED;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int c = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (c < 0 && errno == EINPROGRESS) {
      c = wait_fd(fd, POLLOUT, deadline);
      if (c == VG_ETIMEDOUT) {
        vg_asr_set_err(err, err_cap, "connecting to %s timed out", e->url);
        rc = VG_ETIMEDOUT;
        close(fd);
        fd = -1;
        break;
      }
      int so = 0;
      socklen_t sl = sizeof so;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl);
      errno = so;
      c = so ? -1 : 0;
    }
    if (c == 0) break;
    vg_asr_set_err(err, err_cap, "cannot connect to %s: %s", e->url, strerror(errno));
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) return rc;
  int one = 1; /* small messages, sent when ready */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline) {
  while (len) {
    ssize_t k = send(fd, buf, len, MSG_NOSIGNAL);
    if (k > 0) {
      buf += k;
      len -= (size_t)k;
    } else if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
      int w = wait_fd(fd, POLLOUT, deadline);
      if (w < 0) return w;
    } else {
      return VG_ECLOSED;
    }
  }
  return VG_OK;
}

/* ---- the opening handshake (RFC 6455 section 4.1) ---- */

/* Sends the upgrade request and checks the server's 101 response. Bytes
 * after the response (the server's first frames) are kept in s->pre. */
static int handshake(ws_stream_t *s, int64_t deadline, char *err, size_t err_cap) {
  const ws_engine_t *e = s->eng;
  unsigned char nonce[16];
  char key[32], expect[29];
  if (RAND_bytes(nonce, sizeof nonce) != 1 ||
      EVP_EncodeBlock((unsigned char *)key, nonce, 16) != 24 ||
      vg_asr_wire_accept(key, expect) < 0) {
    vg_asr_set_err(err, err_cap, "websocket handshake: no random key");
    return VG_ECRYPTO;
  }
  char req[1024];
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\n"
                   "Host: %s\r\n"
                   "Upgrade: websocket\r\n"
                   "Connection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\n"
                   "Sec-WebSocket-Version: 13\r\n"
                   "User-Agent: voxgate\r\n"
                   "\r\n",
                   e->path, e->host_header, key);
  if (n < 0 || (size_t)n >= sizeof req) {
    vg_asr_set_err(err, err_cap, "websocket path too long");
    return VG_EINVAL;
  }
  int rc = send_all(s->fd, req, (size_t)n, deadline);
  if (rc < 0) {
    vg_asr_set_err(err, err_cap, "websocket handshake with %s: %s", e->url,
                   rc == VG_ETIMEDOUT ? "timed out" : "connection closed");
    return rc;
  }

  size_t total = 0;
  for (;;) {
    size_t consumed = 0;
    unsigned status = 0;
    const char *why = NULL;
    rc = vg_asr_wire_handshake(s->pre, total, expect, &consumed, &status, &why);
    if (rc == VG_OK) {
      s->pre_off = consumed; /* the rest are the server's first frames */
      s->pre_len = total;
      return VG_OK;
    }
    if (rc != VG_EAGAIN) {
      if (status && status != 101)
        vg_asr_set_err(err, err_cap, "websocket handshake with %s: the server answered HTTP %u",
                       e->url, status);
      else
        vg_asr_set_err(err, err_cap, "websocket handshake with %s: %s", e->url, why);
      return rc;
    }
    if (total == sizeof s->pre) {
      vg_asr_set_err(err, err_cap, "websocket handshake with %s: response headers too long",
                     e->url);
      return VG_EPROTO;
    }
    ssize_t k = recv(s->fd, s->pre + total, sizeof s->pre - total, 0);
    if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
      rc = wait_fd(s->fd, POLLIN, deadline);
      if (rc < 0) {
        vg_asr_set_err(err, err_cap, "websocket handshake with %s timed out", e->url);
        return rc;
      }
      continue;
    }
    if (k <= 0) {
      vg_asr_set_err(err, err_cap, "websocket handshake with %s: connection closed", e->url);
      return VG_ECLOSED;
    }
    total += (size_t)k;
  }
}

/* ---- wslay callbacks over our socket ---- */

static ssize_t cb_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *ud) {
  (void)flags;
  ws_stream_t *s = ud;
  if (s->pre_off < s->pre_len) { /* frames that came with the handshake */
    size_t k = s->pre_len - s->pre_off < len ? s->pre_len - s->pre_off : len;
    memcpy(buf, s->pre + s->pre_off, k);
    s->pre_off += k;
    return (ssize_t)k;
  }
  ssize_t k;
  do k = recv(s->fd, buf, len, 0);
  while (k < 0 && errno == EINTR);
  if (k > 0) return k;
  if (k < 0 && errno == EAGAIN) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
  } else {
    if (k == 0) s->peer_eof = true;
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
  }
  return -1;
}

static ssize_t cb_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *ud) {
  (void)flags;
  ws_stream_t *s = ud;
  ssize_t k;
  do k = send(s->fd, data, len, MSG_NOSIGNAL);
  while (k < 0 && errno == EINTR);
  if (k >= 0) {
    s->sent_bytes += (uint64_t)k;
    return k;
  }
  wslay_event_set_error(ctx, errno == EAGAIN ? WSLAY_ERR_WOULDBLOCK : WSLAY_ERR_CALLBACK_FAILURE);
  return -1;
}

static int cb_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *ud) {
  (void)ud;
  if (RAND_bytes(buf, (int)len) == 1) return 0;
  wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
  return -1;
}

static void fail(ws_stream_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(ws_stream_t *s, const char *fmt, ...) {
  if (s->failed) return;
  s->failed = true;
  char why[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  vg_asr_queue_error(&s->q, "%s", why);
  VG_LOG(VG_LOG_WARN, s->sid, "asr ws: %s", why);
}

static void cb_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *ud) {
  (void)ctx;
  ws_stream_t *s = ud;
  if (arg->opcode == WSLAY_TEXT_FRAME) {
    const char *why = NULL;
    int rc = vg_asr_wire_result(&s->q, (const char *)arg->msg, arg->msg_length, s->base,
                                (double)s->fed / VG_ASR_SAMPLE_RATE, &why);
    if (rc == VG_EPROTO)
      VG_LOG(VG_LOG_WARN, s->sid, "asr ws: ignoring a message that is %s", why);
    else if (rc == VG_ECLOSED) /* {"error": ...}: the ERROR is queued */
      s->failed = true;
  } else if (arg->opcode == WSLAY_CONNECTION_CLOSE && !s->eof_sent) {
    /* RFC 6455 section 5.5.1: the body is a status code and a reason. */
    char why[160];
    size_t rl = arg->msg_length > 2 ? arg->msg_length - 2 : 0;
    if (rl > 120) rl = 120;
    snprintf(why, sizeof why, "%u%s%.*s", arg->status_code, rl ? " " : "", (int)rl,
             rl ? (const char *)arg->msg + 2 : "");
    fail(s, "server closed the connection (%s)", why);
  }
}

/* ---- the connection ---- */

static void disconnect(ws_stream_t *s) {
  if (s->ctx) wslay_event_context_free(s->ctx);
  s->ctx = NULL;
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
}

/* Connects, completes the handshake and sends the config message. */
static int connect_ws(ws_stream_t *s, char *err, size_t err_cap) {
  int64_t deadline = vg_asr_now_ms() + VG_WS_CONNECT_MS;
  s->pre_len = s->pre_off = 0;
  s->peer_eof = s->eof_sent = false;
  s->chunk_len = 0;
  s->stall_since = 0;
  int fd = connect_to(s->eng, deadline, err, err_cap);
  if (fd < 0) return fd;
  s->fd = fd;
  int rc = handshake(s, deadline, err, err_cap);
  if (rc < 0) goto fail;
  static const struct wslay_event_callbacks cbs = {
      .recv_callback = cb_recv,
      .send_callback = cb_send,
      .genmask_callback = cb_genmask,
      .on_msg_recv_callback = cb_msg,
  };
  rc = VG_ENOMEM;
  if (wslay_event_context_client_init(&s->ctx, &cbs, s) != 0) goto fail;
  wslay_event_config_set_max_recv_msg_length(s->ctx, VG_WS_MSG_MAX);
  static const char config[] = "{\"config\" : {\"sample_rate\" : 16000, \"words\" : 1}}";
  struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)config, sizeof config - 1};
  if (wslay_event_queue_msg(s->ctx, &m) != 0) goto fail;
  s->base = (double)s->fed / VG_ASR_SAMPLE_RATE;
  VG_LOG(VG_LOG_DEBUG, s->sid, "asr ws: connected to %s", s->eng->url);
  return VG_OK;
fail:
  if (rc == VG_ENOMEM) vg_asr_set_err(err, err_cap, "out of memory");
  disconnect(s);
  return rc;
}

/* Sends what wslay has queued and reads what the server sent, waiting up
 * to wait_ms for progress (0: only what is possible now). `until` stops
 * early: 0 never, 1 when the send queue is under VG_WS_QUEUE_MAX, 2 when
 * the connection is finished (closed, after eof). */
static void pump(ws_stream_t *s, int wait_ms, int until) {
  int64_t deadline = vg_asr_now_ms() + wait_ms;
  while (s->ctx && !s->failed) {
    uint64_t before = s->sent_bytes;
    if (wslay_event_want_write(s->ctx) && wslay_event_send(s->ctx) != 0) {
      fail(s, "connection to the server lost%s", s->eof_sent ? " after eof" : "");
      return;
    }
    if (wslay_event_want_read(s->ctx) && wslay_event_recv(s->ctx) != 0 && !s->failed) {
      if (!s->eof_sent)
        fail(s, "%s", s->peer_eof ? "server closed the connection without a close frame"
                                  : "connection to the server lost");
      else if (!s->peer_eof)
        VG_LOG(VG_LOG_DEBUG, s->sid, "asr ws: connection error after eof");
      disconnect(s);
      return;
    }
    if (s->failed) return;
    bool finished = !wslay_event_want_read(s->ctx) && !wslay_event_want_write(s->ctx);
    if (finished) { /* closed both ways */
      if (!s->eof_sent) fail(s, "%s", "server closed the connection");
      disconnect(s);
      return;
    }
    size_t queued = wslay_event_get_queued_msg_length(s->ctx);
    int64_t now = vg_asr_now_ms();
    if (queued == 0 || s->sent_bytes != before) s->stall_since = 0;
    else if (s->stall_since == 0) s->stall_since = now;
    if (s->stall_since && now - s->stall_since >= VG_WS_STALL_MS) {
      fail(s, "%s", "server is not reading (nothing sent for 5 s)");
      return;
    }
    if (now >= deadline) return;
    if (until == 1 && queued < VG_WS_QUEUE_MAX) return;
    struct pollfd p = {s->fd, POLLIN, 0};
    if (wslay_event_want_write(s->ctx)) p.events |= POLLOUT;
    int64_t t = deadline - now;
    if (s->stall_since && s->stall_since + VG_WS_STALL_MS - now < t)
      t = s->stall_since + VG_WS_STALL_MS - now;
    if (s->pre_off < s->pre_len) t = 0;
    if (poll(&p, 1, (int)(t < 0 ? 0 : t)) < 0 && errno != EINTR) return;
  }
}

static void flush_chunk(ws_stream_t *s) {
  if (!s->chunk_len || !s->ctx) return;
  struct wslay_event_msg m = {WSLAY_BINARY_FRAME, s->chunk, s->chunk_len};
  if (wslay_event_queue_msg(s->ctx, &m) != 0) /* copies the data */
    fail(s, "%s", "cannot queue audio for the server");
  s->chunk_len = 0;
}

/* ---- streams ---- */

static int ws_feed(void *st, const int16_t *pcm, size_t n) {
  ws_stream_t *s = st;
  if (s->failed) return VG_ECLOSED;
  if (!s->ctx) {
    /* After end_utterance: a new connection for the new audio. */
    char err[256];
    if (connect_ws(s, err, sizeof err) < 0) {
      fail(s, "%s", err);
      return VG_ECLOSED;
    }
  }
  while (n && !s->failed) {
    size_t room = (sizeof s->chunk - s->chunk_len) / 2;
    size_t k = n < room ? n : room;
    uint8_t *o = s->chunk + s->chunk_len;
    for (size_t i = 0; i < k; i++) { /* little-endian on the wire */
      uint16_t v = (uint16_t)pcm[i];
      o[2 * i] = (uint8_t)(v & 0xff);
      o[2 * i + 1] = (uint8_t)(v >> 8);
    }
    s->chunk_len += 2 * k;
    s->fed += k;
    pcm += k;
    n -= k;
    if (s->chunk_len == sizeof s->chunk) {
      flush_chunk(s);
      if (s->ctx && wslay_event_get_queued_msg_length(s->ctx) >= VG_WS_QUEUE_MAX)
        pump(s, VG_WS_STALL_MS + 100, 1); /* faster than the server reads */
    }
  }
  pump(s, 0, 0);
  return s->failed ? VG_ECLOSED : VG_OK;
}

static bool ws_poll(void *st, vg_asr_result_t *out) {
  ws_stream_t *s = st;
  if (!s->failed && s->ctx) pump(s, 0, 0);
  return vg_asr_queue_pop(&s->q, out);
}

static int ws_end_utterance(void *st) {
  ws_stream_t *s = st;
  if (s->failed) return VG_ECLOSED;
  if (!s->ctx) return VG_OK;
  flush_chunk(s);
  static const char eof[] = "{\"eof\" : 1}";
  struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)eof, sizeof eof - 1};
  if (!s->failed && wslay_event_queue_msg(s->ctx, &m) != 0)
    fail(s, "%s", "cannot queue eof for the server");
  s->eof_sent = true;
  /* The server answers with the last result and closes. */
  int64_t deadline = vg_asr_now_ms() + VG_WS_END_WAIT_MS;
  while (s->ctx && !s->failed) {
    int64_t left = deadline - vg_asr_now_ms();
    if (left <= 0) {
      VG_LOG(VG_LOG_WARN, s->sid, "asr ws: no close %d ms after eof", VG_WS_END_WAIT_MS);
      break;
    }
    pump(s, (int)left, 2);
  }
  disconnect(s);
  return s->failed ? VG_ECLOSED : VG_OK;
}

static void ws_stream_destroy(void *st) {
  ws_stream_t *s = st;
  if (!s) return;
  if (s->ctx && !s->failed && !s->eof_sent) {
    /* A polite close, sent if the socket takes it now. */
    (void)wslay_event_queue_close(s->ctx, WSLAY_CODE_NORMAL_CLOSURE, NULL, 0);
    s->eof_sent = true; /* a close is expected now */
    (void)wslay_event_send(s->ctx);
  }
  disconnect(s);
  vg_asr_queue_clear(&s->q);
  free(s);
}

static int ws_stream_create(void *impl, const char *sid, void **out, char *err, size_t err_cap) {
  ws_stream_t *s = calloc(1, sizeof *s);
  if (!s) return VG_ENOMEM;
  s->eng = impl;
  s->fd = -1;
  snprintf(s->sid, sizeof s->sid, "%s", sid ? sid : "");
  int rc = connect_ws(s, err, err_cap);
  if (rc < 0) {
    ws_stream_destroy(s);
    return rc;
  }
  pump(s, 0, 0); /* the config message goes out now */
  *out = s;
  return VG_OK;
}

const vg_asr_ops_t vg_ws_ops = {
    .name = "websocket",
    .engine_create = ws_engine_create,
    .engine_destroy = ws_engine_destroy,
    .stream_create = ws_stream_create,
    .feed = ws_feed,
    .poll = ws_poll,
    .end_utterance = ws_end_utterance,
    .stream_destroy = ws_stream_destroy,
};
