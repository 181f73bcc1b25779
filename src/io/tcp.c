#include "io/tcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/map.h"
#include "io/sockaddr.h"
#include "sig/rfc4571.h"
#include "sig/sniff.h"

#define READ_BUF 16384
/* Room for the status line and headers of any reply we write. */
#define REPLY_HEAD_MAX 2048

typedef enum { KIND_SNIFF, KIND_HTTP, KIND_HTTPS, KIND_ICE } kind_t;

typedef struct vg_tcp_conn {
  uv_tcp_t handle; /* first: the handle pointer is the conn pointer */
  uv_timer_t idle;
  struct vg_tcp *owner;
  struct vg_tcp_conn *prev, *next;
  kind_t kind;
  vg_addr_t local, peer;
  int open_handles; /* freed when both handles have closed */
  bool closing;
  /* sniffing: the connection's first bytes */
  uint8_t sniff[VG_SNIFF_MAX];
  size_t sniff_len;
  /* HTTP, or a WebSocket once upgraded; over TLS when `tls` is set */
  vg_http_conn_t *http; /* owned */
  vg_tls_t *tls;        /* owned; NULL for plain HTTP */
  vg_ws_t *ws;          /* owned; set once upgraded */
  vg_ws_handler_t wsh;
  size_t ws_max_backlog;
  bool ws_awaiting_first; /* the first-message deadline runs on `idle` */
  size_t pending_write;
  /* ICE-TCP */
  vg_rfc4571_t *deframer; /* owned */
  uint8_t *obuf;          /* owned, VG_TCP_ICE_OUTBUF: frames not yet taken by the kernel */
  size_t olen, oinflight;
  bool writing;
  uv_write_t owrite;
  uint64_t frames_dropped;
  char rbuf[READ_BUF];
} conn_t;


struct vg_tcp {
  uv_tcp_t listener;
  vg_tcp_handlers_t h;
  conn_t *conns; /* list of live connections */
  size_t n_conns;
  vg_map_t ice;  /* peer address -> ICE-TCP conn */
  bool closing;
};

typedef struct {
  uv_write_t req;
  conn_t *c;
  size_t len;
  bool close_after;
  char data[]; /* the response */
} write_t;

void vg_http_reply_header(vg_http_reply_t *r, const char *name, const char *value) {
  if (r->n_headers >= VG_TCP_MAX_REPLY_HEADERS) return;
  r->headers[r->n_headers].name = name;
  r->headers[r->n_headers].value = value;
  r->n_headers++;
}

/* ---- connection lifecycle ------------------------------------------------ */

static void conn_free_if_done(uv_handle_t *h) {
  conn_t *c = h->data;
  if (--c->open_handles > 0) return;
  vg_http_conn_destroy(c->http);
  vg_tls_destroy(c->tls);
  vg_ws_destroy(c->ws);
  free(c->deframer);
  free(c->obuf);
  free(c);
}

static void conn_close(conn_t *c) {
  if (c->closing) return;
  c->closing = true;
  struct vg_tcp *t = c->owner;
  if (c->prev) c->prev->next = c->next;
  else t->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  t->n_conns--;
  if (c->ws && c->wsh.on_closed) c->wsh.on_closed(c->wsh.ud, c);
  if (c->kind == KIND_ICE) {
    uint8_t k[VG_ADDR_KEY_MAX];
    size_t kl = vg_addr_key(&c->peer, k);
    if (vg_map_get(&t->ice, k, kl) == c) vg_map_del(&t->ice, k, kl);
    if (t->h.on_ice_closed && !t->closing) t->h.on_ice_closed(t->h.ud, &c->peer);
  }
  uv_close((uv_handle_t *)&c->idle, conn_free_if_done);
  uv_close((uv_handle_t *)&c->handle, conn_free_if_done);
}

