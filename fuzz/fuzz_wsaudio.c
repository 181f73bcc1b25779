/* Fuzzes what /ws/audio and /ws/asr read from a client, the way
 * app/wsaudio.c reads it: the WebSocket codec (sig/ws.h) joins the client's
 * frames into messages; text messages go to the control-message parsers
 * (both protocols), binary ones to the audio check (sig/wsaudio.h).
 *
 *   byte 0: bits 0-1 the config binary messages are checked against
 *           (opus 48000, pcm16 16000, pcm16 8000, pcm16 48000), bits 2-7
 *           where the stream is cut in two for the second feeding
 *   bytes 1..: the client's byte stream
 *
 * Checked:
 *   - fed whole, or in two pieces cut anywhere, the codec yields the same
 *     messages (kind, bytes, close code), but for one known case of wslay's
 *     (a close reason cut across reads, see compare);
 *   - every parser answers VG_OK, or VG_EINVAL / VG_EUNSUPPORTED / VG_ELIMIT
 *     with a non-empty one-line reason;
 *   - what parsed re-parses the same once written back: a config through
 *     vg_wsaudio_format_config; a ping's "t" dumped by jansson as the
 *     server's pong does (every digit) and sent again; a Vosk sample rate
 *     and eof;
 *   - the audio check: PCM gives len/2 samples exactly when len is even and
 *     at most 1 s, Opus 1..5760 samples (RFC 6716: at most 120 ms), and an
 *     Opus packet it accepts is one libopus decodes to exactly that many
 *     samples (what the transcriber will do with it);
 *   - the raw stream itself, as one text message, through both parsers. */
#include <jansson.h>
#include <opus/opus.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sig/ws.h"
#include "sig/wsaudio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond) {
  if (!cond) abort();
}

#define MAX_MESSAGE 8192
#define MAX_MSGS 256

typedef struct {
  vg_ws_msg_kind_t kind;
  uint8_t *data; /* owned copy */
  size_t len;
  uint16_t code;
} msg_t;

static void check_why(int r, const char *why) {
  if (r >= 0) return;
  check(r == VG_EINVAL || r == VG_EUNSUPPORTED || r == VG_ELIMIT);
  check(why && why[0] && !strchr(why, '\n'));
}

/* The /ws/audio parser, and its round trips. */
static void audio_text(const uint8_t *s, size_t len) {
  vg_wsaudio_msg_t m, again;
  const char *why = NULL;
  int r = vg_wsaudio_parse((const char *)s, len, &m, &why);
  check_why(r, why);
  if (r < 0) return;
  char buf[256];
  if (m.kind == VG_WSAUDIO_MSG_CONFIG) {
    int n = vg_wsaudio_format_config(&m.config, buf, sizeof buf);
    check(n > 0 && (size_t)n < sizeof buf);
    check(vg_wsaudio_parse(buf, (size_t)n, &again, NULL) == VG_OK);
    check(again.kind == VG_WSAUDIO_MSG_CONFIG && again.config.mode == m.config.mode &&
          again.config.codec == m.config.codec && again.config.sample_rate == m.config.sample_rate);
    check(m.config.codec != VG_WSAUDIO_OPUS || m.config.sample_rate == VG_WSAUDIO_OPUS_RATE);
    check(m.config.sample_rate >= VG_WSAUDIO_MIN_RATE && m.config.sample_rate <= VG_WSAUDIO_MAX_RATE);
  } else if (m.kind == VG_WSAUDIO_MSG_PING) {
    /* what the server answers, as a ping again */
    json_t *t = m.t_is_int ? json_integer(m.t_int) : json_real(m.t_real);
    json_t *o = json_pack("{s:s, s:o}", "type", "ping", "t", t);
    char *d = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!d) return;
    check(vg_wsaudio_parse(d, strlen(d), &again, NULL) == VG_OK);
    check(again.kind == VG_WSAUDIO_MSG_PING && again.t_is_int == m.t_is_int);
    check(m.t_is_int ? again.t_int == m.t_int
                     : memcmp(&again.t_real, &m.t_real, sizeof m.t_real) == 0);
    free(d);
  } else {
    check(m.kind == VG_WSAUDIO_MSG_STOP);
  }
}

/* The /ws/asr (Vosk) parser, and its round trips. */
static void vosk_text(const uint8_t *s, size_t len) {
  vg_vosk_msg_t m, again;
  const char *why = NULL;
  int r = vg_vosk_parse((const char *)s, len, &m, &why);
  check_why(r, why);
  if (r < 0) return;
  char buf[96];
  int n = m.kind == VG_VOSK_MSG_EOF
              ? snprintf(buf, sizeof buf, "{\"eof\" : 1}")
              : snprintf(buf, sizeof buf, "{\"config\":{\"sample_rate\":%u}}", m.sample_rate);
  if (m.kind == VG_VOSK_MSG_CONFIG && m.sample_rate == 0) return; /* none given */
  check(vg_vosk_parse(buf, (size_t)n, &again, NULL) == VG_OK);
  check(again.kind == m.kind && again.sample_rate == m.sample_rate);
}

static const vg_wsaudio_config_t configs[4] = {
    {VG_WSAUDIO_ECHO, VG_WSAUDIO_OPUS, 48000},
    {VG_WSAUDIO_TRANSCRIBE, VG_WSAUDIO_PCM16, 16000},
    {VG_WSAUDIO_ECHO, VG_WSAUDIO_PCM16, 8000},
    {VG_WSAUDIO_TRANSCRIBE, VG_WSAUDIO_PCM16, 48000},
};

