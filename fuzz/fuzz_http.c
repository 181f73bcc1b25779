/* Fuzzes the HTTP request codec as the IO layer drives it: the input
 * arrives in two reads split at a position taken from the first byte, and
 * pipelined requests are taken one by one. Each request is checked against
 * the limits and the header lookup, then written back as a response whose
 * headers and body must re-parse (http-parser, response mode) to the same
 * thing. Any disagreement aborts.
 *
 *   byte 0: bit 7 = small max_body (100), bits 0-6 = split point (/127)
 *   bytes 1..: the stream */
#include <http_parser.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sig/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond) {
  if (!cond) abort();
}

/* ---- re-parsing the response we wrote ---- */

typedef struct {
  const vg_http_request_t *req;
  const vg_http_header_t *extra;
  size_t n_extra;
  size_t field; /* index of the header being received */
  size_t name_len, value_len;
  int started, in_value;
  size_t body_len;
  int complete;
} reparse_t;

/* Headers arrive in the order written: Content-Length, Connection, then
 * the extras; each name and value is compared piece by piece. */
static const char *expected_name(reparse_t *x, size_t i) {
  if (i == 0) return "Content-Length";
  if (i == 1) return "Connection";
  check(i - 2 < x->n_extra);
  return x->extra[i - 2].name;
}

static int rp_field(http_parser *p, const char *at, size_t n) {
  reparse_t *x = p->data;
  if (x->started && x->in_value) {
    x->field++;
    x->name_len = x->value_len = 0;
  }
  x->started = 1;
  x->in_value = 0;
  const char *want = expected_name(x, x->field);
  check(strlen(want) >= x->name_len + n && memcmp(want + x->name_len, at, n) == 0);
  x->name_len += n;
  return 0;
}

static int rp_value(http_parser *p, const char *at, size_t n) {
  reparse_t *x = p->data;
  x->in_value = 1;
  if (x->field >= 2) {
    const char *want = x->extra[x->field - 2].value;
    check(strlen(want) >= x->value_len + n && memcmp(want + x->value_len, at, n) == 0);
  }
  x->value_len += n;
  return 0;
}

static int rp_body(http_parser *p, const char *at, size_t n) {
  reparse_t *x = p->data;
  check(x->body_len + n <= x->req->body_len);
  check(memcmp(x->req->body + x->body_len, at, n) == 0);
  x->body_len += n;
  return 0;
}

static int rp_complete(http_parser *p) {
  reparse_t *x = p->data;
  x->complete = 1;
  return 0;
}

/* Writes the request's headers (all but the framing ones) and body into a
 * 200 response, and parses that back. */
static void roundtrip(const vg_http_request_t *r) {
  vg_http_header_t extra[VG_HTTP_MAX_HEADERS];
  size_t n_extra = 0, bytes = 0;
  for (size_t i = 0; i < r->n_headers; i++) {
    const char *name = r->headers[i].name;
    /* Framing headers would change how the response parses. By prefix:
     * http-parser 2.9.4 flags Transfer-Encoding once a name starts with it
     * ("Transfer-EncodingX" too), which then conflicts with Content-Length. */
    if (strncasecmp(name, "content-length", 14) == 0 ||
        strncasecmp(name, "transfer-encoding", 17) == 0 ||
        strncasecmp(name, "connection", 10) == 0 || strncasecmp(name, "upgrade", 7) == 0)
      continue;
    extra[n_extra++] = r->headers[i];
    bytes += strlen(name) + strlen(r->headers[i].value) + 4;
  }
  size_t cap = bytes + r->body_len + 128;
  char *out = malloc(cap);
  check(out != NULL);
  int n = vg_http_response(out, cap, 200, NULL, extra, n_extra, r->body, r->body_len,
                           r->keep_alive, false);
  check(n > 0 && (size_t)n <= cap);
  /* One byte short never succeeds. */
  check(vg_http_response(out, (size_t)n - 1, 200, NULL, extra, n_extra, r->body, r->body_len,
                         r->keep_alive, false) == VG_ENOSPC);
  n = vg_http_response(out, cap, 200, NULL, extra, n_extra, r->body, r->body_len, r->keep_alive,
                       false);

  http_parser_settings s;
  http_parser_settings_init(&s);
  s.on_header_field = rp_field;
  s.on_header_value = rp_value;
  s.on_body = rp_body;
  s.on_message_complete = rp_complete;
  reparse_t x = {.req = r, .extra = extra, .n_extra = n_extra};
  http_parser p;
  http_parser_init(&p, HTTP_RESPONSE);
  p.data = &x;
  size_t used = http_parser_execute(&p, &s, out, (size_t)n);
  check(HTTP_PARSER_ERRNO(&p) == HPE_OK && used == (size_t)n);
  check(x.complete && x.body_len == r->body_len && p.status_code == 200);
  check(x.field == n_extra + 1); /* index of the last header */
  check((http_should_keep_alive(&p) != 0) == r->keep_alive);
  free(out);
}

