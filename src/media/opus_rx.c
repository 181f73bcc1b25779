/* opus_rx: reorder ring, gap planning and libopus decoding to 16 kHz mono.
 *
 * Three layers, each small:
 *   push  classifies a packet by sequence number (RFC 3550 A.1 window) and
 *         stores it in any free slot of the ring;
 *   plan  picks the next packet in sequence order once it is due, and from
 *         its RTP timestamp plans how to fill the gap before it
 *         (PLC / zeros / FEC) and how much of it overlaps what was produced;
 *   produce runs one step of the plan (one libopus call) into a one-frame
 *         PCM buffer that pull copies out.
 * Positions are kept in 16 kHz samples on the unwrapped RTP timeline. */
#include "media/opus_rx.h"

#include <opus/opus.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

/* RFC 7587 §4.1: the RTP clock rate for Opus is always 48 kHz. */
#define TS_PER_SAMPLE (48000 / VG_OPUS_RX_RATE)
/* RFC 6716 §2: frame sizes are multiples of 2.5 ms; libopus wants PLC and
 * FEC durations in whole 2.5 ms units. */
#define QUANTUM (VG_OPUS_RX_RATE / 400)
#define DEFAULT_FRAME (VG_OPUS_RX_RATE / 50) /* 20 ms until a packet says otherwise */
#define MAX_PLC_SAMPLES ((int64_t)VG_OPUS_RX_MAX_PLC_MS * (VG_OPUS_RX_RATE / 1000))
#define MAX_GAP_SAMPLES ((int64_t)VG_OPUS_RX_MAX_GAP_MS * (VG_OPUS_RX_RATE / 1000))
/* RFC 3550 A.1: a sequence number up to MAX_DROPOUT ahead is the same stream
 * after a loss; up to MAX_MISORDER behind is a late packet; anything else is
 * a jump that only its successor can confirm as a restart. */
#define MAX_DROPOUT 3000
#define MAX_MISORDER 100
/* Sequence numbers remembered behind the head, to tell duplicates (decoded)
 * from late packets (concealed). */
#define HIST 64

enum { SLOT_FREE, SLOT_HELD, SLOT_CUR };
enum { HIST_NONE, HIST_DECODED, HIST_CONCEALED };

typedef struct {
  uint8_t state;   /* SLOT_* */
  bool bad;        /* empty or larger than VG_OPUS_RX_MAX_PAYLOAD: undecodable */
  bool rebase;     /* first packet of a restarted stream */
  uint16_t seq;    /* internal sequence number (wire + offset) */
  uint32_t ts;     /* RTP timestamp, 48 kHz */
  vg_time_t arrived;
  uint16_t len;
  uint8_t data[VG_OPUS_RX_MAX_PAYLOAD];
} slot_t;

struct vg_opus_rx {
  OpusDecoder *dec;  /* owned */
  const char *sid;   /* borrowed, nullable */
  vg_time_t jitter;
  vg_opus_rx_stats_t st;

  /* Sequence state (internal numbers). */
  bool started;        /* a packet was kept */
  bool waiting_first;  /* nothing planned yet: the first packet waits `jitter` */
  vg_time_t first_arrival;
  uint16_t next_seq;   /* the next packet to plan */
  uint16_t max_seq;    /* highest kept */
  uint16_t offset;     /* internal = wire + offset; changes at a restart */
  bool restart_pending;/* old packets held before a restart: all due now */
  uint16_t restart_seq;/* the restarted stream's first internal number */
  struct { uint16_t seq; uint8_t state; } hist[HIST];
  slot_t probe;        /* an out-of-window packet awaiting its successor (wire seq) */
  bool probe_used;

  /* Timeline, 16 kHz samples on the unwrapped RTP clock. */
  bool have_pos;
  int64_t pos;         /* where the next produced sample belongs */
  int64_t ref48;       /* unwrapped timestamp of the last planned packet */
  uint32_t ref_ts;     /* its wire timestamp */
  int last_dur;        /* duration of the last decoded packet: PLC frame size */
  bool last_celt;      /* it was CELT-only: libopus cannot use FEC after it */

