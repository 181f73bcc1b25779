/* Conversions between vg_addr_t and the socket API's sockaddr. IPv4-mapped
 * IPv6 addresses (::ffff:a.b.c.d, what a dual-stack socket reports for IPv4
 * peers) become plain IPv4, so a peer has one address however it arrives. */
#ifndef VG_IO_SOCKADDR_H
#define VG_IO_SOCKADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "base/addr.h"

/* Fills `out` from a sockaddr; VG_EINVAL for a family other than 4/6. */
int vg_sockaddr_to_addr(const struct sockaddr *sa, vg_transport_t t, vg_addr_t *out);
/* Fills `ss` (and its length) for `a`; with `v6_socket`, IPv4 addresses are
 * written IPv4-mapped for a dual-stack IPv6 socket. */
socklen_t vg_addr_to_sockaddr(const vg_addr_t *a, bool v6_socket, struct sockaddr_storage *ss);

/* Binds the caller's listening socket (e.g. uv_tcp_bind on its handle) to
 * `sa`, with IPV6_V6ONLY off; returns 0 or a negative libuv error. `ud`
 * (nullable) is the caller's, passed through. */
typedef int (*vg_sockaddr_bind_fn)(void *ud, const struct sockaddr *sa);
/* Tries the listening addresses in order through `try_bind` until one binds:
 * `bind_addr` (nullable, borrowed) with `port` when given, the only try;
 * else [::]:`port` dual-stack (IPv4 peers arrive as ::ffff:a.b.c.d), then
 * 0.0.0.0:`port` only when that fails with UV_EAFNOSUPPORT or
 * UV_EADDRNOTAVAIL (no IPv6 on this host). On the retry `try_bind` must
 * discard whatever the failed try left. Returns the last try's result: 0
 * bound, else its negative libuv error. */
int vg_sockaddr_bind(const vg_addr_t *bind_addr, uint16_t port, vg_sockaddr_bind_fn try_bind,
                     void *ud);

#endif
