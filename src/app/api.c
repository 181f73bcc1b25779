/* The HTTP API on the shared TCP port: the page, WHIP (RFC 9725), health
 * and session listing. Replies are built synchronously; none of this
 * blocks the loop. */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/server_internal.h"
#include "app/web_assets.h"
#include "base/log.h"
#include "core/sdp.h"

#define ANSWER_CAP 8192
#define WHIP_PREFIX "/whip/"
/* Seconds a client should wait before retrying when the server is full. */
#define RETRY_AFTER "5"

static void text(vg_http_reply_t *r, int status, const char *msg) {
  r->status = status;
  r->content_type = "text/plain; charset=utf-8";
  size_t len = strlen(msg);
  char *body = malloc(len + 2);
  if (!body) {
    r->body_len = 0;
    return;
  }
  memcpy(body, msg, len);
  body[len] = '\n';
  r->body = body;
  r->body_len = len + 1;
  r->free_after = body;
}

static void json_reply(vg_http_reply_t *r, json_t *j) {
  char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
  json_decref(j);
  if (!s) {
    text(r, 500, "cannot encode JSON");
    return;
  }
  r->status = 200;
  r->content_type = "application/json";
  r->body = s;
  r->body_len = strlen(s);
  r->free_after = s;
}

/* CORS for every reply: WHIP clients run on other origins (RFC 9725 §4.1
 * expects OPTIONS pre-flight to work). The page reads our own headers too. */
static void cors(vg_http_reply_t *r) {
  vg_http_reply_header(r, "Access-Control-Allow-Origin", "*");
  vg_http_reply_header(r, "Access-Control-Expose-Headers",
                       "Location, ETag, Link, X-Voxgate-Fallback-Ms, X-Voxgate-Proxied");
}

/* A request that came through a proxy says so (RFC 7239 Forwarded, the de
 * facto X-Forwarded-For, RFC 9110 §7.6.3 Via): the page then expects that
 * UDP may not reach us and tells the user why it used the WebSocket. */
static bool proxied(const vg_http_request_t *req) {
  return vg_http_header(req, "Forwarded") || vg_http_header(req, "X-Forwarded-For") ||
         vg_http_header(req, "Via");
}

/* RFC 9725 §4.5 / RFC 6750: a bearer token when one is configured. The
 * comparison takes the same time whatever the token's first difference. */
static bool authorized(const vg_server_t *srv, const vg_http_request_t *req) {
  if (!srv->cfg.token[0]) return true;
  const char *h = vg_http_header(req, "Authorization");
  if (!h || strncmp(h, "Bearer ", 7) != 0) return false;
  const char *tok = h + 7;
  size_t n = strlen(srv->cfg.token);
  return strlen(tok) == n && CRYPTO_memcmp(tok, srv->cfg.token, n) == 0;
}

/* A WebSocket cannot carry an Authorization header from a browser: the
 * event stream also takes the token as ?token=. */
static bool authorized_ws(const vg_server_t *srv, const vg_http_request_t *req) {
  if (authorized(srv, req)) return true;
  char tok[VG_CONFIG_TOKEN_MAX];
  size_t n = strlen(srv->cfg.token);
  return vg_http_query_param(req, "token", tok, sizeof tok) == (int)n &&
         CRYPTO_memcmp(tok, srv->cfg.token, n) == 0;
}

static void unauthorized(vg_http_reply_t *r) {
  text(r, 401, "this server needs 'Authorization: Bearer <token>' (see --token)");
  vg_http_reply_header(r, "WWW-Authenticate", "Bearer");
}

static bool serve_asset(const vg_http_request_t *req, vg_http_reply_t *r) {
  const char *path = strcmp(req->path, "/") == 0 ? "/index.html" : req->path;
  for (const vg_web_asset_t *a = vg_web_assets; a->path; a++) {
    if (strcmp(a->path, path) != 0) continue;
    r->status = 200;
    r->content_type = a->content_type;
    r->body = a->data;
    r->body_len = a->len;
    vg_http_reply_header(r, "Cache-Control", "no-cache");
    return true;
  }
  return false;
}

