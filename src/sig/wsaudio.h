/* The messages of voxgate's two audio WebSockets, sans-IO: parsers for
 * what clients send and formatters for what the server sends, with no
 * socket, thread or clock.
 *
 * /ws/audio (voxgate's own protocol):
 *
 *   client                                         server
 *   text {"mode":"echo"|"transcribe",
 *         "codec":"opus"|"pcm16","sample_rate":N,
 *         "channels":1}                     ──►
 *                                           ◄──   {"type":"ready","id":..,"mode":..,
 *                                                  "codec":..,"sample_rate":N}
 *   binary: one Opus packet, or PCM16 LE    ──►
 *                                           ◄──   echo: the same bytes
 *                                           ◄──   transcribe: {"type":"partial"|"final"|..}
 *   text {"type":"ping","t":<number>}       ──►
 *                                           ◄──   {"type":"pong","t":<the same>}
 *   text {"type":"stop"} or {"eof":1}       ──►
 *                                           ◄──   (transcribe: last finals, {"type":"done"})
 *                                           ◄──   close 1000
 *
 * /ws/asr (the Vosk server protocol, for existing Vosk clients):
 *
 *   text {"config":{"sample_rate":N, ...}}  ──►   (optional; default 16000)
 *   binary PCM16 LE at that rate            ──►
 *                                           ◄──   {"partial":".."} or
 *                                                 {"result":[{"conf","start","end","word"}],
 *                                                  "text":".."}   (one per binary message)
 *   text {"eof":1}                          ──►
 *                                           ◄──   the final result, then close 1000
 *
 * Parse errors come back as a code the server maps onto the close code
 * (RFC 6455 §7.4.1) and a static one-line reason for the client:
 *   VG_EINVAL       malformed JSON, a missing or mistyped field   → 1007
 *   VG_EUNSUPPORTED a well-formed value we do not take (codec,
 *                   sample rate, channels)                        → 1003
 *   VG_ELIMIT       a message or audio frame over its limit       → 1009 */
#ifndef VG_SIG_WSAUDIO_H
#define VG_SIG_WSAUDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* PCM sample rates a client may send (the telephone band up to full band);
 * the recognizers take 16 kHz, anything else is resampled. */
#define VG_WSAUDIO_MIN_RATE 8000
#define VG_WSAUDIO_MAX_RATE 48000
/* RFC 7587 §4.1: Opus is clocked at 48 kHz whatever it encodes. */
#define VG_WSAUDIO_OPUS_RATE 48000
/* Control messages are small JSON objects; nothing legitimate comes near. */
#define VG_WSAUDIO_MAX_TEXT 4096
/* Largest Opus packet: RFC 6716 §3.2.5, code 3 with up to 120 ms of frames
 * of at most 1275 bytes each (six 20 ms frames), plus its framing bytes. */
#define VG_WSAUDIO_MAX_OPUS (6 * 1275 + 2 + 6 * 2)
/* A PCM message holds at most 1 s of audio. */
#define VG_WSAUDIO_MAX_PCM_MS 1000

typedef enum {
  VG_WSAUDIO_ECHO = 1,
  VG_WSAUDIO_TRANSCRIBE,
} vg_wsaudio_mode_t;

typedef enum {
  VG_WSAUDIO_OPUS = 1,
  VG_WSAUDIO_PCM16,
} vg_wsaudio_codec_t;

typedef struct {
  vg_wsaudio_mode_t mode;
  vg_wsaudio_codec_t codec;
  uint32_t sample_rate; /* Hz: 48000 for Opus, 8000..48000 for PCM16 */
} vg_wsaudio_config_t;

typedef enum {
  VG_WSAUDIO_MSG_CONFIG = 1, /* the first message */
  VG_WSAUDIO_MSG_PING,       /* answer {"type":"pong","t":<t>} at once */
  VG_WSAUDIO_MSG_STOP,       /* {"type":"stop"} or {"eof":1} */
} vg_wsaudio_msg_kind_t;

typedef struct {
  vg_wsaudio_msg_kind_t kind;
  vg_wsaudio_config_t config; /* CONFIG */
  /* PING: "t" exactly as sent, an integer or a real (both finite) */
  bool t_is_int;
  int64_t t_int;
  double t_real;
} vg_wsaudio_msg_t;

/* Parses one text message of /ws/audio (`s`, len bytes, borrowed; need not
 * be NUL-terminated). Returns VG_OK with *out filled, or VG_EINVAL /
 * VG_EUNSUPPORTED / VG_ELIMIT (see the top) with *why (nullable) set to a
 * static one-line reason. Whether the message is allowed now (a config
 * first, and only once) is the caller's state, not checked here. */
VG_MUST_USE int vg_wsaudio_parse(const char *s, size_t len, vg_wsaudio_msg_t *out,
                                 const char **why);

/* Checks one binary message against the config: an Opus packet whose TOC
 * (RFC 6716 §3.1) gives a valid duration and whose frame lengths fit the
 * packet (§3.4; the frames' contents are the decoder's), or whole PCM16
 * samples within VG_WSAUDIO_MAX_PCM_MS. Returns the audio's duration in samples at
 * cfg->sample_rate (Opus: at 48 kHz; may be 0 for an empty PCM message), or
 * VG_EINVAL (not an Opus packet, odd PCM length) / VG_ELIMIT (too big) with
 * *why (nullable) set to a static reason. */
VG_MUST_USE int vg_wsaudio_check_audio(const vg_wsaudio_config_t *cfg, const uint8_t *b, size_t len,
                                       const char **why);

/* Writes the config message for cfg (a client's first message) into out,
 * NUL-terminated. Returns its length, VG_ENOSPC or VG_EINVAL. */
VG_MUST_USE int vg_wsaudio_format_config(const vg_wsaudio_config_t *cfg, char *out, size_t cap);

/* "echo"/"transcribe", "opus"/"pcm16" (static; "?" for other values). */
const char *vg_wsaudio_mode_name(vg_wsaudio_mode_t m);
const char *vg_wsaudio_codec_name(vg_wsaudio_codec_t c);

/* ---- /ws/asr: the Vosk server protocol ----------------------------------- */

typedef enum {
  VG_VOSK_MSG_CONFIG = 1, /* {"config":{...}}: sample_rate (0 when not given) */
  VG_VOSK_MSG_EOF,        /* any JSON object with "eof":1 */
} vg_vosk_msg_kind_t;

typedef struct {
  vg_vosk_msg_kind_t kind;
  uint32_t sample_rate; /* CONFIG: Hz, 0 = keep the current one */
} vg_vosk_msg_t;

/* Parses one text message of /ws/asr. Vosk's other config keys ("words",
 * "max_alternatives", "phrase_list", ...) are accepted and ignored. A
 * sample_rate may be an integer or an integral real (Python clients send
 * 16000.0). Same returns as vg_wsaudio_parse. */
VG_MUST_USE int vg_vosk_parse(const char *s, size_t len, vg_vosk_msg_t *out, const char **why);

#endif
