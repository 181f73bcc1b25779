/* The PocketSphinx engine through the stream API: real recordings from
 * Debian's pocketsphinx-testdata, flite sentences compared with offline
 * decoding of the same audio, utterance splitting and stream times, a long
 * stream, the decoder pool, grammar mode, and streams on two threads. */
#include <malloc.h>
#include <pocketsphinx.h>
#include <pthread.h>
#if defined(__SANITIZE_ADDRESS__)
/* From the sanitizer runtime (sanitizer/allocator_interface.h, which gcc
 * does not install). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

#include "asr/asr_test_util.h"
#include "asr/engine.h"
#include "asr/wer.h"
#include "base/log.h"
#include "vgtest.h"

/* goforward.raw: 16 kHz s16le, 2.79 s, "go forward ten meters" (its
 * transcript in the PocketSphinx test suite, goforward.gram). */
#define GOFORWARD PS_TEST_DATA "/goforward.raw"
#define GOFORWARD_TEXT "go forward ten meters"
#define GOFORWARD_SEC 2.79

static vg_asr_engine_t *engine;
static ps_decoder_t *offline_ps;

/* Frees what the cases share, so sanitizers see no leak. */
static void free_shared(void) {
  vg_asr_engine_destroy(engine);
  if (offline_ps) ps_free(offline_ps);
}

static void free_at_exit(void) {
  static bool registered;
  if (!registered) atexit(free_shared);
  registered = true;
}

static vg_asr_engine_t *shared_engine(void) {
  vg_asr_engine_t *e = engine;
  if (!e) {
    char err[256];
    double t0 = now_s();
    int rc = vg_asr_engine_create("pocketsphinx", NULL, &e, err, sizeof err);
    if (rc < 0) {
      fprintf(stderr, "  engine: %s\n", err);
      return NULL;
    }
    printf("  model load: %d decoders in %.0f ms\n", VG_ASR_DEFAULT_STREAMS,
           (now_s() - t0) * 1000);
    engine = e;
    free_at_exit();
  }
  return e;
}

/* A real recording fed in 20 ms chunks: one FINAL with the transcript,
 * PARTIALs before it, words with times inside the audio. */
static void test_goforward(void) {
  vg_asr_engine_t *e = shared_engine();
  CHECK(e != NULL);
  CHECK_STR(vg_asr_engine_name(e), "pocketsphinx");
  audio_t a = {0};
  unsigned seed = 1;
  CHECK(audio_load(&a, GOFORWARD, false));
  CHECK(audio_noise(&a, 0.6, &seed)); /* the trailing pause that ends speech */
  char err[256];
  vg_asr_stream_t *s;
  CHECK_EQ(vg_asr_stream_create(e, "s1", &s, err, sizeof err), VG_OK);
  collected_t c = {0};
  double t0 = now_s();
  CHECK_EQ(run_stream(s, &a, CHUNK_20MS, false, &c), 0);
  printf("  goforward: \"%s\" %.2f-%.2f s, %zu partials, decoded in %.0f ms\n", c.final_text[0],
         c.final_start[0], c.final_end[0], c.partials, (now_s() - t0) * 1000);
  /* The VAD ended the utterance by itself: no end_utterance needed. */
  CHECK_EQ(c.finals, 1);
  CHECK_STR(c.final_text[0], GOFORWARD_TEXT);
  CHECK(c.partials_before_first_final >= 2);
  CHECK_EQ(c.final_words[0], 4);
  CHECK(c.words_ok);
  /* Speech begins about 0.45 s in and ends before the file does. */
  CHECK(c.final_start[0] > 0.2 && c.final_start[0] < 0.7);
  CHECK(c.final_end[0] > 1.8 && c.final_end[0] <= GOFORWARD_SEC + 0.05);
  /* Nothing more at the end: the utterance was already finished. */
  CHECK_EQ(vg_asr_stream_end_utterance(s), VG_OK);
  collect(s, &c);
  CHECK_EQ(c.finals, 1);
  CHECK_EQ(c.errors, 0);
  vg_asr_stream_destroy(s);
  audio_free(&a);
}