static void whip_post(vg_server_t *srv, const vg_http_request_t *req, const vg_addr_t *local,
                      vg_http_reply_t *r) {
  if (!authorized(srv, req)) return unauthorized(r);
  if (!vg_http_content_type_is(req, "application/sdp"))
    return text(r, 415, "WHIP offers must be sent as Content-Type: application/sdp");
  char mode[32];
  vg_mode_t m = VG_MODE_ECHO;
  int q = vg_http_query_param(req, "mode", mode, sizeof mode);
  if (q >= 0 && strcmp(mode, "transcribe") == 0) m = VG_MODE_TRANSCRIBE;
  else if (q != VG_ENOTFOUND && (q < 0 || strcmp(mode, "echo") != 0))
    return text(r, 400, "unknown mode (this server supports mode=echo and mode=transcribe)");
  if (srv->n_sessions >= srv->cfg.max_sessions) {
    text(r, 503, "the server is at its session limit (--max-sessions); retry shortly");
    vg_http_reply_header(r, "Retry-After", RETRY_AFTER);
    return;
  }
  if (req->body_len == 0) return text(r, 400, "the offer is empty");
  char *answer = malloc(ANSWER_CAP);
  if (!answer) return text(r, 500, "out of memory");
  char msg[256];
  vg_session_t *s;
  int n = vg_server_session_create(srv, m, (const char *)req->body, req->body_len, local, answer,
                                   ANSWER_CAP, &s, msg, sizeof msg);
  if (n == VG_ELIMIT) {
    free(answer);
    text(r, 503, "every speech recognizer is busy (--asr-streams); retry shortly");
    vg_http_reply_header(r, "Retry-After", RETRY_AFTER);
    return;
  }
  if (n < 0) {
    free(answer);
    if (!msg[0]) snprintf(msg, sizeof msg, "%s", vg_strerror(n));
    VG_LOG(VG_LOG_INFO, NULL, "offer rejected: %s", msg);
    return text(r, n == VG_EUNSUPPORTED ? 422 : n == VG_EINVAL ? 400 : 500, msg);
  }
  static char location[sizeof WHIP_PREFIX + VG_SESSION_ID_LEN];
  static char etag[VG_SESSION_ID_LEN + 3];
  snprintf(location, sizeof location, WHIP_PREFIX "%s", s->id);
  snprintf(etag, sizeof etag, "\"%s\"", s->id);
  r->status = 201;
  r->content_type = "application/sdp";
  r->body = answer;
  r->body_len = (size_t)n;
  r->free_after = answer;
  vg_http_reply_header(r, "Location", location);
  vg_http_reply_header(r, "ETag", etag);
  static char fallback[24];
  snprintf(fallback, sizeof fallback, "%llu", (unsigned long long)srv->cfg.ws_fallback_ms);
  vg_http_reply_header(r, "X-Voxgate-Fallback-Ms", fallback);
}

/* GET /ws/audio and /ws/asr: audio over a WebSocket (app/wsaudio.c), for
 * networks that carry only HTTP(S). */
static void ws_audio(vg_server_t *srv, const vg_http_request_t *req, const vg_addr_t *peer,
                     bool vosk, vg_http_reply_t *r) {
  if (!authorized_ws(srv, req)) return unauthorized(r);
  static char accept[VG_WS_ACCEPT_KEY_SIZE];
  const char *why = NULL;
  int st = vg_ws_accept(req, accept, sizeof accept, &why);
  if (st == 0 && !req->upgrade) st = 400, why = "not a WebSocket upgrade";
  if (st != 0) {
    if (st == 426) vg_http_reply_header(r, "Sec-WebSocket-Version", VG_WS_VERSION);
    return text(r, st > 0 ? st : 500, why ? why : "bad WebSocket request");
  }
  vg_wsaudio_accept(srv, vosk, peer, accept, r);
}

/* GET /whip/<id>/events: the session's events as a WebSocket of JSON
 * messages ({"type":"state"|"partial"|"final"|...}). */
static void session_events(vg_server_t *srv, const vg_http_request_t *req, const char *id,
                           vg_http_reply_t *r) {
  if (!authorized_ws(srv, req)) return unauthorized(r);
  vg_session_t *s = vg_server_session_find(srv, id);
  if (!s) return text(r, 404, "no such session (it ended, or never existed)");
  static char accept[VG_WS_ACCEPT_KEY_SIZE];
  const char *why = NULL;
  int st = vg_ws_accept(req, accept, sizeof accept, &why);
  if (st != 0) {
    if (st == 426) vg_http_reply_header(r, "Sec-WebSocket-Version", VG_WS_VERSION);
    return text(r, st > 0 ? st : 500, why ? why : "bad WebSocket request");
  }
  vg_tcp_conn_t **slot = vg_session_subscriber_slot(s);
  if (!slot) return text(r, 503, "too many event streams for this session");
  r->ws_accept = accept;
  r->ws = vg_session_ws_handler_proto;
  r->ws.ud = s;
  r->ws_conn = slot;
}

