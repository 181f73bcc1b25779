/* The embedded default engine: PocketSphinx (Debian's 5prealpha) with its
 * US English model.
 *
 * PocketSphinx 5prealpha cannot share one acoustic model between decoders,
 * so the engine creates `max_streams` complete decoders when it is created
 * (at server start) and lends one to each stream: a user's Start never
 * waits for a model. A decoder is used by one thread at a time.
 *
 * Speech detection is PocketSphinx's own voice activity detector (the
 * front end's, `-remove_silence yes`): frames outside speech never reach
 * the search. Per stream the decoder runs one utterance after another:
 *
 *   ps_start_utt ─► audio ─► VAD: speech ─► PARTIAL every ~200 ms when the
 *        ▲                                   hypothesis changed
 *        │                  VAD: silence for VG_PS_POSTSPEECH frames
 *        └──── FINAL ◄── ps_end_utt ◄───────┘   (or VG_PS_MAX_UTT_SEC)
 *
 * Channel normalisation: the decoder subtracts a running mean of the
 * cepstrum (live CMN) that it updates at the end of every utterance; a
 * first utterance decoded with the model's initial mean has clearly more
 * errors (flite voices: 17-28 % WER instead of 13-20 %). So a new stream
 * starts from the mean of the engine's latest recognised utterance, on
 * whichever decoder (the model's initial mean only until there is one),
 * and an utterance that yields no text gives its update back: noise the
 * VAD took for speech (a stream's first frames always are, before the noise
 * level is known) never shapes the mean.
 *
 * Times: each stream begins with ps_start_stream, after which the front end
 * counts every sample it is given, silence included, and word frames from
 * ps_seg_iter are stream-wide: frame / 100 is the stream time in seconds
 * (samples fed / 16000), however many utterances came before. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmn.h>
#include <err.h>
#include <feat.h>
#include <pocketsphinx.h>

#include "asr/engine_internal.h"
#include "base/log.h"

#ifndef VG_POCKETSPHINX_MODEL_DIR
#define VG_POCKETSPHINX_MODEL_DIR "/usr/share/pocketsphinx/model/en-us"
#endif

/* -frate 100: one feature frame per 10 ms, 160 samples at 16 kHz. */
#define FRAME_SAMPLES 160
/* Audio goes to the decoder in 20 ms pieces, so speech start and end are
 * seen with 20 ms resolution however large the caller's chunks are. */
#define CHUNK_SAMPLES 320
/* A PARTIAL at most every 200 ms of audio (ps_get_hyp backtraces the
 * search, which is not free). */
#define PARTIAL_EVERY_SAMPLES 3200
/* Silence frames that end an utterance. The library default is 50
 * (500 ms); 30 keeps end of speech to FINAL well under half a second while
 * still bridging the pauses between words in a sentence. */
#define VG_PS_POSTSPEECH "30"
/* An utterance that never pauses (music, a long monologue) is cut here so
 * the search's memory stays bounded; the text goes out as a FINAL and
 * decoding continues in a new utterance: nothing is dropped. */
#define VG_PS_MAX_UTT_SEC 30

/* The live CMN state (sphinxbase cmn_t: mean, running sum, frame count). */
typedef struct {
  mfcc_t *mean, *sum; /* owned, veclen each */
  int32 nframe;
} cmn_state_t;

typedef struct {
  ps_decoder_t *ps;  /* owned */
  cmn_state_t cmn0;  /* the decoder's CMN as the model set it */
  bool busy;         /* lent to a stream */
} slot_t;

typedef struct {
  pthread_mutex_t lock; /* guards slots[].busy and the latest CMN */
  slot_t *slots;        /* owned, n_slots entries */
  size_t n_slots;
  cmn_state_t cmn_latest; /* after the latest utterance with text */
  bool have_latest;
} ps_engine_t;

typedef struct {
  ps_engine_t *eng;      /* borrowed */
  slot_t *slot;          /* borrowed from eng, returned at destroy */
  ps_decoder_t *ps;      /* borrowed: slot->ps */
  char sid[64];
  vg_asr_queue_t q;
  uint64_t fed;          /* samples fed: the stream clock */
  bool in_speech;        /* the VAD has seen speech in this utterance */
  int64_t utt_frame;     /* stream frame where the utterance's audio begins
                            (the front end's prespeech frames included) */
  uint64_t speech_fed;   /* stream sample where speech was detected */
  uint64_t next_partial; /* stream sample of the next hypothesis check */
  cmn_state_t cmn_before; /* CMN when the current utterance began */
  vg_asr_word_t *words;  /* owned scratch for FINAL words */
  char *word_buf;        /* owned scratch: the words' text */
  size_t words_cap, word_buf_cap;
  bool failed;
} ps_stream_t;

