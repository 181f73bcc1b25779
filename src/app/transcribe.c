#include "app/transcribe.h"

#include <opus/opus.h>
#include <pthread.h>
#include <soxr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/log.h"
#include "core/rtp.h"
#include "media/opus_rx.h"

/* One slice decodes at most this much audio before yielding the worker
 * (the pool is shared round-robin between sessions). */
#define SLICE_PACKETS 25
/* Packet entries in the queue: header then payload. */
#define ENTRY_HDR 32
/* Largest Opus packet (RFC 6716 §3.2.1). */
#define MAX_OPUS 1275
/* Where the arrival time of recent audio is remembered, for latency:
 * 1024 packets of 20 ms is 20 s, longer than any utterance we time. */
#define ARRIVALS 1024
/* Results waiting for the loop thread. Partials are coalesced (only the
 * newest matters), so this bounds finals, errors and lag notices. */
#define MAX_RESULTS 256
/* Samples pulled from the decoder per call: 120 ms at 16 kHz. */
#define PCM_CHUNK 1920
/* PCM is queued in entries of at most this many bytes (one chunk). */
#define PCM_ENTRY_BYTES (2 * PCM_CHUNK)
/* RTP's Opus clock (RFC 7587 §4.1): queue times are kept in its units. */
#define CLOCK 48000

typedef struct {
  vg_transcribe_kind_t kind;
  char *text; /* owned */
  double start, end, latency_ms, dropped_s;
  vg_asr_word_t *words; /* owned, and each word's string */
  size_t n_words;
} result_t;

/* A queued packet's header; its payload follows it in the ring. */
typedef struct {
  uint32_t len;   /* payload bytes */
  uint16_t seq;   /* Opus: RTP sequence number */
  uint8_t mark;   /* PCM: report a MARK once fed */
  uint8_t pad;
  uint32_t ts;    /* Opus: RTP timestamp */
  uint32_t dur;   /* the audio's duration, 48 kHz units */
  vg_time_t at;
  int64_t ext_ts; /* start, unwrapped, 48 kHz units */
} entry_t;
_Static_assert(sizeof(entry_t) == ENTRY_HDR, "queue entry header size");

typedef struct {
  int64_t ts; /* unwrapped RTP timestamp (48 kHz) */
  vg_time_t at;
} arrival_t;

struct vg_transcriber {
  char sid[32];
  vg_job_t *job;       /* owned */
  vg_asr_stream_t *asr; /* owned; worker only (after create) */
  vg_opus_rx_t *rx;    /* owned; worker only; Opus input */
  soxr_t soxr;         /* owned; worker only; PCM input not at 16 kHz */
  uint32_t pcm_rate;   /* 0: Opus input */
  int (*on_event)(void *ud, const vg_transcribe_event_t *ev);
  void *ud;

  pthread_mutex_t mu; /* guards everything below */
  uint8_t *queue;     /* owned ring of q_cap bytes */
  size_t q_cap;
  size_t q_head, q_len;
  size_t q_packets;
  int64_t q_dur;      /* audio in the queue, 48 kHz units */
  int64_t pcm_samples; /* PCM samples pushed so far (at pcm_rate) */
  bool finishing, finished, failed;
  bool lagging;       /* in a drop episode: one LAG event per episode */
  vg_rtp_unwrapper_t ts_unwrap;
  int64_t first_ts;
  bool have_first;
  arrival_t arrivals[ARRIVALS];
  size_t n_arrivals, arrivals_head;
  result_t results[MAX_RESULTS];
  size_t n_results;
  vg_transcribe_stats_t stats;
};

/* ---- the queue (mutex held) ------------------------------------------------ */

static void q_write(vg_transcriber_t *t, const void *src, size_t n) {
  size_t pos = (t->q_head + t->q_len) % t->q_cap;
  size_t first = t->q_cap - pos < n ? t->q_cap - pos : n;
  memcpy(t->queue + pos, src, first);
  memcpy(t->queue, (const uint8_t *)src + first, n - first);
  t->q_len += n;
}

static void q_read(vg_transcriber_t *t, void *dst, size_t n) {
  size_t first = t->q_cap - t->q_head < n ? t->q_cap - t->q_head : n;
  memcpy(dst, t->queue + t->q_head, first);
  memcpy((uint8_t *)dst + first, t->queue, n - first);
  t->q_head = (t->q_head + n) % t->q_cap;
  t->q_len -= n;
}

static void free_result(result_t *r) {
  free(r->text);
  for (size_t i = 0; i < r->n_words; i++) free((char *)r->words[i].word);
  free(r->words);
}

