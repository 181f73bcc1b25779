/* Helpers for the in-process server tests (test_server.c, test_wsaudio.c):
 * a server on its own libuv loop bound to 127.0.0.1, a minimal HTTP client
 * and a minimal WebSocket client over real loopback sockets. The tests run
 * the server's loop themselves (uv_run NOWAIT) while they wait. */
#ifndef VG_TEST_SERVER_TEST_UTIL_H
#define VG_TEST_SERVER_TEST_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "app/config.h"
#include "app/server.h"

typedef struct {
  uv_loop_t loop;
  vg_server_t *srv;
  uint16_t port;
} server_t;

static inline uint16_t test_port(int salt) {
  /* a port per process and test, above 1024, unlikely to clash */
  return (uint16_t)(20000 + (getpid() * 7 + salt * 101) % 30000);
}

/* The speech engine the next server_start uses (NULL: the default). */
static const char *g_asr_spec __attribute__((unused));

static inline bool server_start(server_t *s, int salt, const char *token, size_t max_sessions) {
  /* one recognizer is enough here, and loads fastest */
  vg_config_t cfg;
  char err[256];
  vg_config_defaults(&cfg);
  s->port = test_port(salt);
  cfg.port = s->port;
  cfg.max_sessions = max_sessions;
  cfg.asr_streams = 1;
  cfg.http_idle_ms = 1000; /* so the tests can outlast it */
  if (g_asr_spec) snprintf(cfg.asr, sizeof cfg.asr, "%s", g_asr_spec);
  if (vg_addr_parse(&cfg.bind, "127.0.0.1", 0, VG_TRANSPORT_UDP) < 0) return false;
  cfg.has_bind = true;
  if (token) snprintf(cfg.token, sizeof cfg.token, "%s", token);
  if (uv_loop_init(&s->loop) != 0) return false;
  if (vg_server_create(&s->loop, &cfg, &s->srv, err, sizeof err) < 0) {
    fprintf(stderr, "  server: %s\n", err);
    return false;
  }
  return true;
}

static inline void server_stop(server_t *s) {
  vg_server_shutdown(s->srv);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  vg_server_destroy(s->srv);
  (void)uv_loop_close(&s->loop);
}

/* ---- a minimal HTTP client (responses parsed with http_parser) ------------ */

typedef struct {
  int status;
  char body[8192];
  size_t body_len;
  char location[128];
  char retry_after[16];
  char www_auth[64];
  char fallback_ms[16];  /* X-Voxgate-Fallback-Ms */
  char proxied[8];       /* X-Voxgate-Proxied */
  char expose[160];      /* Access-Control-Expose-Headers */
  char cur_field[64];
  bool done;
} response_t;

static inline int on_status_cb(http_parser *p, const char *at, size_t len) {
  (void)at, (void)len;
  ((response_t *)p->data)->status = (int)p->status_code;
  return 0;
}
static inline int on_field_cb(http_parser *p, const char *at, size_t len) {
  response_t *r = p->data;
  snprintf(r->cur_field, sizeof r->cur_field, "%.*s", (int)len, at);
  return 0;
}
static inline int on_value_cb(http_parser *p, const char *at, size_t len) {
  response_t *r = p->data;
  if (strcasecmp(r->cur_field, "Location") == 0)
    snprintf(r->location, sizeof r->location, "%.*s", (int)len, at);
  if (strcasecmp(r->cur_field, "Retry-After") == 0)
    snprintf(r->retry_after, sizeof r->retry_after, "%.*s", (int)len, at);
  if (strcasecmp(r->cur_field, "WWW-Authenticate") == 0)
    snprintf(r->www_auth, sizeof r->www_auth, "%.*s", (int)len, at);
  if (strcasecmp(r->cur_field, "X-Voxgate-Fallback-Ms") == 0)
    snprintf(r->fallback_ms, sizeof r->fallback_ms, "%.*s", (int)len, at);
  if (strcasecmp(r->cur_field, "X-Voxgate-Proxied") == 0)
    snprintf(r->proxied, sizeof r->proxied, "%.*s", (int)len, at);
  if (strcasecmp(r->cur_field, "Access-Control-Expose-Headers") == 0)
    snprintf(r->expose, sizeof r->expose, "%.*s", (int)len, at);
  return 0;
}
static inline int on_body_cb(http_parser *p, const char *at, size_t len) {
  response_t *r = p->data;
  if (r->body_len + len < sizeof r->body) {
    memcpy(r->body + r->body_len, at, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
  }
  return 0;
}
static inline int on_done_cb(http_parser *p) {
  ((response_t *)p->data)->status = (int)p->status_code;
  ((response_t *)p->data)->done = true;
  return 0;
}

/* Sends raw bytes on a new connection and runs the server's loop until a
 * whole response has come back (or 3 s pass). */
static inline bool http_raw(server_t *s, const void *req, size_t len, response_t *resp) {
  memset(resp, 0, sizeof *resp);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(s->port)};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) return false;
  fcntl(fd, F_SETFL, O_NONBLOCK);
  http_parser p;
  http_parser_settings st;
  http_parser_settings_init(&st);
  st.on_status = on_status_cb;
  st.on_header_field = on_field_cb;
  st.on_header_value = on_value_cb;
  st.on_body = on_body_cb;
  st.on_message_complete = on_done_cb;
  http_parser_init(&p, HTTP_RESPONSE);
  p.data = resp;
  size_t sent = 0;
  uint64_t until = uv_hrtime() + 3000000000ull;
  while (!resp->done && uv_hrtime() < until) {
    if (sent < len) {
      ssize_t n = send(fd, (const char *)req + sent, len - sent, MSG_NOSIGNAL);
      if (n > 0) sent += (size_t)n;
      else if (n < 0 && errno != EAGAIN) break; /* the server closed on us */
    }
    uv_run(&s->loop, UV_RUN_NOWAIT);
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) http_parser_execute(&p, &st, buf, (size_t)n);
    else if (n == 0) break;
  }
  close(fd);
  return resp->done;
}