  /* The plan for the current packet: fill, then decode. */
  int cur;             /* slot index of the packet being produced, -1 none */
  int64_t plc_left, zero_left;
  int fec_len;         /* 0, or the lost duration to decode from cur's FEC */
  bool fec_real;       /* cur carries the LBRR copy libopus will use */
  bool pkt_pending;    /* cur still to decode */
  int64_t skip;        /* leading samples of cur already produced */

  int16_t pcm[VG_OPUS_RX_MAX_FRAME];
  int pcm_off, pcm_len;

  int held;            /* slots in SLOT_HELD */
  slot_t slots[VG_OPUS_RX_SLOTS];
};

static int64_t floor_div3(int64_t a) { return a >= 0 ? a / 3 : -((-a + 2) / 3); }

static int16_t sdiff(uint16_t a, uint16_t b) { return (int16_t)(uint16_t)(a - b); }

/* Whether `d` has passed since `since` (overflow-safe for any inputs). */
static bool waited(vg_time_t now, vg_time_t since, vg_time_t d) {
  return now >= since && (uint64_t)now - (uint64_t)since >= (uint64_t)d;
}

static vg_time_t deadline(vg_time_t since, vg_time_t d) {
  return since > VG_TIME_NEVER - d ? VG_TIME_NEVER - 1 : since + d;
}

int vg_opus_rx_create(const vg_opus_rx_config_t *cfg, vg_opus_rx_t **out) {
  if (!out) return VG_EINVAL;
  *out = NULL;
  if (cfg && cfg->jitter < 0) return VG_EINVAL;
  vg_opus_rx_t *rx = calloc(1, sizeof *rx);
  if (!rx) return VG_ENOMEM;
  int err = 0;
  rx->dec = opus_decoder_create(VG_OPUS_RX_RATE, 1, &err);
  if (!rx->dec || err != OPUS_OK) goto fail;
  rx->jitter = cfg && cfg->jitter > 0 ? cfg->jitter : VG_OPUS_RX_DEFAULT_JITTER;
  rx->sid = cfg ? cfg->sid : NULL;
  rx->cur = -1;
  rx->last_dur = DEFAULT_FRAME;
  *out = rx;
  return VG_OK;
fail:
  vg_opus_rx_destroy(rx);
  return VG_ENOMEM;
}

void vg_opus_rx_destroy(vg_opus_rx_t *rx) {
  if (!rx) return;
  if (rx->dec) opus_decoder_destroy(rx->dec);
  free(rx);
}

/* ---- push: classify and store ------------------------------------------ */

static int free_slot(const vg_opus_rx_t *rx) {
  for (int i = 0; i < VG_OPUS_RX_SLOTS; i++)
    if (rx->slots[i].state == SLOT_FREE) return i;
  return -1;
}

static int find_held(const vg_opus_rx_t *rx, uint16_t seq) {
  for (int i = 0; i < VG_OPUS_RX_SLOTS; i++)
    if (rx->slots[i].state == SLOT_HELD && rx->slots[i].seq == seq) return i;
  return -1;
}

/* The held packet with the lowest sequence number, -1 when none. */
static int earliest_held(const vg_opus_rx_t *rx) {
  int best = -1;
  for (int i = 0; i < VG_OPUS_RX_SLOTS; i++) {
    if (rx->slots[i].state != SLOT_HELD) continue;
    if (best < 0 || sdiff(rx->slots[i].seq, rx->slots[best].seq) < 0) best = i;
  }
  return best;
}

static void fill_slot(slot_t *s, uint16_t seq, uint32_t ts, vg_time_t now, const uint8_t *p,
                      size_t len) {
  s->seq = seq;
  s->ts = ts;
  s->arrived = now;
  s->rebase = false;
  /* RFC 6716 §3.4 [R1]: a packet has at least one byte. */
  s->bad = len == 0 || len > VG_OPUS_RX_MAX_PAYLOAD;
  s->len = s->bad ? 0 : (uint16_t)len;
  if (!s->bad) memcpy(s->data, p, len);
}

