/* /ws/audio and /ws/asr end to end over real loopback sockets, in one
 * process: the server runs on its libuv loop; the test is a WebSocket
 * client (server_test_util.h) that speaks each protocol as its
 * documentation says. Every close code of the contract is provoked, each
 * beside an echo session that must keep flowing frame-exact. */
#include <jansson.h>
#include <opus/opus.h>

#include "base/log.h"
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

VGT_MAIN(VGT_CASE(test_echo_opus_and_pcm16_frame_exact))
