/* Audio over a WebSocket, for networks that carry only HTTP(S): the two
 * endpoints of sig/wsaudio.h on the shared TCP port.
 *
 *   GET /ws/audio ─► config ─► session (echo | transcribe) ─► binary frames
 *                                 echo: each frame straight back
 *                                 transcribe: the transcriber ─► JSON events
 *   GET /ws/asr   ─► [config] ─► PCM ─► transcriber ─► one Vosk reply per PCM message
 *
 * One vg_wsaudio_t per upgraded connection. Before the session exists (no
 * config yet, or no audio yet on /ws/asr) the connection owns it and frees
 * it when it closes; from then on the session owns it, and whatever ends
 * the session (the client's close, an error, stop/eof, shutdown, DELETE)
 * goes through vg_server_session_destroy, which closes the connection with
 * the code and reason recorded here. A session's failure only ever closes
 * its own connection.
 *
 * Vosk lock-step: every binary message is queued with a mark; the
 * transcriber reports the mark once that audio has gone through the engine
 * (after its results), and the reply is sent then: the finals gathered
 * since the last reply as one {"result":[..],"text":..}, else the current
 * {"partial":..}. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/server_internal.h"
#include "base/log.h"
#include "sig/wsaudio.h"

/* The largest message the WebSocket codec joins: above 1 s of 48 kHz PCM16
 * (96000 bytes), so an audio message just over its limit still gets a JSON
 * error; anything larger is refused by the codec itself (1009). */
#define MAX_MESSAGE (128 * 1024)
/* What may wait for a client that stops reading, beyond what the kernel
 * buffers, before it is closed with 1008: two of the largest messages,
 * ~2.7 s of 48 kHz PCM16 echo, a minute of 20 ms Opus, hours of events. */
#define MAX_BACKLOG (256 * 1024)
/* A client says what it wants at once (/ws/asr: a config or audio); one
 * that opens the socket and says nothing is closed (1008) after this, or
 * after the HTTP idle timeout when that is shorter. */
#define FIRST_MESSAGE_MS 10000

struct vg_wsaudio {
  vg_server_t *srv;     /* borrowed */
  vg_tcp_conn_t *conn;  /* borrowed; NULL once detached or gone */
  vg_session_t *s;      /* borrowed (it owns us); NULL before the session */
  bool vosk;            /* /ws/asr */
  vg_addr_t peer;
  vg_wsaudio_config_t cfg;
  uint16_t seq;         /* Opus: the synthesized RTP sequence number */
  uint32_t ts;          /* and timestamp (48 kHz) */
  uint16_t close_code;  /* 0: 1000 */
  char close_reason[VG_WS_MAX_CLOSE_REASON + 1];
  /* /ws/asr */
  uint32_t vosk_rate;
  char *partial;        /* owned: the current hypothesis, NULL when none */
  json_t *result;       /* owned: finals not yet in a reply, NULL when none */
  bool eof;
};

/* ---- ending ---------------------------------------------------------------- */

/* A close reason is at most 123 bytes of UTF-8 (RFC 6455 §5.5.1): cut at a
 * character boundary. */
static void set_close(vg_wsaudio_t *w, uint16_t code, const char *why) {
  w->close_code = code;
  size_t n = strlen(why);
  if (n > VG_WS_MAX_CLOSE_REASON) {
    n = VG_WS_MAX_CLOSE_REASON;
    while (n > 0 && ((unsigned char)why[n] & 0xc0) == 0x80) n--;
  }
  memcpy(w->close_reason, why, n);
  w->close_reason[n] = '\0';
}

void vg_wsaudio_release(vg_wsaudio_t *w) {
  if (!w) return;
  if (w->conn) {
    vg_tcp_ws_detach(w->conn);
    vg_tcp_ws_close(w->conn, w->close_code ? w->close_code : VG_WS_CLOSE_NORMAL,
                    w->close_reason[0] ? w->close_reason : "the session ended");
  }
  free(w->partial);
  json_decref(w->result);
  free(w);
}