static inline bool http_do(server_t *s, const char *method, const char *path, const char *headers,
                    const char *body, size_t body_len, response_t *resp) {
  size_t cap = 1024 + body_len;
  char *req = malloc(cap);
  int n = snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Length: %zu\r\n\r\n",
                   method, path, headers ? headers : "", body_len);
  memcpy(req + n, body, body_len);
  bool ok = http_raw(s, req, (size_t)n + body_len, resp);
  free(req);
  return ok;
}

/* ---- a minimal WebSocket client (RFC 6455, client side) ------------------- */

/* Runs the server's loop for about `ms` milliseconds. */
static inline void server_run(server_t *s, int ms) {
  uint64_t until = uv_hrtime() + (uint64_t)ms * 1000000ull;
  do {
    uv_run(&s->loop, UV_RUN_NOWAIT);
    struct timespec t = {0, 200000};
    nanosleep(&t, NULL);
  } while (uv_hrtime() < until);
}

#define WSC_BUF (4 * 1024 * 1024)

typedef struct {
  server_t *s; /* borrowed */
  int fd;
  uint8_t *in; /* owned, WSC_BUF: bytes received, not yet parsed */
  size_t in_len;
  uint8_t *msg; /* owned, WSC_BUF: the last message returned */
  bool eof;
} wsc_t;

typedef struct {
  int opcode;          /* 1 text, 2 binary, 8 close */
  const uint8_t *data; /* borrowed until the next wsc_recv */
  size_t len;
  uint16_t close_code; /* close only */
  char reason[128];    /* close only */
} wsc_msg_t;

/* Opens a WebSocket to `path` with the handshake of RFC 6455 §1.3 (its
 * sample key); `extra` (nullable) adds header lines; `rcvbuf` > 0 shrinks
 * the socket's receive buffer (a client that will stop reading). On
 * success returns 101; else the HTTP status (0 when nothing came back),
 * with the response in `resp_out` (nullable). */
static inline int wsc_open_ex(wsc_t *c, server_t *s, const char *path, const char *extra,
                              const char *connection, int rcvbuf, char *resp_out, size_t resp_cap) {
  memset(c, 0, sizeof *c);
  c->s = s;
  c->fd = -1;
  c->in = malloc(WSC_BUF);
  c->msg = malloc(WSC_BUF);
  char req[1024];
  snprintf(req, sizeof req,
           "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           "Connection: %s\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\n%s\r\n",
           path, connection ? connection : "Upgrade", extra ? extra : "");
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || !c->in || !c->msg) return 0;
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(s->port)};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    close(fd);
    return 0;
  }
  c->fd = fd;
  fcntl(fd, F_SETFL, O_NONBLOCK);
  if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) return 0;
  char *end = NULL;
  for (int i = 0; i < 2000 && !end; i++) {
    server_run(s, 1);
    ssize_t n = recv(fd, c->in + c->in_len, WSC_BUF - 1 - c->in_len, 0);
    if (n > 0) c->in_len += (size_t)n;
    if (n == 0) break;
    c->in[c->in_len] = 0;
    end = strstr((char *)c->in, "\r\n\r\n");
  }
  if (resp_out) snprintf(resp_out, resp_cap, "%.*s", (int)c->in_len, (char *)c->in);
  int status = 0;
  if (c->in_len > 12) status = atoi((char *)c->in + 9);
  if (!end || status != 101) return status;
  size_t head = (size_t)(end + 4 - (char *)c->in);
  memmove(c->in, c->in + head, c->in_len - head);
  c->in_len -= head;
  return 101;
}

