/* The engine interface: picks the engine from the spec and dispatches to its
 * ops table; the result queue every engine uses. */
#include "asr/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asr/engine_internal.h"

struct vg_asr_engine {
  const vg_asr_ops_t *ops; /* borrowed: static table */
  void *impl;              /* owned by ops */
};

struct vg_asr_stream {
  vg_asr_engine_t *engine; /* borrowed: outlives the stream */
  void *impl;              /* owned by engine->ops */
};

void vg_asr_set_err(char *err, size_t err_cap, const char *fmt, ...) {
  if (!err || err_cap == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_cap, fmt, ap);
  va_end(ap);
}

int64_t vg_asr_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int vg_asr_engine_create(const char *spec, const vg_asr_options_t *opt,
                         vg_asr_engine_t **out, char *err, size_t err_cap) {
  vg_asr_set_err(err, err_cap, "no error");
  if (!out) return VG_EINVAL;
  *out = NULL;
  vg_asr_options_t o = {0};
  if (opt) o = *opt;
  if (o.max_streams == 0) o.max_streams = VG_ASR_DEFAULT_STREAMS;

  const vg_asr_ops_t *ops;
  const char *arg = "";
  if (!spec || !*spec || strcmp(spec, "pocketsphinx") == 0) {
    ops = &vg_pocketsphinx_ops;
  } else if (strncmp(spec, "exec:", 5) == 0) {
    ops = &vg_exec_ops;
    arg = spec + 5;
  } else if (strncmp(spec, "ws://", 5) == 0) {
    ops = &vg_ws_ops;
    arg = spec;
  } else {
    vg_asr_set_err(err, err_cap,
                   "unknown engine \"%s\" (expected pocketsphinx, exec:COMMAND or "
                   "ws://HOST:PORT/PATH)", spec);
    return VG_EINVAL;
  }
  if (o.grammar && ops != &vg_pocketsphinx_ops) {
    vg_asr_set_err(err, err_cap, "a grammar is only supported by the pocketsphinx engine");
    return VG_EUNSUPPORTED;
  }

  vg_asr_engine_t *e = calloc(1, sizeof *e);
  if (!e) {
    vg_asr_set_err(err, err_cap, "out of memory");
    return VG_ENOMEM;
  }
  e->ops = ops;
  int rc = ops->engine_create(arg, &o, &e->impl, err, err_cap);
  if (rc < 0) goto fail;
  *out = e;
  return VG_OK;
fail:
  vg_asr_engine_destroy(e);
  return rc;
}

const char *vg_asr_engine_name(const vg_asr_engine_t *e) {
  return e ? e->ops->name : "none";
}

void vg_asr_engine_destroy(vg_asr_engine_t *e) {
  if (!e) return;
  if (e->impl) e->ops->engine_destroy(e->impl);
  free(e);
}

int vg_asr_stream_create(vg_asr_engine_t *e, const char *sid, vg_asr_stream_t **out,
                         char *err, size_t err_cap) {
  vg_asr_set_err(err, err_cap, "no error");
  if (!e || !out) return VG_EINVAL;
  *out = NULL;
  vg_asr_stream_t *s = calloc(1, sizeof *s);
  if (!s) {
    vg_asr_set_err(err, err_cap, "out of memory");
    return VG_ENOMEM;
  }
  s->engine = e;
  int rc = e->ops->stream_create(e->impl, sid, &s->impl, err, err_cap);
  if (rc < 0) goto fail;
  *out = s;
  return VG_OK;
fail:
  vg_asr_stream_destroy(s);
  return rc;
}

int vg_asr_stream_feed(vg_asr_stream_t *s, const int16_t *pcm, size_t n) {
  if (!s || (!pcm && n)) return VG_EINVAL;
  if (n == 0) return VG_OK;
  return s->engine->ops->feed(s->impl, pcm, n);
}

bool vg_asr_stream_poll(vg_asr_stream_t *s, vg_asr_result_t *out) {
  if (!s || !out) return false;
  return s->engine->ops->poll(s->impl, out);
}

int vg_asr_stream_end_utterance(vg_asr_stream_t *s) {
  if (!s) return VG_EINVAL;
  return s->engine->ops->end_utterance(s->impl);
}

void vg_asr_stream_destroy(vg_asr_stream_t *s) {
  if (!s) return;
  if (s->impl) s->engine->ops->stream_destroy(s->impl);
  free(s);
}

/* ---- the result queue ---- */

struct vg_asr_qitem {
  vg_asr_qitem_t *next;
  vg_asr_kind_t kind;
  char *text;            /* owned */
  double start, end;
  vg_asr_word_t *words;  /* owned, each word string owned */
  size_t n_words;
};