static ps_decoder_t *offline_decoder(void) {
  ps_decoder_t *ps = offline_ps;
  if (!ps) {
    cmd_ln_t *cfg = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm",
                                VG_POCKETSPHINX_MODEL_DIR "/en-us", "-lm",
                                VG_POCKETSPHINX_MODEL_DIR "/en-us.lm.bin", "-dict",
                                VG_POCKETSPHINX_MODEL_DIR "/cmudict-en-us.dict", NULL);
    if (!cfg) return NULL;
    ps = offline_ps = ps_init(cfg);
    cmd_ln_free_r(cfg);
    free_at_exit();
  }
  return ps;
}

/* The whole file in one ps_process_raw call, the way a batch tool would. */
static bool decode_offline(const audio_t *a, char *out, size_t cap) {
  ps_decoder_t *ps = offline_decoder();
  if (!ps || ps_start_utt(ps) < 0) return false;
  if (ps_process_raw(ps, a->pcm, a->n, FALSE, TRUE) < 0) return false;
  if (ps_end_utt(ps) < 0) return false;
  const char *hyp = ps_get_hyp(ps, NULL);
  snprintf(out, cap, "%s", hyp ? hyp : "");
  return true;
}

/* flite sentences: the streamed word error rate is within 5 points of the
 * same engine's offline result on the same audio (the streaming adds no
 * errors), and offline itself is in the expected range for flite. */
static const char *const sentences[] = {
    "open the door and close the window",
    "i would like to book a table for two people tonight",
    "speech recognition works best with a clear voice",
};

static void test_flite_wer(void) {
  vg_asr_engine_t *e = shared_engine();
  CHECK(e != NULL);
  char dir[64];
  CHECK(make_tmpdir(dir, sizeof dir));
  size_t off_err = 0, str_err = 0, words = 0;
  for (size_t i = 0; i < sizeof sentences / sizeof sentences[0]; i++) {
    audio_t a = {0};
    unsigned seed = 3;
    CHECK(audio_noise(&a, 0.3, &seed));
    CHECK(audio_flite(&a, dir, "rms", sentences[i]));
    CHECK(audio_noise(&a, 0.6, &seed));
    char offline[1024];
    CHECK(decode_offline(&a, offline, sizeof offline));

    char err[256];
    vg_asr_stream_t *s;
    CHECK_EQ(vg_asr_stream_create(e, "wer", &s, err, sizeof err), VG_OK);
    collected_t c = {0};
    CHECK_EQ(run_stream(s, &a, CHUNK_20MS, true, &c), 0);
    vg_asr_stream_destroy(s);
    CHECK(c.finals >= 1);
    CHECK(c.partials_before_first_final >= 1);
    CHECK(c.words_ok);

    size_t eo, es, w;
    CHECK(vg_asr_wer_counts(sentences[i], offline, &eo, &w) >= 0);
    CHECK(vg_asr_wer_counts(sentences[i], c.all_text, &es, &w) >= 0);
    printf("  \"%s\"\n    offline  \"%s\" (%zu errors)\n    streamed \"%s\" (%zu errors)\n",
           sentences[i], offline, eo, c.all_text, es);
    off_err += eo;
    str_err += es;
    words += w;
    audio_free(&a);
  }
  rm_tree(dir);
  double off_wer = 100.0 * (double)off_err / (double)words;
  double str_wer = 100.0 * (double)str_err / (double)words;
  printf("  flite (rms) WER over %zu words: offline %.1f%%, streamed %.1f%%\n", words, off_wer,
         str_wer);
  CHECK(str_wer <= off_wer + 5.0);
  CHECK(off_wer <= 25.0);
}

/* Two utterances with a second of low noise between them: two FINALs, in
 * order, each where its speech is in the stream. */
