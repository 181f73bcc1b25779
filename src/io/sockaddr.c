#include "io/sockaddr.h"

#include <string.h>
#include <uv.h>

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int vg_sockaddr_to_addr(const struct sockaddr *sa, vg_transport_t t, vg_addr_t *out) {
  memset(out, 0, sizeof *out);
  out->transport = (uint8_t)t;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
    out->family = 4;
    memcpy(out->ip, &s4->sin_addr, 4);
    out->port = ntohs(s4->sin_port);
    return VG_OK;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
    const uint8_t *ip = s6->sin6_addr.s6_addr;
    out->port = ntohs(s6->sin6_port);
    if (memcmp(ip, v4_mapped_prefix, 12) == 0) {
      out->family = 4;
      memcpy(out->ip, ip + 12, 4);
    } else {
      out->family = 6;
      memcpy(out->ip, ip, 16);
    }
    return VG_OK;
  }
  return VG_EINVAL;
}

socklen_t vg_addr_to_sockaddr(const vg_addr_t *a, bool v6_socket, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  if (a->family == 4 && !v6_socket) {
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(a->port);
    memcpy(&s4->sin_addr, a->ip, 4);
    return sizeof *s4;
  }
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
  s6->sin6_family = AF_INET6;
  s6->sin6_port = htons(a->port);
  if (a->family == 4) {
    memcpy(s6->sin6_addr.s6_addr, v4_mapped_prefix, 12);
    memcpy(s6->sin6_addr.s6_addr + 12, a->ip, 4);
  } else {
    memcpy(s6->sin6_addr.s6_addr, a->ip, 16);
  }
  return sizeof *s6;
}

int vg_sockaddr_bind(const vg_addr_t *bind_addr, uint16_t port, vg_sockaddr_bind_fn try_bind, void *ud) {
  struct sockaddr_storage ss;
  if (bind_addr) {
    vg_addr_t a = *bind_addr;
    a.port = port;
    vg_addr_to_sockaddr(&a, false, &ss);
    return try_bind(ud, (struct sockaddr *)&ss);
  }
  struct sockaddr_in6 any6;
  memset(&any6, 0, sizeof any6);
  any6.sin6_family = AF_INET6;
  any6.sin6_port = htons(port);
  any6.sin6_addr = in6addr_any;
  int r = try_bind(ud, (struct sockaddr *)&any6);
  if (r != UV_EAFNOSUPPORT && r != UV_EADDRNOTAVAIL) return r;
  /* no IPv6 on this host */
  struct sockaddr_in any4;
  memset(&any4, 0, sizeof any4);
  any4.sin_family = AF_INET;
  any4.sin_port = htons(port);
  any4.sin_addr.s_addr = htonl(INADDR_ANY);
  return try_bind(ud, (struct sockaddr *)&any4);
}
