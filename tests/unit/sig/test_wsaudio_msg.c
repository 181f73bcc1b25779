/* The audio WebSockets' messages without a socket (src/sig/wsaudio.h):
 * /ws/audio configs, pings and stops, the binary audio check (Opus
 * framing per RFC 6716 §3, PCM16 bounds) and the Vosk messages of /ws/asr.
 * The same messages over real sockets: tests/unit/app/test_wsaudio.c. */
#include <string.h>

#include "sig/wsaudio.h"
#include "vgtest.h"

static int parse(const char *s, vg_wsaudio_msg_t *m, const char **why) {
  *why = NULL;
  return vg_wsaudio_parse(s, strlen(s), m, why);
}

static void test_configs(void) {
  vg_wsaudio_msg_t m;
  const char *why;
  CHECK_EQ(parse("{\"mode\":\"echo\",\"codec\":\"opus\",\"sample_rate\":48000}", &m, &why), VG_OK);
  CHECK_EQ(m.kind, VG_WSAUDIO_MSG_CONFIG);
  CHECK_EQ(m.config.mode, VG_WSAUDIO_ECHO);
  CHECK_EQ(m.config.codec, VG_WSAUDIO_OPUS);
  CHECK_EQ(m.config.sample_rate, 48000);
  /* integral reals as JavaScript and Python send them; mono is accepted */
  CHECK_EQ(parse("{\"mode\":\"transcribe\",\"codec\":\"pcm16\",\"sample_rate\":22050.0,"
                 "\"channels\":1}",
                 &m, &why),
           VG_OK);
  CHECK_EQ(m.config.mode, VG_WSAUDIO_TRANSCRIBE);
  CHECK_EQ(m.config.codec, VG_WSAUDIO_PCM16);
  CHECK_EQ(m.config.sample_rate, 22050);

  /* what the client sent wrong decides the code (and so the close code) */
  struct {
    const char *msg;
    int code;
    const char *why_has;
  } bad[] = {
      {"not json", VG_EINVAL, "JSON object"},
      {"[1,2]", VG_EINVAL, "JSON object"},
      {"{\"codec\":\"opus\",\"sample_rate\":48000}", VG_EINVAL, "\"mode\""},
      {"{\"mode\":\"karaoke\",\"codec\":\"opus\",\"sample_rate\":48000}", VG_EINVAL, "mode"},
      {"{\"mode\":\"echo\",\"sample_rate\":48000}", VG_EINVAL, "\"codec\""},
      {"{\"mode\":\"echo\",\"codec\":\"mp3\",\"sample_rate\":48000}", VG_EUNSUPPORTED, "codec"},
      {"{\"mode\":\"echo\",\"codec\":\"opus\"}", VG_EINVAL, "sample_rate"},
      {"{\"mode\":\"echo\",\"codec\":\"opus\",\"sample_rate\":\"48000\"}", VG_EINVAL, "number"},
      {"{\"mode\":\"echo\",\"codec\":\"opus\",\"sample_rate\":16000}", VG_EUNSUPPORTED, "48000"},
      {"{\"mode\":\"echo\",\"codec\":\"pcm16\",\"sample_rate\":96000}", VG_EUNSUPPORTED, "8000"},
      {"{\"mode\":\"echo\",\"codec\":\"pcm16\",\"sample_rate\":16000.5}", VG_EUNSUPPORTED, "8000"},
      {"{\"mode\":\"echo\",\"codec\":\"pcm16\",\"sample_rate\":16000,\"channels\":2}",
       VG_EUNSUPPORTED, "mono"},
      {"{\"type\":7}", VG_EINVAL, "\"type\""},
      {"{\"type\":\"dance\"}", VG_EINVAL, "unknown message type"},
      {"{\"type\":\"ping\"}", VG_EINVAL, "\"t\""},
      {"{\"type\":\"ping\",\"t\":\"now\"}", VG_EINVAL, "\"t\""},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int r = parse(bad[i].msg, &m, &why);
    if (r != bad[i].code || !why || !strstr(why, bad[i].why_has))
      fprintf(stderr, "  %s -> %d %s\n", bad[i].msg, r, why ? why : "(no reason)");
    CHECK_EQ(r, bad[i].code);
    CHECK(why && strstr(why, bad[i].why_has));
  }
  /* over the control-message limit, however well-formed */
  char big[VG_WSAUDIO_MAX_TEXT + 64];
  memset(big, ' ', sizeof big - 1);
  big[0] = '{', big[sizeof big - 2] = '}', big[sizeof big - 1] = '\0';
  CHECK_EQ(parse(big, &m, &why), VG_ELIMIT);
  /* not NUL-terminated: only len bytes are read */
  const char cut[] = "{\"type\":\"stop\"}garbage";
  CHECK_EQ(vg_wsaudio_parse(cut, 15, &m, &why), VG_OK);
  CHECK_EQ(m.kind, VG_WSAUDIO_MSG_STOP);

  /* a config formats back to what parses to it */
  char out[128];
  vg_wsaudio_config_t c = {VG_WSAUDIO_TRANSCRIBE, VG_WSAUDIO_PCM16, 16000};
  int n = vg_wsaudio_format_config(&c, out, sizeof out);
  CHECK(n > 0);
  CHECK_EQ(vg_wsaudio_parse(out, (size_t)n, &m, &why), VG_OK);
  CHECK(memcmp(&m.config, &c, sizeof c) == 0);
  CHECK_EQ(vg_wsaudio_format_config(&c, out, 10), VG_ENOSPC);
}