static uint64_t idle_ms(const conn_t *c) {
  return c->owner->h.idle_timeout_ms ? c->owner->h.idle_timeout_ms : VG_TCP_IDLE_TIMEOUT_MS;
}

static void on_idle(uv_timer_t *tm) {
  conn_t *c = tm->data;
  if (c->kind == KIND_SNIFF) VG_LOG(VG_LOG_DEBUG, NULL, "closing a TCP connection that never spoke");
  conn_close(c);
}

/* ---- HTTP ---------------------------------------------------------------- */

static void on_written(uv_write_t *req, int status) {
  write_t *w = (write_t *)req;
  conn_t *c = w->c;
  c->pending_write -= w->len;
  if (status < 0 || w->close_after) conn_close(c);
  free(w);
}

/* Queues `n` bytes already in w->data on the socket. */
static bool write_raw(conn_t *c, write_t *w, size_t n, bool close_after) {
  w->c = c;
  w->len = n;
  w->close_after = close_after;
  c->pending_write += n;
  uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
  if (uv_write(&w->req, (uv_stream_t *)&c->handle, &b, 1, on_written) < 0) {
    c->pending_write -= n;
    free(w);
    conn_close(c);
    return false;
  }
  return true;
}

/* Sends whatever ciphertext TLS has queued (handshake, records, alerts). */
static bool tls_flush(conn_t *c, bool close_after) {
  for (;;) {
    write_t *w = malloc(sizeof *w + READ_BUF);
    if (!w) {
      conn_close(c);
      return false;
    }
    int n = vg_tls_poll_output(c->tls, (uint8_t *)w->data, READ_BUF);
    if (n <= 0) {
      free(w);
      if (close_after) conn_close(c);
      return !close_after;
    }
    if (!write_raw(c, w, (size_t)n, false)) return false;
  }
}

/* Sends plaintext bytes: straight to the socket, or encrypted for TLS. */
static bool send_plain(conn_t *c, const void *data, size_t n, bool close_after) {
  if (!c->tls) {
    write_t *w = malloc(sizeof *w + n);
    if (!w) {
      conn_close(c);
      return false;
    }
    memcpy(w->data, data, n);
    return write_raw(c, w, n, close_after);
  }
  if (n > 0 && vg_tls_write(c->tls, data, n) < 0) {
    conn_close(c);
    return false;
  }
  if (close_after) (void)vg_tls_close(c->tls);
  return tls_flush(c, close_after);
}

/* Formats a response and queues it on the connection (through TLS for
 * HTTPS); closes the connection after it unless `keep_alive` (interim 1xx
 * replies pass true). Returns false when the connection had to be closed. */
static bool send_response(conn_t *c, const vg_http_request_t *req, const vg_http_reply_t *r,
                          bool keep_alive) {
  size_t cap = REPLY_HEAD_MAX + r->body_len;
  write_t *w = malloc(sizeof *w + cap);
  if (!w) {
    conn_close(c);
    return false;
  }
  bool head = req && req->method == VG_HTTP_HEAD;
  int n = vg_http_response(w->data, cap, r->status, r->content_type, r->headers, r->n_headers,
                           r->body, r->body_len, keep_alive, head);
  if (n < 0) {
    free(w);
    conn_close(c);
    return false;
  }
  if (!c->tls) return write_raw(c, w, (size_t)n, !keep_alive); /* no copy */
  bool ok = send_plain(c, w->data, (size_t)n, !keep_alive);
  free(w);
  return ok;
}

/* ---- WebSocket ----------------------------------------------------------- */

/* Moves the codec's output to the socket; closes once the closing
 * handshake is done. */
static void ws_flush(conn_t *c) {
  uint8_t buf[READ_BUF];
  int n;
  while (!c->closing && (n = vg_ws_poll_output(c->ws, buf, sizeof buf)) > 0)
    if (!send_plain(c, buf, (size_t)n, false)) return;
  if (!c->closing && vg_ws_wants_close(c->ws)) send_plain(c, "", 0, true);
}

