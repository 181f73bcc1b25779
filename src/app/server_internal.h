/* Shared between server.c (sessions, sockets, timers) and api.c (HTTP). */
#ifndef VG_APP_SERVER_INTERNAL_H
#define VG_APP_SERVER_INTERNAL_H

#include <jansson.h>

#include "app/server.h"
#include "app/transcribe.h"
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

/* A WebSocket audio connection (app/wsaudio.c). */
typedef struct vg_wsaudio vg_wsaudio_t;

/* How long a finished transcribe session waits for its last results. */
#define VG_SESSION_FINISH_TIMEOUT_MS 5000

typedef struct vg_session {
  struct vg_server *srv;     /* borrowed */
  char id[VG_SESSION_ID_LEN + 1];
  vg_mode_t mode;
  vg_rtc_t *rtc;             /* owned */
  uv_timer_t timer;          /* the session struct is freed in its close callback */
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
  /* A WebSocket session (/ws/audio, /ws/asr) instead of WebRTC: rtc is NULL,
   * `remote` is the client's TCP address, the counters are kept here. */
  vg_wsaudio_t *wsa;         /* owned; NULL for WebRTC sessions */
  struct {
    uint64_t packets_in, packets_out, bytes_in, bytes_out;
  } ws;
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
/* Creates a WebSocket session (no WebRTC) owning `wsa` from now on, for a
 * client at `peer`. pcm_rate: transcribe mode only, 0 for Opus packets,
 * else the PCM16 rate. VG_ELIMIT when --max-sessions is reached,
 * VG_EAGAIN when every recognizer is busy (`wsa` stays the caller's then);
 * other errors with a reason in why. */
int vg_server_session_create_ws(vg_server_t *srv, vg_mode_t mode, uint32_t pcm_rate,
                                vg_wsaudio_t *wsa, const vg_addr_t *peer, vg_session_t **out,
                                char *why, size_t why_cap);
/* Frees a session now (a WebSocket session's connection is closed with the
 * code and reason its wsaudio holds). */
void vg_server_session_destroy(vg_session_t *s);
/* The audio has ended: let the engine deliver the last results (then DONE),
 * within VG_SESSION_FINISH_TIMEOUT_MS; a session without a transcriber is
 * destroyed at once. */
void vg_server_session_finish(vg_session_t *s);
vg_session_t *vg_server_session_find(vg_server_t *srv, const char *id);
const char *vg_mode_name(vg_mode_t m);
/* Ends a session now (BYE and close_notify go out first); `why` (static)
 * is the reason its event stream reports. */
void vg_server_session_end(vg_session_t *s, const char *why);

/* The JSON event of /whip/<id>/events (and /ws/audio) for a transcriber
 * event: {"type":"partial"|"final"|"error"|"lag"|"done", ...}. New
 * reference, NULL for kinds that have none (MARK) or without memory. */
json_t *vg_transcribe_event_json(const vg_transcribe_event_t *ev);
/* Sends one JSON event to the session's event-stream clients (steals `ev`). */
void vg_session_emit(vg_session_t *s, json_t *ev);
/* Adds an event-stream client slot; NULL when all are taken. */
vg_tcp_conn_t **vg_session_subscriber_slot(vg_session_t *s);
extern const vg_ws_handler_t vg_session_ws_handler_proto;

/* wsaudio.c: the handlers of GET /ws/audio and /ws/asr (after the token
 * and handshake checks: they fill reply's WebSocket fields or an error). */
void vg_wsaudio_accept(vg_server_t *srv, bool vosk, const vg_addr_t *peer, const char *accept,
                       vg_http_reply_t *reply);
/* The session is being destroyed: close its connection with the code and
 * reason recorded (1000 "the session ended" when none) and free `wsa`. */
void vg_wsaudio_release(vg_wsaudio_t *wsa);
/* The server ends the session (shutdown, DELETE): records the close code
 * and reason and tells the client. The caller then destroys the session. */
void vg_wsaudio_ending(vg_wsaudio_t *wsa, uint16_t code, const char *why);
/* A transcriber event for a WebSocket session. Returns 1 when the session
 * is gone (as on_event). */
int vg_wsaudio_on_transcript(vg_session_t *s, const vg_transcribe_event_t *ev);

/* The HTTP handler (api.c). */
void vg_api_handle(void *ud, const vg_http_request_t *req, const vg_addr_t *local,
                   const vg_addr_t *peer, vg_http_reply_t *reply);

#endif