/* GET /whip/<id>/transcript: every final so far (nothing is trimmed, however
 * long the session) and the current partial. */
static void session_transcript(vg_server_t *srv, const vg_http_request_t *req, const char *id,
                               vg_http_reply_t *r) {
  if (!authorized(srv, req)) return unauthorized(r);
  vg_session_t *s = vg_server_session_find(srv, id);
  if (!s) return text(r, 404, "no such session (it ended, or never existed)");
  if (s->mode != VG_MODE_TRANSCRIBE) return text(r, 404, "this is not a transcribe session");
  json_t *finals = json_array();
  for (size_t i = 0; finals && i < s->n_finals; i++)
    json_array_append_new(finals, json_pack("{s:s, s:f, s:f, s:f}", "text", s->finals[i].text,
                                            "start", s->finals[i].start, "end", s->finals[i].end,
                                            "latency_ms", s->finals[i].latency_ms));
  json_reply(r, json_pack("{s:s, s:s, s:o, s:s?}", "id", s->id, "engine",
                          vg_asr_engine_name(srv->asr), "finals", finals, "partial", s->partial));
}

static void whip_resource(vg_server_t *srv, const vg_http_request_t *req, vg_http_reply_t *r) {
  const char *id = req->path + strlen(WHIP_PREFIX);
  const char *slash = strchr(id, '/');
  if (slash) {
    char sid[VG_SESSION_ID_LEN + 1];
    size_t n = (size_t)(slash - id);
    if (n > VG_SESSION_ID_LEN || req->method != VG_HTTP_GET) return text(r, 404, "not found");
    memcpy(sid, id, n);
    sid[n] = '\0';
    if (strcmp(slash, "/events") == 0) return session_events(srv, req, sid, r);
    if (strcmp(slash, "/transcript") == 0) return session_transcript(srv, req, sid, r);
    return text(r, 404, "not found");
  }
  if (req->method == VG_HTTP_OPTIONS) {
    r->status = 204;
    vg_http_reply_header(r, "Access-Control-Allow-Methods", "PATCH, DELETE, OPTIONS");
    vg_http_reply_header(r, "Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match");
    return;
  }
  if (req->method != VG_HTTP_PATCH && req->method != VG_HTTP_DELETE) {
    r->status = 405;
    vg_http_reply_header(r, "Allow", "PATCH, DELETE, OPTIONS");
    return text(r, 405, "a WHIP session accepts PATCH and DELETE");
  }
  if (!authorized(srv, req)) return unauthorized(r);
  vg_session_t *s = vg_server_session_find(srv, id);
  if (!s) return text(r, 404, "no such session (it ended, or never existed)");
  if (req->method == VG_HTTP_DELETE) {
    VG_LOG(VG_LOG_INFO, s->id, "ended by DELETE");
    vg_server_session_end(s, "ended by DELETE");
    r->status = 200;
    return;
  }
  /* PATCH: trickle ICE (RFC 8840). An ICE-lite server learns the browser's
   * addresses from its checks, so candidates are accepted and not needed;
   * the body must still be a well-formed sdpfrag. */
  if (!vg_http_content_type_is(req, "application/trickle-ice-sdpfrag"))
    return text(r, 415, "PATCH needs Content-Type: application/trickle-ice-sdpfrag");
  vg_sdp_t *frag = malloc(sizeof *frag);
  if (!frag) return text(r, 500, "out of memory");
  const char *why = NULL;
  int p = vg_sdp_parse_frag(frag, (const char *)req->body, req->body_len, &why);
  char msg[200];
  if (p < 0) snprintf(msg, sizeof msg, "%s", why ? why : "malformed sdpfrag");
  free(frag);
  if (p < 0) return text(r, 400, msg);
  r->status = 204;
}

