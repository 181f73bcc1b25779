/* A session's speech recognition, off the network thread.
 *
 *   loop thread                   worker (one slice at a time)        loop thread
 *   RTP Opus ─► push ─► queue ──► opus_rx (16 kHz, PLC, reorder) ──►  on_event(partial/final)
 *                       (bounded)  └► engine feed ─► poll results ──►  (via uv_async)
 *   PCM16 ──► push_pcm ─► queue ─► libsoxr (to 16 kHz unless it is) ─► engine feed
 *
 * A transcriber takes one kind of input, chosen at create: Opus packets
 * with RTP sequence numbers and 48 kHz timestamps (WebRTC, or synthesized
 * for Opus over a WebSocket), or PCM16 at a fixed rate.
 *
 * The queue holds up to VG_TRANSCRIBE_QUEUE_BYTES of Opus (about 20 s of
 * speech), or VG_TRANSCRIBE_QUEUE_S of PCM at its rate: an engine slower than real time lags, then catches up. Beyond
 * that, packets are dropped; the loss is counted and reported once per
 * episode as a LAG event (the client shows it), never silent.
 *
 * Each final carries its latency: from the arrival of the packet holding
 * the utterance's last audio to the moment the engine produced the final. */
#ifndef VG_APP_TRANSCRIBE_H
#define VG_APP_TRANSCRIBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "asr/engine.h"
#include "base/err.h"
#include "base/time.h"
#include "io/workers.h"

#define VG_TRANSCRIBE_QUEUE_BYTES (256 * 1024)
/* PCM input: the queue holds this many seconds at its rate (1.9 MB at 48 kHz). */
#define VG_TRANSCRIBE_QUEUE_S 20

typedef enum {
  VG_TRANSCRIBE_PARTIAL = 1,
  VG_TRANSCRIBE_FINAL,
  VG_TRANSCRIBE_ERROR, /* the engine failed for this session: no more results */
  VG_TRANSCRIBE_LAG,   /* the engine fell behind: audio was dropped */
  VG_TRANSCRIBE_DONE,  /* after vg_transcriber_finish: everything was delivered */
  VG_TRANSCRIBE_MARK,  /* PCM pushed with `mark` has been fed to the engine, and
                          every result it caused came before this event */
} vg_transcribe_kind_t;

typedef struct {
  vg_transcribe_kind_t kind;
  const char *text;     /* borrowed for the callback; ERROR/LAG: the reason */
  double start, end;    /* seconds of session audio */
  double latency_ms;    /* FINAL: end of speech to the result; else 0 */
  double dropped_s;     /* LAG: audio dropped so far in this session */
  const vg_asr_word_t *words; /* FINAL: the words with their times, when the
                                 engine gives them; borrowed for the callback */
  size_t n_words;
} vg_transcribe_event_t;

typedef struct {
  uint64_t packets_in, packets_dropped;
  double audio_s;        /* decoded audio fed to the engine */
  double queued_s;       /* waiting in the queue now (an estimate) */
  double dropped_s;      /* lost because the engine fell behind */
  uint64_t concealed_frames;
  uint64_t finals;
} vg_transcribe_stats_t;

typedef struct vg_transcriber vg_transcriber_t;

typedef struct {
  vg_workers_t *workers;   /* borrowed */
  vg_asr_engine_t *engine; /* borrowed */
  const char *sid;         /* copied */
  uint32_t pcm_rate;       /* 0: Opus packets (push); else PCM16 mono at this
                              rate, 8000..48000 (push_pcm) */
  /* Loop thread. Returns non-zero when it destroyed the transcriber (no
   * more events of this batch are delivered then). */
  int (*on_event)(void *ud, const vg_transcribe_event_t *ev);
  void *ud;
} vg_transcriber_config_t;

/* Takes a decoder from the engine. VG_ELIMIT when every decoder is busy;
 * other errors with a reason in err. Loop thread. */
int vg_transcriber_create(const vg_transcriber_config_t *cfg, vg_transcriber_t **out, char *err,
                          size_t err_cap) VG_MUST_USE;
/* One received Opus packet (RTP seq and 48 kHz timestamp). Loop thread;
 * never blocks on the engine. */
void vg_transcriber_push(vg_transcriber_t *t, vg_time_t now, uint16_t seq, uint32_t rtp_ts,
                         const uint8_t *payload, size_t len);
/* PCM16 little-endian mono at the configured rate (len even; any length,
 * also 0). With `mark`, a MARK event follows once this audio has been fed
 * to the engine (after the results it caused). Loop thread; never blocks.
 * Returns VG_OK, VG_ELIMIT when the queue is full (the audio is dropped,
 * counted and reported as LAG; no MARK will come), VG_ESTATE after finish
 * or failure, VG_EINVAL for an odd length or an Opus transcriber. */
int vg_transcriber_push_pcm(vg_transcriber_t *t, vg_time_t now, const uint8_t *le16, size_t len,
                            bool mark) VG_MUST_USE;
/* The audio has ended: decode what is queued, end the utterance, deliver
 * the last results, then a DONE event. Loop thread. */
void vg_transcriber_finish(vg_transcriber_t *t);
void vg_transcriber_get_stats(vg_transcriber_t *t, vg_transcribe_stats_t *out);
/* Stops at once (a slice in progress completes first). No more events.
 * Loop thread. */
void vg_transcriber_destroy(vg_transcriber_t *t);

#endif
