#include "core/peer_table.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/map.h"
#include "core/demux.h"
#include "core/stun.h"

/* Three maps (base/map.h):
 *
 *   ufrags: local ufrag     -> peer
 *   addrs:  remote address  -> peer
 *   peers:  peer pointer    -> entry (its ufrag and bound addresses)
 *
 * The third makes removal O(paths), not a scan of the table, so sessions can
 * come and go by the thousand. */

/* Addresses remembered per peer for removal; matches the paths a peer
 * validates (a UDP and a TCP path from a few interfaces). Beyond this the
 * oldest binding is dropped. */
#define PATHS_PER_PEER 8

typedef struct {
  void *peer; /* borrowed */
  uint8_t ufrag_len;
  char ufrag[VG_PEER_TABLE_UFRAG_MAX];
  vg_addr_t addrs[PATHS_PER_PEER];
  size_t n_addrs;
} entry_t;

struct vg_peer_table {
  vg_map_t ufrags, addrs, peers;
};

static entry_t *entry_of(const vg_peer_table_t *t, void *peer) {
  return vg_map_get(&t->peers, &peer, sizeof peer);
}

int vg_peer_table_create(vg_peer_table_t **out) {
  *out = NULL;
  vg_peer_table_t *t = calloc(1, sizeof *t);
  if (!t) return VG_ENOMEM;
  if (vg_map_init(&t->ufrags) < 0 || vg_map_init(&t->addrs) < 0 || vg_map_init(&t->peers) < 0)
    goto fail;
  *out = t;
  return VG_OK;
fail:
  vg_peer_table_destroy(t);
  return VG_ENOMEM;
}

static void free_entry(void *ud, void *val) {
  (void)ud;
  free(val);
}

void vg_peer_table_destroy(vg_peer_table_t *t) {
  if (!t) return;
  vg_map_each(&t->peers, free_entry, NULL);
  vg_map_cleanup(&t->ufrags);
  vg_map_cleanup(&t->addrs);
  vg_map_cleanup(&t->peers);
  free(t);
}

int vg_peer_table_add(vg_peer_table_t *t, const char *local_ufrag, void *peer) {
  size_t len = strlen(local_ufrag);
  if (len == 0 || len > VG_PEER_TABLE_UFRAG_MAX || !peer) return VG_EINVAL;
  if (vg_map_get(&t->ufrags, local_ufrag, len) || entry_of(t, peer)) return VG_EEXIST;
  entry_t *e = calloc(1, sizeof *e);
  if (!e) return VG_ENOMEM;
  e->peer = peer;
  e->ufrag_len = (uint8_t)len;
  memcpy(e->ufrag, local_ufrag, len);
  int r = vg_map_put(&t->peers, &peer, sizeof peer, e);
  if (r == VG_OK) r = vg_map_put(&t->ufrags, local_ufrag, len, peer);
  if (r < 0) {
    vg_map_del(&t->peers, &peer, sizeof peer);
    free(e);
  }
  return r;
}

/* Drops `a` from the address map if it still points at `peer`. */
static void unbind(vg_peer_table_t *t, const vg_addr_t *a, void *peer) {
  uint8_t k[VG_ADDR_KEY_MAX];
  size_t klen = vg_addr_key(a, k);
  if (vg_map_get(&t->addrs, k, klen) == peer) vg_map_del(&t->addrs, k, klen);
}

int vg_peer_table_bind(vg_peer_table_t *t, const vg_addr_t *remote, void *peer) {
  if (remote->family != 4 && remote->family != 6) return VG_EINVAL;
  entry_t *e = entry_of(t, peer);
  if (!e) return VG_ENOTFOUND;
  bool known = false;
  for (size_t i = 0; i < e->n_addrs && !known; i++) known = vg_addr_equal(&e->addrs[i], remote);
  if (!known) {
    if (e->n_addrs == PATHS_PER_PEER) {
      unbind(t, &e->addrs[0], peer);
      memmove(&e->addrs[0], &e->addrs[1], sizeof e->addrs[0] * (PATHS_PER_PEER - 1));
      e->n_addrs--;
    }
    e->addrs[e->n_addrs++] = *remote;
  }
  uint8_t k[VG_ADDR_KEY_MAX];
  size_t klen = vg_addr_key(remote, k);
  return vg_map_put(&t->addrs, k, klen, peer); /* moves it from any other peer */
}

void vg_peer_table_unbind(vg_peer_table_t *t, const vg_addr_t *remote) {
  uint8_t k[VG_ADDR_KEY_MAX];
  void *peer = vg_map_del(&t->addrs, k, vg_addr_key(remote, k));
  entry_t *e = peer ? entry_of(t, peer) : NULL;
  for (size_t i = 0; e && i < e->n_addrs; i++) {
    if (!vg_addr_equal(&e->addrs[i], remote)) continue;
    memmove(&e->addrs[i], &e->addrs[i + 1], sizeof e->addrs[0] * (e->n_addrs - i - 1));
    e->n_addrs--;
    break;
  }
}

void vg_peer_table_remove(vg_peer_table_t *t, void *peer) {
  entry_t *e = vg_map_del(&t->peers, &peer, sizeof peer);
  if (!e) return;
  if (vg_map_get(&t->ufrags, e->ufrag, e->ufrag_len) == peer)
    vg_map_del(&t->ufrags, e->ufrag, e->ufrag_len);
  for (size_t i = 0; i < e->n_addrs; i++) unbind(t, &e->addrs[i], peer);
  free(e);
}

void *vg_peer_table_find_ufrag(const vg_peer_table_t *t, const char *ufrag, size_t len) {
  if (len == 0 || len > VG_PEER_TABLE_UFRAG_MAX) return NULL;
  return vg_map_get(&t->ufrags, ufrag, len);
}

void *vg_peer_table_find_addr(const vg_peer_table_t *t, const vg_addr_t *remote) {
  if (remote->family != 4 && remote->family != 6) return NULL;
  uint8_t k[VG_ADDR_KEY_MAX];
  size_t klen = vg_addr_key(remote, k);
  return vg_map_get(&t->addrs, k, klen);
}

size_t vg_peer_table_count(const vg_peer_table_t *t) { return vg_map_count(&t->peers); }

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