static void audio_binary(const vg_wsaudio_config_t *cfg, const uint8_t *b, size_t len) {
  const char *why = NULL;
  int r = vg_wsaudio_check_audio(cfg, b, len, &why);
  check_why(r, why);
  if (cfg->codec == VG_WSAUDIO_PCM16) {
    bool fits = len % 2 == 0 && len / 2 <= cfg->sample_rate;
    check(fits ? r == (int)(len / 2) : r < 0);
  } else {
    check(r < 0 || (r > 0 && r <= 5760));
    static OpusDecoder *dec;
    static opus_int16 pcm[5760];
    if (!dec) dec = opus_decoder_create(48000, 1, &(int){0});
    if (r > 0 && dec) check(opus_decode(dec, b, (opus_int32)len, pcm, 5760, 0) == r);
  }
}

/* Feeds the stream in pieces [0, cut) and [cut, size) and collects its
 * messages (up to MAX_MSGS; returns how many came). */
static size_t run_codec(const uint8_t *in, size_t size, size_t cut, msg_t *out) {
  vg_ws_config_t cfg = {.max_message = MAX_MESSAGE};
  vg_ws_t *ws;
  if (vg_ws_create(&cfg, &ws) < 0) return 0;
  size_t n = 0;
  size_t pieces[2][2] = {{0, cut}, {cut, size}};
  for (int p = 0; p < 2; p++) {
    int r = vg_ws_feed(ws, in + pieces[p][0], pieces[p][1] - pieces[p][0]);
    if (r < 0) break;
    vg_ws_msg_t m;
    while (vg_ws_poll_message(ws, &m)) {
      check(m.len <= MAX_MESSAGE);
      if (n < MAX_MSGS) {
        out[n].kind = m.kind;
        out[n].len = m.len;
        out[n].code = m.close_code;
        out[n].data = malloc(m.len ? m.len : 1);
        if (out[n].data) memcpy(out[n].data, m.data, m.len);
      }
      n++;
    }
    /* what the server sends back is drained as the IO layer does */
    uint8_t buf[4096];
    while (vg_ws_poll_output(ws, buf, sizeof buf) > 0) {
    }
  }
  vg_ws_destroy(ws);
  return n;
}

static bool same(const msg_t *a, const msg_t *b) {
  return a->kind == b->kind && a->len == b->len && a->code == b->code &&
         (!a->data || !b->data || memcmp(a->data, b->data, a->len) == 0);
}

static bool bad_close(const msg_t *m) {
  return m->kind == VG_WS_CLOSED && m->code == VG_WS_CLOSE_BAD_DATA;
}

/* Whole and cut feeding give the same messages, but for one known case
 * (sig/ws.c, cb_msg): wslay checks a close reason's UTF-8 per chunk
 * received, restarting two bytes into each, so where a close frame's bad
 * reason is cut decides whether the connection fails with 1007 (and when),
 * or the close is accepted and reported without its reason. Then only the
 * last message differs: a 1007 close on one side, none or another close on
 * the other. */
static void compare(const msg_t *a, size_t na, const msg_t *b, size_t nb) {
  if (na > MAX_MSGS || nb > MAX_MSGS) {
    check(na == nb);
    return;
  }
  size_t common = na < nb ? na : nb;
  for (size_t i = 0; i < common; i++) {
    if (same(&a[i], &b[i])) continue;
    check(i + 1 == na && i + 1 == nb && a[i].kind == VG_WS_CLOSED && b[i].kind == VG_WS_CLOSED &&
          (bad_close(&a[i]) || bad_close(&b[i])));
  }
  if (na != nb) check(na == nb + 1 ? bad_close(&a[nb]) : nb == na + 1 && bad_close(&b[na]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const vg_wsaudio_config_t *cfg = &configs[data[0] & 3];
  const uint8_t *in = data + 1;
  size_t len = size - 1;
  /* the raw bytes as a whole text message */
  audio_text(in, len);
  vosk_text(in, len);
  audio_binary(cfg, in, len);
  /* through the codec, whole */
  static msg_t msgs[MAX_MSGS], cut_msgs[MAX_MSGS];
  size_t n = run_codec(in, len, len, msgs);
  size_t kept = n < MAX_MSGS ? n : MAX_MSGS;
  for (size_t i = 0; i < kept; i++) {
    if (msgs[i].kind == VG_WS_TEXT && msgs[i].data) {
      audio_text(msgs[i].data, msgs[i].len);
      vosk_text(msgs[i].data, msgs[i].len);
    } else if (msgs[i].kind == VG_WS_BINARY && msgs[i].data) {
      audio_binary(cfg, msgs[i].data, msgs[i].len);
    }
  }
  /* and cut in two: the same messages */
  size_t cut = len ? (size_t)(data[0] >> 2) * len / 63 : 0;
  if (cut > len) cut = len;
  size_t n2 = run_codec(in, len, cut, cut_msgs);
  compare(msgs, n, cut_msgs, n2);
  for (size_t i = 0; i < kept; i++) free(msgs[i].data);
  for (size_t i = 0; i < (n2 < MAX_MSGS ? n2 : MAX_MSGS); i++) free(cut_msgs[i].data);
  return 0;
}
