/* HTTP/1.1 server-side codec (RFC 9112), sans-IO, over http-parser.
 *
 * One vg_http_conn_t per TCP connection. The IO layer feeds it the bytes it
 * reads; when a whole request has arrived, vg_http_conn_request() returns it
 * and the caller answers with a response built by vg_http_response(). The
 * codec owns no socket, does no IO and keeps its storage bounded: the header
 * block, the path and the body (up to max_body) live in buffers owned by the
 * conn, which the returned request borrows.
 *
 *   feed(bytes) ─┬─> n consumed, request() == NULL : need more bytes
 *                ├─> n consumed, request() != NULL : answer it, then next();
 *                │                                   feed bytes[n..] again
 *                └─> < 0, *status, *why            : answer status, close
 *
 * Request parsing goes through http-parser (nodejs http_parser 2.9), which
 * enforces the RFC 9112 grammar, chunked transfer coding and the
 * Content-Length / Transfer-Encoding rules. This module adds the limits
 * below, the path checks and the borrowed, NUL-terminated request view. */
#ifndef VG_SIG_HTTP_H
#define VG_SIG_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* RFC 6585 §5: a server may refuse a request whose header fields are too
 * large with 431. More header fields than this → 431. */
#define VG_HTTP_MAX_HEADERS 32
/* Request line + header fields, in bytes (RFC 9112 §2.3 leaves the limit to
 * the server). Over → 431. */
#define VG_HTTP_MAX_HEADER_BYTES 8192
/* RFC 9110 §15.5.15: a target longer than the server will interpret → 414.
 * Applies to the raw request target (path and query). */
#define VG_HTTP_MAX_PATH 1024
/* RFC 9110 §15.5.14: content larger than the server will process → 413.
 * 64 KiB holds any SDP offer (SERVER.md). */
#define VG_HTTP_DEFAULT_MAX_BODY (64 * 1024)

typedef enum {
  VG_HTTP_GET,
  VG_HTTP_HEAD,
  VG_HTTP_POST,
  VG_HTTP_PUT,
  VG_HTTP_PATCH,
  VG_HTTP_DELETE,
  VG_HTTP_OPTIONS,
  VG_HTTP_OTHER, /* any other method http-parser accepts; see method_name */
} vg_http_method_t;

/* A header field or an extra response header. In a request both strings are
 * NUL-terminated copies borrowed from the conn; the value has its leading
 * and trailing whitespace removed (RFC 9110 §5.5). */
typedef struct {
  const char *name;
  const char *value;
} vg_http_header_t;

/* One complete request. Every pointer is borrowed from the conn and valid
 * until vg_http_conn_next() or vg_http_conn_destroy(). */
typedef struct {
  vg_http_method_t method;
  const char *method_name; /* "GET", "POST", ...; static, never NULL */
  const char *path;        /* percent-decoded path without the query; starts
                              with '/', NUL-terminated, no NUL inside */
  const char *query;       /* raw query without '?', "" if none */
  vg_http_header_t headers[VG_HTTP_MAX_HEADERS];
  size_t n_headers;
  const uint8_t *body; /* non-NULL (may point at an empty buffer); chunked
                          bodies are de-chunked; trailers are dropped */
  size_t body_len;
  bool keep_alive;     /* RFC 9112 §9.3: HTTP/1.1 persists unless
                          "Connection: close"; HTTP/1.0 closes unless
                          "Connection: keep-alive" */
  bool upgrade;        /* "Upgrade" + "Connection: upgrade" (WebSocket
                          later): the bytes after this request belong to the
                          new protocol; the conn parses nothing more unless
                          the caller declines and calls next() */
  int http_major, http_minor;
} vg_http_request_t;

typedef struct vg_http_conn vg_http_conn_t;

/* Creates a conn whose request bodies are limited to max_body bytes
 * (0 = VG_HTTP_DEFAULT_MAX_BODY). Returns VG_OK and sets *out (owned by the
 * caller, freed with vg_http_conn_destroy), or VG_ENOMEM. */
VG_MUST_USE int vg_http_conn_create(size_t max_body, vg_http_conn_t **out);
/* Frees the conn and everything its requests borrow. NULL is a no-op. */
void vg_http_conn_destroy(vg_http_conn_t *c);