/* ---- the library's logging ---- */

/* The first error the library logged on this thread since the last reset
 * (the root cause; later lines tend to be consequences), for err strings.
 * `quiet` drops the library's messages for calls that are expected to
 * complain (a grammar search's partial hypothesis before the grammar's end
 * is reached). */
static _Thread_local char first_ps_error[256];
static _Thread_local bool quiet;

/* `ERROR: "jsgf.c", line 923: Failed to parse` -> `Failed to parse`. */
static const char *strip_origin(const char *line) {
  const char *p = strstr(line, "\", line ");
  if (!p) return line;
  p = strstr(p + 8, ": ");
  return p ? p + 2 : line;
}

/* sphinxbase hands every message to one process-wide callback. Errors go to
 * our log as warnings; its chatty information lines only at trace. */
static void ps_log_cb(void *ud, err_lvl_t lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void ps_log_cb(void *ud, err_lvl_t lvl, const char *fmt, ...) {
  (void)ud;
  if (quiet) return;
  bool error = lvl >= ERR_ERROR;
  vg_log_level_t level = error ? VG_LOG_WARN : lvl == ERR_WARN ? VG_LOG_DEBUG : VG_LOG_TRACE;
  if (!error && !vg_log_enabled(level)) return;
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  size_t n = strlen(line);
  while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
  if (n == 0) return;
  if (error && !first_ps_error[0]) {
    const char *why = strip_origin(line);
    size_t k = strlen(why);
    if (k > sizeof first_ps_error - 1) k = sizeof first_ps_error - 1;
    memcpy(first_ps_error, why, k);
    first_ps_error[k] = '\0';
  }
  VG_LOG(level, NULL, "pocketsphinx: %s", line);
}

static pthread_once_t log_once = PTHREAD_ONCE_INIT;
static void quiet_library(void) {
  err_set_logfp(NULL);                  /* no direct writes to stderr */
  err_set_callback(ps_log_cb, NULL);
}

/* ---- channel normalisation state ---- */

static cmn_t *cmn_of(ps_decoder_t *ps) {
  feat_t *f = ps_get_feat(ps);
  return f ? f->cmn_struct : NULL;
}

static int cmn_state_alloc(cmn_state_t *st, ps_decoder_t *ps) {
  cmn_t *c = cmn_of(ps);
  size_t n = c ? (size_t)c->veclen : 0;
  st->mean = n ? calloc(n, sizeof *st->mean) : NULL;
  st->sum = n ? calloc(n, sizeof *st->sum) : NULL;
  return !n || (st->mean && st->sum) ? VG_OK : VG_ENOMEM;
}

static void cmn_state_free(cmn_state_t *st) {
  free(st->mean);
  free(st->sum);
  st->mean = st->sum = NULL;
}

static void cmn_state_save(cmn_state_t *st, ps_decoder_t *ps) {
  cmn_t *c = cmn_of(ps);
  if (!c || !st->mean) return;
  memcpy(st->mean, c->cmn_mean, (size_t)c->veclen * sizeof *st->mean);
  memcpy(st->sum, c->sum, (size_t)c->veclen * sizeof *st->sum);
  st->nframe = c->nframe;
}

static void cmn_state_restore(const cmn_state_t *st, ps_decoder_t *ps) {
  cmn_t *c = cmn_of(ps);
  if (!c || !st->mean) return;
  memcpy(c->cmn_mean, st->mean, (size_t)c->veclen * sizeof *st->mean);
  memcpy(c->sum, st->sum, (size_t)c->veclen * sizeof *st->sum);
  c->nframe = st->nframe;
}

/* ---- the engine: model and decoder pool ---- */

static int check_file(const char *path, char *err, size_t err_cap) {
  /* sphinxbase exits the process (E_FATAL) on some missing model files:
   * check them first. */
  if (access(path, R_OK) == 0) return VG_OK;
  vg_asr_set_err(err, err_cap, "pocketsphinx model file %s: %s (install pocketsphinx-en-us)",
                 path, strerror(errno));
  return VG_ENOTFOUND;
}

static ps_decoder_t *make_decoder(const char *grammar, char *err, size_t err_cap) {
  const char *dir = VG_POCKETSPHINX_MODEL_DIR;
  char hmm[512], lm[512], dict[512];
  snprintf(hmm, sizeof hmm, "%s/en-us", dir);
  snprintf(lm, sizeof lm, "%s/en-us.lm.bin", dir);
  snprintf(dict, sizeof dict, "%s/cmudict-en-us.dict", dir);
  first_ps_error[0] = '\0';
  /* With a grammar the language model is not loaded at all. */
  cmd_ln_t *cfg = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", hmm, "-dict", dict,
                              "-vad_postspeech", VG_PS_POSTSPEECH, "-remove_silence", "yes",
                              grammar ? NULL : "-lm", grammar ? NULL : lm, NULL);
  if (!cfg) {
    vg_asr_set_err(err, err_cap, "pocketsphinx configuration failed: %s", first_ps_error);
    return NULL;
  }
  ps_decoder_t *ps = ps_init(cfg);
  cmd_ln_free_r(cfg); /* the decoder keeps its own reference */
  if (!ps) {
    vg_asr_set_err(err, err_cap, "pocketsphinx could not load the model in %s: %s", dir,
                   first_ps_error);
    return NULL;
  }
  if (grammar) {
    if (ps_set_jsgf_file(ps, "grammar", grammar) < 0 || ps_set_search(ps, "grammar") < 0) {
      vg_asr_set_err(err, err_cap, "grammar %s: %s", grammar,
                     first_ps_error[0] ? first_ps_error : "cannot be loaded");
      ps_free(ps);
      return NULL;
    }
  }
  return ps;
}

