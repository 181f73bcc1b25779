/* opus_rx: from RTP Opus packets to one continuous 16 kHz mono PCM stream.
 *
 * One object per transcribe session, used by one thread at a time. Sans-IO:
 * it owns no clock; time comes in as `now`. It holds one libopus decoder
 * created at 16 kHz, 1 channel, so libopus decodes (and downmixes stereo
 * Opus) straight to the rate the recognisers want: no resampling anywhere.
 *
 *   push(seq, ts, payload) --> reorder ring (64 slots, allocated at create)
 *                               |  in sequence order; a missing packet waits
 *                               |  at most `jitter` after a successor arrived
 *                               v
 *   pull(now) <-- [PLC ... | silence ... | FEC frame] + decoded packet
 *
 * What the output promises: samples in RTP timestamp order, every sample
 * position produced exactly once (no gaps, no duplicates). For a stream
 * without restarts, total samples = (last ts - first ts + last packet's
 * duration) / 3 (RTP timestamps for Opus are 48 kHz, RFC 7587 §4.1).
 *
 * A gap (lost packets, or DTX: sequence contiguous but the timestamp jumps)
 * is filled so that time stays exact:
 *   - the lost packet right before a packet that arrived after a loss is
 *     recovered from that packet's in-band FEC (LBRR) when it carries some
 *     (libopus: opus_decode(decode_fec=1) for that packet's duration);
 *   - the rest, up to VG_OPUS_RX_MAX_PLC_MS, by the decoder's packet loss
 *     concealment (opus_decode with no data), in frames the duration of
 *     the last decoded packet;
 *   - beyond that (by then PLC has faded to silence anyway), zeros, up to
 *     VG_OPUS_RX_MAX_GAP_MS in all.
 * A timestamp jump longer than VG_OPUS_RX_MAX_GAP_MS, or backwards past
 * what was already produced, is a discontinuity: not filled, the stream
 * continues directly (stats.restarts). A sequence number jump outside the
 * RFC 3550 A.1 window (MAX_DROPOUT ahead, MAX_MISORDER behind) confirmed by
 * its successor is a stream restart (e.g. a new track): held packets are
 * released first, then the decoder is reset and the new stream follows
 * directly. A lone out-of-window packet is dropped (stats.strays).
 *
 * Calling pattern (worker thread):
 *   push(now, ...); while ((n = pull(now, buf, cap)) > 0) feed(buf, n);
 *   arm a timer at poll_timeout(); on it: the same pull loop.
 *   end of stream: while ((n = flush(buf, cap)) > 0) feed(buf, n);
 * No allocation after create. */
#ifndef VG_MEDIA_OPUS_RX_H
#define VG_MEDIA_OPUS_RX_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/time.h"

/* Output sample rate: what speech recognisers take. Mono, s16. */
#define VG_OPUS_RX_RATE 16000
/* Packets the reorder ring holds (received, not yet decoded). */
#define VG_OPUS_RX_SLOTS 64
/* RFC 6716 §3.2.1: an Opus frame is at most 1275 bytes. WebRTC sends one
 * frame per packet; a larger payload is treated as undecodable (concealed,
 * stats.decode_errors). */
#define VG_OPUS_RX_MAX_PAYLOAD 1275
/* RFC 6716 §2.1.4: a packet holds at most 120 ms of audio (1920 samples at
 * 16 kHz): the largest chunk pull produces from one decode. */
#define VG_OPUS_RX_MAX_FRAME (VG_OPUS_RX_RATE / 1000 * 120)
/* Default `jitter`: how long a packet waits for a missing predecessor. */
#define VG_OPUS_RX_DEFAULT_JITTER VG_MSEC(60)
/* Gap filling bounds (see above). */
#define VG_OPUS_RX_MAX_PLC_MS 1000
#define VG_OPUS_RX_MAX_GAP_MS 10000

typedef struct vg_opus_rx vg_opus_rx_t;

