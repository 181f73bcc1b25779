/* vg_asr_offline: the offline baseline for the transcribe end-to-end test,
 * and the test's word error rate, through voxgate's own code.
 *
 *   vg_asr_offline decode [--engine SPEC] FILE.raw
 *       Runs a voxgate speech engine (src/asr/engine.h; default
 *       "pocketsphinx", the server's default) over a whole file of 16 kHz
 *       mono s16le PCM in one go: one feed, end of utterance, every result.
 *       Prints one JSON object:
 *         {"engine","audio_s","decode_s","partials","finals":[{"text",
 *          "start","end"}],"text"}
 *       where text is the non-empty finals joined by spaces.
 *
 *   vg_asr_offline wer REFERENCE HYPOTHESIS
 *       Prints {"wer","errors","ref_words"} from vg_asr_wer_counts
 *       (src/asr/wer.h): the one WER implementation the tests share.
 *
 * The same engine and settings as the server, without the network, Opus,
 * the jitter buffer or the worker queue: what the server's pipeline adds
 * to the error rate is the difference. Exit 0 on success, 1 on failure
 * (reason on stderr), 2 on bad usage. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asr/engine.h"
#include "asr/wer.h"

static int usage(void) {
  fprintf(stderr,
          "usage: vg_asr_offline decode [--engine SPEC] FILE.raw   (16 kHz mono s16le)\n"
          "       vg_asr_offline wer REFERENCE HYPOTHESIS\n");
  return 2;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The whole file, or NULL (reason on stderr). *n is in samples. */
static int16_t *load_raw(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return NULL;
  }
  size_t cap = 16000 * 10, len = 0;
  int16_t *pcm = malloc(cap * sizeof *pcm);
  while (pcm) {
    if (len == cap) {
      int16_t *p = realloc(pcm, 2 * cap * sizeof *pcm);
      if (!p) {
        free(pcm);
        pcm = NULL;
        break;
      }
      pcm = p;
      cap *= 2;
    }
    size_t k = fread(pcm + len, sizeof *pcm, cap - len, f);
    if (k == 0) break;
    len += k;
  }
  fclose(f);
  if (!pcm) fprintf(stderr, "%s: out of memory\n", path);
  *n = len;
  return pcm;
}

/* Collects the stream's pending results into finals / *partials; the
 * first ERROR's reason goes to err. */
static void collect(vg_asr_stream_t *s, json_t *finals, int *partials, char *err, size_t cap) {
  vg_asr_result_t r;
  while (vg_asr_stream_poll(s, &r)) {
    if (r.kind == VG_ASR_PARTIAL) {
      (*partials)++;
    } else if (r.kind == VG_ASR_FINAL) {
      json_array_append_new(finals, json_pack("{s:s, s:f, s:f}", "text", r.text, "start",
                                              r.start, "end", r.end));
    } else if (r.kind == VG_ASR_ERROR && !err[0]) {
      snprintf(err, cap, "%s", r.text);
    }
  }
}

static int decode(const char *spec, const char *path) {
  size_t n = 0;
  int16_t *pcm = load_raw(path, &n);
  if (!pcm) return 1;
  char err[512] = "";
  vg_asr_options_t opt = {.max_streams = 1};
  vg_asr_engine_t *e = NULL;
  vg_asr_stream_t *s = NULL;
  json_t *finals = json_array();
  int partials = 0, rc = 1;
  if (vg_asr_engine_create(spec, &opt, &e, err, sizeof err) < 0) {
    fprintf(stderr, "vg_asr_offline: engine %s: %s\n", spec, err);
    goto out;
  }
  if (vg_asr_stream_create(e, "offline", &s, err, sizeof err) < 0) {
    fprintf(stderr, "vg_asr_offline: stream: %s\n", err);
    goto out;
  }
  err[0] = '\0'; /* from here on: the first ERROR result's reason */
  double t0 = now_s();
  int fed = vg_asr_stream_feed(s, pcm, n);
  collect(s, finals, &partials, err, sizeof err);
  int ended = fed < 0 ? fed : vg_asr_stream_end_utterance(s);
  collect(s, finals, &partials, err, sizeof err);
  double took = now_s() - t0;
  if (fed < 0 || ended < 0 || err[0]) {
    fprintf(stderr, "vg_asr_offline: the engine failed (feed %d, end of utterance %d): %s\n", fed,
            ended, err[0] ? err : "no reason given");
    goto out;
  }
  /* The text: the finals that have words, joined by spaces. */
  size_t tcap = 1, i;
  json_t *f;
  json_array_foreach(finals, i, f) tcap += strlen(json_string_value(json_object_get(f, "text"))) + 1;
  char *text = calloc(1, tcap);
  if (!text) goto out;
  json_array_foreach(finals, i, f) {
    const char *t = json_string_value(json_object_get(f, "text"));
    if (!t[0]) continue;
    if (text[0]) strcat(text, " ");
    strcat(text, t);
  }
  json_t *o = json_pack("{s:s, s:f, s:f, s:i, s:O, s:s}", "engine", vg_asr_engine_name(e), "audio_s",
                        (double)n / VG_ASR_SAMPLE_RATE, "decode_s", took, "partials", partials,
                        "finals", finals, "text", text);
  free(text);
  if (o) {
    json_dumpf(o, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    json_decref(o);
    rc = 0;
  }
out:
  json_decref(finals);
  vg_asr_stream_destroy(s);
  vg_asr_engine_destroy(e);
  free(pcm);
  return rc;
}

static int wer(const char *ref, const char *hyp) {
  size_t errors = 0, words = 0;
  double w = vg_asr_wer_counts(ref, hyp, &errors, &words);
  if (w < 0) {
    fprintf(stderr, "vg_asr_offline: out of memory\n");
    return 1;
  }
  printf("{\"wer\":%.6f,\"errors\":%zu,\"ref_words\":%zu}\n", w, errors, words);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "wer") == 0) {
    return argc == 4 ? wer(argv[2], argv[3]) : usage();
  }
  if (argc >= 3 && strcmp(argv[1], "decode") == 0) {
    const char *spec = "pocketsphinx";
    int i = 2;
    if (strcmp(argv[i], "--engine") == 0) {
      if (argc != 5) return usage();
      spec = argv[3];
      i = 4;
    }
    return argc == i + 1 ? decode(spec, argv[i]) : usage();
  }
  return usage();
}
