/* opus_rx: real Opus streams from libopus's encoder (48 kHz, tone
 * sequences), delivered with loss, reordering, duplicates, timestamp jumps,
 * wraps and restarts in simulated time; the output is checked for its exact
 * length, against a straight libopus decode at 16 kHz, and for its content
 * (the tone of each segment, found with the Goertzel algorithm). */
#include <malloc.h>
#include <opus/opus.h>
#include <stdbool.h>

#include "media/opus_rx.h"
#include "vgtest.h"

#ifdef __SANITIZE_ADDRESS__
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t heap_in_use(void) { return __sanitizer_get_current_allocated_bytes(); }
#else
static size_t heap_in_use(void) { return mallinfo2().uordblks; }
#endif

#define PI 3.14159265358979323846

/* sin and cos without libm (the test links only what the library does):
 * range-reduced Taylor series, accurate to ~1e-12, plenty for tones. */
static double t_sin(double x) {
  x -= 2 * PI * (double)(long long)(x / (2 * PI));
  if (x > PI) x -= 2 * PI;
  if (x < -PI) x += 2 * PI;
  double term = x, sum = x;
  for (int k = 1; k < 20; k++) {
    term *= -x * x / ((2 * k) * (2 * k + 1));
    sum += term;
  }
  return sum;
}
static double t_cos(double x) { return t_sin(x + PI / 2); }
#define MAX_PKT 1500
#define SEG_MS 200 /* one tone per 200 ms segment */

typedef struct {
  uint16_t seq;
  uint32_t ts;
  int len;
  uint8_t data[MAX_PKT];
} pkt_t;

/* The tone of segment k, on channel ch (stereo: the right channel is an
 * octave-and-a-bit above, so the two are told apart). */
static const double tones[8] = {300, 500, 700, 900, 1100, 1300, 1500, 1700};
static double tone_of(int k, int ch) { return ch ? 2300 + 400 * (k % 3) : tones[k % 8]; }

/* Encodes n frames of frame_ms at 48 kHz; packets numbered from seq0/ts0.
 * Returns the packet array (malloc) or NULL. */
static pkt_t *encode(int channels, int frame_ms, int n, bool fec, uint16_t seq0, uint32_t ts0) {
  int err;
  OpusEncoder *enc = opus_encoder_create(48000, channels, OPUS_APPLICATION_VOIP, &err);
  if (!enc) return NULL;
  opus_encoder_ctl(enc, OPUS_SET_BITRATE(channels * 24000));
  opus_encoder_ctl(enc, OPUS_SET_INBAND_FEC(fec ? 1 : 0));
  opus_encoder_ctl(enc, OPUS_SET_PACKET_LOSS_PERC(fec ? 20 : 0));
  int fs = 48 * frame_ms;
  int16_t *pcm = malloc(sizeof *pcm * (size_t)(fs * channels));
  pkt_t *p = calloc((size_t)n, sizeof *p);
  for (int i = 0; p && pcm && i < n; i++) {
    for (int s = 0; s < fs; s++) {
      long at = (long)i * fs + s; /* 48 kHz sample index */
      int k = (int)(at / (48 * SEG_MS));
      for (int ch = 0; ch < channels; ch++)
        pcm[s * channels + ch] = (int16_t)(9000 * t_sin(2 * PI * tone_of(k, ch) * at / 48000.0));
    }
    p[i].seq = (uint16_t)(seq0 + i);
    p[i].ts = ts0 + (uint32_t)(i * fs);
    p[i].len = opus_encode(enc, pcm, fs, p[i].data, MAX_PKT);
    if (p[i].len <= 0) {
      free(p);
      p = NULL;
    }
  }
  free(pcm);
  opus_encoder_destroy(enc);
  return p;
}

/* Output collected from the receiver. */
typedef struct {
  int16_t *pcm;
  size_t n, cap;
} sink_t;

static int sink_add(sink_t *s, const int16_t *x, size_t n) {
  if (s->n + n > s->cap) {
    size_t cap = (s->n + n) * 2;
    int16_t *p = realloc(s->pcm, cap * sizeof *p);
    if (!p) return -1;
    s->pcm = p;
    s->cap = cap;
  }
  memcpy(s->pcm + s->n, x, n * sizeof *x);
  s->n += n;
  return 0;
}

