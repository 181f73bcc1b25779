/* The load generator's signaling adapters on one libcurl multi handle
 * (see load_signal.h for the exchanges). libcurl's sockets live in the
 * caller's epoll set (CURLMOPT_SOCKETFUNCTION) and its timer is a deadline
 * the caller's loop honours (CURLMOPT_TIMERFUNCTION), so hundreds of
 * exchanges overlap on a few kept-alive connections and the ramp is never
 * serialised behind one slow answer. */
#include "load_signal.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "bench.h"

/* A request that outlives this is a failure: the servers answer on a LAN
 * in milliseconds; under heavy load a few seconds. */
#define REQ_TIMEOUT_MS 10000L
/* Janus answers a long poll with a keepalive event after 30 s. */
#define POLL_TIMEOUT_MS 40000L
#define JANUS_ECHOTEST "janus.plugin.echotest"

typedef enum {
  REQ_WHIP_POST,
  REQ_WHIP_DELETE,
  REQ_JANUS_CREATE,
  REQ_JANUS_ATTACH,
  REQ_JANUS_MESSAGE,
  REQ_JANUS_POLL,
  REQ_JANUS_KEEPALIVE,
  REQ_JANUS_DESTROY,
  REQ_AIORTC_OFFER,
  REQ_AIORTC_CLOSE,
} req_kind_t;

typedef struct req {
  CURL *easy;                /* owned */
  struct curl_slist *hdrs;   /* owned */
  char *payload;             /* owned, nullable */
  vg_bench_buf_t body;       /* owned */
  req_kind_t kind;
  load_sig_session_t *ss;    /* borrowed */
  void *user;                /* borrowed */
  char err[CURL_ERROR_SIZE];
  struct req *prev, *next; /* the engine's list of requests in flight */
} req_t;

struct load_sig {
  load_target_t target;
  char url[512];    /* base: voxgate http://IP:PORT, Janus .../janus, aiortc .../offer */
  const char *token; /* borrowed, nullable */
  int epfd;
  uint64_t tag;
  CURLM *multi;     /* owned */
  vg_time_t deadline;
  int inflight;
  req_t *reqs; /* owned: every request in flight */
  load_sig_hooks_t hooks;
};

/* --- libcurl glue ---------------------------------------------------------- */

static int on_socket(CURL *e, curl_socket_t fd, int what, void *ud, void *sockp) {
  load_sig_t *sig = ud;
  struct epoll_event ev = {.data.u64 = sig->tag | (uint32_t)fd};
  if (what == CURL_POLL_REMOVE) {
    (void)epoll_ctl(sig->epfd, EPOLL_CTL_DEL, fd, NULL);
    (void)curl_multi_assign(sig->multi, fd, NULL);
    return 0;
  }
  ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
  /* sockp marks a fd already in the set. */
  if (sockp) {
    (void)epoll_ctl(sig->epfd, EPOLL_CTL_MOD, fd, &ev);
  } else if (epoll_ctl(sig->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 || errno == EEXIST) {
    if (errno == EEXIST) (void)epoll_ctl(sig->epfd, EPOLL_CTL_MOD, fd, &ev);
    (void)curl_multi_assign(sig->multi, fd, sig);
  }
  return 0;
}

static int on_timer(CURLM *m, long ms, void *ud) {
  load_sig_t *sig = ud;
  sig->deadline = ms < 0 ? VG_TIME_NEVER : vg_bench_now() + VG_MSEC(ms);
  return 0;
}

/* Starts one request: POST `payload` (taken, owned by the request) with
 * `ctype`, or `method` without a body. Returns the request or NULL. */
static req_t *start(load_sig_t *sig, load_sig_session_t *ss, void *user, req_kind_t kind,
                    const char *method, const char *url, const char *ctype, char *payload,
                    size_t payload_len, long timeout_ms) {
  req_t *r = calloc(1, sizeof *r);
  if (!r || !(r->easy = curl_easy_init())) {
    free(r);
    free(payload);
    return NULL;
  }
  r->kind = kind;
  r->ss = ss;
  r->user = user;
  r->payload = payload;
  char line[600];
  if (ctype) {
    snprintf(line, sizeof line, "Content-Type: %s", ctype);
    r->hdrs = curl_slist_append(r->hdrs, line);
  }
  if (sig->token) {
    snprintf(line, sizeof line, "Authorization: Bearer %s", sig->token);
    r->hdrs = curl_slist_append(r->hdrs, line);
  }
  r->hdrs = curl_slist_append(r->hdrs, "Expect:"); /* no 100-continue round trip */
  CURL *c = r->easy;
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->hdrs);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, vg_bench_buf_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
  curl_easy_setopt(c, CURLOPT_PRIVATE, r);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->err);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  if (payload) {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)payload_len);
  } else {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    if (strcmp(method, "GET") != 0) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  }
  if (curl_multi_add_handle(sig->multi, c) != CURLM_OK) {
    curl_slist_free_all(r->hdrs);
    curl_easy_cleanup(c);
    free(r->payload);
    free(r);
    return NULL;
  }
  ss->inflight++;
  sig->inflight++;
  r->next = sig->reqs;
  if (sig->reqs) sig->reqs->prev = r;
  sig->reqs = r;
  return r;
}

