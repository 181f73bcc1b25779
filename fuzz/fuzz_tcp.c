/* The first bytes of a TCP connection on the shared port: sniffing, then,
 * for ICE-TCP, RFC 4571 deframing of the rest in pieces whose sizes come
 * from the input. Checks: sniffing is stable as bytes are added (a decision
 * never changes once made), frames are within bounds and account for every
 * byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sig/rfc4571.h"
#include "sig/sniff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t step = (size_t)(data[0] % 16) + 1;
  data++;
  size--;
  vg_sniff_t decided = VG_SNIFF_NEED_MORE;
  for (size_t i = 0; i <= size && i <= VG_SNIFF_MAX; i++) {
    vg_sniff_t s = vg_sniff(data, i);
    if (decided != VG_SNIFF_NEED_MORE && s != decided) abort();
    if (s != VG_SNIFF_NEED_MORE) decided = s;
  }
  if (size >= VG_SNIFF_MAX && decided == VG_SNIFF_NEED_MORE) abort();
  static vg_rfc4571_t d;
  vg_rfc4571_init(&d);
  size_t off = 0, framed = 0;
  while (off < size) {
    size_t n = size - off < step ? size - off : step;
    size_t o = 0;
    while (o < n) {
      const uint8_t *fr;
      size_t fl;
      int r = vg_rfc4571_feed(&d, data + off + o, n - o, &fr, &fl);
      if (r < 0) return 0;
      if (r == 0) abort();
      o += (size_t)r;
      if (fr) {
        if (fl == 0 || fl > VG_RFC4571_MAX_FRAME) abort();
        framed += fl + 2;
      }
    }
    off += n;
  }
  if (framed > size) abort();
  return 0;
}