static void keep(vg_opus_rx_t *rx, int i, vg_time_t now, uint16_t seq, uint32_t ts,
                 const uint8_t *p, size_t len) {
  fill_slot(&rx->slots[i], seq, ts, now, p, len);
  rx->slots[i].state = SLOT_HELD;
  rx->held++;
  if (sdiff(seq, rx->max_seq) > 0) rx->max_seq = seq;
  else if (seq != rx->max_seq) rx->st.reordered++;
}

/* A packet far outside the window: held as a probe; its successor confirms
 * a restart (RFC 3550 A.1's bad_seq rule, keeping the first packet). */
static int out_of_window(vg_opus_rx_t *rx, vg_time_t now, uint16_t wire, uint32_t ts,
                         const uint8_t *p, size_t len) {
  if (rx->probe_used && wire == rx->probe.seq) {
    rx->st.packets++;
    rx->st.duplicates++;
    return 0;
  }
  if (!rx->probe_used || wire != (uint16_t)(rx->probe.seq + 1)) {
    if (rx->probe_used) rx->st.strays++;
    rx->st.packets++;
    fill_slot(&rx->probe, wire, ts, now, p, len);
    rx->probe_used = true;
    return 1;
  }
  int a = free_slot(rx);
  if (a < 0 || rx->held + 2 > VG_OPUS_RX_SLOTS - (rx->cur >= 0)) return VG_ENOSPC;
  /* Restart: the new stream continues the internal numbering after every
   * packet held, which are all due at once. */
  uint16_t base = (uint16_t)(rx->max_seq + 1);
  rx->offset = (uint16_t)(base - rx->probe.seq);
  rx->probe.seq = base;
  rx->slots[a] = rx->probe;
  rx->slots[a].rebase = true;
  rx->slots[a].state = SLOT_HELD;
  rx->held++;
  rx->max_seq = base;
  rx->probe_used = false;
  rx->restart_pending = true;
  rx->restart_seq = base;
  rx->st.restarts++;
  VG_LOG(VG_LOG_INFO, rx->sid, "opus_rx: stream restart at seq %u ts %u", (unsigned)wire - 1u,
         (unsigned)rx->probe.ts);
  rx->st.packets++;
  keep(rx, free_slot(rx), now, (uint16_t)(wire + rx->offset), ts, p, len);
  return 1;
}

int vg_opus_rx_push(vg_opus_rx_t *rx, vg_time_t now, uint16_t wire, uint32_t ts,
                    const uint8_t *payload, size_t len) {
  if (!rx || (!payload && len)) return VG_EINVAL;
  int slot = free_slot(rx);
  if (!rx->started) {
    if (slot < 0) return VG_ENOSPC;
    rx->started = rx->waiting_first = true;
    rx->first_arrival = now;
    rx->next_seq = rx->max_seq = wire;
    rx->st.packets++;
    keep(rx, slot, now, wire, ts, payload, len);
    return 1;
  }
  uint16_t seq = (uint16_t)(wire + rx->offset);
  int d = sdiff(seq, rx->next_seq);
  if (d < 0 && rx->waiting_first && d >= -VG_OPUS_RX_SLOTS && find_held(rx, seq) < 0) {
    /* Before the first packet was planned: an earlier one starts the stream. */
    if (slot < 0) return VG_ENOSPC;
    rx->next_seq = seq;
    rx->st.packets++;
    keep(rx, slot, now, seq, ts, payload, len);
    return 1;
  }
  if (d < -MAX_MISORDER || d >= MAX_DROPOUT)
    return out_of_window(rx, now, wire, ts, payload, len);
  if (d < 0 || find_held(rx, seq) >= 0) {
    rx->st.packets++;
    int h = (uint16_t)seq % HIST;
    if (d >= 0 || (rx->hist[h].seq == seq && rx->hist[h].state == HIST_DECODED)) {
      rx->st.duplicates++;
    } else {
      rx->st.late++;
      VG_LOG(VG_LOG_DEBUG, rx->sid, "opus_rx: late packet seq %u dropped", (unsigned)wire);
    }
    return 0;
  }
  if (slot < 0) return VG_ENOSPC;
  if (rx->probe_used) {
    rx->probe_used = false;
    rx->st.strays++;
  }
  rx->st.packets++;
  keep(rx, slot, now, seq, ts, payload, len);
  return 1;
}

