/* Word error rate: normalise, split into words, Levenshtein distance over
 * words (one row of the dynamic-programming table at a time). */
#include "asr/wer.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  char *buf;       /* owned: the normalised text, words NUL-separated */
  char **words;    /* owned array of pointers into buf */
  size_t n;
} words_t;

static int is_word_char(unsigned char c) {
  /* Bytes >= 0x80 (UTF-8 letters) stay in words. */
  return isalnum(c) || c == '\'' || c >= 0x80;
}

static int split(const char *text, words_t *w) {
  size_t len = strlen(text);
  w->buf = malloc(len + 1);
  w->words = malloc((len / 2 + 1) * sizeof *w->words);
  w->n = 0;
  if (!w->buf || !w->words) return -1;
  size_t o = 0;
  for (size_t i = 0; i < len;) {
    while (i < len && !is_word_char((unsigned char)text[i])) i++;
    if (i >= len) break;
    w->words[w->n++] = w->buf + o;
    while (i < len && is_word_char((unsigned char)text[i]))
      w->buf[o++] = (char)tolower((unsigned char)text[i++]);
    w->buf[o++] = '\0';
  }
  return 0;
}

double vg_asr_wer_counts(const char *ref, const char *hyp, size_t *errors, size_t *ref_words) {
  words_t r = {0}, h = {0};
  size_t *row = NULL;
  double result = -1;
  if (split(ref, &r) < 0 || split(hyp, &h) < 0) goto done;
  row = malloc((h.n + 1) * sizeof *row);
  if (!row) goto done;
  /* row[j]: edits to turn the first i reference words into the first j
   * hypothesis words. */
  for (size_t j = 0; j <= h.n; j++) row[j] = j;
  for (size_t i = 1; i <= r.n; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= h.n; j++) {
      size_t sub = diag + (strcmp(r.words[i - 1], h.words[j - 1]) != 0);
      size_t del = row[j] + 1, ins = row[j - 1] + 1;
      diag = row[j];
      size_t best = sub < del ? sub : del;
      row[j] = best < ins ? best : ins;
    }
  }
  size_t e = row[h.n];
  if (errors) *errors = e;
  if (ref_words) *ref_words = r.n;
  result = r.n ? (double)e / (double)r.n : (h.n ? 1.0 : 0.0);
done:
  free(row);
  free(r.buf);
  free(r.words);
  free(h.buf);
  free(h.words);
  return result;
}

double vg_asr_wer(const char *ref, const char *hyp) {
  return vg_asr_wer_counts(ref, hyp, NULL, NULL);
}