/* Ends the connection (and its session, if any) with `code` and `why`. */
static void end(vg_wsaudio_t *w, uint16_t code, const char *why) {
  set_close(w, code, why);
  if (w->s) vg_server_session_destroy(w->s); /* releases w */
  else vg_wsaudio_release(w);
}

/* Sends a JSON message (steals j). False when the client cannot take it:
 * it does not read (the connection is closing with 1008) or it is gone. */
static bool send_json(vg_wsaudio_t *w, json_t *j, size_t flags) {
  if (!j) return true; /* out of memory: a lost message, not a lost client */
  char *s = json_dumps(j, JSON_COMPACT | flags);
  json_decref(j);
  if (!s) return true;
  size_t len = strlen(s);
  int r = w->conn ? vg_tcp_ws_send_text(w->conn, s, len) : VG_ECLOSED;
  free(s);
  if (r < 0) return false;
  if (w->s) {
    w->s->ws.packets_out++;
    w->s->ws.bytes_out += len;
  }
  return true;
}

#define PRECISION JSON_REAL_PRECISION(6)

/* An error the client caused or must hear about: say it, then close. */
static void fail(vg_wsaudio_t *w, uint16_t code, const char *why) {
  VG_LOG(VG_LOG_INFO, w->s ? w->s->id : NULL, "WebSocket %s: closing %u: %s",
         w->vosk ? "/ws/asr" : "/ws/audio", code, why);
  if (!w->vosk) (void)send_json(w, json_pack("{s:s, s:s}", "type", "error", "text", why), 0);
  end(w, code, why);
}

/* The end of the session when the client does not read. */
static void not_reading(vg_wsaudio_t *w) { end(w, VG_WS_CLOSE_POLICY, "client not reading"); }

/* RFC 6455 §7.4.1 for what the parsers refuse. */
static uint16_t close_code_for(int err) {
  return err == VG_EUNSUPPORTED ? VG_WS_CLOSE_UNSUPPORTED
         : err == VG_ELIMIT     ? VG_WS_CLOSE_TOO_BIG
                                : VG_WS_CLOSE_BAD_DATA;
}

void vg_wsaudio_ending(vg_wsaudio_t *w, uint16_t code, const char *why) {
  if (!w->vosk)
    (void)send_json(w, json_pack("{s:s, s:s, s:s}", "type", "state", "state", "closed", "reason", why),
                    0);
  set_close(w, code, why);
}

/* ---- sessions -------------------------------------------------------------- */

/* Creates the session; on failure the client is told and w is gone. */
static bool start(vg_wsaudio_t *w, vg_mode_t mode, uint32_t pcm_rate) {
  char why[256];
  vg_session_t *s;
  int r = vg_server_session_create_ws(w->srv, mode, pcm_rate, w, &w->peer, &s, why, sizeof why);
  if (r == VG_ELIMIT) {
    fail(w, VG_WS_CLOSE_TRY_AGAIN, "the server is at its session limit (--max-sessions); try again later");
    return false;
  }
  if (r == VG_EAGAIN) {
    fail(w, VG_WS_CLOSE_TRY_AGAIN, "every speech recognizer is busy (--asr-streams); try again later");
    return false;
  }
  if (r < 0) {
    fail(w, VG_WS_CLOSE_INTERNAL, why[0] ? why : vg_strerror(r));
    return false;
  }
  w->s = s;
  return true;
}

/* ---- /ws/audio ------------------------------------------------------------- */

