/* /ws/audio and /ws/asr end to end over real loopback sockets, in one
 * process: the server runs on its libuv loop; the test is a WebSocket
 * client (server_test_util.h) that speaks each protocol as its
 * documentation says. Every close code of the contract is provoked, each
 * beside an echo session that must keep flowing frame-exact. */
#include <jansson.h>
#include <opus/opus.h>
#include <soxr.h>

#include "base/log.h"
#include "core/rtc.h"
#include "server_test_util.h"
#include "sig/wsaudio.h"
#include "vgtest.h"

/* ---- helpers ------------------------------------------------------------------ */

/* Opens /ws/audio and sends the config; true when "ready" came back, with
 * the session id in id (nullable). */
static bool audio_open(wsc_t *c, server_t *s, const char *mode, const char *codec, int rate,
                       char *id, size_t id_cap) {
  if (!wsc_open(c, s, "/ws/audio")) return false;
  char cfg[160];
  snprintf(cfg, sizeof cfg, "{\"mode\":\"%s\",\"codec\":\"%s\",\"sample_rate\":%d}", mode, codec,
           rate);
  if (!wsc_send_text(c, cfg)) return false;
  wsc_msg_t m;
  if (wsc_recv(c, &m, 3000) != 1 || m.opcode != 1) return false;
  json_t *j = json_loadb((const char *)m.data, m.len, 0, NULL);
  bool ok = j && strcmp(json_string_value(json_object_get(j, "type")) ?: "", "ready") == 0 &&
            json_integer_value(json_object_get(j, "sample_rate")) == rate &&
            strcmp(json_string_value(json_object_get(j, "codec")) ?: "", codec) == 0;
  if (ok && id) snprintf(id, id_cap, "%s", json_string_value(json_object_get(j, "id")) ?: "");
  json_decref(j);
  return ok;
}

/* Real Opus packets: 20 ms of a sawtooth whose pitch changes per packet,
 * from libopus at 48 kHz. */
