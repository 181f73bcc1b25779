/* HTTP/1.1 server codec: request parsing through http-parser, limits and
 * their statuses, the request helpers, the response writer. */
#include <stdio.h>
#include <string.h>

#include "sig/http.h"
#include "vgtest.h"

/* A WHIP offer as Chromium POSTs it (trimmed SDP). */
static const char whip_post[] =
    "POST /whip?mode=echo HTTP/1.1\r\n"
    "Host: localhost:8080\r\n"
    "Content-Type: application/sdp\r\n"
    "Authorization: Bearer s3cret\r\n"
    "Content-Length: 36\r\n"
    "\r\n"
    "v=0\r\n"
    "o=- 1 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n";

/* Feeds all of s; checks everything was consumed (or returns the error). */
static int feed_str(vg_http_conn_t *c, const char *s, int *status, const char **why) {
  return vg_http_conn_feed(c, (const uint8_t *)s, strlen(s), status, why);
}

/* Feeds s to a fresh conn (max_body 0 = default) and returns the feed's
 * result; *status gets the error status, or 0. */
static int one(const char *s, size_t max_body, int *status) {
  vg_http_conn_t *c;
  if (vg_http_conn_create(max_body, &c) != VG_OK) return -1000;
  *status = 0;
  const char *why = NULL;
  int rc = feed_str(c, s, status, &why);
  if (rc < 0 && (!why || !*why)) rc = -2000; /* an error always says why */
  vg_http_conn_destroy(c);
  return rc;
}

static void test_get_with_headers(void) {
  const char *s = "GET /app.js HTTP/1.1\r\n"
                  "Host: example.org\r\n"
                  "User-Agent: curl/8.5.0\r\n"
                  "Accept:   */*  \r\n"
                  "X-Empty:\r\n"
                  "\r\n";
  vg_http_conn_t *c;
  CHECK_EQ(vg_http_conn_create(0, &c), VG_OK);
  int status = 0;
  CHECK_EQ(feed_str(c, s, &status, NULL), (int)strlen(s));
  const vg_http_request_t *r = vg_http_conn_request(c);
  CHECK(r != NULL);
  CHECK_EQ(r->method, VG_HTTP_GET);
  CHECK_STR(r->method_name, "GET");
  CHECK_STR(r->path, "/app.js");
  CHECK_STR(r->query, "");
  CHECK_EQ(r->n_headers, 4);
  CHECK_STR(r->headers[0].name, "Host");
  CHECK_STR(r->headers[0].value, "example.org");
  CHECK_STR(r->headers[2].value, "*/*"); /* OWS trimmed both sides */
  CHECK_STR(r->headers[3].name, "X-Empty");
  CHECK_STR(r->headers[3].value, "");
  CHECK_STR(vg_http_header(r, "user-agent"), "curl/8.5.0");
  CHECK_STR(vg_http_header(r, "HOST"), "example.org");
  CHECK(vg_http_header(r, "Cookie") == NULL);
  CHECK_EQ(r->body_len, 0);
  CHECK(r->body != NULL);
  CHECK(r->keep_alive);
  CHECK(!r->upgrade);
  CHECK_EQ(r->http_major, 1);
  CHECK_EQ(r->http_minor, 1);
  vg_http_conn_destroy(c);
}

static void test_post_with_body(void) {
  vg_http_conn_t *c;
  CHECK_EQ(vg_http_conn_create(0, &c), VG_OK);
  CHECK_EQ(feed_str(c, whip_post, NULL, NULL), (int)strlen(whip_post));
  const vg_http_request_t *r = vg_http_conn_request(c);
  CHECK(r != NULL);
  CHECK_EQ(r->method, VG_HTTP_POST);
  CHECK_STR(r->path, "/whip");
  CHECK_STR(r->query, "mode=echo");
  CHECK_EQ(r->body_len, 36);
  CHECK_MEM(r->body, "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n", 36);
  CHECK(vg_http_content_type_is(r, "application/sdp"));
  CHECK_STR(vg_http_header(r, "authorization"), "Bearer s3cret");
  vg_http_conn_destroy(c);
}

