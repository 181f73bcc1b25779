/* Signaling for the load generator: many sessions' offer/answer exchanges
 * at once on one libcurl multi handle driven by the caller's epoll loop.
 *
 * Three adapters, so the same load runs against each server:
 *
 *   whip    voxgate     POST {url}/whip?mode=echo (application/sdp)
 *                         -> 201 answer + Location;  end: DELETE Location
 *   janus   Janus       POST {url} {"janus":"create"}          -> session
 *           echotest    POST {url}/S {"janus":"attach",...}    -> handle
 *                       POST {url}/S/H {"janus":"message","body":{...},
 *                                       "jsep":{offer}}        -> ack
 *                       GET  {url}/S?maxev=1 (long poll)       -> event + jsep answer
 *                       keepalive every 25 s; end: POST {url}/S {"janus":"destroy"}
 *   aiortc  aiortc      POST {url} {"sdp","type":"offer"}  -> {"sdp","type":"answer","pc"}
 *           examples    end: POST {url's directory}/close {"pc"} (bench/aiortc_echo_server.py;
 *                       without "pc" in the answer, only our DTLS close_notify ends it)
 *
 * The session's connect clock starts at the POST carrying the offer.
 *
 * This is bench code: it owns sockets (through libcurl) and reads the
 * clock. Completions are reported through the callbacks in
 * load_sig_hooks_t, from inside load_sig_on_fd / load_sig_on_timeout. */
#ifndef VG_BENCH_LOAD_SIGNAL_H
#define VG_BENCH_LOAD_SIGNAL_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/time.h"

typedef enum { LOAD_TARGET_WHIP = 0, LOAD_TARGET_JANUS, LOAD_TARGET_AIORTC } load_target_t;

/* Janus drops a session after 60 s without a request (session_timeout);
 * a keepalive every 25 s is what janus.js sends. */
#define LOAD_JANUS_KEEPALIVE VG_SEC(25)

/* One session's signaling state (embedded in the caller's session). */
typedef struct {
  int step;            /* adapter-private progress */
  int inflight;        /* requests not yet completed */
  bool closing;        /* load_sig_close was called */
  bool answered;       /* the answer was handed over */
  vg_time_t offer_at;  /* just before the POST carrying the offer */
  vg_time_t answer_at; /* when the answer arrived; -1 before */
  vg_time_t next_keepalive;
  uint64_t janus_session, janus_handle;
  char url[1024]; /* WHIP: the session's absolute URL (Location); aiortc: "pc" */
  char *offer;   /* owned while the offer waits to be sent (Janus), else NULL */
  size_t offer_len;
  void *poll; /* borrowed: the Janus long poll in flight, else NULL */
} load_sig_session_t;

/* What the caller is told. `user` is what it passed with the session. */
typedef struct {
  /* The answer SDP (borrowed for the call). */
  void (*answer)(void *user, const char *sdp, size_t len);
  /* Signaling failed; `why` is one line (borrowed for the call). */
  void (*failed)(void *user, const char *why);
  /* load_sig_close finished: nothing of the session is left in flight. */
  void (*closed)(void *user);
} load_sig_hooks_t;

typedef struct load_sig load_sig_t;

/* Creates the signaling engine for `target` at `url` (see the table
 * above), registering libcurl's sockets with `epfd` tagged by `tag` (the
 * epoll data's top byte; the low 32 bits hold the fd). `token` is
 * nullable (WHIP bearer). `max_conns` bounds the HTTP connections.
 * Returns NULL with a message on stderr. */
load_sig_t *load_sig_create(load_target_t target, const char *url, const char *token, int epfd,
                            uint64_t tag, int max_conns, const load_sig_hooks_t *hooks);
void load_sig_destroy(load_sig_t *sig);

/* Starts the session: `offer` is copied. The answer or a failure arrives
 * through the hooks. Returns 0, or -1 when the request cannot be made. */
int load_sig_open(load_sig_t *sig, load_sig_session_t *ss, void *user, const char *offer,
                  size_t len);

/* Ends the session on the server (DELETE, destroy, or nothing); `closed`
 * is called once nothing of it is in flight (possibly at once). */
void load_sig_close(load_sig_t *sig, load_sig_session_t *ss, void *user);

/* Janus keepalives: call now and then (each session's media tick). */
void load_sig_poll(load_sig_t *sig, load_sig_session_t *ss, void *user, vg_time_t now);

/* Event-loop glue: epoll reported `events` on a fd tagged with our tag. */
void load_sig_on_fd(load_sig_t *sig, int fd, uint32_t events);
/* The deadline libcurl asked for (VG_TIME_NEVER when none), and the call
 * to make when it passes. */
vg_time_t load_sig_deadline(const load_sig_t *sig);
void load_sig_on_timeout(load_sig_t *sig);
/* Requests in flight across all sessions. */
int load_sig_inflight(const load_sig_t *sig);

#endif
