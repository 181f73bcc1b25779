/* Fuzzes what remote speech engines send us (src/asr/wire.h).
 *
 *   byte 0 even: the rest is one result message (an exec child's line or a
 *     Vosk server message). Every result it yields must be well formed
 *     (text never NULL, words present when counted, at most one ERROR,
 *     nothing after it), and a FINAL written back as an exec line with
 *     jansson must parse to the same text, times and words.
 *   byte 0 odd: the rest is a server's handshake response. Accepted means
 *     the header block is inside the input and parses the same on its own;
 *     then a valid response built around the fuzzer's bytes as the key must
 *     be accepted too. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asr/engine_internal.h"
#include "asr/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                             \
  do {                                                                         \
    if (!(c)) abort();                                                         \
  } while (0)

static void check_final_round_trip(const vg_asr_result_t *r) {
  json_t *o = json_object();
  json_t *words = json_array();
  REQUIRE(o && words);
  json_object_set_new(o, "text", json_string(r->text));
  json_object_set_new(o, "start", json_real(r->start));
  json_object_set_new(o, "end", json_real(r->end));
  for (size_t i = 0; i < r->n_words; i++) {
    json_t *w = json_object();
    json_object_set_new(w, "word", json_string(r->words[i].word));
    json_object_set_new(w, "start", json_real(r->words[i].start));
    json_object_set_new(w, "end", json_real(r->words[i].end));
    json_array_append_new(words, w);
  }
  json_object_set_new(o, "words", words);
  char *line = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (!line) return; /* text that is not valid UTF-8 cannot be written back */
  vg_asr_queue_t q = {0};
  /* A partial first, so an empty text is kept as a FINAL too. */
  REQUIRE(vg_asr_queue_partial(&q, "x", 0, 0) == VG_OK);
  REQUIRE(vg_asr_wire_result(&q, line, strlen(line), 0, 0, NULL) == VG_OK);
  vg_asr_result_t back;
  REQUIRE(vg_asr_queue_pop(&q, &back) && back.kind == VG_ASR_PARTIAL);
  REQUIRE(vg_asr_queue_pop(&q, &back) && back.kind == VG_ASR_FINAL);
  REQUIRE(strcmp(back.text, r->text) == 0);
  REQUIRE(back.start == r->start && back.end == r->end);
  REQUIRE(back.n_words == r->n_words);
  for (size_t i = 0; i < r->n_words; i++) REQUIRE(strcmp(back.words[i].word, r->words[i].word) == 0);
  vg_asr_queue_clear(&q);
  free(line);
}

static void fuzz_result(const uint8_t *data, size_t size) {
  vg_asr_queue_t q = {0};
  const char *why = NULL;
  int rc = vg_asr_wire_result(&q, (const char *)data, size, 1.5, 3.0, &why);
  REQUIRE(rc == VG_OK || rc == VG_ECLOSED || rc == VG_EPROTO || rc == VG_ENOMEM);
  if (rc == VG_EPROTO) REQUIRE(why != NULL);
  vg_asr_result_t r;
  int n = 0, errors = 0;
  while (vg_asr_queue_pop(&q, &r)) {
    n++;
    REQUIRE(r.text != NULL);
    REQUIRE(r.kind == VG_ASR_PARTIAL || r.kind == VG_ASR_FINAL || r.kind == VG_ASR_ERROR);
    REQUIRE(errors == 0); /* nothing after an ERROR */
    REQUIRE((r.words != NULL) == (r.n_words > 0));
    if (r.kind == VG_ASR_ERROR) {
      errors++;
      REQUIRE(rc == VG_ECLOSED && strchr(r.text, '\n') == NULL);
    }
    if (r.kind == VG_ASR_PARTIAL) REQUIRE(r.text[0] != '\0');
    if (r.kind == VG_ASR_FINAL) {
      REQUIRE(r.text[0] != '\0'); /* no partial before: an empty one is dropped */
      check_final_round_trip(&r);
    }
  }
  REQUIRE(n <= 1);
  vg_asr_queue_clear(&q);
}

static void fuzz_handshake(const uint8_t *data, size_t size) {
  static const char accept[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
  size_t consumed = 0;
  unsigned status = 0;
  const char *why = NULL;
  int rc = vg_asr_wire_handshake(data, size, accept, &consumed, &status, &why);
  REQUIRE(rc == VG_OK || rc == VG_EAGAIN || rc == VG_EPROTO);
  if (rc == VG_EPROTO) REQUIRE(why != NULL);
  if (rc == VG_OK) {
    REQUIRE(consumed > 0 && consumed <= size && status == 101);
    size_t again = 0;
    REQUIRE(vg_asr_wire_handshake(data, consumed, accept, &again, &status, &why) == VG_OK);
    REQUIRE(again == consumed);
  }

  /* The fuzzer's bytes as a key (hex, bounded): its own response passes. */
  char key[65] = {0};
  for (size_t i = 0; i < size && i < 32; i++) snprintf(key + 2 * i, 3, "%02x", data[i]);
  char expect[29];
  REQUIRE(vg_asr_wire_accept(key, expect) == VG_OK);
  char resp[256];
  int n = snprintf(resp, sizeof resp,
                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                   expect);
  REQUIRE(n > 0 && (size_t)n < sizeof resp);
  REQUIRE(vg_asr_wire_handshake((const uint8_t *)resp, (size_t)n, expect, &consumed, &status,
                                &why) == VG_OK);
  REQUIRE(consumed == (size_t)n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  if (data[0] & 1) fuzz_handshake(data + 1, size - 1);
  else fuzz_result(data + 1, size - 1);
  return 0;
}