static void audio_config(vg_wsaudio_t *w, const vg_wsaudio_config_t *cfg) {
  bool tr = cfg->mode == VG_WSAUDIO_TRANSCRIBE;
  w->cfg = *cfg;
  if (!start(w, tr ? VG_MODE_TRANSCRIBE : VG_MODE_ECHO,
             tr && cfg->codec == VG_WSAUDIO_PCM16 ? cfg->sample_rate : 0))
    return;
  if (!send_json(w, json_pack("{s:s, s:s, s:s, s:s, s:I}", "type", "ready", "id", w->s->id, "mode",
                              vg_wsaudio_mode_name(cfg->mode), "codec",
                              vg_wsaudio_codec_name(cfg->codec), "sample_rate",
                              (json_int_t)cfg->sample_rate),
                 0))
    not_reading(w);
}

static void audio_text(vg_wsaudio_t *w, const uint8_t *data, size_t len) {
  vg_wsaudio_msg_t m;
  const char *why = NULL;
  int r = vg_wsaudio_parse((const char *)data, len, &m, &why);
  if (r < 0) return fail(w, close_code_for(r), why);
  if (!w->s) {
    if (m.kind != VG_WSAUDIO_MSG_CONFIG)
      return fail(w, VG_WS_CLOSE_BAD_DATA,
                  "the first message must be the config {\"mode\",\"codec\",\"sample_rate\"}");
    return audio_config(w, &m.config);
  }
  vg_session_t *s = w->s;
  s->ws.packets_in++;
  s->ws.bytes_in += len;
  switch (m.kind) {
  case VG_WSAUDIO_MSG_CONFIG:
    return fail(w, VG_WS_CLOSE_BAD_DATA, "the config was already given");
  case VG_WSAUDIO_MSG_PING: {
    /* "t" goes back exactly as it came: an integer, or a real printed with
     * every digit it needs to read back the same (jansson's default). */
    json_t *t = m.t_is_int ? json_integer(m.t_int) : json_real(m.t_real);
    if (!send_json(w, json_pack("{s:s, s:o}", "type", "pong", "t", t), 0)) not_reading(w);
    return;
  }
  case VG_WSAUDIO_MSG_STOP:
    VG_LOG(VG_LOG_INFO, s->id, "stopped by the client");
    if (!s->tr) return end(w, VG_WS_CLOSE_NORMAL, "stopped by the client");
    set_close(w, VG_WS_CLOSE_NORMAL, "stopped by the client");
    vg_server_session_finish(s); /* DONE follows the last finals, then the close */
    return;
  }
}

static void audio_binary(vg_wsaudio_t *w, const uint8_t *data, size_t len) {
  if (!w->s) return fail(w, VG_WS_CLOSE_BAD_DATA, "binary audio before the config message");
  const char *why = NULL;
  int n = vg_wsaudio_check_audio(&w->cfg, data, len, &why);
  if (n < 0) return fail(w, close_code_for(n), why);
  vg_session_t *s = w->s;
  s->ws.packets_in++;
  s->ws.bytes_in += len;
  if (s->finishing) return; /* after stop: the audio has ended */
  if (!s->tr) {
    if (vg_tcp_ws_send_binary(w->conn, data, len) < 0) return not_reading(w);
    s->ws.packets_out++;
    s->ws.bytes_out += len;
    return;
  }
  vg_time_t now = vg_server_now();
  if (w->cfg.codec == VG_WSAUDIO_OPUS) {
    /* No RTP over a WebSocket: number the packets in arrival order (TCP
     * keeps it) and advance the 48 kHz clock by each packet's duration. */
    vg_transcriber_push(s->tr, now, w->seq++, w->ts, data, len);
    w->ts += (uint32_t)n;
  } else if (vg_transcriber_push_pcm(s->tr, now, data, len, false) == VG_EINVAL) {
    fail(w, VG_WS_CLOSE_INTERNAL, "cannot queue PCM for the speech engine");
  } /* VG_ELIMIT: the engine is behind; the LAG event tells the client */
}

/* ---- /ws/asr (Vosk) ---------------------------------------------------------- */

