/* Fuzzes opus_rx with a sequence of packet records in simulated time.
 *
 * Record (6 bytes, then the payload when raw):
 *   op      bits 0-1: 0 raw payload, 1 canned real Opus packet, 2 time only
 *                     (pull), 3 flush;
 *           bits 2-3: how the deltas apply (below);
 *           bits 4-7: the pull cap of the second receiver (from caps[])
 *   dseq    int8, added to the sequence number (bits 2-3 = 2: dseq << 8)
 *   dts     int16 LE, added to the timestamp: bits 2-3 = 0 or 2: its low
 *           byte (int8) in 2.5 ms units; 1: raw 48 kHz ticks; 3: in 25 ms
 *           units (long jumps: fills up to the bound, discontinuities)
 *   step    uint8, milliseconds added to the clock
 *   arg     raw: payload length; canned: which packet
 *
 * Two receivers get the same pushes; one is drained with a whole frame of
 * room, the other a few samples at a time: their outputs (count and hash)
 * must agree after every record. Also checked: pull never exceeds its cap;
 * after a pull returns 0, poll_timeout is in the future; counters add up;
 * a final flush leaves nothing held. The canned packets are real libopus
 * output (SILK with FEC, CELT, 10/40/60 ms, stereo), encoded once. */
#include <opus/opus.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "media/opus_rx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond) {
  if (!cond) abort();
}

/* Pull caps for the second receiver: tiny, odd, around one 20 ms frame. */
static const size_t caps[16] = {1, 7, 40, 100, 161, 319, 320, 321, 500, 640, 959, 1000, 1280, 1919, 1920, 1920};

#define NCANNED 16
static struct {
  int len;
  uint8_t data[1500];
} canned[NCANNED];
static int ncanned;

/* A deterministic test signal without libm: two triangle waves and noise. */
static void signal(int16_t *pcm, int n, int channels, long start) {
  uint32_t seed = (uint32_t)start * 2654435761u + 1;
  for (int s = 0; s < n; s++) {
    long at = start + s;
    for (int c = 0; c < channels; c++) {
      long period = c ? 53 : 97;
      long ph = at % period;
      long tri = (ph < period / 2 ? ph : period - ph) * 4000 / period - 1000;
      seed = seed * 1103515245u + 12345u;
      pcm[s * channels + c] = (int16_t)(tri * 6 + (int)((seed >> 16) & 511) - 256);
    }
  }
}

static void encode_some(int channels, int app, int ms, int bitrate, int count) {
  int err;
  OpusEncoder *enc = opus_encoder_create(48000, channels, app, &err);
  if (!enc) return;
  opus_encoder_ctl(enc, OPUS_SET_BITRATE(bitrate));
  opus_encoder_ctl(enc, OPUS_SET_INBAND_FEC(1));
  opus_encoder_ctl(enc, OPUS_SET_PACKET_LOSS_PERC(20));
  int16_t pcm[2880 * 2];
  for (int i = 0; i < count && ncanned < NCANNED; i++) {
    signal(pcm, 48 * ms, channels, (long)i * 48 * ms);
    int len = opus_encode(enc, pcm, 48 * ms, canned[ncanned].data, sizeof canned[0].data);
    if (len > 0) canned[ncanned++].len = len;
  }
  opus_encoder_destroy(enc);
}

static void init_canned(void) {
  if (ncanned) return;
  vg_log_set_level(VG_LOG_ERROR);
  encode_some(1, OPUS_APPLICATION_VOIP, 20, 24000, 6); /* SILK, LBRR */
  encode_some(1, OPUS_APPLICATION_AUDIO, 20, 96000, 2); /* CELT */
  encode_some(1, OPUS_APPLICATION_VOIP, 10, 24000, 2);
  encode_some(1, OPUS_APPLICATION_VOIP, 40, 24000, 2);
  encode_some(1, OPUS_APPLICATION_VOIP, 60, 24000, 2);
  encode_some(2, OPUS_APPLICATION_VOIP, 20, 48000, 2); /* stereo */
}

typedef struct {
  vg_opus_rx_t *rx;
  uint64_t n, hash;
  size_t cap;
} side_t;

/* The harness's own loop over every sample is left out of coverage: it
 * only slows the fuzzer. */