static void ps_engine_destroy(void *impl) {
  ps_engine_t *e = impl;
  if (!e) return;
  for (size_t i = 0; i < e->n_slots; i++) {
    if (e->slots[i].busy) VG_LOG(VG_LOG_ERROR, NULL, "asr: engine destroyed with a stream alive");
    if (e->slots[i].ps) ps_free(e->slots[i].ps);
    cmn_state_free(&e->slots[i].cmn0);
  }
  cmn_state_free(&e->cmn_latest);
  free(e->slots);
  pthread_mutex_destroy(&e->lock);
  free(e);
}

static int ps_engine_create(const char *arg, const vg_asr_options_t *opt, void **impl,
                            char *err, size_t err_cap) {
  (void)arg;
  pthread_once(&log_once, quiet_library);
  const char *dir = VG_POCKETSPHINX_MODEL_DIR;
  char path[512];
  static const char *const files[] = {"en-us/mdef", "en-us/means", "en-us/variances",
                                      "en-us/transition_matrices", "en-us/feat.params",
                                      "en-us.lm.bin", "cmudict-en-us.dict"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    int rc = check_file(path, err, err_cap);
    if (rc < 0) return rc;
  }
  if (opt->grammar) {
    int rc = check_file(opt->grammar, err, err_cap);
    if (rc < 0) {
      vg_asr_set_err(err, err_cap, "grammar %s: %s", opt->grammar, strerror(errno));
      return rc;
    }
  }

  ps_engine_t *e = calloc(1, sizeof *e);
  if (!e) return VG_ENOMEM;
  pthread_mutex_init(&e->lock, NULL);
  int rc = VG_ENOMEM;
  e->slots = calloc(opt->max_streams, sizeof *e->slots);
  if (!e->slots) goto fail;
  int64_t t0 = vg_asr_now_ms();
  for (size_t i = 0; i < opt->max_streams; i++) {
    e->slots[i].ps = make_decoder(opt->grammar, err, err_cap);
    if (!e->slots[i].ps) {
      rc = VG_EINVAL;
      goto fail;
    }
    e->n_slots = i + 1;
    if (cmn_state_alloc(&e->slots[i].cmn0, e->slots[i].ps) < 0) goto fail;
    cmn_state_save(&e->slots[i].cmn0, e->slots[i].ps);
  }
  if (cmn_state_alloc(&e->cmn_latest, e->slots[0].ps) < 0) goto fail;
  VG_LOG(VG_LOG_INFO, NULL, "asr: pocketsphinx: %zu decoders loaded from %s%s%s in %lld ms",
         e->n_slots, dir, opt->grammar ? " with grammar " : "",
         opt->grammar ? opt->grammar : "", (long long)(vg_asr_now_ms() - t0));
  *impl = e;
  return VG_OK;
fail:
  ps_engine_destroy(e);
  return rc;
}

/* ---- streams ---- */

static int start_utt(ps_stream_t *s) {
  s->in_speech = false;
  cmn_state_save(&s->cmn_before, s->ps);
  if (ps_start_utt(s->ps) < 0) {
    s->failed = true;
    vg_asr_queue_error(&s->q, "pocketsphinx could not start an utterance");
    return VG_EINVAL;
  }
  return VG_OK;
}

static double frame_time(int64_t frame) {
  return frame < 0 ? 0 : (double)frame / 100.0;
}

