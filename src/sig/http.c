/* HTTP/1.1 server-side codec over http-parser: limits, request view,
 * query and media-type helpers, response writer. See http.h. */
#include "sig/http.h"

#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Where the conn is in the current request. */
typedef enum {
  PHASE_HEAD, /* request line and header fields */
  PHASE_BODY, /* headers accepted; body (or trailers) pending */
  PHASE_DONE, /* a complete request waits for vg_http_conn_next() */
  PHASE_FAILED,
} phase_t;

struct vg_http_conn {
  http_parser parser; /* parser.data points back at the conn */
  size_t max_body;
  phase_t phase;
  bool started;         /* on_message_begin seen for the current request */
  bool continue_wanted; /* Expect: 100-continue, not yet polled */

  /* Failure, sticky once phase is PHASE_FAILED. */
  int fail_code;
  int fail_status;
  const char *fail_why; /* static */

  /* Raw bytes of the request line and header section read so far. */
  size_t head_used;

  /* The raw request target, and the views made from it. */
  char url[VG_HTTP_MAX_PATH + 1];
  size_t url_len;
  char path[VG_HTTP_MAX_PATH + 1];  /* percent-decoded */
  char query[VG_HTTP_MAX_PATH + 1]; /* raw */

  /* Header names and values, each NUL-terminated, in arrival order:
   * name_off[i] and value_off[i] index hdr. The raw header section is at
   * most VG_HTTP_MAX_HEADER_BYTES and spends at least ":" and LF per field
   * where this spends two NULs, so hdr cannot fill first (checked anyway). */
  char hdr[VG_HTTP_MAX_HEADER_BYTES];
  size_t hdr_len;
  size_t name_off[VG_HTTP_MAX_HEADERS];
  size_t value_off[VG_HTTP_MAX_HEADERS];
  size_t n_fields;
  bool in_value;        /* the last header callback was a value */
  size_t trailer_bytes; /* chunked trailer fields, counted and dropped */

  uint8_t *body; /* owned; grows geometrically up to max_body, kept */
  size_t body_len;
  size_t body_cap;

  vg_http_request_t req; /* borrows everything above */
};

/* ---- failure ---- */

static int fail(vg_http_conn_t *c, int code, int status, const char *why) {
  if (c->phase != PHASE_FAILED) {
    c->phase = PHASE_FAILED;
    c->fail_code = code;
    c->fail_status = status;
    c->fail_why = why;
  }
  return c->fail_code;
}

static int report(const vg_http_conn_t *c, int *status, const char **why) {
  if (status) *status = c->fail_status;
  if (why) *why = c->fail_why;
  return c->fail_code;
}

/* A callback's failure: record it and stop http-parser. */
static int cb_fail(http_parser *p, int code, int status, const char *why) {
  fail(p->data, code, status, why);
  return -1;
}

/* ---- small text helpers ---- */

static int lower(int ch) { return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch; }

static bool ieq(const char *a, size_t alen, const char *b) {
  size_t blen = strlen(b);
  if (alen != blen) return false;
  for (size_t i = 0; i < alen; i++)
    if (lower((unsigned char)a[i]) != lower((unsigned char)b[i])) return false;
  return true;
}

/* RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" /
 * "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
static bool is_tchar(unsigned char ch) {
  if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) return true;
  return ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static int hexval(unsigned char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* RFC 3986 §2.1: percent-decodes in[0..n) into out (cap bytes, NUL added);
 * plus_space maps '+' to ' ' (form encoding, for query parameters).
 * Returns the decoded length, VG_EINVAL on a malformed escape or %00,
 * VG_ENOSPC when out is too small. */
static int pct_decode(const char *in, size_t n, bool plus_space, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)in[i];
    if (ch == '%') {
      if (n - i < 3) return VG_EINVAL;
      int hi = hexval((unsigned char)in[i + 1]), lo = hexval((unsigned char)in[i + 2]);
      if (hi < 0 || lo < 0) return VG_EINVAL;
      ch = (unsigned char)(hi << 4 | lo);
      if (ch == 0) return VG_EINVAL;
      i += 2;
    } else if (ch == '+' && plus_space) {
      ch = ' ';
    } else if (ch == 0) {
      return VG_EINVAL;
    }
    if (o + 1 >= cap) return VG_ENOSPC;
    out[o++] = (char)ch;
  }
  if (cap == 0) return VG_ENOSPC;
  out[o] = '\0';
  return (int)o;
}

