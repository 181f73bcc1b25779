/* The peer table: which peer a datagram arriving on the shared port belongs to.
 *
 * One UDP socket (and one TCP listener) serves every session, so the IO
 * layer asks this table where each datagram goes:
 *
 *   - a STUN Binding request is routed by the local ufrag, the part of its
 *     USERNAME before the colon (RFC 8445 §7.2.2: "LFRAG:RFRAG" as seen by
 *     the receiver) — that is how a new path to a known peer is found;
 *   - everything else (DTLS, SRTP, SRTCP, STUN responses) is routed by the
 *     remote transport address, which is bound to a peer only after that
 *     peer authenticated a STUN request from it (vg_peer_table_bind).
 *
 * Peers are opaque pointers owned by the caller. Lookups do not allocate;
 * add/bind may grow the table (once per session or path, not per packet);
 * remove costs O(paths of that peer), so churn stays cheap. */
#ifndef VG_CORE_PEER_TABLE_H
#define VG_CORE_PEER_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "base/err.h"

/* Longest local ufrag the table stores. We generate our own ufrags, so this
 * only bounds our choice (RFC 8839 §5.4 allows up to 256 characters). */
#define VG_PEER_TABLE_UFRAG_MAX 64

typedef struct vg_peer_table vg_peer_table_t;

int vg_peer_table_create(vg_peer_table_t **out) VG_MUST_USE;
void vg_peer_table_destroy(vg_peer_table_t *t);

/* Registers `peer` (borrowed, non-NULL) under its local ufrag. VG_EEXIST
 * when the ufrag is taken, VG_EINVAL when it is empty or too long. */
int vg_peer_table_add(vg_peer_table_t *t, const char *local_ufrag, void *peer) VG_MUST_USE;

/* Binds a remote address to `peer` (a path it has authenticated; the peer
 * must have been added). A later bind of the same address to another peer
 * moves it there. VG_ENOTFOUND for a peer never added. */
int vg_peer_table_bind(vg_peer_table_t *t, const vg_addr_t *remote, void *peer) VG_MUST_USE;

/* Forgets one bound address (a path that is gone, e.g. a closed ICE-TCP
 * connection). */
void vg_peer_table_unbind(vg_peer_table_t *t, const vg_addr_t *remote);

/* Forgets `peer`: its ufrag and every address bound to it. */
void vg_peer_table_remove(vg_peer_table_t *t, void *peer);

/* The peer a datagram from `from` belongs to, or NULL. */
void *vg_peer_table_route(const vg_peer_table_t *t, const vg_addr_t *from, const uint8_t *buf,
                          size_t len);

/* Lookups by key alone. */
void *vg_peer_table_find_ufrag(const vg_peer_table_t *t, const char *ufrag, size_t len);
void *vg_peer_table_find_addr(const vg_peer_table_t *t, const vg_addr_t *remote);

size_t vg_peer_table_count(const vg_peer_table_t *t);

#endif
