/* The exec engine: the shipped example engine, the JSON-lines protocol,
 * and children that crash, exit, hang or close their pipes, each failing
 * its own stream only, with no zombie left. */
#include "asr/asr_test_util.h"
#include "asr/engine.h"
#include "base/log.h"
#include "vgtest.h"

#define EXAMPLE VG_TEST_DATA_DIR "/../../examples/asr_engine_example.py"

static vg_asr_engine_t *exec_engine(const char *cmd) {
  char spec[1024];
  snprintf(spec, sizeof spec, "exec:%s", cmd);
  return test_engine(spec);
}

/* The example engine: partials while the "speech" lasts and one final per
 * burst, with start/end where the bursts are in the stream. */
static void test_example_engine(void) {
  vg_asr_engine_t *e = exec_engine("/usr/bin/python3 " EXAMPLE);
  CHECK(e != NULL);
  CHECK_STR(vg_asr_engine_name(e), "exec");
  audio_t a = {0};
  CHECK(tone_bursts(&a));
  char err[256];
  vg_asr_stream_t *s;
  CHECK_EQ(vg_asr_stream_create(e, "ex1", &s, err, sizeof err), VG_OK);
  collected_t c = {0};
  /* In real time, as a microphone sends it, so the child's partials come
   * back while the speech goes on. */
  for (size_t i = 0; i < a.n; i += CHUNK_20MS) {
    size_t k = a.n - i < CHUNK_20MS ? a.n - i : CHUNK_20MS;
    CHECK_EQ(vg_asr_stream_feed(s, a.pcm + i, k), VG_OK);
    collect(s, &c);
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  CHECK_EQ(vg_asr_stream_end_utterance(s), VG_OK);
  collect(s, &c);
  printf("  finals: \"%s\" %.2f-%.2f, \"%s\" %.2f-%.2f; %zu partials\n", c.final_text[0],
         c.final_start[0], c.final_end[0], c.final_text[1], c.final_start[1], c.final_end[1],
         c.partials);
  CHECK_EQ(c.errors, 0);
  CHECK_EQ(c.finals, 2);
  CHECK(c.partials_before_first_final >= 2);
  CHECK(c.words_ok);
  CHECK(absd(c.final_start[0] - 0.5) < 0.1 && absd(c.final_end[0] - 1.7) < 0.1);
  CHECK(absd(c.final_start[1] - 2.5) < 0.1 && absd(c.final_end[1] - 3.5) < 0.1);
  CHECK(strncmp(c.final_text[0], "speech of ", 10) == 0);
  vg_asr_stream_destroy(s);
  CHECK_EQ(count_zombie_children(), 0);
  vg_asr_engine_destroy(e);
  audio_free(&a);
}

/* The protocol, exactly: partial, a line that is not JSON (ignored), a
 * final with words; the session id and rate in the environment; times
 * shifted by where the child started in the stream. */
static void test_protocol(void) {
  char dir[64], script[128], cmd[256];
  CHECK(make_tmpdir(dir, sizeof dir));
  snprintf(script, sizeof script, "%s/engine.sh", dir);
  CHECK(write_file(script,
                   "printf '{\"partial\": \"hel\"}\\n'\n"
                   "printf 'this is not json\\n'\n"
                   "printf '{\"text\": \"hello %s %s\", \"start\": 0.25, \"end\": 0.5, "
                   "\"words\": [{\"word\": \"hello\", \"start\": 0.25, \"end\": 0.5}]}\\n' "
                   "\"$VOXGATE_SESSION\" \"$VOXGATE_SAMPLE_RATE\"\n"
                   "wc -c >&2\n",
                   true));
  snprintf(cmd, sizeof cmd, "exec %s", script);
  vg_asr_engine_t *e = exec_engine(cmd);
  CHECK(e != NULL);
  audio_t a = {0};
  unsigned seed = 2;
  CHECK(audio_noise(&a, 1.0, &seed));
  char err[256];
  vg_asr_stream_t *s;
  CHECK_EQ(vg_asr_stream_create(e, "sid42", &s, err, sizeof err), VG_OK);
  vg_asr_result_t r;
  bool got_final = false;
  CHECK_EQ(vg_asr_stream_feed(s, a.pcm, a.n), VG_OK);
  CHECK_EQ(vg_asr_stream_end_utterance(s), VG_OK);
  CHECK(vg_asr_stream_poll(s, &r));
  CHECK_EQ(r.kind, VG_ASR_PARTIAL);
  CHECK_STR(r.text, "hel");
  CHECK(vg_asr_stream_poll(s, &r));
  CHECK_EQ(r.kind, VG_ASR_FINAL);
  CHECK_STR(r.text, "hello sid42 16000");
  CHECK(r.start == 0.25 && r.end == 0.5);
  CHECK_EQ(r.n_words, 1);
  CHECK_STR(r.words[0].word, "hello");
  CHECK(r.words[0].start == 0.25 && r.words[0].end == 0.5);
  got_final = true;
  CHECK(!vg_asr_stream_poll(s, &r)); /* exit 0 after EOF is no error */

  /* More audio after the user stopped: a new child, its times shifted by
   * the second already fed. */
  CHECK_EQ(vg_asr_stream_feed(s, a.pcm, a.n), VG_OK);
  CHECK_EQ(vg_asr_stream_end_utterance(s), VG_OK);
  collected_t c = {0};
  collect(s, &c);
  CHECK_EQ(c.finals, 1);
  CHECK_EQ(c.errors, 0);
  CHECK(absd(c.final_start[0] - 1.25) < 1e-9 && absd(c.final_end[0] - 1.5) < 1e-9);
  vg_asr_stream_destroy(s);
  CHECK(got_final);
  CHECK_EQ(count_zombie_children(), 0);
  vg_asr_engine_destroy(e);
  rm_tree(dir);
  audio_free(&a);
}

typedef struct {
  char lines[32][512];
  int n;
} log_capture_t;

static void capture_sink(void *ud, vg_log_level_t level, const char *line) {
  log_capture_t *c = ud;
  if (c->n < 32) snprintf(c->lines[c->n++], sizeof c->lines[0], "%s", line);
  fprintf(stderr, "%s\n", line);
}

static bool logged(const log_capture_t *c, const char *what) {
  for (int i = 0; i < c->n; i++)
    if (strstr(c->lines[i], what)) return true;
  return false;
}

/* Feeds a failing stream and a healthy one side by side: the failing one
 * gives exactly one ERROR whose text contains `reason`, later feeds fail,
 * and the healthy one is untouched. */
static void fail_beside_healthy(const char *cmd, const char *reason, double seconds) {
  vg_asr_engine_t *bad = exec_engine(cmd);
  vg_asr_engine_t *good = exec_engine("/usr/bin/python3 " EXAMPLE);
  CHECK(bad != NULL && good != NULL);
  audio_t a = {0}, x = {0};
  CHECK(tone_bursts(&a));
  unsigned seed = 4;
  CHECK(audio_noise(&x, seconds, &seed));
  char err[256];
  vg_asr_stream_t *sb, *sg;
  CHECK_EQ(vg_asr_stream_create(bad, "bad", &sb, err, sizeof err), VG_OK);
  CHECK_EQ(vg_asr_stream_create(good, "good", &sg, err, sizeof err), VG_OK);
  collected_t cb = {0}, cg = {0};
  int rc = 0;
  double t0 = now_s();
  for (size_t i = 0; i < a.n || i < x.n; i += CHUNK_20MS) {
    if (i < a.n) {
      size_t k = a.n - i < CHUNK_20MS ? a.n - i : CHUNK_20MS;
      CHECK_EQ(vg_asr_stream_feed(sg, a.pcm + i, k), VG_OK);
      collect(sg, &cg);
    }
    if (i < x.n && rc == 0) {
      size_t k = x.n - i < CHUNK_20MS ? x.n - i : CHUNK_20MS;
      rc = vg_asr_stream_feed(sb, x.pcm + i, k);
      collect(sb, &cb);
    }
  }
  /* A crash may be noticed only at the next poll: give it a moment. */
  for (int i = 0; i < 200 && cb.errors == 0; i++) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
    collect(sb, &cb);
  }
  printf("  error after %.1f s: %s\n", now_s() - t0, cb.error);
  CHECK_EQ(cb.errors, 1);
  CHECK(strstr(cb.error, reason) != NULL);
  CHECK(vg_asr_stream_feed(sb, x.pcm, CHUNK_20MS) < 0);
  CHECK(vg_asr_stream_end_utterance(sb) < 0);
  collect(sb, &cb);
  CHECK_EQ(cb.errors, 1); /* once */

  CHECK_EQ(vg_asr_stream_end_utterance(sg), VG_OK);
  collect(sg, &cg);
  CHECK_EQ(cg.errors, 0);
  CHECK_EQ(cg.finals, 2);

  vg_asr_stream_destroy(sb);
  vg_asr_stream_destroy(sg);
  CHECK_EQ(count_zombie_children(), 0);
  vg_asr_engine_destroy(bad);
  vg_asr_engine_destroy(good);
  audio_free(&a);
  audio_free(&x);
}