/* ---- http-parser callbacks ---- */

static int on_message_begin(http_parser *p) {
  vg_http_conn_t *c = p->data;
  c->started = true;
  return 0;
}

/* RFC 9110 §15.5.15: a target longer than we interpret → 414. */
static int on_url(http_parser *p, const char *at, size_t n) {
  vg_http_conn_t *c = p->data;
  if (n > VG_HTTP_MAX_PATH - c->url_len)
    return cb_fail(p, VG_ELIMIT, 414, "request target too long");
  memcpy(c->url + c->url_len, at, n);
  c->url_len += n;
  return 0;
}

static int hdr_append(vg_http_conn_t *c, const char *at, size_t n) {
  if (n > sizeof c->hdr - c->hdr_len)
    return cb_fail(&c->parser, VG_ELIMIT, 431, "header section too large");
  memcpy(c->hdr + c->hdr_len, at, n);
  c->hdr_len += n;
  return 0;
}

/* Trailer fields of a chunked body are bounded like the header section and
 * then dropped: nothing here needs them. */
static int count_trailer(vg_http_conn_t *c, size_t n) {
  c->trailer_bytes += n;
  if (c->trailer_bytes > VG_HTTP_MAX_HEADER_BYTES)
    return cb_fail(&c->parser, VG_ELIMIT, 431, "trailer section too large");
  return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n) {
  vg_http_conn_t *c = p->data;
  if (c->phase != PHASE_HEAD) return count_trailer(c, n);
  /* RFC 9112 §5.1: no whitespace between the field name and the colon; a
   * server MUST reject such a request with 400. The name is a token. */
  for (size_t i = 0; i < n; i++)
    if (!is_tchar((unsigned char)at[i]))
      return cb_fail(p, VG_EPROTO, 400, "invalid character in a header name");
  if (c->n_fields == 0 || c->in_value) {
    /* RFC 6585 §5: too many fields → 431. */
    if (c->n_fields == VG_HTTP_MAX_HEADERS)
      return cb_fail(p, VG_ELIMIT, 431, "too many header fields");
    if (c->in_value && hdr_append(c, "", 1) != 0) return -1; /* ends the value */
    c->name_off[c->n_fields++] = c->hdr_len;
    c->in_value = false;
  }
  return hdr_append(c, at, n);
}

static int on_header_value(http_parser *p, const char *at, size_t n) {
  vg_http_conn_t *c = p->data;
  if (c->phase != PHASE_HEAD) return count_trailer(c, n);
  /* RFC 9110 §5.5: a value is VCHAR, obs-text, SP and HTAB; CR, LF and
   * NUL MUST be rejected (or replaced), other controls MAY be: we reject. */
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)at[i];
    if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
      return cb_fail(p, VG_EPROTO, 400, "invalid character in a header value");
  }
  if (!c->in_value) {
    if (hdr_append(c, "", 1) != 0) return -1; /* ends the name */
    c->value_off[c->n_fields - 1] = c->hdr_len;
    c->in_value = true;
  }
  return hdr_append(c, at, n);
}

/* Terminates the last value, trims each value's whitespace (RFC 9110 §5.5:
 * OWS around a field value is not part of it) and fills req.headers. */
static int finish_headers(vg_http_conn_t *c) {
  if (c->n_fields > 0 && !c->in_value) { /* a name whose value never came */
    if (hdr_append(c, "", 1) != 0) return -1;
    c->value_off[c->n_fields - 1] = c->hdr_len;
  }
  if (c->n_fields > 0 && hdr_append(c, "", 1) != 0) return -1;
  for (size_t i = 0; i < c->n_fields; i++) {
    char *v = c->hdr + c->value_off[i];
    while (*v == ' ' || *v == '\t') v++;
    size_t len = strlen(v);
    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t')) v[--len] = '\0';
    c->req.headers[i].name = c->hdr + c->name_off[i];
    c->req.headers[i].value = v;
  }
  c->req.n_headers = c->n_fields;
  return 0;
}

/* RFC 9112 §3.2: origin-form "/path?query" (or absolute-form, whose path we
 * take); the path is percent-decoded, the query kept raw. */