/* Every byte in its own feed: the request appears only after the last. */
static void test_byte_by_byte(void) {
  vg_http_conn_t *c;
  CHECK_EQ(vg_http_conn_create(0, &c), VG_OK);
  size_t n = strlen(whip_post);
  for (size_t i = 0; i < n; i++) {
    CHECK(vg_http_conn_request(c) == NULL);
    CHECK_EQ(vg_http_conn_feed(c, (const uint8_t *)whip_post + i, 1, NULL, NULL), 1);
  }
  const vg_http_request_t *r = vg_http_conn_request(c);
  CHECK(r != NULL);
  CHECK_STR(r->path, "/whip");
  CHECK_STR(vg_http_header(r, "Content-Type"), "application/sdp");
  CHECK_EQ(r->n_headers, 4);
  CHECK_EQ(r->body_len, 36);
  CHECK_MEM(r->body, "v=0\r\n", 5);
  vg_http_conn_destroy(c);
}

/* Two requests in one read: the first is consumed exactly to its end, the
 * rest is fed again after next(). A third feed while one is pending eats
 * nothing. */
static void test_pipelined(void) {
  const char *first = "DELETE /whip/abc HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi";
  const char *second = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  char both[256];
  snprintf(both, sizeof both, "%s%s", first, second);
  vg_http_conn_t *c;
  CHECK_EQ(vg_http_conn_create(0, &c), VG_OK);
  int n = feed_str(c, both, NULL, NULL);
  CHECK_EQ(n, (int)strlen(first));
  const vg_http_request_t *r = vg_http_conn_request(c);
  CHECK(r != NULL);
  CHECK_EQ(r->method, VG_HTTP_DELETE);
  CHECK_STR(r->path, "/whip/abc");
  CHECK_EQ(r->body_len, 2);
  CHECK_EQ(feed_str(c, both + n, NULL, NULL), 0); /* pending: nothing taken */
  vg_http_conn_next(c);
  CHECK(vg_http_conn_request(c) == NULL);
  CHECK_EQ(feed_str(c, both + n, NULL, NULL), (int)strlen(second));
  r = vg_http_conn_request(c);
  CHECK(r != NULL);
  CHECK_EQ(r->method, VG_HTTP_GET);
  CHECK_STR(r->path, "/healthz");
  CHECK_EQ(r->body_len, 0); /* not the previous request's body */
  CHECK_EQ(r->n_headers, 1);
  vg_http_conn_destroy(c);
}

/* RFC 9112 §7.1: chunked coding, with an extension and a trailer. */
static void test_chunked(void) {
  const char *s = "POST /whip HTTP/1.1\r\n"
                  "Transfer-Encoding: chunked\r\n"
                  "Content-Type: application/sdp\r\n"
                  "\r\n"
                  "5\r\nv=0\r\n\r\n"
                  "1a;name=value\r\no=- 1 2 IN IP4 127.0.0.1\r\n\r\n"
                  "0\r\nX-Trailer: dropped\r\n\r\n"
                  "OPTIONS /whip HTTP/1.1\r\n\r\n";
  vg_http_conn_t *c;
  CHECK_EQ(vg_http_conn_create(0, &c), VG_OK);
  int n = feed_str(c, s, NULL, NULL);
  CHECK_EQ(n, (int)(strstr(s, "OPTIONS") - s));
  const vg_http_request_t *r = vg_http_conn_request(c);
  CHECK(r != NULL);
  CHECK_EQ(r->body_len, 31);
  CHECK_MEM(r->body, "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n", 31);
  CHECK_EQ(r->n_headers, 2); /* the trailer is not a header */
  CHECK(vg_http_header(r, "X-Trailer") == NULL);
  vg_http_conn_next(c);
  CHECK(feed_str(c, s + n, NULL, NULL) > 0);
  r = vg_http_conn_request(c);
  CHECK(r != NULL);
  CHECK_EQ(r->method, VG_HTTP_OPTIONS);
  vg_http_conn_destroy(c);
}

/* 1 keep-alive, 0 close, -1 not parsed as one whole request. */
static int keep_alive_of(const char *s) {
  vg_http_conn_t *c;
  if (vg_http_conn_create(0, &c) != VG_OK) return -1;
  int ka = -1;
  if (feed_str(c, s, NULL, NULL) == (int)strlen(s) && vg_http_conn_request(c))
    ka = vg_http_conn_request(c)->keep_alive ? 1 : 0;
  vg_http_conn_destroy(c);
  return ka;
}