/* ---- plan: pick the next packet, fill the gap before it ----------------- */

/* Whether a lost packet decoded from this one's FEC is really recovered
 * (for the counters; libopus conceals when it cannot). RFC 6716 §4.2.3: the
 * SILK layer starts with one VAD flag per SILK frame then one LBRR flag for
 * the mid channel (then the same for the side channel, which a mono decoder
 * does not use), range coded at probability 1/2, which makes them the
 * leading bits of the first frame. CELT-only packets (TOC config >= 16,
 * §3.1) have no LBRR. */
static bool has_lbrr(const uint8_t *p, int len) {
  if (len < 1 || (p[0] >> 3) >= 16) return false;
  int spf = opus_packet_get_samples_per_frame(p, 48000);
  int silk_frames = spf > 960 ? spf / 960 : 1; /* 40 and 60 ms: 2 or 3 */
  const unsigned char *frames[48];
  opus_int16 sizes[48];
  if (opus_packet_parse(p, len, NULL, frames, sizes, NULL) <= 0 || sizes[0] < 1) return false;
  return (frames[0][0] >> (7 - silk_frames)) & 1;
}

static void remember(vg_opus_rx_t *rx, uint16_t seq, uint8_t state) {
  rx->hist[seq % HIST].seq = seq;
  rx->hist[seq % HIST].state = state;
}

/* Fewer than two free slots (a restart stores two packets at once): the
 * oldest gap is due at once, so that pull makes room. */
static bool ring_full(const vg_opus_rx_t *rx) { return rx->held >= VG_OPUS_RX_SLOTS - 1; }

/* The slot to plan next, or -1 when nothing is due at `now`. *lost tells
 * whether packets are missing right before it. */
static int due_slot(const vg_opus_rx_t *rx, vg_time_t now, bool force, bool *lost) {
  if (rx->held == 0 || rx->cur >= 0) return -1;
  bool over = force || ring_full(rx) || rx->restart_pending;
  if (rx->waiting_first && !over && !waited(now, rx->first_arrival, rx->jitter)) return -1;
  int i = find_held(rx, rx->next_seq);
  *lost = i < 0;
  if (i >= 0) return i;
  i = earliest_held(rx);
  /* The missing packet had `jitter` to arrive after its successor did. */
  if (!over && !waited(now, rx->slots[i].arrived, rx->jitter)) return -1;
  return i;
}

static void plan_gap(vg_opus_rx_t *rx, const slot_t *s, int64_t gap, bool lost) {
  int fec = 0;
  /* FEC: the packet after a loss carries a low-bitrate copy of the lost
   * one (RFC 6716 §2.1.7); libopus decodes it with decode_fec=1 and the
   * lost duration, taken to be this packet's. Where the copy is missing
   * (or covers only this packet's last frame) libopus conceals the rest. */
  if (lost && !s->bad) {
    int f = opus_packet_get_nb_samples(s->data, s->len, VG_OPUS_RX_RATE);
    if (f > 0 && f <= gap && f <= VG_OPUS_RX_MAX_FRAME && f % QUANTUM == 0) fec = f;
  }
  int64_t rest = gap - fec;
  rx->plc_left = rest < MAX_PLC_SAMPLES ? rest : MAX_PLC_SAMPLES;
  rx->zero_left = rest - rx->plc_left;
  rx->fec_len = fec;
  rx->fec_real = fec && !rx->last_celt && has_lbrr(s->data, s->len);
}