static void test_two_utterances(void) {
  vg_asr_engine_t *e = shared_engine();
  CHECK(e != NULL);
  audio_t a = {0}, g = {0};
  unsigned seed = 5;
  CHECK(audio_load(&g, GOFORWARD, false));
  CHECK(audio_noise(&a, 0.5, &seed));
  CHECK(audio_append(&a, g.pcm, g.n));
  CHECK(audio_noise(&a, 1.0, &seed));
  double second = (double)a.n / 16000;
  CHECK(audio_append(&a, g.pcm, g.n));
  CHECK(audio_noise(&a, 0.6, &seed));
  char err[256];
  vg_asr_stream_t *s;
  CHECK_EQ(vg_asr_stream_create(e, "two", &s, err, sizeof err), VG_OK);
  collected_t c = {0};
  CHECK_EQ(run_stream(s, &a, CHUNK_20MS, true, &c), 0);
  vg_asr_stream_destroy(s);
  printf("  finals: \"%s\" %.2f-%.2f, \"%s\" %.2f-%.2f\n", c.final_text[0], c.final_start[0],
         c.final_end[0], c.final_text[1], c.final_start[1], c.final_end[1]);
  CHECK_EQ(c.finals, 2);
  CHECK(c.words_ok);
  CHECK(strstr(c.final_text[0], "go forward") != NULL);
  CHECK(strstr(c.final_text[1], "go forward") != NULL);
  /* Stream time: the first starts after the leading 0.5 s, the second
   * after the first ends and close to where its audio begins. */
  CHECK(c.final_start[0] > 0.5 && c.final_end[0] < second);
  CHECK(c.final_start[1] > c.final_end[0]);
  CHECK(c.final_start[1] > second && c.final_start[1] < second + 0.8);
  CHECK(c.final_end[1] <= (double)a.n / 16000);
  audio_free(&a);
  audio_free(&g);
}

/* Bytes of live heap (freed memory excluded: AddressSanitizer's quarantine
 * would hide a leak's signal in the resident size). */
static long heap_kb(void) {
#if defined(__SANITIZE_ADDRESS__)
  return (long)(__sanitizer_get_current_allocated_bytes() / 1024);
#else
  return (long)(mallinfo2().uordblks / 1024);
#endif
}

/* Several minutes of speech and pauses in one stream: every utterance
 * gives its FINAL at its place in the stream (no window, nothing dropped,
 * no drift), and memory stays level. */
static void test_long_stream(void) {
  vg_asr_engine_t *e = shared_engine();
  CHECK(e != NULL);
  audio_t g = {0}, gap = {0};
  unsigned seed = 11;
  CHECK(audio_load(&g, GOFORWARD, false));
  CHECK(audio_noise(&gap, 5.0, &seed));
  enum { REPS = 24 }; /* 24 x 7.8 s: over three minutes of audio */
  char err[256];
  vg_asr_stream_t *s;
  CHECK_EQ(vg_asr_stream_create(e, "long", &s, err, sizeof err), VG_OK);
  collected_t *c = calloc(1, sizeof *c);
  CHECK(c != NULL);
  long heap_at[REPS];
  double t0 = now_s();
  for (int r = 0; r < REPS; r++) {
    CHECK_EQ(run_stream(s, &g, CHUNK_20MS, false, c), 0);
    CHECK_EQ(run_stream(s, &gap, CHUNK_20MS, false, c), 0);
    heap_at[r] = heap_kb();
  }
  double took = now_s() - t0;
  CHECK_EQ(vg_asr_stream_end_utterance(s), VG_OK);
  collect(s, c);
  vg_asr_stream_destroy(s);
  double period = (double)(g.n + gap.n) / 16000;
  printf("  %d utterances over %.0f s of audio in %.1f s; heap %ld kB after 10, %ld kB after %d\n",
         REPS, period * REPS, took, heap_at[9], heap_at[REPS - 1], REPS);
  CHECK_EQ(c->finals, REPS);
  CHECK(c->words_ok);
  for (int r = 0; r < REPS; r++) {
    CHECK(strstr(c->final_text[r], "forward") != NULL);
    /* Speech starts ~0.45 s into each period; times do not drift. */
    double off = c->final_start[r] - period * r;
    CHECK(off > 0.2 && off < 0.8);
  }
  /* Level memory: the last 14 utterances add less than 256 kB of heap. */
  CHECK(heap_at[REPS - 1] - heap_at[9] < 256);
  free(c);
  audio_free(&g);
  audio_free(&gap);
}

