#include "base/addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

int vg_addr_parse(vg_addr_t *out, const char *ip, uint16_t port, vg_transport_t t) {
  memset(out, 0, sizeof *out);
  if (inet_pton(AF_INET, ip, out->ip) == 1) {
    out->family = 4;
  } else if (inet_pton(AF_INET6, ip, out->ip) == 1) {
    out->family = 6;
  } else {
    return VG_EINVAL;
  }
  out->port = port;
  out->transport = (uint8_t)t;
  return VG_OK;
}

void vg_addr_set_v4(vg_addr_t *out, uint32_t ip, uint16_t port, vg_transport_t t) {
  memset(out, 0, sizeof *out);
  out->family = 4;
  out->ip[0] = (uint8_t)(ip >> 24);
  out->ip[1] = (uint8_t)(ip >> 16);
  out->ip[2] = (uint8_t)(ip >> 8);
  out->ip[3] = (uint8_t)ip;
  out->port = port;
  out->transport = (uint8_t)t;
}

int vg_addr_format_ip(const vg_addr_t *a, char *out, size_t cap) {
  char buf[INET6_ADDRSTRLEN];
  if (a->family == 4) {
    if (!inet_ntop(AF_INET, a->ip, buf, sizeof buf)) return VG_EINVAL;
  } else if (a->family == 6) {
    if (!inet_ntop(AF_INET6, a->ip, buf, sizeof buf)) return VG_EINVAL;
  } else {
    snprintf(buf, sizeof buf, "unset");
  }
  int n = snprintf(out, cap, "%s", buf);
  return (n < 0 || (size_t)n >= cap) ? VG_ENOSPC : n;
}

int vg_addr_format(const vg_addr_t *a, char *out, size_t cap) {
  char ip[INET6_ADDRSTRLEN];
  int r = vg_addr_format_ip(a, ip, sizeof ip);
  if (r < 0) return r;
  int n = a->family == 6 ? snprintf(out, cap, "[%s]:%u", ip, a->port)
                         : snprintf(out, cap, "%s:%u", ip, a->port);
  return (n < 0 || (size_t)n >= cap) ? VG_ENOSPC : n;
}

bool vg_addr_equal(const vg_addr_t *a, const vg_addr_t *b) {
  return a->family == b->family && a->transport == b->transport && a->port == b->port &&
         memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

uint32_t vg_addr_hash(const vg_addr_t *a) {
  /* FNV-1a over the fields that vg_addr_equal compares. */
  uint32_t h = 2166136261u;
  size_t n = a->family == 4 ? 4 : 16;
  uint8_t head[4] = {a->family, a->transport, (uint8_t)(a->port >> 8), (uint8_t)a->port};
  for (size_t i = 0; i < 4; i++) h = (h ^ head[i]) * 16777619u;
  for (size_t i = 0; i < n; i++) h = (h ^ a->ip[i]) * 16777619u;
  return h;
}

bool vg_addr_is_loopback(const vg_addr_t *a) {
  static const uint8_t v6_loop[16] = {[15] = 1};
  if (a->family == 4) return a->ip[0] == 127;
  if (a->family == 6) return memcmp(a->ip, v6_loop, 16) == 0;
  return false;
}

size_t vg_addr_key(const vg_addr_t *a, uint8_t *k) {
  size_t n = a->family == 4 ? 4 : 16;
  k[0] = a->family;
  k[1] = a->transport;
  k[2] = (uint8_t)(a->port >> 8);
  k[3] = (uint8_t)a->port;
  memcpy(k + 4, a->ip, n);
  return 4 + n;
}