/* A WebSocket may be quiet for the whole session: once upgraded, `idle`
 * times only the first message (when the handler asked for a deadline) and
 * the closing handshake, never silence, and incoming bytes do not reset it
 * (a client that keeps sending after our close still goes in time). */
static void ws_bytes(conn_t *c, const uint8_t *data, size_t len) {
  if (vg_ws_feed(c->ws, data, len) < 0) {
    conn_close(c);
    return;
  }
  vg_ws_msg_t m;
  while (!c->closing && vg_ws_poll_message(c->ws, &m)) {
    if (c->ws_awaiting_first) {
      c->ws_awaiting_first = false;
      uv_timer_stop(&c->idle);
    }
    if (c->wsh.on_message) c->wsh.on_message(c->wsh.ud, c, &m);
  }
  if (!c->closing) ws_flush(c);
}

static int ws_send(conn_t *c, bool text, const void *data, size_t len) {
  if (c->closing || !c->ws) return VG_ECLOSED;
  /* What the kernel has not taken: the client's receive window and our
   * socket buffer are full, so this is the client's reading, not ours. */
  size_t backlog = uv_stream_get_write_queue_size((uv_stream_t *)&c->handle);
  int r = backlog + len > c->ws_max_backlog
              ? VG_ELIMIT
              : text ? vg_ws_send_text(c->ws, data, len) : vg_ws_send_binary(c->ws, data, len);
  if (r == VG_ELIMIT) {
    /* RFC 6455 §7.4.1: 1008, the client is not reading what it asked for.
     * The close goes behind what waits; the client sees it if it ever
     * reads again, else the close timer ends the connection. */
    VG_LOG(VG_LOG_WARN, NULL, "closing a WebSocket client that does not read (%zu bytes waiting)",
           backlog);
    vg_tcp_ws_close(c, VG_WS_CLOSE_POLICY, "client not reading");
    return VG_ELIMIT;
  }
  if (r < 0) return r;
  ws_flush(c);
  return VG_OK;
}

int vg_tcp_ws_send_text(vg_tcp_conn_t *c, const char *s, size_t len) { return ws_send(c, true, s, len); }
int vg_tcp_ws_send_binary(vg_tcp_conn_t *c, const uint8_t *b, size_t len) {
  return ws_send(c, false, b, len);
}

void vg_tcp_ws_close(vg_tcp_conn_t *c, uint16_t code, const char *reason) {
  if (c->closing || !c->ws) return;
  if (vg_ws_close(c->ws, code, reason) != VG_OK) {
    conn_close(c);
    return;
  }
  ws_flush(c);
  /* RFC 6455 §7.1.1: a client that never answers our close is dropped. */
  c->ws_awaiting_first = false;
  if (!c->closing) uv_timer_start(&c->idle, on_idle, VG_TCP_WS_CLOSE_TIMEOUT_MS, 0);
}

/* The client sent nothing within the handler's first-message deadline. */
static void on_ws_first_timeout(uv_timer_t *tm) {
  conn_t *c = tm->data;
  VG_LOG(VG_LOG_INFO, NULL, "closing a WebSocket client that sent no message in time");
  vg_tcp_ws_close(c, VG_WS_CLOSE_POLICY, "no message in time");
}

void vg_tcp_ws_detach(vg_tcp_conn_t *c) { memset(&c->wsh, 0, sizeof c->wsh); }