/* Digital silence at the start (what a muted track sends) gives no empty
 * FINAL: only the speech's. */
static void test_digital_silence_start(void) {
  vg_asr_engine_t *e = shared_engine();
  CHECK(e != NULL);
  audio_t a = {0};
  unsigned seed = 13;
  CHECK(audio_reserve(&a, 16000));
  memset(a.pcm, 0, 16000 * sizeof *a.pcm);
  a.n = 16000;
  CHECK(audio_load(&a, GOFORWARD, false));
  CHECK(audio_noise(&a, 0.6, &seed));
  char err[256];
  vg_asr_stream_t *s;
  CHECK_EQ(vg_asr_stream_create(e, "zeros", &s, err, sizeof err), VG_OK);
  collected_t c = {0};
  CHECK_EQ(run_stream(s, &a, CHUNK_20MS, true, &c), 0);
  vg_asr_stream_destroy(s);
  CHECK_EQ(c.finals, 1);
  CHECK_STR(c.final_text[0], GOFORWARD_TEXT);
  CHECK(c.final_start[0] > 1.0);
  audio_free(&a);
}

/* The user stops mid-sentence: end_utterance gives a FINAL for what was
 * heard, and the stream goes on with a new utterance after it. */
static void test_end_utterance_mid_speech(void) {
  vg_asr_engine_t *e = shared_engine();
  CHECK(e != NULL);
  audio_t g = {0}, half = {0}, rest = {0};
  unsigned seed = 17;
  CHECK(audio_load(&g, GOFORWARD, false));
  size_t cut = (size_t)(1.3 * 16000); /* after "go forward" */
  CHECK(audio_append(&half, g.pcm, cut));
  CHECK(audio_noise(&rest, 0.5, &seed));
  CHECK(audio_append(&rest, g.pcm, g.n));
  CHECK(audio_noise(&rest, 0.6, &seed));
  char err[256];
  vg_asr_stream_t *s;
  CHECK_EQ(vg_asr_stream_create(e, "stop", &s, err, sizeof err), VG_OK);
  collected_t c = {0};
  CHECK_EQ(run_stream(s, &half, CHUNK_20MS, true, &c), 0);
  CHECK_EQ(c.finals, 1);
  printf("  stopped after 1.3 s: \"%s\" %.2f-%.2f\n", c.final_text[0], c.final_start[0],
         c.final_end[0]);
  CHECK(strstr(c.final_text[0], "go") != NULL);
  CHECK(c.final_end[0] <= 1.31);
  CHECK_EQ(run_stream(s, &rest, CHUNK_20MS, true, &c), 0);
  CHECK_EQ(c.finals, 2);
  CHECK_STR(c.final_text[1], GOFORWARD_TEXT);
  CHECK(c.final_start[1] > 1.3 + 0.5);
  vg_asr_stream_destroy(s);
  audio_free(&g);
  audio_free(&half);
  audio_free(&rest);
}

/* A session that starts with a second of room noise (which the VAD takes
 * for speech until it knows the noise level) still gets its first sentence
 * right on a decoder that never heard speech, and so does the next session
 * on it. */