/* Killed by a signal after reading a second of audio. */
static void test_crash(void) {
  fail_beside_healthy("head -c 32000 >/dev/null; kill -SEGV $$",
                      "engine killed by signal 11 (SIGSEGV)", 3.0);
}

/* Exits with an error, saying why on stderr: the reason carries its last
 * stderr line, which is also in our log with the session id. */
static void test_exit_status(void) {
  log_capture_t cap = {0};
  vg_log_set_sink(capture_sink, &cap);
  fail_beside_healthy("head -c 16000 >/dev/null; echo starting >&2; "
                      "echo 'model file not found: /models/x.pt' >&2; exit 3",
                      "engine exited with status 3: model file not found: /models/x.pt", 3.0);
  vg_log_set_sink(NULL, NULL);
  CHECK(logged(&cap, "bad") && logged(&cap, "asr exec stderr: starting"));
}

/* Never reads its input: once its stdin has been full for 5 s. */
static void test_not_reading(void) {
  fail_beside_healthy("exec sleep 60", "engine is not reading its input", 20.0);
}

/* Closes its output and exits 0 while audio still comes. */
static void test_early_exit(void) {
  fail_beside_healthy("head -c 8000 >/dev/null; exit 0", "engine exited with status 0", 3.0);
}

/* A Python traceback: the reason is the exception line. */
static void test_python_exception(void) {
  fail_beside_healthy("/usr/bin/python3 -c 'import sys; sys.stdin.buffer.read(3200); "
                      "raise RuntimeError(\"CUDA out of memory\")'",
                      "engine exited with status 1: RuntimeError: CUDA out of memory", 3.0);
}