#if defined(__clang__)
__attribute__((no_sanitize("coverage")))
#endif
static uint64_t fnv(uint64_t h, const int16_t *x, int n) {
  for (int i = 0; i < n; i++) h = (h ^ (uint16_t)x[i]) * 1099511628211ull;
  return h;
}

static void take(side_t *s, vg_time_t now, bool flush) {
  int16_t buf[VG_OPUS_RX_MAX_FRAME + 16];
  int r;
  int guard = 0;
  while ((r = flush ? vg_opus_rx_flush(s->rx, buf, s->cap)
                    : vg_opus_rx_pull(s->rx, now, buf, s->cap)) > 0) {
    check((size_t)r <= s->cap);
    s->hash = fnv(s->hash, buf, r);
    s->n += (uint64_t)r;
    check(++guard < 50000000);
  }
  check(r == 0);
  vg_time_t t = vg_opus_rx_poll_timeout(s->rx);
  if (flush) check(t == VG_TIME_NEVER);
  else check(t > now);
}

static void check_stats(const side_t *s) {
  vg_opus_rx_stats_t st;
  vg_opus_rx_get_stats(s->rx, &st);
  check(st.samples_out == s->n);
  check(st.duplicates + st.late <= st.packets);
  check(st.silence_samples <= st.samples_out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  init_canned();
  side_t a = {.cap = VG_OPUS_RX_MAX_FRAME, .hash = 14695981039346656037ull};
  side_t b = {.cap = 1, .hash = 14695981039346656037ull};
  vg_opus_rx_config_t cfg = {.jitter = size > 0 && (data[0] & 1) ? VG_MSEC(20) : 0};
  if (vg_opus_rx_create(&cfg, &a.rx) != VG_OK) return 0;
  if (vg_opus_rx_create(&cfg, &b.rx) != VG_OK) {
    vg_opus_rx_destroy(a.rx);
    return 0;
  }
  uint16_t seq = 0;
  uint32_t ts = 0;
  vg_time_t now = VG_SEC(1);
  size_t off = 0;
  uint64_t pushed = 0;
  while (off + 6 <= size) {
    const uint8_t *r = data + off;
    off += 6;
    int op = r[0] & 3;
    b.cap = caps[r[0] >> 4];
    int mode = (r[0] >> 2) & 3;
    seq = (uint16_t)(seq + (mode == 2 ? (int8_t)r[1] * 256 : (int8_t)r[1]));
    int32_t dts = (int16_t)(r[2] | r[3] << 8);
    dts = mode == 1 ? dts : mode == 3 ? dts * 1200 : (int8_t)r[2] * 120;
    ts += (uint32_t)dts;
    now += VG_MSEC(r[4]);
    const uint8_t *payload = NULL;
    size_t len = 0;
    if (op == 0) {
      len = r[5];
      if (len > size - off) len = size - off;
      payload = data + off;
      off += len;
    } else if (op == 1 && ncanned) {
      payload = canned[r[5] % ncanned].data;
      len = (size_t)canned[r[5] % ncanned].len;
    }
    if (op <= 1) {
      int ra = vg_opus_rx_push(a.rx, now, seq, ts, payload, len);
      int rb = vg_opus_rx_push(b.rx, now, seq, ts, payload, len);
      check(ra == rb);
      check(ra == 0 || ra == 1 || ra == VG_ENOSPC);
      if (ra == VG_ENOSPC) { /* the documented recovery: pull, push again */
        take(&a, now, false);
        take(&b, now, false);
        ra = vg_opus_rx_push(a.rx, now, seq, ts, payload, len);
        rb = vg_opus_rx_push(b.rx, now, seq, ts, payload, len);
        check(ra == rb && ra != VG_ENOSPC);
      }
      pushed++;
    }
    take(&a, now, op == 3);
    take(&b, now, op == 3);
    check(a.n == b.n && a.hash == b.hash);
    check_stats(&a);
  }
  take(&a, now, true);
  take(&b, now, true);
  check(a.n == b.n && a.hash == b.hash);
  check(vg_opus_rx_flush(a.rx, NULL, 0) == 0);
  vg_opus_rx_stats_t st;
  vg_opus_rx_get_stats(a.rx, &st);
  check(st.packets == pushed);
  check_stats(&a);
  vg_opus_rx_destroy(a.rx);
  vg_opus_rx_destroy(b.rx);
  return 0;
}