/* Appends one word to the scratch arrays; words are recorded as offsets
 * into word_buf and fixed up once it stops moving. */
static int add_word(ps_stream_t *s, size_t *n, size_t *used, const char *w, size_t len,
                    double start, double end) {
  if (*n == s->words_cap) {
    size_t cap = s->words_cap ? s->words_cap * 2 : 32;
    vg_asr_word_t *nw = realloc(s->words, cap * sizeof *nw);
    if (!nw) return VG_ENOMEM;
    s->words = nw;
    s->words_cap = cap;
  }
  if (*used + len + 1 > s->word_buf_cap) {
    size_t cap = s->word_buf_cap ? s->word_buf_cap * 2 : 512;
    while (cap < *used + len + 1) cap *= 2;
    char *nb = realloc(s->word_buf, cap);
    if (!nb) return VG_ENOMEM;
    s->word_buf = nb;
    s->word_buf_cap = cap;
  }
  memcpy(s->word_buf + *used, w, len);
  s->word_buf[*used + len] = '\0';
  s->words[*n] = (vg_asr_word_t){(const char *)(uintptr_t)*used, start, end};
  *used += len + 1;
  (*n)++;
  return VG_OK;
}

/* Ends the decoder's utterance and queues its FINAL: the text, and the
 * words with stream times (without <s>, </s>, <sil> and fillers like
 * [NOISE]; "word(2)" alternates shown as "word"). An utterance that gave no
 * text and showed no PARTIAL (a cough, a click) yields nothing. */
static int finish_utt(ps_stream_t *s) {
  if (ps_end_utt(s->ps) < 0) {
    s->failed = true;
    vg_asr_queue_error(&s->q, "pocketsphinx could not end the utterance");
    return VG_EINVAL;
  }
  quiet = true; /* a grammar search may note the result is not a full phrase */
  const char *hyp = ps_get_hyp(s->ps, NULL);
  if (!hyp) hyp = "";
  size_t n = 0, used = 0;
  int rc = VG_OK;
  for (ps_seg_t *seg = ps_seg_iter(s->ps); seg; seg = ps_seg_next(seg)) {
    const char *w = ps_seg_word(seg);
    if (!w || w[0] == '<' || w[0] == '[') continue;
    size_t len = strcspn(w, "(");
    if (len == 0) continue;
    int sf = 0, ef = 0;
    ps_seg_frames(seg, &sf, &ef);
    if (rc == VG_OK) rc = add_word(s, &n, &used, w, len, frame_time(sf), frame_time(ef + 1));
  }
  quiet = false;
  if (rc < 0) n = 0; /* out of memory: the text still goes out */
  for (size_t i = 0; i < n; i++) s->words[i].word = s->word_buf + (uintptr_t)s->words[i].word;

  double start, end;
  if (n) {
    start = s->words[0].start;
    end = s->words[n - 1].end;
  } else {
    start = frame_time(s->utt_frame);
    end = (double)s->fed / VG_ASR_SAMPLE_RATE;
  }
  if (!*hyp) {
    /* Nothing recognised: keep the normalisation as it was before. */
    cmn_state_restore(&s->cmn_before, s->ps);
  } else {
    pthread_mutex_lock(&s->eng->lock);
    cmn_state_save(&s->eng->cmn_latest, s->ps);
    s->eng->have_latest = true;
    pthread_mutex_unlock(&s->eng->lock);
  }
  /* The queue drops an empty FINAL when no PARTIAL was shown. */
  rc = vg_asr_queue_final(&s->q, hyp, start, end, n ? s->words : NULL, n);
  if (rc < 0) return rc;
  return start_utt(s);
}

static void maybe_partial(ps_stream_t *s) {
  if (s->fed < s->next_partial) return;
  s->next_partial = s->fed + PARTIAL_EVERY_SAMPLES;
  quiet = true;
  const char *hyp = ps_get_hyp(s->ps, NULL);
  quiet = false;
  /* Unchanged and empty hypotheses are dropped by the queue. */
  (void)vg_asr_queue_partial(&s->q, hyp, frame_time(s->utt_frame),
                             (double)s->fed / VG_ASR_SAMPLE_RATE);
}