static void req_free(load_sig_t *sig, req_t *r) {
  curl_multi_remove_handle(sig->multi, r->easy);
  curl_easy_cleanup(r->easy);
  curl_slist_free_all(r->hdrs);
  free(r->payload);
  free(r->body.data);
  r->ss->inflight--;
  sig->inflight--;
  if (r->prev) r->prev->next = r->next;
  else sig->reqs = r->next;
  if (r->next) r->next->prev = r->prev;
  free(r);
}

/* --- session progress -------------------------------------------------------- */

enum { STEP_NEW = 0, STEP_SIGNALING, STEP_UP, STEP_DONE };

static void maybe_closed(load_sig_t *sig, load_sig_session_t *ss, void *user) {
  if (!ss->closing || ss->inflight > 0 || ss->step == STEP_DONE) return;
  ss->step = STEP_DONE;
  free(ss->offer);
  ss->offer = NULL;
  sig->hooks.closed(user);
}

static void fail(load_sig_t *sig, load_sig_session_t *ss, void *user, const char *why) {
  if (ss->closing || ss->answered) return; /* nobody is waiting for an answer */
  ss->answered = true; /* the session has its outcome */
  sig->hooks.failed(user, why);
}

__attribute__((format(printf, 4, 5))) static void failf(load_sig_t *sig, load_sig_session_t *ss,
                                                        void *user, const char *fmt, ...) {
  char why[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  fail(sig, ss, user, why);
}

static void answer(load_sig_t *sig, load_sig_session_t *ss, void *user, const char *sdp,
                   size_t len) {
  if (ss->closing || ss->answered) return;
  ss->answered = true;
  ss->answer_at = vg_bench_now();
  ss->step = STEP_UP;
  sig->hooks.answer(user, sdp, len);
}

static char *json_dump(json_t *j, size_t *len) {
  char *s = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  *len = s ? strlen(s) : 0;
  return s;
}

static bool janus_post(load_sig_t *sig, load_sig_session_t *ss, void *user, req_kind_t kind,
                       json_t *msg) {
  char url[600];
  if (kind == REQ_JANUS_CREATE)
    snprintf(url, sizeof url, "%s", sig->url);
  else if (kind == REQ_JANUS_MESSAGE)
    snprintf(url, sizeof url, "%s/%llu/%llu", sig->url, (unsigned long long)ss->janus_session,
             (unsigned long long)ss->janus_handle);
  else
    snprintf(url, sizeof url, "%s/%llu", sig->url, (unsigned long long)ss->janus_session);
  json_object_set_new(msg, "transaction", json_string("vgload"));
  size_t len;
  char *body = json_dump(msg, &len);
  if (!body) return false;
  if (kind == REQ_JANUS_MESSAGE) ss->offer_at = vg_bench_now();
  return start(sig, ss, user, kind, "POST", url, "application/json", body, len,
               REQ_TIMEOUT_MS) != NULL;
}

static bool janus_poll(load_sig_t *sig, load_sig_session_t *ss, void *user) {
  char url[600];
  snprintf(url, sizeof url, "%s/%llu?maxev=1", sig->url, (unsigned long long)ss->janus_session);
  req_t *r = start(sig, ss, user, REQ_JANUS_POLL, "GET", url, NULL, NULL, 0, POLL_TIMEOUT_MS);
  ss->poll = r;
  return r != NULL;
}

/* Looks through one Janus event (or an array of them) for the answer. */
static const char *janus_find_answer(json_t *j) {
  if (json_is_array(j)) {
    for (size_t i = 0; i < json_array_size(j); i++) {
      const char *s = janus_find_answer(json_array_get(j, i));
      if (s) return s;
    }
    return NULL;
  }
  json_t *jsep = json_object_get(j, "jsep");
  const char *type = json_string_value(json_object_get(jsep, "type"));
  if (!type || strcmp(type, "answer") != 0) return NULL;
  return json_string_value(json_object_get(jsep, "sdp"));
}

/* A Janus reply: "success" with data.id for create/attach, "ack" for a
 * message or keepalive, events for a poll, "error" with a reason. */
static void on_janus(load_sig_t *sig, req_t *r, json_t *j) {
  load_sig_session_t *ss = r->ss;
  const char *kind = json_string_value(json_object_get(j, "janus"));
  if (kind && strcmp(kind, "error") == 0) {
    const char *reason = json_string_value(json_object_get(json_object_get(j, "error"), "reason"));
    failf(sig, ss, r->user, "Janus refused: %s", reason ? reason : "?");
    return;
  }
  switch (r->kind) {
  case REQ_JANUS_CREATE:
  case REQ_JANUS_ATTACH: {
    json_int_t id = json_integer_value(json_object_get(json_object_get(j, "data"), "id"));
    if (id <= 0) {
      fail(sig, ss, r->user,
           r->kind == REQ_JANUS_CREATE ? "Janus create: no id" : "Janus attach: no id");;
      return;
    }
    if (r->kind == REQ_JANUS_CREATE) {
      ss->janus_session = (uint64_t)id;
      ss->next_keepalive = vg_bench_now() + LOAD_JANUS_KEEPALIVE;
      if (ss->closing) return; /* closed meanwhile: only destroy it */
      json_t *m = json_pack("{s:s,s:s}", "janus", "attach", "plugin", JANUS_ECHOTEST);
      if (!janus_post(sig, ss, r->user, REQ_JANUS_ATTACH, m))
        fail(sig, ss, r->user, "Janus attach: request failed");
    } else {
      ss->janus_handle = (uint64_t)id;
      if (ss->closing) return;
      /* trickle false: the offer carries every candidate we have. */
      json_t *m = json_pack("{s:s,s:{s:b,s:b},s:{s:s,s:s%,s:b}}", "janus", "message", "body",
                            "audio", 1, "video", 0, "jsep", "type", "offer", "sdp", ss->offer,
                            ss->offer_len, "trickle", 0);
      free(ss->offer);
      ss->offer = NULL;
      if (!janus_post(sig, ss, r->user, REQ_JANUS_MESSAGE, m) || !janus_poll(sig, ss, r->user))
        fail(sig, ss, r->user, "Janus message: request failed");
    }
    return;
  }
  case REQ_JANUS_POLL: {
    const char *sdp = janus_find_answer(j);
    if (sdp) {
      answer(sig, ss, r->user, sdp, strlen(sdp));
    } else if (!ss->answered && !ss->closing && !janus_poll(sig, ss, r->user)) {
      fail(sig, ss, r->user, "Janus poll: request failed");
    }
    return;
  }
  default: /* message ack, keepalive, destroy */
    return;
  }
}

/* aiortc: POST {base}/close {"pc": id}, base being the offer URL's
 * directory (http://IP:PORT/offer -> http://IP:PORT/close). */
static void aiortc_close(load_sig_t *sig, load_sig_session_t *ss, void *user) {
  char url[600];
  const char *slash = strrchr(sig->url, '/');
  int base = slash && slash > sig->url + 8 ? (int)(slash - sig->url) : (int)strlen(sig->url);
  snprintf(url, sizeof url, "%.*s/close", base, sig->url);
  json_t *j = json_pack("{s:s}", "pc", ss->url);
  size_t len;
  char *body = j ? json_dump(j, &len) : NULL;
  if (body) start(sig, ss, user, REQ_AIORTC_CLOSE, "POST", url, "application/json", body, len,
                  REQ_TIMEOUT_MS);
}

static void on_done(load_sig_t *sig, req_t *r, CURLcode rc) {
  load_sig_session_t *ss = r->ss;
  void *user = r->user;
  if (r->kind == REQ_JANUS_POLL && ss->poll == r) ss->poll = NULL;
  long code = 0;
  curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
  const char *body = r->body.data ? r->body.data : "";
  if (rc != CURLE_OK) {
    failf(sig, ss, user, "HTTP: %s", r->err[0] ? r->err : curl_easy_strerror(rc));
  } else if (r->kind == REQ_WHIP_POST) {
    struct curl_header *loc = NULL;
    if (code == 201 &&
        curl_easy_header(r->easy, "Location", 0, CURLH_HEADER, -1, &loc) == CURLHE_OK && loc) {
      if (strncmp(loc->value, "http://", 7) == 0 || strncmp(loc->value, "https://", 8) == 0)
        snprintf(ss->url, sizeof ss->url, "%s", loc->value);
      else
        snprintf(ss->url, sizeof ss->url, "%s%s", sig->url, loc->value);
    }
    if (code != 201) {
      failf(sig, ss, user, "POST returned %ld: %.100s", code, body);
    } else if (!ss->url[0]) {
      fail(sig, ss, user, "201 without a Location header");
    } else {
      answer(sig, ss, user, body, r->body.len);
    }
    /* A session that was closed while its POST was in flight still has
     * to be deleted on the server. */
    if (ss->closing && ss->url[0]) {
      start(sig, ss, user, REQ_WHIP_DELETE, "DELETE", ss->url, NULL, NULL, 0, REQ_TIMEOUT_MS);
    }
  } else if (r->kind == REQ_AIORTC_OFFER) {
    json_t *j = code == 200 ? json_loads(body, 0, NULL) : NULL;
    const char *sdp = json_string_value(json_object_get(j, "sdp"));
    /* The peer connection's id, for POST /close. */
    const char *pc = json_string_value(json_object_get(j, "pc"));
    if (pc) snprintf(ss->url, sizeof ss->url, "%s", pc);
    if (ss->closing && pc) aiortc_close(sig, ss, user);
    if (sdp) {
      answer(sig, ss, user, sdp, strlen(sdp));
    } else {
      failf(sig, ss, user, "POST returned %ld without an answer: %.100s", code, body);
    }
    json_decref(j);
  } else if (r->kind == REQ_WHIP_DELETE || r->kind == REQ_AIORTC_CLOSE) {
    /* 200, or 404 when the server ended it first: either way it is gone. */
  } else {
    json_t *j = code == 200 ? json_loads(body, 0, NULL) : NULL;
    if (!j) {
      failf(sig, ss, user, "Janus returned %ld: %.100s", code, body);
    } else {
      on_janus(sig, r, j);
      /* Closed while create was in flight: destroy what was created. */
      if (ss->closing && r->kind == REQ_JANUS_CREATE && ss->janus_session)
        janus_post(sig, ss, user, REQ_JANUS_DESTROY, json_pack("{s:s}", "janus", "destroy"));
    }
    json_decref(j);
  }
  req_free(sig, r);
  maybe_closed(sig, ss, user);
}

static void drain_done(load_sig_t *sig) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(sig->multi, &left))) {
    if (m->msg != CURLMSG_DONE) continue;
    req_t *r = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
    CURLcode rc = m->data.result;
    if (r) on_done(sig, r, rc); /* may add handles; info_read stays valid */
  }
}

