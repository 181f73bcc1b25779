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

#endif