static int ps_feed(void *st, const int16_t *pcm, size_t n) {
  ps_stream_t *s = st;
  if (s->failed) return VG_ECLOSED;
  while (n) {
    size_t k = n < CHUNK_SAMPLES ? n : CHUNK_SAMPLES;
    first_ps_error[0] = '\0';
    if (ps_process_raw(s->ps, pcm, k, FALSE, FALSE) < 0) {
      s->failed = true;
      vg_asr_queue_error(&s->q, "pocketsphinx failed to process audio: %s", first_ps_error);
      return VG_EINVAL;
    }
    pcm += k;
    n -= k;
    s->fed += k;
    bool speech = ps_get_in_speech(s->ps);
    if (speech && !s->in_speech) {
      /* Speech detected: the decoder now holds the front end's prespeech
       * frames, the last of them ending about here. */
      s->in_speech = true;
      s->speech_fed = s->fed;
      s->utt_frame = (int64_t)(s->fed / FRAME_SAMPLES) - ps_get_n_frames(s->ps);
      s->next_partial = s->fed + PARTIAL_EVERY_SAMPLES;
    } else if (s->in_speech && !speech) {
      int rc = finish_utt(s);
      if (rc < 0) return rc;
    } else if (s->in_speech) {
      if (s->fed - s->speech_fed >= (uint64_t)VG_PS_MAX_UTT_SEC * VG_ASR_SAMPLE_RATE) {
        VG_LOG(VG_LOG_DEBUG, s->sid, "asr: utterance reached %d s, cut", VG_PS_MAX_UTT_SEC);
        int rc = finish_utt(s);
        if (rc < 0) return rc;
      } else {
        maybe_partial(s);
      }
    }
  }
  return VG_OK;
}

static bool ps_poll(void *st, vg_asr_result_t *out) {
  ps_stream_t *s = st;
  return vg_asr_queue_pop(&s->q, out);
}

static int ps_end_utterance(void *st) {
  ps_stream_t *s = st;
  if (s->failed) return VG_ECLOSED;
  if (s->in_speech) return finish_utt(s);
  /* No speech in this utterance: restart it so the front end's prespeech
   * buffer does not carry over into the next one. */
  if (ps_end_utt(s->ps) < 0) {
    s->failed = true;
    vg_asr_queue_error(&s->q, "pocketsphinx could not end the utterance");
    return VG_EINVAL;
  }
  cmn_state_restore(&s->cmn_before, s->ps);
  return start_utt(s);
}

static void ps_stream_destroy(void *st) {
  ps_stream_t *s = st;
  if (!s) return;
  if (s->slot) {
    (void)ps_end_utt(s->ps); /* harmless when no utterance is open */
    pthread_mutex_lock(&s->eng->lock);
    s->slot->busy = false;
    pthread_mutex_unlock(&s->eng->lock);
  }
  vg_asr_queue_clear(&s->q);
  cmn_state_free(&s->cmn_before);
  free(s->words);
  free(s->word_buf);
  free(s);
}

static int ps_stream_create(void *impl, const char *sid, void **out, char *err,
                            size_t err_cap) {
  ps_engine_t *e = impl;
  ps_stream_t *s = calloc(1, sizeof *s);
  if (!s) return VG_ENOMEM;
  snprintf(s->sid, sizeof s->sid, "%s", sid ? sid : "");
  s->eng = e;
  pthread_mutex_lock(&e->lock);
  for (size_t i = 0; i < e->n_slots; i++) {
    if (!e->slots[i].busy) {
      e->slots[i].busy = true;
      s->slot = &e->slots[i];
      break;
    }
  }
  pthread_mutex_unlock(&e->lock);
  int rc;
  if (!s->slot) {
    vg_asr_set_err(err, err_cap,
                   "all %zu pocketsphinx decoders are in use (raise the stream limit)",
                   e->n_slots);
    rc = VG_ELIMIT;
    goto fail;
  }
  s->ps = s->slot->ps;
  rc = cmn_state_alloc(&s->cmn_before, s->ps);
  if (rc < 0) goto fail;
  /* A new stream clock, fresh noise statistics, and the latest channel
   * normalisation the engine learned (the model's until then). */
  ps_start_stream(s->ps);
  pthread_mutex_lock(&e->lock);
  cmn_state_restore(e->have_latest ? &e->cmn_latest : &s->slot->cmn0, s->ps);
  pthread_mutex_unlock(&e->lock);
  rc = start_utt(s);
  if (rc < 0) {
    vg_asr_set_err(err, err_cap, "pocketsphinx could not start an utterance");
    goto fail;
  }
  *out = s;
  return VG_OK;
fail:
  ps_stream_destroy(s);
  return rc;
}

const vg_asr_ops_t vg_pocketsphinx_ops = {
    .name = "pocketsphinx",
    .engine_create = ps_engine_create,
    .engine_destroy = ps_engine_destroy,
    .stream_create = ps_stream_create,
    .feed = ps_feed,
    .poll = ps_poll,
    .end_utterance = ps_end_utterance,
    .stream_destroy = ps_stream_destroy,
};