static void test_ping_stop_eof(void) {
  vg_wsaudio_msg_t m;
  const char *why;
  CHECK_EQ(parse("{\"type\":\"ping\",\"t\":1234567890123}", &m, &why), VG_OK);
  CHECK_EQ(m.kind, VG_WSAUDIO_MSG_PING);
  CHECK(m.t_is_int);
  CHECK_EQ(m.t_int, 1234567890123LL);
  CHECK_EQ(parse("{\"type\":\"ping\",\"t\":12.5}", &m, &why), VG_OK);
  CHECK(!m.t_is_int && m.t_real == 12.5);
  CHECK_EQ(parse("{\"type\":\"stop\"}", &m, &why), VG_OK);
  CHECK_EQ(m.kind, VG_WSAUDIO_MSG_STOP);
  CHECK_EQ(parse("{\"eof\":1}", &m, &why), VG_OK);
  CHECK_EQ(m.kind, VG_WSAUDIO_MSG_STOP);
}

/* RFC 6716 §3.1: TOC config 31 is CELT fullband 20 ms (960 samples at
 * 48 kHz); the low two bits are the frame-count code. */
#define TOC_20MS 0xf8

static int check_opus(const uint8_t *b, size_t len) {
  vg_wsaudio_config_t c = {VG_WSAUDIO_ECHO, VG_WSAUDIO_OPUS, 48000};
  const char *why = NULL;
  int r = vg_wsaudio_check_audio(&c, b, len, &why);
  if (r < 0 && !why) return -1000; /* every refusal says why */
  return r;
}

