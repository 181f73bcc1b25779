/* The TCP listener on the shared port and its connections.
 *
 * A new connection's first bytes say what it is (sig/sniff.h):
 *   - HTTP: requests are parsed with the sans-IO codec (sig/http.h) and
 *     handed to the application's handler, which fills a reply
 *     synchronously; the connection is kept alive or closed as HTTP/1.1
 *     says;
 *   - ICE-TCP (RFC 6544, passive): RFC 4571 frames are handed to the
 *     application like UDP datagrams, from the connection's address (with
 *     transport TCP); the application sends frames back by that address;
 *   - TLS: HTTPS (when a TLS context is configured).
 * A connection that says nothing useful within VG_TCP_SNIFF_TIMEOUT_MS is
 * closed; idle HTTP connections after VG_TCP_IDLE_TIMEOUT_MS; a client that
 * does not read is disconnected once its output backlog passes a bound. */
#ifndef VG_IO_TCP_H
#define VG_IO_TCP_H

#include <stdbool.h>
#include <uv.h>

#include "base/addr.h"
#include "sig/http.h"
#include "sig/tls.h"
#include "sig/ws.h"

#define VG_TCP_IDLE_TIMEOUT_MS 30000
#define VG_TCP_SNIFF_TIMEOUT_MS 10000
#define VG_TCP_WS_CLOSE_TIMEOUT_MS 5000
/* ICE-TCP output waiting for a slow reader: a few seconds of audio and its
 * RTCP; beyond it frames are dropped (real-time media does not queue). */
#define VG_TCP_ICE_OUTBUF (256 * 1024)
#define VG_TCP_MAX_CONNECTIONS 4096
#define VG_TCP_MAX_PENDING_WRITE (1024 * 1024)
#define VG_TCP_MAX_REPLY_HEADERS 12

/* An HTTP connection that became a WebSocket (RFC 6455). */
typedef struct vg_tcp_conn vg_tcp_conn_t;

typedef struct {
  /* Optional: the upgrade's 101 is queued and frames may be sent (e.g. a
   * snapshot of the current state for a stream that joins late). */
  void (*on_open)(void *ud, vg_tcp_conn_t *c);
  /* A whole message from the client (text or binary), or its close. */
  void (*on_message)(void *ud, vg_tcp_conn_t *c, const vg_ws_msg_t *msg);
  /* The connection is gone; `c` is invalid after this returns. */
  void (*on_closed)(void *ud, vg_tcp_conn_t *c);
  void *ud;
} vg_ws_handler_t;

/* What a handler answers. Strings and the body are borrowed for the call. */
typedef struct {
  int status;
  const char *content_type; /* nullable */
  vg_http_header_t headers[VG_TCP_MAX_REPLY_HEADERS];
  size_t n_headers;
  const void *body; /* nullable when body_len is 0 */
  size_t body_len;
  bool close; /* close the connection after this reply */
  void *free_after; /* nullable: malloc'd memory (e.g. the body) freed once the reply is copied */
  /* To accept a WebSocket upgrade: the Sec-WebSocket-Accept value from
   * vg_ws_accept (borrowed for the call) and where its messages go; the
   * reply is then the 101 handshake and the rest of the fields are unused.
   * `ws_conn` receives the connection handle. */
  const char *ws_accept;
  vg_ws_handler_t ws;
  vg_tcp_conn_t **ws_conn;
  /* The WebSocket's bounds, 0 for the defaults: the largest message it
   * accepts (VG_WS_DEFAULT_MAX_MESSAGE), and how many bytes may wait for a
   * client that does not read (VG_TCP_MAX_PENDING_WRITE) before it is closed
   * with 1008. */
  size_t ws_max_message;
  size_t ws_max_backlog;
  /* 0: none; else a client that sends no message within this many ms is
   * closed with 1008 "no message in time". */
  uint64_t ws_first_message_ms;
} vg_http_reply_t;

/* Adds a header to a reply (ignored past VG_TCP_MAX_REPLY_HEADERS). */
void vg_http_reply_header(vg_http_reply_t *r, const char *name, const char *value);

/* `local` is the server address the client connected to (the interface
 * the page was loaded from), `peer` the client's. */
typedef void (*vg_http_handler_fn)(void *ud, const vg_http_request_t *req, const vg_addr_t *local,
                                   const vg_addr_t *peer, vg_http_reply_t *reply);

typedef struct {
  vg_http_handler_fn on_http;
  /* One RFC 4571 frame from an ICE-TCP connection; `peer` has transport TCP. */
  void (*on_ice_frame)(void *ud, const vg_addr_t *peer, const uint8_t *buf, size_t len);
  /* The ICE-TCP connection from `peer` is gone. */
  void (*on_ice_closed)(void *ud, const vg_addr_t *peer);
  void *ud;
  /* Nullable: serves HTTPS to connections that open with a ClientHello
   * (borrowed; must outlive the listener). Without it they are closed. */
  vg_tls_ctx_t *tls;
  /* Idle HTTP connections close after this; 0 = VG_TCP_IDLE_TIMEOUT_MS. */
  uint64_t idle_timeout_ms;
} vg_tcp_handlers_t;

typedef struct vg_tcp vg_tcp_t;

/* Listens on `bind_addr` (nullable: all interfaces, dual-stack) and `port`.
 * `h` is copied. Returns a negative libuv error on failure. */
int vg_tcp_listen(uv_loop_t *loop, const vg_addr_t *bind_addr, uint16_t port,
                  const vg_tcp_handlers_t *h, vg_tcp_t **out);
/* Sends a text message on a WebSocket connection. When the client does not
 * read and the bytes the kernel has not taken pass the connection's backlog
 * bound, nothing more is sent: a close frame (1008 "client not reading") is
 * queued behind what waits, the connection is closed once the client has
 * read up to it or after VG_TCP_WS_CLOSE_TIMEOUT_MS, and VG_ELIMIT is
 * returned (on_closed follows, later, unless the handler detached).
 * VG_ECLOSED once the closing handshake has started. Never calls the
 * handler back. */
int vg_tcp_ws_send_text(vg_tcp_conn_t *c, const char *s, size_t len);
int vg_tcp_ws_send_binary(vg_tcp_conn_t *c, const uint8_t *b, size_t len);
/* Starts the closing handshake; the connection closes once it completes. */
void vg_tcp_ws_close(vg_tcp_conn_t *c, uint16_t code, const char *reason);
/* Stops calling the connection's handler (its owner is going away). */
void vg_tcp_ws_detach(vg_tcp_conn_t *c);

/* Sends one datagram as an RFC 4571 frame on the ICE-TCP connection from
 * `to`. VG_ENOTFOUND without such a connection; VG_ELIMIT when its backlog
 * is full (the frame is dropped). */
int vg_tcp_send_frame(vg_tcp_t *t, const vg_addr_t *to, const uint8_t *buf, size_t len);
size_t vg_tcp_connection_count(const vg_tcp_t *t);
/* Stops listening and closes every connection; frees once libuv is done. */
void vg_tcp_close(vg_tcp_t *t);

#endif