/* ---- request invariants ---- */

static void check_request(const vg_http_request_t *r, size_t max_body) {
  check(r->method_name != NULL && r->path != NULL && r->query != NULL && r->body != NULL);
  static const char *const names[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
  if (r->method != VG_HTTP_OTHER) check(strcmp(r->method_name, names[r->method]) == 0);
  for (size_t i = 0; i < 7; i++)
    if (strcmp(r->method_name, names[i]) == 0) check(r->method == (vg_http_method_t)i);
  check(r->path[0] == '/' && strlen(r->path) <= VG_HTTP_MAX_PATH);
  check(strlen(r->query) <= VG_HTTP_MAX_PATH);
  check(r->http_major == 1);
  check(r->body_len <= max_body);
  check(r->n_headers <= VG_HTTP_MAX_HEADERS);
  size_t total = 0;
  for (size_t i = 0; i < r->n_headers; i++) {
    const char *name = r->headers[i].name, *value = r->headers[i].value;
    size_t nl = strlen(name), vl = strlen(value);
    total += nl + vl;
    check(nl > 0);
    check(strcspn(name, " \t\r\n:") == nl);
    check(strcspn(value, "\r\n") == vl);
    if (vl > 0) {
      check(value[0] != ' ' && value[0] != '\t');
      check(value[vl - 1] != ' ' && value[vl - 1] != '\t');
    }
    /* The lookup finds the first field with that name, in any case. */
    size_t first = 0;
    while (strcasecmp(r->headers[first].name, name) != 0) first++;
    check(vg_http_header(r, name) == r->headers[first].value);
  }
  check(total <= VG_HTTP_MAX_HEADER_BYTES);

  /* The media type of Content-Type matches itself, lower-cased. */
  const char *ct = vg_http_header(r, "content-type");
  if (ct) {
    char type[VG_HTTP_MAX_HEADER_BYTES];
    size_t n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t')) n--;
    for (size_t i = 0; i < n; i++) type[i] = (char)(ct[i] >= 'A' && ct[i] <= 'Z' ? ct[i] + 32 : ct[i]);
    type[n] = '\0';
    check(vg_http_content_type_is(r, type) == (n > 0));
  } else {
    check(!vg_http_content_type_is(r, "application/sdp"));
  }

  /* Query parameters: a found value fits and is NUL-terminated at its
   * length; a smaller buffer never claims success. */
  char v[VG_HTTP_MAX_PATH + 1];
  const char *keys[] = {"mode", "a", ""};
  for (size_t k = 0; k < 3; k++) {
    int rc = vg_http_query_param(r, keys[k], v, sizeof v);
    check(rc >= 0 || rc == VG_ENOTFOUND || rc == VG_EINVAL);
    if (rc >= 0) {
      check(strlen(v) == (size_t)rc);
      check(vg_http_query_param(r, keys[k], v, (size_t)rc) == VG_ENOSPC);
    }
  }
  roundtrip(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t max_body = (data[0] & 0x80) ? 100 : VG_HTTP_DEFAULT_MAX_BODY;
  const uint8_t *in = data + 1;
  size_t len = size - 1;
  size_t avail = len * (data[0] & 0x7f) / 127; /* first read */

  vg_http_conn_t *c;
  if (vg_http_conn_create(max_body == VG_HTTP_DEFAULT_MAX_BODY ? 0 : max_body, &c) != VG_OK)
    return 0;
  size_t pos = 0;
  for (;;) {
    int status = 0;
    const char *why = NULL;
    int rc = vg_http_conn_feed(c, in + pos, avail - pos, &status, &why);
    if (rc < 0) {
      check(why != NULL && *why != '\0');
      check(status == 400 || status == 413 || status == 414 || status == 431 || status == 501 ||
            status == 505);
      check(vg_http_conn_request(c) == NULL);
      int status2 = 0;
      check(vg_http_conn_feed(c, in, len, &status2, NULL) == rc && status2 == status);
      break;
    }
    check((size_t)rc <= avail - pos);
    pos += (size_t)rc;
    const vg_http_request_t *r = vg_http_conn_request(c);
    if (r) {
      check(rc > 0);
      check(!vg_http_conn_poll_continue(c));
      check_request(r, max_body);
      check(vg_http_conn_feed(c, in + pos, avail - pos, NULL, NULL) == 0);
      check(vg_http_conn_eof(c, NULL, NULL) == VG_OK);
      vg_http_conn_next(c); /* an upgrade is declined: parsing goes on */
      continue;
    }
    check(pos == avail); /* incomplete: everything was taken */
    (void)vg_http_conn_poll_continue(c);
    if (avail < len) {
      avail = len;
      continue;
    }
    int status2 = 0;
    int e = vg_http_conn_eof(c, &status2, NULL);
    check(e == VG_OK || (e == VG_EPROTO && status2 == 400));
    break;
  }
  vg_http_conn_destroy(c);
  return 0;
}
