/* What the remote engines say, parsed: the pure parts of the exec and
 * websocket engines, kept apart from their pipes and sockets so they can
 * be tested and fuzzed on their own. Internal to src/asr. */
#ifndef VG_ASR_WIRE_H
#define VG_ASR_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "asr/engine_internal.h"

/* One result message: an exec child's stdout line or a Vosk server's text
 * message, a JSON object (not NUL-terminated, `len` bytes):
 *
 *   {"partial": "go for"}                                  -> PARTIAL
 *   {"text": "go forward", "start": 0.5, "end": 1.2,       -> FINAL
 *    "words": [{"word": "go", "start": 0.5, "end": 0.7}]}     (exec)
 *   {"text": "go forward", "result": [{"word": "go",       -> FINAL
 *    "start": 0.5, "end": 0.7, "conf": 1.0}]}                 (Vosk)
 *   {"alternatives": [{"text": ..., "result": [...]}, ...]} -> FINAL (the first)
 *   {"error": "no GPU"}                                    -> ERROR "engine error: no GPU"
 *
 * Times in the message are seconds of the engine's input; `base` (stream
 * seconds at which that input began) is added. A FINAL without "start" or
 * "end" takes them from its words, else from the last FINAL's end and
 * `now` (stream seconds fed so far). Pushes onto q. Returns VG_OK (pushed,
 * or an object of no interest, ignored), VG_ECLOSED after pushing the
 * ERROR of an "error" message, VG_EPROTO when the bytes are not a JSON
 * object (why: a static reason), or VG_ENOMEM. */
int vg_asr_wire_result(vg_asr_queue_t *q, const char *msg, size_t len, double base, double now,
                       const char **why);

/* The Sec-WebSocket-Accept a server must answer to `key` (RFC 6455 section
 * 4.2.2 item 5.4: base64 of SHA-1 of key + GUID) into out (29 bytes with
 * the NUL). Returns VG_OK or VG_ECRYPTO. */
int vg_asr_wire_accept(const char *key, char out[29]);

/* Checks a server's response to our upgrade request (RFC 6455 section
 * 4.1): `in` holds the bytes received so far. Returns VG_OK with *consumed
 * the length of the response's header block (later bytes are WebSocket
 * frames), VG_EAGAIN when the header block is incomplete, or VG_EPROTO
 * with a static reason in *why and the status code (0 when none) in
 * *status: not HTTP, not 101, no "Upgrade: websocket" or "Connection:
 * upgrade", or a Sec-WebSocket-Accept other than `accept`. */
int vg_asr_wire_handshake(const uint8_t *in, size_t len, const char *accept, size_t *consumed,
                          unsigned *status, const char **why);

#endif