/* Copies a final's words into r (none when memory runs out). */
static void copy_words(result_t *r, const vg_asr_word_t *w, size_t n) {
  r->words = n ? calloc(n, sizeof *r->words) : NULL;
  r->n_words = 0;
  for (size_t i = 0; r->words && i < n; i++) {
    char *s = strdup(w[i].word ? w[i].word : "");
    if (!s) break;
    r->words[i] = (vg_asr_word_t){s, w[i].start, w[i].end};
    r->n_words = i + 1;
  }
}

static void add_result(vg_transcriber_t *t, vg_transcribe_kind_t kind, const char *text, double start,
                       double end, double latency_ms, const vg_asr_word_t *words, size_t n_words) {
  /* A newer partial replaces one still waiting: the client wants the
   * latest hypothesis, not every intermediate one. */
  if (kind == VG_TRANSCRIBE_PARTIAL && t->n_results > 0 &&
      t->results[t->n_results - 1].kind == VG_TRANSCRIBE_PARTIAL) {
    result_t *r = &t->results[t->n_results - 1];
    free(r->text);
    r->text = strdup(text ? text : "");
    r->start = start;
    r->end = end;
    return;
  }
  if (t->n_results == MAX_RESULTS) {
    VG_LOG(VG_LOG_WARN, t->sid, "transcript results not collected; dropping the oldest");
    free_result(&t->results[0]);
    memmove(&t->results[0], &t->results[1], sizeof t->results[0] * (MAX_RESULTS - 1));
    t->n_results--;
  }
  result_t *r = &t->results[t->n_results++];
  r->kind = kind;
  r->text = strdup(text ? text : "");
  r->start = start;
  r->end = end;
  r->latency_ms = latency_ms;
  r->dropped_s = t->stats.dropped_s;
  copy_words(r, words, n_words);
}

/* When the packet holding stream time `end_s` arrived (mutex held). */
static vg_time_t arrival_of(const vg_transcriber_t *t, double end_s) {
  int64_t target = t->first_ts + (int64_t)(end_s * CLOCK);
  vg_time_t best = 0;
  for (size_t i = 0; i < t->n_arrivals; i++) {
    const arrival_t *a = &t->arrivals[(t->arrivals_head + i) % ARRIVALS];
    if (a->ts <= target && a->at > best) best = a->at;
  }
  return best;
}

/* ---- loop thread ----------------------------------------------------------- */

/* The engine is more than ~20 s behind: drop this audio (a decoder
 * conceals the gap), count it, and say so once per episode (mutex held). */
static void drop(vg_transcriber_t *t, int64_t dur) {
  t->stats.packets_dropped++;
  t->stats.dropped_s += (double)dur / CLOCK;
  if (t->lagging) return;
  t->lagging = true;
  char msg[160];
  snprintf(msg, sizeof msg,
           "the speech engine is slower than real time: audio is being dropped (%.1f s so far)",
           t->stats.dropped_s);
  add_result(t, VG_TRANSCRIBE_LAG, msg, 0, 0, 0, NULL, 0);
  VG_LOG(VG_LOG_WARN, t->sid, "%s", msg);
}

/* Remembers when the audio starting at ext_ts arrived (mutex held). */
static void note_arrival(vg_transcriber_t *t, int64_t ext_ts, vg_time_t now) {
  arrival_t *a = &t->arrivals[(t->arrivals_head + t->n_arrivals) % ARRIVALS];
  if (t->n_arrivals == ARRIVALS) t->arrivals_head = (t->arrivals_head + 1) % ARRIVALS;
  else t->n_arrivals++;
  a->ts = ext_ts;
  a->at = now;
}

void vg_transcriber_push(vg_transcriber_t *t, vg_time_t now, uint16_t seq, uint32_t rtp_ts,
                         const uint8_t *payload, size_t len) {
  if (len == 0 || len > MAX_OPUS || t->pcm_rate) return;
  pthread_mutex_lock(&t->mu);
  if (t->finishing || t->failed) {
    pthread_mutex_unlock(&t->mu);
    return;
  }
  t->stats.packets_in++;
  int n = opus_packet_get_nb_samples(payload, (opus_int32)len, CLOCK);
  entry_t e = {.len = (uint32_t)len, .seq = seq, .ts = rtp_ts, .at = now,
               .dur = n > 0 ? (uint32_t)n : CLOCK / 50};
  e.ext_ts = vg_rtp_ts_unwrap(&t->ts_unwrap, rtp_ts);
  if (!t->have_first) {
    t->have_first = true;
    t->first_ts = e.ext_ts;
  }
  bool dropped = false;
  if (t->q_len + ENTRY_HDR + len > t->q_cap) {
    drop(t, e.dur);
    dropped = true;
  } else {
    q_write(t, &e, ENTRY_HDR);
    q_write(t, payload, len);
    t->q_packets++;
    t->q_dur += e.dur;
    t->lagging = false;
  }
  note_arrival(t, e.ext_ts, now);
  bool has_results = t->n_results > 0;
  pthread_mutex_unlock(&t->mu);
  if (!dropped) vg_workers_schedule(t->job);
  else if (has_results) vg_workers_notify(t->job);
}

