#include "core/demux.h"

vg_demux_kind_t vg_demux_classify(const uint8_t *buf, size_t len) {
  if (len == 0) return VG_DEMUX_OTHER;
  uint8_t b = buf[0];
  /* RFC 7983 §7: 0..3 STUN. */
  if (b <= 3) return VG_DEMUX_STUN;
  /* 16..19 ZRTP: not ours. */
  /* 20..63 DTLS. */
  if (b >= 20 && b <= 63) return VG_DEMUX_DTLS;
  /* 64..79 TURN channel data: we are not a TURN server. */
  /* 128..191 RTP/RTCP; RFC 5761 §4 tells them apart by the second byte. */
  if (b >= 128 && b <= 191) {
    if (len >= 2 && buf[1] >= 192 && buf[1] <= 223) return VG_DEMUX_RTCP;
    return VG_DEMUX_RTP;
  }
  return VG_DEMUX_OTHER;
}

const char *vg_demux_name(vg_demux_kind_t kind) {
  switch (kind) {
  case VG_DEMUX_STUN: return "stun";
  case VG_DEMUX_DTLS: return "dtls";
  case VG_DEMUX_RTP: return "rtp";
  case VG_DEMUX_RTCP: return "rtcp";
  case VG_DEMUX_OTHER: break;
  }
  return "other";
}
