/* The TCP listener on the shared port and its HTTP/1.1 connections.
 *
 * Each connection parses requests with the sans-IO codec (sig/http.h) and
 * hands every complete request to the application's handler, which fills a
 * reply synchronously; the reply is written, and the connection is kept
 * alive or closed as HTTP/1.1 says. Idle connections are closed after
 * VG_TCP_IDLE_TIMEOUT_MS; a client that does not read its responses is
 * disconnected once VG_TCP_MAX_PENDING_WRITE bytes are waiting. */
#ifndef VG_IO_TCP_H
#define VG_IO_TCP_H

#include <stdbool.h>
#include <uv.h>

#include "base/addr.h"
#include "sig/http.h"

#define VG_TCP_IDLE_TIMEOUT_MS 30000
#define VG_TCP_MAX_CONNECTIONS 4096
#define VG_TCP_MAX_PENDING_WRITE (1024 * 1024)
#define VG_TCP_MAX_REPLY_HEADERS 12

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
} vg_http_reply_t;

/* Adds a header to a reply (ignored past VG_TCP_MAX_REPLY_HEADERS). */
void vg_http_reply_header(vg_http_reply_t *r, const char *name, const char *value);

/* `local` is the server address the client connected to (the interface
 * the page was loaded from), `peer` the client's. */
typedef void (*vg_http_handler_fn)(void *ud, const vg_http_request_t *req, const vg_addr_t *local,
                                   const vg_addr_t *peer, vg_http_reply_t *reply);

typedef struct vg_tcp vg_tcp_t;

/* Listens on `bind_addr` (nullable: all interfaces, dual-stack) and `port`.
 * Returns a negative libuv error on failure. */
int vg_tcp_listen(uv_loop_t *loop, const vg_addr_t *bind_addr, uint16_t port,
                  vg_http_handler_fn handler, void *ud, vg_tcp_t **out);
size_t vg_tcp_connection_count(const vg_tcp_t *t);
/* Stops listening and closes every connection; frees once libuv is done. */
void vg_tcp_close(vg_tcp_t *t);

#endif