/* Position `samples` of the PCM input in 48 kHz units. */
static int64_t pcm_clock(const vg_transcriber_t *t, int64_t samples) {
  return samples * CLOCK / t->pcm_rate;
}

int vg_transcriber_push_pcm(vg_transcriber_t *t, vg_time_t now, const uint8_t *le16, size_t len,
                            bool mark) {
  if (!t->pcm_rate || len % 2) return VG_EINVAL;
  size_t pieces = len ? (len + PCM_ENTRY_BYTES - 1) / PCM_ENTRY_BYTES : 1;
  pthread_mutex_lock(&t->mu);
  if (t->finishing || t->failed) {
    pthread_mutex_unlock(&t->mu);
    return VG_ESTATE;
  }
  t->stats.packets_in++;
  int64_t first = t->pcm_samples;
  t->pcm_samples += (int64_t)(len / 2);
  note_arrival(t, pcm_clock(t, first), now);
  if (t->q_len + pieces * ENTRY_HDR + len > t->q_cap) {
    drop(t, pcm_clock(t, t->pcm_samples) - pcm_clock(t, first));
    bool has_results = t->n_results > 0;
    pthread_mutex_unlock(&t->mu);
    if (has_results) vg_workers_notify(t->job);
    return VG_ELIMIT;
  }
  for (size_t i = 0, off = 0; i < pieces; i++) {
    size_t n = len - off < PCM_ENTRY_BYTES ? len - off : PCM_ENTRY_BYTES;
    int64_t a = first + (int64_t)off / 2, b = a + (int64_t)n / 2;
    entry_t e = {.len = (uint32_t)n, .mark = mark && i + 1 == pieces, .at = now,
                 .ext_ts = pcm_clock(t, a), .dur = (uint32_t)(pcm_clock(t, b) - pcm_clock(t, a))};
    q_write(t, &e, ENTRY_HDR);
    q_write(t, le16 + off, n);
    t->q_packets++;
    t->q_dur += e.dur;
    off += n;
  }
  t->lagging = false;
  pthread_mutex_unlock(&t->mu);
  vg_workers_schedule(t->job);
  return VG_OK;
}

static void on_done(void *ud) {
  vg_transcriber_t *t = ud;
  pthread_mutex_lock(&t->mu);
  size_t n = t->n_results;
  result_t batch[MAX_RESULTS];
  memcpy(batch, t->results, sizeof batch[0] * n);
  t->n_results = 0;
  pthread_mutex_unlock(&t->mu);
  /* The callback may destroy the transcriber: nothing of `t` after it. */
  int (*on_event)(void *, const vg_transcribe_event_t *) = t->on_event;
  void *cb_ud = t->ud;
  bool gone = false;
  for (size_t i = 0; i < n; i++) {
    if (gone) {
      free_result(&batch[i]);
      continue;
    }
    vg_transcribe_event_t ev = {.kind = batch[i].kind,
                                .text = batch[i].text,
                                .start = batch[i].start,
                                .end = batch[i].end,
                                .latency_ms = batch[i].latency_ms,
                                .dropped_s = batch[i].dropped_s,
                                .words = batch[i].words,
                                .n_words = batch[i].n_words};
    gone = on_event(cb_ud, &ev) != 0;
    free_result(&batch[i]);
  }
}

/* ---- worker ------------------------------------------------------------------ */

static vg_time_t mono_now(void) { return (vg_time_t)(uv_hrtime() / 1000); }

/* Feeds decoded audio to the engine and collects its results. */
static void feed_engine(vg_transcriber_t *t, const int16_t *pcm, size_t n) {
  if (n == 0 || t->failed) return;
  if (vg_asr_stream_feed(t->asr, pcm, n) < 0) {
    /* the engine's ERROR result says why; poll collects it */
  }
  pthread_mutex_lock(&t->mu);
  t->stats.audio_s += (double)n / VG_OPUS_RX_RATE;
  pthread_mutex_unlock(&t->mu);
}