typedef struct {
  vg_time_t jitter; /* how long a packet may wait for a missing predecessor
                       before that one is concealed; 0 = 60 ms. The first
                       packet of a stream also waits this long, for earlier
                       packets that arrive after it. */
  const char *sid;  /* borrowed, nullable: session id for logs; must outlive rx */
} vg_opus_rx_config_t;

typedef struct {
  uint64_t packets;          /* payloads pushed (all, including dropped) */
  uint64_t duplicates;       /* same sequence number seen before: dropped */
  uint64_t late;             /* arrived after its slot was concealed (or
                                more than the reorder window late): dropped */
  uint64_t reordered;        /* arrived after a packet with a higher sequence
                                number, in time to be used */
  uint64_t concealed_frames; /* PLC frames, each the duration of the last
                                decoded packet (loss, DTX gaps, decode errors) */
  uint64_t fec_frames;       /* lost packets recovered from the in-band FEC
                                of the packet after them */
  uint64_t silence_samples;  /* zeros inserted beyond VG_OPUS_RX_MAX_PLC_MS */
  uint64_t samples_out;      /* 16 kHz samples produced so far */
  uint64_t decode_errors;    /* payloads libopus rejected (or empty/oversize) */
  uint64_t restarts;         /* sequence restarts and timestamp discontinuities */
  uint64_t strays;           /* lone out-of-window packets: dropped */
} vg_opus_rx_stats_t;

/* Creates a receiver: the decoder and the reorder ring. `cfg` nullable
 * (defaults); it is copied. Returns VG_OK and *out (owned by the caller, free
 * with vg_opus_rx_destroy), or VG_ENOMEM / VG_EINVAL (negative jitter). */
VG_MUST_USE int vg_opus_rx_create(const vg_opus_rx_config_t *cfg, vg_opus_rx_t **out);
/* NULL is a no-op. */
void vg_opus_rx_destroy(vg_opus_rx_t *rx);

/* One RTP packet's Opus payload, in arrival order: 16-bit sequence number,
 * 48 kHz RTP timestamp. The payload is copied; `payload` may be NULL when
 * len is 0. Returns 1 when the packet was kept, 0 when it was dropped
 * (duplicate, late, stray; see stats), VG_ENOSPC when the ring has no room
 * (VG_OPUS_RX_SLOTS packets held and not yet pulled; nothing was consumed:
 * pull until 0, then push again; a full ring makes its oldest gap due at
 * once, so pull frees room),
 * VG_EINVAL for bad arguments. An undecodable payload is kept: its slot is
 * concealed when its turn comes. */
VG_MUST_USE int vg_opus_rx_push(vg_opus_rx_t *rx, vg_time_t now, uint16_t seq, uint32_t rtp_ts,
                                const uint8_t *payload, size_t len);

/* Decodes everything that is due at `now`: in sequence order, each gap
 * concealed exactly once. Writes up to `cap` samples (16 kHz mono s16) to
 * `out`; samples of a decoded frame that do not fit are kept for the next
 * call, so any cap >= 1 works (VG_OPUS_RX_MAX_FRAME avoids the copy-back).
 * Returns the count (0 when nothing is due yet), VG_EINVAL for bad
 * arguments. Call until it returns 0. */
VG_MUST_USE int vg_opus_rx_pull(vg_opus_rx_t *rx, vg_time_t now, int16_t *out, size_t cap);

/* When pull may next produce without a new packet (a held packet's wait
 * ends); a time in the past (0) when pull has output due already;
 * VG_TIME_NEVER when nothing is held. */
vg_time_t vg_opus_rx_poll_timeout(const vg_opus_rx_t *rx);

/* End of stream: like pull with every wait over. Releases everything held,
 * concealing gaps between held packets (never after the last one). Same
 * return as pull; call until it returns 0. The receiver stays usable: a
 * later push continues the same stream. */
VG_MUST_USE int vg_opus_rx_flush(vg_opus_rx_t *rx, int16_t *out, size_t cap);

/* Copies the counters. */
void vg_opus_rx_get_stats(const vg_opus_rx_t *rx, vg_opus_rx_stats_t *out);

#endif