static void test_opus_framing(void) {
  uint8_t p[VG_WSAUDIO_MAX_OPUS + 8];
  memset(p, 0x55, sizeof p);
  /* code 0: one frame of any length up to 1275 bytes (R2) */
  p[0] = TOC_20MS | 0;
  CHECK_EQ(check_opus(p, 1), 960); /* a zero-length frame: DTX */
  CHECK_EQ(check_opus(p, 81), 960);
  CHECK_EQ(check_opus(p, 1 + 1275), 960);
  CHECK_EQ(check_opus(p, 1 + 1276), VG_EINVAL);
  /* code 1: two frames of equal size, so an even remainder (R3) */
  p[0] = TOC_20MS | 1;
  CHECK_EQ(check_opus(p, 1 + 80), 1920);
  CHECK_EQ(check_opus(p, 1 + 81), VG_EINVAL);
  /* code 2: the first frame's length must fit in the packet (R4) */
  p[0] = TOC_20MS | 2;
  p[1] = 40;
  CHECK_EQ(check_opus(p, 2 + 40 + 30), 1920);
  CHECK_EQ(check_opus(p, 2 + 39), VG_EINVAL);
  /* code 3, CBR: M frames splitting the rest evenly, at most 120 ms (R5) */
  p[0] = TOC_20MS | 3;
  p[1] = 3; /* no VBR, no padding, M = 3 */
  CHECK_EQ(check_opus(p, 2 + 3 * 50), 3 * 960);
  CHECK_EQ(check_opus(p, 2 + 3 * 50 + 1), VG_EINVAL);
  p[1] = 0; /* M = 0 */
  CHECK_EQ(check_opus(p, 2 + 10), VG_EINVAL);
  p[1] = 7; /* 140 ms */
  CHECK_EQ(check_opus(p, 2 + 7 * 10), VG_EINVAL);
  /* code 3 with padding: the padding must fit (R6/R7) */
  p[1] = 0x40 | 2; /* padding flag, M = 2 */
  p[2] = 10;       /* 10 bytes of padding */
  CHECK_EQ(check_opus(p, 3 + 2 * 20 + 10), 1920);
  CHECK_EQ(check_opus(p, 3 + 5), VG_EINVAL);
  /* nothing, a TOC that announces frames without their count, too big */
  CHECK_EQ(check_opus(p, 0), VG_EINVAL);
  CHECK_EQ(check_opus(p, 1), VG_EINVAL);
  p[0] = TOC_20MS;
  CHECK_EQ(check_opus(p, VG_WSAUDIO_MAX_OPUS + 1), VG_ELIMIT);
}

static void test_pcm_bounds(void) {
  vg_wsaudio_config_t c = {VG_WSAUDIO_TRANSCRIBE, VG_WSAUDIO_PCM16, 16000};
  static uint8_t b[2 * 16000 + 4];
  const char *why = NULL;
  CHECK_EQ(vg_wsaudio_check_audio(&c, b, 640, &why), 320);
  CHECK_EQ(vg_wsaudio_check_audio(&c, b, 0, &why), 0);
  CHECK_EQ(vg_wsaudio_check_audio(&c, b, 2 * 16000, &why), 16000); /* 1 s exactly */
  CHECK_EQ(vg_wsaudio_check_audio(&c, b, 2 * 16000 + 2, &why), VG_ELIMIT);
  CHECK(why && strstr(why, "1 s"));
  CHECK_EQ(vg_wsaudio_check_audio(&c, b, 641, &why), VG_EINVAL);
  CHECK(why && strstr(why, "odd"));
}

static void test_vosk(void) {
  vg_vosk_msg_t m;
  const char *why = NULL;
  const char *cfg = "{\"config\":{\"sample_rate\":16000.0,\"words\":1,\"max_alternatives\":0}}";
  CHECK_EQ(vg_vosk_parse(cfg, strlen(cfg), &m, &why), VG_OK);
  CHECK_EQ(m.kind, VG_VOSK_MSG_CONFIG);
  CHECK_EQ(m.sample_rate, 16000);
  const char *keep = "{\"config\":{\"phrase_list\":[\"go\"]}}";
  CHECK_EQ(vg_vosk_parse(keep, strlen(keep), &m, &why), VG_OK);
  CHECK_EQ(m.sample_rate, 0); /* keep the current rate */
  CHECK_EQ(vg_vosk_parse("{\"eof\" : 1}", 11, &m, &why), VG_OK);
  CHECK_EQ(m.kind, VG_VOSK_MSG_EOF);
  const char *bad_rate = "{\"config\":{\"sample_rate\":4000}}";
  CHECK_EQ(vg_vosk_parse(bad_rate, strlen(bad_rate), &m, &why), VG_EUNSUPPORTED);
  CHECK(why && strstr(why, "8000"));
  const char *str_rate = "{\"config\":{\"sample_rate\":\"fast\"}}";
  CHECK_EQ(vg_vosk_parse(str_rate, strlen(str_rate), &m, &why), VG_EINVAL);
  const char *other = "{\"eof\":0}";
  CHECK_EQ(vg_vosk_parse(other, strlen(other), &m, &why), VG_EINVAL);
  CHECK(why && strstr(why, "config"));
}

VGT_MAIN(VGT_CASE(test_configs), VGT_CASE(test_ping_stop_eof), VGT_CASE(test_opus_framing),
         VGT_CASE(test_pcm_bounds), VGT_CASE(test_vosk))