static void collect_results(vg_transcriber_t *t) {
  vg_asr_result_t r;
  bool any = false;
  while (vg_asr_stream_poll(t->asr, &r)) {
    any = true;
    pthread_mutex_lock(&t->mu);
    if (r.kind == VG_ASR_PARTIAL) {
      add_result(t, VG_TRANSCRIBE_PARTIAL, r.text, r.start, r.end, 0, NULL, 0);
    } else if (r.kind == VG_ASR_FINAL) {
      vg_time_t at = arrival_of(t, r.end);
      double latency = at ? (double)(mono_now() - at) / 1000.0 : 0;
      add_result(t, VG_TRANSCRIBE_FINAL, r.text, r.start, r.end, latency, r.words, r.n_words);
      t->stats.finals++;
    } else {
      t->failed = true;
      add_result(t, VG_TRANSCRIBE_ERROR, r.text, 0, 0, 0, NULL, 0);
    }
    pthread_mutex_unlock(&t->mu);
  }
  if (any) vg_workers_notify(t->job);
}

/* PCM16 LE from the queue to the engine, through libsoxr unless it is
 * already at 16 kHz. */
static void feed_pcm(vg_transcriber_t *t, const uint8_t *le, size_t len) {
  int16_t in[PCM_CHUNK], out[PCM_CHUNK];
  size_t n = len / 2;
  for (size_t i = 0; i < n; i++) in[i] = (int16_t)(uint16_t)(le[2 * i] | le[2 * i + 1] << 8);
  if (!t->soxr) {
    feed_engine(t, in, n);
    return;
  }
  size_t off = 0, odone;
  do {
    size_t idone = 0;
    odone = 0;
    soxr_error_t err = soxr_process(t->soxr, in + off, n - off, &idone, out, PCM_CHUNK, &odone);
    if (err) {
      VG_LOG(VG_LOG_WARN, t->sid, "resampler: %s", err);
      return;
    }
    off += idone;
    feed_engine(t, out, odone);
  } while (off < n || odone == PCM_CHUNK);
}

/* The end of the input: what the decoder or resampler still holds. */
static void flush_input(vg_transcriber_t *t) {
  int16_t pcm[PCM_CHUNK];
  int n;
  if (t->rx)
    while ((n = vg_opus_rx_flush(t->rx, pcm, PCM_CHUNK)) > 0) feed_engine(t, pcm, (size_t)n);
  size_t odone;
  do {
    odone = 0;
    if (t->soxr && soxr_process(t->soxr, NULL, 0, NULL, pcm, PCM_CHUNK, &odone)) break;
    feed_engine(t, pcm, odone);
  } while (odone > 0);
}

static void decode_opus(vg_transcriber_t *t, const entry_t *e, const uint8_t *payload) {
  int16_t pcm[PCM_CHUNK];
  int n;
  vg_time_t now = mono_now();
  int pr = vg_opus_rx_push(t->rx, e->at, e->seq, e->ts, payload, e->len);
  while ((n = vg_opus_rx_pull(t->rx, now, pcm, PCM_CHUNK)) > 0) feed_engine(t, pcm, (size_t)n);
  /* A full reorder ring takes the packet once the pull above made room. */
  if (pr == VG_ENOSPC && vg_opus_rx_push(t->rx, e->at, e->seq, e->ts, payload, e->len) >= 0)
    while ((n = vg_opus_rx_pull(t->rx, now, pcm, PCM_CHUNK)) > 0) feed_engine(t, pcm, (size_t)n);
}

static bool run_slice(void *ud) {
  vg_transcriber_t *t = ud;
  uint8_t payload[PCM_ENTRY_BYTES > MAX_OPUS ? PCM_ENTRY_BYTES : MAX_OPUS];
  for (int i = 0; i < SLICE_PACKETS; i++) {
    pthread_mutex_lock(&t->mu);
    if (t->q_packets == 0 || t->failed) {
      pthread_mutex_unlock(&t->mu);
      break;
    }
    entry_t e;
    q_read(t, &e, ENTRY_HDR);
    q_read(t, payload, e.len);
    t->q_packets--;
    t->q_dur -= e.dur;
    pthread_mutex_unlock(&t->mu);
    if (t->pcm_rate) feed_pcm(t, payload, e.len);
    else decode_opus(t, &e, payload);
    collect_results(t);
    if (e.mark) {
      pthread_mutex_lock(&t->mu);
      add_result(t, VG_TRANSCRIBE_MARK, "", 0, 0, 0, NULL, 0);
      pthread_mutex_unlock(&t->mu);
      vg_workers_notify(t->job);
    }
  }
  pthread_mutex_lock(&t->mu);
  bool more = t->q_packets > 0 && !t->failed;
  bool finish = !more && t->finishing && !t->finished;
  if (t->rx) {
    vg_opus_rx_stats_t rs;
    vg_opus_rx_get_stats(t->rx, &rs);
    t->stats.concealed_frames = rs.concealed_frames;
  }
  pthread_mutex_unlock(&t->mu);
  if (finish) {
    flush_input(t);
    if (!t->failed && vg_asr_stream_end_utterance(t->asr) < 0) {
      /* reported through poll */
    }
    collect_results(t);
    pthread_mutex_lock(&t->mu);
    t->finished = true;
    add_result(t, VG_TRANSCRIBE_DONE, "", 0, 0, 0, NULL, 0);
    pthread_mutex_unlock(&t->mu);
    vg_workers_notify(t->job);
  }
  return more;
}