/* The child reports a failure in the protocol itself. */
static void test_error_line(void) {
  fail_beside_healthy("head -c 3200 >/dev/null; echo '{\"error\": \"no GPU available\"}'; "
                      "sleep 60",
                      "engine error: no GPU available", 3.0);
}

/* Destroy while the child runs (and ignores SIGTERM): it and its group are
 * killed and reaped. */
static void test_destroy_kills_group(void) {
  vg_asr_engine_t *e = exec_engine("trap '' TERM; sleep 60 & sleep 60; wait");
  CHECK(e != NULL);
  char err[256];
  vg_asr_stream_t *s;
  CHECK_EQ(vg_asr_stream_create(e, "kill", &s, err, sizeof err), VG_OK);
  struct timespec ts = {0, 100 * 1000 * 1000};
  nanosleep(&ts, NULL); /* let the shell start its sleeps */
  double t0 = now_s();
  vg_asr_stream_destroy(s);
  double took = now_s() - t0;
  printf("  destroy took %.0f ms\n", took * 1000);
  CHECK(took < 3.0);
  CHECK_EQ(count_zombie_children(), 0);
  /* No process is left in a group we made: no child of ours at all. */
  CHECK_EQ(waitpid(-1, NULL, WNOHANG), -1);
  CHECK_EQ(errno, ECHILD);
  vg_asr_engine_destroy(e);
}

static void test_bad_specs(void) {
  vg_asr_engine_t *e = NULL;
  char err[256];
  CHECK_EQ(vg_asr_engine_create("exec:", NULL, &e, err, sizeof err), VG_EINVAL);
  CHECK(strstr(err, "no command") != NULL);
  CHECK_EQ(vg_asr_engine_create("whisper", NULL, &e, err, sizeof err), VG_EINVAL);
  CHECK(strstr(err, "unknown engine \"whisper\"") != NULL);
  vg_asr_options_t opt = {.grammar = "x.gram"};
  CHECK_EQ(vg_asr_engine_create("exec:cat", &opt, &e, err, sizeof err), VG_EUNSUPPORTED);
  CHECK(e == NULL);
}

VGT_MAIN(VGT_CASE(test_example_engine), VGT_CASE(test_protocol), VGT_CASE(test_crash),
         VGT_CASE(test_exit_status), VGT_CASE(test_not_reading), VGT_CASE(test_early_exit),
         VGT_CASE(test_python_exception), VGT_CASE(test_error_line),
         VGT_CASE(test_destroy_kills_group), VGT_CASE(test_bad_specs))