static json_t *session_json(const vg_session_t *s, vg_time_t now) {
  vg_rtc_stats_t st = {0};
  if (s->rtc) vg_rtc_get_stats(s->rtc, &st);
  if (s->wsa) {
    st.packets_in = s->ws.packets_in;
    st.packets_out = s->ws.packets_out;
    st.bytes_in = s->ws.bytes_in;
    st.bytes_out = s->ws.bytes_out;
  }
  char remote[VG_ADDR_STRLEN] = "";
  if (s->has_remote) vg_addr_format(&s->remote, remote, sizeof remote);
  json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f}", "id", s->id,
                   "mode", vg_mode_name(s->mode), "state", s->state, "remote", remote, "transport",
                   s->wsa                                        ? "websocket"
                   : !s->has_remote                              ? ""
                   : s->remote.transport == VG_TRANSPORT_TCP     ? "tcp"
                                                                 : "udp",
                   "packets_in", (json_int_t)st.packets_in, "packets_out", (json_int_t)st.packets_out,
                   "bytes_in", (json_int_t)st.bytes_in, "bytes_out", (json_int_t)st.bytes_out,
                   "lost", (json_int_t)st.packets_lost,
                   /* RFC 3550 jitter is in RTP units: 48 per ms for Opus */
                   "jitter_ms", st.jitter / 48.0, "rtt_ms", st.rtt / 1000.0,
                   "age_s", (now - s->created_at) / 1e6);
  if (o && s->tr) {
    vg_transcribe_stats_t ts;
    vg_transcriber_get_stats(s->tr, &ts);
    json_object_set_new(o, "asr", json_pack("{s:f, s:f, s:f, s:I, s:I}", "audio_s", ts.audio_s,
                                            "queued_s", ts.queued_s, "dropped_s", ts.dropped_s,
                                            "finals", (json_int_t)ts.finals, "concealed_frames",
                                            (json_int_t)ts.concealed_frames));
  }
  return o;
}

void vg_api_handle(void *ud, const vg_http_request_t *req, const vg_addr_t *local,
                   const vg_addr_t *peer, vg_http_reply_t *r) {
  vg_server_t *srv = ud;
  cors(r);
  if (proxied(req)) vg_http_reply_header(r, "X-Voxgate-Proxied", "1");
  const char *path = req->path;
  if (strcmp(path, "/whip") == 0) {
    if (req->method == VG_HTTP_POST) return whip_post(srv, req, local, r);
    if (req->method == VG_HTTP_OPTIONS) {
      r->status = 204;
      vg_http_reply_header(r, "Accept-Post", "application/sdp");
      vg_http_reply_header(r, "Access-Control-Allow-Methods", "POST, OPTIONS");
      vg_http_reply_header(r, "Access-Control-Allow-Headers", "Authorization, Content-Type");
      return;
    }
    vg_http_reply_header(r, "Allow", "POST, OPTIONS");
    return text(r, 405, "POST an SDP offer to /whip");
  }
  if (strncmp(path, WHIP_PREFIX, strlen(WHIP_PREFIX)) == 0) return whip_resource(srv, req, r);
  if (req->method != VG_HTTP_GET && req->method != VG_HTTP_HEAD) {
    if (req->method == VG_HTTP_OPTIONS) {
      r->status = 204;
      return;
    }
    vg_http_reply_header(r, "Allow", "GET, HEAD");
    return text(r, 405, "this path only answers GET");
  }
  if (strcmp(path, "/ws/audio") == 0 || strcmp(path, "/ws/asr") == 0)
    return ws_audio(srv, req, peer, strcmp(path, "/ws/asr") == 0, r);
  if (strcmp(path, "/healthz") == 0) {
    /* The server opens its port only once the speech engine is loaded, so
     * answering at all means ready. */
    return json_reply(r, json_pack("{s:s, s:I, s:I, s:f, s:{s:s, s:b, s:I}}", "status", "ok",
                                   "sessions", (json_int_t)srv->n_sessions, "sessions_total",
                                   (json_int_t)srv->sessions_total, "uptime_s",
                                   (vg_server_now() - srv->started_at) / 1e6, "asr", "engine",
                                   vg_asr_engine_name(srv->asr), "ready", 1, "streams",
                                   (json_int_t)srv->cfg.asr_streams));
  }
  if (strcmp(path, "/api/sessions") == 0) {
    /* It lists the browsers' addresses: as private as WHIP itself. */
    if (!authorized(srv, req)) return unauthorized(r);
    json_t *arr = json_array();
    vg_time_t now = vg_server_now();
    for (const vg_session_t *s = srv->sessions; s && arr; s = s->next) {
      json_t *o = session_json(s, now);
      if (o) json_array_append_new(arr, o);
    }
    if (!arr) return text(r, 500, "out of memory");
    return json_reply(r, arr);
  }
  if (serve_asset(req, r)) return;
  text(r, 404, "not found");
}
