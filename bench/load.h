/* voxgate_load's shared types: the run, its sessions and its counters.
 *
 * One thread: an epoll set holds every session's socket (UDP, or the
 * ICE-TCP connection), libcurl's sockets and one periodic timerfd. The
 * 20 ms packet interval is cut into LOAD_SLOTS slots; a session belongs to
 * slot (index % LOAD_SLOTS), and each slot's timer tick sends that slot's
 * packets and runs its sessions' protocol timers. So the server sees the
 * sessions' packets spread over the interval, as from independent
 * clients, while the generator wakes only LOAD_SLOTS times per 20 ms.
 *
 * A session's socket is watched for every datagram (epoll wakes the loop)
 * until its first echo, so connect times are not delayed; then it moves to
 * a second epoll set that each slot tick drains without waiting, batching
 * the input of ~N/LOAD_SLOTS sessions per wake-up. Round trips use the
 * kernel's receive timestamps (SO_TIMESTAMPNS), so the batching does not
 * show in them. */
#ifndef VG_BENCH_LOAD_H
#define VG_BENCH_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/time.h"
#include "core/dtls.h"
#include "core/rtc.h"
#include "load_signal.h"
#include "sig/rfc4571.h"

#define LOAD_FRAME_INTERVAL VG_MSEC(20)
#define LOAD_FRAME_TS 960 /* 20 ms at Opus's 48 kHz RTP clock (RFC 7587 §4.1) */
#define LOAD_SLOTS 10
/* Frames remembered per session: 64 x 20 ms = 1.28 s covers the 1 s after
 * which a frame without its echo counts as lost. */
#define LOAD_RING 64
#define LOAD_LOSS_HORIZON VG_SEC(1)
/* RTT histogram: 10 us bins up to the 1 s loss horizon. */
#define LOAD_HIST_BIN_US 10
#define LOAD_HIST_BINS 100000
/* A rebasing echo sends its own RTP timestamps: ours plus an unknown
 * constant (Janus's RTP switching context rewrites them; aiortc decodes,
 * re-encodes and adds a random origin). Frame LOAD_TS_MARK and
 * every later one carry a timestamp LOAD_TS_JUMP higher than the plain
 * sequence; the first echo after that jump is frame LOAD_TS_MARK, which
 * gives the origin, and from then on echoes are matched exactly. */
#define LOAD_TS_MARK 25
#define LOAD_TS_JUMP (48000u * 100u)

typedef enum { PHASE_RAMP = 0, PHASE_HOLD = 1, PHASE_COUNT } load_phase_t;

typedef struct {
  uint64_t sent, received, lost, reordered, duplicates, late, unmatched;
  uint64_t altered; /* echoes whose payload differs from what was sent (not aiortc) */
  uint32_t *rtt; /* owned: LOAD_HIST_BINS counts of round trips (+1 overflow) */
} load_counts_t;

typedef struct {
  int64_t sent_rt; /* CLOCK_REALTIME us at send (kernel receive stamps use it); 0 = none */
  uint32_t ts;
  bool echoed;
  bool counted; /* part of the loss figures */
  uint8_t phase;
} load_sent_t;

typedef enum {
  SS_FREE = 0,   /* no session in this place */
  SS_SIGNALING,  /* offer posted, waiting for the answer */
  SS_CONNECTING, /* ICE and DTLS */
  SS_MEDIA,      /* sending frames (or idle: connected, no frames) */
  SS_DRAINING,   /* done sending, waiting for the last echoes */
  SS_CLOSING,    /* waiting for the signaling to finish */
} load_state_t;

typedef struct {
  uint8_t out[8192]; /* frames not yet written (connecting, or a full socket) */
  size_t out_len;
  bool connected;
  vg_addr_t remote; /* the server's passive candidate */
  vg_rfc4571_t deframer;
} load_tcp_t;

struct load_run;

typedef struct {
  struct load_run *run; /* borrowed */
  int idx;
  load_state_t state;
  vg_rtc_t *rtc;  /* owned */
  int fd;         /* owned: UDP socket or TCP connection; -1 */
  load_tcp_t *tcp; /* owned in TCP mode */
  bool udp_connected; /* the UDP socket is connect()ed to the selected address */
  bool batched;       /* connected: its socket is in the batch epoll set */
  vg_addr_t selected;
  load_sig_session_t sig;

  vg_time_t opened_at, dtls_at, first_echo_at; /* monotonic; 0 = not yet */
  vg_time_t timer;     /* the rtc's next deadline (cached) */
  vg_time_t drain_until;
  bool connected; /* counted as connected */
  bool failed;
  char why[160];

  uint32_t frames; /* frames sent */
  uint32_t ts0;    /* RTP timestamp of frame 0 */
  bool offset_known;
  uint32_t ts_offset; /* the echo's timestamp minus ours (transcoding echo) */
  uint32_t last_echo_ts;
  bool have_echo_ts;
  uint32_t hi_echo; /* 1 + the highest frame index echoed */
  uint32_t echoes;
  uint32_t unsettled; /* counted frames neither echoed nor lost yet */
  int64_t last_transit; /* RFC 3550 A.8 state, in us */
  bool have_transit;
  double jitter_us;
  load_sent_t ring[LOAD_RING];
} load_session_t;

typedef struct {
  const char *url, *token, *bind_ip, *json_path, *speech;
  load_target_t target;
  int sessions, ramp, hold_s, churn, connect_timeout_s;
  bool tcp, idle, rebased, verbose;
  long server_pid;
} load_opts_t;

/* The pre-encoded speech: packet k is pkt + off[k], len[k] bytes. */
typedef struct {
  uint8_t *data;
  uint32_t *off;
  uint16_t *len;
  size_t n;
} load_speech_t;

typedef struct load_run {
  load_opts_t opt;
  int epfd;       /* what the loop waits on: connecting sessions, HTTP, the timer */
  int epfd_batch; /* connected sessions' sockets, drained at every slot tick */
  vg_dtls_cert_t *cert; /* owned, shared by every session */
  load_sig_t *sig;      /* owned */
  load_speech_t speech;
  char local_ip[64]; /* our host candidate's address; "" = none */
  load_session_t *s; /* owned: opt.sessions places */

  bool sending;          /* sessions send frames */
  bool churn_mode;
  load_phase_t phase;
  load_counts_t counts[PHASE_COUNT];
  uint32_t *jitter_hist; /* owned: per-session jitter sampled each second (hold) */
  double *connect_ms;    /* owned: one per connected session */
  size_t n_connect, cap_connect;
  int opened, connected, failed, closed;
  int churn_frames; /* frames a churn session sends before it closes */
  uint64_t late_ticks;    /* timer wake-ups that found more than one slot due */
  uint64_t skipped_slots; /* slots not run: over one interval late */
} load_run_t;

/* load_media.c: one session's media. */
int load_session_open(load_run_t *run, load_session_t *s, int idx);
void load_session_readable(load_session_t *s, uint32_t events);
/* The slot tick: a frame when due, the rtc's timers, keepalives. */
void load_session_tick(load_session_t *s, vg_time_t now);
/* Stops sending; unechoed frames are settled after the loss horizon. */
void load_session_drain(load_session_t *s, vg_time_t now);
/* Handles every connected session's pending input (the slot tick). */
void load_sessions_drain_input(load_run_t *run);
/* Counts what is unsettled, ends the media and the signaling. */
void load_session_close(load_session_t *s);
/* The signaling hooks (user = the session). */
extern const load_sig_hooks_t load_session_hooks;

int64_t load_now_rt(void);

#endif