/* Pulls (or flushes when now < 0) until 0 with a given cap. */
static int drain_cap(vg_opus_rx_t *rx, vg_time_t now, sink_t *s, size_t cap) {
  int16_t buf[VG_OPUS_RX_MAX_FRAME * 2];
  int n;
  while ((n = now < 0 ? vg_opus_rx_flush(rx, buf, cap) : vg_opus_rx_pull(rx, now, buf, cap)) > 0)
    if (sink_add(s, buf, (size_t)n) < 0) return -1;
  return n;
}
static int drain(vg_opus_rx_t *rx, vg_time_t now, sink_t *s) {
  return drain_cap(rx, now, s, VG_OPUS_RX_MAX_FRAME);
}

/* One delivery: packet index and arrival time. */
typedef struct {
  int idx;
  vg_time_t at;
} arrival_t;

/* Feeds the arrivals (pulling after each and at every 10 ms tick, as a
 * worker with a timer would), then flushes. Returns 0 or -1. */
static int run(vg_opus_rx_t *rx, const pkt_t *p, const arrival_t *a, int n, sink_t *s) {
  vg_time_t now = 0;
  for (int i = 0; i < n; i++) {
    while (now + VG_MSEC(10) < a[i].at) {
      now += VG_MSEC(10);
      if (drain(rx, now, s) < 0) return -1;
    }
    now = a[i].at > now ? a[i].at : now;
    const pkt_t *k = &p[a[i].idx];
    if (vg_opus_rx_push(rx, now, k->seq, k->ts, k->data, (size_t)k->len) < 0) return -1;
    if (drain(rx, now, s) < 0) return -1;
  }
  return drain(rx, -1, s);
}

/* In-order arrivals every frame_ms, skipping indices where drop[i]. */
static int in_order(arrival_t *a, int n, int frame_ms, const bool *drop) {
  int m = 0;
  for (int i = 0; i < n; i++)
    if (!drop || !drop[i]) a[m++] = (arrival_t){i, VG_MSEC(frame_ms) * i};
  return m;
}

/* libopus straight at 16 kHz mono, every packet in order: the reference. */
static size_t reference(const pkt_t *p, int n, int16_t *out) {
  int err;
  OpusDecoder *d = opus_decoder_create(16000, 1, &err);
  size_t total = 0;
  for (int i = 0; d && i < n; i++) {
    int r = opus_decode(d, p[i].data, p[i].len, out + total, 1920, 0);
    if (r < 0) break;
    total += (size_t)r;
  }
  opus_decoder_destroy(d);
  return total;
}

