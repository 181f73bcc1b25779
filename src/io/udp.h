/* The one UDP socket every session shares (RFC 8445 host candidates on a
 * single port; sessions are told apart by the peer table, not by port).
 *
 * Receives in batches (recvmmsg through libuv) into one buffer owned by the
 * socket, and hands each datagram to `on_recv` with its source. What
 * `on_recv` sends is queued (copied) and leaves with one sendmmsg when the
 * receive batch ends (the echo of a batch in one system call); any other
 * send goes at once. A datagram the kernel cannot take right now is
 * dropped and counted, as real-time media wants (no queueing behind stale
 * audio); so is one it refuses, without holding up the others. */
#ifndef VG_IO_UDP_H
#define VG_IO_UDP_H

#include <stdint.h>
#include <uv.h>

#include "base/addr.h"
#include "base/err.h"

typedef void (*vg_udp_recv_fn)(void *ud, const vg_addr_t *from, const uint8_t *buf, size_t len);

typedef struct vg_udp vg_udp_t;

typedef struct {
  uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, tx_dropped, rx_truncated;
  uint64_t tx_batches; /* sendmmsg calls */
} vg_udp_stats_t;

/* Opens and binds the socket: on `bind_addr` (nullable: all interfaces,
 * dual-stack IPv6 when the host has it, else IPv4) and `port`. Returns a
 * negative libuv error (uv_strerror) on failure. */
int vg_udp_open(uv_loop_t *loop, const vg_addr_t *bind_addr, uint16_t port, vg_udp_recv_fn on_recv,
                void *ud, vg_udp_t **out);
/* Sends (or, inside `on_recv`, queues) one datagram; `buf` is copied.
 * Returns 0, or a negative libuv error for a datagram dropped at once (a
 * queued one that fails later is only counted in the stats). */
int vg_udp_send(vg_udp_t *u, const vg_addr_t *to, const uint8_t *buf, size_t len);
void vg_udp_get_stats(const vg_udp_t *u, vg_udp_stats_t *out);
/* Stops receiving and frees the socket once libuv has closed it. */
void vg_udp_close(vg_udp_t *u);

#endif
