/* Shared between server.c (sessions, sockets, timers) and api.c (HTTP). */
#ifndef VG_APP_SERVER_INTERNAL_H
#define VG_APP_SERVER_INTERNAL_H

#include <jansson.h>

#include "app/server.h"
#include "app/transcribe.h"
#include "base/map.h"
#include "base/time.h"
#include "core/peer_table.h"
#include "core/rtc.h"
#include "io/tcp.h"
#include "io/udp.h"

#define VG_SESSION_ID_LEN 16
/* Event-stream clients per session (a page, a second tab, a tool). */
#define VG_SESSION_MAX_SUBSCRIBERS 8

typedef enum {
  VG_MODE_ECHO = 0,
  VG_MODE_TRANSCRIBE,
} vg_mode_t;

/* One recognised utterance, kept for GET /whip/<id>/transcript. */
typedef struct {
  char *text; /* owned */
  double start, end, latency_ms;
} vg_final_t;

/* How long a finished transcribe session waits for its last results. */
#define VG_SESSION_FINISH_TIMEOUT_MS 5000

typedef struct vg_session {
  struct vg_server *srv;     /* borrowed */
  char id[VG_SESSION_ID_LEN + 1];
  vg_mode_t mode;
  vg_rtc_t *rtc;             /* owned */
  uv_timer_t timer;          /* the session struct is freed in its close callback */
  vg_time_t timer_due;       /* the deadline `timer` is armed for; VG_TIME_NEVER when idle */
  vg_time_t created_at;
  const char *state;         /* static: "new", "ice-connected", "connected", "closed" */
  bool has_remote;
  vg_addr_t remote;          /* ICE's selected address */
  bool closed;
  const char *end_reason;    /* static; why the server ended it, NULL otherwise */
  bool in_service;           /* guards against destroying while servicing */
  vg_tcp_conn_t *subs[VG_SESSION_MAX_SUBSCRIBERS]; /* borrowed: event WebSockets */
  /* transcribe mode */
  vg_transcriber_t *tr;      /* owned; NULL in echo mode */
  vg_final_t *finals;        /* owned array: the whole transcript, never trimmed */
  size_t n_finals, cap_finals;
  char *partial;             /* owned; the current hypothesis, NULL when none */
  bool finishing;            /* media ended; waiting for the last results */
  struct vg_session *prev, *next;
} vg_session_t;

struct vg_server {
  uv_loop_t *loop;           /* borrowed */
  vg_config_t cfg;
  vg_dtls_cert_t *cert;      /* owned; shared by every session */
  vg_tls_ctx_t *tls;         /* owned; HTTPS on the shared TCP port */
  vg_workers_t *workers;     /* owned; recognition threads */
  vg_asr_engine_t *asr;      /* owned; loaded before the port opens */
  vg_peer_table_t *peers;    /* owned */
  vg_udp_t *udp;             /* owned (closed through libuv) */
  vg_tcp_t *tcp;             /* owned (closed through libuv) */
  vg_session_t *sessions;    /* list */
  vg_map_t by_id;            /* session id -> session (borrowed): WHIP's /whip/<id> */
  size_t n_sessions;
  uint64_t sessions_total;   /* since start */
  vg_time_t started_at;
  bool shutting_down;
};

vg_time_t vg_server_now(void);

/* Creates a session from a WHIP offer; on success writes the answer into
 * `answer` and returns its length and *out; else a negative code with a
 * one-line reason copied into why[0..why_cap). */
int vg_server_session_create(vg_server_t *srv, vg_mode_t mode, const char *offer, size_t len,
                             const vg_addr_t *http_local, char *answer, size_t cap,
                             vg_session_t **out, char *why, size_t why_cap);
vg_session_t *vg_server_session_find(vg_server_t *srv, const char *id);
const char *vg_mode_name(vg_mode_t m);
/* Ends a session now (BYE and close_notify go out first); `why` (static)
 * is the reason its event stream reports. */
void vg_server_session_end(vg_session_t *s, const char *why);

/* Sends one JSON event to the session's event-stream clients (steals `ev`). */
void vg_session_emit(vg_session_t *s, json_t *ev);
/* Adds an event-stream client slot; NULL when all are taken. */
vg_tcp_conn_t **vg_session_subscriber_slot(vg_session_t *s);
extern const vg_ws_handler_t vg_session_ws_handler_proto;

/* The HTTP handler (api.c). */
void vg_api_handle(void *ud, const vg_http_request_t *req, const vg_addr_t *local,
                   const vg_addr_t *peer, vg_http_reply_t *reply);

#endif