static bool plan_next(vg_opus_rx_t *rx, vg_time_t now, bool force) {
  bool lost = false;
  int i = due_slot(rx, now, force, &lost);
  if (i < 0) return false;
  slot_t *s = &rx->slots[i];
  if (lost) {
    /* Everything before it is concealed now; only the last HIST matter. */
    int n = sdiff(s->seq, rx->next_seq);
    for (int k = n > HIST ? n - HIST : 0; k < n; k++)
      remember(rx, (uint16_t)(rx->next_seq + k), HIST_CONCEALED);
  }
  remember(rx, s->seq, HIST_DECODED);
  rx->next_seq = (uint16_t)(s->seq + 1);
  rx->waiting_first = false;
  s->state = SLOT_CUR;
  rx->held--;
  rx->cur = i;
  rx->pkt_pending = true;
  rx->plc_left = rx->zero_left = rx->skip = 0;
  rx->fec_len = 0;

  if (s->rebase) {
    opus_decoder_ctl(rx->dec, OPUS_RESET_STATE);
    rx->last_dur = DEFAULT_FRAME;
    rx->last_celt = false;
    rx->have_pos = false;
    lost = false;
  }
  if (rx->restart_pending && sdiff(rx->next_seq, rx->restart_seq) > 0)
    rx->restart_pending = false;
  if (!rx->have_pos) {
    rx->have_pos = true;
    rx->ref48 = s->ts;
    rx->ref_ts = s->ts;
    rx->pos = floor_div3(rx->ref48);
    return true;
  }
  rx->ref48 += (int32_t)(s->ts - rx->ref_ts);
  rx->ref_ts = s->ts;
  int64_t t = floor_div3(rx->ref48);
  int nominal = s->bad ? 0 : opus_packet_get_nb_samples(s->data, s->len, VG_OPUS_RX_RATE);
  if (nominal <= 0 || nominal > VG_OPUS_RX_MAX_FRAME) nominal = rx->last_dur;
  int64_t gap = t - rx->pos;
  if (gap > MAX_GAP_SAMPLES || gap <= -nominal) {
    /* A jump too long to fill, or wholly behind what was produced: the
     * stream continues directly from here. */
    VG_LOG(VG_LOG_INFO, rx->sid, "opus_rx: timestamp discontinuity of %lld samples at ts %u",
           (long long)gap, (unsigned)s->ts);
    rx->st.restarts++;
    rx->pos = t;
    return true;
  }
  if (gap < 0) rx->skip = -gap; /* overlaps what was produced: drop that part */
  else if (gap > 0) plan_gap(rx, s, gap, lost);
  return true;
}

/* ---- produce: one libopus call per step --------------------------------- */

/* PLC of n samples (the decoder wants whole 2.5 ms units: round up, keep
 * n): one concealed frame. */
static void conceal(vg_opus_rx_t *rx, int n) {
  int frame = (n + QUANTUM - 1) / QUANTUM * QUANTUM;
  if (opus_decode(rx->dec, NULL, 0, rx->pcm, frame, 0) < 0) memset(rx->pcm, 0, sizeof rx->pcm);
  rx->pcm_off = 0;
  rx->pcm_len = n;
  rx->st.concealed_frames++;
}

static void decode_packet(vg_opus_rx_t *rx) {
  slot_t *s = &rx->slots[rx->cur];
  int n = s->bad ? OPUS_INVALID_PACKET
                 : opus_decode(rx->dec, s->data, s->len, rx->pcm, VG_OPUS_RX_MAX_FRAME, 0);
  if (n < 0) {
    rx->st.decode_errors++;
    VG_LOG(VG_LOG_DEBUG, rx->sid, "opus_rx: undecodable payload (%s), concealed",
           opus_strerror(n));
    conceal(rx, rx->last_dur);
    n = rx->last_dur;
  } else {
    rx->pcm_off = 0;
    rx->pcm_len = n;
    if (n > 0 && n % QUANTUM == 0) rx->last_dur = n;
    rx->last_celt = (s->data[0] >> 3) >= 16;
  }
  rx->pcm_off = rx->skip < n ? (int)rx->skip : n;
  rx->pos += n - rx->pcm_off;
  rx->pkt_pending = false;
  s->state = SLOT_FREE;
  rx->cur = -1;
}

