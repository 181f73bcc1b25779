/* Word error rate, for accuracy tests and benchmarks.
 *
 *   WER = (substitutions + deletions + insertions) / words in the reference
 *
 * from the minimum edit distance between the two word sequences. Both
 * strings are normalised first: lower case, and every character that is
 * not a letter, a digit or an apostrophe separates words, so "Go forward,
 * ten meters!" and "go forward ten meters" are the same four words. */
#ifndef VG_ASR_WER_H
#define VG_ASR_WER_H

#include <stddef.h>

/* The word error rate of `hyp` against `ref` (both NUL-terminated,
 * non-NULL), as a fraction: 0 is perfect, and it can exceed 1 when the
 * hypothesis has many extra words. An empty reference gives 0 for an empty
 * hypothesis and 1 otherwise. Returns a negative value when memory runs
 * out. */
double vg_asr_wer(const char *ref, const char *hyp);

/* The same, also giving the edit count and the reference's word count
 * (both nullable), to sum errors over many sentences. */
double vg_asr_wer_counts(const char *ref, const char *hyp, size_t *errors, size_t *ref_words);

#endif