/* --- public ------------------------------------------------------------------ */

load_sig_t *load_sig_create(load_target_t target, const char *url, const char *token, int epfd,
                            uint64_t tag, int max_conns, const load_sig_hooks_t *hooks) {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return NULL;
  load_sig_t *sig = calloc(1, sizeof *sig);
  if (!sig) return NULL;
  sig->target = target;
  snprintf(sig->url, sizeof sig->url, "%s", url);
  size_t n = strlen(sig->url);
  while (n > 0 && sig->url[n - 1] == '/') sig->url[--n] = '\0';
  sig->token = token;
  sig->epfd = epfd;
  sig->tag = tag;
  sig->hooks = *hooks;
  sig->deadline = VG_TIME_NEVER;
  if (!(sig->multi = curl_multi_init())) {
    free(sig);
    return NULL;
  }
  curl_multi_setopt(sig->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(sig->multi, CURLMOPT_SOCKETDATA, sig);
  curl_multi_setopt(sig->multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(sig->multi, CURLMOPT_TIMERDATA, sig);
  curl_multi_setopt(sig->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)max_conns);
  curl_multi_setopt(sig->multi, CURLMOPT_MAXCONNECTS, (long)max_conns);
  return sig;
}

void load_sig_destroy(load_sig_t *sig) {
  if (!sig) return;
  while (sig->reqs) req_free(sig, sig->reqs);
  curl_multi_cleanup(sig->multi);
  free(sig);
  curl_global_cleanup();
}

int load_sig_open(load_sig_t *sig, load_sig_session_t *ss, void *user, const char *offer,
                  size_t len) {
  memset(ss, 0, sizeof *ss);
  ss->answer_at = -1;
  ss->step = STEP_SIGNALING;
  char url[600];
  switch (sig->target) {
  case LOAD_TARGET_WHIP: {
    char *body = malloc(len + 1);
    if (!body) return -1;
    memcpy(body, offer, len);
    body[len] = '\0';
    snprintf(url, sizeof url, "%s/whip?mode=echo", sig->url);
    ss->offer_at = vg_bench_now();
    return start(sig, ss, user, REQ_WHIP_POST, "POST", url, "application/sdp", body, len,
                 REQ_TIMEOUT_MS)
               ? 0
               : -1;
  }
  case LOAD_TARGET_AIORTC: {
    json_t *j = json_pack("{s:s%,s:s}", "sdp", offer, len, "type", "offer");
    size_t blen;
    char *body = j ? json_dump(j, &blen) : NULL;
    if (!body) return -1;
    ss->offer_at = vg_bench_now();
    return start(sig, ss, user, REQ_AIORTC_OFFER, "POST", sig->url, "application/json", body,
                 blen, REQ_TIMEOUT_MS)
               ? 0
               : -1;
  }
  case LOAD_TARGET_JANUS:
    ss->offer = malloc(len + 1);
    if (!ss->offer) return -1;
    memcpy(ss->offer, offer, len);
    ss->offer[len] = '\0';
    ss->offer_len = len;
    ss->offer_at = vg_bench_now();
    return janus_post(sig, ss, user, REQ_JANUS_CREATE, json_pack("{s:s}", "janus", "create"))
               ? 0
               : -1;
  }
  return -1;
}

void load_sig_close(load_sig_t *sig, load_sig_session_t *ss, void *user) {
  if (ss->closing) return;
  ss->closing = true;
  if (ss->step == STEP_NEW) {
    ss->step = STEP_DONE;
    sig->hooks.closed(user);
    return;
  }
  if (sig->target == LOAD_TARGET_WHIP && ss->url[0]) {
    start(sig, ss, user, REQ_WHIP_DELETE, "DELETE", ss->url, NULL, NULL, 0, REQ_TIMEOUT_MS);
  } else if (sig->target == LOAD_TARGET_AIORTC && ss->url[0]) {
    aiortc_close(sig, ss, user);
  } else if (sig->target == LOAD_TARGET_JANUS && ss->janus_session) {
    if (ss->poll) req_free(sig, ss->poll); /* no answer is awaited any more */
    ss->poll = NULL;
    janus_post(sig, ss, user, REQ_JANUS_DESTROY, json_pack("{s:s}", "janus", "destroy"));
  }
  /* WHIP POST or Janus create still in flight: on_done finishes the job. */
  maybe_closed(sig, ss, user);
}

void load_sig_poll(load_sig_t *sig, load_sig_session_t *ss, void *user, vg_time_t now) {
  if (sig->target != LOAD_TARGET_JANUS || ss->closing || !ss->janus_session ||
      now < ss->next_keepalive)
    return;
  ss->next_keepalive = now + LOAD_JANUS_KEEPALIVE;
  janus_post(sig, ss, user, REQ_JANUS_KEEPALIVE, json_pack("{s:s}", "janus", "keepalive"));
}

void load_sig_on_fd(load_sig_t *sig, int fd, uint32_t events) {
  int flags = (events & EPOLLIN ? CURL_CSELECT_IN : 0) | (events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
              (events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
  int running;
  curl_multi_socket_action(sig->multi, fd, flags, &running);
  drain_done(sig);
}

vg_time_t load_sig_deadline(const load_sig_t *sig) { return sig->deadline; }

void load_sig_on_timeout(load_sig_t *sig) {
  int running;
  sig->deadline = VG_TIME_NEVER;
  curl_multi_socket_action(sig->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  drain_done(sig);
}

int load_sig_inflight(const load_sig_t *sig) { return sig->inflight; }