/* The handler accepted an upgrade: answer 101 and switch protocols. */
static bool become_ws(conn_t *c, const vg_http_reply_t *reply) {
  char resp[VG_WS_HANDSHAKE_RESPONSE_MAX];
  int n = vg_ws_handshake_response(reply->ws_accept, NULL, resp, sizeof resp);
  vg_ws_config_t cfg = {.max_message = reply->ws_max_message};
  c->ws_max_backlog = reply->ws_max_backlog ? reply->ws_max_backlog : VG_TCP_MAX_PENDING_WRITE;
  if (n < 0 || vg_ws_create(&cfg, &c->ws) < 0) {
    conn_close(c);
    return false;
  }
  c->wsh = reply->ws;
  if (reply->ws_conn) *reply->ws_conn = c;
  /* An event stream may only listen, for the whole session: no HTTP idle
   * timeout once upgraded (its end comes from the session or the peer);
   * only, when asked, a deadline for the first message. */
  uv_timer_stop(&c->idle);
  if (reply->ws_first_message_ms) {
    c->ws_awaiting_first = true;
    uv_timer_start(&c->idle, on_ws_first_timeout, reply->ws_first_message_ms, 0);
  }
  if (!send_plain(c, resp, (size_t)n, false)) return false;
  if (c->wsh.on_open) c->wsh.on_open(c->wsh.ud, c);
  return !c->closing;
}

static void http_bytes(conn_t *c, const uint8_t *data, size_t len) {
  size_t off = 0;
  while (off < len && !c->closing) {
    int status = 0;
    const char *why = NULL;
    int r = vg_http_conn_feed(c->http, data + off, len - off, &status, &why);
    if (r < 0) {
      /* Malformed or over a limit: say why, then close (the stream is no
       * longer in a known state). */
      vg_http_reply_t reply = {.status = status ? status : 400,
                               .content_type = "text/plain; charset=utf-8"};
      char body[256];
      int bl = snprintf(body, sizeof body, "%s\n", why ? why : "bad request");
      reply.body = body;
      reply.body_len = (size_t)bl;
      vg_http_reply_header(&reply, "Access-Control-Allow-Origin", "*");
      send_response(c, NULL, &reply, false);
      VG_LOG(VG_LOG_DEBUG, NULL, "HTTP %d: %s", reply.status, why ? why : "bad request");
      return;
    }
    off += (size_t)r;
    if (vg_http_conn_poll_continue(c->http)) {
      /* RFC 9110 §10.1.1: the headers are acceptable, send the body. */
      static const vg_http_reply_t cont = {.status = 100};
      if (!send_response(c, NULL, &cont, true)) return;
    }
    const vg_http_request_t *req = vg_http_conn_request(c->http);
    if (!req) {
      if (r == 0) break; /* defensive: nothing consumed, nothing complete */
      continue;
    }
    vg_http_reply_t reply = {.status = 500};
    c->owner->h.on_http(c->owner->h.ud, req, &c->local, &c->peer, &reply);
    if (reply.ws_accept && req->upgrade) {
      /* The bytes after the request belong to the WebSocket. */
      free(reply.free_after);
      if (become_ws(c, &reply) && off < len) ws_bytes(c, data + off, len - off);
      return;
    }
    bool keep = req->keep_alive && !reply.close && !req->upgrade;
    send_response(c, req, &reply, keep);
    free(reply.free_after);
    vg_http_conn_next(c->http);
    if (!keep) return;
    /* Each request gets the idle timeout from the end of the previous one,
     * so a client trickling one byte at a time is still cut off. */
    uv_timer_start(&c->idle, on_idle, idle_ms(c), 0);
  }
  if (c->pending_write > VG_TCP_MAX_PENDING_WRITE) {
    VG_LOG(VG_LOG_WARN, NULL, "closing an HTTP client that does not read its responses");
    conn_close(c);
  }
}

/* ---- ICE-TCP ------------------------------------------------------------- */

