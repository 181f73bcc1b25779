#include "sig/wsaudio.h"

#include <jansson.h>
#include <math.h>
#include <opus/opus.h>
#include <stdio.h>
#include <string.h>

const char *vg_wsaudio_mode_name(vg_wsaudio_mode_t m) {
  return m == VG_WSAUDIO_ECHO ? "echo" : m == VG_WSAUDIO_TRANSCRIBE ? "transcribe" : "?";
}

const char *vg_wsaudio_codec_name(vg_wsaudio_codec_t c) {
  return c == VG_WSAUDIO_OPUS ? "opus" : c == VG_WSAUDIO_PCM16 ? "pcm16" : "?";
}

static int fail(int code, const char **why, const char *reason) {
  if (why) *why = reason;
  return code;
}

/* Parses the text message `s` as one JSON object (jansson) into *out
 * (owned by the caller: json_decref it). Returns VG_OK, VG_ELIMIT when
 * longer than VG_WSAUDIO_MAX_TEXT, VG_EINVAL when not one JSON object. */
static int load_object(const char *s, size_t len, json_t **out, const char **why) {
  *out = NULL;
  if (len > VG_WSAUDIO_MAX_TEXT) return fail(VG_ELIMIT, why, "control message too long");
  json_error_t err;
  /* Duplicate keys would make "which value counts" ambiguous. */
  json_t *j = json_loadb(s, len, JSON_REJECT_DUPLICATES, &err);
  if (j && !json_is_object(j)) {
    json_decref(j);
    j = NULL;
  }
  if (!j) return fail(VG_EINVAL, why, "a text message must be one JSON object");
  *out = j;
  return VG_OK;
}

/* An integral number in [lo, hi] (an integer, or a real with no fraction:
 * JavaScript and Python clients may send 48000.0). Returns VG_OK,
 * VG_EINVAL when not a number, VG_EUNSUPPORTED when out of range. */
static int integral(const json_t *v, double lo, double hi, uint32_t *out) {
  if (!json_is_number(v)) return VG_EINVAL;
  double d = json_number_value(v);
  if (!isfinite(d) || d < lo || d > hi || (double)(uint32_t)d != d) return VG_EUNSUPPORTED;
  *out = (uint32_t)d;
  return VG_OK;
}

/* {"eof":1}: Vosk's end of stream, also accepted on /ws/audio. */
static bool is_eof(const json_t *o) {
  const json_t *e = json_object_get(o, "eof");
  return e && json_is_integer(e) && json_integer_value(e) == 1;
}

static int parse_config(const json_t *o, vg_wsaudio_config_t *c, const char **why) {
  const char *mode = json_string_value(json_object_get(o, "mode"));
  const char *codec = json_string_value(json_object_get(o, "codec"));
  const json_t *rate = json_object_get(o, "sample_rate");
  const json_t *ch = json_object_get(o, "channels");
  if (!mode) return fail(VG_EINVAL, why, "the config needs \"mode\": \"echo\" or \"transcribe\"");
  if (strcmp(mode, "echo") == 0) c->mode = VG_WSAUDIO_ECHO;
  else if (strcmp(mode, "transcribe") == 0) c->mode = VG_WSAUDIO_TRANSCRIBE;
  else return fail(VG_EINVAL, why, "unknown \"mode\" (this server has \"echo\" and \"transcribe\")");
  if (!codec) return fail(VG_EINVAL, why, "the config needs \"codec\": \"opus\" or \"pcm16\"");
  if (strcmp(codec, "opus") == 0) c->codec = VG_WSAUDIO_OPUS;
  else if (strcmp(codec, "pcm16") == 0) c->codec = VG_WSAUDIO_PCM16;
  else return fail(VG_EUNSUPPORTED, why, "unsupported codec (this server takes \"opus\" and \"pcm16\")");
  if (!rate) return fail(VG_EINVAL, why, "the config needs \"sample_rate\"");
  int r = integral(rate, VG_WSAUDIO_MIN_RATE, VG_WSAUDIO_MAX_RATE, &c->sample_rate);
  if (r == VG_EINVAL) return fail(r, why, "\"sample_rate\" must be a number");
  if (r < 0 || (c->codec == VG_WSAUDIO_OPUS && c->sample_rate != VG_WSAUDIO_OPUS_RATE))
    return fail(VG_EUNSUPPORTED, why,
                c->codec == VG_WSAUDIO_OPUS
                    ? "unsupported sample_rate: Opus is clocked at 48000"
                    : "unsupported sample_rate: pcm16 takes 8000 to 48000");
  if (ch) {
    uint32_t n;
    r = integral(ch, 1, 1, &n);
    if (r == VG_EINVAL) return fail(r, why, "\"channels\" must be a number");
    if (r < 0) return fail(VG_EUNSUPPORTED, why, "unsupported channels: send mono (1)");
  }
  return VG_OK;
}