/* Feeds bytes read from the connection (data nullable when len is 0).
 * Returns the bytes consumed (>= 0). Parsing stops right after a complete
 * request, so pipelined bytes after it are not consumed: the caller keeps
 * them and feeds them again after vg_http_conn_next(). While a request is
 * complete and not yet released with next(), feed consumes nothing and
 * returns 0. After an upgrade request the unconsumed bytes belong to the
 * new protocol (or, if the caller declines the upgrade, to the next HTTP
 * request once next() is called).
 *
 * On a malformed or over-limit request returns a negative code (VG_EPROTO
 * malformed, VG_ELIMIT over a limit, VG_EUNSUPPORTED unsupported,
 * VG_ENOMEM growing the body buffer failed) and sets *status (400, 413, 414,
 * 431, 501, 505; 500 for VG_ENOMEM) and *why (static one-line reason); both
 * are nullable. The caller answers with that status and closes: the conn
 * stays failed and every later feed returns the same. */
VG_MUST_USE int vg_http_conn_feed(vg_http_conn_t *c, const uint8_t *data, size_t len, int *status,
                                  const char **why);

/* Tells the conn the peer closed its sending side (EOF). Returns VG_OK when
 * that is a clean end (between requests, or a complete request pending),
 * else a negative code with *status / *why set as for feed (a truncated
 * request: 400). Both nullable. */
VG_MUST_USE int vg_http_conn_eof(vg_http_conn_t *c, int *status, const char **why);

/* The complete request, or NULL while it is incomplete (or the conn failed).
 * Borrowed; valid until vg_http_conn_next() or destroy. */
const vg_http_request_t *vg_http_conn_request(const vg_http_conn_t *c);

/* RFC 9110 §10.1.1: true, once per request, when an HTTP/1.1 client sent
 * "Expect: 100-continue", its header section is complete and accepted (the
 * body fits max_body) and its body has not all arrived. The caller then
 * writes "HTTP/1.1 100 Continue\r\n\r\n" so the client sends the body at
 * once (curl waits a second otherwise). Ignoring it is also correct. */
bool vg_http_conn_poll_continue(vg_http_conn_t *c);

/* Releases the current request and readies the conn for the next one on the
 * same connection (after an upgrade request: the caller declined it and
 * answered in HTTP/1.1). A no-op while no request is complete, and after an
 * error. The caller closes instead after answering a request whose
 * keep_alive is false. */
void vg_http_conn_next(vg_http_conn_t *c);

/* The value of the first header named `name` (case-insensitive), borrowed
 * from the request, or NULL. */
const char *vg_http_header(const vg_http_request_t *r, const char *name);

/* Writes the value of query parameter `name` ("mode" in "mode=echo&x=1"),
 * percent-decoded ('+' is a space) and NUL-terminated, into out (cap bytes).
 * A parameter without '=' ("b" in "a=1&b") has the value "". Returns the
 * value's length, VG_ENOTFOUND when absent, VG_ENOSPC when it does not fit,
 * VG_EINVAL on a malformed escape or %00 in the value. */
VG_MUST_USE int vg_http_query_param(const vg_http_request_t *r, const char *name, char *out,
                                    size_t cap);

/* True when the media type of the Content-Type header, without parameters
 * and compared case-insensitively (RFC 9110 §8.3.1), equals `type`
 * ("application/sdp" matches "Application/SDP; charset=utf-8"). False when
 * there is no Content-Type. */
bool vg_http_content_type_is(const vg_http_request_t *r, const char *type);

/* Writes a whole HTTP/1.1 response into out (cap bytes):
 *
 *   HTTP/1.1 <status> <reason>\r\n
 *   Content-Type: <content_type>\r\n        (when content_type != NULL)
 *   Content-Length: <body_len>\r\n
 *   Connection: keep-alive | close\r\n
 *   <extra[i].name>: <extra[i].value>\r\n   (in order)
 *   \r\n
 *   <body>                                  (unless omit_body)
 *
 * No Date header (RFC 9110 §6.6.1 allows omitting it). 1xx, 204 and 304
 * carry no Content-Length and no body (RFC 9110 §8.6). body is nullable when
 * body_len is 0; content_type and extra are nullable. For HEAD pass the GET
 * body_len with omit_body = true. Returns the length written (not
 * NUL-terminated), VG_ENOSPC when it does not fit (nothing usable written),
 * or VG_EINVAL: status outside 100..999, a body on 1xx/204/304, body NULL
 * with body_len > 0 (and !omit_body), a header name that is not a token, or
 * a value with a control character other than HTAB (no header injection). */
VG_MUST_USE int vg_http_response(char *out, size_t cap, int status, const char *content_type,
                                 const vg_http_header_t *extra, size_t n_extra, const void *body,
                                 size_t body_len, bool keep_alive, bool omit_body);

/* The RFC 9110 §15 reason phrase for status ("Created", "Unprocessable
 * Content", ...); static, never NULL ("Unknown" for unlisted codes). */
const char *vg_http_reason(int status);

#endif
