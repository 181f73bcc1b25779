/* Helpers shared by the engine tests: audio files, synthetic signals, a
 * stream driver that collects results, and child processes. */
#ifndef VG_ASR_TEST_UTIL_H
#define VG_ASR_TEST_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "asr/engine.h"

#define PS_TEST_DATA "/usr/share/pocketsphinx/test/data"
#define CHUNK_20MS 320

extern char **environ;

typedef struct {
  int16_t *pcm;
  size_t n, cap;
} audio_t;

static inline void audio_free(audio_t *a) {
  free(a->pcm);
  *a = (audio_t){0};
}

static inline bool audio_reserve(audio_t *a, size_t more) {
  if (a->n + more <= a->cap) return true;
  size_t cap = a->cap ? a->cap : 16000;
  while (cap < a->n + more) cap *= 2;
  int16_t *p = realloc(a->pcm, cap * sizeof *p);
  if (!p) return false;
  a->pcm = p;
  a->cap = cap;
  return true;
}

static inline bool audio_append(audio_t *a, const int16_t *pcm, size_t n) {
  if (!audio_reserve(a, n)) return false;
  memcpy(a->pcm + a->n, pcm, n * sizeof *pcm);
  a->n += n;
  return true;
}

/* Low-level noise (a real microphone never sends exact zeros):
 * deterministic, about -60 dBFS. */
static inline bool audio_noise(audio_t *a, double seconds, unsigned *seed) {
  size_t n = (size_t)(seconds * 16000);
  if (!audio_reserve(a, n)) return false;
  for (size_t i = 0; i < n; i++) {
    *seed = *seed * 1103515245u + 12345u;
    a->pcm[a->n++] = (int16_t)((int)((*seed >> 16) % 65) - 32);
  }
  return true;
}

/* A tone burst (triangle wave) standing in for speech in the exec and ws
 * tests, whose engines find speech by its energy. */
static inline bool audio_tone(audio_t *a, double seconds, double hz, int amp) {
  size_t n = (size_t)(seconds * 16000);
  if (!audio_reserve(a, n)) return false;
  for (size_t i = 0; i < n; i++) {
    double phase = (double)i * hz / 16000.0;
    phase -= (double)(long)phase;                        /* 0..1 */
    double tri = phase < 0.5 ? 4 * phase - 1 : 3 - 4 * phase; /* -1..1 */
    a->pcm[a->n++] = (int16_t)(amp * tri);
  }
  return true;
}

static inline double absd(double x) {
  return x < 0 ? -x : x;
}

/* Adds the same low noise to audio in place (keeps digital silence out). */
static inline void audio_dither(audio_t *a, unsigned seed) {
  for (size_t i = 0; i < a->n; i++) {
    seed = seed * 1103515245u + 12345u;
    int v = a->pcm[i] + (int)((seed >> 16) % 17) - 8;
    a->pcm[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
  }
}

/* Reads a whole raw s16le file (or a 16 kHz mono WAV: its 44-byte header
 * is skipped when skip_header). */
static inline bool audio_load(audio_t *a, const char *path, bool skip_header) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "  cannot open %s: %s\n", path, strerror(errno));
    return false;
  }
  if (skip_header) fseek(f, 44, SEEK_SET);
  int16_t buf[4096];
  size_t k;
  bool ok = true;
  while ((k = fread(buf, sizeof buf[0], 4096, f)) > 0) ok = ok && audio_append(a, buf, k);
  fclose(f);
  return ok;
}

/* A sentence spoken by flite, as 16 kHz mono s16 (flite -o, then sox),
 * with low noise added. dir is a scratch directory. */
static inline bool audio_flite(audio_t *a, const char *dir, const char *voice,
                               const char *text) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "flite -voice %s -t '%s' -o %s/flite.wav && "
           "sox %s/flite.wav -r 16000 -c 1 -b 16 -e signed-integer -t raw %s/flite.raw",
           voice, text, dir, dir, dir);
  if (system(cmd) != 0) {
    fprintf(stderr, "  flite/sox failed (install flite and sox): %s\n", cmd);
    return false;
  }
  char path[512];
  snprintf(path, sizeof path, "%s/flite.raw", dir);
  audio_t s = {0};
  if (!audio_load(&s, path, false)) return false;
  audio_dither(&s, 7);
  bool ok = audio_append(a, s.pcm, s.n);
  audio_free(&s);
  return ok;
}

/* What a stream gave. */
#define MAX_FINALS 256
typedef struct {
  size_t partials, finals, errors;
  size_t partials_before_first_final;
  char final_text[MAX_FINALS][256];
  double final_start[MAX_FINALS], final_end[MAX_FINALS];
  size_t final_words[MAX_FINALS];
  bool words_ok; /* every FINAL's words are in order and inside start..end */
  char error[512];
  char all_text[8192]; /* the finals joined by spaces */
} collected_t;

