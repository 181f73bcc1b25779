/* Result messages (JSON, with jansson) and the WebSocket opening
 * handshake's response (HTTP, with http-parser; SHA-1 and base64 with
 * OpenSSL). */
#include "asr/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>
#include <jansson.h>
#include <openssl/evp.h>

/* ---- result messages ---- */

static double num(json_t *o, const char *key, double dflt) {
  json_t *v = json_object_get(o, key);
  return json_is_number(v) ? json_number_value(v) : dflt;
}

static int final_from(vg_asr_queue_t *q, json_t *r, json_t *text, double base, double now) {
  json_t *words = json_object_get(r, "words");
  if (!json_is_array(words)) words = json_object_get(r, "result");
  size_t n = json_is_array(words) ? json_array_size(words) : 0;
  vg_asr_word_t *w = NULL;
  size_t k = 0;
  if (n) {
    w = calloc(n, sizeof *w);
    if (!w) return VG_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    json_t *wo = json_array_get(words, i);
    json_t *ws = json_object_get(wo, "word");
    if (!json_is_string(ws)) continue;
    w[k++] = (vg_asr_word_t){json_string_value(ws), base + num(wo, "start", 0),
                             base + num(wo, "end", 0)};
  }
  json_t *js = json_object_get(r, "start"), *je = json_object_get(r, "end");
  double start = json_is_number(js) ? base + json_number_value(js)
                 : k                ? w[0].start
                                    : q->last_end;
  double end = json_is_number(je) ? base + json_number_value(je) : k ? w[k - 1].end : now;
  int rc = vg_asr_queue_final(q, json_string_value(text), start, end, w, k);
  free(w);
  return rc;
}

int vg_asr_wire_result(vg_asr_queue_t *q, const char *msg, size_t len, double base, double now,
                       const char **why) {
  json_error_t je;
  json_t *o = json_loadb(msg, len, 0, &je);
  if (!json_is_object(o)) {
    json_decref(o);
    if (why) *why = "not a JSON object";
    return VG_EPROTO;
  }
  int rc = VG_OK;
  json_t *alts = json_object_get(o, "alternatives"); /* Vosk max_alternatives > 0 */
  json_t *r = json_is_array(alts) && json_is_object(json_array_get(alts, 0))
                  ? json_array_get(alts, 0)
                  : o;
  json_t *v;
  if ((v = json_object_get(o, "error")) && json_is_string(v)) {
    vg_asr_queue_error(q, "engine error: %s", json_string_value(v));
    rc = VG_ECLOSED;
  } else if ((v = json_object_get(r, "text")) && json_is_string(v)) {
    rc = final_from(q, r, v, base, now);
  } else if ((v = json_object_get(o, "partial")) && json_is_string(v)) {
    json_t *ps = json_object_get(o, "start");
    rc = vg_asr_queue_partial(q, json_string_value(v),
                              json_is_number(ps) ? base + json_number_value(ps) : 0, now);
  }
  json_decref(o);
  return rc;
}

/* ---- the WebSocket handshake response ---- */

/* RFC 6455 section 1.3: the GUID appended to the key for the accept value. */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int vg_asr_wire_accept(const char *key, char out[29]) {
  char in[128];
  int n = snprintf(in, sizeof in, "%s%s", key, ws_guid);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (n <= 0 || (size_t)n >= sizeof in || !EVP_Digest(in, (size_t)n, md, &md_len, EVP_sha1(), NULL) ||
      md_len != 20)
    return VG_ECRYPTO;
  return EVP_EncodeBlock((unsigned char *)out, md, 20) == 28 ? VG_OK : VG_ECRYPTO;
}

typedef struct {
  char field[64], value[256];
  size_t field_len, value_len;
  bool in_value;
  bool upgrade_ok, connection_ok, done;
  int accepts; /* Sec-WebSocket-Accept headers seen */
  char accept[64];
} hs_t;

