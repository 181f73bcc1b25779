/* A hash map from short byte strings (keys up to VG_MAP_KEY_MAX bytes) to
 * pointers: open addressing, linear probing, tombstones, kept at most half
 * full so probes stay short. Lookups never allocate; put may grow the table
 * (rehashing once per doubling). Not thread-safe. */
#ifndef VG_BASE_MAP_H
#define VG_BASE_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define VG_MAP_KEY_MAX 64

typedef struct vg_map_slot vg_map_slot_t;

typedef struct {
  vg_map_slot_t *slots; /* owned */
  size_t n, used, dead;
} vg_map_t;

int vg_map_init(vg_map_t *m) VG_MUST_USE;
void vg_map_cleanup(vg_map_t *m);
/* The value for `key`, or NULL. */
void *vg_map_get(const vg_map_t *m, const void *key, size_t len);
/* Inserts or replaces. VG_EINVAL for an empty or too long key, VG_ENOMEM. */
int vg_map_put(vg_map_t *m, const void *key, size_t len, void *val) VG_MUST_USE;
/* Removes `key` if present; returns its value or NULL. */
void *vg_map_del(vg_map_t *m, const void *key, size_t len);
size_t vg_map_count(const vg_map_t *m);
/* Calls fn for every value (the map must not change during the walk). */
void vg_map_each(const vg_map_t *m, void (*fn)(void *ud, void *val), void *ud);

#endif