static void item_free(vg_asr_qitem_t *it) {
  if (!it) return;
  for (size_t i = 0; i < it->n_words; i++) free((char *)it->words[i].word);
  free(it->words);
  free(it->text);
  free(it);
}

static vg_asr_qitem_t *item_new(vg_asr_kind_t kind, const char *text, double start,
                                double end) {
  vg_asr_qitem_t *it = calloc(1, sizeof *it);
  if (!it) return NULL;
  it->kind = kind;
  it->start = start;
  it->end = end;
  it->text = strdup(text ? text : "");
  if (!it->text) {
    free(it);
    return NULL;
  }
  return it;
}

static void push(vg_asr_queue_t *q, vg_asr_qitem_t *it) {
  if (q->tail) q->tail->next = it;
  else q->head = it;
  q->tail = it;
}

int vg_asr_queue_partial(vg_asr_queue_t *q, const char *text, double start, double end) {
  if (q->failed || !text || !*text) return VG_OK;
  if (q->last_partial && strcmp(q->last_partial, text) == 0) return VG_OK;
  char *last = strdup(text);
  if (!last) return VG_ENOMEM;
  free(q->last_partial);
  q->last_partial = last;
  if (q->tail && q->tail->kind == VG_ASR_PARTIAL) {
    /* Replace the unread PARTIAL: only the newest hypothesis matters. */
    char *t = strdup(text);
    if (!t) return VG_ENOMEM;
    free(q->tail->text);
    q->tail->text = t;
    q->tail->start = start;
    q->tail->end = end;
    return VG_OK;
  }
  vg_asr_qitem_t *it = item_new(VG_ASR_PARTIAL, text, start, end);
  if (!it) return VG_ENOMEM;
  push(q, it);
  return VG_OK;
}

bool vg_asr_queue_partial_open(const vg_asr_queue_t *q) {
  return q->last_partial != NULL;
}

int vg_asr_queue_final(vg_asr_queue_t *q, const char *text, double start, double end,
                       const vg_asr_word_t *words, size_t n_words) {
  if (q->failed) return VG_OK;
  bool had_partial = q->last_partial != NULL;
  free(q->last_partial);
  q->last_partial = NULL;
  if ((!text || !*text) && !had_partial) return VG_OK;
  q->last_end = end;
  vg_asr_qitem_t *it = item_new(VG_ASR_FINAL, text, start, end);
  if (!it) return VG_ENOMEM;
  if (words && n_words) {
    it->words = calloc(n_words, sizeof *it->words);
    if (!it->words) goto nomem;
    for (size_t i = 0; i < n_words; i++) {
      char *w = strdup(words[i].word ? words[i].word : "");
      if (!w) goto nomem;
      it->words[i] = (vg_asr_word_t){w, words[i].start, words[i].end};
      it->n_words = i + 1;
    }
  }
  push(q, it);
  return VG_OK;
nomem:
  item_free(it);
  return VG_ENOMEM;
}

void vg_asr_queue_error(vg_asr_queue_t *q, const char *fmt, ...) {
  if (q->failed) return;
  q->failed = true;
  char why[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  /* One line: the reason may quote a child's output. */
  for (char *c = why; *c; c++)
    if (*c == '\n' || *c == '\r') *c = ' ';
  vg_asr_qitem_t *it = item_new(VG_ASR_ERROR, why, 0, 0);
  if (!it) {
    /* Still report the failure, with a static reason. */
    static const char oom[] = "engine failed (out of memory)";
    it = calloc(1, sizeof *it);
    if (!it) return;
    it->kind = VG_ASR_ERROR;
    it->text = malloc(sizeof oom);
    if (!it->text) {
      free(it);
      return;
    }
    memcpy(it->text, oom, sizeof oom);
  }
  push(q, it);
}

bool vg_asr_queue_pop(vg_asr_queue_t *q, vg_asr_result_t *out) {
  item_free(q->cur);
  q->cur = NULL;
  vg_asr_qitem_t *it = q->head;
  if (!it) return false;
  q->head = it->next;
  if (!q->head) q->tail = NULL;
  it->next = NULL;
  q->cur = it;
  *out = (vg_asr_result_t){.kind = it->kind,
                           .text = it->text,
                           .start = it->start,
                           .end = it->end,
                           .words = it->words,
                           .n_words = it->n_words};
  return true;
}

void vg_asr_queue_clear(vg_asr_queue_t *q) {
  item_free(q->cur);
  q->cur = NULL;
  while (q->head) {
    vg_asr_qitem_t *n = q->head->next;
    item_free(q->head);
    q->head = n;
  }
  q->tail = NULL;
  free(q->last_partial);
  q->last_partial = NULL;
  q->last_end = 0;
  q->failed = false;
}