static void vosk_text(vg_wsaudio_t *w, const uint8_t *data, size_t len) {
  vg_vosk_msg_t m;
  const char *why = NULL;
  int r = vg_vosk_parse((const char *)data, len, &m, &why);
  if (r < 0) return fail(w, close_code_for(r), why);
  if (m.kind == VG_VOSK_MSG_CONFIG) {
    /* As vosk-server: the recognizer is made at the first audio, so a
     * config after that changes nothing. */
    if (m.sample_rate && !w->s) w->vosk_rate = m.sample_rate;
    return;
  }
  if (w->eof) return;
  w->eof = true;
  if (!w->s) {
    if (!send_json(w, json_pack("{s:s}", "text", ""), 0)) return not_reading(w);
    return end(w, VG_WS_CLOSE_NORMAL, "end of stream");
  }
  set_close(w, VG_WS_CLOSE_NORMAL, "end of stream");
  vg_server_session_finish(w->s); /* the replies still owed, the final result, the close */
}

static void vosk_binary(vg_wsaudio_t *w, const uint8_t *data, size_t len) {
  if (w->eof) return; /* audio after eof: nothing answers it */
  if (len % 2) return fail(w, VG_WS_CLOSE_BAD_DATA, "PCM message of odd length (16-bit samples expected)");
  if (!w->s && !start(w, VG_MODE_TRANSCRIBE, w->vosk_rate)) return;
  vg_session_t *s = w->s;
  s->ws.packets_in++;
  s->ws.bytes_in += len;
  int r = vg_transcriber_push_pcm(s->tr, vg_server_now(), data, len, true);
  if (r == VG_ELIMIT)
    return fail(w, VG_WS_CLOSE_POLICY,
                "audio arrives faster than it is recognized: wait for each reply (lock-step)");
  if (r < 0) return fail(w, VG_WS_CLOSE_INTERNAL, "the speech engine failed");
}

/* Adds a final to the result of the next reply. */
static void vosk_add_final(vg_wsaudio_t *w, const vg_transcribe_event_t *ev) {
  if (!w->result) w->result = json_pack("{s:[], s:s}", "result", "text", "");
  if (!w->result) return;
  json_t *words = json_object_get(w->result, "result");
  for (size_t i = 0; i < ev->n_words; i++)
    json_array_append_new(words, json_pack("{s:f, s:f, s:f, s:s}", "conf", 1.0, "end",
                                           ev->words[i].end, "start", ev->words[i].start, "word",
                                           ev->words[i].word));
  const char *prev = json_string_value(json_object_get(w->result, "text"));
  if (!ev->text[0]) return;
  if (!prev || !prev[0]) {
    json_object_set_new(w->result, "text", json_string(ev->text));
    return;
  }
  size_t n = strlen(prev) + strlen(ev->text) + 2;
  char *joined = malloc(n);
  if (!joined) return;
  snprintf(joined, n, "%s %s", prev, ev->text);
  json_object_set_new(w->result, "text", json_string(joined));
  free(joined);
}

/* The reply to one binary message (or the final one, after eof). */
static bool vosk_reply(vg_wsaudio_t *w, bool final) {
  json_t *j = w->result;
  w->result = NULL;
  if (!j) j = final ? json_pack("{s:s}", "text", "")
                    : json_pack("{s:s}", "partial", w->partial ? w->partial : "");
  return send_json(w, j, PRECISION);
}

static int vosk_event(vg_wsaudio_t *w, const vg_transcribe_event_t *ev) {
  switch (ev->kind) {
  case VG_TRANSCRIBE_PARTIAL:
    free(w->partial);
    w->partial = strdup(ev->text);
    return 0;
  case VG_TRANSCRIBE_FINAL:
    vosk_add_final(w, ev);
    free(w->partial); /* the next utterance starts empty */
    w->partial = NULL;
    return 0;
  case VG_TRANSCRIBE_MARK:
    if (vosk_reply(w, false)) return 0;
    not_reading(w);
    return 1;
  case VG_TRANSCRIBE_ERROR:
    fail(w, VG_WS_CLOSE_INTERNAL, ev->text);
    return 1;
  case VG_TRANSCRIBE_DONE:
    if (!w->s->finishing) return 0;
    if (!vosk_reply(w, true)) not_reading(w);
    else end(w, VG_WS_CLOSE_NORMAL, "end of stream");
    return 1;
  default: /* LAG: not with lock-step input (a full queue fails the client) */
    return 0;
  }
}