static inline bool wsc_open(wsc_t *c, server_t *s, const char *path) {
  return wsc_open_ex(c, s, path, NULL, NULL, 0, NULL, 0) == 101;
}

static inline void wsc_free(wsc_t *c) {
  if (c->fd >= 0) close(c->fd);
  free(c->in);
  free(c->msg);
  c->fd = -1;
  c->in = c->msg = NULL;
}

/* Sends one whole frame, masked as a client must (RFC 6455 §5.3); runs the
 * server while the socket is full. `fin` false starts a fragmented message
 * (the caller sends opcode 0 frames after it). */
static inline bool wsc_send_frame(wsc_t *c, int opcode, bool fin, const void *data, size_t len) {
  uint8_t *f = malloc(len + 14);
  if (!f) return false;
  size_t h = 0;
  f[h++] = (uint8_t)((fin ? 0x80 : 0) | opcode);
  if (len < 126) {
    f[h++] = (uint8_t)(0x80 | len);
  } else if (len < 65536) {
    f[h++] = 0x80 | 126;
    f[h++] = (uint8_t)(len >> 8);
    f[h++] = (uint8_t)len;
  } else {
    f[h++] = 0x80 | 127;
    for (int i = 7; i >= 0; i--) f[h++] = (uint8_t)((uint64_t)len >> (8 * i));
  }
  static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  memcpy(f + h, key, 4);
  h += 4;
  for (size_t i = 0; i < len; i++) f[h + i] = ((const uint8_t *)data)[i] ^ key[i % 4];
  size_t total = h + len, sent = 0;
  uint64_t until = uv_hrtime() + 5000000000ull;
  while (sent < total && uv_hrtime() < until) {
    ssize_t n = send(c->fd, f + sent, total - sent, MSG_NOSIGNAL);
    if (n > 0) sent += (size_t)n;
    else if (n < 0 && errno != EAGAIN) break;
    else server_run(c->s, 0);
  }
  free(f);
  uv_run(&c->s->loop, UV_RUN_NOWAIT);
  return sent == total;
}

static inline bool wsc_send(wsc_t *c, int opcode, const void *data, size_t len) {
  return wsc_send_frame(c, opcode, true, data, len);
}
static inline bool wsc_send_text(wsc_t *c, const char *s) { return wsc_send(c, 1, s, strlen(s)); }

/* Parses one whole server frame from c->in; true and *m when there is one. */
static inline bool wsc_parse(wsc_t *c, wsc_msg_t *m) {
  if (c->in_len < 2) return false;
  size_t h = 2, len = c->in[1] & 0x7f;
  if (len == 126) {
    if (c->in_len < 4) return false;
    len = (size_t)c->in[2] << 8 | c->in[3];
    h = 4;
  } else if (len == 127) {
    if (c->in_len < 10) return false;
    len = 0;
    for (int i = 0; i < 8; i++) len = len << 8 | c->in[2 + i];
    h = 10;
  }
  if (c->in_len < h + len) return false;
  memset(m, 0, sizeof *m);
  m->opcode = c->in[0] & 0x0f;
  memcpy(c->msg, c->in + h, len);
  m->data = c->msg;
  m->len = len;
  if (m->opcode == 8 && len >= 2) {
    m->close_code = (uint16_t)(c->msg[0] << 8 | c->msg[1]);
    snprintf(m->reason, sizeof m->reason, "%.*s", (int)(len - 2), (char *)c->msg + 2);
  }
  memmove(c->in, c->in + h + len, c->in_len - h - len);
  c->in_len -= h + len;
  return true;
}

/* The next message within timeout_ms (running the server meanwhile): 1 and
 * *m, 0 on timeout, -1 when the connection ended without one. */
static inline int wsc_recv(wsc_t *c, wsc_msg_t *m, int timeout_ms) {
  uint64_t until = uv_hrtime() + (uint64_t)timeout_ms * 1000000ull;
  for (;;) {
    if (wsc_parse(c, m)) return 1;
    if (c->eof) return -1;
    ssize_t n = recv(c->fd, c->in + c->in_len, WSC_BUF - c->in_len, 0);
    if (n > 0) {
      c->in_len += (size_t)n;
      continue;
    }
    if (n == 0 || (n < 0 && errno != EAGAIN)) {
      c->eof = true;
      continue;
    }
    if (uv_hrtime() >= until) return 0;
    server_run(c->s, 1);
  }
}

/* Skips messages until a close frame (up to timeout_ms); its code and
 * reason in *m. False when none came. */
static inline bool wsc_wait_close(wsc_t *c, wsc_msg_t *m, int timeout_ms) {
  uint64_t until = uv_hrtime() + (uint64_t)timeout_ms * 1000000ull;
  while (uv_hrtime() < until) {
    int r = wsc_recv(c, m, 50);
    if (r < 0) return false;
    if (r > 0 && m->opcode == 8) return true;
  }
  return false;
}

#endif
