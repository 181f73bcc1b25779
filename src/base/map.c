#include "base/map.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_SLOTS 64

enum { SLOT_EMPTY = 0, SLOT_USED = 1, SLOT_DEAD = 2 };

struct vg_map_slot {
  uint8_t state;
  uint8_t klen;
  uint8_t key[VG_MAP_KEY_MAX];
  void *val;
};

static uint32_t hash_key(const uint8_t *k, size_t len) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < len; i++) h = (h ^ k[i]) * 16777619u;
  return h;
}

int vg_map_init(vg_map_t *m) {
  m->slots = calloc(INITIAL_SLOTS, sizeof *m->slots);
  m->n = INITIAL_SLOTS;
  m->used = m->dead = 0;
  return m->slots ? VG_OK : VG_ENOMEM;
}

void vg_map_cleanup(vg_map_t *m) {
  free(m->slots);
  m->slots = NULL;
  m->n = m->used = m->dead = 0;
}

static vg_map_slot_t *find(const vg_map_t *m, const uint8_t *k, size_t len) {
  if (len == 0 || len > VG_MAP_KEY_MAX || !m->slots) return NULL;
  size_t mask = m->n - 1;
  for (size_t i = hash_key(k, len) & mask;; i = (i + 1) & mask) {
    vg_map_slot_t *s = &m->slots[i];
    if (s->state == SLOT_EMPTY) return NULL;
    if (s->state == SLOT_USED && s->klen == len && memcmp(s->key, k, len) == 0) return s;
  }
}

static void raw_insert(vg_map_slot_t *slots, size_t n, const uint8_t *k, size_t len, void *val) {
  size_t mask = n - 1;
  size_t i = hash_key(k, len) & mask;
  while (slots[i].state == SLOT_USED) i = (i + 1) & mask;
  slots[i].state = SLOT_USED;
  slots[i].klen = (uint8_t)len;
  memcpy(slots[i].key, k, len);
  slots[i].val = val;
}

/* Room for one more key: rehash (dropping tombstones), doubling when live
 * keys would pass a quarter of the slots. */
static int reserve(vg_map_t *m) {
  if ((m->used + m->dead + 1) * 2 <= m->n) return VG_OK;
  size_t n = (m->used + 1) * 4 > m->n ? m->n * 2 : m->n;
  vg_map_slot_t *slots = calloc(n, sizeof *slots);
  if (!slots) return VG_ENOMEM;
  for (size_t i = 0; i < m->n; i++)
    if (m->slots[i].state == SLOT_USED)
      raw_insert(slots, n, m->slots[i].key, m->slots[i].klen, m->slots[i].val);
  free(m->slots);
  m->slots = slots;
  m->n = n;
  m->dead = 0;
  return VG_OK;
}

void *vg_map_get(const vg_map_t *m, const void *key, size_t len) {
  vg_map_slot_t *s = find(m, key, len);
  return s ? s->val : NULL;
}

int vg_map_put(vg_map_t *m, const void *key, size_t len, void *val) {
  if (len == 0 || len > VG_MAP_KEY_MAX) return VG_EINVAL;
  vg_map_slot_t *s = find(m, key, len);
  if (s) {
    s->val = val;
    return VG_OK;
  }
  int r = reserve(m);
  if (r < 0) return r;
  raw_insert(m->slots, m->n, key, len, val);
  m->used++;
  return VG_OK;
}

void *vg_map_del(vg_map_t *m, const void *key, size_t len) {
  vg_map_slot_t *s = find(m, key, len);
  if (!s) return NULL;
  s->state = SLOT_DEAD;
  m->used--;
  m->dead++;
  return s->val;
}

size_t vg_map_count(const vg_map_t *m) { return m->used; }

void vg_map_each(const vg_map_t *m, void (*fn)(void *ud, void *val), void *ud) {
  for (size_t i = 0; i < m->n; i++)
    if (m->slots[i].state == SLOT_USED) fn(ud, m->slots[i].val);
}
