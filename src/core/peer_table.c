#include "core/peer_table.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/demux.h"
#include "core/stun.h"

/* Three maps over one open-addressing hash table with linear probing and
 * tombstones, each kept at most half full so probes stay short and end:
 *
 *   ufrags: local ufrag     -> peer
 *   addrs:  remote address  -> peer
 *   peers:  peer pointer    -> entry (its ufrag and bound addresses)
 *
 * The third makes removal O(paths), not a scan of the table, so sessions can
 * come and go by the thousand. */

#define INITIAL_SLOTS 64
#define KEY_MAX VG_PEER_TABLE_UFRAG_MAX
/* Addresses remembered per peer for removal; matches the paths a peer
 * validates (a UDP and a TCP path from a few interfaces). Beyond this the
 * oldest binding is dropped. */
#define PATHS_PER_PEER 8

enum { SLOT_EMPTY = 0, SLOT_USED = 1, SLOT_DEAD = 2 };

typedef struct {
  uint8_t state;
  uint8_t klen;
  uint8_t key[KEY_MAX];
  void *val; /* borrowed peer, or owned entry_t in the peers map */
} slot_t;

typedef struct {
  slot_t *slots; /* owned; n entries, a power of two */
  size_t n, used, dead;
} map_t;

typedef struct {
  void *peer; /* borrowed */
  uint8_t ufrag_len;
  char ufrag[VG_PEER_TABLE_UFRAG_MAX];
  vg_addr_t addrs[PATHS_PER_PEER];
  size_t n_addrs;
} entry_t;

struct vg_peer_table {
  map_t ufrags, addrs, peers;
};

/* ---- the generic map ---------------------------------------------------- */

static uint32_t hash_key(const uint8_t *k, size_t len) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < len; i++) h = (h ^ k[i]) * 16777619u;
  return h;
}

static int map_init(map_t *m) {
  m->slots = calloc(INITIAL_SLOTS, sizeof *m->slots);
  m->n = INITIAL_SLOTS;
  m->used = m->dead = 0;
  return m->slots ? VG_OK : VG_ENOMEM;
}

static slot_t *map_find(const map_t *m, const uint8_t *k, size_t len) {
  size_t mask = m->n - 1;
  for (size_t i = hash_key(k, len) & mask;; i = (i + 1) & mask) {
    slot_t *s = &m->slots[i];
    if (s->state == SLOT_EMPTY) return NULL;
    if (s->state == SLOT_USED && s->klen == len && memcmp(s->key, k, len) == 0) return s;
  }
}

static void raw_insert(slot_t *slots, size_t n, const uint8_t *k, size_t len, void *val) {
  size_t mask = n - 1;
  size_t i = hash_key(k, len) & mask;
  while (slots[i].state == SLOT_USED) i = (i + 1) & mask;
  slots[i].state = SLOT_USED;
  slots[i].klen = (uint8_t)len;
  memcpy(slots[i].key, k, len);
  slots[i].val = val;
}

/* Makes room for one more key: rehash (dropping tombstones), doubling when
 * live keys would pass a quarter of the slots. */
