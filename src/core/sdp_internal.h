/* Helpers shared by the SDP parser (sdp.c) and the SDP builders
 * (sdp_build.c). Not a public header: nothing outside src/core/sdp*.c
 * includes it. */
#ifndef VG_CORE_SDP_INTERNAL_H
#define VG_CORE_SDP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sdp.h"

/* A view of part of the caller's text; borrowed, not NUL-terminated.
 * p == NULL means "absent" (distinct from present and empty). */
typedef struct {
  const char *p;
  size_t n;
} vg_span_t;

/* RFC 8839 5.4 / RFC 8445: ufrag and pwd lengths. */
#define VG_SDP_ICE_UFRAG_MIN 4
#define VG_SDP_ICE_PWD_MIN 22

bool vg_sdp_span_eq(vg_span_t s, const char *lit);
bool vg_sdp_span_ieq(vg_span_t s, const char *lit);
/* The next token separated by spaces or tabs; *rest moves past it. An empty
 * span (n == 0) when there is none. */
vg_span_t vg_sdp_span_token(vg_span_t *rest);
/* The part of *s before the first `sep`; *s becomes the part after it, or
 * {NULL, 0} when there is no `sep` (then the whole of *s is returned). */
vg_span_t vg_sdp_span_split(vg_span_t *s, char sep);
/* The part of `s` before the first `sep` (all of `s` when there is none). */
vg_span_t vg_sdp_span_split_left(vg_span_t s, char sep);
vg_span_t vg_sdp_span_trim(vg_span_t s);
/* 1..10 decimal digits with a value <= max. */
bool vg_sdp_span_u32(vg_span_t s, uint32_t max, uint32_t *out);
/* Copies and NUL-terminates; false (dst untouched) when s.n >= cap. */
bool vg_sdp_span_copy(char *dst, size_t cap, vg_span_t s);

/* Case-insensitive ASCII equality of two C strings. */
bool vg_sdp_ieq(const char *a, const char *b);
/* RFC 8839 5.1: ice-char = ALPHA / DIGIT / "+" / "/". */
bool vg_sdp_ice_chars(const char *p, size_t n);
/* RFC 8866 9: token characters (mid, foundation-like identifiers). */
bool vg_sdp_token_chars(const char *p, size_t n);

/* Digest length in bytes of an RFC 8122 hash function name
 * (case-insensitive), or -1 when unknown. */
int vg_sdp_fingerprint_alg_len(vg_span_t alg);
/* Validates "<hex>:<hex>:..." against the algorithm's length and fills `fp`
 * (alg lower-cased, value upper-cased, bytes). False when malformed. */
bool vg_sdp_fingerprint_decode(vg_sdp_fingerprint_t *fp, vg_span_t alg, vg_span_t value);

#endif
