/* Inside the engine interface: the ops table each engine file provides and
 * the result queue they share. Not part of the public API (engine.h). */
#ifndef VG_ASR_ENGINE_INTERNAL_H
#define VG_ASR_ENGINE_INTERNAL_H

#include <stdarg.h>

#include "asr/engine.h"

/* One engine implementation. `impl` is the engine's own state, `st` a
 * stream's; both are opaque to engine.c. The contracts are the public
 * functions' of the same names in engine.h. */
typedef struct {
  const char *name; /* "pocketsphinx", "exec", "websocket" */
  int (*engine_create)(const char *arg, const vg_asr_options_t *opt, void **impl,
                       char *err, size_t err_cap);
  void (*engine_destroy)(void *impl);
  int (*stream_create)(void *impl, const char *sid, void **st, char *err,
                       size_t err_cap);
  int (*feed)(void *st, const int16_t *pcm, size_t n);
  bool (*poll)(void *st, vg_asr_result_t *out);
  int (*end_utterance)(void *st);
  void (*stream_destroy)(void *st);
} vg_asr_ops_t;

extern const vg_asr_ops_t vg_pocketsphinx_ops;
extern const vg_asr_ops_t vg_exec_ops;
extern const vg_asr_ops_t vg_ws_ops;

/* A stream's pending results, oldest first. Engines push; poll pops into
 * `cur`, which owns the memory the caller borrows until the next pop.
 * Consecutive PARTIALs collapse into the newest one, so the queue holds at
 * most one PARTIAL and grows only with FINALs the caller has not polled.
 *
 * The queue also keeps the results' shape the same for every engine:
 * an empty PARTIAL or one repeating the last is dropped, and an empty FINAL
 * is dropped unless a PARTIAL was shown since the last FINAL (then it
 * clears that partial text). */
typedef struct vg_asr_qitem vg_asr_qitem_t;
typedef struct {
  vg_asr_qitem_t *head, *tail; /* owned list */
  vg_asr_qitem_t *cur;         /* owned: the item last popped, or NULL */
  char *last_partial;          /* owned: the utterance's last PARTIAL, or NULL */
  double last_end;             /* end of the last FINAL pushed, stream seconds */
  bool failed;                 /* an ERROR was pushed; later pushes ignored */
} vg_asr_queue_t;

/* Pushes a PARTIAL (replacing a PARTIAL at the tail). `text` is copied.
 * Returns VG_OK or VG_ENOMEM. */
int vg_asr_queue_partial(vg_asr_queue_t *q, const char *text, double start, double end);
/* Pushes a FINAL; `text` and `words` (nullable, n_words entries) are
 * copied. Returns VG_OK or VG_ENOMEM. */
int vg_asr_queue_final(vg_asr_queue_t *q, const char *text, double start, double end,
                       const vg_asr_word_t *words, size_t n_words);
/* Pushes the stream's one ERROR with a printf-formatted reason; later calls
 * (and later partial/final pushes) are ignored. */
void vg_asr_queue_error(vg_asr_queue_t *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Pops the oldest result into *out (borrowing q->cur). */
bool vg_asr_queue_pop(vg_asr_queue_t *q, vg_asr_result_t *out);
/* True when a PARTIAL was shown since the last FINAL. */
bool vg_asr_queue_partial_open(const vg_asr_queue_t *q);
/* Frees everything; the queue is empty and usable again. */
void vg_asr_queue_clear(vg_asr_queue_t *q);

/* snprintf into err when err_cap > 0. */
void vg_asr_set_err(char *err, size_t err_cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Monotonic milliseconds, for the engines' IO deadlines. */
int64_t vg_asr_now_ms(void);

#endif