/* ---- lifecycle ----------------------------------------------------------------- */

int vg_transcriber_create(const vg_transcriber_config_t *cfg, vg_transcriber_t **out, char *err,
                          size_t cap) {
  *out = NULL;
  vg_transcriber_t *t = calloc(1, sizeof *t);
  if (!t) return VG_ENOMEM;
  snprintf(t->sid, sizeof t->sid, "%s", cfg->sid ? cfg->sid : "");
  t->on_event = cfg->on_event;
  t->ud = cfg->ud;
  pthread_mutex_init(&t->mu, NULL);
  int r = VG_ENOMEM;
  /* PCM: the same ~20 s of audio the Opus queue holds, at the PCM rate. */
  t->q_cap = VG_TRANSCRIBE_QUEUE_BYTES;
  if (cfg->pcm_rate) {
    size_t pcm = (size_t)cfg->pcm_rate * 2 * VG_TRANSCRIBE_QUEUE_S;
    t->q_cap = pcm + pcm / PCM_ENTRY_BYTES * ENTRY_HDR + ENTRY_HDR;
  }
  t->queue = malloc(t->q_cap);
  if (!t->queue) goto fail;
  t->pcm_rate = cfg->pcm_rate;
  if (!t->pcm_rate) {
    vg_opus_rx_config_t rc = {.sid = t->sid};
    if ((r = vg_opus_rx_create(&rc, &t->rx)) < 0) {
      snprintf(err, cap, "cannot create the Opus decoder");
      goto fail;
    }
  } else if (t->pcm_rate != VG_ASR_SAMPLE_RATE) {
    /* libsoxr's high quality: a steep low-pass below 8 kHz, so nothing
     * above the recognizer's band folds back into it; one thread. */
    soxr_io_spec_t io = soxr_io_spec(SOXR_INT16_I, SOXR_INT16_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    soxr_runtime_spec_t rt = soxr_runtime_spec(1);
    soxr_error_t se = NULL;
    t->soxr = soxr_create(t->pcm_rate, VG_ASR_SAMPLE_RATE, 1, &se, &io, &q, &rt);
    if (!t->soxr || se) {
      snprintf(err, cap, "cannot create the resampler: %s", se ? se : "out of memory");
      r = VG_ENOMEM;
      goto fail;
    }
  }
  if (t->pcm_rate) t->have_first = true; /* PCM time starts at 0 */
  if ((r = vg_asr_stream_create(cfg->engine, t->sid, &t->asr, err, cap)) < 0) goto fail;
  vg_job_ops_t ops = {.run = run_slice, .done = on_done, .ud = t};
  t->job = vg_job_create(cfg->workers, &ops);
  if (!t->job) {
    r = VG_ENOMEM;
    goto fail;
  }
  *out = t;
  return VG_OK;
fail:
  vg_transcriber_destroy(t);
  return r;
}

void vg_transcriber_finish(vg_transcriber_t *t) {
  pthread_mutex_lock(&t->mu);
  bool already = t->finishing;
  t->finishing = true;
  pthread_mutex_unlock(&t->mu);
  if (!already) vg_workers_schedule(t->job);
}

void vg_transcriber_get_stats(vg_transcriber_t *t, vg_transcribe_stats_t *out) {
  pthread_mutex_lock(&t->mu);
  *out = t->stats;
  out->queued_s = (double)t->q_dur / CLOCK;
  pthread_mutex_unlock(&t->mu);
}

void vg_transcriber_destroy(vg_transcriber_t *t) {
  if (!t) return;
  vg_job_destroy(t->job); /* waits for a slice in progress */
  vg_asr_stream_destroy(t->asr);
  vg_opus_rx_destroy(t->rx);
  if (t->soxr) soxr_delete(t->soxr);
  for (size_t i = 0; i < t->n_results; i++) free_result(&t->results[i]);
  free(t->queue);
  pthread_mutex_destroy(&t->mu);
  free(t);
}