static int map_reserve(map_t *m) {
  if ((m->used + m->dead + 1) * 2 <= m->n) return VG_OK;
  size_t n = (m->used + 1) * 4 > m->n ? m->n * 2 : m->n;
  slot_t *slots = calloc(n, sizeof *slots);
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

/* Inserts or replaces. */
static int map_put(map_t *m, const uint8_t *k, size_t len, void *val) {
  slot_t *s = map_find(m, k, len);
  if (s) {
    s->val = val;
    return VG_OK;
  }
  int r = map_reserve(m);
  if (r < 0) return r;
  raw_insert(m->slots, m->n, k, len, val);
  m->used++;
  return VG_OK;
}

static void map_del(map_t *m, slot_t *s) {
  s->state = SLOT_DEAD;
  m->used--;
  m->dead++;
}

/* ---- keys --------------------------------------------------------------- */

/* An address as key bytes: exactly the fields vg_addr_equal compares. */
static size_t addr_key(const vg_addr_t *a, uint8_t *k) {
  size_t n = a->family == 4 ? 4 : 16;
  k[0] = a->family;
  k[1] = a->transport;
  k[2] = (uint8_t)(a->port >> 8);
  k[3] = (uint8_t)a->port;
  memcpy(k + 4, a->ip, n);
  return 4 + n;
}

static entry_t *entry_of(const vg_peer_table_t *t, void *peer) {
  slot_t *s = map_find(&t->peers, (const uint8_t *)&peer, sizeof peer);
  return s ? s->val : NULL;
}

/* ---- the table ---------------------------------------------------------- */

int vg_peer_table_create(vg_peer_table_t **out) {
  *out = NULL;
  vg_peer_table_t *t = calloc(1, sizeof *t);
  if (!t) return VG_ENOMEM;
  if (map_init(&t->ufrags) < 0 || map_init(&t->addrs) < 0 || map_init(&t->peers) < 0) goto fail;
  *out = t;
  return VG_OK;
fail:
  vg_peer_table_destroy(t);
  return VG_ENOMEM;
}

void vg_peer_table_destroy(vg_peer_table_t *t) {
  if (!t) return;
  for (size_t i = 0; t->peers.slots && i < t->peers.n; i++)
    if (t->peers.slots[i].state == SLOT_USED) free(t->peers.slots[i].val);
  free(t->ufrags.slots);
  free(t->addrs.slots);
  free(t->peers.slots);
  free(t);
}

int vg_peer_table_add(vg_peer_table_t *t, const char *local_ufrag, void *peer) {
  size_t len = strlen(local_ufrag);
  if (len == 0 || len > VG_PEER_TABLE_UFRAG_MAX || !peer) return VG_EINVAL;
  if (map_find(&t->ufrags, (const uint8_t *)local_ufrag, len)) return VG_EEXIST;
  if (entry_of(t, peer)) return VG_EEXIST;
  entry_t *e = calloc(1, sizeof *e);
  if (!e) return VG_ENOMEM;
  e->peer = peer;
  e->ufrag_len = (uint8_t)len;
  memcpy(e->ufrag, local_ufrag, len);
  int r = map_put(&t->peers, (const uint8_t *)&peer, sizeof peer, e);
  if (r == VG_OK) r = map_put(&t->ufrags, (const uint8_t *)local_ufrag, len, peer);
  if (r < 0) {
    slot_t *s = map_find(&t->peers, (const uint8_t *)&peer, sizeof peer);
    if (s) map_del(&t->peers, s);
    free(e);
  }
  return r;
}

/* Drops `a` from the address map if it still points at `peer`. */
static void unbind(vg_peer_table_t *t, const vg_addr_t *a, void *peer) {
  uint8_t k[20];
  size_t klen = addr_key(a, k);
  slot_t *s = map_find(&t->addrs, k, klen);
  if (s && s->val == peer) map_del(&t->addrs, s);
}

int vg_peer_table_bind(vg_peer_table_t *t, const vg_addr_t *remote, void *peer) {
  if (remote->family != 4 && remote->family != 6) return VG_EINVAL;
  entry_t *e = entry_of(t, peer);
  if (!e) return VG_ENOTFOUND;
  for (size_t i = 0; i < e->n_addrs; i++)
    if (vg_addr_equal(&e->addrs[i], remote)) goto put; /* already one of its paths */
  if (e->n_addrs == PATHS_PER_PEER) {
    unbind(t, &e->addrs[0], peer);
    memmove(&e->addrs[0], &e->addrs[1], sizeof e->addrs[0] * (PATHS_PER_PEER - 1));
    e->n_addrs--;
  }
  e->addrs[e->n_addrs++] = *remote;
put:;
  uint8_t k[20];
  size_t klen = addr_key(remote, k);
  return map_put(&t->addrs, k, klen, peer); /* moves it from any other peer */
}

void vg_peer_table_remove(vg_peer_table_t *t, void *peer) {
  slot_t *ps = map_find(&t->peers, (const uint8_t *)&peer, sizeof peer);
  if (!ps) return;
  entry_t *e = ps->val;
  slot_t *us = map_find(&t->ufrags, (const uint8_t *)e->ufrag, e->ufrag_len);
  if (us && us->val == peer) map_del(&t->ufrags, us);
  for (size_t i = 0; i < e->n_addrs; i++) unbind(t, &e->addrs[i], peer);
  map_del(&t->peers, ps);
  free(e);
}

void *vg_peer_table_find_ufrag(const vg_peer_table_t *t, const char *ufrag, size_t len) {
  if (len == 0 || len > VG_PEER_TABLE_UFRAG_MAX) return NULL;
  slot_t *s = map_find(&t->ufrags, (const uint8_t *)ufrag, len);
  return s ? s->val : NULL;
}

void *vg_peer_table_find_addr(const vg_peer_table_t *t, const vg_addr_t *remote) {
  if (remote->family != 4 && remote->family != 6) return NULL;
  uint8_t k[20];
  size_t klen = addr_key(remote, k);
  slot_t *s = map_find(&t->addrs, k, klen);
  return s ? s->val : NULL;
}

size_t vg_peer_table_count(const vg_peer_table_t *t) { return t->peers.used; }

void *vg_peer_table_route(const vg_peer_table_t *t, const vg_addr_t *from, const uint8_t *buf,
                          size_t len) {
  if (vg_demux_classify(buf, len) == VG_DEMUX_STUN) {
    const uint8_t *user;
    size_t user_len;
    if (vg_stun_peek_username(buf, len, &user, &user_len) == VG_OK) {
      /* RFC 8445 §7.2.2: the receiver's own ufrag comes first. */
      const uint8_t *colon = memchr(user, ':', user_len);
      size_t ulen = colon ? (size_t)(colon - user) : user_len;
      return vg_peer_table_find_ufrag(t, (const char *)user, ulen);
    }
    /* Responses and indications carry no USERNAME: they go by address,
     * which the peer authenticated earlier. */
  }
  return vg_peer_table_find_addr(t, from);
}