static int parse_target(vg_http_conn_t *c) {
  http_parser *p = &c->parser;
  struct http_parser_url u;
  http_parser_url_init(&u);
  if (c->url_len == 0 || http_parser_parse_url(c->url, c->url_len, 0, &u) != 0)
    return cb_fail(p, VG_EPROTO, 400, "malformed request target");
  const char *path = "/";
  size_t path_len = 1;
  if (u.field_set & (1u << UF_PATH)) {
    path = c->url + u.field_data[UF_PATH].off;
    path_len = u.field_data[UF_PATH].len;
  } else if (!(u.field_set & (1u << UF_SCHEMA))) {
    return cb_fail(p, VG_EPROTO, 400, "request target is not a path");
  }
  if (path_len == 0 || path[0] != '/')
    return cb_fail(p, VG_EPROTO, 400, "request target is not a path");
  if (pct_decode(path, path_len, false, c->path, sizeof c->path) < 0)
    return cb_fail(p, VG_EPROTO, 400, "bad percent-encoding in the path");
  c->query[0] = '\0';
  if (u.field_set & (1u << UF_QUERY)) {
    memcpy(c->query, c->url + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
    c->query[u.field_data[UF_QUERY].len] = '\0';
  }
  return 0;
}

/* Makes room for `need` body bytes: doubles from 1 KiB, never past
 * max_body (the callers have checked need <= max_body). */
static int body_reserve(vg_http_conn_t *c, size_t need) {
  if (need <= c->body_cap) return 0;
  size_t cap = c->body_cap ? c->body_cap : 1024;
  while (cap < need && cap <= c->max_body / 2) cap *= 2;
  if (cap < need || cap > c->max_body) cap = c->max_body;
  uint8_t *b = realloc(c->body, cap);
  if (!b) return cb_fail(&c->parser, VG_ENOMEM, 500, "out of memory");
  c->body = b;
  c->body_cap = cap;
  return 0;
}

static int on_headers_complete(http_parser *p) {
  vg_http_conn_t *c = p->data;
  c->phase = PHASE_BODY;
  if (finish_headers(c) != 0) return -1;
  /* RFC 9110 §6.2: a server answers a major version it does not speak
   * with 505. */
  if (p->http_major != 1) return cb_fail(p, VG_EUNSUPPORTED, 505, "HTTP version not supported");
  /* RFC 9110 §9.3.6: CONNECT is for proxies; this server is not one. */
  if (p->method == HTTP_CONNECT) return cb_fail(p, VG_EUNSUPPORTED, 501, "CONNECT not supported");
  if (parse_target(c) != 0) return -1;

  const char *te = NULL;
  size_t n_te = 0;
  for (size_t i = 0; i < c->n_fields; i++) {
    if (strcasecmp(c->req.headers[i].name, "transfer-encoding") == 0) {
      te = c->req.headers[i].value;
      n_te++;
    }
  }
  /* RFC 9112 §6.1: a server that receives a transfer coding it does not
   * understand SHOULD answer 501; we support chunked alone. When chunked is
   * not the final coding (§6.3) http-parser answers 400 after this
   * callback, as it does for Content-Length with Transfer-Encoding. */
  if ((p->flags & F_CHUNKED) && (n_te != 1 || strcasecmp(te, "chunked") != 0))
    return cb_fail(p, VG_EUNSUPPORTED, 501, "unsupported transfer coding");

  /* RFC 9110 §15.5.14: refuse a body larger than we process, with 413,
   * before reading it. */
  if (p->flags & F_CONTENTLENGTH) {
    if (p->content_length > c->max_body)
      return cb_fail(p, VG_ELIMIT, 413, "request body too large");
    if (body_reserve(c, (size_t)p->content_length) != 0) return -1;
  }

  /* RFC 9110 §10.1.1: a server MUST ignore 100-continue in HTTP/1.0. */
  const char *expect = vg_http_header(&c->req, "expect");
  bool has_body = (p->flags & F_CHUNKED) || ((p->flags & F_CONTENTLENGTH) && p->content_length);
  c->continue_wanted = expect && strcasecmp(expect, "100-continue") == 0 && p->http_minor >= 1 &&
                       has_body;
  return 0;
}

static int on_chunk_header(http_parser *p) {
  vg_http_conn_t *c = p->data;
  /* p->content_length is this chunk's size: refuse before reading it. */
  if (p->content_length > c->max_body - c->body_len)
    return cb_fail(p, VG_ELIMIT, 413, "request body too large");
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t n) {
  vg_http_conn_t *c = p->data;
  c->continue_wanted = false; /* the body is arriving anyway */
  if (n > c->max_body - c->body_len) return cb_fail(p, VG_ELIMIT, 413, "request body too large");
  if (body_reserve(c, c->body_len + n) != 0) return -1;
  memcpy(c->body + c->body_len, at, n);
  c->body_len += n;
  return 0;
}

static vg_http_method_t map_method(unsigned m) {
  switch (m) {
  case HTTP_GET: return VG_HTTP_GET;
  case HTTP_HEAD: return VG_HTTP_HEAD;
  case HTTP_POST: return VG_HTTP_POST;
  case HTTP_PUT: return VG_HTTP_PUT;
  case HTTP_PATCH: return VG_HTTP_PATCH;
  case HTTP_DELETE: return VG_HTTP_DELETE;
  case HTTP_OPTIONS: return VG_HTTP_OPTIONS;
  default: return VG_HTTP_OTHER;
  }
}

/* The request is whole: fill the view and pause http-parser, so that
 * http_parser_execute() returns right after this request's last byte. */
static int on_message_complete(http_parser *p) {
  vg_http_conn_t *c = p->data;
  vg_http_request_t *r = &c->req;
  r->method = map_method(p->method);
  r->method_name = http_method_str((enum http_method)p->method);
  r->path = c->path;
  r->query = c->query;
  r->body = c->body ? c->body : (const uint8_t *)"";
  r->body_len = c->body_len;
  /* RFC 9112 §9.3: persistence from the version and Connection. */
  r->keep_alive = http_should_keep_alive(p) != 0;
  r->http_major = p->http_major;
  r->http_minor = p->http_minor;
  c->continue_wanted = false;
  c->phase = PHASE_DONE;
  http_parser_pause(p, 1);
  return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
    .on_chunk_header = on_chunk_header,
};

/* ---- the conn ---- */

/* Per-request state back to empty; the body buffer is kept. */
static void reset(vg_http_conn_t *c) {
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  c->phase = PHASE_HEAD;
  c->started = false;
  c->continue_wanted = false;
  c->head_used = 0;
  c->url_len = 0;
  c->path[0] = '\0';
  c->query[0] = '\0';
  c->hdr_len = 0;
  c->n_fields = 0;
  c->in_value = false;
  c->trailer_bytes = 0;
  c->body_len = 0;
  memset(&c->req, 0, sizeof c->req);
}

int vg_http_conn_create(size_t max_body, vg_http_conn_t **out) {
  *out = NULL;
  vg_http_conn_t *c = calloc(1, sizeof *c);
  if (!c) return VG_ENOMEM;
  c->max_body = max_body ? max_body : VG_HTTP_DEFAULT_MAX_BODY;
  reset(c);
  *out = c;
  return VG_OK;
}

void vg_http_conn_destroy(vg_http_conn_t *c) {
  if (!c) return;
  free(c->body);
  free(c);
}

/* Maps an http-parser error that no callback of ours raised. */
static int parser_error(vg_http_conn_t *c, enum http_errno e, const uint8_t *at, size_t left) {
  switch (e) {
  case HPE_HEADER_OVERFLOW:
    return fail(c, VG_ELIMIT, 431, "header section too large");
  case HPE_INVALID_METHOD:
    /* RFC 9110 §9.1: an unknown method → 501. A method is a token; we call
     * it one when http-parser stopped on an upper-case letter, anything else
     * (binary, a TLS handshake, lower-case text) is garbage → 400. */
    if (left > 0 && *at >= 'A' && *at <= 'Z')
      return fail(c, VG_EUNSUPPORTED, 501, "unknown or unsupported method");
    return fail(c, VG_EPROTO, 400, "not an HTTP request");
  default:
    return fail(c, VG_EPROTO, 400, http_errno_description(e));
  }
}

int vg_http_conn_feed(vg_http_conn_t *c, const uint8_t *data, size_t len, int *status,
                      const char **why) {
  if (c->phase == PHASE_FAILED) return report(c, status, why);
  size_t used = 0;
  while (used < len && c->phase != PHASE_DONE) {
    size_t chunk = len - used;
    /* RFC 6585 §5: the request line and header section get
     * VG_HTTP_MAX_HEADER_BYTES: http-parser sees no more than what is left
     * of that budget until the headers are complete. */
    if (c->phase == PHASE_HEAD) {
      size_t budget = VG_HTTP_MAX_HEADER_BYTES - c->head_used;
      if (budget == 0) {
        fail(c, VG_ELIMIT, 431, "header section too large");
        return report(c, status, why);
      }
      if (chunk > budget) chunk = budget;
    }
    size_t n = http_parser_execute(&c->parser, &settings, (const char *)data + used, chunk);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (c->phase == PHASE_FAILED) return report(c, status, why); /* a callback failed */
    if (e != HPE_OK && e != HPE_PAUSED) {
      parser_error(c, e, data + used + n, chunk - n);
      return report(c, status, why);
    }
    if (c->phase == PHASE_HEAD) c->head_used += n;
    used += n;
    if (c->phase == PHASE_DONE) {
      c->req.upgrade = c->parser.upgrade != 0;
      break;
    }
    if (n < chunk) { /* http-parser stopped without a reason: never expected */
      fail(c, VG_EPROTO, 400, "request parsing stopped");
      return report(c, status, why);
    }
  }
  return (int)used;
}

int vg_http_conn_eof(vg_http_conn_t *c, int *status, const char **why) {
  if (c->phase == PHASE_FAILED) return report(c, status, why);
  if (c->phase == PHASE_DONE) return VG_OK;
  /* http-parser decides whether EOF here ends a message cleanly. */
  (void)http_parser_execute(&c->parser, &settings, NULL, 0);
  enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
  if (c->phase == PHASE_FAILED) return report(c, status, why);
  if (e != HPE_OK || c->started) {
    fail(c, VG_EPROTO, 400, "connection closed in the middle of a request");
    return report(c, status, why);
  }
  return VG_OK;
}

const vg_http_request_t *vg_http_conn_request(const vg_http_conn_t *c) {
  return c->phase == PHASE_DONE ? &c->req : NULL;
}

bool vg_http_conn_poll_continue(vg_http_conn_t *c) {
  if (c->phase != PHASE_BODY || !c->continue_wanted) return false;
  c->continue_wanted = false;
  return true;
}

void vg_http_conn_next(vg_http_conn_t *c) {
  if (c->phase == PHASE_DONE) reset(c);
}

/* ---- request helpers ---- */

const char *vg_http_header(const vg_http_request_t *r, const char *name) {
  for (size_t i = 0; i < r->n_headers; i++)
    if (strcasecmp(r->headers[i].name, name) == 0) return r->headers[i].value;
  return NULL;
}

/* WHATWG URL "application/x-www-form-urlencoded": pairs split on '&', name
 * and value on the first '=', both percent-decoded with '+' as space. */
int vg_http_query_param(const vg_http_request_t *r, const char *name, char *out, size_t cap) {
  const char *q = r->query ? r->query : "";
  char key[VG_HTTP_MAX_PATH + 1];
  while (*q) {
    size_t n = strcspn(q, "&");
    const char *eq = memchr(q, '=', n);
    size_t klen = eq ? (size_t)(eq - q) : n;
    if (n > 0 && pct_decode(q, klen, true, key, sizeof key) >= 0 && strcmp(key, name) == 0) {
      const char *v = eq ? eq + 1 : q + n;
      int rc = pct_decode(v, (size_t)(q + n - v), true, out, cap);
      return rc; /* length, VG_EINVAL or VG_ENOSPC */
    }
    q += n;
    if (*q == '&') q++;
  }
  return VG_ENOTFOUND;
}

/* RFC 9110 §8.3.1: media-type = type "/" subtype parameters; type and
 * subtype are case-insensitive; parameters follow ';' after optional OWS. */
bool vg_http_content_type_is(const vg_http_request_t *r, const char *type) {
  const char *v = vg_http_header(r, "content-type");
  if (!v) return false;
  size_t n = strcspn(v, ";");
  while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
  return n > 0 && ieq(v, n, type);
}

/* ---- responses ---- */

/* RFC 9110 §15 (and RFC 6585 §3-5 for 428, 429, 431) reason phrases. */
const char *vg_http_reason(int status) {
  switch (status) {
  case 100: return "Continue";
  case 101: return "Switching Protocols";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 203: return "Non-Authoritative Information";
  case 204: return "No Content";
  case 205: return "Reset Content";
  case 206: return "Partial Content";
  case 300: return "Multiple Choices";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 303: return "See Other";
  case 304: return "Not Modified";
  case 307: return "Temporary Redirect";
  case 308: return "Permanent Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 402: return "Payment Required";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 406: return "Not Acceptable";
  case 407: return "Proxy Authentication Required";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 410: return "Gone";
  case 411: return "Length Required";
  case 412: return "Precondition Failed";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 416: return "Range Not Satisfiable";
  case 417: return "Expectation Failed";
  case 421: return "Misdirected Request";
  case 422: return "Unprocessable Content";
  case 426: return "Upgrade Required";
  case 428: return "Precondition Required";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  default: return "Unknown";
  }
}

/* A bounded text writer: once something does not fit, it stays failed. */
typedef struct {
  char *p; /* borrowed */
  size_t cap, len;
  bool err;
} out_t;

static void put(out_t *o, const void *s, size_t n) {
  if (o->err || n > o->cap - o->len) {
    o->err = true;
    return;
  }
  if (n) memcpy(o->p + o->len, s, n);
  o->len += n;
}

static void puts_(out_t *o, const char *s) { put(o, s, strlen(s)); }

static void put_header(out_t *o, const char *name, const char *value) {
  puts_(o, name);
  put(o, ": ", 2);
  puts_(o, value);
  put(o, "\r\n", 2);
}

/* RFC 9110 §5.1, §5.5: a field name is a token; a value holds no CR, LF or
 * NUL (we write no obs-fold and no control characters but HTAB). */
static bool valid_name(const char *s) {
  if (!s || !*s) return false;
  for (; *s; s++)
    if (!is_tchar((unsigned char)*s)) return false;
  return true;
}

static bool valid_value(const char *s) {
  if (!s) return false;
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if ((ch < 0x20 && ch != '\t') || ch == 0x7f) return false;
  }
  return true;
}