static int make_opus(uint8_t pkts[][400], size_t lens[], int n) {
  int err;
  OpusEncoder *enc = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
  if (!enc) return -1;
  int16_t pcm[960];
  for (int i = 0; i < n; i++) {
    for (int k = 0; k < 960; k++)
      pcm[k] = (int16_t)(((i * 960 + k) * (20 + i) % 400) * 40 - 8000);
    int len = opus_encode(enc, pcm, 960, pkts[i], 400);
    if (len <= 0) break;
    lens[i] = (size_t)len;
  }
  opus_encoder_destroy(enc);
  return n;
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_echo_opus_and_pcm16_frame_exact(void) {
  vg_log_set_level(VG_LOG_WARN);
  server_t s;
  CHECK(server_start(&s, 11, NULL, 10));
  wsc_t a, b;
  char id[64];
  CHECK(audio_open(&a, &s, "echo", "opus", 48000, id, sizeof id));
  CHECK(audio_open(&b, &s, "echo", "pcm16", 16000, NULL, 0));
  CHECK_EQ(vg_server_session_count(s.srv), 2);
  response_t r;
  CHECK(http_do(&s, "GET", "/api/sessions", NULL, "", 0, &r));
  CHECK(strstr(r.body, id) && strstr(r.body, "\"transport\":\"websocket\""));

  /* 100 real Opus packets sent back to back, then 100 PCM messages of
   * varied whole sample counts (an empty one too): each comes back
   * unchanged and in order, the two sessions interleaved. */
  static uint8_t pkts[100][400];
  static size_t lens[100];
  CHECK_EQ(make_opus(pkts, lens, 100), 100);
  static int16_t pcm[100][640];
  for (int i = 0; i < 100; i++) {
    CHECK(wsc_send(&a, 2, pkts[i], lens[i]));
    for (int k = 0; k < 640; k++) pcm[i][k] = (int16_t)(i * 257 + k * 31);
    CHECK(wsc_send(&b, 2, pcm[i], (size_t)(i % 7 == 3 ? 0 : 2 * (i * 6 % 640))));
  }
  for (int i = 0; i < 100; i++) {
    wsc_msg_t m;
    CHECK_EQ(wsc_recv(&a, &m, 3000), 1);
    CHECK_EQ(m.opcode, 2);
    CHECK_EQ(m.len, lens[i]);
    CHECK(memcmp(m.data, pkts[i], lens[i]) == 0);
  }
  for (int i = 0; i < 100; i++) {
    wsc_msg_t m;
    CHECK_EQ(wsc_recv(&b, &m, 3000), 1);
    CHECK_EQ(m.opcode, 2);
    CHECK_EQ(m.len, (size_t)(i % 7 == 3 ? 0 : 2 * (i * 6 % 640)));
    CHECK(m.len == 0 || memcmp(m.data, pcm[i], m.len) == 0);
  }
  /* ping: the same "t" back at once, a real with all its digits */
  CHECK(wsc_send_text(&a, "{\"type\":\"ping\",\"t\":1234.5678901234}"));
  wsc_msg_t m;
  CHECK_EQ(wsc_recv(&a, &m, 3000), 1);
  CHECK_EQ(m.opcode, 1);
  json_t *j = json_loadb((const char *)m.data, m.len, 0, NULL);
  CHECK(j != NULL);
  CHECK_STR(json_string_value(json_object_get(j, "type")), "pong");
  CHECK(json_real_value(json_object_get(j, "t")) == 1234.5678901234);
  json_decref(j);
  /* the counters */
  CHECK(http_do(&s, "GET", "/api/sessions", NULL, "", 0, &r));
  CHECK(strstr(r.body, "\"packets_in\":101") && strstr(r.body, "\"packets_out\":102"));

  /* stop: an echo session closes 1000 at once */
  CHECK(wsc_send_text(&a, "{\"type\":\"stop\"}"));
  CHECK(wsc_wait_close(&a, &m, 3000));
  CHECK_EQ(m.close_code, 1000);
  CHECK_EQ(vg_server_session_count(s.srv), 1);
  /* {"eof":1} stops too */
  CHECK(wsc_send_text(&b, "{\"eof\" : 1}"));
  CHECK(wsc_wait_close(&b, &m, 3000));
  CHECK_EQ(m.close_code, 1000);
  server_run(&s, 20);
  CHECK_EQ(vg_server_session_count(s.srv), 0);
  wsc_free(&a);
  wsc_free(&b);
  server_stop(&s);
}

/* ---- transcription ------------------------------------------------------------ */

#define SPEECH_MAX (16000 * 8)

/* PocketSphinx's test utterance, "go forward ten meters" (16 kHz), with
 * 0.5 s of faint noise before and 1.5 s after (a real mic is never all
 * zeros). Returns the sample count. */
static size_t load_speech(int16_t *pcm) {
  FILE *f = fopen("/usr/share/pocketsphinx/test/data/goforward.raw", "rb");
  if (!f) return 0;
  size_t lead = 8000, speech = fread(pcm + lead, 2, 16000 * 5, f);
  fclose(f);
  size_t total = lead + speech + 24000;
  uint32_t x = 1;
  for (size_t i = 0; i < total; i++) {
    x = x * 1103515245u + 12345u;
    int16_t noise = (int16_t)((x >> 16) % 21) - 10;
    if (i < lead || i >= lead + speech) pcm[i] = noise;
  }
  return total;
}

/* True when text has the words of the utterance that matter (PocketSphinx
 * gives "go forward ten meters"; a resampled copy may differ in a word). */
static bool heard_it(const char *text) {
  return strstr(text, "forward") && strstr(text, "ten") && strstr(text, "meters");
}

/* What a transcribe session sent, from the ready to the close. */
typedef struct {
  int partials, finals, done, lags, errors;
  char text[512];      /* the finals, joined */
  bool latency;        /* every final had latency_ms */
  bool listed;         /* /api/sessions showed it, transport websocket, with asr stats */
  uint16_t close_code;
} heard_t;

/* Reads events until the close (or timeout_ms). */
static void collect(wsc_t *c, heard_t *h, int timeout_ms) {
  uint64_t until = uv_hrtime() + (uint64_t)timeout_ms * 1000000ull;
  wsc_msg_t m;
  while (uv_hrtime() < until && h->close_code == 0) {
    int r = wsc_recv(c, &m, 50);
    if (r < 0) break;
    if (r == 0) continue;
    if (m.opcode == 8) {
      h->close_code = m.close_code;
      break;
    }
    if (m.opcode != 1) continue;
    json_t *j = json_loadb((const char *)m.data, m.len, 0, NULL);
    const char *type = json_string_value(json_object_get(j, "type"));
    const char *text = json_string_value(json_object_get(j, "text"));
    if (type && strcmp(type, "partial") == 0) h->partials++;
    if (type && strcmp(type, "final") == 0) {
      if (h->finals++ == 0) h->latency = true;
      h->latency = h->latency && json_is_number(json_object_get(j, "latency_ms"));
      size_t n = strlen(h->text);
      snprintf(h->text + n, sizeof h->text - n, "%s%s", n ? " " : "", text ? text : "");
    }
    if (type && strcmp(type, "done") == 0) h->done++;
    if (type && strcmp(type, "lag") == 0) h->lags++;
    if (type && strcmp(type, "error") == 0) h->errors++;
    json_decref(j);
  }
}

/* Streams the utterance over /ws/audio in `codec` at `rate`, at twice real
 * time, then stop: the events, the done and the close 1000. */
static void transcribe_one(server_t *s, const char *codec, int rate, heard_t *h) {
  static int16_t pcm16k[SPEECH_MAX], pcm[SPEECH_MAX * 3];
  memset(h, 0, sizeof *h);
  size_t n16 = load_speech(pcm16k), n = n16;
  if (rate == 16000 || strcmp(codec, "opus") == 0) {
    memcpy(pcm, pcm16k, n16 * 2);
  } else {
    /* the test's own copy at `rate`, made with the same library */
    soxr_io_spec_t io = soxr_io_spec(SOXR_INT16_I, SOXR_INT16_I);
    if (soxr_oneshot(16000, rate, 1, pcm16k, n16, NULL, pcm, SPEECH_MAX * 3, &n, &io, NULL,
                     NULL) != 0)
      return;
  }
  wsc_t c;
  if (!audio_open(&c, s, "transcribe", codec, rate, NULL, 0)) {
    wsc_free(&c);
    return;
  }
  OpusEncoder *enc = NULL;
  if (strcmp(codec, "opus") == 0) {
    int err;
    /* the encoder runs at 16 kHz; its packets still count 48 kHz time */
    enc = opus_encoder_create(16000, 1, OPUS_APPLICATION_VOIP, &err);
  }
  size_t step = enc ? 320 : (size_t)rate / 10; /* 20 ms packets, 100 ms PCM messages */
  uint64_t next = uv_hrtime();
  for (size_t off = 0; off + step <= n; off += step) {
    if (off / step == n / step / 2) {
      response_t r;
      h->listed = http_do(s, "GET", "/api/sessions", NULL, "", 0, &r) &&
                  strstr(r.body, "\"transport\":\"websocket\"") &&
                  strstr(r.body, "\"mode\":\"transcribe\"") && strstr(r.body, "\"asr\":{\"audio_s\"");
    }
    if (enc) {
      uint8_t pkt[400];
      int len = opus_encode(enc, pcm + off, 320, pkt, sizeof pkt);
      if (len <= 0 || !wsc_send(&c, 2, pkt, (size_t)len)) break;
    } else if (!wsc_send(&c, 2, pcm + off, step * 2)) {
      break;
    }
    next += (uint64_t)step * 1000000000ull / (enc ? 16000 : (uint64_t)rate) / 2;
    wsc_msg_t m;
    while (uv_hrtime() < next) {
      if (wsc_recv(&c, &m, 1) == 1 && m.opcode == 1) { /* events while streaming */
        json_t *j = json_loadb((const char *)m.data, m.len, 0, NULL);
        const char *type = json_string_value(json_object_get(j, "type"));
        if (type && strcmp(type, "partial") == 0) h->partials++;
        if (type && strcmp(type, "final") == 0) {
          h->finals++;
          const char *text = json_string_value(json_object_get(j, "text"));
          size_t k = strlen(h->text);
          snprintf(h->text + k, sizeof h->text - k, "%s%s", k ? " " : "", text ? text : "");
          h->latency = json_is_number(json_object_get(j, "latency_ms"));
        }
        if (type && strcmp(type, "lag") == 0) h->lags++;
        json_decref(j);
      }
    }
  }
  if (enc) opus_encoder_destroy(enc);
  wsc_send_text(&c, "{\"type\":\"stop\"}");
  collect(&c, h, 10000);
  wsc_free(&c);
}

static void test_transcribe_pcm16_and_opus(void) {
  vg_log_set_level(VG_LOG_WARN);
  server_t s;
  CHECK(server_start(&s, 12, NULL, 10));
  static const struct {
    const char *codec;
    int rate;
  } runs[] = {{"pcm16", 16000}, {"pcm16", 48000}, {"opus", 48000}};
  for (size_t i = 0; i < 3; i++) {
    heard_t h;
    transcribe_one(&s, runs[i].codec, runs[i].rate, &h);
    printf("  %s/%d: \"%s\" (%d partials, %d finals)\n", runs[i].codec, runs[i].rate, h.text,
           h.partials, h.finals);
    CHECK(heard_it(h.text));
    CHECK(h.finals >= 1 && h.latency);
    CHECK(h.listed);
    CHECK(h.partials >= 1);
    CHECK_EQ(h.lags + h.errors, 0);
    CHECK_EQ(h.done, 1);            /* after the last final */
    CHECK_EQ(h.close_code, 1000);
    /* the session and its recognizer are gone: the next run gets it */
    server_run(&s, 20);
    CHECK_EQ(vg_server_session_count(s.srv), 0);
  }
  server_stop(&s);
}

/* ---- /ws/asr: a client written to the Vosk server documentation ----------------- */

static void test_vosk_protocol(void) {
  vg_log_set_level(VG_LOG_WARN);
  server_t s;
  CHECK(server_start(&s, 13, NULL, 10));
  static int16_t pcm[SPEECH_MAX];
  size_t n = load_speech(pcm);
  CHECK(n > 16000);
  wsc_t c;
  CHECK(wsc_open(&c, &s, "/ws/asr"));
  /* vosk-server's test.py: the config, then 0.2 s chunks, each followed by
   * reading exactly one reply, then {"eof" : 1} and the last reply */
  CHECK(wsc_send_text(&c, "{ \"config\" : { \"sample_rate\" : 16000.0, \"words\" : 1 } }"));
  size_t chunk = 3200, sent = 0, replies = 0, partials = 0, results = 0;
  char text[512] = "";
  bool words_ok = true;
  for (size_t off = 0; off < n; off += chunk) {
    size_t len = n - off < chunk ? n - off : chunk;
    CHECK(wsc_send(&c, 2, pcm + off, len * 2));
    sent++;
    wsc_msg_t m;
    CHECK_EQ(wsc_recv(&c, &m, 5000), 1);
    CHECK_EQ(m.opcode, 1);
    replies++;
    json_t *j = json_loadb((const char *)m.data, m.len, 0, NULL);
    CHECK(j != NULL);
    json_t *partial = json_object_get(j, "partial"), *result = json_object_get(j, "result");
    CHECK(json_is_string(partial) != json_is_string(json_object_get(j, "text")));
    if (json_is_string(partial) && json_string_length(partial) > 0) partials++;
    if (result) {
      results++;
      CHECK(json_array_size(result) > 0);
      for (size_t i = 0; i < json_array_size(result); i++) {
        json_t *w = json_array_get(result, i);
        double st = json_number_value(json_object_get(w, "start"));
        double en = json_number_value(json_object_get(w, "end"));
        words_ok = words_ok && json_is_number(json_object_get(w, "conf")) &&
                   json_is_string(json_object_get(w, "word")) && st >= 0 && en > st &&
                   en < (double)n / 16000 + 1;
      }
      size_t k = strlen(text);
      snprintf(text + k, sizeof text - k, "%s%s", k ? " " : "",
               json_string_value(json_object_get(j, "text")));
    }
    json_decref(j);
  }
  CHECK(wsc_send_text(&c, "{\"eof\" : 1}"));
  wsc_msg_t m;
  CHECK_EQ(wsc_recv(&c, &m, 10000), 1);
  CHECK_EQ(m.opcode, 1); /* the final result */
  json_t *j = json_loadb((const char *)m.data, m.len, 0, NULL);
  CHECK(json_is_string(json_object_get(j, "text")) && !json_object_get(j, "partial"));
  size_t k = strlen(text);
  snprintf(text + k, sizeof text - k, " %s", json_string_value(json_object_get(j, "text")));
  json_decref(j);
  CHECK_EQ(wsc_recv(&c, &m, 3000), 1);
  CHECK_EQ(m.opcode, 8); /* nothing between the final result and the close */
  CHECK_EQ(m.close_code, 1000);
  printf("  vosk: %zu chunks, %zu replies (%zu partials, %zu results): \"%s\"\n", sent, replies,
         partials, results, text);
  CHECK_EQ(replies, sent);
  CHECK(partials >= 1);
  CHECK(words_ok);
  CHECK(heard_it(text));
  wsc_free(&c);
  server_run(&s, 20);
  CHECK_EQ(vg_server_session_count(s.srv), 0);

  /* eof before any audio: an empty final result, then the close */
  CHECK(wsc_open(&c, &s, "/ws/asr"));
  CHECK(wsc_send_text(&c, "{\"eof\" : 1}"));
  CHECK_EQ(wsc_recv(&c, &m, 3000), 1);
  CHECK(m.opcode == 1 && m.len == 11 && memcmp(m.data, "{\"text\":\"\"}", 11) == 0);
  CHECK(wsc_wait_close(&c, &m, 3000));
  CHECK_EQ(m.close_code, 1000);
  wsc_free(&c);
  server_stop(&s);
}

/* ---- errors, each beside an echo session that must not miss a frame ---------- */

/* One PCM frame through the echo session beside: back unchanged. */
static bool echo_ok(wsc_t *e, int i) {
  int16_t pcm[160];
  for (int k = 0; k < 160; k++) pcm[k] = (int16_t)(i * 977 + k * 13);
  if (!wsc_send(e, 2, pcm, sizeof pcm)) return false;
  wsc_msg_t m;
  return wsc_recv(e, &m, 3000) == 1 && m.opcode == 2 && m.len == sizeof pcm &&
         memcmp(m.data, pcm, sizeof pcm) == 0;
}

/* Opens /ws/audio, sends text1 and text2 (nullable) then bin (nullable):
 * the server must say {"type":"error"} (unless json_error is false) then
 * close with `code`, the reason containing `why`. */
static bool provoke(server_t *s, const char *text1, const char *text2, const void *bin,
                    size_t bin_len, uint16_t code, const char *why, bool json_error) {
  wsc_t c;
  bool ok = wsc_open(&c, s, "/ws/audio");
  if (ok && text1) ok = wsc_send_text(&c, text1);
  if (ok && text2) ok = wsc_send_text(&c, text2);
  if (ok && bin) ok = wsc_send(&c, 2, bin, bin_len);
  bool said = !json_error;
  wsc_msg_t m;
  while (ok && wsc_recv(&c, &m, 3000) == 1 && m.opcode != 8) {
    json_t *j = json_loadb((const char *)m.data, m.len, 0, NULL);
    const char *type = json_string_value(json_object_get(j, "type"));
    const char *text = json_string_value(json_object_get(j, "text"));
    if (type && strcmp(type, "error") == 0 && text && strstr(text, why)) said = true;
    json_decref(j);
  }
  ok = ok && m.opcode == 8 && m.close_code == code && strstr(m.reason, why) && said;
  if (!ok)
    fprintf(stderr, "  %s / %s: got close %u \"%s\" (error message %s), want %u \"%s\"\n",
            text1 ? text1 : "-", text2 ? text2 : "-", m.opcode == 8 ? m.close_code : 0,
            m.opcode == 8 ? m.reason : "", said ? "seen" : "missing", code, why);
  wsc_free(&c);
  return ok;
}

#define PCM16K "{\"mode\":\"echo\",\"codec\":\"pcm16\",\"sample_rate\":16000}"
#define OPUS48K "{\"mode\":\"echo\",\"codec\":\"opus\",\"sample_rate\":48000}"

static void test_each_error_its_close_code(void) {
  vg_log_set_level(VG_LOG_ERROR);
  server_t s;
  CHECK(server_start(&s, 14, NULL, 4));
  wsc_t e;
  CHECK(audio_open(&e, &s, "echo", "pcm16", 16000, NULL, 0));
  int i = 0;
  CHECK(echo_ok(&e, i++));
  static uint8_t big[200000];
  const uint8_t odd[3] = {1, 2, 3}, not_opus[1] = {0xff};
  /* 1007: not JSON, bad fields, binary first, odd PCM, not Opus, twice */
  CHECK(provoke(&s, "{not json", NULL, NULL, 0, 1007, "JSON", true));
  CHECK(echo_ok(&e, i++));
  CHECK(provoke(&s, "{\"mode\":\"sing\",\"codec\":\"opus\",\"sample_rate\":48000}", NULL, NULL, 0,
                1007, "mode", true));
  CHECK(provoke(&s, "{\"mode\":\"echo\",\"codec\":\"opus\",\"sample_rate\":\"fast\"}", NULL, NULL, 0,
                1007, "sample_rate", true));
  CHECK(provoke(&s, NULL, NULL, odd, 2, 1007, "before the config", true));
  CHECK(echo_ok(&e, i++));
  CHECK(provoke(&s, PCM16K, NULL, odd, 3, 1007, "odd length", true));
  CHECK(provoke(&s, OPUS48K, NULL, not_opus, 1, 1007, "Opus", true));
  CHECK(provoke(&s, PCM16K, PCM16K, NULL, 0, 1007, "already", true));
  CHECK(provoke(&s, PCM16K, "{\"type\":\"dance\"}", NULL, 0, 1007, "unknown message type", true));
  CHECK(echo_ok(&e, i++));
  /* 1003: a codec, sample rate or channel count we do not take */
  CHECK(provoke(&s, "{\"mode\":\"echo\",\"codec\":\"mp3\",\"sample_rate\":48000}", NULL, NULL, 0,
                1003, "codec", true));
  CHECK(provoke(&s, "{\"mode\":\"echo\",\"codec\":\"opus\",\"sample_rate\":16000}", NULL, NULL, 0,
                1003, "sample_rate", true));
  CHECK(provoke(&s, "{\"mode\":\"echo\",\"codec\":\"pcm16\",\"sample_rate\":4000}", NULL, NULL, 0,
                1003, "sample_rate", true));
  CHECK(provoke(&s, "{\"mode\":\"echo\",\"codec\":\"pcm16\",\"sample_rate\":16000,\"channels\":2}",
                NULL, NULL, 0, 1003, "channels", true));
  CHECK(echo_ok(&e, i++));
  /* 1009: over 1 s of PCM (told in JSON), a frame over the codec's limit
   * (refused as it arrives), a control message too long */
  CHECK(provoke(&s, PCM16K, NULL, big, 32002, 1009, "over 1 s", true));
  CHECK(provoke(&s, PCM16K, NULL, big, sizeof big, 1009, "too big", false));
  char longtext[6000];
  snprintf(longtext, sizeof longtext, "{\"type\":\"ping\",\"t\":1,\"pad\":\"%05000d\"}", 0);
  CHECK(provoke(&s, PCM16K, longtext, NULL, 0, 1009, "too long", true));
  CHECK(echo_ok(&e, i++));
  /* 1013: --max-sessions (4) reached */
  wsc_t more[3];
  for (int k = 0; k < 3; k++) CHECK(audio_open(&more[k], &s, "echo", "opus", 48000, NULL, 0));
  CHECK(provoke(&s, OPUS48K, NULL, NULL, 0, 1013, "session limit", true));
  CHECK(echo_ok(&e, i++));
  for (int k = 0; k < 3; k++) wsc_free(&more[k]); /* abrupt closes */
  for (int k = 0; k < 100 && vg_server_session_count(s.srv) > 1; k++) server_run(&s, 5);
  CHECK_EQ(vg_server_session_count(s.srv), 1);
  CHECK(echo_ok(&e, i++));
  /* 1013: the only recognizer (--asr-streams 1) is busy; an abrupt close
   * gives it back at once */
  wsc_t t;
  CHECK(audio_open(&t, &s, "transcribe", "pcm16", 16000, NULL, 0));
  CHECK(provoke(&s, "{\"mode\":\"transcribe\",\"codec\":\"pcm16\",\"sample_rate\":16000}", NULL, NULL,
                0, 1013, "recognizer", true));
  CHECK(echo_ok(&e, i++));
  wsc_free(&t);
  for (int k = 0; k < 100 && vg_server_session_count(s.srv) > 1; k++) server_run(&s, 5);
  CHECK_EQ(vg_server_session_count(s.srv), 1);
  CHECK(audio_open(&t, &s, "transcribe", "opus", 48000, NULL, 0));
  wsc_free(&t);
  CHECK(echo_ok(&e, i++));
  /* /ws/asr: bad JSON, odd PCM, a rate it does not take */
  wsc_t v;
  wsc_msg_t m;
  CHECK(wsc_open(&v, &s, "/ws/asr"));
  CHECK(wsc_send_text(&v, "{\"config\":{\"sample_rate\":96000}}"));
  CHECK(wsc_wait_close(&v, &m, 3000));
  CHECK(m.close_code == 1003 && strstr(m.reason, "sample_rate"));
  wsc_free(&v);
  CHECK(wsc_open(&v, &s, "/ws/asr"));
  CHECK(wsc_send(&v, 2, odd, 3));
  CHECK(wsc_wait_close(&v, &m, 3000));
  CHECK(m.close_code == 1007 && strstr(m.reason, "odd"));
  wsc_free(&v);
  CHECK(echo_ok(&e, i++));
  /* 1008: a client that opens the socket and says nothing (the deadline is
   * the HTTP idle timeout here, 1 s) */
  CHECK(wsc_open(&v, &s, "/ws/audio"));
  uint64_t t0 = uv_hrtime();
  CHECK(wsc_wait_close(&v, &m, 3000));
  CHECK(m.close_code == 1008 && strstr(m.reason, "no message in time"));
  CHECK(uv_hrtime() - t0 > 900000000ull);
  wsc_free(&v);
  CHECK(echo_ok(&e, i++));
  CHECK_EQ(vg_server_session_count(s.srv), 1);
  wsc_free(&e);
  server_stop(&s);
}

/* A client that stops reading while its echo keeps coming: its session
 * ends with 1008 "client not reading" once the bounded backlog is full;
 * the session beside it does not miss a frame. */
static void test_stalled_reader_ends_only_its_session(void) {
  vg_log_set_level(VG_LOG_ERROR);
  server_t s;
  CHECK(server_start(&s, 15, NULL, 10));
  wsc_t e, slow;
  CHECK(audio_open(&e, &s, "echo", "pcm16", 16000, NULL, 0));
  CHECK_EQ(wsc_open_ex(&slow, &s, "/ws/audio", NULL, NULL, 4096, NULL, 0), 101);
  CHECK(wsc_send_text(&slow, "{\"mode\":\"echo\",\"codec\":\"pcm16\",\"sample_rate\":48000}"));
  server_run(&s, 20);
  CHECK_EQ(vg_server_session_count(s.srv), 2);
  static int16_t second[48000];
  for (int k = 0; k < 48000; k++) second[k] = (int16_t)(k * 7);
  int sent = 0, i = 0;
  /* 1 s of 48 kHz PCM per message, never reading: at most a few MB go
   * before the kernel buffers and the 256 KiB backlog are full */
  while (vg_server_session_count(s.srv) == 2 && sent < 400) {
    CHECK(wsc_send(&slow, 2, second, sizeof second));
    if (++sent % 5 == 0) CHECK(echo_ok(&e, i++));
  }
  printf("  the stalled client was cut off after %d s of audio\n", sent);
  CHECK_EQ(vg_server_session_count(s.srv), 1);
  CHECK(echo_ok(&e, i++));
  /* it reads again: every echo it was sent, whole, then the close */
  wsc_msg_t m;
  int echoes = 0;
  bool whole = true;
  for (;;) {
    int r = wsc_recv(&slow, &m, 3000);
    if (r != 1 || m.opcode == 8) break;
    if (m.opcode == 1) continue; /* its "ready" */
    echoes++;
    whole = whole && m.len == sizeof second && memcmp(m.data, second, sizeof second) == 0;
  }
  printf("  it read %d whole echoes (%s), then close %u\n", echoes, whole ? "all whole" : "NOT whole",
         m.opcode == 8 ? m.close_code : 0);
  CHECK(m.opcode == 8);
  CHECK_EQ(m.close_code, 1008);
  CHECK_STR(m.reason, "client not reading");
  CHECK(whole && echoes > 0 && echoes < sent);
  CHECK(echo_ok(&e, i++));
  wsc_free(&slow);
  wsc_free(&e);
  server_stop(&s);
}

/* Shutdown ends WebSocket sessions cleanly: a state event, then 1001. */
static void test_shutdown_closes_1001(void) {
  vg_log_set_level(VG_LOG_ERROR);
  server_t s;
  CHECK(server_start(&s, 16, NULL, 10));
  wsc_t e, t;
  CHECK(audio_open(&e, &s, "echo", "opus", 48000, NULL, 0));
  CHECK(audio_open(&t, &s, "transcribe", "pcm16", 48000, NULL, 0));
  vg_server_shutdown(s.srv);
  wsc_t *cs[2] = {&e, &t};
  for (int k = 0; k < 2; k++) {
    wsc_msg_t m;
    CHECK_EQ(wsc_recv(cs[k], &m, 3000), 1);
    CHECK(m.opcode == 1 && strstr((const char *)m.data, "\"state\":\"closed\"") &&
          strstr((const char *)m.data, "shutting down"));
    CHECK_EQ(wsc_recv(cs[k], &m, 3000), 1);
    CHECK_EQ(m.opcode, 8);
    CHECK_EQ(m.close_code, 1001);
  }
  CHECK_EQ(vg_server_session_count(s.srv), 0);
  wsc_free(&e);
  wsc_free(&t);
  server_stop(&s);
}

/* Behind a reverse proxy (nginx sends "Connection: upgrade" in lower case
 * and X-Forwarded-*), with a token; the headers the page reads. */
static void test_proxy_token_and_page_headers(void) {
  vg_log_set_level(VG_LOG_ERROR);
  server_t s;
  CHECK(server_start(&s, 17, "sekrit", 10));
  wsc_t c;
  char resp[1024];
  CHECK_EQ(wsc_open_ex(&c, &s, "/ws/audio", NULL, NULL, 0, resp, sizeof resp), 401);
  wsc_free(&c);
  CHECK_EQ(wsc_open_ex(&c, &s, "/ws/audio?token=sekrit",
                       "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\n"
                       "X-Real-IP: 192.0.2.7\r\n",
                       "upgrade", 0, resp, sizeof resp),
           101);
  CHECK(wsc_send_text(&c, OPUS48K));
  wsc_msg_t m;
  CHECK_EQ(wsc_recv(&c, &m, 3000), 1);
  CHECK(strstr((const char *)m.data, "\"ready\""));
  static uint8_t pkt[1][400];
  size_t len[1];
  CHECK_EQ(make_opus(pkt, len, 1), 1);
  CHECK(wsc_send(&c, 2, pkt[0], len[0]));
  CHECK_EQ(wsc_recv(&c, &m, 3000), 1);
  CHECK(m.opcode == 2 && m.len == len[0] && memcmp(m.data, pkt[0], len[0]) == 0);
  wsc_free(&c);
  CHECK_EQ(wsc_open_ex(&c, &s, "/ws/asr", "Authorization: Bearer sekrit\r\n", "keep-alive, Upgrade", 0,
                       NULL, 0),
           101);
  wsc_free(&c);
  response_t r;
  CHECK(http_do(&s, "GET", "/healthz", "Via: 1.1 nginx\r\n", "", 0, &r));
  CHECK_STR(r.proxied, "1");
  CHECK(strstr(r.expose, "X-Voxgate-Fallback-Ms") && strstr(r.expose, "X-Voxgate-Proxied"));
  CHECK(http_do(&s, "GET", "/healthz", "Forwarded: for=192.0.2.7;proto=https\r\n", "", 0, &r));
  CHECK_STR(r.proxied, "1");
  CHECK(http_do(&s, "GET", "/healthz", NULL, "", 0, &r));
  CHECK_STR(r.proxied, "");
  /* WHIP's 201 tells the page how long to give ICE */
  vg_dtls_cert_t *cert;
  vg_rtc_t *rtc;
  CHECK(vg_dtls_cert_create(&cert) == VG_OK);
  vg_rtc_config_t rc = {.role = VG_RTC_ROLE_CLIENT, .cert = cert};
  CHECK(vg_rtc_create(&rc, &rtc) == VG_OK);
  char offer[4096];
  int n = vg_rtc_create_offer(rtc, offer, sizeof offer);
  CHECK(n > 0);
  CHECK(http_do(&s, "POST", "/whip",
                "Content-Type: application/sdp\r\nAuthorization: Bearer sekrit\r\n"
                "X-Forwarded-For: 192.0.2.7\r\n",
                offer, (size_t)n, &r));
  CHECK_EQ(r.status, 201);
  CHECK_STR(r.fallback_ms, "2000");
  CHECK_STR(r.proxied, "1");
  vg_rtc_destroy(rtc);
  vg_dtls_cert_destroy(cert);
  server_stop(&s);
}

VGT_MAIN(VGT_CASE(test_echo_opus_and_pcm16_frame_exact), VGT_CASE(test_each_error_its_close_code),
         VGT_CASE(test_stalled_reader_ends_only_its_session), VGT_CASE(test_shutdown_closes_1001),
         VGT_CASE(test_proxy_token_and_page_headers), VGT_CASE(test_transcribe_pcm16_and_opus),
         VGT_CASE(test_vosk_protocol))
