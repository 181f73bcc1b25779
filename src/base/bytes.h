/* Bounds-checked big-endian readers and writers over a caller's buffer.
 *
 * Errors are sticky: a read past the end, or a write past the capacity,
 * sets `err`, returns 0 / does nothing, and every later call does the same.
 * Check `err` once after a run of calls. Wire data is never read by casting
 * a struct onto a buffer. */
#ifndef VG_BASE_BYTES_H
#define VG_BASE_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
  const uint8_t *p; /* borrowed */
  size_t len;
  size_t pos;
  bool err;
} vg_reader_t;

typedef struct {
  uint8_t *p; /* borrowed */
  size_t cap;
  size_t pos;
  bool err;
} vg_writer_t;

static inline vg_reader_t vg_reader(const uint8_t *p, size_t len) {
  vg_reader_t r = {p, len, 0, false};
  return r;
}

static inline size_t vg_reader_left(const vg_reader_t *r) { return r->err ? 0 : r->len - r->pos; }

static inline bool vg_reader_need(vg_reader_t *r, size_t n) {
  if (r->err || r->len - r->pos < n) {
    r->err = true;
    return false;
  }
  return true;
}

static inline uint8_t vg_read_u8(vg_reader_t *r) {
  if (!vg_reader_need(r, 1)) return 0;
  return r->p[r->pos++];
}

static inline uint16_t vg_read_u16(vg_reader_t *r) {
  if (!vg_reader_need(r, 2)) return 0;
  uint16_t v = (uint16_t)((r->p[r->pos] << 8) | r->p[r->pos + 1]);
  r->pos += 2;
  return v;
}

static inline uint32_t vg_read_u24(vg_reader_t *r) {
  if (!vg_reader_need(r, 3)) return 0;
  uint32_t v = ((uint32_t)r->p[r->pos] << 16) | ((uint32_t)r->p[r->pos + 1] << 8) |
               r->p[r->pos + 2];
  r->pos += 3;
  return v;
}

static inline uint32_t vg_read_u32(vg_reader_t *r) {
  if (!vg_reader_need(r, 4)) return 0;
  uint32_t v = ((uint32_t)r->p[r->pos] << 24) | ((uint32_t)r->p[r->pos + 1] << 16) |
               ((uint32_t)r->p[r->pos + 2] << 8) | r->p[r->pos + 3];
  r->pos += 4;
  return v;
}

static inline uint64_t vg_read_u64(vg_reader_t *r) {
  uint64_t hi = vg_read_u32(r);
  uint64_t lo = vg_read_u32(r);
  return (hi << 32) | lo;
}

/* Returns a pointer to the next `n` bytes (borrowed from the input) and
 * advances, or NULL on short input. */
static inline const uint8_t *vg_read_bytes(vg_reader_t *r, size_t n) {
  if (!vg_reader_need(r, n)) return NULL;
  const uint8_t *p = r->p + r->pos;
  r->pos += n;
  return p;
}

static inline bool vg_reader_skip(vg_reader_t *r, size_t n) { return vg_read_bytes(r, n) != NULL; }

static inline vg_writer_t vg_writer(uint8_t *p, size_t cap) {
  vg_writer_t w = {p, cap, 0, false};
  return w;
}

static inline bool vg_writer_need(vg_writer_t *w, size_t n) {
  if (w->err || w->cap - w->pos < n) {
    w->err = true;
    return false;
  }
  return true;
}

static inline void vg_write_u8(vg_writer_t *w, uint8_t v) {
  if (vg_writer_need(w, 1)) w->p[w->pos++] = v;
}

static inline void vg_write_u16(vg_writer_t *w, uint16_t v) {
  if (!vg_writer_need(w, 2)) return;
  w->p[w->pos++] = (uint8_t)(v >> 8);
  w->p[w->pos++] = (uint8_t)v;
}

static inline void vg_write_u24(vg_writer_t *w, uint32_t v) {
  if (!vg_writer_need(w, 3)) return;
  w->p[w->pos++] = (uint8_t)(v >> 16);
  w->p[w->pos++] = (uint8_t)(v >> 8);
  w->p[w->pos++] = (uint8_t)v;
}

static inline void vg_write_u32(vg_writer_t *w, uint32_t v) {
  if (!vg_writer_need(w, 4)) return;
  w->p[w->pos++] = (uint8_t)(v >> 24);
  w->p[w->pos++] = (uint8_t)(v >> 16);
  w->p[w->pos++] = (uint8_t)(v >> 8);
  w->p[w->pos++] = (uint8_t)v;
}

static inline void vg_write_u64(vg_writer_t *w, uint64_t v) {
  vg_write_u32(w, (uint32_t)(v >> 32));
  vg_write_u32(w, (uint32_t)v);
}

static inline void vg_write_bytes(vg_writer_t *w, const void *src, size_t n) {
  if (n == 0 || !vg_writer_need(w, n)) return;
  memcpy(w->p + w->pos, src, n);
  w->pos += n;
}

static inline void vg_write_zeros(vg_writer_t *w, size_t n) {
  if (n == 0 || !vg_writer_need(w, n)) return;
  memset(w->p + w->pos, 0, n);
  w->pos += n;
}

/* Overwrites a u16 already written at `at` (for back-patched lengths). */
static inline void vg_write_u16_at(vg_writer_t *w, size_t at, uint16_t v) {
  if (w->err || at + 2 > w->pos) {
    w->err = true;
    return;
  }
  w->p[at] = (uint8_t)(v >> 8);
  w->p[at + 1] = (uint8_t)v;
}

/* Loads and stores on a buffer the caller has already bounds-checked. */
static inline uint16_t vg_load_u16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t vg_load_u32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void vg_store_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static inline void vg_store_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* Writes bytes as upper-case hex pairs separated by colons ("AB:CD:01"),
 * the form of SDP a=fingerprint (RFC 8122 §5) and of the certificate
 * fingerprints voxgate prints. Always NUL-terminates; truncates (at a pair
 * boundary) when `cap` is too small. */
static inline void vg_format_hex_colons(const uint8_t *in, size_t n, char *out, size_t cap) {
  static const char hex[] = "0123456789ABCDEF";
  size_t pos = 0;
  if (cap == 0) return;
  for (size_t i = 0; i < n && pos + 3 <= cap; i++) {
    if (i) out[pos++] = ':';
    out[pos++] = hex[in[i] >> 4];
    out[pos++] = hex[in[i] & 15];
  }
  out[pos < cap ? pos : cap - 1] = '\0';
}

#endif