/*   HTTP/1.1 SP status SP reason CRLF  (RFC 9112 §4)
 *   *( field-name ":" SP field-value CRLF )
 *   CRLF
 *   [ body ] */
int vg_http_response(char *out, size_t cap, int status, const char *content_type,
                     const vg_http_header_t *extra, size_t n_extra, const void *body,
                     size_t body_len, bool keep_alive, bool omit_body) {
  if (status < 100 || status > 999) return VG_EINVAL;
  /* RFC 9110 §6.4.1, §8.6: 1xx, 204 and 304 have no content and 1xx/204 no
   * Content-Length. */
  bool no_content = status < 200 || status == 204 || status == 304;
  if (no_content && body_len > 0) return VG_EINVAL;
  if (body_len > 0 && !body && !omit_body) return VG_EINVAL;
  if (content_type && !valid_value(content_type)) return VG_EINVAL;
  if (n_extra > 0 && !extra) return VG_EINVAL;
  for (size_t i = 0; i < n_extra; i++)
    if (!valid_name(extra[i].name) || !valid_value(extra[i].value)) return VG_EINVAL;

  out_t o = {out, cap, 0, false};
  char line[64];
  snprintf(line, sizeof line, "HTTP/1.1 %d ", status);
  puts_(&o, line);
  puts_(&o, vg_http_reason(status));
  put(&o, "\r\n", 2);
  if (content_type) put_header(&o, "Content-Type", content_type);
  if (!no_content) {
    snprintf(line, sizeof line, "%zu", body_len);
    put_header(&o, "Content-Length", line);
  }
  /* RFC 9112 §9.6: "close" tells the client this is the last response. */
  put_header(&o, "Connection", keep_alive ? "keep-alive" : "close");
  for (size_t i = 0; i < n_extra; i++) put_header(&o, extra[i].name, extra[i].value);
  put(&o, "\r\n", 2);
  if (!omit_body) put(&o, body, body_len);
  if (o.err || o.len > (size_t)INT32_MAX) return VG_ENOSPC;
  return (int)o.len;
}