static void test_noise_at_session_start(void) {
  vg_asr_options_t opt = {.max_streams = 1}; /* a fresh decoder, used twice */
  vg_asr_engine_t *e;
  char err[256], dir[64];
  CHECK_EQ(vg_asr_engine_create("pocketsphinx", &opt, &e, err, sizeof err), VG_OK);
  CHECK(make_tmpdir(dir, sizeof dir));
  audio_t a = {0};
  unsigned seed = 29;
  CHECK(audio_noise(&a, 1.0, &seed));
  CHECK(audio_flite(&a, dir, "rms", "open the door and close the window"));
  CHECK(audio_noise(&a, 0.6, &seed));
  rm_tree(dir);
  for (int i = 0; i < 2; i++) {
    vg_asr_stream_t *s;
    CHECK_EQ(vg_asr_stream_create(e, "fresh", &s, err, sizeof err), VG_OK);
    collected_t c = {0};
    CHECK_EQ(run_stream(s, &a, CHUNK_20MS, true, &c), 0);
    vg_asr_stream_destroy(s);
    printf("  session %d: \"%s\" %.2f-%.2f\n", i + 1, c.final_text[0], c.final_start[0],
           c.final_end[0]);
    CHECK_EQ(c.finals, 1);
    CHECK_STR(c.final_text[0], "open the door and close the window");
    CHECK(c.final_start[0] > 1.0 && c.final_start[0] < 1.3);
  }
  vg_asr_engine_destroy(e);
  audio_free(&a);
}

/* All decoders lent: the next stream is refused with VG_ELIMIT and a clear
 * reason; a destroyed stream's decoder is lent again. */
static void test_pool_exhaustion(void) {
  vg_asr_options_t opt = {.max_streams = 2};
  vg_asr_engine_t *e;
  char err[256];
  CHECK_EQ(vg_asr_engine_create("pocketsphinx", &opt, &e, err, sizeof err), VG_OK);
  vg_asr_stream_t *a, *b, *c = NULL;
  CHECK_EQ(vg_asr_stream_create(e, "a", &a, err, sizeof err), VG_OK);
  CHECK_EQ(vg_asr_stream_create(e, "b", &b, err, sizeof err), VG_OK);
  CHECK_EQ(vg_asr_stream_create(e, "c", &c, err, sizeof err), VG_ELIMIT);
  CHECK(c == NULL);
  printf("  third stream: %s\n", err);
  CHECK(strstr(err, "all 2 pocketsphinx decoders are in use") != NULL);
  vg_asr_stream_destroy(a);
  CHECK_EQ(vg_asr_stream_create(e, "c", &c, err, sizeof err), VG_OK);
  vg_asr_stream_destroy(b);
  vg_asr_stream_destroy(c);
  vg_asr_engine_destroy(e);
}

/* sphinxbase's JSGF parser leaks 63 bytes on a syntax error (yyparse and
 * yylex allocations not freed on its error path). LeakSanitizer's fast
 * unwinder cannot see past the library's frames (built without frame
 * pointers), so a suppression precise to that path is impossible, and one
 * for the whole library would hide real leaks (a decoder never freed).
 * The bad grammar is therefore tried in a child process that reports its
 * result in its exit status and leaves with _exit (no leak check there);
 * every other case keeps full leak checking. */
static bool bad_grammar_refused(const vg_asr_options_t *opt, const char *path) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    vg_asr_engine_t *e = NULL;
    char err[256];
    int rc = vg_asr_engine_create("pocketsphinx", opt, &e, err, sizeof err);
    printf("  bad grammar: %s\n", err);
    fflush(stdout);
    _exit(rc < 0 && e == NULL && strstr(err, path) && strstr(err, "syntax error") ? 0 : 1);
  }
  int status = 0;
  return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}