/* RFC 9112 §9.3. */
static void test_keep_alive(void) {
  CHECK_EQ(keep_alive_of("GET / HTTP/1.0\r\n\r\n"), 0);
  CHECK_EQ(keep_alive_of("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 1);
  CHECK_EQ(keep_alive_of("GET / HTTP/1.1\r\n\r\n"), 1);
  CHECK_EQ(keep_alive_of("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"), 0);
  CHECK_EQ(keep_alive_of("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n"), 0);
  CHECK_EQ(keep_alive_of("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n"), 1);
}

static void test_path_decoding(void) {
  vg_http_conn_t *c;
  CHECK_EQ(vg_http_conn_create(0, &c), VG_OK);
  const char *s = "GET /whip/a%20b%2Fc%C3%A9?x=%41#frag HTTP/1.1\r\n\r\n";
  CHECK_EQ(feed_str(c, s, NULL, NULL), (int)strlen(s));
  const vg_http_request_t *r = vg_http_conn_request(c);
  CHECK(r != NULL);
  CHECK_STR(r->path, "/whip/a b/c\xc3\xa9");
  CHECK_STR(r->query, "x=%41"); /* raw; the fragment dropped */
  vg_http_conn_next(c);
  /* RFC 9112 §3.2.2: absolute-form; its path is used. */
  s = "GET http://example.org/healthz?v=1 HTTP/1.1\r\n\r\n";
  CHECK_EQ(feed_str(c, s, NULL, NULL), (int)strlen(s));
  r = vg_http_conn_request(c);
  CHECK(r != NULL);
  CHECK_STR(r->path, "/healthz");
  CHECK_STR(r->query, "v=1");
  vg_http_conn_destroy(c);
}

static void test_query_params(void) {
  vg_http_conn_t *c;
  CHECK_EQ(vg_http_conn_create(0, &c), VG_OK);
  const char *s = "POST /whip?a=1&mode=echo&b&name=J%C3%B6rg+M%26M&&x=%zz&y=%00&e= HTTP/1.1\r\n\r\n";
  CHECK_EQ(feed_str(c, s, NULL, NULL), (int)strlen(s));
  const vg_http_request_t *r = vg_http_conn_request(c);
  CHECK(r != NULL);
  char v[32];
  CHECK_EQ(vg_http_query_param(r, "mode", v, sizeof v), 4);
  CHECK_STR(v, "echo");
  CHECK_EQ(vg_http_query_param(r, "a", v, sizeof v), 1);
  CHECK_STR(v, "1");
  CHECK_EQ(vg_http_query_param(r, "b", v, sizeof v), 0); /* present, no '=' */
  CHECK_STR(v, "");
  CHECK_EQ(vg_http_query_param(r, "e", v, sizeof v), 0);
  CHECK_EQ(vg_http_query_param(r, "name", v, sizeof v), 9);
  CHECK_STR(v, "J\xc3\xb6rg M&M");
  CHECK_EQ(vg_http_query_param(r, "missing", v, sizeof v), VG_ENOTFOUND);
  CHECK_EQ(vg_http_query_param(r, "mod", v, sizeof v), VG_ENOTFOUND); /* no prefix match */
  CHECK_EQ(vg_http_query_param(r, "x", v, sizeof v), VG_EINVAL);
  CHECK_EQ(vg_http_query_param(r, "y", v, sizeof v), VG_EINVAL);
  CHECK_EQ(vg_http_query_param(r, "mode", v, 4), VG_ENOSPC); /* "echo" + NUL */
  CHECK_EQ(vg_http_query_param(r, "mode", v, 5), 4);
  vg_http_conn_next(c);
  s = "GET /whip HTTP/1.1\r\n\r\n";
  CHECK_EQ(feed_str(c, s, NULL, NULL), (int)strlen(s));
  CHECK_EQ(vg_http_query_param(vg_http_conn_request(c), "mode", v, sizeof v), VG_ENOTFOUND);
  vg_http_conn_destroy(c);
}

static bool ct_is(const char *content_type, const char *type) {
  char s[256];
  snprintf(s, sizeof s, "POST / HTTP/1.1\r\nContent-Type: %s\r\n\r\n", content_type);
  vg_http_conn_t *c;
  if (vg_http_conn_create(0, &c) != VG_OK) return false;
  bool is = feed_str(c, s, NULL, NULL) == (int)strlen(s) && vg_http_conn_request(c) &&
            vg_http_content_type_is(vg_http_conn_request(c), type);
  vg_http_conn_destroy(c);
  return is;
}

static void test_content_type(void) {
  CHECK(ct_is("application/sdp", "application/sdp"));
  CHECK(ct_is("application/sdp; charset=utf-8", "application/sdp"));
  CHECK(ct_is("Application/SDP ;charset=utf-8", "application/sdp"));
  CHECK(ct_is("application/trickle-ice-sdpfrag", "application/trickle-ice-sdpfrag"));
  CHECK(!ct_is("application/sdpx", "application/sdp"));
  CHECK(!ct_is("text/plain; x=application/sdp", "application/sdp"));
  CHECK(!ct_is("application/sdp", "application/trickle-ice-sdpfrag"));
  /* No header at all. */
  vg_http_conn_t *c;
  CHECK_EQ(vg_http_conn_create(0, &c), VG_OK);
  CHECK_EQ(feed_str(c, "POST / HTTP/1.1\r\n\r\n", NULL, NULL), 19);
  CHECK(!vg_http_content_type_is(vg_http_conn_request(c), "application/sdp"));
  vg_http_conn_destroy(c);
}

/* RFC 9110 §15.5.14: 413 as soon as Content-Length says so, the body not
 * yet sent; the boundary itself is accepted. */
static void test_body_limit(void) {
  int status = 0;
  const char *why = NULL;
  vg_http_conn_t *c;
  CHECK_EQ(vg_http_conn_create(0, &c), VG_OK);
  CHECK(feed_str(c, "POST /whip HTTP/1.1\r\nContent-Length: 65537\r\n\r\n", &status, &why) < 0);
  CHECK_EQ(status, 413);
  CHECK(why != NULL);
  vg_http_conn_destroy(c);

  /* Exactly the limit (a small one) is fine, one more is not. */
  CHECK_EQ(one("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", 10, &status), 49);
  CHECK_EQ(one("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", 10, &status), VG_ELIMIT);
  CHECK_EQ(status, 413);
  /* Chunked: refused at the chunk header that crosses the limit. */
  CHECK_EQ(one("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n5\r\n", 10,
               &status),
           VG_ELIMIT);
  CHECK_EQ(status, 413);
  CHECK(one("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n4\r\n0123\r\n"
            "0\r\n\r\n",
            10, &status) > 0);
  /* A 64 KiB body, fed in pieces, grows the buffer to fit. */
  static char big[VG_HTTP_DEFAULT_MAX_BODY + 4096];
  int h = snprintf(big, sizeof big, "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 64; i++) {
    h += snprintf(big + h, sizeof big - (size_t)h, "400\r\n");
    memset(big + h, 'a' + i % 26, 1024);
    h += 1024;
    h += snprintf(big + h, sizeof big - (size_t)h, "\r\n");
  }
  h += snprintf(big + h, sizeof big - (size_t)h, "0\r\n\r\n");
  CHECK_EQ(vg_http_conn_create(0, &c), VG_OK);
  int used = 0;
  while (used < h) {
    int n = vg_http_conn_feed(c, (const uint8_t *)big + used,
                              (size_t)(h - used) < 700 ? (size_t)(h - used) : 700, NULL, NULL);
    CHECK(n > 0);
    used += n;
  }
  const vg_http_request_t *r = vg_http_conn_request(c);
  CHECK(r != NULL);
  CHECK_EQ(r->body_len, VG_HTTP_DEFAULT_MAX_BODY);
  CHECK_EQ(r->body[0], 'a');
  CHECK_EQ(r->body[VG_HTTP_DEFAULT_MAX_BODY - 1], 'a' + 63 % 26);
  vg_http_conn_destroy(c);
}

/* RFC 6585 §5: too many or too large header fields → 431. */
static void test_header_limits(void) {
  static char s[3 * VG_HTTP_MAX_HEADER_BYTES];
  int status = 0;
  /* 32 fields are fine, 33 are not. */
  int n = snprintf(s, sizeof s, "GET / HTTP/1.1\r\n");
  for (int i = 0; i < VG_HTTP_MAX_HEADERS; i++)
    n += snprintf(s + n, sizeof s - (size_t)n, "X-%d: %d\r\n", i, i);
  snprintf(s + n, sizeof s - (size_t)n, "\r\n");
  CHECK_EQ(one(s, 0, &status), n + 2);
  snprintf(s + n, sizeof s - (size_t)n, "X-Last: 1\r\n\r\n");
  CHECK_EQ(one(s, 0, &status), VG_ELIMIT);
  CHECK_EQ(status, 431);

  /* Request line + headers of exactly VG_HTTP_MAX_HEADER_BYTES pass; one
   * byte more does not, whether in one field or over many. */
  const char *line = "GET / HTTP/1.1\r\nX-Long: ";
  size_t fixed = strlen(line) + 4; /* value's CRLF, final CRLF */
  size_t vlen = VG_HTTP_MAX_HEADER_BYTES - fixed;
  n = snprintf(s, sizeof s, "%s", line);
  memset(s + n, 'v', vlen);
  n += (int)vlen;
  n += snprintf(s + n, sizeof s - (size_t)n, "\r\n\r\n");
  CHECK_EQ(n, VG_HTTP_MAX_HEADER_BYTES);
  CHECK_EQ(one(s, 0, &status), VG_HTTP_MAX_HEADER_BYTES);
  n = snprintf(s, sizeof s, "%s", line);
  memset(s + n, 'v', vlen + 1);
  n += (int)vlen + 1;
  snprintf(s + n, sizeof s - (size_t)n, "\r\n\r\n");
  CHECK_EQ(one(s, 0, &status), VG_ELIMIT);
  CHECK_EQ(status, 431);
  /* A header section that never ends: refused once the budget is spent,
   * not buffered. */
  memset(s, 0, sizeof s);
  n = snprintf(s, sizeof s, "GET / HTTP/1.1\r\nX: ");
  memset(s + n, 'v', 2 * VG_HTTP_MAX_HEADER_BYTES);
  CHECK_EQ(one(s, 0, &status), VG_ELIMIT);
  CHECK_EQ(status, 431);
  /* Chunked trailer fields are bounded the same way. */
  memset(s, 0, sizeof s);
  n = snprintf(s, sizeof s, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: ");
  memset(s + n, 't', VG_HTTP_MAX_HEADER_BYTES + 1);
  CHECK_EQ(one(s, 0, &status), VG_ELIMIT);
  CHECK_EQ(status, 431);
}

/* RFC 9110 §15.5.15: 414 over VG_HTTP_MAX_PATH. */
static void test_path_limit(void) {
  static char s[VG_HTTP_MAX_PATH + 64];
  int status = 0;
  s[0] = '\0';
  strcat(s, "GET /");
  memset(s + 5, 'p', VG_HTTP_MAX_PATH - 1); /* target = exactly the limit */
  strcpy(s + 4 + VG_HTTP_MAX_PATH, " HTTP/1.1\r\n\r\n");
  CHECK_EQ(one(s, 0, &status), (int)strlen(s));
  s[4] = '\0';
  strcat(s, "/p");
  memset(s + 6, 'p', VG_HTTP_MAX_PATH - 1);
  strcpy(s + 5 + VG_HTTP_MAX_PATH, " HTTP/1.1\r\n\r\n");
  CHECK_EQ(one(s, 0, &status), VG_ELIMIT);
  CHECK_EQ(status, 414);
}

static void expect_status(const char *s, int want_status) {
  int status = 0;
  int rc = one(s, 0, &status);
  if (rc >= 0 || status != want_status) {
    fprintf(stderr, "  request %.40s...: rc %d status %d, want %d\n", s, rc, status, want_status);
    vgt_fail(__FILE__, __LINE__, "expected status");
  }
}

static void test_malformed(void) {
  /* Garbage: a TLS ClientHello on the HTTP port, text, NUL. */
  expect_status("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400);
  expect_status("hello there\r\n\r\n", 400);
  expect_status("GET\r\n\r\n", 400);
  expect_status("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400);
  expect_status("GET /a b HTTP/1.1\r\n\r\n", 400);
  /* RFC 9110 §5.5: controls in a value (found by fuzzing: 0x1e). */
  expect_status("GET / HTTP/1.1\r\nUser-Agent:\x1e x\r\n\r\n", 400);
  expect_status("GET / HTTP/1.1\r\nUser-Agent: x\x7f\r\n\r\n", 400);
  /* Percent-decoding of the path. */
  expect_status("GET /%zz HTTP/1.1\r\n\r\n", 400);
  expect_status("GET /a%2 HTTP/1.1\r\n\r\n", 400);
  expect_status("GET /a%00b HTTP/1.1\r\n\r\n", 400);
  /* The target must be a path. */
  expect_status("OPTIONS * HTTP/1.1\r\n\r\n", 400);
  /* RFC 9112 §5.1: whitespace before the colon. */
  expect_status("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400);
  /* RFC 9112 §6.3: Content-Length with Transfer-Encoding; two lengths;
   * chunked not last; a bad length. */
  expect_status("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
  expect_status("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400);
  expect_status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400);
  expect_status("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400);
  expect_status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400);
  /* Not implemented, unsupported. */
  expect_status("BREW /pot HTTP/1.1\r\n\r\n", 501);
  expect_status("CONNECT example.org:443 HTTP/1.1\r\n\r\n", 501);
  expect_status("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501);
  expect_status("GET / HTTP/2.0\r\n\r\n", 505);
}

/* After an error the conn stays failed with the same status. */
static void test_failure_is_sticky(void) {
  vg_http_conn_t *c;
  CHECK_EQ(vg_http_conn_create(0, &c), VG_OK);
  int status = 0;
  const char *why = NULL;
  CHECK_EQ(feed_str(c, "GET /%zz HTTP/1.1\r\n\r\n", &status, &why), VG_EPROTO);
  CHECK_EQ(status, 400);
  CHECK_STR(why, "bad percent-encoding in the path");
  CHECK(vg_http_conn_request(c) == NULL);
  vg_http_conn_next(c);
  status = 0;
  CHECK_EQ(feed_str(c, "GET / HTTP/1.1\r\n\r\n", &status, &why), VG_EPROTO);
  CHECK_EQ(status, 400);
  CHECK_EQ(vg_http_conn_eof(c, &status, NULL), VG_EPROTO);
  vg_http_conn_destroy(c);
}

/* RFC 6455 §4.1 opening handshake: the bytes after it are not consumed. */
static void test_upgrade(void) {
  const char *hs = "GET /ws HTTP/1.1\r\n"
                   "Host: x\r\n"
                   "Upgrade: websocket\r\n"
                   "Connection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n"
                   "\r\n";
  char s[512];
  snprintf(s, sizeof s, "%s\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", hs);
  vg_http_conn_t *c;
  CHECK_EQ(vg_http_conn_create(0, &c), VG_OK);
  CHECK_EQ(feed_str(c, s, NULL, NULL), (int)strlen(hs));
  const vg_http_request_t *r = vg_http_conn_request(c);
  CHECK(r != NULL);
  CHECK(r->upgrade);
  CHECK_STR(vg_http_header(r, "sec-websocket-key"), "dGhlIHNhbXBsZSBub25jZQ==");
  CHECK_EQ(feed_str(c, s + strlen(hs), NULL, NULL), 0);
  vg_http_conn_destroy(c);

  /* h2c (curl --http2): declined, answered in HTTP/1.1, parsing goes on. */
  const char *h2c = "GET / HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                    "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n";
  snprintf(s, sizeof s, "%sGET /b HTTP/1.1\r\n\r\n", h2c);
  CHECK_EQ(vg_http_conn_create(0, &c), VG_OK);
  CHECK_EQ(feed_str(c, s, NULL, NULL), (int)strlen(h2c));
  CHECK(vg_http_conn_request(c)->upgrade);
  vg_http_conn_next(c);
  CHECK_EQ(feed_str(c, s + strlen(h2c), NULL, NULL), 19);
  CHECK_STR(vg_http_conn_request(c)->path, "/b");
  CHECK(!vg_http_conn_request(c)->upgrade);
  vg_http_conn_destroy(c);
}

static void test_eof(void) {
  vg_http_conn_t *c;
  CHECK_EQ(vg_http_conn_create(0, &c), VG_OK);
  CHECK_EQ(vg_http_conn_eof(c, NULL, NULL), VG_OK); /* nothing sent */
  CHECK_EQ(feed_str(c, "GET / HTTP/1.1\r\n\r\n", NULL, NULL), 18);
  CHECK_EQ(vg_http_conn_eof(c, NULL, NULL), VG_OK); /* whole request pending */
  vg_http_conn_next(c);
  CHECK_EQ(vg_http_conn_eof(c, NULL, NULL), VG_OK); /* between requests */
  vg_http_conn_destroy(c);

  CHECK_EQ(vg_http_conn_create(0, &c), VG_OK);
  int status = 0;
  CHECK_EQ(feed_str(c, "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", NULL, NULL), 40);
  CHECK_EQ(vg_http_conn_eof(c, &status, NULL), VG_EPROTO);
  CHECK_EQ(status, 400);
  vg_http_conn_destroy(c);
}

/* RFC 9110 §10.1.1: 100-continue is offered once, only when the body is
 * still to come and acceptable, never for HTTP/1.0. */
static void test_expect_continue(void) {
  vg_http_conn_t *c;
  CHECK_EQ(vg_http_conn_create(0, &c), VG_OK);
  const char *h = "POST /whip HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
  CHECK_EQ(feed_str(c, h, NULL, NULL), (int)strlen(h));
  CHECK(vg_http_conn_poll_continue(c));
  CHECK(!vg_http_conn_poll_continue(c));
  CHECK_EQ(feed_str(c, "abc", NULL, NULL), 3);
  CHECK(vg_http_conn_request(c) != NULL);
  CHECK(!vg_http_conn_poll_continue(c));
  vg_http_conn_destroy(c);

  CHECK_EQ(vg_http_conn_create(0, &c), VG_OK);
  h = "POST /whip HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
  CHECK_EQ(feed_str(c, h, NULL, NULL), (int)strlen(h));
  CHECK(!vg_http_conn_poll_continue(c));
  vg_http_conn_destroy(c);

  CHECK_EQ(vg_http_conn_create(0, &c), VG_OK); /* body in the same read */
  h = "POST /whip HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc";
  CHECK_EQ(feed_str(c, h, NULL, NULL), (int)strlen(h));
  CHECK(!vg_http_conn_poll_continue(c));
  vg_http_conn_destroy(c);
}

static void test_response_201(void) {
  const char answer[] = "v=0\r\ns=-\r\n";
  vg_http_header_t extra[] = {{"Location", "/whip/6f1c"}, {"ETag", "\"6f1c\""}};
  char out[512];
  int n = vg_http_response(out, sizeof out, 201, "application/sdp", extra, 2, answer,
                           sizeof answer - 1, true, false);
  const char want[] = "HTTP/1.1 201 Created\r\n"
                      "Content-Type: application/sdp\r\n"
                      "Content-Length: 10\r\n"
                      "Connection: keep-alive\r\n"
                      "Location: /whip/6f1c\r\n"
                      "ETag: \"6f1c\"\r\n"
                      "\r\n"
                      "v=0\r\ns=-\r\n";
  CHECK_EQ(n, (int)sizeof want - 1);
  CHECK_MEM(out, want, sizeof want - 1);
  /* Every capacity short of the whole is VG_ENOSPC, never a partial write
   * reported as success. */
  for (size_t cap = 0; cap < sizeof want - 1; cap++)
    CHECK_EQ(vg_http_response(out, cap, 201, "application/sdp", extra, 2, answer,
                              sizeof answer - 1, true, false),
             VG_ENOSPC);
}

static void test_response_204_and_head(void) {
  char out[256];
  vg_http_header_t cors[] = {{"Access-Control-Allow-Origin", "*"}};
  int n = vg_http_response(out, sizeof out, 204, NULL, cors, 1, NULL, 0, false, false);
  const char want204[] = "HTTP/1.1 204 No Content\r\n"
                         "Connection: close\r\n"
                         "Access-Control-Allow-Origin: *\r\n"
                         "\r\n";
  CHECK_EQ(n, (int)sizeof want204 - 1);
  CHECK_MEM(out, want204, sizeof want204 - 1);
  /* HEAD: the GET's length, no body. */
  n = vg_http_response(out, sizeof out, 200, "text/html; charset=utf-8", NULL, 0, NULL, 1234, true,
                       true);
  const char wanthead[] = "HTTP/1.1 200 OK\r\n"
                          "Content-Type: text/html; charset=utf-8\r\n"
                          "Content-Length: 1234\r\n"
                          "Connection: keep-alive\r\n"
                          "\r\n";
  CHECK_EQ(n, (int)sizeof wanthead - 1);
  CHECK_MEM(out, wanthead, sizeof wanthead - 1);
  /* An empty 200 still says Content-Length: 0. */
  n = vg_http_response(out, sizeof out, 200, NULL, NULL, 0, NULL, 0, true, false);
  const char want200[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n";
  CHECK_EQ(n, (int)sizeof want200 - 1);
  CHECK_MEM(out, want200, sizeof want200 - 1);
  /* Refused: header injection, a body on a 204, a bad name, a bad status. */
  vg_http_header_t evil[] = {{"Location", "/x\r\nSet-Cookie: a=b"}};
  CHECK_EQ(vg_http_response(out, sizeof out, 201, NULL, evil, 1, NULL, 0, true, false), VG_EINVAL);
  CHECK_EQ(vg_http_response(out, sizeof out, 204, NULL, NULL, 0, "x", 1, true, false), VG_EINVAL);
  vg_http_header_t badname[] = {{"Bad Name", "x"}};
  CHECK_EQ(vg_http_response(out, sizeof out, 200, NULL, badname, 1, NULL, 0, true, false),
           VG_EINVAL);
  CHECK_EQ(vg_http_response(out, sizeof out, 42, NULL, NULL, 0, NULL, 0, true, false), VG_EINVAL);
}

/* RFC 9110 §15 phrases (413 and 422 renamed from RFC 7231's). */
static void test_reasons(void) {
  CHECK_STR(vg_http_reason(200), "OK");
  CHECK_STR(vg_http_reason(201), "Created");
  CHECK_STR(vg_http_reason(204), "No Content");
  CHECK_STR(vg_http_reason(400), "Bad Request");
  CHECK_STR(vg_http_reason(401), "Unauthorized");
  CHECK_STR(vg_http_reason(404), "Not Found");
  CHECK_STR(vg_http_reason(405), "Method Not Allowed");
  CHECK_STR(vg_http_reason(413), "Content Too Large");
  CHECK_STR(vg_http_reason(414), "URI Too Long");
  CHECK_STR(vg_http_reason(415), "Unsupported Media Type");
  CHECK_STR(vg_http_reason(422), "Unprocessable Content");
  CHECK_STR(vg_http_reason(431), "Request Header Fields Too Large");
  CHECK_STR(vg_http_reason(501), "Not Implemented");
  CHECK_STR(vg_http_reason(503), "Service Unavailable");
  CHECK_STR(vg_http_reason(599), "Unknown");
}

VGT_MAIN(VGT_CASE(test_get_with_headers), VGT_CASE(test_post_with_body),
         VGT_CASE(test_byte_by_byte), VGT_CASE(test_pipelined), VGT_CASE(test_chunked),
         VGT_CASE(test_keep_alive), VGT_CASE(test_path_decoding), VGT_CASE(test_query_params),
         VGT_CASE(test_content_type), VGT_CASE(test_body_limit), VGT_CASE(test_header_limits),
         VGT_CASE(test_path_limit), VGT_CASE(test_malformed), VGT_CASE(test_failure_is_sticky),
         VGT_CASE(test_upgrade), VGT_CASE(test_eof), VGT_CASE(test_expect_continue),
         VGT_CASE(test_response_201), VGT_CASE(test_response_204_and_head),
         VGT_CASE(test_reasons))
