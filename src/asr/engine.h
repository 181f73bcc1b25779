/* Speech recognition engines behind one small interface.
 *
 * An engine is created once at server start (PocketSphinx loads its model
 * and pre-creates its decoders there, so a user's Start never waits for a
 * model) and shared by every session. Each session creates one stream:
 *
 *   engine_create ──► stream_create(sid) ──► feed(pcm)* / poll()* ──►
 *                     end_utterance() ──► poll()* ──► stream_destroy()
 *
 * Audio is 16 kHz mono signed 16-bit PCM in host order. Every engine does
 * its own speech start/end detection: while speech goes on it reports
 * PARTIAL results, and exactly one FINAL per utterance, with the utterance's
 * start and end in stream time (samples fed / 16000). Nothing is dropped
 * however long a stream runs.
 *
 * Engines:
 *   "pocketsphinx"          embedded, Debian's en-us model (the default)
 *   "exec:COMMAND"          one child process per stream (`/bin/sh -c
 *                           COMMAND`): PCM on its stdin, JSON lines on its
 *                           stdout; see src/asr/exec.c for the protocol
 *   "ws://HOST:PORT/PATH"   one WebSocket per stream, Vosk server protocol
 *
 * Threads: the engine object is shared; stream_create/stream_destroy may be
 * called from any thread concurrently. A stream is used by one thread at a
 * time; different streams may run on different threads at the same time.
 *
 * Blocking: feed, poll and end_utterance may take engine time (decoding,
 * pipe or socket IO) but never block forever: every wait has a timeout.
 * pocketsphinx decodes inside feed (about 0.1-0.2 s of CPU per second of
 * speech; an utterance's end costs ~0.1 s more). exec and ws buffer up to
 * 10 s of audio without waiting; fed faster than the engine reads, feed
 * waits for it, at most 5 s before the stream fails. poll does not wait,
 * except to collect a failed exec child's exit status (at most ~2 s).
 *
 * When an engine fails (child crashed, server closed, ...) the stream
 * yields one ERROR result with a one-line reason; after that feed and
 * end_utterance return < 0. A failure affects that stream only. */
#ifndef VG_ASR_ENGINE_H
#define VG_ASR_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* The audio rate every engine receives. */
#define VG_ASR_SAMPLE_RATE 16000

/* Created once, shared by all sessions. */
typedef struct vg_asr_engine vg_asr_engine_t;
/* One per session; used by one thread at a time. */
typedef struct vg_asr_stream vg_asr_stream_t;

typedef enum {
  VG_ASR_PARTIAL = 1, /* the hypothesis so far for the current utterance */
  VG_ASR_FINAL,       /* the utterance ended: its text, once */
  VG_ASR_ERROR,       /* the engine failed for this stream (given once) */
} vg_asr_kind_t;

typedef struct {
  const char *word;   /* borrowed, as the result's text */
  double start, end;  /* seconds of stream time */
} vg_asr_word_t;

typedef struct {
  vg_asr_kind_t kind;
  const char *text;            /* borrowed until the next poll/feed/end_utterance/
                                  destroy on this stream; never NULL (may be "");
                                  ERROR: a one-line reason */
  double start, end;           /* FINAL: seconds of stream time (samples fed /
                                  16000); PARTIAL: the utterance's start when
                                  known (else 0) and the audio time so far;
                                  ERROR: 0 */
  const vg_asr_word_t *words;  /* nullable, borrowed as text: FINAL words with
                                  times when the engine gives them */
  size_t n_words;
} vg_asr_result_t;

typedef struct {
  const char *grammar;  /* nullable: a JSGF file restricting recognition to a
                           command vocabulary (pocketsphinx only; other
                           engines reject it) */
  size_t max_streams;   /* concurrent streams the engine must support
                           (pocketsphinx pre-creates this many decoders at
                           engine create: about 0.3 s and 90 MB each with
                           the en-us language model, 25 MB with a grammar);
                           0 means VG_ASR_DEFAULT_STREAMS */
} vg_asr_options_t;

#define VG_ASR_DEFAULT_STREAMS 4

/* Creates an engine from `spec` ("pocketsphinx", "exec:COMMAND",
 * "ws://HOST:PORT/PATH"; NULL or "" means "pocketsphinx"). `opt` is
 * nullable (defaults). For pocketsphinx this loads the model and creates
 * all decoders; it may take a second or two. The exec and ws engines only
 * check the spec here (the child or connection is per stream).
 * Returns VG_OK and *out (owned by the caller, vg_asr_engine_destroy), or a
 * negative VG_E... code with a one-line reason in err (nullable, err_cap
 * bytes, always NUL-terminated when err_cap > 0). */
VG_MUST_USE int vg_asr_engine_create(const char *spec, const vg_asr_options_t *opt,
                                     vg_asr_engine_t **out, char *err, size_t err_cap);

/* "pocketsphinx", "exec" or "websocket" (static string). */
const char *vg_asr_engine_name(const vg_asr_engine_t *e);

/* Destroys the engine. Every stream must have been destroyed first.
 * NULL is a no-op. */
void vg_asr_engine_destroy(vg_asr_engine_t *e);

/* Creates a stream for session `sid` (nullable; borrowed for the call, used
 * as the log prefix and passed to exec children as VOXGATE_SESSION).
 * pocketsphinx: takes a pre-created decoder from the pool, VG_ELIMIT when
 * all are in use. exec: starts the child. ws: connects and sends the
 * config message (with timeouts). Returns VG_OK and *out, or a negative
 * code with the reason in err (nullable). */
VG_MUST_USE int vg_asr_stream_create(vg_asr_engine_t *e, const char *sid,
                                     vg_asr_stream_t **out, char *err, size_t err_cap);

/* Feeds `n` samples (16 kHz mono s16). May take engine time. Returns VG_OK,
 * or < 0 once the engine failed for this stream (poll then yields one
 * ERROR result after the results the engine gave before it failed). */
VG_MUST_USE int vg_asr_stream_feed(vg_asr_stream_t *s, const int16_t *pcm, size_t n);

/* Takes the next result, if any: true and *out filled (borrowing the
 * stream's memory until the next call on this stream), false when none is
 * pending now. Never blocks for long (engines read what is already
 * available). */
bool vg_asr_stream_poll(vg_asr_stream_t *s, vg_asr_result_t *out);

/* The user stopped: finish the current utterance and produce a FINAL for
 * what was heard, if anything. The stream stays usable: later audio starts
 * a new utterance (exec: the child gets EOF on its stdin, prints its last
 * result and exits; later audio starts a new child. ws: {"eof" : 1}, the
 * server's last result and close; later audio opens a new connection).
 * May wait (bounded, 5 s) for a remote engine's last result.
 * Returns VG_OK or < 0 when the engine failed. */
VG_MUST_USE int vg_asr_stream_end_utterance(vg_asr_stream_t *s);

/* Destroys the stream: a pocketsphinx decoder goes back to the pool, an
 * exec child's process group gets SIGTERM (SIGKILL after 0.5 s) and the
 * child is reaped, a WebSocket is closed. NULL is a no-op. */
void vg_asr_stream_destroy(vg_asr_stream_t *s);

#endif