/* A command vocabulary: results come only from the grammar's phrases. */
static void test_grammar(void) {
  char dir[64], path[128];
  CHECK(make_tmpdir(dir, sizeof dir));
  snprintf(path, sizeof path, "%s/commands.gram", dir);
  CHECK(write_file(path,
                   "#JSGF V1.0;\n"
                   "grammar commands;\n"
                   "public <command> = go forward ten meters | stop | turn left | turn right;\n",
                   false));
  vg_asr_options_t opt = {.grammar = path, .max_streams = 1};
  vg_asr_engine_t *e;
  char err[256];
  CHECK_EQ(vg_asr_engine_create("pocketsphinx", &opt, &e, err, sizeof err), VG_OK);

  audio_t a = {0};
  unsigned seed = 19;
  CHECK(audio_load(&a, GOFORWARD, false));
  CHECK(audio_noise(&a, 0.6, &seed));
  CHECK(audio_flite(&a, dir, "rms", "turn left"));
  CHECK(audio_noise(&a, 0.6, &seed));
  /* Not in the grammar: whatever comes out must still be a command. */
  CHECK(audio_flite(&a, dir, "rms", "the weather is sunny today"));
  CHECK(audio_noise(&a, 0.6, &seed));
  vg_asr_stream_t *s;
  CHECK_EQ(vg_asr_stream_create(e, "gram", &s, err, sizeof err), VG_OK);
  collected_t c = {0};
  CHECK_EQ(run_stream(s, &a, CHUNK_20MS, true, &c), 0);
  vg_asr_stream_destroy(s);
  vg_asr_engine_destroy(e);
  printf("  grammar finals:");
  for (size_t i = 0; i < c.finals; i++) printf(" \"%s\"", c.final_text[i]);
  printf("\n");
  CHECK(c.finals >= 2);
  CHECK_STR(c.final_text[0], GOFORWARD_TEXT);
  CHECK_STR(c.final_text[1], "turn left");
  for (size_t i = 0; i < c.finals; i++) {
    const char *t = c.final_text[i];
    CHECK(!strcmp(t, "") || !strcmp(t, GOFORWARD_TEXT) || !strcmp(t, "stop") ||
          !strcmp(t, "turn left") || !strcmp(t, "turn right"));
  }

  /* A grammar that does not parse is refused at engine create. */
  CHECK(write_file(path, "#JSGF V1.0;\ngrammar bad;\npublic <x> = ( go ;\n", false));
  CHECK(bad_grammar_refused(&opt, path));
  opt.grammar = "/nonexistent/commands.gram";
  CHECK(vg_asr_engine_create("pocketsphinx", &opt, &e, err, sizeof err) < 0);
  CHECK(strstr(err, "/nonexistent/commands.gram") != NULL);
  rm_tree(dir);
  audio_free(&a);
}

typedef struct {
  vg_asr_engine_t *e;
  const audio_t *a;
  collected_t c;
  int rc;
} thread_job_t;

static void *thread_main(void *arg) {
  thread_job_t *j = arg;
  char err[256];
  vg_asr_stream_t *s;
  j->rc = vg_asr_stream_create(j->e, "thread", &s, err, sizeof err);
  if (j->rc < 0) return NULL;
  j->rc = run_stream(s, j->a, CHUNK_20MS, true, &j->c);
  vg_asr_stream_destroy(s);
  return NULL;
}

/* Streams on different threads at once: each decodes its own audio. */
static void test_threads(void) {
  vg_asr_engine_t *e = shared_engine();
  CHECK(e != NULL);
  audio_t a = {0};
  unsigned seed = 23;
  CHECK(audio_load(&a, GOFORWARD, false));
  CHECK(audio_noise(&a, 0.6, &seed));
  thread_job_t jobs[3];
  pthread_t th[3];
  for (int i = 0; i < 3; i++) {
    jobs[i] = (thread_job_t){.e = e, .a = &a};
    CHECK_EQ(pthread_create(&th[i], NULL, thread_main, &jobs[i]), 0);
  }
  for (int i = 0; i < 3; i++) CHECK_EQ(pthread_join(th[i], NULL), 0);
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(jobs[i].rc, 0);
    CHECK_EQ(jobs[i].c.finals, 1);
    CHECK_STR(jobs[i].c.final_text[0], GOFORWARD_TEXT);
  }
  audio_free(&a);
}

VGT_MAIN(VGT_CASE(test_goforward), VGT_CASE(test_flite_wer), VGT_CASE(test_two_utterances),
         VGT_CASE(test_long_stream), VGT_CASE(test_digital_silence_start),
         VGT_CASE(test_end_utterance_mid_speech),
         VGT_CASE(test_noise_at_session_start), VGT_CASE(test_pool_exhaustion),
         VGT_CASE(test_grammar), VGT_CASE(test_threads))