int vg_wsaudio_parse(const char *s, size_t len, vg_wsaudio_msg_t *out, const char **why) {
  memset(out, 0, sizeof *out);
  json_t *o;
  int r = load_object(s, len, &o, why);
  if (r < 0) return r;
  const json_t *type = json_object_get(o, "type");
  if (type && !json_is_string(type)) {
    r = fail(VG_EINVAL, why, "\"type\" must be a string");
  } else if (type) {
    const char *t = json_string_value(type);
    if (strcmp(t, "ping") == 0) {
      const json_t *tv = json_object_get(o, "t");
      out->kind = VG_WSAUDIO_MSG_PING;
      if (json_is_integer(tv)) {
        out->t_is_int = true;
        out->t_int = json_integer_value(tv);
      } else if (json_is_real(tv)) {
        out->t_real = json_real_value(tv);
      } else {
        r = fail(VG_EINVAL, why, "a ping needs a number \"t\"");
      }
    } else if (strcmp(t, "stop") == 0) {
      out->kind = VG_WSAUDIO_MSG_STOP;
    } else {
      r = fail(VG_EINVAL, why, "unknown message type (this server takes ping and stop)");
    }
  } else if (is_eof(o)) {
    out->kind = VG_WSAUDIO_MSG_STOP;
  } else {
    out->kind = VG_WSAUDIO_MSG_CONFIG;
    r = parse_config(o, &out->config, why);
  }
  json_decref(o);
  return r;
}

int vg_wsaudio_check_audio(const vg_wsaudio_config_t *cfg, const uint8_t *b, size_t len,
                           const char **why) {
  if (cfg->codec == VG_WSAUDIO_OPUS) {
    if (len > VG_WSAUDIO_MAX_OPUS) return fail(VG_ELIMIT, why, "Opus packet too big");
    /* RFC 6716 §3.1: the TOC byte and frame count give the duration
     * (libopus also checks the packet is at most 120 ms); the frame
     * lengths must then add up to the packet (§3.4, R1-R7: equal halves
     * for code 1, a length that fits for code 2, padding and sizes that
     * fit for code 3), or the bytes are not Opus. */
    int n = len ? opus_packet_get_nb_samples(b, (opus_int32)len, VG_WSAUDIO_OPUS_RATE) : -1;
    const unsigned char *frames[48];
    opus_int16 sizes[48];
    if (n <= 0 || opus_packet_parse(b, (opus_int32)len, NULL, frames, sizes, NULL) <= 0)
      return fail(VG_EINVAL, why, "a binary message is not a valid Opus packet");
    return n;
  }
  if (len % 2) return fail(VG_EINVAL, why, "PCM message of odd length (16-bit samples expected)");
  if (len / 2 > (size_t)cfg->sample_rate * VG_WSAUDIO_MAX_PCM_MS / 1000)
    return fail(VG_ELIMIT, why, "PCM message over 1 s of audio");
  return (int)(len / 2);
}

int vg_wsaudio_format_config(const vg_wsaudio_config_t *cfg, char *out, size_t cap) {
  const char *m = vg_wsaudio_mode_name(cfg->mode), *c = vg_wsaudio_codec_name(cfg->codec);
  if (m[0] == '?' || c[0] == '?') return VG_EINVAL;
  int n = snprintf(out, cap, "{\"mode\":\"%s\",\"codec\":\"%s\",\"sample_rate\":%u}", m, c,
                   cfg->sample_rate);
  if (n < 0 || (size_t)n >= cap) return VG_ENOSPC;
  return n;
}

int vg_vosk_parse(const char *s, size_t len, vg_vosk_msg_t *out, const char **why) {
  memset(out, 0, sizeof *out);
  json_t *o;
  int r = load_object(s, len, &o, why);
  if (r < 0) return r;
  const json_t *cfg = json_object_get(o, "config");
  if (is_eof(o)) {
    out->kind = VG_VOSK_MSG_EOF;
  } else if (json_is_object(cfg)) {
    out->kind = VG_VOSK_MSG_CONFIG;
    const json_t *rate = json_object_get(cfg, "sample_rate");
    if (rate) {
      r = integral(rate, VG_WSAUDIO_MIN_RATE, VG_WSAUDIO_MAX_RATE, &out->sample_rate);
      if (r == VG_EINVAL) fail(r, why, "\"sample_rate\" must be a number");
      else if (r < 0) fail(r, why, "unsupported sample_rate: this server takes 8000 to 48000");
    }
  } else {
    r = fail(VG_EINVAL, why, "expected {\"config\": {...}} or {\"eof\": 1}");
  }
  json_decref(o);
  return r;
}