static void ice_bytes(conn_t *c, const uint8_t *data, size_t len) {
  /* Consent checks keep arriving on a live path; the peer's consent timer,
   * not this one, decides when the session is dead. */
  uv_timer_start(&c->idle, on_idle, idle_ms(c), 0);
  size_t off = 0;
  while (off < len && !c->closing) {
    const uint8_t *frame;
    size_t flen;
    int r = vg_rfc4571_feed(c->deframer, data + off, len - off, &frame, &flen);
    if (r < 0) {
      char a[VG_ADDR_STRLEN];
      vg_addr_format(&c->peer, a, sizeof a);
      VG_LOG(VG_LOG_INFO, NULL, "ICE-TCP %s: bad RFC 4571 frame length; closing", a);
      conn_close(c);
      return;
    }
    off += (size_t)r;
    if (frame) c->owner->h.on_ice_frame(c->owner->h.ud, &c->peer, frame, flen);
  }
}

static void ice_flush(conn_t *c);

static void on_ice_written(uv_write_t *req, int status) {
  conn_t *c = req->data;
  c->writing = false;
  if (status < 0) {
    if (status != UV_ECANCELED) conn_close(c);
    return;
  }
  memmove(c->obuf, c->obuf + c->oinflight, c->olen - c->oinflight);
  c->olen -= c->oinflight;
  c->oinflight = 0;
  ice_flush(c);
}

/* Starts writing the backlog when nothing is in flight. */
static void ice_flush(conn_t *c) {
  if (c->writing || c->olen == 0 || c->closing) return;
  c->oinflight = c->olen;
  c->writing = true;
  c->owrite.data = c;
  uv_buf_t b = uv_buf_init((char *)c->obuf, (unsigned)c->olen);
  if (uv_write(&c->owrite, (uv_stream_t *)&c->handle, &b, 1, on_ice_written) < 0) {
    c->writing = false;
    conn_close(c);
  }
}

int vg_tcp_send_frame(vg_tcp_t *t, const vg_addr_t *to, const uint8_t *buf, size_t len) {
  uint8_t k[VG_ADDR_KEY_MAX];
  conn_t *c = vg_map_get(&t->ice, k, vg_addr_key(to, k));
  if (!c || c->closing) return VG_ENOTFOUND;
  uint8_t hdr[2];
  if (vg_rfc4571_header(len, hdr) < 0) return VG_EINVAL;
  size_t off = 0;
  if (c->olen == 0 && !c->writing) {
    /* Nothing queued: hand it to the kernel now, without copying. */
    uv_buf_t bufs[2] = {uv_buf_init((char *)hdr, 2), uv_buf_init((char *)buf, (unsigned)len)};
    int n = uv_try_write((uv_stream_t *)&c->handle, bufs, 2);
    if (n == (int)(len + 2)) return VG_OK;
    if (n < 0 && n != UV_EAGAIN) {
      conn_close(c);
      return VG_ECLOSED;
    }
    off = n > 0 ? (size_t)n : 0;
  }
  /* Queue what the kernel did not take; a partly written frame must be
   * finished, so only a frame not yet started can be dropped. */
  size_t rest = len + 2 - off;
  if (off == 0 && c->olen + rest > VG_TCP_ICE_OUTBUF) {
    c->frames_dropped++;
    return VG_ELIMIT;
  }
  if (!c->obuf && !(c->obuf = malloc(VG_TCP_ICE_OUTBUF + len + 2))) return VG_ENOMEM;
  if (off < 2) {
    memcpy(c->obuf + c->olen, hdr + off, 2 - off);
    c->olen += 2 - off;
    off = 2;
  }
  memcpy(c->obuf + c->olen, buf + (off - 2), len - (off - 2));
  c->olen += len - (off - 2);
  ice_flush(c);
  return VG_OK;
}

/* ---- reading and sniffing ------------------------------------------------ */

/* HTTPS: ciphertext in, plaintext to the HTTP codec, replies back out
 * through TLS (send_response). A TLS failure sends its alert, then closes. */