static inline void collect(vg_asr_stream_t *s, collected_t *c) {
  vg_asr_result_t r;
  while (vg_asr_stream_poll(s, &r)) {
    if (r.kind == VG_ASR_PARTIAL) {
      c->partials++;
      if (c->finals == 0) c->partials_before_first_final++;
    } else if (r.kind == VG_ASR_FINAL) {
      if (c->finals == 0) c->words_ok = true;
      if (c->finals < MAX_FINALS) {
        snprintf(c->final_text[c->finals], sizeof c->final_text[0], "%s", r.text);
        c->final_start[c->finals] = r.start;
        c->final_end[c->finals] = r.end;
        c->final_words[c->finals] = r.n_words;
      }
      double prev = r.start - 0.001;
      for (size_t i = 0; i < r.n_words; i++) {
        const vg_asr_word_t *w = &r.words[i];
        if (!w->word || !*w->word || w->start < prev || w->end < w->start ||
            w->end > r.end + 0.001)
          c->words_ok = false;
        prev = w->start;
      }
      c->finals++;
      size_t used = strlen(c->all_text);
      snprintf(c->all_text + used, sizeof c->all_text - used, "%s%s", used ? " " : "", r.text);
    } else if (r.kind == VG_ASR_ERROR) {
      c->errors++;
      snprintf(c->error, sizeof c->error, "%s", r.text);
    }
  }
}

/* Feeds audio in chunks of `chunk` samples, collecting as it goes; then
 * ends the utterance when `end`. Returns the first negative feed result, or
 * 0. */
static inline int run_stream(vg_asr_stream_t *s, const audio_t *a, size_t chunk, bool end,
                             collected_t *c) {
  int rc = 0;
  for (size_t i = 0; i < a->n; i += chunk) {
    size_t k = a->n - i < chunk ? a->n - i : chunk;
    int f = vg_asr_stream_feed(s, a->pcm + i, k);
    collect(s, c);
    if (f < 0) {
      rc = f;
      break;
    }
  }
  if (end && rc == 0) rc = vg_asr_stream_end_utterance(s);
  collect(s, c);
  return rc;
}

static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A scratch directory, removed by rm_tree. */
static inline bool make_tmpdir(char *out, size_t cap) {
  snprintf(out, cap, "/tmp/vg_asr_test_XXXXXX");
  return mkdtemp(out) != NULL;
}

static inline void rm_tree(const char *dir) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "  could not remove %s\n", dir);
}

static inline bool write_file(const char *path, const char *text, bool executable) {
  FILE *f = fopen(path, "w");
  if (!f) return false;
  bool ok = fputs(text, f) >= 0;
  ok = (fclose(f) == 0) && ok;
  if (ok && executable) ok = chmod(path, 0755) == 0;
  return ok;
}

/* Children of this process that have exited but were not reaped
 * (zombies), from /proc. */
static inline int count_zombie_children(void) {
  DIR *d = opendir("/proc");
  if (!d) return -1;
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] < '0' || de->d_name[0] > '9') continue;
    char path[300], buf[512];
    snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    size_t k = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[k] = '\0';
    /* pid (comm) state ppid ...: comm may hold spaces, so parse after ')'. */
    char *rp = strrchr(buf, ')');
    char state;
    int ppid;
    if (rp && sscanf(rp + 1, " %c %d", &state, &ppid) == 2 && ppid == (int)getpid() &&
        state == 'Z')
      n++;
  }
  closedir(d);
  return n;
}

/* An engine from its spec ("exec:...", "ws://..."), or NULL (reason printed). */
static inline vg_asr_engine_t *test_engine(const char *spec) {
  char err[256];
  vg_asr_engine_t *e = NULL;
  if (vg_asr_engine_create(spec, NULL, &e, err, sizeof err) < 0) fprintf(stderr, "  engine: %s\n", err);
  return e;
}

/* Two tone bursts standing in for utterances, low noise around them:
 * 0.5 s noise, 1.2 s 220 Hz, 0.8 s noise, 1.0 s 330 Hz, 0.8 s noise. */
static inline bool tone_bursts(audio_t *a) {
  unsigned seed = 1;
  return audio_noise(a, 0.5, &seed) && audio_tone(a, 1.2, 220, 6000) &&
         audio_noise(a, 0.8, &seed) && audio_tone(a, 1.0, 330, 6000) &&
         audio_noise(a, 0.8, &seed);
}

#endif