/* Whether the comma-separated `value` holds `token` (without case). */
static bool has_token(const char *value, const char *token) {
  size_t tl = strlen(token);
  for (const char *p = value; *p;) {
    while (*p == ' ' || *p == '\t' || *p == ',') p++;
    size_t l = strcspn(p, ",");
    size_t t = l;
    while (t && (p[t - 1] == ' ' || p[t - 1] == '\t')) t--;
    if (t == tl && strncasecmp(p, token, tl) == 0) return true;
    p += l;
  }
  return false;
}

static void header_done(hs_t *h) {
  h->field[h->field_len] = '\0';
  h->value[h->value_len] = '\0';
  if (strcasecmp(h->field, "Upgrade") == 0) {
    h->upgrade_ok = has_token(h->value, "websocket");
  } else if (strcasecmp(h->field, "Connection") == 0) {
    h->connection_ok = has_token(h->value, "upgrade");
  } else if (strcasecmp(h->field, "Sec-WebSocket-Accept") == 0) {
    h->accepts++;
    /* Too long to be right: left empty, so the check fails. */
    h->accept[0] = '\0';
    if (h->value_len < sizeof h->accept) memcpy(h->accept, h->value, h->value_len + 1);
  }
  h->field_len = h->value_len = 0;
  h->in_value = false;
}

static void append(char *dst, size_t cap, size_t *len, const char *at, size_t n) {
  size_t k = n < cap - 1 - *len ? n : cap - 1 - *len;
  memcpy(dst + *len, at, k);
  *len += k;
}

static int on_field(http_parser *p, const char *at, size_t len) {
  hs_t *h = p->data;
  if (h->in_value) header_done(h);
  append(h->field, sizeof h->field, &h->field_len, at, len);
  return 0;
}

static int on_value(http_parser *p, const char *at, size_t len) {
  hs_t *h = p->data;
  h->in_value = true;
  append(h->value, sizeof h->value, &h->value_len, at, len);
  return 0;
}

static int on_headers_complete(http_parser *p) {
  hs_t *h = p->data;
  if (h->in_value) header_done(h);
  h->done = true;
  return 1; /* no body: a 101 has none, and other answers are refused */
}

/*   HTTP/1.1 101 Switching Protocols\r\n
 *   Upgrade: websocket\r\n
 *   Connection: Upgrade\r\n
 *   Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n
 *   \r\n
 *   <WebSocket frames...>                                                 */
int vg_asr_wire_handshake(const uint8_t *in, size_t len, const char *accept, size_t *consumed,
                          unsigned *status, const char **why) {
  http_parser_settings settings;
  http_parser_settings_init(&settings);
  settings.on_header_field = on_field;
  settings.on_header_value = on_value;
  settings.on_headers_complete = on_headers_complete;
  http_parser parser;
  http_parser_init(&parser, HTTP_RESPONSE);
  hs_t h = {0};
  parser.data = &h;
  *status = 0;
  /* The whole buffer each time: a response header block is small. */
  size_t used = http_parser_execute(&parser, &settings, (const char *)in, len);
  if (!h.done) {
    if (HTTP_PARSER_ERRNO(&parser) != HPE_OK) {
      *why = "bad HTTP response";
      return VG_EPROTO;
    }
    return VG_EAGAIN;
  }
  *status = parser.status_code;
  if (parser.status_code != 101) {
    *why = "the server did not switch to WebSocket";
    return VG_EPROTO;
  }
  /* RFC 6455 section 4.1, the client's checks of the server's response:
   * Upgrade and Connection tokens, and exactly the expected accept value. */
  if (!h.upgrade_ok || !h.connection_ok) {
    *why = "no Upgrade: websocket in the response";
    return VG_EPROTO;
  }
  if (h.accepts != 1 || strcmp(h.accept, accept) != 0) {
    *why = "wrong Sec-WebSocket-Accept";
    return VG_EPROTO;
  }
  /* With Upgrade, http-parser stops right after the header block. */
  if (!parser.upgrade || used > len) {
    *why = "bad HTTP response";
    return VG_EPROTO;
  }
  *consumed = used;
  return VG_OK;
}