int vg_wsaudio_on_transcript(vg_session_t *s, const vg_transcribe_event_t *ev) {
  vg_wsaudio_t *w = s->wsa;
  if (w->vosk) return vosk_event(w, ev);
  json_t *j = vg_transcribe_event_json(ev);
  if (!j) return 0;
  vg_session_emit(s, json_incref(j)); /* /whip/<id>/events listeners too */
  if (!send_json(w, j, PRECISION)) {
    not_reading(w);
    return 1;
  }
  if (ev->kind == VG_TRANSCRIBE_ERROR) {
    /* the error event was the message; the close says it again */
    end(w, VG_WS_CLOSE_INTERNAL, ev->text);
    return 1;
  }
  if (ev->kind == VG_TRANSCRIBE_DONE && s->finishing) {
    end(w, VG_WS_CLOSE_NORMAL, w->close_reason[0] ? w->close_reason : "done");
    return 1;
  }
  return 0;
}

/* ---- the connection ---------------------------------------------------------- */

static void on_message(void *ud, vg_tcp_conn_t *c, const vg_ws_msg_t *m) {
  vg_wsaudio_t *w = ud;
  (void)c;
  switch (m->kind) {
  case VG_WS_CLOSED: {
    /* The client closed (or broke RFC 6455; the codec has answered): the
     * session ends at once, its recognizer goes back to the pool. */
    VG_LOG(VG_LOG_INFO, w->s ? w->s->id : NULL, "WebSocket closed by the client (%u%s%s)",
           m->close_code, m->close_reason[0] ? ": " : "", m->close_reason);
    return end(w, VG_WS_CLOSE_NORMAL, "closed by the client");
  }
  case VG_WS_TEXT:
    return w->vosk ? vosk_text(w, m->data, m->len) : audio_text(w, m->data, m->len);
  case VG_WS_BINARY:
    return w->vosk ? vosk_binary(w, m->data, m->len) : audio_binary(w, m->data, m->len);
  }
}

static void on_closed(void *ud, vg_tcp_conn_t *c) {
  vg_wsaudio_t *w = ud;
  (void)c;
  w->conn = NULL; /* gone: nothing to detach or close */
  if (w->s) VG_LOG(VG_LOG_INFO, w->s->id, "the WebSocket connection closed");
  end(w, VG_WS_CLOSE_NORMAL, "connection closed");
}

void vg_wsaudio_accept(vg_server_t *srv, bool vosk, const vg_addr_t *peer, const char *accept,
                       vg_http_reply_t *r) {
  vg_wsaudio_t *w = calloc(1, sizeof *w);
  if (!w) {
    r->status = 500;
    return;
  }
  w->srv = srv;
  w->vosk = vosk;
  w->peer = *peer;
  w->vosk_rate = VG_ASR_SAMPLE_RATE; /* Vosk's default */
  r->ws_accept = accept;
  r->ws = (vg_ws_handler_t){.on_message = on_message, .on_closed = on_closed, .ud = w};
  r->ws_conn = &w->conn;
  r->ws_max_message = MAX_MESSAGE;
  r->ws_max_backlog = MAX_BACKLOG;
  uint64_t idle = srv->cfg.http_idle_ms;
  r->ws_first_message_ms = idle && idle < FIRST_MESSAGE_MS ? idle : FIRST_MESSAGE_MS;
}
