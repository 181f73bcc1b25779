#include "sig/sniff.h"

#include <stdbool.h>

#include "base/bytes.h"
#include "sig/rfc4571.h"

static bool is_token_letter(uint8_t c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

vg_sniff_t vg_sniff(const uint8_t *buf, size_t len) {
  if (len == 0) return VG_SNIFF_NEED_MORE;
  /* HTTP methods are tokens; every registered one starts with a letter. */
  if (is_token_letter(buf[0])) return VG_SNIFF_HTTP;
  /* RFC 8446 §5.1 / RFC 5246 §6.2.1: ContentType handshake (22), then a
   * legacy version 3.x. */
  if (buf[0] == 0x16) {
    if (len < 2) return VG_SNIFF_NEED_MORE;
    return buf[1] == 0x03 ? VG_SNIFF_TLS : VG_SNIFF_UNKNOWN;
  }
  /* RFC 4571 §2: a 16-bit length, then the packet: a STUN Binding request
   * (RFC 8489 §5: top bits 00, type 0x0001) with the magic cookie. A STUN
   * message is 20..65535 bytes, so the frame length is at least 20. */
  if (len < VG_SNIFF_MAX) {
    /* Reject early what cannot become ICE-TCP: an opening frame too long
     * for a Binding request (we deframe at most VG_RFC4571_MAX_FRAME), too
     * short for STUN, or a byte outside the prefix above. */
    if (buf[0] >= (VG_RFC4571_MAX_FRAME >> 8)) return VG_SNIFF_UNKNOWN;
    if (len >= 2 && vg_load_u16(buf) < 20) return VG_SNIFF_UNKNOWN;
    if (len >= 3 && buf[2] != 0x00) return VG_SNIFF_UNKNOWN;
    if (len >= 4 && buf[3] != 0x01) return VG_SNIFF_UNKNOWN;
    return VG_SNIFF_NEED_MORE;
  }
  uint16_t frame_len = vg_load_u16(buf);
  uint16_t stun_type = vg_load_u16(buf + 2);
  uint32_t cookie = vg_load_u32(buf + 6);
  if (frame_len >= 20 && frame_len <= VG_RFC4571_MAX_FRAME && stun_type == 0x0001 && cookie == 0x2112A442u) return VG_SNIFF_ICE_TCP;
  return VG_SNIFF_UNKNOWN;
}

const char *vg_sniff_name(vg_sniff_t s) {
  switch (s) {
  case VG_SNIFF_NEED_MORE: return "undecided";
  case VG_SNIFF_HTTP: return "http";
  case VG_SNIFF_TLS: return "tls";
  case VG_SNIFF_ICE_TCP: return "ice-tcp";
  default: return "unknown";
  }
}