static void https_bytes(conn_t *c, const uint8_t *data, size_t len) {
  const char *why = NULL;
  if (vg_tls_feed(c->tls, data, len, &why) < 0) {
    VG_LOG(VG_LOG_DEBUG, NULL, "TLS: %s", why ? why : "failed");
    tls_flush(c, true);
    return;
  }
  uint8_t plain[READ_BUF];
  int n;
  while (!c->closing && (n = vg_tls_read(c->tls, plain, sizeof plain)) > 0) {
    if (c->ws) ws_bytes(c, plain, (size_t)n);
    else http_bytes(c, plain, (size_t)n);
  }
  if (c->closing) return;
  if (n < 0) {
    if (n != VG_ECLOSED) VG_LOG(VG_LOG_DEBUG, NULL, "TLS: %s", vg_tls_reason(c->tls));
    tls_flush(c, true);
    return;
  }
  tls_flush(c, false); /* handshake messages */
}

static void dispatch(conn_t *c, const uint8_t *data, size_t len) {
  if (c->kind == KIND_HTTP && c->ws) ws_bytes(c, data, len);
  else if (c->kind == KIND_HTTP) http_bytes(c, data, len);
  else if (c->kind == KIND_HTTPS) https_bytes(c, data, len);
  else if (c->kind == KIND_ICE) ice_bytes(c, data, len);
}

/* Decides what the connection speaks; returns false when it is closed. */
static bool become(conn_t *c, vg_sniff_t s) {
  struct vg_tcp *t = c->owner;
  char a[VG_ADDR_STRLEN];
  vg_addr_format(&c->peer, a, sizeof a);
  if (s == VG_SNIFF_HTTP) {
    if (vg_http_conn_create(0, &c->http) < 0) goto fail;
    c->kind = KIND_HTTP;
    uv_timer_start(&c->idle, on_idle, idle_ms(c), 0);
    return true;
  }
  if (s == VG_SNIFF_TLS && t->h.tls) {
    if (vg_tls_create(t->h.tls, &c->tls) < 0 || vg_http_conn_create(0, &c->http) < 0) goto fail;
    c->kind = KIND_HTTPS;
    uv_timer_start(&c->idle, on_idle, idle_ms(c), 0);
    return true;
  }
  if (s == VG_SNIFF_ICE_TCP && t->h.on_ice_frame) {
    c->deframer = malloc(sizeof *c->deframer);
    if (!c->deframer) goto fail;
    vg_rfc4571_init(c->deframer);
    uint8_t k[VG_ADDR_KEY_MAX];
    if (vg_map_put(&t->ice, k, vg_addr_key(&c->peer, k), c) < 0) goto fail;
    c->kind = KIND_ICE;
    VG_LOG(VG_LOG_DEBUG, NULL, "ICE-TCP connection from %s", a);
    return true;
  }
  VG_LOG(VG_LOG_DEBUG, NULL, "closing a %s connection from %s (not served)", vg_sniff_name(s), a);
fail:
  conn_close(c);
  return false;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  conn_t *c = h->data;
  (void)suggested;
  b->base = c->rbuf;
  b->len = sizeof c->rbuf;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b) {
  conn_t *c = s->data;
  if (nread < 0) {
    /* EOF or error: nobody is left to answer, whatever the parser says. */
    int status;
    const char *why;
    if (nread == UV_EOF && c->http && vg_http_conn_eof(c->http, &status, &why) < 0)
      VG_LOG(VG_LOG_DEBUG, NULL, "HTTP client left mid-request: %s", why);
    conn_close(c);
    return;
  }
  if (c->closing || nread == 0) return;
  const uint8_t *data = (const uint8_t *)b->base;
  size_t len = (size_t)nread;
  if (c->kind == KIND_SNIFF) {
    size_t take = VG_SNIFF_MAX - c->sniff_len;
    if (take > len) take = len;
    memcpy(c->sniff + c->sniff_len, data, take);
    c->sniff_len += take;
    vg_sniff_t kind = vg_sniff(c->sniff, c->sniff_len);
    if (kind == VG_SNIFF_NEED_MORE) return; /* all of this read is in sniff[] */
    if (!become(c, kind)) return;
    dispatch(c, c->sniff, c->sniff_len);
    data += take;
    len -= take;
  }
  if (len > 0 && !c->closing) dispatch(c, data, len);
}