/* Goertzel power of frequency f over x[0..n) at 16 kHz. */
static double power_at(const int16_t *x, size_t n, double f) {
  double w = 2 * t_cos(2 * PI * f / 16000.0), s1 = 0, s2 = 0;
  for (size_t i = 0; i < n; i++) {
    double s0 = x[i] + w * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - w * s1 * s2;
}

/* For each whole segment, its tone dominates every other tone of the
 * sequence by a factor `ratio` in the segment's middle 100 ms. Returns the
 * number of segments that fail. */
static int tones_fail(const int16_t *x, size_t n, double ratio) {
  int fails = 0;
  size_t seg = 16 * SEG_MS;
  for (size_t k = 0; (k + 1) * seg <= n; k++) {
    const int16_t *w = x + k * seg + seg / 4;
    double want = power_at(w, seg / 2, tone_of((int)k, 0));
    for (int j = 0; j < 8; j++)
      if (tones[j] != tone_of((int)k, 0) && want < ratio * power_at(w, seg / 2, tones[j])) {
        fails++;
        break;
      }
  }
  return fails;
}

static vg_opus_rx_t *make_rx(void) {
  vg_opus_rx_t *rx = NULL;
  vg_opus_rx_config_t cfg = {.jitter = 0, .sid = "test"};
  return vg_opus_rx_create(&cfg, &rx) == VG_OK ? rx : NULL;
}

#define N 250 /* 5 s of 20 ms packets */

/* A clean stream: exactly N*320 samples, identical to libopus decoding
 * the packets straight at 16 kHz, each segment's tone where it belongs. */
static void test_clean(void) {
  pkt_t *p = encode(1, 20, N, true, 1000, 123456);
  CHECK(p);
  arrival_t a[N];
  int m = in_order(a, N, 20, NULL);
  vg_opus_rx_t *rx = make_rx();
  sink_t s = {0};
  CHECK(rx && run(rx, p, a, m, &s) == 0);
  int16_t *ref = malloc(sizeof *ref * N * 320);
  CHECK_EQ(reference(p, N, ref), N * 320);
  CHECK_EQ(s.n, N * 320);
  CHECK_MEM(s.pcm, ref, s.n * sizeof *ref);
  CHECK_EQ(tones_fail(s.pcm, s.n, 20), 0);
  vg_opus_rx_stats_t st;
  vg_opus_rx_get_stats(rx, &st);
  CHECK_EQ(st.packets, N);
  CHECK_EQ(st.samples_out, N * 320);
  CHECK_EQ(st.concealed_frames + st.fec_frames + st.late + st.duplicates, 0);
  vg_opus_rx_destroy(rx);
  free(ref);
  free(s.pcm);
  free(p);
}

/* Pulling a few samples at a time gives the same stream. */
static void test_small_cap(void) {
  pkt_t *p = encode(1, 20, 50, false, 7, 0);
  CHECK(p);
  vg_opus_rx_t *rx = make_rx(), *rx2 = make_rx();
  CHECK(rx && rx2);
  sink_t s = {0}, s2 = {0};
  for (int i = 0; i < 50; i++) {
    vg_time_t now = VG_MSEC(20) * i;
    CHECK_EQ(vg_opus_rx_push(rx, now, p[i].seq, p[i].ts, p[i].data, (size_t)p[i].len), 1);
    CHECK_EQ(vg_opus_rx_push(rx2, now, p[i].seq, p[i].ts, p[i].data, (size_t)p[i].len), 1);
    CHECK(drain_cap(rx, now, &s, 7) == 0 && drain(rx2, now, &s2) == 0);
  }
  CHECK(drain_cap(rx, -1, &s, 7) == 0 && drain(rx2, -1, &s2) == 0);
  CHECK_EQ(s.n, 50 * 320);
  CHECK_EQ(s2.n, 50 * 320);
  CHECK_MEM(s.pcm, s2.pcm, s.n * sizeof *s.pcm);
  vg_opus_rx_destroy(rx);
  vg_opus_rx_destroy(rx2);
  free(s.pcm);
  free(s2.pcm);
  free(p);
}

/* The same loss, decoded by hand the way libopus prescribes: a lost frame
 * followed by a received packet comes from that packet's FEC, others from
 * PLC (data NULL), each with the lost duration. */
static size_t reference_lossy(const pkt_t *p, int n, const bool *lost, int spp, int16_t *out) {
  int err;
  OpusDecoder *d = opus_decoder_create(16000, 1, &err);
  size_t total = 0;
  for (int i = 0; d && i < n; i++) {
    int r;
    if (!lost[i])
      r = opus_decode(d, p[i].data, p[i].len, out + total, 1920, 0);
    else if (i + 1 < n && !lost[i + 1])
      r = opus_decode(d, p[i + 1].data, p[i + 1].len, out + total, spp, 1);
    else
      r = opus_decode(d, NULL, 0, out + total, spp, 0);
    if (r < 0) break;
    total += (size_t)r;
  }
  opus_decoder_destroy(d);
  return total;
}

/* 10 % loss (singles and a run of three): exact length, every lost frame
 * concealed once (FEC where the next packet came), identical to the hand
 * decode; a lost packet arriving after its slot was concealed is dropped as
 * late and changes nothing. */
static void test_loss(void) {
  pkt_t *p = encode(1, 20, N, true, 65000, 0);
  CHECK(p);
  bool lost[N] = {0};
  int nlost = 0, fec_expected = 0;
  for (int i = 1; i < N - 1; i++) lost[i] = (i * 7) % 10 == 3;
  lost[100] = lost[101] = lost[102] = true;
  for (int i = 0; i < N; i++) {
    nlost += lost[i];
    fec_expected += lost[i] && !lost[i + 1];
  }
  CHECK(nlost >= N / 10);
  arrival_t a[N + 1];
  int m = in_order(a, N, 20, lost);
  /* Packet 9 (lost) finally arrives 300 ms late. */
  a[m++] = (arrival_t){9, VG_MSEC(20) * 9 + VG_MSEC(300)};
  for (int i = m - 1; i > 0 && a[i].at < a[i - 1].at; i--) {
    arrival_t t = a[i];
    a[i] = a[i - 1];
    a[i - 1] = t;
  }
  vg_opus_rx_t *rx = make_rx();
  sink_t s = {0};
  CHECK(rx && run(rx, p, a, m, &s) == 0);
  int16_t *ref = malloc(sizeof *ref * N * 320);
  CHECK_EQ(reference_lossy(p, N, lost, 320, ref), N * 320);
  CHECK_EQ(s.n, N * 320);
  CHECK_MEM(s.pcm, ref, s.n * sizeof *ref);
  vg_opus_rx_stats_t st;
  vg_opus_rx_get_stats(rx, &st);
  CHECK_EQ(st.concealed_frames + st.fec_frames, nlost);
  CHECK_EQ(st.fec_frames, fec_expected); /* every packet here carries LBRR */
  CHECK_EQ(st.late, 1);
  CHECK_EQ(st.samples_out, N * 320);
  CHECK_EQ(tones_fail(s.pcm, s.n, 4), 0);
  vg_opus_rx_destroy(rx);
  free(ref);
  free(s.pcm);
  free(p);
}

/* Pairs swapped in flight (the first pair too), the second of each pair
 * 5 ms behind: identical to the in-order decode, nothing concealed. */
static void test_reorder(void) {
  pkt_t *p = encode(1, 20, N, true, 40, 99);
  CHECK(p);
  arrival_t a[N];
  for (int i = 0; i < N; i += 2) {
    a[i] = (arrival_t){i + 1, VG_MSEC(20) * (i + 1)};
    a[i + 1] = (arrival_t){i, VG_MSEC(20) * (i + 1) + VG_MSEC(5)};
  }
  vg_opus_rx_t *rx = make_rx();
  sink_t s = {0};
  CHECK(rx && run(rx, p, a, N, &s) == 0);
  int16_t *ref = malloc(sizeof *ref * N * 320);
  CHECK_EQ(reference(p, N, ref), N * 320);
  CHECK_EQ(s.n, N * 320);
  CHECK_MEM(s.pcm, ref, s.n * sizeof *ref);
  vg_opus_rx_stats_t st;
  vg_opus_rx_get_stats(rx, &st);
  CHECK_EQ(st.reordered, N / 2);
  CHECK_EQ(st.concealed_frames + st.fec_frames + st.late, 0);
  vg_opus_rx_destroy(rx);
  free(ref);
  free(s.pcm);
  free(p);
}

/* Every fifth packet delivered twice (once at once, once 100 ms later,
 * after it was decoded), and one packet three times while still held:
 * identical to the clean decode, every copy counted. */
static void test_duplicates(void) {
  pkt_t *p = encode(1, 20, N, false, 0, 0);
  CHECK(p);
  arrival_t a[N * 2];
  int m = 0, dups = 0;
  for (int i = 0; i < N; i++) {
    a[m++] = (arrival_t){i, VG_MSEC(20) * i};
    if (i % 5 == 0) a[m++] = (arrival_t){i, VG_MSEC(20) * i}, dups++;
  }
  for (int i = 0; i < N; i += 25) {
    a[m++] = (arrival_t){i, VG_MSEC(20) * i + VG_MSEC(100)};
    dups++;
  }
  for (int i = 1; i < m; i++) /* stable insertion sort by arrival */
    for (int j = i; j > 0 && a[j].at < a[j - 1].at; j--) {
      arrival_t t = a[j];
      a[j] = a[j - 1];
      a[j - 1] = t;
    }
  vg_opus_rx_t *rx = make_rx();
  sink_t s = {0};
  CHECK(rx && run(rx, p, a, m, &s) == 0);
  int16_t *ref = malloc(sizeof *ref * N * 320);
  CHECK_EQ(reference(p, N, ref), N * 320);
  CHECK_EQ(s.n, N * 320);
  CHECK_MEM(s.pcm, ref, s.n * sizeof *ref);
  vg_opus_rx_stats_t st;
  vg_opus_rx_get_stats(rx, &st);
  CHECK_EQ(st.duplicates, dups);
  CHECK_EQ(st.packets, N + dups);
  CHECK_EQ(st.late + st.concealed_frames, 0);
  vg_opus_rx_destroy(rx);
  free(ref);
  free(s.pcm);
  free(p);
}

/* 10, 40 and 60 ms frames: clean streams are exact and identical to the
 * straight decode; with losses (singles and a run of two), exact length,
 * identical to the hand decode with FEC/PLC frames of the stream's own
 * duration, one concealed frame per lost packet. */
static void test_frame_sizes(void) {
  static const int sizes[] = {10, 40, 60};
  for (int z = 0; z < 3; z++) {
    int ms = sizes[z], n = 6000 / ms, spp = 16 * ms;
    pkt_t *p = encode(1, ms, n, true, 5, 7);
    CHECK(p);
    arrival_t *a = calloc((size_t)n, sizeof *a);
    bool *lost = calloc((size_t)n, sizeof *lost);
    int16_t *ref = malloc(sizeof *ref * (size_t)(n * spp));
    CHECK(a && lost && ref);
    int m = in_order(a, n, ms, NULL);
    vg_opus_rx_t *rx = make_rx();
    sink_t s = {0};
    CHECK(rx && run(rx, p, a, m, &s) == 0);
    CHECK_EQ(reference(p, n, ref), n * spp);
    CHECK_EQ(s.n, n * spp);
    CHECK_MEM(s.pcm, ref, s.n * sizeof *ref);
    CHECK_EQ(tones_fail(s.pcm, s.n, 20), 0);
    vg_opus_rx_destroy(rx);
    s.n = 0;

    int nlost = 0;
    for (int i = 3; i < n - 1; i += 9) lost[i] = true;
    lost[n / 2 + 1] = lost[n / 2 + 2] = true; /* a run of two */
    int fec_expected = 0;
    for (int i = 0; i < n; i++) {
      nlost += lost[i];
      fec_expected += lost[i] && !lost[i + 1];
    }
    m = in_order(a, n, ms, lost);
    rx = make_rx();
    CHECK(rx && run(rx, p, a, m, &s) == 0);
    CHECK_EQ(s.n, n * spp);
    CHECK_EQ(reference_lossy(p, n, lost, spp, ref), n * spp);
    CHECK_MEM(s.pcm, ref, s.n * sizeof *ref);
    vg_opus_rx_stats_t st;
    vg_opus_rx_get_stats(rx, &st);
    CHECK_EQ(st.concealed_frames + st.fec_frames, nlost);
    /* The encoder leaves the LBRR copy out now and then (its VAD). */
    CHECK(st.fec_frames <= (uint64_t)fec_expected && st.fec_frames + 2 >= (uint64_t)fec_expected);
    vg_opus_rx_destroy(rx);
    free(s.pcm);
    free(a);
    free(lost);
    free(ref);
    free(p);
  }
}

/* DTX-style timestamp jumps with contiguous sequence numbers: 400 ms is
 * concealed by the decoder; 3 s is 1 s of PLC then 2 s of zeros; 20 s is
 * past VG_OPUS_RX_MAX_GAP_MS, a discontinuity that is not filled. */
static void test_dtx_jump(void) {
  pkt_t *p = encode(1, 20, 200, false, 300, 4000000000u);
  CHECK(p);
  uint32_t jump[200] = {0};
  jump[50] = 48 * 400;
  jump[100] = 48 * 3000;
  for (int i = 1; i < 200; i++) p[i].ts = p[i - 1].ts + 960 + jump[i];
  arrival_t a[200];
  vg_time_t at = 0;
  for (int i = 0; i < 150; i++) {
    at += VG_MSEC(20) + jump[i] / 48 * 1000;
    a[i] = (arrival_t){i, at};
  }
  vg_opus_rx_t *rx = make_rx();
  sink_t s = {0};
  CHECK(rx && run(rx, p, a, 150, &s) == 0);
  uint32_t span = p[149].ts - p[0].ts + 960; /* across the 32-bit wrap */
  CHECK_EQ(s.n, span / 3);
  vg_opus_rx_stats_t st;
  vg_opus_rx_get_stats(rx, &st);
  CHECK_EQ(st.concealed_frames, 400 / 20 + 1000 / 20);
  CHECK_EQ(st.silence_samples, 2000 * 16);
  CHECK_EQ(st.fec_frames + st.restarts, 0);
  /* The 2 s of zeros are exact zeros; the tones around the gaps are kept. */
  size_t z0 = (size_t)(100 * 320 + 400 * 16 + 1000 * 16);
  for (size_t i = z0; i < z0 + 2000 * 16; i++) CHECK_EQ(s.pcm[i], 0);
  CHECK_EQ(tones_fail(s.pcm, 50 * 320, 20), 0);

  /* The rest of the stream after a 20 s jump: not filled, counted. */
  uint64_t before = s.n;
  for (int i = 150; i < 200; i++) p[i].ts += 48 * 20000;
  for (int i = 150; i < 200; i++) {
    CHECK_EQ(vg_opus_rx_push(rx, at + VG_SEC(20) + VG_MSEC(20) * (i - 149), p[i].seq, p[i].ts,
                             p[i].data, (size_t)p[i].len), 1);
    CHECK(drain(rx, at + VG_SEC(20) + VG_MSEC(20) * (i - 149), &s) == 0);
  }
  CHECK(drain(rx, -1, &s) == 0);
  CHECK_EQ(s.n - before, 50 * 320);
  vg_opus_rx_get_stats(rx, &st);
  CHECK_EQ(st.restarts, 1);
  vg_opus_rx_destroy(rx);
  free(s.pcm);
  free(p);
}

/* Stereo Opus, left and right different tones: the 16 kHz mono decoder
 * downmixes both, identical to libopus's own mono decode of the stream. */
static void test_stereo_downmix(void) {
  pkt_t *p = encode(2, 20, 100, true, 9, 9);
  CHECK(p);
  CHECK_EQ(opus_packet_get_nb_channels(p[10].data), 2);
  arrival_t a[100];
  int m = in_order(a, 100, 20, NULL);
  vg_opus_rx_t *rx = make_rx();
  sink_t s = {0};
  CHECK(rx && run(rx, p, a, m, &s) == 0);
  int16_t *ref = malloc(sizeof *ref * 100 * 320);
  CHECK_EQ(reference(p, 100, ref), 100 * 320);
  CHECK_EQ(s.n, 100 * 320);
  CHECK_MEM(s.pcm, ref, s.n * sizeof *ref);
  /* Each segment holds the left tone and the right tone, of comparable
   * power (the downmix averages them), far above an absent tone. */
  size_t seg = 16 * SEG_MS;
  for (int k = 0; k < 10; k++) {
    const int16_t *w = s.pcm + k * seg + seg / 4;
    double l = power_at(w, seg / 2, tone_of(k, 0)), r = power_at(w, seg / 2, tone_of(k, 1));
    double none = power_at(w, seg / 2, 1900);
    CHECK(l > 20 * none && r > 20 * none);
    CHECK(l < 4 * r && r < 4 * l);
  }
  vg_opus_rx_destroy(rx);
  free(ref);
  free(s.pcm);
  free(p);
}

/* Sequence 65535 -> 0 and timestamp 2^32 -> 0 both inside the stream, with
 * a swapped pair across the sequence wrap: identical to the straight
 * decode. */
static void test_wrap(void) {
  pkt_t *p = encode(1, 20, 100, true, 65486, 0xFFFFFFFFu - 960 * 30);
  CHECK(p);
  CHECK(p[49].seq == 65535 && p[50].seq == 0);
  arrival_t a[100];
  int m = in_order(a, 100, 20, NULL);
  arrival_t t = a[49];
  a[49] = (arrival_t){50, t.at};
  a[50] = (arrival_t){49, t.at + VG_MSEC(30)};
  vg_opus_rx_t *rx = make_rx();
  sink_t s = {0};
  CHECK(rx && run(rx, p, a, m, &s) == 0);
  int16_t *ref = malloc(sizeof *ref * 100 * 320);
  CHECK_EQ(reference(p, 100, ref), 100 * 320);
  CHECK_EQ(s.n, 100 * 320);
  CHECK_MEM(s.pcm, ref, s.n * sizeof *ref);
  vg_opus_rx_stats_t st;
  vg_opus_rx_get_stats(rx, &st);
  CHECK_EQ(st.reordered, 1);
  CHECK_EQ(st.concealed_frames + st.late + st.restarts, 0);
  vg_opus_rx_destroy(rx);
  free(ref);
  free(s.pcm);
  free(p);
}

/* 30 simulated minutes of 20 ms packets (one encoded second replayed), 1 %
 * loss and some reordering, across both wraps: exact length, and the heap
 * does not grow while it runs. */
static void test_long_session(void) {
  pkt_t *p = encode(1, 20, 50, true, 0, 0);
  CHECK(p);
  vg_opus_rx_t *rx = make_rx();
  CHECK(rx);
  int16_t buf[VG_OPUS_RX_MAX_FRAME];
  const long total = 30L * 60 * 50;
  const uint32_t ts0 = 0xFFFFFFFFu - 960 * 1000;
  uint64_t out = 0, lost = 0;
  size_t heap = 0;
  vg_time_t now = 0;
  for (long i = 0; i < total; i++) {
    if (i == 1000) heap = heap_in_use();
    now = VG_MSEC(20) * i;
    long j = (i % 97 == 13) ? i + 1 : (i % 97 == 14) ? i - 1 : i; /* swap a pair */
    int n;
    if (i % 101 == 50 && i + 1 < total) {
      lost++;
    } else {
      const pkt_t *k = &p[j % 50];
      CHECK_EQ(vg_opus_rx_push(rx, now, (uint16_t)(7 + j), ts0 + (uint32_t)(960 * j), k->data,
                               (size_t)k->len), 1);
    }
    while ((n = vg_opus_rx_pull(rx, now, buf, sizeof buf / sizeof buf[0])) > 0) out += (uint64_t)n;
    CHECK(n == 0);
    if (i == total - 1000) CHECK_EQ(heap_in_use(), heap);
  }
  int n;
  while ((n = vg_opus_rx_flush(rx, buf, sizeof buf / sizeof buf[0])) > 0) out += (uint64_t)n;
  CHECK_EQ(out, (uint64_t)total * 320);
  vg_opus_rx_stats_t st;
  vg_opus_rx_get_stats(rx, &st);
  CHECK_EQ(st.concealed_frames + st.fec_frames, lost);
  CHECK_EQ(st.samples_out, out);
  CHECK_EQ(st.late + st.restarts + st.duplicates, 0);
  vg_opus_rx_destroy(rx);
  free(p);
}

/* An undecodable payload (a code 3 packet with zero frames, RFC 6716
 * §3.2.5), an empty one and an oversize one: each counted, concealed, and
 * the stream goes on with the right length and tones. */
static void test_garbage(void) {
  pkt_t *p = encode(1, 20, N, false, 1, 1);
  CHECK(p);
  int16_t *ref = malloc(sizeof *ref * N * 320);
  CHECK_EQ(reference(p, N, ref), N * 320);
  p[60].data[0] = 0x03 | (p[60].data[0] & 0xF8); /* code 3 */
  p[60].data[1] = 0x00;                          /* M = 0 frames */
  p[60].len = 2;
  p[120].len = 0;
  p[180].len = MAX_PKT;
  arrival_t a[N];
  int m = in_order(a, N, 20, NULL);
  vg_opus_rx_t *rx = make_rx();
  sink_t s = {0};
  CHECK(rx && run(rx, p, a, m, &s) == 0);
  CHECK_EQ(s.n, N * 320);
  CHECK_MEM(s.pcm, ref, 60 * 320 * sizeof *ref); /* untouched before it */
  vg_opus_rx_stats_t st;
  vg_opus_rx_get_stats(rx, &st);
  CHECK_EQ(st.decode_errors, 3);
  CHECK_EQ(st.concealed_frames, 3);
  CHECK_EQ(tones_fail(s.pcm, s.n, 4), 0);
  vg_opus_rx_destroy(rx);
  free(ref);
  free(s.pcm);
  free(p);
}

/* A new stream (new random sequence and timestamp bases, a fresh encoder)
 * after 100 packets: the decoder is reset and the new stream follows
 * directly, identical to a fresh decode of it. A lone far-off packet in
 * the old stream is dropped as a stray. */
static void test_restart(void) {
  pkt_t *a_ = encode(1, 20, 100, false, 100, 1000);
  pkt_t *b_ = encode(1, 20, 100, false, 40000, 3000000000u);
  CHECK(a_ && b_);
  pkt_t *p = malloc(sizeof *p * 201);
  CHECK(p);
  memcpy(p, a_, sizeof *p * 100);
  memcpy(p + 100, b_, sizeof *p * 100);
  p[200] = a_[0];
  p[200].seq = 20000;
  arrival_t a[201];
  for (int i = 0; i < 200; i++) a[i + (i >= 50)] = (arrival_t){i, VG_MSEC(20) * i};
  a[50] = (arrival_t){200, VG_MSEC(20) * 49 + VG_MSEC(1)};
  vg_opus_rx_t *rx = make_rx();
  sink_t s = {0};
  CHECK(rx && run(rx, p, a, 201, &s) == 0);
  int16_t *ref = malloc(sizeof *ref * 200 * 320);
  CHECK_EQ(reference(a_, 100, ref), 100 * 320);
  CHECK_EQ(reference(b_, 100, ref + 100 * 320), 100 * 320);
  CHECK_EQ(s.n, 200 * 320);
  CHECK_MEM(s.pcm, ref, s.n * sizeof *ref);
  vg_opus_rx_stats_t st;
  vg_opus_rx_get_stats(rx, &st);
  CHECK_EQ(st.restarts, 1);
  CHECK_EQ(st.strays, 1);
  CHECK_EQ(st.concealed_frames + st.late, 0);
  vg_opus_rx_destroy(rx);
  free(ref);
  free(s.pcm);
  free(p);
  free(a_);
  free(b_);
}

/* The timer contract: the first packet waits `jitter`; after a loss the
 * successor waits `jitter` from its arrival; nothing held: never. A full
 * ring refuses without consuming, and pull makes room. */
static void test_timeout_and_full(void) {
  pkt_t *p = encode(1, 20, 80, false, 0, 0);
  CHECK(p);
  vg_opus_rx_t *rx = make_rx();
  CHECK(rx);
  int16_t buf[VG_OPUS_RX_MAX_FRAME];
  CHECK_EQ(vg_opus_rx_poll_timeout(rx), VG_TIME_NEVER);
  CHECK_EQ(vg_opus_rx_push(rx, VG_MSEC(1000), p[0].seq, p[0].ts, p[0].data, (size_t)p[0].len), 1);
  CHECK_EQ(vg_opus_rx_poll_timeout(rx), VG_MSEC(1060));
  CHECK_EQ(vg_opus_rx_pull(rx, VG_MSEC(1059), buf, 1920), 0);
  CHECK_EQ(vg_opus_rx_pull(rx, VG_MSEC(1060), buf, 1920), 320);
  CHECK_EQ(vg_opus_rx_pull(rx, VG_MSEC(1060), buf, 1920), 0);
  CHECK_EQ(vg_opus_rx_poll_timeout(rx), VG_TIME_NEVER);
  /* Packet 1 lost; 2 arrives at 1100 ms. */
  CHECK_EQ(vg_opus_rx_push(rx, VG_MSEC(1100), p[2].seq, p[2].ts, p[2].data, (size_t)p[2].len), 1);
  CHECK_EQ(vg_opus_rx_poll_timeout(rx), VG_MSEC(1160));
  CHECK_EQ(vg_opus_rx_pull(rx, VG_MSEC(1159), buf, 1920), 0);
  CHECK_EQ(vg_opus_rx_pull(rx, VG_MSEC(1160), buf, 1920), 640);
  CHECK_EQ(vg_opus_rx_poll_timeout(rx), VG_TIME_NEVER);
  /* 3 lost; 4..67 pushed without pulling: the 65th held is refused. */
  int r = 0, i;
  for (i = 4; i < 80 && (r = vg_opus_rx_push(rx, VG_MSEC(1200), p[i].seq, p[i].ts, p[i].data,
                                             (size_t)p[i].len)) == 1;
       i++) {
  }
  CHECK_EQ(r, VG_ENOSPC);
  CHECK_EQ(i, 4 + VG_OPUS_RX_SLOTS);
  CHECK_EQ(vg_opus_rx_poll_timeout(rx), 0);
  int n, got = 0;
  while ((n = vg_opus_rx_pull(rx, VG_MSEC(1200), buf, 1920)) > 0) got += n;
  CHECK_EQ(got, (1 + VG_OPUS_RX_SLOTS) * 320); /* 3 concealed, 4..67 */
  CHECK_EQ(vg_opus_rx_push(rx, VG_MSEC(1200), p[i].seq, p[i].ts, p[i].data, (size_t)p[i].len), 1);
  vg_opus_rx_stats_t st;
  vg_opus_rx_get_stats(rx, &st);
  CHECK_EQ(st.packets, 2 + VG_OPUS_RX_SLOTS + 1);
  CHECK_EQ(vg_opus_rx_push(NULL, 0, 0, 0, NULL, 0), VG_EINVAL);
  vg_opus_rx_destroy(rx);

  /* A configured jitter of 20 ms: the successor of a loss waits that long. */
  vg_opus_rx_config_t cfg = {.jitter = VG_MSEC(20)};
  CHECK_EQ(vg_opus_rx_create(&cfg, &rx), VG_OK);
  CHECK_EQ(vg_opus_rx_push(rx, VG_MSEC(0), p[0].seq, p[0].ts, p[0].data, (size_t)p[0].len), 1);
  CHECK_EQ(vg_opus_rx_poll_timeout(rx), VG_MSEC(20));
  CHECK_EQ(vg_opus_rx_push(rx, VG_MSEC(40), p[2].seq, p[2].ts, p[2].data, (size_t)p[2].len), 1);
  CHECK_EQ(vg_opus_rx_pull(rx, VG_MSEC(40), buf, 1920), 320);
  CHECK_EQ(vg_opus_rx_pull(rx, VG_MSEC(40), buf, 1920), 0);
  CHECK_EQ(vg_opus_rx_poll_timeout(rx), VG_MSEC(60));
  CHECK_EQ(vg_opus_rx_pull(rx, VG_MSEC(60), buf, 1920), 640);
  cfg.jitter = -1;
  vg_opus_rx_t *bad = NULL;
  CHECK_EQ(vg_opus_rx_create(&cfg, &bad), VG_EINVAL);
  CHECK(bad == NULL);
  CHECK_EQ(vg_opus_rx_push(rx, 0, 0, 0, NULL, 5), VG_EINVAL);
  vg_opus_rx_destroy(rx);
  vg_opus_rx_destroy(NULL);
  free(p);
}

VGT_MAIN(VGT_CASE(test_clean), VGT_CASE(test_small_cap), VGT_CASE(test_loss),
         VGT_CASE(test_reorder), VGT_CASE(test_duplicates), VGT_CASE(test_frame_sizes),
         VGT_CASE(test_dtx_jump), VGT_CASE(test_stereo_downmix), VGT_CASE(test_wrap),
         VGT_CASE(test_long_session), VGT_CASE(test_garbage), VGT_CASE(test_restart),
         VGT_CASE(test_timeout_and_full))