/* Runs one step of the plan into rx->pcm; false when the plan is done. */
static bool produce(vg_opus_rx_t *rx) {
  if (rx->cur < 0) return false;
  if (rx->plc_left > 0) {
    int n = rx->plc_left < rx->last_dur ? (int)rx->plc_left : rx->last_dur;
    conceal(rx, n);
    rx->plc_left -= n;
    rx->pos += n;
  } else if (rx->zero_left > 0) {
    int n = rx->zero_left < VG_OPUS_RX_MAX_FRAME ? (int)rx->zero_left : VG_OPUS_RX_MAX_FRAME;
    memset(rx->pcm, 0, (size_t)n * sizeof rx->pcm[0]);
    rx->pcm_off = 0;
    rx->pcm_len = n;
    rx->zero_left -= n;
    rx->pos += n;
    rx->st.silence_samples += (uint64_t)n;
  } else if (rx->fec_len > 0) {
    slot_t *s = &rx->slots[rx->cur];
    int n = opus_decode(rx->dec, s->data, s->len, rx->pcm, rx->fec_len, 1);
    if (n == rx->fec_len) {
      rx->pcm_off = 0;
      rx->pcm_len = n;
      if (rx->fec_real) rx->st.fec_frames++;
      else rx->st.concealed_frames++;
    } else {
      conceal(rx, rx->fec_len);
    }
    rx->pos += rx->fec_len;
    rx->fec_len = 0;
  } else {
    decode_packet(rx);
  }
  return true;
}

static int drain(vg_opus_rx_t *rx, vg_time_t now, bool force, int16_t *out, size_t cap) {
  if (!rx || (!out && cap)) return VG_EINVAL;
  if (cap > (size_t)INT32_MAX) cap = INT32_MAX;
  size_t total = 0;
  while (total < cap) {
    if (rx->pcm_off < rx->pcm_len) {
      size_t n = (size_t)(rx->pcm_len - rx->pcm_off);
      if (n > cap - total) n = cap - total;
      memcpy(out + total, rx->pcm + rx->pcm_off, n * sizeof *out);
      rx->pcm_off += (int)n;
      total += n;
      continue;
    }
    rx->pcm_off = rx->pcm_len = 0;
    if (produce(rx)) continue;
    if (!plan_next(rx, now, force)) break;
  }
  rx->st.samples_out += total;
  return (int)total;
}

int vg_opus_rx_pull(vg_opus_rx_t *rx, vg_time_t now, int16_t *out, size_t cap) {
  return drain(rx, now, false, out, cap);
}

int vg_opus_rx_flush(vg_opus_rx_t *rx, int16_t *out, size_t cap) {
  if (rx && rx->probe_used) {
    rx->probe_used = false;
    rx->st.strays++;
  }
  return drain(rx, VG_TIME_NEVER, true, out, cap);
}

vg_time_t vg_opus_rx_poll_timeout(const vg_opus_rx_t *rx) {
  if (!rx) return VG_TIME_NEVER;
  if (rx->pcm_off < rx->pcm_len || rx->cur >= 0) return 0;
  if (rx->held == 0) return VG_TIME_NEVER;
  if (rx->restart_pending || ring_full(rx)) return 0;
  if (rx->waiting_first) return deadline(rx->first_arrival, rx->jitter);
  if (find_held(rx, rx->next_seq) >= 0) return 0;
  return deadline(rx->slots[earliest_held(rx)].arrived, rx->jitter);
}

void vg_opus_rx_get_stats(const vg_opus_rx_t *rx, vg_opus_rx_stats_t *out) {
  if (!out) return;
  if (!rx) {
    memset(out, 0, sizeof *out);
    return;
  }
  *out = rx->st;
}