static void on_connection(uv_stream_t *server, int status) {
  struct vg_tcp *t = server->data;
  if (status < 0) return;
  conn_t *c = calloc(1, sizeof *c);
  if (!c) return;
  c->owner = t;
  if (uv_tcp_init(server->loop, &c->handle) < 0) {
    free(c);
    return;
  }
  c->handle.data = c;
  c->open_handles = 1;
  if (uv_accept(server, (uv_stream_t *)&c->handle) < 0 || t->n_conns >= VG_TCP_MAX_CONNECTIONS) {
    if (t->n_conns >= VG_TCP_MAX_CONNECTIONS)
      VG_LOG(VG_LOG_WARN, NULL, "refusing a TCP connection: %d open", VG_TCP_MAX_CONNECTIONS);
    c->closing = true;
    uv_close((uv_handle_t *)&c->handle, conn_free_if_done);
    return;
  }
  uv_timer_init(server->loop, &c->idle);
  c->idle.data = c;
  c->open_handles = 2;
  struct sockaddr_storage ss;
  int sl = sizeof ss;
  if (uv_tcp_getsockname(&c->handle, (struct sockaddr *)&ss, &sl) == 0)
    (void)vg_sockaddr_to_addr((struct sockaddr *)&ss, VG_TRANSPORT_TCP, &c->local);
  sl = sizeof ss;
  if (uv_tcp_getpeername(&c->handle, (struct sockaddr *)&ss, &sl) == 0)
    (void)vg_sockaddr_to_addr((struct sockaddr *)&ss, VG_TRANSPORT_TCP, &c->peer);
  c->next = t->conns;
  if (t->conns) t->conns->prev = c;
  t->conns = c;
  t->n_conns++;
  uv_tcp_nodelay(&c->handle, 1);
  /* Whatever it is, it must say so promptly. */
  uv_timer_start(&c->idle, on_idle, VG_TCP_SNIFF_TIMEOUT_MS, 0);
  uv_read_start((uv_stream_t *)&c->handle, on_alloc, on_read);
}

/* ---- listener ------------------------------------------------------------ */

static void listener_closed(uv_handle_t *h) {
  struct vg_tcp *t = h->data;
  vg_map_cleanup(&t->ice);
  free(t);
}

static int bind_listener(void *ud, const struct sockaddr *sa) { return uv_tcp_bind(ud, sa, 0); }

int vg_tcp_listen(uv_loop_t *loop, const vg_addr_t *bind_addr, uint16_t port,
                  const vg_tcp_handlers_t *h, vg_tcp_t **out) {
  *out = NULL;
  struct vg_tcp *t = calloc(1, sizeof *t);
  if (!t) return UV_ENOMEM;
  t->h = *h;
  if (vg_map_init(&t->ice) < 0) {
    free(t);
    return UV_ENOMEM;
  }
  int r = uv_tcp_init(loop, &t->listener);
  if (r < 0) {
    vg_map_cleanup(&t->ice);
    free(t);
    return r;
  }
  t->listener.data = t;
  r = vg_sockaddr_bind(bind_addr, port, bind_listener, &t->listener);
  if (r == 0) r = uv_listen((uv_stream_t *)&t->listener, 511, on_connection);
  if (r < 0) {
    t->closing = true;
    uv_close((uv_handle_t *)&t->listener, listener_closed);
    return r;
  }
  *out = t;
  return 0;
}

size_t vg_tcp_connection_count(const vg_tcp_t *t) { return t->n_conns; }

void vg_tcp_close(vg_tcp_t *t) {
  if (!t || t->closing) return;
  t->closing = true;
  while (t->conns) conn_close(t->conns);
  uv_close((uv_handle_t *)&t->listener, listener_closed);
}
