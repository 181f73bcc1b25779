#include "sig/rfc4571.h"

#include <string.h>

#include "base/bytes.h"

void vg_rfc4571_init(vg_rfc4571_t *d) {
  d->hdr_have = 0;
  d->need = 0;
  d->have = 0;
}

int vg_rfc4571_feed(vg_rfc4571_t *d, const uint8_t *in, size_t len, const uint8_t **frame,
                    size_t *frame_len) {
  *frame = NULL;
  *frame_len = 0;
  size_t off = 0;
  if (d->need == 0) {
    /* The length field, possibly split across reads. */
    while (d->hdr_have < 2 && off < len) d->hdr[d->hdr_have++] = in[off++];
    if (d->hdr_have < 2) return (int)off;
    size_t n = vg_load_u16(d->hdr);
    if (n == 0 || n > VG_RFC4571_MAX_FRAME) return VG_EPROTO;
    d->need = n;
    d->have = 0;
    /* Fast path: the whole frame is in the input; hand it out in place. */
    if (len - off >= n) {
      *frame = in + off;
      *frame_len = n;
      d->need = 0;
      d->hdr_have = 0;
      return (int)(off + n);
    }
  }
  size_t take = d->need - d->have;
  if (take > len - off) take = len - off;
  memcpy(d->buf + d->have, in + off, take);
  d->have += take;
  off += take;
  if (d->have == d->need) {
    *frame = d->buf;
    *frame_len = d->need;
    d->need = 0;
    d->hdr_have = 0;
  }
  return (int)off;
}

int vg_rfc4571_header(size_t len, uint8_t hdr[2]) {
  if (len == 0 || len > 65535) return VG_EINVAL;
  vg_store_u16(hdr, (uint16_t)len);
  return VG_OK;
}
